/* SPDX-License-Identifier: MIT */

#include "outcome.h"
#include "clock.h"
#include "log.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

static nt_outcome_t classify_status(const nt_http_result_t *r,
                                    nt_job_info_t *job) {
  long s = r->status;
  if (s >= 200 && s < 300) {
    nt_job_info_t info;
    nt_json_parse_job(r->body ? r->body : "", r->body_len, &info);
    if (job != NULL)
      *job = info;
    explicit_bzero(info.secret, sizeof(info.secret));
    if (!info.is_job)
      return NT_SENT_NO_JOB;
    return info.rejected ? NT_REJECTED : NT_SENT;
  }
  if (s >= 300 && s < 400)
    return NT_PERMANENT;
  if (s == 408)
    return NT_MAYBE_DELIVERED;
  if (s == 429 || s == 502 || s == 503)
    return NT_NOT_DELIVERED;
  if (s >= 400 && s < 500)
    return NT_PERMANENT;
  if (s >= 500 && s < 600)
    return NT_MAYBE_DELIVERED;
  return r->writes > 0 ? NT_MAYBE_DELIVERED : NT_NOT_DELIVERED;
}

nt_outcome_t nt_outcome_classify(const nt_http_result_t *r,
                                 nt_job_info_t *job) {
  CURLcode code = (CURLcode)r->curl_code;
  /* A 2xx status line came back before the failure: the job exists. */
  if (code == CURLE_OK || (r->status >= 200 && r->status < 300))
    return classify_status(r, job);
  if (code == CURLE_ABORTED_BY_CALLBACK)
    return NT_ABORTED;
  /* The proxy answered the CONNECT but opened no tunnel: the POST cannot
   * have gone through it. Only an earlier write of this exchange (on a
   * reused tunnel that died) may have reached the supervisor. */
  if (r->connect_status != 0 && r->connect_status / 100 != 2) {
    if (r->connect_status == 407)
      return NT_PERMANENT;
    return r->writes > 0 ? NT_MAYBE_DELIVERED : NT_NOT_DELIVERED;
  }
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
    /* After a write on a reused connection that died, libcurl's resend
     * could not connect: the first write may have been processed. */
    return r->writes > 0 ? NT_MAYBE_DELIVERED : NT_NOT_DELIVERED;
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_CRL_BADFILE:
    return NT_PERMANENT;
  case CURLE_GOT_NOTHING:
    return NT_MAYBE_DELIVERED; /* an empty reply: the request went out */
  default:
    /* Timeouts, resets and the rest: it depends on whether any byte of the
     * request reached the server. */
    return r->writes > 0 ? NT_MAYBE_DELIVERED : NT_NOT_DELIVERED;
  }
}

const char *nt_outcome_name(nt_outcome_t o) {
  switch (o) {
  case NT_SENT:
    return "sent";
  case NT_SENT_NO_JOB:
    return "sent without a job in the answer";
  case NT_REJECTED:
    return "rejected";
  case NT_PERMANENT:
    return "refused";
  case NT_NOT_DELIVERED:
    return "not delivered";
  case NT_MAYBE_DELIVERED:
    return "maybe delivered";
  case NT_ABORTED:
    return "aborted";
  }
  return "unknown";
}

unsigned nt_outcome_attempts(nt_outcome_t o, const nt_http_result_t *r) {
  /* Only an answer proves the last write was not processed; a failure to
   * connect proves nothing about the writes before it. */
  if (o == NT_NOT_DELIVERED && r->status > 0)
    return r->writes > 0 ? r->writes - 1 : 0;
  if (o == NT_MAYBE_DELIVERED && r->writes == 0)
    return 1; /* an empty reply was counted as written: be safe */
  return r->writes;
}

double nt_backoff_nominal(double interval, double max_interval,
                          unsigned tries) {
  double wait = interval;
  for (unsigned i = 1; i < tries && wait < max_interval; i++)
    wait *= 2;
  return wait < max_interval ? wait : max_interval;
}

double nt_backoff_jitter(double nominal, double u) {
  return nominal / 2 + u * (nominal / 2);
}

