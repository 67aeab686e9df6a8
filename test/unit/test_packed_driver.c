/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the driver role of a packed virtqueue (virtio 1.2, section 2.8), against a
 * small packed device written here from the spec, independent of the library's device role:
 * it reads available descriptors at its own position and wrap counter, and writes used
 * descriptors with the flags of the first one since its last publish deferred to the publish.
 * A hostile device is played by writing raw used descriptors.
 */
#include "ring_fixture.h"

#define QI 6u
#define AV XCV_VRING_PACKED_DESC_F_AVAIL
#define US XCV_VRING_PACKED_DESC_F_USED
#define F_NEXT XCV_VRING_DESC_F_NEXT
#define F_WRITE XCV_VRING_DESC_F_WRITE
#define PACKED XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)
#define EVIDX XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)

static int tokens[RF_MAX_NUM * 4];
#define TOK(i) ((void *)&tokens[(i)])

/* ---- the test's packed device ---- */

struct tchain {
    uint16_t id;
    uint16_t ndesc;
    uint16_t first; /* ring position of the first descriptor */
    uint64_t addr[RF_MAX_NUM];
    uint32_t len[RF_MAX_NUM];
    uint16_t flags[RF_MAX_NUM];
    uint32_t in_len;
};

struct tdev {
    uint8_t *desc;
    uint8_t *drv_area; /* driver event suppression (read by the device) */
    uint8_t *dev_area; /* device event suppression (written by the device) */
    uint16_t num;
    uint16_t avail_pos;
    bool avail_wrap;
    uint16_t used_pos;
    bool used_wrap;
    unsigned used_flips;
    bool busy[RF_MAX_NUM];
    uint16_t ndesc[RF_MAX_NUM];
    uint32_t in_len[RF_MAX_NUM];
    bool pend;
    uint16_t pend_pos;
    uint16_t pend_flags;
};

/* The fixture: the window memory of ring_fixture.h, a packed ring at its start. */
static struct {
    struct xcv_vring_layout ring;
    struct xcv_vq_driver drv;
    struct xcv_vq_drv_slot slots[RF_MAX_NUM];
    struct tdev dev;
    struct tchain ch;
} P;
static struct test_port TP;

static uint8_t *dptr(uint16_t pos)
{
    assert_true(pos < P.dev.num);
    return P.dev.desc + (size_t)pos * 16u;
}

static uint16_t d_flags(uint16_t pos)
{
    return xcv_le16_load(dptr(pos) + 14);
}

static uint16_t d_id(uint16_t pos)
{
    return xcv_le16_load(dptr(pos) + 12);
}

static void setup_q(uint16_t num, uint64_t features, bool cache)
{
    struct xcv_vq_driver_config cfg;
    memset(&P, 0, sizeof(P));
    memset(rf_window_mem, 0xA5, sizeof(rf_window_mem));
    tp_init(&TP, cache);
    assert_int_equal(xcv_vring_packed_layout(rf_window_mem, RF_BUS_BASE, num, 64, &P.ring), XCV_OK);
    memset(&cfg, 0, sizeof(cfg));
    cfg.ring = &P.ring;
    cfg.slots = P.slots;
    cfg.features = features | PACKED;
    cfg.port = &TP.port;
    cfg.doorbell = 0x100u + QI;
    cfg.queue_index = QI;
    assert_int_equal(xcv_vq_driver_init(&P.drv, &cfg), XCV_OK);
    P.dev.desc = P.ring.desc;
    P.dev.drv_area = P.ring.avail;
    P.dev.dev_area = P.ring.used;
    P.dev.num = num;
    P.dev.avail_wrap = true;
    P.dev.used_wrap = true;
}

/* Device: is the descriptor at @pos available for wrap counter @wrap? */
static bool dev_is_avail(uint16_t pos, bool wrap)
{
    uint16_t f = d_flags(pos);
    return ((f & AV) != 0) == wrap && ((f & US) != 0) != wrap;
}

/* Device: take the next available chain into P.ch; false when none is available. */
static bool dev_pop(void)
{
    struct tdev *d = &P.dev;
    struct tchain *c = &P.ch;
    if (!dev_is_avail(d->avail_pos, d->avail_wrap)) {
        return false;
    }
    memset(c, 0, sizeof(*c));
    c->first = d->avail_pos;
    bool readable_done = false;
    for (;;) {
        assert_true(c->ndesc < d->num); /* a chain never covers more than the ring */
        assert_true(dev_is_avail(d->avail_pos, d->avail_wrap));
        const uint8_t *p = dptr(d->avail_pos);
        uint16_t i = c->ndesc++;
        c->addr[i] = xcv_le64_load(p);
        c->len[i] = xcv_le32_load(p + 8);
        c->flags[i] = xcv_le16_load(p + 14);
        uint16_t id = xcv_le16_load(p + 12);
        if (i == 0) {
            c->id = id;
        }
        assert_int_equal(id, c->id); /* the driver writes the id in every descriptor */
        if (c->flags[i] & F_WRITE) {
            readable_done = true;
            c->in_len += c->len[i];
        } else {
            assert_false(readable_done);
        }
        assert_int_equal(c->flags[i] & XCV_VRING_DESC_F_INDIRECT, 0);
        if (++d->avail_pos == d->num) {
            d->avail_pos = 0;
            d->avail_wrap = !d->avail_wrap;
        }
        if (!(c->flags[i] & F_NEXT)) {
            break;
        }
    }
    assert_true(c->id < d->num);
    assert_false(d->busy[c->id]);
    d->busy[c->id] = true;
    d->ndesc[c->id] = c->ndesc;
    d->in_len[c->id] = c->in_len;
    return true;
}

