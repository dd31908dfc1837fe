/* The server's loop and lifecycle: reads requests from stdin, dispatches them, answers on
 * stdout, and drives the database pool from the same poll(). */
#include "mcp/server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/strings.h"
#include "mcp/internal.h"
#include "mcp/jsonrpc.h"

#ifndef PGSAFE_VERSION
#define PGSAFE_VERSION "0.0.0"
#endif

/* Newest first: the answer when the client asks for a version we do not speak. */
static const char *const protocol_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

/* How long initialize may wait for the first connection, so its instructions can report
 * the role's posture; past this it answers without. */
#define INITIALIZE_WAIT_MS 2000
/* After end of input, in-flight calls get this long to finish before they are cancelled. */
#define DRAIN_MS     500
#define MAX_POLL_FDS 72

static const char *const level_names[MCP_LOG_LEVEL_COUNT] = {"emergency", "alert",  "critical", "error",
                                                             "warning",   "notice", "info",     "debug"};

const char *mcp_log_level_name(mcp_log_level level) {
    return level >= 0 && level < MCP_LOG_LEVEL_COUNT ? level_names[level] : "info";
}

int mcp_log_level_parse(const char *name) {
    for (int i = 0; i < MCP_LOG_LEVEL_COUNT; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static int signal_pipe[2] = {-1, -1};

static void on_signal(int signal_number) {
    int saved = errno;
    unsigned char byte = (unsigned char)signal_number;
    if (write(signal_pipe[1], &byte, 1) < 0) {
        /* The pipe is full: a stop is already pending. */
    }
    errno = saved;
}

const char *json_string_member(json_object *object, const char *name) {
    json_object *member = NULL;
    if (object == NULL || !json_object_is_type(object, json_type_object) ||
        !json_object_object_get_ex(object, name, &member) || !json_object_is_type(member, json_type_string))
        return NULL;
    return json_object_get_string(member);
}

const char *server_visible_schemas(const mcp_server *server) {
    return server->config->visible_schemas;
}

/* ---- output and logging ---- */

void server_send(mcp_server *server, json_object *message) {
    if (!server->peer_gone && !jsonrpc_write(server->out_fd, message))
        server->peer_gone = true;
    json_object_put(message);
}

void server_log(mcp_server *server, mcp_log_level level, const char *format, ...) {
    bool to_stderr = level <= server->config->log_level;
    bool to_client = server->client_log_level >= 0 && (int)level <= server->client_log_level;
    if (!to_stderr && !to_client)
        return;
    char text[2048];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    if (to_stderr)
        fprintf(stderr, "pgsafe: %s: %s\n", mcp_log_level_name(level), text);
    if (to_client) {
        json_object *params = json_object_new_object();
        json_object_object_add(params, "level", json_object_new_string(mcp_log_level_name(level)));
        json_object_object_add(params, "logger", json_object_new_string("pgsafe"));
        json_object_object_add(params, "data", json_object_new_string(text));
        server_send(server, jsonrpc_notification("notifications/message", params));
    }
}

static void db_log(void *context, int level, const char *message) {
    static const mcp_log_level levels[] = {MCP_LOG_ERROR, MCP_LOG_WARNING, MCP_LOG_INFO, MCP_LOG_DEBUG};
    server_log(context, levels[level < 0 ? 0 : level > 3 ? 3 : level], "%s", message);
}

/* ---- requests ---- */

static mcp_request *request_new(mcp_server *server, json_object *id, const char *method) {
    mcp_request *request = calloc(1, sizeof *request);
    if (request == NULL)
        return NULL;
    request->server = server;
    request->id = json_object_get(id);
    request->method = strdup(method);
    request->started_ms = db_now_ms();
    request->audit = (audit_entry){.rows = -1, .bytes = -1};
    request->next = server->requests;
    if (server->requests)
        server->requests->previous = request;
    server->requests = request;
    return request;
}

static void request_free(mcp_request *request) {
    mcp_server *server = request->server;
    if (request->previous)
        request->previous->next = request->next;
    else if (server->requests == request)
        server->requests = request->next;
    if (request->next)
        request->next->previous = request->previous;
    if (server->pending_initialize == request)
        server->pending_initialize = NULL;
    json_object_put(request->id);
    json_object_put(request->arguments);
    free(request->method);
    free(request->tool);
    audit_entry_clear(&request->audit);
    guard_result_free(&request->verdict);
    free(request);
}

static void finish_request(mcp_request *request, json_object *message) {
    mcp_server *server = request->server;
    if (request->tool) {
        if (request->cancelled && request->audit.verdict == NULL)
            request->audit.verdict = "cancelled";
        audit_write(server->audit, request->id, request->tool, &request->audit,
                    (double)(db_now_ms() - request->started_ms));
    }
    if (message) {
        if (request->cancelled)
            json_object_put(message); /* the spec: no response for a cancelled request */
        else
            server_send(server, message);
    }
    request_free(request);
}

void request_respond(mcp_request *request, json_object *result) {
    finish_request(request, jsonrpc_response(request->id, result));
}

void request_error(mcp_request *request, int code, const char *format, ...) {
    char text[1024];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    finish_request(request, jsonrpc_error(request->id, code, text));
}

static json_object *text_content(const char *text) {
    json_object *content = json_object_new_array();
    json_object *item = json_object_new_object();
    json_object_object_add(item, "type", json_object_new_string("text"));
    json_object_object_add(item, "text", json_object_new_string(text ? text : ""));
    json_object_array_add(content, item);
    return content;
}

void request_tool_error(mcp_request *request, const char *text) {
    if (request->audit.verdict == NULL)
        request->audit.verdict = "error";
    json_object *result = json_object_new_object();
    json_object_object_add(result, "content", text_content(text));
    json_object_object_add(result, "isError", json_object_new_boolean(1));
    request_respond(request, result);
}

void request_tool_result(mcp_request *request, json_object *structured, const char *text) {
    json_object *result = json_object_new_object();
    json_object_object_add(result, "content", text_content(text));
    json_object_object_add(result, "structuredContent", structured);
    json_object_object_add(result, "isError", json_object_new_boolean(0));
    request_respond(request, result);
}

static void request_db_done(void *user, db_result *result) {
    mcp_request *request = user;
    request->call = NULL;
    if (request->cancelled || result->status == DB_CANCELLED) {
        request->cancelled = true;
        db_result_free(result);
        finish_request(request, NULL);
        return;
    }
    mcp_db_continuation continuation = request->continuation;
    request->continuation = NULL;
    continuation(request, result);
}

bool request_run(mcp_request *request, const db_request *call, mcp_db_continuation continuation) {
    request->continuation = continuation;
    request->call = db_submit(request->server->pool, call, request_db_done, request);
    if (request->call == NULL) {
        request_error(request, JSONRPC_INTERNAL_ERROR, "out of memory");
        return false;
    }
    return true;
}

void request_introspect(mcp_request *request, const char *sql, const char *second, const char *third, int count,
                        mcp_db_continuation continuation) {
    const char *params[3] = {server_visible_schemas(request->server), second, third};
    db_request call = {.sql = sql,
                       .param_count = count,
                       .params = params,
                       .row_limit = -1,
                       .max_result_bytes = INTROSPECTION_BYTES,
                       .max_cell_bytes = INTROSPECTION_BYTES};
    request_run(request, &call, continuation);
}

static mcp_request *find_request(mcp_server *server, json_object *id) {
    const char *wanted = json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN);
    for (mcp_request *request = server->requests; request; request = request->next) {
        if (request->id == NULL)
            continue;
        /* Ids compare by their JSON text, so 1 and "1" stay different. */
        if (strcmp(json_object_to_json_string_ext(request->id, JSON_C_TO_STRING_PLAIN), wanted) == 0)
            return request;
    }
    return NULL;
}

/* ---- lifecycle ---- */

static const char *negotiate(const char *requested) {
    for (size_t i = 0; requested && i < sizeof protocol_versions / sizeof *protocol_versions; i++)
        if (strcmp(requested, protocol_versions[i]) == 0)
            return protocol_versions[i];
    return protocol_versions[0];
}

static char *instructions(const mcp_server *server) {
    const mcp_config *config = server->config;
    const db_posture *posture = db_pool_posture(server->pool);
    strbuf text = {0};
    strbuf_puts(&text, "pgsafe gives read-only access to a PostgreSQL database. Start with list_tables (or the "
                       "postgres://schema resource) and describe_table, then run one SELECT at a time with query. "
                       "Use check_sql to see whether a query is allowed without running it, and explain for its plan. "
                       "Aggregate on the server (GROUP BY, count, sum, avg) rather than fetching raw rows, and select "
                       "only the columns you need. When a result says it was truncated, say so in your answer.\n");
    strbuf_printf(&text,
                  "Limits: at most %lld rows per query (more are cut and reported as truncated), %zu bytes per "
                  "result, %zu bytes per value, a %d ms statement timeout. Only a single read-only SELECT is "
                  "accepted: no writes, DDL, transaction control, locking clauses, or volatile and "
                  "system-administration functions. A rejected query comes back with a reason and a hint: change "
                  "the query as the hint says.\n",
                  config->policy.max_rows, config->db.max_result_bytes, config->db.max_cell_bytes,
                  config->db.statement_timeout_ms);
    if (!posture->known) {
        strbuf_printf(&text, "The database is not reachable yet (%s); tools will say so until it is.\n",
                      db_pool_last_error(server->pool) ? db_pool_last_error(server->pool) : "connecting");
    } else {
        strbuf_printf(&text, "Connected to database \"%s\" as role \"%s\" (PostgreSQL %s).\n",
                      posture->database ? posture->database : "?", posture->role ? posture->role : "?",
                      posture->server_version ? posture->server_version : "?");
        int major = guard_server_major(posture->server_version);
        if (major > guard_builtins_version(0))
            strbuf_printf(&text,
                          "pgsafe knows the built-in functions of PostgreSQL %d and older: functions that PostgreSQL "
                          "%d added are refused as unknown; write queries with PostgreSQL %d's functions.\n",
                          guard_builtins_version(0), major, guard_builtins_version(0));
        if (posture->superuser)
            strbuf_puts(&text, "Warning: the role is a superuser. pgsafe still allows only read-only queries, "
                               "but the operator should connect with a read-only role.\n");
        else if (posture->can_write)
            strbuf_printf(&text,
                          "Warning: the role can write (%s). pgsafe still allows only read-only queries, but the "
                          "operator should connect with a read-only role.\n",
                          posture->write_reasons ? posture->write_reasons : "write privileges");
    }
    return strbuf_take(&text);
}

static void answer_initialize(mcp_request *request) {
    mcp_server *server = request->server;
    const db_posture *posture = db_pool_posture(server->pool);
    if (server->config->refuse_writable_role && posture->known && posture->can_write) {
        /* The loop exits with status 2 right after; the client learns why instead of a good handshake. */
        request_error(request, JSONRPC_INTERNAL_ERROR,
                      "pgsafe refuses to serve: role \"%s\" can write (%s) and --refuse-writable-role is set; "
                      "the operator must connect with a read-only role",
                      posture->role ? posture->role : "?", posture->write_reasons ? posture->write_reasons : "?");
        return;
    }
    json_object *result = json_object_new_object();
    json_object_object_add(result, "protocolVersion", json_object_new_string(server->protocol_version));
    json_object *capabilities = json_object_new_object();
    json_object *tools = json_object_new_object();
    json_object_object_add(tools, "listChanged", json_object_new_boolean(0));
    json_object_object_add(capabilities, "tools", tools);
    json_object *resources = json_object_new_object();
    json_object_object_add(resources, "subscribe", json_object_new_boolean(0));
    json_object_object_add(resources, "listChanged", json_object_new_boolean(0));
    json_object_object_add(capabilities, "resources", resources);
    json_object *prompts = json_object_new_object();
    json_object_object_add(prompts, "listChanged", json_object_new_boolean(0));
    json_object_object_add(capabilities, "prompts", prompts);
    json_object_object_add(capabilities, "logging", json_object_new_object());
    json_object_object_add(result, "capabilities", capabilities);
    json_object *info = json_object_new_object();
    json_object_object_add(info, "name", json_object_new_string("pgsafe"));
    json_object_object_add(info, "title", json_object_new_string("pgsafe: read-only PostgreSQL"));
    json_object_object_add(info, "version", json_object_new_string(PGSAFE_VERSION));
    json_object_object_add(result, "serverInfo", info);
    char *text = instructions(server);
    json_object_object_add(result, "instructions", json_object_new_string(text ? text : ""));
    free(text);
    request_respond(request, result);
}

static void handle_initialize(mcp_request *request, json_object *params) {
    mcp_server *server = request->server;
    if (server->initialize_seen) {
        request_error(request, JSONRPC_INVALID_REQUEST, "the session is already initialized");
        return;
    }
    if (params == NULL || !json_object_is_type(params, json_type_object)) {
        request_error(request, JSONRPC_INVALID_PARAMS, "initialize needs params with protocolVersion");
        return;
    }
    const char *requested = json_string_member(params, "protocolVersion");
    if (requested == NULL) {
        request_error(request, JSONRPC_INVALID_PARAMS, "initialize needs params.protocolVersion, a string");
        return;
    }
    server->initialize_seen = true;
    server->protocol_version = negotiate(requested);
    if (db_pool_state_now(server->pool) == DB_POOL_CONNECTING) {
        /* Answer once the first attempt ends, so the instructions can state the posture. */
        server->pending_initialize = request;
        server->initialize_deadline_ms = db_now_ms() + INITIALIZE_WAIT_MS;
        return;
    }
    answer_initialize(request);
}

static void handle_set_level(mcp_request *request, json_object *params) {
    const char *level = json_string_member(params, "level");
    int parsed = level ? mcp_log_level_parse(level) : -1;
    if (parsed < 0) {
        request_error(request, JSONRPC_INVALID_PARAMS,
                      "params.level must be one of debug, info, notice, warning, error, critical, alert, emergency");
        return;
    }
    request->server->client_log_level = parsed;
    request_respond(request, json_object_new_object());
}

static void handle_tools_call(mcp_request *request, json_object *params) {
    const char *name = json_string_member(params, "name");
    if (name == NULL) {
        request_error(request, JSONRPC_INVALID_PARAMS, "tools/call needs params.name, a string");
        return;
    }
    json_object *arguments = NULL;
    if (json_object_object_get_ex(params, "arguments", &arguments) && arguments != NULL &&
        !json_object_is_type(arguments, json_type_object)) {
        request_error(request, JSONRPC_INVALID_PARAMS, "params.arguments must be an object");
        return;
    }
    if (!tools_exists(name)) {
        request_error(request, JSONRPC_INVALID_PARAMS,
                      "unknown tool \"%s\"; the tools are query, check_sql, explain, list_schemas, list_tables "
                      "and describe_table",
                      name);
        return;
    }
    request->tool = strdup(name);
    tools_call(request, name, arguments);
}

static void handle_cancelled(mcp_server *server, json_object *params) {
    json_object *id = NULL;
    if (params == NULL || !json_object_object_get_ex(params, "requestId", &id) || id == NULL)
        return;
    mcp_request *request = find_request(server, id);
    if (request == NULL || request == server->pending_initialize)
        return; /* already answered, or unknown: the spec says ignore */
    const char *reason = json_string_member(params, "reason");
    server_log(server, MCP_LOG_INFO, "request %s cancelled by the client%s%s",
               json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN), reason ? ": " : "", reason ? reason : "");
    request->cancelled = true;
    if (request->call)
        db_cancel(server->pool, request->call);
}

