/* Typed JSON and compact text for query results. */
#include "db/format.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

enum {
    OID_BOOL = 16,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700,
    OID_JSONB = 3802
};

/* Integers beyond 2^53 lose precision in a JSON number read as a double, so they stay strings. */
#define JSON_SAFE_INTEGER 9007199254740992LL

/* The cell's value was shortened to the cell cap. */
static bool is_cut(const db_cell *cell) {
    return cell->length < cell->full_length;
}

/* A cut value as a string with the cut mark (caller owns), or NULL when out of memory. */
static json_object *cut_string(const db_cell *cell) {
    strbuf text = {0};
    strbuf_append(&text, cell->value, cell->length);
    strbuf_puts(&text, FORMAT_CUT_MARK);
    char *joined = strbuf_take(&text);
    json_object *value = joined ? json_object_new_string(joined) : NULL;
    free(joined);
    return value;
}

/* An integer column's value: a JSON number when a double holds it exactly, else the text.
 * Caller owns; NULL when out of memory. */
static json_object *integer_or_string(const db_cell *cell) {
    errno = 0;
    char *end = NULL;
    long long value = strtoll(cell->value, &end, 10);
    if (errno == 0 && end && *end == '\0' && value <= JSON_SAFE_INTEGER && value >= -JSON_SAFE_INTEGER)
        return json_object_new_int64(value);
    return json_object_new_string_len(cell->value, (int)cell->length);
}

/* A float column's value: a number with PostgreSQL's digits, or the text for NaN and the
 * infinities, which JSON has no number for. Caller owns; NULL when out of memory. */
static json_object *float_or_string(const db_cell *cell) {
    char *end = NULL;
    double value = strtod(cell->value, &end);
    if (end && *end == '\0' && isfinite(value))
        /* Keep PostgreSQL's own digits rather than reprinting the double. */
        return json_object_new_double_s(value, cell->value);
    return json_object_new_string_len(cell->value, (int)cell->length);
}

/* True when the integer text [start, end) (an optional '-' and digits) fits 64 bits: int64
 * when negative, uint64 otherwise, as json-c stores it. */
static bool integer_fits(const char *start, const char *end) {
    char digits[24];
    size_t length = (size_t)(end - start);
    if (length >= sizeof digits)
        return false;
    memcpy(digits, start, length);
    digits[length] = '\0';
    errno = 0;
    if (digits[0] == '-')
        (void)strtoll(digits, NULL, 10);
    else
        (void)strtoull(digits, NULL, 10);
    return errno == 0;
}

/* json-c clamps an integer beyond 64 bits to the nearest limit, silently (json_parse_int64
 * takes strtoll's ERANGE result), which would hand the client another number. True when
 * every integer in the JSON text fits; numbers with a fraction or exponent become doubles
 * that keep their digits, so they are fine. */
static bool json_integers_fit(const char *text, size_t length) {
    bool in_string = false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
            continue;
        }
        if (c != '-' && (c < '0' || c > '9'))
            continue;
        size_t start = i;
        bool integer = true;
        for (; i < length && (text[i] == '-' || text[i] == '+' || text[i] == '.' || text[i] == 'e' || text[i] == 'E' ||
                              (text[i] >= '0' && text[i] <= '9'));
             i++)
            integer = integer && text[i] != '.' && text[i] != 'e' && text[i] != 'E';
        if (integer && !integer_fits(text + start, text + i))
            return false;
        i--; /* the loop steps past the number's last character */
    }
    return true;
}

/* A json or jsonb value embedded as JSON, or kept as its exact text when json-c would change
 * it (an integer beyond 64 bits) or cannot hold it (too deep). Sets *out (caller owns; NULL
 * for the JSON null, which json-c represents so). Returns false when out of memory. */
static bool embedded_json(const db_cell *cell, json_object **out) {
    *out = NULL;
    if (!json_integers_fit(cell->value, cell->length))
        return (*out = json_object_new_string_len(cell->value, (int)cell->length)) != NULL;
    json_tokener *tokener = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH * 4);
    if (tokener == NULL)
        return false;
    /* With the terminating NUL, so a scalar document (42, true, null) is complete. */
    json_object *value = json_tokener_parse_ex(tokener, cell->value, (int)cell->length + 1);
    size_t end = json_tokener_get_parse_end(tokener);
    bool complete =
        json_tokener_get_error(tokener) == json_tokener_success && (end == cell->length || end == cell->length + 1);
    json_tokener_free(tokener);
    if (complete) {
        *out = value;
        return true;
    }
    json_object_put(value);
    /* Too deep for us to embed: the text is still exact. */
    return (*out = json_object_new_string_len(cell->value, (int)cell->length)) != NULL;
}

