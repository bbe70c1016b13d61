/* SPDX-License-Identifier: MIT
 *
 * The spooler: one thread that keeps SpoolDir in step with the queue, so
 * that neither collectd's threads nor the sender wait on the disk. It
 * writes entries in batches (group commit: each file flushed, then the
 * directory once), the jobs about to be sent first, and removes the
 * entries of finished jobs. It touches the disk only through spool.c,
 * never under a lock. */
#include "spooler.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "state.h"

#include <errno.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Entries written before one fsync of the directory makes them durable. */
#define STATE_FILE "state"
/* The state is written at most this often, and within this of a change. */
#define STATE_EVERY 1.0
/* A state file larger than this is not one. */
#define STATE_MAX (256 * 1024 * 1024)
#define GROUP_COMMIT 64

typedef struct {
  uint64_t seq;
  nt_task_t *task; /* for spool_errors */
  bool counted;    /* its failure was counted once already */
} removal_t;

/* A job's place among the spooler's lists (job->spool_list). */
enum { IN_NONE, IN_PENDING, IN_URGENT, IN_PREPARED };

typedef struct {
  nt_job_t *head, *tail;
} list_t;

struct nt_spooler_s {
  nt_spool_t *spool;
  const nt_config_t *cfg;
  pthread_mutex_t lock; /* guards the jobs' spool_* fields and below */
  pthread_cond_t wake;  /* work to do, or stop */
  pthread_cond_t done;  /* the thread has exited */
  uint64_t max_seq;     /* on disk at creation */
  list_t lists[4];      /* indexed by IN_*; IN_NONE unused */
  removal_t *removals;  /* entries of finished jobs still on disk */
  size_t removals_num, removals_size;
  size_t removals_failed; /* of those, the ones that failed last time */
  uint64_t lost;          /* removals forgotten for want of memory */
  bool started, running, stopping;
  bool interrupted; /* the load of the spool stops at the next entry */
  double stop_at;   /* monotonic: pending writes are given up from then */
  pthread_t thread;
  nt_spooler_take_t take;
  void (*ready)(void *arg);
  void *arg;
  /* Per Task, while the spool is read (the spooler's thread only). */
  uint64_t *resumed, *expired;
  uint64_t *changed; /* entries whose Task has another TaskID now */
  uint64_t corrupt;
  nt_complaint_t write_failed;
  nt_complaint_t remove_failed;
  nt_complaint_t state_failed;
  double state_saved; /* monotonic: the state's last write */
  bool state_unsaved; /* the last write failed: the next one is due anyway */
};

/* At init, before any thread: the subjects and budgets of the last run. */
static void load_state(nt_spooler_t *sp) {
  char err[256] = "";
  char *data = NULL;
  size_t len = 0;
  int status = nt_spool_get(sp->spool, STATE_FILE, STATE_MAX, &data, &len, err,
                            sizeof(err));
  if (status == 0 && nt_state_decode(sp->cfg, data, len, nt_now(), nt_wall(),
                                     err, sizeof(err)) != 0)
    status = -1;
  if (status < 0)
    NT_WARNING("spool: the remediation state of the last run: %s: "
               "incidents and budgets start afresh",
               err);
  free(data);
}

nt_spooler_t *nt_spooler_create(const char *dir, const nt_config_t *cfg,
                                char *err, size_t errlen) {
  nt_spooler_t *sp = calloc(1, sizeof(*sp));
  if (sp != NULL) {
    sp->resumed = calloc(cfg->tasks_num + 1, sizeof(uint64_t));
    sp->expired = calloc(cfg->tasks_num + 1, sizeof(uint64_t));
    sp->changed = calloc(cfg->tasks_num + 1, sizeof(uint64_t));
  }
  if (sp == NULL || sp->resumed == NULL || sp->expired == NULL ||
      sp->changed == NULL) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  if (nt_cond_init(&sp->done) != 0) {
    snprintf(err, errlen, "cannot set up a condition variable");
    goto fail;
  }
  if (nt_cond_init(&sp->wake) != 0) {
    snprintf(err, errlen, "cannot set up a condition variable");
    pthread_cond_destroy(&sp->done);
    goto fail;
  }
  sp->spool = nt_spool_open(dir, err, errlen);
  if (sp->spool == NULL) {
    pthread_cond_destroy(&sp->done);
    pthread_cond_destroy(&sp->wake);
    goto fail;
  }
  sp->cfg = cfg;
  sp->max_seq = nt_spool_max_seq(sp->spool);
  load_state(sp);
  pthread_mutex_init(&sp->lock, NULL);
  return sp;
fail:
  if (sp != NULL) {
    free(sp->resumed);
    free(sp->expired);
    free(sp->changed);
  }
  free(sp);
  return NULL;
}