/* Device: write a used descriptor for @id (deferring the batch's first flags). */
static void dev_push(uint16_t id, uint32_t len)
{
    struct tdev *d = &P.dev;
    assert_true(d->busy[id]);
    assert_true(len <= d->in_len[id]);
    uint8_t *p = dptr(d->used_pos);
    uint16_t flags = d->used_wrap ? (uint16_t)(AV | US) : (uint16_t)0;
    xcv_le32_store(p + 8, len);
    xcv_le16_store(p + 12, id);
    if (!d->pend) {
        d->pend = true;
        d->pend_pos = d->used_pos;
        d->pend_flags = flags;
    } else {
        xcv_le16_store(p + 14, flags);
    }
    d->busy[id] = false;
    d->used_pos = (uint16_t)(d->used_pos + d->ndesc[id]);
    if (d->used_pos >= d->num) {
        d->used_pos = (uint16_t)(d->used_pos - d->num);
        d->used_wrap = !d->used_wrap;
        d->used_flips++;
    }
}

static void dev_publish(void)
{
    if (P.dev.pend) {
        xcv_le16_store(dptr(P.dev.pend_pos) + 14, P.dev.pend_flags);
        P.dev.pend = false;
    }
}

/* Device: take the next @p n chains, complete each with length 0, publish. */
static void dev_complete(int n)
{
    for (int i = 0; i < n; i++) {
        assert_true(dev_pop());
        dev_push(P.ch.id, 0);
    }
    dev_publish();
}

/* Hostile device: write a raw used descriptor at @pos. */
static void raw_used(uint16_t pos, uint16_t id, uint32_t len, uint16_t flags)
{
    uint8_t *p = dptr(pos);
    xcv_le32_store(p + 8, len);
    xcv_le16_store(p + 12, id);
    xcv_le16_store(p + 14, flags);
}

static void dev_set_event(uint16_t flags, uint16_t off_wrap)
{
    xcv_le16_store(P.dev.dev_area, off_wrap);
    xcv_le16_store(P.dev.dev_area + 2, flags);
}

static uint16_t drv_event_flags(void)
{
    return xcv_le16_load(P.dev.drv_area + 2);
}

static uint16_t drv_event_off_wrap(void)
{
    return xcv_le16_load(P.dev.drv_area);
}

/* ---- driver-side shorthands ---- */

static void add_ok(unsigned n_out, unsigned n_in, uint32_t seg_len, int tok)
{
    struct xcv_sg sg[RF_MAX_NUM];
    assert_true(n_out + n_in <= RF_MAX_NUM);
    for (unsigned i = 0; i < n_out + n_in; i++) {
        sg[i].addr = RF_BUS_BASE + 0x8000u + (uint64_t)tok * 0x100u + i;
        sg[i].len = seg_len;
    }
    assert_int_equal(xcv_vq_driver_add(&P.drv, sg, n_out, n_in, TOK(tok)), XCV_OK);
}

static void get_ok(int want_tok, uint32_t want_len)
{
    rf_get_used_ok(&P.drv, TOK(want_tok), want_len);
}

static void get_none(void)
{
    rf_get_used_none(&P.drv);
}

/* The device pops one chain and checks it is the one with token @tok. */
static uint16_t pop_ok(int tok, uint16_t ndesc)
{
    assert_true(dev_pop());
    assert_int_equal(P.ch.ndesc, ndesc);
    assert_int_equal(P.ch.addr[0], RF_BUS_BASE + 0x8000u + (uint64_t)tok * 0x100u);
    return P.ch.id;
}

/* ---- init and layout ---- */

static void init_takes_packed_layout_and_zeroes_the_ring(void **state)
{
    struct xcv_vq_driver_config cfg;
    struct xcv_vq_driver q;
    struct xcv_vring_layout bad;
    (void)state;
    setup_q(16, 0, false);
    size_t bytes = XCV_VRING_PACKED_BYTES(16, 64);
    for (size_t i = 0; i < 16u * 16u; i++) {
        assert_int_equal(rf_window_mem[i], 0);
    }
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(((uint8_t *)P.ring.avail)[i], 0);
        assert_int_equal(((uint8_t *)P.ring.used)[i], 0);
    }
    assert_true(bytes <= RF_IND_OFF);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 16);
    assert_int_equal(xcv_vq_driver_in_flight(&P.drv), 0);
    assert_int_equal(xcv_vq_driver_broken(&P.drv), 0);
    get_none();

    memset(&cfg, 0, sizeof(cfg));
    cfg.slots = P.slots;
    cfg.features = PACKED;
    /* An indirect area is ignored, even a malformed one. */
    cfg.ring = &P.ring;
    cfg.indirect_local = rf_window_mem + RF_IND_OFF + 4;
    cfg.indirect_max = 1;
    cfg.prefer_indirect = true;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_OK);
    cfg.indirect_local = NULL;

    bad = P.ring;
    bad.num = 12;
    cfg.ring = &bad;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
    bad = P.ring;
    bad.desc = (uint8_t *)bad.desc + 8; /* descriptors 16-byte aligned */
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
    bad = P.ring;
    bad.avail = (uint8_t *)bad.desc + 16u * 16u - 4u; /* driver area over the descriptors */
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
    bad = P.ring;
    bad.used = (uint8_t *)bad.avail + 2; /* device area over the driver area */
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
    bad = P.ring;
    bad.used = (uint8_t *)bad.used + 2; /* misaligned */
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
    bad = P.ring;
    bad.used = NULL;
    assert_int_equal(xcv_vq_driver_init(&q, &cfg), XCV_EINVAL);
}

static void add_checks_arguments_as_the_split_ring(void **state)
{
    struct xcv_sg sg[3] = {{0x1000, 16}, {0x2000, 0x80000000u}, {0x3000, 0x80000000u}};
    (void)state;
    setup_q(8, 0, false);
    assert_int_equal(xcv_vq_driver_add(&P.drv, sg, 1, 0, NULL), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_add(&P.drv, sg, 0, 0, TOK(0)), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_add(&P.drv, NULL, 1, 0, TOK(0)), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_add(&P.drv, sg, 5, 4, TOK(0)), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_add(&P.drv, sg, 1, 2, TOK(0)), XCV_EINVAL); /* > 32 bits */
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 8);
    assert_int_equal(xcv_vq_driver_in_flight(&P.drv), 0);
    add_ok(3, 3, 8, 0);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 2);
    struct xcv_sg three[3] = {{0x1000, 1}, {0x2000, 1}, {0x3000, 1}};
    assert_int_equal(xcv_vq_driver_add(&P.drv, three, 3, 0, TOK(1)), XCV_ENOSPC);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 2);
    assert_int_equal(xcv_vq_driver_in_flight(&P.drv), 1);
    add_ok(1, 1, 8, 2);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 0);
    assert_int_equal(xcv_vq_driver_add(&P.drv, three, 1, 0, TOK(3)), XCV_ENOSPC);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 2);
}

