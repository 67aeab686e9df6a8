/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness: the driver role of a split virtqueue facing a hostile device.
 *
 * The driver posts chains; the input plays the device and writes whatever it likes into the
 * used ring (entries, index, flags, avail_event), in as many rounds as it wants, between calls
 * to get_used / enable_notify / kick_prepare / detach_unused. Input format (see gen_seeds.c):
 *
 *   byte 0   config: bit0 EVENT_IDX, bit1 INDIRECT_DESC (with an indirect area),
 *            bit2 prefer_indirect
 *   byte 1   queue size: 1 << (byte % 6)
 *   rest     the script: one opcode byte per step plus its arguments
 *            (enum drv_op in fuzz_common.h)
 *
 * Invariants:
 * - every token get_used returns is outstanding, is the one posted at the head the used entry
 *   names, and comes with that entry's length, which is <= the writable bytes posted;
 * - protocol errors are exactly the documented ones for what the used ring holds, are sticky
 *   (XCV_EBROKEN afterwards), and detach_unused then returns exactly the outstanding tokens:
 *   over the whole run, get_used + detach_unused return each posted token exactly once;
 * - the driver never writes the used ring or the data buffers, and honours the notification
 *   fields (used_event / NO_INTERRUPT) the way enable/disable_notify document.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xcvirtio/xcvirtio.h"

#include "fuzz_common.h"

#define MAXNUM 32u
#define IND_MAX 4u
#define MAX_SEGS 16u /* n_out and n_in are 0..7 each */
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
    uint32_t wlen;
};

struct ctx {
    struct xcv_vq_driver q;
    struct xcv_vring_layout lay;
    uint8_t *ring;
    size_t ring_bytes;
    uint8_t *used;      /* local used ring inside ring */
    uint8_t *used_copy; /* what the harness (the device) last wrote there */
    uint8_t *data;
    uint8_t *data_copy;
    uint16_t num;
    bool event_idx;
    bool indirect;
    struct tok tok[MAXNUM];
    unsigned outstanding;
    uint16_t added;     /* model of the driver's avail index */
    uint16_t last_used; /* model of the next used entry the driver consumes */
    int broken;
    bool drained; /* the last get_used found nothing: the next one must read the index */
    uint64_t posted_total;
    uint64_t returned_total;
};

/* End of the used ring: the ring areas proper, without the padding to a whole line. */
static size_t ring_used_end(const struct ctx *x)
{
    return (size_t)(x->used - x->ring) + XCV_VRING_USED_BYTES(x->num);
}

static uint16_t used_idx(const struct ctx *x)
{
    return xcv_le16_load(x->used + 2);
}

static uint8_t *used_entry(struct ctx *x, uint16_t i)
{
    return x->used + 4u + 8u * (size_t)(i & (x->num - 1u));
}

/* The harness is the device: it is the only writer of the used ring. */
static void dev_write(struct ctx *x, uint8_t *p, const uint8_t *src, size_t len)
{
    memcpy(p, src, len);
    memcpy(x->used_copy + (p - x->used), src, len);
}

static void dev_store16(struct ctx *x, uint8_t *p, uint16_t v)
{
    uint8_t b[2];
    xcv_le16_store(b, v);
    dev_write(x, p, b, 2);
}

static void dev_store_entry(struct ctx *x, uint16_t pos, uint32_t id, uint32_t len)
{
    uint8_t b[8];
    xcv_le32_store(b, id);
    xcv_le32_store(b + 4, len);
    dev_write(x, used_entry(x, pos), b, 8);
}

static struct tok *tok_by_head(struct ctx *x, uint32_t head)
{
    for (unsigned i = 0; i < MAXNUM; i++)
        if (x->tok[i].state == T_OUT && x->tok[i].head == head)
            return &x->tok[i];
    return NULL;
}

