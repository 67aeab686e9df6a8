/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net over split virtqueues with VIRTIO_F_IN_ORDER, both roles in one process over the
 * channel transport: the negotiation (IN_ORDER taken on split rings, dropped when RING_PACKED is
 * taken), bursts and single frames in both directions over many laps of the ring, with and
 * without merged receive buffers, a transmit burst completed with one used entry, a dropped
 * receive frame coalesced with the next one, and every buffer back after a reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <xcvirtio/dev_net.h>

#include "dev_fixture.h"

#define QSIZE 64u
#define FRAME_MAX 1514u
#define IN_ORDER XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER)
#define EVIDX XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)
#define INDIRECT XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)
#define PACKED XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)

static struct xcv_net_dev ndev;
static struct xcv_net_drv ndrv;
static uint32_t pool_avail0;
static uint16_t rx_buffers; /* receive buffers the driver posts (0: its default) */

/* Every transmitted frame, checked against the expected pattern as it arrives. */
static struct {
    unsigned calls;
    unsigned bad;
    uint32_t next_seed;
} cap;

static void fill(uint8_t *p, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 7u + i * 13u);
}

static uint32_t frame_len(uint32_t seed)
{
    return 60u + (seed * 37u) % (FRAME_MAX - 60u);
}

static int cap_transmit(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *iov,
                        unsigned n, uint32_t len)
{
    (void)ctx;
    static uint8_t want[FRAME_MAX];
    uint32_t seed = cap.next_seed++;
    fill(want, frame_len(seed), seed);
    uint32_t off = 0;
    bool ok = len == frame_len(seed) && hdr->csum_start == (uint16_t)seed;
    for (unsigned i = 0; i < n && ok; i++) {
        ok = off + iov[i].len <= len && memcmp(want + off, iov[i].base, iov[i].len) == 0;
        off += iov[i].len;
    }
    cap.bad += !(ok && off == len);
    cap.calls++;
    return 0;
}

static const struct xcv_net_backend_ops cap_ops = {.transmit = cap_transmit};

static int setup_with(bool mrg, uint32_t buf_size, uint64_t ring_features)
{
    memset(&cap, 0, sizeof(cap));
    if (fx_device_up() != XCV_OK)
        return -1;
    struct xcv_net_dev_config cfg = {.ops = &cap_ops,
                                     .mtu = 1500,
                                     .mrg_rxbuf = mrg,
                                     .queue_size = QSIZE,
                                     .ring_features = ring_features};
    if (xcv_net_dev_init(&ndev, &fx.vch, &cfg) != 0 || fx_driver_up(buf_size) != XCV_OK)
        return -1;
    pool_avail0 = xcv_pool_available(&fx.pool);
    struct xcv_net_drv_config dc = {
        .dev_num = 0, .pool = &fx.pool, .queue_size = QSIZE, .rx_buffers = rx_buffers};
    rx_buffers = 0;
    return xcv_net_drv_open(&ndrv, &fx.dch, &dc);
}

static int setup_in_order(void **state)
{
    (void)state;
    return setup_with(false, 2048, IN_ORDER | EVIDX);
}

static int setup_in_order_indirect(void **state)
{
    (void)state;
    return setup_with(false, 2048, IN_ORDER | EVIDX | INDIRECT);
}

static int setup_in_order_mrg(void **state)
{
    (void)state;
    return setup_with(true, 512, IN_ORDER | EVIDX);
}

static int setup_in_order_mrg_one_buffer(void **state)
{
    (void)state;
    rx_buffers = 1;
    return setup_with(true, 512, IN_ORDER | EVIDX);
}

static int setup_in_order_small_bufs(void **state)
{
    (void)state;
    return setup_with(false, 512, IN_ORDER | EVIDX);
}

static int setup_packed_in_order(void **state)
{
    (void)state;
    return setup_with(false, 2048, PACKED | IN_ORDER | EVIDX);
}

static int teardown(void **state)
{
    (void)state;
    return 0;
}

static void assert_reset_returns_all(void)
{
    assert_int_equal(xcv_net_drv_reset(&ndrv), XCV_OK);
    assert_int_equal(xcv_pool_available(&fx.pool), pool_avail0);
}

static struct xcv_vq_driver *drv_queue(uint16_t qi)
{
    struct xcv_vq_driver *q = xcv_vdrv_queue(&ndrv.vdrv, qi);
    assert_non_null(q);
    return q;
}

static void assert_negotiated_in_order(void)
{
    uint64_t f = xcv_net_drv_features(&ndrv);
    assert_true((f & IN_ORDER) != 0u);
    assert_true((f & EVIDX) != 0u);
    assert_true((f & PACKED) == 0u);
    assert_true((xcv_vdev_features(xcv_net_dev_vdev(&ndev)) & IN_ORDER) != 0u);
}

/* Send @total frames in bursts of @burst (a burst of 1 through xcv_net_drv_send()), the
 * device running after each; all arrive intact and in order. */
