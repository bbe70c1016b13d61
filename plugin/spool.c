/* SPDX-License-Identifier: MIT
 *
 * The spool's files: the entry format, the directory's trust rules and
 * lock, writing, removing and loading entries. Touches only SpoolDir. */
/* renameat2, strerror_r returning char * */
#define _GNU_SOURCE

#include "spool.h"
#include "buf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Entry layout (format version 3): a header of "key value" lines, the
 * body, and a checksum of everything before it, so a torn write is
 * recognised:
 *
 *   notify_theeye spool 3\n
 *   seq 42\n  arrival 1764331200.123456\n  attempts 0\n
 *   task restart-nginx\n  taskid 5f0c1a2b3c4d5e6f7a8b9c0d\n
 *   episode 0123456789abcdef\n  body 57\n
 *   <57 bytes of body>\n
 *   crc32 1a2b3c4d\n
 *
 * crc32 is zlib's CRC-32 of every byte before the "crc32 " line. Version 2
 * (1.0's) had no episode line: its entries are still resumed, but an OKAY
 * cannot tell which incident they are about, so it never cancels one.
 * Version 1 had no taskid line: without it an entry cannot be told apart
 * from one whose Task now points at another TaskID, so a version-1 entry
 * does not decode and is moved into corrupt/ like a damaged one (where a
 * human can still read it). */
#define MAGIC "notify_theeye spool 3\n"
#define MAGIC_V2 "notify_theeye spool 2\n"
#define MAGIC_V1 "notify_theeye spool 1\n"
#define MAGIC_LEN (sizeof(MAGIC) - 1) /* the same for every version */
#define CRC_LINE 15                   /* "crc32 xxxxxxxx\n" */
#define TASK_ID_LEN 24
#define MAX_ENTRY (16 * 1024 * 1024)
#define MAX_ATTEMPTS 1000000
#define CORRUPT "corrupt"
/* Copies of one name kept in corrupt/ (name, name.1, ... name.9) before
 * the oldest is replaced. */
#define CORRUPT_COPIES 10

struct nt_spool_s {
  int dirfd; /* holds the flock */
  /* In this open's temporary names: load removes the temporary files of
   * an earlier process, never one this process is writing right now. */
  char token[17];
};

/* ---- The format -------------------------------------------------------- */

uint32_t nt_crc32(const char *data, size_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    crc ^= (unsigned char)data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
  }
  return ~crc;
}

static bool is_task_id(const char *s) {
  if (s == NULL)
    return false;
  size_t i = 0;
  for (; s[i] != '\0'; i++)
    if (i >= TASK_ID_LEN ||
        !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
          (s[i] >= 'A' && s[i] <= 'F')))
      return false;
  return i == TASK_ID_LEN;
}

/* What decode would refuse must not be written: it would be moved aside
 * at the next start instead of resumed. */
static bool encodable(const nt_spool_entry_t *e) {
  return e->task != NULL && e->task[0] != '\0' &&
         strchr(e->task, '\n') == NULL && is_task_id(e->task_id) &&
         e->attempts <= MAX_ATTEMPTS && isfinite(e->arrival) &&
         e->arrival >= 0 && (e->body != NULL || e->body_len == 0);
}

char *nt_spool_encode(const nt_spool_entry_t *e, size_t *len) {
  if (!encodable(e))
    return NULL;
  nt_buf_t b = NT_BUF_INIT;
  nt_buf_printf(&b,
                MAGIC "seq %" PRIu64 "\narrival %.6f\nattempts %u\ntask %s\n"
                      "taskid %s\nepisode %016" PRIx64 "\nbody %zu\n",
                e->seq, e->arrival, e->attempts, e->task, e->task_id,
                e->episode, e->body_len);
  if (e->body_len > 0)
    nt_buf_append(&b, e->body, e->body_len);
  nt_buf_puts(&b, "\n");
  if (b.failed) {
    nt_buf_free(&b);
    return NULL;
  }
  nt_buf_printf(&b, "crc32 %08" PRIx32 "\n", nt_crc32(b.data, b.len));
  return nt_buf_steal(&b, len);
}

/* Reads "key value\n" at *p; returns the value (NUL-terminated in place),
 * or NULL when the line is not that key's or holds a NUL byte. */
