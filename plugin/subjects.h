/* SPDX-License-Identifier: MIT
 *
 * Subjects and episodes. A notification's subject is its identity without
 * severity (host, plugin, plugin instance, type, type instance); the plugin
 * remembers every subject it is notified of, whether a Task wants it or
 * not: its last severity and its current episode, which starts with the
 * first notification that is not OKAY after an OKAY (or the first ever)
 * and ends with the next OKAY. Bounded (the least recently seen subject is
 * forgotten first) and shared by collectd's threads under one lock that is
 * never held while logging. */
#ifndef NT_SUBJECTS_H
#define NT_SUBJECTS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#include "collectd.h"
#include "plugin.h"

#define NT_SUBJECTS_CAPACITY 100000
/* An episode's id: 16 lower-case hexadecimal digits. */
#define NT_EPISODE_LEN 16

typedef struct nt_subjects_s nt_subjects_t;

/* What a notification's subject was, as the notification arrived. */
typedef struct {
  /* Seen before in a state other than OKAY: an OKAY then ends an
   * incident rather than confirm that all is well. */
  bool seen_other;
  /* The episode the notification belongs to (an OKAY: the one it ends),
   * or "" (an OKAY without one). */
  char episode[NT_EPISODE_LEN + 1];
  uint64_t episode_id; /* the same id as a number; 0 with "" */
} nt_subject_info_t;

nt_subjects_t *nt_subjects_create(size_t capacity);
void nt_subjects_free(nt_subjects_t *s);

/* Records notification n, arrived at the wall-clock time now, and fills
 * info with what its subject was before it. */
void nt_subjects_note(nt_subjects_t *s, const notification_t *n, double now,
                      nt_subject_info_t *info);

/* Whether anything that must survive a restart changed since the last
 * save. */
bool nt_subjects_changed(nt_subjects_t *s);
/* Appends one line per subject once seen in another state than OKAY
 * ("s KEY SEEN_OTHER IN_EPISODE EPISODE_START", the key in hexadecimal),
 * the least recently seen first. */
void nt_subjects_save(nt_subjects_t *s, nt_buf_t *out);
/* Restores a subject from the fields of its line (after "s "); -1 when
 * they do not parse. */
int nt_subjects_restore(nt_subjects_t *s, const char *fields);

/* Subjects remembered, for tests. */
size_t nt_subjects_size(nt_subjects_t *s);
/* Whether the subject of key is OKAY now: its last notification was an
 * OKAY (false for a subject no longer remembered: nothing is known). */
bool nt_subjects_okay(nt_subjects_t *s, const char *key, size_t len);

#endif
