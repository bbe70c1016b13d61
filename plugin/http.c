/* SPDX-License-Identifier: MIT */

#include "http.h"
#include "clock.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* libcurl calls back before it writes each request from 7.80 on; before,
 * a resend is stopped by refusing to rewind the body (on_seek). */
#define HAVE_PREREQ (LIBCURL_VERSION_NUM >= 0x075000)

/* The oldest libcurl this build runs with: the newest option it sets. */
#if LIBCURL_VERSION_NUM >= 0x075700
#define CURL_NEEDED 0x075700 /* CURLOPT_QUICK_EXIT */
#elif LIBCURL_VERSION_NUM >= 0x075500
#define CURL_NEEDED 0x075500 /* CURLOPT_PROTOCOLS_STR */
#elif HAVE_PREREQ
#define CURL_NEEDED 0x075000 /* CURLOPT_PREREQFUNCTION */
#else
#define CURL_NEEDED 0
#endif

#define USER_AGENT "User-Agent: collectd-notify_theeye/" NT_VERSION

/* Enough for any job or error message; the rest of a huge answer is read
 * and thrown away. */
#define MAX_BODY (64 * 1024)

/* One exchange's state; its easy handle (and the options set on it) is
 * kept for the next one. */
typedef struct xfer_s {
  struct xfer_s *next; /* in the free or the done list */
  CURL *easy;
  void *owner;
  nt_http_result_t result; /* of the exchange under way */
  bool refused;            /* a connection was refused: see on_open_socket */
  bool post_out;           /* the last request written was the POST */
  bool running;            /* in the multi handle */
  long answered;           /* status of the answer to the POST, 0: none */
  nt_job_scan_t *scan;     /* a GET's: its answer's job, as it arrives */
#if !HAVE_PREREQ
  const char *post; /* the request body, read by on_read */
  size_t post_len, post_off;
#endif
  char body[MAX_BODY + 1];
} xfer_t;

struct nt_http_s {
  const nt_config_t *cfg;
  CURLM *multi; /* owns the connection cache: keep-alive across jobs */
  /* libcurl's socket interface: the sockets it watches in an epoll set,
   * and when it wants to be called for its timeouts. Only the transfers
   * whose sockets are ready are moved along: a few hundred result
   * requests held by a supervisor cost nothing while they wait. */
  int epfd;
  int wakefd;      /* an eventfd in the set: nt_http_wakeup */
  double timer_at; /* monotonic; INFINITY: none */
  xfer_t **all;    /* every transfer made, for abort and free */
  size_t num, max;
  size_t gets, gets_max;            /* GETs running: never in a POST's place */
  xfer_t *free;                     /* ready for another exchange */
  struct curl_slist *proxy_headers; /* the User-Agent, for a proxy */
  xfer_t *done, **done_tail;        /* ended, not yet read */
  xfer_t *returned;                 /* read last: its body is still in use */
  size_t running;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg) {
  xfer_t *x = arg;
  nt_http_result_t *r = &x->result;
  size_t len = size * nmemb;
  if (x->scan != NULL)
    nt_job_scan_feed(x->scan, data, len);
  size_t room = MAX_BODY - r->body_len;
  size_t take = len < room ? len : room;
  memcpy(x->body + r->body_len, data, take);
  r->body_len += take;
  x->body[r->body_len] = '\0';
  return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg) {
  xfer_t *x = arg;
  size_t len = size * nmemb;
  /* A new status line starts a new answer (after a 100 Continue, say).
   * One that follows the POST (not a CONNECT, as on a reconnection
   * through a proxy) is the supervisor's: kept, should the transfer fail
   * after it. */
  if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    x->result.retry_after = -1;
    const char *sp = memchr(data, ' ', len);
    size_t at = sp != NULL ? (size_t)(sp - data) + 1 : len;
    if (x->post_out && at + 3 <= len && isdigit((unsigned char)data[at]) &&
        isdigit((unsigned char)data[at + 1]) &&
        isdigit((unsigned char)data[at + 2]))
      x->answered = (data[at] - '0') * 100 + (data[at + 1] - '0') * 10 +
                    (data[at + 2] - '0');
  }
  double retry_after = nt_retry_after_header(data, len, time(NULL));
  if (retry_after != NT_NOT_RETRY_AFTER)
    x->result.retry_after = retry_after;
  return len;
}

