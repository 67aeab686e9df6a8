/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net zero-copy paths: frames lent in their receive buffers (xcv_net_drv_receive_zc,
 * xcv_net_drv_release), frames sent from pool buffers in place (xcv_net_drv_send_zc), frames
 * forwarded without a copy, and the device backend's transmit_done (a backend that keeps the
 * segments of a burst and copies or forwards them at its end). Both roles in one process; the
 * fixture's ports count the doorbells of each side. Pool counts are checked everywhere: a lent or
 * sent buffer is never lost nor freed twice. */
#include "net_fixture.h"

/* ---- backends ---- */

/* The copying backend (cap) copies each frame out in transmit. The deferred one records the
 * segments in transmit (into cap) and copies the frames out in transmit_done; its own state: */
static struct {
    unsigned pending;                 /* transmit calls since the last transmit_done */
    unsigned done_calls;              /* transmit_done calls */
    unsigned burst[NF_CAP_FRAMES];    /* transmit calls before each transmit_done */
    unsigned unpushed[NF_CAP_FRAMES]; /* transmitq chains popped and not pushed, at that time */
    bool forward;                     /* transmit_done delivers the burst back into the receiveq */
    int fwd_ret[NF_CAP_FRAMES];
    bool allow_empty; /* tolerate a transmit_done with no transmit call before it */
} lazy;

static struct xcv_vq_device *dev_txq(void)
{
    return xcv_vdev_queue(xcv_net_dev_vdev(&ndev), XCV_NET_TXQ);
}

static int lazy_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                         unsigned n, uint32_t len)
{
    (void)ctx;
    (void)nf_cap_record(hdr, iov, n, len);
    lazy.pending++;
    return 0;
}

/* The end of a burst: the chains of the frames recorded since the last call are popped and not
 * yet completed; copy (or forward) the frames now, from the recorded pointers. */
static void lazy_transmit_done(void *ctx)
{
    (void)ctx;
    if (lazy.allow_empty && lazy.pending == 0u) {
        lazy.done_calls++; /* a burst of dropped chains only */
        return;
    }
    assert_true(lazy.pending > 0u); /* never without a transmit call before it */
    assert_true(lazy.pending <= XCV_NET_DEV_BURST);
    assert_int_equal(cap.copied + lazy.pending, cap.calls);
    struct xcv_vq_device *q = dev_txq();
    assert_non_null(q);
    assert_true(lazy.done_calls < NF_CAP_FRAMES);
    unsigned b = lazy.done_calls++;
    lazy.burst[b] = lazy.pending;
    lazy.unpushed[b] = xcv_vq_device_in_flight(q); /* the burst's chains, not completed yet */
    assert_true(lazy.unpushed[b] >= lazy.pending);
    if (lazy.forward) {
        /* Straight from the transmit buffers into the receive buffers. */
        struct xcv_net_frame f[XCV_NET_DEV_BURST];
        for (unsigned i = 0; i < lazy.pending; i++) {
            unsigned k = cap.copied + i;
            assert_true(cap.nseg[k] <= 1u);
            f[i] =
                (struct xcv_net_frame){.hdr = &cap.hdr[k], .data = cap.base[k], .len = cap.len[k]};
        }
        lazy.fwd_ret[b] = xcv_net_dev_deliver_burst(&ndev, f, lazy.pending);
    }
    for (unsigned k = cap.copied; k < cap.calls; k++)
        nf_cap_copy_out(k);
    cap.copied = cap.calls;
    lazy.pending = 0;
}

static const struct xcv_net_backend_ops lazy_ops = {
    .transmit = lazy_transmit, .transmit_done = lazy_transmit_done, .rx_ready = nf_cap_rx_ready};

/* ---- setups ---- */

/* The deferred backend's state cleared, then nf_setup() with the test's struct nf_opts. */
static int zc_setup(void **state)
{
    memset(&lazy, 0, sizeof(lazy));
    return nf_setup_state(state);
}

#define ZC_TEST(test, opts) NF_TEST_SETUP(test, zc_setup, opts)

/* Backend (the copying one unless said), pool buffer size, receive buffers, device polling. */
static const struct nf_opts plain = {.buf_size = 2048};
static const struct nf_opts small = {.buf_size = 512};
static const struct nf_opts buf_1k = {.buf_size = 1024};
static const struct nf_opts mrg = {.mrg = true, .buf_size = 512};
static const struct nf_opts three_rx = {.buf_size = 2048, .rx_buffers = 3};
static const struct nf_opts polled = {.buf_size = 2048, .dev_polled = true};
static const struct nf_opts full_rx = {.buf_size = 2048, .rx_buffers = 64};
static const struct nf_opts lazy_polled = {.ops = &lazy_ops, .buf_size = 2048, .dev_polled = true};
static const struct nf_opts lazy_polled_full_rx = {
    .ops = &lazy_ops, .buf_size = 2048, .rx_buffers = 64, .dev_polled = true};
static const struct nf_opts lazy_kicked = {.ops = &lazy_ops, .buf_size = 2048};

/* ---- frames ---- */

/* A frame built in place in pool buffer @buf; the header bytes hold junk the send overwrites. */
static void build_ref(struct xcv_net_txref *r, void *buf, uint32_t len, uint8_t seed,
                      const struct xcv_net_hdr *h)
{
    memset(buf, 0xee, NF_HDR);
    nf_fill((uint8_t *)buf + NF_HDR, len, seed);
    *r = (struct xcv_net_txref){.buf = buf, .len = len, .hdr = h};
}

static bool header_untouched(const void *buf)
{
    const uint8_t *p = (const uint8_t *)buf;
    for (unsigned i = 0; i < NF_HDR; i++) {
        if (p[i] != 0xeeu)
            return false;
    }
    return true;
}

/* The backend's frame @k was sent in place from @r: same bytes, read where the caller wrote
 * them. */
static void assert_captured_ref(unsigned k, const struct xcv_net_txref *r)
{
    nf_assert_captured(k, (const uint8_t *)r->buf + NF_HDR, r->len, r->hdr);
    if (r->len != 0u)
        assert_ptr_equal(cap.base[k], (const uint8_t *)r->buf + NF_HDR);
}

/* A lent frame is @f, in a pool buffer, 1 buffer (no MRG_RXBUF). */
static void assert_lent(const struct xcv_net_rxref *r, const struct xcv_net_frame *f)
{
    uint64_t bus;
    assert_non_null(r->buf);
    assert_int_equal(xcv_pool_bus(&fx.pool, r->buf, &bus), XCV_OK);
    assert_ptr_equal(r->data, (uint8_t *)r->buf + NF_HDR);
    assert_int_equal(r->len, f->len);
    if (f->len != 0u)
        assert_memory_equal(r->data, f->data, f->len);
    nf_assert_hdr_fields(&r->hdr, f->hdr);
    assert_int_equal(r->hdr.num_buffers, 1); /* 5.1.6.4: set by the device */
}

