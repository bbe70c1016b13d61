/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/windows.c: Confirm's and the budgets' sliding
 * windows at their edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/windows.h"

#include <math.h>
#include <string.h>

#define KEY(s) s, strlen(s)

/* Confirm 3 in 10 s: the third within the window passes, and counting
 * starts again; events that left the window no longer count. */
static void test_confirm(void **state) {
  (void)state;
  nt_windows_t *w = nt_windows_create(3, 10, 100);
  assert_non_null(w);
  assert_false(nt_windows_confirm(w, KEY("a"), 0));
  assert_false(nt_windows_confirm(w, KEY("a"), 5));
  assert_true(nt_windows_confirm(w, KEY("a"), 9.999));
  /* Counting again from zero. */
  assert_false(nt_windows_confirm(w, KEY("a"), 10));
  assert_false(nt_windows_confirm(w, KEY("a"), 11));
  /* At 20 the one at 10 is exactly SECONDS old: out of the window. */
  assert_false(nt_windows_confirm(w, KEY("a"), 20));
  assert_true(nt_windows_confirm(w, KEY("a"), 20.5));
  /* Another subject counts on its own. */
  assert_false(nt_windows_confirm(w, KEY("b"), 21));
  nt_windows_free(w);
}

/* An OKAY starts counting again. */
static void test_confirm_reset(void **state) {
  (void)state;
  nt_windows_t *w = nt_windows_create(2, 60, 100);
  assert_false(nt_windows_confirm(w, KEY("a"), 0));
  nt_windows_reset(w, KEY("a"));
  assert_false(nt_windows_confirm(w, KEY("a"), 1));
  assert_true(nt_windows_confirm(w, KEY("a"), 2));
  /* Confirm 1 lets every one through. */
  nt_windows_t *one = nt_windows_create(1, 60, 100);
  assert_true(nt_windows_confirm(one, KEY("a"), 0));
  assert_true(nt_windows_confirm(one, KEY("a"), 0));
  nt_windows_free(one);
  nt_windows_free(w);
}

/* Budget 2 in 100 s, sliding: the third is refused until the first leaves
 * the window; the first refusal of a run is the one reported. */
static void test_budget(void **state) {
  (void)state;
  nt_windows_t *w = nt_windows_create(2, 100, 100);
  bool first = false;
  double until = 0;
  assert_true(nt_windows_admit(w, KEY("a"), 0, &first, &until));
  assert_true(nt_windows_admit(w, KEY("a"), 30, &first, &until));
  assert_false(nt_windows_admit(w, KEY("a"), 40, &first, &until));
  assert_true(first);
  assert_true(until == 100);
  assert_false(nt_windows_admit(w, KEY("a"), 99.9, &first, &until));
  assert_false(first);
  /* At 100 the first is out: one more, and the run of refusals ends. */
  assert_true(nt_windows_admit(w, KEY("a"), 100, &first, &until));
  assert_false(nt_windows_admit(w, KEY("a"), 101, &first, &until));
  assert_true(first);
  assert_true(until == 130);
  /* Another subject has its own budget. */
  assert_true(nt_windows_admit(w, KEY("b"), 101, &first, &until));
  nt_windows_free(w);
}

/* A job that could not be queued gives its place back. */
static void test_withdraw(void **state) {
  (void)state;
  nt_windows_t *w = nt_windows_create(1, 100, 100);
  bool first = false;
  double until = 0;
  assert_true(nt_windows_admit(w, KEY("a"), 5, &first, &until));
  nt_windows_withdraw(w, KEY("a"), 4); /* not this admission: kept */
  assert_false(nt_windows_admit(w, KEY("a"), 6, &first, &until));
  nt_windows_withdraw(w, KEY("a"), 5);
  assert_true(nt_windows_admit(w, KEY("a"), 7, &first, &until));
  nt_windows_free(w);
}

/* A withdrawal takes back its own admission, even when another one came
 * after it. */
