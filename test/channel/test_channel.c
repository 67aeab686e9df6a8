/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control plane in one process: a device-role and a driver-role channel over one window.
 * The driver's port wait() serves the device side (as a peer would), so every request made by
 * the driver is answered unless a test switches the device off. Hostile peers are simulated by
 * writing raw bytes into the shared message rings, the event words and the window header.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "xcvirtio/xcvirtio.h"

#define WIN_BYTES (1u << 20)
#define QAREA (256u * 1024u)
#define LINE 64u
#define SLOTS 32u

static _Alignas(4096) uint8_t win[WIN_BYTES];
static struct xcv_channel dch, vch; /* driver, device */
static bool device_alive;
static int in_wait;
static unsigned served_msgs;  /* messages the device side handled */
static unsigned change_after; /* device: bump the config generation after this many messages */
static unsigned change_every; /* device: bump it after every message (0 = off) */
static struct xcv_vdev vdev;

static uint64_t now_ns(void *c)
{
    (void)c;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static unsigned dev_rings; /* doorbells the device side rang on the driver */
static unsigned drv_rings; /* doorbells the driver side rang on the device */

static int notify(void *c, uint32_t d)
{
    (void)c;
    (void)d;
    return 0;
}

static int dev_notify(void *c, uint32_t d)
{
    dev_rings++;
    return notify(c, d);
}

static int drv_wait(void *c, uint64_t deadline)
{
    (void)c;
    (void)deadline;
    if (device_alive && !in_wait) {
        in_wait = 1;
        int r = xcv_channel_poll(&vch, 1);
        if (r > 0) {
            served_msgs += (unsigned)r;
            if ((change_after != 0u && served_msgs == change_after) || change_every != 0u)
                (void)xcv_vdev_config_changed(&vdev);
        }
        in_wait = 0;
    }
    return 0;
}

/* The driver's doorbell: with poll_on_doorbell the device side runs at once, as a device on
 * another core would, before the driver reads anything back. */
static bool poll_on_doorbell;
static int drv_notify(void *c, uint32_t d)
{
    drv_rings++;
    if (poll_on_doorbell)
        (void)drv_wait(c, 0);
    return notify(c, d);
}

static const struct xcv_port_ops drv_ops = {
    .notify = drv_notify, .now_ns = now_ns, .wait = drv_wait};
static const struct xcv_port_ops dev_ops = {.notify = dev_notify, .now_ns = now_ns};
static struct xcv_port drv_port = {&drv_ops, NULL}, dev_port = {&dev_ops, NULL};

/* The same ports with cache maintenance (a no-op here): the channel treats them as
 * non-coherent, so queue notifications travel as EVENT_AVAIL / EVENT_USED messages. */
static unsigned cache_ops;
static void nc_cache(void *c, const void *p, size_t n)
{
    (void)c;
    (void)p;
    (void)n;
    cache_ops++;
}
static const struct xcv_port_ops drv_ops_nc = {.notify = drv_notify,
                                               .now_ns = now_ns,
                                               .wait = drv_wait,
                                               .cache_clean = nc_cache,
                                               .cache_invalidate = nc_cache};
static const struct xcv_port_ops dev_ops_nc = {
    .notify = dev_notify, .now_ns = now_ns, .cache_clean = nc_cache, .cache_invalidate = nc_cache};
static bool noncoherent;

/* ---- the device model ---- */
static struct xcv_vq_dev_slot vslots[64];
static struct xcv_vdev_queue vqueue[1] = {{.slots = vslots, .max_size = 64}};
static uint8_t cfgspace[40];
static unsigned resets, config_writes, status_calls, kicks;
static uint8_t status_seen[8];
static int refuse_features;

static int echo_fn(void *ctx, const struct xcv_chain *c, uint32_t *w)
{
    (void)ctx;
    uint32_t n = c->iov[0].len < c->iov[c->n_out].len ? c->iov[0].len : c->iov[c->n_out].len;
    for (uint32_t i = 0; i < n; i++)
        ((uint8_t *)c->iov[c->n_out].base)[i] = (uint8_t)(((uint8_t *)c->iov[0].base)[i] ^ 0xa5u);
    *w = n;
    return 0;
}

static void v_notify(void *ctx, struct xcv_vdev *d, uint16_t q)
{
    (void)ctx;
    kicks++;
    struct xcv_iov iov[8];
    struct xcv_chain ch = {.iov = iov, .cap = 8};
    (void)xcv_vq_device_process(xcv_vdev_queue(d, q), 64, &ch, echo_fn, NULL);
}

static void v_reset(void *ctx, struct xcv_vdev *d)
{
    (void)ctx;
    (void)d;
    resets++;
}

static void v_status(void *ctx, struct xcv_vdev *d, uint8_t s)
{
    (void)ctx;
    (void)d;
    if (status_calls < 8u)
        status_seen[status_calls] = s;
    status_calls++;
}

static int v_features_ok(void *ctx, struct xcv_vdev *d, uint64_t f)
{
    (void)ctx;
    (void)d;
    (void)f;
    return refuse_features ? -1 : 0;
}

static void v_config_write(void *ctx, struct xcv_vdev *d, uint32_t off, uint32_t len)
{
    (void)ctx;
    (void)d;
    (void)off;
    (void)len;
    config_writes++;
}

static const struct xcv_vdev_ops vops = {.notify = v_notify,
                                         .reset = v_reset,
                                         .status = v_status,
                                         .features_ok = v_features_ok,
                                         .config_write = v_config_write};

static struct xcv_vdev vdev2; /* a second device, to see GET_DEVICES */
static struct xcv_vq_dev_slot vslots2[8];
static struct xcv_vdev_queue vqueue2[1] = {{.slots = vslots2, .max_size = 8}};

/* ---- the driver ---- */
static struct xcv_vdrv drv;
static struct xcv_vq_drv_slot dslots[32];
static struct xcv_vdrv_queue dq[1] = {{.slots = dslots, .size = 32}};
static unsigned cancels, cancel_peer, config_events, used_calls;
static void *cancelled_tokens[64];

static void d_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *t, int e)
{
    (void)ctx;
    (void)d;
    (void)q;
    if (cancels < 64u)
        cancelled_tokens[cancels] = t;
    cancels++;
    if (e == XCV_EPEERRESET)
        cancel_peer++;
}

