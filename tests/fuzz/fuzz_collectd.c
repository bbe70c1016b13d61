/* SPDX-License-Identifier: MIT
 *
 * The only collectd symbol the parsers and renderers need, for the
 * fuzzers: plugin_log. The line is formatted (so that a bad format or
 * argument is caught by the sanitizers) into a buffer of collectd's own
 * size, handed to the target's hook if it set one, then dropped;
 * NT_FUZZ_LOG=1 in the environment prints it to stderr, for a
 * reproducer. */
#include "collectd.h"
#include "plugin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void (*fuzz_log_hook)(int level, const char *msg);

void plugin_log(int level, const char *format, ...) {
  static int verbose = -1;
  char msg[1024]; /* plugin_log cuts a line at 1024 bytes */
  va_list ap;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  if (verbose < 0) {
    const char *env = getenv("NT_FUZZ_LOG");
    verbose = env != NULL && env[0] == '1';
  }
  if (verbose)
    fprintf(stderr, "[log %d] %s\n", level, msg);
  if (fuzz_log_hook != NULL)
    fuzz_log_hook(level, msg);
}
