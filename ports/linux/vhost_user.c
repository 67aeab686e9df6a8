/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user backend: serves a detached device model (xcv_vdev_host_*) to a vhost-user
 * frontend over a UNIX stream socket.
 *
 * Every message is read whole (header with its descriptors, then exactly `size` payload bytes,
 * bounded by the I/O timeout) into local memory and checked before it changes anything. A failed
 * check drops the connection: the rings stop, the device is reset, the regions are unmapped, and
 * the listening socket is watched again. Nothing the frontend sends is used before it is checked,
 * and the rings themselves are accessed only through the device-role ring code, which checks
 * every address against the windows built here from the memory table.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xcvirtio/error.h"
#include "xcvirtio/vhost_user.h"
#include "xcvirtio/virtio.h"
#include "xcvirtio/vring.h"

/* epoll tags: the listening socket, the connection, and one per kick eventfd. */
#define TAG_LISTEN 1u
#define TAG_CONN 2u
#define TAG_KICK 0x100u

#define DEFAULT_IO_TIMEOUT_MS 1000
#define PROTOCOL_SUPPORTED                                                                         \
    (XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_MQ) |                                                   \
     XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_REPLY_ACK) |                                            \
     XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_CONFIG) |                                               \
     XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_RESET_DEVICE))

/* One message as received: header, payload and the descriptors that came with it. */
struct vu_msg {
    struct xcv_vhost_user_hdr hdr;
    union {
        uint64_t u64;
        struct xcv_vhost_user_vring_state state;
        struct xcv_vhost_user_vring_addr addr;
        struct xcv_vhost_user_mem_table mem;
        struct xcv_vhost_user_config_msg cfg;
        uint8_t raw[XCV_VHOST_USER_MAX_PAYLOAD];
    } p;
    int fds[XCV_VHOST_USER_MAX_REGIONS];
    unsigned nfds;
};

/* What went wrong with a message: an error code and a static reason. */
struct vu_fail {
    int err;
    const char *why;
};

static int fail(struct vu_fail *f, int err, const char *why)
{
    if (f->err == 0) {
        f->err = err;
        f->why = why;
    }
    return err;
}

/* ---- logging and the device's port ---- */

static void vu_log(const struct xcv_vhost_user *s, enum xcv_log_level level, const char *what,
                   uint32_t id, int err)
{
    if (s->log != NULL) {
        s->log(s->log_ctx, level, what, id, err);
        return;
    }
    if (level <= XCV_LOG_WARN)
        fprintf(stderr, "vhost-user %s: %s (%u): %s\n", s->path, what, id, xcv_strerror(err));
}

static int write_eventfd(int fd)
{
    const uint64_t one = 1;
    for (;;) {
        ssize_t n = write(fd, &one, sizeof(one));
        if (n == (ssize_t)sizeof(one))
            return XCV_OK;
        if (n < 0 && errno == EINTR)
            continue;
        /* A saturated counter has been signalled already. */
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return XCV_OK;
        return XCV_EPORT;
    }
}

/* The device's host port: doorbell q is ring q's call eventfd; the config doorbell says the
 * device wants attention (NEEDS_RESET), which this backend answers by dropping the frontend. */
static int vu_port_notify(void *ctx, uint32_t doorbell)
{
    struct xcv_vhost_user *s = (struct xcv_vhost_user *)ctx;
    if (doorbell == XCV_VDEV_DOORBELL_CONFIG) {
        if (xcv_vdev_status(s->dev) & XCV_VIRTIO_STATUS_NEEDS_RESET)
            s->needs_reset = true;
        return XCV_OK;
    }
    if (doorbell >= s->nqueues || s->vrings[doorbell].call_fd < 0)
        return XCV_OK; /* no call descriptor: the frontend polls */
    s->stats.calls++;
    return write_eventfd(s->vrings[doorbell].call_fd);
}

static void vu_port_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    vu_log((const struct xcv_vhost_user *)ctx, level, what, id, err);
}

static const struct xcv_port_ops vu_port_ops = {
    .notify = vu_port_notify,
    .log = vu_port_log,
};

/* ---- small helpers ---- */

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        (void)close(*fd);
        *fd = -1;
    }
}

static void close_msg_fds(struct vu_msg *m)
{
    for (unsigned i = 0; i < m->nfds; i++)
        close_fd(&m->fds[i]);
    m->nfds = 0;
}

static int epoll_add(const struct xcv_vhost_user *s, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    return epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0 ? XCV_OK : XCV_EPORT;
}