void nt_spooler_free(nt_spooler_t *sp) {
  if (sp == NULL)
    return;
  nt_spool_close(sp->spool);
  free(sp->removals);
  free(sp->resumed);
  free(sp->expired);
  free(sp->changed);
  pthread_cond_destroy(&sp->wake);
  pthread_cond_destroy(&sp->done);
  pthread_mutex_destroy(&sp->lock);
  free(sp);
}

static void list_out(nt_spooler_t *sp, nt_job_t *job) {
  if (job->spool_list == IN_NONE)
    return;
  list_t *l = &sp->lists[job->spool_list];
  if (job->spool_prev != NULL)
    job->spool_prev->spool_next = job->spool_next;
  else
    l->head = job->spool_next;
  if (job->spool_next != NULL)
    job->spool_next->spool_prev = job->spool_prev;
  else
    l->tail = job->spool_prev;
  job->spool_next = job->spool_prev = NULL;
  job->spool_list = IN_NONE;
}

static void list_in(nt_spooler_t *sp, nt_job_t *job, unsigned char which) {
  list_out(sp, job);
  list_t *l = &sp->lists[which];
  job->spool_prev = l->tail;
  job->spool_next = NULL;
  if (l->tail != NULL)
    l->tail->spool_next = job;
  else
    l->head = job;
  l->tail = job;
  job->spool_list = which;
}

/* What the entry of a waiting job says: the attempts it spent, plus the
 * one its next request will spend, unless that one may be its last. So
 * the next request needs no write of its own (one write per job), and
 * after a crash a job never sent has at worst one attempt less, never
 * none left. */
static unsigned waiting_attempts(const nt_spooler_t *sp, const nt_job_t *job) {
  unsigned spent = __atomic_load_n(&job->attempts, __ATOMIC_RELAXED);
  return spent + 1 < sp->cfg->max_attempts ? spent + 1 : spent;
}

/* Queues a write of the job's entry saying want attempts; with the lock. */
static void schedule(nt_spooler_t *sp, nt_job_t *job, unsigned want,
                     bool urgent) {
  job->spool_want = want;
  if (job->spool_writing) {
    job->spool_rewrite = true;
    return;
  }
  if (urgent)
    list_in(sp, job, IN_URGENT);
  else if (job->spool_list != IN_URGENT)
    list_in(sp, job, IN_PENDING);
  pthread_cond_signal(&sp->wake);
}

void nt_spooler_add(nt_spooler_t *sp, nt_job_t *job) {
  pthread_mutex_lock(&sp->lock);
  /* Waiting, so not about to be sent: whatever was prepared for that is
   * undone (at shutdown, a job taken but never sent). */
  job->spool_need = 0;
  if (job->spool_list == IN_PREPARED)
    list_out(sp, job);
  unsigned want = waiting_attempts(sp, job);
  if (!job->spool_file || job->spool_synced != want || job->spool_writing)
    schedule(sp, job, want, false);
  pthread_mutex_unlock(&sp->lock);
}

bool nt_spooler_prepare(nt_spooler_t *sp, nt_job_t *job, unsigned attempts) {
  pthread_mutex_lock(&sp->lock);
  bool now = job->spool_file && !job->spool_writing &&
             job->spool_list == IN_NONE && job->spool_synced >= attempts;
  if (!now) {
    job->spool_need = attempts;
    schedule(sp, job, attempts > job->spool_want ? attempts : job->spool_want,
             true);
  }
  pthread_mutex_unlock(&sp->lock);
  return now;
}

nt_job_t *nt_spooler_prepared(nt_spooler_t *sp) {
  pthread_mutex_lock(&sp->lock);
  nt_job_t *list = sp->lists[IN_PREPARED].head;
  for (nt_job_t *j = list; j != NULL; j = j->spool_next)
    j->spool_list = IN_NONE;
  sp->lists[IN_PREPARED] = (list_t){0};
  pthread_mutex_unlock(&sp->lock);
  return list;
}

