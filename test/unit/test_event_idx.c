/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Notification suppression, both roles: VIRTIO_F_EVENT_IDX (virtio 1.2, 2.7.7.2 and 2.7.10)
 * across the 16-bit index wrap, and the NO_NOTIFY / NO_INTERRUPT flags without it.
 *
 * Every decision the library makes is compared with the rule applied to the raw shared fields
 * (avail_event, used_event, the flags) as the peer left them, using xcv_vring_need_event().
 */
#include "ring_fixture.h"

static struct ring_fixture F;
static struct test_port DRV_TP;
static struct test_port DEV_TP;
static int tokens[RF_MAX_NUM];

#define EVT XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)
#define TOK(i) ((void *)&tokens[(i)])

/* What the test knows independently of the library. */
struct model {
    uint16_t added;     /* chains the driver added (its avail index) */
    uint16_t kicked;    /* avail index at the driver's last notification decision */
    uint16_t popped;    /* chains the device popped */
    uint16_t pushed;    /* chains the device pushed (its used index) */
    uint16_t signalled; /* used index at the device's last notification decision */
    uint16_t consumed;  /* chains the driver took back */
    bool event_idx;
};

static struct model M;

static void setup(uint64_t features, uint16_t num)
{
    struct rf_opts o = {.num = num, .features = features};
    rf_setup_ports(&F, &o, &DRV_TP, &DEV_TP, false);
    memset(&M, 0, sizeof(M));
    M.event_idx = (features & EVT) != 0;
}

/* ---- one step of each role, checked against the rule ---- */

static void drv_add(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        rf_post_in(&F, M.added % 16u, 64, TOK(M.added % 16u));
        M.added++;
    }
}

/* Driver decides whether to notify; returns the decision after checking it. */
static int drv_kick(bool through_port)
{
    int expect;
    int rc;
    unsigned before = DRV_TP.notify_calls;
    uint16_t avail_event = rf_avail_event(&F);
    uint16_t used_flags = rf_used_flags(&F);

    if (M.event_idx) {
        expect = xcv_vring_need_event(avail_event, M.added, M.kicked);
    } else {
        expect = (used_flags & XCV_VRING_USED_F_NO_NOTIFY) == 0;
    }
    rc = through_port ? xcv_vq_driver_kick(&F.drv) : xcv_vq_driver_kick_prepare(&F.drv);
    assert_int_equal(rf_avail_idx(&F), M.added);
    assert_int_equal(rc, expect);
    assert_int_equal(DRV_TP.notify_calls - before, through_port ? (unsigned)expect : 0u);
    M.kicked = M.added;
    return rc;
}

/* Device pops everything available and pushes it (staged until the next publish). */
static void dev_pop_all(void)
{
    while (xcv_vq_device_pop(&F.dev, &F.chain) == XCV_OK) {
        M.popped++;
        assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 1), XCV_OK);
        M.pushed++;
    }
    assert_int_equal(M.popped, M.added);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
}

static int dev_signal(bool through_port)
{
    int expect;
    int rc;
    unsigned before = DEV_TP.notify_calls;
    uint16_t used_event = rf_used_event(&F);
    uint16_t avail_flags = rf_avail_flags(&F);

    if (M.event_idx) {
        expect = xcv_vring_need_event(used_event, M.pushed, M.signalled);
    } else {
        expect = (avail_flags & XCV_VRING_AVAIL_F_NO_INTERRUPT) == 0;
    }
    if (through_port) {
        rc = xcv_vq_device_flush(&F.dev);
    } else {
        assert_true(xcv_vq_device_publish(&F.dev) >= 0);
        rc = xcv_vq_device_should_notify(&F.dev);
    }
    assert_int_equal(rf_used_idx(&F), M.pushed);
    assert_int_equal(rc, expect);
    assert_int_equal(DEV_TP.notify_calls - before, through_port ? (unsigned)expect : 0u);
    M.signalled = M.pushed;
    return rc;
}

