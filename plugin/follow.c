/* SPDX-License-Identifier: MIT */

#include "follow.h"
#include "log.h"
#include "outcome.h"
#include "verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the result route is asked for: the whole job, held up to a minute. */
#define RESULT_QUERY "/result?full&timeout=60"
#define HOLD_SECONDS 60
/* A "not yet" sooner than this after its request was not held. The first
 * few in a row are asked again at once, as any "not yet"; past them (a
 * proxy in between that answers for the supervisor, say) the next request
 * waits as long: never a loop. */
#define MIN_HOLD 1.0
#define QUICK_NOT_YETS 3

typedef struct nt_follow_s {
  struct nt_follow_s *next, *prev; /* in creation order, or the gone list */
  nt_task_t *task;
  char id[64];
  char *url; /* the result route: holds the job's secret, never logged */
  double created, deadline, not_before; /* monotonic */
  double asked;                         /* its last request's start */
  unsigned tries; /* failed requests in a row, for the backoff */
  unsigned quick; /* "not yet"s in a row, each not held */
  bool in_flight; /* its request is under way */
  bool gone;      /* abandoned in flight: freed once its request ends */
  char about[];   /* the job's (see nt_job_t) */
} nt_follow_t;

typedef struct {
  nt_follow_t *head, *tail;
} list_t;

struct nt_follows_s {
  const nt_config_t *cfg;
  nt_http_t *http;
  nt_follow_report_t report;
  void *arg;
  list_t live; /* oldest first; FollowLimit counts these */
  size_t num;
  list_t gone; /* abandoned while in flight */
  bool stopping;
  /* No follow waiting to be asked again is due before (a request in flight
   * ends by itself): the follows are looked at only then. */
  double next_due;
};

nt_follows_t *nt_follows_create(const nt_config_t *cfg, nt_http_t *h,
                                nt_follow_report_t report, void *arg) {
  nt_follows_t *fs = calloc(1, sizeof(*fs));
  if (fs == NULL)
    return NULL;
  fs->cfg = cfg;
  fs->http = h;
  fs->next_due = INFINITY;
  fs->report = report;
  fs->arg = arg;
  return fs;
}

static void unlink_from(list_t *l, nt_follow_t *f) {
  if (f->prev != NULL)
    f->prev->next = f->next;
  else
    l->head = f->next;
  if (f->next != NULL)
    f->next->prev = f->prev;
  else
    l->tail = f->prev;
  f->next = f->prev = NULL;
}

static void append_to(list_t *l, nt_follow_t *f) {
  f->prev = l->tail;
  f->next = NULL;
  if (l->tail != NULL)
    l->tail->next = f;
  else
    l->head = f;
  l->tail = f;
}

/* The job's secret leaves memory with its follow. */
static void free_follow(nt_follow_t *f) {
  if (f->url != NULL) {
    explicit_bzero(f->url, strlen(f->url));
    free(f->url);
  }
  free(f);
}

static void free_list(list_t *l) {
  while (l->head != NULL) {
    nt_follow_t *f = l->head;
    unlink_from(l, f);
    free_follow(f);
  }
}

void nt_follows_free(nt_follows_t *fs) {
  if (fs == NULL)
    return;
  free_list(&fs->live);
  free_list(&fs->gone);
  free(fs);
}

size_t nt_follows_num(const nt_follows_t *fs) { return fs->num; }

void nt_follows_stop(nt_follows_t *fs) { fs->stopping = true; }

/* The follow's result requests fail no more (answered, or it ends). */
static void stop_failing(nt_follow_t *f) {
  if (f->tries == 0)
    return;
  f->tries = 0;
  f->task->follows_failing--;
}

/* The follow is over: out of the live list, freed (or, in flight, kept
 * until its request, cut now, comes back). */
static void end_follow(nt_follows_t *fs, nt_follow_t *f) {
  stop_failing(f);
  unlink_from(&fs->live, f);
  fs->num--;
  if (f->in_flight) {
    f->gone = true;
    append_to(&fs->gone, f);
    nt_http_cancel(fs->http, f);
  } else {
    free_follow(f);
  }
}

/* Ids are hexadecimal; anything else is not put in a URL. */
static bool plain_id(const char *id) {
  if (id[0] == '\0')
    return false;
  for (const char *c = id; *c != '\0'; c++)
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
          (*c >= 'A' && *c <= 'Z')))
      return false;
  return true;
}

