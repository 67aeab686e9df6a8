/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device role of a packed virtqueue (virtio 1.2, 2.8), tested against a small packed driver
 * written here, so that the device side is checked on its own. The test driver follows the
 * library's wire rules: buffer ids from a private free set, the id in every descriptor of a
 * chain, AVAIL/USED bits from the wrap counter at each descriptor's own position, and the flags
 * of the first descriptor offered since the last publish stored last. Hostile cases write raw
 * descriptors and expect each its sticky error.
 */
#include "ring_fixture.h"

#define PK_MAX 64u
#define QI 5u

#define F_NEXT XCV_VRING_DESC_F_NEXT
#define F_WRITE XCV_VRING_DESC_F_WRITE
#define F_IND XCV_VRING_DESC_F_INDIRECT
#define F_AVAIL XCV_VRING_PACKED_DESC_F_AVAIL
#define F_USED XCV_VRING_PACKED_DESC_F_USED
#define WRAP_BIT 0x8000u

_Static_assert(XCV_VRING_PACKED_BYTES(PK_MAX, 64) <= RF_IND_OFF, "ring area too small");

struct pk_opts {
    uint16_t num;       /* 0 means 8 */
    uint64_t features;  /* besides RING_PACKED */
    uint16_t max_chain; /* 0 means num */
    bool polled;
    bool port;       /* give the device the test port */
    bool cache_port; /* ... with cache operations */
};

struct seg {
    uint64_t addr;
    uint32_t len;
    bool write;
};

static struct pk {
    uint16_t num;
    uint8_t *mem;
    struct xcv_window win;
    struct xcv_memmap map;
    uint8_t *desc;
    uint8_t *drv_area; /* driver event suppression: the test driver writes it */
    uint8_t *dev_area; /* device event suppression: the device writes it */
    struct xcv_vq_device_config cfg;
    struct xcv_vq_device dev;
    struct xcv_vq_dev_slot slots[PK_MAX];
    struct xcv_iov iov[PK_MAX];
    struct xcv_chain chain;
    /* The test driver. */
    uint16_t next_avail;
    bool avail_wrap;
    uint16_t last_used;
    bool used_wrap;
    unsigned avail_flips;
    unsigned used_flips;
    uint16_t free_descs;
    bool outstanding[PK_MAX];
    uint16_t ndesc[PK_MAX];
    uint32_t wlen[PK_MAX];
    bool pending; /* a first flags word is deferred until publish */
    uint16_t pend_pos;
    uint16_t pend_flags;
} P;

static struct test_port TP;

/* ---- raw ring access ---- */

static uint8_t *dp(uint16_t pos)
{
    assert_true(pos < P.num);
    return P.desc + (size_t)pos * 16u;
}

static void raw_desc(uint16_t pos, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
    uint8_t *d = dp(pos);
    xcv_le64_store(d, addr);
    xcv_le32_store(d + 8, len);
    xcv_le16_store(d + 12, id);
    xcv_le16_store(d + 14, flags);
}

static uint64_t d_addr(uint16_t pos)
{
    return xcv_le64_load(dp(pos));
}

static uint32_t d_len(uint16_t pos)
{
    return xcv_le32_load(dp(pos) + 8);
}

static uint16_t d_id(uint16_t pos)
{
    return xcv_le16_load(dp(pos) + 12);
}

static uint16_t d_flags(uint16_t pos)
{
    return xcv_le16_load(dp(pos) + 14);
}

/* AVAIL/USED bits that make a descriptor available in the lap of driver wrap counter @p wrap. */
static uint16_t av(bool wrap)
{
    return wrap ? (uint16_t)F_AVAIL : (uint16_t)F_USED;
}

static void set_drv_event(uint16_t off_wrap, uint16_t flags)
{
    xcv_le16_store(P.drv_area, off_wrap);
    xcv_le16_store(P.drv_area + 2, flags);
}

static uint16_t dev_event_off_wrap(void)
{
    return xcv_le16_load(P.dev_area);
}

static uint16_t dev_event_flags(void)
{
    return xcv_le16_load(P.dev_area + 2);
}

static uint64_t buf_bus(unsigned i)
{
    assert_true(i < RF_NUM_BUFS);
    return RF_BUS_BASE + RF_BUF_OFF + (uint64_t)i * RF_BUF_SIZE;
}

static uint8_t *buf_local(unsigned i)
{
    return P.mem + RF_BUF_OFF + (size_t)i * RF_BUF_SIZE;
}

/* ---- setup ---- */

static void pk_config(struct xcv_vq_device_config *cfg, const struct pk_opts *o)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mem = &P.map;
    cfg->num = P.num;
    cfg->desc_bus = rf_bus(RF_RING_OFF);
    cfg->avail_bus = rf_bus(RF_RING_OFF + XCV_VRING_PACKED_DRIVER_OFFSET(P.num, 64));
    cfg->used_bus = rf_bus(RF_RING_OFF + XCV_VRING_PACKED_DEVICE_OFFSET(P.num, 64));
    cfg->features = XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED) | o->features;
    cfg->max_chain = o->max_chain;
    cfg->slots = P.slots;
    cfg->port = o->port || o->cache_port ? &TP.port : NULL;
    cfg->doorbell = 0x300u;
    cfg->queue_index = QI;
    cfg->polled = o->polled;
}

/* The window, a zeroed ring (as the driver leaves it, 2.8.12), the test driver; no device. */
static void pk_setup_ring(const struct pk_opts *opts)
{
    struct pk_opts o = opts != NULL ? *opts : (struct pk_opts){0};
    memset(&P, 0, sizeof(P));
    P.num = o.num != 0u ? o.num : 8u;
    assert_true(P.num <= PK_MAX);
    tp_init(&TP, o.cache_port);
    P.mem = rf_window_mem;
    rf_window_map(P.mem, &P.win, &P.map);
    P.desc = P.mem + RF_RING_OFF;
    P.drv_area = P.desc + XCV_VRING_PACKED_DRIVER_OFFSET(P.num, 64);
    P.dev_area = P.desc + XCV_VRING_PACKED_DEVICE_OFFSET(P.num, 64);
    memset(P.desc, 0, XCV_VRING_PACKED_BYTES(P.num, 64));
    P.avail_wrap = true;
    P.used_wrap = true;
    P.free_descs = P.num;
    pk_config(&P.cfg, &o);
    P.chain.iov = P.iov;
    P.chain.cap = (uint16_t)(o.max_chain != 0u ? o.max_chain : P.num);
}

static void pk_setup(const struct pk_opts *opts)
{
    pk_setup_ring(opts);
    assert_int_equal(xcv_vq_device_init(&P.dev, &P.cfg), XCV_OK);
}

static void pk_setup_num(uint16_t num)
{
    struct pk_opts o = {.num = num};
    pk_setup(&o);
}

/* ---- the test driver ---- */

static void td_advance(uint16_t *pos, bool *wrap, unsigned *flips, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        if (++*pos == P.num) {
            *pos = 0;
            *wrap = !*wrap;
            (*flips)++;
        }
    }
}

/* Offer a chain of @p n segments as buffer @p id; returns the position of its first descriptor.
 * The first chain since the last publish stays invisible until td_publish(). */
static uint16_t td_add(uint16_t id, const struct seg *s, uint16_t n)
{
    assert_true(id < P.num);
    assert_false(P.outstanding[id]);
    assert_true(n >= 1u && n <= P.free_descs);
    uint16_t first = P.next_avail;
    uint32_t wlen = 0;
    for (uint16_t i = 0; i < n; i++) {
        uint16_t pos = P.next_avail;
        uint16_t f = av(P.avail_wrap);
        if (s[i].write) {
            f |= F_WRITE;
            wlen += s[i].len;
        }
        if (i + 1u < n)
            f |= F_NEXT;
        uint8_t *d = dp(pos);
        xcv_le64_store(d, s[i].addr);
        xcv_le32_store(d + 8, s[i].len);
        xcv_le16_store(d + 12, id);
        if (i == 0u && !P.pending) {
            P.pending = true;
            P.pend_pos = pos;
            P.pend_flags = f;
        } else {
            xcv_le16_store(d + 14, f);
        }
        td_advance(&P.next_avail, &P.avail_wrap, &P.avail_flips, 1);
    }
    P.outstanding[id] = true;
    P.ndesc[id] = n;
    P.wlen[id] = wlen;
    P.free_descs = (uint16_t)(P.free_descs - n);
    return first;
}

