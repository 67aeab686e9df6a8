/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux port: the xcv_port_ops table over a link (eventfd doorbells or busy-poll), the event
 * fd helpers for an epoll loop, and an entropy source.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "xcvirtio/error.h"
#include "xcvirtio/port_linux.h"

/* Busy-poll: how long one wait call spins before handing control back to the caller. */
#define SPIN_NS 20000u
/* Pause instructions between two clock reads while spinning. */
#define SPIN_BATCH 64

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#elif defined(__riscv)
    __asm__ __volatile__(".insn i 0x0f, 0, x0, x0, 0x010" ::: "memory"); /* pause hint */
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

static uint64_t clock_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Drain an eventfd; returns the counter (0 when nothing was pending) or XCV_EPORT. */
static int64_t drain(int fd)
{
    uint64_t v = 0;

    for (;;) {
        ssize_t n = read(fd, &v, sizeof(v));

        if (n == (ssize_t)sizeof(v))
            return v > (uint64_t)INT_MAX ? INT_MAX : (int64_t)v;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return XCV_EPORT;
    }
}

static int linux_notify(void *ctx, uint32_t doorbell)
{
    const struct xcv_linux_link *l = (const struct xcv_linux_link *)ctx;
    const uint64_t one = 1;

    (void)doorbell; /* one eventfd per direction */
    if (l->busy_poll)
        return XCV_OK;
    for (;;) {
        ssize_t n = write(l->efd_tx, &one, sizeof(one));

        if (n == (ssize_t)sizeof(one))
            return XCV_OK;
        if (n < 0 && errno == EINTR)
            continue;
        /* A saturated counter means the peer has not drained yet: it is rung already. */
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return XCV_OK;
        return XCV_EPORT;
    }
}

static uint64_t linux_now_ns(void *ctx)
{
    (void)ctx;
    return clock_ns();
}

static int linux_wait(void *ctx, uint64_t deadline_ns)
{
    const struct xcv_linux_link *l = (const struct xcv_linux_link *)ctx;
    uint64_t now = clock_ns();
    struct pollfd pfd;
    struct timespec ts;
    int rc;

    if (l->busy_poll) {
        uint64_t end;

        if (now >= deadline_ns)
            return XCV_ETIMEDOUT;
        end = deadline_ns - now > SPIN_NS ? now + SPIN_NS : deadline_ns;
        while (clock_ns() < end) {
            int i;

            for (i = 0; i < SPIN_BATCH; i++)
                cpu_relax();
        }
        return XCV_OK; /* the caller polls its rings again */
    }

    if (l->efd_rx < 0)
        return XCV_EPORT; /* a closed link: nothing could ever ring */
    if (now < deadline_ns) {
        uint64_t left = deadline_ns - now;

        ts.tv_sec = (time_t)(left / 1000000000u);
        ts.tv_nsec = (long)(left % 1000000000u);
    } else {
        ts.tv_sec = 0;
        ts.tv_nsec = 0;
    }
    pfd.fd = l->efd_rx;
    pfd.events = POLLIN;
    pfd.revents = 0;
    rc = ppoll(&pfd, 1, &ts, NULL);
    if (rc < 0)
        return errno == EINTR ? XCV_OK : XCV_EPORT; /* a signal: an allowed early return */
    if (rc == 0)
        return XCV_ETIMEDOUT;
    if ((pfd.revents & (POLLERR | POLLNVAL)) != 0)
        return XCV_EPORT;
    return drain(l->efd_rx) < 0 ? XCV_EPORT : XCV_OK;
}

static void linux_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    const char *lv = (unsigned)level < sizeof(names) / sizeof(names[0]) ? names[level] : "?";

    (void)ctx;
    (void)fprintf(stderr, "xcvirtio: %s: %s (id %u): %s\n", lv, what != NULL ? what : "?",
                  (unsigned)id, xcv_strerror(err));
}

static const struct xcv_port_ops linux_ops = {
    .notify = linux_notify,
    .now_ns = linux_now_ns,
    .cache_clean = NULL,
    .cache_invalidate = NULL,
    .wait = linux_wait,
    .lock = NULL,
    .unlock = NULL,
    .log = linux_log,
};

void xcv_linux_port_init(struct xcv_linux_link *l, struct xcv_port *port)
{
    if (port == NULL)
        return;
    port->ops = &linux_ops;
    port->ctx = l;
}

int xcv_linux_link_event_fd(const struct xcv_linux_link *l)
{
    if (l == NULL || l->efd_rx < 0)
        return XCV_EINVAL;
    return l->efd_rx;
}

int xcv_linux_link_ack(struct xcv_linux_link *l)
{
    int64_t n;

    if (l == NULL || l->efd_rx < 0)
        return XCV_EINVAL;
    n = drain(l->efd_rx);
    return (int)n;
}

int xcv_linux_entropy(void *buf, size_t len)
{
    unsigned char *p = (unsigned char *)buf;
    size_t done = 0;

    if (buf == NULL && len > 0u)
        return XCV_EINVAL;
    while (done < len) {
        size_t chunk = len - done;
        ssize_t n;

        if (chunk > 33554431u) /* getrandom's per-call maximum */
            chunk = 33554431u;
        n = getrandom(p + done, chunk, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return XCV_EPORT;
        }
        done += (size_t)n;
    }
    return XCV_OK;
}
