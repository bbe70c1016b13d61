/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/subjects.c: what the plugin remembers of each
 * subject, its episodes and their ids, the bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/subjects.h"
#include "fake_collectd.h"
#include "unit_helpers.h"

#include <stdio.h>
#include <string.h>

static notification_t of(int severity, const char *host) {
  return th_notif(severity, host, "df", "root", "percent_bytes", "used",
                  "disk almost full");
}

static nt_subject_info_t note(nt_subjects_t *s, int severity, const char *host,
                              double now) {
  notification_t n = of(severity, host);
  nt_subject_info_t info;
  nt_subjects_note(s, &n, now, &info);
  return info;
}

static bool is_id(const char *episode) {
  if (strlen(episode) != NT_EPISODE_LEN)
    return false;
  for (const char *c = episode; *c != '\0'; c++)
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
      return false;
  return true;
}

/* An OKAY never preceded by anything else: seen in no other state, no
 * episode. */
static void test_first_okay(void **state) {
  (void)state;
  nt_subjects_t *s = nt_subjects_create(10);
  assert_non_null(s);
  nt_subject_info_t i = note(s, NOTIF_OKAY, "web1", 100);
  assert_false(i.seen_other);
  assert_string_equal(i.episode, "");
  i = note(s, NOTIF_OKAY, "web1", 101);
  assert_false(i.seen_other);
  assert_string_equal(i.episode, "");
  nt_subjects_free(s);
}

/* One incident: every notification of it carries one id, the OKAY that ends
 * it too; the next incident has another. */
static void test_episode(void **state) {
  (void)state;
  nt_subjects_t *s = nt_subjects_create(10);
  nt_subject_info_t fail = note(s, NOTIF_FAILURE, "web1", 100);
  assert_false(fail.seen_other);
  assert_true(is_id(fail.episode));
  nt_subject_info_t warn = note(s, NOTIF_WARNING, "web1", 105);
  assert_true(warn.seen_other);
  assert_string_equal(warn.episode, fail.episode);
  nt_subject_info_t again = note(s, NOTIF_FAILURE, "web1", 110);
  assert_string_equal(again.episode, fail.episode);
  nt_subject_info_t okay = note(s, NOTIF_OKAY, "web1", 120);
  assert_true(okay.seen_other);
  assert_string_equal(okay.episode, fail.episode);
  /* After the OKAY: no episode until the next failure, a new one. */
  okay = note(s, NOTIF_OKAY, "web1", 121);
  assert_true(okay.seen_other);
  assert_string_equal(okay.episode, "");
  nt_subject_info_t next = note(s, NOTIF_FAILURE, "web1", 130);
  assert_true(is_id(next.episode));
  assert_string_not_equal(next.episode, fail.episode);
  nt_subjects_free(s);
}

/* The id depends on the subject and the episode's start alone: the same in
 * another table (another Task, a restart that remembers the start), and
 * different for another subject at the same instant. */
static void test_ids(void **state) {
  (void)state;
  nt_subjects_t *a = nt_subjects_create(10), *b = nt_subjects_create(10);
  nt_subject_info_t ia = note(a, NOTIF_FAILURE, "web1", 100.25);
  nt_subject_info_t ib = note(b, NOTIF_FAILURE, "web1", 100.25);
  assert_string_equal(ia.episode, ib.episode);
  nt_subject_info_t other = note(a, NOTIF_FAILURE, "web2", 100.25);
  assert_string_not_equal(other.episode, ia.episode);
  nt_subjects_free(a);
  nt_subjects_free(b);
}

/* Two episodes never share an id, even when the clock goes back or stands
 * still between them. */
static void test_clock_going_back(void **state) {
  (void)state;
  nt_subjects_t *s = nt_subjects_create(10);
  char seen[8][NT_EPISODE_LEN + 1];
  double times[8] = {100, 100, 50, 50, 100, 99, 100, 100};
  for (int k = 0; k < 8; k++) {
    nt_subject_info_t i = note(s, NOTIF_FAILURE, "web1", times[k]);
    snprintf(seen[k], sizeof(seen[k]), "%s", i.episode);
    for (int j = 0; j < k; j++)
      assert_string_not_equal(seen[j], seen[k]);
    note(s, NOTIF_OKAY, "web1", times[k]);
  }
  nt_subjects_free(s);
}

/* Bounded: past the capacity the least recently seen subject is forgotten,
 * not one seen lately. */
static void test_bound(void **state) {
  (void)state;
  nt_subjects_t *s = nt_subjects_create(3);
  note(s, NOTIF_FAILURE, "a", 1);
  note(s, NOTIF_FAILURE, "b", 2);
  note(s, NOTIF_FAILURE, "c", 3);
  note(s, NOTIF_FAILURE, "a", 4); /* a seen again: b is now the oldest */
  note(s, NOTIF_FAILURE, "d", 5);
  assert_int_equal(nt_subjects_size(s), 3);
  assert_true(note(s, NOTIF_OKAY, "a", 6).seen_other);
  assert_false(note(s, NOTIF_OKAY, "b", 7).seen_other); /* forgotten */
  nt_subjects_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_okay),
      cmocka_unit_test(test_episode),
      cmocka_unit_test(test_ids),
      cmocka_unit_test(test_clock_going_back),
      cmocka_unit_test(test_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
