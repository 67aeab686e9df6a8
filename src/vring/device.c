/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueue, device role.
 *
 * Shared-memory ownership (virtio 1.2, 2.7): the driver writes the descriptor table, the
 * available ring and used_event; this side writes only the used ring and avail_event. Every
 * field the driver wrote is read exactly once into a local variable, validated, and only the
 * local copy is used afterwards, so a driver rewriting the ring concurrently cannot make a
 * checked value differ from the used one. (A prefetch hint may peek at the next slot early; what
 * it reads steers the prefetch only and decides nothing.) All work is bounded: a chain visits at
 * most max_chain segments plus one indirect pointer, and process() pops at most its budget.
 *
 * With VIRTIO_F_IN_ORDER (virtio 1.2, 2.7.5 and 2.7.9) the driver uses descriptors in table
 * order, so the next head is known without reading the available ring: this side never reads
 * the slots then, and a misbehaving driver only gets its own descriptors read in an order it
 * did not mean (every one is still validated). Chains must be pushed in the order they were
 * popped, and a run of chains of which all but the last have used length 0 is written as one
 * used entry naming the last (the device skips the others' entries, as 2.7.9 allows).
 *
 * A packed ring (VIRTIO_F_RING_PACKED) is implemented in packed_device.c: each public function
 * checks what both rings share (arguments, the broken state) and hands over to it. The functions
 * built only from other public functions (pop_or_arm, flush, process) serve both rings as they
 * are.
 */
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/vq_device.h"

#include "../common/prefetch.h"
#include "../common/shm.h"
#include "packed_device.h"
#include "ring.h"
#include "translate.h"

/* A descriptor copied out of shared memory. */
struct dev_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static int dev_break(struct xcv_vq_device *q, int err)
{
    if (q->broken == 0) {
        q->broken = err;
        xcv_report(q->port, XCV_LOG_ERROR, "vq device broken", q->queue_index, err);
    }
    return err;
}

void xcv_vq_device_reset(struct xcv_vq_device *q)
{
    if (q == NULL)
        return;
    if (q->packed) {
        xcv_pdev_reset(q);
        return;
    }
    for (uint32_t i = 0; i < q->num; i++) {
        q->slots[i].in_len = 0;
        q->slots[i].busy = 0;
    }
    q->broken = 0;
    q->last_avail = 0;
    q->avail_seen = 0;
    q->used_idx = 0;
    q->used_pub = 0;
    q->signalled = 0;
    q->in_flight = 0;
    q->hint_at = 0;
    q->last_head = 0;
    q->single = false;
    q->io_pend = false;
    q->io_next = 0;
    q->io_used = 0;
    q->io_pos = 0;
    q->io_id = 0;
    q->io_len = 0;
}

int xcv_vq_device_init(struct xcv_vq_device *q, const struct xcv_vq_device_config *cfg)
{
    if (q == NULL || cfg == NULL || cfg->mem == NULL || cfg->mem->windows == NULL ||
        cfg->mem->count == 0u || cfg->slots == NULL)
        return XCV_EINVAL;
    if (cfg->port != NULL && cfg->port->ops == NULL)
        return XCV_EINVAL;
    if (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)) {
        if (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER))
            return XCV_ENOTSUP; /* in-order packed rings are not implemented */
        return xcv_pdev_init(q, cfg);
    }
    if (!xcv_is_pow2(cfg->num) || cfg->num > XCV_VRING_MAX_NUM || cfg->max_chain > cfg->num)
        return XCV_EINVAL;

    /* Ring placement comes from the driver: alignment per virtio 1.2, 2.7 (16, 2, 4). */
    const uint64_t bus[3] = {cfg->desc_bus, cfg->avail_bus, cfg->used_bus};
    const size_t len[3] = {XCV_VRING_DESC_BYTES(cfg->num), XCV_VRING_AVAIL_BYTES(cfg->num),
                           XCV_VRING_USED_BYTES(cfg->num)};
    const uint64_t align[3] = {16u, 2u, 4u};
    void *area[3];
    int r = xcv_dev_map_rings(cfg->mem, bus, len, align, area);
    if (r != XCV_OK)
        return r;
    void *desc = area[0];
    void *avail = area[1];
    void *used = area[2];

    q->packed = false;
    q->ring = NULL;
    q->desc = (const uint8_t *)desc;
    q->avail = (const uint8_t *)avail;
    q->used = (uint8_t *)used;
    q->mem = cfg->mem;
    q->slots = cfg->slots;
    q->port = cfg->port;
    q->doorbell = cfg->doorbell;
    q->num = cfg->num;
    q->mask = (uint16_t)(cfg->num - 1u);
    q->max_chain = cfg->max_chain != 0u ? cfg->max_chain : cfg->num;
    q->queue_index = cfg->queue_index;
    q->event_idx = (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)) != 0u;
    q->indirect = (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_INDIRECT_DESC)) != 0u;
    q->polled = cfg->polled;
    q->in_order = (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER)) != 0u;
    q->win_hint = 0;
    xcv_vq_device_reset(q);
    if (q->polled)
        xcv_vq_device_disable_notify(q); /* a hint: this side polls (renewed by pop) */
    return XCV_OK;
}

