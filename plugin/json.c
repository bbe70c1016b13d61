/* SPDX-License-Identifier: MIT */

#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

static const char replacement[] = "\xEF\xBF\xBD";

/* Length of the valid sequence at s, or 0 with *bad set to the bytes of the
 * maximal subpart to replace with one U+FFFD. */
static size_t utf8_valid_length(const unsigned char *s, size_t len,
                                size_t *bad) {
  unsigned char c = s[0];
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    need = 1;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0)
      lo = 0xA0; /* overlong */
    else if (c == 0xED)
      hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0)
      lo = 0x90; /* overlong */
    else if (c == 0xF4)
      hi = 0x8F; /* beyond U+10FFFF */
  } else {
    *bad = 1;
    return 0;
  }
  for (size_t i = 1; i <= need; i++) {
    if (i >= len || s[i] < (i == 1 ? lo : 0x80) ||
        s[i] > (i == 1 ? hi : 0xBF)) {
      *bad = i;
      return 0;
    }
  }
  return need + 1;
}

int nt_utf8_sanitize(const char *s, size_t len, nt_buf_t *out) {
  const unsigned char *u = (const unsigned char *)s;
  size_t start = 0, i = 0;
  while (i < len) {
    size_t bad = 0;
    size_t n = utf8_valid_length(u + i, len - i, &bad);
    if (n > 0) {
      i += n;
      continue;
    }
    nt_buf_append(out, s + start, i - start);
    nt_buf_append(out, replacement, sizeof(replacement) - 1);
    i += bad;
    start = i;
  }
  nt_buf_append(out, s + start, len - start);
  return out->failed ? -1 : 0;
}

