/* SPDX-License-Identifier: MIT
 *
 * A bounded table of small records keyed by bytes, kept in the order they
 * were last touched: the memory of Cooldown windows and of subjects. Not
 * thread-safe: its owner holds its own lock around every call. Every call
 * costs O(1) on average. */
#ifndef NT_TABLE_H
#define NT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#include "collectd.h"
#include "plugin.h"

typedef struct nt_table_s nt_table_t;

/* At most capacity records of value_size bytes each. */
nt_table_t *nt_table_create(size_t capacity, size_t value_size);
void nt_table_free(nt_table_t *t);

/* The record of key, or NULL. */
void *nt_table_find(nt_table_t *t, const char *key, size_t len);
/* A new record for key (not in the table), zeroed, touched last; when the
 * table is full the least recently touched record goes first. NULL when
 * out of memory. */
void *nt_table_add(nt_table_t *t, const char *key, size_t len);
/* The record becomes the most recently touched. */
void nt_table_touch(nt_table_t *t, void *value);
void nt_table_remove(nt_table_t *t, void *value);
/* Calls visit for every record, the least recently touched first. */
void nt_table_each(nt_table_t *t,
                   void (*visit)(const char *key, size_t len, void *value,
                                 void *arg),
                   void *arg);
/* Copies every record, the least recently touched first, into raw (an
 * empty buffer), so that its owner can read them without holding its lock;
 * -1 when out of memory. */
int nt_table_snapshot(nt_table_t *t, nt_buf_t *raw);
/* The record at *pos of a snapshot, which moves on: its key, and its value
 * copied into value (value_size bytes); false past the last. */
bool nt_table_snapshot_next(const nt_buf_t *raw, size_t *pos, const char **key,
                            size_t *len, void *value, size_t value_size);
/* Copies the record's key into out (size bytes at least the key's
 * length: NT_SUBJECT_KEY_MAX for a subject's); returns its length. */
size_t nt_table_key(nt_table_t *t, void *value, char *out, size_t size);
/* The least recently touched record, or NULL. */
void *nt_table_oldest(nt_table_t *t);
size_t nt_table_size(const nt_table_t *t);

/* A 64-bit hash of a key (FNV-1a). */
uint64_t nt_key_hash(const char *key, size_t len);

/* A notification's subject as a key: host, plugin, plugin instance, type
 * and type instance joined by a byte no field holds (so that no two
 * subjects share one). key must hold NT_SUBJECT_KEY_MAX bytes; returns the
 * length. */
#define NT_SUBJECT_KEY_MAX (5 * DATA_MAX_NAME_LEN + 8)
size_t nt_subject_key(const notification_t *n, char *key);

#endif
