/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared parts of the virtqueue harnesses (fuzz_vq_*.c), for what they do the same way:
 * - the port (counts notifications, checking the doorbell, and log lines) and the bookkeeping
 *   of a protocol error: sticky, and reported once through the log hook;
 * - the notification rules of split (2.7.10) and packed (2.8.10) rings;
 * - device-role harnesses: the input header, the two windows of driver memory with the model's
 *   image of them, the racing driver's PATCH and DESC writes, the reference walk of a chain and
 *   the checks of a chain the library hands out;
 * - driver-role harnesses: the tokens (one per chain posted), the data buffers the device never
 *   writes, the device's writes into ring memory with the model's copy, and the add_burst,
 *   get_used and recovery checks.
 * Each harness keeps its own model of the queue; the helpers take what they need as arguments.
 */
#ifndef XCV_TEST_FUZZ_RING_H
#define XCV_TEST_FUZZ_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#include "fuzz_common.h"

#define FZ_MAXNUM 32u /* the largest queue size of every harness */

/* Exactly @p size bytes (aligned to @p align unless 0), so that AddressSanitizer sees any access
 * past the end. */
static inline void *fz_alloc(size_t align, size_t size)
{
    void *p = align != 0 ? aligned_alloc(align, size) : malloc(size);
    FUZZ_CHECK(p != NULL);
    return p;
}

/* The features of a harness's queue: VERSION_1, @p extra, EVENT_IDX and INDIRECT_DESC if asked. */
static inline uint64_t fz_features(uint64_t extra, bool event_idx, bool indirect)
{
    uint64_t f = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | extra;
    if (event_idx)
        f |= XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
    if (indirect)
        f |= XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    return f;
}

/* @p frac / 255 of @p len bytes. */
static inline uint32_t fz_part(uint32_t len, uint8_t frac)
{
    return (uint32_t)(((uint64_t)len * frac) / 255u);
}

/* ---- The port and protocol errors ---- */

struct fz_port {
    struct xcv_port port; /* what the queue config points to; its ctx is this struct */
    uint32_t doorbell;    /* the only doorbell notify may ring */
    unsigned notifies;
    unsigned logs;
    int last_log_err;
};

static inline int fz_port_notify(void *c, uint32_t doorbell)
{
    struct fz_port *p = c;
    FUZZ_CHECK(doorbell == p->doorbell);
    p->notifies++;
    return XCV_OK;
}

static inline void fz_port_log(void *c, enum xcv_log_level level, const char *what, uint32_t id,
                               int err)
{
    struct fz_port *p = c;
    (void)level;
    (void)id;
    FUZZ_CHECK(what != NULL);
    p->logs++;
    p->last_log_err = err;
}

/* Counters at zero; returns the port to configure the queue with. */
static inline const struct xcv_port *fz_port_open(struct fz_port *p, uint32_t doorbell)
{
    static const struct xcv_port_ops ops = {.notify = fz_port_notify, .log = fz_port_log};
    memset(p, 0, sizeof *p);
    p->port.ops = &ops;
    p->port.ctx = p;
    p->doorbell = doorbell;
    return &p->port;
}

/* After a protocol error every call returns XCV_EBROKEN until reset: checks that of @p r when the
 * queue was broken before the call. Returns @p was_broken (then there is nothing else to check). */
static inline bool fz_stays_broken(bool was_broken, int r)
{
    if (was_broken)
        FUZZ_CHECK(r == XCV_EBROKEN);
    return was_broken;
}

/* The queue just broke with @p r and reports @p lib: the model had seen no error and keeps this
 * one; with a port @p p, the log hook reported it exactly once since @p logs_before. */
static inline void fz_broke(int *broken, int r, int lib, const struct fz_port *p,
                            unsigned logs_before)
{
    FUZZ_CHECK(*broken == 0);
    *broken = r;
    FUZZ_CHECK(lib == r);
    if (p != NULL)
        FUZZ_CHECK(p->logs == logs_before + 1u && p->last_log_err == r);
}

/* ---- Notification rules ---- */

/* 2.7.10: notify when the event index lies in (old, new]. */
static inline bool fz_need_event(uint16_t ev, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - ev - 1u) < (uint16_t)(new_idx - old_idx);
}

/* A split ring's notification decision (2.7.10) over the entries handed over since the last one,
 * (*@p decided, @p new_idx]; moves *@p decided on. The other side's event index is at @p ev (with
 * EVENT_IDX), else its flags word at @p flags asks for none with @p no_bit. */
static inline int fz_split_notify(uint16_t *decided, uint16_t new_idx, bool event_idx,
                                  const uint8_t *ev, const uint8_t *flags, uint16_t no_bit)
{
    uint16_t old_idx = *decided;
    *decided = new_idx;
    if (old_idx == new_idx)
        return 0;
    if (event_idx)
        return fz_need_event(xcv_le16_load(ev), new_idx, old_idx) ? 1 : 0;
    return (xcv_le16_load(flags) & no_bit) ? 0 : 1;
}

#define FZ_WRAP_BIT 0x8000u

/* A packed ring's free-running position @p c (a descriptor count): ring position c % num, wrap
 * counter 1 on even laps. */
static inline uint16_t fz_packed_pos(uint32_t c, uint16_t num)
{
    return (uint16_t)(c % num);
}

static inline bool fz_packed_wrap(uint32_t c, uint16_t num)
{
    return ((c / num) & 1u) == 0u;
}

/* An event suppression area's off_wrap for position @p c. */
static inline uint16_t fz_packed_off_wrap(uint32_t c, uint16_t num)
{
    return (uint16_t)(fz_packed_pos(c, num) | (fz_packed_wrap(c, num) ? FZ_WRAP_BIT : 0u));
}

/* 2.8.1: the flags of a descriptor made available, or used, in the lap of wrap counter @p wrap. */
static inline uint16_t fz_packed_avail_bits(bool wrap)
{
    return wrap ? (uint16_t)XCV_VRING_PACKED_DESC_F_AVAIL : (uint16_t)XCV_VRING_PACKED_DESC_F_USED;
}

