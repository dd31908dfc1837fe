/* FROM items, joins and WITH for the table and column policy: each named relation is
 * resolved (a CTE of an enclosing WITH, else through the catalog and the pinned search_path)
 * and checked against the allow-list, and becomes a scope entry with its columns, the denied
 * ones marked; USING and NATURAL joins must not compare a denied column. See columns.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "columns.h"

static range_entry *new_entry(analysis *state, const char *refname) {
    range_entry *entry = columns_own(state, calloc(1, sizeof *entry));
    if (entry == NULL) {
        columns_out_of_memory(state);
        return NULL;
    }
    entry->refname = refname;
    return entry;
}

static const char *alias_name(const PgQuery__Alias *alias) {
    return alias != NULL && alias->aliasname != NULL && alias->aliasname[0] != '\0' ? alias->aliasname : NULL;
}

static bool reject_relation(analysis *state, const PgQuery__RangeVar *relation, const char *detail) {
    const char *schema = relation->schemaname != NULL && relation->schemaname[0] ? relation->schemaname : NULL;
    return verdict_reject(state->verdict, GUARD_RELATION_NOT_ALLOWED, relation->location, detail,
                          "query one of the tables this server allows; the list_tables tool shows them",
                          "relation \"%s%s%s\" does not exist or is not allowed", schema ? schema : "",
                          schema ? "." : "", relation->relname ? relation->relname : "?");
}

/* Without a catalog that resolves names: an unqualified name may land in any schema of
 * the search_path (after pg_catalog, which is exempt), so each must allow it. */
static bool allowed_offline(analysis *state, const char *schema, const char *name) {
    if (schema != NULL)
        return policy_table_allowed(&state->patterns, schema, name);
    static const char *const default_path[] = {"public", NULL};
    const char *const *path = state->policy->search_path != NULL ? state->policy->search_path : default_path;
    for (; *path != NULL; path++)
        if (!policy_table_allowed(&state->patterns, *path, name))
            return false;
    return true;
}

/* A partition or inheritance child holds its ancestors' rows, and a scan of a parent
 * (unless ONLY) reads its descendants' rows: each of them must be allowed, and a column
 * denied in any of them is denied here. */
static const guard_relation_name *scanned_descendants(analysis *state, const guard_relation *resolved,
                                                      const PgQuery__RangeVar *relation) {
    const guard_catalog *catalog = state->policy->catalog;
    if (!relation->inh || catalog->relation_descendants == NULL)
        return NULL;
    return catalog->relation_descendants(catalog->context, resolved->schema, resolved->name);
}

static bool family_allowed(analysis *state, const guard_relation *resolved, const guard_relation_name *descendants) {
    for (size_t a = 0; a < resolved->ancestor_count; a++)
        if (!policy_table_allowed(&state->patterns, resolved->ancestors[a].schema, resolved->ancestors[a].name))
            return false;
    for (; descendants != NULL && descendants->name != NULL; descendants++)
        if (descendants->schema == NULL ||
            !policy_table_allowed(&state->patterns, descendants->schema, descendants->name))
            return false;
    return true;
}

static bool family_column_denied(analysis *state, const guard_relation *resolved,
                                 const guard_relation_name *descendants, const char *column) {
    if (policy_column_denied(&state->patterns, resolved->schema, resolved->name, column))
        return true;
    for (size_t a = 0; a < resolved->ancestor_count; a++)
        if (policy_column_denied(&state->patterns, resolved->ancestors[a].schema, resolved->ancestors[a].name, column))
            return true;
    for (; descendants != NULL && descendants->name != NULL; descendants++)
        if (policy_column_denied(&state->patterns, descendants->schema ? descendants->schema : "", descendants->name,
                                 column))
            return true;
    return false;
}

