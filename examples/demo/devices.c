/* SPDX-License-Identifier: Apache-2.0 */
/* The demo's virtio-console and virtio-rng devices, both roles (see devices.h). */
#define _GNU_SOURCE
#include "devices.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xcvirtio/linux_backends.h"

/* ---- device side ------------------------------------------------------------------------- */

/* Bytes from the driver's transmit queue. They live in shared memory: copied once, and every
 * byte that is not printable is shown as '.', since the driver compartment is not trusted. */
static int con_write(void *ctx, const uint8_t *buf, uint32_t len)
{
    struct demo_devs *d = ctx;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (c != '\n' && d->line_len < DEMO_LINE_MAX) {
            d->line[d->line_len++] = c >= 0x20u && c < 0x7fu ? (char)c : '.';
            continue;
        }
        if (c != '\n')
            continue; /* the line is too long: the rest is dropped */
        d->line[d->line_len] = '\0';
        printf("[device console] %s\n", d->line);
        d->lines++;
        /* One line back per line received (if the last reply went out). */
        if (d->reply_sent == d->reply_len) {
            int n = snprintf(d->reply, sizeof(d->reply),
                             "hello from the device compartment (line %" PRIu64 ", %u bytes)\n",
                             d->lines, (unsigned)d->line_len);
            d->reply_len = n > 0 ? (uint32_t)n : 0u;
            d->reply_sent = 0;
        }
        d->line_len = 0;
    }
    return XCV_OK;
}

static const struct xcv_console_backend_ops con_ops = {.write = con_write};

int demo_devs_register(struct demo_devs *d, struct xcv_channel *ch)
{
    memset(d, 0, sizeof(*d));
    struct xcv_console_dev_config cc = {.ops = &con_ops, .ctx = d, .cols = 80, .rows = 25};
    int r = xcv_console_dev_init(&d->con, ch, &cc);
    if (r < 0)
        return r;
    if (r != (int)DEMO_CONSOLE_DEV)
        return XCV_ESTATE;
    struct xcv_rng_dev_config rc = {.entropy = xcv_linux_rng_entropy};
    r = xcv_rng_dev_init(&d->rng, ch, &rc);
    if (r < 0)
        return r;
    return r == (int)DEMO_RNG_DEV ? XCV_OK : XCV_ESTATE;
}

void demo_devs_tick(void *ctx)
{
    struct demo_devs *d = ctx;
    /* Feed outside the transmit callback: the model's chain scratch is in use there. */
    if (d->reply_sent < d->reply_len) {
        int n =
            xcv_console_dev_feed(&d->con, d->reply + d->reply_sent, d->reply_len - d->reply_sent);
        if (n > 0)
            d->reply_sent += (uint32_t)n;
    }
    if (xcv_console_dev_pending(&d->con))
        (void)xcv_console_dev_run(&d->con, XCV_CONSOLE_QUEUE);
    if (xcv_rng_dev_pending(&d->rng))
        (void)xcv_rng_dev_run(&d->rng, XCV_RNG_MAX_QUEUE);
}

void demo_devs_print(const struct demo_devs *d)
{
    const struct xcv_console_dev_stats *cs = xcv_console_dev_stats(&d->con);
    const struct xcv_rng_dev_stats *rs = xcv_rng_dev_stats(&d->rng);
    printf("device: console %" PRIu64 " bytes in, %" PRIu64 " bytes out; rng %" PRIu64
           " bytes in %" PRIu64 " requests\n",
           cs->tx_bytes, cs->rx_bytes, rs->bytes, rs->requests);
}

/* ---- driver side ------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Let the device side work: sleep on the doorbell (event mode, short bound) or poll. */
static int wait_a_little(struct xcv_channel *ch, struct xcv_linux_link *l, bool poll_mode)
{
    if (!poll_mode) {
        struct pollfd p = {.fd = xcv_linux_link_event_fd(l), .events = POLLIN};
        int pr = poll(&p, 1, 20);
        if (pr < 0 && errno != EINTR)
            return XCV_EPORT;
        if (pr > 0)
            (void)xcv_linux_link_ack(l);
    } else {
        sched_yield();
    }
    int r = xcv_channel_poll(ch, 64);
    return r < 0 ? r : 0;
}

