/* The tools: query, check_sql, explain, list_schemas, list_tables, describe_table. Each
 * validates its arguments, runs at most a few database calls through the pool, and answers
 * with structuredContent plus a compact text rendering. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "db/format.h"
#include "db/introspect.h"
#include "util/strings.h"
#include "mcp/internal.h"
#include "mcp/jsonrpc.h"

/* A catalog reload for an unknown name is allowed this often, so a model probing names
 * cannot keep the pool busy reloading. */
#define CATALOG_REFRESH_MIN_AGE_MS 5000

typedef enum argument_type { ARGUMENT_STRING, ARGUMENT_INTEGER, ARGUMENT_BOOLEAN } argument_type;

typedef struct argument_spec {
    const char *name;
    argument_type type;
    bool required;
} argument_spec;

typedef struct tool_spec {
    const char *name;
    const char *title;
    const char *description;
    const char *input_schema;  /* JSON */
    const char *output_schema; /* JSON */
    const argument_spec *arguments;
    void (*start)(mcp_request *request, json_object *arguments);
} tool_spec;

static void query_start(mcp_request *request, json_object *arguments);
static void check_sql_start(mcp_request *request, json_object *arguments);
static void explain_start(mcp_request *request, json_object *arguments);
static void list_schemas_start(mcp_request *request, json_object *arguments);
static void list_tables_start(mcp_request *request, json_object *arguments);
static void describe_table_start(mcp_request *request, json_object *arguments);

static const argument_spec query_arguments[] = {
    {"sql", ARGUMENT_STRING, true}, {"limit", ARGUMENT_INTEGER, false}, {NULL, 0, false}};
static const argument_spec sql_arguments[] = {{"sql", ARGUMENT_STRING, true}, {NULL, 0, false}};
static const argument_spec explain_arguments[] = {
    {"sql", ARGUMENT_STRING, true}, {"analyze", ARGUMENT_BOOLEAN, false}, {NULL, 0, false}};
static const argument_spec no_arguments[] = {{NULL, 0, false}};
static const argument_spec list_tables_arguments[] = {{"schema", ARGUMENT_STRING, false}, {NULL, 0, false}};
static const argument_spec describe_arguments[] = {
    {"table", ARGUMENT_STRING, true}, {"schema", ARGUMENT_STRING, false}, {NULL, 0, false}};

#define NULLABLE(type) "{\"type\":[\"" type "\",\"null\"]}"

