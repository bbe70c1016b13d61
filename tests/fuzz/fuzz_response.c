/* SPDX-License-Identifier: MIT
 *
 * The supervisor's answer: status line, header lines (the
 * Retry-After, seconds or an HTTP date) and body (a job, or an
 * error as a JSON string or a {statusCode, message} object).
 *
 * Input: an HTTP response, "HTTP/1.1 503 Busy\r\nRetry-After: 120\r\n\r\n"
 * then the body. A first line that does not start with "HTTP/" is no
 * answer at all: its first byte picks a libcurl error code, its second how
 * many times the request was written. Header lines go to
 * nt_retry_after_header as libcurl hands them over (CRLF included). */
/* memmem */
#define _GNU_SOURCE

#include "fuzz_util.h"

#include "../../plugin/outcome.h"

#include <curl/curl.h>
#include <math.h>
#include <strings.h>

/* 2025-11-28 12:00:00 UTC: "now" for HTTP dates. */
#define NOW ((time_t)1764331200)

static void check_retry_after(double v, bool from_header) {
  FUZZ_CHECK(!isnan(v));
  FUZZ_CHECK(v == -1 || v >= 0 || (from_header && v == NT_NOT_RETRY_AFTER));
  /* A header line is at most 127 bytes of value: always a finite wait. */
  if (from_header)
    FUZZ_CHECK(isfinite(v));
}

static void check_printable(const char *s, size_t size) {
  const char *nul = memchr(s, '\0', size);
  FUZZ_CHECK(nul != NULL);
  for (const char *p = s; p < nul; p++)
    FUZZ_CHECK(*p >= 0x20 && *p < 0x7F);
}

static void header_line(const uint8_t *line, size_t len, double *retry_after) {
  /* Exact size: nothing past the line may be read. */
  char *copy = malloc(len ? len : 1);
  if (copy == NULL)
    abort();
  memcpy(copy, line, len);
  double v = nt_retry_after_header(copy, len, NOW);
  check_retry_after(v, true);
  if (v != NT_NOT_RETRY_AFTER)
    *retry_after = v;
  free(copy);

  /* The value alone, as a string, whatever the header's name. */
  const uint8_t *colon = memchr(line, ':', len);
  size_t off = colon ? (size_t)(colon - line) + 1 : 0;
  char *value = strndup((const char *)line + off, len - off);
  if (value == NULL)
    abort();
  check_retry_after(nt_retry_after_parse(value, NOW), false);
  check_retry_after(nt_retry_after_parse(value, 0), false);
  free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nt_http_result_t r = {.retry_after = -1};

  /* The head ends at the first empty line. */
  const uint8_t *sep = memmem(data, size, "\r\n\r\n", 4);
  size_t head_len = sep ? (size_t)(sep - data) + 2 : 0;
  size_t body_off = sep ? head_len + 2 : 0;
  if (sep == NULL) {
    sep = memmem(data, size, "\n\n", 2);
    head_len = sep ? (size_t)(sep - data) + 1 : size;
    body_off = sep ? head_len + 1 : size;
  }

  size_t start = 0;
  bool first = true;
  while (start < head_len) {
    const uint8_t *nl = memchr(data + start, '\n', head_len - start);
    size_t end = nl ? (size_t)(nl - data) + 1 : head_len;
    if (first) {
      first = false;
      if (end - start >= 5 && memcmp(data + start, "HTTP/", 5) == 0) {
        const uint8_t *sp = memchr(data + start, ' ', end - start);
        long status = 0;
        for (const uint8_t *p = sp ? sp + 1 : data + end;
             p < data + end && *p >= '0' && *p <= '9' && status < 100000; p++)
          status = status * 10 + (*p - '0');
        r.status = status;
        r.curl_code = CURLE_OK;
        r.writes = 1;
        start = end;
        continue;
      }
      if (size >= 2) {
        /* Answers a proxy may give to CONNECT, none among them too. */
        static const long tunnel[] = {0, 200, 301, 403, 407, 502, 503, 999};
        r.curl_code = data[0] % (CURL_LAST + 1);
        r.writes = data[1] % 4;
        r.connect_status = tunnel[(data[1] >> 2) % 8];
      }
    }
    header_line(data + start, end - start, &r.retry_after);
    start = end;
  }

  /* The body, not NUL-terminated: a read past it is caught. */
  r.body_len = size - body_off;
  r.body = malloc(r.body_len ? r.body_len : 1);
  if (r.body == NULL)
    abort();
  memcpy(r.body, data + body_off, r.body_len);

  nt_job_info_t job;
  memset(&job, 0xA5, sizeof(job));
  nt_outcome_t o = nt_outcome_classify(&r, &job);
  FUZZ_CHECK(o >= NT_SENT && o <= NT_ABORTED);
  FUZZ_CHECK(strcmp(nt_outcome_name(o), "unknown") != 0);
  FUZZ_CHECK(nt_outcome_attempts(o, &r) <= r.writes + 1);
  /* Every write counts but the last one before a "not delivered" answer. */
  FUZZ_CHECK(nt_outcome_attempts(o, &r) +
                 (o == NT_NOT_DELIVERED && r.status > 0) >=
             r.writes);
  if (r.curl_code == CURLE_OK && r.status >= 200 && r.status < 300) {
    FUZZ_CHECK(o == NT_SENT || o == NT_SENT_NO_JOB || o == NT_REJECTED);
    FUZZ_CHECK((o != NT_SENT_NO_JOB) == job.is_job);
  }

  nt_json_parse_job(r.body, r.body_len, &job);
  if (job.is_job) {
    check_printable(job.id, sizeof(job.id));
    check_printable(job.lifecycle, sizeof(job.lifecycle));
    check_printable(job.state, sizeof(job.state));
  } else {
    FUZZ_CHECK(!job.rejected && job.id[0] == '\0');
  }

  /* The error message, into buffers of every small size and a real one,
   * each allocated to the byte. */
  static const size_t sizes[] = {1, 2, 3, 4, 5, 6, 17, 256};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    char *msg = malloc(sizes[i]);
    if (msg == NULL)
      abort();
    nt_json_error_message(r.body, r.body_len, msg, sizes[i]);
    check_printable(msg, sizes[i]);
    free(msg);
  }

  free(r.body);
  return 0;
}
