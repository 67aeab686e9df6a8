/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file linux_backends.h
 * @brief Device backends of the Linux port (device role): a file-backed virtio-blk backend, the
 *        kernel's random source as the virtio-rng entropy callback, and a TAP interface behind
 *        a virtio-net device.
 *
 * Part of the library `xcvirtio_linux` (CMake target xcvirtio::linux), like port_linux.h.
 *
 * File-backed block device: xcv_linux_blk_file_open() opens (or creates, sparse) a regular
 * file, or opens a block device, and fills a ::xcv_linux_blk_file; pass ::xcv_linux_blk_file_ops
 * and a pointer to that object to xcv_blk_dev_init() with @c capacity set from
 * ::xcv_linux_blk_file::capacity. Reads and writes go straight between the file and the
 * driver's buffers in the shared window (preadv / pwritev), flush is fdatasync(), discard
 * punches a hole (fallocate PUNCH_HOLE), write-zeroes uses fallocate ZERO_RANGE (or punches a
 * hole when the driver allows unmapping). Where the file system refuses an fallocate mode the
 * backend writes zeroes instead, so discarded and zeroed sectors always read back as zeroes.
 * Every call is checked against the capacity taken at open; a failed system call, or a file
 * that shrank under the backend (a short read), completes the request with IOERR.
 *
 * Entropy: xcv_linux_rng_entropy() has the type ::xcv_rng_entropy_fn; pass it as
 * ::xcv_rng_dev_config::entropy (context NULL).
 *
 * TAP: xcv_linux_tap_open() creates (or attaches to) a TAP interface and brings it up; pass
 * ::xcv_linux_tap_ops and the ::xcv_linux_tap to xcv_net_dev_init(). Frames the driver
 * transmits are written to the interface (the kernel receives them on it); frames the kernel
 * sends out of the interface are read by xcv_linux_tap_pump() and delivered to the driver.
 * No offloads: the virtio-net header is not passed to the kernel. Needs /dev/net/tun and
 * CAP_NET_ADMIN.
 *
 * Threading: the backend is called on the thread that polls the channel; one thread at a time
 * per ::xcv_linux_blk_file.
 */
