/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file vhost_user.h
 * @brief vhost-user for the Linux port: a backend that serves one of the library's device
 *        models to a vhost-user frontend (QEMU, DPDK's virtio-user) over a UNIX socket, and a
 *        frontend that drives an existing backend with the library's driver-role rings.
 *
 * Part of the library `xcvirtio_linux` (CMake target xcvirtio::linux).
 *
 * The frontend owns the memory: SET_MEM_TABLE hands over one file descriptor per region, which
 * the backend maps and turns into an ::xcv_memmap whose windows use the frontend's
 * guest-physical addresses as bus addresses. Descriptor addresses are guest-physical; the ring
 * addresses of SET_VRING_ADDR are frontend virtual addresses and are translated through the
 * regions' @c userspace_addr. The device model (initialised with a NULL channel, see
 * xcv_vdev_host_attach()) then runs on the frontend's rings through the same bounds-checked
 * device-role ring code as on a channel: nothing outside the regions is ever accessed, and every
 * ring check of vq_device.h applies.
 *
 * Messages handled: GET_FEATURES, SET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 * SET_OWNER, RESET_OWNER, RESET_DEVICE, SET_MEM_TABLE, SET_VRING_NUM, SET_VRING_ADDR,
 * SET_VRING_BASE, GET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR,
 * SET_VRING_ENABLE, GET_QUEUE_NUM, GET_CONFIG, SET_CONFIG. Protocol features offered: MQ,
 * REPLY_ACK, CONFIG, RESET_DEVICE. Not supported: dirty logging (LOG_ALL, SET_LOG_BASE),
 * IOTLB, inflight tracking, the backend-to-frontend channel, packed rings.
 *
 * Ring life cycle: a ring starts when its kick descriptor arrives (SET_VRING_KICK) and runs while
 * it is enabled (always, unless VHOST_USER_F_PROTOCOL_FEATURES was negotiated; then after
 * SET_VRING_ENABLE 1). It starts at the available index given by SET_VRING_BASE and at the used
 * index the ring holds; GET_VRING_BASE stops it and returns the next available index. A kick
 * calls the model's notify; the model's used notifications write the call eventfd.
 *
 * Trust: the frontend is untrusted. Every message is checked (size field, exact payload size
 * per request, file descriptor count, flags); every memory region (non-zero size, no wrap, no
 * overlap in guest-physical or frontend-virtual space, a regular file or memfd whose size covers
 * mmap_offset + memory_size); every ring (size a power of two within the model's maximum, its
 * three areas inside one region, aligned); every ring descriptor (kick, call and err must be
 * eventfds: a pipe or socket could block the backend or raise SIGPIPE); every index (the ring's
 * own checks). A frontend that
 * fails a check, or breaks a ring, gets an error (a REPLY_ACK failure when it asked for one; the
 * ring's error eventfd for a broken ring), its connection is dropped, the device is reset and
 * the backend accepts the next connection. The reason is logged and kept in
 * ::xcv_vhost_user_stats. Residual risk: a frontend that shrinks a region's file after
 * SET_MEM_TABLE makes later accesses fault (SIGBUS); the backend adds F_SEAL_SHRINK to memfds
 * that allow sealing, which closes that hole for them.
 *
 * Frontend: xcv_vhost_user_front_connect() is the other side: it owns one memfd region (rings
 * first, then a data area for the caller), negotiates with an existing backend and hands out
 * the library's driver-role rings (vq_driver.h), whose checks of the used ring protect it from a
 * hostile backend; every reply is checked too. Kicks write the ring's kick eventfd;
 * xcv_vhost_user_front_wait() waits on its call eventfd.
 *
 * Threading and loop: one thread calls xcv_vhost_user_run() (which waits on an epoll set of the
 * listening socket, the connection and the kick eventfds) and the model's own entry points. A
 * model whose last run stopped on its budget (xcv_blk_dev_pending(), xcv_net_dev_pending()) is
 * run again by the caller, and traffic the caller originates (xcv_net_dev_deliver()) is pushed
 * from the same thread. xcv_vhost_user_fd() gives the epoll descriptor for a caller's own loop.
 */
#ifndef XCVIRTIO_VHOST_USER_H
#define XCVIRTIO_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/port.h"
#include "xcvirtio/vdev.h"
#include "xcvirtio/vq_driver.h"
#include "xcvirtio/vring.h"
#include "xcvirtio/window.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Most memory regions in one SET_MEM_TABLE (the protocol's baseline). */
#define XCV_VHOST_USER_MAX_REGIONS 8u
/** @brief Most queues of a device served over vhost-user. */
#define XCV_VHOST_USER_MAX_QUEUES 8u
/** @brief Largest config space payload of GET_CONFIG / SET_CONFIG. */
#define XCV_VHOST_USER_MAX_CONFIG 256u
/** @brief Largest payload of any message this backend accepts (a config message). */
#define XCV_VHOST_USER_MAX_PAYLOAD (12u + XCV_VHOST_USER_MAX_CONFIG)
/** @brief Longest socket path accepted (sun_path without its NUL). */
#define XCV_VHOST_USER_PATH_MAX 107u

/** @name Header flags (the protocol version is in bits 0..1)
 *  @{ */
#define XCV_VHOST_USER_VERSION 0x1u         /**< The only protocol version. */
#define XCV_VHOST_USER_VERSION_MASK 0x3u    /**< Bits holding the version. */
#define XCV_VHOST_USER_FLAG_REPLY 0x4u      /**< Set on replies. */
#define XCV_VHOST_USER_FLAG_NEED_REPLY 0x8u /**< Request an ack (with REPLY_ACK). */
/** @} */

/** @brief Virtio feature bit 30: the frontend may use the protocol-feature messages. */
#define XCV_VHOST_USER_F_PROTOCOL_FEATURES 30u
/** @brief Bit of the kick / call / err payload: no file descriptor is attached (polling). */
#define XCV_VHOST_USER_VRING_NOFD 0x100u
/** @brief Bits of the kick / call / err payload holding the ring index. */
#define XCV_VHOST_USER_VRING_IDX_MASK 0xffu

/** @name Protocol feature bits
 *  @{ */
#define XCV_VHOST_USER_PROTOCOL_F_MQ 0u            /**< GET_QUEUE_NUM. */
#define XCV_VHOST_USER_PROTOCOL_F_REPLY_ACK 3u     /**< NEED_REPLY acks. */
#define XCV_VHOST_USER_PROTOCOL_F_CONFIG 9u        /**< GET_CONFIG / SET_CONFIG. */
#define XCV_VHOST_USER_PROTOCOL_F_RESET_DEVICE 13u /**< RESET_DEVICE. */
/** @} */

/** @brief Request codes of the frontend-to-backend messages (the ones this port knows). */
enum xcv_vhost_user_request {
    XCV_VHOST_USER_GET_FEATURES = 1,           /**< Reply: u64 device features. */
    XCV_VHOST_USER_SET_FEATURES = 2,           /**< u64 acked features. */
    XCV_VHOST_USER_SET_OWNER = 3,              /**< No payload. */
    XCV_VHOST_USER_RESET_OWNER = 4,            /**< No payload: reset the device. */
    XCV_VHOST_USER_SET_MEM_TABLE = 5,          /**< Memory table, one fd per region. */
    XCV_VHOST_USER_SET_LOG_BASE = 6,           /**< Not supported. */
    XCV_VHOST_USER_SET_LOG_FD = 7,             /**< Not supported. */
    XCV_VHOST_USER_SET_VRING_NUM = 8,          /**< Vring state: ring size. */
    XCV_VHOST_USER_SET_VRING_ADDR = 9,         /**< Vring addresses (frontend virtual). */
    XCV_VHOST_USER_SET_VRING_BASE = 10,        /**< Vring state: next available index. */
    XCV_VHOST_USER_GET_VRING_BASE = 11,        /**< Stop the ring; reply: vring state. */
    XCV_VHOST_USER_SET_VRING_KICK = 12,        /**< u64 index (+NOFD), kick eventfd. */
    XCV_VHOST_USER_SET_VRING_CALL = 13,        /**< u64 index (+NOFD), call eventfd. */
    XCV_VHOST_USER_SET_VRING_ERR = 14,         /**< u64 index (+NOFD), error eventfd. */
    XCV_VHOST_USER_GET_PROTOCOL_FEATURES = 15, /**< Reply: u64 protocol features. */
    XCV_VHOST_USER_SET_PROTOCOL_FEATURES = 16, /**< u64 acked protocol features. */
    XCV_VHOST_USER_GET_QUEUE_NUM = 17,         /**< Reply: u64 number of queues. */
    XCV_VHOST_USER_SET_VRING_ENABLE = 18,      /**< Vring state: 1 enable, 0 disable. */
    XCV_VHOST_USER_GET_CONFIG = 24,            /**< Config message; reply: config message. */
    XCV_VHOST_USER_SET_CONFIG = 25,            /**< Config message. */
    XCV_VHOST_USER_RESET_DEVICE = 34           /**< No payload: reset the device. */
};

/** @brief The 12-byte message header (host byte order, as the protocol defines). */
struct xcv_vhost_user_hdr {
    uint32_t request; /**< ::xcv_vhost_user_request. */
    uint32_t flags;   /**< Version and ::XCV_VHOST_USER_FLAG_REPLY / NEED_REPLY. */
    uint32_t size;    /**< Payload bytes that follow. */
};

/** @brief Payload of SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE. */
struct xcv_vhost_user_vring_state {
    uint32_t index; /**< Ring index. */
    uint32_t num;   /**< Size, base index, or enable flag. */
};

/** @brief Payload of SET_VRING_ADDR. The three ring addresses are frontend virtual addresses. */
struct xcv_vhost_user_vring_addr {
    uint32_t index; /**< Ring index. */
    uint32_t flags; /**< Bit 0: log the used ring (ignored: logging is not supported). */
    uint64_t desc;  /**< Descriptor table. */
    uint64_t used;  /**< Used ring. */
    uint64_t avail; /**< Available ring. */
    uint64_t log;   /**< Log address (ignored). */
};

/** @brief One region of SET_MEM_TABLE. */
struct xcv_vhost_user_region {
    uint64_t guest_phys_addr; /**< Bus (guest-physical) address of the region's first byte. */
    uint64_t memory_size;     /**< Bytes. */
    uint64_t userspace_addr;  /**< The frontend's virtual address of the first byte. */
    uint64_t mmap_offset;     /**< Offset of the first byte in the region's file. */
};

/** @brief Payload of SET_MEM_TABLE: @c nregions regions follow the 8-byte head. */
struct xcv_vhost_user_mem_table {
    uint32_t nregions; /**< Regions (1..::XCV_VHOST_USER_MAX_REGIONS), one fd each. */
    uint32_t padding;  /**< Zero. */
    struct xcv_vhost_user_region regions[XCV_VHOST_USER_MAX_REGIONS]; /**< The regions. */
};

/** @brief Payload of GET_CONFIG / SET_CONFIG: @c size bytes follow the 12-byte head. */
struct xcv_vhost_user_config_msg {
    uint32_t offset;                           /**< Offset in the device's config space. */
    uint32_t size;                             /**< Bytes (<= ::XCV_VHOST_USER_MAX_CONFIG). */
    uint32_t flags;                            /**< 0 (writable) or 1 (live migration): ignored. */
    uint8_t region[XCV_VHOST_USER_MAX_CONFIG]; /**< The bytes. */
};

/** @brief Backend configuration. Read during xcv_vhost_user_listen() only. */
struct xcv_vhost_user_config {
    const char *path;           /**< Socket path (<= ::XCV_VHOST_USER_PATH_MAX bytes). A stale
                                     socket file there is replaced; any other file is an error. */
    struct xcv_vdev *dev;       /**< The device: a model initialised with a NULL channel
                                     (caller-owned, outlives the backend). */
    int io_timeout_ms;          /**< Bound on reading the rest of a message once its first byte
                                     arrived, and on sending a reply; 0 = 1000. */
    uint64_t protocol_features; /**< Protocol features to offer; 0 = MQ, REPLY_ACK,
                                     RESET_DEVICE, and CONFIG when the device has a config
                                     space. Bits this backend does not support are dropped. */
    /** Optional diagnostics sink (as ::xcv_port_ops::log); NULL prints errors and warnings
     * to stderr. */
    void (*log)(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err);
    void *log_ctx; /**< Passed to @c log. */
};

/** @brief Counters and the last error of a backend (written by it, read by the caller). */
struct xcv_vhost_user_stats {
    uint64_t connections;    /**< Frontends accepted. */
    uint64_t disconnects;    /**< Connections ended (closed by the frontend or dropped). */
    uint64_t errors;         /**< Connections dropped because the frontend failed a check. */
    uint64_t messages;       /**< Messages handled. */
    uint64_t kicks;          /**< Kick eventfd wake-ups. */
    uint64_t calls;          /**< Call eventfd writes. */
    int last_error;          /**< ::xcv_err of the last dropped connection, or 0. */
    uint32_t last_request;   /**< Request code being handled when it was dropped (0: none). */
    const char *last_reason; /**< Static text naming the failed check, or NULL. */
};

/** @brief One mapped memory region. Private; public for static allocation. */
struct xcv_vhost_user_mapping {
    void *map;      /**< @private mmap() result */
    size_t map_len; /**< @private */
    uint64_t gpa;   /**< @private guest_phys_addr */
    uint64_t size;  /**< @private memory_size */
    uint64_t uva;   /**< @private userspace_addr */
    uint8_t *local; /**< @private first byte of the region */
};

/** @brief State of one ring. Private; public for static allocation. */
struct xcv_vhost_user_vring {
    int kick_fd;        /**< @private -1 when none */
    int call_fd;        /**< @private -1 when none */
    int err_fd;         /**< @private -1 when none */
    uint64_t desc_uva;  /**< @private */
    uint64_t avail_uva; /**< @private */
    uint64_t used_uva;  /**< @private */
    uint16_t num;       /**< @private 0 until SET_VRING_NUM */
    uint16_t base;      /**< @private next available index while stopped */
    bool addr_set;      /**< @private */
    bool started;       /**< @private kick descriptor (or NOFD) received */
    bool enabled;       /**< @private SET_VRING_ENABLE state */
    bool running;       /**< @private the device queue runs */
    bool polled;        /**< @private started without a kick fd: polled by run() */
};

/** @brief A vhost-user backend. Caller-allocated; fields are private. */
struct xcv_vhost_user {
    int listen_fd;        /**< @private */
    int conn_fd;          /**< @private -1 when no frontend */
    int epoll_fd;         /**< @private */
    int io_timeout_ms;    /**< @private */
    struct xcv_vdev *dev; /**< @private */
    struct xcv_port port; /**< @private the device's host port (call eventfds, log) */
    struct xcv_window windows[XCV_VHOST_USER_MAX_REGIONS];             /**< @private */
    struct xcv_memmap memmap;                                          /**< @private */
    struct xcv_vhost_user_mapping regions[XCV_VHOST_USER_MAX_REGIONS]; /**< @private */
    uint32_t nregions;                                                 /**< @private */
    struct xcv_vhost_user_vring vrings[XCV_VHOST_USER_MAX_QUEUES];     /**< @private */
    uint16_t nqueues;                                                  /**< @private */
    uint64_t features;          /**< @private acked, including bit 30 */
    uint64_t protocol_offered;  /**< @private */
    uint64_t protocol_features; /**< @private acked */
    bool needs_reset;           /**< @private the device raised NEEDS_RESET */
    void (*log)(void *ctx, enum xcv_log_level level, const char *what, uint32_t id,
                int err);                    /**< @private */
    void *log_ctx;                           /**< @private */
    struct xcv_vhost_user_stats stats;       /**< @private */
    char path[XCV_VHOST_USER_PATH_MAX + 1u]; /**< @private */
};

/**
 * @brief Create the listening socket at @p cfg->path and bind the device to this backend.
 *
 * @param[out] s Caller-owned backend; filled on success, closed (fds -1) on failure.
 * @param cfg Configuration.
 * @return ::XCV_OK; ::XCV_EINVAL (NULL, path too long or not a socket, a device registered on a
 *         channel or with more than ::XCV_VHOST_USER_MAX_QUEUES queues); ::XCV_EPORT for a failed
 *         system call (errno set).
 */
int xcv_vhost_user_listen(struct xcv_vhost_user *s, const struct xcv_vhost_user_config *cfg);

/**
 * @brief Wait up to @p timeout_ms for events and handle them: accept a frontend, handle its
 * messages, turn kicks into model notifications. Errors caused by the frontend are not returned:
 * they drop the connection (see ::xcv_vhost_user_stats). A ring started without a kick
 * descriptor is polled, which caps the wait at 1 ms.
 *
 * @param s The backend.
 * @param timeout_ms Bound on the wait (0 = do not wait; negative is invalid).
 * @return Events handled (>= 0); ::XCV_EINVAL; ::XCV_EPORT when waiting failed (errno set).
 */
int xcv_vhost_user_run(struct xcv_vhost_user *s, int timeout_ms);

/**
 * @brief The epoll descriptor behind xcv_vhost_user_run(), readable when run() has work: add it
 * to a caller's own loop.
 * @return The fd, or ::XCV_EINVAL.
 */
int xcv_vhost_user_fd(const struct xcv_vhost_user *s);

/** @brief True while a frontend is connected. */
bool xcv_vhost_user_connected(const struct xcv_vhost_user *s);

/** @brief True while ring @p q runs (started, enabled, and the device queue set up). */
bool xcv_vhost_user_queue_running(const struct xcv_vhost_user *s, uint16_t q);

/**
 * @brief Drop the current frontend (if any): stop the rings, reset the device, unmap the
 * regions, close the descriptors, and listen again. Not counted as an error.
 */
void xcv_vhost_user_disconnect(struct xcv_vhost_user *s);

/**
 * @brief Close everything and remove the socket file. Idempotent; the device stays
 * caller-owned (reset, detached from nothing: attach it again to reuse it).
 */
void xcv_vhost_user_close(struct xcv_vhost_user *s);

/** @brief The backend's counters and last error (valid until the backend is closed). */
const struct xcv_vhost_user_stats *xcv_vhost_user_stats(const struct xcv_vhost_user *s);

/* ================================ frontend ================================ */

/** @brief Largest ring size the frontend sets up. */
#define XCV_VHOST_USER_FRONT_MAX_QSIZE 256u

/** @brief Frontend configuration. Read during xcv_vhost_user_front_connect() only. */
struct xcv_vhost_user_front_config {
    const char *path;    /**< The backend's socket path. */
    int timeout_ms;      /**< Bound on connecting (retried while the socket is missing) and on
                              each reply; 0 = 2000. */
    uint64_t features;   /**< Virtio features wanted; the negotiated set is these and the
                              backend's. VERSION_1 is required. */
    uint16_t num_queues; /**< Rings to set up (1..::XCV_VHOST_USER_MAX_QUEUES). */
    uint16_t queue_size; /**< Entries per ring (power of two, <= 256). */
    size_t mem_size;     /**< Bytes of memory shared with the backend (a sealed memfd): the
                              rings first, the rest is the caller's data area. */
    uint64_t bus_base;   /**< Guest-physical (bus) address of that memory's first byte. */
};

/** @brief A vhost-user frontend. Caller-allocated; fields are private. */
struct xcv_vhost_user_front {
    int sock;                            /**< @private */
    int memfd;                           /**< @private */
    int timeout_ms;                      /**< @private */
    uint8_t *mem;                        /**< @private local mapping */
    size_t mem_size;                     /**< @private */
    struct xcv_window window;            /**< @private */
    size_t data_off;                     /**< @private start of the caller's data area */
    uint64_t features;                   /**< @private negotiated virtio features */
    uint64_t backend_features;           /**< @private */
    uint64_t protocol_features;          /**< @private negotiated */
    uint16_t nqueues;                    /**< @private */
    uint16_t qsize;                      /**< @private */
    struct xcv_port port;                /**< @private kick eventfds */
    int kick[XCV_VHOST_USER_MAX_QUEUES]; /**< @private */
    int call[XCV_VHOST_USER_MAX_QUEUES]; /**< @private */
    struct xcv_vring_layout ring[XCV_VHOST_USER_MAX_QUEUES]; /**< @private */
    struct xcv_vq_driver vq[XCV_VHOST_USER_MAX_QUEUES];      /**< @private */
    struct xcv_vq_drv_slot slots[XCV_VHOST_USER_MAX_QUEUES]
                                [XCV_VHOST_USER_FRONT_MAX_QSIZE]; /**< @private */
};

/**
 * @brief Connect to a vhost-user backend (QEMU's and DPDK's backends, qemu-storage-daemon's
 * vhost-user-blk export, or xcv_vhost_user_listen()) and bring up @c num_queues rings driven by
 * the library's driver-role ring code.
 *
 * Creates the shared memory (a memfd sealed against resizing), negotiates features (and the
 * protocol features MQ, REPLY_ACK, CONFIG when offered), sends the memory table (one region),
 * places and zeroes each ring, and starts it (size, base 0, addresses, call and kick eventfds,
 * enable). Every reply is checked (request code, reply flag, exact size, offered features); the
 * backend is untrusted.
 *
 * @param[out] f Caller-owned frontend; closed (fds -1) on failure.
 * @param cfg Configuration.
 * @return ::XCV_OK; ::XCV_EINVAL for a bad configuration; ::XCV_ETIMEDOUT; ::XCV_ENOTSUP when the
 *         backend lacks VERSION_1 or the queues asked for; ::XCV_EPROTO_MSG for a malformed or
 *         unexpected reply, or a failed REPLY_ACK; ::XCV_EPORT for a failed system call.
 */
int xcv_vhost_user_front_connect(struct xcv_vhost_user_front *f,
                                 const struct xcv_vhost_user_front_config *cfg);

/**
 * @brief Driver-role ring @p q (post with xcv_vq_driver_add(), kick with xcv_vq_driver_kick():
 * the doorbell writes the ring's kick eventfd), or NULL.
 */
struct xcv_vq_driver *xcv_vhost_user_front_queue(struct xcv_vhost_user_front *f, uint16_t q);

/**
 * @brief The caller's data area in the shared memory: where buffers for the rings go.
 * @param f The frontend.
 * @param[out] local Local address of the area.
 * @param[out] bus Bus address to put in descriptors.
 * @return Bytes of the area, or 0 for a frontend that is not connected.
 */
size_t xcv_vhost_user_front_data(const struct xcv_vhost_user_front *f, uint8_t **local,
                                 uint64_t *bus);

/**
 * @brief Wait up to @p timeout_ms for the backend's used notification on ring @p q (its call
 * eventfd), and drain it.
 * @return 1 when notified, 0 on timeout, ::XCV_EINVAL, or ::XCV_EPORT.
 */
int xcv_vhost_user_front_wait(struct xcv_vhost_user_front *f, uint16_t q, int timeout_ms);

/**
 * @brief Read [@p off, @p off + @p len) of the device's config space (GET_CONFIG; needs the
 * CONFIG protocol feature).
 * @return ::XCV_OK; ::XCV_ENOTSUP without CONFIG; ::XCV_EINVAL; ::XCV_EPROTO_MSG for a
 *         malformed reply; ::XCV_ETIMEDOUT; ::XCV_EPORT.
 */
int xcv_vhost_user_front_get_config(struct xcv_vhost_user_front *f, uint32_t off, void *buf,
                                    uint32_t len);

/** @brief The negotiated virtio features (0 when not connected). */
uint64_t xcv_vhost_user_front_features(const struct xcv_vhost_user_front *f);

/**
 * @brief Close the connection, the eventfds and the shared memory. Idempotent. The backend
 * stops using the memory when it sees the connection close.
 */
void xcv_vhost_user_front_close(struct xcv_vhost_user_front *f);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_VHOST_USER_H */