/* Copy one descriptor out of a table (ring or indirect) in a single fetch. */
static inline void dev_read_desc(const uint8_t *table, uint32_t i, struct dev_desc *d)
{
    uint8_t raw[XCV_VRING_DESC_SIZE];
    /* Descriptor: driver-written; copied once, then only the copy is decoded and used. */
    xcv_memcpy(raw, table + (size_t)i * XCV_VRING_DESC_SIZE, sizeof(raw));
    d->addr = xcv_le64_load(raw + XCV_DESC_ADDR);
    d->len = xcv_le32_load(raw + XCV_DESC_LEN);
    d->flags = xcv_le16_load(raw + XCV_DESC_FLAGS);
    d->next = xcv_le16_load(raw + XCV_DESC_NEXT);
}

/* Walk and validate the chain at @head, whose descriptor the caller read into @first, into
 * @c; @ndesc gets the number of descriptors it occupies in the ring's table (an indirect table
 * counts as one). Returns 0 or a protocol error. */
static int dev_walk(struct xcv_vq_device *q, uint16_t head, const struct dev_desc *first,
                    struct xcv_chain *c, uint16_t *ndesc)
{
    const uint8_t *table = q->desc;
    uint32_t table_len = q->num;
    uint32_t idx = head;
    bool in_indirect = false;
    uint16_t nring = 0;
    struct xcv_dev_chain_acc a = {0};

    for (;;) {
        struct dev_desc d;
        if (nring == 0u)
            d = *first;
        else
            dev_read_desc(table, idx, &d);
        if (!in_indirect)
            nring++; /* at most max_chain + 1: the segment bound below ends the walk */

        if (d.flags & XCV_VRING_DESC_F_INDIRECT) {
            if (!q->indirect)
                return XCV_EPROTO_FEATURE;
            if (in_indirect || (d.flags & XCV_VRING_DESC_F_NEXT))
                return XCV_EPROTO_INDIRECT;
            if (d.len == 0u || (d.len % XCV_VRING_DESC_SIZE) != 0u)
                return XCV_EPROTO_INDIRECT_LEN;
            void *t;
            int r = xcv_dev_translate(q, d.addr, d.len, &t);
            if (r != XCV_OK)
                return r;
            xcv_cache_invalidate(q->port, t, d.len);
            table = (const uint8_t *)t;
            table_len = d.len / XCV_VRING_DESC_SIZE;
            idx = 0;
            in_indirect = true;
            continue;
        }

        if (a.nseg >= q->max_chain)
            return XCV_EPROTO_CHAIN_LEN; /* also the bound that ends any loop */
        int r =
            xcv_dev_chain_add(q, c, &a, d.addr, d.len, (d.flags & XCV_VRING_DESC_F_WRITE) != 0u);
        if (r != XCV_OK)
            return r;

        if (!(d.flags & XCV_VRING_DESC_F_NEXT))
            break;
        if (d.next >= table_len)
            return XCV_EPROTO_NEXT;
        idx = d.next;
    }

