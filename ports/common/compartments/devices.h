/* SPDX-License-Identifier: Apache-2.0 */
/* What the two compartments of the device-traffic test (devices_dev.c, devices_drv.c) share. */
#ifndef XCV_DEVICES_H
#define XCV_DEVICES_H

#include <stdint.h>

#define DEVICES_BLK_NUM 0u /* device numbers on the channel (the trees' device@N) */
#define DEVICES_NET_NUM 1u

/* The byte the driver compartment writes at disk offset @byte (a different value per sector). */
static inline uint8_t devices_pattern(uint64_t byte)
{
    uint64_t sector = byte / 512u;
    return (uint8_t)(sector * 29u + (byte % 512u) * 3u + 0x5au);
}

#endif /* XCV_DEVICES_H */
