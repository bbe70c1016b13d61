/* SPDX-License-Identifier: MIT */

#include "table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry_s {
  struct entry_s *bucket_next;
  struct entry_s *older, *newer; /* by last touch */
  uint64_t hash;
  size_t key_len;
  max_align_t value[]; /* value_size bytes, then the key */
} entry_t;

struct nt_table_s {
  size_t capacity, value_size, size;
  size_t key_bytes; /* of every key together: a snapshot's size */
  entry_t **buckets;
  size_t buckets_num; /* a power of two */
  entry_t *oldest, *newest;
};

uint64_t nt_key_hash(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

static char *key_of(const nt_table_t *t, entry_t *e) {
  return (char *)e->value + t->value_size;
}

static entry_t *entry_of(void *value) {
  return (entry_t *)((char *)value - offsetof(entry_t, value));
}

nt_table_t *nt_table_create(size_t capacity, size_t value_size) {
  nt_table_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->capacity = capacity;
  t->value_size = value_size;
  t->buckets_num = 16;
  while (t->buckets_num < capacity)
    t->buckets_num *= 2;
  t->buckets = calloc(t->buckets_num, sizeof(*t->buckets));
  if (t->buckets == NULL) {
    free(t);
    return NULL;
  }
  return t;
}

void nt_table_free(nt_table_t *t) {
  if (t == NULL)
    return;
  for (entry_t *e = t->oldest, *next; e != NULL; e = next) {
    next = e->newer;
    free(e);
  }
  free(t->buckets);
  free(t);
}

static void unlink_age(nt_table_t *t, entry_t *e) {
  if (e->older)
    e->older->newer = e->newer;
  else
    t->oldest = e->newer;
  if (e->newer)
    e->newer->older = e->older;
  else
    t->newest = e->older;
  e->older = e->newer = NULL;
}

static void append_age(nt_table_t *t, entry_t *e) {
  e->older = t->newest;
  e->newer = NULL;
  if (t->newest)
    t->newest->newer = e;
  else
    t->oldest = e;
  t->newest = e;
}

void *nt_table_find(nt_table_t *t, const char *key, size_t len) {
  uint64_t hash = nt_key_hash(key, len);
  entry_t *e = t->buckets[hash & (t->buckets_num - 1)];
  while (e != NULL && (e->hash != hash || e->key_len != len ||
                       memcmp(key_of(t, e), key, len) != 0))
    e = e->bucket_next;
  return e != NULL ? e->value : NULL;
}

void *nt_table_add(nt_table_t *t, const char *key, size_t len) {
  if (t->size >= t->capacity && t->oldest != NULL)
    nt_table_remove(t, t->oldest->value);
  entry_t *e = calloc(1, sizeof(*e) + t->value_size + len);
  if (e == NULL)
    return NULL;
  e->hash = nt_key_hash(key, len);
  e->key_len = len;
  memcpy(key_of(t, e), key, len);
  entry_t **bucket = &t->buckets[e->hash & (t->buckets_num - 1)];
  e->bucket_next = *bucket;
  *bucket = e;
  append_age(t, e);
  t->size++;
  t->key_bytes += len;
  return e->value;
}

void nt_table_touch(nt_table_t *t, void *value) {
  entry_t *e = entry_of(value);
  if (t->newest == e)
    return;
  unlink_age(t, e);
  append_age(t, e);
}

void nt_table_remove(nt_table_t *t, void *value) {
  entry_t *e = entry_of(value);
  entry_t **p = &t->buckets[e->hash & (t->buckets_num - 1)];
  while (*p != e)
    p = &(*p)->bucket_next;
  *p = e->bucket_next;
  unlink_age(t, e);
  t->size--;
  t->key_bytes -= e->key_len;
  free(e);
}

void nt_table_each(nt_table_t *t,
                   void (*visit)(const char *key, size_t len, void *value,
                                 void *arg),
                   void *arg) {
  for (entry_t *e = t->oldest; e != NULL; e = e->newer)
    visit(key_of(t, e), e->key_len, e->value, arg);
}

int nt_table_snapshot(nt_table_t *t, nt_buf_t *raw) {
  /* Made under its owner's lock: one pass. */
  size_t size = t->size * (sizeof(size_t) + t->value_size) + t->key_bytes;
  if (nt_buf_reserve(raw, size) != 0)
    return -1;
  char *p = raw->data + raw->len;
  for (entry_t *e = t->oldest; e != NULL; e = e->newer) {
    memcpy(p, &e->key_len, sizeof(e->key_len));
    p += sizeof(e->key_len);
    memcpy(p, key_of(t, e), e->key_len);
    p += e->key_len;
    memcpy(p, e->value, t->value_size);
    p += t->value_size;
  }
  raw->len += size;
  raw->data[raw->len] = '\0';
  return 0;
}

bool nt_table_snapshot_next(const nt_buf_t *raw, size_t *pos, const char **key,
                            size_t *len, void *value, size_t value_size) {
  if (*pos >= raw->len)
    return false;
  memcpy(len, raw->data + *pos, sizeof(*len));
  *key = raw->data + *pos + sizeof(*len);
  memcpy(value, *key + *len, value_size);
  *pos += sizeof(*len) + *len + value_size;
  return true;
}

size_t nt_table_key(nt_table_t *t, void *value, char *out, size_t size) {
  entry_t *e = entry_of(value);
  size_t len = e->key_len < size ? e->key_len : size;
  memcpy(out, key_of(t, e), len);
  return len;
}

void *nt_table_oldest(nt_table_t *t) {
  return t->oldest != NULL ? t->oldest->value : NULL;
}

size_t nt_table_size(const nt_table_t *t) { return t->size; }

size_t nt_subject_key(const notification_t *n, char *key) {
  const char *fields[] = {n->host, n->plugin, n->plugin_instance, n->type,
                          n->type_instance};
  size_t len = 0;
  for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
    size_t flen = strnlen(fields[i], DATA_MAX_NAME_LEN);
    memcpy(key + len, fields[i], flen);
    len += flen;
    key[len++] = '\0';
  }
  return len;
}
