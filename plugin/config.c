/* SPDX-License-Identifier: MIT */

#include "config.h"
#include "cooldown.h"
#include "pause.h"
#include "subjects.h"
#include "verify.h"
#include "windows.h"

#include "utils/common/common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 5000
#define MAX_CONNECT_TIMEOUT_MS 3000
#define SECRET_LEN 64
#define TASK_ID_LEN 24
/* Confirm and Budget count up to this many events per window: each
 * subject's window keeps their times. TaskBudget's one window may hold
 * more: the brake for a fleet. */
#define MAX_WINDOW_COUNT 100
#define MAX_TASK_BUDGET_COUNT 10000
/* Requests in flight at once to one supervisor: beyond this, a typo. */
#define MAX_CONNECTIONS 256
/* Jobs followed at once, at most: each holds a connection to its
 * supervisor for up to a minute at a time. */
#define MAX_FOLLOW_LIMIT 10000

/* One line per mistake: the Task (when inside one), the option, the why. */
static void config_error(const nt_task_t *task, const char *option,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void config_error(const nt_task_t *task, const char *option,
                         const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  if (task != NULL)
    NT_ERROR("Task \"%s\": option \"%s\": %s", task->name, option, why);
  else
    NT_ERROR("option \"%s\": %s", option, why);
}

void nt_config_init(nt_config_t *cfg) {
  *cfg = (nt_config_t){
      .timeout_ms = DEFAULT_TIMEOUT_MS,
      .verify_peer = true,
      .verify_host = true,
      .queue_limit = 1000,
      .follow_limit = 100,
      .connections = 1,
      .max_attempts = 5,
      .retry_interval = 1,
      .max_retry_interval = 60,
      .max_age = 600,
      .spool_limit = 10000,
  };
}

/* Value getters: each checks the number and types of the option's values. */

static int get_string(const nt_task_t *task, const oconfig_item_t *ci,
                      char **ret) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
    config_error(task, ci->key, "takes exactly one string argument");
    return -1;
  }
  char *s = strdup(ci->values[0].value.string);
  if (s == NULL) {
    config_error(task, ci->key, "out of memory");
    return -1;
  }
  free(*ret);
  *ret = s;
  return 0;
}

/* An organization name: an empty one would send "?customer=". */
static int get_customer(const nt_task_t *task, const oconfig_item_t *ci,
                        char **ret) {
  char *customer = NULL;
  if (get_string(task, ci, &customer) != 0)
    return -1;
  if (customer[0] == '\0') {
    config_error(task, ci->key, "must not be empty");
    free(customer);
    return -1;
  }
  free(*ret);
  *ret = customer;
  return 0;
}

/* An absolute path: collectd may change its working directory. */
static int get_path(const nt_task_t *task, const oconfig_item_t *ci,
                    char **ret) {
  char *path = NULL;
  if (get_string(task, ci, &path) != 0)
    return -1;
  /* "/x/link/." would pass the checks on "." and follow the link. */
  size_t len = strlen(path);
  if (path[0] != '/' || strstr(path, "/./") != NULL ||
      strstr(path, "/../") != NULL ||
      (len >= 2 && strcmp(path + len - 2, "/.") == 0) ||
      (len >= 3 && strcmp(path + len - 3, "/..") == 0)) {
    config_error(task, ci->key,
                 "must be an absolute path without \".\" or \"..\" "
                 "components");
    free(path);
    return -1;
  }
  free(*ret);
  *ret = path;
  return 0;
}

static int get_number(const nt_task_t *task, const oconfig_item_t *ci,
                      double *ret) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER ||
      !isfinite(ci->values[0].value.number)) {
    config_error(task, ci->key, "takes exactly one number");
    return -1;
  }
  *ret = ci->values[0].value.number;
  return 0;
}

/* A positive whole number, e.g. milliseconds or a count. */
static int get_positive(const nt_task_t *task, const oconfig_item_t *ci,
                        long max, long *ret) {
  double v;
  if (get_number(task, ci, &v) != 0)
    return -1;
  if (v < 1 || v != floor(v) || v > (double)max) {
    config_error(task, ci->key, "must be a whole number from 1 to %ld", max);
    return -1;
  }
  *ret = (long)v;
  return 0;
}

/* Seconds, fractions allowed; zero only where allow_zero. */
static int get_seconds(const nt_task_t *task, const oconfig_item_t *ci,
                       bool allow_zero, double *ret) {
  double v;
  if (get_number(task, ci, &v) != 0)
    return -1;
  if (v < 0 || (v == 0 && !allow_zero) || v > 365 * 86400.0) {
    config_error(task, ci->key, "must be a number of seconds %s one year",
                 allow_zero ? "from 0 to" : "above 0 and up to");
    return -1;
  }
  *ret = v;
  return 0;
}

/* "N SECONDS" (Confirm: "K SECONDS"): two numbers, N a whole number from 1
 * to max. */
static int get_count_window(const nt_task_t *task, const oconfig_item_t *ci,
                            unsigned max, nt_count_window_t *ret) {
  const char *count = strcasecmp(ci->key, "Confirm") == 0 ? "K" : "N";
  if (ci->values_num != 2 || ci->values[0].type != OCONFIG_TYPE_NUMBER ||
      ci->values[1].type != OCONFIG_TYPE_NUMBER) {
    config_error(task, ci->key, "takes two numbers: %s SECONDS", count);
    return -1;
  }
  double n = ci->values[0].value.number, seconds = ci->values[1].value.number;
  if (n < 1 || n != floor(n) || n > max) {
    config_error(task, ci->key, "%s must be a whole number from 1 to %u", count,
                 max);
    return -1;
  }
  if (!(seconds > 0) || seconds > 365 * 86400.0) {
    config_error(task, ci->key,
                 "SECONDS must be a number above 0 and up to one year");
    return -1;
  }
  *ret = (nt_count_window_t){.n = (unsigned)n, .seconds = seconds};
  return 0;
}

