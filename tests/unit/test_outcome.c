/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/outcome.c: what each answer means for a job,
 * attempts, proxies' answers to CONNECT, backoff (and its jitter: the
 * bounds of every wait) and Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/outcome.h"
#include "fake_collectd.h"

#include <curl/curl.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#define JOB                                                                    \
  "{\"id\":\"6929a7c0e4b0a1b2c3d4e5f6\",\"lifecycle\":\"ready\","              \
  "\"state\":\"in_progress\"}"

static nt_http_result_t answer(long status, const char *body) {
  nt_http_result_t r = {.curl_code = CURLE_OK,
                        .status = status,
                        .writes = 1,
                        .retry_after = -1,
                        .body = (char *)body,
                        .body_len = body ? strlen(body) : 0};
  return r;
}

static nt_http_result_t failure(CURLcode code, unsigned writes) {
  nt_http_result_t r = {
      .curl_code = code, .status = 0, .writes = writes, .retry_after = -1};
  return r;
}

static void expect_status(long status, const char *body, nt_outcome_t want) {
  nt_http_result_t r = answer(status, body);
  nt_outcome_t got = nt_outcome_classify(&r, NULL);
  if (got != want)
    fail_msg("HTTP %ld: %s, expected %s", status, nt_outcome_name(got),
             nt_outcome_name(want));
}

static void expect_curl(CURLcode code, unsigned writes, nt_outcome_t want) {
  nt_http_result_t r = failure(code, writes);
  nt_outcome_t got = nt_outcome_classify(&r, NULL);
  if (got != want)
    fail_msg("%s with %u writes: %s, expected %s", curl_easy_strerror(code),
             writes, nt_outcome_name(got), nt_outcome_name(want));
}

/* ---- 2xx -------------------------------------------------------------- */

static void test_2xx(void **state) {
  (void)state;
  nt_http_result_t r = answer(200, JOB);
  nt_job_info_t job;
  memset(&job, 0, sizeof(job));
  assert_int_equal(nt_outcome_classify(&r, &job), NT_SENT);
  assert_true(job.is_job);
  assert_string_equal(job.id, "6929a7c0e4b0a1b2c3d4e5f6");
  assert_string_equal(job.lifecycle, "ready");
  assert_string_equal(job.state, "in_progress");
  expect_status(201, JOB, NT_SENT);
  expect_status(299, JOB, NT_SENT);

  expect_status(200, "", NT_SENT_NO_JOB);
  expect_status(200, NULL, NT_SENT_NO_JOB);
  expect_status(200, "ok", NT_SENT_NO_JOB);
  expect_status(200, "[]", NT_SENT_NO_JOB);
  expect_status(204, NULL, NT_SENT_NO_JOB);
  expect_status(200, "{\"message\":\"queued\"}", NT_SENT_NO_JOB);

  r = answer(200, "{\"id\":\"j\",\"lifecycle\":\"terminated\"}");
  memset(&job, 0, sizeof(job));
  assert_int_equal(nt_outcome_classify(&r, &job), NT_REJECTED);
  assert_true(job.rejected);
  assert_string_equal(job.id, "j");
  expect_status(200, "{\"id\":\"j\",\"state\":\"error\"}", NT_REJECTED);
}

static void test_2xx_body_by_length(void **state) {
  (void)state;
  /* The body is read by length: bytes past body_len are not part of it. */
  nt_http_result_t r = answer(200, JOB "trailing");
  r.body_len = strlen(JOB);
  assert_int_equal(nt_outcome_classify(&r, NULL), NT_SENT);
  r.body_len = 5;
  assert_int_equal(nt_outcome_classify(&r, NULL), NT_SENT_NO_JOB);
}

/* ---- Other statuses --------------------------------------------------- */

/* A 2xx status line came, then the transfer failed (a body that does not
 * decode, a timeout, a reset, shutdown): the job exists, never resend. */
