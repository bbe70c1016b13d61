/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/log.c: what a server says is cleared of secrets
 * before it is cut short, and complaints are rate-limited from any
 * thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/log.h"
#include "fake_collectd.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SECRET                                                                 \
  "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

static void test_redact_every_occurrence(void **state) {
  (void)state;
  char msg[] = "Cannot POST /x/job/secret/" SECRET "?c=" SECRET "!";
  nt_redact(msg, SECRET);
  assert_null(strstr(msg, "a1b2c3d4"));
  assert_string_equal(msg + strlen(msg) - 1, "!");
  assert_int_equal(strlen(msg), strlen("Cannot POST /x/job/secret/?c=!") + 128);
  /* Nothing to redact, or no word at all: unchanged. */
  char plain[] = "nothing here";
  nt_redact(plain, SECRET);
  nt_redact(plain, "");
  nt_redact(plain, NULL);
  assert_string_equal(plain, "nothing here");
  /* A word that redaction itself writes must not loop forever. */
  char stars[] = "a * b ** c";
  nt_redact(stars, "*");
  assert_string_equal(stars, "a * b ** c");
}

static void test_redact_hex_runs(void **state) {
  (void)state;
  /* 31 digits stay (ids and hashes people need), 32 and more go. */
  char msg[] = "id 0123456789abcdef0123456789abcde job "
               "0123456789ABCDEF0123456789abcdef secret "
               "ffffffffffffffffffffffffffffffffffffffffffffffff0";
  nt_redact_hex_runs(msg, 32);
  assert_non_null(strstr(msg, "id 0123456789abcdef0123456789abcde job "));
  assert_non_null(strstr(msg, "job ******************************** secret"));
  assert_null(strstr(msg, "ffff"));
  char end[] = "0123456789abcdef0123456789abcdef";
  nt_redact_hex_runs(end, 32);
  assert_string_equal(end, "********************************");
}

static void test_redact_then_cut_leaks_no_digit(void **state) {
  (void)state;
  /* The secret straddles the cut: redacting first leaves none of it. */
  for (size_t prefix = 150; prefix < 230; prefix++) {
    char msg[512];
    memset(msg, 'p', prefix);
    snprintf(msg + prefix, sizeof(msg) - prefix, "/job/secret/%s?customer=a",
             SECRET);
    nt_redact(msg, SECRET);
    nt_redact_hex_runs(msg, 32);
    nt_cut(msg, 200);
    assert_true(strlen(msg) <= 200);
    assert_null(strstr(msg, "a1b2"));
  }
}

static void test_cut(void **state) {
  (void)state;
  char short_msg[] = "fits";
  nt_cut(short_msg, 10);
  assert_string_equal(short_msg, "fits");
  char long_msg[] = "0123456789abcdef";
  nt_cut(long_msg, 10);
  assert_string_equal(long_msg, "0123456...");
  /* Never inside a UTF-8 sequence: "é" is two bytes. */
  char utf8[] = "abcdef\xC3\xA9zzzz";
  nt_cut(utf8, 10);
  assert_string_equal(utf8, "abcdef...");
}

static nt_complaint_t shared;

static void *complain_a_lot(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++)
    nt_complain(&shared, 5.0, LOG_ERR, "Task \"t\": failing");
  return NULL;
}

static void test_complain_from_many_threads(void **state) {
  (void)state;
  fake_log_reset();
  pthread_t threads[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&threads[i], NULL, complain_a_lot, NULL),
                     0);
  for (int i = 0; i < 4; i++)
    pthread_join(threads[i], NULL);
  /* 4000 occurrences at one instant: one line, the rest counted. */
  assert_int_equal(fake_log_count(), 1);
  nt_complain(&shared, 100.0, LOG_ERR, "Task \"t\": failing");
  assert_int_equal(fake_log_count(), 2);
  assert_non_null(
      strstr(fake_log_line(1), "(3999 more since the last report)"));
  assert_int_equal(
      strncmp(fake_log_line(1), NT_LOG_PREFIX, strlen(NT_LOG_PREFIX)), 0);
  nt_release(&shared, LOG_NOTICE, "Task \"t\": delivers again");
  nt_release(&shared, LOG_NOTICE, "Task \"t\": delivers again");
  assert_int_equal(fake_log_count_level(LOG_NOTICE, "delivers again"), 1);
}

/* Failures told apart by a key are rate-limited each on its own: a new key
 * is logged at once, keys that alternate are not; a reset ends them all
 * silently. */
static void test_complain_about_keys(void **state) {
  (void)state;
  nt_complaint_t c = {0};
  fake_log_reset();
  nt_complain_about(&c, 404, 1.0, LOG_ERR, "HTTP 404");
  nt_complain_about(&c, 404, 2.0, LOG_ERR, "HTTP 404");
  nt_complain_about(&c, 400, 3.0, LOG_ERR, "HTTP 400");
  for (int i = 0; i < 10; i++) {
    nt_complain_about(&c, 400, 4.0, LOG_ERR, "HTTP 400");
    nt_complain_about(&c, 404, 4.0, LOG_ERR, "HTTP 404");
  }
  assert_int_equal(fake_log_count(), 2);
  /* 404's interval (10 s) has passed: its own count, not 400's. */
  nt_complain_about(&c, 404, 11.5, LOG_ERR, "HTTP 404");
  assert_int_equal(fake_log_count(), 3);
  assert_non_null(strstr(fake_log_line(2), "HTTP 404 (11 more since"));
  /* More keys than slots: the one due soonest makes room. */
  for (long key = 500; key < 500 + NT_COMPLAINT_KEYS; key++)
    nt_complain_about(&c, key, 12.0, LOG_ERR, "another");
  assert_int_equal(fake_log_count(), 3 + NT_COMPLAINT_KEYS);
  assert_true(nt_complaint_reset(&c));
  assert_false(nt_complaint_reset(&c));
  nt_complain_about(&c, 400, 13.0, LOG_ERR, "HTTP 400");
  assert_int_equal(fake_log_count(), 4 + NT_COMPLAINT_KEYS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_redact_every_occurrence),
      cmocka_unit_test(test_redact_hex_runs),
      cmocka_unit_test(test_redact_then_cut_leaks_no_digit),
      cmocka_unit_test(test_cut),
      cmocka_unit_test(test_complain_from_many_threads),
      cmocka_unit_test(test_complain_about_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
