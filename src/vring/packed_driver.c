/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packed virtqueue, driver role (virtio 1.2, section 2.8).
 *
 * Shared-memory ownership: the descriptor ring is written by both sides, one position at a
 * time. This side writes a position only while it is free (the device has used the chain that
 * covered it, or it was never posted), and the device writes a position only between seeing it
 * available and marking it used; the AVAIL/USED flag bits say which side may write next. The
 * driver event suppression area is written only by this side, the device area only by the
 * device. Reclaiming never reads back what this side wrote: of a used descriptor only the
 * flags, the buffer id and the length are read, once each, and validated against the private
 * slot array (indexed by buffer id), which is the truth about what was posted.
 *
 * Positions are free-running 16-bit descriptor counts. num is a power of two that divides
 * 65536, so a count c names the ring position c & mask and its wrap counter, 1 on even laps:
 * (c & num) == 0. avail_idx is the next position to fill, avail_pub the first one not yet
 * published, last_used the next position where a used descriptor is expected.
 */
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/vq_driver.h"

#include "../common/shm.h"
#include "packed_driver.h"
#include "ring.h"

#define PDRV_AVAIL_USED (XCV_VRING_PACKED_DESC_F_AVAIL | XCV_VRING_PACKED_DESC_F_USED)
#define PDRV_WRAP_BIT 15u

static int pdrv_break(struct xcv_vq_driver *q, int err)
{
    if (q->broken == 0) {
        q->broken = err;
        xcv_report(q->port, XCV_LOG_ERROR, "vq driver broken", q->queue_index, err);
    }
    return err;
}

/* The wrap counter of free-running position @c: 1 on even laps. */
static inline bool pdrv_wrap(const struct xcv_vq_driver *q, uint16_t c)
{
    return (c & q->num) == 0u;
}

/* AVAIL/USED bits that make position @c available: AVAIL equal to the wrap counter, USED not. */
static inline uint16_t pdrv_avail_bits(const struct xcv_vq_driver *q, uint16_t c)
{
    return pdrv_wrap(q, c) ? (uint16_t)XCV_VRING_PACKED_DESC_F_AVAIL
                           : (uint16_t)XCV_VRING_PACKED_DESC_F_USED;
}

/* Does @flags mark position @c used: AVAIL and USED both equal to the wrap counter? */
static inline bool pdrv_is_used(const struct xcv_vq_driver *q, uint16_t flags, uint16_t c)
{
    uint16_t want = pdrv_wrap(q, c) ? (uint16_t)PDRV_AVAIL_USED : (uint16_t)0u;
    return (flags & PDRV_AVAIL_USED) == want;
}

static inline uint8_t *pdrv_desc(const struct xcv_vq_driver *q, uint16_t c)
{
    return q->desc + (size_t)(c & q->mask) * XCV_VRING_DESC_SIZE;
}

bool xcv_pdrv_ring_ok(const struct xcv_vring_layout *r)
{
    const uint8_t *desc = (const uint8_t *)r->desc;
    const uint8_t *drv = (const uint8_t *)r->avail;
    const uint8_t *dev = (const uint8_t *)r->used;
    if (!xcv_is_pow2(r->num) || r->num > XCV_VRING_MAX_NUM || desc == NULL || drv == NULL ||
        dev == NULL)
        return false;
    /* 16-bit flags and 32-bit event areas are accessed atomically: natural alignment. */
    if (((uintptr_t)desc & 15u) != 0u || ((uintptr_t)drv & 3u) != 0u || ((uintptr_t)dev & 3u) != 0u)
        return false;
    return drv >= desc + XCV_VRING_DESC_BYTES(r->num) && dev >= drv + XCV_VRING_PACKED_EVENT_BYTES;
}

size_t xcv_pdrv_ring_bytes(const struct xcv_vq_driver *q)
{
    return (size_t)(q->used - q->desc) + XCV_VRING_PACKED_EVENT_BYTES;
}

/* Write the descriptor at free-running position @c. Every field is driver-written while the
 * position is free: the device reads it only after it sees the position available, which the
 * release store of the batch's first flags (publish) orders after these plain stores. The
 * flags of the batch's first position are that release store, so they are kept for publish. */