static void test_2xx_then_failure_is_sent(void **state) {
  (void)state;
  static const CURLcode codes[] = {CURLE_BAD_CONTENT_ENCODING,
                                   CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR,
                                   CURLE_ABORTED_BY_CALLBACK};
  for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
    nt_http_result_t r = answer(200, "{\"id\":\"6929a7c0e4b0a1b2c3d4");
    r.curl_code = codes[i];
    assert_int_equal(nt_outcome_classify(&r, NULL), NT_SENT_NO_JOB);
    r = answer(200, JOB);
    r.curl_code = codes[i];
    assert_int_equal(nt_outcome_classify(&r, NULL), NT_SENT);
  }
  /* Without a status line, a failure after the write is still unknown. */
  expect_curl(CURLE_BAD_CONTENT_ENCODING, 1, NT_MAYBE_DELIVERED);
}

static void test_4xx_permanent(void **state) {
  (void)state;
  static const long permanent[] = {400, 401, 403, 404, 405, 409, 410,
                                   413, 415, 418, 422, 451, 499};
  for (size_t i = 0; i < sizeof(permanent) / sizeof(*permanent); i++)
    expect_status(permanent[i], "{\"message\":\"no\"}", NT_PERMANENT);
  expect_status(408, NULL, NT_MAYBE_DELIVERED);
  expect_status(429, NULL, NT_NOT_DELIVERED);
}

static void test_5xx(void **state) {
  (void)state;
  expect_status(502, NULL, NT_NOT_DELIVERED);
  expect_status(503, NULL, NT_NOT_DELIVERED);
  expect_status(500, NULL, NT_MAYBE_DELIVERED);
  expect_status(501, NULL, NT_MAYBE_DELIVERED);
  expect_status(504, NULL, NT_MAYBE_DELIVERED);
  expect_status(505, NULL, NT_MAYBE_DELIVERED);
  expect_status(599, NULL, NT_MAYBE_DELIVERED);
  /* Even with a job-like body: not a 2xx. */
  expect_status(500, JOB, NT_MAYBE_DELIVERED);
}

static void test_3xx_permanent(void **state) {
  (void)state;
  expect_status(300, NULL, NT_PERMANENT);
  expect_status(301, NULL, NT_PERMANENT);
  expect_status(302, NULL, NT_PERMANENT);
  expect_status(307, NULL, NT_PERMANENT);
  expect_status(308, NULL, NT_PERMANENT);
  expect_status(304, NULL, NT_PERMANENT);
}

static void test_other_status_by_writes(void **state) {
  (void)state;
  /* Anything else: by whether the request was written. */
  nt_http_result_t r = answer(100, NULL);
  r.writes = 0;
  assert_int_equal(nt_outcome_classify(&r, NULL), NT_NOT_DELIVERED);
  r.writes = 1;
  assert_int_equal(nt_outcome_classify(&r, NULL), NT_MAYBE_DELIVERED);
  r = answer(600, NULL);
  assert_int_equal(nt_outcome_classify(&r, NULL), NT_MAYBE_DELIVERED);
}

/* ---- libcurl failures ------------------------------------------------- */

static void test_not_delivered_failures(void **state) {
  (void)state;
  expect_curl(CURLE_COULDNT_CONNECT, 0, NT_NOT_DELIVERED);
  expect_curl(CURLE_COULDNT_RESOLVE_HOST, 0, NT_NOT_DELIVERED);
  expect_curl(CURLE_COULDNT_RESOLVE_PROXY, 0, NT_NOT_DELIVERED);
  /* A connect timeout: nothing was written. */
  expect_curl(CURLE_OPERATION_TIMEDOUT, 0, NT_NOT_DELIVERED);
}

static void test_maybe_delivered_failures(void **state) {
  (void)state;
  /* The request went out before the timeout. */
  expect_curl(CURLE_OPERATION_TIMEDOUT, 1, NT_MAYBE_DELIVERED);
  expect_curl(CURLE_GOT_NOTHING, 1, NT_MAYBE_DELIVERED);
  expect_curl(CURLE_GOT_NOTHING, 0, NT_MAYBE_DELIVERED);
  expect_curl(CURLE_SEND_ERROR, 0, NT_NOT_DELIVERED);
  expect_curl(CURLE_SEND_ERROR, 1, NT_MAYBE_DELIVERED);
  expect_curl(CURLE_RECV_ERROR, 0, NT_NOT_DELIVERED);
  expect_curl(CURLE_RECV_ERROR, 1, NT_MAYBE_DELIVERED);
  expect_curl(CURLE_RECV_ERROR, 2, NT_MAYBE_DELIVERED);
  /* Anything else: by the writes, too. */
  expect_curl(CURLE_PARTIAL_FILE, 0, NT_NOT_DELIVERED);
  expect_curl(CURLE_PARTIAL_FILE, 1, NT_MAYBE_DELIVERED);
}

