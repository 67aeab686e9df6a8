/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime of a compartment image: C entry, exceptions, PL011 text, semihosting exit, the
 * generic timer, the MMU identity map, PSCI and data cache maintenance by VA.
 */
#include "xcvirtio/port_armv8.h"

#include "armv8_internal.h"
#include "xcv_text.h"

uint32_t xcv_armv8_entry_el;

/* ---- PL011 ------------------------------------------------------------------------------- */

#define UART_DR 0x00u
#define UART_FR 0x18u
#define UART_FR_TXFF (1u << 5)

void xcv_armv8_putc(char c)
{
    while (xcv_mmio_read32(XCV_ARMV8_UART_BASE + UART_FR) & UART_FR_TXFF) {
    }
    xcv_mmio_write32(XCV_ARMV8_UART_BASE + UART_DR, (uint32_t)(unsigned char)c);
}

void xcv_armv8_puts(const char *s)
{
    xcv_text_puts(xcv_armv8_putc, s);
}

void xcv_armv8_put_hex(uint64_t v)
{
    xcv_text_put_hex(xcv_armv8_putc, v);
}

void xcv_armv8_put_dec(uint64_t v)
{
    xcv_text_put_dec(xcv_armv8_putc, v);
}

void xcv_armv8_put_int(int64_t v)
{
    xcv_text_put_int(xcv_armv8_putc, v);
}

/* ---- semihosting exit, park ------------------------------------------------------------- */

#define SEMIHOST_SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

_Noreturn void xcv_armv8_park(void)
{
    xcv_irq_mask();
    for (;;)
        __asm__ volatile("wfi" : : : "memory");
}

_Noreturn void xcv_armv8_exit(int code)
{
    uint64_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint64_t)(uint32_t)code};
    register uint64_t x0 __asm__("x0") = SEMIHOST_SYS_EXIT;
    register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)block;
    __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
    xcv_armv8_park(); /* only without -semihosting, where QEMU would not get here anyway */
}

/* ---- generic timer ------------------------------------------------------------------------ */

uint64_t xcv_armv8_timer_hz(void)
{
    return XCV_SYSREG_READ(cntfrq_el0);
}

uint64_t xcv_armv8_now_ns(void)
{
    xcv_isb(); /* the counter read is not speculated ahead of earlier instructions */
    uint64_t t = XCV_SYSREG_READ(cntvct_el0);
    uint64_t hz = xcv_armv8_timer_hz();
    return (t / hz) * 1000000000u + (t % hz) * 1000000000u / hz;
}

void xcv_armv8_delay_ns(uint64_t ns)
{
    uint64_t end = xcv_armv8_now_ns() + ns;
    while (xcv_armv8_now_ns() < end) {
    }
}

uint64_t xcv_armv8_mpidr(void)
{
    return XCV_SYSREG_READ(mpidr_el1) & 0xff00ffffffull;
}

unsigned xcv_armv8_boot_el(void)
{
    return xcv_armv8_entry_el;
}

/* ---- MMU: identity map in 2 MiB blocks ------------------------------------------------------ */

#define BLOCK_SIZE 0x200000ull
#define GIB 0x40000000ull
#define DESC_TABLE 3ull
#define DESC_BLOCK 1ull
#define DESC_ATTR(i) ((uint64_t)(i) << 2)
#define DESC_SH_INNER (3ull << 8)
#define DESC_AF (1ull << 10)
#define DESC_PXN (1ull << 53)
#define DESC_UXN (1ull << 54)
#define MAIR_DEVICE_NGNRE 0x04ull /* attr 0 */
#define MAIR_NORMAL_WB 0xffull    /* attr 1: inner/outer write-back, read/write allocate */
#define ATTR_DEVICE 0u
#define ATTR_NORMAL 1u

#define TCR_T0SZ(n) ((uint64_t)(n))
#define TCR_IRGN0_WBWA (1ull << 8)
#define TCR_ORGN0_WBWA (1ull << 10)
#define TCR_SH0_INNER (3ull << 12)
#define TCR_EPD1 (1ull << 23)
#define TCR_T1SZ(n) ((uint64_t)(n) << 16)

