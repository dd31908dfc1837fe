/* The method table: which handler answers which JSON-RPC method, and what each needs
 * before it runs (an initialized session, params). Every transport's requests come through
 * dispatch_request; a new method is one row here. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/dispatch.h"
#include "mcp/internal.h"
#include "mcp/jsonrpc.h"

typedef struct method_entry {
    const char *name;          /* sorted by strcmp: the table is searched with bsearch */
    mcp_method_handler handle; /* answers the request in every case */
    bool before_initialize;    /* allowed before the initialize handshake */
} method_entry;

static const method_entry methods[] = {
    {"initialize", lifecycle_initialize, true},
    {"logging/setLevel", lifecycle_set_level, false},
    {"ping", lifecycle_ping, true},
    {"prompts/get", prompts_get, false},
    {"prompts/list", prompts_list, false},
    {"resources/list", resources_list, false},
    {"resources/read", resources_read, false},
    {"resources/templates/list", resources_templates_list, false},
    {"tools/call", tools_call, false},
    {"tools/list", tools_list, false},
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

/* The protocol version this request is answered under: the session's negotiated one. This
 * is where a stateless protocol that names its version per request (in params._meta) will
 * choose it, so handlers already read request->protocol_version, never the session's. */
static const char *request_protocol_version(const mcp_session *session, json_object *params) {
    (void)params;
    return session->protocol_version;
}

bool dispatch_method_exists(const char *name) {
    return find_method(name) != NULL;
}

void dispatch_request(mcp_session *session, json_object *id, const char *method, json_object *params) {
    mcp_request *request = request_new(session, id, method);
    request->protocol_version = request_protocol_version(session, params);
    if (params != NULL && !json_object_is_type(params, json_type_object)) {
        request_error(request, JSONRPC_INVALID_PARAMS, "params must be an object");
        return;
    }
    const method_entry *entry = find_method(method);
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
