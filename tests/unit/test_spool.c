/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/spool.c: the entry format (encode, decode and every
 * way a decode must refuse), the directory's trust rules and lock, and the
 * entries (modes, names, links never followed, concurrent writers, load
 * order and stop, temporary files, FIFOs and bad entries moved aside,
 * removal, write errors). */
#define _GNU_SOURCE /* nftw's FTW_DEPTH and FTW_PHYS */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Helpers ----------------------------------------------------------- */

/* A TaskID, as the configuration accepts them: 24 hex characters. */
#define TID "5f0c1a2b3c4d5e6f7a8b9c0d"

/* The standard CRC-32 (zlib's), written independently of spool.c so that a
 * test can seal an entry it crafted by hand. */
static uint32_t ref_crc32(const char *data, size_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    crc ^= (unsigned char)data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc & 1u) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
  }
  return ~crc;
}

/* A hand-made entry: text (len bytes) followed by a correct checksum line.
 * The result is malloc'ed, exactly *out_len bytes (no terminating NUL), so
 * that a read past the end shows under valgrind or ASan. */
static char *seal(const char *text, size_t len, size_t *out_len) {
  char line[32];
  int n = snprintf(line, sizeof(line), "crc32 %08" PRIx32 "\n",
                   ref_crc32(text, len));
  assert_int_equal(n, 15);
  char *data = malloc(len + 15);
  assert_non_null(data);
  memcpy(data, text, len);
  memcpy(data + len, line, 15);
  *out_len = len + 15;
  return data;
}

static char *seal_str(const char *text, size_t *out_len) {
  return seal(text, strlen(text), out_len);
}

/* A private copy of len bytes, exactly that long (decode writes into it). */
static char *dup_exact(const char *data, size_t len) {
  char *copy = malloc(len > 0 ? len : 1);
  assert_non_null(copy);
  if (len > 0)
    memcpy(copy, data, len);
  return copy;
}

/* Decodes a copy of data; returns decode's result, and why. */
static int decode_copy(const char *data, size_t len, const char **why) {
  char *copy = dup_exact(data, len);
  nt_spool_entry_t e;
  *why = NULL;
  int rc = nt_spool_decode(copy, len, &e, why);
  free(copy);
  return rc;
}

/* Expects decode to refuse with a reason containing want (NULL: any). */
static void assert_refused(const char *data, size_t len, const char *want) {
  const char *why = NULL;
  int rc = decode_copy(data, len, &why);
  if (rc != -1)
    fail_msg("decode accepted %zu bytes: \"%.*s\"", len, (int)len, data);
  assert_non_null(why);
  assert_true(why[0] != '\0');
  if (want != NULL && strstr(why, want) == NULL)
    fail_msg("refused for \"%s\", expected \"%s\": \"%.*s\"", why, want,
             (int)len, data);
}

static void assert_entry_equal(const nt_spool_entry_t *want,
                               const nt_spool_entry_t *got) {
  assert_true(want->seq == got->seq);
  /* Kept to the microsecond. */
  assert_true(fabs(want->arrival - got->arrival) <= 1e-6);
  assert_int_equal(want->attempts, got->attempts);
  assert_string_equal(want->task, got->task);
  assert_string_equal(want->task_id, got->task_id);
  assert_true(want->episode == got->episode);
  assert_int_equal(want->body_len, got->body_len);
  assert_memory_equal(want->body, got->body, want->body_len);
  /* Decode terminates the body for the caller's convenience. */
  assert_int_equal(got->body[got->body_len], '\0');
}

/* A directory for one test; removed with everything in it afterwards. */
typedef struct {
  char root[64];  /* mkdtemp'ed */
  char dir[128];  /* root/spool: what nt_spool_open is given */
  nt_spool_t *sp; /* opened on dir by the setup, or NULL */
} fixture_t;

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  /* The tests change modes: restore them so nothing stays behind. */
  chmod(path, 0700);
  remove(path);
  return 0;
}

static void rm_rf(const char *path) {
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_in(const fixture_t *f, const char *name) {
  static char path[4][512];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof(path[0]), "%s/%s", f->dir, name);
  return p;
}

static int setup_dir(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  const char *tmp = getenv("TMPDIR");
  snprintf(f->root, sizeof(f->root), "%s/nt-spool-XXXXXX",
           tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
  assert_non_null(mkdtemp(f->root));
  snprintf(f->dir, sizeof(f->dir), "%s/spool", f->root);
  *state = f;
  return 0;
}

static int setup_open(void **state) {
  setup_dir(state);
  fixture_t *f = *state;
  char err[256] = "";
  f->sp = nt_spool_open(f->dir, err, sizeof(err));
  if (f->sp == NULL)
    fail_msg("nt_spool_open: %s", err);
  return 0;
}

static int teardown_dir(void **state) {
  fixture_t *f = *state;
  nt_spool_close(f->sp);
  rm_rf(f->root);
  free(f);
  return 0;
}

static bool exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static void write_file(const char *path, const char *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
}

/* The whole content of a file (malloc'ed, NUL-terminated); *len its size. */
static char *read_file(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL)
    fail_msg("cannot open %s: %s", path, strerror(errno));
  char *data = malloc(1 << 20);
  assert_non_null(data);
  *len = fread(data, 1, (1 << 20) - 1, fp);
  data[*len] = '\0';
  fclose(fp);
  return data;
}

/* Names in a directory, except "." and "..", as one sorted string
 * "a,b,c" (static buffer). */
static const char *listing(const char *dir) {
  static char out[4096];
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  out[0] = '\0';
  if (n < 0)
    return "(unreadable)";
  for (int i = 0; i < n; i++) {
    if (strcmp(names[i]->d_name, ".") != 0 &&
        strcmp(names[i]->d_name, "..") != 0) {
      if (out[0] != '\0')
        strncat(out, ",", sizeof(out) - strlen(out) - 1);
      strncat(out, names[i]->d_name, sizeof(out) - strlen(out) - 1);
    }
    free(names[i]);
  }
  free(names);
  return out;
}

static const char *entry_name(uint64_t seq) {
  static char name[4][32];
  static int next;
  char *p = name[next++ % 4];
  snprintf(p, sizeof(name[0]), "%020" PRIu64 ".job", seq);
  return p;
}

static nt_spool_entry_t entry(uint64_t seq, const char *task,
                              const char *body) {
  return (nt_spool_entry_t){.seq = seq,
                            .arrival = 1764331200.25,
                            .attempts = 0,
                            .task = task,
                            .task_id = TID,
                            .body = body,
                            .body_len = strlen(body)};
}

static void write_entry(fixture_t *f, uint64_t seq, const char *body) {
  nt_spool_entry_t e = entry(seq, "task-a", body);
  assert_int_equal(nt_spool_write(f->sp, &e), 0);
}

/* What load did: entries visited (in order), bad entries reported. */
#define MAX_SEEN 64
typedef struct {
  uint64_t seqs[MAX_SEEN];
  unsigned attempts[MAX_SEEN];
  char bodies[MAX_SEEN][64];
  char tasks[MAX_SEEN][32];
  size_t visited;
  char bad_names[MAX_SEEN][64];
  char bad_why[MAX_SEEN][64];
  size_t bad;
  /* Remove the entries whose seq is odd (visit returns 1 for them). */
  bool remove_odd;
  bool remove_all;
  /* Return NT_SPOOL_STOP from this visit on (1 = the first); 0: never. */
  size_t stop_at;
  /* While visiting, whether the entry's file was still in place. */
  const fixture_t *f;
  bool file_missing_during_visit;
} seen_t;

static int visit(const nt_spool_entry_t *e, void *arg) {
  seen_t *s = arg;
  assert_non_null(e);
  assert_true(s->visited < MAX_SEEN);
  s->seqs[s->visited] = e->seq;
  s->attempts[s->visited] = e->attempts;
  snprintf(s->bodies[s->visited], sizeof(s->bodies[0]), "%.*s",
           (int)e->body_len, e->body);
  snprintf(s->tasks[s->visited], sizeof(s->tasks[0]), "%s", e->task);
  s->visited++;
  if (s->f != NULL && !exists(path_in(s->f, entry_name(e->seq))))
    s->file_missing_during_visit = true;
  if (s->stop_at != 0 && s->visited >= s->stop_at)
    return NT_SPOOL_STOP;
  if (s->remove_all || (s->remove_odd && (e->seq & 1) != 0))
    return NT_SPOOL_REMOVE;
  return NT_SPOOL_KEEP;
}

static void bad(const char *name, const char *why, void *arg) {
  seen_t *s = arg;
  assert_true(s->bad < MAX_SEEN);
  assert_non_null(name);
  assert_non_null(why);
  snprintf(s->bad_names[s->bad], sizeof(s->bad_names[0]), "%s", name);
  snprintf(s->bad_why[s->bad], sizeof(s->bad_why[0]), "%s", why);
  s->bad++;
}

static int load(fixture_t *f, seen_t *s) {
  s->f = f;
  return nt_spool_load(f->sp, visit, bad, s);
}

/* ---- The format -------------------------------------------------------- */

static void round_trip(const nt_spool_entry_t *e) {
  size_t len = 0;
  char *data = nt_spool_encode(e, &len);
  assert_non_null(data);
  assert_true(len > 0);
  char *copy = dup_exact(data, len);
  nt_spool_entry_t got;
  const char *why = NULL;
  if (nt_spool_decode(copy, len, &got, &why) != 0)
    fail_msg("round trip refused: %s", why);
  /* The strings point into the buffer decode was given. */
  assert_true(got.task >= copy && got.task < copy + len);
  assert_true(got.body >= copy && got.body <= copy + len);
  assert_entry_equal(e, &got);
  free(copy);
  free(data);
}

