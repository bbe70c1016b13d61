/* SPDX-License-Identifier: MIT
 *
 * Unit tests of plugin/config.c: the <Plugin notify_theeye> block, its
 * defaults, the Task overrides, the routes and every configuration
 * mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/config.h"
#include "fake_collectd.h"
#include "unit_helpers.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID "5f0c1a2b3c4d5e6f7a8b9c0d"
#define SECRET                                                                 \
  "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define SECRET_UPPER                                                           \
  "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90"
/* A piece of the secret no log line may hold. */
#define SECRET_PART "a1b2c3d4e5f60718"
#define SECRET_PART_UPPER "A1B2C3D4E5F60718"
#define TOKEN "tok-9f8e7d6c5b4a39281706"

/* ---- Building configuration trees by hand (unit_helpers.h) ----------- */

/* The two options every Task needs. */
#define CREDS OPT("TaskID", S(ID)), OPT("Secret", S(SECRET))

/* Feeds one <Plugin> block to cfg and frees the tree. */
static int feed(nt_config_t *cfg, item_t root) {
  int status = nt_config_block(cfg, &root);
  th_item_free(&root);
  return status;
}

static nt_task_t *task_named(const nt_config_t *cfg, const char *name) {
  for (size_t i = 0; i < cfg->tasks_num; i++)
    if (strcmp(cfg->tasks[i]->name, name) == 0)
      return cfg->tasks[i];
  fail_msg("no Task \"%s\" in the configuration", name);
  return NULL;
}

static bool slist_has(const struct curl_slist *l, const char *line) {
  for (; l != NULL; l = l->next)
    if (strcmp(l->data, line) == 0)
      return true;
  return false;
}

static bool slist_has_prefix(const struct curl_slist *l, const char *prefix) {
  for (; l != NULL; l = l->next)
    if (strncasecmp(l->data, prefix, strlen(prefix)) == 0)
      return true;
  return false;
}

/* No line of the log holds the secret or the token, whole or in part. */
static void assert_no_credential_logged(void) {
  for (size_t i = 0; i < fake_log_count(); i++) {
    const char *line = fake_log_line(i);
    if (strstr(line, SECRET_PART) != NULL ||
        strstr(line, SECRET_PART_UPPER) != NULL ||
        strstr(line, TOKEN) != NULL || strstr(line, "tok en") != NULL)
      fail_msg("a credential reached the log: %s", line);
  }
}

/* Exactly one ERROR line, with the plugin's prefix, naming the option and
 * (when given) the Task. */
static void assert_one_error(const char *option, const char *task) {
  size_t errors = 0;
  const char *line = NULL;
  for (size_t i = 0; i < fake_log_count(); i++) {
    if (fake_log_level(i) == LOG_ERR) {
      errors++;
      line = fake_log_line(i);
    }
  }
  if (errors != 1)
    fail_msg("expected exactly one ERROR line, got %zu", errors);
  if (strncmp(line, "notify_theeye plugin: ", 22) != 0)
    fail_msg("ERROR line without the plugin's prefix: %s", line);
  if (strstr(line, option) == NULL)
    fail_msg("ERROR line does not name the option \"%s\": %s", option, line);
  if (task != NULL && strstr(line, task) == NULL)
    fail_msg("ERROR line does not name the Task \"%s\": %s", task, line);
  assert_no_credential_logged();
}

/* The block is refused with one ERROR line naming option (and task). */
static void expect_block_error(item_t root, const char *option,
                               const char *task) {
  nt_config_t cfg;
  nt_config_init(&cfg);
  fake_log_reset();
  int status = feed(&cfg, root);
  /* Freed first, so that a failed assertion leaks nothing. */
  nt_config_free(&cfg);
  assert_int_equal(status, -1);
  assert_one_error(option, task);
}

static int setup(void **state) {
  (void)state;
  fake_log_reset();
  return 0;
}

/* A block with one good Task, finalized. */
static void load_ok(nt_config_t *cfg, item_t root) {
  nt_config_init(cfg);
  fake_log_reset();
  assert_int_equal(feed(cfg, root), 0);
  assert_int_equal(nt_config_finalize(cfg), 0);
  assert_int_equal(fake_log_count_level(LOG_ERR, NULL), 0);
}

/* ---- Defaults and options --------------------------------------------- */

static void test_defaults(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://sup.example")), TASK("t", CREDS)));
  assert_int_equal(cfg.timeout_ms, 5000);
  assert_true(cfg.verify_peer);
  assert_true(cfg.verify_host);
  assert_int_equal(cfg.queue_limit, 1000);
  assert_int_equal(cfg.max_attempts, 5);
  assert_true(cfg.retry_interval == 1.0);
  assert_true(cfg.max_retry_interval == 60.0);
  assert_true(cfg.max_age == 600.0);
  assert_false(cfg.dry_run);
  assert_null(cfg.customer);
  assert_null(cfg.cacert);
  assert_null(cfg.capath);
  assert_null(cfg.client_cert);
  assert_null(cfg.client_key);
  assert_null(cfg.client_key_pass);
  assert_null(cfg.proxy);
  assert_int_equal(cfg.headers_num, 0);

  nt_task_t *t = task_named(&cfg, "t");
  assert_string_equal(t->eff.url, "http://sup.example");
  assert_null(t->eff.customer);
  assert_int_equal(t->eff.timeout_ms, 5000);
  assert_int_equal(t->eff.connect_timeout_ms, 3000);
  assert_true(t->cooldown == 0);
  assert_null(t->cooldowns);
  assert_int_equal(t->match.severities, 0); /* i.e. FAILURE only */
  for (int f = 0; f < NT_FIELDS_NUM; f++)
    assert_int_equal(t->match.patterns_num[f], 0);
  assert_int_equal(t->cred_kind, NT_CRED_SECRET);
  assert_string_equal(t->credential, SECRET);
  assert_string_equal(t->task_id, ID);
  assert_true(slist_has(t->headers, "Content-Type: application/json"));
  assert_true(slist_has(t->headers, "Accept: application/json"));
  assert_false(slist_has_prefix(t->headers, "Authorization:"));
  nt_config_free(&cfg);
}

static void test_every_global_option(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("https://sup.example")),
                 OPT("Customer", S("acme")), OPT("Timeout", N(2000)),
                 OPT("ConnectTimeout", N(700)), OPT("VerifyPeer", B(0)),
                 OPT("VerifyHost", B(0)), OPT("CACert", S("/etc/ca.pem")),
                 OPT("CAPath", S("/etc/ssl/certs")),
                 OPT("ClientCert", S("/etc/client.pem")),
                 OPT("ClientKey", S("/etc/client.key")),
                 OPT("ClientKeyPass", S("keypass")),
                 OPT("Proxy", S("http://proxy:3128")),
                 OPT("Header", S("X-One: 1")), OPT("Header", S("X-Two: 2")),
                 OPT("QueueLimit", N(7)), OPT("MaxAttempts", N(3)),
                 OPT("RetryInterval", N(2)), OPT("MaxRetryInterval", N(30)),
                 OPT("MaxAge", N(120)), OPT("DryRun", B(1)), TASK("t", CREDS)));
  assert_string_equal(cfg.url, "https://sup.example");
  assert_string_equal(cfg.customer, "acme");
  assert_int_equal(cfg.timeout_ms, 2000);
  assert_int_equal(cfg.connect_timeout_ms, 700);
  assert_false(cfg.verify_peer);
  assert_false(cfg.verify_host);
  assert_string_equal(cfg.cacert, "/etc/ca.pem");
  assert_string_equal(cfg.capath, "/etc/ssl/certs");
  assert_string_equal(cfg.client_cert, "/etc/client.pem");
  assert_string_equal(cfg.client_key, "/etc/client.key");
  assert_string_equal(cfg.client_key_pass, "keypass");
  assert_string_equal(cfg.proxy, "http://proxy:3128");
  assert_int_equal(cfg.headers_num, 2);
  assert_string_equal(cfg.headers[0], "X-One: 1");
  assert_string_equal(cfg.headers[1], "X-Two: 2");
  assert_int_equal(cfg.queue_limit, 7);
  assert_int_equal(cfg.max_attempts, 3);
  assert_true(cfg.retry_interval == 2.0);
  assert_true(cfg.max_retry_interval == 30.0);
  assert_true(cfg.max_age == 120.0);
  assert_true(cfg.dry_run);

  nt_task_t *t = task_named(&cfg, "t");
  assert_string_equal(t->eff.customer, "acme");
  assert_int_equal(t->eff.timeout_ms, 2000);
  assert_int_equal(t->eff.connect_timeout_ms, 700);
  assert_true(slist_has(t->headers, "X-One: 1"));
  assert_true(slist_has(t->headers, "X-Two: 2"));
  nt_config_free(&cfg);
}

