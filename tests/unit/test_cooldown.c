/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/cooldown.c: one job per identity and window. Time is
 * passed in explicitly: nothing here sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/cooldown.h"
#include "fake_collectd.h"
#include "unit_helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The message is no part of the identity: always the same here. */
static notification_t notif(int severity, const char *host, const char *plugin,
                            const char *plugin_instance, const char *type,
                            const char *type_instance) {
  return th_notif(severity, host, plugin, plugin_instance, type, type_instance,
                  "message");
}

static notification_t base(void) {
  return notif(NOTIF_FAILURE, "web1", "processes", "nginx", "ps_count",
               "procs");
}

static void test_window(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(10, NT_COOLDOWN_CAPACITY);
  assert_non_null(c);
  notification_t n = base();
  assert_true(nt_cooldown_admit(c, &n, 100));
  assert_false(nt_cooldown_admit(c, &n, 100));
  assert_false(nt_cooldown_admit(c, &n, 105));
  assert_false(nt_cooldown_admit(c, &n, 109.999));
  assert_int_equal(nt_cooldown_size(c), 1);
  /* The window is over at start + 10. */
  assert_true(nt_cooldown_admit(c, &n, 110));
  /* ... and a new one opened there. */
  assert_false(nt_cooldown_admit(c, &n, 119.5));
  assert_true(nt_cooldown_admit(c, &n, 120.25));
  nt_cooldown_free(c);
}

static void test_suppressed_do_not_extend(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(10, NT_COOLDOWN_CAPACITY);
  notification_t n = base();
  assert_true(nt_cooldown_admit(c, &n, 0));
  assert_false(nt_cooldown_admit(c, &n, 5));
  assert_false(nt_cooldown_admit(c, &n, 9));
  assert_true(nt_cooldown_admit(c, &n, 10.0));
  nt_cooldown_free(c);
}

static void test_message_not_part_of_identity(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(10, NT_COOLDOWN_CAPACITY);
  notification_t n = base();
  assert_true(nt_cooldown_admit(c, &n, 0));
  snprintf(n.message, sizeof(n.message), "another message");
  n.time = 12345;
  assert_false(nt_cooldown_admit(c, &n, 1));
  nt_cooldown_free(c);
}

static void test_severity_is_identity(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(10, NT_COOLDOWN_CAPACITY);
  notification_t n = base();
  n.severity = NOTIF_WARNING;
  assert_true(nt_cooldown_admit(c, &n, 0));
  /* Escalation to FAILURE still triggers. */
  n.severity = NOTIF_FAILURE;
  assert_true(nt_cooldown_admit(c, &n, 1));
  n.severity = NOTIF_OKAY;
  assert_true(nt_cooldown_admit(c, &n, 2));
  n.severity = NOTIF_WARNING;
  assert_false(nt_cooldown_admit(c, &n, 3));
  n.severity = NOTIF_FAILURE;
  assert_false(nt_cooldown_admit(c, &n, 3));
  assert_int_equal(nt_cooldown_size(c), 3);
  nt_cooldown_free(c);
}

static void test_each_field_is_identity(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(10, NT_COOLDOWN_CAPACITY);
  notification_t n = base();
  assert_true(nt_cooldown_admit(c, &n, 0));
  for (int f = 0; f < 5; f++) {
    n = base();
    char *fields[] = {n.host, n.plugin, n.plugin_instance, n.type,
                      n.type_instance};
    strcat(fields[f], "2");
    if (!nt_cooldown_admit(c, &n, 1))
      fail_msg("field %d is not part of the identity", f);
    if (nt_cooldown_admit(c, &n, 2))
      fail_msg("field %d: the second one is not suppressed", f);
  }
  assert_int_equal(nt_cooldown_size(c), 6);
  nt_cooldown_free(c);
}

