#include "sender.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "spooler.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* plugin_log cuts every line here. */
#define LOG_LINE_MAX 1024
/* While jobs wait, the thread wakes at least this often to expire them. */
#define IDLE_WAKE 1.0

struct nt_sender_s {
  nt_config_t *cfg;
  nt_http_t *http;

  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t wake;  /* new job, or stop */
  pthread_cond_t done;  /* the thread has exited */
  nt_queue_t *queue;
  nt_spooler_t *spooler; /* NULL without SpoolDir */
  uint64_t seq;
  uint64_t *resume_expired; /* per Task, while the spool is read */
  uint64_t *resume_taken;
  bool started, running, stopping;
  bool resuming; /* the spool is being read: sending waits */
  pthread_t thread;
  double abort_at; /* monotonic; read by http.c without the lock */
  unsigned short rand_state[3];
};

nt_sender_t *nt_sender_create(nt_config_t *cfg) {
  nt_sender_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->cfg = cfg;
  s->abort_at = INFINITY;
  /* Sequence numbers name spool entries and order resumed jobs before new
   * ones: starting from the clock keeps them above the last run's. */
  s->seq = (uint64_t)(nt_wall() * 1e6);
  size_t limit = cfg->queue_limit;
  if (cfg->spool_dir != NULL && cfg->spool_limit < limit)
    limit = cfg->spool_limit;
  s->queue = nt_queue_create(limit, cfg->lanes_num);
  s->http = nt_http_create(cfg);
  s->resume_expired = calloc(cfg->tasks_num + 1, sizeof(uint64_t));
  s->resume_taken = calloc(cfg->tasks_num + 1, sizeof(uint64_t));
  pthread_condattr_t attr;
  if (s->queue == NULL || s->http == NULL || s->resume_expired == NULL ||
      s->resume_taken == NULL || pthread_condattr_init(&attr) != 0) {
    NT_ERROR("cannot set up the sender: out of memory");
    goto fail;
  }
  if (cfg->spool_dir != NULL) {
    char err[256];
    s->spooler = nt_spooler_create(cfg->spool_dir, err, sizeof(err));
    if (s->spooler == NULL) {
      NT_ERROR("option \"SpoolDir\": %s", err);
      pthread_condattr_destroy(&attr);
      goto fail;
    }
    /* Even if the clock went back since the last run, never reuse the
     * name of an entry on disk. */
    if (nt_spooler_max_seq(s->spooler) >= s->seq)
      s->seq = nt_spooler_max_seq(s->spooler) + 1;
    /* New jobs wait until the spooled ones are back in the queue. */
    s->resuming = true;
  }
  /* Waits are deadlines on the monotonic clock, like every other time. */
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->wake, &attr);
  pthread_cond_init(&s->done, &attr);
  pthread_condattr_destroy(&attr);
  uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16) ^
                  (uint64_t)(uintptr_t)s;
  memcpy(s->rand_state, &seed, sizeof(s->rand_state));
  return s;
fail:
  nt_queue_free(s->queue);
  nt_http_free(s->http);
  free(s->resume_expired);
  free(s->resume_taken);
  free(s);
  return NULL;
}

void nt_sender_free(nt_sender_t *s) {
  if (s == NULL)
    return;
  nt_queue_free(s->queue);
  nt_http_free(s->http);
  nt_spooler_free(s->spooler);
  free(s->resume_expired);
  free(s->resume_taken);
  pthread_cond_destroy(&s->wake);
  pthread_cond_destroy(&s->done);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static void timed_wait(pthread_cond_t *cond, pthread_mutex_t *lock,
                       double until) {
  struct timespec ts;
  if (until > 1e15)
    until = nt_now() + 3600;
  ts.tv_sec = (time_t)until;
  ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
  pthread_cond_timedwait(cond, lock, &ts);
}

/* A job leaves the plugin: its spool entry goes with it. */
static void release(nt_sender_t *s, nt_job_t *job) {
  if (s->spooler == NULL || nt_spooler_release(s->spooler, job))
    free(job);
}

/* Queues a job under the lock; counts and releases the one it displaces. */
static void push_locked(nt_sender_t *s, nt_job_t *job) {
  nt_job_t *dropped = nt_queue_push(s->queue, job);
  pthread_cond_signal(&s->wake);
  if (s->spooler != NULL && !job->spool_file)
    nt_spooler_add(s->spooler, job);
  if (dropped != NULL) {
    nt_task_t *task = dropped->task;
    nt_stats_add(&task->stats, NT_STAT_DROPPED, 1);
    nt_complain(&task->complaints[NT_COMPLAINT_DROPPED], nt_now(), LOG_WARNING,
                "Task \"%s\": queue full (%zu jobs, QueueLimit or "
                "SpoolLimit): dropped the oldest waiting job",
                task->name, nt_queue_limit(s->queue));
    release(s, dropped);
  }
}

int nt_sender_submit(nt_sender_t *s, nt_job_t *job) {
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    return -1;
  }
  job->seq = s->seq++;
  push_locked(s, job);
  pthread_mutex_unlock(&s->lock);
  return 0;
}

