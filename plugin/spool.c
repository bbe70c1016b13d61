/* syncfs(2) */
#define _GNU_SOURCE

#include "spool.h"
#include "buf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Entry layout: a header of "key value" lines, the body, and a checksum of
 * everything before it, so a torn write is recognised:
 *
 *   notify_theeye spool 1\n
 *   seq 42\n  arrival 1764331200.123456\n  attempts 0\n
 *   task restart-nginx\n  body 57\n
 *   <57 bytes of body>\n
 *   crc32 1a2b3c4d\n
 */
#define MAGIC "notify_theeye spool 1\n"
#define MAX_ENTRY (16 * 1024 * 1024)

struct nt_spool_s {
  int dirfd;
  char *dir;
};

static uint32_t crc32(const char *data, size_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    crc ^= (unsigned char)data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
  }
  return ~crc;
}

char *nt_spool_encode(const nt_spool_entry_t *e, size_t *len) {
  nt_buf_t b = NT_BUF_INIT;
  nt_buf_printf(&b,
                MAGIC "seq %" PRIu64 "\narrival %.6f\nattempts %u\ntask %s\n"
                      "body %zu\n",
                e->seq, e->arrival, e->attempts, e->task, e->body_len);
  nt_buf_append(&b, e->body, e->body_len);
  nt_buf_puts(&b, "\n");
  if (b.failed) {
    nt_buf_free(&b);
    return NULL;
  }
  nt_buf_printf(&b, "crc32 %08" PRIx32 "\n", crc32(b.data, b.len));
  return nt_buf_steal(&b, len);
}

/* Reads "key value\n" at *p; returns the value (NUL-terminated in place). */
static char *header_line(char **p, char *end, const char *key) {
  size_t klen = strlen(key);
  char *nl = memchr(*p, '\n', (size_t)(end - *p));
  if (nl == NULL || (size_t)(nl - *p) <= klen || strncmp(*p, key, klen) != 0 ||
      (*p)[klen] != ' ')
    return NULL;
  *nl = '\0';
  char *value = *p + klen + 1;
  *p = nl + 1;
  return value;
}

static int parse_u64(const char *s, uint64_t *v) {
  char *end;
  if (s == NULL || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  unsigned long long n = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  *v = n;
  return 0;
}

int nt_spool_decode(char *data, size_t len, nt_spool_entry_t *e,
                    const char **why) {
  char *end = data + len;
  *why = "cut short or not an entry";
  /* The checksum line ends the entry: "crc32 xxxxxxxx\n" is 15 bytes. */
  if (len < sizeof(MAGIC) - 1 + 15 ||
      memcmp(data, MAGIC, sizeof(MAGIC) - 1) != 0 ||
      memcmp(end - 15, "crc32 ", 6) != 0 || end[-1] != '\n')
    return -1;
  char crc_text[9];
  memcpy(crc_text, end - 9, 8);
  crc_text[8] = '\0';
  char *crc_end;
  unsigned long want = strtoul(crc_text, &crc_end, 16);
  if (*crc_end != '\0' || crc32(data, len - 15) != (uint32_t)want) {
    *why = "checksum mismatch";
    return -1;
  }
  end -= 15;
  *why = "malformed header";
  char *p = data + sizeof(MAGIC) - 1;
  uint64_t seq, attempts, body_len;
  char *seq_s = header_line(&p, end, "seq");
  char *arrival_s = seq_s ? header_line(&p, end, "arrival") : NULL;
  char *attempts_s = arrival_s ? header_line(&p, end, "attempts") : NULL;
  char *task = attempts_s ? header_line(&p, end, "task") : NULL;
  char *body_s = task ? header_line(&p, end, "body") : NULL;
  if (body_s == NULL || parse_u64(seq_s, &seq) != 0 ||
      parse_u64(attempts_s, &attempts) != 0 || attempts > 1000000 ||
      parse_u64(body_s, &body_len) != 0 || task[0] == '\0')
    return -1;
  char *arrival_end;
  double arrival = strtod(arrival_s, &arrival_end);
  if (arrival_s[0] == '\0' || *arrival_end != '\0' || !isfinite(arrival) ||
      arrival < 0)
    return -1;
  if (body_len != (uint64_t)(end - p) - 1 || end[-1] != '\n') {
    *why = "body length mismatch";
    return -1;
  }
  *e = (nt_spool_entry_t){.seq = seq,
                          .arrival = arrival,
                          .attempts = (unsigned)attempts,
                          .task = task,
                          .body = p,
                          .body_len = (size_t)body_len};
  p[body_len] = '\0';
  return 0;
}

nt_spool_t *nt_spool_open(const char *dir, char *err, size_t errlen) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create \"%s\": %s", dir, strerror(errno));
    return NULL;
  }
  nt_spool_t *sp = calloc(1, sizeof(*sp));
  if (sp == NULL || (sp->dir = strdup(dir)) == NULL) {
    snprintf(err, errlen, "out of memory");
    free(sp);
    return NULL;
  }
  sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sp->dirfd < 0) {
    snprintf(err, errlen, "cannot open \"%s\": %s", dir, strerror(errno));
    free(sp->dir);
    free(sp);
    return NULL;
  }
  return sp;
}

