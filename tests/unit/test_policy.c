/* Unit tests of the guard's security classes of issue #12, with Check: work the statement
 * timeout cannot stop (the XPath family), catalog side doors (secret columns of catalog
 * views, a denied relation's partitions and children), functions reached without being
 * named (the catalog's hazards, with a hand-built catalog), values too large to build
 * (constant size bounds), and names newer grammars parse as keywords.
 *
 *   ./test_policy                                  # forks per test
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_policy */
#define _GNU_SOURCE /* asprintf */
#include <check.h>
#include <pg_query.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgsafe/guard.h"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

static guard_result check_with(const char *sql, const guard_policy *policy) {
    return guard_check(sql, policy);
}

static void expect_code(const char *sql, const guard_policy *policy, guard_reason code) {
    guard_result result = check_with(sql, policy);
    if (code == GUARD_OK)
        ck_assert_msg(result.allowed, "expected allowed: %s\n  got %s: %s", sql, guard_reason_name(result.code),
                      result.message ? result.message : "");
    else
        ck_assert_msg(!result.allowed && result.code == code, "expected %s: %s\n  got %s: %s", guard_reason_name(code),
                      sql, result.allowed ? "allowed" : guard_reason_name(result.code),
                      result.message ? result.message : "");
    guard_result_free(&result);
}

static void expect_default(const char *sql, guard_reason code) {
    guard_policy policy;
    guard_policy_init(&policy);
    expect_code(sql, &policy, code);
}

/* ---- a hand-built catalog ------------------------------------------------------------ */

typedef struct fake_object {
    const char *name;
    guard_volatility volatility;
    const char *hazard;
} fake_object;

static const fake_object fake_functions[] = {
    {"lock_me", GUARD_VOLATILITY_VOLATILE, NULL},
    {"make_point", GUARD_VOLATILITY_STABLE, "it returns type locking_point, whose = operator calls lock_me"},
    {"json_query", GUARD_VOLATILITY_STABLE, NULL},
    {"json_table", GUARD_VOLATILITY_STABLE, NULL},
    {"xpath_string", GUARD_VOLATILITY_IMMUTABLE, NULL},
};
static const fake_object fake_types[] = {
    {"locking_point", GUARD_VOLATILITY_IMMUTABLE, "its = operator calls volatile function lock_me"},
    {"checked_domain", GUARD_VOLATILITY_IMMUTABLE, "its CHECK constraint calls volatile function lock_me"},
    {"plain_point", GUARD_VOLATILITY_IMMUTABLE, NULL},
};
static const fake_object fake_relations[] = {
    {"points", GUARD_VOLATILITY_IMMUTABLE, "column p has type locking_point, whose = operator calls lock_me"},
    {"locking_view", GUARD_VOLATILITY_IMMUTABLE, "its definition calls volatile function lock_me"},
    {"policed", GUARD_VOLATILITY_IMMUTABLE, "a row security policy calls volatile function lock_me"},
    {"orders", GUARD_VOLATILITY_IMMUTABLE, NULL},
};

static const fake_object *find(const fake_object *objects, size_t count, const char *name) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(objects[i].name, name) == 0)
            return &objects[i];
    return NULL;
}

static guard_volatility fake_function_volatility(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    const fake_object *found = find(fake_functions, ARRAY_LENGTH(fake_functions), name);
    return found ? found->volatility : GUARD_VOLATILITY_UNKNOWN;
}

static guard_volatility fake_type_volatility(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    const fake_object *found = find(fake_types, ARRAY_LENGTH(fake_types), name);
    return found ? found->volatility : GUARD_VOLATILITY_UNKNOWN;
}

static const char *fake_function_hazard(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    const fake_object *found = find(fake_functions, ARRAY_LENGTH(fake_functions), name);
    return found ? found->hazard : NULL;
}

static const char *fake_type_hazard(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    const fake_object *found = find(fake_types, ARRAY_LENGTH(fake_types), name);
    return found ? found->hazard : NULL;
}

static const char *fake_relation_hazard(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    const fake_object *found = find(fake_relations, ARRAY_LENGTH(fake_relations), name);
    return found ? found->hazard : NULL;
}

static const char *global_hazard_text;
static const char *fake_global_hazard(void *context) {
    (void)context;
    return global_hazard_text;
}

/* Inheritance: measurements is partitioned into measurements_2025 and measurements_2026;
 * legacy_log has the child legacy_log_archive, which has its own child legacy_log_old. */
static const guard_relation_name measurements_children[] = {
    {"public", "measurements_2025"}, {"public", "measurements_2026"}, {NULL, NULL}};
static const guard_relation_name measurement_partition_parents[] = {{"public", "measurements"}, {NULL, NULL}};
static const guard_relation_name legacy_descendants[] = {
    {"public", "legacy_log_archive"}, {"public", "legacy_log_old"}, {NULL, NULL}};
static const guard_relation_name archive_ancestors[] = {{"public", "legacy_log"}, {NULL, NULL}};
static const guard_relation_name old_ancestors[] = {
    {"public", "legacy_log_archive"}, {"public", "legacy_log"}, {NULL, NULL}};
static const guard_relation_name old_parent_descendants[] = {{"public", "legacy_log_old"}, {NULL, NULL}};
/* A schema whose name holds a dot: names are never split on one. */
static const guard_relation_name dotted_ancestors[] = {{"odd.schema", "hidden"}, {NULL, NULL}};

static const guard_relation_name *fake_ancestors(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    if (strncmp(name, "measurements_", 13) == 0)
        return measurement_partition_parents;
    if (strcmp(name, "legacy_log_archive") == 0)
        return archive_ancestors;
    if (strcmp(name, "legacy_log_old") == 0)
        return old_ancestors;
    if (strcmp(name, "dotted_child") == 0)
        return dotted_ancestors;
    return NULL;
}

static const guard_relation_name *fake_descendants(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    if (strcmp(name, "measurements") == 0)
        return measurements_children;
    if (strcmp(name, "legacy_log") == 0)
        return legacy_descendants;
    if (strcmp(name, "legacy_log_archive") == 0)
        return old_parent_descendants;
    return NULL;
}

static guard_catalog fake_catalog(void) {
    guard_catalog catalog;
    memset(&catalog, 0, sizeof catalog);
    catalog.function_volatility = fake_function_volatility;
    catalog.type_volatility = fake_type_volatility;
    catalog.relation_ancestors = fake_ancestors;
    catalog.relation_descendants = fake_descendants;
    catalog.relation_hazard = fake_relation_hazard;
    catalog.type_hazard = fake_type_hazard;
    catalog.function_hazard = fake_function_hazard;
    catalog.global_hazard = fake_global_hazard;
    return catalog;
}

/* ---- XPath: work the statement timeout cannot stop ----------------------------------- */

static const char *const xpath_queries[] = {
    "SELECT xpath('/a', '<a/>'::xml)",
    "SELECT pg_catalog.xpath('/a', '<a/>'::xml)",
    "SELECT xpath_exists('/a', '<a/>'::xml)",
    "SELECT XMLEXISTS('//a' PASSING BY REF '<a/>')",
    "SELECT 1 WHERE XMLEXISTS('//a' PASSING BY VALUE '<a/>')",
    "SELECT * FROM XMLTABLE('/r' PASSING '<r/>' COLUMNS a int PATH 'a')",
    "SELECT t.a FROM orders, LATERAL XMLTABLE('/r' PASSING ('<r/>') COLUMNS a int PATH 'a') t",
    "WITH x AS (SELECT xpath('/a', '<a/>'::xml) v) SELECT v FROM x",
    "SELECT (SELECT xpath('/a', '<a/>'::xml))",
    "SELECT xml_is_well_formed('<a/>')",
    "SELECT xml_is_well_formed_document('<a/>')",
    "SELECT xml_is_well_formed_content('<a/>')",
    "SELECT count(*) FROM orders WHERE xpath_exists('/a', '<a/>'::xml)",
};

START_TEST(xpath_family_is_refused_by_default) {
    expect_default(xpath_queries[_i], GUARD_UNINTERRUPTIBLE);
}
END_TEST

