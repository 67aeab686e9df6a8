/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Driver-side buffer pool. The free list is private memory, so the peer can neither corrupt it
 * nor learn from it; only buffer contents live in the shared window.
 */
#include "xcvirtio/pool.h"
#include "xcvirtio/error.h"

#include "../common/shm.h"
#include "pool_state.h"

int xcv_pool_init(struct xcv_pool *pool, const struct xcv_window *region, uint32_t buf_size,
                  uint32_t *free_list, uint32_t free_list_len)
{
    if (pool == NULL || region == NULL || region->local == NULL || free_list == NULL ||
        buf_size < 16u || (buf_size % 16u) != 0u)
        return XCV_EINVAL;
    uint64_t count = region->size / buf_size;
    if (count == 0u || count >= XCV_POOL_END || free_list_len < count)
        return XCV_EINVAL;
    pool->region = *region;
    pool->free_list = free_list;
    pool->buf_size = buf_size;
    pool->shift = 0;
    if ((buf_size & (buf_size - 1u)) == 0u)
        pool->shift = (uint8_t)__builtin_ctz(buf_size);
    pool->count = (uint32_t)count;
    pool->span = count * buf_size;
    /* Every buffer free, low addresses handed out first. */
    for (uint32_t i = 0; i < pool->count; i++)
        free_list[i] = XCV_POOL_FREE | (i + 1u < pool->count ? i + 1u : XCV_POOL_END);
    pool->head = 0;
    pool->nfree = pool->count;
    return XCV_OK;
}

void *xcv_pool_alloc(struct xcv_pool *pool, uint64_t *bus)
{
    if (pool == NULL || bus == NULL)
        return NULL;
    return xcv_pool_get(pool, bus, 0u);
}

int xcv_pool_free(struct xcv_pool *pool, void *buf)
{
    if (pool == NULL || buf == NULL)
        return XCV_EINVAL;
    return xcv_pool_put(pool, buf, 0u);
}

int xcv_pool_lend(struct xcv_pool *pool, const void *buf, uint64_t *bus)
{
    if (pool == NULL || buf == NULL)
        return XCV_EINVAL;
    return xcv_pool_move(pool, buf, 0u, XCV_POOL_LENT, bus);
}

int xcv_pool_unlend(struct xcv_pool *pool, const void *buf)
{
    if (pool == NULL || buf == NULL)
        return XCV_EINVAL;
    return xcv_pool_move(pool, buf, XCV_POOL_LENT, 0u, NULL);
}

void *xcv_pool_local(const struct xcv_pool *pool, uint64_t bus)
{
    if (pool == NULL || bus < pool->region.bus_base)
        return NULL;
    uint64_t off = bus - pool->region.bus_base;
    if (xcv_pool_index_at(pool, off) == UINT32_MAX)
        return NULL;
    return pool->region.local + off; /* within the region: a buffer of it starts there */
}

uint32_t xcv_pool_buf_size(const struct xcv_pool *pool)
{
    return pool != NULL ? pool->buf_size : 0u;
}

uint32_t xcv_pool_available(const struct xcv_pool *pool)
{
    return pool != NULL ? pool->nfree : 0u;
}

/* The buffer containing @p and whether [off, off+len) fits in it. */
int xcv_pool_bus(const struct xcv_pool *pool, const void *buf, uint64_t *bus)
{
    if (pool == NULL || buf == NULL || bus == NULL || xcv_pool_index(pool, buf) == UINT32_MAX)
        return XCV_EINVAL;
    *bus = pool->region.bus_base + (uint64_t)((const uint8_t *)buf - pool->region.local);
    return XCV_OK;
}

static int pool_range(const struct xcv_pool *pool, const void *buf, uint32_t off, uint32_t len)
{
    if (pool == NULL || buf == NULL || xcv_pool_index(pool, buf) == UINT32_MAX ||
        off > pool->buf_size || len > pool->buf_size - off)
        return XCV_EINVAL;
    return XCV_OK;
}

int xcv_pool_copy_in(const struct xcv_pool *pool, void *buf, uint32_t off, const void *src,
                     uint32_t len)
{
    int r = pool_range(pool, buf, off, len);
    if (r != XCV_OK || (src == NULL && len != 0u))
        return XCV_EINVAL;
    if (len != 0u)
        xcv_memcpy((uint8_t *)buf + off, src, len);
    return XCV_OK;
}

int xcv_pool_copy_out(const struct xcv_pool *pool, const void *buf, uint32_t off, void *dst,
                      uint32_t len)
{
    int r = pool_range(pool, buf, off, len);
    if (r != XCV_OK || (dst == NULL && len != 0u))
        return XCV_EINVAL;
    if (len != 0u)
        xcv_memcpy(dst, (const uint8_t *)buf + off, len);
    return XCV_OK;
}
