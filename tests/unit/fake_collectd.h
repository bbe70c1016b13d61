/* SPDX-License-Identifier: MIT
 *
 * What the unit tests provide in place of the collectd daemon: plugin_log,
 * capturing every line in memory so tests can assert on the log. */
#ifndef NT_FAKE_COLLECTD_H
#define NT_FAKE_COLLECTD_H

#include <stdbool.h>
#include <stddef.h>

#include "collectd.h"
#include "plugin.h"

#define FAKE_LOG_LINES 256
#define FAKE_LOG_LINE_SIZE 1024 /* plugin_log's own bound */

/* Until called again with NULL, a thread logging a line that contains
 * needle waits inside plugin_log (the line is captured once released). */
void fake_log_hold(const char *needle);
/* Forgets every captured line. */
void fake_log_reset(void);
/* Lines captured since the last reset (at most FAKE_LOG_LINES are kept;
 * the count goes on past that). */
size_t fake_log_count(void);
/* The text of line i ("" when out of range). */
const char *fake_log_line(size_t i);
/* The level of line i (LOG_ERR, LOG_WARNING, ...; -1 when out of range). */
int fake_log_level(size_t i);
/* Whether any captured line contains needle. */
bool fake_log_contains(const char *needle);
/* Lines of the given level, and of that level containing needle (NULL: any
 * text). */
size_t fake_log_count_level(int level, const char *needle);

#endif
