/* Resources: postgres://schema (the visible schema as compact text) and one
 * postgres://table/{schema}/{table} per table, listed in pages of RESOURCE_PAGE. With
 * several databases (--database) each has its own, under postgres://NAME/: the list walks
 * them in order, and a database that is down is passed over rather than failing the list. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/introspect.h"
#include "util/strings.h"
#include "mcp/dispatch.h"
#include "mcp/tools.h"
#include "mcp/visibility.h"
#include "mcp/jsonrpc.h"

#define RESOURCE_PAGE 100
#define URI_SCHEME    "postgres://"
#define SCHEMA_PATH   "schema"
#define TABLE_PATH    "table/"

/* "postgres://" or, with several databases, "postgres://NAME/" for the request's database. */
static void append_prefix(strbuf *out, const mcp_request *request) {
    strbuf_puts(out, URI_SCHEME);
    if (request_database_count(request) > 0)
        strbuf_printf(out, "%s/", request_database_name(request));
}

/* The request database's prefix followed by path (caller frees); small, so out of memory exits. */
static char *resource_uri(const mcp_request *request, const char *path) {
    strbuf uri = {0};
    append_prefix(&uri, request);
    strbuf_puts(&uri, path);
    return mcp_must(strbuf_take(&uri), "a resource URI");
}

/* Percent-encodes a name for a URI path segment (RFC 3986 unreserved characters stay). */
static void append_encoded(strbuf *out, const char *name) {
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            strbuf_append(out, (const char *)p, 1);
        else
            strbuf_printf(out, "%%%02X", *p);
    }
}

/* Decodes a percent-encoded segment; NULL when malformed or when it holds a NUL. */
static char *decode_segment(const char *text, size_t length) {
    strbuf out = {0};
    for (size_t i = 0; i < length; i++) {
        if (text[i] != '%') {
            strbuf_append(&out, text + i, 1);
            continue;
        }
        if (i + 2 >= length || !isxdigit((unsigned char)text[i + 1]) || !isxdigit((unsigned char)text[i + 2])) {
            strbuf_free(&out);
            return NULL;
        }
        char hex[3] = {text[i + 1], text[i + 2], '\0'};
        char byte = (char)strtol(hex, NULL, 16);
        if (byte == '\0') {
            strbuf_free(&out);
            return NULL;
        }
        strbuf_append(&out, &byte, 1);
        i += 2;
    }
    return strbuf_take(&out);
}

/* One resources/list entry (a new object; the strings are copied). title and description
 * may be NULL. */
static json_object *resource_entry(const char *uri, const char *name, const char *title, const char *description) {
    json_object *entry = mcp_json_object();
    mcp_json_add(entry, "uri", mcp_json_string(uri));
    mcp_json_add(entry, "name", mcp_json_string(name));
    if (title)
        mcp_json_add(entry, "title", mcp_json_string(title));
    if (description)
        mcp_json_add(entry, "description", mcp_json_string(description));
    mcp_json_add(entry, "mimeType", mcp_json_string("text/plain"));
    return entry;
}

/* True (request answered with -32603, result freed) when the catalog query failed or was
 * cut; false, with result untouched, when it can be used. */
static bool fail_if_bad(mcp_request *request, db_result *result) {
    if (result->status == DB_OK && result->truncated == DB_COMPLETE)
        return false;
    if (result->status == DB_OK)
        request_error(request, JSONRPC_INTERNAL_ERROR, "the catalog answer was too large");
    else
        request_error(request, JSONRPC_INTERNAL_ERROR, "%s",
                      result->message ? result->message : "the database is unavailable");
    db_result_free(result);
    return true;
}

/* Reads digits from *text up to stop ('\0' or a letter) into *value; false when there are
 * none, too many, or anything else. */
static bool cursor_number(const char **text, char stop, long long *value) {
    const char *p = *text;
    *value = 0;
    for (; *p && *p != stop; p++) {
        if (!isdigit((unsigned char)*p) || p - *text >= 11)
            return false;
        *value = *value * 10 + (*p - '0');
    }
    if (p == *text || *p != stop)
        return false;
    *text = p;
    return true;
}

/* The cursor is the position in a database's list (0 is the schema resource, then the
 * tables): "pN", or "dIpN" for database I of several (*database; 0 otherwise). -1 when it
 * is not one we made. */