/* Called with the lock held. When memory runs out the entry stays on disk,
 * to be resent after a restart rather than lost (counted in lost, logged
 * by log_lost). */
static void add_removal(nt_spooler_t *sp, uint64_t seq, nt_task_t *task,
                        bool counted) {
  if (sp->removals_num == sp->removals_size) {
    size_t size = sp->removals_size ? 2 * sp->removals_size : 64;
    removal_t *more = realloc(sp->removals, size * sizeof(*more));
    if (more == NULL) {
      sp->lost++;
      pthread_cond_signal(&sp->wake); /* to be logged soon */
      return;
    }
    sp->removals = more;
    sp->removals_size = size;
  }
  sp->removals[sp->removals_num++] =
      (removal_t){.seq = seq, .task = task, .counted = counted};
  pthread_cond_signal(&sp->wake);
}

/* Without the lock: says how many removals were forgotten. */
static void log_lost(nt_spooler_t *sp) {
  pthread_mutex_lock(&sp->lock);
  uint64_t lost = sp->lost;
  sp->lost = 0;
  pthread_mutex_unlock(&sp->lock);
  if (lost > 0)
    NT_ERROR("spool: out of memory: the entries of %" PRIu64
             " finished job(s) stay on disk, resent at the next start",
             lost);
}

static void complain(nt_complaint_t *c, nt_task_t *task, const char *what,
                     int err) {
  nt_stats_add(&task->stats, NT_STAT_SPOOL_ERRORS, 1);
  nt_complain(c, nt_now(), LOG_ERR, "spool: cannot %s: %s", what,
              strerror(err));
}

#define WRITE_FAILED "write an entry (jobs stay in memory only)"
#define REMOVE_FAILED                                                          \
  "remove the entry of a finished job (it is never sent again while "          \
  "collectd runs)"

bool nt_spooler_release(nt_spooler_t *sp, nt_job_t *job) {
  pthread_mutex_lock(&sp->lock);
  bool free_now = true;
  if (job->spool_writing) {
    job->spool_released = true;
    free_now = false;
  } else {
    list_out(sp, job);
    if (job->spool_file)
      add_removal(sp, job->seq, job->task, false);
  }
  pthread_mutex_unlock(&sp->lock);
  return free_now;
}

static nt_spool_entry_t entry_of(const nt_job_t *job, unsigned attempts) {
  const nt_task_t *task = job->task;
  return (nt_spool_entry_t){
      .seq = job->seq,
      .arrival = job->arrival_wall,
      .attempts = attempts,
      .task = task->name,
      .task_id = task->task_id,
      .episode = job->episode,
      .body = job->body,
      .body_len = job->body_len,
  };
}

/* Removes the entries of finished jobs, outside the lock; those that cannot
 * go are kept to try again with the next batch. */
static void remove_entries(nt_spooler_t *sp) {
  removal_t *list = sp->removals;
  size_t num = sp->removals_num;
  if (num == 0)
    return;
  sp->removals = NULL;
  sp->removals_num = sp->removals_size = 0;
  sp->removals_failed = 0;
  pthread_mutex_unlock(&sp->lock);
  size_t kept = 0;
  for (size_t i = 0; i < num; i++) {
    int err = nt_spool_remove(sp->spool, list[i].seq);
    if (err == 0)
      continue;
    if (!list[i].counted)
      complain(&sp->remove_failed, list[i].task, REMOVE_FAILED, err);
    list[i].counted = true;
    list[kept++] = list[i];
  }
  /* A removal undone by a power cut would send a finished job again. */
  if (kept < num)
    nt_spool_sync(sp->spool);
  pthread_mutex_lock(&sp->lock);
  for (size_t i = 0; i < kept; i++)
    add_removal(sp, list[i].seq, list[i].task, true);
  sp->removals_failed = kept;
  free(list);
}

/* The next job to write: those the sender waits for first. */
static nt_job_t *next_to_write(const nt_spooler_t *sp) {
  nt_job_t *job = sp->lists[IN_URGENT].head;
  return job != NULL ? job : sp->lists[IN_PENDING].head;
}

/* A write of the batch is over, with the lock: durable (ok), or failed,
 * leaving a stale entry behind (kept) or none. */
