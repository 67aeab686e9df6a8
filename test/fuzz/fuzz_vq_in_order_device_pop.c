/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: the device role of a split virtqueue with VIRTIO_F_IN_ORDER (virtio 1.2,
 * 2.7.5 and 2.7.9) facing a hostile driver.
 *
 * The input is the shared memory the driver controls (descriptor table, available ring,
 * indirect tables, data) plus a script of device-side calls interleaved with further driver
 * writes: arbitrary descriptors, available indices and garbage in the available slots, and
 * well-formed chains offered in table order, as an in-order driver writes them. Input format
 * (see gen_seeds.c, which writes the seed corpus):
 *
 *   byte 0     config: bit0 EVENT_IDX, bit1 INDIRECT_DESC, bit2 a second window,
 *              bit3 ring areas at offsets given below (else the standard layout at offset 0),
 *              bits4-5 bus base of window 1 (0, 0x1000, 0x80000000, near the top of 2^64),
 *              bit6 a polled queue
 *   byte 1     queue size: 1 << (byte % 6)
 *   byte 2     max_chain: byte % (size + 1)   (0 means the queue size)
 *   bytes 3-4  L, the length of the script (le16)
 *   [6 bytes]  with bit3: le16 offsets of desc, avail and used inside window 1
 *   L bytes    the script: one opcode byte per step plus its arguments
 *              (enum iodev_op in fuzz_common.h)
 *   rest       the initial contents of window 1 (WIN1 bytes), then window 2 (WIN2 bytes)
 *
 * The harness keeps a model of the queue written from the spec and vq_device.h, independently
 * of the library: the available index acquired and the chains popped since reset, the table
 * position of the next head (the previous head plus the ring descriptors of the previous chain,
 * modulo the size; the available slots are never looked at), the chains in flight oldest first,
 * the used index, the run of pushes whose entry is not written yet, and a byte image of the
 * windows. A reference walk decides for every pop what the driver's descriptors allow.
 * Invariants checked after every step:
 * - a chain is popped exactly when the reference accepts it, at the head the in-order rule
 *   gives, with the same segments and totals; every iov lies inside a window (the buffers are
 *   read and written, so one outside the heap-allocated windows is caught by AddressSanitizer
 *   too) and n_out + n_in <= max_chain; an available index moved by more than the queue size
 *   and a head still in flight are refused with AVAIL_IDX and HEAD;
 * - push succeeds exactly for the oldest chain in flight with a length within its writable
 *   bytes; any other push is XCV_EINVAL and leaves the queue healthy;
 * - after publish the used ring holds exactly one entry per run of pushes whose all but last
 *   had length 0, at the run's first position, naming the run's last head with its length;
 *   the positions the runs skip are untouched, and the used index is the number of chains
 *   pushed; publish, should_notify, flush and enable_notify return what the model predicts;
 * - the device writes nothing else than the used ring and its own notification fields;
 * - after a protocol error the queue reports it, the log hook saw it once, and every later call
 *   returns XCV_EBROKEN until reset.
 *
 * The three ring areas must be disjoint for the byte-exact model; the library does not require
 * it, so a layout where they overlap only has its init checked.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#include "fuzz_common.h"

#define WIN1 2048u
#define WIN2 512u
#define MAXNUM 32u
#define BURST_MAX 4u
#define DATA_OFF 0x400u /* where IODEV_OP_OFFER places its buffers in window 1 */
#define IND_AREA 0x600u /* where IODEV_OP_DESC and IODEV_OP_OFFER place indirect tables */
#define IND_TABLES 8u   /* IODEV_OP_OFFER: tables of 4 descriptors at IND_AREA */

struct popped {
    uint16_t head;
    uint16_t ndesc; /* ring descriptors of the chain */
    uint32_t in_len;
    uint32_t c; /* free-running table position of its head */
};

struct ctx {
    struct xcv_vq_device q;
    struct xcv_window win[2];
    struct xcv_memmap mem;
    uint8_t *w1;
    uint8_t *w2;
    uint8_t *shadow1; /* the model's image of window 1 */
    uint8_t *shadow2;
    uint8_t *scratch; /* window 1 image with the unpublished used entries taken as they are */
    bool two_windows;
    bool event_idx;
    bool indirect;
    bool polled;
    uint16_t num;
    uint16_t mask;
    uint16_t max_chain; /* effective */
    size_t desc_off;
    size_t avail_off;
    size_t used_off;
    /* The model. */
    uint16_t last_avail; /* chains popped since reset */
    uint16_t avail_seen; /* the available index last acquired */
    uint32_t next_c;     /* free-running table position of the next head */
    struct popped fifo[MAXNUM];
    unsigned fifo_head;
    unsigned n_pop;
    uint32_t push_c;     /* free-running position after the chains pushed */
    uint16_t used_count; /* chains pushed since reset */
    uint16_t used_pub;   /* used_count at the last publish */
    uint16_t signalled;  /* used_pub at the last notification decision */
    bool run_open;       /* a run of pushes whose entry is not written yet */
    uint16_t run_pos;
    uint16_t run_id;
    uint32_t run_len;
    int broken; /* the protocol error seen, or 0 */
    unsigned notifies;
    unsigned logs;
    int last_log_err;
    int proc_err; /* XCV_EINVAL when a push inside process was out of order */
    /* The racing driver (IODEV_OP_OFFER). */
    uint32_t drv_c;      /* free-running table position of its next descriptor */
    uint32_t drv_free_c; /* descriptors before this one came back (used and published) */
    uint16_t drv_avail;  /* its available index */
    struct fuzz_in *script;
};

