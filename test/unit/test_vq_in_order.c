/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VIRTIO_F_IN_ORDER on split rings (virtio 1.2, 2.7.5 and 2.7.9), both roles: the driver takes
 * descriptors in table order (wrapping) and returns chains oldest first, expanding a batch used
 * entry into every chain of the batch; the device finds heads without reading the available
 * slots, accepts pushes in pop order only and coalesces runs of zero-length chains into one used
 * entry. Also: a hostile device against the in-order driver, the packed combination refused,
 * set_base refused, detach_unused and peek_used in order.
 */
#include "ring_fixture.h"

#define QI 5u
#define IN_ORDER XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER)
#define INDIRECT XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)
#define EVIDX XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)
#define PACKED XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)
#define F_NEXT XCV_VRING_DESC_F_NEXT
#define F_WRITE XCV_VRING_DESC_F_WRITE
#define F_INDIRECT XCV_VRING_DESC_F_INDIRECT
#define POISON UINT32_C(0xFFFFFFFF)

static struct ring_fixture F;
static struct test_port TP;
static int tokens[RF_MAX_NUM];

#define TOK(i) ((void *)&tokens[(i)])

static void setup_with(uint16_t num, uint64_t features, bool device)
{
    struct rf_opts o = {.num = num,
                        .features = IN_ORDER | features,
                        .queue_index = QI,
                        .no_device = !device,
                        .indirect_area = (features & INDIRECT) != 0u,
                        .prefer_indirect = (features & INDIRECT) != 0u};
    rf_setup_ports(&F, &o, &TP, &TP, false);
}

/* Post a chain of @p nseg segments: the first @p n_out readable (32 bytes), the rest writable
 * (50 bytes each), buffers from @p buf on. */
static int post(unsigned nseg, unsigned n_out, unsigned buf, void *tok)
{
    struct xcv_sg sg[4];
    assert_true(nseg <= 4u && n_out <= nseg);
    for (unsigned i = 0; i < nseg; i++) {
        sg[i].addr = rf_buf_bus(&F, (buf + i) % RF_NUM_BUFS);
        sg[i].len = i < n_out ? 32u : 50u;
    }
    return xcv_vq_driver_add(&F.drv, sg, n_out, nseg - n_out, tok);
}

static void poison_used_ring(void)
{
    memset((uint8_t *)F.ring.used + 4, 0xFF, 8u * rf_num(&F));
}

static bool used_poisoned(uint16_t slot)
{
    return rf_used_id(&F, slot) == POISON && rf_used_len(&F, slot) == POISON;
}

static void assert_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    struct rf_desc d = rf_desc_read(&F, i);
    assert_int_equal(d.addr, addr);
    assert_int_equal(d.len, len);
    assert_int_equal(d.flags, flags);
    assert_int_equal(d.next, next);
}

/* ---- a. the driver takes descriptors in table order, wrapping ---- */

static void driver_takes_descriptors_in_table_order_and_wraps(void **state)
{
    (void)state;
    setup_with(8, 0, false);
    /* heads 0 (1 desc), 1 (3 descs: 1..3), 4 (2 descs: 4..5) */
    assert_int_equal(post(1, 0, 0, TOK(0)), XCV_OK);
    assert_int_equal(post(3, 1, 10, TOK(1)), XCV_OK);
    assert_int_equal(post(2, 0, 20, TOK(2)), XCV_OK);
    assert_desc(0, rf_buf_bus(&F, 0), 50, F_WRITE, 0);
    assert_desc(1, rf_buf_bus(&F, 10), 32, F_NEXT, 2);
    assert_desc(2, rf_buf_bus(&F, 11), 50, F_NEXT | F_WRITE, 3);
    assert_desc(3, rf_buf_bus(&F, 12), 50, F_WRITE, 0);
    assert_desc(4, rf_buf_bus(&F, 20), 50, F_NEXT | F_WRITE, 5);
    assert_desc(5, rf_buf_bus(&F, 21), 50, F_WRITE, 0);
    assert_int_equal(rf_avail_ring(&F, 0), 0);
    assert_int_equal(rf_avail_ring(&F, 1), 1);
    assert_int_equal(rf_avail_ring(&F, 2), 4);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 2);
    /* Three descriptors do not fit in the two left; nothing is taken. */
    assert_int_equal(post(3, 0, 30, TOK(7)), XCV_ENOSPC);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 2);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 3);

    /* The device returns the two oldest: descriptors 0..3 join the free run after 6, 7. */
    rf_set_used(&F, 0, 0, 10, 1);
    rf_set_used(&F, 1, 1, 0, 2);
    rf_get_used_ok(&F.drv, TOK(0), 10);
    rf_get_used_ok(&F.drv, TOK(1), 0);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 6);

    /* A 4-descriptor chain takes 6, 7, then wraps to 0, 1: not the head freed last. */
    assert_int_equal(post(4, 2, 40, TOK(3)), XCV_OK);
    assert_desc(6, rf_buf_bus(&F, 40), 32, F_NEXT, 7);
    assert_desc(7, rf_buf_bus(&F, 41), 32, F_NEXT, 0);
    assert_desc(0, rf_buf_bus(&F, 42), 50, F_NEXT | F_WRITE, 1);
    assert_desc(1, rf_buf_bus(&F, 43), 50, F_WRITE, 0);
    assert_int_equal(rf_avail_ring(&F, 3), 6);
    /* A one-segment chain, then a burst that gets the last free descriptor only. */
    assert_int_equal(post(1, 1, 50, TOK(4)), XCV_OK);
    assert_int_equal(rf_avail_ring(&F, 4), 2);
    assert_desc(2, rf_buf_bus(&F, 50), 32, 0, 0);
    struct xcv_sg sg[2] = {{rf_buf_bus(&F, 60), 64}, {rf_buf_bus(&F, 61), 64}};
    void *const toks[2] = {TOK(5), TOK(6)};
    assert_int_equal(xcv_vq_driver_add_burst(&F.drv, sg, 2, true, toks), 1);
    assert_int_equal(rf_avail_ring(&F, 5), 3);
    assert_desc(3, rf_buf_bus(&F, 60), 64, F_WRITE, 0);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 0);
    assert_int_equal(post(1, 0, 0, TOK(7)), XCV_ENOSPC);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 3);

    /* One used entry for the four chains in flight (heads 4, 6, 2, 3), naming the last. */
    rf_set_used(&F, 2, 3, 64, 6);
    rf_get_used_ok(&F.drv, TOK(2), 0);
    rf_get_used_ok(&F.drv, TOK(3), 0);
    rf_get_used_ok(&F.drv, TOK(4), 0);
    rf_get_used_ok(&F.drv, TOK(5), 64);
    rf_get_used_none(&F.drv);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);
    /* Table order goes on from descriptor 4, with the whole table free. */
    assert_int_equal(post(2, 0, 70, TOK(8)), XCV_OK);
    assert_int_equal(rf_avail_ring(&F, 6), 4);
    assert_desc(4, rf_buf_bus(&F, 70), 50, F_NEXT | F_WRITE, 5);
    assert_int_equal(TP.log_error_calls, 0);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
}

