/* Unit tests of the HTTP side, with Check: bearer tokens (src/mcp/tokens.h) and the
 * Streamable HTTP transport (src/mcp/http.h) driven by a stand-in dispatcher over loopback.
 *
 * Suites: tokens (the file, add, revoke, verify, reload) and http (status codes and JSON-RPC
 * error bodies for every refusal, the caps, header checks, answers now and later, a client
 * that leaves). The test is the server's loop and the client at once: it writes a raw HTTP
 * request on a loopback socket and turns the transport's crank until the answer is in.
 *
 *   ./test_transport
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_transport */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcp/http.h"
#include "mcp/jsonrpc.h"
#include "mcp/tokens.h"
#include "util/strings.h"

/* ---------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------- */

/* A fresh path in a fresh directory (the directory is left for the system to clean). */
static char *temporary_path(const char *name) {
    char directory[] = "/tmp/pgsafe-test-transport.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(directory));
    return str_printf("%s/%s", directory, name);
}

static char *read_text(const char *path) {
    FILE *file = fopen(path, "r");
    ck_assert_ptr_nonnull(file);
    strbuf text = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0)
        strbuf_append(&text, chunk, got);
    fclose(file);
    return strbuf_take(&text);
}

static void write_text(const char *path, const char *text) {
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(text, file);
    fclose(file);
}

/* ---------------------------------------------------------------------------------------
 * tokens
 * ------------------------------------------------------------------------------------- */

START_TEST(add_prints_a_token_that_verifies_to_its_identity) {
    char *path = temporary_path("tokens");
    char *token = NULL, *error = NULL;
    ck_assert_msg(token_add(path, "alice", &token, &error), "%s", error ? error : "");
    ck_assert_ptr_nonnull(token);
    ck_assert_int_eq(strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)), 0);
    ck_assert_uint_eq(strlen(token), strlen(TOKEN_PREFIX) + 43); /* 32 bytes, base64url */
    char *bob = NULL;
    ck_assert(token_add(path, "bob", &bob, &error));
    token_store *store = token_store_load(path, &error);
    ck_assert_msg(store != NULL, "%s", error ? error : "");
    ck_assert_uint_eq(token_store_count(store), 2);
    ck_assert_str_eq(token_store_verify(store, token, strlen(token)), "alice");
    ck_assert_str_eq(token_store_verify(store, bob, strlen(bob)), "bob");
    ck_assert_ptr_null(token_store_verify(store, "pgsafe_wrong", 12));
    ck_assert_ptr_null(token_store_verify(store, token, strlen(token) - 1)); /* a prefix is not the token */
    ck_assert_ptr_null(token_store_verify(store, "", 0));
    token_store_free(store);
    free(token);
    free(bob);
    free(path);
}
END_TEST

START_TEST(the_file_holds_hashes_never_the_token_and_is_private) {
    char *path = temporary_path("tokens");
    char *token = NULL, *error = NULL;
    ck_assert(token_add(path, "alice", &token, &error));
    char *text = read_text(path);
    ck_assert_ptr_null(strstr(text, token));
    ck_assert_ptr_null(strstr(text, token + strlen(TOKEN_PREFIX)));
    ck_assert_ptr_nonnull(strstr(text, "alice sha256:"));
    struct stat status;
    ck_assert_int_eq(stat(path, &status), 0);
    ck_assert_int_eq(status.st_mode & 0777, 0600);
    free(text);
    free(token);
    free(path);
}
END_TEST

START_TEST(two_tokens_differ) {
    char *path = temporary_path("tokens");
    char *first = NULL, *second = NULL, *error = NULL;
    ck_assert(token_add(path, "a", &first, &error));
    ck_assert(token_add(path, "b", &second, &error));
    ck_assert_str_ne(first, second);
    free(first);
    free(second);
    free(path);
}
END_TEST

START_TEST(an_existing_identity_is_not_replaced) {
    char *path = temporary_path("tokens");
    char *token = NULL, *again = NULL, *error = NULL;
    ck_assert(token_add(path, "alice", &token, &error));
    ck_assert(!token_add(path, "alice", &again, &error));
    ck_assert_ptr_null(again);
    ck_assert_ptr_nonnull(strstr(error, "already has a token"));
    free(error);
    token_store *store = token_store_load(path, &error);
    ck_assert_str_eq(token_store_verify(store, token, strlen(token)), "alice");
    token_store_free(store);
    free(token);
    free(path);
}
END_TEST

