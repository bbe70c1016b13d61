/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/dispatch.c with a real configuration and sender
 * whose thread is never started: what a notification turns into, what is
 * queued, suppressed and dropped. Nothing is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/clock.h"
#include "../../plugin/cooldown.h"
#include "../../plugin/dispatch.h"
#include "fake_collectd.h"
#include "unit_helpers.h"

#include "utils_time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define ID1 "5f0c1a2b3c4d5e6f7a8b9c0d"
#define ID2 "0123456789abcdef01234567"
#define SECRET                                                                 \
  "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define URL "http://127.0.0.1:9"

/* A configuration and a sender whose thread never runs. */
typedef struct {
  nt_config_t cfg;
  nt_sender_t *sender;
  bool stopped;
} fixture_t;

static fixture_t *load(item_t root) {
  fixture_t *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  nt_config_init(&f->cfg);
  fake_log_reset();
  int status = nt_config_block(&f->cfg, &root);
  th_item_free(&root);
  assert_int_equal(status, 0);
  assert_int_equal(nt_config_finalize(&f->cfg), 0);
  f->sender = nt_sender_create(&f->cfg);
  assert_non_null(f->sender);
  return f;
}

static void unload(fixture_t *f) {
  if (!f->stopped)
    assert_int_equal(nt_sender_stop(f->sender, 0.1), 0);
  nt_sender_free(f->sender);
  nt_config_free(&f->cfg);
  free(f);
}

static nt_task_t *task_named(fixture_t *f, const char *name) {
  for (size_t i = 0; i < f->cfg.tasks_num; i++)
    if (strcmp(f->cfg.tasks[i]->name, name) == 0)
      return f->cfg.tasks[i];
  fail_msg("no Task \"%s\"", name);
  return NULL;
}

static uint64_t stat_of(fixture_t *f, const char *task, nt_stat_t which) {
  return nt_stats_get(&task_named(f, task)->stats, which);
}

static size_t queued(fixture_t *f, const char *task) {
  return nt_sender_queue_length(f->sender, task_named(f, task));
}

static notification_t notif(int severity, const char *plugin,
                            const char *plugin_instance) {
  notification_t n = th_notif(severity, "web1", plugin, plugin_instance,
                              "ps_count", "procs", "nginx is \"down\"");
  n.time = TIME_T_TO_CDTIME_T(1764331200) + MS_TO_CDTIME_T(123);
  return n;
}

static int group_setup(void **state) {
  (void)state;
  return curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  curl_global_cleanup();
  return 0;
}

/* ---- Tests ------------------------------------------------------------ */

static void test_only_matching_tasks_queue(void **state) {
  (void)state;
  fixture_t *f = load(PLUGIN(
      OPT("URL", S(URL)),
      TASK("nginx", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)),
           OPT("Plugin", S("processes")), OPT("PluginInstance", S("nginx"))),
      TASK("disk", OPT("TaskID", S(ID2)), OPT("Secret", S(SECRET)),
           OPT("Plugin", S("df"))),
      TASK("any-warning", OPT("TaskID", S(ID2)), OPT("Secret", S(SECRET)),
           OPT("Severity", S("WARNING")))));
  notification_t n = notif(NOTIF_FAILURE, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 100), 1);
  assert_int_equal(queued(f, "nginx"), 1);
  assert_int_equal(queued(f, "disk"), 0);
  assert_int_equal(queued(f, "any-warning"), 0);

  n = notif(NOTIF_FAILURE, "df", "root");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 101), 1);
  assert_int_equal(queued(f, "nginx"), 1);
  assert_int_equal(queued(f, "disk"), 1);

  /* A WARNING of processes/nginx: only the Task that wants warnings. */
  n = notif(NOTIF_WARNING, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 102), 1);
  assert_int_equal(queued(f, "nginx"), 1);
  assert_int_equal(queued(f, "any-warning"), 1);

  /* Nothing matches. */
  n = notif(NOTIF_OKAY, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 103), 0);
  n = notif(NOTIF_FAILURE, "processes", "apache");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 103), 0);
  assert_int_equal(queued(f, "nginx"), 1);
  assert_int_equal(queued(f, "disk"), 1);
  assert_int_equal(queued(f, "any-warning"), 1);

  /* One notification, two matching Tasks: two jobs. */
  n = notif(NOTIF_WARNING, "df", "root");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 104), 1);
  fixture_t *g =
      load(PLUGIN(OPT("URL", S(URL)),
                  TASK("a", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET))),
                  TASK("b", OPT("TaskID", S(ID2)), OPT("Secret", S(SECRET)))));
  n = notif(NOTIF_FAILURE, "x", "");
  assert_int_equal(nt_dispatch(&g->cfg, g->sender, &n, 1), 2);
  assert_int_equal(queued(g, "a"), 1);
  assert_int_equal(queued(g, "b"), 1);
  unload(g);
  for (size_t i = 0; i < f->cfg.tasks_num; i++) {
    nt_task_t *t = f->cfg.tasks[i];
    assert_int_equal(nt_stats_get(&t->stats, NT_STAT_SUPPRESSED), 0);
    assert_int_equal(nt_stats_get(&t->stats, NT_STAT_DROPPED), 0);
  }
  unload(f);
}

