/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The net and console drivers opened with *_open_on() on a simulated virtio-mmio device
 * (through the ::xcv_mmio_regs_ops accessors), end to end. The register block's device side is
 * the library's own device role: the virtio-net and virtio-console models, detached (registered
 * without a channel) and driven through xcv_vdev_host_*() by the register simulation: a feature
 * write with FEATURES_OK negotiates, QueueReady (modern) or QueuePFN (legacy) starts a queue
 * over the rings the driver placed, QueueNotify kicks, Status 0 resets, config space is the
 * model's, and the model's notifications set InterruptStatus. Checked: the negotiated features
 * on both sides, frames and bytes in both directions byte for byte, config changes through the
 * interrupt, every pool buffer back after a reset, a reopen, and a legacy (version 1) device
 * refused by the net driver with XCV_ENOTSUP but driven by the console driver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xcvirtio/dev_console.h"
#include "xcvirtio/dev_net.h"
#include "xcvirtio/error.h"
#include "xcvirtio/mmio.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/vdev.h"
#include "xcvirtio/virtio.h"

#define NQ 2u /* the simulated device's queues */
#define MMIO_SIM_QUEUES NQ
#include "mmio_sim.h"

/* The drivers' pool, seen by the device at MMIO_SIM_POOL_BUS. */
#define POOL_BUF 2048u
#define POOL_N 64u

static _Alignas(64) uint8_t pool_mem[POOL_N * POOL_BUF];
static uint32_t pool_free[POOL_N];
static struct xcv_pool pool;

/* ---- the simulated device: a device model behind the register file of mmio_sim.h ---- */

struct sim {
    struct mmio_sim regs;
    struct xcv_vdev *dev; /* the device model behind the registers */
    bool negotiated;
    unsigned notifies[NQ];
    unsigned resets;
    int start_err; /* the last queue start the model refused */
    int kick_err;  /* the last kick the model reported an error for */
    /* The access width each config byte's field takes (virtio-mmio 4.2.2.2), 0: not a
     * field's first byte; every config read is checked against it. */
    const uint8_t *cfg_width;
    uint32_t cfg_width_len;
    unsigned cfg_reads;
};

/* virtio-net: mac[6] (bytes), status, max_virtqueue_pairs, mtu (16-bit). */
static const uint8_t net_cfg_width[12] = {1, 1, 1, 1, 1, 1, 2, 0, 2, 0, 2, 0};
/* virtio-console: cols, rows (16-bit), max_nr_ports, emerg_wr (32-bit). */
static const uint8_t con_cfg_width[12] = {2, 0, 2, 0, 4, 0, 0, 0, 4, 0, 0, 0};

static struct sim S;

static const struct xcv_window dev_windows[2] = {
    {.local = mmio_sim_dma, .bus_base = MMIO_SIM_DMA_BUS, .size = MMIO_SIM_DMA_BYTES},
    {.local = pool_mem, .bus_base = MMIO_SIM_POOL_BUS, .size = sizeof(pool_mem)},
};
static const struct xcv_memmap dev_mem = {.windows = dev_windows, .count = 2};

/* What the device offers in DeviceFeatures: the model's features without the ring features a
 * host transport does not take; a legacy block has one feature word, so no VERSION_1. */
static uint64_t sim_offered(void)
{
    uint64_t f = xcv_vdev_device_features(S.dev) & ~(uint64_t)XCV_VDEV_HOST_UNSUPPORTED;
    if (S.regs.version == 1u)
        f &= UINT64_C(0xffffffff);
    return f;
}

static void sim_reset_device(void)
{
    xcv_vdev_host_reset(S.dev);
    S.regs.status = 0;
    S.regs.isr = 0;
    S.negotiated = false;
    S.regs.drv_features = 0;
    for (unsigned i = 0; i < NQ; i++)
        S.regs.q[i] = (struct mmio_sim_queue){0};
    S.resets++;
}

static void sim_start(uint16_t qi, uint64_t desc, uint64_t avail, uint64_t used)
{
    struct mmio_sim_queue *q = &S.regs.q[qi];
    struct xcv_vdev_host_queue hq = {
        .mem = &dev_mem,
        .num = (uint16_t)q->num,
        .desc_bus = desc,
        .avail_bus = avail,
        .used_bus = used,
    };
    int r = xcv_vdev_host_start_queue(S.dev, qi, &hq);
    if (r != XCV_OK)
        S.start_err = r;
}

