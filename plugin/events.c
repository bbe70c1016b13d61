#include "events.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

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

void nt_subject_name(const notification_t *n, char *out, size_t size) {
  bool typed = n->type[0] != '\0' || n->type_instance[0] != '\0';
  snprintf(out, size, "%s/%s%s%s%s%s%s%s", n->host, n->plugin,
           n->plugin_instance[0] ? "-" : "", n->plugin_instance,
           typed ? "/" : "", n->type, n->type_instance[0] ? "-" : "",
           n->type_instance);
}
