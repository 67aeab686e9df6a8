/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver role against a hostile device: the test writes raw used-ring entries and indexes.
 * Every malformed completion must be rejected with its exact code, break the queue for good
 * (until reset), be reported to the port's log, and leave every buffer recoverable through
 * xcv_vq_driver_detach_unused() exactly once.
 */
#include "ring_fixture.h"

static struct ring_fixture F;
static struct test_port TP;
static int tokens[RF_MAX_NUM];

#define QI 4u
#define TOK(i) ((void *)&tokens[(i)])

static void setup_hostile(uint16_t num)
{
    struct rf_opts o = {.num = num, .queue_index = QI, .no_device = true};
    rf_setup_ports(&F, &o, &TP, NULL, false);
}

/* Post @p n chains: chain i is 1 readable (32 bytes) + 1 writable (100 bytes), token i. */
static void post_chains(unsigned n)
{
    rf_post_pairs(&F, n, 32, 100, tokens);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), (int)n);
}

/* The head the driver used for its @p i-th published chain. */
static uint16_t head_of(uint16_t i)
{
    return rf_avail_ring(&F, i);
}

/* Device: complete @p id with @p len as used entry number @p slot, and publish up to it. */
static void used(uint16_t slot, uint32_t id, uint32_t len)
{
    rf_set_used(&F, slot, id, len, (uint16_t)(slot + 1u));
}

/* Sticky breakage, reported once, and every outstanding token (bitmask) detaches once. */
static void assert_broken_with(int code, uint32_t outstanding)
{
    struct xcv_sg sg = {rf_buf_bus(&F, 0), 8};
    void *tok;
    uint32_t len;

    assert_int_equal(xcv_vq_driver_broken(&F.drv), code);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_add(&F.drv, &sg, 1, 0, TOK(30)), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_kick_prepare(&F.drv), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_enable_notify(&F.drv), XCV_EBROKEN);
    assert_true(xcv_vq_driver_kick(&F.drv) < 0);
    assert_int_equal(TP.notify_calls, 0);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), code);
    tp_assert_logged_once(&TP, code, QI);
    rf_assert_detach_once(&F.drv, tokens, outstanding);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), rf_num(&F));
}

static void get_used_fails_with(int code, uint32_t outstanding)
{
    void *tok = TOK(31);
    uint32_t len = 0xDEAD;
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), code);
    assert_ptr_equal(tok, TOK(31));
    assert_broken_with(code, outstanding);
}

/* ---- used ids (virtio 1.2, 2.7.8) ---- */

static void used_id_out_of_range_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8);
    post_chains(3);
    used(0, 8, 0);
    get_used_fails_with(XCV_EPROTO_USED_ID, 0x7);
}

static void used_id_far_out_of_range_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8);
    post_chains(1);
    used(0, 0x10000u, 0);
    get_used_fails_with(XCV_EPROTO_USED_ID, 0x1);
}

static void used_id_of_middle_descriptor_breaks_queue(void **state)
{
    uint16_t middle;
    (void)state;
    setup_hostile(8);
    post_chains(2);
    middle = rf_desc_read(&F, head_of(1)).next;
    assert_true(middle < 8);
    assert_int_not_equal(middle, head_of(1));
    used(0, middle, 0);
    get_used_fails_with(XCV_EPROTO_USED_ID, 0x3);
}

static void used_id_of_free_descriptor_breaks_queue(void **state)
{
    uint16_t id = 0;
    (void)state;
    setup_hostile(8);
    post_chains(1);
    /* Any descriptor the chain does not occupy. */
    while (id == head_of(0) || id == rf_desc_read(&F, head_of(0)).next) {
        id++;
    }
    used(0, id, 0);
    get_used_fails_with(XCV_EPROTO_USED_ID, 0x1);
}

static void used_id_returned_twice_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8);
    post_chains(3);
    used(0, head_of(0), 7);
    used(1, head_of(0), 7);
    rf_get_used_ok(&F.drv, TOK(0), 7);
    get_used_fails_with(XCV_EPROTO_USED_ID, 0x6);
}

static void used_id_of_chain_already_reclaimed_breaks_queue(void **state)
{
    void *tok;
    uint32_t len;
    int rc;
    (void)state;
    setup_hostile(8);
    post_chains(2);
    used(0, head_of(0), 1);
    rf_get_used_ok(&F.drv, TOK(0), 1);
    used(1, head_of(1), 2);
    rf_get_used_ok(&F.drv, TOK(1), 2);
    /* Nothing outstanding: the device replays the first completion. */
    rf_set_used(&F, 2, head_of(0), 1, 3);
    rc = xcv_vq_driver_get_used(&F.drv, &tok, &len);
    /* Either reading is exact: the id is not outstanding, and no chain is in flight. */
    assert_true(rc == XCV_EPROTO_USED_ID || rc == XCV_EPROTO_USED_IDX);
    assert_broken_with(rc, 0);
}

/* ---- used lengths (virtio 1.2, 2.7.8.1) ---- */

static void used_len_above_writable_breaks_queue_2_7_8_1(void **state)
{
    (void)state;
    setup_hostile(8);
    post_chains(2);
    used(0, head_of(0), 100); /* exactly the writable bytes: fine */
    rf_get_used_ok(&F.drv, TOK(0), 100);
    used(1, head_of(1), 101);
    get_used_fails_with(XCV_EPROTO_USED_LEN, 0x2);
}

