/* SPDX-License-Identifier: MIT */

#include "state.h"
#include "spool.h"
#include "subjects.h"
#include "windows.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER "notify_theeye state 1\n"

bool nt_state_changed(const nt_config_t *cfg) {
  if (nt_subjects_changed(cfg->subjects))
    return true;
  for (size_t i = 0; i < cfg->tasks_num; i++) {
    const nt_task_t *t = cfg->tasks[i];
    if ((t->budgets != NULL && nt_windows_changed(t->budgets)) ||
        (t->task_budgets != NULL && nt_windows_changed(t->task_budgets)))
      return true;
  }
  return false;
}

/* A Task's lines start with its name in hexadecimal: any byte may be in
 * a name but a line's end. */
static void task_prefix(const nt_task_t *t, const char *kind, char *out,
                        size_t size) {
  nt_buf_t b = NT_BUF_INIT;
  nt_buf_puts(&b, kind);
  nt_buf_puts(&b, " ");
  nt_buf_hex(&b, t->name, strlen(t->name));
  snprintf(out, size, "%s", b.data != NULL ? b.data : "");
  nt_buf_free(&b);
}

char *nt_state_encode(const nt_config_t *cfg, double now, double now_wall,
                      size_t *len) {
  nt_buf_t out = NT_BUF_INIT;
  nt_buf_puts(&out, HEADER);
  nt_subjects_save(cfg->subjects, &out);
  char prefix[2 * DATA_MAX_NAME_LEN + 8];
  for (size_t i = 0; i < cfg->tasks_num; i++) {
    const nt_task_t *t = cfg->tasks[i];
    if (t->budgets != NULL) {
      task_prefix(t, "b", prefix, sizeof(prefix));
      nt_windows_save(t->budgets, prefix, &out, now, now_wall);
    }
    if (t->task_budgets != NULL) {
      task_prefix(t, "t", prefix, sizeof(prefix));
      nt_windows_save(t->task_budgets, prefix, &out, now, now_wall);
    }
  }
  nt_buf_printf(&out, "crc %08" PRIx32 "\n",
                out.data != NULL ? nt_crc32(out.data, out.len) : 0);
  return nt_buf_steal(&out, len);
}

/* The windows a "b" or "t" line is for, or NULL (the Task or its budget
 * is gone). */
static nt_windows_t *windows_of(const nt_config_t *cfg, char kind,
                                const char *hex, size_t hex_len) {
  char name[DATA_MAX_NAME_LEN];
  long len = nt_unhex(hex, hex_len, name, sizeof(name) - 1);
  if (len <= 0)
    return NULL;
  name[len] = '\0';
  for (size_t i = 0; i < cfg->tasks_num; i++)
    if (strcmp(cfg->tasks[i]->name, name) == 0)
      return kind == 'b' ? cfg->tasks[i]->budgets : cfg->tasks[i]->task_budgets;
  return NULL;
}

int nt_state_decode(const nt_config_t *cfg, char *data, size_t len, double now,
                    double now_wall, char *err, size_t errlen) {
  /* Whole or not at all: the checksum covers every line before its own. */
  char *crc_line = len > 0 ? strstr(data, "\ncrc ") : NULL;
  uint32_t crc;
  if (len < sizeof(HEADER) - 1 ||
      strncmp(data, HEADER, sizeof(HEADER) - 1) != 0 || crc_line == NULL ||
      sscanf(crc_line + 5, "%8" SCNx32, &crc) != 1 ||
      crc != nt_crc32(data, (size_t)(crc_line + 1 - data))) {
    snprintf(err, errlen, "damaged (no header, or a wrong checksum)");
    return -1;
  }
  crc_line[1] = '\0';
  int bad = 0;
  for (char *line = data + sizeof(HEADER) - 1, *next; *line != '\0';
       line = next) {
    next = strchr(line, '\n');
    if (next == NULL)
      break;
    *next++ = '\0';
    if (line[0] == 's' && line[1] == ' ') {
      bad += nt_subjects_restore(cfg->subjects, line + 2) != 0;
    } else if ((line[0] == 'b' || line[0] == 't') && line[1] == ' ') {
      char *gap = strchr(line + 2, ' ');
      nt_windows_t *w = gap != NULL ? windows_of(cfg, line[0], line + 2,
                                                 (size_t)(gap - line - 2))
                                    : NULL;
      if (w != NULL)
        bad += nt_windows_restore(w, gap + 1, now, now_wall) != 0;
    } else {
      bad++;
    }
  }
  if (bad > 0) {
    snprintf(err, errlen, "%d line(s) that do not parse, skipped", bad);
    return -1;
  }
  return 0;
}