static void test_job_default_arguments(void **state) {
  (void)state;
  fixture_t *f =
      load(PLUGIN(OPT("URL", S(URL)), OPT("MaxAge", N(30)),
                  TASK("t", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)))));
  nt_task_t *t = task_named(f, "t");
  notification_t n = notif(NOTIF_FAILURE, "processes", "nginx");
  nt_job_t *job = nt_job_make(&f->cfg, t, &n, "", false, 1000.5);
  assert_non_null(job);
  const char *want = "{\"task\":\"" ID1 "\",\"task_arguments\":["
                     "\"FAILURE\",\"1764331200.123\",\"web1\",\"processes\","
                     "\"nginx\",\"ps_count\",\"procs\","
                     "\"nginx is \\\"down\\\"\"]}";
  assert_string_equal(job->body, want);
  assert_int_equal(job->body_len, strlen(want));
  assert_ptr_equal(job->task, t);
  assert_int_equal(job->lane, t->lane);
  assert_true(job->arrival == 1000.5);
  assert_true(job->deadline == 1030.5); /* arrival + MaxAge */
  assert_int_equal(job->attempts, 0);
  assert_int_equal(job->tries, 0);
  assert_false(job->in_flight);
  free(job);
  unload(f);
}

static void test_job_templates(void **state) {
  (void)state;
  fixture_t *f = load(PLUGIN(
      OPT("URL", S(URL)),
      TASK("restart-nginx", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)),
           OPT("Argument", S("%{host}")),
           OPT("Argument", S("%{plugin_instance} at %{meta:CurrentValue}%")),
           OPT("Argument", S("%{task}"), S("100%% %{severity}")),
           OPT("Argument", S("")))));
  nt_task_t *t = task_named(f, "restart-nginx");
  notification_t n = notif(NOTIF_WARNING, "processes", "nginx");
  notification_meta_t m = {.name = "CurrentValue",
                           .type = NM_TYPE_DOUBLE,
                           .nm_value.nm_double = 92.5};
  n.meta = &m;
  strcpy(n.host, "h\xFF\n");
  nt_job_t *job = nt_job_make(&f->cfg, t, &n, "", false, 1);
  assert_non_null(job);
  assert_string_equal(job->body, "{\"task\":\"" ID1 "\",\"task_arguments\":["
                                 "\"h\xEF\xBF\xBD\\n\",\"nginx at 92.5%\","
                                 "\"restart-nginx\",\"100% WARNING\",\"\"]}");
  free(job);
  unload(f);
}

static void test_every_notification_queues_a_job(void **state) {
  (void)state;
  /* Identical notifications are not merged without a Cooldown. */
  fixture_t *f =
      load(PLUGIN(OPT("URL", S(URL)),
                  TASK("t", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)))));
  notification_t n = notif(NOTIF_FAILURE, "processes", "nginx");
  for (int i = 0; i < 5; i++)
    assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, i), 1);
  assert_int_equal(queued(f, "t"), 5);
  unload(f);
}