void nt_follows_add(nt_follows_t *fs, const nt_job_t *job,
                    const nt_job_info_t *info, double now) {
  nt_task_t *task = job->task;
  if (fs->stopping || !task->follow_job || job->about == NULL ||
      !info->is_job || info->rejected)
    return;
  if (info->secret[0] == '\0' || !plain_id(info->id)) {
    nt_complain(&task->complaints[NT_COMPLAINT_NOT_FOLLOWED], now, LOG_WARNING,
                "Task \"%s\": job %s is not followed: the supervisor's "
                "answer holds no job secret (or an id unfit for a URL)",
                task->name, plain_id(info->id) ? info->id : "?");
    return;
  }
  nt_follow_t *f = calloc(1, sizeof(*f) + nt_about_len(job->about));
  size_t len = strlen(task->eff.url) + sizeof("/job//secret/") +
               strlen(info->id) + strlen(info->secret) + sizeof(RESULT_QUERY);
  char *url = f != NULL ? malloc(len) : NULL;
  if (url == NULL) {
    free(f);
    NT_ERROR("Task \"%s\": out of memory: job %s is not followed", task->name,
             info->id);
    return;
  }
  snprintf(url, len, "%s/job/%s/secret/%s" RESULT_QUERY, task->eff.url,
           info->id, info->secret);
  f->url = url;
  f->task = task;
  snprintf(f->id, sizeof(f->id), "%s", info->id);
  f->created = f->not_before = now;
  f->deadline = now + task->follow_timeout;
  memcpy(f->about, job->about, nt_about_len(job->about));
  if (fs->num >= fs->cfg->follow_limit && fs->live.head != NULL) {
    nt_follow_t *oldest = fs->live.head;
    nt_stats_add(&oldest->task->stats, NT_STAT_FOLLOW_ABANDONED, 1);
    NT_WARNING("Task \"%s\": job %s is no longer followed: FollowLimit (%zu) "
               "reached",
               oldest->task->name, oldest->id, fs->cfg->follow_limit);
    end_follow(fs, oldest);
  }
  append_to(&fs->live, f);
  fs->num++;
  if (now < fs->next_due)
    fs->next_due = now;
}

/* The job ended: logged, counted and reported. */
static void report_end(nt_follows_t *fs, nt_follow_t *f, bool success,
                       const nt_job_info_t *info, double now) {
  nt_task_t *task = f->task;
  /* A 200 without a state reads as success. */
  const char *state = info->state[0] ? info->state : success ? "success" : "?";
  const char *lifecycle = info->lifecycle[0] ? info->lifecycle : "?";
  double took = now - f->created;
  nt_stats_add(&task->stats,
               success ? NT_STAT_JOB_SUCCEEDED : NT_STAT_JOB_FAILED, 1);
  NT_INFO("Task \"%s\": job %s %s: state %s, lifecycle %s, %.1f s after it "
          "was created",
          task->name, f->id, success ? "succeeded" : "failed", state, lifecycle,
          took);
  notification_t about = {0};
  nt_about_subject(f->about, &about);
  char subject[5 * DATA_MAX_NAME_LEN];
  nt_subject_name(&about, subject, sizeof(subject));
  nt_event_t *e = nt_event_new(
      success ? "job_succeeded" : "job_failed",
      success ? NOTIF_OKAY : NOTIF_FAILURE, task->name, &about,
      nt_about_episode(f->about),
      "Task %s: job %s for %s %s (state %s, lifecycle %s) %.1f s after it "
      "was created",
      task->name, f->id, subject, success ? "succeeded" : "failed", state,
      lifecycle, took);
  if (e != NULL) {
    snprintf(e->job_id, sizeof(e->job_id), "%s", f->id);
    snprintf(e->state, sizeof(e->state), "%s", state);
    snprintf(e->lifecycle, sizeof(e->lifecycle), "%s", lifecycle);
    fs->report(e, fs->arg);
  }
  /* The remediation ran: now its subject's OKAY is expected (after the
   * report of its end, so that resolved never comes first). */
  if (success && task->verifies != NULL)
    nt_verify_after_job(task, fs->cfg->subjects, f->about, f->id, now,
                        fs->report, fs->arg);
}

static void timed_out(nt_follows_t *fs, nt_follow_t *f) {
  nt_stats_add(&f->task->stats, NT_STAT_FOLLOW_TIMEOUT, 1);
  NT_WARNING("Task \"%s\": job %s has not finished within FollowTimeout "
             "(%g s): no longer followed",
             f->task->name, f->id, f->task->follow_timeout);
  end_follow(fs, f);
}