static void td_publish(void)
{
    if (P.pending) {
        __atomic_thread_fence(__ATOMIC_RELEASE);
        xcv_le16_store(dp(P.pend_pos) + 14, P.pend_flags);
        P.pending = false;
    }
}

/* The driver's side of a reset: a zeroed ring and a fresh driver state. */
static void td_reset(void)
{
    memset(P.desc, 0, XCV_VRING_PACKED_BYTES(P.num, 64));
    P.next_avail = 0;
    P.avail_wrap = true;
    P.last_used = 0;
    P.used_wrap = true;
    P.free_descs = P.num;
    memset(P.outstanding, 0, sizeof(P.outstanding));
    P.pending = false;
}

/* One writable buffer of @p len bytes (buffer number @p id) as chain @p id, published. */
static uint16_t td_add_in(uint16_t id, uint32_t len)
{
    struct seg s = {buf_bus(id), len, true};
    uint16_t pos = td_add(id, &s, 1);
    td_publish();
    return pos;
}

/* Take the next used descriptor, if the device published one. */
static bool td_get_used(uint16_t *id, uint32_t *len)
{
    uint16_t f = d_flags(P.last_used);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    bool a = (f & F_AVAIL) != 0u;
    bool u = (f & F_USED) != 0u;
    if (a != P.used_wrap || u != P.used_wrap)
        return false;
    *id = d_id(P.last_used);
    *len = d_len(P.last_used);
    assert_true(*id < P.num);
    assert_true(P.outstanding[*id]);
    assert_true(*len <= P.wlen[*id]);
    /* The device marks a used descriptor WRITE exactly when it wrote data (2.8.4). */
    assert_int_equal((f & F_WRITE) != 0u, *len != 0u);
    P.outstanding[*id] = false;
    P.free_descs = (uint16_t)(P.free_descs + P.ndesc[*id]);
    td_advance(&P.last_used, &P.used_wrap, &P.used_flips, P.ndesc[*id]);
    return true;
}

static void td_used_expect(uint16_t want_id, uint32_t want_len)
{
    uint16_t id = 0xFFFF;
    uint32_t len = 0xDEAD;
    assert_true(td_get_used(&id, &len));
    assert_int_equal(id, want_id);
    assert_int_equal(len, want_len);
}

static void td_nothing_used(void)
{
    uint16_t id;
    uint32_t len;
    assert_false(td_get_used(&id, &len));
}

/* Device: pop, push everything it wrote (its in_len), publish: one whole round trip. */
static void round_trip_in(uint16_t id, uint32_t len)
{
    td_add_in(id, len);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.head, id);
    assert_int_equal(xcv_vq_device_push(&P.dev, id, len), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    (void)xcv_vq_device_should_notify(&P.dev);
    td_used_expect(id, len);
}

/* ---- init ---- */

static void init_rejects_bad_configuration(void **state)
{
    struct xcv_vq_device_config cfg;
    struct xcv_vq_device q;
    struct pk_opts o = {.num = 8};
    (void)state;
    pk_setup_ring(&o);
    cfg = P.cfg;
    cfg.num = 0;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EINVAL);
    cfg.num = 40000;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EINVAL);
    cfg = P.cfg;
    cfg.max_chain = 9;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EINVAL);
    cfg = P.cfg;
    cfg.slots = NULL;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EINVAL);
}

static void init_checks_area_alignment_and_windows(void **state)
{
    struct xcv_vq_device_config cfg;
    struct xcv_vq_device q;
    (void)state;
    pk_setup_ring(NULL);
    cfg = P.cfg;
    cfg.desc_bus += 8u; /* descriptor ring: 16 */
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EPROTO_LAYOUT);
    cfg = P.cfg;
    cfg.avail_bus += 2u; /* event suppression areas: 4 */
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EPROTO_LAYOUT);
    cfg = P.cfg;
    cfg.used_bus += 2u;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EPROTO_LAYOUT);
    cfg = P.cfg;
    cfg.used_bus = RF_BUS_BASE + RF_WINDOW_SIZE;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EPROTO_WINDOW);
    cfg = P.cfg;
    cfg.desc_bus = RF_BUS_BASE + RF_WINDOW_SIZE - 64u; /* 8 descriptors do not fit */
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EPROTO_WINDOW);
    cfg = P.cfg;
    cfg.desc_bus = UINT64_MAX - 15u;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EPROTO_OVERFLOW);
    /* Overlapping areas: the device would write used descriptors or its event word over what
     * the driver wrote. */
    cfg = P.cfg;
    cfg.used_bus = cfg.avail_bus;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EPROTO_LAYOUT);
    cfg = P.cfg;
    cfg.avail_bus = cfg.desc_bus + 16u; /* inside the descriptor ring */
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EPROTO_LAYOUT);
    cfg = P.cfg;
    cfg.used_bus = cfg.desc_bus;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_EPROTO_LAYOUT);
    cfg = P.cfg;
    assert_int_equal(xcv_vq_device_init(&q, &cfg), XCV_OK);
}

static void init_accepts_any_size_up_to_32768(void **state)
{
    static const uint16_t sizes[] = {1, 3, 6, 7, 12, 64};
    struct xcv_vq_device q;
    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct pk_opts o = {.num = sizes[i]};
        pk_setup_ring(&o);
        assert_int_equal(xcv_vq_device_init(&q, &P.cfg), XCV_OK);
        assert_int_equal(xcv_vq_device_broken(&q), 0);
        assert_int_equal(xcv_vq_device_next_avail(&q), WRAP_BIT);
    }
}

static void init_writes_nothing_to_shared_memory(void **state)
{
    static uint8_t before[RF_WINDOW_SIZE];
    struct xcv_vq_device q;
    (void)state;
    pk_setup_ring(NULL);
    memcpy(before, P.mem, RF_WINDOW_SIZE);
    assert_int_equal(xcv_vq_device_init(&q, &P.cfg), XCV_OK);
    assert_memory_equal(before, P.mem, RF_WINDOW_SIZE);
    assert_int_equal(xcv_vq_device_pop(&q, &P.chain), XCV_EAGAIN);
    assert_memory_equal(before, P.mem, RF_WINDOW_SIZE);
}

static void polled_init_writes_disable_and_never_rearms(void **state)
{
    struct pk_opts o = {.num = 8, .polled = true, .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
    struct xcv_chain chains[2];
    (void)state;
    pk_setup(&o);
    chains[0].iov = P.iov;
    chains[0].cap = 8;
    chains[1].iov = P.iov + 8;
    chains[1].cap = 8;
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_DISABLE);
    assert_int_equal(xcv_vq_device_pop_or_arm(&P.dev, &P.chain), XCV_EAGAIN);
    assert_int_equal(xcv_vq_device_pop_burst(&P.dev, chains, 2), 0);
    /* Many laps later the request still stands: DISABLE does not expire. */
    for (uint16_t i = 0; i < 40; i++)
        round_trip_in((uint16_t)(i % 8u), 16);
    assert_int_equal(xcv_vq_device_pop_or_arm(&P.dev, &P.chain), XCV_EAGAIN);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_DISABLE);
}

/* ---- round trips ---- */