void nt_spool_close(nt_spool_t *sp) {
  if (sp == NULL)
    return;
  close(sp->dirfd);
  free(sp->dir);
  free(sp);
}

static void entry_name(uint64_t seq, char *name, size_t size) {
  snprintf(name, size, "%020" PRIu64 ".job", seq);
}

int nt_spool_write(nt_spool_t *sp, const nt_spool_entry_t *e) {
  size_t len;
  char *data = nt_spool_encode(e, &len);
  if (data == NULL)
    return ENOMEM;
  char name[32], tmp[40];
  entry_name(e->seq, name, sizeof(name));
  snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
  int status = 0;
  int fd =
      openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    free(data);
    return errno;
  }
  for (size_t off = 0; off < len && status == 0;) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno != EINTR)
      status = errno;
    else if (n > 0)
      off += (size_t)n;
  }
  if (close(fd) != 0 && status == 0)
    status = errno;
  if (status == 0 && renameat(sp->dirfd, tmp, sp->dirfd, name) != 0)
    status = errno;
  if (status != 0)
    unlinkat(sp->dirfd, tmp, 0);
  free(data);
  return status;
}

uint64_t nt_spool_max_seq(nt_spool_t *sp) {
  uint64_t max = 0;
  int fd = dup(sp->dirfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    if (fd >= 0)
      close(fd);
    return 0;
  }
  rewinddir(d);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    char *end;
    uint64_t seq = strtoull(de->d_name, &end, 10);
    if (end != de->d_name && strcmp(end, ".job") == 0 && seq > max)
      max = seq;
  }
  closedir(d);
  return max;
}

int nt_spool_sync(nt_spool_t *sp) { return syncfs(sp->dirfd) == 0 ? 0 : errno; }

int nt_spool_remove(nt_spool_t *sp, uint64_t seq) {
  char name[32];
  entry_name(seq, name, sizeof(name));
  if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
    return errno;
  return 0;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Moves a bad entry aside: it is kept for a human to look at, never sent
 * and never read again. */
static void move_aside(nt_spool_t *sp, const char *name) {
  mkdirat(sp->dirfd, "corrupt", 0700);
  char dest[300];
  snprintf(dest, sizeof(dest), "corrupt/%s", name);
  if (renameat(sp->dirfd, name, sp->dirfd, dest) != 0)
    unlinkat(sp->dirfd, name, 0);
}

static int read_entry(nt_spool_t *sp, const char *name, char **data,
                      size_t *len) {
  int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size > MAX_ENTRY) {
    close(fd);
    return -1;
  }
  *data = malloc((size_t)st.st_size + 1);
  *len = 0;
  if (*data == NULL) {
    close(fd);
    return -1;
  }
  ssize_t n = 0;
  while (*len < (size_t)st.st_size &&
         (n = read(fd, *data + *len, (size_t)st.st_size - *len)) > 0)
    *len += (size_t)n;
  close(fd);
  if (n < 0) {
    free(*data);
    *data = NULL;
    return -1;
  }
  return 0;
}

int nt_spool_load(nt_spool_t *sp, nt_spool_visit_t visit, nt_spool_bad_t bad,
                  void *arg) {
  int fd = dup(sp->dirfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  rewinddir(d);
  char **names = NULL;
  size_t num = 0, size = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);
    if (de->d_name[0] == '.') {
      /* A temporary file is a write that never completed. */
      if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0)
        unlinkat(sp->dirfd, de->d_name, 0);
      continue;
    }
    if (len < 5 || strcmp(de->d_name + len - 4, ".job") != 0)
      continue;
    if (num == size) {
      size = size ? 2 * size : 64;
      char **more = realloc(names, size * sizeof(*names));
      if (more == NULL)
        break;
      names = more;
    }
    if ((names[num] = strdup(de->d_name)) != NULL)
      num++;
  }
  closedir(d);
  if (num > 1)
    qsort(names, num, sizeof(*names), compare_names);
  int moved = 0;
  for (size_t i = 0; i < num; i++) {
    char *data = NULL;
    size_t len = 0;
    nt_spool_entry_t e;
    const char *why = "unreadable";
    if (read_entry(sp, names[i], &data, &len) == 0 &&
        nt_spool_decode(data, len, &e, &why) == 0) {
      if (visit(&e, arg) != 0)
        unlinkat(sp->dirfd, names[i], 0);
    } else {
      move_aside(sp, names[i]);
      bad(names[i], why, arg);
      moved++;
    }
    free(data);
    free(names[i]);
  }
  free(names);
  return moved;
}
