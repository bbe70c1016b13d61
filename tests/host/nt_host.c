/* SPDX-License-Identifier: MIT
 *
 * nt_host: a stand-in for collectd that loads notify_theeye.so, for the
 * ASan/UBSan run of `make check-asan` (tests/sanitize.am).
 *
 * It implements, and exports (-rdynamic), the few collectd symbols the
 * plugin needs at load time (`nm -D --undefined-only notify_theeye.so`),
 * dlopen()s the sanitizer-built plugin and drives it the way the daemon
 * does: module_register, the config callback with an oconfig_item_t tree
 * (freed as soon as the callback returns, as collectd does), a notification
 * before init, init, then a few hundred notifications dispatched from
 * several threads at once (invalid UTF-8, quotes, control bytes,
 * maximum-length fields, meta of every type, each notification freed as soon
 * as the callback returns) while another thread runs the read callback, as
 * collectd's read threads do. It then waits, for a bounded time, until the
 * fake supervisor (tests/fake_supervisor --log FILE) has recorded every
 * expected job, checks every request byte for byte against what the
 * notification and the Task's Arguments must give, checks the self-metrics,
 * runs shutdown and the notification callback's free_func, and exits 0 only
 * if everything matched (1 on a mismatch, 2 on a usage or set-up error).
 *
 * With a SpoolDir, --offline points the plugin at a port nothing listens on
 * and checks that every job reaches the spool and stays there after
 * shutdown; --resume (a later run on that spool) dispatches nothing and
 * expects every one of those jobs to come out of it, resumed.
 *
 * Built with NT_THREAD_CREATE_ATTR=1 (configure's answer for collectd 5.9
 * and 5.10 headers), it exports plugin_thread_create in that older form:
 * tests/compat/thread_create.sh loads a plugin built for 5.9 into it.
 *
 * Usage: nt_host --plugin SO --url URL --log SUPERVISOR_LOG
 *                [--spool DIR [--offline | --resume]] [--threads N]
 *                [--per-thread M] [--timeout SECONDS] [-v]
 * (run-host.sh starts the fake supervisor and passes URL and its log.)
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "collectd.h"

#include "plugin.h"
#include "utils/common/common.h"

#include "liboconfig/oconfig.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <yajl/yajl_tree.h>

/* The fake supervisor's tasks (run-host.sh passes the same). */
#define TASK1_ID "5f0c1a2b3c4d5e6f7a8b9c0d"
#define TASK1_SECRET                                                           \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TASK2_ID "aaaaaaaaaaaaaaaaaaaaaaa1"
#define TOKEN "tok-3f2a1b0c9d8e7f6a5b4c"
#define TASK3_ID "bbbbbbbbbbbbbbbbbbbbbbb2"
#define TASK3_SECRET                                                           \
  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define CUSTOMER "acme"
#define HOSTNAME "nt-host.test"

#define R "\xef\xbf\xbd" /* U+FFFD, what an invalid UTF-8 sequence becomes */

/* ------------------------------------------------------------------------ */
/* Failures                                                                  */

static atomic_int mismatches;
static bool verbose;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("nt_host: MISMATCH: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  atomic_fetch_add(&mismatches, 1);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("nt_host: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  if (p == NULL)
    die("out of memory");
  return p;
}

static char *xstrdup(const char *s) {
  char *p = strdup(s);
  if (p == NULL)
    die("out of memory");
  return p;
}

/* ------------------------------------------------------------------------ */
/* The collectd API the plugin links against                                 */

char *hostname_g;

static struct {
  int (*config)(oconfig_item_t *);
  plugin_init_cb init;
  plugin_notification_cb notify;
  user_data_t notify_ud;
  plugin_read_cb read;
  user_data_t read_ud;
  plugin_shutdown_cb shutdown;
  int registered; /* how many register calls */
} cb;

static void check_name(const char *what, const char *name) {
  if (name == NULL || strcmp(name, "notify_theeye") != 0)
    fail("%s registered as \"%s\", not \"notify_theeye\"", what,
         name ? name : "(null)");
  cb.registered++;
}

int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *)) {
  check_name("complex config", type);
  cb.config = callback;
  return 0;
}

int plugin_register_init(const char *name, plugin_init_cb callback) {
  check_name("init", name);
  cb.init = callback;
  return 0;
}

int plugin_register_notification(const char *name,
                                 plugin_notification_cb callback,
                                 user_data_t const *ud) {
  check_name("notification", name);
  cb.notify = callback;
  /* collectd keeps a copy: the plugin may pass a compound literal. */
  if (ud != NULL)
    cb.notify_ud = *ud;
  return 0;
}

int plugin_register_complex_read(const char *group, const char *name,
                                 plugin_read_cb callback, cdtime_t interval,
                                 user_data_t const *ud) {
  (void)group;
  (void)interval;
  check_name("read", name);
  cb.read = callback;
  if (ud != NULL)
    cb.read_ud = *ud;
  return 0;
}

int plugin_register_shutdown(const char *name, plugin_shutdown_cb callback) {
  check_name("shutdown", name);
  cb.shutdown = callback;
  return 0;
}

static atomic_int log_errors, log_warnings;

void plugin_log(int level, const char *format, ...) {
  char msg[1024]; /* collectd cuts there too */
  va_list ap;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  if (level <= LOG_ERR)
    atomic_fetch_add(&log_errors, 1);
  else if (level == LOG_WARNING)
    atomic_fetch_add(&log_warnings, 1);
  if (level <= LOG_WARNING || verbose)
    fprintf(stderr, "[%s] %s\n",
            level <= LOG_ERR       ? "error"
            : level == LOG_WARNING ? "warning"
            : level == LOG_NOTICE  ? "notice"
            : level == LOG_INFO    ? "info"
                                   : "debug",
            msg);
}

char *sstrncpy(char *dest, const char *src, size_t n) {
  if (dest == NULL || n == 0)
    return dest;
  if (src == NULL)
    src = "";
  strncpy(dest, src, n - 1);
  dest[n - 1] = '\0';
  return dest;
}

struct thread_start {
  void *(*fn)(void *);
  void *arg;
};