/* With an indirect table a multi-segment chain takes one ring descriptor, still in order. */
static void driver_in_order_with_indirect_takes_one_descriptor(void **state)
{
    (void)state;
    setup_with(8, INDIRECT, true);
    assert_int_equal(post(3, 1, 0, TOK(0)), XCV_OK);
    assert_int_equal(post(1, 0, 3, TOK(1)), XCV_OK);
    assert_int_equal(post(2, 0, 4, TOK(2)), XCV_OK);
    assert_int_equal(rf_avail_ring(&F, 0), 0);
    assert_int_equal(rf_avail_ring(&F, 1), 1);
    assert_int_equal(rf_avail_ring(&F, 2), 2);
    assert_int_equal(rf_desc_read(&F, 0).flags, F_INDIRECT);
    assert_int_equal(rf_desc_read(&F, 1).flags, F_WRITE);
    assert_int_equal(rf_desc_read(&F, 2).flags, F_INDIRECT);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 5);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 3);
    /* The device follows: heads 0, 1, 2. */
    for (uint16_t i = 0; i < 3; i++) {
        rf_pop_ok(&F);
        assert_int_equal(F.chain.head, i);
    }
    assert_int_equal(F.chain.n_in, 2);
    assert_int_equal(xcv_vq_device_push(&F.dev, 0, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 1, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 2, 99), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 3);
    rf_get_used_ok(&F.drv, TOK(0), 0);
    rf_get_used_ok(&F.drv, TOK(1), 0);
    rf_get_used_ok(&F.drv, TOK(2), 99);
    /* Next in table order: descriptor 3. */
    assert_int_equal(post(2, 0, 8, TOK(3)), XCV_OK);
    assert_int_equal(rf_avail_ring(&F, 3), 3);
}

/* ---- b. both roles end to end, random chains and lengths ---- */

#define HIST 64u
#define MAX_GROUPS 64u

struct io_rec {
    uint32_t seq;
    uint16_t head;
    uint16_t ndesc;
    uint16_t n_out;
    uint16_t n_in;
    uint32_t in_len;
    uint32_t len;  /* pushed */
    uint32_t want; /* what the driver must report */
};

struct io_group {
    uint16_t pos;         /* used index of the batch's first chain */
    uint32_t first, last; /* chain sequence numbers */
};

static struct io_rec hist[HIST];
static uint32_t seq_tok[HIST];