static void test_round_trip(void **state) {
  (void)state;
  nt_spool_entry_t e = {
      .seq = 1764331200123456u,
      .arrival = 1764331200.123456,
      .attempts = 3,
      .task = "restart-nginx",
      .task_id = "5f0c1a2b3c4d5e6f7a8b9c0d",
      .episode = 0x0123456789abcdefu,
      .body = "{\"task\":\"5f0c1a2b3c4d5e6f7a8b9c0d\","
              "\"task_arguments\":[\"FAILURE\",\"web1\"]}",
  };
  e.body_len = strlen(e.body);
  round_trip(&e);

  /* Extremes: seq 0 and the largest, arrival 0, an empty body, a task
   * name with spaces, quotes and UTF-8 (names are any printable bytes but
   * '/'). */
  e = (nt_spool_entry_t){.seq = 0,
                         .arrival = 0,
                         .attempts = 0,
                         .task = "a \"b\" \xC3\xA9 %s \\",
                         /* Upper-case digits are kept as they are. */
                         .task_id = "0123456789ABCDEFabcdef00",
                         .body = "",
                         .body_len = 0};
  round_trip(&e);
  e.seq = UINT64_MAX;
  e.episode = UINT64_MAX;
  e.attempts = 1000;
  e.arrival = 4102444800.999999; /* year 2100 */
  round_trip(&e);
}

static void test_round_trip_header_text(void **state) {
  (void)state;
  /* The layout the comment in spool.c promises, checked once verbatim so
   * that the format (read back by a later version) does not drift. */
  nt_spool_entry_t e = {.seq = 42,
                        .arrival = 1764331200.5,
                        .attempts = 2,
                        .task = "t",
                        .task_id = TID,
                        .episode = 0xabcdef,
                        .body = "{}",
                        .body_len = 2};
  size_t len;
  char *data = nt_spool_encode(&e, &len);
  assert_non_null(data);
  const char *head = "notify_theeye spool 3\nseq 42\n"
                     "arrival 1764331200.500000\nattempts 2\ntask t\ntaskid "
                     "5f0c1a2b3c4d5e6f7a8b9c0d\nepisode 0000000000abcdef\n"
                     "body 2\n{}\n";
  assert_true(len == strlen(head) + 15);
  assert_memory_equal(data, head, strlen(head));
  char want[16];
  snprintf(want, sizeof(want), "crc32 %08" PRIx32 "\n",
           ref_crc32(head, strlen(head)));
  assert_memory_equal(data + strlen(head), want, 15);
  free(data);
}

static void test_round_trip_any_body_bytes(void **state) {
  (void)state;
  /* Bodies are JSON (no raw newline), but the format does not rely on it:
   * the body is counted, not scanned, so newlines, NULs, a line that looks
   * like the checksum, and every byte value come back unchanged. */
  char body[512];
  size_t n = 0;
  for (int i = 0; i < 256; i++)
    body[n++] = (char)i;
  const char *tricky = "\nbody 3\ncrc32 00000000\n\n";
  memcpy(body + n, tricky, strlen(tricky));
  n += strlen(tricky);
  nt_spool_entry_t e = {.seq = 7,
                        .arrival = 1.5,
                        .attempts = 1,
                        .task = "t",
                        .task_id = TID,
                        .body = body,
                        .body_len = n};
  round_trip(&e);

  const char *newline_only[] = {"\n", "\n\n", "a\nb", "{\"x\":1}\n"};
  for (size_t i = 0; i < sizeof(newline_only) / sizeof(*newline_only); i++) {
    e.body = newline_only[i];
    e.body_len = strlen(newline_only[i]);
    round_trip(&e);
  }
}

static void test_round_trip_large_body(void **state) {
  (void)state;
  size_t n = 1 << 20;
  char *body = malloc(n);
  assert_non_null(body);
  for (size_t i = 0; i < n; i++)
    body[i] = (char)('a' + i % 26);
  nt_spool_entry_t e = {.seq = 1,
                        .arrival = 2,
                        .attempts = 0,
                        .task = "big",
                        .task_id = TID,
                        .body = body,
                        .body_len = n};
  round_trip(&e);
  free(body);
}

static void test_checksum_is_crc32(void **state) {
  (void)state;
  /* The hand-sealed entries below rely on this. */
  nt_spool_entry_t e = entry(9, "task-a", "{\"a\":[1,2]}");
  size_t len;
  char *data = nt_spool_encode(&e, &len);
  assert_non_null(data);
  char want[16];
  snprintf(want, sizeof(want), "crc32 %08" PRIx32 "\n",
           ref_crc32(data, len - 15));
  assert_memory_equal(data + len - 15, want, 15);
  /* A hand-sealed copy of the same text decodes. */
  size_t slen;
  char *sealed = seal(data, len - 15, &slen);
  const char *why;
  assert_int_equal(decode_copy(sealed, slen, &why), 0);
  free(sealed);
  free(data);
}

static void test_decode_rejects_every_prefix(void **state) {
  (void)state;
  /* A torn write leaves a prefix: not one of them may decode. */
  nt_spool_entry_t e = entry(123456789, "restart-nginx",
                             "{\"task\":\"5f0c1a2b3c4d5e6f7a8b9c0d\","
                             "\"task_arguments\":[\"x\\ny\"]}");
  size_t len;
  char *data = nt_spool_encode(&e, &len);
  assert_non_null(data);
  for (size_t n = 0; n < len; n++)
    assert_refused(data, n, NULL);
  /* Nor the whole entry with anything after it. */
  char *longer = malloc(len + 1);
  assert_non_null(longer);
  memcpy(longer, data, len);
  longer[len] = '\n';
  assert_refused(longer, len + 1, NULL);
  memcpy(longer, data, len);
  longer[len] = 'x';
  assert_refused(longer, len + 1, NULL);
  free(longer);
  /* And the whole entry does. */
  const char *why;
  assert_int_equal(decode_copy(data, len, &why), 0);
  free(data);
}

static void test_decode_rejects_flipped_bits(void **state) {
  (void)state;
  /* Any single flipped bit before the checksum line is caught by the
   * checksum; one in the checksum line itself may only be accepted when
   * it leaves the entry intact (e.g. a hex digit's case). */
  nt_spool_entry_t e = entry(1764331200000001u, "restart-nginx",
                             "{\"task\":\"5f0c1a2b3c4d5e6f7a8b9c0d\","
                             "\"task_arguments\":[\"FAILURE\",\"web1\"]}");
  e.attempts = 4;
  size_t len;
  char *data = nt_spool_encode(&e, &len);
  assert_non_null(data);
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      char *copy = dup_exact(data, len);
      copy[i] ^= (char)(1 << bit);
      nt_spool_entry_t got;
      const char *why = NULL;
      int rc = nt_spool_decode(copy, len, &got, &why);
      if (i < len - 15) {
        if (rc != -1)
          fail_msg("flipped bit %d of byte %zu went unnoticed", bit, i);
        assert_non_null(why);
        /* Past the magic line, the checksum is what notices. */
        if (i >= strlen("notify_theeye spool 2\n") &&
            strstr(why, "checksum") == NULL)
          fail_msg("flipped bit %d of byte %zu: \"%s\"", bit, i, why);
      } else if (rc == 0) {
        assert_entry_equal(&e, &got);
      } else {
        assert_non_null(why);
      }
      free(copy);
    }
  }
  /* Whole bytes replaced anywhere in the covered part, too. */
  for (size_t i = 0; i < len - 15; i++) {
    char *copy = dup_exact(data, len);
    copy[i] = copy[i] == 'Z' ? 'Y' : 'Z';
    nt_spool_entry_t got;
    const char *why;
    assert_int_equal(nt_spool_decode(copy, len, &got, &why), -1);
    free(copy);
  }
  free(data);
}

#define GOOD_HEAD                                                              \
  "notify_theeye spool 2\nseq 5\narrival 1764331200.000000\nattempts 1\n"      \
  "task t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\n"

static void test_decode_hand_sealed_good(void **state) {
  (void)state;
  /* The reference for the refusals below: the same text, well formed. */
  size_t len;
  char *data = seal_str(GOOD_HEAD "body 2\n{}\n", &len);
  nt_spool_entry_t e;
  const char *why;
  assert_int_equal(nt_spool_decode(data, len, &e, &why), 0);
  assert_true(e.seq == 5);
  assert_int_equal(e.attempts, 1);
  assert_string_equal(e.task, "t");
  assert_int_equal(e.body_len, 2);
  assert_memory_equal(e.body, "{}", 2);
  free(data);
}

static void refused_sealed(const char *text, const char *want) {
  /* Sealed on the stack: nothing leaks when the assertion fails
   * (assert_refused decodes an exact-size heap copy). */
  char data[1024];
  size_t len = strlen(text);
  assert_true(len + 15 < sizeof(data));
  memcpy(data, text, len);
  snprintf(data + len, 16, "crc32 %08" PRIx32 "\n", ref_crc32(text, len));
  assert_refused(data, len + 15, want);
}