double nt_retry_after_parse(const char *value, time_t now) {
  while (isspace((unsigned char)*value))
    value++;
  if (*value == '\0')
    return -1;
  if (isdigit((unsigned char)*value)) {
    char *end;
    double seconds = strtod(value, &end);
    while (isspace((unsigned char)*end))
      end++;
    /* delay-seconds is a whole number; anything else is not this form. */
    if (*end == '\0' && strchr(value, '.') == NULL &&
        strpbrk(value, "eExX") == NULL)
      return seconds;
  }
  time_t when = curl_getdate(value, NULL);
  if (when == (time_t)-1)
    return -1;
  return when > now ? (double)(when - now) : 0;
}

double nt_retry_after_header(const char *line, size_t len, time_t now) {
  static const char name[] = "retry-after:";
  if (len < sizeof(name) - 1 || strncasecmp(line, name, sizeof(name) - 1))
    return NT_NOT_RETRY_AFTER;
  char value[128];
  size_t vlen = len - (sizeof(name) - 1);
  if (vlen >= sizeof(value))
    return -1; /* no valid delay-seconds or HTTP date is that long */
  memcpy(value, line + sizeof(name) - 1, vlen);
  value[vlen] = '\0';
  while (vlen > 0 && isspace((unsigned char)value[vlen - 1]))
    value[--vlen] = '\0';
  return nt_retry_after_parse(value, now);
}

/* What becomes of a job: counted, logged (secrets redacted), retried. */

/* plugin_log cuts every line here. */
#define LOG_LINE_MAX 1024
/* A server's message is cut to this many bytes once redacted. */
#define MESSAGE_MAX 200
/* Hexadecimal runs this long are secrets (a job's own is 64 digits). */
#define SECRET_HEX_RUN 32

/* What a server or libcurl said, fit for the log: every secret of the
 * configuration and any long run of hexadecimal digits (a job's own
 * secret) is overwritten before the text is cut short, so that no part of
 * one can straddle the cut. */
static void clean_message(const nt_config_t *cfg, char *msg) {
  for (size_t i = 0; i < cfg->secrets_num; i++)
    nt_redact(msg, cfg->secrets[i]);
  nt_redact_hex_runs(msg, SECRET_HEX_RUN);
  nt_cut(msg, MESSAGE_MAX);
}

/* A failed exchange in a few words ("HTTP 503", or libcurl's error),
 * cleaned. */
static void failure_message(const nt_config_t *cfg, const nt_http_result_t *r,
                            char *msg, size_t size) {
  if (r->status > 0)
    snprintf(msg, size, "HTTP %ld", r->status);
  else
    snprintf(msg, size, "%s", r->error);
  clean_message(cfg, msg);
}

/* A job's fields come from the answer too: an id is never a secret's
 * length, but an answer could claim anything. */
static void clean_job_info(nt_job_info_t *info) {
  nt_redact_hex_runs(info->id, SECRET_HEX_RUN);
  nt_redact_hex_runs(info->lifecycle, SECRET_HEX_RUN);
  nt_redact_hex_runs(info->state, SECRET_HEX_RUN);
}

/* The message of a refused answer (or libcurl's error), cleaned, in msg. */
static void refusal_message(const nt_config_t *cfg, const nt_http_result_t *r,
                            char *msg, size_t size) {
  if (r->status <= 0) {
    snprintf(msg, size, "%s", r->error);
    clean_message(cfg, msg);
    return;
  }
  /* The whole message first: cutting it before redacting could leave the
   * first digits of a secret in the log. */
  size_t full_size = r->body_len + 4;
  char *full = malloc(full_size);
  if (full == NULL) {
    snprintf(msg, size, "(message not shown: out of memory)");
    return;
  }
  nt_json_error_message(r->body != NULL ? r->body : "", r->body_len, full,
                        full_size);
  clean_message(cfg, full);
  snprintf(msg, size, "%s", full);
  free(full);
}

/* The DryRun line, also what collectd -T shows instead of sending. A body
 * (or a URL) too long for one log line is cut visibly, never by plugin_log. */