static const tool_spec tools[] = {
    {"query", "Run a read-only query",
     "Run one read-only SELECT and get its rows. The query passes a guard first: one SELECT only, no writes, "
     "no locking, no volatile or administrative functions. A LIMIT is added or lowered to the row limit; when "
     "more rows exist the result says truncated. Aggregate on the server and select only needed columns.",
     "{\"type\":\"object\",\"properties\":{"
     "\"sql\":{\"type\":\"string\",\"description\":\"one SELECT statement\"},"
     "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"at most this many rows (capped by the "
     "server's row limit)\"}},\"required\":[\"sql\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{"
     "\"columns\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
     "\"type\":{\"type\":\"string\"}},\"required\":[\"name\",\"type\"]}},"
     "\"rows\":{\"type\":\"array\",\"items\":{\"type\":\"array\"}},"
     "\"row_count\":{\"type\":\"integer\"},\"truncated\":{\"type\":\"boolean\"},"
     "\"truncation\":{\"type\":[\"object\",\"null\"]},\"cells_cut\":{\"type\":\"integer\"},"
     "\"applied_limit\":{\"type\":\"integer\"},\"limit_action\":{\"type\":\"string\"},"
     "\"executed_sql\":{\"type\":\"string\"},\"elapsed_ms\":{\"type\":\"number\"}},"
     "\"required\":[\"columns\",\"rows\",\"row_count\",\"truncated\",\"applied_limit\",\"executed_sql\","
     "\"elapsed_ms\"]}",
     query_arguments, query_start},
    {"check_sql", "Check a query without running it",
     "Ask the guard whether a query would be allowed, and see the SQL it would run (with its LIMIT), without "
     "executing anything. A rejection names the reason and what to change.",
     "{\"type\":\"object\",\"properties\":{\"sql\":{\"type\":\"string\",\"description\":\"the query to check\"}},"
     "\"required\":[\"sql\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"allowed\":{\"type\":\"boolean\"},\"reason\":{\"type\":\"string\"},"
     "\"message\":" NULLABLE("string") ",\"detail\":" NULLABLE("string") ",\"hint\":" NULLABLE(
         "string") ","
                   "\"position\":" NULLABLE("integer") ",\"rewritten_sql\":" NULLABLE(
                       "string") ","
                                 "\"applied_limit\":" NULLABLE("integer") ",\"limit_action\":" NULLABLE(
                                     "string") ","
                                               "\"catalog\":{\"type\":\"string\"}},\"required\":[\"allowed\","
                                               "\"reason\"]}",
     sql_arguments, check_sql_start},
    {"explain", "Show a query's plan",
     "EXPLAIN (FORMAT JSON) of a query that passes the guard. analyze: true also runs it (inside a read-only, "
     "rolled-back, time-limited transaction) when the server allows it.",
     "{\"type\":\"object\",\"properties\":{\"sql\":{\"type\":\"string\",\"description\":\"one SELECT statement\"},"
     "\"analyze\":{\"type\":\"boolean\",\"description\":\"run it and report actual times (if enabled)\"}},"
     "\"required\":[\"sql\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"plan\":{},\"executed_sql\":{\"type\":\"string\"},"
     "\"analyze\":{\"type\":\"boolean\"}},\"required\":[\"plan\",\"executed_sql\",\"analyze\"]}",
     explain_arguments, explain_start},
    {"list_schemas", "List schemas", "The schemas you can see, with owners, comments and table counts.",
     "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"schemas\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}},"
     "\"required\":[\"schemas\"]}",
     no_arguments, list_schemas_start},
    {"list_tables", "List tables",
     "Tables, views and materialized views you can read, with kind, estimated row count and comment. Partitions "
     "are hidden behind their parent.",
     "{\"type\":\"object\",\"properties\":{\"schema\":{\"type\":\"string\",\"description\":\"only this "
     "schema\"}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"tables\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}},"
     "\"required\":[\"tables\"]}",
     list_tables_arguments, list_tables_start},
    {"describe_table", "Describe a table",
     "Columns (type, nullability, default, comment), primary key, foreign keys in both directions and indexes "
     "of one table or view.",
     "{\"type\":\"object\",\"properties\":{\"table\":{\"type\":\"string\",\"description\":\"table name, or "
     "schema.table\"},\"schema\":{\"type\":\"string\"}},\"required\":[\"table\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"schema\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
     "\"kind\":{\"type\":\"string\"},\"columns\":{\"type\":\"array\"},\"primary_key\":{\"type\":[\"array\",\"null\"]},"
     "\"foreign_keys\":{\"type\":\"array\"},\"referenced_by\":{\"type\":\"array\"},\"indexes\":{\"type\":\"array\"}},"
     "\"required\":[\"schema\",\"name\",\"kind\",\"columns\"]}",
     describe_arguments, describe_table_start},
};

#define TOOL_COUNT (sizeof tools / sizeof *tools)

static const tool_spec *find_tool(const char *name) {
    for (size_t i = 0; i < TOOL_COUNT; i++)
        if (strcmp(tools[i].name, name) == 0)
            return &tools[i];
    return NULL;
}

bool tools_exists(const char *name) {
    return find_tool(name) != NULL;
}

json_object *tools_list(const mcp_server *server) {
    (void)server;
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < TOOL_COUNT; i++) {
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "name", json_object_new_string(tools[i].name));
        json_object_object_add(entry, "title", json_object_new_string(tools[i].title));
        json_object_object_add(entry, "description", json_object_new_string(tools[i].description));
        json_object_object_add(entry, "inputSchema", json_tokener_parse(tools[i].input_schema));
        json_object_object_add(entry, "outputSchema", json_tokener_parse(tools[i].output_schema));
        json_object *annotations = json_object_new_object();
        json_object_object_add(annotations, "title", json_object_new_string(tools[i].title));
        json_object_object_add(annotations, "readOnlyHint", json_object_new_boolean(1));
        json_object_object_add(annotations, "destructiveHint", json_object_new_boolean(0));
        json_object_object_add(annotations, "idempotentHint", json_object_new_boolean(1));
        json_object_object_add(annotations, "openWorldHint", json_object_new_boolean(0));
        json_object_object_add(entry, "annotations", annotations);
        json_object_array_add(list, entry);
    }
    return list;
}

