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

#endif
