/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file vdev.h
 * @brief Device-role plumbing: a device model registers on a channel; the library runs the
 *        control plane (status, features, config, queue setup) and hands the model validated
 *        chains on its queues.
 *
 * The model provides ::xcv_vdev_ops. When the driver kicks queue @c q, ops->notify is called
 * from xcv_channel_poll(); the model then pops chains from xcv_vdev_queue() (typically with
 * xcv_vq_device_process() and a budget) and the used notification goes back to the driver as
 * an EVENT_USED message. When the driver resets the device, or the driver compartment restarts,
 * ops->reset is called: the model must drop every chain it kept (the driver reclaims them).
 *
 * A queue that breaks on a hostile driver sets NEEDS_RESET in the device status and tells the
 * driver with EVENT_CONFIG; the device stays up and serves again after the driver's reset.
 */
#ifndef XCVIRTIO_VDEV_H
#define XCVIRTIO_VDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/vq_device.h"

#ifdef __cplusplus
extern "C" {
#endif

struct xcv_vdev;

/**
 * @brief Callbacks of a device model. Only notify and reset are required. They run inside
 * xcv_channel_poll(), with the port's lock held when the port has one.
 */
struct xcv_vdev_ops {
    /** @brief The driver made buffers available on queue @p q (which is ready). */
    void (*notify)(void *ctx, struct xcv_vdev *dev, uint16_t q);
    /** @brief The device was reset (status 0 or driver restart): drop every kept chain. */
    void (*reset)(void *ctx, struct xcv_vdev *dev);
    /** @brief Optional: the driver set status bits (e.g. DRIVER_OK). */
    void (*status)(void *ctx, struct xcv_vdev *dev, uint8_t status);
    /**
     * @brief Optional: accept the negotiated features at FEATURES_OK.
     * @return 0 to accept, negative to refuse (FEATURES_OK is then not set).
     */
    int (*features_ok)(void *ctx, struct xcv_vdev *dev, uint64_t features);
    /** @brief Optional: the driver wrote [@p off, @p off + @p len) of the config space (always
     * inside the writable part declared in ::xcv_vdev_config). */
    void (*config_write)(void *ctx, struct xcv_vdev *dev, uint32_t off, uint32_t len);
};

/** @brief Caller storage for one device queue. */
struct xcv_vdev_queue {
    struct xcv_vq_dev_slot *slots; /**< Storage for @c max_size slots (caller-owned). */
    uint16_t max_size;             /**< Largest queue size offered (power of two). */
    struct xcv_vq_device vq;       /**< @private */
    uint64_t desc_bus;             /**< @private */
    uint64_t avail_bus;            /**< @private */
    uint64_t used_bus;             /**< @private */
    uint16_t size;                 /**< @private size set by the driver */
    bool ready;                    /**< @private */
};

/** @brief Device registration. Read during xcv_vdev_register() only. */
struct xcv_vdev_config {
    uint32_t device_id;  /**< virtio device id (1 net, 2 blk, 3 console, 4 rng, ...). */
    uint32_t vendor_id;  /**< Vendor id reported in DEVICE_INFO. */
    uint64_t features;   /**< Offered features; VERSION_1 is always added. */
    void *config;        /**< Device config space (caller-owned, model-written), or NULL. */
    uint32_t config_size; /**< Bytes of @c config. */
    /**
     * The driver-writable part of the config space: [config_wr_off, config_wr_off +
     * config_wr_len). A SET_CONFIG touching any byte outside it is refused (::XCV_EINVAL to
     * the driver) and changes nothing. Both 0: the config space is read-only.
     */
    uint32_t config_wr_off;
    uint32_t config_wr_len; /**< Length of the driver-writable part (see config_wr_off). */
    struct xcv_vdev_queue *queues; /**< Caller storage for @c num_queues queues. */
    uint16_t num_queues; /**< Number of queues (1..32). */
    uint16_t max_chain;  /**< Longest chain accepted on any queue; 0 = queue size. */
    const struct xcv_vdev_ops *ops; /**< Callbacks (required). */
    void *ctx;           /**< Passed to every callback. */
};

/** @brief A device as served on a channel. Caller-allocated; fields are private. */
struct xcv_vdev {
    struct xcv_channel *ch;         /**< @private */
    struct xcv_vdev_config cfg;     /**< @private */
    struct xcv_port qport;          /**< @private port handed to the queues */
    uint64_t driver_features;       /**< @private */
    uint32_t generation;            /**< @private config generation */
    uint32_t pending_used;          /**< @private EVENT_USED not yet sent (bit per queue) */
    uint16_t dev_num;               /**< @private */
    uint8_t status;                 /**< @private */
    bool config_event_pending;      /**< @private */
};

/**
 * @brief Register a device model on a device-role channel.
 * @param ch The channel (device role).
 * @param dev Caller-owned device object, kept until the channel is discarded.
 * @param cfg Registration; the queues, config and ctx stay caller-owned.
 * @return The device number (>= 0) or ::XCV_EINVAL / ::XCV_ENOSPC (channel full).
 */
int xcv_vdev_register(struct xcv_channel *ch, struct xcv_vdev *dev,
                      const struct xcv_vdev_config *cfg);

/**
 * @brief The device queue @p q, or NULL when the driver has not set it up (or it was reset).
 * Call only from the model (device role), typically from ops->notify.
 */
struct xcv_vq_device *xcv_vdev_queue(struct xcv_vdev *dev, uint16_t q);

/** @brief Features the driver negotiated (valid once FEATURES_OK is set). */
uint64_t xcv_vdev_features(const struct xcv_vdev *dev);

/** @brief The device status byte as the driver last set it (plus NEEDS_RESET if raised). */
uint8_t xcv_vdev_status(const struct xcv_vdev *dev);

/**
 * @brief The model changed its config space: bump the generation and send EVENT_CONFIG.
 * @return ::XCV_OK or an error from the channel.
 */
int xcv_vdev_config_changed(struct xcv_vdev *dev);

/**
 * @brief Raise NEEDS_RESET (the device hit an error it cannot recover from) and tell the driver.
 * @return ::XCV_OK or an error from the channel.
 */
int xcv_vdev_needs_reset(struct xcv_vdev *dev);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_VDEV_H */
