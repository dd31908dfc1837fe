/* The schema tools: list_schemas, list_tables and describe_table. Each runs one fixed
 * catalog query (db/introspect.c) that returns JSON, and renders it as compact text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/introspect.h"
#include "util/strings.h"
#include "mcp/jsonrpc.h"
#include "mcp/tools.h"
#include "mcp/visibility.h"

/* The JSON text in a result's cell, parsed; NULL (request answered) if it is unusable. */
static json_object *json_cell(mcp_request *request, db_result *result, size_t row, int column) {
    if (result->status != DB_OK) {
        tools_fail_with_result(request, result);
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

/* Answers with structured and text, which names and comments from the database make
 * untrusted: fenced (head, which is ours, stays outside). Takes structured. */
static void answer_fenced(mcp_request *request, json_object *structured, const char *head, const char *text) {
    char *fenced = text ? tools_fenced(request, text) : NULL;
    char *whole = fenced ? str_printf("%s%s", head, fenced) : NULL;
    free(fenced);
    if (whole == NULL) {
        json_object_put(structured);
        request_tool_error(request, "the catalog text could not be fenced as untrusted data; not sent");
        return;
    }
    request_tool_result(request, structured, whole);
    free(whole);
}

/* list_schemas' continuation: the catalog's JSON as structuredContent and a table of
 * names, owners and counts. Frees result; answers the request. */
static void list_schemas_done(mcp_request *request, db_result *result) {
    json_object *structured =
        result->status == DB_OK && result->row_count == 1 ? json_cell(request, result, 0, 0) : NULL;
    if (structured == NULL) {
        if (result->status != DB_OK)
            tools_fail_with_result(request, result);
        else if (result->row_count != 1)
            request_error(request, JSONRPC_INTERNAL_ERROR, "the catalog answer could not be read");
        db_result_free(result);
        return;
    }
    db_result_free(result);
    strbuf text = {0};
    json_object *schemas = json_object_object_get(structured, "schemas");
    /* A count would tell how many tables the allow-list hides: none is given under one. */
    if (request_config(request)->policy.table_patterns != NULL)
        for (size_t i = 0; i < json_object_array_length(schemas); i++)
            json_object_object_add(json_object_array_get_idx(schemas, i), "tables", NULL);
    char head[64];
    snprintf(head, sizeof head, "%zu schema%s\n", json_object_array_length(schemas),
             json_object_array_length(schemas) == 1 ? "" : "s");
    strbuf_puts(&text, "name\towner\ttables\tcomment\n");
    for (size_t i = 0; i < json_object_array_length(schemas); i++) {
        json_object *schema = json_object_array_get_idx(schemas, i);
        strbuf_printf(&text, "%s\t%s\t%s\t%s\n", or_dash(json_string_member(schema, "name")),
                      or_dash(json_string_member(schema, "owner")),
                      or_dash(json_object_get_string(json_object_object_get(schema, "tables"))),
                      or_dash(json_string_member(schema, "comment")));
    }
    char *rendered = strbuf_take(&text);
    answer_fenced(request, structured, head, rendered);
    free(rendered);
}

void tools_list_schemas_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    request_introspect(request, introspect_list_schemas_sql, NULL, NULL, 1, list_schemas_done);
}

/* list_tables' continuation: row 0 says whether the schema asked for exists, then the
 * tables as JSON. Frees result; answers the request. */
static void list_tables_done(mcp_request *request, db_result *result) {
    if (result->status != DB_OK || result->row_count != 1) {
        if (result->status != DB_OK)
            tools_fail_with_result(request, result);
        else
            request_error(request, JSONRPC_INTERNAL_ERROR, "the catalog answer could not be read");
        db_result_free(result);
        return;
    }
    const char *found = db_result_cell(result, 0, 0)->value;
    if (found == NULL || strcmp(found, "t") != 0) {
        db_result_free(result);
        char *message = str_printf("schema \"%s\" does not exist or is not visible; list_schemas shows the schemas",
                                   tools_string_argument(request, "schema"));
        request_tool_error(request, message);
        free(message);
        return;
    }
    json_object *structured = json_cell(request, result, 0, 1);
    db_result_free(result);
    if (structured == NULL)
        return;
    json_object *tables = json_object_object_get(structured, "tables");
    visibility_filter_tables(&request_config(request)->policy, tables);
    strbuf text = {0};
    char head[64];
    snprintf(head, sizeof head, "%zu table%s\n", json_object_array_length(tables),
             json_object_array_length(tables) == 1 ? "" : "s");
    strbuf_puts(&text, "schema\tname\tkind\trows\tcomment\n");
    for (size_t i = 0; i < json_object_array_length(tables); i++) {
        json_object *table = json_object_array_get_idx(tables, i);
        json_object *rows = json_object_object_get(table, "row_estimate");
        strbuf_printf(&text, "%s\t%s\t%s\t%s\t%s\n", or_dash(json_string_member(table, "schema")),
                      or_dash(json_string_member(table, "name")), or_dash(json_string_member(table, "kind")),
                      rows ? json_object_get_string(rows) : "?", or_dash(json_string_member(table, "comment")));
    }
    char *rendered = strbuf_take(&text);
    answer_fenced(request, structured, head, rendered);
    free(rendered);
}

void tools_list_tables_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    request_introspect(request, introspect_list_tables_sql, tools_string_argument(request, "schema"), NULL, 2,
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
    json_object *hidden = json_object_object_get(table, "hidden_columns");
    if (hidden && json_object_get_int64(hidden) > 0)
        strbuf_printf(&text, "(%lld more column%s hidden by the data owner's policy: they cannot be queried)\n",
                      (long long)json_object_get_int64(hidden), json_object_get_int64(hidden) == 1 ? "" : "s");
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

/* The relation name describe_table asked the catalog for: table, or the part after the dot
 * of "schema.table" when no schema was given (as tools_describe_table_start splits it). */
static const char *described_name(const mcp_request *request) {
    const char *table = tools_string_argument(request, "table");
    const char *dot = tools_string_argument(request, "schema") == NULL ? strchr(table, '.') : NULL;
    return dot ? dot + 1 : table;
}

/* describe_table's continuation: no row is "not found", several rows "say which schema",
 * one row the table's JSON and its text. Frees result; answers the request. */
static void describe_table_done(mcp_request *request, db_result *result) {
    if (result->status != DB_OK) {
        tools_fail_with_result(request, result);
        db_result_free(result);
        return;
    }
    const char *table = tools_string_argument(request, "table");
    /* A relation the policy hides is not there, in the same words. */
    const guard_policy *policy = &request_config(request)->policy;
    size_t kept = 0;
    for (size_t i = 0; i < result->row_count; i++) {
        const db_cell *schema_cell = db_result_cell(result, i, 0);
        if (visibility_relation(policy, schema_cell->value, described_name(request)))
            kept++;
    }
    if (kept == 0) {
        db_result_free(result);
        const char *schemas = request_config(request)->visible_schemas;
        char *message =
            str_printf("table \"%s\" was not found in %s%s; list_tables shows the tables you can "
                       "describe",
                       table, schemas ? "the schemas " : "any schema the role can use", schemas ? schemas : "");
        request_tool_error(request, message);
        free(message);
        return;
    }
    if (kept > 1) {
        strbuf text = {0};
        strbuf_printf(&text, "table \"%s\" exists in several schemas (", table);
        size_t listed = 0;
        for (size_t i = 0; i < result->row_count; i++)
            if (visibility_relation(policy, db_result_cell(result, i, 0)->value, described_name(request)))
                strbuf_printf(&text, "%s%s", listed++ ? ", " : "", db_result_cell(result, i, 0)->value);
        strbuf_puts(&text, "); pass schema to say which");
        db_result_free(result);
        char *message = strbuf_take(&text);
        request_tool_error(request, message);
        free(message);
        return;
    }
    size_t row = 0;
    while (!visibility_relation(policy, db_result_cell(result, row, 0)->value, described_name(request)))
        row++;
    json_object *structured = json_cell(request, result, row, 1);
    db_result_free(result);
    if (structured == NULL)
        return;
    visibility_filter_description(policy, structured);
    char *text = tools_describe_text(structured);
    answer_fenced(request, structured, "", text);
    free(text);
}

void tools_describe_table_start(mcp_request *request, json_object *arguments) {
    (void)arguments;
    const char *table = tools_string_argument(request, "table");
    const char *schema = tools_string_argument(request, "schema");
    char *split_schema = NULL, *split_table = NULL;
    const char *dot = schema == NULL ? strchr(table, '.') : NULL;
    if (dot) {
        split_schema = mcp_must(str_copy_length(table, (size_t)(dot - table)), "a schema name");
        split_table = mcp_must(strdup(dot + 1), "a table name");
    }
    request_introspect(request, introspect_describe_table_sql, dot ? split_table : table, dot ? split_schema : schema,
                       3, describe_table_done);
    free(split_schema);
    free(split_table);
}