START_TEST(xpath_family_is_allowed_knowingly) {
    guard_policy policy;
    guard_policy_init(&policy);
    policy.allow_xpath = true;
    expect_code(xpath_queries[_i], &policy, GUARD_OK);
}
END_TEST

START_TEST(xpath_refusal_says_why_and_how_to_allow) {
    guard_result result = guard_check("SELECT xpath('/a', '<a/>'::xml)", NULL);
    ck_assert(!result.allowed);
    ck_assert_str_eq(guard_reason_name(result.code), "uninterruptible");
    ck_assert_str_eq(result.message, "function \"xpath\" is not allowed");
    ck_assert_ptr_nonnull(strstr(result.detail, "statement timeout cannot stop it"));
    ck_assert_ptr_nonnull(strstr(result.hint, "--allow-xpath"));
    ck_assert_int_eq(result.cursor_position, 8);
    guard_result_free(&result);
    result = guard_check("SELECT * FROM XMLTABLE('/r' PASSING '<r/>' COLUMNS a int PATH 'a')", NULL);
    ck_assert_str_eq(result.message, "XMLTABLE is not allowed");
    guard_result_free(&result);
}
END_TEST

START_TEST(a_denied_function_inside_xpath_is_reported_as_denied) {
    expect_default("SELECT xpath('//text()', query_to_xml('DELETE FROM t RETURNING *', true, false, ''))",
                   GUARD_FUNCTION_DENIED);
    guard_policy policy;
    guard_policy_init(&policy);
    policy.allow_xpath = true;
    expect_code("SELECT xpath('//text()', query_to_xml('SELECT 1', true, false, ''))", &policy, GUARD_FUNCTION_DENIED);
    expect_code("SELECT xpath_table('id', 'doc', 't', '/a', 'true')", &policy, GUARD_FUNCTION_DENIED);
}
END_TEST

START_TEST(session_query_texts_are_denied_through_functions) {
    expect_default("SELECT query FROM pg_stat_get_activity(NULL)", GUARD_FUNCTION_DENIED);
    expect_default("SELECT pg_stat_get_backend_activity(1)", GUARD_FUNCTION_DENIED);
    expect_default("SELECT query FROM pg_stat_statements(true)", GUARD_FUNCTION_DENIED);
}
END_TEST

START_TEST(extension_xpath_functions_are_refused_in_any_schema) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = fake_catalog();
    policy.catalog = &catalog;
    expect_code("SELECT public.xpath_string('<a>x</a>', '/a')", &policy, GUARD_UNINTERRUPTIBLE);
    expect_code("SELECT xpath_string('<a>x</a>', '/a')", &policy, GUARD_UNINTERRUPTIBLE);
}
END_TEST

START_TEST(other_xml_functions_stay_allowed) {
    expect_default("SELECT xmlelement(name a, 'x')", GUARD_OK);
    expect_default("SELECT xmlparse(document '<a/>')", GUARD_OK);
    expect_default("SELECT xmlserialize(document '<a/>'::xml AS text)", GUARD_OK);
}
END_TEST

/* ---- catalog views with secret columns ----------------------------------------------- */

static const char *const secret_view_queries[] = {
    "SELECT most_common_vals FROM pg_stats",
    "SELECT histogram_bounds FROM pg_catalog.pg_stats WHERE tablename = 'pg_authid'",
    "SELECT most_common_elems FROM pg_stats",
    "SELECT range_bounds_histogram FROM pg_stats",
    "SELECT s.most_common_vals FROM pg_stats s",
    "SELECT (s).most_common_vals FROM pg_stats s",
    "SELECT * FROM pg_stats",
    "SELECT s.* FROM pg_stats s",
    "TABLE pg_stats",
    "SELECT s FROM pg_stats s",
    "SELECT pg_stats FROM pg_stats",
    "SELECT to_jsonb(s) FROM pg_stats s",
    "SELECT row_to_json(s.*) FROM pg_stats s",
    "SELECT x FROM pg_stats AS s(a, b, c, d, e, f, g, x)",
    "SELECT most_common_vals FROM pg_stats_ext",
    "SELECT * FROM pg_stats_ext",
    "SELECT histogram_bounds FROM pg_stats_ext_exprs",
    "SELECT rolconfig FROM pg_roles",
    "SELECT r.rolconfig FROM pg_roles r",
    "SELECT pg_catalog.pg_roles.rolconfig FROM pg_catalog.pg_roles",
    "SELECT unnest(rolconfig) FROM pg_roles",
    "SELECT * FROM pg_roles",
    "SELECT r FROM pg_roles r",
    "SELECT 1 FROM pg_roles a JOIN pg_roles b USING (rolconfig)",
    "SELECT 1 FROM pg_roles NATURAL JOIN pg_user",
    "SELECT useconfig FROM pg_user",
    "SELECT * FROM pg_user",
    "WITH r AS (SELECT * FROM pg_roles) SELECT rolname FROM r",
    "SELECT (SELECT rolconfig FROM pg_roles LIMIT 1)",
    "SELECT rolname FROM pg_roles WHERE rolconfig IS NOT NULL",
    "SELECT rolname FROM pg_roles ORDER BY rolconfig",
    "SELECT query FROM pg_stat_activity",
    "SELECT * FROM pg_stat_activity",
    "SELECT a FROM pg_stat_activity a",
    "SELECT query FROM pg_stat_statements",
    "SELECT * FROM public.pg_stat_statements",
    "SELECT s FROM extensions.pg_stat_statements s",
};

START_TEST(secret_columns_of_catalog_views_are_refused) {
    expect_default(secret_view_queries[_i], GUARD_RELATION_DENIED);
}
END_TEST

static const char *const harmless_view_queries[] = {
    "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY rolname",
    "SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.rolcanlogin",
    "SELECT count(*) FROM pg_roles",
    "SELECT attname, n_distinct, null_frac FROM pg_stats WHERE schemaname = 'public' AND tablename = 'orders'",
    "SELECT usename FROM pg_user",
    "SELECT statistics_name, n_distinct FROM pg_stats_ext",
    "SELECT pid, usename, state, now() - query_start AS runtime FROM pg_stat_activity WHERE state <> 'idle'",
    "SELECT queryid, calls, total_exec_time FROM public.pg_stat_statements ORDER BY total_exec_time DESC",
    /* A relation of the same name in another schema is the user's own. */
    "SELECT * FROM app.pg_roles",
    /* Star and whole rows are fine when no guarded view is read. */
    "SELECT * FROM orders",
};

START_TEST(harmless_columns_of_catalog_views_stay_allowed) {
    expect_default(harmless_view_queries[_i], GUARD_OK);
}
END_TEST

START_TEST(secret_column_refusal_names_view_and_column) {
    guard_result result = guard_check("SELECT rolname, rolconfig FROM pg_roles", NULL);
    ck_assert(!result.allowed);
    ck_assert_str_eq(result.message, "column \"rolconfig\" of \"pg_roles\" is not allowed");
    ck_assert_ptr_nonnull(strstr(result.hint, "rolname"));
    ck_assert_ptr_null(strstr(result.hint, "pg_stats"));
    guard_result_free(&result);
    result = guard_check("SELECT * FROM pg_stats", NULL);
    ck_assert_str_eq(result.message, "* is not allowed in a query that reads \"pg_stats\"");
    guard_result_free(&result);
}
END_TEST

START_TEST(relation_denial_hint_no_longer_advertises_pg_stats) {
    guard_result result = guard_check("SELECT * FROM pg_statistic", NULL);
    ck_assert(!result.allowed);
    ck_assert_ptr_null(strstr(result.hint, "pg_stats"));
    guard_result_free(&result);
}
END_TEST

/* ---- partitions and inheritance children of denied relations ------------------------- */

