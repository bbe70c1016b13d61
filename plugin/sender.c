/* The sender: owns the queue and the one thread that does all network I/O,
 * applies the outcome of each exchange and counts it.
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
 * Threads: collectd's (submit), the sender's (everything else here) and the
 * spooler's (resume_entry, while it reads the spool at start). */
#include "sender.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "spooler.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* plugin_log cuts every line here. */
#define LOG_LINE_MAX 1024
/* A server's message is cut to this many bytes once redacted. */
#define MESSAGE_MAX 200
/* Hexadecimal runs this long are secrets (a job's own is 64 digits). */
#define SECRET_HEX_RUN 32
/* While jobs wait, the thread wakes at least this often to expire them. */
#define IDLE_WAKE 1.0
/* At shutdown, the sender gets this long past its deadline to notice the
 * abort; the spooler gets the rest of the second the bound allows. */
#define ABORT_SLACK 0.5

struct nt_sender_s {
  nt_config_t *cfg;
  nt_http_t *http;

  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t wake;  /* new job, or stop */
  pthread_cond_t done;  /* the thread has exited */
  nt_queue_t *queue;
  nt_spooler_t *spooler;    /* from start; NULL without SpoolDir, under -T */
  uint64_t seq, seq0;       /* the next job's, and the first job's */
  uint64_t *resume_expired; /* per Task, while the spool is read */
  uint64_t *resume_taken;
  uint64_t *resume_changed; /* entries whose Task has another TaskID now */
  bool started, running, stopping;
  bool resuming;  /* the spool is being read: sending waits */
  bool abandoned; /* a thread did not stop: nothing may be freed */
  pthread_t thread;
  double abort_at; /* monotonic; read by http.c without the lock */
  unsigned short rand_state[3];
};

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
  s->queue = nt_queue_create(limit, cfg->lanes_num);
  s->http = nt_http_create(cfg);
  s->resume_expired = calloc(cfg->tasks_num + 1, sizeof(uint64_t));
  s->resume_taken = calloc(cfg->tasks_num + 1, sizeof(uint64_t));
  s->resume_changed = calloc(cfg->tasks_num + 1, sizeof(uint64_t));
  if (s->queue == NULL || s->http == NULL || s->resume_expired == NULL ||
      s->resume_taken == NULL || s->resume_changed == NULL ||
      nt_cond_init(&s->wake) != 0) {
    NT_ERROR("cannot set up the sender: out of memory");
    goto fail;
  }
  if (nt_cond_init(&s->done) != 0) {
    NT_ERROR("cannot set up the sender: out of memory");
    pthread_cond_destroy(&s->wake);
    goto fail;
  }
  pthread_mutex_init(&s->lock, NULL);
  uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16) ^
                  (uint64_t)(uintptr_t)s;
  memcpy(s->rand_state, &seed, sizeof(s->rand_state));
  return s;
fail:
  nt_queue_free(s->queue);
  nt_http_free(s->http);
  free(s->resume_expired);
  free(s->resume_taken);
  free(s->resume_changed);
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
  free(s->resume_changed);
  pthread_cond_destroy(&s->wake);
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
  pthread_cond_signal(&s->wake);
  if (s->spooler != NULL && !job->spool_file)
    nt_spooler_add(s->spooler, job);
  return dropped;
}

/* Without the lock: counts, logs and releases a job displaced from a full
 * queue. */
static void drop(nt_sender_t *s, nt_spooler_t *sp, nt_job_t *dropped) {
  nt_task_t *task = dropped->task;
  nt_stats_add(&task->stats, NT_STAT_DROPPED, 1);
  nt_complain(&task->complaints[NT_COMPLAINT_DROPPED], nt_now(), LOG_WARNING,
              "Task \"%s\": queue full (%zu jobs, QueueLimit or "
              "SpoolLimit): dropped the oldest waiting job",
              task->name, nt_queue_limit(s->queue));
  release(sp, dropped);
}

int nt_sender_submit(nt_sender_t *s, nt_job_t *job) {
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    return -1;
  }
  job->seq = s->seq++;
  nt_job_t *dropped = push_locked(s, job);
  nt_spooler_t *sp = s->spooler;
  pthread_mutex_unlock(&s->lock);
  if (dropped != NULL)
    drop(s, sp, dropped);
  return 0;
}

/* What a server or libcurl said, fit for the log: every secret of the
 * configuration and any long run of hexadecimal digits (a job's own
 * secret) is overwritten before the text is cut short, so that no part of
 * one can straddle the cut. */
