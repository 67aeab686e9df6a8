/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot test: one compartment boots on its hart, prints on the UART, confines itself (locked PMP
 * in M-mode, Sv39 in S-mode) and checks that its window is reachable and the rest is not, does
 * AMO and LR/SC atomics on the window, times out a wait on the hart's timer, takes a software
 * interrupt it sends itself, and exits through the SiFive test device with 0.
 */
#include <stdatomic.h>

#include "demo.h"

#define CAUSE_LOAD_ACCESS 5u
#define CAUSE_STORE_ACCESS 7u
#define CAUSE_LOAD_PAGE 13u

static int check_protection(void)
{
    const bool s = xcv_riscv_smode();
    const uint64_t denied = s ? CAUSE_LOAD_PAGE : CAUSE_LOAD_ACCESS;
    uint64_t c = xcv_riscv_probe(DEMO_WINDOW_BASE, true);
    if (c != 0u) {
        demo_say("window not writable, cause", (int64_t)c);
        return -1;
    }
    /* The driver compartment's RAM. */
    c = xcv_riscv_probe(DEMO_DRIVER_ENTRY, false);
    if (c != denied) {
        demo_say("peer RAM reachable, cause", (int64_t)c);
        return -1;
    }
    if (s) {
        /* The firmware below the image and the CLINT are not mapped either. */
        if (xcv_riscv_probe(0x80000000u, false) != denied ||
            xcv_riscv_probe(XCV_RISCV_CLINT_BASE, false) != denied) {
            demo_say("firmware or CLINT reachable", -1);
            return -1;
        }
    } else {
        /* mtime is read-only; another hart's mtimecmp is out of reach. */
        if (xcv_riscv_probe(XCV_RISCV_MTIME_ADDR, true) != CAUSE_STORE_ACCESS ||
            xcv_riscv_probe(XCV_RISCV_CLINT_BASE + 0x4000u + 8u * (xcv_riscv_hart_id() ^ 1u),
                            false) != denied) {
            demo_say("mtime writable or a peer's mtimecmp reachable", -1);
            return -1;
        }
    }
    demo_say(s ? "Sv39 confines the image, fault cause" : "PMP confines the image, fault cause",
             (int64_t)denied);
    return 0;
}

int demo_main(uint64_t boot_arg)
{
    demo_puts(xcv_riscv_smode() ? "boot: hello from S-mode, hart "
                                : "boot: hello from M-mode, hart ");
    xcv_riscv_put_dec(xcv_riscv_hart_id());
    demo_puts(", a1=");
    xcv_riscv_put_hex(boot_arg);
    demo_puts("\n");
    if (demo_platform_init(true, "boot") != 0)
        return 2;
    if (check_protection() != 0)
        return 3;

    /* AMOs and LR/SC (compare-exchange) on the window. */
    _Atomic uint64_t *w = (_Atomic uint64_t *)(uintptr_t)demo_cfg.window_base;
    atomic_store(w, 40u);
    uint64_t old = atomic_fetch_add(w, 2u);
    uint64_t expect = 42u;
    if (old != 40u || !atomic_compare_exchange_strong(w, &expect, 7u) || atomic_load(w) != 7u) {
        demo_say("atomics on the window failed", (int64_t)old);
        return 4;
    }

    /* A wait with nothing pending ends at its deadline. */
    uint64_t t0 = xcv_riscv_now_ns();
    if (xcv_riscv_wait_doorbell(t0 + 2000000u)) {
        demo_say("spurious doorbell", -1);
        return 5;
    }
    uint64_t waited = xcv_riscv_now_ns() - t0;
    if (waited < 2000000u || waited > 500000000u) {
        demo_say("timed wait took ns", (int64_t)waited);
        return 6;
    }
    demo_say("timed wait ns", (int64_t)waited);

    /* A software interrupt to this hart arrives through the trap vector. */
    if (xcv_riscv_send_ipi(xcv_riscv_hart_id()) != 0) {
        demo_say("self IPI failed", -1);
        return 7;
    }
    if (!xcv_riscv_wait_doorbell(xcv_riscv_now_ns() + 100000000u)) {
        demo_say("self IPI not received", -1);
        return 8;
    }
    uint32_t got = xcv_riscv_doorbells_take();
    if (got != (1u << XCV_RISCV_DOORBELL)) {
        demo_say("wrong doorbell mask", got);
        return 9;
    }
    demo_say("self IPI ok, doorbells", (int64_t)xcv_riscv_doorbell_count());
    demo_puts("boot: PASS\n");
    return 0;
}