static void single_descriptor_round_trip(void **state)
{
    (void)state;
    pk_setup_num(8);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_EAGAIN);
    td_add_in(3, 100);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.head, 3);
    assert_int_equal(P.chain.n_out, 0);
    assert_int_equal(P.chain.n_in, 1);
    assert_int_equal(P.chain.in_len, 100);
    assert_int_equal(P.chain.out_len, 0);
    rf_assert_seg(&P.chain, 0, buf_local(3), 100);
    assert_int_equal(xcv_vq_device_in_flight(&P.dev), 1);
    assert_int_equal(xcv_vq_device_next_avail(&P.dev), 1u | WRAP_BIT);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_EAGAIN);

    assert_int_equal(xcv_vq_device_push(&P.dev, 3, 42), XCV_OK);
    td_nothing_used(); /* staged, not published */
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 0);
    /* The used descriptor: id, len, AVAIL = USED = wrap 1, WRITE (data written); addr kept. */
    assert_int_equal(d_flags(0), F_AVAIL | F_USED | F_WRITE);
    assert_int_equal(d_addr(0), buf_bus(3));
    td_used_expect(3, 42);
    assert_int_equal(xcv_vq_device_in_flight(&P.dev), 0);
}

static void used_without_data_has_no_write_flag(void **state)
{
    struct seg s = {buf_bus(0), 64, false};
    (void)state;
    pk_setup_num(8);
    td_add(1, &s, 1);
    td_publish();
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.n_out, 1);
    assert_int_equal(P.chain.out_len, 64);
    assert_int_equal(xcv_vq_device_push(&P.dev, 1, 0), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    assert_int_equal(d_flags(0), F_AVAIL | F_USED);
    td_used_expect(1, 0);
}

static void readable_and_writable_chain(void **state)
{
    struct seg s[4] = {
        {buf_bus(10), 12, false},
        {buf_bus(11), 34, false},
        {buf_bus(12), 56, true},
        {buf_bus(13), 78, true},
    };
    (void)state;
    pk_setup_num(8);
    td_add(6, s, 4);
    td_publish();
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.head, 6);
    assert_int_equal(P.chain.n_out, 2);
    assert_int_equal(P.chain.n_in, 2);
    assert_int_equal(P.chain.out_len, 46);
    assert_int_equal(P.chain.in_len, 134);
    for (unsigned i = 0; i < 4; i++) {
        rf_assert_seg(&P.chain, i, buf_local(10 + i), s[i].len);
    }
    assert_int_equal(xcv_vq_device_next_avail(&P.dev), 4u | WRAP_BIT);
    assert_int_equal(xcv_vq_device_push(&P.dev, 6, 135), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&P.dev, 6, 134), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    td_used_expect(6, 134);
    /* The next chain lands after the four positions the first one covered. */
    assert_int_equal(td_add_in(2, 8), 4);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 2, 8), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    /* Used at position 4: used positions skip as available ones did. */
    assert_int_equal(d_id(4), 2);
    td_used_expect(2, 8);
}

static void batch_becomes_visible_only_when_its_first_flags_are_stored(void **state)
{
    (void)state;
    pk_setup_num(8);
    struct seg a[2] = {{buf_bus(0), 8, false}, {buf_bus(1), 8, true}};
    struct seg b = {buf_bus(2), 8, true};
    td_add(0, a, 2);
    td_add(1, &b, 1);
    /* Everything but the first flags word is written: the device sees nothing yet. */
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_EAGAIN);
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 0);
    td_publish();
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 1);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.head, 0);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.head, 1);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_EAGAIN);
}

static void chain_crossing_the_wrap(void **state)
{
    struct seg s[4] = {
        {buf_bus(20), 10, false},
        {buf_bus(21), 20, false},
        {buf_bus(22), 30, true},
        {buf_bus(23), 40, true},
    };
    (void)state;
    pk_setup_num(8);
    for (uint16_t i = 0; i < 6; i++)
        round_trip_in(i, 16);
    assert_int_equal(xcv_vq_device_next_avail(&P.dev), 6u | WRAP_BIT);
    /* Positions 6, 7 (wrap 1), 0, 1 (wrap 0). */
    assert_int_equal(td_add(7, s, 4), 6);
    td_publish();
    assert_int_equal(d_flags(0) & (F_AVAIL | F_USED), F_USED);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.head, 7);
    assert_int_equal(P.chain.n_out, 2);
    assert_int_equal(P.chain.n_in, 2);
    assert_ptr_equal(P.chain.iov[3].base, buf_local(23));
    assert_int_equal(xcv_vq_device_next_avail(&P.dev), 2u);
    assert_int_equal(xcv_vq_device_push(&P.dev, 7, 70), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    assert_int_equal(d_flags(6), F_AVAIL | F_USED | F_WRITE);
    td_used_expect(7, 70);
    /* Both sides are now at position 2 of the lap with wrap counter 0. */
    assert_int_equal(td_add_in(0, 5), 2);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 0, 5), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    assert_int_equal(d_flags(2), F_WRITE); /* used in lap 0: AVAIL = USED = 0 */
    td_used_expect(0, 5);
}

static void out_of_order_push_skips_by_chain_length(void **state)
{
    struct seg a[3] = {{buf_bus(0), 8, false}, {buf_bus(1), 8, true}, {buf_bus(2), 8, true}};
    struct seg b = {buf_bus(3), 9, true};
    struct seg c[2] = {{buf_bus(4), 4, false}, {buf_bus(5), 10, true}};
    (void)state;
    pk_setup_num(8);
    assert_int_equal(td_add(5, a, 3), 0);  /* positions 0-2 */
    assert_int_equal(td_add(2, &b, 1), 3); /* position 3 */
    assert_int_equal(td_add(0, c, 2), 4);  /* positions 4-5 */
    td_publish();
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_in_flight(&P.dev), 3);

    /* Completed B, C, A: used at 0 (B, skip 1), 1 (C, skip 2), 3 (A, skip 3). */
    assert_int_equal(xcv_vq_device_push(&P.dev, 2, 9), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 0, 10), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 5, 16), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 3);
    assert_int_equal(d_id(0), 2);
    assert_int_equal(d_id(1), 0);
    assert_int_equal(d_id(3), 5);
    /* Skipped positions keep what the driver wrote. */
    assert_int_equal(d_id(2), 5);
    assert_int_equal(d_flags(2), F_AVAIL | F_WRITE);
    assert_int_equal(d_id(4), 0);
    assert_int_equal(d_flags(4), F_AVAIL | F_NEXT);
    assert_int_equal(d_flags(5), F_AVAIL | F_WRITE);
    td_used_expect(2, 9);
    td_used_expect(0, 10);
    td_used_expect(5, 16);
    assert_int_equal(P.last_used, 6);
    td_nothing_used();
}

static void deferred_publish_hides_the_whole_batch(void **state)
{
    (void)state;
    pk_setup_num(8);
    td_add_in(1, 8);
    td_add_in(2, 8);
    td_add_in(3, 8);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 3, 1), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 1, 2), XCV_OK);
    /* The first used entry's flags wait for publish; later ones are written already, but the
     * driver only looks at the first. */
    assert_int_equal(d_flags(0), F_AVAIL | F_WRITE);
    assert_int_equal(d_flags(1), F_AVAIL | F_USED | F_WRITE);
    td_nothing_used();
    assert_int_equal(xcv_vq_device_publish(&P.dev), 2);
    td_used_expect(3, 1);
    td_used_expect(1, 2);
    td_nothing_used();
    /* A second batch defers its own first entry. */
    assert_int_equal(xcv_vq_device_push(&P.dev, 2, 3), XCV_OK);
    td_nothing_used();
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    td_used_expect(2, 3);
}

static void push_rejects_what_was_not_popped(void **state)
{
    (void)state;
    pk_setup_num(8);
    assert_int_equal(xcv_vq_device_push(&P.dev, 0, 0), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&P.dev, 8, 0), XCV_EINVAL);
    td_add_in(4, 10);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 4, 11), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_push(&P.dev, 4, 10), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 4, 10), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_broken(&P.dev), 0);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    td_used_expect(4, 10);
}

/* push_burst on a packed ring: used descriptors in array order; a refused entry ends the burst
 * with the ones before it staged. */
