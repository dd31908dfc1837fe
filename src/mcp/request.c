/* The request lifecycle (request.h): creating a request, answering it (audit line, then the
 * answer handed to the transport), running database calls for it, and freeing it in one
 * place. Also the session's output: session_send and the log that goes to stderr and, when
 * the client asked for it, to the client. */
#include "mcp/request.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"
#include "mcp/internal.h"
#include "mcp/jsonrpc.h"

#ifndef PGSAFE_VERSION
#define PGSAFE_VERSION "0.0.0"
#endif

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

/* ---- output and logging ---- */

void session_send(mcp_session *session, json_object *message) {
    assert(message != NULL);
    session->send(session->transport, message);
    json_object_put(message);
}

/* Formats and writes one log line; the client gets it as notifications/message. */
static void session_vlog(mcp_session *session, mcp_log_level level, const char *format, va_list arguments) {
    bool to_stderr = level <= session->config->log_level;
    bool to_client = session->client_log_level >= 0 && (int)level <= session->client_log_level;
    if (!to_stderr && !to_client)
        return;
    char text[2048];
    vsnprintf(text, sizeof text, format, arguments);
    if (to_stderr)
        fprintf(stderr, "pgsafe: %s: %s\n", mcp_log_level_name(level), text);
    if (to_client) {
        json_object *params = mcp_json_object();
        mcp_json_add(params, "level", mcp_json_string(mcp_log_level_name(level)));
        mcp_json_add(params, "logger", mcp_json_string("pgsafe"));
        mcp_json_add(params, "data", mcp_json_string(text));
        session_send(session, jsonrpc_notification("notifications/message", params));
    }
}

void session_log(mcp_session *session, mcp_log_level level, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    session_vlog(session, level, format, arguments);
    va_end(arguments);
}

void request_log(const mcp_request *request, mcp_log_level level, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    if (!request->modern) {
        session_vlog(request->session, level, format, arguments);
        va_end(arguments);
        return;
    }
    /* 2026-07-28: a log line reaches the client only for a request whose _meta asked for a
     * level, as a notification on that request's answer; stderr keeps its own level. */
    mcp_session *session = request->session;
    char text[2048];
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    if (level <= session->config->log_level)
        fprintf(stderr, "pgsafe: %s: %s\n", mcp_log_level_name(level), text);
    if (request->log_level < 0 || (int)level > request->log_level || request->cancelled)
        return;
    json_object *params = mcp_json_object();
    mcp_json_add(params, "level", mcp_json_string(mcp_log_level_name(level)));
    mcp_json_add(params, "logger", mcp_json_string("pgsafe"));
    mcp_json_add(params, "data", mcp_json_string(text));
    json_object *message = jsonrpc_notification("notifications/message", params);
    if (session->notify)
        session->notify(session->transport, message, request->id);
    else
        session->send(session->transport, message);
    json_object_put(message);
}

/* ---- the list of requests in flight ---- */

mcp_request *request_new(mcp_session *session, json_object *id, const char *method) {
    assert(id != NULL && method != NULL);
    mcp_request *request = mcp_must(calloc(1, sizeof *request), "a request");
    request->session = session;
    request->id = json_object_get(id);
    request->method = mcp_must(strdup(method), "a method name");
    request->log_level = -1;
    request->started_ms = db_now_ms();
    request->audit = (audit_entry){.rows = -1, .bytes = -1};
    assert((session->requests == NULL) == (session->request_count == 0));
    assert(session->requests == NULL || session->requests->previous == NULL);
    request->next = session->requests;
    if (session->requests)
        session->requests->previous = request;
    session->requests = request;
    session->request_count++;
    return request;
}

void request_free(mcp_request *request) {
    mcp_session *session = request->session;
    /* Linked exactly once: the head has no previous, every other request has one. */
    assert(session->request_count > 0);
    assert((request->previous == NULL) == (session->requests == request));
    assert(request->previous == NULL || request->previous->next == request);
    assert(request->next == NULL || request->next->previous == request);
    /* The pool owns a call until its done callback: freeing the request before would leave
     * the callback a dangling pointer. */
    assert(request->call == NULL);
    if (request->previous)
        request->previous->next = request->next;
    else
        session->requests = request->next;
    if (request->next)
        request->next->previous = request->previous;
    session->request_count--;
    if (session->pending_initialize == request)
        session->pending_initialize = NULL;
    json_object_put(request->id);
    json_object_put(request->client_id);
    json_object_put(request->arguments);
    free(request->method);
    free(request->identity);
    audit_entry_clear(&request->audit);
    guard_result_free(&request->verdict);
    free(request);
}

mcp_request *request_find(mcp_session *session, json_object *id) {
    const char *wanted = json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN);
    for (mcp_request *request = session->requests; request; request = request->next) {
        /* Ids compare by their JSON text, so 1 and "1" stay different. */
        if (strcmp(json_object_to_json_string_ext(request->id, JSON_C_TO_STRING_PLAIN), wanted) == 0)
            return request;
    }
    return NULL;
}

