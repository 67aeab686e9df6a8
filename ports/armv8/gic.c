/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GICv3: distributor (affinity routing), this CPU's redistributor and the CPU interface
 * through system registers. SGIs are the doorbells; the IRQ handler acknowledges them and
 * records them in a pending mask that the waiting code takes.
 */
#include <stdatomic.h>

#include "xcvirtio/port_armv8.h"

#include "armv8_internal.h"

#define GICD_CTLR 0x0000u
#define GICD_CTLR_RWP (1u << 31)
#define GICD_CTLR_ARE (1u << 4)
#define GICD_CTLR_ENABLE_G1 (1u << 1)
#define GICD_CTLR_ENABLE_G0 (1u << 0)

#define GICD_IGROUPR 0x0080u
#define GICD_ISENABLER 0x0100u
#define GICD_ICENABLER 0x0180u
#define GICD_IPRIORITYR 0x0400u
#define GICD_ICFGR 0x0c00u
#define GICD_IROUTER 0x6000u
#define SPI_FIRST 32u
#define SPI_LIMIT 96u /* SPIs this port handles: INTIDs 32..95 */

#define GICR_STRIDE 0x20000u
#define GICR_MAX_FRAMES 8u
#define GICR_CTLR 0x0000u
#define GICR_CTLR_RWP (1u << 3)
#define GICR_TYPER 0x0008u
#define GICR_TYPER_LAST (1ull << 4)
#define GICR_WAKER 0x0014u
#define GICR_WAKER_PS (1u << 1)
#define GICR_WAKER_CA (1u << 2)
#define GICR_SGI 0x10000u
#define GICR_IGROUPR0 (GICR_SGI + 0x0080u)
#define GICR_ISENABLER0 (GICR_SGI + 0x0100u)
#define GICR_ICENABLER0 (GICR_SGI + 0x0180u)
#define GICR_ICPENDR0 (GICR_SGI + 0x0280u)
#define GICR_IPRIORITYR (GICR_SGI + 0x0400u)

#define IRQ_PRIORITY 0x80u
#define SPIN_LIMIT 1000000u

/* CPU interface registers by encoding (assemblers without GICv3 names accept these). */
#define ICC_SRE_EL1 S3_0_C12_C12_5
#define ICC_PMR_EL1 S3_0_C4_C6_0
#define ICC_BPR1_EL1 S3_0_C12_C12_3
#define ICC_IGRPEN1_EL1 S3_0_C12_C12_7
#define ICC_IAR1_EL1 S3_0_C12_C12_0
#define ICC_EOIR1_EL1 S3_0_C12_C12_1
#define ICC_SGI1R_EL1 S3_0_C12_C11_5
#define XCV_ICC_READ(r) XCV_SYSREG_READ_(r)
#define XCV_ICC_WRITE(r, v) XCV_SYSREG_WRITE_(r, v)
#define XCV_SYSREG_READ_(r) XCV_SYSREG_READ(r)
#define XCV_SYSREG_WRITE_(r, v) XCV_SYSREG_WRITE(r, v)

#define CNTV_CTL_ENABLE 1u
#define CNTV_CTL_IMASK 2u

/* Port state (one CPU per image): doorbells pending and received. */
static _Atomic uint32_t doorbells_pending;
static _Atomic uint64_t doorbells_received;
/* SPIs taken (bit n = INTID 32 + n); each is masked by the handler until re-enabled. */
static _Atomic uint64_t spis_pending;

static int spin_while_set(uintptr_t reg, uint32_t bits)
{
    for (uint32_t i = 0; i < SPIN_LIMIT; i++) {
        if ((xcv_mmio_read32(reg) & bits) == 0u)
            return 0;
    }
    return -1;
}

static uintptr_t find_redistributor(void)
{
    uint64_t mpidr = xcv_armv8_mpidr();
    uint64_t aff = ((mpidr >> 32) & 0xffu) << 24 | (mpidr & 0xffffffu);
    for (uint32_t i = 0; i < GICR_MAX_FRAMES; i++) {
        uintptr_t rd = XCV_ARMV8_GICR_BASE + (uintptr_t)i * GICR_STRIDE;
        uint64_t typer = xcv_mmio_read64(rd + GICR_TYPER);
        if ((typer >> 32) == aff)
            return rd;
        if (typer & GICR_TYPER_LAST)
            break;
    }
    return 0;
}

