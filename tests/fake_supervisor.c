/* SPDX-License-Identifier: MIT
 *
 * Fake TheEye supervisor, a test tool for the notify_theeye collectd plugin.
 *
 * It imitates the three job-creation routes of the TheEye supervisor API,
 * records every request as one JSON line so tests can check exactly what the
 * plugin sent, and lets a test inject faults (error statuses, hangs, dropped
 * connections, delays, odd bodies) at run time through /_control on the same
 * port.  Run with --help for the command line and the control parameters.
 *
 * Faults for the fault-injection suite (tests/faults):
 *   rst=K          read the whole request, then reset the connection (TCP
 *                  RST, no answer) for the next K job requests (-1: until
 *                  changed); recorded with "fault":"rst".
 *   after_job=1    hang, close, rst and error statuses (>= 300) happen after
 *                  the job was created (recorded "job_id"): the supervisor
 *                  did the work, only its answer is lost or wrong.  0 (the
 *                  default): they create no job.
 *   body_mode=gzip the job JSON gzip-encoded (stored deflate blocks), with
 *                  Content-Encoding: gzip, whatever the client accepts.
 *   body_mode=huge the job JSON with a 5 MiB "padding" string member added
 *                  at its end.
 *   refuse=1       once the next job request that a close or rst fault
 *                  answers has been read, stop listening before that
 *                  connection is closed: from then on every connect is
 *                  refused, until the process is restarted.  A client that
 *                  resends the request at once on a fresh connection (as
 *                  libcurl does when a reused connection dies) meets a
 *                  refused connect.  /_control/stats says "refusing".
 *
 * Each recorded line also says when its request arrived and was answered
 * ("arrived", "answered": wall clock, microseconds; "answered" is absent when
 * no answer was sent) and in which order request lines arrived ("arrival",
 * counted across all connections, /_control included): the log's own order
 * ("n") is that of the answers, which differs once requests overlap.
 *
 * Load, for the herd test (bench/herd.py):
 *   capacity=N     at most N job requests (POSTs to the three job routes)
 *                  a second are let through, counted by the wall-clock
 *                  second of their arrival; the rest are answered 503 with
 *                  Retry-After (shed_retry_after), recorded with
 *                  "fault":"capacity".  0 (the default): no limit.
 *   down=S         for S seconds from now every job request is answered 503
 *                  with that Retry-After, recorded "fault":"down": an
 *                  outage behind a proxy that says so; then it comes back
 *                  by itself.  down=0 ends an outage at once.
 *   shed_retry_after=V  the Retry-After of those 503s (1 unless set; empty:
 *                  none; A-B: each answer draws its own whole number of
 *                  seconds from A to B, as a supervisor that spreads its
 *                  clients' returns would).  Status faults keep their own
 *                  retry_after.
 *   reset=1 clears these too.  --capacity N and --retry-after V set
 *   capacity= and shed_retry_after= at start-up, after --control.
 * A request a fault answers (status, hang, close, rst) is neither shed nor
 * counted against the capacity.  /_control/stats has, per second of
 * arrival since the start ("seconds": "first", the epoch second of index
 * 0, then arrays "seen", "accepted", "refused"), the job requests seen,
 * those that created a job with a 2xx, and those shed (capacity or down).
 *
 * --tls-cert FILE --tls-key FILE serve HTTPS instead of HTTP (PEM files;
 * /_control is then HTTPS too).  --control QUERY applies a control query
 * ("close=1&after_job=1") before the first connection is accepted, so a
 * restarted supervisor has its faults from its very first request.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define MAX_BODY (1024 * 1024)
/* body_mode=huge: this much padding inside the job's JSON. */
#define HUGE_PADDING (5 * 1024 * 1024)

/* Every yajl_gen call can fail; bail out to the caller's "fail" label. */
#define GEN(x)                                                                 \
  do {                                                                         \
    if ((x) != yajl_gen_status_ok)                                             \
      goto fail;                                                               \
  } while (0)

struct task {
  char id[25], secret[65];
  long nargs;
};

enum body_mode { BODY_DEFAULT, BODY_CUSTOM, BODY_EMPTY, BODY_GZIP, BODY_HUGE };
static const char *const body_mode_names[] = {"default", "custom", "empty",
                                              "gzip", "huge"};
#define BODY_MODES (sizeof body_mode_names / sizeof *body_mode_names)

enum route { R_NONE, R_SECRET, R_TASK, R_BEARER, R_RESULT };

/* How a job created from now on ends, for the result route: set by
 * /_control (result=, result_after_ms=), kept with the job. */
enum result_kind { RES_SUCCESS, RES_FAILURE, RES_NEVER, RES_GONE };
static const char *const result_names[] = {"success", "failure", "never",
                                           "gone"};
#define RESULT_KINDS (sizeof result_names / sizeof *result_names)
struct fjob {
  double created; /* wall clock */
  enum result_kind result;
  long after_ms; /* finished this long after its creation */
};

static struct {
  struct task *tasks;
  const char **customers, **tokens;
  size_t ntasks, ncustomers, ntokens;
  bool print_jobs;
  uint32_t boot;   /* job id prefix, so ids stay unique across restarts */
  bool boot_given; /* --boot: a restart of an earlier run, whose jobs the
                      result route still knows */
} cfg;

/* Fault counts are "job requests left"; -1 means until reset. */
struct faults {
  int status;
  long status_count, hang, close, rst, delay_ms;
  bool after_job; /* hang, close, rst and error statuses create the job */
  bool refuse;    /* stop listening at the next close or rst */
  enum result_kind result;
  long result_after_ms;
  long hold_ms;   /* the result route holds a request at most this long (0:
                     its timeout parameter) */
  bool see_other; /* after a hold: 303 to ask again, rather than 408 */
  long output_kb; /* a finished job's output, that long, before its state */
  char *retry_after, *body;
  enum body_mode body_mode;
  long capacity;          /* job requests let through a second; 0: any */
  double down_until;      /* wall clock: job requests shed until then */
  char *shed_retry_after; /* Retry-After of the shed; NULL: SHED_RETRY */
  bool shed_quiet;        /* shed_retry_after= (empty): no Retry-After */
};

/* The Retry-After of a shed request unless shed_retry_after says. */
#define SHED_RETRY "1"
/* Seconds of arrival whose capacity counts are kept: a request decided
 * later than that after its arrival is shed. */
#define WINDOWS 8

/* Job requests of one second of arrival, for /_control/stats. */
struct second {
  unsigned long seen, accepted, refused;
};

/* One lock guards everything shared: faults, counters, log and stdout. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake; /* hung requests released, or shutdown */
  FILE *log;
  struct faults f;
  unsigned long requests, jobs, conns, hang_gen, arrivals;
  long holding;       /* result requests held right now */
  double started;     /* wall clock */
  struct fjob *fjobs; /* by job number - 1 */
  size_t fjobs_size;
  long hung;
  bool stopping;
  struct MHD_Daemon *daemon;
  int quiesced_fd; /* the listener once refuse stopped it, else -1 */
  struct {
    long second, count;
  } window[WINDOWS];      /* capacity used, by second of arrival */
  struct second *seconds; /* by second of arrival since first_second */
  size_t seconds_size;    /* allocated */
  size_t seconds_used;    /* 1 + the last one counted */
  long first_second;      /* floor(started) */
} st = {.lock = PTHREAD_MUTEX_INITIALIZER, .quiesced_fd = -1};

/* The faults that apply to one job request, copied out under the lock so
 * /_control can change them meanwhile. */
struct decision {
  bool hang, close, rst, after_job, refuse;
  int status;
  long delay_ms;
  unsigned long hang_gen;
  char *retry_after, *body;
  enum body_mode body_mode;
  const char *shed; /* "down" or "capacity": answered 503, no job */
};

struct request {
  char *uri;             /* raw request target as received, query included */
  double time;           /* arrival of the request line, wall clock */
  unsigned long arrival; /* rank of that arrival among all requests */
  double answered;       /* when the answer was handed over; 0: none */
  bool started, control, too_large;
  char *body; /* kept NUL-terminated for yajl_tree_parse */
  size_t len, cap;
  yajl_val json;
  int status; /* 0: no answer sent */
  const char *fault;
  long delay_ms;
  char job_id[25];
  bool job_request; /* a POST to a job route: counted per second */
  char *resp;
  size_t resp_len; /* of resp, which may hold NULs (gzip) */
  bool resp_gzip;  /* resp is gzip-encoded: say so in Content-Encoding */
};

static void lock(void) {
  if (pthread_mutex_lock(&st.lock) != 0)
    abort(); /* only possible on a programming error */
}

static void unlock(void) {
  if (pthread_mutex_unlock(&st.lock) != 0)
    abort();
}

static double wall_clock(void) {
  struct timespec now;
  if (clock_gettime(CLOCK_REALTIME, &now) != 0)
    return 0;
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static bool parse_long(const char *s, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
    return false;
  *out = v;
  return true;
}

static bool is_hex(const char *s, size_t len, bool lower_only) {
  if (strlen(s) != len)
    return false;
  for (; *s; s++)
    if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f') &&
        (lower_only || !(*s >= 'A' && *s <= 'F')))
      return false;
  return true;
}