#ifndef XCVIRTIO_LINUX_BACKENDS_H
#define XCVIRTIO_LINUX_BACKENDS_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/dev_blk.h"
#include "xcvirtio/dev_net.h"
#include "xcvirtio/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Flags of xcv_linux_blk_file_open()
 *  @{ */
/** Create the file when it is missing (mode 0600) and extend an empty file to the size asked. */
#define XCV_LINUX_BLK_CREATE 0x1u
/** Open read-only: every write, discard and write-zeroes fails with IOERR. Configure the
 *  device model with ::xcv_blk_dev_config::read_only as well, so that the driver sees RO. */
#define XCV_LINUX_BLK_READ_ONLY 0x2u
/** Never deallocate: discard and write-zeroes write zeroes instead of punching holes. */
#define XCV_LINUX_BLK_NO_PUNCH 0x4u
/** @} */

/** @brief Counters of a file backend (written by the backend, read by the caller). */
struct xcv_linux_blk_file_stats {
    uint64_t reads;        /**< Read calls that succeeded. */
    uint64_t writes;       /**< Write calls that succeeded. */
    uint64_t flushes;      /**< fdatasync() calls that succeeded. */
    uint64_t punched;      /**< Sectors deallocated with fallocate PUNCH_HOLE. */
    uint64_t zero_ranged;  /**< Sectors zeroed with fallocate ZERO_RANGE. */
    uint64_t zero_written; /**< Sectors zeroed by writing zeroes (fallback). */
    uint64_t errors;       /**< Calls that failed (request completed with IOERR). */
    int last_errno;        /**< errno of the last failed system call, or 0. */
};

/**
 * @brief A file-backed disk. Caller-allocated; filled by xcv_linux_blk_file_open(), released by
 * xcv_linux_blk_file_close(). Members may be read, not written.
 */
struct xcv_linux_blk_file {
    int fd;                                /**< The open file, owned; -1 when closed. */
    uint64_t capacity;                     /**< Disk size in 512-byte sectors. */
    bool read_only;                        /**< Opened with ::XCV_LINUX_BLK_READ_ONLY. */
    bool block_device;                     /**< The path is a block device, not a file. */
    bool punch;                            /**< PUNCH_HOLE is tried (cleared once refused). */
    bool zero_range;                       /**< ZERO_RANGE is tried (cleared once refused). */
    struct xcv_linux_blk_file_stats stats; /**< Counters. */
};

/**
 * @brief Open a disk image (a regular file) or a block device for a virtio-blk device model.
 *
 * Regular file: with ::XCV_LINUX_BLK_CREATE a missing file is created; a new or empty file is
 * extended to @p size bytes with ftruncate() (sparse: nothing is allocated until written). A
 * non-empty file is never resized: @p size must then be 0 (take the file's size) or equal to
 * its size. Block device: @p size must be 0 or the device's size (BLKGETSIZE64). The capacity
 * is the size divided by 512 (a trailing partial sector is not used).
 *
 * @param[out] f Caller-owned object; filled on success, closed (fd -1) on failure.
 * @param path The file or device (caller-owned, read during the call only).
 * @param size Bytes wanted: a multiple of 512, or 0 to take the existing size.
 * @param flags ::XCV_LINUX_BLK_CREATE, ::XCV_LINUX_BLK_READ_ONLY, ::XCV_LINUX_BLK_NO_PUNCH.
 * @return ::XCV_OK; ::XCV_EINVAL (NULL argument, unknown flag, size not a multiple of 512, size
 *         mismatch, empty disk, or a path that is neither a regular file nor a block device);
 *         ::XCV_EPORT when a system call failed (errno is left as it set it).
 */
int xcv_linux_blk_file_open(struct xcv_linux_blk_file *f, const char *path, uint64_t size,
                            unsigned flags);

/** @brief Close the file (idempotent; a zeroed object with fd -1 is fine). Nothing is flushed:
 *  the driver flushes with VIRTIO_BLK_T_FLUSH; call fdatasync() on ::xcv_linux_blk_file::fd
 *  first if durability is wanted regardless. */
void xcv_linux_blk_file_close(struct xcv_linux_blk_file *f);

/**
 * @brief The backend operations over a ::xcv_linux_blk_file (the context passed to every call).
 *
 * read, write, flush, discard and write_zeroes are all provided. Each returns ::XCV_OK or
 * ::XCV_EIO (the model completes the request with IOERR): range past the capacity, segment
 * lengths that do not add up to the sectors asked, a write on a read-only file, a failed system
 * call, or end of file inside the range (the file was truncated by someone else).
 */
extern const struct xcv_blk_backend_ops xcv_linux_blk_file_ops;

/**
 * @brief Entropy source for the virtio-rng model (::xcv_rng_entropy_fn): one non-blocking
 * getrandom() call, retried on a signal.
 * @param ctx Unused (pass NULL).
 * @param buf Where to put the bytes (device-writable memory of the driver's buffer).
 * @param len Bytes wanted (> 0).
 * @return Bytes written (1 .. @p len); 0 when the kernel's pool is not initialised yet (early
 *         boot: no entropy now); ::XCV_EINVAL for NULL or 0; ::XCV_EPORT when getrandom()
 *         failed otherwise (errno set).
 */
int xcv_linux_rng_entropy(void *ctx, void *buf, uint32_t len);

/** @brief Largest frame a ::xcv_linux_tap carries (bytes, without the virtio-net header). */
#define XCV_LINUX_TAP_FRAME_MAX 9216u

/** @brief Counters of a TAP backend (written by the backend, read by the caller). */
struct xcv_linux_tap_stats {
    uint64_t to_kernel;         /**< Frames the driver transmitted, written to the interface. */
    uint64_t to_kernel_drops;   /**< Of those, refused by the interface (queue full, down). */
    uint64_t from_kernel;       /**< Frames read from the interface and delivered. */
    uint64_t from_kernel_drops; /**< Frames read from the interface and dropped: too big, or
                                     no room in the driver's receive buffers. */
};

/**
 * @brief A TAP interface behind a virtio-net device model. Caller-allocated; filled by
 * xcv_linux_tap_open(). Members may be read, not written.
 */
struct xcv_linux_tap {
    int fd;                                   /**< The /dev/net/tun descriptor, owned; -1 closed. */
    char name[16];                            /**< The interface name (IFNAMSIZ). */
    uint8_t pending[XCV_LINUX_TAP_FRAME_MAX]; /**< @private a frame read, not yet delivered */
    uint32_t pending_len;                     /**< @private its length; 0 = none */
    struct xcv_linux_tap_stats stats;         /**< Counters. */
};

/**
 * @brief Create or attach to the TAP interface @p name (IFF_TAP | IFF_NO_PI, non-blocking) and
 * set it up (IFF_UP).
 * @param[out] t Caller-owned object; filled on success, closed (fd -1) on failure.
 * @param name Interface name, 1 .. 15 bytes (caller-owned, read during the call only).
 * @return ::XCV_OK; ::XCV_EINVAL (NULL, empty or too long a name); ::XCV_EPORT when a system
 *         call failed (errno set: ENOENT without /dev/net/tun, EPERM without CAP_NET_ADMIN).
 */
int xcv_linux_tap_open(struct xcv_linux_tap *t, const char *name);

/** @brief Close the descriptor (a non-persistent interface then disappears). Idempotent. */
void xcv_linux_tap_close(struct xcv_linux_tap *t);

/**
 * @brief The backend operations (context: a ::xcv_linux_tap): transmit writes the frame to the
 * interface with writev(); it returns ::XCV_OK even when the interface refused it (counted in
 * ::xcv_linux_tap_stats::to_kernel_drops), as a NIC drops on a full queue.
 */
extern const struct xcv_net_backend_ops xcv_linux_tap_ops;

/**
 * @brief Move up to @p budget frames from the interface to the driver (device role; never
 * blocks). A frame that finds no receive buffer posted (::XCV_EAGAIN) is kept and retried by the
 * next call; call again when the interface's fd is readable or the model's rx_ready fired.
 * @param t The TAP backend.
 * @param n The device model it feeds.
 * @param budget Most frames handled.
 * @return Frames delivered or dropped (>= 0); ::XCV_EINVAL; ::XCV_EPORT (read failed, errno
 *         set); a ring error from xcv_net_dev_deliver().
 */
int xcv_linux_tap_pump(struct xcv_linux_tap *t, struct xcv_net_dev *n, unsigned budget);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_LINUX_BACKENDS_H */
