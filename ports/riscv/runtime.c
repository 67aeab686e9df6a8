/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime of a compartment image: C entry, traps, 16550 text, the SiFive test device, the
 * timer, software interrupts (doorbells), the PLIC (external interrupts), starting a hart, and
 * memory protection (locked PMP in M-mode, an Sv39 identity map in S-mode).
 */
#include <stdatomic.h>

#include "xcvirtio/port_riscv.h"

#include "riscv_internal.h"
#include "xcv_text.h"

/* Hart id passed at entry (S-mode has no mhartid to read). */
static uint32_t entry_hart;

/* Port state (one hart per image): doorbells pending and received. */
static _Atomic uint32_t doorbells_pending;
static _Atomic uint64_t doorbells_received;
static volatile bool timer_armed;

/* PLIC sources taken by the trap handler and not yet taken by the owner (bit n = source n). */
static _Atomic uint64_t plic_pending;
static _Atomic uint64_t plic_claimed;

/* xcv_riscv_probe(): the trap handler skips a faulting access while armed. */
static volatile bool probe_armed;
static volatile uint64_t probe_cause;

/* ---- 16550 UART ------------------------------------------------------------------------------ */

#define UART_THR 0u
#define UART_LSR 5u
#define UART_LSR_THRE (1u << 5)

void xcv_riscv_putc(char c)
{
    while ((xcv_mmio_read8(XCV_RISCV_UART_BASE + UART_LSR) & UART_LSR_THRE) == 0u) {
    }
    xcv_mmio_write8(XCV_RISCV_UART_BASE + UART_THR, (uint8_t)c);
}

void xcv_riscv_puts(const char *s)
{
    xcv_text_puts(xcv_riscv_putc, s);
}

void xcv_riscv_put_hex(uint64_t v)
{
    xcv_text_put_hex(xcv_riscv_putc, v);
}

void xcv_riscv_put_dec(uint64_t v)
{
    xcv_text_put_dec(xcv_riscv_putc, v);
}

void xcv_riscv_put_int(int64_t v)
{
    xcv_text_put_int(xcv_riscv_putc, v);
}

/* ---- exit, park ------------------------------------------------------------------------------ */

#define TEST_PASS 0x5555u
#define TEST_FAIL 0x3333u

_Noreturn void xcv_riscv_park(void)
{
    xcv_irq_disable();
    XCV_CSR_WRITE(XCV_CSR_IE, 0u);
    for (;;)
        __asm__ volatile("wfi" : : : "memory");
}

_Noreturn void xcv_riscv_exit(int code)
{
    uint32_t c = (uint32_t)code & 0xffu;
    if (c == 0u)
        c = 1u; /* QEMU exits with c: a failure must not read as success */
    xcv_fence_all();
    xcv_mmio_write32(XCV_RISCV_TEST_BASE, code == 0 ? TEST_PASS : (c << 16) | TEST_FAIL);
    xcv_riscv_park();
}

/* ---- SBI (S-mode) ---------------------------------------------------------------------------- */

#define SBI_EXT_TIME 0x54494d45u
#define SBI_EXT_IPI 0x735049u
#define SBI_EXT_HSM 0x48534du
#define SBI_HSM_HART_START 0u
#define SBI_HSM_HART_GET_STATUS 2u
#define SBI_ERR_INVALID_PARAM (-3)
#define SBI_ERR_NOT_SUPPORTED (-2)

#ifdef XCV_RISCV_SMODE
struct sbiret {
    int64_t error;
    int64_t value;
};

static struct sbiret sbi_call(uint64_t ext, uint64_t fid, uint64_t arg0, uint64_t arg1,
                              uint64_t arg2)
{
    register uint64_t a0 __asm__("a0") = arg0;
    register uint64_t a1 __asm__("a1") = arg1;
    register uint64_t a2 __asm__("a2") = arg2;
    register uint64_t a6 __asm__("a6") = fid;
    register uint64_t a7 __asm__("a7") = ext;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){(int64_t)a0, (int64_t)a1};
}
#endif

/* ---- hart, timer ----------------------------------------------------------------------------- */

