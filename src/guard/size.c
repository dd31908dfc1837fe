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
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "size.h"

/* Values the guard cannot follow. A value may reach a multiplying call through a column of a
 * subquery or CTE (SELECT repeat(s, 1000) FROM (SELECT repeat('x', 100000) s) t), and an
 * aggregate may collect one over rows nobody counted. So:
 *  - a consumer, a multiplying call over a value of unknown size with a constant factor, is
 *    bounded as if that value held everything the statement builds from constants: all its
 *    string literals and the results of its other multiplying calls (size_check);
 *  - an aggregate (or ARRAY(SELECT ...)) is refused in a statement that builds a value larger
 *    than AGGREGATE_FEED_BYTES from constants, which it could collect row after row. */
#define AGGREGATE_FEED_BYTES 1024.0

const estimate size_unknown = {false, 0, false, false, 0};

static const char *const aggregate_functions[] = {"string_agg", "array_agg",       "json_agg",         "jsonb_agg",
                                                  "xmlagg",     "json_object_agg", "jsonb_object_agg", NULL};

bool size_reject_too_large(size_state *state, const char *what, double bytes, int location) {
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
bool size_reject_unbounded(size_state *state, const char *what, int location, const char *why) {
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

/* A tree_each visitor: false at a call of a multiplying function, which stops the visit. */
static bool no_multiplier(const ProtobufCMessage *message, void *context) {
    (void)context;
    return message->descriptor != &pg_query__func_call__descriptor ||
           !size_is_multiplying(size_function_name((const PgQuery__FuncCall *)message));
}

/* Estimates the value of node, checking every call inside it; false with the verdict set. */
bool size_estimate_node(size_state *state, const PgQuery__Node *node, estimate *out, int depth) {
    *out = size_unknown;
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
    case PG_QUERY__NODE__NODE_TYPE_CAST: return size_estimate_node(state, node->type_cast->arg, out, depth + 1);
    case PG_QUERY__NODE__NODE_COLLATE_CLAUSE:
        return size_estimate_node(state, node->collate_clause->arg, out, depth + 1);
    case PG_QUERY__NODE__NODE_FUNC_CALL: return size_estimate_call(state, node->func_call, out, depth);
    case PG_QUERY__NODE__NODE_A_EXPR: {
        const PgQuery__AExpr *expression = node->a_expr;
        estimate left = size_unknown, right = size_unknown;
        if (!size_estimate_node(state, expression->lexpr, &left, depth + 1) ||
            !size_estimate_node(state, expression->rexpr, &right, depth + 1))
            return false;
        bool concatenation = expression->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP && expression->n_name == 1 &&
                             expression->name[0]->node_case == PG_QUERY__NODE__NODE_STRING &&
                             strcmp(expression->name[0]->string->sval, "||") == 0;
        if (concatenation) {
            *out = (estimate){left.known || right.known,
                              (left.known ? left.bytes : 0) + (right.known ? right.bytes : 0), false, false, 0};
            if (out->bytes > state->limit)
                return size_reject_too_large(state, "||", out->bytes, expression->location);
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
            estimate each = size_unknown;
            if (!size_estimate_node(state, items[i], &each, depth + 1))
                return false;
            if (each.known && sums)
                total += each.bytes;
            out->multiplied = out->multiplied || each.multiplied;
        }
        out->known = sums;
        out->bytes = total;
        if (total > state->limit)
            return size_reject_too_large(state, "an array or row", total, -1);
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
    if (!size_select_rows(select, &rows) || rows <= 1)
        return true;
    for (size_t i = 0; i < select->n_target_list; i++) {
        const PgQuery__Node *target = select->target_list[i];
        if (target->node_case != PG_QUERY__NODE__NODE_RES_TARGET || target->res_target->val == NULL ||
            target->res_target->val->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
            continue;
        const PgQuery__FuncCall *call = target->res_target->val->func_call;
        const char *name = size_function_name(call);
        if (!size_named(name, aggregate_functions) || call->over != NULL || call->agg_filter != NULL)
            continue;
        double element = 1;
        for (size_t a = 0; a < call->n_args; a++) {
            estimate each = size_unknown;
            if (!size_estimate_node(state, call->args[a], &each, 0))
                return false;
            if (each.known)
                element += each.bytes;
        }
        if (rows * element > state->limit)
            return size_reject_too_large(state, name, rows * element, call->location);
    }
    return true;
}

/* ARRAY(SELECT ...) over a row count known from constants: one element a row at least. */
static bool check_array_sublink(size_state *state, const PgQuery__SubLink *link) {
    if (link->sub_link_type != PG_QUERY__SUB_LINK_TYPE__ARRAY_SUBLINK || link->subselect == NULL ||
        link->subselect->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return true;
    double rows = 0;
    if (size_select_rows(link->subselect->select_stmt, &rows) && rows > state->limit)
        return size_reject_too_large(state, "ARRAY(SELECT ...)", rows, link->location);
    return true;
}

/* The tree_each visitor of size_check (context: its size_state): checks each call,
 * expression and aggregate it meets, and adds the string literals, the multiplying calls'
 * results and the consumers to the statement's feed. False with the verdict set. */
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
        if (!size_check_series(state, call) || !size_estimate_call(state, call, &result, 0))
            return false;
        const char *name = size_function_name(call);
        if (size_named(name, aggregate_functions) && state->aggregate == NULL) {
            state->aggregate = name;
            state->aggregate_location = call->location;
        }
        if (!size_is_multiplying(name))
            return true;
        if (result.known) {
            state->multiplier_bytes += result.bytes;
            state->largest_built = result.bytes > state->largest_built ? result.bytes : state->largest_built;
        }
        if (result.consumes && result.factor > 1) {
            if (state->consumer_count == MAX_CONSUMERS)
                return size_reject_unbounded(state, name, call->location, "the statement holds too many such calls");
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
        return size_estimate_node(state, &node, &ignored, 0);
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
            return size_reject_unbounded(&state, state.aggregate, state.aggregate_location,
                                         "it may collect, over rows nobody counted, a value the statement builds from "
                                         "constants");
        return true;
    }
    if (verdict->code == GUARD_OK)
        return verdict_reject(verdict, GUARD_TOO_COMPLEX, -1, NULL, "simplify the query",
                              "the query is nested too deeply");
    return false;
}