START_TEST(invalid_names_are_refused) {
    static const char *const names[] = {
        "",       "with space", "semi;colon",
        "slash/", "new\nline",  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 65 */};
    char *path = temporary_path("tokens");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *token = NULL, *error = NULL;
        ck_assert_msg(!token_add(path, names[i], &token, &error), "accepted \"%s\"", names[i]);
        ck_assert_ptr_nonnull(strstr(error, "invalid identity name"));
        free(error);
    }
    ck_assert(token_name_valid("ci-bot.prod_2"));
    ck_assert_int_ne(access(path, F_OK), 0); /* nothing was written */
    free(path);
}
END_TEST

START_TEST(revoke_takes_effect_on_the_next_refresh) {
    char *path = temporary_path("tokens");
    char *alice = NULL, *bob = NULL, *error = NULL;
    ck_assert(token_add(path, "alice", &alice, &error));
    ck_assert(token_add(path, "bob", &bob, &error));
    token_store *store = token_store_load(path, &error);
    ck_assert_str_eq(token_store_verify(store, alice, strlen(alice)), "alice");
    ck_assert_msg(token_revoke(path, "alice", &error), "%s", error ? error : "");
    ck_assert(token_store_refresh(store, &error));
    ck_assert_ptr_null(token_store_verify(store, alice, strlen(alice)));
    ck_assert_str_eq(token_store_verify(store, bob, strlen(bob)), "bob");
    ck_assert(!token_revoke(path, "alice", &error));
    ck_assert_ptr_nonnull(strstr(error, "has no token"));
    free(error);
    token_store_free(store);
    free(alice);
    free(bob);
    free(path);
}
END_TEST

START_TEST(a_malformed_file_refuses_to_load_and_a_broken_reload_refuses_every_token) {
    char *path = temporary_path("tokens");
    char *error = NULL, *token = NULL;
    write_text(path, "alice sha256:1234\n");
    ck_assert_ptr_null(token_store_load(path, &error));
    ck_assert_ptr_nonnull(strstr(error, "malformed line 1"));
    free(error);
    error = NULL;
    ck_assert_ptr_null(token_store_load("/nonexistent/tokens", &error));
    ck_assert_ptr_nonnull(strstr(error, "cannot open"));
    free(error);
    unlink(path);
    ck_assert(token_add(path, "alice", &token, &error));
    token_store *store = token_store_load(path, &error);
    ck_assert_ptr_nonnull(store);
    write_text(path, "# edited by hand, wrongly\nalice\n");
    ck_assert(!token_store_refresh(store, &error));
    free(error);
    ck_assert_uint_eq(token_store_count(store), 0);
    ck_assert_ptr_null(token_store_verify(store, token, strlen(token))); /* fail closed */
    token_store_free(store);
    free(token);
    free(path);
}
END_TEST

START_TEST(duplicate_names_in_the_file_are_refused) {
    char *path = temporary_path("tokens");
    char *error = NULL;
    write_text(path, "a sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
                     "a sha256:1111111111111111111111111111111111111111111111111111111111111111\n");
    ck_assert_ptr_null(token_store_load(path, &error));
    ck_assert_ptr_nonnull(strstr(error, "twice"));
    free(error);
    free(path);
}
END_TEST

static Suite *tokens_suite(void) {
    Suite *suite = suite_create("tokens");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, add_prints_a_token_that_verifies_to_its_identity);
    tcase_add_test(tc, the_file_holds_hashes_never_the_token_and_is_private);
    tcase_add_test(tc, two_tokens_differ);
    tcase_add_test(tc, an_existing_identity_is_not_replaced);
    tcase_add_test(tc, invalid_names_are_refused);
    tcase_add_test(tc, revoke_takes_effect_on_the_next_refresh);
    tcase_add_test(tc, a_malformed_file_refuses_to_load_and_a_broken_reload_refuses_every_token);
    tcase_add_test(tc, duplicate_names_in_the_file_are_refused);
    suite_add_tcase(suite, tc);
    return suite;
}

/* ---------------------------------------------------------------------------------------
 * http: a stand-in dispatcher
 *
 * Answers at once with {"method": M, "identity": I, "modern": B}, except:
 *   "hold"     kept unanswered in `held` (answered by the test, or cancelled)
 *   "missing"  -32601
 *   "log"      one notifications/message first, then the result
 * ------------------------------------------------------------------------------------- */

typedef struct stand_in {
    http_exchange *held;
    int cancelled;
    int messages;
    bool ready;
} stand_in;

