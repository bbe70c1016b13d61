/* SPDX-License-Identifier: MIT
 *
 * Sliding windows of arrival times per subject: how Confirm counts the
 * notifications of a subject, and Budget and TaskBudget the jobs a Task
 * ran. Each is bounded and safe to use from several threads (one lock per
 * instance, never held while logging). */
#ifndef NT_WINDOWS_H
#define NT_WINDOWS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

typedef struct nt_windows_s nt_windows_t;

/* Confirm counts kept per Task, at most: one forgotten only delays the
 * action. */
#define NT_CONFIRM_CAPACITY 10000
/* Budget windows per Task, at most: as many as the subjects remembered. */
#define NT_BUDGET_CAPACITY 100000

/* Windows of n events within seconds, for at most capacity keys. The least
 * recently used is forgotten first, but a budget never forgets a window
 * that still holds events: when all are such, a new key is refused. */
nt_windows_t *nt_windows_create(unsigned n, double seconds, size_t capacity);
void nt_windows_free(nt_windows_t *w);

/* Confirm: records an event of key at now; true when it is the n-th within
 * the last seconds, and counting starts again. */
bool nt_windows_confirm(nt_windows_t *w, const char *key, size_t len,
                        double now);
/* Counting starts again for key (an OKAY for the subject). */
void nt_windows_reset(nt_windows_t *w, const char *key, size_t len);

/* Budget: true, and the event is recorded at now, when fewer than n were
 * within the last seconds. Otherwise false: *first tells whether it is the
 * first refusal since the last admission, *until when the next one will
 * be admitted (NAN when the key was refused because the table is full of
 * running windows). */
bool nt_windows_admit(nt_windows_t *w, const char *key, size_t len, double now,
                      bool *first, double *until);
/* Takes back an admission made at now, when no job came of it. */
void nt_windows_withdraw(nt_windows_t *w, const char *key, size_t len,
                         double now);

/* Whether an admission changed a window since the last save. */
bool nt_windows_changed(nt_windows_t *w);
/* Appends one line per key with events in its window: "PREFIX KEY
 * REFUSED T1 T2 ..." (the key in hexadecimal, the times on the wall clock:
 * the monotonic now is now_wall there). */
void nt_windows_save(nt_windows_t *w, const char *prefix, nt_buf_t *out,
                     double now, double now_wall);
/* Restores a key's window from the fields of its line (after the
 * prefix); -1 when they do not parse. */
int nt_windows_restore(nt_windows_t *w, const char *fields, double now,
                       double now_wall);

#endif
