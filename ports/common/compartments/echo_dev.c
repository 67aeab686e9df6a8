/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channel echo, device compartment (first CPU): format the channel window, register a demo
 * echo device, start the driver compartment on the second CPU, then serve: every doorbell (or
 * every 10 ms) calls xcv_channel_poll(). The run ends when the driver publishes its result in the
 * mailbox; the exit status says whether both sides saw what they expected.
 *
 * DEMO_EXPECT_HOSTILE: the driver is hostile. The device must report each protocol
 * error (broken queue with the right reason, broken channel), stay up, recover the channel by
 * reinitialising it (the driver sees a peer restart) and keep serving.
 * DEMO_NONCOHERENT: the port does cache maintenance and so does the echo model on data (for
 * ports that provide it).
 */
#include <stdatomic.h>

#include "demo.h"
#include "xcvirtio/xcvirtio.h"

#define DEMO_RUN_TIMEOUT_NS 20000000000ull
#define DEMO_POLL_NS 10000000u
#define DEMO_BUDGET 64u

static struct demo_port dp;
static struct xcv_channel ch;
static struct xcv_vdev vdev;
static struct xcv_vq_dev_slot slots[DEMO_ECHO_QUEUE_SIZE];
static struct xcv_vdev_queue queues[1] = {{.slots = slots, .max_size = DEMO_ECHO_QUEUE_SIZE}};
static uint32_t config_space[2] = {DEMO_ECHO_CONFIG_MAGIC, DEMO_ECHO_QUEUE_SIZE};
static struct xcv_iov scratch_iov[DEMO_ECHO_QUEUE_SIZE];

static uint32_t echoed;
static uint32_t resets;
static int process_err;
static bool more_pending;

/* Copy the readable bytes into the writable segments (as many as fit). */
static int echo_chain(void *ctx, const struct xcv_chain *c, uint32_t *written)
{
    (void)ctx;
    uint32_t done = 0;
    uint16_t wi = c->n_out;
    uint32_t woff = 0;
    for (uint16_t ri = 0; ri < c->n_out; ri++) {
        const uint8_t *src = c->iov[ri].base;
        uint32_t left = c->iov[ri].len;
        if (!DEMO_COHERENT_WINDOW)
            demo_cache_invalidate(src, left);
        while (left > 0u && wi < c->n_out + c->n_in) {
            uint8_t *dst = (uint8_t *)c->iov[wi].base + woff;
            uint32_t room = c->iov[wi].len - woff;
            uint32_t n = left < room ? left : room;
            for (uint32_t k = 0; k < n; k++)
                dst[k] = src[k];
            if (!DEMO_COHERENT_WINDOW)
                demo_cache_clean(dst, n);
            src += n;
            left -= n;
            done += n;
            woff += n;
            if (woff == c->iov[wi].len) {
                wi++;
                woff = 0;
            }
        }
    }
    *written = done;
    echoed++;
    return 0;
}

static void serve_queue(struct xcv_vdev *d, uint16_t q)
{
    struct xcv_vq_device *vq = xcv_vdev_queue(d, q);
    if (vq == NULL)
        return;
    struct xcv_chain scratch = {.iov = scratch_iov, .cap = DEMO_ECHO_QUEUE_SIZE};
    int r = xcv_vq_device_process(vq, DEMO_BUDGET, &scratch, echo_chain, NULL);
    if (r < 0 && process_err == 0)
        process_err = r;
    more_pending = r == (int)DEMO_BUDGET;
}

static void echo_notify(void *ctx, struct xcv_vdev *d, uint16_t q)
{
    (void)ctx;
    serve_queue(d, q);
}

static void echo_reset(void *ctx, struct xcv_vdev *d)
{
    (void)ctx;
    (void)d;
    resets++; /* the model keeps no chains: nothing to drop */
}

static const struct xcv_vdev_ops echo_ops = {.notify = echo_notify, .reset = echo_reset};