static void *thread_trampoline(void *p) {
  struct thread_start ts = *(struct thread_start *)p;
  free(p);
  return ts.fn(ts.arg);
}

/* collectd 5.9 and 5.10 take a pthread_attr_t before the thread function,
 * 5.11 and later do not; configure says which form plugin.h declares
 * (NT_THREAD_CREATE_ATTR), and this host exports that one, as the daemon
 * would. A plugin built for the other form passes its thread function
 * where the attribute belongs: the host refuses any attribute rather than
 * hand that pointer to pthread_create (the plugin never needs one). */
#if NT_THREAD_CREATE_ATTR
int plugin_thread_create(pthread_t *thread, const pthread_attr_t *attr,
                         void *(*start_routine)(void *), void *arg,
                         char const *name) {
  if (attr != NULL) {
    fail("plugin_thread_create (collectd 5.9 form) called with a non-NULL "
         "pthread_attr_t: a plugin built for collectd 5.11 or newer?");
    return EINVAL;
  }
#else
int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name) {
#endif
  struct thread_start *ts = xcalloc(1, sizeof(*ts));
  ts->fn = start_routine;
  ts->arg = arg;
  int status = pthread_create(thread, NULL, thread_trampoline, ts);
  if (status != 0) {
    free(ts);
    return status;
  }
  if (name != NULL) {
    char short_name[16];
    snprintf(short_name, sizeof(short_name), "%s", name);
    pthread_setname_np(*thread, short_name);
  }
  return 0;
}

/* Self-metrics as the read callback dispatched them, last value wins. */
#define MAX_METRICS 64
/* The plugin's own notifications (its guards' reports): this host raises
 * none of their causes; they must still resolve, and free what they add. */
int plugin_notification_meta_add_string(notification_t *n, const char *name,
                                        const char *value) {
  notification_meta_t *m = xcalloc(1, sizeof(*m));
  sstrncpy(m->name, name, sizeof(m->name));
  m->type = NM_TYPE_STRING;
  m->nm_value.nm_string = xstrdup(value);
  m->next = n->meta;
  n->meta = m;
  return 0;
}

int plugin_notification_meta_free(notification_meta_t *n) {
  while (n != NULL) {
    notification_meta_t *next = n->next;
    if (n->type == NM_TYPE_STRING)
      free((char *)n->nm_value.nm_string);
    free(n);
    n = next;
  }
  return 0;
}

/* A notification that comes before init is kept, meta and all. */
int plugin_notification_meta_copy(notification_t *dst,
                                  const notification_t *src) {
  notification_meta_t **tail = &dst->meta;
  while (*tail != NULL)
    tail = &(*tail)->next;
  for (const notification_meta_t *m = src->meta; m != NULL; m = m->next) {
    notification_meta_t *c = xcalloc(1, sizeof(*c));
    *c = *m;
    c->next = NULL;
    if (m->type == NM_TYPE_STRING)
      c->nm_value.nm_string = xstrdup(m->nm_value.nm_string);
    *tail = c;
    tail = &c->next;
  }
  return 0;
}

int plugin_dispatch_notification(const notification_t *n) {
  (void)n;
  fail("plugin_dispatch_notification: no guard was configured to report");
  return -1;
}

static struct {
  pthread_mutex_t lock;
  struct {
    char instance[DATA_MAX_NAME_LEN], type[DATA_MAX_NAME_LEN],
        type_instance[DATA_MAX_NAME_LEN];
    double value;
  } m[MAX_METRICS];
  int n;
  long dispatched;
} metrics = {.lock = PTHREAD_MUTEX_INITIALIZER};

int plugin_dispatch_values(value_list_t const *vl) {
  if (vl == NULL || vl->values == NULL || vl->values_len != 1 ||
      strcmp(vl->plugin, "notify_theeye") != 0) {
    fail("plugin_dispatch_values: unexpected value list");
    return -1;
  }
  double v;
  if (strcmp(vl->type, "derive") == 0)
    v = (double)vl->values[0].derive;
  else if (strcmp(vl->type, "queue_length") == 0)
    v = vl->values[0].gauge;
  else {
    fail("plugin_dispatch_values: unexpected type \"%s\"", vl->type);
    return -1;
  }
  pthread_mutex_lock(&metrics.lock);
  metrics.dispatched++;
  int i = 0;
  for (; i < metrics.n; i++)
    if (strcmp(metrics.m[i].instance, vl->plugin_instance) == 0 &&
        strcmp(metrics.m[i].type, vl->type) == 0 &&
        strcmp(metrics.m[i].type_instance, vl->type_instance) == 0)
      break;
  if (i == metrics.n && metrics.n < MAX_METRICS) {
    metrics.n++;
    sstrncpy(metrics.m[i].instance, vl->plugin_instance,
             sizeof(metrics.m[i].instance));
    sstrncpy(metrics.m[i].type, vl->type, sizeof(metrics.m[i].type));
    sstrncpy(metrics.m[i].type_instance, vl->type_instance,
             sizeof(metrics.m[i].type_instance));
  }
  if (i < MAX_METRICS)
    metrics.m[i].value = v;
  pthread_mutex_unlock(&metrics.lock);
  return 0;
}

/* The latest value of a metric, NAN before the first. */
static double metric(const char *task, const char *type,
                     const char *type_instance) {
  double v = NAN;
  pthread_mutex_lock(&metrics.lock);
  for (int i = 0; i < metrics.n; i++)
    if (strcmp(metrics.m[i].instance, task) == 0 &&
        strcmp(metrics.m[i].type, type) == 0 &&
        strcmp(metrics.m[i].type_instance, type_instance) == 0)
      v = metrics.m[i].value;
  pthread_mutex_unlock(&metrics.lock);
  return v;
}

/* ------------------------------------------------------------------------ */
/* The configuration tree                                                    */

