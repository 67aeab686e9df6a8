/* SPDX-License-Identifier: Apache-2.0 */
/* Private interfaces of the RISC-V port: CSR helpers per privilege mode, MMIO, and the symbols
 * start.S uses. XCV_RISCV_SMODE selects the supervisor-mode build. */
#ifndef XCV_PORTS_RISCV_INTERNAL_H
#define XCV_PORTS_RISCV_INTERNAL_H

#include <stdint.h>

#define XCV_CSR_READ(csr)                                                                          \
    ({                                                                                             \
        uint64_t v_;                                                                               \
        __asm__ volatile("csrr %0, " csr : "=r"(v_));                                              \
        v_;                                                                                        \
    })
#define XCV_CSR_WRITE(csr, v) __asm__ volatile("csrw " csr ", %0" : : "r"((uint64_t)(v)) : "memory")
#define XCV_CSR_SET(csr, v) __asm__ volatile("csrs " csr ", %0" : : "r"((uint64_t)(v)) : "memory")
#define XCV_CSR_CLEAR(csr, v) __asm__ volatile("csrc " csr ", %0" : : "r"((uint64_t)(v)) : "memory")

#ifdef XCV_RISCV_SMODE
#define XCV_CSR_STATUS "sstatus"
#define XCV_CSR_IE "sie"
#define XCV_CSR_IP "sip"
#define XCV_STATUS_IE (1u << 1) /* sstatus.SIE */
#define XCV_IRQ_SOFT 1u         /* supervisor software interrupt */
#define XCV_IRQ_TIMER 5u        /* supervisor timer interrupt */
#define XCV_IRQ_EXT 9u          /* supervisor external interrupt (PLIC S-mode context) */
#else
#define XCV_CSR_STATUS "mstatus"
#define XCV_CSR_IE "mie"
#define XCV_CSR_IP "mip"
#define XCV_STATUS_IE (1u << 3) /* mstatus.MIE */
#define XCV_IRQ_SOFT 3u         /* machine software interrupt */
#define XCV_IRQ_TIMER 7u        /* machine timer interrupt */
#define XCV_IRQ_EXT 11u         /* machine external interrupt (PLIC M-mode context) */
#endif

/* Full fence, devices included: every earlier access is ordered before every later one. */
static inline void xcv_fence_all(void)
{
    __asm__ volatile("fence iorw, iorw" : : : "memory");
}

static inline void xcv_irq_disable(void)
{
    XCV_CSR_CLEAR(XCV_CSR_STATUS, XCV_STATUS_IE);
}
static inline void xcv_irq_enable(void)
{
    XCV_CSR_SET(XCV_CSR_STATUS, XCV_STATUS_IE);
}

static inline uint8_t xcv_mmio_read8(uintptr_t a)
{
    return *(volatile uint8_t *)a;
}
static inline void xcv_mmio_write8(uintptr_t a, uint8_t v)
{
    *(volatile uint8_t *)a = v;
}
static inline uint32_t xcv_mmio_read32(uintptr_t a)
{
    return *(volatile uint32_t *)a;
}
static inline void xcv_mmio_write32(uintptr_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}
static inline uint64_t xcv_mmio_read64(uintptr_t a)
{
    return *(volatile uint64_t *)a;
}
static inline void xcv_mmio_write64(uintptr_t a, uint64_t v)
{
    *(volatile uint64_t *)a = v;
}

/*
 * M-mode park slot of one hart (start.S, .data): the owner of the image writes arg, then entry
 * (release), then raises the hart's MSIP; the parked hart reads entry, then arg, and jumps.
 */
struct xcv_riscv_spin_slot {
    _Atomic uint64_t entry;
    _Atomic uint64_t arg;
};
extern struct xcv_riscv_spin_slot xcv_riscv_spin[];

/* Called from start.S. */
void xcv_riscv_cstart(uint64_t hart, uint64_t boot_arg);
uintptr_t xcv_riscv_trap(uint64_t cause, uintptr_t epc, uint64_t tval);

#endif /* XCV_PORTS_RISCV_INTERNAL_H */
