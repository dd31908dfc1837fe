/* The tool table: query, check_sql, explain, list_schemas, list_tables, describe_table, with
 * their schemas and argument specs; tools/list, and tools/call's checks before a tool starts
 * (its name, its arguments against its spec). The tools themselves are in tools_query.c (the
 * SQL tools) and tools_catalog.c (the schema tools); what they share is in tools_common.c. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"
#include "mcp/dispatch.h"
#include "mcp/fence.h"
#include "mcp/jsonrpc.h"
#include "mcp/tools.h"

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
     query_arguments, tools_query_start},
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
     sql_arguments, tools_check_sql_start},
    {"explain", "Show a query's plan",
     "EXPLAIN (FORMAT JSON) of a query that passes the guard. analyze: true also runs it (inside a read-only, "
     "rolled-back, time-limited transaction) when the server allows it.",
     "{\"type\":\"object\",\"properties\":{\"sql\":{\"type\":\"string\",\"description\":\"one SELECT statement\"},"
     "\"analyze\":{\"type\":\"boolean\",\"description\":\"run it and report actual times (if enabled)\"}},"
     "\"required\":[\"sql\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"plan\":{},\"executed_sql\":{\"type\":\"string\"},"
     "\"analyze\":{\"type\":\"boolean\"}},\"required\":[\"plan\",\"executed_sql\",\"analyze\"]}",
     explain_arguments, tools_explain_start},
    {"list_schemas", "List schemas", "The schemas you can see, with owners, comments and table counts.",
     "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"schemas\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}},"
     "\"required\":[\"schemas\"]}",
     no_arguments, tools_list_schemas_start},
    {"list_tables", "List tables",
     "Tables, views and materialized views you can read, with kind, estimated row count and comment. Partitions "
     "are hidden behind their parent.",
     "{\"type\":\"object\",\"properties\":{\"schema\":{\"type\":\"string\",\"description\":\"only this "
     "schema\"}},\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"tables\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}},"
     "\"required\":[\"tables\"]}",
     list_tables_arguments, tools_list_tables_start},
    {"describe_table", "Describe a table",
     "Columns (type, nullability, default, comment), primary key, foreign keys in both directions and indexes "
     "of one table or view.",
     "{\"type\":\"object\",\"properties\":{\"table\":{\"type\":\"string\",\"description\":\"table name, or "
     "schema.table\"},\"schema\":{\"type\":\"string\"}},\"required\":[\"table\"],\"additionalProperties\":false}",
     "{\"type\":\"object\",\"properties\":{\"schema\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
     "\"kind\":{\"type\":\"string\"},\"columns\":{\"type\":\"array\"},\"primary_key\":{\"type\":[\"array\",\"null\"]},"
     "\"foreign_keys\":{\"type\":\"array\"},\"referenced_by\":{\"type\":\"array\"},\"indexes\":{\"type\":\"array\"}},"
     "\"required\":[\"schema\",\"name\",\"kind\",\"columns\"]}",
     describe_arguments, tools_describe_table_start},
};

#define TOOL_COUNT (sizeof tools / sizeof *tools)

/* Served only with several databases (--database). */
static const tool_spec databases_tool = {
    "list_databases",
    "List databases",
    "The databases this server serves, by the name the other tools' database argument takes, with each one's "
    "state, PostgreSQL version and role.",
    "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
    "{\"type\":\"object\",\"properties\":{\"databases\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"name\":{\"type\":\"string\"},\"status\":{\"type\":\"string\"},"
    "\"server_version\":" NULLABLE("string") ",\"role\":" NULLABLE("string") ",\"can_write\":" NULLABLE(
        "boolean") ",\"error\":" NULLABLE("string") "},\"required\":[\"name\",\"status\"]}}},"
                                                    "\"required\":[\"databases\"]}",
    no_arguments,
    tools_list_databases_start};

/* The tool named name, or NULL; list_databases only with several databases. */
static const tool_spec *find_tool(const mcp_request *request, const char *name) {
    for (size_t i = 0; i < TOOL_COUNT; i++)
        if (strcmp(tools[i].name, name) == 0)
            return &tools[i];
    if (request_database_count(request) > 0 && strcmp(name, databases_tool.name) == 0)
        return &databases_tool;
    return NULL;
}