#define CLINT_MSIP(h) (XCV_RISCV_CLINT_BASE + 4u * (uintptr_t)(h))
#define CLINT_MTIMECMP(h) (XCV_RISCV_CLINT_BASE + 0x4000u + 8u * (uintptr_t)(h))
#define CLINT_MAX_HARTS 4095u

uint32_t xcv_riscv_hart_id(void)
{
#ifdef XCV_RISCV_SMODE
    return entry_hart;
#else
    return (uint32_t)XCV_CSR_READ("mhartid");
#endif
}

bool xcv_riscv_smode(void)
{
#ifdef XCV_RISCV_SMODE
    return true;
#else
    return false;
#endif
}

uint64_t xcv_riscv_ticks(void)
{
#ifdef XCV_RISCV_SMODE
    return XCV_CSR_READ("time");
#else
    return xcv_mmio_read64(XCV_RISCV_MTIME_ADDR);
#endif
}

uint64_t xcv_riscv_now_ns(void)
{
    const uint64_t hz = XCV_RISCV_TIMEBASE_HZ;
    uint64_t t = xcv_riscv_ticks();
    return (t / hz) * 1000000000u + (t % hz) * 1000000000u / hz;
}

void xcv_riscv_delay_ns(uint64_t ns)
{
    uint64_t end = xcv_riscv_now_ns() + ns;
    while (xcv_riscv_now_ns() < end) {
    }
}

static uint64_t ns_to_ticks(uint64_t ns)
{
    const uint64_t hz = XCV_RISCV_TIMEBASE_HZ;
    return (ns / 1000000000u) * hz + ((ns % 1000000000u) * hz + 999999999u) / 1000000000u;
}

/* Program this hart's timer to interrupt at @ticks (UINT64_MAX: never). */
static void timer_set(uint64_t ticks)
{
#ifdef XCV_RISCV_SMODE
    (void)sbi_call(SBI_EXT_TIME, 0u, ticks, 0u, 0u);
#else
    xcv_mmio_write64(CLINT_MTIMECMP(xcv_riscv_hart_id()), ticks);
#endif
}

void xcv_riscv_irq_init(void)
{
    timer_set(UINT64_MAX);
    timer_armed = false;
    XCV_CSR_WRITE(XCV_CSR_IE, (1u << XCV_IRQ_SOFT) | (1u << XCV_IRQ_TIMER));
    xcv_irq_enable();
}

/* ---- PLIC ---------------------------------------------------------------------------------- */

#define PLIC_PRIORITY(i) (XCV_RISCV_PLIC_BASE + 4u * (uintptr_t)(i))
#define PLIC_ENABLE(ctx, i)                                                                        \
    (XCV_RISCV_PLIC_BASE + 0x2000u + 0x80u * (uintptr_t)(ctx) + 4u * (uintptr_t)((i) / 32u))
#define PLIC_THRESHOLD(ctx) (XCV_RISCV_PLIC_BASE + 0x200000u + 0x1000u * (uintptr_t)(ctx))
#define PLIC_CLAIM(ctx) (PLIC_THRESHOLD(ctx) + 4u)
#define PLIC_SOURCES 1024u /* ids 1..1023 at most */

/* This hart's PLIC context on QEMU virt: two per hart, M-mode first, then S-mode. */
static uint32_t plic_context(void)
{
#ifdef XCV_RISCV_SMODE
    return 2u * xcv_riscv_hart_id() + 1u;
#else
    return 2u * xcv_riscv_hart_id();
#endif
}

static void plic_set_enable(uint32_t irq, bool on)
{
    uintptr_t a = PLIC_ENABLE(plic_context(), irq);
    uint32_t bit = 1u << (irq % 32u);
    uint32_t v = xcv_mmio_read32(a);
    xcv_mmio_write32(a, on ? (v | bit) : (v & ~bit));
}

