/* The spooler: one thread that keeps SpoolDir in step with the queue, so
 * that neither collectd's threads nor the sender wait for another job's
 * flush. It touches the disk only through spool.c, never under a lock. */
#include "spooler.h"
#include "clock.h"
#include "config.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Entries written before one fsync of the directory makes them durable. */
#define GROUP_COMMIT 64

typedef struct {
  uint64_t seq;
  nt_task_t *task; /* for spool_errors */
  bool counted;    /* its failure was counted once already */
} removal_t;

struct nt_spooler_s {
  nt_spool_t *spool;
  pthread_mutex_t lock;   /* guards the jobs' spool_* fields and below */
  pthread_cond_t wake;    /* work to do, or stop */
  pthread_cond_t written; /* a job's spool_writing went false */
  pthread_cond_t done;    /* the thread has exited */
  uint64_t max_seq;       /* on disk at creation */
  nt_job_t *pending, **pending_tail;
  removal_t *removals; /* entries of finished jobs still on disk */
  size_t removals_num, removals_size;
  bool started, running, stopping;
  double stop_at; /* monotonic: pending writes are given up from then */
  pthread_t thread;
  nt_spool_visit_t resume;
  void *resume_arg;
  uint64_t corrupt;
  /* One complaint for both writers (the spooler, and the sender before
   * each request): a disk that fails, fails for both. */
  nt_complaint_t write_failed;
  nt_complaint_t remove_failed; /* spooler and sender threads */
};

