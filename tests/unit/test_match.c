/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/match.c: which notifications a Task wants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/match.h"
#include "fake_collectd.h"
#include "unit_helpers.h"

#include <stdio.h>
#include <string.h>

/* A FAILURE of processes/nginx on web1. */
static notification_t base(void) {
  return th_notif(NOTIF_FAILURE, "web1", "processes", "nginx", "ps_count",
                  "processes", "Host web1, plugin processes: nginx is down");
}

static void add(nt_match_t *m, nt_field_t field, const char *value) {
  char err[256] = "";
  if (nt_match_add(m, field, value, err, sizeof(err)) != 0)
    fail_msg("nt_match_add(\"%s\") failed: %s", value, err);
}

static void test_unfiltered_matches_anything(void **state) {
  (void)state;
  nt_match_t m = {0};
  notification_t n = base();
  assert_true(nt_match(&m, &n));
  n = th_notif(NOTIF_FAILURE, "", "", "", "", "", "");
  assert_true(nt_match(&m, &n));
  nt_match_free(&m);
}

static void test_exact_values(void **state) {
  (void)state;
  nt_match_t m = {0};
  add(&m, NT_FIELD_PLUGIN, "processes");
  notification_t n = base();
  assert_true(nt_match(&m, &n));
  /* Exact means the whole value, case included. */
  strcpy(n.plugin, "processe");
  assert_false(nt_match(&m, &n));
  strcpy(n.plugin, "processes2");
  assert_false(nt_match(&m, &n));
  strcpy(n.plugin, "Processes");
  assert_false(nt_match(&m, &n));
  strcpy(n.plugin, "");
  assert_false(nt_match(&m, &n));
  nt_match_free(&m);

  /* Regex characters in an exact value are plain characters. */
  add(&m, NT_FIELD_TYPE_INSTANCE, "a.c");
  n = base();
  strcpy(n.type_instance, "abc");
  assert_false(nt_match(&m, &n));
  strcpy(n.type_instance, "a.c");
  assert_true(nt_match(&m, &n));
  nt_match_free(&m);

  /* A lone "/" is not a regex but the value "/". */
  add(&m, NT_FIELD_PLUGIN_INSTANCE, "/");
  n = base();
  assert_false(nt_match(&m, &n));
  strcpy(n.plugin_instance, "/");
  assert_true(nt_match(&m, &n));
  nt_match_free(&m);

  /* Matching an empty value exactly. */
  add(&m, NT_FIELD_TYPE_INSTANCE, "");
  n = base();
  assert_false(nt_match(&m, &n));
  strcpy(n.type_instance, "");
  assert_true(nt_match(&m, &n));
  nt_match_free(&m);
}

static void test_regex_unanchored(void **state) {
  (void)state;
  nt_match_t m = {0};
  add(&m, NT_FIELD_PLUGIN_INSTANCE, "/gin/");
  notification_t n = base(); /* nginx */
  assert_true(nt_match(&m, &n));
  strcpy(n.plugin_instance, "apache");
  assert_false(nt_match(&m, &n));
  nt_match_free(&m);

  /* Anchors and extended syntax work when written. */
  add(&m, NT_FIELD_HOST, "/^web[0-9]+$/");
  n = base();
  assert_true(nt_match(&m, &n));
  strcpy(n.host, "web12");
  assert_true(nt_match(&m, &n));
  strcpy(n.host, "myweb1");
  assert_false(nt_match(&m, &n));
  strcpy(n.host, "web1.example");
  assert_false(nt_match(&m, &n));
  nt_match_free(&m);

  add(&m, NT_FIELD_MESSAGE, "/(down|dead)/");
  n = base();
  assert_true(nt_match(&m, &n));
  strcpy(n.message, "nginx is dead");
  assert_true(nt_match(&m, &n));
  strcpy(n.message, "nginx is fine");
  assert_false(nt_match(&m, &n));
  nt_match_free(&m);
}

static void test_several_values_any(void **state) {
  (void)state;
  nt_match_t m = {0};
  add(&m, NT_FIELD_PLUGIN_INSTANCE, "apache");
  add(&m, NT_FIELD_PLUGIN_INSTANCE, "/^ngi/");
  add(&m, NT_FIELD_PLUGIN_INSTANCE, "haproxy");
  assert_int_equal(m.patterns_num[NT_FIELD_PLUGIN_INSTANCE], 3);
  notification_t n = base();
  assert_true(nt_match(&m, &n));
  strcpy(n.plugin_instance, "apache");
  assert_true(nt_match(&m, &n));
  strcpy(n.plugin_instance, "haproxy");
  assert_true(nt_match(&m, &n));
  strcpy(n.plugin_instance, "postfix");
  assert_false(nt_match(&m, &n));
  nt_match_free(&m);
}