    *ndesc = nring;
    xcv_dev_chain_done(c, head, &a);
    return XCV_OK;
}

/*
 * More of the batch is published: a two-stage prefetch pipeline over the chains after the one
 * being popped. The descriptor of the chain two ahead starts moving now; the chain one ahead,
 * whose descriptor was started by the previous pop, gets its first buffer line started (for
 * writing when the driver made it device-writable), so the buffer's transfer overlaps this
 * chain's work instead of stalling the next one. Hints only: what is read here steers
 * prefetches and nothing else (a prefetch cannot fault); the next pops read the slots and
 * descriptors again and validate what they read then.
 */
static inline void dev_prefetch_ahead(struct xcv_vq_device *q, uint16_t head)
{
    /* In order, the next heads follow this one (exactly so for one-descriptor chains). */
    uint16_t h1 = q->in_order
                      ? (uint16_t)(head + 1u)
                      : xcv_le16_load(q->avail + XCV_AVAIL_RING((q->last_avail + 1u) & q->mask));
    const uint8_t *d1 = q->desc + (size_t)(h1 & q->mask) * XCV_VRING_DESC_SIZE;
    uint64_t addr = xcv_le64_load(d1 + XCV_DESC_ADDR);
    uint32_t len = xcv_le32_load(d1 + XCV_DESC_LEN);
    uint16_t flags = xcv_le16_load(d1 + XCV_DESC_FLAGS);
    void *p;
    if (!(flags & XCV_VRING_DESC_F_INDIRECT) && q->win_hint < q->mem->count &&
        xcv_dev_in_window(&q->mem->windows[q->win_hint], addr, 1u, &p)) {
        if (flags & XCV_VRING_DESC_F_WRITE) {
            /* Taken for writing: the header and the start of the frame usually straddle two
             * lines (a 12-byte net header and 64 bytes), so the second line is started too
             * when the buffer reaches into it. */
            xcv_prefetch_write(p);
            if (len > 64u - ((uintptr_t)p & 63u))
                xcv_prefetch_write((const uint8_t *)p + 64);
        } else {
            xcv_prefetch_read(p);
        }
    }
    if ((uint16_t)(q->avail_seen - q->last_avail) > 2u) {
        uint16_t h2 =
            q->in_order ? (uint16_t)(head + 2u)
                        : xcv_le16_load(q->avail + XCV_AVAIL_RING((q->last_avail + 2u) & q->mask));
        xcv_prefetch_read(q->desc + (size_t)(h2 & q->mask) * XCV_VRING_DESC_SIZE);
    }
}

/* Read the driver's avail index once and check that it moved by no more than the ring size. */
static int dev_refresh_avail(struct xcv_vq_device *q, uint16_t *idx)
{
    xcv_cache_invalidate(q->port, q->avail, 4u);
    /* avail->idx: driver-written; acquire orders the slot and descriptor reads after it. */
    uint16_t v = xcv_shm_load_acquire16(q->avail + XCV_AVAIL_IDX);
    if ((uint16_t)(v - q->last_avail) > q->num)
        return dev_break(q, XCV_EPROTO_AVAIL_IDX);
    *idx = v;
    return XCV_OK;
}

/* Pop one chain; the caller checked the queue (healthy) and the chain storage. @ahead: start
 * the next chains' lines (a caller taking one chain at a time); a burst starts its chains' own
 * buffers once it has them all (dev_prefetch_chains()). */
