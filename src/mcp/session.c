/* The session that answers JSON-RPC (session.h): envelope checks, notifications, the held
 * initialize, and the role check, for whichever transport feeds it. Requests go on to the
 * method table in dispatch.c. */
#include "mcp/session.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"
#include "mcp/internal.h"
#include "mcp/jsonrpc.h"

/* The pool's log callback (context: its session_database): its levels (0 error .. 3 debug)
 * mapped onto MCP's; with several databases the line names its database. */
static void db_log(void *context, int level, const char *message) {
    static const mcp_log_level levels[] = {MCP_LOG_ERROR, MCP_LOG_WARNING, MCP_LOG_INFO, MCP_LOG_DEBUG};
    const session_database *database = context;
    mcp_log_level mapped = levels[level < 0 ? 0 : level > 3 ? 3 : level];
    if (database->name)
        session_log(database->session, mapped, "database \"%s\": %s", database->name, message);
    else
        session_log(database->session, mapped, "%s", message);
}

/* Frees the pools started so far (they cancel what runs) and the array. */
static void free_databases(mcp_session *session) {
    for (size_t i = 0; i < session->database_count; i++)
        db_pool_free(session->databases[i].pool);
    free(session->databases);
    session->databases = NULL;
    session->database_count = 0;
}

/* One pool per database: the configured ones by name, else the one of config->db. */
static bool start_databases(mcp_session *session, const mcp_config *config, char **error) {
    size_t count = config->database_count ? config->database_count : 1;
    long connections = 0;
    for (size_t i = 0; i < config->database_count; i++)
        connections += config->databases[i].config->db.pool_size;
    if (config->database_count > MCP_MAX_DATABASES || connections > MCP_MAX_CONNECTIONS) {
        *error = str_printf("at most %d databases and %d connections in all their pools (these have %zu and %ld)",
                            MCP_MAX_DATABASES, MCP_MAX_CONNECTIONS, config->database_count, connections);
        return false;
    }
    session->databases = mcp_must(calloc(count, sizeof *session->databases), "the databases");
    session->named = config->database_count > 0;
    for (size_t i = 0; i < count; i++) {
        session_database *database = &session->databases[i];
        database->session = session;
        database->name = session->named ? config->databases[i].name : NULL;
        database->config = session->named ? config->databases[i].config : config;
        database->pool = db_pool_new(&database->config->db, db_log, database, error);
        if (database->pool == NULL)
            return false;
        session->database_count = i + 1;
    }
    return true;
}

mcp_session *mcp_session_new(const mcp_config *config, mcp_transport_send send, void *transport, char **error) {
    *error = NULL;
    mcp_session *session = mcp_must(calloc(1, sizeof *session), "the session");
    *session = (mcp_session){.config = config, .send = send, .transport = transport, .client_log_level = -1};
    if (config->audit_log_path) {
        session->audit = audit_open(config->audit_log_path, config->audit_sql, error);
        if (session->audit == NULL) {
            free(session);
            return NULL;
        }
    }
    if (!start_databases(session, config, error)) {
        free_databases(session);
        audit_close(session->audit);
        free(session);
        return NULL;
    }
    return session;
}

void mcp_session_free(mcp_session *session) {
    if (session == NULL)
        return;
    /* Cancels what still runs; the requests' continuations answer or drop them. */
    free_databases(session);
    while (session->requests)
        request_free(session->requests);
    assert(session->request_count == 0);
    audit_close(session->audit);
    free(session);
}

void mcp_session_log(mcp_session *session, mcp_log_level level, const char *format, ...) {
    char text[2048];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    session_log(session, level, "%s", text);
}

/* notifications/cancelled: marks the request cancelled (it will get no answer) and asks
 * the database to cancel its statement. Unknown or answered ids are ignored, as the spec
 * says; so is the initialize request. */
static void handle_cancelled(mcp_session *session, json_object *params) {
    json_object *id = NULL;
    if (params == NULL || !json_object_object_get_ex(params, "requestId", &id) || id == NULL)
        return;
    mcp_request *request = request_find(session, id);
    if (request == NULL || request == session->pending_initialize)
        return;
    const char *reason = json_string_member(params, "reason");
    session_log(session, MCP_LOG_INFO, "request %s cancelled by the client%s%s",
                json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN), reason ? ": " : "", reason ? reason : "");
    request->cancelled = true;
    if (request->call)
        db_pool_cancel(request_pool(request), request->call);
}