static void release_all(struct xcv_net_rxref *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(xcv_net_drv_release(&ndrv, r[i].buf), XCV_OK);
}

/* ---- 1. receive_zc lends frames in their buffers; release gives them back ---- */

static void test_receive_zc_lends(void **state)
{
    (void)state;
    fx_pump();
    static const uint32_t lens[6] = {100, 1514, 0, 60, 777, 1000};
    struct xcv_net_hdr h[6];
    struct xcv_net_frame f[6];
    for (unsigned i = 0; i < 6; i++) {
        h[i] = (struct xcv_net_hdr){.flags = XCV_VIRTIO_NET_HDR_F_DATA_VALID,
                                    .gso_type = (uint8_t)i,
                                    .hdr_len = (uint16_t)(i + 1u),
                                    .gso_size = (uint16_t)(300u + i),
                                    .csum_start = (uint16_t)(20u + i),
                                    .csum_offset = (uint16_t)(4u + i),
                                    .num_buffers = 77}; /* replaced by the model */
        nf_make_frame(&f[i], i, lens[i], 90, &h[i]);
    }
    f[3].hdr = NULL;
    const uint32_t open_avail = xcv_pool_available(&fx.pool); /* receive buffers posted */
    assert_true(open_avail < pool_avail0);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 6), 6);
    (void)xcv_channel_poll(&fx.dch, 64);

    /* M < N: four frames lent, each in its own buffer, reposted from the pool with one
     * doorbell. */
    struct xcv_net_rxref r[10];
    memset(r, 0, sizeof(r));
    unsigned rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 4), 4);
    assert_int_equal(fx.drv_rings - rings, 1);
    for (unsigned i = 0; i < 4; i++)
        assert_lent(&r[i], &f[i]);
    for (unsigned i = 0; i < 4; i++)
        for (unsigned j = i + 1u; j < 4; j++)
            assert_ptr_not_equal(r[i].buf, r[j].buf);
    assert_null(r[4].buf); /* slots beyond the count untouched */
    assert_int_equal(xcv_pool_available(&fx.pool), open_avail - 4u);
    /* The rest, fewer than asked. */
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, &r[4], 6), 2);
    assert_lent(&r[4], &f[4]);
    assert_lent(&r[5], &f[5]);
    assert_null(r[6].buf);
    assert_int_equal(xcv_pool_available(&fx.pool), open_avail - 6u);
    /* Empty: EAGAIN, no slot written, no buffer taken. */
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, &r[6], 4), XCV_EAGAIN);
    assert_null(r[6].buf);
    assert_int_equal(xcv_pool_available(&fx.pool), open_avail - 6u);

    /* The lent buffers are not reposted: frames arriving now land elsewhere, and the lent
     * bytes stay as they were. */
    struct xcv_net_frame g[3];
    for (unsigned i = 0; i < 3; i++)
        nf_make_frame(&g[i], 6u + i, 1200, 200, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, g, 3), 3);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, &r[6], 4), 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_lent(&r[6u + i], &g[i]);
        for (unsigned j = 0; j < 6; j++)
            assert_ptr_not_equal(r[6u + i].buf, r[j].buf);
    }
    for (unsigned i = 0; i < 6; i++)
        assert_lent(&r[i], &f[i]);
    assert_int_equal(xcv_pool_available(&fx.pool), open_avail - 9u);

    /* Released one by one: the pool count comes back exactly. */
    for (unsigned i = 0; i < 9; i++) {
        assert_int_equal(xcv_net_drv_release(&ndrv, r[i].buf), XCV_OK);
        assert_int_equal(xcv_pool_available(&fx.pool), open_avail - 8u + i);
    }
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 0);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_empty, 0);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 0);
    nf_assert_reset_returns_all();
}

/* ---- 2. receive_zc and release: argument checks ---- */

static void test_receive_zc_args(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[2];
    nf_make_frame(&f[0], 0, 80, 5, NULL);
    nf_make_frame(&f[1], 1, 90, 5, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 2), 2);
    const uint32_t avail = xcv_pool_available(&fx.pool);
    struct xcv_net_rxref r[2];
    memset(r, 0, sizeof(r));
    unsigned rings = fx.drv_rings;
    /* Count 0 takes nothing; NULL refs with a count, or no driver, are refused. */
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 0), 0);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, NULL, 0), 0);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, NULL, 1), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_receive_zc(NULL, r, 1), XCV_EINVAL);
    assert_null(r[0].buf);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    assert_int_equal(fx.drv_rings, rings);
    /* Both frames are still there, in order. */
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 2), 2);
    assert_lent(&r[0], &f[0]);
    assert_lent(&r[1], &f[1]);
    const uint32_t left = xcv_pool_available(&fx.pool);

    /* release: only the start of a pool buffer. */
    uint8_t on_stack[64];
    assert_int_equal(xcv_net_drv_release(&ndrv, (uint8_t *)r[0].buf + 1), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_release(&ndrv, r[0].data), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_release(&ndrv, on_stack), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_release(&ndrv, NULL), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_release(&ndrv, fx_window), XCV_EINVAL); /* queue area */
    assert_int_equal(xcv_net_drv_release(&ndrv, fx_window + sizeof(fx_window)), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_release(NULL, r[0].buf), XCV_EINVAL);
    assert_int_equal(xcv_pool_available(&fx.pool), left);
    release_all(r, 2);
    assert_int_equal(xcv_pool_available(&fx.pool), left + 2u);
    nf_assert_reset_returns_all();
    /* A full pool refuses one more (the double free it can see). */
    assert_int_equal(xcv_net_drv_release(&ndrv, r[0].buf), XCV_EINVAL);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0);
    /* Not open any more. */
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 1), XCV_ENODEV);
}

/* ---- 3. receive_zc refuses MRG_RXBUF; a frame held by receive_burst comes first ---- */

static void test_receive_zc_mrg_not_supported(void **state)
{
    (void)state;
    assert_true(xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF));
    fx_pump();
    struct xcv_net_frame f;
    nf_make_frame(&f, 0, 1000, 44, NULL); /* spans two 512-byte buffers */
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f, 1), 1);
    const uint32_t avail = xcv_pool_available(&fx.pool);
    struct xcv_net_rxref r[4];
    memset(r, 0, sizeof(r));
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 4), XCV_ENOTSUP);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 1), XCV_ENOTSUP);
    assert_null(r[0].buf);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    /* Nothing was taken: the copying receive still gets the frame. */
    uint8_t buf[2048];
    struct xcv_net_rxbuf b = {.buf = buf, .cap = sizeof(buf)};
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, &b, 1), 1);
    assert_int_equal(b.len, f.len);
    assert_memory_equal(buf, f.data, f.len);
    assert_int_equal(b.hdr.num_buffers, 2);
    nf_assert_reset_returns_all();
}

