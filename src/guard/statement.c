/* Checks that need the whole statement rather than one node, run after the walk has proved
 * every node type allowed:
 *  - the XPath grammar construct XMLTABLE, which no function policy reaches (libxml2's XPath
 *    engine never checks for interrupts, so the statement timeout cannot stop it);
 *  - catalog views whose columns show secrets (pg_stats' sampled values, pg_roles.rolconfig):
 *    a statement that reads one may not name those columns, use *, take the whole row or
 *    rename its columns, so it can read only the harmless ones;
 *  - names that newer servers parse as keywords (SELECT system_user is a column to the
 *    PostgreSQL 15 grammar and a function to 16 and later);
 *  - the connected catalog's hazards: relations, types and functions through which a
 *    volatile function runs without being named (guard_catalog). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool is_message(const ProtobufCMessage *message, const ProtobufCMessageDescriptor *descriptor) {
    return message->descriptor == descriptor;
}

/* ---- catalog views with secret columns ---- */

typedef struct guarded_view {
    const char *name;             /* in pg_catalog, or in any schema when any_schema */
    const char *const columns[8]; /* NULL-terminated: the columns that show secrets */
    const char *why;              /* detail */
    const char *instead;          /* hint */
    bool any_schema;              /* an extension's view, installed where its owner chose */
} guarded_view;

static const guarded_view guarded_views[] = {
    {"pg_stats",
     {"most_common_vals", "histogram_bounds", "most_common_elems", "range_bounds_histogram", "range_length_histogram",
      NULL},
     "its value columns hold values sampled from every analysed column, denied tables and password hashes included",
     "read only the numeric columns (null_frac, avg_width, n_distinct, correlation) and name them; no *, no "
     "whole row",
     false},
    {"pg_stats_ext",
     {"most_common_vals", NULL},
     "most_common_vals holds values sampled from the columns of extended statistics",
     "read only the other columns and name them; no *, no whole row",
     false},
    {"pg_stats_ext_exprs",
     {"most_common_vals", "histogram_bounds", "most_common_elems", NULL},
     "its value columns hold values sampled from the expressions of extended statistics",
     "read only the numeric columns and name them; no *, no whole row",
     false},
    {"pg_roles",
     {"rolconfig", NULL},
     "rolconfig holds per-role settings, where tools keep secrets (ALTER ROLE ... SET app.jwt_secret)",
     "name the columns you need (rolname, rolsuper, rolcanlogin, ...), without rolconfig, * or the whole row",
     false},
    {"pg_stat_activity",
     {"query", NULL},
     "query holds the last statement of every session the role may see, with its literals: an ALTER ROLE ... "
     "PASSWORD stays there while its session idles, and so do values of denied tables",
     "name the columns you need (pid, usename, state, wait_event_type, query_start, ...), without query, * or the "
     "whole row",
     false},
    {"pg_stat_statements",
     {"query", NULL},
     "query holds the statements of every role, utility statements such as ALTER ROLE ... PASSWORD with their "
     "literals",
     "name the columns you need (calls, total_exec_time, rows, ...), without query, * or the whole row",
     true},
    {"pg_user",
     {"useconfig", NULL},
     "useconfig holds per-role settings, where tools keep secrets (ALTER ROLE ... SET app.jwt_secret)",
     "name the columns you need (usename, usesuper, ...), without useconfig, * or the whole row",
     false},
};

#define COUNT_OF(array)  (sizeof(array) / sizeof *(array))
#define MAX_GUARDED_USES 64 /* more uses of these views in one statement is refused */

typedef struct guarded_use {
    const guarded_view *view;
    const char *reference; /* alias, or the view's name */
    int location;
} guarded_use;

typedef struct statement_state {
    const guard_policy *policy;
    guard_verdict *verdict;
    guarded_use uses[MAX_GUARDED_USES];
    size_t use_count;
} statement_state;

static const guarded_view *guarded_view_named(const PgQuery__RangeVar *relation) {
    const char *schema = relation->schemaname != NULL && relation->schemaname[0] != '\0' ? relation->schemaname : NULL;
    if (relation->relname == NULL)
        return NULL;
    bool catalog_schema = schema == NULL || strcmp(schema, "pg_catalog") == 0;
    for (size_t i = 0; i < COUNT_OF(guarded_views); i++)
        if (strcmp(guarded_views[i].name, relation->relname) == 0 && (catalog_schema || guarded_views[i].any_schema))
            return &guarded_views[i];
    return NULL;
}