static void test_permanent_failures(void **state) {
  (void)state;
  expect_curl(CURLE_PEER_FAILED_VERIFICATION, 0, NT_PERMANENT);
  expect_curl(CURLE_URL_MALFORMAT, 0, NT_PERMANENT);
  expect_curl(CURLE_UNSUPPORTED_PROTOCOL, 0, NT_PERMANENT);
  expect_curl(CURLE_SSL_CACERT_BADFILE, 0, NT_PERMANENT);
}

static void test_aborted(void **state) {
  (void)state;
  expect_curl(CURLE_ABORTED_BY_CALLBACK, 0, NT_ABORTED);
  expect_curl(CURLE_ABORTED_BY_CALLBACK, 1, NT_ABORTED);
}

static void test_names(void **state) {
  (void)state;
  const nt_outcome_t all[] = {
      NT_SENT,          NT_SENT_NO_JOB,     NT_REJECTED, NT_PERMANENT,
      NT_NOT_DELIVERED, NT_MAYBE_DELIVERED, NT_ABORTED};
  for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++) {
    const char *name = nt_outcome_name(all[i]);
    assert_non_null(name);
    assert_true(strlen(name) > 0);
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(name, nt_outcome_name(all[j]));
  }
}

/* ---- Attempts --------------------------------------------------------- */

static void test_attempts(void **state) {
  (void)state;
  /* A 503 after libcurl's silent resend on a fresh connection: the first
   * write may have been seen, the answered one was not processed. */
  nt_http_result_t r = answer(503, NULL);
  r.writes = 2;
  nt_outcome_t o = nt_outcome_classify(&r, NULL);
  assert_int_equal(o, NT_NOT_DELIVERED);
  assert_int_equal(nt_outcome_attempts(o, &r), 1);
  r.writes = 1;
  assert_int_equal(nt_outcome_attempts(o, &r), 0);

  /* Refused before anything was written: nothing spent. */
  r = failure(CURLE_COULDNT_CONNECT, 0);
  assert_int_equal(nt_outcome_attempts(nt_outcome_classify(&r, NULL), &r), 0);

  /* Maybe delivered: every write counts. */
  r = answer(500, NULL);
  r.writes = 2;
  o = nt_outcome_classify(&r, NULL);
  assert_int_equal(o, NT_MAYBE_DELIVERED);
  assert_int_equal(nt_outcome_attempts(o, &r), 2);
  r.writes = 1;
  assert_int_equal(nt_outcome_attempts(o, &r), 1);
  r = failure(CURLE_OPERATION_TIMEDOUT, 1);
  assert_int_equal(nt_outcome_attempts(nt_outcome_classify(&r, NULL), &r), 1);

  /* Maybe delivered without a counted write: still one, to be safe. */
  r = failure(CURLE_GOT_NOTHING, 0);
  assert_int_equal(nt_outcome_attempts(nt_outcome_classify(&r, NULL), &r), 1);

  /* Sent and permanent: the writes. */
  r = answer(200, JOB);
  assert_int_equal(nt_outcome_attempts(nt_outcome_classify(&r, NULL), &r), 1);
  r = answer(404, NULL);
  r.writes = 2;
  assert_int_equal(nt_outcome_attempts(nt_outcome_classify(&r, NULL), &r), 2);
}

/* A write on a reused connection that died without an answer, then
 * libcurl's resend could not connect: the first write may have been
 * processed. */
