/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/json.c: the request body, UTF-8 repair, and what
 * the supervisor answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/json.h"
#include "fake_collectd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#define ID "5f0c1a2b3c4d5e6f7a8b9c0d"
#define FFFD "\xEF\xBF\xBD"

/* ---- Helpers ---------------------------------------------------------- */

static char *body_of(const char *const *args, const size_t *lens, size_t num,
                     size_t *len) {
  size_t body_len = (size_t)-1;
  char *body = nt_json_body(ID, args, lens, num, &body_len);
  assert_non_null(body);
  assert_int_equal(body_len, strlen(body));
  if (len != NULL)
    *len = body_len;
  return body;
}

/* The body of NUL-terminated strings. */
static char *body_of_strings(const char *const *args, size_t num) {
  size_t lens[16];
  assert_true(num <= 16);
  for (size_t i = 0; i < num; i++)
    lens[i] = strlen(args[i]);
  return body_of(args, lens, num, NULL);
}

/* Parses body (which must be valid JSON) and checks it holds the task and
 * exactly these arguments (NUL-terminated, as yajl hands them out). */
static void assert_body_holds(const char *body, const char *const *expected,
                              size_t num) {
  char errbuf[256] = "";
  yajl_val tree = yajl_tree_parse(body, errbuf, sizeof(errbuf));
  if (tree == NULL)
    fail_msg("body is not valid JSON (%s): %s", errbuf, body);
  assert_true(YAJL_IS_OBJECT(tree));
  assert_int_equal(YAJL_GET_OBJECT(tree)->len, 2);
  const char *task_path[] = {"task", NULL};
  yajl_val task = yajl_tree_get(tree, task_path, yajl_t_string);
  assert_non_null(task);
  assert_string_equal(task->u.string, ID);
  const char *args_path[] = {"task_arguments", NULL};
  yajl_val args = yajl_tree_get(tree, args_path, yajl_t_array);
  assert_non_null(args);
  assert_int_equal(YAJL_GET_ARRAY(args)->len, num);
  for (size_t i = 0; i < num; i++) {
    yajl_val v = YAJL_GET_ARRAY(args)->values[i];
    assert_true(YAJL_IS_STRING(v));
    const char *got = v->u.string;
    if (strcmp(got, expected[i]) != 0)
      fail_msg("argument %zu is \"%s\", expected \"%s\"", i, got, expected[i]);
  }
  yajl_tree_free(tree);
}

static void expect_sanitized(const char *in, size_t len, const char *out) {
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_utf8_sanitize(in, len, &b), 0);
  const char *got = b.data ? b.data : "";
  if (b.len != strlen(out) || memcmp(got, out, b.len) != 0) {
    char hex[512] = "";
    for (size_t i = 0; i < b.len && i < 100; i++)
      snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), "%02X ",
               (unsigned char)got[i]);
    fail_msg("sanitizing %zu bytes gave %zu bytes: %s", len, b.len, hex);
  }
  nt_buf_free(&b);
}
#define SANITIZED(in, out) expect_sanitized(in, sizeof(in) - 1, out)

/* ---- The request body ------------------------------------------------- */

static void test_body_simple(void **state) {
  (void)state;
  const char *args[] = {"FAILURE", "1764331200.123", "web1", "processes"};
  char *body = body_of_strings(args, 4);
  assert_string_equal(body, "{\"task\":\"" ID "\",\"task_arguments\":"
                            "[\"FAILURE\",\"1764331200.123\",\"web1\","
                            "\"processes\"]}");
  assert_body_holds(body, args, 4);
  free(body);
}

static void test_body_no_arguments(void **state) {
  (void)state;
  char *body = body_of(NULL, NULL, 0, NULL);
  assert_string_equal(body, "{\"task\":\"" ID "\",\"task_arguments\":[]}");
  free(body);
  const char *empty[] = {""};
  body = body_of_strings(empty, 1);
  assert_string_equal(body, "{\"task\":\"" ID "\",\"task_arguments\":[\"\"]}");
  free(body);
}

