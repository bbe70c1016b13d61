/* SPDX-License-Identifier: MIT */

#include "queue.h"

#include <stdlib.h>

typedef struct {
  nt_job_t *head, *tail; /* in seq order, those in flight included */
  size_t in_flight, waiting;
  size_t group;      /* the lanes of one supervisor share its per_lane slots */
  size_t retrying;   /* waiting jobs that failed and wait for their retry */
  double not_before; /* nothing is taken before then */
} lane_t;

struct nt_queue_s {
  size_t limit, per_lane;
  size_t waiting; /* jobs not in flight */
  size_t in_flight;
  lane_t *lanes;
  size_t lanes_num;
  size_t *group_in_flight; /* by a lane's group */
  size_t *lengths;         /* per Task */
  size_t tasks_num;
  bool (*held)(const nt_job_t *job);
};

nt_queue_t *nt_queue_create(size_t limit, size_t lanes_num, size_t per_lane,
                            size_t tasks_num) {
  nt_queue_t *q = calloc(1, sizeof(*q));
  if (q == NULL)
    return NULL;
  q->lanes = calloc(lanes_num ? lanes_num : 1, sizeof(*q->lanes));
  q->group_in_flight =
      calloc(lanes_num ? lanes_num : 1, sizeof(*q->group_in_flight));
  q->lengths = calloc(tasks_num ? tasks_num : 1, sizeof(*q->lengths));
  if (q->lanes == NULL || q->group_in_flight == NULL || q->lengths == NULL) {
    free(q->lanes);
    free(q->group_in_flight);
    free(q->lengths);
    free(q);
    return NULL;
  }
  for (size_t i = 0; i < lanes_num; i++)
    q->lanes[i].group = i;
  q->limit = limit;
  q->per_lane = per_lane ? per_lane : 1;
  q->lanes_num = lanes_num;
  q->tasks_num = tasks_num;
  return q;
}

void nt_queue_free(nt_queue_t *q) {
  if (q == NULL)
    return;
  nt_jobs_free(nt_queue_drain(q));
  free(q->lanes);
  free(q->group_in_flight);
  free(q->lengths);
  free(q);
}

void nt_queue_share(nt_queue_t *q, size_t lane, size_t with) {
  q->lanes[lane].group = q->lanes[with].group;
}

/* Room for one more in flight in the lane's group. */
static bool has_room(const nt_queue_t *q, const lane_t *lane) {
  return q->group_in_flight[lane->group] < q->per_lane;
}

static void count_in_flight(nt_queue_t *q, lane_t *lane, int delta) {
  lane->in_flight += (size_t)delta;
  q->group_in_flight[lane->group] += (size_t)delta;
  q->in_flight += (size_t)delta;
}

static void unlink_job(nt_queue_t *q, nt_job_t *job) {
  lane_t *lane = &q->lanes[job->lane];
  if (job->prev == NULL)
    lane->head = job->next;
  else
    job->prev->next = job->next;
  if (job->next == NULL)
    lane->tail = job->prev;
  else
    job->next->prev = job->prev;
  if (job->in_flight) {
    count_in_flight(q, lane, -1);
  } else {
    lane->waiting--;
    q->waiting--;
  }
  /* A lane keeps waiting when the job that failed is dropped or expires:
   * the supervisor is still presumed unavailable until then. */
  if (job->retry_wait)
    lane->retrying--;
  job->retry_wait = false;
  q->lengths[job->task_index]--;
  job->next = job->prev = NULL;
}

/* The first job of the lane not in flight: at most per_lane are skipped. */
static nt_job_t *first_waiting(const lane_t *lane) {
  nt_job_t *j = lane->head;
  while (j != NULL && j->in_flight)
    j = j->next;
  return j;
}

nt_job_t *nt_queue_push(nt_queue_t *q, nt_job_t *job) {
  lane_t *lane = &q->lanes[job->lane];
  job->in_flight = false;
  /* Resumed jobs come before new ones, but never before a job in flight. */
  nt_job_t *after = lane->tail;
  while (after != NULL && !after->in_flight && after->seq > job->seq)
    after = after->prev;
  job->prev = after;
  job->next = after != NULL ? after->next : lane->head;
  if (job->next != NULL)
    job->next->prev = job;
  else
    lane->tail = job;
  if (after != NULL)
    after->next = job;
  else
    lane->head = job;
  job->retry_wait = false;
  lane->waiting++;
  q->waiting++;
  q->lengths[job->task_index]++;
  if (q->waiting <= q->limit)
    return NULL;

  nt_job_t *oldest = NULL;
  for (size_t i = 0; i < q->lanes_num; i++) {
    nt_job_t *j = first_waiting(&q->lanes[i]);
    if (j != NULL && (oldest == NULL || j->seq < oldest->seq))
      oldest = j;
  }
  unlink_job(q, oldest);
  return oldest;
}

