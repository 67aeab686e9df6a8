/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file vq_driver.h
 * @brief The driver role of a split or packed virtqueue: post buffers, publish, notify, reclaim.
 *
 * The driver role owns the ring memory: it zeroes it at init and is the only writer of the
 * descriptor table and the available ring. It keeps a private shadow of every chain it posted
 * (::xcv_vq_drv_slot) and never reads the shared descriptor table back: reclaiming a buffer
 * uses only the shadow, so a hostile device cannot redirect the driver's bookkeeping.
 *
 * When the negotiated features contain VIRTIO_F_RING_PACKED the queue is a packed ring
 * (virtio 1.2, section 2.8) behind the same functions. Its one descriptor ring is written by
 * both sides: the driver makes descriptors available, the device overwrites them as used. Of a
 * used descriptor the driver reads only the flags, the buffer id and the length; the id is an
 * index into the private slot array, and how many ring positions the chain covers comes from
 * the shadow, never from the device. Packed rings here use no indirect tables. A descriptor
 * whose AVAIL and USED bits are not both the expected wrap counter is simply not used yet; a
 * used one whose id is not an outstanding, published buffer (::XCV_EPROTO_USED_ID), whose
 * length exceeds the writable bytes posted (::XCV_EPROTO_USED_LEN), or that lies where no
 * published descriptor is left (::XCV_EPROTO_USED_IDX) breaks the queue.
 *
 * What the device writes (used ring entries and index, avail_event, the NO_NOTIFY flag) is
 * read once per field and validated: a used id that is not an outstanding chain head (including
 * an id returned twice), a used length above the writable bytes posted, or a used index that
 * runs ahead of the chains in flight marks the queue broken with a protocol error. Broken is
 * sticky: every later call returns ::XCV_EBROKEN until xcv_vq_driver_reset().
 *
 * With VIRTIO_F_IN_ORDER (split ring) descriptors are taken in table order (virtio 1.2, 2.7.5),
 * chains come back oldest first, and one used entry may stand for a batch of chains (2.7.9);
 * xcv_vq_driver_detach_unused() also returns them oldest first.
 *
 * Typical use (one thread, or serialised by the caller):
 * @code
 *   xcv_vq_driver_add(&q, sg, 1, 1, token);      // many times
 *   if (xcv_vq_driver_kick_prepare(&q) > 0)      // publish once
 *       xcv_vq_driver_notify(&q);                // ring the doorbell
 *   ...
 *   while (xcv_vq_driver_get_used(&q, &token, &len) == XCV_OK) { ... }
 * @endcode
 */
#ifndef XCVIRTIO_VQ_DRIVER_H
#define XCVIRTIO_VQ_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/port.h"
#include "xcvirtio/vring.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief One scatter-gather element the driver posts: a bus address and a length.
 * The bytes must stay valid and untouched (for device-readable) or unread (for device-writable)
 * until the chain comes back from xcv_vq_driver_get_used() or xcv_vq_driver_detach_unused().
 */
struct xcv_sg {
    uint64_t addr; /**< Bus address of the buffer (inside a window the device can reach). */
    uint32_t len;  /**< Length in bytes. */
};

/**
 * @brief Private shadow of one descriptor slot. Treat as opaque; it is public only so that
 * callers can allocate an array of @c num of them statically.
 */
struct xcv_vq_drv_slot {
    void *token;   /**< Head only: the caller's token while the chain is outstanding, else NULL. */
    uint32_t wlen; /**< Head only: total device-writable bytes posted in the chain. */
    uint16_t next; /**< Free-list link while free; chain link while posted (split ring). */
    /** Head only: index of the chain's last ring descriptor (split ring); the free-running
     * position of the chain's first descriptor (packed ring, where the slot is a buffer id). */
    uint16_t last;
    uint16_t ndesc; /**< Head only: ring descriptors the chain occupies (1 when indirect). */
};

/** @brief Bytes of the slot array a driver queue of @p num entries needs. */
#define XCV_VQ_DRIVER_SLOTS_BYTES(num) (sizeof(struct xcv_vq_drv_slot) * (size_t)(num))

/** @brief Bytes of the indirect-table area for @p num heads of up to @p max descriptors each. */
#define XCV_VQ_INDIRECT_BYTES(num, max) ((size_t)(num) * (size_t)(max)*XCV_VRING_DESC_SIZE)

/**
 * @brief Configuration for xcv_vq_driver_init(). Read during init only.
 */
