/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/state.c: the remediation state written and read
 * back (subjects, episodes, budgets), and a damaged one refused whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/state.h"
#include "../../plugin/subjects.h"
#include "../../plugin/windows.h"
#include "fake_collectd.h"
#include "unit_helpers.h"

#include <stdlib.h>
#include <string.h>

#define ID1 "5f0c1a2b3c4d5e6f7a8b9c0d"
#define SECRET                                                                 \
  "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

static void load(nt_config_t *cfg) {
  nt_config_init(cfg);
  item_t root =
      PLUGIN(OPT("URL", S("http://127.0.0.1:9")),
             TASK("fix", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)),
                  OPT("Budget", N(2), N(100))),
             TASK("fleet", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)),
                  OPT("TaskBudget", N(1), N(100))));
  assert_int_equal(nt_config_block(cfg, &root), 0);
  th_item_free(&root);
  assert_int_equal(nt_config_finalize(cfg), 0);
}

static notification_t of(int severity, const char *host) {
  return th_notif(severity, host, "svc", "", "", "", "m");
}

static nt_subject_info_t note(nt_config_t *cfg, int severity, const char *host,
                              double now) {
  notification_t n = of(severity, host);
  nt_subject_info_t info;
  nt_subjects_note(cfg->subjects, &n, now, &info);
  return info;
}

/* What one run knew, the next knows: an incident and its episode, a
 * subject once failing, the budgets spent (their times moved from one
 * run's monotonic clock to the next's through the wall clock). */
static void test_round_trip(void **state) {
  (void)state;
  nt_config_t a, b;
  load(&a);
  load(&b);
  nt_subject_info_t incident = note(&a, NOTIF_FAILURE, "h1", 5000);
  note(&a, NOTIF_FAILURE, "h2", 5001);
  note(&a, NOTIF_OKAY, "h2", 5002); /* over: seen failing, no episode */
  note(&a, NOTIF_OKAY, "h3", 5003); /* only ever OKAY: as good as new */
  bool first;
  double until;
  char key[] = "h1";
  assert_true(
      nt_windows_admit(a.tasks[0]->budgets, key, 2, 10, &first, &until));
  assert_true(
      nt_windows_admit(a.tasks[1]->task_budgets, "", 0, 20, &first, &until));
  assert_true(nt_state_changed(&a));
  size_t len;
  /* Monotonic 30 is wall 1000 in the first run... */
  char *data = nt_state_encode(&a, 30, 1000, &len);
  assert_non_null(data);
  assert_false(nt_state_changed(&a));
  assert_int_equal(strlen(data), len);
  /* ... and monotonic 7 is wall 1010 in the next. */
  char err[128] = "";
  assert_int_equal(nt_state_decode(&b, data, len, 7, 1010, err, sizeof(err)),
                   0);
  free(data);
  nt_subject_info_t again = note(&b, NOTIF_WARNING, "h1", 6000);
  assert_true(again.seen_other);
  assert_string_equal(again.episode, incident.episode);
  nt_subject_info_t okay = note(&b, NOTIF_OKAY, "h2", 6001);
  assert_true(okay.seen_other);
  assert_string_equal(okay.episode, "");
  assert_false(note(&b, NOTIF_OKAY, "h3", 6002).seen_other);
  /* The budgets: h1 ran at wall 980 (monotonic -23 now), once of 2: one
   * more, then refused until monotonic 77; the fleet ran at wall 990
   * (monotonic -13), once of 1: refused until monotonic 87. */
  assert_true(nt_windows_admit(b.tasks[0]->budgets, key, 2, 8, &first, &until));
  assert_false(
      nt_windows_admit(b.tasks[0]->budgets, key, 2, 9, &first, &until));
  assert_true(until > 76.9 && until < 77.1);
  assert_false(
      nt_windows_admit(b.tasks[1]->task_budgets, "", 0, 10, &first, &until));
  assert_true(until > 86.9 && until < 87.1);
  assert_true(
      nt_windows_admit(b.tasks[1]->task_budgets, "", 0, 87.1, &first, &until));
  nt_config_free(&a);
  nt_config_free(&b);
}

/* A damaged file restores nothing. */
static void test_damaged(void **state) {
  (void)state;
  nt_config_t a, b;
  load(&a);
  load(&b);
  note(&a, NOTIF_FAILURE, "h1", 5000);
  size_t len;
  char *data = nt_state_encode(&a, 30, 1000, &len);
  assert_non_null(data);
  char err[128] = "";
  char *s = strstr(data, "\ns ");
  assert_non_null(s);
  s[3] ^= 1; /* one bit of the subject's key */
  assert_int_equal(nt_state_decode(&b, data, len, 7, 1010, err, sizeof(err)),
                   -1);
  assert_non_null(strstr(err, "checksum"));
  assert_false(note(&b, NOTIF_OKAY, "h1", 6000).seen_other);
  char junk[] = "not a state\n";
  assert_int_equal(
      nt_state_decode(&b, junk, strlen(junk), 7, 1010, err, sizeof(err)), -1);
  free(data);
  nt_config_free(&a);
  nt_config_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_damaged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
