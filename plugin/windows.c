/* SPDX-License-Identifier: MIT */

#include "windows.h"
#include "table.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The times of the last events of a key, oldest first, in a ring. */
typedef struct {
  unsigned head, count;
  bool refused; /* refused since the last admission */
  double times[];
} window_t;

struct nt_windows_s {
  pthread_mutex_t lock;
  bool changed; /* an admission, refusal or withdrawal since the last save */
  size_t capacity;
  unsigned n;
  double seconds;
  nt_table_t *table; /* of window_t */
  nt_buf_t raw;      /* the last save's copy, kept: its pages are not faulted in
                        again under the lock (the save's thread only) */
};

nt_windows_t *nt_windows_create(unsigned n, double seconds, size_t capacity) {
  nt_windows_t *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return NULL;
  w->n = n;
  w->seconds = seconds;
  w->capacity = capacity;
  w->table = nt_table_create(capacity, sizeof(window_t) + n * sizeof(double));
  if (w->table == NULL) {
    free(w);
    return NULL;
  }
  pthread_mutex_init(&w->lock, NULL);
  return w;
}

void nt_windows_free(nt_windows_t *w) {
  if (w == NULL)
    return;
  nt_table_free(w->table);
  nt_buf_free(&w->raw);
  pthread_mutex_destroy(&w->lock);
  free(w);
}

static void expire(nt_windows_t *w, window_t *win, double now) {
  while (win->count > 0 && now - win->times[win->head] >= w->seconds) {
    win->head = (win->head + 1) % w->n;
    win->count--;
  }
}

/* The key's window with the events older than seconds before now gone;
 * created when absent. NULL when out of memory, or, with *full set, when
 * the table is full and its least recently used window still holds events:
 * forgetting it would give its key a budget back. With the lock held. */
static window_t *window_at(nt_windows_t *w, const char *key, size_t len,
                           double now, bool *full) {
  window_t *win = nt_table_find(w->table, key, len);
  if (win != NULL) {
    nt_table_touch(w->table, win);
    expire(w, win, now);
    return win;
  }
  window_t *oldest = nt_table_oldest(w->table);
  if (nt_table_size(w->table) >= w->capacity && oldest != NULL) {
    expire(w, oldest, now);
    *full = oldest->count > 0;
    if (*full)
      return NULL;
  }
  return nt_table_add(w->table, key, len);
}

static void push(nt_windows_t *w, window_t *win, double now) {
  win->times[(win->head + win->count) % w->n] = now;
  win->count++;
}

bool nt_windows_confirm(nt_windows_t *w, const char *key, size_t len,
                        double now) {
  pthread_mutex_lock(&w->lock);
  /* A count forgotten to make room only delays the action. */
  window_t *win = nt_table_find(w->table, key, len);
  if (win != NULL) {
    nt_table_touch(w->table, win);
    expire(w, win, now);
  } else {
    win = nt_table_add(w->table, key, len);
  }
  bool confirmed = true; /* out of memory: acted on rather than lost */
  if (win != NULL) {
    push(w, win, now);
    confirmed = win->count >= w->n;
    if (confirmed)
      win->count = 0;
  }
  pthread_mutex_unlock(&w->lock);
  return confirmed;
}

void nt_windows_reset(nt_windows_t *w, const char *key, size_t len) {
  pthread_mutex_lock(&w->lock);
  window_t *win = nt_table_find(w->table, key, len);
  if (win != NULL)
    nt_table_remove(w->table, win);
  pthread_mutex_unlock(&w->lock);
}

bool nt_windows_admit(nt_windows_t *w, const char *key, size_t len, double now,
                      bool *first, double *until) {
  pthread_mutex_lock(&w->lock);
  bool full = false;
  window_t *win = window_at(w, key, len, now, &full);
  /* Out of memory: admitted rather than lost; a full table refuses. */
  bool admit = win != NULL ? win->count < w->n : !full;
  if (win != NULL && admit) {
    push(w, win, now);
    win->refused = false;
    w->changed = true;
  } else if (win != NULL) {
    *first = !win->refused;
    *until = win->times[win->head] + w->seconds;
    w->changed |= !win->refused;
    win->refused = true;
  } else if (full) {
    *first = false; /* no run of refusals to report: no window to keep */
    *until = NAN;
  }
  pthread_mutex_unlock(&w->lock);
  return admit;
}