/* A named relation in FROM: a CTE of an enclosing WITH, or a relation the catalog resolves. */
static bool add_range_var(analysis *state, scope *level, const PgQuery__RangeVar *relation) {
    static const char outside[] = "it does not exist, or it is outside the tables this server's data owner allows";
    const char *schema = relation->schemaname != NULL && relation->schemaname[0] ? relation->schemaname : NULL;
    const char *name = relation->relname;
    const char *refname = alias_name(relation->alias) ? alias_name(relation->alias) : name;
    if (name == NULL)
        return reject_relation(state, relation, NULL);
    if (relation->catalogname != NULL && relation->catalogname[0] != '\0' && schema == NULL)
        return reject_relation(state, relation, NULL);
    if (schema == NULL && columns_cte_visible(level, name)) {
        range_entry *entry = new_entry(state, refname);
        return entry != NULL && columns_push_entry(state, level, entry);
    }
    if (policy_is_side_door(name))
        return reject_relation(state, relation,
                               "it shows sample values or query texts of other relations, which the data owner's "
                               "policy would not let through");
    const guard_catalog *catalog = state->policy->catalog;
    if (catalog == NULL || catalog->relation == NULL) {
        if (state->patterns.tables_set && catalog_names_is_catalog(schema, name))
            return catalog_names_reject_relation(state, relation);
        if (!allowed_offline(state, schema, name))
            return reject_relation(state, relation, outside);
        if (state->patterns.columns_set)
            return verdict_reject(
                state->verdict, GUARD_POLICY_UNVERIFIABLE, relation->location,
                "a column policy needs each relation's columns, and no database catalog is loaded",
                "check the query against a connected database, or declare the relation's columns with "
                "pgsafe check --relation",
                "the columns of relation \"%s\" are unknown", name);
        range_entry *entry = new_entry(state, refname);
        return entry != NULL && columns_push_entry(state, level, entry);
    }
    guard_relation resolved;
    memset(&resolved, 0, sizeof resolved);
    if (!catalog->relation(catalog->context, schema, name, &resolved) || resolved.schema == NULL ||
        resolved.name == NULL)
        return reject_relation(state, relation, outside); /* the same words as a denied one: no oracle */
    if (state->patterns.tables_set && policy_is_builtin_schema(resolved.schema))
        return catalog_names_reject_relation(state, relation);
    const guard_relation_name *descendants = scanned_descendants(state, &resolved, relation);
    if (!policy_table_allowed(&state->patterns, resolved.schema, resolved.name) ||
        !family_allowed(state, &resolved, descendants))
        return reject_relation(state, relation, outside);
    range_entry *entry = new_entry(state, refname);
    if (entry == NULL)
        return false;
    entry->table = resolved.name;
    if (resolved.column_count > 0) {
        entry->columns = columns_own(state, calloc(resolved.column_count, sizeof *entry->columns));
        if (entry->columns == NULL)
            return columns_out_of_memory(state);
    }
    entry->column_count = resolved.column_count;
    const PgQuery__Alias *alias = relation->alias;
    for (size_t i = 0; i < resolved.column_count; i++) {
        range_column *column = &entry->columns[i];
        column->name = resolved.columns[i] != NULL ? resolved.columns[i] : "";
        column->denied = family_column_denied(state, &resolved, descendants, column->name);
        if (alias != NULL && i < alias->n_colnames && alias->colnames[i]->node_case == PG_QUERY__NODE__NODE_STRING)
            column->alias = alias->colnames[i]->string->sval;
        entry->carries_denied |= column->denied;
    }
    return columns_push_entry(state, level, entry);
}

static const char *column_label(const range_column *column) {
    return column->alias != NULL ? column->alias : column->name;
}

static const range_column *column_labelled(const range_entry *entry, const char *label) {
    for (size_t i = 0; i < entry->column_count; i++)
        if (strcmp(column_label(&entry->columns[i]), label) == 0)
            return &entry->columns[i];
    return NULL;
}