static void epoll_del(const struct xcv_vhost_user *s, int fd)
{
    if (fd >= 0)
        (void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

/* Bytes of the three ring areas for a ring of @num entries (EVENT_IDX fields included). */
static uint64_t ring_area_len(int which, uint16_t num)
{
    switch (which) {
    case 0:
        return XCV_VRING_DESC_BYTES(num);
    case 1:
        return XCV_VRING_AVAIL_BYTES(num);
    default:
        return XCV_VRING_USED_BYTES(num);
    }
}

/* A frontend virtual range to a bus (guest-physical) address: wholly inside one region. */
static int uva_to_gpa(const struct xcv_vhost_user *s, uint64_t uva, uint64_t len, uint64_t *gpa)
{
    for (uint32_t i = 0; i < s->nregions; i++) {
        const struct xcv_vhost_user_mapping *r = &s->regions[i];
        if (uva >= r->uva && uva - r->uva <= r->size && len <= r->size - (uva - r->uva)) {
            *gpa = r->gpa + (uva - r->uva);
            return XCV_OK;
        }
    }
    return XCV_EPROTO_WINDOW;
}

/* ---- rings ---- */

static void vring_clear(struct xcv_vhost_user_vring *r)
{
    close_fd(&r->kick_fd);
    close_fd(&r->call_fd);
    close_fd(&r->err_fd);
    r->desc_uva = 0;
    r->avail_uva = 0;
    r->used_uva = 0;
    r->num = 0;
    r->base = 0;
    r->addr_set = false;
    r->started = false;
    r->enabled = false;
    r->running = false;
    r->polled = false;
}

static void vring_stop(struct xcv_vhost_user *s, uint16_t q)
{
    struct xcv_vhost_user_vring *r = &s->vrings[q];
    if (!r->running)
        return;
    uint16_t base = r->base;
    if (xcv_vdev_host_stop_queue(s->dev, q, &base) == XCV_OK)
        r->base = base;
    r->running = false;
}

static bool vring_enabled(const struct xcv_vhost_user *s, const struct xcv_vhost_user_vring *r)
{
    /* Without protocol features a ring is enabled as soon as it starts. */
    return (s->features & XCV_FEATURE(XCV_VHOST_USER_F_PROTOCOL_FEATURES)) == 0u || r->enabled;
}

/* Start ring @q when it should run and does not; translate its areas and resume its indices.
 * A ring whose kick arrived before its size, addresses, the memory table or the features waits
 * (called again after each of those messages). */
static int vring_start(struct xcv_vhost_user *s, uint16_t q, struct vu_fail *f)
{
    struct xcv_vhost_user_vring *r = &s->vrings[q];
    if (r->running || !r->started || !vring_enabled(s, r) || r->num == 0u || !r->addr_set ||
        s->nregions == 0u || !(xcv_vdev_status(s->dev) & XCV_VIRTIO_STATUS_FEATURES_OK))
        return XCV_OK;
    uint64_t uva[3] = {r->desc_uva, r->avail_uva, r->used_uva};
    uint64_t gpa[3];
    for (int i = 0; i < 3; i++) {
        int e = uva_to_gpa(s, uva[i], ring_area_len(i, r->num), &gpa[i]);
        if (e != XCV_OK)
            return fail(f, e, "ring address outside the memory regions");
    }
    /* The used index to continue from is the one in the ring (any value is safe to use; the
     * frontend may change it, so it is read once, by copy, before the ring checks alignment). */
    void *used;
    int e = xcv_memmap_translate(&s->memmap, gpa[2], 4u, &used);
    if (e != XCV_OK)
        return fail(f, e, "used ring outside the memory regions");
    uint16_t next_used;
    memcpy(&next_used, (const uint8_t *)used + 2, sizeof(next_used));
    next_used = le16toh(next_used);
    struct xcv_vdev_host_queue hq = {
        .mem = &s->memmap,
        .num = r->num,
        .desc_bus = gpa[0],
        .avail_bus = gpa[1],
        .used_bus = gpa[2],
        .next_avail = r->base,
        .next_used = next_used,
    };
    e = xcv_vdev_host_start_queue(s->dev, q, &hq);
    if (e != XCV_OK)
        return fail(f, e,
                    e == XCV_EPROTO_LAYOUT ? "ring areas misaligned" : "ring cannot be started");
    r->running = true;
    /* Buffers made available before the ring ran got no kick we saw: look now. */
    e = xcv_vdev_host_kick(s->dev, q);
    if (e != XCV_OK && e != XCV_ENODEV)
        return fail(f, e, "ring broken by the frontend");
    return XCV_OK;
}

/* ---- connection life cycle ---- */

static void drop_regions(struct xcv_vhost_user *s)
{
    for (uint32_t i = 0; i < s->nregions; i++) {
        if (s->regions[i].map != NULL)
            (void)munmap(s->regions[i].map, s->regions[i].map_len);
        memset(&s->regions[i], 0, sizeof(s->regions[i]));
    }
    s->nregions = 0;
    s->memmap.count = 0;
}

static void reset_session(struct xcv_vhost_user *s)
{
    for (uint16_t q = 0; q < s->nqueues; q++) {
        vring_stop(s, q);
        epoll_del(s, s->vrings[q].kick_fd);
        vring_clear(&s->vrings[q]);
    }
    xcv_vdev_host_reset(s->dev);
    drop_regions(s);
    s->features = 0;
    s->protocol_features = 0;
    s->needs_reset = false;
}

static void end_connection(struct xcv_vhost_user *s)
{
    if (s->conn_fd < 0)
        return;
    reset_session(s);
    epoll_del(s, s->conn_fd);
    close_fd(&s->conn_fd);
    s->stats.disconnects++;
    if (epoll_add(s, s->listen_fd, TAG_LISTEN) != XCV_OK)
        vu_log(s, XCV_LOG_ERROR, "cannot watch the listening socket", 0, XCV_EPORT);
}

static void drop_connection(struct xcv_vhost_user *s, uint32_t request, const struct vu_fail *f)
{
    s->stats.errors++;
    s->stats.last_error = f->err;
    s->stats.last_request = request;
    s->stats.last_reason = f->why;
    vu_log(s, XCV_LOG_ERROR, f->why, request, f->err);
    end_connection(s);
}

static void accept_connection(struct xcv_vhost_user *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return; /* EAGAIN or a connection that went away: nothing to do */
    struct timeval tv = {.tv_sec = s->io_timeout_ms / 1000,
                         .tv_usec = (suseconds_t)(s->io_timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        epoll_add(s, fd, TAG_CONN) != XCV_OK) {
        (void)close(fd);
        return;
    }
    epoll_del(s, s->listen_fd); /* one frontend at a time; the next waits in the backlog */
    s->conn_fd = fd;
    reset_session(s);
    s->stats.connections++;
    vu_log(s, XCV_LOG_INFO, "frontend connected", 0, 0);
}

/* ---- message I/O ---- */

/* Read exactly @len bytes (the rest of a message), bounded by the socket's receive timeout. */
static int read_full(int fd, void *buf, size_t len, struct vu_fail *f)
{
    uint8_t *p = (uint8_t *)buf;
    while (len > 0u) {
        ssize_t n = recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return fail(f, XCV_EPROTO_MSG, "connection closed inside a message");
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return fail(f, XCV_ETIMEDOUT, "incomplete message (timed out)");
        return fail(f, XCV_EPORT, "receive failed");
    }
    return XCV_OK;
}

/* Receive one message. Returns 1 when the frontend closed the connection cleanly, XCV_OK, or an
 * error (descriptors already closed). */
static int recv_msg(struct xcv_vhost_user *s, struct vu_msg *m, struct vu_fail *f)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * XCV_VHOST_USER_MAX_REGIONS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = &m->hdr, .iov_len = sizeof(m->hdr)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf)};
    ssize_t n;
    do {
        n = recvmsg(s->conn_fd, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    m->nfds = 0;
    if (n == 0)
        return 1;
    if (n < 0)
        return fail(f, XCV_EPORT, "receive failed");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
            if (m->nfds < XCV_VHOST_USER_MAX_REGIONS)
                m->fds[m->nfds++] = fd;
            else
                (void)close(fd);
        }
    }
    if (mh.msg_flags & MSG_CTRUNC) {
        close_msg_fds(m);
        return fail(f, XCV_EPROTO_MSG, "too many file descriptors");
    }
    int r = XCV_OK;
    if ((size_t)n < sizeof(m->hdr))
        r = read_full(s->conn_fd, (uint8_t *)&m->hdr + n, sizeof(m->hdr) - (size_t)n, f);
    if (r == XCV_OK && (m->hdr.flags & XCV_VHOST_USER_VERSION_MASK) != XCV_VHOST_USER_VERSION)
        r = fail(f, XCV_EPROTO_MSG, "bad protocol version");
    if (r == XCV_OK && (m->hdr.flags & XCV_VHOST_USER_FLAG_REPLY) != 0u)
        r = fail(f, XCV_EPROTO_MSG, "reply flag on a request");
    if (r == XCV_OK && m->hdr.size > sizeof(m->p))
        r = fail(f, XCV_EPROTO_MSG, "message size field too large");
    if (r == XCV_OK)
        r = read_full(s->conn_fd, &m->p, m->hdr.size, f);
    if (r != XCV_OK)
        close_msg_fds(m);
    return r;
}

