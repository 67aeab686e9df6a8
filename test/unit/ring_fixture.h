/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared fixture for the unit tests of the split virtqueue.
 *
 * One window lives in a static, line-aligned buffer at a bus base that differs from its local
 * address (so a missing translation shows). The ring sits at the start of the window, an
 * indirect-table area follows, and data buffers fill the second half. A driver-role queue and a
 * device-role queue are set up over the same ring, so a test can either run both roles or play
 * a hostile peer by writing raw shared-ring bytes with the xcv_le*_store helpers. Checks that
 * many tests make (a chain's segments, used entries, what the driver takes back, a breakage
 * logged once, every token detached once) are here too.
 *
 * Window map (bus = RF_BUS_BASE + offset):
 *   0x0000  ring (up to XCV_VRING_BYTES(RF_MAX_NUM, 64))
 *   0x2000  indirect tables (RF_MAX_NUM tables of RF_IND_MAX descriptors)
 *   0x8000  data buffers, RF_BUF_SIZE bytes each
 */
#ifndef XCV_TEST_RING_FIXTURE_H
#define XCV_TEST_RING_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xcvirtio/xcvirtio.h"

#define RF_MAX_NUM 128u
#define RF_WINDOW_SIZE 0x10000u
#define RF_BUS_BASE UINT64_C(0x80000000)
#define RF_RING_OFF 0x0000u
#define RF_IND_OFF 0x2000u
#define RF_IND_MAX 8u
#define RF_BUF_OFF 0x8000u
#define RF_BUF_SIZE 256u
#define RF_NUM_BUFS ((RF_WINDOW_SIZE - RF_BUF_OFF) / RF_BUF_SIZE)

_Static_assert(XCV_VRING_BYTES(RF_MAX_NUM, 64) <= RF_IND_OFF, "ring area too small");
_Static_assert(RF_IND_OFF + XCV_VQ_INDIRECT_BYTES(RF_MAX_NUM, RF_IND_MAX) <= RF_BUF_OFF,
               "indirect area too small");

/* ---- a port whose operations count and record what the library asks of them ---- */

struct test_port {
    struct xcv_port port;
    struct xcv_port_ops ops;
    unsigned notify_calls;
    uint32_t last_doorbell;
    int notify_ret;
    unsigned clean_calls;
    unsigned invalidate_calls;
    unsigned log_calls;
    enum xcv_log_level last_log_level;
    uint32_t last_log_id;
    int last_log_err;
    unsigned log_error_calls;
};

static int tp_notify(void *ctx, uint32_t doorbell)
{
    struct test_port *tp = ctx;
    tp->notify_calls++;
    tp->last_doorbell = doorbell;
    return tp->notify_ret;
}

static uint64_t tp_now_ns(void *ctx)
{
    (void)ctx;
    return 0;
}

static void tp_clean(void *ctx, const void *addr, size_t len)
{
    struct test_port *tp = ctx;
    (void)addr;
    (void)len;
    tp->clean_calls++;
}

static void tp_invalidate(void *ctx, const void *addr, size_t len)
{
    struct test_port *tp = ctx;
    (void)addr;
    (void)len;
    tp->invalidate_calls++;
}

static void tp_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    struct test_port *tp = ctx;
    assert_non_null(what);
    tp->log_calls++;
    tp->last_log_level = level;
    tp->last_log_id = id;
    tp->last_log_err = err;
    if (level == XCV_LOG_ERROR) {
        tp->log_error_calls++;
    }
}

/* Set up @p tp; @p with_cache adds the optional clean/invalidate operations. */
static inline void tp_init(struct test_port *tp, bool with_cache)
{
    memset(tp, 0, sizeof(*tp));
    tp->ops.notify = tp_notify;
    tp->ops.now_ns = tp_now_ns;
    tp->ops.log = tp_log;
    if (with_cache) {
        tp->ops.cache_clean = tp_clean;
        tp->ops.cache_invalidate = tp_invalidate;
    }
    tp->port.ops = &tp->ops;
    tp->port.ctx = tp;
}

static inline void tp_clear_counts(struct test_port *tp)
{
    tp->notify_calls = 0;
    tp->clean_calls = 0;
    tp->invalidate_calls = 0;
    tp->log_calls = 0;
    tp->log_error_calls = 0;
    tp->last_log_err = 0;
}

