#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make check's herd test: bench/herd.py --check, the short variant of
`make herd`.

60 real collectd daemons, each given 4 notifications during an outage of
the supervisor (6 s of 503 with a Retry-After drawn from 3 to 6 s per
answer, as a supervisor that spreads its clients' returns gives it, then
6 s of connection refused), against one tests/fake_supervisor that then takes 30 job
requests a second. Asserts, for each outage: no job lost; no duplicate
beyond what at-least-once delivery allows (a second job only where the
answer to a request that created one was lost: none here, where every
refusal is a 503 that proves the job was not processed and every other
request is answered within milliseconds); every job delivered within 3x
the least time the capacity allows; the supervisor's peak accepted rate
<= its capacity; its peak of job requests seen per second after the
recovery <= 2.5x its capacity (a fleet back in step, as after one
Retry-After for all, reaches 2.8x); and that the fake supervisor's own per-second
counts agree with its log. Prints the figures. About 40 s on 2 cores,
bounded at 85 s. Exit 0, 1 (an assertion failed), 99 (collectd, the fake
supervisor or the plugin is missing), 77 (skipped under valgrind, which
would make sixty daemons crawl).
"""

import os
import sys

SRCDIR = os.environ.get("NT_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("NT_BUILDDIR") or os.getcwd()

if __name__ == "__main__":
    if os.environ.get("NT_VALGRIND", "") not in ("", "0"):
        print("herd: skipped under valgrind")
        sys.exit(77)
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.join(SRCDIR, "bench"))
    import herd  # noqa: E402 (found only once the path is set)
    # Beside this test's log; make clean removes it.
    sys.exit(herd.main(["--check", "--out",
                        os.path.join(BUILDDIR, "tests", "herd",
                                     "results")] + sys.argv[1:]))
