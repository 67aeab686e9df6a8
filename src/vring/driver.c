/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueue, driver role.
 *
 * Shared-memory ownership (virtio 1.2, 2.7): this side is the only writer of the descriptor
 * table, the available ring and used_event; the device is the only writer of the used ring and
 * avail_event. Reclaiming never reads the descriptor table: the private slot array is the
 * truth about what was posted, and everything read from the used ring is validated against it.
 *
 * With VIRTIO_F_IN_ORDER (virtio 1.2, 2.7.5 and 2.7.9) descriptors are taken in table order,
 * wrapping at the end: the free descriptors are always one run starting at free_head, because
 * chains come back in the order they were posted and each returns its run to the free run's
 * end. The device may then answer a batch of chains with one used entry naming the batch's
 * last; every chain before it in the batch is returned with used length 0.
 *
 * A queue negotiated with VIRTIO_F_RING_PACKED is a packed ring: each public function checks
 * its arguments and the queue's state here, then hands the work to packed_driver.c.
 */
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/vq_driver.h"

#include "../common/prefetch.h"
#include "../common/shm.h"
#include "packed_driver.h"
#include "ring.h"

static int drv_break(struct xcv_vq_driver *q, int err)
{
    if (q->broken == 0) {
        q->broken = err;
        xcv_report(q->port, XCV_LOG_ERROR, "vq driver broken", q->queue_index, err);
    }
    return err;
}

static size_t drv_ring_bytes(const struct xcv_vq_driver *q)
{
    if (q->packed)
        return xcv_pdrv_ring_bytes(q);
    return (size_t)(q->used - q->desc) + XCV_VRING_USED_BYTES(q->num);
}

/* Bring every private field and the shared ring to the freshly-initialised state. */
static void drv_restart(struct xcv_vq_driver *q)
{
    /* The device is not live yet (init) or has been reset: this side may write every area. */
    xcv_memset(q->desc, 0, drv_ring_bytes(q));
    xcv_cache_clean(q->port, q->desc, drv_ring_bytes(q));
    for (uint32_t i = 0; i < q->num; i++) {
        q->slots[i].token = NULL;
        q->slots[i].wlen = 0;
        /* Table order, wrapping at the end (2.7.5: what IN_ORDER asks for). Without IN_ORDER
         * the free list starts this way; the last link is then never followed. */
        q->slots[i].next = (uint16_t)((i + 1u) & q->mask);
        q->slots[i].last = 0;
        q->slots[i].ndesc = 0;
    }
    q->broken = 0;
    q->free_head = 0;
    q->num_free = q->num;
    q->avail_idx = 0;
    q->avail_pub = 0;
    q->avail_kicked = 0;
    q->last_used = 0;
    q->used_seen = 0;
    q->in_flight = 0;
    q->detach_cursor = 0;
    q->avail_flags = 0;
    q->pend_chains = 0;
    q->first_flags = 0;
    q->io_oldest = 0;
    q->io_left = 0;
    q->io_multi = 0;
    q->io_len = 0;
}

int xcv_vq_driver_init(struct xcv_vq_driver *q, const struct xcv_vq_driver_config *cfg)
{
    if (q == NULL || cfg == NULL || cfg->ring == NULL || cfg->slots == NULL)
        return XCV_EINVAL;
    const struct xcv_vring_layout *r = cfg->ring;
    /* A packed ring has its own layout (xcv_vring_packed_layout) and no indirect tables. */
    bool packed = (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)) != 0u;
    if (packed) {
        if (!xcv_pdrv_ring_ok(r))
            return XCV_EINVAL;
        if (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER))
            return XCV_ENOTSUP; /* in-order packed rings are not implemented */
    } else {
        if (!xcv_is_pow2(r->num) || r->num > XCV_VRING_MAX_NUM || r->desc == NULL ||
            r->avail == NULL || r->used == NULL)
            return XCV_EINVAL;
        if ((uint8_t *)r->avail != (uint8_t *)r->desc + XCV_VRING_AVAIL_OFFSET(r->num) ||
            (uint8_t *)r->used < (uint8_t *)r->avail + XCV_VRING_AVAIL_BYTES(r->num))
            return XCV_EINVAL;
        if (cfg->indirect_local != NULL &&
            (cfg->indirect_max < 2u || ((uintptr_t)cfg->indirect_local & 15u) != 0u))
            return XCV_EINVAL;
    }
    if (cfg->port != NULL && cfg->port->ops == NULL)
        return XCV_EINVAL;

    q->desc = (uint8_t *)r->desc;
    q->avail = (uint8_t *)r->avail;
    q->used = (uint8_t *)r->used;
    q->slots = cfg->slots;
    q->port = cfg->port;
    q->doorbell = cfg->doorbell;
    q->num = r->num;
    q->mask = (uint16_t)(r->num - 1u);
    q->queue_index = cfg->queue_index;
    q->event_idx = (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)) != 0u;
    q->packed = packed;
    q->in_order = !packed && (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER)) != 0u;
    q->indirect = !packed && cfg->indirect_local != NULL &&
                  (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)) != 0u;
    q->ind_local = q->indirect ? (uint8_t *)cfg->indirect_local : NULL;
    q->ind_bus = q->indirect ? cfg->indirect_bus : 0u;
    q->ind_max = q->indirect ? cfg->indirect_max : 0u;
    q->prefer_indirect = q->indirect && cfg->prefer_indirect;
    drv_restart(q);
    return XCV_OK;
}