/* Replaces every occurrence of the credential in msg: a proxy may echo the
 * request path back. */
static void redact(char *msg, const char *credential) {
  size_t clen = strlen(credential);
  char *p;
  while (clen > 0 && (p = strstr(msg, credential)) != NULL) {
    memset(p, '*', clen);
  }
}

static void log_dry_run(const nt_task_t *task, const nt_job_t *job) {
  char head[LOG_LINE_MAX];
  int n = snprintf(head, sizeof(head),
                   NT_LOG_PREFIX "Task \"%s\": DryRun: POST %s ", task->name,
                   task->redacted_url);
  if (n < 0)
    return;
  char tail[64];
  snprintf(tail, sizeof(tail), " (cut: %zu bytes in all)", job->body_len);
  size_t room = LOG_LINE_MAX - 1 - (size_t)n; /* body bytes that fit */
  if ((size_t)n >= LOG_LINE_MAX - 1 - strlen(tail)) {
    room = 0;
  } else if (job->body_len > room) {
    room -= strlen(tail) + 3; /* "…" is three bytes */
    /* Cut on a character boundary, never inside a UTF-8 sequence. */
    while (room > 0 && ((unsigned char)job->body[room] & 0xC0) == 0x80)
      room--;
  }
  if (job->body_len <= room)
    plugin_log(LOG_INFO, "%s%s", head, job->body);
  else
    plugin_log(LOG_INFO, "%s%.*s\xE2\x80\xA6%s", head, (int)room, job->body,
               tail);
}

static double jitter_unit(nt_sender_t *s) { return erand48(s->rand_state); }

/* Releases every outage complaint of the Task: it got through. */
static void clear_complaints(nt_task_t *task) {
  static const nt_complaint_kind_t kinds[] = {NT_COMPLAINT_UNDELIVERED,
                                              NT_COMPLAINT_SERVER};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
    nt_release(&task->complaints[kinds[i]], LOG_NOTICE,
               "Task \"%s\": %s delivers again", task->name, task->eff.url);
}

static void count_expired(const nt_sender_t *s, const nt_job_t *job,
                          double now) {
  nt_task_t *task = job->task;
  nt_stats_add(&task->stats, NT_STAT_EXPIRED, 1);
  nt_complain(&task->complaints[NT_COMPLAINT_EXPIRED], now, LOG_ERR,
              "Task \"%s\": a job %.0f s old would "
              "pass MaxAge (%g s) undelivered: expired, never sent",
              task->name, now - job->arrival, s->cfg->max_age);
}

/* Decides what becomes of a job after one exchange; returns the time to
 * retry it, or NAN when it is done with. Called without the lock. */
