/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file window.h
 * @brief Shared memory windows and the one bounds-checked bus-to-local translation.
 *
 * A window is memory both compartments can reach. Descriptor addresses are *bus* addresses: on
 * bare metal the physical address, on Linux userspace a configured base (usually 0) plus the
 * offset inside the mapping. Each side maps the window at its own local address.
 *
 * The device role turns a peer-supplied (bus, len) into a local pointer only through
 * xcv_window_translate() or xcv_memmap_translate(): a range that wraps, or that is not wholly
 * inside one window, is a protocol error and is never accessed.
 */
#ifndef XCVIRTIO_WINDOW_H
#define XCVIRTIO_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief One shared memory window. Caller-owned; the memory it describes is caller-owned too.
 */
struct xcv_window {
    uint8_t *local;    /**< Where this compartment sees the window. */
    uint64_t bus_base; /**< The bus address of the window's first byte. */
    uint64_t size;     /**< Size in bytes; bus_base + size does not wrap. */
};

/**
 * @brief Describe a window.
 *
 * @param w Caller-owned object to fill.
 * @param local Local address of the window's first byte (not NULL).
 * @param bus_base Bus address of the window's first byte.
 * @param size Size in bytes (> 0; bus_base + size and local + size must not wrap).
 * @return ::XCV_OK, or ::XCV_EINVAL for a NULL pointer, zero size or a wrapping range.
 */
int xcv_window_init(struct xcv_window *w, void *local, uint64_t bus_base, uint64_t size);

/**
 * @brief Translate a peer-supplied bus range to a local pointer, checking bounds.
 *
 * Either role may call it. A zero-length range is valid if @p bus lies inside the window or at
 * its end.
 *
 * @param w The window.
 * @param bus Bus address of the first byte.
 * @param len Length in bytes.
 * @param[out] local Receives the local pointer on success; untouched on failure.
 * @return ::XCV_OK, ::XCV_EPROTO_OVERFLOW if bus + len wraps, ::XCV_EPROTO_WINDOW if the range
 *         is not wholly inside the window.
 */
int xcv_window_translate(const struct xcv_window *w, uint64_t bus, uint64_t len, void **local);

/**
 * @brief Translate a local range inside the window to its bus address.
 *
 * Used by the driver role to put buffers it owns into descriptors.
 *
 * @return ::XCV_OK, or ::XCV_EINVAL if [local, local+len) is not wholly inside the window.
 */
int xcv_window_to_bus(const struct xcv_window *w, const void *local, uint64_t len, uint64_t *bus);

/**
 * @brief A set of windows a device-role queue may address (for example, one per memory region
 * a vhost-user frontend shares). The array is caller-owned and must outlive its users.
 */
struct xcv_memmap {
    const struct xcv_window *windows; /**< Array of @c count windows. */
    uint32_t count;                   /**< Number of windows (>= 1). */
};

/**
 * @brief Translate a bus range through a set of windows: the range must lie wholly inside one.
 * @return As xcv_window_translate(); ::XCV_EPROTO_WINDOW if no window holds the whole range.
 */
int xcv_memmap_translate(const struct xcv_memmap *m, uint64_t bus, uint64_t len, void **local);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_WINDOW_H */
