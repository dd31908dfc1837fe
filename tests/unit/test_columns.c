/* Unit tests of the data owner's table and column policy (src/guard/relations.c and
 * src/guard/columns.c), with Check, against a hand-built catalog.
 *
 * Suites: patterns (syntax and matching of --tables and --deny-columns), tables (the
 * allow-list with CTE shadowing, search_path resolution, quoted names), columns (every way
 * a query could read a denied column, and the benign queries that must still pass),
 * offline (no catalog: unqualified names and fail-closed columns) and corpus (every entry
 * of corpus/policy.jsonl under the policy flags it names, against the same catalog).
 *
 *   ./test_columns
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_columns */
#include <check.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgsafe/guard.h"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

/* ---------------------------------------------------------------------------------------
 * The fake catalog. search_path: pg_catalog, public. Names resolve as PostgreSQL would:
 * a qualified name in its schema, an unqualified one in the first schema that has it.
 * ------------------------------------------------------------------------------------- */

typedef struct fake_relation {
    const char *schema;
    const char *name;
    guard_relation_kind kind;
    const char *columns[8];
    guard_relation_name ancestors[2]; /* partition or inheritance parents, transitively */
} fake_relation;

static const fake_relation fake_relations[] = {
    {"public",
     "users",
     GUARD_RELATION_KIND_TABLE,
     {"id", "name", "email", "ssn", "created_at", "profile"},
     {{NULL, NULL}}},
    {"public", "orders", GUARD_RELATION_KIND_TABLE, {"id", "user_id", "total", "status", "created_at"}, {{NULL, NULL}}},
    {"public", "audit_log", GUARD_RELATION_KIND_TABLE, {"id", "action", "detail"}, {{NULL, NULL}}},
    {"public", "customers", GUARD_RELATION_KIND_TABLE, {"id", "name", "phone", "ssn"}, {{NULL, NULL}}},
    {"public", "user_names", GUARD_RELATION_KIND_VIEW, {"id", "name"}, {{NULL, NULL}}},
    /* A view over a hidden table: it counts as what it is named. */
    {"public", "vault_count", GUARD_RELATION_KIND_VIEW, {"n"}, {{NULL, NULL}}},
    {"public", "contacts", GUARD_RELATION_KIND_TABLE, {"id", "email", "note"}, {{NULL, NULL}}},
    {"sales", "orders", GUARD_RELATION_KIND_TABLE, {"id", "customer", "amount"}, {{NULL, NULL}}},
    {"sales", "leads", GUARD_RELATION_KIND_TABLE, {"id", "email"}, {{NULL, NULL}}},
    {"hr", "salaries", GUARD_RELATION_KIND_TABLE, {"id", "employee_id", "amount", "currency"}, {{NULL, NULL}}},
    {"hr", "employees", GUARD_RELATION_KIND_TABLE, {"id", "name", "manager_id"}, {{NULL, NULL}}},
    {"Mixed Case", "Big Table", GUARD_RELATION_KIND_TABLE, {"id", "Secret", "label"}, {{NULL, NULL}}},
    {"secret", "keys", GUARD_RELATION_KIND_TABLE, {"id", "key"}, {{NULL, NULL}}},
    /* A partition of users and a sub-partition of it; a partition of the excluded audit_log. */
    {"public", "users_2024", GUARD_RELATION_KIND_TABLE, {"id", "name", "email", "ssn"}, {{"public", "users"}}},
    {"public",
     "users_2024_q1",
     GUARD_RELATION_KIND_TABLE,
     {"id", "name", "email", "ssn"},
     {{"public", "users_2024"}, {"public", "users"}}},
    {"public", "audit_log_2024", GUARD_RELATION_KIND_TABLE, {"id", "action", "detail"}, {{"public", "audit_log"}}},
    /* As in the live fixture (tests/integration/policy.test.mjs): a partitioned table. */
    {"public", "events", GUARD_RELATION_KIND_TABLE, {"id", "at", "email"}, {{NULL, NULL}}},
    {"public", "events_2024", GUARD_RELATION_KIND_TABLE, {"id", "at", "email"}, {{"public", "events"}}},
    {"pg_catalog",
     "pg_class",
     GUARD_RELATION_KIND_TABLE,
     {"oid", "relname", "relnamespace", "relkind"},
     {{NULL, NULL}}},
    {"pg_catalog", "pg_namespace", GUARD_RELATION_KIND_TABLE, {"oid", "nspname"}, {{NULL, NULL}}},
    {"pg_catalog",
     "pg_stats",
     GUARD_RELATION_KIND_VIEW,
     {"schemaname", "tablename", "attname", "most_common_vals"},
     {{NULL, NULL}}},
    {"pg_catalog", "pg_stat_activity", GUARD_RELATION_KIND_VIEW, {"pid", "query"}, {{NULL, NULL}}},
    {"information_schema",
     "columns",
     GUARD_RELATION_KIND_VIEW,
     {"table_schema", "table_name", "column_name"},
     {{NULL, NULL}}},
};

static const char *const search_path[] = {"pg_catalog", "public"};

static size_t column_count(const fake_relation *relation) {
    size_t count = 0;
    while (count < ARRAY_LENGTH(relation->columns) && relation->columns[count] != NULL)
        count++;
    return count;
}

static bool fake_relation_lookup(void *context, const char *schema, const char *name, guard_relation *out) {
    (void)context;
    size_t schemas = schema != NULL ? 1 : ARRAY_LENGTH(search_path);
    for (size_t s = 0; s < schemas; s++) {
        const char *wanted = schema != NULL ? schema : search_path[s];
        for (size_t i = 0; i < ARRAY_LENGTH(fake_relations); i++) {
            const fake_relation *relation = &fake_relations[i];
            if (strcmp(relation->schema, wanted) == 0 && strcmp(relation->name, name) == 0) {
                out->kind = relation->kind;
                out->schema = relation->schema;
                out->name = relation->name;
                out->columns = relation->columns;
                out->column_count = column_count(relation);
                out->ancestors = relation->ancestors;
                out->ancestor_count = relation->ancestors[1].name ? 2 : relation->ancestors[0].name ? 1 : 0;
                return true;
            }
        }
    }
    return false;
}

/* public.peek(int) is a user function (it could read any table); public.lower(int) is a
 * user overload of a built-in's name. */
static guard_volatility fake_function_volatility(void *context, const char *schema, const char *name) {
    (void)context;
    if ((schema == NULL || strcmp(schema, "public") == 0) &&
        (strcmp(name, "peek") == 0 || strcmp(name, "lower") == 0 || strcmp(name, "reviewed") == 0))
        return GUARD_VOLATILITY_STABLE;
    return GUARD_VOLATILITY_UNKNOWN;
}

/* The row type of a table is a type too (and so is its array type, _name). */
static guard_volatility fake_type_volatility(void *context, const char *schema, const char *name) {
    (void)context;
    static const char *const public_types[] = {"users", "_users", "audit_log", "_audit_log"};
    for (size_t i = 0; i < ARRAY_LENGTH(public_types); i++)
        if ((schema == NULL || strcmp(schema, "public") == 0) && strcmp(name, public_types[i]) == 0)
            return GUARD_VOLATILITY_IMMUTABLE;
    if (schema != NULL && strcmp(schema, "secret") == 0 && strcmp(name, "keys") == 0)
        return GUARD_VOLATILITY_IMMUTABLE;
    return GUARD_VOLATILITY_UNKNOWN;
}