nt_spooler_t *nt_spooler_create(const char *dir, char *err, size_t errlen) {
  nt_spooler_t *sp = calloc(1, sizeof(*sp));
  if (sp == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (nt_cond_init(&sp->done) != 0 || nt_cond_init(&sp->wake) != 0) {
    snprintf(err, errlen, "cannot set up a condition variable");
    free(sp);
    return NULL;
  }
  sp->spool = nt_spool_open(dir, err, errlen);
  if (sp->spool == NULL) {
    pthread_cond_destroy(&sp->done);
    pthread_cond_destroy(&sp->wake);
    free(sp);
    return NULL;
  }
  sp->max_seq = nt_spool_max_seq(sp->spool);
  sp->pending_tail = &sp->pending;
  pthread_mutex_init(&sp->lock, NULL);
  pthread_cond_init(&sp->written, NULL);
  return sp;
}

void nt_spooler_free(nt_spooler_t *sp) {
  if (sp == NULL)
    return;
  nt_spool_close(sp->spool);
  free(sp->removals);
  pthread_cond_destroy(&sp->wake);
  pthread_cond_destroy(&sp->written);
  pthread_cond_destroy(&sp->done);
  pthread_mutex_destroy(&sp->lock);
  free(sp);
}

static void add_locked(nt_spooler_t *sp, nt_job_t *job) {
  if (job->spool_writing) {
    job->spool_rewrite = true;
    return;
  }
  if (job->spool_pending)
    return;
  job->spool_pending = true;
  job->spool_next = NULL;
  *sp->pending_tail = job;
  sp->pending_tail = &job->spool_next;
  pthread_cond_signal(&sp->wake);
}

void nt_spooler_add(nt_spooler_t *sp, nt_job_t *job) {
  pthread_mutex_lock(&sp->lock);
  add_locked(sp, job);
  pthread_mutex_unlock(&sp->lock);
}

/* Called with the lock held. Returns false when memory ran out: the entry
 * then stays on disk, to be resent after a restart rather than lost. */
static bool add_removal(nt_spooler_t *sp, uint64_t seq, nt_task_t *task,
                        bool counted) {
  if (sp->removals_num == sp->removals_size) {
    size_t size = sp->removals_size ? 2 * sp->removals_size : 64;
    removal_t *more = realloc(sp->removals, size * sizeof(*more));
    if (more == NULL)
      return false;
    sp->removals = more;
    sp->removals_size = size;
  }
  sp->removals[sp->removals_num++] =
      (removal_t){.seq = seq, .task = task, .counted = counted};
  pthread_cond_signal(&sp->wake);
  return true;
}

static void unlink_pending(nt_spooler_t *sp, nt_job_t *job) {
  if (!job->spool_pending)
    return;
  nt_job_t **p = &sp->pending;
  while (*p != job)
    p = &(*p)->spool_next;
  *p = job->spool_next;
  if (sp->pending_tail == &job->spool_next)
    sp->pending_tail = p;
  job->spool_pending = false;
}

static void complain_removal(nt_spooler_t *sp, nt_task_t *task, int err) {
  nt_stats_add(&task->stats, NT_STAT_SPOOL_ERRORS, 1);
  nt_complain(&sp->remove_failed, nt_now(), LOG_ERR,
              "spool: cannot remove the entry of a finished job of Task "
              "\"%s\": %s: it is never sent again while collectd runs",
              task->name, strerror(err));
}

bool nt_spooler_release(nt_spooler_t *sp, nt_job_t *job) {
  pthread_mutex_lock(&sp->lock);
  bool free_now = true;
  if (job->spool_writing) {
    job->spool_released = true;
    free_now = false;
  } else {
    unlink_pending(sp, job);
    if (job->spool_file)
      add_removal(sp, job->seq, job->task, false);
  }
  pthread_mutex_unlock(&sp->lock);
  return free_now;
}

/* Takes the job out of the spooler's hands: its own write, if one is under
 * way, ends first (never another job's); none is to come. Called with the
 * lock held. */
static void claim(nt_spooler_t *sp, nt_job_t *job) {
  while (job->spool_writing)
    pthread_cond_wait(&sp->written, &sp->lock);
  unlink_pending(sp, job);
}

static nt_spool_entry_t entry_of(const nt_job_t *job, unsigned attempts) {
  const nt_task_t *task = job->task;
  return (nt_spool_entry_t){
      .seq = job->seq,
      .arrival = job->arrival_wall,
      .attempts = attempts,
      .task = task->name,
      .task_id = task->task_id,
      .body = job->body,
      .body_len = job->body_len,
  };
}

static void complain_write(nt_complaint_t *c, nt_task_t *task, int err) {
  nt_stats_add(&task->stats, NT_STAT_SPOOL_ERRORS, 1);
  nt_complain(c, nt_now(), LOG_ERR,
              "spool: cannot write: %s: jobs stay in memory only",
              strerror(err));
}

/* The outcome of a write of the job's entry, with the lock held. */
static void written_locked(nt_spooler_t *sp, nt_job_t *job, int status) {
  job->spool_writing = false;
  if (status == 0 && !job->spool_file)
    nt_stats_add(&job->task->stats, NT_STAT_SPOOLED, 1);
  job->spool_file = job->spool_file || status == 0;
  pthread_cond_broadcast(&sp->written);
}

void nt_spooler_before_send(nt_spooler_t *sp, nt_job_t *job,
                            unsigned attempts) {
  pthread_mutex_lock(&sp->lock);
  claim(sp, job);
  job->spool_writing = true;
  pthread_mutex_unlock(&sp->lock);
  nt_spool_entry_t e = entry_of(job, attempts);
  int status = nt_spool_write(sp->spool, &e);
  if (status == 0)
    status = nt_spool_sync(sp->spool);
  /* Whatever entry is there (an older one, or this one not flushed) may
   * say fewer attempts than this request may spend: after a crash the job
   * could be sent past MaxAttempts. Without it the job lives in memory
   * only, like any job the spool cannot hold; one that cannot be removed
   * goes with the job, at least. */
  bool on_disk = true;
  if (status != 0) {
    complain_write(&sp->write_failed, job->task, status);
    on_disk = nt_spool_remove(sp->spool, job->seq) != 0;
  } else {
    nt_release(&sp->write_failed, LOG_NOTICE, "spool: writing again");
  }
  pthread_mutex_lock(&sp->lock);
  written_locked(sp, job, status);
  job->spool_file = on_disk;
  pthread_mutex_unlock(&sp->lock);
}

void nt_spooler_finish(nt_spooler_t *sp, nt_job_t *job) {
  pthread_mutex_lock(&sp->lock);
  claim(sp, job);
  bool on_disk = job->spool_file;
  pthread_mutex_unlock(&sp->lock);
  int err = on_disk ? nt_spool_remove(sp->spool, job->seq) : 0;
  if (err != 0) {
    complain_removal(sp, job->task, err);
    pthread_mutex_lock(&sp->lock);
    add_removal(sp, job->seq, job->task, true);
    pthread_mutex_unlock(&sp->lock);
  }
  free(job);
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
  pthread_mutex_unlock(&sp->lock);
  size_t kept = 0;
  for (size_t i = 0; i < num; i++) {
    int err = nt_spool_remove(sp->spool, list[i].seq);
    if (err == 0)
      continue;
    if (!list[i].counted)
      complain_removal(sp, list[i].task, err);
    list[i].counted = true;
    list[kept++] = list[i];
  }
  /* A removal undone by a power cut would send a finished job again. */
  if (kept < num)
    nt_spool_sync(sp->spool);
  pthread_mutex_lock(&sp->lock);
  for (size_t i = 0; i < kept; i++)
    add_removal(sp, list[i].seq, list[i].task, true);
  free(list);
}

/* Writes up to GROUP_COMMIT pending entries, one at a time: a job is marked
 * as being written only during its own write, so the sender never waits for
 * another job's. Called and returns with the lock held. */
static void write_pending(nt_spooler_t *sp) {
  size_t n = 0, lost = 0;
  int first_error = 0;
  while (sp->pending != NULL && n < GROUP_COMMIT) {
    if (sp->stopping && nt_now() >= sp->stop_at)
      break;
    n++;
    nt_job_t *job = sp->pending;
    unlink_pending(sp, job);
    job->spool_writing = true;
    job->spool_rewrite = false;
    nt_spool_entry_t e =
        entry_of(job, __atomic_load_n(&job->attempts, __ATOMIC_RELAXED));
    pthread_mutex_unlock(&sp->lock);
    int status = nt_spool_write(sp->spool, &e);
    if (status != 0)
      complain_write(&sp->write_failed, job->task, status);
    if (first_error == 0)
      first_error = status;
    pthread_mutex_lock(&sp->lock);
    written_locked(sp, job, status);
    if (job->spool_released) {
      if (job->spool_file && !add_removal(sp, job->seq, job->task, false))
        lost++;
      free(job);
    } else if (job->spool_rewrite && job->spool_file) {
      add_locked(sp, job);
    }
  }
  if (n == 0)
    return;
  pthread_mutex_unlock(&sp->lock);
  if (lost > 0)
    NT_ERROR("spool: out of memory: the entries of %zu finished job(s) stay "
             "on disk",
             lost);
  int status = nt_spool_sync(sp->spool);
  if (status != 0)
    nt_complain(&sp->write_failed, nt_now(), LOG_ERR,
                "spool: cannot flush the directory: %s: jobs stay in "
                "memory only",
                strerror(status));
  else if (first_error == 0)
    nt_release(&sp->write_failed, LOG_NOTICE, "spool: writing again");
  pthread_mutex_lock(&sp->lock);
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

static void *spooler_main(void *arg) {
  nt_spooler_t *sp = arg;
  int moved =
      nt_spool_load(sp->spool, sp->resume, report_corrupt, sp->resume_arg);
  if (moved < 0)
    NT_ERROR("spool: cannot read the directory: nothing resumed");
  sp->resume(NULL, sp->resume_arg);
  pthread_mutex_lock(&sp->lock);
  if (moved > 0)
    sp->corrupt += (uint64_t)moved;
  for (;;) {
    bool work = sp->pending != NULL || sp->removals_num > 0;
    if (!work && sp->stopping)
      break;
    if (!work) {
      nt_cond_wait_until(&sp->wake, &sp->lock, nt_now() + 3600);
      continue;
    }
    remove_entries(sp);
    write_pending(sp);
    if (sp->stopping) {
      if (sp->pending == NULL || nt_now() >= sp->stop_at) {
        /* Entries of jobs released during the last writes go too. */
        remove_entries(sp);
        break;
      }
    } else if (sp->pending == NULL) {
      /* Entries that could not be removed wait for the next batch, or a
       * second, rather than being tried again in a loop. */
      nt_cond_wait_until(&sp->wake, &sp->lock, nt_now() + 1.0);
    }
  }
  /* Whatever was not written stays in memory: nobody walks this list
   * again, the sender frees those jobs. */
  for (nt_job_t *job = sp->pending; job != NULL; job = job->spool_next)
    job->spool_pending = false;
  sp->pending = NULL;
  sp->pending_tail = &sp->pending;
  sp->running = false;
  pthread_cond_broadcast(&sp->done);
  pthread_mutex_unlock(&sp->lock);
  return NULL;
}

int nt_spooler_start(nt_spooler_t *sp, nt_spooler_thread_create_t create,
                     nt_spool_visit_t resume, void *arg) {
  sp->resume = resume;
  sp->resume_arg = arg;
  sp->running = true;
  int status = create(&sp->thread, spooler_main, sp, "theeye_spool");
  sp->started = status == 0;
  sp->running = status == 0;
  return status;
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