/* message_format has one %s, for the view's name. */
static bool reject_guarded(statement_state *state, const guarded_view *view, int location, const char *message_format) {
    char *message = str_printf(message_format, view->name);
    verdict_reject(state->verdict, GUARD_RELATION_DENIED, location, view->why, view->instead, "%s",
                   message != NULL ? message : "a secret column is not allowed");
    free(message);
    return false;
}

/* First pass: the uses of guarded views, with their aliases. */
static bool collect_guarded(const ProtobufCMessage *message, void *context) {
    statement_state *state = context;
    if (!is_message(message, &pg_query__range_var__descriptor))
        return true;
    const PgQuery__RangeVar *relation = (const PgQuery__RangeVar *)message;
    const guarded_view *view = guarded_view_named(relation);
    if (view == NULL)
        return true;
    if (relation->alias != NULL && relation->alias->n_colnames > 0)
        return reject_guarded(state, view, relation->location, "renaming the columns of \"%s\" is not allowed");
    if (state->use_count == MAX_GUARDED_USES)
        return verdict_reject(state->verdict, GUARD_TOO_COMPLEX, relation->location, NULL,
                              "read the catalog view fewer times in one query", "too many uses of \"%s\"", view->name);
    const char *reference =
        relation->alias != NULL && relation->alias->aliasname != NULL ? relation->alias->aliasname : relation->relname;
    state->uses[state->use_count++] = (guarded_use){view, reference, relation->location};
    return true;
}

/* A name that may denote a secret column or the whole row of a guarded view in use. */
static bool check_guarded_name(statement_state *state, const char *name, bool may_be_row, int location) {
    for (size_t i = 0; i < state->use_count; i++) {
        const guarded_view *view = state->uses[i].view;
        for (size_t c = 0; view->columns[c] != NULL; c++)
            if (strcmp(view->columns[c], name) == 0) {
                char *format = str_printf("column \"%s\" of \"%%s\" is not allowed", name);
                reject_guarded(state, view, location, format != NULL ? format : "a column of \"%s\" is not allowed");
                free(format);
                return false;
            }
        if (may_be_row && strcmp(state->uses[i].reference, name) == 0)
            return reject_guarded(state, view, location, "the whole row of \"%s\" is not allowed");
    }
    return true;
}

/* Second pass, when a guarded view is in use: no secret column by name, no *, no whole row. */
static bool check_guarded(const ProtobufCMessage *message, void *context) {
    statement_state *state = context;
    if (is_message(message, &pg_query__a__star__descriptor))
        return reject_guarded(state, state->uses[0].view, state->uses[0].location,
                              "* is not allowed in a query that reads \"%s\"");
    if (is_message(message, &pg_query__column_ref__descriptor)) {
        const PgQuery__ColumnRef *column = (const PgQuery__ColumnRef *)message;
        for (size_t i = 0; i < column->n_fields; i++) {
            if (column->fields[i]->node_case != PG_QUERY__NODE__NODE_STRING)
                continue;
            bool last = i + 1 == column->n_fields;
            if (!check_guarded_name(state, column->fields[i]->string->sval, last, column->location))
                return false;
        }
        return true;
    }
    if (is_message(message, &pg_query__a__indirection__descriptor)) {
        const PgQuery__AIndirection *indirection = (const PgQuery__AIndirection *)message;
        for (size_t i = 0; i < indirection->n_indirection; i++)
            if (indirection->indirection[i]->node_case == PG_QUERY__NODE__NODE_STRING &&
                !check_guarded_name(state, indirection->indirection[i]->string->sval, false, -1))
                return false;
        return true;
    }
    if (is_message(message, &pg_query__join_expr__descriptor)) {
        const PgQuery__JoinExpr *join = (const PgQuery__JoinExpr *)message;
        for (size_t i = 0; i < join->n_using_clause; i++)
            if (join->using_clause[i]->node_case == PG_QUERY__NODE__NODE_STRING &&
                !check_guarded_name(state, join->using_clause[i]->string->sval, false, -1))
                return false;
        if (join->is_natural && state->use_count > 0)
            return reject_guarded(state, state->uses[0].view, state->uses[0].location,
                                  "NATURAL JOIN is not allowed in a query that reads \"%s\"");
        return true;
    }
    return true;
}

/* ---- names newer servers parse differently ---- */

/* Bare names that PostgreSQL 16 and later parse as keywords with their own meaning, where
 * the PostgreSQL 15 grammar sees a column. */
