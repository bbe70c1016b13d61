/* SPDX-License-Identifier: MIT
 *
 * notify_theeye: runs TheEye tasks when collectd raises notifications.
 *
 * This file is only the glue with collectd: it registers the callbacks and
 * hands each step to the file named for it (config, dispatch, sender).
 **/
#include "collectd.h"

#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "sender.h"

#include "plugin.h"
#include "utils/common/common.h"

#include <curl/curl.h>

#define SHUTDOWN_GRACE_MAX 5.0
/* Notifications held before init, at most (more are ignored, with one
 * WARNING): another plugin's start-up, not a stream. */
#define HELD_MAX 10000
/* Batches of notifications that came during the replay replayed, at most,
 * before the replay ends: a steady stream must not hold init. */
#define REPLAY_PASSES 8

/* configure's answer for the collectd it builds against: 5.9 and 5.10 take
 * a pthread_attr_t, 5.11 on do not. Guessing would build a plugin that
 * fails (or crashes) in the other kind of daemon. */
#ifndef NT_THREAD_CREATE_ATTR
#error "NT_THREAD_CREATE_ATTR is unset: build with ./configure"
#endif

/* NEW until init; then REPLAYING while the notifications that came before
 * it go through the guards, in their order, ahead of any later one. */
enum { ST_NEW, ST_REPLAYING, ST_READY, ST_FAILED, ST_STOPPED };

/* A notification that came before init: the guards need the remediation
 * state of the last run, which init loads. */
typedef struct held_s {
  struct held_s *next;
  notification_t n; /* with its own copy of the meta */
  double arrival;   /* monotonic: the guards' windows start here */
} held_t;

typedef struct {
  nt_config_t cfg;
  nt_sender_t *sender;
  pthread_mutex_t lock; /* guards state's moves and the held list */
  int state;            /* read without the lock on the notification path */
  held_t *held, **held_tail;
  size_t held_num;
  bool held_full;   /* one could not be kept since the last take */
  bool left_behind; /* a thread did not stop: nothing may be freed */
} nt_plugin_t;

static nt_plugin_t *plugin;

static int get_state(void) {
  return __atomic_load_n(&plugin->state, __ATOMIC_ACQUIRE);
}

static void set_state(int state) {
  __atomic_store_n(&plugin->state, state, __ATOMIC_RELEASE);
}

/* `collectd -T` (its getopt string is "BhtTfC:P:") runs init and every
 * read callback once: a threshold breached at that moment raises a real
 * notification, and a configuration check must never act on it. */
static bool collectd_test_mode(void) {
  FILE *f = fopen("/proc/self/cmdline", "r");
  if (f == NULL)
    return false;
  char args[4096];
  size_t len = fread(args, 1, sizeof(args) - 1, f);
  fclose(f);
  args[len] = '\0';
  for (size_t i = 0; i < len; i += strlen(args + i) + 1) {
    const char *arg = args + i;
    if (i == 0 || arg[0] != '-' || arg[1] == '-')
      continue;
    for (const char *c = arg + 1; *c != '\0' && *c != 'C' && *c != 'P'; c++)
      if (*c == 'T')
        return true;
  }
  return false;
}

static int nt_config_cb(oconfig_item_t *ci) {
  /* Still single-threaded here: the one safe place for this. */
  static bool curl_ready;
  if (!curl_ready && curl_global_init(CURL_GLOBAL_ALL) != 0) {
    NT_ERROR("curl_global_init failed");
    return -1;
  }
  curl_ready = true;
  return nt_config_block(&plugin->cfg, ci);
}

static int thread_create(pthread_t *thread, void *(*run)(void *), void *arg,
                         const char *name) {
#if NT_THREAD_CREATE_ATTR
  return plugin_thread_create(thread, NULL, run, arg, name);
#else
  return plugin_thread_create(thread, run, arg, name);
#endif
}

/* One of the plugin's own notifications (in their thread): through
 * collectd to every notification plugin, this one included. */
static void dispatch_event(const nt_event_t *e, void *arg) {
  (void)arg;
  notification_t n = {.severity = e->severity,
                      .time = DOUBLE_TO_CDTIME_T(nt_wall())};
  sstrncpy(n.host, e->host, sizeof(n.host));
  sstrncpy(n.plugin, NT_PLUGIN_NAME, sizeof(n.plugin));
  sstrncpy(n.plugin_instance, e->task, sizeof(n.plugin_instance));
  sstrncpy(n.type, "remediation", sizeof(n.type));
  sstrncpy(n.type_instance, e->name, sizeof(n.type_instance));
  sstrncpy(n.message, e->message, sizeof(n.message));
  /* The subject's entries always; a job's only for a job's events. */
  const struct {
    const char *name, *value;
    bool always;
  } meta[] = {
      {"subject_plugin", e->plugin, true},
      {"subject_plugin_instance", e->plugin_instance, true},
      {"subject_type", e->type, true},
      {"subject_type_instance", e->type_instance, true},
      {"episode", e->episode, true},
      {"job_id", e->job_id, false},
      {"state", e->state, false},
      {"lifecycle", e->lifecycle, false},
  };
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(meta); i++)
    if ((meta[i].always || meta[i].value[0] != '\0') &&
        plugin_notification_meta_add_string(&n, meta[i].name, meta[i].value) !=
            0)
      NT_ERROR("Task \"%s\": %s: out of memory (meta \"%s\" left out)", e->task,
               e->name, meta[i].name);
  plugin_dispatch_notification(&n);
  plugin_notification_meta_free(n.meta);
}

