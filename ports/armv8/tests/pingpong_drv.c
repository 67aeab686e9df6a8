/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test (b), driver compartment (CPU1, started by PSCI): answer every doorbell by echoing the
 * sequence number the device compartment published, then ring back. Each wait is bounded.
 */
#include <stdatomic.h>

#include "demo.h"

#define DEMO_WAIT_NS 2000000000u

int xcv_armv8_main(uint64_t boot_arg)
{
    (void)boot_arg;
    if (demo_platform_init(0, "drv") != 0)
        demo_driver_finish(-1, 0);
    struct xcv_armv8_port pctx;
    struct xcv_port port;
    xcv_armv8_port_init(&pctx, &port, demo_cfg.device_mpidr, false, "drv");
    struct demo_mailbox *mb = demo_mailbox();
    atomic_store_explicit(&mb->drv_magic, DEMO_MAGIC, memory_order_release);
    (void)port.ops->notify(port.ctx, demo_cfg.sgi_to_device);

    uint32_t expect = 1;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&mb->dev_seq, memory_order_acquire);
        if (seq == 0xffffffffu)
            demo_driver_finish(0, expect - 1u);
        if (seq == expect) {
            atomic_store_explicit(&mb->drv_echo, seq, memory_order_release);
            (void)port.ops->notify(port.ctx, demo_cfg.sgi_to_device);
            expect++;
            continue;
        }
        if (seq != expect - 1u)
            demo_driver_finish(-2, expect - 1u);
        if (port.ops->wait(port.ctx, xcv_armv8_now_ns() + DEMO_WAIT_NS) != 0)
            demo_driver_finish(-3, expect - 1u);
    }
}