static int get_bool(const nt_task_t *task, const oconfig_item_t *ci,
                    bool *ret) {
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_BOOLEAN) {
    *ret = ci->values[0].value.boolean != 0;
    return 0;
  }
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_STRING) {
    const char *s = ci->values[0].value.string;
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
        strcasecmp(s, "on") == 0) {
      *ret = true;
      return 0;
    }
    if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 ||
        strcasecmp(s, "off") == 0) {
      *ret = false;
      return 0;
    }
  }
  config_error(task, ci->key, "takes one boolean (true or false)");
  return -1;
}

/* Every value of a multi-valued option must be a string. */
static int check_strings(const nt_task_t *task, const oconfig_item_t *ci) {
  if (ci->values_num < 1) {
    config_error(task, ci->key, "takes one or more string arguments");
    return -1;
  }
  for (int i = 0; i < ci->values_num; i++) {
    if (ci->values[i].type != OCONFIG_TYPE_STRING) {
      config_error(task, ci->key, "takes one or more string arguments");
      return -1;
    }
  }
  return 0;
}

static bool is_hex(const char *s, size_t len) {
  if (strlen(s) != len)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!isxdigit((unsigned char)s[i]))
      return false;
  return true;
}

static bool has_userinfo(CURLU *u) {
  static const CURLUPart parts[] = {CURLUPART_USER, CURLUPART_PASSWORD,
                                    CURLUPART_OPTIONS};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(parts); i++) {
    char *part = NULL;
    bool present = curl_url_get(u, parts[i], &part, 0) == CURLUE_OK;
    curl_free(part);
    if (present)
      return true;
  }
  return false;
}

/* The base URL: http or https, parseable, without credentials; trailing
 * slashes removed. */
static int get_url(const nt_task_t *task, const oconfig_item_t *ci,
                   char **ret) {
  char *url = NULL;
  if (get_string(task, ci, &url) != 0)
    return -1;
  size_t len = strlen(url);
  while (len > 0 && url[len - 1] == '/')
    url[--len] = '\0';
  int status = -1;
  CURLU *u = curl_url();
  char *scheme = NULL;
  if (u == NULL) {
    config_error(task, ci->key, "out of memory");
  } else if (strncasecmp(url, "http://", 7) != 0 &&
             strncasecmp(url, "https://", 8) != 0) {
    config_error(task, ci->key, "must start with http:// or https://");
  } else if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             strchr(url, '?') != NULL || strchr(url, '#') != NULL ||
             strpbrk(url, " \t\r\n") != NULL) {
    /* The value is not repeated: a pasted route may hold a secret. */
    config_error(task, ci->key,
                 "not a valid base URL (a scheme, a host, "
                 "an optional path; no query, fragment or spaces)");
  } else if (has_userinfo(u)) {
    /* Never repeated: it would print the password. */
    config_error(task, ci->key,
                 "holds a user name or password (user:password@): the "
                 "supervisor takes none; remove it from the URL");
  } else if (strstr(url, "/secret/") != NULL || strstr(url, "/job/") != NULL ||
             (len >= 4 && strcmp(url + len - 4, "/job") == 0)) {
    config_error(task, ci->key,
                 "holds a route (/job, /secret/): give only "
                 "the supervisor's base URL, the plugin adds the route");
  } else {
    status = 0;
  }
  curl_free(scheme);
  curl_url_cleanup(u);
  if (status != 0) {
    free(url);
    return -1;
  }
  free(*ret);
  *ret = url;
  return 0;
}

/* A proxy as libcurl takes it: a scheme it knows (http:// when none), a
 * host, an optional port and credentials. Never repeated in a message: it
 * may hold a password. */
static int get_proxy(const oconfig_item_t *ci, char **ret) {
  static const char *const schemes[] = {"http",    "https",  "socks4",
                                        "socks4a", "socks5", "socks5h"};
  char *proxy = NULL;
  if (get_string(NULL, ci, &proxy) != 0)
    return -1;
  nt_buf_t b = NT_BUF_INIT;
  if (strstr(proxy, "://") == NULL)
    nt_buf_puts(&b, "http://");
  nt_buf_puts(&b, proxy);
  char *url = nt_buf_steal(&b, NULL);
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  bool ok = url != NULL && u != NULL &&
            curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ==
                CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            strpbrk(proxy, " \t\r\n") == NULL;
  bool known = false;
  for (size_t i = 0; ok && i < STATIC_ARRAY_SIZE(schemes); i++)
    known = known || strcasecmp(scheme, schemes[i]) == 0;
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  free(url);
  if (!ok || !known) {
    config_error(NULL, ci->key,
                 "not a proxy URL: [SCHEME://][USER:PASSWORD@]HOST[:PORT], "
                 "SCHEME one of http, https, socks4, socks4a, socks5, "
                 "socks5h");
    free(proxy);
    return -1;
  }
  free(*ret);
  *ret = proxy;
  return 0;
}

static void trim(char *s) {
  size_t len = strlen(s);
  while (len > 0 && isspace((unsigned char)s[len - 1]))
    s[--len] = '\0';
  size_t start = 0;
  while (isspace((unsigned char)s[start]))
    start++;
  memmove(s, s + start, len - start + 1);
}

