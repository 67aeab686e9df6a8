/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers of the libFuzzer harnesses: an input cursor and a checking macro.
 * A failed check prints the condition and aborts, which libFuzzer reports as a crash.
 */
#ifndef XCV_TEST_FUZZ_COMMON_H
#define XCV_TEST_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads the fuzzer input front to back; past the end every read returns zero. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t fin_u8(struct fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    uint8_t v = *in->p;
    in->p++;
    in->n--;
    return v;
}

static inline uint16_t fin_u16(struct fuzz_in *in)
{
    uint16_t lo = fin_u8(in);
    return (uint16_t)(lo | (uint16_t)(fin_u8(in) << 8));
}

static inline uint32_t fin_u32(struct fuzz_in *in)
{
    uint32_t lo = fin_u16(in);
    return lo | ((uint32_t)fin_u16(in) << 16);
}

static inline uint64_t fin_u64(struct fuzz_in *in)
{
    uint64_t lo = fin_u32(in);
    return lo | ((uint64_t)fin_u32(in) << 32);
}

/* Take up to @p want bytes as a sub-stream. */
static inline struct fuzz_in fin_take(struct fuzz_in *in, size_t want)
{
    struct fuzz_in sub = {in->p, want < in->n ? want : in->n};
    in->p += sub.n;
    in->n -= sub.n;
    return sub;
}

/* Script opcodes of fuzz_vq_device_pop (byte % DEV_OP_COUNT). */
enum dev_op {
    DEV_OP_POP,
    DEV_OP_PUSH,     /* push a popped chain with a valid length */
    DEV_OP_PUSH_ANY, /* push an arbitrary head and length; the model predicts the result */
    DEV_OP_PUBLISH,
    DEV_OP_SHOULD_NOTIFY,
    DEV_OP_FLUSH,
    DEV_OP_PROCESS,
    DEV_OP_ENABLE_NOTIFY,
    DEV_OP_DISABLE_NOTIFY,
    DEV_OP_PATCH,      /* the driver rewrites some bytes */
    DEV_OP_AVAIL_BUMP, /* the driver moves the available index */
    DEV_OP_RESET,
    DEV_OP_DESC, /* the driver writes one descriptor, field by field */
    DEV_OP_COUNT
};

/* Script opcodes of fuzz_vq_driver_used (byte % DRV_OP_COUNT). */
enum drv_op {
    DRV_OP_ADD,
    DRV_OP_KICK_PREPARE,
    DRV_OP_PUBLISH,
    DRV_OP_USED_ENTRY,   /* write one used entry */
    DRV_OP_USED_IDX_SET, /* write the used index */
    DRV_OP_USED_IDX_ADD, /* move the used index forward a little */
    DRV_OP_USED_MISC,    /* write used flags and avail_event */
    DRV_OP_COMPLETE,     /* behave: complete k outstanding chains correctly */
    DRV_OP_GET_USED,
    DRV_OP_ENABLE_NOTIFY,
    DRV_OP_DISABLE_NOTIFY,
    DRV_OP_RECOVER, /* detach everything, reset the queue */
    DRV_OP_COUNT
};

/* Script opcodes of fuzz_vq_packed_device_pop (byte % PDEV_OP_COUNT). */
enum pdev_op {
    PDEV_OP_POP,
    PDEV_OP_POP_BURST, /* pop up to n chains in one call */
    PDEV_OP_POP_OR_ARM,
    PDEV_OP_PUSH,     /* push a popped chain with a valid length */
    PDEV_OP_PUSH_ANY, /* push an arbitrary id and length; the model predicts the result */
    PDEV_OP_PUBLISH,
    PDEV_OP_SHOULD_NOTIFY,
    PDEV_OP_FLUSH,
    PDEV_OP_PROCESS,
    PDEV_OP_ENABLE_NOTIFY,
    PDEV_OP_DISABLE_NOTIFY,
    PDEV_OP_RESET,   /* transport reset; the driver may clear its ring too */
    PDEV_OP_PATCH,   /* the driver rewrites some bytes */
    PDEV_OP_DESC,    /* the driver writes one descriptor near the device's position */
    PDEV_OP_OFFER,   /* the driver offers a well-formed chain at its own position */
    PDEV_OP_RELEASE, /* the driver stores the first flags it held back */
    PDEV_OP_EVENT,   /* the driver writes its event suppression area */
    PDEV_OP_COUNT
};

