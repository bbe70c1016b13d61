/* SPDX-License-Identifier: MIT
 *
 * The configuration and its errors, from a fuzzed oconfig_item_t tree:
 * every mistake is refused with an ERROR line, never a crash or a leak;
 * what is accepted finalizes into routes that render and match.
 *
 * Input: a small text form of the tree, one item per line, as collectd
 * writes it:
 *
 *   URL "http://127.0.0.1:8080"
 *   <Task "restart-nginx">
 *     TaskID "5f0c1a2b3c4d5e6f7a8b9c0d"
 *     SecretFile "secret"
 *   </Task>
 *   ---
 *   Timeout 2000
 *
 * A value is a "quoted string" (a backslash takes the next byte as it is,
 * newlines included), true/false/yes/no/on/off (a boolean), a number
 * (anything strtod reads whole: 1e400, nan and inf too) or else a bare
 * string. "<Key values>" opens a block, "</...>" closes the innermost one
 * (any key may have children; depth is bounded), "---" starts the next
 * <Plugin notify_theeye> block (up to 4), all given to nt_config_block in
 * turn (as collectd does, on after a failed one), then nt_config_finalize
 * if every one was accepted.
 *
 * SecretFile and AccessTokenFile read files: whatever their values say,
 * they read one of a fixed set of files this target writes at start into a
 * directory of its own (a value naming one, e.g. "secret", "big", "dir",
 * "missing", picks it; any other value picks one by its hash). No other
 * option touches the file system while configuring. */
/* strcasestr */
#define _GNU_SOURCE

#include "fuzz_util.h"

#include "../../plugin/config.h"
#include "../../plugin/cooldown.h"
#include "../../plugin/match.h"

#include <ctype.h>
#include <math.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BLOCKS 4
#define MAX_DEPTH 4
#define MAX_ITEMS 400
#define MAX_VALUES 8

#define SECRET_HEX                                                             \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- The credential files. --------------------------------------------- */

static const struct {
  const char *name;
  const char *content; /* NULL: see make_files */
  mode_t mode;
} files[] = {
    {"secret", SECRET_HEX "\n", 0600},
    {"secret-upper",
     "  FEDCBA9876543210FEDCBA9876543210"
     "FEDCBA9876543210FEDCBA9876543210\t\n",
     0600},
    {"secret-group", SECRET_HEX, 0644}, /* readable by others: a warning */
    {"secret-short", "0123456789abcdef\n", 0600},
    {"secret-crlf", SECRET_HEX "\r\n", 0600},
    {"secret-nul", NULL, 0600}, /* SECRET_HEX, a NUL, then more */
    {"secret-bad", "not a secret at all, but a sentence of 64 characters!!\n",
     0600},
    {"token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2lnbmF0dXJl\n", 0600},
    {"token-space", "two words\n", 0600},
    {"empty", "", 0600},
    {"blank", " \n\t \n", 0600},
    {"max", NULL, 0600},  /* 4094 bytes: the largest that fits */
    {"big", NULL, 0600},  /* 4095 bytes: one too many */
    {"huge", NULL, 0600}, /* 20000 bytes */
    {"dir", NULL, 0700},  /* a directory */
    {"missing", NULL, 0}, /* never created */
};
#define FILES_NUM (sizeof(files) / sizeof(files[0]))

static char dir[64];
static char paths[FILES_NUM][128];

static void write_file(const char *path, const char *content, size_t len,
                       mode_t mode) {
  FILE *f = fopen(path, "w");
  if (f == NULL || fwrite(content, 1, len, f) != len || fclose(f) != 0) {
    perror(path);
    abort();
  }
  chmod(path, mode);
}

static void remove_files(void) {
  for (size_t i = 0; i < FILES_NUM; i++) {
    if (strcmp(files[i].name, "dir") == 0)
      rmdir(paths[i]);
    else
      unlink(paths[i]);
  }
  rmdir(dir);
}

