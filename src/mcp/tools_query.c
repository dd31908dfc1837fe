/* The SQL tools: query (guard, run, render), check_sql (the guard's verdict without running)
 * and explain (EXPLAIN of the checked SQL). A rejection that may come from a stale catalog
 * earns one catalog reload and a second check. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "db/format.h"
#include "util/strings.h"
#include "mcp/fence.h"
#include "mcp/jsonrpc.h"
#include "mcp/tools.h"
#include "mcp/visibility.h"

/* A catalog reload for an unknown name is allowed this often, so a model probing names
 * cannot keep the pool busy reloading. */
#define CATALOG_REFRESH_MIN_AGE_MS 5000

static void query_guard(mcp_request *request);
static void explain_guard(mcp_request *request);

/* A rejection for a name the catalog may just not know yet earns one reload and retry. */
static bool catalog_may_be_stale(const mcp_request *request) {
    guard_reason code = request->verdict.code;
    return !request->catalog_refreshed &&
           (code == GUARD_FUNCTION_UNKNOWN || code == GUARD_OPERATOR_NOT_ALLOWED || code == GUARD_TYPE_NOT_ALLOWED ||
            code == GUARD_RELATION_NOT_ALLOWED) &&
           db_pool_state_now(request_pool(request)) == DB_POOL_READY;
}

/* The text of a rejection for the model: reason, message, detail, hint, position (caller
 * frees; NULL when memory runs out). */
static char *rejection_text(const guard_result *verdict) {
    strbuf text = {0};
    strbuf_printf(&text, "rejected (%s): %s", guard_reason_name(verdict->code),
                  verdict->message ? verdict->message : "the query is not allowed");
    if (verdict->detail)
        strbuf_printf(&text, "\ndetail: %s", verdict->detail);
    if (verdict->hint)
        strbuf_printf(&text, "\nhint: %s", verdict->hint);
    if (verdict->cursor_position > 0)
        strbuf_printf(&text, "\nposition: %d", verdict->cursor_position);
    return strbuf_take(&text);
}

/* Guards the request's sql into request->verdict. Returns true when allowed; otherwise the
 * request was answered, or waits for a catalog reload and comes back through after_barrier. */
static bool guard_sql(mcp_request *request, long long max_rows, mcp_resume_step resume) {
    const mcp_config *config = request_config(request);
    const char *sql = tools_string_argument(request, "sql");
    guard_policy policy = config->policy;
    policy.catalog = db_pool_catalog(request_pool(request));
    policy.server_version = guard_server_major(db_pool_posture(request_pool(request))->server_version);
    policy.max_rows = max_rows;
    guard_result_free(&request->verdict);
    request->verdict = guard_check_bytes(
        sql, (size_t)json_object_get_string_len(json_object_object_get(request->arguments, "sql")), &policy);
    if (request->audit.sql == NULL)
        request->audit.sql = mcp_must(strdup(sql), "the audit copy of the SQL");
    if (request->verdict.allowed) {
        request->audit.verdict = "allowed";
        return true;
    }
    if (catalog_may_be_stale(request) && db_pool_refresh_catalog(request_pool(request), CATALOG_REFRESH_MIN_AGE_MS)) {
        request->catalog_refreshed = true;
        tools_run_barrier(request, resume);
        return false;
    }
    request->audit.verdict = "rejected";
    request->audit.reason = guard_reason_name(request->verdict.code);
    char *text = rejection_text(&request->verdict);
    request_tool_error(request, text); /* NULL: out of memory, answered as such */
    free(text);
    return false;
}

/* ---- query ---- */

/* The row limit of this call: the server's, or the smaller one the model asked for. */
static long long request_row_limit(const mcp_request *request) {
    long long max_rows = request_config(request)->policy.max_rows;
    json_object *limit = json_object_object_get(request->arguments, "limit");
    if (limit && json_object_get_int64(limit) >= 1 && json_object_get_int64(limit) < max_rows)
        return json_object_get_int64(limit);
    return max_rows;
}

