/* SPDX-License-Identifier: MIT */

#include "subjects.h"
#include "table.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int64_t episode_start; /* microseconds of the wall clock; 0: none */
  bool in_episode;
  bool seen_other;
} subject_t;

struct nt_subjects_s {
  pthread_mutex_t lock;
  nt_table_t *table; /* of subject_t, least recently seen first */
  bool changed;      /* since the last save */
  nt_buf_t raw;      /* the last save's copy, kept: its pages are not faulted in
                        again under the lock (the save's thread only) */
};

nt_subjects_t *nt_subjects_create(size_t capacity) {
  nt_subjects_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->table = nt_table_create(capacity, sizeof(subject_t));
  if (s->table == NULL) {
    free(s);
    return NULL;
  }
  pthread_mutex_init(&s->lock, NULL);
  return s;
}

void nt_subjects_free(nt_subjects_t *s) {
  if (s == NULL)
    return;
  nt_table_free(s->table);
  nt_buf_free(&s->raw);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* splitmix64's finaliser: every bit of the input moves the result. */
static uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* The id of the subject's episode that started at start: the same for
 * every job of the incident, across Tasks and restarts; never 0. */
static void episode_id(const char *key, size_t len, int64_t start,
                       nt_subject_info_t *info) {
  uint64_t id = mix(nt_key_hash(key, len) ^ mix((uint64_t)start));
  info->episode_id = id != 0 ? id : 1;
  snprintf(info->episode, sizeof(info->episode), "%016" PRIx64,
           info->episode_id);
}

void nt_subjects_note(nt_subjects_t *s, const notification_t *n, double now,
                      nt_subject_info_t *info) {
  char key[NT_SUBJECT_KEY_MAX];
  size_t len = nt_subject_key(n, key);
  bool okay = n->severity == NOTIF_OKAY;
  int64_t now_us = (int64_t)(now * 1e6);
  *info = (nt_subject_info_t){0};

  pthread_mutex_lock(&s->lock);
  subject_t *sub = nt_table_find(s->table, key, len);
  if (sub != NULL)
    nt_table_touch(s->table, sub);
  else
    sub = nt_table_add(s->table, key, len);
  if (sub == NULL) {
    /* Out of memory: acted on as if first seen, rather than lost. */
    pthread_mutex_unlock(&s->lock);
    info->seen_other = okay;
    return;
  }
  info->seen_other = sub->seen_other;
  /* What a restart must not forget: a subject seen failing, its episode. */
  s->changed |= !okay ? !sub->in_episode : sub->in_episode;
  if (!okay && !sub->in_episode) {
    /* Two episodes of one subject never start at the same instant, so
     * never share an id, even if the clock went back. */
    sub->episode_start =
        now_us > sub->episode_start ? now_us : sub->episode_start + 1;
    sub->in_episode = true;
  }
  int64_t start = sub->in_episode ? sub->episode_start : 0;
  if (okay)
    sub->in_episode = false;
  else
    sub->seen_other = true;
  pthread_mutex_unlock(&s->lock);
  if (start != 0)
    episode_id(key, len, start, info);
}

bool nt_subjects_okay(nt_subjects_t *s, const char *key, size_t len) {
  pthread_mutex_lock(&s->lock);
  subject_t *sub = nt_table_find(s->table, key, len);
  bool okay = sub != NULL && !sub->in_episode;
  pthread_mutex_unlock(&s->lock);
  return okay;
}

size_t nt_subjects_size(nt_subjects_t *s) {
  pthread_mutex_lock(&s->lock);
  size_t size = nt_table_size(s->table);
  pthread_mutex_unlock(&s->lock);
  return size;
}

bool nt_subjects_changed(nt_subjects_t *s) {
  pthread_mutex_lock(&s->lock);
  bool changed = s->changed;
  pthread_mutex_unlock(&s->lock);
  return changed;
}

void nt_subjects_save(nt_subjects_t *s, nt_buf_t *out) {
  /* Copied under the lock, written out without it: collectd's threads
   * wait for a copy of the table, never for its formatting. */
  nt_buf_reset(&s->raw);
  pthread_mutex_lock(&s->lock);
  int status = nt_table_snapshot(s->table, &s->raw);
  s->changed = status != 0;
  pthread_mutex_unlock(&s->lock);
  if (status != 0)
    out->failed = 1; /* saved once there is memory */
  size_t pos = 0, len;
  const char *key;
  subject_t sub;
  while (status == 0 &&
         nt_table_snapshot_next(&s->raw, &pos, &key, &len, &sub, sizeof(sub))) {
    if (!sub.seen_other)
      continue; /* as good as forgotten */
    nt_buf_puts(out, "s ");
    nt_buf_hex(out, key, len);
    nt_buf_printf(out, " %d %d %" PRId64 "\n", sub.seen_other, sub.in_episode,
                  sub.episode_start);
  }
}

int nt_subjects_restore(nt_subjects_t *s, const char *fields) {
  char key[NT_SUBJECT_KEY_MAX];
  const char *gap = strchr(fields, ' ');
  int seen, in_episode;
  int64_t start;
  long len = gap != NULL
                 ? nt_unhex(fields, (size_t)(gap - fields), key, sizeof(key))
                 : -1;
  if (len <= 0 ||
      sscanf(gap, " %d %d %" SCNd64, &seen, &in_episode, &start) != 3 ||
      (seen != 0 && seen != 1) || (in_episode != 0 && in_episode != 1) ||
      start < 0 || start > INT64_MAX / 2) /* the next start adds one */
    return -1;
  pthread_mutex_lock(&s->lock);
  subject_t *sub = nt_table_find(s->table, key, (size_t)len);
  if (sub == NULL)
    sub = nt_table_add(s->table, key, (size_t)len);
  if (sub != NULL)
    *sub = (subject_t){
        .seen_other = seen, .in_episode = in_episode, .episode_start = start};
  pthread_mutex_unlock(&s->lock);
  return sub != NULL ? 0 : -1;
}
