#include "queue.h"

#include <stdlib.h>

typedef struct {
  nt_job_t *head, *tail;
  double not_before; /* the head waits for its retry until then */
  bool busy;         /* the head is in flight */
} lane_t;

struct nt_queue_s {
  size_t limit;
  size_t waiting; /* jobs not in flight */
  lane_t *lanes;
  size_t lanes_num;
};

nt_queue_t *nt_queue_create(size_t limit, size_t lanes_num) {
  nt_queue_t *q = calloc(1, sizeof(*q));
  if (q == NULL)
    return NULL;
  q->lanes = calloc(lanes_num ? lanes_num : 1, sizeof(*q->lanes));
  if (q->lanes == NULL) {
    free(q);
    return NULL;
  }
  q->limit = limit;
  q->lanes_num = lanes_num;
  return q;
}

static void free_list(nt_job_t *job) {
  while (job != NULL) {
    nt_job_t *next = job->next;
    free(job);
    job = next;
  }
}

void nt_queue_free(nt_queue_t *q) {
  if (q == NULL)
    return;
  free_list(nt_queue_drain(q));
  free(q->lanes);
  free(q);
}

/* Unlinks job, whose predecessor in its lane is prev (NULL for the head). */
static void unlink_job(nt_queue_t *q, lane_t *lane, nt_job_t *prev,
                       nt_job_t *job) {
  /* A lane keeps waiting when its head is dropped or expires: the
   * supervisor is still presumed unavailable until then. */
  if (prev == NULL) {
    lane->head = job->next;
  } else {
    prev->next = job->next;
  }
  if (lane->tail == job)
    lane->tail = prev;
  if (!job->in_flight)
    q->waiting--;
  job->next = NULL;
}

nt_job_t *nt_queue_push(nt_queue_t *q, nt_job_t *job) {
  lane_t *lane = &q->lanes[job->lane];
  job->next = NULL;
  job->in_flight = false;
  if (lane->tail == NULL) {
    lane->head = lane->tail = job;
  } else if (lane->tail->seq < job->seq) {
    lane->tail->next = job;
    lane->tail = job;
  } else {
    nt_job_t **p = &lane->head;
    if ((*p)->in_flight)
      p = &(*p)->next;
    while (*p != NULL && (*p)->seq < job->seq)
      p = &(*p)->next;
    job->next = *p;
    *p = job;
    if (job->next == NULL)
      lane->tail = job;
  }
  q->waiting++;
  if (q->waiting <= q->limit)
    return NULL;

  /* The oldest waiting job is the first not in flight of some lane. */
  lane_t *oldest_lane = NULL;
  nt_job_t *oldest = NULL, *oldest_prev = NULL;
  for (size_t i = 0; i < q->lanes_num; i++) {
    nt_job_t *prev = NULL, *j = q->lanes[i].head;
    if (j != NULL && j->in_flight) {
      prev = j;
      j = j->next;
    }
    if (j != NULL && (oldest == NULL || j->seq < oldest->seq)) {
      oldest_lane = &q->lanes[i];
      oldest = j;
      oldest_prev = prev;
    }
  }
  unlink_job(q, oldest_lane, oldest_prev, oldest);
  return oldest;
}

nt_job_t *nt_queue_take(nt_queue_t *q, double now, double *next_due) {
  lane_t *best = NULL;
  *next_due = 1e300;
  for (size_t i = 0; i < q->lanes_num; i++) {
    lane_t *lane = &q->lanes[i];
    if (lane->head == NULL || lane->busy)
      continue;
    if (lane->not_before > now) {
      if (lane->not_before < *next_due)
        *next_due = lane->not_before;
      continue;
    }
    if (best == NULL || lane->head->seq < best->head->seq)
      best = lane;
  }
  if (best == NULL)
    return NULL;
  best->busy = true;
  best->head->in_flight = true;
  q->waiting--;
  return best->head;
}

void nt_queue_retry(nt_queue_t *q, nt_job_t *job, double not_before) {
  lane_t *lane = &q->lanes[job->lane];
  job->in_flight = false;
  lane->busy = false;
  lane->not_before = not_before;
  q->waiting++;
}

void nt_queue_remove(nt_queue_t *q, nt_job_t *job) {
  lane_t *lane = &q->lanes[job->lane];
  unlink_job(q, lane, NULL, job);
  lane->busy = false;
  lane->not_before = 0;
}

nt_job_t *nt_queue_expire(nt_queue_t *q, double now) {
  nt_job_t *expired = NULL, **tail = &expired;
  for (size_t i = 0; i < q->lanes_num; i++) {
    lane_t *lane = &q->lanes[i];
    nt_job_t *prev = NULL, *j = lane->head;
    if (j != NULL && j->in_flight) {
      prev = j;
      j = j->next;
    }
    /* Deadlines rise along a lane (arrival order, one MaxAge): the first
     * job still in time ends the look, so a pass costs what expires. */
    while (j != NULL && j->deadline <= now) {
      nt_job_t *next = j->next;
      unlink_job(q, lane, prev, j);
      *tail = j;
      tail = &j->next;
      j = next;
    }
  }
  return expired;
}

nt_job_t *nt_queue_drain(nt_queue_t *q) {
  nt_job_t *all = NULL, **tail = &all;
  for (size_t i = 0; i < q->lanes_num; i++) {
    lane_t *lane = &q->lanes[i];
    *tail = lane->head;
    if (lane->tail != NULL)
      tail = &lane->tail->next;
    *lane = (lane_t){0};
  }
  q->waiting = 0;
  return all;
}

void nt_queue_each(nt_queue_t *q, void (*visit)(nt_job_t *job, void *arg),
                   void *arg) {
  for (size_t i = 0; i < q->lanes_num; i++)
    for (nt_job_t *j = q->lanes[i].head; j != NULL; j = j->next)
      visit(j, arg);
}

size_t nt_queue_waiting(const nt_queue_t *q) { return q->waiting; }

size_t nt_queue_limit(const nt_queue_t *q) { return q->limit; }

size_t nt_queue_length_for(const nt_queue_t *q, const struct nt_task_s *task) {
  size_t n = 0;
  for (size_t i = 0; i < q->lanes_num; i++)
    for (const nt_job_t *j = q->lanes[i].head; j != NULL; j = j->next)
      n += j->task == task;
  return n;
}