/* MCP: a request id is a string or an integer (of any size: jsonrpc_parse keeps its text). */
static bool valid_id(json_object *id) {
    return json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int);
}

/* A message with "method": a request (answered) or a notification (never answered). */
static void handle_method(mcp_session *session, json_object *message, json_object *method_value, bool has_id,
                          json_object *id, json_object *reply_id, const mcp_message_context *context) {
    if (!json_object_is_type(method_value, json_type_string)) {
        session_send(session, jsonrpc_error(reply_id, JSONRPC_INVALID_REQUEST, "\"method\" must be a string"));
        return;
    }
    if (has_id && (id == NULL || !valid_id(id))) {
        session_send(session, jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST, "\"id\" must be a string or an integer"));
        return;
    }
    json_object *params = NULL;
    json_object_object_get_ex(message, "params", &params);
    const char *method = json_object_get_string(method_value);
    if (!has_id) {
        /* Notifications never get an answer, even when unknown or malformed. */
        if (strcmp(method, "notifications/cancelled") == 0)
            handle_cancelled(session, params);
        else if (strcmp(method, "notifications/initialized") != 0)
            session_log(session, MCP_LOG_DEBUG, "ignored notification %s", method);
        return;
    }
    dispatch_request(session, id, method, params, context);
}

/* One parsed message (borrowed): checks the JSON-RPC envelope and routes it. */
static void handle_message(mcp_session *session, json_object *message, const mcp_message_context *context) {
    if (json_object_is_type(message, json_type_array)) {
        session_send(session, jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST,
                                            "batches are not supported: send one JSON-RPC message per line"));
        return;
    }
    json_object *id = NULL, *method_value = NULL;
    bool has_id = json_object_is_type(message, json_type_object) && json_object_object_get_ex(message, "id", &id);
    json_object *reply_id = has_id && id && valid_id(id) ? id : NULL;
    const char *version = json_string_member(message, "jsonrpc");
    if (!json_object_is_type(message, json_type_object) || version == NULL || strcmp(version, "2.0") != 0) {
        session_send(session, jsonrpc_error(reply_id, JSONRPC_INVALID_REQUEST,
                                            "not a JSON-RPC 2.0 message: it needs \"jsonrpc\": \"2.0\""));
        return;
    }
    if (json_object_object_get_ex(message, "method", &method_value)) {
        handle_method(session, message, method_value, has_id, id, reply_id, context);
        return;
    }
    if (json_object_object_get_ex(message, "result", NULL) || json_object_object_get_ex(message, "error", NULL)) {
        /* A response to a request we never send: nothing to do. */
        session_log(session, MCP_LOG_DEBUG, "ignored a response from the client");
        return;
    }
    session_send(session, jsonrpc_error(reply_id, JSONRPC_INVALID_REQUEST, "not a request: \"method\" is missing"));
}

void mcp_session_handle_line(mcp_session *session, const char *line, size_t length) {
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
        session_send(session,
                     jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST, "not a request: a JSON-RPC message is an object"));
        return;
    }
    if (message == NULL) {
        session_send(session, jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "parse error: the line is not valid JSON"));
        return;
    }
    handle_message(session, message, NULL);
    json_object_put(message);
}

void mcp_session_handle_message(mcp_session *session, json_object *message, const mcp_message_context *context) {
    handle_message(session, message, context);
}

void mcp_session_set_notify(mcp_session *session, mcp_transport_notify notify) {
    session->notify = notify;
}

void mcp_session_set_stateless(mcp_session *session, bool stateless) {
    session->stateless = stateless;
}

void mcp_session_set_metrics(mcp_session *session, mcp_metrics *metrics) {
    session->metrics = metrics;
}

char *mcp_session_render_metrics(mcp_session *session) {
    if (session->metrics == NULL)
        return NULL;
    metrics_pool_use pool = {0};
    for (size_t i = 0; i < session->database_count; i++) {
        db_pool_usage usage = db_pool_usage_now(session->databases[i].pool);
        pool.size += usage.size;
        pool.open += usage.open;
        pool.busy += usage.busy;
        pool.queued += usage.queued;
    }
    return metrics_render(session->metrics, &pool);
}

