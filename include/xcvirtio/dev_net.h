/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file dev_net.h
 * @brief virtio-net (virtio 1.2, section 5.1): a network device model with a backend interface
 *        (device role), and a frame driver with receive-buffer refill (driver role).
 *
 * The device has two queues: receiveq (0) and transmitq (1). Every buffer starts with the
 * 12-byte ::xcv_net_hdr (VERSION_1 layout). Checksum and GSO fields are carried unchanged from
 * the transmit chain to the backend and from the backend to the receive buffers: the model
 * never interprets them.
 *
 * Device role: xcv_net_dev_init() registers a network device (id 1). When the driver kicks the
 * transmitq, the model pops chains with a budget, copies each header into local memory once,
 * validates the chain (header readable and complete, no device-writable segment, frame length
 * within the limit) and only then calls the backend's @c transmit. The backend pushes received
 * frames with xcv_net_dev_deliver(). Hostile chains are completed with a used length of 0 and
 * counted; nothing outside a chain is ever accessed.
 *
 * Driver role: xcv_net_drv_open() opens the device over a driver-role channel (and
 * xcv_net_drv_open_on() over any transport, modern virtio-mmio included) and posts receive
 * buffers from a pool in the window; xcv_net_drv_send() and xcv_net_drv_receive() never block.
 * Every pool buffer comes back on a reset or a peer restart.
 */
#ifndef XCVIRTIO_DEV_NET_H
#define XCVIRTIO_DEV_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/pool.h"
#include "xcvirtio/vdev.h"
#include "xcvirtio/vdrv.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name virtio-net feature bits used here (virtio 1.2, 5.1.3)
 *  @{ */
#define XCV_VIRTIO_NET_F_MTU 3u        /**< mtu in the config space is valid. */
#define XCV_VIRTIO_NET_F_MAC 5u        /**< mac in the config space is valid. */
#define XCV_VIRTIO_NET_F_MRG_RXBUF 15u /**< A received frame may span several buffers. */
#define XCV_VIRTIO_NET_F_STATUS 16u    /**< status in the config space is valid. */
/** @} */

/** @name Config space offsets (virtio 1.2, 5.1.4; little-endian)
 *  @{ */
#define XCV_VIRTIO_NET_CFG_MAC 0u          /**< u8 mac[6]. */
#define XCV_VIRTIO_NET_CFG_STATUS 6u       /**< le16 status. */
#define XCV_VIRTIO_NET_CFG_MAX_VQ_PAIRS 8u /**< le16 max_virtqueue_pairs. */
#define XCV_VIRTIO_NET_CFG_MTU 10u         /**< le16 mtu. */
#define XCV_VIRTIO_NET_CFG_SIZE 12u        /**< Bytes of config space this model exposes. */
/** @} */

/** @brief Status bit: the link is up (5.1.4). */
#define XCV_VIRTIO_NET_S_LINK_UP 1u

/** @name Header flags and GSO types (5.1.6), carried unchanged by this library
 *  @{ */
#define XCV_VIRTIO_NET_HDR_F_NEEDS_CSUM 1u /**< The checksum at csum_start/offset is partial. */
#define XCV_VIRTIO_NET_HDR_F_DATA_VALID 2u /**< The checksum was validated. */
#define XCV_VIRTIO_NET_HDR_GSO_NONE 0u     /**< No segmentation offload. */
/** @} */

/** @brief Bytes of the virtio_net_hdr with VERSION_1 (num_buffers always present). */
#define XCV_VIRTIO_NET_HDR_SIZE 12u
/** @brief Ethernet header bytes added to the MTU for the default frame limit. */
#define XCV_NET_ETH_HLEN 14u
/** @brief MTU assumed when none is configured. */
#define XCV_NET_DEFAULT_MTU 1500u

/** @brief Queue index of the receiveq. */
#define XCV_NET_RXQ 0u
/** @brief Queue index of the transmitq. */
#define XCV_NET_TXQ 1u
/** @brief Longest chain the device model accepts on either queue. */
#define XCV_NET_DEV_MAX_CHAIN 16u
/** @brief Transmit chains the device model takes from the ring before handling them. */
#define XCV_NET_DEV_BURST 32u
/** @brief Largest queue size offered by the model, and largest the driver asks for. */
#define XCV_NET_MAX_QUEUE 256u
/** @brief Most receive buffers one frame may span (MRG_RXBUF), on both sides. */
#define XCV_NET_MAX_MRG 16u

/**
 * @brief The virtio_net_hdr in host byte order (the wire form is 12 little-endian bytes).
 * Callers fill or read it in local memory; the library converts it.
 */
struct xcv_net_hdr {
    uint8_t flags;        /**< XCV_VIRTIO_NET_HDR_F_* bits (passed through). */
    uint8_t gso_type;     /**< GSO type (passed through). */
    uint16_t hdr_len;     /**< Header length hint (passed through). */
    uint16_t gso_size;    /**< GSO segment size (passed through). */
    uint16_t csum_start;  /**< Checksum start (passed through). */
    uint16_t csum_offset; /**< Checksum offset (passed through). */
    uint16_t num_buffers; /**< Receive: buffers the frame spans (set by the device model).
                               Transmit: passed through as the driver wrote it. */
};

/**
 * @brief Decode a 12-byte wire header. Pass a private copy: the bytes are read field by field.
 * Either role may call it.
 */
void xcv_net_hdr_load(struct xcv_net_hdr *h, const uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE]);

