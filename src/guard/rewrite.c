/* The LIMIT rewrite, on the tree. The top SELECT ends with a constant LIMIT no larger than
 * the bound (max_rows + 1, so a result can say honestly that it was cut):
 *   no LIMIT                      -> LIMIT bound is added (OFFSET is kept)
 *   constant <= bound             -> kept
 *   larger constant, ALL, NULL    -> LIMIT bound
 *   anything else, or WITH TIES   -> SELECT * FROM (query) pgsafe_bounded LIMIT bound,
 *   (a negative constant too)
 *                                    which keeps the query's own semantics exactly.
 * The tree lives in the check's arena (arena.c) and new messages are allocated from it,
 * so the tree stays one unit that arena_release returns whole; a replaced message is left
 * there unreferenced. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define WRAP_ALIAS "pgsafe_bounded"

static PgQuery__Node *new_node(guard_arena *arena) {
    PgQuery__Node *node = arena_alloc(arena, sizeof *node);
    if (node != NULL)
        pg_query__node__init(node);
    return node;
}

/* A Node holding the integer constant value, at no position; NULL when out of memory. */
static PgQuery__Node *new_integer_constant(guard_arena *arena, long long value) {
    assert(value >= 0 && value <= INT32_MAX);
    PgQuery__Node *node = new_node(arena);
    PgQuery__AConst *constant = arena_alloc(arena, sizeof *constant);
    PgQuery__Integer *integer = arena_alloc(arena, sizeof *integer);
    if (node == NULL || constant == NULL || integer == NULL)
        return NULL;
    pg_query__a__const__init(constant);
    pg_query__integer__init(integer);
    integer->ival = (int32_t)value;
    constant->val_case = PG_QUERY__A__CONST__VAL_IVAL;
    constant->ival = integer;
    constant->location = -1;
    node->node_case = PG_QUERY__NODE__NODE_A_CONST;
    node->a_const = constant;
    return node;
}

typedef enum limit_shape {
    LIMIT_ABSENT,         /* no LIMIT clause */
    LIMIT_INTEGER,        /* an integer constant */
    LIMIT_UNBOUNDED,      /* ALL or NULL */
    LIMIT_LARGE_CONSTANT, /* a numeric constant at least as large as the bound */
    LIMIT_OTHER           /* any expression, a fraction, a string */
} limit_shape;

/* The shape of select's LIMIT against bound; *value is set for LIMIT_INTEGER. */
static limit_shape classify(const PgQuery__SelectStmt *select, long long bound, long long *value) {
    const PgQuery__Node *count = select->limit_count;
    if (count == NULL)
        return LIMIT_ABSENT;
    if (count->node_case != PG_QUERY__NODE__NODE_A_CONST)
        return LIMIT_OTHER;
    const PgQuery__AConst *constant = count->a_const;
    if (constant->isnull)
        return LIMIT_UNBOUNDED;
    if (constant->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
        *value = constant->ival->ival;
        /* A negative LIMIT is an error in PostgreSQL; wrapping keeps that error. */
        return *value >= 0 ? LIMIT_INTEGER : LIMIT_OTHER;
    }
    if (constant->val_case == PG_QUERY__A__CONST__VAL_FVAL && constant->fval->fval != NULL) {
        /* Integers beyond 32 bits and decimals arrive as Float text. */
        errno = 0;
        char *end = NULL;
        double number = strtod(constant->fval->fval, &end);
        if (errno == 0 && end != constant->fval->fval && *end == '\0' && isfinite(number) && number >= (double)bound)
            return LIMIT_LARGE_CONSTANT;
    }
    return LIMIT_OTHER;
}

/* Sets select's LIMIT to the constant bound (COUNT semantics); false with the verdict set
 * when out of memory, select unchanged. */
static bool set_limit(PgQuery__SelectStmt *select, guard_arena *arena, long long bound, guard_verdict *verdict) {
    PgQuery__Node *constant = new_integer_constant(arena, bound);
    if (constant == NULL)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "out of memory");
    select->limit_count = constant;
    select->limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_COUNT;
    return true;
}

