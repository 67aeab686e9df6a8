/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net over split virtqueues with VIRTIO_F_IN_ORDER, both roles in one process over the
 * channel transport: the negotiation (IN_ORDER taken on split rings, dropped when RING_PACKED is
 * taken), bursts and single frames in both directions over many laps of the ring, with and
 * without merged receive buffers, a transmit burst completed with one used entry, a dropped
 * receive frame coalesced with the next one, and every buffer back after a reset. */
#include "net_fixture.h"

#define IN_ORDER XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER)
#define EVIDX XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)
#define INDIRECT XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)
#define PACKED XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)

/* The setups: the checking backend (seq), ring features, pool buffer size, receive buffers. */
static const struct nf_opts in_order = {
    .ops = &nf_seq_ops, .buf_size = 2048, .ring_features = IN_ORDER | EVIDX};
static const struct nf_opts in_order_indirect = {
    .ops = &nf_seq_ops, .buf_size = 2048, .ring_features = IN_ORDER | EVIDX | INDIRECT};
static const struct nf_opts in_order_mrg = {
    .ops = &nf_seq_ops, .mrg = true, .buf_size = 512, .ring_features = IN_ORDER | EVIDX};
static const struct nf_opts in_order_mrg_one_buffer = {.ops = &nf_seq_ops,
                                                       .mrg = true,
                                                       .buf_size = 512,
                                                       .rx_buffers = 1,
                                                       .ring_features = IN_ORDER | EVIDX};
static const struct nf_opts in_order_small_bufs = {
    .ops = &nf_seq_ops, .buf_size = 512, .ring_features = IN_ORDER | EVIDX};
static const struct nf_opts packed_in_order = {
    .ops = &nf_seq_ops, .buf_size = 2048, .ring_features = PACKED | IN_ORDER | EVIDX};

static void assert_negotiated_in_order(void)
{
    uint64_t f = xcv_net_drv_features(&ndrv);
    assert_true((f & IN_ORDER) != 0u);
    assert_true((f & EVIDX) != 0u);
    assert_true((f & PACKED) == 0u);
    assert_true((xcv_vdev_features(xcv_net_dev_vdev(&ndev)) & IN_ORDER) != 0u);
}

/* Numbered frames one way or the other, in bursts (a burst of 1 through xcv_net_drv_send() or
 * xcv_net_dev_deliver()), all checked on arrival; see nf_seq_send() and nf_seq_deliver(). */
static void send_and_check(unsigned total, unsigned burst)
{
    nf_seq_send(total, burst, true);
}

static void deliver_and_check(unsigned total, unsigned burst, bool zc, uint32_t mrg_buf)
{
    nf_seq_deliver(total, burst, zc, mrg_buf, true);
}

static void test_negotiated_in_order(void **state)
{
    (void)state;
    assert_negotiated_in_order();
    /* Both rings in order: each driver queue took its descriptors in table order. */
    send_and_check(3, 3);
    nf_assert_reset_returns_all();
}

static void test_negotiated_in_order_with_indirect(void **state)
{
    (void)state;
    assert_negotiated_in_order();
    assert_true((xcv_net_drv_features(&ndrv) & INDIRECT) != 0u);
    send_and_check(4u * NF_QSIZE, 32);
    deliver_and_check(4u * NF_QSIZE, 16, false, 0);
    nf_assert_reset_returns_all();
}

/* Many laps of the 64-entry rings each way, bursts of several sizes (some straddling the end
 * of the table) and single frames. */
static void test_bursts_and_singles_many_laps(void **state)
{
    (void)state;
    send_and_check(10u * NF_QSIZE, 32);
    send_and_check(7u * NF_QSIZE + 5u, 7);
    send_and_check(2u * NF_QSIZE + 3u, 1);
    deliver_and_check(10u * NF_QSIZE, 16, false, 0);
    deliver_and_check(3u * NF_QSIZE + 1u, 1, false, 0);
    deliver_and_check(6u * NF_QSIZE, 32, true, 0);
    send_and_check(NF_QSIZE, 13);
    nf_assert_reset_returns_all();
}

/* A transmit burst comes back as one used entry at the burst's first position, naming the
 * burst's last chain, with the used index moved by the whole burst. */
