/* SPDX-License-Identifier: MIT
 *
 * Time, and waiting for it: every deadline (MaxAge, backoff, shutdown) is
 * measured on the monotonic clock so that a wall-clock jump neither expires
 * nor revives jobs. */
#ifndef NT_CLOCK_H
#define NT_CLOCK_H

#include <pthread.h>
#include <time.h>

/* Monotonic seconds. */
static inline double nt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall-clock seconds: only for what must survive a restart (the spool). */
static inline double nt_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A condition variable whose timed waits are on the monotonic clock. */
static inline int nt_cond_init(pthread_cond_t *cond) {
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0)
    return -1;
  int status = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (status == 0)
    status = pthread_cond_init(cond, &attr);
  pthread_condattr_destroy(&attr);
  return status == 0 ? 0 : -1;
}

/* Waits until signalled or until the monotonic time until (at most an hour
 * at a time: callers loop). */
static inline void nt_cond_wait_until(pthread_cond_t *cond,
                                      pthread_mutex_t *lock, double until) {
  double limit = nt_now() + 3600;
  if (!(until < limit))
    until = limit;
  struct timespec ts;
  ts.tv_sec = (time_t)until;
  ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
  if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
    ts.tv_nsec = 0;
  pthread_cond_timedwait(cond, lock, &ts);
}

#endif