static long long parse_cursor(const char *cursor, const mcp_request *request, size_t *database) {
    *database = 0;
    if (cursor == NULL)
        return 0;
    long long index = 0, position;
    const char *p = cursor;
    if (request_database_count(request) > 0) {
        if (*p++ != 'd' || !cursor_number(&p, 'p', &index) || (size_t)index >= request_database_count(request))
            return -1;
    }
    if (*p++ != 'p' || !cursor_number(&p, '\0', &position))
        return -1;
    *database = (size_t)index;
    return position;
}

/* The cursor of position in database (the form parse_cursor reads). */
static void format_cursor(const mcp_request *request, size_t database, long long position, char *out, size_t size) {
    if (request_database_count(request) > 0)
        snprintf(out, size, "d%zup%lld", database, position);
    else
        snprintf(out, size, "p%lld", position);
}

/* The answer of a page that ends its database's list: a cursor to the next database's
 * first page, if there is one. */
static void add_next_database(const mcp_request *request, json_object *answer) {
    if (request->database + 1 < request_database_count(request)) {
        char cursor[48];
        format_cursor(request, request->database + 1, 0, cursor, sizeof cursor);
        mcp_json_add(answer, "nextCursor", mcp_json_string(cursor));
    }
}

/* resources/list's continuation: one page of table resources (after the schema resource
 * on the first page) and the next cursor. Frees result; answers the request. */
static void list_done(mcp_request *request, db_result *result) {
    if (request_database_count(request) > 0 && result->status != DB_OK) {
        /* One database down must not hide the others' resources. */
        request_log(request, MCP_LOG_WARNING, "resources/list passes over database \"%s\": %s",
                    request_database_name(request), result->message ? result->message : "unavailable");
        db_result_free(result);
        json_object *answer = mcp_json_object();
        mcp_json_add(answer, "resources", mcp_json_array());
        add_next_database(request, answer);
        request_respond(request, answer);
        return;
    }
    if (fail_if_bad(request, result))
        return;
    size_t database;
    long long position = parse_cursor(json_string_member(request->arguments, "cursor"), request, &database);
    json_object *resources = mcp_json_array();
    if (position == 0) {
        char *uri = resource_uri(request, SCHEMA_PATH);
        char *name =
            request_database_count(request) > 0 ? str_printf("%s schema", request_database_name(request)) : NULL;
        mcp_json_append(resources, resource_entry(uri, name ? name : "schema", "Database schema",
                                                  "Every visible table with its columns, keys and row "
                                                  "estimates, one line per table"));
        free(uri);
        free(name);
    }
    long long total = 0;
    const guard_policy *policy = &request_config(request)->policy;
    for (size_t row = 0; row < result->row_count; row++) {
        const char *schema = db_result_cell(result, row, 0)->value;
        const char *table = db_result_cell(result, row, 1)->value;
        const char *kind = db_result_cell(result, row, 2)->value;
        const char *comment = db_result_cell(result, row, 3)->value;
        total = atoll(db_result_cell(result, row, 4)->value);
        if (!visibility_relation(policy, schema, table))
            continue; /* its place in the paging still counts, below */
        strbuf uri = {0}, name = {0};
        append_prefix(&uri, request);
        strbuf_puts(&uri, TABLE_PATH);
        append_encoded(&uri, schema);
        strbuf_puts(&uri, "/");
        append_encoded(&uri, table);
        if (request_database_count(request) > 0)
            strbuf_printf(&name, "%s: ", request_database_name(request));
        strbuf_printf(&name, "%s.%s", schema, table);
        /* One entry's names (the page holds at most a page of entries): small, so out of
         * memory exits rather than leaving an entry out. */
        char *uri_text = mcp_must(strbuf_take(&uri), "a resource URI");
        char *name_text = mcp_must(strbuf_take(&name), "a resource name");
        char *description = mcp_must(
            str_printf("%s%s%s", kind ? kind : "table", comment ? ": " : "", comment ? comment : ""), "a description");
        mcp_json_append(resources, resource_entry(uri_text, name_text, NULL, description));
        free(uri_text);
        free(name_text);
        free(description);
    }
    /* Positions count the catalog's rows, shown or hidden, so cursors stay stable. */
    long long next = position + (position == 0 ? 1 : 0) + (long long)result->row_count;
    db_result_free(result);
    json_object *answer = mcp_json_object();
    mcp_json_add(answer, "resources", resources);
    if (next < total + 1) {
        char cursor[48];
        format_cursor(request, database, next, cursor, sizeof cursor);
        mcp_json_add(answer, "nextCursor", mcp_json_string(cursor));
    } else {
        add_next_database(request, answer);
    }
    request_respond(request, answer);
}

