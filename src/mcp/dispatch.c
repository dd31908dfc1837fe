/* The method table: which handler answers which JSON-RPC method, in which protocol era, and
 * what each needs before it runs. Every transport's requests come through dispatch_request,
 * which picks the request's era: a request whose params._meta names a protocol version is
 * modern (2026-07-28: stateless, no handshake); any other is legacy, served under the
 * session's handshake (stdio) or statelessly at the transport's version (HTTP). A new method
 * is one row here. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/dispatch.h"
#include "mcp/internal.h"
#include "mcp/jsonrpc.h"

#define META_VERSION                     "io.modelcontextprotocol/protocolVersion"
#define META_CAPABILITIES                "io.modelcontextprotocol/clientCapabilities"
#define META_LOG_LEVEL                   "io.modelcontextprotocol/logLevel"
#define MCP_UNSUPPORTED_PROTOCOL_VERSION (-32022)

/* The eras a method exists in. */
enum { LEGACY = 1, MODERN = 2 };

typedef struct method_entry {
    const char *name;          /* sorted by strcmp: the table is searched with bsearch */
    mcp_method_handler handle; /* answers the request in every case */
    bool before_initialize;    /* legacy: allowed before the initialize handshake */
    int eras;                  /* LEGACY, MODERN or both */
} method_entry;

/* initialize, ping and logging/setLevel are gone in 2026-07-28; server/discover is new (a
 * legacy client may still call it: the answer says which versions to use). */
static const method_entry methods[] = {
    {"initialize", lifecycle_initialize, true, LEGACY},
    {"logging/setLevel", lifecycle_set_level, false, LEGACY},
    {"ping", lifecycle_ping, true, LEGACY},
    {"prompts/get", prompts_get, false, LEGACY | MODERN},
    {"prompts/list", prompts_list, false, LEGACY | MODERN},
    {"resources/list", resources_list, false, LEGACY | MODERN},
    {"resources/read", resources_read, false, LEGACY | MODERN},
    {"resources/templates/list", resources_templates_list, false, LEGACY | MODERN},
    {"server/discover", lifecycle_discover, true, LEGACY | MODERN},
    {"tools/call", tools_call, false, LEGACY | MODERN},
    {"tools/list", tools_list, false, LEGACY | MODERN},
};

#define METHOD_COUNT (sizeof methods / sizeof *methods)

/* bsearch's comparison: a method name against a table entry. */
static int compare_method(const void *key, const void *entry) {
    return strcmp(key, ((const method_entry *)entry)->name);
}

/* The table's entry for name, or NULL. */
static const method_entry *find_method(const char *name) {
#ifndef NDEBUG
    for (size_t i = 1; i < METHOD_COUNT; i++)
        assert(strcmp(methods[i - 1].name, methods[i].name) < 0);
#endif
    return bsearch(name, methods, METHOD_COUNT, sizeof *methods, compare_method);
}

bool dispatch_method_exists(const char *name) {
    return find_method(name) != NULL;
}