static bool in_list(const char **list, size_t n, const char *s) {
  for (size_t i = 0; s != NULL && i < n; i++)
    if (strcmp(list[i], s) == 0)
      return true;
  return false;
}

static const struct task *find_task(const char *id) {
  for (size_t i = 0; id != NULL && i < cfg.ntasks; i++)
    if (strcmp(cfg.tasks[i].id, id) == 0)
      return &cfg.tasks[i];
  return NULL;
}

static yajl_val body_field(yajl_val body, const char *key, yajl_type type) {
  const char *path[] = {key, NULL};
  return body != NULL ? yajl_tree_get(body, path, type) : NULL;
}

static const char *body_string(yajl_val body, const char *key) {
  yajl_val v = body_field(body, key, yajl_t_string);
  return v != NULL ? YAJL_GET_STRING(v) : NULL;
}

/* ---- JSON output ---- */

/* Length of the well-formed UTF-8 sequence at s, 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len;
  uint32_t cp, min;
  if (s[0] < 0x80)
    return 1;
  if ((s[0] & 0xe0) == 0xc0)
    len = 2, cp = s[0] & 0x1f, min = 0x80;
  else if ((s[0] & 0xf0) == 0xe0)
    len = 3, cp = s[0] & 0x0f, min = 0x800;
  else if ((s[0] & 0xf8) == 0xf0)
    len = 4, cp = s[0] & 0x07, min = 0x10000;
  else
    return 0;
  for (size_t i = 1; i < len; i++) {
    if (i >= n || (s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

/* yajl copies invalid UTF-8 through unchanged, which would make the log line
 * unparseable; such bytes become U+FFFD ("body_hex" keeps the exact bytes). */
static yajl_gen_status gen_str(yajl_gen g, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  unsigned char *out = malloc(n * 3 + 1);
  size_t o = 0, l;
  if (out == NULL)
    return yajl_gen_invalid_string;
  for (size_t i = 0; i < n; i += l ? l : 1) {
    if ((l = utf8_len(u + i, n - i)) != 0) {
      memcpy(out + o, u + i, l);
      o += l;
    } else {
      memcpy(out + o, "\xef\xbf\xbd", 3);
      o += 3;
    }
  }
  yajl_gen_status status = yajl_gen_string(g, out, o);
  free(out);
  return status;
}

static yajl_gen_status gen_cstr(yajl_gen g, const char *s) {
  return s != NULL ? gen_str(g, s, strlen(s)) : yajl_gen_null(g);
}

static yajl_gen_status gen_kv_int(yajl_gen g, const char *k, long long v) {
  yajl_gen_status s = gen_cstr(g, k);
  return s == yajl_gen_status_ok ? yajl_gen_integer(g, v) : s;
}

static yajl_gen_status gen_kv_str(yajl_gen g, const char *k, const char *v) {
  yajl_gen_status s = gen_cstr(g, k);
  return s == yajl_gen_status_ok ? gen_cstr(g, v) : s;
}

/* Echoes a parsed JSON value, so task arguments come back as they were sent. */
static yajl_gen_status gen_tree(yajl_gen g, yajl_val v) {
  yajl_gen_status s = yajl_gen_status_ok;
  switch (v != NULL ? v->type : yajl_t_null) {
  case yajl_t_string:
    return gen_cstr(g, v->u.string);
  case yajl_t_number:
    return yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
  case yajl_t_true:
  case yajl_t_false:
    return yajl_gen_bool(g, v->type == yajl_t_true);
  case yajl_t_object:
    if ((s = yajl_gen_map_open(g)) != yajl_gen_status_ok)
      return s;
    for (size_t i = 0; i < v->u.object.len && s == yajl_gen_status_ok; i++)
      if ((s = gen_cstr(g, v->u.object.keys[i])) == yajl_gen_status_ok)
        s = gen_tree(g, v->u.object.values[i]);
    return s == yajl_gen_status_ok ? yajl_gen_map_close(g) : s;
  case yajl_t_array:
    if ((s = yajl_gen_array_open(g)) != yajl_gen_status_ok)
      return s;
    for (size_t i = 0; i < v->u.array.len && s == yajl_gen_status_ok; i++)
      s = gen_tree(g, v->u.array.values[i]);
    return s == yajl_gen_status_ok ? yajl_gen_array_close(g) : s;
  default:
    return yajl_gen_null(g);
  }
}

static yajl_gen_status gen_args(yajl_gen g, yajl_val args) {
  if (args != NULL)
    return gen_tree(g, args);
  yajl_gen_status s = yajl_gen_array_open(g);
  return s == yajl_gen_status_ok ? yajl_gen_array_close(g) : s;
}

static char *gen_finish(yajl_gen g) {
  const unsigned char *buf;
  size_t len;
  if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
    return NULL;
  return strndup((const char *)buf, len);
}

/* ---- recording ---- */

/* Header names are lower-cased and repeated headers joined with ", " (RFC
 * 9110), so the JSON object has unique keys and no value is lost. */
struct headers {
  char **kv; /* name, value, name, value, ... */
  size_t n;
  bool failed;
};

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value) {
  struct headers *h = cls;
  char *name = strdup(key), *v = NULL, **kv;
  size_t i = 0;
  (void)kind;
  if (name == NULL)
    goto fail;
  for (char *p = name; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  while (i < h->n && strcmp(h->kv[2 * i], name) != 0)
    i++;
  if (i < h->n) {
    free(name);
    if (asprintf(&v, "%s, %s", h->kv[2 * i + 1], value ? value : "") < 0)
      goto fail;
    free(h->kv[2 * i + 1]);
    h->kv[2 * i + 1] = v;
    return MHD_YES;
  }
  if ((kv = realloc(h->kv, (2 * h->n + 2) * sizeof *kv)) != NULL)
    h->kv = kv;
  if (kv == NULL || (v = strdup(value ? value : "")) == NULL) {
    free(name);
    goto fail;
  }
  h->kv[2 * h->n] = name;
  h->kv[2 * h->n++ + 1] = v;
  return MHD_YES;
fail:
  h->failed = true;
  return MHD_NO;
}

struct gen_ctx {
  yajl_gen g;
  bool failed;
};

static enum MHD_Result gen_query_arg(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value) {
  struct gen_ctx *ctx = cls;
  (void)kind;
  ctx->failed = gen_kv_str(ctx->g, key, value) != yajl_gen_status_ok;
  return ctx->failed ? MHD_NO : MHD_YES;
}

/* Counts a job request under the second of its arrival. Under the lock;
 * a count that memory cannot hold is lost, with a line saying so. */
/* Per-second counts for the first day of a run (a herd lasts minutes):
 * bounded memory, and a clock stepped forward costs no huge array. */
#define SECONDS_COUNTED 86400

static void count_second(const struct request *r) {
  long sec = (long)r->time - st.first_second;
  if (!r->job_request || sec < 0 || sec >= SECONDS_COUNTED)
    return;
  if ((size_t)sec >= st.seconds_size) {
    size_t size = st.seconds_size ? st.seconds_size : 1024;
    while (size <= (size_t)sec)
      size *= 2;
    struct second *grown = realloc(st.seconds, size * sizeof *grown);
    if (grown == NULL) {
      fputs("fake_supervisor: out of memory counting a second\n", stderr);
      return;
    }
    memset(grown + st.seconds_size, 0,
           (size - st.seconds_size) * sizeof *grown);
    st.seconds = grown;
    st.seconds_size = size;
  }
  struct second *s = &st.seconds[sec];
  s->seen++;
  if (r->job_id[0] != '\0' && r->status >= 200 && r->status < 300)
    s->accepted++;
  if (strcmp(r->fault, "capacity") == 0 || strcmp(r->fault, "down") == 0)
    s->refused++;
  if ((size_t)sec >= st.seconds_used)
    st.seconds_used = (size_t)sec + 1;
}

static void record(struct MHD_Connection *c, struct request *r,
                   const char *method, const char *path, const char *version) {
  struct headers h = {0};
  struct gen_ctx q = {yajl_gen_alloc(NULL), false};
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  char *hex = malloc(r->len * 2 + 1), stamp[32];
  const unsigned char *buf;
  size_t len;

  lock(); /* taken first so "n" follows the order of lines in the file */
  count_second(r);
  if (hex == NULL || q.g == NULL ||
      MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, &h) < 0 ||
      h.failed)
    goto fail;
  for (size_t i = 0; i < r->len; i++)
    snprintf(hex + 2 * i, 3, "%02x", (unsigned char)r->body[i]);
  hex[r->len * 2] = '\0';
  snprintf(stamp, sizeof stamp, "%.3f", r->time);
  GEN(yajl_gen_map_open(q.g));
  GEN(gen_kv_int(q.g, "n", (long long)++st.requests));
  GEN(gen_cstr(q.g, "time"));
  GEN(yajl_gen_number(q.g, stamp, strlen(stamp)));
  /* Milliseconds cannot order an answer and the next request on the same
   * connection, which may follow it within microseconds. */
  snprintf(stamp, sizeof stamp, "%.6f", r->time);
  GEN(gen_cstr(q.g, "arrived"));
  GEN(yajl_gen_number(q.g, stamp, strlen(stamp)));
  GEN(gen_kv_int(q.g, "arrival", (long long)r->arrival));
  if (r->answered > 0) {
    snprintf(stamp, sizeof stamp, "%.6f", r->answered);
    GEN(gen_cstr(q.g, "answered"));
    GEN(yajl_gen_number(q.g, stamp, strlen(stamp)));
  }
  GEN(gen_kv_str(q.g, "method", method));
  GEN(gen_kv_str(q.g, "uri", r->uri));
  GEN(gen_kv_str(q.g, "path", path));
  GEN(gen_kv_str(q.g, "http_version", version));
  GEN(gen_cstr(q.g, "query"));
  GEN(yajl_gen_map_open(q.g));
  if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, gen_query_arg, &q) <
          0 ||
      q.failed)
    goto fail;
  GEN(yajl_gen_map_close(q.g));
  GEN(gen_cstr(q.g, "headers"));
  GEN(yajl_gen_map_open(q.g));
  for (size_t i = 0; i < h.n; i++)
    GEN(gen_kv_str(q.g, h.kv[2 * i], h.kv[2 * i + 1]));
  GEN(yajl_gen_map_close(q.g));
  GEN(gen_cstr(q.g, "body"));
  GEN(gen_str(q.g, r->body ? r->body : "", r->len));
  GEN(gen_kv_str(q.g, "body_hex", hex));
  GEN(gen_cstr(q.g, "body_valid_json"));
  GEN(yajl_gen_bool(q.g, r->json != NULL));
  if (r->too_large) {
    GEN(gen_cstr(q.g, "body_truncated"));
    GEN(yajl_gen_bool(q.g, 1));
  }
  GEN(gen_kv_int(q.g, "status", r->status));
  GEN(gen_kv_str(q.g, "fault", r->fault));
  if (r->delay_ms > 0)
    GEN(gen_kv_int(q.g, "delay_ms", r->delay_ms));
  if (r->job_id[0] != '\0')
    GEN(gen_kv_str(q.g, "job_id", r->job_id));
  GEN(gen_kv_int(q.g, "connection",
                 ci ? (long long)(uintptr_t)ci->socket_context : 0));
  GEN(yajl_gen_map_close(q.g));
  GEN(yajl_gen_get_buf(q.g, &buf, &len));
  if (fwrite(buf, 1, len, st.log) != len || fputc('\n', st.log) == EOF ||
      fflush(st.log) != 0)
    perror("fake_supervisor: writing log");
  goto done;
