/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/follow.c (which answers end a follow, and how) and
 * plugin/verify.c (Verify windows at their edges). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/clock.h"
#include "../../plugin/dispatch.h"
#include "../../plugin/follow.h"
#include "../../plugin/subjects.h"
#include "../../plugin/table.h"
#include "../../plugin/verify.h"
#include "fake_collectd.h"
#include "unit_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL "http://127.0.0.1:9"
#define ID1 "5f0c1a2b3c4d5e6f7a8b9c0d"
#define SECRET                                                                 \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define JOB_ID "0123456789abcdef01234567"
#define JOB_SECRET                                                             \
  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static nt_event_t *reported;

static void report(nt_event_t *e, void *arg) {
  (void)arg;
  e->next = reported;
  reported = e;
}

static void free_reported(void) {
  while (reported != NULL) {
    nt_event_t *next = reported->next;
    free(reported);
    reported = next;
  }
}

typedef struct {
  nt_config_t cfg;
  nt_follows_t *fs;
  nt_job_t *job;
  nt_http_t *http;
  notification_t down; /* the job's notification, its subject failing */
  nt_subject_info_t subject;
} fixture_t;

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  item_t root =
      PLUGIN(OPT("URL", S(URL)), OPT("FollowLimit", N(2)),
             OPT("RetryInterval", N(2)), OPT("MaxRetryInterval", N(2)),
             TASK("t", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)),
                  OPT("FollowJob", B(true)), OPT("FollowTimeout", N(100)),
                  OPT("Verify", N(30))));
  nt_config_init(&f->cfg);
  assert_int_equal(nt_config_block(&f->cfg, &root), 0);
  th_item_free(&root);
  assert_int_equal(nt_config_finalize(&f->cfg), 0);
  /* Room for the requests; nothing listens there, nothing is run. */
  f->http = nt_http_create(&f->cfg, 1, 8);
  assert_non_null(f->http);
  f->fs = nt_follows_create(&f->cfg, f->http, report, NULL);
  assert_non_null(f->fs);
  f->down = th_notif(NOTIF_FAILURE, "web1", "svc", "nginx", "ps", "", "down");
  nt_subjects_note(f->cfg.subjects, &f->down, nt_wall(), &f->subject);
  f->job = nt_job_make(&f->cfg, f->cfg.tasks[0], &f->down, f->subject.episode,
                       true, 0);
  assert_non_null(f->job);
  fake_log_reset();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  nt_http_free(f->http);
  nt_follows_free(f->fs);
  free(f->job);
  nt_config_free(&f->cfg);
  free_reported();
  free(f);
  return 0;
}

static nt_job_info_t created(const char *id) {
  nt_job_info_t info = {.is_job = true};
  snprintf(info.id, sizeof(info.id), "%s", id);
  snprintf(info.secret, sizeof(info.secret), "%s", JOB_SECRET);
  return info;
}

/* The owner http was given for the follow: the first (only) follow runs
 * its request, which is then settled by hand. */
static void *run_one(fixture_t *f, double now) {
  double due = 1e300;
  nt_follows_run(f->fs, now, &due);
  nt_http_result_t r;
  nt_http_abort(f->http, true);
  void *owner = nt_http_next_done(f->http, &r);
  assert_non_null(owner);
  assert_true(r.get);
  return owner;
}

/* An answer to a GET as http.c hands it over: with the job it holds. */
static nt_http_result_t answer(long status, const char *body) {
  nt_http_result_t r = {.status = status,
                        .body = (char *)body,
                        .body_len = strlen(body),
                        .retry_after = -1,
                        .get = true};
  nt_json_parse_job(body, strlen(body), &r.job);
  return r;
}

static uint64_t count(fixture_t *f, nt_stat_t s) {
  return nt_stats_get(&f->cfg.tasks[0]->stats, s);
}