static void dispatch(const notification_t *n, double arrival) {
  if (n->host[0] != '\0') {
    nt_dispatch(&plugin->cfg, plugin->sender, n, arrival);
    return;
  }
  /* An empty host stands for this one, as everywhere in collectd. */
  notification_t local = *n;
  sstrncpy(local.host, hostname_g, sizeof(local.host));
  nt_dispatch(&plugin->cfg, plugin->sender, &local, arrival);
}

static void free_held(held_t *h) {
  while (h != NULL) {
    held_t *next = h->next;
    plugin_notification_meta_free(h->n.meta);
    free(h);
    h = next;
  }
}

/* Takes the held notifications; when there are none left, or on the last
 * pass, ends the replay (under the lock, so that no notification slips in
 * between: one that comes next is dispatched after this batch at worst). */
static held_t *take_held(bool last) {
  pthread_mutex_lock(&plugin->lock);
  held_t *h = plugin->held;
  plugin->held = NULL;
  plugin->held_tail = &plugin->held;
  plugin->held_num = 0;
  plugin->held_full = false;
  if ((h == NULL || last) && get_state() == ST_REPLAYING)
    set_state(ST_READY);
  pthread_mutex_unlock(&plugin->lock);
  return h;
}

/* collectd's main thread, once: the only move out of ST_NEW, so the
 * configuration and the sender need no lock; the notification callback
 * only holds notifications meanwhile. */
static int nt_init(void) {
  if (get_state() != ST_NEW)
    return get_state() == ST_FAILED ? -1 : 0;
  int state = ST_FAILED;
  plugin->cfg.check_only = collectd_test_mode();
  if (nt_config_finalize(&plugin->cfg) == 0)
    plugin->sender = nt_sender_create(&plugin->cfg); /* logs why not */
  if (plugin->sender != NULL) {
    if (nt_sender_set_notifier(plugin->sender, dispatch_event, NULL) != 0)
      NT_ERROR("out of memory: the plugin's own notifications are not "
               "dispatched");
    if (nt_sender_start(plugin->sender, thread_create) == 0)
      state = ST_REPLAYING;
    else
      NT_ERROR("cannot start the sender thread");
  }
  pthread_mutex_lock(&plugin->lock);
  set_state(state);
  pthread_mutex_unlock(&plugin->lock);
  if (state == ST_FAILED) {
    free_held(take_held(true));
    return -1;
  }
  NT_INFO("%zu Task(s) for %zu supervisor(s)%s", plugin->cfg.tasks_num,
          plugin->cfg.supervisors_num,
          plugin->cfg.check_only
              ? ", collectd -T: nothing is sent, spooled or resumed"
          : plugin->cfg.dry_run ? ", DryRun"
                                : "");
  held_t *h;
  for (int pass = 1; (h = take_held(pass == REPLAY_PASSES)) != NULL; pass++) {
    for (held_t *i = h; i != NULL; i = i->next)
      dispatch(&i->n, i->arrival);
    free_held(h);
  }
  return 0;
}

/* A copy of n, with its meta, to be dispatched at init; NULL when out of
 * memory. */
static held_t *held_copy(const notification_t *n, double arrival) {
  held_t *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return NULL;
  h->n = *n;
  h->n.meta = NULL;
  h->arrival = arrival;
  if (plugin_notification_meta_copy(&h->n, n) != 0) {
    plugin_notification_meta_free(h->n.meta);
    free(h);
    return NULL;
  }
  return h;
}

/* Before init (or while the earlier ones are replayed): kept, in order.
 * Returns false when the notification is to be dispatched now. */
static bool hold(const notification_t *n, double arrival) {
  held_t *h = held_copy(n, arrival); /* allocated before the lock */
  bool held = true, full = false;
  pthread_mutex_lock(&plugin->lock);
  int state = get_state();
  if (state == ST_READY)
    held = false;
  else if ((state == ST_NEW || state == ST_REPLAYING) && h != NULL &&
           plugin->held_num < HELD_MAX) {
    *plugin->held_tail = h;
    plugin->held_tail = &h->next;
    plugin->held_num++;
    h = NULL;
  } else if (state == ST_NEW || state == ST_REPLAYING) {
    /* One WARNING per run of notifications that could not be kept. */
    full = !plugin->held_full;
    plugin->held_full = true;
  }
  pthread_mutex_unlock(&plugin->lock);
  free_held(h); /* not kept: dispatched now, failed or stopped */
  if (full)
    NT_WARNING("notifications came before init that cannot be kept (more "
               "than %d, or out of memory): ignored",
               HELD_MAX);
  return held;
}