static inline uint16_t fz_packed_used_bits(bool wrap)
{
    return wrap ? (uint16_t)(XCV_VRING_PACKED_DESC_F_AVAIL | XCV_VRING_PACKED_DESC_F_USED)
                : (uint16_t)0u;
}

/* A packed ring's notification decision (2.8.10) over the @p n positions from @p first handed
 * over since the last one, given the other side's event suppression area @p ev: 1, 0, or -1
 * when either answer is right. Its DESC names the position (and wrap counter) whose hand-over
 * it wants to hear of. */
static inline int fz_packed_notify(const uint8_t *ev, bool event_idx, uint32_t first, uint32_t n,
                                   uint16_t num)
{
    if (n == 0u)
        return 0;
    uint16_t off_wrap = xcv_le16_load(ev);
    uint16_t flags = xcv_le16_load(ev + 2);
    if (flags == XCV_VRING_PACKED_EVENT_DISABLE)
        return 0;
    if (flags != XCV_VRING_PACKED_EVENT_DESC || !event_idx)
        return 1; /* ENABLE, or a value the other side does not know: notifying is safe */
    if (n >= num)
        return 1; /* a whole ring went by */
    uint16_t off = (uint16_t)(off_wrap & ~FZ_WRAP_BIT);
    bool w = (off_wrap & FZ_WRAP_BIT) != 0u;
    if (off >= num)
        return -1; /* names no position: any answer is safe */
    for (uint32_t i = 0; i < n; i++)
        if (fz_packed_pos(first + i, num) == off && fz_packed_wrap(first + i, num) == w)
            return 1;
    return 0;
}

/* A decision the model calls for (@p want, -1 when either is right): the answer @p r is 0 or 1. */
static inline void fz_notify_answer(int r, int want)
{
    FUZZ_CHECK(r == 0 || r == 1);
    if (want >= 0)
        FUZZ_CHECK(r == want);
}

/* The event suppression area the peer writes (PDEV_OP_EVENT, PDRV_OP_DEV_EVENT) into @p v: a mode
 * byte m, a le16 a, with m & 3 == 3 a le16 of raw flags (else flags m & 3: ENABLE, DISABLE,
 * DESC); off_wrap is a as it is with m bit2, else the position @p lo + a % (2 num). */
static inline void fz_packed_event_read(struct fuzz_in *s, uint32_t lo, uint16_t num, uint8_t v[4])
{
    uint8_t m = fin_u8(s);
    uint16_t a = fin_u16(s);
    uint16_t flags = (m & 3u) == 3u ? fin_u16(s) : (uint16_t)(m & 3u);
    uint16_t off_wrap = a;
    if (!(m & 4u))
        off_wrap = fz_packed_off_wrap(lo + a % (2u * num), num);
    xcv_le16_store(v, off_wrap);
    xcv_le16_store(v + 2, flags);
}

/* Offsets in a split ring (2.7.6, 2.7.8): used entry @p pos of the used ring at @p used_off and
 * the avail_event after the entries; slot @p pos of the available ring at @p avail_off and the
 * used_event after the slots. */
static inline size_t fz_used_entry_off(size_t used_off, uint16_t num, uint16_t pos)
{
    return used_off + 4u + 8u * (size_t)(pos & (num - 1u));
}

static inline size_t fz_avail_event_off(size_t used_off, uint16_t num)
{
    return used_off + 4u + 8u * (size_t)num;
}

static inline size_t fz_avail_slot_off(size_t avail_off, uint16_t num, uint16_t pos)
{
    return avail_off + 4u + 2u * (size_t)(pos & (num - 1u));
}

static inline size_t fz_used_event_off(size_t avail_off, uint16_t num)
{
    return avail_off + 4u + 2u * (size_t)num;
}

/* Memory the harness writes as the peer, and the model's image of it. */
struct fz_mirror {
    uint8_t *mem;
    uint8_t *copy;
};

static inline void fz_put(const struct fz_mirror *m, size_t off, const uint8_t *src, size_t len)
{
    memcpy(m->mem + off, src, len);
    memcpy(m->copy + off, src, len);
}

static inline void fz_put16(const struct fz_mirror *m, size_t off, uint16_t v)
{
    uint8_t b[2];
    xcv_le16_store(b, v);
    fz_put(m, off, b, 2);
}

/* A split used entry (id, len) at @p off. */
static inline void fz_put_used(const struct fz_mirror *m, size_t off, uint32_t id, uint32_t len)
{
    uint8_t b[8];
    xcv_le32_store(b, id);
    xcv_le32_store(b + 4, len);
    fz_put(m, off, b, 8);
}

/* A write the library is expected to make: into the model's image only. */
static inline void fz_expect16(const struct fz_mirror *m, size_t off, uint16_t v)
{
    xcv_le16_store(m->copy + off, v);
}

/* A field whose value is the library's choice (a hint): the image takes what is there. */
static inline void fz_any16(const struct fz_mirror *m, size_t off)
{
    memcpy(m->copy + off, m->mem + off, 2);
}

/* ---- Device-role harnesses: a hostile driver's memory ---- */

#define FZ_WIN1 2048u      /* window 1: the ring areas, tables and buffers (gen_seeds.c agrees) */
#define FZ_WIN2 512u       /* window 2: more buffers */
#define FZ_IND_AREA 0x600u /* indirect tables of the split harnesses (DESC, IODEV_OP_OFFER) */

/* Queue sizes 1 << (byte % 6). */
static const uint16_t fz_pow2_sizes[6] = {1, 2, 4, 8, 16, 32};

/* The input header of the device-role harnesses (see the top of each). */
struct fz_dev_input {
    uint8_t cfg;
    uint16_t num;
    uint16_t mc;        /* max_chain as configured: 0 means the queue size */
    uint16_t max_chain; /* effective */
    size_t off[3];      /* the ring areas in window 1: descriptors, driver area, device area */
    uint64_t bus1;      /* the bus address of window 1 */
    struct fuzz_in script;
};

/* The driver's memory: two windows (the second in the memory map with config bit2) and the
 * model's image of them. */
