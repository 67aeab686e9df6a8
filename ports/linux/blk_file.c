/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux port: a file-backed virtio-blk backend (regular file or block device) and the
 * getrandom() entropy source for virtio-rng. See include/xcvirtio/linux_backends.h.
 *
 * The segments handed to the backend are validated pointers into the shared window (the model
 * checked the chain and the sector range); the backend checks the range again against its own
 * capacity and the segment lengths against the sector count, then moves the bytes between the
 * file and the window with preadv / pwritev. The bytes are never interpreted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "xcvirtio/error.h"
#include "xcvirtio/linux_backends.h"

#define SECTOR XCV_VIRTIO_BLK_SECTOR_SIZE
/* iovec entries per preadv / pwritev call. */
#define IOV_BATCH 64u
/* Bytes of the zero block used when the file system cannot zero a range itself. */
#define ZERO_BLOCK 65536u

static const unsigned char zero_block[ZERO_BLOCK];

static int fail(struct xcv_linux_blk_file *f, int err)
{
    f->stats.errors++;
    f->stats.last_errno = err;
    return XCV_EIO;
}

/* [sector, sector + nsec) inside the capacity, without overflow; byte offset and length out. */
static bool range_ok(const struct xcv_linux_blk_file *f, uint64_t sector, uint64_t nsec,
                     uint64_t *off, uint64_t *len)
{
    if (f->fd < 0 || sector > f->capacity || nsec > f->capacity - sector)
        return false;
    *off = sector * SECTOR;
    *len = nsec * SECTOR;
    return *off <= (uint64_t)INT64_MAX && *len <= (uint64_t)INT64_MAX - *off;
}

/* Move exactly @p total bytes between the file at @p off and the segments. */
static int xfer(struct xcv_linux_blk_file *f, bool write, uint64_t off, const struct xcv_iov *iov,
                unsigned n, uint64_t total)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++) {
        if (iov[i].len != 0u && iov[i].base == NULL)
            return fail(f, EFAULT);
        sum += iov[i].len;
    }
    if (sum != total)
        return fail(f, EINVAL); /* the segments must cover exactly the sectors asked */

    unsigned i = 0;  /* current segment */
    size_t skip = 0; /* bytes of iov[i] already moved */
    uint64_t done = 0;
    while (done < total) {
        struct iovec v[IOV_BATCH];
        int k = 0;
        for (unsigned j = i; j < n && k < (int)IOV_BATCH; j++) {
            size_t from = j == i ? skip : 0u;
            if (iov[j].len == from)
                continue;
            v[k].iov_base = (unsigned char *)iov[j].base + from;
            v[k].iov_len = iov[j].len - from;
            k++;
        }
        ssize_t r = write ? pwritev(f->fd, v, k, (off_t)(off + done))
                          : preadv(f->fd, v, k, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return fail(f, errno);
        }
        if (r == 0)
            return fail(f, write ? EIO : ENODATA); /* end of file: the file shrank */
        done += (uint64_t)r;
        size_t adv = (size_t)r;
        while (adv > 0u && i < n) {
            size_t left = iov[i].len - skip;
            if (adv < left) {
                skip += adv;
                adv = 0;
            } else {
                adv -= left;
                i++;
                skip = 0;
            }
        }
    }
    return XCV_OK;
}

static int file_read(void *ctx, uint64_t sector, uint32_t nsec, const struct xcv_iov *iov,
                     unsigned n)
{
    struct xcv_linux_blk_file *f = (struct xcv_linux_blk_file *)ctx;
    uint64_t off;
    uint64_t len;
    if (f == NULL)
        return XCV_EIO;
    if (!range_ok(f, sector, nsec, &off, &len))
        return fail(f, ERANGE);
    int r = xfer(f, false, off, iov, n, len);
    if (r == XCV_OK)
        f->stats.reads++;
    return r;
}

static int file_write(void *ctx, uint64_t sector, uint32_t nsec, const struct xcv_iov *iov,
                      unsigned n)
{
    struct xcv_linux_blk_file *f = (struct xcv_linux_blk_file *)ctx;
    uint64_t off;
    uint64_t len;
    if (f == NULL)
        return XCV_EIO;
    if (f->read_only)
        return fail(f, EROFS);
    if (!range_ok(f, sector, nsec, &off, &len))
        return fail(f, ERANGE);
    int r = xfer(f, true, off, iov, n, len);
    if (r == XCV_OK)
        f->stats.writes++;
    return r;
}

static int file_flush(void *ctx)
{
    struct xcv_linux_blk_file *f = (struct xcv_linux_blk_file *)ctx;
    if (f == NULL || f->fd < 0)
        return XCV_EIO;
    while (fdatasync(f->fd) != 0) {
        if (errno != EINTR)
            return fail(f, errno);
    }
    f->stats.flushes++;
    return XCV_OK;
}

/* Write zeroes over [off, off + len) from the static zero block. */
static int write_zero_bytes(struct xcv_linux_blk_file *f, uint64_t off, uint64_t len)
{
    uint64_t done = 0;
    while (done < len) {
        size_t chunk = len - done < ZERO_BLOCK ? (size_t)(len - done) : (size_t)ZERO_BLOCK;
        ssize_t r = pwrite(f->fd, zero_block, chunk, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return fail(f, errno);
        }
        if (r == 0)
            return fail(f, EIO);
        done += (uint64_t)r;
    }
    f->stats.zero_written += len / SECTOR;
    return XCV_OK;
}

