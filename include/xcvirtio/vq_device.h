/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file vq_device.h
 * @brief The device role of a split or packed virtqueue: pop validated chains, push used, notify.
 *
 * Everything the driver wrote is untrusted. The device role reads each shared field once into
 * local memory, validates it, and only then uses it (no double fetch). A chain is rejected,
 * and the queue marked broken with the reason, when:
 * - the available index moved by more than the queue size, or (packed ring) the driver made
 *   more descriptors available than the ring holds (::XCV_EPROTO_AVAIL_IDX);
 * - a head (packed ring: a buffer id) is out of range or is still in flight on the device
 *   (::XCV_EPROTO_HEAD);
 * - a next index is out of range of its table, or (packed ring) a descriptor after the first
 *   of a chain is not available (::XCV_EPROTO_NEXT);
 * - the chain is longer than the configured limit, which also catches loops
 *   (::XCV_EPROTO_CHAIN_LEN);
 * - an indirect table is nested, or has NEXT set (::XCV_EPROTO_INDIRECT), or its length is zero
 *   or not a multiple of 16 (::XCV_EPROTO_INDIRECT_LEN), or indirect was not negotiated or the
 *   ring is packed (::XCV_EPROTO_FEATURE);
 * - a device-readable descriptor follows a device-writable one (::XCV_EPROTO_WRITE_ORDER);
 * - an address range wraps or a total length overflows (::XCV_EPROTO_OVERFLOW);
 * - a range is outside every shared window (::XCV_EPROTO_WINDOW).
 *
 * When the negotiated features contain VIRTIO_F_RING_PACKED the queue is a packed ring
 * (virtio 1.2, section 2.8) behind the same functions. The device reads a chain's descriptors
 * in ring order, takes the buffer id from the last one (it is what xcv_chain::head holds and
 * what xcv_vq_device_push() takes), and writes one used descriptor per chain at its own used
 * position, skipping as many positions as the chain had descriptors. Packed rings here use no
 * indirect tables.
 *
 * When the negotiated features contain VIRTIO_F_IN_ORDER (split ring only) the driver uses the
 * descriptor table in order (virtio 1.2, 2.7.5), so the device takes each head from the end of
 * the previous chain and does not read the available ring's slots. The caller must push chains
 * in the order they were popped, and the queue writes a run of chains of which all but the last
 * have used length 0 as one used entry naming the last (2.7.9): a transmit burst costs one
 * entry.
 *
 * The data bytes of a validated chain stay in shared memory, which the driver can still change:
 * a device model must copy any header it parses before checking it.
 */
#ifndef XCVIRTIO_VQ_DEVICE_H
#define XCVIRTIO_VQ_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/port.h"
#include "xcvirtio/vring.h"
#include "xcvirtio/window.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief One validated segment of a chain, as a local pointer inside a window. */
struct xcv_iov {
    void *base;   /**< Local address (bounds-checked against the windows). */
    uint32_t len; /**< Length in bytes. */
};

/**
 * @brief A validated chain. The caller provides @c iov storage of @c cap entries (at least the
 * queue's max_chain); xcv_vq_device_pop() fills the rest. Device-readable segments come first.
 */
struct xcv_chain {
    struct xcv_iov *iov; /**< Caller storage for segments. */
    uint16_t cap;        /**< Entries in @c iov. */
    uint16_t head;       /**< Head index: pass to xcv_vq_device_push(). */
    uint16_t n_out;      /**< Device-readable segments, iov[0 .. n_out). */
    uint16_t n_in;       /**< Device-writable segments, iov[n_out .. n_out+n_in). */
    uint32_t out_len;    /**< Total device-readable bytes. */
    uint32_t in_len;     /**< Total device-writable bytes. */
};

/**
 * @brief Private per-head record of a device queue. Treat as opaque; public for static sizing.
 */