/* Appends the rows' text to text, fenced unless no_fence. *have_rows is false when memory
 * ran out rendering them; returns false when they could not be fenced (then they must not
 * be sent). */
static bool append_rows(strbuf *text, const db_result *result, bool no_fence, bool *have_rows) {
    char *rows = format_rows_text(result);
    bool fenced = true;
    *have_rows = rows != NULL;
    if (rows && no_fence)
        strbuf_puts(text, rows);
    else if (rows)
        fenced = fence_append(text, rows, strlen(rows));
    free(rows);
    return fenced;
}

/* query's continuation: rows, columns and truncation as structuredContent, and a text
 * rendering that says what was cut and why. Frees result; answers the request. */
static void query_done(mcp_request *request, db_result *result) {
    if (result->status != DB_OK) {
        tools_fail_with_result(request, result);
        db_result_free(result);
        return;
    }
    const guard_result *verdict = &request->verdict;
    const mcp_config *config = request_config(request);
    /* What the model sees as its limit: a LIMIT it wrote and we kept, else the row limit
     * (the SQL asks for one row more, to tell a full result from a truncated one). */
    long long limit = verdict->limit_action == GUARD_LIMIT_KEPT ? verdict->applied_limit : request_row_limit(request);
    /* Rendering is sized by the result: out of memory here answers the call (a NULL would
     * read as a JSON null, i.e. as SQL NULLs). */
    json_object *columns = format_columns_json(result);
    json_object *rows_json = format_rows_json(result);
    if (columns == NULL || rows_json == NULL) {
        json_object_put(columns);
        json_object_put(rows_json);
        db_result_free(result);
        request_tool_error(request, "out of memory while rendering the result; ask for fewer rows or columns");
        return;
    }
    json_object *structured = mcp_json_object();
    mcp_json_add(structured, "columns", columns);
    mcp_json_add(structured, "rows", rows_json);
    mcp_json_add(structured, "row_count", mcp_json_int64((int64_t)result->row_count));
    mcp_json_add(structured, "truncated", mcp_json_bool(result->truncated != DB_COMPLETE));
    json_object *truncation = NULL;
    long long row_limit = request_row_limit(request);
    if (result->truncated == DB_ROW_LIMIT) {
        truncation = mcp_json_object();
        mcp_json_add(truncation, "reason", mcp_json_string("row_limit"));
        mcp_json_add(truncation, "limit", mcp_json_int64(row_limit));
    } else if (result->truncated == DB_BYTE_BUDGET) {
        truncation = mcp_json_object();
        mcp_json_add(truncation, "reason", mcp_json_string("byte_budget"));
        mcp_json_add(truncation, "max_result_bytes", mcp_json_int64((int64_t)config->db.max_result_bytes));
    }
    mcp_json_add(structured, "truncation", truncation);
    mcp_json_add(structured, "cells_cut", mcp_json_int64((int64_t)result->cells_cut));
    mcp_json_add(structured, "applied_limit", mcp_json_int64(limit));
    mcp_json_add(structured, "limit_action", mcp_json_string(guard_limit_action_name(verdict->limit_action)));
    mcp_json_add(structured, "executed_sql", mcp_json_string(verdict->rewritten_sql));
    double elapsed = ((long long)(result->elapsed_ms * 1000.0)) / 1000.0;
    mcp_json_add(structured, "elapsed_ms", mcp_json_double(elapsed));

    strbuf text = {0};
    strbuf_printf(&text, "%zu row%s · limit %lld · %.1f ms\n", result->row_count, result->row_count == 1 ? "" : "s",
                  row_limit, result->elapsed_ms);
    bool have_rows = true; /* out of memory: no answer without its rows (request_tool_result says so) */
    if (!append_rows(&text, result, config->no_fence, &have_rows)) {
        strbuf_free(&text);
        json_object_put(structured);
        db_result_free(result);
        request_tool_error(request, "the rows could not be fenced as untrusted data (no random source); not sent");
        return;
    }
    if (result->truncated == DB_ROW_LIMIT)
        strbuf_printf(&text,
                      "truncated: more than %lld rows; only the first %lld are shown. Aggregate on the server or "
                      "narrow the WHERE clause.\n",
                      row_limit, row_limit);
    else if (result->truncated == DB_BYTE_BUDGET)
        strbuf_printf(&text,
                      "truncated: the result passed the %zu-byte budget after %zu rows; select fewer or shorter "
                      "columns, or aggregate.\n",
                      config->db.max_result_bytes, result->row_count);
    if (result->cells_cut)
        strbuf_printf(&text, "%zu value%s cut at %zu bytes (marked …).\n", result->cells_cut,
                      result->cells_cut == 1 ? " was" : "s were", config->db.max_cell_bytes);
    char *rendered = have_rows ? strbuf_take(&text) : NULL;
    strbuf_free(&text);
    request->audit.rows = (long long)result->row_count;
    request->audit.bytes = (long long)result->bytes;
    db_result_free(result);
    request_tool_result(request, structured, rendered);
    free(rendered);
}

