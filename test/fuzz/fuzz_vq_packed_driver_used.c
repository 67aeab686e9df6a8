/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: the driver role of a packed virtqueue (virtio 1.2, section 2.8) facing a
 * hostile device.
 *
 * The driver posts chains through the real API; the input plays the device and writes whatever
 * it likes into the ring (used descriptors: flags, id, len; raw bytes anywhere) and into the
 * device event suppression area, in as many rounds as it wants, between calls to get_used /
 * get_used_burst / peek_used / kick_prepare / enable_notify / detach_unused. Input format (see
 * gen_seeds.c):
 *
 *   byte 0   config: bit0 EVENT_IDX
 *   byte 1   queue size: 1 << (byte % 6)
 *   rest     the script: one opcode byte per step plus its arguments
 *            (enum pdrv_op in fuzz_common.h)
 *
 * The harness keeps a model written from the spec and vq_driver.h, independently of the
 * library: the free-running positions (next to fill, last published, next used expected), the
 * chains posted with their buffer id, first position, descriptor count and writable bytes, and
 * a byte image of the ring memory. Invariants:
 * - every token get_used (or get_used_burst) returns is outstanding and published, is the chain
 *   whose buffer id the used descriptor at the driver's position names, and comes with that
 *   descriptor's length, which is <= the writable bytes posted; each token comes back at most
 *   once, and after a protocol error (exactly the one the used descriptor calls for) the error
 *   is sticky and reported once through the log hook;
 * - peek_used returns NULL or an outstanding token, and for the next chain get_used would take,
 *   that chain's token;
 * - kick_prepare and enable_notify answer what the device event area and the ring call for;
 * - the driver's writes to shared memory are exactly the descriptors it posts (id in the last,
 *   AVAIL/USED from each position's own wrap counter, the batch's first flags only at publish)
 *   and its event suppression area; it never writes the data buffers or the device area;
 * - at the end (and at every PDRV_OP_RECOVER) detach_unused + reset give back every posted token
 *   not yet returned, so that over the whole run each posted token comes back exactly once.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#include "fuzz_common.h"

#define MAXNUM 32u
#define MAX_SEGS 16u /* n_out and n_in are 0..7 each */
#define BURST_MAX 8u
#define DATA_BYTES 4096u
#define RING_BUS UINT64_C(0x10000)
#define DATA_BUS UINT64_C(0x80000)
#define LINE XCV_CACHE_LINE_DEFAULT
#define F_AVAIL XCV_VRING_PACKED_DESC_F_AVAIL
#define F_USED XCV_VRING_PACKED_DESC_F_USED
#define WRAP_BIT 0x8000u

enum tok_state {
    T_FREE,
    T_OUT,
    T_DONE
};

struct tok {
    enum tok_state state;
    uint16_t id;    /* buffer id the driver gave the chain */
    uint16_t start; /* free-running position of its first descriptor */
    uint16_t ndesc;
    uint32_t wlen;
    bool published;
    bool dev_done; /* the well-behaved device (PDRV_OP_COMPLETE) has used it */
};

