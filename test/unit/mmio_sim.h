/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A simulated virtio-mmio device for the unit tests of the virtio-mmio transport: a register
 * file in memory that the transport reaches through ::xcv_mmio_regs_ops accessors written by
 * each test, with the DMA area and the port the transport runs with. test_mmio.c puts a
 * scripted rng device behind the registers (hostile on request); test_mmio_drivers.c puts the
 * library's own device models there.
 *
 * A test's accessors answer config space, the device's identity (MagicValue, DeviceID,
 * VendorID, DeviceFeatures, QueueNumMax) and the registers its device acts on (Status,
 * QueueReady, QueuePFN, QueueNotify, ...), and hand every other register to the file:
 * mmio_sim_read_register() and mmio_sim_write_register() keep the registers the device only stores
 * (the feature and queue selectors, DriverFeatures, GuestPageSize, a queue's size, alignment and
 * ring addresses, InterruptACK) and read back those the file holds. Also here: the DeviceFeatures
 * word a read returns, the legacy ring layout and the bytes of a config space access.
 *
 * Define MMIO_SIM_QUEUES, the simulated device's number of queues, before including this file.
 */
#ifndef XCV_TEST_MMIO_SIM_H
#define XCV_TEST_MMIO_SIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "xcvirtio/error.h"
#include "xcvirtio/mmio.h"

#ifndef MMIO_SIM_QUEUES
#error "define MMIO_SIM_QUEUES (the simulated device's number of queues) before mmio_sim.h"
#endif

/* Bus addresses of the DMA area (rings) and of a test's buffer pool, translated by the simulated
 * device as an IOMMU would; low enough for a legacy QueuePFN (32 bits of 4 KiB pages). */
#define MMIO_SIM_DMA_BUS UINT64_C(0x40000000)
#define MMIO_SIM_POOL_BUS UINT64_C(0x50000000)
#define MMIO_SIM_DMA_BYTES (UINT64_C(128) * 1024u)

/* The transport's DMA area; page-aligned, as a legacy ring starts on a guest page. */
static _Alignas(4096) uint8_t mmio_sim_dma[MMIO_SIM_DMA_BYTES];

/* ---- the register file ---- */

/* One queue's registers, as the driver last wrote them. */
struct mmio_sim_queue {
    uint32_t num, ready, pfn, align;
    uint64_t desc, avail, used; /* QueueDesc, QueueDriver, QueueDevice (modern layout) */
};

struct mmio_sim {
    uint32_t version;      /* 2: modern, 1: legacy */
    uint64_t drv_features; /* DriverFeatures, both words */
    uint32_t dev_sel, drv_sel, queue_sel, guest_page;
    uint32_t status, isr, gen;
    struct mmio_sim_queue q[MMIO_SIM_QUEUES];
    unsigned acks; /* InterruptACK writes */
};

/* The registers of the queue QueueSel selects. Past the last queue, queue 0's stand in, so a
 * stray access stays in bounds (the tests' QueueNumMax reads 0 there: no such queue). */
static inline struct mmio_sim_queue *mmio_sim_selected_queue(struct mmio_sim *r)
{
    return &r->q[r->queue_sel < MMIO_SIM_QUEUES ? r->queue_sel : 0u];
}

/* Sets the 32-bit half of a 64-bit register that a *_LOW or *_HIGH write names. */
static inline void mmio_sim_set_low(uint64_t *reg, uint32_t v)
{
    *reg = (*reg & ~UINT64_C(0xffffffff)) | v;
}

static inline void mmio_sim_set_high(uint64_t *reg, uint32_t v)
{
    *reg = (*reg & UINT64_C(0xffffffff)) | (uint64_t)v << 32;
}

/*
 * The registers the file holds, for the accesses (below the config space) that the device
 * behind it does not answer itself: a read returns the register's value, a write of @p v stores
 * it. GuestPageSize and QueueAlign exist on a legacy device only. A register neither the device
 * nor the file knows fails the test.
 */
static inline uint32_t mmio_sim_read_register(struct mmio_sim *r, uint32_t off)
{
    const struct mmio_sim_queue *q = mmio_sim_selected_queue(r);
    switch (off) {
    case XCV_MMIO_VERSION:
        return r->version;
    case XCV_MMIO_QUEUE_READY:
        return q->ready;
    case XCV_MMIO_QUEUE_PFN:
        return q->pfn;
    case XCV_MMIO_INTERRUPT_STATUS:
        return r->isr;
    case XCV_MMIO_STATUS:
        return r->status;
    case XCV_MMIO_CONFIG_GENERATION:
        return r->gen;
    default:
        fail_msg("read of unexpected register 0x%x", off);
        return 0;
    }
}