/* Reads a credential file. Its content never reaches a log line. */
static char *read_secret_file(const nt_task_t *task, const char *option,
                              const char *path) {
  /* Not repeated: it may be the secret itself, put in the wrong option. */
  if (strchr(path, '/') == NULL) {
    config_error(task, option,
                 "is not a path to a file (it holds no \"/\"); to give the "
                 "value itself, use %s",
                 strcasecmp(option, "SecretFile") == 0 ? "Secret"
                                                       : "AccessToken");
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    config_error(task, option, "cannot read \"%s\": %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    config_error(task, option, "\"%s\" is not a regular file", path);
    close(fd);
    return NULL;
  }
  if (st.st_mode & (S_IRGRP | S_IROTH))
    NT_WARNING("Task \"%s\": option \"%s\": \"%s\" is readable by group or "
               "others; chmod 600 it",
               task->name, option, path);
  char buf[4096];
  size_t len = 0;
  ssize_t n;
  while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
    len += (size_t)n;
  int err = errno;
  close(fd);
  if (n < 0) {
    config_error(task, option, "cannot read \"%s\": %s", path, strerror(err));
    return NULL;
  }
  if (len == sizeof(buf) - 1) {
    config_error(task, option, "\"%s\" is too large for a credential", path);
    return NULL;
  }
  buf[len] = '\0';
  if (memchr(buf, '\0', len) != NULL) {
    config_error(task, option, "\"%s\" holds a NUL byte: not a credential",
                 path);
    explicit_bzero(buf, sizeof(buf));
    return NULL;
  }
  trim(buf);
  char *value = strdup(buf);
  explicit_bzero(buf, sizeof(buf));
  if (value == NULL)
    config_error(task, option, "out of memory");
  return value;
}

/* Secret, SecretFile, AccessToken, AccessTokenFile: one kind per Task. */
static int task_credential(nt_task_t *task, const oconfig_item_t *ci,
                           nt_cred_kind_t kind, bool from_file) {
  if (task->cred_option != NULL && strcasecmp(task->cred_option, ci->key)) {
    config_error(task, ci->key,
                 "conflicts with \"%s\": set exactly one of "
                 "Secret, SecretFile, AccessToken, AccessTokenFile",
                 task->cred_option);
    return -1;
  }
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
    config_error(task, ci->key, "takes exactly one string argument");
    return -1;
  }
  const char *given = ci->values[0].value.string;
  char *value =
      from_file ? read_secret_file(task, ci->key, given) : strdup(given);
  if (value == NULL) {
    if (!from_file)
      config_error(task, ci->key, "out of memory");
    return -1;
  }
  const char *where = from_file ? "the file's content" : "the value";
  if (kind == NT_CRED_SECRET) {
    if (!is_hex(value, SECRET_LEN)) {
      config_error(task, ci->key,
                   "%s is not a secret key: it must be exactly "
                   "64 hexadecimal characters",
                   where);
      goto fail;
    }
    for (char *p = value; *p; p++)
      *p = (char)tolower((unsigned char)*p);
  } else {
    bool ok = value[0] != '\0';
    for (const char *p = value; ok && *p; p++)
      ok = isgraph((unsigned char)*p);
    if (!ok) {
      config_error(task, ci->key,
                   "%s is not a token: it must be non-empty, "
                   "without spaces or control characters",
                   where);
      goto fail;
    }
  }
  char *option = strdup(ci->key);
  if (option == NULL) {
    config_error(task, ci->key, "out of memory");
    goto fail;
  }
  free(task->cred_option);
  task->cred_option = option;
  if (task->credential != NULL) {
    explicit_bzero(task->credential, strlen(task->credential));
    free(task->credential);
  }
  task->credential = value;
  task->cred_kind = kind;
  return 0;
fail:
  explicit_bzero(value, strlen(value));
  free(value);
  return -1;
}

static const struct {
  const char *option;
  nt_field_t field;
} filter_options[] = {
    {"Host", NT_FIELD_HOST},
    {"Plugin", NT_FIELD_PLUGIN},
    {"PluginInstance", NT_FIELD_PLUGIN_INSTANCE},
    {"Type", NT_FIELD_TYPE},
    {"TypeInstance", NT_FIELD_TYPE_INSTANCE},
    {"Message", NT_FIELD_MESSAGE},
};

static int task_filter(nt_task_t *task, const oconfig_item_t *ci,
                       nt_field_t field) {
  if (check_strings(task, ci) != 0)
    return -1;
  for (int i = 0; i < ci->values_num; i++) {
    char err[256];
    if (nt_match_add(&task->match, field, ci->values[i].value.string, err,
                     sizeof(err)) != 0) {
      config_error(task, ci->key, "%s", err);
      return -1;
    }
  }
  return 0;
}

static int task_severity(nt_task_t *task, const oconfig_item_t *ci) {
  if (check_strings(task, ci) != 0)
    return -1;
  for (int i = 0; i < ci->values_num; i++) {
    if (nt_match_add_severity(&task->match, ci->values[i].value.string) != 0) {
      config_error(task, ci->key,
                   "\"%s\" is not a severity: use FAILURE, WARNING or OKAY",
                   ci->values[i].value.string);
      return -1;
    }
  }
  return 0;
}

static int task_add_template(nt_task_t *task, const char *option,
                             const char *text) {
  char err[256];
  nt_template_t *t = nt_template_parse(text, err, sizeof(err));
  if (t == NULL) {
    config_error(task, option, "%s", err);
    return -1;
  }
  nt_template_t **args =
      realloc(task->args, (task->args_num + 1) * sizeof(*args));
  if (args == NULL) {
    nt_template_free(t);
    config_error(task, option, "out of memory");
    return -1;
  }
  args[task->args_num++] = t;
  task->args = args;
  return 0;
}

static int task_argument(nt_task_t *task, const oconfig_item_t *ci) {
  if (check_strings(task, ci) != 0)
    return -1;
  for (int i = 0; i < ci->values_num; i++)
    if (task_add_template(task, ci->key, ci->values[i].value.string) != 0)
      return -1;
  return 0;
}

