# SPDX-License-Identifier: MIT
"""A log file read as it grows: each call returns the lines completed since
the last one (a line still being written waits for its newline)."""

import os


class LogTail:
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
