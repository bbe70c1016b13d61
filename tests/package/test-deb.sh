#!/bin/sh
# SPDX-License-Identifier: MIT
# The Debian package, tested as a user gets it: in a fresh Debian 12
# (bookworm, debootstrap --variant=minbase) chroot, from the same mirror as
# this host's apt sources,
#   1. apt-get install -y ./collectd-notify-theeye_*.deb, which must pull
#      collectd-core, libcurl4 and libyajl2 from the mirror;
#   2. the plugin is /usr/lib/collectd/notify_theeye.so (a real file), no
#      .la is installed, the man page collectd-notify_theeye(5) and the
#      examples (examples/notify_theeye.conf, examples/recipes/*.conf) are;
#   3. collectd -T passes on the installed example configuration, set up as
#      its header says (a file in /etc/collectd/collectd.conf.d, one secret
#      file per Task), and on each recipe alone;
#   4. tests/demo.sh runs against the INSTALLED plugin: the fake supervisor
#      must create at least one job.
# Why: make check tests the plugin in the build tree; only this catches a
# package that misses a file, depends on the wrong thing or installs where
# collectd does not look.
#
#   sh tests/package/test-deb.sh DEB [FAKE_SUPERVISOR]
#
# DEB is collectd-notify-theeye_<version>_<arch>.deb (make deb);
# FAKE_SUPERVISOR is the built tests/fake_supervisor (default:
# ./tests/fake_supervisor, i.e. run from the build directory after
# `make tests/fake_supervisor`). Runs as root (debootstrap, chroot, mount).
#
# Environment:
#   TEST_DEB_MIRROR    Debian mirror (default: this host's, for bookworm)
#   TEST_DEB_SECURITY  security mirror (default: this host's, for
#                      bookworm-security)
#   TEST_DEB_CACHE     where the debootstrap tarball is kept between runs
#                      (default: /var/cache/notify_theeye-test-deb); it is
#                      remade when older than TEST_DEB_CACHE_DAYS (7)
#   TEST_DEB_TIMEOUT   seconds for the whole test (default 1200)
#   TEST_DEB_KEEP=1    keep the chroot and the logs (path printed)
#   TEST_DEB_WORKDIR   where the work directory is made (default /var/tmp;
#                      it must allow executables and device files)
#
# Time: each step has a timeout (downloading the base system 600 s, its
# install 300 s, apt-get 300 or 600 s, collectd -T 60 s, the demo 120 s)
# and the whole test TEST_DEB_TIMEOUT seconds (default 1200). On the
# reference machine (2 cores, a near mirror): about 65 s without the
# debootstrap tarball, about 40 s with it.
#
# The mirror must be http:// (a minbase chroot has no CA certificates): the
# host's first http:// address is taken (from a mirror list too, as cloud
# images have: mirror+file:), else http://deb.debian.org. A proxy comes from
# http_proxy or apt's Acquire::http::Proxy, and reaches apt in the chroot
# through a file there, never a command line.
#
# Cleans up only what it made: its work directory under /var/tmp (chroot
# and logs), what is mounted in that chroot (the /proc it mounts there,
# and what an interrupted debootstrap may leave) and the processes left
# running inside it. The debootstrap tarball stays in the cache.

# shellcheck disable=SC2015,SC2016 # A && B || fail; dpkg-query's ${Field}
set -eu

# The last line is the verdict: "test-deb: PASS (...)" when every check
# passed, "test-deb: FAIL: <why>" otherwise (an unexpected exit included).
passed='' reason='' work='' root='' step_pid='' watchdog=''
fail() {
  reason=$*
  exit 1
}
finish() {
  status=$?
  # A second signal must not cut the clean-up short.
  trap '' INT TERM
  trap - EXIT
  [ -z "$watchdog" ] || kill "$watchdog" 2>/dev/null || true
  if [ -n "$step_pid" ]; then
    kill -TERM "$step_pid" 2>/dev/null || true
    wait "$step_pid" 2>/dev/null || true
  fi
  # Whatever still runs inside this chroot was started by this test.
  if [ -n "$root" ] && [ -d "$root" ]; then
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] || continue
      echo "test-deb: killing ${p#/proc/}, left running in the chroot"
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    done
  fi
  # The /proc this test mounted, and whatever an interrupted debootstrap
  # left mounted in the chroot: deepest first.
  if [ -n "$root" ]; then
    awk -v r="$root" 'index($2, r "/") == 1 { print $2 }' /proc/mounts |
      sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" ||
          echo "test-deb: could not unmount $m"
      done
  fi
  if [ -z "$work" ]; then
    :
  elif [ "${TEST_DEB_KEEP:-0}" = 1 ]; then
    echo "test-deb: kept $work (chroot: $root, logs: $work/log.*)"
  elif grep -q " $work/" /proc/mounts; then
    echo "test-deb: something is still mounted under $work: not removing it"
  else
    rm -rf --one-file-system "$work"
  fi
  if [ "$status" -eq 0 ] && [ -n "$passed" ]; then
    echo "test-deb: PASS ($passed)"
  else
    [ "$status" -ne 0 ] || status=1
    echo "test-deb: FAIL: ${reason:-exit status $status}"
  fi
  exit "$status"
}
trap finish EXIT
trap 'reason=interrupted; exit 130' INT
trap 'reason=terminated; [ ! -f "$work/timed-out" ] ||
  reason="timed out after ${deadline}s (TEST_DEB_TIMEOUT)"; exit 143' TERM

