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
    uint16_t dev_num;       /**< Device number on the channel. */
    uint32_t device_id;     /**< Expected virtio device id (0 = any). */
    uint64_t features;      /**< Features the driver supports; VERSION_1 is required. */
    struct xcv_vdrv_queue *queues; /**< Caller storage for @c num_queues queues. */
    uint16_t num_queues;    /**< Queues to set up (<= the device's). */
    const struct xcv_vdrv_ops *ops; /**< Callbacks (cancel required). */
    void *ctx;              /**< Passed to callbacks. */
};

/** @brief A device as driven over a channel. Caller-allocated; fields are private. */
struct xcv_vdrv {
    struct xcv_channel *ch;     /**< @private */
    struct xcv_vdrv_config cfg; /**< @private */
    struct xcv_port qport;      /**< @private port handed to the queues */
    uint64_t features;          /**< @private negotiated */
    uint32_t device_id;         /**< @private */
    uint32_t config_size;       /**< @private */
    uint32_t max_queues;        /**< @private */
    uint32_t pending_used;      /**< @private EVENT_USED seen during a request (bit per queue) */
    uint32_t pending_avail;     /**< @private EVENT_AVAIL not yet sent (bit per queue) */
    bool pending_config;        /**< @private */
    bool open;                  /**< @private */
};

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

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_VDRV_H */
