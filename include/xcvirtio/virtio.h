/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file virtio.h
 * @brief virtio constants (virtio 1.2): device ids, status bits, feature bits, and the
 *        explicit little-endian helpers every shared-memory field goes through.
 *
 * Everything here is pure data or side-effect-free inline code; both roles use it.
 */
#ifndef XCVIRTIO_VIRTIO_H
#define XCVIRTIO_VIRTIO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Device ids (virtio 1.2, section 5)
 *  @{ */
#define XCV_VIRTIO_ID_NET 1u     /**< Network card. */
#define XCV_VIRTIO_ID_BLOCK 2u   /**< Block device. */
#define XCV_VIRTIO_ID_CONSOLE 3u /**< Console. */
#define XCV_VIRTIO_ID_RNG 4u     /**< Entropy source. */
/** @} */

/** @name Device status bits (virtio 1.2, section 2.1)
 *  @{ */
#define XCV_VIRTIO_STATUS_ACKNOWLEDGE 1u  /**< The driver has noticed the device. */
#define XCV_VIRTIO_STATUS_DRIVER 2u       /**< The driver knows how to drive the device. */
#define XCV_VIRTIO_STATUS_DRIVER_OK 4u    /**< The driver is set up and ready. */
#define XCV_VIRTIO_STATUS_FEATURES_OK 8u  /**< Feature negotiation is complete. */
#define XCV_VIRTIO_STATUS_NEEDS_RESET 64u /**< The device hit an error it cannot recover from. */
#define XCV_VIRTIO_STATUS_FAILED 128u     /**< The driver gave up on the device. */
/** @} */

/** @name Reserved (transport and ring) feature bits (virtio 1.2, section 6)
 *  @{ */
#define XCV_VIRTIO_F_INDIRECT_DESC 28u   /**< Indirect descriptor tables. */
#define XCV_VIRTIO_F_EVENT_IDX 29u       /**< used_event / avail_event suppression. */
#define XCV_VIRTIO_F_VERSION_1 32u       /**< Compliance with virtio 1.x. */
#define XCV_VIRTIO_F_ACCESS_PLATFORM 33u /**< Device access goes through a platform IOMMU. */
#define XCV_VIRTIO_F_RING_PACKED 34u     /**< Packed virtqueue layout. */
#define XCV_VIRTIO_F_IN_ORDER 35u        /**< Buffers are used in the order made available. */
/** @} */

/** @brief The 64-bit feature mask for feature bit @p bit. */
#define XCV_FEATURE(bit) (UINT64_C(1) << (bit))

/** @name Split-ring descriptor flags (virtio 1.2, section 2.7.5)
 *  @{ */
#define XCV_VRING_DESC_F_NEXT 1u     /**< The chain continues in the next field. */
#define XCV_VRING_DESC_F_WRITE 2u    /**< Device-writable buffer (else device-readable). */
#define XCV_VRING_DESC_F_INDIRECT 4u /**< The buffer holds an indirect descriptor table. */
/** @} */

/** @name Packed-ring descriptor flags (virtio 1.2, section 2.8.1); NEXT, WRITE, INDIRECT as above
 *  @{ */
#define XCV_VRING_PACKED_DESC_F_AVAIL 0x0080u /**< Bit 7: the driver's available wrap counter. */
#define XCV_VRING_PACKED_DESC_F_USED 0x8000u  /**< Bit 15: the device's used wrap counter. */
/** @} */

/** @name Packed-ring event suppression flags (virtio 1.2, section 2.8.10)
 *  @{ */
#define XCV_VRING_PACKED_EVENT_ENABLE 0u  /**< Notify (interrupt) on every buffer. */
#define XCV_VRING_PACKED_EVENT_DISABLE 1u /**< Do not notify. */
#define XCV_VRING_PACKED_EVENT_DESC 2u    /**< Notify at the descriptor in off_wrap (EVENT_IDX). */
/** @} */

/** @brief Avail ring flag: the driver asks the device not to interrupt (no EVENT_IDX). */
#define XCV_VRING_AVAIL_F_NO_INTERRUPT 1u
/** @brief Used ring flag: the device asks the driver not to notify (no EVENT_IDX). */
#define XCV_VRING_USED_F_NO_NOTIFY 1u

/** @brief Largest queue size a split ring may have (virtio 1.2, section 2.7). */
#define XCV_VRING_MAX_NUM 32768u

/** @name Little-endian accessors
 * All virtio structures are little-endian. These helpers load and store through memcpy, so
 * they are safe for any alignment and compile to a single access on little-endian targets.
 * @{ */
/** @cond XCV_INTERNAL */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define XCV_LE16(v) __builtin_bswap16(v)
#define XCV_LE32(v) __builtin_bswap32(v)
#define XCV_LE64(v) __builtin_bswap64(v)
#else
#define XCV_LE16(v) (v)
#define XCV_LE32(v) (v)
#define XCV_LE64(v) (v)
#endif
/** @endcond */
/** @brief Read a little-endian 16-bit value from @p p. */
static inline uint16_t xcv_le16_load(const void *p)
{
    uint16_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return XCV_LE16(v);
}
/** @brief Read a little-endian 32-bit value from @p p. */
static inline uint32_t xcv_le32_load(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return XCV_LE32(v);
}
/** @brief Read a little-endian 64-bit value from @p p. */
static inline uint64_t xcv_le64_load(const void *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, sizeof(v));
    return XCV_LE64(v);
}
/** @brief Write @p v as a little-endian 16-bit value at @p p. */
static inline void xcv_le16_store(void *p, uint16_t v)
{
    uint16_t w = XCV_LE16(v);
    __builtin_memcpy(p, &w, sizeof(w));
}
/** @brief Write @p v as a little-endian 32-bit value at @p p. */
static inline void xcv_le32_store(void *p, uint32_t v)
{
    uint32_t w = XCV_LE32(v);
    __builtin_memcpy(p, &w, sizeof(w));
}
/** @brief Write @p v as a little-endian 64-bit value at @p p. */
static inline void xcv_le64_store(void *p, uint64_t v)
{
    uint64_t w = XCV_LE64(v);
    __builtin_memcpy(p, &w, sizeof(w));
}
/** @} */

/**
 * @brief The EVENT_IDX test (virtio 1.2, section 2.7.10): should a notification be sent?
 *
 * True when @p event_idx lies in the half-open window (@p old_idx, @p new_idx], computed in
 * 16-bit modular arithmetic so it is correct across the wrap.
 *
 * @param event_idx The peer's used_event or avail_event value.
 * @param new_idx The index just published.
 * @param old_idx The index published at the previous notification decision.
 */
static inline int xcv_vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event_idx - 1u) < (uint16_t)(new_idx - old_idx);
}

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_VIRTIO_H */
