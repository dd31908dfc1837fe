/* What the tools share: their string arguments, the text of a failed database call, and
 * waiting for the pool to be ready before a step that needs the live catalog. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"
#include "mcp/fence.h"
#include "mcp/jsonrpc.h"
#include "mcp/tools.h"

const char *tools_string_argument(const mcp_request *request, const char *name) {
    return json_string_member(request->arguments, name);
}

/* The text of a failed call for the model: what happened and what to do (caller frees;
 * NULL when memory runs out). */
static char *database_failure_text(const mcp_request *request, const db_result *result) {
    strbuf text = {0};
    /* With several databases, a failure of the database itself says which one. */
    const char *which = request_database_count(request) > 1 ? request_database_name(request) : NULL;
    /* 57P: the server or an administrator ended the session (terminate, shutdown, crash). */
    bool session_ended = result->sqlstate && strncmp(result->sqlstate, "57P", 3) == 0;
    /* 08: the connection failed (a pooler in front refusing its server's login, say). */
    bool connection_failed = result->sqlstate && strncmp(result->sqlstate, "08", 2) == 0;
    if (which && (result->status != DB_SQL_ERROR || session_ended || connection_failed) && result->status != DB_REFUSED)
        strbuf_printf(&text, "database \"%s\": ", which);
    if (result->status == DB_SQL_ERROR && session_ended) {
        strbuf_printf(&text, "the database ended the session while the query ran: %s (SQLSTATE %s)",
                      result->message ? result->message : "error", result->sqlstate);
        strbuf_puts(&text, "\nhint: this was not caused by the query; pgsafe reconnects, so the call can be retried");
    } else if (result->status == DB_SQL_ERROR && connection_failed) {
        strbuf_printf(&text, "the connection to the database failed: %s (SQLSTATE %s)",
                      result->message ? result->message : "error", result->sqlstate);
        strbuf_puts(&text, "\nhint: this was not caused by the query; retry the call in a few seconds");
    } else if (result->status == DB_SQL_ERROR) {
        strbuf_printf(&text, "the database rejected the query: %s", result->message ? result->message : "error");
        if (result->sqlstate)
            strbuf_printf(&text, " (SQLSTATE %s)", result->sqlstate);
        if (result->detail)
            strbuf_printf(&text, "\ndetail: %s", result->detail);
        if (result->sqlstate && strcmp(result->sqlstate, "57014") == 0)
            strbuf_printf(&text,
                          "\nhint: the query ran past the %d ms statement timeout; aggregate, filter or bound it so "
                          "it does less work",
                          request_config(request)->db.statement_timeout_ms);
        else if (result->hint)
            strbuf_printf(&text, "\nhint: %s", result->hint);
        if (request->verdict.rewritten_sql)
            strbuf_printf(&text, "\nexecuted: %s", request->verdict.rewritten_sql);
    } else if (result->status == DB_REFUSED) {
        /* The cost guard: a rejection like the guard's, with the planner's estimate. */
        strbuf_printf(&text, "rejected (too_costly): %s", result->message ? result->message : "over the cost limits");
        if (result->detail)
            strbuf_printf(&text, "\ndetail: %s", result->detail);
        if (result->hint)
            strbuf_printf(&text, "\nhint: %s", result->hint);
    } else if (result->status == DB_SHUTDOWN) {
        strbuf_puts(&text, "the server is shutting down; the query did not finish");
    } else {
        strbuf_puts(&text, result->message ? result->message : "the database is unavailable");
    }
    return strbuf_take(&text);
}

char *tools_fenced(const mcp_request *request, const char *text) {
    return fence_text(text, !request_config(request)->no_fence);
}

void tools_fail_with_result(mcp_request *request, const db_result *result) {
    char *text = database_failure_text(request, result);
    if (text != NULL && result->status == DB_SQL_ERROR) {
        /* The server's message may quote values of the data (invalid input, constraint details). */
        char *fenced = tools_fenced(request, text);
        free(text);
        text = fenced;
    }
    request->audit.verdict = result->status == DB_REFUSED ? "rejected" : "error";
    request->audit.reason = result->status == DB_REFUSED           ? "too_costly"
                            : result->sqlstate                     ? "database_error"
                            : result->status == DB_UNAVAILABLE     ? "unavailable"
                            : result->status == DB_CONNECTION_LOST ? "connection_lost"
                            : result->status == DB_BUSY            ? "busy"
                                                                   : "shutdown";
    request_tool_error(request, text); /* NULL: out of memory, answered as such */
    free(text);
}

/* The barrier call's continuation: runs the step saved in request->resume, or answers with
 * why the pool could not get ready. Frees result. */
static void after_barrier(mcp_request *request, db_result *result) {
    mcp_resume_step step = request->resume;
    assert(step != NULL);
    request->resume = NULL;
    if (result->status != DB_OK) {
        tools_fail_with_result(request, result);
        db_result_free(result);
        return;
    }
    db_result_free(result);
    step(request);
}

void tools_run_barrier(mcp_request *request, mcp_resume_step step) {
    request->resume = step;
    db_request barrier = {.sql = NULL, .row_limit = -1};
    request_run(request, &barrier, after_barrier);
}

void tools_when_ready(mcp_request *request, mcp_resume_step step) {
    if (db_pool_state_now(request_pool(request)) == DB_POOL_READY) {
        step(request);
        return;
    }
    tools_run_barrier(request, step);
}
