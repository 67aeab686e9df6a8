/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packed virtqueue, device role (virtio 1.2, 2.8).
 *
 * Shared-memory ownership: the descriptor ring is written by both sides, one descriptor at a
 * time and by turns. The driver writes a descriptor to make it available and does not touch it
 * again until it has seen it used; this side overwrites only descriptors it has already read,
 * with a used descriptor, and does not touch one again once its flags say used. The driver event
 * suppression area is the driver's (this side only reads it), the device event suppression area
 * this side's (the driver only reads it).
 *
 * Every field the driver wrote is read exactly once: the flags of a chain's first descriptor by
 * the acquire load that finds it available, the 16 bytes of each descriptor by one copy whose
 * fields are decoded, validated and then used. The buffer id comes from the copy of the chain's
 * last descriptor (2.8.6); the ids in the other descriptors are not looked at. A prefetch hint
 * may touch the next descriptor early; it reads nothing.
 *
 * Positions: last_avail (with avail_wrap) is the next descriptor to read, used_idx (with
 * used_wrap) the next used descriptor to write. Both run from 0 to num - 1 and flip their wrap
 * counter when they pass the end, so num need not be a power of two (2.8.10.1).
 *
 * All work is bounded: a chain visits at most max_chain (<= num) descriptors, and the chains
 * in flight never cover more descriptors than the ring holds (a driver that makes more
 * available has overwritten descriptors the device still owns: ::XCV_EPROTO_AVAIL_IDX).
 *
 * Cache maintenance for windows that are not coherent follows the split ring: invalidate a
 * descriptor before reading it and the driver area before deciding on a notification, clean the
 * staged used descriptors before the release that publishes them and the device area after
 * writing it. Both sides write descriptors that can share a cache line, so such a window needs
 * cache operations that write back only the bytes this side wrote.
 */
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/vq_device.h"

#include "../common/prefetch.h"
#include "../common/shm.h"
#include "packed_device.h"
#include "ring.h"
#include "translate.h"

/* Bit 15 of an off_wrap word: the wrap counter that goes with the position in bits 0-14. */
#define PDEV_WRAP_BIT 0x8000u

/* A descriptor copied out of shared memory. */
struct pdev_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    uint16_t flags;
};

/* Where a chain ends: the position after its last descriptor, and the wrap counter there. */
struct pdev_end {
    uint16_t pos;
    bool wrap;
    uint16_t ndesc;
};

static int pdev_break(struct xcv_vq_device *q, int err)
{
    if (q->broken == 0) {
        q->broken = err;
        xcv_report(q->port, XCV_LOG_ERROR, "vq device broken", q->queue_index, err);
    }
    return err;
}

/* Is a descriptor with @p flags available in the lap whose driver wrap counter is @p wrap?
 * AVAIL matches the counter and USED does not (2.8.1). */
static inline bool pdev_is_avail(uint16_t flags, bool wrap)
{
    bool a = (flags & XCV_VRING_PACKED_DESC_F_AVAIL) != 0u;
    bool u = (flags & XCV_VRING_PACKED_DESC_F_USED) != 0u;
    return a == wrap && u != wrap;
}

static inline uint8_t *pdev_desc_at(const struct xcv_vq_device *q, uint16_t pos)
{
    return q->ring + (size_t)pos * XCV_VRING_DESC_SIZE;
}

/* Advance a position by @p n (<= num) descriptors, flipping the wrap counter past the end. */
static inline void pdev_advance(uint16_t num, uint16_t *pos, bool *wrap, uint16_t n)
{
    uint32_t p = (uint32_t)*pos + n;
    if (p >= num) {
        p -= num;
        *wrap = !*wrap;
    }
    *pos = (uint16_t)p;
}

void xcv_pdev_reset(struct xcv_vq_device *q)
{
    for (uint32_t i = 0; i < q->num; i++) {
        q->slots[i].in_len = 0;
        q->slots[i].busy = 0;
        q->slots[i].ndesc = 0;
    }
    q->broken = 0;
    q->last_avail = 0;
    q->avail_wrap = true; /* both wrap counters start at 1 (2.8.1) */
    q->used_idx = 0;
    q->used_wrap = true;
    q->used_pub = (uint16_t)PDEV_WRAP_BIT;
    q->in_flight = 0;
    q->descs_in_use = 0;
    q->staged = 0;
    q->staged_descs = 0;
    q->unsignalled = 0;
    q->pub_pos = 0;
    q->pub_flags = 0;
    /* Split-ring state, unused here. */
    q->avail_seen = 0;
    q->signalled = 0;
    q->hint_at = 0;
    q->last_head = 0;
    q->single = false;
}