static void test_receive_zc_after_held_frame(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[3];
    nf_make_frame(&f[0], 0, 100, 61, NULL);
    nf_make_frame(&f[1], 1, 300, 61, NULL);
    nf_make_frame(&f[2], 2, 50, 61, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 3), 3);
    /* The second frame does not fit its slot: receive_burst keeps it for its next call. */
    uint8_t b0[2048];
    uint8_t b1[200];
    struct xcv_net_rxbuf b[2] = {{.buf = b0, .cap = sizeof(b0)}, {.buf = b1, .cap = sizeof(b1)}};
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 2), 1);
    struct xcv_net_rxref r[2];
    memset(r, 0, sizeof(r));
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 2), XCV_ESTATE);
    assert_null(r[0].buf);
    /* The copying receive takes it; then the lending receive goes on behind it. */
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 1), 1);
    assert_int_equal(b[0].len, 300);
    assert_memory_equal(b0, f[1].data, 300);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 2), 1);
    assert_lent(&r[0], &f[2]);
    release_all(r, 1);
    nf_assert_reset_returns_all();
}

/* ---- 4. buffers the device returned empty are skipped and reposted ---- */

static void test_receive_zc_skips_empty(void **state)
{
    (void)state;
    fx_pump();
    const uint32_t open_avail = xcv_pool_available(&fx.pool);
    struct xcv_net_frame f[3];
    nf_make_frame(&f[0], 0, 60, 17, NULL);
    nf_make_frame(&f[1], 1, 1000, 17, NULL); /* does not fit a 512-byte buffer: dropped */
    nf_make_frame(&f[2], 2, 400, 17, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f[0], 1), 1);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f[1], 1), XCV_ENOMEM);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f[2], 1), 1);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 1);
    struct xcv_net_rxref r[4];
    memset(r, 0, sizeof(r));
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 4), 2);
    assert_lent(&r[0], &f[0]);
    assert_lent(&r[1], &f[2]);
    assert_null(r[2].buf);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_empty, 1);
    /* Three buffers came off the ring and were reposted; only the two lent ones are missing. */
    assert_int_equal(xcv_pool_available(&fx.pool), open_avail - 2u);
    release_all(r, 2);
    assert_int_equal(xcv_pool_available(&fx.pool), open_avail);
    nf_assert_reset_returns_all();
}

/* ---- 5. lending drains the pool; the refill resumes once buffers come back ---- */

static void test_receive_zc_pool_dry(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[6];
    for (unsigned i = 0; i < 6; i++)
        nf_make_frame(&f[i], i, 100u + i, 31, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 3), 3);
    /* The caller holds every other buffer: nothing to repost with. */
    unsigned n_held = nf_hold_pool_until(0);
    struct xcv_net_rxref r[6];
    memset(r, 0, sizeof(r));
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 6), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_lent(&r[i], &f[i]);
    assert_int_equal(xcv_pool_available(&fx.pool), 0);
    /* No receive buffer posted: the device cannot deliver. */
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f[3], 3), XCV_EAGAIN);
    assert_int_equal(xcv_net_drv_refill(&ndrv), 0);
    /* Two lent buffers come back: the refill posts them and two frames go through. */
    assert_int_equal(xcv_net_drv_release(&ndrv, r[0].buf), XCV_OK);
    assert_int_equal(xcv_net_drv_release(&ndrv, r[1].buf), XCV_OK);
    assert_int_equal(xcv_net_drv_refill(&ndrv), 2);
    assert_int_equal(xcv_pool_available(&fx.pool), 0);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f[3], 3), 2);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, &r[3], 3), 2);
    assert_lent(&r[3], &f[3]);
    assert_lent(&r[4], &f[4]);
    assert_lent(&r[2], &f[2]); /* still intact */
    /* All three back: the refill tops the receiveq up to its target again. */
    assert_int_equal(xcv_net_drv_release(&ndrv, r[2].buf), XCV_OK);
    assert_int_equal(xcv_net_drv_release(&ndrv, r[3].buf), XCV_OK);
    assert_int_equal(xcv_net_drv_release(&ndrv, r[4].buf), XCV_OK);
    assert_int_equal(xcv_net_drv_refill(&ndrv), 3);
    assert_int_equal(xcv_net_drv_refill(&ndrv), 0);
    assert_int_equal(xcv_pool_available(&fx.pool), 0);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 6), 3);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 6), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_lent(&r[i], &f[i]);
    release_all(r, 3);
    nf_free_held(n_held);
    nf_assert_reset_returns_all();
}

/* More frames than one ring call takes: every one is lent, in order. */
static void test_receive_zc_long_burst(void **state)
{
    (void)state;
    fx_pump();
    const uint32_t open_avail = xcv_pool_available(&fx.pool);
    static struct xcv_net_frame f[60];
    for (unsigned i = 0; i < 60; i++)
        nf_make_frame(&f[i], i, 60u + 23u * i, 7, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 60), 60);
    static struct xcv_net_rxref r[64];
    memset(r, 0, sizeof(r));
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 64), 60);
    for (unsigned i = 0; i < 60; i++)
        assert_lent(&r[i], &f[i]);
    assert_null(r[60].buf);
    assert_int_equal(xcv_pool_available(&fx.pool), open_avail - 60u);
    release_all(r, 60);
    assert_int_equal(xcv_pool_available(&fx.pool), open_avail);
    nf_assert_reset_returns_all();
}

/* ---- 6. send_zc: a frame built in a pool buffer is sent where it is ---- */

static void test_send_zc_in_place(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_hdr h[5];
    for (unsigned i = 0; i < 5; i++) {
        h[i] = (struct xcv_net_hdr){
            .flags = (i & 1u) != 0u ? XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM : 0u,
            .gso_type = (uint8_t)(i + 1u),
            .hdr_len = (uint16_t)(54u + i),
            .gso_size = (uint16_t)(1400u + i),
            .csum_start = (uint16_t)(34u + i),
            .csum_offset = (uint16_t)(16u + i),
            .num_buffers = 5, /* must not reach the device */
        };
    }
    static const uint32_t lens[5] = {60, 1514, 0, 333, 1000};
    const uint32_t avail = xcv_pool_available(&fx.pool);
    struct xcv_net_txref t[5];
    for (unsigned i = 0; i < 5; i++)
        build_ref(&t[i], nf_take_buf(NULL), lens[i], (uint8_t)(40u + i), &h[i]);
    t[3].hdr = NULL; /* all-zero header */
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 5u);
    unsigned rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, 5), 5);
    /* One doorbell; the caller's buffers are posted, no other buffer is taken. */
    assert_int_equal(fx.drv_rings - rings, 1);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 5);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 5u);
    /* The header went in front of each frame, num_buffers 0. */
    for (unsigned i = 0; i < 5; i++) {
        uint8_t w[NF_HDR];
        memcpy(w, t[i].buf, NF_HDR);
        struct xcv_net_hdr got;
        xcv_net_hdr_load(&got, w);
        nf_assert_hdr_fields(&got, t[i].hdr);
        assert_int_equal(got.num_buffers, 0);
    }
    assert_int_equal(cap.calls, 0);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 5);
    for (unsigned i = 0; i < 5; i++)
        assert_captured_ref(i, &t[i]);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_frames, 5);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_bytes, 60 + 1514 + 0 + 333 + 1000);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_dropped, 0);
    /* Used by the device: the next send gives the five back to the pool. */
    (void)xcv_channel_poll(&fx.dch, 64);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 5u);
    struct xcv_net_txref u;
    build_ref(&u, nf_take_buf(NULL), 64, 9, NULL);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &u, 1), 1);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 1u);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 1);
    fx_pump();
    assert_int_equal(cap.calls, 6);
    assert_captured_ref(5, &u);
    /* The copying send interleaves with it. */
    uint8_t fr[100];
    nf_fill(fr, sizeof(fr), 3);
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, fr, sizeof(fr)), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 1u); /* u back, the copy out */
    fx_pump();
    nf_assert_captured(6, fr, sizeof(fr), NULL);
    nf_assert_reset_returns_all();
}