static inline __attribute__((always_inline)) int dev_pop_core(struct xcv_vq_device *q,
                                                              struct xcv_chain *chain, bool ahead)
{
    if (q->last_avail == q->avail_seen) {
        uint16_t idx = q->last_avail;
        int r = dev_refresh_avail(q, &idx);
        if (r < 0)
            return r;
        if (idx == q->last_avail) {
            /* A polled empty ring: start fetching the line of the next slot (in order: of the
             * next descriptor, which is known), so that its transfer overlaps the index's when
             * the driver publishes. A hint only: what it names is still read once, after the
             * acquire of the index that covers it. */
            if (q->in_order)
                xcv_prefetch_read(q->desc + (size_t)q->io_next * XCV_VRING_DESC_SIZE);
            else
                xcv_prefetch_read(q->avail + XCV_AVAIL_RING(q->last_avail & q->mask));
            if (q->single && !q->in_order)
                /* One chain at a time lately: the driver's free list hands out the head that
                 * came back last, so its descriptor is the likely next one. A guess, and a hint
                 * only: the descriptor is still read once, after the slot that names it. */
                xcv_prefetch_read(q->desc + (size_t)q->last_head * XCV_VRING_DESC_SIZE);
            return XCV_EAGAIN;
        }
        q->single = (uint16_t)(idx - q->last_avail) == 1u;
        q->avail_seen = idx;
        if (q->polled && q->event_idx && (uint16_t)(idx - q->hint_at) >= 0x4000u) {
            /* Renew "do not notify" long before the driver's index could come round to it. */
            xcv_vq_device_disable_notify(q);
            q->hint_at = idx;
        }
        /* Once per batch: the new slots and the table they point into. */
        xcv_cache_invalidate(q->port, q->avail, XCV_VRING_AVAIL_BYTES(q->num));
        xcv_cache_invalidate(q->port, q->desc, XCV_VRING_DESC_BYTES(q->num));
    }
    /* Avail slot: driver-written before the index we acquired; read once. In order the head
     * is the descriptor after the previous chain's (2.7.5) and the slot is not read at all. */
    uint16_t head = q->in_order ? q->io_next
                                : xcv_le16_load(q->avail + XCV_AVAIL_RING(q->last_avail & q->mask));
    if (head >= q->num || q->slots[head].busy)
        return dev_break(q, XCV_EPROTO_HEAD);
    if (ahead && (uint16_t)(q->avail_seen - q->last_avail) > 1u)
        dev_prefetch_ahead(q, head);
    uint16_t ndesc = 1;
    struct dev_desc d;
    dev_read_desc(q->desc, head, &d);
    if (!(d.flags & (XCV_VRING_DESC_F_NEXT | XCV_VRING_DESC_F_INDIRECT))) {
        /* One descriptor (the common case): what dev_walk() checks of it, without the walk. */
        struct xcv_dev_chain_acc a = {0};
        int r = xcv_dev_chain_add(q, chain, &a, d.addr, d.len,
                                  (d.flags & XCV_VRING_DESC_F_WRITE) != 0u);
        if (r != XCV_OK)
            return dev_break(q, r);
        xcv_dev_chain_done(chain, head, &a);
    } else {
        int r = dev_walk(q, head, &d, chain, &ndesc);
        if (r != XCV_OK)
            return dev_break(q, r);
    }
    q->slots[head].busy = 1;
    q->slots[head].in_len = chain->in_len;
    q->slots[head].ndesc = ndesc;
    q->io_next = (uint16_t)((head + ndesc) & q->mask);
    q->in_flight++;
    q->last_avail++;
    return XCV_OK;
}

static int dev_pop_one(struct xcv_vq_device *q, struct xcv_chain *chain)
{
    return dev_pop_core(q, chain, true);
}

static int dev_pop_one_of_burst(struct xcv_vq_device *q, struct xcv_chain *chain)
{
    return dev_pop_core(q, chain, false);
}

/*
 * In order, a burst of chains already published (avail_seen ahead of last_avail): the heads
 * follow one another, so one-descriptor chains are taken in one loop with the ring's position
 * in locals, each with the checks dev_pop_core() makes of such a chain (head not in flight,
 * buffer inside a window). Stops at the first chain that is not one plain descriptor or fails a
 * check, and leaves it to dev_pop_core(), which reads it again and reports it: what was read here
 * of that chain decides nothing. Returns the chains taken.
 */
