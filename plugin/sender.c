/* SPDX-License-Identifier: MIT
 *
 * The sender: owns the queue and the thread that does all network I/O,
 * many requests at once on one libcurl multi handle, each supervisor's at
 * its own pace. What an answer means, and what is counted and logged for
 * it, is outcome.c's business; this file is about threads and locks.
 *
 * Locks, in the only order in which one may be taken while another is held:
 *   1. s->lock (this file): the queue, seq, the flags below. collectd's
 *      threads take it in nt_sender_submit, so nothing done under it logs,
 *      touches the disk or the network.
 *   2. the spooler's lock (spooler.c): the jobs' spool_* fields and its
 *      lists; taken under s->lock when a job is queued or dropped; never
 *      held while the disk is touched.
 *   3. the complaints' lock (log.c): held only to decide whether a line
 *      goes out, never while it is logged.
 * The guards' locks (cooldown.c, windows.c, subjects.c) and the notifier's
 * (notifier.c) are taken alone, never with one of these held.
 * Threads: collectd's (submit), the sender's (everything else here), the
 * spooler's (take_resumed while it reads the spool at start, and
 * spool_ready) and the notifier's (its own notifications only). */
#include "sender.h"
#include "clock.h"
#include "follow.h"
#include "http.h"
#include "log.h"
#include "outcome.h"
#include "pause.h"
#include "spooler.h"
#include "subjects.h"
#include "verify.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* While jobs wait, the thread wakes at least this often to expire them. */
#define IDLE_WAKE 1.0
/* Jobs taken from the queue per pass, so that the lock is never held
 * long. */
#define TAKE_MAX 64
/* OKAYs waiting to cancel jobs, at most (more are dropped: their jobs
 * go, as if the OKAY had come later). */
#define CANCELS_MAX NT_SUBJECTS_CAPACITY
/* Episodes recently ended by an OKAY, remembered in a direct-mapped table
 * of this many slots (a power of two): a job of one of them that is
 * submitted late (its thread was still rendering it when the OKAY came) is
 * cancelled at once. */
#define ENDED_SLOTS 8192
/* How often the PauseFiles are looked at. */
#define PAUSE_CHECK 1.0
/* How often Verify windows are looked at for their end. */
#define VERIFY_CHECK 0.25
/* At shutdown, the sender gets this long past its deadline to notice the
 * abort; the spooler gets the rest of the second the bound allows. */
#define ABORT_SLACK 0.5

/* An OKAY's cancellation of the waiting jobs of the episode it ended. */
typedef struct {
  uint64_t episode;
  char *name; /* the subject, for the log */
} cancel_t;

/* A lane's jobs taken from the queue, in order, until their requests can
 * be written. */
typedef struct {
  nt_job_t *head, *tail; /* chained by start_next */
} start_line_t;

struct nt_sender_s {
  nt_config_t *cfg;
  nt_http_t *http;        /* the sender's thread only */
  start_line_t *starting; /* per lane; the sender's thread only */
  size_t starts;          /* jobs in the start lines */

  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t done;  /* the thread has exited */
  nt_queue_t *queue;
  nt_spooler_t *spooler; /* from start; NULL without SpoolDir, under -T */
  uint64_t seq, seq0;    /* the next job's, and the first job's */
  bool started, running, stopping;
  bool resuming; /* the spool is being read: sending waits */
  bool asleep;   /* the thread found nothing to start: a new job wakes it */
  double pause_checked;        /* monotonic: the PauseFiles' last look */
  double verify_checked;       /* monotonic: the Verify windows' last look */
  bool verifying;              /* a Task has Verify */
  bool abandoned;              /* a thread did not stop: nothing may be freed */
  uint64_t ended[ENDED_SLOTS]; /* episode ids by their low bits; 0: none */
  cancel_t *cancels;           /* for the thread, grown up to CANCELS_MAX */
  size_t cancels_num, cancels_size;
  nt_notifier_t *notifier; /* set before start; NULL: events are dropped */
  nt_follows_t *follows;   /* the sender's thread only */
  pthread_t thread;
  double abort_at; /* monotonic */
  unsigned short rand_state[3];
};

/* A paused Task's jobs wait (with their line: its Tasks share the pause). */
static void report_follow(nt_event_t *e, void *arg);