struct xcv_vq_driver_config {
    /**
     * Where the ring is: from xcv_vring_layout(), or from xcv_vring_packed_layout() when
     * @c features contains VIRTIO_F_RING_PACKED (descriptor ring 16-byte aligned, then the
     * driver and device event suppression areas, 4-byte aligned, in that order).
     */
    const struct xcv_vring_layout *ring;
    struct xcv_vq_drv_slot *slots; /**< Caller storage for @c ring->num slots (private). */
    /** Negotiated features; EVENT_IDX, INDIRECT_DESC, IN_ORDER (split ring only) and
     * RING_PACKED are honoured. */
    uint64_t features;
    /**
     * Optional indirect-table area in shared memory: @c ring->num tables of @c indirect_max
     * descriptors, ::XCV_VQ_INDIRECT_BYTES bytes, 16-byte aligned. NULL disables indirect use.
     * Used only when VIRTIO_F_INDIRECT_DESC is in @c features; ignored for a packed ring.
     */
    void *indirect_local;
    uint64_t indirect_bus; /**< Bus address of @c indirect_local. */
    uint16_t indirect_max; /**< Descriptors per indirect table (>= 2 when the area is set). */
    /** Use an indirect table for every multi-segment chain (no effect on a packed ring). */
    bool prefer_indirect;
    const struct xcv_port *port; /**< Optional: doorbell, cache maintenance and diagnostics. */
    uint32_t doorbell;           /**< Doorbell number passed to the port's notify. */
    uint16_t queue_index;        /**< The queue's index, for diagnostics. */
};

/**
 * @brief A driver-role split or packed virtqueue. Caller-allocated; fields are private.
 *
 * In a packed ring the 16-bit positions are free-running descriptor counts (position modulo
 * @c num, wrap counter 1 on even laps): @c avail_idx, @c avail_pub and @c avail_kicked count
 * descriptors made available, @c last_used the descriptors consumed by used buffers.
 */
struct xcv_vq_driver {
    uint8_t *desc;                 /**< @private */
    uint8_t *avail;                /**< @private */
    uint8_t *used;                 /**< @private */
    struct xcv_vq_drv_slot *slots; /**< @private */
    uint8_t *ind_local;            /**< @private */
    uint64_t ind_bus;              /**< @private */
    const struct xcv_port *port;   /**< @private */
    uint32_t doorbell;             /**< @private */
    int broken;                    /**< @private sticky reason, 0 when healthy */
    uint16_t num;                  /**< @private */
    uint16_t mask;                 /**< @private */
    uint16_t free_head;            /**< @private */
    uint16_t num_free;             /**< @private */
    uint16_t avail_idx;            /**< @private next avail index to fill */
    uint16_t avail_pub;            /**< @private avail index at the last publish */
    uint16_t avail_kicked;         /**< @private avail index at the last kick decision */
    uint16_t last_used;            /**< @private next used index to consume */
    uint16_t used_seen;            /**< @private last used index read from the device */
    uint16_t in_flight;            /**< @private chains outstanding */
    uint16_t ind_max;              /**< @private */
    uint16_t queue_index;          /**< @private */
    uint16_t detach_cursor;        /**< @private */
    uint16_t avail_flags;          /**< @private shadow of the avail flags */
    uint16_t pend_chains;          /**< @private packed: chains added since the last publish */
    uint16_t first_flags;          /**< @private packed: the deferred flags of avail_pub */
    bool event_idx;                /**< @private */
    bool indirect;                 /**< @private */
    bool prefer_indirect;          /**< @private */
    bool packed;                   /**< @private VIRTIO_F_RING_PACKED layout */
    bool in_order;                 /**< @private VIRTIO_F_IN_ORDER (split ring only) */
    uint16_t io_oldest;            /**< @private in-order: head of the oldest chain in flight */
    uint16_t io_left;              /**< @private in-order: chains of the current batch not taken */
    uint16_t io_multi;             /**< @private in-order: chains in flight of 2+ descriptors */
    uint32_t io_len;               /**< @private in-order: used length of the batch's last chain */
};

/**
 * @brief Initialise a driver queue and zero its ring memory (driver side only).
 *
 * @param q Caller-owned queue object.
 * @param cfg Configuration; the ring, slots and indirect area stay owned by the caller and must
 *            outlive the queue.
 * @return ::XCV_OK, ::XCV_EINVAL for a NULL or inconsistent configuration, or ::XCV_ENOTSUP for
 *         RING_PACKED with IN_ORDER (not implemented).
 */
int xcv_vq_driver_init(struct xcv_vq_driver *q, const struct xcv_vq_driver_config *cfg);

