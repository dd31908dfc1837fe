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
#include "internal.h"

/* Bounds recursion over the tree; the walk has already bounded the depth. */
#define COLUMNS_MAX_DEPTH (GUARD_MAX_DEPTH + 16)

typedef struct range_column {
    const char *name;  /* the relation's column name (catalog-owned) */
    const char *alias; /* the name a column alias list gave it, or NULL */
    bool denied;
} range_column;

/* One FROM item visible by a reference name. */
typedef struct range_entry {
    const char *refname;   /* alias, relation or CTE name; NULL when it has none */
    const char *table;     /* the base relation's name for messages; NULL if derived */
    range_column *columns; /* known columns (base relations and join aliases over them) */
    size_t column_count;
    bool carries_denied; /* some column is denied: whole-row references read it */
} range_entry;

typedef struct scope {
    const struct scope *parent;
    range_entry **entries; /* this level's FROM items, in order */
    size_t entry_count;
    size_t entry_capacity;
    const char **ctes; /* CTE names visible at this level */
    size_t cte_count;
    size_t cte_capacity;
} scope;

typedef struct analysis {
    const guard_policy *policy;
    guard_verdict *verdict;
    policy_patterns patterns;
    void **owned; /* every allocation, released at the end */
    size_t owned_count;
    size_t owned_capacity;
} analysis;

static bool out_of_memory(analysis *state) {
    return verdict_reject(state->verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "out of memory");
}