fail:
  /* A lost line would make tests fail obscurely; say so loudly instead. */
  fprintf(stderr, "fake_supervisor: cannot record request %s\n", r->uri);
done:
  unlock();
  if (q.g != NULL)
    yajl_gen_free(q.g);
  for (size_t i = 0; i < 2 * h.n; i++)
    free(h.kv[i]);
  free(h.kv);
  free(hex);
}

/* ---- job requests ---- */

/* Takes buf (NULL makes respond() drop the connection, as out of memory). */
static int set_answer_buf(struct request *r, int status, char *buf, size_t len,
                          bool gzip) {
  r->status = status;
  free(r->resp);
  r->resp = buf;
  r->resp_len = buf != NULL ? len : 0;
  r->resp_gzip = gzip;
  return status;
}

static int set_answer(struct request *r, int status, const char *body) {
  char *copy = strdup(body);
  return set_answer_buf(r, status, copy, copy ? strlen(copy) : 0, false);
}

static int set_error(struct request *r, int status, const char *msg) {
  char buf[256];
  snprintf(buf, sizeof buf, "{\"statusCode\":%d,\"message\":\"%s\"}", status,
           msg);
  return set_answer(r, status, buf);
}

static enum MHD_Result respond_buf(struct MHD_Connection *c, int status,
                                   const char *body, size_t len,
                                   const char *type, const char *retry_after,
                                   bool gzip) {
  struct MHD_Response *resp;
  enum MHD_Result ret = MHD_NO;
  if (body == NULL || (resp = MHD_create_response_from_buffer(
                           len, (void *)body, MHD_RESPMEM_MUST_COPY)) == NULL)
    return MHD_NO;
  if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) ==
          MHD_YES &&
      (!gzip || MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                        "gzip") == MHD_YES) &&
      (retry_after == NULL ||
       MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
                               retry_after) == MHD_YES) &&
      (status != MHD_HTTP_METHOD_NOT_ALLOWED ||
       MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST") == MHD_YES))
    ret = MHD_queue_response(c, (unsigned)status, resp);
  MHD_destroy_response(resp);
  return ret;
}

/* An answer of the result route: a 303 says where to ask again. */
static enum MHD_Result respond_result(struct MHD_Connection *c,
                                      const struct request *r,
                                      const char *location) {
  struct MHD_Response *resp;
  enum MHD_Result ret = MHD_NO;
  if (r->resp == NULL ||
      (resp = MHD_create_response_from_buffer(r->resp_len, (void *)r->resp,
                                              MHD_RESPMEM_MUST_COPY)) == NULL)
    return MHD_NO;
  if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                              "application/json") == MHD_YES &&
      (location[0] == '\0' ||
       MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location) ==
           MHD_YES))
    ret = MHD_queue_response(c, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result respond(struct MHD_Connection *c, int status,
                               const char *body, const char *type,
                               const char *retry_after) {
  return respond_buf(c, status, body, body ? strlen(body) : 0, type,
                     retry_after, false);
}

/* ---- odd bodies ---- */

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n) {
  crc = ~crc;
  while (n-- > 0) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++)
      crc = crc >> 1 ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

static void put_le32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> 8 * i);
}

/* A gzip member (RFC 1952) holding data in deflate "stored" blocks (RFC
 * 1951 3.2.4): valid gzip that any decoder reads, and no zlib needed. */
static char *gzip_stored(const char *data, size_t n, size_t *out_len) {
  size_t blocks = n / 65535 + 1, len = 10 + 5 * blocks + n + 8, o = 10;
  unsigned char *out = malloc(len);
  static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
  if (out == NULL)
    return NULL;
  memcpy(out, head, sizeof head);
  for (size_t off = 0, b = 0; b < blocks; b++) {
    size_t k = n - off < 65535 ? n - off : 65535;
    out[o++] = b + 1 == blocks; /* BFINAL, BTYPE 00: stored */
    out[o++] = (unsigned char)k;
    out[o++] = (unsigned char)(k >> 8);
    out[o++] = (unsigned char)~k;
    out[o++] = (unsigned char)(~k >> 8);
    memcpy(out + o, data + off, k);
    o += k;
    off += k;
  }
  put_le32(out + o, crc32_update(0, (const unsigned char *)data, n));
  put_le32(out + o + 4, (uint32_t)n);
  *out_len = len;
  return (char *)out;
}

/* The job with a string member of HUGE_PADDING bytes added at its end: still
 * one valid JSON object, the "id" first. */
static char *huge_job(const char *job, size_t *out_len) {
  static const char pad_key[] = ",\"padding\":\"";
  size_t jl = strlen(job);
  if (jl < 2 || job[jl - 1] != '}')
    return NULL;
  size_t len = jl - 1 + sizeof pad_key - 1 + HUGE_PADDING + 2;
  char *out = malloc(len + 1), *p = out;
  if (out == NULL)
    return NULL;
  memcpy(p, job, jl - 1);
  p += jl - 1;
  memcpy(p, pad_key, sizeof pad_key - 1);
  p += sizeof pad_key - 1;
  memset(p, 'x', HUGE_PADDING);
  p += HUGE_PADDING;
  memcpy(p, "\"}", 3);
  *out_len = len;
  return out;
}

/* Creates a job and answers with it, or with the body override. */
/* A job's own secret: any 64-hex string will do; splitmix64 just makes it
 * look random, and lets the result route check it without storing it. */
static void job_secret(unsigned long no, char secret[65]) {
  uint64_t x = ((uint64_t)cfg.boot << 32) ^ no;
  for (int i = 0; i < 4; i++) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    snprintf(secret + 16 * i, 17, "%016llx", (unsigned long long)(z ^ z >> 31));
  }
}