static oconfig_item_t *item_add(oconfig_item_t *parent, const char *key) {
  oconfig_item_t *kids =
      realloc(parent->children,
              (size_t)(parent->children_num + 1) * sizeof(*parent->children));
  if (kids == NULL)
    die("out of memory");
  parent->children = kids;
  oconfig_item_t *it = &kids[parent->children_num++];
  *it = (oconfig_item_t){.key = xstrdup(key), .parent = parent};
  /* realloc moved the siblings: their children's parent stays right. */
  for (int i = 0; i < parent->children_num; i++)
    for (int j = 0; j < kids[i].children_num; j++)
      kids[i].children[j].parent = &kids[i];
  return it;
}

static void value_add(oconfig_item_t *it, oconfig_value_t v) {
  oconfig_value_t *vals =
      realloc(it->values, (size_t)(it->values_num + 1) * sizeof(*it->values));
  if (vals == NULL)
    die("out of memory");
  it->values = vals;
  if (v.type == OCONFIG_TYPE_STRING)
    v.value.string = xstrdup(v.value.string);
  vals[it->values_num++] = v;
}

static oconfig_item_t *opt_s(oconfig_item_t *parent, const char *key,
                             const char *value) {
  oconfig_item_t *it = item_add(parent, key);
  value_add(it, (oconfig_value_t){.value.string = (char *)value,
                                  .type = OCONFIG_TYPE_STRING});
  return it;
}

static void opt_n(oconfig_item_t *parent, const char *key, double value) {
  value_add(
      item_add(parent, key),
      (oconfig_value_t){.value.number = value, .type = OCONFIG_TYPE_NUMBER});
}

static void more_s(oconfig_item_t *it, const char *value) {
  value_add(it, (oconfig_value_t){.value.string = (char *)value,
                                  .type = OCONFIG_TYPE_STRING});
}

static void item_free(oconfig_item_t *it) {
  for (int i = 0; i < it->values_num; i++)
    if (it->values[i].type == OCONFIG_TYPE_STRING)
      free(it->values[i].value.string);
  free(it->values);
  for (int i = 0; i < it->children_num; i++)
    item_free(&it->children[i]);
  free(it->children);
  free(it->key);
}

/* The longest meta name a template may use (DATA_MAX_NAME_LEN - 1). */
static char long_meta_name[DATA_MAX_NAME_LEN];

/* Task "all": every placeholder; "token": the bearer route, FAILURE only,
 * a regex filter; "cool": one identity with a long Cooldown. */
static oconfig_item_t *build_config(const char *url, const char *spool,
                                    bool offline) {
  oconfig_item_t *root = xcalloc(1, sizeof(*root));
  root->key = xstrdup("Plugin");
  value_add(root, (oconfig_value_t){.value.string = "notify_theeye",
                                    .type = OCONFIG_TYPE_STRING});
  opt_s(root, "URL", url);
  opt_s(root, "Customer", CUSTOMER);
  /* Offline, shutdown waits min(Timeout, 5 s) for jobs that never go. */
  opt_n(root, "Timeout", offline ? 1000 : 10000);
  opt_n(root, "QueueLimit", 100000);
  opt_n(root, "MaxAttempts", 3);
  opt_n(root, "RetryInterval", 0.1);
  opt_s(root, "Header", "X-NT-Host: \"quoted\" value");
  if (spool != NULL)
    opt_s(root, "SpoolDir", spool);

  oconfig_item_t *t = opt_s(root, "Task", "all");
  opt_s(t, "TaskID", TASK1_ID);
  opt_s(t, "Secret", TASK1_SECRET);
  oconfig_item_t *sev = opt_s(t, "Severity", "FAILURE");
  more_s(sev, "warning");
  more_s(sev, "Okay");
  /* Every notification goes through: none is a first OKAY to ignore. */
  value_add(
      item_add(t, "IgnoreFirstOkay"),
      (oconfig_value_t){.value.boolean = 0, .type = OCONFIG_TYPE_BOOLEAN});
  oconfig_item_t *a = opt_s(t, "Argument", "%{severity}");
  static const char *const rest[] = {
      "%{time}",    "%{host}",          "%{plugin}",      "%{plugin_instance}",
      "%{type}",    "%{type_instance}", "%{message}",     "%{task}",
      "%{meta:id}", "%{meta:s}",        "%{meta:i}",      "%{meta:u}",
      "%{meta:d}",  "%{meta:b}",        "%{meta:absent}", "90% of %%{host}"};
  for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
    more_s(a, rest[i]);
  char long_arg[DATA_MAX_NAME_LEN + 32];
  snprintf(long_arg, sizeof(long_arg), "[%%{meta:%s}]", long_meta_name);
  opt_s(t, "Argument", long_arg);

  t = opt_s(root, "Task", "token");
  opt_s(t, "TaskID", TASK2_ID);
  opt_s(t, "AccessToken", TOKEN);
  opt_s(t, "Plugin", "/^plug/");
  a = opt_s(t, "Argument", "%{meta:id}");
  more_s(a, "%{host}");
  more_s(a, "%{plugin}");

  t = opt_s(root, "Task", "cool");
  opt_s(t, "TaskID", TASK3_ID);
  opt_s(t, "Secret", TASK3_SECRET);
  opt_s(t, "Type", "cooltype");
  opt_n(t, "Cooldown", 3600);
  opt_s(t, "Argument", "%{meta:id}");
  return root;
}

/* ------------------------------------------------------------------------ */
/* Notifications and what each Task must make of them                        */

#define VARIANTS 8
#define MAX_ARGS 32

static const struct {
  double v;
  const char *text;
} doubles[] = {
    {NAN, ""},
    {INFINITY, "inf"},
    {-INFINITY, "-inf"},
    {0.1, "0.1"},
    {1e21, "1e+21"},
    {30.5, "30.5"},
    {0.25, "0.25"},
    {DBL_MAX, "1.7976931348623157e+308"},
    {5e-324, "5e-324"},
    {1e-5, "1e-05"},
    {123456789.125, "123456789.125"},
    {0, "0"},
};
static const struct {
  int64_t v;
  const char *text;
} ints[] = {{INT64_MIN, "-9223372036854775808"},
            {-1, "-1"},
            {0, "0"},
            {INT64_MAX, "9223372036854775807"}};
