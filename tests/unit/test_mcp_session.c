/* Unit tests of the session that answers JSON-RPC (src/mcp/session.c, dispatch.c, request.c,
 * lifecycle.c) and of the audit log (src/mcp/audit.c), with Check. A fake transport keeps
 * every message the session sends; the pool points at a socket that does not exist, so
 * initialize is answered once the first attempt fails and check_sql runs on built-ins.
 *
 *   ./test_mcp_session                                   # forks per test
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_mcp_session
 *                                      # without the out-of-memory suite, whose tests exit
 *
 * The binary is linked with --wrap=strdup, --wrap=json_object_new_object and
 * --wrap=str_printf: fail_strdup, fail_json and fail_printf make them return NULL, to test
 * the out-of-memory policy (exit 70, loudly; or an error answer for a text sized by input). */
#include <check.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp/audit.h"
#include "mcp/dispatch.h"
#include "mcp/internal.h"
#include "mcp/json.h"
#include "mcp/session.h"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))
#define MAX_MESSAGES        32

static bool fail_strdup, fail_json, fail_printf;

char *__real_strdup(const char *text);
char *__wrap_strdup(const char *text);
char *__wrap_strdup(const char *text) {
    return fail_strdup ? NULL : __real_strdup(text);
}

json_object *__real_json_object_new_object(void);
json_object *__wrap_json_object_new_object(void);
json_object *__wrap_json_object_new_object(void) {
    return fail_json ? NULL : __real_json_object_new_object();
}

char *__wrap_str_printf(const char *format, ...);
char *__wrap_str_printf(const char *format, ...) {
    if (fail_printf)
        return NULL;
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(NULL, 0, format, arguments);
    va_end(arguments);
    char *text = length < 0 ? NULL : malloc((size_t)length + 1);
    if (text == NULL)
        return NULL;
    va_start(arguments, format);
    vsnprintf(text, (size_t)length + 1, format, arguments);
    va_end(arguments);
    return text;
}

/* The fake transport: every message sent, serialized. */
typedef struct transport {
    char *messages[MAX_MESSAGES];
    size_t count;
} transport;

static void transport_send(void *context, json_object *message) {
    transport *fake = context;
    ck_assert_uint_lt(fake->count, MAX_MESSAGES);
    fake->messages[fake->count++] = strdup(json_object_to_json_string_ext(message, JSON_C_TO_STRING_PLAIN));
}

static void transport_free(transport *fake) {
    for (size_t i = 0; i < fake->count; i++)
        free(fake->messages[i]);
    fake->count = 0;
}

/* A configuration whose database cannot be reached (no such socket directory). */
static mcp_config test_config(void) {
    mcp_config config = {0};
    guard_policy_init(&config.policy);
    db_pool_options_init(&config.db);
    config.db.conninfo = "host=/nonexistent-pgsafe-test port=1";
    config.db.pool_size = 1;
    config.max_message_bytes = 1 << 20;
    config.max_in_flight = 64;
    config.log_level = MCP_LOG_CRITICAL; /* the pool's connection warnings are expected */
    return config;
}

typedef struct session_fixture {
    mcp_config config;
    transport fake;
    mcp_session *session;
} session_fixture;

static void fixture_open(session_fixture *fixture, const mcp_config *config) {
    *fixture = (session_fixture){.config = *config};
    char *error = NULL;
    fixture->session = mcp_session_new(&fixture->config, transport_send, &fixture->fake, &error);
    ck_assert_msg(fixture->session != NULL, "mcp_session_new: %s", error ? error : "?");
}

static void fixture_close(session_fixture *fixture) {
    mcp_session_free(fixture->session);
    transport_free(&fixture->fake);
}

static void send_line(session_fixture *fixture, const char *line) {
    mcp_session_handle_line(fixture->session, line, strlen(line));
}

/* Drives the pool (as a transport's loop would) until the session has sent count messages.
 * A held initialize is answered within its own wait, so this ends. */
