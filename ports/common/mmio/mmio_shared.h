/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform-independent half of the virtio-mmio test helpers (mmio_shared.c): the report
 * lines, the port's log and notify operations, and the scan of a row of transports. Each port's
 * tests/mmio_common.h includes this and supplies mmio_now_ns, mmio_puts, mmio_putc,
 * mmio_put_int and mmio_put_dec.
 */
#ifndef XCV_PORTS_COMMON_MMIO_SHARED_H
#define XCV_PORTS_COMMON_MMIO_SHARED_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/mmio.h"
#include "xcvirtio/port.h"

/* Bound on every wait of the tests (the transport's timeout). */
#define MMIO_TEST_TIMEOUT_NS 2000000000u

/* ---- implemented by each port (tests/mmio_common.c) ---- */

/* Memory map, interrupt controller, console tag. 0 or -1. */
int mmio_platform_init(const char *tag);

/* The port given to the transport: the port's clock and console log; wait sleeps until the
 * virtio interrupt when mmio_irq_enable() was called, else returns at once (busy polling). */
const struct xcv_port *mmio_port(void);

/* Find the first transport (in the order QEMU fills them on this machine) that holds device
 * @device_id and probe it with a DMA area of @dma_size bytes at @dma (4096-aligned). Returns
 * the slot, or a negative xcv_err. */
int mmio_find(struct xcv_mmio *m, uint32_t device_id, void *dma, uint64_t dma_size);

/* Route the interrupt of virtio-mmio slot @slot to this CPU (GIC SPI or PLIC source) and make
 * the port's wait sleep until it fires (WFI, bounded by the deadline). 0 or -1. */
int mmio_irq_enable(int slot);

/* Let the interrupt of mmio_irq_enable() through and sleep (WFI) until it fires or the
 * deadline passes; true when it fired. The caller acknowledges the device afterwards. */
bool mmio_irq_wait(uint64_t deadline_ns);

/* Interrupts taken for the slot enabled with mmio_irq_enable(). */
uint64_t mmio_irq_count(void);

/* ---- shared (mmio_shared.c) ---- */

/* Name the image in every line it prints ("mmio" until set). */
void mmio_set_tag(const char *tag);

/* Print "<tag>: <text> <value>". */
void mmio_say(const char *text, int64_t value);

/* 0 when @r == @expect, else print "<tag>: FAIL <what>: <r> (<text>)" and return 1. */
int mmio_check(const char *what, int r, int expect);

/* Port operations every test port shares: no doorbell (the transport writes QueueNotify) and
 * a log line "[<tag>] <level>: <what> id=<id> err=<text>". */
int mmio_op_notify(void *ctx, uint32_t doorbell);
void mmio_op_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err);

/*
 * Probe the @count transports at @base + slot * @stride (from the last slot down when @top_down,
 * where QEMU's arm virt puts the first -device) for device @device_id, with @port, a DMA area
 * of @dma_size bytes at @dma and the test timeout. Returns the slot, or a negative xcv_err
 * (XCV_ENOTSUP when the device's transport version is not MMIO_EXPECT_VERSION = @version).
 */
int mmio_scan(struct xcv_mmio *m, uint32_t device_id, void *dma, uint64_t dma_size, uintptr_t base,
              uintptr_t stride, uint32_t count, bool top_down, uint32_t version,
              const struct xcv_port *port);

#endif /* XCV_PORTS_COMMON_MMIO_SHARED_H */
