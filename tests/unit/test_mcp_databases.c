/* Unit tests of several databases behind one session (src/mcp/session.c, tools.c,
 * tools_databases.c, resources.c), with Check. A fake transport keeps every message the
 * session sends; both databases point at sockets that do not exist, so everything here runs
 * without PostgreSQL: the tools' database argument, list_databases, the resources' names,
 * and one database's failure not blocking the other's checks.
 *
 *   ./test_mcp_databases
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_mcp_databases */
#include <check.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/session.h"

#define MAX_MESSAGES 32

typedef struct transport {
    char *messages[MAX_MESSAGES];
    size_t count;
} transport;

static void transport_send(void *context, json_object *message) {
    transport *fake = context;
    ck_assert_uint_lt(fake->count, MAX_MESSAGES);
    fake->messages[fake->count++] = strdup(json_object_to_json_string_ext(message, JSON_C_TO_STRING_PLAIN));
}

/* Two databases, "sales" and "hr", neither reachable; hr has a row limit of its own and
 * denies upper(). */
typedef struct fixture {
    mcp_config server, sales, hr;
    mcp_database databases[2];
    const char *hr_denied[2];
    transport fake;
    mcp_session *session;
} fixture;

static void database_config(mcp_config *config, const char *conninfo) {
    *config = (mcp_config){0};
    guard_policy_init(&config->policy);
    db_pool_options_init(&config->db);
    config->db.conninfo = conninfo;
    config->db.pool_size = 1;
    config->max_message_bytes = 1 << 20;
    config->max_in_flight = 64;
    config->log_level = MCP_LOG_CRITICAL; /* the pools' connection warnings are expected */
}

static void open_fixture(fixture *f, size_t count) {
    memset(f, 0, sizeof *f);
    database_config(&f->sales, "host=/nonexistent-pgsafe-sales port=1");
    database_config(&f->hr, "host=/nonexistent-pgsafe-hr port=1");
    f->hr.policy.max_rows = 7;
    f->hr_denied[0] = "upper";
    f->hr.policy.denied_functions = f->hr_denied;
    f->server = f->sales;
    f->databases[0] = (mcp_database){"sales", &f->sales};
    f->databases[1] = (mcp_database){"hr", &f->hr};
    f->server.databases = f->databases;
    f->server.database_count = count;
    char *error = NULL;
    f->session = mcp_session_new(&f->server, transport_send, &f->fake, &error);
    ck_assert_msg(f->session != NULL, "mcp_session_new: %s", error ? error : "?");
}

static void close_fixture(fixture *f) {
    mcp_session_free(f->session);
    for (size_t i = 0; i < f->fake.count; i++)
        free(f->fake.messages[i]);
}

/* Sends line and drives the pools until one more message has been sent; returns it. */
static const char *ask(fixture *f, const char *line) {
    size_t before = f->fake.count;
    mcp_session_handle_line(f->session, line, strlen(line));
    while (f->fake.count == before) {
        struct pollfd fds[8];
        int used = mcp_session_pollfds(f->session, fds, 8);
        int timeout = mcp_session_timeout(f->session);
        int ready = poll(fds, (nfds_t)used, timeout < 0 || timeout > 100 ? 100 : timeout);
        ck_assert(mcp_session_process(f->session, fds, ready > 0 ? used : 0));
    }
    return f->fake.messages[f->fake.count - 1];
}

static void expect(const char *message, const char *needle) {
    ck_assert_msg(strstr(message, needle) != NULL, "expected %s in %s", needle, message);
}

static void initialize(fixture *f) {
    const char *answer =
        ask(f, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
               "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    expect(answer, "\"protocolVersion\":\"2025-11-25\"");
}

#define CALL(id, tool, arguments)                                                                                      \
    "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"tools/call\",\"params\":{\"name\":\"" tool                       \
    "\",\"arguments\":" arguments "}}"

