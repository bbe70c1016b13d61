/* SPDX-License-Identifier: MIT
 *
 * Spool entries read back from disk: whatever a file holds (cut short,
 * corrupt, crafted, an older format), decoding never goes wrong, what
 * decodes is what encode could have written (a 24-hex TaskID, one-line
 * Task name), and it survives an encode/decode round trip.
 *
 * Each input is decoded twice: as it is (so the checksum test is
 * exercised), and with its checksum line made right (recomputed over the
 * input less a trailing "crc32 ..." line, else appended), so that the
 * header and body parsing behind the checksum is reached. */
#include "fuzz_util.h"

#include "../../plugin/spool.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>

#define CRC_LINE 15 /* "crc32 xxxxxxxx\n" */

/* CRC-32 (IEEE 802.3), as the spool's format says. */
static uint32_t crc32_ieee(const uint8_t *data, size_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc & 1u) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
  }
  return ~crc;
}

static char *copy_of(const void *data, size_t len) {
  char *c = malloc(len ? len : 1); /* exact size: overreads are caught */
  if (c == NULL)
    abort();
  memcpy(c, data, len);
  return c;
}

/* What arrival reads back as after encoding ("%.6f"). */
static double normalized(double arrival) {
  char text[400];
  snprintf(text, sizeof(text), "%.6f", arrival);
  return strtod(text, NULL);
}

static bool is_task_id(const char *s) {
  if (strlen(s) != 24)
    return false;
  for (size_t i = 0; i < 24; i++)
    if (!isxdigit((unsigned char)s[i]))
      return false;
  return true;
}

static void round_trip(const nt_spool_entry_t *e) {
  FUZZ_CHECK(e->task != NULL && e->task[0] != '\0');
  FUZZ_CHECK(strchr(e->task, '\n') == NULL);
  FUZZ_CHECK(e->task_id != NULL && is_task_id(e->task_id));
  FUZZ_CHECK(isfinite(e->arrival) && e->arrival >= 0);
  FUZZ_CHECK(e->body != NULL && e->body[e->body_len] == '\0');

  size_t len1 = 0;
  char *enc1 = nt_spool_encode(e, &len1);
  FUZZ_CHECK(enc1 != NULL);
  char *data = copy_of(enc1, len1);
  nt_spool_entry_t e2;
  const char *why = NULL;
  int status = nt_spool_decode(data, len1, &e2, &why);
  if (status != 0)
    fprintf(stderr, "re-encoded entry does not decode: %s\n", why);
  FUZZ_CHECK(status == 0);
  FUZZ_CHECK(e2.seq == e->seq);
  FUZZ_CHECK(e2.attempts == e->attempts);
  FUZZ_CHECK(strcmp(e2.task, e->task) == 0);
  FUZZ_CHECK(strcmp(e2.task_id, e->task_id) == 0);
  FUZZ_CHECK(e2.body_len == e->body_len);
  FUZZ_CHECK(memcmp(e2.body, e->body, e->body_len) == 0);
  FUZZ_CHECK(e2.arrival == normalized(e->arrival));

  /* Once normalized, encoding is stable to the byte. */
  size_t len2 = 0;
  char *enc2 = nt_spool_encode(&e2, &len2);
  FUZZ_CHECK(enc2 != NULL && len2 == len1 && memcmp(enc1, enc2, len1) == 0);
  free(enc2);
  free(data);
  free(enc1);
}

static void decode(char *data, size_t len) {
  nt_spool_entry_t e;
  const char *why = NULL;
  if (nt_spool_decode(data, len, &e, &why) == 0) {
    FUZZ_CHECK(e.body >= data && e.body + e.body_len < data + len);
    FUZZ_CHECK(e.task >= data && e.task < data + len);
    FUZZ_CHECK(e.task_id >= data && e.task_id < data + len);
    round_trip(&e);
  } else {
    FUZZ_CHECK(why != NULL && why[0] != '\0');
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *raw = copy_of(data, size);
  decode(raw, size);
  free(raw);

  size_t keep = size;
  if (size >= CRC_LINE && memcmp(data + size - CRC_LINE, "crc32 ", 6) == 0 &&
      data[size - 1] == '\n')
    keep = size - CRC_LINE;
  char *fixed = malloc(keep + CRC_LINE + 1);
  if (fixed == NULL)
    abort();
  memcpy(fixed, data, keep);
  snprintf(fixed + keep, CRC_LINE + 1, "crc32 %08" PRIx32 "\n",
           crc32_ieee(data, keep));
  decode(fixed, keep + CRC_LINE);
  free(fixed);
  return 0;
}