/** @brief Encode @p h as the 12-byte little-endian wire header. Either role may call it. */
void xcv_net_hdr_store(uint8_t wire[XCV_VIRTIO_NET_HDR_SIZE], const struct xcv_net_hdr *h);

/**
 * @brief One frame of a burst to send (driver role) or deliver (device role). Everything it
 * points to is caller-owned local memory, read during the call only.
 */
struct xcv_net_frame {
    const struct xcv_net_hdr *hdr; /**< Header to carry; NULL for an all-zero header. */
    const void *data;              /**< Frame bytes (may be NULL when @c len is 0). */
    uint32_t len;                  /**< Frame bytes. */
};

/* ============================== device role ============================== */

/**
 * @brief A network backend (device role): where transmitted frames go.
 * Calls are synchronous, on the thread that polls the channel.
 */
struct xcv_net_backend_ops {
    /**
     * @brief Required: one validated transmitted frame.
     * @param ctx The context given at init.
     * @param hdr The frame's header: a local copy, valid for the call only.
     * @param frame_iov Segments of the frame (after the header) in the shared window; the backend
     *                  copies them out and must not keep the pointers after it returns (or,
     *                  with transmit_done, after that returns).
     * @param n Number of segments (0 for an empty frame).
     * @param len Frame bytes (sum of the segment lengths, within the frame limit).
     * @return 0, or a negative ::xcv_err (counted in tx_errors; the chain is completed anyway).
     */
    int (*transmit)(void *ctx, const struct xcv_net_hdr *hdr, const struct xcv_iov *frame_iov,
                    unsigned n, uint32_t len);
    /**
     * @brief Optional: the end of a burst of transmit calls (not called for a burst without
     * one). Until it returns, the memory the segments of the burst's transmit calls describe
     * stays valid (their chains are completed after it), so a backend may keep the entries
     * (base and len; the @c frame_iov array itself is reused from call to call: copy its
     * entries) and copy the frames out in one go here, e.g. straight into receive buffers with
     * xcv_net_dev_deliver_burst() (a forwarding device without an intermediate copy).
     */
    void (*transmit_done)(void *ctx);
    /** @brief Optional: the driver posted receive buffers (a deliver may now succeed). */
    void (*rx_ready)(void *ctx);
};