/* The tool's inputSchema, with a database argument (an enum of the names, required with
 * more than one) when the server has several databases. */
static json_object *input_schema(const mcp_request *request, const tool_spec *tool) {
    json_object *schema = mcp_json_literal(tool->input_schema);
    size_t count = request_database_count(request);
    if (count == 0 || tool == &databases_tool)
        return schema;
    json_object *names = mcp_json_array(), *property = mcp_json_object(), *properties = NULL;
    for (size_t i = 0; i < count; i++)
        mcp_json_append(names, mcp_json_string(request_database_name_at(request, i)));
    mcp_json_add(property, "type", mcp_json_string("string"));
    mcp_json_add(property, "enum", names);
    mcp_json_add(property, "description", mcp_json_string("which database (list_databases shows them)"));
    json_object_object_get_ex(schema, "properties", &properties);
    mcp_json_add(properties, "database", property);
    if (count > 1) {
        json_object *required = NULL;
        if (!json_object_object_get_ex(schema, "required", &required)) {
            required = mcp_json_array();
            mcp_json_add(schema, "required", required);
        }
        mcp_json_append(required, mcp_json_string("database"));
    }
    return schema;
}

/* One tools/list entry. */
static json_object *tool_entry(const mcp_request *request, const tool_spec *tool) {
    json_object *entry = mcp_json_object();
    mcp_json_add(entry, "name", mcp_json_string(tool->name));
    mcp_json_add(entry, "title", mcp_json_string(tool->title));
    /* The query tool's description says once what a fence is (instructions say it too). */
    bool fence_notice = strcmp(tool->name, "query") == 0 && !request_config(request)->no_fence;
    char *description = fence_notice ? str_printf("%s %s", tool->description, FENCE_NOTICE) : NULL;
    mcp_json_add(entry, "description", mcp_json_string(description ? description : tool->description));
    free(description);
    mcp_json_add(entry, "inputSchema", input_schema(request, tool));
    mcp_json_add(entry, "outputSchema", mcp_json_literal(tool->output_schema));
    json_object *annotations = mcp_json_object();
    mcp_json_add(annotations, "title", mcp_json_string(tool->title));
    mcp_json_add(annotations, "readOnlyHint", mcp_json_bool(true));
    mcp_json_add(annotations, "destructiveHint", mcp_json_bool(false));
    mcp_json_add(annotations, "idempotentHint", mcp_json_bool(true));
    mcp_json_add(annotations, "openWorldHint", mcp_json_bool(false));
    mcp_json_add(entry, "annotations", annotations);
    return entry;
}

void tools_list(mcp_request *request, json_object *params) {
    (void)params;
    json_object *list = mcp_json_array();
    for (size_t i = 0; i < TOOL_COUNT; i++)
        mcp_json_append(list, tool_entry(request, &tools[i]));
    if (request_database_count(request) > 0)
        mcp_json_append(list, tool_entry(request, &databases_tool));
    json_object *result = mcp_json_object();
    mcp_json_add(result, "tools", list);
    request_respond(request, result);
}

static const char *type_word(argument_type type) {
    return type == ARGUMENT_STRING ? "a string" : type == ARGUMENT_INTEGER ? "an integer" : "a boolean";
}

/* True when value (borrowed) has the JSON type an argument spec asks for. */
static bool has_type(json_object *value, argument_type type) {
    switch (type) {
    case ARGUMENT_STRING: return json_object_is_type(value, json_type_string);
    case ARGUMENT_INTEGER: return json_object_is_type(value, json_type_int);
    case ARGUMENT_BOOLEAN: return json_object_is_type(value, json_type_boolean);
    }
    return false;
}

/* NULL when the arguments fit the tool, else what is wrong (caller frees). The database
 * argument is the caller's (request_choose_database_argument). */
