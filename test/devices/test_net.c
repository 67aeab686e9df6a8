/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net (virtio 1.2, section 5.1): device model with a capturing backend and the driver,
 * both roles in one process. Hostile-driver tests post raw chains on the driver's queues. */
#include "net_fixture.h"

static const uint8_t test_mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};

/* The setups: the copying backend (cap), the MAC above, pool buffer size, receive buffers. */
static const struct nf_opts plain = {.mac = test_mac, .buf_size = 2048};
static const struct nf_opts small_mrg = {.mac = test_mac, .mrg = true, .buf_size = 512};
static const struct nf_opts small_plain = {.mac = test_mac, .buf_size = 512};
static const struct nf_opts small_mrg_two_rx = {
    .mac = test_mac, .mrg = true, .buf_size = 512, .rx_buffers = 2};
static const struct nf_opts plain_one_rx = {.mac = test_mac, .buf_size = 2048, .rx_buffers = 1};

/* Receive one frame, pumping the device side. */
static int recv_one(struct xcv_net_hdr *h, uint8_t *buf, uint32_t capb, uint32_t *len)
{
    int r = XCV_EAGAIN;
    for (int i = 0; i < 20 && r == XCV_EAGAIN; i++) {
        r = xcv_net_drv_receive(&ndrv, h, buf, capb, len);
        if (r == XCV_EAGAIN)
            fx_pump();
    }
    return r;
}

/* ---- config (5.1.4) ---- */

static void test_config_mac_mtu_status(void **state)
{
    (void)state;
    uint64_t f = xcv_net_drv_features(&ndrv);
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_NET_F_MAC));
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_NET_F_MTU));
    assert_true(f & XCV_FEATURE(XCV_VIRTIO_NET_F_STATUS));
    assert_false(f & XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF)); /* not offered here */
    assert_memory_equal(xcv_net_drv_mac(&ndrv), test_mac, 6);
    assert_int_equal(xcv_net_drv_mtu(&ndrv), 1500);
    uint8_t c[XCV_VIRTIO_NET_CFG_SIZE];
    assert_int_equal(xcv_vdrv_read_config(&ndrv.vdrv, 0, c, sizeof(c)), XCV_OK);
    assert_int_equal(xcv_le16_load(c + XCV_VIRTIO_NET_CFG_MAX_VQ_PAIRS), 1);
    assert_int_equal(xcv_le16_load(c + XCV_VIRTIO_NET_CFG_MTU), 1500);
    assert_int_equal(xcv_net_drv_link_up(&ndrv), 1);
    /* 5.1.4: the config space is read-only for the driver: a write is refused. */
    uint8_t evil[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(xcv_vdrv_write_config(&ndrv.vdrv, 0, evil, 6), XCV_EINVAL);
    assert_int_equal(xcv_vdrv_read_config(&ndrv.vdrv, 0, c, 6), XCV_OK);
    assert_memory_equal(c, test_mac, 6);
    /* The device changes the link status; the driver sees it. */
    assert_int_equal(xcv_net_dev_set_link(&ndev, false), XCV_OK);
    fx_pump();
    assert_int_equal(xcv_net_drv_link_up(&ndrv), 0);
    assert_int_equal(xcv_net_dev_set_link(&ndev, true), XCV_OK);
    fx_pump();
    assert_int_equal(xcv_net_drv_link_up(&ndrv), 1);
    nf_assert_reset_returns_all();
}

/* ---- transmit round trip (5.1.6.2): header fields pass through unchanged ---- */