/** @brief Device model configuration. Read during xcv_net_dev_init() only. */
struct xcv_net_dev_config {
    const struct xcv_net_backend_ops *ops; /**< Backend (required). */
    void *backend_ctx;                     /**< Passed to every backend call. */
    uint8_t mac[6];                        /**< MAC address (offered with MAC). */
    uint16_t mtu;        /**< MTU to advertise (MTU feature, 68..65535); 0 = none. */
    uint32_t max_frame;  /**< Frame limit in bytes without the header; 0 = MTU + 14
                              (1500 + 14 without an MTU). */
    bool mrg_rxbuf;      /**< Offer MRG_RXBUF. */
    bool link_down;      /**< Start with the link down (STATUS is always offered). */
    uint16_t queue_size; /**< Largest queue size offered (power of two, 4..256; 0 = 256). */
    unsigned budget;     /**< Transmit chains handled per notification; 0 = queue size. */
    /**
     * Extra ring features to offer: EVENT_IDX, INDIRECT_DESC, RING_PACKED, IN_ORDER (a driver
     * that takes RING_PACKED must leave INDIRECT_DESC and IN_ORDER: packed rings here have no
     * indirect tables and are not in-order). The model uses every chain in the order it was
     * made available, so IN_ORDER costs it nothing; with it a transmit burst is completed with
     * one used entry.
     */
    uint64_t ring_features;
    /**
     * Busy-poll: the driver is asked not to notify, and a transmitq kick that comes anyway is
     * ignored (the model never runs from the channel's poll); the owner calls
     * xcv_net_dev_run() and retries xcv_net_dev_deliver_burst() from its loop.
     */
    bool polled;
};

/** @brief Counters of a device model (device role), for diagnostics and tests. */
struct xcv_net_dev_stats {
    uint64_t tx_frames;       /**< Frames handed to the backend. */
    uint64_t tx_bytes;        /**< Frame bytes handed to the backend. */
    uint64_t tx_errors;       /**< Backend transmit calls that returned an error. */
    uint64_t tx_dropped;      /**< Hostile transmit chains (short header, writable segment,
                                   oversize frame), completed with used length 0. */
    uint64_t rx_frames;       /**< Frames delivered into receive buffers. */
    uint64_t rx_bytes;        /**< Frame bytes delivered. */
    uint64_t rx_bad_chain;    /**< Hostile receive chains (readable segment, too short for the
                                   header), completed with used length 0. */
    uint64_t rx_dropped;      /**< Frames dropped: did not fit the buffers available. */
    uint64_t doorbell_errors; /**< Notifications of delivered frames the port failed to send
                                   (the frames were published). */
};

/** @brief A virtio-net device model. Caller-allocated (static is fine); fields are private. */
struct xcv_net_dev {
    struct xcv_vdev vdev;                               /**< @private */
    struct xcv_vdev_queue queues[2];                    /**< @private */
    struct xcv_vq_dev_slot rx_slots[XCV_NET_MAX_QUEUE]; /**< @private */
    struct xcv_vq_dev_slot tx_slots[XCV_NET_MAX_QUEUE]; /**< @private */
    struct xcv_chain tx_chain[XCV_NET_DEV_BURST];       /**< @private a transmit burst */
    struct xcv_iov tx_iov[XCV_NET_DEV_BURST * XCV_NET_DEV_MAX_CHAIN]; /**< @private */
    struct xcv_iov frame_iov[XCV_NET_DEV_MAX_CHAIN];                /**< @private frame segments */
    struct xcv_iov rx_iov[XCV_NET_MAX_MRG * XCV_NET_DEV_MAX_CHAIN]; /**< @private */
    uint16_t rx_head[XCV_NET_MAX_MRG];                              /**< @private */
    uint16_t rx_nin[XCV_NET_MAX_MRG];                               /**< @private */
    uint32_t rx_cap[XCV_NET_MAX_MRG];                               /**< @private writable bytes */
    uint8_t config[XCV_VIRTIO_NET_CFG_SIZE];                        /**< @private model-written */
    const struct xcv_net_backend_ops *ops;                          /**< @private */
    void *backend_ctx;                                              /**< @private */
    uint32_t max_frame;                                             /**< @private */
    unsigned budget;                                                /**< @private */
    bool pending;                                                   /**< @private */
    unsigned tx_calls;              /**< @private transmit calls in the burst being handled */
    struct xcv_net_dev_stats stats; /**< @private */
};

