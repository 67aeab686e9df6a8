/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ARMv8 side of the shared two-compartment programs (ports/common/compartments): the memory
 * map and doorbells of the demo platform on QEMU virt (hard-coded; a device tree would carry
 * the same values).
 *
 *   0x40000000  2 MiB   DTB placed by QEMU (not mapped by either compartment)
 *   0x40200000  30 MiB  device compartment image (CPU0, loaded with -kernel)
 *   0x42000000  32 MiB  driver compartment image (CPU1, -device loader, started by PSCI)
 *   0x44000000  2 MiB   shared: channel window (1 MiB) + test mailbox at +1 MiB
 */
#ifndef XCV_ARMV8_DEMO_PORT_H
#define XCV_ARMV8_DEMO_PORT_H

#include "xcvirtio/port_armv8.h"

#define DEMO_SHARED_BASE 0x44000000u
#define DEMO_SHARED_SIZE 0x200000u
#define DEMO_WINDOW_BASE 0x44000000u
#define DEMO_WINDOW_SIZE 0x100000u
#define DEMO_MAILBOX 0x44100000u
#define DEMO_DOORBELL_TO_DEVICE 1u /* SGI the driver sends to the device's CPU */
#define DEMO_DOORBELL_TO_DRIVER 2u /* SGI the device sends to the driver's CPU */

#define DEMO_DEVICE_MPIDR 0x0u        /* CPU of the device compartment */
#define DEMO_DRIVER_MPIDR 0x1u        /* CPU of the driver compartment */
#define DEMO_DRIVER_ENTRY 0x42000000u /* entry of the driver image (its RAM base) */

#endif /* XCV_ARMV8_DEMO_PORT_H */