struct fz_wins {
    struct xcv_window win[2];
    struct xcv_memmap mem;
    uint8_t *w1;
    uint8_t *w2;
    uint8_t *shadow1;
    uint8_t *shadow2;
    bool two;
};

/* Fills window 1, then window 2 (1 MiB away on the bus), from the rest of the input (zeros past
 * its end). */
static inline void fz_wins_open(struct fz_wins *m, struct fuzz_in *in, const struct fz_dev_input *h)
{
    uint64_t bus1 = h->bus1;
    uint64_t bus2 = bus1 >= 0x100000u ? bus1 - 0x100000u : bus1 + 0x100000u;
    m->two = (h->cfg & 4u) != 0;
    m->w1 = fz_alloc(0, FZ_WIN1);
    m->w2 = fz_alloc(0, FZ_WIN2);
    m->shadow1 = fz_alloc(0, FZ_WIN1);
    m->shadow2 = fz_alloc(0, FZ_WIN2);
    memset(m->w1, 0, FZ_WIN1);
    memset(m->w2, 0, FZ_WIN2);
    struct fuzz_in img1 = fin_take(in, FZ_WIN1);
    memcpy(m->w1, img1.p, img1.n);
    struct fuzz_in img2 = fin_take(in, FZ_WIN2);
    memcpy(m->w2, img2.p, img2.n);
    memcpy(m->shadow1, m->w1, FZ_WIN1);
    memcpy(m->shadow2, m->w2, FZ_WIN2);
    FUZZ_CHECK(xcv_window_init(&m->win[0], m->w1, bus1, FZ_WIN1) == XCV_OK);
    FUZZ_CHECK(xcv_window_init(&m->win[1], m->w2, bus2, FZ_WIN2) == XCV_OK);
    m->mem.windows = m->win;
    m->mem.count = m->two ? 2u : 1u;
}

/* Reads the input: config, queue size sizes[byte % count], max_chain, the script's length, with
 * config bit3 the area offsets (else the standard layout of a split or @p packed ring at 0), the
 * script, then the windows' contents (fz_wins_open). Config bits4-5 pick the bus address of
 * window 1. */
static inline void fz_dev_input(struct fuzz_in *in, const uint16_t *sizes, unsigned count,
                                bool packed, struct fz_dev_input *h, struct fz_wins *m)
{
    static const uint64_t bases[4] = {0, 0x1000, 0x80000000u,
                                      (UINT64_MAX - FZ_WIN1) & ~(uint64_t)0xfff};
    h->cfg = fin_u8(in);
    h->num = sizes[fin_u8(in) % count];
    h->mc = (uint16_t)(fin_u8(in) % (h->num + 1u));
    h->max_chain = h->mc != 0 ? h->mc : h->num;
    uint16_t script_len = fin_u16(in);
    h->off[0] = 0;
    if (packed) {
        h->off[1] = XCV_VRING_PACKED_DRIVER_OFFSET(h->num, XCV_CACHE_LINE_DEFAULT);
        h->off[2] = XCV_VRING_PACKED_DEVICE_OFFSET(h->num, XCV_CACHE_LINE_DEFAULT);
    } else {
        h->off[1] = XCV_VRING_AVAIL_OFFSET(h->num);
        h->off[2] = XCV_VRING_USED_OFFSET(h->num, XCV_CACHE_LINE_DEFAULT);
    }
    if (h->cfg & 8u) {
        for (unsigned i = 0; i < 3u; i++)
            h->off[i] = fin_u16(in) % FZ_WIN1;
    }
    h->bus1 = bases[(h->cfg >> 4) & 3u];
    h->script = fin_take(in, script_len);
    fz_wins_open(m, in, h);
}

static inline void fz_wins_close(struct fz_wins *m)
{
    free(m->w1);
    free(m->w2);
    free(m->shadow1);
    free(m->shadow2);
}

static inline bool fz_in_window(const struct fz_wins *m, const void *p, uint32_t len)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t b1 = (uintptr_t)m->w1;
    if (a >= b1 && a <= b1 + FZ_WIN1 && len <= b1 + FZ_WIN1 - a)
        return true;
    if (m->two) {
        uintptr_t b2 = (uintptr_t)m->w2;
        if (a >= b2 && a <= b2 + FZ_WIN2 && len <= b2 + FZ_WIN2 - a)
            return true;
    }
    return false;
}

/* The model's copy of the window byte at @p p. */
static inline uint8_t *fz_shadow_of(struct fz_wins *m, uint8_t *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a >= (uintptr_t)m->w1 && a < (uintptr_t)m->w1 + FZ_WIN1)
        return m->shadow1 + (a - (uintptr_t)m->w1);
    return m->shadow2 + (a - (uintptr_t)m->w2);
}

/* A harness write (driver or device model): into the window and the model's image. */
static inline void fz_shadow_write(struct fz_wins *m, uint8_t *p, const uint8_t *src, size_t len)
{
    memcpy(p, src, len);
    memcpy(fz_shadow_of(m, p), src, len);
}

static inline void fz_shadow_store16(struct fz_wins *m, uint8_t *p, uint16_t v)
{
    uint8_t b[2];
    xcv_le16_store(b, v);
    fz_shadow_write(m, p, b, 2);
}

/* Bus range to local pointer as vq_device.h translates: inside one window of the memory map. */
static inline bool fz_translate(const struct fz_wins *m, uint64_t bus, uint64_t len, uint8_t **p)
{
    for (unsigned i = 0; i < m->mem.count; i++) {
        const struct xcv_window *w = &m->win[i];
        if (bus >= w->bus_base && bus - w->bus_base <= w->size &&
            len <= w->size - (bus - w->bus_base)) {
            *p = w->local + (bus - w->bus_base);
            return true;
        }
    }
    return false;
}

/* *_OP_PATCH: the driver rewrites some bytes anywhere in the windows of the memory map: a le16
 * offset, a length byte (% 17), the bytes. */
