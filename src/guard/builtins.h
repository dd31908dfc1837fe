/* Tables of PostgreSQL 15 built-ins (pg_catalog) with their worst volatility, generated
 * by scripts/gen-builtins into builtins_pg15.c, and their lookups. */
#ifndef PGSAFE_GUARD_BUILTINS_H
#define PGSAFE_GUARD_BUILTINS_H

#include <stddef.h>

#include "pgsafe/guard.h"

typedef struct guard_builtin {
    const char *name; /* as in pg_catalog, case-sensitive */
    char volatility;  /* worst over overloads: 'i', 's' or 'v' */
} guard_builtin;

extern const guard_builtin guard_builtin_functions[];
extern const size_t guard_builtin_function_count;
extern const guard_builtin guard_builtin_operators[];
extern const size_t guard_builtin_operator_count;
extern const guard_builtin guard_builtin_types[];
extern const size_t guard_builtin_type_count;

/* Each returns GUARD_VOLATILITY_UNKNOWN for a name that is not a built-in. */
guard_volatility builtin_function_volatility(const char *name);
guard_volatility builtin_operator_volatility(const char *name);
guard_volatility builtin_type_volatility(const char *name);

#endif
