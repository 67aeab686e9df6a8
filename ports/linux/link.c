/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux port: shared windows (memfd or a file in /dev/shm) and the setup handshake over a UNIX
 * SOCK_SEQPACKET socket that hands the window and two eventfds from the device side to the
 * driver side with SCM_RIGHTS.
 *
 * The driver side distrusts everything it receives: the header is decoded field by field from
 * a byte buffer, the descriptor count and types are checked, the window size must equal the
 * file's st_size, and a memfd must be sealed against shrinking. Every descriptor received is
 * closed on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xcvirtio/error.h"
#include "xcvirtio/port_linux.h"

/* Bytes of the encoded hello on the wire. */
#define HELLO_WIRE_SIZE 32u
/* Descriptors the driver is prepared to receive (more than expected, to report a mismatch). */
#define RECV_MAX_FDS 8u
/* Pause between connection attempts while the device is not listening yet. */
#define CONNECT_RETRY_MS 10

/* What the driver side received and validated, before it is adopted into a link. */
struct received {
    int sock;
    int fds[XCV_LINUX_HELLO_NFDS]; /* window, driver-to-device, device-to-driver */
    struct xcv_linux_hello hello;
};

/* ---- small helpers -------------------------------------------------------------------- */

static void close_keep_errno(int fd)
{
    int e = errno;

    if (fd >= 0)
        (void)close(fd);
    errno = e;
}

static int64_t mono_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A deadline @p ms from now on the monotonic clock, in nanoseconds. */
static int64_t deadline_after(int ms)
{
    return mono_ns() + (int64_t)ms * 1000000;
}

/* Milliseconds left until @p deadline, rounded up so that a wait never ends early (>= 0,
 * clamped to INT_MAX). */
static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - mono_ns();

    if (left <= 0)
        return 0;
    left = (left + 999999) / 1000000;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* Wait until @p fd has input or @p deadline passes. Returns XCV_OK, XCV_ETIMEDOUT or EPORT. */
static int wait_readable(int fd, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
        int rc = poll(&pfd, 1, remaining_ms(deadline));

        if (rc > 0)
            return XCV_OK; /* readable, or hung up: the following call reports which */
        if (rc == 0)
            return XCV_ETIMEDOUT;
        if (errno != EINTR)
            return XCV_EPORT;
    }
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, (uint16_t)v);
    put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)get_le16(p) | ((uint32_t)get_le16(p + 2) << 16);
}

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

static void hello_encode(const struct xcv_linux_hello *h, uint8_t raw[HELLO_WIRE_SIZE])
{
    put_le32(raw + 0, h->magic);
    put_le16(raw + 4, h->version);
    put_le16(raw + 6, h->flags);
    put_le32(raw + 8, h->nfds);
    put_le32(raw + 12, h->reserved);
    put_le64(raw + 16, h->window_size);
    put_le64(raw + 24, h->bus_base);
}

static void hello_decode(const uint8_t raw[HELLO_WIRE_SIZE], struct xcv_linux_hello *h)
{
    h->magic = get_le32(raw + 0);
    h->version = get_le16(raw + 4);
    h->flags = get_le16(raw + 6);
    h->nfds = get_le32(raw + 8);
    h->reserved = get_le32(raw + 12);
    h->window_size = get_le64(raw + 16);
    h->bus_base = get_le64(raw + 24);
}

static void link_reset(struct xcv_linux_link *l)
{
    memset(l, 0, sizeof(*l));
    l->sock = -1;
    l->listen_sock = -1;
    l->shm.fd = -1;
    l->efd_tx = -1;
    l->efd_rx = -1;
}

static int path_ok(const char *path)
{
    size_t n;

    if (path == NULL)
        return 0;
    n = strnlen(path, XCV_LINUX_PATH_MAX + 1u);
    return n > 0u && n <= XCV_LINUX_PATH_MAX;
}

static void make_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, strlen(path) + 1u);
}

/* ---- windows -------------------------------------------------------------------------- */

static int map_window(int fd, size_t size, struct xcv_linux_shm *out)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    if (p == MAP_FAILED)
        return XCV_EPORT;
    out->fd = fd;
    out->local = p;
    out->size = size;
    return XCV_OK;
}

