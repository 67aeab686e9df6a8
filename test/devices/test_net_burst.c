/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net bursts (xcv_net_drv_send_burst, xcv_net_drv_receive_burst,
 * xcv_net_dev_deliver_burst) and busy-polled queues: the device model with a capturing backend
 * and the driver, both roles in one process. The fixture's ports count the doorbells of each
 * side, so "one notification per burst" and "no notification at all" are observable. A raw
 * device stands in for the model where a malformed frame is needed. */
#include "net_fixture.h"

/* The setups: the copying backend (cap), pool buffer size, receive buffers, polling. */
static const struct nf_opts plain = {.buf_size = 2048};
static const struct nf_opts small_mrg = {.mrg = true, .buf_size = 512};
static const struct nf_opts three_rx = {.buf_size = 2048, .rx_buffers = 3};
static const struct nf_opts polled = {.buf_size = 2048, .dev_polled = true, .drv_polled = true};
static const struct nf_opts polled_event_idx = {.buf_size = 2048,
                                                .dev_polled = true,
                                                .drv_polled = true,
                                                .ring_features =
                                                    XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};

/* ---- receive slots ---- */

static uint8_t rx_data[16][2048];

static void rx_slots(struct xcv_net_rxbuf *b, unsigned n, uint32_t capb)
{
    for (unsigned i = 0; i < n; i++) {
        memset(rx_data[i], 0, sizeof(rx_data[i]));
        b[i] = (struct xcv_net_rxbuf){.buf = rx_data[i], .cap = capb};
    }
}

/* Receive slot @b holds @f, which took @nb buffers. */
static void assert_received(const struct xcv_net_rxbuf *b, const struct xcv_net_frame *f,
                            uint16_t nb)
{
    assert_int_equal(b->len, f->len);
    if (f->len != 0u)
        assert_memory_equal(b->buf, f->data, f->len);
    nf_assert_hdr_fields(&b->hdr, f->hdr);
    assert_int_equal(b->hdr.num_buffers, nb); /* 5.1.6.4: set by the device */
}

/* ---- 1. a burst arrives in order, with one doorbell ---- */

static void test_send_burst_in_order(void **state)
{
    (void)state;
    fx_pump(); /* nothing of the open left in flight */
    struct xcv_net_hdr h[8];
    struct xcv_net_frame f[8];
    for (unsigned i = 0; i < 8; i++) {
        h[i] = (struct xcv_net_hdr){
            .flags = (i & 1u) != 0u ? XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM : 0u,
            .gso_type = (uint8_t)i,
            .hdr_len = (uint16_t)(40u + i),
            .gso_size = (uint16_t)(100u * i),
            .csum_start = (uint16_t)(14u + i),
            .csum_offset = (uint16_t)(6u + i),
            .num_buffers = 5, /* must not reach the device */
        };
        nf_make_frame(&f[i], i, 60u + 193u * i, 11, &h[i]);
    }
    nf_make_frame(&f[3], 3, 1514, 11, NULL); /* all-zero header, at the frame limit */
    nf_make_frame(&f[5], 5, 0, 11, &h[5]);   /* empty frame: the header alone */
    uint32_t avail = xcv_pool_available(&fx.pool);
    unsigned rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 8), 8);
    /* One doorbell and one message for the whole burst; every frame in its own buffer. */
    assert_int_equal(fx.drv_rings - rings, 1);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 8);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 8u);
    assert_int_equal(cap.calls, 0);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 8);
    for (unsigned i = 0; i < 8; i++)
        nf_assert_captured_frame(i, &f[i]);
    uint64_t bytes = 0;
    for (unsigned i = 0; i < 8; i++)
        bytes += f[i].len;
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_frames, 8);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_bytes, bytes);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_dropped, 0);
    /* The device drained the ring and re-armed: the next burst rings exactly once again, and
     * the completed buffers are reclaimed first. */
    (void)xcv_channel_poll(&fx.dch, 64);
    rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, &f[1], 3), 3);
    assert_int_equal(fx.drv_rings - rings, 1);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 3);
    assert_int_equal(xcv_pool_available(&fx.pool), avail - 3u);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 11);
    for (unsigned i = 0; i < 3; i++)
        nf_assert_captured_frame(8u + i, &f[1u + i]);
    /* The single-frame send is a burst of one: one doorbell too. */
    (void)xcv_channel_poll(&fx.dch, 64);
    rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_send(&ndrv, &h[2], f[2].data, f[2].len), XCV_OK);
    assert_int_equal(fx.drv_rings - rings, 1);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 12);
    nf_assert_captured_frame(11, &f[2]);
    nf_assert_reset_returns_all();
}

