/* SPDX-License-Identifier: MIT
 *
 * The jobs waiting for delivery: one line per supervisor, in arrival order,
 * bounded as a whole. Not thread-safe: the sender holds its lock around
 * every call. Every call costs O(1), or O(lanes + in flight), never the
 * queue's length (but for drain and each). */
#ifndef NT_QUEUE_H
#define NT_QUEUE_H

#include <stddef.h>

#include "job.h"

typedef struct nt_queue_s nt_queue_t;

/* At most limit jobs wait in all; at most per_lane of a lane are in flight
 * at once (Connections); tasks_num Tasks are counted apart. */
nt_queue_t *nt_queue_create(size_t limit, size_t lanes_num, size_t per_lane,
                            size_t tasks_num);
/* Frees the queue and every job still in it. */
void nt_queue_free(nt_queue_t *q);
/* lane shares with's per_lane slots from now on (two lines of jobs to one
 * supervisor: Tasks with PauseFiles of their own). Before any job. */
void nt_queue_share(nt_queue_t *q, size_t lane, size_t with);

/* Adds job to its lane in seq order: new jobs go last, jobs resumed from
 * the spool before them (but after any in flight). When more than limit
 * jobs wait, the oldest waiting one is unlinked and returned for the
 * caller to count and free. */
nt_job_t *nt_queue_push(nt_queue_t *q, nt_job_t *job);

/* Whether a sender that waits must look at the lane again for a job just
 * pushed to it: the lane has room, and the job may be taken at now, or the
 * lane's retry wait was not known to the sender (it had no job waiting). A
 * submitter need not wake a sender that is busy anyway. */
bool nt_queue_lane_open(const nt_queue_t *q, size_t lane, double now);

/* A lane whose next job is held (its Task is paused) waits with all its
 * jobs behind it, as for a retry; held is asked once per lane per take. */
void nt_queue_set_hold(nt_queue_t *q, bool (*held)(const nt_job_t *job));

/* The oldest waiting job whose lane has room for one more in flight and is
 * not waiting for a retry (nor held); marks it in flight. Jobs of one lane are
 * taken in their order. NULL when none: *next_due then holds the earliest time
 * a waiting lane opens (or a huge value). */
nt_job_t *nt_queue_take(nt_queue_t *q, double now, double *next_due);

/* The job in flight waits again, in its place; its lane, and every later
 * job of it, waits until not_before (or longer, if another failure asked
 * for that). */
void nt_queue_retry(nt_queue_t *q, nt_job_t *job, double not_before);

/* The job in flight is done with: unlinked (the caller frees it). Unless
 * a job of the lane waits for its retry, the lane opens. */
void nt_queue_remove(nt_queue_t *q, nt_job_t *job);

/* Unlinks the waiting jobs past their deadline from the front of each
 * lane, up to the first one still in time (deadlines rise along a lane:
 * jobs arrive in order and share one MaxAge); returns them as a list
 * chained by next. A job a few microseconds out of order expires at a
 * later pass. */
nt_job_t *nt_queue_expire(nt_queue_t *q, double now);

/* Asks visit about every job; unlinks the waiting ones it says go (a job
 * in flight stays: its owner settles it) and returns them as a list
 * chained by next. O(the queue): for the sender's thread, never per
 * notification. */
nt_job_t *nt_queue_cancel(nt_queue_t *q,
                          bool (*visit)(nt_job_t *job, void *arg), void *arg);

/* Unlinks every job (waiting or not); returns them as a list. */
nt_job_t *nt_queue_drain(nt_queue_t *q);

/* Calls visit for every job, in lane order; visit must not change the
 * queue. */
void nt_queue_each(nt_queue_t *q, void (*visit)(nt_job_t *job, void *arg),
                   void *arg);

size_t nt_queue_waiting(const nt_queue_t *q);
size_t nt_queue_in_flight(const nt_queue_t *q);
size_t nt_queue_limit(const nt_queue_t *q);
/* The Task's jobs not yet finished, those in flight included. */
size_t nt_queue_length_for(const nt_queue_t *q, size_t task_index);

#endif