void nt_outcome_dry_run(const char *label, const nt_job_t *job) {
  const nt_task_t *task = job->task;
  char head[LOG_LINE_MAX];
  int n = snprintf(head, sizeof(head),
                   NT_LOG_PREFIX "%sTask \"%s\": DryRun: POST %s ", label,
                   task->name, task->redacted_url);
  if (n < 0)
    return;
  size_t used = (size_t)n < sizeof(head) ? (size_t)n : sizeof(head) - 1;
  size_t room = LOG_LINE_MAX - 1 - used; /* body bytes that fit */
  if (job->body_len <= room) {
    plugin_log(LOG_INFO, "%s%s", head, job->body);
    return;
  }
  char tail[64];
  snprintf(tail, sizeof(tail), "\xE2\x80\xA6 (cut: %zu bytes in all)",
           job->body_len);
  size_t tail_len = strlen(tail);
  size_t keep = room > tail_len ? room - tail_len : 0;
  if (keep == 0) /* the URL alone fills the line: cut it instead */
    used = LOG_LINE_MAX - 1 - tail_len;
  /* Cut on a character boundary, never inside a UTF-8 sequence. */
  while (keep > 0 && ((unsigned char)job->body[keep] & 0xC0) == 0x80)
    keep--;
  plugin_log(LOG_INFO, "%.*s%.*s%s", (int)used, head, (int)keep, job->body,
             tail);
}

/* Releases every outage complaint of the Task, in one line: it got
 * through. */
static void clear_complaints(nt_task_t *task) {
  bool outage = nt_complaint_reset(&task->complaints[NT_COMPLAINT_UNDELIVERED]);
  outage |= nt_complaint_reset(&task->complaints[NT_COMPLAINT_SERVER]);
  if (outage)
    NT_NOTICE("Task \"%s\": %s delivers again", task->name, task->eff.url);
}

/* A job was created: the next refusal, rejection or job given up is news
 * again, logged at once. */
static void forget_failures(nt_task_t *task) {
  static const nt_complaint_kind_t kinds[] = {
      NT_COMPLAINT_REFUSED, NT_COMPLAINT_REJECTED, NT_COMPLAINT_GAVE_UP};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
    nt_complaint_reset(&task->complaints[kinds[i]]);
}

void nt_outcome_expired(const nt_config_t *cfg, const nt_job_t *job,
                        double now) {
  nt_task_t *task = job->task;
  nt_stats_add(&task->stats, NT_STAT_EXPIRED, 1);
  nt_complain(&task->complaints[NT_COMPLAINT_EXPIRED], now, LOG_ERR,
              "Task \"%s\": a job %.0f s old would "
              "pass MaxAge (%g s) undelivered: expired, never sent",
              task->name, now - job->arrival, cfg->max_age);
}

static void count_gave_up(nt_task_t *task, const nt_job_t *job, const char *msg,
                          double now) {
  nt_stats_add(&task->stats, NT_STAT_FAILED, 1);
  nt_complain(&task->complaints[NT_COMPLAINT_GAVE_UP], now, LOG_ERR,
              "Task \"%s\": gave up on a job after %u attempts "
              "(MaxAttempts): last answer %s from %s",
              task->name, job->attempts, msg, task->eff.url);
}

double nt_retry_wait(const nt_config_t *cfg, const nt_http_result_t *r,
                     unsigned tries, double u) {
  /* The supervisor's word replaces the backoff, even beyond
   * MaxRetryInterval: spreading a fleet's returns is its call (it may
   * vary Retry-After from one answer to the next). */
  if (r->retry_after >= 0)
    return fmax(r->retry_after, cfg->retry_interval / 2);
  return nt_backoff_jitter(
      nt_backoff_nominal(cfg->retry_interval, cfg->max_retry_interval, tries),
      u);
}

