/* SPDX-License-Identifier: MIT
 *
 * Argument templates: parse any text, and render what parses
 * against a notification made from the same input; then what collectd's
 * thread does with the result (nt_job_make): the rendered arguments make a
 * valid JSON body; and the notification's Cooldown identity.
 *
 * Input: pieces separated by NUL bytes:
 *   0 the template
 *   1..6 host, plugin, plugin_instance, type, type_instance, message
 *   7 the Task's name
 *   8 severity (first byte: 1 FAILURE, 2 WARNING, 4 OKAY, else as is) and
 *     time (the rest: a cdtime_t as strtoull reads it, any base)
 *   9.. meta entries "Tname=value", T the type: s string, i signed,
 *       u unsigned (strtoll/strtoull, any base), d double (strtod: also
 *       nan, inf, 1e400), x double from its bits in hex, b boolean
 *       (value starting with t, y, 1 or o[n]), n a NULL string. */
#include "fuzz_util.h"

#include "../../plugin/cooldown.h"
#include "../../plugin/json.h"
#include "../../plugin/template.h"

#include <yajl/yajl_tree.h>

#include <math.h>

#define MAX_PIECES 64

static void copy_field(char *dst, size_t size, const uint8_t *src, size_t len) {
  if (len >= size)
    len = size - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

static char *dup_piece(const uint8_t *src, size_t len) {
  char *s = malloc(len + 1);
  if (s == NULL)
    abort();
  memcpy(s, src, len);
  s[len] = '\0';
  return s;
}

/* The double forms of %{meta:...}: shortest that reads back, plain decimal when
 * 1e-4 <= |x| < 1e16, "inf"/"-inf", "" for NaN. */
static void check_double(double v) {
  char buf[64];
  nt_format_double(v, buf, sizeof(buf));
  FUZZ_CHECK(memchr(buf, '\0', sizeof(buf)) != NULL);
  if (isnan(v)) {
    FUZZ_CHECK(buf[0] == '\0');
    return;
  }
  if (isinf(v)) {
    FUZZ_CHECK(strcmp(buf, v > 0 ? "inf" : "-inf") == 0);
    return;
  }
  char *end;
  double back = strtod(buf, &end);
  FUZZ_CHECK(end != buf && *end == '\0');
  FUZZ_CHECK(back == v);
  double m = fabs(v);
  bool plain = v == 0 || (m >= 1e-4 && m < 1e16);
  FUZZ_CHECK(plain == (strchr(buf, 'e') == NULL));
  /* A short buffer is cut, never overrun. */
  for (size_t size = 1; size <= 4; size++) {
    char *small = malloc(size);
    if (small == NULL)
      abort();
    nt_format_double(v, small, size);
    FUZZ_CHECK(strlen(small) < size);
    free(small);
  }
}

static notification_meta_t *make_meta(const uint8_t *p, size_t len) {
  notification_meta_t *m = calloc(1, sizeof(*m));
  if (m == NULL)
    abort();
  char type = len > 0 ? (char)p[0] : 's';
  if (len > 0) {
    p++;
    len--;
  }
  const uint8_t *eq = memchr(p, '=', len);
  size_t name_len = eq ? (size_t)(eq - p) : len;
  copy_field(m->name, sizeof(m->name), p, name_len);
  char *value = eq ? dup_piece(eq + 1, len - name_len - 1) : dup_piece(p, 0);
  switch (type) {
  case 'i':
    m->type = NM_TYPE_SIGNED_INT;
    m->nm_value.nm_signed_int = strtoll(value, NULL, 0);
    break;
  case 'u':
    m->type = NM_TYPE_UNSIGNED_INT;
    m->nm_value.nm_unsigned_int = strtoull(value, NULL, 0);
    break;
  case 'd':
    m->type = NM_TYPE_DOUBLE;
    m->nm_value.nm_double = strtod(value, NULL);
    break;
  case 'x': {
    uint64_t bits = strtoull(value, NULL, 16);
    m->type = NM_TYPE_DOUBLE;
    memcpy(&m->nm_value.nm_double, &bits, sizeof(bits));
    break;
  }
  case 'b':
    m->type = NM_TYPE_BOOLEAN;
    m->nm_value.nm_boolean = strchr("tTyY1oO", value[0]) != NULL;
    break;
  case 'n':
    m->type = NM_TYPE_STRING;
    m->nm_value.nm_string = NULL;
    break;
  default:
    m->type = NM_TYPE_STRING;
    m->nm_value.nm_string = value;
    return m;
  }
  if (m->type == NM_TYPE_DOUBLE)
    check_double(m->nm_value.nm_double);
  free(value);
  return m;
}

static void free_meta(notification_meta_t *m) {
  while (m != NULL) {
    notification_meta_t *next = m->next;
    if (m->type == NM_TYPE_STRING)
      free((char *)m->nm_value.nm_string);
    free(m);
    m = next;
  }
}

/* The Cooldown identity (host, plugin, plugin instance, type, type
 * instance, severity): a second match is suppressed, and moving a byte from
 * one field to its neighbour makes another identity. */
static void check_cooldown(const notification_t *n) {
  nt_cooldown_t *c = nt_cooldown_create(60, 4);
  if (c == NULL)
    abort();
  FUZZ_CHECK(nt_cooldown_admit(c, n, 1000));
  FUZZ_CHECK(!nt_cooldown_admit(c, n, 1030));
  notification_t other = *n;
  size_t hlen = strlen(other.host), plen = strlen(other.plugin);
  if (plen > 0 && hlen + 1 < sizeof(other.host)) {
    other.host[hlen] = other.plugin[0];
    other.host[hlen + 1] = '\0';
    memmove(other.plugin, other.plugin + 1, plen);
    FUZZ_CHECK(nt_cooldown_admit(c, &other, 1030));
  }
  other = *n;
  other.severity = n->severity == NOTIF_OKAY ? NOTIF_FAILURE : NOTIF_OKAY;
  FUZZ_CHECK(nt_cooldown_admit(c, &other, 1030));
  FUZZ_CHECK(nt_cooldown_admit(c, n, 1060)); /* the window has closed */
  nt_cooldown_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *pieces[MAX_PIECES];
  size_t lens[MAX_PIECES];
  size_t n = fuzz_split(data, size, '\0', pieces, lens, MAX_PIECES);

  char *text = dup_piece(pieces[0], lens[0]);
  char err[256];
  err[0] = '\0';
  nt_template_t *t = nt_template_parse(text, err, sizeof(err));
  free(text);
  if (t == NULL) {
    /* Why, in one bounded line. */
    FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    return 0;
  }

  notification_t notif = {.severity = NOTIF_FAILURE};
  char *fields[] = {notif.host, notif.plugin, notif.plugin_instance, notif.type,
                    notif.type_instance};
  for (size_t i = 0; i < 5; i++)
    if (1 + i < n)
      copy_field(fields[i], DATA_MAX_NAME_LEN, pieces[1 + i], lens[1 + i]);
  if (6 < n)
    copy_field(notif.message, sizeof(notif.message), pieces[6], lens[6]);
  char task[DATA_MAX_NAME_LEN] = "fuzz-task";
  if (7 < n)
    copy_field(task, sizeof(task), pieces[7], lens[7]);
  if (8 < n && lens[8] > 0) {
    notif.severity = pieces[8][0];
    char *time = dup_piece(pieces[8] + 1, lens[8] - 1);
    notif.time = (cdtime_t)strtoull(time, NULL, 0);
    free(time);
  }
  notification_meta_t **tail = &notif.meta;
  for (size_t i = 9; i < n; i++) {
    *tail = make_meta(pieces[i], lens[i]);
    tail = &(*tail)->next;
  }

  /* Rendered twice onto the same buffer: the same text each time, no NUL
   * inside, appended after what the buffer held. */
  nt_buf_t out = NT_BUF_INIT;
  FUZZ_CHECK(nt_template_render(t, &notif,
                                &(nt_render_ctx_t){task, "0123456789abcdef"},
                                &out) == 0);
  size_t first = out.len;
  FUZZ_CHECK(out.data == NULL || strlen(out.data) == out.len);
  FUZZ_CHECK(nt_template_render(t, &notif,
                                &(nt_render_ctx_t){task, "0123456789abcdef"},
                                &out) == 0);
  FUZZ_CHECK(out.len == 2 * first);
  if (first > 0) {
    FUZZ_CHECK(strlen(out.data) == out.len);
    FUZZ_CHECK(memcmp(out.data, out.data + first, first) == 0);
  }
  /* As a job's arguments (nt_job_make): the body is valid JSON. */
  const char *args[2] = {out.data ? out.data : "",
                         out.data ? out.data + first : ""};
  size_t arg_lens[2] = {first, first};
  size_t body_len = 0;
  char *body =
      nt_json_body("5f0c1a2b3c4d5e6f7a8b9c0d", args, arg_lens, 2, &body_len);
  FUZZ_CHECK(body != NULL && strlen(body) == body_len);
  yajl_val tree = yajl_tree_parse(body, NULL, 0);
  FUZZ_CHECK(tree != NULL);
  yajl_tree_free(tree);
  free(body);
  nt_buf_free(&out);

  check_cooldown(&notif);

  char when[64];
  nt_format_time(notif.time, when, sizeof(when));
  FUZZ_CHECK(strchr(when, '.') != NULL && strlen(strchr(when, '.')) == 4);

  free_meta(notif.meta);
  nt_template_free(t);
  return 0;
}