/* The log sink was told of exactly one error so far, and its last call was that error: @p code
 * on queue @p qi. */
static inline void tp_assert_logged_once(const struct test_port *tp, int code, uint32_t qi)
{
    assert_int_equal(tp->log_error_calls, 1);
    assert_int_equal(tp->last_log_level, XCV_LOG_ERROR);
    assert_int_equal(tp->last_log_err, code);
    assert_int_equal(tp->last_log_id, qi);
}

/* ---- the fixture ---- */

struct rf_opts {
    uint16_t num;         /* queue size; 0 means 8 */
    uint64_t features;    /* negotiated by both roles */
    uint16_t max_chain;   /* device limit; 0 means num */
    bool indirect_area;   /* give the driver an indirect-table area */
    bool prefer_indirect; /* driver uses indirect for every multi-segment chain */
    bool no_device;       /* leave the device queue uninitialised */
    const struct xcv_port *drv_port;
    const struct xcv_port *dev_port;
    uint16_t queue_index;
};

struct ring_fixture {
    struct rf_opts opts;
    uint8_t *mem;
    struct xcv_window win;
    struct xcv_memmap map;
    struct xcv_vring_layout ring;
    struct xcv_vq_driver drv;
    struct xcv_vq_device dev;
    struct xcv_vq_drv_slot drv_slots[RF_MAX_NUM];
    struct xcv_vq_dev_slot dev_slots[RF_MAX_NUM];
    struct xcv_iov iov[RF_MAX_NUM + 1];
    struct xcv_chain chain;
    uint16_t raw_avail_idx; /* the hostile driver's own avail index */
};

static _Alignas(64) uint8_t rf_window_mem[RF_WINDOW_SIZE];

static inline uint16_t rf_num(const struct ring_fixture *f)
{
    return f->ring.num;
}

static inline void *rf_buf(const struct ring_fixture *f, unsigned i)
{
    assert_true(i < RF_NUM_BUFS);
    return f->mem + RF_BUF_OFF + (size_t)i * RF_BUF_SIZE;
}

static inline uint64_t rf_buf_bus(const struct ring_fixture *f, unsigned i)
{
    (void)f;
    assert_true(i < RF_NUM_BUFS);
    return RF_BUS_BASE + RF_BUF_OFF + (uint64_t)i * RF_BUF_SIZE;
}

/* Bus address of the byte at offset @p off of the window. */
static inline uint64_t rf_bus(uint64_t off)
{
    return RF_BUS_BASE + off;
}

static inline uint8_t *rf_ind_local(const struct ring_fixture *f)
{
    return f->mem + RF_IND_OFF;
}

/* Fill a device config with the fixture's defaults (the areas the layout placed). */
static inline void rf_dev_config(struct ring_fixture *f, struct xcv_vq_device_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mem = &f->map;
    cfg->num = f->ring.num;
    cfg->desc_bus = f->ring.desc_bus;
    cfg->avail_bus = f->ring.avail_bus;
    cfg->used_bus = f->ring.used_bus;
    cfg->features = f->opts.features;
    cfg->max_chain = f->opts.max_chain;
    cfg->slots = f->dev_slots;
    cfg->port = f->opts.dev_port;
    cfg->doorbell = 0x200u + f->opts.queue_index;
    cfg->queue_index = f->opts.queue_index;
}

static inline void rf_drv_config(struct ring_fixture *f, struct xcv_vq_driver_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ring = &f->ring;
    cfg->slots = f->drv_slots;
    cfg->features = f->opts.features;
    if (f->opts.indirect_area) {
        cfg->indirect_local = rf_ind_local(f);
        cfg->indirect_bus = rf_bus(RF_IND_OFF);
        cfg->indirect_max = RF_IND_MAX;
        cfg->prefer_indirect = f->opts.prefer_indirect;
    }
    cfg->port = f->opts.drv_port;
    cfg->doorbell = 0x100u + f->opts.queue_index;
    cfg->queue_index = f->opts.queue_index;
}

/* Poison the window memory @p mem (so that a missing initialisation shows) and map it, at
 * RF_BUS_BASE, as the one window of @p map. */