static bool in_using(const PgQuery__JoinExpr *join, const char *label) {
    for (size_t u = 0; u < join->n_using_clause; u++)
        if (join->using_clause[u]->node_case == PG_QUERY__NODE__NODE_STRING &&
            strcmp(join->using_clause[u]->string->sval, label) == 0)
            return true;
    return false;
}

/* The columns of left JOIN right in PostgreSQL's order: the merged USING or NATURAL
 * columns first (denied when either side's is), then the rest of each side. Returns the
 * count, or SIZE_MAX when a merged name is missing on a side. */
static size_t join_columns_in_order(const PgQuery__JoinExpr *join, const range_entry *left, const range_entry *right,
                                    range_column *out) {
    size_t count = 0;
    const range_entry *merge_from = join->is_natural ? left : NULL;
    for (size_t u = 0; !join->is_natural && u < join->n_using_clause; u++) {
        if (join->using_clause[u]->node_case != PG_QUERY__NODE__NODE_STRING)
            return SIZE_MAX;
        const char *label = join->using_clause[u]->string->sval;
        const range_column *l = column_labelled(left, label), *r = column_labelled(right, label);
        if (l == NULL || r == NULL)
            return SIZE_MAX;
        out[count] = *l;
        out[count++].denied |= r->denied;
    }
    for (size_t i = 0; merge_from != NULL && i < left->column_count; i++) {
        const range_column *r = column_labelled(right, column_label(&left->columns[i]));
        if (r != NULL) {
            out[count] = left->columns[i];
            out[count++].denied |= r->denied;
        }
    }
    for (int side = 0; side < 2; side++) {
        const range_entry *entry = side == 0 ? left : right, *other = side == 0 ? right : left;
        for (size_t i = 0; i < entry->column_count; i++) {
            const char *label = column_label(&entry->columns[i]);
            bool merged = join->is_natural ? column_labelled(other, label) != NULL : in_using(join, label);
            if (!merged)
                out[count++] = entry->columns[i];
        }
    }
    return count;
}

/* AS j(a, b, c) renames the join's columns by position. With one base relation on each
 * side the positions are known; otherwise any alias may name a denied column, and is
 * treated as one when the join carries any. */
static bool alias_join_columns(analysis *state, const PgQuery__JoinExpr *join, const range_entry *left,
                               const range_entry *right, range_entry *combined) {
    size_t names = join->alias->n_colnames;
    bool known = left != NULL && right != NULL && left->table != NULL && right->table != NULL;
    size_t capacity = combined->column_count + names;
    range_column *columns = columns_own(state, calloc(capacity > 0 ? capacity : 1, sizeof *columns));
    if (columns == NULL)
        return columns_out_of_memory(state);
    size_t count = known ? join_columns_in_order(join, left, right, columns) : SIZE_MAX;
    if (count == SIZE_MAX) {
        memcpy(columns, combined->columns, combined->column_count * sizeof *columns);
        count = combined->column_count;
        const char *denied = NULL; /* named in the refusal: the alias may stand for it */
        for (size_t i = 0; i < combined->column_count && denied == NULL; i++)
            if (combined->columns[i].denied)
                denied = combined->columns[i].name;
        for (size_t i = 0; i < names; i++)
            if (join->alias->colnames[i]->node_case == PG_QUERY__NODE__NODE_STRING)
                columns[count++] = (range_column){.name = denied ? denied : join->alias->colnames[i]->string->sval,
                                                  .alias = join->alias->colnames[i]->string->sval,
                                                  .denied = denied != NULL};
    } else {
        for (size_t i = 0; i < names && i < count; i++)
            if (join->alias->colnames[i]->node_case == PG_QUERY__NODE__NODE_STRING)
                columns[i].alias = join->alias->colnames[i]->string->sval;
    }
    combined->columns = columns;
    combined->column_count = count;
    return true;
}

