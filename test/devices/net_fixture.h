/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared pieces of the virtio-net device tests, on top of dev_fixture.h: the device model and the
 * driver under test, set up from a few options (nf_setup(), or NF_TEST() for a cmocka test whose
 * setup takes them); two transmit backends, one that copies out every frame it is handed, in
 * order (cap), and one that checks each frame against a numbered pattern as it arrives (seq);
 * frame builders and the checks made on what arrived; a raw device with MRG_RXBUF that writes
 * its own receive headers; and the check that a driver reset gives every pool buffer back.
 */
#ifndef XCV_TEST_NET_FIXTURE_H
#define XCV_TEST_NET_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <xcvirtio/dev_net.h>

#include "dev_fixture.h"

#define NF_QSIZE 64u       /* queue size of both roles */
#define NF_FRAME_MAX 1514u /* MTU 1500 + 14 */
#define NF_CAP_FRAMES 160u /* frames the copying backend keeps */
#define NF_HDR XCV_VIRTIO_NET_HDR_SIZE

static struct xcv_net_dev ndev;
static struct xcv_net_drv ndrv;
static uint32_t pool_avail0; /* pool buffers before the driver opened */

/* ---- the copying backend: every transmitted frame, in order ---- */

static struct {
    struct xcv_net_hdr hdr[NF_CAP_FRAMES];
    uint8_t frame[NF_CAP_FRAMES][NF_FRAME_MAX];
    uint32_t len[NF_CAP_FRAMES];
    const uint8_t *base[NF_CAP_FRAMES]; /* first frame segment, as handed to transmit */
    struct xcv_iov seg[NF_CAP_FRAMES][XCV_NET_DEV_MAX_CHAIN];
    unsigned nseg[NF_CAP_FRAMES];
    unsigned calls;    /* transmit calls */
    unsigned copied;   /* frames copied out into frame[] */
    unsigned rx_ready; /* rx_ready calls */
    int ret;           /* what transmit returns */
} cap;

/* Record frame @k's header and segments (the segment list is the model's: copy the entries). */
static inline unsigned nf_cap_record(const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                                     unsigned n, uint32_t len)
{
    assert_true(cap.calls < NF_CAP_FRAMES);
    assert_true(n <= XCV_NET_DEV_MAX_CHAIN);
    unsigned k = cap.calls++;
    cap.hdr[k] = *hdr;
    cap.len[k] = len;
    cap.nseg[k] = n;
    cap.base[k] = n != 0u ? (const uint8_t *)iov[0].base : NULL;
    uint32_t sum = 0;
    for (unsigned i = 0; i < n; i++) {
        assert_true(sum + iov[i].len <= NF_FRAME_MAX);
        cap.seg[k][i] = iov[i];
        sum += iov[i].len;
    }
    assert_int_equal(sum, len);
    assert_true(len <= NF_FRAME_MAX);
    return k;
}

/* Copy recorded frame @k out of the memory its segments describe. */
static inline void nf_cap_copy_out(unsigned k)
{
    uint32_t off = 0;
    for (unsigned i = 0; i < cap.nseg[k]; i++) {
        memcpy(cap.frame[k] + off, cap.seg[k][i].base, cap.seg[k][i].len);
        off += cap.seg[k][i].len;
    }
}

static inline int nf_cap_transmit(void *ctx, const struct xcv_net_hdr *hdr,
                                  const struct xcv_iov *iov, unsigned n, uint32_t len)
{
    (void)ctx;
    nf_cap_copy_out(nf_cap_record(hdr, iov, n, len));
    cap.copied = cap.calls;
    return cap.ret;
}

static inline void nf_cap_rx_ready(void *ctx)
{
    (void)ctx;
    cap.rx_ready++;
}

static const struct xcv_net_backend_ops nf_cap_ops = {.transmit = nf_cap_transmit,
                                                      .rx_ready = nf_cap_rx_ready};

/* ---- the checking backend: frame number s is nf_seq_len(s) bytes of nf_seq_fill(s) with
 * csum_start (uint16_t)s; transmitted frames are numbered in arrival order from next_seed ---- */

