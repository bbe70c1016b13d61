/* SPDX-License-Identifier: MIT */

#include "template.h"

#include "utils/common/common.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
  SEG_LITERAL,
  SEG_SEVERITY,
  SEG_TIME,
  SEG_HOST,
  SEG_PLUGIN,
  SEG_PLUGIN_INSTANCE,
  SEG_TYPE,
  SEG_TYPE_INSTANCE,
  SEG_MESSAGE,
  SEG_TASK,
  SEG_EPISODE,
  SEG_META,
} seg_kind_t;

typedef struct {
  seg_kind_t kind;
  char *text; /* the literal, or the meta entry's name */
  size_t len;
} segment_t;

struct nt_template_s {
  segment_t *segs;
  size_t segs_num;
};

static const struct {
  const char *name;
  seg_kind_t kind;
} placeholders[] = {
    {"severity", SEG_SEVERITY},
    {"time", SEG_TIME},
    {"host", SEG_HOST},
    {"plugin", SEG_PLUGIN},
    {"plugin_instance", SEG_PLUGIN_INSTANCE},
    {"type", SEG_TYPE},
    {"type_instance", SEG_TYPE_INSTANCE},
    {"message", SEG_MESSAGE},
    {"task", SEG_TASK},
    {"episode", SEG_EPISODE},
};

void nt_template_free(nt_template_t *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->segs_num; i++)
    free(t->segs[i].text);
  free(t->segs);
  free(t);
}

static int add_segment(nt_template_t *t, seg_kind_t kind, const char *text,
                       size_t len) {
  /* Adjacent literals ("%%" splits them) are merged into one. */
  if (kind == SEG_LITERAL && t->segs_num > 0 &&
      t->segs[t->segs_num - 1].kind == SEG_LITERAL) {
    segment_t *last = &t->segs[t->segs_num - 1];
    char *joined = realloc(last->text, last->len + len + 1);
    if (joined == NULL)
      return -1;
    memcpy(joined + last->len, text, len);
    last->len += len;
    joined[last->len] = '\0';
    last->text = joined;
    return 0;
  }
  segment_t *segs = realloc(t->segs, (t->segs_num + 1) * sizeof(*segs));
  if (segs == NULL)
    return -1;
  t->segs = segs;
  segment_t *s = &segs[t->segs_num];
  *s = (segment_t){.kind = kind, .len = len};
  if (text != NULL) {
    s->text = strndup(text, len);
    if (s->text == NULL)
      return -1;
  }
  t->segs_num++;
  return 0;
}

/* Parses the NAME of "%{NAME}" (without the braces). */
static int add_placeholder(nt_template_t *t, const char *name, size_t len,
                           char *err, size_t errlen) {
  if (len == 0) {
    snprintf(err, errlen, "empty placeholder \"%%{}\"");
    return -1;
  }
  if (len >= 5 && strncmp(name, "meta:", 5) == 0) {
    if (len == 5) {
      snprintf(err, errlen, "empty meta name in \"%%{meta:}\"");
      return -1;
    }
    if (len - 5 >= DATA_MAX_NAME_LEN) {
      snprintf(err, errlen, "meta name longer than %d bytes",
               DATA_MAX_NAME_LEN - 1);
      return -1;
    }
    return add_segment(t, SEG_META, name + 5, len - 5);
  }
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(placeholders); i++)
    if (strlen(placeholders[i].name) == len &&
        strncmp(placeholders[i].name, name, len) == 0)
      return add_segment(t, placeholders[i].kind, NULL, 0);
  snprintf(err, errlen, "unknown placeholder \"%%{%.*s}\"",
           len > 64 ? 64 : (int)len, name);
  return -1;
}

nt_template_t *nt_template_parse(const char *text, char *err, size_t errlen) {
  nt_template_t *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  const char *p = text;
  while (*p != '\0') {
    const char *pct = strchr(p, '%');
    if (pct == NULL) {
      if (add_segment(t, SEG_LITERAL, p, strlen(p)) != 0)
        goto oom;
      break;
    }
    if (pct > p && add_segment(t, SEG_LITERAL, p, (size_t)(pct - p)) != 0)
      goto oom;
    if (pct[1] == '{') {
      const char *end = strchr(pct + 2, '}');
      if (end == NULL) {
        snprintf(err, errlen, "unterminated placeholder \"%.20s\"", pct);
        nt_template_free(t);
        return NULL;
      }
      if (add_placeholder(t, pct + 2, (size_t)(end - pct - 2), err, errlen) !=
          0) {
        nt_template_free(t);
        return NULL;
      }
      p = end + 1;
    } else {
      /* "%%" is one literal '%'; so is a '%' before anything but '{'. */
      if (add_segment(t, SEG_LITERAL, "%", 1) != 0)
        goto oom;
      p = pct + (pct[1] == '%' ? 2 : 1);
    }
  }
  return t;
oom:
  snprintf(err, errlen, "out of memory");
  nt_template_free(t);
  return NULL;
}