/**
 * @brief Initialise a network device model and register it on a device-role channel.
 *
 * Offers VERSION_1, MAC, STATUS, MTU (when @c mtu is set) and MRG_RXBUF (when asked). The
 * config space lives in @p n; driver writes to it are undone (no field is driver-writable).
 *
 * @param n Caller-owned model object; must outlive the channel registration.
 * @param ch A device-role channel, or NULL for a device served by a host transport such as
 *           vhost-user (see xcv_vdev_host_attach()).
 * @param cfg Configuration.
 * @return The device number (>= 0); ::XCV_EINVAL for a bad configuration; ::XCV_ENOSPC when
 *         the channel has no free device slot.
 */
int xcv_net_dev_init(struct xcv_net_dev *n, struct xcv_channel *ch,
                     const struct xcv_net_dev_config *cfg);

/**
 * @brief Handle up to @p budget transmit chains (device role). Called by the model on every
 * transmitq kick; call it again while xcv_net_dev_pending() is true. A polled model
 * (xcv_net_dev_config::polled) gets no kicks: its owner calls this from its loop.
 * @return Chains handled (>= 0); ::XCV_ENODEV when the queue is not set up; a negative ring
 *         error (the queue is broken and NEEDS_RESET is raised).
 */
int xcv_net_dev_run(struct xcv_net_dev *n, unsigned budget);

/** @brief True when the last transmit run stopped on its budget with chains possibly left. */
bool xcv_net_dev_pending(const struct xcv_net_dev *n);

/**
 * @brief Push one frame from the backend into the driver's receive buffers (device role).
 *
 * Writes the header (with @c num_buffers set by the model) and the frame. With MRG_RXBUF the
 * frame may spread over up to ::XCV_NET_MAX_MRG chains; without it one chain must hold the
 * header and the whole frame, or the frame is dropped (the chain is completed with used length
 * 0 and rx_dropped counts it). Chains with device-readable segments, or too short for the
 * header, are completed with used length 0 and counted in rx_bad_chain.
 *
 * @param n The model.
 * @param hdr Header to carry (caller-owned, read only); NULL for an all-zero header.
 * @param frame Frame bytes (caller-owned, local memory).
 * @param len Frame bytes, at most the frame limit.
 * @return ::XCV_OK (delivered); ::XCV_EAGAIN when no receive buffer is posted (nothing taken:
 *         retry after rx_ready); ::XCV_ENOMEM when the frame was dropped for lack of space;
 *         ::XCV_EINVAL (bad argument or @p len over the limit); ::XCV_ENODEV when the receiveq
 *         is not set up; a ring error (queue broken, NEEDS_RESET raised).
 */
int xcv_net_dev_deliver(struct xcv_net_dev *n, const struct xcv_net_hdr *hdr, const void *frame,
                        uint32_t len);

/**
 * @brief Push up to @p count frames into the driver's receive buffers, in order, and publish
 * them together: one used-index store and at most one notification for the burst (device
 * role).
 *
 * Each frame is handled as by xcv_net_dev_deliver(). The burst stops at the first frame that
 * is not delivered; that frame is left to the caller (not consumed) and its error is the
 * return value when it is the first of a call. A frame dropped for lack of space returns its
 * chains empty to the driver, so a retry that is dropped again loses no buffer.
 *
 * @param n The model.
 * @param frames @p count frames (caller-owned, read only).
 * @param count Frames to deliver.
 * @return Frames delivered (1..count), 0 for @p count 0, or the first frame's error as for
 *         xcv_net_dev_deliver() (::XCV_EAGAIN, ::XCV_ENOMEM, ::XCV_EINVAL, ::XCV_ENODEV, a ring
 *         error). Delivered frames are counted even when the doorbell fails afterwards (see
 *         xcv_net_dev_stats::doorbell_errors), so a caller never delivers a frame twice.
 */
