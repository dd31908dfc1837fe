/* Values too large to build: one short query can make a backend allocate gigabytes before
 * any timeout fires (repeat(repeat(repeat('x', 1000), 1000), 1000), lpad('', 500000000),
 * string_agg over generate_series(1, 1e8)), and an out-of-memory kill of one backend
 * restarts the whole cluster. This stage computes, from constant arguments, a lower bound
 * on the size of the values such calls build, and refuses any beyond max_value_bytes.
 *
 * Sizes are lower bounds in bytes (so a refusal is certain), except for replace() and
 * regexp_replace(), whose growth is bounded from above, and for values fed through columns
 * (below). Constant arithmetic (1e3 * 1e3, power(10, 9), (SELECT 1000), '1000'::int) is
 * evaluated. A size argument that is not a constant is refused: a column may carry a
 * constant from elsewhere in the statement. Where growth compounds and cannot be bounded
 * (a multiplying call over a value that hides another), the guard fails closed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Values the guard cannot follow. A value may reach a multiplying call through a column of a
 * subquery or CTE (SELECT repeat(s, 1000) FROM (SELECT repeat('x', 100000) s) t), and an
 * aggregate may collect one over rows nobody counted. So:
 *  - a consumer, a multiplying call over a value of unknown size with a constant factor, is
 *    bounded as if that value held everything the statement builds from constants: all its
 *    string literals and the results of its other multiplying calls (feed_bytes);
 *  - an aggregate (or ARRAY(SELECT ...)) is refused in a statement that builds a value larger
 *    than AGGREGATE_FEED_BYTES from constants, which it could collect row after row. */
#define AGGREGATE_FEED_BYTES 1024.0
#define MAX_CONSUMERS        32

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

static const estimate unknown = {false, 0, false, false, 0};