static double settle(nt_sender_t *s, nt_job_t *job, const nt_http_result_t *r,
                     double now) {
  nt_task_t *task = job->task;
  nt_job_info_t info = {0};
  nt_outcome_t o = nt_outcome_classify(r, &info);
  char msg[256] = "";

  switch (o) {
  case NT_SENT:
    nt_stats_add(&task->stats, NT_STAT_SENT, 1);
    clear_complaints(task);
    NT_INFO("Task \"%s\": job %s created (lifecycle %s, state %s)", task->name,
            info.id, info.lifecycle, info.state);
    return NAN;
  case NT_SENT_NO_JOB:
    nt_stats_add(&task->stats, NT_STAT_SENT, 1);
    clear_complaints(task);
    nt_complain(&task->complaints[NT_COMPLAINT_NO_JOB], now, LOG_WARNING,
                "Task \"%s\": HTTP %ld without a job "
                "in the answer: counted sent",
                task->name, r->status);
    return NAN;
  case NT_REJECTED:
    nt_stats_add(&task->stats, NT_STAT_FAILED, 1);
    clear_complaints(task);
    nt_complain(&task->complaints[NT_COMPLAINT_REJECTED], now, LOG_ERR,
                "Task \"%s\": job %s was rejected at "
                "once (lifecycle %s, state %s): do the arguments fit the "
                "task? Not retried",
                task->name, info.id, info.lifecycle, info.state);
    return NAN;
  case NT_PERMANENT:
    nt_stats_add(&task->stats, NT_STAT_FAILED, 1);
    if (r->status > 0)
      nt_json_error_message(r->body, r->body_len, msg, sizeof(msg));
    else
      snprintf(msg, sizeof(msg), "%s", r->error);
    redact(msg, task->credential);
    nt_complain(&task->complaints[NT_COMPLAINT_REFUSED], now, LOG_ERR,
                "Task \"%s\": %s refused the job: "
                "%s%.0ld%s%s: not retried",
                task->name, task->eff.url, r->status ? "HTTP " : "", r->status,
                r->status ? " " : "", msg);
    return NAN;
  case NT_ABORTED:
    __atomic_add_fetch(&job->attempts, r->writes, __ATOMIC_RELAXED);
    return now; /* left over: shutdown counts it */
  case NT_NOT_DELIVERED:
  case NT_MAYBE_DELIVERED:
    break;
  }

  /* Atomic: the spooler reads it to keep the entry up to date. */
  __atomic_add_fetch(&job->attempts, nt_outcome_attempts(o, r),
                     __ATOMIC_RELAXED);
  job->tries++;
  if (r->status > 0)
    snprintf(msg, sizeof(msg), "HTTP %ld", r->status);
  else
    snprintf(msg, sizeof(msg), "%s", r->error);
  redact(msg, task->credential);
  if (job->attempts >= s->cfg->max_attempts) {
    nt_stats_add(&task->stats, NT_STAT_FAILED, 1);
    nt_complain(&task->complaints[NT_COMPLAINT_GAVE_UP], now, LOG_ERR,
                "Task \"%s\": gave up on a job after %u attempts "
                "(MaxAttempts): last answer %s from %s",
                task->name, job->attempts, msg, task->eff.url);
    return NAN;
  }
  double wait =
      r->retry_after >= 0
          ? fmax(r->retry_after, s->cfg->retry_interval / 2)
          : nt_backoff_jitter(nt_backoff_nominal(s->cfg->retry_interval,
                                                 s->cfg->max_retry_interval,
                                                 job->tries),
                              jitter_unit(s));
  if (now + wait >= job->deadline) {
    count_expired(s, job, now);
    return NAN;
  }
  nt_stats_add(&task->stats, NT_STAT_RETRIED, 1);
  nt_complain(&task->complaints[o == NT_NOT_DELIVERED ? NT_COMPLAINT_UNDELIVERED
                                                      : NT_COMPLAINT_SERVER],
              now, LOG_WARNING,
              "Task \"%s\": %s: %s (%s): retrying in "
              "%.1f s",
              task->name, task->eff.url, msg, nt_outcome_name(o), wait);
  return now + wait;
}

/* Sends one job, outside the lock; returns when to retry it, or NAN. */
static double deliver(nt_sender_t *s, nt_job_t *job) {
  nt_task_t *task = job->task;
  double now = nt_now();
  if (now >= job->deadline) {
    count_expired(s, job, now);
    return NAN;
  }
  if (s->cfg->dry_run) {
    log_dry_run(task, job);
    return NAN;
  }
  /* Resumed from the spool with every attempt spent (collectd died during
   * the last one): sending it again could exceed MaxAttempts. */
  if (job->attempts >= s->cfg->max_attempts) {
    nt_stats_add(&task->stats, NT_STAT_FAILED, 1);
    nt_complain(&task->complaints[NT_COMPLAINT_GAVE_UP], now, LOG_ERR,
                "Task \"%s\": gave up on a resumed job: its %u attempts "
                "(MaxAttempts) were spent before the restart",
                task->name, job->attempts);
    return NAN;
  }
  /* On disk first: should collectd die during the request, the attempt
   * still counts after the restart. */
  if (s->spooler != NULL)
    nt_spooler_before_send(s->spooler, job, job->attempts + 1);
  nt_http_result_t r;
  nt_http_post(s->http, task, job->body, job->body_len, &s->abort_at, &r);
  return settle(s, job, &r, nt_now());
}

