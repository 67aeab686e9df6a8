/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: the driver role of a split virtqueue with VIRTIO_F_IN_ORDER (virtio 1.2,
 * 2.7.5 and 2.7.9) facing a hostile device.
 *
 * The driver posts chains of 1 to 3 segments (device-readable, device-writable or both, perhaps
 * through an indirect table); the input plays the device and writes whatever it likes into the
 * used ring (entries, index, flags, avail_event) between calls to get_used / get_used_burst /
 * peek_used / kick_prepare / enable_notify / detach_unused, or behaves and answers published
 * chains in order, in batches of one used entry each. Input format (see gen_seeds.c):
 *
 *   byte 0   config: bit0 EVENT_IDX, bit1 INDIRECT_DESC (with an indirect area),
 *            bit2 prefer_indirect
 *   byte 1   queue size: 1 << (byte % 6)
 *   rest     the script: one opcode byte per step plus its arguments
 *            (enum iodrv_op in fuzz_common.h)
 *
 * The harness keeps a model written from the spec and vq_driver.h, independently of the
 * library: the chains in flight oldest first (head, ring descriptors, writable bytes), the next
 * descriptor in table order, the driver's indices (avail, published, kicked, used, and the used
 * index it last acquired) and a byte image of the ring memory and of the indirect area.
 * The used index is read when every entry the last read covered has been taken; an entry at the
 * start of a batch must name the head of one of the chains in flight that the index covers,
 * and the batch is every chain up to it. Invariants:
 * - every chain takes the next descriptors in table order (wrapping), is written exactly where
 *   the model expects it, and its head goes in the next available slot;
 * - get_used (and get_used_burst) returns the oldest chain in flight, with 0 for every chain
 *   of a batch but the last and the entry's length for the last; so a well-formed batch comes
 *   back in posting order with the lengths the device gave, and a device that only ever
 *   behaved never breaks the queue;
 * - a malformed used ring gives exactly the documented protocol error (USED_IDX for an index
 *   ahead by more than the chains in flight, USED_ID for an entry naming no chain within the
 *   index's reach, USED_LEN for a length above the named chain's writable bytes), reported
 *   once through the log hook, and every later call returns XCV_EBROKEN;
 * - peek_used returns the chain the model says comes that many places later, or NULL;
 * - no token comes back twice or without having been posted, num_free + the descriptors of the
 *   chains in flight == the queue size, and over the whole run get_used + detach_unused return
 *   each posted token exactly once;
 * - the driver never writes the used ring or the data buffers, and its notification fields
 *   and kick decisions are what the device's fields call for.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#include "fuzz_common.h"

#define MAXNUM 32u
#define IND_MAX 4u
#define MAX_SEGS 3u
#define BURST_MAX 8u
#define DATA_BYTES 4096u
#define RING_BUS UINT64_C(0x10000)
#define IND_BUS UINT64_C(0x40000)
#define DATA_BUS UINT64_C(0x80000)
#define LINE XCV_CACHE_LINE_DEFAULT

enum tok_state {
    T_FREE,
    T_OUT,
    T_DONE
};

struct tok {
    enum tok_state state;
    uint16_t head;
    uint16_t ndesc; /* ring descriptors the chain takes (1 when indirect) */
    uint32_t wlen;
    bool published;
    bool dev_done;    /* the well-behaved device (IODRV_OP_COMPLETE) has used it */
    uint32_t dev_len; /* the length it reported for it: 0 unless the last of its batch */
};

struct ctx {
    struct xcv_vq_driver q;
    struct xcv_vring_layout lay;
    uint8_t *ring;
    uint8_t *image; /* the model's image of the ring memory */
    size_t ring_bytes;
    size_t avail_off;
    size_t used_off;
    uint8_t *ind;
    uint8_t *ind_image;
    size_t ind_bytes;
    uint8_t *data;
    uint8_t *data_copy;
    uint16_t num;
    uint16_t mask;
    bool event_idx;
    bool indirect;
    bool prefer;
    struct tok tok[MAXNUM];
    struct tok *fifo[MAXNUM]; /* the chains in flight, oldest first */
    unsigned fifo_head;
    unsigned outstanding;
    unsigned descs_out;    /* ring descriptors of the chains in flight */
    uint16_t next_desc;    /* the descriptor the next chain starts at */
    uint16_t avail_idx;    /* next available slot to fill */
    uint16_t avail_pub;    /* avail index at the last publish */
    uint16_t avail_kicked; /* avail_pub at the last kick decision */
    uint16_t last_used;    /* next used entry to consume */
    uint16_t used_seen;    /* the used index the driver last acquired */
    unsigned batch_left;   /* chains of the current batch not yet taken */
    uint32_t batch_len;    /* the used length of the batch's last chain */
    int broken;
    bool hostile; /* the device wrote something else than well-formed batches since recovery */
    uint64_t posted_total;
    uint64_t returned_total;
    unsigned logs;
    int last_log_err;
    unsigned notifies;
};

