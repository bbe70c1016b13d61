/* SPDX-License-Identifier: MIT
 *
 * The job: one request to make for one Task, from the notification (or the
 * spool entry) it came of until it is done with. One type, built by one
 * function, for the queue, the sender and the spooler. */
#ifndef NT_JOB_H
#define NT_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct nt_task_s;

typedef struct nt_job_s {
  struct nt_job_s *next, *prev; /* in its lane */
  struct nt_task_s *task;       /* the Task it was made for */
  size_t task_index;            /* the Task's place in the configuration */
  size_t lane;                  /* the Task's supervisor */
  uint64_t seq;                 /* arrival order across lanes */
  /* The incident an OKAY cancels it for (CancelOnRecovery): its subject's
   * episode id; 0 for an OKAY's job, never cancelled. */
  uint64_t episode;
  double arrival;    /* monotonic seconds */
  double deadline;   /* arrival + MaxAge */
  unsigned attempts; /* times the supervisor may have seen it */
  unsigned tries;    /* failed tries, for the backoff */
  bool in_flight;
  bool retry_wait; /* waits in the queue for its retry */
  /* Its subject is OKAY again (CancelOnRecovery) while it was in flight:
   * not retried, not written (the sender's thread only). */
  bool cancel_pending;
  /* Taken, before its request is written (the sender's thread only). */
  struct nt_job_s *start_next;
  bool start_ready; /* its entry says the attempt about to be spent */
  /* Spool bookkeeping, guarded by the spooler's lock (spooler.c). */
  double arrival_wall; /* wall-clock arrival, kept on disk */
  struct nt_job_s *spool_next, *spool_prev; /* in one of its lists */
  unsigned spool_want;      /* attempts the next write puts on disk */
  unsigned spool_synced;    /* attempts the flushed entry says */
  unsigned spool_need;      /* the sender waits for an entry saying this many */
  unsigned char spool_list; /* which of the spooler's lists holds it */
  bool spool_file;          /* an entry for it is on disk */
  bool spool_writing;       /* its entry is being written now */
  bool spool_rewrite;       /* changed while being written */
  bool spool_released;      /* done with while being written: spooler frees */
  /* With FollowJob: host, plugin, plugin instance, type, type instance and
   * episode of its notification, each NUL-terminated, after the body in
   * the same allocation, to report the job's end; NULL for a job not to
   * be followed (an escalation's, one resumed from the spool). */
  const char *about;
  size_t body_len;
  char body[]; /* NUL-terminated */
} nt_job_t;

/* Bytes a buffer holds before a job's body (see nt_job_build). */
#define NT_JOB_HEAD offsetof(nt_job_t, body)

/* A job for task made of b, which holds NT_JOB_HEAD bytes of any value
 * then the body (so that a body is rendered straight into the job's one
 * allocation): arrived at the monotonic time arrival (wall-clock
 * arrival_wall), never to be sent max_age seconds later. Its seq is the
 * queue's business. b is emptied. NULL when out of memory. */
nt_job_t *nt_job_build(nt_buf_t *b, struct nt_task_s *task, double arrival,
                       double arrival_wall, double max_age);
/* Frees a list of jobs chained by next. */
void nt_jobs_free(nt_job_t *list);
/* The same with a copy of body. */
nt_job_t *nt_job_new(struct nt_task_s *task, const char *body, size_t body_len,
                     double arrival, double arrival_wall, double max_age);

#endif