bool nt_queue_lane_open(const nt_queue_t *q, size_t lane, double now) {
  const lane_t *l = &q->lanes[lane];
  /* A lane's wait is known to the sender only while a job waits in it. */
  return has_room(q, l) && (l->not_before <= now || l->waiting == 1);
}

void nt_queue_set_hold(nt_queue_t *q, bool (*held)(const nt_job_t *job)) {
  q->held = held;
}

nt_job_t *nt_queue_take(nt_queue_t *q, double now, double *next_due) {
  nt_job_t *best = NULL;
  *next_due = 1e300;
  for (size_t i = 0; i < q->lanes_num; i++) {
    lane_t *lane = &q->lanes[i];
    if (!has_room(q, lane))
      continue;
    nt_job_t *j = first_waiting(lane);
    if (j == NULL)
      continue;
    if (lane->not_before > now) {
      if (lane->not_before < *next_due)
        *next_due = lane->not_before;
      continue;
    }
    if (q->held != NULL && q->held(j))
      continue;
    if (best == NULL || j->seq < best->seq)
      best = j;
  }
  if (best == NULL)
    return NULL;
  lane_t *lane = &q->lanes[best->lane];
  if (best->retry_wait)
    lane->retrying--;
  best->retry_wait = false;
  best->in_flight = true;
  count_in_flight(q, lane, 1);
  lane->waiting--;
  q->waiting--;
  return best;
}

void nt_queue_retry(nt_queue_t *q, nt_job_t *job, double not_before) {
  lane_t *lane = &q->lanes[job->lane];
  job->in_flight = false;
  job->retry_wait = true;
  count_in_flight(q, lane, -1);
  lane->waiting++;
  lane->retrying++;
  q->waiting++;
  /* With several in flight, the longest wait any failure asked for holds
   * (a Retry-After is not cut short by a later reset). */
  if (not_before > lane->not_before)
    lane->not_before = not_before;
}

void nt_queue_remove(nt_queue_t *q, nt_job_t *job) {
  lane_t *lane = &q->lanes[job->lane];
  unlink_job(q, job);
  if (lane->retrying == 0)
    lane->not_before = 0;
}

nt_job_t *nt_queue_expire(nt_queue_t *q, double now) {
  nt_job_t *expired = NULL, **tail = &expired;
  for (size_t i = 0; i < q->lanes_num; i++) {
    nt_job_t *j = q->lanes[i].head;
    /* Deadlines rise along a lane (arrival order, one MaxAge): the first
     * waiting job still in time ends the look, so a pass costs what
     * expires plus the jobs in flight. */
    while (j != NULL && (j->in_flight || j->deadline <= now)) {
      nt_job_t *next = j->next;
      if (!j->in_flight) {
        unlink_job(q, j);
        *tail = j;
        tail = &j->next;
      }
      j = next;
    }
  }
  return expired;
}

nt_job_t *nt_queue_cancel(nt_queue_t *q,
                          bool (*visit)(nt_job_t *job, void *arg), void *arg) {
  nt_job_t *cancelled = NULL, **tail = &cancelled;
  for (size_t i = 0; i < q->lanes_num; i++) {
    for (nt_job_t *j = q->lanes[i].head, *next; j != NULL; j = next) {
      next = j->next;
      if (!visit(j, arg) || j->in_flight)
        continue;
      unlink_job(q, j);
      *tail = j;
      tail = &j->next;
    }
  }
  return cancelled;
}

nt_job_t *nt_queue_drain(nt_queue_t *q) {
  nt_job_t *all = NULL, **tail = &all;
  for (size_t i = 0; i < q->lanes_num; i++) {
    lane_t *lane = &q->lanes[i];
    *tail = lane->head;
    if (lane->tail != NULL)
      tail = &lane->tail->next;
    *lane = (lane_t){.group = lane->group};
  }
  for (size_t i = 0; i < q->lanes_num; i++)
    q->group_in_flight[i] = 0;
  for (nt_job_t *j = all; j != NULL; j = j->next)
    j->prev = NULL;
  for (size_t i = 0; i < q->tasks_num; i++)
    q->lengths[i] = 0;
  q->waiting = q->in_flight = 0;
  return all;
}

void nt_queue_each(nt_queue_t *q, void (*visit)(nt_job_t *job, void *arg),
                   void *arg) {
  for (size_t i = 0; i < q->lanes_num; i++)
    for (nt_job_t *j = q->lanes[i].head; j != NULL; j = j->next)
      visit(j, arg);
}

size_t nt_queue_waiting(const nt_queue_t *q) { return q->waiting; }

size_t nt_queue_in_flight(const nt_queue_t *q) { return q->in_flight; }

size_t nt_queue_limit(const nt_queue_t *q) { return q->limit; }

size_t nt_queue_length_for(const nt_queue_t *q, size_t task_index) {
  return task_index < q->tasks_num ? q->lengths[task_index] : 0;
}
