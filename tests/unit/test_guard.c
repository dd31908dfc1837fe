/* Unit tests of the guard (include/pgsafe/guard.h), with Check.
 *
 * Suites: reasons (one or more tests per reason code), functions (the harmless volatile
 * list and argument-sensitive functions), policy (the knobs of guard_policy and a fake
 * catalog), rewrite (the exact rewritten SQL of every LIMIT case), invariants (properties
 * of the rewrite over a corpus of allowed queries), internals (the tree comparison on what
 * no parser produces, sorted lookup tables) and api (result lifetime, names, fingerprints,
 * identifier quoting).
 *
 *   ./test_guard                                   # forks per test
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_guard
 *
 * Every result is freed, so the run is clean under valgrind and AddressSanitizer.
 * internal_error cannot be reached from SQL: it needs an allocation or library failure, or
 * an out-of-range policy (out_of_range_max_rows_fails_closed). rewrite_failed needs deparsed and
 * original text that both fail to parse back to the checked tree; the known deparser bugs of
 * libpg_query 15-4.0 are covered by the fallback (rewrite_falls_back_to_the_text_on_a_deparser_bug).
 *
 * The test case "depth_extreme" (tag "extreme") holds trees deep enough to overflow the C
 * stack in libpg_query's and protobuf-c's recursive code unless the guard bounds the depth
 * first; should that regress, a run without fork can skip them with
 * CK_EXCLUDE_TAGS=extreme to check the rest. */
#include <check.h>
#include <ctype.h>
#include <stddef.h>
#include <stdbool.h>
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "internal.h"
#include "pgsafe/guard.h"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

/* The bound of the default policy: max_rows 1000, plus one row to detect truncation. */
#define DEFAULT_BOUND 1001

/* ---------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------- */

static guard_policy default_policy(void) {
    guard_policy policy;
    guard_policy_init(&policy);
    return policy;
}

/* True when needle occurs in haystack, ignoring ASCII case; false for a NULL haystack. */
static bool contains_ignoring_case(const char *haystack, const char *needle) {
    if (haystack == NULL)
        return false;
    size_t needle_length = strlen(needle);
    for (const char *start = haystack; *start != '\0'; start++) {
        size_t matched = 0;
        while (matched < needle_length && start[matched] != '\0' &&
               tolower((unsigned char)start[matched]) == tolower((unsigned char)needle[matched]))
            matched++;
        if (matched == needle_length)
            return true;
    }
    return needle_length == 0;
}

static bool is_single_line(const char *text) {
    return text != NULL && text[0] != '\0' && strpbrk(text, "\r\n") == NULL;
}

/* Reason codes produced by the policy walk: a user can act on them, so they carry a hint. */
static bool is_policy_rejection(guard_reason code) {
    return code >= GUARD_MULTIPLE_STATEMENTS && code <= GUARD_RELATION_DENIED;
}

/* Fails the test after running cleanup, so that a failing test leaks nothing even when
 * run without fork under valgrind. The message is formatted before the cleanup runs. */
#define FAIL_AFTER(cleanup, ...)                                                                                       \
    do {                                                                                                               \
        char failure_[3000];                                                                                           \
        snprintf(failure_, sizeof failure_, __VA_ARGS__);                                                              \
        cleanup;                                                                                                       \
        ck_abort_msg("%s", failure_);                                                                                  \
    } while (0)

#define REQUIRE(condition, cleanup, ...)                                                                               \
    do {                                                                                                               \
        if (!(condition))                                                                                              \
            FAIL_AFTER(cleanup, __VA_ARGS__);                                                                          \
    } while (0)

static const char *or_none(const char *text) {
    return text != NULL ? text : "(none)";
}

/* Runs the guard and asserts the shape every result must have whatever the verdict:
 * either allowed with rewritten SQL and a bounded limit, or rejected with a one-line
 * message and nothing else. The caller frees the result. */
static guard_result run_guard(const char *sql, const guard_policy *policy) {
    guard_result result = guard_check(sql, policy);
    guard_result *owned = &result;
    if (result.allowed) {
        REQUIRE(result.code == GUARD_OK, guard_result_free(owned), "%s: allowed with code %s", sql,
                guard_reason_name(result.code));
        REQUIRE(result.message == NULL, guard_result_free(owned), "%s: allowed with message %s", sql, result.message);
        REQUIRE(result.rewritten_sql != NULL, guard_result_free(owned), "%s: allowed without rewritten_sql", sql);
        REQUIRE(result.limit_action != GUARD_LIMIT_NONE, guard_result_free(owned), "%s: allowed with limit_action none",
                sql);
        REQUIRE(result.applied_limit >= 0 && result.applied_limit <= policy->max_rows + 1, guard_result_free(owned),
                "%s: applied_limit %lld out of bounds", sql, result.applied_limit);
        REQUIRE(result.cursor_position == 0, guard_result_free(owned), "%s: allowed with cursor_position %d", sql,
                result.cursor_position);
    } else {
        REQUIRE(result.code > GUARD_OK && result.code < GUARD_REASON_COUNT, guard_result_free(owned),
                "%s: rejected with code %d", sql, (int)result.code);
        REQUIRE(is_single_line(result.message), guard_result_free(owned),
                "%s: rejected (%s) without a one-line message: %s", sql, guard_reason_name(result.code),
                or_none(result.message));
        REQUIRE(result.rewritten_sql == NULL, guard_result_free(owned), "%s: rejected but rewritten_sql set", sql);
        REQUIRE(result.applied_limit == 0, guard_result_free(owned), "%s: rejected but applied_limit set", sql);
        REQUIRE(result.limit_action == GUARD_LIMIT_NONE, guard_result_free(owned), "%s: rejected but limit_action set",
                sql);
        REQUIRE(result.cursor_position >= 0, guard_result_free(owned), "%s: negative cursor_position", sql);
    }
    return result;
}

/* Asserts that sql is rejected with expected (and a hint for policy rejections); returns
 * the result for further checks. The caller frees it. */
static guard_result reject(const char *sql, const guard_policy *policy, guard_reason expected) {
    guard_result result = run_guard(sql, policy);
    guard_result *owned = &result;
    REQUIRE(result.code == expected, guard_result_free(owned), "%s: expected %s, got %s (%s)", sql,
            guard_reason_name(expected), guard_reason_name(result.code),
            result.message != NULL ? result.message : "allowed");
    if (is_policy_rejection(expected))
        REQUIRE(result.hint != NULL && result.hint[0] != '\0', guard_result_free(owned),
                "%s: policy rejection %s without a hint", sql, guard_reason_name(expected));
    return result;
}

static void expect_rejected_with(const char *sql, const guard_policy *policy, guard_reason expected) {
    guard_result result = reject(sql, policy, expected);
    guard_result_free(&result);
}

static void expect_rejected(const char *sql, guard_reason expected) {
    guard_policy policy = default_policy();
    expect_rejected_with(sql, &policy, expected);
}

/* The cursor_position of a rejection with expected under the default policy. */
static int rejected_cursor(const char *sql, guard_reason expected) {
    guard_policy policy = default_policy();
    guard_result result = reject(sql, &policy, expected);
    int position = result.cursor_position;
    guard_result_free(&result);
    return position;
}

/* Asserts a rejection with expected whose field (message, detail or hint, chosen by the
 * accessor) contains word, ignoring case. */
typedef const char *(*result_field)(const guard_result *result);

static const char *message_of(const guard_result *result) {
    return result->message;
}

static const char *detail_of(const guard_result *result) {
    return result->detail;
}

static void expect_rejected_naming(const char *sql, guard_reason expected, result_field field, const char *word) {
    guard_policy policy = default_policy();
    guard_result result = reject(sql, &policy, expected);
    guard_result *owned = &result;
    REQUIRE(contains_ignoring_case(field(&result), word), guard_result_free(owned), "%s: \"%s\" does not name \"%s\"",
            sql, or_none(field(&result)), word);
    guard_result_free(&result);
}

/* Asserts that sql is allowed under policy; frees the result. */
static void expect_allowed_with(const char *sql, const guard_policy *policy) {
    guard_result result = run_guard(sql, policy);
    guard_result *owned = &result;
    REQUIRE(result.allowed, guard_result_free(owned), "%s: expected allowed, got %s (%s; %s)", sql,
            guard_reason_name(result.code), result.message, or_none(result.detail));
    guard_result_free(&result);
}

static void expect_allowed(const char *sql) {
    guard_policy policy = default_policy();
    expect_allowed_with(sql, &policy);
}

/* Asserts a function_denied rejection whose detail names the deny-list category. */
static void expect_denied_category(const char *sql, const char *category_word) {
    expect_rejected_naming(sql, GUARD_FUNCTION_DENIED, detail_of, category_word);
}

/* The reason code the guard gives sql under the default policy (result freed). */
static guard_reason reason_of(const char *sql) {
    guard_policy policy = default_policy();
    guard_result result = run_guard(sql, &policy);
    guard_reason code = result.code;
    guard_result_free(&result);
    return code;
}

/* Asserts the reason code of sql, a heap string this frees first (a deep tree's SQL). */
static void expect_reason_freeing_sql(char *sql, guard_reason expected) {
    guard_reason code = reason_of(sql);
    free(sql);
    ck_assert_msg(code == expected, "expected %s, got %s", guard_reason_name(expected), guard_reason_name(code));
}

/* Asserts that checking first's rewritten SQL again allows it unchanged with the same
 * limit, kept: the guard's output is a fixed point. Frees first. */
static void expect_fixed_point(const char *original_sql, guard_result *first, const guard_policy *policy) {
    guard_result again = run_guard(first->rewritten_sql, policy);
    guard_result *owned = &again;
    REQUIRE(again.allowed, (guard_result_free(owned), guard_result_free(first)), "%s: its rewrite %s was rejected: %s",
            original_sql, first->rewritten_sql, or_none(again.message));
    REQUIRE(strcmp(again.rewritten_sql, first->rewritten_sql) == 0,
            (guard_result_free(owned), guard_result_free(first)), "%s: rewrite %s became %s on a second pass",
            original_sql, first->rewritten_sql, again.rewritten_sql);
    REQUIRE(again.limit_action == GUARD_LIMIT_KEPT, (guard_result_free(owned), guard_result_free(first)),
            "%s: second pass %s", first->rewritten_sql, guard_limit_action_name(again.limit_action));
    REQUIRE(again.applied_limit == first->applied_limit, (guard_result_free(owned), guard_result_free(first)),
            "%s: limit %lld then %lld", first->rewritten_sql, first->applied_limit, again.applied_limit);
    guard_result_free(&again);
    guard_result_free(first);
}

/* Asserts the exact rewrite of sql, its limit and action, and that it is a fixed point. */
static void expect_rewrite_with(const char *sql, const guard_policy *policy, const char *expected_sql,
                                long long expected_limit, guard_limit_action expected_action) {
    guard_result result = run_guard(sql, policy);
    guard_result *owned = &result;
    REQUIRE(result.allowed, guard_result_free(owned), "%s: expected allowed, got %s (%s)", sql,
            guard_reason_name(result.code), result.message);
    REQUIRE(strcmp(result.rewritten_sql, expected_sql) == 0, guard_result_free(owned),
            "%s: rewritten to\n  %s\nexpected\n  %s", sql, result.rewritten_sql, expected_sql);
    REQUIRE(result.applied_limit == expected_limit, guard_result_free(owned), "%s: applied_limit %lld, expected %lld",
            sql, result.applied_limit, expected_limit);
    REQUIRE(result.limit_action == expected_action, guard_result_free(owned), "%s: limit_action %s, expected %s", sql,
            guard_limit_action_name(result.limit_action), guard_limit_action_name(expected_action));
    expect_fixed_point(sql, &result, policy);
}

