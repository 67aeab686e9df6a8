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
#include "fuzz_ring.h"

#define MAX_SEGS 16u /* n_out and n_in are 0..7 each */
#define LINE XCV_CACHE_LINE_DEFAULT
#define F_AVAIL XCV_VRING_PACKED_DESC_F_AVAIL
#define F_USED XCV_VRING_PACKED_DESC_F_USED

struct ctx {
    struct xcv_vq_driver q;
    struct xcv_vring_layout lay;
    struct fz_mirror ring; /* the ring memory, and the model's image of it */
    size_t ring_bytes;
    size_t drv_off; /* driver event suppression area */
    size_t dev_off; /* device event suppression area */
    struct fz_data data;
    struct fz_port port;
    struct fz_drv_model model;
    uint16_t num;
    uint16_t mask;
    bool event_idx;
    struct fz_toks t; /* id: the buffer id the driver gave the chain */
    /* Free-running positions of the model. */
    uint16_t avail_idx;    /* next to fill */
    uint16_t avail_pub;    /* first not yet published */
    uint16_t avail_kicked; /* avail_pub at the last notification decision */
    uint16_t last_used;    /* where the next used descriptor is expected */
    unsigned pend_chains;  /* posted since the last publish */
    uint16_t first_flags;  /* flags of position avail_pub, stored by publish */
    int broken;
    uint16_t dev_used; /* the well-behaved device's next used position */
};

/* The wrap counter of free-running position @p c: 1 on even laps. */
static bool wrap_of(const struct ctx *x, uint16_t c)
{
    return fz_packed_wrap(c, x->num);
}

static size_t desc_off(const struct ctx *x, uint16_t c)
{
    return (size_t)(c & x->mask) * XCV_VRING_DESC_SIZE;
}

static uint16_t ring_flags(const struct ctx *x, uint16_t c)
{
    return xcv_le16_load(x->ring.mem + desc_off(x, c) + 14);
}

/* 2.8.1: a descriptor is used in the lap of wrap counter w when AVAIL == USED == w. */
static bool is_used(const struct ctx *x, uint16_t flags, uint16_t c)
{
    bool w = wrap_of(x, c);
    return ((flags & F_AVAIL) != 0u) == w && ((flags & F_USED) != 0u) == w;
}

/* A used descriptor as the device writes it: id and len, then the flags. */
static void dev_used_desc(struct ctx *x, uint16_t c, uint16_t id, uint32_t len, uint16_t flags)
{
    uint8_t b[4];
    xcv_le32_store(b, len);
    fz_put(&x->ring, desc_off(x, c) + 8, b, 4);
    fz_put16(&x->ring, desc_off(x, c) + 12, id);
    fz_put16(&x->ring, desc_off(x, c) + 14, flags);
}

static void broke(void *c, int r, unsigned logs_before)
{
    struct ctx *x = c;
    FUZZ_CHECK(xcv_err_is_protocol(r));
    fz_broke(&x->broken, r, xcv_vq_driver_broken(&x->q), &x->port, logs_before);
}

/* The driver's event suppression area as enable/disable_notify write it. */
static void expect_drv_event(struct ctx *x, uint16_t flags)
{
    fz_expect16(&x->ring, x->drv_off, fz_packed_off_wrap(x->last_used, x->num));
    fz_expect16(&x->ring, x->drv_off + 2, flags);
}

