/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the RISC-V virtio-mmio driver test images (see mmio_common.h). */
#include "mmio_common.h"

#include "xcvirtio/error.h"

static uint32_t irq_source; /* 0: busy polling */
static uint64_t irq_count;  /* interrupts taken */

/* ---- the port ---- */

static uint64_t op_now_ns(void *ctx)
{
    (void)ctx;
    return xcv_riscv_now_ns();
}

static int op_wait(void *ctx, uint64_t deadline_ns)
{
    (void)ctx;
    if (irq_source == 0u)
        return XCV_OK; /* busy polling: the caller polls the device again at once */
    /* An interrupt taken since the caller's last poll: return at once and let it poll again.
     * The record may be the only trace of it: a PLIC need not raise a source again whose
     * line stayed high while it was masked, so the record is not dropped. */
    if (xcv_riscv_plic_take() != 0u) {
        irq_count++;
        xcv_riscv_plic_unmask(irq_source);
        return XCV_OK;
    }
    xcv_riscv_plic_unmask(irq_source);
    return xcv_riscv_wait_doorbell(deadline_ns) ? XCV_OK : XCV_ETIMEDOUT;
}

static const struct xcv_port_ops mmio_port_ops = {
    .notify = mmio_op_notify,
    .now_ns = op_now_ns,
    .wait = op_wait,
    .log = mmio_op_log,
};

static const struct xcv_port mmio_test_port = {.ops = &mmio_port_ops, .ctx = NULL};

const struct xcv_port *mmio_port(void)
{
    return &mmio_test_port;
}

/* ---- platform ---- */

int mmio_platform_init(const char *tag)
{
    mmio_set_tag(tag);
    xcv_riscv_irq_init();
    return 0;
}

int mmio_find(struct xcv_mmio *m, uint32_t device_id, void *dma, uint64_t dma_size)
{
    return mmio_scan(m, device_id, dma, dma_size, XCV_RISCV_VIRTIO_MMIO_BASE,
                     XCV_RISCV_VIRTIO_MMIO_STRIDE, XCV_RISCV_VIRTIO_MMIO_COUNT, false,
                     MMIO_EXPECT_VERSION, mmio_port());
}

int mmio_irq_enable(int slot)
{
    if (slot < 0 || (uint32_t)slot >= XCV_RISCV_VIRTIO_MMIO_COUNT)
        return -1;
    uint32_t irq = XCV_RISCV_VIRTIO_MMIO_IRQ + (uint32_t)slot;
    if (xcv_riscv_plic_enable(irq) != 0)
        return -1;
    irq_source = irq;
    return 0;
}

bool mmio_irq_wait(uint64_t deadline_ns)
{
    if (irq_source == 0u)
        return false;
    xcv_riscv_plic_unmask(irq_source);
    (void)xcv_riscv_wait_doorbell(deadline_ns);
    if (xcv_riscv_plic_take() == 0u)
        return false;
    irq_count++;
    return true;
}

uint64_t mmio_irq_count(void)
{
    return irq_count;
}