static void test_tx_round_trip(void **state)
{
    (void)state;
    uint8_t frame[1514];
    nf_fill(frame, sizeof(frame), 1);
    struct xcv_net_hdr h = {.flags = XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM,
                            .gso_type = 0x03,
                            .hdr_len = 54,
                            .gso_size = 1448,
                            .csum_start = 34,
                            .csum_offset = 16,
                            .num_buffers = 7};
    assert_int_equal(xcv_net_drv_send(&ndrv, &h, frame, sizeof(frame)), XCV_OK);
    fx_pump();
    assert_int_equal(cap.calls, 1);
    assert_int_equal(cap.len[0], sizeof(frame));
    assert_memory_equal(cap.frame[0], frame, sizeof(frame));
    assert_int_equal(cap.hdr[0].flags, XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(cap.hdr[0].gso_type, 0x03);
    assert_int_equal(cap.hdr[0].hdr_len, 54);
    assert_int_equal(cap.hdr[0].gso_size, 1448);
    assert_int_equal(cap.hdr[0].csum_start, 34);
    assert_int_equal(cap.hdr[0].csum_offset, 16);
    assert_int_equal(cap.hdr[0].num_buffers, 0); /* 5.1.6.2.1: the driver sends 0 */
    /* Many frames in a row; a backend error is counted and the chain still completes. */
    for (uint8_t i = 0; i < 40; i++) {
        nf_fill(frame, 60, i);
        assert_int_equal(xcv_net_drv_send(&ndrv, NULL, frame, 60), XCV_OK);
        fx_pump();
        assert_memory_equal(cap.frame[1u + i], frame, 60);
    }
    cap.ret = XCV_EIO;
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, frame, 60), XCV_OK);
    fx_pump();
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_errors, 1);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_frames, 41);
    /* The driver refuses a frame over MTU + 14 (5.1.6.2.1 with MTU). */
    uint8_t big[1600] = {0};
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, big, 1515), XCV_EINVAL);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_dropped, 0);
    nf_assert_reset_returns_all();
}

/* ---- receive without MRG_RXBUF (5.1.6.3, 5.1.6.4) ---- */

static void test_rx_plain(void **state)
{
    (void)state;
    uint8_t frame[1514];
    nf_fill(frame, sizeof(frame), 9);
    struct xcv_net_hdr h = {.flags = XCV_VIRTIO_NET_HDR_F_DATA_VALID,
                            .gso_type = 0,
                            .csum_start = 14,
                            .csum_offset = 6};
    assert_int_equal(xcv_net_dev_deliver(&ndev, &h, frame, sizeof(frame)), XCV_OK);
    struct xcv_net_hdr got;
    uint8_t buf[2048];
    uint32_t len = 0;
    assert_int_equal(recv_one(&got, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, sizeof(frame));
    assert_memory_equal(buf, frame, sizeof(frame));
    assert_int_equal(got.flags, XCV_VIRTIO_NET_HDR_F_DATA_VALID);
    assert_int_equal(got.csum_start, 14);
    assert_int_equal(got.csum_offset, 6);
    assert_int_equal(got.num_buffers, 1); /* 5.1.6.4: 1 without MRG_RXBUF */
    /* Nothing more, and a frame over the limit is refused by the model. */
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, buf, sizeof(buf), &len), XCV_EAGAIN);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 1515), XCV_EINVAL);
    /* Receive buffers are reposted: more frames than the posted count go through. */
    for (uint8_t i = 0; i < 80; i++) {
        nf_fill(frame, 100, i);
        assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 100), XCV_OK);
        assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_OK);
        assert_int_equal(len, 100);
        assert_memory_equal(buf, frame, 100);
    }
    /* A frame bigger than the caller's buffer is dropped by the driver. */
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 100), XCV_OK);
    assert_int_equal(recv_one(NULL, buf, 50, &len), XCV_ENOMEM);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 1);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_frames, 82);
    nf_assert_reset_returns_all();
}

/* Without MRG_RXBUF one chain must hold header and frame, or the frame is dropped. */
static void test_rx_plain_too_small(void **state)
{
    (void)state;
    uint8_t frame[1000];
    nf_fill(frame, sizeof(frame), 3);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, sizeof(frame)), XCV_ENOMEM);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 1);
    uint8_t buf[2048];
    uint32_t len;
    /* The chain came back empty; the driver reposts it and reports nothing. */
    assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_EAGAIN);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_empty, 1);
    /* A frame that fits (500 + 12 <= 512) still goes through. */
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 500), XCV_OK);
    assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, 500);
    assert_memory_equal(buf, frame, 500);
    nf_assert_reset_returns_all();
}

/* ---- receive with MRG_RXBUF: one frame over several buffers (5.1.6.3.2, 5.1.6.4) ---- */

