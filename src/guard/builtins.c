/* Lookups in the generated tables of PostgreSQL 15 built-ins. */
#include "builtins.h"

#include <stdlib.h>
#include <string.h>

static int compare_builtin(const void *key, const void *element) {
    return strcmp((const char *)key, ((const guard_builtin *)element)->name);
}

static guard_volatility lookup(const guard_builtin *table, size_t count, const char *name) {
    const guard_builtin *found = bsearch(name, table, count, sizeof *table, compare_builtin);
    if (found == NULL)
        return GUARD_VOLATILITY_UNKNOWN;
    switch (found->volatility) {
    case 'i': return GUARD_VOLATILITY_IMMUTABLE;
    case 's': return GUARD_VOLATILITY_STABLE;
    default: return GUARD_VOLATILITY_VOLATILE;
    }
}

guard_volatility builtin_function_volatility(const char *name) {
    return lookup(guard_builtin_functions, guard_builtin_function_count, name);
}

guard_volatility builtin_operator_volatility(const char *name) {
    return lookup(guard_builtin_operators, guard_builtin_operator_count, name);
}

guard_volatility builtin_type_volatility(const char *name) {
    return lookup(guard_builtin_types, guard_builtin_type_count, name);
}
