/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The xcv_port of the ARMv8 port: doorbells are SGIs to the peer's CPU, the clock is the
 * generic timer, wait sleeps in WFI until a doorbell or the deadline, cache maintenance (for a
 * non-coherent window) is DC CVAC / DC IVAC by VA, and the log goes to the PL011.
 */
#include "xcvirtio/error.h"
#include "xcvirtio/port_armv8.h"

static int op_notify(void *ctx, uint32_t doorbell)
{
    struct xcv_armv8_port *p = ctx;
    if (doorbell > 15u)
        return XCV_EINVAL;
    p->notifies++;
    xcv_armv8_send_sgi(p->peer_mpidr, doorbell);
    return XCV_OK;
}

static uint64_t op_now_ns(void *ctx)
{
    (void)ctx;
    return xcv_armv8_now_ns();
}

static int op_wait(void *ctx, uint64_t deadline_ns)
{
    struct xcv_armv8_port *p = ctx;
    p->waits++;
    if (!xcv_armv8_wait_doorbell(deadline_ns))
        return XCV_ETIMEDOUT;
    /* The doorbell is consumed here: every caller polls its channel after a wait returns. */
    (void)xcv_armv8_doorbells_take();
    return XCV_OK;
}

static void op_clean(void *ctx, const void *addr, size_t len)
{
    (void)ctx;
    xcv_armv8_dcache_clean(addr, len);
}

static void op_invalidate(void *ctx, const void *addr, size_t len)
{
    (void)ctx;
    xcv_armv8_dcache_invalidate(addr, len);
}

static void op_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    static const char levels[] = "EWID";
    struct xcv_armv8_port *p = ctx;
    if (p->n_logged < XCV_ARMV8_LOG_KEEP) {
        p->logged_err[p->n_logged] = err;
        p->logged_what[p->n_logged] = what;
    }
    p->n_logged++;
    xcv_armv8_puts("[");
    xcv_armv8_puts(p->tag != NULL ? p->tag : "xcv");
    xcv_armv8_puts("] ");
    xcv_armv8_putc(levels[(unsigned)level & 3u]);
    xcv_armv8_puts(": ");
    xcv_armv8_puts(what);
    xcv_armv8_puts(" id=");
    xcv_armv8_put_dec(id);
    if (err != 0) {
        xcv_armv8_puts(" err=");
        xcv_armv8_puts(xcv_strerror(err));
    }
    xcv_armv8_puts("\n");
}

static const struct xcv_port_ops ops_coherent = {
    .notify = op_notify,
    .now_ns = op_now_ns,
    .wait = op_wait,
    .log = op_log,
};

static const struct xcv_port_ops ops_noncoherent = {
    .notify = op_notify,
    .now_ns = op_now_ns,
    .cache_clean = op_clean,
    .cache_invalidate = op_invalidate,
    .wait = op_wait,
    .log = op_log,
};

void xcv_armv8_port_init(struct xcv_armv8_port *p, struct xcv_port *port, uint64_t peer_mpidr,
                         bool noncoherent, const char *tag)
{
    *p = (struct xcv_armv8_port){.peer_mpidr = peer_mpidr, .tag = tag};
    port->ops = noncoherent ? &ops_noncoherent : &ops_coherent;
    port->ctx = p;
}
