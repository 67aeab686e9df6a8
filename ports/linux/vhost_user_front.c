/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user frontend: drives an existing vhost-user backend with the library's driver-role
 * rings. The frontend owns the memory (one sealed memfd, one region) and places the rings at its
 * start; the backend is untrusted: every reply is checked, and what it writes into the rings is
 * checked by the driver-role ring code (used ids, lengths, indices).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xcvirtio/error.h"
#include "xcvirtio/port_linux.h"
#include "xcvirtio/vhost_user.h"
#include "xcvirtio/virtio.h"

#define DEFAULT_TIMEOUT_MS 2000
#define RING_ALIGN 4096u
#define FRONT_PROTOCOL                                                                             \
    (XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_MQ) |                                                   \
     XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_REPLY_ACK) |                                            \
     XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_CONFIG))

static uint64_t mono_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The rings' doorbell: write the ring's kick eventfd. */
static int front_notify(void *ctx, uint32_t q)
{
    const struct xcv_vhost_user_front *f = (const struct xcv_vhost_user_front *)ctx;
    const uint64_t one = 1;
    if (q >= f->nqueues)
        return XCV_EINVAL;
    for (;;) {
        ssize_t n = write(f->kick[q], &one, sizeof(one));
        if (n == (ssize_t)sizeof(one))
            return XCV_OK;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return XCV_OK; /* saturated: rung already */
        return XCV_EPORT;
    }
}

static const struct xcv_port_ops front_port_ops = {.notify = front_notify};

/* ---- messages ---- */

static int send_msg(struct xcv_vhost_user_front *f, uint32_t req, uint32_t flags,
                    const void *payload, uint32_t size, const int *fds, unsigned nfds)
{
    uint8_t buf[sizeof(struct xcv_vhost_user_hdr) + XCV_VHOST_USER_MAX_PAYLOAD];
    struct xcv_vhost_user_hdr h = {
        .request = req, .flags = XCV_VHOST_USER_VERSION | flags, .size = size};
    if (size > XCV_VHOST_USER_MAX_PAYLOAD || nfds > XCV_VHOST_USER_MAX_REGIONS)
        return XCV_EINVAL;
    memcpy(buf, &h, sizeof(h));
    if (size != 0u)
        memcpy(buf + sizeof(h), payload, size);
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(h) + size};
    union {
        char b[CMSG_SPACE(sizeof(int) * XCV_VHOST_USER_MAX_REGIONS)];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds != 0u) {
        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.b;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n;
    do {
        n = sendmsg(f->sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)iov.iov_len ? XCV_OK : XCV_EPORT;
}

static int recv_full(struct xcv_vhost_user_front *f, void *buf, size_t len, uint64_t deadline)
{
    uint8_t *p = (uint8_t *)buf;
    while (len > 0u) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            return XCV_ETIMEDOUT;
        struct pollfd pfd = {.fd = f->sock, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return XCV_EPORT;
        if (r == 0)
            return XCV_ETIMEDOUT;
        ssize_t n = recv(f->sock, p, len, 0);
        if (n == 0)
            return XCV_EPROTO_MSG; /* the backend closed the connection */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return XCV_EPORT;
        }
        p += n;
        len -= (size_t)n;
    }
    return XCV_OK;
}

/* Receive the reply to @req: it must say so, carry the reply flag and exactly @size bytes. */
static int recv_reply(struct xcv_vhost_user_front *f, uint32_t req, void *payload, uint32_t size)
{
    uint64_t deadline = mono_ms() + (uint64_t)f->timeout_ms;
    struct xcv_vhost_user_hdr h;
    int r = recv_full(f, &h, sizeof(h), deadline);
    if (r != XCV_OK)
        return r;
    if (h.request != req ||
        (h.flags & (XCV_VHOST_USER_VERSION_MASK | XCV_VHOST_USER_FLAG_REPLY)) !=
            (XCV_VHOST_USER_VERSION | XCV_VHOST_USER_FLAG_REPLY) ||
        h.size != size)
        return XCV_EPROTO_MSG;
    return size != 0u ? recv_full(f, payload, size, deadline) : XCV_OK;
}

static int get_u64(struct xcv_vhost_user_front *f, uint32_t req, uint64_t *v)
{
    int r = send_msg(f, req, 0, NULL, 0, NULL, 0);
    return r != XCV_OK ? r : recv_reply(f, req, v, sizeof(*v));
}