/* ---- publish: 2.8.6, the first descriptor is made available last ---- */

static void nothing_is_visible_before_publish_2_8_6(void **state)
{
    (void)state;
    setup_q(8, 0, false);
    add_ok(1, 0, 10, 0); /* positions 0 */
    add_ok(1, 2, 20, 1); /* positions 1..3 */
    add_ok(0, 1, 30, 2); /* position 4 */
    /* Every field is written but the first flags word: the device sees nothing. */
    assert_int_equal(d_flags(0), 0);
    assert_false(dev_pop());
    assert_int_equal(d_flags(1), AV | F_NEXT);
    assert_int_equal(d_flags(2), AV | F_WRITE | F_NEXT);
    assert_int_equal(d_flags(3), AV | F_WRITE);
    assert_int_equal(d_flags(4), AV | F_WRITE);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 3);
    assert_int_equal(d_flags(0), AV);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 0);

    uint16_t a = pop_ok(0, 1);
    assert_int_equal(P.ch.len[0], 10);
    assert_int_equal(P.ch.in_len, 0);
    uint16_t b = pop_ok(1, 3);
    assert_int_equal(P.ch.flags[0], AV | F_NEXT);
    assert_int_equal(P.ch.addr[2], RF_BUS_BASE + 0x8000u + 0x100u + 2u);
    assert_int_equal(P.ch.in_len, 40);
    uint16_t c = pop_ok(2, 1);
    assert_int_equal(P.ch.in_len, 30);
    assert_false(dev_pop());
    /* Buffer ids are distinct and below num. */
    assert_true(a != b && b != c && a != c);

    /* A second batch: its first descriptor (position 5) is again the one deferred. */
    add_ok(1, 0, 4, 3);
    add_ok(1, 0, 4, 4);
    assert_false(dev_pop());
    assert_int_equal(d_flags(5), 0);
    assert_int_equal(d_flags(6), AV);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    pop_ok(3, 1);
    pop_ok(4, 1);
    assert_false(dev_pop());
}

/* 2.8.1, 2.8.6: a chain crossing the end of the ring takes each position's own wrap bits. */
static void chain_crossing_the_wrap_takes_each_positions_wrap_bits_2_8_1(void **state)
{
    (void)state;
    setup_q(8, 0, false);
    add_ok(1, 2, 16, 0); /* 0..2 */
    add_ok(1, 2, 16, 1); /* 3..5 */
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 2);
    uint16_t a = pop_ok(0, 3);
    uint16_t b = pop_ok(1, 3);
    dev_push(a, 32);
    dev_push(b, 7);
    dev_publish();
    get_ok(0, 32);
    get_ok(1, 7);
    get_none();
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 8);

    add_ok(2, 2, 16, 2); /* 6, 7 | 0, 1 */
    assert_int_equal(d_flags(7), AV | F_NEXT);
    assert_int_equal(d_flags(0), US | F_NEXT | F_WRITE);
    assert_int_equal(d_flags(1), US | F_WRITE);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 1);
    assert_int_equal(d_flags(6), AV | F_NEXT);
    uint16_t c = pop_ok(2, 4);
    assert_int_equal(P.ch.first, 6);
    assert_false(P.dev.avail_wrap);
    assert_int_equal(P.dev.avail_pos, 2);
    dev_push(c, 32);
    dev_publish();
    /* The device wrote the used descriptor at 6 with wrap 1, then wrapped. */
    assert_int_equal(d_flags(6), AV | US);
    assert_int_equal(d_id(6), c);
    get_ok(2, 32);
    get_none();

    /* The next chain starts at 2 in the second lap: available = USED set, AVAIL clear. */
    add_ok(1, 0, 16, 3);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 1);
    assert_int_equal(d_flags(2), US);
    uint16_t d = pop_ok(3, 1);
    dev_push(d, 0);
    dev_publish();
    assert_int_equal(d_flags(2), 0); /* used in lap 2: AVAIL = USED = 0 */
    get_ok(3, 0);
}

/* 2.8.7 (chaining) and out-of-order use: the driver skips by each id's chain length. */
static void used_out_of_order_skips_by_the_chain_length_2_8_6(void **state)
{
    (void)state;
    setup_q(8, 0, false);
    add_ok(0, 1, 10, 0); /* A: 0 */
    add_ok(1, 2, 10, 1); /* B: 1..3 */
    add_ok(1, 1, 10, 2); /* C: 4..5 */
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 3);
    uint16_t a = pop_ok(0, 1);
    uint16_t b = pop_ok(1, 3);
    uint16_t c = pop_ok(2, 2);
    dev_push(c, 9);  /* used at 0, next at 2 */
    dev_push(a, 10); /* used at 2, next at 3 */
    dev_push(b, 20); /* used at 3, next at 6 */
    dev_publish();
    assert_int_equal(d_id(0), c);
    assert_int_equal(d_id(2), a);
    assert_int_equal(d_id(3), b);
    assert_ptr_equal(xcv_vq_driver_peek_used(&P.drv, 0), TOK(2));
    assert_ptr_equal(xcv_vq_driver_peek_used(&P.drv, 1), TOK(0));
    assert_ptr_equal(xcv_vq_driver_peek_used(&P.drv, 2), TOK(1));
    assert_null(xcv_vq_driver_peek_used(&P.drv, 3));
    get_ok(2, 9);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 4);
    assert_ptr_equal(xcv_vq_driver_peek_used(&P.drv, 0), TOK(0));
    get_ok(0, 10);
    get_ok(1, 20);
    get_none();
    assert_null(xcv_vq_driver_peek_used(&P.drv, 0));
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 8);
    assert_int_equal(xcv_vq_driver_in_flight(&P.drv), 0);
    /* The next chain goes to position 6, where the device looks next. */
    add_ok(1, 0, 1, 3);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 1);
    pop_ok(3, 1);
    assert_int_equal(P.ch.first, 6);
}