static int port_notify(void *c, uint32_t doorbell)
{
    struct ctx *x = c;
    FUZZ_CHECK(doorbell == 7u);
    x->notifies++;
    return XCV_OK;
}

static void port_log(void *c, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    struct ctx *x = c;
    (void)level;
    (void)id;
    FUZZ_CHECK(what != NULL);
    x->logs++;
    x->last_log_err = err;
}

static const struct xcv_port_ops g_ops = {.notify = port_notify, .log = port_log};

static bool in_window(const struct ctx *x, const void *p, uint32_t len)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t b1 = (uintptr_t)x->w1;
    if (a >= b1 && a <= b1 + WIN1 && len <= b1 + WIN1 - a)
        return true;
    if (x->two_windows) {
        uintptr_t b2 = (uintptr_t)x->w2;
        if (a >= b2 && a <= b2 + WIN2 && len <= b2 + WIN2 - a)
            return true;
    }
    return false;
}

static uint8_t *shadow_of(struct ctx *x, uint8_t *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a >= (uintptr_t)x->w1 && a < (uintptr_t)x->w1 + WIN1)
        return x->shadow1 + (a - (uintptr_t)x->w1);
    return x->shadow2 + (a - (uintptr_t)x->w2);
}

/* A harness (driver or device model) write: into the window and the model's image. */
static void shadow_write(struct ctx *x, uint8_t *p, const uint8_t *src, size_t len)
{
    memcpy(p, src, len);
    memcpy(shadow_of(x, p), src, len);
}

static void shadow_store16(struct ctx *x, uint8_t *p, uint16_t v)
{
    uint8_t b[2];
    xcv_le16_store(b, v);
    shadow_write(x, p, b, 2);
}

/* Writes the device role is expected to make: into the model's image only. */
static void expect16(struct ctx *x, size_t off, uint16_t v)
{
    xcv_le16_store(x->shadow1 + off, v);
}

/* A field whose value is the device's choice (a hint): the image takes what is there. */
static void any16(struct ctx *x, size_t off)
{
    memcpy(x->shadow1 + off, x->w1 + off, 2);
}

static size_t used_entry_off(const struct ctx *x, uint16_t pos)
{
    return x->used_off + 4u + 8u * (size_t)(pos & x->mask);
}

static size_t avail_event_off(const struct ctx *x)
{
    return x->used_off + 4u + 8u * (size_t)x->num;
}

static size_t used_event_off(const struct ctx *x)
{
    return x->avail_off + 4u + 2u * (size_t)x->num;
}

static uint16_t avail_idx(const struct ctx *x)
{
    return xcv_le16_load(x->w1 + x->avail_off + 2u);
}

static struct popped *fifo_at(struct ctx *x, unsigned k)
{
    FUZZ_CHECK(k < x->n_pop);
    return &x->fifo[(x->fifo_head + k) % MAXNUM];
}

static bool head_in_flight(struct ctx *x, uint16_t head)
{
    for (unsigned k = 0; k < x->n_pop; k++)
        if (fifo_at(x, k)->head == head)
            return true;
    return false;
}

/*
 * Reference check of the chain at @p head, written from the rules in vq_device.h and the virtio
 * spec (2.7.5, 2.7.5.3), independently of the library: the harness's oracle. Counts in @p nring
 * the descriptors the chain takes in the ring's table (an indirect table counts as one).
 */
struct ref_seg {
    void *base;
    uint32_t len;
    bool write;
};

struct ref_chain {
    struct ref_seg seg[MAXNUM];
    unsigned n;
    uint16_t head;
    uint16_t nring;
};

enum ref_result {
    REF_EMPTY,
    REF_OK,
    REF_AVAIL_IDX, /* the available index moved by more than the queue size */
    REF_HEAD,      /* the head is still in flight */
    REF_REFUSE     /* any other reason the chain is invalid */
};

static bool ref_translate(const struct ctx *x, uint64_t bus, uint64_t len, uint8_t **p)
{
    for (unsigned i = 0; i < x->mem.count; i++) {
        const struct xcv_window *w = &x->win[i];
        if (bus >= w->bus_base && bus - w->bus_base <= w->size &&
            len <= w->size - (bus - w->bus_base)) {
            *p = w->local + (bus - w->bus_base);
            return true;
        }
    }
    return false;
}

static bool ref_walk(const struct ctx *x, uint16_t head, struct ref_chain *rc)
{
    const uint8_t *table = x->w1 + x->desc_off;
    uint32_t table_len = x->num;
    uint32_t idx = head;
    bool in_indirect = false;
    bool seen_write = false;
    uint64_t out_len = 0, in_len = 0;
    unsigned n = 0;
    uint16_t nring = 0;
    for (;;) {
        const uint8_t *d = table + (size_t)idx * XCV_VRING_DESC_SIZE;
        uint64_t addr = xcv_le64_load(d);
        uint32_t len = xcv_le32_load(d + 8);
        uint16_t flags = xcv_le16_load(d + 12);
        uint16_t next = xcv_le16_load(d + 14);
        uint8_t *p;
        if (!in_indirect)
            nring++;
        if (flags & XCV_VRING_DESC_F_INDIRECT) {
            if (!x->indirect || in_indirect || (flags & XCV_VRING_DESC_F_NEXT) || len == 0 ||
                len % XCV_VRING_DESC_SIZE != 0 || !ref_translate(x, addr, len, &p))
                return false;
            table = p;
            table_len = len / XCV_VRING_DESC_SIZE;
            idx = 0;
            in_indirect = true;
            continue;
        }
        if (n >= x->max_chain || !ref_translate(x, addr, len, &p))
            return false;
        if (flags & XCV_VRING_DESC_F_WRITE) {
            seen_write = true;
            in_len += len;
        } else {
            if (seen_write)
                return false;
            out_len += len;
        }
        if (in_len > UINT32_MAX || out_len > UINT32_MAX)
            return false;
        rc->seg[n].base = p;
        rc->seg[n].len = len;
        rc->seg[n].write = (flags & XCV_VRING_DESC_F_WRITE) != 0;
        n++;
        if (!(flags & XCV_VRING_DESC_F_NEXT))
            break;
        if (next >= table_len)
            return false;
        idx = next;
    }
    rc->n = n;
    rc->head = head;
    rc->nring = nring;
    return true;
}

