/* SPDX-License-Identifier: MIT */

#include "dispatch.h"
#include "clock.h"
#include "cooldown.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "outcome.h"
#include "pause.h"
#include "subjects.h"
#include "table.h"
#include "verify.h"
#include "windows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

nt_job_t *nt_job_make(const nt_config_t *cfg, nt_task_t *task,
                      const notification_t *n, const char *episode,
                      bool followed, double now) {
  nt_render_ctx_t ctx = {.task_name = task->name, .episode = episode};
  /* All arguments are rendered into one buffer, then cut at the offsets. */
  size_t ends[task->args_num > 0 ? task->args_num : 1];
  const char *args[task->args_num > 0 ? task->args_num : 1];
  size_t lens[task->args_num > 0 ? task->args_num : 1];
  nt_buf_t text = NT_BUF_INIT;
  for (size_t i = 0; i < task->args_num; i++) {
    if (nt_template_render(task->args[i], n, &ctx, &text) != 0) {
      nt_buf_free(&text);
      return NULL;
    }
    ends[i] = text.len;
  }
  for (size_t i = 0; i < task->args_num; i++) {
    size_t start = i ? ends[i - 1] : 0;
    args[i] = text.data ? text.data + start : "";
    lens[i] = ends[i] - start;
  }
  /* The body goes straight after the job's header: one allocation. */
  static const char head[NT_JOB_HEAD];
  nt_buf_t job = NT_BUF_INIT;
  int status = nt_buf_append(&job, head, sizeof(head));
  if (status == 0)
    status =
        nt_json_body_append(&job, task->task_id, args, lens, task->args_num);
  nt_buf_free(&text);
  size_t body_end = job.len;
  const char *about[] = {n->host, n->plugin,        n->plugin_instance,
                         n->type, n->type_instance, episode};
  for (size_t i = 0; followed && i < sizeof(about) / sizeof(*about); i++) {
    nt_buf_append(&job, "", 1); /* ends the body, then each field */
    nt_buf_puts(&job, about[i]);
  }
  if (status != 0 || job.failed) {
    nt_buf_free(&job);
    return NULL;
  }
  nt_job_t *made = nt_job_build(&job, task, now, nt_wall(), cfg->max_age);
  if (made != NULL && followed) {
    made->body_len = body_end - NT_JOB_HEAD;
    made->about = made->body + made->body_len + 1;
  }
  return made;
}

/* A string meta entry of n, or NULL. */
static const char *meta_string(const notification_t *n, const char *name) {
  for (const notification_meta_t *m = n->meta; m != NULL; m = m->next)
    if (m->type == NM_TYPE_STRING && strcmp(m->name, name) == 0)
      return m->nm_value.nm_string;
  return NULL;
}

static bool cancels_any(const nt_config_t *cfg) {
  for (size_t i = 0; i < cfg->tasks_num; i++)
    if (cfg->tasks[i]->cancel_on_recovery)
      return true;
  return false;
}

/* The guards a match got through, given back when no job comes of it. */
typedef struct {
  bool cooldown, budget, task_budget;
} admitted_t;

static void withdraw(nt_task_t *task, const notification_t *n, const char *key,
                     size_t len, double now, const admitted_t *a) {
  if (a->cooldown)
    nt_cooldown_withdraw(task->cooldowns, n, now);
  if (a->budget)
    nt_windows_withdraw(task->budgets, key, len, now);
  if (a->task_budget)
    nt_windows_withdraw(task->task_budgets, "", 0, now);
}

/* The Budget's table is full of windows still running: new subjects are
 * refused until the first ones end. */
static void budgets_full(nt_task_t *task, double now) {
  nt_complain(&task->complaints[NT_COMPLAINT_BUDGETS_FULL], now, LOG_WARNING,
              "Task \"%s\": %d subjects have a Budget window running: new "
              "subjects are refused until the first windows end",
              task->name, NT_BUDGET_CAPACITY);
}

/* A budget's verdict on one more job at now: a refusal is counted, and
 * the first of a run of refusals reported to humans (report: unless the
 * notification is the plugin's own, so that an escalation never loops). */
static bool within_budget(nt_sender_t *s, nt_task_t *task, nt_windows_t *w,
                          const nt_count_window_t *cw, const char *key,
                          size_t len, const notification_t *n,
                          const char *episode, bool report, double now) {
  bool first = false;
  double until = now;
  if (nt_windows_admit(w, key, len, now, &first, &until))
    return true;
  nt_stats_add(&task->stats, NT_STAT_OVER_BUDGET, 1);
  if (isnan(until))
    budgets_full(task, now);
  if (!first || !report)
    return false;
  char subject[5 * DATA_MAX_NAME_LEN], when[32] = "";
  nt_subject_name(n, subject, sizeof(subject));
  time_t t = (time_t)ceil(nt_wall() + (until - now));
  struct tm tm;
  if (gmtime_r(&t, &tm) != NULL)
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  nt_event_t *e = nt_event_new(
      "budget_exhausted", NOTIF_FAILURE, task->name, n, episode,
      "Task %s already ran %u times in %.15g s for %s; not run again until "
      "%s%s",
      task->name, cw->n, cw->seconds, subject, when,
      len > 0 ? "" : " (TaskBudget: all subjects together)");
  if (e != NULL)
    nt_sender_notify(s, e);
  return false;
}