static bool valid_id(json_object *id) {
    return json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int);
}

static void dispatch_request(mcp_server *server, json_object *id, const char *method, json_object *params) {
    mcp_request *request = request_new(server, id, method);
    if (request == NULL) {
        server_send(server, jsonrpc_error(id, JSONRPC_INTERNAL_ERROR, "out of memory"));
        return;
    }
    if (params != NULL && !json_object_is_type(params, json_type_object)) {
        request_error(request, JSONRPC_INVALID_PARAMS, "params must be an object");
        return;
    }
    if (strcmp(method, "initialize") == 0) {
        handle_initialize(request, params);
        return;
    }
    if (strcmp(method, "ping") == 0) {
        request_respond(request, json_object_new_object());
        return;
    }
    if (!server->initialize_seen || server->pending_initialize) {
        request_error(request, MCP_NOT_INITIALIZED, "the server is not initialized: send initialize first");
        return;
    }
    if (strcmp(method, "tools/list") == 0) {
        json_object *result = json_object_new_object();
        json_object_object_add(result, "tools", tools_list(server));
        request_respond(request, result);
    } else if (strcmp(method, "tools/call") == 0) {
        if (params == NULL)
            request_error(request, JSONRPC_INVALID_PARAMS, "tools/call needs params with name and arguments");
        else
            handle_tools_call(request, params);
    } else if (strcmp(method, "resources/list") == 0) {
        resources_list(request, params);
    } else if (strcmp(method, "resources/read") == 0) {
        resources_read(request, params);
    } else if (strcmp(method, "resources/templates/list") == 0) {
        resources_templates_list(request, params);
    } else if (strcmp(method, "prompts/list") == 0) {
        prompts_list(request, params);
    } else if (strcmp(method, "prompts/get") == 0) {
        prompts_get(request, params);
    } else if (strcmp(method, "logging/setLevel") == 0) {
        handle_set_level(request, params);
    } else {
        request_error(request, JSONRPC_METHOD_NOT_FOUND, "method \"%s\" not found", method);
    }
}

