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
 * every job of the incident, across Tasks and restarts. */
static void episode_id(const char *key, size_t len, int64_t start,
                       char out[NT_EPISODE_LEN + 1]) {
  uint64_t h = nt_key_hash(key, len);
  snprintf(out, NT_EPISODE_LEN + 1, "%016" PRIx64,
           mix(h ^ mix((uint64_t)start)));
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
    episode_id(key, len, start, info->episode);
}

size_t nt_subjects_size(nt_subjects_t *s) {
  pthread_mutex_lock(&s->lock);
  size_t size = nt_table_size(s->table);
  pthread_mutex_unlock(&s->lock);
  return size;
}