static void expire_waiting(nt_sender_t *s, double now) {
  nt_job_t *job = nt_queue_expire(s->queue, now);
  while (job != NULL) {
    nt_job_t *next = job->next;
    count_expired(s, job, now);
    release(s, job);
    job = next;
  }
}

static void *sender_main(void *arg) {
  nt_sender_t *s = arg;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    double now = nt_now();
    expire_waiting(s, now);
    if (s->stopping && (now >= s->abort_at || nt_queue_waiting(s->queue) == 0))
      break;
    double next_due = INFINITY;
    nt_job_t *job =
        s->resuming ? NULL : nt_queue_take(s->queue, now, &next_due);
    if (job == NULL) {
      double until = next_due;
      if (nt_queue_waiting(s->queue) > 0 && until > now + IDLE_WAKE)
        until = now + IDLE_WAKE;
      if (s->stopping && until > s->abort_at)
        until = s->abort_at;
      timed_wait(&s->wake, &s->lock, until);
      continue;
    }
    unsigned attempts = job->attempts;
    pthread_mutex_unlock(&s->lock);
    double retry_at = deliver(s, job);
    pthread_mutex_lock(&s->lock);
    if (isnan(retry_at)) {
      nt_queue_remove(s->queue, job);
      /* Removing the entry touches the disk: not while collectd's threads
       * may wait for the lock. */
      pthread_mutex_unlock(&s->lock);
      if (s->spooler != NULL)
        nt_spooler_finish(s->spooler, job);
      else
        free(job);
      pthread_mutex_lock(&s->lock);
    } else {
      nt_queue_retry(s->queue, job, retry_at);
      /* The entry says attempts + 1 since before_send: put it right. */
      if (s->spooler != NULL && job->attempts != attempts + 1)
        nt_spooler_add(s->spooler, job);
    }
  }
  s->running = false;
  pthread_cond_broadcast(&s->done);
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static nt_task_t *find_task(const nt_config_t *cfg, const char *name,
                            size_t *index) {
  for (size_t i = 0; i < cfg->tasks_num; i++) {
    if (strcmp(cfg->tasks[i]->name, name) == 0) {
      *index = i;
      return cfg->tasks[i];
    }
  }
  return NULL;
}

static void resume_summary(nt_sender_t *s) {
  for (size_t i = 0; i < s->cfg->tasks_num; i++) {
    if (s->resume_taken[i] + s->resume_expired[i] == 0)
      continue;
    NT_INFO("Task \"%s\": resumed %" PRIu64 " spooled job(s); %" PRIu64
            " expired while collectd was down (MaxAge), never sent",
            s->cfg->tasks[i]->name, s->resume_taken[i], s->resume_expired[i]);
  }
}

/* A spool entry left by an earlier run (the spooler's thread). Returns
 * non-zero to have the entry removed. */
