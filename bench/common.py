# SPDX-License-Identifier: MIT
"""What bench.py and herd.py both use: polling with a deadline, a GET to
127.0.0.1, and a log file read as it grows."""

import os
import socket
import time


def wait_until(predicate, timeout, interval=0.05):
    """Polls predicate until it returns a true value or timeout passes;
    returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def http(port, target, timeout=5):
    """GET target from 127.0.0.1:port (no proxy): (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
                   % target).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


class LogTail:
    """Each call to new_lines returns the lines completed since the last one
    (a line still being written waits for its newline)."""

    def __init__(self, path, from_end=False):
        """from_end: only what is written from now on (a server that serves
        several runs keeps one log)."""
        self.path = path
        self.pos = 0
        if from_end:
            try:
                self.pos = os.path.getsize(path)
            except FileNotFoundError:
                pass
        self.rest = b""

    def new_lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return []
        self.pos += len(data)
        lines = (self.rest + data).split(b"\n")
        self.rest = lines.pop()
        return lines
