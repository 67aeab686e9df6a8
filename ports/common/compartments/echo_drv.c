/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channel echo, driver compartment (second CPU, started by the device compartment): attach to
 * the channel, open the echo device, send requests through queue 0 and check every byte that
 * comes back.
 *
 * Default: 1000 requests in batches of 1..8 (one kick per batch), lengths 1..500 bytes.
 * DEMO_HOSTILE_DRIVER: between short rounds of good requests, write garbage into the
 * shared ring (a head out of range, an available index jump) and a malformed control message,
 * and check that the device reports NEEDS_RESET, recovers after a reset, and restarts the
 * channel after the bad message.
 * DEMO_NONCOHERENT: clean buffers before posting them, invalidate them before reading them.
 * The result goes to the mailbox; the device compartment reports it.
 */
#include <stdatomic.h>

#include "demo.h"
#include "xcvirtio/xcvirtio.h"

#define DEMO_REQUESTS 1000u
#define DEMO_MAX_BATCH 8u
#define DEMO_BUF_SIZE 512u
#define DEMO_MAX_BUFS 2048u
#define DEMO_WAIT_STEP_NS 1000000u

struct demo_req {
    uint8_t *out;
    uint8_t *in;
    uint64_t out_bus;
    uint64_t in_bus;
    uint32_t len;
    uint32_t seq;
    bool done;
};

static struct demo_port dp;
static struct xcv_channel_config ch_cfg;
static struct xcv_channel ch;
static struct xcv_vdrv drv;
static struct xcv_vq_drv_slot dslots[DEMO_ECHO_QUEUE_SIZE];
static struct xcv_vdrv_queue dq[1] = {
    {.slots = dslots, .size = DEMO_ECHO_QUEUE_SIZE, .indirect_max = 4}};
static struct xcv_pool pool;
static uint32_t free_list[DEMO_MAX_BUFS];
static struct demo_req reqs[DEMO_MAX_BATCH];
static uint32_t checked;
static uint32_t cancelled;

static void drv_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    (void)ctx;
    (void)d;
    (void)q;
    (void)token;
    (void)err;
    cancelled++;
}

static const struct xcv_vdrv_ops drv_ops = {.cancel = drv_cancel};

static const struct xcv_vdrv_config open_cfg = {
    .dev_num = 0,
    .device_id = DEMO_ECHO_DEVICE_ID,
    .features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC),
    .queues = dq,
    .num_queues = 1,
    .ops = &drv_ops,
};

_Noreturn static void fail(int32_t step, int err)
{
    demo_say("failed at step", step);
    demo_say("error", err);
    demo_puts("drv: ");
    demo_puts(xcv_strerror(err));
    demo_puts("\n");
    demo_driver_finish(step, checked);
}

static uint8_t pattern(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 131u + i * 7u + 1u);
}

/* Wait for the next event, polling the channel: used buffers arrive as EVENT_USED. */
static int poll_and_wait(uint64_t deadline)
{
    int r = xcv_channel_poll(&ch, 64);
    if (r < 0)
        return r;
    uint64_t now = demo_now_ns();
    if (now >= deadline)
        return XCV_ETIMEDOUT;
    uint64_t step = now + DEMO_WAIT_STEP_NS;
    (void)dp.port.ops->wait(dp.port.ctx, step < deadline ? step : deadline);
    return XCV_OK;
}