static void test_decode_rejects_bad_magic(void **state) {
  (void)state;
  const char *rest = "seq 5\narrival 1.0\nattempts 1\ntask t\n"
                     "taskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n";
  const char *magics[] = {
      "notify_theeye spool 3\n", /* a later format: not ours to guess */
      "notify_theeye spool 1\n", /* the format before TaskIDs were kept */
      "notify_theeye spool 0\n",
      "NOTIFY_THEEYE SPOOL 2\n",
      "notify_theeye spool 2\r\n",
      "notify_theeye  spool 2\n",
      "", /* no magic at all */
      "xnotify_theeye spool 2\n"};
  for (size_t i = 0; i < sizeof(magics) / sizeof(*magics); i++) {
    char text[256];
    snprintf(text, sizeof(text), "%s%s", magics[i], rest);
    refused_sealed(text, NULL);
  }
  /* Files that are not entries at all. */
  const char *junk[] = {"", "\n", "garbage", "{\"task\":\"x\"}\n",
                        "crc32 00000000\n"};
  for (size_t i = 0; i < sizeof(junk) / sizeof(*junk); i++)
    assert_refused(junk[i], strlen(junk[i]), NULL);
}

static void test_decode_rejects_body_length_mismatch(void **state) {
  (void)state;
  refused_sealed(GOOD_HEAD "body 3\n{}\n", "length");
  refused_sealed(GOOD_HEAD "body 1\n{}\n", "length");
  refused_sealed(GOOD_HEAD "body 0\n{}\n", "length");
  /* The body must be followed by its own newline. */
  refused_sealed(GOOD_HEAD "body 3\n{}x", NULL);
  refused_sealed(GOOD_HEAD "body 2\n{}", NULL);
  /* Nothing after the header: a length of 2^64-1 must not match the
   * "remaining bytes minus one" of an empty rest by wrapping around. */
  refused_sealed(GOOD_HEAD "body 18446744073709551615\n", NULL);
  refused_sealed(GOOD_HEAD "body 18446744073709551616\n{}\n", NULL);
  refused_sealed(GOOD_HEAD "body -2\n{}\n", NULL);
  refused_sealed(GOOD_HEAD "body 2x\n{}\n", NULL);
  refused_sealed(GOOD_HEAD "body \n{}\n", NULL);
}

static void test_decode_rejects_missing_fields(void **state) {
  (void)state;
  const char *lines[] = {
      "seq 5\n",  "arrival 1764331200.000000\n",       "attempts 1\n",
      "task t\n", "taskid 5f0c1a2b3c4d5e6f7a8b9c0d\n", "body 2\n"};
  size_t num = sizeof(lines) / sizeof(*lines);
  for (size_t skip = 0; skip < num; skip++) {
    char text[512] = "notify_theeye spool 2\n";
    for (size_t i = 0; i < num; i++)
      if (i != skip)
        strcat(text, lines[i]);
    strcat(text, "{}\n");
    refused_sealed(text, NULL);
  }
  /* Empty values, a value without its key's space, a misspelt key. */
  refused_sealed("notify_theeye spool 2\nseq \narrival 1.0\nattempts 1\n"
                 "task t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
                 NULL);
  refused_sealed("notify_theeye spool 2\nseq 5\narrival 1.0\nattempts 1\n"
                 "task \ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
                 NULL);
  refused_sealed("notify_theeye spool 2\nseq5\narrival 1.0\nattempts 1\n"
                 "task t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
                 NULL);
  refused_sealed(
      "notify_theeye spool 2\nsequence 5\narrival 1.0\n"
      "attempts 1\ntask t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
      NULL);
  /* Fields out of order. */
  refused_sealed("notify_theeye spool 2\narrival 1.0\nseq 5\nattempts 1\n"
                 "task t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
                 NULL);
  /* Only the magic. */
  refused_sealed("notify_theeye spool 2\n", NULL);
}

static void test_decode_rejects_bad_numbers(void **state) {
  (void)state;
  const char *seqs[] = {
      "-1", "+5", " 5", "5 ", "0x10", "abc", "18446744073709551616"};
  for (size_t i = 0; i < sizeof(seqs) / sizeof(*seqs); i++) {
    char text[256];
    snprintf(text, sizeof(text),
             "notify_theeye spool 2\nseq %s\narrival 1.0\nattempts 1\n"
             "task t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
             seqs[i]);
    refused_sealed(text, NULL);
  }
  const char *arrivals[] = {"-1", "nan", "-nan", "abc", "1.0x", " "};
  for (size_t i = 0; i < sizeof(arrivals) / sizeof(*arrivals); i++) {
    char text[256];
    snprintf(text, sizeof(text),
             "notify_theeye spool 2\nseq 5\narrival %s\nattempts 1\n"
             "task t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
             arrivals[i]);
    refused_sealed(text, NULL);
  }
}

static void test_decode_rejects_empty_or_infinite_arrival(void **state) {
  (void)state;
  /* An empty arrival is as malformed as an empty seq (which is refused),
   * and an infinite one is no time at all: resumed, it would make the
   * job's age 0 at every start, so MaxAge would never end it. */
  const char *arrivals[] = {"", "inf", "infinity", "1e400"};
  for (size_t i = 0; i < sizeof(arrivals) / sizeof(*arrivals); i++) {
    char text[256];
    snprintf(text, sizeof(text),
             "notify_theeye spool 2\nseq 5\narrival %s\nattempts 1\n"
             "task t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
             arrivals[i]);
    refused_sealed(text, NULL);
  }
}

static void test_decode_rejects_huge_attempts(void **state) {
  (void)state;
  /* MaxAttempts is at most 1000: an attempts count far beyond is damage,
   * and one past UINT_MAX must not wrap to a small number. */
  const char *bad_attempts[] = {"4294967296",
                                "4294967297",
                                "18446744073709551615",
                                "18446744073709551616",
                                "99999999999999999999999",
                                "-1",
                                "1e3"};
  for (size_t i = 0; i < sizeof(bad_attempts) / sizeof(*bad_attempts); i++) {
    char text[256];
    snprintf(text, sizeof(text),
             "notify_theeye spool 2\nseq 5\narrival 1.0\nattempts %s\n"
             "task t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
             bad_attempts[i]);
    refused_sealed(text, NULL);
  }
  /* The largest MaxAttempts is fine. */
  size_t len;
  char *data = seal_str(
      "notify_theeye spool 2\nseq 5\narrival 1.0\n"
      "attempts 1000\ntask t\ntaskid 5f0c1a2b3c4d5e6f7a8b9c0d\nbody 2\n{}\n",
      &len);
  nt_spool_entry_t e;
  const char *why;
  assert_int_equal(nt_spool_decode(data, len, &e, &why), 0);
  assert_int_equal(e.attempts, 1000);
  free(data);
}

/* ---- The directory ----------------------------------------------------- */

