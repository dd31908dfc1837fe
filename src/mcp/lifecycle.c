/* The lifecycle methods: initialize (version negotiation, capabilities, and instructions
 * that state the limits and the role's posture), ping and logging/setLevel. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

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

/* The version to speak: the one asked for when we speak it, else our newest (the client then
 * decides whether to go on). Returns a static string. */
static const char *negotiate(const char *requested) {
    for (size_t i = 0; requested && i < sizeof protocol_versions / sizeof *protocol_versions; i++)
        if (strcmp(requested, protocol_versions[i]) == 0)
            return protocol_versions[i];
    return protocol_versions[0];
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
                      last_error ? last_error : "connecting");
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

void lifecycle_answer_initialize(mcp_request *request) {
    mcp_session *session = request->session;
    const db_posture *posture = db_pool_posture(session->pool);
    if (session->config->refuse_writable_role && posture->known && posture->can_write) {
        /* The loop exits with status 2 right after; the client learns why instead of a good handshake. */
        request_error(request, JSONRPC_INTERNAL_ERROR,
                      "pgsafe refuses to serve: role \"%s\" can write (%s) and --refuse-writable-role is set; "
                      "the operator must connect with a read-only role",
                      posture->role ? posture->role : "?", posture->write_reasons ? posture->write_reasons : "?");
        return;
    }
    json_object *result = mcp_json_object();
    mcp_json_add(result, "protocolVersion", mcp_json_string(session->protocol_version));
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
    mcp_json_add(result, "capabilities", capabilities);
    json_object *info = mcp_json_object();
    mcp_json_add(info, "name", mcp_json_string("pgsafe"));
    mcp_json_add(info, "title", mcp_json_string("pgsafe: read-only PostgreSQL"));
    mcp_json_add(info, "version", mcp_json_string(PGSAFE_VERSION));
    mcp_json_add(result, "serverInfo", info);
    /* A few hundred bytes, not sized by any input: out of memory here exits (mcp_must). */
    char *text = mcp_must(lifecycle_instructions(session->config, posture, db_pool_last_error(session->pool)),
                          "the instructions");
    mcp_json_add(result, "instructions", mcp_json_string(text));
    free(text);
    request_respond(request, result);
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
    session->initialize_seen = true;
    session->protocol_version = negotiate(requested);
    request->protocol_version = session->protocol_version;
    if (db_pool_state_now(session->pool) == DB_POOL_CONNECTING) {
        assert(session->pending_initialize == NULL); /* initialize_seen admits one */
        /* Answer once the first attempt ends, so the instructions can state the posture. */
        session->pending_initialize = request;
        session->initialize_deadline_ms = db_now_ms() + INITIALIZE_WAIT_MS;
        return;
    }
    lifecycle_answer_initialize(request);
}

void lifecycle_set_level(mcp_request *request, json_object *params) {
    const char *level = json_string_member(params, "level");
    int parsed = level ? mcp_log_level_parse(level) : -1;
    if (parsed < 0) {
        request_error(request, JSONRPC_INVALID_PARAMS,
                      "params.level must be one of debug, info, notice, warning, error, critical, alert, emergency");
        return;
    }
    request->session->client_log_level = parsed;
    request_respond(request, mcp_json_object());
}

void lifecycle_ping(mcp_request *request, json_object *params) {
    (void)params;
    request_respond(request, mcp_json_object());
}