/* Once the POST went out in an exchange, any other request libcurl is
 * about to write is a resend: a kept-alive connection died without an
 * answer, and libcurl tries again on another (a new one, refused by
 * on_open_socket, or one more it keeps alive: refused here). So every
 * exchange is one attempt, as the spool wrote it down before. */
static bool refuse_resend(xfer_t *x) {
  /* A GET (a result) may be sent again: it runs nothing. */
  if (x->result.writes == 0 || x->result.get)
    return false;
  x->refused = true;
  return true;
}

#if HAVE_PREREQ
/* Counts the requests written: libcurl calls this once a connection is
 * ready (a proxy's tunnel built, TLS done), just before it writes the
 * POST, the only request that reaches the supervisor. */
static int on_prereq(void *arg, char *primary_ip, char *local_ip,
                     int primary_port, int local_port) {
  (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
  xfer_t *x = arg;
  if (refuse_resend(x))
    return CURL_PREREQFUNC_ABORT;
  x->result.writes++;
  x->post_out = true;
  return CURL_PREREQFUNC_OK;
}
#else
/* Counts what was really written: libcurl may resend a request on a fresh
 * connection by itself, and the supervisor may have seen both. Only the
 * start of the POST counts: a proxy's CONNECT is reported the same way but
 * never reaches the supervisor, and a request whose headers went out in
 * several pieces is still one request. */
static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size,
                    void *arg) {
  (void)easy;
  xfer_t *x = arg;
  static const char post[] = "POST ", connect[] = "CONNECT ";
  if (type != CURLINFO_HEADER_OUT)
    return 0;
  if (size >= sizeof(post) - 1 && memcmp(data, post, sizeof(post) - 1) == 0) {
    x->result.writes++;
    x->post_out = true;
  } else if (size >= sizeof(connect) - 1 &&
             memcmp(data, connect, sizeof(connect) - 1) == 0) {
    x->post_out = false;
  }
  return 0;
}

static size_t on_read(char *data, size_t size, size_t nitems, void *arg) {
  xfer_t *x = arg;
  size_t take = x->post_len - x->post_off;
  if (take > size * nitems)
    take = size * nitems;
  memcpy(data, x->post + x->post_off, take);
  x->post_off += take;
  return take;
}

/* libcurl rewinds the body before it writes the request again. */
static int on_seek(void *arg, curl_off_t offset, int origin) {
  xfer_t *x = arg;
  if (refuse_resend(x) || origin != SEEK_SET || offset < 0 ||
      (size_t)offset > x->post_len)
    return CURL_SEEKFUNC_FAIL;
  x->post_off = (size_t)offset;
  return CURL_SEEKFUNC_OK;
}
#endif

/* Every connection libcurl opens, to the supervisor or to a proxy. Once the
 * POST was written in this exchange, libcurl may only be about to resend it
 * (a reused connection died without an answer): refusing the connection
 * makes every request one attempt, as the spool wrote it down before, so
 * MaxAttempts is a hard bound. Reusing a kept-alive connection opens
 * nothing and is never refused. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose,
                                    struct curl_sockaddr *addr) {
  xfer_t *x = arg;
  if (purpose == CURLSOCKTYPE_IPCXN && refuse_resend(x))
    return CURL_SOCKET_BAD;
    /* Close-on-exec: collectd's exec plugin must not hand the connection to
     * the programs it starts. */
#ifdef SOCK_CLOEXEC
  return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
#else
  curl_socket_t fd = socket(addr->family, addr->socktype, addr->protocol);
  if (fd != CURL_SOCKET_BAD && fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    close(fd);
    return CURL_SOCKET_BAD;
  }
  return fd;
#endif
}

static int set_options(xfer_t *x, const nt_http_t *h) {
  const nt_config_t *cfg = h->cfg;
  CURL *e = x->easy;
  int bad = 0;
#define SET(opt, val) bad |= curl_easy_setopt(e, opt, val) != CURLE_OK
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_POST, 1L);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  /* The string form replaced the bit mask in 7.85, which deprecates the
   * latter (a warning, an error under -Werror). */
#if LIBCURL_VERSION_NUM >= 0x075500
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700
  /* An aborted transfer must not wait for a name lookup that hangs: the
   * shutdown bound holds during a DNS outage too. */
  SET(CURLOPT_QUICK_EXIT, 1L);