static void test_booleans_true(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")), OPT("VerifyPeer", B(0)),
                       OPT("VerifyPeer", B(1)), OPT("VerifyHost", B(1)),
                       OPT("DryRun", B(0)), TASK("t", CREDS)));
  assert_true(cfg.verify_peer);
  assert_true(cfg.verify_host);
  assert_false(cfg.dry_run);
  nt_config_free(&cfg);
}

static void test_keys_case_insensitive(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(
      &cfg,
      th_item(
          "plugin", VALS(S("notify_theeye")),
          KIDS(OPT("url", S("http://sup.example")), OPT("CUSTOMER", S("acme")),
               OPT("timeout", N(1500)), OPT("queuelimit", N(9)),
               OPT("MAXATTEMPTS", N(2)), OPT("retryinterval", N(3)),
               OPT("maxretryinterval", N(9)), OPT("maxage", N(99)),
               OPT("dryrun", B(1)), OPT("verifypeer", B(0)),
               OPT("VERIFYHOST", B(0)), OPT("header", S("X-A: b")),
               OPT("connecttimeout", N(400)),
               th_item("task", VALS(S("t")),
                       KIDS(OPT("taskid", S(ID)), OPT("SECRET", S(SECRET)),
                            OPT("severity", S("warning")),
                            OPT("plugin", S("cpu")),
                            OPT("PLUGININSTANCE", S("0")), OPT("host", S("h")),
                            OPT("type", S("percent")),
                            OPT("typeinstance", S("idle")),
                            OPT("message", S("/high/")),
                            OPT("argument", S("%{host}")),
                            OPT("cooldown", N(5)), OPT("url", S("http://o")),
                            OPT("customer", S("c2")), OPT("TIMEOUT", N(800)),
                            OPT("CONNECTTIMEOUT", N(300)))))));
  assert_string_equal(cfg.url, "http://sup.example");
  assert_string_equal(cfg.customer, "acme");
  assert_int_equal(cfg.timeout_ms, 1500);
  assert_int_equal(cfg.connect_timeout_ms, 400);
  assert_int_equal(cfg.queue_limit, 9);
  assert_int_equal(cfg.max_attempts, 2);
  assert_true(cfg.retry_interval == 3);
  assert_true(cfg.max_retry_interval == 9);
  assert_true(cfg.max_age == 99);
  assert_true(cfg.dry_run);
  assert_false(cfg.verify_peer);
  assert_false(cfg.verify_host);
  assert_int_equal(cfg.headers_num, 1);
  nt_task_t *t = task_named(&cfg, "t");
  assert_string_equal(t->task_id, ID);
  assert_string_equal(t->credential, SECRET);
  assert_int_equal(t->match.severities, NT_SEV_WARNING);
  for (int f = 0; f < NT_FIELDS_NUM; f++)
    assert_int_equal(t->match.patterns_num[f], 1);
  assert_int_equal(t->args_num, 1);
  assert_true(t->cooldown == 5);
  assert_non_null(t->cooldowns);
  assert_string_equal(t->eff.url, "http://o");
  assert_string_equal(t->eff.customer, "c2");
  assert_int_equal(t->eff.timeout_ms, 800);
  assert_int_equal(t->eff.connect_timeout_ms, 300);
  nt_config_free(&cfg);
}

static void test_fractional_seconds(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")), OPT("RetryInterval", N(0.5)),
                       OPT("MaxRetryInterval", N(2.5)), OPT("MaxAge", N(0.5)),
                       TASK("t", CREDS, OPT("Cooldown", N(0.5)))));
  assert_true(cfg.retry_interval == 0.5);
  assert_true(cfg.max_retry_interval == 2.5);
  assert_true(cfg.max_age == 0.5);
  assert_true(task_named(&cfg, "t")->cooldown == 0.5);
  assert_non_null(task_named(&cfg, "t")->cooldowns);
  nt_config_free(&cfg);
}

static void test_set_twice_keeps_last(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("http://first")), OPT("URL", S("http://second")),
                 OPT("Customer", S("c1")), OPT("Customer", S("c2")),
                 OPT("Timeout", N(1000)), OPT("Timeout", N(4000)),
                 OPT("QueueLimit", N(5)), OPT("QueueLimit", N(6)),
                 TASK("t", OPT("TaskID", S("000000000000000000000000")),
                      OPT("TaskID", S(ID)),
                      OPT("Secret", S("ffffffffffffffffffffffffffffffff"
                                      "ffffffffffffffffffffffffffffffff")),
                      OPT("secret", S(SECRET)), OPT("Cooldown", N(1)),
                      OPT("Cooldown", N(0)))));
  assert_string_equal(cfg.url, "http://second");
  assert_string_equal(cfg.customer, "c2");
  assert_int_equal(cfg.timeout_ms, 4000);
  assert_int_equal(cfg.queue_limit, 6);
  nt_task_t *t = task_named(&cfg, "t");
  assert_string_equal(t->task_id, ID);
  assert_string_equal(t->credential, SECRET);
  assert_true(t->cooldown == 0);
  assert_null(t->cooldowns);
  assert_string_equal(t->eff.url, "http://second");
  nt_config_free(&cfg);
}

/* ---- Effective settings of a Task ------------------------------------- */

static void test_connect_timeout_defaults(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("http://s")), OPT("Timeout", N(2000)),
                 TASK("inherit", CREDS),
                 TASK("short", CREDS, OPT("Timeout", N(1000))),
                 TASK("long", CREDS, OPT("Timeout", N(8000))),
                 TASK("own-connect", CREDS, OPT("ConnectTimeout", N(700))),
                 TASK("both", CREDS, OPT("Timeout", N(9000)),
                      OPT("ConnectTimeout", N(4000)))));
  /* min(global Timeout 2000, 3000) */
  assert_int_equal(task_named(&cfg, "inherit")->eff.timeout_ms, 2000);
  assert_int_equal(task_named(&cfg, "inherit")->eff.connect_timeout_ms, 2000);
  /* of the Task's own Timeout */
  assert_int_equal(task_named(&cfg, "short")->eff.timeout_ms, 1000);
  assert_int_equal(task_named(&cfg, "short")->eff.connect_timeout_ms, 1000);
  assert_int_equal(task_named(&cfg, "long")->eff.timeout_ms, 8000);
  assert_int_equal(task_named(&cfg, "long")->eff.connect_timeout_ms, 3000);
  assert_int_equal(task_named(&cfg, "own-connect")->eff.timeout_ms, 2000);
  assert_int_equal(task_named(&cfg, "own-connect")->eff.connect_timeout_ms,
                   700);
  assert_int_equal(task_named(&cfg, "both")->eff.timeout_ms, 9000);
  assert_int_equal(task_named(&cfg, "both")->eff.connect_timeout_ms, 4000);
  nt_config_free(&cfg);

  /* A global Timeout above 3000: the default is capped at 3000. */
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")), OPT("Timeout", N(10000)),
                       TASK("t", CREDS)));
  assert_int_equal(task_named(&cfg, "t")->eff.timeout_ms, 10000);
  assert_int_equal(task_named(&cfg, "t")->eff.connect_timeout_ms, 3000);
  nt_config_free(&cfg);

  /* An explicit global ConnectTimeout applies to every Task, even one with
   * its own Timeout; the Task's own ConnectTimeout wins over it. */
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("http://s")), OPT("Timeout", N(10000)),
                 OPT("ConnectTimeout", N(500)), TASK("t", CREDS),
                 TASK("own-timeout", CREDS, OPT("Timeout", N(8000))),
                 TASK("own-connect", CREDS, OPT("ConnectTimeout", N(900)))));
  assert_int_equal(task_named(&cfg, "t")->eff.connect_timeout_ms, 500);
  assert_int_equal(task_named(&cfg, "own-timeout")->eff.timeout_ms, 8000);
  assert_int_equal(task_named(&cfg, "own-timeout")->eff.connect_timeout_ms,
                   500);
  assert_int_equal(task_named(&cfg, "own-connect")->eff.connect_timeout_ms,
                   900);
  nt_config_free(&cfg);
}

