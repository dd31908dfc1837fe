/* Unit tests of the command line's C modules, with Check: the option table and its reader
 * (src/cli/options.h), serve's and doctor's rows (src/cli/config.h), quoting
 * (src/cli/quote.h) and setup-sql's script (src/cli/setup_script.h). No database.
 *
 * malloc and realloc are wrapped at link time (CMakeLists.txt): with allocations_left = N,
 * the allocation after the next N fails, and only that one (an_allocation_failed says it
 * happened), so a test can fail each allocation in turn.
 *
 *   ./test_cli
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_cli */
#include <check.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "cli/options.h"
#include "cli/quote.h"
#include "cli/policy.h"
#include "cli/setup_script.h"

/* ---- allocation failures ---- */

void *__real_malloc(size_t size);
void *__real_realloc(void *pointer, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_realloc(void *pointer, size_t size);

static long allocations_left = -1; /* -1: every allocation succeeds */
static bool an_allocation_failed;

static bool allocation_fails(void) {
    if (allocations_left == 0) {
        /* Only this one: a failure the code ignores shows in what the later ones build. */
        allocations_left = -1;
        an_allocation_failed = true;
        return true;
    }
    if (allocations_left > 0)
        allocations_left--;
    return false;
}

void *__wrap_malloc(size_t size) {
    return allocation_fails() ? NULL : __real_malloc(size);
}

void *__wrap_realloc(void *pointer, size_t size) {
    return allocation_fails() ? NULL : __real_realloc(pointer, size);
}

/* ---- the option table ---- */

/* Serve's variable for a flag: PGSAFE_ and the flag's name in capitals, '-' as '_'. */
static void expected_variable(const char *flag, char *out, size_t size) {
    snprintf(out, size, "PGSAFE_%s", flag + 2);
    for (char *c = out; *c; c++)
        *c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
}

START_TEST(every_serve_option_has_its_variable) {
    const cli_command *command = cli_config_command("serve");
    ck_assert_uint_gt(command->option_count, 0);
    for (size_t i = 0; i < command->option_count; i++) {
        const cli_option *option = &command->options[i];
        char variable[128];
        expected_variable(option->flag, variable, sizeof variable);
        ck_assert_ptr_nonnull(option->variable);
        ck_assert_str_eq(option->variable, variable);
    }
}
END_TEST

START_TEST(every_row_is_well_formed) {
    const cli_command *command = cli_config_command("doctor");
    ck_assert_str_eq(command->name, "doctor");
    ck_assert_ptr_eq(command->options, cli_config_command("serve")->options); /* one table for both */
    for (size_t i = 0; i < command->option_count; i++) {
        const cli_option *option = &command->options[i];
        ck_assert_ptr_nonnull(option->handle);
        ck_assert_ptr_nonnull(option->help);
        ck_assert(strncmp(option->flag, "--", 2) == 0);
        ck_assert((option->kind == CLI_SWITCH) == (option->value_name == NULL));
        for (size_t j = i + 1; j < command->option_count; j++)
            ck_assert_str_ne(option->flag, command->options[j].flag);
        ck_assert_ptr_eq(cli_options_find(command, option->flag, strlen(option->flag)), option);
    }
}
END_TEST

/* A small command of each kind of option, recording what its handlers were given. */
typedef struct recorded {
    char text[512];
    bool positional_refused;
} recorded;

static bool record(recorded *into, const char *tag, const char *value, const char *source) {
    size_t used = strlen(into->text);
    snprintf(into->text + used, sizeof into->text - used, "%s=%s<%s> ", tag, value ? value : "(on)", source);
    return true;
}

static bool take_value(void *settings, const char *value, const char *source) {
    return record(settings, "value", value, source);
}

static bool take_item(void *settings, const char *value, const char *source) {
    return record(settings, "item", value, source);
}

static bool take_switch(void *settings, const char *value, const char *source) {
    return record(settings, "switch", value, source);
}

static bool refuse_bad(void *settings, const char *value, const char *source) {
    (void)settings, (void)source;
    return strcmp(value, "bad") != 0;
}

static bool take_positional(void *settings, const char *argument) {
    return record(settings, "argument", argument, "");
}

static const cli_option test_rows[] = {
    {"--value", "PGSAFE_TEST_VALUE", CLI_VALUE, "N", "a value", take_value},
    {"--item", "PGSAFE_TEST_ITEM", CLI_LIST, "NAME", "an item", take_item},
    {"--switch", "PGSAFE_TEST_SWITCH", CLI_SWITCH, NULL, "a switch", take_switch},
    {"--checked", NULL, CLI_VALUE, "V", "two lines\nof help", refuse_bad},
};

static const cli_command test_command = {"test", test_rows, 4, NULL};
static const cli_command test_positional = {"test", test_rows, 4, take_positional};

static int parse(const cli_command *command, recorded *into, int argc, const char **argv) {
    cli_parsed parsed;
    memset(into, 0, sizeof *into);
    int status = cli_options_parse(command, into, argc, (char **)argv, &parsed);
    cli_options_free(&parsed);
    return status;
}

static void clear_environment(void) {
    unsetenv("PGSAFE_TEST_VALUE");
    unsetenv("PGSAFE_TEST_ITEM");
    unsetenv("PGSAFE_TEST_ITEMS");
    unsetenv("PGSAFE_TEST_SWITCH");
}

START_TEST(a_flag_wins_over_its_variable) {
    clear_environment();
    recorded got;
    setenv("PGSAFE_TEST_VALUE", "from-env", 1);
    const char *only_env[] = {"test"};
    ck_assert_int_eq(parse(&test_command, &got, 1, only_env), 0);
    ck_assert_str_eq(got.text, "value=from-env<PGSAFE_TEST_VALUE> ");
    const char *flags[] = {"test", "--value", "1", "--value=2"};
    ck_assert_int_eq(parse(&test_command, &got, 4, flags), 0);
    ck_assert_str_eq(got.text, "value=2<--value> ");
    clear_environment();
}
END_TEST

START_TEST(list_items_come_from_the_variable_then_the_flags) {
    clear_environment();
    recorded got;
    setenv("PGSAFE_TEST_ITEMS", "a, b,,c", 1); /* the plural */
    const char *argv[] = {"test", "--item", "d"};
    ck_assert_int_eq(parse(&test_command, &got, 3, argv), 0);
    ck_assert_str_eq(got.text, "item=a<PGSAFE_TEST_ITEMS> item=b<PGSAFE_TEST_ITEMS> item=c<PGSAFE_TEST_ITEMS> "
                               "item=d<--item> ");
    clear_environment();
}
END_TEST

START_TEST(switches_from_flags_and_variables) {
    clear_environment();
    recorded got;
    const char *on[] = {"test", "--switch"};
    ck_assert_int_eq(parse(&test_command, &got, 2, on), 0);
    ck_assert_str_eq(got.text, "switch=(on)<--switch> ");
    setenv("PGSAFE_TEST_SWITCH", "off", 1);
    const char *none[] = {"test"};
    ck_assert_int_eq(parse(&test_command, &got, 1, none), 0);
    ck_assert_str_eq(got.text, "");
    setenv("PGSAFE_TEST_SWITCH", "yes", 1);
    ck_assert_int_eq(parse(&test_command, &got, 1, none), 0);
    ck_assert_str_eq(got.text, "switch=(on)<PGSAFE_TEST_SWITCH> ");
    setenv("PGSAFE_TEST_SWITCH", "maybe", 1);
    ck_assert_int_eq(parse(&test_command, &got, 1, none), 2);
    clear_environment();
    const char *inline_value[] = {"test", "--switch=1"};
    ck_assert_int_eq(parse(&test_command, &got, 2, inline_value), 2);
}
END_TEST

START_TEST(usage_errors_and_help) {
    clear_environment();
    recorded got;
    const char *unknown[] = {"test", "--nonsense"};
    ck_assert_int_eq(parse(&test_command, &got, 2, unknown), 2);
    const char *missing[] = {"test", "--value"};
    ck_assert_int_eq(parse(&test_command, &got, 2, missing), 2);
    const char *refused[] = {"test", "--checked", "bad"};
    ck_assert_int_eq(parse(&test_command, &got, 3, refused), 2);
    const char *bare[] = {"test", "word"};
    ck_assert_int_eq(parse(&test_command, &got, 2, bare), 2); /* no positional handler */
    /* --help: no handler runs, even for values read before it. */
    const char *help[] = {"test", "--value", "1", "-h", "--nonsense"};
    ck_assert_int_eq(parse(&test_command, &got, 5, help), 1);
    ck_assert_str_eq(got.text, "");
}
END_TEST

START_TEST(positional_arguments_and_double_dash) {
    clear_environment();
    recorded got;
    const char *argv[] = {"test", "-- a comment\nSELECT 1", "--switch", "--", "--value"};
    ck_assert_int_eq(parse(&test_positional, &got, 5, argv), 0);
    ck_assert_str_eq(got.text, "argument=-- a comment\nSELECT 1<> argument=--value<> switch=(on)<--switch> ");
}
END_TEST

START_TEST(usage_lists_every_row) {
    char *text = NULL;
    size_t length = 0;
    FILE *stream = open_memstream(&text, &length);
    cli_options_usage(&test_command, stream);
    fclose(stream);
    ck_assert_str_eq(text, "  --value N  [PGSAFE_TEST_VALUE]\n      a value\n"
                           "  --item NAME  [PGSAFE_TEST_ITEM]\n      an item\n"
                           "  --switch  [PGSAFE_TEST_SWITCH]\n      a switch\n"
                           "  --checked V\n      two lines\n      of help\n"
                           "  -h, --help\n      this text\n");
    free(text);
}
END_TEST

START_TEST(serve_configuration_from_flags) {
    clear_environment();
    setenv("PGSAFE_MAX_ROWS", "many", 1); /* refused, but a flag replaces it */
    setenv("PGSAFE_DENY_RELATIONS", "salaries, keys", 1);
    const char *argv[] = {"serve",           "--max-rows", "7",           "--schemas",    "a,\"b\"",
                          "--deny-relation", "payroll",    "--audit-sql", "--pool-size=3"};
    cli_config config;
    ck_assert_int_eq(cli_config_read(&config, 9, (char **)argv), 0);
    ck_assert_int_eq(config.server.policy.max_rows, 7);
    ck_assert_int_eq(config.server.db.pool_size, 3);
    ck_assert(config.server.audit_sql);
    ck_assert_str_eq(config.server.db.search_path, "\"a\", \"\"\"b\"\"\"");
    ck_assert_str_eq(config.server.visible_schemas, "{\"a\",\"\\\"b\\\"\"}");
    const char *const *denied = config.server.policy.denied_relations;
    ck_assert_str_eq(denied[0], "salaries");
    ck_assert_str_eq(denied[1], "keys");
    ck_assert_str_eq(denied[2], "payroll");
    ck_assert_ptr_null(denied[3]);
    ck_assert_int_eq(config.server.db.idle_in_transaction_ms, 2 * config.server.db.statement_timeout_ms);
    cli_config_free(&config);
    unsetenv("PGSAFE_MAX_ROWS");
    unsetenv("PGSAFE_DENY_RELATIONS");
}
END_TEST

START_TEST(serve_configuration_refusals) {
    clear_environment();
    const char *cases[][3] = {
        {"serve", "--max-rows", "0"}, {"serve", "--pool-size", "65"},  {"serve", "--log-level", "loud"},
        {"serve", "--schemas", ","},  {"serve", "--audit-log", ""},    {"serve", "--deny-function", ""},
        {"serve", "--bogus", "1"},    {"serve", "--audit-sql=1", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cli_config config;
        ck_assert_int_eq(cli_config_read(&config, 3, (char **)cases[i]), 2);
        cli_config_free(&config);
    }
}
END_TEST

/* ---- quoting ---- */

START_TEST(identifiers_are_quoted_as_quote_ident_does) {
    const char *cases[][2] = {
        {"pgsafe_reader", "pgsafe_reader"},
        {"select", "\"select\""},
        {"Mixed", "\"Mixed\""},
        {"a\"b", "\"a\"\"b\""},
        {"1a", "\"1a\""},
        {"name", "name"}, /* unreserved */
        {"a b; DROP ROLE x", "\"a b; DROP ROLE x\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *quoted = cli_quote_identifier(cases[i][0]);
        ck_assert_str_eq(quoted, cases[i][1]);
        free(quoted);
    }
    strbuf out = {0};
    cli_put_literal(&out, "it's");
    cli_put_literal(&out, "a\\b");
    char *text = strbuf_take(&out);
    ck_assert_str_eq(text, "'it''s'E'a\\\\b'");
    free(text);
}
END_TEST

/* ---- setup-sql's script ---- */

/* A script is whole: every part, to its last line, and never an empty schema list. */
static void assert_whole(const char *text, const char *schemas) {
    char usage[256];
    snprintf(usage, sizeof usage, "GRANT USAGE ON SCHEMA %s TO \"Reader\";\n", schemas);
    ck_assert_ptr_nonnull(strstr(text, usage));
    ck_assert_ptr_null(strstr(text, "SCHEMA  "));
    ck_assert_ptr_nonnull(strstr(text, "COMMIT;\n"));
    const char *last = "-- and check what pgsafe will see, connecting as it:  pgsafe doctor\n";
    ck_assert_str_eq(text + strlen(text) - strlen(last), last);
}

START_TEST(offline_script_defaults_to_public) {
    setup_request request = {"Reader", 5, {NULL, 0}, NULL};
    char *text = setup_script(&request, NULL);
    ck_assert_ptr_nonnull(text);
    assert_whole(text, "public");
    ck_assert_ptr_nonnull(strstr(text, "GRANT CONNECT ON DATABASE :\"DBNAME\" TO \"Reader\";"));
    ck_assert_ptr_nonnull(strstr(text, "CONNECTION LIMIT 5;"));
    free(text);
}
END_TEST

/* Each allocation of the offline script fails in turn: the script is then NULL, never one
 * with a part missing (an ignored failure once printed `GRANT USAGE ON SCHEMA  TO`). */
START_TEST(offline_script_fails_whole_at_every_allocation) {
    setup_request request = {"Reader", 5, {NULL, 0}, NULL};
    int failures = 0;
    for (long n = 0;; n++) {
        allocations_left = n;
        an_allocation_failed = false;
        char *text = setup_script(&request, NULL);
        bool failed_somewhere = an_allocation_failed;
        allocations_left = -1;
        if (text != NULL)
            assert_whole(text, "public");
        free(text);
        if (!failed_somewhere) {
            ck_assert_ptr_nonnull(text);
            break;
        }
        ck_assert_ptr_null(text);
        failures++;
    }
    ck_assert_int_gt(failures, 2);
}
END_TEST

START_TEST(connected_script_lists_every_relation) {
    char database[] = "shop", schema_a[] = "sales", schema_b[] = "Ledger", owner[] = "app owner";
    char relation_schema[] = "sales", relation_name[] = "order lines";
    char *schema_items[] = {schema_a, schema_b}, *owner_items[] = {owner};
    setup_relation relations[] = {{relation_schema, relation_name, 'v', {NULL, 0}}};
    setup_facts facts = {database, {schema_items, 2}, relations, 1, {owner_items, 1}};
    setup_request request = {"Reader", 9, {NULL, 0}, NULL};
    for (long n = 0;; n++) {
        allocations_left = n;
        an_allocation_failed = false;
        char *text = setup_script(&request, &facts);
        bool failed_somewhere = an_allocation_failed;
        allocations_left = -1;
        ck_assert(failed_somewhere == (text == NULL));
        if (text != NULL) {
            assert_whole(text, "sales, \"Ledger\"");
            ck_assert_ptr_nonnull(
                strstr(text, "GRANT SELECT ON TABLE sales.\"order lines\" TO \"Reader\";  -- view\n"));
            ck_assert_ptr_nonnull(strstr(text, "ALTER DEFAULT PRIVILEGES FOR ROLE \"app owner\" IN SCHEMA sales, "
                                               "\"Ledger\" GRANT SELECT ON TABLES TO \"Reader\";\n"));
            ck_assert_ptr_nonnull(strstr(text, "GRANT CONNECT ON DATABASE shop TO \"Reader\";"));
        }
        free(text);
        if (!failed_somewhere) {
            ck_assert_ptr_nonnull(text);
            break;
        }
    }
}
END_TEST

/* Under --tables and --deny-columns: no grant outside the allow-list, column lists where a
 * column is denied, nothing where every column is, and no default privileges. */
START_TEST(connected_script_follows_the_data_owners_policy) {
    char database[] = "shop", schema[] = "public", owner[] = "app";
    char users[] = "users", audit[] = "audit_log", orders[] = "orders", secrets[] = "secrets";
    char id[] = "id", name[] = "name", email[] = "email", ssn[] = "ssn", total[] = "total";
    char *schema_items[] = {schema}, *owner_items[] = {owner};
    char *user_columns[] = {id, name, email}, *order_columns[] = {id, total}, *secret_columns[] = {ssn};
    setup_relation relations[] = {
        {schema, audit, 'r', {NULL, 0}},
        {schema, orders, 'r', {order_columns, 2}},
        {schema, secrets, 'r', {secret_columns, 1}},
        {schema, users, 'r', {user_columns, 3}},
    };
    setup_facts facts = {database, {schema_items, 1}, relations, 4, {owner_items, 1}};
    static const char *const tables[] = {"public.*", "!public.audit_log", NULL};
    static const char *const denied[] = {"users.email", "*.ssn", NULL};
    guard_policy policy;
    guard_policy_init(&policy);
    policy.table_patterns = tables;
    policy.denied_columns = denied;
    setup_request request = {"Reader", 5, {NULL, 0}, &policy};
    char *text = setup_script(&request, &facts);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "-- not granted (outside --tables): public.audit_log\n"));
    ck_assert_ptr_nonnull(strstr(text, "GRANT SELECT ON TABLE public.orders TO \"Reader\";\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "GRANT SELECT (id, name) ON TABLE public.users TO \"Reader\";  -- 1 denied column left out\n"));
    ck_assert_ptr_nonnull(strstr(text, "-- not granted (every column denied): public.secrets\n"));
    ck_assert_ptr_null(strstr(text, "ALTER DEFAULT PRIVILEGES"));
    ck_assert_ptr_null(strstr(text, "email"));
    free(text);
}
END_TEST

START_TEST(policy_split_and_relation_declarations) {
    bool empty = false;
    char **items = cli_split_patterns(" public.* , \"a,b\".c ,!x", &empty);
    ck_assert_ptr_nonnull(items);
    ck_assert_str_eq(items[0], "public.*");
    ck_assert_str_eq(items[1], "\"a,b\".c");
    ck_assert_str_eq(items[2], "!x");
    ck_assert_ptr_null(items[3]);
    cli_patterns_free(items);
    ck_assert_ptr_null(cli_split_patterns("a,,b", &empty));
    ck_assert(empty);
    ck_assert_ptr_null(cli_split_patterns("", &empty));
    ck_assert(empty);
    cli_policy policy = {0};
    ck_assert(cli_policy_add_relation(&policy, "Sales.\"Big T\"(Id, \"Email\")", "check", "--relation"));
    ck_assert(cli_policy_add_relation(&policy, "users(id)", "check", "--relation"));
    ck_assert(!cli_policy_add_relation(&policy, "users(id", "check", "--relation"));
    ck_assert(!cli_policy_add_relation(&policy, "users()", "check", "--relation"));
    ck_assert(!cli_policy_add_relation(&policy, "a.b.c(x)", "check", "--relation"));
    ck_assert_uint_eq(policy.relation_count, 2);
    ck_assert_str_eq(policy.relations[0].schema, "sales");
    ck_assert_str_eq(policy.relations[0].name, "Big T");
    ck_assert_str_eq(policy.relations[0].columns[0], "id");
    ck_assert_str_eq(policy.relations[0].columns[1], "Email");
    ck_assert_str_eq(policy.relations[1].schema, "public");
    ck_assert(cli_policy_set_deny_columns(&policy, "sales.\"Big T\".\"Email\"", "check", "--deny-columns"));
    ck_assert(!cli_policy_set_tables(&policy, "a.b.c", "check", "--tables"));
    ck_assert_ptr_null(policy.tables);
    guard_policy guard;
    guard_policy_init(&guard);
    cli_policy_apply(&policy, &guard);
    guard_result result = guard_check("SELECT \"Email\" FROM sales.\"Big T\"", &guard);
    ck_assert_int_eq(result.code, GUARD_COLUMN_DENIED);
    guard_result_free(&result);
    result = guard_check("SELECT id FROM sales.\"Big T\"", &guard);
    ck_assert(result.allowed);
    guard_result_free(&result);
    cli_policy_free(&policy);
}
END_TEST

START_TEST(names_add_leaves_the_list_whole_when_memory_runs_out) {
    setup_names names = {0};
    ck_assert(setup_names_add(&names, "public", 6));
    for (long n = 0; n < 2; n++) {
        allocations_left = n;
        bool added = setup_names_add(&names, "sales", 5);
        allocations_left = -1;
        ck_assert(!added);
        ck_assert_uint_eq(names.count, 1);
    }
    ck_assert(setup_names_add(&names, "sales!", 5));
    ck_assert(setup_names_contains(&names, "sales"));
    ck_assert_uint_eq(names.count, 2);
    setup_names_free(&names);
}
END_TEST

static TCase *add_case(Suite *suite, const char *name) {
    TCase *test_case = tcase_create(name);
    tcase_set_timeout(test_case, 120);
    suite_add_tcase(suite, test_case);
    return test_case;
}

static Suite *options_suite(void) {
    Suite *suite = suite_create("options");
    TCase *tc = add_case(suite, "table");
    tcase_add_test(tc, every_serve_option_has_its_variable);
    tcase_add_test(tc, every_row_is_well_formed);
    tc = add_case(suite, "reader");
    tcase_add_test(tc, a_flag_wins_over_its_variable);
    tcase_add_test(tc, list_items_come_from_the_variable_then_the_flags);
    tcase_add_test(tc, switches_from_flags_and_variables);
    tcase_add_test(tc, usage_errors_and_help);
    tcase_add_test(tc, positional_arguments_and_double_dash);
    tcase_add_test(tc, usage_lists_every_row);
    tc = add_case(suite, "config");
    tcase_add_test(tc, serve_configuration_from_flags);
    tcase_add_test(tc, serve_configuration_refusals);
    return suite;
}

static Suite *setup_sql_suite(void) {
    Suite *suite = suite_create("setup-sql");
    TCase *tc = add_case(suite, "quoting");
    tcase_add_test(tc, identifiers_are_quoted_as_quote_ident_does);
    tc = add_case(suite, "script");
    tcase_add_test(tc, offline_script_defaults_to_public);
    tcase_add_test(tc, offline_script_fails_whole_at_every_allocation);
    tcase_add_test(tc, connected_script_lists_every_relation);
    tcase_add_test(tc, connected_script_follows_the_data_owners_policy);
    tcase_add_test(tc, policy_split_and_relation_declarations);
    tcase_add_test(tc, names_add_leaves_the_list_whole_when_memory_runs_out);
    return suite;
}

int main(void) {
    SRunner *runner = srunner_create(options_suite());
    srunner_add_suite(runner, setup_sql_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