static void test_withdraw_out_of_order(void **state) {
  (void)state;
  nt_windows_t *w = nt_windows_create(3, 100, 10);
  bool first = false;
  double until = 0;
  assert_true(nt_windows_admit(w, KEY("a"), 5, &first, &until));
  assert_true(nt_windows_admit(w, KEY("a"), 6, &first, &until));
  nt_windows_withdraw(w, KEY("a"), 5);
  assert_true(nt_windows_changed(w));
  assert_true(nt_windows_admit(w, KEY("a"), 7, &first, &until));
  assert_true(nt_windows_admit(w, KEY("a"), 8, &first, &until));
  assert_false(nt_windows_admit(w, KEY("a"), 9, &first, &until));
  assert_true(until == 106); /* 6 is the oldest left */
  nt_windows_free(w);
}

/* Bounded: the least recently used key is forgotten first, but never one
 * whose window still runs (that would give it its budget back): while all
 * do, a new key is refused, without a run to report. */
static void test_bound(void **state) {
  (void)state;
  nt_windows_t *w = nt_windows_create(1, 100, 2);
  bool first;
  double until;
  assert_true(nt_windows_admit(w, KEY("a"), 0, &first, &until));
  assert_true(nt_windows_admit(w, KEY("b"), 0, &first, &until));
  assert_false(nt_windows_admit(w, KEY("a"), 1, &first, &until)); /* used */
  first = true;
  assert_false(nt_windows_admit(w, KEY("c"), 1, &first, &until)); /* full */
  assert_false(first);
  assert_true(isnan(until)); /* refused for want of room */
  assert_false(nt_windows_admit(w, KEY("b"), 99, &first, &until));
  /* At 100 a's and b's windows are over: the least recently used (a) goes
   * to make room. */
  assert_true(nt_windows_admit(w, KEY("c"), 100, &first, &until));
  assert_true(nt_windows_admit(w, KEY("a"), 100, &first, &until)); /* b goes */
  assert_false(nt_windows_admit(w, KEY("c"), 101, &first, &until));
  nt_windows_free(w);
}

/* A refusal is state too: a restart must not report the same run again. */
static void test_refusal_is_saved(void **state) {
  (void)state;
  nt_windows_t *w = nt_windows_create(1, 100, 10);
  bool first;
  double until;
  nt_buf_t out = NT_BUF_INIT;
  assert_true(nt_windows_admit(w, KEY("a"), 0, &first, &until));
  nt_windows_save(w, "b", &out, 0, 1000);
  assert_false(nt_windows_changed(w));
  assert_false(nt_windows_admit(w, KEY("a"), 1, &first, &until));
  assert_true(first);
  assert_true(nt_windows_changed(w));
  nt_buf_free(&out);
  out = (nt_buf_t)NT_BUF_INIT;
  nt_windows_save(w, "b", &out, 1, 1001);
  assert_non_null(out.data);
  assert_string_equal(out.data, "b 61 1 1000.000000\n");
  nt_windows_t *again = nt_windows_create(1, 100, 10);
  assert_int_equal(nt_windows_restore(again, out.data + 2, 50, 1050), 0);
  assert_false(nt_windows_admit(again, KEY("a"), 51, &first, &until));
  assert_false(first); /* reported before the restart */
  assert_true(until == 100);
  nt_buf_free(&out);
  nt_windows_free(again);
  nt_windows_free(w);
}

/* A restored time to come counts as now (the wall clock went back since
 * the save, or the file is damaged); one that is not a number is refused. */
static void test_restore_times(void **state) {
  (void)state;
  nt_windows_t *w = nt_windows_create(1, 100, 10);
  bool first;
  double until;
  /* Wall 5000 is monotonic 10: a window at wall 1e9 would hold for ever. */
  assert_int_equal(nt_windows_restore(w, "61 0 1000000000", 10, 5000), 0);
  assert_false(nt_windows_admit(w, KEY("a"), 109, &first, &until));
  assert_true(until == 110);
  assert_true(nt_windows_admit(w, KEY("a"), 110, &first, &until));
  const char *bad[] = {"62 0 nan", "62 0 inf", "62 0 -inf", "62 0 1 nan"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
    assert_int_equal(nt_windows_restore(w, bad[i], 10, 5000), -1);
  nt_windows_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_confirm),
      cmocka_unit_test(test_confirm_reset),
      cmocka_unit_test(test_budget),
      cmocka_unit_test(test_withdraw),
      cmocka_unit_test(test_withdraw_out_of_order),
      cmocka_unit_test(test_bound),
      cmocka_unit_test(test_refusal_is_saved),
      cmocka_unit_test(test_restore_times),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
