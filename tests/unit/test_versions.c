/* Unit tests of the guard across PostgreSQL major versions: one built-in table per major,
 * chosen through policy.server_version; every function a newer major added is reviewed by a
 * list of the policy; function_unknown names the version and hints only where it fits; a
 * syntax error on a newer server says what the PostgreSQL 15 grammar does not understand. */
#include <check.h>
#include <pg_query.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "internal.h"
#include "pgsafe/guard.h"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

static guard_policy policy_for(int major) {
    guard_policy policy;
    guard_policy_init(&policy);
    policy.server_version = major;
    return policy;
}

/* Checks sql for a server of `major`; the caller frees the result. */
static guard_result check_on(const char *sql, int major) {
    guard_policy policy = policy_for(major);
    return guard_check(sql, &policy);
}

static bool contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

static void expect_allowed_on(const char *sql, int major) {
    guard_result result = check_on(sql, major);
    char why[512];
    snprintf(why, sizeof why, "%s on %d: %s (%s)", sql, major, guard_reason_name(result.code),
             result.detail != NULL ? result.detail : "");
    bool allowed = result.allowed;
    guard_result_free(&result);
    ck_assert_msg(allowed, "expected allowed: %s", why);
}

static void expect_code_on(const char *sql, int major, guard_reason code) {
    guard_result result = check_on(sql, major);
    guard_reason got = result.code;
    guard_result_free(&result);
    ck_assert_msg(got == code, "%s on %d: expected %s, got %s", sql, major, guard_reason_name(code),
                  guard_reason_name(got));
}

/* ---- the tables ---- */

START_TEST(tables_are_sorted_and_cover_every_major) {
    ck_assert_uint_ge(guard_builtin_table_count, 4);
    for (size_t t = 0; t < guard_builtin_table_count; t++) {
        const guard_builtin_table *table = guard_builtin_tables[t];
        if (t > 0)
            ck_assert_int_eq(table->major, guard_builtin_tables[t - 1]->major + 1);
        ck_assert_int_eq(atoi(table->version), table->major);
        const struct {
            const char *names;
            const guard_builtin *entries;
            size_t count;
        } lists[] = {{table->function_names, table->functions, table->function_count},
                     {table->operator_names, table->operators, table->operator_count},
                     {table->type_names, table->types, table->type_count}};
        for (size_t l = 0; l < ARRAY_LENGTH(lists); l++) {
            ck_assert_uint_gt(lists[l].count, 10);
            for (size_t i = 1; i < lists[l].count; i++)
                ck_assert_msg(strcmp(builtin_name(lists[l].names, &lists[l].entries[i - 1]),
                                     builtin_name(lists[l].names, &lists[l].entries[i])) < 0,
                              "PostgreSQL %d: %s before %s", table->major,
                              builtin_name(lists[l].names, &lists[l].entries[i - 1]),
                              builtin_name(lists[l].names, &lists[l].entries[i]));
        }
    }
}
END_TEST

START_TEST(the_table_follows_the_server_version) {
    int newest = guard_builtin_tables[guard_builtin_table_count - 1]->major;
    int oldest = guard_builtin_tables[0]->major;
    ck_assert_int_eq(oldest, 15);
    ck_assert_int_eq(guard_builtins_version(0), newest);
    ck_assert_int_eq(guard_builtins_version(newest + 1), newest);
    ck_assert_int_eq(guard_builtins_version(oldest - 1), oldest);
    for (int major = oldest; major <= newest; major++) {
        ck_assert_int_eq(guard_builtins_version(major), major);
        ck_assert_int_eq(builtin_table_for(major)->major, major);
    }
}
END_TEST