static const char *const newer_keyword_columns[] = {
    "system_user", /* 16: SQLValueFunction, the authenticated identity */
};

/* Unqualified calls that PostgreSQL 16 and later parse as SQL/JSON constructs, where the 15
 * grammar sees a call to a function of that name (json_object keeps its old meaning for
 * the old argument forms, so it is not listed). */
static const char *const newer_keyword_calls[] = {
    "json_array",  "json_arrayagg", "json_objectagg",                             /* 16 */
    "json",        "json_scalar",   "json_serialize", "json_query", "json_value", /* 17 */
    "json_exists", "json_table",    "merge_action",                               /* 17 */
};

static bool string_in(const char *const *list, size_t count, const char *value) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i], value) == 0)
            return true;
    return false;
}

static bool check_newer_keywords(statement_state *state, const ProtobufCMessage *message) {
    if (is_message(message, &pg_query__column_ref__descriptor)) {
        const PgQuery__ColumnRef *column = (const PgQuery__ColumnRef *)message;
        if (column->n_fields == 1 && column->fields[0]->node_case == PG_QUERY__NODE__NODE_STRING &&
            string_in(newer_keyword_columns, COUNT_OF(newer_keyword_columns), column->fields[0]->string->sval))
            return verdict_reject(
                state->verdict, GUARD_CONSTRUCT_NOT_ALLOWED, column->location,
                "PostgreSQL 16 and later read this name as a keyword with its own meaning, not as a column, so the "
                "guard cannot tell what the server will run",
                "if you mean a column, qualify it with its table (t.system_user)", "\"%s\" is not allowed",
                column->fields[0]->string->sval);
    } else if (is_message(message, &pg_query__func_call__descriptor)) {
        const PgQuery__FuncCall *call = (const PgQuery__FuncCall *)message;
        if (call->n_funcname == 1 && call->funcname[0]->node_case == PG_QUERY__NODE__NODE_STRING &&
            string_in(newer_keyword_calls, COUNT_OF(newer_keyword_calls), call->funcname[0]->string->sval))
            return verdict_reject(
                state->verdict, GUARD_CONSTRUCT_NOT_ALLOWED, call->location,
                "PostgreSQL 16 and later parse this name as an SQL/JSON construct, not as a call to a function of "
                "that name, so the guard cannot tell what the server will run",
                "call a function of your own by its schema-qualified name; for JSON use json_build_array, "
                "jsonb_path_query and friends",
                "\"%s\" is not allowed", call->funcname[0]->string->sval);
    }
    return true;
}

/* ---- XPath ---- */

/* XMLTABLE, XMLEXISTS (a call to xmlexists) and the functions; checked after the walk, so a
 * denied function inside, such as xpath(..., query_to_xml(...)), is reported as denied. */
static bool check_xpath(statement_state *state, const ProtobufCMessage *message) {
    if (state->policy->allow_xpath)
        return true;
    if (is_message(message, &pg_query__range_table_func__descriptor))
        return policy_reject_xpath(state->verdict, "XMLTABLE", ((const PgQuery__RangeTableFunc *)message)->location);
    if (!is_message(message, &pg_query__func_call__descriptor))
        return true;
    const PgQuery__FuncCall *call = (const PgQuery__FuncCall *)message;
    if (call->n_funcname == 0 || call->funcname[call->n_funcname - 1]->node_case != PG_QUERY__NODE__NODE_STRING)
        return true;
    const char *name = call->funcname[call->n_funcname - 1]->string->sval;
    if (!policy_is_uninterruptible(name))
        return true;
    char *what = strcmp(name, "xmlexists") == 0 ? str_printf("XMLEXISTS") : str_printf("function \"%s\"", name);
    policy_reject_xpath(state->verdict, what != NULL ? what : "this function", call->location);
    free(what);
    return false;
}

/* ---- the catalog's hazards ---- */

static bool reject_hazard(guard_verdict *verdict, const char *kind, const char *shown, const char *why, int location) {
    return verdict_reject(verdict, GUARD_HIDDEN_FUNCTION, location, why,
                          "leave it out of the query; if the function is harmless, its owner can mark it STABLE, or "
                          "the operator can deny the object",
                          "%s \"%s\" can run a volatile function without naming it", kind, shown);
}

/* The relation ('r'), type ('t') or function ('f') a message names, or kind 0. Names point
 * into the tree; schema is NULL when unqualified. */
typedef struct named_object {
    char kind;
    const char *schema, *name;
    int location;
} named_object;

