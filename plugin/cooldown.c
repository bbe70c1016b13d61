/* Cooldown windows per notification identity, shared by collectd's threads
 * under one lock that is never held while logging. */
#include "cooldown.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry_s {
  struct entry_s *bucket_next;
  struct entry_s *older, *newer; /* by window start */
  uint64_t hash;
  double start;
  size_t key_len;
  char key[];
} entry_t;

struct nt_cooldown_s {
  pthread_mutex_t lock;
  double seconds;
  size_t capacity;
  size_t size;
  entry_t **buckets;
  size_t buckets_num; /* a power of two */
  entry_t *oldest, *newest;
};

nt_cooldown_t *nt_cooldown_create(double seconds, size_t capacity) {
  nt_cooldown_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->seconds = seconds;
  c->capacity = capacity;
  c->buckets_num = 16;
  while (c->buckets_num < capacity)
    c->buckets_num *= 2;
  c->buckets = calloc(c->buckets_num, sizeof(*c->buckets));
  if (c->buckets == NULL) {
    free(c);
    return NULL;
  }
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

void nt_cooldown_free(nt_cooldown_t *c) {
  if (c == NULL)
    return;
  for (entry_t *e = c->oldest, *next; e != NULL; e = next) {
    next = e->newer;
    free(e);
  }
  free(c->buckets);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* Fields joined by a byte no field can hold, so no two identities share a
 * key. */
static size_t identity_key(const notification_t *n, char *key, size_t size) {
  const char *fields[] = {n->host, n->plugin, n->plugin_instance, n->type,
                          n->type_instance};
  size_t len = 0;
  for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
    size_t flen = strnlen(fields[i], DATA_MAX_NAME_LEN);
    if (len + flen + 2 > size)
      break;
    memcpy(key + len, fields[i], flen);
    len += flen;
    key[len++] = '\0';
  }
  key[len++] = (char)('0' + n->severity);
  return len;
}

static uint64_t fnv1a(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

static void unlink_age(nt_cooldown_t *c, entry_t *e) {
  if (e->older)
    e->older->newer = e->newer;
  else
    c->oldest = e->newer;
  if (e->newer)
    e->newer->older = e->older;
  else
    c->newest = e->older;
  e->older = e->newer = NULL;
}

static void append_age(nt_cooldown_t *c, entry_t *e) {
  e->older = c->newest;
  e->newer = NULL;
  if (c->newest)
    c->newest->newer = e;
  else
    c->oldest = e;
  c->newest = e;
}

static void remove_entry(nt_cooldown_t *c, entry_t *e) {
  entry_t **p = &c->buckets[e->hash & (c->buckets_num - 1)];
  while (*p != e)
    p = &(*p)->bucket_next;
  *p = e->bucket_next;
  unlink_age(c, e);
  c->size--;
  free(e);
}

/* Called with the lock held. */
static entry_t *find(nt_cooldown_t *c, const char *key, size_t len,
                     uint64_t hash) {
  entry_t *e = c->buckets[hash & (c->buckets_num - 1)];
  while (e != NULL &&
         (e->hash != hash || e->key_len != len || memcmp(e->key, key, len)))
    e = e->bucket_next;
  return e;
}

bool nt_cooldown_admit(nt_cooldown_t *c, const notification_t *n, double now) {
  char key[5 * DATA_MAX_NAME_LEN + 8];
  size_t len = identity_key(n, key, sizeof(key));
  uint64_t hash = fnv1a(key, len);
  bool admit = true;

  pthread_mutex_lock(&c->lock);
  /* Windows that have closed are forgotten first: they suppress nothing. */
  while (c->oldest != NULL && now - c->oldest->start >= c->seconds)
    remove_entry(c, c->oldest);
  entry_t *e = find(c, key, len, hash);
  if (e != NULL) {
    admit = false; /* its window is still open */
  } else {
    if (c->size >= c->capacity)
      remove_entry(c, c->oldest);
    e = malloc(sizeof(*e) + len);
    if (e != NULL) {
      e->hash = hash;
      e->start = now;
      e->key_len = len;
      memcpy(e->key, key, len);
      entry_t **bucket = &c->buckets[hash & (c->buckets_num - 1)];
      e->bucket_next = *bucket;
      *bucket = e;
      append_age(c, e);
      c->size++;
    }
    /* Out of memory: admit without remembering rather than lose an alert. */
  }
  pthread_mutex_unlock(&c->lock);
  return admit;
}

void nt_cooldown_withdraw(nt_cooldown_t *c, const notification_t *n,
                          double now) {
  char key[5 * DATA_MAX_NAME_LEN + 8];
  size_t len = identity_key(n, key, sizeof(key));
  pthread_mutex_lock(&c->lock);
  entry_t *e = find(c, key, len, fnv1a(key, len));
  if (e != NULL && e->start == now)
    remove_entry(c, e);
  pthread_mutex_unlock(&c->lock);
}

size_t nt_cooldown_size(nt_cooldown_t *c) {
  pthread_mutex_lock(&c->lock);
  size_t size = c->size;
  pthread_mutex_unlock(&c->lock);
  return size;
}
