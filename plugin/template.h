/* SPDX-License-Identifier: MIT
 *
 * Argument templates: "%{host} is %{meta:CurrentValue}" parsed once at
 * configuration time, rendered per notification. */
#ifndef NT_TEMPLATE_H
#define NT_TEMPLATE_H

#include "buf.h"

#include "collectd.h"
#include "plugin.h"

typedef struct nt_template_s nt_template_t;

/* On error returns NULL and writes why into err (never the whole value). */
nt_template_t *nt_template_parse(const char *text, char *err, size_t errlen);
void nt_template_free(nt_template_t *t);

/* What a rendering knows besides the notification. */
typedef struct {
  const char *task_name;
  const char *episode; /* the subject's episode id, or "" */
} nt_render_ctx_t;

/* Appends the rendering to out. Returns 0, or -1 when out ran out of memory. */
int nt_template_render(const nt_template_t *t, const notification_t *n,
                       const nt_render_ctx_t *ctx, nt_buf_t *out);

/* The forms of the Argument templates, exposed for tests: a meta double, the
 * time. */
void nt_format_double(double value, char *buf, size_t size);
void nt_format_time(cdtime_t t, char *buf, size_t size);

#endif