static void make_files(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof(dir), "%s/nt-fuzz-config-XXXXXX",
           tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) {
    perror(dir);
    abort();
  }
  static char filler[20000];
  for (size_t i = 0; i < sizeof(filler); i++)
    filler[i] = "0123456789abcdef"[i % 16];
  for (size_t i = 0; i < FILES_NUM; i++) {
    snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir, files[i].name);
    const char *name = files[i].name;
    if (files[i].content != NULL)
      write_file(paths[i], files[i].content, strlen(files[i].content),
                 files[i].mode);
    else if (strcmp(name, "secret-nul") == 0)
      write_file(paths[i], SECRET_HEX "\0 and more", 64 + 10, files[i].mode);
    else if (strcmp(name, "max") == 0)
      write_file(paths[i], filler, 4094, files[i].mode);
    else if (strcmp(name, "big") == 0)
      write_file(paths[i], filler, 4095, files[i].mode);
    else if (strcmp(name, "huge") == 0)
      write_file(paths[i], filler, sizeof(filler), files[i].mode);
    else if (strcmp(name, "dir") == 0 && mkdir(paths[i], 0700) != 0)
      abort();
  }
  atexit(remove_files);
}

/* A credential file's value becomes the path of one of ours. */
static char *file_for(const char *value) {
  size_t pick = 0;
  for (const char *p = value; *p; p++)
    pick = pick * 31 + (unsigned char)*p;
  pick %= FILES_NUM;
  for (size_t i = 0; i < FILES_NUM; i++)
    if (strcmp(value, files[i].name) == 0)
      pick = i;
  char *path = strdup(paths[pick]);
  if (path == NULL)
    abort();
  return path;
}

/* ---- Log lines. ---------------------------------------------------------- */

extern void (*fuzz_log_hook)(int level, const char *msg);

static size_t errors_logged;
/* Credentials that must never appear in a log line. */
static const char *secrets[2 * MAX_ITEMS + 8];
static size_t secrets_num;

static void on_log(int level, const char *msg) {
  FUZZ_CHECK(strncmp(msg, "notify_theeye plugin: ", 22) == 0);
  if (level == LOG_ERR)
    errors_logged++;
  for (size_t i = 0; i < secrets_num; i++) {
    if (secrets[i] != NULL && strcasestr(msg, secrets[i]) != NULL) {
      fprintf(stderr, "credential \"%s\" logged: %s\n", secrets[i], msg);
      abort();
    }
  }
}

/* ---- The tree. ----------------------------------------------------------- */

typedef struct {
  const uint8_t *p, *end;
  size_t items;
} reader_t;

static bool is_blank(int c) { return c == ' ' || c == '\t' || c == '\r'; }

static void skip_blanks(reader_t *r) {
  while (r->p < r->end && is_blank(*r->p))
    r->p++;
}

static void skip_line(reader_t *r) {
  while (r->p < r->end && *r->p != '\n')
    r->p++;
  if (r->p < r->end)
    r->p++;
}

static bool at_eol(const reader_t *r) {
  return r->p >= r->end || *r->p == '\n';
}

/* A token: quoted (*quoted set) or bare, up to a blank, a newline or (in a
 * block's opening) '>'. */
static char *read_token(reader_t *r, bool in_tag, bool *quoted) {
  size_t cap = 16, len = 0;
  char *s = malloc(cap);
  if (s == NULL)
    abort();
  *quoted = r->p < r->end && *r->p == '"';
  if (*quoted)
    r->p++;
  while (r->p < r->end) {
    uint8_t c = *r->p;
    if (*quoted && c == '"') {
      r->p++;
      break;
    }
    if (!*quoted && (is_blank(c) || c == '\n' || (in_tag && c == '>')))
      break;
    if (*quoted && c == '\\' && r->p + 1 < r->end)
      c = *++r->p;
    r->p++;
    if (len + 2 > cap) {
      cap *= 2;
      char *more = realloc(s, cap);
      if (more == NULL)
        abort();
      s = more;
    }
    s[len++] = (char)c;
  }
  s[len] = '\0';
  return s;
}

