/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file pool.h
 * @brief A buffer pool over a region of a shared window, for driver-side data buffers.
 *
 * Fixed-size buffers carved from the region; the free list lives in caller-provided private
 * memory (never in the shared window, so the peer cannot corrupt it). Buffers are handed out
 * as local pointers for zero-copy use (build a packet in place, then post its bus address),
 * with copy helpers for convenience. The pool is private to the driver role; it does not
 * synchronise: one thread at a time, or the caller's lock.
 *
 * Each buffer is in one of three states, one word of the private storage each:
 * - free: in the pool (xcv_pool_alloc() takes it);
 * - owned: taken by the caller (xcv_pool_alloc(), or xcv_pool_unlend());
 * - lent: posted to the device by a driver that tracks its buffers (xcv_pool_lend()); the
 *   virtio-net driver lends every buffer it posts, so a buffer the device holds cannot be freed,
 *   released, or sent a second time.
 *
 * A call that finds a buffer in the wrong state (a double free, the free of a lent buffer, a
 * second lend) changes nothing and returns ::XCV_EINVAL: no buffer is ever in the free list twice.
 */
#ifndef XCVIRTIO_POOL_H
#define XCVIRTIO_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "xcvirtio/window.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A pool. Caller-allocated; fields are private. */
struct xcv_pool {
    struct xcv_window region; /**< @private */
    uint32_t *free_list;      /**< @private per-buffer state; links the free buffers */
    uint32_t buf_size;        /**< @private */
    uint32_t count;           /**< @private */
    uint32_t nfree;           /**< @private */
    uint32_t head;            /**< @private the free buffer alloc takes next */
    uint64_t span;            /**< @private count * buf_size: bytes the buffers cover */
    uint8_t shift;            /**< @private log2(buf_size) when a power of two, else 0 */
};

/** @brief Buffers of @p buf_size bytes that fit in @p region_size bytes. */
#define XCV_POOL_COUNT(region_size, buf_size) ((uint32_t)((region_size) / (buf_size)))

/**
 * @brief Carve @p region into buffers of @p buf_size bytes.
 * @param pool Caller-owned pool.
 * @param region The region (a window or a part of one; its memory stays caller-owned).
 * @param buf_size Buffer size (>= 16, multiple of 16).
 * @param free_list Private storage of ::XCV_POOL_COUNT(region->size, buf_size) entries
 *                  (caller-owned, one state word per buffer; never in a shared window).
 * @param free_list_len Entries in @p free_list.
 * @return ::XCV_OK or ::XCV_EINVAL (also for no buffer, or 2^30 - 1 buffers or more). Every
 *         buffer starts free.
 */
int xcv_pool_init(struct xcv_pool *pool, const struct xcv_window *region, uint32_t buf_size,
                  uint32_t *free_list, uint32_t free_list_len);

/**
 * @brief Take a buffer: it becomes owned by the caller. The buffer returned last is taken
 * first (its lines are likely still in this core's cache).
 * @param pool The pool.
 * @param[out] bus Its bus address (put this in descriptors).
 * @return Its local address, or NULL when the pool is empty (or an argument is NULL).
 */
void *xcv_pool_alloc(struct xcv_pool *pool, uint64_t *bus);

/**
 * @brief Return an owned buffer by its local address.
 * @return ::XCV_OK, or ::XCV_EINVAL for a pointer that is not a buffer start of this pool, a
 *         buffer already free (a double free) or lent (still the device's). Nothing changes
 *         on an error.
 */
int xcv_pool_free(struct xcv_pool *pool, void *buf);

/**
 * @brief Mark an owned buffer as lent to the device, before posting it (driver role). Until
 * xcv_pool_unlend(), xcv_pool_free() and a second lend refuse it.
 * @param pool The pool.
 * @param buf The buffer's local address (its start).
 * @param[out] bus Its bus address; may be NULL.
 * @return ::XCV_OK; ::XCV_EINVAL when @p buf is not a buffer start of this pool, or is free or
 *         already lent (nothing changes).
 */
int xcv_pool_lend(struct xcv_pool *pool, const void *buf, uint64_t *bus);

/**
 * @brief Take a lent buffer back from the device (its chain was used or cancelled): it is
 * owned by the caller again.
 * @return ::XCV_OK; ::XCV_EINVAL when @p buf is not a lent buffer of this pool.
 */
int xcv_pool_unlend(struct xcv_pool *pool, const void *buf);

/**
 * @brief Look up the local address of a buffer from its bus address (e.g. a token).
 * @return The local address, or NULL when @p bus is not a buffer start of this pool.
 */
void *xcv_pool_local(const struct xcv_pool *pool, uint64_t bus);

/**
 * @brief The bus address of a buffer of the pool, from its local address (in any state).
 * @return ::XCV_OK; ::XCV_EINVAL when @p buf is not the start of one of the pool's buffers.
 */
int xcv_pool_bus(const struct xcv_pool *pool, const void *buf, uint64_t *bus);

/** @brief Buffer size in bytes. */
uint32_t xcv_pool_buf_size(const struct xcv_pool *pool);

/** @brief Free buffers. */
uint32_t xcv_pool_available(const struct xcv_pool *pool);

/**
 * @brief Copy @p len bytes into buffer @p buf at @p off, bounds-checked against the buffer.
 * @return ::XCV_OK or ::XCV_EINVAL.
 */
int xcv_pool_copy_in(const struct xcv_pool *pool, void *buf, uint32_t off, const void *src,
                     uint32_t len);

/**
 * @brief Copy @p len bytes out of buffer @p buf at @p off, bounds-checked against the buffer.
 * @return ::XCV_OK or ::XCV_EINVAL.
 */
int xcv_pool_copy_out(const struct xcv_pool *pool, const void *buf, uint32_t off, void *dst,
                      uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* XCVIRTIO_POOL_H */