int xcv_armv8_gic_init(bool distributor)
{
    if (distributor) {
        /* Affinity routing first, then the groups (GICv3 spec 12.9.4). */
        xcv_mmio_write32(XCV_ARMV8_GICD_BASE + GICD_CTLR, GICD_CTLR_ARE);
        if (spin_while_set(XCV_ARMV8_GICD_BASE + GICD_CTLR, GICD_CTLR_RWP) != 0)
            return -1;
        xcv_mmio_write32(XCV_ARMV8_GICD_BASE + GICD_CTLR,
                         GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1 | GICD_CTLR_ENABLE_G0);
        if (spin_while_set(XCV_ARMV8_GICD_BASE + GICD_CTLR, GICD_CTLR_RWP) != 0)
            return -1;
    }
    uintptr_t rd = find_redistributor();
    if (rd == 0u)
        return -1;
    xcv_mmio_write32(rd + GICR_WAKER, xcv_mmio_read32(rd + GICR_WAKER) & ~GICR_WAKER_PS);
    if (spin_while_set(rd + GICR_WAKER, GICR_WAKER_CA) != 0)
        return -1;

    /* SGIs 0..15 and the virtual timer: Group 1, one priority, enabled, nothing pending. */
    uint32_t mask = 0xffffu | (1u << XCV_ARMV8_TIMER_PPI);
    xcv_mmio_write32(rd + GICR_ICENABLER0, 0xffffffffu);
    if (spin_while_set(rd + GICR_CTLR, GICR_CTLR_RWP) != 0)
        return -1;
    xcv_mmio_write32(rd + GICR_ICPENDR0, 0xffffffffu);
    xcv_mmio_write32(rd + GICR_IGROUPR0, 0xffffffffu);
    for (uint32_t i = 0; i < 32u; i += 4u)
        xcv_mmio_write32(rd + GICR_IPRIORITYR + i, IRQ_PRIORITY * 0x01010101u);
    xcv_mmio_write32(rd + GICR_ISENABLER0, mask);

    /* CPU interface. */
    XCV_ICC_WRITE(ICC_SRE_EL1, XCV_ICC_READ(ICC_SRE_EL1) | 1u);
    xcv_isb();
    XCV_ICC_WRITE(ICC_PMR_EL1, 0xffu);
    XCV_ICC_WRITE(ICC_BPR1_EL1, 0u);
    XCV_ICC_WRITE(ICC_IGRPEN1_EL1, 1u);
    xcv_isb();
    XCV_SYSREG_WRITE(cntv_ctl_el0, CNTV_CTL_IMASK);
    xcv_irq_unmask();
    return 0;
}

void xcv_armv8_send_sgi(uint64_t mpidr, uint32_t intid)
{
    uint64_t v = (uint64_t)(intid & 0xfu) << 24 | ((mpidr >> 32) & 0xffu) << 48 |
                 ((mpidr >> 16) & 0xffu) << 32 | ((mpidr >> 8) & 0xffu) << 16 |
                 (1ull << (mpidr & 0xfu));
    /* Every store to the window is observable before the peer can take the interrupt. */
    __asm__ volatile("dsb ish" : : : "memory");
    XCV_ICC_WRITE(ICC_SGI1R_EL1, v);
    xcv_isb();
}

void xcv_armv8_irq(void)
{
    for (;;) {
        uint64_t iar = XCV_ICC_READ(ICC_IAR1_EL1);
        uint32_t id = (uint32_t)(iar & 0xffffffu);
        if (id >= 1020u && id <= 1023u)
            return; /* spurious: nothing (more) pending */
        if (id < 16u) {
            atomic_fetch_or_explicit(&doorbells_pending, 1u << id, memory_order_relaxed);
            atomic_fetch_add_explicit(&doorbells_received, 1u, memory_order_relaxed);
        } else if (id == XCV_ARMV8_TIMER_PPI) {
            XCV_SYSREG_WRITE(cntv_ctl_el0, CNTV_CTL_IMASK); /* one shot: the waiter re-arms */
        } else if (id >= SPI_FIRST && id < SPI_LIMIT) {
            /* A device interrupt, usually level-sensitive: mask it until the owner has
             * acknowledged the device (xcv_armv8_gic_spi_unmask()), else it fires again. */
            xcv_mmio_write32(XCV_ARMV8_GICD_BASE + GICD_ICENABLER + (id / 32u) * 4u,
                             1u << (id % 32u));
            atomic_fetch_or_explicit(&spis_pending, 1ull << (id - SPI_FIRST), memory_order_relaxed);
        }
        XCV_ICC_WRITE(ICC_EOIR1_EL1, iar);
        xcv_isb();
    }
}