/* UnsupportedProtocolVersionError: -32022 with the versions we speak and the one asked for. */
static void unsupported_version(mcp_request *request, json_object *requested) {
    json_object *error = jsonrpc_error(request->id, MCP_UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version");
    json_object *body = NULL;
    json_object_object_get_ex(error, "error", &body);
    json_object *data = mcp_json_object(), *supported = mcp_json_array();
    mcp_json_append(supported, mcp_json_string(MCP_MODERN_VERSION));
    for (size_t i = 0; i < mcp_legacy_version_count; i++)
        mcp_json_append(supported, mcp_json_string(mcp_legacy_versions[i]));
    mcp_json_add(data, "supported", supported);
    mcp_json_add(data, "requested", requested ? json_object_get(requested) : NULL);
    mcp_json_add(body, "data", data);
    request_answer_message(request, error);
}

/* A modern request: checks its _meta (version, capabilities, log level) and the method's era,
 * then runs it. */
static void dispatch_modern(mcp_request *request, const method_entry *entry, json_object *meta, json_object *params) {
    json_object *version = NULL, *capabilities = NULL, *level = NULL;
    json_object_object_get_ex(meta, META_VERSION, &version);
    const char *version_text = json_text(version);
    if (version_text == NULL || strcmp(version_text, MCP_MODERN_VERSION) != 0) {
        unsupported_version(request, version);
        return;
    }
    request->modern = true;
    request->protocol_version = MCP_MODERN_VERSION;
    if (!json_object_object_get_ex(meta, META_CAPABILITIES, &capabilities) ||
        !json_object_is_type(capabilities, json_type_object)) {
        request_error(request, JSONRPC_INVALID_PARAMS,
                      "params._meta needs \"" META_CAPABILITIES "\", an object (2026-07-28 requests carry it)");
        return;
    }
    if (json_object_object_get_ex(meta, META_LOG_LEVEL, &level)) {
        const char *level_text = json_text(level);
        int parsed = level_text ? mcp_log_level_parse(level_text) : -1;
        if (parsed < 0) {
            request_error(request, JSONRPC_INVALID_PARAMS,
                          "params._meta[\"" META_LOG_LEVEL "\"] must be one of debug, info, notice, warning, error, "
                          "critical, alert, emergency");
            return;
        }
        request->log_level = parsed;
    }
    if (entry == NULL || !(entry->eras & MODERN)) {
        request_error(request, JSONRPC_METHOD_NOT_FOUND, "method \"%s\" not found%s", request->method,
                      entry ? " in protocol 2026-07-28" : "");
        return;
    }
    entry->handle(request, params);
}

/* The version a stateless legacy request is served under: the transport's, when we speak it. */
static const char *legacy_version(const mcp_message_context *context) {
    for (size_t i = 0; context && context->protocol_version && i < mcp_legacy_version_count; i++)
        if (strcmp(context->protocol_version, mcp_legacy_versions[i]) == 0)
            return mcp_legacy_versions[i];
    return "2025-03-26"; /* a client that sends no version header predates 2025-06-18 */
}

void dispatch_request(mcp_session *session, json_object *id, const char *method, json_object *params,
                      const mcp_message_context *context) {
    /* Each request in flight holds its arguments and may hold a database call: their number
     * is bounded. A ping is answered at once, so it is never refused. */
    if (session->request_count >= session->config->max_in_flight && strcmp(method, "ping") != 0) {
        char text[256];
        snprintf(text, sizeof text,
                 "too many requests in flight: at most %zu may wait for their answers at once (--max-in-flight); "
                 "wait for an answer before sending another request",
                 session->config->max_in_flight);
        session_send(session, jsonrpc_error(id, MCP_TOO_MANY_REQUESTS, text));
        return;
    }
    mcp_request *request = request_new(session, id, method);
    request->protocol_version = session->protocol_version; /* legacy on a handshake session; changed below */
    if (context && context->identity)
        request->identity = mcp_must(strdup(context->identity), "an identity");
    if (context && context->client_id)
        request->client_id = json_object_get(context->client_id);
    if (params != NULL && !json_object_is_type(params, json_type_object)) {
        request_error(request, JSONRPC_INVALID_PARAMS, "params must be an object");
        return;
    }
    const method_entry *entry = find_method(method);
    json_object *meta = NULL;
    if (params && json_object_object_get_ex(params, "_meta", &meta) && json_object_is_type(meta, json_type_object) &&
        json_object_object_get_ex(meta, META_VERSION, NULL)) {
        dispatch_modern(request, entry, meta, params);
        return;
    }
    if (entry != NULL && !(entry->eras & LEGACY)) {
        request_error(request, JSONRPC_METHOD_NOT_FOUND, "method \"%s\" not found", method);
        return;
    }
    if (session->stateless) {
        request->protocol_version = legacy_version(context);
        if (entry == NULL)
            request_error(request, JSONRPC_METHOD_NOT_FOUND, "method \"%s\" not found", method);
        else
            entry->handle(request, params);
        return;
    }
    if (entry != NULL && !entry->before_initialize && (!session->initialize_seen || session->pending_initialize)) {
        request_error(request, MCP_NOT_INITIALIZED, "the server is not initialized: send initialize first");
        return;
    }
    if (entry == NULL) {
        /* Before initialize, an unknown method is "not initialized", as it was answered before the table. */
        if (!session->initialize_seen || session->pending_initialize)
            request_error(request, MCP_NOT_INITIALIZED, "the server is not initialized: send initialize first");
        else
            request_error(request, JSONRPC_METHOD_NOT_FOUND, "method \"%s\" not found", method);
        return;
    }
    entry->handle(request, params);
}