void resources_list(mcp_request *request, json_object *params) {
    json_object *cursor_value = NULL;
    const char *cursor = NULL;
    if (params && json_object_object_get_ex(params, "cursor", &cursor_value) && cursor_value) {
        if (!json_object_is_type(cursor_value, json_type_string)) {
            request_error(request, JSONRPC_INVALID_PARAMS, "params.cursor must be a string from nextCursor");
            return;
        }
        cursor = json_object_get_string(cursor_value);
    }
    size_t database;
    long long position = parse_cursor(cursor, request, &database);
    if (position < 0) {
        request_error(request, JSONRPC_INVALID_PARAMS, "invalid cursor: pass back a nextCursor exactly as received");
        return;
    }
    request->database = database;
    request->arguments = mcp_json_object();
    if (cursor)
        mcp_json_add(request->arguments, "cursor", mcp_json_string(cursor));
    /* The first page also carries the schema resource, so it holds one table fewer. */
    char offset[24], limit[24];
    snprintf(offset, sizeof offset, "%lld", position > 0 ? position - 1 : 0);
    snprintf(limit, sizeof limit, "%d", position > 0 ? RESOURCE_PAGE : RESOURCE_PAGE - 1);
    request_introspect(request, introspect_resource_page_sql, offset, limit, 3, list_done);
}

/* resources/read's answer: {contents: [{uri, mimeType, text}]} (a new object; strings copied). */
static json_object *contents(const char *uri, const char *text) {
    json_object *list = mcp_json_array();
    json_object *item = mcp_json_object();
    mcp_json_add(item, "uri", mcp_json_string(uri));
    mcp_json_add(item, "mimeType", mcp_json_string("text/plain"));
    mcp_json_add(item, "text", mcp_json_string(text));
    mcp_json_append(list, item);
    json_object *answer = mcp_json_object();
    mcp_json_add(answer, "contents", list);
    return answer;
}

/* resources/read of postgres://schema: the schema text. Frees result; answers. */
static void schema_done(mcp_request *request, db_result *result) {
    if (fail_if_bad(request, result))
        return;
    const guard_policy *policy = &request_config(request)->policy;
    strbuf lines = {0};
    bool readable = result->column_count == 6;
    for (size_t row = 0; readable && row < result->row_count; row++) {
        const char *schema = db_result_cell(result, row, 0)->value;
        const char *table = db_result_cell(result, row, 1)->value;
        if (!visibility_relation(policy, schema, table))
            continue;
        if (lines.length > 0)
            strbuf_puts(&lines, "\n");
        readable = visibility_schema_line(policy, &lines, schema, table, db_result_cell(result, row, 2)->value,
                                          db_result_cell(result, row, 3)->value, db_result_cell(result, row, 4)->value,
                                          db_result_cell(result, row, 5)->value);
    }
    db_result_free(result);
    char *text = strbuf_take(&lines);
    if (!readable || text == NULL) {
        free(text);
        request_error(request, JSONRPC_INTERNAL_ERROR, "the catalog answer could not be read");
        return;
    }
    char *fenced = tools_fenced(request, *text ? text : "(no visible tables)");
    free(text);
    if (fenced == NULL) {
        request_error(request, JSONRPC_INTERNAL_ERROR, "the schema text could not be fenced as untrusted data");
        return;
    }
    json_object *answer = contents(json_string_member(request->arguments, "uri"), fenced);
    free(fenced);
    request_respond(request, answer);
}

/* resources/read of one table: describe_table's text for it. Frees result; answers. */
static void table_done(mcp_request *request, db_result *result) {
    if (fail_if_bad(request, result))
        return;
    const char *uri = json_string_member(request->arguments, "uri");
    if (result->row_count != 1) {
        db_result_free(result);
        request_error(request, JSONRPC_INVALID_PARAMS, "resource not found: %s (resources/list shows the tables)", uri);
        return;
    }
    const guard_policy *policy = &request_config(request)->policy;
    const db_cell *cell = db_result_cell(result, 0, 1);
    json_object *table = cell->value ? jsonrpc_parse(cell->value, cell->length) : NULL;
    db_result_free(result);
    if (table != NULL &&
        !visibility_relation(policy, json_string_member(table, "schema"), json_string_member(table, "name"))) {
        json_object_put(table);
        request_error(request, JSONRPC_INVALID_PARAMS, "resource not found: %s (resources/list shows the tables)", uri);
        return;
    }
    if (table != NULL)
        visibility_filter_description(policy, table);
    char *described = table ? tools_describe_text(table) : NULL;
    json_object_put(table);
    char *text = described ? tools_fenced(request, described) : NULL;
    free(described);
    if (text == NULL) {
        request_error(request, JSONRPC_INTERNAL_ERROR, "the catalog answer could not be read or fenced");
        return;
    }
    json_object *answer = contents(uri, text);
    free(text);
    request_respond(request, answer);
}

