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
 *   rest       the initial contents of window 1 (FZ_WIN1 bytes), then window 2 (FZ_WIN2 bytes)
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
 * - push / push_burst (up to four chains, perhaps ended by an entry it must refuse) / publish /
 *   should_notify / enable_notify return what the model predicts, and the
 *   device's writes are exactly the used descriptors (id, len, then flags: AVAIL = USED = the
 *   used wrap counter, WRITE when len != 0; the first flags of a batch only at publish) and its
 *   event suppression area: the windows are compared byte for byte with the model's image;
 * - after a protocol error the queue reports it, the log hook saw it once, and every later
 *   call returns XCV_EBROKEN until reset;
 * - every call returns (the per-input timeout catches a loop that does not end).
 *
 * The byte-exact model needs the three ring areas disjoint; the library refuses areas that
 * overlap (XCV_EPROTO_LAYOUT), so such a layout only has its init checked.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#include "fuzz_common.h"
#include "fuzz_ring.h"

#define DATA_OFF 0x300u /* where PDEV_OP_OFFER places its buffers in window 1 */
#define F_AVAIL XCV_VRING_PACKED_DESC_F_AVAIL
#define F_USED XCV_VRING_PACKED_DESC_F_USED

static const uint16_t SIZES[8] = {8, 6, 1, 2, 3, 5, 16, 32};

struct popped {
    uint16_t id;
    uint16_t ndesc;
    uint32_t in_len;
};

struct ctx {
    struct xcv_vq_device q;
    struct fz_wins m;
    struct fz_port port;
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
    struct popped pop[FZ_MAXNUM];
    unsigned n_pop;
    unsigned descs_in_use;
    int broken; /* the protocol error seen, or 0 */
    /* The racing driver. */
    uint32_t drv_c;   /* where PDEV_OP_OFFER writes next */
    uint16_t next_id; /* where PDEV_OP_OFFER looks for a free buffer id */
    bool held;        /* a first flags word held back until PDEV_OP_RELEASE */
    uint32_t held_c;  /* its position */
    uint16_t held_flags;
    struct fuzz_in *script;
};

static uint16_t pos_of(const struct ctx *x, uint32_t c)
{
    return fz_packed_pos(c, x->num);
}

static bool wrap_of(const struct ctx *x, uint32_t c)
{
    return fz_packed_wrap(c, x->num);
}

static uint8_t *desc_at(const struct ctx *x, uint32_t c)
{
    return x->m.w1 + x->ring_off + (size_t)pos_of(x, c) * XCV_VRING_DESC_SIZE;
}

/* 2.8.1: available in the lap of driver wrap counter @p wrap when AVAIL == wrap != USED. */
static bool is_avail(uint16_t flags, bool wrap)
{
    bool a = (flags & F_AVAIL) != 0u;
    bool u = (flags & F_USED) != 0u;
    return a == wrap && u != wrap;
}

/* A write the device role is expected to make: into the model's image only. */
static void expect_write16(struct ctx *x, uint8_t *p, uint16_t v)
{
    xcv_le16_store(fz_shadow_of(&x->m, p), v);
}

static void expect_write32(struct ctx *x, uint8_t *p, uint32_t v)
{
    xcv_le32_store(fz_shadow_of(&x->m, p), v);
}

/* The device event suppression area the device writes: its next position and @p flags. */
static void expect_dev_event(struct ctx *x, uint16_t flags)
{
    uint32_t off_wrap = fz_packed_off_wrap(x->avail_c, x->num);
    expect_write32(x, x->m.w1 + x->dev_off, off_wrap | ((uint32_t)flags << 16));
}

/* The device event area's flags when the device asks to be notified. */
static uint16_t arm_flags(const struct ctx *x)
{
    return x->event_idx ? (uint16_t)XCV_VRING_PACKED_EVENT_DESC
                        : (uint16_t)XCV_VRING_PACKED_EVENT_ENABLE;
}