/* Legacy: one contiguous ring at QueuePFN * GuestPageSize, the used ring at QueueAlign. The
 * model behind a legacy front end is a virtio 1.x model: VERSION_1 is negotiated with it here
 * (the rings and the console's bytes are the same either way). */
static void sim_start_legacy(uint16_t qi)
{
    if (!S.negotiated) {
        uint64_t f = S.regs.drv_features | XCV_FEATURE(XCV_VIRTIO_F_VERSION_1);
        assert_int_equal(xcv_vdev_host_set_features(S.dev, f), XCV_OK);
        S.negotiated = true;
    }
    uint64_t desc, avail, used;
    mmio_sim_legacy_rings(&S.regs, &S.regs.q[qi], &desc, &avail, &used);
    sim_start(qi, desc, avail, used);
}

static uint32_t sim_read(void *ctx, uint32_t off, unsigned width)
{
    (void)ctx;
    if (off >= XCV_MMIO_CONFIG) {
        uint32_t o = off - XCV_MMIO_CONFIG;
        assert_int_equal(o % width, 0); /* naturally aligned */
        if (o < S.cfg_width_len)
            assert_int_equal(width, S.cfg_width[o]); /* one access per field, at its width */
        S.cfg_reads++;
        uint8_t b[4] = {0};
        if (xcv_vdev_host_read_config(S.dev, o, b, width) != XCV_OK)
            return 0; /* beyond the model's config space */
        return mmio_sim_config_load(b, width);
    }
    assert_int_equal(width, 4);
    switch (off) {
    case XCV_MMIO_MAGIC_VALUE:
        return XCV_MMIO_MAGIC;
    case XCV_MMIO_DEVICE_ID:
        return xcv_vdev_device_id(S.dev);
    case XCV_MMIO_VENDOR_ID:
        return 0x554d4551u;
    case XCV_MMIO_DEVICE_FEATURES:
        return mmio_sim_device_features(&S.regs, sim_offered());
    case XCV_MMIO_QUEUE_NUM_MAX:
        return S.regs.queue_sel < NQ ? xcv_vdev_queue_max_size(S.dev, (uint16_t)S.regs.queue_sel)
                                     : 0u;
    case XCV_MMIO_STATUS:
        return S.regs.status | (xcv_vdev_status(S.dev) & XCV_VIRTIO_STATUS_NEEDS_RESET);
    case XCV_MMIO_CONFIG_GENERATION:
        assert_int_equal(S.regs.version, 2);
        return S.regs.gen;
    default:
        return mmio_sim_read_register(&S.regs, off);
    }
}

static void sim_write(void *ctx, uint32_t off, uint32_t v, unsigned width)
{
    (void)ctx;
    struct mmio_sim_queue *q = mmio_sim_selected_queue(&S.regs);
    if (off >= XCV_MMIO_CONFIG) {
        uint8_t b[4];
        mmio_sim_config_store(b, v, width);
        (void)xcv_vdev_host_write_config(S.dev, off - XCV_MMIO_CONFIG, b, width);
        return; /* a write to a read-only field changes nothing */
    }
    assert_int_equal(width, 4);
    uint16_t qi = (uint16_t)S.regs.queue_sel;
    switch (off) {
    case XCV_MMIO_QUEUE_PFN:
        assert_int_equal(S.regs.version, 1);
        assert_true(S.regs.queue_sel < NQ);
        q->pfn = v;
        if (v != 0u)
            sim_start_legacy(qi);
        break;
    case XCV_MMIO_QUEUE_READY:
        assert_int_equal(S.regs.version, 2);
        assert_true(S.regs.queue_sel < NQ);
        if (v == 1u && q->ready == 0u) {
            sim_start(qi, q->desc, q->avail, q->used);
            q->ready = xcv_vdev_queue(S.dev, qi) != NULL ? 1u : 0u;
        } else if (v == 0u && q->ready != 0u) {
            (void)xcv_vdev_host_stop_queue(S.dev, qi, NULL);
            q->ready = 0;
        }
        break;
    case XCV_MMIO_QUEUE_NOTIFY: {
        assert_true(v < NQ);
        S.notifies[v]++;
        int r = xcv_vdev_host_kick(S.dev, (uint16_t)v);
        if (r != XCV_OK)
            S.kick_err = r;
        break;
    }
    case XCV_MMIO_STATUS:
        if (v == 0u) {
            sim_reset_device();
            break;
        }
        /* FEATURES_OK: the model accepts the features written, or the bit does not stick. */
        if ((v & XCV_VIRTIO_STATUS_FEATURES_OK) && !S.negotiated) {
            assert_int_equal(S.regs.version, 2);
            if (xcv_vdev_host_set_features(S.dev, S.regs.drv_features) == XCV_OK)
                S.negotiated = true;
            else
                v &= ~(uint32_t)XCV_VIRTIO_STATUS_FEATURES_OK;
        }
        S.regs.status = v;
        break;
    default:
        mmio_sim_write_register(&S.regs, off, v);
    }
}

