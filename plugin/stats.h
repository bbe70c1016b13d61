/* SPDX-License-Identifier: MIT
 *
 * Per-Task counters, updated from collectd's threads and the sender, read
 * by the read callback. */
#ifndef NT_STATS_H
#define NT_STATS_H

#include <stdint.h>

typedef enum {
  NT_STAT_SENT,
  NT_STAT_FAILED,
  NT_STAT_RETRIED,
  NT_STAT_DROPPED,
  NT_STAT_SUPPRESSED,
  NT_STAT_EXPIRED,
  NT_STAT_IGNORED_OKAY,     /* IgnoreFirstOkay */
  NT_STAT_UNCONFIRMED,      /* Confirm */
  NT_STAT_OVER_BUDGET,      /* Budget, TaskBudget */
  NT_STAT_CANCELLED,        /* CancelOnRecovery */
  NT_STAT_PAUSED,           /* PauseFile */
  NT_STAT_SPOOLED,          /* with SpoolDir only: entries written */
  NT_STAT_RESUMED,          /* with SpoolDir only: jobs taken up at start */
  NT_STAT_SPOOL_ERRORS,     /* with SpoolDir only: writes, removals failed */
  NT_STAT_JOB_SUCCEEDED,    /* with FollowJob only: jobs followed to ... */
  NT_STAT_JOB_FAILED,       /* ... their end, and how it ended */
  NT_STAT_FOLLOW_TIMEOUT,   /* FollowTimeout passed */
  NT_STAT_FOLLOW_ABANDONED, /* the job gone, or FollowLimit */
  NT_STAT_RESOLVED,         /* with Verify only: the OKAY came in time */
  NT_STAT_UNRESOLVED,       /* ... or not */
  NT_STATS_NUM
} nt_stat_t;

typedef struct {
  uint64_t counters[NT_STATS_NUM];
} nt_stats_t;

static inline void nt_stats_add(nt_stats_t *s, nt_stat_t which, uint64_t n) {
  __atomic_add_fetch(&s->counters[which], n, __ATOMIC_RELAXED);
}

static inline uint64_t nt_stats_get(const nt_stats_t *s, nt_stat_t which) {
  return __atomic_load_n(&s->counters[which], __ATOMIC_RELAXED);
}

/* The type instance each counter is dispatched under. */
extern const char *const nt_stat_names[NT_STATS_NUM];

#endif