static void clean_message(const nt_sender_t *s, char *msg) {
  for (size_t i = 0; i < s->cfg->secrets_num; i++)
    nt_redact(msg, s->cfg->secrets[i]);
  nt_redact_hex_runs(msg, SECRET_HEX_RUN);
  nt_cut(msg, MESSAGE_MAX);
}

/* A job's fields come from the answer too: an id is never a secret's
 * length, but an answer could claim anything. */
static void clean_job_info(nt_job_info_t *info) {
  nt_redact_hex_runs(info->id, SECRET_HEX_RUN);
  nt_redact_hex_runs(info->lifecycle, SECRET_HEX_RUN);
  nt_redact_hex_runs(info->state, SECRET_HEX_RUN);
}

/* The message of a refused answer (or libcurl's error), cleaned, in msg. */
static void refusal_message(const nt_sender_t *s, const nt_http_result_t *r,
                            char *msg, size_t size) {
  if (r->status <= 0) {
    snprintf(msg, size, "%s", r->error);
    clean_message(s, msg);
    return;
  }
  /* The whole message first: cutting it before redacting could leave the
   * first digits of a secret in the log. */
  size_t full_size = r->body_len + 4;
  char *full = malloc(full_size);
  if (full == NULL) {
    snprintf(msg, size, "(message not shown: out of memory)");
    return;
  }
  nt_json_error_message(r->body != NULL ? r->body : "", r->body_len, full,
                        full_size);
  clean_message(s, full);
  snprintf(msg, size, "%s", full);
  free(full);
}

/* The DryRun line, also what collectd -T shows instead of sending. A body
 * (or a URL) too long for one log line is cut visibly, never by plugin_log. */
