/* SPDX-License-Identifier: Apache-2.0 */
/* Console text for the bare-metal ports (see xcv_text.h). */
#include "xcv_text.h"

void xcv_text_puts(xcv_text_putc_fn putc, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n')
            putc('\r');
        putc(*s);
    }
}

void xcv_text_put_hex(xcv_text_putc_fn putc, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    xcv_text_puts(putc, "0x");
    int shift = 60;
    while (shift > 0 && ((v >> shift) & 0xfu) == 0u)
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        putc(digits[(v >> shift) & 0xfu]);
}

void xcv_text_put_dec(xcv_text_putc_fn putc, uint64_t v)
{
    char buf[21];
    unsigned n = 0;
    do {
        buf[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n > 0u)
        putc(buf[--n]);
}

void xcv_text_put_int(xcv_text_putc_fn putc, int64_t v)
{
    if (v < 0) {
        putc('-');
        xcv_text_put_dec(putc, (uint64_t)0 - (uint64_t)v);
    } else {
        xcv_text_put_dec(putc, (uint64_t)v);
    }
}
