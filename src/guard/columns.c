/* The data owner's policy over a parse tree: every relation the query names must be on the
 * table allow-list, and no reference may read a denied column. The analysis keeps scopes
 * as PostgreSQL does (a CTE name shadows a table; FROM items are visible to their level
 * and to every subquery below it) but decides conservatively wherever PostgreSQL's choice
 * depends on what exists: an unqualified name is checked against every relation in every
 * enclosing scope, a.b.c against every way of splitting it. Denied data can live only in
 * base relations (tables, views, foreign tables) whose columns the catalog lists, because
 * any read of a denied column is refused where it happens: a subquery or CTE can never
 * re-export one, so their columns need not be known. What the analysis cannot see through
 * is refused when a policy is set: a relation the catalog does not know, a user-defined
 * function (its body may read anything), a relation that quotes other relations' values. */
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "columns.h"

bool columns_out_of_memory(analysis *state) {
    return verdict_reject(state->verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "out of memory");
}

/* Remembers a pointer for release at the end; frees it and fails when that cannot be. */
void *columns_own(analysis *state, void *pointer) {
    if (pointer == NULL)
        return NULL;
    if (state->owned_count == state->owned_capacity) {
        size_t capacity = state->owned_capacity ? state->owned_capacity * 2 : 32;
        void **grown = realloc(state->owned, capacity * sizeof *grown);
        if (grown == NULL) {
            free(pointer);
            return NULL;
        }
        state->owned = grown;
        state->owned_capacity = capacity;
    }
    state->owned[state->owned_count++] = pointer;
    return pointer;
}

bool columns_push_entry(analysis *state, scope *level, range_entry *entry) {
    if (level->entry_count == level->entry_capacity) {
        size_t capacity = level->entry_capacity ? level->entry_capacity * 2 : 8;
        range_entry **grown = realloc(level->entries, capacity * sizeof *grown);
        if (grown == NULL)
            return columns_out_of_memory(state);
        level->entries = grown;
        level->entry_capacity = capacity;
    }
    level->entries[level->entry_count++] = entry;
    return true;
}

bool columns_push_cte(analysis *state, scope *level, const char *name) {
    if (level->cte_count == level->cte_capacity) {
        size_t capacity = level->cte_capacity ? level->cte_capacity * 2 : 4;
        const char **grown = realloc(level->ctes, capacity * sizeof *grown);
        if (grown == NULL)
            return columns_out_of_memory(state);
        level->ctes = grown;
        level->cte_capacity = capacity;
    }
    level->ctes[level->cte_count++] = name;
    return true;
}

static void scope_release(scope *level) {
    free(level->entries);
    free(level->ctes);
}

bool columns_cte_visible(const scope *level, const char *name) {
    for (; level != NULL; level = level->parent)
        for (size_t i = 0; i < level->cte_count; i++)
            if (strcmp(level->ctes[i], name) == 0)
                return true;
    return false;
}

static bool column_named(const range_column *column, const char *name) {
    return strcmp(column->name, name) == 0 || (column->alias != NULL && strcmp(column->alias, name) == 0);
}

/* The column of entry a name may mean; a denied one first, as an alias list can give an
 * allowed column the name a denied one still has. */
const range_column *columns_find_column(const range_entry *entry, const char *name) {
    const range_column *found = NULL;
    for (size_t i = 0; i < entry->column_count; i++)
        if (column_named(&entry->columns[i], name) && (found == NULL || entry->columns[i].denied))
            found = &entry->columns[i];
    return found;
}

static const range_column *first_denied(const range_entry *entry) {
    for (size_t i = 0; i < entry->column_count; i++)
        if (entry->columns[i].denied)
            return &entry->columns[i];
    return NULL;
}

/* "id, name, created_at": the columns of entry a query may name; caller frees. */
static char *allowed_list(const range_entry *entry) {
    strbuf list = {0};
    for (size_t i = 0; i < entry->column_count; i++) {
        if (entry->columns[i].denied)
            continue;
        if (list.length > 0)
            strbuf_puts(&list, ", ");
        strbuf_puts(&list, entry->columns[i].alias ? entry->columns[i].alias : entry->columns[i].name);
    }
    return strbuf_take(&list);
}

