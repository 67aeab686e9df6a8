/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file dev_rng.h
 * @brief virtio-rng (virtio 1.2, section 5.4): an entropy device model fed by a port-provided
 *        callback (device role), and a driver that reads N random bytes (driver role).
 *
 * The device has one queue (requestq, 0). The driver posts device-writable buffers; the device
 * fills them with bytes from the entropy callback and reports how many it wrote.
 */
#ifndef XCVIRTIO_DEV_RNG_H
#define XCVIRTIO_DEV_RNG_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/vdev.h"
#include "xcvirtio/vdrv.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Longest request chain the rng model accepts. */
#define XCV_RNG_DEV_MAX_CHAIN 16u
/** @brief Largest queue size the rng model offers, and the driver's queue size. */
#define XCV_RNG_MAX_QUEUE 64u

/* ============================== device role ============================== */

/**
 * @brief Entropy source (device role), typically provided by the port (getrandom() on Linux,
 * a TRNG on bare metal).
 * @param ctx The context given at init.
 * @param buf Where to put bytes: device-writable memory of the driver's buffer, in the window.
 * @param len Bytes wanted (> 0).
 * @return Bytes written (1 .. @p len), 0 when no entropy is available now, or a negative
 *         ::xcv_err.
 */
typedef int (*xcv_rng_entropy_fn)(void *ctx, void *buf, uint32_t len);

/** @brief rng model configuration. Read during xcv_rng_dev_init() only. */
struct xcv_rng_dev_config {
    xcv_rng_entropy_fn entropy; /**< Entropy source (required). */
    void *ctx;                  /**< Passed to @c entropy. */
    uint16_t queue_size;        /**< Largest queue size offered (power of two; 0 = 64). */
    unsigned budget;            /**< Requests handled per notification; 0 = queue size. */
    uint32_t max_bytes;         /**< Most bytes given per request; 0 = no limit. */
};

/** @brief Counters of an rng model. */
struct xcv_rng_dev_stats {
    uint64_t requests; /**< Chains completed. */
    uint64_t bytes;    /**< Random bytes delivered. */
    uint64_t rejected; /**< Chains with device-readable parts (used length 0). */
    uint64_t starved;  /**< Chains completed empty because the source had nothing. */
};

/** @brief A virtio-rng device model. Caller-allocated; fields are private. */
struct xcv_rng_dev {
    struct xcv_vdev vdev;                            /**< @private */
    struct xcv_vdev_queue queue;                     /**< @private */
    struct xcv_vq_dev_slot slots[XCV_RNG_MAX_QUEUE]; /**< @private */
    struct xcv_iov iov[XCV_RNG_DEV_MAX_CHAIN];       /**< @private */
    xcv_rng_entropy_fn entropy;                      /**< @private */
    void *ctx;                                       /**< @private */
    unsigned budget;                                 /**< @private */
    uint32_t max_bytes;                              /**< @private */
    bool pending;                                    /**< @private */
    struct xcv_rng_dev_stats stats;                  /**< @private */
};

/**
 * @brief Initialise an rng model and register it (device id 4) on a device-role channel.
 * @param r Caller-owned model object; outlives the registration.
 * @param ch A device-role channel, or NULL for a device served by a host transport such as
 *           vhost-user (see xcv_vdev_host_attach()).
 * @param cfg Configuration.
 * @return The device number (>= 0), ::XCV_EINVAL, or ::XCV_ENOSPC (channel full).
 */
int xcv_rng_dev_init(struct xcv_rng_dev *r, struct xcv_channel *ch,
                     const struct xcv_rng_dev_config *cfg);

/**
 * @brief Handle up to @p budget requests (device role); called on every kick, and by the caller
 * while xcv_rng_dev_pending() is true.
 * @return Requests handled, ::XCV_ENODEV (queue not set up), or a ring error (queue broken,
 *         NEEDS_RESET raised).
 */
int xcv_rng_dev_run(struct xcv_rng_dev *r, unsigned budget);

/** @brief True when the last run stopped on its budget. */
bool xcv_rng_dev_pending(const struct xcv_rng_dev *r);

/** @brief The model's counters. */
const struct xcv_rng_dev_stats *xcv_rng_dev_stats(const struct xcv_rng_dev *r);

/* ============================== driver role ============================== */

/** @brief Driver configuration. Read during xcv_rng_drv_open() only. */
struct xcv_rng_drv_config {
    uint16_t dev_num;      /**< Device number on the channel. */
    struct xcv_pool *pool; /**< Pool in the window for request buffers (caller-owned). */
};

/** @brief A virtio-rng driver. Caller-allocated; fields are private. */
struct xcv_rng_drv {
    struct xcv_vdrv vdrv;                            /**< @private */
    struct xcv_vdrv_queue queue;                     /**< @private */
    struct xcv_vq_drv_slot slots[XCV_RNG_MAX_QUEUE]; /**< @private */
    struct xcv_pool *pool;                           /**< @private */
};

/**
 * @brief Open an rng device on a channel (driver role): xcv_rng_drv_open_on() with
 * xcv_vdrv_channel_transport().
 * @return ::XCV_OK, ::XCV_EINVAL, or an error of xcv_vdrv_open().
 */
int xcv_rng_drv_open(struct xcv_rng_drv *d, struct xcv_channel *ch,
                     const struct xcv_rng_drv_config *cfg);

/**
 * @brief Open an rng device on any driver transport (a channel, a virtio-mmio device).
 * Works with legacy (version 1) virtio-mmio devices too: virtio-rng has no format that
 * depends on VIRTIO_F_VERSION_1.
 * @param d Caller-owned driver object.
 * @param t The transport (copied; its object must outlive @p d).
 * @param cfg Configuration (@c dev_num is used on a channel only; the pool's buffers must be
 *            reachable by the device).
 * @return ::XCV_OK, ::XCV_EINVAL, or an error of xcv_vdrv_open_on().
 */
int xcv_rng_drv_open_on(struct xcv_rng_drv *d, const struct xcv_vdrv_transport *t,
                        const struct xcv_rng_drv_config *cfg);

/**
 * @brief Read @p len random bytes into @p buf (synchronous; polls the transport while waiting,
 * each wait bounded by the transport's timeout). Requests go out one pool buffer at a time; the
 * device may give fewer bytes than asked (5.4.6.2), so several requests may be needed.
 * On a timeout the device is reset, which reclaims the outstanding buffer.
 * @param d The driver.
 * @param buf Caller-owned destination.
 * @param len Bytes wanted.
 * @return ::XCV_OK when all @p len bytes were read; ::XCV_ENOMEM (pool empty);
 *         ::XCV_ETIMEDOUT; ::XCV_EPROTO_DEVICE when the device returned a buffer empty;
 *         ::XCV_ENODEV (not open); a ring error.
 */
int xcv_rng_drv_read(struct xcv_rng_drv *d, void *buf, uint32_t len);

/**
 * @brief Reset the device (driver role), for example before the compartment stops using it.
 * The driver holds no buffer between calls (xcv_rng_drv_read() returns each to the pool before
 * it returns). The driver can be opened again.
 * @return ::XCV_OK; ::XCV_EINVAL for a NULL driver; or the error of the reset request.
 */
int xcv_rng_drv_reset(struct xcv_rng_drv *d);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_DEV_RNG_H */
