/* SPDX-License-Identifier: MIT */

#include "notifier.h"
#include "clock.h"
#include "log.h"

#include <stdbool.h>
#include <stdlib.h>

/* Events waiting for the thread, at most: they come one per window of a
 * guard, never one per notification. */
#define EVENTS_MAX 1000

struct nt_notifier_s {
  nt_deliver_t deliver;
  void *arg;
  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t wake;  /* an event, or stopping */
  pthread_cond_t done;  /* the thread has exited */
  nt_event_t *head, **tail;
  size_t num;
  bool full; /* one was dropped since the thread last took them */
  bool started, running, stopping;
  pthread_t thread;
};

nt_notifier_t *nt_notifier_create(nt_deliver_t deliver, void *arg) {
  nt_notifier_t *nf = calloc(1, sizeof(*nf));
  if (nf == NULL)
    return NULL;
  if (nt_cond_init(&nf->done) != 0) {
    free(nf);
    return NULL;
  }
  if (pthread_cond_init(&nf->wake, NULL) != 0) {
    pthread_cond_destroy(&nf->done);
    free(nf);
    return NULL;
  }
  pthread_mutex_init(&nf->lock, NULL);
  nf->deliver = deliver;
  nf->arg = arg;
  nf->tail = &nf->head;
  return nf;
}

static void free_events(nt_event_t *e) {
  while (e != NULL) {
    nt_event_t *next = e->next;
    free(e);
    e = next;
  }
}

static void *notifier_main(void *arg) {
  nt_notifier_t *nf = arg;
  pthread_mutex_lock(&nf->lock);
  while (!nf->stopping) {
    if (nf->head == NULL) {
      pthread_cond_wait(&nf->wake, &nf->lock);
      continue;
    }
    nt_event_t *e = nf->head;
    nf->head = NULL;
    nf->tail = &nf->head;
    nf->num = 0;
    nf->full = false;
    pthread_mutex_unlock(&nf->lock);
    /* Halted meanwhile: the rest is not delivered either. */
    for (nt_event_t *i = e;
         i != NULL && !__atomic_load_n(&nf->stopping, __ATOMIC_ACQUIRE);
         i = i->next)
      nf->deliver(i, nf->arg);
    free_events(e);
    pthread_mutex_lock(&nf->lock);
  }
  nf->running = false;
  pthread_cond_broadcast(&nf->done);
  pthread_mutex_unlock(&nf->lock);
  return NULL;
}

int nt_notifier_start(nt_notifier_t *nf, nt_thread_create_t create) {
  pthread_mutex_lock(&nf->lock);
  nf->running = true;
  int status = create(&nf->thread, notifier_main, nf, "notify_theeye");
  nf->running = status == 0;
  nf->started = status == 0;
  pthread_mutex_unlock(&nf->lock);
  return status == 0 ? 0 : -1;
}

void nt_notifier_post(nt_notifier_t *nf, nt_event_t *e) {
  e->next = NULL;
  pthread_mutex_lock(&nf->lock);
  bool take = !nf->stopping && nf->num < EVENTS_MAX;
  bool first_drop = !nf->stopping && !take && !nf->full;
  if (take) {
    *nf->tail = e;
    nf->tail = &e->next;
    nf->num++;
    pthread_cond_signal(&nf->wake);
  }
  nf->full |= first_drop;
  pthread_mutex_unlock(&nf->lock);
  if (first_drop)
    NT_WARNING("Task \"%s\": %s not dispatched: more than %d of the "
               "plugin's own notifications wait for its thread",
               e->task, e->name, EVENTS_MAX);
  if (!take)
    free(e);
}

void nt_notifier_halt(nt_notifier_t *nf) {
  pthread_mutex_lock(&nf->lock);
  __atomic_store_n(&nf->stopping, true, __ATOMIC_RELEASE);
  nt_event_t *left = nf->head;
  nf->head = NULL;
  nf->tail = &nf->head;
  nf->num = 0;
  pthread_cond_signal(&nf->wake);
  pthread_mutex_unlock(&nf->lock);
  free_events(left);
}

int nt_notifier_join(nt_notifier_t *nf, double deadline) {
  pthread_mutex_lock(&nf->lock);
  while (nf->running && nt_now() < deadline)
    nt_cond_wait_until(&nf->done, &nf->lock, deadline);
  bool exited = !nf->running;
  bool started = nf->started;
  nf->started = false;
  pthread_mutex_unlock(&nf->lock);
  if (started && exited)
    pthread_join(nf->thread, NULL);
  else if (started)
    pthread_detach(nf->thread);
  return exited ? 0 : -1;
}

void nt_notifier_free(nt_notifier_t *nf) {
  if (nf == NULL)
    return;
  free_events(nf->head);
  pthread_cond_destroy(&nf->wake);
  pthread_cond_destroy(&nf->done);
  pthread_mutex_destroy(&nf->lock);
  free(nf);
}