static inline void pdrv_write_desc(struct xcv_vq_driver *q, uint16_t c, uint64_t addr, uint32_t len,
                                   uint16_t id, uint16_t flags)
{
    uint8_t *d = pdrv_desc(q, c);
    xcv_le64_store(d + XCV_PDESC_ADDR, addr);
    xcv_le32_store(d + XCV_PDESC_LEN, len);
    xcv_le16_store(d + XCV_PDESC_ID, id);
    if (c == q->avail_pub)
        q->first_flags = flags;
    else
        xcv_le16_store(d + XCV_PDESC_FLAGS, flags);
}

/* Take a free buffer id; the caller checked that a ring position is free, and there is always
 * a free id then: each outstanding chain holds one id and at least one position. */
static inline uint16_t pdrv_take_id(struct xcv_vq_driver *q)
{
    uint16_t id = q->free_head;
    q->free_head = q->slots[id].next;
    return id;
}

/* Record a written chain of @ndesc descriptors in the shadow of its buffer id. */
static inline void pdrv_post(struct xcv_vq_driver *q, uint16_t id, uint16_t start, uint32_t wlen,
                             unsigned ndesc, void *token)
{
    struct xcv_vq_drv_slot *s = &q->slots[id];
    s->token = token;
    s->wlen = wlen;
    s->last = start;
    s->ndesc = (uint16_t)ndesc;
    q->avail_idx = (uint16_t)(q->avail_idx + ndesc);
    q->num_free = (uint16_t)(q->num_free - ndesc);
    q->in_flight++;
    q->pend_chains++;
}