static void broke(struct ctx *x, int r)
{
    FUZZ_CHECK(x->broken == 0);
    FUZZ_CHECK(xcv_err_is_protocol(r));
    x->broken = r;
    FUZZ_CHECK(xcv_vq_driver_broken(&x->q) == r);
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
    uint32_t wlen = 0;
    for (unsigned k = 0; k < n; k++) {
        uint32_t len = 1u + fin_u8(s);
        uint32_t off = (uint32_t)(k * (DATA_BYTES / MAX_SEGS));
        sg[k].addr = DATA_BUS + off;
        sg[k].len = len;
        if (k >= n_out)
            wlen += len;
    }
    struct tok *t = NULL;
    for (unsigned i = 0; i < MAXNUM && !t; i++)
        if (x->tok[i].state != T_OUT)
            t = &x->tok[i];
    FUZZ_CHECK(t != NULL || x->outstanding == MAXNUM);
    if (!t)
        return;
    unsigned free_before = xcv_vq_driver_num_free(&x->q);
    int r = xcv_vq_driver_add(&x->q, sg, n_out, n_in, t);
    if (x->broken) {
        FUZZ_CHECK(r == XCV_EBROKEN);
        return;
    }
    if (n > x->num) {
        FUZZ_CHECK(r == XCV_EINVAL);
        return;
    }
    if (r == XCV_ENOSPC) {
        FUZZ_CHECK(xcv_vq_driver_num_free(&x->q) == free_before);
        FUZZ_CHECK(free_before < n);
        return;
    }
    FUZZ_CHECK(r == XCV_OK);
    unsigned used = free_before - xcv_vq_driver_num_free(&x->q);
    FUZZ_CHECK(used == n || (x->indirect && used == 1u && n > 1u));
    /* The head is in the available slot the driver just wrote. */
    uint16_t head = xcv_le16_load((uint8_t *)x->lay.avail + 4u + 2u * (x->added & (x->num - 1u)));
    FUZZ_CHECK(head < x->num);
    FUZZ_CHECK(tok_by_head(x, head) == NULL);
    t->state = T_OUT;
    t->head = head;
    t->wlen = wlen;
    x->outstanding++;
    x->added++;
    x->posted_total++;
}

static void do_get_used(struct ctx *x)
{
    uint16_t pos = x->last_used;
    uint32_t id = xcv_le32_load(used_entry(x, pos));
    uint32_t elen = xcv_le32_load(used_entry(x, pos) + 4);
    uint16_t idx_now = used_idx(x);
    void *token = NULL;
    uint32_t len = 0;
    int r = xcv_vq_driver_get_used(&x->q, &token, &len);
    if (x->broken) {
        FUZZ_CHECK(r == XCV_EBROKEN);
        return;
    }
    if (x->drained && (uint16_t)(idx_now - x->last_used) > x->outstanding)
        FUZZ_CHECK(r == XCV_EPROTO_USED_IDX); /* an index beyond what is in flight */
    if (r == XCV_EAGAIN) {
        x->drained = true;
        return;
    }
    x->drained = false;
    if (r == XCV_OK) {
        struct tok *t = token;
        FUZZ_CHECK(t >= x->tok && t < x->tok + MAXNUM);
        FUZZ_CHECK(t->state == T_OUT); /* returned at most once */
        FUZZ_CHECK(t->head == id);     /* the chain the entry names */
        FUZZ_CHECK(len == elen && len <= t->wlen);
        t->state = T_DONE;
        x->outstanding--;
        x->last_used++;
        x->returned_total++;
        return;
    }
    broke(x, r);
    if (r == XCV_EPROTO_USED_IDX) {
        FUZZ_CHECK((uint16_t)(idx_now - x->last_used) > x->outstanding);
    } else if (r == XCV_EPROTO_USED_ID) {
        FUZZ_CHECK(tok_by_head(x, id) == NULL);
    } else {
        FUZZ_CHECK(r == XCV_EPROTO_USED_LEN);
        struct tok *t = tok_by_head(x, id);
        FUZZ_CHECK(t != NULL && elen > t->wlen);
    }
}

