/* The lifecycle methods: initialize (version negotiation, capabilities, and instructions
 * that state the limits and the role's posture), ping and logging/setLevel. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"
#include "mcp/fence.h"
#include "mcp/internal.h"
#include "mcp/jsonrpc.h"

#ifndef PGSAFE_VERSION
#define PGSAFE_VERSION "0.0.0"
#endif

/* The handshake revisions, newest first: the answer when the client asks for a version we do
 * not speak. */
const char *const mcp_legacy_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
const size_t mcp_legacy_version_count = sizeof mcp_legacy_versions / sizeof *mcp_legacy_versions;
#define protocol_versions mcp_legacy_versions

/* How long initialize may wait for the first connection, so its instructions can report
 * the role's posture; past this it answers without. */
#define INITIALIZE_WAIT_MS 2000

/* The version to speak: the one asked for when we speak it, else our newest (the client then
 * decides whether to go on). Returns a static string. */
static const char *negotiate(const char *requested) {
    for (size_t i = 0; requested && i < sizeof protocol_versions / sizeof *protocol_versions; i++)
        if (strcmp(requested, protocol_versions[i]) == 0)
            return protocol_versions[i];
    return protocol_versions[0];
}

/* The limits a database's queries run under. */
static void append_limits(strbuf *text, const mcp_config *config) {
    strbuf_printf(text,
                  "Limits: at most %lld rows per query (more are cut and reported as truncated), %zu bytes per "
                  "result, %zu bytes per value, a %d ms statement timeout. Only a single read-only SELECT is "
                  "accepted: no writes, DDL, transaction control, locking clauses, or volatile and "
                  "system-administration functions. A rejected query comes back with a reason and a hint: change "
                  "the query as the hint says.\n",
                  config->policy.max_rows, config->db.max_result_bytes, config->db.max_cell_bytes,
                  config->db.statement_timeout_ms);
}

/* The role's posture, or why it is not known yet (last_error, NULL while connecting). */
static void append_posture(strbuf *text, const db_posture *posture, const char *last_error) {
    if (!posture->known) {
        strbuf_printf(text, "The database is not reachable yet (%s); tools will say so until it is.\n",
                      last_error ? last_error : "connecting");
        return;
    }
    strbuf_printf(text, "Connected to database \"%s\" as role \"%s\" (PostgreSQL %s).\n",
                  posture->database ? posture->database : "?", posture->role ? posture->role : "?",
                  posture->server_version ? posture->server_version : "?");
    int major = guard_server_major(posture->server_version);
    if (major > guard_builtins_version(0))
        strbuf_printf(text,
                      "pgsafe knows the built-in functions of PostgreSQL %d and older: functions that PostgreSQL "
                      "%d added are refused as unknown; write queries with PostgreSQL %d's functions.\n",
                      guard_builtins_version(0), major, guard_builtins_version(0));
    if (posture->superuser)
        strbuf_puts(text, "Warning: the role is a superuser. pgsafe still allows only read-only queries, "
                          "but the operator should connect with a read-only role.\n");
    else if (posture->can_write)
        strbuf_printf(text,
                      "Warning: the role can write (%s). pgsafe still allows only read-only queries, but the "
                      "operator should connect with a read-only role.\n",
                      posture->write_reasons ? posture->write_reasons : "write privileges");
    char *hazards = posture_hazard_warning(posture);
    if (hazards != NULL)
        strbuf_printf(text, "Warning: %s.\n", hazards);
    free(hazards);
}

/* The instructions initialize returns: how to use the tools, the limits, and the role's
 * posture (or why it is not known yet: last_error, NULL while connecting); a server newer
 * than the newest built-in table is said so. Pure, so a unit test can feed it any posture.
 * Caller frees; NULL when memory runs out. */