static const struct xcv_mmio_regs_ops sim_regs = {.read = sim_read, .write = sim_write};

/* ---- the device's port: its doorbells raise InterruptStatus ---- */

static int dev_notify(void *ctx, uint32_t db)
{
    (void)ctx;
    if (db == XCV_VDEV_DOORBELL_CONFIG) {
        S.regs.gen++;
        S.regs.isr |= XCV_MMIO_INT_CONFIG;
    } else {
        assert_true(db < NQ);
        S.regs.isr |= XCV_MMIO_INT_VRING;
    }
    return XCV_OK;
}

static const struct xcv_port_ops dev_ops = {
    .notify = dev_notify, .now_ns = mmio_sim_now_ns, .log = mmio_sim_log};
static const struct xcv_port dev_port = {.ops = &dev_ops, .ctx = NULL};

/* ---- fixture ---- */

static struct xcv_mmio M;

static void sim_init(uint32_t version, struct xcv_vdev *dev)
{
    memset(&S, 0, sizeof(S));
    S.regs.version = version;
    S.dev = dev;
    assert_int_equal(xcv_vdev_host_attach(dev, &dev_port), XCV_OK);
    memset(mmio_sim_dma, 0, sizeof(mmio_sim_dma));
    memset(pool_mem, 0, sizeof(pool_mem));
    struct xcv_window w;
    assert_int_equal(xcv_window_init(&w, pool_mem, MMIO_SIM_POOL_BUS, sizeof(pool_mem)), XCV_OK);
    assert_int_equal(xcv_pool_init(&pool, &w, POOL_BUF, pool_free, POOL_N), XCV_OK);
    mmio_sim_log_calls = 0;
}

static void transport(struct xcv_vdrv_transport *t)
{
    struct xcv_mmio_config c = mmio_sim_transport_config(&sim_regs);
    assert_int_equal(xcv_mmio_probe(&M, &c), XCV_OK);
    assert_int_equal(xcv_mmio_version(&M), S.regs.version);
    xcv_mmio_transport(&M, t);
}

static void fill(uint8_t *p, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31u + seed * 7u + (i >> 8));
}

/* ---- virtio-net ---- */

#define FRAME_MAX 6000u
#define NET_TXQ_SIZE 64u

static struct xcv_net_dev ndev;
static struct xcv_net_drv ndrv;

/* The backend: every transmitted frame is copied out of the window and kept, in order. */
static struct {
    uint8_t data[32][FRAME_MAX];
    uint32_t len[32];
    struct xcv_net_hdr hdr[32];
    unsigned n;
    unsigned rx_ready;
} cap;

static int cap_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                        unsigned n, uint32_t len)
{
    (void)ctx;
    assert_true(cap.n < 32u);
    assert_true(len <= FRAME_MAX);
    uint32_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        memcpy(cap.data[cap.n] + off, iov[i].base, iov[i].len);
        off += iov[i].len;
    }
    assert_int_equal(off, len);
    cap.len[cap.n] = len;
    cap.hdr[cap.n] = *hdr;
    cap.n++;
    return 0;
}

static void cap_rx_ready(void *ctx)
{
    (void)ctx;
    cap.rx_ready++;
}

static const struct xcv_net_backend_ops cap_ops = {.transmit = cap_transmit,
                                                   .rx_ready = cap_rx_ready};

static const uint8_t the_mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};

static void net_model(bool mrg)
{
    memset(&ndev, 0, sizeof(ndev));
    memset(&cap, 0, sizeof(cap));
    struct xcv_net_dev_config c = {
        .ops = &cap_ops,
        .mtu = mrg ? 0u : 1500u,
        .max_frame = mrg ? FRAME_MAX : 0u,
        .mrg_rxbuf = mrg,
        .ring_features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                         XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC) |
                         XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER),
    };
    memcpy(c.mac, the_mac, sizeof(the_mac));
    assert_int_equal(xcv_net_dev_init(&ndev, NULL, &c), 0);
}