static void expect_rewrite(const char *sql, const char *expected_sql, long long expected_limit,
                           guard_limit_action expected_action) {
    guard_policy policy = default_policy();
    expect_rewrite_with(sql, &policy, expected_sql, expected_limit, expected_action);
}

/* Returns "<prefix><open x count><middle><close x count>" in a new heap string. */
static char *build_nested(const char *prefix, const char *open, const char *middle, const char *close, size_t count) {
    size_t length = strlen(prefix) + count * (strlen(open) + strlen(close)) + strlen(middle);
    char *sql = malloc(length + 1);
    ck_assert_ptr_nonnull(sql);
    char *end = sql;
    end += sprintf(end, "%s", prefix);
    for (size_t i = 0; i < count; i++)
        end += sprintf(end, "%s", open);
    end += sprintf(end, "%s", middle);
    for (size_t i = 0; i < count; i++)
        end += sprintf(end, "%s", close);
    return sql;
}

/* ---------------------------------------------------------------------------------------
 * Suite "reasons": every reason code that SQL can reach.
 * ------------------------------------------------------------------------------------- */

START_TEST(syntax_error_points_at_the_bad_token) {
    ck_assert_int_eq(rejected_cursor("SELECT * FROM WHERE", GUARD_SYNTAX_ERROR), 15);
    expect_rejected_naming("SELECT * FROM WHERE", GUARD_SYNTAX_ERROR, message_of, "syntax error");
    expect_rejected_naming("SELECT * FROM WHERE", GUARD_SYNTAX_ERROR, message_of, "WHERE");
}
END_TEST

START_TEST(syntax_error_position_counts_characters_not_bytes) {
    /* Three two-byte characters before WHERE: 19 characters in, but 22 bytes. */
    ck_assert_int_eq(rejected_cursor("SELECT '\xc3\xa9\xc3\xa9\xc3\xa9' FROM WHERE", GUARD_SYNTAX_ERROR), 19);
}
END_TEST

START_TEST(syntax_error_on_other_dialects) {
    expect_rejected("SELECT TOP 10 * FROM t", GUARD_SYNTAX_ERROR);
    expect_rejected("SELEC 1", GUARD_SYNTAX_ERROR);
    expect_rejected("SELECT 'unterminated", GUARD_SYNTAX_ERROR);
    expect_rejected("SELECT 1 /* unterminated comment", GUARD_SYNTAX_ERROR);
}
END_TEST

START_TEST(empty_query_is_rejected) {
    static const char *const queries[] = {"", ";", "  -- comment", "/* only a comment */", " ;; ", "\n\t"};
    for (size_t i = 0; i < ARRAY_LENGTH(queries); i++)
        expect_rejected(queries[i], GUARD_EMPTY_QUERY);
}
END_TEST

START_TEST(multiple_statements_are_rejected) {
    expect_rejected("SELECT 1; SELECT 2", GUARD_MULTIPLE_STATEMENTS);
    expect_rejected("SELECT 1; DROP TABLE t", GUARD_MULTIPLE_STATEMENTS);
    expect_rejected("SELECT 1; COMMIT; DROP TABLE t", GUARD_MULTIPLE_STATEMENTS);
    expect_rejected("DROP TABLE t; SELECT 1", GUARD_MULTIPLE_STATEMENTS);
}
END_TEST

START_TEST(trailing_semicolon_is_one_statement) {
    expect_allowed("SELECT 1;");
    expect_allowed("SELECT 1 ;  -- done");
}
END_TEST

static const char *const not_select_queries[] = {
    "INSERT INTO t VALUES (1)",
    "UPDATE t SET a = 1",
    "DELETE FROM t",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
    "SET search_path = evil",
    "SET ROLE postgres",
    "RESET ALL",
    "COPY t TO STDOUT",
    "COPY t FROM PROGRAM 'id'",
    "DO $$BEGIN PERFORM 1; END$$",
    "CALL some_procedure()",
    "BEGIN",
    "COMMIT",
    "EXPLAIN SELECT 1",
    "EXPLAIN ANALYZE DELETE FROM t",
    "SHOW data_directory",
    "CREATE TABLE x (a int)",
    "CREATE TABLE x AS SELECT 1",
    "DROP TABLE t",
    "TRUNCATE t",
    "LOCK TABLE t",
    "PREPARE p AS SELECT 1",
    "EXECUTE p",
    "VACUUM t",
    "LISTEN channel",
    "NOTIFY channel",
    "GRANT ALL ON t TO PUBLIC",
    "ALTER SYSTEM SET work_mem = '1GB'",
    "DECLARE c CURSOR FOR SELECT 1",
};

START_TEST(not_select_is_rejected) {
    expect_rejected(not_select_queries[_i], GUARD_NOT_SELECT);
}
END_TEST

START_TEST(select_into_is_rejected) {
    expect_rejected("SELECT * INTO new_table FROM t", GUARD_SELECT_INTO);
    expect_rejected("SELECT 1 AS a INTO TEMP x", GUARD_SELECT_INTO);
}
END_TEST

START_TEST(locking_clause_is_rejected) {
    expect_rejected("SELECT * FROM t FOR UPDATE", GUARD_LOCKING_CLAUSE);
    expect_rejected("SELECT * FROM t FOR NO KEY UPDATE", GUARD_LOCKING_CLAUSE);
    expect_rejected("SELECT * FROM t FOR SHARE", GUARD_LOCKING_CLAUSE);
    expect_rejected("SELECT * FROM t FOR KEY SHARE SKIP LOCKED", GUARD_LOCKING_CLAUSE);
    expect_rejected("SELECT * FROM t LIMIT 1 FOR UPDATE NOWAIT", GUARD_LOCKING_CLAUSE);
}
END_TEST

START_TEST(locking_clause_in_subquery_and_cte_is_rejected) {
    expect_rejected("SELECT * FROM (SELECT * FROM t FOR UPDATE) s", GUARD_LOCKING_CLAUSE);
    expect_rejected("WITH c AS (SELECT * FROM t FOR SHARE) SELECT * FROM c", GUARD_LOCKING_CLAUSE);
    expect_rejected("SELECT (SELECT a FROM t LIMIT 1 FOR UPDATE)", GUARD_LOCKING_CLAUSE);
    expect_rejected("SELECT 1 WHERE EXISTS (SELECT 1 FROM t FOR UPDATE)", GUARD_LOCKING_CLAUSE);
    expect_rejected("(SELECT a FROM t FOR UPDATE) UNION SELECT 1", GUARD_LOCKING_CLAUSE);
}
END_TEST

START_TEST(parameter_is_rejected) {
    expect_rejected("SELECT $1", GUARD_PARAMETER);
    expect_rejected("SELECT * FROM t WHERE id = $1", GUARD_PARAMETER);
    expect_rejected("SELECT * FROM t LIMIT $1", GUARD_PARAMETER);
    expect_rejected("SELECT * FROM (SELECT $2::int AS a) s", GUARD_PARAMETER);
}
END_TEST

/* A writable CTE is a non-SELECT node type inside an allowed query: the message names it. */
static void expect_writable_cte(const char *sql, const char *statement) {
    expect_rejected_naming(sql, GUARD_CONSTRUCT_NOT_ALLOWED, message_of, statement);
}

START_TEST(writable_cte_is_not_allowed) {
    expect_writable_cte("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE");
    expect_writable_cte("WITH i AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM i", "INSERT");
    expect_writable_cte("WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u", "UPDATE");
    expect_writable_cte("SELECT * FROM (SELECT 1) s, LATERAL (WITH d AS (DELETE FROM t RETURNING 1) "
                        "SELECT * FROM d) x",
                        "DELETE");
}
END_TEST

START_TEST(other_constructs_are_not_allowed) {
    /* Only the SYSTEM and BERNOULLI sampling methods are built in. */
    expect_rejected("SELECT * FROM t TABLESAMPLE system_rows(10)", GUARD_CONSTRUCT_NOT_ALLOWED);
    expect_allowed("SELECT * FROM t TABLESAMPLE SYSTEM (10)");
    expect_allowed("SELECT * FROM t TABLESAMPLE BERNOULLI (5) REPEATABLE (1)");
}
END_TEST

START_TEST(function_denied_names_the_category) {
    expect_denied_category("SELECT pg_read_file('/etc/passwd')", "file");
    expect_denied_category("SELECT pg_ls_dir('.')", "file");
    expect_denied_category("SELECT query_to_xml('DELETE FROM t', true, true, '')", "sql");
    expect_denied_category("SELECT ts_stat('SELECT v FROM t')", "sql");
    expect_denied_category("SELECT dblink_exec('host=x', 'DROP TABLE t')", "sql");
    expect_denied_category("SELECT lo_import('/etc/passwd')", "large object");
    expect_denied_category("SELECT pg_advisory_lock(1)", "lock");
    expect_denied_category("SELECT pg_terminate_backend(1)", "session");
    expect_denied_category("SELECT set_config('transaction_read_only', 'off', false)", "setting");
    expect_denied_category("SELECT pg_switch_wal()", "wal");
    expect_denied_category("SELECT pg_sleep(1)", "sleep");
    expect_denied_category("SELECT nextval('s')", "sequence");
    expect_denied_category("SELECT pg_notify('c', 'x')", "notif");
}
END_TEST