static const struct {
  uint64_t v;
  const char *text;
} uints[] = {{UINT64_MAX, "18446744073709551615"}, {0, "0"}, {42, "42"}};

/* Invalid UTF-8: each maximal invalid subpart becomes one U+FFFD. */
static const char bad_message[] =
    "bad[\xff][\xc0\xaf][\xed\xa0\x80][\xe2\x82 ][\xf4\x90\x80\x80]ok "
    "\xc3\xa9[\xf0\x9f\x98";
static const char bad_message_json[] =
    "bad[" R "][" R R "][" R R R "][" R " ][" R R R R "]ok \xc3\xa9[" R;
static const char nasty_message[] =
    "say \"hi\" \\ back\\slash\t\x01\x1f\x7f /slash/ %{host} %% {} \"";
static const char utf8_message[] =
    "\xc3\xbcn\xc3\xaf\x63\xc3\xb8\x64\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e "
    "\xe6\x97\xa5\xe6\x9c\xac";

typedef struct {
  notification_t n;
  notification_meta_t meta[7];
  char id[32], s[6000];
} host_notif_t;

typedef struct {
  int severity;
  char fields[6][NOTIF_MAX_MSG_LEN]; /* host .. message, as JSON has them */
  char id[32], s[6000];
  const char *i, *u, *d, *b;
  bool has_meta;
  cdtime_t time;
} expect_t;

static const char *sev_name(int s) {
  return s == NOTIF_FAILURE   ? "FAILURE"
         : s == NOTIF_WARNING ? "WARNING"
                              : "OKAY";
}

static void fill(char *dst, char c, size_t n, const char *tail) {
  memset(dst, c, n);
  strcpy(dst + n, tail);
}

/* Notification k (the raw one the plugin gets) and what a Task must send
 * for it (after U+FFFD replacement and the empty host's replacement). */
static void make_notif(int k, host_notif_t *h, expect_t *e) {
  memset(h, 0, sizeof(*h));
  memset(e, 0, sizeof(*e));
  notification_t *n = &h->n;
  int v = k % VARIANTS;
  n->time = MS_TO_CDTIME_T((uint64_t)1764331200000 + (uint64_t)k * 7);
  e->time = n->time;
  snprintf(h->id, sizeof(h->id), "%d", k);
  snprintf(e->id, sizeof(e->id), "%d", k);
  char *f[6] = {n->host, n->plugin,        n->plugin_instance,
                n->type, n->type_instance, n->message};
  /* host .. type_instance, message: raw, then expected */
  const char *raw[6] = {"", "", "", "", "", ""};
  const char *exp[6] = {"", "", "", "", "", ""};
  char plain_host[32], plain_msg[64];
  snprintf(plain_host, sizeof(plain_host), "host-%d", k);
  snprintf(plain_msg, sizeof(plain_msg), "plain notification %d", k);
  snprintf(h->s, sizeof(h->s), "meta-s-%d", k);
  snprintf(e->s, sizeof(e->s), "meta-s-%d", k);
  switch (v) {
  case 0: /* plain ASCII */
    n->severity = NOTIF_FAILURE;
    raw[0] = exp[0] = plain_host;
    raw[1] = exp[1] = "plug0";
    raw[2] = exp[2] = "pi";
    raw[3] = exp[3] = "type";
    raw[4] = exp[4] = "ti";
    raw[5] = exp[5] = plain_msg;
    break;
  case 1: /* quotes, backslashes, control bytes, placeholders as text */
    n->severity = NOTIF_WARNING;
    raw[0] = exp[0] = "q\"uote\\host";
    raw[1] = exp[1] = "plu\"g";
    raw[5] = exp[5] = nasty_message;
    snprintf(h->s, sizeof(h->s), "\"quoted\" \\ \n\r newline %s", "%{s}");
    snprintf(e->s, sizeof(e->s), "%s", h->s);
    break;
  case 2: /* invalid UTF-8 everywhere */
    n->severity = NOTIF_FAILURE;
    raw[0] = "h\xfe\xff-host";
    exp[0] = "h" R R "-host";
    raw[1] = "plug\xff";
    exp[1] = "plug" R;
    raw[5] = bad_message;
    exp[5] = bad_message_json;
    snprintf(h->s, sizeof(h->s), "\xff meta \xc3");
    snprintf(e->s, sizeof(e->s), R " meta " R);
    break;
  case 3: /* valid multi-byte UTF-8 */
    n->severity = NOTIF_OKAY;
    raw[0] = exp[0] = "h\xc3\xb6st";
    raw[5] = exp[5] = utf8_message;
    snprintf(h->s, sizeof(h->s), "%s", utf8_message);
    snprintf(e->s, sizeof(e->s), "%s", utf8_message);
    break;
  case 4: /* every field at its maximum length, and a 5000-byte meta */
    n->severity = NOTIF_FAILURE;
    break;
  case 5: /* empty host: collectd's own name */
    n->severity = NOTIF_FAILURE;
    exp[0] = HOSTNAME;
    raw[5] = exp[5] = "empty host";
    break;
  case 6: /* one identity over and over: Cooldown */
    n->severity = NOTIF_FAILURE;
    raw[0] = exp[0] = "coolhost";
    raw[1] = exp[1] = "plug";
    raw[3] = exp[3] = "cooltype";
    raw[5] = exp[5] = "cool";
    break;
  case 7: /* no meta but the id */
    n->severity = NOTIF_WARNING;
    raw[0] = exp[0] = plain_host;
    raw[5] = exp[5] = "no meta";
    break;
  }
  for (int i = 0; i < 6; i++) {
    snprintf(f[i], i == 5 ? NOTIF_MAX_MSG_LEN : DATA_MAX_NAME_LEN, "%s",
             raw[i]);
    snprintf(e->fields[i], sizeof(e->fields[i]), "%s", exp[i]);
  }
  if (v == 4) {
    fill(n->host, 'H', DATA_MAX_NAME_LEN - 1, "");
    fill(e->fields[0], 'H', DATA_MAX_NAME_LEN - 1, "");
    /* Cut in the middle of a two-byte sequence, as sstrncpy would. */
    fill(n->plugin, 'P', DATA_MAX_NAME_LEN - 2, "\xc3");
    fill(e->fields[1], 'P', DATA_MAX_NAME_LEN - 2, R);
    fill(n->plugin_instance, 'i', DATA_MAX_NAME_LEN - 1, "");
    fill(e->fields[2], 'i', DATA_MAX_NAME_LEN - 1, "");
    fill(n->type, 't', DATA_MAX_NAME_LEN - 1, "");
    fill(e->fields[3], 't', DATA_MAX_NAME_LEN - 1, "");
    fill(n->type_instance, 'j', DATA_MAX_NAME_LEN - 1, "");
    fill(e->fields[4], 'j', DATA_MAX_NAME_LEN - 1, "");
    fill(n->message, 'm', NOTIF_MAX_MSG_LEN - 3, "\xc3\xa9");
    fill(e->fields[5], 'm', NOTIF_MAX_MSG_LEN - 3, "\xc3\xa9");
    fill(h->s, 's', 5000, "\"\\");
    fill(e->s, 's', 5000, "\"\\");
  }
  e->severity = n->severity;

  /* Meta of every type; strings point into h, freed with it. */
  notification_meta_t *m = h->meta;
  int nm = 0;
  sstrncpy(m[nm].name, "id", sizeof(m[nm].name));
  m[nm].type = NM_TYPE_STRING;
  m[nm++].nm_value.nm_string = h->id;
  e->has_meta = v != 7;
  if (e->has_meta) {
    sstrncpy(m[nm].name, "s", sizeof(m[nm].name));
    m[nm].type = NM_TYPE_STRING;
    m[nm++].nm_value.nm_string = h->s;
    int ii = k % (int)(sizeof(ints) / sizeof(ints[0]));
    sstrncpy(m[nm].name, "i", sizeof(m[nm].name));
    m[nm].type = NM_TYPE_SIGNED_INT;
    m[nm++].nm_value.nm_signed_int = ints[ii].v;
    e->i = ints[ii].text;
    int ui = k % (int)(sizeof(uints) / sizeof(uints[0]));
    sstrncpy(m[nm].name, "u", sizeof(m[nm].name));
    m[nm].type = NM_TYPE_UNSIGNED_INT;
    m[nm++].nm_value.nm_unsigned_int = uints[ui].v;
    e->u = uints[ui].text;
    int di = k % (int)(sizeof(doubles) / sizeof(doubles[0]));
    sstrncpy(m[nm].name, "d", sizeof(m[nm].name));
    m[nm].type = NM_TYPE_DOUBLE;
    m[nm++].nm_value.nm_double = doubles[di].v;
    e->d = doubles[di].text;
    sstrncpy(m[nm].name, "b", sizeof(m[nm].name));
    m[nm].type = NM_TYPE_BOOLEAN;
    m[nm++].nm_value.nm_boolean = k % 2;
    e->b = k % 2 ? "true" : "false";
    sstrncpy(m[nm].name, long_meta_name, sizeof(m[nm].name));
    m[nm].type = NM_TYPE_STRING;
    m[nm++].nm_value.nm_string = h->id; /* the long name gives the id too */
  } else {
    snprintf(e->s, sizeof(e->s), "%s", "");
    e->i = e->u = e->d = e->b = "";
  }
  for (int i = 0; i + 1 < nm; i++)
    m[i].next = &m[i + 1];
  n->meta = &m[0];
}