static int net_open(const struct xcv_vdrv_transport *t)
{
    struct xcv_net_drv_config c = {.pool = &pool, .queue_size = NET_TXQ_SIZE, .rx_buffers = 16};
    return xcv_net_drv_open_on(&ndrv, t, &c);
}

/* Take whatever interrupt is pending, as an event loop does after a wake-up. */
static void drain(struct xcv_vdrv *d)
{
    assert_true(xcv_vdrv_poll(d, 16) >= 0);
    assert_int_equal(S.regs.isr, 0);
}

/* Take the device's interrupt, which must be exactly @p expect: InterruptStatus read and
 * acknowledged. */
static void take_interrupt(struct xcv_vdrv *d, uint32_t expect)
{
    assert_int_equal(S.regs.isr, expect);
    unsigned acks = S.regs.acks;
    assert_int_equal(xcv_vdrv_poll(d, 16), 1);
    assert_int_equal(S.regs.isr, 0);
    assert_int_equal(S.regs.acks, acks + 1u);
}

/* Before sleeping, an event loop asks for a used notification on @p q (with EVENT_IDX the
 * driver's used_event) and finds nothing pending. */
static void arm(struct xcv_vdrv *d, uint16_t q)
{
    drain(d);
    assert_int_equal(xcv_vq_driver_enable_notify(xcv_vdrv_queue(d, q)), 0);
}