/*
 * Reference check of the chain at the device's next position, written from the rules in
 * vq_device.h and the virtio spec (2.8.1, 2.8.6, 2.8.7), independently of the library.
 */
struct ref_chain {
    struct fz_walk w;
    uint16_t id;
};

enum ref_result {
    REF_EMPTY,
    REF_REFUSE,
    REF_OK
};

static int find_popped(const struct ctx *x, uint16_t id)
{
    for (unsigned i = 0; i < x->n_pop; i++)
        if (x->pop[i].id == id)
            return (int)i;
    return -1;
}

static enum ref_result ref_pop(const struct ctx *x, struct ref_chain *rc)
{
    uint32_t c = x->avail_c;
    if (!is_avail(xcv_le16_load(desc_at(x, c) + 14), wrap_of(x, c)))
        return REF_EMPTY;
    memset(&rc->w, 0, sizeof rc->w);
    for (;;) {
        unsigned n = rc->w.n;
        const uint8_t *d = desc_at(x, c + n);
        uint64_t addr = xcv_le64_load(d);
        uint32_t len = xcv_le32_load(d + 8);
        uint16_t id = xcv_le16_load(d + 12);
        uint16_t flags = xcv_le16_load(d + 14);
        if (n > 0 && !is_avail(flags, wrap_of(x, c + n)))
            return REF_REFUSE; /* NEXT names a descriptor the driver did not make available */
        if (flags & XCV_VRING_DESC_F_INDIRECT)
            return REF_REFUSE; /* no indirect tables in a packed ring */
        /* The (n+1)th descriptor: within max_chain, and with the chains in flight within the
         * ring (a driver never has more descriptors outstanding than the ring holds). */
        if (x->descs_in_use + n >= x->num || !fz_walk_add(&rc->w, &x->m, x->max_chain, addr, len,
                                                          (flags & XCV_VRING_DESC_F_WRITE) != 0))
            return REF_REFUSE;
        rc->id = id; /* 2.8.6: the buffer id is the last descriptor's */
        if (!(flags & XCV_VRING_DESC_F_NEXT))
            break;
    }
    if (rc->id >= x->num || find_popped(x, rc->id) >= 0)
        return REF_REFUSE;
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
    fz_broke(&x->broken, r, xcv_vq_device_broken(&x->q), &x->port, logs_before);
}

