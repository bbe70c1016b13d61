#include "dispatch.h"
#include "clock.h"
#include "cooldown.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

nt_job_t *nt_job_make(const nt_config_t *cfg, nt_task_t *task,
                      const notification_t *n, double now) {
  /* All arguments are rendered into one buffer, then cut at the offsets. */
  size_t ends[task->args_num > 0 ? task->args_num : 1];
  const char *args[task->args_num > 0 ? task->args_num : 1];
  size_t lens[task->args_num > 0 ? task->args_num : 1];
  nt_buf_t text = NT_BUF_INIT;
  for (size_t i = 0; i < task->args_num; i++) {
    if (nt_template_render(task->args[i], n, task->name, &text) != 0) {
      nt_buf_free(&text);
      return NULL;
    }
    ends[i] = text.len;
  }
  for (size_t i = 0; i < task->args_num; i++) {
    size_t start = i ? ends[i - 1] : 0;
    args[i] = text.data ? text.data + start : "";
    lens[i] = ends[i] - start;
  }
  size_t body_len = 0;
  char *body =
      nt_json_body(task->task_id, args, lens, task->args_num, &body_len);
  nt_buf_free(&text);
  if (body == NULL)
    return NULL;
  nt_job_t *job =
      nt_job_new(task, body, body_len, now, nt_wall(), cfg->max_age);
  free(body);
  return job;
}

int nt_dispatch(nt_config_t *cfg, nt_sender_t *s, const notification_t *n,
                double now) {
  int queued = 0;
  for (size_t i = 0; i < cfg->tasks_num; i++) {
    nt_task_t *task = cfg->tasks[i];
    if (!nt_match(&task->match, n))
      continue;
    if (task->cooldowns != NULL &&
        !nt_cooldown_admit(task->cooldowns, n, now)) {
      nt_stats_add(&task->stats, NT_STAT_SUPPRESSED, 1);
      continue;
    }
    nt_job_t *job = nt_job_make(cfg, task, n, now);
    if (job == NULL) {
      if (task->cooldowns != NULL)
        nt_cooldown_withdraw(task->cooldowns, n, now);
      nt_stats_add(&task->stats, NT_STAT_DROPPED, 1);
      NT_ERROR("Task \"%s\": out of memory: a job was dropped", task->name);
      continue;
    }
    if (nt_sender_submit(s, job) != 0) {
      if (task->cooldowns != NULL)
        nt_cooldown_withdraw(task->cooldowns, n, now);
      free(job); /* shutting down: ignored */
      break;
    }
    queued++;
  }
  return queued;
}
