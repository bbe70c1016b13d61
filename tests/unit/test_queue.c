/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/queue.c: lanes in arrival order, retries that hold a
 * lane, the bound, expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/config.h"
#include "../../plugin/queue.h"
#include "fake_collectd.h"
#include "unit_helpers.h"

#include <stdlib.h>
#include <string.h>

/* Two Tasks, only their addresses matter. */
static nt_task_t task_a, task_b;

static uint64_t next_seq;

static nt_job_t *job(size_t lane, nt_task_t *task, double deadline) {
  nt_job_t *j = malloc(sizeof(nt_job_t) + 1);
  assert_non_null(j);
  memset(j, 0, sizeof(*j));
  j->lane = lane;
  j->task = task;
  j->task_index = task == &task_b ? 1 : 0;
  j->seq = next_seq++;
  j->arrival = 0;
  j->deadline = deadline;
  j->body_len = 0;
  j->body[0] = '\0';
  return j;
}

static int setup(void **state) {
  (void)state;
  next_seq = 0;
  return 0;
}

static size_t list_length(const nt_job_t *j) {
  size_t n = 0;
  for (; j != NULL; j = j->next)
    n++;
  return n;
}

static bool list_has(const nt_job_t *list, const nt_job_t *j) {
  for (; list != NULL; list = list->next)
    if (list == j)
      return true;
  return false;
}

static void free_list(nt_job_t *j) {
  while (j != NULL) {
    nt_job_t *next = j->next;
    free(j);
    j = next;
  }
}

/* Takes the next job, which must be want; marks it done. */
static void take_and_remove(nt_queue_t *q, double now, nt_job_t *want) {
  double due;
  nt_job_t *got = nt_queue_take(q, now, &due);
  assert_ptr_equal(got, want);
  assert_true(got->in_flight);
  nt_queue_remove(q, got);
  free(got);
}

static void test_empty(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 2, 1, 2);
  assert_non_null(q);
  double due = 0;
  assert_null(nt_queue_take(q, 0, &due));
  assert_true(due > 1e9); /* nothing is due: a huge value */
  assert_int_equal(nt_queue_waiting(q), 0);
  assert_null(nt_queue_expire(q, 1e9));
  assert_null(nt_queue_drain(q));
  nt_queue_free(q);
  nt_queue_free(NULL);
}

static void test_arrival_order_across_lanes(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 3, 1, 2);
  nt_job_t *j0 = job(2, &task_a, 100);
  nt_job_t *j1 = job(0, &task_b, 100);
  nt_job_t *j2 = job(2, &task_a, 100);
  nt_job_t *j3 = job(1, &task_b, 100);
  nt_job_t *j4 = job(0, &task_a, 100);
  nt_job_t *all[] = {j0, j1, j2, j3, j4};
  for (size_t i = 0; i < 5; i++) {
    assert_null(nt_queue_push(q, all[i]));
    assert_int_equal(nt_queue_waiting(q), i + 1);
  }
  for (size_t i = 0; i < 5; i++) {
    take_and_remove(q, 0, all[i]);
    assert_int_equal(nt_queue_waiting(q), 4 - i);
  }
  double due;
  assert_null(nt_queue_take(q, 0, &due));
  nt_queue_free(q);
}

static void test_busy_lane_skipped(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 2, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 100);
  nt_job_t *a2 = job(0, &task_a, 100);
  nt_job_t *b1 = job(1, &task_b, 100);
  nt_queue_push(q, a1);
  nt_queue_push(q, a2);
  nt_queue_push(q, b1);
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a1);
  /* Lane 0 is busy with a1: a2 waits, b1 goes. */
  assert_ptr_equal(nt_queue_take(q, 0, &due), b1);
  /* Both lanes busy now. */
  assert_null(nt_queue_take(q, 0, &due));
  assert_int_equal(nt_queue_waiting(q), 1);
  nt_queue_remove(q, b1);
  free(b1);
  assert_null(nt_queue_take(q, 0, &due));
  nt_queue_remove(q, a1);
  free(a1);
  assert_ptr_equal(nt_queue_take(q, 0, &due), a2);
  assert_int_equal(nt_queue_waiting(q), 0);
  nt_queue_remove(q, a2);
  free(a2);
  assert_int_equal(nt_queue_waiting(q), 0);
  assert_null(nt_queue_take(q, 0, &due));
  nt_queue_free(q);
}

