/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The xcv_port of the RISC-V port: the doorbell is the peer hart's software interrupt (CLINT
 * MSIP in M-mode, SBI IPI in S-mode), the clock is mtime / rdtime, wait sleeps in WFI until a
 * doorbell or the deadline, no cache operations (coherent harts), the log goes to the UART.
 */
#include "xcvirtio/error.h"
#include "xcvirtio/port_riscv.h"

static int op_notify(void *ctx, uint32_t doorbell)
{
    struct xcv_riscv_port *p = ctx;
    if (doorbell != XCV_RISCV_DOORBELL)
        return XCV_EINVAL;
    p->notifies++;
    return xcv_riscv_send_ipi(p->peer_hart) == 0 ? XCV_OK : XCV_EPORT;
}

static uint64_t op_now_ns(void *ctx)
{
    (void)ctx;
    return xcv_riscv_now_ns();
}

static int op_wait(void *ctx, uint64_t deadline_ns)
{
    struct xcv_riscv_port *p = ctx;
    p->waits++;
    if (!xcv_riscv_wait_doorbell(deadline_ns))
        return XCV_ETIMEDOUT;
    /* The doorbell is consumed here: every caller polls its channel after a wait returns. */
    (void)xcv_riscv_doorbells_take();
    return XCV_OK;
}

static void op_log(void *ctx, enum xcv_log_level level, const char *what, uint32_t id, int err)
{
    static const char levels[] = "EWID";
    struct xcv_riscv_port *p = ctx;
    if (p->n_logged < XCV_RISCV_LOG_KEEP) {
        p->logged_err[p->n_logged] = err;
        p->logged_what[p->n_logged] = what;
    }
    p->n_logged++;
    xcv_riscv_puts("[");
    xcv_riscv_puts(p->tag != NULL ? p->tag : "xcv");
    xcv_riscv_puts("] ");
    xcv_riscv_putc(levels[(unsigned)level & 3u]);
    xcv_riscv_puts(": ");
    xcv_riscv_puts(what);
    xcv_riscv_puts(" id=");
    xcv_riscv_put_dec(id);
    if (err != 0) {
        xcv_riscv_puts(" err=");
        xcv_riscv_puts(xcv_strerror(err));
    }
    xcv_riscv_puts("\n");
}

static const struct xcv_port_ops ops = {
    .notify = op_notify,
    .now_ns = op_now_ns,
    .wait = op_wait,
    .log = op_log,
};

void xcv_riscv_port_init(struct xcv_riscv_port *p, struct xcv_port *port, uint32_t peer_hart,
                         const char *tag)
{
    *p = (struct xcv_riscv_port){.peer_hart = peer_hart, .tag = tag};
    port->ops = &ops;
    port->ctx = p;
}