static void test_rx_mrg_spanning(void **state)
{
    (void)state;
    assert_true(xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF));
    uint8_t frame[1514];
    nf_fill(frame, sizeof(frame), 77);
    struct xcv_net_hdr h = {.flags = XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM,
                            .csum_start = 34,
                            .csum_offset = 16,
                            .num_buffers = 99};
    assert_int_equal(xcv_net_dev_deliver(&ndev, &h, frame, sizeof(frame)), XCV_OK);
    struct xcv_net_hdr got;
    uint8_t buf[2048];
    uint32_t len = 0;
    assert_int_equal(recv_one(&got, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, sizeof(frame));
    assert_memory_equal(buf, frame, sizeof(frame));
    /* 12 + 1514 bytes over 512-byte buffers: 3 buffers, and the model sets the count. */
    assert_int_equal(got.num_buffers, 3);
    assert_int_equal(got.flags, XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(got.csum_start, 34);
    assert_int_equal(got.csum_offset, 16);
    /* A small frame takes one buffer; an empty frame is just the header. */
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 64), XCV_OK);
    assert_int_equal(recv_one(&got, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, 64);
    assert_int_equal(got.num_buffers, 1);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, NULL, 0), XCV_OK);
    assert_int_equal(recv_one(&got, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, 0);
    /* Back-to-back large frames keep reusing the reposted buffers. */
    for (uint8_t i = 0; i < 50; i++) {
        nf_fill(frame, sizeof(frame), i);
        assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, sizeof(frame)), XCV_OK);
        assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_OK);
        assert_memory_equal(buf, frame, sizeof(frame));
    }
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 0);
    nf_assert_reset_returns_all();
}

/* MRG_RXBUF with too few buffers posted: the frame is dropped, the chains come back empty. */
static void test_rx_mrg_not_enough(void **state)
{
    (void)state;
    assert_int_equal(nf_setup(&small_mrg_two_rx), XCV_OK);
    uint8_t frame[1514];
    nf_fill(frame, sizeof(frame), 5);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, sizeof(frame)), XCV_ENOMEM);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 1);
    uint8_t buf[2048];
    uint32_t len;
    assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_EAGAIN);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_empty, 2);
    /* A frame that fits the two reposted buffers goes through... */
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 900), XCV_OK); /* 2 buffers */
    /* ...and with nothing posted any more the model takes nothing and says so. */
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 60), XCV_EAGAIN);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 1);
    struct xcv_net_hdr got;
    assert_int_equal(recv_one(&got, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, 900);
    assert_int_equal(got.num_buffers, 2);
    assert_memory_equal(buf, frame, 900);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 60), XCV_OK);
    assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, 60);
    nf_assert_reset_returns_all();
}

/* ---- hostile driver: raw chains ---- */

struct raw {
    uint8_t *p;
    uint64_t bus;
};

static struct raw raw_buf(void)
{
    struct raw r;
    r.p = nf_take_buf(&r.bus);
    memset(r.p, 0xee, xcv_pool_buf_size(&fx.pool));
    return r;
}

/* Post a raw transmit chain (token: its pool buffer), run the device, return the used len. */
static uint32_t raw_tx(const struct raw *b, const struct xcv_sg *sg, unsigned n_out, unsigned n_in)
{
    struct xcv_vq_driver *q = nf_txq();
    assert_int_equal(xcv_vq_driver_add(q, sg, n_out, n_in, b->p), XCV_OK);
    assert_true(xcv_vq_driver_kick(q) >= 0);
    for (int i = 0; i < 50; i++) {
        fx_pump();
        void *tok;
        uint32_t len;
        int r = xcv_vq_driver_get_used(q, &tok, &len);
        if (r == XCV_OK) {
            assert_ptr_equal(tok, b->p);
            return len;
        }
        assert_int_equal(r, XCV_EAGAIN);
    }
    fail_msg("chain not used");
    return 0;
}