/* ---- 7. one bad reference fails the burst, before anything is written or posted ---- */

static void test_send_zc_bad_ref_posts_nothing(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_txref t[3];
    for (unsigned i = 0; i < 3; i++)
        build_ref(&t[i], nf_take_buf(NULL), 100u + i, (uint8_t)i, NULL);
    const uint32_t avail = xcv_pool_available(&fx.pool);
    const unsigned rings = fx.drv_rings;
    uint8_t on_stack[256];
    struct xcv_net_txref bad[6];
    for (unsigned i = 0; i < 6; i++)
        bad[i] = t[1];
    bad[0].buf = (uint8_t *)t[1].buf + 1; /* inside a buffer, not its start */
    bad[1].buf = on_stack;                /* not in the window */
    bad[2].buf = NULL;
    bad[3].buf = fx_window;  /* in the window, outside the pool area */
    bad[4].len = 1515;       /* MTU + 14 + 1 */
    bad[5].len = UINT32_MAX; /* would wrap a 32-bit length */
    for (unsigned k = 0; k < 6; k++) {
        /* Bad in the middle, at the end and alone. */
        struct xcv_net_txref m[3] = {t[0], bad[k], t[2]};
        struct xcv_net_txref e[3] = {t[0], t[2], bad[k]};
        assert_int_equal(xcv_net_drv_send_zc(&ndrv, m, 3), XCV_EINVAL);
        assert_int_equal(xcv_net_drv_send_zc(&ndrv, e, 3), XCV_EINVAL);
        assert_int_equal(xcv_net_drv_send_zc(&ndrv, &bad[k], 1), XCV_EINVAL);
    }
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, NULL, 1), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_send_zc(NULL, t, 1), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, 0), 0);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, NULL, 0), 0);
    /* Nothing posted, no header written, no buffer taken or freed, no doorbell. */
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 0);
    for (unsigned i = 0; i < 3; i++)
        assert_true(header_untouched(t[i].buf));
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    assert_int_equal(fx.drv_rings, rings);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 0);
    fx_pump();
    assert_int_equal(cap.calls, 0);
    /* Exactly at the limit the burst goes through whole, in order. */
    t[1].len = 1514;
    nf_fill((uint8_t *)t[1].buf + NF_HDR, 1514, 77);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, 3), 3);
    fx_pump();
    assert_int_equal(cap.calls, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_captured_ref(i, &t[i]);
    nf_assert_reset_returns_all();
    /* Not open any more: the caller keeps its buffer. */
    void *b = nf_take_buf(NULL);
    struct xcv_net_txref one = {.buf = b, .len = 10};
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &one, 1), XCV_ENODEV);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0 - 1u);
    assert_int_equal(xcv_pool_free(&fx.pool, b), XCV_OK);
}

/* With 1024-byte buffers the buffer is the limit (below MTU + 14). */
/* A buffer that is not the caller's: released (free), twice in one call, or posted and not yet
 * used. The call fails whole, nothing is posted, and every buffer stays where it was. */
static void test_send_zc_refuses_buffers_not_the_callers(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_txref t[3];
    for (unsigned i = 0; i < 3; i++)
        build_ref(&t[i], nf_take_buf(NULL), 80u + i, (uint8_t)(20u + i), NULL);
    struct xcv_net_txref gone;
    build_ref(&gone, nf_take_buf(NULL), 64, 1, NULL);
    assert_int_equal(xcv_net_drv_release(&ndrv, gone.buf), XCV_OK);
    const uint32_t avail = xcv_pool_available(&fx.pool);
    const unsigned rings = fx.drv_rings;
    struct xcv_net_txref released[3] = {t[0], gone, t[1]};
    struct xcv_net_txref twice[3] = {t[0], t[1], t[0]};
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, released, 3), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, twice, 3), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &gone, 1), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 0);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    assert_int_equal(fx.drv_rings, rings);
    assert_true(header_untouched(t[0].buf));
    /* Still the caller's: the refused calls gave them back. */
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, 2), 2);
    /* Posted, not yet used: neither sent again nor released. */
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &t[1], 1), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_release(&ndrv, t[0].buf), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 2);
    fx_pump();
    assert_int_equal(cap.calls, 2);
    assert_captured_ref(0, &t[0]);
    assert_captured_ref(1, &t[1]);
    /* Used and reclaimed by the next send: in the pool now, so free, not the caller's. */
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &t[2], 1), 1);
    assert_int_equal(xcv_pool_available(&fx.pool), avail + 2u);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &t[0], 1), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_release(&ndrv, t[1].buf), XCV_EINVAL);
    assert_int_equal(xcv_pool_available(&fx.pool), avail + 2u);
    fx_pump();
    assert_int_equal(cap.calls, 3);
    nf_assert_reset_returns_all();
}

static void test_send_zc_len_limit_is_buffer(void **state)
{
    (void)state;
    fx_pump();
    const uint32_t max = 1024u - NF_HDR;
    struct xcv_net_txref t;
    build_ref(&t, nf_take_buf(NULL), max + 1u, 8, NULL);
    const uint32_t avail = xcv_pool_available(&fx.pool);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &t, 1), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 0);
    assert_true(header_untouched(t.buf));
    t.len = max;
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &t, 1), 1);
    fx_pump();
    assert_int_equal(cap.calls, 1);
    assert_captured_ref(0, &t);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    nf_assert_reset_returns_all();
}

/* ---- 8. a full transmitq: the frames not sent stay with the caller ---- */