int xcv_riscv_plic_enable(uint32_t irq)
{
    if (irq == 0u || irq > XCV_RISCV_PLIC_MAX_IRQ)
        return -1;
    uint32_t ctx = plic_context();
    xcv_mmio_write32(PLIC_PRIORITY(irq), 1u);
    xcv_mmio_write32(PLIC_THRESHOLD(ctx), 0u);
    plic_set_enable(irq, true);
    xcv_fence_all();
    XCV_CSR_SET(XCV_CSR_IE, 1u << XCV_IRQ_EXT);
    return 0;
}

void xcv_riscv_plic_unmask(uint32_t irq)
{
    if (irq == 0u || irq > XCV_RISCV_PLIC_MAX_IRQ)
        return;
    /* Device acknowledgements before the source can fire again. */
    xcv_fence_all();
    plic_set_enable(irq, true);
    /* Write the threshold again (same value): QEMU's PLIC (7.2) re-evaluates its output only on
     * a source, priority, threshold or claim/complete event, not on an enable write, so a
     * source that became pending while masked would otherwise stay undelivered. */
    uint32_t ctx = plic_context();
    xcv_mmio_write32(PLIC_THRESHOLD(ctx), xcv_mmio_read32(PLIC_THRESHOLD(ctx)));
}

uint64_t xcv_riscv_plic_take(void)
{
    return atomic_exchange_explicit(&plic_pending, 0u, memory_order_acquire);
}

uint64_t xcv_riscv_plic_count(void)
{
    return atomic_load_explicit(&plic_claimed, memory_order_relaxed);
}

/* External interrupt: claim every pending source, complete it, mask it, record it. Sources
 * above XCV_RISCV_PLIC_MAX_IRQ are not the port's: they stay masked. */
static void plic_trap(void)
{
    uint32_t ctx = plic_context();
    for (unsigned n = 0; n <= XCV_RISCV_PLIC_MAX_IRQ; n++) {
        uint32_t irq = xcv_mmio_read32(PLIC_CLAIM(ctx));
        if (irq == 0u)
            break;
        /* Complete while the source is still enabled: the PLIC specification lets a PLIC
         * ignore the completion of a source that is not enabled for the context, which would
         * leave it claimed. Then mask it: the line stays high until the device is
         * acknowledged. An id past the PLIC's 1023 sources has no enable bit to touch. */
        xcv_mmio_write32(PLIC_CLAIM(ctx), irq);
        if (irq < PLIC_SOURCES)
            plic_set_enable(irq, false);
        if (irq <= XCV_RISCV_PLIC_MAX_IRQ) {
            atomic_fetch_or_explicit(&plic_pending, 1ull << irq, memory_order_relaxed);
            atomic_fetch_add_explicit(&plic_claimed, 1u, memory_order_relaxed);
        }
    }
}

/* ---- doorbells ------------------------------------------------------------------------------- */

int xcv_riscv_send_ipi(uint32_t hart)
{
    /* Every store to the window is visible before the peer can take the interrupt. */
    xcv_fence_all();
#ifdef XCV_RISCV_SMODE
    struct sbiret r = sbi_call(SBI_EXT_IPI, 0u, 1u, hart, 0u);
    return (int)r.error;
#else
    if (hart >= CLINT_MAX_HARTS)
        return -1;
    xcv_mmio_write32(CLINT_MSIP(hart), 1u);
    return 0;
#endif
}

uint32_t xcv_riscv_doorbells_take(void)
{
    /* Acquire: the peer's stores before its doorbell are visible to what the caller reads. */
    return atomic_exchange_explicit(&doorbells_pending, 0u, memory_order_acquire);
}

uint64_t xcv_riscv_doorbell_count(void)
{
    return atomic_load_explicit(&doorbells_received, memory_order_relaxed);
}