/* Ready when one database is: with several, one down must not take the others out of a
 * balancer. The detail names the first that is not ready. */
bool mcp_session_ready(mcp_session *session, const char **detail) {
    bool any = false;
    *detail = NULL;
    for (size_t i = 0; i < session->database_count; i++) {
        db_pool *pool = session->databases[i].pool;
        if (db_pool_state_now(pool) == DB_POOL_READY)
            any = true;
        else if (*detail == NULL)
            *detail = db_pool_last_error(pool) ? db_pool_last_error(pool) : "connecting to the database";
    }
    return any;
}

bool mcp_session_holding(const mcp_session *session) {
    return session->pending_initialize != NULL;
}

bool mcp_session_busy(const mcp_session *session) {
    return session->request_count > (session->pending_initialize ? 1u : 0u);
}

int mcp_session_pollfds(mcp_session *session, struct pollfd *fds, int max) {
    int count = 0;
    for (size_t i = 0; i < session->database_count; i++) {
        session_database *database = &session->databases[i];
        database->fd_count = db_pool_pollfds(database->pool, fds + count, max - count);
        count += database->fd_count;
    }
    return count;
}

int mcp_session_timeout(mcp_session *session) {
    if (session->submitted)
        return 0;
    int timeout = -1;
    for (size_t i = 0; i < session->database_count; i++) {
        int due = db_pool_timeout(session->databases[i].pool);
        if (due >= 0 && (timeout < 0 || due < timeout))
            timeout = due;
    }
    if (session->pending_initialize) {
        int64_t now = db_now_ms();
        int until = session->initialize_deadline_ms <= now ? 0 : (int)(session->initialize_deadline_ms - now);
        if (timeout < 0 || until < timeout)
            timeout = until;
    }
    return timeout;
}

bool session_connecting(const mcp_session *session) {
    for (size_t i = 0; i < session->database_count; i++) {
        db_pool *pool = session->databases[i].pool;
        if (db_pool_state_now(pool) == DB_POOL_CONNECTING && !db_pool_posture(pool)->known)
            return true;
    }
    return false;
}

/* Answers the held initialize once every first connection attempt has ended (or its
 * posture is known, or the wait is over). */
static void check_pending_initialize(mcp_session *session) {
    if (session->pending_initialize == NULL)
        return;
    if (!session_connecting(session) || db_now_ms() >= session->initialize_deadline_ms) {
        mcp_request *request = session->pending_initialize;
        session->pending_initialize = NULL;
        lifecycle_answer_initialize(request);
    }
}

bool session_writable_refused(const mcp_session *session, char *what, size_t size) {
    for (size_t i = 0; i < session->database_count; i++) {
        const session_database *database = &session->databases[i];
        const db_posture *posture = db_pool_posture(database->pool);
        if (!database->config->refuse_writable_role || !posture->known || !posture->can_write)
            continue;
        snprintf(what, size, "role \"%s\"%s%s%s can write (%s)", posture->role ? posture->role : "?",
                 database->name ? " of database \"" : "", database->name ? database->name : "",
                 database->name ? "\"" : "", posture->write_reasons ? posture->write_reasons : "?");
        return true;
    }
    return false;
}

/* True when a posture forbids serving (the reason goes to stderr). */
static bool refuse_role(mcp_session *session) {
    char what[1024];
    if (!session_writable_refused(session, what, sizeof what))
        return false;
    fprintf(stderr,
            "pgsafe serve: refusing to serve: %s; connect with a read-only role (docs/read-only-role.md) or drop "
            "--refuse-writable-role\n",
            what);
    return true;
}

bool mcp_session_process(mcp_session *session, struct pollfd *fds, int count) {
    session->submitted = false;
    int first = 0;
    for (size_t i = 0; i < session->database_count; i++) {
        session_database *database = &session->databases[i];
        int own = first + database->fd_count <= count ? database->fd_count : 0;
        db_pool_process(database->pool, fds + first, own);
        first += own;
    }
    check_pending_initialize(session);
    return !refuse_role(session);
}