/* The library popped @p c: it must be the chain the reference accepts; the model takes it. */
static void accept_pop(struct ctx *x, const struct xcv_chain *c)
{
    struct ref_chain rc;
    FUZZ_CHECK(ref_pop(x, &rc) == REF_OK); /* else: accepted a chain the rules refuse */
    fz_same_chain(c, rc.id, &rc.w);
    FUZZ_CHECK(x->n_pop < x->num);
    x->pop[x->n_pop].id = rc.id;
    x->pop[x->n_pop].ndesc = (uint16_t)rc.w.n;
    x->pop[x->n_pop].in_len = c->in_len;
    x->n_pop++;
    x->descs_in_use += rc.w.n;
    FUZZ_CHECK(x->descs_in_use <= x->num);
    x->avail_c += rc.w.n;
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

/* The model of a successful push of popped chain @p i: one used descriptor at used_c. */
static void model_push(struct ctx *x, unsigned i, uint32_t len)
{
    struct popped pp = x->pop[i];
    FUZZ_CHECK(len <= pp.in_len);
    uint8_t *d = desc_at(x, x->used_c);
    uint16_t flags = fz_packed_used_bits(wrap_of(x, x->used_c));
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
    return fz_packed_notify(x->m.w1 + x->drv_off, x->event_idx, x->pub_c - n, n, x->num);
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
    fz_use_chain(&x->m, chain, x->max_chain, x->num);
    int i = find_popped(x, chain->head);
    FUZZ_CHECK(i >= 0);
    int ret = fz_handler_answer(x->script, chain, written); /* 1: kept for PDEV_OP_PUSH */
    if (ret == 0)
        model_push(x, (unsigned)i, *written); /* the library pushes it when we return */
    else if (ret == XCV_EIO)
        model_push(x, (unsigned)i, 0); /* the library pushes it with 0 bytes */
    return ret;
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
    fz_shadow_write(&x->m, desc_at(x, c), d, sizeof d);
}

/* PDEV_OP_OFFER: a chain as a correct driver writes it, at the driver's own position. */
static void drv_offer(struct ctx *x, struct fuzz_in *s)
{
    uint8_t shape = fin_u8(s);
    uint8_t idb = fin_u8(s);
    unsigned n_out, n_in;
    unsigned n = fz_shape(shape, &n_out, &n_in);
    if (shape & 0x80u)
        x->drv_c = x->avail_c; /* resynchronise with the device */
    uint16_t id;
    if (idb & 0x80u) {
        id = (uint16_t)(idb & 0x7fu); /* any id, perhaps in flight or out of range */
    } else {
        /* The next id round the ring that is not in flight on the device, so that chains
         * offered and not yet popped get ids of their own too. */
        id = (uint16_t)(x->next_id % x->num);
        for (unsigned k = 0; k < x->num && find_popped(x, id) >= 0; k++)
            id = (uint16_t)((id + 1u) % x->num);
        x->next_id = (uint16_t)((id + 1u) % x->num);
    }
    bool hold = (shape & 0x40u) != 0 && !x->held;
    for (unsigned k = 0; k < n; k++) {
        uint32_t c = x->drv_c + k;
        uint32_t len = fin_u8(s);
        uint64_t addr = x->m.win[0].bus_base + DATA_OFF + 64u * k;
        uint16_t flags = (uint16_t)(fz_packed_avail_bits(wrap_of(x, c)) |
                                    (k >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
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
        flags |= fz_packed_avail_bits(wrap_of(x, c)); /* available in this lap */
        break;
    case 1:
        flags |= fz_packed_avail_bits(!wrap_of(x, c)); /* available in the other lap */
        break;
    case 2:
        flags |= fz_packed_used_bits(wrap_of(x, c)); /* looks used */
        break;
    default:
        flags |= (uint16_t)(((fl & 0x40u) ? F_AVAIL : 0u) | ((fl & 0x80u) ? F_USED : 0u));
        break;
    }
    uint64_t base = (fl & 8u) && x->m.two ? x->m.win[1].bus_base : x->m.win[0].bus_base;
    drv_desc(x, c, base + off, len, id, flags);
}

static void run(struct ctx *x, struct fuzz_in *s)
{
    struct fz_iovs io;
    fz_iovs_open(&io, x->max_chain);
    x->script = s;
    FUZZ_CHECK(xcv_vq_device_set_base(&x->q, 0, 0) == XCV_ENOTSUP);
    while (s->n > 0) {
        uint8_t op = (uint8_t)(fin_u8(s) % PDEV_OP_COUNT);
        unsigned logs = x->port.logs;
        bool was_broken = x->broken != 0;
        int r;
        switch (op) {
        case PDEV_OP_POP:
        case PDEV_OP_POP_OR_ARM: {
            bool arm = op == PDEV_OP_POP_OR_ARM;
            struct xcv_chain c = {.iov = io.one, .cap = x->max_chain};
            r = arm ? xcv_vq_device_pop_or_arm(&x->q, &c) : xcv_vq_device_pop(&x->q, &c);
            if (fz_stays_broken(was_broken, r))
                break;
            if (r == XCV_OK) {
                accept_pop(x, &c);
                fz_use_chain(&x->m, &c, x->max_chain, x->num);
            } else {
                expect_no_pop(x, r, logs);
                if (arm && r == XCV_EAGAIN && !x->polled)
                    expect_dev_event(x, arm_flags(x));
            }
            break;
        }
        case PDEV_OP_POP_BURST: {
            unsigned n = fin_u8(s) % (FZ_DEV_BURST_MAX + 1u);
            struct xcv_chain c[FZ_DEV_BURST_MAX];
            fz_burst_chains(&io, c);
            r = xcv_vq_device_pop_burst(&x->q, c, n);
            if (fz_stays_broken(was_broken, r))
                break;
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
                    expect_dev_event(x, arm_flags(x));
            }
            for (unsigned k = 0; k < got; k++)
                fz_use_chain(&x->m, &c[k], x->max_chain, x->num);
            break;
        }
        case PDEV_OP_PUSH: {
            uint8_t which = fin_u8(s);
            uint8_t frac = fin_u8(s);
            if (x->n_pop == 0)
                break;
            unsigned i = which % x->n_pop;
            if ((frac & 0x80u) != 0u) {
                /* A burst: up to four popped chains from i on, in that order, then perhaps the
                 * first of them again, which is refused (no longer in flight) and ends it. */
                struct xcv_chain_done d[5];
                unsigned m = 1u + (unsigned)(frac >> 4) % 4u;
                if (m > x->n_pop)
                    m = x->n_pop;
                for (unsigned j = 0; j < m; j++) {
                    unsigned at = (i + j) % x->n_pop;
                    d[j].head = x->pop[at].id;
                    d[j].len = fz_part(x->pop[at].in_len, (uint8_t)(frac + 37u * j));
                }
                unsigned extra = (frac & 1u) != 0u ? 1u : 0u;
                d[m] = d[0];
                r = xcv_vq_device_push_burst(&x->q, d, m + extra);
                if (!fz_stays_broken(was_broken, r)) {
                    FUZZ_CHECK(r == (int)m);
                    for (unsigned j = 0; j < m; j++) {
                        int f = find_popped(x, d[j].head);
                        FUZZ_CHECK(f >= 0);
                        model_push(x, (unsigned)f, d[j].len);
                    }
                }
                break;
            }
            uint32_t len = fz_part(x->pop[i].in_len, frac);
            r = xcv_vq_device_push(&x->q, x->pop[i].id, len);
            if (!fz_stays_broken(was_broken, r)) {
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
            if (fz_stays_broken(was_broken, r))
                break;
            if (found >= 0 && len <= x->pop[found].in_len) {
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
            if (!fz_stays_broken(was_broken, r))
                FUZZ_CHECK(r == model_publish(x));
            break;
        case PDEV_OP_SHOULD_NOTIFY:
            r = xcv_vq_device_should_notify(&x->q);
            if (!fz_stays_broken(was_broken, r))
                fz_notify_answer(r, model_should_notify(x));
            break;
        case PDEV_OP_FLUSH: {
            unsigned before = x->port.notifies;
            r = xcv_vq_device_flush(&x->q);
            if (!fz_stays_broken(was_broken, r)) {
                model_publish(x);
                fz_notify_answer(r, model_should_notify(x));
                FUZZ_CHECK(x->port.notifies == before + (unsigned)r);
            }
            break;
        }
        case PDEV_OP_PROCESS: {
            unsigned budget = fin_u8(s) % 8u;
            struct xcv_chain c = {.iov = io.one, .cap = x->max_chain};
            unsigned before = x->port.notifies;
            r = xcv_vq_device_process(&x->q, budget, &c, handler, x);
            if (fz_stays_broken(was_broken, r))
                break;
            if (r >= 0) {
                FUZZ_CHECK((unsigned)r <= budget);
                if ((unsigned)r < budget) {
                    /* The ring ran dry: the library re-armed and found nothing. */
                    expect_no_pop(x, XCV_EAGAIN, logs);
                    if (!x->polled)
                        expect_dev_event(x, arm_flags(x));
                }
            } else if (r != XCV_EIO) {
                expect_no_pop(x, r, logs); /* a refused chain: broken, nothing flushed */
            }
            if (x->broken == 0) {
                FUZZ_CHECK(xcv_vq_device_broken(&x->q) == 0);
                model_publish(x); /* process ends with a flush */
                int want = model_should_notify(x);
                unsigned sent = x->port.notifies - before;
                fz_notify_answer((int)sent, want);
            } else {
                FUZZ_CHECK(x->port.notifies == before);
            }
            break;
        }
        case PDEV_OP_ENABLE_NOTIFY:
            r = xcv_vq_device_enable_notify(&x->q);
            if (!fz_stays_broken(was_broken, r)) {
                expect_dev_event(x, arm_flags(x));
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
            fz_dev_reset(&x->q);
            model_reset(x);
            x->drv_c = 0;
            x->held = false;
            if (how & 1u) {
                /* The driver starts over with a clean ring and event area. */
                uint8_t zero[XCV_VRING_DESC_SIZE] = {0};
                for (uint32_t c = 0; c < x->num; c++)
                    fz_shadow_write(&x->m, desc_at(x, c), zero, sizeof zero);
                fz_shadow_write(&x->m, x->m.w1 + x->drv_off, zero, XCV_VRING_PACKED_EVENT_BYTES);
            }
            break;
        }
        case PDEV_OP_PATCH:
            fz_patch(&x->m, s);
            break;
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
                fz_shadow_write(&x->m, desc_at(x, x->held_c) + 14, v, 2);
                x->held = false;
            }
            break;
        case PDEV_OP_EVENT: {
            /* The driver's event suppression area: flags ENABLE/DISABLE/DESC or raw, off_wrap
             * raw or a position within a lap of the device's used position. */
            uint8_t v[4];
            fz_packed_event_read(s, x->used_c + x->num, x->num, v); /* used_c - num .. + num */
            fz_shadow_write(&x->m, x->m.w1 + x->drv_off, v, sizeof v);
            break;
        }
        default:
            break;
        }
        /* After every step: */
        FUZZ_CHECK(xcv_vq_device_broken(&x->q) == x->broken);
        FUZZ_CHECK(xcv_vq_device_in_flight(&x->q) == x->n_pop);
        FUZZ_CHECK(x->n_pop <= x->num && x->descs_in_use <= x->num);
        FUZZ_CHECK(xcv_vq_device_next_avail(&x->q) == fz_packed_off_wrap(x->avail_c, x->num));
        /* The device wrote exactly what the model expects, and nothing else. */
        FUZZ_CHECK(memcmp(x->m.w1, x->m.shadow1, FZ_WIN1) == 0);
        if (x->m.two)
            FUZZ_CHECK(memcmp(x->m.w2, x->m.shadow2, FZ_WIN2) == 0);
    }
    fz_iovs_close(&io);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    static struct ctx x;
    memset(&x, 0, sizeof x);
    struct fz_dev_input h;
    fz_dev_input(&in, SIZES, 8, true, &h, &x.m);
    x.num = h.num;
    x.max_chain = h.max_chain;
    x.event_idx = (h.cfg & 1u) != 0;
    x.polled = (h.cfg & 2u) != 0;
    x.ring_off = h.off[0];
    x.drv_off = h.off[1];
    x.dev_off = h.off[2];

    struct xcv_vq_dev_slot *slots;
    uint64_t features =
        fz_features(XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED), x.event_idx, (h.cfg & 0x40u) != 0);
    if (fz_dev_open(&x.q, &x.port, &x.m, &h, features, x.polled, true, &slots)) {
        if (x.polled) /* a polled queue asks for no notifications from the start */
            expect_dev_event(&x, XCV_VRING_PACKED_EVENT_DISABLE);
        FUZZ_CHECK(memcmp(x.m.w1, x.m.shadow1, FZ_WIN1) == 0);
        run(&x, &h.script);
    }
    free(slots);
    fz_wins_close(&x.m);
    return 0;
}
