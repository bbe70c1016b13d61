/* SPDX-License-Identifier: MIT
 *
 * The byte buffer every rendering and the state file are written into. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugin/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* printf formats once when the text fits in the room left, again once
 * there is room when it does not: either way the text is whole. */
static void test_printf_any_length(void **state) {
  (void)state;
  for (size_t want = 0; want < 3000; want += 37) {
    nt_buf_t b = NT_BUF_INIT;
    char *text = malloc(want + 1);
    assert_non_null(text);
    memset(text, 'x', want);
    text[want] = '\0';
    /* Some already in, so that the room left varies. */
    for (size_t i = 0; i < want % 300; i++)
      assert_int_equal(nt_buf_append(&b, "a", 1), 0);
    size_t before = b.len;
    assert_int_equal(nt_buf_printf(&b, "<%s|%d>", text, 42), 0);
    assert_int_equal(b.len, before + want + 5);
    assert_memory_equal(b.data + before + 1, text, want);
    assert_string_equal(b.data + before + 1 + want, "|42>");
    assert_int_equal(strlen(b.data), b.len);
    free(text);
    nt_buf_free(&b);
  }
}

static void test_hex_round_trip(void **state) {
  (void)state;
  char bytes[256];
  for (int i = 0; i < 256; i++)
    bytes[i] = (char)i;
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_buf_puts(&b, "k "), 0);
  assert_int_equal(nt_buf_hex(&b, bytes, sizeof(bytes)), 0);
  assert_int_equal(b.len, 2 + 512);
  assert_memory_equal(b.data + 2, "000102", 6);
  assert_string_equal(b.data + 2 + 510, "ff");
  char back[256];
  assert_int_equal(nt_unhex(b.data + 2, 512, back, sizeof(back)), 256);
  assert_memory_equal(back, bytes, sizeof(bytes));
  /* Too small a target, an odd length, a digit that is not one. */
  assert_int_equal(nt_unhex(b.data + 2, 512, back, 255), -1);
  assert_int_equal(nt_unhex(b.data + 2, 511, back, sizeof(back)), -1);
  assert_int_equal(nt_unhex("0g", 2, back, sizeof(back)), -1);
  nt_buf_reset(&b);
  assert_int_equal(nt_buf_hex(&b, "", 0), 0);
  assert_string_equal(b.data, "-");
  assert_int_equal(nt_unhex("-", 1, back, sizeof(back)), 0);
  nt_buf_free(&b);
}

static void test_reserve_and_steal(void **state) {
  (void)state;
  nt_buf_t b = NT_BUF_INIT;
  assert_int_equal(nt_buf_reserve(&b, 100000), 0);
  assert_true(b.size > 100000);
  assert_int_equal(b.len, 0);
  assert_int_equal(nt_buf_puts(&b, "abc"), 0);
  size_t len = 0;
  char *data = nt_buf_steal(&b, &len);
  assert_int_equal(len, 3);
  assert_string_equal(data, "abc");
  assert_null(b.data);
  free(data);
  /* A buffer whose allocation failed gives nothing, and says so. */
  b.failed = 1;
  assert_int_equal(nt_buf_printf(&b, "%d", 1), -1);
  assert_null(nt_buf_steal(&b, &len));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_printf_any_length),
      cmocka_unit_test(test_hex_round_trip),
      cmocka_unit_test(test_reserve_and_steal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
