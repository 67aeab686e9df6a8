/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file port_riscv.h
 * @brief The bare-metal RISC-V port (rv64, QEMU `virt`): M-mode or S-mode under an SBI firmware.
 *
 * The port is built twice from the same sources: `xcvirtio_riscv_m` for images that run in
 * machine mode with no firmware (`-bios none`) and `xcvirtio_riscv_s` (compiled with
 * `XCV_RISCV_SMODE`, which it exports) for images that run in supervisor mode under an SBI
 * implementation such as OpenSBI. The functions below exist in both; what differs is how they
 * reach the hardware:
 *
 * | what            | M-mode (`-bios none`)                | S-mode (SBI)                        |
 * |-----------------|--------------------------------------|-------------------------------------|
 * | doorbell        | CLINT MSIP of the peer hart          | SBI IPI (EID 0x735049)              |
 * | received as     | machine software interrupt           | supervisor software interrupt       |
 * | clock           | CLINT mtime (MMIO)                   | `rdtime`                            |
 * | timed wait      | CLINT mtimecmp of this hart + WFI    | SBI set_timer (EID 0x54494D45) + WFI|
 * | start a hart    | release from the boot stub (MSIP)    | SBI HSM hart_start (EID 0x48534D)   |
 * | isolation       | locked PMP entries                   | Sv39 identity map                   |
 * | device IRQs     | PLIC context 2 * hart (M)            | PLIC context 2 * hart + 1 (S)       |
 *
 * Each compartment is its own image. Startup code (start.S) sets the global pointer, gives
 * each hart its own stack, zeroes .bss, installs the trap vector and calls xcv_riscv_main().
 *
 * Boot in M-mode: every hart enters the image given to `-kernel` at once. The image runs only
 * on the hart it was linked for (`HART` in the image's linker script); any other hart parks
 * in a small loop of the start code (interrupts masked, only the software interrupt enabled,
 * WFI) until the owner of the image releases it with xcv_riscv_hart_start(): the owner writes
 * the entry and argument into the parked hart's slot and raises its MSIP; the parked hart
 * clears its MSIP and jumps to the entry with a0 = its hart id and a1 = the argument. The
 * released hart never returns to the image it parked in. This is the M-mode counterpart of SBI
 * HSM hart_start.
 *
 * Boot in S-mode: the SBI firmware enters the image on one hart (OpenSBI picks it at random);
 * the other harts stay stopped in the firmware until xcv_riscv_hart_start() (SBI HSM) starts
 * them. Any hart may run an S-mode image; the first one to enter owns it. A hart that enters
 * an image another hart owns goes on to the entry and argument its slot names: OpenSBI 1.1
 * marks a hart START_PENDING before it stores the start address and argument, so a hart that
 * reaches its wait loop in that window starts at the previous address (the booted image), and
 * xcv_riscv_hart_start() therefore fills the slot before it calls the firmware.
 *
 * Doorbells: a hart has one software interrupt, so the port has one doorbell number,
 * ::XCV_RISCV_DOORBELL. The trap handler clears the interrupt (MSIP in the CLINT, or SSIP) and
 * records it in a pending mask; the port's wait operation sleeps in WFI until a doorbell is
 * pending or the deadline passes (the hart's timer wakes it). The application calls
 * xcv_channel_poll() after each wait.
 *
 * The window is coherent between harts (QEMU, and every hart of one coherent system): the
 * port's cache operations are NULL. Ordering is C11 atomics (FENCE and AMOs on rv64imac) in
 * the core plus a full FENCE before every doorbell. Addresses are identity mapped, so a
 * window's local, physical and bus addresses are the same number.
 */
#ifndef XCVIRTIO_PORT_RISCV_H
#define XCVIRTIO_PORT_RISCV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Platform constants of QEMU's `virt` machine (hard-coded; see docs/porting.md)
 *  @{ */
#define XCV_RISCV_UART_BASE 0x10000000u  /**< 16550 UART registers (byte wide). */
#define XCV_RISCV_CLINT_BASE 0x02000000u /**< CLINT: MSIP(h) at +4h, mtimecmp(h) at +0x4000+8h. */
#define XCV_RISCV_MTIME_ADDR 0x0200bff8u /**< CLINT mtime (64-bit). */
#define XCV_RISCV_TEST_BASE 0x00100000u  /**< SiFive test device (exit status). */
#define XCV_RISCV_TIMEBASE_HZ 10000000u  /**< mtime / `time` frequency (DTB timebase-frequency). */
#define XCV_RISCV_MAX_HARTS 4u           /**< Harts with a stack and a park slot per image. */
#define XCV_RISCV_PLIC_BASE 0x0c000000u  /**< PLIC: priorities, pending, enables, contexts. */
#define XCV_RISCV_PLIC_MAX_IRQ 63u       /**< Highest PLIC source the port handles (1..63). */
#define XCV_RISCV_VIRTIO_MMIO_BASE 0x10001000u /**< virtio-mmio transport of slot 0. */
#define XCV_RISCV_VIRTIO_MMIO_STRIDE 0x1000u   /**< Distance between two transports. */
#define XCV_RISCV_VIRTIO_MMIO_COUNT 8u         /**< virtio-mmio transports (slots 0..7). */
#define XCV_RISCV_VIRTIO_MMIO_IRQ 1u           /**< PLIC source of slot 0 (slot n: 1 + n). */
/** @} */

/** @brief The one doorbell number of this port: the peer hart's software interrupt. */
#define XCV_RISCV_DOORBELL 0u

/** @brief A memory region for xcv_riscv_protect(). */
struct xcv_riscv_region {
    uint64_t base; /**< Physical (= virtual) base. */
    uint64_t size; /**< Bytes. */
};

/**
 * @brief Confine this compartment to its own RAM (from the linker script), @p shared and the
 * devices it uses (UART and test device; in M-mode also the CLINT's MSIP array, this hart's
 * mtimecmp and mtime). Call once per image, before anything else touches memory outside the
 * image.
 *
 * M-mode: locked PMP entries (a locked entry binds M-mode too, until reset): one entry per
 * region (NAPOT when the region is a naturally aligned power of two, else a TOR pair), the
 * window read/write without execute, and a last entry that denies everything else. S-mode:
 * an Sv39 identity map in 2 MiB pages (regions are widened to whole pages; the shared regions
 * are not executable); the SBI firmware's PMP keeps protecting the firmware.
 * @param shared Shared regions (may be NULL when @p n_shared is 0).
 * @param n_shared Entries in @p shared (at most 4).
 * @return 0, or -1 when the regions do not fit (PMP entries, or S-mode: a region above 4 GiB).
 */
int xcv_riscv_protect(const struct xcv_riscv_region *shared, unsigned n_shared);

/**
 * @brief Read (or, with @p write, write back) the 64-bit word at @p addr, expecting the access
 * to fault. For checks of the memory protection.
 * @return 0 when the access succeeded, else the exception cause (e.g. 5 = load access fault,
 * 13 = load page fault).
 */
uint64_t xcv_riscv_probe(uintptr_t addr, bool write);

/** @brief Write one character to the 16550 UART (busy-waits until the holding register is empty).
 */
void xcv_riscv_putc(char c);
/** @brief Write a NUL-terminated string ("\n" becomes "\r\n"). */
void xcv_riscv_puts(const char *s);
/** @brief Write @p v as 0x-prefixed hexadecimal. */
void xcv_riscv_put_hex(uint64_t v);
/** @brief Write @p v in decimal. */
void xcv_riscv_put_dec(uint64_t v);
/** @brief Write a signed value in decimal. */
void xcv_riscv_put_int(int64_t v);

/**
 * @brief Stop QEMU through the SiFive test device: status 0 for @p code 0, else
 * `(c << 16) | 0x3333` with c = @p code mod 256, or 1 when that is 0 (QEMU then exits with c).
 */
_Noreturn void xcv_riscv_exit(int code);
/** @brief Stop this hart for good (interrupts off, WFI loop). */
_Noreturn void xcv_riscv_park(void);

/** @brief The timer counter (M-mode: CLINT mtime; S-mode: the `time` CSR). */
uint64_t xcv_riscv_ticks(void);
/** @brief Monotonic time in nanoseconds from xcv_riscv_ticks() at ::XCV_RISCV_TIMEBASE_HZ. */
uint64_t xcv_riscv_now_ns(void);
/** @brief Busy-wait @p ns nanoseconds. */
void xcv_riscv_delay_ns(uint64_t ns);

/** @brief This hart's id (mhartid; in S-mode the a0 the firmware passed at entry). */
uint32_t xcv_riscv_hart_id(void);
/** @brief True in the S-mode build of the port. */
bool xcv_riscv_smode(void);

/**
 * @brief Enable the software and timer interrupts of this hart (timer disarmed), then
 * interrupts globally. Call once, after xcv_riscv_protect().
 */
void xcv_riscv_irq_init(void);

/**
 * @brief Raise the software interrupt of hart @p hart (M-mode: its CLINT MSIP; S-mode: SBI
 * IPI). A full FENCE first orders every earlier store to memory before the interrupt.
 * @return 0, or a negative SBI error (S-mode) / -1 for a hart out of range.
 */
int xcv_riscv_send_ipi(uint32_t hart);

/** @brief Take and clear the mask of doorbells (bit ::XCV_RISCV_DOORBELL) received so far. */
uint32_t xcv_riscv_doorbells_take(void);

/**
 * @brief Sleep in WFI until a doorbell (or a PLIC source enabled with xcv_riscv_plic_enable())
 * is pending or @p deadline_ns passes. Consumes neither.
 * @return true when a doorbell or PLIC source is pending, false at the deadline.
 */
bool xcv_riscv_wait_doorbell(uint64_t deadline_ns);

/**
 * @brief Route PLIC source @p irq (1..::XCV_RISCV_PLIC_MAX_IRQ) to this hart: priority 1, the
 * source's enable bit in this hart's PLIC context (M-mode: context 2 * hart, the hart's M-mode
 * context on QEMU virt; S-mode: 2 * hart + 1, its S-mode context), the context's threshold 0,
 * and the external interrupt in mie (MEIE) or sie (SEIE). Call after xcv_riscv_irq_init().
 *
 * The trap handler claims the source, completes it (while it is still enabled: a PLIC may
 * ignore the completion of a disabled source), masks it (clears its enable bit: a
 * level-triggered source stays asserted until the device is acknowledged) and records it for
 * xcv_riscv_plic_take(). The owner acknowledges the device, then calls
 * xcv_riscv_plic_unmask(). xcv_riscv_wait_doorbell() also wakes for a recorded source.
 * @return 0, or -1 for a source out of range.
 */
int xcv_riscv_plic_enable(uint32_t irq);

/**
 * @brief Set the enable bit of PLIC source @p irq again after its device was acknowledged,
 * then write this context's threshold again (same value): QEMU's PLIC re-evaluates its output
 * on that write but not on an enable write, and a source that became pending while masked
 * would otherwise not be delivered.
 */
void xcv_riscv_plic_unmask(uint32_t irq);

/** @brief Take and clear the mask of PLIC sources taken (bit n = source n) since the last call.
 */
uint64_t xcv_riscv_plic_take(void);

/** @brief PLIC interrupts claimed by this hart so far (statistics). */
uint64_t xcv_riscv_plic_count(void);

/** @brief Doorbells received by this hart so far (statistics). */
uint64_t xcv_riscv_doorbell_count(void);

/**
 * @brief Start hart @p hart at physical address @p entry with a0 = its hart id and a1 = @p arg.
 * M-mode: releases the hart parked in this image's start code (it need not have reached the
 * park loop yet). S-mode: SBI HSM hart_start.
 * @return 0, or a negative SBI error code (M-mode: -3, invalid parameter, for @p hart out of
 * range or this hart).
 */
int64_t xcv_riscv_hart_start(uint32_t hart, uint64_t entry, uint64_t arg);

/**
 * @brief The HSM state of hart @p hart (S-mode: SBI hart_get_status; 0 started, 1 stopped,
 * 2 start pending, ...; negative SBI error for no such hart). M-mode has no HSM: returns -2
 * (not supported).
 */
int64_t xcv_riscv_hart_status(uint32_t hart);

/** @brief Most diagnostics one port context keeps (the first ones are kept). */
#define XCV_RISCV_LOG_KEEP 8u

/** @brief Port context. Caller-allocated; fill it with xcv_riscv_port_init(). */
struct xcv_riscv_port {
    uint32_t peer_hart;                          /**< Hart that receives this side's doorbells. */
    const char *tag;                             /**< Prefix of log lines (e.g. "dev"), or NULL. */
    uint32_t n_logged;                           /**< Diagnostics received through log. */
    int logged_err[XCV_RISCV_LOG_KEEP];          /**< Their error codes (first ones). */
    const char *logged_what[XCV_RISCV_LOG_KEEP]; /**< Their texts (first ones). */
    uint64_t notifies;                           /**< Doorbells rung. */
    uint64_t waits;                              /**< Calls of the wait operation. */
};

/**
 * @brief Fill @p port (ops and ctx) for a compartment whose peer runs on hart @p peer_hart.
 * The only doorbell number is ::XCV_RISCV_DOORBELL; notify refuses others with ::XCV_EINVAL.
 * The cache operations are NULL (the harts are coherent).
 * @param p Caller-owned context; must outlive @p port.
 * @param port Filled with the ops table and @p p.
 * @param peer_hart Hart id of the peer compartment.
 * @param tag Log prefix, or NULL.
 */
void xcv_riscv_port_init(struct xcv_riscv_port *p, struct xcv_port *port, uint32_t peer_hart,
                         const char *tag);

/**
 * @brief The application's entry point, called by the startup code on the image's hart with
 * the a1 of the entry: the DTB address from QEMU or the firmware, or the @p arg of
 * xcv_riscv_hart_start(). Its return value becomes the exit status (xcv_riscv_exit()).
 */
int xcv_riscv_main(uint64_t boot_arg);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_PORT_RISCV_H */