static void used_len_on_read_only_chain_breaks_queue_2_7_8_1(void **state)
{
    struct xcv_sg sg = {rf_buf_bus(&F, 0), 64};
    (void)state;
    setup_hostile(8);
    assert_int_equal(xcv_vq_driver_add(&F.drv, &sg, 1, 0, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    used(0, head_of(0), 1);
    get_used_fails_with(XCV_EPROTO_USED_LEN, 0x1);
}

static void used_len_huge_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8);
    post_chains(1);
    used(0, head_of(0), 0xFFFFFFFFu);
    get_used_fails_with(XCV_EPROTO_USED_LEN, 0x1);
}

/* ---- used index ---- */

static void used_idx_ahead_of_chains_in_flight_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8);
    post_chains(2);
    rf_set_used_elem(&F, 0, head_of(0), 0);
    rf_set_used_elem(&F, 1, head_of(1), 0);
    rf_set_used_elem(&F, 2, head_of(1), 0);
    rf_set_used_idx(&F, 3);
    get_used_fails_with(XCV_EPROTO_USED_IDX, 0x3);
}

static void used_idx_jump_beyond_num_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8);
    post_chains(4);
    rf_set_used_idx(&F, 0x8000);
    get_used_fails_with(XCV_EPROTO_USED_IDX, 0xF);
}

static void used_idx_moving_backwards_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8);
    post_chains(2);
    used(0, head_of(0), 0);
    rf_get_used_ok(&F.drv, TOK(0), 0);
    rf_set_used_idx(&F, 0); /* 65535 entries "used" since */
    get_used_fails_with(XCV_EPROTO_USED_IDX, 0x2);
}

static void used_idx_with_no_chain_posted_breaks_queue(void **state)
{
    (void)state;
    setup_hostile(8);
    rf_set_used_idx(&F, 1);
    get_used_fails_with(XCV_EPROTO_USED_IDX, 0);
}

/* ---- the shadow, not the shared table, decides what comes back ---- */

static void device_rewriting_descriptor_table_does_not_redirect_reclaim(void **state)
{
    void *tok;
    (void)state;
    setup_hostile(8);
    post_chains(2);
    /* A device cannot write the descriptor table, but a broken one might: scribble over it. */
    memset(F.ring.desc, 0xEE, XCV_VRING_DESC_BYTES(8));
    used(0, head_of(1), 3);
    rf_get_used_ok(&F.drv, TOK(1), 3);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 6);
    used(1, head_of(0), 4);
    rf_get_used_ok(&F.drv, TOK(0), 4);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, &tok), XCV_EAGAIN);
}

/* ---- recovery ---- */

static void reset_after_breakage_makes_queue_work_again(void **state)
{
    struct xcv_vq_device_config cfg;
    (void)state;
    setup_hostile(8);
    post_chains(3);
    used(0, 8, 0);
    get_used_fails_with(XCV_EPROTO_USED_ID, 0x7);

    assert_int_equal(xcv_vq_driver_reset(&F.drv), XCV_OK);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
    assert_int_equal(rf_used_idx(&F), 0);
    assert_int_equal(rf_avail_idx(&F), 0);

    /* A well-behaved device now serves the queue. */
    rf_dev_config(&F, &cfg);
    assert_int_equal(xcv_vq_device_init(&F.dev, &cfg), XCV_OK);
    rf_post_in(&F, 9, 50, TOK(9));
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 50), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    rf_get_used_ok(&F.drv, TOK(9), 50);
}

static void reset_refused_while_broken_chains_are_outstanding(void **state)
{
    void *tok;
    (void)state;
    setup_hostile(8);
    post_chains(2);
    used(0, head_of(0), 101);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &(uint32_t){0}), XCV_EPROTO_USED_LEN);
    assert_int_equal(xcv_vq_driver_reset(&F.drv), XCV_ESTATE);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), XCV_EPROTO_USED_LEN);
    assert_broken_with(XCV_EPROTO_USED_LEN, 0x3);
    assert_int_equal(xcv_vq_driver_reset(&F.drv), XCV_OK);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(used_id_out_of_range_breaks_queue),
        cmocka_unit_test(used_id_far_out_of_range_breaks_queue),
        cmocka_unit_test(used_id_of_middle_descriptor_breaks_queue),
        cmocka_unit_test(used_id_of_free_descriptor_breaks_queue),
        cmocka_unit_test(used_id_returned_twice_breaks_queue),
        cmocka_unit_test(used_id_of_chain_already_reclaimed_breaks_queue),
        cmocka_unit_test(used_len_above_writable_breaks_queue_2_7_8_1),
        cmocka_unit_test(used_len_on_read_only_chain_breaks_queue_2_7_8_1),
        cmocka_unit_test(used_len_huge_breaks_queue),
        cmocka_unit_test(used_idx_ahead_of_chains_in_flight_breaks_queue),
        cmocka_unit_test(used_idx_jump_beyond_num_breaks_queue),
        cmocka_unit_test(used_idx_moving_backwards_breaks_queue),
        cmocka_unit_test(used_idx_with_no_chain_posted_breaks_queue),
        cmocka_unit_test(device_rewriting_descriptor_table_does_not_redirect_reclaim),
        cmocka_unit_test(reset_after_breakage_makes_queue_work_again),
        cmocka_unit_test(reset_refused_while_broken_chains_are_outstanding),
    };
    return cmocka_run_group_tests_name("vq_hostile_device", tests, NULL, NULL);
}