uint32_t xcv_armv8_doorbells_take(void)
{
    /* Acquire: the peer's stores before its SGI are visible to what the caller reads next. */
    return atomic_exchange_explicit(&doorbells_pending, 0u, memory_order_acquire);
}

uint64_t xcv_armv8_doorbell_count(void)
{
    return atomic_load_explicit(&doorbells_received, memory_order_relaxed);
}

static uint64_t ns_to_ticks(uint64_t ns)
{
    uint64_t hz = xcv_armv8_timer_hz();
    return (ns / 1000000000u) * hz + ((ns % 1000000000u) * hz + 999999999u) / 1000000000u;
}

bool xcv_armv8_wait_doorbell(uint64_t deadline_ns)
{
    uint64_t daif = XCV_SYSREG_READ(daif);
    bool rang;
    for (;;) {
        xcv_irq_mask();
        if (atomic_load_explicit(&doorbells_pending, memory_order_relaxed) != 0u ||
            atomic_load_explicit(&spis_pending, memory_order_relaxed) != 0u) {
            rang = true;
            break;
        }
        if (xcv_armv8_now_ns() >= deadline_ns) {
            rang = false;
            break;
        }
        /* The virtual timer bounds the sleep; WFI wakes on a pending IRQ even while masked. */
        XCV_SYSREG_WRITE(cntv_cval_el0, ns_to_ticks(deadline_ns));
        XCV_SYSREG_WRITE(cntv_ctl_el0, CNTV_CTL_ENABLE);
        xcv_isb();
        __asm__ volatile("dsb sy\n\twfi" : : : "memory");
        xcv_irq_unmask(); /* take the interrupt that woke us */
        xcv_isb();
    }
    XCV_SYSREG_WRITE(cntv_ctl_el0, CNTV_CTL_IMASK);
    XCV_SYSREG_WRITE(daif, daif);
    return rang;
}

int xcv_armv8_gic_spi_enable(uint32_t intid)
{
    if (intid < SPI_FIRST || intid >= SPI_LIMIT)
        return -1;
    uintptr_t d = XCV_ARMV8_GICD_BASE;
    uintptr_t word = (uintptr_t)(intid / 32u) * 4u;
    uint32_t bit = 1u << (intid % 32u);
    xcv_mmio_write32(d + GICD_ICENABLER + word, bit);
    if (spin_while_set(d + GICD_CTLR, GICD_CTLR_RWP) != 0)
        return -1;
    xcv_mmio_write32(d + GICD_IGROUPR + word, xcv_mmio_read32(d + GICD_IGROUPR + word) | bit);
    uintptr_t prio = d + GICD_IPRIORITYR + (intid & ~3u);
    uint32_t shift = (intid % 4u) * 8u;
    xcv_mmio_write32(prio, (xcv_mmio_read32(prio) & ~(0xffu << shift)) | IRQ_PRIORITY << shift);
    uintptr_t cfg = d + GICD_ICFGR + (uintptr_t)(intid / 16u) * 4u;
    xcv_mmio_write32(cfg, xcv_mmio_read32(cfg) & ~(2u << ((intid % 16u) * 2u))); /* level */
    uint64_t mpidr = xcv_armv8_mpidr();
    uintptr_t route = d + GICD_IROUTER + (uintptr_t)intid * 8u;
    xcv_mmio_write32(route, (uint32_t)(mpidr & 0xffffffu));          /* Aff2.Aff1.Aff0, IRM = 0 */
    xcv_mmio_write32(route + 4u, (uint32_t)((mpidr >> 32) & 0xffu)); /* Aff3 */
    atomic_fetch_and_explicit(&spis_pending, ~(1ull << (intid - SPI_FIRST)), memory_order_relaxed);
    xcv_mmio_write32(d + GICD_ISENABLER + word, bit);
    return 0;
}

void xcv_armv8_gic_spi_unmask(uint32_t intid)
{
    if (intid >= SPI_FIRST && intid < SPI_LIMIT)
        xcv_mmio_write32(XCV_ARMV8_GICD_BASE + GICD_ISENABLER + (intid / 32u) * 4u,
                         1u << (intid % 32u));
}

uint64_t xcv_armv8_spis_take(void)
{
    /* Acquire: what the device wrote before raising the interrupt is visible afterwards. */
    return atomic_exchange_explicit(&spis_pending, 0u, memory_order_acquire);
}