int xcv_net_dev_deliver_burst(struct xcv_net_dev *n, const struct xcv_net_frame *frames,
                              unsigned count);

/**
 * @brief Set the link status (device role) and tell the driver (EVENT_CONFIG).
 * @return ::XCV_OK or an error from the channel.
 */
int xcv_net_dev_set_link(struct xcv_net_dev *n, bool up);

/** @brief The model's counters (device role). */
const struct xcv_net_dev_stats *xcv_net_dev_stats(const struct xcv_net_dev *n);

/** @brief The device behind the model, for xcv_vdev_* calls. */
struct xcv_vdev *xcv_net_dev_vdev(struct xcv_net_dev *n);

/* ============================== driver role ============================== */

/** @brief Driver configuration. Read during xcv_net_drv_open() / xcv_net_drv_open_on() only. */
struct xcv_net_drv_config {
    uint16_t dev_num;      /**< Device number on the channel (channel transport only). */
    struct xcv_pool *pool; /**< Pool in the window for receive and transmit buffers (caller-owned,
                                buffers of more than ::XCV_VIRTIO_NET_HDR_SIZE bytes). */
    uint16_t queue_size;   /**< Wanted queue size (power of two, <= 256; 0 = 64). */
    uint16_t rx_buffers;   /**< Receive buffers kept posted (0 = half the queue size). */
    uint64_t features;     /**< Features to accept; 0 = all this driver knows. */
    /**
     * Busy-poll: ask the device not to notify (used buffers are found by polling
     * xcv_net_drv_receive_burst() and by the reclaim in every send). The hint is renewed as
     * the rings advance, so no notification comes however long the stream runs.
     */
    bool polled;
};

/** @brief Counters of a driver. */
struct xcv_net_drv_stats {
    uint64_t rx_empty;   /**< Receive buffers the device returned without a frame (reposted). */
    uint64_t rx_dropped; /**< Frames dropped by the driver (malformed, or too big for the
                              caller). */
    uint64_t doorbell_errors; /**< Notifications of sent frames the port failed to send (the
                                   frames were published). */
};

/**
 * @brief A received frame lent in its pool buffer (driver role, zero copy): see
 * xcv_net_drv_receive_zc().
 */
struct xcv_net_rxref {
    void *buf;              /**< Out: the pool buffer, owned by the caller from now on. */
    uint8_t *data;          /**< Out: the frame's first byte (@c buf plus the header size). */
    uint32_t len;           /**< Out: frame bytes. */
    struct xcv_net_hdr hdr; /**< Out: the frame's header. */
};

/**
 * @brief A frame to send from a pool buffer without copying (driver role): see
 * xcv_net_drv_send_zc().
 */
struct xcv_net_txref {
    void *buf;                     /**< A buffer of the driver's pool, owned by the caller; the
                                        frame starts ::XCV_VIRTIO_NET_HDR_SIZE bytes in. */
    uint32_t len;                  /**< Frame bytes. */
    const struct xcv_net_hdr *hdr; /**< Header to write in front; NULL for all zero. */
};

/** @brief One receive slot of a burst (driver role). */
struct xcv_net_rxbuf {
    void *buf;              /**< In: caller-owned local memory the frame is copied to. */
    uint32_t cap;           /**< In: bytes at @c buf. */
    uint32_t len;           /**< Out: frame bytes. */
    struct xcv_net_hdr hdr; /**< Out: the frame's header. */
};