static void make_job(struct request *r, int status, const char *task_id,
                     yajl_val args, const struct decision *d) {
  yajl_gen g = yajl_gen_alloc(NULL), pg = NULL;
  char secret[65], *job = NULL, *printed = NULL;
  unsigned long no;

  lock();
  no = ++st.jobs;
  if (no > st.fjobs_size) {
    size_t size = st.fjobs_size ? 2 * st.fjobs_size : 1024;
    struct fjob *grown = realloc(st.fjobs, size * sizeof(*grown));
    if (grown != NULL) {
      st.fjobs = grown;
      st.fjobs_size = size;
    }
  }
  if (no <= st.fjobs_size)
    st.fjobs[no - 1] = (struct fjob){.created = wall_clock(),
                                     .result = st.f.result,
                                     .after_ms = st.f.result_after_ms};
  unlock();
  snprintf(r->job_id, sizeof r->job_id, "%08x%016lx", (unsigned)cfg.boot, no);
  job_secret(no, secret);
  const char *fields[] = {"id",        r->job_id,   "task_id", task_id,
                          "name",      "fake task", "state",   "in_progress",
                          "lifecycle", "ready",     "secret",  secret};
  if (g == NULL)
    goto fail;
  GEN(yajl_gen_map_open(g));
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i += 2)
    GEN(gen_kv_str(g, fields[i], fields[i + 1]));
  GEN(gen_cstr(g, "task_arguments_values"));
  GEN(gen_args(g, args));
  GEN(yajl_gen_map_close(g));
  job = gen_finish(g);
  if (cfg.print_jobs && (pg = yajl_gen_alloc(NULL)) != NULL &&
      gen_args(pg, args) == yajl_gen_status_ok &&
      (printed = gen_finish(pg)) != NULL) {
    lock();
    if (printf("job %lu: task %s arguments %s\n", no, task_id, printed) < 0 ||
        fflush(stdout) != 0)
      perror("fake_supervisor: stdout");
    unlock();
  }
fail:
  if (d->body_mode == BODY_CUSTOM || d->body_mode == BODY_EMPTY)
    set_answer(r, status,
               d->body_mode == BODY_CUSTOM && d->body ? d->body : "");
  else if (job == NULL)
    set_error(r, 500, "fake supervisor: out of memory");
  else if (d->body_mode == BODY_GZIP || d->body_mode == BODY_HUGE) {
    size_t len = 0;
    char *buf = d->body_mode == BODY_GZIP ? gzip_stored(job, strlen(job), &len)
                                          : huge_job(job, &len);
    if (buf != NULL)
      set_answer_buf(r, status, buf, len, d->body_mode == BODY_GZIP);
    else
      set_error(r, 500, "fake supervisor: out of memory");
  } else
    set_answer(r, status, job);
  free(job);
  free(printed);
  if (g != NULL)
    yajl_gen_free(g);
  if (pg != NULL)
    yajl_gen_free(pg);
}

/* The checks run in a fixed order, so a request with several problems always
 * gets the same error. */
static int process_job(struct MHD_Connection *c, struct request *r,
                       enum route route, const char *task_seg,
                       const char *secret_seg, const struct decision *d) {
  /* An empty body is what a client sends for a task without arguments. */
  bool body_ok = r->len == 0 || (r->json != NULL && YAJL_IS_OBJECT(r->json));
  yajl_val body = body_ok ? r->json : NULL;
  const char *customer =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "customer");
  const struct task *t;

  if (route == R_BEARER) {
    const char *auth = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 ||
        !in_list(cfg.tokens, cfg.ntokens, auth + 7))
      return set_error(r, 401, "Unauthorized");
    if (customer != NULL && !in_list(cfg.customers, cfg.ncustomers, customer))
      return set_error(r, 404, "organization not found");
  } else if (route == R_SECRET) {
    if (customer == NULL)
      customer = body_string(body, "customer");
    if (customer == NULL || *customer == '\0')
      return set_error(r, 403, "customer is required");
    if (!in_list(cfg.customers, cfg.ncustomers, customer))
      return set_error(r, 404, "organization not found");
  }
  if (route == R_TASK) {
    if ((t = find_task(task_seg)) == NULL)
      return set_error(r, 404, "task not found");
    if (strcmp(secret_seg, t->secret) != 0)
      return set_answer(r, 403, "\"invalid secret\"");
    if (!body_ok)
      return set_error(r, 400, "invalid body");
  } else {
    if (!body_ok)
      return set_error(r, 400, "invalid body");
    if ((t = find_task(body_string(body, "task"))) == NULL)
      return set_error(r, 404, "task not found");
    if (route == R_SECRET && strcmp(secret_seg, t->secret) != 0)
      return set_answer(r, 403, "\"invalid secret\"");
  }
  yajl_val args = body_field(body, "task_arguments", yajl_t_any);
  if (args != NULL && !YAJL_IS_ARRAY(args))
    return set_error(r, 400, "invalid body");
  if ((long)(args ? args->u.array.len : 0) < t->nargs) {
    char msg[64];
    snprintf(msg, sizeof msg, "Invalid Task Arguments. Expected %ld", t->nargs);
    return set_error(r, 400, msg);
  }
  make_job(r, 200, t->id, args, d);
  return r->status;
}

static bool take(long *count) {
  if (*count == 0)
    return false;
  if (*count > 0)
    (*count)--;
  return true;
}

/* Only the fault that decides the answer is consumed: hang, then close, then
 * rst, then status.  The delay applies to every job request that is not
 * hung. */
static bool take_faults(struct decision *d) {
  struct faults *f = &st.f;
  lock();
  d->retry_after = f->retry_after ? strdup(f->retry_after) : NULL;
  d->body = f->body ? strdup(f->body) : NULL;
  bool ok = (f->retry_after == NULL || d->retry_after != NULL) &&
            (f->body == NULL || d->body != NULL);
  d->delay_ms = f->delay_ms;
  d->body_mode = f->body_mode;
  d->hang_gen = st.hang_gen;
  d->after_job = f->after_job;
  /* Out of memory consumes nothing. */
  if (ok && (d->hang = take(&f->hang)))
    st.hung++;
  else if (ok && !(d->close = take(&f->close)) && !(d->rst = take(&f->rst)) &&
           f->status != 0 && take(&f->status_count))
    d->status = f->status;
  if ((d->close || d->rst) && f->refuse) {
    d->refuse = true;
    f->refuse = false;
  }
  unlock();
  return ok;
}

/* Whether a job request that no fault answers is shed: the supervisor is
 * down (down=), or the second of its arrival already let capacity= job
 * requests through. A shed request takes the shed's Retry-After. False
 * only when memory ran out (then nothing is shed). */
static bool take_shed(const struct request *r, struct decision *d) {
  struct faults *f = &st.f;
  bool ok = true;
  if (d->hang || d->close || d->rst || d->status != 0)
    return true;
  lock();
  long sec = (long)r->time, slot = sec % WINDOWS;
  if (r->time < f->down_until)
    d->shed = "down";
  else if (f->capacity > 0) {
    if (st.window[slot].second < sec) {
      st.window[slot].second = sec;
      st.window[slot].count = 0;
    }
    /* A request decided WINDOWS seconds after its arrival has lost its
     * window: shed, never let through beyond the capacity. */
    if (st.window[slot].second != sec || st.window[slot].count >= f->capacity)
      d->shed = "capacity";
    else
      st.window[slot].count++;
  }
  if (d->shed != NULL) {
    const char *v = f->shed_quiet         ? NULL
                    : f->shed_retry_after ? f->shed_retry_after
                                          : SHED_RETRY;
    char drawn[24];
    long lo, hi;
    if (v != NULL && sscanf(v, "%ld-%ld", &lo, &hi) == 2 && lo >= 0 &&
        hi >= lo) {
      snprintf(drawn, sizeof drawn, "%ld", lo + random() % (hi - lo + 1));
      v = drawn;
    }
    free(d->retry_after);
    d->retry_after = v != NULL ? strdup(v) : NULL;
    if (v != NULL && d->retry_after == NULL) {
      d->shed = NULL;
      ok = false;
    }
  }
  unlock();
  return ok;
}

/* Waits on the condition so that a release or shutdown ends the wait at once;
 * with a thread per connection this blocks nobody else. */
static void wait_for(long delay_ms, const unsigned long *hang_gen) {
  struct timespec dl;
  if (clock_gettime(CLOCK_MONOTONIC, &dl) != 0)
    abort(); /* cannot fail on Linux */
  dl.tv_sec +=
      delay_ms / 1000 + (dl.tv_nsec + delay_ms % 1000 * 1000000) / 1000000000;
  dl.tv_nsec = (dl.tv_nsec + delay_ms % 1000 * 1000000) % 1000000000;
  lock();
  while (!st.stopping && (hang_gen == NULL || st.hang_gen == *hang_gen)) {
    int rc = hang_gen != NULL ? pthread_cond_wait(&st.wake, &st.lock)
                              : pthread_cond_timedwait(&st.wake, &st.lock, &dl);
    if (rc == ETIMEDOUT)
      break;
  }
  unlock();
}

/* Aborts the connection with a TCP RST: disconnecting the socket (connect
 * with AF_UNSPEC) sends it at once, before MHD's own shutdown could send a
 * FIN, and SO_LINGER 0 makes MHD's close abort too, should that fail. */