static struct {
    unsigned calls;
    unsigned bad; /* frames that did not match */
    uint32_t next_seed;
} seq;

static inline void nf_seq_fill(uint8_t *p, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 7u + i * 13u);
}

static inline uint32_t nf_seq_len(uint32_t seed)
{
    return 60u + (seed * 37u) % (NF_FRAME_MAX - 60u);
}

static inline int nf_seq_transmit(void *ctx, const struct xcv_net_hdr *hdr,
                                  const struct xcv_iov *iov, unsigned n, uint32_t len)
{
    (void)ctx;
    static uint8_t want[NF_FRAME_MAX];
    uint32_t seed = seq.next_seed++;
    nf_seq_fill(want, nf_seq_len(seed), seed);
    uint32_t off = 0;
    bool ok = len == nf_seq_len(seed) && hdr->csum_start == (uint16_t)seed;
    for (unsigned i = 0; i < n && ok; i++) {
        ok = off + iov[i].len <= len && memcmp(want + off, iov[i].base, iov[i].len) == 0;
        off += iov[i].len;
    }
    seq.bad += !(ok && off == len);
    seq.calls++;
    return 0;
}

static const struct xcv_net_backend_ops nf_seq_ops = {.transmit = nf_seq_transmit};

/* Frame number @s in @data; with @h, a header that carries the number in csum_start. */
static inline void nf_seq_frame(struct xcv_net_frame *f, struct xcv_net_hdr *h, uint8_t *data,
                                uint32_t s)
{
    nf_seq_fill(data, nf_seq_len(s), s);
    if (h != NULL)
        *h = (struct xcv_net_hdr){.csum_start = (uint16_t)s};
    *f = (struct xcv_net_frame){.hdr = h, .data = data, .len = nf_seq_len(s)};
}

/* ---- the device model and the driver ---- */

struct nf_opts {
    const struct xcv_net_backend_ops *ops; /* NULL: the copying backend */
    const uint8_t *mac;                    /* 6 bytes; NULL: all zero */
    bool mrg;                              /* the device offers MRG_RXBUF */
    uint32_t buf_size;                     /* pool buffer size */
    uint16_t rx_buffers;                   /* receive buffers the driver posts (0: its default) */
    uint64_t ring_features;                /* ring features the device offers */
    bool dev_polled;
    bool drv_polled;
};

static struct nf_opts nf_cur; /* the options of the last nf_setup() */

/* The device model on the device side, as nf_cur says. */
static inline int nf_init_device(void)
{
    struct xcv_net_dev_config cfg = {.ops = nf_cur.ops != NULL ? nf_cur.ops : &nf_cap_ops,
                                     .mtu = 1500,
                                     .mrg_rxbuf = nf_cur.mrg,
                                     .queue_size = NF_QSIZE,
                                     .ring_features = nf_cur.ring_features,
                                     .polled = nf_cur.dev_polled};
    if (nf_cur.mac != NULL)
        memcpy(cfg.mac, nf_cur.mac, sizeof(cfg.mac));
    return xcv_net_dev_init(&ndev, &fx.vch, &cfg);
}

/* Open the driver, as nf_cur says (also to reopen it after a reset or a peer restart). */
static inline int nf_open_driver(void)
{
    struct xcv_net_drv_config dc = {.dev_num = 0,
                                    .pool = &fx.pool,
                                    .queue_size = NF_QSIZE,
                                    .rx_buffers = nf_cur.rx_buffers,
                                    .polled = nf_cur.drv_polled};
    return xcv_net_drv_open(&ndrv, &fx.dch, &dc);
}

static inline void nf_clear_backends(void)
{
    memset(&cap, 0, sizeof(cap));
    memset(&seq, 0, sizeof(seq));
}

/* Both backends cleared, the model on a fresh window, the driver open on it; 0 or -1. */
static inline int nf_setup(const struct nf_opts *o)
{
    nf_clear_backends();
    nf_cur = *o;
    if (fx_device_up() != XCV_OK)
        return -1;
    if (nf_init_device() != 0)
        return -1;
    if (fx_driver_up(o->buf_size) != XCV_OK)
        return -1;
    pool_avail0 = xcv_pool_available(&fx.pool);
    return nf_open_driver();
}