static void test_retry_holds_lane(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 2, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 1000);
  nt_job_t *a2 = job(0, &task_a, 1000);
  nt_job_t *b1 = job(1, &task_b, 1000);
  nt_job_t *b2 = job(1, &task_b, 1000);
  nt_queue_push(q, a1);
  nt_queue_push(q, a2);
  double due;
  assert_ptr_equal(nt_queue_take(q, 10, &due), a1);
  nt_queue_retry(q, a1, 15);
  assert_false(a1->in_flight);
  /* The retry-waiting head counts as waiting. */
  assert_int_equal(nt_queue_waiting(q), 2);
  assert_int_equal(nt_queue_length_for(q, 0), 2);

  /* Before not_before: nothing of lane 0, and the time it opens. */
  due = 0;
  assert_null(nt_queue_take(q, 10, &due));
  assert_true(due == 15);
  due = 0;
  assert_null(nt_queue_take(q, 14.999, &due));
  assert_true(due == 15);

  /* Other lanes go on meanwhile, even with later jobs. */
  nt_queue_push(q, b1);
  nt_queue_push(q, b2);
  assert_ptr_equal(nt_queue_take(q, 11, &due), b1);
  nt_queue_remove(q, b1);
  free(b1);
  assert_ptr_equal(nt_queue_take(q, 11, &due), b2);
  nt_queue_remove(q, b2);
  free(b2);
  due = 0;
  assert_null(nt_queue_take(q, 12, &due));
  assert_true(due == 15);

  /* At not_before, the same head goes first, then the rest of its lane. */
  assert_ptr_equal(nt_queue_take(q, 15, &due), a1);
  assert_true(a1->in_flight);
  assert_int_equal(nt_queue_waiting(q), 1);
  nt_queue_remove(q, a1);
  free(a1);
  /* Done with: the lane opens at once. */
  assert_ptr_equal(nt_queue_take(q, 15, &due), a2);
  nt_queue_remove(q, a2);
  free(a2);
  nt_queue_free(q);
}

static void test_retry_next_due_earliest(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 3, 1, 2);
  nt_job_t *a = job(0, &task_a, 1000);
  nt_job_t *b = job(1, &task_b, 1000);
  nt_job_t *c = job(2, &task_b, 1000);
  nt_queue_push(q, a);
  nt_queue_push(q, b);
  nt_queue_push(q, c);
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a);
  assert_ptr_equal(nt_queue_take(q, 0, &due), b);
  nt_queue_retry(q, a, 30);
  nt_queue_retry(q, b, 20);
  /* c is in flight; a and b wait: the earliest is reported. */
  assert_ptr_equal(nt_queue_take(q, 0, &due), c);
  due = 0;
  assert_null(nt_queue_take(q, 1, &due));
  assert_true(due == 20);
  assert_ptr_equal(nt_queue_take(q, 20, &due), b);
  due = 0;
  assert_null(nt_queue_take(q, 21, &due));
  assert_true(due == 30);
  nt_queue_free(q);
}

static void test_overflow_drops_oldest_waiting(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(2, 2, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 100);
  nt_job_t *a2 = job(0, &task_a, 100);
  nt_job_t *b1 = job(1, &task_b, 100);
  nt_job_t *a3 = job(0, &task_a, 100);
  nt_queue_push(q, a1);
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a1); /* in flight */
  assert_null(nt_queue_push(q, a2));
  assert_null(nt_queue_push(q, b1));
  assert_int_equal(nt_queue_waiting(q), 2);
  /* Full: the oldest waiting job is a2, not a1 in flight. */
  nt_job_t *dropped = nt_queue_push(q, a3);
  assert_ptr_equal(dropped, a2);
  assert_null(dropped->next);
  free(dropped);
  assert_int_equal(nt_queue_waiting(q), 2);
  /* The Task's length counts its job in flight. */
  assert_int_equal(nt_queue_length_for(q, 0), 2);
  assert_int_equal(nt_queue_length_for(q, 1), 1);
  /* The in-flight job is still there and completes normally. */
  assert_true(a1->in_flight);
  nt_queue_remove(q, a1);
  free(a1);
  /* What is left comes out in order: b1, then a3. */
  take_and_remove(q, 0, b1);
  take_and_remove(q, 0, a3);
  assert_int_equal(nt_queue_waiting(q), 0);
  nt_queue_free(q);
}