/* An fallocate mode the file (system) does not support: stop trying it, fall back. */
static bool mode_unsupported(int err)
{
    return err == EOPNOTSUPP || err == ENOSYS || err == EINVAL || err == ENODEV;
}

/* Zero [sector, sector + nsec): punch a hole when allowed, else ZERO_RANGE, else write zeroes. */
static int zero_range(struct xcv_linux_blk_file *f, uint64_t sector, uint32_t nsec, bool dealloc)
{
    uint64_t off;
    uint64_t len;
    if (f->read_only)
        return fail(f, EROFS);
    if (!range_ok(f, sector, nsec, &off, &len))
        return fail(f, ERANGE);
    if (len == 0u)
        return XCV_OK;
    if (dealloc && f->punch) {
        int r;
        do {
            r = fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                          (off_t)len);
        } while (r != 0 && errno == EINTR);
        if (r == 0) {
            f->stats.punched += nsec;
            return XCV_OK;
        }
        if (!mode_unsupported(errno))
            return fail(f, errno);
        f->punch = false;
    }
    if (f->zero_range) {
        int r;
        do {
            r = fallocate(f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                          (off_t)len);
        } while (r != 0 && errno == EINTR);
        if (r == 0) {
            f->stats.zero_ranged += nsec;
            return XCV_OK;
        }
        if (!mode_unsupported(errno))
            return fail(f, errno);
        f->zero_range = false;
    }
    return write_zero_bytes(f, off, len);
}

static int file_discard(void *ctx, uint64_t sector, uint32_t nsec)
{
    struct xcv_linux_blk_file *f = (struct xcv_linux_blk_file *)ctx;
    if (f == NULL)
        return XCV_EIO;
    return zero_range(f, sector, nsec, true);
}

static int file_write_zeroes(void *ctx, uint64_t sector, uint32_t nsec, bool unmap)
{
    struct xcv_linux_blk_file *f = (struct xcv_linux_blk_file *)ctx;
    if (f == NULL)
        return XCV_EIO;
    return zero_range(f, sector, nsec, unmap);
}

const struct xcv_blk_backend_ops xcv_linux_blk_file_ops = {
    .read = file_read,
    .write = file_write,
    .flush = file_flush,
    .discard = file_discard,
    .write_zeroes = file_write_zeroes,
};

static void closed(struct xcv_linux_blk_file *f)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
}

/* Fail an open: close the fd, keep errno for the caller. */
static int open_fail(struct xcv_linux_blk_file *f, int fd, int rc)
{
    int saved = errno;
    if (fd >= 0)
        (void)close(fd);
    closed(f);
    errno = saved;
    return rc;
}

int xcv_linux_blk_file_open(struct xcv_linux_blk_file *f, const char *path, uint64_t size,
                            unsigned flags)
{
    const unsigned known = XCV_LINUX_BLK_CREATE | XCV_LINUX_BLK_READ_ONLY | XCV_LINUX_BLK_NO_PUNCH;
    if (f == NULL)
        return XCV_EINVAL;
    closed(f);
    if (path == NULL || (flags & ~known) != 0u || size % SECTOR != 0u || size > (uint64_t)INT64_MAX)
        return XCV_EINVAL;
    bool ro = (flags & XCV_LINUX_BLK_READ_ONLY) != 0u;
    int oflags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    if ((flags & XCV_LINUX_BLK_CREATE) != 0u && !ro)
        oflags |= O_CREAT;
    int fd = open(path, oflags, 0600);
    if (fd < 0)
        return open_fail(f, -1, XCV_EPORT);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return open_fail(f, fd, XCV_EPORT);
    uint64_t bytes;
    bool blkdev = S_ISBLK(st.st_mode);
    if (blkdev) {
        if (ioctl(fd, BLKGETSIZE64, &bytes) != 0)
            return open_fail(f, fd, XCV_EPORT);
        if (size != 0u && size != bytes)
            return open_fail(f, fd, XCV_EINVAL);
    } else if (S_ISREG(st.st_mode)) {
        bytes = (uint64_t)st.st_size;
        if (bytes == 0u && size != 0u && (flags & XCV_LINUX_BLK_CREATE) != 0u && !ro) {
            /* A new or empty image: make it sparse at the size asked. */
            if (ftruncate(fd, (off_t)size) != 0)
                return open_fail(f, fd, XCV_EPORT);
            bytes = size;
        } else if (size != 0u && size != bytes) {
            return open_fail(f, fd, XCV_EINVAL); /* never resize an existing image */
        }
    } else {
        return open_fail(f, fd, XCV_EINVAL);
    }
    if (bytes / SECTOR == 0u)
        return open_fail(f, fd, XCV_EINVAL);
    f->fd = fd;
    f->capacity = bytes / SECTOR;
    f->read_only = ro;
    f->block_device = blkdev;
    f->punch = (flags & XCV_LINUX_BLK_NO_PUNCH) == 0u;
    f->zero_range = true;
    return XCV_OK;
}

void xcv_linux_blk_file_close(struct xcv_linux_blk_file *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        (void)close(f->fd);
    f->fd = -1;
}

int xcv_linux_rng_entropy(void *ctx, void *buf, uint32_t len)
{
    (void)ctx;
    if (buf == NULL || len == 0u)
        return XCV_EINVAL;
    size_t want = len > (uint32_t)INT_MAX ? (size_t)INT_MAX : (size_t)len;
    for (;;) {
        ssize_t n = getrandom(buf, want, GRND_NONBLOCK);
        if (n > 0)
            return (int)n;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0; /* the kernel's pool is not initialised yet: no entropy now */
        return XCV_EPORT;
    }
}
