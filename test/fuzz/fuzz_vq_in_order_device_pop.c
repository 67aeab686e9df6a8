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
 *   rest       the initial contents of window 1 (FZ_WIN1 bytes), then window 2 (FZ_WIN2 bytes)
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

#define DATA_OFF 0x400u /* where IODEV_OP_OFFER places its buffers in window 1 */
#define IND_TABLES 8u   /* IODEV_OP_OFFER: tables of 4 descriptors at FZ_IND_AREA */

struct popped {
    uint16_t head;
    uint16_t ndesc; /* ring descriptors of the chain */
    uint32_t in_len;
    uint32_t c; /* free-running table position of its head */
};

struct ctx {
    struct xcv_vq_device q;
    struct fz_wins m;
    struct fz_mirror img; /* window 1 and the model's image of it */
    bool replay_arm;      /* model_enable() also stores the request (see do_pop_burst) */
    struct fz_port port;
    uint8_t *scratch; /* window 1 image with the unpublished used entries taken as they are */
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
    struct popped fifo[FZ_MAXNUM];
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
    int broken;   /* the protocol error seen, or 0 */
    int proc_err; /* XCV_EINVAL when a push inside process was out of order */
    /* The racing driver (IODEV_OP_OFFER). */
    uint32_t drv_c;      /* free-running table position of its next descriptor */
    uint32_t drv_free_c; /* descriptors before this one came back (used and published) */
    uint16_t drv_avail;  /* its available index */
    struct fuzz_in *script;
};

static uint16_t avail_idx(const struct ctx *x)
{
    return xcv_le16_load(x->m.w1 + x->avail_off + 2u);
}

static struct popped *fifo_at(struct ctx *x, unsigned k)
{
    FUZZ_CHECK(k < x->n_pop);
    return &x->fifo[(x->fifo_head + k) % FZ_MAXNUM];
}

static bool head_in_flight(struct ctx *x, uint16_t head)
{
    for (unsigned k = 0; k < x->n_pop; k++)
        if (fifo_at(x, k)->head == head)
            return true;
    return false;
}

/* Reference check of the chain at the in-order head (fz_split_walk): the harness's oracle. */
struct ref_chain {
    struct fz_walk w;
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
    rc->head = head;
    return fz_split_walk(&x->m, x->desc_off, x->num, x->indirect, x->max_chain, head, &rc->w,
                         &rc->nring)
               ? REF_OK
               : REF_REFUSE;
}

/* enable_notify as the model sees it: the request written, then the index checked. */
static size_t arm_off(const struct ctx *x)
{
    return x->event_idx ? fz_avail_event_off(x->used_off, x->num) : x->used_off;
}

static int model_enable(struct ctx *x)
{
    /* avail_event = the next entry to pop, or NO_NOTIFY cleared. */
    uint16_t v = x->event_idx ? x->last_avail : 0u;
    fz_expect16(&x->img, arm_off(x), v);
    if (x->replay_arm)
        xcv_le16_store(x->img.mem + arm_off(x), v);
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
    fz_broke(&x->broken, r, xcv_vq_device_broken(&x->q), &x->port, logs_before);
}