bool columns_reject_denied(analysis *state, const range_entry *entry, const range_column *column, int location) {
    char *allowed = allowed_list(entry);
    char *hint = str_printf("leave \"%s\" out; the columns of \"%s\" you may use are: %s", column->name,
                            entry->table ? entry->table : "?", allowed && *allowed ? allowed : "(none)");
    verdict_reject(state->verdict, GUARD_COLUMN_DENIED, location,
                   "the data owner's policy keeps this column from models: it may not be returned, compared, "
                   "sorted, grouped, joined on or aggregated",
                   hint, "column \"%s.%s\" is denied", entry->table ? entry->table : "?", column->name);
    free(allowed);
    free(hint);
    return false;
}

/* A star or whole-row reference to entry, which carries a denied column. */
static bool reject_whole_row(analysis *state, const range_entry *entry, const char *shown, int location) {
    const range_column *column = first_denied(entry);
    if (column == NULL)
        return verdict_reject(state->verdict, GUARD_INTERNAL_ERROR, location, NULL, NULL, "denied column lost");
    char *allowed = allowed_list(entry);
    char *hint = str_printf("name the columns you need instead: %s", allowed && *allowed ? allowed : "(none)");
    char *detail =
        str_printf("it would carry the denied column \"%s.%s\"", entry->table ? entry->table : "?", column->name);
    verdict_reject(state->verdict, GUARD_COLUMN_DENIED, location, detail, hint,
                   "%s would read a denied column of \"%s\"", shown, entry->table ? entry->table : "?");
    free(allowed);
    free(hint);
    free(detail);
    return false;
}

static bool string_in_list(const char *const *list, const char *schema, const char *name) {
    for (; list != NULL && *list != NULL; list++) {
        const char *dot = strrchr(*list, '.');
        if (dot == NULL ? strcmp(*list, name) == 0
                        : strcmp(dot + 1, name) == 0 && schema != NULL && strlen(schema) == (size_t)(dot - *list) &&
                              strncmp(*list, schema, (size_t)(dot - *list)) == 0)
            return true;
    }
    return false;
}

/* A user-defined function may read any table, whatever the policy says: refused unless
 * the operator allowed it by name after review. */
static bool check_function_name(analysis *state, const char *schema, const char *name, int location,
                                bool attribute_notation) {
    const guard_policy *policy = state->policy;
    bool builtin_schema = schema == NULL || strcmp(schema, "pg_catalog") == 0;
    bool builtin = builtin_schema && builtin_function_volatility(builtin_table_for(policy->server_version), name) !=
                                         GUARD_VOLATILITY_UNKNOWN;
    bool user = false;
    if (policy->catalog != NULL && policy->catalog->function_volatility != NULL &&
        (schema == NULL || strcmp(schema, "pg_catalog") != 0))
        user = policy->catalog->function_volatility(policy->catalog->context, schema, name) != GUARD_VOLATILITY_UNKNOWN;
    if (attribute_notation && !user)
        return true; /* a plain column or a built-in, decided elsewhere */
    if ((builtin && !user) || string_in_list(policy->allowed_functions, schema, name))
        return true;
    char *hint = str_printf("use built-in functions; the operator can allow it after review with "
                            "--allow-function %s",
                            name);
    verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, location,
                   "it is defined in the database, and its body could read tables or columns the data owner's "
                   "policy hides",
                   hint, "function \"%s\" is not allowed under the table and column policy", name);
    free(hint);
    return false;
}

/* Every entry named refname at any level, visited until visit returns false. */
typedef bool (*entry_visitor)(analysis *state, const range_entry *entry, const void *argument, int location);