#endif
  /* A proxy or the supervisor may compress its answer: the job in it must
   * be read all the same (a rejected job is not "sent"). */
  SET(CURLOPT_ACCEPT_ENCODING, "");
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, x);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, x);
#if !HAVE_PREREQ
  SET(CURLOPT_DEBUGFUNCTION, on_debug);
  SET(CURLOPT_DEBUGDATA, x);
  SET(CURLOPT_VERBOSE, 1L); /* feeds on_debug, prints nothing */
#endif
  SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  SET(CURLOPT_OPENSOCKETDATA, x);
  SET(CURLOPT_PRIVATE, x);
#if HAVE_PREREQ
  SET(CURLOPT_PREREQFUNCTION, on_prereq);
  SET(CURLOPT_PREREQDATA, x);
#else
  SET(CURLOPT_READFUNCTION, on_read);
  SET(CURLOPT_READDATA, x);
  SET(CURLOPT_SEEKFUNCTION, on_seek);
  SET(CURLOPT_SEEKDATA, x);
#endif
  SET(CURLOPT_ERRORBUFFER, x->result.error);
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
  /* The supervisor's User-Agent is a line of the Task's headers; a proxy
   * sees these instead. */
  SET(CURLOPT_PROXYHEADER, h->proxy_headers);
#undef SET
  return bad ? -1 : 0;
}

/* libcurl says what to watch a socket for. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *arg,
                     void *socket_arg) {
  (void)easy, (void)socket_arg;
  nt_http_t *h = arg;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL);
    return 0;
  }
  struct epoll_event ev = {.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) |
                                     (what & CURL_POLL_OUT ? EPOLLOUT : 0u),
                           .data.fd = fd};
  /* Should both fail (out of memory), the socket is not watched and its
   * transfer ends at its timeout: an error here would stop the multi
   * handle for every transfer. */
  if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
    epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

/* libcurl says when it wants to be called for its timeouts. */
static int on_timer(CURLM *multi, long timeout_ms, void *arg) {
  (void)multi;
  nt_http_t *h = arg;
  h->timer_at = timeout_ms < 0 ? INFINITY : nt_now() + timeout_ms / 1000.0;
  return 0;
}

nt_http_t *nt_http_create(const nt_config_t *cfg, size_t posts_max,
                          size_t gets_max) {
  size_t transfers_max = posts_max + gets_max;
  /* Built against a newer libcurl than the one loaded, every request
   * would fail to set up: say so once, at init. */
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  if (v->version_num < CURL_NEEDED) {
    NT_ERROR("libcurl %s is older than the libcurl %s this plugin was "
             "built with: rebuild the plugin against the installed one",
             v->version, LIBCURL_VERSION);
    return NULL;
  }
  nt_http_t *h = calloc(1, sizeof(*h));
  if (h == NULL)
    goto oom;
  h->cfg = cfg;
  h->max = transfers_max;
  h->gets_max = gets_max;
  h->done_tail = &h->done;
  h->timer_at = INFINITY;
  h->epfd = epoll_create1(EPOLL_CLOEXEC);
  h->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct epoll_event wake = {.events = EPOLLIN, .data.fd = h->wakefd};
  if (h->epfd < 0 || h->wakefd < 0 ||
      epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wakefd, &wake) != 0) {
    NT_ERROR("cannot set up the sender: %s", strerror(errno));
    nt_http_free(h);
    return NULL;
  }
  h->all = calloc(transfers_max, sizeof(*h->all));
  h->multi = curl_multi_init();
  h->proxy_headers = curl_slist_append(NULL, USER_AGENT);
  if (h->all == NULL || h->multi == NULL || h->proxy_headers == NULL ||
      curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
                        (long)transfers_max + 1) != CURLM_OK ||
      curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket) !=
          CURLM_OK ||
      curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
      curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer) !=
          CURLM_OK ||
      curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
    goto oom;
  return h;
oom:
  NT_ERROR("cannot set up the sender: out of memory");
  nt_http_free(h);
  return NULL;
}

void nt_http_free(nt_http_t *h) {
  if (h == NULL)
    return;
  for (size_t i = 0; i < h->num; i++) {
    if (h->all[i]->running)
      curl_multi_remove_handle(h->multi, h->all[i]->easy);
    curl_easy_cleanup(h->all[i]->easy);
    nt_job_scan_free(h->all[i]->scan);
    free(h->all[i]);
  }
  free(h->all);
  if (h->multi)
    curl_multi_cleanup(h->multi);
  curl_slist_free_all(h->proxy_headers);
  if (h->wakefd >= 0)
    close(h->wakefd);
  if (h->epfd >= 0)
    close(h->epfd);
  free(h);
}

