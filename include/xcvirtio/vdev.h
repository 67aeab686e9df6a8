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
 *
 * **Host transports.** A device model can also be served by a transport that is not a channel,
 * such as a vhost-user backend (port_linux's vhost_user.h), where the driver's transport
 * messages arrive by other means and the rings live in memory the driver shares. The model is
 * then initialised with a NULL channel (xcv_vdev_register() with @c ch NULL: the device is
 * *detached*), and the transport drives it with xcv_vdev_host_attach() and the other
 * xcv_vdev_host_*() calls: it negotiates features, starts each queue over its own memory map at
 * given ring positions, delivers kicks, stops queues and resets the device. The model code is
 * the same for both transports: it sees ops->notify, ops->reset and xcv_vdev_queue().
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
    uint32_t device_id;   /**< virtio device id (1 net, 2 blk, 3 console, 4 rng, ...). */
    uint32_t vendor_id;   /**< Vendor id reported in DEVICE_INFO. */
    uint64_t features;    /**< Offered features; VERSION_1 is always added. */
    void *config;         /**< Device config space (caller-owned, model-written), or NULL. */
    uint32_t config_size; /**< Bytes of @c config. */
    /**
     * The driver-writable part of the config space: [config_wr_off, config_wr_off +
     * config_wr_len). A SET_CONFIG touching any byte outside it is refused (::XCV_EINVAL to
     * the driver) and changes nothing. Both 0: the config space is read-only.
     */
    uint32_t config_wr_off;
    uint32_t config_wr_len;        /**< Length of the driver-writable part (see config_wr_off). */
    struct xcv_vdev_queue *queues; /**< Caller storage for @c num_queues queues. */
    uint16_t num_queues;           /**< Number of queues (1..32). */
    uint16_t max_chain;            /**< Longest chain accepted on any queue; 0 = queue size. */
    /**
     * Busy-poll every queue: the driver is asked never to notify (see
     * xcv_vq_device_config::polled), so the model's owner must poll the queues from its loop.
     */
    bool polled;
    const struct xcv_vdev_ops *ops; /**< Callbacks (required). */
    void *ctx;                      /**< Passed to every callback. */
};

/** @brief A device as served on a channel or a host transport. Caller-allocated; fields are
 * private. */
struct xcv_vdev {
    struct xcv_channel *ch;      /**< @private NULL when detached (host transport) */
    const struct xcv_port *host; /**< @private host transport's port, when attached */
    struct xcv_vdev_config cfg;  /**< @private */
    struct xcv_port qport;       /**< @private port handed to the queues */
    uint64_t driver_features;    /**< @private */
    uint32_t generation;         /**< @private config generation */
    uint32_t pending_used;       /**< @private EVENT_USED not yet sent (bit per queue) */
    uint16_t dev_num;            /**< @private */
    uint8_t status;              /**< @private */
    bool config_event_pending;   /**< @private */
};

/**
 * @brief Register a device model on a device-role channel, or prepare it for a host transport.
 * @param ch The channel (device role), or NULL: the device is then detached, numbered 0, and
 *           served by a host transport after xcv_vdev_host_attach().
 * @param dev Caller-owned device object, kept until the channel (or host transport) is
 *            discarded.
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

/* ============================== host transports ============================== */

/**
 * @brief Doorbell number a detached device passes to its host port's notify when the driver
 * must re-read the device status or config (config change, NEEDS_RESET). Queue notifications
 * use the queue index as the doorbell.
 */
#define XCV_VDEV_DOORBELL_CONFIG 0xffffffffu

/**
 * @brief Ring placement and starting positions for xcv_vdev_host_start_queue().
 * Read during the call only.
 */
struct xcv_vdev_host_queue {
    const struct xcv_memmap *mem; /**< Windows the driver's addresses must fall in (the
                                       driver's memory regions); outlives the running queue. */
    uint16_t num;                 /**< Queue size (power of two, <= the model's max size). */
    uint64_t desc_bus;            /**< Bus address of the descriptor table. */
    uint64_t avail_bus;           /**< Bus address of the available ring. */
    uint64_t used_bus;            /**< Bus address of the used ring. */
    uint16_t next_avail;          /**< Next available entry to pop (vhost-user ring base). */
    uint16_t next_used;           /**< Next used entry to fill. */
};

/**
 * @brief Bind a detached device (registered with a NULL channel) to a host transport and reset
 * it. Host transport only; call again to rebind (for a new driver connection).
 *
 * @param dev The device (caller-owned, detached).
 * @param port The transport's port (caller-owned, outlives the binding): notify(ctx, q) signals
 *             used buffers on queue q, notify(ctx, ::XCV_VDEV_DOORBELL_CONFIG) a status or config
 *             change; cache_clean / cache_invalidate and log are used when set.
 * @return ::XCV_OK; ::XCV_EINVAL for NULL or a port without ops or notify; ::XCV_ESTATE when
 *         the device is registered on a channel.
 */
int xcv_vdev_host_attach(struct xcv_vdev *dev, const struct xcv_port *port);

/** @brief The virtio device id given at registration (1 net, 2 blk, ...); 0 for NULL. */
uint32_t xcv_vdev_device_id(const struct xcv_vdev *dev);