static void test_cooldown_suppresses(void **state) {
  (void)state;
  fixture_t *f = load(
      PLUGIN(OPT("URL", S(URL)),
             TASK("cool", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)),
                  OPT("Cooldown", N(10))),
             TASK("hot", OPT("TaskID", S(ID2)), OPT("Secret", S(SECRET)))));
  notification_t n = notif(NOTIF_FAILURE, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 100), 2);
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 105), 1);
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 109.9), 1);
  assert_int_equal(stat_of(f, "cool", NT_STAT_SUPPRESSED), 2);
  assert_int_equal(stat_of(f, "hot", NT_STAT_SUPPRESSED), 0);
  assert_int_equal(queued(f, "cool"), 1);
  assert_int_equal(queued(f, "hot"), 3);
  /* Another identity is not suppressed. */
  notification_t other = notif(NOTIF_FAILURE, "processes", "apache");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &other, 106), 2);
  assert_int_equal(queued(f, "cool"), 2);
  /* The window is over. */
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 110), 2);
  assert_int_equal(queued(f, "cool"), 3);
  assert_int_equal(stat_of(f, "cool", NT_STAT_SUPPRESSED), 2);
  /* Only matches are counted as suppressed. */
  notification_t warning = notif(NOTIF_WARNING, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &warning, 111), 0);
  assert_int_equal(stat_of(f, "cool", NT_STAT_SUPPRESSED), 2);
  unload(f);
}

static void test_queue_limit_drops_oldest(void **state) {
  (void)state;
  fixture_t *f =
      load(PLUGIN(OPT("URL", S(URL)), OPT("QueueLimit", N(2)),
                  TASK("t", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)))));
  notification_t n = notif(NOTIF_FAILURE, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 1), 1);
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 2), 1);
  assert_int_equal(stat_of(f, "t", NT_STAT_DROPPED), 0);
  assert_int_equal(fake_log_count_level(LOG_WARNING, NULL), 0);
  /* The third one is queued; the oldest is dropped and counted. */
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 3), 1);
  assert_int_equal(stat_of(f, "t", NT_STAT_DROPPED), 1);
  assert_int_equal(queued(f, "t"), 2);
  assert_int_equal(fake_log_count_level(LOG_WARNING, "\"t\""), 1);
  assert_true(fake_log_contains("QueueLimit"));
  /* One prefix, at the start, as on every line. */
  for (size_t i = 0; i < fake_log_count(); i++) {
    const char *line = fake_log_line(i);
    assert_int_equal(strncmp(line, "notify_theeye plugin: ", 22), 0);
    assert_null(strstr(line + 22, "notify_theeye plugin:"));
  }
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 4), 1);
  assert_int_equal(stat_of(f, "t", NT_STAT_DROPPED), 2);
  assert_int_equal(queued(f, "t"), 2);
  unload(f);
}

static void test_queue_limit_across_tasks(void **state) {
  (void)state;
  /* The limit is for all Tasks together; the oldest job of any Task goes
   * and is counted for its own Task. */
  fixture_t *f = load(PLUGIN(
      OPT("URL", S(URL)), OPT("QueueLimit", N(2)),
      TASK("a", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)),
           OPT("Plugin", S("pa"))),
      TASK("b", OPT("TaskID", S(ID2)), OPT("Secret", S(SECRET)),
           OPT("Plugin", S("pb")), OPT("URL", S("http://127.0.0.1:10")))));
  notification_t na = notif(NOTIF_FAILURE, "pa", "");
  notification_t nb = notif(NOTIF_FAILURE, "pb", "");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &na, 1), 1);
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &nb, 2), 1);
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &nb, 3), 1);
  assert_int_equal(stat_of(f, "a", NT_STAT_DROPPED), 1);
  assert_int_equal(stat_of(f, "b", NT_STAT_DROPPED), 0);
  assert_int_equal(queued(f, "a"), 0);
  assert_int_equal(queued(f, "b"), 2);
  unload(f);
}

