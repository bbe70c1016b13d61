/* SPDX-License-Identifier: MIT */

#include "verify.h"
#include "log.h"
#include "table.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  double opened, deadline; /* monotonic */
  char job_id[64];
  char episode[NT_EPISODE_LEN + 1];
} window_t;

struct nt_verify_s {
  pthread_mutex_t lock;
  double seconds;
  size_t capacity;
  nt_table_t *table; /* of window_t by subject key, oldest deadline first */
};

nt_verify_t *nt_verify_create(double seconds, size_t capacity) {
  nt_verify_t *v = calloc(1, sizeof(*v));
  if (v == NULL)
    return NULL;
  v->table = nt_table_create(capacity, sizeof(window_t));
  if (v->table == NULL) {
    free(v);
    return NULL;
  }
  v->seconds = seconds;
  v->capacity = capacity;
  pthread_mutex_init(&v->lock, NULL);
  return v;
}

void nt_verify_free(nt_verify_t *v) {
  if (v == NULL)
    return;
  nt_table_free(v->table);
  pthread_mutex_destroy(&v->lock);
  free(v);
}

bool nt_verify_open(nt_verify_t *v, const char *about, const char *job_id,
                    double now) {
  const char *episode = nt_about_episode(about);
  size_t len = (size_t)(episode - about); /* its subject's key */
  pthread_mutex_lock(&v->lock);
  window_t *w = nt_table_find(v->table, about, len);
  if (w != NULL)
    nt_table_touch(v->table, w); /* restarted: its deadline is the latest */
  else if (nt_table_size(v->table) < v->capacity)
    w = nt_table_add(v->table, about, len);
  if (w != NULL) {
    w->opened = now;
    w->deadline = now + v->seconds;
    snprintf(w->job_id, sizeof(w->job_id), "%s", job_id);
    snprintf(w->episode, sizeof(w->episode), "%s", episode);
  }
  pthread_mutex_unlock(&v->lock);
  return w != NULL;
}

/* seconds: the Verify time, which an unresolved verdict names. */
static nt_event_t *event(const char *task, const char *key, const window_t *w,
                         bool resolved, double seconds, double now) {
  notification_t n = {0};
  nt_about_subject(key, &n); /* a key is an about's first part */
  char subject[5 * DATA_MAX_NAME_LEN];
  nt_subject_name(&n, subject, sizeof(subject));
  nt_event_t *e =
      resolved
          ? nt_event_new("resolved", NOTIF_OKAY, task, &n, w->episode,
                         "%s is OKAY again %.1f s after job %s of Task %s",
                         subject, now - w->opened, w->job_id, task)
          : nt_event_new("unresolved", NOTIF_FAILURE, task, &n, w->episode,
                         "%s still not OKAY %.15g s after job %s of Task %s",
                         subject, seconds, w->job_id, task);
  if (e != NULL)
    snprintf(e->job_id, sizeof(e->job_id), "%s", w->job_id);
  return e;
}

nt_event_t *nt_verify_resolve(nt_verify_t *v, const char *task, const char *key,
                              size_t len, double now) {
  window_t copy;
  pthread_mutex_lock(&v->lock);
  window_t *w = nt_table_find(v->table, key, len);
  if (w != NULL) {
    copy = *w;
    nt_table_remove(v->table, w);
  }
  pthread_mutex_unlock(&v->lock);
  return w != NULL ? event(task, key, &copy, true, v->seconds, now) : NULL;
}

void nt_verify_after_job(nt_task_t *task, nt_subjects_t *subjects,
                         const char *about, const char *job_id, double now,
                         void (*report)(nt_event_t *e, void *arg), void *arg) {
  const char *episode = nt_about_episode(about);
  size_t len = (size_t)(episode - about);
  if (!nt_verify_open(task->verifies, about, job_id, now)) {
    nt_complain(&task->complaints[NT_COMPLAINT_VERIFY_FULL], now, LOG_WARNING,
                "Task \"%s\": %d subjects have a Verify window open: job %s "
                "is not verified",
                task->name, NT_VERIFY_CAPACITY, job_id);
    return;
  }
  /* Its OKAY came while the job ran: the problem is gone. A subject that
   * failed again meanwhile waits for its next OKAY. */
  if (!nt_subjects_okay(subjects, about, len))
    return;
  nt_event_t *e =
      nt_verify_resolve(task->verifies, task->name, about, len, now);
  if (e == NULL)
    return;
  nt_stats_add(&task->stats, NT_STAT_RESOLVED, 1);
  report(e, arg);
}

nt_event_t *nt_verify_expire(nt_verify_t *v, const char *task, double now) {
  nt_event_t *head = NULL, **tail = &head;
  for (;;) {
    char key[NT_SUBJECT_KEY_MAX];
    window_t copy;
    pthread_mutex_lock(&v->lock);
    window_t *w = nt_table_oldest(v->table);
    bool due = w != NULL && w->deadline <= now;
    if (due) {
      copy = *w;
      nt_table_key(v->table, w, key, sizeof(key));
      nt_table_remove(v->table, w);
    }
    pthread_mutex_unlock(&v->lock);
    if (!due)
      return head;
    nt_event_t *e = event(task, key, &copy, false, v->seconds, now);
    if (e != NULL) {
      *tail = e;
      tail = &e->next;
    }
  }
}
