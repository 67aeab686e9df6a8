/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file dev_console.h
 * @brief virtio-console (virtio 1.2, section 5.3), one port: a device model with a byte
 *        backend (device role) and a driver that sends and receives bytes (driver role).
 *
 * Queue 0 is receiveq (device to driver: the driver posts device-writable buffers), queue 1 is
 * transmitq (driver to device: device-readable buffers). The console size (cols, rows) is in
 * config space with VIRTIO_CONSOLE_F_SIZE. MULTIPORT and EMERG_WRITE are not offered.
 */
#ifndef XCVIRTIO_DEV_CONSOLE_H
#define XCVIRTIO_DEV_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/vdev.h"
#include "xcvirtio/vdrv.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Feature: cols and rows in config space are valid (virtio 1.2, 5.3.3). */
#define XCV_VIRTIO_CONSOLE_F_SIZE 0u
/** @brief Config offset of le16 cols. */
#define XCV_VIRTIO_CONSOLE_CFG_COLS 0u
/** @brief Config offset of le16 rows. */
#define XCV_VIRTIO_CONSOLE_CFG_ROWS 2u
/** @brief Config bytes exposed (cols, rows, max_nr_ports, emerg_wr). */
#define XCV_VIRTIO_CONSOLE_CFG_SIZE 12u
/** @brief Queue index of receiveq (port 0). */
#define XCV_CONSOLE_RXQ 0u
/** @brief Queue index of transmitq (port 0). */
#define XCV_CONSOLE_TXQ 1u
/** @brief Longest chain the console model accepts. */
#define XCV_CONSOLE_MAX_CHAIN 16u
/** @brief Queue size of both console queues (model offer and driver size). */
#define XCV_CONSOLE_QUEUE 64u

/* ============================== device role ============================== */

/** @brief Console backend (device role). */
struct xcv_console_backend_ops {
    /**
     * @brief Required: the driver wrote @p len bytes. @p buf points into the shared window:
     * copy the bytes, do not keep the pointer.
     * @return 0 or a negative ::xcv_err (the bytes are then dropped; the chain is still used).
     */
    int (*write)(void *ctx, const uint8_t *buf, uint32_t len);
    /** @brief Optional: the driver posted receive buffers (xcv_console_dev_feed() can deliver). */
    void (*rx_ready)(void *ctx);
};

/** @brief Console model configuration. Read during xcv_console_dev_init() only. */
struct xcv_console_dev_config {
    const struct xcv_console_backend_ops *ops; /**< Backend (required). */
    void *ctx;                                 /**< Passed to the backend. */
    uint16_t cols;   /**< Console width (with @c rows != 0 offers F_SIZE). */
    uint16_t rows;   /**< Console height. */
    unsigned budget; /**< Transmit chains handled per notification; 0 = queue size. */
};

/** @brief Counters of a console model. */
struct xcv_console_dev_stats {
    uint64_t tx_bytes; /**< Bytes passed to the backend. */
    uint64_t rx_bytes; /**< Bytes delivered to the driver. */
    uint64_t rejected; /**< Chains with the wrong direction (used length 0). */
};

/** @brief A virtio-console model. Caller-allocated; fields are private. */
struct xcv_console_dev {
    struct xcv_vdev vdev;                               /**< @private */
    struct xcv_vdev_queue queues[2];                    /**< @private */
    struct xcv_vq_dev_slot slots[2][XCV_CONSOLE_QUEUE]; /**< @private */
    struct xcv_iov iov[XCV_CONSOLE_MAX_CHAIN];          /**< @private */
    uint8_t config[XCV_VIRTIO_CONSOLE_CFG_SIZE];        /**< @private */
    const struct xcv_console_backend_ops *ops;          /**< @private */
    void *ctx;                                          /**< @private */
    unsigned budget;                                    /**< @private */
    bool pending;                                       /**< @private */
    struct xcv_console_dev_stats stats;                 /**< @private */
};

/**
 * @brief Initialise a console model and register it (device id 3) on a device-role channel,
 * or, with @p ch NULL, prepare it for a host transport such as vhost-user (see
 * xcv_vdev_host_attach()).
 * @return The device number (>= 0), ::XCV_EINVAL, or ::XCV_ENOSPC.
 */
int xcv_console_dev_init(struct xcv_console_dev *c, struct xcv_channel *ch,
                         const struct xcv_console_dev_config *cfg);

/**
 * @brief Deliver input bytes to the driver through its posted receive buffers (device role).
 * Never blocks: what does not fit in the buffers available now is left to the caller.
 * @return Bytes delivered (0 .. @p len; 0 also when the driver has not set up the queue), or
 *         a ring error (queue broken, NEEDS_RESET raised).
 */
int xcv_console_dev_feed(struct xcv_console_dev *c, const void *buf, uint32_t len);

/**
 * @brief Handle up to @p budget transmit chains (device role); called on every transmit kick,
 * and by the caller while xcv_console_dev_pending() is true.
 * @return Chains handled, ::XCV_ENODEV, or a ring error.
 */