static void reset_connection(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  struct sockaddr sa = {.sa_family = AF_UNSPEC};
  if (ci == NULL) {
    fputs("fake_supervisor: no socket to reset\n", stderr);
    return;
  }
  if (setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
    perror("fake_supervisor: SO_LINGER");
  if (connect(ci->connect_fd, &sa, sizeof sa) != 0)
    perror("fake_supervisor: resetting a connection");
}

/* refuse=1: stops accepting for good.  MHD stops polling the listener
 * (quiesce), then shutting the listening socket down takes it out of the
 * LISTEN state, so the kernel refuses every new connect at once; MHD's
 * documentation wants the socket itself closed only after MHD_stop_daemon. */
static void stop_listening(void) {
  lock();
  if (st.quiesced_fd < 0 && st.daemon != NULL) {
    MHD_socket fd = MHD_quiesce_daemon(st.daemon);
    if (fd == MHD_INVALID_SOCKET)
      fputs("fake_supervisor: cannot stop listening\n", stderr);
    else if (shutdown(fd, SHUT_RDWR) != 0)
      perror("fake_supervisor: shutting the listener down");
    if (fd != MHD_INVALID_SOCKET)
      st.quiesced_fd = fd;
  }
  unlock();
}

static enum route match_route(const char *url, char **task, char **secret,
                              char **copy) {
  char *seg[6], *s;
  int n = 0;
  if (url[0] != '/' || (*copy = s = strdup(url + 1)) == NULL)
    return R_NONE;
  for (; n < 6 && s != NULL; n++) {
    seg[n] = s;
    if ((s = strchr(s, '/')) != NULL)
      *s++ = '\0';
  }
  if (s != NULL)
    return R_NONE; /* more segments than any route has */
  if (n == 1 && strcmp(seg[0], "job") == 0)
    return R_BEARER;
  if (n == 3 && strcmp(seg[0], "job") == 0 && strcmp(seg[1], "secret") == 0 &&
      *(*secret = seg[2]) != '\0')
    return R_SECRET;
  if (n == 5 && strcmp(seg[0], "job") == 0 && strcmp(seg[2], "secret") == 0 &&
      strcmp(seg[4], "result") == 0) {
    *task = seg[1]; /* the job's id */
    *secret = seg[3];
    return R_RESULT;
  }
  if (n == 5 && strcmp(seg[0], "task") == 0 && *(*task = seg[1]) != '\0' &&
      strcmp(seg[2], "secret") == 0 && strcmp(seg[4], "job") == 0) {
    *secret = seg[3];
    return R_TASK;
  }
  return R_NONE;
}

/* GET /job/<id>/secret/<job secret>/result?full&timeout=N, as the
 * supervisor answers it: at once when the job has finished (200 with the
 * job when it succeeded, 500 with it otherwise), else held up to the
 * timeout (or hold_ms) and then 408 (or 303 with see_other): "ask again". */
static int process_result(struct MHD_Connection *c, struct request *r,
                          const char *url, const char *id, const char *secret,
                          char *location, size_t location_size) {
  unsigned boot;
  unsigned long no;
  char want[65], tail;
  if (strlen(id) != 24 || !is_hex(id, 24, true))
    return set_error(r, 400, "invalid job id");
  if (sscanf(id, "%8x%16lx%c", &boot, &no, &tail) != 2 || boot != cfg.boot)
    return set_error(r, 404, "Not Found");
  lock();
  bool known = no >= 1 && no <= st.jobs && no <= st.fjobs_size;
  struct fjob j = known ? st.fjobs[no - 1] : (struct fjob){0};
  if (!known && cfg.boot_given && no >= 1) {
    /* A job of the run before a restart (same --boot): it ends as jobs
     * created now would, counted from this run's start. */
    known = true;
    j = (struct fjob){.created = st.started,
                      .result = st.f.result,
                      .after_ms = st.f.result_after_ms};
  }
  long hold_ms = st.f.hold_ms;
  bool see_other = st.f.see_other;
  long output_kb = st.f.output_kb;
  unlock();
  if (!known || j.result == RES_GONE)
    return set_error(r, 404, "Not Found");
  job_secret(no, want);
  if (strcmp(secret, want) != 0)
    return set_error(r, 403, "Forbidden");
  const char *t =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeout");
  long timeout_s = 60;
  if (t != NULL && !parse_long(t, 10, 60, &timeout_s))
    return set_error(r, 400, "invalid timeout");
  if (hold_ms <= 0 || hold_ms > timeout_s * 1000)
    hold_ms = timeout_s * 1000;
  double ends = j.created + (double)j.after_ms / 1000;
  double now = wall_clock();
  if (j.result == RES_NEVER || now < ends) {
    long wait_ms = (long)((ends - now) * 1000) + 1;
    lock();
    st.holding++;
    unlock();
    wait_for(j.result == RES_NEVER || wait_ms > hold_ms ? hold_ms : wait_ms,
             NULL);
    lock();
    st.holding--;
    unlock();
    if (j.result == RES_NEVER || wall_clock() < ends) {
      if (!see_other)
        return set_error(r, 408, "Request Timeout");
      /* The same secret route, one round further: never to be followed
       * or logged by a client. */
      const char *q = strchr(r->uri, '?');
      snprintf(location, location_size, "%s%scounter=1", url,
               q != NULL ? q : "?");
      return set_answer(r, 303, "\"See Other\"");
    }
  }
  bool ok = j.result == RES_SUCCESS;
  /* A long output first: a client must read the answer whole. */
  size_t out_len = (size_t)output_kb * 1024;
  char *body = malloc(out_len + 512);
  if (body == NULL)
    return set_error(r, 500, "fake supervisor: out of memory");
  int n = snprintf(body, 512, "{\"output\":[\"");
  memset(body + n, 'o', out_len);
  snprintf(body + n + out_len, 512,
           "\"],\"id\":\"%s\",\"state\":\"%s\",\"lifecycle\":"
           "\"finished\",\"secret\":\"%s\"}",
           id, ok ? "success" : "failure", want);
  int status = set_answer(r, ok ? 200 : 500, body);
  free(body);
  return status;
}

static enum MHD_Result handle_recorded(struct MHD_Connection *c,
                                       struct request *r, const char *url,
                                       const char *method,
                                       const char *version) {
  char *task = NULL, *secret = NULL, *copy = NULL, msg[64];
  struct decision d = {0};
  enum MHD_Result ret = MHD_NO;

  /* An embedded NUL would make yajl parse a prefix: not valid JSON then. */
  if (r->len > 0 && !r->too_large && memchr(r->body, '\0', r->len) == NULL)
    r->json = yajl_tree_parse(r->body, msg, sizeof msg);
  enum route route = match_route(url, &task, &secret, &copy);
  r->job_request = route != R_NONE && route != R_RESULT &&
                   strcmp(method, MHD_HTTP_METHOD_POST) == 0;
  if (r->too_large)
    set_error(r, 413, "payload too large");
  else if (route == R_NONE)
    set_error(r, 404, "Not Found");
  else if (route == R_RESULT) {
    char location[512] = "";
    process_result(c, r, url, task, secret, location, sizeof location);
    r->fault = "result";
    r->answered = wall_clock();
    record(c, r, method, url, version);
    ret = respond_result(c, r, location);
    goto out;
  } else if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
    set_error(r, 405, "Method Not Allowed");
  else if (!take_faults(&d) || !take_shed(r, &d))
    set_error(r, 500, "fake supervisor: out of memory");
  else {
    bool no_answer = d.hang || d.close || d.rst;
    if (d.delay_ms > 0 && !d.hang) {
      wait_for(d.delay_ms, NULL);
      r->fault = "delay";
      r->delay_ms = d.delay_ms;
    }
    /* after_job: the supervisor did its work, only the answer goes wrong. */
    if (d.after_job && (no_answer || d.status >= 300)) {
      process_job(c, r, route, task, secret, &d);
      if (no_answer)
        r->status = 0;
    }
    if (d.hang) {
      /* Released hung requests are closed without an answer, as if the
       * supervisor died mid-request; shutdown closes them the same way. */
      r->fault = "hang";
      record(c, r, method, url, version);
      wait_for(0, &d.hang_gen);
      lock();
      st.hung--;
      unlock();
      goto out;
    }
    if (d.close || d.rst) {
      r->fault = d.close ? "close" : "rst";
      record(c, r, method, url, version);
      /* Before the connection closes: the client's resend must find the
       * port closed already. */
      if (d.refuse)
        stop_listening();
      if (d.rst)
        reset_connection(c);
      goto out; /* MHD_NO after the whole body was read: close, no answer */
    }
    if (d.shed != NULL) {
      r->fault = d.shed;
      set_error(r, 503,
                strcmp(d.shed, "down") == 0 ? "Service Unavailable"
                                            : "over capacity");
    } else if (d.status == 0) {
      process_job(c, r, route, task, secret, &d);
    } else if (d.status < 300) {
      yajl_val body = r->json && YAJL_IS_OBJECT(r->json) ? r->json : NULL;
      const char *tid = task ? task : body_string(body, "task");
      r->fault = "status";
      make_job(r, d.status, tid ? tid : "",
               body_field(body, "task_arguments", yajl_t_array), &d);
    } else {
      r->fault = "status";
      snprintf(msg, sizeof msg, "fault %d", d.status);
      set_error(r, d.status, msg);
    }
  }
  /* Taken before the answer is queued, so the client has it only later: a
   * request it sends once it has the answer arrives after this time. */
  if (r->status != 0)
    r->answered = wall_clock();
  record(c, r, method, url, version);
  ret = respond_buf(c, r->status, r->resp, r->resp_len, "application/json",
                    d.status != 0 || d.shed != NULL ? d.retry_after : NULL,
                    r->resp_gzip);
out:
  free(d.retry_after);
  free(d.body);
  free(copy);
  return ret;
}

/* ---- /_control ---- */

struct control {
  bool reset, has_status, has_count, has_retry, has_hang, has_close, has_delay,
      has_body, has_mode, has_rst, has_after_job, has_refuse, has_result,
      has_result_after, has_hold, has_see_other, has_output, has_capacity,
      has_down, has_shed_retry;
  long status, count, hang, close, delay_ms, rst, after_job, refuse,
      result_after, hold_ms, see_other, output_kb, capacity, down;
  enum result_kind result;
  const char *retry_after, *body, *shed_retry_after;
  enum body_mode mode;
  char err[160];
};

static enum MHD_Result control_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value) {
  struct control *ct = cls;
  const char *v = value ? value : "";
  long reset = 0;
  bool ok = true;
  (void)kind;
  /* Repeating a parameter is allowed; the last value wins. */
  if (strcmp(key, "reset") == 0) {
    ok = parse_long(v, 0, 1, &reset);
    ct->reset = ct->reset || reset == 1;
  } else if (strcmp(key, "status") == 0) {
    ok = ct->has_status = parse_long(v, 0, 599, &ct->status) &&
                          (ct->status == 0 || ct->status >= 200);
  } else if (strcmp(key, "count") == 0) {
    ok = ct->has_count = parse_long(v, -1, LONG_MAX, &ct->count);
  } else if (strcmp(key, "hang") == 0) {
    ok = ct->has_hang = parse_long(v, -1, LONG_MAX, &ct->hang);
  } else if (strcmp(key, "close") == 0) {
    ok = ct->has_close = parse_long(v, -1, LONG_MAX, &ct->close);
  } else if (strcmp(key, "rst") == 0) {
    ok = ct->has_rst = parse_long(v, -1, LONG_MAX, &ct->rst);
  } else if (strcmp(key, "after_job") == 0) {
    ok = ct->has_after_job = parse_long(v, 0, 1, &ct->after_job);
  } else if (strcmp(key, "refuse") == 0) {
    ok = ct->has_refuse = parse_long(v, 0, 1, &ct->refuse);
  } else if (strcmp(key, "result") == 0) {
    ok = false;
    for (size_t i = 0; i < RESULT_KINDS; i++)
      if (strcmp(v, result_names[i]) == 0) {
        ok = ct->has_result = true;
        ct->result = (enum result_kind)i;
      }
  } else if (strcmp(key, "result_after_ms") == 0) {
    ok = ct->has_result_after = parse_long(v, 0, 3600000, &ct->result_after);
  } else if (strcmp(key, "hold_ms") == 0) {
    ok = ct->has_hold = parse_long(v, 0, 60000, &ct->hold_ms);
  } else if (strcmp(key, "output_kb") == 0) {
    ok = ct->has_output = parse_long(v, 0, 10240, &ct->output_kb);
  } else if (strcmp(key, "see_other") == 0) {
    ok = ct->has_see_other = parse_long(v, 0, 1, &ct->see_other);
  } else if (strcmp(key, "delay_ms") == 0) {
    ok = ct->has_delay = parse_long(v, 0, 3600000, &ct->delay_ms);
  } else if (strcmp(key, "retry_after") == 0) {
    ct->retry_after = v;
    ct->has_retry = true;
  } else if (strcmp(key, "capacity") == 0) {
    ok = ct->has_capacity = parse_long(v, 0, 1000000, &ct->capacity);
  } else if (strcmp(key, "down") == 0) {
    ok = ct->has_down = parse_long(v, 0, 86400, &ct->down);
  } else if (strcmp(key, "shed_retry_after") == 0) {
    ct->shed_retry_after = v;
    ct->has_shed_retry = true;
  } else if (strcmp(key, "body") == 0) {
    ct->body = v;
    ct->has_body = true;
  } else if (strcmp(key, "body_mode") == 0) {
    ok = false;
    for (size_t i = 0; i < BODY_MODES; i++)
      if (strcmp(v, body_mode_names[i]) == 0) {
        ok = ct->has_mode = true;
        ct->mode = (enum body_mode)i;
      }
  } else {
    snprintf(ct->err, sizeof ct->err, "unknown parameter %s\n", key);
    return MHD_NO;
  }
  if (!ok)
    snprintf(ct->err, sizeof ct->err, "bad value for %s: %s\n", key, v);
  return ok ? MHD_YES : MHD_NO;
}