bool xcv_riscv_wait_doorbell(uint64_t deadline_ns)
{
    uint64_t status = XCV_CSR_READ(XCV_CSR_STATUS);
    bool rang;
    for (;;) {
        xcv_irq_disable();
        if (atomic_load_explicit(&doorbells_pending, memory_order_relaxed) != 0u ||
            atomic_load_explicit(&plic_pending, memory_order_relaxed) != 0u) {
            rang = true;
            break;
        }
        if (xcv_riscv_now_ns() >= deadline_ns) {
            rang = false;
            break;
        }
        /* The timer bounds the sleep; WFI wakes on an interrupt enabled in xie even while
         * interrupts are off globally, so nothing can slip in between the check and WFI. */
        timer_set(ns_to_ticks(deadline_ns));
        timer_armed = true;
        __asm__ volatile("wfi" : : : "memory");
        xcv_irq_enable(); /* take the interrupt that woke us */
    }
    if (timer_armed) {
        timer_set(UINT64_MAX);
        timer_armed = false;
    }
    if ((status & XCV_STATUS_IE) != 0u)
        xcv_irq_enable();
    return rang;
}

/* ---- starting a hart ------------------------------------------------------------------------- */

int64_t xcv_riscv_hart_start(uint32_t hart, uint64_t entry, uint64_t arg)
{
    if (hart >= XCV_RISCV_MAX_HARTS || hart == xcv_riscv_hart_id())
        return SBI_ERR_INVALID_PARAM;
    /* The slot: M-mode, the release of the parked hart; S-mode, where the hart goes if the
     * firmware starts it in this image instead of at @entry (see start.S). */
    struct xcv_riscv_spin_slot *s = &xcv_riscv_spin[hart];
    atomic_store_explicit(&s->arg, arg, memory_order_relaxed);
    atomic_store_explicit(&s->entry, entry, memory_order_release);
#ifdef XCV_RISCV_SMODE
    xcv_fence_all();
    struct sbiret r = sbi_call(SBI_EXT_HSM, SBI_HSM_HART_START, hart, entry, arg);
    return r.error;
#else
    return xcv_riscv_send_ipi(hart);
#endif
}

int64_t xcv_riscv_hart_status(uint32_t hart)
{
#ifdef XCV_RISCV_SMODE
    struct sbiret r = sbi_call(SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, hart, 0u, 0u);
    return r.error != 0 ? r.error : r.value;
#else
    (void)hart;
    return SBI_ERR_NOT_SUPPORTED;
#endif
}

/* ---- memory protection ----------------------------------------------------------------------- */

extern char __ram_base[];
extern char __ram_end[];

#define MAX_SHARED 4u

#ifndef XCV_RISCV_SMODE
#define PMP_ENTRIES 16u
#define PMP_R 0x01u
#define PMP_W 0x02u
#define PMP_X 0x04u
#define PMP_A_TOR 0x08u
#define PMP_A_NAPOT 0x18u
#define PMP_L 0x80u

struct pmp_plan {
    uint64_t addr[PMP_ENTRIES];
    uint8_t cfg[PMP_ENTRIES];
    unsigned n;
};

/* One region: NAPOT when it is a naturally aligned power of two, else a TOR pair. The last
 * entry is kept for the deny-all. */
static int pmp_add(struct pmp_plan *p, uint64_t base, uint64_t size, uint8_t perm)
{
    if (size < 4u || base + size < base || ((base | size) & 3u) != 0u)
        return -1;
    if (size >= 8u && (size & (size - 1u)) == 0u && (base & (size - 1u)) == 0u) {
        if (p->n + 1u > PMP_ENTRIES - 1u)
            return -1;
        p->addr[p->n] = (base | (size / 2u - 1u)) >> 2;
        p->cfg[p->n++] = (uint8_t)(PMP_L | PMP_A_NAPOT | perm);
        return 0;
    }
    if (p->n + 2u > PMP_ENTRIES - 1u)
        return -1;
    p->addr[p->n] = base >> 2; /* bottom of the TOR range; the entry itself is OFF */
    p->cfg[p->n++] = (uint8_t)PMP_L;
    p->addr[p->n] = (base + size) >> 2;
    p->cfg[p->n++] = (uint8_t)(PMP_L | PMP_A_TOR | perm);
    return 0;
}

