#include "dispatch.h"
#include "clock.h"
#include "cooldown.h"
#include "json.h"
#include "subjects.h"

#include <stdlib.h>
#include <string.h>

nt_job_t *nt_job_make(const nt_config_t *cfg, nt_task_t *task,
                      const notification_t *n, const char *episode,
                      double now) {
  nt_render_ctx_t ctx = {.task_name = task->name, .episode = episode};
  /* All arguments are rendered into one buffer, then cut at the offsets. */
  size_t ends[task->args_num > 0 ? task->args_num : 1];
  const char *args[task->args_num > 0 ? task->args_num : 1];
  size_t lens[task->args_num > 0 ? task->args_num : 1];
  nt_buf_t text = NT_BUF_INIT;
  for (size_t i = 0; i < task->args_num; i++) {
    if (nt_template_render(task->args[i], n, &ctx, &text) != 0) {
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
  /* The body goes straight after the job's header: one allocation. */
  static const char head[NT_JOB_HEAD];
  nt_buf_t job = NT_BUF_INIT;
  int status = nt_buf_append(&job, head, sizeof(head));
  if (status == 0)
    status =
        nt_json_body_append(&job, task->task_id, args, lens, task->args_num);
  nt_buf_free(&text);
  if (status != 0) {
    nt_buf_free(&job);
    return NULL;
  }
  return nt_job_build(&job, task, now, nt_wall(), cfg->max_age);
}

int nt_dispatch(nt_config_t *cfg, nt_sender_t *s, const notification_t *n,
                double now) {
  /* Every subject is remembered, whether a Task wants it or not. */
  nt_subject_info_t subject;
  nt_subjects_note(cfg->subjects, n, nt_wall(), &subject);
  int queued = 0;
  for (size_t i = 0; i < cfg->tasks_num; i++) {
    nt_task_t *task = cfg->tasks[i];
    if (!nt_match(&task->match, n))
      continue;
    /* collectd's threshold plugin sends an OKAY for every value it checks
     * at start-up: none is a recovery. */
    if (n->severity == NOTIF_OKAY && task->ignore_first_okay &&
        !subject.seen_other) {
      nt_stats_add(&task->stats, NT_STAT_IGNORED_OKAY, 1);
      continue;
    }
    if (task->cooldowns != NULL &&
        !nt_cooldown_admit(task->cooldowns, n, now)) {
      nt_stats_add(&task->stats, NT_STAT_SUPPRESSED, 1);
      continue;
    }
    nt_job_t *job = nt_job_make(cfg, task, n, subject.episode, now);
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