int xcv_pdev_init(struct xcv_vq_device *q, const struct xcv_vq_device_config *cfg)
{
    if (cfg->num == 0u || cfg->num > XCV_VRING_MAX_NUM || cfg->max_chain > cfg->num)
        return XCV_EINVAL;

    /* Ring placement comes from the driver: alignment per virtio 1.2, 2.8.10.1 (16, 4, 4). */
    const uint64_t bus[3] = {cfg->desc_bus, cfg->avail_bus, cfg->used_bus};
    const size_t len[3] = {XCV_VRING_DESC_BYTES(cfg->num), XCV_VRING_PACKED_EVENT_BYTES,
                           XCV_VRING_PACKED_EVENT_BYTES};
    const uint64_t align[3] = {16u, 4u, 4u};
    void *area[3];
    int r = xcv_dev_map_rings(cfg->mem, bus, len, align, area);
    if (r != XCV_OK)
        return r;
    void *ring = area[0];
    void *drv_area = area[1];
    void *dev_area = area[2];

    q->packed = true;
    q->ring = (uint8_t *)ring;
    q->desc = NULL;
    q->avail = (const uint8_t *)drv_area;
    q->used = (uint8_t *)dev_area;
    q->mem = cfg->mem;
    q->slots = cfg->slots;
    q->port = cfg->port;
    q->doorbell = cfg->doorbell;
    q->num = cfg->num;
    q->mask = 0; /* positions wrap at num, which need not be a power of two */
    q->max_chain = cfg->max_chain != 0u ? cfg->max_chain : cfg->num;
    q->queue_index = cfg->queue_index;
    q->event_idx = (cfg->features & XCV_FEATURE(XCV_VIRTIO_F_EVENT_IDX)) != 0u;
    q->indirect = false; /* no indirect tables in a packed ring here */
    q->polled = cfg->polled;
    q->win_hint = 0;
    xcv_pdev_reset(q);
    if (q->polled)
        xcv_pdev_disable_notify(q); /* DISABLE does not expire: written once */
    return XCV_OK;
}

/* Copy one descriptor out of the ring in a single fetch and decode the copy. */
static inline void pdev_read_desc(const uint8_t *p, struct pdev_desc *d)
{
    uint8_t raw[XCV_VRING_DESC_SIZE];
    /* Descriptor: driver-written, and ordered after the acquire of the chain's first flags by
     * the driver's release of them; copied once, then only the copy is decoded and used. */
    xcv_memcpy(raw, p, sizeof(raw));
    d->addr = xcv_le64_load(raw + XCV_PDESC_ADDR);
    d->len = xcv_le32_load(raw + XCV_PDESC_LEN);
    d->id = xcv_le16_load(raw + XCV_PDESC_ID);
    d->flags = xcv_le16_load(raw + XCV_PDESC_FLAGS);
}

/*
 * Walk and validate the chain that starts at last_avail, whose first flags word @p head_flags
 * was read (once) by the acquire that found it available. Fills @p c (head = the buffer id of
 * the last descriptor) and @p end. Returns 0 or a protocol error.
 */
static int pdev_walk(struct xcv_vq_device *q, uint16_t head_flags, struct xcv_chain *c,
                     struct pdev_end *end)
{
    uint16_t pos = q->last_avail;
    bool wrap = q->avail_wrap;
    /* A correct driver never has more descriptors outstanding than the ring holds, and those
     * of the chains in flight are still outstanding. */
    uint32_t room = (uint32_t)q->num - q->descs_in_use;
    struct xcv_dev_chain_acc a = {0};
    uint16_t id = 0;

    for (;;) {
        const uint8_t *p = pdev_desc_at(q, pos);
        struct pdev_desc d;
        if (a.nseg != 0u)
            xcv_cache_invalidate(q->port, p, XCV_VRING_DESC_SIZE);
        pdev_read_desc(p, &d);
        if (a.nseg == 0u)
            d.flags = head_flags; /* the word the acquire read; its copy is not used */
        else if (!pdev_is_avail(d.flags, wrap))
            return XCV_EPROTO_NEXT; /* NEXT points at a descriptor the driver did not offer */

        if (d.flags & XCV_VRING_DESC_F_INDIRECT)
            return XCV_EPROTO_FEATURE;
        int r =
            xcv_dev_chain_add(q, c, &a, d.addr, d.len, (d.flags & XCV_VRING_DESC_F_WRITE) != 0u);
        if (r != XCV_OK)
            return r;
        id = d.id;
        pdev_advance(q->num, &pos, &wrap, 1u);

        if (!(d.flags & XCV_VRING_DESC_F_NEXT))
            break;
        if (a.nseg >= q->max_chain)
            return XCV_EPROTO_CHAIN_LEN; /* also the bound on a chain that never ends */
        if (a.nseg >= room)
            return XCV_EPROTO_AVAIL_IDX;
    }

