/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Doorbell ping-pong, driver compartment (second CPU, started by the device compartment):
 * answer every doorbell by echoing the sequence number the device compartment published, then
 * ring back. Each wait is bounded.
 */
#include <stdatomic.h>

#include "demo.h"

#define DEMO_WAIT_NS 2000000000u

int demo_main(uint64_t boot_arg)
{
    (void)boot_arg;
    if (demo_platform_init(false, "drv") != 0)
        demo_driver_finish(-1, 0);
    static struct demo_port dp;
    demo_port_init(&dp, false, false, "drv");
    const struct xcv_port *port = &dp.port;
    struct demo_mailbox *mb = demo_mailbox();
    atomic_store_explicit(&mb->drv_magic, DEMO_MAGIC, memory_order_release);
    (void)port->ops->notify(port->ctx, demo_cfg.doorbell_to_device);

    uint32_t expect = 1;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&mb->dev_seq, memory_order_acquire);
        if (seq == 0xffffffffu)
            demo_driver_finish(0, expect - 1u);
        if (seq == expect) {
            atomic_store_explicit(&mb->drv_echo, seq, memory_order_release);
            (void)port->ops->notify(port->ctx, demo_cfg.doorbell_to_device);
            expect++;
            continue;
        }
        if (seq != expect - 1u)
            demo_driver_finish(-2, expect - 1u);
        if (port->ops->wait(port->ctx, demo_now_ns() + DEMO_WAIT_NS) != 0)
            demo_driver_finish(-3, expect - 1u);
    }
}