static void on_message(void *user, http_exchange *exchange, json_object *message, const http_context *context) {
    stand_in *state = user;
    state->messages++;
    json_object *id = NULL, *method_value = NULL;
    json_object_object_get_ex(message, "id", &id);
    if (!json_object_object_get_ex(message, "method", &method_value) || id == NULL) {
        http_exchange_reply(exchange, NULL);
        return;
    }
    const char *method = json_object_get_string(method_value);
    if (strcmp(method, "hold") == 0) {
        http_exchange_set_owner(exchange, state);
        state->held = exchange;
        return;
    }
    if (strcmp(method, "missing") == 0) {
        http_exchange_reply(exchange, jsonrpc_error(id, JSONRPC_METHOD_NOT_FOUND, "method \"missing\" not found"));
        return;
    }
    if (strcmp(method, "log") == 0) {
        json_object *params = json_object_new_object();
        json_object_object_add(params, "level", json_object_new_string("info"));
        json_object_object_add(params, "data", json_object_new_string("hello"));
        http_exchange_notify(exchange, jsonrpc_notification("notifications/message", params));
    }
    json_object *result = json_object_new_object();
    json_object_object_add(result, "method", json_object_new_string(method));
    json_object_object_add(result, "identity",
                           context->identity ? json_object_new_string(context->identity) : json_object_new_null());
    json_object_object_add(result, "modern", json_object_new_boolean(context->modern));
    http_exchange_reply(exchange, jsonrpc_response(id, result));
}

static void on_cancelled(void *user, http_exchange *exchange, void *owner) {
    stand_in *state = user;
    ck_assert_ptr_eq(owner, state);
    ck_assert_ptr_eq(exchange, state->held);
    state->cancelled++;
}

static bool on_ready(void *user, const char **detail) {
    stand_in *state = user;
    *detail = "database unreachable";
    return state->ready;
}

typedef struct fixture {
    stand_in state;
    http_server *server;
    token_store *tokens;
    char *tokens_path;
    char *alice;
} fixture;

static void start(fixture *f, const http_config *config) {
    memset(&f->state, 0, sizeof f->state);
    f->state.ready = true;
    http_handlers handlers = {.user = &f->state, .message = on_message, .cancelled = on_cancelled, .ready = on_ready};
    char *error = NULL;
    f->server = http_server_start(config, &handlers, &error);
    ck_assert_msg(f->server != NULL, "%s", error ? error : "");
}

static void start_default(fixture *f) {
    http_config config;
    http_config_defaults(&config);
    start(f, &config);
}

static void start_with_tokens(fixture *f) {
    char *error = NULL;
    f->tokens_path = temporary_path("tokens");
    ck_assert(token_add(f->tokens_path, "alice", &f->alice, &error));
    f->tokens = token_store_load(f->tokens_path, &error);
    ck_assert_ptr_nonnull(f->tokens);
    http_config config;
    http_config_defaults(&config);
    config.tokens = f->tokens;
    start(f, &config);
}

static void stop(fixture *f) {
    http_server_stop(f->server);
    token_store_free(f->tokens);
    free(f->tokens_path);
    free(f->alice);
}

static int connect_to(fixture *f) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(http_server_port(f->server))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&address, sizeof address), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Turns the transport's crank once: poll with a short wait, then process. */
static void crank(fixture *f, int client_fd, short client_events, short *client_revents) {
    struct pollfd fds[16];
    int count = 0;
    if (client_fd >= 0)
        fds[count++] = (struct pollfd){.fd = client_fd, .events = client_events};
    int first = count;
    count += http_server_pollfds(f->server, fds + count, 16 - count);
    int timeout = http_server_timeout(f->server);
    if (timeout < 0 || timeout > 50)
        timeout = 50;
    poll(fds, (nfds_t)count, timeout);
    if (client_revents)
        *client_revents = client_fd >= 0 ? fds[0].revents : 0;
    http_server_process(f->server, fds + first, count - first);
}

static void send_all(fixture *f, int fd, const char *request, size_t length) {
    size_t done = 0;
    for (int rounds = 0; done < length && rounds < 2000; rounds++) {
        ssize_t wrote = write(fd, request + done, length - done);
        if (wrote > 0)
            done += (size_t)wrote;
        else if (errno == EPIPE || errno == ECONNRESET)
            return; /* the server answered early and closed */
        crank(f, fd, POLLOUT, NULL);
    }
}

/* Reads until the server closes (requests say Connection: close), cranking meanwhile. */
static char *read_answer(fixture *f, int fd) {
    strbuf answer = {0};
    for (int rounds = 0; rounds < 400; rounds++) {
        char chunk[8192];
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got > 0) {
            strbuf_append(&answer, chunk, (size_t)got);
            continue;
        }
        if (got == 0 || (got < 0 && errno != EAGAIN))
            break;
        crank(f, fd, POLLIN, NULL);
    }
    char *text = strbuf_take(&answer);
    ck_assert_ptr_nonnull(text);
    return text;
}

static char *request_text(const char *method, const char *path, const char *headers, const char *body) {
    return str_printf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
                      method, path, headers, strlen(body), body);
}