static void test_open_creates_dir_0700(void **state) {
  fixture_t *f = *state;
  mode_t old = umask(022);
  char err[256] = "";
  nt_spool_t *sp = nt_spool_open(f->dir, err, sizeof(err));
  if (sp == NULL)
    fail_msg("nt_spool_open: %s", err);
  struct stat st;
  assert_int_equal(stat(f->dir, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0700);
  nt_spool_close(sp);

  /* Opening it again (the next start) is fine. */
  sp = nt_spool_open(f->dir, err, sizeof(err));
  assert_non_null(sp);
  nt_spool_close(sp);

  /* Even with a permissive umask the directory is 0700. */
  char other[200];
  snprintf(other, sizeof(other), "%s/other", f->root);
  umask(0);
  sp = nt_spool_open(other, err, sizeof(err));
  assert_non_null(sp);
  assert_int_equal(stat(other, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0700);
  nt_spool_close(sp);
  umask(old);
}

static void test_open_errors(void **state) {
  fixture_t *f = *state;
  char err[256], path[256];

  /* A parent that does not exist: the spool does not create parents. */
  snprintf(path, sizeof(path), "%s/missing/spool", f->root);
  err[0] = '\0';
  assert_null(nt_spool_open(path, err, sizeof(err)));
  assert_non_null(strstr(err, path));
  assert_false(exists(path));

  /* A path under a regular file. */
  char file[200];
  snprintf(file, sizeof(file), "%s/file", f->root);
  write_file(file, "x", 1);
  snprintf(path, sizeof(path), "%s/spool", file);
  err[0] = '\0';
  assert_null(nt_spool_open(path, err, sizeof(err)));
  assert_true(err[0] != '\0');

  /* The path itself is a regular file. */
  err[0] = '\0';
  assert_null(nt_spool_open(file, err, sizeof(err)));
  assert_true(err[0] != '\0');

  nt_spool_close(NULL); /* harmless */
}

static void test_write_creates_0600_entry(void **state) {
  fixture_t *f = *state;
  mode_t old = umask(0); /* the mode must not depend on the umask */
  nt_spool_entry_t e = entry(42, "task-a", "{\"a\":1}");
  e.attempts = 2;
  assert_int_equal(nt_spool_write(f->sp, &e), 0);
  umask(old);
  assert_int_equal(nt_spool_sync(f->sp), 0);

  const char *name = entry_name(42);
  assert_string_equal(name, "00000000000000000042.job");
  struct stat st;
  assert_int_equal(lstat(path_in(f, name), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  /* Only the entry: no temporary file left. */
  assert_string_equal(listing(f->dir), name);

  /* Its content is exactly the encoding. */
  size_t want_len, got_len;
  char *want = nt_spool_encode(&e, &want_len);
  char *got = read_file(path_in(f, name), &got_len);
  assert_int_equal(got_len, want_len);
  assert_memory_equal(got, want, want_len);
  free(want);
  free(got);
}

static void test_rewrite_replaces_entry(void **state) {
  fixture_t *f = *state;
  /* A job's attempts change: its entry is written again, in place. */
  nt_spool_entry_t e = entry(8, "task-a", "{\"v\":1}");
  assert_int_equal(nt_spool_write(f->sp, &e), 0);
  e.attempts = 3;
  assert_int_equal(nt_spool_write(f->sp, &e), 0);
  assert_string_equal(listing(f->dir), entry_name(8));
  seen_t s = {0};
  assert_int_equal(load(f, &s), 0);
  assert_int_equal(s.visited, 1);
  assert_int_equal(s.attempts[0], 3);
}

static void test_load_in_seq_order(void **state) {
  fixture_t *f = *state;
  /* Written out of order, with seqs of different widths. */
  uint64_t seqs[] = {1764331200000010u, 9, 1764331200000002u, 10, 100,
                     UINT64_MAX,        0, 1764331200000001u};
  uint64_t sorted[] = {0,
                       9,
                       10,
                       100,
                       1764331200000001u,
                       1764331200000002u,
                       1764331200000010u,
                       UINT64_MAX};
  size_t num = sizeof(seqs) / sizeof(*seqs);
  for (size_t i = 0; i < num; i++) {
    char body[64];
    snprintf(body, sizeof(body), "{\"n\":%zu}", i);
    nt_spool_entry_t e = entry(seqs[i], i % 2 ? "task-b" : "task-a", body);
    e.attempts = (unsigned)i;
    assert_int_equal(nt_spool_write(f->sp, &e), 0);
  }
  seen_t s = {0};
  assert_int_equal(load(f, &s), 0);
  assert_int_equal(s.visited, num);
  assert_int_equal(s.bad, 0);
  for (size_t i = 0; i < num; i++) {
    assert_true(s.seqs[i] == sorted[i]);
    /* The rest of each entry came back with it. */
    size_t orig = 0;
    while (seqs[orig] != sorted[i])
      orig++;
    char body[64];
    snprintf(body, sizeof(body), "{\"n\":%zu}", orig);
    assert_string_equal(s.bodies[i], body);
    assert_string_equal(s.tasks[i], orig % 2 ? "task-b" : "task-a");
    assert_int_equal(s.attempts[i], orig);
  }
  /* Visiting returned 0: every entry stays, and the next load sees them
   * all again. */
  assert_false(s.file_missing_during_visit);
  seen_t again = {0};
  assert_int_equal(load(f, &again), 0);
  assert_int_equal(again.visited, num);
}

static void test_load_removes_when_visit_says_so(void **state) {
  fixture_t *f = *state;
  for (uint64_t seq = 1; seq <= 6; seq++)
    write_entry(f, seq, "{}");
  seen_t s = {.remove_odd = true};
  assert_int_equal(load(f, &s), 0);
  assert_int_equal(s.visited, 6);
  assert_false(s.file_missing_during_visit);
  char want[256];
  snprintf(want, sizeof(want), "%s,%s,%s", entry_name(2), entry_name(4),
           entry_name(6));
  assert_string_equal(listing(f->dir), want);
  seen_t again = {0};
  assert_int_equal(load(f, &again), 0);
  assert_int_equal(again.visited, 3);
  assert_true(again.seqs[0] == 2 && again.seqs[1] == 4 && again.seqs[2] == 6);
}

static void test_load_empty_dir(void **state) {
  fixture_t *f = *state;
  seen_t s = {0};
  assert_int_equal(load(f, &s), 0);
  assert_int_equal(s.visited, 0);
  assert_int_equal(s.bad, 0);
}

static void test_load_deletes_tmp_files(void **state) {
  fixture_t *f = *state;
  write_entry(f, 3, "{\"real\":1}");
  /* A write that never completed, even with a complete entry in it (the
   * rename did not happen: the job was not on disk yet). */
  nt_spool_entry_t e = entry(5, "task-a", "{\"tmp\":1}");
  size_t len;
  char *data = nt_spool_encode(&e, &len);
  write_file(path_in(f, ".00000000000000000005.job.tmp"), data, len);
  write_file(path_in(f, ".00000000000000000006.job.tmp"), data, len / 2);
  free(data);
  /* Other files are neither visited nor touched. */
  write_file(path_in(f, "README"), "hello\n", 6);
  write_file(path_in(f, "00000000000000000009.job~"), "x", 1);
  write_file(path_in(f, ".hidden.job"), "x", 1);

  seen_t s = {0};
  assert_int_equal(load(f, &s), 0);
  assert_int_equal(s.visited, 1);
  assert_true(s.seqs[0] == 3);
  assert_int_equal(s.bad, 0);
  assert_false(exists(path_in(f, ".00000000000000000005.job.tmp")));
  assert_false(exists(path_in(f, ".00000000000000000006.job.tmp")));
  assert_true(exists(path_in(f, "README")));
  assert_true(exists(path_in(f, "00000000000000000009.job~")));
  assert_true(exists(path_in(f, ".hidden.job")));
  assert_false(exists(path_in(f, "corrupt")));
}

static void test_load_moves_corrupt_aside(void **state) {
  fixture_t *f = *state;
  write_entry(f, 1, "{\"n\":1}");
  write_entry(f, 4, "{\"n\":4}");
  write_entry(f, 9, "{\"n\":9}");

  /* A torn copy of a real entry, garbage, an empty file (a rename that
   * reached the disk before the data), and one bit flipped. */
  nt_spool_entry_t e = entry(2, "task-a", "{\"n\":2}");
  size_t len;
  char *data = nt_spool_encode(&e, &len);
  write_file(path_in(f, entry_name(2)), data, len - 20);
  write_file(path_in(f, entry_name(3)), "garbage\n", 8);
  write_file(path_in(f, "zzz-garbage.job"), "\x00\x01\x02", 3);
  write_file(path_in(f, entry_name(5)), "", 0);
  e.seq = 6;
  free(data);
  data = nt_spool_encode(&e, &len);
  data[len / 2] ^= 0x04;
  write_file(path_in(f, entry_name(6)), data, len);
  free(data);

  seen_t s = {0};
  int moved = load(f, &s);
  assert_int_equal(moved, 5);
  /* The good ones, in order, and nothing else. */
  assert_int_equal(s.visited, 3);
  assert_true(s.seqs[0] == 1 && s.seqs[1] == 4 && s.seqs[2] == 9);
  /* Each bad one reported once, by name, with a reason. */
  assert_int_equal(s.bad, 5);
  const char *bad_names[] = {entry_name(2), entry_name(3), entry_name(5),
                             entry_name(6), "zzz-garbage.job"};
  for (size_t i = 0; i < 5; i++) {
    size_t hits = 0;
    for (size_t j = 0; j < s.bad; j++)
      hits += strcmp(s.bad_names[j], bad_names[i]) == 0;
    if (hits != 1)
      fail_msg("%s reported %zu times", bad_names[i], hits);
  }
  for (size_t j = 0; j < s.bad; j++) {
    assert_true(s.bad_why[j][0] != '\0');
    if (strcmp(s.bad_names[j], entry_name(6)) == 0)
      assert_non_null(strstr(s.bad_why[j], "checksum"));
  }
  /* Moved into corrupt/ (0700), content kept for a human to look at. */
  char corrupt[256];
  snprintf(corrupt, sizeof(corrupt), "%s/corrupt", f->dir);
  struct stat st;
  assert_int_equal(stat(corrupt, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0700);
  char want[512];
  snprintf(want, sizeof(want), "%s,%s,%s,%s,zzz-garbage.job", entry_name(2),
           entry_name(3), entry_name(5), entry_name(6));
  assert_string_equal(listing(corrupt), want);
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", corrupt, entry_name(3));
  size_t got_len;
  char *got = read_file(path, &got_len);
  assert_int_equal(got_len, 8);
  assert_memory_equal(got, "garbage\n", 8);
  free(got);
  snprintf(want, sizeof(want), "%s,%s,%s,corrupt", entry_name(1), entry_name(4),
           entry_name(9));
  assert_string_equal(listing(f->dir), want);

  /* The next load neither reports them again nor looks into corrupt/. */
  seen_t again = {0};
  assert_int_equal(load(f, &again), 0);
  assert_int_equal(again.bad, 0);
  assert_int_equal(again.visited, 3);
}

static void test_load_corrupt_name_reused(void **state) {
  fixture_t *f = *state;
  /* A second corrupt entry of the same name (a later run) is moved aside
   * too, not left in the way. */
  for (int round = 0; round < 2; round++) {
    write_file(path_in(f, entry_name(7)), round ? "two" : "one", 3);
    seen_t s = {0};
    assert_int_equal(load(f, &s), 1);
    assert_int_equal(s.bad, 1);
    assert_int_equal(s.visited, 0);
    assert_false(exists(path_in(f, entry_name(7))));
  }
}

static void test_load_directory_named_like_entry(void **state) {
  fixture_t *f = *state;
  write_entry(f, 2, "{}");
  assert_int_equal(mkdir(path_in(f, entry_name(1)), 0700), 0);
  seen_t s = {0};
  assert_int_equal(load(f, &s), 1);
  assert_int_equal(s.bad, 1);
  assert_string_equal(s.bad_names[0], entry_name(1));
  assert_int_equal(s.visited, 1);
  assert_true(s.seqs[0] == 2);
}

static void test_remove(void **state) {
  fixture_t *f = *state;
  write_entry(f, 11, "{\"a\":1}");
  write_entry(f, 12, "{\"b\":2}");
  assert_int_equal(nt_spool_remove(f->sp, 11), 0);
  assert_false(exists(path_in(f, entry_name(11))));
  assert_true(exists(path_in(f, entry_name(12))));
  /* Removing what is not there is not an error (a release that raced
   * with a failed write). */
  assert_int_equal(nt_spool_remove(f->sp, 11), 0);
  assert_int_equal(nt_spool_remove(f->sp, 999), 0);
  seen_t s = {0};
  assert_int_equal(load(f, &s), 0);
  assert_int_equal(s.visited, 1);
  assert_true(s.seqs[0] == 12);
  assert_int_equal(nt_spool_remove(f->sp, 12), 0);
  assert_string_equal(listing(f->dir), "");
}

static void test_write_error_dir_replaced_by_file(void **state) {
  fixture_t *f = *state;
  /* Tests run as root, who ignores permissions: make the directory go
   * away under the open spool and put a regular file in its place. */
  write_entry(f, 1, "{}");
  assert_int_equal(nt_spool_remove(f->sp, 1), 0);
  assert_int_equal(rmdir(f->dir), 0);
  write_file(f->dir, "not a directory", 15);
  nt_spool_entry_t e = entry(2, "task-a", "{}");
  int rc = nt_spool_write(f->sp, &e);
  assert_true(rc > 0); /* an errno value */
  char *why = strerror(rc);
  assert_non_null(why);
  /* Nothing was written anywhere. */
  struct stat st;
  assert_int_equal(stat(f->dir, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  /* Loading a directory that is gone finds nothing to resume. */
  seen_t s = {0};
  assert_true(load(f, &s) <= 0);
  assert_int_equal(s.visited, 0);
}

static void test_write_error_target_is_directory(void **state) {
  fixture_t *f = *state;
  /* The rename cannot replace a (non-empty) directory: the error is
   * returned and the temporary file does not stay behind. */
  assert_int_equal(mkdir(path_in(f, entry_name(3)), 0700), 0);
  write_file(path_in(f, "00000000000000000003.job/x"), "x", 1);
  nt_spool_entry_t e = entry(3, "task-a", "{}");
  int rc = nt_spool_write(f->sp, &e);
  assert_true(rc > 0);
  assert_string_equal(listing(f->dir), entry_name(3));
}

static void test_write_error_disk_full(void **state) {
  fixture_t *f = *state;
  /* A full disk, as root can have it: a file size limit makes write()
   * fail part way with EFBIG. The entry must not appear, half or whole,
   * and the temporary file must go. */
  struct rlimit old, lim;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  lim = old;
  lim.rlim_cur = 100;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  char body[1000];
  memset(body, 'x', sizeof(body) - 1);
  body[sizeof(body) - 1] = '\0';
  nt_spool_entry_t e = entry(4, "task-a", body);
  int rc = nt_spool_write(f->sp, &e);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  assert_int_equal(rc, EFBIG);
  assert_string_equal(listing(f->dir), "");
  /* Once there is room again, it works. */
  assert_int_equal(nt_spool_write(f->sp, &e), 0);
  assert_string_equal(listing(f->dir), entry_name(4));
}

static void test_write_error_keeps_previous_entry(void **state) {
  fixture_t *f = *state;
  /* A rewrite (attempts changed) that fails leaves the previous, whole
   * entry in place rather than a torn one. */
  nt_spool_entry_t e = entry(5, "task-a", "{\"x\":1}");
  e.attempts = 1;
  assert_int_equal(nt_spool_write(f->sp, &e), 0);
  struct rlimit old, lim;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  lim = old;
  lim.rlim_cur = 50;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  e.attempts = 2;
  int rc = nt_spool_write(f->sp, &e);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  assert_int_equal(rc, EFBIG);
  seen_t s = {0};
  assert_int_equal(load(f, &s), 0);
  assert_int_equal(s.visited, 1);
  assert_int_equal(s.attempts[0], 1);
}

/* ---- The format, version 2: the TaskID ---------------------------------- */

static void test_decode_rejects_bad_taskid(void **state) {
  (void)state;
  /* The TaskID decides whether an entry may be sent with the Task's
   * current credential: anything but 24 hex characters is damage. */
  const char *ids[] = {"",
                       "5f0c1a2b3c4d5e6f7a8b9c0",   /* 23 */
                       "5f0c1a2b3c4d5e6f7a8b9c0d0", /* 25 */
                       "5f0c1a2b3c4d5e6f7a8b9c0g",
                       "0x0c1a2b3c4d5e6f7a8b9c0d",
                       " 5f0c1a2b3c4d5e6f7a8b9c0d",
                       "5f0c1a2b3c4d5e6f7a8b9c0d ",
                       "5f0c1a2b3c4d5e6f 7a8b9c0d"};
  for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
    char text[256];
    snprintf(text, sizeof(text),
             "notify_theeye spool 2\nseq 5\narrival 1.0\nattempts 1\n"
             "task t\ntaskid %s\nbody 2\n{}\n",
             ids[i]);
    refused_sealed(text, "taskid");
  }
  /* Without the line, or with it out of its place. */
  refused_sealed("notify_theeye spool 2\nseq 5\narrival 1.0\nattempts 1\n"
                 "task t\nbody 2\n{}\n",
                 NULL);
  refused_sealed("notify_theeye spool 2\nseq 5\narrival 1.0\nattempts 1\n"
                 "taskid " TID "\ntask t\nbody 2\n{}\n",
                 NULL);
  /* Upper and lower case hex both decode, as they are. */
  size_t len;
  char *data = seal_str("notify_theeye spool 2\nseq 5\narrival 1.0\n"
                        "attempts 1\ntask t\n"
                        "taskid ABCDEF0123456789abcdef01\nbody 2\n{}\n",
                        &len);
  nt_spool_entry_t e;
  const char *why;
  assert_int_equal(nt_spool_decode(data, len, &e, &why), 0);
  assert_string_equal(e.task_id, "ABCDEF0123456789abcdef01");
  free(data);
}

static void test_decode_rejects_version_1(void **state) {
  (void)state;
  /* A whole, well-sealed entry of the format before TaskIDs: it cannot be
   * told whether its Task still means the same task, so it is not taken
   * up, and why says which format it is. */
  size_t len;
  char *data = seal_str("notify_theeye spool 1\nseq 5\narrival 1.0\n"
                        "attempts 1\ntask t\nbody 2\n{}\n",
                        &len);
  assert_refused(data, len, "version 1");
  free(data);
}

static void test_decode_version_2_has_no_episode(void **state) {
  (void)state;
  /* 1.0's entries are resumed, with no episode an OKAY could cancel. */
  size_t len;
  char *data = seal_str(GOOD_HEAD "body 2\n{}\n", &len);
  nt_spool_entry_t e = {.episode = 1};
  const char *why;
  assert_int_equal(nt_spool_decode(data, len, &e, &why), 0);
  assert_true(e.episode == 0);
  assert_string_equal(e.task_id, TID);
  free(data);
  /* Version 2 has no episode line; version 3 must have one, exactly as
   * encode writes it. */
  refused_sealed(GOOD_HEAD "episode 0123456789abcdef\nbody 2\n{}\n", NULL);
#define V3_HEAD                                                                \
  "notify_theeye spool 3\nseq 5\narrival 1.0\nattempts 1\ntask t\n"            \
  "taskid " TID "\n"
  data = seal_str(V3_HEAD "episode 0123456789abcdef\nbody 2\n{}\n", &len);
  assert_int_equal(nt_spool_decode(data, len, &e, &why), 0);
  assert_true(e.episode == 0x0123456789abcdefu);
  free(data);
  const char *bad[] = {"",
                       "0123456789ABCDEF",
                       "0123456789abcde",
                       "0123456789abcdef0",
                       "0123456789abcdeg",
                       "-123456789abcdef",
                       " 123456789abcdef"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    char text[256];
    snprintf(text, sizeof(text), V3_HEAD "episode %s\nbody 2\n{}\n", bad[i]);
    refused_sealed(text, NULL);
  }
  refused_sealed(V3_HEAD "body 2\n{}\n", NULL);
#undef V3_HEAD
}

static void test_decode_rejects_nul_in_header(void **state) {
  (void)state;
  /* A NUL would cut the value short in C and hide the rest of the line. */
  const char text[] = "notify_theeye spool 2\nseq 5\narrival 1.0\n"
                      "attempts 1\ntask t\0x\ntaskid " TID "\nbody 2\n{}\n";
  char data[256];
  size_t len = sizeof(text) - 1;
  memcpy(data, text, len);
  snprintf(data + len, 16, "crc32 %08" PRIx32 "\n", ref_crc32(text, len));
  assert_refused(data, len + 15, NULL);
  const char seq[] = "notify_theeye spool 2\nseq 5\0007\narrival 1.0\n"
                     "attempts 1\ntask t\ntaskid " TID "\nbody 2\n{}\n";
  len = sizeof(seq) - 1;
  memcpy(data, seq, len);
  snprintf(data + len, 16, "crc32 %08" PRIx32 "\n", ref_crc32(seq, len));
  assert_refused(data, len + 15, NULL);
}

static void test_encode_refuses_what_would_not_decode(void **state) {
  fixture_t *f = *state;
  /* Written, it would be moved aside at the next start instead of resumed:
   * better refused now (and the job kept in memory). */
  const char *tasks[] = {"", "a\nb", "t", "t", "t"};
  const char *ids[] = {TID, TID, "5f0c1a2b3c4d5e6f7a8b9c0",
                       "not hex at all!!!!!!!!!!", NULL};
  for (size_t i = 0; i < sizeof(tasks) / sizeof(*tasks); i++) {
    nt_spool_entry_t e = entry(5, tasks[i], "{}");
    e.task_id = ids[i];
    size_t len = 0;
    assert_null(nt_spool_encode(&e, &len));
    assert_int_equal(nt_spool_write(f->sp, &e), EINVAL);
  }
  nt_spool_entry_t e = entry(5, "t", "{}");
  e.task = NULL;
  assert_int_equal(nt_spool_write(f->sp, &e), EINVAL);
  assert_string_equal(listing(f->dir), "");
}

/* ---- The directory's trust rules and lock ------------------------------- */

/* Both check and open refuse path with exactly want, and open leaves
 * nothing behind (no lock: the same directory, fixed, opens). */
static void assert_untrusted(const char *path, const char *want) {
  char err[512] = "";
  assert_int_equal(nt_spool_check(path, err, sizeof(err)), -1);
  assert_string_equal(err, want);
  err[0] = '\0';
  assert_null(nt_spool_open(path, err, sizeof(err)));
  assert_string_equal(err, want);
}

static void test_trust_symbolic_link(void **state) {
  fixture_t *f = *state;
  /* A link to a good directory: whoever can change the link could point
   * collectd's writes anywhere. */
  char good[200], link[200], want[512];
  snprintf(good, sizeof(good), "%s/good", f->root);
  snprintf(link, sizeof(link), "%s/link", f->root);
  assert_int_equal(mkdir(good, 0700), 0);
  assert_int_equal(symlink(good, link), 0);
  snprintf(want, sizeof(want), "\"%s\" is a symbolic link", link);
  assert_untrusted(link, want);
  /* A trailing slash makes the kernel resolve the link: still refused. */
  char slash[210];
  snprintf(slash, sizeof(slash), "%s//", link);
  snprintf(want, sizeof(want), "\"%s\" is a symbolic link", slash);
  assert_untrusted(slash, want);
  /* Nothing was created or locked through it. */
  assert_string_equal(listing(good), "");
  char err[256];
  nt_spool_t *sp = nt_spool_open(good, err, sizeof(err));
  assert_non_null(sp);
  nt_spool_close(sp);

  /* A dangling link: open must not create its target. */
  char target[200], dangling[200];
  snprintf(target, sizeof(target), "%s/target", f->root);
  snprintf(dangling, sizeof(dangling), "%s/dangling", f->root);
  assert_int_equal(symlink(target, dangling), 0);
  snprintf(want, sizeof(want), "\"%s\" is a symbolic link", dangling);
  assert_untrusted(dangling, want);
  assert_false(exists(target));
}

static void test_trust_not_a_directory(void **state) {
  fixture_t *f = *state;
  write_file(f->dir, "x", 1);
  char want[512];
  snprintf(want, sizeof(want), "\"%s\" is not a directory", f->dir);
  assert_untrusted(f->dir, want);
  /* Left as it was. */
  size_t len;
  char *got = read_file(f->dir, &len);
  assert_int_equal(len, 1);
  free(got);
}

static void test_trust_open_to_group_or_others(void **state) {
  fixture_t *f = *state;
  assert_int_equal(mkdir(f->dir, 0700), 0);
  mode_t modes[] = {0750, 0701, 0707, 0770, 0777, 0710};
  for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++) {
    assert_int_equal(chmod(f->dir, modes[i]), 0);
    char want[512];
    snprintf(want, sizeof(want),
             "\"%s\" is open to group or others (mode %04o): chmod 700 it",
             f->dir, (unsigned)modes[i]);
    assert_untrusted(f->dir, want);
    /* Not "fixed" behind the user's back either. */
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, modes[i]);
  }
  /* Once chmod 700'ed, it is fine. */
  assert_int_equal(chmod(f->dir, 0700), 0);
  char err[256] = "";
  assert_int_equal(nt_spool_check(f->dir, err, sizeof(err)), 0);
  nt_spool_t *sp = nt_spool_open(f->dir, err, sizeof(err));
  assert_non_null(sp);
  nt_spool_close(sp);
}

static void test_trust_owner(void **state) {
  fixture_t *f = *state;
  assert_int_equal(mkdir(f->dir, 0700), 0);
  /* Needs root (the test suite runs as root). */
  if (chown(f->dir, 65534, 65534) != 0)
    skip();
  char want[512];
  snprintf(want, sizeof(want),
           "\"%s\" is owned by uid 65534, not by collectd's user (uid %ju)",
           f->dir, (uintmax_t)geteuid());
  assert_untrusted(f->dir, want);
  struct stat st;
  assert_int_equal(stat(f->dir, &st), 0);
  assert_int_equal(st.st_uid, 65534);
  assert_string_equal(listing(f->dir), "");
}

static void test_check_missing_dir(void **state) {
  fixture_t *f = *state;
  /* Missing: fine, and not created (a configuration check acts on
   * nothing). */
  char err[512] = "x";
  assert_int_equal(nt_spool_check(f->dir, err, sizeof(err)), 0);
  assert_false(exists(f->dir));
  /* Missing with its parent missing too: open could not create it. */
  char path[256], want[512];
  snprintf(path, sizeof(path), "%s/no/such", f->root);
  snprintf(want, sizeof(want), "cannot create \"%s\": %s", path,
           strerror(ENOENT));
  err[0] = '\0';
  assert_int_equal(nt_spool_check(path, err, sizeof(err)), -1);
  assert_string_equal(err, want);
  err[0] = '\0';
  assert_null(nt_spool_open(path, err, sizeof(err)));
  assert_string_equal(err, want);
  snprintf(path, sizeof(path), "%s/no", f->root);
  assert_false(exists(path));
  /* Under a regular file. */
  char file[200];
  snprintf(file, sizeof(file), "%s/file", f->root);
  write_file(file, "x", 1);
  snprintf(path, sizeof(path), "%s/spool", file);
  snprintf(want, sizeof(want), "cannot create \"%s\": %s", path,
           strerror(ENOTDIR));
  err[0] = '\0';
  assert_int_equal(nt_spool_check(path, err, sizeof(err)), -1);
  assert_string_equal(err, want);
  err[0] = '\0';
  assert_null(nt_spool_open(path, err, sizeof(err)));
  assert_string_equal(err, want);
}

static void test_check_beside_open_spool(void **state) {
  fixture_t *f = *state;
  /* collectd -T runs beside the daemon that holds the lock: check neither
   * needs nor takes it, and writes nothing. */
  write_entry(f, 1, "{}");
  char err[256] = "";
  assert_int_equal(nt_spool_check(f->dir, err, sizeof(err)), 0);
  char slash[200];
  snprintf(slash, sizeof(slash), "%s/", f->dir);
  assert_int_equal(nt_spool_check(slash, err, sizeof(err)), 0);
  assert_string_equal(listing(f->dir), entry_name(1));
  /* And the daemon's lock is still held. */
  assert_null(nt_spool_open(f->dir, err, sizeof(err)));
}

static void test_open_locks(void **state) {
  fixture_t *f = *state;
  char err[512] = "", want[512];
  nt_spool_t *first = nt_spool_open(f->dir, err, sizeof(err));
  assert_non_null(first);
  /* A second opener is refused, and told why. */
  snprintf(want, sizeof(want), "\"%s\" is in use by another collectd (locked)",
           f->dir);
  nt_spool_t *second = nt_spool_open(f->dir, err, sizeof(err));
  assert_null(second);
  assert_string_equal(err, want);
  /* So is another process (a second collectd). */
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(60);
    char cerr[512] = "";
    nt_spool_t *sp = nt_spool_open(f->dir, cerr, sizeof(cerr));
    int refused = sp == NULL && strcmp(cerr, want) == 0;
    nt_spool_close(sp);
    /* The parent's descriptor still holds the lock. */
    nt_spool_close(first);
    _exit(refused ? 0 : 1);
  }
  int wstatus;
  assert_int_equal(waitpid(pid, &wstatus, 0), pid);
  assert_true(WIFEXITED(wstatus));
  assert_int_equal(WEXITSTATUS(wstatus), 0);
  /* Closing releases it. */
  nt_spool_close(first);
  second = nt_spool_open(f->dir, err, sizeof(err));
  if (second == NULL)
    fail_msg("open after close: %s", err);
  nt_spool_close(second);
}

static void test_open_lock_dies_with_process(void **state) {
  fixture_t *f = *state;
  /* kill -9 leaves no stale lock: the kernel drops it with the process. */
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(60); /* never outlives the test, whatever happens to it */
    char cerr[256];
    nt_spool_t *sp = nt_spool_open(f->dir, cerr, sizeof(cerr));
    char c = sp != NULL ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1)
      _exit(1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c = 0;
  ssize_t n = read(ready[0], &c, 1);
  close(ready[0]);
  char err[256] = "";
  nt_spool_t *while_held = nt_spool_open(f->dir, err, sizeof(err));
  /* The child goes before any assertion can end the test. */
  int killed = kill(pid, SIGKILL);
  int wstatus;
  pid_t waited = waitpid(pid, &wstatus, 0);
  nt_spool_close(while_held);
  assert_int_equal(n, 1);
  assert_int_equal(c, 'y');
  assert_null(while_held);
  assert_int_equal(killed, 0);
  assert_int_equal(waited, pid);
  nt_spool_t *sp = nt_spool_open(f->dir, err, sizeof(err));
  if (sp == NULL)
    fail_msg("open after kill -9 of the holder: %s", err);
  nt_spool_close(sp);
}

/* ---- Entries: links, concurrency, special files -------------------------- */

static char *victim(const fixture_t *f, const char *content) {
  static char path[200];
  snprintf(path, sizeof(path), "%s/victim", f->root);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, strlen(content)),
                   (ssize_t)strlen(content));
  close(fd);
  return path;
}

static void assert_victim_untouched(const char *path, const char *content) {
  size_t len;
  char *got = read_file(path, &len);
  assert_int_equal(len, strlen(content));
  assert_memory_equal(got, content, len);
  free(got);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0644);
}