START_TEST(denied_relation_is_denied_through_its_children) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = fake_catalog();
    policy.catalog = &catalog;
    const char *const denied[] = {"measurements", "public.legacy_log", NULL};
    policy.denied_relations = denied;
    expect_code("SELECT * FROM measurements", &policy, GUARD_RELATION_DENIED);
    expect_code("SELECT * FROM measurements_2025", &policy, GUARD_RELATION_DENIED);
    expect_code("SELECT count(*) FROM public.measurements_2026 m", &policy, GUARD_RELATION_DENIED);
    expect_code("SELECT * FROM legacy_log_archive", &policy, GUARD_RELATION_DENIED);
    expect_code("SELECT * FROM legacy_log_old", &policy, GUARD_RELATION_DENIED);
    expect_code("SELECT * FROM orders", &policy, GUARD_OK);
    const char *const dotted[] = {"odd.schema.hidden", NULL};
    policy.denied_relations = dotted;
    expect_code("SELECT * FROM dotted_child", &policy, GUARD_RELATION_DENIED);
    policy.denied_relations = denied;

    guard_result result = guard_check("SELECT * FROM legacy_log_old", &policy);
    ck_assert_ptr_nonnull(strstr(result.detail, "inherits from \"public.legacy_log\""));
    guard_result_free(&result);
}
END_TEST

START_TEST(parent_scan_including_a_denied_child_is_denied) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = fake_catalog();
    policy.catalog = &catalog;
    const char *const denied[] = {"legacy_log_old", NULL};
    policy.denied_relations = denied;
    expect_code("SELECT * FROM legacy_log", &policy, GUARD_RELATION_DENIED);
    expect_code("SELECT * FROM legacy_log_archive", &policy, GUARD_RELATION_DENIED);
    /* ONLY reads the parent's own rows. */
    expect_code("SELECT * FROM ONLY legacy_log", &policy, GUARD_OK);
    expect_code("SELECT * FROM ONLY legacy_log_archive", &policy, GUARD_OK);
    guard_result result = guard_check("SELECT * FROM legacy_log", &policy);
    ck_assert_ptr_nonnull(strstr(result.detail, "includes the rows of \"public.legacy_log_old\""));
    guard_result_free(&result);
}
END_TEST

START_TEST(family_without_catalog_callbacks_is_unchanged) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog;
    memset(&catalog, 0, sizeof catalog);
    policy.catalog = &catalog;
    const char *const denied[] = {"measurements", NULL};
    policy.denied_relations = denied;
    expect_code("SELECT * FROM measurements_2025", &policy, GUARD_OK);
    expect_code("SELECT * FROM measurements", &policy, GUARD_RELATION_DENIED);
}
END_TEST

/* ---- hazards: volatile functions reached without being named ------------------------- */

/* Every way the issue names to reach a hazardous = without writing it: all refused because
 * the query reads a hazardous relation, casts to a hazardous type or calls a function that
 * returns one. */
static const char *const hazard_queries[] = {
    "SELECT CASE p WHEN p THEN 1 END FROM points",
    "SELECT 1 FROM points a JOIN points b USING (p)",
    "SELECT 1 FROM points WHERE p IN (SELECT p FROM points)",
    "SELECT DISTINCT p FROM points",
    "SELECT p FROM points GROUP BY p",
    "SELECT p FROM points ORDER BY p",
    "SELECT p FROM points UNION SELECT p FROM points",
    "SELECT ROW(p) = ROW(p) FROM points",
    "SELECT ARRAY[p] = ARRAY[p] FROM points",
    "SELECT count(*) FROM points",
    "SELECT * FROM public.points",
    "SELECT * FROM locking_view",
    "SELECT * FROM policed",
    "SELECT NULL::locking_point",
    "SELECT CAST('(1,2)' AS public.locking_point)",
    "SELECT jsonb_populate_record(NULL::checked_domain, '{}')",
    "SELECT '1'::checked_domain",
    "SELECT make_point() = make_point()",
    "SELECT CASE make_point() WHEN make_point() THEN 1 END",
    "SELECT * FROM make_point()",
};

START_TEST(hazards_from_the_catalog_are_refused) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = fake_catalog();
    policy.catalog = &catalog;
    global_hazard_text = NULL;
    expect_code(hazard_queries[_i], &policy, GUARD_HIDDEN_FUNCTION);
}
END_TEST

START_TEST(objects_without_hazards_stay_allowed) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = fake_catalog();
    policy.catalog = &catalog;
    global_hazard_text = NULL;
    expect_code("SELECT DISTINCT customer_id FROM orders ORDER BY 1", &policy, GUARD_OK);
    expect_code("SELECT NULL::plain_point", &policy, GUARD_OK);
    expect_code("SELECT CASE 1 WHEN 1 THEN 2 END", &policy, GUARD_OK);
}
END_TEST

START_TEST(hazard_refusal_names_object_and_reason) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = fake_catalog();
    policy.catalog = &catalog;
    global_hazard_text = NULL;
    guard_result result = guard_check("SELECT 1 FROM points a JOIN points b USING (p)", &policy);
    ck_assert(!result.allowed);
    ck_assert_str_eq(guard_reason_name(result.code), "hidden_function");
    ck_assert_str_eq(result.message, "relation \"points\" can run a volatile function without naming it");
    ck_assert_str_eq(result.detail, "column p has type locking_point, whose = operator calls lock_me");
    guard_result_free(&result);
}
END_TEST

/* pg_input_is_valid and pg_input_error_info (PostgreSQL 16) run the input function, and a
 * domain's CHECK, of a type named in a string: the string is read as a type and judged as a
 * written cast would be. */
START_TEST(types_named_in_strings_are_judged) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = fake_catalog();
    policy.catalog = &catalog;
    policy.server_version = 18;
    global_hazard_text = NULL;
    expect_code("SELECT pg_input_is_valid('x', 'checked_domain')", &policy, GUARD_HIDDEN_FUNCTION);
    expect_code("SELECT pg_input_error_info('x', 'public.locking_point')", &policy, GUARD_HIDDEN_FUNCTION);
    expect_code("SELECT pg_catalog.pg_input_is_valid('{x}', 'checked_domain[]')", &policy, GUARD_HIDDEN_FUNCTION);
    expect_code("SELECT pg_input_is_valid('x', ' \"checked_domain\" ')", &policy, GUARD_HIDDEN_FUNCTION);
    expect_code("SELECT pg_input_is_valid('x', t) FROM (VALUES ('int')) v(t)", &policy, GUARD_TYPE_NOT_ALLOWED);
    expect_code("SELECT pg_input_is_valid('x', NULL)", &policy, GUARD_TYPE_NOT_ALLOWED);
    expect_code("SELECT pg_input_is_valid('x')", &policy, GUARD_TYPE_NOT_ALLOWED);
    expect_code("SELECT pg_input_is_valid('x', 'int); SELECT 1; --')", &policy, GUARD_TYPE_NOT_ALLOWED);
    expect_code("SELECT pg_input_is_valid('x', 'no_such_type')", &policy, GUARD_TYPE_NOT_ALLOWED);
    expect_code("SELECT pg_input_is_valid('1', 'integer')", &policy, GUARD_OK);
    expect_code("SELECT pg_input_is_valid('1', 'numeric(10,2)[]')", &policy, GUARD_OK);
    expect_code("SELECT pg_input_error_info('1', 'plain_point')", &policy, GUARD_OK);
    /* The position is the call's, not one inside the string. */
    guard_result result = guard_check("SELECT 1, pg_input_is_valid('x', 'checked_domain')", &policy);
    ck_assert(!result.allowed);
    ck_assert_int_eq(result.cursor_position, 11); /* 1-based: the p of pg_input_is_valid */
    guard_result_free(&result);
}
END_TEST

/* Crossed series the planner cannot size (numeric, timestamp; it takes each for 1000 rows)
 * are counted by the guard; integer ones are left to the planner's estimate. */
