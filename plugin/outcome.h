/* SPDX-License-Identifier: MIT
 *
 * What an answer means for a job (sent, refused, not or maybe delivered),
 * when to try again, and what becomes of the job: counted under its Task
 * and logged, every secret redacted. */
#ifndef NT_OUTCOME_H
#define NT_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "job.h"
#include "json.h"

/* What one HTTP exchange produced; filled by http.c. */
typedef struct {
  int curl_code;       /* CURLcode */
  long status;         /* HTTP status, 0 without an answer */
  long connect_status; /* a proxy's answer to CONNECT, 0 without a tunnel */
  unsigned writes;     /* times the POST was written (a CONNECT is not) */
  double retry_after;  /* seconds from the answer, < 0 when absent */
  char *body;          /* the response body, cut at a bound */
  size_t body_len;
  char error[512];   /* what went wrong, for the log */
  bool get;          /* a followed job's GET, not a job's POST */
  nt_job_info_t job; /* a GET's: the job in its whole answer */
} nt_http_result_t;

typedef enum {
  NT_SENT,          /* 2xx with a job */
  NT_SENT_NO_JOB,   /* 2xx without a job in it */
  NT_REJECTED,      /* 2xx, but the job was terminated at once */
  NT_PERMANENT,     /* never retried */
  NT_NOT_DELIVERED, /* the supervisor never processed it */
  NT_MAYBE_DELIVERED,
  NT_ABORTED, /* cut short by shutdown */
} nt_outcome_t;

/* For a 2xx, job (may be NULL) receives the parsed job. Through a proxy,
 * a tunnel refused (CONNECT answered with anything but 2xx) is "not
 * delivered", unless the POST went out earlier in the same exchange; a 407
 * is permanent: the Proxy option lacks valid credentials. */
nt_outcome_t nt_outcome_classify(const nt_http_result_t *r, nt_job_info_t *job);
const char *nt_outcome_name(nt_outcome_t o);

/* How many attempts (times the supervisor may have seen the job) an
 * exchange spent: every write of the POST, but for a "not delivered" HTTP
 * answer (429, 502, 503) the last one, which the supervisor is known not
 * to have processed. A write followed by a failed reconnect (libcurl's
 * resend) counts. At least one for "maybe delivered". */
unsigned nt_outcome_attempts(nt_outcome_t o, const nt_http_result_t *r);

/* min(interval * 2^(tries-1), max_interval): the nominal wait. */
double nt_backoff_nominal(double interval, double max_interval, unsigned tries);
/* Uniform in [nominal/2, nominal]; u is uniform in [0, 1). */
double nt_backoff_jitter(double nominal, double u);

/* The value of a Retry-After header: delay-seconds or an HTTP date, as
 * seconds from now (never negative). -1 when it does not parse. */
double nt_retry_after_parse(const char *value, time_t now);

/* One raw response header line (not NUL-terminated, CRLF included): the
 * Retry-After value as above, or NT_NOT_RETRY_AFTER for any other header. */
#define NT_NOT_RETRY_AFTER (-2.0)
double nt_retry_after_header(const char *line, size_t len, time_t now);

/* How long to wait before trying again after answer r, the tries-th
 * failure in a row: the supervisor's Retry-After as it says (but at least
 * half of RetryInterval), else the backoff with jitter u. */
double nt_retry_wait(const nt_config_t *cfg, const nt_http_result_t *r,
                     unsigned tries, double u);

/* Settles a job after one exchange r, at the monotonic time now: counts
 * and logs the outcome under the job's Task and adds the attempts it
 * spent. Returns when to retry it, or NAN when it is done with (sent,
 * failed, expired). u, uniform in [0, 1), draws the backoff's jitter. */
double nt_outcome_settle(const nt_config_t *cfg, nt_job_t *job,
                         const nt_http_result_t *r, double now, double u);
/* The job passed MaxAge undelivered. */
void nt_outcome_expired(const nt_config_t *cfg, const nt_job_t *job,
                        double now);
/* A job resumed from the spool had spent every attempt before the
 * restart. */
void nt_outcome_spent(const nt_job_t *job, double now);
/* The job was pushed out of a full queue of limit jobs. */
void nt_outcome_dropped(const nt_job_t *job, size_t limit, double now);
/* The DryRun line (label "collectd -T: " under a configuration check):
 * what would be sent, cut visibly to fit one log line. */
void nt_outcome_dry_run(const char *label, const nt_job_t *job);
/* The OKAY that ended an episode (of the subject named name) cancelled
 * jobs: those of jobs (a list chained by next) of that episode are counted
 * under their Tasks, with one INFO line naming them all. */
void nt_outcome_cancelled(const nt_config_t *cfg, const nt_job_t *jobs,
                          uint64_t episode, const char *name);
/* A job of an episode an OKAY had just ended was cancelled instead of
 * queued (its notification's thread made it while the OKAY came). */
void nt_outcome_cancelled_unqueued(nt_task_t *task);
/* A job in flight when its subject's OKAY came was cancelled once it was
 * back (rather than retried or written). */
void nt_outcome_cancelled_later(const nt_job_t *job);
/* A result request of the Task's follow of job_id failed (r): asked again
 * in wait seconds. Logged once, then rate-limited. */
void nt_outcome_follow_failed(const nt_config_t *cfg, nt_task_t *task,
                              const char *job_id, const nt_http_result_t *r,
                              double wait, double now);
/* The result route answered again after failures. */
void nt_outcome_follow_answered(nt_task_t *task);
/* Whether the exchange r would leave its job waiting for a retry. */
bool nt_outcome_would_retry(const nt_http_result_t *r);
/* At shutdown: the Task's undelivered jobs, kept on disk or dropped. */
void nt_outcome_left(nt_task_t *task, uint64_t kept, uint64_t dropped,
                     bool spooling);

#endif