/* A request without a reply of its own: with REPLY_ACK, ask for the ack and check it. */
static int set_msg(struct xcv_vhost_user_front *f, uint32_t req, const void *payload, uint32_t size,
                   const int *fds, unsigned nfds)
{
    bool ack = (f->protocol_features & XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_REPLY_ACK)) != 0u;
    int r = send_msg(f, req, ack ? XCV_VHOST_USER_FLAG_NEED_REPLY : 0u, payload, size, fds, nfds);
    if (r != XCV_OK || !ack)
        return r;
    uint64_t v = 1;
    r = recv_reply(f, req, &v, sizeof(v));
    if (r != XCV_OK)
        return r;
    return v == 0u ? XCV_OK : XCV_EPROTO_MSG;
}

static int set_u64(struct xcv_vhost_user_front *f, uint32_t req, uint64_t v)
{
    return set_msg(f, req, &v, sizeof(v), NULL, 0);
}

static int set_state(struct xcv_vhost_user_front *f, uint32_t req, uint32_t index, uint32_t num)
{
    struct xcv_vhost_user_vring_state st = {.index = index, .num = num};
    return set_msg(f, req, &st, sizeof(st), NULL, 0);
}

/* ---- connection ---- */

static int connect_retry(struct xcv_vhost_user_front *f, const char *path)
{
    struct sockaddr_un sa;
    size_t len = strlen(path);
    if (len == 0u || len >= sizeof(sa.sun_path))
        return XCV_EINVAL;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, len + 1u);
    uint64_t deadline = mono_ms() + (uint64_t)f->timeout_ms;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return XCV_EPORT;
        if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0) {
            f->sock = fd;
            return XCV_OK;
        }
        int e = errno;
        (void)close(fd);
        if ((e != ENOENT && e != ECONNREFUSED && e != EAGAIN) || mono_ms() >= deadline)
            return mono_ms() >= deadline ? XCV_ETIMEDOUT : XCV_EPORT;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20000000L}; /* 20 ms */
        (void)nanosleep(&ts, NULL);
    }
}

static void front_reset_fields(struct xcv_vhost_user_front *f)
{
    memset(f, 0, sizeof(*f));
    f->sock = -1;
    f->memfd = -1;
    for (unsigned q = 0; q < XCV_VHOST_USER_MAX_QUEUES; q++) {
        f->kick[q] = -1;
        f->call[q] = -1;
    }
}

static int negotiate(struct xcv_vhost_user_front *f, const struct xcv_vhost_user_front_config *cfg)
{
    uint64_t pbit = XCV_FEATURE(XCV_VHOST_USER_F_PROTOCOL_FEATURES);
    uint64_t offered = 0;
    int r = get_u64(f, XCV_VHOST_USER_GET_FEATURES, &offered);
    if (r != XCV_OK)
        return r;
    f->backend_features = offered;
    if ((offered & XCV_FEATURE(XCV_VIRTIO_F_VERSION_1)) == 0u)
        return XCV_ENOTSUP;
    if (offered & pbit) {
        uint64_t pf = 0;
        r = get_u64(f, XCV_VHOST_USER_GET_PROTOCOL_FEATURES, &pf);
        if (r != XCV_OK)
            return r;
        pf &= FRONT_PROTOCOL;
        r = send_msg(f, XCV_VHOST_USER_SET_PROTOCOL_FEATURES, 0, &pf, sizeof(pf), NULL, 0);
        if (r != XCV_OK)
            return r;
        f->protocol_features = pf;
    }
    r = set_msg(f, XCV_VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
    if (r != XCV_OK)
        return r;
    if (f->protocol_features & XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_MQ)) {
        uint64_t nq = 0;
        r = get_u64(f, XCV_VHOST_USER_GET_QUEUE_NUM, &nq);
        if (r != XCV_OK)
            return r;
        /* Net backends count queue pairs, others queues: either way one covers two here. */
        if (nq == 0u || (nq < cfg->num_queues && nq * 2u < cfg->num_queues))
            return XCV_ENOTSUP;
    }
    /* Split rings only on this transport: RING_PACKED is never taken. */
    f->features = (cfg->features & offered & ~pbit & ~XCV_FEATURE(XCV_VIRTIO_F_RING_PACKED)) |
                  XCV_FEATURE(XCV_VIRTIO_F_VERSION_1);
    return set_u64(f, XCV_VHOST_USER_SET_FEATURES, f->features | (offered & pbit));
}

