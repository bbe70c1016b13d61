/* SPDX-License-Identifier: MIT
 *
 * A growable byte buffer: rendering and JSON output append to one of these
 * so that no step needs a fixed-size scratch array that could truncate. */
#ifndef NT_BUF_H
#define NT_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
  char *data; /* always NUL-terminated when not NULL */
  size_t len;
  size_t size;
  int failed; /* an allocation failed: later appends are no-ops */
} nt_buf_t;

#define NT_BUF_INIT                                                            \
  { NULL, 0, 0, 0 }

/* Room for extra more bytes (and the NUL): 0, or -1 when out of memory
 * (the buffer has failed). */
int nt_buf_reserve(nt_buf_t *b, size_t extra);
int nt_buf_append(nt_buf_t *b, const char *s, size_t len);
int nt_buf_puts(nt_buf_t *b, const char *s);
int nt_buf_printf(nt_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void nt_buf_reset(nt_buf_t *b);
void nt_buf_free(nt_buf_t *b);
/* Appends len bytes of data as lower-case hexadecimal ("-" for none). */
int nt_buf_hex(nt_buf_t *b, const char *data, size_t len);
/* Decodes the hexadecimal hex of hex_len digits ("-": none) into out (at
 * most size bytes); the length, or -1. */
long nt_unhex(const char *hex, size_t hex_len, char *out, size_t size);
/* Hands the data over to the caller (who frees it) and empties the buffer. */
char *nt_buf_steal(nt_buf_t *b, size_t *len);

#endif