static void d_config(void *ctx, struct xcv_vdrv *d)
{
    (void)ctx;
    (void)d;
    config_events++;
}

static void d_used(void *ctx, struct xcv_vdrv *d, uint16_t q)
{
    (void)ctx;
    (void)d;
    (void)q;
    used_calls++;
}

static const struct xcv_vdrv_ops dops = {.used = d_used, .cancel = d_cancel, .config = d_config};

static struct xcv_channel_config vcfg, dcfg;

static int device_up(void)
{
    dev_port.ops = noncoherent ? &dev_ops_nc : &dev_ops;
    vcfg = (struct xcv_channel_config){
        .role = XCV_ROLE_DEVICE, .port = &dev_port, .queue_area_size = QAREA, .msg_slots = SLOTS};
    xcv_window_init(&vcfg.window, win, 0, sizeof(win));
    int r = xcv_channel_init(&vch, &vcfg);
    if (r != XCV_OK)
        return r;
    struct xcv_vdev_config dc = {.device_id = 0x0ec0,
                                 .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX),
                                 .config = cfgspace,
                                 .config_size = sizeof(cfgspace),
                                 .config_wr_off = 4,
                                 .config_wr_len = sizeof(cfgspace) - 4,
                                 .queues = vqueue,
                                 .num_queues = 1,
                                 .max_chain = 4,
                                 .ops = &vops};
    return xcv_vdev_register(&vch, &vdev, &dc);
}

static int driver_attach(uint64_t timeout_ns)
{
    drv_port.ops = noncoherent ? &drv_ops_nc : &drv_ops;
    dcfg = (struct xcv_channel_config){
        .role = XCV_ROLE_DRIVER, .port = &drv_port, .timeout_ns = timeout_ns};
    xcv_window_init(&dcfg.window, win, 0, sizeof(win));
    return xcv_channel_init(&dch, &dcfg);
}

static struct xcv_vdrv_config open_cfg(uint64_t features)
{
    return (struct xcv_vdrv_config){.dev_num = 0,
                                    .device_id = 0x0ec0,
                                    .features = features,
                                    .queues = dq,
                                    .num_queues = 1,
                                    .ops = &dops};
}

static const uint64_t ALL =
    XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);

static int setup(void **state)
{
    (void)state;
    noncoherent = false;
    memset(win, 0, sizeof(win));
    memset(&drv, 0, sizeof(drv));
    memset(cfgspace, 0, sizeof(cfgspace));
    for (unsigned i = 0; i < sizeof(cfgspace); i++)
        cfgspace[i] = (uint8_t)(i + 1u);
    device_alive = true;
    poll_on_doorbell = false;
    in_wait = 0;
    served_msgs = change_after = change_every = 0;
    resets = config_writes = status_calls = kicks = 0;
    cancels = cancel_peer = config_events = used_calls = 0;
    dev_rings = drv_rings = cache_ops = 0;
    refuse_features = 0;
    memset(status_seen, 0, sizeof(status_seen));
    assert_int_equal(device_up(), 0);
    assert_int_equal(driver_attach(200000000u), XCV_OK);
    return 0;
}

/* One request through the data path; returns the used length or a negative error. */
static int roundtrip(uint32_t i)
{
    const struct xcv_window *pool = xcv_channel_pool_area(&dch);
    struct xcv_vq_driver *q = xcv_vdrv_queue(&drv, 0);
    if (pool == NULL || q == NULL)
        return XCV_ESTATE;
    for (unsigned k = 0; k < 16u; k++)
        pool->local[k] = (uint8_t)(i + k);
    struct xcv_sg sg[2] = {{pool->bus_base, 16}, {pool->bus_base + 4096, 16}};
    int r = xcv_vq_driver_add(q, sg, 1, 1, (void *)(uintptr_t)(i + 1u));
    if (r != XCV_OK)
        return r;
    r = xcv_vq_driver_kick(q);
    if (r < 0)
        return r;
    (void)xcv_channel_poll(&vch, 64);
    r = xcv_channel_poll(&dch, 64);
    if (r < 0)
        return r;
    void *t;
    uint32_t len;
    r = xcv_vq_driver_get_used(q, &t, &len);
    if (r != XCV_OK)
        return r;
    if (t != (void *)(uintptr_t)(i + 1u))
        return XCV_EPROTO_USED_ID;
    for (unsigned k = 0; k < 16u; k++) {
        if (pool->local[4096 + k] != (uint8_t)((uint8_t)(i + k) ^ 0xa5u))
            return XCV_EIO;
    }
    (void)xcv_vq_driver_enable_notify(q);
    return (int)len;
}

/* ---- raw access to the shared message rings and event words, as a hostile peer ---- */

#define HDR_LINES 5u /* layout, device side, driver side, d2v event line, v2d event line */

static uint8_t *ring_base(bool d2v)
{
    uint8_t *d = win + HDR_LINES * LINE;
    return d2v ? d : d + XCV_MSGRING_BYTES(SLOTS, LINE);
}