    xcv_dev_chain_done(c, id, &a);
    end->pos = pos;
    end->wrap = wrap;
    end->ndesc = a.nseg;
    return XCV_OK;
}

int xcv_pdev_pop_one(struct xcv_vq_device *q, struct xcv_chain *chain)
{
    const uint8_t *p = pdev_desc_at(q, q->last_avail);
    xcv_cache_invalidate(q->port, p, XCV_VRING_DESC_SIZE);
    /* Flags of the next descriptor: driver-written, stored last (with release) for the first
     * chain of a batch. The acquire orders the reads of this chain and of the rest of its batch
     * after it. Read once: the walk uses this value, not the copy. */
    uint16_t flags = xcv_shm_load_acquire16(p + XCV_PDESC_FLAGS);
    if (!pdev_is_avail(flags, q->avail_wrap))
        return XCV_EAGAIN;
    if (q->descs_in_use >= q->num)
        return pdev_break(q, XCV_EPROTO_AVAIL_IDX); /* offered where a used entry is due */

    struct pdev_end end;
    int r = pdev_walk(q, flags, chain, &end);
    if (r != XCV_OK)
        return pdev_break(q, r);
    uint16_t id = chain->head;
    if (id >= q->num || q->slots[id].busy)
        return pdev_break(q, XCV_EPROTO_HEAD);
    q->slots[id].busy = 1;
    q->slots[id].in_len = chain->in_len;
    q->slots[id].ndesc = end.ndesc;
    q->in_flight++;
    q->descs_in_use = (uint16_t)(q->descs_in_use + end.ndesc);
    q->last_avail = end.pos;
    q->avail_wrap = end.wrap;
    /* A hint only: the line of the next chain's first descriptor; it is read (once) after the
     * acquire of its flags, when pop comes back. */
    xcv_prefetch_read(pdev_desc_at(q, q->last_avail));
    return XCV_OK;
}

/*
 * Pop a run of available one-descriptor chains, up to @p n, with the queue's positions and counts
 * in locals written back once (the chain stores go through pointers that could alias the queue
 * object). The reads, checks and their order are xcv_pdev_pop_one()'s for such a chain. The run
 * stops, leaving the descriptor untouched for xcv_pdev_pop_one() to read again and report, at
 * the first one that is not available, is part of a longer or indirect chain, or fails a check.
 * Returns the chains taken.
 */
unsigned xcv_pdev_pop_run(struct xcv_vq_device *q, struct xcv_chain *chains, unsigned n)
{
    struct xcv_vq_dev_slot *const slots = q->slots;
    const uint16_t num = q->num;
    uint16_t pos = q->last_avail;
    bool wrap = q->avail_wrap;
    uint32_t descs_in_use = q->descs_in_use;
    unsigned k = 0;
    while (k < n && descs_in_use < num) {
        const uint8_t *p = pdev_desc_at(q, pos);
        xcv_cache_invalidate(q->port, p, XCV_VRING_DESC_SIZE);
        /* Flags: driver-written, stored last for the first chain of a batch; the acquire orders
         * the read of the descriptor after it. Read once: the copy's flags are not used. */
        uint16_t flags = xcv_shm_load_acquire16(p + XCV_PDESC_FLAGS);
        if (!pdev_is_avail(flags, wrap) ||
            (flags & (XCV_VRING_DESC_F_NEXT | XCV_VRING_DESC_F_INDIRECT)) != 0u)
            break;
        struct pdev_desc d;
        pdev_read_desc(p, &d);
        struct xcv_chain *c = &chains[k];
        struct xcv_dev_chain_acc a = {0};
        if (xcv_dev_chain_add(q, c, &a, d.addr, d.len, (flags & XCV_VRING_DESC_F_WRITE) != 0u) !=
                XCV_OK ||
            d.id >= num || slots[d.id].busy)
            break;
        xcv_dev_chain_done(c, d.id, &a);
        slots[d.id].busy = 1;
        slots[d.id].in_len = c->in_len;
        slots[d.id].ndesc = 1;
        descs_in_use++;
        pdev_advance(num, &pos, &wrap, 1u);
        k++;
    }
    if (k != 0u) {
        q->last_avail = pos;
        q->avail_wrap = wrap;
        q->descs_in_use = (uint16_t)descs_in_use;
        q->in_flight = (uint16_t)(q->in_flight + k);
        /* A hint only, as in xcv_pdev_pop_one(): the line of the next chain's first descriptor. */
        xcv_prefetch_read(pdev_desc_at(q, pos));
    }
    return k;
}

