/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file channel.h
 * @brief A channel: one shared window between two compartments, its layout, its two control
 *        message rings, and the epochs that detect a peer restart.
 *
 * One compartment takes the device role (it formats the window and serves devices), the other
 * the driver role (it attaches, validates the layout, and drives devices). A compartment may
 * have several channels; a channel carries up to ::XCV_CHANNEL_MAX_DEVICES devices.
 *
 * Window layout (every area aligned to the cache line; details in docs/architecture.md):
 * @verbatim
 *   header     line 0: layout (device writes at format, driver reads once at attach)
 *              line 1: device epoch and state (device writes)
 *              line 2: driver epoch and state (driver writes)
 *              line 3: d2v event word: driver sets queue bits, device takes them
 *              line 4: v2d event word: device sets queue bits, driver takes them
 *   d2v ring   driver-to-device messages: requests and EVENT_AVAIL
 *   v2d ring   device-to-driver messages: responses, EVENT_USED, EVENT_CONFIG
 *   queue area virtqueue rings and indirect tables, placed by the driver
 *   pool area  data buffers, owned by the driver (see pool.h)
 * @endverbatim
 * The device role exposes only the queue and pool areas to descriptor addresses: a driver
 * cannot make the device read or write the header or the message rings.
 *
 * Doorbells: each side rings ::xcv_channel_config::doorbell on the peer when it has put
 * messages in its outgoing ring. On receiving a doorbell (or periodically, or in a busy-poll
 * loop), the caller calls xcv_channel_poll().
 *
 * Queue notifications: on a coherent port (one without cache_clean / cache_invalidate) a queue
 * notification sets the queue's bit in the peer-bound event word and rings the doorbell only if
 * the word was empty; xcv_channel_poll() takes the inbound word before reading messages. On a
 * non-coherent port they travel as EVENT_AVAIL / EVENT_USED messages. Either way, a caller must
 * acknowledge a doorbell (drain it) before it polls, never after: a doorbell taken after the
 * poll may be the only one rung for bits the poll did not see.
 */
#ifndef XCVIRTIO_CHANNEL_H
#define XCVIRTIO_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/msg.h"
#include "xcvirtio/port.h"
#include "xcvirtio/window.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Most devices one channel carries (device numbers 0 .. this - 1). */
#define XCV_CHANNEL_MAX_DEVICES 16u
/** @brief The window header's magic value ("XCVW", little-endian). */
#define XCV_CHANNEL_MAGIC 0x57564358u
/** @brief The window layout version this library writes and accepts (2: event lines). */
#define XCV_CHANNEL_VERSION 2u
/** @brief Bytes of one message slot in a message ring (one message, padded). */
#define XCV_MSGRING_SLOT_SIZE 64u
/** @brief Bytes of a message ring with @p slots slots on lines of @p line bytes. */
#define XCV_MSGRING_BYTES(slots, line) ((size_t)2u * (line) + (size_t)(slots)*XCV_MSGRING_SLOT_SIZE)
/** @brief Default request timeout when the config gives 0: one second. */
#define XCV_CHANNEL_DEFAULT_TIMEOUT_NS 1000000000ull

/** @brief Which side of the channel this compartment is. */
enum xcv_role {
    XCV_ROLE_DRIVER = 1, /**< Uses devices (the VNF side). */
    XCV_ROLE_DEVICE = 2  /**< Serves devices (the device-model side). */
};

/** @brief Channel configuration. Read during xcv_channel_init() only. */
struct xcv_channel_config {
    enum xcv_role role;          /**< This side's role. */
    struct xcv_window window;    /**< The whole shared window (this side's mapping). */
    const struct xcv_port *port; /**< The platform port (required; outlives the channel). */
    uint32_t doorbell;           /**< Doorbell number rung on the peer for control messages. */
    uint64_t timeout_ns;         /**< Bound on each wait for the peer; 0 = default (1 s). */
    uint32_t cache_line;         /**< Cache line size; 0 = 64. Both sides must agree. */
    /* Device role only (the driver reads these from the validated header): */
    uint32_t msg_slots;       /**< Slots per message ring, power of two, 4..1024; 0 = 32. */
    uint64_t queue_area_size; /**< Bytes for virtqueues; the rest of the window is the pool. */
};

/** @brief One message ring as seen by one side. Private; public for static allocation. */
struct xcv_msgring {
    uint8_t *prod;  /**< @private line holding the producer index */
    uint8_t *cons;  /**< @private line holding the consumer index */
    uint8_t *slots; /**< @private */
    uint32_t count; /**< @private slots (kept privately, never re-read from shared memory) */
    uint32_t idx;   /**< @private this side's index: prod when producing, cons when consuming */
};

struct xcv_vdev;
struct xcv_vdrv;