int xcv_linux_shm_create(size_t size, struct xcv_linux_shm *out)
{
    int fd;
    int rc;

    if (out == NULL || size == 0u || (uint64_t)size > (uint64_t)INT64_MAX)
        return XCV_EINVAL;
    fd = memfd_create("xcvirtio-window", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return XCV_EPORT;
    /* Sealed: neither side can resize the window under the other's mapping. */
    if (ftruncate(fd, (off_t)size) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        close_keep_errno(fd);
        return XCV_EPORT;
    }
    rc = map_window(fd, size, out);
    if (rc != XCV_OK)
        close_keep_errno(fd);
    return rc;
}

int xcv_linux_shm_open_path(const char *path, size_t size, bool create, struct xcv_linux_shm *out)
{
    struct stat st;
    int fd;
    int rc;

    if (path == NULL || out == NULL || (uint64_t)size > (uint64_t)INT64_MAX)
        return XCV_EINVAL;
    fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
    if (fd < 0)
        return XCV_EPORT;
    if (fstat(fd, &st) != 0) {
        close_keep_errno(fd);
        return XCV_EPORT;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        (void)close(fd);
        return XCV_EINVAL;
    }
    if (create && st.st_size == 0 && size > 0u) {
        if (ftruncate(fd, (off_t)size) != 0) {
            close_keep_errno(fd);
            return XCV_EPORT;
        }
    } else {
        if (size == 0u)
            size = (size_t)st.st_size;
        if (size == 0u || (uint64_t)st.st_size != (uint64_t)size) {
            (void)close(fd);
            return XCV_EINVAL;
        }
    }
    rc = map_window(fd, size, out);
    if (rc != XCV_OK)
        close_keep_errno(fd);
    return rc;
}

int xcv_linux_shm_map_fd(int fd, size_t size, struct xcv_linux_shm *out)
{
    struct stat st;

    if (fd < 0 || out == NULL)
        return XCV_EINVAL;
    if (fstat(fd, &st) != 0)
        return XCV_EPORT;
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > (uint64_t)SIZE_MAX)
        return XCV_EINVAL;
    if (size == 0u)
        size = (size_t)st.st_size;
    if ((uint64_t)st.st_size != (uint64_t)size)
        return XCV_EINVAL;
    return map_window(fd, size, out);
}

void xcv_linux_shm_close(struct xcv_linux_shm *shm)
{
    if (shm == NULL)
        return;
    if (shm->local != NULL && shm->size > 0u)
        (void)munmap(shm->local, shm->size);
    if (shm->fd >= 0)
        (void)close(shm->fd);
    shm->fd = -1;
    shm->local = NULL;
    shm->size = 0;
}

/* ---- device side ---------------------------------------------------------------------- */

/* Undo a partial listen, keeping the errno of the call that failed. */
static int listen_fail(struct xcv_linux_link *l, int rc)
{
    int e = errno;

    xcv_linux_link_close(l);
    errno = e;
    return rc;
}

int xcv_linux_link_listen(struct xcv_linux_link *l, const char *path,
                          const struct xcv_linux_link_config *cfg)
{
    struct sockaddr_un sa;
    struct stat st;
    int rc;

    if (l == NULL)
        return XCV_EINVAL;
    link_reset(l);
    if (!path_ok(path) || cfg == NULL || cfg->window_size == 0u ||
        cfg->bus_base + (uint64_t)cfg->window_size < cfg->bus_base)
        return XCV_EINVAL;
    l->role = XCV_ROLE_DEVICE;
    l->bus_base = cfg->bus_base;
    l->busy_poll = cfg->busy_poll;
    l->file_backed = cfg->shm_path != NULL;

    if (cfg->shm_path != NULL)
        rc = xcv_linux_shm_open_path(cfg->shm_path, cfg->window_size, true, &l->shm);
    else
        rc = xcv_linux_shm_create(cfg->window_size, &l->shm);
    if (rc != XCV_OK)
        goto fail;

    rc = XCV_EPORT;
    l->efd_tx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); /* device rings the driver */
    l->efd_rx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); /* driver rings the device */
    if (l->efd_tx < 0 || l->efd_rx < 0)
        goto fail;
    l->listen_sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (l->listen_sock < 0)
        goto fail;

    /* Replace a socket file left by a previous device process; refuse anything else. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            rc = XCV_EINVAL;
            goto fail;
        }
        if (unlink(path) != 0)
            goto fail;
    } else if (errno != ENOENT) {
        goto fail;
    }
    make_addr(&sa, path);
    if (bind(l->listen_sock, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto fail;
    memcpy(l->path, path, strlen(path) + 1u);
    if (lstat(path, &st) != 0)
        goto fail;
    l->path_dev = (uint64_t)st.st_dev; /* from here on, close() removes the file */
    l->path_ino = (uint64_t)st.st_ino;
    if (chmod(path, 0600) != 0 || listen(l->listen_sock, 4) != 0)
        goto fail;
    return XCV_OK;