static inline void mmio_sim_write_register(struct mmio_sim *r, uint32_t off, uint32_t v)
{
    struct mmio_sim_queue *q = mmio_sim_selected_queue(r);
    switch (off) {
    case XCV_MMIO_DEVICE_FEATURES_SEL:
        r->dev_sel = v;
        break;
    case XCV_MMIO_DRIVER_FEATURES_SEL:
        r->drv_sel = v;
        break;
    case XCV_MMIO_DRIVER_FEATURES:
        /* A DriverFeaturesSel past the two feature words selects nothing. */
        if (r->drv_sel == 0u)
            mmio_sim_set_low(&r->drv_features, v);
        else if (r->drv_sel == 1u)
            mmio_sim_set_high(&r->drv_features, v);
        break;
    case XCV_MMIO_GUEST_PAGE_SIZE:
        assert_int_equal(r->version, 1);
        r->guest_page = v;
        break;
    case XCV_MMIO_QUEUE_SEL:
        r->queue_sel = v;
        break;
    case XCV_MMIO_QUEUE_NUM:
        q->num = v;
        break;
    case XCV_MMIO_QUEUE_ALIGN:
        assert_int_equal(r->version, 1);
        q->align = v;
        break;
    case XCV_MMIO_QUEUE_DESC_LOW:
        mmio_sim_set_low(&q->desc, v);
        break;
    case XCV_MMIO_QUEUE_DESC_HIGH:
        mmio_sim_set_high(&q->desc, v);
        break;
    case XCV_MMIO_QUEUE_DRIVER_LOW:
        mmio_sim_set_low(&q->avail, v);
        break;
    case XCV_MMIO_QUEUE_DRIVER_HIGH:
        mmio_sim_set_high(&q->avail, v);
        break;
    case XCV_MMIO_QUEUE_DEVICE_LOW:
        mmio_sim_set_low(&q->used, v);
        break;
    case XCV_MMIO_QUEUE_DEVICE_HIGH:
        mmio_sim_set_high(&q->used, v);
        break;
    case XCV_MMIO_INTERRUPT_ACK:
        r->isr &= ~v;
        r->acks++;
        break;
    default:
        fail_msg("write of unexpected register 0x%x", off);
    }
}

/* What a DeviceFeatures read returns: the word of @p offered that DeviceFeaturesSel selects,
 * 0 past the two words. */
static inline uint32_t mmio_sim_device_features(const struct mmio_sim *r, uint64_t offered)
{
    return r->dev_sel == 0u ? (uint32_t)offered : r->dev_sel == 1u ? (uint32_t)(offered >> 32) : 0u;
}

/* Where a legacy queue's rings are: one contiguous area at QueuePFN * GuestPageSize, the
 * descriptor table (16 bytes a descriptor) first, the available ring (flags, idx, num entries,
 * used_event: 2 bytes each) right after it, and the used ring at the next QueueAlign boundary. */
static inline void mmio_sim_legacy_rings(const struct mmio_sim *r, const struct mmio_sim_queue *q,
                                         uint64_t *desc, uint64_t *avail, uint64_t *used)
{
    uint64_t base = (uint64_t)q->pfn * r->guest_page;
    uint64_t a = base + UINT64_C(16) * q->num;
    *desc = base;
    *avail = a;
    *used = (a + 6u + UINT64_C(2) * q->num + q->align - 1u) & ~(uint64_t)(q->align - 1u);
}

/* Config space is little-endian: the value of a @p width-byte access to @p bytes, and the bytes
 * a write of @p v stores. */
static inline uint32_t mmio_sim_config_load(const uint8_t *bytes, unsigned width)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint32_t)bytes[i] << (8u * i);
    return v;
}

static inline void mmio_sim_config_store(uint8_t *bytes, uint32_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        bytes[i] = (uint8_t)(v >> (8u * i));
}

/* ---- the transport's port: a clock that advances 1 ms per reading, a log that counts ---- */

static uint64_t mmio_sim_clock_ns;  /* the clock's last reading */
static unsigned mmio_sim_log_calls; /* diagnostics logged */
static int mmio_sim_last_log_err;   /* the error of the last one */

static inline uint64_t mmio_sim_now_ns(void *ctx)
{
    (void)ctx;
    return mmio_sim_clock_ns += 1000000u;
}

static inline int mmio_sim_notify(void *ctx, uint32_t db)
{
    (void)ctx;
    (void)db;
    return XCV_ENOTSUP; /* the transport writes QueueNotify itself */
}

static inline void mmio_sim_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id,
                                int err)
{
    (void)ctx;
    (void)level;
    (void)what;
    (void)id;
    mmio_sim_log_calls++;
    mmio_sim_last_log_err = err;
}

static const struct xcv_port_ops mmio_sim_port_ops = {
    .notify = mmio_sim_notify, .now_ns = mmio_sim_now_ns, .log = mmio_sim_log};
static const struct xcv_port mmio_sim_port = {.ops = &mmio_sim_port_ops, .ctx = NULL};

/* The transport's configuration: the test's register accessors @p regs, the DMA area, the port
 * above and a 100 ms bound on every wait (100 clock readings). */
static inline struct xcv_mmio_config mmio_sim_transport_config(const struct xcv_mmio_regs_ops *regs)
{
    struct xcv_mmio_config c = {
        .regs = regs,
        .dma = {.local = mmio_sim_dma, .bus_base = MMIO_SIM_DMA_BUS, .size = MMIO_SIM_DMA_BYTES},
        .port = &mmio_sim_port,
        .timeout_ns = 100000000u,
    };
    return c;
}

#endif /* XCV_TEST_MMIO_SIM_H */
