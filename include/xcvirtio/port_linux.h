/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file port_linux.h
 * @brief The Linux userspace port: shared windows from memfd or /dev/shm, eventfd doorbells
 *        handed over a UNIX socket, and a busy-poll mode.
 *
 * Library `xcvirtio_linux` (CMake target xcvirtio::linux). Two processes form a channel:
 *
 * - The device side calls xcv_linux_link_listen(): it creates the window (a sealed memfd, or a
 *   file such as /dev/shm/name), two eventfds (one per direction) and a listening
 *   `SOCK_SEQPACKET` socket. xcv_linux_link_accept() takes a driver connection and sends it, in
 *   one message, a fixed header (::xcv_linux_hello) and, with SCM_RIGHTS, the window fd and
 *   both eventfds.
 * - The driver side calls xcv_linux_link_connect(), which validates the header against the
 *   received descriptors (count, type, `st_size`, seals) and maps the window at its own address.
 * - Each side then builds a port with xcv_linux_port_init(): notify writes this side's
 *   outgoing eventfd, wait sleeps on the incoming one, and xcv_linux_link_event_fd() gives the
 *   incoming one to an epoll loop (xcv_linux_link_ack() drains it).
 *
 * Restarts:
 * - A restarted driver connects again to the still-listening device and receives the same
 *   window and eventfds (the device calls xcv_linux_link_accept() again; the new connection
 *   replaces the old one).
 * - A restarted device process creates a new listening socket on the same path. With a
 *   file-backed window (::xcv_linux_link_config::shm_path) it reopens the same memory, so the
 *   driver keeps its mapping: the driver calls xcv_linux_link_reconnect(), which fetches the new
 *   eventfds and returns ::XCV_OK. With a memfd window the memory is new: reconnect maps it and
 *   returns ::XCV_LINUX_WINDOW_NEW.
 *
 * Trust: the driver never trusts the header. A memfd window must carry F_SEAL_SHRINK and
 * F_SEAL_GROW, so the device cannot shrink it under the driver's mapping (which would raise
 * SIGBUS). A file-backed window cannot be sealed: choose it only where the device process is
 * trusted not to truncate the file.
 *
 * Threading: the port's lock/unlock are NULL; one thread uses a link and its channel at a time.
 * Errors: ::XCV_EPORT for a failed system call (errno is left as the call set it),
 * ::XCV_ETIMEDOUT, ::XCV_EPROTO_MSG for a malformed handshake, ::XCV_EINVAL for bad arguments.
 */
#ifndef XCVIRTIO_PORT_LINUX_H
#define XCVIRTIO_PORT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/port.h"
#include "xcvirtio/window.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Handshake magic ("XCVL", little-endian). */
#define XCV_LINUX_HELLO_MAGIC 0x4c564358u
/** @brief Handshake version this port sends and accepts. */
#define XCV_LINUX_HELLO_VERSION 1u
/** @brief Handshake flag: the window is a file that survives a device restart. */
#define XCV_LINUX_HELLO_FILE 0x1u
/** @brief Handshake flag: both sides busy-poll; doorbells are not rung. */
#define XCV_LINUX_HELLO_BUSY_POLL 0x2u
/** @brief Descriptors sent with the handshake: window, driver-to-device, device-to-driver. */
#define XCV_LINUX_HELLO_NFDS 3u
/** @brief Positive return of xcv_linux_link_reconnect(): the window was replaced and remapped. */
#define XCV_LINUX_WINDOW_NEW 1
/** @brief Longest socket path accepted (sun_path without its NUL). */
#define XCV_LINUX_PATH_MAX 107u

/**
 * @brief The handshake header the device side sends (all fields little-endian on the wire).
 * Public so tests and other implementations can speak the protocol.
 */
struct xcv_linux_hello {
    uint32_t magic;       /**< ::XCV_LINUX_HELLO_MAGIC. */
    uint16_t version;     /**< ::XCV_LINUX_HELLO_VERSION. */
    uint16_t flags;       /**< ::XCV_LINUX_HELLO_FILE, ::XCV_LINUX_HELLO_BUSY_POLL. */
    uint32_t nfds;        /**< Descriptors attached: ::XCV_LINUX_HELLO_NFDS. */
    uint32_t reserved;    /**< Zero. */
    uint64_t window_size; /**< Bytes of the window; must equal the window fd's st_size. */
    uint64_t bus_base;    /**< Bus address of the window's first byte. */
};

