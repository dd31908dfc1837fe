/* The name policy for functions, operators and types: which of them a query may use. A
 * function passes when it is not denied and every overload visible under its name is
 * immutable or stable, or when it is on the short list of harmless volatile functions.
 * The deny list always wins; it matches the name in any schema. Built-ins come from the
 * generated table of the server's major version (builtins.c); anything else only from a
 * connected catalog. The lists themselves are in policy_lists.c, relations in
 * policy_relation.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builtins.h"
#include "internal.h"
#include "policy.h"

/* A parsed name: up to catalog.schema.name, split from the parser's String list. */
typedef struct qualified_name {
    const char *schema; /* NULL when unqualified */
    const char *name;   /* NULL when the list is malformed */
} qualified_name;

/* The schema and name of a parser name list of 1 to 3 String nodes (a catalog part is
 * ignored); name is NULL when the list is malformed. Both point into the tree. */
static qualified_name split_name(PgQuery__Node *const *nodes, size_t count) {
    qualified_name result = {NULL, NULL};
    if (count == 0 || count > 3)
        return result;
    for (size_t i = 0; i < count; i++)
        if (nodes[i] == NULL || nodes[i]->node_case != PG_QUERY__NODE__NODE_STRING)
            return result;
    result.name = nodes[count - 1]->string->sval;
    if (count >= 2)
        result.schema = nodes[count - 2]->string->sval;
    return result;
}

static bool is_builtin_schema(const char *schema) {
    return schema == NULL || strcmp(schema, "pg_catalog") == 0;
}

/* The first table newer than `table` that has the function, or NULL. */
static const guard_builtin_table *newer_table_with(const guard_builtin_table *table, const char *name) {
    for (size_t i = 0; i < guard_builtin_table_count; i++) {
        const guard_builtin_table *other = guard_builtin_tables[i];
        if (other->major > table->major && builtin_function_volatility(other, name) != GUARD_VOLATILITY_UNKNOWN)
            return other;
    }
    return NULL;
}

/* function_unknown, with a detail naming the built-ins' version and a hint that fits. */
static bool reject_unknown_function(const guard_policy *policy, const guard_builtin_table *table,
                                    const qualified_name *name, const char *shown, int location,
                                    guard_verdict *verdict) {
    const guard_builtin_table *newer = is_builtin_schema(name->schema) ? newer_table_with(table, name->name) : NULL;
    const char *where =
        policy->catalog != NULL ? " nor in the connected database" : ", and no database catalog is loaded";
    char *detail = newer != NULL ? str_printf("it is not a PostgreSQL %d built-in%s (PostgreSQL %d added it)",
                                              table->major, where, newer->major)
                                 : str_printf("it is not a PostgreSQL %d built-in%s", table->major, where);
    char *hint = NULL;
    const char *fixed_hint = name->schema == NULL ? policy_dialect_hint(name->name) : NULL;
    if (fixed_hint == NULL && newer != NULL)
        hint = str_printf("it needs PostgreSQL %d or later; on PostgreSQL %d write it with the functions that version "
                          "has",
                          newer->major, table->major);
    else if (fixed_hint == NULL)
        fixed_hint = policy->catalog != NULL
                         ? "check the name and its schema: pgsafe knows PostgreSQL's built-ins and the functions "
                           "of the connected database"
                         : "use PostgreSQL's built-in functions; functions of your database are checked when "
                           "pgsafe is connected to it";
    verdict_reject(verdict, GUARD_FUNCTION_UNKNOWN, location, detail, fixed_hint != NULL ? fixed_hint : hint,
                   "function \"%s\" does not exist", shown);
    free(detail);
    free(hint);
    return false;
}

static const char *volatility_word(guard_volatility volatility) {
    switch (volatility) {
    case GUARD_VOLATILITY_IMMUTABLE: return "immutable";
    case GUARD_VOLATILITY_STABLE: return "stable";
    case GUARD_VOLATILITY_VOLATILE: return "volatile";
    default: return "unknown";
    }
}

static guard_volatility worse(guard_volatility a, guard_volatility b) {
    return a > b ? a : b;
}