static void test_body_escapes(void **state) {
  (void)state;
  const char *args[] = {"say \"hi\"", "back\\slash", "line\nbreak", "tab\there",
                        "\x01",       "a/b",         "\r\b\f"};
  char *body = body_of_strings(args, 7);
  assert_string_equal(body, "{\"task\":\"" ID "\",\"task_arguments\":["
                            "\"say \\\"hi\\\"\",\"back\\\\slash\","
                            "\"line\\nbreak\",\"tab\\there\",\"\\u0001\","
                            "\"a/b\",\"\\r\\b\\f\"]}");
  assert_body_holds(body, args, 7);
  free(body);
}

static void test_body_every_control_character(void **state) {
  (void)state;
  char s[32];
  for (int c = 1; c < 32; c++)
    s[c - 1] = (char)c;
  s[31] = '\0';
  const char *args[] = {s, "\x7f"};
  char *body = body_of_strings(args, 2);
  /* No raw control byte is left in the body. */
  for (const char *p = body; *p; p++)
    if ((unsigned char)*p < 0x20)
      fail_msg("raw control byte 0x%02X in the body", (unsigned char)*p);
  assert_body_holds(body, args, 2);
  free(body);
}

static void test_body_embedded_nul(void **state) {
  (void)state;
  const char arg[] = {'a', '\0', 'b'};
  const char *args[] = {arg};
  size_t lens[] = {3};
  size_t len;
  char *body = body_of(args, lens, 1, &len);
  assert_string_equal(body, "{\"task\":\"" ID
                            "\",\"task_arguments\":[\"a\\u0000b\"]}");
  free(body);
}

static void test_body_lengths_respected(void **state) {
  (void)state;
  /* Arguments are taken by length, not up to a NUL. */
  const char *text = "abcdef";
  const char *args[] = {text, text + 2, text};
  size_t lens[] = {2, 3, 0};
  char *body = body_of(args, lens, 3, NULL);
  assert_string_equal(body, "{\"task\":\"" ID
                            "\",\"task_arguments\":[\"ab\",\"cde\",\"\"]}");
  free(body);
}

static void test_body_invalid_utf8(void **state) {
  (void)state;
  const char *args[] = {
      "\x80",         "cut \xE2\x82",
      "\xC0\xAF",     "\xE0\x80\xAF",
      "\xED\xA0\x80", "\xF4\x90\x80\x80",
      "\xFF",         "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"};
  const char *expected[] = {
      FFFD,           "cut " FFFD,
      FFFD FFFD,      FFFD FFFD FFFD,
      FFFD FFFD FFFD, FFFD FFFD FFFD FFFD,
      FFFD,           "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"};
  char *body = body_of_strings(args, 8);
  assert_body_holds(body, expected, 8);
  /* Valid characters stay raw UTF-8, not \u escapes. */
  assert_non_null(
      strstr(body, "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\""));
  assert_non_null(strstr(body, "\"cut " FFFD "\""));
  free(body);
}

static void test_body_task_id_sanitized(void **state) {
  (void)state;
  size_t len;
  char *body = nt_json_body("a\"b\xFF", NULL, NULL, 0, &len);
  assert_non_null(body);
  assert_string_equal(body,
                      "{\"task\":\"a\\\"b" FFFD "\",\"task_arguments\":[]}");
  free(body);
}

static void test_body_large(void **state) {
  (void)state;
  /* Nothing is truncated: 100 kB of quotes come out escaped, whole. */
  size_t n = 100000;
  char *big = malloc(n + 1);
  assert_non_null(big);
  memset(big, '"', n);
  big[n] = '\0';
  const char *args[] = {big, "end"};
  size_t len;
  size_t lens[] = {n, 3};
  char *body = body_of(args, lens, 2, &len);
  size_t frame =
      strlen("{\"task\":\"" ID "\",\"task_arguments\":[\"\",\"end\"]}");
  assert_int_equal(len, frame + 2 * n);
  assert_body_holds(body, args, 2);
  free(body);
  free(big);
}