static int resume_entry(const nt_spool_entry_t *e, void *arg) {
  nt_sender_t *s = arg;
  if (e == NULL) {
    resume_summary(s);
    pthread_mutex_lock(&s->lock);
    s->resuming = false;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return 0;
  }
  size_t index;
  nt_task_t *task = find_task(s->cfg, e->task, &index);
  if (task == NULL) {
    NT_WARNING("spool: dropped a job for Task \"%s\", which is no longer "
               "configured",
               e->task);
    return 1;
  }
  double age = nt_wall() - e->arrival;
  if (age < 0)
    age = 0;
  if (age >= s->cfg->max_age) {
    nt_stats_add(&task->stats, NT_STAT_EXPIRED, 1);
    s->resume_expired[index]++;
    return 1;
  }
  nt_job_t *job = malloc(sizeof(*job) + e->body_len + 1);
  if (job == NULL)
    return 0; /* stays on disk for the next start */
  double now = nt_now();
  *job = (nt_job_t){
      .task = task,
      .lane = task->lane,
      .seq = e->seq,
      .arrival = now - age,
      .deadline = now - age + s->cfg->max_age,
      .attempts = e->attempts,
      .arrival_wall = e->arrival,
      .spool_file = true,
      .body_len = e->body_len,
  };
  memcpy(job->body, e->body, e->body_len);
  job->body[e->body_len] = '\0';
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    free(job);
    return 0;
  }
  if (e->seq >= s->seq)
    s->seq = e->seq + 1;
  push_locked(s, job);
  pthread_mutex_unlock(&s->lock);
  nt_stats_add(&task->stats, NT_STAT_RESUMED, 1);
  s->resume_taken[index]++;
  return 0;
}

int nt_sender_start(nt_sender_t *s, nt_thread_create_t create) {
  pthread_mutex_lock(&s->lock);
  s->running = true;
  int status = create(&s->thread, sender_main, s, "notify_theeye");
  if (status != 0)
    s->running = false;
  else
    s->started = true;
  pthread_mutex_unlock(&s->lock);
  if (status == 0 && s->spooler != NULL)
    status = nt_spooler_start(s->spooler, create, resume_entry, s);
  if (status != 0) {
    pthread_mutex_lock(&s->lock);
    s->resuming = false;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
  }
  return status;
}

int nt_sender_stop(nt_sender_t *s, double grace) {
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    return 0;
  }
  s->stopping = true;
  double deadline = nt_now() + grace;
  __atomic_store(&s->abort_at, &deadline, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&s->wake);
  /* The request in flight notices the deadline within its poll period. */
  while (s->running && nt_now() < deadline + 0.5)
    timed_wait(&s->done, &s->lock, deadline + 0.5);
  bool exited = !s->running;
  if (s->running) {
    /* Still blocked past the deadline: make it look again now. */
    nt_http_wakeup(s->http);
    timed_wait(&s->done, &s->lock, nt_now() + 0.3);
    exited = !s->running;
  }
  pthread_mutex_unlock(&s->lock);
  if (s->started && exited)
    pthread_join(s->thread, NULL);
  else if (s->started)
    pthread_detach(s->thread);

  pthread_mutex_lock(&s->lock);
  nt_job_t *left = exited ? nt_queue_drain(s->queue) : NULL;
  pthread_mutex_unlock(&s->lock);
  /* What is left stays in the spool for the next start: the spooler
   * writes it (attempts included) before it stops. */
  if (s->spooler != NULL && exited)
    nt_spooler_stop(s->spooler);
  for (size_t i = 0; i < s->cfg->tasks_num; i++) {
    nt_task_t *task = s->cfg->tasks[i];
    uint64_t kept = 0, dropped = 0;
    for (nt_job_t *j = left; j != NULL; j = j->next) {
      kept += (j->task == task && j->spool_file);
      dropped += (j->task == task && !j->spool_file);
    }
    if (kept > 0)
      NT_INFO("Task \"%s\": shutting down with %" PRIu64
              " undelivered job(s): kept in SpoolDir for the next start",
              task->name, kept);
    if (dropped == 0)
      continue;
    nt_stats_add(&task->stats, NT_STAT_DROPPED, dropped);
    NT_WARNING("Task \"%s\": shutting down with %" PRIu64
               " undelivered job(s): dropped",
               task->name, dropped);
  }
  while (left != NULL) {
    nt_job_t *next = left->next;
    free(left);
    left = next;
  }
  if (!exited)
    NT_ERROR("the sender thread did not stop in time: leaving it behind");
  return exited ? 0 : -1;
}

uint64_t nt_sender_spool_corrupt(nt_sender_t *s) {
  return s->spooler != NULL ? nt_spooler_corrupt(s->spooler) : 0;
}

size_t nt_sender_queue_length(nt_sender_t *s, const nt_task_t *task) {
  pthread_mutex_lock(&s->lock);
  size_t n = nt_queue_waiting_for(s->queue, task);
  pthread_mutex_unlock(&s->lock);
  return n;
}
