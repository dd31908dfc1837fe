/* Numbers known from constants, for the size stage (size.c): the value of a constant
 * numeric expression (literals, arithmetic, casts, a few functions, a scalar subquery
 * without FROM), and the rows a SELECT is known to produce from constant generate_series
 * calls. False means "not known": the caller then treats a size as unbounded (fail closed). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "size.h"

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
    return index < call->n_args && size_constant_number(call->args[index], value, depth + 1);
}

/* A literal: an integer, a decimal, or a string cast to a number ('1000'::int). */
static bool constant_literal(const PgQuery__AConst *constant, double *value) {
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

/* Unary + and -, and the binary + - * / ^ << of two constants. */
static bool constant_operation(const PgQuery__AExpr *expression, double *value, int depth) {
    if (expression->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || expression->n_name != 1 ||
        expression->name[0]->node_case != PG_QUERY__NODE__NODE_STRING)
        return false;
    const char *op = expression->name[0]->string->sval;
    double left = 0, right = 0;
    if (!size_constant_number(expression->rexpr, &right, depth + 1))
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
    if (!size_constant_number(expression->lexpr, &left, depth + 1))
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

/* power() and pow() of constants; abs, ceil, ceiling, floor, round and trunc of one. */
static bool constant_call(const PgQuery__FuncCall *call, double *value, int depth) {
    const char *name = size_function_name(call);
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

/* GREATEST or LEAST of constants. */
static bool constant_extreme(const PgQuery__MinMaxExpr *minmax, double *value, int depth) {
    bool greatest = minmax->op == PG_QUERY__MIN_MAX_OP__IS_GREATEST;
    for (size_t i = 0; i < minmax->n_args; i++) {
        double item = 0;
        if (!size_constant_number(minmax->args[i], &item, depth + 1))
            return false;
        if (i == 0 || (greatest ? item > *value : item < *value))
            *value = item;
    }
    return minmax->n_args > 0;
}

/* (SELECT constant): a scalar subquery without FROM and with one target. */
static bool constant_subquery(const PgQuery__SubLink *link, double *value, int depth) {
    if (link->sub_link_type != PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK || link->subselect == NULL ||
        link->subselect->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return false;
    const PgQuery__SelectStmt *select = link->subselect->select_stmt;
    if (select->n_from_clause != 0 || select->n_target_list != 1 ||
        select->target_list[0]->node_case != PG_QUERY__NODE__NODE_RES_TARGET)
        return false;
    return size_constant_number(select->target_list[0]->res_target->val, value, depth + 1);
}

bool size_constant_number(const PgQuery__Node *node, double *value, int depth) {
    if (node == NULL || depth > GUARD_MAX_DEPTH)
        return false;
    switch (node->node_case) {
    case PG_QUERY__NODE__NODE_A_CONST: return constant_literal(node->a_const, value);
    case PG_QUERY__NODE__NODE_TYPE_CAST: return size_constant_number(node->type_cast->arg, value, depth + 1);
    case PG_QUERY__NODE__NODE_A_EXPR: return constant_operation(node->a_expr, value, depth);
    case PG_QUERY__NODE__NODE_FUNC_CALL: return constant_call(node->func_call, value, depth);
    case PG_QUERY__NODE__NODE_MIN_MAX_EXPR: return constant_extreme(node->min_max_expr, value, depth);
    case PG_QUERY__NODE__NODE_SUB_LINK: return constant_subquery(node->sub_link, value, depth);
    default: return false;
    }
}

/* A lower bound on the rows a SELECT's aggregates see: its FROM is only constant
 * generate_series calls (or none), with no WHERE; NULL-free otherwise unknown. */
bool size_select_rows(const PgQuery__SelectStmt *select, double *rows) {
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
            !size_series_rows(item->range_function->functions[0]->list->items[0]->func_call, &count))
            return false;
        product *= count;
    }
    /* A SELECT without FROM whose one target is a series: ARRAY(SELECT generate_series(...)). */
    if (select->n_from_clause == 0 && select->n_target_list == 1 &&
        select->target_list[0]->node_case == PG_QUERY__NODE__NODE_RES_TARGET) {
        const PgQuery__Node *value = select->target_list[0]->res_target->val;
        double count = 0;
        if (value != NULL && value->node_case == PG_QUERY__NODE__NODE_FUNC_CALL &&
            size_series_rows(value->func_call, &count))
            product *= count;
    }
    double limit = 0;
    if (select->limit_count != NULL && size_constant_number(select->limit_count, &limit, 0) && limit < product)
        product = limit > 0 ? limit : 0;
    *rows = product;
    return true;
}
