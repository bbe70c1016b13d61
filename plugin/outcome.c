#include "outcome.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

static nt_outcome_t classify_status(const nt_http_result_t *r,
                                    nt_job_info_t *job) {
  long s = r->status;
  if (s >= 200 && s < 300) {
    nt_job_info_t info;
    nt_json_parse_job(r->body ? r->body : "", r->body_len, &info);
    if (job != NULL)
      *job = info;
    if (!info.is_job)
      return NT_SENT_NO_JOB;
    return info.rejected ? NT_REJECTED : NT_SENT;
  }
  if (s >= 300 && s < 400)
    return NT_PERMANENT;
  if (s == 408)
    return NT_MAYBE_DELIVERED;
  if (s == 429 || s == 502 || s == 503)
    return NT_NOT_DELIVERED;
  if (s >= 400 && s < 500)
    return NT_PERMANENT;
  if (s >= 500 && s < 600)
    return NT_MAYBE_DELIVERED;
  return r->writes > 0 ? NT_MAYBE_DELIVERED : NT_NOT_DELIVERED;
}

nt_outcome_t nt_outcome_classify(const nt_http_result_t *r,
                                 nt_job_info_t *job) {
  CURLcode code = (CURLcode)r->curl_code;
  /* A 2xx status line came back before the failure: the job exists. */
  if (code == CURLE_OK || (r->status >= 200 && r->status < 300))
    return classify_status(r, job);
  if (code == CURLE_ABORTED_BY_CALLBACK)
    return NT_ABORTED;
  /* The proxy answered the CONNECT but opened no tunnel: the POST cannot
   * have gone through it. Only an earlier write of this exchange (on a
   * reused tunnel that died) may have reached the supervisor. */
  if (r->connect_status != 0 && r->connect_status / 100 != 2) {
    if (r->connect_status == 407)
      return NT_PERMANENT;
    return r->writes > 0 ? NT_MAYBE_DELIVERED : NT_NOT_DELIVERED;
  }
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
    /* After a write on a reused connection that died, libcurl's resend
     * could not connect: the first write may have been processed. */
    return r->writes > 0 ? NT_MAYBE_DELIVERED : NT_NOT_DELIVERED;
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_CRL_BADFILE:
    return NT_PERMANENT;
  case CURLE_GOT_NOTHING:
    return NT_MAYBE_DELIVERED; /* an empty reply: the request went out */
  default:
    /* Timeouts, resets and the rest: it depends on whether any byte of the
     * request reached the server. */
    return r->writes > 0 ? NT_MAYBE_DELIVERED : NT_NOT_DELIVERED;
  }
}

const char *nt_outcome_name(nt_outcome_t o) {
  switch (o) {
  case NT_SENT:
    return "sent";
  case NT_SENT_NO_JOB:
    return "sent without a job in the answer";
  case NT_REJECTED:
    return "rejected";
  case NT_PERMANENT:
    return "refused";
  case NT_NOT_DELIVERED:
    return "not delivered";
  case NT_MAYBE_DELIVERED:
    return "maybe delivered";
  case NT_ABORTED:
    return "aborted";
  }
  return "unknown";
}

unsigned nt_outcome_attempts(nt_outcome_t o, const nt_http_result_t *r) {
  /* Only an answer proves the last write was not processed; a failure to
   * connect proves nothing about the writes before it. */
  if (o == NT_NOT_DELIVERED && r->status > 0)
    return r->writes > 0 ? r->writes - 1 : 0;
  if (o == NT_MAYBE_DELIVERED && r->writes == 0)
    return 1; /* an empty reply was counted as written: be safe */
  return r->writes;
}

double nt_backoff_nominal(double interval, double max_interval,
                          unsigned tries) {
  double wait = interval;
  for (unsigned i = 1; i < tries && wait < max_interval; i++)
    wait *= 2;
  return wait < max_interval ? wait : max_interval;
}

double nt_backoff_jitter(double nominal, double u) {
  return nominal / 2 + u * (nominal / 2);
}

double nt_retry_after_parse(const char *value, time_t now) {
  while (isspace((unsigned char)*value))
    value++;
  if (*value == '\0')
    return -1;
  if (isdigit((unsigned char)*value)) {
    char *end;
    double seconds = strtod(value, &end);
    while (isspace((unsigned char)*end))
      end++;
    /* delay-seconds is a whole number; anything else is not this form. */
    if (*end == '\0' && strchr(value, '.') == NULL &&
        strpbrk(value, "eExX") == NULL)
      return seconds;
  }
  time_t when = curl_getdate(value, NULL);
  if (when == (time_t)-1)
    return -1;
  return when > now ? (double)(when - now) : 0;
}

double nt_retry_after_header(const char *line, size_t len, time_t now) {
  static const char name[] = "retry-after:";
  if (len < sizeof(name) - 1 || strncasecmp(line, name, sizeof(name) - 1))
    return NT_NOT_RETRY_AFTER;
  char value[128];
  size_t vlen = len - (sizeof(name) - 1);
  if (vlen >= sizeof(value))
    return -1; /* no valid delay-seconds or HTTP date is that long */
  memcpy(value, line + sizeof(name) - 1, vlen);
  value[vlen] = '\0';
  while (vlen > 0 && isspace((unsigned char)value[vlen - 1]))
    value[--vlen] = '\0';
  return nt_retry_after_parse(value, now);
}
