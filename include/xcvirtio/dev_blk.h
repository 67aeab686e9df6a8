/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file dev_blk.h
 * @brief virtio-blk (virtio 1.2, section 5.2): a device model with a backend interface and a
 *        memory backend (device role), and a small request driver (driver role).
 *
 * Device role: xcv_blk_dev_init() registers a block device (id 2) on a device-role channel.
 * When the driver kicks the request queue, the model pops chains with xcv_vq_device_process()
 * and a budget, copies each 16-byte request header into local memory once, validates it
 * (type, sector range with overflow checks, data lengths, readable/writable layout, the status
 * byte) and only then calls the backend. A request the model cannot accept is completed with
 * ::XCV_VIRTIO_BLK_S_IOERR or ::XCV_VIRTIO_BLK_S_UNSUPP in its status byte; a chain without a
 * writable byte for the status is completed with a used length of 0. Nothing outside the chain
 * or outside the backend's capacity is ever accessed.
 *
 * Driver role: xcv_blk_drv_open() opens a block device over a driver-role channel (and
 * xcv_blk_drv_open_on() over any transport, virtio-mmio included); requests
 * (caller-owned ::xcv_blk_req objects) are submitted with a token-like pointer and completed by
 * polling xcv_blk_drv_complete(). The header and status byte of each request come from a
 * buffer pool in the window; data buffers are the caller's (bus addresses, zero copy), or the
 * synchronous helpers copy through the same pool.
 */