/* Run until @p chains chains went round (past the 16-bit used index's wrap when > 65536). */
static void end_to_end(uint64_t features, uint32_t seed, uint32_t chains)
{
    const uint16_t num = 16;
    const bool ind = (features & INDIRECT) != 0u;
    setup_with(num, features, true);
    uint32_t rnd = seed;
    uint32_t added = 0, popped = 0, pushed = 0, taken = 0;
    uint16_t next_head = 0;
    unsigned descs_out = 0;
    unsigned coalesced = 0, multi_desc = 0, zero_last = 0, rejected = 0;
    uint16_t used_wraps = 0;

    unsigned rounds = 0;
    for (; taken < chains; rounds++) {
        assert_true(rounds < 20u * chains); /* progress */
        /* 1. The driver posts a few chains of 1..3 segments. */
        unsigned want_add = rf_rand(&rnd) % 6u;
        for (unsigned k = 0; k < want_add; k++) {
            unsigned nseg = 1u + rf_rand(&rnd) % 3u;
            unsigned n_out = rf_rand(&rnd) % nseg; /* at least one writable */
            unsigned ndesc = ind && nseg > 1u ? 1u : nseg;
            struct io_rec *r = &hist[added % HIST];
            seq_tok[added % HIST] = added;
            int rc = post(nseg, n_out, (added * 3u) % RF_NUM_BUFS, &seq_tok[added % HIST]);
            if (rc == XCV_ENOSPC) {
                assert_true(xcv_vq_driver_num_free(&F.drv) < ndesc);
                break;
            }
            assert_int_equal(rc, XCV_OK);
            *r = (struct io_rec){.seq = added,
                                 .head = next_head,
                                 .ndesc = (uint16_t)ndesc,
                                 .n_out = (uint16_t)n_out,
                                 .n_in = (uint16_t)(nseg - n_out),
                                 .in_len = 50u * (nseg - n_out)};
            assert_int_equal(rf_avail_ring(&F, (uint16_t)added), next_head);
            if (!ind && nseg > 1u) {
                multi_desc++;
                for (unsigned j = 0; j + 1u < nseg; j++) {
                    uint16_t d = (uint16_t)((next_head + j) & (num - 1u));
                    assert_int_equal(rf_desc_read(&F, d).next, (d + 1u) & (num - 1u));
                    assert_true((rf_desc_read(&F, d).flags & F_NEXT) != 0u);
                }
            }
            next_head = (uint16_t)((next_head + ndesc) & (num - 1u));
            descs_out += ndesc;
            added++;
        }
        assert_int_equal(xcv_vq_driver_num_free(&F.drv), num - descs_out);
        if (rf_rand(&rnd) % 4u != 0u)
            (void)xcv_vq_driver_publish(&F.drv);

        /* 2. The device pops a few; heads in table order. */
        unsigned want_pop = rf_rand(&rnd) % 6u;
        for (unsigned k = 0; k < want_pop; k++) {
            int rc = xcv_vq_device_pop(&F.dev, &F.chain);
            if (rc == XCV_EAGAIN)
                break;
            assert_int_equal(rc, XCV_OK);
            const struct io_rec *r = &hist[popped % HIST];
            assert_int_equal(F.chain.head, r->head);
            assert_int_equal(F.chain.n_out, r->n_out);
            assert_int_equal(F.chain.n_in, r->n_in);
            assert_int_equal(F.chain.in_len, r->in_len);
            popped++;
        }

        /* 3. Everything published was taken: poison the used ring, then push in order. */
        poison_used_ring();
        uint16_t start = (uint16_t)pushed;
        struct io_group groups[MAX_GROUPS];
        unsigned ngroups = 0;
        bool open = false;
        uint32_t pushed_at_start = pushed;
        unsigned want_push = rf_rand(&rnd) % (popped - pushed + 1u);
        if (popped - pushed >= 2u) {
            /* Not the oldest: refused, the queue stays healthy. */
            uint16_t h = hist[(pushed + 1u) % HIST].head;
            assert_int_equal(xcv_vq_device_push(&F.dev, h, 0), XCV_EINVAL);
            assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
            rejected++;
        }
        for (unsigned k = 0; k < want_push; k++) {
            struct io_rec *r = &hist[pushed % HIST];
            uint32_t len = rf_rand(&rnd) % 3u == 0u ? 0u : 1u + rf_rand(&rnd) % r->in_len;
            assert_int_equal(xcv_vq_device_push(&F.dev, r->head, len), XCV_OK);
            r->len = len;
            if (open && hist[(pushed - 1u) % HIST].len == 0u) {
                groups[ngroups - 1u].last = pushed; /* joins the run */
            } else {
                assert_true(ngroups < MAX_GROUPS);
                groups[ngroups++] = (struct io_group){(uint16_t)pushed, pushed, pushed};
                open = true;
            }
            pushed++;
            if (rf_rand(&rnd) % 5u == 0u) {
                assert_int_equal(xcv_vq_device_publish(&F.dev), (int)(pushed - pushed_at_start));
                pushed_at_start = pushed;
                open = false; /* a publish ends the run */
            }
        }
        assert_int_equal(xcv_vq_device_publish(&F.dev), (int)(pushed - pushed_at_start));
        assert_int_equal(rf_used_idx(&F), (uint16_t)pushed);

        /* 4. Exactly one entry per run, at the run's first position, naming its last head. */
        for (unsigned g = 0; g < ngroups; g++) {
            const struct io_group *G = &groups[g];
            const struct io_rec *last = &hist[G->last % HIST];
            rf_assert_used(&F, G->pos, last->head, last->len);
            for (uint32_t s = G->first; s <= G->last; s++)
                hist[s % HIST].want = s == G->last ? last->len : 0u;
            if (G->last != G->first)
                coalesced++;
            if (last->len == 0u)
                zero_last++;
        }
        unsigned written = 0;
        for (uint16_t p = start; p != (uint16_t)pushed; p++)
            written += used_poisoned(p) ? 0u : 1u;
        assert_int_equal(written, ngroups);
        if ((uint16_t)pushed < start)
            used_wraps++;

        /* 5. The driver takes every chain, oldest first, with the expected lengths. */
        while (taken < pushed) {
            void *tok[8];
            uint32_t lens[8];
            int n;
            if (rf_rand(&rnd) % 2u == 0u) {
                n = xcv_vq_driver_get_used(&F.drv, &tok[0], &lens[0]) == XCV_OK ? 1 : -1;
            } else {
                n = xcv_vq_driver_get_used_burst(&F.drv, tok, lens, 1u + rf_rand(&rnd) % 8u);
            }
            assert_true(n > 0);
            for (int i = 0; i < n; i++, taken++) {
                const struct io_rec *r = &hist[taken % HIST];
                assert_ptr_equal(tok[i], &seq_tok[taken % HIST]);
                assert_int_equal(*(uint32_t *)tok[i], r->seq);
                assert_int_equal(lens[i], r->want);
                descs_out -= r->ndesc;
            }
        }
        rf_get_used_none(&F.drv);
        assert_int_equal(xcv_vq_driver_in_flight(&F.drv), added - taken);
        assert_int_equal(xcv_vq_device_in_flight(&F.dev), popped - pushed);
    }
    /* The run covered what it is meant to. */
    assert_true(coalesced > rounds / 10u);
    assert_true(zero_last > 0u);
    assert_true(rejected > 0u);
    assert_true(used_wraps > 0u);
    if (!ind)
        assert_true(multi_desc > 0u);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
    assert_int_equal(TP.log_error_calls, 0);
}

static void end_to_end_random_chains(void **state)
{
    (void)state;
    end_to_end(0, 0x1234567u, 70000);
}

static void end_to_end_random_chains_indirect_event_idx(void **state)
{
    (void)state;
    end_to_end(INDIRECT | EVIDX, 0x9E3779B9u, 70000);
}

/* The coalescing rule step by step: a run is written as soon as a push cannot join it. */
static void device_coalesces_zero_length_runs(void **state)
{
    (void)state;
    setup_with(8, 0, true);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(post(1, 0, i, TOK(i)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 6);
    for (uint16_t i = 0; i < 6; i++) {
        rf_pop_ok(&F);
        assert_int_equal(F.chain.head, i);
    }
    poison_used_ring();
    assert_int_equal(xcv_vq_device_push(&F.dev, 0, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 1, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 2, 5), XCV_OK);
    for (uint16_t p = 0; p < 8; p++)
        assert_true(used_poisoned(p)); /* the run is still open */
    assert_int_equal(xcv_vq_device_push(&F.dev, 3, 0), XCV_OK);
    /* Chain 3 cannot join (2 wrote bytes): 0..2 are written as one entry, before the publish. */
    rf_assert_used(&F, 0, 2, 5);
    assert_true(used_poisoned(1) && used_poisoned(2) && used_poisoned(3));
    assert_int_equal(rf_used_idx(&F), 0);
    assert_int_equal(xcv_vq_device_push(&F.dev, 4, 7), XCV_OK);
    assert_true(used_poisoned(3)); /* 3 and 4 are one run, not written yet */
    assert_int_equal(xcv_vq_device_push(&F.dev, 5, 0), XCV_OK);
    rf_assert_used(&F, 3, 4, 7);
    assert_true(used_poisoned(5));
    assert_int_equal(xcv_vq_device_publish(&F.dev), 6);
    assert_int_equal(rf_used_idx(&F), 6);
    rf_assert_used(&F, 5, 5, 0);
    assert_true(used_poisoned(1) && used_poisoned(2) && used_poisoned(4));
    const uint32_t want[6] = {0, 0, 5, 0, 7, 0};
    for (unsigned i = 0; i < 6; i++)
        rf_get_used_ok(&F.drv, TOK(i), want[i]);
    rf_get_used_none(&F.drv);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 0);
}