START_TEST(server_major_is_read_from_server_version) {
    ck_assert_int_eq(guard_server_major("17.10"), 17);
    ck_assert_int_eq(guard_server_major("15.4 (Debian 15.4-1.pgdg120+1)"), 15);
    ck_assert_int_eq(guard_server_major("18beta1"), 18);
    ck_assert_int_eq(guard_server_major("9.6.24"), 9);
    ck_assert_int_eq(guard_server_major(NULL), 0);
    ck_assert_int_eq(guard_server_major(""), 0);
    ck_assert_int_eq(guard_server_major("PostgreSQL 17"), 0);
    ck_assert_int_eq(guard_server_major("99999999999999999999"), 0);
}
END_TEST

/* The next major cannot slip in unreviewed: every function a table added after the oldest
 * one that is volatile or denied must be named exactly by a list of the policy. */
START_TEST(every_new_volatile_or_denied_builtin_is_reviewed) {
    const guard_builtin_table *oldest = guard_builtin_tables[0];
    int unreviewed = 0;
    for (size_t t = 1; t < guard_builtin_table_count; t++) {
        const guard_builtin_table *table = guard_builtin_tables[t];
        for (size_t i = 0; i < table->function_count; i++) {
            const guard_builtin *function = &table->functions[i];
            const char *name = builtin_name(table->function_names, function);
            if (builtin_function_volatility(oldest, name) != GUARD_VOLATILITY_UNKNOWN)
                continue;
            bool needs_review = function->volatility == 'v' || policy_function_denied(name);
            if (needs_review && !policy_function_reviewed(name)) {
                fprintf(stderr, "unreviewed: %s (PostgreSQL %d, volatility %c)\n", name, table->major,
                        function->volatility);
                unreviewed++;
            }
        }
    }
    ck_assert_msg(unreviewed == 0,
                  "%d functions added after PostgreSQL %d are not reviewed in src/guard/policy_lists.c", unreviewed,
                  oldest->major);
}
END_TEST

/* ---- decisions on the functions newer majors added ---- */

static const char *const denied_new_functions[] = {
    "pg_restore_relation_stats",
    "pg_restore_attribute_stats",
    "pg_clear_relation_stats",
    "pg_clear_attribute_stats",
    "pg_stat_reset_backend_stats",
    "pg_sync_replication_slots",
    "pg_log_standby_snapshot",
    "pg_wal_summary_contents",
    "pg_available_wal_summaries",
    "pg_get_wal_summarizer_state",
    "pg_ls_summariesdir",
    "pg_get_loaded_modules",
    "pg_get_aios",
    "pg_get_shmem_allocations_numa",
    "pg_stat_get_backend_io",
    "pg_stat_get_backend_wal",
    "pg_get_sequence_data",
    "pg_column_toast_chunk_id",
    "has_largeobject_privilege",
};

/* The guard checks only the operator's deny entries against the built-ins PostgreSQL calls
 * without a name (implicit.c): the built-in deny list must never name one of them, or every
 * query would run a denied function. The tables know the comparison operators' functions and
 * every cast and input function (the live catalog's I/O and support functions were checked
 * against it on PostgreSQL 15 to 18 when the list was last changed). */
START_TEST(built_in_deny_list_names_no_implicitly_called_built_in) {
    static const char *const comparisons[] = {"=", "<>", "<", ">", "<=", ">="};
    for (size_t t = 0; t < guard_builtin_table_count; t++) {
        const guard_builtin_table *table = guard_builtin_tables[t];
        size_t checked = 0;
        for (size_t o = 0; o < sizeof comparisons / sizeof *comparisons; o++) {
            size_t count = 0;
            const guard_builtin_call *calls = builtin_operator_calls(table, comparisons[o], &count);
            for (size_t i = 0; i < count; i++, checked++)
                ck_assert_msg(!policy_function_denied(table->function_names + calls[i].function), "%d: %s",
                              table->major, table->function_names + calls[i].function);
        }
        for (size_t i = 0; i < table->cast_call_count; i++, checked++)
            ck_assert_msg(!policy_function_denied(table->function_names + table->cast_calls[i].function), "%d: %s",
                          table->major, table->function_names + table->cast_calls[i].function);
        ck_assert_uint_gt(checked, 500);
    }
}
END_TEST

