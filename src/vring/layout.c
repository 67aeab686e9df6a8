/* SPDX-License-Identifier: Apache-2.0 */
/* Placement of the three areas of a split or a packed ring (see vring.h for the pictures). */
#include "xcvirtio/error.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/vring.h"

#include "../common/shm.h"

int xcv_vring_layout(void *base, uint64_t base_bus, uint32_t num, uint32_t line,
                     struct xcv_vring_layout *out)
{
    if (line == 0u)
        line = XCV_CACHE_LINE_DEFAULT;
    if (base == NULL || out == NULL || !xcv_is_pow2(num) || num > XCV_VRING_MAX_NUM ||
        !xcv_is_pow2(line) || line < 16u)
        return XCV_EINVAL;
    if (((uintptr_t)base & (line - 1u)) != 0u || (base_bus & (line - 1u)) != 0u)
        return XCV_EINVAL;
    if (base_bus + XCV_VRING_BYTES(num, line) < base_bus)
        return XCV_EINVAL;

    uint8_t *b = (uint8_t *)base;
    out->num = (uint16_t)num;
    out->desc = b;
    out->avail = b + XCV_VRING_AVAIL_OFFSET(num);
    out->used = b + XCV_VRING_USED_OFFSET(num, line);
    out->desc_bus = base_bus;
    out->avail_bus = base_bus + XCV_VRING_AVAIL_OFFSET(num);
    out->used_bus = base_bus + XCV_VRING_USED_OFFSET(num, line);
    return XCV_OK;
}

int xcv_vring_packed_layout(void *base, uint64_t base_bus, uint32_t num, uint32_t line,
                            struct xcv_vring_layout *out)
{
    if (line == 0u)
        line = XCV_CACHE_LINE_DEFAULT;
    if (base == NULL || out == NULL || !xcv_is_pow2(num) || num > XCV_VRING_MAX_NUM ||
        !xcv_is_pow2(line) || line < 16u)
        return XCV_EINVAL;
    if (((uintptr_t)base & (line - 1u)) != 0u || (base_bus & (line - 1u)) != 0u)
        return XCV_EINVAL;
    if (base_bus + XCV_VRING_PACKED_BYTES(num, line) < base_bus)
        return XCV_EINVAL;

    uint8_t *b = (uint8_t *)base;
    out->num = (uint16_t)num;
    out->desc = b;
    out->avail = b + XCV_VRING_PACKED_DRIVER_OFFSET(num, line);
    out->used = b + XCV_VRING_PACKED_DEVICE_OFFSET(num, line);
    out->desc_bus = base_bus;
    out->avail_bus = base_bus + XCV_VRING_PACKED_DRIVER_OFFSET(num, line);
    out->used_bus = base_bus + XCV_VRING_PACKED_DEVICE_OFFSET(num, line);
    return XCV_OK;
}
