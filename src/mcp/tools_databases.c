/* list_databases: the databases of a server with several (--database), each with its state,
 * version and role as its pool knows them now. It asks no database anything, so one that is
 * down answers as such at once. */
#include <stdlib.h>

#include "util/strings.h"
#include "mcp/tools.h"

/* A pool's state as the tool names it. */
static const char *status_word(db_pool *pool) {
    switch (db_pool_state_now(pool)) {
    case DB_POOL_READY: return "ready";
    case DB_POOL_CONNECTING: return "connecting";
    default: return "unavailable";
    }
}

static json_object *nullable_string(const char *text) {
    return text ? mcp_json_string(text) : NULL;
}

void tools_list_databases_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    json_object *list = mcp_json_array();
    strbuf text = {0};
    for (size_t i = 0; i < request_database_count(request); i++) {
        db_pool *pool = request_database_pool(request, i);
        const db_posture *posture = db_pool_posture(pool);
        const char *name = request_database_name_at(request, i), *status = status_word(pool);
        const char *error = db_pool_state_now(pool) == DB_POOL_READY ? NULL : db_pool_last_error(pool);
        json_object *entry = mcp_json_object();
        mcp_json_add(entry, "name", mcp_json_string(name));
        mcp_json_add(entry, "status", mcp_json_string(status));
        mcp_json_add(entry, "server_version", nullable_string(posture->known ? posture->server_version : NULL));
        mcp_json_add(entry, "role", nullable_string(posture->known ? posture->role : NULL));
        mcp_json_add(entry, "can_write", posture->known ? mcp_json_bool(posture->can_write) : NULL);
        mcp_json_add(entry, "error", nullable_string(error));
        mcp_json_append(list, entry);
        strbuf_printf(&text, "%s: %s", name, status);
        if (posture->known)
            strbuf_printf(&text, ", PostgreSQL %s, role %s%s", posture->server_version ? posture->server_version : "?",
                          posture->role ? posture->role : "?", posture->can_write ? " (can write)" : "");
        if (error)
            strbuf_printf(&text, " (%s)", error);
        strbuf_puts(&text, "\n");
    }
    json_object *structured = mcp_json_object();
    mcp_json_add(structured, "databases", list);
    char *rendered = strbuf_take(&text);
    request->audit.verdict = "allowed";
    request_tool_result(request, structured, rendered);
    free(rendered);
}