/* ---- answering ---- */

/* Writes the audit line of a tools/call, sends message (taken; NULL for none) unless the
 * request was cancelled, and frees the request. With --audit-required, a call whose audit
 * line cannot be written gets an error instead of its result. */
static void finish_request(mcp_request *request, json_object *message) {
    mcp_session *session = request->session;
    if (request->tool) {
        if (request->cancelled && request->audit.verdict == NULL)
            request->audit.verdict = "cancelled";
        request->audit.identity = request->identity;
        /* list_databases speaks of every database, not one. */
        if (strcmp(request->tool, "list_databases") != 0)
            request->audit.database = request_database_name(request);
        if (request->modern)
            request_log(request, MCP_LOG_INFO, "%s: %s%s%s", request->tool,
                        request->audit.verdict ? request->audit.verdict : "done", request->audit.reason ? " " : "",
                        request->audit.reason ? request->audit.reason : "");
        json_object *audit_id = request->client_id ? request->client_id : request->id;
        bool written = audit_write(session->audit, audit_id, request->tool, &request->audit,
                                   (double)(db_now_ms() - request->started_ms));
        if (!written && session->config->audit_required && message) {
            json_object_put(message);
            message = jsonrpc_error(request->id, JSONRPC_INTERNAL_ERROR,
                                    "the audit log cannot be written and --audit-required is set: the call's "
                                    "result is withheld; the operator must fix the audit log");
        }
    }
    metrics_count_request(session->metrics, request->method, request->tool, request->audit.verdict,
                          request->audit.reason, (double)(db_now_ms() - request->started_ms));
    if (message) {
        if (request->cancelled)
            json_object_put(message); /* the spec: no response for a cancelled request */
        else
            session_send(session, message);
    }
    request_free(request);
}

/* How long a modern client may keep a result, and who may share it (2026-07-28 caching):
 * the lists of tools, prompts and templates depend on the configuration alone; the schema
 * resources on the database as the configured role sees it. */
static void add_cache_hints(const mcp_request *request, json_object *result) {
    static const struct {
        const char *method;
        int ttl_ms;
        const char *scope;
    } hints[] = {
        {"server/discover", 60000, "public"}, {"tools/list", 300000, "public"},
        {"prompts/list", 300000, "public"},   {"resources/templates/list", 300000, "public"},
        {"resources/list", 30000, "private"}, {"resources/read", 30000, "private"},
    };
    for (size_t i = 0; i < sizeof hints / sizeof *hints; i++)
        if (strcmp(request->method, hints[i].method) == 0) {
            if (!json_object_object_get_ex(result, "ttlMs", NULL))
                mcp_json_add(result, "ttlMs", mcp_json_int64(hints[i].ttl_ms));
            if (!json_object_object_get_ex(result, "cacheScope", NULL))
                mcp_json_add(result, "cacheScope", mcp_json_string(hints[i].scope));
            return;
        }
}

/* A modern result's protocol fields: resultType, the server's identity in _meta, cache hints. */
static void decorate_modern(const mcp_request *request, json_object *result) {
    mcp_json_add(result, "resultType", mcp_json_string("complete"));
    json_object *meta = NULL;
    if (!json_object_object_get_ex(result, "_meta", &meta) || !json_object_is_type(meta, json_type_object)) {
        meta = mcp_json_object();
        mcp_json_add(result, "_meta", meta);
    }
    json_object *info = mcp_json_object();
    mcp_json_add(info, "name", mcp_json_string("pgsafe"));
    mcp_json_add(info, "version", mcp_json_string(PGSAFE_VERSION));
    mcp_json_add(meta, "io.modelcontextprotocol/serverInfo", info);
    add_cache_hints(request, result);
}

void request_answer_message(mcp_request *request, json_object *message) {
    finish_request(request, message);
}