static unsigned dev_pop_run_in_order(struct xcv_vq_device *q, struct xcv_chain *chains, unsigned n)
{
    unsigned avail = (uint16_t)(q->avail_seen - q->last_avail);
    unsigned m = n < avail ? n : avail;
    struct xcv_vq_dev_slot *slots = q->slots;
    const uint16_t mask = q->mask;
    uint16_t head = q->io_next; /* masked: in range */
    unsigned k = 0;
    for (; k < m; k++) {
        if (slots[head].busy)
            break;
        struct dev_desc d;
        dev_read_desc(q->desc, head, &d);
        if (d.flags & (XCV_VRING_DESC_F_NEXT | XCV_VRING_DESC_F_INDIRECT))
            break;
        struct xcv_chain *c = &chains[k];
        struct xcv_dev_chain_acc a = {0};
        if (xcv_dev_chain_add(q, c, &a, d.addr, d.len, (d.flags & XCV_VRING_DESC_F_WRITE) != 0u) !=
            XCV_OK)
            break;
        xcv_dev_chain_done(c, head, &a);
        slots[head].busy = 1;
        slots[head].in_len = c->in_len;
        slots[head].ndesc = 1;
        head = (uint16_t)((head + 1u) & mask);
    }
    q->io_next = head;
    q->in_flight = (uint16_t)(q->in_flight + k);
    q->last_avail = (uint16_t)(q->last_avail + k);
    return k;
}

/*
 * A burst is popped: start the first buffer line of each chain, for reading when the driver
 * wrote it (a header to look at); for writing when the chain is device-writable, and then the
 * second line too when the buffer reaches into it (a 12-byte net header and a short frame
 * straddle two lines, and the device writes both). The caller handles the chains after the
 * burst, so every line but the first chain's has the others' work to arrive in. A line the
 * device may never read is left where it is: fetching it would only make the driver's next
 * write of it dearer. Hints on validated local pointers.
 */
static void dev_prefetch_chains(const struct xcv_chain *chains, unsigned k)
{
    for (unsigned i = 0; i < k; i++) {
        const struct xcv_chain *c = &chains[i];
        const uint8_t *p = (const uint8_t *)c->iov[0].base;
        uint32_t len = c->iov[0].len;
        if (len == 0u)
            continue;
        if (c->n_out != 0u) {
            xcv_prefetch_read(p);
        } else {
            xcv_prefetch_write(p);
            if (len > 64u - ((uintptr_t)p & 63u))
                xcv_prefetch_write(p + 64);
        }
    }
}

int xcv_vq_device_pop(struct xcv_vq_device *q, struct xcv_chain *chain)
{
    if (q == NULL || chain == NULL || chain->iov == NULL)
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (chain->cap < q->max_chain)
        return XCV_EINVAL;
    return q->packed ? xcv_pdev_pop_one(q, chain) : dev_pop_one(q, chain);
}

int xcv_vq_device_pop_burst(struct xcv_vq_device *q, struct xcv_chain *chains, unsigned n)
{
    if (q == NULL || (chains == NULL && n != 0u))
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    for (unsigned i = 0; i < n; i++) {
        if (chains[i].iov == NULL || chains[i].cap < q->max_chain)
            return XCV_EINVAL;
    }
    unsigned k = 0;
    int err = XCV_OK;
    /* Bounded: every pass pops a chain or re-arms, and re-arms are counted too, so a driver
     * that moves its index back and forth cannot hold the caller here. */
    for (unsigned pass = 0; k < n && pass < 2u * n; pass++) {
        if (q->in_order && !q->packed && q->last_avail != q->avail_seen) {
            unsigned got = dev_pop_run_in_order(q, &chains[k], n - k);
            k += got;
            if (got != 0u)
                continue; /* a pass that took chains */
        }
        if (q->packed) {
            unsigned got = xcv_pdev_pop_run(q, &chains[k], n - k);
            k += got;
            if (got != 0u)
                continue; /* a pass that took chains */
        }
        int r = q->packed ? xcv_pdev_pop_one(q, &chains[k]) : dev_pop_one_of_burst(q, &chains[k]);
        if (r == XCV_OK) {
            k++;
            continue;
        }
        if (r != XCV_EAGAIN) {
            err = r; /* broken now: with chains popped, the next call reports it */
            break;
        }
        if (q->polled)
            break;
        /* Dry: re-arm at the current position (every time: an older request would be stale)
         * and look once more for chains that raced the re-arm. */
        r = xcv_vq_device_enable_notify(q);
        if (r < 0) {
            err = r;
            break;
        }
        if (r == 0)
            break;
    }
    if (k == 0u)
        return err;
    dev_prefetch_chains(chains, k);
    return (int)k;
}