static uint32_t ld32(const uint8_t *p)
{
    return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

/* Write one raw 48-byte message into a ring as its producer and publish it. */
static void raw_put(bool d2v, const uint8_t msg[XCV_MSG_SIZE])
{
    uint8_t *r = ring_base(d2v);
    uint32_t prod = ld32(r);
    memcpy(r + 2u * LINE + (size_t)(prod & (SLOTS - 1u)) * XCV_MSGRING_SLOT_SIZE, msg,
           XCV_MSG_SIZE);
    __atomic_store_n((uint32_t *)r, prod + 1u, __ATOMIC_RELEASE);
}

/* The event word of one direction (driver-to-device: the device takes it). */
static uint64_t *evt_word(bool d2v)
{
    return (uint64_t *)(void *)(win + (d2v ? 3u : 4u) * LINE);
}

static uint64_t evt_load(bool d2v)
{
    return __atomic_load_n(evt_word(d2v), __ATOMIC_ACQUIRE);
}

static void evt_store(bool d2v, uint64_t v)
{
    __atomic_store_n(evt_word(d2v), v, __ATOMIC_RELEASE);
}

/* Messages published and not yet consumed in a ring. */
static uint32_t ring_queued(bool d2v)
{
    uint8_t *r = ring_base(d2v);
    return ld32(r) - ld32(r + LINE);
}

/* Take one raw message from a ring as its consumer; false when empty. */
static bool raw_get(bool d2v, struct xcv_msg *m)
{
    uint8_t *r = ring_base(d2v);
    uint32_t prod = ld32(r), cons = ld32(r + LINE);
    if (prod == cons)
        return false;
    uint8_t raw[XCV_MSG_SIZE];
    memcpy(raw, r + 2u * LINE + (size_t)(cons & (SLOTS - 1u)) * XCV_MSGRING_SLOT_SIZE, sizeof(raw));
    __atomic_store_n((uint32_t *)(r + LINE), cons + 1u, __ATOMIC_RELEASE);
    assert_int_equal(xcv_msg_parse(raw, m), XCV_OK);
    return true;
}

static void enc(uint8_t raw[XCV_MSG_SIZE], uint8_t type, uint8_t id, uint16_t dev, uint16_t token,
                uint16_t size)
{
    memset(raw, 0, XCV_MSG_SIZE);
    raw[0] = type;
    raw[1] = id;
    xcv_le16_store(raw + 2, dev);
    xcv_le16_store(raw + 4, token);
    xcv_le16_store(raw + 6, size);
}

/* A raw driver request to the device; returns the response (error code in *err, else 0). */
static struct xcv_msg raw_request(uint8_t *raw, int *err)
{
    static uint16_t tok = 100;
    xcv_le16_store(raw + 4, ++tok);
    raw_put(true, raw);
    assert_int_equal(xcv_channel_poll(&vch, 8), 1);
    struct xcv_msg m;
    assert_true(raw_get(false, &m));
    assert_int_equal(m.token, tok);
    assert_true(m.type & XCV_MSG_TYPE_RESPONSE);
    *err = (m.type & XCV_MSG_TYPE_ERROR) ? (int)xcv_le32_load(m.payload) : 0;
    return m;
}

static void raw_set_status(uint8_t s)
{
    uint8_t raw[XCV_MSG_SIZE];
    enc(raw, 0, XCV_MSG_SET_DEVICE_STATUS, 0, 0, 12);
    xcv_le32_store(raw + 8, s);
    int err;
    (void)raw_request(raw, &err);
    assert_int_equal(err, 0);
}

/* ---- tests ---- */

static void test_init_sequence(void **state)
{
    (void)state;
    struct xcv_vdrv_config oc = open_cfg(~0ull);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    assert_int_equal(xcv_vdrv_features(&drv), ALL); /* offered & wanted */
    assert_int_equal(xcv_vdev_features(&vdev), ALL);
    uint8_t s = xcv_vdev_status(&vdev);
    assert_int_equal(s, XCV_VIRTIO_STATUS_ACKNOWLEDGE | XCV_VIRTIO_STATUS_DRIVER |
                            XCV_VIRTIO_STATUS_FEATURES_OK | XCV_VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(xcv_vdrv_get_status(&drv), s);
    /* status callbacks in the order of virtio 1.2, 3.1.1 */
    assert_int_equal(status_calls, 4);
    assert_int_equal(status_seen[0], 1);
    assert_int_equal(status_seen[1], 3);
    assert_int_equal(status_seen[2], 11);
    assert_int_equal(status_seen[3], 15);
    assert_int_equal(resets, 1); /* the reset that starts the sequence */
    assert_non_null(xcv_vdev_queue(&vdev, 0));
    for (uint32_t i = 0; i < 500; i++)
        assert_int_equal(roundtrip(i), 16);
    /* opening an open device again is refused */
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_ESTATE);
    /* a wrong device id is ENODEV */
    struct xcv_vdrv other;
    memset(&other, 0, sizeof(other));
    struct xcv_vdrv_config bad = oc;
    bad.dev_num = 3;
    assert_int_equal(xcv_vdrv_open(&dch, &other, &bad), XCV_ENODEV);
    assert_int_equal(xcv_channel_broken(&dch), 0);
    assert_int_equal(xcv_channel_broken(&vch), 0);
}

static void test_bus_messages(void **state)
{
    (void)state;
    uint32_t mask = 0;
    assert_int_equal(xcv_channel_get_devices(&dch, &mask), XCV_OK);
    assert_int_equal(mask, 1u);
    struct xcv_vdev_config dc = {.device_id = 4, .queues = vqueue2, .num_queues = 1, .ops = &vops};
    assert_int_equal(xcv_vdev_register(&vch, &vdev2, &dc), 1);
    assert_int_equal(xcv_channel_get_devices(&dch, &mask), XCV_OK);
    assert_int_equal(mask, 3u);
    for (uint32_t v = 0; v < 100; v++)
        assert_int_equal(xcv_channel_ping(&dch, v * 0x01010101u), XCV_OK);
}

/* A v2d ring full of events (the driver was busy) must not cost a request its answer: the
 * device holds the response until the ring has room, ahead of further events. */
static void test_response_survives_full_ring(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 40; i++)
        assert_int_equal(xcv_vdev_config_changed(&vdev), XCV_OK);
    poll_on_doorbell = true; /* the device answers while the ring is still full of events */
    assert_int_equal(xcv_channel_ping(&dch, 0x5a5a5a5au), XCV_OK);
    poll_on_doorbell = false;
    assert_int_equal(xcv_channel_broken(&dch), 0);
    assert_int_equal(xcv_channel_broken(&vch), 0);
    /* And the channel goes on working normally. */
    assert_int_equal(xcv_channel_ping(&dch, 7), XCV_OK);
}

