/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file port_armv8.h
 * @brief The bare-metal ARMv8-A port (EL1, GICv3, PSCI, PL011, generic timer, semihosting).
 *
 * Each compartment is its own image: startup code (start.S) drops from EL2 to EL1 if needed,
 * sets up a stack per CPU, zeroes .bss, installs the vector table and calls
 * xcv_armv8_main() with the boot argument (x0 at entry: the DTB address from -kernel, or the
 * context of PSCI CPU_ON). The image then turns the MMU on (xcv_armv8_mmu_init()), brings up
 * its part of the GIC (xcv_armv8_gic_init()) and builds an ::xcv_port with
 * xcv_armv8_port_init().
 *
 * Doorbells are GICv3 software-generated interrupts (SGI INTID 0..15). The IRQ handler
 * acknowledges them and records them in a pending mask; the port's wait operation sleeps in
 * WFI until a doorbell is pending or the deadline passes (the virtual timer wakes it). The
 * application calls xcv_channel_poll() after each wait.
 *
 * Addresses are identity mapped, so a window's local address, physical address and bus address
 * are the same number.
 */
#ifndef XCVIRTIO_PORT_ARMV8_H
#define XCVIRTIO_PORT_ARMV8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Platform constants of QEMU's `virt` machine (hard-coded; see docs/porting.md)
 *  @{ */
#define XCV_ARMV8_UART_BASE 0x09000000u        /**< PL011 registers. */
#define XCV_ARMV8_GICD_BASE 0x08000000u        /**< GICv3 distributor. */
#define XCV_ARMV8_GICR_BASE 0x080A0000u        /**< First GICv3 redistributor (stride 0x20000). */
#define XCV_ARMV8_TIMER_PPI 27u                /**< Virtual timer interrupt (PPI 11). */
#define XCV_ARMV8_VIRTIO_MMIO_BASE 0x0a000000u /**< First virtio-mmio transport. */
#define XCV_ARMV8_VIRTIO_MMIO_STRIDE 0x200u    /**< Bytes between virtio-mmio transports. */
#define XCV_ARMV8_VIRTIO_MMIO_COUNT 32u        /**< Transports (QEMU fills from the top). */
#define XCV_ARMV8_VIRTIO_MMIO_INTID 48u        /**< INTID of transport 0 (SPI 16); +n for n. */
/** @} */

/** @brief A memory region to identity-map. */
struct xcv_armv8_region {
    uint64_t base; /**< Physical (= virtual) base, 2 MiB aligned. */
    uint64_t size; /**< Bytes, a multiple of 2 MiB. */
};

/**
 * @brief Turn the MMU and the caches on with an identity map in 2 MiB blocks: this image's RAM
 * (from the linker script) and @p shared Normal write-back cacheable inner shareable, the
 * GIC and the UART Device-nGnRE. Nothing else is mapped. Call once per image, first thing.
 * @param shared Shared windows to map (may be NULL when @p n_shared is 0).
 * @param n_shared Entries in @p shared (at most 4).
 * @return 0, or -1 for a region that is not 2 MiB aligned or lies above 2 GiB.
 */
int xcv_armv8_mmu_init(const struct xcv_armv8_region *shared, unsigned n_shared);

/**
 * @brief Add a device region (for example the virtio-mmio transports) to the identity map as
 * Device-nGnRE, execute-never. Call before xcv_armv8_mmu_init(), which maps it with the rest.
 * @param base Physical base, 2 MiB aligned (the block containing the registers).
 * @param size Bytes, a multiple of 2 MiB.
 * @return 0, or -1 for a region that is not 2 MiB aligned or lies above 2 GiB.
 */
int xcv_armv8_mmu_map_device(uint64_t base, uint64_t size);

/**
 * @brief Add a shared memory range to the identity map as Normal write-back cacheable, inner
 * shareable, execute-never, with the MMU already on (for a window whose address comes from
 * the device tree, read after xcv_armv8_mmu_init()). The range is widened to whole 2 MiB
 * blocks; the caller checks beforehand that it may map those blocks.
 * @param base Physical base (any alignment).
 * @param size Bytes (non-zero).
 * @return 0, or -1 for an empty range, one that wraps or one that reaches above 2 GiB.
 */
int xcv_armv8_mmu_map_shared(uint64_t base, uint64_t size);

/** @brief Write one character to the PL011 (busy-waits while its FIFO is full). */
void xcv_armv8_putc(char c);
/** @brief Write a NUL-terminated string. */
void xcv_armv8_puts(const char *s);
/** @brief Write @p v as 0x-prefixed hexadecimal. */
void xcv_armv8_put_hex(uint64_t v);
/** @brief Write @p v in decimal. */
void xcv_armv8_put_dec(uint64_t v);
/** @brief Write a signed value in decimal. */
void xcv_armv8_put_int(int64_t v);

/** @brief Exit QEMU through semihosting SYS_EXIT with status @p code (mod 256). */
_Noreturn void xcv_armv8_exit(int code);
/** @brief Stop this CPU for good (interrupts masked, WFI loop). */
_Noreturn void xcv_armv8_park(void);

/** @brief The generic timer frequency (CNTFRQ_EL0), in Hz. */
uint64_t xcv_armv8_timer_hz(void);
/** @brief Monotonic time in nanoseconds from CNTVCT_EL0. */
uint64_t xcv_armv8_now_ns(void);
/** @brief Busy-wait @p ns nanoseconds on the generic timer. */
void xcv_armv8_delay_ns(uint64_t ns);

/** @brief This CPU's MPIDR_EL1 affinity fields (Aff3..Aff0, MT/U bits cleared). */
uint64_t xcv_armv8_mpidr(void);
/** @brief The exception level the image was entered at (1 or 2). */
unsigned xcv_armv8_boot_el(void);

/**
 * @brief Bring up the GICv3 for this CPU: the distributor (only when @p distributor is true:
 * exactly one compartment, the one that boots first, owns it), this CPU's redistributor, SGIs
 * 0..15 and the virtual timer PPI as Group 1, and the CPU interface through system registers.
 * IRQs are unmasked at the end.
 * @return 0, or -1 when no redistributor matches this CPU's affinity.
 */
int xcv_armv8_gic_init(bool distributor);

/**
 * @brief Send SGI @p intid (0..15) to the CPU with affinity @p mpidr. A DSB orders every
 * earlier store to memory before the interrupt.
 */
void xcv_armv8_send_sgi(uint64_t mpidr, uint32_t intid);

/**
 * @brief Route device interrupt (SPI) @p intid (32..95) to this CPU as a level-sensitive
 * Group 1 interrupt and enable it. Needs the distributor (xcv_armv8_gic_init(true)).
 *
 * The IRQ handler masks an SPI when it takes it (a level-sensitive line stays asserted until
 * the device is acknowledged) and records it for xcv_armv8_spis_take(); the owner acknowledges
 * the device, then calls xcv_armv8_gic_spi_unmask(). xcv_armv8_wait_doorbell() also wakes for a
 * recorded SPI.
 * @return 0, or -1 for an INTID outside 32..95 or a distributor that does not respond.
 */
int xcv_armv8_gic_spi_enable(uint32_t intid);

/** @brief Enable SPI @p intid again after its device was acknowledged (see above). */
void xcv_armv8_gic_spi_unmask(uint32_t intid);

/** @brief Take and clear the mask of SPIs taken (bit n = INTID 32 + n) since the last call. */
uint64_t xcv_armv8_spis_take(void);

/** @brief Take and clear the mask of doorbells (bit n = SGI n) received since the last call. */
uint32_t xcv_armv8_doorbells_take(void);

/**
 * @brief Sleep in WFI until a doorbell (or an SPI enabled with xcv_armv8_gic_spi_enable()) is
 * pending or @p deadline_ns passes. Consumes neither.
 * @return true when a doorbell or SPI is pending, false at the deadline.
 */
bool xcv_armv8_wait_doorbell(uint64_t deadline_ns);

/** @brief Doorbell SGIs received by this CPU so far (statistics). */
uint64_t xcv_armv8_doorbell_count(void);

/**
 * @brief PSCI CPU_ON: start the CPU with affinity @p mpidr at physical address @p entry with
 * x0 = @p context. The conduit is HVC when the image started at EL1 and SMC when it started at
 * EL2 (QEMU virt's rule; the DTB's /psci method is authoritative on other platforms).
 * @return The PSCI status (0 = success, negative PSCI error).
 */
int64_t xcv_armv8_psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context);