int xcv_vq_driver_reset(struct xcv_vq_driver *q)
{
    if (q == NULL)
        return XCV_EINVAL;
    if (q->in_flight != 0u)
        return XCV_ESTATE;
    drv_restart(q);
    return XCV_OK;
}

/* Write one descriptor. The table is driver-written only; the device reads an entry after the
 * release store of the avail index that covers it, so plain stores suffice. */
static inline void drv_write_desc(uint8_t *d, uint64_t addr, uint32_t len, uint16_t flags,
                                  uint16_t next)
{
    xcv_le64_store(d + XCV_DESC_ADDR, addr);
    xcv_le32_store(d + XCV_DESC_LEN, len);
    xcv_le16_store(d + XCV_DESC_FLAGS, flags);
    xcv_le16_store(d + XCV_DESC_NEXT, next);
}

/*
 * Write descriptor @idx of the ring's table. In order, a descriptor comes round every num
 * chains, often describing the same buffer as last time (a caller that recycles its buffers in
 * order): then it is left as it is, so its line stays shared with the device instead of moving
 * to this core and back. The table is this side's to write; reading it back reads only what
 * this side wrote (or, from a misbehaving device, anything: a different value is simply
 * rewritten, and an equal one is what would have been written).
 */
static inline void drv_put_desc(struct xcv_vq_driver *q, uint16_t idx, uint64_t addr, uint32_t len,
                                uint16_t flags, uint16_t next)
{
    uint8_t *d = q->desc + (size_t)idx * XCV_VRING_DESC_SIZE;
    if (q->in_order) {
        uint8_t old[XCV_VRING_DESC_SIZE];
        xcv_memcpy(old, d, sizeof(old));
        if (xcv_le64_load(old + XCV_DESC_ADDR) == addr &&
            xcv_le32_load(old + XCV_DESC_LEN) == len &&
            xcv_le16_load(old + XCV_DESC_FLAGS) == flags &&
            xcv_le16_load(old + XCV_DESC_NEXT) == next)
            return;
    }
    drv_write_desc(d, addr, len, flags, next);
}

/* Record a written chain in the shadow and put its head in the next available slot. */
static inline void drv_post(struct xcv_vq_driver *q, uint16_t head, uint16_t last, uint32_t wlen,
                            unsigned ndesc, void *token)
{
    q->slots[head].token = token;
    q->slots[head].wlen = wlen;
    q->slots[head].last = last;
    q->slots[head].ndesc = (uint16_t)ndesc;
    /* Avail ring slot: driver-written; the device reads it only after the avail index store. */
    xcv_le16_store(q->avail + XCV_AVAIL_RING(q->avail_idx & q->mask), head);
    q->avail_idx++;
    q->num_free = (uint16_t)(q->num_free - ndesc);
    q->in_flight++;
    if (ndesc > 1u)
        q->io_multi++; /* counted in either mode; used in order */
}