static const char *type_word(argument_type type) {
    return type == ARGUMENT_STRING ? "a string" : type == ARGUMENT_INTEGER ? "an integer" : "a boolean";
}

static bool has_type(json_object *value, argument_type type) {
    switch (type) {
    case ARGUMENT_STRING: return json_object_is_type(value, json_type_string);
    case ARGUMENT_INTEGER: return json_object_is_type(value, json_type_int);
    case ARGUMENT_BOOLEAN: return json_object_is_type(value, json_type_boolean);
    }
    return false;
}

/* NULL when the arguments fit the tool, else what is wrong (caller frees). */
static char *validate(const tool_spec *tool, json_object *arguments) {
    for (const argument_spec *spec = tool->arguments; spec->name; spec++) {
        json_object *value = NULL;
        bool present = arguments && json_object_object_get_ex(arguments, spec->name, &value);
        if (!present && spec->required)
            return str_printf("%s needs the argument \"%s\" (%s)", tool->name, spec->name, type_word(spec->type));
        if (present && !has_type(value, spec->type))
            return str_printf("argument \"%s\" of %s must be %s", spec->name, tool->name, type_word(spec->type));
    }
    if (arguments) {
        json_object_object_foreach(arguments, key, value) {
            (void)value;
            bool known = false;
            for (const argument_spec *spec = tool->arguments; spec->name && !known; spec++)
                known = strcmp(spec->name, key) == 0;
            if (!known) {
                strbuf names = {0};
                for (const argument_spec *spec = tool->arguments; spec->name; spec++)
                    strbuf_printf(&names, "%s%s", names.length ? ", " : "", spec->name);
                char *list = strbuf_take(&names);
                char *message = str_printf("%s has no argument \"%s\"; its arguments are: %s", tool->name, key,
                                           list && *list ? list : "none");
                free(list);
                return message;
            }
        }
    }
    return NULL;
}

void tools_call(mcp_request *request, const char *name, json_object *arguments) {
    const tool_spec *tool = find_tool(name);
    char *problem = validate(tool, arguments);
    if (problem) {
        /* 2025-11-25 (SEP-1303): argument problems go to the model, which can fix them. */
        if (strcmp(request->server->protocol_version, "2025-11-25") == 0)
            request_tool_error(request, problem);
        else
            request_error(request, JSONRPC_INVALID_PARAMS, "%s", problem);
        free(problem);
        return;
    }
    request->arguments = arguments ? json_object_get(arguments) : NULL;
    tool->start(request, arguments);
}

static const char *string_argument(const mcp_request *request, const char *name) {
    return json_string_member(request->arguments, name);
}

/* ---- shared: waiting for the pool, guarding the SQL ---- */

static db_pool *pool_of(const mcp_request *request) {
    return request->server->pool;
}

/* The text of a failed call for the model: what happened and what to do. */
static char *database_failure_text(const mcp_request *request, const db_result *result) {
    strbuf text = {0};
    /* 57P: the server or an administrator ended the session (terminate, shutdown, crash). */
    bool session_ended = result->sqlstate && strncmp(result->sqlstate, "57P", 3) == 0;
    if (result->status == DB_SQL_ERROR && session_ended) {
        strbuf_printf(&text, "the database ended the session while the query ran: %s (SQLSTATE %s)",
                      result->message ? result->message : "error", result->sqlstate);
        strbuf_puts(&text, "\nhint: this was not caused by the query; pgsafe reconnects, so the call can be retried");
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
                          request->server->config->db.statement_timeout_ms);
        else if (result->hint)
            strbuf_printf(&text, "\nhint: %s", result->hint);
        if (request->verdict.rewritten_sql)
            strbuf_printf(&text, "\nexecuted: %s", request->verdict.rewritten_sql);
    } else if (result->status == DB_SHUTDOWN) {
        strbuf_puts(&text, "the server is shutting down; the query did not finish");
    } else {
        strbuf_puts(&text, result->message ? result->message : "the database is unavailable");
    }
    return strbuf_take(&text);
}

