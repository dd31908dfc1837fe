/* The schema tools' view under the data owner's policy (visibility.h). The decisions are
 * the guard's (guard_relation_visible, guard_column_denied), so a query and the schema
 * tools can never disagree about what exists. */
#include "mcp/visibility.h"

#include <ctype.h>
#include <string.h>

#include "mcp/json.h"
#include "mcp/jsonrpc.h"

bool visibility_active(const guard_policy *policy) {
    return policy->table_patterns != NULL || (policy->denied_columns != NULL && policy->denied_columns[0] != NULL);
}

bool visibility_relation(const guard_policy *policy, const char *schema, const char *name) {
    if (!visibility_active(policy) && policy->denied_relations == NULL)
        return true;
    return schema != NULL && name != NULL && guard_relation_visible(policy, schema, name);
}

static bool column_denied(const guard_policy *policy, const char *schema, const char *table, const char *column) {
    return column == NULL || guard_column_denied(policy, schema, table, column);
}

/* True when any string of a JSON array names a denied column of schema.table. */
static bool any_denied(const guard_policy *policy, const char *schema, const char *table, json_object *names) {
    for (size_t i = 0; names != NULL && i < json_object_array_length(names); i++)
        if (column_denied(policy, schema, table, json_object_get_string(json_object_array_get_idx(names, i))))
            return true;
    return false;
}

void visibility_filter_tables(const guard_policy *policy, json_object *tables) {
    if (tables == NULL || !json_object_is_type(tables, json_type_array))
        return;
    for (size_t i = json_object_array_length(tables); i-- > 0;) {
        json_object *table = json_object_array_get_idx(tables, i);
        if (!visibility_relation(policy, json_string_member(table, "schema"), json_string_member(table, "name")))
            json_object_array_del_idx(tables, i, 1);
    }
}

/* True when text holds name as a whole identifier, plain or double-quoted. */
static bool mentions(const char *text, const char *name) {
    size_t length = strlen(name);
    if (text == NULL || length == 0)
        return false;
    for (const char *at = strstr(text, name); at != NULL; at = strstr(at + 1, name)) {
        char before = at == text ? ' ' : at[-1], after = at[length];
        bool word_before = isalnum((unsigned char)before) || before == '_' || (unsigned char)before >= 0x80;
        bool word_after = isalnum((unsigned char)after) || after == '_' || (unsigned char)after >= 0x80;
        if (!word_before && !word_after)
            return true;
    }
    return false;
}

size_t visibility_filter_description(const guard_policy *policy, json_object *table) {
    if (!visibility_active(policy))
        return 0;
    const char *schema = json_string_member(table, "schema");
    const char *name = json_string_member(table, "name");
    size_t hidden = 0;
    json_object *columns = json_object_object_get(table, "columns");
    json_object *denied_names = mcp_json_array();
    for (size_t i = columns ? json_object_array_length(columns) : 0; i-- > 0;) {
        const char *column = json_string_member(json_object_array_get_idx(columns, i), "name");
        if (column_denied(policy, schema, name, column)) {
            if (column != NULL)
                mcp_json_append(denied_names, mcp_json_string(column));
            json_object_array_del_idx(columns, i, 1);
            hidden++;
        }
    }
    json_object *primary = json_object_object_get(table, "primary_key");
    if (primary != NULL && any_denied(policy, schema, name, primary))
        json_object_object_del(table, "primary_key");
    json_object *foreign = json_object_object_get(table, "foreign_keys");
    for (size_t i = foreign ? json_object_array_length(foreign) : 0; i-- > 0;) {
        json_object *key = json_object_array_get_idx(foreign, i);
        json_object *references = json_object_object_get(key, "references");
        const char *target_schema = json_string_member(references, "schema");
        const char *target = json_string_member(references, "table");
        if (any_denied(policy, schema, name, json_object_object_get(key, "columns")) ||
            !visibility_relation(policy, target_schema, target) ||
            any_denied(policy, target_schema, target, json_object_object_get(references, "columns")))
            json_object_array_del_idx(foreign, i, 1);
    }
    json_object *referenced = json_object_object_get(table, "referenced_by");
    for (size_t i = referenced ? json_object_array_length(referenced) : 0; i-- > 0;) {
        json_object *key = json_object_array_get_idx(referenced, i);
        const char *source_schema = json_string_member(key, "schema");
        const char *source = json_string_member(key, "table");
        if (!visibility_relation(policy, source_schema, source) ||
            any_denied(policy, source_schema, source, json_object_object_get(key, "columns")) ||
            any_denied(policy, schema, name, json_object_object_get(key, "referenced_columns")))
            json_object_array_del_idx(referenced, i, 1);
    }
    /* An index definition is text: one that mentions a denied column's name goes. */
    json_object *indexes = json_object_object_get(table, "indexes");
    for (size_t i = indexes ? json_object_array_length(indexes) : 0; i-- > 0;) {
        const char *definition = json_string_member(json_object_array_get_idx(indexes, i), "definition");
        for (size_t d = 0; d < json_object_array_length(denied_names); d++)
            if (mentions(definition, json_object_get_string(json_object_array_get_idx(denied_names, d)))) {
                json_object_array_del_idx(indexes, i, 1);
                break;
            }
    }
    json_object_put(denied_names);
    mcp_json_add(table, "hidden_columns", mcp_json_int64((int64_t)hidden));
    return hidden;
}