char *lifecycle_instructions(const mcp_config *config, const db_posture *posture, const char *last_error) {
    strbuf text = {0};
    strbuf_puts(&text, "pgsafe gives read-only access to a PostgreSQL database. Start with list_tables (or the "
                       "postgres://schema resource) and describe_table, then run one SELECT at a time with query. "
                       "Use check_sql to see whether a query is allowed without running it, and explain for its plan. "
                       "Aggregate on the server (GROUP BY, count, sum, avg) rather than fetching raw rows, and select "
                       "only the columns you need. When a result says it was truncated, say so in your answer.\n");
    append_limits(&text, config);
    if (!config->no_fence)
        strbuf_puts(&text, FENCE_NOTICE "\n");
    append_posture(&text, posture, last_error);
    return strbuf_take(&text);
}

/* The instructions for several databases: each one's name, limits and posture. */
static char *named_instructions(const mcp_session *session) {
    strbuf text = {0};
    strbuf_printf(&text,
                  "pgsafe gives read-only access to %zu PostgreSQL databases. Every tool takes a database argument "
                  "naming one of them; list_databases shows them with their versions and state. Start with "
                  "list_tables (or the postgres://NAME/schema resource) and describe_table, then run one SELECT at a "
                  "time with query. Use check_sql to see whether a query is allowed without running it, and explain "
                  "for its plan. Aggregate on the server rather than fetching raw rows, and select only the columns "
                  "you need. When a result says it was truncated, say so in your answer.\n",
                  session->database_count);
    if (!session->config->no_fence)
        strbuf_puts(&text, FENCE_NOTICE "\n");
    for (size_t i = 0; i < session->database_count; i++) {
        const session_database *database = &session->databases[i];
        strbuf_printf(&text, "\nDatabase \"%s\" (database: \"%s\"):\n", database->name, database->name);
        append_limits(&text, database->config);
        append_posture(&text, db_pool_posture(database->pool), db_pool_last_error(database->pool));
    }
    return strbuf_take(&text);
}

/* The instructions for the session's configuration and the pools' postures now. A few
 * hundred bytes per database, not sized by any input: out of memory here exits (mcp_must). */
static char *session_instructions(const mcp_session *session) {
    if (session->named)
        return mcp_must(named_instructions(session), "the instructions");
    const session_database *database = &session->databases[0];
    return mcp_must(
        lifecycle_instructions(session->config, db_pool_posture(database->pool), db_pool_last_error(database->pool)),
        "the instructions");
}

/* The capabilities initialize and server/discover advertise. */
static json_object *capabilities_object(void) {
    json_object *capabilities = mcp_json_object();
    json_object *tools = mcp_json_object();
    mcp_json_add(tools, "listChanged", mcp_json_bool(false));
    mcp_json_add(capabilities, "tools", tools);
    json_object *resources = mcp_json_object();
    mcp_json_add(resources, "subscribe", mcp_json_bool(false));
    mcp_json_add(resources, "listChanged", mcp_json_bool(false));
    mcp_json_add(capabilities, "resources", resources);
    json_object *prompts = mcp_json_object();
    mcp_json_add(prompts, "listChanged", mcp_json_bool(false));
    mcp_json_add(capabilities, "prompts", prompts);
    mcp_json_add(capabilities, "logging", mcp_json_object());
    return capabilities;
}

/* True (after answering the request with an error) when the role can write and
 * --refuse-writable-role is set: the loop exits with status 2 right after, and the client
 * learns why instead of getting a good handshake. */
static bool refused(mcp_request *request) {
    char what[1024];
    if (!session_writable_refused(request->session, what, sizeof what))
        return false;
    request_error(request, JSONRPC_INTERNAL_ERROR,
                  "pgsafe refuses to serve: %s and --refuse-writable-role is set; the operator must connect with a "
                  "read-only role",
                  what);
    return true;
}