static void test_success_and_failure(void **state) {
  fixture_t *f = *state;
  nt_job_info_t info = created(JOB_ID);
  nt_follows_add(f->fs, f->job, &info, 10);
  assert_int_equal(nt_follows_num(f->fs), 1);
  nt_http_result_t ok =
      answer(200, "{\"id\":\"" JOB_ID "\",\"state\":\"success\",\"lifecycle\":"
                  "\"finished\"}");
  nt_follows_settle(f->fs, run_one(f, 11), &ok, 22.5, 0);
  assert_int_equal(nt_follows_num(f->fs), 0);
  assert_int_equal(count(f, NT_STAT_JOB_SUCCEEDED), 1);
  assert_non_null(reported);
  assert_string_equal(reported->name, "job_succeeded");
  assert_int_equal(reported->severity, NOTIF_OKAY);
  assert_string_equal(reported->host, "web1");
  assert_string_equal(reported->plugin_instance, "nginx");
  assert_string_equal(reported->episode, f->subject.episode);
  assert_string_equal(reported->job_id, JOB_ID);
  assert_string_equal(reported->state, "success");
  assert_string_equal(reported->lifecycle, "finished");
  assert_true(fake_log_contains("job " JOB_ID " succeeded: state success, "
                                "lifecycle finished, 12.5 s after"));
  assert_false(fake_log_contains(JOB_SECRET));

  /* The subject still fails: its Verify window is open, nothing else was
   * reported. */
  assert_null(reported->next);

  /* 500 with the job: failed. */
  nt_follows_add(f->fs, f->job, &info, 30);
  nt_http_result_t failed =
      answer(500, "{\"id\":\"" JOB_ID "\",\"state\":\"failure\",\"lifecycle\":"
                  "\"finished\"}");
  nt_follows_settle(f->fs, run_one(f, 30), &failed, 31, 0);
  assert_int_equal(count(f, NT_STAT_JOB_FAILED), 1);
  assert_string_equal(reported->name, "job_failed");
  assert_int_equal(reported->severity, NOTIF_FAILURE);

  /* The subject's OKAY came while the job ran: its success is resolved at
   * once, reported after job_succeeded. */
  notification_t up = f->down;
  up.severity = NOTIF_OKAY;
  nt_subject_info_t ended;
  nt_subjects_note(f->cfg.subjects, &up, nt_wall(), &ended);
  nt_follows_add(f->fs, f->job, &info, 40);
  nt_follows_settle(f->fs, run_one(f, 40), &ok, 45, 0);
  assert_string_equal(reported->name, "resolved");
  assert_string_equal(reported->job_id, JOB_ID);
  assert_string_equal(reported->next->name, "job_succeeded");
  assert_int_equal(count(f, NT_STAT_RESOLVED), 1);

  /* It came, and the subject failed again before the job ended: a new
   * incident, whose OKAY the window waits for. */
  nt_subjects_note(f->cfg.subjects, &f->down, nt_wall(), &ended);
  nt_follows_add(f->fs, f->job, &info, 50);
  nt_follows_settle(f->fs, run_one(f, 50), &ok, 55, 0);
  assert_string_equal(reported->name, "job_succeeded");
  assert_int_equal(count(f, NT_STAT_RESOLVED), 1);
}

/* 303 and 408 ask again at once; other answers (a 500 without this job, a
 * 200 with another's, no answer) back off; a 404 ends the follow. */