/* Script opcodes of fuzz_vq_packed_driver_used (byte % PDRV_OP_COUNT). */
enum pdrv_op {
    PDRV_OP_ADD,
    PDRV_OP_ADD_BURST,
    PDRV_OP_PUBLISH,
    PDRV_OP_KICK_PREPARE, /* kick_prepare, or kick through the port */
    PDRV_OP_COMPLETE,     /* behave: use k published chains correctly, in an order of its choice */
    PDRV_OP_USED_DESC,    /* write one used descriptor (flags, id, len) near last_used */
    PDRV_OP_PATCH,        /* write raw bytes anywhere in the ring memory */
    PDRV_OP_DEV_EVENT,    /* write the device event suppression area */
    PDRV_OP_GET_USED,
    PDRV_OP_GET_USED_BURST,
    PDRV_OP_PEEK_USED, /* peek, then take one */
    PDRV_OP_ENABLE_NOTIFY,
    PDRV_OP_DISABLE_NOTIFY,
    PDRV_OP_RECOVER, /* detach everything, reset the queue */
    PDRV_OP_COUNT
};

/* Script opcodes of fuzz_vq_in_order_device_pop (byte % IODEV_OP_COUNT). */
enum iodev_op {
    IODEV_OP_POP,
    IODEV_OP_POP_BURST, /* pop up to n chains in one call */
    IODEV_OP_POP_OR_ARM,
    IODEV_OP_PUSH,     /* push the k oldest chains in pop order, each with a valid length */
    IODEV_OP_PUSH_ANY, /* push an arbitrary head and length; the model predicts the result */
    IODEV_OP_PUBLISH,
    IODEV_OP_SHOULD_NOTIFY,
    IODEV_OP_FLUSH,
    IODEV_OP_PROCESS,
    IODEV_OP_ENABLE_NOTIFY,
    IODEV_OP_DISABLE_NOTIFY,
    IODEV_OP_RESET,      /* transport reset; the driver may start over too */
    IODEV_OP_PATCH,      /* the driver rewrites some bytes */
    IODEV_OP_AVAIL_BUMP, /* the driver moves the available index */
    IODEV_OP_SLOTS,      /* the driver writes garbage into available ring slots */
    IODEV_OP_DESC,       /* the driver writes one descriptor, field by field */
    IODEV_OP_OFFER,      /* the driver offers a well-formed chain at its own table position */
    IODEV_OP_EVENT,      /* the driver writes used_event and the avail flags */
    IODEV_OP_COUNT
};

/* Script opcodes of fuzz_vq_in_order_driver_used (byte % IODRV_OP_COUNT). */
enum iodrv_op {
    IODRV_OP_ADD,
    IODRV_OP_ADD_BURST,
    IODRV_OP_PUBLISH,
    IODRV_OP_KICK_PREPARE, /* kick_prepare, or kick through the port */
    IODRV_OP_COMPLETE,     /* behave: use published chains in order, in batches of 1..4 */
    IODRV_OP_USED_ENTRY,   /* write one used entry near the driver's position */
    IODRV_OP_USED_IDX_SET, /* write the used index */
    IODRV_OP_USED_IDX_ADD, /* move the used index forward a little */
    IODRV_OP_USED_MISC,    /* write used flags and avail_event */
    IODRV_OP_GET_USED,
    IODRV_OP_GET_USED_BURST,
    IODRV_OP_PEEK_USED, /* peek, then take one */
    IODRV_OP_ENABLE_NOTIFY,
    IODRV_OP_DISABLE_NOTIFY,
    IODRV_OP_RECOVER, /* detach everything, reset the queue */
    IODRV_OP_COUNT
};

#endif /* XCV_TEST_FUZZ_COMMON_H */