/* The arguments Task t must send for notification k; 0 if it sends none. */
static int expected_args(int t, int k, const char *out[MAX_ARGS], char *timebuf,
                         size_t timelen, char *longbuf, size_t longlen,
                         expect_t *e) {
  host_notif_t *h = xcalloc(1, sizeof(*h));
  make_notif(k, h, e);
  free(h);
  int v = k % VARIANTS;
  int n = 0;
  if (t == 0) {
    uint64_t ms = CDTIME_T_TO_MS(e->time);
    snprintf(timebuf, timelen, "%" PRIu64 ".%03u", ms / 1000,
             (unsigned)(ms % 1000));
    snprintf(longbuf, longlen, "[%s]", e->has_meta ? e->id : "");
    out[n++] = sev_name(e->severity);
    out[n++] = timebuf;
    for (int i = 0; i < 6; i++)
      out[n++] = e->fields[i];
    out[n++] = "all";
    out[n++] = e->id;
    out[n++] = e->s;
    out[n++] = e->i;
    out[n++] = e->u;
    out[n++] = e->d;
    out[n++] = e->b;
    out[n++] = "";
    out[n++] = "90% of %{host}";
    out[n++] = longbuf;
    return n;
  }
  if (t == 1) { /* FAILURE only (the default), plugin =~ ^plug */
    if (e->severity != NOTIF_FAILURE || strncmp(e->fields[1], "plug", 4) != 0)
      return 0;
    out[n++] = e->id;
    out[n++] = e->fields[0];
    out[n++] = e->fields[1];
    return n;
  }
  /* "cool": type cooltype (variant 6 only), one job for all of them. */
  if (v != 6)
    return 0;
  out[n++] = e->id;
  return n;
}

/* ------------------------------------------------------------------------ */
/* Dispatching                                                               */

static int total; /* notifications: 0 before init, 1.. from the threads */
static int per_thread;
static atomic_bool reading_done;

static void dispatch_one(int k) {
  /* On the heap and freed at once, so that ASan sees any use after the
   * callback returned (collectd's notifications live on a stack). */
  host_notif_t *h = xcalloc(1, sizeof(*h));
  expect_t *e = xcalloc(1, sizeof(*e));
  make_notif(k, h, e);
  int status = cb.notify(&h->n, &cb.notify_ud);
  if (status != 0)
    fail("notification %d: callback returned %d", k, status);
  memset(h, 0xA5, sizeof(*h));
  free(h);
  free(e);
}

static void *dispatcher(void *arg) {
  int first = 1 + (int)(intptr_t)arg * per_thread;
  for (int k = first; k < first + per_thread; k++)
    dispatch_one(k);
  return NULL;
}

