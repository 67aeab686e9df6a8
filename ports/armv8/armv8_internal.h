/* SPDX-License-Identifier: Apache-2.0 */
/* Private interfaces of the ARMv8 port: system register helpers and the symbols start.S uses. */
#ifndef XCV_PORTS_ARMV8_INTERNAL_H
#define XCV_PORTS_ARMV8_INTERNAL_H

#include <stdint.h>

#define XCV_SYSREG_READ(name)                                                                      \
    ({                                                                                             \
        uint64_t v_;                                                                               \
        __asm__ volatile("mrs %0, " #name : "=r"(v_));                                             \
        v_;                                                                                        \
    })
#define XCV_SYSREG_WRITE(name, v)                                                                  \
    __asm__ volatile("msr " #name ", %0" : : "r"((uint64_t)(v)) : "memory")

static inline void xcv_isb(void)
{
    __asm__ volatile("isb" : : : "memory");
}
static inline void xcv_dsb_sy(void)
{
    __asm__ volatile("dsb sy" : : : "memory");
}
static inline void xcv_irq_mask(void)
{
    __asm__ volatile("msr daifset, #2" : : : "memory");
}
static inline void xcv_irq_unmask(void)
{
    __asm__ volatile("msr daifclr, #2" : : : "memory");
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

/* Entry EL, written by start.S once .bss is clear. */
extern uint32_t xcv_armv8_entry_el;

/* Called from start.S. */
void xcv_armv8_cstart(uint64_t boot_arg);
void xcv_armv8_exception(uint64_t *frame, uint64_t kind);

/* The IRQ handler (gic.c), called by xcv_armv8_exception for IRQ vectors. */
void xcv_armv8_irq(void);

#endif /* XCV_PORTS_ARMV8_INTERNAL_H */