static void drive_until(session_fixture *fixture, size_t count) {
    while (fixture->fake.count < count) {
        struct pollfd fds[8];
        int used = mcp_session_pollfds(fixture->session, fds, 8);
        int timeout = mcp_session_timeout(fixture->session);
        int ready = poll(fds, (nfds_t)used, timeout < 0 || timeout > 100 ? 100 : timeout);
        ck_assert(mcp_session_process(fixture->session, fds, ready > 0 ? used : 0));
    }
}

static void initialize(session_fixture *fixture) {
    size_t before = fixture->fake.count;
    send_line(fixture, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                       "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    drive_until(fixture, before + 1);
    ck_assert_msg(strstr(fixture->fake.messages[before], "\"protocolVersion\":\"2025-06-18\"") != NULL, "%s",
                  fixture->fake.messages[before]);
}

/* Asserts that the last message sent holds needle. */
static void expect_last(const session_fixture *fixture, const char *needle) {
    ck_assert_uint_gt(fixture->fake.count, 0);
    const char *last = fixture->fake.messages[fixture->fake.count - 1];
    ck_assert_msg(strstr(last, needle) != NULL, "expected %s in %s", needle, last);
}

/* ---------------------------------------------------------------------------------------
 * Suite "session"
 * ------------------------------------------------------------------------------------- */

/* issue #12: an id of 99999999999999999999999 was answered as 18446744073709551615. */
START_TEST(ids_come_back_exactly_as_sent) {
    mcp_config config = test_config();
    session_fixture f;
    fixture_open(&f, &config);
    static const char *const ids[] = {"99999999999999999999999", "-0", "\"x\\\"y\"", "7"};
    for (size_t i = 0; i < ARRAY_LENGTH(ids); i++) {
        char line[160], expected[160];
        snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", ids[i]);
        snprintf(expected, sizeof expected, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", ids[i]);
        send_line(&f, line);
        ck_assert_str_eq(f.fake.messages[f.fake.count - 1], expected);
    }
    /* A float is not an MCP id: refused, with a null id. */
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}");
    expect_last(&f, "\"id\":null");
    expect_last(&f, "-32600");
    fixture_close(&f);
}
END_TEST

START_TEST(methods_wait_for_initialize) {
    mcp_config config = test_config();
    session_fixture f;
    fixture_open(&f, &config);
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    expect_last(&f, "-32002");
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"no/such\"}");
    expect_last(&f, "-32002");
    initialize(&f);
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"no/such\"}");
    expect_last(&f, "{\"code\":-32601,\"message\":\"method \\\"no\\/such\\\" not found\"}");
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}");
    expect_last(&f, "\"name\":\"describe_table\"");
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"x\"}}");
    expect_last(&f, "already initialized");
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\",\"params\":[1]}");
    expect_last(&f, "-32602");
    ck_assert(!mcp_session_busy(f.session));
    fixture_close(&f);
}
END_TEST

START_TEST(the_method_table_knows_every_method) {
    static const char *const methods[] = {"initialize",      "ping",           "tools/list",
                                          "tools/call",      "resources/list", "resources/read",
                                          "prompts/list",    "prompts/get",    "resources/templates/list",
                                          "logging/setLevel"};
    for (size_t i = 0; i < ARRAY_LENGTH(methods); i++)
        ck_assert_msg(dispatch_method_exists(methods[i]), "%s", methods[i]);
    ck_assert(!dispatch_method_exists("tools"));
    ck_assert(!dispatch_method_exists("notifications/cancelled"));
}
END_TEST