static bool replace(char **dst, const char *src) {
  char *copy = NULL;
  if (src != NULL && (copy = strdup(src)) == NULL)
    return false;
  free(*dst);
  *dst = copy;
  return true;
}

static void release_hung(void) {
  st.hang_gen++;
  if (pthread_cond_broadcast(&st.wake) != 0)
    abort();
}

/* Applies a validated control call; false if memory ran out. */
static bool apply_control(const struct control *ct) {
  struct faults *f = &st.f;
  bool ok = true;
  if (ct->reset) {
    free(f->retry_after);
    free(f->body);
    free(f->shed_retry_after);
    memset(f, 0, sizeof *f);
    release_hung();
  }
  if (ct->has_status)
    f->status = (int)ct->status;
  /* A status without a count stays on until changed. */
  if (ct->has_count || ct->has_status)
    f->status_count = ct->has_count ? ct->count : ct->status != 0 ? -1 : 0;
  if (ct->has_retry)
    ok = replace(&f->retry_after, *ct->retry_after ? ct->retry_after : NULL);
  if (ct->has_hang && (f->hang = ct->hang) == 0)
    release_hung();
  if (ct->has_close)
    f->close = ct->close;
  if (ct->has_rst)
    f->rst = ct->rst;
  if (ct->has_after_job)
    f->after_job = ct->after_job == 1;
  if (ct->has_refuse)
    f->refuse = ct->refuse == 1;
  if (ct->has_delay)
    f->delay_ms = ct->delay_ms;
  if (ct->has_result)
    f->result = ct->result;
  if (ct->has_result_after)
    f->result_after_ms = ct->result_after;
  if (ct->has_hold)
    f->hold_ms = ct->hold_ms;
  if (ct->has_see_other)
    f->see_other = ct->see_other == 1;
  if (ct->has_output)
    f->output_kb = ct->output_kb;
  if (ct->has_body) {
    ok = replace(&f->body, ct->body) && ok;
    f->body_mode = BODY_CUSTOM;
  }
  if (ct->has_mode)
    f->body_mode = ct->mode;
  if (ct->has_capacity)
    f->capacity = ct->capacity;
  if (ct->has_down)
    f->down_until = ct->down > 0 ? wall_clock() + (double)ct->down : 0;
  if (ct->has_shed_retry) {
    f->shed_quiet = *ct->shed_retry_after == '\0';
    ok = replace(&f->shed_retry_after,
                 f->shed_quiet ? NULL : ct->shed_retry_after) &&
         ok;
  }
  return ok;
}

/* The load settings (capacity=, down=, shed_retry_after=), for both
 * answers of /_control. Under the lock. */
static yajl_gen_status gen_load(yajl_gen g) {
  const struct faults *f = &st.f;
  double left = f->down_until - wall_clock();
  char stamp[32];
  snprintf(stamp, sizeof stamp, "%.3f", left > 0 ? left : 0);
  GEN(gen_kv_int(g, "capacity", f->capacity));
  GEN(gen_kv_str(g, "shed_retry_after",
                 f->shed_quiet         ? NULL
                 : f->shed_retry_after ? f->shed_retry_after
                                       : SHED_RETRY));
  GEN(gen_cstr(g, "down_left"));
  GEN(yajl_gen_number(g, stamp, strlen(stamp)));
  return yajl_gen_status_ok;
fail:
  return yajl_gen_generation_complete;
}

/* "seconds": the job requests counted per second of arrival. Under the
 * lock. */
static yajl_gen_status gen_seconds(yajl_gen g) {
  static const char *const names[] = {"seen", "accepted", "refused"};
  GEN(gen_cstr(g, "seconds"));
  GEN(yajl_gen_map_open(g));
  GEN(gen_kv_int(g, "first", st.first_second));
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    GEN(gen_cstr(g, names[k]));
    GEN(yajl_gen_array_open(g));
    for (size_t i = 0; i < st.seconds_used; i++) {
      const struct second *s = &st.seconds[i];
      GEN(yajl_gen_integer(g, (long long)(k == 0   ? s->seen
                                          : k == 1 ? s->accepted
                                                   : s->refused)));
    }
    GEN(yajl_gen_array_close(g));
  }
  GEN(yajl_gen_map_close(g));
  return yajl_gen_status_ok;
