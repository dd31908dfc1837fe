/* Unit tests of several databases' configuration (src/cli/databases.c), with Check:
 * --database NAME=DSN, PGSAFE_DATABASES, --database-config FILE with each database's own
 * settings, and every refusal. No database.
 *
 *   ./test_cli_databases
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_cli_databases */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/config.h"

static void clear_environment(void) {
    static const char *const names[] = {"PGSAFE_DSN",       "DATABASE_URL",           "PGSAFE_DATABASE",
                                        "PGSAFE_DATABASES", "PGSAFE_DATABASE_CONFIG", "PGSAFE_DENY_RELATIONS",
                                        "PGSAFE_MAX_ROWS"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unsetenv(names[i]);
}

/* Writes text to a new temporary file; its name goes to path (PATH_MAX bytes). */
static void write_file(char *path, const char *text) {
    strcpy(path, "/tmp/pgsafe-test-databases-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static size_t count_of(const char *const *list) {
    size_t count = 0;
    while (list && list[count])
        count++;
    return count;
}

START_TEST(databases_from_flags_and_the_variable) {
    clear_environment();
    setenv("DATABASE_URL", "host=ignored", 1); /* the databases are named: it does not apply */
    const char *argv[] = {
        "serve", "--max-rows", "50", "--database", "sales=host=/s dbname=sales", "--database=hr=host=/h"};
    cli_config config;
    ck_assert_int_eq(cli_config_read(&config, 6, (char **)argv), 0);
    ck_assert_uint_eq(config.server.database_count, 2);
    ck_assert_str_eq(config.server.databases[0].name, "sales");
    ck_assert_str_eq(config.server.databases[1].name, "hr");
    ck_assert_str_eq(config.server.databases[0].config->db.conninfo, "host=/s dbname=sales");
    ck_assert_str_eq(config.server.databases[1].config->db.conninfo, "host=/h");
    ck_assert_int_eq(config.server.databases[1].config->policy.max_rows, 50); /* the server's flags hold */
    ck_assert_uint_eq(config.server.databases[0].config->database_count, 0);
    cli_config_free(&config);
    setenv("PGSAFE_DATABASES", "a=host=/a, b=postgres://u@h/b", 1);
    const char *bare[] = {"serve"};
    ck_assert_int_eq(cli_config_read(&config, 1, (char **)bare), 0);
    ck_assert_uint_eq(config.server.database_count, 2);
    ck_assert_str_eq(config.server.databases[1].config->db.conninfo, "postgres://u@h/b");
    cli_config_free(&config);
    clear_environment();
}
END_TEST

START_TEST(names_inside_strings_are_not_members) {
    clear_environment();
    char path[64];
    write_file(path, "{\"a\": {\"dsn\": \"host=/a application_name='x\\\":'\", \"tables\": \"public.*\"}}");
    const char *argv[] = {"serve", "--database-config", path};
    cli_config config;
    ck_assert_int_eq(cli_config_read(&config, 3, (char **)argv), 0);
    cli_config_free(&config);
    unlink(path);
}
END_TEST

START_TEST(a_database_has_settings_of_its_own) {
    clear_environment();
    char path[64];
    write_file(path, "{\"a\": \"host=/a\", \"b\": {\"dsn\": \"host=/b\", \"max-rows\": 5, \"deny-relation\": [\"t1\", "
                     "\"t2\"], \"explain-analyze\": true, \"tables\": \"public.*\", \"max-cost\": 1e6}}");
    const char *argv[] = {"serve", "--deny-relation", "g", "--database-config", path};
    cli_config config;
    ck_assert_int_eq(cli_config_read(&config, 5, (char **)argv), 0);
    ck_assert_uint_eq(config.server.database_count, 2);
    const mcp_config *a = config.server.databases[0].config, *b = config.server.databases[1].config;
    ck_assert_int_eq(a->policy.max_rows, 1000);
    ck_assert_int_eq(b->policy.max_rows, 5);
    ck_assert_uint_eq(count_of(a->policy.denied_relations), 1);
    ck_assert_uint_eq(count_of(b->policy.denied_relations), 3); /* the server's, then its own */
    ck_assert_str_eq(b->policy.denied_relations[2], "t2");
    ck_assert(!a->explain_analyze && b->explain_analyze);
    ck_assert(!a->db.load_relations && b->db.load_relations);
    ck_assert(b->db.max_cost == 1e6);
    cli_config_free(&config);
    unlink(path);
}
END_TEST

START_TEST(a_column_the_server_denies_stays_denied_in_every_database) {
    clear_environment();
    char path[64];
    write_file(path, "{\"a\": \"host=/a\", \"b\": {\"dsn\": \"host=/b\", \"deny-columns\": \"users.email\"}}");
    const char *argv[] = {"serve", "--deny-columns", "*.ssn,hr.pay.amount", "--database-config", path};
    cli_config config;
    ck_assert_int_eq(cli_config_read(&config, 5, (char **)argv), 0);
    const mcp_config *a = config.server.databases[0].config, *b = config.server.databases[1].config;
    ck_assert_uint_eq(count_of(a->policy.denied_columns), 2);
    ck_assert_uint_eq(count_of(b->policy.denied_columns), 3); /* the server's, then its own */
    ck_assert_str_eq(b->policy.denied_columns[0], "*.ssn");
    ck_assert_str_eq(b->policy.denied_columns[1], "hr.pay.amount");
    ck_assert_str_eq(b->policy.denied_columns[2], "users.email");
    cli_config_free(&config);
    unlink(path);
}
END_TEST

START_TEST(bad_database_configurations_are_refused) {
    clear_environment();
    const char *files[] = {
        "{\"a\": {\"dsn\": \"host=/a\", \"http\": \"127.0.0.1:1\"}}", /* server-wide */
        "{\"a\": {\"dsn\": \"host=/a\", \"no-such\": 1}}",
        "{\"a\": {\"dsn\": \"host=/a\", \"max-rows\": \"many\"}}",
        "{\"a\": {\"dsn\": \"host=/a\", \"explain-analyze\": false}}",
        "{\"a\": {\"dsn\": \"host=/a\", \"deny-relation\": [1]}}",
        "{\"a\": {\"dsn\": \"host=/a\", \"tables\": [\"x\"]}}",
        "{\"a\": {\"max-rows\": 5}}",
        "{\"a\": \"\"}",
        "{\"1a\": \"host=/a\"}",
        "{}",
        "[\"a\"]",
        "{\"a\": \"host=/a\"} x",
        "{\"a\": \"host=/a\",",
        "{\"a\": \"host=/a\", \"a\": \"host=/b\"}",
        "{\"a\": {\"dsn\": \"host=/a\", \"max-rows\": 5, \"max-rows\": 6}}",
        "{\"a\": {\"dsn\": \"host=/a\", \"tables\": \"x\\\": \\\"y\", \"tables\": \"z\"}}",
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[64];
        write_file(path, files[i]);
        const char *argv[] = {"serve", "--database-config", path};
        cli_config config;
        ck_assert_msg(cli_config_read(&config, 3, (char **)argv) == 2, "accepted %s", files[i]);
        cli_config_free(&config);
        unlink(path);
    }
    const char *flags[][5] = {
        {"serve", "--database", "a=host=/a", "--database", "a=host=/b"},
        {"serve", "--database", "a=host=/a", "--dsn", "host=/b"},
        {"serve", "--database", "a", "--max-rows", "5"},
        {"serve", "--database", "a-b_c=x", "--database", "bad.name=y"},
        {"serve", "--database", "a=", "--max-rows", "5"},
        {"serve", "--database-config", "/nonexistent/pgsafe.json", "--max-rows", "5"},
        {"serve", "--pool-size=33", "--database", "a=host=/a", "--database=b=host=/b"}, /* 66 connections */
    };
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        cli_config config;
        ck_assert_msg(cli_config_read(&config, 5, (char **)flags[i]) == 2, "accepted case %zu", i);
        cli_config_free(&config);
    }
    /* More than the server takes. */
    char list[4096] = "";
    for (int i = 0; i <= MCP_MAX_DATABASES; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%sd%d=host=/d", i ? "," : "", i);
    setenv("PGSAFE_DATABASES", list, 1);
    const char *bare[] = {"serve"};
    cli_config config;
    ck_assert_int_eq(cli_config_read(&config, 1, (char **)bare), 2);
    cli_config_free(&config);
    clear_environment();
}
END_TEST

int main(void) {
    Suite *suite = suite_create("databases");
    TCase *tc = tcase_create("configuration");
    suite_add_tcase(suite, tc);
    tcase_add_test(tc, databases_from_flags_and_the_variable);
    tcase_add_test(tc, a_database_has_settings_of_its_own);
    tcase_add_test(tc, names_inside_strings_are_not_members);
    tcase_add_test(tc, a_column_the_server_denies_stays_denied_in_every_database);
    tcase_add_test(tc, bad_database_configurations_are_refused);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