int xcv_vq_driver_add(struct xcv_vq_driver *q, const struct xcv_sg *sg, unsigned n_out,
                      unsigned n_in, void *token)
{
    if (q == NULL)
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    unsigned n = n_out + n_in;
    if (sg == NULL || token == NULL || n == 0u || n < n_out || n > q->num)
        return XCV_EINVAL;
    if (q->packed)
        return xcv_pdrv_add(q, sg, n_out, n_in, token);
    if (n == 1u) {
        /* One segment (the common case): no list walk, no indirect table. */
        if (q->num_free == 0u)
            return XCV_ENOSPC;
        uint16_t head = q->free_head;
        drv_put_desc(q, head, sg[0].addr, sg[0].len,
                     n_in != 0u ? (uint16_t)XCV_VRING_DESC_F_WRITE : (uint16_t)0u, 0);
        q->free_head = q->slots[head].next;
        drv_post(q, head, head, n_in != 0u ? sg[0].len : 0u, 1u, token);
        return XCV_OK;
    }

    uint64_t wlen = 0;
    for (unsigned i = n_out; i < n; i++)
        wlen += sg[i].len;
    if (wlen > UINT32_MAX)
        return XCV_EINVAL;

    bool use_ind =
        q->indirect && n > 1u && n <= q->ind_max && (q->prefer_indirect || n > q->num_free);
    unsigned needed = use_ind ? 1u : n;
    if (needed > q->num_free)
        return XCV_ENOSPC;

    uint16_t head = q->free_head;
    uint16_t last;
    if (use_ind) {
        size_t off = (size_t)head * q->ind_max * XCV_VRING_DESC_SIZE;
        uint8_t *table = q->ind_local + off;
        /* Indirect table of this head: written only by this side, and only while the head is
         * free, i.e. while the device has no reference to it. */
        for (unsigned i = 0; i < n; i++) {
            uint16_t flags = (uint16_t)((i >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                                        (i + 1u < n ? XCV_VRING_DESC_F_NEXT : 0u));
            drv_write_desc(table + (size_t)i * XCV_VRING_DESC_SIZE, sg[i].addr, sg[i].len, flags,
                           (uint16_t)(i + 1u < n ? i + 1u : 0u));
        }
        xcv_cache_clean(q->port, table, (size_t)n * XCV_VRING_DESC_SIZE);
        drv_put_desc(q, head, q->ind_bus + off, (uint32_t)(n * XCV_VRING_DESC_SIZE),
                     XCV_VRING_DESC_F_INDIRECT, 0);
        last = head;
        q->free_head = q->slots[head].next;
    } else {
        /* A chain is the first n entries of the free list; its shadow links are the list's. */
        uint16_t idx = head;
        last = head;
        for (unsigned i = 0; i < n; i++) {
            bool more = i + 1u < n;
            uint16_t flags = (uint16_t)((i >= n_out ? XCV_VRING_DESC_F_WRITE : 0u) |
                                        (more ? XCV_VRING_DESC_F_NEXT : 0u));
            drv_put_desc(q, idx, sg[i].addr, sg[i].len, flags, more ? q->slots[idx].next : 0u);
            last = idx;
            idx = q->slots[idx].next;
        }
        q->free_head = idx;
    }

    drv_post(q, head, last, (uint32_t)wlen, needed, token);
    return XCV_OK;
}

int xcv_vq_driver_add_burst(struct xcv_vq_driver *q, const struct xcv_sg *sg, unsigned n,
                            bool device_writable, void *const *tokens)
{
    if (q == NULL || ((sg == NULL || tokens == NULL) && n != 0u))
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    for (unsigned i = 0; i < n; i++) {
        if (tokens[i] == NULL)
            return XCV_EINVAL; /* nothing is posted */
    }
    if (n != 0u && q->num_free == 0u)
        return XCV_ENOSPC;
    if (q->packed)
        return xcv_pdrv_add_burst(q, sg, n, device_writable, tokens);
    unsigned k = n < q->num_free ? n : q->num_free;
    uint16_t flags = device_writable ? (uint16_t)XCV_VRING_DESC_F_WRITE : (uint16_t)0u;
    /* drv_put_desc() and drv_post() chain by chain, with the queue's indices in locals written
     * back once: the descriptor and slot stores go through byte pointers, which would otherwise
     * make the compiler reload every index after each of them. */
    struct xcv_vq_drv_slot *slots = q->slots;
    const uint16_t mask = q->mask;
    uint16_t free_head = q->free_head;
    uint16_t avail_idx = q->avail_idx;
    for (unsigned i = 0; i < k; i++) {
        uint16_t head = free_head;
        drv_put_desc(q, head, sg[i].addr, sg[i].len, flags, 0);
        free_head = slots[head].next;
        slots[head].token = tokens[i];
        slots[head].wlen = device_writable ? sg[i].len : 0u;
        slots[head].last = head;
        slots[head].ndesc = 1;
        /* Avail ring slot: driver-written; the device reads it only after the avail index
         * store. */
        xcv_le16_store(q->avail + XCV_AVAIL_RING(avail_idx & mask), head);
        avail_idx++;
    }
    q->free_head = free_head;
    q->avail_idx = avail_idx;
    q->num_free = (uint16_t)(q->num_free - k);
    q->in_flight = (uint16_t)(q->in_flight + k);
    return (int)k;
}

int xcv_vq_driver_publish(struct xcv_vq_driver *q)
{
    if (q == NULL)
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (q->packed)
        return xcv_pdrv_publish(q);
    uint16_t n = (uint16_t)(q->avail_idx - q->avail_pub);
    if (n == 0u)
        return 0;
    /* Once per batch: write back the table and the ring slots before the index is seen. */
    xcv_cache_clean(q->port, q->desc, XCV_VRING_DESC_BYTES(q->num) + XCV_VRING_AVAIL_BYTES(q->num));
    /* avail->idx: driver-written; release orders every descriptor and slot write before it. */
    xcv_shm_store_release16(q->avail + XCV_AVAIL_IDX, q->avail_idx);
    xcv_cache_clean(q->port, q->avail, 4u);
    q->avail_pub = q->avail_idx;
    return n;
}

int xcv_vq_driver_kick_prepare(struct xcv_vq_driver *q)
{
    int r = xcv_vq_driver_publish(q);
    if (r < 0)
        return r;
    if (q->packed)
        return xcv_pdrv_kick_decide(q);
    uint16_t old_idx = q->avail_kicked;
    uint16_t new_idx = q->avail_pub;
    q->avail_kicked = new_idx;
    if (old_idx == new_idx)
        return 0;
    /* Full barrier: the index store must be visible before we read the device's suppression
     * state, or both sides could decide that the other one will act. */
    xcv_shm_fence();
    if (q->event_idx) {
        size_t off = XCV_USED_AVAIL_EVENT(q->num);
        xcv_cache_invalidate(q->port, q->used + off, 2u);
        /* avail_event: device-written, read once; any value is safe to act on. */
        uint16_t ev = xcv_shm_load_relaxed16(q->used + off);
        return xcv_vring_need_event(ev, new_idx, old_idx) ? 1 : 0;
    }
    xcv_cache_invalidate(q->port, q->used, 2u);
    /* used->flags: device-written, read once; only the NO_NOTIFY bit is meaningful. */
    uint16_t flags = xcv_shm_load_relaxed16(q->used + XCV_USED_FLAGS);
    return (flags & XCV_VRING_USED_F_NO_NOTIFY) ? 0 : 1;
}

int xcv_vq_driver_notify(struct xcv_vq_driver *q)
{
    if (q == NULL)
        return XCV_EINVAL;
    if (q->port == NULL || q->port->ops->notify == NULL)
        return XCV_ENOTSUP;
    return q->port->ops->notify(q->port->ctx, q->doorbell);
}

int xcv_vq_driver_kick(struct xcv_vq_driver *q)
{
    int r = xcv_vq_driver_kick_prepare(q);
    if (r <= 0)
        return r;
    int nr = xcv_vq_driver_notify(q);
    return nr < 0 ? nr : 1;
}

/* Read the device's used index once and check it against what can legitimately be used. */
static int drv_refresh_used(struct xcv_vq_driver *q, uint16_t *idx)
{
    xcv_cache_invalidate(q->port, q->used, 4u);
    /* used->idx: device-written; acquire orders the entry reads after it. */
    uint16_t v = xcv_shm_load_acquire16(q->used + XCV_USED_IDX);
    if ((uint16_t)(v - q->last_used) > q->in_flight)
        return drv_break(q, XCV_EPROTO_USED_IDX);
    *idx = v;
    return XCV_OK;
}

static inline __attribute__((always_inline)) void drv_reclaim(struct xcv_vq_driver *q,
                                                              uint16_t head)
{
    struct xcv_vq_drv_slot *s = &q->slots[head];
    if (q->in_order) {
        /* The oldest chain: its run joins the end of the free run, its links stay in table
         * order. */
        q->io_oldest = (uint16_t)((head + s->ndesc) & q->mask);
    } else {
        q->slots[s->last].next = q->free_head;
        q->free_head = head;
    }
    q->num_free = (uint16_t)(q->num_free + s->ndesc);
    if (s->ndesc > 1u)
        q->io_multi--;
    s->token = NULL;
    q->in_flight--;
}

/*
 * In order: take the oldest chain. At the start of a batch, read the entry at the used position
 * and find the chain it names among the chains in flight, oldest first: the batch is every
 * chain up to that one. Bounded by the entries the used index covers (at most in_flight); the
 * walk reads this side's own slots only.
 */
static inline __attribute__((always_inline)) int drv_get_in_order(struct xcv_vq_driver *q,
                                                                  void **token, uint32_t *len)
{
    if (q->io_left == 0u) {
        /* Used entry: device-written before the used index we acquired; read each field once. */
        const uint8_t *e = q->used + XCV_USED_RING(q->last_used & q->mask);
        uint32_t id = xcv_le32_load(e);
        uint32_t used_len = xcv_le32_load(e + 4);
        uint16_t covered = (uint16_t)(q->used_seen - q->last_used);
        uint16_t b;
        if (q->io_multi == 0u) {
            /* Every chain in flight is one descriptor: the named one is as many chains after
             * the oldest as it is descriptors after it. */
            b = (uint16_t)(((id - q->io_oldest) & q->mask) + 1u);
            if (id >= q->num || b > covered)
                return drv_break(q, XCV_EPROTO_USED_ID); /* not a chain the index covers */
        } else {
            uint16_t h = q->io_oldest;
            b = 1;
            while (h != id) {
                if (b >= covered || id >= q->num)
                    return drv_break(q, XCV_EPROTO_USED_ID); /* not a chain the index covers */
                h = (uint16_t)((h + q->slots[h].ndesc) & q->mask);
                b++;
            }
        }
        /* Reached within the index's reach of the oldest chain, so a chain in flight. */
        if (used_len > q->slots[id].wlen)
            return drv_break(q, XCV_EPROTO_USED_LEN);
        q->io_left = b;
        q->io_len = used_len;
    }
    uint16_t head = q->io_oldest;
    *token = q->slots[head].token;
    *len = q->io_left == 1u ? q->io_len : 0u; /* the entry names the batch's last chain */
    q->io_left--;
    drv_reclaim(q, head);
    q->last_used++;
    return XCV_OK;
}

/* Take one used chain; the caller checked the queue (healthy) and the outputs. */
static inline __attribute__((always_inline)) int drv_get_one(struct xcv_vq_driver *q, void **token,
                                                             uint32_t *len)
{
    if (q->last_used == q->used_seen) {
        uint16_t idx;
        int r = drv_refresh_used(q, &idx);
        if (r < 0)
            return r;
        if (idx == q->last_used) {
            /* A polled empty ring: start fetching the line of the next used entry, so that its
             * transfer overlaps the index's when the device publishes. A hint only: the entry
             * is still read once, after the acquire of the index that covers it. */
            xcv_prefetch_read(q->used + XCV_USED_RING(q->last_used & q->mask));
            return XCV_EAGAIN;
        }
        q->used_seen = idx;
        xcv_cache_invalidate(q->port, q->used + XCV_USED_RING(0), (size_t)8u * q->num);
    }
    if (q->in_order)
        return drv_get_in_order(q, token, len);
    /* Used entry: device-written before the used index we acquired; read each field once. */
    const uint8_t *e = q->used + XCV_USED_RING(q->last_used & q->mask);
    uint32_t id = xcv_le32_load(e);
    uint32_t used_len = xcv_le32_load(e + 4);
    if (id >= q->num || q->slots[id].token == NULL)
        return drv_break(q, XCV_EPROTO_USED_ID);
    if (used_len > q->slots[id].wlen)
        return drv_break(q, XCV_EPROTO_USED_LEN);
    *token = q->slots[id].token;
    *len = used_len;
    drv_reclaim(q, (uint16_t)id);
    q->last_used++;
    return XCV_OK;
}

int xcv_vq_driver_get_used(struct xcv_vq_driver *q, void **token, uint32_t *len)
{
    if (q == NULL || token == NULL || len == NULL)
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (q->packed)
        return xcv_pdrv_get_one(q, token, len);
    return drv_get_one(q, token, len);
}

/*
 * In order, every chain in flight one descriptor: drv_get_one() chain after chain, with the
 * queue's indices in locals written back once (the token and length stores go through pointers
 * that could alias the queue object, after which the compiler would reload every index). The
 * same reads and checks, in the same order: the used index is read when everything it covered
 * was taken, the entry at the used position once per batch, each field once.
 */
static int drv_get_burst_in_order1(struct xcv_vq_driver *q, void **tokens, uint32_t *lens,
                                   unsigned n)
{
    struct xcv_vq_drv_slot *const slots = q->slots;
    const uint8_t *const used = q->used;
    const uint16_t mask = q->mask;
    uint16_t last = q->last_used;
    uint16_t seen = q->used_seen;
    uint16_t oldest = q->io_oldest;
    uint16_t left = q->io_left;
    uint32_t io_len = q->io_len;
    unsigned k = 0;
    int err = XCV_OK;
    while (k < n) {
        if (last == seen) {
            xcv_cache_invalidate(q->port, used, 4u);
            /* used->idx: device-written; acquire orders the entry reads after it. It may cover
             * at most the chains still in flight. */
            uint16_t v = xcv_shm_load_acquire16(used + XCV_USED_IDX);
            if ((uint16_t)(v - last) > (uint16_t)(q->in_flight - k)) {
                err = XCV_EPROTO_USED_IDX;
                break;
            }
            if (v == last) {
                /* Polled empty: start the next entry's line (a hint; see drv_get_one()). */
                xcv_prefetch_read(used + XCV_USED_RING(last & mask));
                break;
            }
            seen = v;
            xcv_cache_invalidate(q->port, used + XCV_USED_RING(0), (size_t)8u * q->num);
        }
        if (left == 0u) {
            /* Used entry: device-written before the index acquired; each field read once. The
             * chain it names is as many chains after the oldest as it is descriptors after it. */
            const uint8_t *e = used + XCV_USED_RING(last & mask);
            uint32_t id = xcv_le32_load(e);
            uint32_t used_len = xcv_le32_load(e + 4);
            uint16_t b = (uint16_t)(((id - oldest) & mask) + 1u);
            if (id >= q->num || b > (uint16_t)(seen - last)) {
                err = XCV_EPROTO_USED_ID; /* not a chain the index covers */
                break;
            }
            if (used_len > slots[id].wlen) {
                err = XCV_EPROTO_USED_LEN;
                break;
            }
            left = b;
            io_len = used_len;
        }
        tokens[k] = slots[oldest].token;
        slots[oldest].token = NULL;
        lens[k] = left == 1u ? io_len : 0u; /* the entry names the batch's last chain */
        left--;
        oldest = (uint16_t)((oldest + 1u) & mask);
        last++;
        k++;
    }
    q->last_used = last;
    q->used_seen = seen;
    q->io_oldest = oldest;
    q->io_left = left;
    q->io_len = io_len;
    q->num_free = (uint16_t)(q->num_free + k);
    q->in_flight = (uint16_t)(q->in_flight - k);
    if (err != XCV_OK) {
        int r = drv_break(q, err);
        return k != 0u ? (int)k : r; /* broken now: the next call reports it */
    }
    return (int)k;
}

int xcv_vq_driver_get_used_burst(struct xcv_vq_driver *q, void **tokens, uint32_t *lens, unsigned n)
{
    if (q == NULL || ((tokens == NULL || lens == NULL) && n != 0u))
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (q->in_order && q->io_multi == 0u)
        return drv_get_burst_in_order1(q, tokens, lens, n);
    unsigned k = 0;
    while (k < n) {
        int r = q->packed ? xcv_pdrv_get_one(q, &tokens[k], &lens[k])
                          : drv_get_one(q, &tokens[k], &lens[k]);
        if (r == XCV_EAGAIN)
            break;
        if (r != XCV_OK)
            return k != 0u ? (int)k : r; /* broken now: the next call reports it */
        k++;
    }
    return (int)k;
}

void *xcv_vq_driver_peek_used(const struct xcv_vq_driver *q, unsigned ahead)
{
    if (q != NULL && q->packed)
        return xcv_pdrv_peek_used(q, ahead);
    if (q == NULL || q->broken != 0 || (uint16_t)(q->used_seen - q->last_used) <= ahead)
        return NULL;
    if (q->in_order) {
        /* The chains come back oldest first: walk this side's own slots (ahead < in_flight),
         * or step straight there when every chain in flight is one descriptor. */
        uint16_t h = q->io_oldest;
        if (q->io_multi == 0u)
            h = (uint16_t)((h + ahead) & q->mask);
        else
            for (unsigned i = 0; i < ahead; i++)
                h = (uint16_t)((h + q->slots[h].ndesc) & q->mask);
        return q->slots[h].token;
    }
    /* Used entry: device-written, covered by the used index already acquired. A hint only:
     * the id picks one of this side's own tokens and nothing else; get_used reads the entry
     * again and validates it when the chain is taken. */
    const uint8_t *e = q->used + XCV_USED_RING((q->last_used + ahead) & q->mask);
    uint32_t id = xcv_le32_load(e);
    return id < q->num ? q->slots[id].token : NULL;
}

int xcv_vq_driver_enable_notify(struct xcv_vq_driver *q)
{
    if (q == NULL)
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (q->packed)
        return xcv_pdrv_enable_notify(q);
    if (q->event_idx) {
        /* used_event: driver-written, read by the device when deciding to notify. */
        size_t off = XCV_AVAIL_USED_EVENT(q->num);
        xcv_shm_store_relaxed16(q->avail + off, q->last_used);
        xcv_cache_clean(q->port, q->avail + off, 2u);
    } else {
        q->avail_flags = (uint16_t)(q->avail_flags & ~XCV_VRING_AVAIL_F_NO_INTERRUPT);
        xcv_shm_store_relaxed16(q->avail + XCV_AVAIL_FLAGS, q->avail_flags);
        xcv_cache_clean(q->port, q->avail, 2u);
    }
    /* Full barrier: the request must be visible before we look for work that raced it. */
    xcv_shm_fence();
    uint16_t idx;
    int r = drv_refresh_used(q, &idx);
    if (r < 0)
        return r;
    return idx != q->last_used ? 1 : 0;
}

void xcv_vq_driver_disable_notify(struct xcv_vq_driver *q)
{
    if (q == NULL || q->broken != 0)
        return;
    if (q->packed) {
        xcv_pdrv_disable_notify(q);
        return;
    }
    if (q->event_idx) {
        /* An event index just behind the consumer is not crossed again for ~64K entries. */
        size_t off = XCV_AVAIL_USED_EVENT(q->num);
        xcv_shm_store_relaxed16(q->avail + off, (uint16_t)(q->last_used - 1u));
        xcv_cache_clean(q->port, q->avail + off, 2u);
    } else {
        q->avail_flags = (uint16_t)(q->avail_flags | XCV_VRING_AVAIL_F_NO_INTERRUPT);
        xcv_shm_store_relaxed16(q->avail + XCV_AVAIL_FLAGS, q->avail_flags);
        xcv_cache_clean(q->port, q->avail, 2u);
    }
}

int xcv_vq_driver_detach_unused(struct xcv_vq_driver *q, void **token)
{
    if (q == NULL || token == NULL)
        return XCV_EINVAL;
    if (q->in_order) {
        /* Oldest first, so that the free descriptors stay one run. */
        if (q->in_flight == 0u)
            return XCV_EAGAIN;
        uint16_t head = q->io_oldest;
        *token = q->slots[head].token;
        drv_reclaim(q, head);
        q->io_left = 0;
        return XCV_OK;
    }
    for (uint32_t n = 0; n < q->num && q->in_flight != 0u; n++) {
        uint16_t i = q->detach_cursor;
        q->detach_cursor = (uint16_t)((i + 1u) & q->mask);
        if (q->slots[i].token != NULL) {
            *token = q->slots[i].token;
            if (q->packed)
                xcv_pdrv_detach(q, i);
            else
                drv_reclaim(q, i);
            return XCV_OK;
        }
    }
    return XCV_EAGAIN;
}

int xcv_vq_driver_broken(const struct xcv_vq_driver *q)
{
    return q != NULL ? q->broken : XCV_EINVAL;
}

unsigned xcv_vq_driver_num_free(const struct xcv_vq_driver *q)
{
    return q != NULL ? q->num_free : 0u;
}

unsigned xcv_vq_driver_in_flight(const struct xcv_vq_driver *q)
{
    return q != NULL ? q->in_flight : 0u;
}