/* ---- 2. one bad frame fails the whole burst, before anything is posted ---- */

static void test_send_burst_bad_frame_posts_nothing(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[3];
    nf_make_frame(&f[0], 0, 60, 3, NULL);
    nf_make_frame(&f[1], 1, 1515, 3, NULL); /* MTU + 14 + 1 */
    nf_make_frame(&f[2], 2, 60, 3, NULL);
    uint32_t avail = xcv_pool_available(&fx.pool);
    unsigned rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 3), XCV_EINVAL);
    /* The last frame bad, too. */
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, &f[1], 1), XCV_EINVAL);
    struct xcv_net_frame g[3] = {f[0], f[2], f[1]};
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, g, 3), XCV_EINVAL);
    /* NULL data with a length in the middle. */
    f[1] = (struct xcv_net_frame){.hdr = NULL, .data = NULL, .len = 10};
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 3), XCV_EINVAL);
    /* Nothing posted, no buffer taken, no doorbell; the device sees nothing. */
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 0);
    assert_int_equal(xcv_pool_available(&fx.pool), avail);
    assert_int_equal(fx.drv_rings, rings);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 0);
    fx_pump();
    assert_int_equal(cap.calls, 0);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_frames, 0);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_dropped, 0);
    /* Exactly at the limit the same burst goes through whole, in order. */
    nf_make_frame(&f[1], 1, 1514, 3, NULL);
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 3), 3);
    fx_pump();
    assert_int_equal(cap.calls, 3);
    for (unsigned i = 0; i < 3; i++)
        nf_assert_captured_frame(i, &f[i]);
    nf_assert_reset_returns_all();
}

/* ---- 3. partial bursts: pool or ring runs out; argument checks ---- */

static void test_send_burst_partial(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[70];
    for (unsigned i = 0; i < 70; i++)
        nf_make_frame(&f[i], i, 60u + 7u * i, 50, NULL);
    /* Three pool buffers for six frames: the first three are sent and published, once. */
    unsigned n_held = nf_hold_pool_until(3);
    unsigned rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 6), 3);
    assert_int_equal(fx.drv_rings - rings, 1);
    assert_int_equal(xcv_pool_available(&fx.pool), 0);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 3);
    /* Nothing used yet and the pool is empty: nothing is sent, the error says why. */
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, &f[3], 3), XCV_ENOMEM);
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, f[3].data, f[3].len), XCV_ENOMEM);
    assert_int_equal(fx.drv_rings - rings, 1);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 3);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 3);
    for (unsigned i = 0; i < 3; i++)
        nf_assert_captured_frame(i, &f[i]);
    /* The rest was left with the caller: the next burst reclaims the used buffers and sends it. */
    (void)xcv_channel_poll(&fx.dch, 64);
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, &f[3], 3), 3);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 6);
    for (unsigned i = 3; i < 6; i++)
        nf_assert_captured_frame(i, &f[i]);
    nf_free_held(n_held);

    /* Count 0, NULL frames, NULL driver: no buffer, no doorbell. */
    (void)xcv_channel_poll(&fx.dch, 64);
    uint32_t avail = xcv_pool_available(&fx.pool);
    rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 0), 0);
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, NULL, 0), 0);
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, NULL, 2), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_send_burst(NULL, f, 1), XCV_EINVAL);
    assert_int_equal(fx.drv_rings, rings);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 0);
    assert_int_equal(cap.calls, 6);

    /* A 64-entry transmitq and 70 frames: 64 go, 6 stay with the caller. */
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 70), 64);
    assert_int_equal(fx.drv_rings - rings, 1);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 64);
    uint32_t full = xcv_pool_available(&fx.pool);
    assert_int_equal(full, avail - 64u + 3u); /* the three used buffers were reclaimed */
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, &f[64], 6), XCV_ENOSPC);
    assert_int_equal(xcv_pool_available(&fx.pool), full); /* the buffer tried went back */
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 70);
    for (unsigned i = 0; i < 64; i++)
        nf_assert_captured_frame(6u + i, &f[i]);
    (void)xcv_channel_poll(&fx.dch, 64);
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, &f[64], 6), 6);
    fx_pump();
    assert_int_equal(cap.calls, 76);
    for (unsigned i = 64; i < 70; i++)
        nf_assert_captured_frame(6u + i, &f[i]);
    nf_assert_reset_returns_all();
    /* Not open any more. */
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 1), XCV_ENODEV);
}

