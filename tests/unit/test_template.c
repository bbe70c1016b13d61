/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/template.c: the Argument templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/template.h"
#include "fake_collectd.h"
#include "unit_helpers.h"

#include "utils_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static notification_t base(void) {
  notification_t n = th_notif(NOTIF_FAILURE, "web1", "processes", "nginx",
                              "ps_count", "procs", "nginx is down");
  n.time = TIME_T_TO_CDTIME_T(1764331200) + MS_TO_CDTIME_T(123);
  return n;
}

/* Parses text (which must parse), renders it and compares. */
static void expect_render(const char *text, const notification_t *n,
                          const char *task, const char *expected) {
  char err[256] = "";
  nt_template_t *t = nt_template_parse(text, err, sizeof(err));
  if (t == NULL)
    fail_msg("\"%s\" does not parse: %s", text, err);
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_template_render(
                       t, n, &(nt_render_ctx_t){task, "0123456789abcdef"}, &b),
                   0);
  const char *got = b.data ? b.data : "";
  if (strcmp(got, expected) != 0 || b.len != strlen(expected))
    fail_msg("\"%s\" rendered \"%s\" (%zu bytes), expected \"%s\"", text, got,
             b.len, expected);
  nt_buf_free(&b);
  nt_template_free(t);
}

/* text must be refused, with an error that contains why. */
static void expect_parse_error(const char *text, const char *why) {
  char err[256];
  memset(err, 0, sizeof(err));
  nt_template_t *t = nt_template_parse(text, err, sizeof(err));
  if (t != NULL) {
    nt_template_free(t);
    fail_msg("\"%s\" was accepted", text);
  }
  if (strstr(err, why) == NULL)
    fail_msg("error for \"%s\" is \"%s\", without \"%s\"", text, err, why);
}

static void test_every_placeholder(void **state) {
  (void)state;
  notification_t n = base();
  expect_render("%{severity}", &n, "t", "FAILURE");
  expect_render("%{time}", &n, "t", "1764331200.123");
  expect_render("%{host}", &n, "t", "web1");
  expect_render("%{plugin}", &n, "t", "processes");
  expect_render("%{plugin_instance}", &n, "t", "nginx");
  expect_render("%{type}", &n, "t", "ps_count");
  expect_render("%{type_instance}", &n, "t", "procs");
  expect_render("%{message}", &n, "t", "nginx is down");
  expect_render("%{task}", &n, "restart-nginx", "restart-nginx");
  /* The subject's episode id, as the caller knows it. */
  expect_render("%{episode}", &n, "t", "0123456789abcdef");
  expect_render("[%{host}|%{plugin}/%{plugin_instance}|%{type}-%{type_instance}"
                "] %{severity}: %{message} (%{task})",
                &n, "T",
                "[web1|processes/nginx|ps_count-procs] FAILURE: nginx is "
                "down (T)");
  /* The same placeholder twice, and a template without any. */
  expect_render("%{host}%{host}", &n, "t", "web1web1");
  expect_render("plain text", &n, "t", "plain text");
  expect_render("", &n, "t", "");
}

static void test_severities(void **state) {
  (void)state;
  notification_t n = base();
  n.severity = NOTIF_WARNING;
  expect_render("%{severity}", &n, "t", "WARNING");
  n.severity = NOTIF_OKAY;
  expect_render("%{severity}", &n, "t", "OKAY");
  n.severity = NOTIF_FAILURE;
  expect_render("%{severity}", &n, "t", "FAILURE");
}

static void test_percent_literals(void **state) {
  (void)state;
  notification_t n = base();
  expect_render("%%", &n, "t", "%");
  expect_render("100%%", &n, "t", "100%");
  expect_render("disk at 90%", &n, "t", "disk at 90%");
  expect_render("%", &n, "t", "%");
  expect_render("50% of %{host}", &n, "t", "50% of web1");
  expect_render("%d %s %", &n, "t", "%d %s %");
  expect_render("%%{host}", &n, "t", "%{host}");
  expect_render("%%%{host}", &n, "t", "%web1");
  expect_render("%%%%", &n, "t", "%%");
  expect_render("a}b{c", &n, "t", "a}b{c");
  expect_render("{host}", &n, "t", "{host}");
}