START_TEST(crossed_series_are_counted) {
    static const char *const refused[] = {
        "SELECT count(*) FROM generate_series(1, 1e5) a, generate_series(1, 1e5) b",
        "SELECT count(*) FROM generate_series(1, 1e5) a CROSS JOIN generate_series(1, 100000) b",
        "SELECT max(a) FROM generate_series(1, 1e5) a JOIN generate_series(1, 1e5) b ON true",
        "SELECT a FROM generate_series(1, 1e5) a, generate_series(1, 1e5) b ORDER BY 1 LIMIT 5",
        "SELECT a FROM generate_series(1, 1e5) a, generate_series(1, 1e5) b",
        "SELECT (SELECT count(*) FROM generate_series(1, 1e4) a, generate_series(1, 1e4) b, generate_series(1, 1e2) c)",
    };
    static const char *const allowed[] = {
        "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b", /* the planner's */
        "SELECT count(*) FROM generate_series(1, 1e5) a, generate_series(1, 1e5) b WHERE a = b",
        "SELECT count(*) FROM generate_series(1, 1e5) a JOIN generate_series(1, 1e5) b ON a = b",
        "SELECT count(*) FROM generate_series(1, 1e4) a, generate_series(1, 1e4) b",
        "SELECT a, b FROM generate_series(1, 1e5) a, generate_series(1, 1e5) b LIMIT 3",
        "SELECT count(*) FROM generate_series(1, 1e5) a, orders",
    };
    for (size_t i = 0; i < ARRAY_LENGTH(refused); i++)
        expect_default(refused[i], GUARD_TOO_COSTLY);
    for (size_t i = 0; i < ARRAY_LENGTH(allowed); i++)
        expect_default(allowed[i], GUARD_OK);
}
END_TEST

START_TEST(global_hazard_refuses_every_query) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = fake_catalog();
    policy.catalog = &catalog;
    global_hazard_text = "an implicit cast from integer to text calls volatile function lock_me";
    expect_code("SELECT 1", &policy, GUARD_HIDDEN_FUNCTION);
    guard_result result = guard_check("SELECT 1", &policy);
    ck_assert_str_eq(result.detail, global_hazard_text);
    guard_result_free(&result);
    global_hazard_text = NULL;
    expect_code("SELECT 1", &policy, GUARD_OK);
}
END_TEST

/* ---- values too large to build -------------------------------------------------------- */

static const char *const oversized_queries[] = {
    "SELECT repeat(repeat(repeat('x', 1000), 1000), 1000)",
    "SELECT repeat(md5('a'), 10000000)",
    "SELECT repeat('x', 1000000000)",
    "SELECT repeat('x', 1e9::int)",
    "SELECT repeat('x', 1000 * 1000 * 1000)",
    "SELECT repeat('x', (10 ^ 9)::int)",
    "SELECT repeat('x', power(10, 9)::int)",
    "SELECT repeat('x', (SELECT 1000000000))",
    "SELECT repeat('x', '1000000000'::int)",
    "SELECT repeat('x', greatest(1, 500000000))",
    "SELECT repeat('x', -(-1000000000))",
    "SELECT repeat('x', 1 << 30)",
    "SELECT lpad('', 500000000, 'ab')",
    "SELECT rpad('x', 400000000)",
    "SELECT upper(repeat('x', 100000000))",
    "SELECT repeat(upper(repeat('x', 100000)), 10000)",
    "SELECT repeat(btrim(repeat('x', 100000)), 10000)",
    "SELECT repeat(CASE WHEN true THEN repeat('x', 100000) END, 10000)",
    "SELECT repeat((SELECT repeat('x', 100000)), 10000)",
    "SELECT repeat(s, 10000) FROM (SELECT repeat('x', 100000) AS s) t",
    "SELECT repeat(repeat('x', id), 1000000) FROM orders",
    "SELECT repeat(repeat('x', 1000), id) FROM orders",
    "SELECT string_agg(g::text, ',') FROM generate_series(1, 100000000) g",
    "SELECT array_agg(g) FROM generate_series(1, 1e9) g",
    "SELECT jsonb_agg(g) FROM generate_series(1, 50000000) g",
    "SELECT string_agg(repeat('x', 1000), '') FROM generate_series(1, 100000)",
    "SELECT count(*), array_agg(a) FROM generate_series(1, 10000) a, generate_series(1, 10000) b",
    "SELECT string_agg(repeat('x', 100000), '') FROM orders",
    "SELECT array(SELECT generate_series(1, 100000000))",
    "SELECT array(SELECT g FROM generate_series(1, 100000000) g)",
    "SELECT array_fill(0, ARRAY[100000, 1000])",
    "SELECT format('%1000000000s', 'x')",
    "SELECT format('%-1000000000s|', 'x')",
    "SELECT format('%*s', 900000000, 'x')",
    "SELECT replace(repeat('a', 100000), 'a', repeat('b', 10000))",
    "SELECT repeat('ab', 10000000) || repeat('cd', 10000000)",
    "SELECT concat(repeat('ab', 5000000), repeat('cd', 5000000))",
    "SELECT ARRAY[repeat('a', 10000000), repeat('b', 10000000)]",
    "SELECT repeat('x', 200000000) a, repeat('y', 200000000) b",
    "SELECT 1 WHERE length(repeat('x', 100000000)) > 0",
    /* Sizes that are not constants cannot be bounded, whatever feeds them. */
    "SELECT repeat('*', (count(*) / 10)::int) FROM orders GROUP BY customer_id",
    "SELECT repeat('x', n) FROM (SELECT 1000000000 AS n) t",
    "SELECT repeat('x', g) FROM generate_series(1000000000, 1000000000) g",
    "SELECT lpad('x', n) FROM (VALUES (500000000)) v(n)",
    "SELECT format('%*s', n, 'x') FROM (SELECT 900000000 n) t",
    "SELECT array_fill(0, ARRAY[n]) FROM (SELECT 100000000 n) t",
    /* Values fed through a subquery's column are bounded by what the statement builds. */
    "SELECT repeat(s, 100000) FROM (SELECT repeat('x', 16000) s) t",
    "SELECT repeat(s, 100000) FROM (SELECT lpad('', 5000, 'x') s) t",
    "WITH c AS (SELECT repeat('ab', 8000) s) SELECT repeat(s, 10000) FROM c",
    "SELECT repeat(btrim(repeat('x', 16000)), 10000)",
    "SELECT replace(s, 'a', repeat('b', 10000)) FROM (SELECT repeat('a', 10000) s) t",
    /* Aggregates may collect a built value over rows nobody counted. */
    "SELECT string_agg(s, '') FROM (SELECT repeat('x', 16000) s FROM generate_series(1, 100000)) t",
    "SELECT array_agg(s) FROM (SELECT repeat('x', 2000) s FROM orders a, orders b) t",
    "SELECT array(SELECT repeat('x', 10000) FROM generate_series(1, 100000))",
};

START_TEST(values_beyond_the_bound_are_refused) {
    expect_default(oversized_queries[_i], GUARD_VALUE_TOO_LARGE);
}
END_TEST

static const char *const modest_queries[] = {
    "SELECT repeat('-', 80)",
    "SELECT lpad(id::text, 8, '0') FROM orders",
    "SELECT rpad(name, 20) FROM customers",
    "SELECT lpad(a::text, 5, '0'), lpad(b::text, 5, '0') FROM t",
    "SELECT repeat(name, 3) FROM customers",
    "SELECT string_agg(name, ', ') FROM customers",
    "SELECT array_agg(g) FROM generate_series(1, 1000) g",
    "SELECT string_agg(g::text, ',') FROM generate_series(1, 100000000) g WHERE g < 10",
    "SELECT count(*) FROM generate_series(1, 100000000)",
    "SELECT format('%10s|%-10s|', 'a', 'b')",
    "SELECT replace(name, 'a', 'b') FROM customers",
    "SELECT lpad('', 1000000000, '')",
    "SELECT repeat('x', 0)",
    "SELECT repeat(md5(name), 3) FROM customers",
    "SELECT array_fill(0, ARRAY[3, 3])",
    "SELECT string_agg(name, ', ') FROM customers WHERE city = 'Paris'",
    "SELECT lpad(id::text, 8, '0'), repeat('-', 10) FROM orders",
    "SELECT repeat(s, 3) FROM (SELECT 'abc' s) t",
    "SELECT array(SELECT generate_series(1, 100))",
};

START_TEST(modest_values_stay_allowed) {
    expect_default(modest_queries[_i], GUARD_OK);
}
END_TEST

/* Powers in a size are folded without libm: whole exponents exactly as PostgreSQL computes
 * them, anything else is no known constant and so refused (fail closed). */
