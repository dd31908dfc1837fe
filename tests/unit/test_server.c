/* Unit tests of the server's C modules, with Check: the string helpers (src/util/strings.h),
 * result formatting (src/db/format.h) and the live catalog (src/db/catalog.h).
 *
 * Suites: strings, format, catalog. No database is needed: results are
 * built by hand as the pool would build them.
 *
 *   ./test_server                                   # forks per test
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_server
 *
 * Every object is freed, so the run is clean under valgrind and AddressSanitizer. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/catalog.h"
#include "db/format.h"
#include "util/strings.h"

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

/* How jsonrpc_write serializes, so expected texts are what a client would read. */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------- */

/* Asserts that actual (owned, may be NULL) equals expected, freeing actual before failing,
 * so a failing test leaks nothing even when run without fork under valgrind. */
static void expect_string_and_free(char *actual, const char *expected, const char *context) {
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
static char *serialize(json_object *object) {
    char *text = strdup(json_object_to_json_string_ext(object, JSON_FLAGS));
    ck_assert_ptr_nonnull(text);
    return text;
}

/* Asserts the serialization of object (which it releases). */
static void expect_json_and_put(json_object *object, const char *expected, const char *context) {
    char *text = serialize(object);
    json_object_put(object);
    expect_string_and_free(text, expected, context);
}

/* depth nested arrays, "[[...]]" (caller frees). */
static char *nested_arrays(size_t depth) {
    char *text = malloc(2 * depth + 1);
    ck_assert_ptr_nonnull(text);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = '\0';
    return text;
}

/* depth nested objects, {"a":{"a":...1...}} (caller frees). */
static char *nested_objects(size_t depth) {
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

static db_result *result_new(int column_count, size_t row_count) {
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

static void result_column(db_result *result, int column, const char *name, unsigned type_oid, const char *type_name) {
    db_column *slot = &result->columns[column];
    slot->name = strdup(name);
    slot->type_oid = type_oid;
    slot->type_name = strdup(type_name);
    ck_assert(slot->name != NULL && slot->type_name != NULL);
}

/* Sets a cell to the first kept bytes of a value PostgreSQL sent with full_length bytes;
 * value NULL is SQL NULL. */
static void result_set_cut(db_result *result, size_t row, int column, const char *value, size_t kept,
                           size_t full_length) {
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
static void result_set(db_result *result, size_t row, int column, const char *value) {
    size_t length = value ? strlen(value) : 0;
    result_set_cut(result, row, column, value, length, length);
}

/* format_cell_json of the first kept bytes of value (full_length sent; NULL for SQL NULL) in
 * a column of type_oid, serialized; *type is its JSON type. Caller frees. The kept bytes are
 * copied, so a read past them is caught by the sanitizers. */
static char *cell_json(unsigned type_oid, const char *value, size_t kept, size_t full_length, json_type *type) {
    db_column column = {.name = (char *)"c", .type_oid = type_oid, .type_name = (char *)"t"};
    db_cell cell = {.length = kept, .full_length = full_length};
    if (value != NULL) {
        cell.value = str_copy_length(value, kept);
        ck_assert_ptr_nonnull(cell.value);
    }
    json_object *object = format_cell_json(&column, &cell);
    *type = json_object_get_type(object);
    char *text = serialize(object);
    json_object_put(object);
    free(cell.value);
    return text;
}

/* Asserts the JSON type and serialization of a whole cell. */
static void expect_cell(unsigned type_oid, const char *value, json_type expected_type, const char *expected) {
    size_t length = value ? strlen(value) : 0;
    json_type type;
    char *text = cell_json(type_oid, value, length, length, &type);
    char context[256];
    snprintf(context, sizeof context, "oid %u, value %.120s", type_oid, value ? value : "(NULL)");
    if (type != expected_type) {
        free(text);
        ck_abort_msg("%s: JSON type %s, expected %s", context, json_type_to_name(type),
                     json_type_to_name(expected_type));
    }
    expect_string_and_free(text, expected, context);
}

/* ---------------------------------------------------------------------------------------
 * Suite "strings"
 * ------------------------------------------------------------------------------------- */

START_TEST(str_printf_formats_and_allocates) {
    expect_string_and_free(str_printf("%s-%d-%zu", "a", -5, (size_t)7), "a--5-7", "str_printf");
    expect_string_and_free(str_printf("%s", ""), "", "empty");
    char *wide = str_printf("%5000s|", "x");
    ck_assert_ptr_nonnull(wide);
    ck_assert_uint_eq(strlen(wide), 5001);
    ck_assert_int_eq(wide[4999], 'x');
    ck_assert_int_eq(wide[5000], '|');
    free(wide);
}
END_TEST

START_TEST(str_copy_length_copies_a_prefix) {
    expect_string_and_free(str_copy_length("hello", 3), "hel", "prefix");
    expect_string_and_free(str_copy_length("hello", 0), "", "nothing");
    expect_string_and_free(str_copy_length("hello", 5), "hello", "whole");
    /* Bytes are copied as they are, NUL included. */
    char *copy = str_copy_length("a\0b", 3);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(memcmp(copy, "a\0b\0", 4), 0);
    free(copy);
}
END_TEST

/* True when a prefix of length bytes does not end inside a multi-byte character. */
static bool ends_on_boundary(const char *text, size_t length, size_t prefix) {
    return prefix == length || ((unsigned char)text[prefix] & 0xC0) != 0x80;
}

/* Every multi-byte width, at every cut position, inside ASCII and next to other
 * multi-byte characters: the prefix is the longest one within the limit that ends on a
 * character boundary. */
START_TEST(utf8_prefix_never_splits_a_character) {
    static const char *const texts[] = {
        "a\xC3\xA9z",                                 /* é, 2 bytes */
        "a\xE2\x82\xACz",                             /* €, 3 bytes */
        "a\xF0\x9F\x98\x80z",                         /* 😀, 4 bytes */
        "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",       /* é€😀, nothing else */
        "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xC3\xA9xy", /* 😀😀éxy */
        "plain ascii",
    };
    for (size_t t = 0; t < ARRAY_LENGTH(texts); t++) {
        const char *text = texts[t];
        size_t length = strlen(text);
        for (size_t limit = 0; limit <= length + 2; limit++) {
            size_t prefix = str_utf8_prefix(text, length, limit);
            ck_assert_msg(prefix <= limit && prefix <= length, "text %zu limit %zu: prefix %zu", t, limit, prefix);
            ck_assert_msg(ends_on_boundary(text, length, prefix), "text %zu limit %zu: prefix %zu splits a character",
                          t, limit, prefix);
            /* Longest: no boundary between prefix and the limit. */
            for (size_t longer = prefix + 1; longer <= limit && longer <= length; longer++)
                ck_assert_msg(!ends_on_boundary(text, length, longer),
                              "text %zu limit %zu: prefix %zu, but %zu is a boundary too", t, limit, prefix, longer);
        }
    }
    /* Explicit values for the 4-byte character after "a". */
    const char *smile = "a\xF0\x9F\x98\x80z";
    static const size_t expected[] = {0, 1, 1, 1, 1, 5, 6};
    for (size_t limit = 0; limit < ARRAY_LENGTH(expected); limit++)
        ck_assert_uint_eq(str_utf8_prefix(smile, 6, limit), expected[limit]);
}
END_TEST

START_TEST(utf8_prefix_keeps_short_text_whole) {
    ck_assert_uint_eq(str_utf8_prefix("", 0, 0), 0);
    ck_assert_uint_eq(str_utf8_prefix("abc", 3, 3), 3);
    ck_assert_uint_eq(str_utf8_prefix("abc", 3, 100), 3);
    ck_assert_uint_eq(str_utf8_prefix("\xC3\xA9", 2, 2), 2);
    /* Only the first length bytes are considered. */
    ck_assert_uint_eq(str_utf8_prefix("abcdef", 4, 10), 4);
}
END_TEST

START_TEST(strbuf_grows_across_many_appends) {
    strbuf buffer = {0};
    for (int i = 0; i < 10000; i++)
        strbuf_append(&buffer, "0123456789", 10);
    strbuf_printf(&buffer, "|%d|", 42);
    strbuf_puts(&buffer, "end");
    ck_assert(!buffer.failed);
    ck_assert_uint_eq(buffer.length, 100000 + 4 + 3);
    ck_assert_uint_gt(buffer.capacity, buffer.length);
    ck_assert_int_eq(buffer.data[buffer.length], '\0');
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(memcmp(buffer.data + 10 * i, "0123456789", 10), 0);
    ck_assert_str_eq(buffer.data + 100000, "|42|end");
    size_t length = buffer.length;
    char *text = strbuf_take(&buffer);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), length);
    /* Taking resets the buffer, which can be used again. */
    ck_assert_ptr_null(buffer.data);
    ck_assert_uint_eq(buffer.length, 0);
    ck_assert_uint_eq(buffer.capacity, 0);
    free(text);
    strbuf_puts(&buffer, "again");
    expect_string_and_free(strbuf_take(&buffer), "again", "reused buffer");
}
END_TEST

START_TEST(strbuf_keeps_bytes_as_they_are) {
    strbuf buffer = {0};
    strbuf_append(&buffer, "a\0b", 3);
    strbuf_append(&buffer, "", 0);
    ck_assert_uint_eq(buffer.length, 3);
    ck_assert_int_eq(memcmp(buffer.data, "a\0b\0", 4), 0);
    strbuf_free(&buffer);
    ck_assert_ptr_null(buffer.data);
    strbuf_free(&buffer); /* a second free is safe */
}
END_TEST

START_TEST(strbuf_take_of_an_empty_buffer_is_an_empty_string) {
    strbuf buffer = {0};
    expect_string_and_free(strbuf_take(&buffer), "", "never appended");
    strbuf_append(&buffer, "", 0);
    expect_string_and_free(strbuf_take(&buffer), "", "empty append");
    strbuf_puts(&buffer, "");
    expect_string_and_free(strbuf_take(&buffer), "", "empty puts");
}
END_TEST

START_TEST(strbuf_take_after_a_failure_is_null) {
    strbuf buffer = {0};
    strbuf_puts(&buffer, "partial");
    buffer.failed = true; /* as when an allocation failed along the way */
    strbuf_puts(&buffer, " more");
    ck_assert_uint_eq(buffer.length, 7);
    ck_assert_ptr_null(strbuf_take(&buffer)); /* and the contents are freed */
    ck_assert(!buffer.failed);
    ck_assert_ptr_null(buffer.data);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "format"
 * ------------------------------------------------------------------------------------- */

START_TEST(booleans) {
    expect_cell(OID_BOOL, "t", json_type_boolean, "true");
    expect_cell(OID_BOOL, "f", json_type_boolean, "false");
}
END_TEST

START_TEST(integers_within_2_53_are_numbers) {
    expect_cell(OID_INT2, "0", json_type_int, "0");
    expect_cell(OID_INT2, "-32768", json_type_int, "-32768");
    expect_cell(OID_INT2, "32767", json_type_int, "32767");
    expect_cell(OID_INT4, "-2147483648", json_type_int, "-2147483648");
    expect_cell(OID_INT4, "2147483647", json_type_int, "2147483647");
    expect_cell(OID_INT8, "9007199254740992", json_type_int, "9007199254740992");
    expect_cell(OID_INT8, "-9007199254740992", json_type_int, "-9007199254740992");
    expect_cell(OID_INT8, "1234567890123", json_type_int, "1234567890123");
}
END_TEST

START_TEST(integers_beyond_2_53_are_strings) {
    expect_cell(OID_INT8, "9007199254740993", json_type_string, "\"9007199254740993\"");
    expect_cell(OID_INT8, "-9007199254740993", json_type_string, "\"-9007199254740993\"");
    expect_cell(OID_INT8, "9223372036854775807", json_type_string, "\"9223372036854775807\"");
    expect_cell(OID_INT8, "-9223372036854775808", json_type_string, "\"-9223372036854775808\"");
    /* Out of long long's range altogether. */
    expect_cell(OID_INT8, "99999999999999999999", json_type_string, "\"99999999999999999999\"");
}
END_TEST

START_TEST(oids_are_numbers) {
    expect_cell(OID_OID, "0", json_type_int, "0");
    expect_cell(OID_OID, "16384", json_type_int, "16384");
    expect_cell(OID_OID, "4294967295", json_type_int, "4294967295");
}
END_TEST

START_TEST(floats_keep_postgresql_digits) {
    expect_cell(OID_FLOAT8, "0.1", json_type_double, "0.1");
    expect_cell(OID_FLOAT8, "1e+100", json_type_double, "1e+100");
    expect_cell(OID_FLOAT8, "-1.5e-07", json_type_double, "-1.5e-07");
    expect_cell(OID_FLOAT8, "3.141592653589793", json_type_double, "3.141592653589793");
    expect_cell(OID_FLOAT8, "1.7976931348623157e+308", json_type_double, "1.7976931348623157e+308");
    expect_cell(OID_FLOAT8, "-0", json_type_double, "-0");
    expect_cell(OID_FLOAT8, "42", json_type_double, "42");
    /* float4's shortest digits, not the double nearest to them. */
    expect_cell(OID_FLOAT4, "1.1", json_type_double, "1.1");
    expect_cell(OID_FLOAT4, "3.4028235e+38", json_type_double, "3.4028235e+38");

    json_type type;
    db_column column = {.name = (char *)"c", .type_oid = OID_FLOAT8, .type_name = (char *)"double precision"};
    db_cell cell = {.value = (char *)"0.1", .length = 3, .full_length = 3};
    json_object *value = format_cell_json(&column, &cell);
    type = json_object_get_type(value);
    ck_assert_int_eq(type, json_type_double);
    ck_assert(json_object_get_double(value) == 0.1);
    json_object_put(value);
}
END_TEST

START_TEST(non_finite_floats_are_strings) {
    expect_cell(OID_FLOAT8, "NaN", json_type_string, "\"NaN\"");
    expect_cell(OID_FLOAT8, "Infinity", json_type_string, "\"Infinity\"");
    expect_cell(OID_FLOAT8, "-Infinity", json_type_string, "\"-Infinity\"");
    expect_cell(OID_FLOAT4, "NaN", json_type_string, "\"NaN\"");
    expect_cell(OID_FLOAT4, "-Infinity", json_type_string, "\"-Infinity\"");
}
END_TEST

START_TEST(numeric_is_a_string) {
    expect_cell(OID_NUMERIC, "123.4500", json_type_string, "\"123.4500\"");
    expect_cell(OID_NUMERIC, "12345678901234567890.123456789", json_type_string, "\"12345678901234567890.123456789\"");
    expect_cell(OID_NUMERIC, "NaN", json_type_string, "\"NaN\"");
    expect_cell(OID_NUMERIC, "1", json_type_string, "\"1\"");
}
END_TEST

START_TEST(json_and_jsonb_are_embedded) {
    static const unsigned types[] = {OID_JSON, OID_JSONB};
    for (size_t i = 0; i < ARRAY_LENGTH(types); i++) {
        expect_cell(types[i], "{\"b\": 2, \"a\": [1, 2.5, \"x\", null, true, false]}", json_type_object,
                    "{\"b\":2,\"a\":[1,2.5,\"x\",null,true,false]}");
        expect_cell(types[i], "[1, 2, 3]", json_type_array, "[1,2,3]");
        expect_cell(types[i], "[]", json_type_array, "[]");
        expect_cell(types[i], "{}", json_type_object, "{}");
        expect_cell(types[i], "{\"k\": {\"n\": [[{}]]}}", json_type_object, "{\"k\":{\"n\":[[{}]]}}");
        /* A scalar string, and escapes resolved then written again. */
        expect_cell(types[i], "\"abc\"", json_type_string, "\"abc\"");
        expect_cell(types[i], "\"a\\\"b\\n\"", json_type_string, "\"a\\\"b\\n\"");
        expect_cell(types[i], "{\"k\": \"\\u00e9\"}", json_type_object, "{\"k\":\"\xC3\xA9\"}");
        /* json keeps its input's whitespace; it is not part of the value. */
        expect_cell(types[i], "  [ 1 ,2 ]  ", json_type_array, "[1,2]");
        /* A number inside keeps its digits. */
        expect_cell(types[i], "[1.0e5, -0.5, 9007199254740993]", json_type_array, "[1.0e5,-0.5,9007199254740993]");
        /* Scalar documents: a number or literal at the very end is complete too. */
        expect_cell(types[i], "42", json_type_int, "42");
        expect_cell(types[i], "-1.5e3", json_type_double, "-1.5e3");
        expect_cell(types[i], "true", json_type_boolean, "true");
        expect_cell(types[i], "false", json_type_boolean, "false");
        expect_cell(types[i], "null", json_type_null, "null");
    }
}
END_TEST

static bool kept_as_exact_string(unsigned type_oid, const char *value);

START_TEST(json_with_an_integer_beyond_64_bits_is_kept_as_a_string) {
    /* json-c would clamp these to a 64-bit limit: another number. jsonb writes 1e400 as an integer. */
    static const unsigned types[] = {OID_JSON, OID_JSONB};
    static const char *const values[] = {"{\"b\": 12345678901234567890123}", "[-12345678901234567890123]",
                                         "18446744073709551616", "[1, -9223372036854775809]",
                                         "{\"a\": {\"b\": [100000000000000000000000000000000000000000000]}}"};
    for (size_t i = 0; i < ARRAY_LENGTH(types); i++) {
        for (size_t j = 0; j < ARRAY_LENGTH(values); j++)
            ck_assert_msg(kept_as_exact_string(types[i], values[j]), "%s: not kept as the exact string", values[j]);
        /* The limits themselves fit, and digits inside strings or keys are not numbers. */
        expect_cell(types[i], "[18446744073709551615, -9223372036854775808]", json_type_array,
                    "[18446744073709551615,-9223372036854775808]");
        expect_cell(types[i], "{\"12345678901234567890123\": \"-12345678901234567890123\\\"\"}", json_type_object,
                    "{\"12345678901234567890123\":\"-12345678901234567890123\\\"\"}");
        /* Numbers with a fraction or exponent keep their digits as doubles. */
        expect_cell(types[i], "[1e400, 123456789012345678901234.5]", json_type_array,
                    "[1e400,123456789012345678901234.5]");
    }
}
END_TEST

START_TEST(invalid_json_is_kept_as_a_string) {
    expect_cell(OID_JSONB, "{\"a\":", json_type_string, "\"{\\\"a\\\":\"");
    expect_cell(OID_JSONB, "[1 2]", json_type_string, "\"[1 2]\"");
    expect_cell(OID_JSON, "{\"a\":1}x", json_type_string, "\"{\\\"a\\\":1}x\"");
    expect_cell(OID_JSON, "{\"a\":1} {}", json_type_string, "\"{\\\"a\\\":1} {}\"");
    expect_cell(OID_JSON, "", json_type_string, "\"\"");
}
END_TEST

/* True when format_cell_json gives value back as a JSON string, byte for byte. */
static bool kept_as_exact_string(unsigned type_oid, const char *value) {
    db_column column = {.name = (char *)"c", .type_oid = type_oid, .type_name = (char *)"t"};
    db_cell cell = {.value = (char *)value, .length = strlen(value), .full_length = strlen(value)};
    json_object *object = format_cell_json(&column, &cell);
    bool exact = json_object_is_type(object, json_type_string) && strcmp(json_object_get_string(object), value) == 0;
    json_object_put(object);
    return exact;
}

START_TEST(too_deep_json_is_kept_as_a_string) {
    /* 128 levels are embedded; deeper values stay exact text. */
    char *deep = nested_arrays(128);
    json_type type;
    free(cell_json(OID_JSONB, deep, strlen(deep), strlen(deep), &type));
    free(deep);
    ck_assert_int_eq(type, json_type_array);

    static const size_t depths[] = {129, 1000, 100000};
    for (size_t i = 0; i < ARRAY_LENGTH(depths); i++) {
        deep = nested_arrays(depths[i]);
        bool exact = kept_as_exact_string(OID_JSONB, deep);
        free(deep);
        ck_assert_msg(exact, "%zu nested arrays: not kept as the exact string", depths[i]);
        deep = nested_objects(depths[i]);
        exact = kept_as_exact_string(OID_JSON, deep);
        free(deep);
        ck_assert_msg(exact, "%zu nested objects: not kept as the exact string", depths[i]);
    }
}
END_TEST

START_TEST(text_and_other_types_are_strings) {
    expect_cell(OID_TEXT, "hello", json_type_string, "\"hello\"");
    expect_cell(OID_TEXT, "", json_type_string, "\"\"");
    expect_cell(OID_TEXT, "two\nlines\tand \"quotes\" \\ /", json_type_string,
                "\"two\\nlines\\tand \\\"quotes\\\" \\\\ /\"");
    expect_cell(OID_TEXT, "caf\xC3\xA9 \xF0\x9F\x98\x80", json_type_string, "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
    /* Text that looks like another type stays text. */
    expect_cell(OID_TEXT, "42", json_type_string, "\"42\"");
    expect_cell(OID_TEXT, "t", json_type_string, "\"t\"");
    expect_cell(OID_TEXT, "{\"a\": 1}", json_type_string, "\"{\\\"a\\\": 1}\"");
    expect_cell(OID_DATE, "2024-02-29", json_type_string, "\"2024-02-29\"");
    expect_cell(987654, "(1,2)", json_type_string, "\"(1,2)\"");
}
END_TEST

START_TEST(sql_null_is_json_null) {
    static const unsigned types[] = {OID_BOOL,   OID_INT2,    OID_INT4, OID_INT8,  OID_OID,  OID_FLOAT4,
                                     OID_FLOAT8, OID_NUMERIC, OID_JSON, OID_JSONB, OID_TEXT, OID_DATE};
    for (size_t i = 0; i < ARRAY_LENGTH(types); i++) {
        db_column column = {.name = (char *)"c", .type_oid = types[i], .type_name = (char *)"t"};
        db_cell cell = {0};
        ck_assert_ptr_null(format_cell_json(&column, &cell));
    }
}
END_TEST

/* Asserts a cut cell: kept bytes of value, full_length sent. */
static void expect_cut_cell(unsigned type_oid, const char *value, size_t kept, const char *expected) {
    json_type type;
    char *text = cell_json(type_oid, value, kept, strlen(value), &type);
    char context[256];
    snprintf(context, sizeof context, "oid %u, value %s cut at %zu", type_oid, value, kept);
    if (type != json_type_string) {
        free(text);
        ck_abort_msg("%s: JSON type %s, expected string", context, json_type_to_name(type));
    }
    expect_string_and_free(text, expected, context);
}

START_TEST(cut_cells_are_strings_with_the_mark) {
    ck_assert_str_eq(FORMAT_CUT_MARK, "\xE2\x80\xA6");
    expect_cut_cell(OID_TEXT, "abcdefgh", 3, "\"abc\xE2\x80\xA6\"");
    expect_cut_cell(OID_TEXT, "h\xC3\xA9llo", 3, "\"h\xC3\xA9\xE2\x80\xA6\"");
    expect_cut_cell(OID_TEXT, "line\nbreak", 6, "\"line\\nb\xE2\x80\xA6\"");
    expect_cut_cell(OID_TEXT, "abc", 0, "\"\xE2\x80\xA6\"");
    /* Whatever the type: the kept bytes are no longer a value of it. */
    expect_cut_cell(OID_INT4, "1234567", 3, "\"123\xE2\x80\xA6\"");
    expect_cut_cell(OID_INT8, "9007199254740993", 4, "\"9007\xE2\x80\xA6\"");
    expect_cut_cell(OID_FLOAT8, "0.123456", 3, "\"0.1\xE2\x80\xA6\"");
    expect_cut_cell(OID_NUMERIC, "123.456", 4, "\"123.\xE2\x80\xA6\"");
    expect_cut_cell(OID_JSONB, "{\"a\": [1, 2, 3]}", 9, "\"{\\\"a\\\": [1,\xE2\x80\xA6\"");
    expect_cut_cell(OID_JSON, "[1, 2]", 6 - 1, "\"[1, 2\xE2\x80\xA6\"");
    expect_cut_cell(OID_BOOL, "true", 1, "\"t\xE2\x80\xA6\"");
}
END_TEST

/* id integer, name text, ok boolean, doc jsonb: (1, 'alice', t, {"x": 1}), (2, NULL, f, NULL). */
static db_result *sample_result(void) {
    db_result *result = result_new(4, 2);
    result_column(result, 0, "id", OID_INT4, "integer");
    result_column(result, 1, "name", OID_TEXT, "text");
    result_column(result, 2, "ok", OID_BOOL, "boolean");
    result_column(result, 3, "doc", OID_JSONB, "jsonb");
    result_set(result, 0, 0, "1");
    result_set(result, 0, 1, "alice");
    result_set(result, 0, 2, "t");
    result_set(result, 0, 3, "{\"x\": 1}");
    result_set(result, 1, 0, "2");
    result_set(result, 1, 1, NULL);
    result_set(result, 1, 2, "f");
    result_set(result, 1, 3, NULL);
    return result;
}

START_TEST(columns_json) {
    db_result *result = sample_result();
    json_object *columns = format_columns_json(result);
    db_result_free(result);
    expect_json_and_put(columns,
                        "[{\"name\":\"id\",\"type\":\"integer\"},{\"name\":\"name\",\"type\":\"text\"},"
                        "{\"name\":\"ok\",\"type\":\"boolean\"},{\"name\":\"doc\",\"type\":\"jsonb\"}]",
                        "columns");
    result = result_new(0, 0);
    columns = format_columns_json(result);
    db_result_free(result);
    expect_json_and_put(columns, "[]", "no columns");
}
END_TEST

START_TEST(rows_json) {
    db_result *result = sample_result();
    json_object *rows = format_rows_json(result);
    db_result_free(result);
    expect_json_and_put(rows, "[[1,\"alice\",true,{\"x\":1}],[2,null,false,null]]", "rows");
}
END_TEST

START_TEST(rows_json_with_cut_cells) {
    db_result *result = result_new(2, 1);
    result_column(result, 0, "n", OID_INT8, "bigint");
    result_column(result, 1, "doc", OID_JSON, "json");
    result_set_cut(result, 0, 0, "123456", 2, 6);
    result_set_cut(result, 0, 1, "[1, 2]", 2, 6);
    json_object *rows = format_rows_json(result);
    db_result_free(result);
    expect_json_and_put(rows, "[[\"12\xE2\x80\xA6\",\"[1\xE2\x80\xA6\"]]", "cut rows");
}
END_TEST

START_TEST(rows_json_of_no_rows) {
    db_result *result = result_new(2, 0);
    result_column(result, 0, "id", OID_INT4, "integer");
    result_column(result, 1, "name", OID_TEXT, "text");
    json_object *rows = format_rows_json(result);
    json_object *columns = format_columns_json(result);
    db_result_free(result);
    expect_json_and_put(rows, "[]", "no rows");
    expect_json_and_put(columns, "[{\"name\":\"id\",\"type\":\"integer\"},{\"name\":\"name\",\"type\":\"text\"}]",
                        "columns of no rows");
}
END_TEST

START_TEST(rows_text_header_and_rows) {
    db_result *result = sample_result();
    char *text = format_rows_text(result);
    db_result_free(result);
    expect_string_and_free(text,
                           "id:integer\tname:text\tok:boolean\tdoc:jsonb\n"
                           "1\talice\tt\t{\"x\": 1}\n"
                           "2\t\\N\tf\t\\N\n",
                           "rows text");
}
END_TEST

START_TEST(rows_text_escapes) {
    static const char *const values[] = {"a\\b", "tab\there", "new\nline", "cr\rx", "\\N", "", "\r\n\t\\", NULL};
    static const char *const expected = "v\\tw:text\n"
                                        "a\\\\b\n"
                                        "tab\\there\n"
                                        "new\\nline\n"
                                        "cr\\rx\n"
                                        "\\\\N\n"
                                        "\n"
                                        "\\r\\n\\t\\\\\n"
                                        "\\N\n";
    db_result *result = result_new(1, ARRAY_LENGTH(values));
    result_column(result, 0, "v\tw", OID_TEXT, "text");
    for (size_t row = 0; row < ARRAY_LENGTH(values); row++)
        result_set(result, row, 0, values[row]);
    char *text = format_rows_text(result);
    db_result_free(result);
    expect_string_and_free(text, expected, "escapes");
}
END_TEST

START_TEST(rows_text_cut_mark) {
    db_result *result = result_new(3, 1);
    result_column(result, 0, "a", OID_TEXT, "text");
    result_column(result, 1, "b", OID_INT4, "integer");
    result_column(result, 2, "c", OID_TEXT, "text");
    result_set_cut(result, 0, 0, "a\tbcdef", 3, 7);
    result_set_cut(result, 0, 1, "1234", 2, 4);
    result_set(result, 0, 2, "whole");
    char *text = format_rows_text(result);
    db_result_free(result);
    expect_string_and_free(text, "a:text\tb:integer\tc:text\na\\tb\xE2\x80\xA6\t12\xE2\x80\xA6\twhole\n", "cut mark");
}
END_TEST

START_TEST(rows_text_of_an_empty_result) {
    db_result *result = result_new(2, 0);
    result_column(result, 0, "id", OID_INT4, "integer");
    result_column(result, 1, "name", OID_TEXT, "character varying(20)");
    char *text = format_rows_text(result);
    db_result_free(result);
    expect_string_and_free(text, "id:integer\tname:character varying(20)\n", "no rows");

    result = result_new(0, 0);
    text = format_rows_text(result);
    db_result_free(result);
    expect_string_and_free(text, "\n", "no columns");
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "catalog": rows (kind, a, b, c) as catalog_load_sql returns them.
 * ------------------------------------------------------------------------------------- */

typedef struct catalog_row {
    const char *kind, *a, *b, *c;
} catalog_row;

static db_result *catalog_result(const catalog_row *rows, size_t count) {
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

static bool load(db_catalog *catalog, db_posture *posture, const catalog_row *rows, size_t count) {
    db_result *result = catalog_result(rows, count);
    bool loaded = catalog_load(catalog, posture, result);
    db_result_free(result);
    return loaded;
}

static guard_volatility function_of(db_catalog *catalog, const char *schema, const char *name) {
    const guard_catalog *guard = catalog_for_guard(catalog);
    return guard->function_volatility(guard->context, schema, name);
}

static guard_volatility operator_of(db_catalog *catalog, const char *schema, const char *name) {
    const guard_catalog *guard = catalog_for_guard(catalog);
    return guard->operator_volatility(guard->context, schema, name);
}

static guard_volatility type_of(db_catalog *catalog, const char *schema, const char *name) {
    const guard_catalog *guard = catalog_for_guard(catalog);
    return guard->type_volatility(guard->context, schema, name);
}

START_TEST(empty_catalog_knows_nothing) {
    db_catalog *catalog = catalog_new();
    ck_assert_ptr_nonnull(catalog);
    ck_assert_int_eq(function_of(catalog, NULL, "f"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "public", "f"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(operator_of(catalog, NULL, "+"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(type_of(catalog, NULL, "mood"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_ptr_null(catalog_type_name(catalog, 23));
    ck_assert_int_eq(catalog_loaded_at(catalog), 0);
    catalog_free(catalog);
    catalog_free(NULL);
}
END_TEST

START_TEST(functions_by_schema_and_name) {
    static const catalog_row rows[] = {
        {"f", "public", "imm", "i"},
        {"f", "public", "stab", "s"},
        {"f", "public", "vol", "v"},
        {"f", "app", "Mixed Case", "s"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    int64_t before = db_now_ms();
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_ge(catalog_loaded_at(catalog), before);
    ck_assert_int_gt(catalog_loaded_at(catalog), 0);
    ck_assert_int_eq(function_of(catalog, "public", "imm"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, "public", "stab"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, "public", "vol"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, NULL, "imm"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "stab"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "vol"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, "app", "Mixed Case"), GUARD_VOLATILITY_STABLE);
    /* Names are exact: no case folding, no other schema, no prefix. */
    ck_assert_int_eq(function_of(catalog, "app", "mixed case"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "app", "imm"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "public", "im"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "pg_catalog", "imm"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, NULL, "missing"), GUARD_VOLATILITY_UNKNOWN);
    /* A read-only role: the posture is known and says so. */
    ck_assert(posture.known);
    ck_assert(!posture.superuser);
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(unqualified_name_gives_the_worst_over_schemas) {
    /* Both orders: the worst wins whichever comes first. */
    static const catalog_row rows[] = {
        {"f", "a", "dup", "i"},   {"f", "b", "dup", "v"},   {"f", "c", "dup", "s"},
        {"f", "b", "other", "v"}, {"f", "a", "other", "i"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_eq(function_of(catalog, NULL, "dup"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, "a", "dup"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, "b", "dup"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, "c", "dup"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "other"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, "a", "other"), GUARD_VOLATILITY_IMMUTABLE);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(overloads_keep_the_worst) {
    /* One row per overload, aggregate support function or type I/O function. */
    static const catalog_row rows[] = {
        {"f", "public", "over", "i"}, {"f", "public", "over", "s"}, {"f", "public", "over", "i"},
        {"f", "public", "agg", "v"},  {"f", "public", "agg", "i"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_eq(function_of(catalog, "public", "over"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "over"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, "public", "agg"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, NULL, "agg"), GUARD_VOLATILITY_VOLATILE);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(unknown_volatility_is_the_worst) {
    /* 'u': an operator without a function; NULL or an odd code: nothing we can classify. */
    static const catalog_row rows[] = {
        {"o", "public", "===", "u"}, {"o", "other", "===", "i"}, {"f", "x", "odd", "?"},  {"f", "y", "odd", "i"},
        {"t", "x", "nul", NULL},     {"t", "y", "nul", "v"},     {"o", "z", "##", "i"},   {"o", "z", "##", "u"},
        {"f", "z", "late", "v"},     {"f", "z", "late", "u"},    {"f", "z", "late", "i"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_eq(operator_of(catalog, NULL, "==="), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(operator_of(catalog, "public", "==="), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(operator_of(catalog, "other", "==="), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "odd"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "y", "odd"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(type_of(catalog, NULL, "nul"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(type_of(catalog, "x", "nul"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(type_of(catalog, "y", "nul"), GUARD_VOLATILITY_VOLATILE);
    /* Unknown after a known one still wins, and a later better one does not undo it. */
    ck_assert_int_eq(operator_of(catalog, "z", "##"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "z", "late"), GUARD_VOLATILITY_UNKNOWN);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(functions_operators_and_types_are_separate) {
    static const catalog_row rows[] = {
        {"f", "public", "same", "i"}, {"o", "public", "same", "s"}, {"t", "public", "same", "v"},
        {"t", "public", "mood", "i"}, {"o", "public", "<=>", "i"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_eq(function_of(catalog, NULL, "same"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(operator_of(catalog, NULL, "same"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(type_of(catalog, NULL, "same"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(type_of(catalog, "public", "mood"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(type_of(catalog, NULL, "mood"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "mood"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(operator_of(catalog, "public", "<=>"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, "public", "<=>"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(type_of(catalog, "public", "<=>"), GUARD_VOLATILITY_UNKNOWN);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(type_names) {
    static const catalog_row rows[] = {
        {"n", "25", "text", NULL},
        {"n", "16", "boolean", NULL},
        {"n", "1043", "character varying", NULL},
        {"n", "23", "integer", NULL},
        {"n", "4294967295", "the last oid", NULL},
        {"n", "0", "-", NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_str_eq(catalog_type_name(catalog, 23), "integer");
    ck_assert_str_eq(catalog_type_name(catalog, 25), "text");
    ck_assert_str_eq(catalog_type_name(catalog, 16), "boolean");
    ck_assert_str_eq(catalog_type_name(catalog, 1043), "character varying");
    ck_assert_str_eq(catalog_type_name(catalog, 4294967295u), "the last oid");
    ck_assert_str_eq(catalog_type_name(catalog, 0), "-");
    ck_assert_ptr_null(catalog_type_name(catalog, 24));
    ck_assert_ptr_null(catalog_type_name(catalog, 99999));
    ck_assert_ptr_null(catalog_type_name(catalog, 1));
    /* Type names are not volatility entries. */
    ck_assert_int_eq(type_of(catalog, NULL, "integer"), GUARD_VOLATILITY_UNKNOWN);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* Thousands of objects and types, as a large database has: the tables grow and every one
 * is still found. */
START_TEST(many_objects_and_types) {
    enum { FUNCTIONS = 3000, TYPES = 2000 };
    catalog_row *rows = calloc(FUNCTIONS + TYPES, sizeof *rows);
    char **texts = calloc(2 * (FUNCTIONS + TYPES), sizeof *texts);
    ck_assert(rows != NULL && texts != NULL);
    static const char *const codes[] = {"i", "s", "v"};
    for (int i = 0; i < FUNCTIONS; i++) {
        texts[2 * i] = str_printf("schema_%d", i % 7);
        texts[2 * i + 1] = str_printf("function_%d", i);
        rows[i] = (catalog_row){"f", texts[2 * i], texts[2 * i + 1], codes[i % 3]};
    }
    for (int i = 0; i < TYPES; i++) {
        /* Descending oids, so that the loader must sort them. */
        int slot = FUNCTIONS + i;
        texts[2 * slot] = str_printf("%d", 100000 - 3 * i);
        texts[2 * slot + 1] = str_printf("type %d", 100000 - 3 * i);
        rows[slot] = (catalog_row){"n", texts[2 * slot], texts[2 * slot + 1], NULL};
    }
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    bool loaded = load(catalog, &posture, rows, FUNCTIONS + TYPES);
    for (int i = 0; i < 2 * (FUNCTIONS + TYPES); i++)
        free(texts[i]);
    free(texts);
    free(rows);
    ck_assert(loaded);
    static const guard_volatility expected[] = {GUARD_VOLATILITY_IMMUTABLE, GUARD_VOLATILITY_STABLE,
                                                GUARD_VOLATILITY_VOLATILE};
    for (int i = 0; i < FUNCTIONS; i++) {
        char schema[32], name[32];
        snprintf(schema, sizeof schema, "schema_%d", i % 7);
        snprintf(name, sizeof name, "function_%d", i);
        ck_assert_int_eq(function_of(catalog, schema, name), expected[i % 3]);
        ck_assert_int_eq(function_of(catalog, NULL, name), expected[i % 3]);
    }
    ck_assert_int_eq(function_of(catalog, NULL, "function_3000"), GUARD_VOLATILITY_UNKNOWN);
    for (int i = 0; i < TYPES; i++) {
        char name[32];
        snprintf(name, sizeof name, "type %d", 100000 - 3 * i);
        const char *found = catalog_type_name(catalog, (unsigned)(100000 - 3 * i));
        ck_assert_ptr_nonnull(found);
        ck_assert_str_eq(found, name);
        ck_assert_ptr_null(catalog_type_name(catalog, (unsigned)(100000 - 3 * i - 1)));
    }
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(role_row_fills_the_posture) {
    static const catalog_row rows[] = {
        {"role", "reader", "shop", "15.4 (Debian 15.4-1)"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(posture.known);
    ck_assert_str_eq(posture.role, "reader");
    ck_assert_str_eq(posture.database, "shop");
    ck_assert_str_eq(posture.server_version, "15.4 (Debian 15.4-1)");
    ck_assert(!posture.superuser);
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);
    posture_clear(&posture);
    ck_assert(!posture.known);
    ck_assert_ptr_null(posture.role);
    catalog_free(catalog);
}
END_TEST

START_TEST(superuser_can_write_and_says_it_all) {
    static const catalog_row rows[] = {
        {"role", "postgres", "shop", "15.4"},    {"attribute", "superuser", NULL, NULL},
        {"attribute", "createrole", NULL, NULL}, {"attribute", "bypassrls", NULL, NULL},
        {"write", "public.orders", "12", NULL},  {"create", "public", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.role, "postgres");
    ck_assert_str_eq(posture.write_reasons, "role attribute superuser");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(superuser_is_named_whatever_the_row_order) {
    static const catalog_row rows[] = {
        {"role", "postgres", "shop", "15.4"},
        {"attribute", "createrole", NULL, NULL},
        {"attribute", "superuser", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(posture.superuser);
    ck_assert_str_eq(posture.write_reasons, "role attribute superuser");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(other_attributes_can_write) {
    static const catalog_row rows[] = {
        {"role", "maker", "shop", "15.4"},
        {"attribute", "createdb", NULL, NULL},
        {"attribute", "createrole", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.write_reasons, "role attribute createdb, role attribute createrole");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* Server-file roles reach past the tables: a member is not a read-only role. */
START_TEST(server_file_roles_can_write) {
    static const catalog_row rows[] = {
        {"role", "reader", "shop", "15.4"},
        {"member", "pg_read_server_files", NULL, NULL},
        {"member", "pg_execute_server_program", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.write_reasons, "member of pg_read_server_files, member of pg_execute_server_program");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(write_rows_name_the_tables_and_how_many_more) {
    /* The query returns the first three tables and the total count of them. */
    static const catalog_row rows[] = {
        {"role", "writer", "shop", "15.4"},
        {"write", "public.a", "5", NULL},
        {"write", "public.b", "5", NULL},
        {"write", "public.c", "5", NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_ptr_nonnull(posture.write_reasons);
    ck_assert_ptr_nonnull(strstr(posture.write_reasons, "write privilege on public.a"));
    ck_assert_ptr_nonnull(strstr(posture.write_reasons, "write privilege on public.b"));
    ck_assert_ptr_nonnull(strstr(posture.write_reasons, "write privilege on public.c"));
    /* How many more, said once and after the last table named, not once per row. */
    const char *more = strstr(posture.write_reasons, " 2 more ");
    ck_assert_ptr_nonnull(more);
    ck_assert_ptr_null(strstr(more + strlen(" 2 more "), "more"));
    ck_assert(strstr(posture.write_reasons, "public.a") < strstr(posture.write_reasons, "public.b"));
    ck_assert(strstr(posture.write_reasons, "public.b") < strstr(posture.write_reasons, "public.c"));
    ck_assert(strstr(posture.write_reasons, "public.c") < more);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(write_rows_without_more) {
    static const catalog_row rows[] = {
        {"write", "public.a", "3", NULL},
        {"write", "public.b", "3", NULL},
        {"write", "\"Odd Schema\".\"T\"", "3", NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.write_reasons, "write privilege on public.a, write privilege on public.b, "
                                            "write privilege on \"Odd Schema\".\"T\"");
    posture_clear(&posture);
    catalog_free(catalog);

    static const catalog_row one[] = {{"write", "public.only", "1", NULL}};
    catalog = catalog_new();
    ck_assert(load(catalog, &posture, one, ARRAY_LENGTH(one)));
    ck_assert_str_eq(posture.write_reasons, "write privilege on public.only");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(create_rows) {
    static const catalog_row rows[] = {
        {"role", "owner", "shop", "15.4"},
        {"create", "public", NULL, NULL},
        {"create", "database shop", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.write_reasons, "CREATE on schema public, CREATE on database shop");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* The catalog every malformed load must leave in place. */
static const catalog_row good_rows[] = {
    {"f", "public", "old_fn", "s"},
    {"n", "23", "integer", NULL},
    {"role", "first", "shop", "15.4"},
};

/* Each is preceded by rows that would change the catalog, so that a half-done load shows. */
static const catalog_row malformed_rows[] = {
    {NULL, "public", "fn", "i"},       {"x", "public", "fn", "i"},
    {"", "public", "fn", "i"},         {"F", "public", "fn", "i"},
    {"function", "public", "fn", "i"}, {"f", NULL, "fn", "i"},
    {"f", "public", NULL, "i"},        {"o", NULL, "+", "i"},
    {"t", "public", NULL, "i"},        {"n", "99", NULL, NULL},
    {"n", NULL, "integer", NULL},      {"attribute", NULL, NULL, NULL},
    {"write", NULL, "5", NULL},        {"create", NULL, NULL, NULL},
};

START_TEST(malformed_rows_leave_the_catalog_intact) {
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, good_rows, ARRAY_LENGTH(good_rows)));
    int64_t loaded_at = catalog_loaded_at(catalog);

    const catalog_row rows[] = {
        {"f", "public", "new_fn", "i"},         {"n", "99", "new type", NULL},    {"role", "second", "other", "16"},
        {"attribute", "superuser", NULL, NULL}, {"write", "public.t", "9", NULL}, malformed_rows[_i],
        {"f", "public", "after", "i"},
    };
    ck_assert_msg(!load(catalog, &posture, rows, ARRAY_LENGTH(rows)), "malformed row %d was accepted", _i);

    ck_assert_int_eq(function_of(catalog, "public", "old_fn"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "old_fn"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "new_fn"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, NULL, "after"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_str_eq(catalog_type_name(catalog, 23), "integer");
    ck_assert_ptr_null(catalog_type_name(catalog, 99));
    ck_assert_int_eq(catalog_loaded_at(catalog), loaded_at);
    ck_assert(posture.known);
    ck_assert_str_eq(posture.role, "first");
    ck_assert(!posture.superuser);
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(a_failed_or_odd_result_is_refused) {
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, good_rows, ARRAY_LENGTH(good_rows)));
    static const catalog_row rows[] = {{"f", "public", "new_fn", "i"}, {"role", "second", "other", "16"}};

    static const db_status failures[] = {DB_SQL_ERROR, DB_UNAVAILABLE, DB_CONNECTION_LOST, DB_CANCELLED, DB_SHUTDOWN};
    for (size_t i = 0; i < ARRAY_LENGTH(failures); i++) {
        db_result *result = catalog_result(rows, ARRAY_LENGTH(rows));
        result->status = failures[i];
        result->message = strdup("permission denied for table pg_proc");
        ck_assert(!catalog_load(catalog, &posture, result));
        db_result_free(result);
    }
    /* Rows cut by a limit or the byte budget are not the whole catalog. */
    static const db_truncation cuts[] = {DB_ROW_LIMIT, DB_BYTE_BUDGET};
    for (size_t i = 0; i < ARRAY_LENGTH(cuts); i++) {
        db_result *result = catalog_result(rows, ARRAY_LENGTH(rows));
        result->truncated = cuts[i];
        ck_assert(!catalog_load(catalog, &posture, result));
        db_result_free(result);
    }
    /* Not the four columns of catalog_load_sql. */
    db_result *result = result_new(3, 1);
    for (int column = 0; column < 3; column++) {
        result_column(result, column, "x", OID_TEXT, "text");
        result_set(result, 0, column, "f");
    }
    ck_assert(!catalog_load(catalog, &posture, result));
    db_result_free(result);

    ck_assert_int_eq(function_of(catalog, NULL, "old_fn"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "new_fn"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_str_eq(posture.role, "first");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(a_reload_replaces_everything) {
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    static const catalog_row first[] = {
        {"f", "public", "old_fn", "s"},
        {"n", "23", "integer", NULL},
        {"role", "postgres", "shop", "15.4"},
        {"attribute", "superuser", NULL, NULL},
    };
    ck_assert(load(catalog, &posture, first, ARRAY_LENGTH(first)));
    ck_assert(posture.superuser);
    static const catalog_row second[] = {
        {"f", "public", "new_fn", "i"},
        {"n", "25", "text", NULL},
        {"role", "reader", "shop", "15.5"},
    };
    ck_assert(load(catalog, &posture, second, ARRAY_LENGTH(second)));
    ck_assert_int_eq(function_of(catalog, NULL, "old_fn"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "public", "new_fn"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_ptr_null(catalog_type_name(catalog, 23));
    ck_assert_str_eq(catalog_type_name(catalog, 25), "text");
    ck_assert_str_eq(posture.role, "reader");
    ck_assert_str_eq(posture.server_version, "15.5");
    ck_assert(!posture.superuser);
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);

    /* No rows at all: an empty catalog, and a posture that is known but names nobody. */
    ck_assert(load(catalog, &posture, NULL, 0));
    ck_assert_int_eq(function_of(catalog, NULL, "new_fn"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_ptr_null(catalog_type_name(catalog, 25));
    ck_assert(posture.known);
    ck_assert_ptr_null(posture.role);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* catalog_load_posture: the posture rows alone, from the quick query. */
START_TEST(posture_alone) {
    static const catalog_row rows[] = {
        {"role", "writer", "shop", "15.4"},
        {"attribute", "createdb", NULL, NULL},
        {"write", "public.a", "1", NULL},
        {"create", "database shop", NULL, NULL},
    };
    db_posture posture = {0};
    db_result *result = catalog_result(rows, ARRAY_LENGTH(rows));
    ck_assert(catalog_load_posture(&posture, result));
    db_result_free(result);
    ck_assert(posture.known);
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.role, "writer");
    ck_assert_str_eq(posture.database, "shop");
    ck_assert_str_eq(posture.server_version, "15.4");
    ck_assert_str_eq(posture.write_reasons,
                     "role attribute createdb, write privilege on public.a, CREATE on database shop");

    /* Replaced whole by the next one. */
    static const catalog_row reader[] = {{"role", "reader", "shop", "15.5"}};
    result = catalog_result(reader, ARRAY_LENGTH(reader));
    ck_assert(catalog_load_posture(&posture, result));
    db_result_free(result);
    ck_assert_str_eq(posture.role, "reader");
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);
    posture_clear(&posture);
}
END_TEST

START_TEST(posture_alone_refuses_other_rows) {
    db_posture posture = {0};
    static const catalog_row first[] = {{"role", "first", "shop", "15.4"}};
    db_result *result = catalog_result(first, ARRAY_LENGTH(first));
    ck_assert(catalog_load_posture(&posture, result));
    db_result_free(result);

    /* The rows of the whole catalog query, or posture rows without the role, or malformed. */
    static const catalog_row with_function[] = {{"role", "second", "shop", "15.4"}, {"f", "public", "fn", "i"}};
    static const catalog_row with_type[] = {{"n", "23", "integer", NULL}, {"role", "second", "shop", "15.4"}};
    static const catalog_row without_role[] = {{"attribute", "superuser", NULL, NULL}};
    static const catalog_row malformed[] = {{"role", "second", "shop", "15.4"}, {"attribute", NULL, NULL, NULL}};
    static const catalog_row unknown[] = {{"role", "second", "shop", "15.4"}, {"x", NULL, NULL, NULL}};
    static const struct {
        const catalog_row *rows;
        size_t count;
    } cases[] = {
        {with_function, ARRAY_LENGTH(with_function)},
        {with_type, ARRAY_LENGTH(with_type)},
        {without_role, ARRAY_LENGTH(without_role)},
        {malformed, ARRAY_LENGTH(malformed)},
        {unknown, ARRAY_LENGTH(unknown)},
        {NULL, 0},
    };
    for (size_t i = 0; i < ARRAY_LENGTH(cases); i++) {
        result = catalog_result(cases[i].rows, cases[i].count);
        bool loaded = catalog_load_posture(&posture, result);
        db_result_free(result);
        ck_assert_msg(!loaded, "case %zu accepted", i);
    }
    static const catalog_row second[] = {{"role", "second", "shop", "15.4"}};
    result = catalog_result(second, ARRAY_LENGTH(second));
    result->status = DB_SQL_ERROR;
    ck_assert(!catalog_load_posture(&posture, result));
    result->status = DB_OK;
    result->truncated = DB_BYTE_BUDGET;
    ck_assert(!catalog_load_posture(&posture, result));
    db_result_free(result);

    ck_assert(posture.known);
    ck_assert_str_eq(posture.role, "first");
    posture_clear(&posture);
}
END_TEST

START_TEST(load_sql_returns_the_four_columns) {
    const char *sql = catalog_load_sql();
    ck_assert_ptr_nonnull(sql);
    ck_assert_int_eq(strncmp(sql, "SELECT 'f'", 10), 0);
    static const char *const kinds[] = {"'f'", "'o'", "'t'", "'n'", "'role'", "'attribute'", "'write'", "'create'"};
    for (size_t i = 0; i < ARRAY_LENGTH(kinds); i++)
        ck_assert_msg(strstr(sql, kinds[i]) != NULL, "no %s rows", kinds[i]);
    /* One statement. */
    ck_assert_ptr_null(strchr(sql, ';'));
    /* The quick posture query is the whole query's posture part. */
    const char *posture_sql = catalog_posture_sql();
    ck_assert_int_eq(strncmp(posture_sql, "SELECT 'role'", 13), 0);
    ck_assert_ptr_nonnull(strstr(sql, posture_sql));
    ck_assert_ptr_null(strstr(posture_sql, "SELECT 'f'"));
    ck_assert_ptr_null(strstr(posture_sql, "SELECT 'n'"));
    ck_assert_ptr_null(strchr(posture_sql, ';'));
}
END_TEST

/* Runs the guard with the catalog and returns whether it allowed sql; *code is the reason. */
static bool guard_allows(db_catalog *catalog, const char *sql, guard_reason *code) {
    guard_policy policy;
    guard_policy_init(&policy);
    policy.catalog = catalog_for_guard(catalog);
    guard_result result = guard_check(sql, &policy);
    bool allowed = result.allowed;
    *code = result.code;
    guard_result_free(&result);
    return allowed;
}

static void expect_guard(db_catalog *catalog, const char *sql, guard_reason expected) {
    guard_reason code;
    bool allowed = guard_allows(catalog, sql, &code);
    ck_assert_msg(allowed == (expected == GUARD_OK) && code == expected, "%s: %s, expected %s", sql,
                  guard_reason_name(code), guard_reason_name(expected));
}

START_TEST(the_guard_consults_the_catalog) {
    static const catalog_row rows[] = {
        {"f", "public", "safe_fn", "s"}, {"f", "other", "safe_fn", "v"}, {"f", "public", "bad_fn", "v"},
        {"o", "public", "<=>", "i"},     {"o", "public", "===", "u"},    {"t", "public", "mood", "i"},
        {"t", "public", "risky", "v"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    /* Before the catalog is loaded, user objects are unknown. */
    expect_guard(catalog, "SELECT public.safe_fn(1)", GUARD_FUNCTION_UNKNOWN);
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    expect_guard(catalog, "SELECT public.safe_fn(1)", GUARD_OK);
    /* Unqualified, the name could reach other.safe_fn, which is volatile. */
    expect_guard(catalog, "SELECT safe_fn(1)", GUARD_FUNCTION_VOLATILE);
    expect_guard(catalog, "SELECT other.safe_fn(1)", GUARD_FUNCTION_VOLATILE);
    expect_guard(catalog, "SELECT public.bad_fn()", GUARD_FUNCTION_VOLATILE);
    expect_guard(catalog, "SELECT missing_fn()", GUARD_FUNCTION_UNKNOWN);
    expect_guard(catalog, "SELECT 1 <=> 2", GUARD_OK);
    expect_guard(catalog, "SELECT 1 === 2", GUARD_OPERATOR_NOT_ALLOWED);
    expect_guard(catalog, "SELECT 'happy'::mood", GUARD_OK);
    expect_guard(catalog, "SELECT 'x'::public.risky", GUARD_TYPE_NOT_ALLOWED);
    /* The catalog cannot lift the deny list. */
    expect_guard(catalog, "SELECT pg_sleep(1)", GUARD_FUNCTION_DENIED);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suites
 * ------------------------------------------------------------------------------------- */

static TCase *add_case(Suite *suite, const char *name) {
    TCase *test_case = tcase_create(name);
    tcase_set_timeout(test_case, 120);
    suite_add_tcase(suite, test_case);
    return test_case;
}

static Suite *strings_suite(void) {
    Suite *suite = suite_create("strings");
    TCase *tc = add_case(suite, "strings");
    tcase_add_test(tc, str_printf_formats_and_allocates);
    tcase_add_test(tc, str_copy_length_copies_a_prefix);
    tcase_add_test(tc, utf8_prefix_never_splits_a_character);
    tcase_add_test(tc, utf8_prefix_keeps_short_text_whole);
    tc = add_case(suite, "strbuf");
    tcase_add_test(tc, strbuf_grows_across_many_appends);
    tcase_add_test(tc, strbuf_keeps_bytes_as_they_are);
    tcase_add_test(tc, strbuf_take_of_an_empty_buffer_is_an_empty_string);
    tcase_add_test(tc, strbuf_take_after_a_failure_is_null);
    return suite;
}

static Suite *format_suite(void) {
    Suite *suite = suite_create("format");
    TCase *tc = add_case(suite, "cells");
    tcase_add_test(tc, booleans);
    tcase_add_test(tc, integers_within_2_53_are_numbers);
    tcase_add_test(tc, integers_beyond_2_53_are_strings);
    tcase_add_test(tc, oids_are_numbers);
    tcase_add_test(tc, floats_keep_postgresql_digits);
    tcase_add_test(tc, non_finite_floats_are_strings);
    tcase_add_test(tc, numeric_is_a_string);
    tcase_add_test(tc, json_and_jsonb_are_embedded);
    tcase_add_test(tc, json_with_an_integer_beyond_64_bits_is_kept_as_a_string);
    tcase_add_test(tc, invalid_json_is_kept_as_a_string);
    tcase_add_test(tc, too_deep_json_is_kept_as_a_string);
    tcase_add_test(tc, text_and_other_types_are_strings);
    tcase_add_test(tc, sql_null_is_json_null);
    tcase_add_test(tc, cut_cells_are_strings_with_the_mark);
    tc = add_case(suite, "results");
    tcase_add_test(tc, columns_json);
    tcase_add_test(tc, rows_json);
    tcase_add_test(tc, rows_json_with_cut_cells);
    tcase_add_test(tc, rows_json_of_no_rows);
    tcase_add_test(tc, rows_text_header_and_rows);
    tcase_add_test(tc, rows_text_escapes);
    tcase_add_test(tc, rows_text_cut_mark);
    tcase_add_test(tc, rows_text_of_an_empty_result);
    return suite;
}

static Suite *catalog_suite(void) {
    Suite *suite = suite_create("catalog");
    TCase *tc = add_case(suite, "volatility");
    tcase_add_test(tc, empty_catalog_knows_nothing);
    tcase_add_test(tc, functions_by_schema_and_name);
    tcase_add_test(tc, unqualified_name_gives_the_worst_over_schemas);
    tcase_add_test(tc, overloads_keep_the_worst);
    tcase_add_test(tc, unknown_volatility_is_the_worst);
    tcase_add_test(tc, functions_operators_and_types_are_separate);
    tcase_add_test(tc, type_names);
    tcase_add_test(tc, many_objects_and_types);
    tcase_add_test(tc, the_guard_consults_the_catalog);
    tc = add_case(suite, "posture");
    tcase_add_test(tc, role_row_fills_the_posture);
    tcase_add_test(tc, superuser_can_write_and_says_it_all);
    tcase_add_test(tc, superuser_is_named_whatever_the_row_order);
    tcase_add_test(tc, other_attributes_can_write);
    tcase_add_test(tc, server_file_roles_can_write);
    tcase_add_test(tc, write_rows_name_the_tables_and_how_many_more);
    tcase_add_test(tc, write_rows_without_more);
    tcase_add_test(tc, create_rows);
    tc = add_case(suite, "loading");
    tcase_add_loop_test(tc, malformed_rows_leave_the_catalog_intact, 0, (int)ARRAY_LENGTH(malformed_rows));
    tcase_add_test(tc, a_failed_or_odd_result_is_refused);
    tcase_add_test(tc, a_reload_replaces_everything);
    tcase_add_test(tc, posture_alone);
    tcase_add_test(tc, posture_alone_refuses_other_rows);
    tcase_add_test(tc, load_sql_returns_the_four_columns);
    return suite;
}

int main(void) {
    SRunner *runner = srunner_create(strings_suite());
    srunner_add_suite(runner, format_suite());
    srunner_add_suite(runner, catalog_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
