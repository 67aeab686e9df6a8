/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net over packed virtqueues (VIRTIO_F_RING_PACKED), both roles in one process: the
 * negotiation (packed taken, indirect dropped), frames in both directions over many laps of the
 * ring (the wrap counters flip), merged receive buffers, the zero-copy paths, notifications in
 * event mode, busy-polled queues, and every buffer back after a reset. */
#include "net_fixture.h"

#define PACKED XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)
#define EVIDX XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)

/* The setups: the checking backend (seq) over packed rings, pool buffer size, polling. */
static const struct nf_opts event = {.ops = &nf_seq_ops,
                                     .buf_size = 2048,
                                     .ring_features =
                                         PACKED | EVIDX | XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)};
static const struct nf_opts no_event_idx = {
    .ops = &nf_seq_ops, .buf_size = 2048, .ring_features = PACKED};
static const struct nf_opts polled = {.ops = &nf_seq_ops,
                                      .buf_size = 2048,
                                      .ring_features = PACKED | EVIDX,
                                      .dev_polled = true,
                                      .drv_polled = true};
static const struct nf_opts mrg = {
    .ops = &nf_seq_ops, .mrg = true, .buf_size = 512, .ring_features = PACKED | EVIDX};

/* Numbered frames one way or the other, in bursts (xcv_net_drv_send_burst() and
 * xcv_net_dev_deliver_burst() even for one frame), all checked on arrival. */
static void send_and_check(unsigned total, unsigned burst)
{
    nf_seq_send(total, burst, false);
}

static void deliver_and_check(unsigned total, unsigned burst, bool zc)
{
    nf_seq_deliver(total, burst, zc, 0, false);
}

static void test_negotiated_packed_without_indirect(void **state)
{
    (void)state;
    uint64_t f = xcv_net_drv_features(&ndrv);
    assert_true((f & PACKED) != 0u);
    assert_true((f & XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)) == 0u);
    assert_true((xcv_vdev_features(xcv_net_dev_vdev(&ndev)) & PACKED) != 0u);
    nf_assert_reset_returns_all();
}

/* 64 entries, 10 laps each way: the wrap counters of both roles flip many times. */
static void test_many_laps_both_ways(void **state)
{
    (void)state;
    send_and_check(10u * NF_QSIZE, 32);
    send_and_check(7u * NF_QSIZE + 5u, 7); /* bursts that straddle the wrap */
    deliver_and_check(10u * NF_QSIZE, 16, false);
    nf_assert_reset_returns_all();
}

static void test_zero_copy_laps(void **state)
{
    (void)state;
    deliver_and_check(6u * NF_QSIZE, 32, true);
    send_and_check(3u * NF_QSIZE, 32);
    nf_assert_reset_returns_all();
}

/* Event mode with EVENT_IDX: a burst to an armed device rings once; a device that drains and
 * re-arms gets the next burst's ring too. */
static void test_event_mode_rings(void **state)
{
    (void)state;
    fx_pump();
    send_and_check(1, 1); /* drains and re-arms */
    fx_pump();            /* the device takes the notification of that frame */
    unsigned before = fx.drv_rings;
    static uint8_t data[8][64];
    struct xcv_net_frame f[8];
    for (unsigned i = 0; i < 8; i++) {
        nf_seq_fill(data[i], 64, 0);
        f[i] = (struct xcv_net_frame){.data = data[i], .len = 64};
    }
    assert_int_equal(xcv_net_drv_send_burst(&ndrv, f, 8), 8);
    assert_int_equal(fx.drv_rings - before, 1);
    /* The kick reaches the model through the channel. */
    seq.next_seed = 1000000u; /* these frames do not follow the checked pattern */
    unsigned calls = seq.calls;
    fx_pump();
    assert_int_equal(seq.calls - calls, 8);
    nf_assert_reset_returns_all();
}

/* Polled queues on packed rings: no doorbell for any burst. */
static void test_polled_no_rings(void **state)
{
    (void)state;
    fx_pump();
    unsigned before = fx.drv_rings;
    send_and_check(3u * NF_QSIZE, 32);
    deliver_and_check(3u * NF_QSIZE, 32, true);
    assert_int_equal(fx.drv_rings, before);
    nf_assert_reset_returns_all();
}

/* Merged receive buffers: a 1400-byte frame takes 3 buffers of 512 bytes. */
static void test_mrg_frames(void **state)
{
    (void)state;
    nf_mrg_round_trips(3u * NF_QSIZE);
    nf_assert_reset_returns_all();
}

/* Without EVENT_IDX the packed rings use the ENABLE / DISABLE flags only. */
static void test_flags_only(void **state)
{
    (void)state;
    send_and_check(2u * NF_QSIZE, 16);
    deliver_and_check(2u * NF_QSIZE, 16, false);
    nf_assert_reset_returns_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        NF_TEST(test_negotiated_packed_without_indirect, event),
        NF_TEST(test_many_laps_both_ways, event),
        NF_TEST(test_zero_copy_laps, event),
        NF_TEST(test_event_mode_rings, event),
        NF_TEST(test_polled_no_rings, polled),
        NF_TEST(test_mrg_frames, mrg),
        NF_TEST(test_flags_only, no_event_idx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