static bool each_entry_named(analysis *state, const scope *level, const char *refname, entry_visitor visit,
                             const void *argument, int location, bool *found) {
    for (; level != NULL; level = level->parent)
        for (size_t i = 0; i < level->entry_count; i++) {
            const range_entry *entry = level->entries[i];
            if (entry->refname != NULL && strcmp(entry->refname, refname) == 0) {
                *found = true;
                if (!visit(state, entry, argument, location))
                    return false;
            }
        }
    return true;
}

/* entry.name: a denied column, or (when name is no column of a carrying entry) the
 * functional notation name(entry), which takes the whole row. */
static bool visit_qualified(analysis *state, const range_entry *entry, const void *argument, int location) {
    const char *name = argument;
    const range_column *column = columns_find_column(entry, name);
    if (column != NULL && column->denied)
        return columns_reject_denied(state, entry, column, location);
    if (column == NULL && entry->carries_denied) {
        char *shown = str_printf("\"%s.%s\" (PostgreSQL reads it as %s(%s), the whole row)", entry->refname, name, name,
                                 entry->refname);
        bool ok = reject_whole_row(state, entry, shown ? shown : "a whole-row reference", location);
        free(shown);
        return ok;
    }
    return true;
}

static bool visit_star(analysis *state, const range_entry *entry, const void *argument, int location) {
    (void)argument;
    if (!entry->carries_denied)
        return true;
    char *shown = str_printf("\"%s.*\"", entry->refname);
    bool ok = reject_whole_row(state, entry, shown ? shown : "a star", location);
    free(shown);
    return ok;
}

static bool visit_whole_row(analysis *state, const range_entry *entry, const void *argument, int location) {
    (void)argument;
    if (!entry->carries_denied)
        return true;
    char *shown = str_printf("the whole-row reference \"%s\"", entry->refname);
    bool ok = reject_whole_row(state, entry, shown ? shown : "a whole-row reference", location);
    free(shown);
    return ok;
}

/* An unqualified name: any relation in any enclosing scope that has it may be meant. A
 * name alone (whole_row) may also be a FROM item's reference name: its whole row. */
static bool check_unqualified(analysis *state, const scope *level, const char *name, int location, bool whole_row) {
    for (const scope *at = level; at != NULL; at = at->parent)
        for (size_t i = 0; i < at->entry_count; i++) {
            const range_column *column = columns_find_column(at->entries[i], name);
            if (column != NULL && column->denied)
                return columns_reject_denied(state, at->entries[i], column, location);
        }
    bool found = false;
    return !whole_row || each_entry_named(state, level, name, visit_whole_row, NULL, location, &found);
}

/* A column reference: name, a.name, s.a.name, d.s.a.name, or one of them ending in *. */
static bool check_column_ref(analysis *state, const PgQuery__ColumnRef *ref, const scope *level) {
    size_t count = ref->n_fields;
    int location = ref->location;
    if (count == 0)
        return true;
    bool star = ref->fields[count - 1]->node_case == PG_QUERY__NODE__NODE_A_STAR;
    size_t names = star ? count - 1 : count;
    for (size_t i = 0; i < names; i++)
        if (ref->fields[i]->node_case != PG_QUERY__NODE__NODE_STRING)
            return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, location, NULL,
                                  "write the column as name or table.name", "malformed column reference");
    if (star && names == 0) {
        /* `*`: every FROM item of this level. */
        for (size_t i = 0; i < level->entry_count; i++)
            if (level->entries[i]->carries_denied)
                return reject_whole_row(state, level->entries[i], "\"*\"", location);
        return true;
    }
    /* The first name may be a column (of composite type, when names follow). */
    const char *first = ref->fields[0]->string->sval;
    if (!check_unqualified(state, level, first, location, names == 1 && !star))
        return false;
    /* Every split: fields[k] a table reference, fields[k + 1] its column (or *). */
    for (size_t k = 0; k < names; k++) {
        const char *refname = ref->fields[k]->string->sval;
        bool found = false;
        if (k + 1 < names) {
            const char *name = ref->fields[k + 1]->string->sval;
            if (!each_entry_named(state, level, refname, visit_qualified, name, location, &found))
                return false;
        } else if (star) {
            if (!each_entry_named(state, level, refname, visit_star, NULL, location, &found))
                return false;
        }
    }
    /* x.f may be the call f(x) of a user-defined function. */
    if (names >= 2 && !check_function_name(state, NULL, ref->fields[names - 1]->string->sval, location, true))
        return false;
    return true;
}