static void test_tx_burst_one_used_entry(void **state)
{
    (void)state;
    struct xcv_vq_driver *q = nf_txq();
    for (unsigned round = 0; round < 3u * NF_QSIZE / 8u + 2u; round++) {
        static uint8_t data[8][NF_FRAME_MAX];
        struct xcv_net_hdr h[8];
        struct xcv_net_frame f[8];
        uint32_t seed = seq.next_seed;
        for (unsigned i = 0; i < 8; i++)
            nf_seq_frame(&f[i], &h[i], data[i], seed + i);
        /* The send first takes back the previous burst: nothing used is left unread. */
        assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 8), 8);
        assert_int_equal(xcv_vq_driver_in_flight(q), 8);
        uint16_t used0 = xcv_le16_load(q->used + 2);
        memset(q->used + 4, 0xFF, 8u * q->num);
        assert_int_equal(xcv_net_dev_run(&ndev, 256), 8);
        assert_int_equal(seq.bad, 0);
        assert_int_equal((uint16_t)(xcv_le16_load(q->used + 2) - used0), 8);
        unsigned written = 0;
        for (uint16_t i = 0; i < q->num; i++) {
            const uint8_t *e = q->used + 4 + 8u * i;
            if (xcv_le32_load(e) != 0xFFFFFFFFu || xcv_le32_load(e + 4) != 0xFFFFFFFFu)
                written++;
        }
        assert_int_equal(written, 1);
        /* The burst's heads, from the available ring: one descriptor each, in table order. */
        uint16_t aidx = xcv_le16_load(q->avail + 2);
        uint16_t first = xcv_le16_load(q->avail + 4 + 2u * ((uint16_t)(aidx - 8u) & (q->num - 1u)));
        uint16_t last = xcv_le16_load(q->avail + 4 + 2u * ((uint16_t)(aidx - 1u) & (q->num - 1u)));
        assert_int_equal(last, (first + 7u) & (q->num - 1u));
        const uint8_t *e = q->used + 4 + 8u * (used0 & (q->num - 1u));
        assert_int_equal(xcv_le32_load(e), last);
        assert_int_equal(xcv_le32_load(e + 4), 0);
    }
    assert_int_equal(seq.calls, 8u * (3u * NF_QSIZE / 8u + 2u));
    nf_assert_reset_returns_all();
}

/* Merged receive buffers: a frame spreads over several 512-byte buffers, in order. */
static void test_mrg_frames(void **state)
{
    (void)state;
    assert_negotiated_in_order();
    assert_true((xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF)) != 0u);
    nf_mrg_round_trips(3u * NF_QSIZE);
    /* Bursts of frames of every size (1..3 buffers each), and single frames. */
    deliver_and_check(6u * NF_QSIZE, 8, false, 512);
    deliver_and_check(2u * NF_QSIZE, 1, false, 512);
    nf_assert_reset_returns_all();
}

/* A frame too big for the one receive buffer is dropped: its chain comes back with length 0
 * and shares the used entry of the next frame's chain; the driver recycles it and receives
 * the next frame intact. */
static void test_dropped_frame_coalesced_with_next(void **state)
{
    (void)state;
    static uint8_t big[1000], small[2][300], in[2048];
    nf_seq_fill(big, sizeof(big), 1);
    nf_seq_fill(small[0], sizeof(small[0]), 2);
    nf_seq_fill(small[1], sizeof(small[1]), 3);
    for (unsigned round = 0; round < 2u * NF_QSIZE; round++) {
        assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, big, sizeof(big)), XCV_ENOMEM);
        struct xcv_net_frame f[2] = {{.data = small[0], .len = sizeof(small[0])},
                                     {.data = small[1], .len = sizeof(small[1])}};
        assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, 2), 2);
        for (unsigned i = 0; i < 2; i++) {
            struct xcv_net_hdr h;
            uint32_t len = 0;
            assert_int_equal(xcv_net_drv_receive(&ndrv, &h, in, sizeof(in), &len), XCV_OK);
            assert_int_equal(len, sizeof(small[i]));
            assert_memory_equal(in, small[i], len);
        }
        uint32_t len = 0;
        assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, in, sizeof(in), &len), XCV_EAGAIN);
        assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_empty, round + 1u);
    }
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 2u * NF_QSIZE);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_frames, 4u * NF_QSIZE);
    nf_assert_reset_returns_all();
}