static int send_reply(struct xcv_vhost_user *s, uint32_t request, const void *payload,
                      uint32_t size, struct vu_fail *f)
{
    uint8_t buf[sizeof(struct xcv_vhost_user_hdr) + XCV_VHOST_USER_MAX_PAYLOAD];
    struct xcv_vhost_user_hdr h = {.request = request,
                                   .flags = XCV_VHOST_USER_VERSION | XCV_VHOST_USER_FLAG_REPLY,
                                   .size = size};
    memcpy(buf, &h, sizeof(h));
    if (size != 0u)
        memcpy(buf + sizeof(h), payload, size);
    size_t len = sizeof(h) + size;
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(s->conn_fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return fail(f, XCV_EPORT, "cannot send a reply");
    }
    return XCV_OK;
}

static int reply_u64(struct xcv_vhost_user *s, uint32_t request, uint64_t v, struct vu_fail *f)
{
    return send_reply(s, request, &v, sizeof(v), f);
}

/* ---- request handlers: each returns XCV_OK, 1 when it replied, or an error ---- */

static int need_size(const struct vu_msg *m, uint32_t size, struct vu_fail *f)
{
    if (m->hdr.size != size)
        return fail(f, XCV_EPROTO_MSG, "payload size does not match the request");
    return XCV_OK;
}

static int need_fds(const struct vu_msg *m, unsigned nfds, struct vu_fail *f)
{
    if (m->nfds != nfds)
        return fail(f, XCV_EPROTO_MSG, "file descriptor count does not match the request");
    return XCV_OK;
}

static int check_ring_index(const struct xcv_vhost_user *s, uint32_t index, struct vu_fail *f)
{
    if (index >= s->nqueues)
        return fail(f, XCV_ENODEV, "ring index out of range");
    return XCV_OK;
}

static int h_set_features(struct xcv_vhost_user *s, const struct vu_msg *m, struct vu_fail *f)
{
    uint64_t acked = m->p.u64;
    uint64_t proto = XCV_FEATURE(XCV_VHOST_USER_F_PROTOCOL_FEATURES);
    uint64_t virtio = acked & ~proto;
    if ((virtio & ~xcv_vdev_device_features(s->dev)) != 0u)
        return fail(f, XCV_ENOTSUP, "feature acked that was not offered");
    int e = xcv_vdev_host_set_features(s->dev, virtio);
    if (e == XCV_ESTATE)
        return fail(f, e, "features changed while a ring runs");
    if (e != XCV_OK)
        return fail(f, e, "features refused by the device (VERSION_1 is required)");
    s->features = acked;
    /* Rings waiting for an enable may now run (or keep waiting). */
    for (uint16_t q = 0; q < s->nqueues; q++) {
        e = vring_start(s, q, f);
        if (e != XCV_OK)
            return e;
    }
    return XCV_OK;
}