/* Post @n requests as one batch, kick once, and check each echo byte for byte. */
static int run_batch(struct xcv_vq_driver *q, uint32_t first_seq, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        struct demo_req *rq = &reqs[k];
        rq->seq = first_seq + k;
        rq->len = 1u + (rq->seq * 37u) % (DEMO_BUF_SIZE - 12u);
        rq->out = xcv_pool_alloc(&pool, &rq->out_bus);
        rq->in = xcv_pool_alloc(&pool, &rq->in_bus);
        rq->done = false;
        if (rq->out == NULL || rq->in == NULL)
            return XCV_ENOMEM;
        for (uint32_t i = 0; i < rq->len; i++)
            rq->out[i] = pattern(rq->seq, i);
        for (uint32_t i = 0; i < DEMO_BUF_SIZE; i++)
            rq->in[i] = 0u;
        if (!DEMO_COHERENT_WINDOW) {
            /* No dirty line of ours may be written back over what the device writes. */
            demo_cache_clean(rq->out, rq->len);
            demo_cache_clean(rq->in, DEMO_BUF_SIZE);
        }
        const struct xcv_sg sg[2] = {{rq->out_bus, rq->len}, {rq->in_bus, DEMO_BUF_SIZE}};
        int r = xcv_vq_driver_add(q, sg, 1, 1, rq);
        if (r != XCV_OK)
            return r;
    }
    int r = xcv_vq_driver_kick(q);
    if (r < 0)
        return r;
    uint64_t deadline = demo_now_ns() + DEMO_CHANNEL_TIMEOUT_NS;
    for (uint32_t got = 0; got < n;) {
        void *token;
        uint32_t len;
        r = xcv_vq_driver_get_used(q, &token, &len);
        if (r == XCV_EAGAIN) {
            /* Ask for EVENT_USED before sleeping; 1 means used buffers raced in: drain. */
            r = xcv_vq_driver_enable_notify(q);
            if (r == 1)
                continue;
            if (r < 0)
                return r;
            r = poll_and_wait(deadline);
            if (r < 0)
                return r;
            continue;
        }
        if (r != XCV_OK)
            return r;
        struct demo_req *rq = token;
        if (rq < reqs || rq >= reqs + n || rq->done || len != rq->len)
            return XCV_EPROTO_USED_LEN;
        if (!DEMO_COHERENT_WINDOW)
            demo_cache_invalidate(rq->in, DEMO_BUF_SIZE);
        for (uint32_t i = 0; i < DEMO_BUF_SIZE; i++) {
            uint8_t want = i < rq->len ? pattern(rq->seq, i) : 0u;
            if (rq->in[i] != want)
                return XCV_EIO;
        }
        rq->done = true;
        (void)xcv_pool_free(&pool, rq->out);
        (void)xcv_pool_free(&pool, rq->in);
        checked++;
        got++;
    }
    return XCV_OK;
}

static int run_requests(uint32_t count)
{
    struct xcv_vq_driver *q = xcv_vdrv_queue(&drv, 0);
    if (q == NULL)
        return XCV_ENODEV;
    uint32_t sent = 0;
    while (sent < count) {
        uint32_t n = 1u + (sent / 7u) % DEMO_MAX_BATCH;
        if (n > count - sent)
            n = count - sent;
        int r = run_batch(q, checked, n);
        if (r != XCV_OK)
            return r;
        sent += n;
    }
    return XCV_OK;
}

static int open_echo(void)
{
    uint32_t mask = 0;
    int r = xcv_channel_ping(&ch, 0x1234u);
    if (r == XCV_OK)
        r = xcv_channel_get_devices(&ch, &mask);
    if (r == XCV_OK && (mask & 1u) == 0u)
        r = XCV_ENODEV;
    if (r == XCV_OK)
        r = xcv_vdrv_open(&ch, &drv, &open_cfg);
    uint32_t cs[2] = {0, 0};
    if (r == XCV_OK)
        r = xcv_vdrv_read_config(&drv, 0, cs, sizeof(cs));
    if (r == XCV_OK && (cs[0] != DEMO_ECHO_CONFIG_MAGIC || cs[1] != DEMO_ECHO_QUEUE_SIZE))
        r = XCV_EPROTO_DEVICE;
    return r;
}

#ifdef DEMO_HOSTILE_DRIVER
/* Wait (bounded) until the device shows NEEDS_RESET, then reset and reopen it. */
static int expect_needs_reset(void)
{
    uint64_t deadline = demo_now_ns() + DEMO_CHANNEL_TIMEOUT_NS;
    for (;;) {
        int st = xcv_vdrv_get_status(&drv);
        if (st < 0)
            return st;
        if ((unsigned)st & XCV_VIRTIO_STATUS_NEEDS_RESET)
            break;
        int r = poll_and_wait(deadline);
        if (r < 0)
            return r;
    }
    int r = xcv_vdrv_reset(&drv);
    if (r == XCV_OK)
        r = xcv_vdrv_open(&ch, &drv, &open_cfg);
    return r;
}

/* Garbage in the shared available ring: @head at the next slot, the index moved by @step. */
static int inject_avail(uint16_t head, uint16_t step)
{
    struct xcv_vq_driver *q = xcv_vdrv_queue(&drv, 0);
    if (q == NULL)
        return XCV_ENODEV;
    uint16_t idx = q->avail_idx; /* the queue's private shadow: what the device expects */
    xcv_le16_store(q->avail + 4u + (size_t)2u * (idx & q->mask), head);
    atomic_store_explicit((_Atomic uint16_t *)(void *)(q->avail + 2u), (uint16_t)(idx + step),
                          memory_order_release);
    if (!DEMO_COHERENT_WINDOW)
        demo_cache_clean(q->avail, 4u + 2u * q->num);
    return xcv_vq_driver_notify(q); /* EVENT_AVAIL */
}