static void test_several_fields_all(void **state) {
  (void)state;
  nt_match_t m = {0};
  add(&m, NT_FIELD_HOST, "web1");
  add(&m, NT_FIELD_PLUGIN, "processes");
  add(&m, NT_FIELD_PLUGIN_INSTANCE, "nginx");
  add(&m, NT_FIELD_TYPE, "ps_count");
  add(&m, NT_FIELD_TYPE_INSTANCE, "/proc/");
  add(&m, NT_FIELD_MESSAGE, "/down$/");
  notification_t n = base();
  assert_true(nt_match(&m, &n));
  /* Each field on its own spoils the match. */
  for (int f = 0; f < NT_FIELDS_NUM; f++) {
    n = base();
    char *fields[NT_FIELDS_NUM] = {n.host, n.plugin,        n.plugin_instance,
                                   n.type, n.type_instance, n.message};
    strcpy(fields[f], "other");
    if (nt_match(&m, &n))
      fail_msg("field %d does not take part in the match", f);
  }
  nt_match_free(&m);
}

static void test_severity_default_failure_only(void **state) {
  (void)state;
  nt_match_t m = {0};
  notification_t n = base();
  assert_true(nt_match(&m, &n));
  n.severity = NOTIF_WARNING;
  assert_false(nt_match(&m, &n));
  n.severity = NOTIF_OKAY;
  assert_false(nt_match(&m, &n));
  n.severity = 0;
  assert_false(nt_match(&m, &n));
  nt_match_free(&m);
}

static void test_severity_names(void **state) {
  (void)state;
  nt_match_t m = {0};
  assert_int_equal(nt_match_add_severity(&m, "warning"), 0);
  assert_int_equal(m.severities, NT_SEV_WARNING);
  notification_t n = base();
  /* Naming a severity replaces the default: FAILURE no longer matches. */
  assert_false(nt_match(&m, &n));
  n.severity = NOTIF_WARNING;
  assert_true(nt_match(&m, &n));
  n.severity = NOTIF_OKAY;
  assert_false(nt_match(&m, &n));

  assert_int_equal(nt_match_add_severity(&m, "OkAy"), 0);
  assert_true(nt_match(&m, &n));
  assert_int_equal(nt_match_add_severity(&m, "FAILURE"), 0);
  n.severity = NOTIF_FAILURE;
  assert_true(nt_match(&m, &n));
  assert_int_equal(m.severities, NT_SEV_WARNING | NT_SEV_OKAY | NT_SEV_FAILURE);
  /* Added twice: no harm. */
  assert_int_equal(nt_match_add_severity(&m, "Warning"), 0);
  assert_int_equal(m.severities, NT_SEV_WARNING | NT_SEV_OKAY | NT_SEV_FAILURE);
  nt_match_free(&m);
}

static void test_severity_bad_names(void **state) {
  (void)state;
  nt_match_t m = {0};
  static const char *const bad[] = {"CRITICAL", "",      "FAIL", "FAILURES",
                                    " FAILURE", "ERROR", "OK",   "warn"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    if (nt_match_add_severity(&m, bad[i]) != -1)
      fail_msg("severity \"%s\" accepted", bad[i]);
    assert_int_equal(m.severities, 0);
  }
  nt_match_free(&m);
}

static void test_invalid_regex(void **state) {
  (void)state;
  static const char *const bad[] = {"/(/", "/[a-/", "/a{2,1}/", "/*x)/"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    nt_match_t m = {0};
    char err[256] = "";
    if (nt_match_add(&m, NT_FIELD_PLUGIN, bad[i], err, sizeof(err)) != -1)
      fail_msg("regex %s accepted", bad[i]);
    assert_int_equal(m.patterns_num[NT_FIELD_PLUGIN], 0);
    if (strstr(err, "invalid regular expression") == NULL ||
        strstr(err, bad[i]) == NULL)
      fail_msg("unhelpful error for %s: \"%s\"", bad[i], err);
    nt_match_free(&m);
  }
  /* A small error buffer is respected. */
  nt_match_t m = {0};
  char small[8];
  memset(small, 'X', sizeof(small));
  assert_int_equal(nt_match_add(&m, NT_FIELD_HOST, "/(/", small, 6), -1);
  assert_int_equal(strlen(small), 5);
  assert_int_equal(small[6], 'X');
  nt_match_free(&m);
}

static void test_free_resets(void **state) {
  (void)state;
  nt_match_t m = {0};
  add(&m, NT_FIELD_HOST, "/a/");
  add(&m, NT_FIELD_HOST, "b");
  assert_int_equal(nt_match_add_severity(&m, "OKAY"), 0);
  nt_match_free(&m);
  assert_int_equal(m.severities, 0);
  assert_int_equal(m.patterns_num[NT_FIELD_HOST], 0);
  assert_null(m.patterns[NT_FIELD_HOST]);
  nt_match_free(&m); /* twice is harmless */
}

