/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net over packed virtqueues (VIRTIO_F_RING_PACKED), both roles in one process: the
 * negotiation (packed taken, indirect dropped), frames in both directions over many laps of the
 * ring (the wrap counters flip), merged receive buffers, the zero-copy paths, notifications in
 * event mode, busy-polled queues, and every buffer back after a reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <xcvirtio/dev_net.h>

#include "dev_fixture.h"

#define QSIZE 64u
#define FRAME_MAX 1514u
#define CAP_FRAMES 256u

static struct xcv_net_dev ndev;
static struct xcv_net_drv ndrv;
static uint32_t pool_avail0;
static unsigned drv_rings; /* driver -> device doorbells */

static int count_drv_notify(void *c, uint32_t d)
{
    (void)c;
    (void)d;
    drv_rings++;
    return 0;
}

static const struct xcv_port_ops count_dops = {
    .notify = count_drv_notify, .now_ns = fx_now, .wait = fx_dwait};

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

static int setup_with(bool mrg, uint32_t buf_size, bool polled, uint64_t extra)
{
    memset(&cap, 0, sizeof(cap));
    if (fx_device_up() != XCV_OK)
        return -1;
    fx.dport.ops = &count_dops;
    drv_rings = 0;
    struct xcv_net_dev_config cfg = {.ops = &cap_ops,
                                     .mtu = 1500,
                                     .mrg_rxbuf = mrg,
                                     .queue_size = QSIZE,
                                     .ring_features = XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED) | extra,
                                     .polled = polled};
    if (xcv_net_dev_init(&ndev, &fx.vch, &cfg) != 0 || fx_driver_up(buf_size) != XCV_OK)
        return -1;
    pool_avail0 = xcv_pool_available(&fx.pool);
    struct xcv_net_drv_config dc = {
        .dev_num = 0, .pool = &fx.pool, .queue_size = QSIZE, .polled = polled};
    return xcv_net_drv_open(&ndrv, &fx.dch, &dc);
}

static int setup_event(void **state)
{
    (void)state;
    return setup_with(false, 2048, false,
                      XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) |
                          XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC));
}

static int setup_no_event_idx(void **state)
{
    (void)state;
    return setup_with(false, 2048, false, 0);
}

static int setup_polled(void **state)
{
    (void)state;
    return setup_with(false, 2048, true, XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX));
}

static int setup_mrg(void **state)
{
    (void)state;
    return setup_with(true, 512, false, XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX));
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

/* Send @total frames in bursts of @burst, the device running after each; all arrive intact. */
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
        assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, n), (int)n);
        int r = xcv_net_dev_run(&ndev, 256);
        assert_int_equal(r, (int)n);
        sent += n;
    }
    assert_int_equal(cap.calls, seed + total);
    assert_int_equal(cap.bad, 0);
}

/* Deliver @total frames in bursts of @burst and take them with receive_burst (copy) or
 * receive_zc (lent), checking bytes, lengths and order. */
static void deliver_and_check(unsigned total, unsigned burst, bool zc)
{
    static uint8_t data[32][FRAME_MAX];
    static uint8_t in[32][2048];
    struct xcv_net_frame f[32];
    unsigned got = 0;
    for (unsigned sent = 0; sent < total;) {
        unsigned n = total - sent < burst ? total - sent : burst;
        for (unsigned i = 0; i < n; i++) {
            fill(data[i], frame_len(sent + i), sent + i);
            f[i] = (struct xcv_net_frame){.data = data[i], .len = frame_len(sent + i)};
        }
        assert_int_equal(xcv_net_dev_deliver_burst(&ndev, f, n), (int)n);
        sent += n;
        while (got < sent) {
            static uint8_t want[FRAME_MAX];
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
                }
            }
        }
    }
    assert_int_equal(got, total);
}

static void test_negotiated_packed_without_indirect(void **state)
{
    (void)state;
    uint64_t f = xcv_net_drv_features(&ndrv);
    assert_true((f & XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)) != 0u);
    assert_true((f & XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)) == 0u);
    assert_true(
        (xcv_vdev_features(xcv_net_dev_vdev(&ndev)) & XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)) != 0u);
    assert_reset_returns_all();
}

/* 64 entries, 10 laps each way: the wrap counters of both roles flip many times. */
static void test_many_laps_both_ways(void **state)
{
    (void)state;
    send_and_check(10u * QSIZE, 32);
    send_and_check(7u * QSIZE + 5u, 7); /* bursts that straddle the wrap */
    deliver_and_check(10u * QSIZE, 16, false);
    assert_reset_returns_all();
}

static void test_zero_copy_laps(void **state)
{
    (void)state;
    deliver_and_check(6u * QSIZE, 32, true);
    send_and_check(3u * QSIZE, 32);
    assert_reset_returns_all();
}

/* Event mode with EVENT_IDX: a burst to an armed device rings once; a device that drains and
 * re-arms gets the next burst's ring too. */
static void test_event_mode_rings(void **state)
{
    (void)state;
    fx_pump();
    send_and_check(1, 1); /* drains and re-arms */
    fx_pump();            /* the device takes the notification of that frame */
    unsigned before = drv_rings;
    static uint8_t data[8][64];
    struct xcv_net_frame f[8];
    for (unsigned i = 0; i < 8; i++) {
        fill(data[i], 64, 0);
        f[i] = (struct xcv_net_frame){.data = data[i], .len = 64};
    }
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 8), 8);
    assert_int_equal(drv_rings - before, 1);
    /* The kick reaches the model through the channel. */
    cap.next_seed = 1000000u; /* these frames do not follow the checked pattern */
    unsigned calls = cap.calls;
    fx_pump();
    assert_int_equal(cap.calls - calls, 8);
    assert_reset_returns_all();
}

/* Polled queues on packed rings: no doorbell for any burst. */
static void test_polled_no_rings(void **state)
{
    (void)state;
    fx_pump();
    unsigned before = drv_rings;
    send_and_check(3u * QSIZE, 32);
    deliver_and_check(3u * QSIZE, 32, true);
    assert_int_equal(drv_rings, before);
    assert_reset_returns_all();
}

/* Merged receive buffers: a 1400-byte frame takes 3 buffers of 512 bytes. */
static void test_mrg_frames(void **state)
{
    (void)state;
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
    assert_reset_returns_all();
}

/* Without EVENT_IDX the packed rings use the ENABLE / DISABLE flags only. */
static void test_flags_only(void **state)
{
    (void)state;
    send_and_check(2u * QSIZE, 16);
    deliver_and_check(2u * QSIZE, 16, false);
    assert_reset_returns_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_negotiated_packed_without_indirect, setup_event,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_laps_both_ways, setup_event, teardown),
        cmocka_unit_test_setup_teardown(test_zero_copy_laps, setup_event, teardown),
        cmocka_unit_test_setup_teardown(test_event_mode_rings, setup_event, teardown),
        cmocka_unit_test_setup_teardown(test_polled_no_rings, setup_polled, teardown),
        cmocka_unit_test_setup_teardown(test_mrg_frames, setup_mrg, teardown),
        cmocka_unit_test_setup_teardown(test_flags_only, setup_no_event_idx, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