/* The order of collectd's own NotificationExec headers. */
static const char *const default_arguments[] = {
    "%{severity}",        "%{time}", "%{host}",          "%{plugin}",
    "%{plugin_instance}", "%{type}", "%{type_instance}", "%{message}",
};

/* The one watcher of a PauseFile, shared by the Tasks that name it. */
static nt_pause_t *pause_of(nt_config_t *cfg, const char *path) {
  for (size_t i = 0; i < cfg->pauses_num; i++)
    if (strcmp(nt_pause_path(cfg->pauses[i]), path) == 0)
      return cfg->pauses[i];
  nt_pause_t **more =
      realloc(cfg->pauses, (cfg->pauses_num + 1) * sizeof(*more));
  if (more == NULL)
    return NULL;
  cfg->pauses = more;
  nt_pause_t *p = nt_pause_create(path);
  if (p != NULL)
    cfg->pauses[cfg->pauses_num++] = p;
  return p;
}

/* The windows of a "N SECONDS" guard, for at most capacity subjects; none
 * when it is off. False when out of memory. */
static bool make_windows(const nt_count_window_t *cw, size_t capacity,
                         nt_windows_t **w) {
  if (cw->n == 0)
    return true;
  *w = nt_windows_create(cw->n, cw->seconds, capacity);
  return *w != NULL;
}

static void task_free(nt_task_t *task) {
  if (task == NULL)
    return;
  nt_windows_free(task->confirms);
  nt_windows_free(task->budgets);
  nt_windows_free(task->task_budgets);
  free(task->name);
  free(task->cred_option);
  if (task->credential != NULL) {
    explicit_bzero(task->credential, strlen(task->credential));
    free(task->credential);
  }
  nt_match_free(&task->match);
  for (size_t i = 0; i < task->args_num; i++)
    nt_template_free(task->args[i]);
  free(task->args);
  free(task->own.url);
  free(task->own.customer);
  free(task->own.pause_file);
  if (task->request_url != NULL) {
    explicit_bzero(task->request_url, strlen(task->request_url));
    free(task->request_url);
  }
  free(task->redacted_url);
  curl_slist_free_all(task->headers);
  nt_cooldown_free(task->cooldowns);
  nt_verify_free(task->verifies);
  free(task);
}

static int task_option(nt_task_t *task, const oconfig_item_t *c) {
  const char *key = c->key;
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(filter_options); i++)
    if (strcasecmp(key, filter_options[i].option) == 0)
      return task_filter(task, c, filter_options[i].field);
  if (strcasecmp(key, "TaskID") == 0) {
    char *id = NULL;
    if (get_string(task, c, &id) != 0)
      return -1;
    if (!is_hex(id, TASK_ID_LEN)) {
      config_error(task, key,
                   "not a task id (%zu characters): it must be exactly "
                   "24 hexadecimal characters",
                   strlen(id));
      free(id);
      return -1;
    }
    memcpy(task->task_id, id, TASK_ID_LEN + 1);
    free(id);
    return 0;
  }
  if (strcasecmp(key, "Secret") == 0)
    return task_credential(task, c, NT_CRED_SECRET, false);
  if (strcasecmp(key, "SecretFile") == 0)
    return task_credential(task, c, NT_CRED_SECRET, true);
  if (strcasecmp(key, "AccessToken") == 0)
    return task_credential(task, c, NT_CRED_TOKEN, false);
  if (strcasecmp(key, "AccessTokenFile") == 0)
    return task_credential(task, c, NT_CRED_TOKEN, true);
  if (strcasecmp(key, "Severity") == 0)
    return task_severity(task, c);
  if (strcasecmp(key, "Argument") == 0)
    return task_argument(task, c);
  if (strcasecmp(key, "Cooldown") == 0)
    return get_seconds(task, c, true, &task->cooldown);
  if (strcasecmp(key, "IgnoreFirstOkay") == 0)
    return get_bool(task, c, &task->ignore_first_okay);
  if (strcasecmp(key, "CancelOnRecovery") == 0)
    return get_bool(task, c, &task->cancel_on_recovery);
  if (strcasecmp(key, "FollowJob") == 0)
    return get_bool(task, c, &task->follow_job);
  if (strcasecmp(key, "FollowTimeout") == 0)
    return get_seconds(task, c, false, &task->follow_timeout);
  if (strcasecmp(key, "Verify") == 0)
    return get_seconds(task, c, true, &task->verify);
  if (strcasecmp(key, "Confirm") == 0)
    return get_count_window(task, c, MAX_WINDOW_COUNT, &task->confirm);
  if (strcasecmp(key, "Budget") == 0)
    return get_count_window(task, c, MAX_WINDOW_COUNT, &task->budget);
  if (strcasecmp(key, "TaskBudget") == 0)
    return get_count_window(task, c, MAX_TASK_BUDGET_COUNT, &task->task_budget);
  if (strcasecmp(key, "URL") == 0)
    return get_url(task, c, &task->own.url);
  if (strcasecmp(key, "Customer") == 0)
    return get_customer(task, c, &task->own.customer);
  if (strcasecmp(key, "PauseFile") == 0)
    return get_path(task, c, &task->own.pause_file);
  if (strcasecmp(key, "Timeout") == 0)
    return get_positive(task, c, 86400000, &task->own.timeout_ms);
  if (strcasecmp(key, "ConnectTimeout") == 0)
    return get_positive(task, c, 86400000, &task->own.connect_timeout_ms);
  config_error(task, key,
               "unknown option in a <Task> block (a Task may "
               "override only URL, Customer, Timeout, ConnectTimeout and "
               "PauseFile)");
  return -1;
}

