#include "windows.h"
#include "table.h"

#include <pthread.h>
#include <stdlib.h>

/* The times of the last events of a key, oldest first, in a ring. */
typedef struct {
  unsigned head, count;
  bool refused; /* refused since the last admission */
  double times[];
} window_t;

struct nt_windows_s {
  pthread_mutex_t lock;
  unsigned n;
  double seconds;
  nt_table_t *table; /* of window_t */
};

nt_windows_t *nt_windows_create(unsigned n, double seconds, size_t capacity) {
  nt_windows_t *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return NULL;
  w->n = n;
  w->seconds = seconds;
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
  pthread_mutex_destroy(&w->lock);
  free(w);
}

/* The key's window with the events older than seconds before now gone;
 * created when absent (NULL when out of memory). With the lock held. */
static window_t *window_at(nt_windows_t *w, const char *key, size_t len,
                           double now) {
  window_t *win = nt_table_find(w->table, key, len);
  if (win == NULL)
    return nt_table_add(w->table, key, len);
  nt_table_touch(w->table, win);
  while (win->count > 0 && now - win->times[win->head] >= w->seconds) {
    win->head = (win->head + 1) % w->n;
    win->count--;
  }
  return win;
}

static void push(nt_windows_t *w, window_t *win, double now) {
  win->times[(win->head + win->count) % w->n] = now;
  win->count++;
}

bool nt_windows_confirm(nt_windows_t *w, const char *key, size_t len,
                        double now) {
  pthread_mutex_lock(&w->lock);
  window_t *win = window_at(w, key, len, now);
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
  window_t *win = window_at(w, key, len, now);
  bool admit = win == NULL || win->count < w->n;
  if (win != NULL && admit) {
    push(w, win, now);
    win->refused = false;
  } else if (win != NULL) {
    *first = !win->refused;
    *until = win->times[win->head] + w->seconds;
    win->refused = true;
  }
  pthread_mutex_unlock(&w->lock);
  return admit;
}

void nt_windows_withdraw(nt_windows_t *w, const char *key, size_t len,
                         double now) {
  pthread_mutex_lock(&w->lock);
  window_t *win = nt_table_find(w->table, key, len);
  if (win != NULL && win->count > 0 &&
      win->times[(win->head + win->count - 1) % w->n] == now)
    win->count--;
  pthread_mutex_unlock(&w->lock);
}
