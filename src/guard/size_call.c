/* What a function call builds, for the size stage (size.c). The multiplying functions
 * (repeat, lpad and rpad, array_fill, replace and regexp_replace, format) each have an
 * estimator in one table, and the checks common to them follow it: the count must be a
 * constant, the result within the limit, and growth over a value that hides another
 * multiplying call must be bounded (fail closed). Other calls carry their arguments'
 * sizes: preserving and concatenating functions, fixed-size results, and anything else,
 * whose size is unknown but whose arguments may still be large. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "size.h"

const char *size_function_name(const PgQuery__FuncCall *call) {
    if (call->n_funcname == 0 || call->n_funcname > 2)
        return NULL;
    const PgQuery__Node *last = call->funcname[call->n_funcname - 1];
    if (last->node_case != PG_QUERY__NODE__NODE_STRING)
        return NULL;
    if (call->n_funcname == 2 && (call->funcname[0]->node_case != PG_QUERY__NODE__NODE_STRING ||
                                  strcmp(call->funcname[0]->string->sval, "pg_catalog") != 0))
        return NULL;
    return last->string->sval;
}

bool size_named(const char *name, const char *const *names) {
    for (; name != NULL && *names != NULL; names++)
        if (strcmp(name, *names) == 0)
            return true;
    return false;
}

/* Results at least as large as their first argument (or all arguments, for the concats). */
static const char *const preserving_functions[] = {
    "upper",           "lower",    "initcap", "reverse",    "quote_literal", "quote_ident", "quote_nullable",
    "to_json",         "to_jsonb", "encode",  "convert_to", "convert_from",  "textcat",     "xmlcomment",
    "array_to_string", "text",     NULL};
/* Fixed-size results, in bytes of their text or binary form. */
typedef struct fixed_size {
    const char *name;
    double bytes;
} fixed_size;
static const fixed_size fixed_sizes[] = {{"md5", 32},    {"sha224", 28}, {"sha256", 32},         {"sha384", 48},
                                         {"sha512", 64}, {"uuid", 16},   {"gen_random_uuid", 16}};

static const char *const concatenating_functions[] = {
    "concat", "concat_ws", "json_build_array", "jsonb_build_array", "json_build_object", "jsonb_build_object", NULL};

/* Estimates argument index of call into *each (when not NULL), clearing *ok when a call
 * inside it is refused; returns its known size, 0 when unknown. */
static double argument_bytes(size_state *state, const PgQuery__FuncCall *call, size_t index, estimate *each, bool *ok,
                             int depth) {
    estimate value = size_unknown;
    if (index < call->n_args && !size_estimate_node(state, call->args[index], &value, depth + 1))
        *ok = false;
    if (each != NULL)
        *each = value;
    return value.known ? value.bytes : 0;
}

/* The widths of a constant format() string: %10s, %-10s, %*s (from a constant argument). */
static bool format_bytes(const PgQuery__FuncCall *call, double *bytes) {
    if (call->n_args < 1 || call->args[0]->node_case != PG_QUERY__NODE__NODE_A_CONST ||
        call->args[0]->a_const->val_case != PG_QUERY__A__CONST__VAL_SVAL)
        return false;
    const char *text = call->args[0]->a_const->sval->sval;
    size_t next_argument = 1;
    double total = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p != '%') {
            total += 1;
            continue;
        }
        p++;
        while (*p >= '0' && *p <= '9' && p[1] == '$')
            p += 2; /* a position such as %1$ (single digit is enough for a lower bound) */
        if (*p == '-')
            p++;
        double width = 0;
        if (*p == '*') {
            double value = 0;
            if (next_argument >= call->n_args || !size_constant_number(call->args[next_argument], &value, 0))
                return false; /* a width that is not a constant cannot be bounded */
            width = fabs(value);
            next_argument++;
            p++;
        } else {
            while (*p >= '0' && *p <= '9')
                width = width * 10 + (*p++ - '0');
        }
        if (*p == '\0')
            break;
        if (*p != '%')
            next_argument++;
        total += width;
    }
    *bytes = total;
    return true;
}

/* What a multiplying call's estimator found, for the checks common to them all. */
typedef struct growth {
    estimate input;   /* the value it multiplies */
    double count;     /* how many times, or the length it pads to */
    bool count_known; /* count is a constant (or the growth is bounded otherwise) */
} growth;

/* One multiplying function: estimates its arguments (clearing *ok when a call inside one is
 * refused), fills *found and *out. False only when it refuses the call itself (verdict set). */
typedef bool (*growth_estimator)(size_state *state, const PgQuery__FuncCall *call, int depth, growth *found,
                                 estimate *out, bool *ok);