/* Remembers a pointer for release at the end; frees it and fails when that cannot be. */
static void *own(analysis *state, void *pointer) {
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

static bool push_entry(analysis *state, scope *level, range_entry *entry) {
    if (level->entry_count == level->entry_capacity) {
        size_t capacity = level->entry_capacity ? level->entry_capacity * 2 : 8;
        range_entry **grown = realloc(level->entries, capacity * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(state);
        level->entries = grown;
        level->entry_capacity = capacity;
    }
    level->entries[level->entry_count++] = entry;
    return true;
}

static bool push_cte(analysis *state, scope *level, const char *name) {
    if (level->cte_count == level->cte_capacity) {
        size_t capacity = level->cte_capacity ? level->cte_capacity * 2 : 4;
        const char **grown = realloc(level->ctes, capacity * sizeof *grown);
        if (grown == NULL)
            return out_of_memory(state);
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

static bool cte_visible(const scope *level, const char *name) {
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
static const range_column *find_column(const range_entry *entry, const char *name) {
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

static bool reject_denied_column(analysis *state, const range_entry *entry, const range_column *column, int location) {
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

static bool analyze_select(analysis *state, const PgQuery__SelectStmt *select, const scope *parent, bool in_exists,
                           int depth);
static bool walk_expression(analysis *state, const ProtobufCMessage *message, const scope *level, int depth);

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
    const range_column *column = find_column(entry, name);
    if (column != NULL && column->denied)
        return reject_denied_column(state, entry, column, location);
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
            const range_column *column = find_column(at->entries[i], name);
            if (column != NULL && column->denied)
                return reject_denied_column(state, at->entries[i], column, location);
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

/* Every message field of message, through protobuf-c's descriptors (none is skipped),
 * except those skip names; each child goes to walk_expression. */
static bool walk_fields(analysis *state, const ProtobufCMessage *message, const scope *level, int depth,
                        const char *const *skip) {
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    const char *base = (const char *)message;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        bool skipped = false;
        for (const char *const *name = skip; name != NULL && *name != NULL; name++)
            if (strcmp(field->name, *name) == 0)
                skipped = true;
        if (skipped)
            continue;
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + field->quantifier_offset) != field->id)
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)(base + field->quantifier_offset);
            const ProtobufCMessage *const *items = *(const ProtobufCMessage *const *const *)(base + field->offset);
            for (size_t j = 0; j < count; j++)
                if (items[j] != NULL && !walk_expression(state, items[j], level, depth + 1))
                    return false;
        } else {
            const ProtobufCMessage *child = *(const ProtobufCMessage *const *)(base + field->offset);
            if (child != NULL && !walk_expression(state, child, level, depth + 1))
                return false;
        }
    }
    return true;
}

/* Any node outside a FROM clause. A FROM item met here is a shape the analysis does not
 * know: refused. */
static bool walk_expression(analysis *state, const ProtobufCMessage *message, const scope *level, int depth) {
    if (depth > COLUMNS_MAX_DEPTH)
        return verdict_reject(state->verdict, GUARD_TOO_COMPLEX, -1, NULL,
                              "simplify the query: fewer nested expressions or subqueries",
                              "the query is nested too deeply");
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    if (descriptor == &pg_query__select_stmt__descriptor)
        return analyze_select(state, (const PgQuery__SelectStmt *)message, level, false, depth + 1);
    if (descriptor == &pg_query__sub_link__descriptor) {
        const PgQuery__SubLink *link = (const PgQuery__SubLink *)message;
        if (link->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK && link->subselect != NULL &&
            link->subselect->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
            if (link->testexpr != NULL && !walk_expression(state, &link->testexpr->base, level, depth + 1))
                return false;
            return analyze_select(state, link->subselect->select_stmt, level, true, depth + 1);
        }
        return walk_fields(state, message, level, depth, NULL);
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
    return walk_fields(state, message, level, depth, NULL);
}

static range_entry *new_entry(analysis *state, const char *refname) {
    range_entry *entry = own(state, calloc(1, sizeof *entry));
    if (entry == NULL) {
        out_of_memory(state);
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
    if (schema == NULL && cte_visible(level, name)) {
        range_entry *entry = new_entry(state, refname);
        return entry != NULL && push_entry(state, level, entry);
    }
    if (policy_is_side_door(name))
        return reject_relation(state, relation,
                               "it shows sample values or query texts of other relations, which the data owner's "
                               "policy would not let through");
    const guard_catalog *catalog = state->policy->catalog;
    if (catalog == NULL || catalog->relation == NULL) {
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
        return entry != NULL && push_entry(state, level, entry);
    }
    guard_relation resolved;
    memset(&resolved, 0, sizeof resolved);
    if (!catalog->relation(catalog->context, schema, name, &resolved) || resolved.schema == NULL ||
        resolved.name == NULL)
        return reject_relation(state, relation, outside); /* the same words as a denied one: no oracle */
    if (!policy_table_allowed(&state->patterns, resolved.schema, resolved.name))
        return reject_relation(state, relation, outside);
    /* A partition or inheritance child holds its ancestors' rows: their policy is its own. */
    for (size_t a = 0; a < resolved.ancestor_count; a++)
        if (!policy_table_allowed(&state->patterns, resolved.ancestors[a].schema, resolved.ancestors[a].name))
            return reject_relation(state, relation, outside);
    range_entry *entry = new_entry(state, refname);
    if (entry == NULL)
        return false;
    entry->table = resolved.name;
    if (resolved.column_count > 0) {
        entry->columns = own(state, calloc(resolved.column_count, sizeof *entry->columns));
        if (entry->columns == NULL)
            return out_of_memory(state);
    }
    entry->column_count = resolved.column_count;
    const PgQuery__Alias *alias = relation->alias;
    for (size_t i = 0; i < resolved.column_count; i++) {
        range_column *column = &entry->columns[i];
        column->name = resolved.columns[i] != NULL ? resolved.columns[i] : "";
        column->denied = policy_column_denied(&state->patterns, resolved.schema, resolved.name, column->name);
        for (size_t a = 0; a < resolved.ancestor_count && !column->denied; a++)
            column->denied = policy_column_denied(&state->patterns, resolved.ancestors[a].schema,
                                                  resolved.ancestors[a].name, column->name);
        if (alias != NULL && i < alias->n_colnames && alias->colnames[i]->node_case == PG_QUERY__NODE__NODE_STRING)
            column->alias = alias->colnames[i]->string->sval;
        entry->carries_denied |= column->denied;
    }
    return push_entry(state, level, entry);
}

static bool add_from_item(analysis *state, scope *level, const PgQuery__Node *item, int depth);

/* a JOIN b [USING (...) | NATURAL] [ON ...] [AS j]. */
static bool add_join(analysis *state, scope *level, const PgQuery__JoinExpr *join, int depth) {
    size_t left_start = level->entry_count;
    if (join->larg == NULL || !add_from_item(state, level, join->larg, depth + 1))
        return join->larg == NULL ? verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL, NULL,
                                                   "join without a left side")
                                  : false;
    size_t right_start = level->entry_count;
    if (join->rarg == NULL || !add_from_item(state, level, join->rarg, depth + 1))
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
            const range_column *column = find_column(level->entries[i], name);
            if (column != NULL && column->denied)
                return reject_denied_column(state, level->entries[i], column, -1);
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
                    if (other->table == NULL || find_column(other, entry->columns[c].name) != NULL)
                        return reject_denied_column(state, entry, &entry->columns[c], -1);
                }
            }
        }
    }
    if (join->quals != NULL && !walk_expression(state, &join->quals->base, level, depth + 1))
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
        combined->columns = own(state, calloc(total, sizeof *combined->columns));
        if (combined->columns == NULL)
            return out_of_memory(state);
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
    return push_entry(state, level, combined);
}