static void *reader(void *arg) {
  (void)arg;
  while (!atomic_load(&reading_done)) {
    cb.read(&cb.read_ud);
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Checking what the fake supervisor received                               */

static const char *task_ids[3] = {TASK1_ID, TASK2_ID, TASK3_ID};
static const char *task_names[3] = {"all", "token", "cool"};

static unsigned char *unhex(const char *hex, size_t *len) {
  size_t n = strlen(hex);
  if (n % 2)
    return NULL;
  unsigned char *out = xcalloc(n / 2 + 1, 1);
  for (size_t i = 0; i < n / 2; i++) {
    unsigned x;
    if (sscanf(hex + 2 * i, "%2x", &x) != 1) {
      free(out);
      return NULL;
    }
    out[i] = (unsigned char)x;
  }
  *len = n / 2;
  return out;
}

/* A string value, "" for anything else. */
static const char *str(yajl_val v) {
  const char *s = YAJL_IS_STRING(v) ? v->u.string : NULL;
  return s != NULL ? s : "";
}

static yajl_val get(yajl_val obj, const char *key, yajl_type type) {
  const char *path[] = {key, NULL};
  return yajl_tree_get(obj, path, type);
}

/* Job requests recorded so far (lines with a job_id), or -1. */
static int count_jobs(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return errno == ENOENT ? 0 : -1;
  int n = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0)
    if (line[len - 1] == '\n' && strstr(line, "\"job_id\":") != NULL)
      n++;
  free(line);
  fclose(f);
  return n;
}

/* Checks every request of the log; returns the number of jobs per Task. */
static void check_requests(const char *path, int jobs[3]) {
  int *seen[3];
  for (int t = 0; t < 3; t++) {
    seen[t] = xcalloc((size_t)total, sizeof(int));
    jobs[t] = 0;
  }
  FILE *f = fopen(path, "r");
  if (f == NULL)
    die("cannot read %s: %s", path, strerror(errno));
  char *line = NULL, err[256];
  size_t cap = 0;
  ssize_t len;
  int lineno = 0;
  while ((len = getline(&line, &cap, f)) > 0) {
    lineno++;
    if (line[len - 1] != '\n')
      break; /* being written */
    yajl_val r = yajl_tree_parse(line, err, sizeof(err));
    if (r == NULL) {
      fail("supervisor log line %d: not JSON: %s", lineno, err);
      continue;
    }
    yajl_val status = get(r, "status", yajl_t_number);
    yajl_val hex = get(r, "body_hex", yajl_t_string);
    yajl_val path = get(r, "path", yajl_t_string);
    yajl_val auth = yajl_tree_get(
        r, (const char *[]){"headers", "authorization", NULL}, yajl_t_string);
    yajl_val hostname = yajl_tree_get(
        r, (const char *[]){"headers", "x-nt-host", NULL}, yajl_t_string);
    size_t blen = 0;
    unsigned char *body = NULL;
    yajl_val b = NULL;
    if (status == NULL || YAJL_GET_INTEGER(status) != 200 || hex == NULL ||
        path == NULL) {
      fail("request %d: not a 200 job request", lineno);
      goto next;
    }
    if (hostname == NULL || strcmp(str(hostname), "\"quoted\" value") != 0)
      fail("request %d: Header option not sent as configured", lineno);
    body = unhex(str(hex), &blen);
    if (body == NULL ||
        (b = yajl_tree_parse((char *)body, err, sizeof(err))) == NULL) {
      fail("request %d: body is not JSON", lineno);
      goto next;
    }
    if (strlen((char *)body) != blen) {
      fail("request %d: NUL byte in the body", lineno);
      goto next;
    }
    yajl_val task = get(b, "task", yajl_t_string);
    yajl_val args = get(b, "task_arguments", yajl_t_array);
    int t = 0;
    while (task != NULL && t < 3 && strcmp(str(task), task_ids[t]))
      t++;
    if (task == NULL || args == NULL || t == 3) {
      fail("request %d: no known task, or no task_arguments", lineno);
      goto next;
    }
    const char *p = str(path);
    bool route_ok = t == 1 ? strcmp(p, "/job") == 0 && auth != NULL &&
                                 strcmp(str(auth), "Bearer " TOKEN) == 0
                    : t == 0 ? strcmp(p, "/job/secret/" TASK1_SECRET) == 0
                             : strcmp(p, "/job/secret/" TASK3_SECRET) == 0;
    if (!route_ok || (t != 1 && auth != NULL))
      fail("request %d (Task %s): wrong route %s", lineno, task_names[t], p);
    /* Which notification: the first argument of "token" and "cool", the
     * tenth of "all" (%{meta:id}); absent (variant 7) is in the long one. */
    size_t nargs = YAJL_GET_ARRAY(args)->len;
    yajl_val *vals = YAJL_GET_ARRAY(args)->values;
    for (size_t i = 0; i < nargs; i++)
      if (!YAJL_IS_STRING(vals[i])) {
        fail("request %d: argument %zu is not a string", lineno, i);
        goto next;
      }
    int k = -1;
    if (t == 0 && nargs >= 10)
      k = atoi(str(vals[9]));
    else if (t != 0 && nargs >= 1)
      k = atoi(str(vals[0]));
    if (k < 0 || k >= total) {
      fail("request %d (Task %s): no notification id", lineno, task_names[t]);
      goto next;
    }
    const char *exp[MAX_ARGS];
    char timebuf[64], longbuf[64];
    expect_t *e = xcalloc(1, sizeof(*e));
    int n = expected_args(t, k, exp, timebuf, sizeof(timebuf), longbuf,
                          sizeof(longbuf), e);
    if (n == 0)
      fail("request %d: Task %s got notification %d, which it filters out",
           lineno, task_names[t], k);
    else if ((size_t)n != nargs)
      fail("request %d: Task %s, notification %d: %zu arguments, not %d",
           lineno, task_names[t], k, nargs, n);
    else
      for (int i = 0; i < n; i++)
        if (strcmp(str(vals[i]), exp[i]) != 0)
          fail("request %d: Task %s, notification %d, argument %d: got "
               "\"%.300s\", expected \"%.300s\"",
               lineno, task_names[t], k, i, str(vals[i]), exp[i]);
    free(e);
    if (seen[t][k]++)
      fail("Task %s: notification %d sent twice", task_names[t], k);
    jobs[t]++;
  next:
    if (b != NULL)
      yajl_tree_free(b);
    free(body);
    yajl_tree_free(r);
  }
  free(line);
  fclose(f);
  /* Every notification a Task matches reached it ("cool": exactly one). */
  for (int k = 0; k < total; k++)
    for (int t = 0; t < 2; t++) {
      const char *exp[MAX_ARGS];
      char a[64], l[64];
      expect_t *e = xcalloc(1, sizeof(*e));
      if (expected_args(t, k, exp, a, sizeof(a), l, sizeof(l), e) > 0 &&
          seen[t][k] == 0)
        fail("Task %s: notification %d never arrived", task_names[t], k);
      free(e);
    }
  for (int t = 0; t < 3; t++)
    free(seen[t]);
}

/* How many jobs each Task must create. */
static void expected_jobs(int jobs[3], int *cool_matches) {
  jobs[0] = jobs[1] = jobs[2] = 0;
  *cool_matches = 0;
  for (int k = 0; k < total; k++) {
    const char *exp[MAX_ARGS];
    char a[64], l[64];
    expect_t *e = xcalloc(1, sizeof(*e));
    for (int t = 0; t < 3; t++)
      if (expected_args(t, k, exp, a, sizeof(a), l, sizeof(l), e) > 0) {
        if (t == 2)
          ++*cool_matches;
        else
          jobs[t]++;
      }
    free(e);
  }
  jobs[2] = *cool_matches > 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Entries in the spool directory (its "corrupt" subdirectory aside); with
 * jobs_only, only complete entries (NAME.job); with show, each is printed. */
static int spool_entries(const char *dir, bool jobs_only, bool show) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    fail("spool directory %s: %s", dir, strerror(errno));
    return -1;
  }
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);
    /* "state": the remediation state, kept beside the jobs. */
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
        strcmp(de->d_name, "corrupt") == 0 || strcmp(de->d_name, "state") == 0)
      continue;
    if (jobs_only && (de->d_name[0] == '.' || len < 5 ||
                      strcmp(de->d_name + len - 4, ".job") != 0))
      continue;
    if (show)
      fprintf(stderr, "nt_host: in the spool: %s\n", de->d_name);
    n++;
  }
  closedir(d);
  return n;
}