static char *header_line(char **p, char *end, const char *key) {
  size_t klen = strlen(key);
  char *nl = memchr(*p, '\n', (size_t)(end - *p));
  if (nl == NULL || (size_t)(nl - *p) <= klen || strncmp(*p, key, klen) != 0 ||
      (*p)[klen] != ' ' || memchr(*p, '\0', (size_t)(nl - *p)) != NULL)
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

/* Exactly 16 lower-case hexadecimal digits, as encode writes them. */
static int parse_hex64(const char *s, uint64_t *v) {
  uint64_t n = 0;
  size_t i = 0;
  for (; s[i] != '\0'; i++) {
    int d = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
            : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                                         : -1;
    if (d < 0 || i >= 16)
      return -1;
    n = n << 4 | (uint64_t)d;
  }
  if (i != 16)
    return -1;
  *v = n;
  return 0;
}

int nt_spool_decode(char *data, size_t len, nt_spool_entry_t *e,
                    const char **why) {
  char *end = data + len;
  *why = "cut short or not an entry";
  if (len >= MAGIC_LEN && memcmp(data, MAGIC_V1, MAGIC_LEN) == 0) {
    *why = "format version 1, without the TaskID: not resumed";
    return -1;
  }
  /* The checksum line ends the entry. */
  if (len < MAGIC_LEN + CRC_LINE ||
      (memcmp(data, MAGIC, MAGIC_LEN) != 0 &&
       memcmp(data, MAGIC_V2, MAGIC_LEN) != 0) ||
      memcmp(end - CRC_LINE, "crc32 ", 6) != 0 || end[-1] != '\n')
    return -1;
  bool v2 = memcmp(data, MAGIC_V2, MAGIC_LEN) == 0;
  char crc_text[9];
  memcpy(crc_text, end - 9, 8);
  crc_text[8] = '\0';
  char *crc_end;
  unsigned long want = strtoul(crc_text, &crc_end, 16);
  if (*crc_end != '\0' || nt_crc32(data, len - CRC_LINE) != (uint32_t)want) {
    *why = "checksum mismatch";
    return -1;
  }
  end -= CRC_LINE;
  *why = "malformed header";
  char *p = data + MAGIC_LEN;
  uint64_t seq, attempts, body_len, episode = 0;
  char *seq_s = header_line(&p, end, "seq");
  char *arrival_s = seq_s ? header_line(&p, end, "arrival") : NULL;
  char *attempts_s = arrival_s ? header_line(&p, end, "attempts") : NULL;
  char *task = attempts_s ? header_line(&p, end, "task") : NULL;
  char *task_id = task ? header_line(&p, end, "taskid") : NULL;
  char *episode_s = task_id && !v2 ? header_line(&p, end, "episode") : NULL;
  char *body_s =
      task_id && (v2 || episode_s) ? header_line(&p, end, "body") : NULL;
  if (episode_s != NULL && parse_hex64(episode_s, &episode) != 0)
    return -1;
  if (body_s == NULL || parse_u64(seq_s, &seq) != 0 ||
      parse_u64(attempts_s, &attempts) != 0 || attempts > MAX_ATTEMPTS ||
      parse_u64(body_s, &body_len) != 0 || task[0] == '\0')
    return -1;
  char *arrival_end;
  double arrival = strtod(arrival_s, &arrival_end);
  if (arrival_s[0] == '\0' || *arrival_end != '\0' || !isfinite(arrival) ||
      arrival < 0)
    return -1;
  if (!is_task_id(task_id)) {
    *why = "malformed taskid";
    return -1;
  }
  if (body_len != (uint64_t)(end - p) - 1 || end[-1] != '\n') {
    *why = "body length mismatch";
    return -1;
  }
  *e = (nt_spool_entry_t){.seq = seq,
                          .arrival = arrival,
                          .attempts = (unsigned)attempts,
                          .task = task,
                          .task_id = task_id,
                          .episode = episode,
                          .body = p,
                          .body_len = (size_t)body_len};
  p[body_len] = '\0';
  return 0;
}

/* ---- The directory: trust rules and lock -------------------------------- */

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...) {
  if (err == NULL || errlen == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* strerror is not thread-safe, and the spooler and the sender both call
 * in here. */
static const char *errtext(int e, char *buf, size_t size) {
  return strerror_r(e, buf, size);
}

/* A trailing '/' makes lstat and O_NOFOLLOW resolve a final symbolic link:
 * "/x/" is checked as "/x". NULL when out of memory. */
static char *without_trailing_slash(const char *dir) {
  char *p = strdup(dir);
  if (p == NULL)
    return NULL;
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/')
    p[--n] = '\0';
  return p;
}

/* The trust rules, on what lstat or fstat said of dir. */
static int trusted(const char *dir, const struct stat *st, char *err,
                   size_t errlen) {
  if (S_ISLNK(st->st_mode)) {
    say(err, errlen, "\"%s\" is a symbolic link", dir);
    return -1;
  }
  if (!S_ISDIR(st->st_mode)) {
    say(err, errlen, "\"%s\" is not a directory", dir);
    return -1;
  }
  if (st->st_uid != geteuid()) {
    say(err, errlen,
        "\"%s\" is owned by uid %ju, not by collectd's user (uid %ju)", dir,
        (uintmax_t)st->st_uid, (uintmax_t)geteuid());
    return -1;
  }
  if ((st->st_mode & 077) != 0) {
    say(err, errlen,
        "\"%s\" is open to group or others (mode %04o): chmod 700 it", dir,
        (unsigned)(st->st_mode & 07777));
    return -1;
  }
  return 0;
}

/* Opens path (dir as the user wrote it) without following a final
 * symbolic link, and checks what was opened, not what the name pointed
 * at a moment before. The fd, or -1 with err set. */
static int open_trusted(const char *dir, const char *path, char *err,
                        size_t errlen) {
  char ebuf[128];
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    struct stat st;
    /* ELOOP or ENOTDIR: lstat names the reason in plain words. */
    if (lstat(path, &st) != 0 || trusted(dir, &st, err, errlen) == 0)
      say(err, errlen, "cannot open \"%s\": %s", dir,
          errtext(e, ebuf, sizeof(ebuf)));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    say(err, errlen, "cannot examine \"%s\": %s", dir,
        errtext(errno, ebuf, sizeof(ebuf)));
    close(fd);
    return -1;
  }
  if (trusted(dir, &st, err, errlen) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int nt_spool_check(const char *dir, char *err, size_t errlen) {
  char ebuf[128];
  char *path = without_trailing_slash(dir);
  if (path == NULL) {
    say(err, errlen, "out of memory");
    return -1;
  }
  int status = -1;
  struct stat st;
  if (lstat(path, &st) != 0) {
    /* ENOTDIR: some parent is not a directory; open's mkdir says so. */
    if (errno == ENOTDIR) {
      say(err, errlen, "cannot create \"%s\": %s", dir,
          errtext(errno, ebuf, sizeof(ebuf)));
      goto out;
    }
    if (errno != ENOENT) {
      say(err, errlen, "cannot examine \"%s\": %s", dir,
          errtext(errno, ebuf, sizeof(ebuf)));
      goto out;
    }
    /* Missing: open would create it, which needs its parent. */
    char *slash = strrchr(path, '/');
    if (slash == NULL)
      status = 0;
    else {
      if (slash == path)
        slash[1] = '\0';
      else
        *slash = '\0';
      if (stat(path, &st) != 0)
        say(err, errlen, "cannot create \"%s\": %s", dir,
            errtext(errno, ebuf, sizeof(ebuf)));
      else if (!S_ISDIR(st.st_mode))
        say(err, errlen, "cannot create \"%s\": %s", dir,
            errtext(ENOTDIR, ebuf, sizeof(ebuf)));
      else
        status = 0;
    }
    goto out;
  }
  if (trusted(dir, &st, err, errlen) != 0)
    goto out;
  int fd = open_trusted(dir, path, err, errlen);
  if (fd >= 0) {
    close(fd);
    status = 0;
  }
out:
  free(path);
  return status;
}

nt_spool_t *nt_spool_open(const char *dir, char *err, size_t errlen) {
  char ebuf[128];
  char *path = without_trailing_slash(dir);
  nt_spool_t *sp = calloc(1, sizeof(*sp));
  if (path == NULL || sp == NULL) {
    say(err, errlen, "out of memory");
    free(path);
    free(sp);
    return NULL;
  }
  sp->dirfd = -1;
  bool created = mkdir(path, 0700) == 0;
  if (!created && errno != EEXIST) {
    say(err, errlen, "cannot create \"%s\": %s", dir,
        errtext(errno, ebuf, sizeof(ebuf)));
    goto fail;
  }
  sp->dirfd = open_trusted(dir, path, err, errlen);
  if (sp->dirfd < 0)
    goto fail;
  /* A umask may have taken bits from mkdir's mode: 0700 exactly. */
  if (created && fchmod(sp->dirfd, 0700) != 0) {
    say(err, errlen, "cannot chmod \"%s\": %s", dir,
        errtext(errno, ebuf, sizeof(ebuf)));
    goto fail;
  }
  /* On the directory itself (see spool.h). Non-blocking: a second
   * collectd must fail its init, not hang in it. */
  if (flock(sp->dirfd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      say(err, errlen, "\"%s\" is in use by another collectd (locked)", dir);
    else
      say(err, errlen, "cannot lock \"%s\": %s", dir,
          errtext(errno, ebuf, sizeof(ebuf)));
    goto fail;
  }
  struct timespec ts = {0};
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
    ts.tv_nsec = 0; /* the pid and address still tell runs apart */
  uint64_t token = ((uint64_t)getpid() << 40) ^ (uint64_t)ts.tv_sec << 20 ^
                   (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)sp;
  snprintf(sp->token, sizeof(sp->token), "%016" PRIx64, token);
  free(path);
  return sp;
fail:
  if (sp->dirfd >= 0)
    close(sp->dirfd);
  free(sp);
  free(path);
  return NULL;
}

void nt_spool_close(nt_spool_t *sp) {
  if (sp == NULL)
    return;
  close(sp->dirfd);
  free(sp);
}

/* ---- Entries ----------------------------------------------------------- */

static void entry_name(uint64_t seq, char *name, size_t size) {
  snprintf(name, size, "%020" PRIu64 ".job", seq);
}

int nt_spool_temp_name(const nt_spool_t *sp, uint64_t seq, char *name,
                       size_t size) {
  return snprintf(name, size, ".%020" PRIu64 ".job.%s.tmp", seq, sp->token);
}

static bool is_temp_name(const char *name, size_t len) {
  return name[0] == '.' && len > 4 && strcmp(name + len - 4, ".tmp") == 0;
}

/* Whether a temporary name is one of this open spool's. */
static bool is_own_temp(const nt_spool_t *sp, const char *name, size_t len) {
  size_t tlen = strlen(sp->token);
  return len > tlen + 5 && name[len - tlen - 5] == '.' &&
         memcmp(name + len - tlen - 4, sp->token, tlen) == 0;
}

static int write_all(int fd, const char *data, size_t len) {
  for (size_t off = 0; off < len;) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno != EINTR)
      return errno;
    if (n > 0)
      off += (size_t)n;
  }
  return 0;
}

/* Writes a whole file under tmp, flushes it and renames it to name: after
 * a power cut the file is whole or absent (or torn, then its checksum
 * says so). */
static int put_file(nt_spool_t *sp, const char *name, const char *tmp,
                    const char *data, size_t len) {
  /* Created here and now, never through a link: O_EXCL fails on any name
   * that exists, a symbolic link included. Such a name is a leftover (or
   * planted): it is unlinked (the link itself, never what it points at)
   * and the creation tried once more. */
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat(sp->dirfd, tmp, flags, 0600);
  if (fd < 0 && errno == EEXIST && unlinkat(sp->dirfd, tmp, 0) == 0)
    fd = openat(sp->dirfd, tmp, flags, 0600);
  if (fd < 0)
    return errno;
  int status = write_all(fd, data, len);
  /* The data is on the disk before the name points at it. */
  if (status == 0 && fdatasync(fd) != 0)
    status = errno;
  if (close(fd) != 0 && status == 0)
    status = errno;
  if (status == 0 && renameat(sp->dirfd, tmp, sp->dirfd, name) != 0)
    status = errno;
  if (status != 0)
    unlinkat(sp->dirfd, tmp, 0);
  return status;
}

int nt_spool_write(nt_spool_t *sp, const nt_spool_entry_t *e) {
  if (!encodable(e))
    return EINVAL;
  size_t len;
  char *data = nt_spool_encode(e, &len);
  if (data == NULL)
    return ENOMEM;
  char name[32], tmp[64];
  entry_name(e->seq, name, sizeof(name));
  nt_spool_temp_name(sp, e->seq, tmp, sizeof(tmp));
  int status = put_file(sp, name, tmp, data, len);
  free(data);
  return status;
}

int nt_spool_put(nt_spool_t *sp, const char *name, const char *data,
                 size_t len) {
  char tmp[128];
  snprintf(tmp, sizeof(tmp), ".%s.%s.tmp", name, sp->token);
  int status = put_file(sp, name, tmp, data, len);
  if (status == 0)
    status = nt_spool_sync(sp);
  return status;
}

int nt_spool_sync(nt_spool_t *sp) { return fsync(sp->dirfd) == 0 ? 0 : errno; }

int nt_spool_remove(nt_spool_t *sp, uint64_t seq) {
  char name[32];
  entry_name(seq, name, sizeof(name));
  if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
    return errno;
  return 0;
}

/* A DIR of its own: a dup of dirfd would share its file offset with any
 * other reader of the directory. */
static DIR *open_listing(nt_spool_t *sp) {
  int fd = openat(sp->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  DIR *d = fdopendir(fd);
  if (d == NULL)
    close(fd);
  return d;
}

/* seq from a name written by entry_name, exactly: 20 digits and ".job". */
static bool parse_entry_name(const char *name, uint64_t *seq) {
  char canon[32];
  if (strlen(name) != 24 || strcmp(name + 20, ".job") != 0)
    return false;
  for (int i = 0; i < 20; i++)
    if (name[i] < '0' || name[i] > '9')
      return false;
  errno = 0;
  unsigned long long n = strtoull(name, NULL, 10);
  if (errno != 0)
    return false;
  entry_name(n, canon, sizeof(canon));
  if (strcmp(canon, name) != 0)
    return false;
  *seq = n;
  return true;
}

uint64_t nt_spool_max_seq(nt_spool_t *sp) {
  uint64_t max = 0;
  DIR *d = open_listing(sp);
  if (d == NULL)
    return 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    uint64_t seq;
    if (parse_entry_name(de->d_name, &seq) && seq > max)
      max = seq;
  }
  closedir(d);
  return max;
}

/* ---- Loading ----------------------------------------------------------- */

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t from, size_t num) {
  for (size_t i = from; i < num; i++)
    free(names[i]);
  free(names);
}

/* The entries' names, sorted (20-digit names sort as their seqs do);
 * removes other processes' temporary files on the way. -1 when the
 * directory cannot be read or memory runs out. */
static int list_entries(nt_spool_t *sp, char ***out, size_t *out_num) {
  DIR *d = open_listing(sp);
  if (d == NULL)
    return -1;
  char **names = NULL;
  size_t num = 0, size = 0;
  int status = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (de == NULL) {
      status = errno != 0 ? -1 : 0;
      break;
    }
    size_t len = strlen(de->d_name);
    if (de->d_name[0] == '.') {
      /* A write that never completed: the job was not on disk yet. One of
       * this process's may be under way in another thread. unlinkat
       * removes a link, never what it points at. */
      if (is_temp_name(de->d_name, len) && !is_own_temp(sp, de->d_name, len))
        unlinkat(sp->dirfd, de->d_name, 0);
      continue;
    }
    if (len < 5 || strcmp(de->d_name + len - 4, ".job") != 0)
      continue;
    if (num == size) {
      size_t more_size = size ? 2 * size : 64;
      char **more = realloc(names, more_size * sizeof(*names));
      if (more == NULL) {
        status = -1;
        break;
      }
      names = more;
      size = more_size;
    }
    if ((names[num] = strdup(de->d_name)) == NULL) {
      status = -1;
      break;
    }
    num++;
  }
  closedir(d);
  if (status != 0) {
    free_names(names, 0, num);
    return -1;
  }
  if (num > 1)
    qsort(names, num, sizeof(*names), compare_names);
  *out = names;
  *out_num = num;
  return 0;
}