static int task_block(nt_config_t *cfg, const oconfig_item_t *ci) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
    NT_ERROR("<Task> takes exactly one string argument: the Task's name");
    return -1;
  }
  const char *name = ci->values[0].value.string;
  size_t len = strlen(name);
  bool printable = true;
  for (size_t i = 0; i < len; i++)
    printable = printable && (unsigned char)name[i] >= 0x20 && name[i] != 0x7F;
  if (len == 0 || len >= DATA_MAX_NAME_LEN || strchr(name, '/') != NULL ||
      !printable) {
    NT_ERROR("<Task \"%.*s\">: a Task's name must be 1 to %d bytes without "
             "'/' or control characters",
             80, name, DATA_MAX_NAME_LEN - 1);
    return -1;
  }
  for (size_t i = 0; i < cfg->tasks_num; i++) {
    if (strcmp(cfg->tasks[i]->name, name) == 0) {
      NT_ERROR("<Task \"%s\">: a Task of that name is already configured",
               name);
      return -1;
    }
  }
  nt_task_t *task = calloc(1, sizeof(*task));
  if (task == NULL || (task->name = strdup(name)) == NULL) {
    NT_ERROR("<Task \"%s\">: out of memory", name);
    free(task);
    return -1;
  }
  task->ignore_first_okay = true;
  task->cancel_on_recovery = true;
  task->follow_timeout = 3600;
  int status = 0;
  for (int i = 0; status == 0 && i < ci->children_num; i++)
    status = task_option(task, &ci->children[i]);
  if (status == 0 && task->task_id[0] == '\0') {
    config_error(task, "TaskID",
                 "missing: every Task needs the id of the "
                 "TheEye task it runs");
    status = -1;
  }
  if (status == 0 && task->cred_kind == NT_CRED_NONE) {
    config_error(task, "Secret",
                 "missing: set one of Secret, SecretFile, "
                 "AccessToken, AccessTokenFile");
    status = -1;
  }
  bool defaults = task->args_num == 0;
  for (size_t i = 0;
       status == 0 && defaults && i < STATIC_ARRAY_SIZE(default_arguments); i++)
    status = task_add_template(task, "Argument", default_arguments[i]);
  nt_task_t **tasks = NULL;
  if (status == 0) {
    tasks = realloc(cfg->tasks, (cfg->tasks_num + 1) * sizeof(*tasks));
    if (tasks == NULL) {
      NT_ERROR("<Task \"%s\">: out of memory", name);
      status = -1;
    }
  }
  if (status != 0) {
    task_free(task);
    return -1;
  }
  tasks[cfg->tasks_num++] = task;
  cfg->tasks = tasks;
  return 0;
}

static int global_header(nt_config_t *cfg, const oconfig_item_t *ci) {
  char *header = NULL;
  if (get_string(NULL, ci, &header) != 0)
    return -1;
  const char *colon = strchr(header, ':');
  if (colon == NULL || colon == header || strpbrk(header, "\r\n") != NULL) {
    config_error(NULL, ci->key,
                 "not a header line \"Name: value\" on one "
                 "line (the value is not repeated: it may hold a credential)");
    free(header);
    return -1;
  }
  char **headers =
      realloc(cfg->headers, (cfg->headers_num + 1) * sizeof(*headers));
  if (headers == NULL) {
    config_error(NULL, ci->key, "out of memory");
    free(header);
    return -1;
  }
  headers[cfg->headers_num++] = header;
  cfg->headers = headers;
  return 0;
}

static int global_option(nt_config_t *cfg, const oconfig_item_t *c) {
  const char *key = c->key;
  long n;
  if (strcasecmp(key, "Task") == 0)
    return task_block(cfg, c);
  if (strcasecmp(key, "URL") == 0)
    return get_url(NULL, c, &cfg->url);
  if (strcasecmp(key, "Customer") == 0)
    return get_customer(NULL, c, &cfg->customer);
  if (strcasecmp(key, "Timeout") == 0)
    return get_positive(NULL, c, 86400000, &cfg->timeout_ms);
  if (strcasecmp(key, "ConnectTimeout") == 0)
    return get_positive(NULL, c, 86400000, &cfg->connect_timeout_ms);
  if (strcasecmp(key, "VerifyPeer") == 0)
    return get_bool(NULL, c, &cfg->verify_peer);
  if (strcasecmp(key, "VerifyHost") == 0)
    return get_bool(NULL, c, &cfg->verify_host);
  if (strcasecmp(key, "CACert") == 0)
    return get_string(NULL, c, &cfg->cacert);
  if (strcasecmp(key, "CAPath") == 0)
    return get_string(NULL, c, &cfg->capath);
  if (strcasecmp(key, "ClientCert") == 0)
    return get_string(NULL, c, &cfg->client_cert);
  if (strcasecmp(key, "ClientKey") == 0)
    return get_string(NULL, c, &cfg->client_key);
  if (strcasecmp(key, "ClientKeyPass") == 0)
    return get_string(NULL, c, &cfg->client_key_pass);
  if (strcasecmp(key, "Proxy") == 0)
    return get_proxy(c, &cfg->proxy);
  if (strcasecmp(key, "Header") == 0)
    return global_header(cfg, c);
  if (strcasecmp(key, "QueueLimit") == 0) {
    if (get_positive(NULL, c, 10000000, &n) != 0)
      return -1;
    cfg->queue_limit = (size_t)n;
    return 0;
  }
  if (strcasecmp(key, "FollowLimit") == 0) {
    if (get_positive(NULL, c, MAX_FOLLOW_LIMIT, &n) != 0)
      return -1;
    cfg->follow_limit = (size_t)n;
    return 0;
  }
  if (strcasecmp(key, "Connections") == 0) {
    if (get_positive(NULL, c, MAX_CONNECTIONS, &n) != 0)
      return -1;
    cfg->connections = (size_t)n;
    return 0;
  }
  if (strcasecmp(key, "MaxAttempts") == 0) {
    if (get_positive(NULL, c, 1000, &n) != 0)
      return -1;
    cfg->max_attempts = (unsigned)n;
    return 0;
  }
  if (strcasecmp(key, "RetryInterval") == 0)
    return get_seconds(NULL, c, false, &cfg->retry_interval);
  if (strcasecmp(key, "MaxRetryInterval") == 0)
    return get_seconds(NULL, c, false, &cfg->max_retry_interval);
  if (strcasecmp(key, "MaxAge") == 0)
    return get_seconds(NULL, c, false, &cfg->max_age);
  if (strcasecmp(key, "DryRun") == 0)
    return get_bool(NULL, c, &cfg->dry_run);
  if (strcasecmp(key, "SpoolDir") == 0)
    return get_path(NULL, c, &cfg->spool_dir);
  if (strcasecmp(key, "PauseFile") == 0)
    return get_path(NULL, c, &cfg->pause_file);
  if (strcasecmp(key, "SpoolLimit") == 0) {
    if (get_positive(NULL, c, 10000000, &n) != 0)
      return -1;
    cfg->spool_limit = (size_t)n;
    return 0;
  }
  config_error(NULL, key, "unknown option in <Plugin notify_theeye>");
  return -1;
}