static bool utf8_valid(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0, bad; i < len;) {
    size_t n = u[i] < 0x80 ? 1 : utf8_valid_length(u + i, len - i, &bad);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

static int gen_string(yajl_gen g, const char *s, size_t len) {
  if (utf8_valid(s, len))
    return yajl_gen_string(g, (const unsigned char *)s, len) ==
                   yajl_gen_status_ok
               ? 0
               : -1;
  nt_buf_t clean = NT_BUF_INIT;
  int status = nt_utf8_sanitize(s, len, &clean) == 0 &&
                       yajl_gen_string(g, (const unsigned char *)clean.data,
                                       clean.len) == yajl_gen_status_ok
                   ? 0
                   : -1;
  nt_buf_free(&clean);
  return status;
}

#define KEY(g, k) yajl_gen_string(g, (const unsigned char *)k, sizeof(k) - 1)

/* yajl writes the body straight into the caller's buffer. */
static void print_to_buf(void *ctx, const char *str, size_t len) {
  nt_buf_append(ctx, str, len);
}

int nt_json_body_append(nt_buf_t *out, const char *task_id,
                        const char *const *args, const size_t *lens,
                        size_t args_num) {
  yajl_gen g = yajl_gen_alloc(NULL);
  if (g == NULL)
    return -1;
  int bad = !yajl_gen_config(g, yajl_gen_print_callback, print_to_buf, out) ||
            yajl_gen_map_open(g) != yajl_gen_status_ok ||
            KEY(g, "task") != yajl_gen_status_ok ||
            gen_string(g, task_id, strlen(task_id)) != 0 ||
            KEY(g, "task_arguments") != yajl_gen_status_ok ||
            yajl_gen_array_open(g) != yajl_gen_status_ok;
  for (size_t i = 0; !bad && i < args_num; i++)
    bad = gen_string(g, args[i], lens[i]) != 0;
  bad = bad || yajl_gen_array_close(g) != yajl_gen_status_ok ||
        yajl_gen_map_close(g) != yajl_gen_status_ok;
  yajl_gen_free(g);
  return bad || out->failed ? -1 : 0;
}

char *nt_json_body(const char *task_id, const char *const *args,
                   const size_t *lens, size_t args_num, size_t *body_len) {
  nt_buf_t b = NT_BUF_INIT;
  if (nt_json_body_append(&b, task_id, args, lens, args_num) != 0) {
    nt_buf_free(&b);
    return NULL;
  }
  return nt_buf_steal(&b, body_len);
}

/* yajl_tree_parse wants a NUL-terminated copy. */
static yajl_val parse_tree(const char *body, size_t len) {
  char *copy = malloc(len + 1);
  if (copy == NULL)
    return NULL;
  memcpy(copy, body, len);
  copy[len] = '\0';
  yajl_val tree = yajl_tree_parse(copy, NULL, 0);
  explicit_bzero(copy, len); /* a job's answer holds its secret */
  free(copy);
  return tree;
}

static const char *object_string(yajl_val obj, const char *key) {
  const char *path[] = {key, NULL};
  yajl_val v = yajl_tree_get(obj, path, yajl_t_string);
  return v != NULL ? YAJL_GET_STRING(v) : NULL;
}

static void copy_printable(const char *src, char *dst, size_t size) {
  size_t len = strlen(src), j = 0;
  for (size_t i = 0; i < len && j + 1 < size; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[j++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
  }
  dst[j] = '\0';
  if (len >= size && size > 4)
    memcpy(dst + size - 4, "...", 4);
}

void nt_json_parse_job(const char *body, size_t len, nt_job_info_t *info) {
  *info = (nt_job_info_t){0};
  yajl_val tree = parse_tree(body, len);
  if (tree == NULL)
    return;
  const char *id = YAJL_IS_OBJECT(tree) ? object_string(tree, "id") : NULL;
  if (id != NULL) {
    const char *lifecycle = object_string(tree, "lifecycle");
    const char *state = object_string(tree, "state");
    info->is_job = true;
    copy_printable(id, info->id, sizeof(info->id));
    copy_printable(lifecycle ? lifecycle : "", info->lifecycle,
                   sizeof(info->lifecycle));
    copy_printable(state ? state : "", info->state, sizeof(info->state));
    info->rejected =
        (lifecycle != NULL && strcmp(lifecycle, "terminated") == 0) ||
        (state != NULL && strcmp(state, "error") == 0);
    const char *secret = object_string(tree, "secret");
    size_t n = 0;
    while (secret != NULL && n < 64 && isxdigit((unsigned char)secret[n]))
      n++;
    if (n == 64 && secret[64] == '\0')
      memcpy(info->secret, secret, sizeof(info->secret));
  }
  yajl_tree_free(tree);
}

/* The fields of the top-level object that say which job, and how it is,
 * read as the answer arrives, byte by byte, in constant memory and time
 * per byte: a result with a long output is never held (a JSON parser would
 * keep a long string whole, and yajl rescans it at every chunk). Only the
 * structure is followed: strings, nesting, and the keys and string values
 * of the top-level object; anything that is not an object is no job. */
struct nt_job_scan_s {
  int depth;      /* of objects and arrays */
  bool started;   /* the top-level object's '{' was seen */
  bool failed;    /* not an object: nothing more is read */
  bool in_string; /* inside "..." */
  bool escaped;   /* after a backslash in a string */
  bool want_key;  /* at depth 1, the next string is a key */
  bool is_key;    /* the current string is a top-level key */
  char key[16];   /* the last top-level key, cut */
  size_t key_len;
  char *value; /* where a top-level string value goes, or NULL */
  size_t value_size, value_len;
  char id[64], state[32], lifecycle[32];
};

nt_job_scan_t *nt_job_scan_new(void) {
  return calloc(1, sizeof(nt_job_scan_t));
}

/* A top-level string ends: a key names the value to keep. */
static void scan_string_end(nt_job_scan_t *sc) {
  if (sc->is_key) {
    sc->key[sc->key_len] = '\0';
    struct {
      const char *name;
      char *to;
      size_t size;
    } fields[] = {{"id", sc->id, sizeof(sc->id)},
                  {"state", sc->state, sizeof(sc->state)},
                  {"lifecycle", sc->lifecycle, sizeof(sc->lifecycle)}};
    sc->value = NULL;
    for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
      if (strcmp(fields[i].name, sc->key) == 0) {
        sc->value = fields[i].to;
        sc->value_size = fields[i].size;
      }
    return;
  }
  if (sc->value != NULL)
    sc->value[sc->value_len] = '\0';
  sc->value = NULL;
}

void nt_job_scan_feed(nt_job_scan_t *sc, const char *data, size_t len) {
  for (size_t i = 0; i < len && !sc->failed; i++) {
    char c = data[i];
    if (sc->in_string) {
      if (sc->escaped) {
        sc->escaped = false;
      } else if (c == '\\') {
        sc->escaped = true;
      } else if (c == '"') {
        sc->in_string = false;
        if (sc->depth == 1)
          scan_string_end(sc);
        continue;
      }
      if (sc->depth != 1)
        continue;
      if (sc->is_key && sc->key_len < sizeof(sc->key) - 1)
        sc->key[sc->key_len++] = c;
      else if (!sc->is_key && sc->value != NULL &&
               sc->value_len < sc->value_size - 1)
        sc->value[sc->value_len++] = c;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
      continue;
    if (!sc->started) { /* the first byte says whether it is an object */
      sc->failed = c != '{';
      sc->started = true;
    }
    switch (c) {
    case '"':
      sc->in_string = true;
      sc->is_key = sc->depth == 1 && sc->want_key;
      sc->key_len = sc->value_len = 0;
      sc->want_key = false;
      break;
    case '{':
    case '[':
      if (sc->depth == 1)
        sc->value = NULL; /* a nested value: not a string */
      sc->depth++;
      sc->want_key = sc->depth == 1;
      break;
    case '}':
    case ']':
      sc->depth--;
      if (sc->depth < 0)
        sc->failed = true;
      break;
    case ',':
      sc->want_key = sc->depth == 1;
      sc->value = NULL;
      break;
    default: /* ':', numbers, true, false, null */
      break;
    }
  }
}

void nt_job_scan_result(nt_job_scan_t *sc, nt_job_info_t *info) {
  *info = (nt_job_info_t){0};
  /* A cut answer (the object not closed) holds no job. */
  if (sc->failed || !sc->started || sc->depth != 0 || sc->in_string ||
      sc->id[0] == '\0')
    return;
  info->is_job = true;
  copy_printable(sc->id, info->id, sizeof(info->id));
  copy_printable(sc->state, info->state, sizeof(info->state));
  copy_printable(sc->lifecycle, info->lifecycle, sizeof(info->lifecycle));
}

void nt_job_scan_free(nt_job_scan_t *sc) { free(sc); }

void nt_json_error_message(const char *body, size_t len, char *msg,
                           size_t size) {
  yajl_val tree = parse_tree(body, len);
  const char *text = NULL;
  if (tree != NULL && YAJL_IS_STRING(tree))
    text = YAJL_GET_STRING(tree);
  else if (tree != NULL && YAJL_IS_OBJECT(tree))
    text = object_string(tree, "message");
  if (text != NULL) {
    copy_printable(text, msg, size);
  } else {
    char *raw = strndup(body, len);
    copy_printable(raw != NULL ? raw : "", msg, size);
    free(raw);
  }
  if (tree != NULL)
    yajl_tree_free(tree);
}
