#ifndef NT_CLOCK_H
#define NT_CLOCK_H

#include <time.h>

/* Monotonic seconds: every deadline (MaxAge, backoff, shutdown) is measured
 * on this clock so that a wall-clock jump neither expires nor revives jobs. */
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

#endif