static void handle_message(mcp_server *server, json_object *message) {
    if (json_object_is_type(message, json_type_array)) {
        server_send(server, jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST,
                                          "batches are not supported: send one JSON-RPC message per line"));
        return;
    }
    json_object *id = NULL, *params = NULL, *method_value = NULL;
    bool has_id = json_object_is_type(message, json_type_object) && json_object_object_get_ex(message, "id", &id);
    json_object *reply_id = has_id && id && valid_id(id) ? id : NULL;
    const char *version = json_string_member(message, "jsonrpc");
    if (!json_object_is_type(message, json_type_object) || version == NULL || strcmp(version, "2.0") != 0) {
        server_send(server, jsonrpc_error(reply_id, JSONRPC_INVALID_REQUEST,
                                          "not a JSON-RPC 2.0 message: it needs \"jsonrpc\": \"2.0\""));
        return;
    }
    if (json_object_object_get_ex(message, "method", &method_value)) {
        if (!json_object_is_type(method_value, json_type_string)) {
            server_send(server, jsonrpc_error(reply_id, JSONRPC_INVALID_REQUEST, "\"method\" must be a string"));
            return;
        }
        if (has_id && (id == NULL || !valid_id(id))) {
            server_send(server, jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST, "\"id\" must be a string or an integer"));
            return;
        }
        json_object_object_get_ex(message, "params", &params);
        const char *method = json_object_get_string(method_value);
        if (!has_id) {
            /* Notifications never get an answer, even when unknown or malformed. */
            if (strcmp(method, "notifications/cancelled") == 0)
                handle_cancelled(server, params);
            else if (strcmp(method, "notifications/initialized") != 0)
                server_log(server, MCP_LOG_DEBUG, "ignored notification %s", method);
            return;
        }
        dispatch_request(server, id, method, params);
        return;
    }
    if (json_object_object_get_ex(message, "result", NULL) || json_object_object_get_ex(message, "error", NULL)) {
        /* A response to a request we never send: nothing to do. */
        server_log(server, MCP_LOG_DEBUG, "ignored a response from the client");
        return;
    }
    server_send(server, jsonrpc_error(reply_id, JSONRPC_INVALID_REQUEST, "not a request: \"method\" is missing"));
}

