/* SPDX-License-Identifier: MIT
 *
 * Logging with the plugin's own prefix, and rate-limiting for failures that
 * repeat during an outage. */
#ifndef NT_LOG_H
#define NT_LOG_H

#include "collectd.h"
#include "plugin.h"

/* Written out explicitly: inside a notification callback collectd's P_*
 * macros would print the name of the plugin that raised the notification. */
#define NT_LOG_PREFIX "notify_theeye plugin: "
#define NT_LOG(level, ...) plugin_log(level, NT_LOG_PREFIX __VA_ARGS__)
#define NT_ERROR(...) NT_LOG(LOG_ERR, __VA_ARGS__)
#define NT_WARNING(...) NT_LOG(LOG_WARNING, __VA_ARGS__)
#define NT_NOTICE(...) NT_LOG(LOG_NOTICE, __VA_ARGS__)
#define NT_INFO(...) NT_LOG(LOG_INFO, __VA_ARGS__)
#define NT_DEBUG(...) NT_LOG(LOG_DEBUG, __VA_ARGS__)

/* One kind of failure of one Task, told apart by a key (an HTTP status;
 * 0 for kinds with none). Per key, the first occurrence is logged, then at
 * most one line per interval, the interval doubling up to an hour. A few
 * keys are followed at once; a new one takes the place of the one whose
 * next line is due soonest. */
#define NT_COMPLAINT_KEYS 4
typedef struct {
  long key;
  double next;      /* monotonic time from which the next line may go out */
  double interval;  /* 0: a free slot */
  unsigned skipped; /* occurrences not logged since the last line */
} nt_complaint_key_t;
typedef struct {
  nt_complaint_key_t keys[NT_COMPLAINT_KEYS];
} nt_complaint_t;

void nt_complain(nt_complaint_t *c, double now, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same for the failure of that key. */
void nt_complain_about(nt_complaint_t *c, long key, double now, int level,
                       const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Ends the complaint without a line; true if there was one. */
bool nt_complaint_reset(nt_complaint_t *c);
/* Logs the line (and resets) only if there was a complaint. */
void nt_release(nt_complaint_t *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Overwrites with '*' every occurrence of word in msg: a server or a proxy
 * may echo a credential back in what it answers. */
void nt_redact(char *msg, const char *word);
/* Overwrites with '*' every run of at least min hexadecimal digits: a job's
 * own secret, or a credential that is not ours to know. */
void nt_redact_hex_runs(char *msg, size_t min);
/* Cuts msg to at most max bytes (max > 3), on a UTF-8 character boundary,
 * ending it with "..." when anything was cut. */
void nt_cut(char *msg, size_t max);

#endif
