/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ARMv8 side of the shared two-compartment programs (ports/common/compartments): the memory
 * map and doorbells of the demo platform on QEMU virt. Images built with DEMO_USE_DTB take the
 * channel (window, doorbells) from their device trees instead, within the window area below.
 *
 *   0x40000000  1 MiB   device compartment's DTB, placed by QEMU (-dtb)
 *   0x40100000  1 MiB   driver compartment's DTB (-device loader; its address is the x0 of
 *                       PSCI CPU_ON). Mapped (one 2 MiB block) only by DEMO_USE_DTB images.
 *   0x40200000  30 MiB  device compartment image (CPU0, loaded with -kernel)
 *   0x42000000  32 MiB  driver compartment image (CPU1, -device loader, started by PSCI)
 *   0x44000000  2 MiB   shared: channel window (1 MiB) + test mailbox at +1 MiB
 *   0x44000000  64 MiB  where a device tree may place the channel window (up to 0x48000000,
 *                       the end of RAM with -m 128M), never over the mailbox
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

#define DEMO_DTB_BLOCK 0x40000000u /* 2 MiB block holding both compartments' DTBs */
#define DEMO_DTB_BLOCK_SIZE 0x200000u
#define DEMO_DEVICE_DTB 0x40000000u       /* QEMU puts -dtb at the RAM base */
#define DEMO_DRIVER_DTB 0x40100000u       /* -device loader,file=<driver dtb>,addr=... */
#define DEMO_WINDOW_AREA_BASE 0x44000000u /* a channel window must lie in this range */
#define DEMO_WINDOW_AREA_END 0x48000000u
#define DEMO_MAILBOX_SIZE 0x1000u

#endif /* XCV_ARMV8_DEMO_PORT_H */
