/* SPDX-License-Identifier: MIT
 *
 * The one seam with the network: POSTs to Tasks' URLs, many at once on one
 * libcurl multi handle, and what happened to each. Used only by the
 * sender's thread (but for nt_http_wakeup). */
#ifndef NT_HTTP_H
#define NT_HTTP_H

#include "config.h"
#include "outcome.h"

typedef struct nt_http_s nt_http_t;

/* Room for posts_max POSTs (jobs) and, besides, gets_max GETs (follows)
 * at once. */
nt_http_t *nt_http_create(const nt_config_t *cfg, size_t posts_max,
                          size_t gets_max);
/* Ends whatever is under way, unreported. */
void nt_http_free(nt_http_t *h);

/* Starts sending body to task's request URL; owner comes back with the
 * result from nt_http_next_done. Returns -1 when it cannot start (no room,
 * out of memory): nothing was written.
 *
 * Each POST is written at most once: libcurl would resend it on a fresh
 * connection by itself when a reused one dies without an answer; no new
 * connection is opened then, and the exchange ends as an empty reply
 * (CURLE_GOT_NOTHING, "maybe delivered"), to be retried as one. */
int nt_http_start(nt_http_t *h, const nt_task_t *task, const char *body,
                  size_t body_len, void *owner);

/* Starts a GET of url (a followed job's result route: it holds the job's
 * secret, never logged) with the Task's headers and connect timeout, cut
 * after timeout_ms; as nt_http_start otherwise (-1 also past gets_max).
 * Its result's job is read from the whole answer, however long. */
int nt_http_get(nt_http_t *h, const nt_task_t *task, const char *url,
                long timeout_ms, void *owner);

/* Moves every transfer along, waiting up to timeout_ms for the network,
 * for nt_http_wakeup, or not at all when an exchange has ended. */
void nt_http_run(nt_http_t *h, int timeout_ms);

/* One exchange that ended: returns its owner and fills *r (r->body stays
 * valid until the next call into this file), or NULL when none is left. */
void *nt_http_next_done(nt_http_t *h, nt_http_result_t *r);

/* Cuts owner's exchange short, as nt_http_abort does. */
void nt_http_cancel(nt_http_t *h, void *owner);

/* Cuts every transfer under way short (CURLE_ABORTED_BY_CALLBACK), or only
 * the GETs (follows, at shutdown): their ends are then read with
 * nt_http_next_done. */
void nt_http_abort(nt_http_t *h, bool gets_only);

/* Exchanges under way. */
size_t nt_http_running(const nt_http_t *h);

/* Interrupts nt_http_run. Safe from any thread. */
void nt_http_wakeup(nt_http_t *h);

#endif
