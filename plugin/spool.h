/* SPDX-License-Identifier: MIT
 *
 * The on-disk spool: one file per job not yet delivered, so that a restart
 * or a crash of collectd loses none. Only file I/O lives here (no threads,
 * no logging); when to write and remove is the spooler's business.
 *
 * The directory is trusted only when it is a real directory (not a
 * symbolic link) owned by the effective uid with no permission for group
 * or others. An open spool holds flock(LOCK_EX) on the directory itself,
 * so a second collectd on it is refused, and the kernel drops the lock
 * when the process dies, even by kill -9 (no lock file to go stale). */
#ifndef NT_SPOOL_H
#define NT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* What a spooled job holds: never a secret. */
typedef struct {
  uint64_t seq;        /* arrival order; also the file's name */
  double arrival;      /* wall-clock seconds: MaxAge survives a restart */
  unsigned attempts;   /* times the supervisor may have seen it */
  const char *task;    /* the Task's name */
  const char *task_id; /* the Task's TaskID when spooled: 24 hex characters */
  uint64_t episode;    /* the job's incident, for CancelOnRecovery; 0: none */
  const char *body;    /* the request body */
  size_t body_len;
} nt_spool_entry_t;

typedef struct nt_spool_s nt_spool_t;

/* For collectd -T: checks an existing directory against the trust rules
 * without creating, locking or writing anything. 0 when it is trusted, or
 * missing with a parent directory to create it in; -1 with the reason in
 * err (which never holds file contents). */
int nt_spool_check(const char *dir, char *err, size_t errlen);

/* Creates the directory (0700) when missing, checks it (the same rules),
 * opens it without following a symbolic link and locks it. NULL with the
 * reason in err when any of that fails: a directory locked by another
 * process is "in use by another collectd (locked)". */
nt_spool_t *nt_spool_open(const char *dir, char *err, size_t errlen);
/* Closes the directory, which releases the lock. NULL is harmless. */
void nt_spool_close(nt_spool_t *sp);

/* Writes an entry (0600) under a temporary name of its own, created
 * exclusively and never through a symbolic link, fdatasync'ed, then
 * renamed into place: a reader never sees half of one. Two threads may
 * write at once, never the same seq. The rename is durable only after
 * nt_spool_sync. 0, or an errno value (EINVAL for an entry that could not
 * be read back: an empty or multi-line task name, a malformed task_id). */
int nt_spool_write(nt_spool_t *sp, const nt_spool_entry_t *e);
/* fsync of the directory: makes the renames and removals done so far
 * durable. 0, or an errno value. */
int nt_spool_sync(nt_spool_t *sp);
/* Unlinks seq's entry: 0, also when it was already gone; else an errno
 * value. */
int nt_spool_remove(nt_spool_t *sp, uint64_t seq);
/* The highest seq named on disk (0 for none): new entries must go above
 * it. */
uint64_t nt_spool_max_seq(nt_spool_t *sp);

/* What visit returns for an entry (any other positive value removes, any
 * other negative one stops). */
enum { NT_SPOOL_KEEP = 0, NT_SPOOL_REMOVE = 1, NT_SPOOL_STOP = -1 };
typedef int (*nt_spool_visit_t)(const nt_spool_entry_t *e, void *arg);
/* why is a short phrase ("checksum mismatch", "not a regular file"), with
 * "; deleted: ..." or "; left in place: ..." appended when the entry could
 * not be moved into corrupt/. */
typedef void (*nt_spool_bad_t)(const char *name, const char *why, void *arg);
/* Calls visit for every entry, in seq order; NT_SPOOL_REMOVE unlinks the
 * entry, NT_SPOOL_STOP ends the load at once. An entry that is not a
 * regular file, does not decode (cut short, damaged, an older format) or
 * whose name is not its seq's is moved into the "corrupt" subdirectory
 * (deleted instead when corrupt/ is not a real directory) and reported to
 * bad. Temporary files left by an earlier process are removed. Returns the
 * number of entries reported to bad, or -1 when the directory cannot be
 * read (then nothing was visited). */
int nt_spool_load(nt_spool_t *sp, nt_spool_visit_t visit, nt_spool_bad_t bad,
                  void *arg);

/* The file format, exposed for tests and the fuzzer. encode returns a
 * malloc'ed buffer (NULL when out of memory or when e could not be read
 * back, see nt_spool_write); decode points e's strings into data (which it
 * may modify) and returns 0, or -1 with why set. */
char *nt_spool_encode(const nt_spool_entry_t *e, size_t *len);
int nt_spool_decode(char *data, size_t len, nt_spool_entry_t *e,
                    const char **why);

/* The temporary name nt_spool_write uses for seq in this open spool
 * (exposed for tests: a link planted there must never be followed).
 * Returns the name's length, as snprintf does. */
int nt_spool_temp_name(const nt_spool_t *sp, uint64_t seq, char *name,
                       size_t size);

/* CRC-32 (IEEE), the checksum of the spool's files. */
uint32_t nt_crc32(const char *data, size_t len);

/* A file of the spool other than its entries (the remediation state):
 * written whole under a temporary name, flushed, renamed into place, the
 * directory flushed; 0 or an errno. */
int nt_spool_put(nt_spool_t *sp, const char *name, const char *data,
                 size_t len);
/* Reads it back whole (at most max bytes, never through a link): 0 with
 * *data (malloc'ed, NUL-terminated) and *len, 1 when absent, -1 with the
 * reason in err. */
int nt_spool_get(nt_spool_t *sp, const char *name, size_t max, char **data,
                 size_t *len, char *err, size_t errlen);

#endif