static void settle_write(nt_spooler_t *sp, nt_job_t *job, unsigned attempts,
                         bool ok, bool kept, bool *wake_sender) {
  job->spool_writing = false;
  if (ok && !job->spool_file)
    nt_stats_add(&job->task->stats, NT_STAT_SPOOLED, 1);
  job->spool_file = ok || kept;
  job->spool_synced = ok ? attempts : 0;
  if (job->spool_released) {
    if (job->spool_file)
      add_removal(sp, job->seq, job->task, false);
    free(job);
    return;
  }
  if (job->spool_need > 0 && (!ok || attempts >= job->spool_need)) {
    /* Sent all the same when the disk fails: the job lives in memory like
     * any the spool cannot hold. */
    job->spool_need = 0;
    job->spool_rewrite = false;
    list_in(sp, job, IN_PREPARED);
    *wake_sender = true;
  } else if (job->spool_rewrite) {
    job->spool_rewrite = false;
    schedule(sp, job, job->spool_want, job->spool_need > 0);
  }
}

/* Writes up to GROUP_COMMIT entries, each file flushed, then the directory
 * once. Called and returns with the lock held. */
static void write_batch(nt_spooler_t *sp) {
  nt_job_t *batch[GROUP_COMMIT];
  unsigned attempts[GROUP_COMMIT];
  int status[GROUP_COMMIT];
  bool kept[GROUP_COMMIT];
  size_t n = 0;
  nt_job_t *job;
  while (n < GROUP_COMMIT && (job = next_to_write(sp)) != NULL) {
    if (sp->stopping && nt_now() >= sp->stop_at)
      break;
    list_out(sp, job);
    job->spool_writing = true;
    job->spool_rewrite = false;
    attempts[n] = job->spool_want;
    nt_spool_entry_t e = entry_of(job, attempts[n]);
    pthread_mutex_unlock(&sp->lock);
    status[n] = nt_spool_write(sp->spool, &e);
    pthread_mutex_lock(&sp->lock);
    batch[n++] = job;
  }
  if (n == 0)
    return;
  pthread_mutex_unlock(&sp->lock);
  int sync = nt_spool_sync(sp->spool);
  bool all_ok = true;
  for (size_t i = 0; i < n; i++) {
    kept[i] = false;
    if (status[i] == 0)
      status[i] = sync;
    if (status[i] == 0)
      continue;
    all_ok = false;
    complain(&sp->write_failed, batch[i]->task, WRITE_FAILED, status[i]);
    /* Whatever entry is there (an older one, or this one not flushed) may
     * say fewer attempts than the next request may spend: after a crash
     * the job could be sent past MaxAttempts. It goes; one that cannot be
     * removed goes with the job, at least. */
    kept[i] = nt_spool_remove(sp->spool, batch[i]->seq) != 0;
  }
  if (all_ok)
    nt_release(&sp->write_failed, LOG_NOTICE, "spool: writing again");
  bool wake_sender = false;
  pthread_mutex_lock(&sp->lock);
  for (size_t i = 0; i < n; i++)
    settle_write(sp, batch[i], attempts[i], status[i] == 0, kept[i],
                 &wake_sender);
  if (wake_sender && sp->ready != NULL) {
    pthread_mutex_unlock(&sp->lock);
    sp->ready(sp->arg);
    pthread_mutex_lock(&sp->lock);
  }
}