/* query once the pool is ready: checks limit, guards the SQL and runs the rewritten
 * statement (query_done answers). Answers the request itself on a rejection. */
static void query_guard(mcp_request *request) {
    json_object *limit = json_object_object_get(request->arguments, "limit");
    if (limit && json_object_get_int64(limit) < 1) {
        request_tool_error(request, "argument \"limit\" of query must be at least 1");
        return;
    }
    long long max_rows = request_row_limit(request);
    if (!guard_sql(request, max_rows, query_guard))
        return;
    db_request call = {
        .sql = request->verdict.rewritten_sql, .row_limit = max_rows, .bound_rows = true, .check_cost = true};
    request_run(request, &call, query_done);
}

void tools_query_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    tools_when_ready(request, query_guard);
}

/* ---- check_sql ---- */

static void check_sql_verdict(mcp_request *request);

/* While the first connection is being made the catalog is moments away: wait for it, so a
 * user function is not called unknown; a database that is down is not waited for. */
void tools_check_sql_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    if (db_pool_state_now(request_pool(request)) == DB_POOL_CONNECTING)
        tools_when_ready(request, check_sql_verdict);
    else
        check_sql_verdict(request);
}

/* The guard's verdict with the live catalog when the pool is ready, else the built-ins;
 * answers the request. */
static void check_sql_verdict(mcp_request *request) {
    const mcp_config *config = request_config(request);
    const char *sql = tools_string_argument(request, "sql");
    guard_policy policy = config->policy;
    bool live = db_pool_state_now(request_pool(request)) == DB_POOL_READY;
    if (live) {
        policy.catalog = db_pool_catalog(request_pool(request));
        policy.server_version = guard_server_major(db_pool_posture(request_pool(request))->server_version);
    }
    guard_result verdict = guard_check_bytes(
        sql, (size_t)json_object_get_string_len(json_object_object_get(request->arguments, "sql")), &policy);
    request->audit.sql = mcp_must(strdup(sql), "the audit copy of the SQL");
    request->audit.verdict = verdict.allowed ? "allowed" : "rejected";
    request->audit.reason = verdict.allowed ? NULL : guard_reason_name(verdict.code);
    json_object *structured = mcp_json_object();
    mcp_json_add(structured, "allowed", mcp_json_bool(verdict.allowed));
    mcp_json_add(structured, "reason", mcp_json_string(guard_reason_name(verdict.code)));
    mcp_json_add(structured, "message", verdict.message ? mcp_json_string(verdict.message) : NULL);
    mcp_json_add(structured, "detail", verdict.detail ? mcp_json_string(verdict.detail) : NULL);
    mcp_json_add(structured, "hint", verdict.hint ? mcp_json_string(verdict.hint) : NULL);
    mcp_json_add(structured, "position", verdict.cursor_position > 0 ? mcp_json_int64(verdict.cursor_position) : NULL);
    mcp_json_add(structured, "rewritten_sql", verdict.rewritten_sql ? mcp_json_string(verdict.rewritten_sql) : NULL);
    /* As query reports it: a LIMIT the model wrote and we kept, else the row limit. */
    long long limit = verdict.limit_action == GUARD_LIMIT_KEPT ? verdict.applied_limit : policy.max_rows;
    mcp_json_add(structured, "applied_limit", verdict.allowed ? mcp_json_int64(limit) : NULL);
    mcp_json_add(structured, "limit_action",
                 verdict.allowed ? mcp_json_string(guard_limit_action_name(verdict.limit_action)) : NULL);
    mcp_json_add(structured, "catalog", mcp_json_string(live ? "live" : "built-ins only"));
    char *text;
    if (verdict.allowed)
        text =
            str_printf("allowed (limit %s): %s", guard_limit_action_name(verdict.limit_action), verdict.rewritten_sql);
    else
        text = rejection_text(&verdict);
    if (text && !live) {
        char *noted = str_printf("%s\nnote: the database is not connected, so only PostgreSQL's built-in functions "
                                 "were known",
                                 text);
        free(text);
        text = noted;
    }
    guard_result_free(&verdict);
    request_tool_result(request, structured, text);
    free(text);
}