void request_respond(mcp_request *request, json_object *result) {
    if (request->modern && result != NULL && json_object_is_type(result, json_type_object))
        decorate_modern(request, result);
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

/* [{type: "text", text}]: a tool result's content (text not NULL). */
static json_object *text_content(const char *text) {
    assert(text != NULL);
    json_object *content = mcp_json_array();
    json_object *item = mcp_json_object();
    mcp_json_add(item, "type", mcp_json_string("text"));
    mcp_json_add(item, "text", mcp_json_string(text));
    mcp_json_append(content, item);
    return content;
}

/* A text sized by the input could not be built: the answer says so rather than going out
 * degraded (docs/architecture.md, "Out of memory"). */
static void out_of_memory(mcp_request *request, const char *what) {
    request_error(request, JSONRPC_INTERNAL_ERROR,
                  "out of memory while rendering %s; ask for less (fewer rows, "
                  "columns or tables) and try again",
                  what);
}

void request_tool_error(mcp_request *request, const char *text) {
    if (text == NULL) {
        out_of_memory(request, "the error");
        return;
    }
    if (request->audit.verdict == NULL)
        request->audit.verdict = "error";
    json_object *result = mcp_json_object();
    mcp_json_add(result, "content", text_content(text));
    mcp_json_add(result, "isError", mcp_json_bool(true));
    request_respond(request, result);
}

void request_tool_result(mcp_request *request, json_object *structured, const char *text) {
    if (text == NULL) {
        json_object_put(structured);
        out_of_memory(request, "the answer");
        return;
    }
    json_object *result = mcp_json_object();
    mcp_json_add(result, "content", text_content(text));
    mcp_json_add(result, "structuredContent", structured);
    mcp_json_add(result, "isError", mcp_json_bool(false));
    request_respond(request, result);
}

/* ---- database calls ---- */

/* The pool's done callback: hands the result (owned) to the request's continuation, or
 * drops the request when it was cancelled. */
static void request_db_done(void *user, db_result *result) {
    mcp_request *request = user;
    assert(request->call != NULL && request->continuation != NULL);
    request->call = NULL;
    mcp_db_continuation continuation = request->continuation;
    request->continuation = NULL;
    if (request->cancelled || result->status == DB_CANCELLED) {
        request->cancelled = true;
        db_result_free(result);
        finish_request(request, NULL);
        return;
    }
    continuation(request, result);
}

bool request_run(mcp_request *request, const db_request *call, mcp_db_continuation continuation) {
    /* One call at a time per request: its continuation starts the next. */
    assert(request->call == NULL && request->continuation == NULL);
    request->continuation = continuation;
    request->call = db_pool_submit(request_pool(request), call, request_db_done, request);
    /* The pool dispatches queued calls in db_pool_process: the loop must run it before it
     * sleeps, whichever transport queued the call (mcp_session_timeout says 0). */
    request->session->submitted = true;
    if (request->call == NULL) {
        request->continuation = NULL;
        request_error(request, JSONRPC_INTERNAL_ERROR, "out of memory");
        return false;
    }
    return true;
}

void request_introspect(mcp_request *request, const char *sql, const char *second, const char *third, int count,
                        mcp_db_continuation continuation) {
    const char *params[3] = {request_config(request)->visible_schemas, second, third};
    db_request call = {.sql = sql,
                       .param_count = count,
                       .params = params,
                       .row_limit = -1,
                       .max_result_bytes = INTROSPECTION_BYTES,
                       .max_cell_bytes = INTROSPECTION_BYTES};
    request_run(request, &call, continuation);
}

const mcp_config *request_config(const mcp_request *request) {
    assert(request->database < request->session->database_count);
    return request->session->databases[request->database].config;
}

db_pool *request_pool(const mcp_request *request) {
    assert(request->database < request->session->database_count);
    return request->session->databases[request->database].pool;
}

size_t request_database_count(const mcp_request *request) {
    return request->session->named ? request->session->database_count : 0;
}

const char *request_database_name_at(const mcp_request *request, size_t index) {
    assert(index < request->session->database_count);
    return request->session->databases[index].name;
}

const char *request_database_name(const mcp_request *request) {
    return request_database_name_at(request, request->database);
}

bool request_choose_database(mcp_request *request, const char *name, size_t length) {
    for (size_t i = 0; request->session->named && i < request->session->database_count; i++) {
        const char *candidate = request->session->databases[i].name;
        if (strlen(candidate) == length && memcmp(candidate, name, length) == 0) {
            request->database = i;
            return true;
        }
    }
    return false;
}

db_pool *request_database_pool(const mcp_request *request, size_t index) {
    assert(index < request->session->database_count);
    return request->session->databases[index].pool;
}

char *request_choose_database_argument(mcp_request *request, json_object *value, bool optional, const char *what) {
    size_t count = request_database_count(request);
    if (count == 0 || (value == NULL && (count == 1 || optional)))
        return NULL;
    if (value != NULL && json_object_is_type(value, json_type_string) &&
        request_choose_database(request, json_object_get_string(value), (size_t)json_object_get_string_len(value)))
        return NULL;
    char *names = mcp_must(request_database_names(request), "a message");
    char *problem;
    if (value == NULL)
        problem = str_printf("%s needs the argument \"database\": one of %s", what, names);
    else if (!json_object_is_type(value, json_type_string))
        problem = str_printf("argument \"database\" of %s must be a string: one of %s", what, names);
    else
        problem = str_printf("there is no database \"%s\"; the databases are %s (list_databases shows them)",
                             json_object_get_string(value), names);
    free(names);
    return mcp_must(problem, "a message");
}

char *request_database_names(const mcp_request *request) {
    strbuf names = {0};
    size_t count = request->session->database_count;
    for (size_t i = 0; i < count; i++) {
        const char *name = request->session->databases[i].name;
        strbuf_printf(&names, "%s\"%s\"", i == 0 ? "" : i + 1 == count ? " and " : ", ", name ? name : "");
    }
    return strbuf_take(&names);
}

bool request_audit_failing(const mcp_request *request) {
    return audit_failing(request->session->audit);
}