static void drv_drain(void)
{
    void *tok;
    uint32_t len;
    while (xcv_vq_driver_get_used(&F.drv, &tok, &len) == XCV_OK) {
        assert_ptr_equal(tok, TOK(M.consumed % 16u));
        M.consumed++;
    }
    assert_int_equal(M.consumed, M.pushed);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
}

static int drv_enable(void)
{
    int rc = xcv_vq_driver_enable_notify(&F.drv);
    assert_int_equal(rc, rf_used_idx(&F) != M.consumed);
    return rc;
}

static int dev_enable(void)
{
    int rc = xcv_vq_device_enable_notify(&F.dev);
    assert_int_equal(rc, rf_avail_idx(&F) != M.popped);
    return rc;
}

/* Run @p n plain round trips with both sides' notifications enabled. */
static void advance(uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        drv_add(1);
        (void)drv_kick(false);
        dev_pop_all();
        (void)dev_enable();
        (void)dev_signal(false);
        drv_drain();
        (void)drv_enable();
    }
}

/* ---- randomised run past 65535 on both indexes ---- */

static void run_model(uint64_t features)
{
    uint32_t rs = 0xC0FFEEu;
    unsigned drv_notes = 0, dev_notes = 0, drv_quiet = 0, dev_quiet = 0;
    uint32_t total = 0;
    setup(features, 8);
    for (uint32_t iter = 0; iter < 70000u; iter++) {
        uint32_t r = rf_rand(&rs);
        unsigned n = 1u + (r % 3u);

        /* The device arms or disarms available-buffer notifications. */
        if ((r >> 4) % 4u == 0) {
            xcv_vq_device_disable_notify(&F.dev);
        } else if ((r >> 4) % 4u == 1) {
            (void)dev_enable();
        }
        /* The driver arms or disarms used-buffer notifications. */
        if ((r >> 8) % 4u == 0) {
            xcv_vq_driver_disable_notify(&F.drv);
        } else if ((r >> 8) % 4u == 1) {
            (void)drv_enable();
        }

        drv_add(n);
        total += n;
        if ((r >> 12) % 4u == 0) {
            assert_int_equal(xcv_vq_driver_publish(&F.drv), (int)n);
        }
        if (drv_kick(((r >> 14) & 1u) != 0)) {
            drv_notes++;
        } else {
            drv_quiet++;
        }

        dev_pop_all();
        if (dev_signal(((r >> 15) & 1u) != 0)) {
            dev_notes++;
        } else {
            dev_quiet++;
        }
        drv_drain();
    }
    /* The run must have passed the wrap on both indexes and seen both decisions. */
    assert_true(total > 2u * 65536u); /* both indexes wrapped twice */
    assert_true(drv_notes > 1000 && drv_quiet > 1000);
    assert_true(dev_notes > 1000 && dev_quiet > 1000);
}

static void event_idx_decisions_follow_need_event_across_wrap_2_7_10(void **state)
{
    (void)state;
    run_model(EVT);
}

static void flag_decisions_follow_no_notify_and_no_interrupt_2_7_7_2(void **state)
{
    (void)state;
    run_model(0);
}

/* ---- targeted EVENT_IDX cases at the wrap ---- */

/* virtio 1.2, 2.7.10: the driver notifies exactly when avail_event is crossed. */
static void driver_notifies_once_per_armed_event_across_wrap_2_7_10(void **state)
{
    (void)state;
    setup(EVT, 8);
    advance(65533);
    assert_int_equal(M.added, 65533);
    assert_int_equal(dev_enable(), 0);

    drv_add(4); /* 65533 .. 65536 (wraps to 0) */
    assert_int_equal(drv_kick(true), 1);
    dev_pop_all();
    /* Not re-armed: further buffers cross no event. */
    drv_add(1);
    assert_int_equal(drv_kick(true), 0);
    drv_add(2);
    assert_int_equal(drv_kick(true), 0);
    /* Arming while buffers wait reports the race. */
    assert_int_equal(dev_enable(), 1);
    dev_pop_all();
    assert_int_equal(dev_enable(), 0);
    drv_add(1);
    assert_int_equal(drv_kick(true), 1);
    assert_true(M.added < 16);
    assert_int_equal(DRV_TP.notify_calls, 2);
}