static void peek_used_is_null_for_unused_and_broken(void **state)
{
    (void)state;
    setup_q(8, 0, false);
    assert_null(xcv_vq_driver_peek_used(NULL, 0));
    assert_null(xcv_vq_driver_peek_used(&P.drv, 0));
    add_ok(0, 1, 10, 0);
    add_ok(0, 1, 10, 1);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 2);
    uint16_t a = pop_ok(0, 1);
    pop_ok(1, 1);
    assert_null(xcv_vq_driver_peek_used(&P.drv, 0));
    dev_push(a, 1);
    assert_null(xcv_vq_driver_peek_used(&P.drv, 0)); /* not published by the device yet */
    dev_publish();
    assert_ptr_equal(xcv_vq_driver_peek_used(&P.drv, 0), TOK(0));
    assert_null(xcv_vq_driver_peek_used(&P.drv, 1));
    assert_null(xcv_vq_driver_peek_used(&P.drv, 1000));
    /* A hostile id is never turned into a pointer. */
    raw_used(0, 77, 0, AV | US);
    assert_null(xcv_vq_driver_peek_used(&P.drv, 0));
    raw_used(0, a, 0, AV | US);
    void *tok;
    uint32_t len;
    raw_used(1, a, 0, AV | US); /* a duplicate */
    assert_int_equal(xcv_vq_driver_get_used(&P.drv, &tok, &len), XCV_OK);
    assert_int_equal(xcv_vq_driver_get_used(&P.drv, &tok, &len), XCV_EPROTO_USED_ID);
    assert_null(xcv_vq_driver_peek_used(&P.drv, 0));
}

/* Many laps of the ring (the wrap counters flip many times) with chains of 1 to 5 descriptors
 * completed in random order and taken one by one or in bursts. */
static void many_laps_with_random_chains_and_out_of_order_use(void **state)
{
    enum {
        NUM = 16,
        ROUNDS = 10000
    };
    uint32_t seed = 0x1234567u;
    uint16_t held[NUM];
    unsigned nheld = 0;
    int fifo[NUM * 4]; /* tokens in the order the device used them */
    uint32_t fifo_len[NUM * 4];
    unsigned fh = 0, ft = 0;
    int tok_of_id[NUM];
    uint32_t len_of_tok[RF_MAX_NUM * 4];
    unsigned next_tok = 0, taken = 0;
    (void)state;
    setup_q(NUM, 0, false);

    for (unsigned r = 0; r < ROUNDS; r++) {
        unsigned op = rf_rand(&seed) % 8u;
        if (op < 3u) {
            unsigned n = 1u + rf_rand(&seed) % 5u;
            unsigned n_out = rf_rand(&seed) % (n + 1u);
            int tok = (int)(next_tok % (RF_MAX_NUM * 4));
            struct xcv_sg sg[5];
            uint32_t in = 0;
            for (unsigned i = 0; i < n; i++) {
                sg[i].addr = 0x1000u * (unsigned)tok + i;
                sg[i].len = 1u + rf_rand(&seed) % 100u;
                if (i >= n_out) {
                    in += sg[i].len;
                }
            }
            unsigned before = xcv_vq_driver_num_free(&P.drv);
            int ret = xcv_vq_driver_add(&P.drv, sg, n_out, n - n_out, TOK(tok));
            if (n > before) {
                assert_int_equal(ret, XCV_ENOSPC);
                continue;
            }
            assert_int_equal(ret, XCV_OK);
            assert_int_equal(xcv_vq_driver_num_free(&P.drv), before - n);
            len_of_tok[tok] = in;
            next_tok++;
        } else if (op == 3u) {
            (void)xcv_vq_driver_publish(&P.drv);
        } else if (op == 4u) {
            while (dev_pop()) {
                held[nheld++] = P.ch.id;
                assert_true(nheld <= NUM);
                uint64_t a = P.ch.addr[0];
                tok_of_id[P.ch.id] = (int)(a / 0x1000u);
                assert_int_equal(P.ch.in_len, len_of_tok[tok_of_id[P.ch.id]]);
            }
        } else if (op == 5u) {
            unsigned k = nheld != 0u ? 1u + rf_rand(&seed) % nheld : 0u;
            for (unsigned j = 0; j < k; j++) {
                unsigned pick = rf_rand(&seed) % nheld;
                uint16_t id = held[pick];
                held[pick] = held[--nheld];
                uint32_t in = P.dev.in_len[id];
                uint32_t len = in != 0u ? rf_rand(&seed) % (in + 1u) : 0u;
                dev_push(id, len);
                fifo[ft % (NUM * 4)] = tok_of_id[id];
                fifo_len[ft % (NUM * 4)] = len;
                ft++;
            }
            dev_publish();
        } else if (op == 6u) {
            void *tok;
            uint32_t len;
            while (xcv_vq_driver_get_used(&P.drv, &tok, &len) == XCV_OK) {
                assert_true(fh < ft);
                assert_ptr_equal(tok, TOK(fifo[fh % (NUM * 4)]));
                assert_int_equal(len, fifo_len[fh % (NUM * 4)]);
                fh++;
                taken++;
            }
            assert_int_equal(fh, ft);
        } else {
            void *toks[5];
            uint32_t lens[5];
            int got = xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 5);
            assert_true(got >= 0 && got <= 5);
            for (int i = 0; i < got; i++) {
                assert_ptr_equal(toks[i], TOK(fifo[fh % (NUM * 4)]));
                assert_int_equal(lens[i], fifo_len[fh % (NUM * 4)]);
                fh++;
                taken++;
            }
            assert_true(got == 5 || fh == ft);
        }
        assert_int_equal(xcv_vq_driver_broken(&P.drv), 0);
        assert_int_equal(xcv_vq_driver_in_flight(&P.drv), next_tok - taken);
    }
    assert_true(P.dev.used_flips >= 100u);
    assert_true(taken > 1000u);
}

