/* Sliding windows of arrival times per subject: how Confirm counts the
 * notifications of a subject, and Budget and TaskBudget the jobs a Task
 * ran. Each is bounded and safe to use from several threads (one lock per
 * instance, never held while logging). */
#ifndef NT_WINDOWS_H
#define NT_WINDOWS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct nt_windows_s nt_windows_t;

/* Windows of n events within seconds, for at most capacity keys (the
 * least recently used is forgotten first). */
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
 * be admitted. */
bool nt_windows_admit(nt_windows_t *w, const char *key, size_t len, double now,
                      bool *first, double *until);
/* Takes back an admission made at now, when no job came of it. */
void nt_windows_withdraw(nt_windows_t *w, const char *key, size_t len,
                         double now);

#endif