int xcv_vq_device_pop_or_arm(struct xcv_vq_device *q, struct xcv_chain *chain)
{
    int r = xcv_vq_device_pop(q, chain);
    if (r != XCV_EAGAIN || q->polled)
        return r;
    r = xcv_vq_device_enable_notify(q);
    if (r < 0)
        return r;
    return r == 0 ? XCV_EAGAIN : xcv_vq_device_pop(q, chain);
}

/* Write the used entry at used index @pos. Device-written; the driver reads it only after the
 * release store of a used index that covers it. */
static inline void dev_write_used(struct xcv_vq_device *q, uint16_t pos, uint16_t head,
                                  uint32_t len)
{
    uint8_t *e = q->used + XCV_USED_RING(pos & q->mask);
    xcv_le32_store(e, head);
    xcv_le32_store(e + 4, len);
}

/*
 * The split ring's push, for one entry or a burst: entry by entry, with the queue's indices held
 * in locals for the whole burst and written back once (the used-ring stores go
 * through byte pointers, which would otherwise make the compiler reload every index after each
 * of them). Stops at the first entry refused; returns the number staged or XCV_EINVAL.
 */
static int dev_push_burst_split(struct xcv_vq_device *q, const struct xcv_chain_done *done,
                                unsigned n)
{
    struct xcv_vq_dev_slot *slots = q->slots;
    const uint16_t num = q->num;
    const uint16_t mask = q->mask;
    uint16_t used_idx = q->used_idx;
    unsigned i = 0;
    if (q->in_order) {
        bool pend = q->io_pend;
        uint16_t next = q->io_used; /* masked: a head equal to it is in range */
        uint16_t pos = q->io_pos;
        uint16_t id = q->io_id;
        uint32_t ilen = q->io_len;
        for (; i < n; i++) {
            uint16_t head = done[i].head;
            uint32_t len = done[i].len;
            if (head != next || !slots[head].busy || len > slots[head].in_len)
                break; /* out of pop order, not in flight, or too long */
            next = (uint16_t)((head + slots[head].ndesc) & mask);
            if (pend && ilen == 0u) {
                id = head; /* the staged chain wrote nothing: this one joins its entry */
                ilen = len;
            } else {
                if (pend)
                    dev_write_used(q, pos, id, ilen);
                pend = true;
                pos = used_idx;
                id = head;
                ilen = len;
            }
            slots[head].busy = 0;
            used_idx++;
        }
        q->io_pend = pend;
        q->io_used = next;
        q->io_pos = pos;
        q->io_id = id;
        q->io_len = ilen;
    } else {
        for (; i < n; i++) {
            uint16_t head = done[i].head;
            uint32_t len = done[i].len;
            if (head >= num || !slots[head].busy || len > slots[head].in_len)
                break;
            dev_write_used(q, used_idx, head, len);
            slots[head].busy = 0;
            used_idx++;
        }
    }
    if (i != 0u)
        q->last_head = done[i - 1u].head;
    q->in_flight = (uint16_t)(q->in_flight - i);
    q->used_idx = used_idx;
    return i != 0u || n == 0u ? (int)i : XCV_EINVAL;
}