/* Post a chain: the model's expectations, given the buffer id the library took. */
static void model_post(struct ctx *x, struct fz_tok *t, const struct xcv_sg *sg, unsigned n_out,
                       unsigned n)
{
    uint16_t start = x->avail_idx;
    uint16_t last = (uint16_t)(start + n - 1u);
    uint16_t id = xcv_le16_load(x->ring.mem + desc_off(x, last) + 12); /* 2.8.6: in the last */
    FUZZ_CHECK(id < x->num);
    FUZZ_CHECK(fz_tok_by_id(&x->t, id) == NULL); /* not the id of a chain still outstanding */
    uint32_t wlen = 0;
    for (unsigned i = 0; i < n; i++) {
        uint16_t c = (uint16_t)(start + i);
        uint8_t *d = x->ring.copy + desc_off(x, c);
        uint16_t flags = (uint16_t)((wrap_of(x, c) ? F_AVAIL : F_USED) |
                                    (i >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                                    (i + 1u < n ? XCV_VRING_DESC_F_NEXT : 0u));
        xcv_le64_store(d, sg[i].addr);
        xcv_le32_store(d + 8, sg[i].len);
        /* The id of the other descriptors is not the device's business (2.8.6): any value. */
        fz_any16(&x->ring, desc_off(x, c) + 12);
        if (i + 1u == n)
            xcv_le16_store(d + 12, id);
        if (c == x->avail_pub)
            x->first_flags = flags; /* stored by publish */
        else
            xcv_le16_store(d + 14, flags);
        if (i >= n_out)
            wlen += sg[i].len;
    }
    fz_tok_post(&x->t, t, id, (uint16_t)n, wlen);
    x->avail_idx = (uint16_t)(x->avail_idx + n);
    x->pend_chains++;
}

static unsigned model_num_free(const struct ctx *x)
{
    return x->num - (uint16_t)(x->avail_idx - x->last_used);
}

static void do_add(struct ctx *x, struct fuzz_in *s)
{
    unsigned n_out, n_in;
    unsigned n = fz_shape(fin_u8(s), &n_out, &n_in);
    struct xcv_sg sg[MAX_SEGS];
    fz_sg_fill(s, sg, n, FZ_DATA_BYTES / MAX_SEGS);
    struct fz_tok *t = fz_tok_free(&x->t);
    if (!t)
        return;
    int r = xcv_vq_driver_add(&x->q, sg, n_out, n_in, t);
    if (fz_stays_broken(x->broken != 0, r))
        return;
    if (n > x->num) {
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
    struct xcv_sg sg[FZ_DRV_BURST_MAX];
    struct fz_tok *ts[FZ_DRV_BURST_MAX];
    bool writable;
    unsigned got =
        fz_add_burst(&x->q, s, &x->t, model_num_free(x), x->broken != 0, sg, ts, &writable);
    for (unsigned k = 0; k < got; k++)
        model_post(x, ts[k], &sg[k], writable ? 0u : 1u, 1u);
}

static int model_publish(void *c)
{
    struct ctx *x = c;
    unsigned n = x->pend_chains;
    if (n == 0)
        return 0;
    xcv_le16_store(x->ring.copy + desc_off(x, x->avail_pub) + 14, x->first_flags);
    x->avail_pub = x->avail_idx;
    x->pend_chains = 0;
    for (unsigned i = 0; i < FZ_MAXNUM; i++)
        if (x->t.tok[i].state == FZ_TOK_OUT)
            x->t.tok[i].published = true;
    return (int)n;
}

/* What kick_prepare must answer after publishing (1, 0, or -1 when either is acceptable). The
 * device area's DESC names a position and wrap counter: notify when it was made available
 * since the last decision. */
static int model_kick(void *c)
{
    struct ctx *x = c;
    uint16_t old_idx = x->avail_kicked;
    x->avail_kicked = x->avail_pub;
    return fz_packed_notify(x->ring.mem + x->dev_off, x->event_idx, old_idx,
                            (uint16_t)(x->avail_pub - old_idx), x->num);
}

/*
 * What get_used must do now: XCV_EAGAIN, XCV_OK with *@p tp and *@p lenp, or the protocol
 * error the used descriptor at last_used calls for.
 */
static int ref_get_used(struct ctx *x, struct fz_tok **tp, uint32_t *lenp)
{
    const uint8_t *d = x->ring.mem + desc_off(x, x->last_used);
    if (!is_used(x, xcv_le16_load(d + 14), x->last_used))
        return XCV_EAGAIN;
    if (x->avail_pub == x->last_used)
        return XCV_EPROTO_USED_IDX; /* every published position is consumed already */
    uint16_t id = xcv_le16_load(d + 12);
    uint32_t len = xcv_le32_load(d + 8);
    struct fz_tok *t = fz_tok_by_id(&x->t, id);
    if (t == NULL || !t->published)
        return XCV_EPROTO_USED_ID;
    if (len > t->wlen)
        return XCV_EPROTO_USED_LEN;
    *tp = t;
    *lenp = len;
    return XCV_OK;
}

static int expect_used(void *c, struct fz_tok **tp, uint32_t *lenp)
{
    struct ctx *x = c;
    return x->broken ? XCV_EBROKEN : ref_get_used(x, tp, lenp);
}

static void take_used(void *c, void *token, uint32_t len, struct fz_tok *want, uint32_t want_len)
{
    struct ctx *x = c;
    FUZZ_CHECK(token == want && len == want_len);
    fz_tok_back(&x->t, want);
    x->last_used = (uint16_t)(x->last_used + want->ndesc);
}

/* The well-behaved device uses k published chains, in an order the input picks. */
static void do_complete(struct ctx *x, struct fuzz_in *s)
{
    unsigned k = fin_u8(s) % (x->num + 1u);
    for (; k > 0; k--) {
        struct fz_tok *cand[FZ_MAXNUM];
        unsigned nc = 0;
        for (unsigned i = 0; i < FZ_MAXNUM; i++) {
            struct fz_tok *t = &x->t.tok[i];
            if (t->state == FZ_TOK_OUT && t->published && !t->dev_done)
                cand[nc++] = t;
        }
        if (nc == 0)
            return;
        struct fz_tok *t = cand[fin_u8(s) % nc];
        uint32_t len = t->wlen ? fin_u32(s) % (t->wlen + 1u) : 0u;
        uint16_t flags = fz_packed_used_bits(wrap_of(x, x->dev_used));
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
        flags = fz_packed_used_bits(wrap_of(x, c)); /* used in this lap */
        break;
    case 1:
        flags = fz_packed_used_bits(!wrap_of(x, c)); /* used in the other lap */
        break;
    case 2:
        flags = fz_packed_avail_bits(wrap_of(x, c)); /* available */
        break;
    default:
        flags = fin_u16(s);
        break;
    }
    if (fm & 4u)
        flags |= XCV_VRING_DESC_F_WRITE;
    struct fz_tok *t = NULL;
    uint16_t id;
    if (im & 0x80u) {
        id = fin_u16(s);
    } else {
        t = &x->t.tok[im % FZ_MAXNUM];
        id = t->state == FZ_TOK_OUT ? t->id : (uint16_t)(im & 0x3fu);
        if (t->state != FZ_TOK_OUT)
            t = NULL;
    }
    uint32_t len = fz_hostile_len(s, lm, t ? t->wlen : 0u);
    dev_used_desc(x, c, id, len, flags);
}

static void recover(struct ctx *x, bool reset_first)
{
    if (reset_first)
        fz_drv_reset_early(&x->q, x->t.outstanding, x->broken, x->ring.mem, x->ring.copy,
                           x->ring_bytes);
    fz_drv_recover(&x->q, &x->t, x->num);
    size_t zeroed = x->dev_off + XCV_VRING_PACKED_EVENT_BYTES;
    fz_drv_clean(&x->q, x->num, x->ring.mem, zeroed); /* reset zeroes the ring and both areas */
    memset(x->ring.copy, 0, zeroed);
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
    unsigned logs = x->port.logs;
    int r;
    switch (op) {
    case PDRV_OP_ADD:
        do_add(x, s);
        break;
    case PDRV_OP_ADD_BURST:
        do_add_burst(x, s);
        break;
    case PDRV_OP_PUBLISH:
        fz_publish(&x->model);
        break;
    case PDRV_OP_KICK_PREPARE:
        fz_kick(&x->model, s);
        break;
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
        fz_put(&x->ring, o, buf, len);
        break;
    }
    case PDRV_OP_DEV_EVENT: {
        /* A position within a lap either side of the published end. */
        uint8_t v[4];
        fz_packed_event_read(s, (uint16_t)(x->avail_pub - x->num), x->num, v);
        fz_put(&x->ring, x->dev_off, v, sizeof v);
        break;
    }
    case PDRV_OP_GET_USED:
        fz_get_used_n(&x->model, s, x->num);
        break;
    case PDRV_OP_GET_USED_BURST:
        fz_get_used_burst(&x->model, s);
        break;
    case PDRV_OP_PEEK_USED: {
        unsigned ahead = fin_u8(s) % 4u;
        void *p = xcv_vq_driver_peek_used(&x->q, ahead);
        if (p != NULL) {
            struct fz_tok *t = p;
            FUZZ_CHECK(!x->broken);
            FUZZ_CHECK(t >= x->t.tok && t < x->t.tok + FZ_MAXNUM && t->state == FZ_TOK_OUT);
        }
        if (!x->broken) {
            struct fz_tok *want = NULL;
            uint32_t want_len = 0;
            int ref = ref_get_used(x, &want, &want_len);
            if (ahead == 0 && ref == XCV_OK)
                FUZZ_CHECK(p == want); /* the chain get_used takes next */
        }
        fz_get_used(&x->model);
        break;
    }
    case PDRV_OP_ENABLE_NOTIFY:
        r = xcv_vq_driver_enable_notify(&x->q);
        if (fz_stays_broken(x->broken != 0, r))
            break;
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
    fz_drv_step_checks(&x->q, x->broken, x->t.outstanding, &x->data);
    FUZZ_CHECK(x->t.outstanding <= x->num);
    FUZZ_CHECK(xcv_vq_driver_num_free(&x->q) == model_num_free(x));
    /* The driver wrote exactly what the model expects: its descriptors and its event area. */
    FUZZ_CHECK(memcmp(x->ring.mem, x->ring.copy, x->ring_bytes) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in s = {data, size};
    static struct ctx x;
    memset(&x, 0, sizeof x);
    uint8_t cfg = fz_drv_input(&s, &x.num);
    x.mask = (uint16_t)(x.num - 1u);
    x.event_idx = (cfg & 1u) != 0;
    x.model = (struct fz_drv_model){.q = &x.q,
                                    .port = &x.port,
                                    .broken = &x.broken,
                                    .x = &x,
                                    .expect = expect_used,
                                    .take = take_used,
                                    .broke = broke,
                                    .publish = model_publish,
                                    .kick = model_kick};

    x.ring_bytes = XCV_VRING_PACKED_BYTES(x.num, LINE);
    x.ring.mem = fz_ring_alloc(x.ring_bytes); /* exact size: overruns are caught */
    x.ring.copy = fz_alloc(0, x.ring_bytes);
    fz_data_open(&x.data);
    struct xcv_vq_drv_slot *slots = fz_alloc(0, XCV_VQ_DRIVER_SLOTS_BYTES(x.num));

    FUZZ_CHECK(xcv_vring_packed_layout(x.ring.mem, FZ_RING_BUS, x.num, LINE, &x.lay) == XCV_OK);
    x.drv_off = (size_t)((uint8_t *)x.lay.avail - x.ring.mem);
    x.dev_off = (size_t)((uint8_t *)x.lay.used - x.ring.mem);
    FUZZ_CHECK(x.drv_off == XCV_VRING_PACKED_DRIVER_OFFSET(x.num, LINE));
    FUZZ_CHECK(x.dev_off == XCV_VRING_PACKED_DEVICE_OFFSET(x.num, LINE));
    const struct xcv_vq_driver_config dc = {
        .ring = &x.lay,
        .slots = slots,
        .features = fz_features(XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED), x.event_idx, false),
        .port = fz_port_open(&x.port, 3),
        .doorbell = 3,
    };
    FUZZ_CHECK(xcv_vq_driver_init(&x.q, &dc) == XCV_OK);
    fz_drv_clean(&x.q, x.num, x.ring.mem, x.dev_off + XCV_VRING_PACKED_EVENT_BYTES);
    memcpy(x.ring.copy, x.ring.mem, x.ring_bytes); /* the tail padding is left as it was */

    while (s.n > 0)
        step(&x, &s);
    recover(&x, false);

    free(slots);
    fz_data_close(&x.data);
    free(x.ring.copy);
    free(x.ring.mem);
    return 0;
}