static void push_burst_stages_in_order_and_stops_at_a_refused_entry(void **state)
{
    (void)state;
    pk_setup_num(8);
    for (uint16_t id = 2; id < 5; id++) {
        td_add_in(id, 10);
        assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    }
    const struct xcv_chain_done d[3] = {{4, 3}, {2, 11}, {3, 0}}; /* 11 > 10: refused */
    assert_int_equal(xcv_vq_device_push_burst(&P.dev, d, 3), 1);
    assert_int_equal(xcv_vq_device_push_burst(&P.dev, &d[1], 2), XCV_EINVAL);
    const struct xcv_chain_done e[2] = {{2, 10}, {3, 0}};
    assert_int_equal(xcv_vq_device_push_burst(&P.dev, e, 2), 2);
    assert_int_equal(xcv_vq_device_in_flight(&P.dev), 0);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 3);
    td_used_expect(4, 3);
    td_used_expect(2, 10);
    td_used_expect(3, 0);
    td_nothing_used();
    assert_int_equal(xcv_vq_device_broken(&P.dev), 0);
}

/* Random chains, batches and completion orders over many laps of the ring. */
static void run_laps(uint16_t num, uint32_t seed)
{
    uint32_t rng = seed;
    struct pk_opts o = {.num = num, .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
    struct {
        uint16_t n_out;
        uint16_t n_in;
        uint32_t out_len;
        uint32_t in_len;
        unsigned buf0;
    } want[PK_MAX];
    uint16_t popped[PK_MAX];
    uint32_t popped_in[PK_MAX];
    unsigned n_popped = 0;
    unsigned rounds = 0;

    pk_setup(&o);
    while ((P.avail_flips < 4u || P.used_flips < 4u) && rounds < 2000u) {
        rounds++;
        /* Driver: offer up to three chains of up to three segments, then publish. */
        unsigned k = 1u + rf_rand(&rng) % 3u;
        for (unsigned c = 0; c < k && P.free_descs > 0u; c++) {
            uint16_t id = (uint16_t)(rf_rand(&rng) % num);
            for (unsigned t = 0; t < num && P.outstanding[id]; t++)
                id = (uint16_t)((id + 1u) % num);
            if (P.outstanding[id])
                break;
            uint16_t n = (uint16_t)(1u + rf_rand(&rng) % 3u);
            if (n > P.free_descs)
                n = P.free_descs;
            uint16_t n_out = (uint16_t)(rf_rand(&rng) % (n + 1u));
            struct seg s[3];
            want[id].n_out = n_out;
            want[id].n_in = (uint16_t)(n - n_out);
            want[id].out_len = 0;
            want[id].in_len = 0;
            want[id].buf0 = id * 3u;
            for (uint16_t i = 0; i < n; i++) {
                s[i].addr = buf_bus(id * 3u + i);
                s[i].len = 1u + rf_rand(&rng) % RF_BUF_SIZE;
                s[i].write = i >= n_out;
                if (s[i].write)
                    want[id].in_len += s[i].len;
                else
                    want[id].out_len += s[i].len;
            }
            td_add(id, s, n);
        }
        td_publish();

        /* Device: pop all that is there, then push a random part in a random order. */
        for (;;) {
            int r = xcv_vq_device_pop(&P.dev, &P.chain);
            if (r == XCV_EAGAIN)
                break;
            assert_int_equal(r, XCV_OK);
            uint16_t id = P.chain.head;
            assert_true(id < num);
            assert_int_equal(P.chain.n_out, want[id].n_out);
            assert_int_equal(P.chain.n_in, want[id].n_in);
            assert_int_equal(P.chain.out_len, want[id].out_len);
            assert_int_equal(P.chain.in_len, want[id].in_len);
            assert_ptr_equal(P.chain.iov[0].base, buf_local(want[id].buf0));
            popped[n_popped] = id;
            popped_in[n_popped] = P.chain.in_len;
            n_popped++;
        }
        unsigned m = n_popped == 0u ? 0u : rf_rand(&rng) % (n_popped + 1u);
        for (unsigned j = 0; j < m; j++) {
            unsigned pick = rf_rand(&rng) % n_popped;
            uint32_t len = popped_in[pick] == 0u ? 0u : rf_rand(&rng) % (popped_in[pick] + 1u);
            assert_int_equal(xcv_vq_device_push(&P.dev, popped[pick], len), XCV_OK);
            popped[pick] = popped[n_popped - 1u];
            popped_in[pick] = popped_in[n_popped - 1u];
            n_popped--;
        }
        assert_true(xcv_vq_device_publish(&P.dev) >= 0);
        assert_true(xcv_vq_device_should_notify(&P.dev) >= 0);
        assert_int_equal(xcv_vq_device_in_flight(&P.dev), n_popped);

        /* Driver: take every used buffer. */
        uint16_t id;
        uint32_t len;
        while (td_get_used(&id, &len)) {
        }
    }
    assert_true(P.avail_flips >= 4u);
    assert_true(P.used_flips >= 4u);
    assert_int_equal(xcv_vq_device_broken(&P.dev), 0);
    uint16_t na = xcv_vq_device_next_avail(&P.dev);
    assert_int_equal(na & 0x7fffu, P.next_avail);
    assert_int_equal((na & WRAP_BIT) != 0u, P.avail_wrap);
}

static void many_laps_with_random_chains(void **state)
{
    (void)state;
    run_laps(8, 0x12345u);
    run_laps(4, 0xBEEFu);
    run_laps(32, 0x2468u);
}

static void non_power_of_two_size(void **state)
{
    struct seg s[3] = {{buf_bus(0), 10, false}, {buf_bus(1), 20, true}, {buf_bus(2), 30, true}};
    (void)state;
    run_laps(6, 0x777u);
    run_laps(3, 0x999u);
    run_laps(1, 0x4242u);

    /* num 6: a chain over positions 5, 0, 1. */
    pk_setup_num(6);
    for (uint16_t i = 0; i < 5; i++)
        round_trip_in(i, 8);
    assert_int_equal(td_add(5, s, 3), 5);
    td_publish();
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.n_in, 2);
    assert_int_equal(xcv_vq_device_next_avail(&P.dev), 2u);
    assert_int_equal(xcv_vq_device_push(&P.dev, 5, 50), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    td_used_expect(5, 50);
    assert_int_equal(P.last_used, 2);
    assert_false(P.used_wrap);
}

/* ---- notifications ---- */

static void should_notify_follows_enable_and_disable(void **state)
{
    struct pk_opts o = {.num = 8, .port = true};
    (void)state;
    pk_setup(&o);
    /* Nothing published since the last decision: no notification. */
    assert_int_equal(xcv_vq_device_should_notify(&P.dev), 0);

    td_add_in(0, 8);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 0, 8), XCV_OK);
    set_drv_event(0, XCV_VRING_PACKED_EVENT_ENABLE);
    assert_int_equal(xcv_vq_device_flush(&P.dev), 1);
    assert_int_equal(TP.notify_calls, 1);
    assert_int_equal(TP.last_doorbell, 0x300u);
    assert_int_equal(xcv_vq_device_should_notify(&P.dev), 0); /* decided already */
    td_used_expect(0, 8);

    const uint16_t cases[][2] = {
        {XCV_VRING_PACKED_EVENT_DISABLE, 0},
        {XCV_VRING_PACKED_EVENT_ENABLE, 1},
        {XCV_VRING_PACKED_EVENT_DESC, 1}, /* without EVENT_IDX: not meaningful, notify */
        {3, 1},                           /* reserved: notify */
        {0xFFFF, 1},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        td_add_in(1, 8);
        assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
        assert_int_equal(xcv_vq_device_push(&P.dev, 1, 8), XCV_OK);
        assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
        set_drv_event(0x7fff, cases[i][0]);
        assert_int_equal(xcv_vq_device_should_notify(&P.dev), cases[i][1]);
        td_used_expect(1, 8);
    }
}

/* With EVENT_IDX: move the used position to @p start (single-descriptor round trips), then
 * publish @p count used descriptors and decide with the driver's event at @p off_wrap. */