static int send_mem_table(struct xcv_vhost_user_front *f, uint64_t bus_base)
{
    struct xcv_vhost_user_mem_table mt;
    memset(&mt, 0, sizeof(mt));
    mt.nregions = 1;
    mt.regions[0].guest_phys_addr = bus_base;
    mt.regions[0].memory_size = f->mem_size;
    mt.regions[0].userspace_addr = (uint64_t)(uintptr_t)f->mem;
    mt.regions[0].mmap_offset = 0;
    return set_msg(f, XCV_VHOST_USER_SET_MEM_TABLE, &mt,
                   (uint32_t)(offsetof(struct xcv_vhost_user_mem_table, regions) +
                              sizeof(struct xcv_vhost_user_region)),
                   &f->memfd, 1);
}

static int start_ring(struct xcv_vhost_user_front *f, uint16_t q, size_t off)
{
    struct xcv_vring_layout *l = &f->ring[q];
    int r = xcv_vring_layout(f->mem + off, f->window.bus_base + off, f->qsize, 64u, l);
    if (r != XCV_OK)
        return r;
    struct xcv_vq_driver_config dc = {
        .ring = l,
        .slots = f->slots[q],
        .features = f->features,
        .port = &f->port,
        .doorbell = q,
        .queue_index = q,
    };
    r = xcv_vq_driver_init(&f->vq[q], &dc);
    if (r != XCV_OK)
        return r;
    f->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (f->kick[q] < 0 || f->call[q] < 0)
        return XCV_EPORT;
    r = set_state(f, XCV_VHOST_USER_SET_VRING_NUM, q, f->qsize);
    if (r == XCV_OK)
        r = set_state(f, XCV_VHOST_USER_SET_VRING_BASE, q, 0);
    if (r == XCV_OK) {
        /* Ring addresses are this process's virtual addresses (the region's userspace_addr). */
        struct xcv_vhost_user_vring_addr a = {
            .index = q,
            .desc = (uint64_t)(uintptr_t)l->desc,
            .used = (uint64_t)(uintptr_t)l->used,
            .avail = (uint64_t)(uintptr_t)l->avail,
        };
        r = set_msg(f, XCV_VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    }
    uint64_t idx = q;
    if (r == XCV_OK)
        r = set_msg(f, XCV_VHOST_USER_SET_VRING_CALL, &idx, sizeof(idx), &f->call[q], 1);
    if (r == XCV_OK)
        r = set_msg(f, XCV_VHOST_USER_SET_VRING_KICK, &idx, sizeof(idx), &f->kick[q], 1);
    return r;
}

int xcv_vhost_user_front_connect(struct xcv_vhost_user_front *f,
                                 const struct xcv_vhost_user_front_config *cfg)
{
    if (f == NULL)
        return XCV_EINVAL;
    front_reset_fields(f);
    if (cfg == NULL || cfg->path == NULL || cfg->timeout_ms < 0 || cfg->num_queues == 0u ||
        cfg->num_queues > XCV_VHOST_USER_MAX_QUEUES || cfg->queue_size == 0u ||
        (cfg->queue_size & (cfg->queue_size - 1u)) != 0u ||
        cfg->queue_size > XCV_VHOST_USER_FRONT_MAX_QSIZE)
        return XCV_EINVAL;
    size_t ring_bytes = XCV_ALIGN_UP(XCV_VRING_BYTES(cfg->queue_size, 64u), RING_ALIGN);
    size_t rings = ring_bytes * cfg->num_queues;
    if (cfg->mem_size <= rings || cfg->mem_size % RING_ALIGN != 0u ||
        cfg->bus_base % RING_ALIGN != 0u || cfg->bus_base + cfg->mem_size < cfg->bus_base)
        return XCV_EINVAL;
    f->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    f->nqueues = cfg->num_queues;
    f->qsize = cfg->queue_size;
    f->port.ops = &front_port_ops;
    f->port.ctx = f;

    struct xcv_linux_shm shm;
    int r = xcv_linux_shm_create(cfg->mem_size, &shm);
    if (r != XCV_OK)
        return r;
    f->memfd = shm.fd;
    f->mem = (uint8_t *)shm.local;
    f->mem_size = shm.size;
    f->data_off = rings;
    r = xcv_window_init(&f->window, f->mem, cfg->bus_base, f->mem_size);
    if (r == XCV_OK)
        r = connect_retry(f, cfg->path);
    if (r == XCV_OK)
        r = negotiate(f, cfg);
    if (r == XCV_OK)
        r = send_mem_table(f, cfg->bus_base);
    for (uint16_t q = 0; q < f->nqueues && r == XCV_OK; q++)
        r = start_ring(f, q, (size_t)q * ring_bytes);
    /* Rings start disabled when protocol features were negotiated: enable them together. */
    if (f->backend_features & XCV_FEATURE(XCV_VHOST_USER_F_PROTOCOL_FEATURES)) {
        for (uint16_t q = 0; q < f->nqueues && r == XCV_OK; q++)
            r = set_state(f, XCV_VHOST_USER_SET_VRING_ENABLE, q, 1);
    }
    if (r != XCV_OK)
        xcv_vhost_user_front_close(f);
    return r;
}

struct xcv_vq_driver *xcv_vhost_user_front_queue(struct xcv_vhost_user_front *f, uint16_t q)
{
    if (f == NULL || f->sock < 0 || q >= f->nqueues)
        return NULL;
    return &f->vq[q];
}

size_t xcv_vhost_user_front_data(const struct xcv_vhost_user_front *f, uint8_t **local,
                                 uint64_t *bus)
{
    if (f == NULL || f->mem == NULL || local == NULL || bus == NULL)
        return 0;
    *local = f->mem + f->data_off;
    *bus = f->window.bus_base + f->data_off;
    return f->mem_size - f->data_off;
}

int xcv_vhost_user_front_wait(struct xcv_vhost_user_front *f, uint16_t q, int timeout_ms)
{
    if (f == NULL || q >= f->nqueues || f->call[q] < 0 || timeout_ms < 0)
        return XCV_EINVAL;
    struct pollfd pfd = {.fd = f->call[q], .events = POLLIN};
    int r;
    do {
        r = poll(&pfd, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return XCV_EPORT;
    if (r == 0)
        return 0;
    uint64_t v;
    while (read(f->call[q], &v, sizeof(v)) < 0 && errno == EINTR) {
    }
    return 1;
}

int xcv_vhost_user_front_get_config(struct xcv_vhost_user_front *f, uint32_t off, void *buf,
                                    uint32_t len)
{
    if (f == NULL || f->sock < 0 || buf == NULL || len == 0u || len > XCV_VHOST_USER_MAX_CONFIG ||
        off > XCV_VHOST_USER_MAX_CONFIG - len)
        return XCV_EINVAL;
    if (!(f->protocol_features & XCV_FEATURE(XCV_VHOST_USER_PROTOCOL_F_CONFIG)))
        return XCV_ENOTSUP;
    const uint32_t head = (uint32_t)offsetof(struct xcv_vhost_user_config_msg, region);
    struct xcv_vhost_user_config_msg c;
    memset(&c, 0, sizeof(c));
    c.offset = off;
    c.size = len;
    int r = send_msg(f, XCV_VHOST_USER_GET_CONFIG, 0, &c, head + len, NULL, 0);
    if (r == XCV_OK)
        r = recv_reply(f, XCV_VHOST_USER_GET_CONFIG, &c, head + len);
    if (r != XCV_OK)
        return r;
    if (c.offset != off || c.size != len)
        return XCV_EPROTO_MSG;
    memcpy(buf, c.region, len);
    return XCV_OK;
}

uint64_t xcv_vhost_user_front_features(const struct xcv_vhost_user_front *f)
{
    return f != NULL && f->sock >= 0 ? f->features : 0u;
}

void xcv_vhost_user_front_close(struct xcv_vhost_user_front *f)
{
    if (f == NULL)
        return;
    if (f->sock >= 0)
        (void)close(f->sock);
    f->sock = -1;
    for (unsigned q = 0; q < XCV_VHOST_USER_MAX_QUEUES; q++) {
        if (f->kick[q] >= 0)
            (void)close(f->kick[q]);
        if (f->call[q] >= 0)
            (void)close(f->call[q]);
        f->kick[q] = -1;
        f->call[q] = -1;
    }
    if (f->mem != NULL || f->memfd >= 0) {
        struct xcv_linux_shm shm = {.fd = f->memfd, .local = f->mem, .size = f->mem_size};
        xcv_linux_shm_close(&shm);
    }
    f->memfd = -1;
    f->mem = NULL;
}