static void test_send_zc_ring_full(void **state)
{
    (void)state;
    fx_pump();
    const uint32_t avail = xcv_pool_available(&fx.pool);
    static struct xcv_net_txref t[70];
    for (unsigned i = 0; i < 70; i++)
        build_ref(&t[i], nf_take_buf(NULL), 60u + 7u * i, (uint8_t)(i * 3u), NULL);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 70u);
    unsigned rings = fx.drv_rings;
    /* A 64-entry transmitq: 64 go with one doorbell, 6 stay with the caller, none freed. */
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, 70), 64);
    assert_int_equal(fx.drv_rings - rings, 1);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 64);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 70u);
    /* Nothing used yet: the rest is refused, still not freed. */
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &t[64], 6), XCV_ENOSPC);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 64);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 70u);
    assert_int_equal(fx.drv_rings - rings, 1);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 64);
    for (unsigned i = 0; i < 64; i++)
        assert_captured_ref(i, &t[i]);
    (void)xcv_channel_poll(&fx.dch, 64);
    /* The caller gives three of its six back and sends the other three: the 64 used ones
     * are reclaimed on the way. */
    for (unsigned i = 67; i < 70; i++)
        assert_int_equal(xcv_net_drv_release(&ndrv, t[i].buf), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 67u);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &t[64], 3), 3);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 3u);
    fx_pump();
    assert_int_equal(cap.calls, 67);
    for (unsigned i = 64; i < 67; i++)
        assert_captured_ref(i, &t[i]);
    nf_assert_reset_returns_all();
}

/* ---- 9. forwarding in place: lent receive buffers sent back out ---- */

static void test_forward_in_place(void **state)
{
    (void)state;
    fx_pump();
    const uint32_t open_avail = xcv_pool_available(&fx.pool);
    struct xcv_net_hdr h = {.flags = XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM,
                            .gso_type = 3,
                            .hdr_len = 66,
                            .gso_size = 1448,
                            .csum_start = 34,
                            .csum_offset = 16};
    unsigned seen = 0;
    for (unsigned round = 0; round < 10; round++) {
        struct xcv_net_frame f[8];
        for (unsigned i = 0; i < 8; i++)
            nf_make_frame(&f[i], i, (60u + 181u * (round + i)) % 1515u, (uint8_t)(round * 8u),
                          (i & 1u) != 0u ? &h : NULL);
        assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 8), 8);
        struct xcv_net_rxref r[8];
        assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 8), 8);
        /* The last round forwards five and drops three. */
        unsigned fwd = round == 9u ? 5u : 8u;
        struct xcv_net_txref t[8];
        for (unsigned i = 0; i < fwd; i++)
            t[i] = (struct xcv_net_txref){.buf = r[i].buf, .len = r[i].len, .hdr = &r[i].hdr};
        for (unsigned i = fwd; i < 8; i++)
            assert_int_equal(xcv_net_drv_release(&ndrv, r[i].buf), XCV_OK);
        assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, fwd), (int)fwd);
        /* Steady state: the frames forwarded are in flight, everything else is in the pool
         * or posted (the previous round's buffers were reclaimed by this send). */
        assert_int_equal(xcv_pool_available(&fx.pool), open_avail - fwd);
        assert_true(xcv_channel_poll(&fx.vch, 64) >= 1); /* the transmitq kick, the refill */
        assert_int_equal(cap.calls, seen + fwd);
        for (unsigned i = 0; i < fwd; i++) {
            /* The same bytes and header fields, read from the receive buffer itself;
             * num_buffers (1 on receive) is 0 on transmit. */
            nf_assert_captured_frame(seen + i, &f[i]);
            if (f[i].len != 0u)
                assert_ptr_equal(cap.base[seen + i], r[i].data);
        }
        seen += fwd;
        (void)xcv_channel_poll(&fx.dch, 64);
    }
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_frames, 77);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_dropped, 0);
    /* The last frames forwarded are used but not reclaimed yet: the reset returns them. */
    nf_assert_reset_returns_all();
}

/* The same while the device does not run (polled, and its owner does not): the reset takes
 * the buffers forwarded back from the transmitq. */
static void test_forward_then_reset(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[4];
    for (unsigned i = 0; i < 4; i++)
        nf_make_frame(&f[i], i, 500u + i, 12, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 4), 4);
    struct xcv_net_rxref r[4];
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 4), 4);
    struct xcv_net_txref t[4];
    for (unsigned i = 0; i < 4; i++)
        t[i] = (struct xcv_net_txref){.buf = r[i].buf, .len = r[i].len, .hdr = &r[i].hdr};
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, 4), 4);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 4);
    fx_pump();
    assert_int_equal(cap.calls, 0);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 4);
    nf_assert_reset_returns_all();
    assert_int_equal(cap.calls, 0);
}

/* ---- 10. transmit_done: a backend that copies the frames out at the end of each burst ---- */

static void test_transmit_done_per_burst(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[40];
    for (unsigned i = 0; i < 40; i++)
        nf_make_frame(&f[i], i, (uint32_t)((i * 97u) % 1515u), 23, NULL);
    /* A burst of five: five transmit calls, then one transmit_done. */
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 5), 5);
    assert_int_equal(xcv_net_dev_run(&ndev, 64), 5);
    assert_int_equal(cap.calls, 5);
    assert_int_equal(lazy.done_calls, 1);
    assert_int_equal(lazy.burst[0], 5);
    assert_int_equal(lazy.unpushed[0], 5); /* completed after transmit_done returned */
    for (unsigned i = 0; i < 5; i++)
        nf_assert_captured_frame(i, &f[i]);
    /* A run that finds nothing does not call it. */
    assert_int_equal(xcv_net_dev_run(&ndev, 64), 0);
    assert_int_equal(xcv_net_dev_run(&ndev, 64), 0);
    assert_int_equal(lazy.done_calls, 1);
    /* Budgets below the burst: one call per run with work. */
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, &f[5], 7), 7);
    assert_int_equal(xcv_net_dev_run(&ndev, 3), 3);
    assert_int_equal(lazy.done_calls, 2);
    assert_int_equal(xcv_net_dev_run(&ndev, 3), 3);
    assert_int_equal(lazy.done_calls, 3);
    assert_int_equal(xcv_net_dev_run(&ndev, 3), 1);
    assert_int_equal(lazy.done_calls, 4);
    assert_int_equal(xcv_net_dev_run(&ndev, 3), 0);
    assert_int_equal(lazy.done_calls, 4);
    assert_int_equal(lazy.burst[1], 3);
    assert_int_equal(lazy.burst[2], 3);
    assert_int_equal(lazy.burst[3], 1);
    for (unsigned b = 1; b < 4; b++)
        assert_int_equal(lazy.unpushed[b], lazy.burst[b]);
    for (unsigned i = 5; i < 12; i++)
        nf_assert_captured_frame(i, &f[i]);
    /* 40 frames in one run: bursts of at most XCV_NET_DEV_BURST, each closed by one call. */
    (void)xcv_channel_poll(&fx.dch, 64);
    unsigned before = lazy.done_calls;
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 40), 40);
    assert_int_equal(xcv_net_dev_run(&ndev, 64), 40);
    unsigned bursts = lazy.done_calls - before;
    assert_int_equal(bursts, (40u + XCV_NET_DEV_BURST - 1u) / XCV_NET_DEV_BURST);
    unsigned sum = 0;
    for (unsigned b = before; b < lazy.done_calls; b++) {
        assert_int_equal(lazy.unpushed[b], lazy.burst[b]);
        sum += lazy.burst[b];
    }
    assert_int_equal(sum, 40);
    assert_int_equal(cap.copied, cap.calls);
    for (unsigned i = 0; i < 40; i++)
        nf_assert_captured_frame(12u + i, &f[i]);
    assert_int_equal(xcv_net_dev_run(&ndev, 64), 0);
    assert_int_equal(lazy.done_calls, before + bursts);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_frames, 52);
    /* Completed after transmit_done: the driver gets every buffer back. */
    nf_assert_reset_returns_all();
}