/* A cmocka setup: the test's initial state is its struct nf_opts. */
static inline int nf_setup_state(void **state)
{
    return nf_setup((const struct nf_opts *)*state);
}

/* A test run after @setup, which gets @opts (a struct nf_opts, or what @setup takes). */
#define NF_TEST_SETUP(test, setup, opts)                                                           \
    cmocka_unit_test_prestate_setup_teardown(test, setup, NULL, (void *)&(opts))
/* A test run after nf_setup(&@opts). */
#define NF_TEST(test, opts) NF_TEST_SETUP(test, nf_setup_state, opts)

/* Every pool buffer comes back once the driver resets (posted receive buffers included). */
static inline void nf_assert_reset_returns_all(void)
{
    assert_int_equal(xcv_net_drv_reset(&ndrv), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0);
}

static inline struct xcv_vq_driver *nf_drv_queue(uint16_t qi)
{
    struct xcv_vq_driver *q = xcv_vdrv_queue(&ndrv.vdrv, qi);
    assert_non_null(q);
    return q;
}

static inline struct xcv_vq_driver *nf_txq(void)
{
    return nf_drv_queue(XCV_NET_TXQ);
}

/* ---- pool buffers taken by the test ---- */

/* A pool buffer taken by the caller; its bus address in @bus unless NULL. */
static inline void *nf_take_buf(uint64_t *bus)
{
    uint64_t b;
    void *p = xcv_pool_alloc(&fx.pool, bus != NULL ? bus : &b);
    assert_non_null(p);
    return p;
}

static void *nf_held[4096];

/* Take pool buffers into nf_held until @left are available; returns how many were taken. */
static inline unsigned nf_hold_pool_until(uint32_t left)
{
    unsigned n = 0;
    while (xcv_pool_available(&fx.pool) > left) {
        assert_true(n < sizeof(nf_held) / sizeof(nf_held[0]));
        nf_held[n++] = nf_take_buf(NULL);
    }
    return n;
}

/* Give the first @n buffers of nf_held back to the pool. */
static inline void nf_free_held(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(xcv_pool_free(&fx.pool, nf_held[i]), XCV_OK);
}

/* ---- frames ---- */

static uint8_t nf_tx_data[NF_CAP_FRAMES][NF_FRAME_MAX];

static inline void nf_fill(uint8_t *p, uint32_t len, uint8_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + i * 13u);
}

/* Frame @i of a burst: its own bytes (seeded by @seed + i) and length. */
static inline void nf_make_frame(struct xcv_net_frame *f, unsigned i, uint32_t len, uint8_t seed,
                                 const struct xcv_net_hdr *h)
{
    nf_fill(nf_tx_data[i], len, (uint8_t)(seed + i));
    f->hdr = h;
    f->data = len != 0u ? nf_tx_data[i] : NULL;
    f->len = len;
}

/* The header fields a frame carries (num_buffers apart); @want NULL is an all-zero header. */
static inline void nf_assert_hdr_fields(const struct xcv_net_hdr *got,
                                        const struct xcv_net_hdr *want)
{
    struct xcv_net_hdr z = {0};
    const struct xcv_net_hdr *h = want != NULL ? want : &z;
    assert_int_equal(got->flags, h->flags);
    assert_int_equal(got->gso_type, h->gso_type);
    assert_int_equal(got->hdr_len, h->hdr_len);
    assert_int_equal(got->gso_size, h->gso_size);
    assert_int_equal(got->csum_start, h->csum_start);
    assert_int_equal(got->csum_offset, h->csum_offset);
}

/* The copying backend's frame @k is @len bytes of @data with header @h (num_buffers 0:
 * 5.1.6.2.1, the driver sends 0). */
static inline void nf_assert_captured(unsigned k, const void *data, uint32_t len,
                                      const struct xcv_net_hdr *h)
{
    assert_true(k < cap.copied);
    assert_int_equal(cap.len[k], len);
    if (len != 0u)
        assert_memory_equal(cap.frame[k], data, len);
    nf_assert_hdr_fields(&cap.hdr[k], h);
    assert_int_equal(cap.hdr[k].num_buffers, 0);
}

