/* SPDX-License-Identifier: MIT
 *
 * What several unit tests build the same way: configuration trees (the
 * oconfig_item_t collectd hands to the plugin) and notifications. Every
 * string is copied, so a tree or a notification owns what it holds. */
#ifndef NT_UNIT_HELPERS_H
#define NT_UNIT_HELPERS_H

#include "collectd.h"
#include "plugin.h"

#include "liboconfig/oconfig.h"

/* ---- Configuration trees ---------------------------------------------- */

typedef oconfig_item_t item_t;

/* Values of an option. */
#define S(x)                                                                   \
  ((oconfig_value_t){.value.string = (char *)(x), .type = OCONFIG_TYPE_STRING})
#define N(x)                                                                   \
  ((oconfig_value_t){.value.number = (x), .type = OCONFIG_TYPE_NUMBER})
#define B(x)                                                                   \
  ((oconfig_value_t){.value.boolean = (x), .type = OCONFIG_TYPE_BOOLEAN})

/* An array and its length, as th_item takes them. */
#define VALS(...)                                                              \
  (oconfig_value_t[]){__VA_ARGS__},                                            \
      (int)(sizeof((oconfig_value_t[]){__VA_ARGS__}) /                         \
            sizeof(oconfig_value_t))
#define KIDS(...)                                                              \
  (item_t[]){__VA_ARGS__},                                                     \
      (int)(sizeof((item_t[]){__VA_ARGS__}) / sizeof(item_t))

/* An item; the key, the string values and both arrays are copied, so
 * everything is freed by th_item_free (the children themselves are taken
 * over, not copied). Fails the test when out of memory. */
item_t th_item(const char *key, const oconfig_value_t *vals, int vals_num,
               const item_t *kids, int kids_num);
/* Frees what th_item allocated, children included. */
void th_item_free(item_t *it);

/* An option with one or more values. */
#define OPT(key, ...) th_item(key, VALS(__VA_ARGS__), NULL, 0)
/* An option without any value. */
#define OPT0(key) th_item(key, NULL, 0, NULL, 0)
#define TASK(name, ...) th_item("Task", VALS(S(name)), KIDS(__VA_ARGS__))
#define PLUGIN(...)                                                            \
  th_item("Plugin", VALS(S("notify_theeye")), KIDS(__VA_ARGS__))
#define PLUGIN0() th_item("Plugin", VALS(S("notify_theeye")), NULL, 0)

/* ---- Notifications ---------------------------------------------------- */

/* A notification with these fields (each cut to collectd's bounds); its
 * time is 0 and it has no meta data. */
notification_t th_notif(int severity, const char *host, const char *plugin,
                        const char *plugin_instance, const char *type,
                        const char *type_instance, const char *message);

/* ---- Memory ----------------------------------------------------------- */

/* Bytes that glibc's allocator has handed out and not taken back. Under
 * valgrind or ASan, whose allocators replace it, it sees none of the
 * program's allocations and the figure stays put: the tool checks for
 * leaks itself then. */
long long th_heap_in_use(void);

#endif
