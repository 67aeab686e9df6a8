/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RISC-V side of the shared two-compartment programs (ports/common/compartments): the
 * memory map and doorbells of the demo platform on QEMU virt. Images built with DEMO_USE_DTB
 * take the channel (window, doorbells) from their device trees instead, within the window area
 * below.
 *
 *   0x80000000  32 MiB  M-mode: device compartment image (hart 0, -kernel, -bios none)
 *                       S-mode: OpenSBI (2 MiB), then the device image at 0x80200000 (30 MiB)
 *   0x82000000  32 MiB  driver compartment image (-device loader; hart 1 in M-mode, the hart
 *                       OpenSBI did not boot in S-mode)
 *   0x84000000  2 MiB   shared: channel window (1 MiB) + test mailbox at +1 MiB
 *   0x84000000  60 MiB  where a device tree may place the channel window (up to 0x87c00000),
 *                       never over the mailbox
 *   0x87c00000  2 MiB   driver compartment's DTB (-device loader; its address is the a1 the
 *                       device compartment starts the driver's hart with)
 *   0x87e00000  2 MiB   device compartment's DTB, placed by QEMU (-dtb; a1 at entry) or passed
 *                       on by OpenSBI
 *   0x10001000  32 KiB  QEMU's virtio-mmio transports: allowed only to images that call
 *                       demo_hw_map_devices() (the device-traffic test's device compartment)
 */
#ifndef XCV_RISCV_DEMO_PORT_H
#define XCV_RISCV_DEMO_PORT_H

#include "xcvirtio/port_riscv.h"

#define DEMO_SHARED_BASE 0x84000000u
#define DEMO_SHARED_SIZE 0x200000u
#define DEMO_WINDOW_BASE 0x84000000u
#define DEMO_WINDOW_SIZE 0x100000u
#define DEMO_MAILBOX 0x84100000u
#define DEMO_DOORBELL_TO_DEVICE XCV_RISCV_DOORBELL /* the peer hart's software interrupt */
#define DEMO_DOORBELL_TO_DRIVER XCV_RISCV_DOORBELL

#define DEMO_DRIVER_ENTRY 0x82000000u /* entry of the driver image (its RAM base) */
#define DEMO_DRIVER_HART_MMODE 1u     /* M-mode: the hart the driver image is linked for */
#define DEMO_DEVICE_HART_MMODE 0u     /* M-mode: the hart the device image is linked for */

#define DEMO_DTB_AREA 0x87c00000u /* both compartments' DTBs (4 MiB, naturally aligned) */
#define DEMO_DTB_AREA_SIZE 0x400000u
#define DEMO_DRIVER_DTB 0x87c00000u       /* -device loader,file=<driver dtb>,addr=... */
#define DEMO_WINDOW_AREA_BASE 0x84000000u /* a channel window must lie in this range */
#define DEMO_WINDOW_AREA_END 0x87c00000u
#define DEMO_MAILBOX_SIZE 0x1000u

#endif /* XCV_RISCV_DEMO_PORT_H */
