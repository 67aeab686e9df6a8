/* SPDX-License-Identifier: Apache-2.0 */
/* xcv_vq_device_process(): bounded work per call, and what the handler's answer means. */
#include "ring_fixture.h"

static struct ring_fixture F;
static struct test_port DEV_TP;
static int tokens[RF_MAX_NUM];

#define TOK(i) ((void *)&tokens[(i)])

struct handler_ctx {
    unsigned calls;
    unsigned keep_at; /* call number (1-based) that keeps its chain; 0 for none */
    unsigned fail_at; /* call number that returns an error; 0 for none */
    uint16_t kept_head;
    uint32_t kept_in_len;
    bool bad_iov;
};

static int handler(void *ctx, const struct xcv_chain *chain, uint32_t *written)
{
    struct handler_ctx *h = ctx;
    h->calls++;
    if (chain->n_in != 1 || !rf_in_window(&F, chain->iov[0].base, chain->iov[0].len)) {
        h->bad_iov = true;
    }
    if (h->calls == h->keep_at) {
        h->kept_head = chain->head;
        h->kept_in_len = chain->in_len;
        return 1;
    }
    if (h->calls == h->fail_at) {
        *written = 7; /* must be ignored: the chain goes back with 0 bytes */
        return XCV_EIO;
    }
    *written = chain->in_len / 2u;
    return 0;
}

static void setup_with(uint16_t num, unsigned chains)
{
    struct rf_opts o = {.num = num};
    rf_setup_ports(&F, &o, NULL, &DEV_TP, false);
    for (unsigned i = 0; i < chains; i++) {
        rf_post_in(&F, i, (uint32_t)(16u + i), TOK(i));
    }
    assert_int_equal(xcv_vq_driver_publish(&F.drv), (int)chains);
}

static void drain_expect(unsigned first, unsigned n)
{
    for (unsigned i = first; i < first + n; i++) {
        rf_get_used_ok(&F.drv, TOK(i), (16u + i) / 2u);
    }
}

static void budget_bounds_the_chains_handled_per_call(void **state)
{
    struct handler_ctx h = {0};
    (void)state;
    setup_with(128, 100);
    for (unsigned call = 0; call < 10; call++) {
        assert_int_equal(xcv_vq_device_process(&F.dev, 10, &F.chain, handler, &h), 10);
        assert_int_equal(h.calls, 10u * (call + 1u));
        assert_int_equal(rf_used_idx(&F), 10u * (call + 1u));
        assert_int_equal(xcv_vq_device_in_flight(&F.dev), 0);
    }
    assert_int_equal(xcv_vq_device_process(&F.dev, 10, &F.chain, handler, &h), 0);
    assert_int_equal(h.calls, 100);
    assert_false(h.bad_iov);
    drain_expect(0, 100);
}

static void budget_zero_handles_nothing(void **state)
{
    struct handler_ctx h = {0};
    (void)state;
    setup_with(8, 3);
    assert_int_equal(xcv_vq_device_process(&F.dev, 0, &F.chain, handler, &h), 0);
    assert_int_equal(h.calls, 0);
    assert_int_equal(xcv_vq_device_process(&F.dev, 100, &F.chain, handler, &h), 3);
}

static void process_flushes_once_per_call(void **state)
{
    struct handler_ctx h = {0};
    (void)state;
    setup_with(32, 20);
    assert_int_equal(xcv_vq_device_process(&F.dev, 20, &F.chain, handler, &h), 20);
    assert_int_equal(DEV_TP.notify_calls, 1);
    assert_int_equal(rf_used_idx(&F), 20);
}

static void handler_keeping_a_chain_pushes_it_later(void **state)
{
    struct handler_ctx h = {.keep_at = 2};
    void *tok;
    uint32_t len;
    (void)state;
    setup_with(8, 4);
    assert_int_equal(xcv_vq_device_process(&F.dev, 8, &F.chain, handler, &h), 4);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 1);
    assert_int_equal(rf_used_idx(&F), 3);
    drain_expect(0, 1);
    drain_expect(2, 2);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EAGAIN);

    assert_int_equal(xcv_vq_device_push(&F.dev, h.kept_head, h.kept_in_len), XCV_OK);
    assert_int_equal(xcv_vq_device_flush(&F.dev) >= 0, 1);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 0);
    rf_get_used_ok(&F.drv, TOK(1), 17);
}

static void handler_error_stops_and_returns_chain_with_zero_bytes(void **state)
{
    struct handler_ctx h = {.fail_at = 3};
    (void)state;
    setup_with(8, 6);
    assert_int_equal(xcv_vq_device_process(&F.dev, 8, &F.chain, handler, &h), XCV_EIO);
    assert_int_equal(h.calls, 3);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 0);
    assert_int_equal(rf_used_idx(&F), 3); /* two handled, the failed one returned */
    drain_expect(0, 2);
    rf_get_used_ok(&F.drv, TOK(2), 0);
    /* Not a protocol error: the queue carries on with the rest. */
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
    h.fail_at = 0;
    assert_int_equal(xcv_vq_device_process(&F.dev, 8, &F.chain, handler, &h), 3);
    drain_expect(3, 3);
}

static void ring_protocol_error_stops_processing(void **state)
{
    struct handler_ctx h = {0};
    (void)state;
    setup_with(8, 2);
    /* A third entry naming an out-of-range head. */
    rf_set_avail_ring(&F, 2, 99);
    rf_set_avail_idx(&F, 3);
    assert_int_equal(xcv_vq_device_process(&F.dev, 8, &F.chain, handler, &h), XCV_EPROTO_HEAD);
    assert_int_equal(h.calls, 2);
    assert_int_equal(xcv_vq_device_broken(&F.dev), XCV_EPROTO_HEAD);
    assert_int_equal(xcv_vq_device_process(&F.dev, 8, &F.chain, handler, &h), XCV_EBROKEN);
    assert_int_equal(h.calls, 2);
}

static void process_rejects_null_arguments(void **state)
{
    struct handler_ctx h = {0};
    (void)state;
    setup_with(8, 1);
    assert_int_equal(xcv_vq_device_process(NULL, 8, &F.chain, handler, &h), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_process(&F.dev, 8, NULL, handler, &h), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_process(&F.dev, 8, &F.chain, NULL, &h), XCV_EINVAL);
    assert_int_equal(h.calls, 0);
    assert_int_equal(xcv_vq_device_process(&F.dev, 8, &F.chain, handler, &h), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(budget_bounds_the_chains_handled_per_call),
        cmocka_unit_test(budget_zero_handles_nothing),
        cmocka_unit_test(process_flushes_once_per_call),
        cmocka_unit_test(handler_keeping_a_chain_pushes_it_later),
        cmocka_unit_test(handler_error_stops_and_returns_chain_with_zero_bytes),
        cmocka_unit_test(ring_protocol_error_stops_processing),
        cmocka_unit_test(process_rejects_null_arguments),
    };
    return cmocka_run_group_tests_name("vq_process", tests, NULL, NULL);
}