/* One FROM item; its entries are appended to level. Subqueries and function arguments
 * see everything already in level (LATERAL or not: more visibility only refuses more). */
static bool add_from_item(analysis *state, scope *level, const PgQuery__Node *item, int depth) {
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
        if (!analyze_select(state, sub->subquery->select_stmt, level, false, depth + 1))
            return false;
        range_entry *entry = new_entry(state, alias_name(sub->alias));
        return entry != NULL && push_entry(state, level, entry);
    }
    case PG_QUERY__NODE__NODE_RANGE_FUNCTION: {
        const PgQuery__RangeFunction *function = item->range_function;
        if (!walk_fields(state, &function->base, level, depth, (const char *const[]){"alias", NULL}))
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
        return entry != NULL && push_entry(state, level, entry);
    }
    case PG_QUERY__NODE__NODE_RANGE_TABLE_FUNC: {
        const PgQuery__RangeTableFunc *table = item->range_table_func;
        if (!walk_fields(state, &table->base, level, depth, (const char *const[]){"alias", NULL}))
            return false;
        range_entry *entry = new_entry(state, alias_name(table->alias));
        return entry != NULL && push_entry(state, level, entry);
    }
    case PG_QUERY__NODE__NODE_RANGE_TABLE_SAMPLE: {
        const PgQuery__RangeTableSample *sample = item->range_table_sample;
        if (sample->relation == NULL || !add_from_item(state, level, sample->relation, depth + 1))
            return sample->relation == NULL ? verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL, NULL,
                                                             "TABLESAMPLE without a relation")
                                            : false;
        return walk_fields(state, &sample->base, level, depth, (const char *const[]){"relation", NULL});
    }
    default:
        return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL,
                              "write the FROM clause with tables, joins, subqueries or functions",
                              "this FROM item is not understood by the table and column policy");
    }
}

/* WITH: each CTE is analyzed in a scope that sees the earlier ones (and itself when
 * RECURSIVE); its name then shadows any table of that name below. */
static bool add_ctes(analysis *state, scope *level, const PgQuery__WithClause *with, int depth) {
    for (size_t i = 0; i < with->n_ctes; i++) {
        if (with->ctes[i]->node_case != PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR)
            return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, -1, NULL, NULL, "malformed WITH");
        const PgQuery__CommonTableExpr *cte = with->ctes[i]->common_table_expr;
        if (cte->ctename == NULL || cte->ctequery == NULL ||
            cte->ctequery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
            return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, cte->location, NULL,
                                  "use SELECT in every WITH clause", "this WITH clause is not understood");
        if (with->recursive && !push_cte(state, level, cte->ctename))
            return false;
        if (!analyze_select(state, cte->ctequery->select_stmt, level, false, depth + 1))
            return false;
        if (!with->recursive && !push_cte(state, level, cte->ctename))
            return false;
    }
    return true;
}

/* One SELECT (or set operation, or VALUES) with its own scope under parent. in_exists:
 * the target list of EXISTS (...) is never evaluated, so a plain `*` there reads nothing. */
static bool analyze_select(analysis *state, const PgQuery__SelectStmt *select, const scope *parent, bool in_exists,
                           int depth) {
    if (depth > COLUMNS_MAX_DEPTH)
        return verdict_reject(state->verdict, GUARD_TOO_COMPLEX, -1, NULL,
                              "simplify the query: fewer nested subqueries", "the query is nested too deeply");
    scope level = {.parent = parent};
    bool ok = true;
    if (select->with_clause != NULL)
        ok = add_ctes(state, &level, select->with_clause, depth);
    if (ok && select->op != PG_QUERY__SET_OPERATION__SETOP_NONE) {
        /* Set operations compare whole rows: their branches are analyzed as plain SELECTs. */
        ok = (select->larg == NULL || analyze_select(state, select->larg, &level, false, depth + 1)) &&
             (select->rarg == NULL || analyze_select(state, select->rarg, &level, false, depth + 1));
    }
    for (size_t i = 0; ok && i < select->n_from_clause; i++)
        ok = add_from_item(state, &level, select->from_clause[i], depth + 1);
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
        ok = walk_expression(state, &target->base, &level, depth + 1);
    }
    static const char *const handled[] = {"with_clause", "larg", "rarg", "from_clause", "target_list", NULL};
    if (ok)
        ok = walk_fields(state, &select->base, &level, depth, handled);
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
            ok = analyze_select(&state, statement->select_stmt, NULL, false, 0);
    }
    for (size_t i = 0; i < state.owned_count; i++)
        free(state.owned[i]);
    free(state.owned);
    policy_patterns_free(&state.patterns);
    return ok;
}