static void test_overflow_other_lane_older(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(2, 2, 1, 2);
  nt_job_t *b1 = job(1, &task_b, 100);
  nt_job_t *a1 = job(0, &task_a, 100);
  nt_job_t *a2 = job(0, &task_a, 100);
  nt_queue_push(q, b1);
  nt_queue_push(q, a1);
  nt_job_t *dropped = nt_queue_push(q, a2);
  assert_ptr_equal(dropped, b1);
  free(dropped);
  take_and_remove(q, 0, a1);
  take_and_remove(q, 0, a2);
  nt_queue_free(q);
}

static void test_overflow_limit_one(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(1, 1, 1, 2);
  nt_job_t *j1 = job(0, &task_a, 100);
  nt_job_t *j2 = job(0, &task_a, 100);
  nt_job_t *j3 = job(0, &task_a, 100);
  assert_null(nt_queue_push(q, j1));
  nt_job_t *d = nt_queue_push(q, j2);
  assert_ptr_equal(d, j1);
  free(d);
  d = nt_queue_push(q, j3);
  assert_ptr_equal(d, j2);
  free(d);
  assert_int_equal(nt_queue_waiting(q), 1);
  take_and_remove(q, 0, j3);
  nt_queue_free(q);
}

static void test_overflow_drops_retry_waiting_head(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(2, 2, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 100);
  nt_job_t *b1 = job(1, &task_b, 100);
  nt_job_t *b2 = job(1, &task_b, 100);
  nt_queue_push(q, a1);
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a1);
  nt_queue_retry(q, a1, 50);
  nt_queue_push(q, b1);
  assert_int_equal(nt_queue_waiting(q), 2);
  /* a1 waits for its retry: it is the oldest waiting job. */
  nt_job_t *dropped = nt_queue_push(q, b2);
  assert_ptr_equal(dropped, a1);
  free(dropped);
  assert_int_equal(nt_queue_waiting(q), 2);
  assert_int_equal(nt_queue_length_for(q, 0), 0);
  take_and_remove(q, 0, b1);
  take_and_remove(q, 0, b2);
  nt_queue_free(q);
}

static void test_expire(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 2, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 10); /* will be in flight */
  nt_job_t *a2 = job(0, &task_a, 10);
  nt_job_t *a4 = job(0, &task_a, 20);
  nt_job_t *a3 = job(0, &task_a, 30);
  nt_job_t *b1 = job(1, &task_b, 20);
  nt_job_t *b2 = job(1, &task_b, 40);
  nt_job_t *all[] = {a1, a2, a3, a4, b1, b2};
  for (size_t i = 0; i < 6; i++)
    nt_queue_push(q, all[i]);
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a1);

  assert_null(nt_queue_expire(q, 9.9));
  assert_int_equal(nt_queue_waiting(q), 5);

  /* At 20: a2 (10), a4 (20), b1 (20) go; a1 is in flight and stays. */
  nt_job_t *gone = nt_queue_expire(q, 20);
  assert_int_equal(list_length(gone), 3);
  assert_true(list_has(gone, a2));
  assert_true(list_has(gone, a4));
  assert_true(list_has(gone, b1));
  free_list(gone);
  assert_int_equal(nt_queue_waiting(q), 2);
  assert_int_equal(nt_queue_length_for(q, 0), 2); /* a1 in flight */
  assert_int_equal(nt_queue_length_for(q, 1), 1);
  assert_true(a1->in_flight);

  /* The lanes still work: b2, then a3 after a1. */
  assert_ptr_equal(nt_queue_take(q, 20, &due), b2);
  nt_queue_remove(q, b2);
  free(b2);
  nt_queue_remove(q, a1);
  free(a1);
  /* a3 was linked after the expired a2 and a4. */
  assert_ptr_equal(nt_queue_take(q, 20, &due), a3);
  nt_queue_remove(q, a3);
  free(a3);
  assert_int_equal(nt_queue_waiting(q), 0);
  assert_null(nt_queue_take(q, 20, &due));

  /* The whole lane, tail included, expires: pushing again still links. */
  nt_job_t *a5 = job(0, &task_a, 25);
  nt_job_t *a6 = job(0, &task_a, 26);
  nt_queue_push(q, a5);
  nt_queue_push(q, a6);
  gone = nt_queue_expire(q, 30);
  assert_int_equal(list_length(gone), 2);
  free_list(gone);
  nt_job_t *a7 = job(0, &task_a, 100);
  nt_job_t *a8 = job(0, &task_a, 100);
  nt_queue_push(q, a7);
  nt_queue_push(q, a8);
  take_and_remove(q, 30, a7);
  take_and_remove(q, 30, a8);
  nt_queue_free(q);
}