static bool paused(const nt_job_t *job) {
  return job->task->pause != NULL && nt_pause_active(job->task->pause);
}

nt_sender_t *nt_sender_create(nt_config_t *cfg) {
  nt_sender_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    NT_ERROR("cannot set up the sender: out of memory");
    return NULL;
  }
  s->cfg = cfg;
  s->abort_at = INFINITY;
  /* Sequence numbers name spool entries and order resumed jobs before new
   * ones: starting from the clock keeps them above the last run's. */
  s->seq = s->seq0 = (uint64_t)(nt_wall() * 1e6);
  size_t limit = cfg->queue_limit;
  if (cfg->spool_dir != NULL && cfg->spool_limit < limit)
    limit = cfg->spool_limit;
  s->queue =
      nt_queue_create(limit, cfg->lanes_num, cfg->connections, cfg->tasks_num);
  if (s->queue != NULL) {
    nt_queue_set_hold(s->queue, paused);
    /* Connections are per supervisor, however many lines lead to it. */
    for (size_t l = 0; l < cfg->lanes_num; l++)
      for (size_t w = 0; w < l; w++)
        if (strcmp(cfg->lane_tasks[w]->eff.url, cfg->lane_tasks[l]->eff.url) ==
            0) {
          nt_queue_share(s->queue, l, w);
          break;
        }
  }
  bool following = false;
  for (size_t i = 0; i < cfg->tasks_num; i++) {
    following |= cfg->tasks[i]->follow_job;
    s->verifying |= cfg->tasks[i]->verifies != NULL;
  }
  /* Follows never take a delivery's place: room for both. */
  s->http = nt_http_create(cfg, cfg->lanes_num * cfg->connections,
                           following ? cfg->follow_limit : 0);
  s->follows = s->http != NULL
                   ? nt_follows_create(cfg, s->http, report_follow, s)
                   : NULL;
  s->starting =
      calloc(cfg->lanes_num ? cfg->lanes_num : 1, sizeof(*s->starting));
  if (s->queue == NULL || s->http == NULL || s->starting == NULL ||
      s->follows == NULL || nt_cond_init(&s->done) != 0) {
    if (s->http != NULL) /* else http.c said why */
      NT_ERROR("cannot set up the sender: out of memory");
    nt_queue_free(s->queue);
    nt_http_free(s->http);
    nt_follows_free(s->follows);
    free(s->starting);
    free(s);
    return NULL;
  }
  pthread_mutex_init(&s->lock, NULL);
  uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16) ^
                  (uint64_t)(uintptr_t)s;
  memcpy(s->rand_state, &seed, sizeof(s->rand_state));
  return s;
}

void nt_sender_free(nt_sender_t *s) {
  if (s == NULL)
    return;
  nt_queue_free(s->queue);
  nt_http_free(s->http);
  nt_follows_free(s->follows); /* after the transfers that point at them */
  nt_spooler_free(s->spooler);
  free(s->starting);
  nt_notifier_free(s->notifier);
  for (size_t i = 0; i < s->cancels_num; i++)
    free(s->cancels[i].name);
  free(s->cancels);
  pthread_cond_destroy(&s->done);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* A job leaves the plugin: its spool entry goes with it. sp is the
 * sender's spooler as read under the lock (init sets it). */
static void release(nt_spooler_t *sp, nt_job_t *job) {
  if (sp == NULL || nt_spooler_release(sp, job))
    free(job);
}

/* Queues a job under the lock. Returns the job it displaced, for the
 * caller to drop once the lock is released. */
static nt_job_t *push_locked(nt_sender_t *s, nt_job_t *job) {
  nt_job_t *dropped = nt_queue_push(s->queue, job);
  if (s->spooler != NULL && !job->spool_file)
    nt_spooler_add(s->spooler, job);
  return dropped;
}

/* Whether the thread must be woken for a job just queued: only when it
 * waits with nothing to do that this job could change. Under the lock. */
static bool must_wake(nt_sender_t *s, const nt_job_t *job, double now) {
  if (!s->asleep || s->resuming ||
      !nt_queue_lane_open(s->queue, job->lane, now))
    return false;
  s->asleep = false;
  return true;
}

int nt_sender_submit(nt_sender_t *s, nt_job_t *job) {
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    return -1;
  }
  /* Either the OKAY's cancellation saw this job in the queue, or this
   * sees the episode it ended: both take s->lock. */
  if (job->episode != 0 && job->task->cancel_on_recovery &&
      s->ended[job->episode & (ENDED_SLOTS - 1)] == job->episode) {
    pthread_mutex_unlock(&s->lock);
    return NT_SUBMIT_CANCELLED;
  }
  job->seq = s->seq++;
  nt_job_t *dropped = push_locked(s, job);
  bool wake = must_wake(s, job, job->arrival);
  nt_spooler_t *sp = s->spooler;
  pthread_mutex_unlock(&s->lock);
  if (wake)
    nt_http_wakeup(s->http);
  if (dropped != NULL) {
    nt_outcome_dropped(dropped, nt_queue_limit(s->queue), nt_now());
    release(sp, dropped);
  }
  return 0;
}