static void fail_with_result(mcp_request *request, const db_result *result) {
    char *text = database_failure_text(request, result);
    request->audit.verdict = "error";
    request->audit.reason = result->sqlstate                       ? "database_error"
                            : result->status == DB_UNAVAILABLE     ? "unavailable"
                            : result->status == DB_CONNECTION_LOST ? "connection_lost"
                                                                   : "shutdown";
    request_tool_error(request, text ? text : "the database call failed");
    free(text);
}

/* Runs next once the pool is ready (the catalog loaded): at once if it is, after a barrier
 * call otherwise. A pool that cannot connect answers the request with the reason. */
typedef void (*ready_step)(mcp_request *request);

static void after_barrier(mcp_request *request, db_result *result);

static void query_guard(mcp_request *request);
static void explain_guard(mcp_request *request);

static void when_ready(mcp_request *request, ready_step step) {
    if (db_pool_state_now(pool_of(request)) == DB_POOL_READY) {
        step(request);
        return;
    }
    /* after_barrier picks the step again from the tool's name. */
    db_request barrier = {.sql = NULL, .row_limit = -1};
    request_run(request, &barrier, after_barrier);
}

static void after_barrier(mcp_request *request, db_result *result) {
    if (result->status != DB_OK) {
        fail_with_result(request, result);
        db_result_free(result);
        return;
    }
    db_result_free(result);
    if (strcmp(request->tool, "explain") == 0)
        explain_guard(request);
    else
        query_guard(request);
}

/* A rejection for a name the catalog may just not know yet earns one reload and retry. */
static bool catalog_may_be_stale(const mcp_request *request) {
    guard_reason code = request->verdict.code;
    return !request->catalog_refreshed &&
           (code == GUARD_FUNCTION_UNKNOWN || code == GUARD_OPERATOR_NOT_ALLOWED || code == GUARD_TYPE_NOT_ALLOWED) &&
           db_pool_state_now(pool_of(request)) == DB_POOL_READY;
}

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
static bool guard_sql(mcp_request *request, long long max_rows) {
    const mcp_config *config = request->server->config;
    const char *sql = string_argument(request, "sql");
    guard_policy policy = config->policy;
    policy.catalog = db_pool_catalog(pool_of(request));
    policy.server_version = guard_server_major(db_pool_posture(pool_of(request))->server_version);
    policy.max_rows = max_rows;
    guard_result_free(&request->verdict);
    request->verdict = guard_check_bytes(
        sql, (size_t)json_object_get_string_len(json_object_object_get(request->arguments, "sql")), &policy);
    if (request->audit.sql == NULL)
        request->audit.sql = strdup(sql);
    if (request->verdict.allowed) {
        request->audit.verdict = "allowed";
        return true;
    }
    if (catalog_may_be_stale(request) && db_pool_refresh_catalog(pool_of(request), CATALOG_REFRESH_MIN_AGE_MS)) {
        request->catalog_refreshed = true;
        db_request barrier = {.sql = NULL, .row_limit = -1};
        request_run(request, &barrier, after_barrier);
        return false;
    }
    request->audit.verdict = "rejected";
    request->audit.reason = guard_reason_name(request->verdict.code);
    char *text = rejection_text(&request->verdict);
    request_tool_error(request, text ? text : "rejected");
    free(text);
    return false;
}

/* ---- query ---- */

/* The row limit of this call: the server's, or the smaller one the model asked for. */
static long long request_row_limit(const mcp_request *request) {
    long long max_rows = request->server->config->policy.max_rows;
    json_object *limit = json_object_object_get(request->arguments, "limit");
    if (limit && json_object_get_int64(limit) >= 1 && json_object_get_int64(limit) < max_rows)
        return json_object_get_int64(limit);
    return max_rows;
}

