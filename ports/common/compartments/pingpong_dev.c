/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Doorbell ping-pong, device compartment (first CPU): start the driver compartment on the
 * second CPU, then play DEMO_ROUNDS rounds through the port's notify and wait operations:
 * publish a sequence number in the mailbox, ring, wait for the echo. Checks every round.
 */
#include <stdatomic.h>

#include "demo.h"
#include "xcvirtio/error.h"

#define DEMO_ROUNDS 1000u
#define DEMO_ROUND_TIMEOUT_NS 1000000000u

int demo_main(uint64_t boot_arg)
{
    (void)boot_arg;
    if (demo_platform_init(true, "dev") != 0)
        return 2;
    static struct demo_port dp;
    demo_port_init(&dp, true, false, "dev");
    const struct xcv_port *port = &dp.port;
    struct demo_mailbox *mb = demo_mailbox();
    if (demo_start_driver() != 0)
        return 3;

    /* The driver announces itself with its magic and a doorbell. */
    uint64_t deadline = demo_now_ns() + DEMO_ROUND_TIMEOUT_NS;
    while (atomic_load_explicit(&mb->drv_magic, memory_order_acquire) != DEMO_MAGIC) {
        if (port->ops->wait(port->ctx, deadline) == XCV_ETIMEDOUT) {
            demo_say("driver compartment did not start", -1);
            return 4;
        }
    }
    uint64_t t0 = demo_now_ns();
    uint64_t worst = 0;
    for (uint32_t seq = 1; seq <= DEMO_ROUNDS; seq++) {
        uint64_t start = demo_now_ns();
        atomic_store_explicit(&mb->dev_seq, seq, memory_order_release);
        if (port->ops->notify(port->ctx, demo_cfg.doorbell_to_driver) != XCV_OK) {
            demo_say("notify failed in round", seq);
            return 5;
        }
        deadline = start + DEMO_ROUND_TIMEOUT_NS;
        uint32_t echo;
        while ((echo = atomic_load_explicit(&mb->drv_echo, memory_order_acquire)) != seq) {
            if (echo != seq - 1u) {
                demo_say("bad echo", echo);
                return 5;
            }
            if (port->ops->wait(port->ctx, deadline) != 0 && demo_now_ns() >= deadline) {
                demo_say("round timed out", seq);
                return 6;
            }
        }
        uint64_t rtt = demo_now_ns() - start;
        worst = rtt > worst ? rtt : worst;
    }
    uint64_t total = demo_now_ns() - t0;
    atomic_store_explicit(&mb->dev_seq, 0xffffffffu, memory_order_release);
    (void)port->ops->notify(port->ctx, demo_cfg.doorbell_to_driver);
    if (demo_wait_driver_done(DEMO_ROUND_TIMEOUT_NS) != 0)
        return 7;
    int32_t res = atomic_load(&mb->drv_result);
    uint32_t rounds = atomic_load(&mb->drv_rounds);
    demo_say("round trips", DEMO_ROUNDS);
    demo_say("mean round trip ns", (int64_t)(total / DEMO_ROUNDS));
    demo_say("worst round trip ns", (int64_t)worst);
    demo_say("doorbells received", (int64_t)demo_hw_doorbells_received());
    demo_say("driver result", res);
    if (res != 0 || rounds != DEMO_ROUNDS) {
        demo_say("driver rounds", rounds);
        return 8;
    }
    demo_puts("pingpong: PASS\n");
    return 0;
}
