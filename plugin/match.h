/* SPDX-License-Identifier: MIT
 *
 * Which notifications a Task wants: severities and per-field filters. */
#ifndef NT_MATCH_H
#define NT_MATCH_H

#include <regex.h>
#include <stdbool.h>

#include "collectd.h"
#include "plugin.h"

typedef enum {
  NT_FIELD_HOST,
  NT_FIELD_PLUGIN,
  NT_FIELD_PLUGIN_INSTANCE,
  NT_FIELD_TYPE,
  NT_FIELD_TYPE_INSTANCE,
  NT_FIELD_MESSAGE,
  NT_FIELDS_NUM
} nt_field_t;

#define NT_SEV_FAILURE 0x1u
#define NT_SEV_WARNING 0x2u
#define NT_SEV_OKAY 0x4u

/* How a pattern is matched: a regex that is a plain string, anchored or
 * not, is compared as one (glibc's regexec costs far more, in collectd's
 * thread, for every notification and Task). */
typedef enum {
  NT_PAT_EQUAL,    /* an exact value, or /^text$/ */
  NT_PAT_PREFIX,   /* /^text/ */
  NT_PAT_SUFFIX,   /* /text$/ */
  NT_PAT_CONTAINS, /* /text/ */
  NT_PAT_REGEX,
} nt_pattern_kind_t;

typedef struct {
  nt_pattern_kind_t kind;
  bool literal; /* written as a value, not as a /regex/ */
  char *text;   /* all but NT_PAT_REGEX */
  size_t len;
  regex_t regex; /* NT_PAT_REGEX */
} nt_pattern_t;

typedef struct {
  unsigned severities; /* NT_SEV_* bits; 0 means the default, FAILURE */
  nt_pattern_t *patterns[NT_FIELDS_NUM];
  size_t patterns_num[NT_FIELDS_NUM];
  bool has_regex[NT_FIELDS_NUM]; /* such fields are looked at last */
} nt_match_t;

/* Adds one value to a field's filter: "/re/" is an extended regex, anything
 * else an exact value. On error writes why into err and returns -1. */
int nt_match_add(nt_match_t *m, nt_field_t field, const char *value, char *err,
                 size_t errlen);
/* "FAILURE", "WARNING" or "OKAY", in any case. */
int nt_match_add_severity(nt_match_t *m, const char *name);
bool nt_match(const nt_match_t *m, const notification_t *n);
/* Whether the field's filter names value exactly, as a value (a regex
 * that matches it does not count). */
bool nt_match_names(const nt_match_t *m, nt_field_t field, const char *value);
void nt_match_free(nt_match_t *m);

#endif