/* The job is done with (sent, failed, expired): out of the queue and the
 * spool. The sender's thread, without the lock. */
static void done(nt_sender_t *s, nt_job_t *job) {
  pthread_mutex_lock(&s->lock);
  s->asleep = false; /* awake, and about to look at the queue again */
  nt_queue_remove(s->queue, job);
  nt_spooler_t *sp = s->spooler;
  pthread_mutex_unlock(&s->lock);
  release(sp, job);
}

/* After an exchange (r): settled, then done with or back in its place. */
/* A job the supervisor created, to be followed (FollowJob) or verified
 * (Verify alone: from its creation on). */
static void created(nt_sender_t *s, const nt_job_t *job,
                    const nt_http_result_t *r, double now) {
  nt_job_info_t info;
  nt_json_parse_job(r->body, r->body_len, &info);
  nt_task_t *task = job->task;
  if (task->follow_job)
    nt_follows_add(s->follows, job, &info, now);
  else if (task->verifies != NULL && info.is_job && !info.rejected)
    nt_verify_after_job(task, s->cfg->subjects, job->about, info.id, now,
                        report_follow, s);
  explicit_bzero(info.secret, sizeof(info.secret));
}

/* The Verify windows run out: reported (at most every VERIFY_CHECK). */
static void expire_verifies(nt_sender_t *s, double now) {
  if (now < s->verify_checked + VERIFY_CHECK)
    return;
  s->verify_checked = now;
  for (size_t i = 0; i < s->cfg->tasks_num; i++) {
    nt_task_t *task = s->cfg->tasks[i];
    if (task->verifies == NULL)
      continue;
    nt_event_t *e = nt_verify_expire(task->verifies, task->name, now);
    while (e != NULL) {
      nt_event_t *next = e->next;
      nt_stats_add(&task->stats, NT_STAT_UNRESOLVED, 1);
      nt_sender_notify(s, e);
      e = next;
    }
  }
}

static void finish(nt_sender_t *s, nt_job_t *job, const nt_http_result_t *r) {
  if (job->cancel_pending && nt_outcome_would_retry(r)) {
    nt_outcome_cancelled_later(job);
    done(s, job);
    return;
  }
  double now = nt_now();
  /* Followed or verified from before its creation is logged: an OKAY that
   * comes on the heels of that line finds its window open. */
  if (job->about != NULL && r->status >= 200 && r->status < 300)
    created(s, job, r, now);
  double retry_at =
      nt_outcome_settle(s->cfg, job, r, now, erand48(s->rand_state));
  if (isnan(retry_at)) {
    done(s, job);
    return;
  }
  pthread_mutex_lock(&s->lock);
  s->asleep = false;
  nt_queue_retry(s->queue, job, retry_at);
  /* Waiting again: the entry must say what was really spent. Under the
   * lock: once waiting, a full queue may drop the job at any time. */
  if (s->spooler != NULL)
    nt_spooler_add(s->spooler, job);
  pthread_mutex_unlock(&s->lock);
}

/* Writes the request of a job whose entry (if any) is ready. Returns true
 * when the job was settled at once instead. */