[ $# -ge 1 ] && [ $# -le 2 ] || fail "usage: $0 DEB [FAKE_SUPERVISOR]"
[ "$(id -u)" -eq 0 ] || fail "must run as root (debootstrap, chroot, mount)"
for tool in debootstrap chroot mount umount timeout dpkg-deb dpkg; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (apt-get install debootstrap)"
done

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
deb=$1
supervisor=${2:-$(pwd)/tests/fake_supervisor}
[ -f "$deb" ] || fail "no such .deb: $deb"
[ -x "$supervisor" ] ||
  fail "no fake supervisor at $supervisor (build it: make tests/fake_supervisor)"
for f in "$top/tests/demo.sh" "$top/conf/demo.conf" "$top/conf/notify_theeye.conf"; do
  [ -f "$f" ] || fail "missing $f"
done
package=$(dpkg-deb -f "$deb" Package)
[ "$package" = collectd-notify-theeye ] ||
  fail "$deb is package $package, not collectd-notify-theeye"
arch=$(dpkg --print-architecture)
deb_arch=$(dpkg-deb -f "$deb" Architecture)
[ "$deb_arch" = "$arch" ] || fail "$deb is for $deb_arch, this host is $arch"

# The host's URI for SUITE (exactly that suite, Types deb) in its apt
# sources, deb822 or one-line style; empty when there is none.
host_uri() {
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$1" 'BEGIN { RS = ""; FS = "\n" }
      {
        t = ""; u = ""; s = ""; off = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^[Ee]nabled:[ \t]*[Nn]o/) off = 1
          else if ($i ~ /^Types:/) t = " " substr($i, 7) " "
          else if ($i ~ /^URIs:/) u = substr($i, 6)
          else if ($i ~ /^Suites:/) s = " " substr($i, 8) " "
        }
        gsub(/[ \t]+/, " ", t); gsub(/[ \t]+/, " ", s)
        if (!off && t ~ / deb / && index(s, " " suite " ")) {
          split(u, a, /[ \t]+/)
          for (j = 1; j in a; j++) if (a[j] != "") { print a[j]; exit }
        }
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$1" '$1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f"
  done
}
# The first address of those that the bare chroot can use: http://, or the
# first http:// line of a mirror list (mirror+file:PATH).
usable_uri() {
  while read -r u; do
    case $u in
    http://*)
      echo "$u"
      return
      ;;
    mirror+file:*)
      f=${u#mirror+file:}
      f=/${f#"${f%%[!/]*}"}
      [ -f "$f" ] || continue
      u=$(sed -n 's|^[[:space:]]*\(http://[^[:space:]]*\).*|\1|p' "$f" |
        head -n 1)
      [ -z "$u" ] || {
        echo "$u"
        return
      }
      ;;
    esac
  done
}
mirror=${TEST_DEB_MIRROR:-$(host_uri bookworm | usable_uri)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${TEST_DEB_SECURITY:-$(host_uri bookworm-security | usable_uri)}
security=${security:-http://deb.debian.org/debian-security}
cache=${TEST_DEB_CACHE:-/var/cache/notify_theeye-test-deb}
cache_days=${TEST_DEB_CACHE_DAYS:-7}
tarball=$cache/bookworm-minbase-$arch.tgz

if [ -z "${http_proxy:-}" ]; then
  http_proxy=$(apt-config dump --format '%v%n' Acquire::http::Proxy 2>/dev/null |
    head -n 1)
  [ -z "$http_proxy" ] || export http_proxy
fi

workdir=${TEST_DEB_WORKDIR:-/var/tmp}
if command -v findmnt >/dev/null 2>&1; then
  case ",$(findmnt -no OPTIONS -T "$workdir")," in
  *,noexec,* | *,nodev,*)
    fail "$workdir is mounted noexec or nodev: nothing runs in a chroot there (set TEST_DEB_WORKDIR)"
    ;;
  esac
fi
deadline=${TEST_DEB_TIMEOUT:-1200}
# Its real path: /proc shows the chroot's and the mounts' real paths.
work=$(mktemp -d "$workdir/notify_theeye-test-deb.XXXXXX")
work=$(cd "$work" && pwd -P)
root=$work/root
log=$work/log
# The whole test's deadline: a subshell that sleeps a second at a time (so
# that stopping it leaves nothing behind), then stops the test.
(
  i=0
  while [ "$i" -lt "$deadline" ]; do
    # Gone (even killed with SIGKILL): never signal a reused PID.
    kill -0 $$ 2>/dev/null || exit 0
    sleep 1
    i=$((i + 1))
  done
  : >"$work/timed-out"
  kill -TERM $$
) &
watchdog=$!

# step NAME SECONDS COMMAND...: runs COMMAND with a timeout, its output in
# $log.NAME; on failure shows the end of that log and fails the test.
step() {
  step_name=$1 step_seconds=$2
  shift 2
  if [ "$1" = in_root ]; then
    shift
    # shellcheck disable=SC2086 # root_env: words without blanks
    set -- chroot "$root" /usr/bin/env -i $root_env "$@"
  fi
  # In the background, so that a signal interrupts the wait (and finish
  # stops the step) rather than waiting for the step to end.
  timeout -k 10 "$step_seconds" "$@" >"$log.$step_name" 2>&1 &
  step_pid=$!
  if wait "$step_pid"; then
    step_pid=
    return 0
  else
    step_status=$?
    step_pid=
  fi
  echo "test-deb: $step_name failed (exit $step_status); the end of its log:"
  tail -n 40 "$log.$step_name" | sed 's/^/  | /'
  [ "$step_status" -ne 124 ] || fail "$step_name: timed out after $step_seconds s"
  fail "$step_name failed"
}

# in_root COMMAND...: runs COMMAND in the chroot, with a clean environment
# (also as the command of step).
root_env="PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8
  DEBIAN_FRONTEND=noninteractive"
in_root() {
  # shellcheck disable=SC2086 # root_env: words without blanks
  chroot "$root" /usr/bin/env -i $root_env "$@"
}

started=$(date +%s)
echo "== test-deb: $deb in a fresh bookworm chroot ($mirror)"

# The debootstrap tarball (the packages of a minbase bookworm): made once,
# remade when older than $cache_days days, so that a warm run downloads
# nothing for the base system.
if [ -f "$tarball" ] && [ -z "$(find "$tarball" -mtime +"$cache_days")" ]; then
  echo "== debootstrap tarball: $tarball (cached)"
else
  echo "== debootstrap tarball: downloading to $tarball"
  mkdir -p "$cache"
  step make-tarball 600 debootstrap --variant=minbase --arch="$arch" \
    --make-tarball="$work/base.tgz" bookworm "$work/download" "$mirror"
  rm -rf "$work/download"
  mv -f "$work/base.tgz" "$tarball.$$" && mv -f "$tarball.$$" "$tarball"
fi
step debootstrap 300 debootstrap --variant=minbase --arch="$arch" \
  --unpack-tarball="$tarball" bookworm "$root" "$mirror"
if [ -n "${http_proxy:-}" ]; then
  (umask 077 && printf 'Acquire::http::Proxy "%s";\n' "$http_proxy" \
    >"$root/etc/apt/apt.conf.d/99proxy")
fi

cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
# No daemon starts inside the chroot (collectd-core's postinst would try).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

for p in collectd-core libcurl4 libyajl2; do
  if in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    fail "$p is already in the fresh chroot: the test could not show the .deb pulls it"
  fi
done

echo "== apt-get install ./$(basename "$deb")"
mkdir -p "$root/root/debs"
cp "$deb" "$root/root/debs/"
step apt-update 300 in_root apt-get update
step apt-install 600 in_root sh -c 'cd /root/debs && apt-get install -y ./collectd-notify-theeye_*.deb'
for p in collectd-core libcurl4 libyajl2 collectd-notify-theeye; do
  in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
    fail "$p is not installed after apt-get install"
done
pulled=$(in_root dpkg-query -W -f='${Package} ${Version}\n' collectd-core libcurl4 libyajl2 |
  paste -s -d, - | sed 's/,/, /g')
echo "   pulled from the mirror: $pulled"

echo "== installed files"
so=/usr/lib/collectd/notify_theeye.so
[ -f "$root$so" ] && [ ! -L "$root$so" ] || fail "$so is missing (or a symbolic link)"
in_root dpkg -L collectd-notify-theeye >"$log.files"
! grep -q '\.la$' "$log.files" || fail "the package installs a .la: $(grep '\.la$' "$log.files")"
for f in "$root"/usr/lib/collectd/notify_theeye*.la; do
  [ ! -e "$f" ] || fail "${f#"$root"} is installed"
done
man=$(grep -E '^/usr/share/man/man5/collectd-notify_theeye\.5(\.gz)?$' "$log.files" || true)
[ -n "$man" ] && [ -f "$root$man" ] ||
  fail "no man page /usr/share/man/man5/collectd-notify_theeye.5.gz in the package"
case "$man" in *.gz) gzip -t "$root$man" || fail "$man is not a valid gzip file" ;; esac
zcat -f "$root$man" | grep -q '^\.TH' ||
  fail "$man is not a man page (no .TH)"
examples=/usr/share/doc/collectd-notify-theeye/examples
cmp -s "$top/conf/notify_theeye.conf" "$root$examples/notify_theeye.conf" ||
  fail "$examples/notify_theeye.conf is missing or differs from conf/notify_theeye.conf"
for r in "$top"/conf/recipes/*.conf; do
  cmp -s "$r" "$root$examples/recipes/$(basename "$r")" ||
    fail "$examples/recipes/$(basename "$r") is missing or differs from conf/recipes/"
done
echo "   $so, $man, $examples/{notify_theeye.conf,recipes/*.conf}, no .la"

# collectd -T on the installed example, installed as its header says. The
# stock /etc/collectd/collectd.conf comes with Debian's "collectd" package,
# not collectd-core: this one keeps only what matters here, its Include of
# collectd.conf.d.
echo "== collectd -T on the installed examples"
# collectd -T initialises the plugins and reads once: df reads /etc/mtab,
# processes and memory (the demo) read /proc. A booted Debian has both;
# /etc/mtab is made at boot by systemd-tmpfiles (debian.conf), as here.
mount -t proc proc "$root/proc"
[ -e "$root/etc/mtab" ] || [ -L "$root/etc/mtab" ] ||
  ln -s ../proc/self/mounts "$root/etc/mtab"
cat >"$root/etc/collectd/collectd.conf" <<'EOF'
FQDNLookup false
BaseDir "/var/lib/collectd"
PIDFile "/run/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
<Include "/etc/collectd/collectd.conf.d">
  Filter "*.conf"
</Include>
EOF
mkdir -p "$root/etc/collectd/collectd.conf.d"
# check_T NAME FILE: FILE alone in collectd.conf.d, a secret file for each
# of its SecretFile lines, then collectd -T must pass and load the plugin.
check_T() {
  rm -f "$root"/etc/collectd/collectd.conf.d/*.conf "$root"/etc/collectd/theeye/*.secret
  cp "$2" "$root/etc/collectd/collectd.conf.d/"
  install -d -m 700 "$root/etc/collectd/theeye"
  sed -n 's/^[[:space:]]*SecretFile[[:space:]]*"\([^"]*\)".*/\1/p' "$2" |
    while read -r secret; do
      mkdir -p "$root$(dirname "$secret")"
      printf '%s\n' 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
        >"$root$secret"
      chmod 600 "$root$secret"
    done
  step "T-$1" 60 in_root collectd -T -C /etc/collectd/collectd.conf
  grep -q 'plugin "notify_theeye" successfully loaded' "$log.T-$1" ||
    fail "collectd -T on $1 did not load notify_theeye (see above)"
  echo "   $1: ok"
}
check_T notify_theeye.conf "$root$examples/notify_theeye.conf"
# The recipes load other plugins of collectd-core, whose libraries Debian
# only suggests: processes (service-down.conf) needs libmnl0.
step apt-install-recipes 300 in_root apt-get install -y libmnl0
for r in "$root$examples"/recipes/*.conf; do
  check_T "recipe-$(basename "$r")" "$r"
done
rm -f "$root"/etc/collectd/collectd.conf.d/*.conf

# The demo, against the installed plugin. The fake supervisor needs
# libmicrohttpd12 and libyajl2.
echo "== the demo against $so"
step apt-install-demo 300 in_root apt-get install -y libmicrohttpd12 libyajl2
mkdir -p "$root/opt/nt-demo/tests" "$root/opt/nt-demo/conf"
cp "$supervisor" "$root/opt/nt-demo/tests/fake_supervisor"
cp "$top/tests/demo.sh" "$root/opt/nt-demo/tests/demo.sh"
cp "$top/conf/demo.conf" "$root/opt/nt-demo/conf/demo.conf"
step demo 120 in_root sh -c 'cd /opt/nt-demo &&
  DEMO_PLUGIN_DIR=/usr/lib/collectd \
  DEMO_SUPERVISOR=/opt/nt-demo/tests/fake_supervisor sh tests/demo.sh'
sed 's/^/   | /' "$log.demo"
jobs=$(sed -n 's/^== the supervisor created \([0-9][0-9]*\) job(s)$/\1/p' "$log.demo")
[ "${jobs:-0}" -ge 1 ] || fail "the demo created no job"

passed="$package $(dpkg-deb -f "$deb" Version): installed, files, collectd -T, demo with $jobs job(s); $(($(date +%s) - started)) s"
