/* The relation policy: which tables and views a query may read. Catalogs that hold
 * passwords, settings or statistics samples are denied by default (an operator may allow
 * one by name); the configured deny list adds more. With a connected catalog a denied
 * table stays denied through its children and partitions, and through a parent whose scan
 * includes it; TOAST tables are always denied. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "policy.h"

typedef enum relation_denial {
    RELATION_ALLOWED = 0,
    RELATION_DENIED_BY_DEFAULT, /* a sensitive catalog */
    RELATION_DENIED_BY_CONFIGURATION
} relation_denial;

static relation_denial relation_denied(const guard_policy *policy, const char *schema, const char *name) {
    if (policy_denied_by_default(name) && !policy_list_contains(policy->allowed_relations, schema, name, false))
        return RELATION_DENIED_BY_DEFAULT;
    if (policy_list_contains(policy->denied_relations, schema, name, true))
        return RELATION_DENIED_BY_CONFIGURATION;
    return RELATION_ALLOWED;
}

/* Rejects name for denial; related, when given, is the denied relation it reaches. */
static bool reject_relation(guard_verdict *verdict, relation_denial denial, int location, const char *name,
                            const char *related_detail) {
    const char *detail = denial == RELATION_DENIED_BY_DEFAULT
                             ? "it holds passwords, server settings, statistics samples or other data pgsafe keeps "
                               "from models"
                             : "it is on this server's configured deny list";
    const char *hint = denial == RELATION_DENIED_BY_DEFAULT
                           ? "query another relation; for roles name the columns of pg_roles you need (not "
                             "rolconfig), for settings use current_setting() with a harmless name"
                           : "query another relation; this one is kept out of reach by the server's configuration";
    char *combined = related_detail != NULL ? str_printf("%s, and %s", related_detail, detail) : NULL;
    verdict_reject(verdict, GUARD_RELATION_DENIED, location, combined != NULL ? combined : detail, hint,
                   "relation \"%s\" is not allowed", name);
    free(combined);
    return false;
}

/* Every member of family (ended by a NULL name; the list may be NULL) must be allowed. */
static bool check_family(const guard_policy *policy, const guard_relation_name *family,
                         const PgQuery__RangeVar *relation, const char *relationship, guard_verdict *verdict) {
    for (; family != NULL && family->name != NULL; family++) {
        relation_denial denial = relation_denied(policy, family->schema, family->name);
        if (denial == RELATION_ALLOWED)
            continue;
        char *related = family->schema != NULL
                            ? str_printf("it %s \"%s.%s\"", relationship, family->schema, family->name)
                            : str_printf("it %s \"%s\"", relationship, family->name);
        reject_relation(verdict, denial, relation->location, relation->relname, related);
        free(related);
        return false;
    }
    return true;
}

bool policy_check_relation(const guard_policy *policy, const PgQuery__RangeVar *relation, guard_verdict *verdict) {
    const char *schema = relation->schemaname != NULL && relation->schemaname[0] != '\0' ? relation->schemaname : NULL;
    const char *name = relation->relname;
    if (name == NULL)
        return verdict_reject(verdict, GUARD_CONSTRUCT_NOT_ALLOWED, relation->location, NULL, NULL,
                              "relation without a name");
    /* TOAST tables hold the out-of-line values of every table, denied catalogs included. */
    if (schema != NULL && strcmp(schema, "pg_toast") == 0)
        return verdict_reject(verdict, GUARD_RELATION_DENIED, relation->location,
                              "TOAST tables hold the stored values of other tables, denied catalogs included",
                              "query the table itself, not its TOAST table", "relation \"%s.%s\" is not allowed",
                              schema, name);
    relation_denial denial = relation_denied(policy, schema, name);
    if (denial != RELATION_ALLOWED)
        return reject_relation(verdict, denial, relation->location, name, NULL);
    /* A denied table stays denied through its children and partitions (they hold its rows
     * as their own), and through a parent whose scan includes it (unless ONLY). */
    const guard_catalog *catalog = policy->catalog;
    if (catalog != NULL && catalog->relation_ancestors != NULL &&
        !check_family(policy, catalog->relation_ancestors(catalog->context, schema, name), relation, "inherits from",
                      verdict))
        return false;
    if (catalog != NULL && catalog->relation_descendants != NULL && relation->inh &&
        !check_family(policy, catalog->relation_descendants(catalog->context, schema, name), relation,
                      "includes the rows of", verdict))
        return false;
    return true;
}
