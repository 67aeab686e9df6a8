/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the two-process device tests: a forked device process that registers device
 * models on a channel over the Linux port and serves them until the driver hangs up, and the
 * driver side that attaches to it. Device-side counters and captured bytes travel back in
 * memory shared with the harness (mapped before the fork).
 *
 * Every wait is bounded: the device process has an alarm and a loop deadline, the driver's
 * waits have deadlines, and d2p_reap() kills a child that overstays.
 */
#ifndef XCV_TEST_DEVICES2P_D2P_H
#define XCV_TEST_DEVICES2P_D2P_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* the including file defines it before any system header */
#endif
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xcvirtio/port_linux.h>
#include <xcvirtio/xcvirtio.h>

#define D2P_WINDOW (4u << 20)
#define D2P_QAREA (512u << 10)
#define D2P_DATA_MAX (1u << 20)
#define D2P_SERVE_NS (40ull * 1000000000u)

/* Memory shared between the harness and the device process. */
struct d2p_shared {
    int32_t setup_rc;           /* the device's setup result (0 = fine) */
    int32_t exit_rc;            /* the serve loop's result */
    uint64_t c[32];             /* device-side counters, test-specific */
    uint32_t data_len;          /* bytes captured in data */
    uint8_t data[D2P_DATA_MAX]; /* bytes captured by the device (console output, ...) */
};

/* What the device process serves. */
struct d2p_device {
    /* Register the models on the channel; returns 0 or a negative error. */
    int (*setup)(void *ctx, struct xcv_channel *ch, struct d2p_shared *sh);
    /* Called after every pass of the serve loop; returns true while it has work left. */
    bool (*tick)(void *ctx);
    /* Called once before the device process exits (copy counters to the shared memory). */
    void (*finish)(void *ctx);
    void *ctx;
};

static inline uint64_t d2p_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline struct d2p_shared *d2p_shared_map(void)
{
    void *p = mmap(NULL, sizeof(struct d2p_shared), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : (struct d2p_shared *)p;
}

static inline void d2p_shared_unmap(struct d2p_shared *sh)
{
    if (sh != NULL)
        munmap(sh, sizeof(*sh));
}

static inline void d2p_sock_path(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "/tmp/xcv-d2p-%s-%ld.sock", tag, (long)getpid());
}

/* The device process's loop: doorbells (event mode) or busy polling, until the driver hangs
 * up. Returns 0 or the error that stopped it. */
static inline int d2p_serve(struct xcv_linux_link *l, struct xcv_channel *ch, bool poll_mode,
                            const struct d2p_device *dv)
{
    uint64_t end = d2p_now() + D2P_SERVE_NS;
    unsigned spins = 0;
    bool more = false;
    for (;;) {
        if (!poll_mode || (++spins & 255u) == 0u) {
            if (d2p_now() > end)
                return XCV_ETIMEDOUT;
            struct pollfd p[2] = {{.fd = l->sock, .events = POLLRDHUP},
                                  {.fd = l->efd_rx, .events = POLLIN}};
            int pr = poll(p, poll_mode ? 1u : 2u, poll_mode || more ? 0 : 50);
            if (pr < 0 && errno != EINTR)
                return XCV_EPORT;
            if (pr > 0 && (p[0].revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0)
                return 0;
            if (pr > 0 && !poll_mode && (p[1].revents & POLLIN) != 0)
                (void)xcv_linux_link_ack(l);
            if (poll_mode)
                sched_yield(); /* a loaded machine: let the driver run */
        }
        int r = xcv_channel_poll(ch, 64);
        if (r < 0 && r != XCV_EPEERRESET)
            return r;
        more = dv->tick != NULL && dv->tick(dv->ctx);
    }
}

/* The device process of the running test (killed by d2p_teardown() when a test failed). */
static pid_t d2p_child = -1;

/* Fork the device process. It exits with 0 after a clean run, 10+ on a setup failure. */
static inline pid_t d2p_spawn(const char *sock, bool poll_mode, const struct d2p_device *dv,
                              struct d2p_shared *sh)
{
    pid_t pid = fork();
    if (pid != 0) {
        d2p_child = pid;
        return pid;
    }
    alarm(50);
    struct xcv_linux_link l;
    struct xcv_linux_link_config lc = {.window_size = D2P_WINDOW, .busy_poll = poll_mode};
    if (xcv_linux_link_listen(&l, sock, &lc) != XCV_OK)
        _exit(10);
    struct xcv_port port;
    xcv_linux_port_init(&l, &port);
    static struct xcv_channel ch;
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DEVICE, .port = &port, .queue_area_size = D2P_QAREA, .msg_slots = 64};
    xcv_linux_link_window(&l, &cc.window);
    int r = xcv_channel_init(&ch, &cc);
    if (r == XCV_OK)
        r = dv->setup(dv->ctx, &ch, sh);
    sh->setup_rc = r;
    if (r != XCV_OK)
        _exit(11);
    if (xcv_linux_link_accept(&l, 10000) != XCV_OK)
        _exit(12);
    r = d2p_serve(&l, &ch, poll_mode, dv);
    sh->exit_rc = r;
    if (dv->finish != NULL)
        dv->finish(dv->ctx);
    xcv_channel_detach(&ch);
    xcv_linux_link_close(&l);
    _exit(r == 0 ? 0 : 13);
}