static void unmap_mappings(struct xcv_vhost_user_mapping *map, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (map[i].map != NULL)
            (void)munmap(map[i].map, map[i].map_len);
    }
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen; /* callers checked that neither range wraps */
}

static int h_set_mem_table(struct xcv_vhost_user *s, struct vu_msg *m, struct vu_fail *f)
{
    const size_t head = offsetof(struct xcv_vhost_user_mem_table, regions);
    const size_t rsz = sizeof(struct xcv_vhost_user_region);
    if (m->hdr.size < head)
        return fail(f, XCV_EPROTO_MSG, "memory table shorter than its header");
    uint32_t n = m->p.mem.nregions;
    if (n == 0u || n > XCV_VHOST_USER_MAX_REGIONS)
        return fail(f, XCV_EPROTO_MSG, "memory table region count out of range");
    if (m->hdr.size != head + (size_t)n * rsz)
        return fail(f, XCV_EPROTO_MSG, "memory table size does not match its region count");
    if (m->nfds != n)
        return fail(f, XCV_EPROTO_MSG, "memory table fd count does not match its region count");

    /* The regions (copied out of the message, which is local memory already). */
    struct xcv_vhost_user_region reg[XCV_VHOST_USER_MAX_REGIONS];
    memcpy(reg, m->p.mem.regions, (size_t)n * rsz);
    for (uint32_t i = 0; i < n; i++) {
        const struct xcv_vhost_user_region *r = &reg[i];
        if (r->memory_size == 0u)
            return fail(f, XCV_EPROTO_LAYOUT, "memory region of size zero");
        if (r->guest_phys_addr + r->memory_size < r->guest_phys_addr ||
            r->userspace_addr + r->memory_size < r->userspace_addr ||
            r->mmap_offset + r->memory_size < r->mmap_offset ||
            r->memory_size > (uint64_t)SIZE_MAX / 2u)
            return fail(f, XCV_EPROTO_OVERFLOW, "memory region wraps around");
        for (uint32_t j = 0; j < i; j++) {
            if (ranges_overlap(r->guest_phys_addr, r->memory_size, reg[j].guest_phys_addr,
                               reg[j].memory_size) ||
                ranges_overlap(r->userspace_addr, r->memory_size, reg[j].userspace_addr,
                               reg[j].memory_size))
                return fail(f, XCV_EPROTO_LAYOUT, "memory regions overlap");
        }
    }

    /* Map each region's file; the mappings stay valid after the descriptors are closed. */
    struct xcv_vhost_user_mapping map[XCV_VHOST_USER_MAX_REGIONS];
    memset(map, 0, sizeof(map));
    long page = sysconf(_SC_PAGESIZE);
    uint64_t pmask = page > 0 ? (uint64_t)page - 1u : 4095u;
    int e = XCV_OK;
    for (uint32_t i = 0; i < n && e == XCV_OK; i++) {
        const struct xcv_vhost_user_region *r = &reg[i];
        struct stat st;
        if (fstat(m->fds[i], &st) != 0) {
            e = fail(f, XCV_EPORT, "fstat of a region fd failed");
            break;
        }
        if (!S_ISREG(st.st_mode) || st.st_size < 0) {
            e = fail(f, XCV_EPROTO_LAYOUT, "region fd is not a regular file or memfd");
            break;
        }
        if (r->mmap_offset + r->memory_size > (uint64_t)st.st_size) {
            e = fail(f, XCV_EPROTO_LAYOUT, "region mmap offset and size beyond its file");
            break;
        }
        /* Keep the frontend from shrinking a sealable memfd under the mapping (SIGBUS). */
        (void)fcntl(m->fds[i], F_ADD_SEALS, F_SEAL_SHRINK);
        uint64_t aligned = r->mmap_offset & ~pmask;
        uint64_t delta = r->mmap_offset - aligned;
        size_t len = (size_t)(r->memory_size + delta);
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fds[i],
                       (off_t)aligned);
        if (p == MAP_FAILED) {
            e = fail(f, XCV_EPORT, "mmap of a region failed");
            break;
        }
        map[i].map = p;
        map[i].map_len = len;
        map[i].gpa = r->guest_phys_addr;
        map[i].size = r->memory_size;
        map[i].uva = r->userspace_addr;
        map[i].local = (uint8_t *)p + delta;
    }
    close_msg_fds(m);
    if (e != XCV_OK) {
        unmap_mappings(map, n);
        return e;
    }

    /* Swap in the new table. Running rings point into the old mappings: stop them first and
     * start them again on the new table (at the same indices). */
    for (uint16_t q = 0; q < s->nqueues; q++)
        vring_stop(s, q);
    drop_regions(s);
    for (uint32_t i = 0; i < n; i++) {
        s->regions[i] = map[i];
        (void)xcv_window_init(&s->windows[i], map[i].local, map[i].gpa, map[i].size);
    }
    s->nregions = n;
    s->memmap.windows = s->windows;
    s->memmap.count = n;
    for (uint16_t q = 0; q < s->nqueues; q++) {
        e = vring_start(s, q, f);
        if (e != XCV_OK)
            return e;
    }
    return XCV_OK;
}

