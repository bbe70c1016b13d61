/* SPDX-License-Identifier: MIT
 *
 * FollowJob: each created job followed to its end through the supervisor's
 * result route, with the job's own secret from its creation answer:
 *   GET <URL>/job/<id>/secret/<job secret>/result?full&timeout=60
 * The supervisor holds the request until the job ends (or up to the
 * timeout); 200 is a success, 500 with the job a failure, 303 and 408 mean
 * "ask again" (at once), 404 that the job is gone; anything else is tried
 * again with the backoff of RetryInterval until FollowTimeout. The end is
 * logged, counted and reported as the plugin's own notification. Follows
 * run on the sender's multi handle beside the deliveries, never in a
 * delivery's place. The sender's thread only: no lock. */
#ifndef NT_FOLLOW_H
#define NT_FOLLOW_H

#include "config.h"
#include "events.h"
#include "http.h"
#include "job.h"
#include "json.h"

typedef struct nt_follows_s nt_follows_t;

/* Hands an event to the plugin's own notifications (takes it). */
typedef void (*nt_follow_report_t)(nt_event_t *e, void *arg);

/* Follows run their requests on h (a follow abandoned in flight has its
 * request cut). */
nt_follows_t *nt_follows_create(const nt_config_t *cfg, nt_http_t *h,
                                nt_follow_report_t report, void *arg);
/* Frees every follow; none may be in flight (the multi handle was
 * aborted and read, or freed). NULL is harmless. */
void nt_follows_free(nt_follows_t *fs);

/* job was created (answer info, at the monotonic time now): followed when
 * its Task says so, it has what its end is reported with (not an
 * escalation's, not one resumed from the spool), the supervisor did not
 * reject it and gave its secret. Past FollowLimit the oldest follow is
 * abandoned. */
void nt_follows_add(nt_follows_t *fs, const nt_job_t *job,
                    const nt_job_info_t *info, double now);

/* Starts the result requests that are due, ends the follows past their
 * FollowTimeout; *next_due (only lowered) gets the next time one is due. */
void nt_follows_run(nt_follows_t *fs, double now, double *next_due);

/* One result request ended (owner is what nt_follows_run gave http);
 * u, uniform in [0, 1), draws the backoff's jitter. */
void nt_follows_settle(nt_follows_t *fs, void *owner, const nt_http_result_t *r,
                       double now, double u);

/* Shutting down: a request that ends from now on (aborted) ends its follow
 * uncounted, and none starts. */
void nt_follows_stop(nt_follows_t *fs);

/* Follows under way, for tests and the stop. */
size_t nt_follows_num(const nt_follows_t *fs);

#endif
