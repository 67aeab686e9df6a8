/* SPDX-License-Identifier: Apache-2.0 */
/* A busy-polled device queue (xcv_vq_device_config::polled): the hint written at init asks the
 * driver never to notify, and neither pop_or_arm() nor process() re-arms it. Each case runs
 * next to the same steps on an ordinary queue, which does re-arm, so the checks can tell. */
#include "ring_fixture.h"

static struct ring_fixture F;
static struct test_port DRV_TP;
static struct test_port DEV_TP;
static int tokens[RF_MAX_NUM];

#define TOK(i) ((void *)&tokens[(i)])

static void setup_queue(uint64_t features, bool polled)
{
    struct rf_opts o = {.num = 8, .features = features, .no_device = true};
    rf_setup_ports(&F, &o, &DRV_TP, &DEV_TP, false);
    struct xcv_vq_device_config vc;
    rf_dev_config(&F, &vc);
    vc.polled = polled;
    assert_int_equal(xcv_vq_device_init(&F.dev, &vc), XCV_OK);
}

/* The driver's request as the device left it: the NO_NOTIFY flag, or avail_event. */
static uint16_t hint(bool event_idx)
{
    return event_idx ? rf_avail_event(&F) : rf_used_flags(&F);
}

static uint16_t no_notify_hint(bool event_idx)
{
    /* avail_event just behind the next entry the device pops (0 after init). */
    return event_idx ? (uint16_t)0xffffu : (uint16_t)XCV_VRING_USED_F_NO_NOTIFY;
}

static int handler(void *ctx, const struct xcv_chain *chain, uint32_t *written)
{
    unsigned *calls = ctx;
    (*calls)++;
    *written = chain->in_len;
    return 0;
}

/* Post @n one-buffer chains and publish them; return what kick_prepare decided. */
static int post(unsigned first, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        rf_post_in(&F, i % 8u, 32, TOK((first + i) % RF_MAX_NUM));
    return xcv_vq_driver_kick_prepare(&F.drv);
}

static void drain(unsigned first, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        rf_get_used_ok(&F.drv, TOK((first + i) % RF_MAX_NUM), 32);
    }
}

static void polled_case(bool event_idx)
{
    uint64_t feat = event_idx ? XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) : 0u;
    setup_queue(feat, true);
    /* Written once at init. */
    assert_int_equal(hint(event_idx), no_notify_hint(event_idx));
    /* An empty ring: EAGAIN, and the hint is left alone. */
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_EAGAIN);
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_EAGAIN);
    assert_int_equal(hint(event_idx), no_notify_hint(event_idx));
    /* The driver posts: no notification is asked for. */
    assert_int_equal(post(0, 1), 0);
    assert_int_equal(xcv_vq_driver_kick(&F.drv), 0);
    assert_int_equal(DRV_TP.notify_calls, 0);
    /* The device still finds the chain by polling; popping the ring dry does not re-arm. */
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 32), XCV_OK);
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_EAGAIN);
    assert_int_equal(hint(event_idx), no_notify_hint(event_idx));
    assert_true(xcv_vq_device_flush(&F.dev) >= 0);
    drain(0, 1);
    /* process() over many rounds (the indices go round the ring several times): each round
     * finds its chains, runs dry, and the driver is never asked to notify. */
    unsigned tok = 1;
    for (unsigned round = 0; round < 20; round++) {
        unsigned n = 1u + round % 5u;
        assert_int_equal(post(tok, n), 0);
        unsigned calls = 0;
        assert_int_equal(xcv_vq_device_process(&F.dev, 64, &F.chain, handler, &calls), (int)n);
        assert_int_equal(calls, n);
        assert_int_equal(hint(event_idx), no_notify_hint(event_idx));
        drain(tok, n);
        tok += n;
    }
    assert_int_equal(DRV_TP.notify_calls, 0);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
}

/* The same steps on an ordinary queue: running dry re-arms and the driver notifies. */
static void armed_case(bool event_idx)
{
    uint64_t feat = event_idx ? XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX) : 0u;
    setup_queue(feat, false);
    /* Nothing written at init: the driver zeroed the ring. */
    assert_int_equal(hint(event_idx), 0);
    xcv_vq_device_disable_notify(&F.dev);
    assert_int_equal(hint(event_idx), no_notify_hint(event_idx));
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_EAGAIN);
    assert_int_equal(hint(event_idx), 0); /* re-armed (avail_event = next entry, 0) */
    assert_int_equal(post(0, 1), 1);
    unsigned calls = 0;
    xcv_vq_device_disable_notify(&F.dev);
    assert_int_equal(xcv_vq_device_process(&F.dev, 64, &F.chain, handler, &calls), 1);
    assert_int_equal(hint(event_idx), event_idx ? 1u : 0u); /* re-armed when it ran dry */
    drain(0, 1);
    assert_int_equal(post(1, 1), 1);
}

static void test_polled_no_notify_flag(void **state)
{
    (void)state;
    polled_case(false);
}

static void test_polled_event_idx(void **state)
{
    (void)state;
    polled_case(true);
}

static void test_armed_no_notify_flag(void **state)
{
    (void)state;
    armed_case(false);
}

static void test_armed_event_idx(void **state)
{
    (void)state;
    armed_case(true);
}

/* A reset keeps the queue polled: pop_or_arm still arms nothing. */
static void test_polled_after_reset(void **state)
{
    (void)state;
    setup_queue(0, true);
    assert_int_equal(post(0, 2), 0);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_OK);
    xcv_vq_device_reset(&F.dev);
    assert_int_equal(rf_used_flags(&F), XCV_VRING_USED_F_NO_NOTIFY);
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_pop_or_arm(&F.dev, &F.chain), XCV_EAGAIN);
    assert_int_equal(rf_used_flags(&F), XCV_VRING_USED_F_NO_NOTIFY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_polled_no_notify_flag), cmocka_unit_test(test_polled_event_idx),
        cmocka_unit_test(test_armed_no_notify_flag),  cmocka_unit_test(test_armed_event_idx),
        cmocka_unit_test(test_polled_after_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