static int h_vring_num(struct xcv_vhost_user *s, const struct vu_msg *m, struct vu_fail *f)
{
    uint32_t q = m->p.state.index;
    uint32_t num = m->p.state.num;
    int e = check_ring_index(s, q, f);
    if (e != XCV_OK)
        return e;
    if (s->vrings[q].running)
        return fail(f, XCV_ESTATE, "ring size changed while the ring runs");
    uint16_t max = xcv_vdev_queue_max_size(s->dev, (uint16_t)q);
    if (num == 0u || (num & (num - 1u)) != 0u || num > max)
        return fail(f, XCV_EINVAL, "ring size not a power of two or above the maximum");
    s->vrings[q].num = (uint16_t)num;
    return vring_start(s, (uint16_t)q, f);
}

static int h_vring_addr(struct xcv_vhost_user *s, const struct vu_msg *m, struct vu_fail *f)
{
    const struct xcv_vhost_user_vring_addr *a = &m->p.addr;
    int e = check_ring_index(s, a->index, f);
    if (e != XCV_OK)
        return e;
    struct xcv_vhost_user_vring *r = &s->vrings[a->index];
    if (r->running)
        return fail(f, XCV_ESTATE, "ring addresses changed while the ring runs");
    /* Checked against the regions when the ring starts (the table may come later). */
    r->desc_uva = a->desc;
    r->avail_uva = a->avail;
    r->used_uva = a->used;
    r->addr_set = true;
    return vring_start(s, (uint16_t)a->index, f);
}

static int h_vring_base(struct xcv_vhost_user *s, const struct vu_msg *m, struct vu_fail *f)
{
    uint32_t q = m->p.state.index;
    int e = check_ring_index(s, q, f);
    if (e != XCV_OK)
        return e;
    if (s->vrings[q].running)
        return fail(f, XCV_ESTATE, "ring base changed while the ring runs");
    if (m->p.state.num > 0xffffu)
        return fail(f, XCV_EINVAL, "ring base above 65535");
    s->vrings[q].base = (uint16_t)m->p.state.num;
    return XCV_OK;
}

static int h_get_vring_base(struct xcv_vhost_user *s, const struct vu_msg *m, struct vu_fail *f)
{
    uint32_t q = m->p.state.index;
    int e = check_ring_index(s, q, f);
    if (e != XCV_OK)
        return e;
    struct xcv_vhost_user_vring *r = &s->vrings[q];
    vring_stop(s, (uint16_t)q);
    epoll_del(s, r->kick_fd);
    close_fd(&r->kick_fd);
    r->started = false;
    r->polled = false;
    struct xcv_vhost_user_vring_state st = {.index = q, .num = r->base};
    e = send_reply(s, m->hdr.request, &st, sizeof(st), f);
    return e != XCV_OK ? e : 1;
}

/* An eventfd is an anonymous inode (no file type bits) that /proc names "anon_inode:[eventfd]".
 * Without /proc the first test alone keeps pipes, sockets and files out. */
static bool is_eventfd(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != 0)
        return false;
    char link[64];
    char target[64];
    (void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1u);
    if (n < 0)
        return true;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* SET_VRING_KICK / CALL / ERR: u64 with the index and NOFD; one descriptor unless NOFD. */
static int h_vring_fd(struct xcv_vhost_user *s, struct vu_msg *m, struct vu_fail *f)
{
    uint64_t v = m->p.u64;
    bool nofd = (v & XCV_VHOST_USER_VRING_NOFD) != 0u;
    if ((v & ~(uint64_t)(XCV_VHOST_USER_VRING_IDX_MASK | XCV_VHOST_USER_VRING_NOFD)) != 0u)
        return fail(f, XCV_EPROTO_MSG, "unknown bits in a ring descriptor message");
    int e = need_fds(m, nofd ? 0u : 1u, f);
    if (e == XCV_OK)
        e = check_ring_index(s, (uint32_t)(v & XCV_VHOST_USER_VRING_IDX_MASK), f);
    if (e != XCV_OK)
        return e;
    uint16_t q = (uint16_t)(v & XCV_VHOST_USER_VRING_IDX_MASK);
    struct xcv_vhost_user_vring *r = &s->vrings[q];
    int fd = nofd ? -1 : m->fds[0];
    m->nfds = 0; /* taken */
    /* Only an eventfd will do: a pipe or socket posing as one could block the backend or raise
     * SIGPIPE. Never block on it either (eventfds from QEMU and DPDK are non-blocking already). */
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        if (!is_eventfd(fd) || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
            (void)close(fd);
            return fail(f, XCV_EPROTO_MSG, "ring descriptor is not an eventfd");
        }
    }
    switch (m->hdr.request) {
    case XCV_VHOST_USER_SET_VRING_KICK:
        epoll_del(s, r->kick_fd);
        close_fd(&r->kick_fd);
        r->kick_fd = fd;
        r->polled = nofd;
        if (fd >= 0 && epoll_add(s, fd, TAG_KICK + q) != XCV_OK)
            return fail(f, XCV_EPORT, "cannot watch a kick descriptor");
        r->started = true;
        return vring_start(s, q, f);
    case XCV_VHOST_USER_SET_VRING_CALL:
        close_fd(&r->call_fd);
        r->call_fd = fd;
        return XCV_OK;
    default:
        close_fd(&r->err_fd);
        r->err_fd = fd;
        return XCV_OK;
    }
}