static void test_task_overrides(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://global")),
                       OPT("Customer", S("acme")), TASK("plain", CREDS),
                       TASK("own", CREDS, OPT("URL", S("https://own.example/")),
                            OPT("Customer", S("other")))));
  nt_task_t *plain = task_named(&cfg, "plain");
  nt_task_t *own = task_named(&cfg, "own");
  assert_string_equal(plain->eff.url, "http://global");
  assert_string_equal(plain->eff.customer, "acme");
  assert_string_equal(own->eff.url, "https://own.example");
  assert_string_equal(own->eff.customer, "other");
  assert_string_equal(own->request_url, "https://own.example/job/secret/" SECRET
                                        "?customer=other");
  /* The global settings are left alone. */
  assert_string_equal(cfg.url, "http://global");
  assert_string_equal(cfg.customer, "acme");
  nt_config_free(&cfg);

  /* A Task may have the URL nobody else has. */
  load_ok(&cfg, PLUGIN(TASK("t", CREDS, OPT("URL", S("http://only")))));
  assert_string_equal(task_named(&cfg, "t")->eff.url, "http://only");
  assert_null(cfg.url);
  nt_config_free(&cfg);
}

/* ---- Routes ------------------------------------------------------------- */

static void test_route_secret_with_customer(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("https://sup.example/")),
                       OPT("Customer", S("acme")), TASK("t", CREDS)));
  nt_task_t *t = task_named(&cfg, "t");
  assert_string_equal(t->request_url, "https://sup.example/job/secret/" SECRET
                                      "?customer=acme");
  assert_string_equal(t->redacted_url,
                      "https://sup.example/job/secret/<secret>?customer=acme");
  assert_null(strstr(t->redacted_url, SECRET_PART));
  assert_false(slist_has_prefix(t->headers, "Authorization:"));
  nt_config_free(&cfg);
}

static void test_route_secret_without_customer(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://sup.example:8080/api//")),
                       TASK("t", CREDS)));
  nt_task_t *t = task_named(&cfg, "t");
  assert_string_equal(t->request_url, "http://sup.example:8080/api/task/" ID
                                      "/secret/" SECRET "/job");
  assert_string_equal(t->redacted_url, "http://sup.example:8080/api/task/" ID
                                       "/secret/<secret>/job");
  assert_false(slist_has_prefix(t->headers, "Authorization:"));
  nt_config_free(&cfg);
}

static void test_route_token(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(
      &cfg,
      PLUGIN(OPT("URL", S("https://sup.example/")),
             TASK("nocust", OPT("TaskID", S(ID)), OPT("AccessToken", S(TOKEN))),
             TASK("cust", OPT("TaskID", S(ID)), OPT("AccessToken", S(TOKEN)),
                  OPT("Customer", S("acme")))));
  nt_task_t *t = task_named(&cfg, "nocust");
  assert_int_equal(t->cred_kind, NT_CRED_TOKEN);
  assert_string_equal(t->request_url, "https://sup.example/job");
  assert_string_equal(t->redacted_url, "https://sup.example/job");
  assert_true(slist_has(t->headers, "Authorization: Bearer " TOKEN));
  t = task_named(&cfg, "cust");
  assert_string_equal(t->request_url, "https://sup.example/job?customer=acme");
  assert_string_equal(t->redacted_url, "https://sup.example/job?customer=acme");
  assert_true(slist_has(t->headers, "Authorization: Bearer " TOKEN));
  assert_true(slist_has(t->headers, "Content-Type: application/json"));
  nt_config_free(&cfg);
}

static void test_customer_escaped(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")),
                       OPT("Customer", S("a b&c/d?e=f\xC3\xA9~_.-")),
                       TASK("t", CREDS)));
  nt_task_t *t = task_named(&cfg, "t");
  assert_string_equal(t->request_url,
                      "http://s/job/secret/" SECRET
                      "?customer=a%20b%26c%2Fd%3Fe%3Df%C3%A9~_.-");
  assert_string_equal(t->redacted_url,
                      "http://s/job/secret/<secret>"
                      "?customer=a%20b%26c%2Fd%3Fe%3Df%C3%A9~_.-");
  nt_config_free(&cfg);
}

static void test_url_escape(void **state) {
  (void)state;
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_url_escape(&b, "a b&c"), 0);
  assert_string_equal(b.data, "a%20b%26c");
  nt_buf_reset(&b);
  assert_int_equal(nt_url_escape(&b, "AZaz09-._~"), 0);
  assert_string_equal(b.data, "AZaz09-._~");
  nt_buf_reset(&b);
  assert_int_equal(nt_url_escape(&b, "%+/\x7f\xff"), 0);
  assert_string_equal(b.data, "%25%2B%2F%7F%FF");
  nt_buf_free(&b);
}

static void test_upper_case_secret(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")), OPT("Customer", S("c")),
                       TASK("t", OPT("TaskID", S("5F0C1A2B3C4D5E6F7A8B9C0D")),
                            OPT("Secret", S(SECRET_UPPER)))));
  nt_task_t *t = task_named(&cfg, "t");
  assert_string_equal(t->credential, SECRET);
  assert_string_equal(t->request_url,
                      "http://s/job/secret/" SECRET "?customer=c");
  nt_config_free(&cfg);
}

/* ---- Secret and token files ------------------------------------------- */

static char *temp_file(const char *content, mode_t mode) {
  char *path = strdup("/tmp/nt_test_secret_XXXXXX");
  assert_non_null(path);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t len = strlen(content);
  assert_int_equal(write(fd, content, len), (ssize_t)len);
  close(fd);
  assert_int_equal(chmod(path, mode), 0);
  return path;
}

static void test_secret_file(void **state) {
  (void)state;
  char *path = temp_file(" \n\t" SECRET_UPPER "\r\n\n  ", 0600);
  nt_config_t cfg;
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("https://s")),
                 TASK("t", OPT("TaskID", S(ID)), OPT("SecretFile", S(path)))));
  nt_task_t *t = task_named(&cfg, "t");
  assert_int_equal(t->cred_kind, NT_CRED_SECRET);
  assert_string_equal(t->credential, SECRET);
  assert_string_equal(t->request_url,
                      "https://s/task/" ID "/secret/" SECRET "/job");
  /* Mode 0600: nothing to warn about. */
  assert_int_equal(fake_log_count_level(LOG_WARNING, NULL), 0);
  nt_config_free(&cfg);
  unlink(path);
  free(path);
}

static void test_secret_file_readable_by_others(void **state) {
  (void)state;
  char *path = temp_file(SECRET "\n", 0644);
  nt_config_t cfg;
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("https://s")), TASK("loose", OPT("TaskID", S(ID)),
                                                  OPT("SecretFile", S(path)))));
  assert_string_equal(task_named(&cfg, "loose")->credential, SECRET);
  assert_int_equal(fake_log_count_level(LOG_WARNING, NULL), 1);
  assert_int_equal(fake_log_count_level(LOG_WARNING, path), 1);
  assert_int_equal(fake_log_count_level(LOG_WARNING, "loose"), 1);
  assert_no_credential_logged();
  nt_config_free(&cfg);

  /* Readable by the group only, then by others only: a warning too. */
  static const mode_t loose_modes[] = {0640, 0604};
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(chmod(path, loose_modes[i]), 0);
    load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")),
                         TASK("loose", OPT("TaskID", S(ID)),
                              OPT("SecretFile", S(path)))));
    assert_int_equal(fake_log_count_level(LOG_WARNING, path), 1);
    assert_no_credential_logged();
    nt_config_free(&cfg);
  }

  /* Not readable by group or others (writable is another matter): no
   * warning. */
  assert_int_equal(chmod(path, 0620), 0);
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("https://s")), TASK("tight", OPT("TaskID", S(ID)),
                                                  OPT("SecretFile", S(path)))));
  assert_int_equal(fake_log_count_level(LOG_WARNING, NULL), 0);
  nt_config_free(&cfg);
  unlink(path);
  free(path);
}

static void test_token_file(void **state) {
  (void)state;
  char *path = temp_file("\n  " TOKEN "  \n", 0600);
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")),
                       TASK("t", OPT("TaskID", S(ID)),
                            OPT("AccessTokenFile", S(path)))));
  nt_task_t *t = task_named(&cfg, "t");
  assert_int_equal(t->cred_kind, NT_CRED_TOKEN);
  assert_string_equal(t->credential, TOKEN);
  assert_true(slist_has(t->headers, "Authorization: Bearer " TOKEN));
  assert_string_equal(t->request_url, "http://s/job");
  assert_null(strstr(t->request_url, TOKEN));
  nt_config_free(&cfg);
  unlink(path);
  free(path);
}