static bool post(nt_sender_t *s, nt_job_t *job, double abort_at) {
  nt_http_result_t r = {.retry_after = -1};
  double now = nt_now();
  if (job->cancel_pending) {
    nt_outcome_cancelled_later(job);
    done(s, job);
    return true;
  }
  /* A spool write may have taken long: nothing is written past the
   * shutdown deadline, or past the job's. */
  if (now >= job->deadline) {
    nt_outcome_expired(s->cfg, job, now);
    done(s, job);
    return true;
  }
  if (now >= abort_at) {
    r.curl_code = CURLE_ABORTED_BY_CALLBACK;
    snprintf(r.error, sizeof(r.error), "shutting down");
  } else if (nt_http_start(s->http, job->task, job->body, job->body_len, job) ==
             0) {
    return false;
  } else {
    r.curl_code = CURLE_OUT_OF_MEMORY;
    snprintf(r.error, sizeof(r.error), "cannot start a request: out of memory");
  }
  finish(s, job, &r);
  return true;
}

/* Writes the requests of the lane's jobs whose entries are ready, in the
 * order they were taken, up to the first one still being written: jobs
 * leave in arrival order. Returns true when one was settled at once. */
static bool start_ready(nt_sender_t *s, size_t lane, double abort_at) {
  start_line_t *l = &s->starting[lane];
  bool settled = false;
  while (l->head != NULL && l->head->start_ready) {
    nt_job_t *job = l->head;
    l->head = job->start_next;
    if (l->head == NULL)
      l->tail = NULL;
    s->starts--;
    settled |= post(s, job, abort_at);
  }
  return settled;
}

/* A job just taken from the queue: sent (once its entry is on disk, when
 * spooling), or settled at once: then returns true. */
static bool begin(nt_sender_t *s, nt_job_t *job, double now, double abort_at) {
  if (now >= job->deadline) {
    nt_outcome_expired(s->cfg, job, now);
  } else if (s->cfg->check_only || s->cfg->dry_run) {
    nt_outcome_dry_run(s->cfg->check_only ? "collectd -T: " : "", job);
  } else if (job->attempts >= s->cfg->max_attempts) {
    /* Resumed from the spool with every attempt spent (collectd died
     * during the last one): sending it again could exceed MaxAttempts. */
    nt_outcome_spent(job, now);
  } else {
    /* On disk first (when spooling): should collectd die during the
     * request, the attempt still counts after the restart. */
    job->start_ready = s->spooler == NULL ||
                       nt_spooler_prepare(s->spooler, job, job->attempts + 1);
    job->start_next = NULL;
    start_line_t *l = &s->starting[job->lane];
    if (l->tail != NULL)
      l->tail->start_next = job;
    else
      l->head = job;
    l->tail = job;
    s->starts++;
    return start_ready(s, job->lane, abort_at);
  }
  done(s, job);
  return true;
}

static void spool_ready(void *arg) {
  nt_sender_t *s = arg;
  nt_http_wakeup(s->http);
}

/* Without the lock: counts and releases the jobs that passed MaxAge while
 * waiting. */
static void finish_expired(nt_sender_t *s, nt_job_t *job, double now) {
  nt_spooler_t *sp = s->spooler;
  while (job != NULL) {
    nt_job_t *next = job->next;
    nt_outcome_expired(s->cfg, job, now);
    release(sp, job);
    job = next;
  }
}

/* Looks at the PauseFiles, once a second (never under collectd -T: it
 * acts on nothing). */
static void check_pauses(nt_sender_t *s, double now) {
  if (s->cfg->pauses_num == 0 || now - s->pause_checked < PAUSE_CHECK)
    return;
  s->pause_checked = now;
  if (s->cfg->check_only)
    return;
  for (size_t i = 0; i < s->cfg->pauses_num; i++)
    nt_pause_check(s->cfg->pauses[i], nt_wall());
}

/* How long the thread may wait for the network before it has work again:
 * a lane's retry, expiry, the shutdown deadline. Under the lock. */
static int wait_ms(const nt_sender_t *s, double now, double next_due) {
  double until = next_due;
  if (nt_queue_waiting(s->queue) > 0 && until > now + IDLE_WAKE)
    until = now + IDLE_WAKE;
  if (s->stopping && until > s->abort_at)
    until = s->abort_at;
  if (s->cfg->pauses_num > 0 && until > s->pause_checked + PAUSE_CHECK)
    until = s->pause_checked + PAUSE_CHECK;
  if (s->verifying && until > s->verify_checked + VERIFY_CHECK)
    until = s->verify_checked + VERIFY_CHECK;
  double ms = ceil((until - now) * 1000);
  return ms < 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms;
}