int xcv_pdev_push_burst(struct xcv_vq_device *q, const struct xcv_chain_done *done, unsigned n)
{
    /* The queue's positions and counts in locals, written back once: the descriptor stores go
     * through byte pointers, after which the compiler would otherwise reload every field. */
    struct xcv_vq_dev_slot *const slots = q->slots;
    const uint16_t num = q->num;
    uint16_t used_idx = q->used_idx;
    bool used_wrap = q->used_wrap;
    uint32_t staged = q->staged;
    uint32_t staged_descs = q->staged_descs;
    uint32_t descs_in_use = q->descs_in_use;
    unsigned i = 0;
    for (; i < n; i++) {
        uint16_t id = done[i].head;
        uint32_t len = done[i].len;
        if (id >= num || !slots[id].busy || len > slots[id].in_len)
            break; /* refused: the entries before it stay staged */
        uint16_t ndesc = slots[id].ndesc;
        uint16_t flags =
            used_wrap ? (uint16_t)(XCV_VRING_PACKED_DESC_F_AVAIL | XCV_VRING_PACKED_DESC_F_USED)
                      : (uint16_t)0u;
        if (len != 0u)
            flags |= XCV_VRING_DESC_F_WRITE; /* 2.8.4: the length is meaningful (data written) */

        /* Used descriptor: device-written over a descriptor this side has already read
         * (used_idx never passes last_avail), which the driver leaves alone until the flags say
         * used. The address is not written (2.8.5). The flags are stored last: at once for a
         * later entry of the batch (the driver looks at it only after the first, which publish
         * releases), by publish for the first. */
        uint8_t *p = pdev_desc_at(q, used_idx);
        xcv_le16_store(p + XCV_PDESC_ID, id);
        xcv_le32_store(p + XCV_PDESC_LEN, len);
        if (staged == 0u) {
            q->pub_pos = used_idx;
            q->pub_flags = flags;
        } else {
            xcv_shm_store_relaxed16(p + XCV_PDESC_FLAGS, flags);
        }

        slots[id].busy = 0;
        descs_in_use -= ndesc;
        staged++;
        /* Saturates at num: only "the whole ring or more" matters after that. */
        staged_descs += ndesc;
        if (staged_descs > num)
            staged_descs = num;
        pdev_advance(num, &used_idx, &used_wrap, ndesc);
    }
    q->used_idx = used_idx;
    q->used_wrap = used_wrap;
    q->staged = staged;
    q->staged_descs = (uint16_t)staged_descs;
    q->descs_in_use = (uint16_t)descs_in_use;
    q->in_flight = (uint16_t)(q->in_flight - i);
    return (int)i;
}

/* Clean the staged used descriptors: staged_descs positions from pub_pos, wrapping. */
static void pdev_clean_staged(const struct xcv_vq_device *q)
{
    uint32_t first = q->pub_pos;
    uint32_t n = q->staged_descs;
    if (n >= q->num) {
        xcv_cache_clean(q->port, q->ring, XCV_VRING_DESC_BYTES(q->num));
    } else if (first + n <= q->num) {
        xcv_cache_clean(q->port, pdev_desc_at(q, q->pub_pos), (size_t)n * XCV_VRING_DESC_SIZE);
    } else {
        xcv_cache_clean(q->port, pdev_desc_at(q, q->pub_pos),
                        (size_t)(q->num - first) * XCV_VRING_DESC_SIZE);
        xcv_cache_clean(q->port, q->ring, (size_t)(first + n - q->num) * XCV_VRING_DESC_SIZE);
    }
}

int xcv_pdev_publish(struct xcv_vq_device *q)
{
    uint32_t n = q->staged;
    if (n == 0u)
        return 0;
    pdev_clean_staged(q);
    uint8_t *p = pdev_desc_at(q, q->pub_pos);
    /* Flags of the first used descriptor staged since the last publish: device-written; the
     * release orders every staged used descriptor's stores before it, and the driver reads
     * them only after acquiring this word. */
    xcv_shm_store_release16(p + XCV_PDESC_FLAGS, q->pub_flags);
    xcv_cache_clean(q->port, p, XCV_VRING_DESC_SIZE);
    q->used_pub = (uint16_t)(q->used_idx | (q->used_wrap ? PDEV_WRAP_BIT : 0u));
    uint32_t u = (uint32_t)q->unsignalled + q->staged_descs;
    q->unsignalled = (uint16_t)(u < q->num ? u : q->num);
    q->staged = 0;
    q->staged_descs = 0;
    return n < (uint32_t)INT32_MAX ? (int)n : INT32_MAX;
}