/** @brief A virtio-net driver. Caller-allocated; fields are private. */
struct xcv_net_drv {
    struct xcv_vdrv vdrv;                               /**< @private */
    struct xcv_vdrv_queue queues[2];                    /**< @private */
    struct xcv_vq_drv_slot rx_slots[XCV_NET_MAX_QUEUE]; /**< @private */
    struct xcv_vq_drv_slot tx_slots[XCV_NET_MAX_QUEUE]; /**< @private */
    struct xcv_pool *pool;                              /**< @private */
    void *held[XCV_NET_MAX_MRG];                        /**< @private buffers of a partial frame */
    uint32_t held_len[XCV_NET_MAX_MRG];                 /**< @private */
    unsigned n_held;                                    /**< @private */
    unsigned want;                                      /**< @private buffers of the frame */
    struct xcv_net_hdr cur_hdr;                         /**< @private header of that frame */
    unsigned rx_target;                                 /**< @private */
    unsigned rx_posted;                                 /**< @private */
    uint8_t mac[6];                                     /**< @private */
    uint16_t mtu;                                       /**< @private */
    int rx_err;                                         /**< @private error after a burst */
    bool mrg;                                           /**< @private MRG_RXBUF negotiated */
    bool polled;                                        /**< @private */
    uint16_t rx_hint_age;                               /**< @private frames since the hint */
    uint16_t tx_hint_age;                               /**< @private frames since the hint */
    struct xcv_net_drv_stats stats;                     /**< @private */
};

/**
 * @brief Open a network device on a channel (driver role): negotiate, set up both queues, read
 * the config, post the receive buffers. xcv_net_drv_open_on() with
 * xcv_vdrv_channel_transport().
 * @param d Caller-owned driver object.
 * @param ch A driver-role channel.
 * @param cfg Configuration.
 * @return ::XCV_OK; ::XCV_EINVAL for a bad configuration; an error of xcv_vdrv_open() or
 *         xcv_vdrv_read_config(); ::XCV_EPROTO_DEVICE for an MTU below 68.
 */
int xcv_net_drv_open(struct xcv_net_drv *d, struct xcv_channel *ch,
                     const struct xcv_net_drv_config *cfg);

/**
 * @brief Open a network device on any driver transport (a channel, a virtio-mmio device), as
 * xcv_net_drv_open() does on a channel (driver role).
 *
 * Every buffer carries the 12-byte header of VIRTIO_F_VERSION_1, so the device must offer
 * VERSION_1: a legacy (version 1) virtio-mmio device cannot, and is refused with ::XCV_ENOTSUP
 * after it was reset (no buffer is posted; the transport is free for another device object,
 * for example a caller's own ::xcv_vdrv with the legacy header). A channel always negotiates
 * VERSION_1. Packed rings are never negotiated on virtio-mmio.
 *
 * The later calls never block and never poll the transport: the caller's loop does (on a
 * channel xcv_channel_poll(); on virtio-mmio xcv_vdrv_poll() on the driver's @c vdrv, which
 * reads and acknowledges InterruptStatus).
 *
 * @param d Caller-owned driver object.
 * @param t The transport (copied; its object must outlive @p d).
 * @param cfg Configuration (@c dev_num is used on a channel only; the pool stays caller-owned
 *            and its buffers must be reachable by the device).
 * @return As xcv_net_drv_open() (an error of xcv_vdrv_open_on() in place of xcv_vdrv_open());
 *         ::XCV_EINVAL for a NULL or incomplete transport; ::XCV_ENOTSUP when VERSION_1 was not
 *         negotiated (a legacy virtio-mmio device).
 */
int xcv_net_drv_open_on(struct xcv_net_drv *d, const struct xcv_vdrv_transport *t,
                        const struct xcv_net_drv_config *cfg);

/**
 * @brief Post receive buffers from the pool until the target count is posted (driver role).
 * Called by open and receive; call it after the pool ran empty.
 * @return Buffers posted now (>= 0); ::XCV_ENODEV when not open; a ring error.
 */
int xcv_net_drv_refill(struct xcv_net_drv *d);

