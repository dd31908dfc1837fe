/* Fixtures shared by the database layer's unit tests (see db_fixtures.h). */
#include "db_fixtures.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

/* How the server serializes, so expected texts are what a client would read. */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Asserts that actual (owned, may be NULL) equals expected, freeing actual before failing,
 * so a failing test leaks nothing even when run without fork under valgrind. */
void expect_string_and_free(char *actual, const char *expected, const char *context) {
    bool same = actual != NULL && strcmp(actual, expected) == 0;
    char failure[2048];
    if (!same)
        snprintf(failure, sizeof failure, "%s: expected \"%s\", got \"%s\"", context, expected,
                 actual ? actual : "(NULL)");
    free(actual);
    if (!same)
        ck_abort_msg("%s", failure);
}

/* The JSON text of an object as a client would read it (caller frees); "null" for NULL. */
char *serialize(json_object *object) {
    char *text = strdup(json_object_to_json_string_ext(object, JSON_FLAGS));
    ck_assert_ptr_nonnull(text);
    return text;
}

/* Asserts the serialization of object (which it releases). */
void expect_json_and_put(json_object *object, const char *expected, const char *context) {
    char *text = serialize(object);
    json_object_put(object);
    expect_string_and_free(text, expected, context);
}

/* depth nested arrays, "[[...]]" (caller frees). */
char *nested_arrays(size_t depth) {
    char *text = malloc(2 * depth + 1);
    ck_assert_ptr_nonnull(text);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = '\0';
    return text;
}

/* depth nested objects, {"a":{"a":...1...}} (caller frees). */
char *nested_objects(size_t depth) {
    strbuf text = {0};
    for (size_t i = 0; i < depth; i++)
        strbuf_puts(&text, "{\"a\":");
    strbuf_puts(&text, "1");
    for (size_t i = 0; i < depth; i++)
        strbuf_puts(&text, "}");
    char *joined = strbuf_take(&text);
    ck_assert_ptr_nonnull(joined);
    return joined;
}

/* ---------------------------------------------------------------------------------------
 * Results built by hand, as the pool builds them: every string and array malloc'd, freed by
 * db_result_free.
 * ------------------------------------------------------------------------------------- */

db_result *result_new(int column_count, size_t row_count) {
    db_result *result = calloc(1, sizeof *result);
    ck_assert_ptr_nonnull(result);
    size_t cells = row_count * (size_t)column_count;
    result->status = DB_OK;
    result->column_count = column_count;
    result->columns = calloc(column_count > 0 ? (size_t)column_count : 1, sizeof *result->columns);
    result->row_count = row_count;
    result->cells = calloc(cells > 0 ? cells : 1, sizeof *result->cells);
    ck_assert(result->columns != NULL && result->cells != NULL);
    return result;
}

void result_column(db_result *result, int column, const char *name, unsigned type_oid, const char *type_name) {
    db_column *slot = &result->columns[column];
    slot->name = strdup(name);
    slot->type_oid = type_oid;
    slot->type_name = strdup(type_name);
    ck_assert(slot->name != NULL && slot->type_name != NULL);
}

/* Sets a cell to the first kept bytes of a value PostgreSQL sent with full_length bytes;
 * value NULL is SQL NULL. */
void result_set_cut(db_result *result, size_t row, int column, const char *value, size_t kept, size_t full_length) {
    db_cell *cell = &result->cells[row * (size_t)result->column_count + (size_t)column];
    free(cell->value);
    *cell = (db_cell){0};
    if (value == NULL)
        return;
    cell->value = str_copy_length(value, kept);
    ck_assert_ptr_nonnull(cell->value);
    cell->length = kept;
    cell->full_length = full_length;
}

/* Sets a cell to a whole value (NULL for SQL NULL). */
void result_set(db_result *result, size_t row, int column, const char *value) {
    size_t length = value ? strlen(value) : 0;
    result_set_cut(result, row, column, value, length, length);
}

db_result *catalog_result(const catalog_row *rows, size_t count) {
    db_result *result = result_new(4, count);
    static const char *const names[] = {"kind", "a", "b", "c"};
    for (int column = 0; column < 4; column++)
        result_column(result, column, names[column], OID_TEXT, "text");
    for (size_t row = 0; row < count; row++) {
        result_set(result, row, 0, rows[row].kind);
        result_set(result, row, 1, rows[row].a);
        result_set(result, row, 2, rows[row].b);
        result_set(result, row, 3, rows[row].c);
    }
    return result;
}