/* repeat(s, n): n copies of s. A string of unknown size is taken as one byte here; the
 * statement's feed bounds it at the end (size_check). */
static bool estimate_repeat(size_state *state, const PgQuery__FuncCall *call, int depth, growth *found, estimate *out,
                            bool *ok) {
    argument_bytes(state, call, 0, &found->input, ok, depth);
    argument_bytes(state, call, 1, NULL, ok, depth);
    found->count_known = size_constant_number(call->args[1], &found->count, depth + 1);
    if (found->count_known && (found->input.known || !found->input.multiplied))
        *out = (estimate){true, (found->input.known ? found->input.bytes : 1) * (found->count > 0 ? found->count : 0),
                          true, false, 0};
    out->consumes = !found->input.known;
    out->factor = found->count;
    return true;
}

/* lpad(s, n [, fill]) and rpad: n characters. With an empty fill the result is only cut
 * to length, never grown. */
static bool estimate_pad(size_state *state, const PgQuery__FuncCall *call, int depth, growth *found, estimate *out,
                         bool *ok) {
    argument_bytes(state, call, 0, &found->input, ok, depth);
    argument_bytes(state, call, 1, NULL, ok, depth);
    estimate fill = {true, 1, false, false, 0};
    if (call->n_args >= 3)
        argument_bytes(state, call, 2, &fill, ok, depth);
    found->count_known = size_constant_number(call->args[1], &found->count, depth + 1);
    if (found->count_known && fill.known && fill.bytes > 0)
        *out = (estimate){true, found->count > 0 ? found->count : 0, true, false, 0};
    found->input.multiplied = found->input.multiplied || fill.multiplied;
    return true;
}

/* array_fill(value, ARRAY[dimensions]): the product of the dimensions, each a value. */
static bool estimate_array_fill(size_state *state, const PgQuery__FuncCall *call, int depth, growth *found,
                                estimate *out, bool *ok) {
    argument_bytes(state, call, 0, &found->input, ok, depth);
    argument_bytes(state, call, 1, NULL, ok, depth);
    const PgQuery__Node *dimensions = call->args[1];
    if (dimensions->node_case == PG_QUERY__NODE__NODE_TYPE_CAST)
        dimensions = dimensions->type_cast->arg;
    if (dimensions->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR) {
        found->count = 1;
        found->count_known = true;
        for (size_t i = 0; i < dimensions->a_array_expr->n_elements; i++) {
            double extent = 0;
            if (!size_constant_number(dimensions->a_array_expr->elements[i], &extent, depth + 1)) {
                found->count_known = false;
                break;
            }
            found->count *= extent > 0 ? extent : 0;
        }
    }
    if (found->count_known && (found->input.known || !found->input.multiplied))
        *out = (estimate){true, found->count * (found->input.known && found->input.bytes > 1 ? found->input.bytes : 1),
                          true, false, 0};
    out->consumes = !found->input.known;
    out->factor = found->count;
    return true;
}

/* replace(s, from, to) and regexp_replace: the growth is bounded from the sizes alone (an
 * upper bound: every match of from becomes to). */
static bool estimate_replace(size_state *state, const PgQuery__FuncCall *call, int depth, growth *found, estimate *out,
                             bool *ok) {
    estimate from = size_unknown, to = size_unknown;
    argument_bytes(state, call, 0, &found->input, ok, depth);
    argument_bytes(state, call, 1, &from, ok, depth);
    argument_bytes(state, call, 2, &to, ok, depth);
    for (size_t i = 3; i < call->n_args; i++)
        argument_bytes(state, call, i, NULL, ok, depth);
    found->count_known = true; /* the growth is bounded from the sizes alone */
    if (found->input.known && to.known) {
        double matches = found->input.bytes / (from.known && from.bytes > 1 ? from.bytes : 1);
        double grown = found->input.bytes + matches * to.bytes;
        if (*ok && grown > state->limit && to.bytes > (from.known ? from.bytes : 0))
            return size_reject_too_large(state, "replace", grown, call->location);
        *out = (estimate){true, found->input.bytes, true, false, 0};
    }
    out->consumes = !found->input.known || !to.known;
    /* Each byte of the input may become the whole replacement. */
    out->factor = to.known ? to.bytes / (from.known && from.bytes > 1 ? from.bytes : 1) : 0;
    found->input.multiplied = found->input.multiplied || to.multiplied;
    return true;
}

