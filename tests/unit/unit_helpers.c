/* SPDX-License-Identifier: MIT */

#include "unit_helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

item_t th_item(const char *key, const oconfig_value_t *vals, int vals_num,
               const item_t *kids, int kids_num) {
  item_t it = {0};
  it.key = strdup(key);
  assert_non_null(it.key);
  if (vals_num > 0) {
    it.values = calloc((size_t)vals_num, sizeof(*it.values));
    assert_non_null(it.values);
    for (int i = 0; i < vals_num; i++) {
      it.values[i] = vals[i];
      if (vals[i].type == OCONFIG_TYPE_STRING) {
        it.values[i].value.string = strdup(vals[i].value.string);
        assert_non_null(it.values[i].value.string);
      }
    }
  }
  it.values_num = vals_num;
  if (kids_num > 0) {
    it.children = calloc((size_t)kids_num, sizeof(*it.children));
    assert_non_null(it.children);
    memcpy(it.children, kids, (size_t)kids_num * sizeof(*kids));
  }
  it.children_num = kids_num;
  return it;
}

void th_item_free(item_t *it) {
  for (int i = 0; i < it->values_num; i++)
    if (it->values[i].type == OCONFIG_TYPE_STRING)
      free(it->values[i].value.string);
  free(it->values);
  for (int i = 0; i < it->children_num; i++)
    th_item_free(&it->children[i]);
  free(it->children);
  free(it->key);
}

notification_t th_notif(int severity, const char *host, const char *plugin,
                        const char *plugin_instance, const char *type,
                        const char *type_instance, const char *message) {
  notification_t n = {.severity = severity};
  snprintf(n.host, sizeof(n.host), "%s", host);
  snprintf(n.plugin, sizeof(n.plugin), "%s", plugin);
  snprintf(n.plugin_instance, sizeof(n.plugin_instance), "%s", plugin_instance);
  snprintf(n.type, sizeof(n.type), "%s", type);
  snprintf(n.type_instance, sizeof(n.type_instance), "%s", type_instance);
  snprintf(n.message, sizeof(n.message), "%s", message);
  return n;
}

long long th_heap_in_use(void) {
#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 m = mallinfo2();
  return (long long)(m.uordblks + m.hblkhd);
#else
  return 0;
#endif
}
