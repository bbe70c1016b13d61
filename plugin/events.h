/* SPDX-License-Identifier: MIT
 *
 * The plugin's own notifications: what the guards (and, later, the jobs
 * followed to their end) report to humans through collectd itself, so that
 * every notification plugin already configured (email, Nagios, logfile, an
 * escalation Task) sees them. Built in collectd's threads, dispatched from
 * the plugin's own thread (see nt_sender_notify). */
#ifndef NT_EVENTS_H
#define NT_EVENTS_H

#include "subjects.h"

#include "collectd.h"
#include "plugin.h"

/* The plugin name of the plugin's own notifications. */
#define NT_PLUGIN_NAME "notify_theeye"

typedef struct nt_event_s {
  struct nt_event_s *next;
  int severity;  /* NOTIF_* */
  char name[32]; /* the event: budget_exhausted, ... */
  char task[DATA_MAX_NAME_LEN];
  /* The subject. */
  char host[DATA_MAX_NAME_LEN];
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  char episode[NT_EPISODE_LEN + 1];
  char message[NOTIF_MAX_MSG_LEN];
  /* A job's events (job_succeeded, job_failed) only; "" otherwise. */
  char job_id[64];
  char state[32];
  char lifecycle[32];
} nt_event_t;

/* An event about the subject of n (of the given episode) for task; the
 * message in printf form. NULL when out of memory. */
nt_event_t *nt_event_new(const char *name, int severity, const char *task,
                         const notification_t *n, const char *episode,
                         const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* A job's about (see nt_job_t): its subject into n's five fields, and its
 * episode. */
void nt_about_subject(const char *about, notification_t *n);
const char *nt_about_episode(const char *about);
/* The bytes of an about, its last NUL included. */
size_t nt_about_len(const char *about);

/* "host/plugin-instance/type-instance", collectd's way of naming what a
 * value is about. */
void nt_subject_name(const notification_t *n, char *out, size_t size);

#endif