static void test_config(void **state)
{
    (void)state;
    struct xcv_vdrv_config oc = open_cfg(ALL);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    uint8_t buf[40];
    served_msgs = 0;
    assert_int_equal(xcv_vdrv_read_config(&drv, 0, buf, 40), XCV_OK);
    assert_memory_equal(buf, cfgspace, 40);
    assert_int_equal(served_msgs, 2); /* two chunks of at most 28 bytes */
    assert_int_equal(xcv_vdrv_read_config(&drv, 30, buf, 11), XCV_EINVAL); /* out of range */

    /* The generation changes between the two chunks: the driver reads again. */
    served_msgs = 0;
    change_after = 1;
    cfgspace[39] = 0x77;
    assert_int_equal(xcv_vdrv_read_config(&drv, 0, buf, 40), XCV_OK);
    assert_int_equal(served_msgs, 4);
    assert_memory_equal(buf, cfgspace, 40);
    change_after = 0;
    assert_true(xcv_channel_poll(&dch, 16) >= 0);
    assert_int_equal(config_events, 1); /* EVENT_CONFIG reached the driver */

    /* It keeps changing: the bounded retry gives up with EAGAIN. */
    change_every = 1;
    assert_int_equal(xcv_vdrv_read_config(&drv, 0, buf, 40), XCV_EAGAIN);
    change_every = 0;

    /* Write, then read back. */
    uint8_t w[33];
    for (unsigned i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(0xc0u + i);
    assert_int_equal(xcv_vdrv_write_config(&drv, 5, w, 33), XCV_OK);
    assert_memory_equal(cfgspace + 5, w, 33);
    assert_int_equal(config_writes, 2);
    assert_int_equal(xcv_vdrv_read_config(&drv, 5, buf, 33), XCV_OK);
    assert_memory_equal(buf, w, 33);
    assert_int_equal(xcv_vdrv_write_config(&drv, 39, w, 2), XCV_EINVAL);
    /* Bytes 0..3 are read-only: a write touching them is refused and changes nothing. */
    assert_int_equal(xcv_vdrv_write_config(&drv, 2, w, 4), XCV_EINVAL);
    assert_int_equal(cfgspace[2], 3);
    assert_int_equal(config_writes, 2);
    assert_int_equal(xcv_channel_broken(&dch), 0);
}

static void test_features_refused(void **state)
{
    (void)state;
    /* The driver lacks VERSION_1. */
    struct xcv_vdrv_config oc = open_cfg(XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX));
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_ENOTSUP);
    assert_false(xcv_vdev_status(&vdev) & XCV_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(xcv_vdev_features(&vdev), 0); /* nothing was written */
    assert_null(xcv_vdrv_queue(&drv, 0));
    /* The device model refuses the features at FEATURES_OK. */
    refuse_features = 1;
    oc = open_cfg(ALL);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_ENOTSUP);
    assert_false(xcv_vdev_status(&vdev) & XCV_VIRTIO_STATUS_FEATURES_OK);
    assert_null(xcv_vdev_queue(&vdev, 0));
    /* Accepted again: the same objects open fine. */
    refuse_features = 0;
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    assert_int_equal(roundtrip(1), 16);
}

static void test_set_vqueue_outside_areas(void **state)
{
    (void)state;
    raw_set_status(0);
    raw_set_status(XCV_VIRTIO_STATUS_ACKNOWLEDGE | XCV_VIRTIO_STATUS_DRIVER);
    uint8_t raw[XCV_MSG_SIZE];
    enc(raw, 0, XCV_MSG_SET_DRV_FEATURES, 0, 0, 24);
    xcv_le32_store(raw + 8, 0);
    xcv_le32_store(raw + 12, 2);
    xcv_le32_store(raw + 16, 0);
    xcv_le32_store(raw + 20, 1); /* VERSION_1 */
    int err;
    (void)raw_request(raw, &err);
    assert_int_equal(err, 0);
    raw_set_status(XCV_VIRTIO_STATUS_ACKNOWLEDGE | XCV_VIRTIO_STATUS_DRIVER |
                   XCV_VIRTIO_STATUS_FEATURES_OK);
    uint64_t qbase = xcv_le64_load(win + 24);
    uint64_t pbase = xcv_le64_load(win + 40);
    const uint64_t bad[][3] = {
        {0, 4096, 8192},                                   /* the header and message rings */
        {qbase, qbase + 4096, WIN_BYTES},                  /* used ring past the window */
        {qbase, qbase + 4096, UINT64_MAX - 8u},            /* wraps */
        {HDR_LINES * LINE, qbase + 4096, qbase + 8192},    /* desc on the d2v ring */
        {3u * LINE, qbase + 4096, qbase + 8192},           /* desc on an event line */
        {qbase + 2u, qbase + 4096, qbase + 8192},          /* misaligned desc */
        {qbase + QAREA - 16u, qbase + 4096, qbase + 8192}, /* desc straddles into the pool */
    };
    (void)pbase;
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enc(raw, 0, XCV_MSG_SET_VQUEUE, 0, 0, 48);
        xcv_le32_store(raw + 8, 0);
        xcv_le32_store(raw + 16, 16);
        xcv_le64_store(raw + 24, bad[i][0]);
        xcv_le64_store(raw + 32, bad[i][1]);
        xcv_le64_store(raw + 40, bad[i][2]);
        (void)raw_request(raw, &err);
        assert_int_equal(err, XCV_EINVAL);
        assert_null(xcv_vdev_queue(&vdev, 0));
        assert_int_equal(xcv_channel_broken(&vch), 0);
    }
    /* The device stays usable: a placement inside the queue area is accepted. */
    enc(raw, 0, XCV_MSG_SET_VQUEUE, 0, 0, 48);
    xcv_le32_store(raw + 16, 16);
    xcv_le64_store(raw + 24, qbase);
    xcv_le64_store(raw + 32, qbase + 1024);
    xcv_le64_store(raw + 40, qbase + 2048);
    (void)raw_request(raw, &err);
    assert_int_equal(err, 0);
    assert_non_null(xcv_vdev_queue(&vdev, 0));
}