void nt_format_double(double value, char *buf, size_t size) {
  if (isnan(value)) {
    snprintf(buf, size, "%s", "");
    return;
  }
  if (isinf(value)) {
    snprintf(buf, size, "%s", value > 0 ? "inf" : "-inf");
    return;
  }
  /* The fewest significant digits that read back as the same double. */
  int digits = 1;
  char tmp[64];
  for (; digits < 17; digits++) {
    snprintf(tmp, sizeof(tmp), "%.*e", digits - 1, value);
    if (strtod(tmp, NULL) == value)
      break;
  }
  snprintf(tmp, sizeof(tmp), "%.*e", digits - 1, value);
  double magnitude = fabs(value);
  if (value == 0 || (magnitude >= 1e-4 && magnitude < 1e16)) {
    int exponent = atoi(strchr(tmp, 'e') + 1);
    int decimals = digits - 1 - exponent;
    snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, value);
  } else {
    snprintf(buf, size, "%s", tmp);
  }
}

void nt_format_time(cdtime_t t, char *buf, size_t size) {
  uint64_t ms = CDTIME_T_TO_MS(t);
  snprintf(buf, size, "%" PRIu64 ".%03u", ms / 1000, (unsigned)(ms % 1000));
}

static const char *severity_name(int severity) {
  switch (severity) {
  case NOTIF_FAILURE:
    return "FAILURE";
  case NOTIF_WARNING:
    return "WARNING";
  case NOTIF_OKAY:
    return "OKAY";
  }
  return "UNKNOWN";
}

static int render_meta(const notification_t *n, const char *name,
                       nt_buf_t *out) {
  for (const notification_meta_t *m = n->meta; m != NULL; m = m->next) {
    if (strcmp(m->name, name) != 0)
      continue;
    char num[64];
    switch (m->type) {
    case NM_TYPE_STRING:
      return nt_buf_puts(out,
                         m->nm_value.nm_string ? m->nm_value.nm_string : "");
    case NM_TYPE_SIGNED_INT:
      return nt_buf_printf(out, "%" PRId64, m->nm_value.nm_signed_int);
    case NM_TYPE_UNSIGNED_INT:
      return nt_buf_printf(out, "%" PRIu64, m->nm_value.nm_unsigned_int);
    case NM_TYPE_DOUBLE:
      nt_format_double(m->nm_value.nm_double, num, sizeof(num));
      return nt_buf_puts(out, num);
    case NM_TYPE_BOOLEAN:
      return nt_buf_puts(out, m->nm_value.nm_boolean ? "true" : "false");
    }
    return 0;
  }
  return 0; /* absent: empty */
}

int nt_template_render(const nt_template_t *t, const notification_t *n,
                       const nt_render_ctx_t *ctx, nt_buf_t *out) {
  char num[64];
  for (size_t i = 0; i < t->segs_num; i++) {
    const segment_t *s = &t->segs[i];
    switch (s->kind) {
    case SEG_LITERAL:
      nt_buf_append(out, s->text, s->len);
      break;
    case SEG_SEVERITY:
      nt_buf_puts(out, severity_name(n->severity));
      break;
    case SEG_TIME:
      nt_format_time(n->time, num, sizeof(num));
      nt_buf_puts(out, num);
      break;
    case SEG_HOST:
      nt_buf_puts(out, n->host);
      break;
    case SEG_PLUGIN:
      nt_buf_puts(out, n->plugin);
      break;
    case SEG_PLUGIN_INSTANCE:
      nt_buf_puts(out, n->plugin_instance);
      break;
    case SEG_TYPE:
      nt_buf_puts(out, n->type);
      break;
    case SEG_TYPE_INSTANCE:
      nt_buf_puts(out, n->type_instance);
      break;
    case SEG_MESSAGE:
      nt_buf_puts(out, n->message);
      break;
    case SEG_TASK:
      nt_buf_puts(out, ctx->task_name);
      break;
    case SEG_EPISODE:
      nt_buf_puts(out, ctx->episode);
      break;
    case SEG_META:
      render_meta(n, s->text, out);
      break;
    }
  }
  return out->failed ? -1 : 0;
}