/* current_setting(name [, missing_ok]) is allowed only for a constant, harmless name. */
static bool current_setting_is_harmless(const PgQuery__FuncCall *call) {
    if (call->n_args < 1 || call->args[0]->node_case != PG_QUERY__NODE__NODE_A_CONST)
        return false;
    const PgQuery__AConst *constant = call->args[0]->a_const;
    if (constant->isnull || constant->val_case != PG_QUERY__A__CONST__VAL_SVAL)
        return false;
    return policy_harmless_setting(constant->sval->sval);
}

/* "schema.name" or "name" as written: a new string the caller frees, NULL when memory runs out. */
static char *display_name(const qualified_name *name) {
    if (name->schema != NULL)
        return str_printf("%s.%s", name->schema, name->name);
    return str_printf("%s", name->name);
}

/* How a function is called: by FuncCall, or by attribute notation (x.f means f(x)). */
typedef struct function_use {
    const PgQuery__FuncCall *call; /* NULL for attribute notation */
    int location;
} function_use;

/* The one decision for a function name, whichever syntax called it. In attribute notation
 * a name nobody knows is a plain column, not an error. */
static bool check_function_name(const guard_policy *policy, const qualified_name *name, const function_use *use,
                                guard_verdict *verdict) {
    size_t argument_count = use->call != NULL ? use->call->n_args : 1;
    char *shown = display_name(name);
    if (shown == NULL)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, use->location, NULL, NULL, "out of memory");
    bool allowed = false;
    const char *notation = use->call != NULL ? "" : " (written as x.name, which PostgreSQL runs as name(x))";

    const deny_category *category = policy_denied_category(policy, name->schema, name->name);
    bool builtin_name = is_builtin_schema(name->schema);
    bool is_ts_rewrite = builtin_name && strcmp(name->name, "ts_rewrite") == 0;
    if (category == NULL && is_ts_rewrite && argument_count == 2)
        category = &policy_category_sql_from_string;
    if (category == NULL && builtin_name && strcmp(name->name, "current_setting") == 0 &&
        (use->call == NULL || !current_setting_is_harmless(use->call)))
        category = &policy_category_settings;
    if (category != NULL) {
        char *detail = str_printf("%s%s", category->detail, notation);
        verdict_reject(verdict, GUARD_FUNCTION_DENIED, use->location, detail, category->hint,
                       "function \"%s\" is not allowed", shown);
        free(detail);
        goto done;
    }

    /* Built-ins from the server's version's table; user and extension functions from the catalog. */
    const guard_builtin_table *table = builtin_table_for(policy->server_version);
    guard_volatility builtin = builtin_name ? builtin_function_volatility(table, name->name) : GUARD_VOLATILITY_UNKNOWN;
    if (is_ts_rewrite && argument_count == 3)
        builtin = GUARD_VOLATILITY_IMMUTABLE; /* the tsquery-only form; the 2-argument one runs SQL */
    guard_volatility user = GUARD_VOLATILITY_UNKNOWN;
    if (policy->catalog != NULL && policy->catalog->function_volatility != NULL &&
        (name->schema == NULL || !builtin_name))
        user = policy->catalog->function_volatility(policy->catalog->context, name->schema, name->name);
    if (builtin == GUARD_VOLATILITY_UNKNOWN && user == GUARD_VOLATILITY_UNKNOWN) {
        if (use->call == NULL) {
            allowed = true; /* a column */
            goto done;
        }
        reject_unknown_function(policy, table, name, shown, use->location, verdict);
        goto done;
    }
    bool explicitly_allowed = policy_list_contains(policy->allowed_functions, name->schema, name->name, false);
    bool harmless = builtin_name && policy_harmless_volatile(name->name);
    guard_volatility effective = worse(harmless ? GUARD_VOLATILITY_STABLE : builtin, user);
    if (effective == GUARD_VOLATILITY_VOLATILE && !explicitly_allowed) {
        char *detail = str_printf("it is volatile: it may change data or state%s", notation);
        char *hint = str_printf("remove it or use a stable alternative; if it is harmless, the operator can "
                                "allow it with --allow-function %s",
                                shown);
        verdict_reject(verdict, GUARD_FUNCTION_VOLATILE, use->location, detail, hint, "function \"%s\" is not allowed",
                       shown);
        free(detail);
        free(hint);
        goto done;
    }
    allowed = true;