/* ---- 4. deliver a burst, receive it in smaller bursts ---- */

static void test_deliver_receive_burst(void **state)
{
    (void)state;
    fx_pump();
    static const uint32_t lens[6] = {100, 1514, 0, 60, 777, 1000};
    struct xcv_net_hdr h[6];
    struct xcv_net_frame f[6];
    for (unsigned i = 0; i < 6; i++) {
        h[i] = (struct xcv_net_hdr){.flags = XCV_VIRTIO_NET_HDR_F_DATA_VALID,
                                    .gso_type = 0,
                                    .hdr_len = (uint16_t)(i + 1u),
                                    .csum_start = (uint16_t)(20u + i),
                                    .csum_offset = (uint16_t)(4u + i),
                                    .num_buffers = 77}; /* replaced by the model */
        nf_make_frame(&f[i], i, lens[i], 90, &h[i]);
    }
    f[3].hdr = NULL;
    unsigned vr = fx.dev_rings;
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 6), 6);
    /* One used notification for the burst. */
    assert_int_equal(fx.dev_rings - vr, 1);
    assert_int_equal(xcv_channel_poll(&fx.dch, 64), 1);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_frames, 6);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_bytes, 100 + 1514 + 0 + 60 + 777 + 1000);
    struct xcv_net_rxbuf b[4];
    rx_slots(b, 4, 2048);
    unsigned rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 4), 4);
    /* The four buffers are reposted with one doorbell. */
    assert_int_equal(fx.drv_rings - rings, 1);
    for (unsigned i = 0; i < 4; i++)
        assert_received(&b[i], &f[i], 1); /* 5.1.6.4: 1 without MRG_RXBUF */
    rx_slots(b, 4, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 4), 2);
    assert_received(&b[0], &f[4], 1);
    assert_received(&b[1], &f[5], 1);
    assert_int_equal(b[2].len, 0); /* untouched */
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 4), XCV_EAGAIN);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 0), 0);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, NULL, 0), 0);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, NULL, 1), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_receive_burst(NULL, b, 1), XCV_EINVAL);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 0);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_empty, 0);

    /* Device-side argument checks; a frame over the limit stops the burst behind it. */
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 0), 0);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, NULL, 0), 0);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, NULL, 1), XCV_EINVAL);
    assert_int_equal(xcv_net_dev_deliver_burst(NULL, f, 1), XCV_EINVAL);
    struct xcv_net_frame g[3];
    nf_make_frame(&g[0], 0, 60, 7, NULL);
    nf_make_frame(&g[1], 1, 1515, 7, NULL);
    nf_make_frame(&g[2], 2, 60, 7, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, g, 3), 1);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &g[1], 2), XCV_EINVAL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &g[2], 1), 1);
    rx_slots(b, 4, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 4), 2);
    assert_received(&b[0], &g[0], 1);
    assert_received(&b[1], &g[2], 1);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_frames, 8);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 0);
    nf_assert_reset_returns_all();
}

