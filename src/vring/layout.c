/* SPDX-License-Identifier: Apache-2.0 */
/* Placement of the three areas of a split or a packed ring (see vring.h for the pictures). */
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/vring.h"

#include "../common/shm.h"

/* Check the arguments both layouts share and fill @out from the offsets of the second and third
 * areas and the ring's total size. */
static int place(void *base, uint64_t base_bus, uint32_t num, uint32_t line, size_t area2,
                 size_t area3, size_t bytes, struct xcv_vring_layout *out)
{
    if (base == NULL || out == NULL || !xcv_is_pow2(num) || num > XCV_VRING_MAX_NUM ||
        !xcv_is_pow2(line) || line < 16u)
        return XCV_EINVAL;
    if (((uintptr_t)base & (line - 1u)) != 0u || (base_bus & (line - 1u)) != 0u)
        return XCV_EINVAL;
    if (base_bus + bytes < base_bus)
        return XCV_EINVAL;

    uint8_t *b = (uint8_t *)base;
    out->num = (uint16_t)num;
    out->desc = b;
    out->avail = b + area2;
    out->used = b + area3;
    out->desc_bus = base_bus;
    out->avail_bus = base_bus + area2;
    out->used_bus = base_bus + area3;
    return XCV_OK;
}

int xcv_vring_layout(void *base, uint64_t base_bus, uint32_t num, uint32_t line,
                     struct xcv_vring_layout *out)
{
    if (line == 0u)
        line = XCV_CACHE_LINE_DEFAULT;
    return place(base, base_bus, num, line, XCV_VRING_AVAIL_OFFSET(num),
                 XCV_VRING_USED_OFFSET(num, line), XCV_VRING_BYTES(num, line), out);
}

int xcv_vring_packed_layout(void *base, uint64_t base_bus, uint32_t num, uint32_t line,
                            struct xcv_vring_layout *out)
{
    if (line == 0u)
        line = XCV_CACHE_LINE_DEFAULT;
    return place(base, base_bus, num, line, XCV_VRING_PACKED_DRIVER_OFFSET(num, line),
                 XCV_VRING_PACKED_DEVICE_OFFSET(num, line), XCV_VRING_PACKED_BYTES(num, line), out);
}
