/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the two-compartment test images. */
#include <stdatomic.h>

#include "demo.h"

static const char *demo_tag = "?";

void demo_say(const char *text, int64_t value)
{
    xcv_armv8_puts(demo_tag);
    xcv_armv8_puts(": ");
    xcv_armv8_puts(text);
    xcv_armv8_puts(" ");
    xcv_armv8_put_int(value);
    xcv_armv8_puts("\n");
}

int demo_platform_init(int device_side, const char *tag)
{
    demo_tag = tag;
    const struct xcv_armv8_region shared = {demo_cfg.shared_base, demo_cfg.shared_size};
    if (xcv_armv8_mmu_init(&shared, 1) != 0) {
        demo_say("mmu init failed", -1);
        return -1;
    }
    if (xcv_armv8_gic_init(device_side != 0) != 0) {
        demo_say("gic init failed", -1);
        return -1;
    }
    return 0;
}

int demo_start_driver(void)
{
    struct demo_mailbox *mb = demo_mailbox();
    atomic_store(&mb->drv_magic, 0u);
    atomic_store(&mb->drv_done, 0u);
    atomic_store(&mb->drv_result, 0);
    atomic_store(&mb->drv_rounds, 0u);
    atomic_store(&mb->drv_echo, 0u);
    atomic_store(&mb->dev_seq, 0u);
    int64_t r =
        xcv_armv8_psci_cpu_on(demo_cfg.driver_mpidr, demo_cfg.driver_entry, demo_cfg.mailbox);
    if (r != 0) {
        demo_say("PSCI CPU_ON failed", r);
        return -1;
    }
    return 0;
}

_Noreturn void demo_driver_finish(int32_t result, uint32_t rounds)
{
    struct demo_mailbox *mb = demo_mailbox();
    atomic_store_explicit(&mb->drv_result, result, memory_order_relaxed);
    atomic_store_explicit(&mb->drv_rounds, rounds, memory_order_relaxed);
    atomic_store_explicit(&mb->drv_done, 1u, memory_order_release);
    xcv_armv8_send_sgi(demo_cfg.device_mpidr, demo_cfg.sgi_to_device);
    xcv_armv8_park();
}

int demo_wait_driver_done(uint64_t timeout_ns)
{
    struct demo_mailbox *mb = demo_mailbox();
    uint64_t deadline = xcv_armv8_now_ns() + timeout_ns;
    while (atomic_load_explicit(&mb->drv_done, memory_order_acquire) == 0u) {
        if (!xcv_armv8_wait_doorbell(deadline)) {
            demo_say("timeout waiting for the driver compartment", -1);
            return -1;
        }
        (void)xcv_armv8_doorbells_take();
    }
    return 0;
}