START_TEST(function_denied_through_qualification_and_quoting) {
    expect_rejected("SELECT \"pg_catalog\".\"pg_read_file\"('/etc/passwd')", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT pg_catalog.pg_sleep(1)", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT U&\"pg\\005fsleep\"(1)", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT PG_SLEEP(1)", GUARD_FUNCTION_DENIED);
    /* The deny list matches the name in any schema. */
    expect_rejected("SELECT public.pg_sleep(1)", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT /* x */ pg_sleep -- y\n (1)", GUARD_FUNCTION_DENIED);
}
END_TEST

START_TEST(function_denied_in_from_and_nested_positions) {
    expect_rejected("SELECT * FROM pg_ls_dir('.')", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT * FROM pg_read_file('/etc/passwd') AS f(x)", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT * FROM ROWS FROM (generate_series(1, 2), pg_ls_dir('.')) AS r(a, b)",
                    GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT * FROM t, LATERAL (SELECT pg_sleep(1)) s", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT * FROM t ORDER BY pg_sleep(1)", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM t", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT CASE WHEN a > 0 THEN pg_sleep(1) END FROM t", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT * FROM t WHERE a IN (SELECT nextval('s'))", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT * FROM t LIMIT (SELECT pg_sleep(1)::int)", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT sum(a) OVER (ORDER BY pg_sleep(1)) FROM t", GUARD_FUNCTION_DENIED);
}
END_TEST

START_TEST(function_volatile_is_rejected) {
    expect_rejected("SELECT pg_jit_available()", GUARD_FUNCTION_VOLATILE);
    expect_rejected("SELECT pg_blocking_pids(1)", GUARD_FUNCTION_VOLATILE);
    expect_rejected("SELECT * FROM pg_lock_status()", GUARD_FUNCTION_VOLATILE);
    expect_rejected("SELECT pg_catalog.txid_status(1)", GUARD_FUNCTION_VOLATILE);
}
END_TEST

START_TEST(function_unknown_is_rejected) {
    expect_rejected("SELECT my_func(1)", GUARD_FUNCTION_UNKNOWN);
    expect_rejected("SELECT YEAR(created_at) FROM t", GUARD_FUNCTION_UNKNOWN);
    expect_rejected("SELECT strftime('%Y', d) FROM t", GUARD_FUNCTION_UNKNOWN);
    expect_rejected("SELECT DATEDIFF(a, b) FROM t", GUARD_FUNCTION_UNKNOWN);
    /* A schema other than pg_catalog is not a built-in. */
    expect_rejected("SELECT public.lower('A')", GUARD_FUNCTION_UNKNOWN);
    expect_allowed("SELECT pg_catalog.lower('A')");
}
END_TEST

START_TEST(operator_not_allowed) {
    expect_rejected("SELECT 1 OPERATOR(public.===) 2", GUARD_OPERATOR_NOT_ALLOWED);
    expect_rejected("SELECT 1 === 2", GUARD_OPERATOR_NOT_ALLOWED);
    expect_allowed("SELECT 1 OPERATOR(pg_catalog.+) 2");
    expect_allowed("SELECT 'a' || 'b', 2 ^ 3, ARRAY[1] @> ARRAY[1], '{}'::jsonb ? 'a'");
}
END_TEST

START_TEST(type_not_allowed) {
    expect_rejected("SELECT 1::my_enum", GUARD_TYPE_NOT_ALLOWED);
    expect_rejected("SELECT CAST(a AS SIGNED) FROM t", GUARD_TYPE_NOT_ALLOWED);
    expect_rejected("SELECT CAST(x AS public.secret_type) FROM t", GUARD_TYPE_NOT_ALLOWED);
    expect_allowed("SELECT 1::int8, '1'::numeric(5, 2), 'x'::varchar(3), now()::date");
}
END_TEST

START_TEST(relation_denied_everywhere) {
    expect_rejected("SELECT * FROM pg_authid", GUARD_RELATION_DENIED);
    expect_rejected("SELECT rolpassword FROM pg_catalog.pg_authid", GUARD_RELATION_DENIED);
    expect_rejected("SELECT * FROM \"pg_shadow\"", GUARD_RELATION_DENIED);
    expect_rejected("SELECT * FROM other_schema.pg_statistic", GUARD_RELATION_DENIED);
    expect_rejected("TABLE pg_authid", GUARD_RELATION_DENIED);
    expect_rejected("SELECT * FROM (SELECT * FROM pg_shadow) s", GUARD_RELATION_DENIED);
    expect_rejected("WITH c AS (SELECT * FROM pg_user_mapping) SELECT * FROM c", GUARD_RELATION_DENIED);
    expect_rejected("SELECT * FROM t JOIN pg_largeobject l ON true", GUARD_RELATION_DENIED);
    expect_rejected("SELECT (SELECT count(*) FROM pg_settings)", GUARD_RELATION_DENIED);
    expect_rejected("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM pg_file_settings)", GUARD_RELATION_DENIED);
}
END_TEST

START_TEST(other_catalogs_are_allowed) {
    expect_allowed("SELECT relname FROM pg_class");
    expect_allowed("SELECT proname FROM pg_catalog.pg_proc");
    expect_allowed("SELECT pid, state, wait_event FROM pg_stat_activity");
    expect_allowed("SELECT * FROM information_schema.columns");
}
END_TEST

START_TEST(left_nested_expression_is_too_complex) {
    /* SELECT 1+1+...+1: a left-deep chain of operators, cheap for the parser; each term
     * is two tree levels (A_Expr, Node), so 600 terms pass the guard's depth of 1000. */
    expect_reason_freeing_sql(build_nested("SELECT 1", "", "", "+1", 600), GUARD_TOO_COMPLEX);
    /* A few hundred levels are fine. */
    expect_reason_freeing_sql(build_nested("SELECT 1", "", "", "+1", 300), GUARD_OK);
}
END_TEST

START_TEST(nested_subqueries_are_too_complex) {
    char *sql = build_nested("SELECT ", "(SELECT ", "1", ")", 300);
    expect_reason_freeing_sql(sql, GUARD_TOO_COMPLEX);
}
END_TEST

START_TEST(deep_left_nested_expression_is_too_complex) {
    /* 5000 terms: deep enough to overflow protobuf-c's recursive unpack on 8 MB of stack. */
    char *sql = build_nested("SELECT 1", "", "", "+1", 5000);
    expect_reason_freeing_sql(sql, GUARD_TOO_COMPLEX);
}
END_TEST

START_TEST(very_deep_left_nested_expression_is_too_complex) {
    /* 100000 terms is 200 KB, well under max_sql_bytes. */
    char *sql = build_nested("SELECT 1", "", "", "+1", 100000);
    expect_reason_freeing_sql(sql, GUARD_TOO_COMPLEX);
}
END_TEST

START_TEST(deeply_nested_subqueries_are_too_complex) {
    char *sql = build_nested("SELECT ", "(SELECT ", "1", ")", 2000);
    expect_reason_freeing_sql(sql, GUARD_TOO_COMPLEX);
}
END_TEST

START_TEST(deep_chain_just_under_the_text_check_is_too_complex) {
    /* Short text is parsed without counting its tokens: 8186 terms fit in 16 KiB and make
     * a tree about 16,000 levels deep, which must be refused before it is unpacked. */
    expect_reason_freeing_sql(build_nested("SELECT 1", "", "", "+1", 8186), GUARD_TOO_COMPLEX);
}
END_TEST

START_TEST(long_chain_of_casts_is_too_complex) {
    expect_reason_freeing_sql(build_nested("SELECT 1", "", "", "::int", 9990), GUARD_TOO_COMPLEX);
}
END_TEST

START_TEST(parser_stack_exhaustion_is_too_complex) {
    /* Right-nested calls exhaust the grammar's stack ("memory exhausted") in the parser. */
    expect_reason_freeing_sql(build_nested("SELECT ", "abs(", "1", ")", 9000), GUARD_TOO_COMPLEX);
    expect_reason_freeing_sql(build_nested("SELECT ", "ARRAY[", "1", "]", 5000), GUARD_TOO_COMPLEX);
}
END_TEST

START_TEST(long_flat_lists_are_allowed) {
    /* Width is not depth: long lists stay shallow and pass. */
    char *sql = malloc(8 + 4 * 20000 + 1);
    ck_assert_ptr_nonnull(sql);
    char *end = sql + sprintf(sql, "VALUES (1)");
    for (int i = 1; i < 20000; i++)
        end += sprintf(end, ",(1)");
    expect_reason_freeing_sql(sql, GUARD_OK);
    expect_reason_freeing_sql(build_nested("SELECT x", "", "", "[1]", 9000), GUARD_OK);
}
END_TEST

START_TEST(deeply_nested_function_calls_are_too_complex) {
    char *sql = build_nested("SELECT ", "abs(", "1", ")", 3000);
    expect_reason_freeing_sql(sql, GUARD_TOO_COMPLEX);
}
END_TEST

START_TEST(nested_parentheses_add_no_depth) {
    /* Parentheses around an expression make no tree node: this is just SELECT 1. */
    char *sql = build_nested("SELECT ", "(", "1", ")", 3000);
    guard_policy policy = default_policy();
    guard_result result = guard_check(sql, &policy);
    free(sql);
    bool allowed_with_injected_limit =
        result.allowed && result.limit_action == GUARD_LIMIT_INJECTED && result.applied_limit == DEFAULT_BOUND;
    guard_result_free(&result);
    ck_assert(allowed_with_injected_limit);
}
END_TEST

START_TEST(input_too_large_is_rejected) {
    guard_policy policy = default_policy();
    policy.max_sql_bytes = 8;
    expect_allowed_with("SELECT 1", &policy); /* exactly 8 bytes */
    expect_rejected_with("SELECT 12", &policy, GUARD_INPUT_TOO_LARGE);
    /* The size check comes before parsing. */
    expect_rejected_with("not even SQL", &policy, GUARD_INPUT_TOO_LARGE);
}
END_TEST

START_TEST(default_max_sql_bytes_is_one_mebibyte) {
    guard_policy policy = default_policy();
    ck_assert_uint_eq(policy.max_sql_bytes, 1024 * 1024);
    ck_assert_int_eq(policy.max_rows, 1000);
    ck_assert_ptr_null(policy.allowed_functions);
    ck_assert_ptr_null(policy.denied_functions);
    ck_assert_ptr_null(policy.denied_relations);
    ck_assert_ptr_null(policy.allowed_relations);
    ck_assert_ptr_null(policy.catalog);

    size_t length = policy.max_sql_bytes + 1;
    char *sql = malloc(length + 1);
    ck_assert_ptr_nonnull(sql);
    memset(sql, ' ', length);
    memcpy(sql, "SELECT 1", 8);
    sql[length] = '\0';
    expect_rejected_with(sql, &policy, GUARD_INPUT_TOO_LARGE);
    free(sql);
}
END_TEST

START_TEST(invalid_utf8_is_rejected) {
    expect_rejected("SELECT '\xff'", GUARD_INVALID_INPUT);
    expect_rejected("SELECT '\xc3'", GUARD_INVALID_INPUT);             /* truncated sequence */
    expect_rejected("SELECT '\xc0\xaf'", GUARD_INVALID_INPUT);         /* overlong '/' */
    expect_rejected("SELECT '\xed\xa0\x80'", GUARD_INVALID_INPUT);     /* UTF-16 surrogate */
    expect_rejected("SELECT '\xf4\x90\x80\x80'", GUARD_INVALID_INPUT); /* above U+10FFFF */
    expect_rejected("SELECT 1 -- \xfe", GUARD_INVALID_INPUT);          /* even in a comment */
    expect_allowed("SELECT '\xf0\x9f\x90\x98 \xe2\x82\xac'");          /* 4- and 3-byte forms */
}
END_TEST

START_TEST(cursor_points_at_the_denied_function) {
    ck_assert_int_eq(rejected_cursor("SELECT 1, pg_sleep(1)", GUARD_FUNCTION_DENIED), 11);
    /* Characters, not bytes: "ééé" is six bytes but three characters. */
    ck_assert_int_eq(rejected_cursor("SELECT '\xc3\xa9\xc3\xa9\xc3\xa9', pg_sleep(1)", GUARD_FUNCTION_DENIED), 15);
    ck_assert_int_eq(rejected_cursor("SELECT * FROM t WHERE a = my_func(1)", GUARD_FUNCTION_UNKNOWN), 27);
}
END_TEST

START_TEST(cursor_points_at_the_denied_relation) {
    ck_assert_int_eq(rejected_cursor("SELECT * FROM pg_authid", GUARD_RELATION_DENIED), 15);
    ck_assert_int_eq(rejected_cursor("SELECT 1 FROM t JOIN pg_shadow s ON true", GUARD_RELATION_DENIED), 22);
}
END_TEST

START_TEST(first_problem_in_tree_order_is_reported) {
    /* Both a locking clause and a denied function: the walk meets the SelectStmt first. */
    expect_rejected("SELECT pg_sleep(1) FROM t FOR UPDATE", GUARD_LOCKING_CLAUSE);
    /* Statement type is checked before the walk. */
    expect_rejected("INSERT INTO t SELECT pg_sleep(1)", GUARD_NOT_SELECT);
    /* Parsing comes before statement counting. */
    expect_rejected("SELECT 1; SELECT FROM WHERE", GUARD_SYNTAX_ERROR);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "functions": special cases of the function policy.
 * ------------------------------------------------------------------------------------- */

START_TEST(harmless_volatile_functions_are_allowed) {
    expect_allowed("SELECT random()");
    expect_allowed("SELECT clock_timestamp()");
    expect_allowed("SELECT gen_random_uuid()");
    expect_allowed("SELECT timeofday()");
    expect_allowed("SELECT pg_relation_size('t'), pg_total_relation_size('t'), "
                   "pg_table_size('t'), pg_indexes_size('t')");
    expect_allowed("SELECT pg_database_size(current_database())");
    expect_allowed("SELECT pg_is_in_recovery(), pg_current_wal_lsn()");
    expect_allowed("SELECT * FROM t ORDER BY random() LIMIT 10");
}
END_TEST

START_TEST(current_setting_depends_on_its_argument) {
    expect_allowed("SELECT current_setting('server_version')");
    expect_allowed("SELECT current_setting('server_version_num')::int");
    expect_allowed("SELECT current_setting('TimeZone')");
    expect_allowed("SELECT current_setting('lc_collate')");
    expect_rejected("SELECT current_setting('data_directory')", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT current_setting('hba_file')", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT current_setting(x) FROM t", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT current_setting('server_' || 'version')", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT current_setting(setting_name => 'data_directory')", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT * FROM current_setting('data_directory')", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT current_setting()", GUARD_FUNCTION_DENIED);
}
END_TEST

START_TEST(ts_rewrite_with_a_query_string_is_denied) {
    /* ts_rewrite(query, select text) runs the SELECT it is given. */
    expect_denied_category("SELECT ts_rewrite('a & b'::tsquery, 'SELECT t, s FROM aliases')", "sql");
    expect_denied_category("SELECT pg_catalog.ts_rewrite('a'::tsquery, 'SELECT * FROM pg_authid')", "sql");
}
END_TEST

START_TEST(ts_rewrite_with_three_queries_is_allowed) {
    /* ts_rewrite(query, target, substitute) is immutable; only its 2-argument form is not. */
    expect_allowed("SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)");
}
END_TEST

START_TEST(immutable_and_stable_builtins_are_allowed) {
    expect_allowed("SELECT lower('A'), upper('b'), length('abc'), now(), age(now())");
    expect_allowed("SELECT date_trunc('month', now()), EXTRACT(year FROM now())");
    expect_allowed("SELECT jsonb_path_query('{\"a\": 1}', '$.a')");
    expect_allowed("SELECT string_agg(a, ',') FROM t");
    expect_allowed("SELECT pg_get_viewdef('v'::regclass), format('%s', 1)");
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "policy": the knobs of guard_policy, and a catalog.
 * ------------------------------------------------------------------------------------- */

START_TEST(allowed_functions_admit_a_volatile_builtin) {
    static const char *const extra[] = {"pg_jit_available", "pg_sleep", NULL};
    guard_policy policy = default_policy();
    policy.allowed_functions = extra;
    expect_allowed_with("SELECT pg_jit_available()", &policy);
    expect_rejected_with("SELECT pg_blocking_pids(1)", &policy, GUARD_FUNCTION_VOLATILE);
    /* The deny list still wins. */
    expect_rejected_with("SELECT pg_sleep(1)", &policy, GUARD_FUNCTION_DENIED);
}
END_TEST

START_TEST(denied_functions_extend_the_deny_list) {
    static const char *const denied[] = {"lower", "md5", NULL};
    guard_policy policy = default_policy();
    policy.denied_functions = denied;
    expect_rejected_with("SELECT lower('A')", &policy, GUARD_FUNCTION_DENIED);
    expect_rejected_with("SELECT pg_catalog.md5('x')", &policy, GUARD_FUNCTION_DENIED);
    expect_allowed_with("SELECT upper('a')", &policy);
}
END_TEST

START_TEST(denied_relations_extend_the_defaults) {
    static const char *const denied[] = {"secrets", NULL};
    guard_policy policy = default_policy();
    policy.denied_relations = denied;
    static const char *const queries[] = {
        "SELECT * FROM secrets",
        "SELECT * FROM public.secrets",
        "SELECT * FROM t JOIN secrets s ON s.id = t.id",
        "SELECT * FROM pg_authid",
    };
    for (size_t i = 0; i < ARRAY_LENGTH(queries); i++) {
        expect_rejected_with(queries[i], &policy, GUARD_RELATION_DENIED);
    }
    expect_allowed_with("SELECT * FROM not_secrets", &policy);
}
END_TEST

/* The detail of an operator's denial says so, not the built-in catalogs' reasons. */
START_TEST(denied_relation_detail_names_the_configuration) {
    static const char *const denied[] = {"secrets", NULL};
    guard_policy policy = default_policy();
    policy.denied_relations = denied;
    guard_result result = reject("SELECT * FROM secrets", &policy, GUARD_RELATION_DENIED);
    ck_assert_ptr_nonnull(result.detail);
    ck_assert_str_eq(result.detail, "it is on this server's configured deny list");
    guard_result_free(&result);
    result = reject("SELECT * FROM pg_authid", &policy, GUARD_RELATION_DENIED);
    ck_assert_ptr_nonnull(strstr(result.detail, "passwords"));
    guard_result_free(&result);
}
END_TEST

/* A schema-qualified deny entry also catches the unqualified name, which may resolve to it;
 * an allow entry stays exact. */
START_TEST(qualified_deny_entries_catch_unqualified_names) {
    static const char *const denied_relations[] = {"public.salaries", NULL};
    static const char *const denied_functions[] = {"pg_catalog.upper", NULL};
    static const char *const allowed_functions[] = {"tools.gen_id", NULL};
    guard_policy policy = default_policy();
    policy.denied_relations = denied_relations;
    policy.denied_functions = denied_functions;
    policy.allowed_functions = allowed_functions;
    expect_rejected_with("SELECT * FROM salaries", &policy, GUARD_RELATION_DENIED);
    expect_rejected_with("SELECT * FROM public.salaries", &policy, GUARD_RELATION_DENIED);
    expect_allowed_with("SELECT * FROM other.salaries", &policy);
    expect_rejected_with("SELECT upper('a')", &policy, GUARD_FUNCTION_DENIED);
    expect_rejected_with("SELECT pg_catalog.upper('a')", &policy, GUARD_FUNCTION_DENIED);
    expect_rejected_with("SELECT gen_id()", &policy, GUARD_FUNCTION_UNKNOWN);
}
END_TEST

START_TEST(allowed_relations_remove_from_the_defaults) {
    static const char *const allowed[] = {"pg_settings", NULL};
    guard_policy policy = default_policy();
    policy.allowed_relations = allowed;
    expect_allowed_with("SELECT name, setting FROM pg_settings", &policy);
    expect_allowed_with("SELECT name FROM pg_catalog.pg_settings", &policy);
    expect_rejected_with("SELECT * FROM pg_authid", &policy, GUARD_RELATION_DENIED);
}
END_TEST

START_TEST(max_rows_sets_the_bound) {
    guard_policy policy = default_policy();
    policy.max_rows = 10;
    expect_rewrite_with("SELECT * FROM t", &policy, "SELECT * FROM t LIMIT 11", 11, GUARD_LIMIT_INJECTED);
    expect_rewrite_with("SELECT * FROM t LIMIT 5", &policy, "SELECT * FROM t LIMIT 5", 5, GUARD_LIMIT_KEPT);
    expect_rewrite_with("SELECT * FROM t LIMIT 11", &policy, "SELECT * FROM t LIMIT 11", 11, GUARD_LIMIT_KEPT);
    expect_rewrite_with("SELECT * FROM t LIMIT 12", &policy, "SELECT * FROM t LIMIT 11", 11, GUARD_LIMIT_CLAMPED);
    expect_rewrite_with("SELECT * FROM t LIMIT (SELECT 1)", &policy,
                        "SELECT * FROM (SELECT * FROM t LIMIT (SELECT 1)) pgsafe_bounded LIMIT 11", 11,
                        GUARD_LIMIT_WRAPPED);

    policy.max_rows = 0;
    expect_rewrite_with("SELECT * FROM t", &policy, "SELECT * FROM t LIMIT 1", 1, GUARD_LIMIT_INJECTED);
    expect_rewrite_with("SELECT * FROM t LIMIT 2", &policy, "SELECT * FROM t LIMIT 1", 1, GUARD_LIMIT_CLAMPED);
}
END_TEST

START_TEST(out_of_range_max_rows_fails_closed) {
    /* A misconfigured policy is not something SQL can cause: internal_error, never a pass. */
    guard_policy policy = default_policy();
    policy.max_rows = -1;
    expect_rejected_with("SELECT 1", &policy, GUARD_INTERNAL_ERROR);
    policy.max_rows = 2147483647; /* max_rows + 1 must fit a 32-bit LIMIT */
    expect_rejected_with("SELECT 1", &policy, GUARD_INTERNAL_ERROR);
    policy.max_rows = 2147483646;
    expect_rewrite_with("SELECT 1", &policy, "SELECT 1 LIMIT 2147483647", 2147483647LL, GUARD_LIMIT_INJECTED);
}
END_TEST

/* A fake server catalog: public.safe_fn is stable, public.bad_fn volatile, the operator
 * === volatile, <=> immutable, the type mood immutable. It counts its calls. */
typedef struct fake_catalog_state {
    int calls;
} fake_catalog_state;

static bool in_public(const char *schema) {
    return schema == NULL || strcmp(schema, "public") == 0;
}

static guard_volatility fake_function_volatility(void *context, const char *schema, const char *name) {
    ((fake_catalog_state *)context)->calls++;
    if (in_public(schema) && strcmp(name, "safe_fn") == 0)
        return GUARD_VOLATILITY_STABLE;
    if (in_public(schema) && strcmp(name, "bad_fn") == 0)
        return GUARD_VOLATILITY_VOLATILE;
    return GUARD_VOLATILITY_UNKNOWN;
}

static guard_volatility fake_operator_volatility(void *context, const char *schema, const char *name) {
    ((fake_catalog_state *)context)->calls++;
    if (in_public(schema) && strcmp(name, "===") == 0)
        return GUARD_VOLATILITY_VOLATILE;
    if (in_public(schema) && strcmp(name, "<=>") == 0)
        return GUARD_VOLATILITY_IMMUTABLE;
    return GUARD_VOLATILITY_UNKNOWN;
}

static guard_volatility fake_type_volatility(void *context, const char *schema, const char *name) {
    ((fake_catalog_state *)context)->calls++;
    if (in_public(schema) && strcmp(name, "mood") == 0)
        return GUARD_VOLATILITY_IMMUTABLE;
    return GUARD_VOLATILITY_UNKNOWN;
}

START_TEST(catalog_resolves_user_objects) {
    fake_catalog_state state = {0};
    guard_catalog catalog = {
        .function_volatility = fake_function_volatility,
        .operator_volatility = fake_operator_volatility,
        .type_volatility = fake_type_volatility,
        .context = &state,
    };
    guard_policy policy = default_policy();
    policy.catalog = &catalog;

    expect_allowed_with("SELECT public.safe_fn(1)", &policy);
    expect_allowed_with("SELECT safe_fn(a) FROM t", &policy);
    expect_rejected_with("SELECT public.bad_fn()", &policy, GUARD_FUNCTION_VOLATILE);
    expect_rejected_with("SELECT 1 === 2", &policy, GUARD_OPERATOR_NOT_ALLOWED);
    expect_rejected_with("SELECT 1 OPERATOR(public.===) 2", &policy, GUARD_OPERATOR_NOT_ALLOWED);
    expect_allowed_with("SELECT 1 <=> 2", &policy);
    expect_allowed_with("SELECT 'happy'::mood", &policy);
    expect_allowed_with("SELECT CAST('sad' AS public.mood)", &policy);
    expect_rejected_with("SELECT 'x'::unknown_type", &policy, GUARD_TYPE_NOT_ALLOWED);
    expect_rejected_with("SELECT other_fn()", &policy, GUARD_FUNCTION_UNKNOWN);
    /* The catalog cannot lift the deny list. */
    expect_rejected_with("SELECT pg_sleep(1)", &policy, GUARD_FUNCTION_DENIED);
    ck_assert_int_gt(state.calls, 0);
}
END_TEST

/* A catalog that calls every function stable, as a server with the xml2 extension reports
 * xpath_table: that function builds "SELECT key, xml FROM relation WHERE condition" from
 * its text arguments and runs it, so it must be denied like query_to_xml. */
static guard_volatility everything_stable(void *context, const char *schema, const char *name) {
    (void)context, (void)schema, (void)name;
    return GUARD_VOLATILITY_STABLE;
}

START_TEST(catalog_cannot_admit_functions_that_run_sql_from_strings) {
    guard_catalog catalog = {.function_volatility = everything_stable};
    guard_policy policy = default_policy();
    policy.catalog = &catalog;
    expect_allowed_with("SELECT public.harmless_fn(1)", &policy);
    expect_rejected_with("SELECT * FROM xpath_table('id', 'doc', 'pg_authid', '/a', 'true') AS x(id int, a text)",
                         &policy, GUARD_FUNCTION_DENIED);
    expect_rejected_with("SELECT public.dblink('host=x', 'SELECT 1')", &policy, GUARD_FUNCTION_DENIED);
}
END_TEST

START_TEST(without_catalog_user_objects_are_unknown) {
    expect_rejected("SELECT public.safe_fn(1)", GUARD_FUNCTION_UNKNOWN);
    expect_rejected("SELECT 'happy'::mood", GUARD_TYPE_NOT_ALLOWED);
    expect_rejected("SELECT 1 <=> 2", GUARD_OPERATOR_NOT_ALLOWED);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "rewrite": the exact SQL produced for each LIMIT case.
 * ------------------------------------------------------------------------------------- */

START_TEST(rewrite_injects_a_missing_limit) {
    /* The statement's own text with LIMIT appended, once it is proved to parse back to the
     * rewritten tree; a -- comment puts the LIMIT on a line of its own. */
    expect_rewrite("SELECT * FROM t", "SELECT * FROM t LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
    expect_rewrite("select a from t where b = 'x' -- note", "select a from t where b = 'x' -- note\nLIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
    expect_rewrite("SELECT '--' AS a FROM t", "SELECT '--' AS a FROM t\nLIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_INJECTED);
    expect_rewrite("-- first\nSELECT 1", "-- first\nSELECT 1 LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
    expect_rewrite("SELECT 1 /* note */ ;  ", "SELECT 1 /* note */ LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
    expect_rewrite("TABLE t", "TABLE t LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
}
END_TEST

START_TEST(rewrite_keeps_a_small_constant_limit) {
    expect_rewrite("SELECT * FROM t LIMIT 5", "SELECT * FROM t LIMIT 5", 5, GUARD_LIMIT_KEPT);
    expect_rewrite("SELECT * FROM t LIMIT 0", "SELECT * FROM t LIMIT 0", 0, GUARD_LIMIT_KEPT);
    expect_rewrite("SELECT * FROM t LIMIT 1001", "SELECT * FROM t LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_KEPT);
    expect_rewrite("SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS ONLY",
                   "SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS ONLY", 5, GUARD_LIMIT_KEPT);
    expect_rewrite("select * from t limit 5; -- five", "select * from t limit 5", 5, GUARD_LIMIT_KEPT);
    /* Never ends inside a comment, so text put after it is not swallowed. */
    expect_rewrite("SELECT * FROM t LIMIT 5 -- five", "SELECT * FROM t LIMIT 5 -- five\n", 5, GUARD_LIMIT_KEPT);
    expect_rewrite("SELECT * FROM t LIMIT 5 -- five\n", "SELECT * FROM t LIMIT 5 -- five\n", 5, GUARD_LIMIT_KEPT);
    expect_rewrite("SELECT * FROM t LIMIT 5 /* five */", "SELECT * FROM t LIMIT 5 /* five */", 5, GUARD_LIMIT_KEPT);
}
END_TEST

START_TEST(rewrite_clamps_a_large_limit) {
    expect_rewrite("SELECT * FROM t LIMIT 5000", "SELECT * FROM t LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_CLAMPED);
    expect_rewrite("SELECT * FROM t LIMIT 1002", "SELECT * FROM t LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_CLAMPED);
    expect_rewrite("SELECT * FROM t FETCH FIRST 2000000 ROWS ONLY", "SELECT * FROM t LIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_CLAMPED);
}
END_TEST

START_TEST(rewrite_clamps_limit_all_and_null) {
    expect_rewrite("SELECT * FROM t LIMIT ALL", "SELECT * FROM t LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_CLAMPED);
    expect_rewrite("SELECT * FROM t LIMIT NULL", "SELECT * FROM t LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_CLAMPED);
}
END_TEST

START_TEST(rewrite_wraps_a_non_constant_limit) {
    expect_rewrite("SELECT * FROM t LIMIT (SELECT 5)",
                   "SELECT * FROM (SELECT * FROM t LIMIT (SELECT 5)) pgsafe_bounded LIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_WRAPPED);
    expect_rewrite("SELECT * FROM t LIMIT 10*1000*1000",
                   "SELECT * FROM (SELECT * FROM t LIMIT ((10 * 1000) * 1000)) pgsafe_bounded LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_WRAPPED);
    expect_rewrite("SELECT * FROM t LIMIT 2.5", "SELECT * FROM (SELECT * FROM t LIMIT 2.5) pgsafe_bounded LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_WRAPPED);
}
END_TEST

START_TEST(rewrite_wraps_with_ties) {
    expect_rewrite("SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS WITH TIES",
                   "SELECT * FROM (SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS WITH TIES) "
                   "pgsafe_bounded LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_WRAPPED);
}
END_TEST

START_TEST(rewrite_keeps_offset) {
    expect_rewrite("SELECT * FROM t OFFSET 10", "SELECT * FROM t OFFSET 10 LIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_INJECTED);
    expect_rewrite("SELECT * FROM t LIMIT 5000 OFFSET 10", "SELECT * FROM t LIMIT 1001 OFFSET 10", DEFAULT_BOUND,
                   GUARD_LIMIT_CLAMPED);
    expect_rewrite("SELECT * FROM t OFFSET 3 LIMIT 7", "SELECT * FROM t OFFSET 3 LIMIT 7", 7, GUARD_LIMIT_KEPT);
}
END_TEST

START_TEST(rewrite_limits_the_top_of_set_operations) {
    expect_rewrite("SELECT 1 UNION SELECT 2", "SELECT 1 UNION SELECT 2 LIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_INJECTED);
    expect_rewrite("SELECT a FROM t INTERSECT SELECT a FROM u", "SELECT a FROM t INTERSECT SELECT a FROM u LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
    expect_rewrite("SELECT a FROM t EXCEPT SELECT a FROM u", "SELECT a FROM t EXCEPT SELECT a FROM u LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
    expect_rewrite("(SELECT a FROM t LIMIT 3) UNION ALL (SELECT a FROM u)",
                   "(SELECT a FROM t LIMIT 3) UNION ALL (SELECT a FROM u) LIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_INJECTED);
    expect_rewrite("SELECT a FROM t UNION SELECT a FROM u ORDER BY 1 LIMIT 5000",
                   "SELECT a FROM t UNION SELECT a FROM u ORDER BY 1 LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_CLAMPED);
    expect_rewrite("SELECT 1 INTERSECT SELECT 2 EXCEPT SELECT 3",
                   "SELECT 1 INTERSECT SELECT 2 EXCEPT SELECT 3 LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
    /* A clamp goes through the deparser, which writes the grouping out. */
    expect_rewrite("SELECT 1 INTERSECT SELECT 2 EXCEPT SELECT 3 LIMIT ALL",
                   "(SELECT 1 INTERSECT SELECT 2) EXCEPT SELECT 3 LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_CLAMPED);
}
END_TEST

START_TEST(rewrite_limits_values) {
    expect_rewrite("VALUES (1, 'a'), (2, 'b')", "VALUES (1, 'a'), (2, 'b') LIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_INJECTED);
}
END_TEST

START_TEST(rewrite_limits_a_query_starting_with_with) {
    expect_rewrite("WITH c AS (SELECT 1 AS a) SELECT a FROM c", "WITH c AS (SELECT 1 AS a) SELECT a FROM c LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
    expect_rewrite("WITH c AS (SELECT 1) SELECT * FROM c UNION SELECT 2",
                   "WITH c AS (SELECT 1) SELECT * FROM c UNION SELECT 2 LIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_INJECTED);
    expect_rewrite("WITH c AS (SELECT 1 AS a) SELECT a FROM c LIMIT (SELECT 1)",
                   "SELECT * FROM (WITH c AS (SELECT 1 AS a) SELECT a FROM c LIMIT (SELECT 1)) "
                   "pgsafe_bounded LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_WRAPPED);
}
END_TEST

START_TEST(rewrite_drops_leading_parentheses) {
    /* The text keeps them when it parses back to the same tree; the deparser drops them. */
    expect_rewrite("((SELECT * FROM t))", "((SELECT * FROM t)) LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_INJECTED);
    expect_rewrite("(SELECT * FROM t LIMIT 5)", "(SELECT * FROM t LIMIT 5)", 5, GUARD_LIMIT_KEPT);
    expect_rewrite("((SELECT * FROM t)) LIMIT 5000", "SELECT * FROM t LIMIT 1001", DEFAULT_BOUND, GUARD_LIMIT_CLAMPED);
}
END_TEST

START_TEST(rewrite_falls_back_to_the_text_on_a_deparser_bug) {
    /* libpg_query 15-4.0 deparses (ARRAY[1, 2])[1] as ARRAY[1, 2][1], which does not parse.
     * The guard then uses the original statement text, wrapped when the LIMIT changes, and
     * still requires it to parse back to exactly the expected tree. */
    /* A clamped LIMIT is not written by appending to the text, so these reach the deparser. */
    expect_rewrite("SELECT (ARRAY[1, 2])[1] LIMIT 5000",
                   "SELECT * FROM (\nSELECT (ARRAY[1, 2])[1] LIMIT 5000\n) pgsafe_bounded LIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_WRAPPED);
    expect_rewrite("SELECT (ARRAY[1, 2])[1] LIMIT 5;", "SELECT (ARRAY[1, 2])[1] LIMIT 5", 5, GUARD_LIMIT_KEPT);
    expect_rewrite("SELECT (ARRAY[1, 2])[1]", "SELECT (ARRAY[1, 2])[1] LIMIT 1001", DEFAULT_BOUND,
                   GUARD_LIMIT_INJECTED);
    /* A trailing comment must not swallow the wrapper's closing parenthesis and LIMIT. */
    expect_rewrite("SELECT (ARRAY[1, 2])[1] LIMIT ALL -- first\n",
                   "SELECT * FROM (\nSELECT (ARRAY[1, 2])[1] LIMIT ALL -- first\n) pgsafe_bounded LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_WRAPPED);
    expect_rewrite("SELECT x FROM t WHERE a IS NOT DISTINCT FROM (b IS NOT NULL) LIMIT ALL",
                   "SELECT * FROM (\nSELECT x FROM t WHERE a IS NOT DISTINCT FROM (b IS NOT NULL) LIMIT ALL\n) "
                   "pgsafe_bounded LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_WRAPPED);
}
END_TEST

START_TEST(attribute_notation_calls_are_checked) {
    /* PostgreSQL runs x.f and (expr).f as f(x) when f is a function of one argument. */
    expect_rejected("SELECT ('/etc/passwd'::text).pg_read_file", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT t.pg_read_file FROM lower('/etc/passwd') AS t", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT (f.path).pg_ls_dir FROM files f", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT f.a.pg_sleep FROM f", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT x FROM t WHERE (t.id).pg_advisory_lock", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT ('data_directory'::text).current_setting", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT (a.pid).pg_terminate_backend FROM pg_stat_activity a", GUARD_FUNCTION_DENIED);
    expect_rejected("SELECT t.pg_stat_clear_snapshot FROM t", GUARD_FUNCTION_VOLATILE);
    /* Names nobody knows as functions are columns; stable built-in names are harmless. */
    expect_allowed("SELECT o.amount, t.date, t.count, t.position, t.random, (t.rec).name FROM t, o");
}
END_TEST

START_TEST(toast_tables_and_mapping_views_are_denied) {
    expect_rejected("SELECT * FROM pg_toast.pg_toast_1260", GUARD_RELATION_DENIED);
    expect_rejected("SELECT chunk_data FROM pg_toast.pg_toast_2619 LIMIT 1", GUARD_RELATION_DENIED);
    expect_rejected("SELECT * FROM information_schema.user_mapping_options", GUARD_RELATION_DENIED);
    expect_rejected("SELECT * FROM information_schema._pg_user_mappings", GUARD_RELATION_DENIED);
}
END_TEST

START_TEST(nul_byte_is_rejected_not_truncated) {
    static const char text[] = "SELECT 1\0; DROP TABLE t";
    guard_policy policy = default_policy();
    guard_result result = guard_check_bytes(text, sizeof text - 1, &policy);
    guard_result *owned = &result;
    REQUIRE(!result.allowed && result.code == GUARD_INVALID_INPUT, guard_result_free(owned),
            "NUL byte: expected invalid_input, got %s", guard_reason_name(result.code));
    REQUIRE(result.cursor_position == 9, guard_result_free(owned), "NUL byte at %d", result.cursor_position);
    guard_result_free(&result);
    /* Text without a NUL need not be NUL-terminated. */
    static const char prefix[] = "SELECT 1; garbage after the length";
    result = guard_check_bytes(prefix, 8, &policy);
    REQUIRE(result.allowed && strcmp(result.rewritten_sql, "SELECT 1 LIMIT 1001") == 0, guard_result_free(owned),
            "length-bounded text: %s", result.allowed ? result.rewritten_sql : result.message);
    guard_result_free(&result);
}
END_TEST

START_TEST(negative_limit_is_wrapped_so_postgresql_reports_it) {
    expect_rewrite("SELECT * FROM t LIMIT -1", "SELECT * FROM (SELECT * FROM t LIMIT -1) pgsafe_bounded LIMIT 1001",
                   DEFAULT_BOUND, GUARD_LIMIT_WRAPPED);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "internals": invariants of the guard's own code that SQL cannot reach.
 * ------------------------------------------------------------------------------------- */

/* A message with one field of a given type, to hand trees_equal what no parser makes. */
typedef struct crafted_message {
    ProtobufCMessage base;
    int64_t value;   /* the single field, whatever type the descriptor claims */
    size_t n_values; /* for the repeated variant */
    int64_t *values;
} crafted_message;

#define CRAFTED_DESCRIPTOR(descriptor_name, fields_name, field_type, field_label, count_offset, value_offset)          \
    static const ProtobufCFieldDescriptor fields_name[] = {{                                                           \
        .name = "value",                                                                                               \
        .id = 1,                                                                                                       \
        .label = field_label,                                                                                          \
        .type = field_type,                                                                                            \
        .quantifier_offset = count_offset,                                                                             \
        .offset = value_offset,                                                                                        \
    }};                                                                                                                \
    static const ProtobufCMessageDescriptor descriptor_name = {                                                        \
        .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,                                                                 \
        .name = "test.Crafted",                                                                                        \
        .short_name = "Crafted",                                                                                       \
        .c_name = "Crafted",                                                                                           \
        .package_name = "test",                                                                                        \
        .sizeof_message = sizeof(crafted_message),                                                                     \
        .n_fields = 1,                                                                                                 \
        .fields = fields_name,                                                                                         \
    }

/* A type number protobuf-c does not define. */
#define UNKNOWN_FIELD_TYPE ((ProtobufCType)77)

CRAFTED_DESCRIPTOR(int64_descriptor, int64_fields, PROTOBUF_C_TYPE_INT64, PROTOBUF_C_LABEL_REQUIRED, 0,
                   offsetof(crafted_message, value));
CRAFTED_DESCRIPTOR(unknown_descriptor, unknown_fields, UNKNOWN_FIELD_TYPE, PROTOBUF_C_LABEL_REQUIRED, 0,
                   offsetof(crafted_message, value));
CRAFTED_DESCRIPTOR(unknown_repeated_descriptor, unknown_repeated_fields, UNKNOWN_FIELD_TYPE, PROTOBUF_C_LABEL_REPEATED,
                   offsetof(crafted_message, n_values), offsetof(crafted_message, values));

static crafted_message crafted(const ProtobufCMessageDescriptor *descriptor, int64_t value, int64_t *values) {
    crafted_message message = {.base = {.descriptor = descriptor}, .value = value};
    message.n_values = values != NULL ? 1 : 0;
    message.values = values;
    return message;
}

START_TEST(compare_tells_known_scalars_apart) {
    /* The control: the crafted messages are read as intended. */
    crafted_message one = crafted(&int64_descriptor, 1, NULL), also_one = crafted(&int64_descriptor, 1, NULL);
    crafted_message two = crafted(&int64_descriptor, 2, NULL);
    ck_assert(trees_equal(&one.base, &also_one.base));
    ck_assert(!trees_equal(&one.base, &two.base));
}
END_TEST

START_TEST(compare_fails_closed_on_an_unknown_field_type) {
    /* A field type it cannot size must make the trees unequal, even when the bytes agree:
     * the size was 0 once, and a memcmp of 0 bytes said "equal" to anything. */
    crafted_message one = crafted(&unknown_descriptor, 1, NULL), also_one = crafted(&unknown_descriptor, 1, NULL);
    crafted_message two = crafted(&unknown_descriptor, 2, NULL);
    ck_assert(!trees_equal(&one.base, &two.base));
    ck_assert(!trees_equal(&one.base, &also_one.base));

    int64_t first[1] = {1}, second[1] = {2};
    crafted_message list_one = crafted(&unknown_repeated_descriptor, 0, first);
    crafted_message list_two = crafted(&unknown_repeated_descriptor, 0, second);
    ck_assert(!trees_equal(&list_one.base, &list_two.base));
}
END_TEST

static bool builtins_sorted(const char *names, const guard_builtin *table, size_t count) {
    for (size_t i = 1; i < count; i++)
        if (strcmp(builtin_name(names, &table[i - 1]), builtin_name(names, &table[i])) >= 0)
            return false;
    return true;
}

START_TEST(tables_searched_with_bsearch_are_sorted) {
    ck_assert(walk_allow_list_is_sorted());
    for (size_t i = 0; i < guard_builtin_table_count; i++) {
        const guard_builtin_table *table = guard_builtin_tables[i];
        ck_assert(builtins_sorted(table->function_names, table->functions, table->function_count));
        ck_assert(builtins_sorted(table->operator_names, table->operators, table->operator_count));
        ck_assert(builtins_sorted(table->type_names, table->types, table->type_count));
    }
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "api" (helpers): fingerprints and identifier quoting for the other layers.
 * ------------------------------------------------------------------------------------- */

START_TEST(fingerprint_ignores_constants_and_layout) {
    char first[GUARD_FINGERPRINT_SIZE], second[GUARD_FINGERPRINT_SIZE], other[GUARD_FINGERPRINT_SIZE];
    ck_assert(guard_fingerprint("SELECT a FROM t WHERE b = 1", first));
    ck_assert(guard_fingerprint("select a  from t\nwhere b = 42 -- note", second));
    ck_assert(guard_fingerprint("SELECT a FROM u WHERE b = 1", other));
    ck_assert_uint_eq(strlen(first), GUARD_FINGERPRINT_SIZE - 1);
    ck_assert_uint_eq(strspn(first, "0123456789abcdef"), GUARD_FINGERPRINT_SIZE - 1);
    ck_assert_str_eq(first, second);
    ck_assert_str_ne(first, other);
    /* Any statement has one: the fingerprint checks nothing. */
    ck_assert(guard_fingerprint("DELETE FROM t", other));
}
END_TEST

START_TEST(fingerprint_fails_without_a_parse) {
    char fingerprint[GUARD_FINGERPRINT_SIZE] = "x";
    ck_assert(!guard_fingerprint("SELECT FROM WHERE", fingerprint));
    ck_assert_str_eq(fingerprint, "");
    ck_assert(!guard_fingerprint(NULL, fingerprint));
    ck_assert_str_eq(fingerprint, "");
    /* Deeper than the guard would parse: refused before the recursive fingerprint walk. */
    char *deep = build_nested("SELECT 1", "+1", "", "", 30000);
    bool ok = guard_fingerprint(deep, fingerprint);
    free(deep);
    ck_assert(!ok);
}
END_TEST

static void expect_quoted(const char *name, const char *expected) {
    char *quoted = guard_quote_identifier(name);
    bool same = quoted != NULL && strcmp(quoted, expected) == 0;
    char shown[256];
    snprintf(shown, sizeof shown, "%s", quoted != NULL ? quoted : "(null)");
    free(quoted);
    ck_assert_msg(same, "%s quoted as %s, expected %s", name, shown, expected);
}

START_TEST(quote_identifier_quotes_as_quote_ident_does) {
    expect_quoted("reader", "reader");
    expect_quoted("_x1", "_x1");
    expect_quoted("name", "name");           /* unreserved keyword: bare */
    expect_quoted("select", "\"select\"");   /* reserved */
    expect_quoted("user", "\"user\"");       /* reserved */
    expect_quoted("between", "\"between\""); /* column-name keyword */
    expect_quoted("Reader", "\"Reader\"");
    expect_quoted("1st", "\"1st\"");
    expect_quoted("a b", "\"a b\"");
    expect_quoted("", "\"\"");
    expect_quoted("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect_quoted("caf\xc3\xa9", "\"caf\xc3\xa9\"");
    ck_assert_ptr_null(guard_quote_identifier(NULL));
}
END_TEST

/* guard_bound_rows: the wrapper holds the checked text as its innermost subquery, caps the
 * capped columns only, flags over the row budget, and refuses what it cannot prove. */
START_TEST(bound_rows_wraps_only_a_checked_statement) {
    static const bool capped[] = {true, false};
    guard_row_bound bound = {.column_count = 2, .capped = capped, .cap_characters = 9, .row_bytes = 100};
    char *sql = guard_bound_rows("SELECT t, n FROM x ORDER BY n LIMIT 5 -- trailing", &bound);
    ck_assert_ptr_nonnull(sql);
    ck_assert_ptr_nonnull(strstr(sql, "(\nSELECT t, n FROM x ORDER BY n LIMIT 5 -- trailing\n) pgsafe_row(c1, c2)"));
    ck_assert_ptr_nonnull(strstr(sql, "pg_catalog.substr(pg_catalog.concat(c1), 1, 9)"));
    ck_assert_ptr_null(strstr(sql, "concat(c2)"));
    ck_assert_ptr_nonnull(strstr(sql, "ARRAY[c1]::pg_catalog.text[], '')) OPERATOR(pg_catalog.>) 100 AS pgsafe_over"));
    free(sql);
    /* A text that is not one statement on its own cannot be proven, however it would nest. */
    ck_assert_ptr_null(guard_bound_rows("SELECT 1 AS a\n) pgsafe_row(c1, c2) OFFSET 0) y, (SELECT 2", &bound));
    ck_assert_ptr_null(guard_bound_rows("SELECT 1; SELECT 2", &bound));
    ck_assert_ptr_null(guard_bound_rows("SELECT 1 /* open", &bound));
    bound.column_count = 0;
    ck_assert_ptr_null(guard_bound_rows("SELECT", &bound));
    bound.column_count = GUARD_BOUND_MAX_COLUMNS + 1;
    ck_assert_ptr_null(guard_bound_rows("SELECT 1", &bound));
    /* As many columns as allowed, keywords and all: the text's token bound does not apply. */
    bool many[GUARD_BOUND_MAX_COLUMNS];
    for (int i = 0; i < GUARD_BOUND_MAX_COLUMNS; i++)
        many[i] = true;
    bound =
        (guard_row_bound){.column_count = GUARD_BOUND_MAX_COLUMNS, .capped = many, .cap_characters = 1, .row_bytes = 1};
    sql = guard_bound_rows("SELECT * FROM wide", &bound);
    ck_assert_ptr_nonnull(sql);
    free(sql);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "invariants": properties of every allowed query's rewrite.
 * ------------------------------------------------------------------------------------- */

static const char *const allowed_queries[] = {
    "SELECT 1",
    "SELECT (ARRAY[1, 2])[1]",
    "SELECT (ARRAY['a', 'b'])[i] FROM t LIMIT 3 -- deparser drops the parentheses",
    "SELECT XMLEXISTS('//a' PASSING xml '<a/>')",
    "SELECT * FROM t",
    "SELECT a, b FROM t WHERE a > 1 ORDER BY b DESC",
    "SELECT DISTINCT a FROM t",
    "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b",
    "SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 1",
    "SELECT a, b, sum(c) FROM t GROUP BY ROLLUP (a, b)",
    "SELECT a, sum(c) FROM t GROUP BY CUBE (a, b)",
    "SELECT a, b FROM t GROUP BY GROUPING SETS ((a), (b), ())",
    "SELECT a, row_number() OVER (PARTITION BY b ORDER BY c) FROM t",
    "SELECT a, sum(b) OVER w FROM t WINDOW w AS (ORDER BY a ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)",
    "SELECT * FROM t LIMIT 5",
    "SELECT * FROM t LIMIT 0",
    "SELECT * FROM t LIMIT 5000",
    "SELECT * FROM t LIMIT ALL",
    "SELECT * FROM t LIMIT NULL",
    "SELECT * FROM t LIMIT (SELECT 5)",
    "SELECT * FROM t LIMIT 10*1000*1000",
    "SELECT * FROM t LIMIT 2.5",
    "SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS WITH TIES",
    "SELECT * FROM t ORDER BY a OFFSET 2 ROWS FETCH FIRST 5 ROWS WITH TIES",
    "SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS ONLY",
    "SELECT * FROM t OFFSET 10",
    "SELECT * FROM t LIMIT 10 OFFSET 20",
    "SELECT 1 UNION SELECT 2",
    "SELECT 1 UNION ALL SELECT 2 ORDER BY 1",
    "SELECT a FROM t INTERSECT SELECT a FROM u",
    "SELECT a FROM t EXCEPT ALL SELECT a FROM u",
    "(SELECT a FROM t LIMIT 3) UNION (SELECT a FROM u LIMIT 4000)",
    "VALUES (1, 'a'), (2, 'b')",
    "WITH c AS (SELECT 1 AS a) SELECT a FROM c",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT n FROM r",
    "WITH c AS MATERIALIZED (SELECT * FROM t), d AS NOT MATERIALIZED (SELECT 2) "
    "SELECT * FROM c, d",
    "WITH RECURSIVE tree(id, parent) AS (SELECT id, parent FROM nodes WHERE parent IS NULL "
    "UNION ALL SELECT n.id, n.parent FROM nodes n JOIN tree ON n.parent = tree.id) "
    "SEARCH DEPTH FIRST BY id SET ord SELECT * FROM tree ORDER BY ord",
    "WITH RECURSIVE g(id, link) AS (SELECT 1, 2 UNION ALL SELECT g.link, g.link + 1 FROM g) "
    "CYCLE id SET is_cycle USING path SELECT * FROM g",
    "((SELECT 1))",
    "SELECT * FROM t JOIN u ON t.id = u.t_id LEFT JOIN v USING (id)",
    "SELECT * FROM t CROSS JOIN u FULL OUTER JOIN v ON true NATURAL JOIN w",
    "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.id = t.id LIMIT 1) s",
    "SELECT * FROM generate_series(1, 10) AS g(n)",
    "SELECT * FROM ROWS FROM (generate_series(1, 3), unnest(ARRAY['a', 'b'])) WITH ORDINALITY "
    "AS x(n, s, i)",
    "SELECT * FROM json_to_record('{\"a\":1}') AS r(a int)",
    "SELECT CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' ELSE 'zero' END FROM t",
    "SELECT COALESCE(a, 0), NULLIF(b, 0), GREATEST(a, b), LEAST(a, b) FROM t",
    "SELECT * FROM t WHERE a IS DISTINCT FROM b AND c IN (1, 2, 3) AND d IS NOT NULL",
    "SELECT * FROM t WHERE name LIKE 'a%' OR name ILIKE 'b%' OR name SIMILAR TO 'c%'",
    "SELECT * FROM t WHERE a BETWEEN 1 AND 10 AND b NOT BETWEEN SYMMETRIC 5 AND 2",
    "SELECT * FROM t WHERE a = ANY (SELECT b FROM u) AND EXISTS (SELECT 1 FROM v) "
    "AND c > ALL (SELECT c FROM w)",
    "SELECT ARRAY[1, 2, 3], ROW(1, 'a'), ('{1,2}'::int[])[1], ('{1,2,3}'::int[])[1:2]",
    "SELECT (t.composite).field, t.arr[2] FROM t",
    "SELECT a::text, CAST(b AS numeric(10, 2)), c::timestamptz, d::int[] FROM t",
    "SELECT name COLLATE \"C\" FROM t ORDER BY 1",
    "SELECT count(*) FILTER (WHERE a > 0), string_agg(b, ',' ORDER BY b) FROM t",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a) FROM t",
    "SELECT xmlelement(name foo, xmlattributes(1 AS bar), 'text'), xmlforest(a, b) FROM t",
    "SELECT * FROM t, XMLTABLE('/rows/row' PASSING t.doc COLUMNS a int PATH 'a')",
    "SELECT CURRENT_DATE, CURRENT_TIMESTAMP, CURRENT_USER, SESSION_USER, LOCALTIME",
    "SELECT now(), random(), clock_timestamp(), gen_random_uuid()",
    "SELECT current_setting('server_version')",
    "SELECT pg_relation_size('t'), pg_total_relation_size('t')",
    "SELECT * FROM t TABLESAMPLE SYSTEM (10)",
    "SELECT * FROM t TABLESAMPLE BERNOULLI (5) REPEATABLE (42)",
    "TABLE t",
    "SELECT relname FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace",
    "SELECT * FROM information_schema.columns WHERE table_name = 't'",
    "SELECT '\xc3\xa9\xc3\xa9' AS \"\xc3\xbcn\xc3\xaf"
    "code\", U&'\\0041' AS u, E'tab\\t' AS e, "
    "$$dollar$$ AS d",
    "SELECT /* comment */ 1 -- trailing",
    "SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)",
    "SELECT x FROM t WHERE x ~ '^a' AND y @> ARRAY[1] AND z::jsonb ? 'k'",
    "SELECT EXTRACT(year FROM now()), date_trunc('month', now()), now() - interval '1 day'",
    "SELECT a FROM t ORDER BY a NULLS LAST LIMIT 1001",
    "SELECT 1;",
};

/* Parses sql and reads its top-level LIMIT into *limit. Returns NULL when sql is one
 * SelectStmt whose limit_count is an integer constant with limit_option COUNT, otherwise
 * what is wrong. */
static const char *top_level_limit_problem(const char *sql, long long *limit) {
    PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(sql);
    if (parsed.error != NULL) {
        pg_query_free_protobuf_parse_result(parsed);
        return "it does not parse";
    }
    PgQuery__ParseResult *tree =
        pg_query__parse_result__unpack(NULL, parsed.parse_tree.len, (const uint8_t *)parsed.parse_tree.data);
    pg_query_free_protobuf_parse_result(parsed);
    if (tree == NULL)
        return "its parse tree cannot be unpacked";

    const char *problem = NULL;
    if (tree->n_stmts != 1) {
        problem = "it is not exactly one statement";
    } else if (tree->stmts[0]->stmt == NULL || tree->stmts[0]->stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
        problem = "it is not a SelectStmt";
    } else {
        const PgQuery__SelectStmt *select = tree->stmts[0]->stmt->select_stmt;
        const PgQuery__Node *count = select->limit_count;
        if (select->limit_option != PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_COUNT)
            problem = "its limit_option is not COUNT";
        else if (count == NULL || count->node_case != PG_QUERY__NODE__NODE_A_CONST || count->a_const->isnull ||
                 count->a_const->val_case != PG_QUERY__A__CONST__VAL_IVAL)
            problem = "its limit_count is not an integer constant";
        else
            *limit = count->a_const->ival != NULL ? count->a_const->ival->ival : 0;
    }
    pg_query__parse_result__free_unpacked(tree, NULL);
    return problem;
}

START_TEST(rewrite_is_one_select_with_a_constant_bounded_limit) {
    const char *sql = allowed_queries[_i];
    guard_policy policy = default_policy();
    policy.allow_xpath = true; /* the list holds XML constructs the deparser gets wrong */
    guard_result result = run_guard(sql, &policy);
    guard_result *owned = &result;
    REQUIRE(result.allowed, guard_result_free(owned), "%s: expected allowed, got %s (%s; %s)", sql,
            guard_reason_name(result.code), result.message, or_none(result.detail));
    long long limit = -1;
    const char *problem = top_level_limit_problem(result.rewritten_sql, &limit);
    REQUIRE(problem == NULL, guard_result_free(owned), "%s: rewrite %s: %s", sql, result.rewritten_sql, problem);
    REQUIRE(limit >= 0 && limit <= DEFAULT_BOUND, guard_result_free(owned), "%s: LIMIT %lld", result.rewritten_sql,
            limit);
    REQUIRE(limit == result.applied_limit, guard_result_free(owned), "%s: LIMIT %lld but applied_limit %lld",
            result.rewritten_sql, limit, result.applied_limit);
    guard_result_free(&result);
}
END_TEST

START_TEST(rewrite_is_a_fixed_point) {
    const char *sql = allowed_queries[_i];
    guard_policy policy = default_policy();
    policy.allow_xpath = true; /* the list holds XML constructs the deparser gets wrong */
    guard_result first = run_guard(sql, &policy);
    guard_result *owned = &first;
    REQUIRE(first.allowed, guard_result_free(owned), "%s: expected allowed, got %s (%s)", sql,
            guard_reason_name(first.code), first.message);
    expect_fixed_point(sql, &first, &policy);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "api": result lifetime and names.
 * ------------------------------------------------------------------------------------- */

static void assert_cleared(const guard_result *result) {
    ck_assert(!result->allowed);
    ck_assert_int_eq(result->code, GUARD_OK);
    ck_assert_ptr_null(result->message);
    ck_assert_ptr_null(result->detail);
    ck_assert_ptr_null(result->hint);
    ck_assert_ptr_null(result->rewritten_sql);
    ck_assert_int_eq(result->cursor_position, 0);
    ck_assert(result->applied_limit == 0);
    ck_assert_int_eq(result->limit_action, GUARD_LIMIT_NONE);
}

START_TEST(free_of_a_cleared_result_is_safe) {
    guard_result result = {0};
    guard_result_free(&result);
    assert_cleared(&result);
}
END_TEST

START_TEST(free_clears_so_a_second_free_is_safe) {
    guard_policy policy = default_policy();
    guard_result allowed = guard_check("SELECT 1", &policy);
    bool was_allowed = allowed.allowed;
    guard_result_free(&allowed);
    ck_assert(was_allowed);
    assert_cleared(&allowed);
    guard_result_free(&allowed);
    assert_cleared(&allowed);

    guard_result rejected = guard_check("SELECT * FROM pg_authid WHERE pg_sleep(1)", &policy);
    bool was_rejected = !rejected.allowed && rejected.message != NULL && rejected.hint != NULL;
    guard_result_free(&rejected);
    ck_assert(was_rejected);
    assert_cleared(&rejected);
    guard_result_free(&rejected);
    assert_cleared(&rejected);
}
END_TEST

START_TEST(reason_names_are_stable_and_unique) {
    static const char *const expected[GUARD_REASON_COUNT] = {
        "ok",
        "syntax_error",
        "empty_query",
        "multiple_statements",
        "not_select",
        "select_into",
        "locking_clause",
        "parameter",
        "construct_not_allowed",
        "function_denied",
        "function_volatile",
        "function_unknown",
        "operator_not_allowed",
        "type_not_allowed",
        "relation_denied",
        "too_complex",
        "input_too_large",
        "invalid_input",
        "rewrite_failed",
        "internal_error",
        "uninterruptible",
        "value_too_large",
        "hidden_function",
        "relation_not_allowed",
        "column_denied",
        "policy_unverifiable",
        "too_costly",
    };
    for (int code = 0; code < GUARD_REASON_COUNT; code++) {
        const char *name = guard_reason_name((guard_reason)code);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_ne(name, "unknown");
        ck_assert_str_eq(name, expected[code]);
        for (int other = 0; other < code; other++)
            ck_assert_str_ne(name, guard_reason_name((guard_reason)other));
    }
    ck_assert_str_eq(guard_reason_name(GUARD_REASON_COUNT), "unknown");
    ck_assert_str_eq(guard_reason_name((guard_reason)(GUARD_REASON_COUNT + 100)), "unknown");
    ck_assert_str_eq(guard_reason_name((guard_reason)-1), "unknown");
}
END_TEST

START_TEST(limit_action_names) {
    ck_assert_str_eq(guard_limit_action_name(GUARD_LIMIT_NONE), "none");
    ck_assert_str_eq(guard_limit_action_name(GUARD_LIMIT_KEPT), "kept");
    ck_assert_str_eq(guard_limit_action_name(GUARD_LIMIT_INJECTED), "injected");
    ck_assert_str_eq(guard_limit_action_name(GUARD_LIMIT_CLAMPED), "clamped");
    ck_assert_str_eq(guard_limit_action_name(GUARD_LIMIT_WRAPPED), "wrapped");
}
END_TEST

START_TEST(grammar_version_is_libpg_query_s) {
    ck_assert_str_eq(guard_grammar_version(), PG_VERSION);
    ck_assert_str_eq(guard_grammar_version(), "15.1");
}
END_TEST

START_TEST(policy_is_not_modified) {
    static const char *const extra[] = {"pg_jit_available", NULL};
    guard_policy policy = default_policy();
    policy.allowed_functions = extra;
    guard_policy copy = policy;
    guard_result result = guard_check("SELECT pg_jit_available() FROM pg_authid", &policy);
    guard_result_free(&result);
    ck_assert_mem_eq(&policy, &copy, sizeof policy);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Runner
 * ------------------------------------------------------------------------------------- */

/* Adds a test case named name with the given tests to suite; generous timeout for valgrind. */
static TCase *add_case(Suite *suite, const char *name) {
    TCase *test_case = tcase_create(name);
    tcase_set_timeout(test_case, 120);
    suite_add_tcase(suite, test_case);
    return test_case;
}

static Suite *reasons_suite(void) {
    Suite *suite = suite_create("reasons");
    TCase *tc = add_case(suite, "syntax_error");
    tcase_add_test(tc, syntax_error_points_at_the_bad_token);
    tcase_add_test(tc, syntax_error_position_counts_characters_not_bytes);
    tcase_add_test(tc, syntax_error_on_other_dialects);

    tc = add_case(suite, "statements");
    tcase_add_test(tc, empty_query_is_rejected);
    tcase_add_test(tc, multiple_statements_are_rejected);
    tcase_add_test(tc, trailing_semicolon_is_one_statement);
    tcase_add_loop_test(tc, not_select_is_rejected, 0, (int)ARRAY_LENGTH(not_select_queries));
    tcase_add_test(tc, select_into_is_rejected);
    tcase_add_test(tc, locking_clause_is_rejected);
    tcase_add_test(tc, locking_clause_in_subquery_and_cte_is_rejected);
    tcase_add_test(tc, parameter_is_rejected);
    tcase_add_test(tc, writable_cte_is_not_allowed);
    tcase_add_test(tc, other_constructs_are_not_allowed);

    tc = add_case(suite, "objects");
    tcase_add_test(tc, function_denied_names_the_category);
    tcase_add_test(tc, function_denied_through_qualification_and_quoting);
    tcase_add_test(tc, function_denied_in_from_and_nested_positions);
    tcase_add_test(tc, function_volatile_is_rejected);
    tcase_add_test(tc, function_unknown_is_rejected);
    tcase_add_test(tc, operator_not_allowed);
    tcase_add_test(tc, type_not_allowed);
    tcase_add_test(tc, relation_denied_everywhere);
    tcase_add_test(tc, other_catalogs_are_allowed);
    tcase_add_test(tc, cursor_points_at_the_denied_function);
    tcase_add_test(tc, cursor_points_at_the_denied_relation);
    tcase_add_test(tc, first_problem_in_tree_order_is_reported);
    tcase_add_test(tc, attribute_notation_calls_are_checked);
    tcase_add_test(tc, toast_tables_and_mapping_views_are_denied);
    tcase_add_test(tc, nul_byte_is_rejected_not_truncated);
    tcase_add_test(tc, negative_limit_is_wrapped_so_postgresql_reports_it);

    tc = add_case(suite, "depth");
    tcase_add_test(tc, left_nested_expression_is_too_complex);
    tcase_add_test(tc, nested_subqueries_are_too_complex);
    tcase_add_test(tc, deeply_nested_function_calls_are_too_complex);
    tcase_add_test(tc, nested_parentheses_add_no_depth);

    tc = add_case(suite, "depth_extreme");
    tcase_set_tags(tc, "extreme");
    tcase_add_test(tc, deep_left_nested_expression_is_too_complex);
    tcase_add_test(tc, very_deep_left_nested_expression_is_too_complex);
    tcase_add_test(tc, deeply_nested_subqueries_are_too_complex);
    tcase_add_test(tc, deep_chain_just_under_the_text_check_is_too_complex);
    tcase_add_test(tc, long_chain_of_casts_is_too_complex);
    tcase_add_test(tc, parser_stack_exhaustion_is_too_complex);
    tcase_add_test(tc, long_flat_lists_are_allowed);

    tc = add_case(suite, "limits");
    tcase_add_test(tc, input_too_large_is_rejected);
    tcase_add_test(tc, default_max_sql_bytes_is_one_mebibyte);
    tcase_add_test(tc, invalid_utf8_is_rejected);
    return suite;
}

static Suite *functions_suite(void) {
    Suite *suite = suite_create("functions");
    TCase *tc = add_case(suite, "special_cases");
    tcase_add_test(tc, harmless_volatile_functions_are_allowed);
    tcase_add_test(tc, current_setting_depends_on_its_argument);
    tcase_add_test(tc, ts_rewrite_with_a_query_string_is_denied);
    tcase_add_test(tc, ts_rewrite_with_three_queries_is_allowed);
    tcase_add_test(tc, immutable_and_stable_builtins_are_allowed);
    return suite;
}

static Suite *policy_suite(void) {
    Suite *suite = suite_create("policy");
    TCase *tc = add_case(suite, "knobs");
    tcase_add_test(tc, allowed_functions_admit_a_volatile_builtin);
    tcase_add_test(tc, denied_functions_extend_the_deny_list);
    tcase_add_test(tc, denied_relations_extend_the_defaults);
    tcase_add_test(tc, denied_relation_detail_names_the_configuration);
    tcase_add_test(tc, qualified_deny_entries_catch_unqualified_names);
    tcase_add_test(tc, allowed_relations_remove_from_the_defaults);
    tcase_add_test(tc, max_rows_sets_the_bound);
    tcase_add_test(tc, out_of_range_max_rows_fails_closed);

    tc = add_case(suite, "catalog");
    tcase_add_test(tc, catalog_resolves_user_objects);
    tcase_add_test(tc, catalog_cannot_admit_functions_that_run_sql_from_strings);
    tcase_add_test(tc, without_catalog_user_objects_are_unknown);
    return suite;
}

static Suite *rewrite_suite(void) {
    Suite *suite = suite_create("rewrite");
    TCase *tc = add_case(suite, "limit");
    tcase_add_test(tc, rewrite_injects_a_missing_limit);
    tcase_add_test(tc, rewrite_keeps_a_small_constant_limit);
    tcase_add_test(tc, rewrite_clamps_a_large_limit);
    tcase_add_test(tc, rewrite_clamps_limit_all_and_null);
    tcase_add_test(tc, rewrite_wraps_a_non_constant_limit);
    tcase_add_test(tc, rewrite_wraps_with_ties);
    tcase_add_test(tc, rewrite_keeps_offset);
    tcase_add_test(tc, rewrite_limits_the_top_of_set_operations);
    tcase_add_test(tc, rewrite_limits_values);
    tcase_add_test(tc, rewrite_limits_a_query_starting_with_with);
    tcase_add_test(tc, rewrite_drops_leading_parentheses);
    tcase_add_test(tc, rewrite_falls_back_to_the_text_on_a_deparser_bug);
    return suite;
}

static Suite *invariants_suite(void) {
    Suite *suite = suite_create("invariants");
    TCase *tc = add_case(suite, "allowed_queries");
    tcase_add_loop_test(tc, rewrite_is_one_select_with_a_constant_bounded_limit, 0, (int)ARRAY_LENGTH(allowed_queries));
    tcase_add_loop_test(tc, rewrite_is_a_fixed_point, 0, (int)ARRAY_LENGTH(allowed_queries));
    return suite;
}

static Suite *internals_suite(void) {
    Suite *suite = suite_create("internals");
    TCase *tc = add_case(suite, "compare");
    tcase_add_test(tc, compare_tells_known_scalars_apart);
    tcase_add_test(tc, compare_fails_closed_on_an_unknown_field_type);
    tc = add_case(suite, "tables");
    tcase_add_test(tc, tables_searched_with_bsearch_are_sorted);
    return suite;
}

static Suite *api_suite(void) {
    Suite *suite = suite_create("api");
    TCase *tc = add_case(suite, "api");
    tcase_add_test(tc, fingerprint_ignores_constants_and_layout);
    tcase_add_test(tc, fingerprint_fails_without_a_parse);
    tcase_add_test(tc, quote_identifier_quotes_as_quote_ident_does);
    tcase_add_test(tc, bound_rows_wraps_only_a_checked_statement);
    tcase_add_test(tc, free_of_a_cleared_result_is_safe);
    tcase_add_test(tc, free_clears_so_a_second_free_is_safe);
    tcase_add_test(tc, reason_names_are_stable_and_unique);
    tcase_add_test(tc, limit_action_names);
    tcase_add_test(tc, grammar_version_is_libpg_query_s);
    tcase_add_test(tc, policy_is_not_modified);
    return suite;
}

/* libpg_query keeps a per-thread memory context, created on first use. pg_query_exit
 * releases it, so valgrind sees no leak, but crashes when it was never created, as in the
 * parent of a forking run: create it first. */
static void release_parser_memory(void) {
    PgQueryProtobufParseResult parsed = pg_query_parse_protobuf("SELECT 1");
    pg_query_free_protobuf_parse_result(parsed);
    pg_query_exit();
}

int main(void) {
    SRunner *runner = srunner_create(reasons_suite());
    srunner_add_suite(runner, functions_suite());
    srunner_add_suite(runner, policy_suite());
    srunner_add_suite(runner, rewrite_suite());
    srunner_add_suite(runner, invariants_suite());
    srunner_add_suite(runner, internals_suite());
    srunner_add_suite(runner, api_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    release_parser_memory();
    return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