static void test_stop_drops_leftovers(void **state) {
  (void)state;
  fixture_t *f =
      load(PLUGIN(OPT("URL", S(URL)),
                  TASK("left-a", OPT("TaskID", S(ID1)),
                       OPT("Secret", S(SECRET)), OPT("Plugin", S("pa"))),
                  TASK("left-b", OPT("TaskID", S(ID2)),
                       OPT("Secret", S(SECRET)), OPT("Plugin", S("pb"))),
                  TASK("idle", OPT("TaskID", S(ID2)), OPT("Secret", S(SECRET)),
                       OPT("Plugin", S("nothing")))));
  notification_t na = notif(NOTIF_FAILURE, "pa", "");
  notification_t nb = notif(NOTIF_FAILURE, "pb", "");
  nt_dispatch(&f->cfg, f->sender, &na, 1);
  nt_dispatch(&f->cfg, f->sender, &na, 2);
  nt_dispatch(&f->cfg, f->sender, &nb, 3);
  fake_log_reset();
  assert_int_equal(nt_sender_stop(f->sender, 0.1), 0);
  f->stopped = true;
  assert_int_equal(stat_of(f, "left-a", NT_STAT_DROPPED), 2);
  assert_int_equal(stat_of(f, "left-b", NT_STAT_DROPPED), 1);
  assert_int_equal(stat_of(f, "idle", NT_STAT_DROPPED), 0);
  assert_int_equal(queued(f, "left-a"), 0);
  assert_int_equal(queued(f, "left-b"), 0);
  /* One WARNING per Task with leftovers, naming it. */
  assert_int_equal(fake_log_count_level(LOG_WARNING, NULL), 2);
  assert_int_equal(fake_log_count_level(LOG_WARNING, "\"left-a\""), 1);
  assert_int_equal(fake_log_count_level(LOG_WARNING, "\"left-b\""), 1);
  assert_int_equal(fake_log_count_level(LOG_WARNING, "\"idle\""), 0);
  assert_int_equal(fake_log_count_level(LOG_ERR, NULL), 0);
  for (size_t i = 0; i < fake_log_count(); i++) {
    assert_int_equal(strncmp(fake_log_line(i), "notify_theeye plugin: ", 22),
                     0);
    assert_null(strstr(fake_log_line(i), SECRET));
  }

  /* After stop: nothing is queued, nothing crashes, nothing is counted. */
  fake_log_reset();
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &na, 4), 0);
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &nb, 5), 0);
  assert_int_equal(queued(f, "left-a"), 0);
  assert_int_equal(queued(f, "left-b"), 0);
  assert_int_equal(stat_of(f, "left-a", NT_STAT_DROPPED), 2);
  assert_int_equal(stat_of(f, "left-b", NT_STAT_DROPPED), 1);
  /* A second stop is harmless and logs nothing new. */
  assert_int_equal(nt_sender_stop(f->sender, 0.1), 0);
  assert_int_equal(fake_log_count_level(LOG_WARNING, NULL), 0);
  unload(f);
}

static void test_stop_empty_logs_nothing(void **state) {
  (void)state;
  fixture_t *f =
      load(PLUGIN(OPT("URL", S(URL)),
                  TASK("t", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)))));
  fake_log_reset();
  assert_int_equal(nt_sender_stop(f->sender, 0.1), 0);
  f->stopped = true;
  assert_int_equal(fake_log_count_level(LOG_WARNING, NULL), 0);
  assert_int_equal(stat_of(f, "t", NT_STAT_DROPPED), 0);
  unload(f);
}

static void test_cooldown_not_opened_when_not_queued(void **state) {
  (void)state;
  fixture_t *f =
      load(PLUGIN(OPT("URL", S(URL)),
                  TASK("cool", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)),
                       OPT("Cooldown", N(300)))));
  assert_int_equal(nt_sender_stop(f->sender, 0.1), 0);
  f->stopped = true;
  /* Shutting down: the job is not queued, so no window may open that would
   * suppress the same alert once collectd runs again with this state. */
  notification_t n = notif(NOTIF_FAILURE, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &n, 10), 0);
  assert_int_equal(nt_cooldown_size(task_named(f, "cool")->cooldowns), 0);
  unload(f);
}

static int start_thread(pthread_t *thread, void *(*run)(void *), void *arg,
                        const char *name) {
  (void)name;
  return pthread_create(thread, NULL, run, arg);
}

/* Runs the sender's thread until a line containing needle is logged (at
 * most 5 s); returns its index. */
static size_t wait_line(fixture_t *f, const char *needle) {
  assert_int_equal(nt_sender_start(f->sender, start_thread), 0);
  for (int i = 0; i < 500; i++) {
    for (size_t j = 0; j < fake_log_count(); j++)
      if (strstr(fake_log_line(j), needle) != NULL)
        return j;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  fail_msg("no log line with \"%s\"", needle);
  return 0;
}

static void test_dry_run_long_url_keeps_cut_marker(void **state) {
  (void)state;
  char url[1200];
  int n = snprintf(url, sizeof(url), "%s/", URL);
  memset(url + n, 'p', 1000);
  url[n + 1000] = '\0';
  fixture_t *f =
      load(PLUGIN(OPT("URL", S(url)), OPT("DryRun", B(true)),
                  TASK("t", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)))));
  notification_t notice = notif(NOTIF_FAILURE, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &notice, nt_now()), 1);
  const char *line = fake_log_line(wait_line(f, "DryRun"));
  /* Within plugin_log's line, and cut visibly by the plugin itself. */
  assert_true(strlen(line) <= FAKE_LOG_LINE_SIZE - 1);
  const char *marker = strstr(line, "\xE2\x80\xA6 (cut: ");
  assert_non_null(marker);
  assert_string_equal(marker + strlen(marker) - strlen(" bytes in all)"),
                      " bytes in all)");
  assert_null(strstr(line, SECRET));
  unload(f);
}