static void query_done(mcp_request *request, db_result *result) {
    if (result->status != DB_OK) {
        fail_with_result(request, result);
        db_result_free(result);
        return;
    }
    const guard_result *verdict = &request->verdict;
    const mcp_config *config = request->server->config;
    /* What the model sees as its limit: a LIMIT it wrote and we kept, else the row limit
     * (the SQL asks for one row more, to tell a full result from a truncated one). */
    long long limit = verdict->limit_action == GUARD_LIMIT_KEPT ? verdict->applied_limit : request_row_limit(request);
    json_object *structured = json_object_new_object();
    json_object_object_add(structured, "columns", format_columns_json(result));
    json_object_object_add(structured, "rows", format_rows_json(result));
    json_object_object_add(structured, "row_count", json_object_new_int64((int64_t)result->row_count));
    json_object_object_add(structured, "truncated", json_object_new_boolean(result->truncated != DB_COMPLETE));
    json_object *truncation = NULL;
    long long row_limit = request_row_limit(request);
    if (result->truncated == DB_ROW_LIMIT) {
        truncation = json_object_new_object();
        json_object_object_add(truncation, "reason", json_object_new_string("row_limit"));
        json_object_object_add(truncation, "limit", json_object_new_int64(row_limit));
    } else if (result->truncated == DB_BYTE_BUDGET) {
        truncation = json_object_new_object();
        json_object_object_add(truncation, "reason", json_object_new_string("byte_budget"));
        json_object_object_add(truncation, "max_result_bytes",
                               json_object_new_int64((int64_t)config->db.max_result_bytes));
    }
    json_object_object_add(structured, "truncation", truncation);
    json_object_object_add(structured, "cells_cut", json_object_new_int64((int64_t)result->cells_cut));
    json_object_object_add(structured, "applied_limit", json_object_new_int64(limit));
    json_object_object_add(structured, "limit_action",
                           json_object_new_string(guard_limit_action_name(verdict->limit_action)));
    json_object_object_add(structured, "executed_sql", json_object_new_string(verdict->rewritten_sql));
    double elapsed = ((long long)(result->elapsed_ms * 1000.0)) / 1000.0;
    json_object_object_add(structured, "elapsed_ms", json_object_new_double(elapsed));

    strbuf text = {0};
    strbuf_printf(&text, "%zu row%s · limit %lld · %.1f ms\n", result->row_count, result->row_count == 1 ? "" : "s",
                  row_limit, result->elapsed_ms);
    char *rows = format_rows_text(result);
    if (rows)
        strbuf_puts(&text, rows);
    free(rows);
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
    char *rendered = strbuf_take(&text);
    request->audit.rows = (long long)result->row_count;
    request->audit.bytes = (long long)result->bytes;
    db_result_free(result);
    request_tool_result(request, structured, rendered ? rendered : "");
    free(rendered);
}

static void query_guard(mcp_request *request) {
    json_object *limit = json_object_object_get(request->arguments, "limit");
    if (limit && json_object_get_int64(limit) < 1) {
        request_tool_error(request, "argument \"limit\" of query must be at least 1");
        return;
    }
    long long max_rows = request_row_limit(request);
    if (!guard_sql(request, max_rows))
        return;
    db_request call = {.sql = request->verdict.rewritten_sql, .row_limit = max_rows};
    request_run(request, &call, query_done);
}

static void query_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    when_ready(request, query_guard);
}

/* ---- check_sql ---- */

static void check_sql_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    const mcp_config *config = request->server->config;
    const char *sql = string_argument(request, "sql");
    guard_policy policy = config->policy;
    bool live = db_pool_state_now(pool_of(request)) == DB_POOL_READY;
    if (live) {
        policy.catalog = db_pool_catalog(pool_of(request));
        policy.server_version = guard_server_major(db_pool_posture(pool_of(request))->server_version);
    }
    guard_result verdict = guard_check_bytes(
        sql, (size_t)json_object_get_string_len(json_object_object_get(request->arguments, "sql")), &policy);
    request->audit.sql = strdup(sql);
    request->audit.verdict = verdict.allowed ? "allowed" : "rejected";
    request->audit.reason = verdict.allowed ? NULL : guard_reason_name(verdict.code);
    json_object *structured = json_object_new_object();
    json_object_object_add(structured, "allowed", json_object_new_boolean(verdict.allowed));
    json_object_object_add(structured, "reason", json_object_new_string(guard_reason_name(verdict.code)));
    json_object_object_add(structured, "message", verdict.message ? json_object_new_string(verdict.message) : NULL);
    json_object_object_add(structured, "detail", verdict.detail ? json_object_new_string(verdict.detail) : NULL);
    json_object_object_add(structured, "hint", verdict.hint ? json_object_new_string(verdict.hint) : NULL);
    json_object_object_add(structured, "position",
                           verdict.cursor_position > 0 ? json_object_new_int(verdict.cursor_position) : NULL);
    json_object_object_add(structured, "rewritten_sql",
                           verdict.rewritten_sql ? json_object_new_string(verdict.rewritten_sql) : NULL);
    /* As query reports it: a LIMIT the model wrote and we kept, else the row limit. */
    long long limit = verdict.limit_action == GUARD_LIMIT_KEPT ? verdict.applied_limit : policy.max_rows;
    json_object_object_add(structured, "applied_limit", verdict.allowed ? json_object_new_int64(limit) : NULL);
    json_object_object_add(structured, "limit_action",
                           verdict.allowed ? json_object_new_string(guard_limit_action_name(verdict.limit_action))
                                           : NULL);
    json_object_object_add(structured, "catalog", json_object_new_string(live ? "live" : "built-ins only"));
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
    request_tool_result(request, structured, text ? text : "");
    free(text);
}