int xcv_pdrv_add(struct xcv_vq_driver *q, const struct xcv_sg *sg, unsigned n_out, unsigned n_in,
                 void *token)
{
    unsigned n = n_out + n_in;
    uint64_t wlen = 0;
    for (unsigned i = n_out; i < n; i++)
        wlen += sg[i].len;
    if (wlen > UINT32_MAX)
        return XCV_EINVAL;
    if (n > q->num_free)
        return XCV_ENOSPC;

    uint16_t id = pdrv_take_id(q);
    uint16_t start = q->avail_idx;
    /* The chain's positions follow each other around the ring; each takes the wrap bits of its
     * own lap, so a chain may cross the end of the ring. The id is in every descriptor. */
    for (unsigned i = 0; i < n; i++) {
        uint16_t c = (uint16_t)(start + i);
        uint16_t flags =
            (uint16_t)(pdrv_avail_bits(q, c) | (i >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                       (i + 1u < n ? XCV_VRING_DESC_F_NEXT : 0u));
        pdrv_write_desc(q, c, sg[i].addr, sg[i].len, id, flags);
    }
    pdrv_post(q, id, start, (uint32_t)wlen, n, token);
    return XCV_OK;
}

int xcv_pdrv_add_burst(struct xcv_vq_driver *q, const struct xcv_sg *sg, unsigned n,
                       bool device_writable, void *const *tokens)
{
    unsigned k = n < q->num_free ? n : q->num_free;
    uint16_t wflag = device_writable ? (uint16_t)XCV_VRING_DESC_F_WRITE : (uint16_t)0u;
    for (unsigned i = 0; i < k; i++) {
        uint16_t id = pdrv_take_id(q);
        uint16_t c = q->avail_idx;
        pdrv_write_desc(q, c, sg[i].addr, sg[i].len, id, (uint16_t)(pdrv_avail_bits(q, c) | wflag));
        pdrv_post(q, id, c, device_writable ? sg[i].len : 0u, 1u, tokens[i]);
    }
    return (int)k;
}

/* Write back the descriptors of free-running positions [from, to) (at most num of them). */
static void pdrv_clean_range(const struct xcv_vq_driver *q, uint16_t from, uint16_t to)
{
    size_t count = (uint16_t)(to - from);
    size_t first = from & q->mask;
    size_t head = count < q->num - first ? count : q->num - first;
    xcv_cache_clean(q->port, q->desc + first * XCV_VRING_DESC_SIZE, head * XCV_VRING_DESC_SIZE);
    if (count > head)
        xcv_cache_clean(q->port, q->desc, (count - head) * XCV_VRING_DESC_SIZE);
}

int xcv_pdrv_publish(struct xcv_vq_driver *q)
{
    uint16_t n = q->pend_chains;
    if (n == 0u)
        return 0;
    /* Once per batch: write back the batch's descriptors before the first flags are seen. */
    pdrv_clean_range(q, q->avail_pub, q->avail_idx);
    uint8_t *d = pdrv_desc(q, q->avail_pub);
    /* Flags of the batch's first descriptor: driver-written (the position is free until now);
     * the release orders every other field and flags of the batch before it, and the device
     * looks at no later position before it sees this one available. */
    xcv_shm_store_release16(d + XCV_PDESC_FLAGS, q->first_flags);
    xcv_cache_clean(q->port, d + XCV_PDESC_FLAGS, 2u);
    q->avail_pub = q->avail_idx;
    q->pend_chains = 0;
    return n;
}

int xcv_pdrv_kick_decide(struct xcv_vq_driver *q)
{
    uint16_t old_idx = q->avail_kicked;
    uint16_t new_idx = q->avail_pub;
    q->avail_kicked = new_idx;
    if (old_idx == new_idx)
        return 0;
    /* Full barrier: the flags store must be visible before we read the device's suppression
     * state, or both sides could decide that the other one will act. */
    xcv_shm_fence();
    xcv_cache_invalidate(q->port, q->used, XCV_VRING_PACKED_EVENT_BYTES);
    /* Device event suppression area: device-written, read once as one untorn 32-bit word so
     * that off_wrap and flags come from the same write; any value is safe to act on. */
    uint32_t ev = xcv_shm_load_acquire32(q->used + XCV_PEVT_OFF_WRAP);
    uint16_t flags = (uint16_t)(ev >> (8u * XCV_PEVT_FLAGS));
    if (flags == XCV_VRING_PACKED_EVENT_DISABLE)
        return 0;
    if (flags != XCV_VRING_PACKED_EVENT_DESC || !q->event_idx)
        return 1; /* ENABLE, or a value this side does not expect: notifying is always safe */
    if ((uint16_t)(new_idx - old_idx) >= q->num)
        return 1; /* every position was made available since the last decision */
    /* The event names a position and its wrap counter: place it in the lap of new_idx or the
     * lap before, as free-running counts, and test it against [old_idx, new_idx). */
    uint16_t off_wrap = (uint16_t)ev;
    uint16_t lap = (uint16_t)(new_idx & (uint16_t)~q->mask);
    uint16_t event = (uint16_t)(lap + (off_wrap & 0x7fffu));
    if (((off_wrap >> PDRV_WRAP_BIT) != 0u) != pdrv_wrap(q, new_idx))
        event = (uint16_t)(event - q->num);
    return xcv_vring_need_event(event, new_idx, old_idx) ? 1 : 0;
}

/* Read the flags at last_used and tell whether a used descriptor is there: 1 (acquired, so its
 * id and length may be read), 0, or a protocol error for one that cannot be legitimate. */
static inline int pdrv_used_ready(struct xcv_vq_driver *q, const uint8_t *d)
{
    xcv_cache_invalidate(q->port, d, XCV_VRING_DESC_SIZE);
    /* Flags at last_used: written by the device when it marks the position used (by the driver
     * when it was made available); acquire orders the id and length reads after it. */
    uint16_t flags = xcv_shm_load_acquire16(d + XCV_PDESC_FLAGS);
    if (!pdrv_is_used(q, flags, q->last_used))
        return 0;
    /* Every published position was consumed already: the device marked more than was posted. */
    if (q->avail_pub == q->last_used)
        return pdrv_break(q, XCV_EPROTO_USED_IDX);
    return 1;
}

/* Was the chain of buffer id @id published (its first position before avail_pub)? Outstanding
 * chains start within the num positions before avail_idx, so the distances are unambiguous. */
static inline bool pdrv_published(const struct xcv_vq_driver *q, uint16_t id)
{
    uint16_t since_start = (uint16_t)(q->avail_idx - q->slots[id].last);
    uint16_t unpublished = (uint16_t)(q->avail_idx - q->avail_pub);
    return since_start > unpublished;
}

/* Give back the id of a chain (used or detached): drop the token and free the id. */
static inline void pdrv_free_id(struct xcv_vq_driver *q, uint16_t id)
{
    struct xcv_vq_drv_slot *s = &q->slots[id];
    s->token = NULL;
    s->next = q->free_head;
    q->free_head = id;
    q->in_flight--;
}

int xcv_pdrv_get_one(struct xcv_vq_driver *q, void **token, uint32_t *len)
{
    const uint8_t *d = pdrv_desc(q, q->last_used);
    int r = pdrv_used_ready(q, d);
    if (r <= 0)
        return r == 0 ? XCV_EAGAIN : r;
    /* Id and length: device-written before the flags we acquired; read each once. */
    uint16_t id = xcv_le16_load(d + XCV_PDESC_ID);
    uint32_t used_len = xcv_le32_load(d + XCV_PDESC_LEN);
    if (id >= q->num || q->slots[id].token == NULL || !pdrv_published(q, id))
        return pdrv_break(q, XCV_EPROTO_USED_ID);
    if (used_len > q->slots[id].wlen)
        return pdrv_break(q, XCV_EPROTO_USED_LEN);
    uint16_t ndesc = q->slots[id].ndesc;
    *token = q->slots[id].token;
    *len = used_len;
    pdrv_free_id(q, id);
    /* The device wrote one used descriptor for the chain and skips the rest of its positions:
     * so does this side, by the count from the shadow. */
    q->num_free = (uint16_t)(q->num_free + ndesc);
    q->last_used = (uint16_t)(q->last_used + ndesc);
    return XCV_OK;
}

void *xcv_pdrv_peek_used(const struct xcv_vq_driver *q, unsigned ahead)
{
    if (q->broken != 0)
        return NULL;
    uint16_t at = q->last_used;
    uint16_t span = (uint16_t)(q->avail_pub - q->last_used);
    /* Each step passes one outstanding chain: at most in_flight of them, and never beyond the
     * published positions. */
    for (unsigned k = 0; k <= ahead && k < q->in_flight; k++) {
        if ((uint16_t)(at - q->last_used) >= span)
            return NULL;
        const uint8_t *d = pdrv_desc(q, at);
        /* Flags, then id: device-written; a hint only. The id picks one of this side's own
         * tokens and nothing else; get_used reads the descriptor again and validates it. */
        uint16_t flags = xcv_shm_load_acquire16(d + XCV_PDESC_FLAGS);
        if (!pdrv_is_used(q, flags, at))
            return NULL;
        uint16_t id = xcv_le16_load(d + XCV_PDESC_ID);
        if (id >= q->num || q->slots[id].token == NULL)
            return NULL;
        if (k == ahead)
            return q->slots[id].token;
        at = (uint16_t)(at + q->slots[id].ndesc);
    }
    return NULL;
}

/* Driver event suppression area: driver-written, read by the device when it decides to notify.
 * One 32-bit store, so the device never sees off_wrap and flags from different writes. */
static void pdrv_write_event(struct xcv_vq_driver *q, uint16_t flags)
{
    uint16_t off_wrap = (uint16_t)((q->last_used & q->mask) |
                                   (pdrv_wrap(q, q->last_used) ? 1u << PDRV_WRAP_BIT : 0u));
    uint32_t v = (uint32_t)off_wrap << (8u * XCV_PEVT_OFF_WRAP) | (uint32_t)flags
                                                                      << (8u * XCV_PEVT_FLAGS);
    xcv_shm_store_release32(q->avail + XCV_PEVT_OFF_WRAP, v);
    xcv_cache_clean(q->port, q->avail, XCV_VRING_PACKED_EVENT_BYTES);
    q->avail_flags = flags;
}

int xcv_pdrv_enable_notify(struct xcv_vq_driver *q)
{
    /* With EVENT_IDX: notify when the next used descriptor lands at last_used (its position
     * and wrap counter); otherwise notify on every used buffer. */
    pdrv_write_event(q, q->event_idx ? (uint16_t)XCV_VRING_PACKED_EVENT_DESC
                                     : (uint16_t)XCV_VRING_PACKED_EVENT_ENABLE);
    /* Full barrier: the request must be visible before we look for work that raced it. */
    xcv_shm_fence();
    return pdrv_used_ready(q, pdrv_desc(q, q->last_used));
}

void xcv_pdrv_disable_notify(struct xcv_vq_driver *q)
{
    pdrv_write_event(q, XCV_VRING_PACKED_EVENT_DISABLE);
}

void xcv_pdrv_detach(struct xcv_vq_driver *q, uint16_t id)
{
    pdrv_free_id(q, id);
}