static int drive_rng(struct xcv_channel *ch, struct xcv_pool *pool, struct demo_devs_report *rep)
{
    static struct xcv_rng_drv rng;
    struct xcv_rng_drv_config rc = {.dev_num = DEMO_RNG_DEV, .pool = pool};
    int r = xcv_rng_drv_open(&rng, ch, &rc);
    if (r == XCV_OK)
        r = xcv_rng_drv_read(&rng, rep->entropy, sizeof(rep->entropy));
    if (r != XCV_OK)
        return r;
    for (unsigned i = 0; i < sizeof(rep->entropy); i++)
        rep->entropy_ok |= rep->entropy[i] != 0u;
    return XCV_OK;
}

static int drive_console(struct xcv_channel *ch, struct xcv_linux_link *l, struct xcv_pool *pool,
                         bool poll_mode, struct demo_devs_report *rep)
{
    static struct xcv_console_drv con;
    struct xcv_console_drv_config cc = {.dev_num = DEMO_CONSOLE_DEV, .pool = pool, .rx_buffers = 4};
    int r = xcv_console_drv_open(&con, ch, &cc);
    if (r != XCV_OK)
        return r;
    snprintf(rep->sent, sizeof(rep->sent), "hello from the driver compartment");
    char line[DEMO_LINE_MAX + 2u];
    uint32_t len = (uint32_t)snprintf(line, sizeof(line), "%s\n", rep->sent);
    uint32_t off = 0;
    uint32_t got = 0;
    uint64_t deadline = now_ns() + 3000000000ull;
    while (now_ns() < deadline) {
        if (off < len) {
            r = xcv_console_drv_write(&con, line + off, len - off);
            if (r < 0)
                return r;
            off += (uint32_t)r;
        }
        r = xcv_console_drv_read(&con, rep->got + got, DEMO_LINE_MAX - got);
        if (r < 0)
            return r;
        /* Device-written bytes: anything not printable is shown as '.'. */
        for (uint32_t i = got; i < got + (uint32_t)r; i++) {
            unsigned char c = (unsigned char)rep->got[i];
            if (c != '\n' && (c < 0x20u || c >= 0x7fu))
                rep->got[i] = '.';
        }
        got += (uint32_t)r;
        rep->got[got] = '\0';
        char *nl = strchr(rep->got, '\n');
        if (nl != NULL) {
            *nl = '\0';
            rep->console_ok = off == len;
            return XCV_OK;
        }
        if (got == DEMO_LINE_MAX)
            return XCV_ENOMEM; /* no line end in sight */
        r = wait_a_little(ch, l, poll_mode);
        if (r < 0)
            return r;
    }
    return XCV_ETIMEDOUT;
}

int demo_devs_drive(struct xcv_channel *ch, struct xcv_linux_link *l, struct xcv_pool *pool,
                    bool poll_mode, struct demo_devs_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    int errors = 0;
    int r = drive_rng(ch, pool, rep);
    if (r != XCV_OK || !rep->entropy_ok) {
        errors++;
        rep->err = r;
    }
    r = drive_console(ch, l, pool, poll_mode, rep);
    if (r != XCV_OK || !rep->console_ok) {
        errors++;
        if (rep->err == 0)
            rep->err = r;
    }
    return errors;
}

void demo_devs_report_print(const struct demo_devs_report *rep)
{
    printf("  rng         %u bytes from virtio-rng (device %u)%s\n", DEMO_RNG_BYTES, DEMO_RNG_DEV,
           rep->entropy_ok ? ":" : ": FAILED (none, or all zero)");
    for (unsigned i = 0; rep->entropy_ok && i < DEMO_RNG_BYTES; i += 32u) {
        printf("              ");
        for (unsigned j = i; j < i + 32u; j++)
            printf("%02x", rep->entropy[j]);
        printf("\n");
    }
    printf("  console     virtio-console (device %u): wrote \"%s\"\n", DEMO_CONSOLE_DEV, rep->sent);
    printf("              read back \"%s\"%s\n", rep->got, rep->console_ok ? "" : " FAILED");
}
