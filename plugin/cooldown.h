/* SPDX-License-Identifier: MIT
 *
 * Cooldown: at most one job per notification identity and window. */
#ifndef NT_COOLDOWN_H
#define NT_COOLDOWN_H

#include <stdbool.h>
#include <stddef.h>

#include "collectd.h"
#include "plugin.h"

/* Identities (Cooldown) and subjects (Budget) with a window running, at
 * most, per Task: as many as the subjects remembered. */
#define NT_COOLDOWN_CAPACITY 100000

typedef struct nt_cooldown_s nt_cooldown_t;

nt_cooldown_t *nt_cooldown_create(double seconds, size_t capacity);
void nt_cooldown_free(nt_cooldown_t *c);

/* True when the notification's identity (host, plugin, plugin instance,
 * type, type instance, severity) has no open window: one opens at now.
 * False when it is suppressed; a suppressed match does not extend the
 * window. A new identity is suppressed too while capacity windows are
 * open: forgetting one would let its identity through at once. Safe to call
 * from several threads. */
bool nt_cooldown_admit(nt_cooldown_t *c, const notification_t *n, double now);

/* Takes back an admission made at now, when no job came of it (it could not
 * be queued): the window it opened would suppress the next alert for
 * nothing. */
void nt_cooldown_withdraw(nt_cooldown_t *c, const notification_t *n,
                          double now);

/* Whether capacity windows are open (a new identity is refused). */
bool nt_cooldown_full(nt_cooldown_t *c);
/* Identities remembered, for tests. */
size_t nt_cooldown_size(nt_cooldown_t *c);

#endif