static bool check_func_call(analysis *state, const PgQuery__FuncCall *call) {
    size_t count = call->n_funcname;
    if (count == 0 || count > 3)
        return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, call->location, NULL, NULL,
                              "malformed function name");
    for (size_t i = 0; i < count; i++)
        if (call->funcname[i]->node_case != PG_QUERY__NODE__NODE_STRING)
            return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, call->location, NULL, NULL,
                                  "malformed function name");
    const char *schema = count >= 2 ? call->funcname[count - 2]->string->sval : NULL;
    return check_function_name(state, schema, call->funcname[count - 1]->string->sval, call->location, false);
}

/* columns_walk_fields' step to one child. */
typedef struct expression_step {
    analysis *state;
    const scope *level;
    int depth; /* the parent's */
} expression_step;

static bool walk_child_expression(const ProtobufCMessage *child, void *context) {
    const expression_step *step = context;
    return columns_walk_expression(step->state, child, step->level, step->depth + 1);
}

/* Every child of message (tree_each_child: none is forgotten) except those in the
 * fields named by skip; each goes to columns_walk_expression. */
bool columns_walk_fields(analysis *state, const ProtobufCMessage *message, const scope *level, int depth,
                         const char *const *skip) {
    expression_step step = {state, level, depth};
    return tree_each_child(message, skip, walk_child_expression, &step);
}

/* Any node outside a FROM clause. A FROM item met here is a shape the analysis does not
 * know: refused. */
bool columns_walk_expression(analysis *state, const ProtobufCMessage *message, const scope *level, int depth) {
    if (depth > COLUMNS_MAX_DEPTH)
        return verdict_reject(state->verdict, GUARD_TOO_COMPLEX, -1, NULL,
                              "simplify the query: fewer nested expressions or subqueries",
                              "the query is nested too deeply");
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    if (descriptor == &pg_query__select_stmt__descriptor)
        return columns_analyze_select(state, (const PgQuery__SelectStmt *)message, level, false, depth + 1);
    if (descriptor == &pg_query__sub_link__descriptor) {
        const PgQuery__SubLink *link = (const PgQuery__SubLink *)message;
        if (link->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK && link->subselect != NULL &&
            link->subselect->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
            if (link->testexpr != NULL && !columns_walk_expression(state, &link->testexpr->base, level, depth + 1))
                return false;
            return columns_analyze_select(state, link->subselect->select_stmt, level, true, depth + 1);
        }
        return columns_walk_fields(state, message, level, depth, NULL);
    }
    if (descriptor == &pg_query__column_ref__descriptor)
        return check_column_ref(state, (const PgQuery__ColumnRef *)message, level);
    if (descriptor == &pg_query__func_call__descriptor && !check_func_call(state, (const PgQuery__FuncCall *)message))
        return false;
    if (descriptor == &pg_query__a__indirection__descriptor) {
        /* (expr).f calls f(expr) when f is a function: a user one could read anything. */
        const PgQuery__AIndirection *indirection = (const PgQuery__AIndirection *)message;
        for (size_t i = 0; i < indirection->n_indirection; i++)
            if (indirection->indirection[i]->node_case == PG_QUERY__NODE__NODE_STRING &&
                !check_function_name(state, NULL, indirection->indirection[i]->string->sval, -1, true))
                return false;
    }
    if (descriptor == &pg_query__range_var__descriptor || descriptor == &pg_query__join_expr__descriptor ||
        descriptor == &pg_query__range_subselect__descriptor || descriptor == &pg_query__range_function__descriptor ||
        descriptor == &pg_query__range_table_func__descriptor ||
        descriptor == &pg_query__range_table_sample__descriptor || descriptor == &pg_query__with_clause__descriptor ||
        descriptor == &pg_query__common_table_expr__descriptor)
        return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL,
                              "write the query as a plain SELECT over named tables",
                              "construct %s is not understood by the table and column policy", descriptor->short_name);
    return columns_walk_fields(state, message, level, depth, NULL);
}