static void get_used_burst_takes_what_is_used_and_stops(void **state)
{
    void *toks[8];
    uint32_t lens[8];
    (void)state;
    setup_q(8, 0, false);
    assert_int_equal(xcv_vq_driver_get_used_burst(NULL, toks, lens, 8), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, NULL, lens, 8), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 8), 0);
    for (int i = 0; i < 4; i++) {
        add_ok(1, 1, 10, i);
    }
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 4);
    uint16_t id[4];
    for (int i = 0; i < 4; i++) {
        id[i] = pop_ok(i, 2);
    }
    dev_push(id[3], 3);
    dev_push(id[1], 1);
    dev_push(id[2], 2);
    dev_publish();
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 2), 2);
    assert_ptr_equal(toks[0], TOK(3));
    assert_ptr_equal(toks[1], TOK(1));
    assert_int_equal(lens[0], 3);
    assert_int_equal(lens[1], 1);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 8), 1);
    assert_ptr_equal(toks[0], TOK(2));
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 8), 0);
    /* A bad entry after a good one ends the burst; the next call reports the breakage. */
    dev_push(id[0], 4); /* at 6, the last chain of lap 1 */
    dev_publish();
    add_ok(1, 0, 1, 5); /* position 0 of lap 2 */
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 1);
    raw_used(0, id[3], 0, 0); /* used bits of lap 2, but id[3] was used already */
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 8), 1);
    assert_ptr_equal(toks[0], TOK(0));
    assert_int_equal(lens[0], 4);
    assert_int_equal(xcv_vq_driver_broken(&P.drv), XCV_EPROTO_USED_ID);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 8), XCV_EBROKEN);
}

static void add_burst_posts_single_descriptor_chains_up_to_free_positions(void **state)
{
    struct xcv_sg sg[10];
    void *toks[10];
    (void)state;
    setup_q(8, 0, false);
    for (unsigned i = 0; i < 10; i++) {
        sg[i].addr = RF_BUS_BASE + 0x8000u + (uint64_t)(i + 1u) * 0x100u;
        sg[i].len = 50u + i;
        toks[i] = TOK(i + 1u);
    }
    add_ok(1, 2, 8, 0); /* 0..2 */
    toks[3] = NULL;
    assert_int_equal(xcv_vq_driver_add_burst(&P.drv, sg, 10, true, toks), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 5);
    toks[3] = TOK(4);
    assert_int_equal(xcv_vq_driver_add_burst(&P.drv, sg, 0, true, toks), 0);
    assert_int_equal(xcv_vq_driver_add_burst(&P.drv, sg, 10, true, toks), 5);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 0);
    assert_int_equal(xcv_vq_driver_add_burst(&P.drv, sg, 10, true, toks), XCV_ENOSPC);
    assert_int_equal(d_flags(0), 0);
    assert_int_equal(d_flags(3), AV | F_WRITE);
    assert_false(dev_pop());
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 6);
    uint16_t id0 = pop_ok(0, 3);
    uint16_t ids[5];
    for (unsigned i = 0; i < 5; i++) {
        ids[i] = pop_ok((int)i + 1, 1);
        assert_int_equal(P.ch.in_len, 50u + i);
        assert_int_equal(P.ch.flags[0], AV | F_WRITE);
    }
    assert_false(dev_pop());
    dev_push(ids[4], 54);
    dev_push(id0, 16);
    dev_publish();
    get_ok(5, 54);
    get_ok(0, 16);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 4);
    /* Readable buffers: no WRITE flag, no writable bytes; the burst wraps the ring. */
    assert_int_equal(xcv_vq_driver_add_burst(&P.drv, sg, 4, false, toks), 4);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 4);
    assert_int_equal(d_flags(0), US);
    assert_int_equal(d_flags(1), US);
    for (unsigned i = 0; i < 4; i++) {
        uint16_t id = pop_ok((int)i + 1, 1);
        assert_int_equal(P.ch.in_len, 0);
        dev_push(id, 0);
    }
    dev_push(ids[0], 0);
    dev_publish();
    void *tok;
    uint32_t len;
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(xcv_vq_driver_get_used(&P.drv, &tok, &len), XCV_OK);
    }
    get_none();
    assert_int_equal(xcv_vq_driver_in_flight(&P.drv), 3);
}

/* ---- notifications: 2.8.10 ---- */

static void kick_prepare_follows_the_device_event_flags_2_8_10(void **state)
{
    (void)state;
    setup_q(8, 0, false);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 0); /* nothing new */
    add_ok(1, 0, 1, 0);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1); /* ENABLE after init */
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 0);
    dev_set_event(XCV_VRING_PACKED_EVENT_DISABLE, 0);
    add_ok(1, 0, 1, 1);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 0);
    dev_set_event(XCV_VRING_PACKED_EVENT_ENABLE, 0);
    add_ok(1, 0, 1, 2);
    assert_int_equal(xcv_vq_driver_kick(&P.drv), 1);
    assert_int_equal(TP.notify_calls, 1);
    assert_int_equal(TP.last_doorbell, 0x100u + QI);
    /* DESC without EVENT_IDX, and the reserved value: notify (safe). */
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, 0x7fff);
    add_ok(1, 0, 1, 3);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    dev_set_event(3, 0);
    add_ok(1, 0, 1, 4);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    dev_set_event(0xffff, 0xffff);
    add_ok(1, 0, 1, 5);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    assert_int_equal(xcv_vq_driver_broken(&P.drv), 0);
}