static char *validate(const tool_spec *tool, json_object *arguments, bool named) {
    for (const argument_spec *spec = tool->arguments; spec->name; spec++) {
        json_object *value = NULL;
        bool present = arguments && json_object_object_get_ex(arguments, spec->name, &value);
        if (!present && spec->required)
            return mcp_must(
                str_printf("%s needs the argument \"%s\" (%s)", tool->name, spec->name, type_word(spec->type)),
                "a message");
        if (present && !has_type(value, spec->type))
            return mcp_must(
                str_printf("argument \"%s\" of %s must be %s", spec->name, tool->name, type_word(spec->type)),
                "a message");
    }
    if (arguments) {
        json_object_object_foreach(arguments, key, value) {
            (void)value;
            bool known = named && tool != &databases_tool && strcmp(key, "database") == 0;
            for (const argument_spec *spec = tool->arguments; spec->name && !known; spec++)
                known = strcmp(spec->name, key) == 0;
            if (!known) {
                strbuf names = {0};
                for (const argument_spec *spec = tool->arguments; spec->name; spec++)
                    strbuf_printf(&names, "%s%s", names.length ? ", " : "", spec->name);
                char *list = mcp_must(strbuf_take(&names), "a message");
                char *message = mcp_must(str_printf("%s has no argument \"%s\"; its arguments are: %s", tool->name, key,
                                                    *list ? list : "none"),
                                         "a message");
                free(list);
                return message;
            }
        }
    }
    return NULL;
}

/* Starts the named tool with arguments (borrowed; NULL for none) once they fit its spec;
 * otherwise answers with what is wrong. */
static void start_tool(mcp_request *request, const tool_spec *tool, json_object *arguments) {
    char *problem = validate(tool, arguments, request_database_count(request) > 0);
    if (problem == NULL && tool != &databases_tool) { /* list_databases speaks of them all */
        json_object *database = NULL;
        if (arguments)
            json_object_object_get_ex(arguments, "database", &database);
        problem = request_choose_database_argument(request, database, false, tool->name);
    }
    if (problem) {
        /* 2025-11-25 (SEP-1303) and later: argument problems go to the model, which can fix them. */
        if (request->modern || (request->protocol_version && strcmp(request->protocol_version, "2025-11-25") == 0))
            request_tool_error(request, problem);
        else
            request_error(request, JSONRPC_INVALID_PARAMS, "%s", problem);
        free(problem);
        return;
    }
    request->arguments = arguments ? json_object_get(arguments) : NULL;
    tool->start(request, arguments);
}

void tools_call(mcp_request *request, json_object *params) {
    if (params == NULL) {
        request_error(request, JSONRPC_INVALID_PARAMS, "tools/call needs params with name and arguments");
        return;
    }
    const char *name = json_string_member(params, "name");
    if (name == NULL) {
        request_error(request, JSONRPC_INVALID_PARAMS, "tools/call needs params.name, a string");
        return;
    }
    json_object *arguments = NULL;
    if (json_object_object_get_ex(params, "arguments", &arguments) && arguments != NULL &&
        !json_object_is_type(arguments, json_type_object)) {
        request_error(request, JSONRPC_INVALID_PARAMS, "params.arguments must be an object");
        return;
    }
    const tool_spec *tool = find_tool(request, name);
    if (tool == NULL) {
        request_error(request, JSONRPC_INVALID_PARAMS,
                      "unknown tool \"%s\"; the tools are query, check_sql, explain, list_schemas, list_tables%s "
                      "and describe_table",
                      name, request_database_count(request) > 0 ? ", list_databases" : "");
        return;
    }
    /* From here the request is a tool call: it gets an audit line, under the tool's own
     * name (a static string from the table, so no copy can fail). */
    assert(request->tool == NULL);
    request->tool = tool->name;
    if (request_config(request)->audit_required && request_audit_failing(request)) {
        request->audit.verdict = "refused";
        request->audit.reason = "audit_unavailable";
        request_tool_error(request, "the audit log cannot be written and --audit-required is set, so no tool call "
                                    "is served; the operator must fix the audit log");
        return;
    }
    start_tool(request, tool, arguments);
}