static void test_parse_errors(void **state) {
  (void)state;
  expect_parse_error("%{hostname}", "unknown placeholder");
  expect_parse_error("x %{HOST} y", "unknown placeholder");
  expect_parse_error("%{ host}", "unknown placeholder");
  expect_parse_error("%{meta}", "unknown placeholder");
  expect_parse_error("%{}", "empty");
  expect_parse_error("a %{} b", "empty");
  expect_parse_error("%{meta:}", "meta");
  expect_parse_error("%{host", "unterminated");
  expect_parse_error("ok %{host} then %{", "unterminated");
  expect_parse_error("%{meta:x", "unterminated");
  /* A meta name collectd could never hold (128 bytes). */
  char text[DATA_MAX_NAME_LEN + 16];
  char name[DATA_MAX_NAME_LEN + 1];
  memset(name, 'm', DATA_MAX_NAME_LEN);
  name[DATA_MAX_NAME_LEN] = '\0';
  snprintf(text, sizeof(text), "%%{meta:%s}", name);
  expect_parse_error(text, "meta");
}

static void test_parse_error_small_buffer(void **state) {
  (void)state;
  char err[8];
  memset(err, 'X', sizeof(err));
  assert_null(nt_template_parse("%{nonsense}", err, 5));
  assert_int_equal(strlen(err), 4);
  assert_int_equal(err[5], 'X');
  /* The error never repeats a huge value whole. */
  char text[2048];
  memset(text, 'a', sizeof(text));
  memcpy(text, "%{", 2);
  text[sizeof(text) - 2] = '}';
  text[sizeof(text) - 1] = '\0';
  char big[4096] = "";
  assert_null(nt_template_parse(text, big, sizeof(big)));
  assert_true(strlen(big) > 0);
  assert_true(strlen(big) < 512);
}

/* ---- Meta entries ----------------------------------------------------- */

static notification_meta_t meta_string(const char *name, const char *value) {
  notification_meta_t m = {.type = NM_TYPE_STRING};
  snprintf(m.name, sizeof(m.name), "%s", name);
  m.nm_value.nm_string = value;
  return m;
}

static void test_meta_types(void **state) {
  (void)state;
  notification_meta_t s = meta_string("s", "a \"quoted\" value");
  notification_meta_t neg = {
      .name = "neg", .type = NM_TYPE_SIGNED_INT, .nm_value.nm_signed_int = -42};
  notification_meta_t min = {.name = "min",
                             .type = NM_TYPE_SIGNED_INT,
                             .nm_value.nm_signed_int = INT64_MIN};
  notification_meta_t u = {.name = "u",
                           .type = NM_TYPE_UNSIGNED_INT,
                           .nm_value.nm_unsigned_int = UINT64_MAX};
  notification_meta_t yes = {
      .name = "yes", .type = NM_TYPE_BOOLEAN, .nm_value.nm_boolean = true};
  notification_meta_t no = {
      .name = "no", .type = NM_TYPE_BOOLEAN, .nm_value.nm_boolean = false};
  notification_meta_t d = {.name = "CurrentValue",
                           .type = NM_TYPE_DOUBLE,
                           .nm_value.nm_double = 30.5};
  notification_meta_t nan_meta = {
      .name = "nan", .type = NM_TYPE_DOUBLE, .nm_value.nm_double = NAN};
  s.next = &neg;
  neg.next = &min;
  min.next = &u;
  u.next = &yes;
  yes.next = &no;
  no.next = &d;
  d.next = &nan_meta;
  notification_t n = base();
  n.meta = &s;
  expect_render("%{meta:s}", &n, "t", "a \"quoted\" value");
  expect_render("%{meta:neg}", &n, "t", "-42");
  expect_render("%{meta:min}", &n, "t", "-9223372036854775808");
  expect_render("%{meta:u}", &n, "t", "18446744073709551615");
  expect_render("%{meta:yes}", &n, "t", "true");
  expect_render("%{meta:no}", &n, "t", "false");
  expect_render("%{meta:CurrentValue}", &n, "t", "30.5");
  expect_render("%{meta:nan}", &n, "t", "");
  expect_render("%{meta:absent}", &n, "t", "");
  /* Names are exact, case included. */
  expect_render("%{meta:currentvalue}", &n, "t", "");
  expect_render("<%{meta:absent}>", &n, "t", "<>");
  expect_render("%{host} at %{meta:CurrentValue}%%", &n, "t", "web1 at 30.5%");
  /* Without any meta at all. */
  n.meta = NULL;
  expect_render("<%{meta:CurrentValue}>", &n, "t", "<>");
}

static void test_meta_first_of_name_and_null_string(void **state) {
  (void)state;
  notification_meta_t first = meta_string("k", "first");
  notification_meta_t second = meta_string("k", "second");
  notification_meta_t null_string = meta_string("null", NULL);
  first.next = &second;
  second.next = &null_string;
  notification_t n = base();
  n.meta = &first;
  expect_render("%{meta:k}", &n, "t", "first");
  expect_render("[%{meta:null}]", &n, "t", "[]");
}