/* Inject raw bytes into a ring, poll the receiving side: broken, sticky. */
static void expect_broken(struct xcv_channel *ch, bool d2v, const uint8_t *msg, uint32_t jump)
{
    if (msg != NULL)
        raw_put(d2v, msg);
    if (jump != 0u) {
        uint8_t *r = ring_base(d2v);
        __atomic_store_n((uint32_t *)r, ld32(r) + jump, __ATOMIC_RELEASE);
    }
    assert_int_equal(xcv_channel_poll(ch, 8), XCV_EPROTO_MSG);
    assert_int_equal(xcv_channel_broken(ch), XCV_EPROTO_MSG);
    /* sticky: a valid message later changes nothing */
    uint8_t ping[XCV_MSG_SIZE];
    enc(ping, XCV_MSG_TYPE_BUS, XCV_BUS_MSG_PING, 0, 1, 12);
    if (d2v)
        raw_put(true, ping);
    assert_int_equal(xcv_channel_poll(ch, 8), XCV_EBROKEN);
    assert_int_equal(xcv_channel_broken(ch), XCV_EPROTO_MSG);
}

static void test_hostile_bad_size(void **state)
{
    (void)state;
    uint8_t m[XCV_MSG_SIZE];
    enc(m, XCV_MSG_TYPE_BUS, XCV_BUS_MSG_PING, 0, 1, 49);
    expect_broken(&vch, true, m, 0);
}

static void test_hostile_short_size(void **state)
{
    (void)state;
    uint8_t m[XCV_MSG_SIZE];
    enc(m, 0, XCV_MSG_SET_VQUEUE, 0, 1, 8 + 39); /* one byte short of its payload */
    expect_broken(&vch, true, m, 0);
}

static void test_hostile_unknown_id(void **state)
{
    (void)state;
    uint8_t m[XCV_MSG_SIZE];
    enc(m, 0, 0x33, 0, 1, 48);
    expect_broken(&vch, true, m, 0);
}

static void test_hostile_response_to_device(void **state)
{
    (void)state;
    uint8_t m[XCV_MSG_SIZE];
    enc(m, XCV_MSG_TYPE_RESPONSE | XCV_MSG_TYPE_BUS, XCV_BUS_MSG_PING, 0, 1, 12);
    expect_broken(&vch, true, m, 0);
}

static void test_hostile_event_used_to_device(void **state)
{
    (void)state;
    uint8_t m[XCV_MSG_SIZE];
    enc(m, 0, XCV_MSG_EVENT_USED, 0, 0, 12);
    expect_broken(&vch, true, m, 0);
}

static void test_hostile_request_to_driver(void **state)
{
    (void)state;
    uint8_t m[XCV_MSG_SIZE];
    enc(m, 0, XCV_MSG_GET_DEVICE_STATUS, 0, 1, 8);
    expect_broken(&dch, false, m, 0);
}

static void test_hostile_bus_request_to_driver(void **state)
{
    (void)state;
    uint8_t m[XCV_MSG_SIZE];
    enc(m, XCV_MSG_TYPE_BUS, XCV_BUS_MSG_PING, 0, 1, 12);
    expect_broken(&dch, false, m, 0);
}

static void test_hostile_prod_jump(void **state)
{
    (void)state;
    expect_broken(&vch, true, NULL, SLOTS + 1u);
}

static void test_hostile_prod_jump_driver(void **state)
{
    (void)state;
    expect_broken(&dch, false, NULL, 0x80000000u);
}

static void test_hostile_error_code(void **state)
{
    (void)state;
    /* The device answers a request with an error code outside the caller class. */
    device_alive = false;
    uint8_t m[XCV_MSG_SIZE];
    enc(m, XCV_MSG_TYPE_RESPONSE | XCV_MSG_TYPE_BUS | XCV_MSG_TYPE_ERROR, XCV_BUS_MSG_PING, 0, 1,
        12);
    xcv_le32_store(m + 8, (uint32_t)XCV_EPROTO_HEAD);
    raw_put(false, m);
    assert_int_equal(xcv_channel_ping(&dch, 5), XCV_EPROTO_MSG);
    assert_int_equal(xcv_channel_broken(&dch), XCV_EPROTO_MSG);
    assert_int_equal(xcv_channel_ping(&dch, 5), XCV_EBROKEN);
}

/* ---- hostile window headers, checked by the driver at attach ---- */

struct layout_case {
    const char *name;
    unsigned off;
    unsigned width;
    uint64_t value;
    int expect;
};