/**
 * @brief Return the queue to its initial state after the device was reset.
 *
 * Call xcv_vq_driver_detach_unused() first to get back the buffers still outstanding;
 * otherwise they are forgotten (and ::XCV_ESTATE is returned, nothing is changed).
 * Clears the broken state and zeroes the ring memory.
 *
 * @return ::XCV_OK or ::XCV_ESTATE when chains are still outstanding.
 */
int xcv_vq_driver_reset(struct xcv_vq_driver *q);

/**
 * @brief Post one chain: @p n_out device-readable elements followed by @p n_in device-writable
 * elements from @p sg. Writes the descriptors and the available-ring slot but does not publish:
 * the device sees it only after xcv_vq_driver_publish() or xcv_vq_driver_kick_prepare().
 *
 * Uses an indirect table when one is configured and the chain has several elements and either
 * @c prefer_indirect is set or the ring lacks free descriptors. In a packed ring the chain
 * always takes @p n_out + @p n_in consecutive ring descriptors and one buffer id, and every
 * field but the flags of the first descriptor since the last publish is written at once.
 *
 * @param q The queue.
 * @param sg Array of @p n_out + @p n_in elements; copied, the caller keeps ownership of the array.
 *           Ownership of the buffers passes to the device until the chain is returned.
 * @param n_out Device-readable elements.
 * @param n_in Device-writable elements.
 * @param token Non-NULL caller value returned with the chain.
 * @return ::XCV_OK; ::XCV_ENOSPC when not enough descriptors are free (nothing is posted);
 *         ::XCV_EINVAL for a NULL token, an empty chain, a chain longer than the queue or
 *         writable bytes that overflow 32 bits; ::XCV_EBROKEN when broken.
 */
int xcv_vq_driver_add(struct xcv_vq_driver *q, const struct xcv_sg *sg, unsigned n_out,
                      unsigned n_in, void *token);

/**
 * @brief Post up to @p n one-segment chains in one call (the argument and state checks are done
 * once for the burst), like @p n calls of xcv_vq_driver_add() with one element each. Nothing is
 * published.
 *
 * @param q The queue.
 * @param sg @p n elements, one chain each; copied, the caller keeps the array.
 * @param n Chains to post.
 * @param device_writable True: every element is device-writable (receive buffers); false:
 *        device-readable.
 * @param tokens @p n non-NULL caller values, returned with the chains.
 * @return Chains posted (as many as there are free descriptors, in order); ::XCV_ENOSPC when no
 *         descriptor is free; ::XCV_EINVAL for a NULL token or array (nothing is posted);
 *         ::XCV_EBROKEN when broken.
 */
int xcv_vq_driver_add_burst(struct xcv_vq_driver *q, const struct xcv_sg *sg, unsigned n,
                            bool device_writable, void *const *tokens);

/**
 * @brief Make every chain added since the last publish visible to the device (one release
 * store of the available index, with cache maintenance once per batch if the port has it).
 * In a packed ring the one release store is of the flags of the batch's first descriptor.
 * @return The number of chains published (>= 0) or ::XCV_EBROKEN.
 */
int xcv_vq_driver_publish(struct xcv_vq_driver *q);

/**
 * @brief Publish, then decide whether the device must be notified (EVENT_IDX or NO_NOTIFY; in
 * a packed ring the device event suppression area: ENABLE, DISABLE, or DESC with EVENT_IDX,
 * notifying when the descriptor it names was made available since the last decision).
 * @return 1 if xcv_vq_driver_notify() should be called, 0 if not, or ::XCV_EBROKEN.
 */
int xcv_vq_driver_kick_prepare(struct xcv_vq_driver *q);

/**
 * @brief Ring the device's doorbell through the port (no decision; see kick_prepare).
 * @return ::XCV_OK, ::XCV_ENOTSUP without a port, or the port's error.
 */
int xcv_vq_driver_notify(struct xcv_vq_driver *q);

/**
 * @brief kick_prepare followed by notify when needed.
 * @return 1 if the doorbell was rung, 0 if not needed, ::XCV_ENOTSUP when one is needed but
 *         the queue has no port, or another negative ::xcv_err.
 */
int xcv_vq_driver_kick(struct xcv_vq_driver *q);