static inline void fz_patch(struct fz_wins *m, struct fuzz_in *s)
{
    uint16_t off = fin_u16(s);
    uint8_t len = fin_u8(s) % 17u;
    uint8_t buf[16];
    for (unsigned k = 0; k < len; k++)
        buf[k] = fin_u8(s);
    uint32_t total = FZ_WIN1 + (m->two ? FZ_WIN2 : 0u);
    uint32_t o = off % total;
    if (len > total - o)
        len = (uint8_t)(total - o);
    if (o < FZ_WIN1) {
        if (len > FZ_WIN1 - o)
            len = (uint8_t)(FZ_WIN1 - o);
        fz_shadow_write(m, m->w1 + o, buf, len);
    } else {
        fz_shadow_write(m, m->w2 + (o - FZ_WIN1), buf, len);
    }
}

/* DEV_OP_AVAIL_BUMP / IODEV_OP_AVAIL_BUMP: the driver moves the available index of the ring at
 * @p avail_off on by byte % (num + 2). */
static inline void fz_avail_bump(struct fz_wins *m, struct fuzz_in *s, size_t avail_off,
                                 uint16_t num)
{
    uint8_t by = fin_u8(s);
    uint8_t *p = m->w1 + avail_off + 2u;
    fz_shadow_store16(m, p, (uint16_t)(xcv_le16_load(p) + by % (num + 2u)));
}

/* DEV_OP_DESC / IODEV_OP_DESC: the driver writes one split descriptor, field by field. A selector
 * (bit0: entry (sel >> 1) % 32 of the indirect area at FZ_IND_AREA, else entry
 * (@p first + (sel >> 1)) % num of the table at @p desc_off), flags (bits0-2; bit3: the address
 * in window 2), a le16 address inside the window, a le16 length, next. */
static inline void fz_split_any_desc(struct fz_wins *m, struct fuzz_in *s, size_t desc_off,
                                     uint16_t num, uint32_t first)
{
    uint8_t sel = fin_u8(s);
    uint8_t fl = fin_u8(s);
    uint16_t off = fin_u16(s);
    uint16_t len = fin_u16(s);
    uint8_t next = fin_u8(s);
    uint8_t d[XCV_VRING_DESC_SIZE];
    uint64_t base = (fl & 8u) && m->two ? m->win[1].bus_base : m->win[0].bus_base;
    xcv_le64_store(d, base + off);
    xcv_le32_store(d + 8, len);
    xcv_le16_store(d + 12, (uint16_t)(fl & 7u));
    xcv_le16_store(d + 14, next);
    size_t at = (sel & 1u)
                    ? FZ_IND_AREA + ((size_t)(sel >> 1) % 32u) * XCV_VRING_DESC_SIZE
                    : desc_off + (size_t)((first + (sel >> 1)) & (num - 1u)) * XCV_VRING_DESC_SIZE;
    if (at + sizeof d <= FZ_WIN1)
        fz_shadow_write(m, m->w1 + at, d, sizeof d);
}

/* A chain as the reference walk finds it: the segments and their totals. */
struct fz_walk {
    struct {
        void *base;
        uint32_t len;
        bool write;
    } seg[FZ_MAXNUM];
    unsigned n;
    bool seen_write;
    uint64_t out_len;
    uint64_t in_len;
};

/* The next segment of a chain, by the rules of vq_device.h: refused (false) past @p max_chain
 * segments, outside the windows, device-readable after device-writable, or with a total past 32
 * bits. */
static inline bool fz_walk_add(struct fz_walk *w, const struct fz_wins *m, unsigned max_chain,
                               uint64_t addr, uint32_t len, bool write)
{
    uint8_t *p;
    if (w->n >= max_chain || !fz_translate(m, addr, len, &p))
        return false;
    if (write) {
        w->seen_write = true;
        w->in_len += len;
    } else {
        if (w->seen_write)
            return false;
        w->out_len += len;
    }
    if (w->in_len > UINT32_MAX || w->out_len > UINT32_MAX)
        return false;
    w->seg[w->n].base = p;
    w->seg[w->n].len = len;
    w->seg[w->n].write = write;
    w->n++;
    return true;
}

/* Reference walk of the split chain at @p head (< num) of the table at @p desc_off in window 1,
 * written from the rules in vq_device.h and the virtio spec (2.7.5, 2.7.5.3), independently of
 * the library. *@p nring counts the descriptors the chain takes in the ring's table (an indirect
 * table counts as one). Returns whether the chain is valid. */
static inline bool fz_split_walk(const struct fz_wins *m, size_t desc_off, uint16_t num,
                                 bool indirect, unsigned max_chain, uint16_t head,
                                 struct fz_walk *w, uint16_t *nring)
{
    const uint8_t *table = m->w1 + desc_off;
    uint32_t table_len = num;
    uint32_t idx = head;
    bool in_indirect = false;
    memset(w, 0, sizeof *w);
    *nring = 0;
    for (;;) {
        const uint8_t *d = table + (size_t)idx * XCV_VRING_DESC_SIZE;
        uint64_t addr = xcv_le64_load(d);
        uint32_t len = xcv_le32_load(d + 8);
        uint16_t flags = xcv_le16_load(d + 12);
        uint16_t next = xcv_le16_load(d + 14);
        uint8_t *p;
        if (!in_indirect)
            (*nring)++;
        if (flags & XCV_VRING_DESC_F_INDIRECT) {
            if (!indirect || in_indirect || (flags & XCV_VRING_DESC_F_NEXT) || len == 0 ||
                len % XCV_VRING_DESC_SIZE != 0 || !fz_translate(m, addr, len, &p))
                return false;
            table = p;
            table_len = len / XCV_VRING_DESC_SIZE;
            idx = 0;
            in_indirect = true;
            continue;
        }
        if (!fz_walk_add(w, m, max_chain, addr, len, (flags & XCV_VRING_DESC_F_WRITE) != 0))
            return false;
        if (!(flags & XCV_VRING_DESC_F_NEXT))
            break;
        if (next >= table_len)
            return false;
        idx = next;
    }
    return true;
}

