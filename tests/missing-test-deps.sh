#!/bin/sh
# SPDX-License-Identifier: MIT
# Run by `make check` when configure did not find cmocka or libmicrohttpd:
# fail loudly rather than pass without testing anything.
echo "the tests need libcmocka-dev and libmicrohttpd-dev: install them and run ./configure again" >&2
exit 1