/* ---- explain ---- */

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

static void explain_done(mcp_request *request, db_result *result) {
    if (result->status != DB_OK) {
        fail_with_result(request, result);
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
    strbuf text = {0};
    strbuf_printf(&text, "plan%s for: %s\n", request->analyze ? " (analyzed)" : "", request->verdict.rewritten_sql);
    json_object *top = json_object_array_get_idx(plan, 0);
    json_object *root = NULL;
    if (top && json_object_object_get_ex(top, "Plan", &root))
        append_plan_text(&text, root, 0);
    json_object *structured = json_object_new_object();
    json_object_object_add(structured, "plan", plan);
    json_object_object_add(structured, "executed_sql", json_object_new_string(request->verdict.rewritten_sql));
    json_object_object_add(structured, "analyze", json_object_new_boolean(request->analyze));
    char *rendered = strbuf_take(&text);
    request_tool_result(request, structured, rendered ? rendered : "");
    free(rendered);
}

static void explain_guard(mcp_request *request) {
    if (!guard_sql(request, request->server->config->policy.max_rows))
        return;
    char *sql =
        str_printf("EXPLAIN (%sFORMAT JSON) %s", request->analyze ? "ANALYZE, " : "", request->verdict.rewritten_sql);
    if (sql == NULL) {
        request_error(request, JSONRPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    db_request call = {
        .sql = sql, .row_limit = 1, .max_result_bytes = INTROSPECTION_BYTES, .max_cell_bytes = INTROSPECTION_BYTES};
    request_run(request, &call, explain_done);
    free(sql);
}

static void explain_start(mcp_request *request, json_object *arguments) {
    json_object *analyze = json_object_object_get(arguments, "analyze");
    request->analyze = analyze && json_object_get_boolean(analyze);
    if (request->analyze && !request->server->config->explain_analyze) {
        request_tool_error(request, "explain with analyze is disabled on this server (it runs the query); "
                                    "call explain without analyze, or ask the operator to start pgsafe with "
                                    "--explain-analyze");
        return;
    }
    when_ready(request, explain_guard);
}

/* ---- catalog tools ---- */

/* The JSON text in a result's cell, parsed; NULL (request answered) if it is unusable. */
static json_object *json_cell(mcp_request *request, db_result *result, size_t row, int column) {
    if (result->status != DB_OK) {
        fail_with_result(request, result);
        return NULL;
    }
    if (result->truncated != DB_COMPLETE || result->cells_cut > 0) {
        request_tool_error(request, "the catalog answer was too large; ask for one schema at a time");
        return NULL;
    }
    const db_cell *cell = db_result_cell(result, row, column);
    json_object *value = cell->value ? jsonrpc_parse(cell->value, cell->length) : NULL;
    if (value == NULL)
        request_error(request, JSONRPC_INTERNAL_ERROR, "the catalog answer could not be read");
    return value;
}

static const char *or_dash(const char *text) {
    return text ? text : "-";
}

static void list_schemas_done(mcp_request *request, db_result *result) {
    json_object *structured =
        result->status == DB_OK && result->row_count == 1 ? json_cell(request, result, 0, 0) : NULL;
    if (structured == NULL) {
        if (result->status != DB_OK)
            fail_with_result(request, result);
        else if (result->row_count != 1)
            request_error(request, JSONRPC_INTERNAL_ERROR, "the catalog answer could not be read");
        db_result_free(result);
        return;
    }
    db_result_free(result);
    strbuf text = {0};
    json_object *schemas = json_object_object_get(structured, "schemas");
    strbuf_printf(&text, "%zu schema%s\nname\towner\ttables\tcomment\n", json_object_array_length(schemas),
                  json_object_array_length(schemas) == 1 ? "" : "s");
    for (size_t i = 0; i < json_object_array_length(schemas); i++) {
        json_object *schema = json_object_array_get_idx(schemas, i);
        strbuf_printf(&text, "%s\t%s\t%s\t%s\n", or_dash(json_string_member(schema, "name")),
                      or_dash(json_string_member(schema, "owner")),
                      json_object_get_string(json_object_object_get(schema, "tables")),
                      or_dash(json_string_member(schema, "comment")));
    }
    char *rendered = strbuf_take(&text);
    request_tool_result(request, structured, rendered ? rendered : "");
    free(rendered);
}

static void list_schemas_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    request_introspect(request, introspect_list_schemas_sql, NULL, NULL, 1, list_schemas_done);
}

static void list_tables_done(mcp_request *request, db_result *result) {
    if (result->status != DB_OK || result->row_count != 1) {
        if (result->status != DB_OK)
            fail_with_result(request, result);
        else
            request_error(request, JSONRPC_INTERNAL_ERROR, "the catalog answer could not be read");
        db_result_free(result);
        return;
    }
    const char *found = db_result_cell(result, 0, 0)->value;
    if (found == NULL || strcmp(found, "t") != 0) {
        db_result_free(result);
        char *message = str_printf("schema \"%s\" does not exist or is not visible; list_schemas shows the schemas",
                                   string_argument(request, "schema"));
        request_tool_error(request, message ? message : "schema not found");
        free(message);
        return;
    }
    json_object *structured = json_cell(request, result, 0, 1);
    db_result_free(result);
    if (structured == NULL)
        return;
    json_object *tables = json_object_object_get(structured, "tables");
    strbuf text = {0};
    strbuf_printf(&text, "%zu table%s\nschema\tname\tkind\trows\tcomment\n", json_object_array_length(tables),
                  json_object_array_length(tables) == 1 ? "" : "s");
    for (size_t i = 0; i < json_object_array_length(tables); i++) {
        json_object *table = json_object_array_get_idx(tables, i);
        json_object *rows = json_object_object_get(table, "row_estimate");
        strbuf_printf(&text, "%s\t%s\t%s\t%s\t%s\n", or_dash(json_string_member(table, "schema")),
                      or_dash(json_string_member(table, "name")), or_dash(json_string_member(table, "kind")),
                      rows ? json_object_get_string(rows) : "?", or_dash(json_string_member(table, "comment")));
    }
    char *rendered = strbuf_take(&text);
    request_tool_result(request, structured, rendered ? rendered : "");
    free(rendered);
}

static void list_tables_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    request_introspect(request, introspect_list_tables_sql, string_argument(request, "schema"), NULL, 2,
                       list_tables_done);
}

static void append_names(strbuf *text, json_object *names) {
    for (size_t i = 0; names && i < json_object_array_length(names); i++)
        strbuf_printf(text, "%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(names, i)));
}

char *tools_describe_text(json_object *table) {
    strbuf text = {0};
    json_object *rows = json_object_object_get(table, "row_estimate");
    strbuf_printf(&text, "%s.%s (%s", or_dash(json_string_member(table, "schema")),
                  or_dash(json_string_member(table, "name")), or_dash(json_string_member(table, "kind")));
    if (rows)
        strbuf_printf(&text, ", ~%s rows", json_object_get_string(rows));
    strbuf_puts(&text, ")");
    const char *comment = json_string_member(table, "comment");
    if (comment)
        strbuf_printf(&text, " -- %s", comment);
    strbuf_puts(&text, "\ncolumn\ttype\tnull\tdefault\tcomment\n");
    json_object *columns = json_object_object_get(table, "columns");
    for (size_t i = 0; columns && i < json_object_array_length(columns); i++) {
        json_object *column = json_object_array_get_idx(columns, i);
        strbuf_printf(&text, "%s\t%s\t%s\t%s\t%s\n", or_dash(json_string_member(column, "name")),
                      or_dash(json_string_member(column, "type")),
                      json_object_get_boolean(json_object_object_get(column, "nullable")) ? "yes" : "no",
                      or_dash(json_string_member(column, "default")), or_dash(json_string_member(column, "comment")));
    }
    json_object *primary = json_object_object_get(table, "primary_key");
    if (primary) {
        strbuf_puts(&text, "primary key: ");
        append_names(&text, primary);
        strbuf_puts(&text, "\n");
    }
    json_object *foreign = json_object_object_get(table, "foreign_keys");
    for (size_t i = 0; foreign && i < json_object_array_length(foreign); i++) {
        json_object *key = json_object_array_get_idx(foreign, i);
        json_object *references = json_object_object_get(key, "references");
        strbuf_puts(&text, "foreign key (");
        append_names(&text, json_object_object_get(key, "columns"));
        strbuf_printf(&text, ") -> %s.%s(", or_dash(json_string_member(references, "schema")),
                      or_dash(json_string_member(references, "table")));
        append_names(&text, json_object_object_get(references, "columns"));
        strbuf_puts(&text, ")\n");
    }
    json_object *referenced = json_object_object_get(table, "referenced_by");
    for (size_t i = 0; referenced && i < json_object_array_length(referenced); i++) {
        json_object *key = json_object_array_get_idx(referenced, i);
        strbuf_printf(&text, "referenced by %s.%s(", or_dash(json_string_member(key, "schema")),
                      or_dash(json_string_member(key, "table")));
        append_names(&text, json_object_object_get(key, "columns"));
        strbuf_puts(&text, ") -> (");
        append_names(&text, json_object_object_get(key, "referenced_columns"));
        strbuf_puts(&text, ")\n");
    }
    json_object *indexes = json_object_object_get(table, "indexes");
    for (size_t i = 0; indexes && i < json_object_array_length(indexes); i++)
        strbuf_printf(&text, "index: %s\n",
                      or_dash(json_string_member(json_object_array_get_idx(indexes, i), "definition")));
    return strbuf_take(&text);
}

static void describe_table_done(mcp_request *request, db_result *result) {
    if (result->status != DB_OK) {
        fail_with_result(request, result);
        db_result_free(result);
        return;
    }
    const char *table = string_argument(request, "table");
    if (result->row_count == 0) {
        db_result_free(result);
        const char *schemas = server_visible_schemas(request->server);
        char *message =
            str_printf("table \"%s\" was not found in %s%s; list_tables shows the tables you can "
                       "describe",
                       table, schemas ? "the schemas " : "any schema the role can use", schemas ? schemas : "");
        request_tool_error(request, message ? message : "table not found");
        free(message);
        return;
    }
    if (result->row_count > 1) {
        strbuf text = {0};
        strbuf_printf(&text, "table \"%s\" exists in several schemas (", table);
        for (size_t i = 0; i < result->row_count; i++)
            strbuf_printf(&text, "%s%s", i ? ", " : "", db_result_cell(result, i, 0)->value);
        strbuf_puts(&text, "); pass schema to say which");
        db_result_free(result);
        char *message = strbuf_take(&text);
        request_tool_error(request, message ? message : "ambiguous table");
        free(message);
        return;
    }
    json_object *structured = json_cell(request, result, 0, 1);
    db_result_free(result);
    if (structured == NULL)
        return;
    char *text = tools_describe_text(structured);
    request_tool_result(request, structured, text ? text : "");
    free(text);
}

static void describe_table_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    const char *table = string_argument(request, "table");
    const char *schema = string_argument(request, "schema");
    char *split_schema = NULL, *split_table = NULL;
    const char *dot = schema == NULL ? strchr(table, '.') : NULL;
    if (dot) {
        split_schema = str_copy_length(table, (size_t)(dot - table));
        split_table = strdup(dot + 1);
    }
    request_introspect(request, introspect_describe_table_sql, dot ? split_table : table, dot ? split_schema : schema,
                       3, describe_table_done);
    free(split_schema);
    free(split_table);
}