static void test_attempts_write_then_failed_reconnect(void **state) {
  (void)state;
  static const CURLcode connect_failures[] = {CURLE_COULDNT_CONNECT,
                                              CURLE_COULDNT_RESOLVE_HOST,
                                              CURLE_COULDNT_RESOLVE_PROXY};
  for (size_t i = 0; i < sizeof(connect_failures) / sizeof(*connect_failures);
       i++) {
    nt_http_result_t r = failure(connect_failures[i], 1);
    nt_outcome_t o = nt_outcome_classify(&r, NULL);
    assert_int_equal(o, NT_MAYBE_DELIVERED);
    assert_int_equal(nt_outcome_attempts(o, &r), 1);
    r.writes = 0;
    o = nt_outcome_classify(&r, NULL);
    assert_int_equal(o, NT_NOT_DELIVERED);
    assert_int_equal(nt_outcome_attempts(o, &r), 0);
  }
}

/* The resend nt_http_post refuses ends as an empty reply after the write:
 * it counts. */
static void test_attempts_resend_refused(void **state) {
  (void)state;
  nt_http_result_t r = failure(CURLE_GOT_NOTHING, 1);
  nt_outcome_t o = nt_outcome_classify(&r, NULL);
  assert_int_equal(o, NT_MAYBE_DELIVERED);
  assert_int_equal(nt_outcome_attempts(o, &r), 1);
  r.writes = 2;
  assert_int_equal(nt_outcome_attempts(o, &r), 2);
}

/* ---- Proxies ---------------------------------------------------------- */

/* libcurl's failure after the proxy answered CONNECT with connect_status. */
static nt_http_result_t tunnel(CURLcode code, long connect_status,
                               unsigned writes) {
  nt_http_result_t r = failure(code, writes);
  r.connect_status = connect_status;
  return r;
}

static void expect_tunnel(CURLcode code, long connect_status, unsigned writes,
                          nt_outcome_t want, unsigned attempts) {
  nt_http_result_t r = tunnel(code, connect_status, writes);
  nt_outcome_t got = nt_outcome_classify(&r, NULL);
  if (got != want)
    fail_msg("%s after CONNECT %ld, %u writes: %s, expected %s",
             curl_easy_strerror(code), connect_status, writes,
             nt_outcome_name(got), nt_outcome_name(want));
  if (nt_outcome_attempts(got, &r) != attempts)
    fail_msg("%s after CONNECT %ld, %u writes: %u attempts, expected %u",
             curl_easy_strerror(code), connect_status, writes,
             nt_outcome_attempts(got, &r), attempts);
}

static void test_tunnel_refused(void **state) {
  (void)state;
  /* The POST never went out: no attempt spent, retried until MaxAge. What
   * libcurl returns for a failed tunnel differs between versions. */
  static const long refusals[] = {502, 503, 504, 500, 403, 404, 400, 301};
  for (size_t i = 0; i < sizeof(refusals) / sizeof(*refusals); i++) {
    expect_tunnel(CURLE_RECV_ERROR, refusals[i], 0, NT_NOT_DELIVERED, 0);
    expect_tunnel(CURLE_COULDNT_CONNECT, refusals[i], 0, NT_NOT_DELIVERED, 0);
  }
  /* The POST went out on a reused tunnel that died; the new tunnel was
   * refused: the write counts. */
  expect_tunnel(CURLE_RECV_ERROR, 503, 1, NT_MAYBE_DELIVERED, 1);
  expect_tunnel(CURLE_RECV_ERROR, 502, 1, NT_MAYBE_DELIVERED, 1);
}

static void test_tunnel_auth_required(void **state) {
  (void)state;
  /* 407: the Proxy option lacks valid credentials; retrying cannot help. */
  expect_tunnel(CURLE_RECV_ERROR, 407, 0, NT_PERMANENT, 0);
  expect_tunnel(CURLE_COULDNT_CONNECT, 407, 0, NT_PERMANENT, 0);
}

