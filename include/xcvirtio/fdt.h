/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fdt.h
 * @brief Channel configuration from a flattened device tree (the `xcvirtio,channel` binding).
 *
 * Every port (Linux userspace, bare-metal ARMv8, bare-metal RISC-V) describes its channels the
 * same way: a node with `compatible = "xcvirtio,channel"` naming the role, the shared window,
 * the doorbells, the control-ring geometry and the devices. docs/binding.md is the reference
 * of the binding; this header is the parser.
 *
 * The parser is portable C (libfdt plus string.h, no heap, no global state) and lives in the
 * separate library `xcvirtio_fdt` (CMake target xcvirtio::fdt), so the core library stays free
 * of dependencies. Every property is checked for length and range before use; a tree that
 * breaks the binding yields ::XCV_EINVAL and leaves the output untouched.
 *
 * A blob from an untrusted source should pass xcv_fdt_check() first: the other functions rely
 * on libfdt, which only bounds-checks structure offsets against the size in the blob's header.
 */
#ifndef XCVIRTIO_FDT_H
#define XCVIRTIO_FDT_H

#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/channel.h"
#include "xcvirtio/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The compatible string of a channel node. */
#define XCV_FDT_COMPATIBLE "xcvirtio,channel"
/** @brief Default of `xcvirtio,msg-slots`. */
#define XCV_FDT_DEFAULT_MSG_SLOTS 32u
/** @brief Default of `xcvirtio,cache-line`. */
#define XCV_FDT_DEFAULT_CACHE_LINE 64u
/** @brief Most queues a device node may declare with `xcvirtio,num-queues`. */
#define XCV_FDT_MAX_QUEUES 32u
/** @brief Largest `xcvirtio,queue-size` (the split-ring maximum). */
#define XCV_FDT_MAX_QUEUE_SIZE 32768u

/** @brief One `device@N` child of a channel node. */
struct xcv_fdt_device {
    uint32_t num;        /**< Device number on the channel (`reg`), 0..15. */
    uint32_t device_id;  /**< virtio device id (`virtio,device-id`), non-zero. */
    uint32_t num_queues; /**< `xcvirtio,num-queues`, 1..32; 0 when absent (model default). */
    uint32_t queue_size; /**< `xcvirtio,queue-size`, power of two; 0 when absent. */
};

/**
 * @brief A parsed channel node. Caller-allocated (it holds no pointers into the blob, so the
 * blob may be freed after parsing).
 */
struct xcv_fdt_channel {
    enum xcv_role role;       /**< `xcvirtio,role`: "driver" or "device". */
    uint64_t window_base;     /**< Bus base of the shared window. */
    uint64_t window_size;     /**< Size of the shared window in bytes (non-zero, no wrap). */
    uint32_t doorbell_tx;     /**< First cell of `xcvirtio,doorbells`: rung on the peer. */
    uint32_t doorbell_rx;     /**< Second cell: the doorbell this side receives. */
    uint32_t msg_slots;       /**< `xcvirtio,msg-slots` (power of two, 4..1024; default 32). */
    uint64_t queue_area_size; /**< `xcvirtio,queue-area-size`; default: a quarter of the window. */
    uint32_t cache_line;      /**< `xcvirtio,cache-line` (power of two, 16..4096; default 64). */
    uint64_t timeout_us;      /**< `xcvirtio,timeout-us`; 0 (default) = the channel default. */
    uint32_t num_devices;     /**< Entries used in @c devices, sorted by device number. */
    struct xcv_fdt_device devices[XCV_CHANNEL_MAX_DEVICES]; /**< The `device@N` children. */
};

/**
 * @brief Validate a whole blob (header, structure block, strings) against its buffer.
 *
 * Either role may call it, before any other function of this header, on a blob that came from
 * outside the image (a file, the peer, a boot loader).
 *
 * @param dtb The blob (caller-owned, read only).
 * @param bufsize Bytes readable at @p dtb.
 * @return ::XCV_OK, or ::XCV_EINVAL if @p dtb is NULL or the blob is malformed.
 */
int xcv_fdt_check(const void *dtb, size_t bufsize);

/**
 * @brief Find the enabled channel nodes (`compatible = "xcvirtio,channel"`, `status` absent,
 * "okay" or "ok").
 *
 * @param dtb The blob (caller-owned, read only).
 * @param[out] offsets Receives the node offsets of the first @p max channels, in tree order;
 *                     may be NULL when @p max is 0.
 * @param max Capacity of @p offsets (>= 0).
 * @return The number of channels in the tree (may exceed @p max: only @p max are stored), or
 *         ::XCV_EINVAL for a NULL or malformed blob, a negative @p max, or NULL @p offsets
 *         with @p max > 0.
 */
int xcv_fdt_find_channels(const void *dtb, int *offsets, int max);

/**
 * @brief Parse and validate one channel node.
 *
 * Reads the role, the window (`memory-region` pointing at a /reserved-memory child, or a `reg`
 * on the channel node, honouring the parent's `#address-cells` / `#size-cells`), the doorbells,
 * the ring geometry, the timeout and the `device@N` children (disabled ones are skipped).
 *
 * @param dtb The blob (caller-owned, read only).
 * @param node_offset Offset of the channel node (from xcv_fdt_find_channels()).
 * @param[out] out Caller-owned; written only on success.
 * @return ::XCV_OK, or ::XCV_EINVAL when an argument is NULL, the node is not a channel, or any
 *         property is missing, has a bad length or is out of range.
 */
int xcv_fdt_channel_config(const void *dtb, int node_offset, struct xcv_fdt_channel *out);

/**
 * @brief Fill a channel configuration from a parsed node.
 *
 * The window is [@p window_local, + window_size) at bus base window_base; the doorbell rung on
 * the peer is doorbell_tx; the timeout is converted to nanoseconds.
 *
 * @param f The parsed node.
 * @param window_local Where this compartment maps the window (caller-owned mapping).
 * @param port The platform port (caller-owned; must outlive the channel).
 * @param[out] out Caller-owned; written only on success.
 * @return ::XCV_OK, or ::XCV_EINVAL for a NULL argument, a window that wraps, or values out of
 *         range (for example a timeout that overflows in nanoseconds).
 */
int xcv_fdt_to_channel_config(const struct xcv_fdt_channel *f, void *window_local,
                              const struct xcv_port *port, struct xcv_channel_config *out);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_FDT_H */