struct xcv_vq_dev_slot {
    uint32_t in_len; /**< Writable bytes of the chain popped at this head. */
    uint8_t busy;    /**< Popped and not yet pushed. */
    uint16_t ndesc;  /**< Packed ring: ring descriptors of the chain (its used skip). */
};

/** @brief Bytes of the slot array a device queue of @p num entries needs. */
#define XCV_VQ_DEVICE_SLOTS_BYTES(num) (sizeof(struct xcv_vq_dev_slot) * (size_t)(num))

/** @brief Configuration for xcv_vq_device_init(). Read during init only. */
struct xcv_vq_device_config {
    const struct xcv_memmap *mem; /**< Windows the driver's addresses must fall in; outlives q. */
    /** Queue size (the negotiated size): a power of two; any 1..32768 for a packed ring. */
    uint16_t num;
    /** Bus address of the descriptor table, or of the packed descriptor ring (from the driver). */
    uint64_t desc_bus;
    /** Bus address of the available ring, or of the packed driver event suppression area. */
    uint64_t avail_bus;
    /** Bus address of the used ring, or of the packed device event suppression area. */
    uint64_t used_bus;
    /** Negotiated features: EVENT_IDX, INDIRECT_DESC and IN_ORDER (split ring only),
     * RING_PACKED. */
    uint64_t features;
    uint16_t max_chain;            /**< Longest chain accepted (1..num); 0 means num. */
    struct xcv_vq_dev_slot *slots; /**< Caller storage for @c num slots. */
    const struct xcv_port *port;   /**< Optional: doorbell, cache maintenance, diagnostics. */
    uint32_t doorbell;             /**< Doorbell number for notify. */
    uint16_t queue_index;          /**< The queue's index, for diagnostics. */
    /**
     * A busy-polled queue: the device asks the driver not to notify (at init, and with
     * EVENT_IDX renewed every 16384 entries so the index never comes round to it; a packed
     * ring's DISABLE needs no renewal) and xcv_vq_device_pop_or_arm() /
     * xcv_vq_device_process() never re-arm. The caller must then poll the queue itself (no
     * notification will wake it).
     */
    bool polled;
};

/**
 * @brief A device-role virtqueue, split or packed. Caller-allocated; fields are private.
 *
 * A packed ring reuses the split fields where the meaning carries over: @c avail is the driver
 * event suppression area, @c used the device event suppression area, @c last_avail and
 * @c used_idx are ring positions (0 .. num-1) with their wrap counters beside them.
 */