static const char *node_function_name(const PgQuery__FuncCall *call) {
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

static bool named(const char *name, const char *const *names) {
    for (; name != NULL && *names != NULL; names++)
        if (strcmp(name, *names) == 0)
            return true;
    return false;
}

static const char *const multiplying_functions[] = {"repeat",  "lpad",           "rpad",   "array_fill",
                                                    "replace", "regexp_replace", "format", NULL};
static const char *const aggregate_functions[] = {"string_agg", "array_agg",       "json_agg",         "jsonb_agg",
                                                  "xmlagg",     "json_object_agg", "jsonb_object_agg", NULL};
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

static bool constant_number(const PgQuery__Node *node, double *value, int depth);

/* base ^ exponent for a whole exponent of at most 4096 in size, by repeated squaring (exact
 * while the result is an integer below 2^53, as a size is). pow() would link libm, whose
 * pages every server process would then map for this one call. False for any other
 * exponent or a result out of range: the value is then no known constant, and a size
 * argument that is none is refused (fail closed). */
static bool integer_power(double base, double exponent, double *value) {
    if (!isfinite(exponent) || fabs(exponent) > 4096 || (double)(long long)exponent != exponent)
        return false;
    double result = 1, factor = base;
    for (long long n = (long long)fabs(exponent); n > 0; n >>= 1) {
        if (n & 1)
            result *= factor;
        factor *= factor;
    }
    *value = exponent < 0 ? 1 / result : result;
    return isfinite(*value);
}

static bool constant_argument(const PgQuery__FuncCall *call, size_t index, double *value, int depth) {
    return index < call->n_args && constant_number(call->args[index], value, depth + 1);
}

/* The value of a constant numeric expression: literals, arithmetic, casts, a few functions,
 * and a scalar subquery without FROM. */
static bool constant_number(const PgQuery__Node *node, double *value, int depth) {
    if (node == NULL || depth > GUARD_MAX_DEPTH)
        return false;
    switch (node->node_case) {
    case PG_QUERY__NODE__NODE_A_CONST: {
        const PgQuery__AConst *constant = node->a_const;
        const char *text = NULL;
        if (constant->isnull)
            return false;
        if (constant->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
            *value = constant->ival->ival;
            return true;
        }
        if (constant->val_case == PG_QUERY__A__CONST__VAL_FVAL)
            text = constant->fval->fval;
        else if (constant->val_case == PG_QUERY__A__CONST__VAL_SVAL)
            text = constant->sval->sval; /* '1000'::int */
        if (text == NULL)
            return false;
        errno = 0;
        char *end = NULL;
        *value = strtod(text, &end);
        return errno == 0 && end != text && *end == '\0' && isfinite(*value);
    }
    case PG_QUERY__NODE__NODE_TYPE_CAST: return constant_number(node->type_cast->arg, value, depth + 1);
    case PG_QUERY__NODE__NODE_A_EXPR: {
        const PgQuery__AExpr *expression = node->a_expr;
        if (expression->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || expression->n_name != 1 ||
            expression->name[0]->node_case != PG_QUERY__NODE__NODE_STRING)
            return false;
        const char *op = expression->name[0]->string->sval;
        double left = 0, right = 0;
        if (!constant_number(expression->rexpr, &right, depth + 1))
            return false;
        if (expression->lexpr == NULL) {
            if (strcmp(op, "-") == 0)
                *value = -right;
            else if (strcmp(op, "+") == 0)
                *value = right;
            else
                return false;
            return true;
        }
        if (!constant_number(expression->lexpr, &left, depth + 1))
            return false;
        if (strcmp(op, "+") == 0)
            *value = left + right;
        else if (strcmp(op, "-") == 0)
            *value = left - right;
        else if (strcmp(op, "*") == 0)
            *value = left * right;
        else if (strcmp(op, "/") == 0 && right != 0)
            *value = left / right;
        else if (strcmp(op, "^") == 0)
            return integer_power(left, right, value);
        else if (strcmp(op, "<<") == 0 && right >= 0 && right < 64)
            *value = ldexp(left, (int)right);
        else
            return false;
        return isfinite(*value);
    }
    case PG_QUERY__NODE__NODE_FUNC_CALL: {
        const PgQuery__FuncCall *call = node->func_call;
        const char *name = node_function_name(call);
        double a = 0, b = 0;
        if (name == NULL)
            return false;
        if ((strcmp(name, "power") == 0 || strcmp(name, "pow") == 0) && call->n_args == 2 &&
            constant_argument(call, 0, &a, depth) && constant_argument(call, 1, &b, depth)) {
            return integer_power(a, b, value);
        }
        if ((strcmp(name, "abs") == 0 || strcmp(name, "ceil") == 0 || strcmp(name, "ceiling") == 0 ||
             strcmp(name, "floor") == 0 || strcmp(name, "round") == 0 || strcmp(name, "trunc") == 0) &&
            call->n_args >= 1 && constant_argument(call, 0, &a, depth)) {
            *value = strcmp(name, "abs") == 0 ? fabs(a) : a;
            return true;
        }
        return false;
    }
    case PG_QUERY__NODE__NODE_MIN_MAX_EXPR: {
        const PgQuery__MinMaxExpr *minmax = node->min_max_expr;
        bool greatest = minmax->op == PG_QUERY__MIN_MAX_OP__IS_GREATEST;
        for (size_t i = 0; i < minmax->n_args; i++) {
            double item = 0;
            if (!constant_number(minmax->args[i], &item, depth + 1))
                return false;
            if (i == 0 || (greatest ? item > *value : item < *value))
                *value = item;
        }
        return minmax->n_args > 0;
    }
    case PG_QUERY__NODE__NODE_SUB_LINK: {
        const PgQuery__SubLink *link = node->sub_link;
        if (link->sub_link_type != PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK || link->subselect == NULL ||
            link->subselect->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
            return false;
        const PgQuery__SelectStmt *select = link->subselect->select_stmt;
        if (select->n_from_clause != 0 || select->n_target_list != 1 ||
            select->target_list[0]->node_case != PG_QUERY__NODE__NODE_RES_TARGET)
            return false;
        return constant_number(select->target_list[0]->res_target->val, value, depth + 1);
    }
    default: return false;
    }
}

static bool reject_size(size_state *state, const char *what, double bytes, int location) {
    char *detail = str_printf("pgsafe refuses values it can bound from constants beyond %.0f bytes: the database "
                              "would hold it in memory, and an out-of-memory kill restarts the whole server",
                              state->limit);
    verdict_reject(state->verdict, GUARD_VALUE_TOO_LARGE, location, detail,
                   "build a smaller value: lower the count or length, or aggregate fewer rows",
                   "the value built by %s would take at least %.0f bytes", what, bytes);
    free(detail);
    return false;
}

/* why: a phrase saying what keeps the guard from bounding it. */
static bool reject_unbounded(size_state *state, const char *what, int location, const char *why) {
    char *detail = str_printf("%s, so the guard cannot bound it below %.0f bytes", why, state->limit);
    verdict_reject(state->verdict, GUARD_VALUE_TOO_LARGE, location, detail,
                   "use constant counts, lengths and widths, and do not feed one such call into another",
                   "the value built by %s cannot be bounded", what);
    free(detail);
    return false;
}

/* A bound from the statement's feed: what the value could take, not what it must. */
static bool reject_possible(size_state *state, const char *what, double bytes, int location, const char *why) {
    char *detail = str_printf("%s; pgsafe refuses values beyond %.0f bytes", why, state->limit);
    verdict_reject(state->verdict, GUARD_VALUE_TOO_LARGE, location, detail,
                   "build a smaller value: lower the count, or do not feed one built value into another",
                   "the value built by %s could take %.0f bytes", what, bytes);
    free(detail);
    return false;
}

static bool estimate_node(size_state *state, const PgQuery__Node *node, estimate *out, int depth);

/* The number of rows of generate_series(start, stop [, step]) with constant numbers. */
static bool series_rows(const PgQuery__FuncCall *call, double *rows) {
    const char *name = node_function_name(call);
    double start = 0, stop = 0, step = 1;
    if (name == NULL || strcmp(name, "generate_series") != 0 || call->n_args < 2 || call->n_args > 3 ||
        !constant_argument(call, 0, &start, 0) || !constant_argument(call, 1, &stop, 0) ||
        (call->n_args == 3 && !constant_argument(call, 2, &step, 0)) || step == 0)
        return false;
    double count = floor((stop - start) / step) + 1;
    *rows = count > 0 ? count : 0;
    return true;
}

/* A lower bound on the rows a SELECT's aggregates see: its FROM is only constant
 * generate_series calls (or none), with no WHERE; NULL-free otherwise unknown. */
static bool select_rows(const PgQuery__SelectStmt *select, double *rows) {
    if (select->where_clause != NULL || select->op != PG_QUERY__SET_OPERATION__SETOP_NONE)
        return false;
    double product = 1;
    for (size_t i = 0; i < select->n_from_clause; i++) {
        const PgQuery__Node *item = select->from_clause[i];
        double count = 0;
        if (item->node_case != PG_QUERY__NODE__NODE_RANGE_FUNCTION || item->range_function->n_functions != 1 ||
            item->range_function->functions[0]->node_case != PG_QUERY__NODE__NODE_LIST ||
            item->range_function->functions[0]->list->n_items < 1 ||
            item->range_function->functions[0]->list->items[0]->node_case != PG_QUERY__NODE__NODE_FUNC_CALL ||
            !series_rows(item->range_function->functions[0]->list->items[0]->func_call, &count))
            return false;
        product *= count;
    }
    /* A SELECT without FROM whose one target is a series: ARRAY(SELECT generate_series(...)). */
    if (select->n_from_clause == 0 && select->n_target_list == 1 &&
        select->target_list[0]->node_case == PG_QUERY__NODE__NODE_RES_TARGET) {
        const PgQuery__Node *value = select->target_list[0]->res_target->val;
        double count = 0;
        if (value != NULL && value->node_case == PG_QUERY__NODE__NODE_FUNC_CALL &&
            series_rows(value->func_call, &count))
            product *= count;
    }
    double limit = 0;
    if (select->limit_count != NULL && constant_number(select->limit_count, &limit, 0) && limit < product)
        product = limit > 0 ? limit : 0;
    *rows = product;
    return true;
}

static double argument_bytes(size_state *state, const PgQuery__FuncCall *call, size_t index, estimate *each, bool *ok,
                             int depth) {
    estimate value = unknown;
    if (index < call->n_args && !estimate_node(state, call->args[index], &value, depth + 1))
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
            if (next_argument >= call->n_args || !constant_number(call->args[next_argument], &value, 0))
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

/* Estimates a function call; false with the verdict set when it is refused. */
static bool estimate_call(size_state *state, const PgQuery__FuncCall *call, estimate *out, int depth) {
    const char *name = node_function_name(call);
    bool ok = true;
    *out = unknown;
    if (name == NULL) {
        for (size_t i = 0; i < call->n_args; i++) {
            estimate each = unknown;
            argument_bytes(state, call, i, &each, &ok, depth);
            out->multiplied = out->multiplied || each.multiplied;
        }
        return ok;
    }
    estimate input = unknown;
    double count = 0;
    bool count_known = false;
    const char *shown = name;
    if (strcmp(name, "repeat") == 0 && call->n_args == 2) {
        argument_bytes(state, call, 0, &input, &ok, depth);
        argument_bytes(state, call, 1, NULL, &ok, depth);
        count_known = constant_number(call->args[1], &count, depth + 1);
        /* A string of unknown size is taken as one byte here; the statement's feed bounds it
         * at the end (size_check). */
        if (count_known && (input.known || !input.multiplied))
            *out = (estimate){true, (input.known ? input.bytes : 1) * (count > 0 ? count : 0), true, false, 0};
        out->consumes = !input.known;
        out->factor = count;
    } else if ((strcmp(name, "lpad") == 0 || strcmp(name, "rpad") == 0) && call->n_args >= 2) {
        argument_bytes(state, call, 0, &input, &ok, depth);
        argument_bytes(state, call, 1, NULL, &ok, depth);
        estimate fill = {true, 1, false, false, 0};
        if (call->n_args >= 3)
            argument_bytes(state, call, 2, &fill, &ok, depth);
        count_known = constant_number(call->args[1], &count, depth + 1);
        /* With an empty fill the result is only cut to length, never grown. */
        if (count_known && fill.known && fill.bytes > 0)
            *out = (estimate){true, count > 0 ? count : 0, true, false, 0};
        input.multiplied = input.multiplied || fill.multiplied;
    } else if (strcmp(name, "array_fill") == 0 && call->n_args >= 2) {
        argument_bytes(state, call, 0, &input, &ok, depth);
        argument_bytes(state, call, 1, NULL, &ok, depth);
        const PgQuery__Node *dimensions = call->args[1];
        if (dimensions->node_case == PG_QUERY__NODE__NODE_TYPE_CAST)
            dimensions = dimensions->type_cast->arg;
        if (dimensions->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR) {
            count = 1;
            count_known = true;
            for (size_t i = 0; i < dimensions->a_array_expr->n_elements; i++) {
                double extent = 0;
                if (!constant_number(dimensions->a_array_expr->elements[i], &extent, depth + 1)) {
                    count_known = false;
                    break;
                }
                count *= extent > 0 ? extent : 0;
            }
        }
        if (count_known && (input.known || !input.multiplied))
            *out = (estimate){true, count * (input.known && input.bytes > 1 ? input.bytes : 1), true, false, 0};
        out->consumes = !input.known;
        out->factor = count;
    } else if ((strcmp(name, "replace") == 0 || strcmp(name, "regexp_replace") == 0) && call->n_args >= 3) {
        estimate from = unknown, to = unknown;
        argument_bytes(state, call, 0, &input, &ok, depth);
        argument_bytes(state, call, 1, &from, &ok, depth);
        argument_bytes(state, call, 2, &to, &ok, depth);
        for (size_t i = 3; i < call->n_args; i++)
            argument_bytes(state, call, i, NULL, &ok, depth);
        count_known = true; /* the growth is bounded from the sizes alone */
        if (input.known && to.known) {
            double matches = input.bytes / (from.known && from.bytes > 1 ? from.bytes : 1);
            double grown = input.bytes + matches * to.bytes;
            if (ok && grown > state->limit && to.bytes > (from.known ? from.bytes : 0))
                return reject_size(state, "replace", grown, call->location);
            *out = (estimate){true, input.bytes, true, false, 0};
        }
        out->consumes = !input.known || !to.known;
        /* Each byte of the input may become the whole replacement. */
        out->factor = to.known ? to.bytes / (from.known && from.bytes > 1 ? from.bytes : 1) : 0;
        input.multiplied = input.multiplied || to.multiplied;
    } else if (strcmp(name, "format") == 0) {
        for (size_t i = 0; i < call->n_args; i++)
            argument_bytes(state, call, i, NULL, &ok, depth);
        double bytes = 0;
        if (format_bytes(call, &bytes)) {
            *out = (estimate){true, bytes, false, false, 0};
            count_known = true;
        }
    } else if (named(name, preserving_functions) || named(name, concatenating_functions)) {
        double total = 0;
        bool any = false;
        for (size_t i = 0; i < call->n_args; i++) {
            estimate each = unknown;
            argument_bytes(state, call, i, &each, &ok, depth);
            if (each.known)
                total += each.bytes, any = true;
            out->multiplied = out->multiplied || each.multiplied;
            if (!named(name, concatenating_functions))
                break; /* only the first argument is carried into the result */
        }
        for (size_t i = 1; i < call->n_args && !named(name, concatenating_functions); i++)
            argument_bytes(state, call, i, NULL, &ok, depth);
        out->known = any;
        out->bytes = total;
        if (ok && total > state->limit)
            return reject_size(state, name, total, call->location);
        return ok;
    } else {
        for (size_t i = 0; i < sizeof fixed_sizes / sizeof *fixed_sizes; i++)
            if (strcmp(fixed_sizes[i].name, name) == 0)
                *out = (estimate){true, fixed_sizes[i].bytes, false, false, 0};
        /* Otherwise of unknown size, but whatever it wraps may be large: carry that along. */
        for (size_t i = 0; i < call->n_args; i++) {
            estimate each = unknown;
            argument_bytes(state, call, i, &each, &ok, depth);
            out->multiplied = out->multiplied || each.multiplied;
        }
        return ok;
    }
    if (!ok)
        return false;
    out->multiplied = true;
    if (!count_known)
        return reject_unbounded(state, shown, call->location,
                                "its count, length, width or dimensions are not constants");
    if (out->known && out->bytes > state->limit)
        return reject_size(state, shown, out->bytes, call->location);
    /* Compounding growth that cannot be bounded: fail closed. */
    if (!out->known && input.multiplied && strcmp(name, "format") != 0)
        return reject_unbounded(state, shown, call->location,
                                "it multiplies the result of another such call whose size is not known");
    return true;
}

static bool no_multiplier(const ProtobufCMessage *message, void *context) {
    (void)context;
    return message->descriptor != &pg_query__func_call__descriptor ||
           !named(node_function_name((const PgQuery__FuncCall *)message), multiplying_functions);
}

/* Estimates the value of node, checking every call inside it; false with the verdict set. */
static bool estimate_node(size_state *state, const PgQuery__Node *node, estimate *out, int depth) {
    *out = unknown;
    if (node == NULL)
        return true;
    if (depth > GUARD_MAX_DEPTH)
        return verdict_reject(state->verdict, GUARD_TOO_COMPLEX, -1, NULL, "simplify the query",
                              "the query is nested too deeply");
    switch (node->node_case) {
    case PG_QUERY__NODE__NODE_A_CONST: {
        const PgQuery__AConst *constant = node->a_const;
        if (constant->isnull)
            *out = (estimate){true, 0, false, false, 0};
        else if (constant->val_case == PG_QUERY__A__CONST__VAL_SVAL)
            *out = (estimate){true, (double)strlen(constant->sval->sval), false, false, 0};
        else if (constant->val_case == PG_QUERY__A__CONST__VAL_FVAL)
            *out = (estimate){true, (double)strlen(constant->fval->fval), false, false, 0};
        else if (constant->val_case == PG_QUERY__A__CONST__VAL_IVAL)
            *out = (estimate){true, 1, false, false, 0};
        return true;
    }
    case PG_QUERY__NODE__NODE_TYPE_CAST: return estimate_node(state, node->type_cast->arg, out, depth + 1);
    case PG_QUERY__NODE__NODE_COLLATE_CLAUSE: return estimate_node(state, node->collate_clause->arg, out, depth + 1);
    case PG_QUERY__NODE__NODE_FUNC_CALL: return estimate_call(state, node->func_call, out, depth);
    case PG_QUERY__NODE__NODE_A_EXPR: {
        const PgQuery__AExpr *expression = node->a_expr;
        estimate left = unknown, right = unknown;
        if (!estimate_node(state, expression->lexpr, &left, depth + 1) ||
            !estimate_node(state, expression->rexpr, &right, depth + 1))
            return false;
        bool concatenation = expression->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP && expression->n_name == 1 &&
                             expression->name[0]->node_case == PG_QUERY__NODE__NODE_STRING &&
                             strcmp(expression->name[0]->string->sval, "||") == 0;
        if (concatenation) {
            *out = (estimate){left.known || right.known,
                              (left.known ? left.bytes : 0) + (right.known ? right.bytes : 0), false, false, 0};
            if (out->bytes > state->limit)
                return reject_size(state, "||", out->bytes, expression->location);
        }
        out->multiplied = left.multiplied || right.multiplied;
        return true;
    }
    case PG_QUERY__NODE__NODE_A_ARRAY_EXPR:
    case PG_QUERY__NODE__NODE_ROW_EXPR:
    case PG_QUERY__NODE__NODE_COALESCE_EXPR: {
        PgQuery__Node **items = node->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR ? node->a_array_expr->elements
                                : node->node_case == PG_QUERY__NODE__NODE_ROW_EXPR   ? node->row_expr->args
                                                                                     : node->coalesce_expr->args;
        size_t count = node->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR ? node->a_array_expr->n_elements
                       : node->node_case == PG_QUERY__NODE__NODE_ROW_EXPR   ? node->row_expr->n_args
                                                                            : node->coalesce_expr->n_args;
        bool sums = node->node_case != PG_QUERY__NODE__NODE_COALESCE_EXPR;
        double total = 0;
        for (size_t i = 0; i < count; i++) {
            estimate each = unknown;
            if (!estimate_node(state, items[i], &each, depth + 1))
                return false;
            if (each.known && sums)
                total += each.bytes;
            out->multiplied = out->multiplied || each.multiplied;
        }
        out->known = sums;
        out->bytes = total;
        if (total > state->limit)
            return reject_size(state, "an array or row", total, -1);
        return true;
    }
    default:
        /* Checked on their own by the visit of the whole tree; here only whether a multiplying
         * call hides inside (CASE, a subquery, ...), so that growth over it fails closed. */
        out->multiplied = !tree_each(&node->base, no_multiplier, NULL, depth);
        return true;
    }
}

/* Aggregates over a row count known from constants. */
static bool check_aggregates(size_state *state, const PgQuery__SelectStmt *select) {
    double rows = 0;
    if (!select_rows(select, &rows) || rows <= 1)
        return true;
    for (size_t i = 0; i < select->n_target_list; i++) {
        const PgQuery__Node *target = select->target_list[i];
        if (target->node_case != PG_QUERY__NODE__NODE_RES_TARGET || target->res_target->val == NULL ||
            target->res_target->val->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
            continue;
        const PgQuery__FuncCall *call = target->res_target->val->func_call;
        const char *name = node_function_name(call);
        if (!named(name, aggregate_functions) || call->over != NULL || call->agg_filter != NULL)
            continue;
        double element = 1;
        for (size_t a = 0; a < call->n_args; a++) {
            estimate each = unknown;
            if (!estimate_node(state, call->args[a], &each, 0))
                return false;
            if (each.known)
                element += each.bytes;
        }
        if (rows * element > state->limit)
            return reject_size(state, name, rows * element, call->location);
    }
    return true;
}

static bool check_array_sublink(size_state *state, const PgQuery__SubLink *link) {
    if (link->sub_link_type != PG_QUERY__SUB_LINK_TYPE__ARRAY_SUBLINK || link->subselect == NULL ||
        link->subselect->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return true;
    double rows = 0;
    if (select_rows(link->subselect->select_stmt, &rows) && rows > state->limit)
        return reject_size(state, "ARRAY(SELECT ...)", rows, link->location);
    return true;
}

static bool visit_for_size(const ProtobufCMessage *message, void *context) {
    size_state *state = context;
    if (message->descriptor == &pg_query__a__const__descriptor) {
        const PgQuery__AConst *constant = (const PgQuery__AConst *)message;
        if (!constant->isnull && constant->val_case == PG_QUERY__A__CONST__VAL_SVAL) {
            double bytes = (double)strlen(constant->sval->sval);
            state->literal_bytes += bytes;
            state->largest_built = bytes > state->largest_built ? bytes : state->largest_built;
        }
        return true;
    }
    if (message->descriptor == &pg_query__func_call__descriptor) {
        const PgQuery__FuncCall *call = (const PgQuery__FuncCall *)message;
        estimate result;
        if (!estimate_call(state, call, &result, 0))
            return false;
        const char *name = node_function_name(call);
        if (named(name, aggregate_functions) && state->aggregate == NULL) {
            state->aggregate = name;
            state->aggregate_location = call->location;
        }
        if (!named(name, multiplying_functions))
            return true;
        if (result.known) {
            state->multiplier_bytes += result.bytes;
            state->largest_built = result.bytes > state->largest_built ? result.bytes : state->largest_built;
        }
        if (result.consumes && result.factor > 1) {
            if (state->consumer_count == MAX_CONSUMERS)
                return reject_unbounded(state, name, call->location, "the statement holds too many such calls");
            state->consumers[state->consumer_count++] =
                (consumer){name, call->location, result.factor, result.known ? result.bytes : 0};
        }
        return true;
    }
    PgQuery__Node node = PG_QUERY__NODE__INIT;
    if (message->descriptor == &pg_query__a__expr__descriptor) {
        node.node_case = PG_QUERY__NODE__NODE_A_EXPR;
        node.a_expr = (PgQuery__AExpr *)message;
    } else if (message->descriptor == &pg_query__a__array_expr__descriptor) {
        node.node_case = PG_QUERY__NODE__NODE_A_ARRAY_EXPR;
        node.a_array_expr = (PgQuery__AArrayExpr *)message;
    } else if (message->descriptor == &pg_query__row_expr__descriptor) {
        node.node_case = PG_QUERY__NODE__NODE_ROW_EXPR;
        node.row_expr = (PgQuery__RowExpr *)message;
    }
    if (node.node_case != PG_QUERY__NODE__NODE__NOT_SET) {
        estimate ignored;
        return estimate_node(state, &node, &ignored, 0);
    }
    if (message->descriptor == &pg_query__select_stmt__descriptor)
        return check_aggregates(state, (const PgQuery__SelectStmt *)message);
    if (message->descriptor == &pg_query__sub_link__descriptor) {
        const PgQuery__SubLink *link = (const PgQuery__SubLink *)message;
        if (link->sub_link_type == PG_QUERY__SUB_LINK_TYPE__ARRAY_SUBLINK && state->aggregate == NULL) {
            state->aggregate = "ARRAY(SELECT ...)";
            state->aggregate_location = link->location;
        }
        return check_array_sublink(state, link);
    }
    return true;
}

bool size_check(const ProtobufCMessage *root, const guard_policy *policy, guard_verdict *verdict) {
    size_state state = {.policy = policy,
                        .verdict = verdict,
                        .limit = policy->max_value_bytes > 0 ? (double)policy->max_value_bytes
                                                             : (double)GUARD_DEFAULT_MAX_VALUE_BYTES};
    if (tree_each(root, visit_for_size, &state, 0)) {
        for (size_t i = 0; i < state.consumer_count; i++) {
            const consumer *each = &state.consumers[i];
            double feed = state.literal_bytes + state.multiplier_bytes - each->own_bytes;
            double bound = each->factor * (feed > 1 ? feed : 1);
            if (bound > state.limit)
                return reject_possible(&state, each->name, bound, each->location,
                                       "it repeats a value of unknown size, which may hold what the rest of the "
                                       "statement builds from constants");
        }
        if (state.aggregate != NULL && state.largest_built > AGGREGATE_FEED_BYTES)
            return reject_unbounded(&state, state.aggregate, state.aggregate_location,
                                    "it may collect, over rows nobody counted, a value the statement builds from "
                                    "constants");
        return true;
    }
    if (verdict->code == GUARD_OK)
        return verdict_reject(verdict, GUARD_TOO_COMPLEX, -1, NULL, "simplify the query",
                              "the query is nested too deeply");
    return false;
}