int xcv_vq_device_push_burst(struct xcv_vq_device *q, const struct xcv_chain_done *done, unsigned n)
{
    if (q == NULL || (done == NULL && n != 0u))
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (!q->packed)
        return dev_push_burst_split(q, done, n);
    int i = xcv_pdev_push_burst(q, done, n);
    return i != 0 || n == 0u ? i : XCV_EINVAL;
}

/* One entry is a burst of one: one copy of each layout's staging rules. */
int xcv_vq_device_push(struct xcv_vq_device *q, uint16_t head, uint32_t len)
{
    const struct xcv_chain_done one = {head, len};
    int r = xcv_vq_device_push_burst(q, &one, 1);
    return r == 1 ? XCV_OK : r;
}

int xcv_vq_device_publish(struct xcv_vq_device *q)
{
    if (q == NULL)
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (q->packed)
        return xcv_pdev_publish(q);
    uint16_t n = (uint16_t)(q->used_idx - q->used_pub);
    if (n == 0u)
        return 0;
    if (q->io_pend) {
        /* In order: the staged batch's one entry, at the batch's first position (2.7.9). */
        dev_write_used(q, q->io_pos, q->io_id, q->io_len);
        q->io_pend = false;
    }
    xcv_cache_clean(q->port, q->used + XCV_USED_RING(0), (size_t)8u * q->num);
    /* used->idx: device-written; release orders the entry writes before it. */
    xcv_shm_store_release16(q->used + XCV_USED_IDX, q->used_idx);
    xcv_cache_clean(q->port, q->used, 4u);
    q->used_pub = q->used_idx;
    return n;
}

int xcv_vq_device_should_notify(struct xcv_vq_device *q)
{
    if (q == NULL)
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (q->packed)
        return xcv_pdev_should_notify(q);
    uint16_t old_idx = q->signalled;
    uint16_t new_idx = q->used_pub;
    q->signalled = new_idx;
    if (old_idx == new_idx)
        return 0;
    /* Full barrier: publish the index before reading the driver's suppression state. */
    xcv_shm_fence();
    if (q->event_idx) {
        size_t off = XCV_AVAIL_USED_EVENT(q->num);
        xcv_cache_invalidate(q->port, q->avail + off, 2u);
        /* used_event: driver-written, read once; any value is safe to act on. */
        uint16_t ev = xcv_shm_load_relaxed16(q->avail + off);
        return xcv_vring_need_event(ev, new_idx, old_idx) ? 1 : 0;
    }
    xcv_cache_invalidate(q->port, q->avail, 2u);
    /* avail->flags: driver-written, read once; only NO_INTERRUPT is meaningful. */
    uint16_t flags = xcv_shm_load_relaxed16(q->avail + XCV_AVAIL_FLAGS);
    return (flags & XCV_VRING_AVAIL_F_NO_INTERRUPT) ? 0 : 1;
}

int xcv_vq_device_flush(struct xcv_vq_device *q)
{
    int r = xcv_vq_device_publish(q);
    if (r < 0)
        return r;
    r = xcv_vq_device_should_notify(q);
    if (r <= 0)
        return r;
    if (q->port == NULL || q->port->ops->notify == NULL)
        return XCV_ENOTSUP;
    int nr = q->port->ops->notify(q->port->ctx, q->doorbell);
    return nr < 0 ? nr : 1;
}

int xcv_vq_device_process(struct xcv_vq_device *q, unsigned budget, struct xcv_chain *scratch,
                          xcv_vq_chain_fn fn, void *ctx)
{
    if (q == NULL || scratch == NULL || fn == NULL)
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    int err = 0;
    unsigned done = 0;
    while (done < budget) {
        int r = xcv_vq_device_pop_or_arm(q, scratch);
        if (r == XCV_EAGAIN)
            break;
        if (r < 0) {
            err = r;
            break;
        }
        done++;
        uint32_t written = 0;
        int hr = fn(ctx, scratch, &written);
        if (hr == 1)
            continue; /* the handler owns the chain now and pushes it later */
        if (hr < 0) {
            (void)xcv_vq_device_push(q, scratch->head, 0);
            err = hr;
            break;
        }
        if (hr != 0 || written > scratch->in_len) {
            /* A handler bug: still complete the chain so the driver gets it back. */
            (void)xcv_vq_device_push(q, scratch->head, 0);
            err = XCV_EINVAL;
            break;
        }
        r = xcv_vq_device_push(q, scratch->head, written);
        if (r < 0) {
            err = r;
            break;
        }
    }
    int fr = xcv_vq_device_flush(q);
    if (err != 0)
        return err;
    if (fr < 0 && fr != XCV_EBROKEN)
        return fr;
    return (int)done;
}

