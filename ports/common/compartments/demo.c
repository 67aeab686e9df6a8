/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the two-compartment test images of every bare-metal port. */
#include <stdatomic.h>

#include "demo.h"
#include "xcvirtio/error.h"
#include "xcvirtio/window.h"

struct demo_config demo_cfg = {
    .shared_base = DEMO_SHARED_BASE,
    .shared_size = DEMO_SHARED_SIZE,
    .window_base = DEMO_WINDOW_BASE,
    .window_size = DEMO_WINDOW_SIZE,
    .mailbox = DEMO_MAILBOX,
    .doorbell_to_device = DEMO_DOORBELL_TO_DEVICE,
    .doorbell_to_driver = DEMO_DOORBELL_TO_DRIVER,
};

static const char *demo_tag = "?";
static struct demo_port *demo_active; /* the port of this image, once initialised */

/* ---- text ------------------------------------------------------------------------------------ */

void demo_puts(const char *s)
{
    demo_hw_puts(s);
}

void demo_put_int(int64_t v)
{
    char buf[24];
    unsigned n = sizeof(buf) - 1u;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    buf[n] = '\0';
    do {
        buf[--n] = (char)('0' + (int)(u % 10u));
        u /= 10u;
    } while (u != 0u);
    if (v < 0)
        buf[--n] = '-';
    demo_hw_puts(&buf[n]);
}

void demo_say(const char *text, int64_t value)
{
    demo_hw_puts(demo_tag);
    demo_hw_puts(": ");
    demo_hw_puts(text);
    demo_hw_puts(" ");
    demo_put_int(value);
    demo_hw_puts("\n");
}

int demo_platform_init(bool device_side, const char *tag)
{
    demo_tag = tag;
    int r = demo_hw_init(device_side);
    if (r != 0) {
        demo_say("platform init failed", r);
        return r == DEMO_ERR_CONFIG ? DEMO_ERR_CONFIG : -1;
    }
    return 0;
}

#ifndef DEMO_USE_DTB
int demo_channel_config(struct xcv_channel_config *cfg, bool device_side,
                        const struct xcv_port *port)
{
    *cfg = (struct xcv_channel_config){
        .role = device_side ? XCV_ROLE_DEVICE : XCV_ROLE_DRIVER,
        .port = port,
        .doorbell = device_side ? demo_cfg.doorbell_to_driver : demo_cfg.doorbell_to_device,
        .timeout_ns = DEMO_CHANNEL_TIMEOUT_NS,
        .queue_area_size = device_side ? DEMO_QUEUE_AREA_SIZE : 0u,
    };
    return xcv_window_init(&cfg->window, (void *)(uintptr_t)demo_cfg.window_base,
                           demo_cfg.window_base, demo_cfg.window_size);
}
#endif

/* ---- the recording port ---------------------------------------------------------------------- */

static int rec_notify(void *ctx, uint32_t doorbell)
{
    struct demo_port *p = ctx;
    p->notifies++;
    return p->hw.ops->notify(p->hw.ctx, doorbell);
}

static uint64_t rec_now_ns(void *ctx)
{
    struct demo_port *p = ctx;
    return p->hw.ops->now_ns(p->hw.ctx);
}

static int rec_wait(void *ctx, uint64_t deadline_ns)
{
    struct demo_port *p = ctx;
    if (p->hw.ops->wait == NULL) {
        while (p->hw.ops->now_ns(p->hw.ctx) < deadline_ns) {
        }
        return XCV_ETIMEDOUT;
    }
    return p->hw.ops->wait(p->hw.ctx, deadline_ns);
}

static void rec_clean(void *ctx, const void *addr, size_t len)
{
    struct demo_port *p = ctx;
    p->hw.ops->cache_clean(p->hw.ctx, addr, len);
}

static void rec_invalidate(void *ctx, const void *addr, size_t len)
{
    struct demo_port *p = ctx;
    p->hw.ops->cache_invalidate(p->hw.ctx, addr, len);
}