static void test_secret_file_missing(void **state) {
  (void)state;
  expect_block_error(
      PLUGIN(TASK("t", OPT("TaskID", S(ID)),
                  OPT("SecretFile", S("/nonexistent/nt_test/secret")))),
      "SecretFile", "t");
  assert_true(fake_log_contains("/nonexistent/nt_test/secret"));
}

static void test_secret_file_unreadable(void **state) {
  (void)state;
  /* A directory cannot be read as a file, even by root. */
  expect_block_error(
      PLUGIN(TASK("t", OPT("TaskID", S(ID)), OPT("SecretFile", S("/tmp")))),
      "SecretFile", "t");
  if (geteuid() != 0) {
    char *path = temp_file(SECRET, 0000);
    expect_block_error(
        PLUGIN(TASK("t", OPT("TaskID", S(ID)), OPT("SecretFile", S(path)))),
        "SecretFile", "t");
    unlink(path);
    free(path);
  }
}

static void test_secret_file_malformed(void **state) {
  (void)state;
  /* 63 characters of the secret: refused, and never shown. */
  char *path = temp_file("a1b2c3d4e5f60718293a4b5c6d7e8f90"
                         "a1b2c3d4e5f60718293a4b5c6d7e8f9\n",
                         0600);
  expect_block_error(
      PLUGIN(TASK("t", OPT("TaskID", S(ID)), OPT("SecretFile", S(path)))),
      "SecretFile", "t");
  unlink(path);
  free(path);
  path = temp_file("", 0600);
  expect_block_error(
      PLUGIN(TASK("t", OPT("TaskID", S(ID)), OPT("SecretFile", S(path)))),
      "SecretFile", "t");
  unlink(path);
  free(path);
}

/* ---- Task contents ---------------------------------------------------- */

static void test_default_arguments(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")), TASK("t", CREDS)));
  nt_task_t *t = task_named(&cfg, "t");
  assert_int_equal(t->args_num, 8);

  notification_t n = th_notif(NOTIF_WARNING, "h", "p", "pi", "ty", "ti", "m");
  n.time = TIME_T_TO_CDTIME_T(1764331200) + MS_TO_CDTIME_T(123);
  static const char *const expected[] = {
      "WARNING", "1764331200.123", "h", "p", "pi", "ty", "ti", "m"};
  for (size_t i = 0; i < 8; i++) {
    nt_buf_t b = NT_BUF_INIT;
    assert_int_equal(
        nt_template_render(t->args[i], &n, &(nt_render_ctx_t){t->name, ""}, &b),
        0);
    assert_string_equal(b.data, expected[i]);
    nt_buf_free(&b);
  }
  nt_config_free(&cfg);
}

static void test_accumulating_options(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("http://s")),
                 TASK("t", CREDS, OPT("Severity", S("WARNING")),
                      OPT("Severity", S("okay"), S("Failure")),
                      OPT("Plugin", S("a")), OPT("Plugin", S("b"), S("/c/")),
                      OPT("Host", S("h1")), OPT("Host", S("h2")),
                      OPT("Argument", S("x")),
                      OPT("Argument", S("%{task}"), S("z%%")))));
  nt_task_t *t = task_named(&cfg, "t");
  assert_int_equal(t->match.severities,
                   NT_SEV_WARNING | NT_SEV_OKAY | NT_SEV_FAILURE);
  assert_int_equal(t->match.patterns_num[NT_FIELD_PLUGIN], 3);
  assert_int_equal(t->match.patterns_num[NT_FIELD_HOST], 2);
  assert_int_equal(t->match.patterns_num[NT_FIELD_TYPE], 0);
  assert_int_equal(t->args_num, 3);
  notification_t n = {.severity = NOTIF_FAILURE};
  static const char *const expected[] = {"x", "t", "z%"};
  for (size_t i = 0; i < 3; i++) {
    nt_buf_t b = NT_BUF_INIT;
    assert_int_equal(
        nt_template_render(t->args[i], &n, &(nt_render_ctx_t){t->name, ""}, &b),
        0);
    assert_string_equal(b.data, expected[i]);
    nt_buf_free(&b);
  }
  nt_config_free(&cfg);
}

static void test_task_name_limits(void **state) {
  (void)state;
  char name[128];
  memset(name, 'n', 127);
  name[127] = '\0';
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")), TASK(name, CREDS),
                       TASK("x", CREDS)));
  assert_int_equal(cfg.tasks_num, 2);
  assert_string_equal(cfg.tasks[0]->name, name);
  assert_string_equal(cfg.tasks[1]->name, "x");
  nt_config_free(&cfg);
}

/* ---- Lanes ------------------------------------------------------------ */

static void test_lanes(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://a.example")), TASK("a1", CREDS),
                       TASK("b1", CREDS, OPT("URL", S("http://b.example"))),
                       TASK("a2", CREDS),
                       TASK("a3", CREDS, OPT("URL", S("http://a.example/"))),
                       TASK("b2", CREDS, OPT("URL", S("http://b.example")),
                            OPT("Customer", S("other")))));
  assert_int_equal(cfg.lanes_num, 2);
  size_t a = task_named(&cfg, "a1")->lane, b = task_named(&cfg, "b1")->lane;
  assert_true(a != b);
  assert_true(a < 2 && b < 2);
  assert_int_equal(task_named(&cfg, "a2")->lane, a);
  assert_int_equal(task_named(&cfg, "a3")->lane, a);
  assert_int_equal(task_named(&cfg, "b2")->lane, b);
  assert_string_equal(cfg.lane_tasks[a]->eff.url, "http://a.example");
  assert_string_equal(cfg.lane_tasks[b]->eff.url, "http://b.example");
  assert_int_equal(cfg.supervisors_num, 2);
  nt_config_free(&cfg);

  /* A PauseFile of its own: a line of its own to the same supervisor; the
   * same PauseFile as the global one shares the line. */
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://a.example")),
                       OPT("PauseFile", S("/run/p")), TASK("a1", CREDS),
                       TASK("a2", CREDS, OPT("PauseFile", S("/run/q"))),
                       TASK("a3", CREDS, OPT("PauseFile", S("/run/p")))));
  assert_int_equal(cfg.lanes_num, 2);
  assert_int_equal(cfg.supervisors_num, 1);
  assert_true(task_named(&cfg, "a1")->lane != task_named(&cfg, "a2")->lane);
  assert_int_equal(task_named(&cfg, "a1")->lane, task_named(&cfg, "a3")->lane);
  nt_config_free(&cfg);
}

/* ---- Several blocks --------------------------------------------------- */

static void test_two_blocks(void **state) {
  (void)state;
  nt_config_t cfg;
  nt_config_init(&cfg);
  fake_log_reset();
  assert_int_equal(
      feed(&cfg, PLUGIN(OPT("URL", S("http://first")), OPT("Timeout", N(1000)),
                        OPT("QueueLimit", N(3)), TASK("one", CREDS))),
      0);
  assert_int_equal(
      feed(&cfg, PLUGIN(OPT("URL", S("http://second")), OPT("QueueLimit", N(4)),
                        TASK("two", CREDS))),
      0);
  assert_int_equal(nt_config_finalize(&cfg), 0);
  assert_int_equal(cfg.tasks_num, 2);
  assert_string_equal(cfg.url, "http://second");
  assert_int_equal(cfg.queue_limit, 4);
  assert_int_equal(cfg.timeout_ms, 1000);
  /* The global URL is the last one, for every Task. */
  assert_string_equal(task_named(&cfg, "one")->eff.url, "http://second");
  assert_string_equal(task_named(&cfg, "two")->eff.url, "http://second");
  assert_int_equal(task_named(&cfg, "one")->eff.timeout_ms, 1000);
  assert_int_equal(task_named(&cfg, "two")->eff.timeout_ms, 1000);
  assert_int_equal(cfg.lanes_num, 1);
  assert_int_equal(fake_log_count_level(LOG_ERR, NULL), 0);
  nt_config_free(&cfg);
}

static void test_duplicate_task_across_blocks(void **state) {
  (void)state;
  nt_config_t cfg;
  nt_config_init(&cfg);
  assert_int_equal(
      feed(&cfg, PLUGIN(OPT("URL", S("http://s")), TASK("same", CREDS))), 0);
  fake_log_reset();
  assert_int_equal(feed(&cfg, PLUGIN(TASK("same", CREDS))), -1);
  assert_one_error("Task", "same");
  nt_config_free(&cfg);
}

