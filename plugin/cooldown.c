/* SPDX-License-Identifier: MIT
 *
 * Cooldown windows per notification identity, shared by collectd's threads
 * under one lock that is never held while logging. */
#include "cooldown.h"
#include "table.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  double start; /* of the window */
} window_t;

struct nt_cooldown_s {
  pthread_mutex_t lock;
  double seconds;
  size_t capacity;
  nt_table_t *windows; /* of window_t, oldest first */
};

nt_cooldown_t *nt_cooldown_create(double seconds, size_t capacity) {
  nt_cooldown_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->seconds = seconds;
  c->capacity = capacity;
  c->windows = nt_table_create(capacity, sizeof(window_t));
  if (c->windows == NULL) {
    free(c);
    return NULL;
  }
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

void nt_cooldown_free(nt_cooldown_t *c) {
  if (c == NULL)
    return;
  nt_table_free(c->windows);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* The subject and the severity. */
static size_t identity_key(const notification_t *n, char *key) {
  size_t len = nt_subject_key(n, key);
  key[len++] = (char)('0' + n->severity);
  return len;
}

bool nt_cooldown_admit(nt_cooldown_t *c, const notification_t *n, double now) {
  char key[NT_SUBJECT_KEY_MAX + 1];
  size_t len = identity_key(n, key);
  bool admit = true;

  pthread_mutex_lock(&c->lock);
  /* Windows that have closed are forgotten first: they suppress nothing. */
  window_t *w;
  while ((w = nt_table_oldest(c->windows)) != NULL &&
         now - w->start >= c->seconds)
    nt_table_remove(c->windows, w);
  if ((w = nt_table_find(c->windows, key, len)) != NULL) {
    /* Still open, unless it closed while out of start order (threads read
     * now before the lock): then it opens again. */
    admit = now - w->start >= c->seconds;
    if (admit) {
      w->start = now;
      nt_table_touch(c->windows, w);
    }
  } else if ((w = nt_table_add(c->windows, key, len)) != NULL) {
    /* When full, the table forgot the least recently touched window: the
     * one that started earliest, as only an admission touches one. */
    w->start = now;
  }
  /* Out of memory: admit without remembering rather than lose an alert. */
  pthread_mutex_unlock(&c->lock);
  return admit;
}

void nt_cooldown_withdraw(nt_cooldown_t *c, const notification_t *n,
                          double now) {
  char key[NT_SUBJECT_KEY_MAX + 1];
  size_t len = identity_key(n, key);
  pthread_mutex_lock(&c->lock);
  window_t *w = nt_table_find(c->windows, key, len);
  if (w != NULL && w->start == now)
    nt_table_remove(c->windows, w);
  pthread_mutex_unlock(&c->lock);
}

size_t nt_cooldown_size(nt_cooldown_t *c) {
  pthread_mutex_lock(&c->lock);
  size_t size = nt_table_size(c->windows);
  pthread_mutex_unlock(&c->lock);
  return size;
}