static void send_and_check(unsigned total, unsigned burst)
{
    static uint8_t data[32][FRAME_MAX];
    struct xcv_net_hdr h[32];
    struct xcv_net_frame f[32];
    uint32_t seed = cap.next_seed;
    unsigned sent = 0;
    while (sent < total) {
        unsigned n = total - sent < burst ? total - sent : burst;
        for (unsigned i = 0; i < n; i++) {
            uint32_t s = seed + sent + i;
            fill(data[i], frame_len(s), s);
            h[i] = (struct xcv_net_hdr){.csum_start = (uint16_t)s};
            f[i] = (struct xcv_net_frame){.hdr = &h[i], .data = data[i], .len = frame_len(s)};
        }
        if (n == 1u)
            assert_int_equal(xcv_net_drv_send(&ndrv, f[0].hdr, f[0].data, f[0].len), XCV_OK);
        else
            assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, n), (int)n);
        assert_int_equal(xcv_net_dev_run(&ndev, 256), (int)n);
        sent += n;
    }
    assert_int_equal(cap.calls, seed + total);
    assert_int_equal(cap.bad, 0);
}

/* Deliver @total frames in bursts of @burst and take them with receive_burst (copy) or
 * receive_zc (lent), checking bytes, lengths, order and the buffers each frame took: one, or
 * with merged receive buffers of @mrg_buf bytes as many as header and frame need. */
static void deliver_and_check(unsigned total, unsigned burst, bool zc, uint32_t mrg_buf)
{
    static uint8_t data[32][FRAME_MAX];
    static uint8_t in[32][2048];
    static uint8_t want[FRAME_MAX];
    struct xcv_net_frame f[32];
    unsigned got = 0;
    for (unsigned sent = 0; sent < total;) {
        unsigned n = total - sent < burst ? total - sent : burst;
        for (unsigned i = 0; i < n; i++) {
            fill(data[i], frame_len(sent + i), sent + i);
            f[i] = (struct xcv_net_frame){.data = data[i], .len = frame_len(sent + i)};
        }
        if (n == 1u)
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
                    fill(want, frame_len(got), got);
                    assert_int_equal(ref[i].len, frame_len(got));
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
                    fill(want, frame_len(got), got);
                    assert_int_equal(b[i].len, frame_len(got));
                    assert_memory_equal(in[i], want, b[i].len);
                    uint32_t nb = mrg_buf != 0u ? (12u + b[i].len + mrg_buf - 1u) / mrg_buf : 1u;
                    assert_int_equal(b[i].hdr.num_buffers, nb);
                }
            }
        }
    }
    assert_int_equal(got, total);
}

static void test_negotiated_in_order(void **state)
{
    (void)state;
    assert_negotiated_in_order();
    /* Both rings in order: each driver queue took its descriptors in table order. */
    send_and_check(3, 3);
    assert_reset_returns_all();
}

static void test_negotiated_in_order_with_indirect(void **state)
{
    (void)state;
    assert_negotiated_in_order();
    assert_true((xcv_net_drv_features(&ndrv) & INDIRECT) != 0u);
    send_and_check(4u * QSIZE, 32);
    deliver_and_check(4u * QSIZE, 16, false, 0);
    assert_reset_returns_all();
}

/* Many laps of the 64-entry rings each way, bursts of several sizes (some straddling the end
 * of the table) and single frames. */
static void test_bursts_and_singles_many_laps(void **state)
{
    (void)state;
    send_and_check(10u * QSIZE, 32);
    send_and_check(7u * QSIZE + 5u, 7);
    send_and_check(2u * QSIZE + 3u, 1);
    deliver_and_check(10u * QSIZE, 16, false, 0);
    deliver_and_check(3u * QSIZE + 1u, 1, false, 0);
    deliver_and_check(6u * QSIZE, 32, true, 0);
    send_and_check(QSIZE, 13);
    assert_reset_returns_all();
}

/* A transmit burst comes back as one used entry at the burst's first position, naming the
 * burst's last chain, with the used index moved by the whole burst. */
static void test_tx_burst_one_used_entry(void **state)
{
    (void)state;
    struct xcv_vq_driver *q = drv_queue(XCV_NET_TXQ);
    for (unsigned round = 0; round < 3u * QSIZE / 8u + 2u; round++) {
        static uint8_t data[8][FRAME_MAX];
        struct xcv_net_hdr h[8];
        struct xcv_net_frame f[8];
        uint32_t seed = cap.next_seed;
        for (unsigned i = 0; i < 8; i++) {
            fill(data[i], frame_len(seed + i), seed + i);
            h[i] = (struct xcv_net_hdr){.csum_start = (uint16_t)(seed + i)};
            f[i] =
                (struct xcv_net_frame){.hdr = &h[i], .data = data[i], .len = frame_len(seed + i)};
        }
        /* The send first takes back the previous burst: nothing used is left unread. */
        assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 8), 8);
        assert_int_equal(xcv_vq_driver_in_flight(q), 8);
        uint16_t used0 = xcv_le16_load(q->used + 2);
        memset(q->used + 4, 0xFF, 8u * q->num);
        assert_int_equal(xcv_net_dev_run(&ndev, 256), 8);
        assert_int_equal(cap.bad, 0);
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
    assert_int_equal(cap.calls, 8u * (3u * QSIZE / 8u + 2u));
    assert_reset_returns_all();
}