/* Send one frame with a header whose fields must come through unchanged. */
static void send_one(uint32_t len, uint32_t seed)
{
    static uint8_t f[FRAME_MAX];
    fill(f, len, seed);
    struct xcv_net_hdr h = {.flags = XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM,
                            .hdr_len = 54,
                            .csum_start = 34,
                            .csum_offset = (uint16_t)(16u + seed % 3u),
                            .num_buffers = 7}; /* the driver sends 0 */
    unsigned before = cap.n;
    assert_int_equal(xcv_net_drv_send(&ndrv, &h, f, len), XCV_OK);
    assert_int_equal(cap.n, before + 1u); /* the kick ran the model at once */
    assert_int_equal(cap.len[before], len);
    assert_memory_equal(cap.data[before], f, len);
    assert_int_equal(cap.hdr[before].flags, XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(cap.hdr[before].hdr_len, 54);
    assert_int_equal(cap.hdr[before].csum_start, 34);
    assert_int_equal(cap.hdr[before].csum_offset, 16u + seed % 3u);
    assert_int_equal(cap.hdr[before].num_buffers, 0);
}

/* The model delivers one frame; it comes out of the driver intact. */
static void deliver_one(uint32_t len, uint32_t seed)
{
    static uint8_t f[FRAME_MAX];
    static uint8_t got[8192];
    fill(f, len, seed);
    struct xcv_net_hdr h = {.flags = XCV_VIRTIO_NET_HDR_F_DATA_VALID, .gso_size = 1448};
    arm(&ndrv.vdrv, XCV_NET_RXQ);
    assert_int_equal(xcv_net_dev_deliver(&ndev, &h, f, len), XCV_OK);
    take_interrupt(&ndrv.vdrv, XCV_MMIO_INT_VRING);
    struct xcv_net_hdr rh;
    uint32_t rl = 0;
    assert_int_equal(xcv_net_drv_receive(&ndrv, &rh, got, sizeof(got), &rl), XCV_OK);
    assert_int_equal(rl, len);
    assert_memory_equal(got, f, len);
    assert_int_equal(rh.flags, XCV_VIRTIO_NET_HDR_F_DATA_VALID);
    assert_int_equal(rh.gso_size, 1448);
    assert_true(rh.num_buffers >= 1u);
}

static void test_net_modern(void **state)
{
    (void)state;
    net_model(false);
    sim_init(2, xcv_net_dev_vdev(&ndev));
    S.cfg_width = net_cfg_width;
    S.cfg_width_len = sizeof(net_cfg_width);
    struct xcv_vdrv_transport t;
    transport(&t);
    assert_int_equal(net_open(&t), XCV_OK);

    /* Negotiated: what both sides know and the transport takes (no packed or in-order ring on
     * virtio-mmio); the driver's view, the registers and the model agree. */
    uint64_t want = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_NET_F_MAC) |
                    XCV_FEATURE(XCV_VIRTIO_NET_F_STATUS) | XCV_FEATURE(XCV_VIRTIO_NET_F_MTU) |
                    XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    assert_true(xcv_net_drv_features(&ndrv) == want);
    assert_true(S.regs.drv_features == want);
    assert_true(xcv_vdev_features(S.dev) == want);
    assert_int_equal(S.regs.status, 15); /* ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK */
    assert_true(xcv_vdev_status(S.dev) & XCV_VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(S.regs.q[XCV_NET_RXQ].num, NET_TXQ_SIZE);
    assert_int_equal(S.regs.q[XCV_NET_TXQ].num, NET_TXQ_SIZE);
    assert_int_equal(S.start_err, 0);
    assert_memory_equal(xcv_net_drv_mac(&ndrv), the_mac, 6);
    assert_int_equal(xcv_net_drv_mtu(&ndrv), 1500);
    assert_int_equal(xcv_net_drv_link_up(&ndrv), 1);
    /* The receive buffers were posted and the receiveq kicked. */
    assert_int_equal(S.notifies[XCV_NET_RXQ], 1);
    assert_int_equal(cap.rx_ready, 1);
    assert_int_equal(xcv_pool_available(&pool), POOL_N - 16u);

    /* Driver to device: frames of every size up to MTU + 14, then a burst. */
    static const uint32_t sizes[] = {60, 1, 0, 1514, 777};
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        send_one(sizes[i], i);
    static uint8_t bf[8][200];
    struct xcv_net_frame fr[8];
    for (unsigned i = 0; i < 8u; i++) {
        fill(bf[i], 100u + i, 40u + i);
        fr[i] = (struct xcv_net_frame){.data = bf[i], .len = 100u + i};
    }
    unsigned kicks = S.notifies[XCV_NET_TXQ];
    cap.n = 0;
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, fr, 8), 8);
    assert_int_equal(S.notifies[XCV_NET_TXQ], kicks + 1u); /* one QueueNotify for the burst */
    assert_int_equal(cap.n, 8);
    for (unsigned i = 0; i < 8u; i++) {
        assert_int_equal(cap.len[i], 100u + i);
        assert_memory_equal(cap.data[i], bf[i], 100u + i);
    }
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_dropped, 0);
    /* Too long for the MTU: refused, nothing posted. */
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, bf[0], 1515), XCV_EINVAL);

    /* More frames than the ring holds: transmit buffers are reclaimed as they go. */
    for (unsigned i = 0; i < 3u * NET_TXQ_SIZE; i++) {
        cap.n = 0;
        send_one(64u + i % 200u, i);
    }

    /* Device to driver: a frame per interrupt, many more than the buffers posted (each is
     * reposted), then a burst taken in one call. */
    for (unsigned i = 0; i < 3u * NET_TXQ_SIZE; i++)
        deliver_one(i % 3u == 0u ? 1514u : 60u + i, i);
    struct xcv_net_frame df[5];
    static uint8_t dbytes[5][300];
    for (unsigned i = 0; i < 5u; i++) {
        fill(dbytes[i], 200u + i, 90u + i);
        df[i] = (struct xcv_net_frame){.data = dbytes[i], .len = 200u + i};
    }
    arm(&ndrv.vdrv, XCV_NET_RXQ);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, df, 5), 5);
    take_interrupt(&ndrv.vdrv, XCV_MMIO_INT_VRING);
    static uint8_t rb[5][400];
    struct xcv_net_rxbuf rx[5];
    for (unsigned i = 0; i < 5u; i++)
        rx[i] = (struct xcv_net_rxbuf){.buf = rb[i], .cap = sizeof(rb[i])};
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, rx, 5), 5);
    for (unsigned i = 0; i < 5u; i++) {
        assert_int_equal(rx[i].len, 200u + i);
        assert_memory_equal(rb[i], dbytes[i], 200u + i);
    }
    uint32_t len;
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, rb[0], sizeof(rb[0]), &len), XCV_EAGAIN);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 0);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 0);
    assert_int_equal(S.kick_err, 0);

    /* Link down: a config interrupt, the status read through config space. */
    unsigned gen = S.regs.gen;
    drain(&ndrv.vdrv);
    assert_int_equal(xcv_net_dev_set_link(&ndev, false), XCV_OK);
    assert_int_equal(S.regs.gen, gen + 1u);
    take_interrupt(&ndrv.vdrv, XCV_MMIO_INT_CONFIG);
    assert_int_equal(xcv_net_drv_link_up(&ndrv), 0);
    assert_int_equal(xcv_net_dev_set_link(&ndev, true), XCV_OK);
    take_interrupt(&ndrv.vdrv, XCV_MMIO_INT_CONFIG);
    assert_int_equal(xcv_net_drv_link_up(&ndrv), 1);

    /* Reset with receive buffers posted, frames delivered but not taken, and transmit buffers
     * used but not reclaimed: every pool buffer comes back, the device is reset. */
    send_one(100, 1);
    send_one(101, 2);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, bf[0], 100), XCV_OK);
    assert_true(xcv_pool_available(&pool) < POOL_N - 16u);
    uint64_t rx_desc = S.regs.q[XCV_NET_RXQ].desc;
    unsigned resets = S.resets;
    assert_int_equal(xcv_net_drv_reset(&ndrv), XCV_OK);
    assert_int_equal(xcv_pool_available(&pool), POOL_N);
    assert_int_equal(S.resets, resets + 1u);
    assert_int_equal(S.regs.status, 0);
    assert_int_equal(xcv_vdev_status(S.dev), 0);
    assert_null(xcv_vdev_queue(S.dev, XCV_NET_RXQ));
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, bf[0], 60), XCV_ENODEV);
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, rb[0], sizeof(rb[0]), &len), XCV_ENODEV);

    /* The same object opens again (rings in the same place) and traffic flows. */
    assert_int_equal(net_open(&t), XCV_OK);
    assert_true(S.regs.q[XCV_NET_RXQ].desc == rx_desc);
    assert_true(xcv_net_drv_features(&ndrv) == want);
    cap.n = 0;
    send_one(333, 3);
    deliver_one(444, 4);
    assert_int_equal(xcv_net_drv_reset(&ndrv), XCV_OK);
    assert_int_equal(xcv_pool_available(&pool), POOL_N);
    assert_int_equal(xcv_mmio_broken(&M), 0);
    assert_int_equal(mmio_sim_log_calls, 0);
}