/*
 * The EVENT_IDX test on ring positions (as Linux's packed rings do it): did the used
 * descriptors published since the last decision, the @p n positions before @p new_off_wrap,
 * include the one in @p event_off_wrap? An event in the other lap than the newest position is
 * taken as one lap earlier; @p n < num. Any input gives an answer, which is all a value the
 * driver wrote needs to be safe.
 */
static inline bool pdev_need_event(uint16_t num, uint16_t event_off_wrap, uint16_t new_off_wrap,
                                   uint16_t n)
{
    uint16_t new_pos = (uint16_t)(new_off_wrap & ~PDEV_WRAP_BIT);
    uint16_t ev = (uint16_t)(event_off_wrap & ~PDEV_WRAP_BIT);
    if (((event_off_wrap ^ new_off_wrap) & PDEV_WRAP_BIT) != 0u)
        ev = (uint16_t)(ev - num);
    return xcv_vring_need_event(ev, new_pos, (uint16_t)(new_pos - n)) != 0;
}

int xcv_pdev_should_notify(struct xcv_vq_device *q)
{
    uint16_t n = q->unsignalled;
    q->unsignalled = 0;
    if (n == 0u)
        return 0;
    /* Full barrier: publish the used flags before reading the driver's suppression state. */
    xcv_shm_fence();
    xcv_cache_invalidate(q->port, q->avail, XCV_VRING_PACKED_EVENT_BYTES);
    /* Driver event suppression area: driver-written; read once, as one word, so that off_wrap
     * (low half, XCV_PEVT_OFF_WRAP) and flags (high half, XCV_PEVT_FLAGS) belong together. Any
     * value is safe to act on; an unknown one notifies. */
    uint32_t ev = xcv_shm_load_acquire32(q->avail);
    uint16_t off_wrap = (uint16_t)(ev & 0xffffu);
    uint16_t flags = (uint16_t)(ev >> 16);
    if (flags == XCV_VRING_PACKED_EVENT_DISABLE)
        return 0;
    if (flags != XCV_VRING_PACKED_EVENT_DESC || !q->event_idx)
        return 1;
    if (n >= q->num)
        return 1; /* a whole ring went by since the last decision */
    return pdev_need_event(q->num, off_wrap, q->used_pub, n) ? 1 : 0;
}

/* Write the device event suppression area: @p flags with the next position to pop. */
static void pdev_write_event(struct xcv_vq_device *q, uint16_t flags)
{
    uint32_t off_wrap = (uint32_t)q->last_avail | (q->avail_wrap ? PDEV_WRAP_BIT : 0u);
    /* Device event suppression area: device-written, read by the driver when it decides to
     * notify. One 32-bit store, so the driver never pairs one request's position with
     * another's flags. */
    xcv_shm_store_release32(q->used, off_wrap | ((uint32_t)flags << 16));
    xcv_cache_clean(q->port, q->used, XCV_VRING_PACKED_EVENT_BYTES);
}

int xcv_pdev_enable_notify(struct xcv_vq_device *q)
{
    pdev_write_event(q, q->event_idx ? (uint16_t)XCV_VRING_PACKED_EVENT_DESC
                                     : (uint16_t)XCV_VRING_PACKED_EVENT_ENABLE);
    /* Full barrier: the request must be visible before we look for work that raced it. */
    xcv_shm_fence();
    const uint8_t *p = pdev_desc_at(q, q->last_avail);
    xcv_cache_invalidate(q->port, p, XCV_VRING_DESC_SIZE);
    /* Flags of the next descriptor: driver-written; a test only (pop reads them again, with
     * acquire, before anything is used). */
    uint16_t flags = xcv_shm_load_relaxed16(p + XCV_PDESC_FLAGS);
    return pdev_is_avail(flags, q->avail_wrap) ? 1 : 0;
}

void xcv_pdev_disable_notify(struct xcv_vq_device *q)
{
    pdev_write_event(q, (uint16_t)XCV_VRING_PACKED_EVENT_DISABLE);
}

uint16_t xcv_pdev_next_avail(const struct xcv_vq_device *q)
{
    return (uint16_t)(q->last_avail | (q->avail_wrap ? PDEV_WRAP_BIT : 0u));
}