int nt_dispatch(nt_config_t *cfg, nt_sender_t *s, const notification_t *n,
                double now) {
  /* Every subject is remembered, whether a Task wants it or not. */
  nt_subject_info_t subject;
  nt_subjects_note(cfg->subjects, n, nt_wall(), &subject);
  char key[NT_SUBJECT_KEY_MAX];
  size_t len = nt_subject_key(n, key);
  bool okay = n->severity == NOTIF_OKAY;
  /* The plugin's own notifications reach only the Tasks that name it:
   * escalations, whose jobs report nothing further. */
  bool own = strcmp(n->plugin, NT_PLUGIN_NAME) == 0;
  /* The plugin's own notification is about its subject's incident: an
   * escalation's %{episode} is that one's, not one of its own. */
  const char *episode = subject.episode;
  if (own) {
    const char *of_subject = meta_string(n, "episode");
    episode = of_subject != NULL ? of_subject : "";
  }
  /* The OKAY that ends an incident: the jobs still waiting for it are of
   * no use now (CancelOnRecovery); the sender's thread finds them. */
  if (okay && subject.episode[0] != '\0' && cancels_any(cfg)) {
    char name[5 * DATA_MAX_NAME_LEN];
    nt_subject_name(n, name, sizeof(name));
    nt_sender_cancel(s, subject.episode_id, name);
  }
  int queued = 0;
  for (size_t i = 0; i < cfg->tasks_num; i++) {
    nt_task_t *task = cfg->tasks[i];
    /* Any OKAY for the subject, whatever the Task's filters: it resolves
     * the Task's Verify window, and Confirm counts again from zero. */
    if (okay && task->verifies != NULL) {
      nt_event_t *e =
          nt_verify_resolve(task->verifies, task->name, key, len, now);
      if (e != NULL) {
        nt_stats_add(&task->stats, NT_STAT_RESOLVED, 1);
        nt_sender_notify(s, e);
      }
    }
    if (okay && task->confirms != NULL)
      nt_windows_reset(task->confirms, key, len);
    if (own && !nt_match_names(&task->match, NT_FIELD_PLUGIN, NT_PLUGIN_NAME))
      continue;
    if (!nt_match(&task->match, n))
      continue;
    /* The guards, in their order; the first that holds a match back
     * counts it. collectd's threshold plugin sends an OKAY for every value
     * it checks at start-up: none is a recovery. */
    if (task->pause != NULL && nt_pause_active(task->pause)) {
      nt_stats_add(&task->stats, NT_STAT_PAUSED, 1);
      continue;
    }
    /* The plugin's own OKAYs (job_succeeded, resolved) are events, not
     * recoveries. */
    if (okay && !own && task->ignore_first_okay && !subject.seen_other) {
      nt_stats_add(&task->stats, NT_STAT_IGNORED_OKAY, 1);
      continue;
    }
    if (!okay && task->confirms != NULL &&
        !nt_windows_confirm(task->confirms, key, len, now)) {
      nt_stats_add(&task->stats, NT_STAT_UNCONFIRMED, 1);
      continue;
    }
    admitted_t a = {0};
    if (task->cooldowns != NULL) {
      if (!nt_cooldown_admit(task->cooldowns, n, now)) {
        nt_stats_add(&task->stats, NT_STAT_SUPPRESSED, 1);
        continue;
      }
      a.cooldown = true;
    }
    if (task->budgets != NULL) {
      if (!within_budget(s, task, task->budgets, &task->budget, key, len, n,
                         subject.episode, !own, now)) {
        withdraw(task, n, key, len, now, &a);
        continue;
      }
      a.budget = true;
    }
    if (task->task_budgets != NULL) {
      if (!within_budget(s, task, task->task_budgets, &task->task_budget, "", 0,
                         n, subject.episode, !own, now)) {
        withdraw(task, n, key, len, now, &a);
        continue;
      }
      a.task_budget = true;
    }
    /* An escalation's job reports nothing further: it is neither followed
     * nor verified. */
    nt_job_t *job =
        nt_job_make(cfg, task, n, episode,
                    (task->follow_job || task->verifies != NULL) && !own, now);
    if (job == NULL) {
      withdraw(task, n, key, len, now, &a);
      nt_stats_add(&task->stats, NT_STAT_DROPPED, 1);
      NT_ERROR("Task \"%s\": out of memory: a job was dropped", task->name);
      continue;
    }
    /* An OKAY's job reports the end of the episode: never cancelled. */
    job->episode = okay ? 0 : subject.episode_id;
    int status = nt_sender_submit(s, job);
    if (status != 0) {
      withdraw(task, n, key, len, now, &a);
      free(job);
      if (status != NT_SUBMIT_CANCELLED)
        break; /* shutting down: ignored */
      nt_outcome_cancelled_unqueued(task);
      continue;
    }
    queued++;
  }
  return queued;
}