static oconfig_value_t make_value(char *token, bool quoted) {
  oconfig_value_t v = {.type = OCONFIG_TYPE_STRING};
  if (!quoted) {
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
      if (strcasecmp(token, yes[i]) == 0 || strcasecmp(token, no[i]) == 0) {
        v.type = OCONFIG_TYPE_BOOLEAN;
        v.value.boolean = strcasecmp(token, yes[i]) == 0;
        free(token);
        return v;
      }
    }
    char *end;
    double d = strtod(token, &end);
    if (token[0] != '\0' && *end == '\0') {
      v.type = OCONFIG_TYPE_NUMBER;
      v.value.number = d;
      free(token);
      return v;
    }
  }
  v.value.string = token;
  return v;
}

static oconfig_item_t *add_child(oconfig_item_t *parent) {
  oconfig_item_t *children =
      realloc(parent->children, (parent->children_num + 1) * sizeof(*children));
  if (children == NULL)
    abort();
  parent->children = children;
  oconfig_item_t *ci = &children[parent->children_num++];
  *ci = (oconfig_item_t){0};
  return ci;
}

/* Reads the key and values of one line into ci. */
static void read_item(reader_t *r, oconfig_item_t *ci, bool in_tag) {
  bool quoted;
  ci->key = read_token(r, in_tag, &quoted);
  bool file_option = strcasecmp(ci->key, "SecretFile") == 0 ||
                     strcasecmp(ci->key, "AccessTokenFile") == 0;
  for (;;) {
    skip_blanks(r);
    if (at_eol(r) || (in_tag && *r->p == '>') || ci->values_num == MAX_VALUES)
      break;
    char *token = read_token(r, in_tag, &quoted);
    oconfig_value_t v = make_value(token, quoted);
    if (v.type == OCONFIG_TYPE_STRING && file_option) {
      char *path = file_for(v.value.string);
      free(v.value.string);
      v.value.string = path;
    }
    oconfig_value_t *values =
        realloc(ci->values, (ci->values_num + 1) * sizeof(*values));
    if (values == NULL)
      abort();
    ci->values = values;
    ci->values[ci->values_num++] = v;
  }
  skip_line(r);
}

/* Children of parent until a closing line, "---" or the end. */
static void read_children(reader_t *r, oconfig_item_t *parent, int depth) {
  while (r->p < r->end && r->items < MAX_ITEMS) {
    skip_blanks(r);
    if (at_eol(r) || *r->p == '#') {
      skip_line(r);
      continue;
    }
    if (r->end - r->p >= 3 && memcmp(r->p, "---", 3) == 0) {
      if (depth == 0)
        skip_line(r); /* the next block begins */
      return;
    }
    if (r->end - r->p >= 2 && memcmp(r->p, "</", 2) == 0) {
      skip_line(r); /* at the top, a stray closing line: ignored */
      if (depth > 0)
        return;
      continue;
    }
    r->items++;
    oconfig_item_t *ci = add_child(parent);
    if (*r->p == '<' && depth + 1 < MAX_DEPTH) {
      r->p++;
      read_item(r, ci, true);
      /* ci may move when parent->children grows: build into a copy. */
      oconfig_item_t block = *ci;
      read_children(r, &block, depth + 1);
      parent->children[parent->children_num - 1] = block;
    } else {
      if (*r->p == '<')
        r->p++;
      read_item(r, ci, false);
    }
  }
}

static void set_parents(oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++) {
    ci->children[i].parent = ci;
    set_parents(&ci->children[i]);
  }
}

static void free_item(oconfig_item_t *ci) {
  free(ci->key);
  for (int i = 0; i < ci->values_num; i++)
    if (ci->values[i].type == OCONFIG_TYPE_STRING)
      free(ci->values[i].value.string);
  free(ci->values);
  for (int i = 0; i < ci->children_num; i++)
    free_item(&ci->children[i]);
  free(ci->children);
}