/* Deterministic random bytes: whatever the input, the body is valid JSON
 * and holds each argument as nt_utf8_sanitize repairs it. */
static void test_body_random_bytes_always_valid(void **state) {
  (void)state;
  uint32_t seed = 12345;
  for (int round = 0; round < 500; round++) {
    char raw[3][48];
    size_t lens[3];
    const char *args[3];
    char *clean[3];
    for (int a = 0; a < 3; a++) {
      seed = seed * 1103515245u + 12345u;
      lens[a] = (seed >> 16) % sizeof(raw[a]);
      for (size_t i = 0; i < lens[a]; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned char c = (unsigned char)(seed >> 16);
        /* Favour the interesting bytes. */
        if (c % 3 == 0)
          c |= 0x80;
        raw[a][i] = (char)(c == 0 ? 'z' : c);
      }
      args[a] = raw[a];
      nt_buf_t b = NT_BUF_INIT;
      assert_int_equal(nt_utf8_sanitize(raw[a], lens[a], &b), 0);
      clean[a] = nt_buf_steal(&b, NULL);
      assert_non_null(clean[a]);
    }
    char *body = body_of(args, lens, 3, NULL);
    assert_body_holds(body, (const char *const *)clean, 3);
    free(body);
    for (int a = 0; a < 3; a++)
      free(clean[a]);
  }
}

/* ---- nt_utf8_sanitize ------------------------------------------------- */

static void test_sanitize_valid_kept(void **state) {
  (void)state;
  SANITIZED("", "");
  SANITIZED("plain ascii", "plain ascii");
  SANITIZED("\xC3\xA9", "\xC3\xA9");                 /* é */
  SANITIZED("\xE2\x82\xAC", "\xE2\x82\xAC");         /* € */
  SANITIZED("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"); /* 😀 */
  SANITIZED("\xC2\x80", "\xC2\x80");                 /* U+0080 */
  SANITIZED("\xDF\xBF", "\xDF\xBF");                 /* U+07FF */
  SANITIZED("\xE0\xA0\x80", "\xE0\xA0\x80");         /* U+0800 */
  SANITIZED("\xED\x9F\xBF", "\xED\x9F\xBF");         /* U+D7FF */
  SANITIZED("\xEE\x80\x80", "\xEE\x80\x80");         /* U+E000 */
  SANITIZED("\xEF\xBF\xBD", "\xEF\xBF\xBD");         /* U+FFFD */
  SANITIZED("\xF0\x90\x80\x80", "\xF0\x90\x80\x80"); /* U+10000 */
  SANITIZED("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"); /* U+10FFFF */
  /* An embedded NUL is kept (compared by length above). */
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_utf8_sanitize("a\0b", 3, &b), 0);
  assert_int_equal(b.len, 3);
  assert_memory_equal(b.data, "a\0b", 3);
  nt_buf_free(&b);
}

