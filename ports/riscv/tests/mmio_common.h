/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the RISC-V virtio-mmio driver test images: one compartment (M-mode on hart 0
 * with -bios none, or S-mode on the hart OpenSBI boots) drives QEMU's own virtio-mmio devices
 * (8 transports at 0x10001000 + n * 0x1000, PLIC source 1 + n). Memory is identity mapped and
 * left unprotected (the image does not call xcv_riscv_protect()), so the DMA area and buffers
 * (static arrays in the image's RAM) have local address = physical address = bus address.
 *
 * MMIO_EXPECT_VERSION (1 = legacy, QEMU's default; 2 = modern, -global
 * virtio-mmio.force-legacy=false) is the transport version the image insists on.
 */
#ifndef XCV_RISCV_MMIO_COMMON_H
#define XCV_RISCV_MMIO_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/mmio.h"
#include "xcvirtio/port_riscv.h"

#ifndef MMIO_EXPECT_VERSION
#error "MMIO_EXPECT_VERSION must be 1 or 2"
#endif

/* What the shared test bodies (ports/common/mmio) need from this port. */
#define MMIO_MAIN xcv_riscv_main
static inline uint64_t mmio_now_ns(void)
{
    return xcv_riscv_now_ns();
}
static inline void mmio_puts(const char *s)
{
    xcv_riscv_puts(s);
}
static inline void mmio_putc(char c)
{
    xcv_riscv_putc(c);
}
static inline void mmio_put_int(int64_t v)
{
    xcv_riscv_put_int(v);
}
static inline void mmio_put_dec(uint64_t v)
{
    xcv_riscv_put_dec(v);
}

/* Report lines, the transport scan, and the interface this file's .c implements for the
 * shared test bodies (ports/common/mmio/mmio_shared.h). */
#include "../../common/mmio/mmio_shared.h"

#endif /* XCV_RISCV_MMIO_COMMON_H */
