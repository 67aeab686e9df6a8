/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file vring.h
 * @brief Virtqueue memory layouts, split (virtio 1.2, section 2.7) and packed (2.8), and their
 * sizing macros.
 *
 * A split ring has three areas: the descriptor table and the available ring, both written only
 * by the driver, and the used ring, written only by the device. libxcvirtio places the used
 * ring on its own cache line(s) so that no cache line is written by both sides, and pads the
 * end of the ring to a whole line. The three areas are still separately addressable, exactly
 * as virtio 1.x transports describe them (desc, driver area, device area).
 *
 * Layout of a ring of @c num entries at a line-aligned base:
 * @verbatim
 *   0                      descriptor table   16 * num bytes            (driver writes)
 *   16*num                 available ring     6 + 2 * num bytes         (driver writes)
 *   XCV_VRING_USED_OFFSET  used ring          6 + 8 * num bytes         (device writes)
 *   XCV_VRING_BYTES        end, line aligned
 * @endverbatim
 * The last 16-bit field of the available ring is used_event, that of the used ring avail_event
 * (meaningful only with VIRTIO_F_EVENT_IDX).
 */
#ifndef XCVIRTIO_VRING_H
#define XCVIRTIO_VRING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Default cache line size used for layout when a config passes 0. */
#define XCV_CACHE_LINE_DEFAULT 64u

/** @brief Round @p x up to a multiple of @p a (a power of two). */
#define XCV_ALIGN_UP(x, a) (((x) + ((a)-1u)) & ~((size_t)(a)-1u))

/** @brief Bytes of the descriptor table of a ring of @p num entries. */
#define XCV_VRING_DESC_BYTES(num) ((size_t)16u * (num))
/** @brief Bytes of the available ring (flags, idx, ring[num], used_event). */
#define XCV_VRING_AVAIL_BYTES(num) ((size_t)6u + (size_t)2u * (num))
/** @brief Bytes of the used ring (flags, idx, ring[num] of {id, len}, avail_event). */
#define XCV_VRING_USED_BYTES(num) ((size_t)6u + (size_t)8u * (num))
/** @brief Offset of the available ring from the ring base. */
#define XCV_VRING_AVAIL_OFFSET(num) XCV_VRING_DESC_BYTES(num)
/** @brief Offset of the used ring from the ring base, on its own cache line of @p line bytes. */
#define XCV_VRING_USED_OFFSET(num, line)                                                           \
    XCV_ALIGN_UP(XCV_VRING_DESC_BYTES(num) + XCV_VRING_AVAIL_BYTES(num), (size_t)(line))
/**
 * @brief Total bytes a split ring of @p num entries needs with cache line @p line.
 * The base must be aligned to @p line. Usable in static array sizes.
 */
#define XCV_VRING_BYTES(num, line)                                                                 \
    XCV_ALIGN_UP(XCV_VRING_USED_OFFSET(num, line) + XCV_VRING_USED_BYTES(num), (size_t)(line))

/** @brief Bytes of one split-ring descriptor: le64 addr, le32 len, le16 flags, le16 next. */
#define XCV_VRING_DESC_SIZE 16u

/**
 * @name Packed ring (virtio 1.2, section 2.8)
 * A packed ring of @c num entries (1..32768, any value) is one descriptor ring of 16-byte
 * descriptors (le64 addr, le32 len, le16 id, le16 flags) that both sides write, a driver event
 * suppression area and a device event suppression area (le16 off_wrap, le16 flags each).
 * libxcvirtio places the driver area and the device area on their own cache lines:
 * @verbatim
 *   0                              descriptor ring          16 * num bytes  (both write)
 *   XCV_VRING_PACKED_DRIVER_OFFSET driver event suppression 4 bytes         (driver writes)
 *   XCV_VRING_PACKED_DEVICE_OFFSET device event suppression 4 bytes         (device writes)
 *   XCV_VRING_PACKED_BYTES         end, line aligned
 * @endverbatim
 * The ::xcv_vring_layout of a packed ring names the driver area @c avail and the device area
 * @c used.
 * @{
 */
/** @brief Offset of the driver event suppression area from the ring base. */
#define XCV_VRING_PACKED_DRIVER_OFFSET(num, line)                                                  \
    XCV_ALIGN_UP(XCV_VRING_DESC_BYTES(num), (size_t)(line))
/** @brief Offset of the device event suppression area from the ring base. */
#define XCV_VRING_PACKED_DEVICE_OFFSET(num, line)                                                  \
    (XCV_VRING_PACKED_DRIVER_OFFSET(num, line) + (size_t)(line))
/** @brief Total bytes a packed ring of @p num entries needs with cache line @p line. */
#define XCV_VRING_PACKED_BYTES(num, line)                                                          \
    (XCV_VRING_PACKED_DEVICE_OFFSET(num, line) + (size_t)(line))
/** @brief Bytes of one event suppression area: le16 off_wrap, le16 flags. */
#define XCV_VRING_PACKED_EVENT_BYTES 4u
/** @} */

/**
 * @brief Where the three areas of one ring are, locally and on the bus.
 * Filled by xcv_vring_layout(); plain data owned by the caller.
 */
struct xcv_vring_layout {
    uint16_t num;       /**< Number of entries (power of two). */
    void *desc;         /**< Local address of the descriptor table. */
    void *avail;        /**< Local address of the available ring (driver area). */
    void *used;         /**< Local address of the used ring (device area). */
    uint64_t desc_bus;  /**< Bus address of the descriptor table. */
    uint64_t avail_bus; /**< Bus address of the available ring. */
    uint64_t used_bus;  /**< Bus address of the used ring. */
};

/**
 * @brief Compute the layout of a ring placed at @p base (local) / @p base_bus (bus).
 *
 * Used by the driver role to place a ring it allocated (and to tell the device its areas).
 *
 * @param base Local address of the ring; aligned to @p line.
 * @param base_bus Bus address of the same byte.
 * @param num Entries, a power of two from 1 to 32768.
 * @param line Cache line size in bytes (power of two >= 16), or 0 for ::XCV_CACHE_LINE_DEFAULT.
 * @param[out] out Filled on success.
 * @return ::XCV_OK or ::XCV_EINVAL (NULL pointer, bad num or line, misaligned base).
 */
int xcv_vring_layout(void *base, uint64_t base_bus, uint32_t num, uint32_t line,
                     struct xcv_vring_layout *out);

/**
 * @brief Compute the layout of a packed ring placed at @p base / @p base_bus (driver role):
 * @c desc is the descriptor ring, @c avail the driver event suppression area and @c used the
 * device event suppression area, each on its own line (see ::XCV_VRING_PACKED_BYTES).
 * @param base Local address of the ring; aligned to @p line.
 * @param base_bus Bus address of the same byte.
 * @param num Entries, a power of two from 1 to 32768 (this library's drivers use powers of two;
 *            its device role accepts any size the spec allows).
 * @param line Cache line size in bytes (power of two >= 16), or 0 for ::XCV_CACHE_LINE_DEFAULT.
 * @param[out] out Filled on success.
 * @return ::XCV_OK or ::XCV_EINVAL, as xcv_vring_layout().
 */
int xcv_vring_packed_layout(void *base, uint64_t base_bus, uint32_t num, uint32_t line,
                            struct xcv_vring_layout *out);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_VRING_H */
