/* SPDX-License-Identifier: MIT
 *
 * The plugin's own notifications on their way to collectd: a bounded list
 * drained by a thread of their own. Handing one to collectd runs every
 * notification plugin in turn (an email plugin may wait on its server):
 * never in collectd's threads, and never in the sender's, whose deliveries
 * must not wait for it. */
#ifndef NT_NOTIFIER_H
#define NT_NOTIFIER_H

#include <pthread.h>

#include "events.h"

typedef int (*nt_thread_create_t)(pthread_t *thread, void *(*run)(void *),
                                  void *arg, const char *name);

/* Hands one event to collectd (the glue's part); in the notifier's thread,
 * with no lock held. */
typedef void (*nt_deliver_t)(const nt_event_t *e, void *arg);

typedef struct nt_notifier_s nt_notifier_t;

/* NULL when out of memory. */
nt_notifier_t *nt_notifier_create(nt_deliver_t deliver, void *arg);
int nt_notifier_start(nt_notifier_t *nf, nt_thread_create_t create);
/* Takes e, from any thread. Dropped once stopping, or past a bound (with
 * one WARNING per run of drops). */
void nt_notifier_post(nt_notifier_t *nf, nt_event_t *e);
/* Delivers nothing more (the notification plugins may be shut down
 * already): what waits is dropped, what comes is refused. */
void nt_notifier_halt(nt_notifier_t *nf);
/* After halt: waits for the thread until the monotonic deadline. 0, or -1
 * when it is still inside a notification plugin, and the notifier must not
 * be freed. */
int nt_notifier_join(nt_notifier_t *nf, double deadline);
/* NULL is harmless. */
void nt_notifier_free(nt_notifier_t *nf);

#endif
