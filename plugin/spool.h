/* The on-disk spool: one file per job not yet delivered, so that a restart
 * or a crash of collectd loses none. Only file I/O lives here; when to
 * write and remove is the sender's business. */
#ifndef NT_SPOOL_H
#define NT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* What a spooled job holds: never a secret, only the Task's name. */
typedef struct {
  uint64_t seq;      /* arrival order; also the file's name */
  double arrival;    /* wall-clock seconds: MaxAge survives a restart */
  unsigned attempts; /* times the supervisor may have seen it */
  const char *task;  /* the Task's name */
  const char *body;  /* the request body */
  size_t body_len;
} nt_spool_entry_t;

typedef struct nt_spool_s nt_spool_t;

/* Creates the directory (0700) if needed. On error returns NULL and says
 * why in err. */
nt_spool_t *nt_spool_open(const char *dir, char *err, size_t errlen);
void nt_spool_close(nt_spool_t *sp);

/* Writes an entry (0600) under a temporary name, then renames it into
 * place: a reader never sees half of one. 0, or an errno value. */
int nt_spool_write(nt_spool_t *sp, const nt_spool_entry_t *e);
/* Flushes what was written to the disk itself (for power loss). */
int nt_spool_sync(nt_spool_t *sp);
int nt_spool_remove(nt_spool_t *sp, uint64_t seq);
/* The highest seq on disk (0 for none): new entries must go above it. */
uint64_t nt_spool_max_seq(nt_spool_t *sp);

/* Calls visit for every readable entry, in seq order; when visit returns
 * non-zero the entry is removed. An entry that does not decode (cut short,
 * corrupt) is moved into the directory's "corrupt" subdirectory and
 * reported to bad. Returns the number of entries moved aside, or -1 when
 * the directory cannot be read. */
typedef int (*nt_spool_visit_t)(const nt_spool_entry_t *e, void *arg);
typedef void (*nt_spool_bad_t)(const char *name, const char *why, void *arg);
int nt_spool_load(nt_spool_t *sp, nt_spool_visit_t visit, nt_spool_bad_t bad,
                  void *arg);

/* The file format, exposed for tests and the fuzzer. encode returns a
 * malloc'ed buffer; decode points e's strings into data (which it may
 * modify) and returns 0, or -1 with why set. */
char *nt_spool_encode(const nt_spool_entry_t *e, size_t *len);
int nt_spool_decode(char *data, size_t len, nt_spool_entry_t *e,
                    const char **why);

#endif