/* Deadlines rise along a lane; the look stops at the first job in time,
 * so one a hair out of order goes at the pass after the one before it. */
static void test_expire_stops_at_first_in_time(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 1, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 10.002);
  nt_job_t *a2 = job(0, &task_a, 10.001);
  nt_queue_push(q, a1);
  nt_queue_push(q, a2);
  assert_null(nt_queue_expire(q, 10.0015));
  nt_job_t *gone = nt_queue_expire(q, 10.002);
  assert_int_equal(list_length(gone), 2);
  free_list(gone);
  nt_queue_free(q);
}

static void test_expire_retry_waiting(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 1, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 10);
  nt_job_t *a2 = job(0, &task_a, 100);
  nt_queue_push(q, a1);
  nt_queue_push(q, a2);
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a1);
  nt_queue_retry(q, a1, 12);
  /* A job waiting for its retry expires like any waiting job. */
  nt_job_t *gone = nt_queue_expire(q, 10);
  assert_ptr_equal(gone, a1);
  assert_null(gone->next);
  free(gone);
  assert_int_equal(nt_queue_waiting(q), 1);
  /* The lane is still presumed unavailable until its retry time. */
  assert_null(nt_queue_take(q, 11, &due));
  assert_true(due == 12);
  take_and_remove(q, 12, a2);
  nt_queue_free(q);
}

static void test_waiting_counts(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 2, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 100);
  nt_job_t *a2 = job(1, &task_a, 100);
  nt_job_t *b1 = job(0, &task_b, 100);
  nt_queue_push(q, a1);
  nt_queue_push(q, a2);
  nt_queue_push(q, b1);
  assert_int_equal(nt_queue_waiting(q), 3);
  assert_int_equal(nt_queue_length_for(q, 0), 2);
  assert_int_equal(nt_queue_length_for(q, 1), 1);
  assert_int_equal(nt_queue_length_for(q, 2), 0); /* no such Task */
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a1);
  /* In flight: no longer waiting, still one of the Task's jobs. */
  assert_int_equal(nt_queue_waiting(q), 2);
  assert_int_equal(nt_queue_length_for(q, 0), 2);
  nt_queue_retry(q, a1, 1);
  assert_int_equal(nt_queue_waiting(q), 3);
  assert_int_equal(nt_queue_length_for(q, 0), 2);
  nt_queue_free(q);
}

static void test_drain(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 3, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 100);
  nt_job_t *a2 = job(0, &task_a, 100);
  nt_job_t *c1 = job(2, &task_b, 100);
  nt_queue_push(q, a1);
  nt_queue_push(q, a2);
  nt_queue_push(q, c1);
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a1); /* in flight too */
  nt_job_t *all = nt_queue_drain(q);
  assert_int_equal(list_length(all), 3);
  assert_true(list_has(all, a1));
  assert_true(list_has(all, a2));
  assert_true(list_has(all, c1));
  assert_int_equal(nt_queue_waiting(q), 0);
  assert_int_equal(nt_queue_length_for(q, 0), 0);
  assert_null(nt_queue_take(q, 0, &due));
  assert_null(nt_queue_drain(q));
  free_list(all);
  /* The queue is usable afterwards. */
  nt_job_t *a3 = job(0, &task_a, 100);
  nt_queue_push(q, a3);
  take_and_remove(q, 0, a3);
  nt_queue_free(q);
}

/* A job with a body of size bytes. */
static nt_job_t *big_job(size_t lane, nt_task_t *task, size_t size) {
  nt_job_t *j = malloc(sizeof(nt_job_t) + size + 1);
  assert_non_null(j);
  memset(j, 0, sizeof(*j));
  j->lane = lane;
  j->task = task;
  j->seq = next_seq++;
  j->deadline = 100;
  j->body_len = size;
  memset(j->body, 'x', size);
  j->body[size] = '\0';
  return j;
}

/* nt_queue_free frees whatever is left, the job in flight included: with
 * glibc's allocator, the jobs' memory comes back. */