START_TEST(tools_name_the_databases) {
    fixture f;
    open_fixture(&f, 2);
    initialize(&f);
    expect(f.fake.messages[0], "Database \\\"hr\\\" (database: \\\"hr\\\")");
    const char *list = ask(&f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    expect(list, "\"database\":{\"type\":\"string\",\"enum\":[\"sales\",\"hr\"]");
    expect(list, "\"required\":[\"sql\",\"database\"]");
    expect(list, "\"required\":[\"database\"]"); /* list_schemas had none of its own */
    expect(list, "\"name\":\"list_databases\"");
    close_fixture(&f);
}
END_TEST

START_TEST(one_database_makes_the_argument_optional) {
    fixture f;
    open_fixture(&f, 1);
    initialize(&f);
    const char *list = ask(&f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    expect(list, "\"enum\":[\"sales\"]");
    ck_assert_ptr_null(strstr(list, "\"required\":[\"sql\",\"database\"]"));
    expect(ask(&f, CALL(2, "check_sql", "{\"sql\":\"SELECT 1\"}")), "\"allowed\":true");
    close_fixture(&f);
}
END_TEST

START_TEST(a_missing_or_unknown_database_is_a_tool_error) {
    fixture f;
    open_fixture(&f, 2);
    initialize(&f);
    const char *answer = ask(&f, CALL(1, "check_sql", "{\"sql\":\"SELECT 1\"}"));
    expect(answer, "\"isError\":true");
    expect(answer, "needs the argument \\\"database\\\": one of \\\"sales\\\" and \\\"hr\\\"");
    answer = ask(&f, CALL(2, "check_sql", "{\"sql\":\"SELECT 1\",\"database\":\"payroll\"}"));
    expect(answer, "there is no database \\\"payroll\\\"");
    answer = ask(&f, CALL(3, "check_sql", "{\"sql\":\"SELECT 1\",\"database\":[\"hr\"]}"));
    expect(answer, "must be a string");
    /* A name is matched whole, not as a prefix. */
    answer = ask(&f, CALL(4, "check_sql", "{\"sql\":\"SELECT 1\",\"database\":\"h\"}"));
    expect(answer, "there is no database \\\"h\\\"");
    /* The prompts choose theirs the same way; the analyst may leave it out. */
    answer = ask(&f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"prompts/get\",\"params\":{\"name\":"
                     "\"explore_table\",\"arguments\":{\"table\":\"t\"}}}");
    expect(answer, "prompt explore_table needs the argument \\\"database\\\": one of");
    answer = ask(&f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"prompts/get\",\"params\":{\"name\":"
                     "\"explore_table\",\"arguments\":{\"table\":\"t\",\"database\":\"payroll\"}}}");
    expect(answer, "there is no database \\\"payroll\\\"");
    answer = ask(&f, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"prompts/get\",\"params\":{\"name\":"
                     "\"analyst\",\"arguments\":{}}}");
    expect(answer, "This server has several databases");
    close_fixture(&f);
}
END_TEST

START_TEST(each_database_has_its_own_policy) {
    fixture f;
    open_fixture(&f, 2);
    initialize(&f);
    const char *hr = ask(&f, CALL(1, "check_sql", "{\"sql\":\"SELECT upper('x')\",\"database\":\"hr\"}"));
    expect(hr, "\"allowed\":false");
    expect(hr, "upper");
    hr = ask(&f, CALL(3, "check_sql", "{\"sql\":\"SELECT lower('x')\",\"database\":\"hr\"}"));
    expect(hr, "\"applied_limit\":7");
    const char *sales = ask(&f, CALL(2, "check_sql", "{\"sql\":\"SELECT upper('x')\",\"database\":\"sales\"}"));
    expect(sales, "\"allowed\":true");
    expect(sales, "\"applied_limit\":1000");
    close_fixture(&f);
}
END_TEST

START_TEST(list_databases_reports_each_state) {
    fixture f;
    open_fixture(&f, 2);
    initialize(&f);
    const char *answer = ask(&f, CALL(1, "list_databases", "{}"));
    expect(answer, "{\"name\":\"sales\",\"status\":\"unavailable\",\"server_version\":null");
    expect(answer, "{\"name\":\"hr\",\"status\":\"unavailable\"");
    expect(answer, "nonexistent-pgsafe-hr");
    answer = ask(&f, CALL(2, "list_databases", "{\"database\":\"hr\"}"));
    expect(answer, "list_databases has no argument \\\"database\\\"");
    close_fixture(&f);
}
END_TEST

START_TEST(resources_carry_the_database_name) {
    fixture f;
    open_fixture(&f, 2);
    initialize(&f);
    const char *answer = ask(&f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/templates/list\"}");
    expect(answer, "\"uriTemplate\":\"postgres:\\/\\/sales\\/table\\/{schema}\\/{table}\"");
    expect(answer, "\"uriTemplate\":\"postgres:\\/\\/hr\\/table\\/{schema}\\/{table}\"");
    /* Both databases are down: the list passes over each and ends. */
    answer = ask(&f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\"}");
    expect(answer, "\"nextCursor\":\"d1p0\"");
    answer = ask(&f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/list\",\"params\":{\"cursor\":\"d1p0\"}}");
    ck_assert_ptr_null(strstr(answer, "nextCursor"));
    static const char *const bad[] = {"p0", "d2p0", "d1p", "dp0", "d1p0x", "d01234567890123p0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char line[256];
        snprintf(line, sizeof line,
                 "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/list\",\"params\":{\"cursor\":\"%s\"}}", bad[i]);
        expect(ask(&f, line), "invalid cursor");
    }
    static const char *const unknown[] = {"postgres://schema", "postgres://payroll/schema", "postgres://hr",
                                          "postgres://hr/table/x", "postgres:/hr/schema"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        char line[256];
        snprintf(line, sizeof line,
                 "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/read\",\"params\":{\"uri\":\"%s\"}}",
                 unknown[i]);
        expect(ask(&f, line), "NAME a database that list_databases shows");
    }
    close_fixture(&f);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("databases");
    TCase *tc = tcase_create("databases");
    tcase_set_timeout(tc, 120);
    suite_add_tcase(suite, tc);
    tcase_add_test(tc, tools_name_the_databases);
    tcase_add_test(tc, one_database_makes_the_argument_optional);
    tcase_add_test(tc, a_missing_or_unknown_database_is_a_tool_error);
    tcase_add_test(tc, each_database_has_its_own_policy);
    tcase_add_test(tc, list_databases_reports_each_state);
    tcase_add_test(tc, resources_carry_the_database_name);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