START_TEST(dangerous_new_functions_are_denied) {
    for (size_t i = 0; i < ARRAY_LENGTH(denied_new_functions); i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT %s()", denied_new_functions[i]);
        expect_code_on(sql, 18, GUARD_FUNCTION_DENIED);
        ck_assert_msg(policy_function_reviewed(denied_new_functions[i]), "%s", denied_new_functions[i]);
    }
}
END_TEST

START_TEST(harmless_new_volatile_functions_are_allowed_where_they_exist) {
    expect_allowed_on("SELECT random_normal(), array_shuffle(ARRAY[1, 2]), array_sample(ARRAY[1, 2], 1)", 16);
    expect_allowed_on("SELECT uuidv4(), uuidv7()", 18);
    expect_code_on("SELECT uuidv7()", 17, GUARD_FUNCTION_UNKNOWN);
    expect_code_on("SELECT random_normal()", 15, GUARD_FUNCTION_UNKNOWN);
    /* Left volatile on review: refused as such, not as unknown. */
    expect_code_on("SELECT pg_stat_get_io()", 16, GUARD_FUNCTION_VOLATILE);
}
END_TEST

START_TEST(new_stable_functions_follow_the_version) {
    const struct {
        const char *sql;
        int added;
    } cases[] = {
        {"SELECT any_value(x) FROM t", 16},
        {"SELECT date_add(now(), interval '1 day')", 16},
        {"SELECT to_bin(10), to_oct(8)", 17},
        {"SELECT array_reverse(ARRAY[1, 2]), crc32('a'::bytea)", 18},
    };
    for (size_t i = 0; i < ARRAY_LENGTH(cases); i++) {
        for (int major = 15; major <= 18; major++) {
            if (major >= cases[i].added)
                expect_allowed_on(cases[i].sql, major);
            else
                expect_code_on(cases[i].sql, major, GUARD_FUNCTION_UNKNOWN);
        }
        expect_allowed_on(cases[i].sql, 0);  /* the newest table */
        expect_allowed_on(cases[i].sql, 42); /* newer than every table: the newest */
    }
}
END_TEST

START_TEST(removed_functions_follow_the_version) {
    /* pg_timezone_abbrevs() became a view over two functions in 18. */
    expect_allowed_on("SELECT * FROM pg_timezone_abbrevs()", 17);
    expect_code_on("SELECT * FROM pg_timezone_abbrevs()", 18, GUARD_FUNCTION_UNKNOWN);
}
END_TEST

/* ---- function_unknown: the version and a fitting hint ---- */

START_TEST(unknown_function_names_the_table_version_and_when_it_was_added) {
    guard_result result = check_on("SELECT any_value(x) FROM t", 15);
    ck_assert_int_eq(result.code, GUARD_FUNCTION_UNKNOWN);
    ck_assert_msg(contains(result.detail, "PostgreSQL 15 built-in"), "%s", result.detail);
    ck_assert_msg(contains(result.detail, "PostgreSQL 16 added it"), "%s", result.detail);
    ck_assert_msg(contains(result.hint, "PostgreSQL 16 or later"), "%s", result.hint);
    ck_assert_msg(!contains(result.hint, "YEAR"), "%s", result.hint);
    guard_result_free(&result);

    result = check_on("SELECT no_such_function(1)", 17);
    ck_assert_msg(contains(result.detail, "PostgreSQL 17 built-in"), "%s", result.detail);
    ck_assert_msg(!contains(result.detail, "added it"), "%s", result.detail);
    ck_assert_msg(!contains(result.hint, "YEAR") && !contains(result.hint, "strftime"), "%s", result.hint);
    guard_result_free(&result);

    result = check_on("SELECT 1 OPERATOR(pg_catalog.<<<<) 2", 16);
    ck_assert_int_eq(result.code, GUARD_OPERATOR_NOT_ALLOWED);
    ck_assert_msg(contains(result.detail, "PostgreSQL 16 built-in operator"), "%s", result.detail);
    guard_result_free(&result);

    result = check_on("SELECT 1::no_such_type", 17);
    ck_assert_int_eq(result.code, GUARD_TYPE_NOT_ALLOWED);
    ck_assert_msg(contains(result.detail, "PostgreSQL 17 built-in type"), "%s", result.detail);
    guard_result_free(&result);
}
END_TEST

