/* Shared by the files of the size stage (size.c: the visit and the statement's feed;
 * size_call.c: what each function call builds; size_constant.c: numbers known from
 * constants). Private to the guard; internal.h has the stage's entry point, size_check. */
#ifndef PGSAFE_GUARD_SIZE_H
#define PGSAFE_GUARD_SIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

#define MAX_CONSUMERS 32

/* A multiplying call over a value of unknown size, bounded at the end by the statement's
 * feed (size_check). */
typedef struct consumer {
    const char *name;
    int location;
    double factor;    /* how many times it repeats its input */
    double own_bytes; /* its own result, not fed to itself */
} consumer;

typedef struct size_state {
    const guard_policy *policy;
    guard_verdict *verdict;
    double limit;
    double literal_bytes;    /* all string literals of the statement */
    double multiplier_bytes; /* the known results of all multiplying calls */
    double largest_built;    /* the largest of them, and of the literals */
    consumer consumers[MAX_CONSUMERS];
    size_t consumer_count;
    const char *aggregate; /* the first aggregate's name, NULL if none */
    int aggregate_location;
} size_state;

/* What is known of one expression's value. */
typedef struct estimate {
    bool known;      /* bytes is a bound */
    double bytes;    /* lower bound on its size (upper for replace growth) */
    bool multiplied; /* a multiplying call is somewhere inside it */
    bool consumes;   /* a multiplying call over a value of unknown size */
    double factor;   /* for a consumer: how many times it repeats that value */
} estimate;

/* Nothing known: the estimate every expression starts from. */
extern const estimate size_unknown;

/* size.c. Estimates the value of node, checking every call inside it; false with the
 * verdict set. */
bool size_estimate_node(size_state *state, const PgQuery__Node *node, estimate *out, int depth);
/* Sets a value_too_large verdict for a value of at least bytes built by what; false. */
bool size_reject_too_large(size_state *state, const char *what, double bytes, int location);
/* Sets a value_too_large verdict for a value the guard cannot bound; why is a phrase saying
 * what keeps it from bounding it. False. */
bool size_reject_unbounded(size_state *state, const char *what, int location, const char *why);

/* size_call.c. The function's name when the call names it plainly or in pg_catalog, else
 * NULL (a name in another schema is no built-in this stage knows). */
const char *size_function_name(const PgQuery__FuncCall *call);
/* True when name (may be NULL) is in names, a NULL-terminated list. */
bool size_named(const char *name, const char *const *names);
/* True when the function multiplies its input (repeat, lpad, format, ...; name may be NULL). */
bool size_is_multiplying(const char *name);
/* Estimates a function call and checks its arguments; false with the verdict set when it
 * is refused. */
bool size_estimate_call(size_state *state, const PgQuery__FuncCall *call, estimate *out, int depth);

/* size_constant.c. The value of a constant numeric expression; false when it is none. */
bool size_constant_number(const PgQuery__Node *node, double *value, int depth);
/* A lower bound on the rows a SELECT's aggregates see, when known from constants. */
bool size_select_rows(const PgQuery__SelectStmt *select, double *rows);

/* size_series.c. The rows of generate_series(start, stop [, step]) with constant arguments
 * (numbers, or dates and timestamps with an interval step); false when not known. */
bool size_series_rows(const PgQuery__FuncCall *call, double *rows);
/* Refuses (too_costly) a generate_series whose known rows exceed policy->max_plan_rows. */
bool size_check_series(size_state *state, const PgQuery__FuncCall *call);

#endif