/* Post and fully cycle @n one-descriptor chains, to move the ring positions forward. */
static void cycle(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        add_ok(1, 0, 1, 100);
        assert_int_equal(xcv_vq_driver_publish(&P.drv), 1);
        uint16_t id = pop_ok(100, 1);
        dev_push(id, 0);
        dev_publish();
        get_ok(100, 0);
    }
}

#define OW(pos, wrap) ((uint16_t)((pos) | ((wrap) ? 0x8000u : 0u)))

static void kick_prepare_desc_event_across_the_wrap_2_8_10(void **state)
{
    (void)state;
    setup_q(8, EVIDX, false);
    (void)xcv_vq_driver_kick_prepare(&P.drv);
    /* Batch at positions 0..2 of lap 1 (wrap 1). */
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(1, 1));
    add_ok(1, 2, 1, 0);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(3, 1)); /* the next position: not yet */
    add_ok(1, 0, 1, 1);                                   /* position 3 */
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    add_ok(1, 0, 1, 2); /* position 4: event 3 already passed */
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 0);
    /* Drain, then a batch crossing the wrap: positions 5, 6, 7 (wrap 1), 0, 1 (wrap 0). */
    dev_complete(3);
    void *toks[3];
    uint32_t lens[3];
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 3), 3);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 8);

    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(0, 0)); /* position 0 of lap 2 */
    for (int i = 0; i < 5; i++) {
        add_ok(1, 0, 1, 10 + i);
    }
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    dev_complete(5);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 3), 3);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 3), 2);

    /* Positions 2..3 of lap 2. An event at position 0 of lap 1 (wrap 1) is long past; position 7
     * of lap 1 too; position 3 of lap 2 is in the batch, position 3 of lap 1 is not. */
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(0, 1));
    add_ok(1, 0, 1, 20);
    add_ok(1, 0, 1, 21);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 0);
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(7, 1));
    add_ok(1, 0, 1, 22); /* 4 */
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 0);
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(5, 1));
    add_ok(1, 0, 1, 23); /* 5, but of lap 2 (wrap 0) */
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 0);
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(6, 0));
    add_ok(1, 0, 1, 24); /* 6 */
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    /* The batch's last position, at the end of lap 2. */
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(7, 0));
    add_ok(1, 0, 1, 25); /* 7 */
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    dev_complete(6);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 3), 3);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 3), 3);

    /* Lap 3 (wrap 1) from position 0: position 0 of lap 2 is not in the batch; position 1 of
     * lap 3 is. */
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(0, 0));
    add_ok(1, 0, 1, 30);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 0);
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(1, 1));
    add_ok(1, 0, 1, 31);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);

    /* More than a ring's worth published since the last decision: notify whatever the event. */
    (void)xcv_vq_driver_kick_prepare(&P.drv);
    dev_complete(2);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 3), 2);
    /* Position 0 of lap 3 was made available before the last decision, and its next turn
     * (lap 5) is after this batch: only the size of the batch decides. */
    dev_set_event(XCV_VRING_PACKED_EVENT_DESC, OW(0, 1));
    cycle(9);
    add_ok(1, 0, 1, 40);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    assert_int_equal(xcv_vq_driver_broken(&P.drv), 0);
}

static void enable_notify_arms_the_driver_area_and_reports_a_race_2_8_10(void **state)
{
    (void)state;
    setup_q(8, 0, false);
    assert_int_equal(xcv_vq_driver_enable_notify(NULL), XCV_EINVAL);
    xcv_vq_driver_disable_notify(&P.drv);
    assert_int_equal(drv_event_flags(), XCV_VRING_PACKED_EVENT_DISABLE);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 0);
    assert_int_equal(drv_event_flags(), XCV_VRING_PACKED_EVENT_ENABLE);

    add_ok(0, 1, 8, 0);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 1);
    uint16_t id = pop_ok(0, 1);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 0);
    dev_push(id, 8);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 0); /* not published by the device */
    dev_publish();
    /* Work raced in: drain again. */
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 1);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 1);
    get_ok(0, 8);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 0);
}

static void enable_notify_with_event_idx_names_the_next_used_position(void **state)
{
    (void)state;
    setup_q(8, EVIDX, false);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 0);
    assert_int_equal(drv_event_flags(), XCV_VRING_PACKED_EVENT_DESC);
    assert_int_equal(drv_event_off_wrap(), OW(0, 1));
    add_ok(1, 2, 8, 0); /* 0..2 */
    add_ok(1, 2, 8, 1); /* 3..5 */
    add_ok(1, 1, 8, 2); /* 6..7 */
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 3);
    uint16_t a = pop_ok(0, 3);
    uint16_t b = pop_ok(1, 3);
    uint16_t c = pop_ok(2, 2);
    dev_push(b, 1);
    dev_publish();
    get_ok(1, 1);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 0);
    assert_int_equal(drv_event_off_wrap(), OW(3, 1));
    dev_push(c, 2);
    dev_push(a, 3);
    dev_publish();
    get_ok(2, 2);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 1);
    assert_int_equal(drv_event_off_wrap(), OW(5, 1));
    get_ok(0, 3);
    /* last_used = 8: position 0 of the second lap, wrap 0. */
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 0);
    assert_int_equal(drv_event_off_wrap(), OW(0, 0));
    xcv_vq_driver_disable_notify(&P.drv);
    assert_int_equal(drv_event_flags(), XCV_VRING_PACKED_EVENT_DISABLE);
}

/* ---- detach and reset ---- */