/* ---- Credentials to watch for in the log. ---------------------------------
 */

static bool all_hex(const char *s, size_t len) {
  if (strlen(s) != len)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!isxdigit((unsigned char)s[i]))
      return false;
  return true;
}

/* Whether s occurs in any key or string value of the tree other than skip. */
static bool occurs_elsewhere(const oconfig_item_t *ci, const char *s,
                             const char *skip) {
  if (ci->key != NULL && strcasestr(ci->key, s) != NULL)
    return true;
  for (int i = 0; i < ci->values_num; i++)
    if (ci->values[i].type == OCONFIG_TYPE_STRING &&
        ci->values[i].value.string != skip &&
        strcasestr(ci->values[i].value.string, s) != NULL)
      return true;
  for (int i = 0; i < ci->children_num; i++)
    if (occurs_elsewhere(&ci->children[i], s, skip))
      return true;
  return false;
}

/* A secret is 64 hex characters; a token, for this check, 20 or more
 * characters with letters and digits (shorter ones could occur in the
 * text of a message by chance). */
static bool occurs_in_blocks(const oconfig_item_t *blocks, size_t num,
                             const char *s, const char *skip) {
  for (size_t i = 0; i < num; i++)
    if (occurs_elsewhere(&blocks[i], s, skip))
      return true;
  return false;
}

static void watch_credentials(const oconfig_item_t *blocks, size_t num,
                              const oconfig_item_t *ci) {
  bool secret = strcasecmp(ci->key, "Secret") == 0;
  bool token = strcasecmp(ci->key, "AccessToken") == 0;
  for (int i = 0; (secret || token) && i < ci->values_num; i++) {
    if (ci->values[i].type != OCONFIG_TYPE_STRING)
      continue;
    const char *v = ci->values[i].value.string;
    size_t len = strlen(v);
    bool alpha = false, digit = false, graph = true;
    for (size_t k = 0; k < len; k++) {
      alpha = alpha || isalpha((unsigned char)v[k]);
      digit = digit || isdigit((unsigned char)v[k]);
      graph = graph && isalnum((unsigned char)v[k]);
    }
    bool watch = secret ? all_hex(v, 64) : len >= 20 && alpha && digit && graph;
    if (watch && !occurs_in_blocks(blocks, num, v, v) &&
        secrets_num < sizeof(secrets) / sizeof(secrets[0]))
      secrets[secrets_num++] = v;
  }
  for (int i = 0; i < ci->children_num; i++)
    watch_credentials(blocks, num, &ci->children[i]);
}

/* ---- The run. ------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
    abort();
  make_files();
  fuzz_log_hook = on_log;
  return 0;
}

/* What a finalized Task does with a notification: match, render, cool
 * down. */