static inline void nf_assert_captured_frame(unsigned k, const struct xcv_net_frame *f)
{
    nf_assert_captured(k, f->data, f->len, f->hdr);
}

/* ---- runs of numbered frames through the checking backend ---- */

/* Send @total frames in bursts of @burst (with @singles a burst of 1 through xcv_net_drv_send()),
 * the device running after each; all arrive intact and in order. */
static inline void nf_seq_send(unsigned total, unsigned burst, bool singles)
{
    static uint8_t data[32][NF_FRAME_MAX];
    struct xcv_net_hdr h[32];
    struct xcv_net_frame f[32];
    uint32_t seed = seq.next_seed;
    unsigned sent = 0;
    while (sent < total) {
        unsigned n = total - sent < burst ? total - sent : burst;
        for (unsigned i = 0; i < n; i++)
            nf_seq_frame(&f[i], &h[i], data[i], seed + sent + i);
        if (singles && n == 1u)
            assert_int_equal(xcv_net_drv_send(&ndrv, f[0].hdr, f[0].data, f[0].len), XCV_OK);
        else
            assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, n), (int)n);
        assert_int_equal(xcv_net_dev_run(&ndev, 256), (int)n);
        sent += n;
    }
    assert_int_equal(seq.calls, seed + total);
    assert_int_equal(seq.bad, 0);
}

/* Deliver @total numbered frames in bursts of @burst (with @singles a burst of 1 through
 * xcv_net_dev_deliver()) and take them with receive_burst (copy) or receive_zc (lent), checking
 * bytes, lengths, order and the buffers each frame took: one, or with merged receive buffers of
 * @mrg_buf bytes as many as header and frame need. */
static inline void nf_seq_deliver(unsigned total, unsigned burst, bool zc, uint32_t mrg_buf,
                                  bool singles)
{
    static uint8_t data[32][NF_FRAME_MAX];
    static uint8_t in[32][2048];
    static uint8_t want[NF_FRAME_MAX];
    struct xcv_net_frame f[32];
    unsigned got = 0;
    for (unsigned sent = 0; sent < total;) {
        unsigned n = total - sent < burst ? total - sent : burst;
        for (unsigned i = 0; i < n; i++)
            nf_seq_frame(&f[i], NULL, data[i], sent + i);
        if (singles && n == 1u)
            assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, f[0].data, f[0].len), XCV_OK);
        else
            assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, n), (int)n);
        sent += n;
        while (got < sent) {
            if (zc) {
                struct xcv_net_rxref ref[32];
                int r = xcv_net_drv_receive_zc(&ndrv, ref, 32);
                assert_true(r > 0);
                for (int i = 0; i < r; i++, got++) {
                    nf_seq_fill(want, nf_seq_len(got), got);
                    assert_int_equal(ref[i].len, nf_seq_len(got));
                    assert_memory_equal(ref[i].data, want, ref[i].len);
                    assert_int_equal(ref[i].hdr.num_buffers, 1);
                    assert_int_equal(xcv_net_drv_release(&ndrv, ref[i].buf), XCV_OK);
                }
            } else {
                struct xcv_net_rxbuf b[32];
                for (unsigned i = 0; i < 32; i++)
                    b[i] = (struct xcv_net_rxbuf){.buf = in[i], .cap = sizeof(in[i])};
                int r = xcv_net_drv_receive_burst(&ndrv, b, 32);
                assert_true(r > 0);
                for (int i = 0; i < r; i++, got++) {
                    nf_seq_fill(want, nf_seq_len(got), got);
                    assert_int_equal(b[i].len, nf_seq_len(got));
                    assert_memory_equal(in[i], want, b[i].len);
                    uint32_t nb = mrg_buf != 0u ? (12u + b[i].len + mrg_buf - 1u) / mrg_buf : 1u;
                    assert_int_equal(b[i].hdr.num_buffers, nb);
                }
            }
        }
    }
    assert_int_equal(got, total);
}

