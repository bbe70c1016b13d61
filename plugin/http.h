/* The one seam with the network: POST a body to a Task's URL and report
 * what happened. Used only by the sender thread. */
#ifndef NT_HTTP_H
#define NT_HTTP_H

#include "config.h"
#include "outcome.h"

typedef struct nt_http_s nt_http_t;

nt_http_t *nt_http_create(const nt_config_t *cfg);
void nt_http_free(nt_http_t *h);

/* Sends body to task's request URL. The transfer is cut short, with
 * CURLE_ABORTED_BY_CALLBACK, once the monotonic time passes *abort_at
 * (read atomically: another thread may bring it forward). r->body stays
 * valid until the next call.
 *
 * The POST is written at most once: libcurl would resend it on a fresh
 * connection by itself when a reused one dies without an answer; no new
 * connection is opened then, and the exchange ends as an empty reply
 * (CURLE_GOT_NOTHING, "maybe delivered"), to be retried as one. */
void nt_http_post(nt_http_t *h, const nt_task_t *task, const char *body,
                  size_t body_len, const double *abort_at, nt_http_result_t *r);

/* Interrupts a wait inside nt_http_post so it re-reads *abort_at. Safe
 * from any thread. */
void nt_http_wakeup(nt_http_t *h);

#endif