/* What the next pop finds: acquires the available index when every entry the last
 * acquisition covered is popped (the index is read once per batch), then walks the chain at
 * the in-order head. */
static enum ref_result ref_pop(struct ctx *x, struct ref_chain *rc)
{
    if (x->last_avail == x->avail_seen) {
        uint16_t idx = avail_idx(x);
        if ((uint16_t)(idx - x->last_avail) > x->num)
            return REF_AVAIL_IDX;
        if (idx == x->last_avail)
            return REF_EMPTY;
        x->avail_seen = idx;
    }
    uint16_t head = (uint16_t)(x->next_c & x->mask);
    if (head_in_flight(x, head))
        return REF_HEAD;
    return ref_walk(x, head, rc) ? REF_OK : REF_REFUSE;
}

/* enable_notify as the model sees it: the request written, then the index checked. */
static int model_enable(struct ctx *x)
{
    if (x->event_idx)
        expect16(x, avail_event_off(x), x->last_avail);
    else
        expect16(x, x->used_off, 0); /* NO_NOTIFY cleared */
    uint16_t idx = avail_idx(x);
    if ((uint16_t)(idx - x->last_avail) > x->num)
        return XCV_EPROTO_AVAIL_IDX;
    return idx != x->last_avail ? 1 : 0;
}

/* The next chain, for a pop that re-arms notifications when the ring is dry (@p arm). */
static enum ref_result ref_next(struct ctx *x, bool arm, struct ref_chain *rc)
{
    enum ref_result k = ref_pop(x, rc);
    if (k != REF_EMPTY || !arm || x->polled)
        return k;
    int e = model_enable(x);
    if (e < 0)
        return REF_AVAIL_IDX;
    return e == 0 ? REF_EMPTY : ref_pop(x, rc);
}

static bool is_device_proto(int r)
{
    return r == XCV_EPROTO_AVAIL_IDX || r == XCV_EPROTO_HEAD || r == XCV_EPROTO_NEXT ||
           r == XCV_EPROTO_CHAIN_LEN || r == XCV_EPROTO_INDIRECT || r == XCV_EPROTO_INDIRECT_LEN ||
           r == XCV_EPROTO_FEATURE || r == XCV_EPROTO_WRITE_ORDER || r == XCV_EPROTO_OVERFLOW ||
           r == XCV_EPROTO_WINDOW;
}

/* A protocol error: it must be sticky, and reported once through the log hook. */
static void saw_error(struct ctx *x, int r, unsigned logs_before)
{
    FUZZ_CHECK(is_device_proto(r));
    FUZZ_CHECK(x->broken == 0);
    x->broken = r;
    FUZZ_CHECK(xcv_vq_device_broken(&x->q) == r);
    FUZZ_CHECK(x->logs == logs_before + 1u && x->last_log_err == r);
}

/* The library popped @p c: it must be the chain the reference accepts; the model takes it. */
static void accept_pop(struct ctx *x, enum ref_result k, const struct ref_chain *rc,
                       const struct xcv_chain *c)
{
    FUZZ_CHECK(k == REF_OK); /* else: accepted a chain the rules refuse */
    FUZZ_CHECK(c->head == rc->head);
    FUZZ_CHECK((unsigned)c->n_out + c->n_in == rc->n);
    for (unsigned i = 0; i < rc->n; i++) {
        FUZZ_CHECK(c->iov[i].base == rc->seg[i].base && c->iov[i].len == rc->seg[i].len);
        FUZZ_CHECK(rc->seg[i].write == (i >= c->n_out));
    }
    FUZZ_CHECK(x->n_pop < x->num);
    struct popped *p = &x->fifo[(x->fifo_head + x->n_pop) % MAXNUM];
    p->head = rc->head;
    p->ndesc = rc->nring;
    p->in_len = c->in_len;
    p->c = x->next_c;
    x->n_pop++;
    x->next_c += rc->nring; /* 2.7.5: the next head follows the chain's last descriptor */
    x->last_avail++;
}

/* The library popped nothing (EAGAIN) or refused a chain (@p r, a protocol error). */
static void expect_no_pop(struct ctx *x, int r, enum ref_result k, unsigned logs_before)
{
    if (r == XCV_EAGAIN) {
        FUZZ_CHECK(k == REF_EMPTY);
        return;
    }
    if (k == REF_AVAIL_IDX)
        FUZZ_CHECK(r == XCV_EPROTO_AVAIL_IDX);
    else if (k == REF_HEAD)
        FUZZ_CHECK(r == XCV_EPROTO_HEAD);
    else
        FUZZ_CHECK(k == REF_REFUSE && r != XCV_EPROTO_AVAIL_IDX && r != XCV_EPROTO_HEAD);
    saw_error(x, r, logs_before);
}