done:
    free(shown);
    return allowed;
}

bool policy_check_function(const guard_policy *policy, const PgQuery__FuncCall *call, guard_verdict *verdict) {
    qualified_name name = split_name(call->funcname, call->n_funcname);
    if (name.name == NULL)
        return verdict_reject(verdict, GUARD_CONSTRUCT_NOT_ALLOWED, call->location, NULL,
                              "call the function by its plain or schema-qualified name", "malformed function name");
    function_use use = {.call = call, .location = call->location};
    return check_function_name(policy, &name, &use, verdict);
}

bool policy_check_attribute_function(const guard_policy *policy, const char *name, int location,
                                     guard_verdict *verdict) {
    qualified_name qualified = {.schema = NULL, .name = name};
    function_use use = {.call = NULL, .location = location};
    return check_function_name(policy, &qualified, &use, verdict);
}

/* Shared by operators and types: built-in table for unqualified or pg_catalog names,
 * the catalog for everything visible under the name outside pg_catalog. */
static guard_volatility resolve(const guard_policy *policy, const qualified_name *name,
                                guard_volatility (*builtin_lookup)(const guard_builtin_table *, const char *),
                                guard_volatility (*catalog_lookup)(void *, const char *, const char *)) {
    bool builtin_name = is_builtin_schema(name->schema);
    guard_volatility builtin =
        builtin_name ? builtin_lookup(builtin_table_for(policy->server_version), name->name) : GUARD_VOLATILITY_UNKNOWN;
    guard_volatility user = GUARD_VOLATILITY_UNKNOWN;
    if (policy->catalog != NULL && catalog_lookup != NULL && (name->schema == NULL || !builtin_name))
        user = catalog_lookup(policy->catalog->context, name->schema, name->name);
    if (builtin == GUARD_VOLATILITY_UNKNOWN)
        return user;
    return worse(builtin, user);
}

/* One function an operator or cast calls (what: "operator ||", "a cast to type foo"): false
 * with the verdict set when the deny list refuses it, or it is of the XPath family. */
static bool check_called(const guard_policy *policy, const char *what, const char *schema, const char *function,
                         int location, guard_verdict *verdict) {
    if (!policy->allow_xpath && policy_is_uninterruptible(function)) {
        char *shown = str_printf("%s (it calls %s)", what, function);
        policy_reject_xpath(verdict, shown != NULL ? shown : what, location);
        free(shown);
        return false;
    }
    const deny_category *category = policy_denied_category(policy, schema, function);
    if (category == NULL)
        return true;
    bool builtin_operator = strncmp(what, "operator ", 9) == 0 && strcmp(schema, "pg_catalog") == 0;
    char *hint = str_printf("write the query without %s, which runs a function that is not allowed%s; ask the "
                            "operator if you need it",
                            what,
                            builtin_operator ? " (under every overload of the name: the guard does not know the "
                                               "operand types)"
                                             : "");
    verdict_reject(verdict, GUARD_FUNCTION_DENIED, location, category->detail, hint,
                   "%s %s function \"%s.%s\", which is not allowed", what,
                   strncmp(what, "operator ", 9) == 0 ? "calls" : "can call", schema, function);
    free(hint);
    return false;
}

/* The deny list over what an operator (kind 'o') or a cast to a type ('c') calls: the
 * built-in table's functions for an unqualified or pg_catalog name, and the catalog's for
 * every object visible under the name. False with the verdict set. */