struct xcv_vq_device {
    const uint8_t *desc;           /**< @private split: descriptor table */
    const uint8_t *avail;          /**< @private split: avail ring; packed: driver event area */
    uint8_t *used;                 /**< @private split: used ring; packed: device event area */
    const struct xcv_memmap *mem;  /**< @private */
    uint32_t win_hint;             /**< @private window of the last translation */
    struct xcv_vq_dev_slot *slots; /**< @private */
    const struct xcv_port *port;   /**< @private */
    uint32_t doorbell;             /**< @private */
    int broken;                    /**< @private sticky reason */
    uint16_t num;                  /**< @private */
    uint16_t mask;                 /**< @private */
    uint16_t max_chain;            /**< @private */
    uint16_t last_avail;           /**< @private next avail entry to pop (packed: position) */
    uint16_t avail_seen;           /**< @private last validated avail index */
    uint16_t used_idx;             /**< @private next used entry to fill (packed: position) */
    uint16_t used_pub;             /**< @private used index at last publish (packed: off_wrap) */
    uint16_t signalled;            /**< @private used index at last notify decision */
    uint16_t in_flight;            /**< @private chains popped and not pushed */
    uint16_t queue_index;          /**< @private */
    bool event_idx;                /**< @private */
    bool indirect;                 /**< @private */
    bool polled;                   /**< @private never re-arm driver notifications */
    uint16_t hint_at;              /**< @private avail index when the polled hint was written */
    uint16_t last_head;            /**< @private head of the chain pushed last */
    bool single;                   /**< @private the last batch seen was one chain */
    /* Split ring with VIRTIO_F_IN_ORDER only. */
    bool in_order;    /**< @private VIRTIO_F_IN_ORDER: heads are consecutive, used in pop order */
    bool io_pend;     /**< @private in-order: a used entry is staged at io_pos, not yet written */
    uint16_t io_next; /**< @private in-order: head of the next chain to pop */
    uint16_t io_used; /**< @private in-order: head of the oldest chain in flight (next to push) */
    uint16_t io_pos;  /**< @private in-order: used index of the staged entry's batch */
    uint16_t io_id;   /**< @private in-order: head the staged entry names (its batch's last) */
    uint32_t io_len;  /**< @private in-order: used length the staged entry carries */
    /* Packed ring only. */
    bool packed;           /**< @private the queue is a packed ring */
    bool avail_wrap;       /**< @private packed: driver wrap counter expected at last_avail */
    bool used_wrap;        /**< @private packed: wrap counter of the used entry at used_idx */
    uint8_t *ring;         /**< @private packed: descriptor ring (both sides write it) */
    uint16_t pub_pos;      /**< @private packed: first used entry staged since publish */
    uint16_t pub_flags;    /**< @private packed: its flags word, stored by publish */
    uint16_t descs_in_use; /**< @private packed: ring descriptors of the chains in flight */
    uint32_t staged;       /**< @private packed: used entries staged since publish */
    uint16_t staged_descs; /**< @private packed: ring descriptors they cover (at most num) */
    uint16_t unsignalled;  /**< @private packed: descriptors published, not yet decided on */
};

/**
 * @brief Initialise a device queue over rings the driver placed at the given bus addresses.
 *
 * The ring areas are validated (alignment per spec: desc 16, avail 2, used 4; packed: descriptor
 * ring 16, both event suppression areas 4; each wholly inside one window, no wrap; no two of
 * them overlapping) before anything is read. Nothing is written to shared memory, except for a
 * polled queue the hint that asks the driver not to notify.
 *
 * @return ::XCV_OK; ::XCV_EINVAL for a bad configuration from the caller (NULL, num not a power
 *         of two for a split ring, num 0 or above 32768, max_chain > num);
 *         ::XCV_ENOTSUP for RING_PACKED with IN_ORDER (not implemented);
 *         ::XCV_EPROTO_LAYOUT for misaligned or overlapping areas;
 *         ::XCV_EPROTO_WINDOW or ::XCV_EPROTO_OVERFLOW for areas outside the windows.
 */
int xcv_vq_device_init(struct xcv_vq_device *q, const struct xcv_vq_device_config *cfg);

/**
 * @brief Forget all state (after a transport reset). Chains popped and not pushed are dropped:
 * the driver reclaims them on its side. Clears the broken state. Writes nothing shared.
 */
void xcv_vq_device_reset(struct xcv_vq_device *q);

/**
 * @brief Pop and validate the next available chain into @p chain.
 *
 * @param q The queue.
 * @param chain Caller storage with @c iov and @c cap (>= max_chain) set; filled on success.
 * @return ::XCV_OK; ::XCV_EAGAIN when no chain is available; ::XCV_EINVAL when @c cap is below
 *         max_chain; a protocol error (the queue is now broken); ::XCV_EBROKEN when broken.
 */
int xcv_vq_device_pop(struct xcv_vq_device *q, struct xcv_chain *chain);

/**
 * @brief Pop like xcv_vq_device_pop(), but when the ring is empty, re-arm the driver's
 * notification first and look once more for a chain that raced the re-arm.
 *
 * The loop of a notification-driven device: pop until ::XCV_EAGAIN, then sleep until the next
 * notification; nothing can be left behind. On a polled queue (xcv_vq_device_config::polled)
 * this is xcv_vq_device_pop(): nothing is armed.
 *
 * @return As xcv_vq_device_pop(); ::XCV_EAGAIN means empty with notifications armed (or, on a
 *         polled queue, just empty).
 */