/* At the shutdown deadline, the jobs taken whose requests were never
 * written wait again, their entries brought back to what they spent (one
 * may already say the attempt it was about to spend: its last, perhaps). */
static void give_back_starts(nt_sender_t *s) {
  nt_http_result_t r = {.curl_code = CURLE_ABORTED_BY_CALLBACK,
                        .retry_after = -1};
  snprintf(r.error, sizeof(r.error), "shutting down");
  for (size_t lane = 0; lane < s->cfg->lanes_num; lane++) {
    start_line_t *l = &s->starting[lane];
    while (l->head != NULL) {
      nt_job_t *job = l->head;
      l->head = job->start_next;
      s->starts--;
      finish(s, job, &r);
    }
    l->tail = NULL;
  }
}

int nt_sender_set_notifier(nt_sender_t *s, nt_deliver_t deliver, void *arg) {
  s->notifier = nt_notifier_create(deliver, arg);
  return s->notifier != NULL ? 0 : -1;
}

static void report_follow(nt_event_t *e, void *arg) {
  nt_sender_notify(arg, e);
}

void nt_sender_notify(nt_sender_t *s, nt_event_t *e) {
  if (s->notifier == NULL || s->cfg->check_only)
    free(e);
  else
    nt_notifier_post(s->notifier, e);
}

void nt_sender_cancel(nt_sender_t *s, uint64_t episode, const char *name) {
  char *copy = strdup(name); /* NULL: the waiting jobs go, as if the OKAY
                                had come later */
  pthread_mutex_lock(&s->lock);
  s->ended[episode & (ENDED_SLOTS - 1)] = episode;
  /* Nothing waits (the usual case): nothing to cancel, nothing kept. While
   * the spool is read, its jobs may still be on their way to the queue. */
  bool take = copy != NULL && !s->stopping && s->cancels_num < CANCELS_MAX &&
              (s->resuming ||
               nt_queue_waiting(s->queue) + nt_queue_in_flight(s->queue) > 0);
  if (take && s->cancels_num == s->cancels_size) {
    size_t size = s->cancels_size ? 2 * s->cancels_size : 16;
    cancel_t *grown = realloc(s->cancels, size * sizeof(*grown));
    take = grown != NULL; /* else the jobs go, as above */
    if (take) {
      s->cancels = grown;
      s->cancels_size = size;
    }
  }
  bool wake = take && s->asleep;
  if (take) {
    s->cancels[s->cancels_num++] = (cancel_t){.episode = episode, .name = copy};
    s->asleep = false;
  }
  pthread_mutex_unlock(&s->lock);
  if (wake)
    nt_http_wakeup(s->http);
  if (!take)
    free(copy);
}

static int by_episode(const void *a, const void *b) {
  uint64_t x = ((const cancel_t *)a)->episode,
           y = ((const cancel_t *)b)->episode;
  return x < y ? -1 : x > y;
}

typedef struct {
  const cancel_t *cancels; /* sorted by episode, one per episode */
  size_t num;
} cancelling_t;

/* Whether the OKAY that ended its episode cancels the job; one in flight
 * is marked, to be cancelled rather than retried or written. */
static bool cancelled_by_okay(nt_job_t *job, void *arg) {
  const cancelling_t *c = arg;
  cancel_t key = {.episode = job->episode};
  if (job->episode == 0 || !job->task->cancel_on_recovery ||
      bsearch(&key, c->cancels, c->num, sizeof(*c->cancels), by_episode) ==
          NULL)
    return false;
  if (job->in_flight)
    job->cancel_pending = true;
  return true;
}

/* Cancels the jobs the OKAYs since the last pass asked for, before any is
 * taken, in one walk of the queue: a job waiting for its retry never
 * reaches a supervisor that comes back after its subject recovered. With
 * the lock held, dropped for the counting and the log. */
