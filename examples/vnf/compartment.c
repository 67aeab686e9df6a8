/* SPDX-License-Identifier: Apache-2.0 */
/* Two-compartment plumbing of the network examples (see compartment.h). */
#define _GNU_SOURCE
#include "compartment.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t cpt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cpt_device_listen(struct cpt_device *d, const char *sock, bool poll_mode)
{
    memset(d, 0, sizeof(*d));
    d->poll_mode = poll_mode;
    struct xcv_linux_link_config lc = {.window_size = CPT_WINDOW, .busy_poll = poll_mode};
    int r = xcv_linux_link_listen(&d->l, sock, &lc);
    if (r != XCV_OK)
        return r;
    xcv_linux_port_init(&d->l, &d->port);
    struct xcv_channel_config cc = {
        .role = XCV_ROLE_DEVICE, .port = &d->port, .queue_area_size = CPT_QAREA, .msg_slots = 64};
    xcv_linux_link_window(&d->l, &cc.window);
    return xcv_channel_init(&d->ch, &cc);
}

int cpt_device_accept(struct cpt_device *d, int timeout_ms)
{
    return xcv_linux_link_accept(&d->l, timeout_ms);
}

int cpt_device_pass(struct cpt_device *d, bool busy, int idle_ms)
{
    /* Busy polling checks the socket only now and then (a system call per pass would cost
     * more than the work). */
    if (!d->poll_mode || (++d->spins & 255u) == 0u) {
        struct pollfd p[2] = {{.fd = d->l.sock, .events = POLLRDHUP},
                              {.fd = d->l.efd_rx, .events = POLLIN}};
        int pr = poll(p, d->poll_mode ? 1u : 2u, d->poll_mode || busy ? 0 : idle_ms);
        if (pr < 0 && errno != EINTR)
            return XCV_EPORT;
        if (pr > 0 && (p[0].revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0)
            return 1;
        if (pr > 0 && !d->poll_mode && (p[1].revents & POLLIN) != 0)
            (void)xcv_linux_link_ack(&d->l);
        if (d->poll_mode && !busy)
            sched_yield(); /* a loaded machine: let the other compartment run */
    }
    int r = xcv_channel_poll(&d->ch, 64);
    return r < 0 && r != XCV_EPEERRESET ? r : 0;
}

void cpt_device_close(struct cpt_device *d)
{
    xcv_channel_detach(&d->ch);
    xcv_linux_link_close(&d->l);
}

int cpt_driver_attach(struct cpt_driver *d, const char *sock, uint32_t buf_size)
{
    memset(d, 0, sizeof(*d));
    int r = xcv_linux_link_connect(&d->l, sock, 10000);
    if (r != XCV_OK)
        return r;
    d->poll_mode = d->l.busy_poll; /* the device side chose the mode */
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

int cpt_driver_wait(struct cpt_driver *d, struct xcv_vq_driver *const *arm, unsigned n_arm,
                    int timeout_ms)
{
    if (!d->poll_mode) {
        bool work = false;
        for (unsigned i = 0; i < n_arm; i++) {
            int a = arm[i] != NULL ? xcv_vq_driver_enable_notify(arm[i]) : 0;
            if (a < 0)
                return a;
            work |= a == 1;
        }
        if (!work) {
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

void cpt_driver_close(struct cpt_driver *d)
{
    xcv_channel_detach(&d->ch);
    xcv_linux_link_close(&d->l);
    free(d->free_list);
    d->free_list = NULL;
}

pid_t cpt_fork(int (*fn)(void *), void *arg, unsigned alarm_s)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    alarm(alarm_s); /* last resort: never outlive a stuck run */
    _exit(fn(arg));
}

int cpt_reap(pid_t pid, int timeout_ms)
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
