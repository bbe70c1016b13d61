/* SPDX-License-Identifier: MIT
 *
 * Cooldown: at most one job per notification identity and window. */
#ifndef NT_COOLDOWN_H
#define NT_COOLDOWN_H

#include <stdbool.h>
#include <stddef.h>

#include "collectd.h"
#include "plugin.h"

/* Identities remembered per Task, at most. */
#define NT_COOLDOWN_CAPACITY 10000

typedef struct nt_cooldown_s nt_cooldown_t;

nt_cooldown_t *nt_cooldown_create(double seconds, size_t capacity);
void nt_cooldown_free(nt_cooldown_t *c);

/* True when the notification's identity (host, plugin, plugin instance,
 * type, type instance, severity) has no open window: one opens at now.
 * False when it is suppressed; a suppressed match does not extend the
 * window. With capacity identities remembered, a new one makes the window
 * that started earliest forgotten. Safe to call from several threads. */
bool nt_cooldown_admit(nt_cooldown_t *c, const notification_t *n, double now);

/* Takes back an admission made at now, when no job came of it (it could not
 * be queued): the window it opened would suppress the next alert for
 * nothing. */
void nt_cooldown_withdraw(nt_cooldown_t *c, const notification_t *n,
                          double now);

/* Identities remembered, for tests. */
size_t nt_cooldown_size(nt_cooldown_t *c);

#endif