START_TEST(a_nul_in_a_version_or_level_is_not_the_version_or_level) {
    mcp_config config = test_config();
    session_fixture f;
    fixture_open(&f, &config);
#define MODERN_LIST(id, meta)                                                                                          \
    "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"tools/list\",\"params\":{\"_meta\":{"                             \
    "\"io.modelcontextprotocol/clientCapabilities\":{}," meta "}}}"
    send_line(&f, MODERN_LIST("1", "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\""));
    expect_last(&f, "\"resultType\":\"complete\"");
    /* A C string ends at the NUL: compared as one, these read as the version and the level. */
    send_line(&f, MODERN_LIST("2", "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\\u0000x\""));
    expect_last(&f, "\"code\":-32022");
    send_line(&f, MODERN_LIST("3", "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\\u0000\""));
    expect_last(&f, "\"code\":-32022");
    send_line(&f, MODERN_LIST("4", "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                                   "\"io.modelcontextprotocol/logLevel\":\"debug\\u0000\""));
    expect_last(&f, "\"code\":-32602");
#undef MODERN_LIST
    initialize(&f);
    send_line(&f,
              "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"error\\u0000\"}}");
    expect_last(&f, "\"code\":-32602");
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"error\"}}");
    expect_last(&f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{}}");
    fixture_close(&f);
}
END_TEST

START_TEST(notifications_are_never_answered) {
    mcp_config config = test_config();
    session_fixture f;
    fixture_open(&f, &config);
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":9}}");
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"method\":\"no/such\",\"params\":7}");
    ck_assert_uint_eq(f.fake.count, 0);
    fixture_close(&f);
}
END_TEST

START_TEST(check_sql_runs_without_the_database) {
    mcp_config config = test_config();
    session_fixture f;
    fixture_open(&f, &config);
    initialize(&f);
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"check_sql\","
                  "\"arguments\":{\"sql\":\"SELECT 1\"}}}");
    expect_last(&f, "\"allowed\":true");
    expect_last(&f, "built-ins only");
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}");
    expect_last(&f, "unknown tool");
    fixture_close(&f);
}
END_TEST

/* A tool's text that cannot be built (out of memory) is answered as an error, never as a
 * result with an empty text (it was, before the out-of-memory policy covered it). */
START_TEST(a_text_that_cannot_be_built_is_an_error_answer) {
    mcp_config config = test_config();
    session_fixture f;
    fixture_open(&f, &config);
    initialize(&f);
    fail_printf = true;
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"check_sql\","
                  "\"arguments\":{\"sql\":\"SELECT 1\"}}}");
    fail_printf = false;
    expect_last(&f, "\"id\":1,\"error\":{\"code\":-32603");
    expect_last(&f, "out of memory while rendering the answer");
    ck_assert_ptr_null(strstr(f.fake.messages[f.fake.count - 1], "\"result\""));
    fixture_close(&f);
}
END_TEST

/* issue #13: a server newer than the newest built-in table is said so in the instructions
 * (the pool logs it too); one the tables cover, or one not known yet, is not. The sentence is
 * fed a posture, as no real server can report a faked version. */