void nt_http_wakeup(nt_http_t *h) {
  uint64_t one = 1;
  /* Full (it never is: the thread reads it) or not: it is readable. */
  ssize_t n = write(h->wakefd, &one, sizeof(one));
  (void)n;
}

size_t nt_http_running(const nt_http_t *h) { return h->running; }

/* The transfer read last is free again: its body is no longer in use. */
static void recycle(nt_http_t *h) {
  if (h->returned == NULL)
    return;
  /* A job's answer holds its own secret. */
  explicit_bzero(h->returned->body, h->returned->result.body_len);
  h->returned->next = h->free;
  h->free = h->returned;
  h->returned = NULL;
}

static xfer_t *new_xfer(nt_http_t *h) {
  if (h->num == h->max)
    return NULL;
  xfer_t *x = calloc(1, sizeof(*x));
  if (x == NULL)
    return NULL;
  x->easy = curl_easy_init();
  if (x->easy == NULL || set_options(x, h) != 0) {
    if (x->easy != NULL)
      curl_easy_cleanup(x->easy);
    free(x);
    return NULL;
  }
  h->all[h->num++] = x;
  return x;
}

/* A transfer ready for an exchange for owner, or NULL. */
static xfer_t *take_xfer(nt_http_t *h, void *owner, bool get) {
  recycle(h);
  xfer_t *x = h->free;
  if (x != NULL)
    h->free = x->next;
  else if ((x = new_xfer(h)) == NULL)
    return NULL;
  x->owner = owner;
  x->result =
      (nt_http_result_t){.retry_after = -1, .body = x->body, .get = get};
  x->body[0] = '\0';
  x->refused = x->post_out = false;
  x->answered = 0;
  x->scan = get ? nt_job_scan_new() : NULL; /* NULL: read from the body */
  return x;
}

static int run_xfer(nt_http_t *h, xfer_t *x) {
  if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
    nt_job_scan_free(x->scan);
    x->scan = NULL;
    x->next = h->free;
    h->free = x;
    return -1;
  }
  x->running = true;
  h->running++;
  return 0;
}

int nt_http_get(nt_http_t *h, const nt_task_t *task, const char *url,
                long timeout_ms, void *owner) {
  if (h->gets >= h->gets_max)
    return -1;
  xfer_t *x = take_xfer(h, owner, true);
  if (x == NULL)
    return -1;
  CURL *e = x->easy;
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, task->headers);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, task->eff.connect_timeout_ms);
  if (run_xfer(h, x) != 0)
    return -1;
  h->gets++;
  return 0;
}

int nt_http_start(nt_http_t *h, const nt_task_t *task, const char *body,
                  size_t body_len, void *owner) {
  xfer_t *x = take_xfer(h, owner, false);
  if (x == NULL)
    return -1;
  CURL *e = x->easy;
  curl_easy_setopt(e, CURLOPT_POST, 1L); /* after a GET on this handle */
  curl_easy_setopt(e, CURLOPT_URL, task->request_url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, task->headers);
#if HAVE_PREREQ
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
#else
  x->post = body;
  x->post_len = body_len;
  x->post_off = 0;
#endif
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, task->eff.timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, task->eff.connect_timeout_ms);
  return run_xfer(h, x);
}

/* The error text for what the exchange's end means, when libcurl's own
 * would mislead: a refused tunnel, or a resend refused for MaxAttempts. */
static void explain(xfer_t *x) {
  nt_http_result_t *r = &x->result;
  CURLcode code = (CURLcode)r->curl_code;
  if (code == CURLE_OK || (code == CURLE_ABORTED_BY_CALLBACK && !x->refused))
    return;
  long connect_status = 0;
  if (curl_easy_getinfo(x->easy, CURLINFO_HTTP_CONNECTCODE, &connect_status) ==
      CURLE_OK)
    r->connect_status = connect_status;
  if (x->refused) {
    /* What happened on the wire: the request went out and the connection
     * closed without an answer. */
    r->curl_code = CURLE_GOT_NOTHING;
    snprintf(r->error, sizeof(r->error),
             "the connection closed without an answer after the request "
             "was written; not sent again (MaxAttempts)");
  } else if (r->connect_status == 407) {
    snprintf(r->error, sizeof(r->error),
             "the proxy requires authentication (HTTP 407): check Proxy");
  } else if (r->connect_status != 0 && r->connect_status / 100 != 2) {
    snprintf(r->error, sizeof(r->error),
             "the proxy refused the tunnel: HTTP %ld", r->connect_status);
  } else if (r->writes > 0 && (code == CURLE_COULDNT_CONNECT ||
                               code == CURLE_COULDNT_RESOLVE_HOST ||
                               code == CURLE_COULDNT_RESOLVE_PROXY)) {
    /* libcurl's text would only tell of the resend's failure. */
    char why[CURL_ERROR_SIZE]; /* all libcurl ever writes there */
    if (r->error[0] != '\0')
      memcpy(why, r->error, sizeof(why));
    else
      snprintf(why, sizeof(why), "%s", curl_easy_strerror(code));
    why[sizeof(why) - 1] = '\0';
    snprintf(r->error, sizeof(r->error),
             "the connection closed without an answer after the request "
             "was written; reconnecting failed: %s",
             why);
  }
}

