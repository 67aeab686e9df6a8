/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pool's per-buffer state, inline for the drivers' per-frame paths (library-internal; the
 * public functions in pool.c wrap the same code).
 *
 * free_list[i] is buffer i's state word, in private memory the peer never sees:
 *   POOL_FREE | next  in the free list; @c next is the next free buffer (POOL_END ends it);
 *   POOL_LENT         lent to the device: posted by a driver that tracks what it lends;
 *   0                 owned by the caller (taken, not lent).
 * The free list is a stack threaded through the words (head in pool->head), so taking and
 * returning a buffer are O(1), and a buffer's state is one load: a double free, or the free of a
 * buffer the device holds, is refused instead of putting a buffer in the free list twice.
 */
#ifndef XCV_PLATFORM_POOL_STATE_H
#define XCV_PLATFORM_POOL_STATE_H

#include "xcvirtio/error.h"
#include "xcvirtio/pool.h"

#define XCV_POOL_FREE 0x80000000u
#define XCV_POOL_LENT 0x40000000u
#define XCV_POOL_LINK 0x3fffffffu  /* the next-free field of a free buffer's word */
#define XCV_POOL_END XCV_POOL_LINK /* no next free buffer; so count < XCV_POOL_END */

/* The index of the buffer starting @p off bytes into the region, or UINT32_MAX when no buffer
 * starts there. One division (none for a power-of-two size). */
static inline uint32_t xcv_pool_index_at(const struct xcv_pool *pool, uint64_t off)
{
    if (off >= pool->span)
        return UINT32_MAX;
    if (pool->shift != 0u)
        return (off & (pool->buf_size - 1u)) == 0u ? (uint32_t)(off >> pool->shift) : UINT32_MAX;
    uint64_t i = off / pool->buf_size;
    return i * pool->buf_size == off ? (uint32_t)i : UINT32_MAX;
}

/* The index of the buffer starting at @p buf, or UINT32_MAX when @p buf is not a buffer start
 * of this pool. */
static inline uint32_t xcv_pool_index(const struct xcv_pool *pool, const void *buf)
{
    if ((const uint8_t *)buf < pool->region.local)
        return UINT32_MAX;
    return xcv_pool_index_at(pool, (uint64_t)((const uint8_t *)buf - pool->region.local));
}

/* Take the most recently returned buffer and give it @p state (0 or XCV_POOL_LENT). */
static inline void *xcv_pool_get(struct xcv_pool *pool, uint64_t *bus, uint32_t state)
{
    if (pool->nfree == 0u)
        return NULL;
    uint32_t i = pool->head; /* < count while nfree != 0: the list holds nfree buffers */
    pool->head = pool->free_list[i] & XCV_POOL_LINK;
    pool->free_list[i] = state;
    pool->nfree--;
    uint64_t off = (uint64_t)i * pool->buf_size;
    *bus = pool->region.bus_base + off;
    return pool->region.local + off;
}

/* Move buffer @p buf from state @p from to state @p to (neither free); its bus address to
 * @p bus when not NULL. XCV_EINVAL when it is not a buffer start of the pool or not in @p from
 * (nothing changes then). */
static inline int xcv_pool_move(struct xcv_pool *pool, const void *buf, uint32_t from, uint32_t to,
                                uint64_t *bus)
{
    uint32_t i = xcv_pool_index(pool, buf);
    if (i == UINT32_MAX || pool->free_list[i] != from)
        return XCV_EINVAL;
    pool->free_list[i] = to;
    if (bus != NULL)
        *bus = pool->region.bus_base + (uint64_t)((const uint8_t *)buf - pool->region.local);
    return XCV_OK;
}

/* Return buffer @p buf, which must be in state @p from, to the free list. XCV_EINVAL when it
 * is not a buffer start of the pool or not in @p from (already free: a double free). */
static inline int xcv_pool_put(struct xcv_pool *pool, const void *buf, uint32_t from)
{
    uint32_t i = xcv_pool_index(pool, buf);
    if (i == UINT32_MAX || pool->free_list[i] != from)
        return XCV_EINVAL;
    pool->free_list[i] = XCV_POOL_FREE | pool->head;
    pool->head = i;
    pool->nfree++;
    return XCV_OK;
}

#endif /* XCV_PLATFORM_POOL_STATE_H */