static void test_url_only_in_later_block(void **state) {
  (void)state;
  /* A Task read before any URL gets the one a later block sets. */
  nt_config_t cfg;
  nt_config_init(&cfg);
  assert_int_equal(feed(&cfg, PLUGIN(TASK("t", CREDS))), 0);
  assert_int_equal(feed(&cfg, PLUGIN(OPT("URL", S("http://late")))), 0);
  assert_int_equal(nt_config_finalize(&cfg), 0);
  assert_string_equal(task_named(&cfg, "t")->eff.url, "http://late");
  nt_config_free(&cfg);
}

/* ---- Errors at finalize ----------------------------------------------- */

static void test_task_without_url(void **state) {
  (void)state;
  nt_config_t cfg;
  nt_config_init(&cfg);
  fake_log_reset();
  assert_int_equal(
      feed(&cfg, PLUGIN(TASK("has-url", CREDS, OPT("URL", S("http://s"))),
                        TASK("no-url", CREDS))),
      0);
  assert_int_equal(fake_log_count_level(LOG_ERR, NULL), 0);
  assert_int_equal(nt_config_finalize(&cfg), -1);
  assert_one_error("URL", "no-url");
  nt_config_free(&cfg);
}

static void test_no_block(void **state) {
  (void)state;
  nt_config_t cfg;
  nt_config_init(&cfg);
  fake_log_reset();
  assert_int_equal(nt_config_finalize(&cfg), -1);
  assert_int_equal(fake_log_count_level(LOG_ERR, NULL), 1);
  nt_config_free(&cfg);
}

static void test_no_task(void **state) {
  (void)state;
  nt_config_t cfg;
  nt_config_init(&cfg);
  fake_log_reset();
  assert_int_equal(feed(&cfg, PLUGIN(OPT("URL", S("http://s")))), 0);
  assert_int_equal(nt_config_finalize(&cfg), -1);
  assert_one_error("Task", NULL);
  nt_config_free(&cfg);

  nt_config_init(&cfg);
  fake_log_reset();
  assert_int_equal(feed(&cfg, PLUGIN0()), 0);
  assert_int_equal(nt_config_finalize(&cfg), -1);
  assert_one_error("Task", NULL);
  nt_config_free(&cfg);
}

/* ---- Errors while reading ---------------------------------------------- */

/* One test per mistake: the block is refused with exactly one ERROR line
 * naming the option and the Task, without any credential. */
#define ERROR_CASE(fn, option, task, tree)                                     \
  static void fn(void **state) {                                               \
    (void)state;                                                               \
    expect_block_error(tree, option, task);                                    \
  }

ERROR_CASE(test_err_unknown_global, "Bogus", NULL,
           PLUGIN(OPT("URL", S("http://s")), OPT("Bogus", S("x")),
                  TASK("t", CREDS)))
ERROR_CASE(test_err_unknown_in_task, "VerifyPeer", "t",
           PLUGIN(TASK("t", CREDS, OPT("VerifyPeer", B(0)))))
ERROR_CASE(test_err_global_only_in_task, "QueueLimit", "t",
           PLUGIN(TASK("t", CREDS, OPT("QueueLimit", N(5)))))
ERROR_CASE(test_err_unknown_option_name_in_task, "Frobnicate", "t",
           PLUGIN(TASK("t", CREDS, OPT("Frobnicate", S("x")))))
ERROR_CASE(test_err_missing_task_id, "TaskID", "t",
           PLUGIN(TASK("t", OPT("Secret", S(SECRET)))))
ERROR_CASE(test_err_missing_secret, "Secret", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID)))))
ERROR_CASE(test_err_task_id_short, "TaskID", "t",
           PLUGIN(TASK("t", OPT("TaskID", S("5f0c1a2b3c4d5e6f7a8b9c0")),
                       OPT("Secret", S(SECRET)))))
ERROR_CASE(test_err_task_id_long, "TaskID", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID "0")),
                       OPT("Secret", S(SECRET)))))
ERROR_CASE(test_err_task_id_not_hex, "TaskID", "t",
           PLUGIN(TASK("t", OPT("TaskID", S("5f0c1a2b3c4d5e6f7a8b9c0g")),
                       OPT("Secret", S(SECRET)))))
ERROR_CASE(test_err_task_id_number, "TaskID", "t",
           PLUGIN(TASK("t", OPT("TaskID", N(123)), OPT("Secret", S(SECRET)))))
ERROR_CASE(test_err_secret_short, "Secret", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID)),
                       OPT("Secret", S("a1b2c3d4e5f60718293a4b5c6d7e8f90"
                                       "a1b2c3d4e5f60718293a4b5c6d7e8f9")))))
ERROR_CASE(test_err_secret_long, "Secret", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID)),
                       OPT("Secret", S(SECRET "a")))))
ERROR_CASE(test_err_secret_not_hex, "Secret", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID)),
                       OPT("Secret", S("a1b2c3d4e5f60718293a4b5c6d7e8f90"
                                       "a1b2c3d4e5f60718293a4b5c6d7e8f9z")))))
ERROR_CASE(test_err_secret_empty, "Secret", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID)), OPT("Secret", S("")))))
ERROR_CASE(test_err_secret_and_token, "AccessToken", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID)), OPT("Secret", S(SECRET)),
                       OPT("AccessToken", S(TOKEN)))))
ERROR_CASE(test_err_token_and_secret, "Secret", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID)), OPT("AccessToken", S(TOKEN)),
                       OPT("Secret", S(SECRET)))))
ERROR_CASE(test_err_secret_and_secret_file, "SecretFile", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID)), OPT("Secret", S(SECRET)),
                       OPT("SecretFile", S("/etc/hostname")))))
ERROR_CASE(test_err_token_with_space, "AccessToken", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(ID)),
                       OPT("AccessToken", S("tok en")))))
ERROR_CASE(test_err_bad_severity, "Severity", "t",
           PLUGIN(TASK("t", CREDS,
                       OPT("Severity", S("FAILURE"), S("CRITICAL")))))
ERROR_CASE(test_err_invalid_regex, "Plugin", "t",
           PLUGIN(TASK("t", CREDS, OPT("Plugin", S("/(/")))))
ERROR_CASE(test_err_invalid_regex_message, "Message", "t",
           PLUGIN(TASK("t", CREDS, OPT("Message", S("/[a-/")))))
ERROR_CASE(test_err_filter_number, "Host", "t",
           PLUGIN(TASK("t", CREDS, OPT("Host", N(1)))))
ERROR_CASE(test_err_unknown_placeholder, "Argument", "t",
           PLUGIN(TASK("t", CREDS, OPT("Argument", S("%{hostname}")))))
ERROR_CASE(test_err_empty_placeholder, "Argument", "t",
           PLUGIN(TASK("t", CREDS, OPT("Argument", S("a %{} b")))))
ERROR_CASE(test_err_empty_meta, "Argument", "t",
           PLUGIN(TASK("t", CREDS, OPT("Argument", S("%{meta:}")))))
ERROR_CASE(test_err_unterminated_placeholder, "Argument", "t",
           PLUGIN(TASK("t", CREDS, OPT("Argument", S("x"), S("%{host")))))
ERROR_CASE(test_err_duplicate_task, "Task", "dup",
           PLUGIN(OPT("URL", S("http://s")), TASK("dup", CREDS),
                  TASK("dup", CREDS)))
ERROR_CASE(test_err_task_name_empty, "Task", NULL, PLUGIN(TASK("", CREDS)))
ERROR_CASE(test_err_task_name_slash, "Task", "a/b", PLUGIN(TASK("a/b", CREDS)))
ERROR_CASE(test_err_task_without_name, "Task", NULL,
           PLUGIN(th_item("Task", NULL, 0, KIDS(CREDS))))
ERROR_CASE(test_err_timeout_zero, "Timeout", NULL,
           PLUGIN(OPT("Timeout", N(0)), TASK("t", CREDS)))
ERROR_CASE(test_err_timeout_negative, "Timeout", NULL,
           PLUGIN(OPT("Timeout", N(-1)), TASK("t", CREDS)))
ERROR_CASE(test_err_timeout_fraction, "Timeout", NULL,
           PLUGIN(OPT("Timeout", N(1.5)), TASK("t", CREDS)))
ERROR_CASE(test_err_timeout_string, "Timeout", NULL,
           PLUGIN(OPT("Timeout", S("5000")), TASK("t", CREDS)))