fail:
  return yajl_gen_generation_complete;
}

static enum MHD_Result handle_control(struct MHD_Connection *c,
                                      const char *url) {
  struct control ct = {0};
  struct faults *f = &st.f;
  char *state = NULL, *answer = NULL;
  yajl_gen g = yajl_gen_alloc(NULL);
  bool stats = strcmp(url, "/_control/stats") == 0, ok = true;
  enum MHD_Result ret = MHD_NO;

  if (!stats && strcmp(url, "/_control") != 0) {
    ret = respond(c, 404, "no such control route\n", "text/plain", NULL);
    goto out;
  }
  /* Validate everything first so that a bad call changes nothing. */
  if (!stats && (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND,
                                           control_arg, &ct) < 0 ||
                 ct.err[0] != '\0')) {
    ret = respond(c, 400, ct.err, "text/plain", NULL);
    goto out;
  }
  if (g == NULL)
    goto out;
  lock();
  if (!stats)
    ok = apply_control(&ct);
  GEN(yajl_gen_map_open(g));
  if (stats) {
    GEN(gen_kv_int(g, "requests", (long long)st.requests));
    GEN(gen_kv_int(g, "jobs", (long long)st.jobs));
    GEN(gen_kv_int(g, "hung", st.hung));
    GEN(gen_kv_int(g, "holding", st.holding));
    GEN(gen_cstr(g, "refusing"));
    GEN(yajl_gen_bool(g, st.quiesced_fd >= 0));
    GEN(gen_load(g));
    GEN(gen_seconds(g));
  } else {
    GEN(gen_kv_int(g, "status", f->status));
    GEN(gen_kv_int(g, "count", f->status_count));
    GEN(gen_kv_str(g, "retry_after", f->retry_after));
    GEN(gen_kv_int(g, "hang", f->hang));
    GEN(gen_kv_int(g, "close", f->close));
    GEN(gen_kv_int(g, "rst", f->rst));
    GEN(gen_cstr(g, "after_job"));
    GEN(yajl_gen_bool(g, f->after_job));
    GEN(gen_cstr(g, "refuse"));
    GEN(yajl_gen_bool(g, f->refuse));
    GEN(gen_kv_int(g, "delay_ms", f->delay_ms));
    GEN(gen_kv_str(g, "body_mode", body_mode_names[f->body_mode]));
    GEN(gen_kv_str(g, "body", f->body));
    GEN(gen_kv_int(g, "hung", st.hung));
    GEN(gen_load(g));
  }
  GEN(yajl_gen_map_close(g));
  unlock();
  state = gen_finish(g);
  if (state != NULL && stats)
    ret = respond(c, 200, state, "application/json", NULL);
  else if (state != NULL && asprintf(&answer, "ok %s\n", state) >= 0)
    ret = respond(c, ok ? 200 : 500, ok ? answer : "out of memory\n",
                  "text/plain", NULL);
  goto out;
fail:
  unlock();
out:
  if (g != NULL)
    yajl_gen_free(g);
  free(state);
  free(answer);
  return ret;
}

/* --control QUERY: "%XX" and "+" decoded in place, as MHD decodes a query. */
static void url_decode(char *s) {
  char *o = s;
  for (; *s; s++) {
    unsigned v;
    if (*s == '%' && isxdigit((unsigned char)s[1]) &&
        isxdigit((unsigned char)s[2]) && sscanf(s + 1, "%2x", &v) == 1) {
      *o++ = (char)v;
      s += 2;
    } else
      *o++ = *s == '+' ? ' ' : *s;
  }
  *o = '\0';
}

/* The same validation and effect as a call to /_control with this query. */
static bool startup_control(const char *query) {
  struct control ct = {0};
  char *copy = strdup(query), *save = NULL;
  bool ok = copy != NULL;
  for (char *kv = copy ? strtok_r(copy, "&", &save) : NULL; ok && kv != NULL;
       kv = strtok_r(NULL, "&", &save)) {
    char *value = strchr(kv, '=');
    if (value != NULL)
      *value++ = '\0';
    url_decode(kv);
    if (value != NULL)
      url_decode(value);
    ok = control_arg(&ct, MHD_GET_ARGUMENT_KIND, kv, value) == MHD_YES;
  }
  if (ok) {
    lock();
    ok = apply_control(&ct);
    unlock();
  }
  if (!ok)
    fprintf(stderr, "fake_supervisor: --control %s: %s", query,
            ct.err[0] ? ct.err : "out of memory\n");
  free(copy);
  return ok;
}

/* A PEM file for MHD's HTTPS_MEM options, NUL-terminated. */
static char *read_pem(const char *path) {
  FILE *f = fopen(path, "re");
  struct stat sb;
  char *buf = NULL;
  if (f == NULL || fstat(fileno(f), &sb) != 0 || sb.st_size <= 0 ||
      sb.st_size > 1024 * 1024 ||
      (buf = malloc((size_t)sb.st_size + 1)) == NULL ||
      fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
    perror(path);
    free(buf);
    buf = NULL;
  } else
    buf[sb.st_size] = '\0';
  if (f != NULL)
    fclose(f);
  return buf;
}

/* ---- MHD callbacks ---- */

/* MHD passes the request target here before decoding it, and whatever we
 * return becomes the request's context, so this is where requests begin. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
  struct request *r = calloc(1, sizeof *r);
  (void)cls, (void)c;
  if (r == NULL || (r->uri = strdup(uri)) == NULL) {
    free(r);
    return NULL;
  }
  /* Under the lock, so that a later rank never has an earlier time. */
  lock();
  r->time = wall_clock();
  r->arrival = ++st.arrivals;
  unlock();
  r->fault = "none";
  return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                         enum MHD_RequestTerminationCode toe) {
  struct request *r = *ctx;
  (void)cls, (void)c, (void)toe;
  if (r == NULL)
    return;
  free(r->uri);
  free(r->body);
  free(r->resp);
  yajl_tree_free(r->json);
  free(r);
  *ctx = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **sock_ctx,
                          enum MHD_ConnectionNotificationCode code) {
  (void)cls, (void)c;
  if (code != MHD_CONNECTION_NOTIFY_STARTED)
    return;
  lock();
  *sock_ctx = (void *)(uintptr_t)++st.conns;
  unlock();
}

static bool append_body(struct request *r, const char *data, size_t n) {
  if (r->too_large || r->len + n > MAX_BODY) {
    r->too_large = true; /* keep reading so the 413 can still be sent */
    return true;
  }
  if (r->len + n + 1 > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + n + 1)
      cap *= 2;
    char *b = realloc(r->body, cap);
    if (b == NULL)
      return false;
    r->body = b;
    r->cap = cap;
  }
  memcpy(r->body + r->len, data, n);
  r->len += n;
  r->body[r->len] = '\0';
  return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *size, void **ctx) {
  struct request *r = *ctx;
  (void)cls;
  if (r == NULL)
    return MHD_NO; /* on_uri ran out of memory */
  if (!r->started) {
    /* Returning without an answer lets MHD send "100 Continue". */
    r->started = true;
    r->control =
        strncmp(url, "/_control", 9) == 0 && (url[9] == '\0' || url[9] == '/');
    return MHD_YES;
  }
  if (*size > 0) {
    bool ok = r->control || append_body(r, data, *size);
    *size = 0;
    return ok ? MHD_YES : MHD_NO;
  }
  return r->control ? handle_control(c, url)
                    : handle_recorded(c, r, url, method, version);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  /* Tagged because hangs and closes make MHD complain by design. */
  if (fputs("fake_supervisor: libmicrohttpd: ", stderr) != EOF)
    vfprintf(stderr, fmt, ap);
}

/* ---- startup ---- */

static int open_listener(long port, unsigned *actual) {
  int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  /* SO_REUSEADDR lets a test restart us on the same port at once. */
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      listen(fd, 128) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    perror("fake_supervisor: listen on 127.0.0.1");
    if (fd >= 0)
      close(fd);
    return -1;
  }
  *actual = ntohs(sa.sin_port);
  return fd;
}

/* Written aside and renamed, so a polling reader never sees half a number. */
static bool write_port_file(const char *path, unsigned port) {
  char *tmp;
  FILE *f;
  if (asprintf(&tmp, "%s.tmp", path) < 0)
    return false;
  bool ok = (f = fopen(tmp, "w")) != NULL;
  if (ok) {
    ok = fprintf(f, "%u\n", port) > 0;
    ok = fclose(f) == 0 && ok;
  }
  if (!ok || rename(tmp, path) != 0) {
    perror(path);
    ok = false;
  }
  free(tmp);
  return ok;
}

