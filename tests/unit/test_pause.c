/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/pause.c: the time in a PauseFile, and the verdict
 * of a look at the file as it appears, changes and goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/pause.h"
#include "fake_collectd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect_time(const char *line, double want) {
  double until = -1;
  if (nt_pause_parse_time(line, &until) != 0)
    fail_msg("\"%s\" does not parse", line);
  if (fabs(until - want) > 1e-6)
    fail_msg("\"%s\" gave %.6f, not %.6f", line, until, want);
}

static void test_times(void **state) {
  (void)state;
  expect_time("1798092000", 1798092000);
  expect_time("  1798092000.25 \n", 1798092000.25);
  expect_time("2026-12-24T06:00:00Z", 1798092000);
  expect_time("2026-12-24T06:00:00.5Z\nmaintenance of the disks\n",
              1798092000.5);
  expect_time("2026-12-24T07:30:00+01:30", 1798092000);
  expect_time("2026-12-24T01:00:00-05:00", 1798092000);
  expect_time("2026-12-24 06:00:00+00:00", 1798092000); /* date(1) */
  expect_time("2026-12-24t06:00:00z", 1798092000);
  double until;
  assert_int_equal(nt_pause_parse_time("", &until), 1);
  assert_int_equal(nt_pause_parse_time("   \n", &until), 1);
  assert_int_equal(nt_pause_parse_time("\nlater lines do not count", &until),
                   1);
  static const char *bad[] = {"tomorrow",
                              "0x10",
                              "1e9",
                              "2026-02-30T06:00:00Z",
                              "2026-12-24T06:00:60Z",
                              "2026-12-24",
                              "2026-12-24T06:00:00",
                              "2026-12-24T06:00:00+1",
                              "1e3x",
                              "-5",
                              "2026-12-24T06:00:00.Z",
                              "2026-12-24T06:00:00+25:00"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
    if (nt_pause_parse_time(bad[i], &until) != -1)
      fail_msg("\"%s\" parsed", bad[i]);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* A file without a time pauses until it goes; one whose time is still to
 * come pauses until then; a time past, or that passes, pauses nothing and
 * says once that the file should go. Start and end are logged. */
static void test_verdicts(void **state) {
  (void)state;
  char dir[] = "/tmp/nt-pause-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[64];
  snprintf(path, sizeof(path), "%s/pause", dir);
  nt_pause_t *p = nt_pause_create(path);
  assert_non_null(p);
  fake_log_reset();
  nt_pause_check(p, 1000);
  assert_false(nt_pause_active(p));
  assert_int_equal(fake_log_count(), 0);

  write_file(path, "");
  nt_pause_check(p, 1001);
  assert_true(nt_pause_active(p));
  assert_true(fake_log_contains("paused: PauseFile"));
  unlink(path);
  nt_pause_check(p, 1002);
  assert_false(nt_pause_active(p));
  assert_true(fake_log_contains("pause over"));

  fake_log_reset();
  write_file(path, "2000\n");
  nt_pause_check(p, 1003);
  assert_true(nt_pause_active(p));
  nt_pause_check(p, 1999.9);
  assert_true(nt_pause_active(p));
  nt_pause_check(p, 2000);
  assert_false(nt_pause_active(p));
  assert_int_equal(fake_log_count_level(LOG_WARNING, "has passed"), 1);
  nt_pause_check(p, 2001); /* said once */
  assert_int_equal(fake_log_count_level(LOG_WARNING, "has passed"), 1);
  unlink(path);
  nt_pause_check(p, 2002);

  /* A time already past when the file appears: no pause at all. */
  fake_log_reset();
  write_file(path, "1500\n");
  nt_pause_check(p, 2003);
  assert_false(nt_pause_active(p));
  assert_int_equal(fake_log_count_level(LOG_WARNING, "has passed"), 1);
  assert_false(fake_log_contains("paused: PauseFile"));

  /* Not a time: paused until removed, with a WARNING. */
  unlink(path);
  nt_pause_check(p, 2004);
  fake_log_reset();
  write_file(path, "until the disks are replaced\n");
  nt_pause_check(p, 2005);
  assert_true(nt_pause_active(p));
  assert_int_equal(fake_log_count_level(LOG_WARNING, "is not a time"), 1);
  unlink(path);
  nt_pause_free(p);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_times),
      cmocka_unit_test(test_verdicts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