static void test_tunnel_open(void **state) {
  (void)state;
  /* Once the tunnel is open, the supervisor's answer decides as usual. */
  nt_http_result_t r = answer(503, NULL);
  r.connect_status = 200;
  nt_outcome_t o = nt_outcome_classify(&r, NULL);
  assert_int_equal(o, NT_NOT_DELIVERED);
  assert_int_equal(nt_outcome_attempts(o, &r), 0);
  r = answer(200, JOB);
  r.connect_status = 200;
  assert_int_equal(nt_outcome_classify(&r, NULL), NT_SENT);
  /* A 407 from the supervisor itself, not the proxy: a 4xx answer. */
  r = answer(407, NULL);
  assert_int_equal(nt_outcome_classify(&r, NULL), NT_PERMANENT);
  assert_int_equal(nt_outcome_attempts(NT_PERMANENT, &r), 1);
  /* A failure inside the open tunnel: by the writes. */
  expect_tunnel(CURLE_RECV_ERROR, 200, 1, NT_MAYBE_DELIVERED, 1);
  expect_tunnel(CURLE_RECV_ERROR, 200, 0, NT_NOT_DELIVERED, 0);
  expect_tunnel(CURLE_GOT_NOTHING, 200, 1, NT_MAYBE_DELIVERED, 1);
  expect_tunnel(CURLE_OPERATION_TIMEDOUT, 200, 1, NT_MAYBE_DELIVERED, 1);
  /* A TLS verification failure through the tunnel stays permanent. */
  expect_tunnel(CURLE_PEER_FAILED_VERIFICATION, 200, 0, NT_PERMANENT, 0);
  /* Shutdown wins over anything the proxy said. */
  expect_tunnel(CURLE_ABORTED_BY_CALLBACK, 503, 0, NT_ABORTED, 0);
  expect_tunnel(CURLE_ABORTED_BY_CALLBACK, 407, 1, NT_ABORTED, 1);
}

/* ---- Backoff ---------------------------------------------------------- */