int nt_config_block(nt_config_t *cfg, const oconfig_item_t *ci) {
  cfg->blocks_seen = true;
  for (int i = 0; i < ci->children_num; i++)
    if (global_option(cfg, &ci->children[i]) != 0)
      return -1;
  return 0;
}

int nt_url_escape(nt_buf_t *out, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      nt_buf_append(out, (const char *)p, 1);
    } else {
      char esc[3] = {'%', hex[*p >> 4], hex[*p & 0xF]};
      nt_buf_append(out, esc, 3);
    }
  }
  return out->failed ? -1 : 0;
}

/* The request URL of the Task's route, with the credential or a placeholder for
 * logs. */
static char *route_url(const nt_task_t *task, bool redact) {
  nt_buf_t b = NT_BUF_INIT;
  const char *secret = redact ? "<secret>" : task->credential;
  nt_buf_puts(&b, task->eff.url);
  if (task->cred_kind == NT_CRED_TOKEN) {
    nt_buf_puts(&b, "/job");
  } else if (task->eff.customer != NULL) {
    nt_buf_puts(&b, "/job/secret/");
    if (redact)
      nt_buf_puts(&b, secret);
    else
      nt_url_escape(&b, secret);
  } else {
    nt_buf_puts(&b, "/task/");
    nt_url_escape(&b, task->task_id);
    nt_buf_puts(&b, "/secret/");
    if (redact)
      nt_buf_puts(&b, secret);
    else
      nt_url_escape(&b, secret);
    nt_buf_puts(&b, "/job");
  }
  if (task->eff.customer != NULL) {
    nt_buf_puts(&b, "?customer=");
    nt_url_escape(&b, task->eff.customer);
  }
  return nt_buf_steal(&b, NULL);
}

/* Whether a Header option names this header. */
static bool has_header(const nt_config_t *cfg, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < cfg->headers_num; i++)
    if (strncasecmp(cfg->headers[i], name, len) == 0 &&
        cfg->headers[i][len] == ':')
      return true;
  return false;
}

static struct curl_slist *request_headers(const nt_config_t *cfg,
                                          const nt_task_t *task) {
  /* The User-Agent is a fixed line too, rather than libcurl's option that
   * formats it anew for every request; a Header option may replace it. */
  const char *fixed[] = {
      "Content-Type: application/json",
      "Accept: application/json",
      "Expect:", /* no 100-continue round trip */
      has_header(cfg, "User-Agent")
          ? NULL
          : "User-Agent: collectd-notify_theeye/" NT_VERSION,
  };
  size_t fixed_num = STATIC_ARRAY_SIZE(fixed) - (fixed[3] == NULL);
  struct curl_slist *list = NULL;
  for (size_t i = 0; i < fixed_num + cfg->headers_num; i++) {
    const char *h = i < fixed_num ? fixed[i] : cfg->headers[i - fixed_num];
    struct curl_slist *next = curl_slist_append(list, h);
    if (next == NULL)
      goto fail;
    list = next;
  }
  if (task->cred_kind == NT_CRED_TOKEN) {
    nt_buf_t b = NT_BUF_INIT;
    nt_buf_printf(&b, "Authorization: Bearer %s", task->credential);
    char *auth = nt_buf_steal(&b, NULL);
    struct curl_slist *next = auth ? curl_slist_append(list, auth) : NULL;
    if (auth != NULL) {
      explicit_bzero(auth, strlen(auth));
      free(auth);
    }
    if (next == NULL)
      goto fail;
    list = next;
  }
  return list;
fail:
  curl_slist_free_all(list);
  return NULL;
}

/* 127.0.0.0/8, ::1 or localhost: nobody else can read plain http there. */
static bool is_loopback(const char *url) {
  CURLU *u = curl_url();
  char *host = NULL;
  bool loopback = false;
  if (u != NULL &&
      curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ==
          CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    struct in_addr v4;
    loopback =
        strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
        (inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127);
  }
  curl_free(host);
  curl_url_cleanup(u);
  return loopback;
}

/* The proxy a plain http:// request goes through, if any: Proxy, else the
 * environment's, as libcurl reads it (no_proxy aside, which can only spare
 * a warning). */
