/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file vdrv.h
 * @brief Driver-role plumbing: find a device on a channel, run the virtio initialisation
 *        sequence over control messages, set up its queues in the window, use config space.
 *
 * xcv_vdrv_open() performs virtio 1.2 section 3.1.1 in order: reset, ACKNOWLEDGE, DRIVER,
 * read device features, write the accepted subset, FEATURES_OK, re-read status to check that
 * FEATURES_OK stuck, set up every queue (ring in the channel's queue area), DRIVER_OK.
 * Every step is a request bounded by the channel timeout. Responses are validated: a device
 * that reports impossible values (queue max size 0, config bigger than the message allows,
 * features it did not offer) makes the call fail with ::XCV_EPROTO_DEVICE.
 *
 * A ::xcv_vdrv is transport-neutral once open: the same object, and every device driver built
 * on it (src/device), works over a channel (xcv_vdrv_open(), or xcv_vdrv_open_on() with
 * xcv_vdrv_channel_transport()) and over a virtio-mmio device (xcv_vdrv_open_on() with
 * xcv_mmio_transport(), see mmio.h). A transport is a small ops table
 * (::xcv_vdrv_transport_ops); xcv_vdrv_reset(), xcv_vdrv_read_config(),
 * xcv_vdrv_write_config(), xcv_vdrv_get_status() and xcv_vdrv_poll() dispatch through it.
 */
#ifndef XCVIRTIO_VDRV_H
#define XCVIRTIO_VDRV_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/vq_driver.h"

#ifdef __cplusplus
extern "C" {
#endif

struct xcv_vdrv;

/** @brief Caller storage for one driver queue. */
struct xcv_vdrv_queue {
    struct xcv_vq_drv_slot *slots; /**< Storage for @c size slots (caller-owned). */
    uint16_t size;                 /**< Wanted queue size (power of two; capped by the device). */
    uint16_t indirect_max;         /**< Descriptors per indirect table; 0 = no indirect. */
    struct xcv_vq_driver vq;       /**< @private */
    struct xcv_vring_layout ring;  /**< @private */
    uint64_t ring_off;             /**< @private offset in the queue area, once placed */
    uint64_t ind_off;              /**< @private */
    uint16_t placed_size;          /**< @private size the area was placed for (0 = none) */
    bool placed_packed;            /**< @private the area was placed for a packed ring */
    bool ready;                    /**< @private */
};

/**
 * @brief Driver callbacks. They run inside xcv_channel_poll() (and, for cancel, inside the call
 * that reclaims), with the port's lock held when the port has one: they may use the queues but
 * must not call channel or xcv_vdrv_* functions that take the lock again.
 */
struct xcv_vdrv_ops {
    /** @brief Optional: the device used buffers on queue @p q (EVENT_USED). */
    void (*used)(void *ctx, struct xcv_vdrv *d, uint16_t q);
    /** @brief Optional: config or status changed (EVENT_CONFIG). */
    void (*config)(void *ctx, struct xcv_vdrv *d);
    /**
     * @brief Required: a buffer posted on queue @p q will never be used (reset or peer
     * restart). The caller completes it with @p err (::XCV_ECANCELED or ::XCV_EPEERRESET).
     */
    void (*cancel)(void *ctx, struct xcv_vdrv *d, uint16_t q, void *token, int err);
};

/** @brief Driver configuration. Read during xcv_vdrv_open() only. */
struct xcv_vdrv_config {
    uint16_t dev_num;   /**< Device number on the channel (channel transport only). */
    uint32_t device_id; /**< Expected virtio device id (0 = any). */
    uint64_t features;  /**< Features the driver supports; VERSION_1 is required (a legacy
                             virtio-mmio device, which cannot offer it, is driven without). */
    struct xcv_vdrv_queue *queues;  /**< Caller storage for @c num_queues queues. */
    uint16_t num_queues;            /**< Queues to set up (<= the device's). */
    const struct xcv_vdrv_ops *ops; /**< Callbacks (cancel required). */
    void *ctx;                      /**< Passed to callbacks. */
};

struct xcv_vdrv_transport_ops;

/** @brief A device as driven over a transport. Caller-allocated; fields are private. */
struct xcv_vdrv {
    const struct xcv_vdrv_transport_ops *tops; /**< @private the transport it is open on */
    void *tctx;                  /**< @private that transport's object (channel, mmio device) */
    const struct xcv_port *port; /**< @private the transport's port (clock, wait, cache, log) */
    uint64_t timeout_ns;         /**< @private bound of every wait on the device */
    struct xcv_channel *ch;      /**< @private channel transport only */
    struct xcv_vdrv_config cfg;  /**< @private */
    struct xcv_port qport;       /**< @private port handed to the queues */
    uint64_t features;           /**< @private negotiated */
    uint32_t device_id;          /**< @private */
    uint32_t config_size;        /**< @private */
    uint32_t max_queues;         /**< @private */
    uint32_t pending_used;       /**< @private EVENT_USED seen during a request (bit per queue) */
    uint32_t pending_avail;      /**< @private EVENT_AVAIL not yet sent (bit per queue) */
    bool pending_config;         /**< @private */
    bool open;                   /**< @private */
};

/**
 * @brief The operations of one driver-role transport (a channel, a virtio-mmio device).
 *
 * Implemented by the library for its transports; a platform may add its own. The public
 * xcv_vdrv_* functions dispatch to these after checking their arguments. Every operation is
 * bounded in time (the transport's timeout) and validates what the device reports.
 */
struct xcv_vdrv_transport_ops {
    /**
     * @brief Run the initialisation sequence and set up the queues, filling @p d (which must
     * record these ops, the port and the timeout). Errors as xcv_vdrv_open().
     */
    int (*open)(void *tctx, struct xcv_vdrv *d, const struct xcv_vdrv_config *cfg);
    /** @brief Reset the device and reclaim every posted buffer (see xcv_vdrv_reset()). */
    int (*reset)(struct xcv_vdrv *d);
    /** @brief Consistent config space read (see xcv_vdrv_read_config()). */
    int (*read_config)(struct xcv_vdrv *d, uint32_t off, void *buf, uint32_t len);
    /** @brief Config space write (see xcv_vdrv_write_config()). */
    int (*write_config)(struct xcv_vdrv *d, uint32_t off, const void *buf, uint32_t len);
    /** @brief The device status byte, or a negative ::xcv_err. */
    int (*get_status)(struct xcv_vdrv *d);
    /** @brief Take the device's events and call the driver callbacks (see xcv_vdrv_poll()). */
    int (*poll)(struct xcv_vdrv *d, unsigned budget);
};

/**
 * @brief A transport handle: an ops table and the transport's object. Plain data, filled by
 * xcv_vdrv_channel_transport() or xcv_mmio_transport(); the object must outlive every device
 * opened on it.
 */
struct xcv_vdrv_transport {
    const struct xcv_vdrv_transport_ops *ops; /**< The transport's operations. */
    void *ctx;                                /**< Its object, passed to ops->open. */
};

/**
 * @brief Describe channel @p ch as a transport for xcv_vdrv_open_on() and the device drivers'
 * *_open_on() functions (driver role). @p t is caller-owned and may be a local variable.
 */
void xcv_vdrv_channel_transport(struct xcv_channel *ch, struct xcv_vdrv_transport *t);

/**
 * @brief Open a device on any transport: runs virtio 1.2 section 3.1.1 through @p t (driver
 * role). On a channel this is xcv_vdrv_open(); on virtio-mmio see xcv_mmio_transport().
 * @param t The transport (copied; its object must outlive @p d).
 * @param d Caller-owned device object.
 * @param cfg Configuration (@c dev_num is ignored by transports with one device).
 * @return As xcv_vdrv_open(); ::XCV_EINVAL for a NULL or incomplete transport.
 */
int xcv_vdrv_open_on(const struct xcv_vdrv_transport *t, struct xcv_vdrv *d,
                     const struct xcv_vdrv_config *cfg);

/**
 * @brief Initialise device @c cfg->dev_num and set up its queues (see the file comment).
 * @return ::XCV_OK; ::XCV_ENODEV (no such device or wrong id); ::XCV_ENOTSUP (the device
 *         refused the features); ::XCV_ENOSPC (queue area full); ::XCV_ETIMEDOUT;
 *         ::XCV_EPEERRESET; ::XCV_EPROTO_DEVICE or another protocol error.
 */
int xcv_vdrv_open(struct xcv_channel *ch, struct xcv_vdrv *d, const struct xcv_vdrv_config *cfg);

/**
 * @brief Reset the device (status 0), then reclaim every outstanding buffer through
 * ops->cancel with ::XCV_ECANCELED. The device can be opened again.
 * @return ::XCV_OK or the error of the reset request (buffers are reclaimed regardless).
 */
int xcv_vdrv_reset(struct xcv_vdrv *d);

/** @brief Queue @p q once the device is open, else NULL. */
struct xcv_vq_driver *xcv_vdrv_queue(struct xcv_vdrv *d, uint16_t q);

/** @brief The negotiated features. */
uint64_t xcv_vdrv_features(const struct xcv_vdrv *d);

/**
 * @brief Read @p len bytes of config space at @p off, consistent per the generation counter
 * (re-read while it changes, at most 8 times).
 * @return ::XCV_OK, ::XCV_EINVAL (out of range), ::XCV_EAGAIN (config kept changing), or a
 *         request error.
 */
int xcv_vdrv_read_config(struct xcv_vdrv *d, uint32_t off, void *buf, uint32_t len);

/**
 * @brief Write @p len bytes of config space at @p off.
 * @return ::XCV_OK, ::XCV_EINVAL, or a request error.
 */
int xcv_vdrv_write_config(struct xcv_vdrv *d, uint32_t off, const void *buf, uint32_t len);

/**
 * @brief Read the device status byte (for NEEDS_RESET, for example).
 * @return The status (0..255) or a negative ::xcv_err.
 */
int xcv_vdrv_get_status(struct xcv_vdrv *d);

/**
 * @brief Take the device's pending events and call the driver callbacks (used, config).
 *
 * On a channel this is xcv_channel_poll() of the device's channel (every device on it is
 * served); on virtio-mmio it reads and acknowledges InterruptStatus. Synchronous helpers call
 * it while they wait; an event loop calls it after each wake-up.
 * @param d An open (or opening) device.
 * @param budget Most messages handled (channel); ignored by virtio-mmio.
 * @return Events or messages handled (>= 0), ::XCV_EINVAL, ::XCV_EPEERRESET (channel: the
 *         peer restarted; buffers were cancelled), or a protocol error.
 */
int xcv_vdrv_poll(struct xcv_vdrv *d, unsigned budget);

/**
 * @brief The port of the transport @p d is open on (its clock bounds synchronous waits), or
 * NULL when @p d was never opened.
 */
const struct xcv_port *xcv_vdrv_port(const struct xcv_vdrv *d);

/** @brief The transport's bound on a wait for the device, in nanoseconds (0 if never opened). */
uint64_t xcv_vdrv_timeout_ns(const struct xcv_vdrv *d);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_VDRV_H */