static void detach_unused_and_reset_return_every_token_once(void **state)
{
    void *tok;
    (void)state;
    setup_q(16, 0, false);
    for (int i = 0; i < 5; i++) {
        add_ok(1, 1, 8, i);
    }
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 5);
    add_ok(1, 0, 8, 5); /* added, never published */
    uint16_t id0 = pop_ok(0, 2);
    pop_ok(1, 2);
    dev_push(id0, 8);
    dev_publish();
    get_ok(0, 8);
    assert_int_equal(xcv_vq_driver_reset(&P.drv), XCV_ESTATE);
    assert_int_equal(xcv_vq_driver_in_flight(&P.drv), 5);
    assert_int_equal(xcv_vq_driver_detach_unused(NULL, &tok), XCV_EINVAL);
    assert_int_equal(xcv_vq_driver_detach_unused(&P.drv, NULL), XCV_EINVAL);
    rf_assert_detach_once(&P.drv, tokens, 0x3e);
    assert_int_equal(xcv_vq_driver_detach_unused(&P.drv, &tok), XCV_EAGAIN);
    /* The positions come back with the reset, which zeroes the ring. */
    assert_true(xcv_vq_driver_num_free(&P.drv) < 16u);
    xcv_vq_driver_disable_notify(&P.drv);
    assert_int_equal(xcv_vq_driver_reset(&P.drv), XCV_OK);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 16);
    for (size_t i = 0; i < 16u * 16u; i++) {
        assert_int_equal(rf_window_mem[i], 0);
    }
    assert_int_equal(drv_event_flags(), 0);
    /* A device reset too: a fresh round trip works. */
    memset(&P.dev.busy, 0, sizeof(P.dev.busy));
    P.dev.avail_pos = 0;
    P.dev.used_pos = 0;
    P.dev.avail_wrap = true;
    P.dev.used_wrap = true;
    P.dev.pend = false;
    add_ok(1, 1, 8, 7);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    uint16_t id = pop_ok(7, 2);
    dev_push(id, 5);
    dev_publish();
    get_ok(7, 5);
}

/* ---- a hostile device: each bad used descriptor breaks the queue with its own code ---- */

static void setup_hostile(void)
{
    setup_q(8, 0, false);
    for (int i = 0; i < 3; i++) {
        add_ok(1, 1, 50, i); /* chain i: positions 2i, 2i+1; 50 writable bytes */
    }
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 3);
}

/* Sticky breakage, reported once, and every outstanding token (bitmask) detaches once. */
static void assert_broken_with(int code, uint32_t outstanding)
{
    struct xcv_sg sg = {0x1000, 8};
    void *tok;
    uint32_t len;
    void *toks[2];
    uint32_t lens[2];

    assert_int_equal(xcv_vq_driver_broken(&P.drv), code);
    assert_int_equal(xcv_vq_driver_get_used(&P.drv, &tok, &len), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 2), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_add(&P.drv, &sg, 1, 0, TOK(30)), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_add_burst(&P.drv, &sg, 1, false, toks), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), XCV_EBROKEN);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), XCV_EBROKEN);
    assert_null(xcv_vq_driver_peek_used(&P.drv, 0));
    assert_true(xcv_vq_driver_kick(&P.drv) < 0);
    assert_int_equal(TP.notify_calls, 0);
    tp_assert_logged_once(&TP, code, QI);
    rf_assert_detach_once(&P.drv, tokens, outstanding);
    assert_int_equal(xcv_vq_driver_reset(&P.drv), XCV_OK);
    assert_int_equal(xcv_vq_driver_broken(&P.drv), 0);
    assert_int_equal(xcv_vq_driver_num_free(&P.drv), 8);
}

static void get_fails_with(int code, uint32_t outstanding)
{
    void *tok = TOK(31);
    uint32_t len = 0xDEAD;
    assert_int_equal(xcv_vq_driver_get_used(&P.drv, &tok, &len), code);
    assert_ptr_equal(tok, TOK(31));
    assert_int_equal(len, 0xDEAD);
    assert_broken_with(code, outstanding);
}

static void hostile_used_id_out_of_range(void **state)
{
    (void)state;
    setup_hostile();
    raw_used(0, 8, 0, AV | US);
    get_fails_with(XCV_EPROTO_USED_ID, 0x7);
    setup_hostile();
    raw_used(0, 0xffff, 0, AV | US);
    /* A burst whose first entry breaks the queue returns the protocol error. */
    void *toks[2] = {TOK(31), TOK(31)};
    uint32_t lens[2];
    assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 2), XCV_EPROTO_USED_ID);
    assert_ptr_equal(toks[0], TOK(31));
    assert_broken_with(XCV_EPROTO_USED_ID, 0x7);
}

static void hostile_used_id_not_outstanding(void **state)
{
    (void)state;
    setup_hostile();
    /* Ids 0..2 are taken from the free list in order; 5 was never posted. */
    uint16_t id = pop_ok(0, 2);
    assert_true(id < 3);
    raw_used(0, 5, 0, AV | US);
    get_fails_with(XCV_EPROTO_USED_ID, 0x7);
}

static void hostile_used_id_returned_twice(void **state)
{
    (void)state;
    setup_hostile();
    uint16_t a = pop_ok(0, 2);
    pop_ok(1, 2);
    dev_push(a, 5);
    dev_publish();
    get_ok(0, 5);
    raw_used(2, a, 5, AV | US); /* the same id again */
    get_fails_with(XCV_EPROTO_USED_ID, 0x6);
}

static void hostile_used_id_of_an_unpublished_chain(void **state)
{
    (void)state;
    setup_hostile();
    add_ok(0, 1, 50, 3); /* position 6, not published: its id is not the device's to use */
    uint16_t unpublished = d_id(6);
    raw_used(0, unpublished, 0, AV | US);
    get_fails_with(XCV_EPROTO_USED_ID, 0xf);
}

static void hostile_used_len_above_writable_bytes(void **state)
{
    (void)state;
    setup_hostile();
    uint16_t a = pop_ok(0, 2);
    raw_used(0, a, 51, AV | US);
    get_fails_with(XCV_EPROTO_USED_LEN, 0x7);
    /* A readable-only chain admits no written bytes at all. */
    setup_q(8, 0, false);
    add_ok(2, 0, 50, 0);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 1);
    raw_used(0, pop_ok(0, 2), 1, AV | US);
    get_fails_with(XCV_EPROTO_USED_LEN, 0x1);
}