/* ---- c. the device never reads the available ring's slots ---- */

/* push_burst in order: the same runs as one push at a time, and a burst that leaves pop order
 * stops there, having staged the entries before it. */
static void device_push_burst_coalesces_and_stops_out_of_order(void **state)
{
    (void)state;
    setup_with(8, 0, true);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(post(1, 0, i, TOK(i)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 6);
    for (uint16_t i = 0; i < 6; i++)
        rf_pop_ok(&F);
    poison_used_ring();
    /* 0 and 1 wrote nothing and join 2; 3 then 5 skips 4: three staged. */
    const struct xcv_chain_done a[4] = {{0, 0}, {1, 0}, {2, 5}, {5, 0}};
    assert_int_equal(xcv_vq_device_push_burst(&F.dev, a, 4), 3);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 3);
    for (uint16_t p = 0; p < 8; p++)
        assert_true(used_poisoned(p)); /* the run is still open */
    assert_int_equal(xcv_vq_device_push_burst(&F.dev, &a[3], 1), XCV_EINVAL); /* 3 is next */
    const struct xcv_chain_done b[3] = {{3, 0}, {4, 7}, {5, 0}};
    assert_int_equal(xcv_vq_device_push_burst(&F.dev, b, 3), 3);
    rf_assert_used(&F, 0, 2, 5);
    rf_assert_used(&F, 3, 4, 7);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 6);
    rf_assert_used(&F, 5, 5, 0);
    assert_true(used_poisoned(1) && used_poisoned(2) && used_poisoned(4));
    const uint32_t want[6] = {0, 0, 5, 0, 7, 0};
    for (unsigned i = 0; i < 6; i++)
        rf_get_used_ok(&F.drv, TOK(i), want[i]);
    rf_get_used_none(&F.drv);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
}

static void device_ignores_avail_slots(void **state)
{
    (void)state;
    setup_with(8, 0, true);
    /* Through the driver: 1, 2 and 1 descriptors, then the slots overwritten with garbage. */
    assert_int_equal(post(1, 0, 0, TOK(0)), XCV_OK);
    assert_int_equal(post(2, 1, 1, TOK(1)), XCV_OK);
    assert_int_equal(post(1, 0, 3, TOK(2)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 3);
    for (uint16_t s = 0; s < 8; s++)
        rf_set_avail_ring(&F, s, (uint16_t)(0xBEEFu + s));
    const uint16_t heads[3] = {0, 1, 3};
    for (unsigned i = 0; i < 3; i++) {
        rf_pop_ok(&F);
        assert_int_equal(F.chain.head, heads[i]);
        assert_int_equal(F.chain.n_out, i == 1u ? 1 : 0);
        assert_int_equal(F.chain.n_in, 1);
    }
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EAGAIN);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(xcv_vq_device_push(&F.dev, heads[i], 1), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 3);
    for (unsigned i = 0; i < 3; i++)
        rf_get_used_ok(&F.drv, TOK(i), 1);

    /* A raw driver: only the index moves, every slot holds an out-of-range head. Heads follow
     * the table, past its end: 4, 5, 6, 7, 0, 1, ... */
    F.raw_avail_idx = 3;
    for (uint16_t i = 0; i < 20; i++) {
        uint16_t d = (uint16_t)((4u + i) & 7u);
        rf_desc_write(&F, d, rf_buf_bus(&F, i), 40, F_WRITE, 0xEEEE);
        rf_set_avail_ring(&F, F.raw_avail_idx, 0xFFFF);
        F.raw_avail_idx++;
        rf_set_avail_idx(&F, F.raw_avail_idx);
        rf_pop_ok(&F);
        assert_int_equal(F.chain.head, d);
        rf_assert_seg(&F.chain, 0, rf_buf(&F, i), 40);
        assert_int_equal(xcv_vq_device_push(&F.dev, d, 1u + i), XCV_OK);
        assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
        rf_assert_used(&F, (uint16_t)(3u + i), d, 1u + i);
    }
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);

    /* A raw driver that makes a descriptor available twice: the head in order is still busy. */
    for (uint16_t i = 0; i < 8; i++) {
        rf_desc_write(&F, (uint16_t)((F.raw_avail_idx + i) & 7u), rf_buf_bus(&F, i), 40, F_WRITE,
                      0);
    }
    F.raw_avail_idx = (uint16_t)(F.raw_avail_idx + 8u);
    rf_set_avail_idx(&F, F.raw_avail_idx);
    for (unsigned i = 0; i < 8; i++)
        rf_pop_ok(&F);
    F.raw_avail_idx++;
    rf_set_avail_idx(&F, F.raw_avail_idx);
    assert_int_equal(xcv_vq_device_pop(&F.dev, &F.chain), XCV_EPROTO_HEAD);
    assert_int_equal(xcv_vq_device_broken(&F.dev), XCV_EPROTO_HEAD);
}

/* ---- d. pushes out of pop order are refused without breaking the queue ---- */