static void rec_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    struct demo_port *p = ctx;
    if (p->n_logged < DEMO_LOG_KEEP)
        p->logged_err[p->n_logged] = err;
    p->n_logged++;
    if (p->hw.ops->log != NULL)
        p->hw.ops->log(p->hw.ctx, level, what, id, err);
}

static const struct xcv_port_ops rec_ops_coherent = {
    .notify = rec_notify,
    .now_ns = rec_now_ns,
    .wait = rec_wait,
    .log = rec_log,
};

static const struct xcv_port_ops rec_ops_noncoherent = {
    .notify = rec_notify,
    .now_ns = rec_now_ns,
    .cache_clean = rec_clean,
    .cache_invalidate = rec_invalidate,
    .wait = rec_wait,
    .log = rec_log,
};

void demo_port_init(struct demo_port *p, bool device_side, bool noncoherent, const char *tag)
{
    *p = (struct demo_port){.notifies = 0};
    demo_hw_port(&p->hw, device_side, noncoherent, tag);
    bool has_cache_ops = p->hw.ops->cache_clean != NULL && p->hw.ops->cache_invalidate != NULL;
    p->port.ops = has_cache_ops ? &rec_ops_noncoherent : &rec_ops_coherent;
    p->port.ctx = p;
    demo_active = p;
}

bool demo_port_logged(const struct demo_port *p, int err)
{
    for (uint32_t i = 0; i < p->n_logged && i < DEMO_LOG_KEEP; i++) {
        if (p->logged_err[i] == err)
            return true;
    }
    return false;
}

uint64_t demo_now_ns(void)
{
    return demo_active->hw.ops->now_ns(demo_active->hw.ctx);
}

void demo_cache_clean(const void *addr, size_t len)
{
    if (demo_active != NULL && demo_active->hw.ops->cache_clean != NULL)
        demo_active->hw.ops->cache_clean(demo_active->hw.ctx, addr, len);
}

void demo_cache_invalidate(const void *addr, size_t len)
{
    if (demo_active != NULL && demo_active->hw.ops->cache_invalidate != NULL)
        demo_active->hw.ops->cache_invalidate(demo_active->hw.ctx, addr, len);
}

/* ---- the two compartments -------------------------------------------------------------------- */

int demo_start_driver(void)
{
    struct demo_mailbox *mb = demo_mailbox();
    atomic_store(&mb->drv_magic, 0u);
    atomic_store(&mb->drv_done, 0u);
    atomic_store(&mb->drv_result, 0);
    atomic_store(&mb->drv_rounds, 0u);
    atomic_store(&mb->drv_echo, 0u);
    atomic_store(&mb->dev_seq, 0u);
    if (demo_hw_start_driver() != 0) {
        demo_say("could not start the driver compartment", -1);
        return -1;
    }
    return 0;
}

_Noreturn void demo_driver_finish(int32_t result, uint32_t rounds)
{
    struct demo_mailbox *mb = demo_mailbox();
    atomic_store_explicit(&mb->drv_result, result, memory_order_relaxed);
    atomic_store_explicit(&mb->drv_rounds, rounds, memory_order_relaxed);
    atomic_store_explicit(&mb->drv_done, 1u, memory_order_release);
    if (demo_active != NULL)
        (void)demo_active->hw.ops->notify(demo_active->hw.ctx, demo_cfg.doorbell_to_device);
    demo_hw_park();
}

int demo_wait_driver_done(uint64_t timeout_ns)
{
    struct demo_mailbox *mb = demo_mailbox();
    const struct xcv_port *hw = &demo_active->hw;
    uint64_t deadline = hw->ops->now_ns(hw->ctx) + timeout_ns;
    while (atomic_load_explicit(&mb->drv_done, memory_order_acquire) == 0u) {
        if (hw->ops->now_ns(hw->ctx) >= deadline) {
            demo_say("timeout waiting for the driver compartment", -1);
            return -1;
        }
        (void)hw->ops->wait(hw->ctx, deadline);
    }
    return 0;
}