/* A URL nothing listens on: a port just bound, then closed. */
static void dead_url(char *buf, size_t size) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
    die("cannot find a free port: %s", strerror(errno));
  close(fd);
  snprintf(buf, size, "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
}

static void sleep_ms(long ms) {
  nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000 * 1000}, NULL);
}

/* ------------------------------------------------------------------------ */

static void usage(void) {
  die("usage: nt_host --plugin SO --url URL --log SUPERVISOR_LOG "
      "[--spool DIR [--offline | --resume]] [--threads N] [--per-thread M] "
      "[--timeout SECONDS] [-v]");
}

int main(int argc, char **argv) {
  const char *so = NULL, *url = NULL, *sup_log = NULL, *spool = NULL;
  int threads = 4;
  double timeout = 60;
  /* offline: the supervisor is unreachable; every job must be in the
   * spool, and stay there after shutdown. resume: nothing dispatched;
   * every job of an offline run must come out of the spool. */
  bool offline = false, resume = false;
  per_thread = 100;
  static const struct option opts[] = {
      {"plugin", required_argument, NULL, 'p'},
      {"url", required_argument, NULL, 'u'},
      {"log", required_argument, NULL, 'l'},
      {"spool", required_argument, NULL, 's'},
      {"offline", no_argument, NULL, 'o'},
      {"resume", no_argument, NULL, 'r'},
      {"threads", required_argument, NULL, 't'},
      {"per-thread", required_argument, NULL, 'n'},
      {"timeout", required_argument, NULL, 'T'},
      {"verbose", no_argument, NULL, 'v'},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
    switch (c) {
    case 'p':
      so = optarg;
      break;
    case 'u':
      url = optarg;
      break;
    case 'l':
      sup_log = optarg;
      break;
    case 's':
      spool = optarg;
      break;
    case 'o':
      offline = true;
      break;
    case 'r':
      resume = true;
      break;
    case 't':
      threads = atoi(optarg);
      break;
    case 'n':
      per_thread = atoi(optarg);
      break;
    case 'T':
      timeout = atof(optarg);
      break;
    case 'v':
      verbose = true;
      break;
    default:
      usage();
    }
  }
  if (so == NULL || url == NULL || sup_log == NULL || threads < 1 ||
      threads > 64 || per_thread < 1 || timeout <= 0 || optind != argc ||
      ((offline || resume) && spool == NULL) || (offline && resume))
    usage();
  total = 1 + threads * per_thread;
  memset(long_meta_name, 'M', DATA_MAX_NAME_LEN - 1);
  hostname_g = xstrdup(HOSTNAME);
  char dead[64];
  if (offline) {
    dead_url(dead, sizeof(dead));
    url = dead;
  }
  int want[3], cool_matches;
  expected_jobs(want, &cool_matches);
  int want_total = want[0] + want[1] + want[2];

  /* Load: every undefined symbol must resolve now, against this host. */
  void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (dl == NULL)
    die("dlopen: %s (a collectd symbol missing from nt_host.c?)", dlerror());
  void (*module_register)(void) =
      (void (*)(void))(uintptr_t)dlsym(dl, "module_register");
  if (module_register == NULL)
    die("no module_register in %s", so);
  module_register();
  if (cb.registered != 5 || !cb.config || !cb.init || !cb.notify || !cb.read ||
      !cb.shutdown || !cb.notify_ud.free_func)
    die("module_register did not register the five callbacks and a "
        "free_func");

  /* Config: the tree is collectd's, freed right after the callback. */
  oconfig_item_t *root = build_config(url, spool, offline);
  if (cb.config(root) != 0)
    die("the config callback failed");
  item_free(root);
  free(root);

  /* A notification before init (another plugin's, at start-up). */
  if (!resume)
    dispatch_one(0);
  if (cb.init() != 0)
    die("init failed");

  double t0 = now();
  if (!resume) {
    pthread_t tids[64], rt;
    if (pthread_create(&rt, NULL, reader, NULL) != 0)
      die("pthread_create failed");
    for (int i = 0; i < threads; i++)
      if (pthread_create(&tids[i], NULL, dispatcher, (void *)(intptr_t)i) != 0)
        die("pthread_create failed");
    for (int i = 0; i < threads; i++)
      pthread_join(tids[i], NULL);
    atomic_store(&reading_done, true);
    pthread_join(rt, NULL);
    fprintf(stderr,
            "nt_host: %d notifications dispatched by %d threads in %.2f s\n",
            total, threads, now() - t0);
  }

  double deadline = now() + timeout;
  int jobs[3] = {0, 0, 0};
  if (offline) {
    /* Every job reaches the disk while the supervisor stays away. */
    int n;
    while ((n = spool_entries(spool, true, false)) < want_total && n >= 0 &&
           now() < deadline)
      sleep_ms(50);
    fprintf(stderr, "nt_host: %d of %d jobs in the spool after %.2f s\n", n,
            want_total, now() - t0);
    if (n != want_total)
      fail("%d jobs in the spool, expected %d", n, want_total);
    /* The figures follow the files (once the batch is synced). */
    for (bool done = false; !done && now() < deadline; sleep_ms(50)) {
      cb.read(&cb.read_ud);
      done = true;
      for (int t = 0; t < 3; t++)
        done = done && metric(task_names[t], "derive", "spooled") == want[t];
    }
    for (int t = 0; t < 3; t++) {
      if (metric(task_names[t], "derive", "spooled") != want[t])
        fail("Task %s: spooled = %g, expected %d", task_names[t],
             metric(task_names[t], "derive", "spooled"), want[t]);
      if (metric(task_names[t], "derive", "sent") != 0)
        fail("Task %s: sent = %g while the supervisor is away", task_names[t],
             metric(task_names[t], "derive", "sent"));
    }
    if (count_jobs(sup_log) != 0)
      fail("jobs at the supervisor while it was unreachable");
  } else {
    int got = 0;
    while ((got = count_jobs(sup_log)) < want_total && got >= 0 &&
           now() < deadline)
      sleep_ms(50);
    fprintf(stderr, "nt_host: %d of %d jobs at the supervisor after %.2f s\n",
            got, want_total, now() - t0);
    if (got != want_total)
      fail("%d jobs at the supervisor, expected %d", got, want_total);

    /* The self-metrics catch up once each answer was handled. */
    double sent[3];
    do {
      cb.read(&cb.read_ud);
      for (int t = 0; t < 3; t++)
        sent[t] = metric(task_names[t], "derive", "sent");
      if (sent[0] == want[0] && sent[1] == want[1] && sent[2] == want[2])
        break;
      sleep_ms(50);
    } while (now() < deadline);
    for (int t = 0; t < 3; t++) {
      if (sent[t] != want[t])
        fail("Task %s: sent = %g, expected %d", task_names[t], sent[t],
             want[t]);
      static const char *const zero[] = {"failed", "dropped", "expired"};
      for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
        if (metric(task_names[t], "derive", zero[i]) != 0)
          fail("Task %s: %s = %g, expected 0", task_names[t], zero[i],
               metric(task_names[t], "derive", zero[i]));
      if (metric(task_names[t], "queue_length", "") != 0)
        fail("Task %s: queue_length = %g, expected 0", task_names[t],
             metric(task_names[t], "queue_length", ""));
      if (resume && metric(task_names[t], "derive", "resumed") != want[t])
        fail("Task %s: resumed = %g, expected %d", task_names[t],
             metric(task_names[t], "derive", "resumed"), want[t]);
    }
    int suppressed = resume ? 0 : cool_matches - 1;
    if (metric("cool", "derive", "suppressed") != suppressed)
      fail("Task cool: suppressed = %g, expected %d",
           metric("cool", "derive", "suppressed"), suppressed);
    if (spool != NULL && metric("", "derive", "spool_corrupt") != 0)
      fail("spool_corrupt = %g, expected 0",
           metric("", "derive", "spool_corrupt"));

    check_requests(sup_log, jobs);
    for (int t = 0; t < 3; t++)
      if (jobs[t] != want[t])
        fail("Task %s: %d jobs, expected %d", task_names[t], jobs[t], want[t]);
  }

  /* The end of collectd: shutdown, then the free_func as the last call. */
  if (cb.shutdown() != 0)
    fail("shutdown returned non-zero");
  cb.notify_ud.free_func(cb.notify_ud.data);
  if (cb.read_ud.free_func != NULL)
    cb.read_ud.free_func(cb.read_ud.data);
  if (spool != NULL) {
    int left = spool_entries(spool, false, !offline);
    if (offline && left != want_total)
      fail("%d entries in the spool after shutdown, expected the %d jobs "
           "not delivered",
           left, want_total);
    if (!offline && left != 0)
      fail("delivered jobs left in the spool %s", spool);
  }
  /* Offline, failing deliveries are the point: they may be logged. */
  if (!offline && atomic_load(&log_errors) > 0)
    fail("the plugin logged %d ERROR line(s)", atomic_load(&log_errors));
  /* The plugin is not unloaded (collectd never does): dlclose would leave
   * LeakSanitizer's reports without symbols. */
  free(hostname_g);

  int bad = atomic_load(&mismatches);
  fprintf(stderr,
          "nt_host%s: %d notifications, jobs all/token/cool = %d/%d/%d, %ld "
          "values read, %d warning(s), %d error(s) logged: %s\n",
          offline  ? " (offline)"
          : resume ? " (resume)"
                   : "",
          total, jobs[0], jobs[1], jobs[2], metrics.dispatched,
          atomic_load(&log_warnings), atomic_load(&log_errors),
          bad ? "FAILED" : "ok");
  return bad ? 1 : 0;
}
