/* SPDX-License-Identifier: MIT */

#define _GNU_SOURCE /* strptime, timegm */
#include "pause.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct nt_pause_s {
  char *path;
  bool active;           /* read by any thread, atomically */
  bool present;          /* the file existed at the last look */
  bool outlived;         /* the WARNING for a time that passed was given */
  struct timespec mtime; /* of the file at the last look */
};

nt_pause_t *nt_pause_create(const char *path) {
  nt_pause_t *p = calloc(1, sizeof(*p));
  if (p == NULL || (p->path = strdup(path)) == NULL) {
    free(p);
    return NULL;
  }
  return p;
}

void nt_pause_free(nt_pause_t *p) {
  if (p == NULL)
    return;
  free(p->path);
  free(p);
}

const char *nt_pause_path(const nt_pause_t *p) { return p->path; }

bool nt_pause_active(const nt_pause_t *p) {
  return __atomic_load_n(&p->active, __ATOMIC_ACQUIRE);
}

/* "+HH:MM", "-HH:MM" or "Z" at s: the offset east of UTC in seconds. */
static int parse_zone(const char *s, long *offset) {
  if (strcmp(s, "Z") == 0 || strcmp(s, "z") == 0) {
    *offset = 0;
    return 0;
  }
  if ((s[0] != '+' && s[0] != '-') || !isdigit((unsigned char)s[1]) ||
      !isdigit((unsigned char)s[2]) || s[3] != ':' ||
      !isdigit((unsigned char)s[4]) || !isdigit((unsigned char)s[5]) ||
      s[6] != '\0')
    return -1;
  long h = (s[1] - '0') * 10 + (s[2] - '0');
  long m = (s[4] - '0') * 10 + (s[5] - '0');
  if (h > 23 || m > 59)
    return -1;
  *offset = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  return 0;
}

int nt_pause_parse_time(const char *line, double *until) {
  char buf[128];
  while (*line == ' ' || *line == '\t')
    line++;
  size_t len = strcspn(line, "\r\n");
  while (len > 0 && isspace((unsigned char)line[len - 1]))
    len--;
  if (len == 0)
    return 1;
  if (len >= sizeof(buf))
    return -1;
  memcpy(buf, line, len);
  buf[len] = '\0';
  /* Epoch seconds: digits, perhaps a fraction; nothing strtod would also
   * take (hexadecimal, exponents). */
  if (strspn(buf, "0123456789.") == len && isdigit((unsigned char)buf[0])) {
    char *end;
    errno = 0;
    double epoch = strtod(buf, &end);
    if (*end != '\0' || errno != 0 || !isfinite(epoch))
      return -1;
    *until = epoch;
    return 0;
  }
  /* RFC 3339 lets the date and the time be parted by "T", "t" or a space
   * (what `date --rfc-3339=seconds` writes). */
  if (len > 10 && (buf[10] == 't' || buf[10] == ' '))
    buf[10] = 'T';
  struct tm tm = {0};
  const char *rest = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == NULL)
    return -1;
  struct tm asked = tm;
  double fraction = 0;
  if (*rest == '.') {
    const char *digits = ++rest;
    for (double scale = 0.1; isdigit((unsigned char)*rest); scale /= 10)
      fraction += (*rest++ - '0') * scale;
    if (rest == digits)
      return -1;
  }
  long offset;
  if (parse_zone(rest, &offset) != 0)
    return -1;
  time_t t = timegm(&tm);
  /* A date that does not exist (February 30th) comes back another. */
  if (t == (time_t)-1 || tm.tm_mday != asked.tm_mday ||
      tm.tm_mon != asked.tm_mon || tm.tm_hour != asked.tm_hour ||
      tm.tm_min != asked.tm_min || tm.tm_sec != asked.tm_sec)
    return -1;
  *until = (double)t - (double)offset + fraction;
  return 0;
}

/* The first line of the file, or "" (an empty file); -1 when it cannot be
 * read. */
static int first_line(const char *path, char *line, size_t size) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, line, size - 1);
  close(fd);
  if (n < 0)
    return -1;
  line[n] = '\0';
  return 0;
}

void nt_pause_check(nt_pause_t *p, double now) {
  struct stat st;
  bool present = stat(p->path, &st) == 0;
  bool was_active = nt_pause_active(p);
  bool active = false;
  if (present) {
    bool changed = !p->present || st.st_mtim.tv_sec != p->mtime.tv_sec ||
                   st.st_mtim.tv_nsec != p->mtime.tv_nsec;
    if (changed)
      p->outlived = false; /* a new or rewritten file: a new verdict */
    p->mtime = st.st_mtim;
    char line[256] = "";
    double until = 0;
    int parsed =
        S_ISREG(st.st_mode) && first_line(p->path, line, sizeof(line)) == 0
            ? nt_pause_parse_time(line, &until)
            : 1;
    if (parsed < 0 && changed)
      NT_WARNING("PauseFile \"%s\": its first line is not a time (epoch "
                 "seconds or RFC 3339): paused until the file is removed",
                 p->path);
    active = parsed != 0 || now < until;
    if (parsed == 0 && now >= until && !p->outlived) {
      NT_WARNING("PauseFile \"%s\": the time in it has passed: not paused; "
                 "remove the file",
                 p->path);
      p->outlived = true;
    }
  }
  p->present = present;
  __atomic_store_n(&p->active, active, __ATOMIC_RELEASE);
  if (active && !was_active)
    NT_INFO("paused: PauseFile \"%s\" is there: nothing is queued or sent",
            p->path);
  else if (!active && was_active)
    NT_INFO("pause over (PauseFile \"%s\"): jobs are queued and sent again",
            p->path);
}
