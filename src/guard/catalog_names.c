/* What would name a relation behind the table allow-list's back. The allow-list hides every
 * relation it does not match, but PostgreSQL names relations in many other places: the
 * built-in catalogs list them all (with their columns, comments, definitions, statistics
 * and dependencies), built-in functions describe, size, define or probe a relation given
 * its name or number (obj_description, pg_get_viewdef, pg_relation_size, to_regclass,
 * has_table_privilege, ...), the OID alias types turn any number into a relation's, type's
 * or function's name (16390::oid::regclass), and a cast to a relation's row type tells
 * whether the relation exists. Under --tables each of these is refused here, failing
 * closed: the schema tools already show exactly what the policy allows. See columns.c. */
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "columns.h"

static const char catalog_hint[] = "the list_tables and describe_table tools show the tables, columns and comments "
                                   "this server allows";

/* Built-ins that name, describe, size, define or probe relations (or types and functions,
 * whose definitions and signatures name relations) by name or number. prefix: every name
 * starting so. Reviewed against pg_proc of PostgreSQL 15 to 18: every function taking or
 * returning regclass, regtype, regproc, regprocedure, regoper or regoperator, and every one
 * taking an oid that returns text or a name. */
static const struct {
    const char *name;
    bool prefix;
} naming_functions[] = {
    {"pg_get_", true},       /* viewdef, indexdef, constraintdef, triggerdef, ruledef, expr, functiondef, ... */
    {"to_reg", true},        /* to_regclass, to_regtype, to_regproc, ... */
    {"regclass", true},      /* regclass(text) and the type's I/O functions */
    {"regtype", true},       /* the I/O functions of regtype */
    {"regproc", true},       /* regproc and regprocedure */
    {"regoper", true},       /* regoper and regoperator */
    {"pg_relation_", true},  /* size, filenode, filepath, is_updatable, is_publishable */
    {"pg_partition_", true}, /* tree, ancestors, root */
    {"pg_sequence_", true},  /* last_value, parameters */
    {"pg_index_", true},     /* column_has_property, has_property */
    {"pg_identify_object", true},
    {"pg_stat_get_", true}, /* statistics by relation number */
    {"obj_description", false},
    {"col_description", false},
    {"format_type", false},
    {"pg_describe_object", false},
    {"pg_filenode_relation", false},
    {"pg_total_relation_size", false},
    {"pg_table_size", false},
    {"pg_indexes_size", false},
    {"pg_column_is_updatable", false},
    {"pg_table_is_visible", false},
    {"pg_type_is_visible", false},
    {"pg_function_is_visible", false},
    {"pg_stat_have_stats", false},
    {"pg_input_is_valid", false},   /* 16: pg_input_is_valid('secret', 'regclass') */
    {"pg_input_error_info", false}, /* 16 */
    {"pg_basetype", false},         /* 17: returns regtype */
    {"has_table_privilege", false},
    {"has_column_privilege", false},
    {"has_any_column_privilege", false},
    {"has_sequence_privilege", false},
    {"has_type_privilege", false},
    {"has_function_privilege", false},
    {"row_security_active", false},
    {"satisfies_hash_partition", false}, /* its errors name the relation */
    {"currtid2", false},
};

/* The OID alias types whose text is a relation's, a type's or a function's name. */
static const char *const naming_types[] = {"regclass", "regtype", "regproc", "regprocedure", "regoper", "regoperator"};

#define COUNT_OF(array) (sizeof(array) / sizeof *(array))

static bool is_catalog_schema(const char *schema) {
    return schema == NULL || strcmp(schema, "pg_catalog") == 0;
}

bool catalog_names_function(const char *name) {
    for (size_t i = 0; i < COUNT_OF(naming_functions); i++)
        if (naming_functions[i].prefix ? strncmp(name, naming_functions[i].name, strlen(naming_functions[i].name)) == 0
                                       : strcmp(name, naming_functions[i].name) == 0)
            return true;
    return false;
}

bool catalog_names_check_function(analysis *state, const char *schema, const char *name, int location) {
    if (!state->patterns.tables_set || !is_catalog_schema(schema) || !catalog_names_function(name))
        return true;
    return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, location,
                          "it describes, sizes, defines or tests relations by name or number, and could name or "
                          "reveal relations the data owner's table allow-list hides",
                          catalog_hint, "function \"%s\" is not allowed under the table allow-list", name);
}

bool catalog_names_is_catalog(const char *schema, const char *name) {
    if (schema != NULL)
        return policy_is_builtin_schema(schema);
    /* Without a catalog that resolves it: pg_catalog comes first in the search_path, and
     * every relation it holds is named pg_something. */
    return strncmp(name, "pg_", 3) == 0;
}

