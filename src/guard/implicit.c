/* The deny list over functions PostgreSQL runs without the query naming them: the `=` that
 * CASE x WHEN, IN, JOIN USING, DISTINCT, GROUP BY, ORDER BY and UNION pick, default operator
 * classes, implicit casts, output functions, domain CHECKs and view definitions. The names in
 * the raw tree cannot show these calls, so the decision rests on the objects the query does
 * name: a relation, type or function whose implicit functions (guard_catalog's
 * implicit_functions) include a denied one is refused, whatever the function's volatility.
 * A denied built-in that PostgreSQL calls for built-in types (texteq, int4out, hashtext)
 * can run in almost any query, and the guard does not know the operand types: while the
 * deny list names one, every query is refused. */
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "internal.h"
#include "policy.h"

/* The comparison operators CASE, IN, USING and the like pick without a name. */
static const char *const comparison_operators[] = {"=", "<>", "<", ">", "<=", ">="};

/* Without a catalog: does the built-in table say PostgreSQL calls function implicitly? It
 * knows the functions of the comparison operators and of every cast and type input, not
 * output or operator class support functions (the live catalog adds those). A static
 * phrase, or NULL. */
static const char *table_implicit_use(const guard_builtin_table *table, const char *function) {
    for (size_t o = 0; o < sizeof comparison_operators / sizeof *comparison_operators; o++) {
        size_t count = 0;
        const guard_builtin_call *calls = builtin_operator_calls(table, comparison_operators[o], &count);
        for (size_t i = 0; i < count; i++)
            if (strcmp(table->function_names + calls[i].function, function) == 0)
                return "to compare values of a built-in type (IN, CASE, JOIN USING, DISTINCT, GROUP BY, ORDER BY, "
                       "UNION)";
    }
    for (size_t i = 0; i < table->cast_call_count; i++)
        if (strcmp(table->function_names + table->cast_calls[i].function, function) == 0)
            return "to read a value of a built-in type or cast it";
    return NULL;
}

/* Why PostgreSQL may call built-in function name in any query, or NULL: from the catalog's
 * 'b' list when it has one, else from the built-in table. */
static const char *builtin_implicit_use(const guard_policy *policy, const char *name) {
    const guard_catalog *catalog = policy->catalog;
    if (catalog != NULL && catalog->implicit_functions != NULL) {
        const guard_function_name *uses = catalog->implicit_functions(catalog->context, 'b', "pg_catalog", name);
        return uses != NULL && uses->name != NULL ? (uses->why != NULL ? uses->why : "") : NULL;
    }
    return table_implicit_use(builtin_table_for(policy->server_version), name);
}

/* The configured deny list against the built-ins PostgreSQL calls implicitly. The built-in
 * deny list never names one (unit-tested), so only the operator's entries are looked at. */
static bool check_denied_builtins(const guard_policy *policy, guard_verdict *verdict) {
    for (const char *const *entry = policy->denied_functions; entry != NULL && *entry != NULL; entry++) {
        const char *name = *entry, *dot = strrchr(name, '.');
        if (dot != NULL && ((size_t)(dot - name) != strlen("pg_catalog") || strncmp(name, "pg_catalog", 10) != 0))
            continue; /* another schema's function: not a built-in */
        name = dot != NULL ? dot + 1 : name;
        const char *use = builtin_implicit_use(policy, name);
        if (use == NULL)
            continue;
        char *detail = str_printf("PostgreSQL calls it without its name %s; the guard cannot tell which types a query "
                                  "compares, casts or prints, so it refuses every query while the function is denied",
                                  use);
        char *hint = str_printf("the operator must remove %s from --deny-function (and deny the functions or operators "
                                "that name it instead); no query can run meanwhile",
                                *entry);
        verdict_reject(verdict, GUARD_FUNCTION_DENIED, -1, detail, hint,
                       "the deny list names function \"pg_catalog.%s\", which any query may run without naming it",
                       name);
        free(detail);
        free(hint);
        return false;
    }
    return true;
}

/* The first function of uses that the policy refuses (denied, or XPath when that is not
 * allowed), with its category; NULL when none. */
static const guard_function_name *first_refused(const guard_policy *policy, const guard_function_name *uses,
                                                const deny_category **category) {
    for (; uses != NULL && uses->name != NULL; uses++) {
        *category = policy_denied_category(policy, uses->schema, uses->name);
        if (*category != NULL || (!policy->allow_xpath && policy_is_uninterruptible(uses->name)))
            return uses;
    }
    return NULL;
}

/* The rejection of an object (what: "relation \"pairs\"", or NULL for the global list) that
 * reaches refused function. */
static bool reject(const char *what, const guard_function_name *function, const deny_category *category, int location,
                   guard_verdict *verdict) {
    if (category == NULL) {
        char *shown = str_printf("%s (it can call %s without naming it)", what ? what : "the database", function->name);
        policy_reject_xpath(verdict, shown != NULL ? shown : function->name, location);
        free(shown);
        return false;
    }
    const char *why = function->why != NULL ? function->why : "PostgreSQL calls it implicitly";
    char *detail =
        str_printf("%s; the function %s", why, category->detail + (strncmp(category->detail, "it ", 3) == 0 ? 3 : 0));
    if (what == NULL) {
        verdict_reject(verdict, GUARD_FUNCTION_DENIED, location, detail,
                       "the operator must remove the implicit cast or operator from the database, or the function "
                       "from the deny list",
                       "the database can run function \"%s.%s\", which is not allowed, inside any query",
                       function->schema, function->name);
    } else {
        char *hint = str_printf("leave %s out of the query: PostgreSQL runs the function for it without the query "
                                "naming it (comparing, sorting, grouping, casting or printing its values); if the "
                                "function is harmless, the operator can remove it from the deny list",
                                what);
        verdict_reject(verdict, GUARD_FUNCTION_DENIED, location, detail, hint,
                       "%s can run function \"%s.%s\", which is not allowed, without naming it", what, function->schema,
                       function->name);
        free(hint);
    }
    free(detail);
    return false;
}

bool implicit_check_global(const guard_policy *policy, guard_verdict *verdict) {
    if (!check_denied_builtins(policy, verdict))
        return false;
    const guard_catalog *catalog = policy->catalog;
    if (catalog == NULL || catalog->implicit_functions == NULL)
        return true;
    const deny_category *category = NULL;
    const guard_function_name *refused =
        first_refused(policy, catalog->implicit_functions(catalog->context, 'g', "", ""), &category);
    return refused == NULL || reject(NULL, refused, category, -1, verdict);
}

bool implicit_check_object(const guard_policy *policy, char kind, const char *schema, const char *name, int location,
                           guard_verdict *verdict) {
    const guard_catalog *catalog = policy->catalog;
    if (catalog == NULL || catalog->implicit_functions == NULL || name == NULL)
        return true;
    const deny_category *category = NULL;
    const guard_function_name *refused =
        first_refused(policy, catalog->implicit_functions(catalog->context, kind, schema, name), &category);
    if (refused == NULL)
        return true;
    const char *word = kind == 'r' ? "relation" : kind == 't' ? "type" : "function";
    char *what = str_printf("%s \"%s\"", word, name);
    if (what == NULL)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, location, NULL, NULL, "out of memory");
    reject(what, refused, category, location, verdict);
    free(what);
    return false;
}
