#include "spooler.h"
#include "clock.h"
#include "config.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct nt_spooler_s {
  nt_spool_t *spool;
  pthread_mutex_t lock; /* guards the jobs' spool_* fields and below */
  pthread_cond_t wake;
  pthread_cond_t written; /* a job's spool_writing went false */
  uint64_t max_seq;       /* on disk at creation */
  nt_job_t *pending, **pending_tail;
  uint64_t *removals; /* seqs of entries to remove */
  size_t removals_num, removals_size;
  bool started, stopping;
  pthread_t thread;
  nt_spool_visit_t resume;
  void *resume_arg;
  uint64_t corrupt;
  nt_complaint_t write_failed; /* spooler thread only */
};

nt_spooler_t *nt_spooler_create(const char *dir, char *err, size_t errlen) {
  nt_spooler_t *sp = calloc(1, sizeof(*sp));
  if (sp == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  sp->spool = nt_spool_open(dir, err, errlen);
  if (sp->spool == NULL) {
    free(sp);
    return NULL;
  }
  sp->max_seq = nt_spool_max_seq(sp->spool);
  sp->pending_tail = &sp->pending;
  pthread_mutex_init(&sp->lock, NULL);
  pthread_cond_init(&sp->wake, NULL);
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

static void add_removal(nt_spooler_t *sp, uint64_t seq) {
  if (sp->removals_num == sp->removals_size) {
    size_t size = sp->removals_size ? 2 * sp->removals_size : 64;
    uint64_t *more = realloc(sp->removals, size * sizeof(*more));
    if (more == NULL) {
      /* The entry stays: resent after a restart rather than lost. */
      NT_ERROR("spool: out of memory: an entry for a finished job stays");
      return;
    }
    sp->removals = more;
    sp->removals_size = size;
  }
  sp->removals[sp->removals_num++] = seq;
  pthread_cond_signal(&sp->wake);
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

bool nt_spooler_release(nt_spooler_t *sp, nt_job_t *job) {
  pthread_mutex_lock(&sp->lock);
  bool free_now = true;
  if (job->spool_writing) {
    job->spool_released = true;
    free_now = false;
  } else {
    unlink_pending(sp, job);
    if (job->spool_file)
      add_removal(sp, job->seq);
  }
  pthread_mutex_unlock(&sp->lock);
  return free_now;
}

/* Takes the job out of the spooler's hands: no write of it under way or
 * to come. Called with the lock held. */
static void claim(nt_spooler_t *sp, nt_job_t *job) {
  while (job->spool_writing)
    pthread_cond_wait(&sp->written, &sp->lock);
  unlink_pending(sp, job);
}

void nt_spooler_before_send(nt_spooler_t *sp, nt_job_t *job,
                            unsigned attempts) {
  pthread_mutex_lock(&sp->lock);
  claim(sp, job);
  job->spool_writing = true;
  pthread_mutex_unlock(&sp->lock);
  nt_task_t *task = job->task;
  nt_spool_entry_t e = {
      .seq = job->seq,
      .arrival = job->arrival_wall,
      .attempts = attempts,
      .task = task->name,
      .body = job->body,
      .body_len = job->body_len,
  };
  int status = nt_spool_write(sp->spool, &e);
  pthread_mutex_lock(&sp->lock);
  job->spool_writing = false;
  if (status == 0 && !job->spool_file)
    nt_stats_add(&task->stats, NT_STAT_SPOOLED, 1);
  job->spool_file = job->spool_file || status == 0;
  pthread_cond_broadcast(&sp->written);
  pthread_mutex_unlock(&sp->lock);
}

void nt_spooler_finish(nt_spooler_t *sp, nt_job_t *job) {
  pthread_mutex_lock(&sp->lock);
  claim(sp, job);
  bool on_disk = job->spool_file;
  pthread_mutex_unlock(&sp->lock);
  if (on_disk)
    nt_spool_remove(sp->spool, job->seq);
  free(job);
}

/* Writes a batch outside the lock; the jobs cannot go away meanwhile: a
 * release while spool_writing leaves the freeing to us. */
static void write_batch(nt_spooler_t *sp, nt_job_t *batch, uint64_t *removals,
                        size_t removals_num) {
  for (size_t i = 0; i < removals_num; i++)
    nt_spool_remove(sp->spool, removals[i]);
  int first_error = 0;
  for (nt_job_t *job = batch; job != NULL; job = job->spool_next) {
    nt_task_t *task = job->task;
    nt_spool_entry_t e = {
        .seq = job->seq,
        .arrival = job->arrival_wall,
        .attempts = __atomic_load_n(&job->attempts, __ATOMIC_RELAXED),
        .task = task->name,
        .body = job->body,
        .body_len = job->body_len,
    };
    job->spool_status = nt_spool_write(sp->spool, &e);
    if (job->spool_status != 0 && first_error == 0)
      first_error = job->spool_status;
  }
  if (batch != NULL && first_error == 0)
    first_error = nt_spool_sync(sp->spool);
  if (first_error != 0)
    nt_complain(&sp->write_failed, nt_now(), LOG_ERR,
                "spool: cannot write: %s: jobs stay in memory only",
                strerror(first_error));
  else if (batch != NULL)
    nt_release(&sp->write_failed, LOG_NOTICE, "spool: writing again");
}

static void report_corrupt(const char *name, const char *why, void *arg) {
  (void)arg;
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
    if (sp->pending == NULL && sp->removals_num == 0) {
      if (sp->stopping)
        break;
      pthread_cond_wait(&sp->wake, &sp->lock);
      continue;
    }
    nt_job_t *batch = sp->pending;
    sp->pending = NULL;
    sp->pending_tail = &sp->pending;
    for (nt_job_t *job = batch; job != NULL; job = job->spool_next) {
      job->spool_pending = false;
      job->spool_writing = true;
      job->spool_rewrite = false;
    }
    uint64_t *removals = sp->removals;
    size_t removals_num = sp->removals_num;
    sp->removals = NULL;
    sp->removals_num = sp->removals_size = 0;
    pthread_mutex_unlock(&sp->lock);
    write_batch(sp, batch, removals, removals_num);
    free(removals);
    pthread_mutex_lock(&sp->lock);
    pthread_cond_broadcast(&sp->written);
    while (batch != NULL) {
      nt_job_t *job = batch;
      batch = job->spool_next;
      job->spool_writing = false;
      if (job->spool_status == 0 && !job->spool_file)
        nt_stats_add(&((nt_task_t *)job->task)->stats, NT_STAT_SPOOLED, 1);
      job->spool_file = job->spool_file || job->spool_status == 0;
      if (job->spool_released) {
        if (job->spool_file)
          add_removal(sp, job->seq);
        free(job);
      } else if (job->spool_rewrite && job->spool_file) {
        job->spool_rewrite = false;
        add_locked(sp, job);
      }
    }
  }
  pthread_mutex_unlock(&sp->lock);
  return NULL;
}

int nt_spooler_start(nt_spooler_t *sp, nt_spooler_thread_create_t create,
                     nt_spool_visit_t resume, void *arg) {
  sp->resume = resume;
  sp->resume_arg = arg;
  int status = create(&sp->thread, spooler_main, sp, "theeye_spool");
  sp->started = status == 0;
  return status;
}

void nt_spooler_stop(nt_spooler_t *sp) {
  pthread_mutex_lock(&sp->lock);
  sp->stopping = true;
  pthread_cond_signal(&sp->wake);
  pthread_mutex_unlock(&sp->lock);
  if (sp->started)
    pthread_join(sp->thread, NULL);
  sp->started = false;
}

uint64_t nt_spooler_corrupt(nt_spooler_t *sp) {
  pthread_mutex_lock(&sp->lock);
  uint64_t n = sp->corrupt;
  pthread_mutex_unlock(&sp->lock);
  return n;
}

uint64_t nt_spooler_max_seq(nt_spooler_t *sp) { return sp->max_seq; }
