/* The functions the catalog's operators and casts call, for the guard's deny list
 * (guard_catalog's operator_functions and cast_functions): per operator, the function behind
 * it; per type, the functions of the casts into it and its input function. And what objects
 * reach without being named (guard_catalog's implicit_functions: per relation, type and
 * function, the global ones, and the built-ins PostgreSQL calls implicitly), each with why.
 * Filled from the catalog query's 'of', 'cf' and "implicit ..." rows by catalog.c, which
 * owns one. */
#ifndef PGSAFE_DB_FUNCTION_LINKS_H
#define PGSAFE_DB_FUNCTION_LINKS_H

#include <stdbool.h>
#include <stddef.h>

#include "db/nametable.h"
#include "pgsafe/guard.h"

/* One object's functions: count entries and one more whose name is NULL. */
typedef struct function_list {
    guard_function_name *items;
    size_t count, capacity;
} function_list;

typedef struct function_links {
    nametable index; /* key "kind\x1fschema\x1fname" (schema "": every schema), value into lists; kinds
                      * 'o' operator, 'c' cast target, and the implicit_functions kinds */
    function_list *lists;
    size_t list_count, list_capacity;
    char **strings; /* owned: the schema and name of every function listed */
    size_t string_count, string_capacity;
} function_links;

/* One row: kind 'o' (operator), 'c' (cast target type) or an implicit_functions kind, the
 * object's schema and name, and the function as "schema\x1fname", optionally followed by
 * "\x1fwhy". False when malformed or out of memory. */
bool function_links_take_row(function_links *links, char kind, const char *schema, const char *name,
                             const char *function);

/* One "implicit KIND" row of the catalog query (KIND: relation, type, function, global or
 * builtin; function as above, with its why). False when malformed or out of memory. */
bool function_links_take_implicit(function_links *links, const char *kind, const char *schema, const char *name,
                                  const char *function);

/* The list of (kind, schema, name), schema NULL for every schema; NULL when none. */
const guard_function_name *function_links_find(const function_links *links, char kind, const char *schema,
                                               const char *name);

/* Frees everything; the links are empty afterwards. */
void function_links_clear(function_links *links);

#endif