/* virtio 1.2, 2.7.7.2: the device interrupts exactly when used_event is crossed. */
static void device_interrupts_once_per_armed_event_across_wrap_2_7_7_2(void **state)
{
    (void)state;
    setup(EVT, 8);
    advance(65534);
    assert_int_equal(drv_enable(), 0);

    drv_add(3);
    (void)drv_kick(false);
    dev_pop_all(); /* used 65534 .. 65536 */
    assert_int_equal(dev_signal(true), 1);
    drv_drain();
    drv_add(2);
    (void)drv_kick(false);
    dev_pop_all();
    assert_int_equal(dev_signal(true), 0); /* not re-armed */
    assert_int_equal(drv_enable(), 1);     /* the race: used entries already waiting */
    drv_drain();
    assert_int_equal(drv_enable(), 0);
    drv_add(1);
    (void)drv_kick(false);
    dev_pop_all();
    assert_int_equal(dev_signal(true), 1);
    assert_int_equal(DEV_TP.notify_calls, 2);
}

static void disabled_driver_gets_no_interrupts_after_the_event_passed(void **state)
{
    (void)state;
    setup(EVT, 8);
    advance(10);
    assert_int_equal(drv_enable(), 0);
    xcv_vq_driver_disable_notify(&F.drv);
    for (unsigned i = 0; i < 200; i++) {
        drv_add(1);
        (void)drv_kick(false);
        dev_pop_all();
        if (i > 0) {
            assert_int_equal(dev_signal(true), 0);
        } else {
            (void)dev_signal(true);
        }
        drv_drain();
    }
    assert_true(DEV_TP.notify_calls <= 1);
}

static void disabled_device_gets_no_kicks_after_the_event_passed(void **state)
{
    (void)state;
    setup(EVT, 8);
    advance(10);
    assert_int_equal(dev_enable(), 0);
    xcv_vq_device_disable_notify(&F.dev);
    for (unsigned i = 0; i < 200; i++) {
        drv_add(1);
        if (i > 0) {
            assert_int_equal(drv_kick(true), 0);
        } else {
            (void)drv_kick(true);
        }
        dev_pop_all();
        (void)dev_signal(false);
        drv_drain();
    }
    assert_true(DRV_TP.notify_calls <= 1);
}

/* A publish on its own is not a decision: the next kick still covers what it published. */
static void publish_without_kick_is_covered_by_the_next_kick_2_7_10(void **state)
{
    (void)state;
    setup(EVT, 8);
    advance(3);
    assert_int_equal(dev_enable(), 0); /* avail_event == 3 */
    drv_add(1);                        /* lands at index 3 */
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    drv_add(1);
    assert_int_equal(drv_kick(false), 1);
}

/* virtio 1.2, 2.7.7.2: with EVENT_IDX the device ignores NO_INTERRUPT. */
static void device_ignores_no_interrupt_flag_with_event_idx_2_7_7_2(void **state)
{
    (void)state;
    setup(EVT, 8);
    advance(2);
    assert_int_equal(drv_enable(), 0);
    rf_set_avail_flags(&F, XCV_VRING_AVAIL_F_NO_INTERRUPT);
    rf_set_used_event(&F, M.pushed);
    drv_add(1);
    (void)drv_kick(false);
    dev_pop_all();
    assert_int_equal(dev_signal(false), 1);
}