static void device_push_out_of_order_is_refused(void **state)
{
    (void)state;
    setup_with(8, 0, true);
    assert_int_equal(post(1, 0, 0, TOK(0)), XCV_OK);
    assert_int_equal(post(2, 0, 1, TOK(1)), XCV_OK);
    assert_int_equal(post(1, 0, 3, TOK(2)), XCV_OK);
    assert_int_equal(post(1, 0, 4, TOK(3)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 4);
    for (unsigned i = 0; i < 3; i++)
        rf_pop_ok(&F); /* heads 0, 1, 3; head 4 stays available */
    poison_used_ring();
    assert_int_equal(xcv_vq_device_push(&F.dev, 1, 10), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&F.dev, 3, 10), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&F.dev, 4, 0), XCV_EINVAL); /* not popped */
    assert_int_equal(xcv_vq_device_push(&F.dev, 2, 0), XCV_EINVAL); /* not a head */
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
    assert_int_equal(xcv_vq_device_in_flight(&F.dev), 3);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 0);
    for (uint16_t p = 0; p < 8; p++)
        assert_true(used_poisoned(p));
    /* In order it works; the oldest again is no longer in flight. */
    assert_int_equal(xcv_vq_device_push(&F.dev, 0, 10), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 0, 10), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&F.dev, 3, 10), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&F.dev, 1, 100), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 3, 50), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 3);
    rf_get_used_ok(&F.drv, TOK(0), 10);
    rf_get_used_ok(&F.drv, TOK(1), 100);
    rf_get_used_ok(&F.drv, TOK(2), 50);
    rf_get_used_none(&F.drv);
    /* The available one still comes next. */
    rf_pop_ok(&F);
    assert_int_equal(F.chain.head, 4);
    assert_int_equal(xcv_vq_device_push(&F.dev, 4, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    rf_get_used_ok(&F.drv, TOK(3), 0);
    assert_int_equal(xcv_vq_device_broken(&F.dev), 0);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
}

/* ---- e. a hostile device against the in-order driver ---- */

/* Chains: head 0 (1 desc), head 1 (2 descs), head 3 (1 desc), head 4 (1 desc); tokens 0..3;
 * 50 writable bytes per descriptor. */
static void hostile_setup(void)
{
    setup_with(8, 0, false);
    assert_int_equal(post(1, 0, 0, TOK(0)), XCV_OK);
    assert_int_equal(post(2, 0, 1, TOK(1)), XCV_OK);
    assert_int_equal(post(1, 0, 3, TOK(2)), XCV_OK);
    assert_int_equal(post(1, 0, 4, TOK(3)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 4);
}

/* Broken with @p code for good, reported once; the chains not taken come back oldest first
 * from token @p first_left on; then the queue resets and starts over at descriptor 0. */
static void assert_broken_then_recover(int code, unsigned first_left)
{
    void *tok;
    uint32_t len;
    assert_int_equal(xcv_vq_driver_broken(&F.drv), code);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_get_used_burst(&F.drv, &tok, &len, 1), XCV_EBROKEN);
    assert_int_equal(post(1, 0, 0, TOK(9)), XCV_EBROKEN);
    tp_assert_logged_once(&TP, code, QI);
    for (unsigned i = first_left; i < 4; i++) {
        assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, &tok), XCV_OK);
        assert_ptr_equal(tok, TOK(i));
    }
    assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, &tok), XCV_EAGAIN);
    assert_int_equal(xcv_vq_driver_reset(&F.drv), XCV_OK);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
    assert_int_equal(post(1, 0, 0, TOK(9)), XCV_OK);
    assert_int_equal(rf_avail_ring(&F, 0), 0);
}

static void hostile_id_beyond_used_index_reach(void **state)
{
    (void)state;
    hostile_setup();
    void *tok;
    uint32_t len;
    /* One entry published, naming the second chain: reaching it takes two. */
    rf_set_used(&F, 0, 1, 0, 1);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EPROTO_USED_ID);
    assert_broken_then_recover(XCV_EPROTO_USED_ID, 0);

    /* Three published, naming the fourth chain (in flight, but out of reach). */
    hostile_setup();
    rf_set_used(&F, 0, 4, 0, 3);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EPROTO_USED_ID);
    assert_broken_then_recover(XCV_EPROTO_USED_ID, 0);

    /* After one good batch the reach counts from the next chain. */
    hostile_setup();
    rf_set_used(&F, 0, 0, 7, 1);
    rf_get_used_ok(&F.drv, TOK(0), 7);
    rf_set_used(&F, 1, 3, 0, 3); /* two more published: chains 1, 2; head 3 is chain 2 */
    rf_get_used_ok(&F.drv, TOK(1), 0);
    rf_get_used_ok(&F.drv, TOK(2), 0);
    rf_set_used(&F, 3, 0, 0, 4); /* head 0 was returned already */
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EPROTO_USED_ID);
    assert_broken_then_recover(XCV_EPROTO_USED_ID, 3);
}

static void hostile_id_out_of_range(void **state)
{
    (void)state;
    void *tok;
    uint32_t len;
    const uint32_t bad[4] = {8, 0xFFFF, 0x10000u /* head 0 in the low half */, 0xFFFFFFFFu};
    for (unsigned i = 0; i < 4; i++) {
        hostile_setup();
        rf_set_used(&F, 0, bad[i], 0, 4);
        assert_int_equal(xcv_vq_driver_get_used_burst(&F.drv, &tok, &len, 1), XCV_EPROTO_USED_ID);
        assert_broken_then_recover(XCV_EPROTO_USED_ID, 0);
    }
}

static void hostile_id_of_free_or_inner_descriptor(void **state)
{
    (void)state;
    void *tok;
    uint32_t len;
    /* 5, 6, 7 are free; 2 is the second descriptor of chain 1, not a head. */
    const uint32_t bad[4] = {5, 6, 7, 2};
    for (unsigned i = 0; i < 4; i++) {
        hostile_setup();
        rf_set_used(&F, 0, bad[i], 0, 4);
        assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EPROTO_USED_ID);
        assert_broken_then_recover(XCV_EPROTO_USED_ID, 0);
    }
}

static void hostile_len_too_large_on_batch_last(void **state)
{
    (void)state;
    void *tok;
    uint32_t len;
    /* The batch's last is chain 1 (100 writable bytes); 101 is one too many. */
    hostile_setup();
    rf_set_used(&F, 0, 1, 101, 2);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EPROTO_USED_LEN);
    assert_broken_then_recover(XCV_EPROTO_USED_LEN, 0);
    /* A single chain: 51 on a 50-byte chain. */
    hostile_setup();
    rf_set_used(&F, 0, 0, 51, 1);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EPROTO_USED_LEN);
    assert_broken_then_recover(XCV_EPROTO_USED_LEN, 0);
    /* Exactly the writable bytes is fine. */
    hostile_setup();
    rf_set_used(&F, 0, 1, 100, 2);
    rf_get_used_ok(&F.drv, TOK(0), 0);
    rf_get_used_ok(&F.drv, TOK(1), 100);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
}

static void hostile_used_index_beyond_in_flight(void **state)
{
    (void)state;
    void *tok;
    uint32_t len;
    hostile_setup();
    rf_set_used(&F, 0, 4, 0, 5);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EPROTO_USED_IDX);
    assert_broken_then_recover(XCV_EPROTO_USED_IDX, 0);
    /* After two are taken, two in flight: an index 3 ahead is too far. */
    hostile_setup();
    rf_set_used(&F, 0, 1, 0, 2);
    rf_get_used_ok(&F.drv, TOK(0), 0);
    rf_get_used_ok(&F.drv, TOK(1), 0);
    rf_set_used(&F, 2, 4, 0, 5);
    assert_int_equal(xcv_vq_driver_get_used(&F.drv, &tok, &len), XCV_EPROTO_USED_IDX);
    assert_broken_then_recover(XCV_EPROTO_USED_IDX, 2);
}