static int h_vring_enable(struct xcv_vhost_user *s, const struct vu_msg *m, struct vu_fail *f)
{
    uint32_t q = m->p.state.index;
    int e = check_ring_index(s, q, f);
    if (e != XCV_OK)
        return e;
    if (m->p.state.num > 1u)
        return fail(f, XCV_EINVAL, "ring enable flag not 0 or 1");
    s->vrings[q].enabled = m->p.state.num == 1u;
    if (!vring_enabled(s, &s->vrings[q])) {
        vring_stop(s, (uint16_t)q);
        return XCV_OK;
    }
    return vring_start(s, (uint16_t)q, f);
}

static int h_get_config(struct xcv_vhost_user *s, const struct vu_msg *m, struct vu_fail *f)
{
    const size_t head = offsetof(struct xcv_vhost_user_config_msg, region);
    if (m->hdr.size < head)
        return fail(f, XCV_EPROTO_MSG, "config message shorter than its header");
    struct xcv_vhost_user_config_msg c;
    memcpy(&c, &m->p.cfg, head);
    if (c.size > XCV_VHOST_USER_MAX_CONFIG || m->hdr.size != head + c.size ||
        c.offset > XCV_VHOST_USER_MAX_CONFIG || c.size > XCV_VHOST_USER_MAX_CONFIG - c.offset)
        return fail(f, XCV_EPROTO_MSG, "config message size or offset out of range");
    /* The frontend may ask for a larger structure than the model has: the rest reads 0. */
    memset(c.region, 0, sizeof(c.region));
    uint32_t have = xcv_vdev_config_size(s->dev);
    if (c.offset < have) {
        uint32_t k = have - c.offset < c.size ? have - c.offset : c.size;
        (void)xcv_vdev_host_read_config(s->dev, c.offset, c.region, k);
    }
    int e = send_reply(s, m->hdr.request, &c, (uint32_t)(head + c.size), f);
    return e != XCV_OK ? e : 1;
}

static int h_set_config(struct xcv_vhost_user *s, const struct vu_msg *m, struct vu_fail *f)
{
    const size_t head = offsetof(struct xcv_vhost_user_config_msg, region);
    if (m->hdr.size < head)
        return fail(f, XCV_EPROTO_MSG, "config message shorter than its header");
    const struct xcv_vhost_user_config_msg *c = &m->p.cfg;
    if (c->size > XCV_VHOST_USER_MAX_CONFIG || m->hdr.size != head + c->size)
        return fail(f, XCV_EPROTO_MSG, "config message size out of range");
    int e = xcv_vdev_host_write_config(s->dev, c->offset, c->region, c->size);
    if (e != XCV_OK)
        return fail(f, e, "config write outside the device's writable config");
    return XCV_OK;
}

static int dispatch(struct xcv_vhost_user *s, struct vu_msg *m, struct vu_fail *f)
{
    uint32_t req = m->hdr.request;
    /* Only these requests carry descriptors. */
    if (req != XCV_VHOST_USER_SET_MEM_TABLE && req != XCV_VHOST_USER_SET_VRING_KICK &&
        req != XCV_VHOST_USER_SET_VRING_CALL && req != XCV_VHOST_USER_SET_VRING_ERR &&
        m->nfds != 0u)
        return fail(f, XCV_EPROTO_MSG, "file descriptors on a request that takes none");
    int e;
    switch (req) {
    case XCV_VHOST_USER_GET_FEATURES:
        e = need_size(m, 0, f);
        if (e == XCV_OK)
            e = reply_u64(s, req,
                          (xcv_vdev_device_features(s->dev) & ~XCV_VDEV_HOST_UNSUPPORTED) |
                              XCV_FEATURE(XCV_VHOST_USER_F_PROTOCOL_FEATURES),
                          f);
        return e != XCV_OK ? e : 1;
    case XCV_VHOST_USER_SET_FEATURES:
        e = need_size(m, 8, f);
        return e != XCV_OK ? e : h_set_features(s, m, f);
    case XCV_VHOST_USER_GET_PROTOCOL_FEATURES:
        e = need_size(m, 0, f);
        if (e == XCV_OK)
            e = reply_u64(s, req, s->protocol_offered, f);
        return e != XCV_OK ? e : 1;
    case XCV_VHOST_USER_SET_PROTOCOL_FEATURES:
        e = need_size(m, 8, f);
        if (e == XCV_OK && (m->p.u64 & ~s->protocol_offered) != 0u)
            e = fail(f, XCV_ENOTSUP, "protocol feature acked that was not offered");
        if (e == XCV_OK)
            s->protocol_features = m->p.u64;
        return e;
    case XCV_VHOST_USER_SET_OWNER:
        return need_size(m, 0, f);
    case XCV_VHOST_USER_RESET_OWNER:
    case XCV_VHOST_USER_RESET_DEVICE:
        e = need_size(m, 0, f);
        if (e == XCV_OK && req == XCV_VHOST_USER_RESET_DEVICE &&
            !(s->protocol_features & XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_RESET_DEVICE)))
            e = fail(f, XCV_ENOTSUP, "RESET_DEVICE without its protocol feature");
        if (e == XCV_OK) {
            for (uint16_t q = 0; q < s->nqueues; q++) {
                vring_stop(s, q);
                s->vrings[q].enabled = false;
            }
            xcv_vdev_host_reset(s->dev);
            s->features = 0;
        }
        return e;
    case XCV_VHOST_USER_SET_MEM_TABLE:
        return h_set_mem_table(s, m, f);
    case XCV_VHOST_USER_SET_VRING_NUM:
        e = need_size(m, sizeof(struct xcv_vhost_user_vring_state), f);
        return e != XCV_OK ? e : h_vring_num(s, m, f);
    case XCV_VHOST_USER_SET_VRING_ADDR:
        e = need_size(m, sizeof(struct xcv_vhost_user_vring_addr), f);
        return e != XCV_OK ? e : h_vring_addr(s, m, f);
    case XCV_VHOST_USER_SET_VRING_BASE:
        e = need_size(m, sizeof(struct xcv_vhost_user_vring_state), f);
        return e != XCV_OK ? e : h_vring_base(s, m, f);
    case XCV_VHOST_USER_GET_VRING_BASE:
        e = need_size(m, sizeof(struct xcv_vhost_user_vring_state), f);
        return e != XCV_OK ? e : h_get_vring_base(s, m, f);
    case XCV_VHOST_USER_SET_VRING_KICK:
    case XCV_VHOST_USER_SET_VRING_CALL:
    case XCV_VHOST_USER_SET_VRING_ERR:
        e = need_size(m, 8, f);
        return e != XCV_OK ? e : h_vring_fd(s, m, f);
    case XCV_VHOST_USER_GET_QUEUE_NUM:
        e = need_size(m, 0, f);
        if (e == XCV_OK)
            e = reply_u64(s, req, s->nqueues, f);
        return e != XCV_OK ? e : 1;
    case XCV_VHOST_USER_SET_VRING_ENABLE:
        e = need_size(m, sizeof(struct xcv_vhost_user_vring_state), f);
        return e != XCV_OK ? e : h_vring_enable(s, m, f);
    case XCV_VHOST_USER_GET_CONFIG:
    case XCV_VHOST_USER_SET_CONFIG:
        if (!(s->protocol_features & XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_CONFIG)))
            return fail(f, XCV_ENOTSUP, "config message without its protocol feature");
        return req == XCV_VHOST_USER_GET_CONFIG ? h_get_config(s, m, f) : h_set_config(s, m, f);
    default:
        return fail(f, XCV_ENOTSUP, "unknown or unsupported request");
    }
}