static void test_any_bytes(void **state) {
  (void)state;
  nt_match_t m = {0};
  add(&m, NT_FIELD_MESSAGE, "/disk/");
  notification_t n = base();
  strcpy(n.message, "\xff\xfe disk \x01\"\\");
  assert_true(nt_match(&m, &n));
  /* A field that fills its whole array. */
  memset(n.message, 'x', sizeof(n.message) - 1);
  n.message[sizeof(n.message) - 1] = '\0';
  assert_false(nt_match(&m, &n));
  memcpy(n.message + sizeof(n.message) - 5, "disk", 4);
  assert_true(nt_match(&m, &n));
  nt_match_free(&m);
}

/* A regex that is a plain string, anchored or not, is compared as one: it
 * must match exactly what regexec would. Each case is checked against both
 * the fast path and a real regex (a bracket keeps the latter a regex). */
static void check_plain(const char *plain, const char *regex,
                        nt_pattern_kind_t kind, const char *value) {
  nt_match_t fast = {0}, slow = {0};
  add(&fast, NT_FIELD_MESSAGE, plain);
  add(&slow, NT_FIELD_MESSAGE, regex);
  assert_int_equal(fast.patterns[NT_FIELD_MESSAGE][0].kind, kind);
  assert_int_equal(slow.patterns[NT_FIELD_MESSAGE][0].kind, NT_PAT_REGEX);
  notification_t n = base();
  snprintf(n.message, sizeof(n.message), "%s", value);
  if (nt_match(&fast, &n) != nt_match(&slow, &n))
    fail_msg("%s and %s disagree on \"%s\"", plain, regex, value);
  nt_match_free(&fast);
  nt_match_free(&slow);
}

static void test_plain_regexes(void **state) {
  (void)state;
  static const char *values[] = {"",          "down", "is down", "x is down",
                                 "is down x", "dow",  "Down",    "down down"};
  static const struct {
    const char *plain, *regex;
    nt_pattern_kind_t kind;
  } cases[] = {
      {"/^is down$/", "/^is [d]own$/", NT_PAT_EQUAL},
      {"/^is down/", "/^is [d]own/", NT_PAT_PREFIX},
      {"/is down$/", "/is [d]own$/", NT_PAT_SUFFIX},
      {"/down/", "/[d]own/", NT_PAT_CONTAINS},
      {"/^$/", "/^()$/", NT_PAT_EQUAL},
      {"/^/", "/^()/", NT_PAT_PREFIX},
      {"/$/", "/()$/", NT_PAT_SUFFIX},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++)
    for (size_t v = 0; v < sizeof(values) / sizeof(*values); v++)
      check_plain(cases[c].plain, cases[c].regex, cases[c].kind, values[v]);
  /* Any special character keeps a real regex. */
  static const char *regexes[] = {"/a.c/", "/^a+$/", "/a|b/", "/a\\.c/",
                                  "/(a)/", "/a{2}/", "/a?/",  "/[a]/",
                                  "/^a^/", "/a$b/"};
  for (size_t i = 0; i < sizeof(regexes) / sizeof(*regexes); i++) {
    nt_match_t m = {0};
    add(&m, NT_FIELD_HOST, regexes[i]);
    assert_int_equal(m.patterns[NT_FIELD_HOST][0].kind, NT_PAT_REGEX);
    assert_true(m.has_regex[NT_FIELD_HOST]);
    nt_match_free(&m);
  }
}

/* Fields are looked at cheap ones first; the result is the same whatever
 * the order: every field must match. */
static void test_regex_fields_last(void **state) {
  (void)state;
  nt_match_t m = {0};
  add(&m, NT_FIELD_HOST, "/^web[0-9]+$/");
  add(&m, NT_FIELD_PLUGIN, "/^processes$/");
  add(&m, NT_FIELD_MESSAGE, "/ is down$/");
  assert_true(m.has_regex[NT_FIELD_HOST]);
  assert_false(m.has_regex[NT_FIELD_PLUGIN]);
  notification_t n = base();
  assert_true(nt_match(&m, &n));
  strcpy(n.host, "db1");
  assert_false(nt_match(&m, &n));
  n = base();
  strcpy(n.plugin, "process");
  assert_false(nt_match(&m, &n));
  n = base();
  strcpy(n.message, "nginx is up");
  assert_false(nt_match(&m, &n));
  nt_match_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unfiltered_matches_anything),
      cmocka_unit_test(test_exact_values),
      cmocka_unit_test(test_regex_unanchored),
      cmocka_unit_test(test_several_values_any),
      cmocka_unit_test(test_several_fields_all),
      cmocka_unit_test(test_severity_default_failure_only),
      cmocka_unit_test(test_severity_names),
      cmocka_unit_test(test_severity_bad_names),
      cmocka_unit_test(test_invalid_regex),
      cmocka_unit_test(test_free_resets),
      cmocka_unit_test(test_any_bytes),
      cmocka_unit_test(test_plain_regexes),
      cmocka_unit_test(test_regex_fields_last),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