static void test_free_with_jobs(void **state) {
  (void)state;
  enum { BIG = 1024 * 1024 };
  long long before = th_heap_in_use();
  nt_queue_t *q = nt_queue_create(10, 2, 1, 2);
  assert_non_null(q);
  nt_job_t *first = big_job(0, &task_a, BIG);
  assert_null(nt_queue_push(q, first));
  assert_null(nt_queue_push(q, big_job(0, &task_a, BIG)));
  assert_null(nt_queue_push(q, big_job(1, &task_b, BIG)));
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), first);
  assert_true(first->in_flight);
  assert_int_equal(nt_queue_waiting(q), 2);
  long long held = th_heap_in_use() - before;
  nt_queue_free(q);
  long long left = th_heap_in_use() - before;
  if (held < 3LL * BIG)
    return; /* not glibc's allocator (see heap_in_use) */
  /* Any one job left behind is a whole BIG. */
  if (left >= BIG / 2)
    fail_msg("%lld of %lld bytes still held after nt_queue_free", left, held);
}

/* n jobs of Task A for lane 0, pushed in order into jobs[]; the first
 * taken of them taken (in flight). */
static void push_and_take(nt_queue_t *q, nt_job_t **jobs, size_t n,
                          size_t taken, double deadline) {
  for (size_t i = 0; i < n; i++) {
    jobs[i] = job(0, &task_a, deadline);
    nt_queue_push(q, jobs[i]);
  }
  double due;
  for (size_t i = 0; i < taken; i++)
    assert_ptr_equal(nt_queue_take(q, 0, &due), jobs[i]);
}

/* Connections 3: up to three of a lane in flight, taken in arrival order;
 * a fourth waits until one is done, whichever finishes first. */
static void test_per_lane_in_flight(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 1, 3, 2);
  nt_job_t *a[4];
  push_and_take(q, a, 4, 3, 100);
  double due;
  assert_false(nt_queue_lane_open(q, 0, 0));
  assert_null(nt_queue_take(q, 0, &due));
  assert_int_equal(nt_queue_in_flight(q), 3);
  assert_int_equal(nt_queue_waiting(q), 1);
  /* The second finishes first: the lane has room again. */
  nt_queue_remove(q, a[1]);
  free(a[1]);
  assert_true(nt_queue_lane_open(q, 0, 0));
  assert_ptr_equal(nt_queue_take(q, 0, &due), a[3]);
  assert_int_equal(nt_queue_length_for(q, 0), 3);
  nt_queue_free(q);
}

/* Two lines to one supervisor (a Task with a PauseFile of its own) share
 * its slots: with one, a job of either waits while the other's is in
 * flight; a third lane keeps its own. */
static void test_shared_lanes(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 3, 1, 2);
  nt_queue_share(q, 2, 0);
  nt_job_t *a = job(0, &task_a, 100), *b = job(2, &task_a, 100),
           *c = job(1, &task_b, 100);
  assert_null(nt_queue_push(q, a));
  assert_null(nt_queue_push(q, b));
  assert_null(nt_queue_push(q, c));
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a);
  assert_false(nt_queue_lane_open(q, 2, 0));
  assert_ptr_equal(nt_queue_take(q, 0, &due), c);
  assert_null(nt_queue_take(q, 0, &due));
  nt_queue_retry(q, a, 5); /* a's lane waits; the slot is free for b */
  assert_ptr_equal(nt_queue_take(q, 0, &due), b);
  nt_queue_free(q);
}

/* One of several in flight fails: it waits in its place, ahead of later
 * jobs, and the lane waits for its retry even when another job of the lane
 * then succeeds. */
static void test_retry_among_in_flight(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 1, 2, 2);
  nt_job_t *a[3];
  push_and_take(q, a, 3, 2, 100);
  nt_job_t *a1 = a[0], *a2 = a[1], *a3 = a[2];
  double due;
  nt_queue_retry(q, a1, 10);
  nt_queue_remove(q, a2);
  free(a2);
  assert_false(nt_queue_lane_open(q, 0, 5));
  assert_null(nt_queue_take(q, 5, &due));
  assert_true(due == 10);
  assert_true(nt_queue_lane_open(q, 0, 10));
  assert_ptr_equal(nt_queue_take(q, 10, &due), a1);
  assert_ptr_equal(nt_queue_take(q, 10, &due), a3);
  /* Once the failed job got through, the lane is open at once. */
  nt_queue_remove(q, a1);
  free(a1);
  nt_queue_remove(q, a3);
  free(a3);
  assert_int_equal(nt_queue_length_for(q, 0), 0);
  assert_true(nt_queue_lane_open(q, 0, 0));
  nt_queue_free(q);
}

