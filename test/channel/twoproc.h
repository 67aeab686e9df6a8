/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the two-process tests: a device process serving the echo device over the Linux
 * port, and a driver that attaches to it. Counters live in memory shared with the harness. */
#ifndef XCV_TEST_CHANNEL_TWOPROC_H
#define XCV_TEST_CHANNEL_TWOPROC_H

#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "echo.h"

#define TP_WINDOW (2u << 20)
#define TP_QAREA (128u << 10)

struct tp_paths {
    char sock[108];
    char shm[108];
};

static inline void tp_paths_init(struct tp_paths *p, const char *tag)
{
    snprintf(p->sock, sizeof(p->sock), "/tmp/xcv-%s-%ld.sock", tag, (long)getpid());
    snprintf(p->shm, sizeof(p->shm), "/dev/shm/xcv-%s-%ld", tag, (long)getpid());
}

static inline void tp_paths_cleanup(const struct tp_paths *p)
{
    unlink(p->sock);
    unlink(p->shm);
}

/* Counters shared between the harness and its children (MAP_SHARED anonymous, before fork). */
static inline struct echo_dev_stats *tp_shared_stats(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Fork a device process. It serves until the driver hangs up (exit_on_hangup) or forever
 * (accepting restarted drivers); alarm() bounds it in every case. */
static inline pid_t tp_spawn_device(const struct tp_paths *p, bool file_backed, bool poll_mode,
                                    bool exit_on_hangup, struct echo_dev_stats *st)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    alarm(40);
    struct xcv_linux_link l;
    struct xcv_linux_link_config lc = {
        .window_size = TP_WINDOW, .busy_poll = poll_mode, .shm_path = file_backed ? p->shm : NULL};
    if (xcv_linux_link_listen(&l, p->sock, &lc) != XCV_OK)
        _exit(10);
    struct xcv_port port;
    xcv_linux_port_init(&l, &port);
    struct xcv_channel ch;
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DEVICE, .port = &port, .queue_area_size = TP_QAREA};
    xcv_linux_link_window(&l, &cc.window);
    static struct echo_dev dev;
    if (xcv_channel_init(&ch, &cc) != XCV_OK || echo_dev_register(&dev, &ch, poll_mode, st) < 0)
        _exit(11);
    if (xcv_linux_link_accept(&l, 10000) != XCV_OK)
        _exit(12);
    st->accepts++;
    struct echo_serve_opts so = {.exit_on_hangup = exit_on_hangup,
                                 .accept_new = !exit_on_hangup,
                                 .max_ns = 35ull * 1000000000u};
    int r = echo_serve(&l, &ch, &dev, &so);
    xcv_channel_detach(&ch);
    xcv_linux_link_close(&l);
    _exit(r == 0 ? 0 : 13);
}

/* Wait for a child, bounded; kill it when it overstays. Returns the exit status or -1. */
static inline int tp_reap(pid_t pid, int timeout_ms)
{
    int st = 0;
    for (int i = 0; i < timeout_ms / 10; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* The driver side of one connection. */
struct tp_driver {
    struct xcv_linux_link l;
    struct xcv_port port;
    struct xcv_channel ch;
    struct xcv_channel_config cc;
    struct echo_client c;
};

static inline int tp_driver_attach(struct tp_driver *d, const struct tp_paths *p, bool poll_mode,
                                   uint32_t size)
{
    int r = xcv_linux_link_connect(&d->l, p->sock, 10000);
    if (r != XCV_OK)
        return r;
    xcv_linux_port_init(&d->l, &d->port);
    d->cc = (struct xcv_channel_config){
        .role = XCV_ROLE_DRIVER, .port = &d->port, .timeout_ns = 300000000u};
    xcv_linux_link_window(&d->l, &d->cc.window);
    r = xcv_channel_connect(&d->ch, &d->cc);
    if (r != XCV_OK)
        return r;
    return echo_client_init(&d->c, &d->ch, &d->l, size, 64, poll_mode);
}

/* Run until @p n more requests completed (window @p win), bounded by @p timeout_ns. */
static inline int tp_run(struct echo_client *c, uint64_t n, unsigned win, uint64_t timeout_ns)
{
    uint64_t target = c->completed + n;
    uint64_t deadline = echo_now_ns() + timeout_ns;
    while (c->completed < target) {
        if (echo_now_ns() > deadline)
            return XCV_ETIMEDOUT;
        unsigned inf = echo_client_in_flight(c);
        uint64_t left = target - c->completed - inf;
        if (inf < win && left > 0u) {
            int r = echo_client_post(c, (unsigned)(left < win - inf ? left : win - inf));
            if (r < 0)
                return r;
        }
        int got = echo_client_reap(c);
        if (got < 0)
            return got;
        if (got == 0) {
            int r = echo_client_wait(c, 50);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

#endif /* XCV_TEST_CHANNEL_TWOPROC_H */
