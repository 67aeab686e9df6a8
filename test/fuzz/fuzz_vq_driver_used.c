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
#include "fuzz_ring.h"

#define IND_MAX 4u
#define MAX_SEGS 16u /* n_out and n_in are 0..7 each */
#define LINE XCV_CACHE_LINE_DEFAULT

struct ctx {
    struct xcv_vq_driver q;
    struct xcv_vring_layout lay;
    uint8_t *ring;
    struct fz_mirror used; /* the used ring, and what the harness (the device) last wrote there */
    struct fz_data data;
    uint16_t num;
    bool event_idx;
    bool indirect;
    struct fz_toks t;
    uint16_t added;     /* model of the driver's avail index */
    uint16_t last_used; /* model of the next used entry the driver consumes */
    int broken;
    bool drained; /* the last get_used found nothing: the next one must read the index */
};

/* End of the used ring: the ring areas proper, without the padding to a whole line. */
static size_t ring_used_end(const struct ctx *x)
{
    return (size_t)(x->used.mem - x->ring) + XCV_VRING_USED_BYTES(x->num);
}

static uint16_t used_idx(const struct ctx *x)
{
    return xcv_le16_load(x->used.mem + 2);
}

/* Entry @p i of the used ring, as an offset into it. */
static size_t used_entry(const struct ctx *x, uint16_t i)
{
    return fz_used_entry_off(0, x->num, i);
}

static void broke(struct ctx *x, int r)
{
    FUZZ_CHECK(xcv_err_is_protocol(r));
    fz_broke(&x->broken, r, xcv_vq_driver_broken(&x->q), NULL, 0);
}

static void do_add(struct ctx *x, struct fuzz_in *s)
{
    unsigned n_out, n_in;
    unsigned n = fz_shape(fin_u8(s), &n_out, &n_in);
    struct xcv_sg sg[MAX_SEGS];
    fz_sg_fill(s, sg, n, FZ_DATA_BYTES / MAX_SEGS);
    uint32_t wlen = 0;
    for (unsigned k = n_out; k < n; k++)
        wlen += sg[k].len;
    struct fz_tok *t = fz_tok_free(&x->t);
    if (!t)
        return;
    unsigned free_before = xcv_vq_driver_num_free(&x->q);
    int r = xcv_vq_driver_add(&x->q, sg, n_out, n_in, t);
    if (fz_stays_broken(x->broken != 0, r))
        return;
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
    uint16_t head = xcv_le16_load((uint8_t *)x->lay.avail + fz_avail_slot_off(0, x->num, x->added));
    FUZZ_CHECK(head < x->num);
    FUZZ_CHECK(fz_tok_by_id(&x->t, head) == NULL);
    fz_tok_post(&x->t, t, head, (uint16_t)n, wlen);
    x->added++;
}

static void do_get_used(struct ctx *x)
{
    uint16_t pos = x->last_used;
    uint32_t id = xcv_le32_load(x->used.mem + used_entry(x, pos));
    uint32_t elen = xcv_le32_load(x->used.mem + used_entry(x, pos) + 4);
    uint16_t idx_now = used_idx(x);
    void *token = NULL;
    uint32_t len = 0;
    int r = xcv_vq_driver_get_used(&x->q, &token, &len);
    if (fz_stays_broken(x->broken != 0, r))
        return;
    if (x->drained && (uint16_t)(idx_now - x->last_used) > x->t.outstanding)
        FUZZ_CHECK(r == XCV_EPROTO_USED_IDX); /* an index beyond what is in flight */
    if (r == XCV_EAGAIN) {
        x->drained = true;
        return;
    }
    x->drained = false;
    if (r == XCV_OK) {
        struct fz_tok *t = fz_tok_back(&x->t, token); /* returned at most once */
        FUZZ_CHECK(t->id == id);                      /* the chain the entry names */
        FUZZ_CHECK(len == elen && len <= t->wlen);
        x->last_used++;
        return;
    }
    broke(x, r);
    if (r == XCV_EPROTO_USED_IDX) {
        FUZZ_CHECK((uint16_t)(idx_now - x->last_used) > x->t.outstanding);
    } else if (r == XCV_EPROTO_USED_ID) {
        FUZZ_CHECK(fz_tok_by_id(&x->t, id) == NULL);
    } else {
        FUZZ_CHECK(r == XCV_EPROTO_USED_LEN);
        struct fz_tok *t = fz_tok_by_id(&x->t, id);
        FUZZ_CHECK(t != NULL && elen > t->wlen);
    }
}