struct ctx {
    struct xcv_vq_driver q;
    struct xcv_vring_layout lay;
    uint8_t *ring;
    uint8_t *image; /* the model's image of the ring memory */
    size_t ring_bytes;
    size_t drv_off; /* driver event suppression area */
    size_t dev_off; /* device event suppression area */
    uint8_t *data;
    uint8_t *data_copy;
    uint16_t num;
    uint16_t mask;
    bool event_idx;
    struct tok tok[MAXNUM];
    unsigned outstanding;
    /* Free-running positions of the model. */
    uint16_t avail_idx;    /* next to fill */
    uint16_t avail_pub;    /* first not yet published */
    uint16_t avail_kicked; /* avail_pub at the last notification decision */
    uint16_t last_used;    /* where the next used descriptor is expected */
    unsigned pend_chains;  /* posted since the last publish */
    uint16_t first_flags;  /* flags of position avail_pub, stored by publish */
    int broken;
    uint16_t dev_used; /* the well-behaved device's next used position */
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

/* The wrap counter of free-running position @p c: 1 on even laps. */
static bool wrap_of(const struct ctx *x, uint16_t c)
{
    return (c & x->num) == 0u;
}

static size_t desc_off(const struct ctx *x, uint16_t c)
{
    return (size_t)(c & x->mask) * XCV_VRING_DESC_SIZE;
}

static uint16_t ring_flags(const struct ctx *x, uint16_t c)
{
    return xcv_le16_load(x->ring + desc_off(x, c) + 14);
}

/* 2.8.1: a descriptor is used in the lap of wrap counter w when AVAIL == USED == w. */
static bool is_used(const struct ctx *x, uint16_t flags, uint16_t c)
{
    bool w = wrap_of(x, c);
    return ((flags & F_AVAIL) != 0u) == w && ((flags & F_USED) != 0u) == w;
}

/* The harness is the device: its writes go to the ring and to the model's image. */
static void dev_write(struct ctx *x, size_t off, const uint8_t *src, size_t len)
{
    memcpy(x->ring + off, src, len);
    memcpy(x->image + off, src, len);
}

/* A used descriptor as the device writes it: id and len, then the flags. */
static void dev_used_desc(struct ctx *x, uint16_t c, uint16_t id, uint32_t len, uint16_t flags)
{
    uint8_t b[4];
    xcv_le32_store(b, len);
    dev_write(x, desc_off(x, c) + 8, b, 4);
    xcv_le16_store(b, id);
    dev_write(x, desc_off(x, c) + 12, b, 2);
    xcv_le16_store(b, flags);
    dev_write(x, desc_off(x, c) + 14, b, 2);
}

static uint16_t used_bits(bool wrap)
{
    return wrap ? (uint16_t)(F_AVAIL | F_USED) : (uint16_t)0u;
}

static struct tok *tok_by_id(struct ctx *x, uint16_t id)
{
    for (unsigned i = 0; i < MAXNUM; i++)
        if (x->tok[i].state == T_OUT && x->tok[i].id == id)
            return &x->tok[i];
    return NULL;
}

static void broke(struct ctx *x, int r, unsigned logs_before)
{
    FUZZ_CHECK(x->broken == 0);
    FUZZ_CHECK(xcv_err_is_protocol(r));
    x->broken = r;
    FUZZ_CHECK(xcv_vq_driver_broken(&x->q) == r);
    FUZZ_CHECK(x->logs == logs_before + 1u && x->last_log_err == r);
}

/* The driver's event suppression area as enable/disable_notify write it. */
static void expect_drv_event(struct ctx *x, uint16_t flags)
{
    uint16_t off_wrap =
        (uint16_t)((x->last_used & x->mask) | (wrap_of(x, x->last_used) ? WRAP_BIT : 0u));
    xcv_le16_store(x->image + x->drv_off, off_wrap);
    xcv_le16_store(x->image + x->drv_off + 2, flags);
}

/* Post a chain: the model's expectations, given the buffer id the library took. */
static void model_post(struct ctx *x, struct tok *t, const struct xcv_sg *sg, unsigned n_out,
                       unsigned n)
{
    uint16_t start = x->avail_idx;
    uint16_t last = (uint16_t)(start + n - 1u);
    uint16_t id = xcv_le16_load(x->ring + desc_off(x, last) + 12); /* 2.8.6: in the last */
    FUZZ_CHECK(id < x->num);
    FUZZ_CHECK(tok_by_id(x, id) == NULL); /* not the id of a chain still outstanding */
    uint32_t wlen = 0;
    for (unsigned i = 0; i < n; i++) {
        uint16_t c = (uint16_t)(start + i);
        uint8_t *d = x->image + desc_off(x, c);
        uint16_t flags = (uint16_t)((wrap_of(x, c) ? F_AVAIL : F_USED) |
                                    (i >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                                    (i + 1u < n ? XCV_VRING_DESC_F_NEXT : 0u));
        xcv_le64_store(d, sg[i].addr);
        xcv_le32_store(d + 8, sg[i].len);
        /* The id of the other descriptors is not the device's business (2.8.6): any value. */
        memcpy(d + 12, x->ring + desc_off(x, c) + 12, 2);
        if (i + 1u == n)
            xcv_le16_store(d + 12, id);
        if (c == x->avail_pub)
            x->first_flags = flags; /* stored by publish */
        else
            xcv_le16_store(d + 14, flags);
        if (i >= n_out)
            wlen += sg[i].len;
    }
    t->state = T_OUT;
    t->id = id;
    t->start = start;
    t->ndesc = (uint16_t)n;
    t->wlen = wlen;
    t->published = false;
    t->dev_done = false;
    x->avail_idx = (uint16_t)(x->avail_idx + n);
    x->outstanding++;
    x->pend_chains++;
    x->posted_total++;
}

static unsigned model_num_free(const struct ctx *x)
{
    return x->num - (uint16_t)(x->avail_idx - x->last_used);
}

static struct tok *free_tok(struct ctx *x)
{
    for (unsigned i = 0; i < MAXNUM; i++)
        if (x->tok[i].state != T_OUT)
            return &x->tok[i];
    return NULL;
}

static void do_add(struct ctx *x, struct fuzz_in *s)
{
    uint8_t shape = fin_u8(s);
    unsigned n_out = shape & 7u;
    unsigned n_in = (shape >> 3) & 7u;
    if (n_out + n_in == 0)
        n_out = 1;
    unsigned n = n_out + n_in;
    struct xcv_sg sg[MAX_SEGS];
    for (unsigned k = 0; k < n; k++) {
        sg[k].addr = DATA_BUS + k * (DATA_BYTES / MAX_SEGS);
        sg[k].len = 1u + fin_u8(s);
    }
    struct tok *t = free_tok(x);
    FUZZ_CHECK(t != NULL || x->outstanding == MAXNUM);
    if (!t)
        return;
    int r = xcv_vq_driver_add(&x->q, sg, n_out, n_in, t);
    if (x->broken) {
        FUZZ_CHECK(r == XCV_EBROKEN);
    } else if (n > x->num) {
        FUZZ_CHECK(r == XCV_EINVAL);
    } else if (n > model_num_free(x)) {
        FUZZ_CHECK(r == XCV_ENOSPC);
    } else {
        FUZZ_CHECK(r == XCV_OK);
        model_post(x, t, sg, n_out, n);
    }
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
        model_post(x, ts[k], &sg[k], writable ? 0u : 1u, 1u);
}

static int model_publish(struct ctx *x)
{
    unsigned n = x->pend_chains;
    if (n == 0)
        return 0;
    xcv_le16_store(x->image + desc_off(x, x->avail_pub) + 14, x->first_flags);
    x->avail_pub = x->avail_idx;
    x->pend_chains = 0;
    for (unsigned i = 0; i < MAXNUM; i++)
        if (x->tok[i].state == T_OUT)
            x->tok[i].published = true;
    return (int)n;
}

/* What kick_prepare must answer after publishing (1, 0, or -1 when either is acceptable). The
 * device area's DESC names a position and wrap counter: notify when it was made available
 * since the last decision. */
static int model_kick(struct ctx *x)
{
    uint16_t old_idx = x->avail_kicked;
    uint16_t new_idx = x->avail_pub;
    x->avail_kicked = new_idx;
    if (old_idx == new_idx)
        return 0;
    uint16_t off_wrap = xcv_le16_load(x->ring + x->dev_off);
    uint16_t flags = xcv_le16_load(x->ring + x->dev_off + 2);
    if (flags == XCV_VRING_PACKED_EVENT_DISABLE)
        return 0;
    if (flags != XCV_VRING_PACKED_EVENT_DESC || !x->event_idx)
        return 1;
    if ((uint16_t)(new_idx - old_idx) >= x->num)
        return 1;
    uint16_t off = (uint16_t)(off_wrap & ~WRAP_BIT);
    bool w = (off_wrap & WRAP_BIT) != 0u;
    if (off >= x->num)
        return -1; /* names no position: any answer is safe */
    for (uint16_t c = old_idx; c != new_idx; c++)
        if ((c & x->mask) == off && wrap_of(x, c) == w)
            return 1;
    return 0;
}

/*
 * What get_used must do now: XCV_EAGAIN, XCV_OK with *@p tp and *@p lenp, or the protocol
 * error the used descriptor at last_used calls for.
 */
static int ref_get_used(struct ctx *x, struct tok **tp, uint32_t *lenp)
{
    const uint8_t *d = x->ring + desc_off(x, x->last_used);
    if (!is_used(x, xcv_le16_load(d + 14), x->last_used))
        return XCV_EAGAIN;
    if (x->avail_pub == x->last_used)
        return XCV_EPROTO_USED_IDX; /* every published position is consumed already */
    uint16_t id = xcv_le16_load(d + 12);
    uint32_t len = xcv_le32_load(d + 8);
    struct tok *t = tok_by_id(x, id);
    if (t == NULL || !t->published)
        return XCV_EPROTO_USED_ID;
    if (len > t->wlen)
        return XCV_EPROTO_USED_LEN;
    *tp = t;
    *lenp = len;
    return XCV_OK;
}

static void took(struct ctx *x, struct tok *t)
{
    FUZZ_CHECK(t->state == T_OUT);
    t->state = T_DONE;
    x->outstanding--;
    x->returned_total++;
    x->last_used = (uint16_t)(x->last_used + t->ndesc);
}

static void do_get_used(struct ctx *x)
{
    struct tok *want = NULL;
    uint32_t want_len = 0;
    int ref = x->broken ? XCV_EBROKEN : ref_get_used(x, &want, &want_len);
    unsigned logs = x->logs;
    void *token = NULL;
    uint32_t len = 0;
    int r = xcv_vq_driver_get_used(&x->q, &token, &len);
    FUZZ_CHECK(r == ref);
    if (r == XCV_OK) {
        FUZZ_CHECK(token == want && len == want_len);
        took(x, want);
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
        FUZZ_CHECK(ref_get_used(x, &want, &want_len) == XCV_OK);
        FUZZ_CHECK(tokens[k] == want && lens[k] == want_len);
        took(x, want);
    }
    if (got < n) {
        struct tok *want = NULL;
        uint32_t want_len = 0;
        int ref = ref_get_used(x, &want, &want_len);
        FUZZ_CHECK(ref != XCV_OK);
        FUZZ_CHECK(r == (got == 0 && ref != XCV_EAGAIN ? ref : (int)got));
        if (ref != XCV_EAGAIN)
            broke(x, ref, logs); /* the entry after the last taken broke the queue */
    }
}

/* The well-behaved device uses k published chains, in an order the input picks. */
static void do_complete(struct ctx *x, struct fuzz_in *s)
{
    unsigned k = fin_u8(s) % (x->num + 1u);
    for (; k > 0; k--) {
        struct tok *cand[MAXNUM];
        unsigned nc = 0;
        for (unsigned i = 0; i < MAXNUM; i++) {
            struct tok *t = &x->tok[i];
            if (t->state == T_OUT && t->published && !t->dev_done)
                cand[nc++] = t;
        }
        if (nc == 0)
            return;
        struct tok *t = cand[fin_u8(s) % nc];
        uint32_t len = t->wlen ? fin_u32(s) % (t->wlen + 1u) : 0u;
        uint16_t flags = used_bits(wrap_of(x, x->dev_used));
        if (len != 0u)
            flags |= XCV_VRING_DESC_F_WRITE;
        dev_used_desc(x, x->dev_used, t->id, len, flags);
        t->dev_done = true;
        x->dev_used = (uint16_t)(x->dev_used + t->ndesc); /* skips the rest of the chain */
    }
}

/* The hostile device writes one descriptor near the driver's used position. */
static void do_used_desc(struct ctx *x, struct fuzz_in *s)
{
    uint8_t p = fin_u8(s);
    uint8_t fm = fin_u8(s);
    uint8_t im = fin_u8(s);
    uint8_t lm = fin_u8(s);
    uint16_t c = (uint16_t)(x->last_used + p % (x->num + 1u));
    uint16_t flags;
    switch (fm & 3u) {
    case 0:
        flags = used_bits(wrap_of(x, c)); /* used in this lap */
        break;
    case 1:
        flags = used_bits(!wrap_of(x, c)); /* used in the other lap */
        break;
    case 2:
        flags = wrap_of(x, c) ? (uint16_t)F_AVAIL : (uint16_t)F_USED; /* available */
        break;
    default:
        flags = fin_u16(s);
        break;
    }
    if (fm & 4u)
        flags |= XCV_VRING_DESC_F_WRITE;
    struct tok *t = NULL;
    uint16_t id;
    if (im & 0x80u) {
        id = fin_u16(s);
    } else {
        t = &x->tok[im % MAXNUM];
        id = t->state == T_OUT ? t->id : (uint16_t)(im & 0x3fu);
        if (t->state != T_OUT)
            t = NULL;
    }
    uint32_t len;
    if (lm & 0x80u) {
        len = fin_u32(s);
    } else {
        uint32_t base = t ? t->wlen : 0u;
        uint32_t less = lm & 0x3fu;
        len = (base > less ? base - less : 0u) + ((lm & 0x40u) ? 1u : 0u);
    }
    dev_used_desc(x, c, id, len, flags);
}

static void check_recovered(struct ctx *x)
{
    FUZZ_CHECK(xcv_vq_driver_broken(&x->q) == 0);
    FUZZ_CHECK(xcv_vq_driver_in_flight(&x->q) == 0);
    FUZZ_CHECK(xcv_vq_driver_num_free(&x->q) == x->num);
    for (size_t i = 0; i < x->dev_off + XCV_VRING_PACKED_EVENT_BYTES; i++)
        FUZZ_CHECK(x->ring[i] == 0); /* reset zeroes the ring and both areas */
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
        x->outstanding--;
        x->returned_total++;
        FUZZ_CHECK(++detached <= x->num);
    }
    FUZZ_CHECK(r == XCV_EAGAIN);
    FUZZ_CHECK(x->outstanding == 0);
    FUZZ_CHECK(x->returned_total == x->posted_total); /* every posted token exactly once */
    FUZZ_CHECK(xcv_vq_driver_in_flight(&x->q) == 0);
    FUZZ_CHECK(xcv_vq_driver_reset(&x->q) == XCV_OK);
    check_recovered(x);
    memset(x->image, 0, x->dev_off + XCV_VRING_PACKED_EVENT_BYTES);
    x->broken = 0;
    x->avail_idx = 0;
    x->avail_pub = 0;
    x->avail_kicked = 0;
    x->last_used = 0;
    x->pend_chains = 0;
    x->dev_used = 0;
}

static void step(struct ctx *x, struct fuzz_in *s)
{
    uint8_t op = (uint8_t)(fin_u8(s) % PDRV_OP_COUNT);
    unsigned logs = x->logs;
    int r;
    switch (op) {
    case PDRV_OP_ADD:
        do_add(x, s);
        break;
    case PDRV_OP_ADD_BURST:
        do_add_burst(x, s);
        break;
    case PDRV_OP_PUBLISH:
        r = xcv_vq_driver_publish(&x->q);
        FUZZ_CHECK(r == (x->broken ? XCV_EBROKEN : model_publish(x)));
        break;
    case PDRV_OP_KICK_PREPARE: {
        bool kick = (fin_u8(s) & 1u) != 0;
        unsigned before = x->notifies;
        r = kick ? xcv_vq_driver_kick(&x->q) : xcv_vq_driver_kick_prepare(&x->q);
        if (x->broken) {
            FUZZ_CHECK(r == XCV_EBROKEN);
            break;
        }
        model_publish(x);
        int want = model_kick(x);
        FUZZ_CHECK(r == 0 || r == 1);
        if (want >= 0)
            FUZZ_CHECK(r == want);
        FUZZ_CHECK(x->notifies == before + (kick ? (unsigned)r : 0u));
        break;
    }
    case PDRV_OP_COMPLETE:
        do_complete(x, s);
        break;
    case PDRV_OP_USED_DESC:
        do_used_desc(x, s);
        break;
    case PDRV_OP_PATCH: {
        uint16_t off = fin_u16(s);
        uint8_t len = fin_u8(s) % 17u;
        uint8_t buf[16];
        for (unsigned k = 0; k < len; k++)
            buf[k] = fin_u8(s);
        size_t o = off % x->ring_bytes;
        if (len > x->ring_bytes - o)
            len = (uint8_t)(x->ring_bytes - o);
        dev_write(x, o, buf, len);
        break;
    }
    case PDRV_OP_DEV_EVENT: {
        uint8_t m = fin_u8(s);
        uint16_t a = fin_u16(s);
        uint16_t flags = (m & 3u) == 3u ? fin_u16(s) : (uint16_t)(m & 3u);
        uint16_t off_wrap = a;
        if (!(m & 4u)) {
            /* A position within a lap either side of the published end. */
            uint16_t c = (uint16_t)(x->avail_pub - x->num + a % (2u * x->num));
            off_wrap = (uint16_t)((c & x->mask) | (wrap_of(x, c) ? WRAP_BIT : 0u));
        }
        uint8_t v[4];
        xcv_le16_store(v, off_wrap);
        xcv_le16_store(v + 2, flags);
        dev_write(x, x->dev_off, v, sizeof v);
        break;
    }
    case PDRV_OP_GET_USED: {
        unsigned k = 1u + fin_u8(s) % (x->num + 2u);
        for (unsigned i = 0; i < k; i++)
            do_get_used(x);
        break;
    }
    case PDRV_OP_GET_USED_BURST:
        do_get_used_burst(x, fin_u8(s) % (BURST_MAX + 1u));
        break;
    case PDRV_OP_PEEK_USED: {
        unsigned ahead = fin_u8(s) % 4u;
        void *p = xcv_vq_driver_peek_used(&x->q, ahead);
        if (p != NULL) {
            struct tok *t = p;
            FUZZ_CHECK(!x->broken);
            FUZZ_CHECK(t >= x->tok && t < x->tok + MAXNUM && t->state == T_OUT);
        }
        if (!x->broken) {
            struct tok *want = NULL;
            uint32_t want_len = 0;
            int ref = ref_get_used(x, &want, &want_len);
            if (ahead == 0 && ref == XCV_OK)
                FUZZ_CHECK(p == want); /* the chain get_used takes next */
        }
        do_get_used(x);
        break;
    }
    case PDRV_OP_ENABLE_NOTIFY:
        r = xcv_vq_driver_enable_notify(&x->q);
        if (x->broken) {
            FUZZ_CHECK(r == XCV_EBROKEN);
            break;
        }
        expect_drv_event(x, x->event_idx ? (uint16_t)XCV_VRING_PACKED_EVENT_DESC
                                         : (uint16_t)XCV_VRING_PACKED_EVENT_ENABLE);
        if (!is_used(x, ring_flags(x, x->last_used), x->last_used)) {
            FUZZ_CHECK(r == 0);
        } else if (x->avail_pub == x->last_used) {
            FUZZ_CHECK(r == XCV_EPROTO_USED_IDX);
            broke(x, r, logs);
        } else {
            FUZZ_CHECK(r == 1);
        }
        break;
    case PDRV_OP_DISABLE_NOTIFY:
        xcv_vq_driver_disable_notify(&x->q);
        if (!x->broken)
            expect_drv_event(x, XCV_VRING_PACKED_EVENT_DISABLE);
        break;
    case PDRV_OP_RECOVER:
        recover(x, (fin_u8(s) & 1u) != 0);
        break;
    default:
        break;
    }
    /* After every step: */
    FUZZ_CHECK(xcv_vq_driver_broken(&x->q) == x->broken);
    FUZZ_CHECK(xcv_vq_driver_in_flight(&x->q) == x->outstanding);
    FUZZ_CHECK(x->outstanding <= x->num);
    FUZZ_CHECK(xcv_vq_driver_num_free(&x->q) == model_num_free(x));
    /* The driver wrote exactly what the model expects: its descriptors and its event area. */
    FUZZ_CHECK(memcmp(x->ring, x->image, x->ring_bytes) == 0);
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

    x.ring_bytes = XCV_VRING_PACKED_BYTES(x.num, LINE);
    x.ring = aligned_alloc(LINE, x.ring_bytes); /* exact size: overruns are caught */
    x.image = malloc(x.ring_bytes);
    x.data = malloc(DATA_BYTES);
    x.data_copy = malloc(DATA_BYTES);
    struct xcv_vq_drv_slot *slots = malloc(XCV_VQ_DRIVER_SLOTS_BYTES(x.num));
    FUZZ_CHECK(x.ring && x.image && x.data && x.data_copy && slots);
    memset(x.ring, 0xee, x.ring_bytes); /* init must zero the areas it uses */
    for (unsigned i = 0; i < DATA_BYTES; i++)
        x.data[i] = (uint8_t)(i * 7u);
    memcpy(x.data_copy, x.data, DATA_BYTES);

    FUZZ_CHECK(xcv_vring_packed_layout(x.ring, RING_BUS, x.num, LINE, &x.lay) == XCV_OK);
    x.drv_off = (size_t)((uint8_t *)x.lay.avail - x.ring);
    x.dev_off = (size_t)((uint8_t *)x.lay.used - x.ring);
    FUZZ_CHECK(x.drv_off == XCV_VRING_PACKED_DRIVER_OFFSET(x.num, LINE));
    FUZZ_CHECK(x.dev_off == XCV_VRING_PACKED_DEVICE_OFFSET(x.num, LINE));
    const struct xcv_port port = {.ops = &g_ops, .ctx = &x};
    uint64_t features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1) | XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED);
    if (x.event_idx)
        features |= XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
    const struct xcv_vq_driver_config dc = {
        .ring = &x.lay,
        .slots = slots,
        .features = features,
        .port = &port,
        .doorbell = 3,
    };
    FUZZ_CHECK(xcv_vq_driver_init(&x.q, &dc) == XCV_OK);
    check_recovered(&x);
    memcpy(x.image, x.ring, x.ring_bytes); /* the tail padding is left as it was */

    while (s.n > 0)
        step(&x, &s);
    recover(&x, false);

    free(slots);
    free(x.data_copy);
    free(x.data);
    free(x.image);
    free(x.ring);
    return 0;
}