/* One request on a new connection; the whole answer (status line, headers, body). */
static char *exchange(fixture *f, const char *method, const char *path, const char *headers, const char *body) {
    char *request = request_text(method, path, headers, body);
    int fd = connect_to(f);
    send_all(f, fd, request, strlen(request));
    char *answer = read_answer(f, fd);
    close(fd);
    free(request);
    return answer;
}

static int status_of(const char *answer) {
    int status = 0;
    ck_assert_int_eq(sscanf(answer, "HTTP/1.1 %d", &status), 1);
    return status;
}

static const char *body_of(const char *answer) {
    const char *body = strstr(answer, "\r\n\r\n");
    ck_assert_ptr_nonnull(body);
    return body + 4;
}

/* The JSON-RPC error code in the answer's body. */
static int rpc_code_of(const char *answer) {
    json_object *body = json_tokener_parse(body_of(answer));
    ck_assert_msg(body != NULL, "body is not JSON: %s", answer);
    json_object *error = NULL, *code = NULL;
    ck_assert_msg(json_object_object_get_ex(body, "error", &error) && json_object_object_get_ex(error, "code", &code),
                  "no JSON-RPC error in %s", answer);
    int value = json_object_get_int(code);
    json_object_put(body);
    return value;
}

#define JSON_TYPE "Content-Type: application/json\r\n"
#define LEGACY    JSON_TYPE "MCP-Protocol-Version: 2025-11-25\r\n"
#define PING      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"
#define MODERN_META                                                                                                    \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/"                 \
    "clientCapabilities\":{}}"

/* ---------------------------------------------------------------------------------------
 * http
 * ------------------------------------------------------------------------------------- */

START_TEST(health_and_readiness) {
    fixture f = {0};
    start_default(&f);
    char *answer = exchange(&f, "GET", "/healthz", "", "");
    ck_assert_int_eq(status_of(answer), 200);
    ck_assert_str_eq(body_of(answer), "{\"status\":\"ok\"}");
    free(answer);
    answer = exchange(&f, "GET", "/readyz", "", "");
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    f.state.ready = false;
    answer = exchange(&f, "GET", "/readyz", "", "");
    ck_assert_int_eq(status_of(answer), 503);
    ck_assert_ptr_nonnull(strstr(body_of(answer), "database unreachable"));
    free(answer);
    stop(&f);
}
END_TEST

START_TEST(a_legacy_post_is_dispatched_and_answered_as_json) {
    fixture f = {0};
    start_default(&f);
    char *answer = exchange(&f, "POST", "/mcp", LEGACY, PING);
    ck_assert_int_eq(status_of(answer), 200);
    ck_assert_ptr_nonnull(strcasestr(answer, "Content-Type: application/json"));
    ck_assert_ptr_nonnull(strstr(body_of(answer), "\"method\":\"ping\""));
    ck_assert_ptr_nonnull(strstr(body_of(answer), "\"modern\":false"));
    ck_assert_ptr_null(strcasestr(answer, "Mcp-Session-Id")); /* stateless: no session is minted */
    free(answer);
    /* No MCP-Protocol-Version header: taken as 2025-03-26, which did not send it. */
    answer = exchange(&f, "POST", "/mcp", JSON_TYPE, PING);
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    ck_assert_int_eq(f.state.messages, 2);
    stop(&f);
}
END_TEST

START_TEST(a_modern_post_needs_matching_headers) {
    fixture f = {0};
    start_default(&f);
    const char *body =
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"query\"," MODERN_META "}}";
    char *answer =
        exchange(&f, "POST", "/mcp",
                 JSON_TYPE "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: query\r\n", body);
    ck_assert_int_eq(status_of(answer), 200);
    ck_assert_ptr_nonnull(strstr(body_of(answer), "\"modern\":true"));
    free(answer);
    /* Mcp-Name in the Base64 sentinel form. */
    answer = exchange(&f, "POST", "/mcp",
                      JSON_TYPE "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\n"
                                "Mcp-Name: =?base64?cXVlcnk=?=\r\n",
                      body);
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    static const char *const wrong[] = {
        JSON_TYPE "Mcp-Method: tools/call\r\nMcp-Name: query\r\n",                                     /* no version */
        JSON_TYPE "MCP-Protocol-Version: 2025-11-25\r\nMcp-Method: tools/call\r\nMcp-Name: query\r\n", /* differs */
        JSON_TYPE "MCP-Protocol-Version: 2026-07-28\r\nMcp-Name: query\r\n",                           /* no method */
        JSON_TYPE "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/list\r\nMcp-Name: query\r\n", /* differs */
        JSON_TYPE "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\n",                    /* no name */
        JSON_TYPE "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: explain\r\n",
        JSON_TYPE "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: =?base64?!!?=\r\n",
    };
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        answer = exchange(&f, "POST", "/mcp", wrong[i], body);
        ck_assert_msg(status_of(answer) == 400, "case %zu: %s", i, answer);
        ck_assert_int_eq(rpc_code_of(answer), MCP_HEADER_MISMATCH);
        ck_assert_ptr_nonnull(strstr(body_of(answer), "\"id\":7"));
        free(answer);
    }
    ck_assert_int_eq(f.state.messages, 2);
    stop(&f);
}
END_TEST