static void test_ask_again_back_off_gone(void **state) {
  fixture_t *f = *state;
  nt_job_info_t info = created(JOB_ID);
  nt_follows_add(f->fs, f->job, &info, 0);
  const struct {
    long status;
    const char *body;
    bool backs_off; /* else the next request is due at once */
  } cases[] = {
      {408, "", false},
      {303, "\"See Other\"", false},
      {0, "", true}, /* libcurl's error: see below */
      {500, "{\"message\":\"db down\"}", true},
      {200, "{\"id\":\"ffffffffffffffffffffffff\",\"state\":\"success\"}",
       true},
  };
  double now = 10;
  void *owner = run_one(f, now);
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    nt_http_result_t r = answer(cases[i].status, cases[i].body);
    if (r.status == 0) /* an error that quotes the route, secret and all */
      snprintf(r.error, sizeof(r.error),
               "Recv failure for /job/" JOB_ID "/secret/" JOB_SECRET "/result");
    now += 2; /* the supervisor held it */
    nt_follows_settle(f->fs, owner, &r, now, 0.5);
    assert_int_equal(nt_follows_num(f->fs), 1);
    double due = 1e300;
    nt_follows_run(f->fs, now, &due); /* starts it, if due now */
    if (cases[i].backs_off) {
      /* RetryInterval 2: between 1 and 2 s later. */
      assert_true(due >= now + 1 && due <= now + 2);
      now = due;
      owner = run_one(f, now);
    } else {
      nt_http_abort(f->http, true);
      nt_http_result_t aborted;
      owner = nt_http_next_done(f->http, &aborted);
      assert_non_null(owner);
    }
  }
  /* The first failure was logged, the next ones rate-limited; never the
   * secret. */
  assert_true(fake_log_contains("the result of job " JOB_ID
                                " could not be read: Recv failure for /job/"));
  assert_false(fake_log_contains("HTTP 500"));
  assert_false(fake_log_contains(JOB_SECRET));
  /* "Not yet"s that were not held: the first three in a row are asked
   * again at once, the next a second later (a proxy answering for the
   * supervisor is not asked in a loop). */
  nt_http_result_t quick = answer(408, "");
  for (int i = 0; i < 3; i++) {
    now += 0.1;
    nt_follows_settle(f->fs, owner, &quick, now, 0.5);
    owner = run_one(f, now);
  }
  now += 0.1;
  nt_follows_settle(f->fs, owner, &quick, now, 0.5);
  double due = 1e300;
  nt_follows_run(f->fs, now, &due);
  assert_true(due == now + 1.0);
  now = due;
  owner = run_one(f, now);
  assert_true(fake_log_contains("job results can be read again"));
  assert_null(reported);
  nt_http_result_t gone = answer(404, "");
  nt_follows_settle(f->fs, owner, &gone, now, 0);
  assert_int_equal(nt_follows_num(f->fs), 0);
  assert_int_equal(count(f, NT_STAT_FOLLOW_ABANDONED), 1);
  assert_true(fake_log_contains("is gone from the supervisor (HTTP 404)"));
  assert_null(reported);
}

/* A follow whose first result request fails at 0.1 (its next is due at
 * 1.1). */
static void follow_failing(fixture_t *f) {
  nt_job_info_t a = created("aaaaaaaaaaaaaaaaaaaaaaaa");
  nt_http_result_t bad = answer(502, "");
  nt_follows_add(f->fs, f->job, &a, 0);
  nt_follows_settle(f->fs, run_one(f, 0), &bad, 0.1, 0);
  assert_true(fake_log_contains("could not be read: HTTP 502"));
}

/* A follow from at, its request answered "not yet" at at + 0.1. */
static void follow_not_yet(fixture_t *f, double at) {
  nt_job_info_t b = created("bbbbbbbbbbbbbbbbbbbbbbbb");
  nt_http_result_t not_yet = answer(408, "");
  nt_follows_add(f->fs, f->job, &b, at);
  nt_follows_settle(f->fs, run_one(f, at), &not_yet, at + 0.1, 0);
}

/* Results "can be read again" only once no follow of the Task fails: one
 * follow answered while another keeps failing says nothing. */
static void test_failing_until_every_follow_is_answered(void **state) {
  fixture_t *f = *state;
  follow_failing(f);
  follow_not_yet(f, 0.2);
  assert_false(fake_log_contains("can be read again"));
  /* The failing one's retry is answered: none fails now. */
  nt_http_result_t not_yet = answer(408, "");
  nt_follows_settle(f->fs, run_one(f, 1.1), &not_yet, 1.2, 0);
  assert_true(fake_log_contains("job results can be read again"));
}

/* A failing follow that ends without an answer (FollowTimeout) fails no
 * more: the next answer to another follow says results can be read. */
static void test_failing_follow_ends(void **state) {
  fixture_t *f = *state;
  follow_failing(f);
  double due = 1e300;
  nt_follows_run(f->fs, 100, &due); /* its FollowTimeout (100 s) */
  assert_int_equal(nt_follows_num(f->fs), 0);
  follow_not_yet(f, 100);
  assert_true(fake_log_contains("job results can be read again"));
}