static void test_sanitize_invalid_replaced(void **state) {
  (void)state;
  SANITIZED("\x80", FFFD); /* stray continuation */
  SANITIZED("a\x80\xBF"
            "b",
            "a" FFFD FFFD "b"); /* two strays */
  SANITIZED("\xE2\x82", FFFD);  /* cut off at the end */
  SANITIZED("x\xE2\x82", "x" FFFD);
  SANITIZED("\xF0\x9F\x98", FFFD); /* cut-off 4 bytes */
  SANITIZED("\xF0\x9F\x98"
            "x",
            FFFD "x");     /* interrupted */
  SANITIZED("\xC3", FFFD); /* lone lead */
  SANITIZED("\xC3"
            "A",
            FFFD "A");
  SANITIZED("\xC0\xAF", FFFD FFFD);                   /* overlong '/' */
  SANITIZED("\xC1\xBF", FFFD FFFD);                   /* overlong */
  SANITIZED("\xE0\x80\xAF", FFFD FFFD FFFD);          /* overlong '/' */
  SANITIZED("\xF0\x80\x80\xAF", FFFD FFFD FFFD FFFD); /* overlong '/' */
  SANITIZED("\xED\xA0\x80", FFFD FFFD FFFD);          /* surrogate D800 */
  SANITIZED("\xED\xBF\xBF", FFFD FFFD FFFD);          /* surrogate DFFF */
  SANITIZED("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* > U+10FFFF */
  SANITIZED("\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD);
  SANITIZED("\xFF", FFFD);
  SANITIZED("\xFE\xFF", FFFD FFFD);
  SANITIZED("\xF8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD);
  /* Unicode's own example (Table 3-8 of chapter 3). */
  SANITIZED("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
            "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d");
  /* A valid character right after a bad byte survives. */
  SANITIZED("\xE2\xC3\xA9", FFFD "\xC3\xA9");
}

static void test_sanitize_appends(void **state) {
  (void)state;
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_buf_puts(&b, "pre-"), 0);
  assert_int_equal(nt_utf8_sanitize("\xFFok", 3, &b), 0);
  assert_string_equal(b.data, "pre-" FFFD "ok");
  /* Only len bytes are read. */
  assert_int_equal(nt_utf8_sanitize("ab\xFF", 2, &b), 0);
  assert_string_equal(b.data, "pre-" FFFD "okab");
  nt_buf_free(&b);
}

/* ---- What the supervisor answers -------------------------------------- */

static void parse_job(const char *body, nt_job_info_t *info) {
  memset(info, 0x5A, sizeof(*info));
  nt_json_parse_job(body, strlen(body), info);
}

static void test_parse_job(void **state) {
  (void)state;
  nt_job_info_t info;
  parse_job("{\"id\":\"6929a7c0e4b0a1b2c3d4e5f6\",\"lifecycle\":\"ready\","
            "\"state\":\"in_progress\",\"secret\":\"x\",\"task\":{\"id\":1},"
            "\"task_arguments\":[\"a\"]}",
            &info);
  assert_true(info.is_job);
  assert_false(info.rejected);
  assert_string_equal(info.id, "6929a7c0e4b0a1b2c3d4e5f6");
  assert_string_equal(info.lifecycle, "ready");
  assert_string_equal(info.state, "in_progress");

  /* Only an id: still a job. */
  parse_job("  {\"id\":\"j1\"}\n", &info);
  assert_true(info.is_job);
  assert_false(info.rejected);
  assert_string_equal(info.id, "j1");
  assert_string_equal(info.lifecycle, "");
  assert_string_equal(info.state, "");
}

static void test_parse_job_rejected(void **state) {
  (void)state;
  nt_job_info_t info;
  parse_job("{\"id\":\"j2\",\"lifecycle\":\"terminated\",\"state\":"
            "\"failure\"}",
            &info);
  assert_true(info.is_job);
  assert_true(info.rejected);
  assert_string_equal(info.lifecycle, "terminated");
  assert_string_equal(info.state, "failure");

  parse_job("{\"id\":\"j3\",\"lifecycle\":\"ready\",\"state\":\"error\"}",
            &info);
  assert_true(info.is_job);
  assert_true(info.rejected);
  assert_string_equal(info.state, "error");

  /* Neither: not rejected. */
  parse_job("{\"id\":\"j4\",\"lifecycle\":\"finished\",\"state\":"
            "\"success\"}",
            &info);
  assert_true(info.is_job);
  assert_false(info.rejected);
}

static void test_parse_not_a_job(void **state) {
  (void)state;
  static const char *const bodies[] = {
      "not JSON",
      "",
      "[]",
      "[{\"id\":\"j\"}]",
      "{}",
      "{\"message\":\"ok\"}",
      "{\"id\":5}",
      "{\"id\":null}",
      "{\"id\":{\"id\":\"x\"}}",
      "{\"job\":{\"id\":\"x\"}}",
      "\"id\"",
      "42",
      "{\"id\":\"x\"",
      "<html>OK</html>",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
    nt_job_info_t info;
    parse_job(bodies[i], &info);
    if (info.is_job || info.rejected)
      fail_msg("\"%s\" taken for a job", bodies[i]);
  }
}

static void test_parse_job_bounds(void **state) {
  (void)state;
  nt_job_info_t info;
  /* Only len bytes are read: what follows is ignored. */
  const char *body = "{\"id\":\"j5\"}GARBAGE";
  memset(&info, 0x5A, sizeof(info));
  nt_json_parse_job(body, 11, &info);
  assert_true(info.is_job);
  assert_string_equal(info.id, "j5");

  /* A long id is cut visibly to fit; control bytes become '?'. */
  char big[300];
  memset(big, 'i', 100);
  snprintf(big + 100, sizeof(big) - 100, "%s", "");
  char json[400];
  snprintf(json, sizeof(json),
           "{\"id\":\"%s\",\"lifecycle\":\"a\\nb\\u0001c\"}", big);
  parse_job(json, &info);
  assert_true(info.is_job);
  assert_int_equal(strlen(info.id), sizeof(info.id) - 1);
  assert_string_equal(info.id + sizeof(info.id) - 4, "...");
  assert_int_equal(strspn(info.id, "i"), sizeof(info.id) - 4);
  assert_string_equal(info.lifecycle, "a?b?c");
}

/* ---- Error messages --------------------------------------------------- */

static void error_message(const char *body, size_t size, char *msg) {
  memset(msg, 'X', size + 8);
  nt_json_error_message(body, strlen(body), msg, size);
  assert_int_equal(msg[size], 'X'); /* never past size */
}

static void test_error_message_forms(void **state) {
  (void)state;
  char msg[300];
  error_message("\"Task not found\"", 256, msg);
  assert_string_equal(msg, "Task not found");
  error_message("{\"statusCode\":404,\"message\":\"Task not found\","
                "\"error\":\"Not Found\"}",
                256, msg);
  assert_string_equal(msg, "Task not found");
  error_message("<html><body>Bad Gateway</body></html>", 256, msg);
  assert_string_equal(msg, "<html><body>Bad Gateway</body></html>");
  error_message("{\"statusCode\":400}", 256, msg);
  assert_string_equal(msg, "{\"statusCode\":400}");
  error_message("", 256, msg);
  assert_string_equal(msg, "");
}

static void test_error_message_printable(void **state) {
  (void)state;
  char msg[300];
  error_message("line1\nline2\t\x01\x7f end", 256, msg);
  assert_string_equal(msg, "line1?line2??? end");
  error_message("{\"message\":\"bad\\nthing \\u0007 \\u00e9\"}", 256, msg);
  assert_string_equal(msg, "bad?thing ? ??");
  error_message("caf\xC3\xA9", 256, msg);
  assert_string_equal(msg, "caf??");
  /* Only len bytes are read. */
  memset(msg, 'X', sizeof(msg));
  nt_json_error_message("abcdef", 3, msg, 256);
  assert_string_equal(msg, "abc");
}

static void test_error_message_cut(void **state) {
  (void)state;
  char body[400];
  char msg[300];
  /* 31 characters fit in 32 bytes, as they are. */
  memset(body, 'a', 31);
  body[31] = '\0';
  error_message(body, 32, msg);
  assert_string_equal(msg, body);
  /* 32 do not: cut with "...". */
  memset(body, 'a', 32);
  body[32] = '\0';
  error_message(body, 32, msg);
  assert_int_equal(strlen(msg), 31);
  assert_string_equal(msg + 28, "...");
  assert_int_equal(strspn(msg, "a"), 28);
  /* A long JSON message. */
  char json[450];
  memset(body, 'm', 300);
  body[300] = '\0';
  snprintf(json, sizeof(json), "{\"message\":\"%s\"}", body);
  error_message(json, 64, msg);
  assert_int_equal(strlen(msg), 63);
  assert_string_equal(msg + 60, "...");
  assert_int_equal(strspn(msg, "m"), 60);
}

/* The job in an answer read as it arrives, in pieces of any size. */
static nt_job_info_t scanned(const char *body, size_t piece) {
  nt_job_scan_t *sc = nt_job_scan_new();
  assert_non_null(sc);
  size_t len = strlen(body);
  for (size_t at = 0; at < len; at += piece)
    nt_job_scan_feed(sc, body + at, len - at < piece ? len - at : piece);
  nt_job_info_t info;
  nt_job_scan_result(sc, &info);
  nt_job_scan_free(sc);
  return info;
}

static void test_scan_job(void **state) {
  (void)state;
  const char *body =
      "{\"output\":[\"a \\\"quoted\\\" } ] { [ , : \\\\\",{\"id\":\"no\"}],"
      " \"nested\" : {\"id\":\"inner\",\"state\":\"x\"}, \"n\": 3,"
      "\"id\" : \"0123456789abcdef01234567\", \"state\":\"failure\","
      "\"lifecycle\":\"finished\",\"ok\":true}";
  for (size_t piece = 1; piece < 9; piece++) {
    nt_job_info_t info = scanned(body, piece);
    assert_true(info.is_job);
    assert_string_equal(info.id, "0123456789abcdef01234567");
    assert_string_equal(info.state, "failure");
    assert_string_equal(info.lifecycle, "finished");
  }
  /* Cut short, not an object, no id: no job. */
  assert_false(scanned("{\"id\":\"abc\",\"state\":\"success\"", 4).is_job);
  assert_false(scanned("\"Request Timeout\"", 4).is_job);
  assert_false(scanned("[{\"id\":\"abc\"}]", 4).is_job);
  assert_false(scanned("{\"message\":\"db down\"}", 4).is_job);
  assert_false(scanned("", 4).is_job);
  /* A long id is cut, never overflows. */
  char big[300] = "{\"id\":\"";
  memset(big + strlen(big), 'a', 200);
  strcat(big, "\"}");
  nt_job_info_t info = scanned(big, 7);
  assert_true(info.is_job);
  assert_true(strlen(info.id) < sizeof(info.id));
}

/* A long output costs time in proportion to its length, held nowhere:
 * 16 MiB of one string, then the job. */
static void test_scan_long_output(void **state) {
  (void)state;
  nt_job_scan_t *sc = nt_job_scan_new();
  assert_non_null(sc);
  char chunk[16384];
  memset(chunk, 'o', sizeof(chunk));
  nt_job_scan_feed(sc, "{\"output\":[\"", 12);
  for (int i = 0; i < 1024; i++)
    nt_job_scan_feed(sc, chunk, sizeof(chunk));
  const char *tail = "\"],\"id\":\"j1\",\"state\":\"success\"}";
  nt_job_scan_feed(sc, tail, strlen(tail));
  nt_job_info_t info;
  nt_job_scan_result(sc, &info);
  nt_job_scan_free(sc);
  assert_true(info.is_job);
  assert_string_equal(info.id, "j1");
  assert_string_equal(info.state, "success");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_body_simple),
      cmocka_unit_test(test_scan_job),
      cmocka_unit_test(test_scan_long_output),
      cmocka_unit_test(test_body_no_arguments),
      cmocka_unit_test(test_body_escapes),
      cmocka_unit_test(test_body_every_control_character),
      cmocka_unit_test(test_body_embedded_nul),
      cmocka_unit_test(test_body_lengths_respected),
      cmocka_unit_test(test_body_invalid_utf8),
      cmocka_unit_test(test_body_task_id_sanitized),
      cmocka_unit_test(test_body_large),
      cmocka_unit_test(test_body_random_bytes_always_valid),
      cmocka_unit_test(test_sanitize_valid_kept),
      cmocka_unit_test(test_sanitize_invalid_replaced),
      cmocka_unit_test(test_sanitize_appends),
      cmocka_unit_test(test_parse_job),
      cmocka_unit_test(test_parse_job_rejected),
      cmocka_unit_test(test_parse_not_a_job),
      cmocka_unit_test(test_parse_job_bounds),
      cmocka_unit_test(test_error_message_forms),
      cmocka_unit_test(test_error_message_printable),
      cmocka_unit_test(test_error_message_cut),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