/* server/discover's answer: the versions, capabilities, identity and instructions. */
static void answer_discover(mcp_request *request) {
    if (refused(request))
        return;
    json_object *result = mcp_json_object();
    json_object *versions = mcp_json_array();
    mcp_json_append(versions, mcp_json_string(MCP_MODERN_VERSION));
    for (size_t i = 0; i < mcp_legacy_version_count; i++)
        mcp_json_append(versions, mcp_json_string(mcp_legacy_versions[i]));
    mcp_json_add(result, "supportedVersions", versions);
    mcp_json_add(result, "capabilities", capabilities_object());
    char *text = session_instructions(request->session);
    mcp_json_add(result, "instructions", mcp_json_string(text));
    free(text);
    if (!request->modern) {
        json_object *meta = mcp_json_object(), *info = mcp_json_object();
        mcp_json_add(info, "name", mcp_json_string("pgsafe"));
        mcp_json_add(info, "version", mcp_json_string(PGSAFE_VERSION));
        mcp_json_add(meta, "io.modelcontextprotocol/serverInfo", info);
        mcp_json_add(result, "_meta", meta);
    }
    mcp_json_add(result, "ttlMs", mcp_json_int64(60000));
    mcp_json_add(result, "cacheScope", mcp_json_string("public"));
    request_respond(request, result);
}

void lifecycle_answer_initialize(mcp_request *request) {
    if (strcmp(request->method, "server/discover") == 0) {
        answer_discover(request);
        return;
    }
    if (refused(request))
        return;
    json_object *result = mcp_json_object();
    mcp_json_add(result, "protocolVersion", mcp_json_string(request->protocol_version));
    mcp_json_add(result, "capabilities", capabilities_object());
    json_object *info = mcp_json_object();
    mcp_json_add(info, "name", mcp_json_string("pgsafe"));
    mcp_json_add(info, "title", mcp_json_string("pgsafe: read-only PostgreSQL"));
    mcp_json_add(info, "version", mcp_json_string(PGSAFE_VERSION));
    mcp_json_add(result, "serverInfo", info);
    char *text = session_instructions(request->session);
    mcp_json_add(result, "instructions", mcp_json_string(text));
    free(text);
    request_respond(request, result);
}

/* Holds the request until the first connection attempt ends, so the instructions can state
 * the posture; answers it now when it need not (or cannot) wait. */
static void answer_when_connected(mcp_request *request) {
    mcp_session *session = request->session;
    if (session_connecting(session) && session->pending_initialize == NULL) {
        session->pending_initialize = request;
        session->initialize_deadline_ms = db_now_ms() + INITIALIZE_WAIT_MS;
        return;
    }
    lifecycle_answer_initialize(request);
}

void lifecycle_discover(mcp_request *request, json_object *params) {
    (void)params;
    answer_when_connected(request);
}

void lifecycle_initialize(mcp_request *request, json_object *params) {
    mcp_session *session = request->session;
    if (session->initialize_seen) {
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
    if (session->stateless) {
        /* HTTP: nothing to remember; each later request names its version in a header. */
        request->protocol_version = negotiate(requested);
        answer_when_connected(request);
        return;
    }
    session->initialize_seen = true;
    session->protocol_version = negotiate(requested);
    request->protocol_version = session->protocol_version;
    if (session_connecting(session)) {
        assert(session->pending_initialize == NULL); /* initialize_seen admits one */
        /* Answer once the first attempt ends, so the instructions can state the posture. */
        session->pending_initialize = request;
        session->initialize_deadline_ms = db_now_ms() + INITIALIZE_WAIT_MS;
        return;
    }
    lifecycle_answer_initialize(request);
}

void lifecycle_set_level(mcp_request *request, json_object *params) {
    json_object *value = NULL;
    if (json_object_is_type(params, json_type_object))
        json_object_object_get_ex(params, "level", &value);
    const char *level = json_text(value);
    int parsed = level ? mcp_log_level_parse(level) : -1;
    if (parsed < 0) {
        request_error(request, JSONRPC_INVALID_PARAMS,
                      "params.level must be one of debug, info, notice, warning, error, critical, alert, emergency");
        return;
    }
    if (!request->session->stateless)
        request->session->client_log_level = parsed; /* HTTP: no session to hold it */
    request_respond(request, mcp_json_object());
}

void lifecycle_ping(mcp_request *request, json_object *params) {
    (void)params;
    request_respond(request, mcp_json_object());
}