/* The last two String nodes of a name list: schema and name. */
static named_object from_names(char kind, PgQuery__Node *const *names, size_t count, int location) {
    named_object object = {0, NULL, NULL, location};
    if (count == 0 || names[count - 1]->node_case != PG_QUERY__NODE__NODE_STRING)
        return object;
    object.kind = kind;
    object.name = names[count - 1]->string->sval;
    if (count >= 2 && names[count - 2]->node_case == PG_QUERY__NODE__NODE_STRING)
        object.schema = names[count - 2]->string->sval;
    return object;
}

static named_object object_named(const ProtobufCMessage *message) {
    if (is_message(message, &pg_query__range_var__descriptor)) {
        const PgQuery__RangeVar *relation = (const PgQuery__RangeVar *)message;
        const char *schema =
            relation->schemaname != NULL && relation->schemaname[0] != '\0' ? relation->schemaname : NULL;
        return (named_object){relation->relname != NULL ? 'r' : 0, schema, relation->relname, relation->location};
    }
    if (is_message(message, &pg_query__type_name__descriptor)) {
        const PgQuery__TypeName *type = (const PgQuery__TypeName *)message;
        return from_names('t', type->names, type->n_names, type->location);
    }
    if (is_message(message, &pg_query__func_call__descriptor)) {
        const PgQuery__FuncCall *call = (const PgQuery__FuncCall *)message;
        return from_names('f', call->funcname, call->n_funcname, call->location);
    }
    return (named_object){0, NULL, NULL, -1};
}

/* The catalog's hazards (a volatile function) and the deny list over what the object
 * reaches without being named (implicit.c). */
static bool check_object(const guard_policy *policy, const named_object *object, guard_verdict *verdict) {
    const guard_catalog *catalog = policy->catalog;
    if (catalog == NULL || object->kind == 0)
        return true;
    const char *(*lookup)(void *, const char *, const char *) = object->kind == 'r'   ? catalog->relation_hazard
                                                                : object->kind == 't' ? catalog->type_hazard
                                                                                      : catalog->function_hazard;
    const char *why = lookup != NULL ? lookup(catalog->context, object->schema, object->name) : NULL;
    if (why != NULL)
        return reject_hazard(verdict,
                             object->kind == 'r'   ? "relation"
                             : object->kind == 't' ? "type"
                                                   : "function",
                             object->name, why, object->location);
    return implicit_check_object(policy, object->kind, object->schema, object->name, object->location, verdict);
}

bool statement_check_type_hazard(const guard_policy *policy, const PgQuery__TypeName *type, guard_verdict *verdict) {
    named_object object = from_names('t', type->names, type->n_names, type->location);
    return check_object(policy, &object, verdict);
}

static bool check_hazards(statement_state *state, const ProtobufCMessage *message) {
    named_object object = object_named(message);
    return check_object(state->policy, &object, state->verdict);
}

static bool check_node(const ProtobufCMessage *message, void *context) {
    statement_state *state = context;
    return check_xpath(state, message) && check_newer_keywords(state, message) && check_hazards(state, message) &&
           (!is_message(message, &pg_query__func_call__descriptor) ||
            type_string_check((const PgQuery__FuncCall *)message, state->policy, state->verdict)) &&
           collect_guarded(message, context);
}

bool statement_check(const ProtobufCMessage *root, const guard_policy *policy, guard_verdict *verdict) {
    statement_state *state = calloc(1, sizeof *state);
    if (state == NULL)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "out of memory");
    state->policy = policy;
    state->verdict = verdict;
    bool ok = true;
    const guard_catalog *catalog = policy->catalog;
    const char *global =
        catalog != NULL && catalog->global_hazard != NULL ? catalog->global_hazard(catalog->context) : NULL;
    if (global != NULL)
        ok = verdict_reject(verdict, GUARD_HIDDEN_FUNCTION, -1, global,
                            "the operator must remove the hazard from the database (see pgsafe's posture at start)",
                            "the database can run a volatile function inside any query");
    ok = ok && implicit_check_global(policy, verdict) && tree_each(root, check_node, state, 0);
    if (ok && state->use_count > 0)
        ok = tree_each(root, check_guarded, state, 0);
    if (!ok && verdict->code == GUARD_OK)
        ok = verdict_reject(verdict, GUARD_TOO_COMPLEX, -1, NULL, "simplify the query",
                            "the query is nested too deeply");
    free(state);
    return ok;
}