static void cancel_jobs(nt_sender_t *s) {
  cancel_t *list = s->cancels;
  size_t num = s->cancels_num;
  s->cancels = NULL;
  s->cancels_num = s->cancels_size = 0;
  qsort(list, num, sizeof(*list), by_episode);
  size_t kept = 0;
  for (size_t i = 0; i < num; i++) {
    if (kept > 0 && list[kept - 1].episode == list[i].episode) {
      free(list[i].name);
      continue;
    }
    list[kept++] = list[i];
  }
  cancelling_t c = {.cancels = list, .num = kept};
  nt_job_t *jobs = nt_queue_cancel(s->queue, cancelled_by_okay, &c);
  nt_spooler_t *sp = s->spooler;
  pthread_mutex_unlock(&s->lock);
  for (size_t i = 0; i < kept; i++) {
    nt_outcome_cancelled(s->cfg, jobs, list[i].episode, list[i].name);
    free(list[i].name);
  }
  free(list);
  while (jobs != NULL) {
    nt_job_t *next = jobs->next;
    release(sp, jobs);
    jobs = next;
  }
  pthread_mutex_lock(&s->lock);
}

/* Settles every exchange that ended. */
static void finish_answered(nt_sender_t *s) {
  nt_http_result_t r;
  void *owner;
  while ((owner = nt_http_next_done(s->http, &r)) != NULL) {
    if (r.get)
      nt_follows_settle(s->follows, owner, &r, nt_now(),
                        erand48(s->rand_state));
    else
      finish(s, owner, &r);
  }
}

static void *sender_main(void *arg) {
  nt_sender_t *s = arg;
  nt_job_t *taken[TAKE_MAX];
  bool following = true;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    if (s->stopping && following) {
      /* Held result requests end at once, uncounted: only deliveries get
       * the shutdown's grace. */
      following = false;
      pthread_mutex_unlock(&s->lock);
      nt_follows_stop(s->follows);
      nt_http_abort(s->http, true);
      finish_answered(s);
      pthread_mutex_lock(&s->lock);
      continue;
    }
    s->asleep = false;
    /* Nothing is sent while the spool is read: the cancellations wait
     * until every spooled job is back in the queue. */
    if (s->cancels_num > 0 && !s->resuming)
      cancel_jobs(s);
    double now = nt_now();
    nt_job_t *expired = nt_queue_expire(s->queue, now);
    if (expired != NULL) {
      pthread_mutex_unlock(&s->lock);
      finish_expired(s, expired, now);
      pthread_mutex_lock(&s->lock);
      continue;
    }
    double abort_at = s->abort_at;
    if (s->stopping && now >= abort_at &&
        (nt_http_running(s->http) > 0 || s->starts > 0)) {
      /* What is in flight is cut short and settled before the thread
       * ends: nothing may point at a job once it is freed. */
      pthread_mutex_unlock(&s->lock);
      nt_http_abort(s->http, false);
      finish_answered(s);
      give_back_starts(s);
      pthread_mutex_lock(&s->lock);
      continue;
    }
    if (s->stopping && (now >= abort_at || (nt_queue_waiting(s->queue) == 0 &&
                                            nt_queue_in_flight(s->queue) == 0)))
      break;
    size_t n = 0;
    double next_due = INFINITY;
    while (!s->resuming && n < TAKE_MAX &&
           (taken[n] = nt_queue_take(s->queue, now, &next_due)) != NULL)
      n++;
    /* Nothing more to start until the network, the spooler or a new job
     * says otherwise. */
    s->asleep = n < TAKE_MAX;
    int timeout = n < TAKE_MAX ? wait_ms(s, now, next_due) : 0;
    pthread_mutex_unlock(&s->lock);

    double follow_due = INFINITY;
    nt_follows_run(s->follows, now, &follow_due);
    if (follow_due < INFINITY) {
      double ms = ceil((follow_due - now) * 1000);
      if (ms < timeout)
        timeout = ms > 0 ? (int)ms : 0;
    }

    /* A job settled at once may have opened its lane to the next. */
    bool settled = false;
    for (size_t i = 0; i < n; i++)
      settled |= begin(s, taken[i], now, abort_at);
    if (s->spooler != NULL) {
      nt_job_t *job = nt_spooler_prepared(s->spooler);
      while (job != NULL) {
        nt_job_t *next = job->spool_next;
        job->start_ready = true;
        settled |= start_ready(s, job->lane, abort_at);
        job = next;
      }
    }
    nt_http_run(s->http, settled ? 0 : timeout);
    if (nt_now() >= abort_at)
      nt_http_abort(s->http, false);
    finish_answered(s);
    /* Before the next jobs are taken: a pause holds every one of them. */
    check_pauses(s, nt_now());
    if (s->verifying)
      expire_verifies(s, nt_now());
    pthread_mutex_lock(&s->lock);
  }
  s->running = false;
  pthread_cond_broadcast(&s->done);
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* A job resumed from the spool, in the spooler's thread; NULL once every
 * entry was read. Returns -1, without taking the job, once stopping. */
