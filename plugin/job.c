/* SPDX-License-Identifier: MIT
 *
 * Builds a job: the one constructor of nt_job_t, for new notifications and
 * for jobs resumed from the spool. Touches nothing but memory. */
#include "job.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

nt_job_t *nt_job_build(nt_buf_t *b, struct nt_task_s *task, double arrival,
                       double arrival_wall, double max_age) {
  size_t len;
  char *data = nt_buf_steal(b, &len);
  if (data == NULL || len < NT_JOB_HEAD) {
    free(data);
    return NULL;
  }
  /* A queued job keeps no room to grow (in place: glibc splits the
   * block). */
  char *fit = realloc(data, len + 1);
  if (fit != NULL)
    data = fit;
  /* The header only: a struct assignment could write its tail padding over
   * the start of the body. */
  nt_job_t head = {
      .task = task,
      .task_index = task->index,
      .lane = task->lane,
      .arrival = arrival,
      .deadline = arrival + max_age,
      .arrival_wall = arrival_wall,
      .body_len = len - NT_JOB_HEAD,
  };
  memcpy(data, &head, NT_JOB_HEAD);
  return (nt_job_t *)data;
}

nt_job_t *nt_job_new(struct nt_task_s *task, const char *body, size_t body_len,
                     double arrival, double arrival_wall, double max_age) {
  static const char head[NT_JOB_HEAD];
  nt_buf_t b = NT_BUF_INIT;
  nt_buf_append(&b, head, sizeof(head));
  nt_buf_append(&b, body, body_len);
  return nt_job_build(&b, task, arrival, arrival_wall, max_age);
}

void nt_jobs_free(nt_job_t *list) {
  while (list != NULL) {
    nt_job_t *next = list->next;
    free(list);
    list = next;
  }
}