/* Check a chain the device role handed out, then use it the way a device model would. */
static void check_chain(struct ctx *x, const struct xcv_chain *c)
{
    unsigned n = (unsigned)c->n_out + c->n_in;
    FUZZ_CHECK(n >= 1u);
    FUZZ_CHECK(n <= x->max_chain);
    FUZZ_CHECK(n <= c->cap);
    FUZZ_CHECK(c->head < x->num);
    uint64_t out = 0, in = 0;
    volatile uint8_t sink = 0;
    for (unsigned k = 0; k < n; k++) {
        FUZZ_CHECK(c->iov[k].base != NULL);
        FUZZ_CHECK(in_window(x, c->iov[k].base, c->iov[k].len));
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
                uint32_t m = c->iov[k].len - j < sizeof fill ? c->iov[k].len - j : sizeof fill;
                shadow_write(x, p + j, fill, m);
            }
        }
    }
    (void)sink;
    FUZZ_CHECK(out == c->out_len);
    FUZZ_CHECK(in == c->in_len);
}

/* A run's one used entry, written when the run ends: when the next push cannot join it, or at
 * publish. (The harness's own buffer writes may land on the used ring afterwards, where a
 * hostile driver placed a buffer; the image then follows the same order of writes.) */
static void exp_entry(struct ctx *x, uint16_t pos, uint16_t id, uint32_t len)
{
    uint8_t *e = x->shadow1 + used_entry_off(x, pos);
    xcv_le32_store(e, id);
    xcv_le32_store(e + 4, len);
}

/*
 * What push must return; on success the model takes the chain. 2.7.9 and vq_device.h: chains
 * are pushed in pop order, and a push joins the open run when the run's last chain had used
 * length 0 (the run's one entry then names this chain); otherwise the open run's entry is
 * settled and this push opens a run at its own position.
 */
static int model_push(struct ctx *x, uint16_t head, uint32_t len)
{
    if (x->broken)
        return XCV_EBROKEN;
    if (x->n_pop == 0)
        return XCV_EINVAL;
    struct popped *p = fifo_at(x, 0);
    if (head != p->head || len > p->in_len)
        return XCV_EINVAL; /* not the oldest in flight, or too long */
    if (x->run_open && x->run_len == 0) {
        x->run_id = head;
        x->run_len = len;
    } else {
        if (x->run_open)
            exp_entry(x, x->run_pos, x->run_id, x->run_len);
        x->run_open = true;
        x->run_pos = x->used_count;
        x->run_id = head;
        x->run_len = len;
    }
    x->push_c = p->c + p->ndesc;
    x->fifo_head = (x->fifo_head + 1u) % MAXNUM;
    x->n_pop--;
    x->used_count++;
    return XCV_OK;
}

static int model_publish(struct ctx *x)
{
    uint16_t n = (uint16_t)(x->used_count - x->used_pub);
    if (n == 0)
        return 0;
    if (x->run_open)
        exp_entry(x, x->run_pos, x->run_id, x->run_len);
    x->run_open = false;
    expect16(x, x->used_off + 2u, x->used_count);
    x->used_pub = x->used_count;
    x->drv_free_c = x->push_c; /* the driver sees these chains back */
    return n;
}

/* 2.7.10: notify when the event index lies in (old, new]. */
static bool need_event(uint16_t ev, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - ev - 1u) < (uint16_t)(new_idx - old_idx);
}

static int model_should_notify(struct ctx *x)
{
    uint16_t old_idx = x->signalled;
    uint16_t new_idx = x->used_pub;
    x->signalled = new_idx;
    if (old_idx == new_idx)
        return 0;
    if (x->event_idx)
        return need_event(xcv_le16_load(x->w1 + used_event_off(x)), new_idx, old_idx) ? 1 : 0;
    uint16_t flags = xcv_le16_load(x->w1 + x->avail_off);
    return (flags & XCV_VRING_AVAIL_F_NO_INTERRUPT) ? 0 : 1;
}

/* Used entries at positions pushed and not yet published are the device's business until
 * publish: the library may write them early (when a run ends) or late. */
static void unpublished_as_they_are(struct ctx *x, uint8_t *img)
{
    uint16_t n = (uint16_t)(x->used_count - x->used_pub);
    if (n > x->num)
        n = x->num;
    for (uint16_t i = 0; i < n; i++) {
        size_t off = used_entry_off(x, (uint16_t)(x->used_pub + i));
        memcpy(img + off, x->w1 + off, 8);
    }
}

static void model_reset(struct ctx *x)
{
    /* Entries never published stay as the library left them. */
    unpublished_as_they_are(x, x->shadow1);
    x->last_avail = 0;
    x->avail_seen = 0;
    x->next_c = 0;
    x->fifo_head = 0;
    x->n_pop = 0;
    x->push_c = 0;
    x->used_count = 0;
    x->used_pub = 0;
    x->signalled = 0;
    x->run_open = false;
    x->broken = 0;
    x->drv_free_c = 0;
}