#define PMPADDR_CASE(i)                                                                            \
    case i:                                                                                        \
        XCV_CSR_WRITE("pmpaddr" #i, v);                                                            \
        break

static void pmpaddr_write(unsigned i, uint64_t v)
{
    switch (i) {
        PMPADDR_CASE(0);
        PMPADDR_CASE(1);
        PMPADDR_CASE(2);
        PMPADDR_CASE(3);
        PMPADDR_CASE(4);
        PMPADDR_CASE(5);
        PMPADDR_CASE(6);
        PMPADDR_CASE(7);
        PMPADDR_CASE(8);
        PMPADDR_CASE(9);
        PMPADDR_CASE(10);
        PMPADDR_CASE(11);
        PMPADDR_CASE(12);
        PMPADDR_CASE(13);
        PMPADDR_CASE(14);
        PMPADDR_CASE(15);
    default:
        break;
    }
}

int xcv_riscv_protect(const struct xcv_riscv_region *shared, unsigned n_shared)
{
    struct pmp_plan p = {.n = 0};
    uint64_t rb = (uint64_t)(uintptr_t)__ram_base;
    uint64_t re = (uint64_t)(uintptr_t)__ram_end;
    uint32_t hart = xcv_riscv_hart_id();
    if (n_shared > MAX_SHARED || (n_shared > 0u && shared == NULL))
        return -1;
    int r = pmp_add(&p, rb, re - rb, PMP_R | PMP_W | PMP_X);
    for (unsigned i = 0; i < n_shared; i++)
        r |= pmp_add(&p, shared[i].base, shared[i].size, PMP_R | PMP_W);
    r |= pmp_add(&p, XCV_RISCV_UART_BASE, 0x100u, PMP_R | PMP_W);
    r |= pmp_add(&p, XCV_RISCV_TEST_BASE, 0x1000u, PMP_R | PMP_W);
    r |= pmp_add(&p, CLINT_MSIP(0), 0x4000u, PMP_R | PMP_W); /* every hart's MSIP */
    r |= pmp_add(&p, CLINT_MTIMECMP(hart), 8u, PMP_R | PMP_W);
    r |= pmp_add(&p, XCV_RISCV_MTIME_ADDR, 8u, PMP_R);
    if (r != 0)
        return -1;
    /* Lowest priority: everything else, no access, locked (binds M-mode). */
    p.addr[PMP_ENTRIES - 1u] = ~0ull >> 10;
    p.cfg[PMP_ENTRIES - 1u] = (uint8_t)(PMP_L | PMP_A_NAPOT);

    for (unsigned i = 0; i < PMP_ENTRIES; i++)
        pmpaddr_write(i, p.addr[i]);
    uint64_t cfg0 = 0;
    uint64_t cfg2 = 0;
    for (unsigned i = 0; i < 8u; i++) {
        cfg0 |= (uint64_t)p.cfg[i] << (8u * i);
        cfg2 |= (uint64_t)p.cfg[8u + i] << (8u * i);
    }
    /* Entries 0..7 first: the deny-all (entry 15) may only take effect once the image's own
     * RAM is allowed, or the next instruction fetch would fault. */
    XCV_CSR_WRITE("pmpcfg0", cfg0);
    XCV_CSR_WRITE("pmpcfg2", cfg2);
    return 0;
}
#else
#define PAGE_2M 0x200000ull
#define GIB 0x40000000ull
#define PTE_V 0x01u
#define PTE_R 0x02u
#define PTE_W 0x04u
#define PTE_X 0x08u
#define PTE_A 0x40u
#define PTE_D 0x80u
#define SATP_SV39 (8ull << 60)

/* Root table; level-1 tables for the low 4 GiB in 2 MiB pages. */
static uint64_t pt_root[512] __attribute__((aligned(4096)));
static uint64_t pt_l1[4][512] __attribute__((aligned(4096)));

static int map_range(uint64_t base, uint64_t size, uint64_t flags)
{
    uint64_t b = base & ~(PAGE_2M - 1u);
    uint64_t e = (base + size + PAGE_2M - 1u) & ~(PAGE_2M - 1u);
    if (size == 0u || base + size < base || e > 4u * GIB)
        return -1;
    for (uint64_t a = b; a < e; a += PAGE_2M)
        pt_l1[a / GIB][(a % GIB) / PAGE_2M] = ((a >> 12) << 10) | flags;
    return 0;
}

int xcv_riscv_protect(const struct xcv_riscv_region *shared, unsigned n_shared)
{
    const uint64_t leaf = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    uint64_t rb = (uint64_t)(uintptr_t)__ram_base;
    uint64_t re = (uint64_t)(uintptr_t)__ram_end;
    if (n_shared > MAX_SHARED || (n_shared > 0u && shared == NULL))
        return -1;
    int r = map_range(rb, re - rb, leaf | PTE_X);
    for (unsigned i = 0; i < n_shared; i++)
        r |= map_range(shared[i].base, shared[i].size, leaf);
    r |= map_range(XCV_RISCV_UART_BASE, 0x100u, leaf);
    r |= map_range(XCV_RISCV_TEST_BASE, 0x1000u, leaf);
    if (r != 0)
        return -1;
    for (unsigned i = 0; i < 4u; i++)
        pt_root[i] = (((uint64_t)(uintptr_t)pt_l1[i] >> 12) << 10) | PTE_V;
    __asm__ volatile("sfence.vma" : : : "memory");
    XCV_CSR_WRITE("satp", SATP_SV39 | ((uint64_t)(uintptr_t)pt_root >> 12));
    __asm__ volatile("sfence.vma" : : : "memory");
    return 0;
}
#endif

uint64_t xcv_riscv_probe(uintptr_t addr, bool write)
{
    volatile uint64_t *p = (volatile uint64_t *)addr;
    probe_cause = 0u;
    probe_armed = true;
    atomic_signal_fence(memory_order_seq_cst);
    uint64_t v = *p;
    if (write)
        *p = v;
    atomic_signal_fence(memory_order_seq_cst);
    probe_armed = false;
    return probe_cause;
}

/* ---- C entry and traps ----------------------------------------------------------------------- */

void xcv_riscv_cstart(uint64_t hart, uint64_t boot_arg)
{
    entry_hart = (uint32_t)hart;
    xcv_riscv_exit(xcv_riscv_main(boot_arg));
}

#define CAUSE_INTERRUPT (1ull << 63)

uintptr_t xcv_riscv_trap(uint64_t cause, uintptr_t epc, uint64_t tval)
{
    if ((cause & CAUSE_INTERRUPT) != 0u) {
        uint64_t irq = cause & ~CAUSE_INTERRUPT;
        if (irq == XCV_IRQ_SOFT) {
#ifdef XCV_RISCV_SMODE
            XCV_CSR_CLEAR("sip", 1u << XCV_IRQ_SOFT);
#else
            xcv_mmio_write32(CLINT_MSIP(xcv_riscv_hart_id()), 0u);
#endif
            atomic_fetch_or_explicit(&doorbells_pending, 1u << XCV_RISCV_DOORBELL,
                                     memory_order_relaxed);
            atomic_fetch_add_explicit(&doorbells_received, 1u, memory_order_relaxed);
        } else if (irq == XCV_IRQ_TIMER) {
            timer_set(UINT64_MAX); /* one shot: the waiter re-arms */
            timer_armed = false;
        } else if (irq == XCV_IRQ_EXT) {
            plic_trap();
        } else if (irq < 64u) {
            XCV_CSR_CLEAR(XCV_CSR_IE, 1ull << irq); /* not ours: keep it from firing again */
        }
        return epc;
    }
    if (probe_armed) {
        if (probe_cause == 0u)
            probe_cause = cause;
        uint16_t insn = *(const volatile uint16_t *)epc;
        return epc + ((insn & 3u) == 3u ? 4u : 2u); /* skip the faulting access */
    }
    xcv_riscv_puts("\nfatal trap cause=");
    xcv_riscv_put_hex(cause);
    xcv_riscv_puts(" hart=");
    xcv_riscv_put_dec(xcv_riscv_hart_id());
    xcv_riscv_puts(" epc=");
    xcv_riscv_put_hex(epc);
    xcv_riscv_puts(" tval=");
    xcv_riscv_put_hex(tval);
    xcv_riscv_puts("\n");
    xcv_riscv_exit((int)(100u + (cause & 0x3fu)));
}