static void test_meta_long_name(void **state) {
  (void)state;
  char name[DATA_MAX_NAME_LEN];
  memset(name, 'm', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  notification_meta_t m = meta_string(name, "long");
  notification_t n = base();
  n.meta = &m;
  char text[DATA_MAX_NAME_LEN + 16];
  snprintf(text, sizeof(text), "%%{meta:%s}", name);
  expect_render(text, &n, "t", "long");
}

/* ---- Number and time forms -------------------------------------------- */

static void expect_double(double value, const char *expected) {
  char buf[64];
  memset(buf, 'X', sizeof(buf));
  nt_format_double(value, buf, sizeof(buf));
  if (strcmp(buf, expected) != 0)
    fail_msg("nt_format_double(%.17g) gave \"%s\", expected \"%s\"", value, buf,
             expected);
}

static void test_format_double(void **state) {
  (void)state;
  expect_double(30, "30");
  expect_double(0.25, "0.25");
  expect_double(30.5, "30.5");
  expect_double(1e21, "1e+21");
  expect_double(1e16, "1e+16");
  expect_double(1e-4, "0.0001");
  expect_double(1e-5, "1e-05");
  expect_double(0.1, "0.1");
  expect_double(1 / 3.0, "0.3333333333333333");
  expect_double(-2.5, "-2.5");
  expect_double(0, "0");
  expect_double(INFINITY, "inf");
  expect_double(-INFINITY, "-inf");
  expect_double(NAN, "");
  /* More of the same rules. */
  expect_double(1, "1");
  expect_double(-1, "-1");
  expect_double(100, "100");
  expect_double(123456789, "123456789");
  expect_double(9007199254740993.0, "9007199254740992");
  expect_double(9999999999999998, "9999999999999998");
  expect_double(1.5e16, "1.5e+16");
  expect_double(-1e21, "-1e+21");
  expect_double(0.1 + 0.2, "0.30000000000000004");
  expect_double(2.5e-5, "2.5e-05");
  expect_double(1.25e-4, "0.000125");
  expect_double(1e100, "1e+100");
  expect_double(5e-324, "5e-324");
  expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
  expect_double(99.99, "99.99");
}

static void test_format_double_round_trips(void **state) {
  (void)state;
  /* Whatever the form, it reads back as the same double. */
  const double values[] = {M_PI,          -M_E,    1e-300,
                           6.02214076e23, 0.1 * 3, 12345.678901234567,
                           4.35,          2.675,   1e15 + 0.3};
  for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
    char buf[64];
    nt_format_double(values[i], buf, sizeof(buf));
    if (strtod(buf, NULL) != values[i])
      fail_msg("%.17g gave \"%s\", which reads back differently", values[i],
               buf);
  }
}

static void test_format_double_small_buffer(void **state) {
  (void)state;
  char buf[8];
  memset(buf, 'X', sizeof(buf));
  nt_format_double(1 / 3.0, buf, 5);
  assert_int_equal(strlen(buf), 4);
  assert_int_equal(buf[5], 'X');
}

static void expect_time(cdtime_t t, const char *expected) {
  char buf[64];
  nt_format_time(t, buf, sizeof(buf));
  if (strcmp(buf, expected) != 0)
    fail_msg("nt_format_time gave \"%s\", expected \"%s\"", buf, expected);
}

static void test_format_time(void **state) {
  (void)state;
  expect_time(DOUBLE_TO_CDTIME_T(1764331200.123), "1764331200.123");
  expect_time(TIME_T_TO_CDTIME_T(1764331200) + MS_TO_CDTIME_T(123),
              "1764331200.123");
  expect_time(TIME_T_TO_CDTIME_T(1764331200), "1764331200.000");
  expect_time(TIME_T_TO_CDTIME_T(1764331200) + MS_TO_CDTIME_T(7),
              "1764331200.007");
  expect_time(TIME_T_TO_CDTIME_T(1764331200) + MS_TO_CDTIME_T(999),
              "1764331200.999");
  /* Rounded to the nearest millisecond, carrying into the seconds. */
  expect_time(TIME_T_TO_CDTIME_T(1764331200) + US_TO_CDTIME_T(999600),
              "1764331201.000");
  expect_time(0, "0.000");
  notification_t n = base();
  n.time = DOUBLE_TO_CDTIME_T(1764331200.123);
  expect_render("%{time}", &n, "t", "1764331200.123");
}