START_TEST(a_modern_version_header_on_a_legacy_body_or_an_unknown_one_is_refused) {
    fixture f = {0};
    start_default(&f);
    char *answer =
        exchange(&f, "POST", "/mcp", JSON_TYPE "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: ping\r\n", PING);
    ck_assert_int_eq(status_of(answer), 400);
    ck_assert_int_eq(rpc_code_of(answer), MCP_HEADER_MISMATCH);
    free(answer);
    answer = exchange(&f, "POST", "/mcp", JSON_TYPE "MCP-Protocol-Version: 1999-01-01\r\n", PING);
    ck_assert_int_eq(status_of(answer), 400);
    ck_assert_int_eq(rpc_code_of(answer), MCP_UNSUPPORTED_VERSION);
    ck_assert_ptr_nonnull(strstr(body_of(answer), "\"supported\":[\"2026-07-28\""));
    free(answer);
    ck_assert_int_eq(f.state.messages, 0);
    stop(&f);
}
END_TEST

START_TEST(a_modern_unknown_method_is_404_with_its_json_rpc_error) {
    fixture f = {0};
    start_default(&f);
    char *answer = exchange(&f, "POST", "/mcp", JSON_TYPE "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: missing\r\n",
                            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"missing\",\"params\":{" MODERN_META "}}");
    ck_assert_int_eq(status_of(answer), 404);
    ck_assert_int_eq(rpc_code_of(answer), JSONRPC_METHOD_NOT_FOUND);
    free(answer);
    /* The same error to a legacy request keeps 200: a legacy client reads 404 as a lost session. */
    answer = exchange(&f, "POST", "/mcp", LEGACY, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"missing\"}");
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    stop(&f);
}
END_TEST

START_TEST(bodies_that_are_not_one_json_rpc_message) {
    fixture f = {0};
    start_default(&f);
    char *answer = exchange(&f, "POST", "/mcp", LEGACY, "{not json");
    ck_assert_int_eq(status_of(answer), 400);
    ck_assert_int_eq(rpc_code_of(answer), JSONRPC_PARSE_ERROR);
    free(answer);
    answer = exchange(&f, "POST", "/mcp", LEGACY, "[" PING "]");
    ck_assert_int_eq(status_of(answer), 400);
    ck_assert_int_eq(rpc_code_of(answer), JSONRPC_INVALID_REQUEST);
    free(answer);
    answer = exchange(&f, "POST", "/mcp", "Content-Type: text/plain\r\n", PING);
    ck_assert_int_eq(status_of(answer), 415);
    ck_assert_int_eq(rpc_code_of(answer), JSONRPC_INVALID_REQUEST);
    free(answer);
    ck_assert_int_eq(f.state.messages, 0);
    stop(&f);
}
END_TEST