#define SCTLR_M (1ull << 0)
#define SCTLR_A (1ull << 1)
#define SCTLR_C (1ull << 2)
#define SCTLR_I (1ull << 12)

/* Level 1 covers 4 GiB (T0SZ = 32); levels 2 map the first two GiB in 2 MiB blocks. */
static uint64_t tt_l1[512] __attribute__((aligned(4096)));
static uint64_t tt_l2[2][512] __attribute__((aligned(4096)));

extern char __ram_base[];
extern char __ram_end[];

static int map_range(uint64_t base, uint64_t size, uint64_t attrs)
{
    if ((base | size) & (BLOCK_SIZE - 1u) || base + size > 2u * GIB || base + size < base)
        return -1;
    for (uint64_t a = base; a < base + size; a += BLOCK_SIZE)
        tt_l2[a / GIB][(a % GIB) / BLOCK_SIZE] = a | attrs;
    return 0;
}

#define DESC_DEVICE (DESC_BLOCK | DESC_ATTR(ATTR_DEVICE) | DESC_AF | DESC_PXN | DESC_UXN)

int xcv_armv8_mmu_map_device(uint64_t base, uint64_t size)
{
    return map_range(base, size, DESC_DEVICE);
}

int xcv_armv8_mmu_init(const struct xcv_armv8_region *shared, unsigned n_shared)
{
    const uint64_t dev = DESC_BLOCK | DESC_ATTR(ATTR_DEVICE) | DESC_AF | DESC_PXN | DESC_UXN;
    const uint64_t ram = DESC_BLOCK | DESC_ATTR(ATTR_NORMAL) | DESC_SH_INNER | DESC_AF;
    const uint64_t shm = ram | DESC_PXN | DESC_UXN;
    if (n_shared > 4u)
        return -1;
    /* Devices: GIC (distributor and redistributors) and the UART. */
    int r = map_range(XCV_ARMV8_GICD_BASE, BLOCK_SIZE, dev);
    r |= map_range(XCV_ARMV8_UART_BASE & ~(BLOCK_SIZE - 1u), BLOCK_SIZE, dev);
    uint64_t rb = (uint64_t)(uintptr_t)__ram_base & ~(BLOCK_SIZE - 1u);
    uint64_t re = ((uint64_t)(uintptr_t)__ram_end + BLOCK_SIZE - 1u) & ~(BLOCK_SIZE - 1u);
    r |= map_range(rb, re - rb, ram);
    for (unsigned i = 0; i < n_shared; i++)
        r |= map_range(shared[i].base, shared[i].size, shm);
    if (r != 0)
        return -1;
    tt_l1[0] = (uint64_t)(uintptr_t)tt_l2[0] | DESC_TABLE;
    tt_l1[1] = (uint64_t)(uintptr_t)tt_l2[1] | DESC_TABLE;

    XCV_SYSREG_WRITE(mair_el1, MAIR_DEVICE_NGNRE | (MAIR_NORMAL_WB << 8));
    XCV_SYSREG_WRITE(tcr_el1, TCR_T0SZ(32) | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER |
                                  TCR_EPD1 | TCR_T1SZ(32));
    XCV_SYSREG_WRITE(ttbr0_el1, (uint64_t)(uintptr_t)tt_l1);
    __asm__ volatile("dsb ish\n\ttlbi vmalle1\n\tdsb ish\n\tisb" : : : "memory");
    uint64_t sctlr = XCV_SYSREG_READ(sctlr_el1);
    sctlr = (sctlr & ~SCTLR_A) | SCTLR_M | SCTLR_C | SCTLR_I;
    XCV_SYSREG_WRITE(sctlr_el1, sctlr);
    xcv_isb();
    return 0;
}