static int handler(void *c, const struct xcv_chain *chain, uint32_t *written)
{
    struct ctx *x = c;
    struct ref_chain rc;
    enum ref_result k = ref_next(x, true, &rc);
    accept_pop(x, k, &rc, chain);
    check_chain(x, chain);
    uint8_t mode = fin_u8(x->script);
    switch (mode % 4u) {
    case 0:
    case 1:
        *written = chain->in_len == 0 ? 0 : (uint32_t)(((uint64_t)chain->in_len * mode) / 255u);
        /* The library pushes it when we return: out of pop order that fails and ends the
         * call with XCV_EINVAL, the chain staying in flight. */
        if (model_push(x, chain->head, *written) != XCV_OK)
            x->proc_err = XCV_EINVAL;
        return 0;
    case 2:
        return 1; /* kept: pushed later by IODEV_OP_PUSH */
    default:
        (void)model_push(x, chain->head, 0); /* the library pushes it with 0 bytes, if it can */
        return XCV_EIO;
    }
}

/* IODEV_OP_OFFER: a chain as a correct in-order driver writes it, at its own table position. */
static void drv_offer(struct ctx *x, struct fuzz_in *s)
{
    uint8_t shape = fin_u8(s);
    unsigned n = 1u + (shape & 3u) % 3u;
    unsigned n_in = ((shape >> 2) & 3u) % (n + 1u);
    unsigned n_out = n - n_in;
    bool ind = (shape & 0x10u) != 0 && x->indirect && n > 1u;
    bool hold = (shape & 0x20u) != 0;
    bool force = (shape & 0x80u) != 0;
    uint8_t lens[3];
    for (unsigned k = 0; k < n; k++)
        lens[k] = fin_u8(s);
    if (shape & 0x40u) {
        /* Resynchronise with the device: offer at its next head and available entry. */
        x->drv_c = x->next_c;
        x->drv_avail = x->last_avail;
    }
    unsigned ndesc = ind ? 1u : n;
    if (!force && x->drv_c - x->drv_free_c + ndesc > x->num)
        return; /* a correct driver waits for descriptors to come back */
    uint64_t bus = x->win[0].bus_base;
    uint16_t head = (uint16_t)(x->drv_c & x->mask);
    uint8_t d[XCV_VRING_DESC_SIZE];
    for (unsigned k = 0; k < n; k++) {
        bool more = k + 1u < n;
        uint16_t at = ind ? (uint16_t)k : (uint16_t)((head + k) & x->mask);
        xcv_le64_store(d, bus + DATA_OFF + 64u * k);
        xcv_le32_store(d + 8, lens[k]);
        xcv_le16_store(d + 12, (uint16_t)((k >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                                          (more ? XCV_VRING_DESC_F_NEXT : 0u)));
        xcv_le16_store(d + 14, more ? (uint16_t)(ind ? k + 1u : (at + 1u) & x->mask) : 0u);
        size_t off = ind ? IND_AREA + (size_t)(head % IND_TABLES) * 64u + (size_t)k * 16u
                         : x->desc_off + (size_t)at * XCV_VRING_DESC_SIZE;
        shadow_write(x, x->w1 + off, d, sizeof d);
    }
    if (ind) {
        xcv_le64_store(d, bus + IND_AREA + (head % IND_TABLES) * 64u);
        xcv_le32_store(d + 8, (uint32_t)(n * XCV_VRING_DESC_SIZE));
        xcv_le16_store(d + 12, XCV_VRING_DESC_F_INDIRECT);
        xcv_le16_store(d + 14, 0);
        shadow_write(x, x->w1 + x->desc_off + (size_t)head * XCV_VRING_DESC_SIZE, d, sizeof d);
    }
    shadow_store16(x, x->w1 + x->avail_off + 4u + 2u * (size_t)(x->drv_avail & x->mask), head);
    x->drv_c += ndesc;
    x->drv_avail++;
    if (!hold)
        shadow_store16(x, x->w1 + x->avail_off + 2u, x->drv_avail);
}

/* IODEV_OP_DESC: one descriptor, near the device's next head or in the indirect area. */
static void drv_any_desc(struct ctx *x, struct fuzz_in *s)
{
    uint8_t sel = fin_u8(s);
    uint8_t fl = fin_u8(s);
    uint16_t off = fin_u16(s);
    uint16_t len = fin_u16(s);
    uint8_t next = fin_u8(s);
    uint8_t d[XCV_VRING_DESC_SIZE];
    uint64_t base = (fl & 8u) && x->two_windows ? x->win[1].bus_base : x->win[0].bus_base;
    xcv_le64_store(d, base + off);
    xcv_le32_store(d + 8, len);
    xcv_le16_store(d + 12, (uint16_t)(fl & 7u));
    xcv_le16_store(d + 14, next);
    size_t at = (sel & 1u) ? IND_AREA + ((size_t)(sel >> 1) % 32u) * XCV_VRING_DESC_SIZE
                           : x->desc_off +
                                 (size_t)((x->next_c + (sel >> 1)) & x->mask) * XCV_VRING_DESC_SIZE;
    if (at + sizeof d <= WIN1)
        shadow_write(x, x->w1 + at, d, sizeof d);
}

/* The model's view of every window byte, with the unpublished used entries as they are. */
static void check_windows(struct ctx *x)
{
    memcpy(x->scratch, x->shadow1, WIN1);
    unpublished_as_they_are(x, x->scratch);
    FUZZ_CHECK(memcmp(x->w1, x->scratch, WIN1) == 0);
    if (x->two_windows)
        FUZZ_CHECK(memcmp(x->w2, x->shadow2, WIN2) == 0);
}

static void do_pop_burst(struct ctx *x, struct fuzz_in *s, struct xcv_iov **bufs, bool was_broken,
                         unsigned logs)
{
    unsigned n = fin_u8(s) % (BURST_MAX + 1u);
    struct xcv_chain c[BURST_MAX];
    for (unsigned k = 0; k < BURST_MAX; k++)
        c[k] = (struct xcv_chain){.iov = bufs[k], .cap = x->max_chain};
    int r = xcv_vq_device_pop_burst(&x->q, c, n);
    if (was_broken) {
        FUZZ_CHECK(r == XCV_EBROKEN);
        return;
    }
    /* Check every chain against the memory as the library read it, before any buffer is
     * written (a writable buffer may lie on the table). */
    unsigned got = r > 0 ? (unsigned)r : 0u;
    FUZZ_CHECK(got <= n);
    struct ref_chain rc;
    for (unsigned k = 0; k < got; k++)
        accept_pop(x, ref_next(x, true, &rc), &rc, &c[k]);
    if (got < n) {
        enum ref_result k = ref_next(x, true, &rc);
        FUZZ_CHECK(k != REF_OK);
        int why = xcv_vq_device_broken(&x->q);
        FUZZ_CHECK(r == (got == 0 && why != 0 ? why : (int)got));
        expect_no_pop(x, why != 0 ? why : XCV_EAGAIN, k, logs);
    }
    for (unsigned k = 0; k < got; k++)
        check_chain(x, &c[k]);
}

static void do_process(struct ctx *x, struct fuzz_in *s, struct xcv_iov *iov, bool was_broken,
                       unsigned logs)
{
    unsigned budget = fin_u8(s) % 8u;
    struct xcv_chain c = {.iov = iov, .cap = x->max_chain};
    unsigned before = x->notifies;
    unsigned popped_before = x->last_avail;
    x->proc_err = 0;
    int r = xcv_vq_device_process(&x->q, budget, &c, handler, x);
    if (was_broken) {
        FUZZ_CHECK(r == XCV_EBROKEN);
        return;
    }
    unsigned done = (uint16_t)(x->last_avail - popped_before);
    if (x->proc_err != 0) {
        FUZZ_CHECK(r == x->proc_err); /* a push out of pop order ends the call */
    } else if (r >= 0) {
        FUZZ_CHECK((unsigned)r == done && done <= budget);
        if (done < budget) {
            /* The ring ran dry: the library re-armed and found nothing. */
            struct ref_chain rc;
            expect_no_pop(x, XCV_EAGAIN, ref_next(x, true, &rc), logs);
        }
    } else if (r != XCV_EIO) {
        struct ref_chain rc;
        expect_no_pop(x, r, ref_next(x, true, &rc), logs); /* a refused chain: broken */
    }
    if (x->broken == 0) {
        FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0);
        model_publish(x); /* process ends with a flush */
        int want = model_should_notify(x);
        FUZZ_CHECK(x->notifies - before == (unsigned)want);
    } else {
        FUZZ_CHECK(x->notifies == before);
    }
}