static int event_decision(uint16_t num, uint16_t start, uint16_t count, uint16_t off_wrap)
{
    struct pk_opts o = {.num = num, .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
    pk_setup(&o);
    for (uint16_t i = 0; i < start; i++)
        round_trip_in((uint16_t)(i % num), 8);
    for (uint16_t i = 0; i < count; i++) {
        td_add_in(i, 8);
        assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
        assert_int_equal(xcv_vq_device_push(&P.dev, i, 8), XCV_OK);
    }
    assert_int_equal(xcv_vq_device_publish(&P.dev), count);
    set_drv_event(off_wrap, XCV_VRING_PACKED_EVENT_DESC);
    int r = xcv_vq_device_should_notify(&P.dev);
    assert_int_equal(xcv_vq_device_should_notify(&P.dev), 0);
    return r;
}

static void should_notify_event_desc_in_range(void **state)
{
    (void)state;
    /* Used positions 0, 1, 2 in lap 1. */
    assert_int_equal(event_decision(8, 0, 3, 0u | WRAP_BIT), 1);
    assert_int_equal(event_decision(8, 0, 3, 2u | WRAP_BIT), 1);
    assert_int_equal(event_decision(8, 0, 3, 3u | WRAP_BIT), 0); /* not reached yet */
    assert_int_equal(event_decision(8, 0, 3, 7u | WRAP_BIT), 0);
    assert_int_equal(event_decision(8, 0, 3, 1u), 0); /* a later lap */
    /* Positions 3, 4 after a decision at 3. */
    assert_int_equal(event_decision(8, 3, 2, 2u | WRAP_BIT), 0); /* passed before */
    assert_int_equal(event_decision(8, 3, 2, 3u | WRAP_BIT), 1);
    assert_int_equal(event_decision(8, 3, 2, 4u | WRAP_BIT), 1);
    assert_int_equal(event_decision(8, 3, 2, 5u | WRAP_BIT), 0);
}

static void should_notify_event_desc_across_the_wrap(void **state)
{
    (void)state;
    /* Used positions 6, 7 (wrap 1), 0 (wrap 0): the newest position is 1 in lap 0. */
    assert_int_equal(event_decision(8, 6, 3, 6u | WRAP_BIT), 1);
    assert_int_equal(event_decision(8, 6, 3, 7u | WRAP_BIT), 1);
    assert_int_equal(event_decision(8, 6, 3, 0u), 1);
    assert_int_equal(event_decision(8, 6, 3, 1u), 0);
    assert_int_equal(event_decision(8, 6, 3, 5u | WRAP_BIT), 0);
    assert_int_equal(event_decision(8, 6, 3, 6u), 0); /* position 6 of lap 0: not yet */
    assert_int_equal(event_decision(8, 6, 3, 0u | WRAP_BIT), 0);
    /* Non-power-of-two ring: positions 4, 5 (wrap 1), 0, 1 (wrap 0). */
    assert_int_equal(event_decision(6, 4, 4, 5u | WRAP_BIT), 1);
    assert_int_equal(event_decision(6, 4, 4, 1u), 1);
    assert_int_equal(event_decision(6, 4, 4, 2u), 0);
    assert_int_equal(event_decision(6, 4, 4, 3u | WRAP_BIT), 0);
    /* Second lap, positions 2, 3 with wrap 0. */
    assert_int_equal(event_decision(6, 8, 2, 3u), 1);
    assert_int_equal(event_decision(6, 8, 2, 3u | WRAP_BIT), 0);
    /* A value out of range is acted on without harm. */
    assert_true(event_decision(6, 0, 2, 0x7fffu) >= 0);
}

static void should_notify_event_idx_disable_and_enable(void **state)
{
    struct pk_opts o = {.num = 8, .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
    (void)state;
    pk_setup(&o);
    td_add_in(0, 8);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 0, 8), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    set_drv_event(0u | WRAP_BIT, XCV_VRING_PACKED_EVENT_DISABLE);
    assert_int_equal(xcv_vq_device_should_notify(&P.dev), 0);
    td_used_expect(0, 8);
    td_add_in(0, 8);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 0, 8), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    set_drv_event(5u, XCV_VRING_PACKED_EVENT_ENABLE);
    assert_int_equal(xcv_vq_device_should_notify(&P.dev), 1);
}

static void should_notify_after_a_whole_ring(void **state)
{
    struct pk_opts o = {.num = 4, .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
    (void)state;
    pk_setup(&o);
    /* Six used descriptors over two publishes, no decision in between: more than a ring went
     * by, so whatever the driver's event names may have been passed. Notify (a spurious
     * notification is harmless, a missed one is not), unless the driver said DISABLE. */
    for (unsigned round = 0; round < 2; round++) {
        for (uint16_t i = 0; i < 3; i++) {
            td_add_in(i, 8);
            assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
            assert_int_equal(xcv_vq_device_push(&P.dev, i, 8), XCV_OK);
        }
        assert_int_equal(xcv_vq_device_publish(&P.dev), 3);
        for (uint16_t i = 0; i < 3; i++)
            td_used_expect(i, 8);
    }
    set_drv_event(2u, XCV_VRING_PACKED_EVENT_DESC);
    assert_int_equal(xcv_vq_device_should_notify(&P.dev), 1);

    td_add_in(0, 8);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_push(&P.dev, 0, 8), XCV_OK);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    set_drv_event(2u, XCV_VRING_PACKED_EVENT_DISABLE);
    assert_int_equal(xcv_vq_device_should_notify(&P.dev), 0);
}

static void enable_notify_writes_request_and_sees_races(void **state)
{
    (void)state;
    pk_setup_num(8);
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 0);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_ENABLE);
    xcv_vq_device_disable_notify(&P.dev);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_DISABLE);
    /* A chain published between the last empty pop and the re-arm is seen. */
    td_add_in(0, 8);
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 1);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_ENABLE);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 0);
    /* pop_or_arm: arms when empty, pops what raced. */
    xcv_vq_device_disable_notify(&P.dev);
    assert_int_equal(xcv_vq_device_pop_or_arm(&P.dev, &P.chain), XCV_EAGAIN);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_ENABLE);
    td_add_in(1, 8);
    assert_int_equal(xcv_vq_device_pop_or_arm(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.head, 1);
}

static void enable_notify_with_event_idx_names_the_next_descriptor(void **state)
{
    struct pk_opts o = {.num = 6, .features = XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)};
    (void)state;
    pk_setup(&o);
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 0);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_DESC);
    assert_int_equal(dev_event_off_wrap(), 0u | WRAP_BIT);
    for (uint16_t i = 0; i < 4; i++)
        round_trip_in(i, 8);
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 0);
    assert_int_equal(dev_event_off_wrap(), 4u | WRAP_BIT);
    for (uint16_t i = 0; i < 3; i++)
        round_trip_in(i, 8);
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 0);
    assert_int_equal(dev_event_off_wrap(), 1u); /* lap 0 */
    xcv_vq_device_disable_notify(&P.dev);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_DISABLE);
    /* Race seen with a wrap-0 descriptor too. */
    td_add_in(5, 8);
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 1);
}

/* ---- bursts and process ---- */

static void pop_burst_takes_what_is_there_then_arms(void **state)
{
    struct xcv_chain chains[5];
    (void)state;
    pk_setup_num(16);
    xcv_vq_device_disable_notify(&P.dev);
    for (unsigned i = 0; i < 5; i++) {
        chains[i].iov = P.iov + 3u * i;
        chains[i].cap = 16;
    }
    chains[4].cap = 15;
    assert_int_equal(xcv_vq_device_pop_burst(&P.dev, chains, 5), XCV_EINVAL); /* cap < 16 */
    pk_setup(&(struct pk_opts){.num = 16, .max_chain = 3});
    xcv_vq_device_disable_notify(&P.dev);
    for (unsigned i = 0; i < 5; i++)
        chains[i].cap = 3;
    for (uint16_t i = 0; i < 3; i++)
        td_add_in((uint16_t)(i + 7u), 8);
    assert_int_equal(xcv_vq_device_pop_burst(&P.dev, chains, 2), 2);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_DISABLE); /* not dry */
    assert_int_equal(chains[0].head, 7);
    assert_int_equal(chains[1].head, 8);
    assert_int_equal(xcv_vq_device_pop_burst(&P.dev, chains, 5), 1);
    assert_int_equal(chains[0].head, 9);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_ENABLE);
    assert_int_equal(xcv_vq_device_in_flight(&P.dev), 3);
}