/* The relations that list (schema, name) among their ancestors; one call's answer at a time. */
static const guard_relation_name *fake_relation_descendants(void *context, const char *schema, const char *name) {
    (void)context;
    static guard_relation_name found[ARRAY_LENGTH(fake_relations) + 1];
    size_t count = 0;
    for (size_t i = 0; i < ARRAY_LENGTH(fake_relations); i++)
        for (size_t a = 0; a < ARRAY_LENGTH(fake_relations[i].ancestors); a++) {
            const guard_relation_name *ancestor = &fake_relations[i].ancestors[a];
            if (ancestor->name != NULL && strcmp(ancestor->name, name) == 0 &&
                (schema == NULL || strcmp(ancestor->schema, schema) == 0))
                found[count++] = (guard_relation_name){fake_relations[i].schema, fake_relations[i].name};
        }
    found[count] = (guard_relation_name){NULL, NULL};
    return count > 0 ? found : NULL;
}

static const guard_catalog fake_catalog = {
    .function_volatility = fake_function_volatility,
    .type_volatility = fake_type_volatility,
    .relation_descendants = fake_relation_descendants,
    .relation = fake_relation_lookup,
};

static const char *const default_tables[] = {"public.*",         "sales.orders",      "hr.*",
                                             "\"Mixed Case\".*", "!public.audit_log", NULL};
static const char *const default_denied[] = {"users.email", "*.ssn", "hr.salaries.amount",
                                             "\"Mixed Case\".\"Big Table\".\"Secret\"", NULL};
static const char *const allowed_functions[] = {"reviewed", NULL};

static guard_policy policy_with(const char *const *tables, const char *const *denied) {
    guard_policy policy;
    guard_policy_init(&policy);
    policy.catalog = &fake_catalog;
    policy.table_patterns = tables;
    policy.denied_columns = denied;
    policy.allowed_functions = allowed_functions;
    return policy;
}

static guard_policy default_policy(void) {
    return policy_with(default_tables, default_denied);
}

static const char *or_none(const char *text) {
    return text != NULL ? text : "-";
}

static void expect_allowed_with(const char *sql, const guard_policy *policy) {
    guard_result result = guard_check(sql, policy);
    bool allowed = result.allowed;
    char message[1024];
    snprintf(message, sizeof message, "%s: expected allowed, got %s (%s; %s)", sql, guard_reason_name(result.code),
             or_none(result.message), or_none(result.detail));
    guard_result_free(&result);
    ck_assert_msg(allowed, "%s", message);
}

/* Asserts a rejection with code whose message, detail or hint contains mention (if any). */
static void expect_rejected_with(const char *sql, const guard_policy *policy, guard_reason code, const char *mention) {
    guard_result result = guard_check(sql, policy);
    char message[1024];
    snprintf(message, sizeof message, "%s: expected %s, got %s (%s; %s; %s)", sql, guard_reason_name(code),
             result.allowed ? "allowed" : guard_reason_name(result.code), or_none(result.message),
             or_none(result.detail), or_none(result.hint));
    bool ok = !result.allowed && result.code == code && result.rewritten_sql == NULL;
    if (ok && mention != NULL)
        ok = (result.message && strstr(result.message, mention)) || (result.detail && strstr(result.detail, mention)) ||
             (result.hint && strstr(result.hint, mention));
    guard_result_free(&result);
    ck_assert_msg(ok, "%s (mention: %s)", message, or_none(mention));
}

static void allowed(const char *sql) {
    guard_policy policy = default_policy();
    expect_allowed_with(sql, &policy);
}

static void denied(const char *sql, const char *mention) {
    guard_policy policy = default_policy();
    expect_rejected_with(sql, &policy, GUARD_COLUMN_DENIED, mention);
}