static void hostile_valid_batch_of_three(void **state)
{
    (void)state;
    hostile_setup();
    /* One entry for chains 0, 1, 2 (heads 0, 1, 3); the skipped entries hold garbage. */
    rf_set_used(&F, 0, 3, 33, 3);
    rf_set_used_elem(&F, 1, 0xFFFFFFFFu, 0xFFFFFFFFu);
    rf_set_used_elem(&F, 2, 6, 1000);
    rf_get_used_ok(&F.drv, TOK(0), 0);
    /* The entry is read once per batch: rewriting it now changes nothing. */
    rf_set_used_elem(&F, 0, 7, 5000);
    rf_get_used_ok(&F.drv, TOK(1), 0);
    rf_get_used_ok(&F.drv, TOK(2), 33);
    rf_get_used_none(&F.drv);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 7);
    /* The fourth alone, taken in a burst. */
    rf_set_used(&F, 3, 4, 50, 4);
    void *tok[4];
    uint32_t lens[4];
    assert_int_equal(xcv_vq_driver_get_used_burst(&F.drv, tok, lens, 4), 1);
    assert_ptr_equal(tok[0], TOK(3));
    assert_int_equal(lens[0], 50);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);

    /* A batch of three taken by one burst call. */
    hostile_setup();
    rf_set_used(&F, 0, 3, 50, 3);
    assert_int_equal(xcv_vq_driver_get_used_burst(&F.drv, tok, lens, 4), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_ptr_equal(tok[i], TOK(i));
    assert_int_equal(lens[0], 0);
    assert_int_equal(lens[1], 0);
    assert_int_equal(lens[2], 50);
    assert_int_equal(TP.log_error_calls, 0);
    assert_int_equal(xcv_vq_driver_broken(&F.drv), 0);
}

/* Eight one-descriptor chains (heads 0..7, 50 writable bytes each), published: the burst take
 * holds the queue's indices in locals while every chain in flight is one descriptor. */
static void single_setup(void)
{
    setup_with(8, 0, false);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(post(1, 0, i, TOK(i)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 8);
}

/* Take @p n with one burst call, expecting @p want chains from token @p first on, with the
 * lengths in @p lens_want. */
static void burst_ok(unsigned n, int want, unsigned first, const uint32_t *lens_want)
{
    void *tok[8];
    uint32_t lens[8];
    assert_int_equal(xcv_vq_driver_get_used_burst(&F.drv, tok, lens, n), want);
    for (int i = 0; i < want; i++) {
        assert_ptr_equal(tok[i], TOK(first + (unsigned)i));
        assert_int_equal(lens[i], lens_want[i]);
    }
}

static void burst_of_single_descriptor_chains(void **state)
{
    (void)state;
    single_setup();
    /* Empty: nothing, nothing broken. */
    burst_ok(8, 0, 0, NULL);
    /* A batch of three (one entry naming head 2, the index three on), then a single: the
     * burst stops at the index. */
    rf_set_used(&F, 0, 2, 40, 3);
    rf_set_used(&F, 3, 3, 10, 4);
    static const uint32_t l1[4] = {0, 0, 40, 10};
    burst_ok(8, 4, 0, l1);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 4);
    /* A count smaller than the batch: the batch goes on in the next call, which reads the
     * index again when the batch is done (nothing new: it stops there). */
    rf_set_used(&F, 4, 6, 50, 7);
    static const uint32_t l2[2] = {0, 0};
    burst_ok(2, 2, 4, l2);
    static const uint32_t l3[1] = {50};
    burst_ok(8, 1, 6, l3);
    /* Post again (wrapping into descriptors 0..), complete the last old one and two new. */
    assert_int_equal(post(1, 0, 0, TOK(8)), XCV_OK);
    assert_int_equal(post(1, 0, 1, TOK(9)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 2);
    rf_set_used(&F, 7, 7, 1, 8);
    rf_set_used(&F, 0, 1, 2, 10); /* head 1: the batch of tokens 8 and 9 */
    void *tok[8];
    uint32_t lens[8];
    assert_int_equal(xcv_vq_driver_get_used_burst(&F.drv, tok, lens, 8), 3);
    assert_ptr_equal(tok[0], TOK(7));
    assert_ptr_equal(tok[1], TOK(8));
    assert_ptr_equal(tok[2], TOK(9));
    assert_int_equal(lens[0], 1);
    assert_int_equal(lens[1], 0);
    assert_int_equal(lens[2], 2);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);
    assert_int_equal(TP.log_error_calls, 0);
}

/* A hostile entry in the middle of a burst: the chains before it are returned, the queue breaks
 * with the entry's error, and the next call reports it. */
static void burst_of_single_descriptor_chains_hostile(void **state)
{
    (void)state;
    static const struct {
        uint32_t id, len;
        uint16_t idx;
        int err;
    } bad[] = {
        {9, 0, 4, XCV_EPROTO_USED_ID},        /* out of range */
        {0x10002u, 0, 4, XCV_EPROTO_USED_ID}, /* head 2 in the low half */
        {0, 0, 4, XCV_EPROTO_USED_ID},        /* head 0: taken already */
        {5, 0, 4, XCV_EPROTO_USED_ID},        /* in flight, beyond the index's reach */
        {2, 51, 4, XCV_EPROTO_USED_LEN},      /* one byte too many */
        {2, 0, 10, XCV_EPROTO_USED_IDX},      /* index ahead of the chains in flight */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        single_setup();
        TP.log_error_calls = 0;
        rf_set_used(&F, 0, 1, 7, 2); /* chains 0 and 1: fine */
        if (bad[i].err == XCV_EPROTO_USED_IDX) {
            rf_set_used_idx(&F, 2);
            void *t0[2];
            uint32_t l0[2];
            assert_int_equal(xcv_vq_driver_get_used_burst(&F.drv, t0, l0, 2), 2);
        }
        rf_set_used(&F, 2, bad[i].id, bad[i].len, bad[i].idx);
        void *tok[8];
        uint32_t lens[8];
        int want = bad[i].err == XCV_EPROTO_USED_IDX ? bad[i].err : 2;
        assert_int_equal(xcv_vq_driver_get_used_burst(&F.drv, tok, lens, 8), want);
        if (want == 2) {
            assert_ptr_equal(tok[0], TOK(0));
            assert_ptr_equal(tok[1], TOK(1));
            assert_int_equal(lens[1], 7);
        }
        assert_int_equal(xcv_vq_driver_broken(&F.drv), bad[i].err);
        assert_int_equal(xcv_vq_driver_get_used_burst(&F.drv, tok, lens, 8), XCV_EBROKEN);
        tp_assert_logged_once(&TP, bad[i].err, QI);
        /* Every chain not taken is still detachable, oldest first. */
        for (unsigned k = 2; k < 8; k++) {
            assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, tok), XCV_OK);
            assert_ptr_equal(tok[0], TOK(k));
        }
        assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, tok), XCV_EAGAIN);
    }
}