ERROR_CASE(test_err_task_timeout_zero, "Timeout", "t",
           PLUGIN(TASK("t", CREDS, OPT("Timeout", N(0)))))
ERROR_CASE(test_err_connect_timeout_zero, "ConnectTimeout", NULL,
           PLUGIN(OPT("ConnectTimeout", N(0)), TASK("t", CREDS)))
ERROR_CASE(test_err_task_connect_timeout_negative, "ConnectTimeout", "t",
           PLUGIN(TASK("t", CREDS, OPT("ConnectTimeout", N(-5)))))
ERROR_CASE(test_err_queue_limit_zero, "QueueLimit", NULL,
           PLUGIN(OPT("QueueLimit", N(0)), TASK("t", CREDS)))
ERROR_CASE(test_err_queue_limit_string, "QueueLimit", NULL,
           PLUGIN(OPT("QueueLimit", S("10")), TASK("t", CREDS)))
ERROR_CASE(test_err_max_attempts_zero, "MaxAttempts", NULL,
           PLUGIN(OPT("MaxAttempts", N(0)), TASK("t", CREDS)))
ERROR_CASE(test_err_retry_interval_zero, "RetryInterval", NULL,
           PLUGIN(OPT("RetryInterval", N(0)), TASK("t", CREDS)))
ERROR_CASE(test_err_max_age_negative, "MaxAge", NULL,
           PLUGIN(OPT("MaxAge", N(-1)), TASK("t", CREDS)))
ERROR_CASE(test_err_cooldown_negative, "Cooldown", "t",
           PLUGIN(TASK("t", CREDS, OPT("Cooldown", N(-1)))))
ERROR_CASE(test_err_cooldown_string, "Cooldown", "t",
           PLUGIN(TASK("t", CREDS, OPT("Cooldown", S("300")))))
ERROR_CASE(test_err_url_ftp, "URL", NULL,
           PLUGIN(OPT("URL", S("ftp://x")), TASK("t", CREDS)))
ERROR_CASE(test_err_url_not_a_url, "URL", NULL,
           PLUGIN(OPT("URL", S("not a url")), TASK("t", CREDS)))
ERROR_CASE(test_err_url_empty, "URL", NULL,
           PLUGIN(OPT("URL", S("")), TASK("t", CREDS)))
ERROR_CASE(test_err_url_number, "URL", NULL,
           PLUGIN(OPT("URL", N(80)), TASK("t", CREDS)))
ERROR_CASE(test_err_task_url_ftp, "URL", "t",
           PLUGIN(TASK("t", CREDS, OPT("URL", S("ftp://x")))))
ERROR_CASE(test_err_url_holding_a_route, "URL", NULL,
           PLUGIN(OPT("URL", S("https://s/task/" ID "/secret/" SECRET "/job")),
                  TASK("t", CREDS)))
ERROR_CASE(test_err_url_ending_in_job, "URL", NULL,
           PLUGIN(OPT("URL", S("https://s/api/job")), TASK("t", CREDS)))
ERROR_CASE(test_err_spool_dir_relative, "SpoolDir", NULL,
           PLUGIN(OPT("URL", S("http://s")), OPT("SpoolDir", S("spool")),
                  TASK("t", CREDS)))
ERROR_CASE(test_err_spool_limit_zero, "SpoolLimit", NULL,
           PLUGIN(OPT("URL", S("http://s")), OPT("SpoolLimit", N(0)),
                  TASK("t", CREDS)))
ERROR_CASE(test_err_task_name_control_char, "Task", NULL,
           PLUGIN(OPT("URL", S("http://s")), TASK("a\tb", CREDS)))
ERROR_CASE(test_err_header_without_colon, "Header", NULL,
           PLUGIN(OPT("URL", S("http://s")), OPT("Header", S("X-Foo bar")),
                  TASK("t", CREDS)))
ERROR_CASE(test_err_customer_number, "Customer", NULL,
           PLUGIN(OPT("Customer", N(1)), TASK("t", CREDS)))
ERROR_CASE(test_err_customer_empty, "Customer", NULL,
           PLUGIN(OPT("URL", S("http://s")), OPT("Customer", S("")),
                  TASK("t", CREDS)))
ERROR_CASE(test_err_task_customer_empty, "Customer", "t",
           PLUGIN(OPT("URL", S("http://s")),
                  TASK("t", CREDS, OPT("Customer", S("")))))
ERROR_CASE(test_err_url_space, "URL", NULL,
           PLUGIN(OPT("URL", S("http://a b.example")), TASK("t", CREDS)))
ERROR_CASE(test_err_url_query, "URL", NULL,
           PLUGIN(OPT("URL", S("http://s/?x=1")), TASK("t", CREDS)))
/* Values echoed in an error line may hold a credential through a
 * realistic mistake: the full route URL of TheEye's documentation pasted
 * as URL, the secret swapped with the TaskID, an Authorization header
 * without its colon. The line must still not show it. */
ERROR_CASE(test_err_url_with_secret_not_echoed, "URL", NULL,
           PLUGIN(OPT("URL", S("https://supervisor.theeye.io/job/secret/" SECRET
                               "?customer=acme")),
                  TASK("t", CREDS)))
ERROR_CASE(test_err_task_id_with_secret_not_echoed, "TaskID", "t",
           PLUGIN(TASK("t", OPT("TaskID", S(SECRET)), OPT("Secret", S(ID)))))
ERROR_CASE(test_err_header_with_token_not_echoed, "Header", NULL,
           PLUGIN(OPT("URL", S("http://s")),
                  OPT("Header", S("Authorization Bearer " TOKEN)),
                  TASK("t", CREDS)))
ERROR_CASE(test_err_customer_two_values, "Customer", "t",
           PLUGIN(TASK("t", CREDS, OPT("Customer", S("a"), S("b")))))
ERROR_CASE(test_err_verify_peer_number, "VerifyPeer", NULL,
           PLUGIN(OPT("VerifyPeer", N(1)), TASK("t", CREDS)))
ERROR_CASE(test_err_dry_run_no_value, "DryRun", NULL,
           PLUGIN(OPT0("DryRun"), TASK("t", CREDS)))
ERROR_CASE(test_err_argument_no_value, "Argument", "t",
           PLUGIN(TASK("t", CREDS, OPT0("Argument"))))

/* A Task name of 128 bytes is one too many. */
static void test_err_task_name_too_long(void **state) {
  (void)state;
  char name[129];
  memset(name, 'n', 128);
  name[128] = '\0';
  expect_block_error(PLUGIN(TASK(name, CREDS)), "Task", NULL);
}

/* A mistake after a good Task: the block fails; freeing is clean. */
static void test_err_after_good_task(void **state) {
  (void)state;
  nt_config_t cfg;
  nt_config_init(&cfg);
  fake_log_reset();
  assert_int_equal(
      feed(&cfg, PLUGIN(OPT("URL", S("http://s")),
                        TASK("good", CREDS, OPT("Plugin", S("/x/")),
                             OPT("Cooldown", N(3))),
                        TASK("bad", CREDS, OPT("Plugin", S("/y/")),
                             OPT("Argument", S("%{nope}"))))),
      -1);
  assert_one_error("Argument", "bad");
  nt_config_free(&cfg);
}

/* A failed finalize leaves a configuration that frees cleanly. */
static void test_finalize_failure_frees(void **state) {
  (void)state;
  nt_config_t cfg;
  nt_config_init(&cfg);
  assert_int_equal(feed(&cfg, PLUGIN(TASK("a", CREDS, OPT("URL", S("http://s")),
                                          OPT("Cooldown", N(10))),
                                     TASK("b", CREDS))),
                   0);
  assert_int_equal(nt_config_finalize(&cfg), -1);
  nt_config_free(&cfg);
  /* Freed configuration is back to its defaults and usable again. */
  assert_int_equal(cfg.tasks_num, 0);
  assert_int_equal(cfg.queue_limit, 1000);
  load_ok(&cfg, PLUGIN(OPT("URL", S("http://s")), TASK("t", CREDS)));
  nt_config_free(&cfg);
}

/* ---- Credentials at the edges ----------------------------------------- */

static void test_err_url_with_credentials(void **state) {
  (void)state;
  static const char *const urls[] = {"https://user:pa55word@sup.example",
                                     "https://user@sup.example",
                                     "http://:pa55word@127.0.0.1:8080/api"};
  for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
    expect_block_error(PLUGIN(OPT("URL", S(urls[i])), TASK("t", CREDS)), "URL",
                       NULL);
    assert_false(fake_log_contains("pa55word"));
    assert_true(fake_log_contains("user name or password"));
    expect_block_error(PLUGIN(TASK("t", CREDS, OPT("URL", S(urls[i])))), "URL",
                       "t");
    assert_false(fake_log_contains("pa55word"));
  }
}