static void run(struct ctx *x, struct fuzz_in *s)
{
    /* Exact sizes: an iov written past max_chain is caught by AddressSanitizer. iov is for
     * single pops, bufs[k] for the k-th chain of a burst. */
    struct xcv_iov *bufs[BURST_MAX];
    struct xcv_iov *iov = malloc(sizeof(struct xcv_iov) * x->max_chain);
    FUZZ_CHECK(iov != NULL);
    for (unsigned k = 0; k < BURST_MAX; k++) {
        bufs[k] = malloc(sizeof(struct xcv_iov) * x->max_chain);
        FUZZ_CHECK(bufs[k] != NULL);
    }
    x->script = s;
    while (s->n > 0) {
        uint8_t op = (uint8_t)(fin_u8(s) % IODEV_OP_COUNT);
        unsigned logs = x->logs;
        bool was_broken = x->broken != 0;
        int r;
        switch (op) {
        case IODEV_OP_POP:
        case IODEV_OP_POP_OR_ARM: {
            bool arm = op == IODEV_OP_POP_OR_ARM;
            struct xcv_chain c = {.iov = iov, .cap = x->max_chain};
            r = arm ? xcv_vq_device_pop_or_arm(&x->q, &c) : xcv_vq_device_pop(&x->q, &c);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
                break;
            }
            struct ref_chain rc;
            enum ref_result k = ref_next(x, arm, &rc);
            if (r == XCV_OK) {
                accept_pop(x, k, &rc, &c);
                check_chain(x, &c);
            } else {
                expect_no_pop(x, r, k, logs);
            }
            break;
        }
        case IODEV_OP_POP_BURST:
            do_pop_burst(x, s, bufs, was_broken, logs);
            break;
        case IODEV_OP_PUSH: {
            unsigned k = 1u + fin_u8(s) % 4u;
            for (unsigned i = 0; i < k; i++) {
                uint8_t frac = fin_u8(s);
                if (x->n_pop == 0)
                    break;
                struct popped *p = fifo_at(x, 0);
                uint32_t len = (uint32_t)(((uint64_t)p->in_len * frac) / 255u);
                uint16_t head = p->head;
                r = xcv_vq_device_push(&x->q, head, len);
                FUZZ_CHECK(r == model_push(x, head, len));
                FUZZ_CHECK(r == (was_broken ? XCV_EBROKEN : XCV_OK));
            }
            break;
        }
        case IODEV_OP_PUSH_ANY: {
            uint8_t m = fin_u8(s);
            uint16_t head = fin_u16(s);
            uint32_t len = fin_u32(s);
            if ((m & 1u) && x->n_pop > 0) {
                /* A chain in flight, perhaps not the oldest, with a length near its own. */
                struct popped *p = fifo_at(x, (unsigned)(m >> 1) % x->n_pop);
                head = p->head;
                len = (m & 0x80u) ? p->in_len + 1u : (uint32_t)(len % (p->in_len + 1u));
            } else if (m & 2u) {
                head %= (uint16_t)(x->num + 1u);
            }
            r = xcv_vq_device_push(&x->q, head, len);
            FUZZ_CHECK(r == model_push(x, head, len));
            if (r == XCV_EINVAL)
                FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0); /* a caller error never breaks */
            break;
        }
        case IODEV_OP_PUBLISH:
            r = xcv_vq_device_publish(&x->q);
            FUZZ_CHECK(r == (was_broken ? XCV_EBROKEN : model_publish(x)));
            break;
        case IODEV_OP_SHOULD_NOTIFY:
            r = xcv_vq_device_should_notify(&x->q);
            FUZZ_CHECK(r == (was_broken ? XCV_EBROKEN : model_should_notify(x)));
            break;
        case IODEV_OP_FLUSH: {
            unsigned before = x->notifies;
            r = xcv_vq_device_flush(&x->q);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else {
                model_publish(x);
                FUZZ_CHECK(r == model_should_notify(x));
                FUZZ_CHECK(x->notifies == before + (unsigned)r);
            }
            break;
        }
        case IODEV_OP_PROCESS:
            do_process(x, s, iov, was_broken, logs);
            break;
        case IODEV_OP_ENABLE_NOTIFY:
            r = xcv_vq_device_enable_notify(&x->q);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else {
                int want = model_enable(x);
                FUZZ_CHECK(r == want);
                if (want < 0)
                    saw_error(x, r, logs);
            }
            break;
        case IODEV_OP_DISABLE_NOTIFY:
            xcv_vq_device_disable_notify(&x->q);
            if (!was_broken) {
                if (x->event_idx)
                    any16(x, avail_event_off(x)); /* any value is a valid hint */
                else
                    expect16(x, x->used_off, XCV_VRING_USED_F_NO_NOTIFY);
            }
            break;
        case IODEV_OP_RESET: {
            uint8_t how = fin_u8(s);
            xcv_vq_device_reset(&x->q);
            FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0);
            FUZZ_CHECK(xcv_vq_device_in_flight(&x->q) == 0);
            FUZZ_CHECK(xcv_vq_device_next_avail(&x->q) == 0);
            model_reset(x);
            if (how & 2u)
                FUZZ_CHECK(xcv_vq_device_set_base(&x->q, 0, 0) == XCV_OK);
            if (how & 1u) {
                /* The driver starts over too. */
                shadow_store16(x, x->w1 + x->avail_off + 2u, 0);
                x->drv_c = 0;
                x->drv_avail = 0;
            }
            break;
        }
        case IODEV_OP_PATCH: {
            uint16_t off = fin_u16(s);
            uint8_t len = fin_u8(s) % 17u;
            uint8_t buf[16];
            for (unsigned k = 0; k < len; k++)
                buf[k] = fin_u8(s);
            uint32_t total = WIN1 + (x->two_windows ? WIN2 : 0u);
            uint32_t o = off % total;
            if (len > total - o)
                len = (uint8_t)(total - o);
            if (o < WIN1) {
                if (len > WIN1 - o)
                    len = (uint8_t)(WIN1 - o);
                shadow_write(x, x->w1 + o, buf, len);
            } else {
                shadow_write(x, x->w2 + (o - WIN1), buf, len);
            }
            break;
        }
        case IODEV_OP_AVAIL_BUMP: {
            uint8_t by = fin_u8(s);
            shadow_store16(x, x->w1 + x->avail_off + 2u,
                           (uint16_t)(avail_idx(x) + by % (x->num + 2u)));
            break;
        }
        case IODEV_OP_SLOTS: {
            /* Garbage in available slots: an in-order device must not look at them. */
            uint8_t k = fin_u8(s) % 4u;
            for (unsigned i = 0; i <= k; i++) {
                uint8_t pos = fin_u8(s);
                uint16_t v = fin_u16(s);
                shadow_store16(
                    x, x->w1 + x->avail_off + 4u + 2u * (size_t)((x->last_avail + pos) & x->mask),
                    v);
            }
            break;
        }
        case IODEV_OP_DESC:
            drv_any_desc(x, s);
            break;
        case IODEV_OP_OFFER:
            drv_offer(x, s);
            break;
        case IODEV_OP_EVENT:
            shadow_store16(x, x->w1 + used_event_off(x), fin_u16(s));
            shadow_store16(x, x->w1 + x->avail_off, fin_u16(s));
            break;
        default:
            break;
        }
        if (x->polled && x->event_idx && op != IODEV_OP_ENABLE_NOTIFY)
            any16(x, avail_event_off(x)); /* pops renew the polled hint now and then */
        /* After every step: */
        FUZZ_CHECK(xcv_vq_device_broken(&x->q) == x->broken);
        FUZZ_CHECK(xcv_vq_device_in_flight(&x->q) == x->n_pop);
        FUZZ_CHECK(xcv_vq_device_next_avail(&x->q) == x->last_avail);
        FUZZ_CHECK(x->n_pop <= x->num);
        /* The device wrote exactly what the model expects, and nothing else. */
        check_windows(x);
    }
    for (unsigned k = 0; k < BURST_MAX; k++)
        free(bufs[k]);
    free(iov);
}

