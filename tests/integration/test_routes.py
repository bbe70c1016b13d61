# SPDX-License-Identifier: MIT
"""The wire: each route's exact request, headers, body, URL
escaping, per-Task overrides, keep-alive, and credential files."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import *  # noqa: E402,F401,F403

USER_AGENT = "collectd-notify_theeye/1.0.0"
NOTIF_TIME = 1764331200
NOTIF = dict(host="web1", plugin="processes", plugin_instance="nginx",
             type="ps_count", type_instance="processes")
MESSAGE = "nginx is down"
# What the default eight arguments make of NOTIF, byte for byte.
DEFAULT_BODY = (
    '{"task":"%s","task_arguments":["FAILURE","1764331200.000","web1",'
    '"processes","nginx","ps_count","processes","nginx is down"]}' % TASK_ID)


def send(c, message=MESSAGE, **kw):
    fields = dict(NOTIF)
    fields.update(kw)
    c.putnotif(message, time_=NOTIF_TIME, **fields)


def write_file(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


class RouteTest(IntegrationTest):

    def check_common(self, r):
        """What every request must carry, whatever the route."""
        self.assertEqual(r["method"], "POST")
        h = r["headers"]
        self.assertEqual(h.get("content-type"), "application/json")
        self.assertEqual(h.get("accept"), "application/json")
        self.assertEqual(h.get("user-agent"), USER_AGENT)
        self.assertNotIn("expect", h)
        self.assertTrue(r["body_valid_json"], r["body"])
        self.assertEqual(int(h.get("content-length", -1)),
                         len(bytes.fromhex(r["body_hex"])))
        self.assertNotIn("//", r["uri"])

    def check_default_body(self, r, task_id=TASK_ID):
        body = json.loads(r["body"])
        self.assertEqual(body, {
            "task": task_id,
            "task_arguments": ["FAILURE", "1764331200.000", "web1",
                               "processes", "nginx", "ps_count",
                               "processes", MESSAGE]})


class SecretRoutes(RouteTest):

    def test_secret_with_customer(self):
        """The secret route with Customer: POST /job/secret/<secret>?customer=<c>, exact bytes."""
        s = self.supervisor()
        c = self.collectd(plugin_block(s.url, [("t1", task_options())],
                                       Customer=CUSTOMER))
        send(c)
        r = s.wait_jobs(1)[0]
        self.assertEqual(r["uri"], "/job/secret/%s?customer=%s"
                         % (SECRET, CUSTOMER))
        self.assertEqual(r["path"], "/job/secret/" + SECRET)
        self.assertEqual(r["query"], {"customer": CUSTOMER})
        self.check_common(r)
        self.assertNotIn("authorization", r["headers"])
        self.check_default_body(r)
        self.assertEqual(bytes.fromhex(r["body_hex"]),
                         DEFAULT_BODY.encode())
        self.assertEqual(r["status"], 200)
        self.assertEqual(len(s.requests()), 1)

    def test_secret_without_customer(self):
        """The secret route without Customer: POST /task/<id>/secret/<secret>/job, no query at all."""
        s = self.supervisor()
        c = self.collectd(plugin_block(s.url, [("t1", task_options())]))
        send(c)
        r = s.wait_jobs(1)[0]
        self.assertEqual(r["uri"], "/task/%s/secret/%s/job"
                         % (TASK_ID, SECRET))
        self.assertEqual(r["query"], {})
        self.check_common(r)
        self.assertNotIn("authorization", r["headers"])
        self.check_default_body(r)
        self.assertEqual(bytes.fromhex(r["body_hex"]),
                         DEFAULT_BODY.encode())

    def test_uppercase_secret_sent_lower_case(self):
        s = self.supervisor()
        block = plugin_block(s.url, [
            ("upper", task_options(TASK_ID, SECRET.upper()))],
            Customer=CUSTOMER)
        self.assertNotEqual(SECRET.upper(), SECRET)
        c = self.collectd(block)
        send(c)
        r = s.wait_jobs(1)[0]
        self.assertEqual(r["uri"], "/job/secret/%s?customer=%s"
                         % (SECRET, CUSTOMER))
        self.assertNotIn(SECRET.upper(), r["uri"])

    def test_trailing_slash_in_url(self):
        """A URL ending in '/' gives no '//' on either secret route."""
        s = self.supervisor()
        block = plugin_block(s.url + "/", [
            ("with-customer", task_options()),
            ("without-customer",
             ['TaskID "%s"' % TASK_ID2, 'Secret "%s"' % SECRET2,
              'Customer "%s"' % CUSTOMER, 'URL "%s/"' % s.url])])
        # The second Task overrides URL (trailing '/') and Customer; the
        # first one has no Customer at all: the route without it.
        c = self.collectd(block)
        send(c)
        rs = s.wait_jobs(2)
        uris = sorted(r["uri"] for r in rs)
        self.assertEqual(uris, sorted([
            "/task/%s/secret/%s/job" % (TASK_ID, SECRET),
            "/job/secret/%s?customer=%s" % (SECRET2, CUSTOMER)]))
        for r in rs:
            self.check_common(r)

    def test_customer_is_url_escaped(self):
        s = self.supervisor(customers=("a b&c",))
        c = self.collectd(plugin_block(s.url, [("t1", task_options())],
                                       Customer="a b&c"))
        send(c)
        r = s.wait_jobs(1)[0]
        self.assertEqual(r["uri"], "/job/secret/%s?customer=a%%20b%%26c"
                         % SECRET)
        self.assertEqual(r["query"], {"customer": "a b&c"})
        self.assertEqual(r["status"], 200)


class TokenRoutes(RouteTest):

    def token_block(self, url, **globals_):
        return plugin_block(url, [("tok", [
            'TaskID "%s"' % TASK_ID, 'AccessToken "%s"' % TOKEN])],
            **globals_)

    def check_token_request(self, r, uri, query):
        self.assertEqual(r["uri"], uri)
        self.assertEqual(r["query"], query)
        self.assertEqual(r["headers"].get("authorization"),
                         "Bearer " + TOKEN)
        self.assertNotIn(TOKEN, r["uri"])
        self.assertNotIn(TOKEN.lower(), r["uri"].lower())
        self.assertNotIn("access_token", r["uri"])
        self.check_common(r)
        self.check_default_body(r)
        self.assertEqual(bytes.fromhex(r["body_hex"]),
                         DEFAULT_BODY.encode())
        self.assertEqual(r["status"], 200)

    def test_token_with_customer(self):
        """The token route: POST /job?customer=c with Authorization: Bearer."""
        s = self.supervisor()
        c = self.collectd(self.token_block(s.url, Customer=CUSTOMER))
        send(c)
        r = s.wait_jobs(1)[0]
        self.check_token_request(r, "/job?customer=" + CUSTOMER,
                                 {"customer": CUSTOMER})

    def test_token_without_customer(self):
        s = self.supervisor()
        c = self.collectd(self.token_block(s.url))
        send(c)
        r = s.wait_jobs(1)[0]
        self.check_token_request(r, "/job", {})

    def test_token_with_trailing_slash_url(self):
        s = self.supervisor()
        c = self.collectd(self.token_block(s.url + "/", Customer=CUSTOMER))
        send(c)
        r = s.wait_jobs(1)[0]
        self.check_token_request(r, "/job?customer=" + CUSTOMER,
                                 {"customer": CUSTOMER})


class CredentialFiles(RouteTest):

    def test_secret_file(self):
        s = self.supervisor()
        path = write_file(os.path.join(self.dir, "t1.secret"),
                          "  \n" + SECRET + "\n\n")
        c = self.collectd(plugin_block(s.url, [("t1", [
            'TaskID "%s"' % TASK_ID, 'SecretFile "%s"' % path])],
            Customer=CUSTOMER))
        send(c)
        r = s.wait_jobs(1)[0]
        self.assertEqual(r["uri"], "/job/secret/%s?customer=%s"
                         % (SECRET, CUSTOMER))
        self.check_common(r)
        self.assertEqual(r["status"], 200)

    def test_uppercase_secret_file(self):
        s = self.supervisor()
        path = write_file(os.path.join(self.dir, "t1.secret"),
                          SECRET.upper() + "\n")
        c = self.collectd(plugin_block(s.url, [("t1", [
            'TaskID "%s"' % TASK_ID, 'SecretFile "%s"' % path])]))
        send(c)
        r = s.wait_jobs(1)[0]
        self.assertEqual(r["uri"], "/task/%s/secret/%s/job"
                         % (TASK_ID, SECRET))

    def test_access_token_file(self):
        s = self.supervisor()
        path = write_file(os.path.join(self.dir, "t1.token"),
                          "\t" + TOKEN + "  \n")
        c = self.collectd(plugin_block(s.url, [("t1", [
            'TaskID "%s"' % TASK_ID, 'AccessTokenFile "%s"' % path])],
            Customer=CUSTOMER))
        send(c)
        r = s.wait_jobs(1)[0]
        self.assertEqual(r["uri"], "/job?customer=" + CUSTOMER)
        self.assertEqual(r["headers"].get("authorization"),
                         "Bearer " + TOKEN)
        self.assertNotIn(TOKEN, r["uri"])
        self.check_common(r)
        self.assertEqual(r["status"], 200)


class Overrides(RouteTest):

    def test_task_level_url_and_customer(self):
        """A Task's own URL/Customer sends it elsewhere; the others keep
        the global ones."""
        a = self.supervisor("a", customers=(CUSTOMER, "other-a"))
        b = self.supervisor("b", customers=("other-b",))
        args = ['Argument "%{task}"']
        block = plugin_block(a.url, [
            ("global", task_options(TASK_ID, SECRET, *args)),
            ("own-url", task_options(TASK_ID2, SECRET2, *args) + [
                'URL "%s"' % b.url, 'Customer "other-b"']),
            ("own-customer", task_options(TASK_ID, SECRET, *args) + [
                'Customer "other-a"']),
        ], Customer=CUSTOMER)
        c = self.collectd(block)
        send(c)
        ra = a.wait_jobs(2)
        rb = b.wait_jobs(1)
        by_task = {json.loads(r["body"])["task_arguments"][0]: r
                   for r in ra + rb}
        self.assertEqual(sorted(by_task), ["global", "own-customer",
                                           "own-url"])
        self.assertIn(by_task["global"], ra)
        self.assertIn(by_task["own-customer"], ra)
        self.assertIn(by_task["own-url"], rb)
        self.assertEqual(by_task["global"]["uri"],
                         "/job/secret/%s?customer=%s" % (SECRET, CUSTOMER))
        self.assertEqual(by_task["own-customer"]["uri"],
                         "/job/secret/%s?customer=other-a" % SECRET)
        self.assertEqual(by_task["own-url"]["uri"],
                         "/job/secret/%s?customer=other-b" % SECRET2)
        self.assertEqual(json.loads(by_task["own-url"]["body"])["task"],
                         TASK_ID2)
        for r in ra + rb:
            self.check_common(r)
            self.assertEqual(r["status"], 200)
        # Send a second round: still nothing strays to the wrong one,
        # and each supervisor keeps its own keep-alive connection.
        send(c)
        ra = a.wait_jobs(4)
        rb = b.wait_jobs(2)
        self.assertEqual(len(a.requests()), 4)
        self.assertEqual(len(b.requests()), 2)
        self.assertEqual(len({r["connection"] for r in ra}), 1, ra)
        self.assertEqual(len({r["connection"] for r in rb}), 1, rb)


class Blocks(RouteTest):

    def test_global_options_apply_across_blocks(self):
        """Global options keep their last value across blocks and apply
        to every Task, those of earlier blocks included."""
        s = self.supervisor()
        block = (plugin_block(None, [("first", task_options())],
                              Customer="overridden") + "\n" +
                 plugin_block(s.url, [("second", task_options(
                     TASK_ID2, SECRET2))], Customer=CUSTOMER))
        c = self.collectd(block)
        send(c)
        rs = s.wait_jobs(2)
        self.assertEqual(sorted(r["uri"] for r in rs), sorted([
            "/job/secret/%s?customer=%s" % (SECRET, CUSTOMER),
            "/job/secret/%s?customer=%s" % (SECRET2, CUSTOMER)]))


class Connection(RouteTest):

    def test_keep_alive(self):
        """Several notifications in a row share one connection."""
        s = self.supervisor()
        c = self.collectd(plugin_block(s.url, [("t1", task_options())],
                                       Customer=CUSTOMER))
        for i in range(5):
            send(c, message="n%d" % i)
            s.wait_jobs(i + 1)
        rs = s.requests()
        self.assertEqual(len(rs), 5)
        self.assertEqual([json.loads(r["body"])["task_arguments"][7]
                          for r in rs], ["n%d" % i for i in range(5)])
        self.assertEqual(len({r["connection"] for r in rs}), 1,
                         [r["connection"] for r in rs])
        # A burst, too: still the same connection.
        for i in range(5, 10):
            send(c, message="n%d" % i)
        rs = s.wait_jobs(10)
        self.assertEqual(len({r["connection"] for r in rs}), 1,
                         [r["connection"] for r in rs])

    def test_keep_alive_across_tasks_and_routes(self):
        """Tasks of one supervisor share its connection, whatever their
        route."""
        s = self.supervisor()
        c = self.collectd(plugin_block(s.url, [
            ("secret", task_options() + ['Customer "%s"' % CUSTOMER]),
            ("task-route", task_options(TASK_ID2, SECRET2)),
            ("token", ['TaskID "%s"' % TASK_ID,
                       'AccessToken "%s"' % TOKEN]),
        ]))
        for i in range(3):
            send(c, message="n%d" % i)
            s.wait_jobs(3 * (i + 1))
        rs = s.requests()
        self.assertEqual(len(rs), 9)
        self.assertEqual(len({r["uri"] for r in rs}), 3)
        self.assertEqual(len({r["connection"] for r in rs}), 1,
                         [r["connection"] for r in rs])

    def test_extra_header(self):
        s = self.supervisor()
        block = plugin_block(s.url, [("t1", task_options())],
                             Customer=CUSTOMER, Header="X-Extra: yes")
        c = self.collectd(block)
        send(c)
        r = s.wait_jobs(1)[0]
        self.assertEqual(r["headers"].get("x-extra"), "yes")
        self.check_common(r)

    def test_header_replaces_the_user_agent(self):
        # One User-Agent, the configured one: never both.
        s = self.supervisor()
        block = plugin_block(s.url, [("t1", task_options())],
                             Customer=CUSTOMER,
                             Header="user-agent: fleet-remediation/2")
        c = self.collectd(block)
        send(c)
        r = s.wait_jobs(1)[0]
        self.assertEqual(r["headers"].get("user-agent"),
                         "fleet-remediation/2")

    def test_large_body_has_no_expect_header(self):
        """A body of some kilobytes still goes without Expect."""
        s = self.supervisor()
        args = ['Argument "%{message}"'] * 16
        c = self.collectd(plugin_block(s.url, [
            ("big", task_options(TASK_ID, SECRET, *args))],
            Customer=CUSTOMER))
        message = "m" * 200
        send(c, message=message)
        r = s.wait_jobs(1)[0]
        self.check_common(r)
        self.assertGreater(len(r["body"]), 3000)
        self.assertEqual(json.loads(r["body"])["task_arguments"],
                         [message] * 16)


if __name__ == "__main__":
    main()