/* One WARNING per Task whose credential is exposed, none otherwise. */
static size_t exposure_warnings(item_t root, const char *needle) {
  nt_config_t cfg;
  load_ok(&cfg, root);
  size_t n = fake_log_count_level(LOG_WARNING, needle);
  assert_no_credential_logged();
  nt_config_free(&cfg);
  return n;
}

static void test_plain_http_warns_unless_loopback(void **state) {
  (void)state;
  static const char *const loopback[] = {
      "http://127.0.0.1:8080", "http://127.9.8.7",  "http://localhost:80/api",
      "http://LOCALHOST",      "http://[::1]:8080", "https://sup.example"};
  for (size_t i = 0; i < sizeof(loopback) / sizeof(*loopback); i++)
    assert_int_equal(
        exposure_warnings(PLUGIN(OPT("URL", S(loopback[i])), TASK("t", CREDS)),
                          NULL),
        0);
  static const char *const exposed[] = {"http://sup.example",
                                        "http://128.0.0.1", "http://[::2]",
                                        "http://localhost.example.com"};
  for (size_t i = 0; i < sizeof(exposed) / sizeof(*exposed); i++)
    assert_int_equal(
        exposure_warnings(PLUGIN(OPT("URL", S(exposed[i])), TASK("t", CREDS),
                                 TASK("u", CREDS)),
                          "http://"),
        2);
  /* A Task's own URL counts, not the global one. */
  assert_int_equal(
      exposure_warnings(PLUGIN(OPT("URL", S("https://sup.example")),
                               TASK("t", CREDS),
                               TASK("u", CREDS, OPT("URL", S("http://x")))),
                        "\"u\""),
      1);
}

static void test_verification_off_warns(void **state) {
  (void)state;
  assert_int_equal(exposure_warnings(PLUGIN(OPT("URL", S("https://s")),
                                            OPT("VerifyPeer", B(false)),
                                            TASK("t", CREDS), TASK("u", CREDS)),
                                     "VerifyPeer"),
                   2);
  assert_int_equal(
      exposure_warnings(PLUGIN(OPT("URL", S("https://s")),
                               OPT("VerifyHost", B(false)), TASK("t", CREDS)),
                        "VerifyHost"),
      1);
}

static void test_proxy(void **state) {
  (void)state;
  static const char *const good[] = {
      "http://proxy.example:3128", "proxy.example:3128",
      "https://u:p@127.0.0.1:8443", "socks5h://user:pw@10.0.0.1:1080",
      "SOCKS4A://h"};
  for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
    nt_config_t cfg;
    load_ok(&cfg, PLUGIN(OPT("URL", S("https://s")), OPT("Proxy", S(good[i])),
                         TASK("t", CREDS)));
    assert_string_equal(cfg.proxy, good[i]);
    nt_config_free(&cfg);
  }
  static const char *const bad[] = {"htp://alice:S3cretPw@127.0.0.1:1",
                                    "ftp://alice:S3cretPw@h",
                                    "http://alice:S3cretPw@", "a b"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    expect_block_error(
        PLUGIN(OPT("URL", S("https://s")), OPT("Proxy", S(bad[i]))), "Proxy",
        NULL);
    assert_false(fake_log_contains("S3cretPw"));
  }
}

static bool has_secret(const nt_config_t *cfg, const char *value) {
  for (size_t i = 0; i < cfg->secrets_num; i++)
    if (strcmp(cfg->secrets[i], value) == 0)
      return true;
  return false;
}

/* What the sender redacts from every message it logs. */
static void test_secrets_to_redact(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("https://s")),
                 OPT("Proxy", S("http://alice:S3cret%2Fpw@127.0.0.1:3128")),
                 OPT("ClientKeyPass", S("keypass!")),
                 OPT("Header", S("X-Api-Key:  k3y-0123456789 ")),
                 OPT("Header", S("X-Short: yes")), TASK("t", CREDS),
                 TASK("u", OPT("TaskID", S(ID)),
                      OPT("AccessToken", S("tok-abcdef")))));
  assert_true(has_secret(&cfg, SECRET));
  assert_true(has_secret(&cfg, "tok-abcdef"));
  assert_true(has_secret(&cfg, "http://alice:S3cret%2Fpw@127.0.0.1:3128"));
  assert_true(has_secret(&cfg, "S3cret%2Fpw"));
  assert_true(has_secret(&cfg, "S3cret/pw"));
  assert_false(has_secret(&cfg, "alice")); /* a user name is no secret */
  assert_true(has_secret(&cfg, "keypass!"));
  assert_true(has_secret(&cfg, "k3y-0123456789"));
  assert_false(has_secret(&cfg, "yes"));
  /* Longest first, so that a secret holding another is found whole. */
  for (size_t i = 1; i < cfg.secrets_num; i++)
    assert_true(strlen(cfg.secrets[i - 1]) >= strlen(cfg.secrets[i]));
  nt_config_free(&cfg);
  /* A proxy without a password is no secret: messages may name it. */
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("https://s")),
                 OPT("Proxy", S("proxy.example:3128")), TASK("t", CREDS)));
  assert_false(has_secret(&cfg, "proxy.example:3128"));
  nt_config_free(&cfg);
}

static void test_err_secret_in_secret_file(void **state) {
  (void)state;
  expect_block_error(
      PLUGIN(OPT("URL", S("https://s")),
             TASK("t", OPT("TaskID", S(ID)), OPT("SecretFile", S(SECRET)))),
      "SecretFile", "t");
  assert_false(fake_log_contains(SECRET));
  assert_true(fake_log_contains("use Secret"));
}

static void test_err_spool_dir_dot_components(void **state) {
  (void)state;
  static const char *const paths[] = {"/var/lib/x/link/.", "/a/../b", "/a/./b",
                                      "/a/.."};
  for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
    expect_block_error(
        PLUGIN(OPT("URL", S("https://s")), OPT("SpoolDir", S(paths[i]))),
        "SpoolDir", NULL);
}

/* The guards' and the follows' options: their forms and bounds. */
static void test_guard_and_follow_options(void **state) {
  (void)state;
  nt_config_t cfg;
  load_ok(&cfg,
          PLUGIN(OPT("URL", S("https://s")), OPT("FollowLimit", N(500)),
                 TASK("t", CREDS, OPT("Confirm", N(2), N(120)),
                      OPT("Budget", N(100), N(3600)),
                      OPT("TaskBudget", N(10000), N(0.5)),
                      OPT("IgnoreFirstOkay", B(0)),
                      OPT("CancelOnRecovery", S("off")), OPT("FollowJob", B(1)),
                      OPT("FollowTimeout", N(90)), OPT("Verify", N(0)))));
  const nt_task_t *t = cfg.tasks[0];
  assert_int_equal(t->confirm.n, 2);
  assert_true(t->confirm.seconds == 120);
  assert_int_equal(t->budget.n, 100);
  assert_int_equal(t->task_budget.n, 10000);
  assert_true(t->task_budget.seconds == 0.5);
  assert_false(t->ignore_first_okay);
  assert_false(t->cancel_on_recovery);
  assert_true(t->follow_job);
  assert_true(t->follow_timeout == 90);
  assert_int_equal(cfg.follow_limit, 500);
  assert_null(t->verifies); /* Verify 0: off */
  nt_config_free(&cfg);
}