/**
 * @brief Send one frame (never blocks). The header and frame are copied into one pool buffer;
 * completed transmit buffers are reclaimed first.
 * @param d The driver.
 * @param hdr Header to send (caller-owned); NULL for an all-zero header.
 * @param frame Frame bytes (caller-owned).
 * @param len Frame bytes: at most the pool buffer size minus the header, and MTU + 14 when MTU
 *            was negotiated.
 * @return ::XCV_OK; ::XCV_EINVAL (too long, bad argument); ::XCV_ENOMEM (pool empty);
 *         ::XCV_ENOSPC (transmitq full); ::XCV_ENODEV (not open); a ring error.
 */
int xcv_net_drv_send(struct xcv_net_drv *d, const struct xcv_net_hdr *hdr, const void *frame,
                     uint32_t len);

/**
 * @brief Send up to @p count frames (never blocks): reclaim completed transmit buffers once,
 * copy each frame into its own pool buffer, publish them together and notify at most once.
 *
 * Every frame is checked before any is posted: one bad frame (too long, NULL data) fails the
 * whole call with ::XCV_EINVAL and nothing is sent. When the pool or the ring fills, the frames
 * sent so far are published and their count is returned; the rest stay with the caller.
 *
 * @param d The driver.
 * @param frames @p count frames (caller-owned, read only).
 * @param count Frames to send.
 * @return Frames sent (1..count), 0 for @p count 0; when none could be sent, the error as for
 *         xcv_net_drv_send() (::XCV_ENOMEM, ::XCV_ENOSPC, ::XCV_EINVAL, ::XCV_ENODEV, a ring
 *         error). Published frames are counted even when the doorbell fails afterwards (see
 *         xcv_net_drv_stats::doorbell_errors), so a caller never sends a frame twice.
 */
int xcv_net_drv_send_burst(struct xcv_net_drv *d, const struct xcv_net_frame *frames,
                           unsigned count);

/**
 * @brief Take one received frame (never blocks), then repost its buffers.
 * @param d The driver.
 * @param[out] hdr The frame's header (may be NULL).
 * @param[out] buf Caller-owned destination.
 * @param cap Bytes of @p buf.
 * @param[out] len Frame bytes.
 * @return ::XCV_OK; ::XCV_EAGAIN when no complete frame is there; ::XCV_ENOMEM when the frame
 *         was bigger than @p cap (it is dropped); ::XCV_EPROTO_DEVICE when the device sent a
 *         malformed frame (dropped); ::XCV_ENODEV (not open); a ring error.
 */
int xcv_net_drv_receive(struct xcv_net_drv *d, struct xcv_net_hdr *hdr, void *buf, uint32_t cap,
                        uint32_t *len);

/**
 * @brief Take up to @p count received frames (never blocks), then repost buffers once for the
 * whole burst (one publish, at most one notification).
 *
 * Frames are handled as by xcv_net_drv_receive(). A frame bigger than its slot's @c cap stops
 * the burst and stays held when it is not the first: the next call takes it first, into its
 * first slot, or drops it with ::XCV_ENOMEM when that slot is too small as well. A malformed frame
 * after the first is dropped at once and its ::XCV_EPROTO_DEVICE is returned by the next call.
 *
 * @param d The driver.
 * @param bufs @p count slots: @c buf and @c cap set by the caller; @c len and @c hdr filled.
 * @param count Slots.
 * @return Frames received (1..count), 0 for @p count 0, or the error of the first frame as for
 *         xcv_net_drv_receive() (::XCV_EAGAIN when none is complete).
 */
int xcv_net_drv_receive_burst(struct xcv_net_drv *d, struct xcv_net_rxbuf *bufs, unsigned count);