/* A malformed control message (bad size and type) in the driver-to-device ring. */
static int inject_bad_message(void)
{
    uint8_t *slot = ch.tx.slots + (size_t)(ch.tx.idx & (ch.tx.count - 1u)) * XCV_MSGRING_SLOT_SIZE;
    for (uint32_t i = 0; i < XCV_MSG_SIZE; i++)
        slot[i] = 0xa5u;
    ch.tx.idx++; /* keep this side's own bookkeeping consistent with what it published */
    if (!DEMO_COHERENT_WINDOW)
        demo_cache_clean(slot, XCV_MSG_SIZE);
    atomic_store_explicit((_Atomic uint32_t *)(void *)ch.tx.prod, ch.tx.idx, memory_order_release);
    if (!DEMO_COHERENT_WINDOW)
        demo_cache_clean(ch.tx.prod, 4u);
    return dp.port.ops->notify(dp.port.ctx, demo_cfg.doorbell_to_device);
}

/* The device must restart the channel: this side sees XCV_EPEERRESET, bounded. */
static int expect_peer_restart(void)
{
    uint64_t deadline = demo_now_ns() + DEMO_CHANNEL_TIMEOUT_NS;
    for (;;) {
        int r = poll_and_wait(deadline);
        if (r == XCV_EPEERRESET)
            return XCV_OK;
        if (r < 0)
            return r;
    }
}

static void run(void)
{
    int r;
    if ((r = run_requests(16)) != XCV_OK)
        fail(-10, r);
    demo_say("bad head", 0xbeef);
    if ((r = inject_avail(0xbeefu, 1u)) != XCV_OK)
        fail(-11, r);
    if ((r = expect_needs_reset()) != XCV_OK)
        fail(-12, r);
    if ((r = run_requests(16)) != XCV_OK)
        fail(-13, r);
    demo_say("avail index jump", 1000);
    if ((r = inject_avail(0u, 1000u)) != XCV_OK)
        fail(-14, r);
    if ((r = expect_needs_reset()) != XCV_OK)
        fail(-15, r);
    if ((r = run_requests(16)) != XCV_OK)
        fail(-16, r);
    demo_say("malformed control message", 0xa5);
    if ((r = inject_bad_message()) != XCV_OK)
        fail(-17, r);
    if ((r = expect_peer_restart()) != XCV_OK)
        fail(-18, r);
    if ((r = open_echo()) != XCV_OK)
        fail(-19, r);
    if ((r = run_requests(16)) != XCV_OK)
        fail(-20, r);
    demo_say("cancelled", cancelled);
}
#else
static void run(void)
{
    int r = run_requests(DEMO_REQUESTS);
    if (r != XCV_OK)
        fail(-10, r);
}
#endif

int demo_main(uint64_t boot_arg)
{
    (void)boot_arg;
    if (demo_platform_init(false, "drv") != 0)
        demo_driver_finish(-1, 0);
    demo_port_init(&dp, false, !DEMO_COHERENT_WINDOW, "drv");
    atomic_store_explicit(&demo_mailbox()->drv_magic, DEMO_MAGIC, memory_order_release);

    int r = demo_channel_config(&ch_cfg, false, &dp.port);
    if (r == XCV_OK)
        r = xcv_channel_connect(&ch, &ch_cfg);
    if (r != XCV_OK)
        fail(-2, r);
    if ((r = open_echo()) != XCV_OK)
        fail(-3, r);
    const struct xcv_window *pa = xcv_channel_pool_area(&ch);
    uint32_t nbufs = pa != NULL ? XCV_POOL_COUNT(pa->size, DEMO_BUF_SIZE) : 0u;
    if (nbufs == 0u)
        fail(-4, XCV_ENODEV);
    struct xcv_window pool_area = *pa;
    if (nbufs > DEMO_MAX_BUFS) { /* a large window: use the first DEMO_MAX_BUFS buffers */
        nbufs = DEMO_MAX_BUFS;
        pool_area.size = (uint64_t)nbufs * DEMO_BUF_SIZE;
    }
    if ((r = xcv_pool_init(&pool, &pool_area, DEMO_BUF_SIZE, free_list, nbufs)) != XCV_OK)
        fail(-5, r);
    run();
    xcv_channel_detach(&ch);
    demo_driver_finish(0, checked);
}