static bool disjoint(size_t a, size_t alen, size_t b, size_t blen)
{
    return a + alen <= b || b + blen <= a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    static struct ctx x;
    memset(&x, 0, sizeof x);
    uint8_t cfg = fin_u8(&in);
    x.num = (uint16_t)(1u << (fin_u8(&in) % 6u));
    x.mask = (uint16_t)(x.num - 1u);
    uint16_t mc = (uint16_t)(fin_u8(&in) % (x.num + 1u));
    x.max_chain = mc != 0 ? mc : x.num;
    uint16_t script_len = fin_u16(&in);
    x.event_idx = (cfg & 1u) != 0;
    x.indirect = (cfg & 2u) != 0;
    x.two_windows = (cfg & 4u) != 0;
    x.polled = (cfg & 0x40u) != 0;

    size_t desc_off = 0;
    x.avail_off = XCV_VRING_AVAIL_OFFSET(x.num);
    x.used_off = XCV_VRING_USED_OFFSET(x.num, XCV_CACHE_LINE_DEFAULT);
    if (cfg & 8u) {
        desc_off = fin_u16(&in) % WIN1;
        x.avail_off = fin_u16(&in) % WIN1;
        x.used_off = fin_u16(&in) % WIN1;
    }
    static const uint64_t bases[4] = {0, 0x1000, 0x80000000u,
                                      (UINT64_MAX - WIN1) & ~(uint64_t)0xfff};
    uint64_t bus1 = bases[(cfg >> 4) & 3u];
    uint64_t bus2 = bus1 >= 0x100000u ? bus1 - 0x100000u : bus1 + 0x100000u;

    struct fuzz_in script = fin_take(&in, script_len);

    x.w1 = malloc(WIN1); /* exact sizes, so AddressSanitizer sees any access past the end */
    x.w2 = malloc(WIN2);
    x.shadow1 = malloc(WIN1);
    x.shadow2 = malloc(WIN2);
    x.scratch = malloc(WIN1);
    FUZZ_CHECK(x.w1 && x.w2 && x.shadow1 && x.shadow2 && x.scratch);
    memset(x.w1, 0, WIN1);
    memset(x.w2, 0, WIN2);
    struct fuzz_in img1 = fin_take(&in, WIN1);
    memcpy(x.w1, img1.p, img1.n);
    struct fuzz_in img2 = fin_take(&in, WIN2);
    memcpy(x.w2, img2.p, img2.n);
    memcpy(x.shadow1, x.w1, WIN1);
    memcpy(x.shadow2, x.w2, WIN2);

    FUZZ_CHECK(xcv_window_init(&x.win[0], x.w1, bus1, WIN1) == XCV_OK);
    FUZZ_CHECK(xcv_window_init(&x.win[1], x.w2, bus2, WIN2) == XCV_OK);
    x.mem.windows = x.win;
    x.mem.count = x.two_windows ? 2u : 1u;

    uint64_t features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER);
    if (x.event_idx)
        features |= XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
    if (x.indirect)
        features |= XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    struct xcv_vq_dev_slot *slots = malloc(XCV_VQ_DEVICE_SLOTS_BYTES(x.num));
    FUZZ_CHECK(slots != NULL);
    const struct xcv_port port = {.ops = &g_ops, .ctx = &x};
    const struct xcv_vq_device_config vc = {
        .mem = &x.mem,
        .num = x.num,
        .desc_bus = bus1 + desc_off,
        .avail_bus = bus1 + x.avail_off,
        .used_bus = bus1 + x.used_off,
        .features = features,
        .max_chain = mc,
        .slots = slots,
        .port = &port,
        .doorbell = 7,
        .polled = x.polled,
    };
    int r = xcv_vq_device_init(&x.q, &vc);
    size_t db = XCV_VRING_DESC_BYTES(x.num);
    size_t ab = XCV_VRING_AVAIL_BYTES(x.num);
    size_t ub = XCV_VRING_USED_BYTES(x.num);
    bool placed = x.used_off + ub <= WIN1 && x.avail_off + ab <= WIN1 && desc_off + db <= WIN1;
    bool aligned = (desc_off % 16u) == 0 && (x.avail_off % 2u) == 0 && (x.used_off % 4u) == 0;
    if (placed && aligned) {
        FUZZ_CHECK(r == XCV_OK);
        FUZZ_CHECK(xcv_vq_device_broken(&x.q) == 0 && xcv_vq_device_in_flight(&x.q) == 0);
        x.desc_off = desc_off;
        if (x.polled) { /* a polled queue asks for no notifications from the start */
            if (x.event_idx)
                any16(&x, avail_event_off(&x));
            else
                expect16(&x, x.used_off, XCV_VRING_USED_F_NO_NOTIFY);
        }
        FUZZ_CHECK(memcmp(x.w1, x.shadow1, WIN1) == 0);
        if (disjoint(desc_off, db, x.avail_off, ab) && disjoint(desc_off, db, x.used_off, ub) &&
            disjoint(x.avail_off, ab, x.used_off, ub))
            run(&x, &script);
    } else {
        FUZZ_CHECK(r == XCV_EPROTO_LAYOUT || r == XCV_EPROTO_WINDOW || r == XCV_EPROTO_OVERFLOW);
        /* Init wrote nothing. */
        FUZZ_CHECK(memcmp(x.w1, x.shadow1, WIN1) == 0);
    }
    free(slots);
    free(x.w1);
    free(x.w2);
    free(x.shadow1);
    free(x.shadow2);
    free(x.scratch);
    return 0;
}
