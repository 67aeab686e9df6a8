/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The port contract seen from the queues: doorbells only when the peer asked for them, cache
 * maintenance once per batch (never per descriptor), and the log sink told when a queue breaks.
 */
#include "ring_fixture.h"

static struct ring_fixture F;
static struct test_port DRV_TP;
static struct test_port DEV_TP;
static int tokens[RF_MAX_NUM];

#define QI 6u
#define TOK(i) ((void *)&tokens[(i)])

static void setup(uint16_t num, bool cache)
{
    struct rf_opts o = {.num = num, .queue_index = QI};
    rf_setup_ports(&F, &o, &DRV_TP, &DEV_TP, cache);
    tp_clear_counts(&DRV_TP);
    tp_clear_counts(&DEV_TP);
}

/* Driver posts @p n chains of two descriptors each (16 readable + 64 writable bytes). */
static void post_pairs(unsigned n)
{
    rf_post_pairs(&F, n, 16, 64, tokens);
}

/* ---- doorbells ---- */

static void driver_kick_rings_doorbell_only_when_device_wants_it(void **state)
{
    (void)state;
    setup(8, false);
    post_pairs(1);
    assert_int_equal(xcv_vq_driver_kick(&F.drv), 1);
    assert_int_equal(DRV_TP.notify_calls, 1);
    assert_int_equal(DRV_TP.last_doorbell, 0x100u + QI);

    xcv_vq_device_disable_notify(&F.dev);
    post_pairs(1);
    assert_int_equal(xcv_vq_driver_kick(&F.drv), 0);
    assert_int_equal(DRV_TP.notify_calls, 1);
    /* Nothing new: publishing zero chains must not ring either. */
    assert_int_equal(xcv_vq_driver_kick(&F.drv), 0);
    assert_int_equal(DRV_TP.notify_calls, 1);
    assert_int_equal(DEV_TP.notify_calls, 0);
}

static void driver_kick_without_port_cannot_ring(void **state)
{
    struct rf_opts o = {.num = 8};
    (void)state;
    rf_setup(&F, &o);
    post_pairs(1);
    assert_int_equal(xcv_vq_driver_kick(&F.drv), XCV_ENOTSUP);
    assert_int_equal(rf_avail_idx(&F), 1); /* it still published */
}

static void device_flush_without_port_cannot_ring(void **state)
{
    struct rf_opts o = {.num = 8};
    (void)state;
    rf_setup(&F, &o);
    post_pairs(1);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_flush(&F.dev), XCV_ENOTSUP);
    assert_int_equal(rf_used_idx(&F), 1); /* it still published */
}

static void device_flush_rings_doorbell_only_when_driver_wants_it(void **state)
{
    (void)state;
    setup(8, false);
    post_pairs(2);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 2);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 64), XCV_OK);
    assert_int_equal(xcv_vq_device_flush(&F.dev), 1);
    assert_int_equal(DEV_TP.notify_calls, 1);
    assert_int_equal(DEV_TP.last_doorbell, 0x200u + QI);
    assert_int_equal(rf_used_idx(&F), 1);

    xcv_vq_driver_disable_notify(&F.drv);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 64), XCV_OK);
    assert_int_equal(xcv_vq_device_flush(&F.dev), 0);
    assert_int_equal(DEV_TP.notify_calls, 1);
    assert_int_equal(rf_used_idx(&F), 2);
    assert_int_equal(DRV_TP.notify_calls, 0);
}

static void device_flush_propagates_port_error(void **state)
{
    (void)state;
    setup(8, false);
    DEV_TP.notify_ret = XCV_EPORT;
    post_pairs(1);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_flush(&F.dev), XCV_EPORT);
    assert_int_equal(rf_used_idx(&F), 1); /* published before the doorbell failed */
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
}

/* ---- cache maintenance ---- */

static void driver_cleans_once_per_batch_not_per_descriptor(void **state)
{
    unsigned one, batch;
    (void)state;
    setup(16, true);
    post_pairs(1);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    one = DRV_TP.clean_calls;
    assert_true(one >= 1);

    setup(16, true);
    post_pairs(8); /* 16 descriptors */
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 8);
    batch = DRV_TP.clean_calls;
    assert_true(batch >= 1);
    assert_true(batch <= one + 1u);
    assert_true(batch < 8u);
}

static void driver_invalidates_before_reading_used_entries(void **state)
{
    void *tok;
    uint32_t len;
    (void)state;
    setup(16, true);
    post_pairs(8);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 8);
    for (unsigned i = 0; i < 8; i++) {
        rf_pop_ok(&F);
        assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 1), XCV_OK);
    }
    assert_int_equal(xcv_vq_device_publish(&F.dev), 8);
    tp_clear_counts(&DRV_TP);
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_OK);
    }
    assert_true(DRV_TP.invalidate_calls >= 1);
    assert_true(DRV_TP.invalidate_calls < 16u); /* not per descriptor */
    assert_int_equal(DRV_TP.notify_calls, 0);
}