static bool check_calls(const guard_policy *policy, char kind, const qualified_name *name, int location,
                        guard_verdict *verdict) {
    char *what = kind == 'o' ? str_printf("operator %s%s%s", name->schema ? name->schema : "", name->schema ? "." : "",
                                          name->name)
                             : str_printf("a cast to type \"%s\"", name->name);
    if (what == NULL)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, location, NULL, NULL, "out of memory");
    bool allowed = true;
    if (is_builtin_schema(name->schema)) {
        const guard_builtin_table *table = builtin_table_for(policy->server_version);
        size_t count = 0;
        const guard_builtin_call *calls = kind == 'o' ? builtin_operator_calls(table, name->name, &count)
                                                      : builtin_cast_calls(table, name->name, &count);
        for (size_t i = 0; allowed && i < count; i++)
            allowed =
                check_called(policy, what, "pg_catalog", table->function_names + calls[i].function, location, verdict);
    }
    const guard_catalog *catalog = policy->catalog;
    const guard_function_name *(*lookup)(void *, const char *, const char *) = catalog == NULL ? NULL
                                                                               : kind == 'o'
                                                                                   ? catalog->operator_functions
                                                                                   : catalog->cast_functions;
    const guard_function_name *functions = lookup != NULL ? lookup(catalog->context, name->schema, name->name) : NULL;
    for (; allowed && functions != NULL && functions->name != NULL; functions++)
        allowed = check_called(policy, what, functions->schema, functions->name, location, verdict);
    free(what);
    return allowed;
}

bool policy_check_operator(const guard_policy *policy, PgQuery__Node *const *name_nodes, size_t name_count,
                           int location, guard_verdict *verdict) {
    qualified_name name = split_name(name_nodes, name_count);
    if (name.name == NULL)
        return verdict_reject(verdict, GUARD_OPERATOR_NOT_ALLOWED, location, NULL,
                              "write the operator plainly, for example a = b", "malformed operator name");
    if (!check_calls(policy, 'o', &name, location, verdict))
        return false;
    guard_volatility volatility = resolve(policy, &name, builtin_operator_volatility,
                                          policy->catalog ? policy->catalog->operator_volatility : NULL);
    if (volatility == GUARD_VOLATILITY_IMMUTABLE || volatility == GUARD_VOLATILITY_STABLE)
        return true;
    char *shown = display_name(&name);
    char *detail = volatility == GUARD_VOLATILITY_UNKNOWN
                       ? str_printf("it is not a PostgreSQL %d built-in operator%s",
                                    builtin_table_for(policy->server_version)->major,
                                    policy->catalog ? " nor in the connected database" : "")
                       : str_printf("it runs a %s function", volatility_word(volatility));
    verdict_reject(verdict, GUARD_OPERATOR_NOT_ALLOWED, location, detail, "use PostgreSQL's built-in operators",
                   "operator %s is not allowed", shown ? shown : "?");
    free(shown);
    free(detail);
    return false;
}

bool policy_check_type(const guard_policy *policy, const PgQuery__TypeName *type_name, guard_verdict *verdict) {
    qualified_name name = split_name(type_name->names, type_name->n_names);
    if (name.name == NULL)
        return verdict_reject(verdict, GUARD_TYPE_NOT_ALLOWED, type_name->location, NULL,
                              "name the type plainly, for example CAST(x AS integer)", "malformed type name");
    if (type_name->pct_type)
        return verdict_reject(verdict, GUARD_TYPE_NOT_ALLOWED, type_name->location, NULL, "name the type itself",
                              "%%TYPE references are not allowed");
    if (!check_calls(policy, 'c', &name, type_name->location, verdict))
        return false;
    guard_volatility volatility =
        resolve(policy, &name, builtin_type_volatility, policy->catalog ? policy->catalog->type_volatility : NULL);
    if (volatility == GUARD_VOLATILITY_IMMUTABLE || volatility == GUARD_VOLATILITY_STABLE)
        return true;
    char *shown = display_name(&name);
    policy_reject_type(policy, volatility, shown ? shown : "?", type_name->location, verdict);
    free(shown);
    return false;
}

bool policy_reject_type(const guard_policy *policy, guard_volatility volatility, const char *shown, int location,
                        guard_verdict *verdict) {
    char *detail =
        volatility == GUARD_VOLATILITY_UNKNOWN
            ? str_printf("it is not a PostgreSQL %d built-in type%s", builtin_table_for(policy->server_version)->major,
                         policy->catalog ? " nor in the connected database" : "")
            : str_printf("its input or cast function is %s", volatility_word(volatility));
    verdict_reject(verdict, GUARD_TYPE_NOT_ALLOWED, location, detail,
                   "cast to a PostgreSQL type such as integer, numeric, text, date or timestamp",
                   "type \"%s\" is not allowed", shown);
    free(detail);
    return false;
}