/* @count 1400-byte frames, one at a time, each over 3 merged 512-byte receive buffers. */
static inline void nf_mrg_round_trips(unsigned count)
{
    static uint8_t data[1400], in[2048];
    for (unsigned k = 0; k < count; k++) {
        nf_seq_fill(data, sizeof(data), k);
        assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, data, sizeof(data)), XCV_OK);
        struct xcv_net_hdr h;
        uint32_t len = 0;
        assert_int_equal(xcv_net_drv_receive(&ndrv, &h, in, sizeof(in), &len), XCV_OK);
        assert_int_equal(len, sizeof(data));
        assert_int_equal(h.num_buffers, 3);
        assert_memory_equal(in, data, sizeof(data));
    }
}

/* ---- a raw device (MRG_RXBUF) in place of the model, writing its own receive headers ---- */

static struct xcv_vdev nf_rogue;
static struct xcv_vq_dev_slot nf_rogue_slots[2][NF_QSIZE];
static struct xcv_vdev_queue nf_rogue_q[2];
static uint8_t nf_rogue_cfg[XCV_VIRTIO_NET_CFG_SIZE];

static inline void nf_rogue_notify(void *ctx, struct xcv_vdev *d, uint16_t q)
{
    (void)ctx;
    (void)d;
    (void)q;
}

static inline void nf_rogue_reset(void *ctx, struct xcv_vdev *d)
{
    (void)ctx;
    (void)d;
}

static const struct xcv_vdev_ops nf_rogue_ops = {.notify = nf_rogue_notify,
                                                 .reset = nf_rogue_reset};

/* Both backends cleared, the raw device on a fresh window, the driver open on it (512-byte
 * pool buffers, the driver's default receive buffers). */
static inline void nf_rogue_setup(void)
{
    nf_clear_backends();
    assert_int_equal(fx_device_up(), XCV_OK);
    for (unsigned i = 0; i < 2; i++)
        nf_rogue_q[i] = (struct xcv_vdev_queue){.slots = nf_rogue_slots[i], .max_size = NF_QSIZE};
    struct xcv_vdev_config vc = {.device_id = XCV_VIRTIO_ID_NET,
                                 .features = XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF),
                                 .config = nf_rogue_cfg,
                                 .config_size = sizeof(nf_rogue_cfg),
                                 .queues = nf_rogue_q,
                                 .num_queues = 2,
                                 .max_chain = 4,
                                 .ops = &nf_rogue_ops};
    assert_int_equal(xcv_vdev_register(&fx.vch, &nf_rogue, &vc), 0);
    assert_int_equal(fx_driver_up(512), XCV_OK);
    pool_avail0 = xcv_pool_available(&fx.pool);
    nf_cur = (struct nf_opts){.buf_size = 512};
    assert_int_equal(nf_open_driver(), XCV_OK);
}

/* Complete one receive buffer: a header claiming @nb buffers (csum_start 7), then @flen frame
 * bytes, copied from @data unless it is NULL. */
static inline void nf_rogue_rx(uint16_t nb, const uint8_t *data, uint32_t flen)
{
    struct xcv_vq_device *q = xcv_vdev_queue(&nf_rogue, XCV_NET_RXQ);
    assert_non_null(q);
    struct xcv_iov iov[4];
    struct xcv_chain c = {.iov = iov, .cap = 4};
    assert_int_equal(xcv_vq_device_pop(q, &c), XCV_OK);
    assert_int_equal(c.n_in, 1);
    assert_true(iov[0].len >= NF_HDR + flen);
    struct xcv_net_hdr h = {.csum_start = 7, .num_buffers = nb};
    xcv_net_hdr_store((uint8_t *)iov[0].base, &h);
    if (data != NULL)
        memcpy((uint8_t *)iov[0].base + NF_HDR, data, flen);
    assert_int_equal(xcv_vq_device_push(q, c.head, NF_HDR + flen), XCV_OK);
    assert_true(xcv_vq_device_publish(q) >= 0);
}

#endif /* XCV_TEST_NET_FIXTURE_H */