/* The part of uri after "postgres://" (and, with several databases, after "NAME/", which
 * points the request at that database); NULL when it names no resource of ours. */
static const char *resource_path(mcp_request *request, const char *uri) {
    if (strncmp(uri, URI_SCHEME, strlen(URI_SCHEME)) != 0)
        return NULL;
    const char *path = uri + strlen(URI_SCHEME);
    if (request_database_count(request) == 0)
        return path;
    const char *slash = strchr(path, '/');
    if (slash == NULL || !request_choose_database(request, path, (size_t)(slash - path)))
        return NULL;
    return slash + 1;
}

void resources_read(mcp_request *request, json_object *params) {
    const char *uri = json_string_member(params, "uri");
    if (uri == NULL) {
        request_error(request, JSONRPC_INVALID_PARAMS, "resources/read needs params.uri, a string");
        return;
    }
    request->arguments = mcp_json_object();
    mcp_json_add(request->arguments, "uri", mcp_json_string(uri));
    const char *rest = resource_path(request, uri);
    if (rest != NULL && strcmp(rest, SCHEMA_PATH) == 0) {
        request_introspect(request, introspect_schema_rows_sql, NULL, NULL, 1, schema_done);
        return;
    }
    const char *path = rest && strncmp(rest, TABLE_PATH, strlen(TABLE_PATH)) == 0 ? rest + strlen(TABLE_PATH) : NULL;
    const char *slash = path ? strchr(path, '/') : NULL;
    char *schema = slash ? decode_segment(path, (size_t)(slash - path)) : NULL;
    char *table = slash && !strchr(slash + 1, '/') ? decode_segment(slash + 1, strlen(slash + 1)) : NULL;
    if (schema == NULL || table == NULL || *schema == '\0' || *table == '\0') {
        free(schema);
        free(table);
        if (request_database_count(request) > 0)
            request_error(request, JSONRPC_INVALID_PARAMS,
                          "resource not found: %s (the resources are postgres://NAME/schema and "
                          "postgres://NAME/table/{schema}/{table}, NAME a database that list_databases shows)",
                          uri);
        else
            request_error(request, JSONRPC_INVALID_PARAMS,
                          "resource not found: %s (the resources are postgres://schema and "
                          "postgres://table/{schema}/{table})",
                          uri);
        return;
    }
    request_introspect(request, introspect_describe_table_sql, table, schema, 3, table_done);
    free(schema);
    free(table);
}

/* The per-table template of the request's database. */
static json_object *table_template(mcp_request *request) {
    json_object *template = mcp_json_object();
    char *uri = resource_uri(request, TABLE_PATH "{schema}/{table}");
    mcp_json_add(template, "uriTemplate", mcp_json_string(uri));
    free(uri);
    const char *database = request_database_count(request) > 0 ? request_database_name(request) : NULL;
    char *name = database ? str_printf("%s table", database) : NULL;
    mcp_json_add(template, "name", mcp_json_string(name ? name : "table"));
    free(name);
    mcp_json_add(template, "title", mcp_json_string("One table"));
    mcp_json_add(template, "description",
                 mcp_json_string("A table's columns, keys, indexes and comments as compact text"));
    mcp_json_add(template, "mimeType", mcp_json_string("text/plain"));
    return template;
}

void resources_templates_list(mcp_request *request, json_object *params) {
    (void)params;
    json_object *list = mcp_json_array();
    size_t count = request_database_count(request);
    for (size_t i = 0; i < (count ? count : 1); i++) {
        request->database = i;
        mcp_json_append(list, table_template(request));
    }
    request->database = 0;
    json_object *answer = mcp_json_object();
    mcp_json_add(answer, "resourceTemplates", list);
    request_respond(request, answer);
}