/** @brief A channel. Caller-allocated; fields are private. */
struct xcv_channel {
    enum xcv_role role;          /**< @private */
    struct xcv_window window;    /**< @private */
    const struct xcv_port *port; /**< @private */
    uint32_t doorbell;           /**< @private */
    uint32_t line;               /**< @private */
    uint64_t timeout_ns;         /**< @private */
    uint8_t *hdr;                /**< @private */
    struct xcv_msgring tx;       /**< @private this side produces */
    struct xcv_msgring rx;       /**< @private this side consumes */
    uint8_t *evt_tx;             /**< @private event word this side sets bits in */
    uint8_t *evt_rx;             /**< @private event word this side takes bits from */
    bool evt_words;              /**< @private coherent port: queue notifications by event word */
    struct xcv_window areas[2];  /**< @private queue area, pool area */
    struct xcv_memmap devmap;    /**< @private what descriptors may address */
    uint32_t my_epoch;           /**< @private */
    uint32_t peer_epoch;         /**< @private peer epoch last seen */
    int broken;                  /**< @private sticky protocol error */
    uint16_t next_token;         /**< @private */
    bool attached;               /**< @private */
    bool tx_pending;             /**< @private messages written, doorbell not yet rung */
    uint64_t queue_alloc;        /**< @private driver: bump offset in the queue area */
    uint32_t stale_responses;    /**< @private responses that matched no request */
    struct xcv_msg held_resp;    /**< @private device: a response waiting for ring space */
    bool resp_held;              /**< @private device: held_resp is valid */
    struct xcv_vdev *vdevs[XCV_CHANNEL_MAX_DEVICES]; /**< @private device role */
    struct xcv_vdrv *vdrvs[XCV_CHANNEL_MAX_DEVICES]; /**< @private driver role */
};

/**
 * @brief Set up a channel over a window.
 *
 * Device role: formats the window (layout line, message rings, epochs) unless it already holds
 * the same layout, in which case this is a restart: the epoch is bumped and the rings are
 * resynchronised without disturbing the pool. Driver role: reads and validates the layout and
 * attaches; returns ::XCV_EAGAIN while the device side has not formatted the window yet.
 *
 * @param ch Caller-owned channel object (no other storage needed).
 * @param cfg Configuration.
 * @return ::XCV_OK; ::XCV_EINVAL for a bad configuration; ::XCV_EAGAIN (driver, peer not up);
 *         ::XCV_EPROTO_LAYOUT when the header in the window is invalid or hostile.
 */
int xcv_channel_init(struct xcv_channel *ch, const struct xcv_channel_config *cfg);

/**
 * @brief Driver role: wait (bounded by the timeout) until the device side is up, then attach.
 * @return As xcv_channel_init(); ::XCV_ETIMEDOUT instead of ::XCV_EAGAIN.
 */
int xcv_channel_connect(struct xcv_channel *ch, const struct xcv_channel_config *cfg);

/**
 * @brief Process incoming control messages and detect a peer restart. Never blocks.
 *
 * First takes the inbound event word (coherent ports): each set bit is a queue notification
 * for every existing queue that maps to it, handled as the matching EVENT_AVAIL / EVENT_USED
 * message would be (at most 64 bits, each for at most ::XCV_CHANNEL_MAX_DEVICES queues).
 * Then device role: serves requests (device info, features, status, config, queue setup) and
 * hands EVENT_AVAIL to the device model. Driver role: dispatches EVENT_USED / EVENT_CONFIG to
 * the callbacks of the opened devices. At most @p budget messages are handled per call.
 *
 * When the peer's epoch changed, every device on this side is reset and every in-flight buffer
 * is reclaimed (driver role: completed through the cancel callback with ::XCV_EPEERRESET), and
 * ::XCV_EPEERRESET is returned once.
 *
 * @return Messages handled plus bits taken from the event word (>= 0; each bit counts as the
 *         EVENT_* message it replaces, and does not count against @p budget),
 *         ::XCV_EPEERRESET once after a peer restart, or a protocol error (the channel is then
 *         broken: reinitialise it).
 */
int xcv_channel_poll(struct xcv_channel *ch, unsigned budget);

/**
 * @brief Driver role: send a PING and wait for its echo (liveness check).
 * @return ::XCV_OK, ::XCV_ETIMEDOUT, ::XCV_EPEERRESET or a protocol error.
 */
int xcv_channel_ping(struct xcv_channel *ch, uint32_t value);

/**
 * @brief Driver role: read the bitmap of device numbers the device side offers.
 * @param ch The channel.
 * @param[out] mask Bit n set when device number n exists.
 * @return ::XCV_OK or an error as for xcv_channel_ping().
 */
int xcv_channel_get_devices(struct xcv_channel *ch, uint32_t *mask);

/** @brief The pool area of the window (driver role: where data buffers go). */
const struct xcv_window *xcv_channel_pool_area(const struct xcv_channel *ch);

/** @brief The sticky protocol error of the channel, or 0. */
int xcv_channel_broken(const struct xcv_channel *ch);

/** @brief Leave the channel cleanly: mark this side down in the header (no peer wait). */
void xcv_channel_detach(struct xcv_channel *ch);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_CHANNEL_H */