static void test_hostile_layouts(void **state)
{
    (void)state;
    uint64_t qoff = xcv_le64_load(win + 24);
    uint64_t qsize = xcv_le64_load(win + 32);
    uint64_t poff = xcv_le64_load(win + 40);
    const struct layout_case cases[] = {
        {"magic", 0, 4, 0x12345678u, XCV_EAGAIN},
        {"version", 4, 2, 3, XCV_EPROTO_LAYOUT},
        {"version 1 (no event lines)", 4, 2, 1, XCV_EPROTO_LAYOUT},
        {"line", 6, 2, 128, XCV_EPROTO_LAYOUT},
        {"window size", 8, 8, WIN_BYTES * 2u, XCV_EPROTO_LAYOUT},
        {"slots not pow2", 16, 4, 33, XCV_EPROTO_LAYOUT},
        {"slots too many", 16, 4, 1u << 20, XCV_EPROTO_LAYOUT},
        {"slots zero", 16, 4, 0, XCV_EPROTO_LAYOUT},
        {"queue over rings", 24, 8, qoff - LINE, XCV_EPROTO_LAYOUT},
        {"queue misaligned", 24, 8, qoff + 8u, XCV_EPROTO_LAYOUT},
        {"queue beyond window", 32, 8, WIN_BYTES, XCV_EPROTO_LAYOUT},
        {"queue wraps", 24, 8, UINT64_MAX - 63u, XCV_EPROTO_LAYOUT},
        {"queue empty", 32, 8, 0, XCV_EPROTO_LAYOUT},
        {"pool overlaps queue", 40, 8, qoff + qsize - LINE, XCV_EPROTO_LAYOUT},
        {"pool misaligned", 40, 8, poff + 4u, XCV_EPROTO_LAYOUT},
        {"pool beyond window", 48, 8, WIN_BYTES - poff + LINE, XCV_EPROTO_LAYOUT},
        {"pool size wraps", 48, 8, UINT64_MAX, XCV_EPROTO_LAYOUT},
    };
    uint8_t good[64];
    memcpy(good, win, sizeof(good));
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct layout_case *c = &cases[i];
        memcpy(win, good, sizeof(good));
        if (c->width == 2)
            xcv_le16_store(win + c->off, (uint16_t)c->value);
        else if (c->width == 4)
            xcv_le32_store(win + c->off, (uint32_t)c->value);
        else
            xcv_le64_store(win + c->off, c->value);
        struct xcv_channel t;
        int r = xcv_channel_init(&t, &dcfg);
        if (r != c->expect)
            fail_msg("layout case '%s': got %d (%s), want %d", c->name, r, xcv_strerror(r),
                     c->expect);
    }
    memcpy(win, good, sizeof(good));
    struct xcv_channel t;
    assert_int_equal(xcv_channel_init(&t, &dcfg), XCV_OK);
    /* a device that never formatted: epoch 0 is "not up yet" */
    memset(win, 0, 4096);
    assert_int_equal(xcv_channel_init(&t, &dcfg), XCV_EAGAIN);
}

/* ---- queue notifications through the event words ---- */

/* Post one 16-byte out / 16-byte in buffer on the driver's queue and kick it. */
static void post_and_kick(uint32_t i)
{
    const struct xcv_window *pool = xcv_channel_pool_area(&dch);
    struct xcv_vq_driver *q = xcv_vdrv_queue(&drv, 0);
    assert_non_null(pool);
    assert_non_null(q);
    struct xcv_sg sg[2] = {{pool->bus_base + 64u * i, 16}, {pool->bus_base + 4096 + 64u * i, 16}};
    assert_int_equal(xcv_vq_driver_add(q, sg, 1, 1, (void *)(uintptr_t)(i + 1u)), XCV_OK);
    assert_true(xcv_vq_driver_kick(q) >= 0);
}

static unsigned reap_all(void)
{
    struct xcv_vq_driver *q = xcv_vdrv_queue(&drv, 0);
    unsigned n = 0;
    void *t;
    uint32_t len;
    while (xcv_vq_driver_get_used(q, &t, &len) == XCV_OK) {
        assert_int_equal(len, 16);
        n++;
    }
    return n;
}

/* Several notifications before the receiver polls: one doorbell, one bit, no message. */
static void test_event_word_coalesces(void **state)
{
    (void)state;
    /* Without EVENT_IDX (and with no suppression flags set) every kick and every used batch
     * notifies, so only the event word can merge them. */
    struct xcv_vdrv_config oc = open_cfg(XCV_FEATURE(XCV_VIRTIO_F_VERSION_1));
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    assert_int_equal(evt_load(true), 0);
    assert_int_equal(evt_load(false), 0);

    /* Driver to device: three kicks, one doorbell; the device's queue 0 bit, no EVENT_AVAIL. */
    unsigned rings = drv_rings, vr = dev_rings;
    for (uint32_t i = 0; i < 3; i++)
        post_and_kick(i);
    assert_int_equal(drv_rings - rings, 1);
    assert_int_equal(evt_load(true), 1u);
    assert_int_equal(ring_queued(true), 0);
    assert_int_equal(xcv_channel_poll(&vch, 64), 1); /* one bit taken */
    assert_int_equal(kicks, 1);
    assert_int_equal(evt_load(true), 0);

    /* Device to driver: three used batches before the driver polls, one doorbell. */
    assert_int_equal(dev_rings - vr, 1);
    for (uint32_t i = 3; i < 5; i++) {
        post_and_kick(i); /* the device took the word: this rings again */
        assert_int_equal(xcv_channel_poll(&vch, 64), 1);
    }
    assert_int_equal(drv_rings - rings, 3);
    assert_int_equal(kicks, 3);
    assert_int_equal(dev_rings - vr, 1);
    assert_int_equal(evt_load(false), 1u);
    assert_int_equal(ring_queued(false), 0);
    assert_int_equal(xcv_channel_poll(&dch, 64), 1);
    assert_int_equal(used_calls, 1);
    assert_int_equal(evt_load(false), 0);
    assert_int_equal(reap_all(), 5);

    /* Taken words ring again on the next notification. */
    post_and_kick(5);
    assert_int_equal(drv_rings - rings, 4);
    assert_int_equal(xcv_channel_poll(&vch, 64), 1);
    assert_int_equal(dev_rings - vr, 2);
    assert_int_equal(xcv_channel_poll(&dch, 64), 1);
    assert_int_equal(used_calls, 2);
    assert_int_equal(reap_all(), 1);
    assert_int_equal(xcv_channel_broken(&vch), 0);
    assert_int_equal(xcv_channel_broken(&dch), 0);
}

/* A hostile peer may write any value into the inbound word: only bounded, spurious
 * notifications of queues that exist, never a crash or a broken channel. */