static int take_resumed(nt_job_t *job, void *arg) {
  nt_sender_t *s = arg;
  pthread_mutex_lock(&s->lock);
  if (job == NULL) {
    s->resuming = false;
    pthread_mutex_unlock(&s->lock);
    nt_http_wakeup(s->http);
    return 0;
  }
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    return -1;
  }
  if (job->seq >= s->seq)
    s->seq = job->seq + 1;
  nt_job_t *dropped = push_locked(s, job);
  nt_spooler_t *sp = s->spooler;
  pthread_mutex_unlock(&s->lock);
  if (dropped != NULL) {
    nt_outcome_dropped(dropped, nt_queue_limit(s->queue), nt_now());
    release(sp, dropped);
  }
  return 0;
}

/* Jobs submitted before the sender started get their entries now, named
 * above every entry on disk. The daemon's glue holds notifications until
 * init (notify_theeye.c), so there it finds none; the sender accepts jobs
 * before its start all the same, so that no caller can lose one. */
typedef struct {
  nt_spooler_t *spooler;
  uint64_t shift;
} adoption_t;

static void adopt(nt_job_t *job, void *arg) {
  adoption_t *a = arg;
  job->seq += a->shift;
  nt_spooler_add(a->spooler, job);
}

/* At init, in collectd's main thread: the notification callback never
 * touches the disk, even for a notification that comes before init. */
static int open_spool(nt_sender_t *s) {
  const nt_config_t *cfg = s->cfg;
  char err[256] = "";
  if (cfg->spool_dir == NULL)
    return 0;
  if (cfg->check_only) {
    /* A check beside the running daemon: look, never create or lock. */
    if (nt_spool_check(cfg->spool_dir, err, sizeof(err)) == 0)
      return 0;
    NT_ERROR("option \"SpoolDir\": %s", err);
    return -1;
  }
  nt_spooler_t *sp = nt_spooler_create(cfg->spool_dir, cfg, err, sizeof(err));
  if (sp == NULL) {
    NT_ERROR("option \"SpoolDir\": %s", err);
    return -1;
  }
  pthread_mutex_lock(&s->lock);
  /* Even if the clock went back since the last run, never reuse the name
   * of an entry on disk. */
  adoption_t a = {.spooler = sp, .shift = 0};
  if (nt_spooler_max_seq(sp) >= s->seq0)
    a.shift = nt_spooler_max_seq(sp) + 1 - s->seq0;
  s->seq += a.shift;
  s->spooler = sp;
  nt_queue_each(s->queue, adopt, &a);
  /* New jobs wait until the spooled ones are back in the queue. */
  s->resuming = true;
  pthread_mutex_unlock(&s->lock);
  return 0;
}

int nt_sender_start(nt_sender_t *s, nt_thread_create_t create) {
  if (open_spool(s) != 0)
    return -1;
  /* A pause in force at start holds the very first notifications. */
  check_pauses(s, nt_now());
  /* Before any thread may post to it. */
  if (s->notifier != NULL && !s->cfg->check_only &&
      nt_notifier_start(s->notifier, create) != 0) {
    NT_ERROR("cannot start the thread of the plugin's own notifications: "
             "they are not dispatched");
    nt_notifier_free(s->notifier);
    s->notifier = NULL;
  }
  pthread_mutex_lock(&s->lock);
  s->running = true;
  int status = create(&s->thread, sender_main, s, "notify_theeye");
  if (status != 0)
    s->running = false;
  else
    s->started = true;
  pthread_mutex_unlock(&s->lock);
  if (status == 0 && s->spooler != NULL)
    status = nt_spooler_start(s->spooler, create, take_resumed, spool_ready, s);
  /* Never leave a thread running that nobody will stop. */
  if (status != 0)
    nt_sender_stop(s, 0);
  return status;
}