/* The chain the library popped is the one the reference walked, at @p head. */
static inline void fz_same_chain(const struct xcv_chain *c, uint16_t head, const struct fz_walk *w)
{
    FUZZ_CHECK(c->head == head);
    FUZZ_CHECK((unsigned)c->n_out + c->n_in == w->n);
    for (unsigned k = 0; k < w->n; k++) {
        FUZZ_CHECK(c->iov[k].base == w->seg[k].base && c->iov[k].len == w->seg[k].len);
        FUZZ_CHECK(w->seg[k].write == (k >= c->n_out));
    }
}

/* Check a chain the device role handed out (1 to @p max_chain segments within the caller's
 * storage, a head below @p num, every segment inside a window, the totals), then use it the way
 * a device model would: read the device-readable bytes, fill the device-writable ones. */
static inline void fz_use_chain(struct fz_wins *m, const struct xcv_chain *c, unsigned max_chain,
                                uint16_t num)
{
    unsigned n = (unsigned)c->n_out + c->n_in;
    FUZZ_CHECK(n >= 1u);
    FUZZ_CHECK(n <= max_chain);
    FUZZ_CHECK(n <= c->cap);
    FUZZ_CHECK(c->head < num);
    uint64_t out = 0, in = 0;
    volatile uint8_t sink = 0;
    for (unsigned k = 0; k < n; k++) {
        FUZZ_CHECK(c->iov[k].base != NULL);
        FUZZ_CHECK(fz_in_window(m, c->iov[k].base, c->iov[k].len));
        if (k < c->n_out) {
            out += c->iov[k].len;
            const uint8_t *p = c->iov[k].base;
            for (uint32_t j = 0; j < c->iov[k].len; j++)
                sink ^= p[j];
        } else {
            in += c->iov[k].len;
            uint8_t fill[64];
            memset(fill, (int)(0xd0u + k), sizeof fill);
            uint8_t *p = c->iov[k].base;
            for (uint32_t j = 0; j < c->iov[k].len; j += (uint32_t)sizeof fill) {
                uint32_t r = c->iov[k].len - j < sizeof fill ? c->iov[k].len - j : sizeof fill;
                fz_shadow_write(m, p + j, fill, r);
            }
        }
    }
    (void)sink;
    FUZZ_CHECK(out == c->out_len);
    FUZZ_CHECK(in == c->in_len);
}

/* Segment storage for a chain, of @p max_chain entries exactly: an iov written past it is
 * caught by AddressSanitizer. */
static inline struct xcv_iov *fz_iov_alloc(uint16_t max_chain)
{
    return fz_alloc(0, sizeof(struct xcv_iov) * max_chain);
}

#define FZ_DEV_BURST_MAX 4u /* chains of one pop_burst */

/* Segment storage for single pops, and for each chain of a burst. */
struct fz_iovs {
    uint16_t max_chain;
    struct xcv_iov *one;
    struct xcv_iov *burst[FZ_DEV_BURST_MAX];
};

static inline void fz_iovs_open(struct fz_iovs *v, uint16_t max_chain)
{
    v->max_chain = max_chain;
    v->one = fz_iov_alloc(max_chain);
    for (unsigned k = 0; k < FZ_DEV_BURST_MAX; k++)
        v->burst[k] = fz_iov_alloc(max_chain);
}

static inline void fz_iovs_close(struct fz_iovs *v)
{
    for (unsigned k = 0; k < FZ_DEV_BURST_MAX; k++)
        free(v->burst[k]);
    free(v->one);
}

/* The chains of a pop_burst, each with its own storage. */
static inline void fz_burst_chains(const struct fz_iovs *v, struct xcv_chain c[FZ_DEV_BURST_MAX])
{
    for (unsigned k = 0; k < FZ_DEV_BURST_MAX; k++)
        c[k] = (struct xcv_chain){.iov = v->burst[k], .cap = v->max_chain};
}

/* The device model's answer inside xcv_vq_device_process, from the script's next byte m: with
 * m % 4 of 0 or 1, 0 with m / 255 of the writable bytes in *@p written (the library pushes the
 * chain); 2, 1 (the chain is kept, pushed later); 3, XCV_EIO (the call stops, the library
 * pushes the chain with 0 bytes). */
static inline int fz_handler_answer(struct fuzz_in *script, const struct xcv_chain *chain,
                                    uint32_t *written)
{
    uint8_t mode = fin_u8(script);
    switch (mode % 4u) {
    case 0:
    case 1:
        *written = fz_part(chain->in_len, mode);
        return 0;
    case 2:
        return 1;
    default:
        return XCV_EIO;
    }
}

/* The sizes of the three ring areas of a split or @p packed ring. */
static inline void fz_dev_area_bytes(uint16_t num, bool packed, size_t len[3])
{
    len[0] = XCV_VRING_DESC_BYTES(num);
    len[1] = packed ? XCV_VRING_PACKED_EVENT_BYTES : XCV_VRING_AVAIL_BYTES(num);
    len[2] = packed ? XCV_VRING_PACKED_EVENT_BYTES : XCV_VRING_USED_BYTES(num);
}

/* Whether the three ring areas are disjoint. */
static inline bool fz_dev_areas_disjoint(const struct fz_dev_input *h, bool packed)
{
    size_t len[3];
    fz_dev_area_bytes(h->num, packed, len);
    for (unsigned i = 0; i < 3u; i++)
        for (unsigned j = i + 1u; j < 3u; j++)
            if (!(h->off[i] + len[i] <= h->off[j] || h->off[j] + len[j] <= h->off[i]))
                return false;
    return true;
}

/* Init's answer @p r to the layout of @p h: XCV_OK and a healthy queue with nothing in flight when
 * every area lies inside window 1, is aligned (16, then 2 and 4 for a split ring, 4 and 4 for a
 * packed one) and overlaps no other; else a layout error (XCV_EPROTO_LAYOUT for areas that
 * overlap) and nothing written. Returns whether it accepted. */