static inline void rf_window_map(uint8_t *mem, struct xcv_window *win, struct xcv_memmap *map)
{
    memset(mem, 0xA5, RF_WINDOW_SIZE);
    assert_int_equal(xcv_window_init(win, mem, RF_BUS_BASE, RF_WINDOW_SIZE), XCV_OK);
    map->windows = win;
    map->count = 1;
}

/* Set up the window, the layout, the driver queue and (unless no_device) the device queue. */
static inline void rf_setup(struct ring_fixture *f, const struct rf_opts *opts)
{
    struct xcv_vq_driver_config dcfg;
    struct xcv_vq_device_config vcfg;

    memset(f, 0, sizeof(*f));
    if (opts != NULL) {
        f->opts = *opts;
    }
    if (f->opts.num == 0) {
        f->opts.num = 8;
    }
    assert_true(f->opts.num <= RF_MAX_NUM);
    f->mem = rf_window_mem;
    rf_window_map(f->mem, &f->win, &f->map);
    assert_int_equal(
        xcv_vring_layout(f->mem + RF_RING_OFF, rf_bus(RF_RING_OFF), f->opts.num, 64, &f->ring),
        XCV_OK);

    rf_drv_config(f, &dcfg);
    assert_int_equal(xcv_vq_driver_init(&f->drv, &dcfg), XCV_OK);
    if (!f->opts.no_device) {
        rf_dev_config(f, &vcfg);
        assert_int_equal(xcv_vq_device_init(&f->dev, &vcfg), XCV_OK);
    }
    f->chain.iov = f->iov;
    f->chain.cap = (uint16_t)(f->opts.max_chain != 0 ? f->opts.max_chain : f->opts.num);
}

/* rf_setup() with test ports: @p drv_tp and @p dev_tp (either may be NULL, both the same port)
 * are initialised, with the cache operations when @p cache, and given to their roles. */
static inline void rf_setup_ports(struct ring_fixture *f, const struct rf_opts *opts,
                                  struct test_port *drv_tp, struct test_port *dev_tp, bool cache)
{
    struct rf_opts o = *opts;
    if (drv_tp != NULL) {
        tp_init(drv_tp, cache);
        o.drv_port = &drv_tp->port;
    }
    if (dev_tp != NULL) {
        if (dev_tp != drv_tp) {
            tp_init(dev_tp, cache);
        }
        o.dev_port = &dev_tp->port;
    }
    rf_setup(f, &o);
}

/* ---- raw shared-ring access (a test playing the peer) ---- */

static inline uint8_t *rf_desc_ptr(const struct ring_fixture *f, uint16_t i)
{
    return (uint8_t *)f->ring.desc + (size_t)i * XCV_VRING_DESC_SIZE;
}

/* Write one descriptor at @p d (a ring slot or an indirect-table entry). */
static inline void rf_desc_store(void *d, uint64_t addr, uint32_t len, uint16_t flags,
                                 uint16_t next)
{
    uint8_t *p = d;
    xcv_le64_store(p, addr);
    xcv_le32_store(p + 8, len);
    xcv_le16_store(p + 12, flags);
    xcv_le16_store(p + 14, next);
}

static inline void rf_desc_write(struct ring_fixture *f, uint16_t i, uint64_t addr, uint32_t len,
                                 uint16_t flags, uint16_t next)
{
    rf_desc_store(rf_desc_ptr(f, i), addr, len, flags, next);
}

struct rf_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static inline struct rf_desc rf_desc_load(const void *d)
{
    const uint8_t *p = d;
    struct rf_desc r;
    r.addr = xcv_le64_load(p);
    r.len = xcv_le32_load(p + 8);
    r.flags = xcv_le16_load(p + 12);
    r.next = xcv_le16_load(p + 14);
    return r;
}

static inline struct rf_desc rf_desc_read(const struct ring_fixture *f, uint16_t i)
{
    return rf_desc_load(rf_desc_ptr(f, i));
}

/* Available ring (driver area): flags, idx, ring[num], used_event. */
static inline uint16_t rf_avail_flags(const struct ring_fixture *f)
{
    return xcv_le16_load((const uint8_t *)f->ring.avail);
}

static inline void rf_set_avail_flags(struct ring_fixture *f, uint16_t v)
{
    xcv_le16_store((uint8_t *)f->ring.avail, v);
}