/** @brief The number of queues of the device; 0 for NULL. */
uint16_t xcv_vdev_num_queues(const struct xcv_vdev *dev);

/** @brief The largest size queue @p q accepts; 0 for NULL or no such queue. */
uint16_t xcv_vdev_queue_max_size(const struct xcv_vdev *dev, uint16_t q);

/** @brief The features the device offers (VERSION_1 included); 0 for NULL. */
uint64_t xcv_vdev_device_features(const struct xcv_vdev *dev);

/** @brief Bytes of the device's config space; 0 for NULL. */
uint32_t xcv_vdev_config_size(const struct xcv_vdev *dev);

/**
 * @brief Ring features a host transport never takes: packed rings, and in-order use (a host
 * transport restores a queue from its indices alone, which an in-order ring cannot do). A host
 * transport leaves them out of the features it reports to its driver.
 */
#define XCV_VDEV_HOST_UNSUPPORTED                                                                  \
    (XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED) | XCV_FEATURE(XCV_VIRTIO_F_IN_ORDER))

/**
 * @brief Negotiate: accept the driver's features and set ACKNOWLEDGE, DRIVER and FEATURES_OK
 * (host transport, the device side's handler of the driver's feature write).
 *
 * Allowed while no queue runs; a running queue allows only the features already negotiated.
 * The model's features_ok and status callbacks are called as on a channel.
 *
 * @return ::XCV_OK; ::XCV_EINVAL for NULL; ::XCV_ESTATE when not attached, or when a queue runs
 *         and @p features differ; ::XCV_ENOTSUP when @p features has a bit the device did not
 *         offer or one of ::XCV_VDEV_HOST_UNSUPPORTED, lacks VERSION_1, or the model refused
 *         them (nothing changed).
 */
int xcv_vdev_host_set_features(struct xcv_vdev *dev, uint64_t features);

/**
 * @brief Start queue @p q over rings the driver placed (host transport). The rings are checked
 * (alignment, inside one window of @c hq->mem) as xcv_vq_device_init() does; the queue then
 * starts at the given positions and xcv_vdev_queue() returns it. The first started queue sets
 * DRIVER_OK (and calls the model's status callback).
 *
 * @return ::XCV_OK; ::XCV_EINVAL for NULL, a bad memory map, or a size that is not a power of
 *         two or exceeds the queue's maximum; ::XCV_EPROTO_LAYOUT for misaligned rings;
 *         ::XCV_EPROTO_WINDOW or ::XCV_EPROTO_OVERFLOW for rings outside the windows;
 *         ::XCV_ENODEV for no such queue; ::XCV_ESTATE when not attached, features are not
 *         negotiated, or the queue runs. On error the queue stays stopped.
 */
int xcv_vdev_host_start_queue(struct xcv_vdev *dev, uint16_t q,
                              const struct xcv_vdev_host_queue *hq);

/**
 * @brief Stop queue @p q and return where it stopped (host transport; vhost-user's
 * GET_VRING_BASE). The model's kept chains on it, if any, are lost (the models in this library
 * keep none across calls). xcv_vdev_queue() returns NULL for it afterwards.
 *
 * @param dev The device.
 * @param q The queue.
 * @param[out] next_avail The next available entry the queue would have popped (may be NULL).
 * @return ::XCV_OK; ::XCV_EINVAL for NULL; ::XCV_ENODEV for no such queue; ::XCV_ESTATE when
 *         the queue is not running.
 */
int xcv_vdev_host_stop_queue(struct xcv_vdev *dev, uint16_t q, uint16_t *next_avail);

/**
 * @brief The driver kicked queue @p q (host transport, from the kick doorbell): the model's
 * notify callback handles it. A queue that the driver broke raises NEEDS_RESET.
 *
 * @return ::XCV_OK; ::XCV_EINVAL for NULL; ::XCV_ENODEV when @p q does not exist or is not
 *         running (a stale kick: nothing done); the queue's protocol error when it is broken
 *         (the transport should report it and drop the driver).
 */
int xcv_vdev_host_kick(struct xcv_vdev *dev, uint16_t q);

/**
 * @brief Reset the device (host transport): every queue stops, features and status are
 * cleared, and the model's reset callback drops what it kept. Does nothing for NULL or a
 * device on a channel.
 */
void xcv_vdev_host_reset(struct xcv_vdev *dev);

/**
 * @brief Copy [@p off, @p off + @p len) of the config space into @p buf (host transport).
 * @return ::XCV_OK; ::XCV_EINVAL for NULL (with @p len > 0) or a range beyond the config size.
 */
int xcv_vdev_host_read_config(const struct xcv_vdev *dev, uint32_t off, void *buf, uint32_t len);

/**
 * @brief The driver writes [@p off, @p off + @p len) of the config space (host transport); the
 * model's config_write callback sees it.
 * @return ::XCV_OK; ::XCV_EINVAL for NULL (with @p len > 0), a range beyond the config size or
 *         outside the declared driver-writable part (nothing changed); ::XCV_ESTATE when not
 *         attached.
 */
int xcv_vdev_host_write_config(struct xcv_vdev *dev, uint32_t off, const void *buf, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_VDEV_H */