/* a JOIN b [USING (...) | NATURAL] [ON ...] [AS j]. */
static bool add_join(analysis *state, scope *level, const PgQuery__JoinExpr *join, int depth) {
    size_t left_start = level->entry_count;
    if (join->larg == NULL || !from_add_item(state, level, join->larg, depth + 1))
        return join->larg == NULL ? verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL, NULL,
                                                   "join without a left side")
                                  : false;
    size_t right_start = level->entry_count;
    if (join->rarg == NULL || !from_add_item(state, level, join->rarg, depth + 1))
        return join->rarg == NULL ? verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL, NULL,
                                                   "join without a right side")
                                  : false;
    size_t end = level->entry_count;
    /* USING (c): compares c of both sides. */
    for (size_t u = 0; u < join->n_using_clause; u++) {
        if (join->using_clause[u]->node_case != PG_QUERY__NODE__NODE_STRING)
            continue;
        const char *name = join->using_clause[u]->string->sval;
        for (size_t i = left_start; i < end; i++) {
            const range_column *column = columns_find_column(level->entries[i], name);
            if (column != NULL && column->denied)
                return columns_reject_denied(state, level->entries[i], column, -1);
        }
    }
    /* NATURAL: compares every common name, which a side without known columns may have. */
    if (join->is_natural) {
        for (size_t i = left_start; i < end; i++) {
            const range_entry *entry = level->entries[i];
            bool on_left = i < right_start;
            size_t other_start = on_left ? right_start : left_start, other_end = on_left ? end : right_start;
            for (size_t c = 0; c < entry->column_count; c++) {
                if (!entry->columns[c].denied)
                    continue;
                for (size_t j = other_start; j < other_end; j++) {
                    const range_entry *other = level->entries[j];
                    if (other->table == NULL || columns_find_column(other, entry->columns[c].name) != NULL)
                        return columns_reject_denied(state, entry, &entry->columns[c], -1);
                }
            }
        }
    }
    if (join->quals != NULL && !columns_walk_expression(state, &join->quals->base, level, depth + 1))
        return false;
    const char *alias = alias_name(join->alias);
    if (alias == NULL)
        return true;
    /* The join alias shows the columns of both sides. */
    range_entry *combined = new_entry(state, alias);
    if (combined == NULL)
        return false;
    size_t total = 0;
    for (size_t i = left_start; i < end; i++)
        total += level->entries[i]->column_count;
    if (total > 0) {
        combined->columns = columns_own(state, calloc(total, sizeof *combined->columns));
        if (combined->columns == NULL)
            return columns_out_of_memory(state);
    }
    for (size_t i = left_start; i < end; i++) {
        const range_entry *entry = level->entries[i];
        for (size_t c = 0; c < entry->column_count; c++)
            combined->columns[combined->column_count++] = entry->columns[c];
        combined->carries_denied |= entry->carries_denied;
        if (combined->table == NULL && entry->carries_denied)
            combined->table = entry->table;
    }
    if (combined->table == NULL)
        combined->table = alias;
    bool single = right_start == left_start + 1 && end == right_start + 1;
    if (join->alias->n_colnames > 0 && !alias_join_columns(state, join, single ? level->entries[left_start] : NULL,
                                                           single ? level->entries[right_start] : NULL, combined))
        return false;
    return columns_push_entry(state, level, combined);
}

/* One FROM item; its entries are appended to level. Subqueries and function arguments
 * see everything already in level (LATERAL or not: more visibility only refuses more). */
