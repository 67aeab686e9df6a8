/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the virtio-mmio driver test images: one compartment on CPU0 drives QEMU's own
 * virtio-mmio devices. Memory is identity mapped, so the DMA area and buffers (static arrays in
 * the image's RAM) have local address = physical address = bus address.
 *
 * MMIO_EXPECT_VERSION (1 = legacy, QEMU's default; 2 = modern, -global
 * virtio-mmio.force-legacy=false) is the transport version the image insists on.
 */
#ifndef XCV_ARMV8_MMIO_COMMON_H
#define XCV_ARMV8_MMIO_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/mmio.h"
#include "xcvirtio/port_armv8.h"

#ifndef MMIO_EXPECT_VERSION
#error "MMIO_EXPECT_VERSION must be 1 or 2"
#endif

/* What the shared test bodies (ports/common/mmio) need from this port. */
#define MMIO_MAIN xcv_armv8_main
static inline uint64_t mmio_now_ns(void)
{
    return xcv_armv8_now_ns();
}
static inline void mmio_puts(const char *s)
{
    xcv_armv8_puts(s);
}
static inline void mmio_putc(char c)
{
    xcv_armv8_putc(c);
}
static inline void mmio_put_int(int64_t v)
{
    xcv_armv8_put_int(v);
}
static inline void mmio_put_dec(uint64_t v)
{
    xcv_armv8_put_dec(v);
}

/* Bound on every wait of the tests (the transport's timeout). */
#define MMIO_TEST_TIMEOUT_NS 2000000000u

/* Report lines, the shared port operations and the transport scan (ports/common/mmio). */
#include "../../common/mmio/mmio_shared.h"

/* MMU (image RAM, the virtio-mmio block as Device memory), GIC, the port. 0 or -1. */
int mmio_platform_init(const char *tag);

/* The port given to the transport: the generic timer clock, PL011 log; wait sleeps until the
 * virtio interrupt when mmio_irq_enable() was called, else returns at once (busy polling). */
const struct xcv_port *mmio_port(void);

/*
 * Find the first transport (from the top slot down, where QEMU puts the first -device) that
 * holds device @device_id and probe it with a DMA area of @dma_size bytes at @dma (4096-aligned).
 * Returns the slot (0..31), or a negative xcv_err.
 */
int mmio_find(struct xcv_mmio *m, uint32_t device_id, void *dma, uint64_t dma_size);

/* Route the interrupt of virtio-mmio slot @slot to this CPU, level-sensitive, and make the
 * port's wait sleep until it fires (WFI, bounded by the deadline). 0 or -1. */
int mmio_irq_enable(int slot);

/* Let the interrupt of mmio_irq_enable() through and sleep (WFI) until it fires or the
 * deadline passes; true when it fired. The caller acknowledges the device afterwards. */
bool mmio_irq_wait(uint64_t deadline_ns);

/* Interrupts taken for the slot enabled with mmio_irq_enable(). */
uint64_t mmio_irq_count(void);

#endif /* XCV_ARMV8_MMIO_COMMON_H */