/* format(fmt, ...): the widths of a constant format string (format_bytes). */
static bool estimate_format(size_state *state, const PgQuery__FuncCall *call, int depth, growth *found, estimate *out,
                            bool *ok) {
    for (size_t i = 0; i < call->n_args; i++)
        argument_bytes(state, call, i, NULL, ok, depth);
    double bytes = 0;
    if (format_bytes(call, &bytes)) {
        *out = (estimate){true, bytes, false, false, 0};
        found->count_known = true;
    }
    return true;
}

/* The multiplying functions; a call with another number of arguments is estimated as an
 * ordinary one. */
typedef struct multiplier {
    const char *name;
    size_t min_args, max_args;
    growth_estimator estimate;
} multiplier;

static const multiplier multipliers[] = {
    {"repeat", 2, 2, estimate_repeat},          {"lpad", 2, SIZE_MAX, estimate_pad},
    {"rpad", 2, SIZE_MAX, estimate_pad},        {"array_fill", 2, SIZE_MAX, estimate_array_fill},
    {"replace", 3, SIZE_MAX, estimate_replace}, {"regexp_replace", 3, SIZE_MAX, estimate_replace},
    {"format", 0, SIZE_MAX, estimate_format},
};

static const multiplier *find_multiplier(const char *name) {
    for (size_t i = 0; name != NULL && i < sizeof multipliers / sizeof *multipliers; i++)
        if (strcmp(multipliers[i].name, name) == 0)
            return &multipliers[i];
    return NULL;
}

bool size_is_multiplying(const char *name) {
    return find_multiplier(name) != NULL;
}

/* A multiplying call: its estimator, then the checks common to them all. */
static bool estimate_growth(size_state *state, const PgQuery__FuncCall *call, const multiplier *function, estimate *out,
                            int depth) {
    bool ok = true;
    growth found = {size_unknown, 0, false};
    if (!function->estimate(state, call, depth, &found, out, &ok) || !ok)
        return false;
    out->multiplied = true;
    if (!found.count_known)
        return size_reject_unbounded(state, function->name, call->location,
                                     "its count, length, width or dimensions are not constants");
    if (out->known && out->bytes > state->limit)
        return size_reject_too_large(state, function->name, out->bytes, call->location);
    /* Compounding growth that cannot be bounded: fail closed. */
    if (!out->known && found.input.multiplied && strcmp(function->name, "format") != 0)
        return size_reject_unbounded(state, function->name, call->location,
                                     "it multiplies the result of another such call whose size is not known");
    return true;
}

/* A preserving function (its first argument's size) or a concatenating one (the sum of all). */
static bool estimate_copying(size_state *state, const PgQuery__FuncCall *call, const char *name, estimate *out,
                             int depth) {
    bool ok = true;
    bool concatenates = size_named(name, concatenating_functions);
    double total = 0;
    bool any = false;
    for (size_t i = 0; i < call->n_args; i++) {
        estimate each = size_unknown;
        argument_bytes(state, call, i, &each, &ok, depth);
        if (each.known)
            total += each.bytes, any = true;
        out->multiplied = out->multiplied || each.multiplied;
        if (!concatenates)
            break; /* only the first argument is carried into the result */
    }
    for (size_t i = 1; i < call->n_args && !concatenates; i++)
        argument_bytes(state, call, i, NULL, &ok, depth);
    out->known = any;
    out->bytes = total;
    if (ok && total > state->limit)
        return size_reject_too_large(state, name, total, call->location);
    return ok;
}

/* Any other call: of unknown size, but whatever it wraps may be large: carry that along. */
static bool carry_arguments(size_state *state, const PgQuery__FuncCall *call, estimate *out, int depth) {
    bool ok = true;
    for (size_t i = 0; i < call->n_args; i++) {
        estimate each = size_unknown;
        argument_bytes(state, call, i, &each, &ok, depth);
        out->multiplied = out->multiplied || each.multiplied;
    }
    return ok;
}

bool size_estimate_call(size_state *state, const PgQuery__FuncCall *call, estimate *out, int depth) {
    const char *name = size_function_name(call);
    *out = size_unknown;
    if (name == NULL)
        return carry_arguments(state, call, out, depth);
    const multiplier *function = find_multiplier(name);
    if (function != NULL && call->n_args >= function->min_args && call->n_args <= function->max_args)
        return estimate_growth(state, call, function, out, depth);
    if (size_named(name, preserving_functions) || size_named(name, concatenating_functions))
        return estimate_copying(state, call, name, out, depth);
    for (size_t i = 0; i < sizeof fixed_sizes / sizeof *fixed_sizes; i++)
        if (strcmp(fixed_sizes[i].name, name) == 0)
            *out = (estimate){true, fixed_sizes[i].bytes, false, false, 0};
    return carry_arguments(state, call, out, depth);
}