/* The library popped @p c: it must be the chain the reference accepts; the model takes it. */
static void accept_pop(struct ctx *x, enum ref_result k, const struct ref_chain *rc,
                       const struct xcv_chain *c)
{
    FUZZ_CHECK(k == REF_OK); /* else: accepted a chain the rules refuse */
    fz_same_chain(c, rc->head, &rc->w);
    FUZZ_CHECK(x->n_pop < x->num);
    struct popped *p = &x->fifo[(x->fifo_head + x->n_pop) % FZ_MAXNUM];
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

/* A run's one used entry, written when the run ends: when the next push cannot join it, or at
 * publish. (The harness's own buffer writes may land on the used ring afterwards, where a
 * hostile driver placed a buffer; the image then follows the same order of writes.) */
static void exp_entry(struct ctx *x, uint16_t pos, uint16_t id, uint32_t len)
{
    uint8_t *e = x->m.shadow1 + fz_used_entry_off(x->used_off, x->num, pos);
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
    x->fifo_head = (x->fifo_head + 1u) % FZ_MAXNUM;
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
    fz_expect16(&x->img, x->used_off + 2u, x->used_count);
    x->used_pub = x->used_count;
    x->drv_free_c = x->push_c; /* the driver sees these chains back */
    return n;
}

static int model_should_notify(struct ctx *x)
{
    return fz_split_notify(&x->signalled, x->used_pub, x->event_idx,
                           x->m.w1 + fz_used_event_off(x->avail_off, x->num),
                           x->m.w1 + x->avail_off, XCV_VRING_AVAIL_F_NO_INTERRUPT);
}

/* Used entries at positions pushed and not yet published are the device's business until
 * publish: the library may write them early (when a run ends) or late. */
static void unpublished_as_they_are(struct ctx *x, uint8_t *img)
{
    uint16_t n = (uint16_t)(x->used_count - x->used_pub);
    if (n > x->num)
        n = x->num;
    for (uint16_t i = 0; i < n; i++) {
        size_t off = fz_used_entry_off(x->used_off, x->num, (uint16_t)(x->used_pub + i));
        memcpy(img + off, x->m.w1 + off, 8);
    }
}

static void model_reset(struct ctx *x)
{
    /* Entries never published stay as the library left them. */
    unpublished_as_they_are(x, x->m.shadow1);
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
    fz_use_chain(&x->m, chain, x->max_chain, x->num);
    int ret = fz_handler_answer(x->script, chain, written); /* 1: kept for IODEV_OP_PUSH */
    if (ret == 0) {
        /* The library pushes it when we return: out of pop order that fails and ends the
         * call with XCV_EINVAL, the chain staying in flight. */
        if (model_push(x, chain->head, *written) != XCV_OK)
            x->proc_err = XCV_EINVAL;
    } else if (ret == XCV_EIO) {
        (void)model_push(x, chain->head, 0); /* the library pushes it with 0 bytes, if it can */
    }
    return ret;
}

/* IODEV_OP_OFFER: a chain as a correct in-order driver writes it, at its own table position. */
static void drv_offer(struct ctx *x, struct fuzz_in *s)
{
    uint8_t shape = fin_u8(s);
    unsigned n_out, n_in;
    unsigned n = fz_shape3(shape, &n_out, &n_in);
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
    uint64_t bus = x->m.win[0].bus_base;
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
        size_t off = ind ? FZ_IND_AREA + (size_t)(head % IND_TABLES) * 64u + (size_t)k * 16u
                         : x->desc_off + (size_t)at * XCV_VRING_DESC_SIZE;
        fz_shadow_write(&x->m, x->m.w1 + off, d, sizeof d);
    }
    if (ind) {
        xcv_le64_store(d, bus + FZ_IND_AREA + (head % IND_TABLES) * 64u);
        xcv_le32_store(d + 8, (uint32_t)(n * XCV_VRING_DESC_SIZE));
        xcv_le16_store(d + 12, XCV_VRING_DESC_F_INDIRECT);
        xcv_le16_store(d + 14, 0);
        fz_shadow_write(&x->m, x->m.w1 + x->desc_off + (size_t)head * XCV_VRING_DESC_SIZE, d,
                        sizeof d);
    }
    fz_shadow_store16(&x->m, x->m.w1 + fz_avail_slot_off(x->avail_off, x->num, x->drv_avail), head);
    x->drv_c += ndesc;
    x->drv_avail++;
    if (!hold)
        fz_shadow_store16(&x->m, x->m.w1 + x->avail_off + 2u, x->drv_avail);
}

/* The model's view of every window byte, with the unpublished used entries as they are. */
static void check_windows(struct ctx *x)
{
    memcpy(x->scratch, x->m.shadow1, FZ_WIN1);
    unpublished_as_they_are(x, x->scratch);
    FUZZ_CHECK(memcmp(x->m.w1, x->scratch, FZ_WIN1) == 0);
    if (x->m.two)
        FUZZ_CHECK(memcmp(x->m.w2, x->m.shadow2, FZ_WIN2) == 0);
}

static void do_pop_burst(struct ctx *x, struct fuzz_in *s, const struct fz_iovs *io,
                         bool was_broken, unsigned logs)
{
    unsigned n = fin_u8(s) % (FZ_DEV_BURST_MAX + 1u);
    struct xcv_chain c[FZ_DEV_BURST_MAX];
    fz_burst_chains(io, c);
    uint8_t pre[2], post[2];
    memcpy(pre, x->img.mem + arm_off(x), 2);
    int r = xcv_vq_device_pop_burst(&x->q, c, n);
    if (fz_stays_broken(was_broken, r))
        return;
    /* Check every chain against the memory as the library read it, before any buffer is
     * written (a writable buffer may lie on the table). A burst that ran dry re-armed in the
     * middle of the call, and that request may lie on an indirect table or a buffer of a chain
     * popped before it: the reference walks from the memory as it was before the call, and
     * stores the request where the model re-arms; the library must have stored the same. */
    memcpy(post, x->img.mem + arm_off(x), 2);
    memcpy(x->img.mem + arm_off(x), pre, 2);
    x->replay_arm = true;
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
    x->replay_arm = false;
    FUZZ_CHECK(memcmp(x->img.mem + arm_off(x), post, 2) == 0);
    for (unsigned k = 0; k < got; k++)
        fz_use_chain(&x->m, &c[k], x->max_chain, x->num);
}

