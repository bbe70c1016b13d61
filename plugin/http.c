#include "http.h"
#include "clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Enough for any job or error message; the rest of a huge answer is read
 * and thrown away. */
#define MAX_BODY (64 * 1024)
/* How often a waiting transfer checks for an abort, at most. */
#define POLL_MS 100

struct nt_http_s {
  CURLM *multi; /* owns the connection cache: keep-alive across jobs */
  CURL *easy;
  nt_http_result_t *result; /* of the transfer under way */
  char body[MAX_BODY + 1];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg) {
  nt_http_t *h = arg;
  nt_http_result_t *r = h->result;
  size_t len = size * nmemb;
  size_t room = MAX_BODY - r->body_len;
  size_t take = len < room ? len : room;
  memcpy(h->body + r->body_len, data, take);
  r->body_len += take;
  h->body[r->body_len] = '\0';
  return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg) {
  nt_http_t *h = arg;
  size_t len = size * nmemb;
  /* A new status line starts a new answer (after a 100 Continue, say). */
  if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
    h->result->retry_after = -1;
  double retry_after = nt_retry_after_header(data, len, time(NULL));
  if (retry_after != NT_NOT_RETRY_AFTER)
    h->result->retry_after = retry_after;
  return len;
}

/* Counts what was really written: libcurl may resend a request on a fresh
 * connection by itself, and the supervisor may have seen both. */
static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size,
                    void *arg) {
  (void)easy, (void)data, (void)size;
  nt_http_t *h = arg;
  if (type == CURLINFO_HEADER_OUT)
    h->result->writes++;
  return 0;
}

static int set_options(nt_http_t *h, const nt_config_t *cfg) {
  CURL *e = h->easy;
  int bad = 0;
#define SET(opt, val) bad |= curl_easy_setopt(e, opt, val) != CURLE_OK
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_POST, 1L);
  SET(CURLOPT_USERAGENT, "collectd-notify_theeye/" NT_VERSION);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, h);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, h);
  SET(CURLOPT_DEBUGFUNCTION, on_debug);
  SET(CURLOPT_DEBUGDATA, h);
  SET(CURLOPT_VERBOSE, 1L); /* feeds on_debug, prints nothing */
  SET(CURLOPT_SSL_VERIFYPEER, cfg->verify_peer ? 1L : 0L);
  SET(CURLOPT_SSL_VERIFYHOST, cfg->verify_host ? 2L : 0L);
  if (cfg->cacert)
    SET(CURLOPT_CAINFO, cfg->cacert);
  if (cfg->capath)
    SET(CURLOPT_CAPATH, cfg->capath);
  if (cfg->client_cert)
    SET(CURLOPT_SSLCERT, cfg->client_cert);
  if (cfg->client_key)
    SET(CURLOPT_SSLKEY, cfg->client_key);
  if (cfg->client_key_pass)
    SET(CURLOPT_KEYPASSWD, cfg->client_key_pass);
  if (cfg->proxy)
    SET(CURLOPT_PROXY, cfg->proxy);
#undef SET
  return bad ? -1 : 0;
}

nt_http_t *nt_http_create(const nt_config_t *cfg) {
  nt_http_t *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return NULL;
  h->multi = curl_multi_init();
  h->easy = curl_easy_init();
  if (h->multi == NULL || h->easy == NULL || set_options(h, cfg) != 0 ||
      curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
                        (long)cfg->lanes_num + 1) != CURLM_OK) {
    nt_http_free(h);
    return NULL;
  }
  return h;
}

void nt_http_free(nt_http_t *h) {
  if (h == NULL)
    return;
  if (h->easy)
    curl_easy_cleanup(h->easy);
  if (h->multi)
    curl_multi_cleanup(h->multi);
  free(h);
}

void nt_http_wakeup(nt_http_t *h) { curl_multi_wakeup(h->multi); }

static bool past(const double *abort_at) {
  double at;
  __atomic_load(abort_at, &at, __ATOMIC_ACQUIRE);
  return nt_now() >= at;
}

void nt_http_post(nt_http_t *h, const nt_task_t *task, const char *body,
                  size_t body_len, const double *abort_at,
                  nt_http_result_t *r) {
  *r = (nt_http_result_t){.retry_after = -1, .body = h->body};
  h->body[0] = '\0';
  h->result = r;
  CURL *e = h->easy;
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error);
  curl_easy_setopt(e, CURLOPT_URL, task->request_url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, task->headers);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, task->eff.timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, task->eff.connect_timeout_ms);

  CURLMcode mc = curl_multi_add_handle(h->multi, e);
  if (mc != CURLM_OK) {
    r->curl_code = CURLE_OUT_OF_MEMORY;
    snprintf(r->error, sizeof(r->error), "%s", curl_multi_strerror(mc));
    return;
  }
  int running = 1;
  r->curl_code = CURLE_OK;
  while (running) {
    if (curl_multi_perform(h->multi, &running) != CURLM_OK)
      break;
    if (!running)
      break;
    if (past(abort_at)) {
      r->curl_code = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    curl_multi_poll(h->multi, NULL, 0, POLL_MS, NULL);
  }
  int left;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(h->multi, &left)) != NULL)
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == e &&
        r->curl_code == CURLE_OK)
      r->curl_code = msg->data.result;
  if (r->curl_code == CURLE_OK)
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
  curl_multi_remove_handle(h->multi, e);
  if (r->error[0] == '\0' && r->curl_code != CURLE_OK)
    snprintf(r->error, sizeof(r->error), "%s",
             curl_easy_strerror((CURLcode)r->curl_code));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
  h->result = NULL;
}