static void test_event_word_hostile_bits(void **state)
{
    (void)state;
    struct xcv_vdev_config dc = {.device_id = 4, .queues = vqueue2, .num_queues = 1, .ops = &vops};
    assert_int_equal(xcv_vdev_register(&vch, &vdev2, &dc), 1); /* registered, never opened */
    struct xcv_vdrv_config oc = open_cfg(ALL);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);

    /* Each bit alone: only bit 0 (device 0, queue 0) names a ready queue. Bit 32 names device
     * 1's queue 0, which is not ready; the other bits name queues or devices that do not
     * exist. Every bit counts as one notification taken. */
    for (unsigned b = 0; b < 64u; b++) {
        kicks = 0;
        used_calls = 0;
        evt_store(true, (uint64_t)1u << b);
        assert_int_equal(xcv_channel_poll(&vch, 8), 1);
        assert_int_equal(kicks, b == 0u ? 1u : 0u);
        assert_int_equal(evt_load(true), 0);
        evt_store(false, (uint64_t)1u << b);
        assert_int_equal(xcv_channel_poll(&dch, 8), 1);
        assert_int_equal(used_calls, b == 0u ? 1u : 0u);
        assert_int_equal(evt_load(false), 0);
    }
    /* Every bit, poll after poll: one callback per existing queue per poll, nothing more. */
    kicks = 0;
    used_calls = 0;
    for (unsigned i = 0; i < 1000u; i++) {
        evt_store(true, UINT64_MAX);
        assert_int_equal(xcv_channel_poll(&vch, 8), 64);
        evt_store(false, UINT64_MAX);
        assert_int_equal(xcv_channel_poll(&dch, 8), 64);
    }
    assert_int_equal(kicks, 1000);
    assert_int_equal(used_calls, 1000);
    assert_int_equal(xcv_channel_broken(&vch), 0);
    assert_int_equal(xcv_channel_broken(&dch), 0);

    /* A device side that never takes its word: the driver rings no more (the doorbell of the
     * first bit is the peer's to take) and its kicks still succeed. */
    evt_store(true, (uint64_t)1u << 40);
    unsigned rings = drv_rings;
    post_and_kick(0);
    assert_int_equal(drv_rings, rings);
    assert_int_equal(evt_load(true), ((uint64_t)1u << 40) | 1u);
    /* Once it takes the word, the spurious bit is ignored and the real one served. */
    kicks = 0;
    assert_int_equal(xcv_channel_poll(&vch, 8), 2);
    assert_int_equal(kicks, 1);
    assert_true(xcv_channel_poll(&dch, 8) >= 0);
    assert_int_equal(reap_all(), 1);
    for (uint32_t i = 0; i < 20; i++)
        assert_int_equal(roundtrip(i), 16);
}

static int setup_noncoherent(void **state)
{
    setup(state);
    /* Both sides again, on ports with cache maintenance. */
    noncoherent = true;
    memset(win, 0, sizeof(win));
    assert_int_equal(device_up(), 0);
    assert_int_equal(driver_attach(200000000u), XCV_OK);
    return 0;
}

/* Non-coherent ports keep EVENT_AVAIL / EVENT_USED messages and never touch the words. */
static void test_noncoherent_uses_messages(void **state)
{
    (void)state;
    struct xcv_vdrv_config oc = open_cfg(ALL);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    unsigned rings = drv_rings, vr = dev_rings;
    post_and_kick(0);
    assert_int_equal(drv_rings - rings, 1);
    assert_int_equal(ring_queued(true), 1); /* EVENT_AVAIL */
    assert_int_equal(evt_load(true), 0);
    assert_int_equal(xcv_channel_poll(&vch, 64), 1);
    assert_int_equal(kicks, 1);
    assert_int_equal(dev_rings - vr, 1);
    assert_int_equal(ring_queued(false), 1); /* EVENT_USED */
    assert_int_equal(evt_load(false), 0);
    assert_int_equal(xcv_channel_poll(&dch, 64), 1);
    assert_int_equal(used_calls, 1);
    assert_int_equal(reap_all(), 1);
    /* Bits in the words are not looked at. */
    evt_store(true, 1u);
    evt_store(false, 1u);
    assert_int_equal(xcv_channel_poll(&vch, 64), 0);
    assert_int_equal(xcv_channel_poll(&dch, 64), 0);
    assert_int_equal(kicks, 1);
    assert_int_equal(used_calls, 1);
    assert_int_equal(evt_load(true), 1u);
    assert_true(cache_ops > 0u);
    for (uint32_t i = 0; i < 20; i++)
        assert_int_equal(roundtrip(i), 16);
}

/* Used notifications that arrive while the driver waits for a response are kept as pending
 * and taken out of the word, so the next one rings again. */
static void test_event_word_during_request(void **state)
{
    (void)state;
    struct xcv_vdrv_config oc = open_cfg(ALL);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    used_calls = 0;
    evt_store(false, 1u); /* as the device's used notification */
    assert_int_equal(xcv_channel_ping(&dch, 9), XCV_OK);
    assert_int_equal(evt_load(false), 0);
    assert_int_equal(used_calls, 0);
    assert_int_equal(xcv_channel_poll(&dch, 64), 0);
    assert_int_equal(used_calls, 1);
}

/* A restarted side empties both words, as it empties both rings: notifications of the old
 * session are dropped. */
static void test_event_word_cleared_on_restart(void **state)
{
    (void)state;
    struct xcv_vdrv_config oc = open_cfg(ALL);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    evt_store(true, UINT64_MAX);
    evt_store(false, UINT64_MAX);
    memset(&vdev, 0, sizeof(vdev));
    assert_int_equal(device_up(), 0); /* same layout: a restart */
    assert_int_equal(evt_load(true), 0);
    assert_int_equal(evt_load(false), 0);
    /* Bits that arrive before the survivor sees the restart are stale too. */
    evt_store(false, UINT64_MAX);
    assert_int_equal(xcv_channel_poll(&dch, 64), XCV_EPEERRESET);
    assert_int_equal(evt_load(false), 0);
    assert_int_equal(xcv_channel_poll(&dch, 64), 0);
    assert_int_equal(used_calls, 0);
    evt_store(true, UINT64_MAX);
    evt_store(false, UINT64_MAX);
    memset(&drv, 0, sizeof(drv));
    assert_int_equal(driver_attach(200000000u), XCV_OK);
    assert_int_equal(evt_load(true), 0);
    assert_int_equal(evt_load(false), 0);
    evt_store(true, UINT64_MAX);
    kicks = 0;
    assert_int_equal(xcv_channel_poll(&vch, 64), XCV_EPEERRESET);
    assert_int_equal(evt_load(true), 0);
    assert_int_equal(xcv_channel_poll(&vch, 64), 0);
    assert_int_equal(kicks, 0);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    for (uint32_t i = 0; i < 20; i++)
        assert_int_equal(roundtrip(i), 16);
}