bool visibility_schema_line(const guard_policy *policy, strbuf *out, const char *schema, const char *name,
                            const char *head, const char *columns_text, const char *foreign_keys_text,
                            const char *comment) {
    json_object *columns = columns_text ? json_tokener_parse(columns_text) : NULL;
    json_object *foreign = foreign_keys_text ? json_tokener_parse(foreign_keys_text) : NULL;
    bool ok =
        head != NULL && json_object_is_type(columns, json_type_array) && json_object_is_type(foreign, json_type_array);
    if (ok) {
        size_t hidden = 0, shown = 0;
        strbuf_printf(out, "%s: ", head);
        for (size_t i = 0; i < json_object_array_length(columns); i++) {
            json_object *column = json_object_array_get_idx(columns, i);
            const char *column_name = json_object_get_string(json_object_array_get_idx(column, 0));
            if (visibility_active(policy) && column_denied(policy, schema, name, column_name)) {
                hidden++;
                continue;
            }
            strbuf_printf(out, "%s%s", shown++ ? ", " : "",
                          json_object_get_string(json_object_array_get_idx(column, 1)));
            json_object *target_table = json_object_array_get_idx(column, 3);
            if (target_table != NULL && !json_object_is_type(target_table, json_type_null)) {
                const char *target_schema = json_object_get_string(json_object_array_get_idx(column, 2));
                const char *target = json_object_get_string(target_table);
                const char *target_column = json_object_get_string(json_object_array_get_idx(column, 4));
                if (!visibility_active(policy) || (visibility_relation(policy, target_schema, target) &&
                                                   !column_denied(policy, target_schema, target, target_column)))
                    strbuf_puts(out, json_object_get_string(json_object_array_get_idx(column, 5)));
            }
        }
        for (size_t i = 0; i < json_object_array_length(foreign); i++) {
            json_object *key = json_object_array_get_idx(foreign, i);
            const char *target_schema = json_string_member(key, "schema");
            const char *target = json_string_member(key, "table");
            if (visibility_active(policy) &&
                (any_denied(policy, schema, name, json_object_object_get(key, "columns")) ||
                 !visibility_relation(policy, target_schema, target) ||
                 any_denied(policy, target_schema, target, json_object_object_get(key, "referenced_columns"))))
                continue;
            strbuf_puts(out, json_string_member(key, "text") ? json_string_member(key, "text") : "");
        }
        if (hidden > 0)
            strbuf_printf(out, "; %zu column%s hidden by policy", hidden, hidden == 1 ? "" : "s");
        if (comment != NULL)
            strbuf_printf(out, " -- %s", comment);
    }
    json_object_put(columns);
    json_object_put(foreign);
    return ok;
}
