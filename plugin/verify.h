/* SPDX-License-Identifier: MIT
 *
 * Verify SECONDS: after a job for a subject succeeded (FollowJob) or was
 * created (without), the subject's OKAY is expected within SECONDS: it
 * resolves the window ("resolved"), or the window runs out ("unresolved":
 * the remediation ran and did not fix the problem). One window per Task
 * and subject, restarted by each job; an OKAY resolves every window of
 * its subject. Opened and expired by the sender's thread, resolved in
 * collectd's: one lock, never held while logging or reporting. */
#ifndef NT_VERIFY_H
#define NT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "events.h"
#include "subjects.h"

typedef struct nt_verify_s nt_verify_t;

/* Windows open at once per Task, at most (as many as subjects). */
#define NT_VERIFY_CAPACITY 100000

nt_verify_t *nt_verify_create(double seconds, size_t capacity);
void nt_verify_free(nt_verify_t *v);

/* A window for the subject of a job's about (see nt_job_t) after job
 * job_id, from the monotonic time now. false when the table is full of
 * windows still open (none is forgotten to make room). */
bool nt_verify_open(nt_verify_t *v, const char *about, const char *job_id,
                    double now);

/* An OKAY for the subject key (nt_subject_key) at now: the event that
 * resolves its window (for task), or NULL when none was open. */
nt_event_t *nt_verify_resolve(nt_verify_t *v, const char *task, const char *key,
                              size_t len, double now);

/* After job job_id of task, for the subject of the job's about (see
 * nt_job_t): its window opens (or starts again). Should the subject be
 * OKAY as it opens (its OKAY came while the job ran), it is resolved at
 * once; one that failed again meanwhile waits for its next OKAY. Counted,
 * and reported through report; a window that finds no room is said once in
 * a while. */
void nt_verify_after_job(nt_task_t *task, nt_subjects_t *subjects,
                         const char *about, const char *job_id, double now,
                         void (*report)(nt_event_t *e, void *arg), void *arg);

/* The windows run out by now, as unresolved events (a list chained by
 * next), oldest first. */
nt_event_t *nt_verify_expire(nt_verify_t *v, const char *task, double now);

#endif