/* ---- explain ---- */

/* Appends one plan node (borrowed) and its children, indented by depth, to text; stops
 * at depth 64. */
static void append_plan_text(strbuf *text, json_object *plan, int depth) {
    if (!json_object_is_type(plan, json_type_object) || depth > 64)
        return;
    strbuf_printf(text, "%*s%s", depth * 2, "",
                  json_string_member(plan, "Node Type") ? json_string_member(plan, "Node Type") : "?");
    const char *relation = json_string_member(plan, "Relation Name");
    if (relation)
        strbuf_printf(text, " on %s", relation);
    const char *index = json_string_member(plan, "Index Name");
    if (index)
        strbuf_printf(text, " using %s", index);
    json_object *value;
    if (json_object_object_get_ex(plan, "Total Cost", &value))
        strbuf_printf(text, " cost=%s", json_object_get_string(value));
    if (json_object_object_get_ex(plan, "Plan Rows", &value))
        strbuf_printf(text, " rows=%s", json_object_get_string(value));
    if (json_object_object_get_ex(plan, "Actual Total Time", &value))
        strbuf_printf(text, " actual_ms=%s", json_object_get_string(value));
    if (json_object_object_get_ex(plan, "Actual Rows", &value))
        strbuf_printf(text, " actual_rows=%s", json_object_get_string(value));
    static const char *const conditions[] = {"Filter", "Index Cond", "Hash Cond", "Join Filter", "Merge Cond"};
    for (size_t i = 0; i < sizeof conditions / sizeof *conditions; i++) {
        const char *condition = json_string_member(plan, conditions[i]);
        if (condition)
            strbuf_printf(text, " %s: %s", conditions[i], condition);
    }
    strbuf_puts(text, "\n");
    json_object *children;
    if (json_object_object_get_ex(plan, "Plans", &children) && json_object_is_type(children, json_type_array))
        for (size_t i = 0; i < json_object_array_length(children); i++)
            append_plan_text(text, json_object_array_get_idx(children, i), depth + 1);
}

/* True when every relation plan (borrowed) or a node below it scans is one the table
 * allow-list shows. A view counts as what it is named, but its plan names the relations it
 * reads: those must not reach the model either. The plan is VERBOSE under an allow-list,
 * so each scan carries its schema; a scan without one fails closed. */
static bool plan_relations_visible(const guard_policy *policy, json_object *plan, int depth) {
    if (!json_object_is_type(plan, json_type_object) || depth > 64)
        return false;
    const char *relation = json_string_member(plan, "Relation Name");
    if (relation != NULL && !visibility_relation(policy, json_string_member(plan, "Schema"), relation))
        return false;
    json_object *children;
    if (json_object_object_get_ex(plan, "Plans", &children) && json_object_is_type(children, json_type_array))
        for (size_t i = 0; i < json_object_array_length(children); i++)
            if (!plan_relations_visible(policy, json_object_array_get_idx(children, i), depth + 1))
                return false;
    return true;
}

