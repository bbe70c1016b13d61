/* SPDX-License-Identifier: MIT
 *
 * The request body ("any input is safe"): any bytes as task
 * arguments give valid JSON, each invalid UTF-8 sequence replaced by
 * U+FFFD, nothing lost.
 *
 * Input: the whole of it goes through nt_utf8_sanitize; then it is cut at
 * every 0x1E byte: the first piece is the task id (up to its first NUL),
 * the others (up to 64) are the arguments, NUL bytes included. */
/* memmem */
#define _GNU_SOURCE

#include "fuzz_util.h"

#include "../../plugin/json.h"

#include <yajl/yajl_tree.h>

#define MAX_PIECES 65
#define FFFD "\xEF\xBF\xBD"

static void sanitize(const uint8_t *data, size_t size, nt_buf_t *out) {
  FUZZ_CHECK(nt_utf8_sanitize((const char *)data, size, out) == 0);
  FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)out->data, out->len));
  if (fuzz_utf8_valid(data, size)) {
    /* Valid text is left as it is. */
    FUZZ_CHECK(out->len == size);
    FUZZ_CHECK(size == 0 || memcmp(out->data, data, size) == 0);
  } else {
    FUZZ_CHECK(out->len > 0 && memmem(out->data, out->len, FFFD, 3) != NULL);
  }
  /* Every ASCII byte survives, in order: only the bytes of invalid
   * sequences are replaced, never a neighbour. */
  size_t j = 0;
  for (size_t i = 0; i < size; i++) {
    if (data[i] >= 0x80)
      continue;
    while (j < out->len && (unsigned char)out->data[j] >= 0x80)
      j++;
    FUZZ_CHECK(j < out->len && (unsigned char)out->data[j] == data[i]);
    j++;
  }
  /* At most one U+FFFD (3 bytes) per input byte. */
  FUZZ_CHECK(out->len <= 3 * size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nt_buf_t whole = NT_BUF_INIT;
  sanitize(data, size, &whole);
  nt_buf_free(&whole);

  const uint8_t *pieces[MAX_PIECES];
  size_t lens[MAX_PIECES];
  size_t n = fuzz_split(data, size, 0x1E, pieces, lens, MAX_PIECES);

  /* Exact-size copies, so a read past an argument is caught. */
  size_t id_len = strnlen((const char *)pieces[0], lens[0]);
  char *task_id = malloc(id_len + 1);
  const char **args = calloc(n, sizeof(*args));
  if (task_id == NULL || args == NULL)
    abort();
  memcpy(task_id, pieces[0], id_len);
  task_id[id_len] = '\0';
  for (size_t i = 1; i < n; i++) {
    char *a = malloc(lens[i] ? lens[i] : 1);
    if (a == NULL)
      abort();
    memcpy(a, pieces[i], lens[i]);
    args[i - 1] = a;
  }

  size_t body_len = 0;
  char *body = nt_json_body(task_id, args, lens + 1, n - 1, &body_len);
  FUZZ_CHECK(body != NULL);
  FUZZ_CHECK(strlen(body) == body_len);
  FUZZ_CHECK(fuzz_utf8_valid((const unsigned char *)body, body_len));

  /* Valid JSON, of the request body's shape, holding what was given. */
  char err[256];
  yajl_val tree = yajl_tree_parse(body, err, sizeof(err));
  if (tree == NULL)
    fprintf(stderr, "not JSON (%s): %s\n", err, body);
  FUZZ_CHECK(tree != NULL && YAJL_IS_OBJECT(tree));
  FUZZ_CHECK(tree->u.object.len == 2);
  const char *task_path[] = {"task", NULL};
  const char *args_path[] = {"task_arguments", NULL};
  yajl_val task = yajl_tree_get(tree, task_path, yajl_t_string);
  yajl_val list = yajl_tree_get(tree, args_path, yajl_t_array);
  FUZZ_CHECK(task != NULL && list != NULL);
  FUZZ_CHECK(list->u.array.len == n - 1);

  nt_buf_t clean = NT_BUF_INIT;
  sanitize((const uint8_t *)task_id, id_len, &clean);
  FUZZ_CHECK(strcmp(YAJL_GET_STRING(task), clean.data ? clean.data : "") == 0);
  for (size_t i = 1; i < n; i++) {
    nt_buf_reset(&clean);
    sanitize(pieces[i], lens[i], &clean);
    yajl_val v = list->u.array.values[i - 1];
    FUZZ_CHECK(YAJL_IS_STRING(v));
    /* yajl hands strings over NUL-terminated: compare up to the first
     * NUL of the argument (escaped as \u0000 in the body). */
    const char *got = YAJL_GET_STRING(v);
    size_t want = clean.data ? strnlen(clean.data, clean.len) : 0;
    FUZZ_CHECK(strlen(got) == want);
    FUZZ_CHECK(want == 0 || memcmp(got, clean.data, want) == 0);
  }
  nt_buf_free(&clean);
  yajl_tree_free(tree);

  free(body);
  for (size_t i = 0; i + 1 < n; i++)
    free((char *)args[i]);
  free(args);
  free(task_id);
  return 0;
}