struct handler_ctx {
    unsigned calls;
};

static int fill_handler(void *ctx, const struct xcv_chain *chain, uint32_t *written)
{
    struct handler_ctx *h = ctx;
    h->calls++;
    memset(chain->iov[chain->n_out].base, 0x5A, chain->iov[chain->n_out].len);
    *written = chain->in_len;
    return 0;
}

static void process_handles_pushes_and_flushes(void **state)
{
    struct pk_opts o = {.num = 8, .port = true};
    struct handler_ctx h = {0};
    (void)state;
    pk_setup(&o);
    for (uint16_t i = 0; i < 5; i++)
        td_add_in(i, (uint32_t)(10u + i));
    assert_int_equal(xcv_vq_device_process(&P.dev, 3, &P.chain, fill_handler, &h), 3);
    assert_int_equal(TP.notify_calls, 1);
    xcv_vq_device_disable_notify(&P.dev);
    assert_int_equal(xcv_vq_device_process(&P.dev, 8, &P.chain, fill_handler, &h), 2);
    assert_int_equal(TP.notify_calls, 2);
    assert_int_equal(h.calls, 5);
    assert_int_equal(dev_event_flags(), XCV_VRING_PACKED_EVENT_ENABLE); /* ran dry: armed */
    for (uint16_t i = 0; i < 5; i++) {
        td_used_expect(i, 10u + i);
        assert_int_equal(buf_local(i)[0], 0x5A);
    }
    set_drv_event(0, XCV_VRING_PACKED_EVENT_DISABLE);
    td_add_in(5, 4);
    assert_int_equal(xcv_vq_device_process(&P.dev, 8, &P.chain, fill_handler, &h), 1);
    assert_int_equal(TP.notify_calls, 2);
    td_used_expect(5, 4);
}

/* ---- state ---- */

static void set_base_is_not_supported_and_reset_starts_over(void **state)
{
    (void)state;
    pk_setup_num(8);
    assert_int_equal(xcv_vq_device_set_base(&P.dev, 0, 0), XCV_ENOTSUP);
    for (uint16_t i = 0; i < 3; i++)
        round_trip_in(i, 8);
    td_add_in(3, 8);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(xcv_vq_device_in_flight(&P.dev), 1);
    assert_int_equal(xcv_vq_device_next_avail(&P.dev), 4u | WRAP_BIT);

    /* Both sides reset: the driver zeroes its ring, the device forgets everything. */
    xcv_vq_device_reset(&P.dev);
    assert_int_equal(xcv_vq_device_in_flight(&P.dev), 0);
    assert_int_equal(xcv_vq_device_next_avail(&P.dev), WRAP_BIT);
    assert_int_equal(xcv_vq_device_push(&P.dev, 3, 0), XCV_EINVAL);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 0);
    td_reset();
    round_trip_in(3, 8);
    round_trip_in(3, 9);
}

static void cache_maintenance_on_a_non_coherent_port(void **state)
{
    struct pk_opts o = {.num = 8, .cache_port = true};
    struct seg s[2] = {{buf_bus(0), 8, false}, {buf_bus(1), 8, true}};
    (void)state;
    pk_setup(&o);
    tp_clear_counts(&TP);
    td_add(0, s, 2);
    td_publish();
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_true(TP.invalidate_calls >= 2u); /* both descriptors, before they are read */
    assert_int_equal(TP.clean_calls, 0);
    assert_int_equal(xcv_vq_device_push(&P.dev, 0, 8), XCV_OK);
    assert_int_equal(TP.clean_calls, 0);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 1);
    assert_true(TP.clean_calls >= 2u); /* the entries, then the released flags */
    unsigned inv = TP.invalidate_calls;
    assert_int_equal(xcv_vq_device_should_notify(&P.dev), 1);
    assert_true(TP.invalidate_calls > inv); /* the driver area */
    unsigned cl = TP.clean_calls;
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 0);
    assert_true(TP.clean_calls > cl); /* the device area */
    td_used_expect(0, 8);
}

/* ---- a hostile driver ---- */

/* The queue broke with @p code: reported once, sticky for every operation, cleared by reset. */
static void assert_broken_with(int code)
{
    struct xcv_chain chains[1] = {{P.iov, P.chain.cap, 0, 0, 0, 0, 0}};
    struct handler_ctx h = {0};
    assert_int_equal(xcv_vq_device_broken(&P.dev), code);
    tp_assert_logged_once(&TP, code, QI);
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_pop_or_arm(&P.dev, &P.chain), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_pop_burst(&P.dev, chains, 1), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_push(&P.dev, 0, 0), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_publish(&P.dev), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_should_notify(&P.dev), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_flush(&P.dev), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), XCV_EBROKEN);
    assert_int_equal(xcv_vq_device_process(&P.dev, 4, &P.chain, fill_handler, &h), XCV_EBROKEN);
    assert_int_equal(h.calls, 0);
    assert_int_equal(xcv_vq_device_broken(&P.dev), code);
    assert_int_equal(TP.log_error_calls, 1);
    xcv_vq_device_reset(&P.dev);
    assert_int_equal(xcv_vq_device_broken(&P.dev), 0);
}

static void pop_fails_with(int code)
{
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), code);
    assert_broken_with(code);
}

static void hostile_setup(uint16_t num, uint16_t max_chain, uint64_t features)
{
    struct pk_opts o = {.num = num, .max_chain = max_chain, .features = features, .port = true};
    pk_setup(&o);
}

static void id_out_of_range_breaks_queue(void **state)
{
    (void)state;
    hostile_setup(8, 0, 0);
    raw_desc(0, buf_bus(0), 8, 8, av(true));
    pop_fails_with(XCV_EPROTO_HEAD);
    hostile_setup(8, 0, 0);
    raw_desc(0, buf_bus(0), 8, 0xFFFF, av(true));
    pop_fails_with(XCV_EPROTO_HEAD);
}

static void id_taken_from_the_last_descriptor(void **state)
{
    (void)state;
    hostile_setup(8, 0, 0);
    /* Ids in the first descriptors are not looked at, out of range or not. */
    raw_desc(0, buf_bus(0), 8, 0xFFFF, av(true) | F_NEXT);
    raw_desc(1, buf_bus(1), 8, 6, av(true));
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    assert_int_equal(P.chain.head, 6);
    hostile_setup(8, 0, 0);
    raw_desc(0, buf_bus(0), 8, 2, av(true) | F_NEXT);
    raw_desc(1, buf_bus(1), 8, 9, av(true));
    pop_fails_with(XCV_EPROTO_HEAD);
}

static void duplicate_id_in_flight_breaks_queue(void **state)
{
    (void)state;
    hostile_setup(8, 0, 0);
    raw_desc(0, buf_bus(0), 8, 2, av(true));
    raw_desc(1, buf_bus(1), 8, 2, av(true));
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    pop_fails_with(XCV_EPROTO_HEAD);
}

static void chain_longer_than_max_chain_breaks_queue(void **state)
{
    (void)state;
    hostile_setup(8, 3, 0);
    for (uint16_t i = 0; i < 3; i++)
        raw_desc(i, buf_bus(i), 8, 1, (uint16_t)(av(true) | (i < 2u ? F_NEXT : 0u)));
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK); /* exactly max_chain */
    assert_int_equal(P.chain.n_out, 3);
    for (uint16_t i = 3; i < 7; i++)
        raw_desc(i, buf_bus(i), 8, 2, (uint16_t)(av(true) | (i < 6u ? F_NEXT : 0u)));
    pop_fails_with(XCV_EPROTO_CHAIN_LEN);
}