static void handle_line(mcp_server *server, const char *line, size_t length) {
    size_t start = 0;
    while (start < length && (line[start] == ' ' || line[start] == '\t'))
        start++;
    if (start == length)
        return; /* blank lines between messages are harmless */
    json_object *message = jsonrpc_parse(line + start, length - start);
    size_t end = length;
    while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    if (message == NULL && end - start == 4 && memcmp(line + start, "null", 4) == 0) {
        /* Valid JSON (json-c reads the literal null as no object), but not a request. */
        server_send(server,
                    jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST, "not a request: a JSON-RPC message is an object"));
        return;
    }
    if (message == NULL) {
        server_send(server, jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "parse error: the line is not valid JSON"));
        return;
    }
    handle_message(server, message);
    json_object_put(message);
}

/* ---- the loop ---- */

static void install_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    action.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &action, NULL);
}

static bool requests_in_flight(const mcp_server *server) {
    for (const mcp_request *request = server->requests; request; request = request->next)
        if (request != server->pending_initialize)
            return true;
    return false;
}

static void check_pending_initialize(mcp_server *server) {
    if (server->pending_initialize == NULL)
        return;
    if (db_pool_state_now(server->pool) != DB_POOL_CONNECTING || db_pool_posture(server->pool)->known ||
        db_now_ms() >= server->initialize_deadline_ms) {
        mcp_request *request = server->pending_initialize;
        server->pending_initialize = NULL;
        answer_initialize(request);
    }
}