static inline uint16_t rf_avail_idx(const struct ring_fixture *f)
{
    return xcv_le16_load((const uint8_t *)f->ring.avail + 2);
}

static inline void rf_set_avail_idx(struct ring_fixture *f, uint16_t v)
{
    xcv_le16_store((uint8_t *)f->ring.avail + 2, v);
}

static inline uint16_t rf_avail_ring(const struct ring_fixture *f, uint16_t slot)
{
    return xcv_le16_load((const uint8_t *)f->ring.avail + 4 + 2u * (slot % f->ring.num));
}

static inline void rf_set_avail_ring(struct ring_fixture *f, uint16_t slot, uint16_t head)
{
    xcv_le16_store((uint8_t *)f->ring.avail + 4 + 2u * (slot % f->ring.num), head);
}

static inline uint16_t rf_used_event(const struct ring_fixture *f)
{
    return xcv_le16_load((const uint8_t *)f->ring.avail + 4 + 2u * f->ring.num);
}

static inline void rf_set_used_event(struct ring_fixture *f, uint16_t v)
{
    xcv_le16_store((uint8_t *)f->ring.avail + 4 + 2u * f->ring.num, v);
}

/* Hostile driver: make @p head available and publish it at once. */
static inline void rf_avail_push(struct ring_fixture *f, uint16_t head)
{
    rf_set_avail_ring(f, f->raw_avail_idx, head);
    f->raw_avail_idx++;
    rf_set_avail_idx(f, f->raw_avail_idx);
}

/* Used ring (device area): flags, idx, ring[num] of {id, len}, avail_event. */
static inline uint16_t rf_used_flags(const struct ring_fixture *f)
{
    return xcv_le16_load((const uint8_t *)f->ring.used);
}

static inline void rf_set_used_flags(struct ring_fixture *f, uint16_t v)
{
    xcv_le16_store((uint8_t *)f->ring.used, v);
}

static inline uint16_t rf_used_idx(const struct ring_fixture *f)
{
    return xcv_le16_load((const uint8_t *)f->ring.used + 2);
}

static inline void rf_set_used_idx(struct ring_fixture *f, uint16_t v)
{
    xcv_le16_store((uint8_t *)f->ring.used + 2, v);
}

static inline uint32_t rf_used_id(const struct ring_fixture *f, uint16_t slot)
{
    return xcv_le32_load((const uint8_t *)f->ring.used + 4 + 8u * (slot % f->ring.num));
}

static inline uint32_t rf_used_len(const struct ring_fixture *f, uint16_t slot)
{
    return xcv_le32_load((const uint8_t *)f->ring.used + 8 + 8u * (slot % f->ring.num));
}

static inline void rf_set_used_elem(struct ring_fixture *f, uint16_t slot, uint32_t id,
                                    uint32_t len)
{
    uint8_t *e = (uint8_t *)f->ring.used + 4 + 8u * (slot % f->ring.num);
    xcv_le32_store(e, id);
    xcv_le32_store(e + 4, len);
}

/* Hostile device: used entry @p slot = {@p id, @p len}, then the used index set to @p idx. */
static inline void rf_set_used(struct ring_fixture *f, uint16_t slot, uint32_t id, uint32_t len,
                               uint16_t idx)
{
    rf_set_used_elem(f, slot, id, len);
    rf_set_used_idx(f, idx);
}

/* Used entry @p slot is {@p id, @p len}. */
static inline void rf_assert_used(const struct ring_fixture *f, uint16_t slot, uint32_t id,
                                  uint32_t len)
{
    assert_int_equal(rf_used_id(f, slot), id);
    assert_int_equal(rf_used_len(f, slot), len);
}

static inline uint16_t rf_avail_event(const struct ring_fixture *f)
{
    return xcv_le16_load((const uint8_t *)f->ring.used + 4 + 8u * f->ring.num);
}

static inline void rf_set_avail_event(struct ring_fixture *f, uint16_t v)
{
    xcv_le16_store((uint8_t *)f->ring.used + 4 + 8u * f->ring.num, v);
}

/* ---- convenience for well-behaved round trips ---- */