static void chain_that_never_ends_breaks_queue(void **state)
{
    (void)state;
    hostile_setup(8, 0, 0);
    for (uint16_t i = 0; i < 8; i++)
        raw_desc(i, buf_bus(i), 8, 0, av(true) | F_NEXT);
    pop_fails_with(XCV_EPROTO_CHAIN_LEN);
    /* Non-power-of-two ring, starting mid-ring with both laps' bits set right. */
    hostile_setup(6, 0, 0);
    for (uint16_t i = 0; i < 3; i++)
        round_trip_in(i, 8);
    for (uint16_t i = 0; i < 6; i++)
        raw_desc(i, buf_bus(i), 8, 0, av(i >= 3u) | F_NEXT);
    pop_fails_with(XCV_EPROTO_CHAIN_LEN);
}

static void readable_after_writable_breaks_queue(void **state)
{
    (void)state;
    hostile_setup(8, 0, 0);
    raw_desc(0, buf_bus(0), 8, 1, av(true) | F_NEXT);
    raw_desc(1, buf_bus(1), 8, 1, av(true) | F_NEXT | F_WRITE);
    raw_desc(2, buf_bus(2), 8, 1, av(true));
    pop_fails_with(XCV_EPROTO_WRITE_ORDER);
}

static void indirect_flag_breaks_queue(void **state)
{
    (void)state;
    hostile_setup(8, 0, 0);
    raw_desc(0, rf_bus(RF_IND_OFF), 16, 1, av(true) | F_IND);
    pop_fails_with(XCV_EPROTO_FEATURE);
    /* Not even with INDIRECT_DESC among the features, nor in the middle of a chain. */
    hostile_setup(8, 0, XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC));
    raw_desc(0, buf_bus(0), 8, 1, av(true) | F_NEXT);
    raw_desc(1, rf_bus(RF_IND_OFF), 16, 1, av(true) | F_IND);
    pop_fails_with(XCV_EPROTO_FEATURE);
}

static void address_outside_window_breaks_queue(void **state)
{
    (void)state;
    hostile_setup(8, 0, 0);
    raw_desc(0, RF_BUS_BASE + RF_WINDOW_SIZE + 0x1000u, 16, 1, av(true) | F_WRITE);
    pop_fails_with(XCV_EPROTO_WINDOW);
    hostile_setup(8, 0, 0);
    raw_desc(0, buf_bus(0), 8, 1, av(true) | F_NEXT);
    raw_desc(1, RF_BUS_BASE - 16u, 16, 1, av(true) | F_WRITE);
    pop_fails_with(XCV_EPROTO_WINDOW);
    hostile_setup(8, 0, 0);
    raw_desc(0, RF_BUS_BASE + RF_WINDOW_SIZE - 8u, 16, 1, av(true));
    pop_fails_with(XCV_EPROTO_WINDOW);
    hostile_setup(8, 0, 0);
    raw_desc(0, UINT64_MAX - 7u, 16, 1, av(true));
    pop_fails_with(XCV_EPROTO_OVERFLOW);
}

/* pop_burst takes runs of one-descriptor chains in one loop; a longer chain in between goes
 * through the chain walk, and a one-descriptor chain that fails a check ends the burst with the
 * chains before it and breaks the queue with the same error as a single pop. */
static void pop_burst_runs_of_single_descriptor_chains(void **state)
{
    (void)state;
    static const struct {
        uint64_t addr_off; /* from buf_bus(id); UINT64_MAX: outside the window */
        uint16_t id;
        int err;
    } bad[] = {
        {0, 8, XCV_EPROTO_HEAD},            /* id out of range */
        {0, 1, XCV_EPROTO_HEAD},            /* id of a chain in flight */
        {UINT64_MAX, 5, XCV_EPROTO_WINDOW}, /* buffer outside the window */
    };
    for (unsigned b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
        hostile_setup(8, 0, 0);
        xcv_vq_device_disable_notify(&P.dev);
        struct xcv_chain chains[6];
        for (unsigned i = 0; i < 6; i++) {
            chains[i].iov = P.iov + 3u * i;
            chains[i].cap = 8;
        }
        /* id 1: one writable segment; id 2: readable then writable (two descriptors); id 3:
         * one readable segment; then the bad one; then a good one that must not be taken. */
        raw_desc(0, buf_bus(1), 40, 1, av(true) | F_WRITE);
        raw_desc(1, buf_bus(2), 12, 9, av(true) | F_NEXT);
        raw_desc(2, buf_bus(2) + 64u, 30, 2, av(true) | F_WRITE);
        raw_desc(3, buf_bus(3), 20, 3, av(true));
        uint64_t addr = bad[b].addr_off == UINT64_MAX ? RF_BUS_BASE + RF_WINDOW_SIZE + 0x1000u
                                                      : buf_bus(5) + bad[b].addr_off;
        raw_desc(4, addr, 16, bad[b].id, av(true) | F_WRITE);
        raw_desc(5, buf_bus(6), 16, 6, av(true) | F_WRITE);
        assert_int_equal(xcv_vq_device_pop_burst(&P.dev, chains, 6), 3);
        assert_int_equal(chains[0].head, 1);
        assert_int_equal(chains[0].n_out, 0);
        assert_int_equal(chains[0].n_in, 1);
        assert_int_equal(chains[0].in_len, 40);
        assert_ptr_equal(chains[0].iov[0].base, buf_local(1));
        assert_int_equal(chains[1].head, 2);
        assert_int_equal(chains[1].n_out, 1);
        assert_int_equal(chains[1].n_in, 1);
        assert_int_equal(chains[1].out_len, 12);
        assert_int_equal(chains[1].in_len, 30);
        assert_int_equal(chains[2].head, 3);
        assert_int_equal(chains[2].n_out, 1);
        assert_int_equal(chains[2].n_in, 0);
        assert_int_equal(chains[2].out_len, 20);
        assert_broken_with(bad[b].err); /* every call refused until the reset it ends with */
    }
    /* All good: one burst takes every chain, in order, and pushes come back in one burst. */
    hostile_setup(8, 0, 0);
    xcv_vq_device_disable_notify(&P.dev);
    struct xcv_chain chains[8];
    for (unsigned i = 0; i < 8; i++) {
        chains[i].iov = P.iov + 3u * (i % 6u);
        chains[i].cap = 8;
    }
    for (uint16_t i = 0; i < 5; i++)
        raw_desc(i, buf_bus(i), 16, (uint16_t)(7u - i), av(true) | F_WRITE);
    assert_int_equal(xcv_vq_device_pop_burst(&P.dev, chains, 8), 5);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(chains[i].head, 7u - i);
    assert_int_equal(xcv_vq_device_in_flight(&P.dev), 5);
    struct xcv_chain_done d[5];
    for (unsigned i = 0; i < 5; i++)
        d[i] = (struct xcv_chain_done){.head = (uint16_t)(7u - i), .len = i};
    assert_int_equal(xcv_vq_device_push_burst(&P.dev, d, 5), 5);
    assert_int_equal(xcv_vq_device_in_flight(&P.dev), 0);
    assert_int_equal(xcv_vq_device_publish(&P.dev), 5);
    for (uint16_t i = 0; i < 5; i++) {
        assert_int_equal(d_id(i), 7u - i);
        assert_int_equal(d_len(i), i);
    }
}

/* A window large enough that per-descriptor checks pass and only the sum overflows. */
#define HUGE_BUS UINT64_C(0x10000000000)
#define HUGE_SIZE UINT64_C(0x200000000)
static uint8_t huge_backing[16];

