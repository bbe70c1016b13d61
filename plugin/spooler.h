/* SPDX-License-Identifier: MIT
 *
 * The spooler: one thread that keeps the spool in step with the queue, so
 * that neither collectd's threads nor the sender wait on the disk for a
 * job they are not about to send. */
#ifndef NT_SPOOLER_H
#define NT_SPOOLER_H

#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "queue.h"
#include "spool.h"

typedef struct nt_spooler_s nt_spooler_t;

typedef int (*nt_spooler_thread_create_t)(pthread_t *thread,
                                          void *(*run)(void *), void *arg,
                                          const char *name);

/* Opens (creating, checking and locking) the directory; NULL with the
 * reason in err. cfg (its Tasks, MaxAge, MaxAttempts) outlives the
 * spooler. */
nt_spooler_t *nt_spooler_create(const char *dir, const nt_config_t *cfg,
                                char *err, size_t errlen);
/* Only once its thread has stopped (nt_spooler_stop returned 0). */
void nt_spooler_free(nt_spooler_t *sp);

/* Takes a job resumed from the spool (NULL once every entry was read);
 * returns -1, without taking it, when no more are wanted. */
typedef int (*nt_spooler_take_t)(nt_job_t *job, void *arg);

/* Starts the thread. It first resumes every entry left on disk whose Task
 * still exists with the same TaskID and that is younger than MaxAge, in
 * arrival order, handing each job to take (and dropping, counting and
 * logging the others), then calls take(NULL, arg) once, then writes and
 * removes entries as told, and calls ready(arg) when jobs the sender waits
 * for are ready (see nt_spooler_prepare). */
int nt_spooler_start(nt_spooler_t *sp, nt_spooler_thread_create_t create,
                     nt_spooler_take_t take, void (*ready)(void *arg),
                     void *arg);

/* Stops the reading of the spool at the next entry (shutdown): the rest
 * stays on disk for the next start. From any thread. */
void nt_spooler_interrupt(nt_spooler_t *sp);

/* The job is new, changed (attempts) or waits again: (re)write its entry
 * soon, with what it spent (see nt_spooler_prepare). */
void nt_spooler_add(nt_spooler_t *sp, nt_job_t *job);
/* The job is done with: its entry goes. Returns true when the caller frees
 * the job now, false when the spooler will (it is being written). */
bool nt_spooler_release(nt_spooler_t *sp, nt_job_t *job);
/* The sender is about to send the job: its entry must say at least
 * attempts (what the request may have spent once over) and be flushed
 * before the request is written, so that after a crash MaxAttempts still
 * holds. Returns true when it already does; otherwise the job is written
 * among the next batch, before any other, and comes back from
 * nt_spooler_prepared (also when the disk failed: the job then lives in
 * memory only). The sender owns the job all along. */
bool nt_spooler_prepare(nt_spooler_t *sp, nt_job_t *job, unsigned attempts);
/* The jobs made ready since the last call, chained by spool_next. */
nt_job_t *nt_spooler_prepared(nt_spooler_t *sp);

/* Writes what is pending and removes what was released until the monotonic
 * time until, then stops the thread. Returns 0 once it has stopped, or -1
 * when it is still busy (a disk that hangs): it is then left running, and
 * neither the spooler nor any job it may hold may be freed. */
int nt_spooler_stop(nt_spooler_t *sp, double until);

/* Whether the job's entry is on disk. */
bool nt_spooler_on_disk(nt_spooler_t *sp, const nt_job_t *job);

/* The highest seq of the entries on disk when it was created. */
uint64_t nt_spooler_max_seq(nt_spooler_t *sp);

/* Entries moved aside as corrupt since start. */
uint64_t nt_spooler_corrupt(nt_spooler_t *sp);

#endif