/* A job resumed from the spool (lower seq) goes before new ones but never
 * before one in flight. */
static void test_push_resumed_after_in_flight(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 1, 2, 2);
  nt_job_t *a1 = job(0, &task_a, 100), *a2 = job(0, &task_a, 100);
  nt_queue_push(q, a2);
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a2);
  nt_job_t *a3 = job(0, &task_a, 100);
  nt_queue_push(q, a3);
  nt_queue_push(q, a1); /* older than both */
  assert_ptr_equal(nt_queue_take(q, 0, &due), a1);
  nt_queue_remove(q, a2);
  free(a2);
  assert_ptr_equal(nt_queue_take(q, 0, &due), a3);
  nt_queue_free(q);
}

/* Two failures among jobs in flight: the longer wait holds, whichever
 * came last; a success in between does not open the lane. */
static void test_longest_retry_wait_holds(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(10, 1, 3, 2);
  nt_job_t *a[3];
  push_and_take(q, a, 3, 3, 500);
  nt_job_t *a1 = a[0], *a2 = a[1], *a3 = a[2];
  double due;
  nt_queue_retry(q, a1, 120); /* Retry-After */
  nt_queue_retry(q, a2, 1);   /* a reset, a short backoff */
  nt_queue_remove(q, a3);     /* answered */
  free(a3);
  assert_null(nt_queue_take(q, 2, &due));
  assert_true(due == 120);
  assert_ptr_equal(nt_queue_take(q, 120, &due), a1);
  assert_ptr_equal(nt_queue_take(q, 120, &due), a2);
  nt_queue_free(q);
}

/* A lane whose failed job was dropped keeps waiting, empty: a job pushed
 * then must wake a sender that did not know of the wait. */
static void test_lane_open_after_the_waiting_job_left(void **state) {
  (void)state;
  nt_queue_t *q = nt_queue_create(1, 2, 1, 2);
  nt_job_t *a1 = job(0, &task_a, 500);
  nt_queue_push(q, a1);
  double due;
  assert_ptr_equal(nt_queue_take(q, 0, &due), a1);
  nt_queue_retry(q, a1, 50);
  nt_job_t *b1 = job(1, &task_b, 500);
  assert_ptr_equal(nt_queue_push(q, b1), a1); /* the bound: a1 goes */
  free(a1);
  nt_job_t *a2 = job(0, &task_a, 500);
  assert_ptr_equal(nt_queue_push(q, a2), b1);
  free(b1);
  assert_true(nt_queue_lane_open(q, 0, 10)); /* its wait is news */
  assert_null(nt_queue_take(q, 10, &due));
  assert_true(due == 50);
  assert_ptr_equal(nt_queue_take(q, 50, &due), a2);
  nt_queue_free(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_empty, setup),
      cmocka_unit_test_setup(test_shared_lanes, setup),
      cmocka_unit_test_setup(test_arrival_order_across_lanes, setup),
      cmocka_unit_test_setup(test_busy_lane_skipped, setup),
      cmocka_unit_test_setup(test_retry_holds_lane, setup),
      cmocka_unit_test_setup(test_retry_next_due_earliest, setup),
      cmocka_unit_test_setup(test_overflow_drops_oldest_waiting, setup),
      cmocka_unit_test_setup(test_overflow_other_lane_older, setup),
      cmocka_unit_test_setup(test_overflow_limit_one, setup),
      cmocka_unit_test_setup(test_overflow_drops_retry_waiting_head, setup),
      cmocka_unit_test_setup(test_expire, setup),
      cmocka_unit_test_setup(test_expire_retry_waiting, setup),
      cmocka_unit_test_setup(test_expire_stops_at_first_in_time, setup),
      cmocka_unit_test_setup(test_waiting_counts, setup),
      cmocka_unit_test_setup(test_drain, setup),
      cmocka_unit_test_setup(test_free_with_jobs, setup),
      cmocka_unit_test_setup(test_per_lane_in_flight, setup),
      cmocka_unit_test_setup(test_retry_among_in_flight, setup),
      cmocka_unit_test_setup(test_push_resumed_after_in_flight, setup),
      cmocka_unit_test_setup(test_longest_retry_wait_holds, setup),
      cmocka_unit_test_setup(test_lane_open_after_the_waiting_job_left, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