fail:
    return listen_fail(l, rc);
}

static int send_hello(int sock, const struct xcv_linux_link *l)
{
    struct xcv_linux_hello h;
    uint8_t raw[HELLO_WIRE_SIZE];
    int fds[XCV_LINUX_HELLO_NFDS] = {l->shm.fd, l->efd_rx, l->efd_tx};
    union {
        char buf[CMSG_SPACE(sizeof(fds))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = raw, .iov_len = sizeof(raw)};
    struct msghdr msg;
    struct cmsghdr *cm;
    ssize_t n;

    memset(&h, 0, sizeof(h));
    h.magic = XCV_LINUX_HELLO_MAGIC;
    h.version = XCV_LINUX_HELLO_VERSION;
    h.flags = (uint16_t)((l->file_backed ? XCV_LINUX_HELLO_FILE : 0u) |
                         (l->busy_poll ? XCV_LINUX_HELLO_BUSY_POLL : 0u));
    h.nfds = XCV_LINUX_HELLO_NFDS;
    h.window_size = (uint64_t)l->shm.size;
    h.bus_base = l->bus_base;
    hello_encode(&h, raw);

    memset(&ctl, 0, sizeof(ctl));
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(cm), fds, sizeof(fds));

    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(raw))
        return XCV_EPORT;
    return XCV_OK;
}

int xcv_linux_link_accept(struct xcv_linux_link *l, int timeout_ms)
{
    int64_t deadline;

    if (l == NULL || l->role != XCV_ROLE_DEVICE || l->listen_sock < 0 || timeout_ms < 0)
        return XCV_EINVAL;
    deadline = deadline_after(timeout_ms);
    for (;;) {
        int rc = wait_readable(l->listen_sock, deadline);
        int fd;

        if (rc != XCV_OK)
            return rc;
        fd = accept4(l->listen_sock, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            /* The client may have gone between poll and accept: wait again. */
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                errno == ECONNABORTED) {
                if (remaining_ms(deadline) == 0)
                    return XCV_ETIMEDOUT;
                continue;
            }
            return XCV_EPORT;
        }
        rc = send_hello(fd, l);
        if (rc != XCV_OK) {
            close_keep_errno(fd);
            return rc;
        }
        if (l->sock >= 0) /* a restarted driver replaces the previous connection */
            (void)close(l->sock);
        l->sock = fd;
        return XCV_OK;
    }
}

/* ---- driver side ---------------------------------------------------------------------- */

static int connect_retry(const char *path, int64_t deadline, int *out)
{
    struct sockaddr_un sa;

    make_addr(&sa, path);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (fd < 0)
            return XCV_EPORT;
        if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0) {
            *out = fd;
            return XCV_OK;
        }
        close_keep_errno(fd);
        /* Not listening yet (no file, stale file, full backlog): retry until the deadline. */
        if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN && errno != EINTR)
            return XCV_EPORT;
        {
            int left = remaining_ms(deadline);
            struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};

            if (left == 0)
                return XCV_ETIMEDOUT;
            ts.tv_nsec = (long)(left < CONNECT_RETRY_MS ? left : CONNECT_RETRY_MS) * 1000000L;
            (void)nanosleep(&ts, NULL);
        }
    }
}