static void log_dry_run(const char *label, const nt_task_t *task,
                        const nt_job_t *job) {
  char head[LOG_LINE_MAX];
  int n = snprintf(head, sizeof(head),
                   NT_LOG_PREFIX "%sTask \"%s\": DryRun: POST %s ", label,
                   task->name, task->redacted_url);
  if (n < 0)
    return;
  size_t used = (size_t)n < sizeof(head) ? (size_t)n : sizeof(head) - 1;
  size_t room = LOG_LINE_MAX - 1 - used; /* body bytes that fit */
  if (job->body_len <= room) {
    plugin_log(LOG_INFO, "%s%s", head, job->body);
    return;
  }
  char tail[64];
  snprintf(tail, sizeof(tail), "\xE2\x80\xA6 (cut: %zu bytes in all)",
           job->body_len);
  size_t tail_len = strlen(tail);
  size_t keep = room > tail_len ? room - tail_len : 0;
  if (keep == 0) /* the URL alone fills the line: cut it instead */
    used = LOG_LINE_MAX - 1 - tail_len;
  /* Cut on a character boundary, never inside a UTF-8 sequence. */
  while (keep > 0 && ((unsigned char)job->body[keep] & 0xC0) == 0x80)
    keep--;
  plugin_log(LOG_INFO, "%.*s%.*s%s", (int)used, head, (int)keep, job->body,
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

static void count_gave_up(nt_task_t *task, const nt_job_t *job, const char *msg,
                          double now) {
  nt_stats_add(&task->stats, NT_STAT_FAILED, 1);
  nt_complain(&task->complaints[NT_COMPLAINT_GAVE_UP], now, LOG_ERR,
              "Task \"%s\": gave up on a job after %u attempts "
              "(MaxAttempts): last answer %s from %s",
              task->name, job->attempts, msg, task->eff.url);
}

/* Decides what becomes of a job after one exchange; returns the time to
 * retry it, or NAN when it is done with. Called without the lock. */
static double settle(nt_sender_t *s, nt_job_t *job, const nt_http_result_t *r,
                     double now) {
  nt_task_t *task = job->task;
  nt_job_info_t info = {0};
  nt_outcome_t o = nt_outcome_classify(r, &info);
  char msg[sizeof(r->error)] = "";

  switch (o) {
  case NT_SENT:
    clean_job_info(&info);
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
    clean_job_info(&info);
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
    refusal_message(s, r, msg, sizeof(msg));
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
  clean_message(s, msg);
  if (job->attempts >= s->cfg->max_attempts) {
    count_gave_up(task, job, msg, now);
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
  if (s->cfg->check_only || s->cfg->dry_run) {
    log_dry_run(s->cfg->check_only ? "collectd -T: " : "", task, job);
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
   * still counts after the restart. (http.c never lets libcurl write the
   * request twice in one exchange.) */
  unsigned on_disk = job->attempts + 1;
  if (s->spooler != NULL)
    nt_spooler_before_send(s->spooler, job, on_disk);
  nt_http_result_t r;
  nt_http_post(s->http, task, job->body, job->body_len, &s->abort_at, &r);
  double retry_at = settle(s, job, &r, nt_now());
  /* Waiting again: the entry must say what was really spent. */
  if (!isnan(retry_at) && s->spooler != NULL && job->attempts != on_disk)
    nt_spooler_add(s->spooler, job);
  return retry_at;
}

/* Without the lock: counts and releases the jobs that passed MaxAge while
 * waiting. */
static void finish_expired(nt_sender_t *s, nt_job_t *job, double now) {
  while (job != NULL) {
    nt_job_t *next = job->next;
    count_expired(s, job, now);
    release(s->spooler, job);
    job = next;
  }
}

static void *sender_main(void *arg) {
  nt_sender_t *s = arg;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    double now = nt_now();
    nt_job_t *expired = nt_queue_expire(s->queue, now);
    if (expired != NULL) {
      pthread_mutex_unlock(&s->lock);
      finish_expired(s, expired, now);
      pthread_mutex_lock(&s->lock);
      continue;
    }
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
      nt_cond_wait_until(&s->wake, &s->lock, until);
      continue;
    }
    pthread_mutex_unlock(&s->lock);
    double retry_at = deliver(s, job);
    pthread_mutex_lock(&s->lock);
    if (isnan(retry_at)) {
      nt_queue_remove(s->queue, job);
      /* Removing the entry touches the disk: not under the lock. */
      pthread_mutex_unlock(&s->lock);
      if (s->spooler != NULL)
        nt_spooler_finish(s->spooler, job);
      else
        free(job);
      pthread_mutex_lock(&s->lock);
    } else {
      nt_queue_retry(s->queue, job, retry_at);
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
    const char *name = s->cfg->tasks[i]->name;
    if (s->resume_changed[i] > 0)
      NT_WARNING("Task \"%s\": dropped %" PRIu64 " spooled job(s): the "
                 "Task's TaskID changed since they were spooled, and its "
                 "credential is for the new one",
                 name, s->resume_changed[i]);
    if (s->resume_taken[i] + s->resume_expired[i] == 0)
      continue;
    NT_INFO("Task \"%s\": resumed %" PRIu64 " spooled job(s); %" PRIu64
            " expired while collectd was down (MaxAge), never sent",
            name, s->resume_taken[i], s->resume_expired[i]);
  }
}

static bool is_stopping(nt_sender_t *s) {
  pthread_mutex_lock(&s->lock);
  bool stop = s->stopping;
  pthread_mutex_unlock(&s->lock);
  return stop;
}

/* A spool entry left by an earlier run (the spooler's thread). Returns
 * what becomes of the entry on disk. */
static int resume_entry(const nt_spool_entry_t *e, void *arg) {
  nt_sender_t *s = arg;
  if (e == NULL) {
    resume_summary(s);
    pthread_mutex_lock(&s->lock);
    s->resuming = false;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return NT_SPOOL_KEEP;
  }
  /* Shutdown never waits for the rest of a large spool: it stays. */
  if (is_stopping(s))
    return NT_SPOOL_STOP;
  size_t index;
  nt_task_t *task = find_task(s->cfg, e->task, &index);
  if (task == NULL) {
    NT_WARNING("spool: dropped a job for Task \"%s\", which is no longer "
               "configured",
               e->task);
    return NT_SPOOL_REMOVE;
  }
  if (strcasecmp(task->task_id, e->task_id) != 0) {
    s->resume_changed[index]++;
    return NT_SPOOL_REMOVE;
  }
  double age = nt_wall() - e->arrival;
  if (age < 0)
    age = 0;
  if (age >= s->cfg->max_age) {
    nt_stats_add(&task->stats, NT_STAT_EXPIRED, 1);
    s->resume_expired[index]++;
    return NT_SPOOL_REMOVE;
  }
  double now = nt_now();
  nt_job_t *job = nt_job_new(task, e->body, e->body_len, now - age, e->arrival,
                             s->cfg->max_age);
  if (job == NULL)
    return NT_SPOOL_KEEP; /* for the next start */
  job->seq = e->seq;
  job->attempts = e->attempts;
  job->spool_file = true;
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    free(job);
    return NT_SPOOL_STOP;
  }
  if (e->seq >= s->seq)
    s->seq = e->seq + 1;
  nt_job_t *dropped = push_locked(s, job);
  pthread_mutex_unlock(&s->lock);
  if (dropped != NULL)
    drop(s, s->spooler, dropped);
  nt_stats_add(&task->stats, NT_STAT_RESUMED, 1);
  s->resume_taken[index]++;
  return NT_SPOOL_KEEP;
}

/* Jobs queued before init (another plugin notified first) get their
 * entries now, named above every entry on disk. */
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
  nt_spooler_t *sp = nt_spooler_create(cfg->spool_dir, err, sizeof(err));
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
  pthread_mutex_lock(&s->lock);
  s->running = true;
  int status = create(&s->thread, sender_main, s, "notify_theeye");
  if (status != 0)
    s->running = false;
  else
    s->started = true;
  pthread_mutex_unlock(&s->lock);
  if (status == 0 && s->spooler != NULL) {
    status = nt_spooler_start(s->spooler, create, resume_entry, s);
    /* Never leave one thread running that nobody will stop. */
    if (status != 0)
      nt_sender_stop(s, 0);
  }
  return status;
}

/* With the sender's thread left running, the queue stays as it is (the
 * thread holds a job of it): what is left is counted and logged, nothing
 * is freed. */
static void report_abandoned(nt_sender_t *s) {
  for (size_t i = 0; i < s->cfg->tasks_num; i++) {
    nt_task_t *task = s->cfg->tasks[i];
    pthread_mutex_lock(&s->lock);
    size_t left = nt_queue_length_for(s->queue, task);
    pthread_mutex_unlock(&s->lock);
    if (left == 0)
      continue;
    nt_stats_add(&task->stats, NT_STAT_DROPPED, left);
    NT_WARNING("Task \"%s\": shutting down with %zu undelivered job(s): "
               "dropped%s",
               task->name, left,
               s->spooler != NULL ? " (those already in SpoolDir are "
                                    "resumed at the next start)"
                                  : "");
  }
  NT_ERROR("the sender thread did not stop in time: leaving it behind, "
           "with the memory it uses");
  s->abandoned = true;
}

/* Once the sender's thread stopped: counts and logs what is left, and
 * frees it unless the spooler may still hold a job. */
static void report_left(nt_sender_t *s, nt_job_t *left, bool free_jobs) {
  for (size_t i = 0; i < s->cfg->tasks_num; i++) {
    nt_task_t *task = s->cfg->tasks[i];
    uint64_t kept = 0, dropped = 0;
    for (nt_job_t *j = left; j != NULL; j = j->next) {
      if (j->task != task)
        continue;
      if (s->spooler != NULL && nt_spooler_on_disk(s->spooler, j))
        kept++;
      else
        dropped++;
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
  while (free_jobs && left != NULL) {
    nt_job_t *next = left->next;
    free(left);
    left = next;
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
  __atomic_store(&s->abort_at, &deadline, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&s->wake);
  /* The request in flight notices the deadline within its poll period;
   * if it is blocked past it, make it look again. */
  double until = deadline + ABORT_SLACK / 2;
  while (s->running && nt_now() < until)
    nt_cond_wait_until(&s->done, &s->lock, until);
  if (s->running) {
    nt_http_wakeup(s->http);
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
  if (!exited) {
    /* The spool is still brought up to date: what it removes and writes
     * now is not sent twice, or lost, at the next start. */
    if (s->spooler != NULL)
      nt_spooler_stop(s->spooler, deadline + 0.9);
    report_abandoned(s);
    return -1;
  }
  /* What is left stays in the spool for the next start: the spooler
   * writes what it can (attempts included) within the bound. */
  bool spooler_stopped =
      s->spooler == NULL || nt_spooler_stop(s->spooler, deadline + 0.9) == 0;
  pthread_mutex_lock(&s->lock);
  nt_job_t *left = nt_queue_drain(s->queue);
  pthread_mutex_unlock(&s->lock);
  report_left(s, left, spooler_stopped);
  if (spooler_stopped)
    return 0;
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
  size_t n = nt_queue_length_for(s->queue, task);
  pthread_mutex_unlock(&s->lock);
  return n;
}
