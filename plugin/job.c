/* Builds a job: the one constructor of nt_job_t, for new notifications and
 * for jobs resumed from the spool. Touches nothing but memory. */
#include "job.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

nt_job_t *nt_job_new(struct nt_task_s *task, const char *body, size_t body_len,
                     double arrival, double arrival_wall, double max_age) {
  nt_job_t *job = malloc(sizeof(*job) + body_len + 1);
  if (job == NULL)
    return NULL;
  *job = (nt_job_t){
      .task = task,
      .task_index = task->index,
      .lane = task->lane,
      .arrival = arrival,
      .deadline = arrival + max_age,
      .arrival_wall = arrival_wall,
      .body_len = body_len,
  };
  memcpy(job->body, body, body_len);
  job->body[body_len] = '\0';
  return job;
}