static void test_fields_do_not_run_together(void **state) {
  (void)state;
  /* "ab"+"c" and "a"+"bc" are different identities. */
  nt_cooldown_t *c = nt_cooldown_create(10, NT_COOLDOWN_CAPACITY);
  notification_t n1 = notif(NOTIF_FAILURE, "h", "ab", "c", "t", "");
  notification_t n2 = notif(NOTIF_FAILURE, "h", "a", "bc", "t", "");
  notification_t n3 = notif(NOTIF_FAILURE, "h", "a", "b", "ct", "");
  notification_t n4 = notif(NOTIF_FAILURE, "h", "a", "b", "c", "t");
  assert_true(nt_cooldown_admit(c, &n1, 0));
  assert_true(nt_cooldown_admit(c, &n2, 0));
  assert_true(nt_cooldown_admit(c, &n3, 0));
  assert_true(nt_cooldown_admit(c, &n4, 0));
  assert_int_equal(nt_cooldown_size(c), 4);
  nt_cooldown_free(c);
}

static void test_long_fields(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(10, NT_COOLDOWN_CAPACITY);
  notification_t n = base();
  char *fields[] = {n.host, n.plugin, n.plugin_instance, n.type,
                    n.type_instance};
  for (int f = 0; f < 5; f++) {
    memset(fields[f], 'a' + f, DATA_MAX_NAME_LEN - 1);
    fields[f][DATA_MAX_NAME_LEN - 1] = '\0';
  }
  assert_true(nt_cooldown_admit(c, &n, 0));
  assert_false(nt_cooldown_admit(c, &n, 1));
  /* The last byte of the last field still counts. */
  n.type_instance[DATA_MAX_NAME_LEN - 2] = 'Z';
  assert_true(nt_cooldown_admit(c, &n, 1));
  n.severity = NOTIF_WARNING;
  assert_true(nt_cooldown_admit(c, &n, 1));
  nt_cooldown_free(c);
}

static void test_capacity_forgets_the_earliest(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(100, 3);
  notification_t a = notif(NOTIF_FAILURE, "a", "p", "", "t", "");
  notification_t b = notif(NOTIF_FAILURE, "b", "p", "", "t", "");
  notification_t cc = notif(NOTIF_FAILURE, "c", "p", "", "t", "");
  notification_t d = notif(NOTIF_FAILURE, "d", "p", "", "t", "");
  assert_true(nt_cooldown_admit(c, &a, 0));
  assert_true(nt_cooldown_admit(c, &b, 1));
  assert_true(nt_cooldown_admit(c, &cc, 2));
  assert_int_equal(nt_cooldown_size(c), 3);
  /* Suppressed matches change nothing. */
  assert_false(nt_cooldown_admit(c, &a, 3));
  /* A 4th identity: the window that started earliest (a's) is forgotten,
   * and a is let through as new; then b's goes. */
  assert_true(nt_cooldown_admit(c, &d, 4));
  assert_int_equal(nt_cooldown_size(c), 3);
  assert_true(nt_cooldown_admit(c, &a, 5));
  assert_false(nt_cooldown_admit(c, &cc, 6));
  assert_false(nt_cooldown_admit(c, &d, 6));
  assert_true(nt_cooldown_admit(c, &b, 7));
  assert_int_equal(nt_cooldown_size(c), 3);
  nt_cooldown_free(c);
}

/* Threads read the time before the lock: a window found closed opens
 * again, even when an earlier one in start order is still open. */
static void test_found_window_closed(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(10, 100);
  notification_t a = notif(NOTIF_FAILURE, "a", "p", "", "t", "");
  notification_t b = notif(NOTIF_FAILURE, "b", "p", "", "t", "");
  assert_true(nt_cooldown_admit(c, &b, 5));
  assert_true(nt_cooldown_admit(c, &a, 4));  /* added after b, earlier now */
  assert_true(nt_cooldown_admit(c, &a, 14)); /* b, first in line, is open */
  assert_false(nt_cooldown_admit(c, &a, 23.9));
  nt_cooldown_free(c);
}

static void test_closed_windows_forgotten(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(10, 100);
  char host[32];
  for (int i = 0; i < 50; i++) {
    snprintf(host, sizeof(host), "h%d", i);
    notification_t n = notif(NOTIF_FAILURE, host, "p", "", "t", "");
    assert_true(nt_cooldown_admit(c, &n, i * 0.1));
  }
  assert_int_equal(nt_cooldown_size(c), 50);
  notification_t n = notif(NOTIF_FAILURE, "late", "p", "", "t", "");
  assert_true(nt_cooldown_admit(c, &n, 100));
  /* Every old window closed long ago: only the new one is remembered. */
  assert_int_equal(nt_cooldown_size(c), 1);
  nt_cooldown_free(c);
}