double nt_outcome_settle(const nt_config_t *cfg, nt_job_t *job,
                         const nt_http_result_t *r, double now, double u) {
  nt_task_t *task = job->task;
  nt_job_info_t info = {0};
  nt_outcome_t o = nt_outcome_classify(r, &info);
  explicit_bzero(info.secret, sizeof(info.secret)); /* not needed here */
  char msg[sizeof(r->error)] = "";

  switch (o) {
  case NT_SENT:
    clean_job_info(&info);
    nt_stats_add(&task->stats, NT_STAT_SENT, 1);
    clear_complaints(task);
    forget_failures(task);
    NT_INFO("Task \"%s\": job %s created (lifecycle %s, state %s)", task->name,
            info.id, info.lifecycle, info.state);
    return NAN;
  case NT_SENT_NO_JOB:
    nt_stats_add(&task->stats, NT_STAT_SENT, 1);
    clear_complaints(task);
    nt_complain(&task->complaints[NT_COMPLAINT_NO_JOB], now, LOG_WARNING,
                "Task \"%s\": HTTP %ld without a job "
                "in the answer: counted sent",
                task->name, r->status);
    return NAN;
  case NT_REJECTED:
    clean_job_info(&info);
    nt_stats_add(&task->stats, NT_STAT_FAILED, 1);
    clear_complaints(task);
    nt_complain(&task->complaints[NT_COMPLAINT_REJECTED], now, LOG_ERR,
                "Task \"%s\": job %s was rejected at "
                "once (lifecycle %s, state %s): do the arguments fit the "
                "task? Not retried",
                task->name, info.id, info.lifecycle, info.state);
    return NAN;
  case NT_PERMANENT:
    nt_stats_add(&task->stats, NT_STAT_FAILED, 1);
    refusal_message(cfg, r, msg, sizeof(msg));
    nt_complain_about(&task->complaints[NT_COMPLAINT_REFUSED], r->status, now,
                      LOG_ERR,
                      "Task \"%s\": %s refused the job: "
                      "%s%.0ld%s%s: not retried",
                      task->name, task->eff.url, r->status ? "HTTP " : "",
                      r->status, r->status ? " " : "", msg);
    return NAN;
  case NT_ABORTED:
    __atomic_add_fetch(&job->attempts, r->writes, __ATOMIC_RELAXED);
    return now; /* left over: shutdown counts it */
  case NT_NOT_DELIVERED:
  case NT_MAYBE_DELIVERED:
    break;
  }

  /* Atomic: the spooler reads it to keep the entry up to date. */
  __atomic_add_fetch(&job->attempts, nt_outcome_attempts(o, r),
                     __ATOMIC_RELAXED);
  job->tries++;
  failure_message(cfg, r, msg, sizeof(msg));
  if (job->attempts >= cfg->max_attempts) {
    count_gave_up(task, job, msg, now);
    return NAN;
  }
  double wait = nt_retry_wait(cfg, r, job->tries, u);
  if (now + wait >= job->deadline) {
    nt_outcome_expired(cfg, job, now);
    return NAN;
  }
  nt_stats_add(&task->stats, NT_STAT_RETRIED, 1);
  nt_complain(&task->complaints[o == NT_NOT_DELIVERED ? NT_COMPLAINT_UNDELIVERED
                                                      : NT_COMPLAINT_SERVER],
              now, LOG_WARNING,
              "Task \"%s\": %s: %s (%s): retrying in "
              "%.1f s",
              task->name, task->eff.url, msg, nt_outcome_name(o), wait);
  return now + wait;
}

void nt_outcome_follow_failed(const nt_config_t *cfg, nt_task_t *task,
                              const char *job_id, const nt_http_result_t *r,
                              double wait, double now) {
  char msg[sizeof(r->error)];
  failure_message(cfg, r, msg, sizeof(msg));
  nt_complain(&task->complaints[NT_COMPLAINT_FOLLOW_FAILED], now, LOG_WARNING,
              "Task \"%s\": the result of job %s could not be read: %s: "
              "asking again in %.1f s",
              task->name, job_id, msg, wait);
}

void nt_outcome_follow_answered(nt_task_t *task) {
  nt_release(&task->complaints[NT_COMPLAINT_FOLLOW_FAILED], LOG_NOTICE,
             "Task \"%s\": job results can be read again", task->name);
}