/** @brief A shared window mapped in this process. Caller-allocated. */
struct xcv_linux_shm {
    int fd;      /**< The backing file (memfd or regular file), owned; -1 when closed. */
    void *local; /**< Local address of the mapping; NULL when closed. */
    size_t size; /**< Mapped bytes. */
};

/** @brief Options of the device side. Read during xcv_linux_link_listen() only. */
struct xcv_linux_link_config {
    size_t window_size;   /**< Window bytes (> 0). */
    uint64_t bus_base;    /**< Bus base of the window (usually 0). */
    const char *shm_path; /**< NULL: anonymous memfd. Else a file (e.g. "/dev/shm/x") created or
                               reopened with its contents, so a restarted device keeps them. */
    bool busy_poll;       /**< Both sides busy-poll instead of ringing eventfds. */
};

/**
 * @brief One side of a Linux channel link. Caller-allocated; initialise it with
 * xcv_linux_link_listen() or xcv_linux_link_connect(). Members may be read, not written.
 */
struct xcv_linux_link {
    int sock;                 /**< Connected socket to the peer, or -1. */
    int listen_sock;          /**< Device side: the listening socket; -1 on the driver side. */
    struct xcv_linux_shm shm; /**< The window mapping. */
    int efd_tx;               /**< eventfd this side writes to ring the peer. */
    int efd_rx;               /**< eventfd the peer writes to ring this side. */
    bool busy_poll;           /**< Busy-poll mode (device: configured; driver: from the peer). */
    bool file_backed;         /**< The window is a file that survives a device restart. */
    enum xcv_role role;       /**< Which side this is. */
    uint64_t bus_base;        /**< Bus base of the window. */
    char path[XCV_LINUX_PATH_MAX + 1u]; /**< The socket path (for reconnect and unlink). */
    uint64_t path_dev; /**< @private device side: identity of the bound socket file */
    uint64_t path_ino; /**< @private */
};

/**
 * @brief Create an anonymous window: memfd_create, sealed against resizing, mapped MAP_SHARED.
 * @param size Bytes (> 0).
 * @param[out] out Caller-owned; filled on success (the mapping and fd are then owned by it).
 * @return ::XCV_OK, ::XCV_EINVAL, or ::XCV_EPORT (errno set).
 */
int xcv_linux_shm_create(size_t size, struct xcv_linux_shm *out);

/**
 * @brief Open (or create) a file-backed window, typically in /dev/shm, and map it MAP_SHARED.
 *
 * With @p create, a missing or empty file is created or extended to @p size; an existing file
 * of another non-zero size is refused (shrinking it would fault the peer's mapping). Without
 * @p create the file must exist and, unless @p size is 0 (take the file's size), have @p size
 * bytes. The file is never truncated and its contents are kept.
 *
 * @return ::XCV_OK, ::XCV_EINVAL (NULL path, size mismatch, not a regular file), or
 *         ::XCV_EPORT (errno set).
 */
int xcv_linux_shm_open_path(const char *path, size_t size, bool create, struct xcv_linux_shm *out);

/**
 * @brief Map a window from a file descriptor (for example one received from the peer).
 * @param fd A regular file or memfd; on success @p out owns it, on failure the caller still does.
 * @param size Expected bytes, which must equal the file's st_size; 0 takes st_size.
 * @param[out] out Caller-owned; filled on success.
 * @return ::XCV_OK, ::XCV_EINVAL (bad fd type or size), or ::XCV_EPORT (errno set).
 */
int xcv_linux_shm_map_fd(int fd, size_t size, struct xcv_linux_shm *out);

/** @brief Unmap and close a window (idempotent; a zeroed or closed object is fine). */
void xcv_linux_shm_close(struct xcv_linux_shm *shm);

/**
 * @brief Device side: create the window, the two eventfds and a listening socket at @p path.
 *
 * A stale socket file at @p path (left by a crashed device process) is replaced; any other kind
 * of file there is an error. The socket is made accessible to the owner only (mode 0600).
 *
 * @param[out] l Caller-owned link; filled on success, left closed (fds -1) on failure.
 * @param path Socket path (<= ::XCV_LINUX_PATH_MAX bytes).
 * @param cfg Window size, bus base, optional file path, busy-poll.
 * @return ::XCV_OK, ::XCV_EINVAL, or ::XCV_EPORT (errno set).
 */
int xcv_linux_link_listen(struct xcv_linux_link *l, const char *path,
                          const struct xcv_linux_link_config *cfg);

