/* SPDX-License-Identifier: MIT */

#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nt_buf_reserve(nt_buf_t *b, size_t extra) {
  if (b->failed)
    return -1;
  if (b->len + extra + 1 <= b->size)
    return 0;
  size_t size = b->size ? b->size : 256;
  while (size < b->len + extra + 1)
    size *= 2;
  char *data = realloc(b->data, size);
  if (data == NULL) {
    b->failed = 1;
    return -1;
  }
  b->data = data;
  b->size = size;
  return 0;
}

int nt_buf_append(nt_buf_t *b, const char *s, size_t len) {
  if (nt_buf_reserve(b, len) != 0)
    return -1;
  memcpy(b->data + b->len, s, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

int nt_buf_puts(nt_buf_t *b, const char *s) {
  return nt_buf_append(b, s, strlen(s));
}

int nt_buf_printf(nt_buf_t *b, const char *fmt, ...) {
  /* Formatted once when it fits (the usual case), again once there is
   * room when it did not. */
  if (nt_buf_reserve(b, 64) != 0)
    return -1;
  size_t room = b->size - b->len;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->data + b->len, room, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n >= room && nt_buf_reserve(b, (size_t)n) == 0) {
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
  } else if (n < 0 || (size_t)n >= room) {
    b->data[b->len] = '\0';
    return -1;
  }
  b->len += (size_t)n;
  return 0;
}

void nt_buf_reset(nt_buf_t *b) {
  b->len = 0;
  b->failed = 0;
  if (b->data != NULL)
    b->data[0] = '\0';
}

void nt_buf_free(nt_buf_t *b) {
  free(b->data);
  *b = (nt_buf_t)NT_BUF_INIT;
}

int nt_buf_hex(nt_buf_t *b, const char *data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  if (len == 0)
    return nt_buf_append(b, "-", 1);
  if (nt_buf_reserve(b, 2 * len) != 0)
    return -1;
  char *out = b->data + b->len;
  for (size_t i = 0; i < len; i++) {
    *out++ = digits[(unsigned char)data[i] >> 4];
    *out++ = digits[(unsigned char)data[i] & 15];
  }
  *out = '\0';
  b->len += 2 * len;
  return 0;
}

static int hex_value(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                : -1;
}

long nt_unhex(const char *hex, size_t hex_len, char *out, size_t size) {
  if (hex_len == 1 && hex[0] == '-')
    return 0;
  if (hex_len == 0 || hex_len % 2 != 0 || hex_len / 2 > size)
    return -1;
  for (size_t i = 0; i < hex_len; i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out[i / 2] = (char)(hi << 4 | lo);
  }
  return (long)(hex_len / 2);
}

char *nt_buf_steal(nt_buf_t *b, size_t *len) {
  if (b->failed) {
    nt_buf_free(b);
    return NULL;
  }
  if (b->data == NULL && nt_buf_append(b, "", 0) != 0)
    return NULL;
  char *data = b->data;
  if (len != NULL)
    *len = b->len;
  *b = (nt_buf_t)NT_BUF_INIT;
  return data;
}