static int nt_notify(const notification_t *n, user_data_t *ud) {
  (void)ud;
  int state = get_state();
  if (state == ST_FAILED || state == ST_STOPPED)
    return 0;
  double now = nt_now();
  if (state == ST_READY || !hold(n, now))
    dispatch(n, now);
  return 0;
}

static void submit_value(cdtime_t time, const char *task, const char *type,
                         const char *type_instance, value_t value) {
  value_list_t vl = VALUE_LIST_INIT;
  vl.time = time;
  vl.values = &value;
  vl.values_len = 1;
  sstrncpy(vl.plugin, "notify_theeye", sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, task, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, type, sizeof(vl.type));
  if (type_instance != NULL)
    sstrncpy(vl.type_instance, type_instance, sizeof(vl.type_instance));
  plugin_dispatch_values(&vl);
}

/* The spool's counters with SpoolDir, a follow's with FollowJob. */
static bool reported(const nt_task_t *task, nt_stat_t s, bool spool) {
  switch (s) {
  case NT_STAT_SPOOLED:
  case NT_STAT_RESUMED:
  case NT_STAT_SPOOL_ERRORS:
    return spool;
  case NT_STAT_JOB_SUCCEEDED:
  case NT_STAT_JOB_FAILED:
  case NT_STAT_FOLLOW_TIMEOUT:
  case NT_STAT_FOLLOW_ABANDONED:
    return task->follow_job;
  case NT_STAT_RESOLVED:
  case NT_STAT_UNRESOLVED:
    return task->verify > 0;
  default:
    return true;
  }
}

static int nt_read(user_data_t *ud) {
  (void)ud;
  int state = get_state();
  if (state != ST_READY && state != ST_REPLAYING)
    return 0;
  bool spool = plugin->cfg.spool_dir != NULL;
  /* One time for every figure of this read: a reader can tell which
   * figures belong together. */
  cdtime_t now = DOUBLE_TO_CDTIME_T(nt_wall());
  for (size_t i = 0; i < plugin->cfg.tasks_num; i++) {
    nt_task_t *task = plugin->cfg.tasks[i];
    for (int s = 0; s < NT_STATS_NUM; s++)
      if (reported(task, (nt_stat_t)s, spool))
        submit_value(now, task->name, "derive", nt_stat_names[s],
                     (value_t){.derive = (derive_t)nt_stats_get(&task->stats,
                                                                (nt_stat_t)s)});
    submit_value(now, task->name, "queue_length", NULL,
                 (value_t){.gauge = (gauge_t)nt_sender_queue_length(
                               plugin->sender, task)});
  }
  /* Corrupt entries may name no Task: one figure for the whole plugin. */
  if (spool)
    submit_value(
        now, "", "derive", "spool_corrupt",
        (value_t){.derive = (derive_t)nt_sender_spool_corrupt(plugin->sender)});
  return 0;
}

static int nt_shutdown(void) {
  /* From here on a notification is ignored; one already past the check
   * finds the sender stopping and is not queued. */
  pthread_mutex_lock(&plugin->lock);
  set_state(ST_STOPPED);
  nt_sender_t *sender = plugin->sender;
  pthread_mutex_unlock(&plugin->lock);
  if (sender == NULL)
    return 0;
  double grace = (double)plugin->cfg.timeout_ms / 1000.0;
  if (grace > SHUTDOWN_GRACE_MAX)
    grace = SHUTDOWN_GRACE_MAX;
  if (nt_sender_stop(sender, grace) != 0)
    plugin->left_behind = true;
  return 0;
}

/* The notification callback's free_func: collectd's very last call. */
static void nt_free(void *arg) {
  nt_plugin_t *p = arg;
  /* A thread still running uses the sender and the configuration: both
   * stay, collectd is exiting anyway. */
  if (p->left_behind)
    return;
  free_held(p->held);
  nt_sender_free(p->sender);
  nt_config_free(&p->cfg);
  pthread_mutex_destroy(&p->lock);
  free(p);
  plugin = NULL;
}

void module_register(void) {
  plugin = calloc(1, sizeof(*plugin));
  if (plugin == NULL) {
    NT_ERROR("out of memory");
    return;
  }
  nt_config_init(&plugin->cfg);
  plugin->held_tail = &plugin->held;
  pthread_mutex_init(&plugin->lock, NULL);
  plugin_register_complex_config("notify_theeye", nt_config_cb);
  plugin_register_init("notify_theeye", nt_init);
  plugin_register_notification(
      "notify_theeye", nt_notify,
      &(user_data_t){.data = plugin, .free_func = nt_free});
  plugin_register_complex_read(NULL, "notify_theeye", nt_read, 0, NULL);
  plugin_register_shutdown("notify_theeye", nt_shutdown);
}