static int channel_up(void)
{
    struct xcv_channel_config cfg;
    int r = demo_channel_config(&cfg, true, &dp.port);
    if (r == XCV_OK)
        r = xcv_channel_init(&ch, &cfg);
    if (r != XCV_OK)
        return r;
    const struct xcv_vdev_config dc = {
        .device_id = DEMO_ECHO_DEVICE_ID,
        .vendor_id = 0x58435600u,
        .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC),
        .config = config_space,
        .config_size = sizeof(config_space),
        .queues = queues,
        .num_queues = 1,
        .ops = &echo_ops,
    };
    r = xcv_vdev_register(&ch, &vdev, &dc);
    return r < 0 ? r : XCV_OK;
}

static bool logged(int err)
{
    return demo_port_logged(&dp, err);
}

int demo_main(uint64_t boot_arg)
{
    (void)boot_arg;
    int pr = demo_platform_init(true, "dev");
    if (pr != 0)
        return pr == DEMO_ERR_CONFIG ? DEMO_EXIT_BAD_CONFIG : 2;
    demo_port_init(&dp, true, !DEMO_COHERENT_WINDOW, "dev");
    const struct xcv_port *port = &dp.port;
    int r = channel_up();
    if (r != XCV_OK) {
        demo_say("channel init failed", r);
        return 3;
    }
    if (demo_start_driver() != 0)
        return 4;

    struct demo_mailbox *mb = demo_mailbox();
    uint32_t recoveries = 0;
    uint64_t deadline = demo_now_ns() + DEMO_RUN_TIMEOUT_NS;
    for (;;) {
        r = xcv_channel_poll(&ch, DEMO_BUDGET);
        if (r < 0 && r != XCV_EPEERRESET) {
            /* A protocol error broke the channel: report it, stay up, start over. */
            demo_puts("dev: channel broken: ");
            demo_puts(xcv_strerror(r));
            demo_puts("; reinitialising it\n");
            if (!xcv_err_is_protocol(r) || recoveries > 4u)
                return 5;
            recoveries++;
            r = channel_up();
            if (r != XCV_OK) {
                demo_say("channel restart failed", r);
                return 6;
            }
            (void)port->ops->notify(port->ctx, demo_cfg.doorbell_to_driver);
        }
        if (more_pending)
            serve_queue(&vdev, 0);
        if (atomic_load_explicit(&mb->drv_done, memory_order_acquire) != 0u)
            break;
        uint64_t now = demo_now_ns();
        if (now >= deadline) {
            demo_say("timeout; requests echoed", echoed);
            return 7;
        }
        (void)port->ops->wait(port->ctx,
                              now + DEMO_POLL_NS < deadline ? now + DEMO_POLL_NS : deadline);
    }

    int32_t res = atomic_load(&mb->drv_result);
    uint32_t rounds = atomic_load(&mb->drv_rounds);
    demo_say("driver result", res);
    demo_say("driver requests checked", rounds);
    demo_say("chains echoed", echoed);
    demo_say("device resets", resets);
    demo_say("doorbells received", (int64_t)demo_hw_doorbells_received());
    demo_say("doorbells rung", (int64_t)dp.notifies);
    demo_say("diagnostics logged", dp.n_logged);
    if (res != 0 || echoed != rounds)
        return 8;
#ifdef DEMO_EXPECT_HOSTILE
    demo_say("channel recoveries", recoveries);
    if (!logged(XCV_EPROTO_HEAD) || !logged(XCV_EPROTO_AVAIL_IDX) || !logged(XCV_EPROTO_MSG) ||
        recoveries != 1u) {
        demo_say("missing protocol error reports", -1);
        return 9;
    }
    demo_puts("hostile: PASS (errors reported, device stayed up)\n");
#else
    if (dp.n_logged != 0u || recoveries != 0u || process_err != 0) {
        demo_say("unexpected errors, first", dp.n_logged ? dp.logged_err[0] : process_err);
        return 9;
    }
    (void)logged;
    demo_puts(DEMO_COHERENT_WINDOW ? "echo: PASS\n" : "echo (non-coherent): PASS\n");
#endif
    return 0;
}