/* Is @p fd an eventfd? Where /proc is not mounted the check cannot be made and passes. */
static int is_eventfd(int fd)
{
    char link[64];
    char target[64];
    ssize_t n;

    (void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof(target) - 1u);
    if (n < 0)
        return errno == ENOENT && access("/proc/self/fd", F_OK) != 0;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventfd]") == 0;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0)
        return XCV_EPORT;
    if ((fl & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return XCV_EPORT;
    return XCV_OK;
}

/* Check the decoded header and the descriptors against each other. */
static int validate_hello(const struct xcv_linux_hello *h, const int fds[XCV_LINUX_HELLO_NFDS])
{
    const uint16_t known = XCV_LINUX_HELLO_FILE | XCV_LINUX_HELLO_BUSY_POLL;
    struct stat st;
    unsigned i;

    if (h->magic != XCV_LINUX_HELLO_MAGIC || h->version != XCV_LINUX_HELLO_VERSION ||
        (h->flags & (uint16_t)~known) != 0u || h->nfds != XCV_LINUX_HELLO_NFDS || h->reserved != 0u)
        return XCV_EPROTO_MSG;
    if (h->window_size == 0u || h->window_size > (uint64_t)SIZE_MAX ||
        h->window_size > (uint64_t)INT64_MAX || h->bus_base + h->window_size < h->bus_base)
        return XCV_EPROTO_MSG;
    if (fstat(fds[0], &st) != 0)
        return XCV_EPORT;
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size != h->window_size)
        return XCV_EPROTO_MSG;
    if ((h->flags & XCV_LINUX_HELLO_FILE) == 0u) {
        /* An anonymous window must be sealed so the peer cannot shrink it under our mapping. */
        int seals = fcntl(fds[0], F_GET_SEALS);
        const int need = F_SEAL_SHRINK | F_SEAL_GROW;

        if (seals < 0 || (seals & need) != need)
            return XCV_EPROTO_MSG;
    }
    for (i = 1; i < XCV_LINUX_HELLO_NFDS; i++) {
        if (!is_eventfd(fds[i]))
            return XCV_EPROTO_MSG;
    }
    return XCV_OK;
}

