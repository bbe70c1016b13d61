/* SPDX-License-Identifier: MIT
 *
 * Helpers shared by the fuzz targets: checks that abort (so libFuzzer
 * reports them as crashes), and input splitting. */
#ifndef NT_FUZZ_UTIL_H
#define NT_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property of the code under test does not hold: report and abort. */
#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past
 * U+10FFFF, no cut-off sequences. Written independently of json.c. */
static inline bool fuzz_utf8_valid(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    uint32_t cp;
    size_t n;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      n = 1;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      n = 2;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      n = 3;
    } else {
      return false;
    }
    if (len - i <= n)
      return false;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

/* Cuts data at every sep byte: up to max pieces, the last one takes the
 * rest. Returns the number of pieces (at least 1). */
static inline size_t fuzz_split(const uint8_t *data, size_t size, uint8_t sep,
                                const uint8_t **pieces, size_t *lens,
                                size_t max) {
  size_t n = 0, start = 0;
  for (size_t i = 0; i < size && n + 1 < max; i++) {
    if (data[i] == sep) {
      pieces[n] = data + start;
      lens[n++] = i - start;
      start = i + 1;
    }
  }
  pieces[n] = data + start;
  lens[n++] = size - start;
  return n;
}

#endif