int xcv_vq_device_enable_notify(struct xcv_vq_device *q)
{
    if (q == NULL)
        return XCV_EINVAL;
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (q->packed)
        return xcv_pdev_enable_notify(q);
    if (q->event_idx) {
        /* avail_event: device-written, read by the driver when deciding to notify. */
        size_t off = XCV_USED_AVAIL_EVENT(q->num);
        xcv_shm_store_relaxed16(q->used + off, q->last_avail);
        xcv_cache_clean(q->port, q->used + off, 2u);
    } else {
        /* used->flags: device-written; NO_NOTIFY is the only flag. */
        xcv_shm_store_relaxed16(q->used + XCV_USED_FLAGS, 0);
        xcv_cache_clean(q->port, q->used, 2u);
    }
    /* Full barrier: the request must be visible before we look for work that raced it. */
    xcv_shm_fence();
    uint16_t idx;
    int r = dev_refresh_avail(q, &idx);
    if (r < 0)
        return r;
    return idx != q->last_avail ? 1 : 0;
}

void xcv_vq_device_disable_notify(struct xcv_vq_device *q)
{
    if (q == NULL || q->broken != 0)
        return;
    if (q->packed) {
        xcv_pdev_disable_notify(q);
        return;
    }
    if (q->event_idx) {
        /* An event index just behind the consumer is not crossed again for ~64K entries. */
        size_t off = XCV_USED_AVAIL_EVENT(q->num);
        xcv_shm_store_relaxed16(q->used + off, (uint16_t)(q->last_avail - 1u));
        xcv_cache_clean(q->port, q->used + off, 2u);
    } else {
        xcv_shm_store_relaxed16(q->used + XCV_USED_FLAGS, XCV_VRING_USED_F_NO_NOTIFY);
        xcv_cache_clean(q->port, q->used, 2u);
    }
}

int xcv_vq_device_set_base(struct xcv_vq_device *q, uint16_t next_avail, uint16_t next_used)
{
    if (q == NULL)
        return XCV_EINVAL;
    if (q->packed)
        return XCV_ENOTSUP; /* vhost-user's packed base carries wrap counters: not supported */
    if (q->broken != 0)
        return XCV_EBROKEN;
    if (q->in_flight != 0u)
        return XCV_ESTATE;
    if (q->in_order && (next_avail != 0u || next_used != 0u))
        return XCV_ENOTSUP; /* the next head in order cannot be known from the indices alone */
    /* Private state only: the driver's index is validated against this at the next pop. */
    q->last_avail = next_avail;
    q->avail_seen = next_avail;
    q->used_idx = next_used;
    q->used_pub = next_used;
    q->signalled = next_used;
    q->hint_at = next_avail;
    q->io_next = 0; /* in order: only (0, 0), where the driver restarted its table */
    q->io_used = 0;
    q->io_pend = false;
    return XCV_OK;
}

uint16_t xcv_vq_device_next_avail(const struct xcv_vq_device *q)
{
    if (q == NULL)
        return 0u;
    return q->packed ? xcv_pdev_next_avail(q) : q->last_avail;
}

int xcv_vq_device_broken(const struct xcv_vq_device *q)
{
    return q != NULL ? q->broken : XCV_EINVAL;
}

unsigned xcv_vq_device_in_flight(const struct xcv_vq_device *q)
{
    return q != NULL ? q->in_flight : 0u;
}