static int port_notify(void *c, uint32_t doorbell)
{
    struct ctx *x = c;
    FUZZ_CHECK(doorbell == 3u);
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

static size_t used_entry_off(const struct ctx *x, uint16_t pos)
{
    return x->used_off + 4u + 8u * (size_t)(pos & x->mask);
}

static size_t used_event_off(const struct ctx *x)
{
    return x->avail_off + 4u + 2u * (size_t)x->num;
}

static size_t avail_event_off(const struct ctx *x)
{
    return x->used_off + 4u + 8u * (size_t)x->num;
}

static uint16_t ring_used_idx(const struct ctx *x)
{
    return xcv_le16_load(x->ring + x->used_off + 2u);
}

/* The harness is the device: its writes go to the ring and to the model's image. */
static void dev_write(struct ctx *x, size_t off, const uint8_t *src, size_t len)
{
    memcpy(x->ring + off, src, len);
    memcpy(x->image + off, src, len);
}

static void dev_store16(struct ctx *x, size_t off, uint16_t v)
{
    uint8_t b[2];
    xcv_le16_store(b, v);
    dev_write(x, off, b, 2);
}

static void dev_store_entry(struct ctx *x, uint16_t pos, uint32_t id, uint32_t len)
{
    uint8_t b[8];
    xcv_le32_store(b, id);
    xcv_le32_store(b + 4, len);
    dev_write(x, used_entry_off(x, pos), b, 8);
}

/* A write the driver role is expected to make: into the model's image only. */
static void expect16(struct ctx *x, size_t off, uint16_t v)
{
    xcv_le16_store(x->image + off, v);
}

/* A field whose value is the driver's choice (a hint): the image takes what is there. */
static void any16(struct ctx *x, size_t off)
{
    memcpy(x->image + off, x->ring + off, 2);
}

static struct tok *fifo_at(const struct ctx *x, unsigned k)
{
    FUZZ_CHECK(k < x->outstanding);
    return x->fifo[(x->fifo_head + k) % MAXNUM];
}

static struct tok *free_tok(struct ctx *x)
{
    for (unsigned i = 0; i < MAXNUM; i++)
        if (x->tok[i].state != T_OUT)
            return &x->tok[i];
    return NULL;
}

static void broke(struct ctx *x, int r, unsigned logs_before)
{
    FUZZ_CHECK(x->broken == 0);
    FUZZ_CHECK(r == XCV_EPROTO_USED_IDX || r == XCV_EPROTO_USED_ID || r == XCV_EPROTO_USED_LEN);
    FUZZ_CHECK(x->hostile); /* a device that only behaved never breaks the queue */
    x->broken = r;
    FUZZ_CHECK(xcv_vq_driver_broken(&x->q) == r);
    FUZZ_CHECK(x->logs == logs_before + 1u && x->last_log_err == r);
}

/* One descriptor as the model expects it; @p more false leaves next to the driver. */
static void expect_desc(uint8_t *img, const uint8_t *real, uint64_t addr, uint32_t len,
                        uint16_t flags, bool more, uint16_t next)
{
    xcv_le64_store(img, addr);
    xcv_le32_store(img + 8, len);
    xcv_le16_store(img + 12, flags);
    if (more)
        xcv_le16_store(img + 14, next);
    else
        memcpy(img + 14, real + 14, 2); /* meaningless without NEXT (2.7.5) */
}

/* A chain posted: the descriptors from next_desc in table order, its head in the next slot. */
static void model_post(struct ctx *x, struct tok *t, const struct xcv_sg *sg, unsigned n_out,
                       unsigned n, bool use_ind)
{
    uint16_t head = x->next_desc;
    uint16_t ndesc = use_ind ? 1u : (uint16_t)n;
    uint32_t wlen = 0;
    if (use_ind) {
        size_t off = (size_t)head * IND_MAX * XCV_VRING_DESC_SIZE;
        for (unsigned i = 0; i < n; i++) {
            bool more = i + 1u < n;
            uint16_t flags = (uint16_t)((i >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                                        (more ? XCV_VRING_DESC_F_NEXT : 0u));
            size_t at = off + (size_t)i * XCV_VRING_DESC_SIZE;
            expect_desc(x->ind_image + at, x->ind + at, sg[i].addr, sg[i].len, flags, more,
                        (uint16_t)(i + 1u));
        }
        size_t at = (size_t)head * XCV_VRING_DESC_SIZE;
        expect_desc(x->image + at, x->ring + at, IND_BUS + off, (uint32_t)(n * XCV_VRING_DESC_SIZE),
                    XCV_VRING_DESC_F_INDIRECT, false, 0);
    } else {
        for (unsigned i = 0; i < n; i++) {
            bool more = i + 1u < n;
            uint16_t d = (uint16_t)((head + i) & x->mask);
            uint16_t flags = (uint16_t)((i >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                                        (more ? XCV_VRING_DESC_F_NEXT : 0u));
            size_t at = (size_t)d * XCV_VRING_DESC_SIZE;
            expect_desc(x->image + at, x->ring + at, sg[i].addr, sg[i].len, flags, more,
                        (uint16_t)((d + 1u) & x->mask));
        }
    }
    for (unsigned i = n_out; i < n; i++)
        wlen += sg[i].len;
    expect16(x, x->avail_off + 4u + 2u * (size_t)(x->avail_idx & x->mask), head);
    x->avail_idx++;
    x->next_desc = (uint16_t)((head + ndesc) & x->mask);
    t->state = T_OUT;
    t->head = head;
    t->ndesc = ndesc;
    t->wlen = wlen;
    t->published = false;
    t->dev_done = false;
    t->dev_len = 0;
    FUZZ_CHECK(x->outstanding < MAXNUM);
    x->fifo[(x->fifo_head + x->outstanding) % MAXNUM] = t;
    x->outstanding++;
    x->descs_out += ndesc;
    x->posted_total++;
}

static unsigned model_num_free(const struct ctx *x)
{
    return x->num - x->descs_out;
}

static void do_add(struct ctx *x, struct fuzz_in *s)
{
    uint8_t shape = fin_u8(s);
    unsigned n = 1u + (shape & 3u) % MAX_SEGS;
    unsigned n_in = ((shape >> 2) & 3u) % (n + 1u);
    unsigned n_out = n - n_in;
    struct xcv_sg sg[MAX_SEGS];
    for (unsigned k = 0; k < n; k++) {
        sg[k].addr = DATA_BUS + k * (DATA_BYTES / MAX_SEGS);
        sg[k].len = 1u + fin_u8(s);
    }
    struct tok *t = free_tok(x);
    FUZZ_CHECK(t != NULL || x->outstanding == MAXNUM);
    if (!t)
        return;
    unsigned nf = model_num_free(x);
    unsigned logs = x->logs;
    int r = xcv_vq_driver_add(&x->q, sg, n_out, n_in, t);
    FUZZ_CHECK(x->logs == logs);
    if (x->broken) {
        FUZZ_CHECK(r == XCV_EBROKEN);
        return;
    }
    if (n > x->num) {
        FUZZ_CHECK(r == XCV_EINVAL);
        return;
    }
    /* vq_driver.h: an indirect table when one is configured, the chain has several segments,
     * and indirect is preferred or the ring lacks free descriptors. */
    bool use_ind = x->indirect && n > 1u && n <= IND_MAX && (x->prefer || n > nf);
    if ((use_ind ? 1u : n) > nf) {
        FUZZ_CHECK(r == XCV_ENOSPC);
        return;
    }
    FUZZ_CHECK(r == XCV_OK);
    model_post(x, t, sg, n_out, n, use_ind);
}

static void do_add_burst(struct ctx *x, struct fuzz_in *s)
{
    uint8_t b = fin_u8(s);
    unsigned n = b % (BURST_MAX + 1u);
    bool writable = (b & 0x80u) != 0;
    struct xcv_sg sg[BURST_MAX];
    void *tokens[BURST_MAX];
    struct tok *ts[BURST_MAX];
    unsigned have = 0;
    for (unsigned i = 0; i < MAXNUM && have < n; i++) {
        if (x->tok[i].state != T_OUT)
            ts[have++] = &x->tok[i];
    }
    n = have;
    for (unsigned k = 0; k < n; k++) {
        sg[k].addr = DATA_BUS + k * (DATA_BYTES / BURST_MAX);
        sg[k].len = 1u + fin_u8(s);
        tokens[k] = ts[k];
    }
    unsigned nf = model_num_free(x);
    int r = xcv_vq_driver_add_burst(&x->q, sg, n, writable, tokens);
    if (x->broken) {
        FUZZ_CHECK(r == XCV_EBROKEN);
        return;
    }
    if (n != 0 && nf == 0) {
        FUZZ_CHECK(r == XCV_ENOSPC);
        return;
    }
    FUZZ_CHECK(r == (int)(n < nf ? n : nf));
    for (unsigned k = 0; k < (unsigned)r; k++)
        model_post(x, ts[k], &sg[k], writable ? 0u : 1u, 1u, false);
}

static int model_publish(struct ctx *x)
{
    uint16_t n = (uint16_t)(x->avail_idx - x->avail_pub);
    if (n == 0)
        return 0;
    expect16(x, x->avail_off + 2u, x->avail_idx);
    x->avail_pub = x->avail_idx;
    for (unsigned k = 0; k < x->outstanding; k++)
        fifo_at(x, k)->published = true;
    return n;
}

/* 2.7.10: notify when the event index lies in (old, new]. */
static bool need_event(uint16_t ev, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - ev - 1u) < (uint16_t)(new_idx - old_idx);
}

/* What kick_prepare must answer after publishing; updates the model. */
static int model_kick(struct ctx *x)
{
    uint16_t old_idx = x->avail_kicked;
    uint16_t new_idx = x->avail_pub;
    x->avail_kicked = new_idx;
    if (old_idx == new_idx)
        return 0;
    if (x->event_idx)
        return need_event(xcv_le16_load(x->ring + avail_event_off(x)), new_idx, old_idx) ? 1 : 0;
    uint16_t flags = xcv_le16_load(x->ring + x->used_off);
    return (flags & XCV_VRING_USED_F_NO_NOTIFY) ? 0 : 1;
}

/*
 * What get_used must do now: XCV_EAGAIN, XCV_OK with the oldest chain in *@p tp and its length
 * in *@p lenp, or the protocol error the used ring calls for. Acquires the used index and
 * starts a batch like the driver does; the caller takes the chain with model_take().
 */
static int model_get(struct ctx *x, struct tok **tp, uint32_t *lenp)
{
    if (x->broken)
        return XCV_EBROKEN;
    if (x->last_used == x->used_seen) {
        uint16_t idx = ring_used_idx(x);
        if ((uint16_t)(idx - x->last_used) > x->outstanding)
            return XCV_EPROTO_USED_IDX;
        if (idx == x->last_used)
            return XCV_EAGAIN;
        x->used_seen = idx;
    }
    if (x->batch_left == 0) {
        const uint8_t *e = x->ring + used_entry_off(x, x->last_used);
        uint32_t id = xcv_le32_load(e);
        uint32_t len = xcv_le32_load(e + 4);
        unsigned covered = (uint16_t)(x->used_seen - x->last_used);
        FUZZ_CHECK(covered >= 1u && covered <= x->outstanding);
        unsigned k = 0;
        while (k < covered && fifo_at(x, k)->head != id)
            k++;
        if (k == covered)
            return XCV_EPROTO_USED_ID; /* names no chain the index covers */
        if (len > fifo_at(x, k)->wlen)
            return XCV_EPROTO_USED_LEN;
        x->batch_left = k + 1u;
        x->batch_len = len;
    }
    *tp = fifo_at(x, 0);
    *lenp = x->batch_left == 1u ? x->batch_len : 0u;
    return XCV_OK;
}

static void model_take(struct ctx *x, struct tok *t)
{
    FUZZ_CHECK(t == fifo_at(x, 0));
    FUZZ_CHECK(t->state == T_OUT);
    t->state = T_DONE;
    x->fifo_head = (x->fifo_head + 1u) % MAXNUM;
    x->outstanding--;
    x->descs_out -= t->ndesc;
    x->batch_left--;
    x->last_used++;
    x->returned_total++;
}

/* A token the library handed back: one of ours, in flight, and what the model predicts. */
static void check_taken(struct ctx *x, void *token, uint32_t len, struct tok *want,
                        uint32_t want_len)
{
    struct tok *t = token;
    FUZZ_CHECK(t >= x->tok && t < x->tok + MAXNUM);
    FUZZ_CHECK(t->state == T_OUT); /* never twice, never one not posted */
    FUZZ_CHECK(t == want && len == want_len);
    if (!x->hostile)
        FUZZ_CHECK(t->dev_done && len == t->dev_len); /* posting order, the device's length */
}

static void do_get_used(struct ctx *x)
{
    struct tok *want = NULL;
    uint32_t want_len = 0;
    unsigned logs = x->logs;
    int ref = model_get(x, &want, &want_len);
    void *token = NULL;
    uint32_t len = 0;
    int r = xcv_vq_driver_get_used(&x->q, &token, &len);
    FUZZ_CHECK(r == ref);
    if (r == XCV_OK) {
        check_taken(x, token, len, want, want_len);
        model_take(x, want);
    } else if (r != XCV_EAGAIN && r != XCV_EBROKEN) {
        broke(x, r, logs);
    }
}

static void do_get_used_burst(struct ctx *x, unsigned n)
{
    void *tokens[BURST_MAX];
    uint32_t lens[BURST_MAX];
    unsigned logs = x->logs;
    int r = xcv_vq_driver_get_used_burst(&x->q, tokens, lens, n);
    if (x->broken) {
        FUZZ_CHECK(r == XCV_EBROKEN);
        return;
    }
    FUZZ_CHECK(r <= (int)n);
    unsigned got = r > 0 ? (unsigned)r : 0u;
    for (unsigned k = 0; k < got; k++) {
        struct tok *want = NULL;
        uint32_t want_len = 0;
        FUZZ_CHECK(model_get(x, &want, &want_len) == XCV_OK);
        check_taken(x, tokens[k], lens[k], want, want_len);
        model_take(x, want);
    }
    if (got < n) {
        struct tok *want = NULL;
        uint32_t want_len = 0;
        int ref = model_get(x, &want, &want_len);
        FUZZ_CHECK(ref != XCV_OK);
        FUZZ_CHECK(r == (got == 0 && ref != XCV_EAGAIN ? ref : (int)got));
        if (ref != XCV_EAGAIN)
            broke(x, ref, logs); /* the entry after the last taken broke the queue */
    }
}

/* The well-behaved device: k batches of 1..4 published chains, oldest first, each answered
 * by one used entry naming its last chain, then the used index. Each batch reads a size byte
 * and a le32 length (reduced modulo the last chain's writable bytes + 1). */
static void do_complete(struct ctx *x, struct fuzz_in *s)
{
    unsigned k = fin_u8(s) % (x->num + 1u);
    uint16_t idx = ring_used_idx(x);
    unsigned next = 0;
    while (next < x->outstanding && fifo_at(x, next)->dev_done)
        next++;
    for (; k > 0; k--) {
        unsigned want = 1u + fin_u8(s) % 4u;
        unsigned b = 0;
        while (b < want && next + b < x->outstanding && fifo_at(x, next + b)->published)
            b++;
        if (b == 0)
            break;
        struct tok *last = fifo_at(x, next + b - 1u);
        uint32_t raw = fin_u32(s);
        uint32_t len = last->wlen ? raw % (last->wlen + 1u) : 0u;
        for (unsigned i = 0; i < b; i++) {
            struct tok *t = fifo_at(x, next + i);
            t->dev_done = true;
            t->dev_len = t == last ? len : 0u;
        }
        dev_store_entry(x, idx, last->head, len);
        idx = (uint16_t)(idx + b);
        next += b;
    }
    dev_store16(x, x->used_off + 2u, idx);
}

/* The hostile device writes one used entry near the driver's position. */
static void do_used_entry(struct ctx *x, struct fuzz_in *s)
{
    uint8_t p = fin_u8(s);
    uint8_t im = fin_u8(s);
    uint8_t lm = fin_u8(s);
    uint16_t pos = (uint16_t)(x->last_used + p % (2u * x->num + 1u));
    struct tok *t = NULL;
    uint32_t id;
    if (im & 0x80u) {
        id = (im & 0x40u) ? fin_u32(s) : fin_u8(s);
    } else if ((im & 0x3fu) < x->outstanding) {
        t = fifo_at(x, im & 0x3fu); /* a chain in flight, perhaps beyond the index */
        id = t->head;
    } else {
        id = (uint32_t)(im & 0x3fu) & x->mask; /* a descriptor that may be no head */
    }
    uint32_t len;
    if (lm & 0x80u) {
        len = fin_u32(s);
    } else {
        uint32_t base = t ? t->wlen : 0u;
        uint32_t less = lm & 0x3fu;
        len = (base > less ? base - less : 0u) + ((lm & 0x40u) ? 1u : 0u);
    }
    dev_store_entry(x, pos, id, len);
    x->hostile = true;
}

static void recover(struct ctx *x, bool reset_first)
{
    if (reset_first) {
        /* Reset with chains outstanding refuses and changes nothing. */
        int r = xcv_vq_driver_reset(&x->q);
        if (x->outstanding != 0) {
            FUZZ_CHECK(r == XCV_ESTATE);
            FUZZ_CHECK(xcv_vq_driver_broken(&x->q) == x->broken);
            FUZZ_CHECK(memcmp(x->ring, x->image, x->ring_bytes) == 0);
        } else {
            FUZZ_CHECK(r == XCV_OK);
        }
    }
    void *token;
    unsigned detached = 0;
    int r;
    while ((r = xcv_vq_driver_detach_unused(&x->q, &token)) == XCV_OK) {
        struct tok *t = token;
        FUZZ_CHECK(t >= x->tok && t < x->tok + MAXNUM);
        FUZZ_CHECK(t->state == T_OUT);
        t->state = T_DONE;
        x->returned_total++;
        FUZZ_CHECK(++detached <= x->outstanding);
    }
    FUZZ_CHECK(r == XCV_EAGAIN);
    FUZZ_CHECK(detached == x->outstanding);
    FUZZ_CHECK(x->returned_total == x->posted_total); /* every posted token exactly once */
    FUZZ_CHECK(xcv_vq_driver_in_flight(&x->q) == 0);
    FUZZ_CHECK(xcv_vq_driver_reset(&x->q) == XCV_OK);
    FUZZ_CHECK(xcv_vq_driver_broken(&x->q) == 0);
    FUZZ_CHECK(xcv_vq_driver_num_free(&x->q) == x->num);
    size_t used_end = x->used_off + XCV_VRING_USED_BYTES(x->num);
    for (size_t i = 0; i < used_end; i++)
        FUZZ_CHECK(x->ring[i] == 0); /* reset zeroes the ring */
    memset(x->image, 0, used_end);
    x->fifo_head = 0;
    x->outstanding = 0;
    x->descs_out = 0;
    x->next_desc = 0;
    x->avail_idx = 0;
    x->avail_pub = 0;
    x->avail_kicked = 0;
    x->last_used = 0;
    x->used_seen = 0;
    x->batch_left = 0;
    x->broken = 0;
    x->hostile = false;
}

static void step(struct ctx *x, struct fuzz_in *s)
{
    uint8_t op = (uint8_t)(fin_u8(s) % IODRV_OP_COUNT);
    unsigned logs = x->logs;
    int r;
    switch (op) {
    case IODRV_OP_ADD:
        do_add(x, s);
        break;
    case IODRV_OP_ADD_BURST:
        do_add_burst(x, s);
        break;
    case IODRV_OP_PUBLISH:
        r = xcv_vq_driver_publish(&x->q);
        FUZZ_CHECK(r == (x->broken ? XCV_EBROKEN : model_publish(x)));
        break;
    case IODRV_OP_KICK_PREPARE: {
        bool kick = (fin_u8(s) & 1u) != 0;
        unsigned before = x->notifies;
        r = kick ? xcv_vq_driver_kick(&x->q) : xcv_vq_driver_kick_prepare(&x->q);
        if (x->broken) {
            FUZZ_CHECK(r == XCV_EBROKEN);
            break;
        }
        model_publish(x);
        FUZZ_CHECK(r == model_kick(x));
        FUZZ_CHECK(x->notifies == before + (kick ? (unsigned)r : 0u));
        break;
    }
    case IODRV_OP_COMPLETE:
        do_complete(x, s);
        break;
    case IODRV_OP_USED_ENTRY:
        do_used_entry(x, s);
        break;
    case IODRV_OP_USED_IDX_SET:
        dev_store16(x, x->used_off + 2u, fin_u16(s));
        x->hostile = true;
        break;
    case IODRV_OP_USED_IDX_ADD:
        dev_store16(x, x->used_off + 2u, (uint16_t)(ring_used_idx(x) + fin_u8(s) % (x->num + 2u)));
        x->hostile = true;
        break;
    case IODRV_OP_USED_MISC:
        /* Notification fields only: a well-behaved device writes these too. */
        dev_store16(x, x->used_off, fin_u16(s));
        dev_store16(x, avail_event_off(x), fin_u16(s));
        break;
    case IODRV_OP_GET_USED: {
        unsigned k = 1u + fin_u8(s) % (x->num + 2u);
        for (unsigned i = 0; i < k; i++)
            do_get_used(x);
        break;
    }
    case IODRV_OP_GET_USED_BURST:
        do_get_used_burst(x, fin_u8(s) % (BURST_MAX + 1u));
        break;
    case IODRV_OP_PEEK_USED: {
        unsigned ahead = fin_u8(s) % 4u;
        void *p = xcv_vq_driver_peek_used(&x->q, ahead);
        if (x->broken) {
            FUZZ_CHECK(p == NULL);
        } else {
            /* In order, the chain that many places on is the one that many places down the
             * chains in flight; known once the acquired index covers its entry. */
            unsigned covered = (uint16_t)(x->used_seen - x->last_used);
            FUZZ_CHECK(p == (covered > ahead ? (void *)fifo_at(x, ahead) : NULL));
        }
        do_get_used(x);
        break;
    }
    case IODRV_OP_ENABLE_NOTIFY:
        r = xcv_vq_driver_enable_notify(&x->q);
        if (x->broken) {
            FUZZ_CHECK(r == XCV_EBROKEN);
            break;
        }
        if (x->event_idx)
            expect16(x, used_event_off(x), x->last_used);
        else
            expect16(x, x->avail_off, 0); /* NO_INTERRUPT cleared, the only flag */
        if ((uint16_t)(ring_used_idx(x) - x->last_used) > x->outstanding) {
            FUZZ_CHECK(r == XCV_EPROTO_USED_IDX);
            broke(x, r, logs);
        } else {
            FUZZ_CHECK(r == (ring_used_idx(x) != x->last_used ? 1 : 0));
        }
        break;
    case IODRV_OP_DISABLE_NOTIFY:
        xcv_vq_driver_disable_notify(&x->q);
        if (!x->broken) {
            if (x->event_idx)
                any16(x, used_event_off(x)); /* any value is a valid hint */
            else
                expect16(x, x->avail_off, XCV_VRING_AVAIL_F_NO_INTERRUPT);
        }
        break;
    case IODRV_OP_RECOVER:
        recover(x, (fin_u8(s) & 1u) != 0);
        break;
    default:
        break;
    }
    /* After every step: */
    FUZZ_CHECK(xcv_vq_driver_broken(&x->q) == x->broken);
    FUZZ_CHECK(xcv_vq_driver_in_flight(&x->q) == x->outstanding);
    FUZZ_CHECK(x->outstanding <= x->num && x->descs_out <= x->num);
    FUZZ_CHECK(xcv_vq_driver_num_free(&x->q) + x->descs_out == x->num);
    FUZZ_CHECK((uint16_t)(x->used_seen - x->last_used) <= x->outstanding);
    if (x->broken)
        FUZZ_CHECK(xcv_vq_driver_peek_used(&x->q, 0) == NULL);
    /* The driver wrote exactly what the model expects: descriptors, slots, its index and
     * notification fields; never the used ring, never a buffer. */
    FUZZ_CHECK(memcmp(x->ring, x->image, x->ring_bytes) == 0);
    if (x->ind)
        FUZZ_CHECK(memcmp(x->ind, x->ind_image, x->ind_bytes) == 0);
    FUZZ_CHECK(memcmp(x->data, x->data_copy, DATA_BYTES) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in s = {data, size};
    static struct ctx x;
    memset(&x, 0, sizeof x);
    uint8_t cfg = fin_u8(&s);
    x.num = (uint16_t)(1u << (fin_u8(&s) % 6u));
    x.mask = (uint16_t)(x.num - 1u);
    x.event_idx = (cfg & 1u) != 0;
    x.indirect = (cfg & 2u) != 0;
    x.prefer = x.indirect && (cfg & 4u) != 0;

    x.ring_bytes = XCV_VRING_BYTES(x.num, LINE);
    x.ring = aligned_alloc(LINE, x.ring_bytes); /* exact size: overruns are caught */
    x.image = malloc(x.ring_bytes);
    x.ind_bytes = XCV_VQ_INDIRECT_BYTES(x.num, IND_MAX);
    x.ind = x.indirect ? aligned_alloc(16, x.ind_bytes) : NULL;
    x.ind_image = x.indirect ? malloc(x.ind_bytes) : NULL;
    x.data = malloc(DATA_BYTES);
    x.data_copy = malloc(DATA_BYTES);
    struct xcv_vq_drv_slot *slots = malloc(XCV_VQ_DRIVER_SLOTS_BYTES(x.num));
    FUZZ_CHECK(x.ring && x.image && x.data && x.data_copy && slots);
    FUZZ_CHECK(!x.indirect || (x.ind && x.ind_image));
    memset(x.ring, 0xee, x.ring_bytes); /* init must zero it */
    if (x.ind) {
        memset(x.ind, 0xdd, x.ind_bytes);
        memcpy(x.ind_image, x.ind, x.ind_bytes);
    }
    for (unsigned i = 0; i < DATA_BYTES; i++)
        x.data[i] = (uint8_t)(i * 7u);
    memcpy(x.data_copy, x.data, DATA_BYTES);

    FUZZ_CHECK(xcv_vring_layout(x.ring, RING_BUS, x.num, LINE, &x.lay) == XCV_OK);
    x.avail_off = (size_t)((uint8_t *)x.lay.avail - x.ring);
    x.used_off = (size_t)((uint8_t *)x.lay.used - x.ring);
    FUZZ_CHECK(x.avail_off == XCV_VRING_AVAIL_OFFSET(x.num));
    FUZZ_CHECK(x.used_off == XCV_VRING_USED_OFFSET(x.num, LINE));
    uint64_t features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER);
    if (x.event_idx)
        features |= XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
    if (x.indirect)
        features |= XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    const struct xcv_port port = {.ops = &g_ops, .ctx = &x};
    const struct xcv_vq_driver_config dc = {
        .ring = &x.lay,
        .slots = slots,
        .features = features,
        .indirect_local = x.ind,
        .indirect_bus = IND_BUS,
        .indirect_max = IND_MAX,
        .prefer_indirect = x.prefer,
        .port = &port,
        .doorbell = 3,
    };
    FUZZ_CHECK(xcv_vq_driver_init(&x.q, &dc) == XCV_OK);
    size_t used_end = x.used_off + XCV_VRING_USED_BYTES(x.num);
    for (size_t i = 0; i < used_end; i++)
        FUZZ_CHECK(x.ring[i] == 0); /* init zeroes the ring (the tail padding is unused) */
    FUZZ_CHECK(xcv_vq_driver_num_free(&x.q) == x.num);
    memcpy(x.image, x.ring, x.ring_bytes);

    while (s.n > 0)
        step(&x, &s);
    recover(&x, false);

    free(slots);
    free(x.data_copy);
    free(x.data);
    free(x.ind_image);
    free(x.ind);
    free(x.image);
    free(x.ring);
    return 0;
}