static void test_hostile_tx(void **state)
{
    (void)state;
    struct raw b = raw_buf();
    /* Short header: 8 readable bytes (5.1.6.2: every buffer starts with the 12-byte header). */
    struct xcv_sg s1[1] = {{b.bus, 8}};
    assert_int_equal(raw_tx(&b, s1, 1, 0), 0);
    /* A device-writable segment on the transmitq: nothing is written into it. */
    struct xcv_sg s2[2] = {{b.bus, 60}, {b.bus + 1024, 64}};
    assert_int_equal(raw_tx(&b, s2, 1, 1), 0);
    assert_int_equal(b.p[1024], 0xee);
    /* Oversize: header + 1515 bytes with an MTU of 1500. */
    struct xcv_sg s3[1] = {{b.bus, 12 + 1515}};
    assert_int_equal(raw_tx(&b, s3, 1, 0), 0);
    assert_int_equal(cap.calls, 0);
    assert_int_equal(xcv_net_dev_stats(&ndev)->tx_dropped, 3);
    /* Header split over segments, frame over several: fine (2.6.4), exactly at the limit. */
    memset(b.p, 0, 12);
    b.p[0] = XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM;
    nf_fill(b.p + 12, 1514, 4);
    struct xcv_sg s4[3] = {{b.bus, 5}, {b.bus + 5, 100}, {b.bus + 105, 12 + 1514 - 105}};
    assert_int_equal(raw_tx(&b, s4, 3, 0), 0);
    assert_int_equal(cap.calls, 1);
    assert_int_equal(cap.len[0], 1514);
    assert_int_equal(cap.hdr[0].flags, XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_memory_equal(cap.frame[0], b.p + 12, 1514);
    assert_int_equal(xcv_pool_free(&fx.pool, b.p), XCV_OK);
    /* The queue is still healthy: the driver still sends. */
    uint8_t f[60] = {1, 2, 3};
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, f, sizeof(f)), XCV_OK);
    fx_pump();
    assert_int_equal(cap.calls, 2);
    nf_assert_reset_returns_all();
}

/* Post a raw receive chain; the driver will meet it as a returned receive buffer. */
static void raw_rx(const struct raw *b, const struct xcv_sg *sg, unsigned n_out, unsigned n_in)
{
    struct xcv_vq_driver *q = nf_drv_queue(XCV_NET_RXQ);
    assert_int_equal(xcv_vq_driver_add(q, sg, n_out, n_in, b->p), XCV_OK);
    assert_true(xcv_vq_driver_kick(q) >= 0);
}

static void test_hostile_rx(void **state)
{
    (void)state;
    /* One driver buffer posted, then hostile chains behind it. */
    assert_int_equal(nf_setup(&plain_one_rx), XCV_OK);
    uint8_t frame[200];
    nf_fill(frame, sizeof(frame), 21);
    struct raw a = raw_buf();
    struct raw b = raw_buf();
    /* A readable segment on the receiveq (5.1.6.3.1: receive buffers are device-writable). */
    struct xcv_sg sa[2] = {{a.bus, 64}, {a.bus + 1024, 512}};
    /* Too short for the header. */
    struct xcv_sg sb[1] = {{b.bus, 4}};
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 100), XCV_OK); /* driver buffer */
    raw_rx(&a, sa, 1, 1);
    raw_rx(&b, sb, 0, 1);
    uint8_t buf[2048];
    uint32_t len;
    assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_OK); /* reposts behind */
    assert_int_equal(len, 100);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, sizeof(frame)), XCV_OK);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_bad_chain, 2);
    /* Nothing was written into the hostile chains. */
    assert_int_equal(a.p[0], 0xee);
    assert_int_equal(a.p[1024], 0xee);
    assert_int_equal(b.p[0], 0xee);
    /* The driver takes the two empty chains back into the pool, then the frame. */
    assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, sizeof(frame));
    assert_memory_equal(buf, frame, sizeof(frame));
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_empty, 2);
    nf_assert_reset_returns_all();
}

/* ---- reset and peer restart reclaim every buffer (5.1.6, 2.4) ---- */

