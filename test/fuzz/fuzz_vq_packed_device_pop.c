/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: the device role of a packed virtqueue (virtio 1.2, section 2.8) facing a
 * hostile driver.
 *
 * The input is the shared memory the driver controls (the descriptor ring, its event
 * suppression area, buffers) plus a script of device-side calls interleaved with further driver
 * writes, which play a driver racing the device between calls. Input format (see gen_seeds.c,
 * which writes the seed corpus):
 *
 *   byte 0     config: bit0 EVENT_IDX, bit1 a polled queue, bit2 a second window,
 *              bit3 ring areas at offsets given below (else the standard layout at offset 0),
 *              bits4-5 bus base of window 1 (0, 0x1000, 0x80000000, near the top of 2^64),
 *              bit6 INDIRECT_DESC negotiated as well (a packed ring must still refuse tables)
 *   byte 1     queue size: SIZES[byte % 8] (powers of two and not: 8, 6, 1, 2, 3, 5, 16, 32)
 *   byte 2     max_chain: byte % (size + 1)   (0 means the queue size)
 *   bytes 3-4  L, the length of the script (le16)
 *   [6 bytes]  with bit3: le16 offsets of the descriptor ring, the driver area and the device
 *              area inside window 1
 *   L bytes    the script: one opcode byte per step plus its arguments
 *              (enum pdev_op in fuzz_common.h)
 *   rest       the initial contents of window 1 (WIN1 bytes), then window 2 (WIN2 bytes)
 *
 * The harness keeps a model of the queue written from the spec and vq_device.h, independently
 * of the library: the positions (as free-running descriptor counts) of the next descriptor to
 * pop and of the next used descriptor, the chains in flight, the staged used descriptors. A
 * reference walk decides for every pop what the driver's descriptors allow. Invariants checked
 * after every step:
 * - a chain is popped exactly when the reference accepts it, with the same segments, buffer id
 *   and totals; every iov lies inside a window (the buffers are read and written, so one
 *   outside the heap-allocated windows is caught by AddressSanitizer too), n_out + n_in <=
 *   max_chain, and the chains in flight never cover more descriptors than the ring holds;
 * - push / publish / should_notify / enable_notify return what the model predicts, and the
 *   device's writes are exactly the used descriptors (id, len, then flags: AVAIL = USED = the
 *   used wrap counter, WRITE when len != 0; the first flags of a batch only at publish) and its
 *   event suppression area: the windows are compared byte for byte with the model's image;
 * - after a protocol error the queue reports it, the log hook saw it once, and every later
 *   call returns XCV_EBROKEN until reset;
 * - every call returns (the per-input timeout catches a loop that does not end).
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
#define DATA_OFF 0x300u /* where PDEV_OP_OFFER places its buffers in window 1 */
#define LINE XCV_CACHE_LINE_DEFAULT
#define F_AVAIL XCV_VRING_PACKED_DESC_F_AVAIL
#define F_USED XCV_VRING_PACKED_DESC_F_USED
#define WRAP_BIT 0x8000u

static const uint16_t SIZES[8] = {8, 6, 1, 2, 3, 5, 16, 32};

struct popped {
    uint16_t id;
    uint16_t ndesc;
    uint32_t in_len;
};

