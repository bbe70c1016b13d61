/* SPDX-License-Identifier: MIT */

#include "fake_collectd.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t fake_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char fake_lines[FAKE_LOG_LINES][FAKE_LOG_LINE_SIZE];
static int fake_levels[FAKE_LOG_LINES];
static size_t fake_count;

static const char *level_name(int level) {
  switch (level) {
  case LOG_ERR:
    return "ERROR";
  case LOG_WARNING:
    return "WARNING";
  case LOG_NOTICE:
    return "NOTICE";
  case LOG_INFO:
    return "INFO";
  case LOG_DEBUG:
    return "DEBUG";
  }
  return "?";
}

/* fake_log_hold: a line containing hold_needle waits until it is cleared,
 * so a test can hold a thread of the plugin inside plugin_log. */
static pthread_cond_t hold_changed = PTHREAD_COND_INITIALIZER;
static char hold_needle[256];

void fake_log_hold(const char *needle) {
  pthread_mutex_lock(&fake_log_lock);
  snprintf(hold_needle, sizeof(hold_needle), "%s", needle ? needle : "");
  pthread_cond_broadcast(&hold_changed);
  pthread_mutex_unlock(&fake_log_lock);
}

void plugin_log(int level, const char *format, ...) {
  char msg[FAKE_LOG_LINE_SIZE];
  va_list ap;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);

  pthread_mutex_lock(&fake_log_lock);
  while (hold_needle[0] != '\0' && strstr(msg, hold_needle) != NULL)
    pthread_cond_wait(&hold_changed, &fake_log_lock);
  if (fake_count < FAKE_LOG_LINES) {
    memcpy(fake_lines[fake_count], msg, sizeof(msg));
    fake_levels[fake_count] = level;
  }
  fake_count++;
  fprintf(stderr, "[%s] %s\n", level_name(level), msg);
  pthread_mutex_unlock(&fake_log_lock);
}

void fake_log_reset(void) {
  pthread_mutex_lock(&fake_log_lock);
  fake_count = 0;
  memset(fake_lines, 0, sizeof(fake_lines));
  pthread_mutex_unlock(&fake_log_lock);
}

size_t fake_log_count(void) {
  pthread_mutex_lock(&fake_log_lock);
  size_t n = fake_count;
  pthread_mutex_unlock(&fake_log_lock);
  return n;
}

/* The captured lines are never changed once written, until a reset, so the
 * pointer stays valid until then. */
const char *fake_log_line(size_t i) {
  pthread_mutex_lock(&fake_log_lock);
  const char *line =
      (i < fake_count && i < FAKE_LOG_LINES) ? fake_lines[i] : "";
  pthread_mutex_unlock(&fake_log_lock);
  return line;
}

int fake_log_level(size_t i) {
  pthread_mutex_lock(&fake_log_lock);
  int level = (i < fake_count && i < FAKE_LOG_LINES) ? fake_levels[i] : -1;
  pthread_mutex_unlock(&fake_log_lock);
  return level;
}

bool fake_log_contains(const char *needle) {
  bool found = false;
  pthread_mutex_lock(&fake_log_lock);
  for (size_t i = 0; !found && i < fake_count && i < FAKE_LOG_LINES; i++)
    found = strstr(fake_lines[i], needle) != NULL;
  pthread_mutex_unlock(&fake_log_lock);
  return found;
}

size_t fake_log_count_level(int level, const char *needle) {
  size_t n = 0;
  pthread_mutex_lock(&fake_log_lock);
  for (size_t i = 0; i < fake_count && i < FAKE_LOG_LINES; i++)
    n += fake_levels[i] == level &&
         (needle == NULL || strstr(fake_lines[i], needle) != NULL);
  pthread_mutex_unlock(&fake_log_lock);
  return n;
}