int xcv_armv8_mmu_map_shared(uint64_t base, uint64_t size)
{
    const uint64_t shm =
        DESC_BLOCK | DESC_ATTR(ATTR_NORMAL) | DESC_SH_INNER | DESC_AF | DESC_PXN | DESC_UXN;
    uint64_t b = base & ~(BLOCK_SIZE - 1u);
    uint64_t e = base + size;
    if (size == 0u || e < base || e > 2u * GIB)
        return -1;
    e = (e + BLOCK_SIZE - 1u) & ~(BLOCK_SIZE - 1u);
    if (map_range(b, e - b, shm) != 0)
        return -1;
    /* Invalid -> valid entries: make them visible to the walker, drop any cached fault. */
    __asm__ volatile("dsb ishst\n\ttlbi vmalle1\n\tdsb ish\n\tisb" : : : "memory");
    return 0;
}

/* ---- PSCI ----------------------------------------------------------------------------------- */

#define PSCI_CPU_ON_64 0xc4000003ull

int64_t xcv_armv8_psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context)
{
    register uint64_t x0 __asm__("x0") = PSCI_CPU_ON_64;
    register uint64_t x1 __asm__("x1") = mpidr;
    register uint64_t x2 __asm__("x2") = entry;
    register uint64_t x3 __asm__("x3") = context;
    /* The image's stores (the peer's code may be data here) reach memory first. */
    xcv_dsb_sy();
    if (xcv_armv8_entry_el == 2u)
        __asm__ volatile("smc #0"
                         : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                         :
                         : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
                           "x15", "x16", "x17", "memory");
    else
        __asm__ volatile("hvc #0"
                         : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                         :
                         : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
                           "x15", "x16", "x17", "memory");
    return (int64_t)x0;
}

/* ---- data cache maintenance by VA ------------------------------------------------------------ */

static uintptr_t dcache_line(void)
{
    uint64_t ctr = XCV_SYSREG_READ(ctr_el0);
    return (uintptr_t)4u << ((ctr >> 16) & 0xfu);
}

void xcv_armv8_dcache_clean(const void *addr, size_t len)
{
    uintptr_t line = dcache_line();
    uintptr_t p = (uintptr_t)addr & ~(line - 1u);
    uintptr_t end = (uintptr_t)addr + len;
    for (; p < end; p += line)
        __asm__ volatile("dc cvac, %0" : : "r"(p) : "memory");
    xcv_dsb_sy();
}

void xcv_armv8_dcache_invalidate(const void *addr, size_t len)
{
    uintptr_t line = dcache_line();
    uintptr_t p = (uintptr_t)addr & ~(line - 1u);
    uintptr_t end = (uintptr_t)addr + len;
    xcv_dsb_sy();
    for (; p < end; p += line)
        __asm__ volatile("dc ivac, %0" : : "r"(p) : "memory");
    xcv_dsb_sy();
}

/* ---- C entry and exceptions --------------------------------------------------------------------
 */

void xcv_armv8_cstart(uint64_t boot_arg)
{
    xcv_armv8_exit(xcv_armv8_main(boot_arg));
}

void xcv_armv8_exception(uint64_t *frame, uint64_t kind)
{
    if (kind == 1u || kind == 5u) {
        xcv_armv8_irq();
        return;
    }
    xcv_armv8_puts("\nfatal exception kind=");
    xcv_armv8_put_dec(kind);
    xcv_armv8_puts(" cpu=");
    xcv_armv8_put_hex(xcv_armv8_mpidr());
    xcv_armv8_puts(" esr=");
    xcv_armv8_put_hex(XCV_SYSREG_READ(esr_el1));
    xcv_armv8_puts(" elr=");
    xcv_armv8_put_hex(frame[31]);
    xcv_armv8_puts(" far=");
    xcv_armv8_put_hex(XCV_SYSREG_READ(far_el1));
    xcv_armv8_puts(" lr=");
    xcv_armv8_put_hex(frame[30]);
    xcv_armv8_puts("\n");
    xcv_armv8_exit((int)(100u + kind));
}