/**
 * @brief Device side: wait up to @p timeout_ms for a driver, then send it the handshake.
 *
 * A new connection replaces the current one (a restarted driver). Call it again whenever the
 * listening socket (::xcv_linux_link::listen_sock) is readable.
 *
 * @param l A listening link.
 * @param timeout_ms Bound on the wait (0 = just check; negative is invalid).
 * @return ::XCV_OK, ::XCV_ETIMEDOUT, ::XCV_EINVAL, or ::XCV_EPORT (errno set).
 */
int xcv_linux_link_accept(struct xcv_linux_link *l, int timeout_ms);

/**
 * @brief Driver side: connect to the device at @p path, receive and validate the handshake,
 * map the window and adopt the eventfds. Retries while the device is not listening yet.
 *
 * @param[out] l Caller-owned link; filled on success, left closed on failure.
 * @param path The device's socket path.
 * @param timeout_ms Bound on the whole operation (>= 0).
 * @return ::XCV_OK, ::XCV_ETIMEDOUT, ::XCV_EINVAL, ::XCV_EPORT (errno set), or
 *         ::XCV_EPROTO_MSG when the peer's header or descriptors are malformed (every received
 *         descriptor is closed).
 */
int xcv_linux_link_connect(struct xcv_linux_link *l, const char *path, int timeout_ms);

/**
 * @brief Driver side: connect again to the same path after the device side restarted (or the
 * connection dropped) and adopt the new eventfds.
 *
 * When the peer offers the same window file (same device and inode) the mapping is kept and
 * ::XCV_OK is returned. Otherwise the new window is mapped, the old mapping released, and
 * ::XCV_LINUX_WINDOW_NEW returned: the caller must set up its channel again on the new
 * ::xcv_linux_link::shm. On failure the link keeps its previous state.
 *
 * @return ::XCV_OK, ::XCV_LINUX_WINDOW_NEW, or an error as for xcv_linux_link_connect().
 */
int xcv_linux_link_reconnect(struct xcv_linux_link *l, int timeout_ms);

/**
 * @brief Tell whether the peer closed its end of the socket (it exited or restarted).
 * Never blocks. Either side may call it.
 * @return ::XCV_OK while connected, ::XCV_EPEERRESET when the peer is gone (or never
 *         connected), ::XCV_EINVAL for NULL.
 */
int xcv_linux_link_check_peer(const struct xcv_linux_link *l);

/**
 * @brief Close everything the link holds. The device side also removes its socket file.
 * The window file of a file-backed window is kept (remove it with unlink() when done).
 * Idempotent.
 */
void xcv_linux_link_close(struct xcv_linux_link *l);

/**
 * @brief Describe the link's window as an ::xcv_window (this side's mapping, the bus base).
 * @return ::XCV_OK or ::XCV_EINVAL when the link holds no window.
 */
int xcv_linux_link_window(const struct xcv_linux_link *l, struct xcv_window *w);

/**
 * @brief Build a port over a link. The link must outlive the port and every object using it.
 *
 * notify writes 1 to ::xcv_linux_link::efd_tx (a saturated counter counts as rung; the
 * doorbell number is ignored: one eventfd per direction); now_ns is CLOCK_MONOTONIC; wait
 * polls ::xcv_linux_link::efd_rx up to the deadline and drains it; log prints to stderr; no
 * cache operations (coherent); no lock. In busy-poll mode notify does nothing and wait spins
 * briefly with a pause instruction, then returns 0 so the caller polls again.
 *
 * @param l The link (the port's context).
 * @param[out] port Caller-owned port to fill.
 */
void xcv_linux_port_init(struct xcv_linux_link *l, struct xcv_port *port);

/**
 * @brief The descriptor to watch (EPOLLIN) for this side's doorbell: ::xcv_linux_link::efd_rx.
 * In busy-poll mode it never becomes readable.
 * @return The fd, or ::XCV_EINVAL for NULL or a closed link.
 */
int xcv_linux_link_event_fd(const struct xcv_linux_link *l);

/**
 * @brief Drain this side's doorbell after the event fd became readable.
 * @return The number of rings since the last drain (>= 0; 0 if none), ::XCV_EINVAL, or
 *         ::XCV_EPORT (errno set).
 */
int xcv_linux_link_ack(struct xcv_linux_link *l);

/**
 * @brief Fill @p buf with @p len bytes from the kernel's random source (getrandom), retrying
 * on partial reads and signals. For an entropy (virtio-rng) device model.
 * @return ::XCV_OK, ::XCV_EINVAL (NULL with len > 0), or ::XCV_EPORT (errno set).
 */
int xcv_linux_entropy(void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_PORT_LINUX_H */