static void handle_message(struct xcv_vhost_user *s)
{
    struct vu_msg m;
    struct vu_fail f = {0, NULL};
    int r = recv_msg(s, &m, &f);
    if (r == 1) {
        vu_log(s, XCV_LOG_INFO, "frontend disconnected", 0, 0);
        end_connection(s);
        return;
    }
    if (r != XCV_OK) {
        drop_connection(s, 0, &f);
        return;
    }
    s->stats.messages++;
    r = dispatch(s, &m, &f);
    close_msg_fds(&m); /* any descriptor a handler did not take */
    bool ack = (m.hdr.flags & XCV_VHOST_USER_FLAG_NEED_REPLY) != 0u &&
               (s->protocol_features & XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_REPLY_ACK)) != 0u;
    if (ack && r != 1) {
        struct vu_fail af = {0, NULL};
        (void)reply_u64(s, m.hdr.request, r == XCV_OK ? 0u : 1u, r == XCV_OK ? &f : &af);
    }
    if (r < 0 || f.err != 0) {
        if (f.err == 0)
            (void)fail(&f, r, "request failed");
        drop_connection(s, m.hdr.request, &f);
    }
}

/* A ring the frontend broke outside a kick (e.g. while the caller delivered into it). */
static void check_broken(struct xcv_vhost_user *s)
{
    if (s->conn_fd < 0)
        return;
    for (uint16_t q = 0; q < s->nqueues; q++) {
        if (!s->vrings[q].running)
            continue;
        struct xcv_vq_device *vq = xcv_vdev_queue(s->dev, q);
        int b = vq != NULL ? xcv_vq_device_broken(vq) : 0;
        if (b != 0) {
            if (s->vrings[q].err_fd >= 0)
                (void)write_eventfd(s->vrings[q].err_fd);
            struct vu_fail f = {b, "ring broken by the frontend"};
            drop_connection(s, 0, &f);
            return;
        }
    }
    if (s->needs_reset) {
        struct vu_fail f = {XCV_EBROKEN, "device needs reset"};
        drop_connection(s, 0, &f);
    }
}

static void handle_kick(struct xcv_vhost_user *s, uint16_t q)
{
    if (q >= s->nqueues)
        return;
    struct xcv_vhost_user_vring *r = &s->vrings[q];
    if (r->kick_fd >= 0) {
        uint64_t v;
        while (read(r->kick_fd, &v, sizeof(v)) < 0 && errno == EINTR) {
        }
    }
    s->stats.kicks++;
    (void)xcv_vdev_host_kick(s->dev, q); /* a broken ring is found by check_broken() */
}

/* ---- public entry points ---- */

