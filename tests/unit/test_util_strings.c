/* Unit tests of the string helpers (src/util/strings.h), with Check.
 *
 *   ./test_util_strings                                   # forks per test
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_util_strings
 *
 * Every object is freed, so the run is clean under valgrind and AddressSanitizer. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

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

int main(void) {
    SRunner *runner = srunner_create(strings_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