/* ---- timeouts ---- */

static void test_timeout(void **state)
{
    (void)state;
    device_alive = false;          /* the device side never polls */
    const uint64_t to = 50000000u; /* 50 ms */
    assert_int_equal(driver_attach(to), XCV_OK);
    uint64_t t0 = now_ns(NULL);
    assert_int_equal(xcv_channel_ping(&dch, 1), XCV_ETIMEDOUT);
    uint64_t el = now_ns(NULL) - t0;
    assert_true(el >= to);
    assert_true(el < to + 100000000u); /* + 100 ms slack */
    t0 = now_ns(NULL);
    struct xcv_vdrv_config oc = open_cfg(ALL);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_ETIMEDOUT);
    el = now_ns(NULL) - t0;
    assert_true(el >= to && el < to + 100000000u);
    /* a timeout is not a protocol error: the channel works once the device answers */
    device_alive = true;
    assert_int_equal(xcv_channel_ping(&dch, 2), XCV_OK);
    assert_true(dch.stale_responses <= 2u);
    assert_int_equal(xcv_channel_broken(&dch), 0);
}

/* ---- restarts ---- */

static void test_device_restart(void **state)
{
    (void)state;
    struct xcv_vdrv_config oc = open_cfg(ALL);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    struct xcv_vq_driver *q = xcv_vdrv_queue(&drv, 0);
    const struct xcv_window *pool = xcv_channel_pool_area(&dch);
    /* 8 in flight: 3 used by the device (not reaped), 5 never seen */
    for (uint32_t i = 0; i < 8; i++) {
        struct xcv_sg sg[2] = {{pool->bus_base + 64u * i, 16},
                               {pool->bus_base + 4096 + 64u * i, 16}};
        assert_int_equal(xcv_vq_driver_add(q, sg, 1, 1, (void *)(uintptr_t)(0x100u + i)), 0);
        if (i == 2)
            assert_true(xcv_vq_driver_publish(q) >= 0);
    }
    struct xcv_iov iov[4];
    struct xcv_chain ch = {.iov = iov, .cap = 4};
    assert_int_equal(xcv_vq_device_process(xcv_vdev_queue(&vdev, 0), 64, &ch, echo_fn, NULL), 3);
    assert_true(xcv_vq_driver_publish(q) >= 0);
    /* the device compartment restarts */
    memset(&vdev, 0, sizeof(vdev));
    assert_int_equal(device_up(), 0);
    assert_int_equal(xcv_channel_poll(&dch, 64), XCV_EPEERRESET);
    assert_int_equal(xcv_channel_poll(&dch, 64), 0); /* once */
    assert_int_equal(cancels, 8);
    assert_int_equal(cancel_peer, 8);
    bool seen[8] = {false};
    for (unsigned i = 0; i < 8; i++) {
        uintptr_t t = (uintptr_t)cancelled_tokens[i] - 0x100u;
        assert_true(t < 8u);
        assert_false(seen[t]);
        seen[t] = true;
    }
    assert_null(xcv_vdrv_queue(&drv, 0));
    /* reopen and use */
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(roundtrip(i), 16);
    assert_int_equal(cancels, 8);
}

static void test_driver_restart(void **state)
{
    (void)state;
    struct xcv_vdrv_config oc = open_cfg(ALL);
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    assert_int_equal(roundtrip(7), 16);
    unsigned r0 = resets;
    assert_non_null(xcv_vdev_queue(&vdev, 0));
    /* the driver compartment restarts */
    memset(&drv, 0, sizeof(drv));
    assert_int_equal(driver_attach(200000000u), XCV_OK);
    assert_int_equal(xcv_channel_poll(&vch, 64), XCV_EPEERRESET);
    assert_int_equal(resets, r0 + 1u);
    assert_int_equal(xcv_vdev_status(&vdev), 0);
    assert_null(xcv_vdev_queue(&vdev, 0));
    assert_int_equal(xcv_channel_poll(&vch, 64), 0); /* once */
    assert_int_equal(xcv_vdrv_open(&dch, &drv, &oc), XCV_OK);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(roundtrip(i), 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_sequence, setup),
        cmocka_unit_test_setup(test_bus_messages, setup),
        cmocka_unit_test_setup(test_response_survives_full_ring, setup),
        cmocka_unit_test_setup(test_config, setup),
        cmocka_unit_test_setup(test_features_refused, setup),
        cmocka_unit_test_setup(test_set_vqueue_outside_areas, setup),
        cmocka_unit_test_setup(test_hostile_bad_size, setup),
        cmocka_unit_test_setup(test_hostile_short_size, setup),
        cmocka_unit_test_setup(test_hostile_unknown_id, setup),
        cmocka_unit_test_setup(test_hostile_response_to_device, setup),
        cmocka_unit_test_setup(test_hostile_event_used_to_device, setup),
        cmocka_unit_test_setup(test_hostile_request_to_driver, setup),
        cmocka_unit_test_setup(test_hostile_bus_request_to_driver, setup),
        cmocka_unit_test_setup(test_hostile_prod_jump, setup),
        cmocka_unit_test_setup(test_hostile_prod_jump_driver, setup),
        cmocka_unit_test_setup(test_hostile_error_code, setup),
        cmocka_unit_test_setup(test_hostile_layouts, setup),
        cmocka_unit_test_setup(test_timeout, setup),
        cmocka_unit_test_setup(test_device_restart, setup),
        cmocka_unit_test_setup(test_driver_restart, setup),
        cmocka_unit_test_setup(test_event_word_coalesces, setup),
        cmocka_unit_test_setup(test_event_word_hostile_bits, setup),
        cmocka_unit_test_setup(test_noncoherent_uses_messages, setup_noncoherent),
        cmocka_unit_test_setup(test_event_word_during_request, setup),
        cmocka_unit_test_setup(test_event_word_cleared_on_restart, setup),
    };
    return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