/* Reads a whole entry. 0; 1 when it vanished meanwhile (nothing to move);
 * -1 with why set when it is not an entry; -2 with why set when it could
 * not be read this time (no file descriptor, no memory, an I/O error), to
 * be left where it is. Opened without following a link and without blocking
 * (a FIFO has no writer), and read only if it is a regular file. */
static int read_entry(nt_spool_t *sp, const char *name, size_t max, char **data,
                      size_t *len, const char **why, char *whybuf,
                      size_t whysize) {
  char ebuf[128];
  *data = NULL;
  int fd = openat(sp->dirfd, name,
                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT)
      return 1;
    if (errno == ELOOP)
      *why = "a symbolic link, not followed";
    else if (errno == ENXIO) /* a socket */
      *why = "not a regular file";
    else {
      snprintf(whybuf, whysize, "cannot be opened: %s",
               errtext(errno, ebuf, sizeof(ebuf)));
      *why = whybuf;
      return -2;
    }
    return -1;
  }
  struct stat st;
  int status = -1;
  if (fstat(fd, &st) != 0) {
    snprintf(whybuf, whysize, "cannot be examined: %s",
             errtext(errno, ebuf, sizeof(ebuf)));
    *why = whybuf;
    status = -2;
  } else if (!S_ISREG(st.st_mode)) {
    *why = "not a regular file";
  } else if ((uint64_t)st.st_size > max) {
    *why = "too large to be an entry";
  } else if ((*data = malloc((size_t)st.st_size + 1)) == NULL) {
    *why = "out of memory";
    status = -2;
  } else {
    *len = 0;
    status = 0;
    while (*len < (size_t)st.st_size) {
      ssize_t n = read(fd, *data + *len, (size_t)st.st_size - *len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        snprintf(whybuf, whysize, "cannot be read: %s",
                 errtext(errno, ebuf, sizeof(ebuf)));
        *why = whybuf;
        status = -2;
        break;
      }
      if (n == 0)
        break; /* shorter than fstat said: decode will notice */
      *len += (size_t)n;
    }
  }
  close(fd);
  if (status != 0) {
    free(*data);
    *data = NULL;
  }
  return status;
}