/* MRG_RXBUF over virtio-mmio: a frame larger than a pool buffer spans several receive buffers
 * (num_buffers in the 12-byte header) and comes out whole. */
static void test_net_mrg(void **state)
{
    (void)state;
    net_model(true);
    sim_init(2, xcv_net_dev_vdev(&ndev));
    S.cfg_width = net_cfg_width;
    S.cfg_width_len = sizeof(net_cfg_width);
    struct xcv_vdrv_transport t;
    transport(&t);
    assert_int_equal(net_open(&t), XCV_OK);
    assert_true(xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF));
    assert_false(xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_NET_F_MTU));
    deliver_one(FRAME_MAX, 5);                          /* 3 buffers of 2048 bytes */
    deliver_one(POOL_BUF - XCV_VIRTIO_NET_HDR_SIZE, 6); /* exactly one */
    deliver_one(POOL_BUF - XCV_VIRTIO_NET_HDR_SIZE + 1u, 7);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_frames, 3);
    send_one(POOL_BUF - XCV_VIRTIO_NET_HDR_SIZE, 8); /* the longest a transmit buffer takes */
    assert_int_equal(xcv_net_drv_reset(&ndrv), XCV_OK);
    assert_int_equal(xcv_pool_available(&pool), POOL_N);
}

static void raw_cancel(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err)
{
    (void)ctx;
    (void)d;
    (void)q;
    (void)token;
    (void)err;
    fail_msg("nothing was posted");
}

static const struct xcv_vdrv_ops raw_ops = {.cancel = raw_cancel};

/* A legacy device cannot offer VERSION_1: the net driver refuses it cleanly, and the transport
 * stays usable for another device object. */
