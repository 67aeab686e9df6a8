/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file port.h
 * @brief The platform port interface: the few things the library needs from a platform.
 *
 * A port fills a ::xcv_port_ops table once (usually a `static const` object) and pairs it with
 * a context pointer in a ::xcv_port. The library never calls the table per descriptor: doorbells
 * once per batch, cache maintenance once per batch, the clock only while waiting on the peer.
 * Memory barriers are C11 fences inside the core, not port calls.
 *
 * Receiving a doorbell is the port's job (an ISR, an eventfd in an event loop, or polling); the
 * port then calls the documented entry point of the object the doorbell belongs to.
 *
 * Threading: the library holds no locks of its own. One object (queue, channel) must be used by
 * one thread at a time, or the caller supplies ::xcv_port_ops::lock / ::xcv_port_ops::unlock,
 * which the channel takes around its public entry points.
 */
#ifndef XCVIRTIO_PORT_H
#define XCVIRTIO_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Severity of a message passed to ::xcv_port_ops::log. */
enum xcv_log_level {
    XCV_LOG_ERROR = 0, /**< Something failed; an object may now be broken. */
    XCV_LOG_WARN = 1,  /**< Something unusual that was handled. */
    XCV_LOG_INFO = 2,  /**< State changes (device reset, peer restart). */
    XCV_LOG_DEBUG = 3  /**< Verbose tracing. */
};

/**
 * @brief Operations a platform provides. Members marked optional may be NULL.
 *
 * All functions receive the ::xcv_port::ctx pointer as their first argument. None of them may
 * call back into the library object that invoked it.
 */
struct xcv_port_ops {
    /**
     * @brief Ring the peer's doorbell (required).
     * @param doorbell Which doorbell: a queue's or a channel's, as configured by the caller.
     * @return 0 on success or a negative ::xcv_err (typically ::XCV_EPORT).
     */
    int (*notify)(void *ctx, uint32_t doorbell);

    /**
     * @brief Monotonic clock in nanoseconds (required by the channel for its timeouts).
     * Must never go backwards; the epoch is arbitrary.
     */
    uint64_t (*now_ns)(void *ctx);

    /**
     * @brief Write back (clean) the data cache over [addr, addr+len) (optional).
     * Needed only where the shared window is not coherent between the compartments.
     */
    void (*cache_clean)(void *ctx, const void *addr, size_t len);

    /**
     * @brief Invalidate the data cache over [addr, addr+len) (optional). See cache_clean.
     */
    void (*cache_invalidate)(void *ctx, const void *addr, size_t len);

    /**
     * @brief Wait for an event (a doorbell) or until @p deadline_ns on the now_ns clock (optional).
     * May return early and spuriously. Without it the library busy-polls up to the deadline.
     * @return 0, or a negative ::xcv_err; ::XCV_ETIMEDOUT when the deadline passed.
     */
    int (*wait)(void *ctx, uint64_t deadline_ns);

    /** @brief Take the caller's lock (optional; for callers sharing an object between threads). */
    void (*lock)(void *ctx);
    /** @brief Release the lock taken by lock (optional, paired with lock). */
    void (*unlock)(void *ctx);

    /**
     * @brief Diagnostic sink (optional). @p what is a static string naming the event, @p id the
     * object (queue index, device id) it concerns, @p err an ::xcv_err or 0.
     * Called when an object becomes broken and on state changes; never on the hot path.
     */
    void (*log)(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err);
};

/**
 * @brief A port: an ops table plus the context passed to every operation.
 * Owned by the caller; it must outlive every object configured with it.
 */
struct xcv_port {
    const struct xcv_port_ops *ops; /**< The operations; never NULL in a configured port. */
    void *ctx;                      /**< Passed unchanged to every operation. */
};

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_PORT_H */