static void not_allowed(const char *sql) {
    guard_policy policy = default_policy();
    expect_rejected_with(sql, &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
}

/* A relation_not_allowed under the default policy whose hint mentions mention. */
static void expect_rejected_with_policy_mention(const char *sql, const char *mention) {
    guard_policy policy = default_policy();
    expect_rejected_with(sql, &policy, GUARD_RELATION_NOT_ALLOWED, mention);
}

static void unverifiable(const char *sql) {
    guard_policy policy = default_policy();
    expect_rejected_with(sql, &policy, GUARD_POLICY_UNVERIFIABLE, NULL);
}

/* ---------------------------------------------------------------------------------------
 * Suite "patterns"
 * ------------------------------------------------------------------------------------- */

static bool validates(const char *table_pattern, const char *column_pattern) {
    const char *tables[] = {table_pattern, NULL};
    const char *columns[] = {column_pattern, NULL};
    guard_policy policy;
    guard_policy_init(&policy);
    policy.table_patterns = table_pattern ? tables : NULL;
    policy.denied_columns = column_pattern ? columns : NULL;
    char *error = NULL;
    bool ok = guard_policy_validate(&policy, &error);
    ck_assert(ok == (error == NULL));
    free(error);
    return ok;
}

START_TEST(pattern_syntax) {
    ck_assert(validates("public.*", NULL));
    ck_assert(validates("*", NULL));
    ck_assert(validates("orders", NULL));
    ck_assert(validates("!public.audit_log", NULL));
    ck_assert(validates(" sales . orders ", NULL));
    ck_assert(validates("\"My Schema\".\"Odd \"\"Name\"\"\"", NULL));
    ck_assert(validates(NULL, "users.email"));
    ck_assert(validates(NULL, "*.ssn"));
    ck_assert(validates(NULL, "hr.salaries.amount"));
    ck_assert(validates(NULL, "ssn"));
    ck_assert(!validates("a.b.c", NULL));
    ck_assert(!validates("", NULL));
    ck_assert(!validates("public.", NULL));
    ck_assert(!validates("\"open", NULL));
    ck_assert(!validates("\"\"", NULL));
    ck_assert(!validates("pub lic", NULL));
    ck_assert(!validates("public.*x", NULL));
    ck_assert(!validates(NULL, "!users.email"));
    ck_assert(!validates(NULL, "a.b.c.d"));
    ck_assert(!validates(NULL, "users;email"));
}
END_TEST

START_TEST(pattern_errors_name_the_pattern) {
    const char *tables[] = {"public.*", "bad pattern", NULL};
    guard_policy policy;
    guard_policy_init(&policy);
    policy.table_patterns = tables;
    char *error = NULL;
    ck_assert(!guard_policy_validate(&policy, &error));
    ck_assert_ptr_nonnull(strstr(error, "bad pattern"));
    free(error);
}
END_TEST

START_TEST(relation_visible_follows_the_allow_list) {
    guard_policy policy = default_policy();
    ck_assert(guard_relation_visible(&policy, "public", "users"));
    ck_assert(!guard_relation_visible(&policy, "public", "audit_log"));
    ck_assert(guard_relation_visible(&policy, "sales", "orders"));
    ck_assert(!guard_relation_visible(&policy, "sales", "leads"));
    ck_assert(guard_relation_visible(&policy, "Mixed Case", "Big Table"));
    ck_assert(!guard_relation_visible(&policy, "mixed case", "Big Table"));
    /* The catalogs name every relation: hidden under an allow-list, shown without one. */
    ck_assert(!guard_relation_visible(&policy, "pg_catalog", "pg_class"));
    ck_assert(!guard_relation_visible(&policy, "information_schema", "tables"));
    ck_assert(!guard_relation_visible(&policy, "pg_catalog", "pg_stats"));
    guard_policy columns_only = policy_with(NULL, default_denied);
    ck_assert(guard_relation_visible(&columns_only, "pg_catalog", "pg_class"));
    ck_assert(!guard_relation_visible(&columns_only, "pg_catalog", "pg_stats"));
    const char *deny_relations[] = {"public.orders", NULL};
    policy.denied_relations = deny_relations;
    ck_assert(!guard_relation_visible(&policy, "public", "orders")); /* --deny-relation wins */
    guard_policy open;
    guard_policy_init(&open);
    ck_assert(guard_relation_visible(&open, "anything", "at_all"));
}
END_TEST

START_TEST(negation_wins_in_any_order) {
    const char *tables[] = {"!public.audit_log", "public.*", NULL};
    guard_policy policy = policy_with(tables, NULL);
    ck_assert(!guard_relation_visible(&policy, "public", "audit_log"));
    ck_assert(guard_relation_visible(&policy, "public", "orders"));
    expect_rejected_with("SELECT id FROM audit_log", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
}
END_TEST

START_TEST(column_denied_matching) {
    guard_policy policy = default_policy();
    ck_assert(guard_column_denied(&policy, "public", "users", "email"));
    ck_assert(guard_column_denied(&policy, "other", "users", "email")); /* table.column: any schema */
    ck_assert(guard_column_denied(&policy, "public", "customers", "ssn"));
    ck_assert(guard_column_denied(&policy, "hr", "salaries", "amount"));
    ck_assert(!guard_column_denied(&policy, "sales", "orders", "amount"));
    ck_assert(guard_column_denied(&policy, "Mixed Case", "Big Table", "Secret"));
    ck_assert(!guard_column_denied(&policy, "Mixed Case", "Big Table", "secret"));
    ck_assert(!guard_column_denied(&policy, "public", "users", "name"));
    ck_assert(!guard_column_denied(&policy, "public", "contacts", "email"));
}
END_TEST

START_TEST(unquoted_patterns_fold_to_lower_case) {
    const char *denied_upper[] = {"Users.EMAIL", NULL};
    guard_policy policy = policy_with(NULL, denied_upper);
    ck_assert(guard_column_denied(&policy, "public", "users", "email"));
    expect_rejected_with("SELECT email FROM users", &policy, GUARD_COLUMN_DENIED, NULL);
}
END_TEST

START_TEST(malformed_policy_fails_closed) {
    const char *bad[] = {"\"open", NULL};
    guard_policy policy = policy_with(bad, NULL);
    expect_rejected_with("SELECT 1", &policy, GUARD_INTERNAL_ERROR, NULL);
    ck_assert(!guard_relation_visible(&policy, "public", "users"));
    guard_policy columns = policy_with(NULL, bad);
    ck_assert(guard_column_denied(&columns, "public", "users", "id"));
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "tables"
 * ------------------------------------------------------------------------------------- */

START_TEST(allow_list_by_name_and_schema) {
    allowed("SELECT id FROM users");
    allowed("SELECT id FROM public.users");
    allowed("SELECT id FROM \"public\".\"users\"");
    allowed("SELECT id, amount FROM sales.orders");
    allowed("SELECT name FROM hr.employees");
    allowed("SELECT label FROM \"Mixed Case\".\"Big Table\"");
    allowed("SELECT id FROM user_names"); /* a view counts as what it is named */
    not_allowed("SELECT id FROM audit_log");
    not_allowed("SELECT id FROM public.audit_log");
    not_allowed("SELECT id FROM \"audit_log\"");
    not_allowed("SELECT id FROM sales.leads");
    not_allowed("SELECT id FROM secret.keys");
    not_allowed("SELECT id FROM nowhere.nothing"); /* unknown: the same words as denied */
    not_allowed("SELECT 1 FROM missing");
}
END_TEST

START_TEST(every_place_a_relation_can_be_named) {
    not_allowed("SELECT u.id FROM users u JOIN audit_log a ON a.id = u.id");
    not_allowed("SELECT id FROM users WHERE id IN (SELECT id FROM audit_log)");
    not_allowed("SELECT (SELECT count(*) FROM audit_log)");
    not_allowed("SELECT id FROM users WHERE EXISTS (SELECT 1 FROM audit_log)");
    not_allowed("WITH a AS (SELECT id FROM audit_log) SELECT id FROM a");
    not_allowed("TABLE audit_log");
    not_allowed("SELECT id FROM users UNION SELECT id FROM audit_log");
    not_allowed("SELECT id FROM users EXCEPT SELECT id FROM sales.leads");
    not_allowed("SELECT * FROM users u, LATERAL (SELECT action FROM audit_log WHERE id = u.id) x");
    not_allowed("SELECT id FROM ONLY audit_log");
    not_allowed("SELECT id FROM audit_log TABLESAMPLE SYSTEM (10)");
    not_allowed("SELECT x.id FROM (users JOIN audit_log USING (id)) x");
    not_allowed("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r JOIN audit_log a ON a.id = r.n) "
                "SELECT n FROM r");
    not_allowed("SELECT id FROM users ORDER BY (SELECT max(id) FROM audit_log)");
    not_allowed("SELECT id FROM users GROUP BY id HAVING count(*) > (SELECT count(*) FROM audit_log)");
    not_allowed("SELECT ARRAY(SELECT action FROM audit_log)");
    not_allowed("SELECT id FROM generate_series(1, 3) g(id) WHERE id = ANY (SELECT id FROM audit_log)");
}
END_TEST

START_TEST(cte_name_shadows_a_table) {
    /* The CTE, not the table, is what the name means. */
    allowed("WITH audit_log AS (SELECT id FROM users) SELECT id FROM audit_log");
    allowed("WITH RECURSIVE audit_log(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM audit_log WHERE n < 3) "
            "SELECT n FROM audit_log");
    /* A qualified name is never a CTE. */
    not_allowed("WITH audit_log AS (SELECT 1 AS id) SELECT id FROM public.audit_log");
    /* A non-recursive CTE does not see itself: its own name is the table. */
    not_allowed("WITH audit_log AS (SELECT id FROM audit_log) SELECT id FROM audit_log");
    /* A CTE is visible only inside its WITH. */
    not_allowed("SELECT (WITH audit_log AS (SELECT 1 AS id) SELECT 1), id FROM audit_log");
}
END_TEST

/* The catalogs list every relation, hidden ones included: refused whole under an allow-list. */
START_TEST(builtin_catalogs_are_hidden_under_an_allow_list) {
    not_allowed("SELECT relname FROM pg_class");
    not_allowed("SELECT relname FROM pg_catalog.pg_class");
    not_allowed("SELECT column_name FROM information_schema.columns");
    not_allowed("SELECT 1 FROM users WHERE EXISTS (SELECT 1 FROM pg_class WHERE relname = 'keys')");
    not_allowed("WITH c AS (SELECT relname FROM pg_catalog.pg_class) SELECT * FROM c");
    not_allowed("SELECT n.nspname FROM users u, LATERAL (SELECT nspname FROM pg_namespace) n");
    not_allowed("SELECT name FROM users UNION SELECT relname FROM pg_class");
    expect_rejected_with_policy_mention("SELECT relname FROM pg_class", "list_tables");
    /* Relations quoting other relations' values are refused under any policy. */
    not_allowed("SELECT tablename, null_frac FROM pg_stats");
    not_allowed("SELECT pid FROM pg_catalog.pg_stat_activity");
    /* The deny list still applies (reported by the walk, first). */
    guard_policy policy = default_policy();
    expect_rejected_with("SELECT rolpassword FROM pg_authid", &policy, GUARD_RELATION_DENIED, NULL);
    /* Without an allow-list, names are not secret: the catalogs stay readable. */
    guard_policy columns_only = policy_with(NULL, default_denied);
    expect_allowed_with("SELECT relname FROM pg_class", &columns_only);
    expect_allowed_with("SELECT column_name FROM information_schema.columns", &columns_only);
    expect_rejected_with("SELECT tablename, null_frac FROM pg_stats", &columns_only, GUARD_RELATION_NOT_ALLOWED, NULL);
    /* The statistics catalogs quote values: refused under a policy even when allowed by name. */
    const char *allow[] = {"pg_statistic", "pg_statistic_ext_data", NULL};
    columns_only.allowed_relations = allow;
    expect_rejected_with("SELECT stavalues1 FROM pg_statistic", &columns_only, GUARD_RELATION_NOT_ALLOWED, NULL);
    expect_rejected_with("SELECT stxdmcv FROM pg_catalog.pg_statistic_ext_data", &columns_only,
                         GUARD_RELATION_NOT_ALLOWED, NULL);
}
END_TEST

/* What names relations by name or number without a catalog relation: refused under an
 * allow-list (policy_unverifiable), allowed without one. */
START_TEST(relation_naming_functions_and_types) {
    static const char *const refused[] = {
        "SELECT obj_description(16390::oid, 'pg_class')",
        "SELECT pg_catalog.col_description(16390, 1)",
        "SELECT pg_get_viewdef(16390)",
        "SELECT pg_get_indexdef(16390)",
        "SELECT pg_get_constraintdef(16390)",
        "SELECT pg_get_expr(NULL, 16390)",
        "SELECT pg_relation_size('users')",
        "SELECT pg_total_relation_size(16390)",
        "SELECT to_regclass('secret.keys')",
        "SELECT has_table_privilege('secret.keys', 'select')",
        "SELECT format_type(16390, NULL)",
        "SELECT pg_describe_object(1259, 16390, 0)",
        "SELECT * FROM pg_identify_object(1259, 16390, 0)",
        "SELECT pg_input_is_valid('secret.keys', 'regclass')",
        "SELECT (16390::oid).obj_description",
        "SELECT regclass('secret.keys')",
        "SELECT c::regclass FROM generate_series(16384, 17000) c",
        "SELECT 16390::oid::regclass::text",
        "SELECT CAST(16390 AS pg_catalog.regclass)",
        "SELECT 'secret.keys'::regclass",
        "SELECT '{1,2}'::regclass[]",
        "SELECT NULL::_regclass",
        "SELECT 16390::oid::regtype",
        "SELECT 1::oid::regprocedure",
        "SELECT 1::oid::regoperator",
        "SELECT id FROM users WHERE id::oid::regclass::text = 'keys'",
    };
    guard_policy columns_only = policy_with(NULL, default_denied);
    for (size_t i = 0; i < ARRAY_LENGTH(refused); i++) {
        unverifiable(refused[i]);
        expect_allowed_with(refused[i], &columns_only);
    }
    allowed("SELECT 'postgres'::regrole, 'public'::regnamespace");
    allowed("SELECT pg_typeof(id), pg_column_size(name) FROM users");
}
END_TEST

/* A cast to a hidden relation's row type would tell that it exists: refused with the words
 * of a type that does not exist. */
START_TEST(hidden_row_types_read_as_unknown) {
    static const char *const pairs[][2] = {
        {"SELECT NULL::audit_log", "SELECT NULL::no_such_type"},
        {"SELECT NULL::public.audit_log", "SELECT NULL::public.no_such_type"},
        {"SELECT NULL::secret.keys", "SELECT NULL::secret.no_such_type"},
        {"SELECT NULL::_audit_log", "SELECT NULL::_no_such_type"},
        {"SELECT NULL::audit_log[]", "SELECT NULL::no_such_type[]"},
        {"SELECT ROW(1, 'a', 'b')::audit_log", "SELECT ROW(1, 'a', 'b')::no_such_type"},
    };
    guard_policy policy = default_policy();
    for (size_t i = 0; i < ARRAY_LENGTH(pairs); i++) {
        guard_result hidden = guard_check(pairs[i][0], &policy);
        guard_result missing = guard_check(pairs[i][1], &policy);
        ck_assert_msg(!hidden.allowed && hidden.code == GUARD_TYPE_NOT_ALLOWED, "%s", pairs[i][0]);
        ck_assert_int_eq(missing.code, GUARD_TYPE_NOT_ALLOWED);
        ck_assert_str_eq(hidden.detail, missing.detail);
        ck_assert_str_eq(hidden.hint, missing.hint);
        guard_result_free(&hidden);
        guard_result_free(&missing);
    }
    expect_rejected_with("SELECT NULL::pg_class", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
    allowed("SELECT * FROM jsonb_populate_record(NULL::users, '{\"id\": 1}')");
    allowed("SELECT NULL::_users, 1::int4, 'x'::text, NULL::int4[]");
    guard_policy columns_only = policy_with(NULL, default_denied);
    expect_allowed_with("SELECT NULL::audit_log", &columns_only);
}
END_TEST

START_TEST(deny_relation_wins_over_the_allow_list) {
    const char *deny[] = {"public.orders", NULL};
    guard_policy policy = default_policy();
    policy.denied_relations = deny;
    expect_rejected_with("SELECT id FROM orders", &policy, GUARD_RELATION_DENIED, NULL);
}
END_TEST

START_TEST(tables_without_columns_policy) {
    guard_policy policy = policy_with(default_tables, NULL);
    expect_allowed_with("SELECT * FROM users", &policy);
    expect_allowed_with("SELECT email FROM users", &policy);
    expect_rejected_with("SELECT * FROM audit_log", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
}
END_TEST

START_TEST(empty_allow_list_allows_nothing) {
    const char *none[] = {NULL};
    guard_policy policy = policy_with(none, NULL);
    expect_rejected_with("SELECT id FROM users", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
    expect_allowed_with("SELECT 1", &policy);
    expect_rejected_with("SELECT relname FROM pg_class", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
}
END_TEST

START_TEST(user_functions_are_refused_under_a_policy) {
    unverifiable("SELECT peek(1)");
    unverifiable("SELECT public.peek(id) FROM users");
    unverifiable("SELECT lower(id) FROM users");      /* a user overload of a built-in name */
    unverifiable("SELECT o.peek FROM orders o");      /* attribute notation: peek(o) */
    unverifiable("SELECT (o.id).peek FROM orders o"); /* (expr).f is f(expr) */
    unverifiable("SELECT * FROM peek(1) p");
    allowed("SELECT reviewed(1)"); /* allowed by name with --allow-function */
    allowed("SELECT upper(name), length(name) FROM users");
    allowed("SELECT pg_catalog.upper(name) FROM users");
    /* Without a policy, the function policy alone decides. */
    guard_policy open;
    guard_policy_init(&open);
    open.catalog = &fake_catalog;
    expect_allowed_with("SELECT peek(1)", &open);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "columns"
 * ------------------------------------------------------------------------------------- */

START_TEST(direct_references) {
    denied("SELECT email FROM users", "users.email");
    denied("SELECT users.email FROM users", "users.email");
    denied("SELECT public.users.email FROM users", "users.email");
    denied("SELECT u.email FROM users u", "users.email");
    denied("SELECT u.\"email\" FROM users AS u", "users.email");
    denied("SELECT ssn FROM customers", "customers.ssn");
    denied("SELECT amount FROM hr.salaries", "salaries.amount");
    denied("SELECT \"Secret\" FROM \"Mixed Case\".\"Big Table\"", "Big Table.Secret");
    allowed("SELECT secret FROM (SELECT label AS secret FROM \"Mixed Case\".\"Big Table\") t");
    allowed("SELECT amount FROM sales.orders");
    allowed("SELECT email FROM contacts");
}
END_TEST

START_TEST(references_in_every_clause) {
    denied("SELECT id FROM users WHERE email = 'a@b.c'", "users.email");
    denied("SELECT id FROM users WHERE email LIKE 'a%'", NULL);
    denied("SELECT id FROM users ORDER BY email", NULL);
    denied("SELECT count(*) FROM users GROUP BY email", NULL);
    denied("SELECT id FROM users GROUP BY id HAVING max(email) > 'm'", NULL);
    denied("SELECT count(DISTINCT email) FROM users", NULL);
    denied("SELECT DISTINCT ON (email) id FROM users", NULL);
    denied("SELECT id, row_number() OVER (PARTITION BY email) FROM users", NULL);
    denied("SELECT id, rank() OVER w FROM users WINDOW w AS (ORDER BY ssn)", NULL);
    denied("SELECT string_agg(email, ',') FROM users", NULL);
    denied("SELECT length(email) FROM users", NULL);
    denied("SELECT CASE WHEN email LIKE '%x' THEN 1 END FROM users", NULL);
    denied("SELECT id FROM users LIMIT (SELECT length(max(email)) FROM users)", NULL);
    denied("SELECT id FROM users WHERE id IN (SELECT id FROM users WHERE ssn = '1')", NULL);
    denied("SELECT md5(email) FROM users", NULL);
    denied("SELECT email IS NULL FROM users", NULL);
    denied("SELECT coalesce(email, name) FROM users", NULL);
    denied("SELECT id FROM users WHERE email::text > ''", NULL);
    denied("SELECT array_agg(email ORDER BY id) FROM users", NULL);
    denied("SELECT id FROM users u ORDER BY u.email COLLATE \"C\"", NULL);
}
END_TEST

START_TEST(joins) {
    denied("SELECT o.id FROM orders o JOIN users u ON u.email = o.status", NULL);
    denied("SELECT o.id FROM orders o JOIN contacts c USING (id) JOIN users u ON u.id = o.user_id WHERE email = 'x'",
           NULL);
    denied("SELECT c.id FROM contacts c JOIN users u USING (email)", "users.email");
    denied("SELECT 1 FROM users NATURAL JOIN contacts", "users.email");
    denied("SELECT 1 FROM users NATURAL JOIN (SELECT 'a@b' AS email) s", NULL);
    denied("SELECT 1 FROM (SELECT 1 AS x) s NATURAL JOIN users", NULL);
    denied("SELECT 1 FROM users u JOIN customers c ON c.ssn = u.ssn", NULL);
    denied("SELECT j.email FROM (users u JOIN orders o ON o.user_id = u.id) j", NULL);
    denied("SELECT j.* FROM (users u JOIN orders o ON o.user_id = u.id) j", NULL);
    denied("SELECT to_jsonb(j) FROM (users JOIN orders ON orders.user_id = users.id) j", NULL);
    allowed("SELECT u.name, o.total FROM users u JOIN orders o ON o.user_id = u.id");
    allowed("SELECT o.id, c.email FROM orders o LEFT JOIN contacts c ON c.id = o.user_id");
    allowed("SELECT name, total FROM users JOIN orders USING (id)");
    allowed("SELECT * FROM orders NATURAL JOIN user_names");
    allowed("SELECT j.name FROM (users u JOIN orders o ON o.user_id = u.id) j");
    allowed("SELECT u.id FROM users u CROSS JOIN sales.orders s");
    allowed("SELECT u.id FROM users u FULL JOIN orders o ON o.user_id = u.id");
}
END_TEST

/* AS j(a, b, c) renames a join's columns by position: USING and NATURAL columns first, then
 * the rest of the left side, then the right side's. */
START_TEST(join_alias_column_lists) {
    denied("SELECT c FROM (users JOIN orders USING (id)) AS j(a, b, c)", "users.email");
    denied("SELECT c FROM (users u JOIN orders o ON o.user_id = u.id) AS j(a, b, c)", "users.email");
    denied("SELECT d FROM (users CROSS JOIN orders) AS j(a, b, c, d)", "users.ssn");
    denied("SELECT x FROM (users NATURAL JOIN user_names) AS j(a, b, x)", "users.email");
    denied("SELECT z FROM (orders o JOIN users AS u(a, b) ON o.user_id = u.a) AS j(p, q, r, s, t, v, w, z)",
           "users.email");
    denied("SELECT j.c FROM (users JOIN orders USING (id)) AS j(a, b, c)", NULL);
    denied("SELECT x FROM (customers JOIN orders USING (id)) AS j(a, b, c, x)", "customers.ssn");
    allowed("SELECT a, b FROM (users JOIN orders USING (id)) AS j(a, b, c)");
    allowed("SELECT a, b FROM (users u JOIN orders o ON o.user_id = u.id) AS j(a, b)");
    denied("SELECT h FROM (orders JOIN users USING (id)) AS j(a, b, c, d, e, f, g, h)", "users.ssn");
    allowed("SELECT i FROM (orders JOIN users USING (id)) AS j(a, b, c, d, e, f, g, h, i)"); /* users.created_at */
    /* Positions unknown (a subquery or a nested join on a side): any alias may be denied. */
    denied("SELECT x FROM ((SELECT 1 AS k) s CROSS JOIN users) AS j(k, x)", "users.email");
    denied("SELECT x FROM ((users JOIN orders ON true) CROSS JOIN contacts) AS j(a, b, x)", "users.email");
    allowed("SELECT a FROM ((SELECT 1 AS k) s CROSS JOIN orders) AS j(a)");
}
END_TEST

START_TEST(unqualified_names_with_several_relations) {
    /* contacts.email is allowed, but users is in scope too: email could be either. */
    denied("SELECT email FROM contacts, users", NULL);
    denied("SELECT c.id FROM contacts c WHERE EXISTS (SELECT 1 FROM users WHERE email = c.note)", NULL);
    allowed("SELECT c.email FROM contacts c, users u WHERE u.id = c.id");
}
END_TEST

START_TEST(outer_references) {
    denied("SELECT (SELECT email) FROM users", NULL);
    denied("SELECT (SELECT u.email) FROM users u", NULL);
    denied("SELECT (SELECT 1 WHERE u.ssn = '1') FROM users u", NULL);
    denied("SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.status = u.email)", NULL);
    denied("SELECT x.e FROM users u, LATERAL (SELECT u.email AS e) x", NULL);
    denied("SELECT * FROM users u CROSS JOIN LATERAL (SELECT u.email) x", NULL);
    denied("SELECT id FROM users u, LATERAL generate_series(1, length(u.email)) g", NULL);
    allowed("SELECT u.name, x.n FROM users u, LATERAL (SELECT count(*) AS n FROM orders o WHERE o.user_id = u.id) x");
}
END_TEST

START_TEST(stars) {
    denied("SELECT * FROM users", "id, name, created_at, profile");
    denied("SELECT u.* FROM users u", "id, name, created_at, profile");
    denied("SELECT users.* FROM users", NULL);
    denied("SELECT public.users.* FROM users", NULL);
    denied("SELECT * FROM orders, users", NULL);
    denied("SELECT * FROM hr.salaries", "id, employee_id, currency");
    denied("SELECT o.*, u.* FROM orders o JOIN users u ON u.id = o.user_id", NULL);
    denied("SELECT count(u.*) FROM users u", NULL);
    denied("SELECT * FROM (SELECT * FROM users) s", NULL);
    denied("WITH x AS (SELECT * FROM users) SELECT id FROM x", NULL);
    denied("SELECT id FROM users WHERE EXISTS (SELECT * FROM users UNION SELECT * FROM users)", NULL);
    allowed("SELECT * FROM orders");
    allowed("SELECT o.* FROM orders o JOIN users u ON u.id = o.user_id");
    allowed("SELECT * FROM user_names");
    allowed("SELECT * FROM (SELECT id, name FROM users) s");
    allowed("WITH x AS (SELECT id, name FROM users) SELECT * FROM x");
    allowed("SELECT count(*) FROM users");
    allowed("SELECT id FROM orders o WHERE EXISTS (SELECT * FROM users u WHERE u.id = o.user_id)");
    /* Inside EXISTS a star is unread, unless an ordinal names one of its columns. */
    denied("SELECT 1 WHERE EXISTS (SELECT * FROM users GROUP BY 3 HAVING count(*) > 1)", NULL);
    denied("SELECT 1 WHERE EXISTS (SELECT DISTINCT ON (3) * FROM users)", NULL);
    denied("SELECT 1 WHERE EXISTS (SELECT * FROM users ORDER BY 3 LIMIT 1)", NULL);
}
END_TEST

START_TEST(whole_row_references) {
    denied("SELECT u FROM users u", NULL);
    denied("SELECT users FROM users", NULL);
    denied("SELECT row_to_json(u) FROM users u", NULL);
    denied("SELECT to_jsonb(u) FROM users u", NULL);
    denied("SELECT to_json(users) FROM users", NULL);
    denied("SELECT json_agg(u) FROM users u", NULL);
    denied("SELECT jsonb_agg(u.*) FROM users u", NULL);
    denied("SELECT ROW(u.*) FROM users u", NULL);
    denied("SELECT ROW(u.*)::text FROM users u", NULL);
    denied("SELECT u::text FROM users u", NULL);
    denied("SELECT CAST(u AS text) FROM users u", NULL);
    denied("SELECT text(u) FROM users u", NULL);
    denied("SELECT u.text FROM users u", "whole row");
    denied("SELECT (u).email FROM users u", NULL);
    denied("SELECT (u.*).email FROM users u", NULL);
    /* Functional notation email(u) and extension functions are unknown to the walk. */
    guard_policy policy = default_policy();
    expect_rejected_with("SELECT email(u) FROM users u", &policy, GUARD_FUNCTION_UNKNOWN, NULL);
    expect_rejected_with("SELECT hstore(u) FROM users u", &policy, GUARD_FUNCTION_UNKNOWN, NULL);
    denied("SELECT md5(u::text) FROM users u", NULL);
    denied("SELECT id FROM users u WHERE u::text LIKE '%@%'", NULL);
    denied("SELECT id FROM users u ORDER BY u", NULL);
    denied("SELECT count(DISTINCT u) FROM users u", NULL);
    denied("SELECT u IS NULL FROM users u", NULL);
    denied("SELECT array_agg(u) FROM users u", NULL);
    denied("SELECT jsonb_build_object('r', u) FROM users u", NULL);
    denied("SELECT format('%s', u) FROM users u", NULL);
    denied("SELECT concat(u) FROM users u", NULL);
    denied("SELECT (SELECT u) FROM users u", NULL);
    denied("SELECT (SELECT row_to_json(x) FROM (SELECT u.*) x) FROM users u", NULL);
    allowed("SELECT row_to_json(o) FROM orders o");
    allowed("SELECT to_jsonb(s) FROM (SELECT id, name FROM users) s");
    allowed("SELECT json_agg(x) FROM (SELECT id, name FROM users) x");
    allowed("SELECT ROW(u.id, u.name) FROM users u");
    allowed("SELECT jsonb_build_object('id', u.id, 'name', u.name) FROM users u");
}
END_TEST

START_TEST(subqueries_and_ctes_never_reexport) {
    denied("SELECT e FROM (SELECT email AS e FROM users) s", NULL);
    denied("WITH x AS (SELECT email FROM users) SELECT count(*) FROM x", NULL);
    denied("WITH x(a) AS (SELECT ssn FROM customers) SELECT a FROM x", NULL);
    denied("WITH RECURSIVE r(v) AS (SELECT email FROM users UNION SELECT v FROM r) SELECT v FROM r", NULL);
    denied("SELECT id FROM users UNION SELECT email FROM users", NULL);
    denied("SELECT name FROM users INTERSECT SELECT ssn FROM customers", NULL);
    denied("SELECT name FROM users EXCEPT ALL SELECT email FROM users", NULL);
    denied("VALUES ((SELECT max(email) FROM users))", NULL);
    denied("SELECT ARRAY(SELECT email FROM users)", NULL);
    denied("SELECT id FROM users WHERE email IN ('a', 'b')", NULL);
    denied("SELECT id FROM users WHERE 'x' = ANY (SELECT email FROM users)", NULL);
    allowed("WITH x AS (SELECT id, name FROM users) SELECT name FROM x");
    allowed("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r");
    allowed("SELECT id FROM users UNION SELECT id FROM orders");
    allowed("VALUES (1), (2)");
}
END_TEST

START_TEST(aliases_and_column_aliases) {
    /* A column alias list renames by position: the third column is email. */
    denied("SELECT c FROM users AS x(a, b, c)", "users.email");
    denied("SELECT x.c FROM users AS x(a, b, c)", "users.email");
    allowed("SELECT a, b FROM users AS x(a, b)");
    /* id renamed email: t.email may still mean the real email (PostgreSQL calls it ambiguous). */
    denied("SELECT t.email FROM users AS t(email)", "users.email");
    /* An alias that looks like another table. */
    denied("SELECT orders.email FROM users AS orders", NULL);
    denied("SELECT contacts.email FROM users contacts", NULL);
    /* A denied table hidden behind an alias is still itself. */
    not_allowed("SELECT users.id FROM audit_log AS users");
}
END_TEST

START_TEST(quoted_and_qualified_spellings) {
    denied("SELECT \"email\" FROM \"users\"", NULL);
    denied("SELECT U&\"\\0065mail\" FROM users", NULL);
    denied("SELECT \"public\".\"users\".\"email\" FROM public.users", NULL);
    denied("SELECT mydb.public.users.email FROM users", NULL);
    denied("SELECT EMAIL FROM USERS", NULL);
    allowed("SELECT \"Email\" FROM (SELECT 1 AS \"Email\") s"); /* another name entirely */
    allowed("SELECT label FROM \"Mixed Case\".\"Big Table\"");
    denied("SELECT t.\"Secret\" FROM \"Mixed Case\".\"Big Table\" t", NULL);
}
END_TEST

START_TEST(function_forms_that_read_rows) {
    denied("SELECT t.x FROM users u, LATERAL jsonb_each_text(to_jsonb(u)) t(k, x)", NULL);
    denied("SELECT * FROM jsonb_populate_record(NULL::users, (SELECT to_jsonb(u) FROM users u LIMIT 1))", NULL);
    denied("SELECT xmlelement(name x, email) FROM users", NULL);
    /* XMLTABLE is refused as uninterruptible first; with the XPath family allowed, the
     * column policy still sees inside it. */
    guard_policy xpath = default_policy();
    xpath.allow_xpath = true;
    expect_rejected_with("SELECT * FROM XMLTABLE('/a' PASSING (SELECT xmlelement(name a, email) FROM users LIMIT 1) "
                         "COLUMNS v text PATH '.') x",
                         &xpath, GUARD_COLUMN_DENIED, NULL);
    denied("SELECT * FROM unnest((SELECT array_agg(email) FROM users)) e", NULL);
    allowed("SELECT * FROM jsonb_populate_record(NULL::users, '{\"id\": 1}')");
    allowed("SELECT x FROM generate_series(1, 3) AS g(x)");
    allowed("SELECT generate_series FROM generate_series(1, 3)");
}
END_TEST

/* A partition holds its parent's rows: the parent's denied columns and exclusion apply. */
START_TEST(partitions_inherit_the_policy) {
    denied("SELECT email FROM users_2024", "users_2024.email");
    denied("SELECT * FROM users_2024_q1", NULL);
    denied("SELECT to_jsonb(p) FROM users_2024 p", NULL);
    allowed("SELECT id, name FROM users_2024_q1");
    not_allowed("SELECT action FROM audit_log_2024");
}
END_TEST

/* A scan of a parent reads its partitions' rows (unless ONLY): a partition's exclusion and
 * denied columns hold through the parent. */
START_TEST(parents_follow_their_partitions) {
    const char *tables[] = {"public.*", "!public.users_2024_q1", NULL};
    guard_policy policy = policy_with(tables, NULL);
    expect_rejected_with("SELECT id FROM users", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
    expect_rejected_with("SELECT id FROM users_2024", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
    expect_allowed_with("SELECT id FROM ONLY users", &policy);
    expect_allowed_with("SELECT id FROM orders", &policy);
    const char *columns[] = {"users_2024_q1.name", NULL};
    guard_policy partition_columns = policy_with(NULL, columns);
    expect_rejected_with("SELECT name FROM users", &partition_columns, GUARD_COLUMN_DENIED, "users.name");
    expect_rejected_with("SELECT * FROM users_2024", &partition_columns, GUARD_COLUMN_DENIED, NULL);
    expect_rejected_with("SELECT to_jsonb(u) FROM users u", &partition_columns, GUARD_COLUMN_DENIED, NULL);
    expect_allowed_with("SELECT id, email FROM users", &partition_columns);
    expect_allowed_with("SELECT name FROM ONLY users", &partition_columns);
    expect_allowed_with("SELECT name FROM customers", &partition_columns);
}
END_TEST

START_TEST(views_count_as_named) {
    /* The view's own columns: user_names has no email. */
    allowed("SELECT id, name FROM user_names");
    denied("SELECT email FROM users u JOIN user_names n USING (id)", NULL);
}
END_TEST

START_TEST(columns_policy_alone) {
    guard_policy policy = policy_with(NULL, default_denied);
    expect_allowed_with("SELECT id FROM audit_log", &policy); /* no allow-list: every table */
    expect_rejected_with("SELECT email FROM users", &policy, GUARD_COLUMN_DENIED, NULL);
    expect_rejected_with("SELECT id FROM not_there", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
}
END_TEST

START_TEST(denied_message_is_actionable) {
    guard_policy policy = default_policy();
    guard_result result = guard_check("SELECT * FROM users", &policy);
    ck_assert(!result.allowed);
    ck_assert_int_eq(result.code, GUARD_COLUMN_DENIED);
    ck_assert_str_eq(guard_reason_name(result.code), "column_denied");
    ck_assert_ptr_nonnull(strstr(result.detail, "users.email"));
    ck_assert_ptr_nonnull(strstr(result.hint, "id, name, created_at, profile"));
    ck_assert_ptr_null(strstr(result.hint, "email"));
    ck_assert_ptr_null(strstr(result.hint, "ssn"));
    ck_assert_int_gt(result.cursor_position, 0);
    guard_result_free(&result);
}
END_TEST

START_TEST(reason_names) {
    ck_assert_str_eq(guard_reason_name(GUARD_RELATION_NOT_ALLOWED), "relation_not_allowed");
    ck_assert_str_eq(guard_reason_name(GUARD_COLUMN_DENIED), "column_denied");
    ck_assert_str_eq(guard_reason_name(GUARD_POLICY_UNVERIFIABLE), "policy_unverifiable");
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "offline": no relation callback.
 * ------------------------------------------------------------------------------------- */

START_TEST(offline_tables_resolve_through_the_search_path) {
    guard_policy policy;
    guard_policy_init(&policy);
    const char *tables[] = {"public.*", "!public.audit_log", NULL};
    policy.table_patterns = tables;
    expect_allowed_with("SELECT id FROM users", &policy);
    expect_rejected_with("SELECT id FROM audit_log", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
    expect_rejected_with("SELECT id FROM sales.orders", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
    /* With sales on the path too, an unqualified name could land in either schema. */
    const char *path[] = {"sales", "public", NULL};
    policy.search_path = path;
    expect_rejected_with("SELECT id FROM users", &policy, GUARD_RELATION_NOT_ALLOWED, NULL);
    expect_allowed_with("SELECT id FROM public.users", &policy);
    const char *both[] = {"public.*", "sales.*", NULL};
    policy.table_patterns = both;
    expect_allowed_with("SELECT id FROM users", &policy);
}
END_TEST

START_TEST(offline_columns_fail_closed) {
    guard_policy policy;
    guard_policy_init(&policy);
    policy.denied_columns = default_denied;
    expect_rejected_with("SELECT id FROM users", &policy, GUARD_POLICY_UNVERIFIABLE, NULL);
    expect_allowed_with("SELECT 1", &policy);
    expect_allowed_with("WITH x AS (SELECT 1 AS a) SELECT a FROM x", &policy);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "corpus": corpus/policy.jsonl. Each entry names its policy flags ("tables",
 * "deny_columns": comma-separated, as on the command line) and its verdict.
 * ------------------------------------------------------------------------------------- */

#ifndef PGSAFE_SOURCE_DIR
#define PGSAFE_SOURCE_DIR "."
#endif

/* Splits "a,b,\"c,d\"" on commas outside double quotes into a NULL-terminated array. */
static char **split_patterns(const char *text) {
    size_t capacity = 2;
    for (const char *at = text; *at; at++)
        capacity += *at == ',';
    char **items = calloc(capacity, sizeof *items);
    ck_assert_ptr_nonnull(items);
    size_t count = 0;
    const char *start = text;
    bool quoted = false;
    for (const char *at = text;; at++) {
        if (*at == '"')
            quoted = !quoted;
        if ((*at == ',' && !quoted) || *at == '\0') {
            items[count++] = strndup(start, (size_t)(at - start));
            if (*at == '\0')
                break;
            start = at + 1;
        }
    }
    return items;
}

static void free_patterns(char **items) {
    for (size_t i = 0; items != NULL && items[i] != NULL; i++)
        free(items[i]);
    free(items);
}

START_TEST(corpus_entries_hold) {
    const char *path = PGSAFE_SOURCE_DIR "/corpus/policy.jsonl";
    FILE *file = fopen(path, "r");
    ck_assert_msg(file != NULL, "cannot open %s", path);
    char *line = NULL;
    size_t size = 0;
    int attacks = 0, benign = 0, failures = 0;
    while (getline(&line, &size, file) > 0) {
        if (line[0] == '\n' || line[0] == '\0')
            continue;
        json_object *entry = json_tokener_parse(line);
        ck_assert_msg(entry != NULL, "malformed line: %s", line);
        json_object *field;
        const char *id = json_object_object_get_ex(entry, "id", &field) ? json_object_get_string(field) : "?";
        const char *sql = json_object_object_get_ex(entry, "sql", &field) ? json_object_get_string(field) : NULL;
        const char *expect = json_object_object_get_ex(entry, "expect", &field) ? json_object_get_string(field) : "";
        const char *reason = json_object_object_get_ex(entry, "reason", &field) ? json_object_get_string(field) : NULL;
        char **tables =
            json_object_object_get_ex(entry, "tables", &field) ? split_patterns(json_object_get_string(field)) : NULL;
        char **columns = json_object_object_get_ex(entry, "deny_columns", &field)
                             ? split_patterns(json_object_get_string(field))
                             : NULL;
        ck_assert_msg(sql != NULL, "%s: no sql", id);
        guard_policy policy = policy_with((const char *const *)tables, (const char *const *)columns);
        guard_result result = guard_check(sql, &policy);
        bool ok;
        if (strcmp(expect, "allow") == 0) {
            benign++;
            ok = result.allowed;
        } else {
            attacks++;
            ok = !result.allowed && (reason == NULL || strcmp(reason, guard_reason_name(result.code)) == 0);
        }
        if (!ok) {
            failures++;
            fprintf(stderr, "corpus %s: expected %s%s%s, got %s (%s)\n", id, expect, reason ? " " : "",
                    reason ? reason : "", result.allowed ? "allowed" : guard_reason_name(result.code),
                    or_none(result.message));
        }
        guard_result_free(&result);
        free_patterns(tables);
        free_patterns(columns);
        json_object_put(entry);
    }
    free(line);
    fclose(file);
    ck_assert_msg(failures == 0, "%d corpus entries failed", failures);
    ck_assert_int_ge(attacks, 150);
    ck_assert_int_ge(benign, 50);
}
END_TEST

static Suite *patterns_suite(void) {
    Suite *suite = suite_create("patterns");
    TCase *tc = tcase_create("patterns");
    tcase_add_test(tc, pattern_syntax);
    tcase_add_test(tc, pattern_errors_name_the_pattern);
    tcase_add_test(tc, relation_visible_follows_the_allow_list);
    tcase_add_test(tc, negation_wins_in_any_order);
    tcase_add_test(tc, column_denied_matching);
    tcase_add_test(tc, unquoted_patterns_fold_to_lower_case);
    tcase_add_test(tc, malformed_policy_fails_closed);
    suite_add_tcase(suite, tc);
    return suite;
}

static Suite *tables_suite(void) {
    Suite *suite = suite_create("tables");
    TCase *tc = tcase_create("tables");
    tcase_add_test(tc, allow_list_by_name_and_schema);
    tcase_add_test(tc, every_place_a_relation_can_be_named);
    tcase_add_test(tc, cte_name_shadows_a_table);
    tcase_add_test(tc, builtin_catalogs_are_hidden_under_an_allow_list);
    tcase_add_test(tc, relation_naming_functions_and_types);
    tcase_add_test(tc, hidden_row_types_read_as_unknown);
    tcase_add_test(tc, deny_relation_wins_over_the_allow_list);
    tcase_add_test(tc, tables_without_columns_policy);
    tcase_add_test(tc, empty_allow_list_allows_nothing);
    tcase_add_test(tc, user_functions_are_refused_under_a_policy);
    suite_add_tcase(suite, tc);
    return suite;
}

static Suite *columns_suite(void) {
    Suite *suite = suite_create("columns");
    TCase *tc = tcase_create("columns");
    tcase_add_test(tc, direct_references);
    tcase_add_test(tc, references_in_every_clause);
    tcase_add_test(tc, joins);
    tcase_add_test(tc, join_alias_column_lists);
    tcase_add_test(tc, unqualified_names_with_several_relations);
    tcase_add_test(tc, outer_references);
    tcase_add_test(tc, stars);
    tcase_add_test(tc, whole_row_references);
    tcase_add_test(tc, subqueries_and_ctes_never_reexport);
    tcase_add_test(tc, aliases_and_column_aliases);
    tcase_add_test(tc, quoted_and_qualified_spellings);
    tcase_add_test(tc, function_forms_that_read_rows);
    tcase_add_test(tc, views_count_as_named);
    tcase_add_test(tc, partitions_inherit_the_policy);
    tcase_add_test(tc, parents_follow_their_partitions);
    tcase_add_test(tc, columns_policy_alone);
    tcase_add_test(tc, denied_message_is_actionable);
    tcase_add_test(tc, reason_names);
    suite_add_tcase(suite, tc);
    return suite;
}

static Suite *offline_suite(void) {
    Suite *suite = suite_create("offline");
    TCase *tc = tcase_create("offline");
    tcase_add_test(tc, offline_tables_resolve_through_the_search_path);
    tcase_add_test(tc, offline_columns_fail_closed);
    suite_add_tcase(suite, tc);
    return suite;
}

static Suite *corpus_suite(void) {
    Suite *suite = suite_create("corpus");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, corpus_entries_hold);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) {
    SRunner *runner = srunner_create(patterns_suite());
    srunner_add_suite(runner, tables_suite());
    srunner_add_suite(runner, columns_suite());
    srunner_add_suite(runner, offline_suite());
    srunner_add_suite(runner, corpus_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