int xcv_console_dev_run(struct xcv_console_dev *c, unsigned budget);

/** @brief True when the last transmit run stopped on its budget. */
bool xcv_console_dev_pending(const struct xcv_console_dev *c);

/**
 * @brief Change the console size and tell the driver (config change event).
 * @return ::XCV_OK or a channel error.
 */
int xcv_console_dev_set_size(struct xcv_console_dev *c, uint16_t cols, uint16_t rows);

/** @brief The model's counters. */
const struct xcv_console_dev_stats *xcv_console_dev_stats(const struct xcv_console_dev *c);

/* ============================== driver role ============================== */

/** @brief Console driver configuration. Read during xcv_console_drv_open() /
 * xcv_console_drv_open_on() only. */
struct xcv_console_drv_config {
    uint16_t dev_num;      /**< Device number on the channel (channel transport only). */
    struct xcv_pool *pool; /**< Pool for receive and transmit buffers (caller-owned). */
    uint16_t rx_buffers;   /**< Receive buffers kept posted (1 .. 64; 0 = 16). */
};

/** @brief A virtio-console driver. Caller-allocated; fields are private. */
struct xcv_console_drv {
    struct xcv_vdrv vdrv;                               /**< @private */
    struct xcv_vdrv_queue queues[2];                    /**< @private */
    struct xcv_vq_drv_slot slots[2][XCV_CONSOLE_QUEUE]; /**< @private */
    struct xcv_pool *pool;                              /**< @private */
    uint8_t *cur;                                       /**< @private receive buffer being read */
    uint32_t cur_len;                                   /**< @private bytes in it */
    uint32_t cur_off;                                   /**< @private bytes already returned */
    uint16_t rx_want;                                   /**< @private */
};

/**
 * @brief Open a console device on a channel (driver role) and post the receive buffers:
 * xcv_console_drv_open_on() with xcv_vdrv_channel_transport().
 * @return ::XCV_OK, ::XCV_EINVAL, ::XCV_ENOMEM (pool empty), or an error of xcv_vdrv_open().
 */
int xcv_console_drv_open(struct xcv_console_drv *d, struct xcv_channel *ch,
                         const struct xcv_console_drv_config *cfg);

/**
 * @brief Open a console device on any driver transport (a channel, a virtio-mmio device) and
 * post the receive buffers (driver role), as xcv_console_drv_open() does on a channel.
 *
 * Works with legacy (version 1) virtio-mmio devices too: the byte streams have no format that
 * depends on VIRTIO_F_VERSION_1, and the size fields are read through the transport's config
 * accesses. The later calls never block and never poll the transport: the caller's loop does
 * (on virtio-mmio, xcv_vdrv_poll() on the driver's @c vdrv acknowledges InterruptStatus).
 *
 * @param d Caller-owned driver object.
 * @param t The transport (copied; its object must outlive @p d).
 * @param cfg Configuration (@c dev_num is used on a channel only; the pool stays caller-owned
 *            and its buffers must be reachable by the device).
 * @return ::XCV_OK, ::XCV_EINVAL (also for a NULL or incomplete transport), ::XCV_ENOMEM (pool
 *         empty), or an error of xcv_vdrv_open_on().
 */
int xcv_console_drv_open_on(struct xcv_console_drv *d, const struct xcv_vdrv_transport *t,
                            const struct xcv_console_drv_config *cfg);

/**
 * @brief Queue bytes for output (never blocks). Reclaims finished transmit buffers first.
 * @return Bytes queued (may be less than @p len when the pool or ring is full), or a negative
 *         ::xcv_err (::XCV_ENODEV when not open, a ring error).
 */
int xcv_console_drv_write(struct xcv_console_drv *d, const void *buf, uint32_t len);

/**
 * @brief Take received bytes (never blocks); reposts each receive buffer once it is emptied.
 * @return Bytes copied into @p buf (0 when none), or a negative ::xcv_err.
 */
int xcv_console_drv_read(struct xcv_console_drv *d, void *buf, uint32_t cap);

/**
 * @brief Reset the device and return every driver buffer to the pool (driver role): the posted
 * receive and transmit buffers, and the receive buffer being read (bytes not yet read from it
 * are dropped). The driver can be opened again with xcv_console_drv_open() /
 * xcv_console_drv_open_on().
 * @return ::XCV_OK; ::XCV_EINVAL for a NULL driver; or the error of the reset request
 *         (buffers are returned regardless).
 */
int xcv_console_drv_reset(struct xcv_console_drv *d);

/**
 * @brief Read the console size from config space.
 * @return ::XCV_OK, ::XCV_ENOTSUP (F_SIZE not negotiated), or a config read error.
 */
int xcv_console_drv_get_size(struct xcv_console_drv *d, uint16_t *cols, uint16_t *rows);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_DEV_CONSOLE_H */
