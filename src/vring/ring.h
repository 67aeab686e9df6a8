/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private: byte offsets of the split-ring fields (virtio 1.2, sections 2.7.5 to 2.7.8).
 * The driver writes the descriptor table and the available ring; the device writes the used
 * ring. Both roles use these offsets and nothing else to find a field.
 */
#ifndef XCV_SRC_VRING_RING_H
#define XCV_SRC_VRING_RING_H

#include <stddef.h>
#include <stdint.h>

/* Descriptor: le64 addr, le32 len, le16 flags, le16 next. */
#define XCV_DESC_ADDR 0u
#define XCV_DESC_LEN 8u
#define XCV_DESC_FLAGS 12u
#define XCV_DESC_NEXT 14u

/* Available ring: le16 flags, le16 idx, le16 ring[num], le16 used_event. */
#define XCV_AVAIL_FLAGS 0u
#define XCV_AVAIL_IDX 2u
#define XCV_AVAIL_RING(i) (4u + 2u * (size_t)(i))
#define XCV_AVAIL_USED_EVENT(num) XCV_AVAIL_RING(num)

/* Used ring: le16 flags, le16 idx, {le32 id, le32 len} ring[num], le16 avail_event. */
#define XCV_USED_FLAGS 0u
#define XCV_USED_IDX 2u
#define XCV_USED_RING(i) (4u + 8u * (size_t)(i))
#define XCV_USED_AVAIL_EVENT(num) XCV_USED_RING(num)

/* Packed-ring descriptor (virtio 1.2, 2.8.13): le64 addr, le32 len, le16 id, le16 flags. The
 * driver writes a descriptor to make it available, the device overwrites it to mark it used. */
#define XCV_PDESC_ADDR 0u
#define XCV_PDESC_LEN 8u
#define XCV_PDESC_ID 12u
#define XCV_PDESC_FLAGS 14u

/* Packed-ring event suppression area (2.8.10): le16 off_wrap (bits 0-14 the descriptor offset,
 * bit 15 its wrap counter), le16 flags (ENABLE, DISABLE, DESC). The driver area is written by
 * the driver, the device area by the device. */
#define XCV_PEVT_OFF_WRAP 0u
#define XCV_PEVT_FLAGS 2u

#endif /* XCV_SRC_VRING_RING_H */