#ifndef XCVIRTIO_DEV_BLK_H
#define XCVIRTIO_DEV_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/vdev.h"
#include "xcvirtio/vdrv.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name virtio-blk feature bits (virtio 1.2, 5.2.3)
 *  @{ */
#define XCV_VIRTIO_BLK_F_SIZE_MAX 1u      /**< size_max holds the largest segment size. */
#define XCV_VIRTIO_BLK_F_SEG_MAX 2u       /**< seg_max holds the most data segments. */
#define XCV_VIRTIO_BLK_F_RO 5u            /**< The device is read-only. */
#define XCV_VIRTIO_BLK_F_BLK_SIZE 6u      /**< blk_size holds the logical block size. */
#define XCV_VIRTIO_BLK_F_FLUSH 9u         /**< The device handles VIRTIO_BLK_T_FLUSH. */
#define XCV_VIRTIO_BLK_F_DISCARD 13u      /**< The device handles VIRTIO_BLK_T_DISCARD. */
#define XCV_VIRTIO_BLK_F_WRITE_ZEROES 14u /**< The device handles VIRTIO_BLK_T_WRITE_ZEROES. */
/** @} */

/** @name Request types (virtio 1.2, 5.2.6)
 *  @{ */
#define XCV_VIRTIO_BLK_T_IN 0u            /**< Read sectors into device-writable data. */
#define XCV_VIRTIO_BLK_T_OUT 1u           /**< Write sectors from device-readable data. */
#define XCV_VIRTIO_BLK_T_FLUSH 4u         /**< Make completed writes durable. */
#define XCV_VIRTIO_BLK_T_GET_ID 8u        /**< Read the 20-byte device id string. */
#define XCV_VIRTIO_BLK_T_DISCARD 11u      /**< Discard ranges (readable segment array). */
#define XCV_VIRTIO_BLK_T_WRITE_ZEROES 13u /**< Zero ranges (readable segment array). */
/** @} */

/** @name Request status values (virtio 1.2, 5.2.6)
 *  @{ */
#define XCV_VIRTIO_BLK_S_OK 0u     /**< Success. */
#define XCV_VIRTIO_BLK_S_IOERR 1u  /**< Device or driver error. */
#define XCV_VIRTIO_BLK_S_UNSUPP 2u /**< Unsupported request. */
/** @} */

/** @brief Bytes of a sector: the unit of every sector number and capacity. */
#define XCV_VIRTIO_BLK_SECTOR_SIZE 512u
/** @brief Bytes of the request header (type, reserved, sector). */
#define XCV_VIRTIO_BLK_HDR_SIZE 16u
/** @brief Bytes of the id string returned by VIRTIO_BLK_T_GET_ID. */
#define XCV_VIRTIO_BLK_ID_BYTES 20u
/** @brief Bytes of one discard / write-zeroes segment (sector, num_sectors, flags). */
#define XCV_VIRTIO_BLK_DWZ_SEG_SIZE 16u
/** @brief The unmap flag of a discard / write-zeroes segment. */
#define XCV_VIRTIO_BLK_WZ_F_UNMAP 1u

/** @name Config space offsets (virtio 1.2, 5.2.4; little-endian)
 *  @{ */
#define XCV_VIRTIO_BLK_CFG_CAPACITY 0u             /**< le64 capacity in 512-byte sectors. */
#define XCV_VIRTIO_BLK_CFG_SIZE_MAX 8u             /**< le32 size_max. */
#define XCV_VIRTIO_BLK_CFG_SEG_MAX 12u             /**< le32 seg_max. */
#define XCV_VIRTIO_BLK_CFG_BLK_SIZE 20u            /**< le32 blk_size. */
#define XCV_VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36u /**< le32 max_discard_sectors. */
#define XCV_VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40u     /**< le32 max_discard_seg. */
#define XCV_VIRTIO_BLK_CFG_DISCARD_ALIGN 44u       /**< le32 discard_sector_alignment. */
#define XCV_VIRTIO_BLK_CFG_MAX_WZ_SECTORS 48u      /**< le32 max_write_zeroes_sectors. */
#define XCV_VIRTIO_BLK_CFG_MAX_WZ_SEG 52u          /**< le32 max_write_zeroes_seg. */
#define XCV_VIRTIO_BLK_CFG_WZ_MAY_UNMAP 56u        /**< u8 write_zeroes_may_unmap. */
#define XCV_VIRTIO_BLK_CFG_SIZE 60u                /**< Bytes of config space this model exposes. */
/** @} */

/** @brief Longest request chain the device model accepts (header + data + status). */
#define XCV_BLK_DEV_MAX_CHAIN 64u
/** @brief Largest request queue size the device model offers. */
#define XCV_BLK_DEV_MAX_QUEUE 256u

/* ============================== device role ============================== */

/**
 * @brief A block backend: the storage behind a device model (device role).
 *
 * The model calls these only for requests it has validated: every range lies inside the
 * capacity given at init and every data segment list covers exactly @p nsec sectors. The
 * segments point into the shared window: the backend copies from (write) or into (read) them
 * and must not keep the pointers after it returns. Each function returns 0, or a negative
 * ::xcv_err: ::XCV_ENOTSUP completes the request with UNSUPP, anything else with IOERR.
 * Calls are synchronous, on the thread that polls the channel.
 */
struct xcv_blk_backend_ops {
    /** @brief Required: read @p nsec sectors from @p sector into the segments. */
    int (*read)(void *ctx, uint64_t sector, uint32_t nsec, const struct xcv_iov *iov, unsigned n);
    /** @brief Required unless read-only: write @p nsec sectors at @p sector from the segments. */
    int (*write)(void *ctx, uint64_t sector, uint32_t nsec, const struct xcv_iov *iov, unsigned n);
    /** @brief Optional: make completed writes durable (NULL: nothing to do). */
    int (*flush)(void *ctx);
    /** @brief Optional: discard @p nsec sectors (NULL: discard is not offered). */
    int (*discard)(void *ctx, uint64_t sector, uint32_t nsec);
    /** @brief Optional: zero @p nsec sectors (NULL: write zeroes is not offered). */
    int (*write_zeroes)(void *ctx, uint64_t sector, uint32_t nsec, bool unmap);
};

/**
 * @brief A memory backend: the disk is caller-provided memory (a RAM disk, a flash mapping).
 * Fill @c base and @c size, then pass ::xcv_blk_mem_ops and a pointer to this object.
 */
struct xcv_blk_mem {
    uint8_t *base; /**< The disk's bytes (caller-owned, outlives the device). */
    uint64_t size; /**< Bytes; the capacity is size / 512 sectors. */
};

/** @brief The ops of the memory backend (context: a ::xcv_blk_mem). Discard zeroes. */
extern const struct xcv_blk_backend_ops xcv_blk_mem_ops;

/** @brief Device model configuration. Read during xcv_blk_dev_init() only. */
struct xcv_blk_dev_config {
    uint64_t capacity;                     /**< Disk size in 512-byte sectors (must be > 0). */
    const struct xcv_blk_backend_ops *ops; /**< Backend (required). */
    void *backend_ctx;                     /**< Passed to every backend call. */
    uint16_t queue_size;          /**< Largest queue size offered (power of two, 0 = 256). */
    unsigned budget;              /**< Requests handled per notification; 0 = queue size. */
    uint32_t blk_size;            /**< Logical block size to advertise (BLK_SIZE); 0 = none. */
    uint32_t size_max;            /**< Largest data segment to advertise (SIZE_MAX); 0 = none. */
    bool read_only;               /**< Offer RO and fail every write with IOERR. */
    bool flush;                   /**< Offer FLUSH (backend flush may still be NULL). */
    uint32_t max_discard_sectors; /**< Per-segment discard limit; 0 = no limit. */
    uint32_t max_discard_seg;     /**< Segments per discard; 0 = 1. */
    uint32_t max_write_zeroes_sectors; /**< Per-segment write-zeroes limit; 0 = no limit. */
    uint32_t max_write_zeroes_seg;     /**< Segments per write zeroes; 0 = 1. */
    const char *id;                    /**< Id string for GET_ID (up to 20 bytes), or NULL. */
    uint64_t ring_features; /**< Extra ring features to offer (EVENT_IDX, INDIRECT_DESC). */
};

/** @brief Counters of a device model (device role), for diagnostics and tests. */
struct xcv_blk_dev_stats {
    uint64_t requests; /**< Requests completed, any status. */
    uint64_t ioerr;    /**< Completed with IOERR. */
    uint64_t unsupp;   /**< Completed with UNSUPP. */
    uint64_t dropped;  /**< Chains without a status byte (used length 0). */
};

/** @brief A virtio-blk device model. Caller-allocated (static is fine); fields are private. */
struct xcv_blk_dev {
    struct xcv_vdev vdev;                                /**< @private */
    struct xcv_vdev_queue queue;                         /**< @private */
    struct xcv_vq_dev_slot slots[XCV_BLK_DEV_MAX_QUEUE]; /**< @private */
    struct xcv_iov iov[XCV_BLK_DEV_MAX_CHAIN];           /**< @private chain scratch */
    struct xcv_iov data[XCV_BLK_DEV_MAX_CHAIN];          /**< @private data segments of a request */
    uint8_t config[XCV_VIRTIO_BLK_CFG_SIZE]; /**< @private config space (model-written) */
    uint8_t id[XCV_VIRTIO_BLK_ID_BYTES];     /**< @private */
    const struct xcv_blk_backend_ops *ops;   /**< @private */
    void *backend_ctx;                       /**< @private */
    uint64_t capacity;                       /**< @private trusted copy */
    uint32_t max_discard_sectors;            /**< @private */
    uint32_t max_discard_seg;                /**< @private */
    uint32_t max_wz_sectors;                 /**< @private */
    uint32_t max_wz_seg;                     /**< @private */
    unsigned budget;                         /**< @private */
    bool read_only;                          /**< @private */
    bool pending;                            /**< @private budget ran out */
    struct xcv_blk_dev_stats stats;          /**< @private */
};

/**
 * @brief Initialise a block device model and register it on a device-role channel.
 *
 * Offers VERSION_1, SEG_MAX, and as configured BLK_SIZE, SIZE_MAX, RO, FLUSH, DISCARD (backend
 * discard set) and WRITE_ZEROES (backend write_zeroes set). The config space is kept inside
 * @p b; the driver cannot change it (config writes are undone: no field is driver-writable).
 *
 * @param b Caller-owned model object; must outlive the channel registration.
 * @param ch A device-role channel, or NULL for a device served by a host transport such as
 *           vhost-user (see xcv_vdev_host_attach()).
 * @param cfg Configuration.
 * @return The device number (>= 0); ::XCV_EINVAL for a bad configuration; ::XCV_ENOSPC when
 *         the channel has no free device slot.
 */
int xcv_blk_dev_init(struct xcv_blk_dev *b, struct xcv_channel *ch,
                     const struct xcv_blk_dev_config *cfg);

/**
 * @brief Handle up to @p budget pending requests (device role). The model calls this itself on
 * every kick; call it from the event loop while xcv_blk_dev_pending() is true (the budget ran
 * out and no further kick will come for the requests already queued).
 * @return Requests handled (>= 0); ::XCV_ENODEV when the queue is not set up; a negative
 *         ::xcv_err from the ring (the queue is then broken and NEEDS_RESET is raised).
 */
int xcv_blk_dev_run(struct xcv_blk_dev *b, unsigned budget);

/** @brief True when the last run stopped on its budget with requests possibly left. */
bool xcv_blk_dev_pending(const struct xcv_blk_dev *b);

/** @brief The model's counters (device role). */
const struct xcv_blk_dev_stats *xcv_blk_dev_stats(const struct xcv_blk_dev *b);

/** @brief The device behind the model, for xcv_vdev_* calls. */
struct xcv_vdev *xcv_blk_dev_vdev(struct xcv_blk_dev *b);

/* ============================== driver role ============================== */

/** @brief Bytes each request takes from the driver's pool (header, status, GET_ID bytes). */
#define XCV_BLK_DRV_META_BYTES 64u

/**
 * @brief One request (driver role). Caller-owned; it belongs to the driver from
 * xcv_blk_drv_submit() until xcv_blk_drv_complete() returns it.
 */
struct xcv_blk_req {
    void *user;        /**< Caller's value, untouched by the driver. */
    int result;        /**< On completion: ::XCV_OK, ::XCV_EIO (IOERR), ::XCV_ENOTSUP (UNSUPP),
                            ::XCV_ECANCELED / ::XCV_EPEERRESET (reclaimed by a reset), or
                            ::XCV_EPROTO_DEVICE (the device wrote an invalid status). */
    uint32_t used_len; /**< On completion: bytes the device reported written. */
    uint8_t id[XCV_VIRTIO_BLK_ID_BYTES]; /**< On completion of GET_ID: the id string (not
                                              necessarily NUL-terminated). */
    uint32_t type;                       /**< @private */
    uint8_t *meta;            /**< @private pool buffer: header at 0, status at 16, id at 32 */
    uint64_t meta_bus;        /**< @private */
    struct xcv_blk_req *next; /**< @private cancelled list */
};

/** @brief Driver configuration. Read during xcv_blk_drv_open() only. */
struct xcv_blk_drv_config {
    uint16_t dev_num;      /**< Device number on the channel. */
    struct xcv_pool *pool; /**< Pool in the window for headers (and sync-helper data);
                                buffers of >= ::XCV_BLK_DRV_META_BYTES (caller-owned). */
    uint16_t queue_size;   /**< Wanted queue size (power of two, <= 256; 0 = 128). */
    uint64_t features;     /**< Features to accept; 0 = all this driver knows. */
    uint16_t indirect_max; /**< Descriptors per indirect table when INDIRECT_DESC is
                                negotiated (0 = no indirect; needs queue_size * this * 16
                                bytes of the channel's queue area). */
};

/** @brief A virtio-blk driver. Caller-allocated; fields are private. */
struct xcv_blk_drv {
    struct xcv_vdrv vdrv;                                /**< @private */
    struct xcv_vdrv_queue queue;                         /**< @private */
    struct xcv_vq_drv_slot slots[XCV_BLK_DEV_MAX_QUEUE]; /**< @private */
    struct xcv_pool *pool;                               /**< @private */
    struct xcv_blk_req *cancelled; /**< @private completed by a reset, not yet returned */
    uint64_t capacity;             /**< @private */
    uint32_t blk_size;             /**< @private */
    uint32_t seg_max;              /**< @private */
    uint32_t size_max;             /**< @private */
};

/**
 * @brief Open a block device (driver role): negotiate, set up the queue, read the config.
 * @param b Caller-owned driver object.
 * @param ch A driver-role channel.
 * @param cfg Configuration.
 * @return ::XCV_OK or an error of xcv_vdrv_open() / xcv_vdrv_read_config(); ::XCV_EINVAL for a
 *         bad configuration; ::XCV_EPROTO_DEVICE for a zero capacity.
 */
int xcv_blk_drv_open(struct xcv_blk_drv *b, struct xcv_channel *ch,
                     const struct xcv_blk_drv_config *cfg);

/**
 * @brief Open a block device on any driver transport (a channel, a virtio-mmio device), as
 * xcv_blk_drv_open() does on a channel. Works with legacy (version 1) virtio-mmio devices too:
 * the request format does not depend on VIRTIO_F_VERSION_1, and the header and status byte
 * always travel in descriptors of their own.
 * @param b Caller-owned driver object.
 * @param t The transport (copied; its object must outlive @p b).
 * @param cfg Configuration (@c dev_num is used on a channel only; the pool's buffers, and the
 *            data buffers given to xcv_blk_drv_submit(), must be reachable by the device).
 * @return As xcv_blk_drv_open().
 */
int xcv_blk_drv_open_on(struct xcv_blk_drv *b, const struct xcv_vdrv_transport *t,
                        const struct xcv_blk_drv_config *cfg);

/** @brief Capacity in 512-byte sectors, as read at open. */
uint64_t xcv_blk_drv_capacity(const struct xcv_blk_drv *b);

/** @brief The negotiated features. */
uint64_t xcv_blk_drv_features(const struct xcv_blk_drv *b);

/**
 * @brief Post one request (not yet published: call xcv_blk_drv_kick()).
 *
 * @param b The driver.
 * @param req Caller-owned request object.
 * @param type A request type: IN and GET_ID take device-writable data, OUT, DISCARD and
 *             WRITE_ZEROES device-readable data, FLUSH none. For GET_ID pass no data: the id
 *             lands in the request's @c id on completion.
 * @param sector First sector (IN, OUT).
 * @param data Data segments (bus addresses in the window), or NULL when @p n_data is 0.
 * @param n_data Number of data segments.
 * @return ::XCV_OK; ::XCV_EINVAL (bad type, a data length not a multiple of 512 for IN/OUT,
 *         a range past the capacity); ::XCV_ENOTSUP (the feature was not negotiated);
 *         ::XCV_ENOMEM (pool empty); ::XCV_ENOSPC (queue full); ::XCV_ENODEV (not open).
 */
int xcv_blk_drv_submit(struct xcv_blk_drv *b, struct xcv_blk_req *req, uint32_t type,
                       uint64_t sector, const struct xcv_sg *data, unsigned n_data);

/** @brief Publish submitted requests and notify the device when it wants it. */
int xcv_blk_drv_kick(struct xcv_blk_drv *b);

/**
 * @brief Take one completed request (never blocks). Its pool buffer is returned to the pool.
 * Requests reclaimed by a device reset or a peer restart come back here too, with @c result
 * ::XCV_ECANCELED or ::XCV_EPEERRESET: nothing is lost silently.
 * @param b The driver.
 * @param[out] req The completed request, with @c result and @c used_len set.
 * @return ::XCV_OK; ::XCV_EAGAIN when none is complete; a protocol error when the queue broke.
 */
int xcv_blk_drv_complete(struct xcv_blk_drv *b, struct xcv_blk_req **req);

/**
 * @brief Reset the device (driver role). Every request in flight is completed with
 * ::XCV_ECANCELED: xcv_blk_drv_complete() hands each back once (its header buffer is back in
 * the pool already), and then the caller owns it and its data buffers again. The driver can be
 * opened again.
 * @return ::XCV_OK; ::XCV_EINVAL for a NULL driver; or the error of the reset request
 *         (requests are cancelled regardless).
 */
int xcv_blk_drv_reset(struct xcv_blk_drv *b);

/**
 * @brief Synchronous read or write of @p len bytes (a multiple of 512) at @p sector, copying
 * through pool buffers; polls the transport while waiting, bounded by its timeout.
 * @param b The driver.
 * @param write True for OUT, false for IN.
 * @param sector First sector.
 * @param buf Local buffer (read: filled; write: source), caller-owned.
 * @param len Bytes, a multiple of 512 that fits in the pool buffers available.
 * On a timeout the device is reset (so the pool buffers come back and the local request can
 * go out of scope); other requests in flight then complete with ::XCV_ECANCELED.
 * @return ::XCV_OK, the request's error, ::XCV_ENOMEM, ::XCV_ETIMEDOUT, or a submit error.
 */
int xcv_blk_drv_rw_sync(struct xcv_blk_drv *b, bool write, uint64_t sector, void *buf,
                        uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_DEV_BLK_H */