/* Post a chain the model drops (4 readable bytes: shorter than the header); token: its pool
 * buffer, so the driver reclaims it like a frame. */
static void post_short_chain(void)
{
    void *b = nf_take_buf(NULL);
    struct xcv_sg sg = {.len = 4};
    assert_int_equal(xcv_pool_bus(&fx.pool, b, &sg.addr), XCV_OK);
    assert_int_equal(xcv_vq_driver_add(nf_txq(), &sg, 1, 0, b), XCV_OK);
    assert_true(xcv_vq_driver_kick(nf_txq()) >= 0);
}

/* A dropped chain inside a burst: no transmit call for it, still one transmit_done. */
static void test_transmit_done_with_dropped_chain(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[4];
    for (unsigned i = 0; i < 4; i++)
        nf_make_frame(&f[i], i, 200u + i, 88, NULL);
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 2), 2);
    post_short_chain();
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, &f[2], 2), 2);
    assert_int_equal(xcv_net_dev_run(&ndev, 64), 5);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_dropped, 1);
    assert_int_equal(cap.calls, 4);
    assert_int_equal(lazy.done_calls, 1);
    assert_int_equal(lazy.burst[0], 4);
    for (unsigned i = 0; i < 4; i++)
        nf_assert_captured_frame(i, &f[i]);
    assert_int_equal(lazy.unpushed[0], 5); /* the dropped chain is completed after it too */
    /* A burst of dropped chains only: no transmit call; at most one transmit_done, with nothing
     * recorded since the last one (the backend tolerates it). */
    post_short_chain();
    post_short_chain();
    lazy.allow_empty = true;
    assert_int_equal(xcv_net_dev_run(&ndev, 64), 2);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_dropped, 3);
    assert_int_equal(cap.calls, 4);
    assert_true(lazy.done_calls <= 2u);
    /* The next burst is as before. */
    lazy.allow_empty = false;
    unsigned before = lazy.done_calls;
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 3), 3);
    assert_int_equal(xcv_net_dev_run(&ndev, 64), 3);
    assert_int_equal(lazy.done_calls, before + 1u);
    assert_int_equal(lazy.burst[before], 3);
    for (unsigned i = 0; i < 3; i++)
        nf_assert_captured_frame(4u + i, &f[i]);
    nf_assert_reset_returns_all();
}

/* Sent in place and run from the transmitq kick: the pointers kept are the caller's buffers. */
static void test_transmit_done_kicked(void **state)
{
    (void)state;
    fx_pump();
    const uint32_t avail = xcv_pool_available(&fx.pool);
    struct xcv_net_txref t[8];
    for (unsigned i = 0; i < 8; i++)
        build_ref(&t[i], nf_take_buf(NULL), 100u * (i + 1u), (uint8_t)(i + 100u), NULL);
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, 8), 8);
    assert_int_equal(lazy.done_calls, 0);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 8);
    assert_int_equal(lazy.done_calls, 1);
    assert_int_equal(lazy.burst[0], 8);
    for (unsigned i = 0; i < 8; i++)
        assert_captured_ref(i, &t[i]);
    /* Polls with no transmit work (nothing, or a receive refill) do not call it. */
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 0);
    struct xcv_net_frame f;
    nf_make_frame(&f, 0, 70, 1, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f, 1), 1);
    struct xcv_net_rxref r;
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, &r, 1), 1);
    fx_pump();
    assert_int_equal(lazy.done_calls, 1);
    assert_int_equal(xcv_net_drv_release(&ndrv, r.buf), XCV_OK);
    /* The next send reclaims the eight. */
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, f.data, f.len), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 1u);
    fx_pump();
    assert_int_equal(lazy.done_calls, 2);
    assert_int_equal(lazy.burst[1], 1);
    nf_assert_captured_frame(8, &f);
    nf_assert_reset_returns_all();
}

/* A forwarding device: transmit_done delivers the burst straight from the transmit buffers into
 * the receive buffers; the driver gets the frames back lent, and forwards them again. */
#define FWD_N 40u

/* One run moved FWD_N frames: one transmit_done per burst, each burst delivered whole. */
static void assert_forward_run(unsigned first_burst)
{
    unsigned n = 0;
    for (unsigned b = first_burst; b < lazy.done_calls; b++) {
        assert_int_equal(lazy.unpushed[b], lazy.burst[b]);
        assert_int_equal(lazy.fwd_ret[b], (int)lazy.burst[b]);
        n += lazy.burst[b];
    }
    assert_int_equal(n, FWD_N);
    assert_int_equal(lazy.done_calls - first_burst,
                     (FWD_N + XCV_NET_DEV_BURST - 1u) / XCV_NET_DEV_BURST);
}

static void test_transmit_done_forwards(void **state)
{
    (void)state;
    fx_pump();
    lazy.forward = true;
    const uint32_t open_avail = xcv_pool_available(&fx.pool);
    struct xcv_net_hdr h = {.flags = XCV_VIRTIO_NET_HDR_F_DATA_VALID, .csum_start = 9};
    struct xcv_net_frame f[FWD_N];
    for (unsigned i = 0; i < FWD_N; i++)
        nf_make_frame(&f[i], i, 60u + (97u * i) % 1455u, 55, (i % 3u) == 0u ? &h : NULL);
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, FWD_N), (int)FWD_N);
    assert_int_equal(xcv_net_dev_run(&ndev, 64), (int)FWD_N);
    assert_forward_run(0);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_frames, FWD_N);
    for (unsigned i = 0; i < FWD_N; i++)
        nf_assert_captured_frame(i, &f[i]);
    struct xcv_net_rxref r[FWD_N];
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, FWD_N), (int)FWD_N);
    for (unsigned i = 0; i < FWD_N; i++)
        assert_lent(&r[i], &f[i]);
    /* Around again, in place: the echo comes back identical. */
    struct xcv_net_txref t[FWD_N];
    for (unsigned i = 0; i < FWD_N; i++)
        t[i] = (struct xcv_net_txref){.buf = r[i].buf, .len = r[i].len, .hdr = &r[i].hdr};
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, FWD_N), (int)FWD_N);
    unsigned before = lazy.done_calls;
    assert_int_equal(xcv_net_dev_run(&ndev, 64), (int)FWD_N);
    assert_forward_run(before);
    for (unsigned i = 0; i < FWD_N; i++)
        nf_assert_captured_frame(FWD_N + i, &f[i]);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, FWD_N), (int)FWD_N);
    for (unsigned i = 0; i < FWD_N; i++)
        assert_lent(&r[i], &f[i]);
    release_all(r, FWD_N);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 0);
    /* The forwarded buffers are used; the next send reclaims them. */
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, f[0].data, f[0].len), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), open_avail - 1u);
    nf_assert_reset_returns_all();
}

