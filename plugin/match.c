#include "match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int nt_match_add(nt_match_t *m, nt_field_t field, const char *value, char *err,
                 size_t errlen) {
  nt_pattern_t p = {0};
  size_t len = strlen(value);
  if (len >= 2 && value[0] == '/' && value[len - 1] == '/') {
    char *re = strndup(value + 1, len - 2);
    if (re == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    int status = regcomp(&p.regex, re, REG_EXTENDED | REG_NOSUB);
    free(re);
    if (status != 0) {
      char why[128];
      regerror(status, &p.regex, why, sizeof(why));
      snprintf(err, errlen, "invalid regular expression %s: %s", value, why);
      return -1;
    }
  } else {
    p.exact = strdup(value);
    if (p.exact == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
  }
  nt_pattern_t *patterns = realloc(
      m->patterns[field], (m->patterns_num[field] + 1) * sizeof(*patterns));
  if (patterns == NULL) {
    if (p.exact != NULL)
      free(p.exact);
    else
      regfree(&p.regex);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  patterns[m->patterns_num[field]++] = p;
  m->patterns[field] = patterns;
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

static bool field_matches(const nt_pattern_t *patterns, size_t num,
                          const char *value) {
  if (num == 0)
    return true;
  for (size_t i = 0; i < num; i++) {
    if (patterns[i].exact != NULL
            ? strcmp(patterns[i].exact, value) == 0
            : regexec(&patterns[i].regex, value, 0, NULL, 0) == 0)
      return true;
  }
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
  for (int f = 0; f < NT_FIELDS_NUM; f++)
    if (!field_matches(m->patterns[f], m->patterns_num[f], fields[f]))
      return false;
  return true;
}

void nt_match_free(nt_match_t *m) {
  for (int f = 0; f < NT_FIELDS_NUM; f++) {
    for (size_t i = 0; i < m->patterns_num[f]; i++) {
      if (m->patterns[f][i].exact != NULL)
        free(m->patterns[f][i].exact);
      else
        regfree(&m->patterns[f][i].regex);
    }
    free(m->patterns[f]);
  }
  *m = (nt_match_t){0};
}