static inline bool fz_dev_init_answer(struct xcv_vq_device *q, int r, const struct fz_wins *m,
                                      const struct fz_dev_input *h, bool packed)
{
    const size_t align[3] = {16u, packed ? 4u : 2u, 4u};
    size_t len[3];
    fz_dev_area_bytes(h->num, packed, len);
    bool ok = true;
    for (unsigned i = 0; i < 3u; i++)
        ok = ok && h->off[i] + len[i] <= FZ_WIN1 && h->off[i] % align[i] == 0;
    if (!ok) {
        FUZZ_CHECK(r == XCV_EPROTO_LAYOUT || r == XCV_EPROTO_WINDOW || r == XCV_EPROTO_OVERFLOW);
    } else if (!fz_dev_areas_disjoint(h, packed)) {
        FUZZ_CHECK(r == XCV_EPROTO_LAYOUT);
    } else {
        FUZZ_CHECK(r == XCV_OK);
        FUZZ_CHECK(xcv_vq_device_broken(q) == 0 && xcv_vq_device_in_flight(q) == 0);
        return true;
    }
    FUZZ_CHECK(memcmp(m->w1, m->shadow1, FZ_WIN1) == 0); /* init wrote nothing */
    return false;
}

/* xcv_vq_device_init over the windows of @p m with the layout of @p h, @p features, the port
 * @p p (doorbell 7) and slots returned in *@p slots (for free()); returns whether init accepted
 * the layout, as fz_dev_init_answer checks. */
static inline bool fz_dev_open(struct xcv_vq_device *q, struct fz_port *p, const struct fz_wins *m,
                               const struct fz_dev_input *h, uint64_t features, bool polled,
                               bool packed, struct xcv_vq_dev_slot **slots)
{
    *slots = fz_alloc(0, XCV_VQ_DEVICE_SLOTS_BYTES(h->num));
    const struct xcv_vq_device_config vc = {
        .mem = &m->mem,
        .num = h->num,
        .desc_bus = h->bus1 + h->off[0],
        .avail_bus = h->bus1 + h->off[1],
        .used_bus = h->bus1 + h->off[2],
        .features = features,
        .max_chain = h->mc,
        .slots = *slots,
        .port = fz_port_open(p, 7),
        .doorbell = 7,
        .polled = polled,
    };
    int r = xcv_vq_device_init(q, &vc);
    return fz_dev_init_answer(q, r, m, h, packed);
}

/* Transport reset: a healthy queue with nothing in flight. */
static inline void fz_dev_reset(struct xcv_vq_device *q)
{
    xcv_vq_device_reset(q);
    FUZZ_CHECK(xcv_vq_device_broken(q) == 0);
    FUZZ_CHECK(xcv_vq_device_in_flight(q) == 0);
}

/* ---- Driver-role harnesses: a hostile device ---- */

#define FZ_RING_BUS UINT64_C(0x10000) /* the ring's bus address */
#define FZ_IND_BUS UINT64_C(0x40000)  /* the indirect area's */
#define FZ_DATA_BUS UINT64_C(0x80000) /* the data buffers' */
#define FZ_DATA_BYTES 4096u
#define FZ_DRV_BURST_MAX 8u /* chains of one add_burst or get_used_burst */

/* The input header of the driver-role harnesses: a config byte (returned), the queue size
 * 1 << (byte % 6). */
static inline uint8_t fz_drv_input(struct fuzz_in *in, uint16_t *num)
{
    uint8_t cfg = fin_u8(in);
    *num = (uint16_t)(1u << (fin_u8(in) % 6u));
    return cfg;
}

/* Ring memory as the driver finds it before init, which must zero what it uses. */
static inline uint8_t *fz_ring_alloc(size_t bytes)
{
    uint8_t *ring = fz_alloc(XCV_CACHE_LINE_DEFAULT, bytes);
    memset(ring, 0xee, bytes);
    return ring;
}

/* A driver queue just initialised or reset: healthy, nothing in flight, every descriptor free,
 * and the first @p zeroed bytes of the ring memory zero. */
static inline void fz_drv_clean(struct xcv_vq_driver *q, uint16_t num, const uint8_t *ring,
                                size_t zeroed)
{
    FUZZ_CHECK(xcv_vq_driver_broken(q) == 0);
    FUZZ_CHECK(xcv_vq_driver_in_flight(q) == 0);
    FUZZ_CHECK(xcv_vq_driver_num_free(q) == num);
    for (size_t i = 0; i < zeroed; i++)
        FUZZ_CHECK(ring[i] == 0);
}

/* The data buffers (FZ_DATA_BYTES at FZ_DATA_BUS): a pattern nobody may write, and its copy. */
struct fz_data {
    uint8_t *data;
    uint8_t *copy;
};

static inline void fz_data_open(struct fz_data *d)
{
    d->data = fz_alloc(0, FZ_DATA_BYTES);
    d->copy = fz_alloc(0, FZ_DATA_BYTES);
    for (unsigned i = 0; i < FZ_DATA_BYTES; i++)
        d->data[i] = (uint8_t)(i * 7u);
    memcpy(d->copy, d->data, FZ_DATA_BYTES);
}

static inline void fz_data_close(struct fz_data *d)
{
    free(d->data);
    free(d->copy);
}

/* After every step: the queue reports the model's error and chains in flight, and nobody wrote
 * the data buffers. */
static inline void fz_drv_step_checks(struct xcv_vq_driver *q, int broken, unsigned outstanding,
                                      const struct fz_data *d)
{
    FUZZ_CHECK(xcv_vq_driver_broken(q) == broken);
    FUZZ_CHECK(xcv_vq_driver_in_flight(q) == outstanding);
    FUZZ_CHECK(memcmp(d->data, d->copy, FZ_DATA_BYTES) == 0);
}

/* The segments of a chain in the data buffers, @p stride apart, of 1 to 256 bytes (a length
 * byte each). */
static inline void fz_sg_fill(struct fuzz_in *s, struct xcv_sg *sg, unsigned n, uint32_t stride)
{
    for (unsigned k = 0; k < n; k++) {
        sg[k].addr = FZ_DATA_BUS + k * stride;
        sg[k].len = 1u + fin_u8(s);
    }
}