/* Merged receive buffers: a frame spreads over several 512-byte buffers, in order. */
static void test_mrg_frames(void **state)
{
    (void)state;
    assert_negotiated_in_order();
    assert_true((xcv_net_drv_features(&ndrv) & XCV_FEATURE(XCV_VIRTIO_NET_F_MRG_RXBUF)) != 0u);
    static uint8_t data[1400], in[2048];
    for (unsigned k = 0; k < 3u * QSIZE; k++) {
        fill(data, sizeof(data), k);
        assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, data, sizeof(data)), XCV_OK);
        struct xcv_net_hdr h;
        uint32_t len = 0;
        assert_int_equal(xcv_net_drv_receive(&ndrv, &h, in, sizeof(in), &len), XCV_OK);
        assert_int_equal(len, sizeof(data));
        assert_int_equal(h.num_buffers, 3);
        assert_memory_equal(in, data, sizeof(data));
    }
    /* Bursts of frames of every size (1..3 buffers each), and single frames. */
    deliver_and_check(6u * QSIZE, 8, false, 512);
    deliver_and_check(2u * QSIZE, 1, false, 512);
    assert_reset_returns_all();
}

/* A frame too big for the one receive buffer is dropped: its chain comes back with length 0
 * and shares the used entry of the next frame's chain; the driver recycles it and receives
 * the next frame intact. */
static void test_dropped_frame_coalesced_with_next(void **state)
{
    (void)state;
    static uint8_t big[1000], small[2][300], in[2048];
    fill(big, sizeof(big), 1);
    fill(small[0], sizeof(small[0]), 2);
    fill(small[1], sizeof(small[1]), 3);
    for (unsigned round = 0; round < 2u * QSIZE; round++) {
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
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_dropped, 2u * QSIZE);
    assert_int_equal(xcv_net_dev_stats(&ndev)->rx_frames, 4u * QSIZE);
    assert_reset_returns_all();
}

/* Merged receive buffers, and a bad chain (with a device-readable segment) posted between two
 * good ones while a frame needs both: in order the chain taken before it must come back first,
 * so the frame is dropped and both chains are returned empty, oldest first; the queue keeps
 * working (the next frames arrive) instead of stalling behind a chain it could not push. */
static void test_mrg_bad_chain_between_good_ones(void **state)
{
    (void)state;
    assert_negotiated_in_order();
    struct xcv_vq_driver *q = xcv_vdrv_queue(&ndrv.vdrv, XCV_NET_RXQ);
    struct xcv_vq_device *dq = xcv_vdev_queue(xcv_net_dev_vdev(&ndev), XCV_NET_RXQ);
    uint64_t bus;
    uint8_t *bad = xcv_pool_alloc(&fx.pool, &bus);
    assert_non_null(bad);
    struct xcv_sg badc[2] = {{bus, 16}, {bus + 64, 64}};
    assert_int_equal(xcv_vq_driver_add(q, badc, 1, 1, bad), XCV_OK);
    uint8_t *good = xcv_pool_alloc(&fx.pool, &bus);
    assert_non_null(good);
    struct xcv_sg gc = {bus, 512};
    assert_int_equal(xcv_vq_driver_add(q, &gc, 0, 1, good), XCV_OK);
    assert_true(xcv_vq_driver_kick(q) >= 0);

    static uint8_t frame[1000], in[2048];
    fill(frame, sizeof(frame), 9);
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
    for (unsigned k = 0; k < 2u * QSIZE; k++) {
        fill(frame, 300, k);
        assert_int_equal(xcv_net_dev_deliver(&ndev, NULL, frame, 300), XCV_OK);
        assert_int_equal(xcv_net_drv_receive(&ndrv, NULL, in, sizeof(in), &len), XCV_OK);
        assert_int_equal(len, 300u);
        assert_memory_equal(in, frame, 300);
    }
    assert_reset_returns_all();
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
    send_and_check(3u * QSIZE, 32);
    deliver_and_check(3u * QSIZE, 16, false, 0);
    assert_reset_returns_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_negotiated_in_order, setup_in_order, teardown),
        cmocka_unit_test_setup_teardown(test_negotiated_in_order_with_indirect,
                                        setup_in_order_indirect, teardown),
        cmocka_unit_test_setup_teardown(test_bursts_and_singles_many_laps, setup_in_order,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tx_burst_one_used_entry, setup_in_order, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_frames, setup_in_order_mrg, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_bad_chain_between_good_ones,
                                        setup_in_order_mrg_one_buffer, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_frame_coalesced_with_next,
                                        setup_in_order_small_bufs, teardown),
        cmocka_unit_test_setup_teardown(test_packed_drops_in_order, setup_packed_in_order,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