START_TEST(a_notification_is_accepted_with_202) {
    fixture f = {0};
    start_default(&f);
    char *answer =
        exchange(&f, "POST", "/mcp", LEGACY, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    ck_assert_int_eq(status_of(answer), 202);
    ck_assert_str_eq(body_of(answer), "");
    free(answer);
    stop(&f);
}
END_TEST

START_TEST(notifications_turn_the_answer_into_an_event_stream) {
    fixture f = {0};
    start_default(&f);
    char *answer = exchange(&f, "POST", "/mcp", LEGACY, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"log\"}");
    ck_assert_int_eq(status_of(answer), 200);
    ck_assert_ptr_nonnull(strcasestr(answer, "Content-Type: text/event-stream"));
    const char *body = body_of(answer);
    const char *log = strstr(body, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"");
    const char *result = strstr(body, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\"");
    ck_assert_ptr_nonnull(log);
    ck_assert_ptr_nonnull(result);
    ck_assert(log < result); /* the notification comes before the answer */
    free(answer);
    stop(&f);
}
END_TEST

START_TEST(other_paths_and_methods) {
    fixture f = {0};
    start_default(&f);
    char *answer = exchange(&f, "GET", "/mcp", "", "");
    ck_assert_int_eq(status_of(answer), 405);
    ck_assert_ptr_nonnull(strcasestr(answer, "Allow: POST"));
    free(answer);
    answer = exchange(&f, "DELETE", "/mcp", "", "");
    ck_assert_int_eq(status_of(answer), 405);
    free(answer);
    answer = exchange(&f, "POST", "/other", LEGACY, PING);
    ck_assert_int_eq(status_of(answer), 404);
    ck_assert_int_eq(rpc_code_of(answer), JSONRPC_INVALID_REQUEST);
    free(answer);
    stop(&f);
}
END_TEST

START_TEST(a_foreign_origin_or_host_is_refused) {
    fixture f = {0};
    start_default(&f);
    char *answer = exchange(&f, "POST", "/mcp", LEGACY "Origin: http://evil.example.com\r\n", PING);
    ck_assert_int_eq(status_of(answer), 403);
    ck_assert_int_eq(rpc_code_of(answer), HTTP_RPC_FORBIDDEN);
    free(answer);
    answer = exchange(&f, "POST", "/mcp", LEGACY "Origin: http://localhost.evil.example.com\r\n", PING);
    ck_assert_int_eq(status_of(answer), 403);
    free(answer);
    answer = exchange(&f, "POST", "/mcp", LEGACY "Origin: http://localhost:6274\r\n", PING);
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    answer = exchange(&f, "POST", "/mcp", LEGACY "Origin: http://[::1]:8080\r\n", PING);
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    /* DNS rebinding: the browser sends the attacker's name as Host. */
    char *request = str_printf("POST /mcp HTTP/1.1\r\nHost: evil.example.com\r\nConnection: close\r\n" LEGACY
                               "Content-Length: %zu\r\n\r\n%s",
                               strlen(PING), PING);
    int fd = connect_to(&f);
    send_all(&f, fd, request, strlen(request));
    answer = read_answer(&f, fd);
    close(fd);
    ck_assert_int_eq(status_of(answer), 403);
    ck_assert_int_eq(rpc_code_of(answer), HTTP_RPC_FORBIDDEN);
    free(answer);
    free(request);
    ck_assert_int_eq(f.state.messages, 2);
    stop(&f);
}
END_TEST

START_TEST(bearer_tokens) {
    fixture f = {0};
    start_with_tokens(&f);
    char *answer = exchange(&f, "POST", "/mcp", LEGACY, PING);
    ck_assert_int_eq(status_of(answer), 401);
    ck_assert_ptr_nonnull(strcasestr(answer, "WWW-Authenticate: Bearer realm=\"pgsafe\"\r\n"));
    ck_assert_int_eq(rpc_code_of(answer), HTTP_RPC_UNAUTHORIZED);
    free(answer);
    answer = exchange(&f, "POST", "/mcp", LEGACY "Authorization: Bearer pgsafe_not-a-token\r\n", PING);
    ck_assert_int_eq(status_of(answer), 401);
    ck_assert_ptr_nonnull(strcasestr(answer, "error=\"invalid_token\""));
    free(answer);
    char *headers = str_printf(LEGACY "Authorization: Bearer %s\r\n", f.alice);
    answer = exchange(&f, "POST", "/mcp", headers, PING);
    ck_assert_int_eq(status_of(answer), 200);
    ck_assert_ptr_nonnull(strstr(body_of(answer), "\"identity\":\"alice\""));
    free(answer);
    /* Revoked while the server runs: refused on the next request. */
    char *error = NULL;
    ck_assert(token_revoke(f.tokens_path, "alice", &error));
    answer = exchange(&f, "POST", "/mcp", headers, PING);
    ck_assert_int_eq(status_of(answer), 401);
    free(answer);
    /* Health checks need no token: load balancers probe them. */
    answer = exchange(&f, "GET", "/healthz", "", "");
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    free(headers);
    ck_assert_int_eq(f.state.messages, 1);
    stop(&f);
}
END_TEST

/* Behind a reverse proxy (TLS) pgsafe listens on loopback with tokens and gets the proxy's
 * public name as Host: that is served (a rebinding page has no token), while a foreign
 * Origin is still refused. */
START_TEST(with_tokens_a_proxy_public_host_is_served) {
    fixture f = {0};
    start_with_tokens(&f);
    char *request = str_printf("POST /mcp HTTP/1.1\r\nHost: mcp.example.com\r\nConnection: close\r\n" LEGACY
                               "Authorization: Bearer %s\r\n%sContent-Length: %zu\r\n\r\n%s",
                               f.alice, "", strlen(PING), PING);
    int fd = connect_to(&f);
    send_all(&f, fd, request, strlen(request));
    char *answer = read_answer(&f, fd);
    close(fd);
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    free(request);
    char *headers = str_printf(LEGACY "Authorization: Bearer %s\r\nOrigin: https://evil.example.com\r\n", f.alice);
    answer = exchange(&f, "POST", "/mcp", headers, PING);
    ck_assert_int_eq(status_of(answer), 403);
    ck_assert_int_eq(rpc_code_of(answer), HTTP_RPC_FORBIDDEN);
    free(answer);
    free(headers);
    ck_assert_int_eq(f.state.messages, 1);
    stop(&f);
}
END_TEST

START_TEST(a_non_loopback_address_needs_tokens) {
    stand_in state = {0};
    http_handlers handlers = {.user = &state, .message = on_message, .cancelled = on_cancelled};
    http_config config;
    http_config_defaults(&config);
    config.host = "0.0.0.0";
    char *error = NULL;
    ck_assert_ptr_null(http_server_start(&config, &handlers, &error));
    ck_assert_ptr_nonnull(strstr(error, "without authentication"));
    free(error);
    config.host = "not-an-address";
    ck_assert_ptr_null(http_server_start(&config, &handlers, &error));
    ck_assert_ptr_nonnull(strstr(error, "invalid HTTP address"));
    free(error);
}
END_TEST

START_TEST(body_and_header_caps) {
    fixture f = {0};
    http_config config;
    http_config_defaults(&config);
    config.max_body_bytes = 64;
    config.max_header_bytes = 512;
    start(&f, &config);
    char body[200];
    memset(body, ' ', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    memcpy(body, PING, strlen(PING));
    char *answer = exchange(&f, "POST", "/mcp", LEGACY, body);
    ck_assert_int_eq(status_of(answer), 413);
    ck_assert_int_eq(rpc_code_of(answer), JSONRPC_INVALID_REQUEST);
    ck_assert_ptr_nonnull(strstr(body_of(answer), "at most 64 bytes"));
    free(answer);
    /* Chunked, with no declared length: cut while streaming. */
    char *request = str_printf("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" LEGACY
                               "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
                               strlen(body), body);
    int fd = connect_to(&f);
    send_all(&f, fd, request, strlen(request));
    answer = read_answer(&f, fd);
    close(fd);
    ck_assert_int_eq(status_of(answer), 413);
    free(answer);
    free(request);
    char big[800];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *headers = str_printf(LEGACY "X-Padding: %s\r\n", big);
    answer = exchange(&f, "POST", "/mcp", headers, PING);
    ck_assert_int_eq(status_of(answer), 431);
    ck_assert_int_eq(rpc_code_of(answer), JSONRPC_INVALID_REQUEST);
    free(answer);
    free(headers);
    ck_assert_int_eq(f.state.messages, 0);
    stop(&f);
}
END_TEST

START_TEST(an_answer_given_later_is_sent_then) {
    fixture f = {0};
    start_default(&f);
    char *request = request_text("POST", "/mcp", LEGACY, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"hold\"}");
    int fd = connect_to(&f);
    send_all(&f, fd, request, strlen(request));
    for (int i = 0; i < 20 && f.state.held == NULL; i++)
        crank(&f, fd, POLLIN, NULL);
    ck_assert_ptr_nonnull(f.state.held);
    json_object *id = json_object_new_int(9);
    http_exchange_reply(f.state.held, jsonrpc_response(id, json_object_new_object()));
    json_object_put(id);
    char *answer = read_answer(&f, fd);
    close(fd);
    ck_assert_int_eq(status_of(answer), 200);
    ck_assert_str_eq(body_of(answer), "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}");
    ck_assert_int_eq(f.state.cancelled, 0);
    free(answer);
    free(request);
    stop(&f);
}
END_TEST

START_TEST(a_client_that_leaves_cancels_its_request) {
    fixture f = {0};
    start_default(&f);
    char *request = request_text("POST", "/mcp", LEGACY, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"hold\"}");
    int fd = connect_to(&f);
    send_all(&f, fd, request, strlen(request));
    for (int i = 0; i < 20 && f.state.held == NULL; i++)
        crank(&f, fd, POLLIN, NULL);
    ck_assert_ptr_nonnull(f.state.held);
    close(fd);
    for (int i = 0; i < 40 && f.state.cancelled == 0; i++)
        crank(&f, -1, 0, NULL);
    ck_assert_int_eq(f.state.cancelled, 1);
    /* The dispatcher still answers (its reply is dropped and the exchange freed). */
    json_object *id = json_object_new_int(9);
    http_exchange_reply(f.state.held, jsonrpc_response(id, json_object_new_object()));
    json_object_put(id);
    for (int i = 0; i < 5; i++)
        crank(&f, -1, 0, NULL);
    free(request);
    stop(&f);
}
END_TEST

START_TEST(messages_in_flight_per_client_are_capped) {
    fixture f = {0};
    http_config config;
    http_config_defaults(&config);
    config.max_client_in_flight = 1;
    start(&f, &config);
    char *request = request_text("POST", "/mcp", LEGACY, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"hold\"}");
    int fd = connect_to(&f);
    send_all(&f, fd, request, strlen(request));
    for (int i = 0; i < 20 && f.state.held == NULL; i++)
        crank(&f, fd, POLLIN, NULL);
    ck_assert_ptr_nonnull(f.state.held);
    char *answer = exchange(&f, "POST", "/mcp", LEGACY, PING);
    ck_assert_int_eq(status_of(answer), 429);
    ck_assert_ptr_nonnull(strcasestr(answer, "Retry-After: 1"));
    ck_assert_int_eq(rpc_code_of(answer), HTTP_RPC_BUSY);
    free(answer);
    json_object *id = json_object_new_int(9);
    http_exchange_reply(f.state.held, jsonrpc_response(id, json_object_new_object()));
    json_object_put(id);
    answer = read_answer(&f, fd);
    close(fd);
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    /* The slot is free again. */
    answer = exchange(&f, "POST", "/mcp", LEGACY, PING);
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    free(request);
    stop(&f);
}
END_TEST

START_TEST(connections_over_the_cap_get_503) {
    fixture f = {0};
    http_config config;
    http_config_defaults(&config);
    config.max_connections = 2;
    start(&f, &config);
    int idle[2];
    for (int i = 0; i < 2; i++) {
        idle[i] = connect_to(&f);
        crank(&f, -1, 0, NULL);
    }
    for (int i = 0; i < 5; i++)
        crank(&f, -1, 0, NULL);
    char *answer = exchange(&f, "POST", "/mcp", LEGACY, PING);
    ck_assert_int_eq(status_of(answer), 503);
    ck_assert_int_eq(rpc_code_of(answer), HTTP_RPC_BUSY);
    free(answer);
    for (int i = 0; i < 2; i++)
        close(idle[i]);
    for (int i = 0; i < 5; i++)
        crank(&f, -1, 0, NULL);
    answer = exchange(&f, "POST", "/mcp", LEGACY, PING);
    ck_assert_int_eq(status_of(answer), 200);
    free(answer);
    stop(&f);
}
END_TEST

START_TEST(stopping_with_a_request_in_flight_detaches_it) {
    fixture f = {0};
    start_default(&f);
    char *request = request_text("POST", "/mcp", LEGACY, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"hold\"}");
    int fd = connect_to(&f);
    send_all(&f, fd, request, strlen(request));
    for (int i = 0; i < 20 && f.state.held == NULL; i++)
        crank(&f, fd, POLLIN, NULL);
    ck_assert_ptr_nonnull(f.state.held);
    http_exchange *held = f.state.held;
    stop(&f);
    ck_assert_int_eq(f.state.cancelled, 1);
    http_exchange_reply(held, NULL); /* freed unsent */
    close(fd);
    free(request);
}
END_TEST

static Suite *http_suite(void) {
    Suite *suite = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, health_and_readiness);
    tcase_add_test(tc, a_legacy_post_is_dispatched_and_answered_as_json);
    tcase_add_test(tc, a_modern_post_needs_matching_headers);
    tcase_add_test(tc, a_modern_version_header_on_a_legacy_body_or_an_unknown_one_is_refused);
    tcase_add_test(tc, a_modern_unknown_method_is_404_with_its_json_rpc_error);
    tcase_add_test(tc, bodies_that_are_not_one_json_rpc_message);
    tcase_add_test(tc, a_notification_is_accepted_with_202);
    tcase_add_test(tc, notifications_turn_the_answer_into_an_event_stream);
    tcase_add_test(tc, other_paths_and_methods);
    tcase_add_test(tc, a_foreign_origin_or_host_is_refused);
    tcase_add_test(tc, bearer_tokens);
    tcase_add_test(tc, with_tokens_a_proxy_public_host_is_served);
    tcase_add_test(tc, a_non_loopback_address_needs_tokens);
    tcase_add_test(tc, body_and_header_caps);
    tcase_add_test(tc, an_answer_given_later_is_sent_then);
    tcase_add_test(tc, a_client_that_leaves_cancels_its_request);
    tcase_add_test(tc, messages_in_flight_per_client_are_capped);
    tcase_add_test(tc, connections_over_the_cap_get_503);
    tcase_add_test(tc, stopping_with_a_request_in_flight_detaches_it);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    SRunner *runner = srunner_create(tokens_suite());
    srunner_add_suite(runner, http_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