/* With MRG_RXBUF a burst of frames spanning several buffers: num_buffers per frame. */
static void test_deliver_receive_burst_mrg(void **state)
{
    (void)state;
    assert_true(xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF));
    fx_pump();
    static const uint32_t lens[5] = {1514, 60, 1000, 0, 500};
    static const uint16_t nbufs[5] = {3, 1, 2, 1, 1}; /* (12 + len) over 512-byte buffers */
    struct xcv_net_hdr h = {.flags = XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM,
                            .csum_start = 34,
                            .csum_offset = 16,
                            .num_buffers = 9};
    struct xcv_net_frame f[5];
    for (unsigned i = 0; i < 5; i++)
        nf_make_frame(&f[i], i, lens[i], 33, &h);
    unsigned vr = fx.dev_rings;
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 5), 5);
    assert_int_equal(fx.dev_rings - vr, 1);
    struct xcv_net_rxbuf b[3];
    rx_slots(b, 3, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_received(&b[i], &f[i], nbufs[i]);
    rx_slots(b, 3, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 2);
    assert_received(&b[0], &f[3], nbufs[3]);
    assert_received(&b[1], &f[4], nbufs[4]);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), XCV_EAGAIN);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 0);
    /* The buffers came back: the same burst goes through again. */
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 5), 5);
    rx_slots(b, 3, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 3);
    assert_received(&b[2], &f[2], nbufs[2]);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 2);
    nf_assert_reset_returns_all();
}

/* The driver posted 3 buffers: a burst of 5 delivers 3, the other 2 stay with the caller. */
static void test_deliver_burst_partial(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[5];
    for (unsigned i = 0; i < 5; i++)
        nf_make_frame(&f[i], i, 100u + 50u * i, 60, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 5), 3);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_frames, 3);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 0);
    /* Nothing posted any more: nothing is taken. */
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f[3], 2), XCV_EAGAIN);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 0);
    fx_pump();
    unsigned ready = cap.rx_ready;
    struct xcv_net_rxbuf b[8];
    rx_slots(b, 8, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 8), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_received(&b[i], &f[i], 1);
    /* The refill told the device (it had armed the receiveq when it ran dry). */
    assert_true(xcv_channel_poll(&fx.vch, 64) >= 1);
    assert_int_equal(cap.rx_ready, ready + 1u);
    /* The two frames left behind go now, unchanged. */
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f[3], 2), 2);
    rx_slots(b, 8, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 8), 2);
    assert_received(&b[0], &f[3], 1);
    assert_received(&b[1], &f[4], 1);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_frames, 5);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_empty, 0);
    nf_assert_reset_returns_all();
}

/* ---- 5. a frame that does not fit its slot; a malformed frame ---- */

static void test_receive_burst_slot_too_small(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[4];
    nf_make_frame(&f[0], 0, 100, 21, NULL);
    nf_make_frame(&f[1], 1, 300, 21, NULL);
    nf_make_frame(&f[2], 2, 150, 21, NULL);
    nf_make_frame(&f[3], 3, 90, 21, NULL);
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 4), 4);
    struct xcv_net_rxbuf b[3];
    rx_slots(b, 3, 2048);
    b[1].cap = 200; /* the second frame is 300 bytes */
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 1);
    assert_received(&b[0], &f[0], 1);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 0);
    /* The next call reports it: dropped and counted. */
    rx_slots(b, 3, 200);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), XCV_ENOMEM);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 1);
    /* The frames behind it still arrive, in order. */
    rx_slots(b, 3, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 2);
    assert_received(&b[0], &f[2], 1);
    assert_received(&b[1], &f[3], 1);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), XCV_EAGAIN);
    /* The first frame of a call too big for its slot: dropped at once. */
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 2), 2);
    rx_slots(b, 3, 2048);
    b[0].cap = 99;
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), XCV_ENOMEM);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 2);
    rx_slots(b, 3, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 1);
    assert_received(&b[0], &f[1], 1);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 0); /* the device dropped nothing */
    nf_assert_reset_returns_all();
}