void nt_outcome_spent(const nt_job_t *job, double now) {
  nt_task_t *task = job->task;
  nt_stats_add(&task->stats, NT_STAT_FAILED, 1);
  nt_complain(&task->complaints[NT_COMPLAINT_GAVE_UP], now, LOG_ERR,
              "Task \"%s\": gave up on a resumed job: its %u attempts "
              "(MaxAttempts) were spent before the restart",
              task->name, job->attempts);
}

void nt_outcome_dropped(const nt_job_t *job, size_t limit, double now) {
  nt_task_t *task = job->task;
  nt_stats_add(&task->stats, NT_STAT_DROPPED, 1);
  nt_complain(&task->complaints[NT_COMPLAINT_DROPPED], now, LOG_WARNING,
              "Task \"%s\": queue full (%zu jobs, QueueLimit or "
              "SpoolLimit): dropped the oldest waiting job",
              task->name, limit);
}

void nt_outcome_cancelled(const nt_config_t *cfg, const nt_job_t *jobs,
                          uint64_t episode, const char *name) {
  nt_buf_t tasks = NT_BUF_INIT; /* the Tasks named in the one line */
  unsigned named = 0, more = 0;
  uint64_t total = 0;
  /* The Tasks named in what a log line leaves beside the subject, the
   * count and " and K more". */
  size_t fixed = strlen(NT_LOG_PREFIX) + strlen(name) + 100;
  size_t room = fixed < LOG_LINE_MAX - 1 ? LOG_LINE_MAX - 1 - fixed : 0;
  for (size_t i = 0; jobs != NULL && i < cfg->tasks_num; i++) {
    nt_task_t *task = cfg->tasks[i];
    uint64_t n = 0;
    for (const nt_job_t *j = jobs; j != NULL; j = j->next)
      n += j->task == task && j->episode == episode;
    if (n == 0)
      continue;
    nt_stats_add(&task->stats, NT_STAT_CANCELLED, n);
    total += n;
    if (tasks.len + strlen(task->name) + 4 <= room)
      nt_buf_printf(&tasks, "%s\"%s\"", named > 0 ? ", " : "", task->name);
    else
      more++;
    named++;
  }
  if (more > 0)
    nt_buf_printf(&tasks, " and %u more", more);
  if (total > 0)
    NT_INFO("Task%s %s: %s is OKAY again: cancelled %" PRIu64
            " waiting job(s) for it",
            named > 1 ? "s" : "",
            tasks.failed || tasks.data == NULL ? "?" : tasks.data, name, total);
  nt_buf_free(&tasks);
}

void nt_outcome_cancelled_unqueued(nt_task_t *task) {
  nt_stats_add(&task->stats, NT_STAT_CANCELLED, 1);
  NT_INFO("Task \"%s\": cancelled a job as it was queued: its subject is "
          "OKAY again",
          task->name);
}

void nt_outcome_cancelled_later(const nt_job_t *job) {
  nt_stats_add(&job->task->stats, NT_STAT_CANCELLED, 1);
  NT_INFO("Task \"%s\": cancelled a job whose subject is OKAY again (it "
          "was on its way when the OKAY came, and did not get through)",
          job->task->name);
}

bool nt_outcome_would_retry(const nt_http_result_t *r) {
  nt_outcome_t o = nt_outcome_classify(r, NULL);
  return o == NT_NOT_DELIVERED || o == NT_MAYBE_DELIVERED || o == NT_ABORTED;
}

void nt_outcome_left(nt_task_t *task, uint64_t kept, uint64_t dropped,
                     bool spooling) {
  if (kept > 0)
    NT_INFO("Task \"%s\": shutting down with %" PRIu64
            " undelivered job(s): kept in SpoolDir for the next start",
            task->name, kept);
  if (dropped == 0)
    return;
  nt_stats_add(&task->stats, NT_STAT_DROPPED, dropped);
  NT_WARNING("Task \"%s\": shutting down with %" PRIu64
             " undelivered job(s): dropped%s",
             task->name, dropped,
             spooling ? " (those already in SpoolDir are resumed at the "
                        "next start)"
                      : "");
}