static const char *http_proxy(const nt_config_t *cfg) {
  static const char *const vars[] = {"http_proxy", "all_proxy", "ALL_PROXY"};
  if (cfg->proxy != NULL)
    return cfg->proxy;
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(vars); i++) {
    const char *value = getenv(vars[i]);
    if (value != NULL && value[0] != '\0')
      return value;
  }
  return NULL;
}

/* Whether a secret in a plain http:// request to url stays on this host:
 * the URL's host is a loopback address, and so is the proxy's, if any. */
static bool stays_local(const nt_config_t *cfg, const char *url) {
  const char *proxy = http_proxy(cfg);
  if (proxy == NULL)
    return is_loopback(url);
  nt_buf_t b = NT_BUF_INIT;
  if (strstr(proxy, "://") == NULL)
    nt_buf_puts(&b, "http://");
  nt_buf_puts(&b, proxy);
  char *proxy_url = nt_buf_steal(&b, NULL);
  bool local = is_loopback(url) && proxy_url != NULL && is_loopback(proxy_url);
  free(proxy_url);
  return local;
}

/* The credential is still sent: these are choices a user may have made on
 * purpose, but must know about. */
static void warn_exposure(const nt_config_t *cfg, const nt_task_t *task) {
  if (strncasecmp(task->eff.url, "http://", 7) == 0 &&
      !stays_local(cfg, task->eff.url))
    NT_WARNING("Task \"%s\": its %s goes over plain http:// to %s: anyone "
               "on the way can read and reuse it; use https://",
               task->name,
               task->cred_kind == NT_CRED_TOKEN ? "token" : "secret",
               task->eff.url);
  if (!cfg->verify_peer || !cfg->verify_host)
    NT_WARNING("Task \"%s\": %s is false: its %s goes to whoever answers "
               "for %s; set it to true (and CACert for a private CA)",
               task->name, !cfg->verify_peer ? "VerifyPeer" : "VerifyHost",
               task->cred_kind == NT_CRED_TOKEN ? "token" : "secret",
               task->eff.url);
}

static int task_finalize(nt_config_t *cfg, nt_task_t *task) {
  task->eff.url = task->own.url ? task->own.url : cfg->url;
  if (task->eff.url == NULL) {
    NT_ERROR("Task \"%s\": no URL: set URL in <Plugin notify_theeye> or in "
             "the Task",
             task->name);
    return -1;
  }
  task->eff.customer = task->own.customer ? task->own.customer : cfg->customer;
  task->eff.pause_file =
      task->own.pause_file ? task->own.pause_file : cfg->pause_file;
  if (task->eff.pause_file != NULL &&
      (task->pause = pause_of(cfg, task->eff.pause_file)) == NULL) {
    NT_ERROR("Task \"%s\": out of memory", task->name);
    return -1;
  }
  task->eff.timeout_ms =
      task->own.timeout_ms ? task->own.timeout_ms : cfg->timeout_ms;
  if (task->own.connect_timeout_ms)
    task->eff.connect_timeout_ms = task->own.connect_timeout_ms;
  else if (cfg->connect_timeout_ms)
    task->eff.connect_timeout_ms = cfg->connect_timeout_ms;
  else
    task->eff.connect_timeout_ms = task->eff.timeout_ms < MAX_CONNECT_TIMEOUT_MS
                                       ? task->eff.timeout_ms
                                       : MAX_CONNECT_TIMEOUT_MS;
  task->request_url = route_url(task, false);
  task->redacted_url = route_url(task, true);
  task->headers = request_headers(cfg, task);
  if (task->cooldown > 0)
    task->cooldowns = nt_cooldown_create(task->cooldown, NT_COOLDOWN_CAPACITY);
  bool windows_ok =
      make_windows(&task->confirm, NT_CONFIRM_CAPACITY, &task->confirms) &&
      make_windows(&task->budget, NT_BUDGET_CAPACITY, &task->budgets) &&
      make_windows(&task->task_budget, 1, &task->task_budgets);
  if (task->verify > 0)
    task->verifies = nt_verify_create(task->verify, NT_VERIFY_CAPACITY);
  if (task->request_url == NULL || task->redacted_url == NULL ||
      task->headers == NULL || (task->cooldown > 0 && !task->cooldowns) ||
      (task->verify > 0 && !task->verifies) || !windows_ok) {
    NT_ERROR("Task \"%s\": out of memory", task->name);
    return -1;
  }
  /* One line per supervisor, and per PauseFile: a Task paused on its own
   * must not hold the jobs of another Task behind its own. */
  size_t lane = 0;
  bool known_url = false;
  for (; lane < cfg->lanes_num; lane++) {
    const nt_task_t *first = cfg->lane_tasks[lane];
    if (strcmp(first->eff.url, task->eff.url) != 0)
      continue;
    known_url = true;
    if (first->pause == task->pause)
      break;
  }
  if (!known_url)
    cfg->supervisors_num++;
  if (lane == cfg->lanes_num) {
    nt_task_t **first = realloc(cfg->lane_tasks, (lane + 1) * sizeof(*first));
    if (first == NULL) {
      NT_ERROR("Task \"%s\": out of memory", task->name);
      return -1;
    }
    first[lane] = task;
    cfg->lane_tasks = first;
    cfg->lanes_num++;
  }
  task->lane = lane;
  warn_exposure(cfg, task);
  return 0;
}

/* Header values shorter than this are not redacted: "1" or "yes" would
 * blot out every message. */
#define HEADER_SECRET_MIN 8

static int add_secret(nt_config_t *cfg, const char *value, size_t len) {
  if (value == NULL || len == 0)
    return 0;
  char **more = realloc(cfg->secrets, (cfg->secrets_num + 1) * sizeof(*more));
  if (more == NULL)
    return -1;
  cfg->secrets = more;
  if ((more[cfg->secrets_num] = strndup(value, len)) == NULL)
    return -1;
  cfg->secrets_num++;
  return 0;
}