static void total_length_overflow_breaks_queue(void **state)
{
    struct xcv_window ws[2];
    struct xcv_memmap map;
    struct pk_opts o = {.num = 8, .port = true};
    (void)state;
    for (unsigned w = 0; w < 2; w++) {
        pk_setup_ring(&o);
        ws[0] = P.win;
        /* Never dereferenced by pop: it only translates. */
        assert_int_equal(xcv_window_init(&ws[1], huge_backing, HUGE_BUS, HUGE_SIZE), XCV_OK);
        map.windows = ws;
        map.count = 2;
        P.cfg.mem = &map;
        assert_int_equal(xcv_vq_device_init(&P.dev, &P.cfg), XCV_OK);
        uint16_t f = w != 0u ? (uint16_t)F_WRITE : (uint16_t)0u;
        /* 2^32 - 1 bytes in three descriptors: the most a chain carries. */
        raw_desc(0, HUGE_BUS, 0x80000000u, 1, (uint16_t)(av(true) | F_NEXT | f));
        raw_desc(1, HUGE_BUS + 0x80000000u, 0x7FFFFFFEu, 1, (uint16_t)(av(true) | F_NEXT | f));
        raw_desc(2, HUGE_BUS, 1, 1, (uint16_t)(av(true) | f));
        assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
        assert_int_equal(w != 0u ? P.chain.in_len : P.chain.out_len, UINT32_MAX);
        /* One byte more. */
        raw_desc(3, HUGE_BUS, 1, 2, (uint16_t)(av(true) | F_NEXT | f));
        raw_desc(4, HUGE_BUS, 0xFFFFFFFFu, 2, (uint16_t)(av(true) | f));
        pop_fails_with(XCV_EPROTO_OVERFLOW);
    }
}

static void middle_descriptor_not_available_breaks_queue(void **state)
{
    (void)state;
    hostile_setup(8, 0, 0);
    raw_desc(0, buf_bus(0), 8, 1, av(true) | F_NEXT);
    raw_desc(1, buf_bus(1), 8, 1, F_AVAIL | F_USED | F_NEXT); /* looks used */
    raw_desc(2, buf_bus(2), 8, 1, av(true));
    pop_fails_with(XCV_EPROTO_NEXT);
    hostile_setup(8, 0, 0);
    raw_desc(0, buf_bus(0), 8, 1, av(true) | F_NEXT);
    raw_desc(1, buf_bus(1), 8, 1, 0); /* never written (zeroed ring) */
    pop_fails_with(XCV_EPROTO_NEXT);
    /* Across the wrap: position 0 still carries the bits of the old lap. */
    hostile_setup(8, 0, 0);
    for (uint16_t i = 0; i < 6; i++)
        round_trip_in(i, 8);
    raw_desc(6, buf_bus(6), 8, 1, av(true) | F_NEXT);
    raw_desc(7, buf_bus(7), 8, 1, av(true) | F_NEXT);
    raw_desc(0, buf_bus(0), 8, 1, av(true));
    pop_fails_with(XCV_EPROTO_NEXT);
}

static void more_descriptors_than_the_ring_holds_breaks_queue(void **state)
{
    struct seg s[5] = {
        {buf_bus(0), 8, false}, {buf_bus(1), 8, false}, {buf_bus(2), 8, false},
        {buf_bus(3), 8, false}, {buf_bus(4), 8, false},
    };
    (void)state;
    /* Five descriptors in flight; a chain of four over positions 5, 6, 7, 0 would need nine. */
    hostile_setup(8, 0, 0);
    td_add(0, s, 5);
    td_publish();
    assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    raw_desc(5, buf_bus(5), 8, 1, av(true) | F_NEXT);
    raw_desc(6, buf_bus(6), 8, 1, av(true) | F_NEXT);
    raw_desc(7, buf_bus(7), 8, 1, av(true) | F_NEXT);
    raw_desc(0, buf_bus(0), 8, 1, av(false));
    pop_fails_with(XCV_EPROTO_AVAIL_IDX);
    /* The whole ring in flight, and position 0 offered again. */
    hostile_setup(4, 0, 0);
    for (uint16_t i = 0; i < 4; i++)
        raw_desc(i, buf_bus(i), 8, i, av(true));
    for (uint16_t i = 0; i < 4; i++)
        assert_int_equal(xcv_vq_device_pop(&P.dev, &P.chain), XCV_OK);
    raw_desc(0, buf_bus(0), 8, 0, av(false));
    assert_int_equal(xcv_vq_device_enable_notify(&P.dev), 1);
    pop_fails_with(XCV_EPROTO_AVAIL_IDX);
}

static void error_in_pop_burst_is_reported_by_the_next_call(void **state)
{
    struct xcv_chain chains[3];
    (void)state;
    hostile_setup(8, 0, 0);
    for (unsigned i = 0; i < 3; i++) {
        chains[i].iov = P.iov + 8u * (i % 2u);
        chains[i].cap = 8;
    }
    raw_desc(0, buf_bus(0), 8, 0, av(true));
    raw_desc(1, buf_bus(1), 8, 0, av(true)); /* duplicate id */
    assert_int_equal(xcv_vq_device_pop_burst(&P.dev, chains, 3), 1);
    assert_int_equal(xcv_vq_device_pop_burst(&P.dev, chains, 3), XCV_EBROKEN);
    assert_broken_with(XCV_EPROTO_HEAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_bad_configuration),
        cmocka_unit_test(init_checks_area_alignment_and_windows),
        cmocka_unit_test(init_accepts_any_size_up_to_32768),
        cmocka_unit_test(init_writes_nothing_to_shared_memory),
        cmocka_unit_test(polled_init_writes_disable_and_never_rearms),
        cmocka_unit_test(single_descriptor_round_trip),
        cmocka_unit_test(used_without_data_has_no_write_flag),
        cmocka_unit_test(readable_and_writable_chain),
        cmocka_unit_test(batch_becomes_visible_only_when_its_first_flags_are_stored),
        cmocka_unit_test(chain_crossing_the_wrap),
        cmocka_unit_test(out_of_order_push_skips_by_chain_length),
        cmocka_unit_test(deferred_publish_hides_the_whole_batch),
        cmocka_unit_test(push_rejects_what_was_not_popped),
        cmocka_unit_test(push_burst_stages_in_order_and_stops_at_a_refused_entry),
        cmocka_unit_test(many_laps_with_random_chains),
        cmocka_unit_test(non_power_of_two_size),
        cmocka_unit_test(should_notify_follows_enable_and_disable),
        cmocka_unit_test(should_notify_event_desc_in_range),
        cmocka_unit_test(should_notify_event_desc_across_the_wrap),
        cmocka_unit_test(should_notify_event_idx_disable_and_enable),
        cmocka_unit_test(should_notify_after_a_whole_ring),
        cmocka_unit_test(enable_notify_writes_request_and_sees_races),
        cmocka_unit_test(enable_notify_with_event_idx_names_the_next_descriptor),
        cmocka_unit_test(pop_burst_takes_what_is_there_then_arms),
        cmocka_unit_test(process_handles_pushes_and_flushes),
        cmocka_unit_test(set_base_is_not_supported_and_reset_starts_over),
        cmocka_unit_test(cache_maintenance_on_a_non_coherent_port),
        cmocka_unit_test(id_out_of_range_breaks_queue),
        cmocka_unit_test(id_taken_from_the_last_descriptor),
        cmocka_unit_test(duplicate_id_in_flight_breaks_queue),
        cmocka_unit_test(chain_longer_than_max_chain_breaks_queue),
        cmocka_unit_test(chain_that_never_ends_breaks_queue),
        cmocka_unit_test(readable_after_writable_breaks_queue),
        cmocka_unit_test(indirect_flag_breaks_queue),
        cmocka_unit_test(address_outside_window_breaks_queue),
        cmocka_unit_test(pop_burst_runs_of_single_descriptor_chains),
        cmocka_unit_test(total_length_overflow_breaks_queue),
        cmocka_unit_test(middle_descriptor_not_available_breaks_queue),
        cmocka_unit_test(more_descriptors_than_the_ring_holds_breaks_queue),
        cmocka_unit_test(error_in_pop_burst_is_reported_by_the_next_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