bool catalog_names_reject_relation(analysis *state, const PgQuery__RangeVar *relation) {
    const char *schema = relation->schemaname != NULL && relation->schemaname[0] ? relation->schemaname : NULL;
    return verdict_reject(state->verdict, GUARD_RELATION_NOT_ALLOWED, relation->location,
                          "the built-in catalogs (pg_catalog, information_schema) name every relation with its "
                          "columns, comments and definitions, hidden ones included, and are not queried under the "
                          "table allow-list",
                          catalog_hint, "relation \"%s%s%s\" is not allowed", schema ? schema : "", schema ? "." : "",
                          relation->relname ? relation->relname : "?");
}

/* The name without its first leading underscore: PostgreSQL names an array type by
 * prefixing its element type's name with one (or more, when the name is taken). */
static const char *element_name(const char *name) {
    return name[0] == '_' && name[1] != '\0' ? name + 1 : name;
}

/* True when schema.name (schema NULL: unqualified) is a relation the allow-list hides;
 * unknown tells a catalog that cannot resolve relations. */
static bool hidden_relation(analysis *state, const char *schema, const char *name, bool *unknown) {
    const guard_catalog *catalog = state->policy->catalog;
    *unknown = false;
    if (catalog == NULL || catalog->relation == NULL) {
        *unknown = true;
        return false;
    }
    guard_relation resolved;
    memset(&resolved, 0, sizeof resolved);
    if (!catalog->relation(catalog->context, schema, name, &resolved) || resolved.schema == NULL ||
        resolved.name == NULL)
        return false;
    if (!policy_table_allowed(&state->patterns, resolved.schema, resolved.name))
        return true;
    for (size_t a = 0; a < resolved.ancestor_count; a++)
        if (!policy_table_allowed(&state->patterns, resolved.ancestors[a].schema, resolved.ancestors[a].name))
            return true;
    return false;
}

/* A cast to schema.name: a hidden relation's row type (or array of it) is refused as if it
 * did not exist, with the words of a type that does not; a catalog's as a catalog. */
static bool check_row_type(analysis *state, const char *schema, const char *name, const char *shown, int location) {
    const guard_builtin_table *table = builtin_table_for(state->policy->server_version);
    for (const char *candidate = name;; candidate = element_name(candidate)) {
        bool builtin = schema == NULL && builtin_type_volatility(table, candidate) != GUARD_VOLATILITY_UNKNOWN;
        const char *in_schema = builtin ? "pg_catalog" : schema;
        bool unknown = false;
        bool hidden = hidden_relation(state, in_schema, candidate, &unknown);
        if (unknown && !builtin && !policy_is_builtin_schema(schema))
            return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, location,
                                  "it may be the row type of a relation the table allow-list hides, and no database "
                                  "catalog is loaded to tell",
                                  "cast to a PostgreSQL type such as integer, numeric, text, date or timestamp",
                                  "type \"%s\" cannot be checked against the table allow-list", shown);
        if (hidden && (builtin || policy_is_builtin_schema(in_schema)))
            return verdict_reject(state->verdict, GUARD_RELATION_NOT_ALLOWED, location,
                                  "it is the row type of a built-in catalog, which is not queried under the table "
                                  "allow-list",
                                  catalog_hint, "type \"%s\" is not allowed", shown);
        if (hidden)
            return policy_reject_type(state->policy, GUARD_VOLATILITY_UNKNOWN, shown, location, state->verdict);
        if (element_name(candidate) == candidate)
            return true;
    }
}

bool catalog_names_check_type(analysis *state, const PgQuery__TypeName *type) {
    if (!state->patterns.tables_set)
        return true;
    size_t count = type->n_names;
    if (count == 0 || count > 3)
        return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, type->location, NULL, NULL,
                              "malformed type name");
    for (size_t i = 0; i < count; i++)
        if (type->names[i]->node_case != PG_QUERY__NODE__NODE_STRING)
            return verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, type->location, NULL, NULL,
                                  "malformed type name");
    const char *schema = count >= 2 ? type->names[count - 2]->string->sval : NULL;
    const char *name = type->names[count - 1]->string->sval;
    char *shown = schema != NULL ? str_printf("%s.%s", schema, name) : str_printf("%s", name);
    if (shown == NULL)
        return columns_out_of_memory(state);
    bool ok = true;
    for (size_t i = 0; ok && is_catalog_schema(schema) && i < COUNT_OF(naming_types); i++)
        if (strcmp(element_name(name), naming_types[i]) == 0)
            ok = verdict_reject(state->verdict, GUARD_POLICY_UNVERIFIABLE, type->location,
                                "its values are shown as the names of relations, types or functions, and a number "
                                "cast to it would name relations the data owner's table allow-list hides",
                                "compare names as text; the list_tables and describe_table tools show the relations "
                                "this server allows",
                                "type \"%s\" is not allowed under the table allow-list", shown);
    if (ok)
        ok = check_row_type(state, schema, name, shown, type->location);
    free(shown);
    return ok;
}