static void test_backoff_nominal(void **state) {
  (void)state;
  const double expected[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
  for (unsigned n = 1; n <= 9; n++)
    if (nt_backoff_nominal(1, 60, n) != expected[n - 1])
      fail_msg("nominal wait %u is %g, expected %g", n,
               nt_backoff_nominal(1, 60, n), expected[n - 1]);
  /* Huge counts neither overflow nor loop for long. */
  assert_true(nt_backoff_nominal(1, 60, 1000) == 60);
  assert_true(nt_backoff_nominal(1, 60, UINT_MAX) == 60);
  /* Fractions. */
  assert_true(nt_backoff_nominal(0.5, 3, 1) == 0.5);
  assert_true(nt_backoff_nominal(0.5, 3, 2) == 1);
  assert_true(nt_backoff_nominal(0.5, 3, 3) == 2);
  assert_true(nt_backoff_nominal(0.5, 3, 4) == 3);
  assert_true(nt_backoff_nominal(0.5, 3, 5) == 3);
  /* A cap below the interval caps the first wait too. */
  assert_true(nt_backoff_nominal(10, 4, 1) == 4);
}

static void test_backoff_jitter(void **state) {
  (void)state;
  assert_true(nt_backoff_jitter(8, 0) == 4);
  assert_true(nt_backoff_jitter(8, 0.5) == 6);
  double high = nt_backoff_jitter(8, 0.999);
  assert_true(high < 8);
  assert_true(high >= 4);
  assert_true(high > 7.99);
  /* The largest u below 1: within [nominal/2, nominal] (the sum may round
   * to nominal itself, never above). */
  double top = nt_backoff_jitter(8, nextafter(1.0, 0.0));
  assert_true(top <= 8);
  assert_true(top > 7.99);
  for (int i = 0; i < 100; i++) {
    double w = nt_backoff_jitter(60, i / 100.0);
    assert_true(w >= 30 && w < 60);
  }
}

/* ---- Retry-After ------------------------------------------------------ */

/* Fri, 28 Nov 2025 12:00:00 GMT */
#define NOW ((time_t)1764331200)

static void expect_retry_after(const char *value, double want) {
  double got = nt_retry_after_parse(value, NOW);
  if (got != want)
    fail_msg("Retry-After \"%s\" gave %g, expected %g", value, got, want);
}

static void test_retry_after(void **state) {
  (void)state;
  expect_retry_after("120", 120);
  expect_retry_after("0", 0);
  expect_retry_after(" 5 ", 5);
  expect_retry_after("\t7", 7);
  expect_retry_after("86400", 86400);
  expect_retry_after("Fri, 28 Nov 2025 12:00:30 GMT", 30);
  expect_retry_after("Fri, 28 Nov 2025 13:00:00 GMT", 3600);
  expect_retry_after("Fri, 28 Nov 2025 12:00:00 GMT", 0);
  expect_retry_after("Fri, 28 Nov 2025 11:59:00 GMT", 0);
  expect_retry_after("Thu, 01 Jan 1970 00:00:01 GMT", 0);
  /* The two obsolete forms HTTP recipients must accept too. */
  expect_retry_after("Friday, 28-Nov-25 12:00:30 GMT", 30);
  expect_retry_after("Fri Nov 28 12:00:30 2025", 30);
}

static void test_retry_after_garbage(void **state) {
  (void)state;
  expect_retry_after("soon", -1);
  expect_retry_after("", -1);
  expect_retry_after("   ", -1);
  expect_retry_after("1.5", -1);
  expect_retry_after("-3", -1);
  expect_retry_after("1e3", -1);
  expect_retry_after("0x10", -1);
  expect_retry_after("12 apples", -1);
  expect_retry_after("5s", -1);
  expect_retry_after("+5", -1);
}

/* The shortest and longest waits over `steps` draws of u spread across
 * [0, 1). */
typedef struct {
  double low, high;
} span_t;

static span_t sweep(const nt_config_t *cfg, const nt_http_result_t *r,
                    unsigned failures, int steps) {
  span_t s = {INFINITY, 0};
  for (int i = 0; i < steps; i++) {
    double w = nt_retry_wait(cfg, r, failures, (double)i / steps);
    s.low = fmin(s.low, w);
    s.high = fmax(s.high, w);
  }
  return s;
}

static void test_retry_wait_bounds(void **state) {
  (void)state;
  nt_config_t cfg = {.retry_interval = 1, .max_retry_interval = 60};
  nt_http_result_t r = answer(503, "");
  /* Retry-After: 5 replaces the computed wait, exactly, whatever the
   * failures in a row. */
  r.retry_after = 5;
  for (unsigned n = 1; n <= 30; n++) {
    span_t s = sweep(&cfg, &r, n, 100);
    assert_true(s.low == 5 && s.high == 5);
  }
  /* Beyond MaxRetryInterval too. */
  r.retry_after = 600;
  assert_true(nt_retry_wait(&cfg, &r, 1, 0.9) == 600);
  /* Never below RetryInterval/2. */
  cfg.retry_interval = 2;
  r.retry_after = 0;
  span_t s = sweep(&cfg, &r, 1, 100);
  assert_true(s.low == 1 && s.high == 1);
  r.retry_after = 0.5;
  assert_true(nt_retry_wait(&cfg, &r, 1, 0.9) == 1);
  /* Without Retry-After: the backoff, jittered between half and all of
   * its nominal value. */
  cfg.retry_interval = 1;
  r.retry_after = -1;
  for (unsigned n = 1; n <= 10; n++) {
    double nominal = nt_backoff_nominal(1, 60, n);
    s = sweep(&cfg, &r, n, 100);
    if (s.low != nominal / 2 || s.high > nominal || s.high < 0.98 * nominal)
      fail_msg("try %u: waited %g to %g, nominal %g", n, s.low, s.high,
               nominal);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_2xx),
      cmocka_unit_test(test_2xx_body_by_length),
      cmocka_unit_test(test_2xx_then_failure_is_sent),
      cmocka_unit_test(test_4xx_permanent),
      cmocka_unit_test(test_5xx),
      cmocka_unit_test(test_3xx_permanent),
      cmocka_unit_test(test_other_status_by_writes),
      cmocka_unit_test(test_not_delivered_failures),
      cmocka_unit_test(test_maybe_delivered_failures),
      cmocka_unit_test(test_permanent_failures),
      cmocka_unit_test(test_aborted),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_attempts),
      cmocka_unit_test(test_attempts_write_then_failed_reconnect),
      cmocka_unit_test(test_attempts_resend_refused),
      cmocka_unit_test(test_tunnel_refused),
      cmocka_unit_test(test_tunnel_auth_required),
      cmocka_unit_test(test_tunnel_open),
      cmocka_unit_test(test_backoff_nominal),
      cmocka_unit_test(test_backoff_jitter),
      cmocka_unit_test(test_retry_after),
      cmocka_unit_test(test_retry_after_garbage),
      cmocka_unit_test(test_retry_wait_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