/** @brief Clean the data cache over [@p addr, @p addr + @p len) to the point of coherency. */
void xcv_armv8_dcache_clean(const void *addr, size_t len);
/** @brief Invalidate the data cache over [@p addr, @p addr + @p len) (lines must not be shared
 * with data this CPU wrote and has not cleaned). */
void xcv_armv8_dcache_invalidate(const void *addr, size_t len);

/** @brief Most diagnostics one port context keeps (the first ones are kept). */
#define XCV_ARMV8_LOG_KEEP 8u

/** @brief Port context. Caller-allocated; fill it with xcv_armv8_port_init(). */
struct xcv_armv8_port {
    uint64_t peer_mpidr;                /**< CPU that receives this side's doorbells. */
    const char *tag;                    /**< Prefix of log lines (e.g. "dev"), or NULL. */
    uint32_t n_logged;                  /**< Diagnostics received through the log operation. */
    int logged_err[XCV_ARMV8_LOG_KEEP]; /**< Their error codes (first ones). */
    const char *logged_what[XCV_ARMV8_LOG_KEEP]; /**< Their texts (first ones). */
    uint64_t notifies;                           /**< Doorbells rung. */
    uint64_t waits;                              /**< Calls of the wait operation. */
};

/**
 * @brief Fill @p port (ops and ctx) for a compartment whose peer runs on CPU @p peer_mpidr.
 * Doorbell numbers given to the library are SGI INTIDs (0..15).
 * @param p Caller-owned context; must outlive @p port.
 * @param port Filled with the ops table and @p p.
 * @param peer_mpidr Affinity of the peer's CPU.
 * @param noncoherent When true the ops include cache clean/invalidate (DC CVAC / DC IVAC), for
 *        a window that is not coherent between the compartments.
 * @param tag Log prefix, or NULL.
 */
void xcv_armv8_port_init(struct xcv_armv8_port *p, struct xcv_port *port, uint64_t peer_mpidr,
                         bool noncoherent, const char *tag);

/** @brief The application's entry point, called by the startup code on the boot CPU. */
int xcv_armv8_main(uint64_t boot_arg);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_PORT_ARMV8_H */
