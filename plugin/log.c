#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#define COMPLAIN_FIRST_INTERVAL 10.0
#define COMPLAIN_MAX_INTERVAL 3600.0

void nt_complain(nt_complaint_t *c, double now, int level, const char *fmt,
                 ...) {
  if (c->interval > 0 && now < c->next) {
    c->skipped++;
    return;
  }
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (c->skipped > 0)
    NT_LOG(level, "%s (%u more since the last report)", msg, c->skipped);
  else
    NT_LOG(level, "%s", msg);
  c->interval = c->interval > 0 ? c->interval * 2 : COMPLAIN_FIRST_INTERVAL;
  if (c->interval > COMPLAIN_MAX_INTERVAL)
    c->interval = COMPLAIN_MAX_INTERVAL;
  c->next = now + c->interval;
  c->skipped = 0;
}

void nt_release(nt_complaint_t *c, int level, const char *fmt, ...) {
  if (c->interval == 0)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  NT_LOG(level, "%s", msg);
  *c = (nt_complaint_t){0};
}