/* A chain's shape byte: bits0-2 device-readable segments, bits3-5 device-writable ones; no
 * segment at all means one device-readable. Returns the segment count. */
static inline unsigned fz_shape(uint8_t shape, unsigned *n_out, unsigned *n_in)
{
    *n_out = shape & 7u;
    *n_in = (shape >> 3) & 7u;
    if (*n_out + *n_in == 0)
        *n_out = 1;
    return *n_out + *n_in;
}

/* The in-order harnesses' shape byte: 1 to 3 segments (bits0-1), the device-writable ones last
 * (bits2-3, modulo the count + 1). Returns the segment count. */
static inline unsigned fz_shape3(uint8_t shape, unsigned *n_out, unsigned *n_in)
{
    unsigned n = 1u + (shape & 3u) % 3u;
    *n_in = ((shape >> 2) & 3u) % (n + 1u);
    *n_out = n - *n_in;
    return n;
}

/* The length a hostile device writes in a used entry, by mode byte @p lm: with bit7 a le32 from
 * the input, else @p wlen less (lm & 0x3f), plus one with bit6. */
static inline uint32_t fz_hostile_len(struct fuzz_in *s, uint8_t lm, uint32_t wlen)
{
    if (lm & 0x80u)
        return fin_u32(s);
    uint32_t less = lm & 0x3fu;
    return (wlen > less ? wlen - less : 0u) + ((lm & 0x40u) ? 1u : 0u);
}

/* A chain the driver posted, as the model knows it; its address is the token. */
enum fz_tok_state {
    FZ_TOK_FREE,
    FZ_TOK_OUT,
    FZ_TOK_DONE
};

struct fz_tok {
    enum fz_tok_state state;
    uint16_t id;    /* what a used entry names it by: the head (split) or the buffer id (packed) */
    uint16_t ndesc; /* ring descriptors the chain takes */
    uint32_t wlen;  /* device-writable bytes posted */
    bool published;
    bool dev_done;    /* the well-behaved device has used it */
    uint32_t dev_len; /* the length it reported */
};

struct fz_toks {
    struct fz_tok tok[FZ_MAXNUM];
    unsigned outstanding;
    uint64_t posted;
    uint64_t returned;
};

/* A token not outstanding, or NULL when all FZ_MAXNUM are. */
static inline struct fz_tok *fz_tok_free(struct fz_toks *t)
{
    for (unsigned i = 0; i < FZ_MAXNUM; i++)
        if (t->tok[i].state != FZ_TOK_OUT)
            return &t->tok[i];
    FUZZ_CHECK(t->outstanding == FZ_MAXNUM);
    return NULL;
}

/* The outstanding token named @p id, or NULL. */
static inline struct fz_tok *fz_tok_by_id(struct fz_toks *t, uint32_t id)
{
    for (unsigned i = 0; i < FZ_MAXNUM; i++)
        if (t->tok[i].state == FZ_TOK_OUT && t->tok[i].id == id)
            return &t->tok[i];
    return NULL;
}

/* The library took the chain of token @p k. */
static inline void fz_tok_post(struct fz_toks *t, struct fz_tok *k, uint16_t id, uint16_t ndesc,
                               uint32_t wlen)
{
    k->state = FZ_TOK_OUT;
    k->id = id;
    k->ndesc = ndesc;
    k->wlen = wlen;
    k->published = false;
    k->dev_done = false;
    k->dev_len = 0;
    t->outstanding++;
    t->posted++;
}

/* A token the library gave back (get_used, detach_unused): one of ours, outstanding; done now. */
static inline struct fz_tok *fz_tok_back(struct fz_toks *t, void *token)
{
    struct fz_tok *k = token;
    FUZZ_CHECK(k >= t->tok && k < t->tok + FZ_MAXNUM);
    FUZZ_CHECK(k->state == FZ_TOK_OUT); /* never twice, never one not posted */
    k->state = FZ_TOK_DONE;
    t->outstanding--;
    t->returned++;
    return k;
}

/* *_OP_ADD_BURST: a count byte (% (FZ_DRV_BURST_MAX + 1); bit7: device-writable buffers) and a
 * length byte per buffer, one free token each. add_burst posts as many as the @p nf descriptors
 * the model has free allow, or refuses with XCV_ENOSPC when none is. Returns how many it posted,
 * their segments in @p sg and their tokens in @p ts. */
static inline unsigned fz_add_burst(struct xcv_vq_driver *q, struct fuzz_in *s, struct fz_toks *t,
                                    unsigned nf, bool broken, struct xcv_sg *sg, struct fz_tok **ts,
                                    bool *writable)
{
    uint8_t b = fin_u8(s);
    unsigned n = b % (FZ_DRV_BURST_MAX + 1u);
    void *tokens[FZ_DRV_BURST_MAX];
    unsigned have = 0;
    *writable = (b & 0x80u) != 0;
    for (unsigned i = 0; i < FZ_MAXNUM && have < n; i++) {
        if (t->tok[i].state != FZ_TOK_OUT)
            ts[have++] = &t->tok[i];
    }
    n = have;
    fz_sg_fill(s, sg, n, FZ_DATA_BYTES / FZ_DRV_BURST_MAX);
    for (unsigned k = 0; k < n; k++)
        tokens[k] = ts[k];
    int r = xcv_vq_driver_add_burst(q, sg, n, *writable, tokens);
    if (fz_stays_broken(broken, r))
        return 0;
    if (n != 0 && nf == 0) {
        FUZZ_CHECK(r == XCV_ENOSPC);
        return 0;
    }
    FUZZ_CHECK(r == (int)(n < nf ? n : nf));
    return (unsigned)r;
}