/* ---- f. refused combinations ---- */

static void packed_with_in_order_is_refused(void **state)
{
    (void)state;
    setup_with(8, 0, false);
    struct xcv_vring_layout lay;
    assert_int_equal(xcv_vring_packed_layout(F.mem + RF_RING_OFF, rf_bus(RF_RING_OFF), 8, 64, &lay),
                     XCV_OK);
    struct xcv_vq_driver drv;
    struct xcv_vq_driver_config dc = {
        .ring = &lay, .slots = F.drv_slots, .features = PACKED | IN_ORDER};
    assert_int_equal(xcv_vq_driver_init(&drv, &dc), XCV_ENOTSUP);
    dc.features = PACKED | IN_ORDER | EVIDX;
    assert_int_equal(xcv_vq_driver_init(&drv, &dc), XCV_ENOTSUP);
    dc.features = PACKED; /* the same ring without IN_ORDER is fine */
    assert_int_equal(xcv_vq_driver_init(&drv, &dc), XCV_OK);

    struct xcv_vq_device dev;
    struct xcv_vq_device_config vc = {.mem = &F.map,
                                      .num = 8,
                                      .desc_bus = lay.desc_bus,
                                      .avail_bus = lay.avail_bus,
                                      .used_bus = lay.used_bus,
                                      .features = PACKED | IN_ORDER,
                                      .slots = F.dev_slots};
    assert_int_equal(xcv_vq_device_init(&dev, &vc), XCV_ENOTSUP);
    vc.features = PACKED;
    assert_int_equal(xcv_vq_device_init(&dev, &vc), XCV_OK);
}

static void device_set_base_in_order(void **state)
{
    (void)state;
    setup_with(8, 0, true);
    assert_int_equal(xcv_vq_device_set_base(&F.dev, 1, 0), XCV_ENOTSUP);
    assert_int_equal(xcv_vq_device_set_base(&F.dev, 0, 1), XCV_ENOTSUP);
    assert_int_equal(xcv_vq_device_set_base(&F.dev, 0x8000, 0x8000), XCV_ENOTSUP);
    assert_int_equal(xcv_vq_device_next_avail(&F.dev), 0);
    assert_int_equal(xcv_vq_device_set_base(&F.dev, 0, 0), XCV_OK);
    /* Nothing changed: the queue works from 0. */
    assert_int_equal(post(1, 0, 0, TOK(0)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 1);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.head, 0);
    assert_int_equal(xcv_vq_device_set_base(&F.dev, 0, 0), XCV_ESTATE); /* in flight */
    assert_int_equal(xcv_vq_device_push(&F.dev, 0, 3), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 1);
    rf_get_used_ok(&F.drv, TOK(0), 3);
    /* Without IN_ORDER the same call is accepted (control). */
    struct rf_opts o = {.num = 8};
    rf_setup(&F, &o);
    assert_int_equal(xcv_vq_device_set_base(&F.dev, 1, 1), XCV_OK);
    assert_int_equal(xcv_vq_device_next_avail(&F.dev), 1);
}

/* ---- g. detach_unused returns oldest first ---- */

static void detach_unused_oldest_first_then_reset(void **state)
{
    (void)state;
    setup_with(8, 0, true);
    assert_int_equal(post(2, 0, 0, TOK(0)), XCV_OK); /* head 0 */
    assert_int_equal(post(1, 0, 2, TOK(1)), XCV_OK); /* head 2 */
    assert_int_equal(post(3, 1, 3, TOK(2)), XCV_OK); /* head 3 */
    assert_int_equal(post(1, 0, 6, TOK(3)), XCV_OK); /* head 6 */
    assert_int_equal(post(1, 0, 7, TOK(4)), XCV_OK); /* head 7 */
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 5);
    /* The device takes three, completes the first two. */
    rf_pop_ok(&F);
    rf_pop_ok(&F);
    rf_pop_ok(&F);
    assert_int_equal(xcv_vq_device_push(&F.dev, 0, 20), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 2, 30), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 2);
    rf_get_used_ok(&F.drv, TOK(0), 20);
    rf_get_used_ok(&F.drv, TOK(1), 30);
    /* Two more wrap round to the freed descriptors: the newest chains have the lowest heads. */
    assert_int_equal(post(1, 0, 8, TOK(5)), XCV_OK); /* head 0 */
    assert_int_equal(post(2, 0, 9, TOK(6)), XCV_OK); /* head 1 */
    assert_int_equal(rf_avail_ring(&F, 5), 0);
    assert_int_equal(rf_avail_ring(&F, 6), 1);
    /* The device goes away: the rest come back oldest first, once each. */
    void *tok;
    const unsigned order[5] = {2, 3, 4, 5, 6}; /* heads 3, 6, 7, 0, 1 */
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, &tok), XCV_OK);
        assert_ptr_equal(tok, TOK(order[i]));
    }
    assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, &tok), XCV_EAGAIN);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    assert_int_equal(xcv_vq_driver_reset(&F.drv), XCV_OK);
    xcv_vq_device_reset(&F.dev);
    /* Both start over at descriptor 0. */
    assert_int_equal(post(1, 0, 0, TOK(5)), XCV_OK);
    assert_int_equal(post(2, 0, 1, TOK(6)), XCV_OK);
    assert_int_equal(rf_avail_ring(&F, 0), 0);
    assert_int_equal(rf_avail_ring(&F, 1), 1);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 2);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.head, 0);
    rf_pop_ok(&F);
    assert_int_equal(F.chain.head, 1);
    assert_int_equal(xcv_vq_device_push(&F.dev, 0, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 1, 9), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 2);
    rf_get_used_ok(&F.drv, TOK(5), 0);
    rf_get_used_ok(&F.drv, TOK(6), 9);

    /* In the middle of a batch: the chains of the batch not yet taken come first. */
    setup_with(8, 0, false);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(post(1, 0, i, TOK(i)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 4);
    rf_set_used(&F, 0, 2, 1, 3);
    rf_get_used_ok(&F.drv, TOK(0), 0);
    for (unsigned i = 1; i < 4; i++) {
        assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, &tok), XCV_OK);
        assert_ptr_equal(tok, TOK(i));
    }
    assert_int_equal(xcv_vq_driver_detach_unused(&F.drv, &tok), XCV_EAGAIN);
    assert_int_equal(xcv_vq_driver_reset(&F.drv), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&F.drv), 8);
    rf_get_used_none(&F.drv);
}