struct ctx {
    struct xcv_vq_device q;
    struct xcv_window win[2];
    struct xcv_memmap mem;
    uint8_t *w1;
    uint8_t *w2;
    uint8_t *shadow1; /* the model's image of window 1 */
    uint8_t *shadow2;
    bool two_windows;
    bool event_idx;
    bool polled;
    uint16_t num;
    uint16_t max_chain; /* effective */
    size_t ring_off;
    size_t drv_off;
    size_t dev_off;
    /* The model. Positions are free-running descriptor counts c: ring position c % num, wrap
     * counter 1 on even laps. */
    uint32_t avail_c; /* next descriptor to pop */
    uint32_t used_c;  /* next used descriptor to write */
    uint32_t pub_c;   /* used_c at the last publish */
    uint32_t sig_c;   /* pub_c at the last notification decision */
    unsigned staged;  /* used descriptors written since the last publish */
    uint32_t first_c; /* the first of them: its flags are stored by publish */
    uint16_t first_flags;
    struct popped pop[MAXNUM];
    unsigned n_pop;
    unsigned descs_in_use;
    int broken; /* the protocol error seen, or 0 */
    unsigned notifies;
    unsigned logs;
    int last_log_err;
    /* The racing driver. */
    uint32_t drv_c;   /* where PDEV_OP_OFFER writes next */
    uint16_t next_id; /* where PDEV_OP_OFFER looks for a free buffer id */
    bool held;        /* a first flags word held back until PDEV_OP_RELEASE */
    uint32_t held_c;  /* its position */
    uint16_t held_flags;
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

static uint16_t pos_of(const struct ctx *x, uint32_t c)
{
    return (uint16_t)(c % x->num);
}

static bool wrap_of(const struct ctx *x, uint32_t c)
{
    return ((c / x->num) & 1u) == 0u;
}

static uint8_t *desc_at(const struct ctx *x, uint32_t c)
{
    return x->w1 + x->ring_off + (size_t)pos_of(x, c) * XCV_VRING_DESC_SIZE;
}

/* 2.8.1: available in the lap of driver wrap counter @p wrap when AVAIL == wrap != USED. */
static bool is_avail(uint16_t flags, bool wrap)
{
    bool a = (flags & F_AVAIL) != 0u;
    bool u = (flags & F_USED) != 0u;
    return a == wrap && u != wrap;
}

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

/* The model's copy of the byte at window pointer @p p. */
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

/* A write the device role is expected to make: into the model's image only. */
static void expect_write16(struct ctx *x, uint8_t *p, uint16_t v)
{
    xcv_le16_store(shadow_of(x, p), v);
}

static void expect_write32(struct ctx *x, uint8_t *p, uint32_t v)
{
    xcv_le32_store(shadow_of(x, p), v);
}

/* The device event suppression area the device writes: its next position and @p flags. */
static void expect_dev_event(struct ctx *x, uint16_t flags)
{
    uint32_t off_wrap = pos_of(x, x->avail_c) | (wrap_of(x, x->avail_c) ? WRAP_BIT : 0u);
    expect_write32(x, x->w1 + x->dev_off, off_wrap | ((uint32_t)flags << 16));
}

/*
 * Reference check of the chain at the device's next position, written from the rules in
 * vq_device.h and the virtio spec (2.8.1, 2.8.6, 2.8.7), independently of the library.
 */
struct ref_seg {
    void *base;
    uint32_t len;
    bool write;
};

struct ref_chain {
    struct ref_seg seg[MAXNUM];
    unsigned n;
    uint16_t id;
};

enum ref_result {
    REF_EMPTY,
    REF_REFUSE,
    REF_OK
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

static bool id_in_flight(const struct ctx *x, uint16_t id)
{
    for (unsigned i = 0; i < x->n_pop; i++)
        if (x->pop[i].id == id)
            return true;
    return false;
}

static enum ref_result ref_pop(const struct ctx *x, struct ref_chain *rc)
{
    uint32_t c = x->avail_c;
    if (!is_avail(xcv_le16_load(desc_at(x, c) + 14), wrap_of(x, c)))
        return REF_EMPTY;
    bool seen_write = false;
    uint64_t out_len = 0, in_len = 0;
    unsigned n = 0;
    for (;;) {
        const uint8_t *d = desc_at(x, c + n);
        uint64_t addr = xcv_le64_load(d);
        uint32_t len = xcv_le32_load(d + 8);
        uint16_t id = xcv_le16_load(d + 12);
        uint16_t flags = xcv_le16_load(d + 14);
        uint8_t *p;
        if (n > 0 && !is_avail(flags, wrap_of(x, c + n)))
            return REF_REFUSE; /* NEXT names a descriptor the driver did not make available */
        if (flags & XCV_VRING_DESC_F_INDIRECT)
            return REF_REFUSE; /* no indirect tables in a packed ring */
        /* The (n+1)th descriptor: within max_chain, and with the chains in flight within the
         * ring (a driver never has more descriptors outstanding than the ring holds). */
        if (n >= x->max_chain || x->descs_in_use + n >= x->num)
            return REF_REFUSE;
        if (!ref_translate(x, addr, len, &p))
            return REF_REFUSE;
        if (flags & XCV_VRING_DESC_F_WRITE) {
            seen_write = true;
            in_len += len;
        } else {
            if (seen_write)
                return REF_REFUSE;
            out_len += len;
        }
        if (in_len > UINT32_MAX || out_len > UINT32_MAX)
            return REF_REFUSE;
        rc->seg[n].base = p;
        rc->seg[n].len = len;
        rc->seg[n].write = (flags & XCV_VRING_DESC_F_WRITE) != 0;
        rc->id = id; /* 2.8.6: the buffer id is the last descriptor's */
        n++;
        if (!(flags & XCV_VRING_DESC_F_NEXT))
            break;
    }
    if (rc->id >= x->num || id_in_flight(x, rc->id))
        return REF_REFUSE;
    rc->n = n;
    return REF_OK;
}

static bool is_device_proto(int r)
{
    return r == XCV_EPROTO_AVAIL_IDX || r == XCV_EPROTO_HEAD || r == XCV_EPROTO_NEXT ||
           r == XCV_EPROTO_CHAIN_LEN || r == XCV_EPROTO_FEATURE || r == XCV_EPROTO_WRITE_ORDER ||
           r == XCV_EPROTO_OVERFLOW || r == XCV_EPROTO_WINDOW;
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
static void accept_pop(struct ctx *x, const struct xcv_chain *c)
{
    struct ref_chain rc;
    FUZZ_CHECK(ref_pop(x, &rc) == REF_OK); /* else: accepted a chain the rules refuse */
    FUZZ_CHECK(c->head == rc.id);
    FUZZ_CHECK((unsigned)c->n_out + c->n_in == rc.n);
    for (unsigned k = 0; k < rc.n; k++) {
        FUZZ_CHECK(c->iov[k].base == rc.seg[k].base && c->iov[k].len == rc.seg[k].len);
        FUZZ_CHECK(rc.seg[k].write == (k >= c->n_out));
    }
    FUZZ_CHECK(x->n_pop < x->num);
    x->pop[x->n_pop].id = rc.id;
    x->pop[x->n_pop].ndesc = (uint16_t)rc.n;
    x->pop[x->n_pop].in_len = c->in_len;
    x->n_pop++;
    x->descs_in_use += rc.n;
    FUZZ_CHECK(x->descs_in_use <= x->num);
    x->avail_c += rc.n;
}

/* The library found no chain (EAGAIN) or refused one (@p r a protocol error, now broken). */
static void expect_no_pop(struct ctx *x, int r, unsigned logs_before)
{
    struct ref_chain rc;
    enum ref_result ref = ref_pop(x, &rc);
    if (r == XCV_EAGAIN) {
        FUZZ_CHECK(ref == REF_EMPTY);
    } else {
        FUZZ_CHECK(ref == REF_REFUSE); /* else: refused a chain the rules accept */
        saw_error(x, r, logs_before);
    }
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

static int find_popped(const struct ctx *x, uint16_t id)
{
    for (unsigned i = 0; i < x->n_pop; i++)
        if (x->pop[i].id == id)
            return (int)i;
    return -1;
}

/* The model of a successful push of popped chain @p i: one used descriptor at used_c. */
static void model_push(struct ctx *x, unsigned i, uint32_t len)
{
    struct popped pp = x->pop[i];
    FUZZ_CHECK(len <= pp.in_len);
    uint8_t *d = desc_at(x, x->used_c);
    uint16_t flags = wrap_of(x, x->used_c) ? (uint16_t)(F_AVAIL | F_USED) : (uint16_t)0u;
    if (len != 0u)
        flags |= XCV_VRING_DESC_F_WRITE;
    expect_write32(x, d + 8, len);
    expect_write16(x, d + 12, pp.id);
    if (x->staged == 0u) {
        x->first_c = x->used_c;
        x->first_flags = flags;
    } else {
        expect_write16(x, d + 14, flags);
    }
    x->staged++;
    x->used_c += pp.ndesc;
    x->descs_in_use -= pp.ndesc;
    x->pop[i] = x->pop[--x->n_pop];
}

static int model_publish(struct ctx *x)
{
    unsigned n = x->staged;
    if (n == 0u)
        return 0;
    expect_write16(x, desc_at(x, x->first_c) + 14, x->first_flags);
    x->pub_c = x->used_c;
    x->staged = 0;
    return (int)n;
}

/* What should_notify must answer (1, 0, or -1 when either is acceptable); updates the model.
 * The driver area's DESC names the position (and wrap counter) whose use it wants to hear of:
 * notify when it is among the positions published since the last decision. */
static int model_should_notify(struct ctx *x)
{
    uint32_t n = x->pub_c - x->sig_c;
    x->sig_c = x->pub_c;
    if (n == 0u)
        return 0;
    uint32_t ev = xcv_le32_load(x->w1 + x->drv_off);
    uint16_t off_wrap = (uint16_t)(ev & 0xffffu);
    uint16_t flags = (uint16_t)(ev >> 16);
    if (flags == XCV_VRING_PACKED_EVENT_DISABLE)
        return 0;
    if (flags != XCV_VRING_PACKED_EVENT_DESC || !x->event_idx)
        return 1; /* ENABLE, or a value the device does not know: notifying is safe */
    if (n >= x->num)
        return 1; /* a whole ring went by */
    uint16_t off = (uint16_t)(off_wrap & ~WRAP_BIT);
    bool w = (off_wrap & WRAP_BIT) != 0u;
    if (off >= x->num)
        return -1; /* names no position: any answer is safe */
    for (uint32_t c = x->pub_c - n; c != x->pub_c; c++)
        if (pos_of(x, c) == off && wrap_of(x, c) == w)
            return 1;
    return 0;
}

static void check_notify_answer(int r, int want)
{
    FUZZ_CHECK(r == 0 || r == 1);
    if (want >= 0)
        FUZZ_CHECK(r == want);
}

static void model_reset(struct ctx *x)
{
    x->avail_c = 0;
    x->used_c = 0;
    x->pub_c = 0;
    x->sig_c = 0;
    x->staged = 0;
    x->n_pop = 0;
    x->descs_in_use = 0;
    x->broken = 0;
}

static int handler(void *c, const struct xcv_chain *chain, uint32_t *written)
{
    struct ctx *x = c;
    accept_pop(x, chain);
    check_chain(x, chain);
    int i = find_popped(x, chain->head);
    FUZZ_CHECK(i >= 0);
    uint8_t mode = fin_u8(x->script);
    switch (mode % 4u) {
    case 0:
    case 1:
        *written = chain->in_len == 0 ? 0 : (uint32_t)(((uint64_t)chain->in_len * mode) / 255u);
        model_push(x, (unsigned)i, *written); /* the library pushes it when we return */
        return 0;
    case 2:
        return 1; /* kept: pushed later by PDEV_OP_PUSH */
    default:
        model_push(x, (unsigned)i, 0); /* the library pushes it with 0 bytes */
        return XCV_EIO;
    }
}

/* The driver writes one descriptor at @p c (shadowed). */
static void drv_desc(struct ctx *x, uint32_t c, uint64_t addr, uint32_t len, uint16_t id,
                     uint16_t flags)
{
    uint8_t d[XCV_VRING_DESC_SIZE];
    xcv_le64_store(d, addr);
    xcv_le32_store(d + 8, len);
    xcv_le16_store(d + 12, id);
    xcv_le16_store(d + 14, flags);
    shadow_write(x, desc_at(x, c), d, sizeof d);
}

static uint16_t avail_bits(bool wrap)
{
    return wrap ? (uint16_t)F_AVAIL : (uint16_t)F_USED;
}

/* PDEV_OP_OFFER: a chain as a correct driver writes it, at the driver's own position. */
static void drv_offer(struct ctx *x, struct fuzz_in *s)
{
    uint8_t shape = fin_u8(s);
    uint8_t idb = fin_u8(s);
    unsigned n_out = shape & 7u;
    unsigned n_in = (shape >> 3) & 7u;
    if (n_out + n_in == 0)
        n_out = 1;
    unsigned n = n_out + n_in;
    if (shape & 0x80u)
        x->drv_c = x->avail_c; /* resynchronise with the device */
    uint16_t id;
    if (idb & 0x80u) {
        id = (uint16_t)(idb & 0x7fu); /* any id, perhaps in flight or out of range */
    } else {
        /* The next id round the ring that is not in flight on the device, so that chains
         * offered and not yet popped get ids of their own too. */
        id = (uint16_t)(x->next_id % x->num);
        for (unsigned k = 0; k < x->num && id_in_flight(x, id); k++)
            id = (uint16_t)((id + 1u) % x->num);
        x->next_id = (uint16_t)((id + 1u) % x->num);
    }
    bool hold = (shape & 0x40u) != 0 && !x->held;
    for (unsigned k = 0; k < n; k++) {
        uint32_t c = x->drv_c + k;
        uint32_t len = fin_u8(s);
        uint64_t addr = x->win[0].bus_base + DATA_OFF + 64u * k;
        uint16_t flags =
            (uint16_t)(avail_bits(wrap_of(x, c)) | (k >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                       (k + 1u < n ? XCV_VRING_DESC_F_NEXT : 0u));
        if (k == 0 && hold) {
            /* The batch's first flags are stored last, by PDEV_OP_RELEASE. */
            x->held = true;
            x->held_c = c;
            x->held_flags = flags;
            flags = xcv_le16_load(desc_at(x, c) + 14);
        }
        drv_desc(x, c, addr, len, id, flags);
    }
    x->drv_c += n;
}

/* PDEV_OP_DESC: the driver writes one descriptor, field by field, near the device's position. */
static void drv_any_desc(struct ctx *x, struct fuzz_in *s)
{
    uint8_t sel = fin_u8(s);
    uint8_t fl = fin_u8(s);
    uint16_t off = fin_u16(s);
    uint16_t len = fin_u16(s);
    uint8_t id = fin_u8(s);
    uint32_t c = x->avail_c + sel % x->num;
    uint16_t flags = (uint16_t)(fl & 7u); /* NEXT, WRITE, INDIRECT */
    switch ((fl >> 4) & 3u) {
    case 0:
        flags |= avail_bits(wrap_of(x, c)); /* available in this lap */
        break;
    case 1:
        flags |= avail_bits(!wrap_of(x, c)); /* available in the other lap */
        break;
    case 2:
        flags |= wrap_of(x, c) ? (uint16_t)(F_AVAIL | F_USED) : (uint16_t)0u; /* looks used */
        break;
    default:
        flags |= (uint16_t)(((fl & 0x40u) ? F_AVAIL : 0u) | ((fl & 0x80u) ? F_USED : 0u));
        break;
    }
    uint64_t base = (fl & 8u) && x->two_windows ? x->win[1].bus_base : x->win[0].bus_base;
    drv_desc(x, c, base + off, len, id, flags);
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
    FUZZ_CHECK(xcv_vq_device_set_base(&x->q, 0, 0) == XCV_ENOTSUP);
    while (s->n > 0) {
        uint8_t op = (uint8_t)(fin_u8(s) % PDEV_OP_COUNT);
        unsigned logs = x->logs;
        bool was_broken = x->broken != 0;
        int r;
        switch (op) {
        case PDEV_OP_POP: {
            struct xcv_chain c = {.iov = iov, .cap = x->max_chain};
            r = xcv_vq_device_pop(&x->q, &c);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else if (r == XCV_OK) {
                accept_pop(x, &c);
                check_chain(x, &c);
            } else {
                expect_no_pop(x, r, logs);
            }
            break;
        }
        case PDEV_OP_POP_BURST: {
            unsigned n = fin_u8(s) % (BURST_MAX + 1u);
            struct xcv_chain c[BURST_MAX];
            for (unsigned k = 0; k < BURST_MAX; k++) {
                c[k] = (struct xcv_chain){.iov = bufs[k], .cap = x->max_chain};
            }
            r = xcv_vq_device_pop_burst(&x->q, c, n);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
                break;
            }
            /* Check every chain against the ring as the library read it, before any buffer
             * is written (a writable buffer may lie on the ring). */
            unsigned got = r > 0 ? (unsigned)r : 0u;
            FUZZ_CHECK(got <= n);
            for (unsigned k = 0; k < got; k++)
                accept_pop(x, &c[k]);
            if (got < n) {
                int why = xcv_vq_device_broken(&x->q);
                if (got == 0)
                    FUZZ_CHECK(r == 0 || r == why);
                expect_no_pop(x, why != 0 ? why : XCV_EAGAIN, logs);
                if (why == 0 && !x->polled) /* ran dry: re-armed at the next position */
                    expect_dev_event(x, x->event_idx ? (uint16_t)XCV_VRING_PACKED_EVENT_DESC
                                                     : (uint16_t)XCV_VRING_PACKED_EVENT_ENABLE);
            }
            for (unsigned k = 0; k < got; k++)
                check_chain(x, &c[k]);
            break;
        }
        case PDEV_OP_POP_OR_ARM: {
            struct xcv_chain c = {.iov = iov, .cap = x->max_chain};
            r = xcv_vq_device_pop_or_arm(&x->q, &c);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else if (r == XCV_OK) {
                accept_pop(x, &c);
                check_chain(x, &c);
            } else {
                expect_no_pop(x, r, logs);
                if (r == XCV_EAGAIN && !x->polled)
                    expect_dev_event(x, x->event_idx ? (uint16_t)XCV_VRING_PACKED_EVENT_DESC
                                                     : (uint16_t)XCV_VRING_PACKED_EVENT_ENABLE);
            }
            break;
        }
        case PDEV_OP_PUSH: {
            uint8_t which = fin_u8(s);
            uint8_t frac = fin_u8(s);
            if (x->n_pop == 0)
                break;
            unsigned i = which % x->n_pop;
            uint32_t len = (uint32_t)(((uint64_t)x->pop[i].in_len * frac) / 255u);
            r = xcv_vq_device_push(&x->q, x->pop[i].id, len);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else {
                FUZZ_CHECK(r == XCV_OK);
                model_push(x, i, len);
            }
            break;
        }
        case PDEV_OP_PUSH_ANY: {
            uint16_t id = fin_u16(s);
            uint32_t len = fin_u32(s);
            if (fin_u8(s) & 1u)
                id %= (uint16_t)(x->num + 1u);
            r = xcv_vq_device_push(&x->q, id, len);
            int found = find_popped(x, id);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else if (found >= 0 && len <= x->pop[found].in_len) {
                FUZZ_CHECK(r == XCV_OK);
                model_push(x, (unsigned)found, len);
            } else {
                FUZZ_CHECK(r == XCV_EINVAL); /* a caller error never breaks the queue */
                FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0);
            }
            break;
        }
        case PDEV_OP_PUBLISH:
            r = xcv_vq_device_publish(&x->q);
            if (was_broken)
                FUZZ_CHECK(r == XCV_EBROKEN);
            else
                FUZZ_CHECK(r == model_publish(x));
            break;
        case PDEV_OP_SHOULD_NOTIFY:
            r = xcv_vq_device_should_notify(&x->q);
            if (was_broken)
                FUZZ_CHECK(r == XCV_EBROKEN);
            else
                check_notify_answer(r, model_should_notify(x));
            break;
        case PDEV_OP_FLUSH: {
            unsigned before = x->notifies;
            r = xcv_vq_device_flush(&x->q);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else {
                model_publish(x);
                check_notify_answer(r, model_should_notify(x));
                FUZZ_CHECK(x->notifies == before + (unsigned)r);
            }
            break;
        }
        case PDEV_OP_PROCESS: {
            unsigned budget = fin_u8(s) % 8u;
            struct xcv_chain c = {.iov = iov, .cap = x->max_chain};
            unsigned before = x->notifies;
            r = xcv_vq_device_process(&x->q, budget, &c, handler, x);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
                break;
            }
            if (r >= 0) {
                FUZZ_CHECK((unsigned)r <= budget);
                if ((unsigned)r < budget) {
                    /* The ring ran dry: the library re-armed and found nothing. */
                    expect_no_pop(x, XCV_EAGAIN, logs);
                    if (!x->polled)
                        expect_dev_event(x, x->event_idx ? (uint16_t)XCV_VRING_PACKED_EVENT_DESC
                                                         : (uint16_t)XCV_VRING_PACKED_EVENT_ENABLE);
                }
            } else if (r != XCV_EIO) {
                expect_no_pop(x, r, logs); /* a refused chain: broken, nothing flushed */
            }
            if (x->broken == 0) {
                FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0);
                model_publish(x); /* process ends with a flush */
                int want = model_should_notify(x);
                unsigned sent = x->notifies - before;
                check_notify_answer((int)sent, want);
            } else {
                FUZZ_CHECK(x->notifies == before);
            }
            break;
        }
        case PDEV_OP_ENABLE_NOTIFY:
            r = xcv_vq_device_enable_notify(&x->q);
            if (was_broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else {
                expect_dev_event(x, x->event_idx ? (uint16_t)XCV_VRING_PACKED_EVENT_DESC
                                                 : (uint16_t)XCV_VRING_PACKED_EVENT_ENABLE);
                bool avail =
                    is_avail(xcv_le16_load(desc_at(x, x->avail_c) + 14), wrap_of(x, x->avail_c));
                FUZZ_CHECK(r == (avail ? 1 : 0));
            }
            break;
        case PDEV_OP_DISABLE_NOTIFY:
            xcv_vq_device_disable_notify(&x->q);
            if (!was_broken)
                expect_dev_event(x, XCV_VRING_PACKED_EVENT_DISABLE);
            break;
        case PDEV_OP_RESET: {
            uint8_t how = fin_u8(s);
            xcv_vq_device_reset(&x->q);
            FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0);
            FUZZ_CHECK(xcv_vq_device_in_flight(&x->q) == 0);
            model_reset(x);
            x->drv_c = 0;
            x->held = false;
            if (how & 1u) {
                /* The driver starts over with a clean ring and event area. */
                uint8_t zero[XCV_VRING_DESC_SIZE] = {0};
                for (uint32_t c = 0; c < x->num; c++)
                    shadow_write(x, desc_at(x, c), zero, sizeof zero);
                shadow_write(x, x->w1 + x->drv_off, zero, XCV_VRING_PACKED_EVENT_BYTES);
            }
            break;
        }
        case PDEV_OP_PATCH: {
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
        case PDEV_OP_DESC:
            drv_any_desc(x, s);
            break;
        case PDEV_OP_OFFER:
            drv_offer(x, s);
            break;
        case PDEV_OP_RELEASE:
            if (x->held) {
                uint8_t v[2];
                xcv_le16_store(v, x->held_flags);
                shadow_write(x, desc_at(x, x->held_c) + 14, v, 2);
                x->held = false;
            }
            break;
        case PDEV_OP_EVENT: {
            /* The driver's event suppression area: flags ENABLE/DISABLE/DESC or raw, off_wrap
             * raw or a position within a lap of the device's used position. */
            uint8_t m = fin_u8(s);
            uint16_t a = fin_u16(s);
            uint16_t flags = (m & 3u) == 3u ? fin_u16(s) : (uint16_t)(m & 3u);
            uint16_t off_wrap = a;
            if (!(m & 4u)) {
                uint32_t c = x->used_c + x->num + a % (2u * x->num); /* used_c - num .. + num */
                off_wrap = (uint16_t)(pos_of(x, c) | (wrap_of(x, c) ? WRAP_BIT : 0u));
            }
            uint8_t v[4];
            xcv_le16_store(v, off_wrap);
            xcv_le16_store(v + 2, flags);
            shadow_write(x, x->w1 + x->drv_off, v, sizeof v);
            break;
        }
        default:
            break;
        }
        /* After every step: */
        FUZZ_CHECK(xcv_vq_device_broken(&x->q) == x->broken);
        FUZZ_CHECK(xcv_vq_device_in_flight(&x->q) == x->n_pop);
        FUZZ_CHECK(x->n_pop <= x->num && x->descs_in_use <= x->num);
        FUZZ_CHECK(xcv_vq_device_next_avail(&x->q) ==
                   (pos_of(x, x->avail_c) | (wrap_of(x, x->avail_c) ? WRAP_BIT : 0u)));
        /* The device wrote exactly what the model expects, and nothing else. */
        FUZZ_CHECK(memcmp(x->w1, x->shadow1, WIN1) == 0);
        if (x->two_windows)
            FUZZ_CHECK(memcmp(x->w2, x->shadow2, WIN2) == 0);
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
    x.num = SIZES[fin_u8(&in) % 8u];
    uint16_t mc = (uint16_t)(fin_u8(&in) % (x.num + 1u));
    x.max_chain = mc != 0 ? mc : x.num;
    uint16_t script_len = fin_u16(&in);
    x.event_idx = (cfg & 1u) != 0;
    x.polled = (cfg & 2u) != 0;
    x.two_windows = (cfg & 4u) != 0;

    x.ring_off = 0;
    x.drv_off = XCV_VRING_PACKED_DRIVER_OFFSET(x.num, LINE);
    x.dev_off = XCV_VRING_PACKED_DEVICE_OFFSET(x.num, LINE);
    if (cfg & 8u) {
        x.ring_off = fin_u16(&in) % WIN1;
        x.drv_off = fin_u16(&in) % WIN1;
        x.dev_off = fin_u16(&in) % WIN1;
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
    FUZZ_CHECK(x.w1 && x.w2 && x.shadow1 && x.shadow2);
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

    uint64_t features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED);
    if (x.event_idx)
        features |= XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
    if (cfg & 0x40u)
        features |= XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    struct xcv_vq_dev_slot *slots = malloc(XCV_VQ_DEVICE_SLOTS_BYTES(x.num));
    FUZZ_CHECK(slots != NULL);
    const struct xcv_port port = {.ops = &g_ops, .ctx = &x};
    const struct xcv_vq_device_config vc = {
        .mem = &x.mem,
        .num = x.num,
        .desc_bus = bus1 + x.ring_off,
        .avail_bus = bus1 + x.drv_off,
        .used_bus = bus1 + x.dev_off,
        .features = features,
        .max_chain = mc,
        .slots = slots,
        .port = &port,
        .doorbell = 7,
        .polled = x.polled,
    };
    int r = xcv_vq_device_init(&x.q, &vc);
    size_t ring_bytes = XCV_VRING_DESC_BYTES(x.num);
    size_t ev = XCV_VRING_PACKED_EVENT_BYTES;
    bool placed =
        x.ring_off + ring_bytes <= WIN1 && x.drv_off + ev <= WIN1 && x.dev_off + ev <= WIN1;
    bool aligned = (x.ring_off % 16u) == 0 && (x.drv_off % 4u) == 0 && (x.dev_off % 4u) == 0;
    if (placed && aligned) {
        FUZZ_CHECK(r == XCV_OK);
        FUZZ_CHECK(xcv_vq_device_broken(&x.q) == 0 && xcv_vq_device_in_flight(&x.q) == 0);
        if (x.polled) /* a polled queue asks for no notifications from the start */
            expect_dev_event(&x, XCV_VRING_PACKED_EVENT_DISABLE);
        FUZZ_CHECK(memcmp(x.w1, x.shadow1, WIN1) == 0);
        if (disjoint(x.ring_off, ring_bytes, x.drv_off, ev) &&
            disjoint(x.ring_off, ring_bytes, x.dev_off, ev) &&
            disjoint(x.drv_off, ev, x.dev_off, ev))
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
    return 0;
}