static void do_process(struct ctx *x, struct fuzz_in *s, struct xcv_iov *iov, bool was_broken,
                       unsigned logs)
{
    unsigned budget = fin_u8(s) % 8u;
    struct xcv_chain c = {.iov = iov, .cap = x->max_chain};
    unsigned before = x->port.notifies;
    unsigned popped_before = x->last_avail;
    x->proc_err = 0;
    int r = xcv_vq_device_process(&x->q, budget, &c, handler, x);
    if (fz_stays_broken(was_broken, r))
        return;
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
        FUZZ_CHECK(x->port.notifies - before == (unsigned)want);
    } else {
        FUZZ_CHECK(x->port.notifies == before);
    }
}

static void run(struct ctx *x, struct fuzz_in *s)
{
    struct fz_iovs io;
    fz_iovs_open(&io, x->max_chain);
    x->script = s;
    while (s->n > 0) {
        uint8_t op = (uint8_t)(fin_u8(s) % IODEV_OP_COUNT);
        unsigned logs = x->port.logs;
        bool was_broken = x->broken != 0;
        int r;
        switch (op) {
        case IODEV_OP_POP:
        case IODEV_OP_POP_OR_ARM: {
            bool arm = op == IODEV_OP_POP_OR_ARM;
            struct xcv_chain c = {.iov = io.one, .cap = x->max_chain};
            r = arm ? xcv_vq_device_pop_or_arm(&x->q, &c) : xcv_vq_device_pop(&x->q, &c);
            if (fz_stays_broken(was_broken, r))
                break;
            struct ref_chain rc;
            enum ref_result k = ref_next(x, arm, &rc);
            if (r == XCV_OK) {
                accept_pop(x, k, &rc, &c);
                fz_use_chain(&x->m, &c, x->max_chain, x->num);
            } else {
                expect_no_pop(x, r, k, logs);
            }
            break;
        }
        case IODEV_OP_POP_BURST:
            do_pop_burst(x, s, &io, was_broken, logs);
            break;
        case IODEV_OP_PUSH: {
            uint8_t how = fin_u8(s);
            unsigned k = 1u + how % 4u;
            if (how & 0x80u) {
                /* The oldest chains in one push_burst: all staged, as one at a time would. */
                struct xcv_chain_done d[4];
                unsigned n = 0;
                for (unsigned i = 0; i < k && i < x->n_pop; i++) {
                    struct popped *p = fifo_at(x, i);
                    d[n].head = p->head;
                    d[n].len = fz_part(p->in_len, fin_u8(s));
                    n++;
                }
                r = xcv_vq_device_push_burst(&x->q, d, n);
                FUZZ_CHECK(r == (was_broken ? XCV_EBROKEN : (int)n));
                for (unsigned i = 0; !was_broken && i < n; i++)
                    FUZZ_CHECK(model_push(x, d[i].head, d[i].len) == XCV_OK);
                break;
            }
            for (unsigned i = 0; i < k; i++) {
                uint8_t frac = fin_u8(s);
                if (x->n_pop == 0)
                    break;
                struct popped *p = fifo_at(x, 0);
                uint32_t len = fz_part(p->in_len, frac);
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
            if (m & 4u) {
                /* The same entry through push_burst: 1 staged, or push's refusal. */
                struct xcv_chain_done d = {head, len};
                r = xcv_vq_device_push_burst(&x->q, &d, 1);
                int want = model_push(x, head, len);
                FUZZ_CHECK(r == (want == XCV_OK ? 1 : want));
            } else {
                r = xcv_vq_device_push(&x->q, head, len);
                FUZZ_CHECK(r == model_push(x, head, len));
            }
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
            unsigned before = x->port.notifies;
            r = xcv_vq_device_flush(&x->q);
            if (!fz_stays_broken(was_broken, r)) {
                model_publish(x);
                FUZZ_CHECK(r == model_should_notify(x));
                FUZZ_CHECK(x->port.notifies == before + (unsigned)r);
            }
            break;
        }
        case IODEV_OP_PROCESS:
            do_process(x, s, io.one, was_broken, logs);
            break;
        case IODEV_OP_ENABLE_NOTIFY:
            r = xcv_vq_device_enable_notify(&x->q);
            if (!fz_stays_broken(was_broken, r)) {
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
                    fz_any16(&x->img, fz_avail_event_off(x->used_off,
                                                         x->num)); /* any value is a valid hint */
                else
                    fz_expect16(&x->img, x->used_off, XCV_VRING_USED_F_NO_NOTIFY);
            }
            break;
        case IODEV_OP_RESET: {
            uint8_t how = fin_u8(s);
            fz_dev_reset(&x->q);
            FUZZ_CHECK(xcv_vq_device_next_avail(&x->q) == 0);
            model_reset(x);
            if (how & 2u)
                FUZZ_CHECK(xcv_vq_device_set_base(&x->q, 0, 0) == XCV_OK);
            if (how & 1u) {
                /* The driver starts over too. */
                fz_shadow_store16(&x->m, x->m.w1 + x->avail_off + 2u, 0);
                x->drv_c = 0;
                x->drv_avail = 0;
            }
            break;
        }
        case IODEV_OP_PATCH:
            fz_patch(&x->m, s);
            break;
        case IODEV_OP_AVAIL_BUMP:
            fz_avail_bump(&x->m, s, x->avail_off, x->num);
            break;
        case IODEV_OP_SLOTS: {
            /* Garbage in available slots: an in-order device must not look at them. */
            uint8_t k = fin_u8(s) % 4u;
            for (unsigned i = 0; i <= k; i++) {
                uint8_t pos = fin_u8(s);
                uint16_t v = fin_u16(s);
                fz_shadow_store16(&x->m,
                                  x->m.w1 + fz_avail_slot_off(x->avail_off, x->num,
                                                              (uint16_t)(x->last_avail + pos)),
                                  v);
            }
            break;
        }
        case IODEV_OP_DESC:
            /* One descriptor, near the device's next head or in the indirect area. */
            fz_split_any_desc(&x->m, s, x->desc_off, x->num, x->next_c);
            break;
        case IODEV_OP_OFFER:
            drv_offer(x, s);
            break;
        case IODEV_OP_EVENT:
            fz_shadow_store16(&x->m, x->m.w1 + fz_used_event_off(x->avail_off, x->num), fin_u16(s));
            fz_shadow_store16(&x->m, x->m.w1 + x->avail_off, fin_u16(s));
            break;
        default:
            break;
        }
        if (x->polled && x->event_idx && op != IODEV_OP_ENABLE_NOTIFY)
            fz_any16(&x->img,
                     fz_avail_event_off(x->used_off,
                                        x->num)); /* pops renew the polled hint now and then */
        /* After every step: */
        FUZZ_CHECK(xcv_vq_device_broken(&x->q) == x->broken);
        FUZZ_CHECK(xcv_vq_device_in_flight(&x->q) == x->n_pop);
        FUZZ_CHECK(xcv_vq_device_next_avail(&x->q) == x->last_avail);
        FUZZ_CHECK(x->n_pop <= x->num);
        /* The device wrote exactly what the model expects, and nothing else. */
        check_windows(x);
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
    fz_dev_input(&in, fz_pow2_sizes, 6, false, &h, &x.m);
    x.img = (struct fz_mirror){x.m.w1, x.m.shadow1};
    x.scratch = fz_alloc(0, FZ_WIN1);
    x.num = h.num;
    x.mask = (uint16_t)(x.num - 1u);
    x.max_chain = h.max_chain;
    x.event_idx = (h.cfg & 1u) != 0;
    x.indirect = (h.cfg & 2u) != 0;
    x.polled = (h.cfg & 0x40u) != 0;
    x.avail_off = h.off[1];
    x.used_off = h.off[2];

    struct xcv_vq_dev_slot *slots;
    uint64_t features = fz_features(XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER), x.event_idx, x.indirect);
    if (fz_dev_open(&x.q, &x.port, &x.m, &h, features, x.polled, false, &slots)) {
        x.desc_off = h.off[0];
        if (x.polled) { /* a polled queue asks for no notifications from the start */
            if (x.event_idx)
                fz_any16(&x.img, fz_avail_event_off(x.used_off, x.num));
            else
                fz_expect16(&x.img, x.used_off, XCV_VRING_USED_F_NO_NOTIFY);
        }
        FUZZ_CHECK(memcmp(x.m.w1, x.m.shadow1, FZ_WIN1) == 0);
        run(&x, &h.script);
    }
    free(slots);
    free(x.scratch);
    fz_wins_close(&x.m);
    return 0;
}
