/* SPDX-License-Identifier: MIT */

#include "events.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nt_event_t *nt_event_new(const char *name, int severity, const char *task,
                         const notification_t *n, const char *episode,
                         const char *fmt, ...) {
  nt_event_t *e = calloc(1, sizeof(*e));
  if (e == NULL)
    return NULL;
  e->severity = severity;
  snprintf(e->name, sizeof(e->name), "%s", name);
  snprintf(e->task, sizeof(e->task), "%s", task);
  snprintf(e->host, sizeof(e->host), "%s", n->host);
  snprintf(e->plugin, sizeof(e->plugin), "%s", n->plugin);
  snprintf(e->plugin_instance, sizeof(e->plugin_instance), "%s",
           n->plugin_instance);
  snprintf(e->type, sizeof(e->type), "%s", n->type);
  snprintf(e->type_instance, sizeof(e->type_instance), "%s", n->type_instance);
  snprintf(e->episode, sizeof(e->episode), "%s", episode);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof(e->message), fmt, ap);
  va_end(ap);
  return e;
}

void nt_about_subject(const char *about, notification_t *n) {
  char *fields[] = {n->host, n->plugin, n->plugin_instance, n->type,
                    n->type_instance};
  size_t sizes[] = {sizeof(n->host), sizeof(n->plugin),
                    sizeof(n->plugin_instance), sizeof(n->type),
                    sizeof(n->type_instance)};
  for (size_t i = 0; i < 5; i++) {
    snprintf(fields[i], sizes[i], "%s", about);
    about += strlen(about) + 1;
  }
}

const char *nt_about_episode(const char *about) {
  for (int i = 0; i < 5; i++)
    about += strlen(about) + 1;
  return about;
}

size_t nt_about_len(const char *about) {
  const char *episode = nt_about_episode(about);
  return (size_t)(episode - about) + strlen(episode) + 1;
}

void nt_subject_name(const notification_t *n, char *out, size_t size) {
  bool typed = n->type[0] != '\0' || n->type_instance[0] != '\0';
  snprintf(out, size, "%s/%s%s%s%s%s%s%s", n->host, n->plugin,
           n->plugin_instance[0] ? "-" : "", n->plugin_instance,
           typed ? "/" : "", n->type, n->type_instance[0] ? "-" : "",
           n->type_instance);
}