static void test_err_guard_forms(void **state) {
  (void)state;
  const struct {
    item_t option;
    const char *name, *says;
  } cases[] = {
      {OPT("Confirm", N(2)), "Confirm", "takes two numbers: K SECONDS"},
      {OPT("Confirm", N(0), N(60)), "Confirm",
       "K must be a whole number from 1 to 100"},
      {OPT("Budget", S("3"), N(60)), "Budget", "takes two numbers: N SECONDS"},
      {OPT("Budget", N(101), N(60)), "Budget",
       "N must be a whole number from 1 to 100"},
      {OPT("Budget", N(2.5), N(60)), "Budget", "whole number"},
      {OPT("Budget", N(2), N(0)), "Budget", "SECONDS must be a number above 0"},
      {OPT("TaskBudget", N(10001), N(60)), "TaskBudget",
       "N must be a whole number from 1 to 10000"},
      {OPT("TaskBudget", N(5), N(366 * 86400)), "TaskBudget", "up to one year"},
      {OPT("Verify", N(-1)), "Verify", "from 0 to one year"},
      {OPT("FollowTimeout", N(0)), "FollowTimeout", "above 0"},
      {OPT("FollowJob", N(1)), "FollowJob", "takes one boolean"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    expect_block_error(
        PLUGIN(OPT("URL", S("https://s")), TASK("t", CREDS, cases[i].option)),
        cases[i].name, "t");
    if (!fake_log_contains(cases[i].says))
      fail_msg("%s: no \"%s\" in the error", cases[i].name, cases[i].says);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_defaults, setup),
      cmocka_unit_test_setup(test_guard_and_follow_options, setup),
      cmocka_unit_test_setup(test_err_guard_forms, setup),
      cmocka_unit_test_setup(test_every_global_option, setup),
      cmocka_unit_test_setup(test_booleans_true, setup),
      cmocka_unit_test_setup(test_keys_case_insensitive, setup),
      cmocka_unit_test_setup(test_fractional_seconds, setup),
      cmocka_unit_test_setup(test_set_twice_keeps_last, setup),
      cmocka_unit_test_setup(test_connect_timeout_defaults, setup),
      cmocka_unit_test_setup(test_task_overrides, setup),
      cmocka_unit_test_setup(test_route_secret_with_customer, setup),
      cmocka_unit_test_setup(test_route_secret_without_customer, setup),
      cmocka_unit_test_setup(test_route_token, setup),
      cmocka_unit_test_setup(test_customer_escaped, setup),
      cmocka_unit_test_setup(test_url_escape, setup),
      cmocka_unit_test_setup(test_upper_case_secret, setup),
      cmocka_unit_test_setup(test_secret_file, setup),
      cmocka_unit_test_setup(test_secret_file_readable_by_others, setup),
      cmocka_unit_test_setup(test_token_file, setup),
      cmocka_unit_test_setup(test_secret_file_missing, setup),
      cmocka_unit_test_setup(test_secret_file_unreadable, setup),
      cmocka_unit_test_setup(test_secret_file_malformed, setup),
      cmocka_unit_test_setup(test_default_arguments, setup),
      cmocka_unit_test_setup(test_accumulating_options, setup),
      cmocka_unit_test_setup(test_task_name_limits, setup),
      cmocka_unit_test_setup(test_lanes, setup),
      cmocka_unit_test_setup(test_two_blocks, setup),
      cmocka_unit_test_setup(test_duplicate_task_across_blocks, setup),
      cmocka_unit_test_setup(test_url_only_in_later_block, setup),
      cmocka_unit_test_setup(test_task_without_url, setup),
      cmocka_unit_test_setup(test_no_block, setup),
      cmocka_unit_test_setup(test_no_task, setup),
      cmocka_unit_test_setup(test_err_unknown_global, setup),
      cmocka_unit_test_setup(test_err_unknown_in_task, setup),
      cmocka_unit_test_setup(test_err_global_only_in_task, setup),
      cmocka_unit_test_setup(test_err_unknown_option_name_in_task, setup),
      cmocka_unit_test_setup(test_err_missing_task_id, setup),
      cmocka_unit_test_setup(test_err_missing_secret, setup),
      cmocka_unit_test_setup(test_err_task_id_short, setup),
      cmocka_unit_test_setup(test_err_task_id_long, setup),
      cmocka_unit_test_setup(test_err_task_id_not_hex, setup),
      cmocka_unit_test_setup(test_err_task_id_number, setup),
      cmocka_unit_test_setup(test_err_secret_short, setup),
      cmocka_unit_test_setup(test_err_secret_long, setup),
      cmocka_unit_test_setup(test_err_secret_not_hex, setup),
      cmocka_unit_test_setup(test_err_secret_empty, setup),
      cmocka_unit_test_setup(test_err_secret_and_token, setup),
      cmocka_unit_test_setup(test_err_token_and_secret, setup),
      cmocka_unit_test_setup(test_err_secret_and_secret_file, setup),
      cmocka_unit_test_setup(test_err_token_with_space, setup),
      cmocka_unit_test_setup(test_err_bad_severity, setup),
      cmocka_unit_test_setup(test_err_invalid_regex, setup),
      cmocka_unit_test_setup(test_err_invalid_regex_message, setup),
      cmocka_unit_test_setup(test_err_filter_number, setup),
      cmocka_unit_test_setup(test_err_unknown_placeholder, setup),
      cmocka_unit_test_setup(test_err_empty_placeholder, setup),
      cmocka_unit_test_setup(test_err_empty_meta, setup),
      cmocka_unit_test_setup(test_err_unterminated_placeholder, setup),
      cmocka_unit_test_setup(test_err_duplicate_task, setup),
      cmocka_unit_test_setup(test_err_task_name_empty, setup),
      cmocka_unit_test_setup(test_err_task_name_slash, setup),
      cmocka_unit_test_setup(test_err_task_without_name, setup),
      cmocka_unit_test_setup(test_err_task_name_too_long, setup),
      cmocka_unit_test_setup(test_err_timeout_zero, setup),
      cmocka_unit_test_setup(test_err_timeout_negative, setup),
      cmocka_unit_test_setup(test_err_timeout_fraction, setup),
      cmocka_unit_test_setup(test_err_timeout_string, setup),
      cmocka_unit_test_setup(test_err_task_timeout_zero, setup),
      cmocka_unit_test_setup(test_err_connect_timeout_zero, setup),
      cmocka_unit_test_setup(test_err_task_connect_timeout_negative, setup),
      cmocka_unit_test_setup(test_err_queue_limit_zero, setup),
      cmocka_unit_test_setup(test_err_queue_limit_string, setup),
      cmocka_unit_test_setup(test_err_max_attempts_zero, setup),
      cmocka_unit_test_setup(test_err_retry_interval_zero, setup),
      cmocka_unit_test_setup(test_err_max_age_negative, setup),
      cmocka_unit_test_setup(test_err_cooldown_negative, setup),
      cmocka_unit_test_setup(test_err_cooldown_string, setup),
      cmocka_unit_test_setup(test_err_url_ftp, setup),
      cmocka_unit_test_setup(test_err_url_not_a_url, setup),
      cmocka_unit_test_setup(test_err_url_empty, setup),
      cmocka_unit_test_setup(test_err_url_number, setup),
      cmocka_unit_test_setup(test_err_task_url_ftp, setup),
      cmocka_unit_test_setup(test_err_url_holding_a_route, setup),
      cmocka_unit_test_setup(test_err_url_ending_in_job, setup),
      cmocka_unit_test_setup(test_err_spool_dir_relative, setup),
      cmocka_unit_test_setup(test_err_spool_limit_zero, setup),
      cmocka_unit_test_setup(test_err_task_name_control_char, setup),
      cmocka_unit_test_setup(test_err_header_without_colon, setup),
      cmocka_unit_test_setup(test_err_customer_number, setup),
      cmocka_unit_test_setup(test_err_customer_empty, setup),
      cmocka_unit_test_setup(test_err_task_customer_empty, setup),
      cmocka_unit_test_setup(test_err_url_space, setup),
      cmocka_unit_test_setup(test_err_url_query, setup),
      cmocka_unit_test_setup(test_err_url_with_secret_not_echoed, setup),
      cmocka_unit_test_setup(test_err_task_id_with_secret_not_echoed, setup),
      cmocka_unit_test_setup(test_err_header_with_token_not_echoed, setup),
      cmocka_unit_test_setup(test_err_customer_two_values, setup),
      cmocka_unit_test_setup(test_err_verify_peer_number, setup),
      cmocka_unit_test_setup(test_err_dry_run_no_value, setup),
      cmocka_unit_test_setup(test_err_argument_no_value, setup),
      cmocka_unit_test_setup(test_err_after_good_task, setup),
      cmocka_unit_test_setup(test_finalize_failure_frees, setup),
      cmocka_unit_test_setup(test_err_url_with_credentials, setup),
      cmocka_unit_test_setup(test_plain_http_warns_unless_loopback, setup),
      cmocka_unit_test_setup(test_verification_off_warns, setup),
      cmocka_unit_test_setup(test_proxy, setup),
      cmocka_unit_test_setup(test_secrets_to_redact, setup),
      cmocka_unit_test_setup(test_err_secret_in_secret_file, setup),
      cmocka_unit_test_setup(test_err_spool_dir_dot_components, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