START_TEST(date_hint_only_for_functions_of_other_dialects) {
    const char *const dated[] = {"SELECT YEAR(d) FROM t", "SELECT strftime('%Y', d) FROM t",
                                 "SELECT DATEDIFF(a, b) FROM t", "SELECT getdate()"};
    for (size_t i = 0; i < ARRAY_LENGTH(dated); i++) {
        guard_result result = check_on(dated[i], 18);
        ck_assert_int_eq(result.code, GUARD_FUNCTION_UNKNOWN);
        ck_assert_msg(contains(result.hint, "EXTRACT(YEAR FROM d)"), "%s: %s", dated[i], result.hint);
        guard_result_free(&result);
    }
    guard_result result = check_on("SELECT ifnull(a, 0) FROM t", 18);
    ck_assert_msg(contains(result.hint, "COALESCE") && !contains(result.hint, "YEAR"), "%s", result.hint);
    guard_result_free(&result);
    result = check_on("SELECT group_concat(a) FROM t", 18);
    ck_assert_msg(contains(result.hint, "string_agg"), "%s", result.hint);
    guard_result_free(&result);
}
END_TEST

/* ---- syntax newer than the grammar ---- */

START_TEST(syntax_error_on_a_newer_server_says_so) {
    const struct {
        const char *sql;
        const char *hint;
    } cases[] = {
        {"SELECT JSON_OBJECT('a' VALUE 1)", "jsonb_build_object"},
        {"SELECT JSON_ARRAY(1, 2 RETURNING jsonb)", "jsonb_build_array"},
        {"SELECT JSON_ARRAYAGG(a ORDER BY a RETURNING jsonb) FROM t", "jsonb_agg"},
        {"SELECT JSON_OBJECTAGG(k VALUE v) FROM t", "jsonb_object_agg"},
        {"SELECT d IS JSON OBJECT FROM t", "jsonb_typeof"},
        {"SELECT d IS NOT JSON FROM t", "jsonb_typeof"},
        {"SELECT * FROM JSON_TABLE('[1]', '$[*]' COLUMNS (a int PATH '$')) jt", "jsonb_to_recordset"},
        {"SELECT JSON_VALUE(d, '$.a' RETURNING int) FROM t", "jsonb_path_query_first"},
        {"SELECT JSON_EXISTS(d, '$.a' ERROR ON ERROR) FROM t", "jsonb_path_exists"},
        {"SELECT 1_000", "1000"},
        {"SELECT 0x1F", "decimal"},
    };
    for (size_t i = 0; i < ARRAY_LENGTH(cases); i++) {
        guard_result result = check_on(cases[i].sql, 17);
        ck_assert_msg(result.code == GUARD_SYNTAX_ERROR, "%s: %s", cases[i].sql, guard_reason_name(result.code));
        ck_assert_msg(contains(result.detail, "pgsafe parses PostgreSQL 15 syntax; this server is 17"), "%s: %s",
                      cases[i].sql, result.detail);
        ck_assert_msg(contains(result.detail, "JSON_TABLE"), "%s", result.detail);
        ck_assert_msg(contains(result.hint, cases[i].hint), "%s: %s", cases[i].sql, result.hint);
        guard_result_free(&result);
    }
    /* The simplest forms parse as calls of functions nobody has. */
    guard_result call = check_on("SELECT JSON_ARRAY(1, 2), JSON_OBJECT('a', 1)", 17);
    ck_assert_int_eq(call.code, GUARD_FUNCTION_UNKNOWN);
    ck_assert_msg(contains(call.hint, "jsonb_build_array"), "%s", call.hint);
    guard_result_free(&call);
    /* 16 has no JSON_TABLE; the detail lists what 16 added. */
    guard_result result = check_on("SELECT 1_000", 16);
    ck_assert_msg(contains(result.detail, "this server is 16") && !contains(result.detail, "JSON_TABLE"), "%s",
                  result.detail);
    guard_result_free(&result);
    /* Unknown server: the newest table; the detail speaks of newer servers. */
    result = check_on("SELECT 1_000", 0);
    ck_assert_msg(contains(result.detail, "newer servers also accept"), "%s", result.detail);
    guard_result_free(&result);
    result = check_on("SELECT * FROM WHERE", 0);
    ck_assert_int_eq(result.code, GUARD_SYNTAX_ERROR);
    ck_assert_ptr_null(result.detail);
    guard_result_free(&result);
}
END_TEST