/* Merged receive buffers, and a bad chain (with a device-readable segment) posted between two
 * good ones while a frame needs both: in order the chain taken before it must come back first,
 * so the frame is dropped and both chains are returned empty, oldest first; the queue keeps
 * working (the next frames arrive) instead of stalling behind a chain it could not push. */
static void test_mrg_bad_chain_between_good_ones(void **state)
{
    (void)state;
    assert_negotiated_in_order();
    struct xcv_vq_driver *q = nf_drv_queue(XCV_NET_RXQ);
    struct xcv_vq_device *dq = xcv_vdev_queue(xcv_net_dev_vdev(&ndev), XCV_NET_RXQ);
    uint64_t bus;
    uint8_t *bad = nf_take_buf(&bus);
    struct xcv_sg badc[2] = {{bus, 16}, {bus + 64, 64}};
    assert_int_equal(xcv_vq_driver_add(q, badc, 1, 1, bad), XCV_OK);
    uint8_t *good = nf_take_buf(&bus);
    struct xcv_sg gc = {bus, 512};
    assert_int_equal(xcv_vq_driver_add(q, &gc, 0, 1, good), XCV_OK);
    assert_true(xcv_vq_driver_kick(q) >= 0);

    static uint8_t frame[1000], in[2048];
    nf_seq_fill(frame, sizeof(frame), 9);
    assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, sizeof(frame)), XCV_ENOMEM);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_bad_chain, 1u);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 1u);
    assert_int_equal(xcv_vq_device_in_flight(dq), 0u);
    assert_int_equal(xcv_vq_device_broken(dq), 0);

    /* Both chains come back empty: the net driver recycles them (both are pool buffers). */
    uint32_t len = 0;
    assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, in, sizeof(in), &len), XCV_EAGAIN);
    assert_int_equal(xcv_net_drv_stats(&ndrv)->rx_empty, 2u);
    void *tok;
    assert_int_equal(xcv_vq_driver_get_used(q, &tok, &len), XCV_EAGAIN);

    /* The good chain is still posted and frames keep arriving. */
    for (unsigned k = 0; k < 2u * NF_QSIZE; k++) {
        nf_seq_fill(frame, 300, k);
        assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 300), XCV_OK);
        assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, in, sizeof(in), &len), XCV_OK);
        assert_int_equal(len, 300u);
        assert_memory_equal(in, frame, 300);
    }
    nf_assert_reset_returns_all();
}

/* RING_PACKED and IN_ORDER offered together: the driver takes packed and leaves IN_ORDER. */
static void test_packed_drops_in_order(void **state)
{
    (void)state;
    uint64_t f = xcv_net_drv_features(&ndrv);
    assert_true((f & PACKED) != 0u);
    assert_true((f & IN_ORDER) == 0u);
    uint64_t v = xcv_vdev_features(xcv_net_dev_vdev(&ndev));
    assert_true((v & PACKED) != 0u);
    assert_true((v & IN_ORDER) == 0u);
    assert_true((xcv_vdev_device_features(xcv_net_dev_vdev(&ndev)) & IN_ORDER) != 0u);
    send_and_check(3u * NF_QSIZE, 32);
    deliver_and_check(3u * NF_QSIZE, 16, false, 0);
    nf_assert_reset_returns_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        NF_TEST(test_negotiated_in_order, in_order),
        NF_TEST(test_negotiated_in_order_with_indirect, in_order_indirect),
        NF_TEST(test_bursts_and_singles_many_laps, in_order),
        NF_TEST(test_tx_burst_one_used_entry, in_order),
        NF_TEST(test_mrg_frames, in_order_mrg),
        NF_TEST(test_mrg_bad_chain_between_good_ones, in_order_mrg_one_buffer),
        NF_TEST(test_dropped_frame_coalesced_with_next, in_order_small_bufs),
        NF_TEST(test_packed_drops_in_order, packed_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