static void recover(struct ctx *x)
{
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
    FUZZ_CHECK(xcv_vq_driver_broken(&x->q) == 0);
    FUZZ_CHECK(xcv_vq_driver_num_free(&x->q) == x->num);
    for (size_t i = 0; i < ring_used_end(x); i++)
        FUZZ_CHECK(x->ring[i] == 0); /* reset zeroes the ring */
    memset(x->used_copy, 0, XCV_VRING_USED_BYTES(x->num));
    x->broken = 0;
    x->drained = true;
    x->added = 0;
    x->last_used = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in s = {data, size};
    static struct ctx x;
    memset(&x, 0, sizeof x);
    uint8_t cfg = fin_u8(&s);
    x.num = (uint16_t)(1u << (fin_u8(&s) % 6u));
    x.event_idx = (cfg & 1u) != 0;
    x.drained = true;
    bool indirect = (cfg & 2u) != 0;
    x.indirect = indirect;

    x.ring_bytes = XCV_VRING_BYTES(x.num, LINE);
    x.ring = aligned_alloc(LINE, x.ring_bytes); /* exact size: overruns are caught */
    size_t ind_bytes = XCV_VQ_INDIRECT_BYTES(x.num, IND_MAX);
    uint8_t *ind = aligned_alloc(16, ind_bytes);
    x.data = malloc(DATA_BYTES);
    x.data_copy = malloc(DATA_BYTES);
    x.used_copy = calloc(1, XCV_VRING_USED_BYTES(x.num));
    struct xcv_vq_drv_slot *slots = malloc(XCV_VQ_DRIVER_SLOTS_BYTES(x.num));
    FUZZ_CHECK(x.ring && ind && x.data && x.data_copy && x.used_copy && slots);
    memset(x.ring, 0xee, x.ring_bytes); /* init must zero it */
    for (unsigned i = 0; i < DATA_BYTES; i++)
        x.data[i] = (uint8_t)(i * 7u);
    memcpy(x.data_copy, x.data, DATA_BYTES);

    FUZZ_CHECK(xcv_vring_layout(x.ring, RING_BUS, x.num, LINE, &x.lay) == XCV_OK);
    x.used = x.lay.used;
    uint64_t features = XCV_FEATURE(XCV_VIRTIO_F_VERSION_1);
    if (x.event_idx)
        features |= XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX);
    if (indirect)
        features |= XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC);
    const struct xcv_vq_driver_config dc = {
        .ring = &x.lay,
        .slots = slots,
        .features = features,
        .indirect_local = indirect ? ind : NULL,
        .indirect_bus = IND_BUS,
        .indirect_max = IND_MAX,
        .prefer_indirect = (cfg & 4u) != 0,
    };
    FUZZ_CHECK(xcv_vq_driver_init(&x.q, &dc) == XCV_OK);
    for (size_t i = 0; i < ring_used_end(&x); i++)
        FUZZ_CHECK(x.ring[i] == 0); /* init zeroes the ring (the tail padding is unused) */

    uint8_t *avail = x.lay.avail;
    size_t used_event_off = 4u + 2u * (size_t)x.num;
    while (s.n > 0) {
        uint8_t op = (uint8_t)(fin_u8(&s) % DRV_OP_COUNT);
        int r;
        switch (op) {
        case DRV_OP_ADD:
            do_add(&x, &s);
            break;
        case DRV_OP_KICK_PREPARE:
            r = xcv_vq_driver_kick_prepare(&x.q);
            FUZZ_CHECK(x.broken ? r == XCV_EBROKEN : (r == 0 || r == 1));
            if (!x.broken)
                FUZZ_CHECK(xcv_le16_load(avail + 2) == x.added);
            break;
        case DRV_OP_PUBLISH:
            r = xcv_vq_driver_publish(&x.q);
            FUZZ_CHECK(x.broken ? r == XCV_EBROKEN : r >= 0);
            if (!x.broken)
                FUZZ_CHECK(xcv_le16_load(avail + 2) == x.added);
            break;
        case DRV_OP_USED_ENTRY: {
            uint8_t pos = fin_u8(&s);
            uint32_t id = fin_u8(&s) & 1u ? fin_u32(&s) : fin_u8(&s);
            uint32_t len = fin_u32(&s);
            dev_store_entry(&x, (uint16_t)(x.last_used + pos), id, len);
            break;
        }
        case DRV_OP_USED_IDX_SET:
            dev_store16(&x, x.used + 2, fin_u16(&s));
            break;
        case DRV_OP_USED_IDX_ADD:
            dev_store16(&x, x.used + 2, (uint16_t)(used_idx(&x) + fin_u8(&s) % (x.num + 2u)));
            break;
        case DRV_OP_USED_MISC:
            dev_store16(&x, x.used, fin_u16(&s));
            dev_store16(&x, x.used + 4u + 8u * (size_t)x.num, fin_u16(&s));
            break;
        case DRV_OP_COMPLETE: {
            /* Complete up to k outstanding chains correctly, after what is already used. */
            unsigned k = fin_u8(&s) % (x.num + 1u);
            uint16_t idx = used_idx(&x);
            for (unsigned i = 0; i < MAXNUM && k > 0; i++) {
                struct tok *t = &x.tok[i];
                if (t->state != T_OUT)
                    continue;
                dev_store_entry(&x, idx, t->head, t->wlen ? fin_u32(&s) % (t->wlen + 1u) : 0);
                idx++;
                k--;
            }
            dev_store16(&x, x.used + 2, idx);
            break;
        }
        case DRV_OP_GET_USED: {
            unsigned k = 1u + fin_u8(&s) % (x.num + 2u);
            for (unsigned i = 0; i < k; i++)
                do_get_used(&x);
            break;
        }
        case DRV_OP_ENABLE_NOTIFY:
            r = xcv_vq_driver_enable_notify(&x.q);
            if (x.broken) {
                FUZZ_CHECK(r == XCV_EBROKEN);
            } else if (r == 0 || r == 1) {
                if (x.event_idx)
                    FUZZ_CHECK(xcv_le16_load(avail + used_event_off) == x.last_used);
                else
                    FUZZ_CHECK((xcv_le16_load(avail) & XCV_VRING_AVAIL_F_NO_INTERRUPT) == 0);
                FUZZ_CHECK(r == (used_idx(&x) != x.last_used));
                FUZZ_CHECK((uint16_t)(used_idx(&x) - x.last_used) <= x.outstanding);
            } else {
                broke(&x, r);
                FUZZ_CHECK(r == XCV_EPROTO_USED_IDX);
                FUZZ_CHECK((uint16_t)(used_idx(&x) - x.last_used) > x.outstanding);
            }
            break;
        case DRV_OP_DISABLE_NOTIFY:
            xcv_vq_driver_disable_notify(&x.q);
            if (!x.broken && !x.event_idx)
                FUZZ_CHECK((xcv_le16_load(avail) & XCV_VRING_AVAIL_F_NO_INTERRUPT) != 0);
            break;
        case DRV_OP_RECOVER:
            recover(&x);
            break;
        default:
            break;
        }
        /* After every step: */
        FUZZ_CHECK(xcv_vq_driver_broken(&x.q) == x.broken);
        FUZZ_CHECK(xcv_vq_driver_in_flight(&x.q) == x.outstanding);
        FUZZ_CHECK(xcv_vq_driver_num_free(&x.q) <= x.num);
        FUZZ_CHECK(memcmp(x.used, x.used_copy, XCV_VRING_USED_BYTES(x.num)) == 0);
        FUZZ_CHECK(memcmp(x.data, x.data_copy, DATA_BYTES) == 0);
    }
    recover(&x);

    free(slots);
    free(x.used_copy);
    free(x.data_copy);
    free(x.data);
    free(ind);
    free(x.ring);
    return 0;
}
