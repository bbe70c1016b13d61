/* SPDX-License-Identifier: MIT
 *
 * The JSON of the wire: the job request body, and what the supervisor
 * answers (a job, or an error message). */
#ifndef NT_JSON_H
#define NT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Appends s with every invalid UTF-8 sequence replaced by U+FFFD (the
 * maximal-subpart rule of Unicode §3.9). */
int nt_utf8_sanitize(const char *s, size_t len, nt_buf_t *out);

/* {"task":"<task_id>","task_arguments":["...",...]}; args[i] holds lens[i]
 * bytes of any content. Appends the body to out; returns 0, or -1 when out
 * of memory. */
int nt_json_body_append(nt_buf_t *out, const char *task_id,
                        const char *const *args, const size_t *lens,
                        size_t args_num);
/* The same as a malloc'ed, NUL-terminated body, or NULL. */
char *nt_json_body(const char *task_id, const char *const *args,
                   const size_t *lens, size_t args_num, size_t *body_len);

typedef struct {
  bool is_job;   /* an object with a string "id" */
  bool rejected; /* lifecycle "terminated" or state "error" */
  char id[64];   /* the job id, cut to fit */
  char lifecycle[32];
  char state[32];
  /* The job's own secret (64 hexadecimal digits), the credential of its
   * result route: never logged; "" when the answer has none. */
  char secret[65];
} nt_job_info_t;

/* Parses a 2xx body. Never fails: a body without a job gives is_job false. */
void nt_json_parse_job(const char *body, size_t len, nt_job_info_t *info);

/* A job answer read as it arrives, however long (a result with its
 * output): only the top-level object's id, state and lifecycle are kept.
 * The result says is_job when an id was seen and the answer is JSON. */
typedef struct nt_job_scan_s nt_job_scan_t;
nt_job_scan_t *nt_job_scan_new(void);
void nt_job_scan_feed(nt_job_scan_t *sc, const char *data, size_t len);
void nt_job_scan_result(nt_job_scan_t *sc, nt_job_info_t *info);
void nt_job_scan_free(nt_job_scan_t *sc);

/* The message of an error body (a JSON string, or an object's "message"),
 * else the body itself; made printable (control bytes and non-ASCII become
 * '?'), cut to fit in size with "...". */
void nt_json_error_message(const char *body, size_t len, char *msg,
                           size_t size);

#endif
