/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RISC-V side of the shared two-compartment programs (ports/common/compartments): the
 * memory map and doorbells of the demo platform on QEMU virt (hard-coded; a device tree would
 * carry the same values).
 *
 *   0x80000000  32 MiB  M-mode: device compartment image (hart 0, -kernel, -bios none)
 *                       S-mode: OpenSBI (2 MiB), then the device image at 0x80200000 (30 MiB)
 *   0x82000000  32 MiB  driver compartment image (-device loader; hart 1 in M-mode, the hart
 *                       OpenSBI did not boot in S-mode)
 *   0x84000000  2 MiB   shared: channel window (1 MiB) + test mailbox at +1 MiB
 *   (QEMU puts its DTB near the top of RAM, 0x88000000 with the default 128 MiB.)
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

#endif /* XCV_RISCV_DEMO_PORT_H */
