/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file mmio.h
 * @brief The virtio-mmio driver transport (virtio 1.2, section 4.2): drive a real virtio-mmio
 *        device (QEMU's virt machine, SoC peripherals) with the same driver-role code as a
 *        channel.
 *
 * A virtio-mmio device is a block of 32-bit registers plus its config space at offset 0x100.
 * xcv_mmio_probe() checks the block (magic, version, device id); xcv_mmio_transport() turns it
 * into a ::xcv_vdrv_transport, so that xcv_vdrv_open_on() and the device drivers' *_open_on()
 * functions (dev_rng.h, dev_blk.h, dev_net.h, dev_console.h) run on it exactly as on a channel:
 * @code
 *   struct xcv_mmio m;
 *   struct xcv_vdrv_transport t;
 *   if (xcv_mmio_probe(&m, &cfg) == XCV_OK && xcv_mmio_device_id(&m) == XCV_VIRTIO_ID_RNG) {
 *       xcv_mmio_transport(&m, &t);
 *       xcv_rng_drv_open_on(&rng, &t, &rng_cfg);
 *   }
 * @endcode
 *
 * Opening runs virtio 1.2 section 3.1.1: reset (Status 0, then wait until it reads 0, bounded
 * by the timeout), ACKNOWLEDGE, DRIVER, the 64-bit features through DeviceFeaturesSel /
 * DriverFeaturesSel, FEATURES_OK and a re-read of Status, then each queue (QueueSel, check it
 * is unused, QueueNumMax, QueueNum, the three ring addresses, QueueReady), and DRIVER_OK. Queue
 * notifications write the queue index to QueueNotify (the queues' port notify operation).
 *
 * Version 1 (legacy) devices are driven too, where that is all a device offers: only feature
 * bits 0..31 exist (so ::XCV_VIRTIO_F_VERSION_1 is never negotiated and drivers whose formats
 * differ check for it: xcv_net_drv_open_on() refuses such a device with ::XCV_ENOTSUP), FEATURES_OK
 * is not used, GuestPageSize is 4096 and each ring is one contiguous legacy ring at a
 * 4096-byte-aligned address with QueueAlign 4096 (the used ring on the next 4096-byte boundary:
 * ::xcv_vring_layout with a line of 4096), announced through QueuePFN. Legacy config space has no
 * generation counter: a read is not re-checked.
 *
 * Rings and indirect tables are placed in a caller-provided DMA area (a window: local and bus
 * address of memory the device can reach; on bare metal with an identity map both are the
 * physical address). Buffers come from the caller (for example an ::xcv_pool over device-
 * reachable memory), as on a channel.
 *
 * The device is untrusted: every register value is validated (magic, version, a status byte
 * that only changes as allowed, QueueNumMax at most 32768, a queue not already in use,
 * InterruptStatus without reserved bits), every wait is bounded by the port's clock, and the
 * used rings are checked by the driver queues. A protocol error makes the transport broken
 * (sticky, ::XCV_EBROKEN) until xcv_vdrv_reset() or a new open resets the device.
 *
 * Registers are accessed with volatile 32-bit loads and stores (8 and 16 bits for config
 * fields), with the barriers of a device access around them: earlier memory writes (rings,
 * buffers) are visible to the device before a register write, and a register read completes
 * before later memory reads. Optional accessor operations (::xcv_mmio_regs_ops) replace them
 * where registers are reached differently (a hypervisor interface, a simulation in tests).
 */
#ifndef XCVIRTIO_MMIO_H
#define XCVIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "xcvirtio/port.h"
#include "xcvirtio/vdrv.h"
#include "xcvirtio/window.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Value of the MagicValue register: "virt" in little-endian. */
#define XCV_MMIO_MAGIC 0x74726976u

/** @name Register offsets (virtio 1.2, 4.2.2 and legacy 4.2.4)
 *  @{ */
#define XCV_MMIO_MAGIC_VALUE 0x000u         /**< R: ::XCV_MMIO_MAGIC. */
#define XCV_MMIO_VERSION 0x004u             /**< R: 2 (modern) or 1 (legacy). */
#define XCV_MMIO_DEVICE_ID 0x008u           /**< R: virtio device id; 0 = empty slot. */
#define XCV_MMIO_VENDOR_ID 0x00cu           /**< R: vendor id. */
#define XCV_MMIO_DEVICE_FEATURES 0x010u     /**< R: 32 device feature bits of the selected word. */
#define XCV_MMIO_DEVICE_FEATURES_SEL 0x014u /**< W: device feature word selector. */
#define XCV_MMIO_DRIVER_FEATURES 0x020u     /**< W: 32 driver feature bits of the selected word. */
#define XCV_MMIO_DRIVER_FEATURES_SEL 0x024u /**< W: driver feature word selector. */
#define XCV_MMIO_GUEST_PAGE_SIZE 0x028u     /**< W: legacy only: page size for QueuePFN. */
#define XCV_MMIO_QUEUE_SEL 0x030u           /**< W: selected queue. */
#define XCV_MMIO_QUEUE_NUM_MAX 0x034u       /**< R: largest size of the selected queue; 0 = none. */
#define XCV_MMIO_QUEUE_NUM 0x038u           /**< W: size of the selected queue. */
#define XCV_MMIO_QUEUE_ALIGN 0x03cu         /**< W: legacy only: used ring alignment. */
#define XCV_MMIO_QUEUE_PFN 0x040u           /**< RW: legacy only: ring page number; 0 = unused. */
#define XCV_MMIO_QUEUE_READY 0x044u         /**< RW: modern only: the selected queue is live. */
#define XCV_MMIO_QUEUE_NOTIFY 0x050u        /**< W: notify the device about queue n. */
#define XCV_MMIO_INTERRUPT_STATUS 0x060u    /**< R: pending interrupt causes. */
#define XCV_MMIO_INTERRUPT_ACK 0x064u       /**< W: acknowledge interrupt causes. */
#define XCV_MMIO_STATUS 0x070u              /**< RW: device status; write 0 to reset. */
#define XCV_MMIO_QUEUE_DESC_LOW 0x080u      /**< W: modern: descriptor table, low 32 bits. */
#define XCV_MMIO_QUEUE_DESC_HIGH 0x084u     /**< W: modern: descriptor table, high 32 bits. */
#define XCV_MMIO_QUEUE_DRIVER_LOW 0x090u    /**< W: modern: driver area (available ring), low. */
#define XCV_MMIO_QUEUE_DRIVER_HIGH 0x094u   /**< W: modern: driver area, high. */
#define XCV_MMIO_QUEUE_DEVICE_LOW 0x0a0u    /**< W: modern: device area (used ring), low. */
#define XCV_MMIO_QUEUE_DEVICE_HIGH 0x0a4u   /**< W: modern: device area, high. */
#define XCV_MMIO_CONFIG_GENERATION 0x0fcu   /**< R: modern: config space generation counter. */
#define XCV_MMIO_CONFIG 0x100u              /**< RW: device-specific config space. */
/** @} */

/** @name InterruptStatus / InterruptACK bits
 *  @{ */
#define XCV_MMIO_INT_VRING 1u  /**< A queue has used buffers. */
#define XCV_MMIO_INT_CONFIG 2u /**< Config space (or NEEDS_RESET) changed. */
/** @} */

/** @brief Bytes of config space this transport lets drivers address (0x100..0x1ff). */
#define XCV_MMIO_CONFIG_MAX 0x100u
/** @brief Legacy (version 1): the GuestPageSize and QueueAlign written, the ring alignment. */
#define XCV_MMIO_LEGACY_ALIGN 4096u
/** @brief Default bound on a wait for the device (reset, synchronous helpers): 1 s. */
#define XCV_MMIO_DEFAULT_TIMEOUT_NS 1000000000u

/**
 * @brief Optional register accessors replacing the built-in volatile accesses.
 * @p off is the register offset, @p width 1, 2 or 4 bytes (1 and 2 only in config space).
 * The values are the device's register values (native byte order, as a 32-bit load gives).
 */
struct xcv_mmio_regs_ops {
    /** @brief Read the register at @p off. */
    uint32_t (*read)(void *ctx, uint32_t off, unsigned width);
    /** @brief Write @p value to the register at @p off. */
    void (*write)(void *ctx, uint32_t off, uint32_t value, unsigned width);
};

/** @brief Configuration of xcv_mmio_probe(). Read during the call only. */
struct xcv_mmio_config {
    /** Local address of the register block (identity map: its physical address), 4-aligned. */
    uintptr_t base;
    /** Optional accessors; NULL for volatile accesses at @c base. */
    const struct xcv_mmio_regs_ops *regs;
    void *regs_ctx; /**< Passed to @c regs. */
    /**
     * DMA area for the rings and indirect tables (caller-owned, must outlive the transport and
     * be reachable by the device at its bus addresses). A ring takes ::XCV_VRING_BYTES(num,
     * line) bytes (line 4096 for legacy devices) plus alignment; its place is kept across
     * reopens of the same ::xcv_vdrv.
     */
    struct xcv_window dma;
    /**
     * The port (required, must outlive the transport): now_ns bounds every wait; wait, if
     * present, is called by synchronous helpers between polls (return early to busy-poll);
     * cache_clean/cache_invalidate are used on the rings when the device is not coherent;
     * lock/unlock serialise the entry points; log receives diagnostics. notify is not used.
     */
    const struct xcv_port *port;
    uint64_t timeout_ns; /**< Bound on a wait for the device; 0 = ::XCV_MMIO_DEFAULT_TIMEOUT_NS. */
    uint32_t line;       /**< Modern ring layout cache line (power of two >= 16); 0 = 64. */
    bool modern_only;    /**< Refuse legacy (version 1) devices with ::XCV_ENOTSUP. */
};

/** @brief A virtio-mmio transport. Caller-allocated (static is fine); fields are private. */
struct xcv_mmio {
    uintptr_t base;                       /**< @private */
    const struct xcv_mmio_regs_ops *regs; /**< @private */
    void *regs_ctx;                       /**< @private */
    struct xcv_window dma;                /**< @private */
    const struct xcv_port *port;          /**< @private */
    uint64_t timeout_ns;                  /**< @private */
    uint64_t dma_alloc;                   /**< @private bump offset in the DMA area */
    struct xcv_vdrv *vdrv;                /**< @private the device object opened here */
    uint64_t interrupts;                  /**< @private non-zero InterruptStatus reads */
    uint32_t line;                        /**< @private */
    uint32_t version;                     /**< @private 1 or 2 */
    uint32_t device_id;                   /**< @private */
    uint32_t vendor_id;                   /**< @private */
    int broken;                           /**< @private sticky protocol error, 0 when healthy */
};

/**
 * @brief Check the register block and describe the device (driver side). Reads MagicValue,
 * Version, DeviceID and VendorID only: the device is not reset or changed.
 * @param m Caller-owned transport object.
 * @param cfg Configuration.
 * @return ::XCV_OK; ::XCV_EINVAL (bad configuration: no port clock, misaligned base, empty or
 *         wrapping DMA area, bad line); ::XCV_ENODEV (no virtio-mmio magic, or DeviceID 0: an
 *         empty slot); ::XCV_ENOTSUP (a version other than 1 or 2, or version 1 with
 *         @c modern_only).
 */
int xcv_mmio_probe(struct xcv_mmio *m, const struct xcv_mmio_config *cfg);

/**
 * @brief Describe probed transport @p m for xcv_vdrv_open_on() and the drivers' *_open_on()
 * functions. One device object is open on a transport at a time (a second gets ::XCV_ESTATE
 * until the first is reset).
 * @param m A probed transport (must outlive every device opened on it).
 * @param[out] t Filled; caller-owned, may be a local variable.
 */
void xcv_mmio_transport(struct xcv_mmio *m, struct xcv_vdrv_transport *t);

/** @brief The virtio device id read at probe (::XCV_VIRTIO_ID_NET, ...). */
uint32_t xcv_mmio_device_id(const struct xcv_mmio *m);

/** @brief The vendor id read at probe. */
uint32_t xcv_mmio_vendor_id(const struct xcv_mmio *m);

/** @brief The transport version read at probe: 2 (modern) or 1 (legacy). */
uint32_t xcv_mmio_version(const struct xcv_mmio *m);

/** @brief The sticky protocol error that broke the transport, or 0 when healthy. */
int xcv_mmio_broken(const struct xcv_mmio *m);

/** @brief How many times xcv_vdrv_poll() found InterruptStatus non-zero (statistics). */
uint64_t xcv_mmio_interrupts(const struct xcv_mmio *m);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_MMIO_H */
