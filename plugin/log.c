/* SPDX-License-Identifier: MIT
 *
 * Log lines with the plugin's prefix, rate-limited complaints, and the
 * redaction of what a server says before it is logged. */
#include "log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define COMPLAIN_FIRST_INTERVAL 10.0
#define COMPLAIN_MAX_INTERVAL 3600.0

/* Guards every complaint's fields, so that any thread may complain; held
 * only to decide, never while a line is formatted or logged. */
static pthread_mutex_t complaints_lock = PTHREAD_MUTEX_INITIALIZER;

static void complain(nt_complaint_t *c, long key, double now, int level,
                     const char *fmt, va_list ap) {
  pthread_mutex_lock(&complaints_lock);
  /* The key's slot, else a free one, else the one due soonest. */
  size_t at = 0;
  for (size_t i = 0; i < NT_COMPLAINT_KEYS; i++) {
    if (c->keys[i].interval > 0 && c->keys[i].key == key) {
      at = i;
      break;
    }
    if (c->keys[at].interval > 0 &&
        (c->keys[i].interval == 0 || c->keys[i].next < c->keys[at].next))
      at = i;
  }
  nt_complaint_key_t *k = &c->keys[at];
  if (k->interval > 0 && k->key != key)
    k->interval = 0; /* taken over */
  bool quiet = k->interval > 0 && now < k->next;
  unsigned skipped = k->skipped;
  if (quiet) {
    k->skipped++;
  } else {
    k->interval = k->interval > 0 ? k->interval * 2 : COMPLAIN_FIRST_INTERVAL;
    if (k->interval > COMPLAIN_MAX_INTERVAL)
      k->interval = COMPLAIN_MAX_INTERVAL;
    k->next = now + k->interval;
    k->skipped = 0;
    k->key = key;
  }
  pthread_mutex_unlock(&complaints_lock);
  if (quiet)
    return;
  char msg[1024];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  if (skipped > 0)
    NT_LOG(level, "%s (%u more since the last report)", msg, skipped);
  else
    NT_LOG(level, "%s", msg);
}

void nt_complain(nt_complaint_t *c, double now, int level, const char *fmt,
                 ...) {
  va_list ap;
  va_start(ap, fmt);
  complain(c, 0, now, level, fmt, ap);
  va_end(ap);
}

void nt_complain_about(nt_complaint_t *c, long key, double now, int level,
                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  complain(c, key, now, level, fmt, ap);
  va_end(ap);
}

bool nt_complaint_reset(nt_complaint_t *c) {
  pthread_mutex_lock(&complaints_lock);
  bool was = false;
  for (size_t i = 0; i < NT_COMPLAINT_KEYS; i++)
    was |= c->keys[i].interval != 0;
  *c = (nt_complaint_t){0};
  pthread_mutex_unlock(&complaints_lock);
  return was;
}

void nt_release(nt_complaint_t *c, int level, const char *fmt, ...) {
  if (!nt_complaint_reset(c))
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  NT_LOG(level, "%s", msg);
}

void nt_redact(char *msg, const char *word) {
  size_t len = word != NULL ? strlen(word) : 0;
  /* Go on after each match: a word of '*' would be found again forever. */
  for (char *p = msg; len > 0 && (p = strstr(p, word)) != NULL; p += len)
    memset(p, '*', len);
}

void nt_redact_hex_runs(char *msg, size_t min) {
  size_t run = 0;
  for (char *p = msg;; p++) {
    if (*p != '\0' && isxdigit((unsigned char)*p)) {
      run++;
      continue;
    }
    if (run >= min)
      memset(p - run, '*', run);
    run = 0;
    if (*p == '\0')
      return;
  }
}

void nt_cut(char *msg, size_t max) {
  if (strlen(msg) <= max)
    return;
  size_t keep = max - 3;
  while (keep > 0 && ((unsigned char)msg[keep] & 0xC0) == 0x80)
    keep--;
  memcpy(msg + keep, "...", 4);
}