/* virtio 1.2, 2.7.10: with EVENT_IDX the driver ignores NO_NOTIFY. */
static void driver_ignores_no_notify_flag_with_event_idx_2_7_10(void **state)
{
    (void)state;
    setup(EVT, 8);
    advance(2);
    rf_set_used_flags(&F, XCV_VRING_USED_F_NO_NOTIFY);
    rf_set_avail_event(&F, M.added);
    drv_add(1);
    assert_int_equal(drv_kick(false), 1);
    /* And an event not crossed means no kick even with the flag clear. */
    rf_set_used_flags(&F, 0);
    rf_set_avail_event(&F, (uint16_t)(M.added + 5u));
    drv_add(1);
    assert_int_equal(drv_kick(false), 0);
}

/* ---- without EVENT_IDX: the flags ---- */

static void device_disable_sets_no_notify_and_driver_honours_it_2_7_10(void **state)
{
    (void)state;
    setup(0, 8);
    xcv_vq_device_disable_notify(&F.dev);
    assert_true(rf_used_flags(&F) & XCV_VRING_USED_F_NO_NOTIFY);
    drv_add(1);
    assert_int_equal(drv_kick(true), 0);
    assert_int_equal(dev_enable(), 1); /* the chain is waiting */
    assert_false(rf_used_flags(&F) & XCV_VRING_USED_F_NO_NOTIFY);
    drv_add(1);
    assert_int_equal(drv_kick(true), 1);
    assert_int_equal(DRV_TP.notify_calls, 1);
}

static void driver_disable_sets_no_interrupt_and_device_honours_it_2_7_7_2(void **state)
{
    (void)state;
    setup(0, 8);
    xcv_vq_driver_disable_notify(&F.drv);
    assert_true(rf_avail_flags(&F) & XCV_VRING_AVAIL_F_NO_INTERRUPT);
    drv_add(1);
    (void)drv_kick(false);
    dev_pop_all();
    assert_int_equal(dev_signal(true), 0);
    assert_int_equal(drv_enable(), 1); /* the completion is waiting */
    assert_false(rf_avail_flags(&F) & XCV_VRING_AVAIL_F_NO_INTERRUPT);
    drv_drain();
    assert_int_equal(drv_enable(), 0);
    drv_add(1);
    (void)drv_kick(false);
    dev_pop_all();
    assert_int_equal(dev_signal(true), 1);
    assert_int_equal(DEV_TP.notify_calls, 1);
}

/* Without EVENT_IDX the event fields mean nothing and must be ignored. */
static void event_fields_ignored_without_event_idx(void **state)
{
    (void)state;
    setup(0, 8);
    advance(4);
    rf_set_avail_event(&F, (uint16_t)(M.added + 100u));
    rf_set_used_event(&F, (uint16_t)(M.pushed + 100u));
    drv_add(1);
    assert_int_equal(drv_kick(false), 1);
    dev_pop_all();
    assert_int_equal(dev_signal(false), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_idx_decisions_follow_need_event_across_wrap_2_7_10),
        cmocka_unit_test(flag_decisions_follow_no_notify_and_no_interrupt_2_7_7_2),
        cmocka_unit_test(driver_notifies_once_per_armed_event_across_wrap_2_7_10),
        cmocka_unit_test(device_interrupts_once_per_armed_event_across_wrap_2_7_7_2),
        cmocka_unit_test(disabled_driver_gets_no_interrupts_after_the_event_passed),
        cmocka_unit_test(disabled_device_gets_no_kicks_after_the_event_passed),
        cmocka_unit_test(publish_without_kick_is_covered_by_the_next_kick_2_7_10),
        cmocka_unit_test(device_ignores_no_interrupt_flag_with_event_idx_2_7_7_2),
        cmocka_unit_test(driver_ignores_no_notify_flag_with_event_idx_2_7_10),
        cmocka_unit_test(device_disable_sets_no_notify_and_driver_honours_it_2_7_10),
        cmocka_unit_test(driver_disable_sets_no_interrupt_and_device_honours_it_2_7_7_2),
        cmocka_unit_test(event_fields_ignored_without_event_idx),
    };
    return cmocka_run_group_tests_name("event_idx", tests, NULL, NULL);
}