void nt_follows_run(nt_follows_t *fs, double now, double *next_due) {
  if (now < fs->next_due) {
    if (fs->next_due < *next_due)
      *next_due = fs->next_due;
    return;
  }
  fs->next_due = INFINITY;
  for (nt_follow_t *f = fs->live.head, *next; f != NULL; f = next) {
    next = f->next;
    if (f->in_flight || fs->stopping)
      continue;
    if (now >= f->deadline) {
      timed_out(fs, f);
      continue;
    }
    if (f->not_before > now) {
      double due = f->not_before < f->deadline ? f->not_before : f->deadline;
      if (due < fs->next_due)
        fs->next_due = due;
      continue;
    }
    /* The hold, plus the Task's Timeout for the answer; never past the
     * follow's own end. */
    double seconds = HOLD_SECONDS + (double)f->task->eff.timeout_ms / 1000;
    if (now + seconds > f->deadline)
      seconds = f->deadline - now;
    long ms = (long)ceil(seconds * 1000);
    if (nt_http_get(fs->http, f->task, f->url, ms > 0 ? ms : 1, f) == 0) {
      f->in_flight = true;
      f->asked = now;
    } else if (now + 1.0 < fs->next_due)
      fs->next_due = now + 1.0; /* no room now: look again in a second */
  }
  if (fs->next_due < *next_due)
    *next_due = fs->next_due;
}

/* What the answer to a result request says of its follow's job. */
typedef enum {
  ANSWER_ENDED,   /* 200 or 500 with this job: it finished */
  ANSWER_NOT_YET, /* 303 or 408: ask again */
  ANSWER_GONE,    /* 404: the supervisor no longer knows it */
  ANSWER_FAILED   /* anything else: the request failed */
} answer_t;

static answer_t classify(const nt_follow_t *f, const nt_http_result_t *r) {
  bool ours = r->job.is_job && strcmp(r->job.id, f->id) == 0;
  if ((r->status == 200 || r->status == 500) && ours)
    return ANSWER_ENDED;
  if (r->status == 303 || r->status == 408)
    return ANSWER_NOT_YET;
  return r->status == 404 ? ANSWER_GONE : ANSWER_FAILED;
}

void nt_follows_settle(nt_follows_t *fs, void *owner, const nt_http_result_t *r,
                       double now, double u) {
  nt_follow_t *f = owner;
  f->in_flight = false;
  if (f->gone) {
    unlink_from(&fs->gone, f);
    free_follow(f);
    return;
  }
  if (fs->stopping) { /* aborted at shutdown: not counted */
    end_follow(fs, f);
    return;
  }
  answer_t answer = classify(f, r);
  /* Once no follow of the Task fails, an answer says that results can be
   * read again (nothing when there was no complaint). */
  if (answer != ANSWER_FAILED) {
    stop_failing(f);
    if (f->task->follows_failing == 0)
      nt_outcome_follow_answered(f->task);
  }
  if (answer == ANSWER_ENDED) {
    report_end(fs, f, r->status == 200, &r->job, now);
    end_follow(fs, f);
  } else if (answer == ANSWER_NOT_YET) {
    /* Ask again at once. */
    f->quick = now - f->asked < MIN_HOLD ? f->quick + 1 : 0;
    f->not_before = f->quick > QUICK_NOT_YETS ? now + MIN_HOLD : now;
    if (f->not_before < fs->next_due)
      fs->next_due = f->not_before;
  } else if (answer == ANSWER_GONE) {
    nt_stats_add(&f->task->stats, NT_STAT_FOLLOW_ABANDONED, 1);
    NT_WARNING("Task \"%s\": job %s is gone from the supervisor (HTTP 404): "
               "no longer followed",
               f->task->name, f->id);
    end_follow(fs, f);
  } else if (now >= f->deadline) {
    timed_out(fs, f);
  } else {
    if (f->tries++ == 0)
      f->task->follows_failing++;
    f->quick = 0;
    double wait = nt_retry_wait(fs->cfg, r, f->tries, u);
    nt_outcome_follow_failed(fs->cfg, f->task, f->id, r, wait, now);
    f->not_before = now + wait;
    double due = f->not_before < f->deadline ? f->not_before : f->deadline;
    if (due < fs->next_due)
      fs->next_due = due;
  }
}