/* Counts and logs what is left at shutdown, one line per Task: the jobs of
 * left, or, when the thread was left running (it holds jobs of the queue),
 * the queue's counts. */
static void report_left(nt_sender_t *s, const nt_job_t *left, bool abandoned) {
  for (size_t i = 0; i < s->cfg->tasks_num; i++) {
    uint64_t kept = 0, dropped = 0;
    if (abandoned) {
      pthread_mutex_lock(&s->lock);
      dropped = nt_queue_length_for(s->queue, i);
      pthread_mutex_unlock(&s->lock);
    }
    for (const nt_job_t *j = left; j != NULL; j = j->next) {
      if (j->task_index != i)
        continue;
      if (s->spooler != NULL && nt_spooler_on_disk(s->spooler, j))
        kept++;
      else
        dropped++;
    }
    nt_outcome_left(s->cfg->tasks[i], kept, dropped,
                    abandoned && s->spooler != NULL);
  }
}

int nt_sender_stop(nt_sender_t *s, double grace) {
  double deadline = nt_now() + grace;
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    return s->abandoned ? -1 : 0;
  }
  s->stopping = true;
  s->abort_at = deadline;
  pthread_mutex_unlock(&s->lock);
  if (s->notifier != NULL)
    nt_notifier_halt(s->notifier);
  nt_http_wakeup(s->http);
  /* Shutdown never waits for the rest of a large spool: it stays. */
  if (s->spooler != NULL)
    nt_spooler_interrupt(s->spooler);
  pthread_mutex_lock(&s->lock);
  /* The thread wakes at the deadline by itself; if it is held past it,
   * make it look again. */
  double until = deadline + ABORT_SLACK / 2;
  while (s->running && nt_now() < until)
    nt_cond_wait_until(&s->done, &s->lock, until);
  if (s->running) {
    pthread_mutex_unlock(&s->lock);
    nt_http_wakeup(s->http);
    pthread_mutex_lock(&s->lock);
    until = deadline + ABORT_SLACK;
    while (s->running && nt_now() < until)
      nt_cond_wait_until(&s->done, &s->lock, until);
  }
  bool exited = !s->running;
  pthread_mutex_unlock(&s->lock);
  if (s->started && exited)
    pthread_join(s->thread, NULL);
  else if (s->started)
    pthread_detach(s->thread);
  /* What is left stays in the spool for the next start: the spooler
   * writes what it can (attempts included) within the bound. */
  bool spooler_stopped =
      s->spooler == NULL || nt_spooler_stop(s->spooler, deadline + 0.9) == 0;
  if (s->notifier != NULL &&
      nt_notifier_join(s->notifier, deadline + ABORT_SLACK) != 0) {
    NT_ERROR("the thread of the plugin's own notifications is still inside "
             "a notification plugin: leaving it behind");
    s->abandoned = true;
  }
  if (!exited) {
    report_left(s, NULL, true);
    NT_ERROR("the sender thread did not stop in time: leaving it behind, "
             "with the memory it uses");
    s->abandoned = true;
    return -1;
  }
  pthread_mutex_lock(&s->lock);
  nt_job_t *left = nt_queue_drain(s->queue);
  pthread_mutex_unlock(&s->lock);
  report_left(s, left, false);
  if (spooler_stopped) {
    nt_jobs_free(left);
    return s->abandoned ? -1 : 0;
  }
  NT_ERROR("the spool thread did not stop in time (a disk that hangs?): "
           "leaving it behind, with the memory it uses");
  s->abandoned = true;
  return -1;
}

uint64_t nt_sender_spool_corrupt(nt_sender_t *s) {
  return s->spooler != NULL ? nt_spooler_corrupt(s->spooler) : 0;
}

size_t nt_sender_queue_length(nt_sender_t *s, const nt_task_t *task) {
  pthread_mutex_lock(&s->lock);
  size_t n = nt_queue_length_for(s->queue, task->index);
  pthread_mutex_unlock(&s->lock);
  return n;
}