static void test_check_only_logs_instead_of_sending(void **state) {
  (void)state;
  fixture_t *f =
      load(PLUGIN(OPT("URL", S(URL)),
                  TASK("t", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)))));
  f->cfg.check_only = true;
  notification_t notice = notif(NOTIF_FAILURE, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &notice, nt_now()), 1);
  const char *line = fake_log_line(wait_line(f, "DryRun"));
  static const char head[] = "notify_theeye plugin: collectd -T: Task "
                             "\"t\": DryRun: POST http://127.0.0.1:9/task/";
  assert_int_equal(strncmp(line, head, strlen(head)), 0);
  assert_non_null(strstr(line, "\"task_arguments\""));
  assert_null(strstr(line, SECRET));
  /* Nothing was sent, so nothing failed or was retried. */
  assert_int_equal(stat_of(f, "t", NT_STAT_SENT), 0);
  assert_int_equal(stat_of(f, "t", NT_STAT_FAILED), 0);
  assert_int_equal(stat_of(f, "t", NT_STAT_RETRIED), 0);
  unload(f);
}

/* An OKAY for a subject never seen in another state (collectd's threshold
 * plugin sends one for every value at start-up) is not acted on, unless
 * IgnoreFirstOkay is off; the OKAY after a FAILURE is, whichever Task saw
 * the FAILURE. The body names the episode the OKAY ends. */
static void test_ignore_first_okay(void **state) {
  (void)state;
  fixture_t *f = load(
      PLUGIN(OPT("URL", S(URL)),
             TASK("recovered", OPT("TaskID", S(ID1)), OPT("Secret", S(SECRET)),
                  OPT("Severity", S("OKAY")), OPT("Argument", S("%{episode}"))),
             TASK("every-okay", OPT("TaskID", S(ID2)), OPT("Secret", S(SECRET)),
                  OPT("Severity", S("OKAY")), OPT("IgnoreFirstOkay", B(0)))));
  notification_t okay = notif(NOTIF_OKAY, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &okay, 100), 1);
  assert_int_equal(queued(f, "recovered"), 0);
  assert_int_equal(stat_of(f, "recovered", NT_STAT_IGNORED_OKAY), 1);
  assert_int_equal(queued(f, "every-okay"), 1);
  assert_int_equal(stat_of(f, "every-okay", NT_STAT_IGNORED_OKAY), 0);

  /* A FAILURE neither Task wants, then its OKAY: a recovery. */
  notification_t fail = notif(NOTIF_FAILURE, "processes", "nginx");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &fail, 101), 0);
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &okay, 102), 2);
  assert_int_equal(queued(f, "recovered"), 1);
  assert_int_equal(stat_of(f, "recovered", NT_STAT_IGNORED_OKAY), 1);

  /* Another subject is still new. */
  notification_t other = notif(NOTIF_OKAY, "processes", "apache");
  assert_int_equal(nt_dispatch(&f->cfg, f->sender, &other, 103), 1);
  assert_int_equal(stat_of(f, "recovered", NT_STAT_IGNORED_OKAY), 2);
  unload(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_only_matching_tasks_queue),
      cmocka_unit_test(test_job_default_arguments),
      cmocka_unit_test(test_job_templates),
      cmocka_unit_test(test_every_notification_queues_a_job),
      cmocka_unit_test(test_cooldown_suppresses),
      cmocka_unit_test(test_queue_limit_drops_oldest),
      cmocka_unit_test(test_queue_limit_across_tasks),
      cmocka_unit_test(test_stop_drops_leftovers),
      cmocka_unit_test(test_stop_empty_logs_nothing),
      cmocka_unit_test(test_cooldown_not_opened_when_not_queued),
      cmocka_unit_test(test_dry_run_long_url_keeps_cut_marker),
      cmocka_unit_test(test_check_only_logs_instead_of_sending),
      cmocka_unit_test(test_ignore_first_okay),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