static void test_timeout_and_limit(void **state) {
  fixture_t *f = *state;
  nt_job_info_t a = created("aaaaaaaaaaaaaaaaaaaaaaaa"),
                b = created("bbbbbbbbbbbbbbbbbbbbbbbb"),
                c = created("cccccccccccccccccccccccc");
  nt_follows_add(f->fs, f->job, &a, 0);
  nt_follows_add(f->fs, f->job, &b, 50);
  /* FollowLimit 2: the third follow abandons the oldest. */
  nt_follows_add(f->fs, f->job, &c, 60);
  assert_int_equal(nt_follows_num(f->fs), 2);
  assert_int_equal(count(f, NT_STAT_FOLLOW_ABANDONED), 1);
  assert_true(fake_log_contains("job aaaaaaaaaaaaaaaaaaaaaaaa is no longer "
                                "followed: FollowLimit (2) reached"));
  /* FollowTimeout 100: b's ends at 150, c's at 160. */
  double due = 1e300;
  nt_follows_run(f->fs, 150, &due);
  assert_int_equal(nt_follows_num(f->fs), 1);
  assert_int_equal(count(f, NT_STAT_FOLLOW_TIMEOUT), 1);
  /* Shutting down: an aborted request ends c's follow, uncounted. */
  nt_follows_stop(f->fs);
  nt_http_abort(f->http, true);
  nt_http_result_t r;
  void *owner;
  while ((owner = nt_http_next_done(f->http, &r)) != NULL)
    nt_follows_settle(f->fs, owner, &r, 151, 0);
  nt_follows_run(f->fs, 151, &due);
  assert_int_equal(count(f, NT_STAT_FOLLOW_TIMEOUT), 1);
  assert_null(reported);
}

/* Not followed: a job without its about (an escalation's, or resumed), one
 * the supervisor rejected, an answer without the job's secret or with an
 * id that does not fit a URL. */
static void test_not_followed(void **state) {
  fixture_t *f = *state;
  nt_job_info_t info = created(JOB_ID);
  info.rejected = true;
  nt_follows_add(f->fs, f->job, &info, 0);
  info = created(JOB_ID);
  info.secret[0] = '\0';
  nt_follows_add(f->fs, f->job, &info, 0);
  info = created("../../etc");
  nt_follows_add(f->fs, f->job, &info, 0);
  info = created(JOB_ID);
  const char *about = f->job->about;
  f->job->about = NULL;
  nt_follows_add(f->fs, f->job, &info, 0);
  f->job->about = about;
  assert_int_equal(nt_follows_num(f->fs), 0);
}

static void test_verify_windows(void **state) {
  (void)state;
  nt_verify_t *v = nt_verify_create(30, 2);
  assert_non_null(v);
  notification_t n = th_notif(NOTIF_OKAY, "h", "p", "", "t", "", "up");
  char key[NT_SUBJECT_KEY_MAX];
  size_t len = nt_subject_key(&n, key);
  /* An about: the key, then the episode. */
  char about[NT_SUBJECT_KEY_MAX + 20];
  memcpy(about, key, len);
  memcpy(about + len, "00000000000000ab", 17);
  assert_true(nt_verify_open(v, about, "j1", 0));
  /* Restarted by the next job: its window counts from then. */
  assert_true(nt_verify_open(v, about, "j2", 10));
  assert_null(nt_verify_expire(v, "t", 39.9));
  nt_event_t *e = nt_verify_expire(v, "t", 40);
  assert_non_null(e);
  assert_string_equal(e->name, "unresolved");
  assert_string_equal(e->job_id, "j2");
  assert_string_equal(e->episode, "00000000000000ab");
  assert_non_null(strstr(e->message, "h/p/t still not OKAY 30 s after "
                                     "job j2 of Task t"));
  assert_null(e->next);
  free(e);
  /* Resolved before its end; then nothing is left to resolve or expire. */
  assert_true(nt_verify_open(v, about, "j3", 50));
  e = nt_verify_resolve(v, "t", key, len, 60);
  assert_non_null(e);
  assert_string_equal(e->name, "resolved");
  assert_int_equal(e->severity, NOTIF_OKAY);
  free(e);
  assert_null(nt_verify_resolve(v, "t", key, len, 61));
  assert_null(nt_verify_expire(v, "t", 1000));
  /* Full of open windows: a third subject gets none. */
  char other[sizeof(about)];
  memcpy(other, about, sizeof(about));
  other[0] = 'x';
  char third[sizeof(about)];
  memcpy(third, about, sizeof(about));
  third[0] = 'y';
  assert_true(nt_verify_open(v, about, "j4", 70));
  assert_true(nt_verify_open(v, other, "j5", 70));
  assert_false(nt_verify_open(v, third, "j6", 70));
  nt_verify_free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_success_and_failure, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ask_again_back_off_gone, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_timeout_and_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_failing_until_every_follow_is_answered, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failing_follow_ends, setup,
                                      teardown),
      cmocka_unit_test(test_verify_windows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