/* explain's continuation: the plan JSON and its indented text. Frees result; answers. */
static void explain_done(mcp_request *request, db_result *result) {
    if (result->status != DB_OK) {
        tools_fail_with_result(request, result);
        db_result_free(result);
        return;
    }
    json_object *plan = NULL;
    if (result->row_count == 1 && result->column_count == 1 && result->truncated == DB_COMPLETE &&
        result->cells_cut == 0)
        plan = format_cell_json(&result->columns[0], db_result_cell(result, 0, 0));
    db_result_free(result);
    if (plan == NULL || !json_object_is_type(plan, json_type_array)) {
        json_object_put(plan);
        request_tool_error(request, "the plan was too large to return; explain a smaller part of the query");
        return;
    }
    strbuf text = {0}, nodes = {0};
    strbuf_printf(&text, "plan%s for: %s\n", request->analyze ? " (analyzed)" : "", request->verdict.rewritten_sql);
    json_object *top = json_object_array_get_idx(plan, 0);
    json_object *root = NULL;
    if (top == NULL || !json_object_object_get_ex(top, "Plan", &root) ||
        (request_config(request)->policy.table_patterns != NULL &&
         !plan_relations_visible(&request_config(request)->policy, root, 0))) {
        strbuf_free(&text);
        json_object_put(plan);
        request_tool_error(request, "the plan is not shown: it reads relations outside the tables this server allows "
                                    "(a view's definition reads them); the query tool runs the query itself");
        return;
    }
    append_plan_text(&nodes, root, 0);
    /* Plan nodes name relations and show conditions from views: database content. */
    char *node_text = strbuf_take(&nodes);
    char *fenced = node_text ? tools_fenced(request, node_text) : NULL;
    free(node_text);
    if (fenced == NULL) {
        strbuf_free(&text);
        json_object_put(plan);
        request_tool_error(request, "the plan could not be fenced as untrusted data; not sent");
        return;
    }
    strbuf_puts(&text, fenced);
    free(fenced);
    json_object *structured = mcp_json_object();
    mcp_json_add(structured, "plan", plan);
    mcp_json_add(structured, "executed_sql", mcp_json_string(request->verdict.rewritten_sql));
    mcp_json_add(structured, "analyze", mcp_json_bool(request->analyze));
    char *rendered = strbuf_take(&text);
    request_tool_result(request, structured, rendered);
    free(rendered);
}

/* explain once the pool is ready: guards the SQL and runs EXPLAIN of the rewritten
 * statement (explain_done answers). Answers the request itself on a rejection. */
static void explain_guard(mcp_request *request) {
    if (!guard_sql(request, request_config(request)->policy.max_rows, explain_guard))
        return;
    char *sql = str_printf("EXPLAIN (%s%sFORMAT JSON) %s", request->analyze ? "ANALYZE, " : "",
                           request_config(request)->policy.table_patterns != NULL ? "VERBOSE, " : "",
                           request->verdict.rewritten_sql);
    if (sql == NULL) {
        request_error(request, JSONRPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    /* EXPLAIN ANALYZE runs the statement: the cost guard judges it first, as for query. A
     * plain EXPLAIN only plans, which is what the cost guard would do itself. */
    db_request call = {.sql = sql,
                       .row_limit = 1,
                       .max_result_bytes = INTROSPECTION_BYTES,
                       .max_cell_bytes = INTROSPECTION_BYTES,
                       .check_cost = request->analyze,
                       .cost_sql = request->verdict.rewritten_sql};
    request_run(request, &call, explain_done);
    free(sql);
}

void tools_explain_start(mcp_request *request, json_object *arguments) {
    json_object *analyze = json_object_object_get(arguments, "analyze");
    request->analyze = analyze && json_object_get_boolean(analyze);
    if (request->analyze && !request_config(request)->explain_analyze) {
        request_tool_error(request, "explain with analyze is disabled on this server (it runs the query); "
                                    "call explain without analyze, or ask the operator to start pgsafe with "
                                    "--explain-analyze");
        return;
    }
    tools_when_ready(request, explain_guard);
}