int xcv_vhost_user_listen(struct xcv_vhost_user *s, const struct xcv_vhost_user_config *cfg)
{
    if (s == NULL)
        return XCV_EINVAL;
    memset(s, 0, sizeof(*s));
    s->listen_fd = -1;
    s->conn_fd = -1;
    s->epoll_fd = -1;
    for (unsigned q = 0; q < XCV_VHOST_USER_MAX_QUEUES; q++) {
        s->vrings[q].kick_fd = -1;
        s->vrings[q].call_fd = -1;
        s->vrings[q].err_fd = -1;
    }
    if (cfg == NULL || cfg->path == NULL || cfg->dev == NULL || cfg->io_timeout_ms < 0 ||
        strlen(cfg->path) > XCV_VHOST_USER_PATH_MAX || cfg->path[0] == '\0')
        return XCV_EINVAL;
    uint16_t nq = xcv_vdev_num_queues(cfg->dev);
    if (nq == 0u || nq > XCV_VHOST_USER_MAX_QUEUES)
        return XCV_EINVAL;
    s->dev = cfg->dev;
    s->nqueues = nq;
    s->io_timeout_ms = cfg->io_timeout_ms != 0 ? cfg->io_timeout_ms : DEFAULT_IO_TIMEOUT_MS;
    s->log = cfg->log;
    s->log_ctx = cfg->log_ctx;
    memcpy(s->path, cfg->path, strlen(cfg->path) + 1u);
    uint64_t pf = cfg->protocol_features;
    if (pf == 0u) {
        pf = XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_MQ) |
             XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_REPLY_ACK) |
             XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_RESET_DEVICE);
        if (xcv_vdev_config_size(cfg->dev) != 0u)
            pf |= XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_CONFIG);
    }
    s->protocol_offered = pf & PROTOCOL_SUPPORTED;
    s->memmap.windows = s->windows;
    s->memmap.count = 0;
    s->port.ops = &vu_port_ops;
    s->port.ctx = s;
    int e = xcv_vdev_host_attach(cfg->dev, &s->port);
    if (e != XCV_OK)
        return e == XCV_ESTATE ? XCV_EINVAL : e;

    /* A stale socket file (a previous backend crashed) is replaced; anything else is kept. */
    struct stat st;
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return XCV_EINVAL;
        (void)unlink(s->path);
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1u);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (s->listen_fd < 0 || s->epoll_fd < 0 ||
        bind(s->listen_fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        chmod(s->path, 0600) != 0 || listen(s->listen_fd, 8) != 0 ||
        epoll_add(s, s->listen_fd, TAG_LISTEN) != XCV_OK) {
        int saved = errno;
        xcv_vhost_user_close(s);
        errno = saved;
        return XCV_EPORT;
    }
    return XCV_OK;
}

int xcv_vhost_user_run(struct xcv_vhost_user *s, int timeout_ms)
{
    if (s == NULL || s->epoll_fd < 0 || timeout_ms < 0)
        return XCV_EINVAL;
    check_broken(s);
    bool polled = false;
    for (uint16_t q = 0; q < s->nqueues; q++)
        polled = polled || (s->vrings[q].running && s->vrings[q].polled);
    if (polled && timeout_ms > 1)
        timeout_ms = 1;

    struct epoll_event ev[16];
    int n;
    do {
        n = epoll_wait(s->epoll_fd, ev, 16, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return XCV_EPORT;
    for (int i = 0; i < n; i++) {
        uint64_t tag = ev[i].data.u64;
        if (tag == TAG_LISTEN) {
            if (s->conn_fd < 0)
                accept_connection(s);
        } else if (tag == TAG_CONN) {
            if (s->conn_fd >= 0)
                handle_message(s);
        } else if (tag >= TAG_KICK && s->conn_fd >= 0) {
            /* A kick descriptor closed by an earlier message in this batch is not ours now. */
            uint16_t q = (uint16_t)(tag - TAG_KICK);
            if (q < s->nqueues && s->vrings[q].kick_fd >= 0) {
                if (ev[i].events & (EPOLLHUP | EPOLLERR)) {
                    struct vu_fail f = {XCV_EPROTO_MSG, "kick descriptor hung up"};
                    drop_connection(s, 0, &f);
                } else {
                    handle_kick(s, q);
                }
            }
        }
        check_broken(s);
    }
    for (uint16_t q = 0; q < s->nqueues && s->conn_fd >= 0; q++) {
        if (s->vrings[q].running && s->vrings[q].polled)
            handle_kick(s, q);
    }
    check_broken(s);
    return n;
}

int xcv_vhost_user_fd(const struct xcv_vhost_user *s)
{
    return s != NULL && s->epoll_fd >= 0 ? s->epoll_fd : XCV_EINVAL;
}

bool xcv_vhost_user_connected(const struct xcv_vhost_user *s)
{
    return s != NULL && s->conn_fd >= 0;
}

bool xcv_vhost_user_queue_running(const struct xcv_vhost_user *s, uint16_t q)
{
    return s != NULL && q < s->nqueues && s->vrings[q].running;
}

void xcv_vhost_user_disconnect(struct xcv_vhost_user *s)
{
    if (s != NULL)
        end_connection(s);
}

void xcv_vhost_user_close(struct xcv_vhost_user *s)
{
    if (s == NULL)
        return;
    if (s->conn_fd >= 0 && s->epoll_fd >= 0)
        end_connection(s);
    else if (s->dev != NULL)
        reset_session(s);
    close_fd(&s->conn_fd);
    if (s->listen_fd >= 0) {
        close_fd(&s->listen_fd);
        (void)unlink(s->path);
    }
    close_fd(&s->epoll_fd);
}

const struct xcv_vhost_user_stats *xcv_vhost_user_stats(const struct xcv_vhost_user *s)
{
    return &s->stats;
}