START_TEST(syntax_error_on_the_grammar_s_version_has_no_note) {
    guard_result result = check_on("SELECT JSON_OBJECT('a' VALUE 1)", 15);
    ck_assert_int_eq(result.code, GUARD_SYNTAX_ERROR);
    ck_assert_ptr_null(result.detail);
    ck_assert_msg(!contains(result.hint, "jsonb_build_object"), "%s", result.hint);
    guard_result_free(&result);
    /* A plain typo on a newer server: the note, but no construct hint. */
    result = check_on("SELEC 1", 18);
    ck_assert_int_eq(result.code, GUARD_SYNTAX_ERROR);
    ck_assert_msg(contains(result.detail, "this server is 18"), "%s", result.detail);
    ck_assert_msg(!contains(result.hint, "jsonb"), "%s", result.hint);
    guard_result_free(&result);
    /* The words inside identifiers are not constructs. */
    result = check_on("SELECT my_json_object( FROM t", 18);
    ck_assert_msg(!contains(result.hint, "jsonb_build_object"), "%s", result.hint);
    guard_result_free(&result);
}
END_TEST

static TCase *add_case(Suite *suite, const char *name) {
    TCase *test_case = tcase_create(name);
    tcase_set_timeout(test_case, 120);
    suite_add_tcase(suite, test_case);
    return test_case;
}

static Suite *versions_suite(void) {
    Suite *suite = suite_create("versions");
    TCase *tc = add_case(suite, "tables");
    tcase_add_test(tc, tables_are_sorted_and_cover_every_major);
    tcase_add_test(tc, the_table_follows_the_server_version);
    tcase_add_test(tc, server_major_is_read_from_server_version);
    tcase_add_test(tc, every_new_volatile_or_denied_builtin_is_reviewed);
    tc = add_case(suite, "decisions");
    tcase_add_test(tc, built_in_deny_list_names_no_implicitly_called_built_in);
    tcase_add_test(tc, dangerous_new_functions_are_denied);
    tcase_add_test(tc, harmless_new_volatile_functions_are_allowed_where_they_exist);
    tcase_add_test(tc, new_stable_functions_follow_the_version);
    tcase_add_test(tc, removed_functions_follow_the_version);
    tc = add_case(suite, "messages");
    tcase_add_test(tc, unknown_function_names_the_table_version_and_when_it_was_added);
    tcase_add_test(tc, date_hint_only_for_functions_of_other_dialects);
    tcase_add_test(tc, syntax_error_on_a_newer_server_says_so);
    tcase_add_test(tc, syntax_error_on_the_grammar_s_version_has_no_note);
    return suite;
}

int main(void) {
    SRunner *runner = srunner_create(versions_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    /* As in test_guard: create the parser's per-thread context before releasing it. */
    PgQueryProtobufParseResult parsed = pg_query_parse_protobuf("SELECT 1");
    pg_query_free_protobuf_parse_result(parsed);
    pg_query_exit();
    return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