static void exercise_task(const nt_config_t *cfg, nt_task_t *task) {
  FUZZ_CHECK(task->request_url != NULL && task->redacted_url != NULL);
  FUZZ_CHECK(task->headers != NULL);
  FUZZ_CHECK(task->lane < cfg->lanes_num);
  FUZZ_CHECK(strcmp(cfg->lane_tasks[task->lane]->eff.url, task->eff.url) == 0);
  FUZZ_CHECK(task->eff.timeout_ms > 0 && task->eff.connect_timeout_ms > 0);
  FUZZ_CHECK(strlen(task->task_id) == 24);
  if (task->cred_kind == NT_CRED_SECRET) {
    FUZZ_CHECK(all_hex(task->credential, 64));
    FUZZ_CHECK(strstr(task->redacted_url, task->credential) == NULL ||
               strstr(task->eff.url, task->credential) != NULL ||
               (task->eff.customer != NULL &&
                strcasestr(task->eff.customer, task->credential) != NULL));
    FUZZ_CHECK(strstr(task->request_url, task->credential) != NULL);
  } else {
    FUZZ_CHECK(task->cred_kind == NT_CRED_TOKEN);
  }
  FUZZ_CHECK(task->args_num > 0);

  notification_t n = {.severity = NOTIF_FAILURE, .time = 1764331200ULL << 30};
  strcpy(n.host, "web1");
  strcpy(n.plugin, "processes");
  strcpy(n.plugin_instance, "nginx");
  strcpy(n.type, "ps_count");
  strcpy(n.message, "nginx is down");
  notification_meta_t meta = {.name = "CurrentValue", .type = NM_TYPE_DOUBLE};
  meta.nm_value.nm_double = 0;
  n.meta = &meta;
  nt_match(&task->match, &n);
  for (size_t i = 0; i < task->args_num; i++) {
    nt_buf_t out = NT_BUF_INIT;
    FUZZ_CHECK(nt_template_render(task->args[i], &n,
                                  &(nt_render_ctx_t){task->name, ""},
                                  &out) == 0);
    nt_buf_free(&out);
  }
  if (task->cooldown > 0) {
    FUZZ_CHECK(task->cooldowns != NULL);
    FUZZ_CHECK(nt_cooldown_admit(task->cooldowns, &n, 100.0));
    FUZZ_CHECK(!nt_cooldown_admit(task->cooldowns, &n, 100.0));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader_t r = {.p = data, .end = data + size};
  oconfig_item_t blocks[MAX_BLOCKS];
  size_t blocks_num = 0;
  while (blocks_num < MAX_BLOCKS && (blocks_num == 0 || r.p < r.end)) {
    oconfig_item_t *b = &blocks[blocks_num++];
    *b = (oconfig_item_t){.key = strdup("Plugin")};
    b->values = malloc(sizeof(*b->values));
    if (b->key == NULL || b->values == NULL)
      abort();
    b->values[0] = (oconfig_value_t){.type = OCONFIG_TYPE_STRING,
                                     .value.string = strdup("notify_theeye")};
    b->values_num = 1;
    read_children(&r, b, 0);
    set_parents(b);
  }

  secrets_num = 0;
  secrets[secrets_num++] = SECRET_HEX; /* the files' */
  secrets[secrets_num++] = "FEDCBA9876543210FEDCBA9876543210"
                           "FEDCBA9876543210FEDCBA9876543210";
  secrets[secrets_num++] = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmdXp6In0";
  /* The files' content may be written in the configuration too. */
  for (size_t k = 0; k < secrets_num; k++)
    if (occurs_in_blocks(blocks, blocks_num, secrets[k], NULL))
      secrets[k] = NULL; /* may be logged as part of that */
  for (size_t i = 0; i < blocks_num; i++)
    watch_credentials(blocks, blocks_num, &blocks[i]);

  nt_config_t cfg;
  nt_config_init(&cfg);
  bool ok = true;
  for (size_t i = 0; i < blocks_num; i++) {
    errors_logged = 0;
    int status = nt_config_block(&cfg, &blocks[i]);
    FUZZ_CHECK(status == 0 || status == -1);
    /* A refused block says why; an accepted one has nothing to say. */
    FUZZ_CHECK(status == 0 ? errors_logged == 0 : errors_logged > 0);
    ok = ok && status == 0;
  }
  if (ok) {
    errors_logged = 0;
    int status = nt_config_finalize(&cfg);
    FUZZ_CHECK(status == 0 ? errors_logged == 0 : errors_logged > 0);
    if (status == 0) {
      FUZZ_CHECK(cfg.tasks_num > 0 && cfg.lanes_num > 0);
      for (size_t i = 0; i < cfg.tasks_num; i++)
        exercise_task(&cfg, cfg.tasks[i]);
    }
  }
  nt_config_free(&cfg);
  for (size_t i = 0; i < blocks_num; i++)
    free_item(&blocks[i]);
  return 0;
}
