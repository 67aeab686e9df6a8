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

/* Bound on every wait of the tests (the transport's timeout). */
#define MMIO_TEST_TIMEOUT_NS 2000000000u

/* Report lines, the shared port operations and the transport scan (ports/common/mmio). */
#include "../../common/mmio/mmio_shared.h"

/* Interrupts of this hart (software, timer; the PLIC once mmio_irq_enable() is called). */
int mmio_platform_init(const char *tag);

/* The port given to the transport: mtime clock, UART log; wait sleeps until the virtio
 * interrupt when mmio_irq_enable() was called, else returns at once (busy polling). */
const struct xcv_port *mmio_port(void);

/*
 * Find the first transport (from slot 0 up) that holds device @device_id and probe it with a
 * DMA area of @dma_size bytes at @dma (4096-aligned). Returns the slot (0..7), or a negative
 * xcv_err.
 */
int mmio_find(struct xcv_mmio *m, uint32_t device_id, void *dma, uint64_t dma_size);

/* Route the PLIC source of virtio-mmio slot @slot to this hart's context (M or S) and make
 * the port's wait sleep until it fires (WFI, bounded by the deadline). 0 or -1. */
int mmio_irq_enable(int slot);

/* Let the source of mmio_irq_enable() through and sleep (WFI) until it fires or the deadline
 * passes; true when it fired. The caller acknowledges the device afterwards. */
bool mmio_irq_wait(uint64_t deadline_ns);

/* Interrupts taken for the slot enabled with mmio_irq_enable(). */
uint64_t mmio_irq_count(void);

#endif /* XCV_RISCV_MMIO_COMMON_H */