bool from_add_item(analysis *state, scope *level, const PgQuery__Node *item, int depth) {
    if (depth > COLUMNS_MAX_DEPTH)
        return verdict_reject(state->verdict, GUARD_TOO_COMPLEX, -1, NULL,
                              "simplify the query: fewer nested joins or subqueries", "the query is nested too deeply");
    switch (item->node_case) {
    case PG_QUERY__NODE__NODE_RANGE_VAR: return add_range_var(state, level, item->range_var);
    case PG_QUERY__NODE__NODE_JOIN_EXPR: return add_join(state, level, item->join_expr, depth);
    case PG_QUERY__NODE__NODE_RANGE_SUBSELECT: {
        const PgQuery__RangeSubselect *sub = item->range_subselect;
        if (sub->subquery == NULL || sub->subquery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
            return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL, NULL, "malformed subquery");
        if (!columns_analyze_select(state, sub->subquery->select_stmt, level, false, depth + 1))
            return false;
        range_entry *entry = new_entry(state, alias_name(sub->alias));
        return entry != NULL && columns_push_entry(state, level, entry);
    }
    case PG_QUERY__NODE__NODE_RANGE_FUNCTION: {
        const PgQuery__RangeFunction *function = item->range_function;
        if (!columns_walk_fields(state, &function->base, level, depth, (const char *const[]){"alias", NULL}))
            return false;
        const char *refname = alias_name(function->alias);
        /* Without an alias a single function is known by its name. */
        if (refname == NULL && function->n_functions == 1 &&
            function->functions[0]->node_case == PG_QUERY__NODE__NODE_LIST &&
            function->functions[0]->list->n_items > 0 &&
            function->functions[0]->list->items[0]->node_case == PG_QUERY__NODE__NODE_FUNC_CALL) {
            const PgQuery__FuncCall *call = function->functions[0]->list->items[0]->func_call;
            if (call->n_funcname > 0 && call->funcname[call->n_funcname - 1]->node_case == PG_QUERY__NODE__NODE_STRING)
                refname = call->funcname[call->n_funcname - 1]->string->sval;
        }
        range_entry *entry = new_entry(state, refname);
        return entry != NULL && columns_push_entry(state, level, entry);
    }
    case PG_QUERY__NODE__NODE_RANGE_TABLE_FUNC: {
        const PgQuery__RangeTableFunc *table = item->range_table_func;
        if (!columns_walk_fields(state, &table->base, level, depth, (const char *const[]){"alias", NULL}))
            return false;
        range_entry *entry = new_entry(state, alias_name(table->alias));
        return entry != NULL && columns_push_entry(state, level, entry);
    }
    case PG_QUERY__NODE__NODE_RANGE_TABLE_SAMPLE: {
        const PgQuery__RangeTableSample *sample = item->range_table_sample;
        if (sample->relation == NULL || !from_add_item(state, level, sample->relation, depth + 1))
            return sample->relation == NULL ? verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL, NULL,
                                                             "TABLESAMPLE without a relation")
                                            : false;
        return columns_walk_fields(state, &sample->base, level, depth, (const char *const[]){"relation", NULL});
    }
    default:
        return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL,
                              "write the FROM clause with tables, joins, subqueries or functions",
                              "this FROM item is not understood by the table and column policy");
    }
}

/* WITH: each CTE is analyzed in a scope that sees the earlier ones (and itself when
 * RECURSIVE); its name then shadows any table of that name below. */
bool from_add_ctes(analysis *state, scope *level, const PgQuery__WithClause *with, int depth) {
    for (size_t i = 0; i < with->n_ctes; i++) {
        if (with->ctes[i]->node_case != PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR)
            return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL, NULL, "malformed WITH");
        const PgQuery__CommonTableExpr *cte = with->ctes[i]->common_table_expr;
        if (cte->ctename == NULL || cte->ctequery == NULL ||
            cte->ctequery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
            return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, cte->location, NULL,
                                  "use SELECT in every WITH clause", "this WITH clause is not understood");
        if (with->recursive && !columns_push_cte(state, level, cte->ctename))
            return false;
        if (!columns_analyze_select(state, cte->ctequery->select_stmt, level, false, depth + 1))
            return false;
        if (!with->recursive && !columns_push_cte(state, level, cte->ctename))
            return false;
    }
    return true;
}