START_TEST(powers_in_a_size_are_folded_exactly_or_refused) {
    expect_default("SELECT repeat('x', (2 ^ 10)::int)", GUARD_OK);
    expect_default("SELECT repeat('x', power(10, 3)::int)", GUARD_OK);
    expect_default("SELECT repeat('x', (2 ^ 22)::int + 1)", GUARD_VALUE_TOO_LARGE); /* 4 MiB + 1 */
    expect_default("SELECT repeat('x', (10 ^ 9)::int)", GUARD_VALUE_TOO_LARGE);
    expect_default("SELECT repeat('x', power(10, 9)::int)", GUARD_VALUE_TOO_LARGE);
    expect_default("SELECT repeat('x', power(4, 0.5)::int)", GUARD_VALUE_TOO_LARGE);
    expect_default("SELECT repeat('x', power(2, 100000)::int)", GUARD_VALUE_TOO_LARGE);
}
END_TEST

START_TEST(max_value_bytes_is_configurable) {
    guard_policy policy;
    guard_policy_init(&policy);
    ck_assert_uint_eq(policy.max_value_bytes, 4 * 1024 * 1024);
    policy.max_value_bytes = 1000;
    expect_code("SELECT repeat('x', 1000)", &policy, GUARD_OK);
    expect_code("SELECT repeat('x', 1001)", &policy, GUARD_VALUE_TOO_LARGE);
    policy.max_value_bytes = 2000000000;
    expect_code("SELECT repeat('x', 1000000000)", &policy, GUARD_OK);
    policy.max_value_bytes = 0; /* zero means the default */
    expect_code("SELECT repeat('x', 4194304)", &policy, GUARD_OK);
    expect_code("SELECT repeat('x', 4194305)", &policy, GUARD_VALUE_TOO_LARGE);
}
END_TEST

START_TEST(size_refusal_names_the_size_and_the_way_out) {
    guard_result result = guard_check("SELECT repeat(repeat(repeat('x', 1000), 1000), 1000)", NULL);
    ck_assert(!result.allowed);
    ck_assert_str_eq(guard_reason_name(result.code), "value_too_large");
    ck_assert_str_eq(result.message, "the value built by repeat would take at least 1000000000 bytes");
    ck_assert_ptr_nonnull(strstr(result.detail, "4194304 bytes"));
    ck_assert_ptr_nonnull(strstr(result.hint, "lower the count"));
    ck_assert_int_eq(result.cursor_position, 8);
    guard_result_free(&result);
}
END_TEST

/* ---- keywords of newer grammars ------------------------------------------------------- */

START_TEST(system_user_is_refused_unless_qualified) {
    expect_default("SELECT system_user", GUARD_CONSTRUCT_NOT_ALLOWED);
    expect_default("SELECT system_user AS who", GUARD_CONSTRUCT_NOT_ALLOWED);
    expect_default("SELECT 1 WHERE system_user LIKE 'scram%'", GUARD_CONSTRUCT_NOT_ALLOWED);
    expect_default("SELECT \"system_user\" FROM t", GUARD_CONSTRUCT_NOT_ALLOWED);
    expect_default("SELECT t.system_user FROM t", GUARD_OK);
    expect_default("SELECT current_user, session_user", GUARD_OK);
}
END_TEST

START_TEST(sql_json_keywords_are_refused_even_when_the_catalog_knows_the_name) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = fake_catalog();
    policy.catalog = &catalog;
    global_hazard_text = NULL;
    expect_code("SELECT json_query('{}', '$')", &policy, GUARD_CONSTRUCT_NOT_ALLOWED);
    expect_code("SELECT * FROM json_table('{}', '$')", &policy, GUARD_CONSTRUCT_NOT_ALLOWED);
    expect_code("SELECT public.json_query('{}', '$')", &policy, GUARD_OK);
    /* json_object keeps its PostgreSQL 15 meaning for the old argument forms. */
    expect_code("SELECT json_object('{a,1}')", &policy, GUARD_OK);
}
END_TEST

/* ---- --deny-function through operators and casts ------------------------------------ */

/* A catalog with a user operator === over secret_eq (stable, so the volatility rules pass
 * it), a user type money_code whose cast from text runs public.code_in, and a cast users
 * added to integer (pg_catalog.int4) running public.to_int. */
static const guard_function_name triple_equals[] = {{"public", "secret_eq", NULL}, {NULL, NULL, NULL}};
static const guard_function_name money_code_casts[] = {
    {"public", "code_in", NULL}, {"public", "code_from_int", NULL}, {NULL, NULL, NULL}};
static const guard_function_name int4_casts[] = {{"public", "to_int", NULL}, {NULL, NULL, NULL}};

static const guard_function_name *fake_operator_functions(void *context, const char *schema, const char *name) {
    (void)context;
    bool visible = schema == NULL || strcmp(schema, "public") == 0;
    return visible && strcmp(name, "===") == 0 ? triple_equals : NULL;
}

static const guard_function_name *fake_cast_functions(void *context, const char *schema, const char *name) {
    (void)context;
    if (strcmp(name, "money_code") == 0 && (schema == NULL || strcmp(schema, "public") == 0))
        return money_code_casts;
    if (strcmp(name, "int4") == 0 && (schema == NULL || strcmp(schema, "pg_catalog") == 0))
        return int4_casts;
    return NULL;
}

static guard_volatility fake_stable(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    return strcmp(name, "===") == 0 || strcmp(name, "money_code") == 0 ? GUARD_VOLATILITY_STABLE
                                                                       : GUARD_VOLATILITY_UNKNOWN;
}

static guard_catalog calls_catalog(void) {
    guard_catalog catalog;
    memset(&catalog, 0, sizeof catalog);
    catalog.operator_volatility = fake_stable;
    catalog.type_volatility = fake_stable;
    catalog.operator_functions = fake_operator_functions;
    catalog.cast_functions = fake_cast_functions;
    return catalog;
}

typedef struct denied_call {
    const char *deny;     /* the --deny-function entry */
    const char *sql;      /* refused with it, allowed without */
    const char *function; /* named in the message */
} denied_call;

static const denied_call denied_calls[] = {
    {"secret_eq", "SELECT 1 WHERE 'a' === 'b'", "public.secret_eq"},
    {"public.secret_eq", "SELECT 1 WHERE 'a' === 'b'", "public.secret_eq"},
    {"secret_eq", "SELECT 1 WHERE 'a' OPERATOR(public.===) 'b'", "public.secret_eq"},
    {"secret_eq", "SELECT 1 WHERE 'a' === ANY (ARRAY['b'])", "public.secret_eq"},
    {"secret_eq", "SELECT 1 WHERE 'a' = ANY (SELECT 'b') OR 'c' === 'd'", "public.secret_eq"},
    {"code_in", "SELECT 'x'::money_code", "public.code_in"},
    {"code_in", "SELECT CAST('x' AS public.money_code)", "public.code_in"},
    {"code_from_int", "SELECT 1::money_code", "public.code_from_int"},
    {"to_int", "SELECT 1.5::integer", "public.to_int"},
    {"public.to_int", "SELECT '7'::int4", "public.to_int"},
    /* Built-in operators and casts: every overload of the name. */
    {"textcat", "SELECT 'a' || 'b'", "pg_catalog.textcat"},
    {"pg_catalog.textcat", "SELECT name || '!' FROM customers", "pg_catalog.textcat"},
    {"int4pl", "SELECT 1 + 2", "pg_catalog.int4pl"},
    {"texteq", "SELECT 1 FROM customers WHERE name = 'x'", "pg_catalog.texteq"},
    {"textlike", "SELECT 1 FROM customers WHERE name LIKE 'x%'", "pg_catalog.textlike"},
    {"int4", "SELECT 1.5::int", "pg_catalog.int4"},
    {"date_in", "SELECT date '2020-01-01'", "pg_catalog.date_in"},
    {"numeric", "SELECT CAST(1 AS numeric)", "pg_catalog.numeric"},
};