/* One SELECT (or set operation, or VALUES) with its own scope under parent. in_exists:
 * the target list of EXISTS (...) is never evaluated, so a plain `*` there reads nothing. */
bool columns_analyze_select(analysis *state, const PgQuery__SelectStmt *select, const scope *parent, bool in_exists,
                            int depth) {
    if (depth > COLUMNS_MAX_DEPTH)
        return verdict_reject(state->verdict, GUARD_TOO_COMPLEX, -1, NULL,
                              "simplify the query: fewer nested subqueries", "the query is nested too deeply");
    scope level = {.parent = parent};
    bool ok = true;
    if (select->with_clause != NULL)
        ok = from_add_ctes(state, &level, select->with_clause, depth);
    if (ok && select->op != PG_QUERY__SET_OPERATION__SETOP_NONE) {
        /* Set operations compare whole rows: their branches are analyzed as plain SELECTs. */
        ok = (select->larg == NULL || columns_analyze_select(state, select->larg, &level, false, depth + 1)) &&
             (select->rarg == NULL || columns_analyze_select(state, select->rarg, &level, false, depth + 1));
    }
    for (size_t i = 0; ok && i < select->n_from_clause; i++)
        ok = from_add_item(state, &level, select->from_clause[i], depth + 1);
    /* GROUP BY 3, DISTINCT ON (3) or ORDER BY 3 would name a column the star expands to. */
    bool star_is_unread = in_exists && select->op == PG_QUERY__SET_OPERATION__SETOP_NONE &&
                          select->n_group_clause == 0 && select->having_clause == NULL &&
                          select->n_distinct_clause == 0 && select->n_sort_clause == 0 && select->n_window_clause == 0;
    for (size_t i = 0; ok && i < select->n_target_list; i++) {
        const PgQuery__Node *target = select->target_list[i];
        if (star_is_unread && target->node_case == PG_QUERY__NODE__NODE_RES_TARGET && target->res_target->val != NULL &&
            target->res_target->val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
            target->res_target->val->column_ref->n_fields == 1 &&
            target->res_target->val->column_ref->fields[0]->node_case == PG_QUERY__NODE__NODE_A_STAR)
            continue;
        ok = columns_walk_expression(state, &target->base, &level, depth + 1);
    }
    static const char *const handled[] = {"with_clause", "larg", "rarg", "from_clause", "target_list", NULL};
    if (ok)
        ok = columns_walk_fields(state, &select->base, &level, depth, handled);
    scope_release(&level);
    return ok;
}

bool columns_check(const PgQuery__ParseResult *tree, const guard_policy *policy, guard_verdict *verdict) {
    bool active = policy->table_patterns != NULL || (policy->denied_columns != NULL && policy->denied_columns[0]);
    if (!active)
        return true;
    analysis state = {.policy = policy, .verdict = verdict};
    char *error = NULL;
    if (!policy_patterns_parse(policy, &state.patterns, &error)) {
        verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, error, "fix the --tables or --deny-columns patterns",
                       "the table and column policy is malformed");
        free(error);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < tree->n_stmts; i++) {
        const PgQuery__Node *statement = tree->stmts[i]->stmt;
        if (statement == NULL || statement->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
            ok = verdict_reject(verdict, GUARD_NOT_SELECT, -1, NULL, NULL, "only SELECT is allowed");
        else
            ok = columns_analyze_select(&state, statement->select_stmt, NULL, false, 0);
    }
    for (size_t i = 0; i < state.owned_count; i++)
        free(state.owned[i]);
    free(state.owned);
    policy_patterns_free(&state.patterns);
    return ok;
}