/* ---- 11. resets while the caller holds lent buffers ---- */

static void test_driver_reset_while_lent(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[6];
    for (unsigned i = 0; i < 6; i++)
        nf_make_frame(&f[i], i, 300u + i, 71, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 6), 6);
    struct xcv_net_rxref r[6];
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 6), 6);
    /* Two forwarded (in flight at the reset), four kept, plus a copied send in flight. */
    struct xcv_net_txref t[2];
    for (unsigned i = 0; i < 2; i++)
        t[i] = (struct xcv_net_txref){.buf = r[4u + i].buf, .len = r[4u + i].len};
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, t, 2), 2);
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, f[0].data, f[0].len), XCV_OK);
    assert_int_equal(xcv_net_drv_reset(&ndrv), XCV_OK);
    /* Everything came back but the four the caller holds, which are untouched. */
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0 - 4u);
    for (unsigned i = 0; i < 4; i++)
        assert_lent(&r[i], &f[i]);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 1), XCV_ENODEV);
    /* Reopened: the held buffers are not posted, new frames go elsewhere. */
    fx_pump();
    assert_int_equal(nf_open_driver(), XCV_OK);
    struct xcv_net_frame g[4];
    for (unsigned i = 0; i < 4; i++)
        nf_make_frame(&g[i], 6u + i, 900, 5, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, g, 4), 4);
    struct xcv_net_rxref s[4];
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, s, 4), 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_lent(&s[i], &g[i]);
        for (unsigned j = 0; j < 4; j++)
            assert_ptr_not_equal(s[i].buf, r[j].buf);
    }
    for (unsigned i = 0; i < 4; i++)
        assert_lent(&r[i], &f[i]);
    /* One held buffer is released before the next reset, the rest after it. */
    assert_int_equal(xcv_net_drv_release(&ndrv, r[0].buf), XCV_OK);
    release_all(s, 4);
    assert_int_equal(xcv_net_drv_reset(&ndrv), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0 - 3u);
    release_all(&r[1], 3);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0);
}

/* The device compartment restarts: posted and in-flight buffers come back through the cancel
 * path, lent ones stay with the caller. */
static void test_peer_restart_while_lent(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[5];
    for (unsigned i = 0; i < 5; i++)
        nf_make_frame(&f[i], i, 400u + 3u * i, 19, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 5), 5);
    struct xcv_net_rxref r[5];
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 5), 5);
    struct xcv_net_txref t = {.buf = r[4].buf, .len = r[4].len, .hdr = &r[4].hdr};
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &t, 1), 1);
    assert_int_equal(cap.calls, 0); /* the device has not run */
    memset(&ndev, 0, sizeof(ndev));
    assert_int_equal(xcv_channel_init(&fx.vch, &fx.vcfg), XCV_OK);
    assert_int_equal(nf_init_device(), 0);
    assert_int_equal(xcv_channel_poll(&fx.dch, 64), XCV_EPEERRESET);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0 - 4u);
    for (unsigned i = 0; i < 4; i++)
        assert_lent(&r[i], &f[i]);
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, r, 1), XCV_ENODEV);
    struct xcv_net_txref again = {.buf = r[0].buf, .len = r[0].len};
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, &again, 1), XCV_ENODEV);
    /* Reopened on the new device: traffic resumes while the caller still holds four. */
    assert_int_equal(nf_open_driver(), XCV_OK);
    struct xcv_net_frame g;
    nf_make_frame(&g, 5, 128, 3, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &g, 1), 1);
    struct xcv_net_rxref s;
    assert_int_equal(xcv_net_drv_receive_zc(&ndrv, &s, 1), 1);
    assert_lent(&s, &g);
    /* Forward one of the frames held across the restart. */
    struct xcv_net_txref u[2] = {{.buf = s.buf, .len = s.len},
                                 {.buf = r[1].buf, .len = r[1].len, .hdr = &r[1].hdr}};
    assert_int_equal(xcv_net_drv_send_zc(&ndrv, u, 2), 2);
    fx_pump();
    assert_int_equal(cap.calls, 2);
    nf_assert_captured_frame(0, &g);
    nf_assert_captured_frame(1, &f[1]);
    assert_int_equal(xcv_net_drv_reset(&ndrv), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0 - 3u);
    assert_int_equal(xcv_net_drv_release(&ndrv, r[0].buf), XCV_OK);
    assert_int_equal(xcv_net_drv_release(&ndrv, r[2].buf), XCV_OK);
    assert_int_equal(xcv_net_drv_release(&ndrv, r[3].buf), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0);
}

/* ---- 6. ownership under a random caller: nothing lost, nothing handed out twice ---- */

/* A caller that receives, releases, allocates and sends buffers in a random order, and sometimes
 * hands in buffers that are not its own (released, posted, twice in one call). The test keeps
 * the set of buffers the caller owns; the frames carry numbers, so a buffer reused while the
 * device still reads it would show as a wrong frame. */
#define OWN_MAX 96u

static struct {
    void *buf[OWN_MAX];
    unsigned n;
    uint32_t tx_next;  /* number of the next frame sent */
    uint32_t tx_seen;  /* frames the device transmitted */
    uint32_t rx_next;  /* number of the next frame delivered */
    uint32_t rx_taken; /* frames received */
    uint32_t state;
} own;

static uint32_t own_rand(void)
{
    own.state = own.state * 1103515245u + 12345u;
    return own.state >> 8;
}

static int own_find(const void *b)
{
    for (unsigned i = 0; i < own.n; i++) {
        if (own.buf[i] == b)
            return (int)i;
    }
    return -1;
}

static void own_drop(unsigned i)
{
    own.buf[i] = own.buf[--own.n];
}

static int own_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                        unsigned n, uint32_t len)
{
    (void)ctx;
    (void)hdr;
    uint32_t v;
    assert_int_equal(n, 1);
    assert_int_equal(len, 64);
    memcpy(&v, iov[0].base, sizeof(v));
    assert_int_equal(v, own.tx_seen); /* in order, and the bytes the caller wrote */
    own.tx_seen++;
    return XCV_OK;
}

static const struct xcv_net_backend_ops own_ops = {.transmit = own_transmit};
static const struct nf_opts own_opts = {
    .ops = &own_ops, .buf_size = 2048, .rx_buffers = 32, .dev_polled = true};

/* Every pool buffer is in exactly one place: the pool, the caller, or a ring. */
static void own_assert_conserved(void)
{
    uint32_t rings =
        xcv_vq_driver_in_flight(nf_drv_queue(XCV_NET_RXQ)) + xcv_vq_driver_in_flight(nf_txq());
    assert_int_equal(xcv_pool_available(&fx.pool) + own.n + rings, pool_avail0);
}