static void report_corrupt(const char *name, const char *why, void *arg) {
  (void)arg;
  /* why ends "; deleted: ..." or "; left in place..." when the entry was
   * not moved aside. */
  if (strstr(why, "; left in place") != NULL)
    NT_ERROR("spool: entry \"%s\" is unreadable now (%s): not resumed, "
             "read again at the next start",
             name, why);
  else if (strchr(why, ';') != NULL)
    NT_ERROR("spool: entry \"%s\" is unreadable (%s), never sent", name, why);
  else
    NT_ERROR("spool: entry \"%s\" is unreadable (%s): moved into "
             "corrupt/, never sent",
             name, why);
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

static void resume_summary(nt_spooler_t *sp) {
  for (size_t i = 0; i < sp->cfg->tasks_num; i++) {
    const char *name = sp->cfg->tasks[i]->name;
    if (sp->changed[i] > 0)
      NT_WARNING("Task \"%s\": dropped %" PRIu64 " spooled job(s): the "
                 "Task's TaskID changed since they were spooled, and its "
                 "credential is for the new one",
                 name, sp->changed[i]);
    if (sp->resumed[i] + sp->expired[i] == 0)
      continue;
    NT_INFO("Task \"%s\": resumed %" PRIu64 " spooled job(s); %" PRIu64
            " expired while collectd was down (MaxAge), never sent",
            name, sp->resumed[i], sp->expired[i]);
  }
}

/* A spool entry left by an earlier run: the job it holds goes back to the
 * sender if its Task still wants it. Returns what becomes of the entry on
 * disk. */
static int resume_entry(const nt_spool_entry_t *e, void *arg) {
  nt_spooler_t *sp = arg;
  const nt_config_t *cfg = sp->cfg;
  pthread_mutex_lock(&sp->lock);
  bool interrupted = sp->interrupted;
  pthread_mutex_unlock(&sp->lock);
  /* Shutdown never waits for the rest of a large spool: it stays. */
  if (interrupted)
    return NT_SPOOL_STOP;
  size_t index;
  nt_task_t *task = find_task(cfg, e->task, &index);
  if (task == NULL) {
    NT_WARNING("spool: dropped a job for Task \"%s\", which is no longer "
               "configured",
               e->task);
    return NT_SPOOL_REMOVE;
  }
  /* The Task's credential is for its TaskID: never for another task's
   * job. */
  if (strcasecmp(task->task_id, e->task_id) != 0) {
    sp->changed[index]++;
    return NT_SPOOL_REMOVE;
  }
  double age = nt_wall() - e->arrival;
  if (age < 0)
    age = 0;
  if (age >= cfg->max_age) {
    nt_stats_add(&task->stats, NT_STAT_EXPIRED, 1);
    sp->expired[index]++;
    return NT_SPOOL_REMOVE;
  }
  nt_job_t *job = nt_job_new(task, e->body, e->body_len, nt_now() - age,
                             e->arrival, cfg->max_age);
  if (job == NULL)
    return NT_SPOOL_KEEP; /* for the next start */
  job->seq = e->seq;
  job->episode = e->episode;
  job->attempts = e->attempts;
  job->spool_file = true;
  job->spool_want = job->spool_synced = e->attempts;
  /* Once taken, the job is the sender's: it may be gone at once. */
  if (sp->take(job, sp->arg) != 0) {
    free(job);
    return NT_SPOOL_STOP;
  }
  nt_stats_add(&task->stats, NT_STAT_RESUMED, 1);
  sp->resumed[index]++;
  return NT_SPOOL_KEEP;
}

/* Writes the remediation state when it changed, at most once per
 * STATE_EVERY (or now, at the end). The spooler's thread, without its
 * lock: encoding takes the guards' locks, for memory only. */
static void save_state(nt_spooler_t *sp, bool last) {
  double now = nt_now();
  if ((!last && now - sp->state_saved < STATE_EVERY) ||
      (!sp->state_unsaved && !nt_state_changed(sp->cfg)))
    return;
  sp->state_saved = now;
  size_t len;
  char *data = nt_state_encode(sp->cfg, now, nt_wall(), &len);
  int status =
      data != NULL ? nt_spool_put(sp->spool, STATE_FILE, data, len) : ENOMEM;
  free(data);
  sp->state_unsaved = status != 0;
  if (status != 0)
    nt_complain(&sp->state_failed, now, LOG_ERR,
                "spool: cannot write the remediation state: %s: a restart "
                "would forget incidents and budgets",
                strerror(status));
  else
    nt_release(&sp->state_failed, LOG_NOTICE,
               "spool: the remediation state is written again");
}

/* When to look for a change of the remediation state next, so that one is
 * on disk within STATE_EVERY: twice as often as that, and as soon as the
 * last save's STATE_EVERY has passed. Never at or before now. */
static double state_look_at(const nt_spooler_t *sp, double now) {
  double due = sp->state_saved + STATE_EVERY, soon = now + STATE_EVERY / 2;
  return due > now && due < soon ? due : soon;
}

static bool has_work(const nt_spooler_t *sp) {
  return sp->removals_num > 0 || sp->lost > 0 || next_to_write(sp) != NULL;
}

static void *spooler_main(void *arg) {
  nt_spooler_t *sp = arg;
  int moved = nt_spool_load(sp->spool, resume_entry, report_corrupt, sp);
  if (moved < 0)
    NT_ERROR("spool: cannot read the directory: nothing resumed");
  resume_summary(sp);
  sp->take(NULL, sp->arg);
  pthread_mutex_lock(&sp->lock);
  if (moved > 0)
    sp->corrupt += (uint64_t)moved;
  for (;;) {
    if (sp->lost > 0) {
      pthread_mutex_unlock(&sp->lock);
      log_lost(sp);
      pthread_mutex_lock(&sp->lock);
    }
    bool work = has_work(sp);
    if (!work && sp->stopping)
      break;
    if (!work) {
      pthread_mutex_unlock(&sp->lock);
      save_state(sp, false);
      pthread_mutex_lock(&sp->lock);
      if (!has_work(sp) && !sp->stopping)
        nt_cond_wait_until(&sp->wake, &sp->lock, state_look_at(sp, nt_now()));
      continue;
    }
    remove_entries(sp);
    write_batch(sp);
    /* A steady stream of jobs must not hold the state back either (once
     * stopping, the last save comes at the end). */
    if (!sp->stopping) {
      pthread_mutex_unlock(&sp->lock);
      save_state(sp, false);
      pthread_mutex_lock(&sp->lock);
    }
    if (sp->stopping) {
      if (next_to_write(sp) == NULL || nt_now() >= sp->stop_at) {
        /* Entries of jobs released during the last writes go too. */
        remove_entries(sp);
        break;
      }
    } else if (next_to_write(sp) == NULL &&
               sp->removals_num <= sp->removals_failed) {
      /* Entries that could not be removed wait for the next batch, or
       * the next look at the state, rather than being tried again in a
       * loop. */
      nt_cond_wait_until(&sp->wake, &sp->lock, state_look_at(sp, nt_now()));
    }
  }
  pthread_mutex_unlock(&sp->lock);
  save_state(sp, true);
  pthread_mutex_lock(&sp->lock);
  /* Whatever was not written stays in memory: nobody walks these lists
   * again, the sender frees those jobs. */
  for (int which = IN_PENDING; which <= IN_PREPARED; which++)
    while (sp->lists[which].head != NULL)
      list_out(sp, sp->lists[which].head);
  sp->running = false;
  pthread_cond_broadcast(&sp->done);
  pthread_mutex_unlock(&sp->lock);
  return NULL;
}

int nt_spooler_start(nt_spooler_t *sp, nt_spooler_thread_create_t create,
                     nt_spooler_take_t take, void (*ready)(void *arg),
                     void *arg) {
  sp->take = take;
  sp->ready = ready;
  sp->arg = arg;
  sp->running = true;
  int status = create(&sp->thread, spooler_main, sp, "theeye_spool");
  sp->started = status == 0;
  sp->running = status == 0;
  return status;
}

void nt_spooler_interrupt(nt_spooler_t *sp) {
  pthread_mutex_lock(&sp->lock);
  sp->interrupted = true;
  pthread_mutex_unlock(&sp->lock);
}

int nt_spooler_stop(nt_spooler_t *sp, double until) {
  pthread_mutex_lock(&sp->lock);
  sp->stopping = true;
  /* A little before the bound: the write under way must end by then. */
  sp->stop_at = until - 0.2;
  pthread_cond_signal(&sp->wake);
  while (sp->running && nt_now() < until)
    nt_cond_wait_until(&sp->done, &sp->lock, until);
  bool exited = !sp->running;
  pthread_mutex_unlock(&sp->lock);
  if (sp->started && exited)
    pthread_join(sp->thread, NULL);
  else if (sp->started)
    pthread_detach(sp->thread);
  sp->started = false;
  return exited ? 0 : -1;
}

bool nt_spooler_on_disk(nt_spooler_t *sp, const nt_job_t *job) {
  pthread_mutex_lock(&sp->lock);
  bool on_disk = job->spool_file;
  pthread_mutex_unlock(&sp->lock);
  return on_disk;
}

uint64_t nt_spooler_corrupt(nt_spooler_t *sp) {
  pthread_mutex_lock(&sp->lock);
  uint64_t n = sp->corrupt;
  pthread_mutex_unlock(&sp->lock);
  return n;
}

uint64_t nt_spooler_max_seq(nt_spooler_t *sp) { return sp->max_seq; }