static void device_cleans_used_ring_once_per_publish(void **state)
{
    unsigned one, batch;
    (void)state;
    setup(16, true);
    post_pairs(8);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 8);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 1), XCV_OK);
    tp_clear_counts(&DEV_TP);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    one = DEV_TP.clean_calls;
    assert_true(one >= 1);

    for (unsigned i = 0; i < 7; i++) {
        rf_pop_ok(&F);
        assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 1), XCV_OK);
    }
    tp_clear_counts(&DEV_TP);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 7);
    batch = DEV_TP.clean_calls;
    assert_true(batch >= 1);
    assert_true(batch <= one + 1u); /* the 7 entries may wrap: at most one extra range */
}

static void device_invalidates_but_not_per_descriptor(void **state)
{
    (void)state;
    setup(16, true);
    post_pairs(8); /* 16 descriptors */
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 8);
    tp_clear_counts(&DEV_TP);
    for (unsigned i = 0; i < 8; i++) {
        rf_pop_ok(&F);
    }
    assert_true(DEV_TP.invalidate_calls >= 1);
    assert_true(DEV_TP.invalidate_calls < 16u);
    assert_int_equal(DEV_TP.clean_calls, 0); /* popping writes nothing shared */
}

static void no_cache_ops_called_when_port_has_none(void **state)
{
    void *tok;
    uint32_t len;
    (void)state;
    setup(8, false);
    post_pairs(2);
    assert_int_equal(xcv_vq_driver_kick(&F.drv), 1);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 1), XCV_OK);
    assert_int_equal(xcv_vq_device_flush(&F.dev), 1);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_OK);
    assert_int_equal(DRV_TP.clean_calls + DRV_TP.invalidate_calls, 0);
    assert_int_equal(DEV_TP.clean_calls + DEV_TP.invalidate_calls, 0);
}

/* ---- log ---- */

static void healthy_round_trips_log_no_errors(void **state)
{
    void *tok;
    uint32_t len;
    (void)state;
    setup(8, true);
    for (unsigned i = 0; i < 100; i++) {
        post_pairs(1);
        (void)xcv_vq_driver_kick(&F.drv);
        rf_pop_ok(&F);
        assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 64), XCV_OK);
        (void)xcv_vq_device_flush(&F.dev);
        assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_OK);
    }
    assert_int_equal(DRV_TP.log_error_calls, 0);
    assert_int_equal(DEV_TP.log_error_calls, 0);
}

static void device_logs_the_error_that_broke_it(void **state)
{
    (void)state;
    setup(8, false);
    rf_set_avail_ring(&F, 0, 200);
    rf_set_avail_idx(&F, 1);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EPROTO_HEAD);
    tp_assert_logged_once(&DEV_TP, XCV_EPROTO_HEAD, QI);
    /* Later calls on the broken queue do not flood the log. */
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EBROKEN);
    assert_int_equal(DEV_TP.log_error_calls, 1);
}

static void driver_logs_the_error_that_broke_it(void **state)
{
    void *tok;
    uint32_t len;
    (void)state;
    setup(8, false);
    post_pairs(1);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    rf_set_used(&F, 0, rf_avail_ring(&F, 0), 65, 1);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EPROTO_USED_LEN);
    tp_assert_logged_once(&DRV_TP, XCV_EPROTO_USED_LEN, QI);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EBROKEN);
    assert_int_equal(DRV_TP.log_error_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(driver_kick_rings_doorbell_only_when_device_wants_it),
        cmocka_unit_test(driver_kick_without_port_cannot_ring),
        cmocka_unit_test(device_flush_without_port_cannot_ring),
        cmocka_unit_test(device_flush_rings_doorbell_only_when_driver_wants_it),
        cmocka_unit_test(device_flush_propagates_port_error),
        cmocka_unit_test(driver_cleans_once_per_batch_not_per_descriptor),
        cmocka_unit_test(driver_invalidates_before_reading_used_entries),
        cmocka_unit_test(device_cleans_used_ring_once_per_publish),
        cmocka_unit_test(device_invalidates_but_not_per_descriptor),
        cmocka_unit_test(no_cache_ops_called_when_port_has_none),
        cmocka_unit_test(healthy_round_trips_log_no_errors),
        cmocka_unit_test(device_logs_the_error_that_broke_it),
        cmocka_unit_test(driver_logs_the_error_that_broke_it),
    };
    return cmocka_run_group_tests_name("port_ops", tests, NULL, NULL);
}