/* True when the posture forbids serving. */
static bool refuse_role(mcp_server *server) {
    const db_posture *posture = db_pool_posture(server->pool);
    if (!server->config->refuse_writable_role || !posture->known || !posture->can_write)
        return false;
    fprintf(stderr,
            "pgsafe serve: refusing to serve: role \"%s\" can write (%s); connect with a read-only role "
            "(docs/read-only-role.md) or drop --refuse-writable-role\n",
            posture->role ? posture->role : "?", posture->write_reasons ? posture->write_reasons : "?");
    return true;
}

/* Handles the complete lines held; stops while initialize waits for the database, so the
 * messages after it are handled after its answer, in order. */
static void handle_input(mcp_server *server, jsonrpc_reader *reader) {
    const char *line;
    size_t length;
    jsonrpc_line_kind kind;
    while (server->pending_initialize == NULL &&
           (kind = jsonrpc_reader_next(reader, &line, &length)) != JSONRPC_LINE_NONE) {
        if (kind == JSONRPC_LINE_OVERSIZED) {
            char text[160];
            snprintf(text, sizeof text,
                     "message too large: a line may hold at most %zu bytes (--max-message-bytes); it was discarded",
                     server->config->max_message_bytes);
            server_log(server, MCP_LOG_WARNING, "%s", text);
            server_send(server, jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST, text));
            continue;
        }
        handle_line(server, line, length);
    }
}