/* Some buffer that is not the caller's: a ring's or a free one (never NULL). */
static void *own_foreign(void)
{
    for (;;) {
        uint8_t *b = (uint8_t *)xcv_channel_pool_area(&fx.dch)->local +
                     (size_t)(own_rand() % pool_avail0) * 2048u;
        if (own_find(b) < 0)
            return b;
    }
}

static void own_step(void)
{
    switch (own_rand() % 7u) {
    case 0: { /* the device delivers numbered frames */
        struct xcv_net_frame f[8];
        static uint8_t data[8][64];
        unsigned k = 1u + own_rand() % 8u;
        for (unsigned i = 0; i < k; i++) {
            uint32_t v = own.rx_next + i;
            memset(data[i], 0x5a, sizeof(data[i]));
            memcpy(data[i], &v, sizeof(v));
            f[i] = (struct xcv_net_frame){.data = data[i], .len = 64};
        }
        int r = xcv_net_dev_deliver_burst(&ndev, f, k);
        assert_true(r > 0 || r == XCV_EAGAIN);
        own.rx_next += r > 0 ? (uint32_t)r : 0u;
        break;
    }
    case 1: { /* receive: each buffer new to the caller, frames in order */
        struct xcv_net_rxref r[8];
        unsigned k = 1u + own_rand() % 8u;
        if (own.n + k > OWN_MAX)
            break;
        int got = xcv_net_drv_receive_zc(&ndrv, r, k);
        assert_true(got > 0 || got == XCV_EAGAIN);
        for (int i = 0; i < got; i++) {
            uint32_t v;
            memcpy(&v, r[i].data, sizeof(v));
            assert_int_equal(v, own.rx_taken++);
            assert_int_equal(own_find(r[i].buf), -1);
            own.buf[own.n++] = r[i].buf;
        }
        break;
    }
    case 2: /* release one of the caller's, then one that is not */
        if (own.n != 0u) {
            unsigned i = own_rand() % own.n;
            assert_int_equal(xcv_net_drv_release(&ndrv, own.buf[i]), XCV_OK);
            own_drop(i);
        }
        assert_int_equal(xcv_net_drv_release(&ndrv, own_foreign()), XCV_EINVAL);
        break;
    case 3: /* take a buffer from the pool */
        if (own.n < OWN_MAX && xcv_pool_available(&fx.pool) > 0u)
            own.buf[own.n++] = nf_take_buf(NULL);
        break;
    case 4:
    case 5: { /* send some of the caller's; sometimes with a buffer that is not */
        if (own.n == 0u)
            break;
        struct xcv_net_txref t[8];
        unsigned m = 1u + own_rand() % (own.n < 8u ? own.n : 8u);
        unsigned pick[8];
        for (unsigned j = 0; j < m; j++) { /* distinct, so swap each pick out of the way */
            unsigned i = j + own_rand() % (own.n - j);
            void *tmp = own.buf[j];
            own.buf[j] = own.buf[i];
            own.buf[i] = tmp;
            pick[j] = j;
            t[j] = (struct xcv_net_txref){.buf = own.buf[j], .len = 64};
        }
        unsigned bad = own_rand() % 4u; /* 0: a duplicate, 1: a foreign buffer, else none */
        unsigned at = own_rand() % m;
        if (bad == 0u && m > 1u)
            t[at].buf = t[(at + 1u) % m].buf;
        else if (bad == 1u)
            t[at].buf = own_foreign();
        else
            bad = 2u;
        for (unsigned j = 0; j < m; j++) {
            if (own_find(t[j].buf) >= 0) { /* the caller's: number the frame */
                uint32_t v = own.tx_next + j;
                memcpy((uint8_t *)t[j].buf + NF_HDR, &v, sizeof(v));
            }
        }
        uint32_t avail = xcv_pool_available(&fx.pool);
        int r = xcv_net_drv_send_zc(&ndrv, t, m);
        if (bad != 2u) {
            assert_int_equal(r, XCV_EINVAL); /* refused whole: still the caller's */
            assert_int_equal(xcv_pool_available(&fx.pool), avail);
            break;
        }
        assert_true((r > 0 && r <= (int)m) || r == XCV_ENOSPC);
        unsigned sent = r > 0 ? (unsigned)r : 0u;
        own.tx_next += sent;
        for (unsigned j = sent; j-- > 0;)
            own_drop(pick[j]); /* the sent ones are the first ones */
        break;
    }
    default: /* the device transmits */
        assert_true(xcv_net_dev_run(&ndev, 1u + own_rand() % 40u) >= 0);
        break;
    }
    own_assert_conserved();
}

static void test_ownership_random_caller(void **state)
{
    (void)state;
    fx_pump();
    for (uint32_t seed = 1; seed <= 4u; seed++) {
        memset(&own, 0, sizeof(own));
        own.state = seed;
        for (unsigned step = 0; step < 3000u; step++)
            own_step();
        /* Drain: everything sent arrives, everything received was what was delivered. */
        while (xcv_net_dev_run(&ndev, 64) > 0)
            ;
        assert_int_equal(own.tx_seen, own.tx_next);
        assert_true(own.rx_taken <= own.rx_next);
        assert_true(own.tx_next > 100u && own.rx_taken > 100u); /* the run did something */
        while (own.n != 0u) {
            assert_int_equal(xcv_net_drv_release(&ndrv, own.buf[0]), XCV_OK);
            own_drop(0);
        }
        nf_assert_reset_returns_all();
        assert_int_equal(nf_open_driver(), XCV_OK);
        fx_pump();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ZC_TEST(test_receive_zc_lends, plain),
        ZC_TEST(test_receive_zc_args, plain),
        ZC_TEST(test_receive_zc_mrg_not_supported, mrg),
        ZC_TEST(test_receive_zc_after_held_frame, plain),
        ZC_TEST(test_receive_zc_skips_empty, small),
        ZC_TEST(test_receive_zc_pool_dry, three_rx),
        ZC_TEST(test_receive_zc_long_burst, full_rx),
        ZC_TEST(test_send_zc_in_place, plain),
        ZC_TEST(test_send_zc_bad_ref_posts_nothing, plain),
        ZC_TEST(test_send_zc_refuses_buffers_not_the_callers, plain),
        ZC_TEST(test_ownership_random_caller, own_opts),
        ZC_TEST(test_send_zc_len_limit_is_buffer, buf_1k),
        ZC_TEST(test_send_zc_ring_full, plain),
        ZC_TEST(test_forward_in_place, plain),
        ZC_TEST(test_forward_then_reset, polled),
        ZC_TEST(test_transmit_done_per_burst, lazy_polled),
        ZC_TEST(test_transmit_done_with_dropped_chain, lazy_polled),
        ZC_TEST(test_transmit_done_kicked, lazy_kicked),
        ZC_TEST(test_transmit_done_forwards, lazy_polled_full_rx),
        ZC_TEST(test_driver_reset_while_lent, plain),
        ZC_TEST(test_peer_restart_while_lent, plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