/* The exchange is over (code says how): its result is completed and it
 * joins the done list. */
static void end_xfer(nt_http_t *h, xfer_t *x, CURLcode code) {
  nt_http_result_t *r = &x->result;
  r->curl_code = code;
  if (r->get)
    h->gets--;
  if (x->scan != NULL) {
    nt_job_scan_result(x->scan, &r->job);
    nt_job_scan_free(x->scan);
    x->scan = NULL;
  } else if (r->get) {
    nt_json_parse_job(r->body, r->body_len, &r->job);
  }
  explicit_bzero(r->job.secret, sizeof(r->job.secret)); /* not needed */
  if (code == CURLE_OK)
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
  else if (x->answered >= 200 && x->answered < 300)
    /* The supervisor created the job; only the rest of its answer was
     * lost (a body that does not decode, a timeout, a reset, shutdown):
     * sending it again would run the remediation twice. */
    r->status = x->answered;
  curl_multi_remove_handle(h->multi, x->easy);
  x->running = false;
  h->running--;
  explain(x);
  if (r->error[0] == '\0' && code != CURLE_OK)
    snprintf(r->error, sizeof(r->error), "%s",
             code == CURLE_ABORTED_BY_CALLBACK ? "shutting down"
                                               : curl_easy_strerror(code));
  x->next = NULL;
  *h->done_tail = x;
  h->done_tail = &x->next;
}

static void collect(nt_http_t *h) {
  int left;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    xfer_t *x = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    if (x != NULL && x->running)
      end_xfer(h, x, msg->data.result);
  }
}

/* libcurl's timeouts that are due (a transfer just added is one). */
static void run_timer(nt_http_t *h) {
  if (nt_now() < h->timer_at)
    return;
  h->timer_at = INFINITY; /* libcurl sets the next one */
  int still;
  curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &still);
}

void nt_http_run(nt_http_t *h, int timeout_ms) {
  recycle(h);
  run_timer(h);
  collect(h);
  if (h->done != NULL)
    return;
  double now = nt_now();
  if (h->timer_at - now < timeout_ms / 1000.0)
    timeout_ms = (int)ceil((h->timer_at - now) * 1000);
  struct epoll_event ev[64];
  int n = epoll_wait(h->epfd, ev, 64, timeout_ms > 0 ? timeout_ms : 0);
  for (int i = 0; i < n; i++) {
    if (ev[i].data.fd == h->wakefd) {
      uint64_t count;
      ssize_t got = read(h->wakefd, &count, sizeof(count));
      (void)got;
      continue;
    }
    int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
    int still;
    curl_multi_socket_action(h->multi, ev[i].data.fd, flags, &still);
  }
  run_timer(h);
  collect(h);
}

void *nt_http_next_done(nt_http_t *h, nt_http_result_t *r) {
  recycle(h);
  xfer_t *x = h->done;
  if (x == NULL)
    return NULL;
  h->done = x->next;
  if (h->done == NULL)
    h->done_tail = &h->done;
  *r = x->result;
  h->returned = x;
  return x->owner;
}

void nt_http_cancel(nt_http_t *h, void *owner) {
  for (size_t i = 0; i < h->num; i++)
    if (h->all[i]->running && h->all[i]->owner == owner)
      end_xfer(h, h->all[i], CURLE_ABORTED_BY_CALLBACK);
}

void nt_http_abort(nt_http_t *h, bool gets_only) {
  for (size_t i = 0; i < h->num; i++)
    if (h->all[i]->running && (!gets_only || h->all[i]->result.get))
      end_xfer(h, h->all[i], CURLE_ABORTED_BY_CALLBACK);
}
