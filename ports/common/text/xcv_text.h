/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Console text for the bare-metal ports: strings (LF -> CRLF), hexadecimal and decimal numbers
 * written one character at a time through the port's putc. No buffer, no state, no libc.
 */
#ifndef XCV_PORTS_COMMON_TEXT_H
#define XCV_PORTS_COMMON_TEXT_H

#include <stdint.h>

/* Write one character to the console (blocking until the UART takes it). */
typedef void (*xcv_text_putc_fn)(char c);

void xcv_text_puts(xcv_text_putc_fn putc, const char *s);
void xcv_text_put_hex(xcv_text_putc_fn putc, uint64_t v);
void xcv_text_put_dec(xcv_text_putc_fn putc, uint64_t v);
void xcv_text_put_int(xcv_text_putc_fn putc, int64_t v);

#endif /* XCV_PORTS_COMMON_TEXT_H */