/* A driver-role harness's model, as the shared operations below see it. */
struct fz_drv_model {
    struct xcv_vq_driver *q;
    const struct fz_port *port;
    const int *broken; /* the protocol error the model has seen, or 0 */
    void *x;           /* the harness's context, passed to the functions below */
    /* What get_used must do now: XCV_OK with the token and length in *want and *want_len,
     * XCV_EAGAIN, XCV_EBROKEN or the protocol error the used ring calls for. */
    int (*expect)(void *x, struct fz_tok **want, uint32_t *want_len);
    /* Check a token get_used handed back against the expected one, and take it. */
    void (*take)(void *x, void *token, uint32_t len, struct fz_tok *want, uint32_t want_len);
    /* The queue broke with this protocol error; the log count before the call. */
    void (*broke)(void *x, int r, unsigned logs_before);
    /* What publish must return (the chains it makes available), and kick_prepare after it
     * (1, 0, or -1 when either is right); both update the model. */
    int (*publish)(void *x);
    int (*kick)(void *x);
};

/* *_OP_PUBLISH: publish returns what the model publishes. */
static inline void fz_publish(const struct fz_drv_model *m)
{
    int r = xcv_vq_driver_publish(m->q);
    FUZZ_CHECK(r == (*m->broken ? XCV_EBROKEN : m->publish(m->x)));
}

/* *_OP_KICK_PREPARE: a byte (bit0: kick through the port, else kick_prepare). The answer, after
 * publishing, is the model's; kick rings the doorbell exactly when it is 1. */
static inline void fz_kick(const struct fz_drv_model *m, struct fuzz_in *s)
{
    bool kick = (fin_u8(s) & 1u) != 0;
    unsigned before = m->port->notifies;
    int r = kick ? xcv_vq_driver_kick(m->q) : xcv_vq_driver_kick_prepare(m->q);
    if (fz_stays_broken(*m->broken != 0, r))
        return;
    m->publish(m->x);
    fz_notify_answer(r, m->kick(m->x));
    FUZZ_CHECK(m->port->notifies == before + (kick ? (unsigned)r : 0u));
}

/* get_used once: it does what the model expects. */
static inline void fz_get_used(const struct fz_drv_model *m)
{
    unsigned logs = m->port->logs;
    struct fz_tok *want = NULL;
    uint32_t want_len = 0;
    int ref = m->expect(m->x, &want, &want_len);
    void *token = NULL;
    uint32_t len = 0;
    int r = xcv_vq_driver_get_used(m->q, &token, &len);
    FUZZ_CHECK(r == ref);
    if (r == XCV_OK)
        m->take(m->x, token, len, want, want_len);
    else if (r != XCV_EAGAIN && r != XCV_EBROKEN)
        m->broke(m->x, r, logs);
}

/* *_OP_GET_USED: a byte, then get_used 1 + byte % (num + 2) times. */
static inline void fz_get_used_n(const struct fz_drv_model *m, struct fuzz_in *s, uint16_t num)
{
    unsigned k = 1u + fin_u8(s) % (num + 2u);
    for (unsigned i = 0; i < k; i++)
        fz_get_used(m);
}

/* *_OP_GET_USED_BURST: a byte, get_used_burst of up to byte % (FZ_DRV_BURST_MAX + 1) chains: each
 * token is the one the model expects at that point; when fewer come back, the model expects
 * none after them, and the result is its error only when none came back. */
static inline void fz_get_used_burst(const struct fz_drv_model *m, struct fuzz_in *s)
{
    unsigned n = fin_u8(s) % (FZ_DRV_BURST_MAX + 1u);
    void *tokens[FZ_DRV_BURST_MAX];
    uint32_t lens[FZ_DRV_BURST_MAX];
    unsigned logs = m->port->logs;
    int r = xcv_vq_driver_get_used_burst(m->q, tokens, lens, n);
    if (fz_stays_broken(*m->broken != 0, r))
        return;
    FUZZ_CHECK(r <= (int)n);
    unsigned got = r > 0 ? (unsigned)r : 0u;
    for (unsigned k = 0; k < got; k++) {
        struct fz_tok *want = NULL;
        uint32_t want_len = 0;
        FUZZ_CHECK(m->expect(m->x, &want, &want_len) == XCV_OK);
        m->take(m->x, tokens[k], lens[k], want, want_len);
    }
    if (got < n) {
        struct fz_tok *want = NULL;
        uint32_t want_len = 0;
        int ref = m->expect(m->x, &want, &want_len);
        FUZZ_CHECK(ref != XCV_OK);
        FUZZ_CHECK(r == (got == 0 && ref != XCV_EAGAIN ? ref : (int)got));
        if (ref != XCV_EAGAIN)
            m->broke(m->x, ref, logs); /* the entry after the last taken broke the queue */
    }
}

/* Reset with chains outstanding refuses and changes nothing (the ring memory still @p image). */
static inline void fz_drv_reset_early(struct xcv_vq_driver *q, unsigned outstanding, int broken,
                                      const uint8_t *ring, const uint8_t *image, size_t bytes)
{
    int r = xcv_vq_driver_reset(q);
    if (outstanding != 0) {
        FUZZ_CHECK(r == XCV_ESTATE);
        FUZZ_CHECK(xcv_vq_driver_broken(q) == broken);
        FUZZ_CHECK(memcmp(ring, image, bytes) == 0);
    } else {
        FUZZ_CHECK(r == XCV_OK);
    }
}

/* Recovery: detach_unused gives back every outstanding token (each once, at most @p limit of
 * them) and then XCV_EAGAIN, so that over the whole run every posted token came back exactly
 * once; then reset succeeds. */
static inline void fz_drv_recover(struct xcv_vq_driver *q, struct fz_toks *t, unsigned limit)
{
    void *token;
    unsigned detached = 0;
    int r;
    while ((r = xcv_vq_driver_detach_unused(q, &token)) == XCV_OK) {
        fz_tok_back(t, token);
        FUZZ_CHECK(++detached <= limit);
    }
    FUZZ_CHECK(r == XCV_EAGAIN);
    FUZZ_CHECK(t->outstanding == 0);
    FUZZ_CHECK(t->returned == t->posted); /* every posted token exactly once */
    FUZZ_CHECK(xcv_vq_driver_in_flight(q) == 0);
    FUZZ_CHECK(xcv_vq_driver_reset(q) == XCV_OK);
}

#endif /* XCV_TEST_FUZZ_RING_H */