/* Driver posts one chain of one device-writable buffer (@p buf) and publishes it. */
static inline void rf_post_in(struct ring_fixture *f, unsigned buf, uint32_t len, void *token)
{
    struct xcv_sg sg = {rf_buf_bus(f, buf), len};
    assert_int_equal(xcv_vq_driver_add(&f->drv, &sg, 0, 1, token), XCV_OK);
}

/* @p n segments of @p len bytes each, in data buffers @p first, @p first + 1, ... */
static inline void rf_sg_bufs(const struct ring_fixture *f, struct xcv_sg *sg, unsigned n,
                              unsigned first, uint32_t len)
{
    for (unsigned i = 0; i < n; i++) {
        sg[i].addr = rf_buf_bus(f, first + i);
        sg[i].len = len;
    }
}

/* Driver adds @p n chains (not published): chain i is one readable segment of @p out_len bytes
 * in buffer 2i and one writable of @p in_len bytes in buffer 2i + 1, token &tokens[i]. */
static inline void rf_post_pairs(struct ring_fixture *f, unsigned n, uint32_t out_len,
                                 uint32_t in_len, int *tokens)
{
    for (unsigned i = 0; i < n; i++) {
        struct xcv_sg sg[2] = {{rf_buf_bus(f, 2 * i), out_len}, {rf_buf_bus(f, 2 * i + 1), in_len}};
        assert_int_equal(xcv_vq_driver_add(&f->drv, sg, 1, 1, &tokens[i]), XCV_OK);
    }
}

/* Device pops one chain into f->chain, expecting success. */
static inline void rf_pop_ok(struct ring_fixture *f)
{
    assert_int_equal(xcv_vq_device_pop(&f->dev, &f->chain), XCV_OK);
}

/* Segment @p i of a popped chain is @p len bytes at @p base. */
static inline void rf_assert_seg(const struct xcv_chain *c, unsigned i, const void *base,
                                 uint32_t len)
{
    assert_ptr_equal(c->iov[i].base, base);
    assert_int_equal(c->iov[i].len, len);
}

/* The driver (split or packed) takes back one chain: @p want_tok, @p want_len bytes written. */
static inline void rf_get_used_ok(struct xcv_vq_driver *q, void *want_tok, uint32_t want_len)
{
    void *tok = NULL;
    uint32_t len = 0xDEAD;
    assert_int_equal(xcv_vq_driver_get_used(q, &tok, &len), XCV_OK);
    assert_ptr_equal(tok, want_tok);
    assert_int_equal(len, want_len);
}

/* Nothing used: XCV_EAGAIN, and neither output is written. */
static inline void rf_get_used_none(struct xcv_vq_driver *q)
{
    int sentinel;
    void *tok = &sentinel;
    uint32_t len = 5;
    assert_int_equal(xcv_vq_driver_get_used(q, &tok, &len), XCV_EAGAIN);
    assert_ptr_equal(tok, &sentinel);
    assert_int_equal(len, 5);
}

/* After a breakage: every token of the bitmask @p outstanding (bit i: &tokens[i]) detaches
 * exactly once, no other does, and nothing is in flight any more. */
static inline void rf_assert_detach_once(struct xcv_vq_driver *q, const int *tokens,
                                         uint32_t outstanding)
{
    void *tok;
    uint32_t seen = 0;
    while (xcv_vq_driver_detach_unused(q, &tok) == XCV_OK) {
        ptrdiff_t i = (const int *)tok - tokens;
        assert_true(i >= 0);
        assert_true(i < 32);
        assert_true((outstanding >> i) & 1u);
        assert_false((seen >> i) & 1u);
        seen |= 1u << i;
    }
    assert_int_equal(seen, outstanding);
    assert_int_equal(xcv_vq_driver_in_flight(q), 0);
}

/* Is [p, p+len) wholly inside the fixture window? */
static inline bool rf_in_window(const struct ring_fixture *f, const void *p, uint32_t len)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t lo = (uintptr_t)f->mem;
    uintptr_t hi = lo + RF_WINDOW_SIZE;
    return a >= lo && a <= hi && (uintptr_t)len <= hi - a;
}

/* A small deterministic generator for property tests (no global state). */
static inline uint32_t rf_rand(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

#endif /* XCV_TEST_RING_FIXTURE_H */
