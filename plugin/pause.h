/* SPDX-License-Identifier: MIT
 *
 * PauseFile: maintenance without a restart. While the file exists nothing
 * is queued or sent; its first line may hold the time the pause ends. The
 * sender's thread looks at the file once a second (never a notification
 * callback); anyone reads the verdict. */
#ifndef NT_PAUSE_H
#define NT_PAUSE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct nt_pause_s nt_pause_t;

nt_pause_t *nt_pause_create(const char *path);
void nt_pause_free(nt_pause_t *p);

/* Looks at the file at the wall-clock time now, and logs at INFO when a
 * pause starts or ends, with a WARNING when the file outlives the time in
 * it. */
void nt_pause_check(nt_pause_t *p, double now);

/* Whether the last look found a pause in force. From any thread. */
bool nt_pause_active(const nt_pause_t *p);

const char *nt_pause_path(const nt_pause_t *p);

/* The end of a pause a file's first line names: epoch seconds (fractions
 * allowed) or RFC 3339 with "Z" or an offset (2026-12-24T06:00:00Z).
 * Returns 0 with *until set, 1 when the line holds no time (a pause until
 * the file goes), -1 when it holds something else. */
int nt_pause_parse_time(const char *line, double *until);

#endif