static void test_full_capacity(void **state) {
  (void)state;
  /* The real capacity: 10 000 identities; the next makes the earliest
   * forgotten. */
  nt_cooldown_t *c = nt_cooldown_create(3600, NT_COOLDOWN_CAPACITY);
  assert_int_equal(NT_COOLDOWN_CAPACITY, 10000);
  char host[32];
  for (int i = 0; i <= NT_COOLDOWN_CAPACITY; i++) {
    snprintf(host, sizeof(host), "h%d", i);
    notification_t n = notif(NOTIF_FAILURE, host, "p", "", "t", "");
    assert_true(nt_cooldown_admit(c, &n, i * 0.001));
  }
  assert_int_equal(nt_cooldown_size(c), NT_COOLDOWN_CAPACITY);
  notification_t n = notif(NOTIF_FAILURE, "h1", "p", "", "t", "");
  assert_false(nt_cooldown_admit(c, &n, 100));
  n = notif(NOTIF_FAILURE, "h0", "p", "", "t", "");
  assert_true(nt_cooldown_admit(c, &n, 100));
  nt_cooldown_free(c);
}

/* Several threads admitting the same identity at the same time: exactly
 * one is admitted. */
typedef struct {
  nt_cooldown_t *c;
  pthread_barrier_t *barrier;
  int admitted;
} racer_t;

static void *race(void *arg) {
  racer_t *r = arg;
  notification_t n = base();
  pthread_barrier_wait(r->barrier);
  for (int i = 0; i < 1000; i++)
    r->admitted += nt_cooldown_admit(r->c, &n, 1.0);
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  nt_cooldown_t *c = nt_cooldown_create(10, NT_COOLDOWN_CAPACITY);
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, 4);
  pthread_t threads[4];
  racer_t racers[4];
  for (int i = 0; i < 4; i++) {
    racers[i] = (racer_t){.c = c, .barrier = &barrier};
    assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
  }
  int admitted = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(threads[i], NULL);
    admitted += racers[i].admitted;
  }
  assert_int_equal(admitted, 1);
  assert_int_equal(nt_cooldown_size(c), 1);
  pthread_barrier_destroy(&barrier);
  nt_cooldown_free(c);
}

/* nt_cooldown_free gives back every entry and the table, and NULL is
 * nothing to free: with glibc's allocator, what a full set of identities
 * took comes back. */
static void test_free_gives_back_everything(void **state) {
  (void)state;
  long long before = th_heap_in_use();
  nt_cooldown_free(NULL);
  assert_true(th_heap_in_use() == before);

  nt_cooldown_t *c = nt_cooldown_create(10, NT_COOLDOWN_CAPACITY);
  assert_non_null(c);
  notification_t n = base();
  for (int i = 0; i < NT_COOLDOWN_CAPACITY; i++) {
    /* Long hosts: each entry holds some 200 bytes. */
    snprintf(n.host, sizeof(n.host), "%0126d", i);
    assert_true(nt_cooldown_admit(c, &n, 0));
  }
  assert_int_equal(nt_cooldown_size(c), NT_COOLDOWN_CAPACITY);
  long long held = th_heap_in_use() - before;
  nt_cooldown_free(c);
  long long left = th_heap_in_use() - before;
  if (held < (long long)NT_COOLDOWN_CAPACITY * 128)
    return; /* not glibc's allocator (see heap_in_use) */
  /* The allocator may keep a few freed blocks cached, never the bulk. */
  if (left >= held / 100)
    fail_msg("%lld of %lld bytes still held after nt_cooldown_free", left,
             held);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window),
      cmocka_unit_test(test_suppressed_do_not_extend),
      cmocka_unit_test(test_message_not_part_of_identity),
      cmocka_unit_test(test_severity_is_identity),
      cmocka_unit_test(test_each_field_is_identity),
      cmocka_unit_test(test_fields_do_not_run_together),
      cmocka_unit_test(test_long_fields),
      cmocka_unit_test(test_capacity_forgets_the_earliest),
      cmocka_unit_test(test_found_window_closed),
      cmocka_unit_test(test_closed_windows_forgotten),
      cmocka_unit_test(test_full_capacity),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_free_gives_back_everything),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