/* Wait for a child, bounded; kill it when it overstays. Returns its exit status or -1. */
static inline int d2p_reap(pid_t pid, int timeout_ms)
{
    int st = 0;
    if (pid == d2p_child)
        d2p_child = -1;
    for (int i = 0; i < timeout_ms / 10; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* CMocka teardown: a test that failed half-way leaves its device process behind; end it. */
static inline int d2p_teardown(void **state)
{
    (void)state;
    if (d2p_child > 0)
        (void)d2p_reap(d2p_child, 0);
    return 0;
}

/* The driver side of one connection: link, channel, and a pool over the pool area. */
struct d2p_driver {
    struct xcv_linux_link l;
    struct xcv_port port;
    struct xcv_channel ch;
    struct xcv_pool pool;
    uint32_t *free_list;
    uint32_t pool_count;
    bool poll_mode;
};

static inline int d2p_attach(struct d2p_driver *d, const char *sock, bool poll_mode,
                             uint32_t buf_size)
{
    memset(d, 0, sizeof(*d));
    d->poll_mode = poll_mode;
    int r = xcv_linux_link_connect(&d->l, sock, 10000);
    if (r != XCV_OK)
        return r;
    xcv_linux_port_init(&d->l, &d->port);
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DRIVER, .port = &d->port, .timeout_ns = 2000000000u};
    xcv_linux_link_window(&d->l, &cc.window);
    r = xcv_channel_connect(&d->ch, &cc);
    if (r != XCV_OK)
        return r;
    const struct xcv_window *pa = xcv_channel_pool_area(&d->ch);
    d->pool_count = XCV_POOL_COUNT(pa->size, buf_size);
    d->free_list = calloc(d->pool_count, sizeof(*d->free_list));
    if (d->free_list == NULL)
        return XCV_ENOMEM;
    return xcv_pool_init(&d->pool, pa, buf_size, d->free_list, d->pool_count);
}

/* Let the device work: in event mode arm the used notification of @p q (when given) and sleep
 * on the doorbell (at most @p timeout_ms), in poll mode yield once; then poll the channel. */
static inline int d2p_wait(struct d2p_driver *d, struct xcv_vq_driver *q, int timeout_ms)
{
    if (!d->poll_mode) {
        int armed = q != NULL ? xcv_vq_driver_enable_notify(q) : 0;
        if (armed < 0)
            return armed;
        if (armed == 0) {
            struct pollfd p = {.fd = xcv_linux_link_event_fd(&d->l), .events = POLLIN};
            int pr = poll(&p, 1, timeout_ms);
            if (pr < 0 && errno != EINTR)
                return XCV_EPORT;
            if (pr > 0)
                (void)xcv_linux_link_ack(&d->l);
        }
    } else {
        sched_yield();
    }
    int r = xcv_channel_poll(&d->ch, 64);
    return r < 0 ? r : 0;
}

/* Leave: the device process sees the hangup and exits. */
static inline void d2p_detach(struct d2p_driver *d)
{
    xcv_channel_detach(&d->ch);
    xcv_linux_link_close(&d->l);
    free(d->free_list);
    d->free_list = NULL;
}

#endif /* XCV_TEST_DEVICES2P_D2P_H */
