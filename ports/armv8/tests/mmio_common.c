/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the virtio-mmio driver test images (see mmio_common.h). */
#include "mmio_common.h"

#include "xcvirtio/error.h"

#define MMIO_BLOCK 0x200000u /* the 2 MiB block holding the 32 transports */

static uint32_t irq_intid; /* 0: busy polling */
static uint64_t irq_count; /* interrupts taken */

/* ---- the port ---- */

static uint64_t op_now_ns(void *ctx)
{
    (void)ctx;
    return xcv_armv8_now_ns();
}

static int op_wait(void *ctx, uint64_t deadline_ns)
{
    (void)ctx;
    if (irq_intid == 0u)
        return XCV_OK; /* busy polling: the caller polls the device again at once */
    /* The caller polled (and acknowledged) the device since the last interrupt: let the line
     * through again. A cause raised in between is still asserted and fires at once. */
    if (xcv_armv8_spis_take() != 0u)
        irq_count++;
    xcv_armv8_gic_spi_unmask(irq_intid);
    return xcv_armv8_wait_doorbell(deadline_ns) ? XCV_OK : XCV_ETIMEDOUT;
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
    if (xcv_armv8_mmu_map_device(XCV_ARMV8_VIRTIO_MMIO_BASE, MMIO_BLOCK) != 0 ||
        xcv_armv8_mmu_init(NULL, 0) != 0) {
        mmio_say("mmu init failed", -1);
        return -1;
    }
    if (xcv_armv8_gic_init(true) != 0) {
        mmio_say("gic init failed", -1);
        return -1;
    }
    return 0;
}

int mmio_find(struct xcv_mmio *m, uint32_t device_id, void *dma, uint64_t dma_size)
{
    return mmio_scan(m, device_id, dma, dma_size, XCV_ARMV8_VIRTIO_MMIO_BASE,
                     XCV_ARMV8_VIRTIO_MMIO_STRIDE, XCV_ARMV8_VIRTIO_MMIO_COUNT, true,
                     MMIO_EXPECT_VERSION, mmio_port());
}

int mmio_irq_enable(int slot)
{
    uint32_t intid = XCV_ARMV8_VIRTIO_MMIO_INTID + (uint32_t)slot;
    if (slot < 0 || xcv_armv8_gic_spi_enable(intid) != 0)
        return -1;
    irq_intid = intid;
    return 0;
}

bool mmio_irq_wait(uint64_t deadline_ns)
{
    if (irq_intid == 0u)
        return false;
    xcv_armv8_gic_spi_unmask(irq_intid);
    (void)xcv_armv8_wait_doorbell(deadline_ns);
    if (xcv_armv8_spis_take() == 0u)
        return false;
    irq_count++;
    return true;
}

uint64_t mmio_irq_count(void)
{
    return irq_count;
}
