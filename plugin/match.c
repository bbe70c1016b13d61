/* SPDX-License-Identifier: MIT */

#include "match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A regex that is a plain string, perhaps anchored: its kind and text
 * (the caller frees it), or NT_PAT_REGEX. */
static nt_pattern_kind_t plain_kind(const char *re, size_t len, char **text) {
  bool head = len > 0 && re[0] == '^';
  bool tail = len > (size_t)head && re[len - 1] == '$';
  size_t start = head, end = len - tail;
  for (size_t i = start; i < end; i++)
    if (strchr(".[]()*+?{}|\\^$", re[i]) != NULL)
      return NT_PAT_REGEX;
  *text = strndup(re + start, end - start);
  if (*text == NULL)
    return NT_PAT_REGEX; /* compiled as a regex after all */
  return head && tail ? NT_PAT_EQUAL
         : head       ? NT_PAT_PREFIX
         : tail       ? NT_PAT_SUFFIX
                      : NT_PAT_CONTAINS;
}

int nt_match_add(nt_match_t *m, nt_field_t field, const char *value, char *err,
                 size_t errlen) {
  nt_pattern_t p = {.kind = NT_PAT_EQUAL};
  size_t len = strlen(value);
  if (len >= 2 && value[0] == '/' && value[len - 1] == '/') {
    char *re = strndup(value + 1, len - 2);
    if (re == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    /* Compiled in any case: a plain string is a valid regex, and an
     * invalid one is refused alike. */
    int status = regcomp(&p.regex, re, REG_EXTENDED | REG_NOSUB);
    if (status != 0) {
      char why[128];
      regerror(status, &p.regex, why, sizeof(why));
      snprintf(err, errlen, "invalid regular expression %s: %s", value, why);
      free(re);
      return -1;
    }
    p.kind = plain_kind(re, len - 2, &p.text);
    free(re);
    if (p.kind != NT_PAT_REGEX)
      regfree(&p.regex);
  } else {
    p.literal = true;
    p.text = strdup(value);
    if (p.text == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
  }
  if (p.text != NULL)
    p.len = strlen(p.text);
  nt_pattern_t *patterns = realloc(
      m->patterns[field], (m->patterns_num[field] + 1) * sizeof(*patterns));
  if (patterns == NULL) {
    if (p.kind == NT_PAT_REGEX)
      regfree(&p.regex);
    free(p.text);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  patterns[m->patterns_num[field]++] = p;
  m->patterns[field] = patterns;
  m->has_regex[field] |= p.kind == NT_PAT_REGEX;
  return 0;
}

int nt_match_add_severity(nt_match_t *m, const char *name) {
  if (strcasecmp(name, "FAILURE") == 0)
    m->severities |= NT_SEV_FAILURE;
  else if (strcasecmp(name, "WARNING") == 0)
    m->severities |= NT_SEV_WARNING;
  else if (strcasecmp(name, "OKAY") == 0)
    m->severities |= NT_SEV_OKAY;
  else
    return -1;
  return 0;
}

static unsigned severity_bit(int severity) {
  switch (severity) {
  case NOTIF_FAILURE:
    return NT_SEV_FAILURE;
  case NOTIF_WARNING:
    return NT_SEV_WARNING;
  case NOTIF_OKAY:
    return NT_SEV_OKAY;
  }
  return 0;
}

static bool pattern_matches(const nt_pattern_t *p, const char *value) {
  size_t len;
  switch (p->kind) {
  case NT_PAT_EQUAL:
    return strcmp(p->text, value) == 0;
  case NT_PAT_PREFIX:
    return strncmp(p->text, value, p->len) == 0;
  case NT_PAT_SUFFIX:
    len = strlen(value);
    return len >= p->len && memcmp(value + len - p->len, p->text, p->len) == 0;
  case NT_PAT_CONTAINS:
    return strstr(value, p->text) != NULL;
  case NT_PAT_REGEX:
    break;
  }
  return regexec(&p->regex, value, 0, NULL, 0) == 0;
}

static bool field_matches(const nt_pattern_t *patterns, size_t num,
                          const char *value) {
  if (num == 0)
    return true;
  for (size_t i = 0; i < num; i++)
    if (pattern_matches(&patterns[i], value))
      return true;
  return false;
}

bool nt_match(const nt_match_t *m, const notification_t *n) {
  unsigned wanted = m->severities ? m->severities : NT_SEV_FAILURE;
  if ((severity_bit(n->severity) & wanted) == 0)
    return false;
  const char *fields[NT_FIELDS_NUM] = {
      [NT_FIELD_HOST] = n->host,
      [NT_FIELD_PLUGIN] = n->plugin,
      [NT_FIELD_PLUGIN_INSTANCE] = n->plugin_instance,
      [NT_FIELD_TYPE] = n->type,
      [NT_FIELD_TYPE_INSTANCE] = n->type_instance,
      [NT_FIELD_MESSAGE] = n->message,
  };
  /* Every field must match: the cheap comparisons first, so that a Task
   * that does not want the notification is mostly told without a regex. */
  for (int pass = 0; pass < 2; pass++)
    for (int f = 0; f < NT_FIELDS_NUM; f++)
      if (m->has_regex[f] == (pass == 1) &&
          !field_matches(m->patterns[f], m->patterns_num[f], fields[f]))
        return false;
  return true;
}

bool nt_match_names(const nt_match_t *m, nt_field_t field, const char *value) {
  for (size_t i = 0; i < m->patterns_num[field]; i++)
    if (m->patterns[field][i].literal &&
        strcmp(m->patterns[field][i].text, value) == 0)
      return true;
  return false;
}

void nt_match_free(nt_match_t *m) {
  for (int f = 0; f < NT_FIELDS_NUM; f++) {
    for (size_t i = 0; i < m->patterns_num[f]; i++) {
      if (m->patterns[f][i].kind == NT_PAT_REGEX)
        regfree(&m->patterns[f][i].regex);
      free(m->patterns[f][i].text);
    }
    free(m->patterns[f]);
  }
  *m = (nt_match_t){0};
}