static void recover(struct ctx *x)
{
    fz_drv_recover(&x->q, &x->t, x->num);
    fz_drv_clean(&x->q, x->num, x->ring, ring_used_end(x)); /* reset zeroes the ring */
    memset(x->used.copy, 0, XCV_VRING_USED_BYTES(x->num));
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
    uint8_t cfg = fz_drv_input(&s, &x.num);
    x.event_idx = (cfg & 1u) != 0;
    x.drained = true;
    x.indirect = (cfg & 2u) != 0;

    x.ring = fz_ring_alloc(XCV_VRING_BYTES(x.num, LINE)); /* exact size: overruns are caught */
    uint8_t *ind = fz_alloc(16, XCV_VQ_INDIRECT_BYTES(x.num, IND_MAX));
    fz_data_open(&x.data);
    x.used.copy = fz_alloc(0, XCV_VRING_USED_BYTES(x.num));
    memset(x.used.copy, 0, XCV_VRING_USED_BYTES(x.num));
    struct xcv_vq_drv_slot *slots = fz_alloc(0, XCV_VQ_DRIVER_SLOTS_BYTES(x.num));

    FUZZ_CHECK(xcv_vring_layout(x.ring, FZ_RING_BUS, x.num, LINE, &x.lay) == XCV_OK);
    x.used.mem = x.lay.used;
    const struct xcv_vq_driver_config dc = {
        .ring = &x.lay,
        .slots = slots,
        .features = fz_features(0, x.event_idx, x.indirect),
        .indirect_local = x.indirect ? ind : NULL,
        .indirect_bus = FZ_IND_BUS,
        .indirect_max = IND_MAX,
        .prefer_indirect = (cfg & 4u) != 0,
    };
    FUZZ_CHECK(xcv_vq_driver_init(&x.q, &dc) == XCV_OK);
    /* Init zeroes the ring (the tail padding is unused). */
    fz_drv_clean(&x.q, x.num, x.ring, ring_used_end(&x));

    uint8_t *avail = x.lay.avail;
    size_t used_event_off = fz_used_event_off(0, x.num);
    while (s.n > 0) {
        uint8_t op = (uint8_t)(fin_u8(&s) % DRV_OP_COUNT);
        int r;
        switch (op) {
        case DRV_OP_ADD:
            do_add(&x, &s);
            break;
        case DRV_OP_KICK_PREPARE:
            r = xcv_vq_driver_kick_prepare(&x.q);
            if (!fz_stays_broken(x.broken != 0, r)) {
                FUZZ_CHECK(r == 0 || r == 1);
                FUZZ_CHECK(xcv_le16_load(avail + 2) == x.added);
            }
            break;
        case DRV_OP_PUBLISH:
            r = xcv_vq_driver_publish(&x.q);
            if (!fz_stays_broken(x.broken != 0, r)) {
                FUZZ_CHECK(r >= 0);
                FUZZ_CHECK(xcv_le16_load(avail + 2) == x.added);
            }
            break;
        case DRV_OP_USED_ENTRY: {
            uint8_t pos = fin_u8(&s);
            uint32_t id = fin_u8(&s) & 1u ? fin_u32(&s) : fin_u8(&s);
            uint32_t len = fin_u32(&s);
            fz_put_used(&x.used, used_entry(&x, (uint16_t)(x.last_used + pos)), id, len);
            break;
        }
        case DRV_OP_USED_IDX_SET:
            fz_put16(&x.used, 2, fin_u16(&s));
            break;
        case DRV_OP_USED_IDX_ADD:
            fz_put16(&x.used, 2, (uint16_t)(used_idx(&x) + fin_u8(&s) % (x.num + 2u)));
            break;
        case DRV_OP_USED_MISC:
            fz_put16(&x.used, 0, fin_u16(&s));
            fz_put16(&x.used, fz_avail_event_off(0, x.num), fin_u16(&s));
            break;
        case DRV_OP_COMPLETE: {
            /* Complete up to k outstanding chains correctly, after what is already used. */
            unsigned k = fin_u8(&s) % (x.num + 1u);
            uint16_t idx = used_idx(&x);
            for (unsigned i = 0; i < FZ_MAXNUM && k > 0; i++) {
                struct fz_tok *t = &x.t.tok[i];
                if (t->state != FZ_TOK_OUT)
                    continue;
                fz_put_used(&x.used, used_entry(&x, idx), t->id,
                            t->wlen ? fin_u32(&s) % (t->wlen + 1u) : 0);
                idx++;
                k--;
            }
            fz_put16(&x.used, 2, idx);
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
            if (fz_stays_broken(x.broken != 0, r))
                break;
            if (r == 0 || r == 1) {
                if (x.event_idx)
                    FUZZ_CHECK(xcv_le16_load(avail + used_event_off) == x.last_used);
                else
                    FUZZ_CHECK((xcv_le16_load(avail) & XCV_VRING_AVAIL_F_NO_INTERRUPT) == 0);
                FUZZ_CHECK(r == (used_idx(&x) != x.last_used));
                FUZZ_CHECK((uint16_t)(used_idx(&x) - x.last_used) <= x.t.outstanding);
            } else {
                broke(&x, r);
                FUZZ_CHECK(r == XCV_EPROTO_USED_IDX);
                FUZZ_CHECK((uint16_t)(used_idx(&x) - x.last_used) > x.t.outstanding);
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
        fz_drv_step_checks(&x.q, x.broken, x.t.outstanding, &x.data);
        FUZZ_CHECK(xcv_vq_driver_num_free(&x.q) <= x.num);
        FUZZ_CHECK(memcmp(x.used.mem, x.used.copy, XCV_VRING_USED_BYTES(x.num)) == 0);
    }
    recover(&x);

    free(slots);
    free(x.used.copy);
    fz_data_close(&x.data);
    free(ind);
    free(x.ring);
    return 0;
}