/**
 * @brief Take the next chain the device has used.
 *
 * @param q The queue.
 * @param[out] token The token given to xcv_vq_driver_add(); ownership of the buffers returns.
 * @param[out] len Bytes the device wrote (validated not to exceed the writable bytes posted).
 *            With IN_ORDER, a chain the device returned as part of a batch (one used entry
 *            for several chains, virtio 1.2 2.7.9) other than the batch's last gets 0.
 * @return ::XCV_OK; ::XCV_EAGAIN when nothing is used; a protocol error (queue now broken) for a
 *         bad used entry or index (with IN_ORDER: an entry naming no chain in flight within the
 *         index's reach); ::XCV_EBROKEN when already broken.
 */
int xcv_vq_driver_get_used(struct xcv_vq_driver *q, void **token, uint32_t *len);

/**
 * @brief Take up to @p n used chains in one call: each as xcv_vq_driver_get_used(), with the
 * argument and state checks done once for the burst.
 *
 * @param q The queue.
 * @param[out] tokens @p n slots for the chains' tokens.
 * @param[out] lens @p n slots for the bytes the device wrote.
 * @param n Chains wanted.
 * @return Chains taken (0 when none was used); ::XCV_EINVAL for NULL arrays; when the first
 *         entry breaks the queue, the protocol error (a later one ends the burst and the next
 *         call returns ::XCV_EBROKEN); ::XCV_EBROKEN when broken.
 */
int xcv_vq_driver_get_used_burst(struct xcv_vq_driver *q, void **tokens, uint32_t *lens,
                                 unsigned n);

/**
 * @brief The token of a used chain not yet taken, @p ahead entries after the next one, without
 * taking it: for prefetching the buffer behind it before its turn comes (driver role).
 *
 * A hint and nothing more: only entries covered by the used index the last
 * xcv_vq_driver_get_used() acquired are looked at, and the entry is read again and validated
 * when it is taken, so the answer may be wrong for a misbehaving device (never a pointer that
 * is not one of this queue's own tokens). Use it to steer a prefetch, never to access data.
 *
 * In a packed ring the used descriptors are read where they are now: the next one for
 * @p ahead 0, and for @p ahead > 0 a walk forward over each used chain's descriptor count
 * (from the shadow), at most @p ahead steps, ending with NULL at the first that is not used.
 * No cache maintenance is done: on a non-coherent port the answer may be NULL too early.
 *
 * @param q The queue (read only).
 * @param ahead 0 for the chain the next xcv_vq_driver_get_used() returns, 1 for the one after.
 * @return A token of this queue, or NULL when that entry is not known to be used yet.
 */
void *xcv_vq_driver_peek_used(const struct xcv_vq_driver *q, unsigned ahead);

/**
 * @brief Ask the device for a notification when more buffers are used, and check for a race.
 *
 * With EVENT_IDX this writes used_event once; otherwise it clears NO_INTERRUPT. A packed ring
 * writes its driver event suppression area once: DESC naming the next used position with
 * EVENT_IDX, else ENABLE. A notification arms at most one interrupt: after handling it, drain
 * with get_used and call this again.
 *
 * @return 0 when the ring is empty (safe to sleep), 1 when used buffers are already pending
 *         (drain again), or ::XCV_EBROKEN.
 */
int xcv_vq_driver_enable_notify(struct xcv_vq_driver *q);

/**
 * @brief Ask the device not to notify (a hint; a notification may still arrive). A packed ring
 * writes DISABLE to its driver event suppression area.
 */
void xcv_vq_driver_disable_notify(struct xcv_vq_driver *q);

/**
 * @brief After the device was reset (or the queue broke), take back one outstanding chain.
 *
 * Call repeatedly until ::XCV_EAGAIN; each returned token is a buffer the device will never
 * use, and the caller must complete it with an error of its own (e.g. ::XCV_ECANCELED).
 * Only call when the device no longer accesses the ring (reset done, or the peer is gone).
 * In a packed ring the ring positions of a detached chain stay taken until
 * xcv_vq_driver_reset() (the queue cannot know where the device stopped), so
 * xcv_vq_driver_num_free() does not grow; reset the queue before posting again.
 *
 * @return ::XCV_OK with @p token set, or ::XCV_EAGAIN when none remain.
 */
int xcv_vq_driver_detach_unused(struct xcv_vq_driver *q, void **token);

/** @brief The sticky protocol error that broke the queue, or 0 when healthy. */
int xcv_vq_driver_broken(const struct xcv_vq_driver *q);

/** @brief Number of free ring descriptors (packed ring: free ring positions; a chain of n
 * segments needs n of them). */
unsigned xcv_vq_driver_num_free(const struct xcv_vq_driver *q);

/** @brief Number of chains posted and not yet returned. */
unsigned xcv_vq_driver_in_flight(const struct xcv_vq_driver *q);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_VQ_DRIVER_H */