static void test_net_legacy(void **state)
{
    (void)state;
    net_model(false);
    sim_init(1, xcv_net_dev_vdev(&ndev));
    S.cfg_width = net_cfg_width;
    S.cfg_width_len = sizeof(net_cfg_width);
    struct xcv_vdrv_transport t;
    transport(&t);
    memset(&ndrv, 0, sizeof(ndrv));
    assert_int_equal(net_open(&t), XCV_ENOTSUP);
    /* One feature word was accepted (no VERSION_1), then the device was reset: no buffer was
     * posted, none is missing, the queues are gone. */
    assert_int_equal(S.resets, 2); /* the one of the open, and the one of the refusal */
    assert_int_equal(S.regs.status, 0);
    assert_int_equal(xcv_vdev_status(S.dev), 0);
    assert_int_equal(xcv_pool_available(&pool), POOL_N);
    assert_int_equal(S.notifies[XCV_NET_RXQ], 0);
    assert_int_equal(cap.rx_ready, 0);
    assert_false(xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1));
    assert_null(xcv_vdrv_queue(&ndrv.vdrv, XCV_NET_RXQ));
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, pool_mem, 60), XCV_ENODEV);
    uint32_t len;
    uint8_t b[64];
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, b, sizeof(b), &len), XCV_ENODEV);
    assert_int_equal(xcv_net_drv_refill(&ndrv), XCV_ENODEV);
    assert_int_equal(xcv_mmio_broken(&M), 0);

    /* Refused again on a second try (same object), and the transport is free. */
    assert_int_equal(net_open(&t), XCV_ENOTSUP);
    assert_int_equal(xcv_pool_available(&pool), POOL_N);
    static struct xcv_vdrv raw;
    static struct xcv_vdrv_queue rq;
    static struct xcv_vq_drv_slot rs[16];
    rq = (struct xcv_vdrv_queue){.slots = rs, .size = 16};
    struct xcv_vdrv_config rc = {
        .device_id = XCV_VIRTIO_ID_NET,
        .features = XCV_FEATURE(XCV_VIRTIO_NET_F_MAC),
        .queues = &rq,
        .num_queues = 1,
        .ops = &raw_ops,
    };
    assert_int_equal(xcv_vdrv_open_on(&t, &raw, &rc), XCV_OK);
    assert_true(xcv_vdrv_features(&raw) == XCV_FEATURE(XCV_VIRTIO_NET_F_MAC));
    assert_int_equal(S.regs.status, 7); /* ACKNOWLEDGE, DRIVER, DRIVER_OK: no FEATURES_OK */
    assert_int_equal(xcv_vdrv_reset(&raw), XCV_OK);
}

/* ---- virtio-console ---- */

static struct xcv_console_dev cdev;
static struct xcv_console_drv cdrv;
static uint8_t con_out[16384];
static uint32_t con_out_len;
static unsigned con_rx_ready;

static int con_write(void *ctx, const uint8_t *buf, uint32_t len)
{
    (void)ctx;
    assert_true(len <= sizeof(con_out) - con_out_len);
    memcpy(con_out + con_out_len, buf, len);
    con_out_len += len;
    return 0;
}

static void con_ready(void *ctx)
{
    (void)ctx;
    con_rx_ready++;
}

static const struct xcv_console_backend_ops con_ops = {.write = con_write, .rx_ready = con_ready};

