#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buf_reserve(nt_buf_t *b, size_t extra) {
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
  if (buf_reserve(b, len) != 0)
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
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || buf_reserve(b, (size_t)n) != 0)
    return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
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