int xcv_vq_device_pop_or_arm(struct xcv_vq_device *q, struct xcv_chain *chain);

/**
 * @brief Pop up to @p n chains in one call: each as xcv_vq_device_pop(), with the argument and
 * state checks done once for the burst. When the ring runs dry first, notifications are re-armed
 * and a chain that raced the re-arm is taken, as xcv_vq_device_pop_or_arm() does (a polled
 * queue is not armed).
 *
 * @param q The queue.
 * @param chains @p n chains, each with @c iov and @c cap (>= max_chain) set; filled in order.
 * @param n Chains wanted.
 * @return Chains popped (0 when none was available); ::XCV_EINVAL for bad storage; when the
 *         first chain breaks the queue, the protocol error (a later one ends the burst and the
 *         next call returns ::XCV_EBROKEN); ::XCV_EBROKEN when broken.
 */
int xcv_vq_device_pop_burst(struct xcv_vq_device *q, struct xcv_chain *chains, unsigned n);

/**
 * @brief Stage a used entry for chain @p head with @p len bytes written. Not visible to the
 * driver until xcv_vq_device_publish(). With IN_ORDER, chains are pushed in the order they were
 * popped, and chains of length 0 followed by another chain share that chain's entry.
 * @return ::XCV_OK; ::XCV_EINVAL when @p head is not a chain popped and not yet pushed, or
 *         @p len exceeds its writable bytes, or (IN_ORDER) it is not the oldest chain popped
 *         and not yet pushed; ::XCV_EBROKEN when broken.
 */
int xcv_vq_device_push(struct xcv_vq_device *q, uint16_t head, uint32_t len);

/** @brief A finished chain for xcv_vq_device_push_burst(). */
struct xcv_chain_done {
    uint16_t head; /**< The chain's xcv_chain::head, as popped. */
    uint32_t len;  /**< Bytes written into its device-writable segments. */
};

/**
 * @brief Stage the used entries of @p n chains in one call: each as xcv_vq_device_push(), in
 * array order, with the queue checks done once for the burst. Device side; @p done is read
 * during the call only.
 *
 * @param q The queue.
 * @param done @p n finished chains (with IN_ORDER: in the order they were popped).
 * @param n Entries in @p done.
 * @return Entries staged: @p n, or fewer when entry [return value] was refused for a reason
 *         xcv_vq_device_push() gives (that entry and the ones after it are not staged);
 *         ::XCV_EINVAL when the first entry is refused or the arguments are bad;
 *         ::XCV_EBROKEN when broken.
 */
int xcv_vq_device_push_burst(struct xcv_vq_device *q, const struct xcv_chain_done *done,
                             unsigned n);

/**
 * @brief Make all staged used entries visible (one release store of the used index; packed
 * ring: of the flags of the first used descriptor staged since the last publish).
 * @return Number of entries published (>= 0) or ::XCV_EBROKEN.
 */
int xcv_vq_device_publish(struct xcv_vq_device *q);

/**
 * @brief After publishing, decide whether the driver wants a notification (EVENT_IDX
 * used_event, or the NO_INTERRUPT flag; packed ring: the driver event suppression area).
 * Reads the driver's field once.
 * @return 1 to notify, 0 not to, or ::XCV_EBROKEN.
 */
int xcv_vq_device_should_notify(struct xcv_vq_device *q);

/**
 * @brief Publish, decide, and ring the driver's doorbell through the port when needed.
 * @return 1 if notified, 0 if not needed, ::XCV_ENOTSUP when a notification is needed but
 *         the queue has no port, or another negative ::xcv_err.
 */
int xcv_vq_device_flush(struct xcv_vq_device *q);

/**
 * @brief Handler for xcv_vq_device_process(): consume @p chain and report the bytes written.
 *
 * @return 0 to have the chain pushed with @p *written bytes; 1 when the handler kept the chain
 *         and will push it itself later (with IN_ORDER, before any later chain: pushes follow
 *         pop order); a negative ::xcv_err to stop processing (the chain is then pushed with 0
 *         bytes so no buffer is lost).
 */
