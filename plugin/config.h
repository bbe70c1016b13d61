/* SPDX-License-Identifier: MIT
 *
 * The <Plugin notify_theeye> configuration: parsed and checked while
 * collectd reads its configuration, completed once all of it is read. */
#ifndef NT_CONFIG_H
#define NT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "match.h"
#include "stats.h"
#include "template.h"

#include "liboconfig/oconfig.h"

#include <curl/curl.h>

typedef enum { NT_CRED_NONE, NT_CRED_SECRET, NT_CRED_TOKEN } nt_cred_kind_t;

/* What a Task may override of the global settings. 0/NULL: inherit. */
typedef struct {
  char *url;
  char *customer;
  long timeout_ms;
  long connect_timeout_ms;
  char *pause_file;
} nt_endpoint_t;

typedef enum {
  NT_COMPLAINT_UNDELIVERED, /* supervisor unreachable or overloaded */
  NT_COMPLAINT_SERVER,      /* maybe delivered: 5xx, timeouts */
  NT_COMPLAINT_REFUSED,     /* permanent: 4xx, 3xx, TLS */
  NT_COMPLAINT_REJECTED,    /* 2xx with a terminated job */
  NT_COMPLAINT_NO_JOB,      /* 2xx without a job */
  NT_COMPLAINT_GAVE_UP,     /* MaxAttempts spent */
  NT_COMPLAINT_EXPIRED,
  NT_COMPLAINT_DROPPED,
  NT_COMPLAINT_BUDGETS_FULL,  /* the Budget table full of running windows */
  NT_COMPLAINT_NOT_FOLLOWED,  /* FollowJob: an answer without the secret */
  NT_COMPLAINT_FOLLOW_FAILED, /* FollowJob: a result request failed */
  NT_COMPLAINT_VERIFY_FULL,   /* Verify: no room for a window */
  NT_COMPLAINTS_NUM
} nt_complaint_kind_t;

typedef struct nt_cooldown_s nt_cooldown_t;
typedef struct nt_windows_s nt_windows_t;
typedef struct nt_pause_s nt_pause_t;

/* "N SECONDS": at most (or the N-th) N events within SECONDS. */
typedef struct {
  unsigned n;
  double seconds;
} nt_count_window_t;

typedef struct nt_task_s {
  char *name;
  char task_id[25];
  nt_cred_kind_t cred_kind;
  char *cred_option; /* which option set the credential, for messages */
  char *credential;  /* the secret (lower case) or the token */
  nt_match_t match;
  nt_template_t **args;
  size_t args_num;
  double cooldown;
  bool ignore_first_okay;
  bool cancel_on_recovery;
  bool follow_job;       /* FollowJob */
  double follow_timeout; /* FollowTimeout, seconds */
  double verify;         /* Verify, seconds; 0: off */
  /* Confirm K SECONDS, Budget N SECONDS, TaskBudget N SECONDS: 0 is off. */
  nt_count_window_t confirm, budget, task_budget;
  nt_endpoint_t own;

  /* Derived by nt_config_finalize. */
  nt_endpoint_t eff;  /* effective settings (pointers not owned) */
  char *request_url;  /* with the secret: never logged */
  char *redacted_url; /* the same with the secret replaced */
  struct curl_slist *headers;
  size_t index; /* in nt_config_t's tasks */
  size_t lane;  /* index of the supervisor (effective URL) */
  nt_cooldown_t *cooldowns;
  nt_windows_t *confirms, *budgets, *task_budgets; /* NULL when off */
  nt_pause_t *pause; /* of its effective PauseFile; NULL without one */
  struct nt_verify_s *verifies; /* NULL without Verify */

  /* Runtime state. */
  nt_stats_t stats;
  nt_complaint_t complaints[NT_COMPLAINTS_NUM]; /* under log.c's lock */
  /* Follows whose last result request failed (the sender's thread only):
   * results "can be read again" once none does. */
  unsigned follows_failing;
} nt_task_t;

typedef struct {
  char *url;
  char *customer;
  long timeout_ms;
  long connect_timeout_ms; /* 0: min(Timeout, 3000) */
  bool verify_peer;
  bool verify_host;
  char *cacert, *capath, *client_cert, *client_key, *client_key_pass;
  char *proxy;
  char **headers;
  size_t headers_num;
  size_t queue_limit;
  char *pause_file;
  size_t connections;  /* requests in flight at once per supervisor */
  size_t follow_limit; /* jobs followed at once, all Tasks together */
  unsigned max_attempts;
  double retry_interval;
  double max_retry_interval;
  double max_age;
  bool dry_run;
  char *spool_dir; /* NULL: jobs live in memory only */
  size_t spool_limit;
  bool check_only; /* collectd -T: nothing is sent or written */
  /* After finalize: every value that must never reach a log line (the
   * credentials, the proxy's and its password, ClientKeyPass, Header
   * values), to be redacted from what a server or libcurl says. */
  char **secrets;
  size_t secrets_num;

  nt_task_t **tasks;
  size_t tasks_num;
  struct nt_subjects_s *subjects; /* after finalize: every subject seen */
  nt_pause_t **pauses;            /* after finalize: each PauseFile once */
  size_t pauses_num;
  /* After finalize: a line of jobs per distinct effective (URL, PauseFile),
   * with the first Task of each; supervisors_num distinct URLs. */
  size_t lanes_num;
  struct nt_task_s **lane_tasks;
  size_t supervisors_num;
  bool blocks_seen; /* at least one <Plugin notify_theeye> block */
} nt_config_t;

void nt_config_init(nt_config_t *cfg);
/* One <Plugin notify_theeye> block. Logs one ERROR line per mistake and
 * returns -1 on the first one. */
int nt_config_block(nt_config_t *cfg, const oconfig_item_t *ci);
/* Once every block is read: effective settings, URLs, headers, lanes. */
int nt_config_finalize(nt_config_t *cfg);
void nt_config_free(nt_config_t *cfg);

/* URL-escapes s (RFC 3986 unreserved characters kept) onto out. */
int nt_url_escape(nt_buf_t *out, const char *s);

#endif