static void hostile_wrong_wrap_bits_are_not_used(void **state)
{
    (void)state;
    setup_hostile();
    uint16_t a = pop_ok(0, 2);
    /* AVAIL != USED, or both equal to the other lap's counter: not used, no error, no hang. */
    static const uint16_t bad[] = {AV, US, 0, F_WRITE | F_NEXT, AV | F_WRITE};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        raw_used(0, a, 5, bad[i]);
        get_none();
        assert_null(xcv_vq_driver_peek_used(&P.drv, 0));
        assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 0);
        void *toks[2];
        uint32_t lens[2];
        assert_int_equal(xcv_vq_driver_get_used_burst(&P.drv, toks, lens, 2), 0);
    }
    assert_int_equal(xcv_vq_driver_broken(&P.drv), 0);
    /* Other flag bits beside AVAIL = USED = wrap are ignored. */
    raw_used(0, a, 5, AV | US | F_NEXT | F_WRITE);
    get_ok(0, 5);
    /* In the second lap the used bits are 0: AV | US (lap 1) there is stale. */
    setup_q(2, 0, false);
    add_ok(0, 1, 9, 0);
    add_ok(0, 1, 9, 1);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 2);
    uint16_t x = pop_ok(0, 1);
    uint16_t y = pop_ok(1, 1);
    dev_push(x, 1);
    dev_push(y, 2);
    dev_publish();
    get_ok(0, 1);
    get_ok(1, 2);
    add_ok(0, 1, 9, 2);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 1);
    x = pop_ok(2, 1);
    raw_used(0, x, 3, AV | US);
    get_none();
    raw_used(0, x, 3, 0);
    get_ok(2, 3);
    assert_int_equal(xcv_vq_driver_broken(&P.drv), 0);
}

static void hostile_device_marks_more_used_than_posted(void **state)
{
    (void)state;
    setup_hostile();
    uint16_t ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = pop_ok(i, 2);
        dev_push(ids[i], 0);
    }
    dev_publish();
    get_ok(0, 0);
    get_ok(1, 0);
    get_ok(2, 0);
    /* Position 6 was never made available; a used descriptor there is one too many. */
    raw_used(6, ids[0], 0, AV | US);
    get_fails_with(XCV_EPROTO_USED_IDX, 0);

    /* The same when found by enable_notify, with a chain added but not published. */
    setup_hostile();
    for (int i = 0; i < 3; i++) {
        ids[i] = pop_ok(i, 2);
        dev_push(ids[i], 0);
    }
    dev_publish();
    for (int i = 0; i < 3; i++) {
        get_ok(i, 0);
    }
    add_ok(1, 0, 1, 3);
    raw_used(6, d_id(6), 0, AV | US);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), XCV_EPROTO_USED_IDX);
    assert_broken_with(XCV_EPROTO_USED_IDX, 0x8);
}

/* Non-coherent ports: the batch is written back before the first flags, used descriptors are
 * invalidated before they are read, and the event areas are maintained around their accesses. */
static void non_coherent_port_gets_cache_maintenance(void **state)
{
    (void)state;
    setup_q(8, EVIDX, true);
    tp_clear_counts(&TP);
    add_ok(1, 1, 8, 0);
    add_ok(1, 1, 8, 1);
    assert_int_equal(TP.clean_calls, 0);
    assert_int_equal(xcv_vq_driver_publish(&P.drv), 2);
    assert_int_equal(TP.clean_calls, 2);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    assert_int_equal(TP.clean_calls, 2);
    assert_int_equal(TP.invalidate_calls, 1);
    tp_clear_counts(&TP);
    add_ok(1, 0, 8, 2);
    assert_int_equal(xcv_vq_driver_kick_prepare(&P.drv), 1);
    assert_int_equal(TP.clean_calls, 2);
    assert_int_equal(TP.invalidate_calls, 1);
    tp_clear_counts(&TP);
    get_none();
    assert_int_equal(TP.invalidate_calls, 1);
    assert_int_equal(xcv_vq_driver_enable_notify(&P.drv), 0);
    assert_int_equal(TP.clean_calls, 1);
    assert_int_equal(TP.invalidate_calls, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_takes_packed_layout_and_zeroes_the_ring),
        cmocka_unit_test(add_checks_arguments_as_the_split_ring),
        cmocka_unit_test(nothing_is_visible_before_publish_2_8_6),
        cmocka_unit_test(chain_crossing_the_wrap_takes_each_positions_wrap_bits_2_8_1),
        cmocka_unit_test(used_out_of_order_skips_by_the_chain_length_2_8_6),
        cmocka_unit_test(peek_used_is_null_for_unused_and_broken),
        cmocka_unit_test(many_laps_with_random_chains_and_out_of_order_use),
        cmocka_unit_test(get_used_burst_takes_what_is_used_and_stops),
        cmocka_unit_test(add_burst_posts_single_descriptor_chains_up_to_free_positions),
        cmocka_unit_test(kick_prepare_follows_the_device_event_flags_2_8_10),
        cmocka_unit_test(kick_prepare_desc_event_across_the_wrap_2_8_10),
        cmocka_unit_test(enable_notify_arms_the_driver_area_and_reports_a_race_2_8_10),
        cmocka_unit_test(enable_notify_with_event_idx_names_the_next_used_position),
        cmocka_unit_test(detach_unused_and_reset_return_every_token_once),
        cmocka_unit_test(hostile_used_id_out_of_range),
        cmocka_unit_test(hostile_used_id_not_outstanding),
        cmocka_unit_test(hostile_used_id_returned_twice),
        cmocka_unit_test(hostile_used_id_of_an_unpublished_chain),
        cmocka_unit_test(hostile_used_len_above_writable_bytes),
        cmocka_unit_test(hostile_wrong_wrap_bits_are_not_used),
        cmocka_unit_test(hostile_device_marks_more_used_than_posted),
        cmocka_unit_test(non_coherent_port_gets_cache_maintenance),
    };
    return cmocka_run_group_tests_name("packed_driver", tests, NULL, NULL);
}