/* One cell as JSON into *out (caller owns; NULL for SQL NULL and the JSON null). Returns false
 * when out of memory: a value that could not be built must not pass for a null. */
static bool cell_json(const db_column *column, const db_cell *cell, json_object **out) {
    *out = NULL;
    if (cell->value == NULL)
        return true;
    if (is_cut(cell))
        return (*out = cut_string(cell)) != NULL;
    switch (column->type_oid) {
    case OID_BOOL: *out = json_object_new_boolean(cell->value[0] == 't'); break;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID: *out = integer_or_string(cell); break;
    case OID_FLOAT4:
    case OID_FLOAT8: *out = float_or_string(cell); break;
    case OID_JSON:
    case OID_JSONB: return embedded_json(cell, out);
    case OID_NUMERIC:
    default: *out = json_object_new_string_len(cell->value, (int)cell->length); break;
    }
    return *out != NULL;
}

json_object *format_cell_json(const db_column *column, const db_cell *cell) {
    json_object *value;
    return cell_json(column, cell, &value) ? value : NULL;
}

/* Adds value (taken; NULL is a failure) under key. Returns false, value released, when
 * value is NULL or memory ran out. */
static bool add_member(json_object *object, const char *key, json_object *value) {
    if (value == NULL)
        return false;
    if (json_object_object_add(object, key, value) != 0) {
        json_object_put(value);
        return false;
    }
    return true;
}

/* Appends value (taken; NULL is JSON null) to array. Returns false, value released, when
 * memory ran out. */
static bool add_element(json_object *array, json_object *value) {
    if (json_object_array_add(array, value) != 0) {
        json_object_put(value);
        return false;
    }
    return true;
}

json_object *format_columns_json(const db_result *result) {
    json_object *columns = json_object_new_array();
    for (int i = 0; columns && i < result->column_count; i++) {
        json_object *column = json_object_new_object();
        bool ok = column != NULL && add_member(column, "name", json_object_new_string(result->columns[i].name)) &&
                  add_member(column, "type", json_object_new_string(result->columns[i].type_name));
        if (!ok || !add_element(columns, column)) {
            if (!ok)
                json_object_put(column);
            json_object_put(columns);
            return NULL;
        }
    }
    return columns;
}

/* One row as [v, v, ...] (caller owns), or NULL when out of memory: a value that could not
 * be built must not turn into a JSON null, which would say SQL NULL. */
static json_object *row_json(const db_result *result, size_t row) {
    json_object *values = json_object_new_array_ext(result->column_count);
    for (int i = 0; values && i < result->column_count; i++) {
        json_object *value;
        if (!cell_json(&result->columns[i], db_result_cell(result, row, i), &value) || !add_element(values, value)) {
            json_object_put(values);
            return NULL;
        }
    }
    return values;
}

json_object *format_rows_json(const db_result *result) {
    json_object *rows = json_object_new_array_ext((int)result->row_count);
    for (size_t row = 0; rows && row < result->row_count; row++) {
        json_object *values = row_json(result, row);
        if (values == NULL || !add_element(rows, values)) {
            json_object_put(rows);
            return NULL;
        }
    }
    return rows;
}

/* COPY text format escapes, so a value never breaks the row or column structure. */
static void append_escaped(strbuf *out, const char *text, size_t length) {
    size_t start = 0;
    for (size_t i = 0; i < length; i++) {
        const char *escape = NULL;
        switch (text[i]) {
        case '\\': escape = "\\\\"; break;
        case '\t': escape = "\\t"; break;
        case '\n': escape = "\\n"; break;
        case '\r': escape = "\\r"; break;
        default: continue;
        }
        strbuf_append(out, text + start, i - start);
        strbuf_puts(out, escape);
        start = i + 1;
    }
    strbuf_append(out, text + start, length - start);
}

char *format_rows_text(const db_result *result) {
    strbuf out = {0};
    for (int i = 0; i < result->column_count; i++) {
        if (i > 0)
            strbuf_puts(&out, "\t");
        append_escaped(&out, result->columns[i].name, strlen(result->columns[i].name));
        strbuf_puts(&out, ":");
        strbuf_puts(&out, result->columns[i].type_name);
    }
    strbuf_puts(&out, "\n");
    for (size_t row = 0; row < result->row_count; row++) {
        for (int i = 0; i < result->column_count; i++) {
            const db_cell *cell = db_result_cell(result, row, i);
            if (i > 0)
                strbuf_puts(&out, "\t");
            if (cell->value == NULL) {
                strbuf_puts(&out, "\\N");
                continue;
            }
            append_escaped(&out, cell->value, cell->length);
            if (is_cut(cell))
                strbuf_puts(&out, FORMAT_CUT_MARK);
        }
        strbuf_puts(&out, "\n");
    }
    return strbuf_take(&out);
}
