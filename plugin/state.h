/* SPDX-License-Identifier: MIT
 *
 * The remediation state kept in SpoolDir across restarts and kill -9: the
 * subjects (once seen failing, their current episode) and the budgets'
 * windows, so that a restart neither re-fires a spent budget, nor forgets
 * an incident, nor ignores the OKAY that ends one begun before it. One
 * file, "state", rewritten whole by the spooler's thread. */
#ifndef NT_STATE_H
#define NT_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Whether anything in it changed since the last encoding. */
bool nt_state_changed(const nt_config_t *cfg);

/* The state as text, with a checksum (malloc'ed, *len bytes); NULL when
 * out of memory. now is monotonic, now_wall the same instant's wall
 * clock: times are kept on the wall clock. */
char *nt_state_encode(const nt_config_t *cfg, double now, double now_wall,
                      size_t *len);

/* Restores what data holds (NUL-terminated): 0, or -1 with the reason in
 * err (a damaged file: nothing restored). A line of a Task that is no
 * longer configured, or no longer has that budget, is skipped. */
int nt_state_decode(const nt_config_t *cfg, char *data, size_t len, double now,
                    double now_wall, char *err, size_t errlen);

#endif