static void test_reset_reclaims(void **state)
{
    (void)state;
    uint8_t f[100] = {0};
    /* Transmit buffers in flight (not yet processed), receive buffers posted. */
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, f, sizeof(f)), XCV_OK);
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, f, sizeof(f)), XCV_OK);
    assert_true(xcv_pool_available(&fx.pool) < pool_avail0 - 2u);
    assert_int_equal(xcv_net_drv_reset(&ndrv), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0);
    /* Not open any more; reopen and use again. */
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, f, sizeof(f)), XCV_ENODEV);
    assert_int_equal(nf_open_driver(), XCV_OK);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, f, sizeof(f)), XCV_OK);
    uint8_t buf[2048];
    uint32_t len;
    assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, sizeof(f));
    nf_assert_reset_returns_all();
}

/* The device compartment restarts: the driver's buffers come back through the cancel path. */
static void test_peer_restart_reclaims(void **state)
{
    (void)state;
    uint8_t f[100] = {0};
    assert_int_equal(xcv_net_drv_send(&ndrv, NULL, f, sizeof(f)), XCV_OK);
    assert_true(xcv_pool_available(&fx.pool) < pool_avail0 - 1u);
    memset(&ndev, 0, sizeof(ndev));
    assert_int_equal(xcv_channel_init(&fx.vch, &fx.vcfg), XCV_OK);
    assert_int_equal(nf_init_device(), 0);
    assert_int_equal(xcv_channel_poll(&fx.dch, 64), XCV_EPEERRESET);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0);
    uint8_t buf[2048];
    uint32_t len;
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, buf, sizeof(buf), &len), XCV_ENODEV);
    assert_int_equal(nf_open_driver(), XCV_OK);
    nf_fill(f, sizeof(f), 8);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, f, sizeof(f)), XCV_OK);
    assert_int_equal(recv_one(NULL, buf, sizeof(buf), &len), XCV_OK);
    assert_memory_equal(buf, f, sizeof(f));
    nf_assert_reset_returns_all();
}

/* ---- hostile device behind the real driver ---- */

/* 5.1.6.4: num_buffers from the device is validated on a local copy; a frame whose buffers
 * never all arrive is held, and a reset still returns every buffer. */
static void test_hostile_device(void **state)
{
    (void)state;
    nf_rogue_setup();
    uint8_t buf[2048];
    uint32_t len;
    nf_rogue_rx(0, NULL, 10); /* zero buffers */
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, buf, sizeof(buf), &len), XCV_EPROTO_DEVICE);
    nf_rogue_rx(XCV_NET_MAX_MRG + 1u, NULL, 10); /* more than a frame may span */
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, buf, sizeof(buf), &len), XCV_EPROTO_DEVICE);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_dropped, 2);
    /* A well-formed two-buffer frame, delivered in two halves. */
    nf_rogue_rx(2, NULL, 20);
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, buf, sizeof(buf), &len), XCV_EAGAIN);
    assert_int_equal(ndrv.n_held, 1);
    /* Continuation buffer of 30 bytes: all frame data (only the first buffer has a header). */
    nf_rogue_rx(0, NULL, 30 - XCV_VIRTIO_NET_HDR_SIZE);
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, buf, sizeof(buf), &len), XCV_OK);
    assert_int_equal(len, 20 + 30);
    /* The first half of another frame is held when the reset comes: nothing leaks. */
    nf_rogue_rx(3, NULL, 5);
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, buf, sizeof(buf), &len), XCV_EAGAIN);
    assert_int_equal(ndrv.n_held, 1);
    nf_assert_reset_returns_all();
    assert_int_equal(ndrv.n_held, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        NF_TEST(test_config_mac_mtu_status, plain),
        NF_TEST(test_tx_round_trip, plain),
        NF_TEST(test_rx_plain, plain),
        NF_TEST(test_rx_plain_too_small, small_plain),
        NF_TEST(test_rx_mrg_spanning, small_mrg),
        cmocka_unit_test(test_rx_mrg_not_enough),
        NF_TEST(test_hostile_tx, plain),
        cmocka_unit_test(test_hostile_rx),
        NF_TEST(test_reset_reclaims, plain),
        NF_TEST(test_peer_restart_reclaims, plain),
        cmocka_unit_test(test_hostile_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