/* A proxy's password, raw and decoded, and the proxy as written when it
 * holds one. Not the user name: a short one would blot out every message
 * that names the proxy. */
static int add_proxy_secrets(nt_config_t *cfg) {
  if (cfg->proxy == NULL)
    return 0;
  int status = 0;
  nt_buf_t b = NT_BUF_INIT;
  if (strstr(cfg->proxy, "://") == NULL)
    nt_buf_puts(&b, "http://");
  nt_buf_puts(&b, cfg->proxy);
  char *url = nt_buf_steal(&b, NULL);
  CURLU *u = curl_url();
  if (url == NULL || u == NULL)
    status = -1;
  else if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ==
           CURLUE_OK) {
    for (int decode = 0; decode <= 1; decode++) {
      char *password = NULL;
      if (curl_url_get(u, CURLUPART_PASSWORD, &password,
                       decode ? CURLU_URLDECODE : 0) == CURLUE_OK &&
          password[0] != '\0' &&
          (add_secret(cfg, password, strlen(password)) != 0 ||
           add_secret(cfg, cfg->proxy, strlen(cfg->proxy)) != 0))
        status = -1;
      curl_free(password);
    }
  }
  curl_url_cleanup(u);
  free(url);
  return status;
}

/* Longest first: a secret that holds a shorter one must be found before
 * the shorter one's stars break it up. */
static int longest_first(const void *a, const void *b) {
  size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
  return la < lb ? 1 : la > lb ? -1 : 0;
}

static int collect_secrets(nt_config_t *cfg) {
  int status = add_proxy_secrets(cfg);
  for (size_t i = 0; i < cfg->tasks_num; i++)
    if (add_secret(cfg, cfg->tasks[i]->credential,
                   strlen(cfg->tasks[i]->credential)) != 0)
      status = -1;
  if (cfg->client_key_pass != NULL &&
      add_secret(cfg, cfg->client_key_pass, strlen(cfg->client_key_pass)) != 0)
    status = -1;
  for (size_t i = 0; i < cfg->headers_num; i++) {
    const char *value = strchr(cfg->headers[i], ':');
    if (value == NULL)
      continue;
    value++;
    while (isspace((unsigned char)*value))
      value++;
    size_t len = strlen(value);
    while (len > 0 && isspace((unsigned char)value[len - 1]))
      len--;
    if (len >= HEADER_SECRET_MIN && add_secret(cfg, value, len) != 0)
      status = -1;
  }
  if (cfg->secrets_num > 1)
    qsort(cfg->secrets, cfg->secrets_num, sizeof(*cfg->secrets), longest_first);
  return status;
}

/* Each follow holds a socket while its result is held: more than collectd
 * may open would starve every plugin of descriptors. */
static void warn_follow_limit(const nt_config_t *cfg) {
  bool following = false;
  for (size_t i = 0; i < cfg->tasks_num; i++)
    following |= cfg->tasks[i]->follow_job;
  struct rlimit rl;
  if (following && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
      rl.rlim_cur != RLIM_INFINITY && cfg->follow_limit > rl.rlim_cur / 2)
    NT_WARNING("FollowLimit (%zu) is above half of collectd's open files "
               "limit (%llu): each follow holds a connection; raise the "
               "limit (LimitNOFILE) or lower FollowLimit",
               cfg->follow_limit, (unsigned long long)rl.rlim_cur);
}

int nt_config_finalize(nt_config_t *cfg) {
  if (!cfg->blocks_seen) {
    NT_ERROR("no <Plugin notify_theeye> block in the configuration: nothing "
             "to do");
    return -1;
  }
  if (cfg->tasks_num == 0) {
    NT_ERROR("no <Task> configured in <Plugin notify_theeye>");
    return -1;
  }
  for (size_t i = 0; i < cfg->tasks_num; i++) {
    cfg->tasks[i]->index = i;
    if (task_finalize(cfg, cfg->tasks[i]) != 0)
      return -1;
  }
  if (collect_secrets(cfg) != 0 ||
      (cfg->subjects = nt_subjects_create(NT_SUBJECTS_CAPACITY)) == NULL) {
    NT_ERROR("out of memory");
    return -1;
  }
  if (cfg->spool_dir != NULL && cfg->spool_limit < cfg->queue_limit)
    NT_WARNING("QueueLimit (%zu) is above SpoolLimit (%zu): with SpoolDir "
               "at most %zu jobs wait, the oldest beyond that is dropped",
               cfg->queue_limit, cfg->spool_limit, cfg->spool_limit);
  warn_follow_limit(cfg);
  return 0;
}

void nt_config_free(nt_config_t *cfg) {
  for (size_t i = 0; i < cfg->tasks_num; i++)
    task_free(cfg->tasks[i]);
  nt_subjects_free(cfg->subjects);
  free(cfg->tasks);
  free(cfg->lane_tasks);
  free(cfg->url);
  free(cfg->customer);
  free(cfg->pause_file);
  for (size_t i = 0; i < cfg->pauses_num; i++)
    nt_pause_free(cfg->pauses[i]);
  free(cfg->pauses);
  free(cfg->cacert);
  free(cfg->capath);
  free(cfg->client_cert);
  free(cfg->client_key);
  free(cfg->client_key_pass);
  free(cfg->proxy);
  free(cfg->spool_dir);
  for (size_t i = 0; i < cfg->headers_num; i++)
    free(cfg->headers[i]);
  free(cfg->headers);
  for (size_t i = 0; i < cfg->secrets_num; i++) {
    explicit_bzero(cfg->secrets[i], strlen(cfg->secrets[i]));
    free(cfg->secrets[i]);
  }
  free(cfg->secrets);
  nt_config_init(cfg);
}