START_TEST(denied_function_is_refused_through_its_operator_or_cast) {
    const denied_call *each = &denied_calls[_i];
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = calls_catalog();
    policy.catalog = &catalog;
    expect_code(each->sql, &policy, GUARD_OK); /* the control: allowed without the entry */
    const char *const denied[] = {each->deny, NULL};
    policy.denied_functions = denied;
    guard_result result = guard_check(each->sql, &policy);
    ck_assert_msg(!result.allowed && result.code == GUARD_FUNCTION_DENIED, "%s with --deny-function %s: %s", each->sql,
                  each->deny, result.allowed ? "allowed" : guard_reason_name(result.code));
    char *quoted = NULL;
    ck_assert_int_gt(asprintf(&quoted, "function \"%s\"", each->function), 0);
    ck_assert_msg(strstr(result.message, quoted) != NULL, "%s: %s", each->sql, result.message);
    ck_assert_ptr_nonnull(strstr(result.hint, "write the query without"));
    free(quoted);
    guard_result_free(&result);
}
END_TEST

START_TEST(other_schemas_and_other_functions_stay_allowed) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = calls_catalog();
    policy.catalog = &catalog;
    const char *const denied[] = {"other.secret_eq", "other.textcat", "nosuch", NULL};
    policy.denied_functions = denied;
    expect_code("SELECT 1 WHERE 'a' === 'b'", &policy, GUARD_OK);
    expect_code("SELECT 'a' || 'b', 1::int, 'x'::money_code", &policy, GUARD_OK);
    expect_code("SELECT 1 WHERE 'a' OPERATOR(other.===) 'b'", &policy, GUARD_OK); /* another schema's === */
}
END_TEST

START_TEST(operator_refusal_names_operator_function_and_fix) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = calls_catalog();
    policy.catalog = &catalog;
    const char *const denied[] = {"secret_eq", NULL};
    policy.denied_functions = denied;
    guard_result result = guard_check("SELECT 1 WHERE 'a' === 'b'", &policy);
    ck_assert_str_eq(result.message, "operator === calls function \"public.secret_eq\", which is not allowed");
    ck_assert_str_eq(result.detail, "it is on this server's configured deny list");
    ck_assert_str_eq(result.hint, "write the query without operator ===, which runs a function that is not allowed; "
                                  "ask the operator if you need it");
    ck_assert_int_eq(result.cursor_position, 20);
    guard_result_free(&result);
}
END_TEST

/* The built-in deny list and the XPath family apply to what operators and casts call too: a
 * user operator over current_setting()'s siblings or over xpath is no way around them. */
static const guard_function_name xpath_operator[] = {{"pg_catalog", "xpath", NULL}, {NULL, NULL, NULL}};
static const guard_function_name advisory_operator[] = {{"pg_catalog", "pg_advisory_lock", NULL}, {NULL, NULL, NULL}};

static const guard_function_name *fake_builtin_backed(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    return strcmp(name, "#?") == 0 ? xpath_operator : strcmp(name, "#!") == 0 ? advisory_operator : NULL;
}

static guard_volatility fake_immutable(void *context, const char *schema, const char *name) {
    (void)context, (void)schema, (void)name;
    return GUARD_VOLATILITY_IMMUTABLE;
}

START_TEST(builtin_deny_list_and_xpath_reach_through_user_operators) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog;
    memset(&catalog, 0, sizeof catalog);
    catalog.operator_volatility = fake_immutable;
    catalog.operator_functions = fake_builtin_backed;
    policy.catalog = &catalog;
    expect_code("SELECT 1 WHERE '/a' #? '<a/>'::xml IS NOT NULL", &policy, GUARD_UNINTERRUPTIBLE);
    expect_code("SELECT #! 1", &policy, GUARD_FUNCTION_DENIED);
    policy.allow_xpath = true;
    expect_code("SELECT 1 WHERE '/a' #? '<a/>'::xml IS NOT NULL", &policy, GUARD_OK);
}
END_TEST

/* ---- --deny-function over what PostgreSQL runs without a name ---------------------- */

/* A catalog as the server loads it: type score's = operator runs public.score_eq (stable, so
 * no hazard), table scores has a score column, best_score() returns a score, view lockv
 * calls pg_try_advisory_lock and view xview xpath; texteq and int4out are built-ins that
 * PostgreSQL calls implicitly. The global list is set per test. */
static const guard_function_name score_type_uses[] = {
    {"public", "score_eq", "its = operator calls score_eq(score,score)"}, {NULL, NULL, NULL}};
static const guard_function_name scores_uses[] = {
    {"public", "other_fn", "column t has type tag, where its input function calls other_fn(cstring)"},
    {"public", "score_eq", "column s has type score, where its = operator calls score_eq(score,score)"},
    {NULL, NULL, NULL}};
static const guard_function_name best_score_uses[] = {
    {"public", "score_eq", "it returns or takes type score, where its = operator calls score_eq(score,score)"},
    {NULL, NULL, NULL}};
static const guard_function_name lockv_uses[] = {
    {"pg_catalog", "pg_try_advisory_lock", "its definition calls pg_try_advisory_lock(bigint)"}, {NULL, NULL, NULL}};
static const guard_function_name xview_uses[] = {{"pg_catalog", "xpath", "its definition calls xpath(text,xml)"},
                                                 {NULL, NULL, NULL}};
static const guard_function_name texteq_use[] = {{"pg_catalog", "texteq", "to compare values of a built-in type"},
                                                 {NULL, NULL, NULL}};
static const guard_function_name int4out_use[] = {
    {"pg_catalog", "int4out", "to read or print values of a built-in type"}, {NULL, NULL, NULL}};
static const guard_function_name global_cast[] = {
    {"public", "int_to_text", "type integer: its implicit cast integer -> text calls int_to_text(integer)"},
    {NULL, NULL, NULL}};
static const guard_function_name *global_uses;

static bool named(const char *schema, const char *name, const char *want_schema, const char *want_name) {
    return strcmp(name, want_name) == 0 && (schema == NULL || strcmp(schema, want_schema) == 0);
}

static const guard_function_name *fake_implicit(void *context, char kind, const char *schema, const char *name) {
    (void)context;
    switch (kind) {
    case 't': return named(schema, name, "public", "score") ? score_type_uses : NULL;
    case 'r':
        return named(schema, name, "public", "scores")  ? scores_uses
               : named(schema, name, "public", "lockv") ? lockv_uses
               : named(schema, name, "public", "xview") ? xview_uses
                                                        : NULL;
    case 'f': return named(schema, name, "public", "best_score") ? best_score_uses : NULL;
    case 'g': return global_uses;
    case 'b': return strcmp(name, "texteq") == 0 ? texteq_use : strcmp(name, "int4out") == 0 ? int4out_use : NULL;
    default: return NULL;
    }
}

static guard_volatility fake_score_volatility(void *context, const char *schema, const char *name) {
    (void)context, (void)schema;
    return strcmp(name, "score") == 0 || strcmp(name, "best_score") == 0 ? GUARD_VOLATILITY_STABLE
                                                                         : GUARD_VOLATILITY_UNKNOWN;
}

static guard_catalog implicit_catalog(void) {
    guard_catalog catalog;
    memset(&catalog, 0, sizeof catalog);
    catalog.type_volatility = fake_score_volatility;
    catalog.function_volatility = fake_score_volatility;
    catalog.implicit_functions = fake_implicit;
    global_uses = NULL;
    return catalog;
}

/* Each calls score_eq only through a comparison, sort, hash or output the query never names. */
static const char *const implicit_queries[] = {
    "SELECT CASE s WHEN s THEN 1 END FROM scores",
    "SELECT a.id FROM scores a JOIN scores b USING (s)",
    "SELECT a.id FROM scores a NATURAL JOIN scores b",
    "SELECT id FROM scores WHERE s IN (SELECT s FROM scores)",
    "SELECT DISTINCT s FROM scores",
    "SELECT s FROM scores GROUP BY s",
    "SELECT id FROM scores ORDER BY s",
    "SELECT s FROM scores UNION SELECT s FROM scores",
    "SELECT s FROM scores INTERSECT SELECT s FROM scores",
    "SELECT ROW(s, 1) = ROW(s, 1) FROM scores",
    "SELECT id FROM public.scores",
    "SELECT 1 WHERE NULL::score = ANY (ARRAY[NULL::score])",
    "SELECT 1 WHERE NULL::public.score IS NOT DISTINCT FROM NULL",
    "SELECT count(DISTINCT best_score()) ",
    "WITH x AS (SELECT id FROM scores) SELECT id FROM x",
};