/* A raw device (MRG_RXBUF) that writes its own headers into the receive buffers. */
static void test_receive_burst_malformed_after_good(void **state)
{
    (void)state;
    nf_rogue_setup();
    assert_true(xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF));
    uint8_t a[10];
    uint8_t bad[10];
    uint8_t c[20];
    nf_fill(a, sizeof(a), 1);
    nf_fill(bad, sizeof(bad), 2);
    nf_fill(c, sizeof(c), 3);
    nf_rogue_rx(1, a, sizeof(a));
    nf_rogue_rx(0, bad, sizeof(bad)); /* 5.1.6.4: num_buffers 0 is malformed */
    nf_rogue_rx(1, c, sizeof(c));
    struct xcv_net_rxbuf b[3];
    rx_slots(b, 3, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 1);
    assert_int_equal(b[0].len, sizeof(a));
    assert_memory_equal(b[0].buf, a, sizeof(a));
    assert_int_equal(b[0].hdr.num_buffers, 1);
    assert_int_equal(b[0].hdr.csum_start, 7);
    assert_int_equal(b[1].len, 0); /* nothing of the malformed frame reached a slot */
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 1);
    /* The next call reports it, and takes nothing else. */
    rx_slots(b, 3, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), XCV_EPROTO_DEVICE);
    assert_int_equal(b[0].len, 0);
    /* The frame behind it still arrives. */
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 1);
    assert_int_equal(b[0].len, sizeof(c));
    assert_memory_equal(b[0].buf, c, sizeof(c));
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), XCV_EAGAIN);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 1);
    /* Over the span limit after a good one: the same. */
    nf_rogue_rx(1, a, sizeof(a));
    nf_rogue_rx(XCV_NET_MAX_MRG + 1u, bad, sizeof(bad));
    rx_slots(b, 3, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), 1);
    assert_memory_equal(b[0].buf, a, sizeof(a));
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), XCV_EPROTO_DEVICE);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 3), XCV_EAGAIN);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 2);
    nf_assert_reset_returns_all();
}

/* ---- 6. busy-polled queues: no notifications either way ---- */

static void polled_round_trip(void)
{
    /* The open posted receive buffers and asked for nothing: no kick is pending. */
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 0);
    assert_int_equal(xcv_channel_poll(&fx.dch, 64), 0);
    unsigned rings = fx.drv_rings;
    unsigned vr = fx.dev_rings;
    struct xcv_net_frame f[24];
    for (unsigned i = 0; i < 24; i++)
        nf_make_frame(&f[i], i, 60u + 50u * i, 70, NULL);
    for (unsigned k = 0; k < 3; k++)
        assert_int_equal(xcv_net_drv_send_burst(&ndrv, &f[8u * k], 8), 8);
    assert_int_equal(fx.drv_rings, rings);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 0);
    assert_int_equal(cap.calls, 0);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 24);
    /* The owner runs the model: the budget bounds each run. */
    assert_int_equal(xcv_net_dev_run(&ndev, 10), 10);
    assert_true(xcv_net_dev_pending(&ndev));
    assert_int_equal(cap.calls, 10);
    assert_int_equal(xcv_net_dev_run(&ndev, 10), 10);
    assert_int_equal(xcv_net_dev_run(&ndev, 10), 4);
    assert_false(xcv_net_dev_pending(&ndev));
    assert_int_equal(xcv_net_dev_run(&ndev, 10), 0);
    assert_int_equal(cap.calls, 24);
    for (unsigned i = 0; i < 24; i++)
        nf_assert_captured_frame(i, &f[i]);
    /* No used notification went to the driver; its next send reclaims by polling. */
    assert_int_equal(fx.dev_rings, vr);
    assert_int_equal(xcv_channel_poll(&fx.dch, 64), 0);
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 2), 2);
    assert_int_equal(xcv_vq_driver_in_flight(nf_txq()), 2);
    assert_int_equal(fx.drv_rings, rings);
    assert_int_equal(xcv_net_dev_run(&ndev, 10), 2);
    assert_int_equal(cap.calls, 26);

    /* Receive: deliver and take without a doorbell either way. */
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 5), 5);
    assert_int_equal(fx.dev_rings, vr);
    assert_int_equal(xcv_channel_poll(&fx.dch, 64), 0);
    struct xcv_net_rxbuf b[8];
    rx_slots(b, 8, 2048);
    assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 8), 5);
    for (unsigned i = 0; i < 5; i++)
        assert_received(&b[i], &f[i], 1);
    assert_int_equal(fx.drv_rings, rings); /* the refill did not kick */
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 0);
    assert_int_equal(cap.rx_ready, 0);
    /* More than the posted receive buffers, in rounds: the reposts keep it going. */
    for (unsigned k = 0; k < 4; k++) {
        assert_int_equal(xcv_net_dev_deliver_burst(&ndev, &f[k * 6u], 6), 6);
        rx_slots(b, 8, 2048);
        assert_int_equal(xcv_net_drv_receive_burst(&ndrv, b, 8), 6);
        for (unsigned i = 0; i < 6; i++)
            assert_received(&b[i], &f[k * 6u + i], 1);
    }
    assert_int_equal(fx.drv_rings, rings);
    assert_int_equal(fx.dev_rings, vr);
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 0);
    assert_int_equal(xcv_channel_poll(&fx.dch, 64), 0);
}

