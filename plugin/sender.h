/* SPDX-License-Identifier: MIT
 *
 * The sender: owns the queue and the one thread that does all network I/O,
 * applies the outcome of each exchange and counts it. */
#ifndef NT_SENDER_H
#define NT_SENDER_H

#include <pthread.h>

#include "config.h"
#include "events.h"
#include "notifier.h"
#include "queue.h"

typedef struct nt_sender_s nt_sender_t;

nt_sender_t *nt_sender_create(nt_config_t *cfg);
/* Frees the sender and any job left; the thread must have stopped. */
void nt_sender_free(nt_sender_t *s);

/* Queues a job; from any thread. When the queue overflows the oldest
 * waiting job is dropped and counted. Returns 0; -1, without taking the
 * job, once the sender is stopping; NT_SUBMIT_CANCELLED, without taking it,
 * when an OKAY already ended the job's episode (CancelOnRecovery). */
#define NT_SUBMIT_CANCELLED 1
int nt_sender_submit(nt_sender_t *s, nt_job_t *job);

/* Starts the thread; jobs submitted before then wait for it. */
int nt_sender_start(nt_sender_t *s, nt_thread_create_t create);

/* Lets the thread go on for up to grace seconds, aborts a request still in
 * flight at that deadline, then drops, counts and logs what is left, one
 * line per Task. Returns within grace plus a fraction of a second: 0, or
 * -1 when the thread did not stop and the sender must not be freed. */
int nt_sender_stop(nt_sender_t *s, double grace);

/* Before start: how the plugin's own notifications reach collectd (in a
 * thread of their own, started and stopped with the sender's). 0, or -1
 * when out of memory. */
int nt_sender_set_notifier(nt_sender_t *s, nt_deliver_t deliver, void *arg);
/* Queues an event for the sender's thread to hand to the notifier (never
 * from inside a notification callback: collectd's threads only queue);
 * from any thread; takes e. Dropped once stopping, under collectd -T, or
 * past a bound. */
void nt_sender_notify(nt_sender_t *s, nt_event_t *e);

/* An OKAY ended an episode (of the subject named name): the jobs of every
 * Task with CancelOnRecovery made for it and not yet seen by the
 * supervisor are cancelled (counted, one INFO line for them all), by the
 * sender's thread; from any thread. */
void nt_sender_cancel(nt_sender_t *s, uint64_t episode, const char *name);

/* Spool entries moved aside as corrupt (0 without SpoolDir). */
uint64_t nt_sender_spool_corrupt(nt_sender_t *s);

/* Jobs of the Task waiting for delivery. */
size_t nt_sender_queue_length(nt_sender_t *s, const nt_task_t *task);

#endif