START_TEST(instructions_say_when_the_server_is_newer_than_the_tables) {
    mcp_config config = test_config();
    int newest = guard_builtins_version(0);
    ck_assert_int_ge(newest, 18);
    char newer[16], development[16], covered[16], expected[256];
    snprintf(newer, sizeof newer, "%d.1", newest + 1);
    snprintf(development, sizeof development, "%ddevel", newest + 1);
    snprintf(covered, sizeof covered, "%d.4", newest);
    snprintf(expected, sizeof expected,
             "pgsafe knows the built-in functions of PostgreSQL %d and older: functions that PostgreSQL %d added "
             "are refused as unknown; write queries with PostgreSQL %d's functions.\n",
             newest, newest + 1, newest);
    const struct {
        const char *version;
        bool known, said;
    } cases[] = {{newer, true, true},   {development, true, true}, {covered, true, false},
                 {"15.4", true, false}, {"?", true, false},        {newer, false, false}};
    for (size_t i = 0; i < ARRAY_LENGTH(cases); i++) {
        db_posture posture = {
            .known = cases[i].known, .role = "alice", .database = "shop", .server_version = (char *)cases[i].version};
        char *text = lifecycle_instructions(&config, &posture, NULL);
        ck_assert_ptr_nonnull(text);
        if (cases[i].said)
            ck_assert_msg(strstr(text, expected) != NULL, "%s: %s", cases[i].version, text);
        else
            ck_assert_msg(strstr(text, "refused as unknown") == NULL, "%s (known %d): %s", cases[i].version,
                          cases[i].known, text);
        free(text);
    }
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "audit": /dev/full opens for appending and fails every write with ENOSPC.
 * ------------------------------------------------------------------------------------- */

/* Runs with stderr sent to a temporary file; returns what was written there (caller frees). */
typedef struct captured_stderr {
    FILE *file;
    int saved;
} captured_stderr;

static void capture_stderr(captured_stderr *capture) {
    fflush(stderr);
    capture->file = tmpfile();
    ck_assert_ptr_nonnull(capture->file);
    capture->saved = dup(STDERR_FILENO);
    ck_assert_int_ge(capture->saved, 0);
    ck_assert_int_ge(dup2(fileno(capture->file), STDERR_FILENO), 0);
}

static char *release_stderr(captured_stderr *capture) {
    fflush(stderr);
    dup2(capture->saved, STDERR_FILENO);
    close(capture->saved);
    long size = ftell(capture->file);
    char *text = calloc(1, (size_t)(size > 0 ? size : 0) + 1);
    ck_assert_ptr_nonnull(text);
    rewind(capture->file);
    if (size > 0)
        ck_assert_uint_eq(fread(text, 1, (size_t)size, capture->file), (size_t)size);
    fclose(capture->file);
    return text;
}

START_TEST(a_failed_audit_write_is_reported_and_counted) {
    char *error = NULL;
    audit_log *log = audit_open("/dev/full", false, &error);
    ck_assert_msg(log != NULL, "%s", error ? error : "?");
    audit_entry entry = {.verdict = "allowed", .rows = 1, .bytes = 2};
    json_object *id = json_object_new_int(1);
    captured_stderr capture;
    capture_stderr(&capture);
    bool first = audit_write(log, id, "query", &entry, 1.0);
    bool second = audit_write(log, id, "query", &entry, 1.0);
    char *text = release_stderr(&capture);
    ck_assert(!first && !second);
    ck_assert(audit_failing(log));
    ck_assert_uint_eq(audit_failures(log), 2);
    ck_assert_msg(strstr(text, "cannot write the audit log") && strstr(text, "2 lines lost"), "%s", text);
    free(text);
    json_object_put(id);
    audit_close(log);
}
END_TEST

START_TEST(a_working_audit_log_is_not_failing) {
    char path[] = "/tmp/pgsafe-audit-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char *error = NULL;
    audit_log *log = audit_open(path, true, &error);
    ck_assert_ptr_nonnull(log);
    audit_entry entry = {.verdict = "allowed", .sql = NULL, .rows = -1, .bytes = -1};
    ck_assert(audit_write(log, NULL, "check_sql", &entry, 0.5));
    ck_assert(!audit_failing(log));
    ck_assert_uint_eq(audit_failures(log), 0);
    audit_close(log);
    unlink(path);
}
END_TEST

static const char check_sql_call[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                                     "\"check_sql\",\"arguments\":{\"sql\":\"SELECT 1\"}}}";

/* Without --audit-required, calls go on: the failure is on stderr, the answer is the result. */
START_TEST(calls_go_on_while_the_audit_log_fails) {
    mcp_config config = test_config();
    config.audit_log_path = "/dev/full";
    session_fixture f;
    fixture_open(&f, &config);
    initialize(&f);
    captured_stderr capture;
    capture_stderr(&capture);
    send_line(&f, check_sql_call);
    char *text = release_stderr(&capture);
    expect_last(&f, "\"allowed\":true");
    ck_assert_msg(strstr(text, "1 line lost") != NULL, "%s", text);
    free(text);
    fixture_close(&f);
}
END_TEST

/* With --audit-required, a call whose line cannot be written gets no result, and while the
 * log is failing, calls are refused. */
START_TEST(audit_required_withholds_results_while_the_log_fails) {
    mcp_config config = test_config();
    config.audit_log_path = "/dev/full";
    config.audit_required = true;
    session_fixture f;
    fixture_open(&f, &config);
    initialize(&f);
    captured_stderr capture;
    capture_stderr(&capture);
    send_line(&f, check_sql_call);
    bool withheld = strstr(f.fake.messages[f.fake.count - 1], "result is withheld") != NULL;
    send_line(&f, check_sql_call);
    bool refused = strstr(f.fake.messages[f.fake.count - 1], "\"error\"") != NULL &&
                   strstr(f.fake.messages[f.fake.count - 1], "\"allowed\"") == NULL;
    char *text = release_stderr(&capture);
    free(text);
    ck_assert_msg(withheld, "%s", f.fake.messages[f.fake.count - 2]);
    ck_assert_msg(refused, "%s", f.fake.messages[f.fake.count - 1]);
    /* Methods that are not tool calls have no audit line and still work. */
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}");
    expect_last(&f, "\"result\":{}");
    fixture_close(&f);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "out_of_memory": the policy of mcp/json.h. These tests exit 70.
 * ------------------------------------------------------------------------------------- */

/* server.c copied the method and tool names with unchecked strdup calls; a NULL tool name
 * then reached strcmp in tools.c. A failed copy now ends the process loudly. */
START_TEST(a_failed_copy_exits_loudly) {
    mcp_config config = test_config();
    session_fixture f;
    fixture_open(&f, &config);
    fail_strdup = true;
    send_line(&f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    ck_abort_msg("the session went on after a failed allocation");
}
END_TEST

START_TEST(a_failed_json_object_exits_loudly) {
    fail_json = true;
    json_object *object = mcp_json_object();
    (void)object;
    ck_abort_msg("mcp_json_object returned");
}
END_TEST

START_TEST(mcp_must_passes_a_pointer_through) {
    int value = 0;
    ck_assert_ptr_eq(mcp_must(&value, "a test"), &value);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suites
 * ------------------------------------------------------------------------------------- */

static TCase *add_case(Suite *suite, const char *name) {
    TCase *test_case = tcase_create(name);
    tcase_set_timeout(test_case, 120);
    suite_add_tcase(suite, test_case);
    return test_case;
}

int main(void) {
    Suite *session = suite_create("session");
    TCase *tc = add_case(session, "dispatch");
    tcase_add_test(tc, ids_come_back_exactly_as_sent);
    tcase_add_test(tc, a_text_that_cannot_be_built_is_an_error_answer);
    tcase_add_test(tc, methods_wait_for_initialize);
    tcase_add_test(tc, the_method_table_knows_every_method);
    tcase_add_test(tc, notifications_are_never_answered);
    tcase_add_test(tc, a_nul_in_a_version_or_level_is_not_the_version_or_level);
    tcase_add_test(tc, check_sql_runs_without_the_database);
    tcase_add_test(tc, instructions_say_when_the_server_is_newer_than_the_tables);
    Suite *audit = suite_create("audit");
    tc = add_case(audit, "audit");
    tcase_add_test(tc, a_failed_audit_write_is_reported_and_counted);
    tcase_add_test(tc, a_working_audit_log_is_not_failing);
    tcase_add_test(tc, calls_go_on_while_the_audit_log_fails);
    tcase_add_test(tc, audit_required_withholds_results_while_the_log_fails);
    SRunner *runner = srunner_create(session);
    srunner_add_suite(runner, audit);
    /* Without fork (under valgrind) an exit would end the whole run: those tests need fork. */
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode == NULL || strcmp(fork_mode, "no") != 0) {
        Suite *memory = suite_create("out_of_memory");
        tc = add_case(memory, "policy");
        tcase_add_exit_test(tc, a_failed_copy_exits_loudly, MCP_EXIT_OUT_OF_MEMORY);
        tcase_add_exit_test(tc, a_failed_json_object_exits_loudly, MCP_EXIT_OUT_OF_MEMORY);
        tcase_add_test(tc, mcp_must_passes_a_pointer_through);
        srunner_add_suite(runner, memory);
    }
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