static bool parse_task(const char *arg, struct task *t) {
  const char *secret = strchr(arg, ':'), *nargs;
  if (secret == NULL || secret - arg != 24 || strlen(++secret) < 64 ||
      (secret[64] != '\0' && secret[64] != ':'))
    goto bad;
  memcpy(t->id, arg, 24);
  memcpy(t->secret, secret, 64);
  t->id[24] = t->secret[64] = '\0';
  nargs = secret[64] == ':' ? secret + 65 : NULL;
  if (is_hex(t->id, 24, false) && is_hex(t->secret, 64, true) &&
      (nargs == NULL || parse_long(nargs, 0, 1000, &t->nargs)))
    return true;
bad:
  fprintf(stderr, "fake_supervisor: bad --task %s\n", arg);
  return false;
}

static void usage(FILE *out) {
  fputs("usage: fake_supervisor [--port N] [--port-file FILE] --log FILE\n"
        "         [--task ID:SECRET[:NARGS]]... [--customer NAME]...\n"
        "         [--token TOKEN]... [--quiet] [--print-jobs]\n"
        "         [--tls-cert FILE --tls-key FILE] [--control QUERY]\n"
        "         [--boot HEX] (job ids start with it; with it, the\n"
        "         result route knows the jobs of an earlier run)\n"
        "         [--capacity N] [--retry-after V|A-B]\n"
        "Listens on 127.0.0.1 only (HTTPS with --tls-cert and --tls-key).\n"
        "Faults, set by GET or POST on the same port, or at start-up with\n"
        "--control QUERY (\"close=1&refuse=1\"):\n"
        "  /_control?status=N&count=K retry_after=V hang=K close=K "
        "rst=K\n"
        "            after_job=0|1 delay_ms=N body=RAW\n"
        "            body_mode=default|custom|empty|gzip|huge reset=1\n"
        "            refuse=1 (stop listening, for good, once the next\n"
        "                     close or rst fault has read its request)\n"
        "            result=success|failure|never|gone result_after_ms=N\n"
        "                     (how the jobs created from now on end, for\n"
        "                     GET /job/ID/secret/S/result?full&timeout=T)\n"
        "            hold_ms=N see_other=0|1 (that route's hold, and 303\n"
        "                     rather than 408 after it) output_kb=N (a\n"
        "                     finished job's output, before its id)\n"
        "            capacity=N (job requests let through per second;\n"
        "                     the rest: 503) down=S (503 to every job\n"
        "                     request for S seconds) shed_retry_after=V\n"
        "                     (their Retry-After; default 1, empty: none,\n"
        "                     A-B: drawn from A to B per answer)\n"
        "  /_control/stats (counts; per second: seen, accepted, refused)\n"
        "--capacity N and --retry-after V are capacity=N and\n"
        "shed_retry_after=V at start-up.\n",
        out);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"port", required_argument, NULL, 'p'},
      {"port-file", required_argument, NULL, 'f'},
      {"log", required_argument, NULL, 'l'},
      {"task", required_argument, NULL, 't'},
      {"customer", required_argument, NULL, 'c'},
      {"token", required_argument, NULL, 'k'},
      {"quiet", no_argument, NULL, 'q'},
      {"print-jobs", no_argument, NULL, 'j'},
      {"tls-cert", required_argument, NULL, 'C'},
      {"tls-key", required_argument, NULL, 'K'},
      {"control", required_argument, NULL, 'x'},
      {"boot", required_argument, NULL, 'b'},
      {"capacity", required_argument, NULL, 'N'},
      {"retry-after", required_argument, NULL, 'R'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *port_file = NULL, *log_path = NULL, *cert_path = NULL,
             *key_path = NULL, *control = NULL, *capacity = NULL,
             *shed_retry = NULL;
  long port = 0;
  bool quiet = false, ok = true;
  int opt, sig;

  /* No option can occur more often than there are arguments. */
  cfg.tasks = calloc((size_t)argc, sizeof *cfg.tasks);
  cfg.customers = calloc((size_t)argc, sizeof *cfg.customers);
  cfg.tokens = calloc((size_t)argc, sizeof *cfg.tokens);
  if (!cfg.tasks || !cfg.customers || !cfg.tokens)
    return 1;
  while (ok && (opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (opt == 'p')
      ok = parse_long(optarg, 0, 65535, &port);
    else if (opt == 'f')
      port_file = optarg;
    else if (opt == 'l')
      log_path = optarg;
    else if (opt == 't')
      ok = parse_task(optarg, &cfg.tasks[cfg.ntasks++]);
    else if (opt == 'c')
      cfg.customers[cfg.ncustomers++] = optarg;
    else if (opt == 'k')
      cfg.tokens[cfg.ntokens++] = optarg;
    else if (opt == 'q')
      quiet = true;
    else if (opt == 'j')
      cfg.print_jobs = true;
    else if (opt == 'C')
      cert_path = optarg;
    else if (opt == 'K')
      key_path = optarg;
    else if (opt == 'x')
      control = optarg;
    else if (opt == 'b')
      ok = sscanf(optarg, "%8x", &cfg.boot) == 1 && (cfg.boot_given = true);
    else if (opt == 'N')
      capacity = optarg;
    else if (opt == 'R')
      shed_retry = optarg;
    else if (opt == 'h') {
      usage(stdout);
      return 0;
    } else
      ok = false;
  }
  if (!ok || log_path == NULL || optind != argc ||
      (cert_path == NULL) != (key_path == NULL)) {
    usage(stderr);
    return 2;
  }
  if (control != NULL && !startup_control(control))
    return 2;
  if (capacity != NULL || shed_retry != NULL) {
    char *load = NULL;
    /* A value with '&' or '%' would be another query: only digits (and
     * the dash of a range) fit. */
    long lo, hi;
    char rest;
    if ((capacity != NULL && capacity[strspn(capacity, "0123456789")]) ||
        (shed_retry != NULL &&
         (shed_retry[strspn(shed_retry, "0123456789-")] ||
          (strchr(shed_retry, '-') != NULL &&
           (sscanf(shed_retry, "%ld-%ld%c", &lo, &hi, &rest) != 2 ||
            lo > hi))))) {
      usage(stderr);
      return 2;
    }
    /* Only what was given: the other one keeps what --control said. */
    if (asprintf(&load, "%s%s%s%s", capacity != NULL ? "capacity=" : "",
                 capacity != NULL ? capacity : "",
                 shed_retry != NULL ? "&shed_retry_after=" : "",
                 shed_retry != NULL ? shed_retry : "") < 0)
      return 1;
    ok = startup_control(load);
    free(load);
    if (!ok)
      return 2;
  }
  char *cert = NULL, *key = NULL;
  struct MHD_OptionItem tls_opts[3] = {{MHD_OPTION_END, 0, NULL}};
  if (cert_path != NULL) {
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      fputs("fake_supervisor: this libmicrohttpd has no TLS\n", stderr);
      return 1;
    }
    if ((cert = read_pem(cert_path)) == NULL ||
        (key = read_pem(key_path)) == NULL)
      return 1;
    tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
    tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
    tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  }
  if (!cfg.boot_given)
    cfg.boot = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
  st.started = wall_clock();
  st.first_second = (long)st.started;

  pthread_condattr_t ca;
  sigset_t sigs;
  if ((st.log = fopen(log_path, "ae")) == NULL) {
    perror(log_path);
    return 1;
  }
  /* Monotonic, so delays survive wall clock changes. */
  if (pthread_condattr_init(&ca) != 0 ||
      pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
      pthread_cond_init(&st.wake, &ca) != 0) {
    fputs("fake_supervisor: cannot create condition variable\n", stderr);
    return 1;
  }
  /* Blocked before MHD starts its threads, so only sigwait sees them. */
  if (sigemptyset(&sigs) != 0 || sigaddset(&sigs, SIGTERM) != 0 ||
      sigaddset(&sigs, SIGINT) != 0 ||
      pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0 ||
      signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    fputs("fake_supervisor: cannot set up signals\n", stderr);
    return 1;
  }

  unsigned actual;
  int fd = open_listener(port, &actual);
  if (fd < 0)
    return 1;
  /* A thread per connection lets hangs and delays simply block. */
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
          MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
          (cert != NULL ? MHD_USE_TLS : 0),
      0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error,
      NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
      NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_ARRAY,
      tls_opts, MHD_OPTION_END);
  if (d == NULL) {
    fputs("fake_supervisor: cannot start the HTTP daemon\n", stderr);
    close(fd);
    return 1;
  }
  lock();
  st.daemon = d;
  unlock();
  if (port_file != NULL && !write_port_file(port_file, actual)) {
    MHD_stop_daemon(d);
    return 1;
  }
  if (!quiet && (printf("listening on 127.0.0.1:%u\n", actual) < 0 ||
                 fflush(stdout) != 0))
    perror("fake_supervisor: stdout");

  while (sigwait(&sigs, &sig) != 0)
    ;
  lock();
  st.stopping = true;
  release_hung();
  unlock();
  MHD_stop_daemon(d); /* joins the connection threads, closes fd */
  /* Unless refuse took the listener over: then it is ours to close. */
  if (st.quiesced_fd >= 0)
    close(st.quiesced_fd);
  free(cert);
  free(key);
  free(st.fjobs);
  free(st.seconds);
  if (fclose(st.log) != 0) {
    perror(log_path);
    return 1;
  }
  return 0;
}
