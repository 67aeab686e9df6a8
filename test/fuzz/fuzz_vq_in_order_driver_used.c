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
#include "fuzz_ring.h"

#define IND_MAX 4u
#define MAX_SEGS 3u
#define LINE XCV_CACHE_LINE_DEFAULT

struct ctx {
    struct xcv_vq_driver q;
    struct xcv_vring_layout lay;
    struct fz_mirror ring; /* the ring memory, and the model's image of it */
    size_t ring_bytes;
    size_t avail_off;
    size_t used_off;
    uint8_t *ind;
    uint8_t *ind_image;
    size_t ind_bytes;
    struct fz_data data;
    struct fz_port port;
    struct fz_drv_model model;
    uint16_t num;
    uint16_t mask;
    bool event_idx;
    bool indirect;
    bool prefer;
    struct fz_toks t;               /* id: the head */
    struct fz_tok *fifo[FZ_MAXNUM]; /* the chains in flight, oldest first */
    unsigned fifo_head;
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
};

static uint16_t ring_used_idx(const struct ctx *x)
{
    return xcv_le16_load(x->ring.mem + x->used_off + 2u);
}

static struct fz_tok *fifo_at(const struct ctx *x, unsigned k)
{
    FUZZ_CHECK(k < x->t.outstanding);
    return x->fifo[(x->fifo_head + k) % FZ_MAXNUM];
}