static int poll_timeout(mcp_server *server, bool draining, int64_t drain_deadline) {
    int timeout = db_pool_timeout(server->pool);
    int64_t now = db_now_ms();
    int64_t deadline = -1;
    if (server->pending_initialize)
        deadline = server->initialize_deadline_ms;
    if (draining && (deadline < 0 || drain_deadline < deadline))
        deadline = drain_deadline;
    if (deadline >= 0) {
        int until = deadline <= now ? 0 : (int)(deadline - now);
        if (timeout < 0 || until < timeout)
            timeout = until;
    }
    return timeout;
}

int mcp_serve(const mcp_config *config, int in_fd, int out_fd) {
    mcp_server server = {.config = config, .out_fd = out_fd, .client_log_level = -1};
    if (config->audit_log_path) {
        char *error = NULL;
        server.audit = audit_open(config->audit_log_path, config->audit_sql, &error);
        if (server.audit == NULL) {
            fprintf(stderr, "pgsafe serve: %s\n", error ? error : "cannot open the audit log");
            free(error);
            return 2;
        }
    }
    if (pipe(signal_pipe) != 0) {
        fprintf(stderr, "pgsafe serve: cannot create a pipe: %s\n", strerror(errno));
        audit_close(server.audit);
        return 2;
    }
    fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    install_signals();
    char *error = NULL;
    server.pool = db_pool_new(&config->db, db_log, &server, &error);
    if (server.pool == NULL) {
        fprintf(stderr, "pgsafe serve: %s\n", error ? error : "cannot start");
        free(error);
        audit_close(server.audit);
        return 2;
    }
    jsonrpc_reader reader;
    jsonrpc_reader_init(&reader, in_fd, config->max_message_bytes);
    int status = 0;
    bool stop = false;
    int64_t drain_deadline = 0;
    server_log(&server, MCP_LOG_DEBUG, "pgsafe %s serving MCP on stdio", PGSAFE_VERSION);
    while (!stop) {
        struct pollfd fds[MAX_POLL_FDS];
        int count = 0;
        fds[count++] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
        int input_index = -1;
        if (!reader.eof && server.pending_initialize == NULL) {
            input_index = count;
            fds[count++] = (struct pollfd){.fd = in_fd, .events = POLLIN};
        }
        int db_first = count;
        count += db_pool_pollfds(server.pool, fds + count, MAX_POLL_FDS - count);
        int ready = poll(fds, (nfds_t)count, poll_timeout(&server, reader.eof, drain_deadline));
        if (ready < 0 && errno != EINTR) {
            server_log(&server, MCP_LOG_ERROR, "poll failed: %s", strerror(errno));
            break;
        }
        if (ready > 0 && (fds[0].revents & POLLIN)) {
            server_log(&server, MCP_LOG_INFO, "stopping on a signal");
            break;
        }
        if (ready > 0 && input_index >= 0 && fds[input_index].revents) {
            if (!jsonrpc_reader_fill(&reader)) {
                server_log(&server, MCP_LOG_ERROR, "out of memory reading input");
                break;
            }
            if (reader.eof)
                drain_deadline = db_now_ms() + DRAIN_MS;
        }
        handle_input(&server, &reader);
        db_pool_process(server.pool, fds + db_first, ready > 0 ? count - db_first : 0);
        check_pending_initialize(&server);
        handle_input(&server, &reader);
        if (refuse_role(&server)) {
            status = 2;
            break;
        }
        if (reader.eof && (server.pending_initialize || reader.length > 0))
            drain_deadline = db_now_ms() + DRAIN_MS; /* input not yet handled: the drain starts after it */
        else if (reader.eof && (!requests_in_flight(&server) || db_now_ms() >= drain_deadline))
            stop = true;
        if (server.peer_gone)
            stop = true;
    }
    /* Cancels what still runs; the requests' continuations answer or drop them. */
    db_pool_free(server.pool);
    server.pool = NULL;
    while (server.requests)
        request_free(server.requests);
    jsonrpc_reader_free(&reader);
    audit_close(server.audit);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    return status;
}