/**
 * @brief Take up to @p count received frames without copying them (driver role): each is lent
 * to the caller in its pool buffer, and receive buffers are reposted from the pool once for the
 * burst.
 *
 * The caller owns each @c buf from then on and hands it back with xcv_net_drv_release(), or
 * forwards the frame in place with xcv_net_drv_send_zc(). The frame bytes were written by the
 * device before the used entry was published and are not touched by it afterwards; the header
 * was copied and validated into @c hdr. Buffers the caller keeps are missing from the pool:
 * the driver can repost only what the pool holds.
 *
 * @param d The driver.
 * @param refs @p count slots to fill.
 * @param count Frames wanted.
 * @return Frames taken (1..count), 0 for @p count 0; ::XCV_EAGAIN when none is there;
 *         ::XCV_ENOTSUP when MRG_RXBUF was negotiated (a frame may span buffers: use
 *         xcv_net_drv_receive_burst()); ::XCV_ESTATE while xcv_net_drv_receive_burst() holds a
 *         partial frame; ::XCV_EINVAL, ::XCV_ENODEV, a ring error.
 */
int xcv_net_drv_receive_zc(struct xcv_net_drv *d, struct xcv_net_rxref *refs, unsigned count);

/**
 * @brief Give a buffer lent by xcv_net_drv_receive_zc() back to the pool (driver role), once.
 * @return ::XCV_OK; ::XCV_EINVAL when @p buf is not a buffer of the driver's pool, or is not the
 *         caller's: already released (free), or posted to the device (sent with
 *         xcv_net_drv_send_zc() and not yet used). Nothing changes on an error.
 */
int xcv_net_drv_release(struct xcv_net_drv *d, void *buf);

/**
 * @brief Send up to @p count frames that already sit in pool buffers (driver role, zero copy):
 * the header is written into the first ::XCV_VIRTIO_NET_HDR_SIZE bytes of each buffer and the
 * buffer is posted as it is. A frame lent by xcv_net_drv_receive_zc() is forwarded by passing
 * its @c buf and @c len back. Completed transmit buffers are reclaimed first; one publish and
 * at most one notification for the burst.
 *
 * Ownership: each buffer sent passes to the driver, which returns it to the pool when the
 * device has used it; buffers not sent stay with the caller. A buffer must belong to the
 * caller: the pool's per-buffer state (see pool.h) refuses one that is free (released), posted
 * (sent before and not yet used, or a receive buffer), or twice in one call.
 *
 * @param d The driver.
 * @param refs @p count frames.
 * @param count Frames to send.
 * @return Frames sent (1..count), 0 for @p count 0; every reference is checked first, and one
 *         that is too long, not a pool buffer, or not the caller's fails the call with
 *         ::XCV_EINVAL (nothing sent, every buffer still the caller's); ::XCV_ENOSPC when the
 *         transmitq is full; ::XCV_ENODEV, a ring error.
 */
int xcv_net_drv_send_zc(struct xcv_net_drv *d, const struct xcv_net_txref *refs, unsigned count);

/**
 * @brief Reset the device and return every buffer (posted, in flight, or held) to the pool.
 * The driver can be opened again.
 * @return ::XCV_OK or the error of the reset request (buffers are reclaimed regardless).
 */
int xcv_net_drv_reset(struct xcv_net_drv *d);

/** @brief The MAC address read at open (zero when MAC was not negotiated). */
const uint8_t *xcv_net_drv_mac(const struct xcv_net_drv *d);

/** @brief The MTU read at open (1500 when MTU was not negotiated). */
uint16_t xcv_net_drv_mtu(const struct xcv_net_drv *d);

/** @brief The negotiated features. */
uint64_t xcv_net_drv_features(const struct xcv_net_drv *d);

/**
 * @brief Read the link status from the config space.
 * @return 1 when up, 0 when down, or a negative error of xcv_vdrv_read_config().
 */
int xcv_net_drv_link_up(struct xcv_net_drv *d);

/** @brief The driver's counters. */
const struct xcv_net_drv_stats *xcv_net_drv_stats(const struct xcv_net_drv *d);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_DEV_NET_H */