static void broke(void *c, int r, unsigned logs_before)
{
    struct ctx *x = c;
    FUZZ_CHECK(r == XCV_EPROTO_USED_IDX || r == XCV_EPROTO_USED_ID || r == XCV_EPROTO_USED_LEN);
    FUZZ_CHECK(x->hostile); /* a device that only behaved never breaks the queue */
    fz_broke(&x->broken, r, xcv_vq_driver_broken(&x->q), &x->port, logs_before);
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
static void model_post(struct ctx *x, struct fz_tok *t, const struct xcv_sg *sg, unsigned n_out,
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
        expect_desc(x->ring.copy + at, x->ring.mem + at, FZ_IND_BUS + off,
                    (uint32_t)(n * XCV_VRING_DESC_SIZE), XCV_VRING_DESC_F_INDIRECT, false, 0);
    } else {
        for (unsigned i = 0; i < n; i++) {
            bool more = i + 1u < n;
            uint16_t d = (uint16_t)((head + i) & x->mask);
            uint16_t flags = (uint16_t)((i >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                                        (more ? XCV_VRING_DESC_F_NEXT : 0u));
            size_t at = (size_t)d * XCV_VRING_DESC_SIZE;
            expect_desc(x->ring.copy + at, x->ring.mem + at, sg[i].addr, sg[i].len, flags, more,
                        (uint16_t)((d + 1u) & x->mask));
        }
    }
    for (unsigned i = n_out; i < n; i++)
        wlen += sg[i].len;
    fz_expect16(&x->ring, fz_avail_slot_off(x->avail_off, x->num, x->avail_idx), head);
    x->avail_idx++;
    x->next_desc = (uint16_t)((head + ndesc) & x->mask);
    FUZZ_CHECK(x->t.outstanding < FZ_MAXNUM);
    x->fifo[(x->fifo_head + x->t.outstanding) % FZ_MAXNUM] = t;
    fz_tok_post(&x->t, t, head, ndesc, wlen);
    x->descs_out += ndesc;
}

static unsigned model_num_free(const struct ctx *x)
{
    return x->num - x->descs_out;
}

static void do_add(struct ctx *x, struct fuzz_in *s)
{
    unsigned n_out, n_in;
    unsigned n = fz_shape3(fin_u8(s), &n_out, &n_in);
    struct xcv_sg sg[MAX_SEGS];
    fz_sg_fill(s, sg, n, FZ_DATA_BYTES / MAX_SEGS);
    struct fz_tok *t = fz_tok_free(&x->t);
    if (!t)
        return;
    unsigned nf = model_num_free(x);
    unsigned logs = x->port.logs;
    int r = xcv_vq_driver_add(&x->q, sg, n_out, n_in, t);
    FUZZ_CHECK(x->port.logs == logs);
    if (fz_stays_broken(x->broken != 0, r))
        return;
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
    struct xcv_sg sg[FZ_DRV_BURST_MAX];
    struct fz_tok *ts[FZ_DRV_BURST_MAX];
    bool writable;
    unsigned got =
        fz_add_burst(&x->q, s, &x->t, model_num_free(x), x->broken != 0, sg, ts, &writable);
    for (unsigned k = 0; k < got; k++)
        model_post(x, ts[k], &sg[k], writable ? 0u : 1u, 1u, false);
}

static int model_publish(void *c)
{
    struct ctx *x = c;
    uint16_t n = (uint16_t)(x->avail_idx - x->avail_pub);
    if (n == 0)
        return 0;
    fz_expect16(&x->ring, x->avail_off + 2u, x->avail_idx);
    x->avail_pub = x->avail_idx;
    for (unsigned k = 0; k < x->t.outstanding; k++)
        fifo_at(x, k)->published = true;
    return n;
}

/* What kick_prepare must answer after publishing; updates the model. */
static int model_kick(void *c)
{
    struct ctx *x = c;
    return fz_split_notify(&x->avail_kicked, x->avail_pub, x->event_idx,
                           x->ring.mem + fz_avail_event_off(x->used_off, x->num),
                           x->ring.mem + x->used_off, XCV_VRING_USED_F_NO_NOTIFY);
}

/*
 * What get_used must do now: XCV_EAGAIN, XCV_OK with the oldest chain in *@p tp and its length
 * in *@p lenp, or the protocol error the used ring calls for. Acquires the used index and
 * starts a batch like the driver does; the caller takes the chain with model_take().
 */
static int model_get(struct ctx *x, struct fz_tok **tp, uint32_t *lenp)
{
    if (x->broken)
        return XCV_EBROKEN;
    if (x->last_used == x->used_seen) {
        uint16_t idx = ring_used_idx(x);
        if ((uint16_t)(idx - x->last_used) > x->t.outstanding)
            return XCV_EPROTO_USED_IDX;
        if (idx == x->last_used)
            return XCV_EAGAIN;
        x->used_seen = idx;
    }
    if (x->batch_left == 0) {
        const uint8_t *e = x->ring.mem + fz_used_entry_off(x->used_off, x->num, x->last_used);
        uint32_t id = xcv_le32_load(e);
        uint32_t len = xcv_le32_load(e + 4);
        unsigned covered = (uint16_t)(x->used_seen - x->last_used);
        FUZZ_CHECK(covered >= 1u && covered <= x->t.outstanding);
        unsigned k = 0;
        while (k < covered && fifo_at(x, k)->id != id)
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

static void model_take(struct ctx *x, struct fz_tok *t)
{
    FUZZ_CHECK(t == fifo_at(x, 0));
    fz_tok_back(&x->t, t);
    x->fifo_head = (x->fifo_head + 1u) % FZ_MAXNUM;
    x->descs_out -= t->ndesc;
    x->batch_left--;
    x->last_used++;
}

/* A token the library handed back: one of ours, in flight, and what the model predicts. */
static void check_taken(struct ctx *x, void *token, uint32_t len, struct fz_tok *want,
                        uint32_t want_len)
{
    struct fz_tok *t = token;
    FUZZ_CHECK(t >= x->t.tok && t < x->t.tok + FZ_MAXNUM);
    FUZZ_CHECK(t->state == FZ_TOK_OUT); /* never twice, never one not posted */
    FUZZ_CHECK(t == want && len == want_len);
    if (!x->hostile)
        FUZZ_CHECK(t->dev_done && len == t->dev_len); /* posting order, the device's length */
}

static int expect_used(void *c, struct fz_tok **tp, uint32_t *lenp)
{
    return model_get(c, tp, lenp);
}

static void take_used(void *c, void *token, uint32_t len, struct fz_tok *want, uint32_t want_len)
{
    check_taken(c, token, len, want, want_len);
    model_take(c, want);
}

/* The well-behaved device: k batches of 1..4 published chains, oldest first, each answered
 * by one used entry naming its last chain, then the used index. Each batch reads a size byte
 * and a le32 length (reduced modulo the last chain's writable bytes + 1). */
static void do_complete(struct ctx *x, struct fuzz_in *s)
{
    unsigned k = fin_u8(s) % (x->num + 1u);
    uint16_t idx = ring_used_idx(x);
    unsigned next = 0;
    while (next < x->t.outstanding && fifo_at(x, next)->dev_done)
        next++;
    for (; k > 0; k--) {
        unsigned want = 1u + fin_u8(s) % 4u;
        unsigned b = 0;
        while (b < want && next + b < x->t.outstanding && fifo_at(x, next + b)->published)
            b++;
        if (b == 0)
            break;
        struct fz_tok *last = fifo_at(x, next + b - 1u);
        uint32_t raw = fin_u32(s);
        uint32_t len = last->wlen ? raw % (last->wlen + 1u) : 0u;
        for (unsigned i = 0; i < b; i++) {
            struct fz_tok *t = fifo_at(x, next + i);
            t->dev_done = true;
            t->dev_len = t == last ? len : 0u;
        }
        fz_put_used(&x->ring, fz_used_entry_off(x->used_off, x->num, idx), last->id, len);
        idx = (uint16_t)(idx + b);
        next += b;
    }
    fz_put16(&x->ring, x->used_off + 2u, idx);
}

/* The hostile device writes one used entry near the driver's position. */
static void do_used_entry(struct ctx *x, struct fuzz_in *s)
{
    uint8_t p = fin_u8(s);
    uint8_t im = fin_u8(s);
    uint8_t lm = fin_u8(s);
    uint16_t pos = (uint16_t)(x->last_used + p % (2u * x->num + 1u));
    struct fz_tok *t = NULL;
    uint32_t id;
    if (im & 0x80u) {
        id = (im & 0x40u) ? fin_u32(s) : fin_u8(s);
    } else if ((im & 0x3fu) < x->t.outstanding) {
        t = fifo_at(x, im & 0x3fu); /* a chain in flight, perhaps beyond the index */
        id = t->id;
    } else {
        id = (uint32_t)(im & 0x3fu) & x->mask; /* a descriptor that may be no head */
    }
    uint32_t len = fz_hostile_len(s, lm, t ? t->wlen : 0u);
    fz_put_used(&x->ring, fz_used_entry_off(x->used_off, x->num, pos), id, len);
    x->hostile = true;
}

static void recover(struct ctx *x, bool reset_first)
{
    if (reset_first)
        fz_drv_reset_early(&x->q, x->t.outstanding, x->broken, x->ring.mem, x->ring.copy,
                           x->ring_bytes);
    fz_drv_recover(&x->q, &x->t, x->t.outstanding);
    size_t used_end = x->used_off + XCV_VRING_USED_BYTES(x->num);
    fz_drv_clean(&x->q, x->num, x->ring.mem, used_end); /* reset zeroes the ring */
    memset(x->ring.copy, 0, used_end);
    x->fifo_head = 0;
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
    unsigned logs = x->port.logs;
    int r;
    switch (op) {
    case IODRV_OP_ADD:
        do_add(x, s);
        break;
    case IODRV_OP_ADD_BURST:
        do_add_burst(x, s);
        break;
    case IODRV_OP_PUBLISH:
        fz_publish(&x->model);
        break;
    case IODRV_OP_KICK_PREPARE:
        fz_kick(&x->model, s);
        break;
    case IODRV_OP_COMPLETE:
        do_complete(x, s);
        break;
    case IODRV_OP_USED_ENTRY:
        do_used_entry(x, s);
        break;
    case IODRV_OP_USED_IDX_SET:
        fz_put16(&x->ring, x->used_off + 2u, fin_u16(s));
        x->hostile = true;
        break;
    case IODRV_OP_USED_IDX_ADD:
        fz_put16(&x->ring, x->used_off + 2u,
                 (uint16_t)(ring_used_idx(x) + fin_u8(s) % (x->num + 2u)));
        x->hostile = true;
        break;
    case IODRV_OP_USED_MISC:
        /* Notification fields only: a well-behaved device writes these too. */
        fz_put16(&x->ring, x->used_off, fin_u16(s));
        fz_put16(&x->ring, fz_avail_event_off(x->used_off, x->num), fin_u16(s));
        break;
    case IODRV_OP_GET_USED:
        fz_get_used_n(&x->model, s, x->num);
        break;
    case IODRV_OP_GET_USED_BURST:
        fz_get_used_burst(&x->model, s);
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
        fz_get_used(&x->model);
        break;
    }
    case IODRV_OP_ENABLE_NOTIFY:
        r = xcv_vq_driver_enable_notify(&x->q);
        if (fz_stays_broken(x->broken != 0, r))
            break;
        if (x->event_idx)
            fz_expect16(&x->ring, fz_used_event_off(x->avail_off, x->num), x->last_used);
        else
            fz_expect16(&x->ring, x->avail_off, 0); /* NO_INTERRUPT cleared, the only flag */
        if ((uint16_t)(ring_used_idx(x) - x->last_used) > x->t.outstanding) {
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
                fz_any16(&x->ring,
                         fz_used_event_off(x->avail_off, x->num)); /* any value is a valid hint */
            else
                fz_expect16(&x->ring, x->avail_off, XCV_VRING_AVAIL_F_NO_INTERRUPT);
        }
        break;
    case IODRV_OP_RECOVER:
        recover(x, (fin_u8(s) & 1u) != 0);
        break;
    default:
        break;
    }
    /* After every step: */
    fz_drv_step_checks(&x->q, x->broken, x->t.outstanding, &x->data);
    FUZZ_CHECK(x->t.outstanding <= x->num && x->descs_out <= x->num);
    FUZZ_CHECK(xcv_vq_driver_num_free(&x->q) + x->descs_out == x->num);
    FUZZ_CHECK((uint16_t)(x->used_seen - x->last_used) <= x->t.outstanding);
    if (x->broken)
        FUZZ_CHECK(xcv_vq_driver_peek_used(&x->q, 0) == NULL);
    /* The driver wrote exactly what the model expects: descriptors, slots, its index and
     * notification fields; never the used ring, never a buffer. */
    FUZZ_CHECK(memcmp(x->ring.mem, x->ring.copy, x->ring_bytes) == 0);
    if (x->ind)
        FUZZ_CHECK(memcmp(x->ind, x->ind_image, x->ind_bytes) == 0);
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
    x.indirect = (cfg & 2u) != 0;
    x.prefer = x.indirect && (cfg & 4u) != 0;
    x.model = (struct fz_drv_model){.q = &x.q,
                                    .port = &x.port,
                                    .broken = &x.broken,
                                    .x = &x,
                                    .expect = expect_used,
                                    .take = take_used,
                                    .broke = broke,
                                    .publish = model_publish,
                                    .kick = model_kick};

    x.ring_bytes = XCV_VRING_BYTES(x.num, LINE);
    x.ring.mem = fz_ring_alloc(x.ring_bytes); /* exact size: overruns are caught */
    x.ring.copy = fz_alloc(0, x.ring_bytes);
    x.ind_bytes = XCV_VQ_INDIRECT_BYTES(x.num, IND_MAX);
    if (x.indirect) {
        x.ind = fz_alloc(16, x.ind_bytes);
        x.ind_image = fz_alloc(0, x.ind_bytes);
        memset(x.ind, 0xdd, x.ind_bytes);
        memcpy(x.ind_image, x.ind, x.ind_bytes);
    }
    fz_data_open(&x.data);
    struct xcv_vq_drv_slot *slots = fz_alloc(0, XCV_VQ_DRIVER_SLOTS_BYTES(x.num));

    FUZZ_CHECK(xcv_vring_layout(x.ring.mem, FZ_RING_BUS, x.num, LINE, &x.lay) == XCV_OK);
    x.avail_off = (size_t)((uint8_t *)x.lay.avail - x.ring.mem);
    x.used_off = (size_t)((uint8_t *)x.lay.used - x.ring.mem);
    FUZZ_CHECK(x.avail_off == XCV_VRING_AVAIL_OFFSET(x.num));
    FUZZ_CHECK(x.used_off == XCV_VRING_USED_OFFSET(x.num, LINE));
    const struct xcv_vq_driver_config dc = {
        .ring = &x.lay,
        .slots = slots,
        .features = fz_features(XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER), x.event_idx, x.indirect),
        .indirect_local = x.ind,
        .indirect_bus = FZ_IND_BUS,
        .indirect_max = IND_MAX,
        .prefer_indirect = x.prefer,
        .port = fz_port_open(&x.port, 3),
        .doorbell = 3,
    };
    FUZZ_CHECK(xcv_vq_driver_init(&x.q, &dc) == XCV_OK);
    /* Init zeroes the ring (the tail padding is unused). */
    fz_drv_clean(&x.q, x.num, x.ring.mem, x.used_off + XCV_VRING_USED_BYTES(x.num));
    memcpy(x.ring.copy, x.ring.mem, x.ring_bytes);

    while (s.n > 0)
        step(&x, &s);
    recover(&x, false);

    free(slots);
    fz_data_close(&x.data);
    free(x.ind_image);
    free(x.ind);
    free(x.ring.copy);
    free(x.ring.mem);
    return 0;
}