/* Replaces raw->stmt with SELECT * FROM (raw->stmt) pgsafe_bounded LIMIT bound. */
bool rewrite_wrap(PgQuery__RawStmt *raw, guard_arena *arena, long long bound, guard_verdict *verdict) {
    assert(raw->stmt != NULL && raw->stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT);
    PgQuery__Node *outer_node = new_node(arena);
    PgQuery__SelectStmt *outer = arena_alloc(arena, sizeof *outer);
    PgQuery__Node *target_node = new_node(arena);
    PgQuery__ResTarget *target = arena_alloc(arena, sizeof *target);
    PgQuery__Node *column_node = new_node(arena);
    PgQuery__ColumnRef *column = arena_alloc(arena, sizeof *column);
    PgQuery__Node *star_node = new_node(arena);
    PgQuery__AStar *star = arena_alloc(arena, sizeof *star);
    PgQuery__Node *from_node = new_node(arena);
    PgQuery__RangeSubselect *from = arena_alloc(arena, sizeof *from);
    PgQuery__Alias *alias = arena_alloc(arena, sizeof *alias);
    char *alias_name = arena_strdup(arena, WRAP_ALIAS);
    PgQuery__Node **targets = arena_alloc(arena, sizeof *targets);
    PgQuery__Node **froms = arena_alloc(arena, sizeof *froms);
    PgQuery__Node **fields = arena_alloc(arena, sizeof *fields);
    PgQuery__Node *limit = new_integer_constant(arena, bound);
    /* What was allocated stays in the arena until the check ends; the tree is unchanged. */
    if (!outer_node || !outer || !target_node || !target || !column_node || !column || !star_node || !star ||
        !from_node || !from || !alias || !alias_name || !targets || !froms || !fields || !limit)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "out of memory");
    pg_query__a__star__init(star);
    star_node->node_case = PG_QUERY__NODE__NODE_A_STAR;
    star_node->a_star = star;

    pg_query__column_ref__init(column);
    fields[0] = star_node;
    column->n_fields = 1;
    column->fields = fields;
    column->location = -1;
    column_node->node_case = PG_QUERY__NODE__NODE_COLUMN_REF;
    column_node->column_ref = column;

    pg_query__res_target__init(target);
    target->val = column_node;
    target->location = -1;
    target_node->node_case = PG_QUERY__NODE__NODE_RES_TARGET;
    target_node->res_target = target;
    targets[0] = target_node;

    pg_query__alias__init(alias);
    alias->aliasname = alias_name;
    pg_query__range_subselect__init(from);
    from->subquery = raw->stmt;
    from->alias = alias;
    from_node->node_case = PG_QUERY__NODE__NODE_RANGE_SUBSELECT;
    from_node->range_subselect = from;
    froms[0] = from_node;

    pg_query__select_stmt__init(outer);
    outer->n_target_list = 1;
    outer->target_list = targets;
    outer->n_from_clause = 1;
    outer->from_clause = froms;
    outer->limit_count = limit;
    outer->limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_COUNT;
    outer->op = PG_QUERY__SET_OPERATION__SETOP_NONE;
    outer_node->node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
    outer_node->select_stmt = outer;
    raw->stmt = outer_node;
    return true;
}

bool rewrite_limit(PgQuery__RawStmt *raw, guard_arena *arena, long long bound, long long *applied_limit,
                   guard_limit_action *action, guard_verdict *verdict) {
    if (raw->stmt == NULL || raw->stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "rewrite needs a SELECT");
    PgQuery__SelectStmt *select = raw->stmt->select_stmt;
    long long value = 0;
    limit_shape shape = classify(select, bound, &value);
    if (select->limit_option == PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_WITH_TIES)
        shape = LIMIT_OTHER;
    switch (shape) {
    case LIMIT_ABSENT:
        *action = GUARD_LIMIT_INJECTED;
        *applied_limit = bound;
        return set_limit(select, arena, bound, verdict);
    case LIMIT_INTEGER:
        if (value <= bound) {
            *action = GUARD_LIMIT_KEPT;
            *applied_limit = value;
            return true;
        }
        *action = GUARD_LIMIT_CLAMPED;
        *applied_limit = bound;
        return set_limit(select, arena, bound, verdict);
    case LIMIT_UNBOUNDED:
    case LIMIT_LARGE_CONSTANT:
        *action = GUARD_LIMIT_CLAMPED;
        *applied_limit = bound;
        return set_limit(select, arena, bound, verdict);
    case LIMIT_OTHER:
        *action = GUARD_LIMIT_WRAPPED;
        *applied_limit = bound;
        return rewrite_wrap(raw, arena, bound, verdict);
    }
    return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "unhandled LIMIT shape");
}

bool rewrite_constant_limit(const PgQuery__SelectStmt *select, long long *limit) {
    const PgQuery__Node *count = select->limit_count;
    if (select->limit_option != PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_COUNT || count == NULL ||
        count->node_case != PG_QUERY__NODE__NODE_A_CONST || count->a_const->isnull ||
        count->a_const->val_case != PG_QUERY__A__CONST__VAL_IVAL)
        return false;
    *limit = count->a_const->ival->ival;
    return true;
}