START_TEST(denied_function_reached_without_a_name_is_refused) {
    const char *sql = implicit_queries[_i];
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = implicit_catalog();
    policy.catalog = &catalog;
    expect_code(sql, &policy, GUARD_OK); /* the control */
    const char *const other[] = {"other.score_eq", "score_eqx", NULL};
    policy.denied_functions = other;
    expect_code(sql, &policy, GUARD_OK);
    for (int form = 0; form < 2; form++) {
        const char *const denied[] = {form == 0 ? "score_eq" : "public.score_eq", NULL};
        policy.denied_functions = denied;
        guard_result result = guard_check(sql, &policy);
        ck_assert_msg(!result.allowed && result.code == GUARD_FUNCTION_DENIED, "%s: %s", sql,
                      result.allowed ? "allowed" : result.message);
        ck_assert_msg(strstr(result.message, "can run function \"public.score_eq\", which is not allowed, without "
                                             "naming it") != NULL,
                      "%s: %s", sql, result.message);
        ck_assert_msg(strstr(result.detail, "= operator calls score_eq(score,score)") != NULL, "%s", result.detail);
        ck_assert_ptr_nonnull(strstr(result.hint, "out of the query"));
        guard_result_free(&result);
    }
}
END_TEST

START_TEST(implicit_refusal_names_relation_function_type_and_fix) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = implicit_catalog();
    policy.catalog = &catalog;
    const char *const denied[] = {"score_eq", NULL};
    policy.denied_functions = denied;
    guard_result result = guard_check("SELECT id FROM scores ORDER BY s", &policy);
    ck_assert_str_eq(
        result.message,
        "relation \"scores\" can run function \"public.score_eq\", which is not allowed, without naming it");
    ck_assert_str_eq(result.detail, "column s has type score, where its = operator calls score_eq(score,score); the "
                                    "function is on this server's configured deny list");
    ck_assert_str_eq(result.hint, "leave relation \"scores\" out of the query: PostgreSQL runs the function for it "
                                  "without the query naming it (comparing, sorting, grouping, casting or printing its "
                                  "values); if the function is harmless, the operator can remove it from the deny "
                                  "list");
    ck_assert_int_eq(result.cursor_position, 16);
    guard_result_free(&result);
}
END_TEST

START_TEST(built_in_deny_list_reaches_views_and_xpath_too) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = implicit_catalog();
    policy.catalog = &catalog;
    guard_result result = guard_check("SELECT * FROM lockv", &policy);
    ck_assert_int_eq(result.code, GUARD_FUNCTION_DENIED);
    ck_assert_str_eq(result.message, "relation \"lockv\" can run function \"pg_catalog.pg_try_advisory_lock\", which "
                                     "is not allowed, without naming it");
    ck_assert_ptr_nonnull(strstr(result.detail, "takes advisory locks"));
    guard_result_free(&result);
    expect_code("SELECT * FROM xview", &policy, GUARD_UNINTERRUPTIBLE);
    policy.allow_xpath = true;
    expect_code("SELECT * FROM xview", &policy, GUARD_OK);
}
END_TEST

START_TEST(global_implicit_links_refuse_every_query_when_denied) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = implicit_catalog();
    policy.catalog = &catalog;
    global_uses = global_cast;
    expect_code("SELECT 1", &policy, GUARD_OK);
    const char *const denied[] = {"int_to_text", NULL};
    policy.denied_functions = denied;
    guard_result result = guard_check("SELECT 1", &policy);
    ck_assert_int_eq(result.code, GUARD_FUNCTION_DENIED);
    ck_assert_str_eq(result.message,
                     "the database can run function \"public.int_to_text\", which is not allowed, inside any query");
    ck_assert_ptr_nonnull(strstr(result.detail, "implicit cast integer -> text"));
    guard_result_free(&result);
}
END_TEST

/* A denied built-in that PostgreSQL calls for built-in types: every query is refused, with
 * the catalog's list and, offline, the built-in table's. */
START_TEST(denied_implicitly_called_built_in_refuses_every_query) {
    guard_policy policy;
    guard_policy_init(&policy);
    guard_catalog catalog = implicit_catalog();
    policy.catalog = &catalog;
    static const char *const entries[] = {"texteq", "pg_catalog.texteq", "int4out"};
    for (size_t i = 0; i < sizeof entries / sizeof *entries; i++) {
        const char *const denied[] = {"upper", entries[i], NULL};
        policy.denied_functions = denied;
        guard_result result = guard_check("SELECT 1", &policy);
        ck_assert_msg(result.code == GUARD_FUNCTION_DENIED, "%s", entries[i]);
        ck_assert_ptr_nonnull(strstr(result.message, "which any query may run without naming it"));
        ck_assert_ptr_nonnull(strstr(result.detail, "of a built-in type"));
        ck_assert_ptr_nonnull(strstr(result.hint, entries[i]));
        guard_result_free(&result);
    }
    const char *const other_schema[] = {"public.texteq", "upper", NULL};
    policy.denied_functions = other_schema;
    expect_code("SELECT 1", &policy, GUARD_OK);
    /* Offline: the built-in table's comparison operators, casts and input functions. */
    policy.catalog = NULL;
    static const char *const offline[] = {"texteq", "int4lt", "int4", "date_in", "numeric"};
    for (size_t i = 0; i < sizeof offline / sizeof *offline; i++) {
        const char *const denied[] = {offline[i], NULL};
        policy.denied_functions = denied;
        expect_code("SELECT 1", &policy, GUARD_FUNCTION_DENIED);
    }
    const char *const harmless[] = {"upper", "textcat", "int4pl", NULL};
    policy.denied_functions = harmless;
    expect_code("SELECT 1", &policy, GUARD_OK);
}
END_TEST

/* ---- series counted from constants: beyond max_plan_rows before they run ----------- */

/* PostgreSQL 15's planner estimates 1000 rows for a numeric or timestamp series, so the
 * cost guard cannot see these; each is more than 1e9 rows. */
static const char *const runaway_series[] = {
    "SELECT generate_series(1, 1e11)",
    "SELECT count(*) FROM generate_series(1, 1e11)",
    "SELECT count(*) FROM generate_series(1, 100000000000)",
    "SELECT * FROM generate_series(1::bigint, 5000000000::bigint) g",
    "SELECT sum(g) FROM generate_series(1, 2147483647) g",
    "SELECT x FROM (SELECT max(g) FROM generate_series(1.5, 1e10 + 0.5) g) s(x)",
    "SELECT 1 WHERE 5 IN (SELECT generate_series(1, 1e12))",
    "WITH s AS (SELECT generate_series(1, 10 ^ 10) g) SELECT count(*) FROM s",
    "SELECT count(*) FROM generate_series(1e11, 1, -1)",
    "SELECT count(*) FROM generate_series(-1e11, 0)",
    "SELECT generate_series(1, 2, 1e-9)",
    "SELECT generate_series(0, 1, 0.0000000001)",
    "SELECT count(*) FROM ROWS FROM (generate_series(1, 1e10), generate_series(1, 2)) r",
    "SELECT count(*) FROM generate_series(1, power(10, 10)::bigint)",
    "SELECT count(*) FROM pg_catalog.generate_series(1, 1e11)",
    "SELECT count(*) FROM generate_series('2000-01-01'::timestamp, '2100-01-01', '1 second')",
    "SELECT count(*) FROM generate_series(timestamp '2000-01-01', timestamp '2001-01-01', interval '1 ms')",
    "SELECT count(*) FROM generate_series('2000-01-01'::timestamptz, '2000-01-02'::timestamptz, '1 microsecond')",
    "SELECT count(*) FROM generate_series('2000-01-01'::date, '3000-01-01'::date, '10 seconds'::interval)",
    "SELECT count(*) FROM generate_series(now(), now() + interval '100 years', '1 second')",
    "SELECT count(*) FROM generate_series(now(), now() - interval '100 years', interval '-1 second')",
    "SELECT count(*) FROM generate_series(current_date, current_date + 40000, '1 second')",
    "SELECT count(*) FROM generate_series(now(), 'infinity', '1 day')",
    "SELECT count(*) FROM generate_series(localtimestamp, localtimestamp + '50 years', interval '1' second)",
    "SELECT count(*) FROM generate_series(now(), now() + '1 day', '1 ms'::interval / 1000)",
    "SELECT count(*) FROM generate_series(now(), now() + '1 day', 0.00001 * interval '1 second')",
    "SELECT count(*) FROM generate_series('2000-01-01 00:00:00', '2000-01-01 00:00:00'::timestamp + '12 days', "
    "'00:00:00.001')",
};

