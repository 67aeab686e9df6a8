/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private helpers for accessing shared memory. Every access to memory the peer can write goes
 * through one of these, so the ordering and endianness rules live in one place:
 *  - indices that publish or consume work are loaded with acquire and stored with release;
 *  - everything else is a plain little-endian load or store, ordered by those index accesses;
 *  - xcv_shm_fence() is the full barrier between publishing an index and reading the peer's
 *    event field (the classic missed-notification race).
 * 16-bit indices are naturally aligned in every virtio layout, so the atomic casts are sound
 * on every supported target.
 */
#ifndef XCV_SRC_COMMON_SHM_H
#define XCV_SRC_COMMON_SHM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/port.h"
#include "xcvirtio/virtio.h"

#define xcv_memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define xcv_memset(d, c, n) __builtin_memset((d), (c), (n))

static inline uint16_t xcv_shm_load_acquire16(const void *p)
{
    uint16_t v = atomic_load_explicit((const _Atomic uint16_t *)p, memory_order_acquire);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap16(v);
#endif
    return v;
}

static inline void xcv_shm_store_release16(void *p, uint16_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap16(v);
#endif
    atomic_store_explicit((_Atomic uint16_t *)p, v, memory_order_release);
}

/* A single, untorn 16-bit read of a field the peer may be writing (event indices, flags). */
static inline uint16_t xcv_shm_load_relaxed16(const void *p)
{
    uint16_t v = atomic_load_explicit((const _Atomic uint16_t *)p, memory_order_relaxed);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap16(v);
#endif
    return v;
}

/* A single, untorn 16-bit write of a field the peer reads concurrently. */
static inline void xcv_shm_store_relaxed16(void *p, uint16_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap16(v);
#endif
    atomic_store_explicit((_Atomic uint16_t *)p, v, memory_order_relaxed);
}

static inline uint32_t xcv_shm_load_acquire32(const void *p)
{
    uint32_t v = atomic_load_explicit((const _Atomic uint32_t *)p, memory_order_acquire);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline void xcv_shm_store_release32(void *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    atomic_store_explicit((_Atomic uint32_t *)p, v, memory_order_release);
}

static inline void xcv_shm_fence(void)
{
    atomic_thread_fence(memory_order_seq_cst);
}

/* Cache maintenance through the port, when the port has it (non-coherent windows only). */
static inline void xcv_cache_clean(const struct xcv_port *port, const void *p, size_t len)
{
    if (port != NULL && port->ops->cache_clean != NULL)
        port->ops->cache_clean(port->ctx, p, len);
}

static inline void xcv_cache_invalidate(const struct xcv_port *port, const void *p, size_t len)
{
    if (port != NULL && port->ops->cache_invalidate != NULL)
        port->ops->cache_invalidate(port->ctx, p, len);
}

static inline void xcv_report(const struct xcv_port *port, enum xcv_log_level level,
                              const char *what, uint32_t id, int err)
{
    if (port != NULL && port->ops->log != NULL)
        port->ops->log(port->ctx, level, what, id, err);
}

static inline int xcv_is_pow2(uint32_t v)
{
    return v != 0u && (v & (v - 1u)) == 0u;
}

#endif /* XCV_SRC_COMMON_SHM_H */