/* ---- Any input -------------------------------------------------------- */

static void fill(char *field, size_t size, char c) {
  memset(field, c, size - 1);
  field[size - 1] = '\0';
}

static void test_maximum_lengths(void **state) {
  (void)state;
  notification_t n = base();
  fill(n.message, sizeof(n.message), 'm');
  fill(n.host, sizeof(n.host), 'h');
  fill(n.plugin, sizeof(n.plugin), 'p');
  fill(n.plugin_instance, sizeof(n.plugin_instance), 'i');
  fill(n.type, sizeof(n.type), 't');
  fill(n.type_instance, sizeof(n.type_instance), 'y');
  assert_int_equal(strlen(n.message), 255);
  char task[128];
  fill(task, sizeof(task), 'k');

  char err[256];
  nt_template_t *t = nt_template_parse(
      "%{message}|%{host}|%{plugin}|%{plugin_instance}|%{type}|"
      "%{type_instance}|%{task}",
      err, sizeof(err));
  assert_non_null(t);
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_template_render(t, &n, &(nt_render_ctx_t){task, ""}, &b),
                   0);
  char expected[2048];
  snprintf(expected, sizeof(expected), "%s|%s|%s|%s|%s|%s|%s", n.message,
           n.host, n.plugin, n.plugin_instance, n.type, n.type_instance, task);
  assert_int_equal(b.len, 255 + 6 * 127 + 6);
  assert_string_equal(b.data, expected);
  nt_buf_free(&b);
  nt_template_free(t);
}

static void test_long_template_and_meta(void **state) {
  (void)state;
  /* A long literal and a long meta string come out whole. */
  char *value = malloc(10001);
  assert_non_null(value);
  memset(value, 'v', 10000);
  value[10000] = '\0';
  notification_meta_t m = meta_string("big", value);
  notification_t n = base();
  n.meta = &m;
  char *text = malloc(5000 + 32);
  assert_non_null(text);
  memset(text, 'l', 5000);
  strcpy(text + 5000, "%{meta:big}");
  char err[256];
  nt_template_t *t = nt_template_parse(text, err, sizeof(err));
  assert_non_null(t);
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_template_render(t, &n, &(nt_render_ctx_t){"t", ""}, &b),
                   0);
  assert_int_equal(b.len, 15000);
  assert_int_equal(strspn(b.data, "l"), 5000);
  assert_int_equal(strspn(b.data + 5000, "v"), 10000);
  nt_buf_free(&b);
  nt_template_free(t);
  free(text);
  free(value);
}

static void test_any_bytes_pass_through(void **state) {
  (void)state;
  /* Rendering copies bytes as they are; JSON is made valid later. */
  notification_t n = base();
  strcpy(n.message, "q\"b\\c\n\x01\xff\xe2\x82");
  strcpy(n.host, "%{host}");
  expect_render("%{message}", &n, "t", "q\"b\\c\n\x01\xff\xe2\x82");
  /* A placeholder's value is never expanded again. */
  expect_render("%{host}", &n, "t", "%{host}");
}

static void test_render_appends(void **state) {
  (void)state;
  notification_t n = base();
  char err[256];
  nt_template_t *t = nt_template_parse("-%{host}", err, sizeof(err));
  assert_non_null(t);
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_buf_puts(&b, "before"), 0);
  assert_int_equal(nt_template_render(t, &n, &(nt_render_ctx_t){"t", ""}, &b),
                   0);
  assert_int_equal(nt_template_render(t, &n, &(nt_render_ctx_t){"t", ""}, &b),
                   0);
  assert_string_equal(b.data, "before-web1-web1");
  nt_buf_free(&b);
  nt_template_free(t);
  nt_template_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_placeholder),
      cmocka_unit_test(test_severities),
      cmocka_unit_test(test_percent_literals),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_parse_error_small_buffer),
      cmocka_unit_test(test_meta_types),
      cmocka_unit_test(test_meta_first_of_name_and_null_string),
      cmocka_unit_test(test_meta_long_name),
      cmocka_unit_test(test_format_double),
      cmocka_unit_test(test_format_double_round_trips),
      cmocka_unit_test(test_format_double_small_buffer),
      cmocka_unit_test(test_format_time),
      cmocka_unit_test(test_maximum_lengths),
      cmocka_unit_test(test_long_template_and_meta),
      cmocka_unit_test(test_any_bytes_pass_through),
      cmocka_unit_test(test_render_appends),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