/* corrupt/, opened once per load when first needed: created 0700, never
 * followed if it is a symbolic link, used only if it is a directory of
 * ours. */
typedef struct {
  int fd;         /* -2: not tried yet; -1: unusable, see why */
  bool untrusted; /* a link, not a directory, another's: delete instead */
  char why[160];
} corrupt_t;

static int corrupt_fd(nt_spool_t *sp, corrupt_t *c) {
  char ebuf[128];
  if (c->fd != -2)
    return c->fd;
  c->fd = -1;
  if (mkdirat(sp->dirfd, CORRUPT, 0700) != 0 && errno != EEXIST) {
    snprintf(c->why, sizeof(c->why), CORRUPT "/ cannot be created: %s",
             errtext(errno, ebuf, sizeof(ebuf)));
    return -1;
  }
  int fd = openat(sp->dirfd, CORRUPT,
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0) {
    /* O_DIRECTORY|O_NOFOLLOW on a link fails with ENOTDIR or ELOOP. */
    int e = errno;
    if ((e == ELOOP || e == ENOTDIR) &&
        fstatat(sp->dirfd, CORRUPT, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      snprintf(c->why, sizeof(c->why), CORRUPT "/ is %s",
               S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
      c->untrusted = true;
    } else {
      snprintf(c->why, sizeof(c->why), CORRUPT "/ cannot be opened: %s",
               errtext(e, ebuf, sizeof(ebuf)));
    }
  } else if (fstat(fd, &st) != 0 || st.st_uid != geteuid()) {
    snprintf(c->why, sizeof(c->why), CORRUPT "/ is owned by another user");
    c->untrusted = true;
    close(fd);
  } else {
    c->fd = fd;
  }
  return c->fd;
}

/* Moves a bad entry into corrupt/, for a human to look at: never sent and
 * never read again. An earlier entry of the same name already there is
 * kept (up to CORRUPT_COPIES of them). 0, or an errno value. */
static int move_to_corrupt(nt_spool_t *sp, int cfd, const char *name) {
  char dest[300];
  for (int i = 0; i < CORRUPT_COPIES; i++) {
    if (i == 0)
      snprintf(dest, sizeof(dest), "%s", name);
    else
      snprintf(dest, sizeof(dest), "%s.%d", name, i);
    if (renameat2(sp->dirfd, name, cfd, dest, RENAME_NOREPLACE) == 0)
      return 0;
    if (errno == EINVAL || errno == ENOSYS)
      break; /* a file system without RENAME_NOREPLACE */
    if (errno != EEXIST)
      return errno;
  }
  return renameat(sp->dirfd, name, cfd, name) == 0 ? 0 : errno;
}

/* Sets a bad entry aside: into corrupt/, else deleted when corrupt/
 * cannot be trusted (so that it never blocks a load again), else left in
 * place: a passing failure (no file descriptor, no memory) must not cost a
 * job. Reports it to bad; returns whether it was moved or deleted. */
static bool set_aside(nt_spool_t *sp, corrupt_t *c, const char *name,
                      const char *why, nt_spool_bad_t bad, void *arg) {
  char ebuf[128], reason[160], full[400];
  int cfd = corrupt_fd(sp, c);
  int e = cfd >= 0 ? move_to_corrupt(sp, cfd, name) : -1;
  if (e == ENOENT)
    return false; /* gone meanwhile: nothing to report */
  if (e == 0) {
    bad(name, why, arg);
    return true;
  }
  snprintf(reason, sizeof(reason), "%s",
           e < 0 ? c->why : errtext(e, ebuf, sizeof(ebuf)));
  bool deleted =
      e < 0 && c->untrusted &&
      (unlinkat(sp->dirfd, name, 0) == 0 ||
       (errno == EISDIR && unlinkat(sp->dirfd, name, AT_REMOVEDIR) == 0));
  snprintf(full, sizeof(full), "%s; %s: %s", why,
           deleted ? "deleted" : "left in place", reason);
  bad(name, full, arg);
  return deleted;
}

int nt_spool_load(nt_spool_t *sp, nt_spool_visit_t visit, nt_spool_bad_t bad,
                  void *arg) {
  char **names = NULL;
  size_t num = 0;
  if (list_entries(sp, &names, &num) != 0)
    return -1;
  corrupt_t corrupt = {.fd = -2};
  int moved = 0;
  size_t i = 0;
  while (i < num) {
    const char *name = names[i];
    char *data = NULL;
    size_t len = 0;
    char whybuf[160];
    const char *why = NULL;
    int status = read_entry(sp, name, MAX_ENTRY, &data, &len, &why, whybuf,
                            sizeof(whybuf));
    nt_spool_entry_t e;
    if (status == 0 && nt_spool_decode(data, len, &e, &why) != 0)
      status = -1;
    char canon[32];
    if (status == 0) {
      /* remove(seq) unlinks the seq's name: an entry under another name
       * would outlive its job and be sent again at every start. */
      entry_name(e.seq, canon, sizeof(canon));
      if (strcmp(canon, name) != 0) {
        why = "file name does not match its seq";
        status = -1;
      }
    }
    int verdict = NT_SPOOL_KEEP;
    if (status == 0) {
      verdict = visit(&e, arg);
      if (verdict > 0)
        unlinkat(sp->dirfd, name, 0);
    } else if (status == -2) {
      /* Read again at the next start. */
      char full[400];
      snprintf(full, sizeof(full), "%s; left in place", why);
      bad(name, full, arg);
    } else if (status < 0 && set_aside(sp, &corrupt, name, why, bad, arg)) {
      moved++;
    }
    free(data);
    free(names[i++]);
    if (verdict < 0)
      break; /* shutdown must not wait for the rest */
  }
  free_names(names, i, num);
  if (corrupt.fd >= 0)
    close(corrupt.fd);
  return moved;
}

int nt_spool_get(nt_spool_t *sp, const char *name, size_t max, char **data,
                 size_t *len, char *err, size_t errlen) {
  const char *why = NULL;
  int status = read_entry(sp, name, max, data, len, &why, err, errlen);
  if (status == 0) {
    (*data)[*len] = '\0';
  } else if (status < 0 && why != err) {
    snprintf(err, errlen, "%s", why);
  }
  return status > 0 ? 1 : status < 0 ? -1 : 0;
}