/* ---- h. peek_used walks the chains in order ---- */

static void peek_used_in_order(void **state)
{
    (void)state;
    setup_with(8, 0, false);
    assert_int_equal(post(1, 0, 0, TOK(0)), XCV_OK); /* head 0 */
    assert_int_equal(post(3, 0, 1, TOK(1)), XCV_OK); /* head 1 */
    assert_int_equal(post(1, 0, 4, TOK(2)), XCV_OK); /* head 4 */
    assert_int_equal(post(2, 0, 5, TOK(3)), XCV_OK); /* head 5 */
    assert_int_equal(post(1, 0, 7, TOK(4)), XCV_OK); /* head 7 */
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 5);
    /* Nothing acquired yet. */
    assert_null(xcv_vq_driver_peek_used(&F.drv, 0));
    /* One entry for four chains; the skipped entries name other heads. */
    rf_set_used(&F, 0, 5, 10, 4);
    rf_set_used_elem(&F, 1, 7, 0);
    rf_set_used_elem(&F, 2, 0, 0);
    rf_set_used_elem(&F, 3, 1, 0);
    rf_get_used_ok(&F.drv, TOK(0), 0);
    assert_ptr_equal(xcv_vq_driver_peek_used(&F.drv, 0), TOK(1));
    assert_ptr_equal(xcv_vq_driver_peek_used(&F.drv, 1), TOK(2));
    assert_ptr_equal(xcv_vq_driver_peek_used(&F.drv, 2), TOK(3));
    assert_null(xcv_vq_driver_peek_used(&F.drv, 3)); /* not covered by the index */
    rf_get_used_ok(&F.drv, TOK(1), 0);
    assert_ptr_equal(xcv_vq_driver_peek_used(&F.drv, 0), TOK(2));
    assert_ptr_equal(xcv_vq_driver_peek_used(&F.drv, 1), TOK(3));
    assert_null(xcv_vq_driver_peek_used(&F.drv, 2));
    /* Peeking takes nothing. */
    rf_get_used_ok(&F.drv, TOK(2), 0);
    rf_get_used_ok(&F.drv, TOK(3), 10);
    assert_null(xcv_vq_driver_peek_used(&F.drv, 0));
    rf_set_used(&F, 4, 7, 1, 5);
    /* The new index is acquired by the next get_used, not by a peek. */
    assert_null(xcv_vq_driver_peek_used(&F.drv, 0));
    rf_get_used_ok(&F.drv, TOK(4), 1);
    assert_int_equal(xcv_vq_driver_in_flight(&F.drv), 0);

    /* Through the device: two chains left in flight after a wrap. */
    setup_with(8, 0, true);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(post(1, 0, i, TOK(i)), XCV_OK);
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 6);
    for (unsigned i = 0; i < 6; i++) {
        rf_pop_ok(&F);
        assert_int_equal(xcv_vq_device_push(&F.dev, F.chain.head, 0), XCV_OK);
    }
    assert_int_equal(xcv_vq_device_publish(&F.dev), 6);
    for (unsigned i = 0; i < 6; i++)
        rf_get_used_ok(&F.drv, TOK(i), 0);
    assert_int_equal(post(2, 0, 10, TOK(10)), XCV_OK); /* head 6: 6, 7 */
    assert_int_equal(post(3, 0, 12, TOK(11)), XCV_OK); /* head 0: 0, 1, 2 */
    assert_int_equal(post(1, 0, 15, TOK(12)), XCV_OK); /* head 3 */
    assert_int_equal(xcv_vq_driver_publish(&F.drv), 3);
    for (unsigned i = 0; i < 3; i++)
        rf_pop_ok(&F);
    assert_int_equal(F.chain.head, 3);
    assert_int_equal(xcv_vq_device_push(&F.dev, 6, 100), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 0, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&F.dev, 3, 8), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&F.dev), 3);
    rf_get_used_ok(&F.drv, TOK(10), 100);
    assert_ptr_equal(xcv_vq_driver_peek_used(&F.drv, 0), TOK(11));
    assert_ptr_equal(xcv_vq_driver_peek_used(&F.drv, 1), TOK(12));
    assert_null(xcv_vq_driver_peek_used(&F.drv, 2));
    rf_get_used_ok(&F.drv, TOK(11), 0);
    rf_get_used_ok(&F.drv, TOK(12), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(driver_takes_descriptors_in_table_order_and_wraps),
        cmocka_unit_test(driver_in_order_with_indirect_takes_one_descriptor),
        cmocka_unit_test(end_to_end_random_chains),
        cmocka_unit_test(end_to_end_random_chains_indirect_event_idx),
        cmocka_unit_test(device_coalesces_zero_length_runs),
        cmocka_unit_test(device_push_burst_coalesces_and_stops_out_of_order),
        cmocka_unit_test(device_ignores_avail_slots),
        cmocka_unit_test(device_push_out_of_order_is_refused),
        cmocka_unit_test(hostile_id_beyond_used_index_reach),
        cmocka_unit_test(hostile_id_out_of_range),
        cmocka_unit_test(hostile_id_of_free_or_inner_descriptor),
        cmocka_unit_test(hostile_len_too_large_on_batch_last),
        cmocka_unit_test(hostile_used_index_beyond_in_flight),
        cmocka_unit_test(hostile_valid_batch_of_three),
        cmocka_unit_test(burst_of_single_descriptor_chains),
        cmocka_unit_test(burst_of_single_descriptor_chains_hostile),
        cmocka_unit_test(packed_with_in_order_is_refused),
        cmocka_unit_test(device_set_base_in_order),
        cmocka_unit_test(detach_unused_oldest_first_then_reset),
        cmocka_unit_test(peek_used_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
