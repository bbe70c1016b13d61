/* SPDX-License-Identifier: MIT
 *
 * A notification becomes jobs: its subject is remembered; for every Task
 * that matches it and that no guard holds back (IgnoreFirstOkay,
 * Cooldown), its arguments are rendered into a body and queued. This is
 * all the work done in collectd's thread. */
#ifndef NT_DISPATCH_H
#define NT_DISPATCH_H

#include "config.h"
#include "sender.h"

/* n->host must already be filled in. now is monotonic seconds. Returns the
 * number of jobs queued. */
int nt_dispatch(nt_config_t *cfg, nt_sender_t *s, const notification_t *n,
                double now);

/* Builds the job a Task makes of a notification of the subject's episode
 * (NULL when out of memory); exposed for tests. */
nt_job_t *nt_job_make(const nt_config_t *cfg, nt_task_t *task,
                      const notification_t *n, const char *episode,
                      bool followed, double now);

#endif