START_TEST(runaway_series_are_refused_as_too_costly) {
    expect_default(runaway_series[_i], GUARD_TOO_COSTLY);
}
END_TEST

static const char *const bounded_series[] = {
    "SELECT generate_series(1, 1e9)",
    "SELECT count(*) FROM generate_series(1, 1000000000)",
    "SELECT generate_series(1, 2, 1e-8)",
    "SELECT * FROM generate_series(1e11, 1) g",
    "SELECT count(*) FROM generate_series('2000-01-01'::timestamp, '2100-01-01', '1 hour')",
    "SELECT count(*) FROM generate_series(now(), now() + interval '30 years', '1 second')",
    "SELECT * FROM generate_series(now(), now() - interval '1 day', interval '1 second')",
    "SELECT generate_series(1, n) FROM (SELECT 5 n) t",
    "SELECT generate_series(min(id), max(id)) FROM orders",
};

START_TEST(bounded_series_stay_allowed) {
    expect_default(bounded_series[_i], GUARD_OK);
}
END_TEST

START_TEST(max_plan_rows_is_configurable_and_named) {
    guard_policy policy;
    guard_policy_init(&policy);
    ck_assert(policy.max_plan_rows == 1e9);
    policy.max_plan_rows = 1000;
    expect_code("SELECT generate_series(1, 1000)", &policy, GUARD_OK);
    expect_code("SELECT generate_series(1, 1001)", &policy, GUARD_TOO_COSTLY);
    policy.max_plan_rows = 0; /* off, as the cost guard's 0 */
    expect_code("SELECT count(*) FROM generate_series(1, 1e15)", &policy, GUARD_OK);
    guard_result result = guard_check("SELECT count(*) FROM generate_series(1, 1e11)", NULL);
    ck_assert(!result.allowed);
    ck_assert_str_eq(guard_reason_name(result.code), "too_costly");
    ck_assert_str_eq(result.message, "generate_series would produce 100000000000 rows, over the limit of 1000000000");
    ck_assert_ptr_nonnull(strstr(result.detail, "--max-plan-rows"));
    ck_assert_ptr_nonnull(strstr(result.hint, "larger step"));
    ck_assert_int_eq(result.cursor_position, 22);
    guard_result_free(&result);
}
END_TEST

/* ---- the reason names ---------------------------------------------------------------- */

START_TEST(new_reason_names_are_stable) {
    ck_assert_str_eq(guard_reason_name(GUARD_UNINTERRUPTIBLE), "uninterruptible");
    ck_assert_str_eq(guard_reason_name(GUARD_VALUE_TOO_LARGE), "value_too_large");
    ck_assert_str_eq(guard_reason_name(GUARD_HIDDEN_FUNCTION), "hidden_function");
    ck_assert_str_eq(guard_reason_name(GUARD_TOO_COSTLY), "too_costly");
}
END_TEST

static TCase *add_case(Suite *suite, const char *name) {
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(suite, tc);
    return tc;
}

static Suite *policy_suite(void) {
    Suite *suite = suite_create("issue12");
    TCase *tc = add_case(suite, "xpath");
    tcase_add_loop_test(tc, xpath_family_is_refused_by_default, 0, (int)ARRAY_LENGTH(xpath_queries));
    tcase_add_loop_test(tc, xpath_family_is_allowed_knowingly, 0, (int)ARRAY_LENGTH(xpath_queries));
    tcase_add_test(tc, xpath_refusal_says_why_and_how_to_allow);
    tcase_add_test(tc, a_denied_function_inside_xpath_is_reported_as_denied);
    tcase_add_test(tc, extension_xpath_functions_are_refused_in_any_schema);
    tcase_add_test(tc, other_xml_functions_stay_allowed);

    tc = add_case(suite, "catalog_views");
    tcase_add_loop_test(tc, secret_columns_of_catalog_views_are_refused, 0, (int)ARRAY_LENGTH(secret_view_queries));
    tcase_add_loop_test(tc, harmless_columns_of_catalog_views_stay_allowed, 0,
                        (int)ARRAY_LENGTH(harmless_view_queries));
    tcase_add_test(tc, secret_column_refusal_names_view_and_column);
    tcase_add_test(tc, relation_denial_hint_no_longer_advertises_pg_stats);
    tcase_add_test(tc, session_query_texts_are_denied_through_functions);

    tc = add_case(suite, "relation_family");
    tcase_add_test(tc, denied_relation_is_denied_through_its_children);
    tcase_add_test(tc, parent_scan_including_a_denied_child_is_denied);
    tcase_add_test(tc, family_without_catalog_callbacks_is_unchanged);

    tc = add_case(suite, "hazards");
    tcase_add_loop_test(tc, hazards_from_the_catalog_are_refused, 0, (int)ARRAY_LENGTH(hazard_queries));
    tcase_add_test(tc, objects_without_hazards_stay_allowed);
    tcase_add_test(tc, hazard_refusal_names_object_and_reason);
    tcase_add_test(tc, types_named_in_strings_are_judged);
    tcase_add_test(tc, crossed_series_are_counted);
    tcase_add_test(tc, global_hazard_refuses_every_query);

    tc = add_case(suite, "size");
    tcase_add_loop_test(tc, values_beyond_the_bound_are_refused, 0, (int)ARRAY_LENGTH(oversized_queries));
    tcase_add_loop_test(tc, modest_values_stay_allowed, 0, (int)ARRAY_LENGTH(modest_queries));
    tcase_add_test(tc, powers_in_a_size_are_folded_exactly_or_refused);
    tcase_add_test(tc, max_value_bytes_is_configurable);
    tcase_add_test(tc, size_refusal_names_the_size_and_the_way_out);

    tc = add_case(suite, "deny_through_operators");
    tcase_add_loop_test(tc, denied_function_is_refused_through_its_operator_or_cast, 0,
                        (int)ARRAY_LENGTH(denied_calls));
    tcase_add_test(tc, other_schemas_and_other_functions_stay_allowed);
    tcase_add_test(tc, operator_refusal_names_operator_function_and_fix);
    tcase_add_test(tc, builtin_deny_list_and_xpath_reach_through_user_operators);
    tcase_add_loop_test(tc, denied_function_reached_without_a_name_is_refused, 0, (int)ARRAY_LENGTH(implicit_queries));
    tcase_add_test(tc, implicit_refusal_names_relation_function_type_and_fix);
    tcase_add_test(tc, built_in_deny_list_reaches_views_and_xpath_too);
    tcase_add_test(tc, global_implicit_links_refuse_every_query_when_denied);
    tcase_add_test(tc, denied_implicitly_called_built_in_refuses_every_query);

    tc = add_case(suite, "series");
    tcase_add_loop_test(tc, runaway_series_are_refused_as_too_costly, 0, (int)ARRAY_LENGTH(runaway_series));
    tcase_add_loop_test(tc, bounded_series_stay_allowed, 0, (int)ARRAY_LENGTH(bounded_series));
    tcase_add_test(tc, max_plan_rows_is_configurable_and_named);

    tc = add_case(suite, "differential");
    tcase_add_test(tc, system_user_is_refused_unless_qualified);
    tcase_add_test(tc, sql_json_keywords_are_refused_even_when_the_catalog_knows_the_name);
    tcase_add_test(tc, new_reason_names_are_stable);
    return suite;
}

/* See test_guard.c: create libpg_query's per-thread context before releasing it. */
static void release_parser_memory(void) {
    PgQueryProtobufParseResult parsed = pg_query_parse_protobuf("SELECT 1");
    pg_query_free_protobuf_parse_result(parsed);
    pg_query_exit();
}

int main(void) {
    SRunner *runner = srunner_create(policy_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    release_parser_memory();
    return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