/* Receive one hello with its descriptors on @p sock; on success @p r owns them. */
static int recv_hello(int sock, int64_t deadline, struct received *r)
{
    uint8_t raw[HELLO_WIRE_SIZE + 1u]; /* one spare byte: a longer message is malformed */
    union {
        char buf[CMSG_SPACE(sizeof(int) * RECV_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    int got[RECV_MAX_FDS];
    unsigned ngot = 0;
    struct iovec iov = {.iov_base = raw, .iov_len = sizeof(raw)};
    struct msghdr msg;
    struct cmsghdr *cm;
    ssize_t n;
    int rc;
    unsigned i;

    rc = wait_readable(sock, deadline);
    if (rc != XCV_OK)
        return rc;
    memset(&ctl, 0, sizeof(ctl));
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return XCV_EPORT;

    /* Collect every descriptor first, so that all of them are closed on any failure. */
    for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
        size_t bytes;
        size_t k;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
            cm->cmsg_len < CMSG_LEN(0))
            continue;
        bytes = (size_t)cm->cmsg_len - CMSG_LEN(0);
        for (k = 0; k + sizeof(int) <= bytes; k += sizeof(int)) {
            int fd;

            memcpy(&fd, CMSG_DATA(cm) + k, sizeof(fd));
            if (ngot < RECV_MAX_FDS)
                got[ngot++] = fd;
            else
                (void)close(fd);
        }
    }

    rc = XCV_OK;
    if (n != (ssize_t)HELLO_WIRE_SIZE || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
        ngot != XCV_LINUX_HELLO_NFDS)
        rc = XCV_EPROTO_MSG; /* also a peer that closed without a handshake (n == 0) */
    if (rc == XCV_OK) {
        hello_decode(raw, &r->hello);
        for (i = 0; i < XCV_LINUX_HELLO_NFDS; i++)
            r->fds[i] = got[i];
        rc = validate_hello(&r->hello, r->fds);
    }
    for (i = 1; rc == XCV_OK && i < XCV_LINUX_HELLO_NFDS; i++)
        rc = set_nonblock(r->fds[i]);
    if (rc != XCV_OK) {
        for (i = 0; i < ngot; i++)
            close_keep_errno(got[i]);
        return rc;
    }
    return XCV_OK;
}

/* Connect and receive a validated hello; on success @p r owns the socket and descriptors. */
static int handshake(const char *path, int timeout_ms, struct received *r)
{
    int64_t deadline = deadline_after(timeout_ms);
    int rc;

    r->sock = -1;
    rc = connect_retry(path, deadline, &r->sock);
    if (rc != XCV_OK)
        return rc;
    rc = recv_hello(r->sock, deadline, r);
    if (rc != XCV_OK) {
        close_keep_errno(r->sock);
        r->sock = -1;
    }
    return rc;
}

static void received_close(struct received *r)
{
    unsigned i;

    close_keep_errno(r->sock);
    for (i = 0; i < XCV_LINUX_HELLO_NFDS; i++)
        close_keep_errno(r->fds[i]);
}

static void adopt(struct xcv_linux_link *l, struct received *r)
{
    l->sock = r->sock;
    l->efd_tx = r->fds[1]; /* driver-to-device */
    l->efd_rx = r->fds[2]; /* device-to-driver */
    l->busy_poll = (r->hello.flags & XCV_LINUX_HELLO_BUSY_POLL) != 0u;
    l->file_backed = (r->hello.flags & XCV_LINUX_HELLO_FILE) != 0u;
    l->bus_base = r->hello.bus_base;
}

int xcv_linux_link_connect(struct xcv_linux_link *l, const char *path, int timeout_ms)
{
    struct received r;
    int rc;

    if (l == NULL)
        return XCV_EINVAL;
    link_reset(l);
    if (!path_ok(path) || timeout_ms < 0)
        return XCV_EINVAL;
    rc = handshake(path, timeout_ms, &r);
    if (rc != XCV_OK)
        return rc;
    rc = xcv_linux_shm_map_fd(r.fds[0], (size_t)r.hello.window_size, &l->shm);
    if (rc != XCV_OK) {
        received_close(&r);
        return rc;
    }
    adopt(l, &r);
    l->role = XCV_ROLE_DRIVER;
    memcpy(l->path, path, strlen(path) + 1u);
    return XCV_OK;
}

int xcv_linux_link_reconnect(struct xcv_linux_link *l, int timeout_ms)
{
    struct received r;
    struct stat now;
    struct stat old;
    int same;
    int rc;

    if (l == NULL || l->role != XCV_ROLE_DRIVER || l->path[0] == '\0' || timeout_ms < 0)
        return XCV_EINVAL;
    rc = handshake(l->path, timeout_ms, &r);
    if (rc != XCV_OK)
        return rc;
    if (fstat(r.fds[0], &now) != 0) {
        received_close(&r);
        return XCV_EPORT;
    }
    same = l->shm.fd >= 0 && fstat(l->shm.fd, &old) == 0 && old.st_dev == now.st_dev &&
           old.st_ino == now.st_ino && (uint64_t)l->shm.size == r.hello.window_size &&
           l->bus_base == r.hello.bus_base;
    if (same) {
        (void)close(r.fds[0]); /* the same memory: keep the mapping and its fd */
        r.fds[0] = -1;
    } else {
        struct xcv_linux_shm fresh;

        rc = xcv_linux_shm_map_fd(r.fds[0], (size_t)r.hello.window_size, &fresh);
        if (rc != XCV_OK) {
            received_close(&r);
            return rc;
        }
        xcv_linux_shm_close(&l->shm);
        l->shm = fresh;
    }
    close_keep_errno(l->sock);
    close_keep_errno(l->efd_tx);
    close_keep_errno(l->efd_rx);
    adopt(l, &r);
    return same ? XCV_OK : XCV_LINUX_WINDOW_NEW;
}

/* ---- both sides ----------------------------------------------------------------------- */

int xcv_linux_link_check_peer(const struct xcv_linux_link *l)
{
    struct pollfd pfd;

    if (l == NULL)
        return XCV_EINVAL;
    if (l->sock < 0)
        return XCV_EPEERRESET;
    pfd.fd = l->sock;
    pfd.events = POLLIN | POLLRDHUP;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) < 0)
        return errno == EINTR ? XCV_OK : XCV_EPORT;
    if ((pfd.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0)
        return XCV_EPEERRESET;
    return XCV_OK;
}

void xcv_linux_link_close(struct xcv_linux_link *l)
{
    if (l == NULL)
        return;
    if (l->role == XCV_ROLE_DEVICE && l->listen_sock >= 0 && l->path[0] != '\0') {
        struct stat st;

        /* Remove the socket file only if it is still the one this side bound (a newer device
         * process may have replaced it meanwhile). */
        if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
            (uint64_t)st.st_dev == l->path_dev && (uint64_t)st.st_ino == l->path_ino)
            (void)unlink(l->path);
    }
    if (l->sock >= 0)
        (void)close(l->sock);
    if (l->listen_sock >= 0)
        (void)close(l->listen_sock);
    if (l->efd_tx >= 0)
        (void)close(l->efd_tx);
    if (l->efd_rx >= 0)
        (void)close(l->efd_rx);
    xcv_linux_shm_close(&l->shm);
    link_reset(l);
}

int xcv_linux_link_window(const struct xcv_linux_link *l, struct xcv_window *w)
{
    if (l == NULL || w == NULL || l->shm.local == NULL)
        return XCV_EINVAL;
    return xcv_window_init(w, l->shm.local, l->bus_base, (uint64_t)l->shm.size);
}
