/* SPDX-License-Identifier: MIT */

#include "stats.h"

const char *const nt_stat_names[NT_STATS_NUM] = {
    [NT_STAT_SENT] = "sent",
    [NT_STAT_FAILED] = "failed",
    [NT_STAT_RETRIED] = "retried",
    [NT_STAT_DROPPED] = "dropped",
    [NT_STAT_SUPPRESSED] = "suppressed",
    [NT_STAT_EXPIRED] = "expired",
    [NT_STAT_IGNORED_OKAY] = "ignored_okay",
    [NT_STAT_UNCONFIRMED] = "unconfirmed",
    [NT_STAT_OVER_BUDGET] = "over_budget",
    [NT_STAT_CANCELLED] = "cancelled",
    [NT_STAT_PAUSED] = "paused",
    [NT_STAT_SPOOLED] = "spooled",
    [NT_STAT_RESUMED] = "resumed",
    [NT_STAT_SPOOL_ERRORS] = "spool_errors",
    [NT_STAT_JOB_SUCCEEDED] = "job_succeeded",
    [NT_STAT_JOB_FAILED] = "job_failed",
    [NT_STAT_FOLLOW_TIMEOUT] = "follow_timeout",
    [NT_STAT_FOLLOW_ABANDONED] = "follow_abandoned",
    [NT_STAT_RESOLVED] = "resolved",
    [NT_STAT_UNRESOLVED] = "unresolved",
};