void nt_windows_withdraw(nt_windows_t *w, const char *key, size_t len,
                         double now) {
  pthread_mutex_lock(&w->lock);
  window_t *win = nt_table_find(w->table, key, len);
  /* Another thread may have pushed a later admission meanwhile: the
   * newest time that is now's goes, the later ones move down. */
  for (unsigned i = win != NULL ? win->count : 0; i-- > 0;) {
    if (win->times[(win->head + i) % w->n] != now)
      continue;
    for (; i + 1 < win->count; i++)
      win->times[(win->head + i) % w->n] =
          win->times[(win->head + i + 1) % w->n];
    win->count--;
    w->changed = true;
    break;
  }
  pthread_mutex_unlock(&w->lock);
}

bool nt_windows_changed(nt_windows_t *w) {
  pthread_mutex_lock(&w->lock);
  bool changed = w->changed;
  pthread_mutex_unlock(&w->lock);
  return changed;
}

void nt_windows_save(nt_windows_t *w, const char *prefix, nt_buf_t *out,
                     double now, double now_wall) {
  /* Copied under the lock, written out without it: collectd's threads
   * wait for a copy of the table, never for its formatting. */
  size_t size = sizeof(window_t) + w->n * sizeof(double);
  window_t *win = malloc(size);
  nt_buf_reset(&w->raw);
  pthread_mutex_lock(&w->lock);
  int status = win != NULL ? nt_table_snapshot(w->table, &w->raw) : -1;
  w->changed = status != 0;
  pthread_mutex_unlock(&w->lock);
  if (status != 0)
    out->failed = 1; /* saved once there is memory */
  size_t pos = 0, len;
  const char *key;
  while (status == 0 &&
         nt_table_snapshot_next(&w->raw, &pos, &key, &len, win, size)) {
    if (win->count == 0)
      continue;
    nt_buf_printf(out, "%s ", prefix);
    nt_buf_hex(out, key, len);
    nt_buf_printf(out, " %d", win->refused);
    for (unsigned i = 0; i < win->count; i++)
      nt_buf_printf(out, " %.6f",
                    win->times[(win->head + i) % w->n] + now_wall - now);
    nt_buf_puts(out, "\n");
  }
  free(win);
}

int nt_windows_restore(nt_windows_t *w, const char *fields, double now,
                       double now_wall) {
  char key[NT_SUBJECT_KEY_MAX];
  const char *gap = strchr(fields, ' ');
  long len = gap != NULL
                 ? nt_unhex(fields, (size_t)(gap - fields), key, sizeof(key))
                 : -1;
  int refused, used;
  if (len < 0 || sscanf(gap, " %d%n", &refused, &used) != 1 ||
      (refused != 0 && refused != 1))
    return -1;
  const char *p = gap + used;
  pthread_mutex_lock(&w->lock);
  window_t *win = nt_table_find(w->table, key, (size_t)len);
  if (win == NULL)
    win = nt_table_add(w->table, key, (size_t)len);
  int status = win != NULL ? 0 : -1;
  if (win != NULL) {
    win->head = win->count = 0;
    win->refused = refused;
    double wall;
    while (status == 0 && sscanf(p, " %lf%n", &wall, &used) == 1) {
      p += used;
      /* A time to come (the clock went back since, or a damaged file)
       * would hold the budget past its window: it counts as now. */
      if (!isfinite(wall)) {
        status = -1;
        break;
      }
      if (wall > now_wall)
        wall = now_wall;
      if (win->count == w->n) { /* N was larger before: the newest stay */
        win->head = (win->head + 1) % w->n;
        win->count--;
      }
      push(w, win, wall - now_wall + now);
    }
  }
  pthread_mutex_unlock(&w->lock);
  return status;
}
