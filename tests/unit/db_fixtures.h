/* Fixtures shared by the database layer's unit tests (test_db_*.c): db_result built by hand
 * as the pool builds it (every string and array malloc'd, freed by db_result_free), and
 * assertions that free what they compare, so a failing test leaks nothing even when run
 * without fork under valgrind. */
#ifndef PGSAFE_TESTS_DB_FIXTURES_H
#define PGSAFE_TESTS_DB_FIXTURES_H

#include <json-c/json.h>
#include <stddef.h>

#include "db/result.h"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

/* PostgreSQL type oids (pg_type.dat). */
enum {
    OID_BOOL = 16,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_OID = 26,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_DATE = 1082,
    OID_NUMERIC = 1700,
    OID_JSONB = 3802
};

/* Asserts that actual (owned, may be NULL) equals expected, freeing actual before failing. */
void expect_string_and_free(char *actual, const char *expected, const char *context);

/* The JSON text of an object as a client would read it (caller frees); "null" for NULL. */
char *serialize(json_object *object);

/* Asserts the serialization of object (which it releases). */
void expect_json_and_put(json_object *object, const char *expected, const char *context);

/* depth nested arrays, "[[...]]", and depth nested objects, {"a":{"a":...1...}} (caller frees). */
char *nested_arrays(size_t depth);
char *nested_objects(size_t depth);

/* An empty DB_OK result with room for column_count columns and row_count rows of NULLs. */
db_result *result_new(int column_count, size_t row_count);

/* Names and types a column. */
void result_column(db_result *result, int column, const char *name, unsigned type_oid, const char *type_name);

/* Sets a cell to the first kept bytes of a value PostgreSQL sent with full_length bytes;
 * value NULL is SQL NULL. */
void result_set_cut(db_result *result, size_t row, int column, const char *value, size_t kept, size_t full_length);

/* Sets a cell to a whole value (NULL for SQL NULL). */
void result_set(db_result *result, size_t row, int column, const char *value);

/* One row of the catalog's load query: (kind, a, b, c). */
typedef struct catalog_row {
    const char *kind, *a, *b, *c;
} catalog_row;

/* The result the catalog's load query would give with these rows (four text columns). */
db_result *catalog_result(const catalog_row *rows, size_t count);

#endif