static void test_write_never_follows_temp_link(void **state) {
  fixture_t *f = *state;
  const char *content = "precious\n";
  char *vic = victim(f, content);
  /* A link at the very temporary name write is going to use, at the name
   * earlier versions used, and a dangling one at another seq's name. */
  char tmp[128], other[128], target[200];
  assert_true(nt_spool_temp_name(f->sp, 42, tmp, sizeof(tmp)) <
              (int)sizeof(tmp));
  assert_int_equal(tmp[0], '.');
  assert_int_equal(symlink(vic, path_in(f, tmp)), 0);
  assert_int_equal(symlink(vic, path_in(f, ".00000000000000000042.job.tmp")),
                   0);
  nt_spool_temp_name(f->sp, 43, other, sizeof(other));
  snprintf(target, sizeof(target), "%s/created-through-link", f->root);
  assert_int_equal(symlink(target, path_in(f, other)), 0);

  nt_spool_entry_t e = entry(42, "task-a", "{\"written\":1}");
  int rc = nt_spool_write(f->sp, &e);
  e.seq = 43;
  int rc43 = nt_spool_write(f->sp, &e);
  assert_victim_untouched(vic, content);
  assert_false(exists(target));
  /* The planted links are the writer's own names: it got rid of them and
   * wrote its entries. */
  assert_int_equal(rc, 0);
  assert_int_equal(rc43, 0);
  struct stat st;
  assert_int_equal(lstat(path_in(f, entry_name(42)), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_false(exists(path_in(f, tmp)));
  assert_false(exists(path_in(f, other)));
  seen_t s = {0};
  assert_int_equal(load(f, &s), 0);
  assert_int_equal(s.visited, 2);
  assert_string_equal(s.bodies[0], "{\"written\":1}");
  /* The old-style name was another process's leftover: removed by load,
   * as a link, not through it. */
  assert_false(exists(path_in(f, ".00000000000000000042.job.tmp")));
  assert_victim_untouched(vic, content);
}

static void test_write_replaces_link_at_entry_name(void **state) {
  fixture_t *f = *state;
  /* The rename replaces a link named like the entry; what it pointed at is
   * not written. */
  const char *content = "precious\n";
  char *vic = victim(f, content);
  assert_int_equal(symlink(vic, path_in(f, entry_name(7))), 0);
  nt_spool_entry_t e = entry(7, "task-a", "{}");
  assert_int_equal(nt_spool_write(f->sp, &e), 0);
  struct stat st;
  assert_int_equal(lstat(path_in(f, entry_name(7)), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_victim_untouched(vic, content);
}

#define WRITERS_EACH 1000
typedef struct {
  nt_spool_t *sp;
  uint64_t first;
  int errors;
  int first_error;
} writer_t;

static void *writer_main(void *arg) {
  writer_t *w = arg;
  for (uint64_t seq = w->first; seq < w->first + WRITERS_EACH; seq++) {
    char body[64];
    snprintf(body, sizeof(body), "{\"seq\":%" PRIu64 "}", seq);
    nt_spool_entry_t e = {.seq = seq,
                          .arrival = 1764331200.5,
                          .attempts = (unsigned)(seq % 7),
                          .task = seq & 1 ? "odd" : "even",
                          .task_id = TID,
                          .body = body,
                          .body_len = strlen(body)};
    int rc = nt_spool_write(w->sp, &e);
    if (rc != 0 && w->errors++ == 0)
      w->first_error = rc;
  }
  return NULL;
}

typedef struct {
  size_t visited, bad, wrong;
  uint64_t last;
} count_t;

static int count_visit(const nt_spool_entry_t *e, void *arg) {
  count_t *c = arg;
  char body[64];
  snprintf(body, sizeof(body), "{\"seq\":%" PRIu64 "}", e->seq);
  if (strcmp(e->body, body) != 0 || e->attempts != e->seq % 7 ||
      strcmp(e->task, e->seq & 1 ? "odd" : "even") != 0 ||
      (c->visited > 0 && e->seq <= c->last))
    c->wrong++;
  c->last = e->seq;
  c->visited++;
  return NT_SPOOL_KEEP;
}

static void count_bad(const char *name, const char *why, void *arg) {
  (void)name;
  (void)why;
  ((count_t *)arg)->bad++;
}

static void test_concurrent_writers(void **state) {
  fixture_t *f = *state;
  /* The spooler thread and the sender thread write at once (never the
   * same seq): no write may take another's temporary file. */
  writer_t w[2] = {{.sp = f->sp, .first = 1},
                   {.sp = f->sp, .first = 1 + WRITERS_EACH}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_join(t[i], NULL), 0);
  for (int i = 0; i < 2; i++)
    if (w[i].errors != 0)
      fail_msg("writer %d: %d errors, the first %s", i, w[i].errors,
               strerror(w[i].first_error));
  assert_int_equal(nt_spool_sync(f->sp), 0);
  /* Exactly the 2000 entries, whole, and no temporary file. */
  struct dirent **names;
  int n = scandir(f->dir, &names, NULL, alphasort);
  assert_true(n >= 0);
  int entries = 0, others = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(names[i]->d_name, ".") != 0 &&
        strcmp(names[i]->d_name, "..") != 0) {
      size_t len = strlen(names[i]->d_name);
      if (len == 24 && strcmp(names[i]->d_name + 20, ".job") == 0)
        entries++;
      else
        others++;
    }
    free(names[i]);
  }
  free(names);
  assert_int_equal(entries, 2 * WRITERS_EACH);
  assert_int_equal(others, 0);
  count_t c = {0};
  assert_int_equal(nt_spool_load(f->sp, count_visit, count_bad, &c), 0);
  assert_int_equal(c.visited, 2 * WRITERS_EACH);
  assert_int_equal(c.bad, 0);
  assert_int_equal(c.wrong, 0);
  assert_true(nt_spool_max_seq(f->sp) == 2 * WRITERS_EACH);
}

/* A regression must fail, not hang the suite. */
static void watchdog_fired(int sig) {
  (void)sig;
  static const char msg[] = "load blocked: the watchdog fired\n";
  if (write(2, msg, sizeof(msg) - 1) < 0) {
  }
  _exit(1);
}

static void watchdog(unsigned seconds) {
  signal(SIGALRM, seconds ? watchdog_fired : SIG_DFL);
  alarm(seconds);
}

static size_t bad_index(const seen_t *s, const char *name) {
  for (size_t i = 0; i < s->bad; i++)
    if (strcmp(s->bad_names[i], name) == 0)
      return i;
  fail_msg("%s was not reported", name);
  return 0;
}

static void test_load_fifo_and_socket(void **state) {
  fixture_t *f = *state;
  write_entry(f, 41, "{\"n\":41}");
  write_entry(f, 45, "{\"n\":45}");
  /* A FIFO without a writer: a plain open would wait for one forever. */
  assert_int_equal(mkfifo(path_in(f, entry_name(42)), 0600), 0);
  /* A socket: open fails on it. */
  int sock = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(sock >= 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s",
           path_in(f, entry_name(44)));
  assert_int_equal(bind(sock, (struct sockaddr *)&addr, sizeof(addr)), 0);

  seen_t s = {0};
  watchdog(20);
  int moved = load(f, &s);
  watchdog(0);
  close(sock);
  assert_int_equal(moved, 2);
  assert_int_equal(s.visited, 2);
  assert_true(s.seqs[0] == 41 && s.seqs[1] == 45);
  assert_int_equal(s.bad, 2);
  assert_string_equal(s.bad_why[bad_index(&s, entry_name(42))],
                      "not a regular file");
  assert_string_equal(s.bad_why[bad_index(&s, entry_name(44))],
                      "not a regular file");
  /* Moved into corrupt/ as they are. */
  char path[512];
  struct stat st;
  snprintf(path, sizeof(path), "%s/corrupt/%s", f->dir, entry_name(42));
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  snprintf(path, sizeof(path), "%s/corrupt/%s", f->dir, entry_name(44));
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_false(exists(path_in(f, entry_name(42))));
  assert_false(exists(path_in(f, entry_name(44))));
}

static void test_load_never_follows_entry_link(void **state) {
  fixture_t *f = *state;
  /* The link points at a valid entry of the right seq: followed, it would
   * be sent (and, removed by visit, the victim would go). */
  nt_spool_entry_t e = entry(5, "task-a", "{\"followed\":1}");
  size_t len;
  char *data = nt_spool_encode(&e, &len);
  assert_non_null(data);
  char content[512];
  assert_true(len < sizeof(content));
  memcpy(content, data, len);
  content[len] = '\0';
  free(data);
  char *vic = victim(f, content);
  assert_int_equal(symlink(vic, path_in(f, entry_name(5))), 0);
  write_entry(f, 6, "{}");

  seen_t s = {.remove_all = true};
  assert_int_equal(load(f, &s), 1);
  assert_int_equal(s.visited, 1);
  assert_true(s.seqs[0] == 6);
  assert_int_equal(s.bad, 1);
  assert_string_equal(s.bad_names[0], entry_name(5));
  assert_non_null(strstr(s.bad_why[0], "symbolic link"));
  assert_victim_untouched(vic, content);
  /* The link itself is in corrupt/. */
  char path[512];
  struct stat st;
  snprintf(path, sizeof(path), "%s/corrupt/%s", f->dir, entry_name(5));
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  assert_string_equal(listing(f->dir), "corrupt");
}

static void test_load_never_follows_corrupt_link(void **state) {
  fixture_t *f = *state;
  /* corrupt/ a link to somewhere else: bad entries are deleted, never
   * moved through it. */
  char elsewhere[200];
  snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", f->root);
  assert_int_equal(mkdir(elsewhere, 0700), 0);
  assert_int_equal(symlink(elsewhere, path_in(f, "corrupt")), 0);
  write_file(path_in(f, entry_name(3)), "garbage\n", 8);
  write_file(path_in(f, entry_name(4)), "more garbage\n", 13);
  write_entry(f, 5, "{}");
  seen_t s = {0};
  assert_int_equal(load(f, &s), 2);
  assert_int_equal(s.visited, 1);
  assert_int_equal(s.bad, 2);
  for (size_t i = 0; i < 2; i++) {
    assert_non_null(strstr(s.bad_why[i], "deleted"));
    assert_non_null(strstr(s.bad_why[i], "corrupt/ is a symbolic link"));
  }
  assert_string_equal(listing(elsewhere), "");
  struct stat st;
  assert_int_equal(lstat(path_in(f, "corrupt"), &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  char want[256];
  snprintf(want, sizeof(want), "%s,corrupt", entry_name(5));
  assert_string_equal(listing(f->dir), want);
}

static void test_load_corrupt_not_a_directory(void **state) {
  fixture_t *f = *state;
  write_file(path_in(f, "corrupt"), "x", 1);
  write_file(path_in(f, entry_name(3)), "garbage\n", 8);
  seen_t s = {0};
  assert_int_equal(load(f, &s), 1);
  assert_int_equal(s.bad, 1);
  assert_non_null(strstr(s.bad_why[0], "deleted"));
  assert_non_null(strstr(s.bad_why[0], "not a directory"));
  assert_string_equal(listing(f->dir), "corrupt");
}

static void test_load_corrupt_keeps_earlier_copies(void **state) {
  fixture_t *f = *state;
  /* A name already in corrupt/ (a later run's bad entry of the same seq):
   * neither copy is lost. */
  write_file(path_in(f, entry_name(7)), "one", 3);
  seen_t s = {0};
  assert_int_equal(load(f, &s), 1);
  write_file(path_in(f, entry_name(7)), "two", 3);
  seen_t again = {0};
  assert_int_equal(load(f, &again), 1);
  char corrupt[256], want[256];
  snprintf(corrupt, sizeof(corrupt), "%s/corrupt", f->dir);
  snprintf(want, sizeof(want), "%s,%s.1", entry_name(7), entry_name(7));
  assert_string_equal(listing(corrupt), want);
}

static void test_load_stops_at_once(void **state) {
  fixture_t *f = *state;
  /* Shutdown during a long load: the visit that says stop is the last. */
  for (uint64_t seq = 1; seq <= 10; seq++)
    write_entry(f, seq, "{}");
  write_file(path_in(f, entry_name(11)), "garbage\n", 8);
  seen_t s = {.stop_at = 3, .remove_all = true};
  assert_int_equal(load(f, &s), 0);
  assert_int_equal(s.visited, 3);
  assert_int_equal(s.bad, 0);
  /* The first two were removed as asked; the one that said stop and the
   * rest were not touched (not even the bad one). */
  seen_t again = {0};
  assert_int_equal(load(f, &again), 1);
  assert_int_equal(again.visited, 8);
  assert_true(again.seqs[0] == 3);
  assert_int_equal(again.bad, 1);
}

static void test_load_moves_version_1_aside(void **state) {
  fixture_t *f = *state;
  const char *v1 = "notify_theeye spool 1\nseq 5\narrival 1764331200.0\n"
                   "attempts 0\ntask restart-nginx\nbody 2\n{}\n";
  size_t len;
  char *data = seal_str(v1, &len);
  write_file(path_in(f, entry_name(5)), data, len);
  write_entry(f, 6, "{}");
  seen_t s = {0};
  assert_int_equal(load(f, &s), 1);
  assert_int_equal(s.visited, 1);
  assert_true(s.seqs[0] == 6);
  assert_int_equal(s.bad, 1);
  assert_string_equal(s.bad_names[0], entry_name(5));
  assert_non_null(strstr(s.bad_why[0], "version 1"));
  /* Kept whole, for a human. */
  char path[512];
  snprintf(path, sizeof(path), "%s/corrupt/%s", f->dir, entry_name(5));
  size_t got_len;
  char *got = read_file(path, &got_len);
  assert_int_equal(got_len, len);
  assert_memory_equal(got, data, len);
  free(got);
  free(data);
}

static void test_load_name_must_match_seq(void **state) {
  fixture_t *f = *state;
  /* remove(seq) unlinks the seq's name: an entry under any other name
   * would never be removed, and be sent again at every start. */
  nt_spool_entry_t e = entry(7, "task-a", "{}");
  size_t len;
  char *data = nt_spool_encode(&e, &len);
  write_file(path_in(f, entry_name(8)), data, len);
  write_file(path_in(f, "7.job"), data, len);
  free(data);
  seen_t s = {0};
  assert_int_equal(load(f, &s), 2);
  assert_int_equal(s.visited, 0);
  assert_int_equal(s.bad, 2);
  for (size_t i = 0; i < 2; i++)
    assert_string_equal(s.bad_why[i], "file name does not match its seq");
}

static void test_load_keeps_own_temp_files(void **state) {
  fixture_t *f = *state;
  /* A temporary file of this open spool may be a write under way in
   * another thread; another process's is a leftover. */
  char own[128];
  nt_spool_temp_name(f->sp, 77, own, sizeof(own));
  write_file(path_in(f, own), "partial", 7);
  const char *stale = ".00000000000000000077.job.0123456789abcdef.tmp";
  write_file(path_in(f, stale), "partial", 7);
  seen_t s = {0};
  assert_int_equal(load(f, &s), 0);
  assert_true(exists(path_in(f, own)));
  assert_false(exists(path_in(f, stale)));
  /* At the next start it is a leftover too. */
  nt_spool_close(f->sp);
  char err[256];
  f->sp = nt_spool_open(f->dir, err, sizeof(err));
  assert_non_null(f->sp);
  seen_t again = {0};
  assert_int_equal(load(f, &again), 0);
  assert_string_equal(listing(f->dir), "");
}

static void test_remove_errors(void **state) {
  fixture_t *f = *state;
  /* An entry that cannot be removed says why (the spooler remembers the
   * job so as never to send it again). */
  assert_int_equal(mkdir(path_in(f, entry_name(3)), 0700), 0);
  write_file(path_in(f, "00000000000000000003.job/x"), "x", 1);
  assert_int_equal(nt_spool_remove(f->sp, 3), EISDIR);
  assert_true(exists(path_in(f, entry_name(3))));
  assert_int_equal(nt_spool_remove(f->sp, 4), 0);
}

static void test_max_seq(void **state) {
  fixture_t *f = *state;
  assert_true(nt_spool_max_seq(f->sp) == 0);
  write_entry(f, 100, "{}");
  write_entry(f, 5, "{}");
  /* Only names as write makes them count: "-1.job" read by strtoull would
   * be 2^64-1 and leave no seq above it. */
  write_file(path_in(f, "-1.job"), "x", 1);
  write_file(path_in(f, "99999999999999999999.job"), "x", 1);
  write_file(path_in(f, "0000000000000000200.job"), "x", 1);
  write_file(path_in(f, "00000000000000000300.job~"), "x", 1);
  write_file(path_in(f, ".00000000000000000400.job.tmp"), "x", 1);
  assert_true(nt_spool_max_seq(f->sp) == 100);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_round_trip_header_text),
      cmocka_unit_test(test_round_trip_any_body_bytes),
      cmocka_unit_test(test_round_trip_large_body),
      cmocka_unit_test(test_checksum_is_crc32),
      cmocka_unit_test(test_decode_rejects_every_prefix),
      cmocka_unit_test(test_decode_rejects_flipped_bits),
      cmocka_unit_test(test_decode_hand_sealed_good),
      cmocka_unit_test(test_decode_rejects_bad_magic),
      cmocka_unit_test(test_decode_rejects_body_length_mismatch),
      cmocka_unit_test(test_decode_rejects_missing_fields),
      cmocka_unit_test(test_decode_rejects_bad_numbers),
      cmocka_unit_test(test_decode_rejects_empty_or_infinite_arrival),
      cmocka_unit_test(test_decode_rejects_huge_attempts),
      cmocka_unit_test_setup_teardown(test_open_creates_dir_0700, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_open_errors, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_write_creates_0600_entry, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_rewrite_replaces_entry, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_in_seq_order, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_removes_when_visit_says_so,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_empty_dir, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_deletes_tmp_files, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_moves_corrupt_aside, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_corrupt_name_reused, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_directory_named_like_entry,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_remove, setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_write_error_dir_replaced_by_file,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_write_error_target_is_directory,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_write_error_disk_full, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_write_error_keeps_previous_entry,
                                      setup_open, teardown_dir),
      cmocka_unit_test(test_decode_rejects_bad_taskid),
      cmocka_unit_test(test_decode_rejects_version_1),
      cmocka_unit_test(test_decode_version_2_has_no_episode),
      cmocka_unit_test(test_decode_rejects_nul_in_header),
      cmocka_unit_test_setup_teardown(test_encode_refuses_what_would_not_decode,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_trust_symbolic_link, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_trust_not_a_directory, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_trust_open_to_group_or_others,
                                      setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_trust_owner, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_check_missing_dir, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_check_beside_open_spool, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_open_locks, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_open_lock_dies_with_process,
                                      setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_write_never_follows_temp_link,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_write_replaces_link_at_entry_name,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_concurrent_writers, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_fifo_and_socket, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_never_follows_entry_link,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_never_follows_corrupt_link,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_corrupt_not_a_directory,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_corrupt_keeps_earlier_copies,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_stops_at_once, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_moves_version_1_aside,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_name_must_match_seq, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_load_keeps_own_temp_files,
                                      setup_open, teardown_dir),
      cmocka_unit_test_setup_teardown(test_remove_errors, setup_open,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_max_seq, setup_open, teardown_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