typedef int (*xcv_vq_chain_fn)(void *ctx, const struct xcv_chain *chain, uint32_t *written);

/**
 * @brief Pop up to @p budget chains, hand each to @p fn, push the results, then flush once.
 *
 * When the ring runs dry within the budget, driver notifications are re-enabled (and a kick
 * that raced that is caught), so a caller driven by notifications needs nothing else; a polled
 * queue is left disarmed, and its caller calls again from its loop. When the
 * budget runs out first, more chains may be pending: call again (no notification will come).
 *
 * The budget bounds the work per call, so a driver that floods the ring cannot starve the
 * caller. @p scratch provides the iov storage reused for each chain.
 *
 * @return Chains handled (>= 0), or the first negative error (from the ring or from @p fn);
 *         ::XCV_EINVAL when @c scratch->cap is below the queue's max_chain (register device
 *         models with a max_chain that fits their scratch storage).
 */
int xcv_vq_device_process(struct xcv_vq_device *q, unsigned budget, struct xcv_chain *scratch,
                          xcv_vq_chain_fn fn, void *ctx);

/**
 * @brief Ask the driver to notify when it makes buffers available, and check for a race.
 * A packed ring gets ENABLE, or with EVENT_IDX the position and wrap counter of the next
 * descriptor to pop (DESC), in its device event suppression area.
 *
 * @return 0 when nothing is pending (safe to sleep), 1 when chains are already available,
 *         or a negative ::xcv_err (the avail index check can break the queue).
 */
int xcv_vq_device_enable_notify(struct xcv_vq_device *q);

/** @brief Ask the driver not to notify (a hint; packed ring: DISABLE). */
void xcv_vq_device_disable_notify(struct xcv_vq_device *q);

/**
 * @brief Start the queue at given ring positions instead of 0 (device role).
 *
 * A transport that resumes a ring already in use calls it right after xcv_vq_device_init()
 * (or xcv_vq_device_reset()): vhost-user's SET_VRING_BASE gives the next available entry to
 * pop, and the used index to continue from is the one the ring holds. Nothing is read from or
 * written to shared memory; the first pop checks the driver's available index against
 * @p next_avail as usual (a jump of more than the queue size breaks the queue).
 *
 * @param q The queue, with no chain in flight.
 * @param next_avail Free-running index of the next available entry to pop.
 * @param next_used Free-running index of the next used entry to fill.
 * @return ::XCV_OK; ::XCV_EINVAL for NULL; ::XCV_ENOTSUP for a packed ring, or for an in-order
 *         ring at any position but (0, 0) (its next head cannot be known from the indices);
 *         ::XCV_ESTATE when chains are in flight (nothing is changed); ::XCV_EBROKEN when
 *         broken.
 */
int xcv_vq_device_set_base(struct xcv_vq_device *q, uint16_t next_avail, uint16_t next_used);

/**
 * @brief Free-running index of the next available entry the queue will pop (device role).
 *
 * What vhost-user's GET_VRING_BASE returns when the ring is stopped. Chains popped and not yet
 * pushed are counted as consumed. Valid on a broken queue too (the position it stopped at).
 * A packed ring returns the position of the next descriptor to pop with the driver wrap counter
 * expected there in bit 15 (the encoding of vhost-user's packed ring base).
 *
 * @return The index, or 0 for NULL.
 */
uint16_t xcv_vq_device_next_avail(const struct xcv_vq_device *q);

/** @brief The sticky error that broke the queue, or 0 when healthy. */
int xcv_vq_device_broken(const struct xcv_vq_device *q);

/** @brief Chains popped and not yet pushed. */
unsigned xcv_vq_device_in_flight(const struct xcv_vq_device *q);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_VQ_DEVICE_H */