static void test_console(void **state)
{
    (void)state;
    for (uint32_t v = 1; v <= 2u; v++) {
        memset(&cdev, 0, sizeof(cdev));
        memset(&cdrv, 0, sizeof(cdrv));
        con_out_len = 0;
        con_rx_ready = 0;
        struct xcv_console_dev_config dc = {.ops = &con_ops, .cols = 80, .rows = 25};
        assert_int_equal(xcv_console_dev_init(&cdev, NULL, &dc), 0);
        sim_init(v, &cdev.vdev);
        S.cfg_width = con_cfg_width;
        S.cfg_width_len = sizeof(con_cfg_width);
        struct xcv_vdrv_transport t;
        transport(&t);
        struct xcv_console_drv_config cc = {.pool = &pool, .rx_buffers = 8};
        assert_int_equal(xcv_console_drv_open_on(&cdrv, &t, &cc), XCV_OK);

        uint64_t want = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                        XCV_FEATURE(XCV_VIRTIO_CONSOLE_F_SIZE) |
                        (v == 2u ? XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) : 0u);
        assert_true(xcv_vdrv_features(&cdrv.vdrv) == want);
        assert_true(S.regs.drv_features == want);
        assert_int_equal(S.regs.status, v == 2u ? 15 : 7);
        assert_int_equal(S.start_err, 0);
        assert_int_equal(con_rx_ready, 1); /* receive buffers posted, receiveq kicked */
        assert_int_equal(xcv_pool_available(&pool), POOL_N - 8u);
        uint16_t cols = 0;
        uint16_t rows = 0;
        assert_int_equal(xcv_console_drv_get_size(&cdrv, &cols, &rows), XCV_OK);
        assert_int_equal(cols, 80);
        assert_int_equal(rows, 25);

        /* Driver to device: a short line, then more than several pool buffers. */
        static const char hello[] = "hello over virtio-mmio\n";
        assert_int_equal(xcv_console_drv_write(&cdrv, hello, sizeof(hello) - 1u),
                         (int)sizeof(hello) - 1);
        assert_int_equal(con_out_len, sizeof(hello) - 1u);
        assert_memory_equal(con_out, hello, sizeof(hello) - 1u);
        static uint8_t big[5u * POOL_BUF + 123u];
        fill(big, sizeof(big), v);
        con_out_len = 0;
        assert_int_equal(xcv_console_drv_write(&cdrv, big, sizeof(big)), (int)sizeof(big));
        assert_int_equal(con_out_len, sizeof(big));
        assert_memory_equal(con_out, big, sizeof(big));
        assert_int_equal(xcv_console_dev_stats(&cdev)->tx_bytes, sizeof(hello) - 1u + sizeof(big));

        /* Device to driver: bytes fed into the posted buffers come out in order, read in
         * pieces smaller and larger than a buffer; emptied buffers are reposted. */
        for (unsigned round = 0; round < 4u; round++) {
            static uint8_t in[3u * POOL_BUF + 77u];
            static uint8_t got[sizeof(in)];
            fill(in, sizeof(in), 100u + round);
            arm(&cdrv.vdrv, XCV_CONSOLE_RXQ);
            assert_int_equal(xcv_console_dev_feed(&cdev, in, sizeof(in)), (int)sizeof(in));
            take_interrupt(&cdrv.vdrv, XCV_MMIO_INT_VRING);
            uint32_t done = 0;
            uint32_t piece = round == 0u ? 100u : 3000u;
            while (done < sizeof(in)) {
                uint32_t want_n = sizeof(in) - done < piece ? sizeof(in) - done : piece;
                int r = xcv_console_drv_read(&cdrv, got + done, want_n);
                assert_int_equal(r, (int)want_n);
                done += (uint32_t)r;
            }
            assert_memory_equal(got, in, sizeof(in));
            assert_int_equal(xcv_console_drv_read(&cdrv, got, sizeof(got)), 0);
        }

        /* A size change: a config interrupt, the new size read. */
        drain(&cdrv.vdrv);
        assert_int_equal(xcv_console_dev_set_size(&cdev, 132, 50), XCV_OK);
        take_interrupt(&cdrv.vdrv, XCV_MMIO_INT_CONFIG);
        assert_int_equal(xcv_console_drv_get_size(&cdrv, &cols, &rows), XCV_OK);
        assert_int_equal(cols, 132);
        assert_int_equal(rows, 50);

        /* Reset: the posted receive buffers and the used transmit buffers come back. */
        assert_int_equal(xcv_console_drv_write(&cdrv, hello, 5), 5);
        assert_int_equal(xcv_console_drv_reset(&cdrv), XCV_OK);
        assert_int_equal(xcv_pool_available(&pool), POOL_N);
        assert_int_equal(S.regs.status, 0);
        assert_int_equal(xcv_console_drv_write(&cdrv, hello, 5), XCV_ENODEV);
        assert_int_equal(S.kick_err, 0);
        assert_int_equal(xcv_mmio_broken(&M), 0);
        assert_int_equal(mmio_sim_log_calls, 0);
    }
}

/* Arguments: a NULL transport or object is refused before anything is touched. */
static void test_arguments(void **state)
{
    (void)state;
    net_model(false);
    sim_init(2, xcv_net_dev_vdev(&ndev));
    S.cfg_width = net_cfg_width;
    S.cfg_width_len = sizeof(net_cfg_width);
    struct xcv_vdrv_transport t;
    transport(&t);
    struct xcv_net_drv_config nc = {.pool = &pool};
    assert_int_equal(xcv_net_drv_open_on(&ndrv, NULL, &nc), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_open_on(NULL, &t, &nc), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_open_on(&ndrv, &t, NULL), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_open(&ndrv, NULL, &nc), XCV_EINVAL);
    struct xcv_vdrv_transport empty = {0};
    assert_int_equal(xcv_net_drv_open_on(&ndrv, &empty, &nc), XCV_EINVAL);
    struct xcv_console_drv_config cc = {.pool = &pool};
    assert_int_equal(xcv_console_drv_open_on(&cdrv, NULL, &cc), XCV_EINVAL);
    assert_int_equal(xcv_console_drv_open_on(NULL, &t, &cc), XCV_EINVAL);
    assert_int_equal(xcv_console_drv_open(&cdrv, NULL, &cc), XCV_EINVAL);
    assert_int_equal(xcv_console_drv_open_on(&cdrv, &empty, &cc), XCV_EINVAL);
    assert_int_equal(S.resets, 0); /* the device was never touched */
    assert_int_equal(S.regs.status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_modern), cmocka_unit_test(test_net_mrg),
        cmocka_unit_test(test_net_legacy), cmocka_unit_test(test_console),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
