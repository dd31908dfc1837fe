/* The functions behind the catalog's operators and casts (see function_links.h). */
#include "db/function_links.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

/* A copy of text kept until the links are cleared, or NULL when memory runs out. */
static const char *keep(function_links *links, const char *text, size_t length) {
    if (links->string_count == links->string_capacity) {
        size_t capacity = links->string_capacity ? links->string_capacity * 2 : 32;
        char **grown = realloc(links->strings, capacity * sizeof *grown);
        if (grown == NULL)
            return NULL;
        links->strings = grown;
        links->string_capacity = capacity;
    }
    char *copy = str_printf("%.*s", (int)length, text);
    if (copy != NULL)
        links->strings[links->string_count++] = copy;
    return copy;
}

/* The list under the key, created when absent; NULL when memory runs out. */
static function_list *list_for(function_links *links, char kind, const char *schema, const char *name) {
    if (links->list_count == links->list_capacity) {
        size_t capacity = links->list_capacity ? links->list_capacity * 2 : 16;
        function_list *grown = realloc(links->lists, capacity * sizeof *grown);
        if (grown == NULL)
            return NULL;
        links->lists = grown;
        links->list_capacity = capacity;
    }
    bool created;
    int index = nametable_intern(&links->index, kind, schema, name, (int)links->list_count, &created);
    if (index < 0)
        return NULL;
    if (created)
        links->lists[links->list_count++] = (function_list){0};
    return &links->lists[index];
}

static bool append(function_list *list, guard_function_name function) {
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].schema, function.schema) == 0 && strcmp(list->items[i].name, function.name) == 0)
            return true;
    if (list->count + 1 >= list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 4;
        guard_function_name *grown = realloc(list->items, capacity * sizeof *grown);
        if (grown == NULL)
            return false;
        list->items = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = function;
    list->items[list->count] = (guard_function_name){NULL, NULL, NULL};
    return true;
}

bool function_links_take_row(function_links *links, char kind, const char *schema, const char *name,
                             const char *function) {
    if (schema == NULL || name == NULL || function == NULL)
        return false;
    const char *separator = strchr(function, '\x1f');
    if (separator == NULL)
        return false;
    const char *name_start = separator + 1, *why_separator = strchr(name_start, '\x1f');
    size_t name_length = why_separator != NULL ? (size_t)(why_separator - name_start) : strlen(name_start);
    guard_function_name called = {keep(links, function, (size_t)(separator - function)),
                                  keep(links, name_start, name_length), NULL};
    if (why_separator != NULL)
        called.why = keep(links, why_separator + 1, strlen(why_separator + 1));
    if (called.schema == NULL || called.name == NULL || (why_separator != NULL && called.why == NULL))
        return false;
    function_list *qualified = list_for(links, kind, schema, name);
    if (qualified == NULL || !append(qualified, called))
        return false;
    function_list *any_schema = list_for(links, kind, NULL, name);
    return any_schema != NULL && append(any_schema, called);
}

/* The kinds of the catalog's "implicit ..." rows and their one-letter codes. */
static const struct {
    const char *word;
    char code;
} implicit_kinds[] = {{"relation", 'r'}, {"type", 't'}, {"function", 'f'}, {"global", 'g'}, {"builtin", 'b'}};

bool function_links_take_implicit(function_links *links, const char *kind, const char *schema, const char *name,
                                  const char *function) {
    for (size_t i = 0; i < sizeof implicit_kinds / sizeof *implicit_kinds; i++)
        if (strcmp(kind, implicit_kinds[i].word) == 0)
            return function_links_take_row(links, implicit_kinds[i].code, schema, name, function);
    return false;
}

const guard_function_name *function_links_find(const function_links *links, char kind, const char *schema,
                                               const char *name) {
    if (links->index.capacity == 0 || name == NULL)
        return NULL;
    char *key = nametable_key(kind, schema, name);
    if (key == NULL)
        return NULL;
    const nametable_entry *slot = nametable_slot(&links->index, key);
    free(key);
    if (slot == NULL || slot->key == NULL)
        return NULL;
    assert((size_t)slot->value < links->list_count);
    return links->lists[slot->value].items;
}

void function_links_clear(function_links *links) {
    nametable_clear(&links->index);
    for (size_t i = 0; i < links->list_count; i++)
        free(links->lists[i].items);
    free(links->lists);
    for (size_t i = 0; i < links->string_count; i++)
        free(links->strings[i]);
    free(links->strings);
    *links = (function_links){0};
}
