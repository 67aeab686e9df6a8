/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot test: one compartment boots, prints on the PL011, turns the MMU on, takes an SGI it sends
 * to itself, times out a wait on the virtual timer, does an exclusive atomic on the shared
 * window, and exits through semihosting with 0.
 */
#include <stdatomic.h>

#include "demo.h"

int demo_main(uint64_t boot_arg)
{
    xcv_armv8_puts("boot: hello from EL");
    xcv_armv8_put_dec(xcv_armv8_boot_el());
    xcv_armv8_puts(", x0=");
    xcv_armv8_put_hex(boot_arg);
    xcv_armv8_puts("\n");
    if (demo_platform_init(true, "boot") != 0)
        return 2;
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    if ((sctlr & 5u) != 5u) {
        demo_say("MMU/cache not enabled, SCTLR", (int64_t)sctlr);
        return 3;
    }
    demo_say("timer Hz", (int64_t)xcv_armv8_timer_hz());

    /* Exclusive atomics on the window (Normal cacheable memory). */
    _Atomic uint64_t *w = (_Atomic uint64_t *)(uintptr_t)demo_cfg.window_base;
    atomic_store(w, 40u);
    uint64_t old = atomic_fetch_add(w, 2u);
    uint64_t expect = 42u;
    if (old != 40u || !atomic_compare_exchange_strong(w, &expect, 7u) || atomic_load(w) != 7u) {
        demo_say("atomics on the window failed", (int64_t)old);
        return 4;
    }

    /* A wait with nothing pending ends at its deadline. */
    uint64_t t0 = xcv_armv8_now_ns();
    if (xcv_armv8_wait_doorbell(t0 + 2000000u)) {
        demo_say("spurious doorbell", -1);
        return 5;
    }
    uint64_t waited = xcv_armv8_now_ns() - t0;
    if (waited < 2000000u || waited > 500000000u) {
        demo_say("timed wait took ns", (int64_t)waited);
        return 6;
    }

    /* An SGI to this CPU arrives through the IRQ vector. */
    xcv_armv8_send_sgi(xcv_armv8_mpidr(), 5u);
    if (!xcv_armv8_wait_doorbell(xcv_armv8_now_ns() + 100000000u)) {
        demo_say("self SGI not received", -1);
        return 7;
    }
    uint32_t got = xcv_armv8_doorbells_take();
    if (got != (1u << 5)) {
        demo_say("wrong doorbell mask", got);
        return 8;
    }
    demo_say("self SGI ok, doorbells", (int64_t)xcv_armv8_doorbell_count());
    xcv_armv8_puts("boot: PASS\n");
    return 0;
}