static void polled_body(void)
{
    polled_round_trip();
    /* After a reset the reopened queues are polled again. */
    nf_assert_reset_returns_all();
    fx_pump();
    memset(&cap, 0, sizeof(cap));
    assert_int_equal(nf_open_driver(), XCV_OK);
    polled_round_trip();
    nf_assert_reset_returns_all();
}

/* Without EVENT_IDX the hints are the NO_NOTIFY and NO_INTERRUPT flags. */
static void test_polled_flags(void **state)
{
    (void)state;
    assert_false(xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX));
    polled_body();
}

/* With EVENT_IDX the hints are avail_event and used_event. */
static void test_polled_event_idx(void **state)
{
    (void)state;
    assert_true(xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX));
    polled_body();
}

/* Control: the same traffic without polling rings on every burst (the counts above mean
 * something). */
static void test_not_polled_rings(void **state)
{
    (void)state;
    fx_pump();
    struct xcv_net_frame f[8];
    for (unsigned i = 0; i < 8; i++)
        nf_make_frame(&f[i], i, 64, 5, NULL);
    unsigned rings = fx.drv_rings;
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 8), 8);
    assert_int_equal(fx.drv_rings - rings, 1);
    /* The kick ran the model from the channel poll, without xcv_net_dev_run(). */
    assert_int_equal(xcv_channel_poll(&fx.vch, 64), 1);
    assert_int_equal(cap.calls, 8);
    /* Take the transmit notification the device sent: until the driver takes it, a further
     * notification coalesces with it and rings no doorbell (the event word). */
    assert_true(xcv_channel_poll(&fx.dch, 64) >= 0);
    unsigned vr = fx.dev_rings;
    assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 4), 4);
    assert_int_equal(fx.dev_rings - vr, 1);
    nf_assert_reset_returns_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        NF_TEST(test_send_burst_in_order, plain),
        NF_TEST(test_send_burst_bad_frame_posts_nothing, plain),
        NF_TEST(test_send_burst_partial, plain),
        NF_TEST(test_deliver_receive_burst, plain),
        NF_TEST(test_deliver_receive_burst_mrg, small_mrg),
        NF_TEST(test_deliver_burst_partial, three_rx),
        NF_TEST(test_receive_burst_slot_too_small, plain),
        cmocka_unit_test(test_receive_burst_malformed_after_good),
        NF_TEST(test_polled_flags, polled),
        NF_TEST(test_polled_event_idx, polled_event_idx),
        NF_TEST(test_not_polled_rings, plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
