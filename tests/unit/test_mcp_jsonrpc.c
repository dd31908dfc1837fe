/* Unit tests of src/mcp/jsonrpc.c, with Check: the line reader (jsonrpc_reader on a pipe),
 * the strict parser (jsonrpc_parse, and the exact text of an id), and the message builders
 * and jsonrpc_write.
 *
 *   ./test_mcp_jsonrpc                                   # forks per test
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_mcp_jsonrpc
 *
 * The binary is linked with --wrap=malloc: fail_mallocs makes every malloc from the code under
 * test fail, to show a path allocates nothing (the reader handing out a line). Every object is
 * freed, so the run is clean under valgrind and AddressSanitizer. */
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

#include "util/strings.h"
#include "mcp/jsonrpc.h"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

/* How jsonrpc_write serializes, so expected texts are what a client would read. */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The default capacity of a Linux pipe: a write of at most this much never blocks on an
 * empty pipe. */
#define PIPE_CAPACITY 65536

/* While true, malloc (from code linked with --wrap=malloc) returns NULL. */
static bool fail_mallocs;

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_malloc(size_t size) {
    return fail_mallocs ? NULL : __real_malloc(size);
}

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

static bool write_all(int fd, const char *bytes, size_t length) {
    while (length > 0) {
        ssize_t count = write(fd, bytes, length);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0)
            return false;
        bytes += count;
        length -= (size_t)count;
    }
    return true;
}

/* Reads fd to its end; the bytes (NUL-terminated) and their count. Caller frees. */
static char *read_all(int fd, size_t *length) {
    strbuf data = {0};
    char chunk[8192];
    for (;;) {
        ssize_t count = read(fd, chunk, sizeof chunk);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0)
            break;
        strbuf_append(&data, chunk, (size_t)count);
    }
    *length = data.length;
    return strbuf_take(&data);
}

/* A string of count copies of c (caller frees). */
static char *repeated(char c, size_t count) {
    char *text = malloc(count + 1);
    ck_assert_ptr_nonnull(text);
    memset(text, c, count);
    text[count] = '\0';
    return text;
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
 * Suite "reader": jsonrpc_reader on a pipe. Each feed is written whole, then read by the
 * reader (one read, as the pipe holds at most one chunk) and every line it hands out is
 * recorded; bytes of two feeds never share a read.
 * ------------------------------------------------------------------------------------- */

/* Marks an expected JSONRPC_LINE_OVERSIZED among expected lines. */
static const char OVERSIZED[] = "(oversized)";

#define MAX_EVENTS 64

typedef struct reader_event {
    jsonrpc_line_kind kind;
    char *text; /* TEXT: the line's bytes, NUL-terminated */
    size_t length;
} reader_event;

typedef struct line_feed {
    int read_fd;
    int write_fd;
    jsonrpc_reader reader;
    reader_event events[MAX_EVENTS]; /* the first MAX_EVENTS lines handed out */
    size_t event_count;              /* every line handed out */
    size_t text_count;
    size_t oversized_count;
    size_t fills;
    size_t max_capacity; /* the largest reader.capacity seen */
} line_feed;

static void feed_open(line_feed *feed, size_t max_line) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    /* Non-blocking, so that the reader takes what the pipe holds and no more. */
    ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    *feed = (line_feed){.read_fd = fds[0], .write_fd = fds[1]};
    jsonrpc_reader_init(&feed->reader, fds[0], max_line);
}

static void feed_free(line_feed *feed) {
    size_t stored = feed->event_count < MAX_EVENTS ? feed->event_count : MAX_EVENTS;
    for (size_t i = 0; i < stored; i++)
        free(feed->events[i].text);
    jsonrpc_reader_free(&feed->reader);
    close(feed->read_fd);
    if (feed->write_fd >= 0)
        close(feed->write_fd);
}

/* Hands out every complete line the reader holds. */
static void feed_drain(line_feed *feed) {
    if (feed->reader.capacity > feed->max_capacity)
        feed->max_capacity = feed->reader.capacity;
    const char *line;
    size_t length;
    jsonrpc_line_kind kind;
    while ((kind = jsonrpc_reader_next(&feed->reader, &line, &length)) != JSONRPC_LINE_NONE) {
        if (feed->event_count < MAX_EVENTS) {
            reader_event *event = &feed->events[feed->event_count];
            event->kind = kind;
            if (kind == JSONRPC_LINE_TEXT) {
                ck_assert_int_eq(line[length], '\0');
                event->text = str_copy_length(line, length);
                event->length = length;
            }
        }
        feed->event_count++;
        if (kind == JSONRPC_LINE_TEXT)
            feed->text_count++;
        else
            feed->oversized_count++;
    }
}

static bool readable(int fd) {
    struct pollfd wait = {.fd = fd, .events = POLLIN};
    return poll(&wait, 1, 0) > 0 && (wait.revents & POLLIN);
}

/* Writes bytes into the pipe and lets the reader take them. */
static void feed_bytes(line_feed *feed, const char *bytes, size_t length) {
    ck_assert_uint_le(length, PIPE_CAPACITY);
    ck_assert(write_all(feed->write_fd, bytes, length));
    while (readable(feed->read_fd)) {
        ck_assert(jsonrpc_reader_fill(&feed->reader));
        feed->fills++;
        ck_assert(!feed->reader.eof);
        feed_drain(feed);
    }
}

static void feed_text(line_feed *feed, const char *text) {
    feed_bytes(feed, text, strlen(text));
}

/* Closes the writing end and reads to the end of input. */
static void feed_end(line_feed *feed) {
    close(feed->write_fd);
    feed->write_fd = -1;
    while (!feed->reader.eof) {
        ck_assert(jsonrpc_reader_fill(&feed->reader));
        feed_drain(feed);
    }
    feed_drain(feed);
    const char *line;
    size_t length;
    ck_assert_int_eq(jsonrpc_reader_next(&feed->reader, &line, &length), JSONRPC_LINE_NONE);
}

/* Asserts the lines handed out so far: texts, with OVERSIZED for an oversized line. */
static void expect_lines(const line_feed *feed, const char *const *expected, size_t count) {
    ck_assert_msg(feed->event_count == count, "%zu lines handed out, expected %zu", feed->event_count, count);
    for (size_t i = 0; i < count; i++) {
        const reader_event *event = &feed->events[i];
        if (expected[i] == OVERSIZED) {
            ck_assert_msg(event->kind == JSONRPC_LINE_OVERSIZED, "line %zu: text \"%s\", expected oversized", i,
                          event->text ? event->text : "");
            continue;
        }
        ck_assert_msg(event->kind == JSONRPC_LINE_TEXT, "line %zu: oversized, expected \"%s\"", i, expected[i]);
        ck_assert_msg(event->length == strlen(expected[i]) && memcmp(event->text, expected[i], event->length) == 0,
                      "line %zu: \"%s\" (%zu bytes), expected \"%s\"", i, event->text, event->length, expected[i]);
    }
}

#define EXPECT_LINES(feed, ...)                                                                                        \
    do {                                                                                                               \
        static const char *const expected_[] = {__VA_ARGS__};                                                          \
        expect_lines(feed, expected_, ARRAY_LENGTH(expected_));                                                        \
    } while (0)

START_TEST(several_lines_in_one_read) {
    line_feed feed;
    feed_open(&feed, 1024);
    feed_text(&feed, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n{\"b\":2}\n[3]\n");
    ck_assert_uint_eq(feed.fills, 1);
    EXPECT_LINES(&feed, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", "{\"b\":2}", "[3]");
    feed_end(&feed);
    ck_assert_uint_eq(feed.event_count, 3);
    feed_free(&feed);
}
END_TEST

START_TEST(a_line_split_across_reads) {
    line_feed feed;
    feed_open(&feed, 1024);
    feed_text(&feed, "{\"method\":");
    ck_assert_uint_eq(feed.event_count, 0);
    feed_text(&feed, "\"caf\xC3");
    ck_assert_uint_eq(feed.event_count, 0);
    feed_text(&feed, "\xA9\"}\n{\"next\"");
    EXPECT_LINES(&feed, "{\"method\":\"caf\xC3\xA9\"}");
    feed_text(&feed, ":1}");
    feed_text(&feed, "\n");
    EXPECT_LINES(&feed, "{\"method\":\"caf\xC3\xA9\"}", "{\"next\":1}");
    feed_end(&feed);
    ck_assert_uint_eq(feed.event_count, 2);
    feed_free(&feed);
}
END_TEST

/* The CR of a CR LF ending does not count against the cap, even before the LF arrives. */
START_TEST(crlf_is_not_counted_against_the_cap) {
    line_feed feed;
    feed_open(&feed, 8);
    feed_text(&feed, "12345678\r");
    ck_assert_uint_eq(feed.event_count, 0);
    feed_text(&feed, "\n123456789\r\n");
    EXPECT_LINES(&feed, "12345678", OVERSIZED);
    feed_end(&feed);
    feed_free(&feed);
}
END_TEST

START_TEST(crlf_endings) {
    line_feed feed;
    feed_open(&feed, 1024);
    feed_text(&feed, "{\"a\":1}\r\n{\"b\":2}\r\n");
    /* The CR and the LF in different reads. */
    feed_text(&feed, "{\"c\":3}\r");
    feed_text(&feed, "\n");
    /* Only the CR before the LF goes; others are the line's. */
    feed_text(&feed, "a\rb\n"
                     "c\r\r\n"
                     "\rd\n");
    feed_end(&feed);
    EXPECT_LINES(&feed, "{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "a\rb", "c\r", "\rd");
    feed_free(&feed);
}
END_TEST

START_TEST(last_line_without_newline) {
    line_feed feed;
    feed_open(&feed, 1024);
    feed_text(&feed, "{\"a\":1}\n{\"last\":");
    feed_text(&feed, "true}");
    EXPECT_LINES(&feed, "{\"a\":1}");
    feed_end(&feed);
    EXPECT_LINES(&feed, "{\"a\":1}", "{\"last\":true}");
    feed_free(&feed);

    /* With a CR before the end of input. */
    feed_open(&feed, 1024);
    feed_text(&feed, "{}\r");
    feed_end(&feed);
    EXPECT_LINES(&feed, "{}");
    feed_free(&feed);

    /* Nothing at all. */
    feed_open(&feed, 1024);
    feed_end(&feed);
    ck_assert_uint_eq(feed.event_count, 0);
    feed_free(&feed);
}
END_TEST

START_TEST(blank_lines) {
    line_feed feed;
    feed_open(&feed, 1024);
    feed_text(&feed, "\n\n{}\n\r\n");
    feed_text(&feed, "  \n");
    feed_text(&feed, "\n[]\n\n");
    feed_end(&feed);
    EXPECT_LINES(&feed, "", "", "{}", "", "  ", "", "[]", "");
    feed_free(&feed);
}
END_TEST

START_TEST(a_line_of_exactly_max_line_bytes_is_accepted) {
    line_feed feed;
    feed_open(&feed, 8);
    feed_text(&feed, "12345678\n");
    feed_text(&feed, "123456789\n");
    feed_text(&feed, "ok\n");
    EXPECT_LINES(&feed, "12345678", OVERSIZED, "ok");
    /* The same lines arriving a byte at a time: 8 bytes wait for their newline, the 9th
     * makes the line oversized before its newline is seen. */
    const char *input = "12345678\n123456789\nok\n";
    size_t before = feed.event_count;
    for (size_t i = 0; input[i] != '\0'; i++) {
        feed_bytes(&feed, input + i, 1);
        if (i == 7)
            ck_assert_uint_eq(feed.event_count, before);
        if (i == 17) /* the 9th byte of the second line */
            ck_assert_uint_eq(feed.event_count, before + 2);
    }
    EXPECT_LINES(&feed, "12345678", OVERSIZED, "ok", "12345678", OVERSIZED, "ok");
    feed_end(&feed);
    ck_assert_uint_eq(feed.oversized_count, 2);
    feed_free(&feed);

    /* At the end of input, without a newline. */
    feed_open(&feed, 8);
    feed_text(&feed, "12345678");
    feed_end(&feed);
    EXPECT_LINES(&feed, "12345678");
    feed_free(&feed);
    feed_open(&feed, 8);
    feed_text(&feed, "123456789");
    feed_end(&feed);
    EXPECT_LINES(&feed, OVERSIZED);
    feed_free(&feed);
}
END_TEST

START_TEST(an_oversized_line_is_reported_once_and_discarded) {
    line_feed feed;
    feed_open(&feed, 16);
    feed_text(&feed, "{\"a\":1}\n{\"big\":\"");
    EXPECT_LINES(&feed, "{\"a\":1}");
    feed_text(&feed, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    /* Reported as soon as it is known, before its end arrives. */
    EXPECT_LINES(&feed, "{\"a\":1}", OVERSIZED);
    feed_text(&feed, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    feed_text(&feed, "xx\"}\n");
    ck_assert_uint_eq(feed.oversized_count, 1);
    feed_text(&feed, "{\"b\":2}\n");
    feed_end(&feed);
    EXPECT_LINES(&feed, "{\"a\":1}", OVERSIZED, "{\"b\":2}");
    feed_free(&feed);
}
END_TEST

START_TEST(the_rest_of_an_oversized_line_is_discarded_over_many_reads) {
    line_feed feed;
    feed_open(&feed, 16);
    feed_text(&feed, "{\"big\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    for (int i = 0; i < 20; i++)
        feed_text(&feed, "{\"looks\":\"like a line\"} but is not one ");
    feed_text(&feed, "end\"}\n{\"b\":2}\n");
    feed_text(&feed, "{\"c\":3}\n");
    feed_end(&feed);
    EXPECT_LINES(&feed, OVERSIZED, "{\"b\":2}", "{\"c\":3}");
    feed_free(&feed);
}
END_TEST

START_TEST(oversized_lines_within_one_read) {
    line_feed feed;
    feed_open(&feed, 16);
    feed_text(&feed, "{\"ok\":1}\n"
                     "0123456789abcdefg\n"
                     "{\"ok\":2}\n"
                     "0123456789abcdefghijklmnopqrstuvwxyz\n"
                     "0123456789abcdefghijklmnopqrstuvwxyz\n"
                     "0123456789abcdef\n");
    feed_end(&feed);
    EXPECT_LINES(&feed, "{\"ok\":1}", OVERSIZED, "{\"ok\":2}", OVERSIZED, OVERSIZED, "0123456789abcdef");
    feed_free(&feed);
}
END_TEST

/* A line of many megabytes is discarded as it arrives: the reader holds a read's worth of
 * it at a time, never the line. */
START_TEST(a_huge_line_is_not_held_in_memory) {
    enum { CHUNK = 32768, CHUNKS = 256 }; /* 8 MiB */
    char *chunk = repeated('x', CHUNK);
    line_feed feed;
    feed_open(&feed, 4096);
    feed_text(&feed, "{\"first\":1}\n[\"");
    for (int i = 0; i < CHUNKS; i++)
        feed_bytes(&feed, chunk, CHUNK);
    feed_text(&feed, "\"]\n{\"next\":2}\n");
    feed_end(&feed);
    free(chunk);
    EXPECT_LINES(&feed, "{\"first\":1}", OVERSIZED, "{\"next\":2}");
    ck_assert_msg(feed.max_capacity <= 4 * 65536, "the reader grew to %zu bytes", feed.max_capacity);
    feed_free(&feed);
}
END_TEST

/* Under the cap, a long line spanning many reads arrives whole; the buffer holds it and
 * about one read more. */
START_TEST(a_long_line_under_the_cap_arrives_whole) {
    enum { CHUNK = 32768, CHUNKS = 40, MAX_LINE = 2 * 1024 * 1024 };
    char *chunk = repeated('y', CHUNK);
    line_feed feed;
    feed_open(&feed, MAX_LINE);
    feed_text(&feed, "[\"");
    for (int i = 0; i < CHUNKS; i++)
        feed_bytes(&feed, chunk, CHUNK);
    feed_text(&feed, "\"]\n[1]\n");
    feed_end(&feed);
    free(chunk);
    ck_assert_uint_eq(feed.event_count, 2);
    ck_assert_int_eq(feed.events[0].kind, JSONRPC_LINE_TEXT);
    ck_assert_uint_eq(feed.events[0].length, (size_t)CHUNK * CHUNKS + 4);
    ck_assert_int_eq(feed.events[0].text[1], '"');
    ck_assert_int_eq(feed.events[0].text[2], 'y');
    ck_assert_int_eq(feed.events[0].text[CHUNK * CHUNKS + 1], 'y');
    json_object *parsed = jsonrpc_parse(feed.events[0].text, feed.events[0].length);
    ck_assert_ptr_nonnull(parsed);
    ck_assert_uint_eq(json_object_array_length(parsed), 1);
    json_object_put(parsed);
    ck_assert_int_eq(feed.events[1].kind, JSONRPC_LINE_TEXT);
    ck_assert_str_eq(feed.events[1].text, "[1]");
    ck_assert_msg(feed.max_capacity <= (size_t)CHUNK * CHUNKS + 4 * 65536, "the reader grew to %zu bytes",
                  feed.max_capacity);
    feed_free(&feed);

    /* And a line longer than the cap by one byte, over many reads, is oversized. */
    chunk = repeated('z', CHUNK);
    feed_open(&feed, (size_t)CHUNK * 10);
    for (int i = 0; i < 10; i++)
        feed_bytes(&feed, chunk, CHUNK);
    ck_assert_uint_eq(feed.event_count, 0);
    feed_text(&feed, "z");
    ck_assert_uint_eq(feed.event_count, 1);
    feed_text(&feed, "zzz\n{}\n");
    feed_end(&feed);
    free(chunk);
    EXPECT_LINES(&feed, OVERSIZED, "{}");
    feed_free(&feed);
}
END_TEST

START_TEST(nul_bytes_stay_in_the_line) {
    line_feed feed;
    feed_open(&feed, 64);
    feed_bytes(&feed, "{}\0x\n{\"a\":\"\0\"}\n", 15);
    feed_end(&feed);
    ck_assert_uint_eq(feed.event_count, 2);
    ck_assert_uint_eq(feed.events[0].length, 4);
    ck_assert_int_eq(memcmp(feed.events[0].text, "{}\0x", 4), 0);
    ck_assert_uint_eq(feed.events[1].length, 9);
    /* Such a line is not JSON. */
    ck_assert_ptr_null(jsonrpc_parse(feed.events[0].text, feed.events[0].length));
    ck_assert_ptr_null(jsonrpc_parse(feed.events[1].text, feed.events[1].length));
    feed_free(&feed);
}
END_TEST

START_TEST(many_small_lines_in_one_read) {
    enum { LINES = 10000 };
    char *input = malloc(3 * LINES);
    ck_assert_ptr_nonnull(input);
    for (int i = 0; i < LINES; i++)
        memcpy(input + 3 * i, "{}\n", 3);
    line_feed feed;
    feed_open(&feed, 16);
    feed_bytes(&feed, input, 3 * LINES);
    free(input);
    feed_end(&feed);
    ck_assert_uint_eq(feed.text_count, LINES);
    ck_assert_uint_eq(feed.oversized_count, 0);
    for (int i = 0; i < MAX_EVENTS; i++)
        ck_assert_str_eq(feed.events[i].text, "{}");
    feed_free(&feed);
}
END_TEST

START_TEST(reader_free_without_reading) {
    jsonrpc_reader reader;
    jsonrpc_reader_init(&reader, 0, 100);
    ck_assert_uint_eq(reader.max_line, 100);
    ck_assert(!reader.eof);
    jsonrpc_reader_free(&reader);
    jsonrpc_reader_free(&reader);
}
END_TEST

/* The reader used to copy each line into a malloc'd buffer and, when that failed, consume the
 * line and report none: the request was never answered. Lines are handed out in place now. */
START_TEST(a_line_is_handed_out_without_allocating) {
    line_feed feed;
    feed_open(&feed, 1024);
    ck_assert(write_all(feed.write_fd, "{\"id\":1}\n{\"id\":2}", 17));
    ck_assert(jsonrpc_reader_fill(&feed.reader));
    close(feed.write_fd);
    feed.write_fd = -1;
    ck_assert(jsonrpc_reader_fill(&feed.reader));
    ck_assert(jsonrpc_reader_fill(&feed.reader));
    ck_assert(feed.reader.eof);
    const char *line;
    size_t length;
    fail_mallocs = true;
    jsonrpc_line_kind first = jsonrpc_reader_next(&feed.reader, &line, &length);
    bool first_ok = first == JSONRPC_LINE_TEXT && length == 8 && memcmp(line, "{\"id\":1}", 9) == 0;
    /* The last line has no newline: it still comes out, with no allocation either. */
    jsonrpc_line_kind second = jsonrpc_reader_next(&feed.reader, &line, &length);
    bool second_ok = second == JSONRPC_LINE_TEXT && length == 8 && memcmp(line, "{\"id\":2}", 9) == 0;
    jsonrpc_line_kind third = jsonrpc_reader_next(&feed.reader, &line, &length);
    fail_mallocs = false;
    ck_assert_msg(first_ok, "the first line was not handed out whole (kind %d)", first);
    ck_assert_msg(second_ok, "the last line was not handed out whole (kind %d)", second);
    ck_assert_int_eq(third, JSONRPC_LINE_NONE);
    feed_free(&feed);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "parse": jsonrpc_parse.
 * ------------------------------------------------------------------------------------- */

static bool parses(const char *line, size_t length) {
    json_object *value = jsonrpc_parse(line, length);
    json_object_put(value);
    return value != NULL;
}

/* A literal's bytes, embedded NULs included. */
#define PARSES(literal) parses(literal, sizeof(literal) - 1)

#define EXPECT_REJECTED(literal) ck_assert_msg(!PARSES(literal), "accepted: %s", literal)
#define EXPECT_ACCEPTED(literal) ck_assert_msg(PARSES(literal), "rejected: %s", literal)

START_TEST(scalar_texts_parse) {
    EXPECT_ACCEPTED("42");
    EXPECT_ACCEPTED("-1");
    EXPECT_ACCEPTED("1.5");
    EXPECT_ACCEPTED("true");
    EXPECT_ACCEPTED("false");
    EXPECT_ACCEPTED("\"text\"");
    EXPECT_REJECTED("42x");
    EXPECT_REJECTED("tru");
}
END_TEST

static void expect_parsed(const char *line, const char *expected) {
    json_object *value = jsonrpc_parse(line, strlen(line));
    ck_assert_msg(value != NULL, "rejected: %s", line);
    expect_json_and_put(value, expected, line);
}

START_TEST(valid_messages_parse) {
    expect_parsed("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"query\","
                  "\"arguments\":{\"sql\":\"SELECT 1\"}}}",
                  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"query\","
                  "\"arguments\":{\"sql\":\"SELECT 1\"}}}");
    expect_parsed("[{\"a\":1},{\"b\":[true,false,null]}]", "[{\"a\":1},{\"b\":[true,false,null]}]");
    expect_parsed("{}", "{}");
    expect_parsed("[]", "[]");
    expect_parsed("\"a string\"", "\"a string\"");
    expect_parsed("{\"e\":\"\\u00e9\\n\\t\\\"\\\\\\/\"}", "{\"e\":\"\xC3\xA9\\n\\t\\\"\\\\/\"}");
    expect_parsed("{\"raw\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"}",
                  "{\"raw\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"}");
    expect_parsed("{\"pair\":\"\\ud83d\\ude00\"}", "{\"pair\":\"\xF0\x9F\x98\x80\"}");
    expect_parsed("{\"n\":[0,-1,1.5,-2e10,1E+2,9007199254740993]}", "{\"n\":[0,-1,1.5,-2e10,1E+2,9007199254740993]}");
    expect_parsed("  {\"leading\":\"space\"}", "{\"leading\":\"space\"}");
    expect_parsed("{ \"spaced\" : [ 1 , 2 ] }", "{\"spaced\":[1,2]}");
}
END_TEST

START_TEST(trailing_whitespace_is_fine) {
    expect_parsed("{}   ", "{}");
    expect_parsed("{}\t", "{}");
    expect_parsed("{}\r", "{}");
    expect_parsed("[1] \t \r", "[1]");
    expect_parsed("\"s\"  ", "\"s\"");
}
END_TEST

START_TEST(trailing_garbage_is_rejected) {
    EXPECT_REJECTED("{}x");
    EXPECT_REJECTED("{} {}");
    EXPECT_REJECTED("{}{}");
    EXPECT_REJECTED("{}}");
    EXPECT_REJECTED("[1]]");
    EXPECT_REJECTED("{},");
    EXPECT_REJECTED("{} x");
    EXPECT_REJECTED("[1] \t junk");
    EXPECT_REJECTED("\"s\"\"t\"");
    EXPECT_REJECTED("{}\x0B"); /* vertical tab is not JSON whitespace */
    EXPECT_REJECTED("{}\f");
}
END_TEST

START_TEST(incomplete_or_empty_lines_are_rejected) {
    EXPECT_REJECTED("");
    EXPECT_REJECTED("   ");
    EXPECT_REJECTED("{");
    EXPECT_REJECTED("{\"a\":");
    EXPECT_REJECTED("[1,");
    EXPECT_REJECTED("\"unterminated");
    EXPECT_REJECTED("}");
    /* Only the first length bytes are the line. */
    ck_assert(parses("{}garbage", 2));
    ck_assert(!parses("{\"a\":1}", 6));
}
END_TEST

START_TEST(invalid_utf8_is_rejected) {
    EXPECT_REJECTED("{\"a\":\"\x80\"}");                 /* a lone continuation byte */
    EXPECT_REJECTED("{\"a\":\"\xC3\"}");                 /* a truncated 2-byte character */
    EXPECT_REJECTED("{\"a\":\"\xC3(\"}");                /* a bad continuation */
    EXPECT_REJECTED("{\"a\":\"\xE2\x82\"}");             /* a truncated 3-byte character */
    EXPECT_REJECTED("{\"a\":\"\xF0\x9F\x98\"}");         /* a truncated 4-byte character */
    EXPECT_REJECTED("{\"a\":\"\xFF\"}");                 /* never valid */
    EXPECT_REJECTED("{\"a\":\"\xFE\"}");                 /* never valid */
    EXPECT_REJECTED("{\"a\":\"\xF8\x88\x80\x80\x80\"}"); /* a 5-byte form */
    EXPECT_REJECTED("{\"a\":1}\xC3");                    /* after the value */
    EXPECT_REJECTED("{\"\xC3\":1}");                     /* in a key */
    EXPECT_REJECTED("{\"a\":\"ok\xC3\xA9\xC3\"}");       /* after a valid one */
}
END_TEST

START_TEST(nul_in_the_line_is_rejected) {
    EXPECT_REJECTED("{}\0");
    EXPECT_REJECTED("{}\0{}");
    EXPECT_REJECTED("\0{}");
    EXPECT_REJECTED("{\"a\":\"\0\"}");
    EXPECT_REJECTED("{\"a\"\0:1}");
    EXPECT_REJECTED("[1,\0 2]");
}
END_TEST

START_TEST(non_json_extensions_are_rejected) {
    EXPECT_REJECTED("['a']");
    EXPECT_REJECTED("{\"a\":'b'}");
    EXPECT_REJECTED("[1,]");
    EXPECT_REJECTED("{\"a\":1,}");
    EXPECT_REJECTED("{a:1}");
    EXPECT_REJECTED("/* comment */{}");
    EXPECT_REJECTED("{}// comment");
    EXPECT_REJECTED("{}# comment");
    EXPECT_REJECTED("[0x10]");
    EXPECT_REJECTED("[01]");
    EXPECT_REJECTED("[.5]");
    EXPECT_REJECTED("[+1]");
    EXPECT_REJECTED("[TRUE]");
    EXPECT_REJECTED("[\"bad \\x escape\"]");
}
END_TEST

/* What json-c 0.16 accepts even with JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8. */
START_TEST(json_c_leniencies_are_rejected) {
    EXPECT_REJECTED("{'a':1}");
    EXPECT_REJECTED("{\"a\":NaN}");
    EXPECT_REJECTED("{\"a\":Infinity}");
    EXPECT_REJECTED("{\"a\":-Infinity}");
    EXPECT_REJECTED("[nan]");
    EXPECT_REJECTED("{\"a\":1.}");
    EXPECT_REJECTED("[1.e5]");
    EXPECT_REJECTED("[-]");
    EXPECT_REJECTED("[1e]");
    EXPECT_REJECTED("[1e+]");
    EXPECT_REJECTED("{\"a\":\"x\ty\"}"); /* a raw tab inside a string */
    EXPECT_REJECTED("{\"a\":\"x\ry\"}"); /* a raw CR inside a string */
    EXPECT_REJECTED("{\"a\":\"\x01\"}"); /* any control character */
    EXPECT_REJECTED("{\"a\":\"\x1F\"}");
    EXPECT_REJECTED("{\"a\":\"\xC0\xAF\"}");         /* an overlong '/' */
    EXPECT_REJECTED("{\"a\":\"\xC1\xBF\"}");         /* an overlong 2-byte form */
    EXPECT_REJECTED("{\"a\":\"\xE0\x80\xAF\"}");     /* an overlong 3-byte form */
    EXPECT_REJECTED("{\"a\":\"\xF0\x80\x80\xAF\"}"); /* an overlong 4-byte form */
    EXPECT_REJECTED("{\"a\":\"\xED\xA0\x80\"}");     /* a UTF-16 surrogate encoded in UTF-8 */
    EXPECT_REJECTED("{\"a\":\"\xED\xBF\xBF\"}");
    EXPECT_REJECTED("{\"a\":\"\xF4\x90\x80\x80\"}"); /* above U+10FFFF */
    EXPECT_REJECTED("{\"a\":\"\xF5\x80\x80\x80\"}");
    EXPECT_REJECTED("{\"a\":\"\\ud800\"}"); /* a lone high surrogate escape */
    EXPECT_REJECTED("{\"a\":\"\\ud800x\"}");
    EXPECT_REJECTED("{\"a\":\"\\ud800\\u0041\"}"); /* a high surrogate before a non-surrogate */
    EXPECT_REJECTED("{\"a\":\"\\udc00\"}");        /* a lone low surrogate escape */
    EXPECT_REJECTED("{\"a\":\"\\ude00\\ud83d\"}"); /* a pair in the wrong order */
    EXPECT_REJECTED("{\"a\":\"\\u12\"}");
    EXPECT_REJECTED("{\"a\":\"\\u12G4\"}");
    EXPECT_REJECTED("{\"a\" 1}");
    EXPECT_REJECTED("{\"a\":1 \"b\":2}");
    EXPECT_REJECTED("[1 2]");
    EXPECT_REJECTED("{,}");
    EXPECT_REJECTED("[,1]");
    EXPECT_REJECTED("{\"a\"}");
    EXPECT_REJECTED("{1:2}");
    /* The edges of what is valid. */
    EXPECT_ACCEPTED("{\"a\":\"\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\"}");
    EXPECT_ACCEPTED("{\"a\":\"\\ud800\\udc00\\udbff\\udfff\\u0041\\u00e9\\uFFFF\"}");
    EXPECT_ACCEPTED("[0,-0,0.5,-0.0e0,1E-7,1e+7,12345678901234567890123,1e309]");
    EXPECT_ACCEPTED("{\"a\":\"\x7F\"}"); /* DEL is not a control character to JSON */
    EXPECT_ACCEPTED(" [ ] ");
    EXPECT_ACCEPTED("{\"\":\"\"}");
}
END_TEST

START_TEST(deep_nesting_is_rejected_without_a_crash) {
    char *text = nested_arrays(64);
    bool accepted = parses(text, strlen(text));
    free(text);
    ck_assert_msg(accepted, "64 levels rejected");
    static const size_t depths[] = {65, 66, 1000, 1000000};
    for (size_t i = 0; i < ARRAY_LENGTH(depths); i++) {
        text = nested_arrays(depths[i]);
        accepted = parses(text, strlen(text));
        free(text);
        ck_assert_msg(!accepted, "%zu nested arrays accepted", depths[i]);
        text = nested_objects(depths[i]);
        accepted = parses(text, strlen(text));
        free(text);
        ck_assert_msg(!accepted, "%zu nested objects accepted", depths[i]);
    }
    /* Unclosed too. */
    text = repeated('[', 1000000);
    accepted = parses(text, strlen(text));
    free(text);
    ck_assert(!accepted);
}
END_TEST

/* Parses line and returns the serialization of its "id" member as an answer would carry it. */
static char *id_as_answered(const char *line) {
    json_object *message = jsonrpc_parse(line, strlen(line));
    ck_assert_ptr_nonnull(message);
    json_object *id = json_object_object_get(message, "id");
    json_object *response = jsonrpc_response(id, json_object_new_object());
    json_object_put(message);
    json_object *answered = json_object_object_get(response, "id");
    char *text = strdup(json_object_to_json_string_ext(answered, JSON_FLAGS));
    json_object_put(response);
    return text;
}

/* json-c reads 99999999999999999999999 as 18446744073709551615: an id must come back as sent. */
START_TEST(integer_ids_keep_the_text_they_were_sent_with) {
    static const char *const ids[] = {"99999999999999999999999",
                                      "18446744073709551616",
                                      "9223372036854775808",
                                      "-9223372036854775809",
                                      "-0",
                                      "0",
                                      "42",
                                      "-7",
                                      "123456789012345678901234567890"};
    for (size_t i = 0; i < ARRAY_LENGTH(ids); i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\": %s ,\"method\":\"ping\"}", ids[i]);
        expect_string_and_free(id_as_answered(line), ids[i], line);
    }
}
END_TEST

/* A cancellation names its request by requestId, compared by JSON text with the request's
 * id: it keeps its text too, or a request with a huge id could not be cancelled. */
START_TEST(a_request_id_keeps_its_text) {
    json_object *message = jsonrpc_parse(
        "{\"method\":\"notifications/cancelled\",\"params\":{\"x\":{\"requestId\":-0},\"requestId\": "
        "99999999999999999999999 },\"requestId\":-0}",
        strlen("{\"method\":\"notifications/cancelled\",\"params\":{\"x\":{\"requestId\":-0},\"requestId\": "
               "99999999999999999999999 },\"requestId\":-0}"));
    ck_assert_ptr_nonnull(message);
    json_object *params = json_object_object_get(message, "params");
    char *request_id = serialize(json_object_object_get(params, "requestId"));
    char *nested = serialize(json_object_object_get(json_object_object_get(params, "x"), "requestId"));
    char *top = serialize(json_object_object_get(message, "requestId"));
    json_object_put(message);
    expect_string_and_free(request_id, "99999999999999999999999", "params.requestId");
    /* Only params.requestId: the others are json-c's own (0). */
    expect_string_and_free(nested, "0", "params.x.requestId");
    expect_string_and_free(top, "0", "requestId outside params");
}
END_TEST

START_TEST(other_ids_come_back_as_sent) {
    expect_string_and_free(id_as_answered("{\"id\":\"a\\\"b\"}"), "\"a\\\"b\"", "string id");
    expect_string_and_free(id_as_answered("{\"id\":1.50}"), "1.50", "float id");
    /* A key spelled with an escape is the same key. */
    expect_string_and_free(id_as_answered("{\"\\u0069d\":99999999999999999999}"), "99999999999999999999",
                           "escaped key");
    /* Of duplicate keys json-c keeps the last, and so does the id's text. */
    expect_string_and_free(id_as_answered("{\"id\":1,\"id\":99999999999999999999}"), "99999999999999999999",
                           "duplicate key");
    /* Only the top level's id is the message's. */
    expect_string_and_free(id_as_answered("{\"params\":{\"id\":99999999999999999999},\"id\":5}"), "5", "nested id");
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "messages": the builders and jsonrpc_write.
 * ------------------------------------------------------------------------------------- */

START_TEST(response_shape) {
    json_object *id = json_object_new_int(7);
    json_object *result = json_object_new_object();
    json_object_object_add(result, "tools", json_object_new_array());
    json_object *message = jsonrpc_response(id, result);
    expect_json_and_put(message, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[]}}", "response");
    /* The id was not taken: it is still the caller's. */
    ck_assert_int_eq(json_object_get_int(id), 7);
    json_object_put(id);

    id = json_object_new_string("req-1");
    message = jsonrpc_response(id, json_object_new_object());
    json_object_put(id); /* the message holds its own reference */
    expect_json_and_put(message, "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"result\":{}}", "string id");
}
END_TEST

START_TEST(error_shape) {
    expect_json_and_put(jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "parse error: the line is not valid JSON"),
                        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"parse error: the "
                        "line is not valid JSON\"}}",
                        "error without id");
    json_object *id = json_object_new_int64(9007199254740993LL);
    expect_json_and_put(jsonrpc_error(id, MCP_NOT_INITIALIZED, "say \"initialize\"\nfirst"),
                        "{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"error\":{\"code\":-32002,\"message\":\"say "
                        "\\\"initialize\\\"\\nfirst\"}}",
                        "error with id");
    ck_assert_int_eq(json_object_get_int64(id), 9007199254740993LL);
    json_object_put(id);
    ck_assert_int_eq(JSONRPC_INVALID_REQUEST, -32600);
    ck_assert_int_eq(JSONRPC_METHOD_NOT_FOUND, -32601);
    ck_assert_int_eq(JSONRPC_INVALID_PARAMS, -32602);
    ck_assert_int_eq(JSONRPC_INTERNAL_ERROR, -32603);
}
END_TEST

START_TEST(notification_shape) {
    json_object *params = json_object_new_object();
    json_object_object_add(params, "level", json_object_new_string("info"));
    expect_json_and_put(jsonrpc_notification("notifications/message", params),
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\"}}",
                        "notification");
    expect_json_and_put(jsonrpc_notification("notifications/tools/list_changed", NULL),
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}",
                        "notification without params");
}
END_TEST

/* jsonrpc_write of message into a pipe, read back (message small enough for the pipe). */
static char *written(json_object *message, size_t *length) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    bool ok = jsonrpc_write(fds[1], message);
    close(fds[1]);
    char *text = read_all(fds[0], length);
    close(fds[0]);
    ck_assert(ok);
    ck_assert_ptr_nonnull(text);
    return text;
}

START_TEST(write_adds_exactly_one_newline) {
    json_object *message = jsonrpc_response(NULL, json_object_new_string("ok"));
    size_t length;
    char *text = written(message, &length);
    char *expected = str_printf("%s\n", json_object_to_json_string_ext(message, JSON_FLAGS));
    json_object_put(message);
    ck_assert_uint_eq(length, strlen(text));
    expect_string_and_free(text, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":\"ok\"}\n", "written");
    ck_assert_str_eq(expected, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":\"ok\"}\n");
    free(expected);

    /* Two messages: two lines, in order. */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    json_object *first = jsonrpc_notification("a", NULL), *second = jsonrpc_notification("b", NULL);
    ck_assert(jsonrpc_write(fds[1], first));
    ck_assert(jsonrpc_write(fds[1], second));
    json_object_put(first);
    json_object_put(second);
    close(fds[1]);
    text = read_all(fds[0], &length);
    close(fds[0]);
    expect_string_and_free(text, "{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"b\"}\n",
                           "two messages");
}
END_TEST

START_TEST(written_json_never_holds_a_raw_newline) {
    static const char *const values[] = {
        "line one\nline two",
        "crlf\r\n",
        "\n",
        "tab\there",
        "nul-free \x01\x1F controls",
        "caf\xC3\xA9 \xE2\x80\xA8 separator",
        "slash / and backslash \\",
    };
    for (size_t i = 0; i < ARRAY_LENGTH(values); i++) {
        json_object *params = json_object_new_object();
        json_object_object_add(params, "text", json_object_new_string(values[i]));
        json_object_object_add(params, "nested", json_object_new_array());
        json_object_array_add(json_object_object_get(params, "nested"), json_object_new_string(values[i]));
        json_object *message = jsonrpc_notification("notifications/message", params);
        size_t length;
        char *text = written(message, &length);
        json_object_put(message);
        /* One newline, the last byte; no CR anywhere. */
        char *newline = memchr(text, '\n', length);
        bool one_line = length > 0 && newline == text + length - 1 && memchr(text, '\r', length) == NULL;
        /* And the line reads back to the same strings. */
        json_object *parsed = one_line ? jsonrpc_parse(text, length - 1) : NULL;
        json_object *read_params = NULL, *read_text = NULL;
        bool same = parsed && json_object_object_get_ex(parsed, "params", &read_params) &&
                    json_object_object_get_ex(read_params, "text", &read_text) &&
                    strcmp(json_object_get_string(read_text), values[i]) == 0;
        json_object_put(parsed);
        free(text);
        ck_assert_msg(one_line, "value %zu: not one line", i);
        ck_assert_msg(same, "value %zu: did not read back", i);
    }
}
END_TEST

typedef struct pipe_reader {
    int fd;
    char *data;
    size_t length;
} pipe_reader;

static void *read_pipe(void *argument) {
    pipe_reader *reader = argument;
    reader->data = read_all(reader->fd, &reader->length);
    return NULL;
}

/* A message far larger than the pipe, on a non-blocking descriptor: written whole while
 * the other end reads slowly. */
START_TEST(write_is_whole_on_a_non_blocking_pipe) {
    enum { SIZE = 1024 * 1024 };
    char *big = repeated('b', SIZE);
    json_object *params = json_object_new_object();
    json_object_object_add(params, "data", json_object_new_string(big));
    free(big);
    json_object *message = jsonrpc_notification("big", params);
    char *expected = str_printf("%s\n", json_object_to_json_string_ext(message, JSON_FLAGS));

    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
    pipe_reader reader = {.fd = fds[0]};
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, read_pipe, &reader), 0);
    bool ok = jsonrpc_write(fds[1], message);
    close(fds[1]);
    pthread_join(thread, NULL);
    close(fds[0]);
    json_object_put(message);
    ck_assert(ok);
    ck_assert_uint_eq(reader.length, strlen(expected));
    bool same = reader.data != NULL && strcmp(reader.data, expected) == 0;
    free(reader.data);
    free(expected);
    ck_assert(same);
}
END_TEST

START_TEST(write_to_a_closed_pipe_fails) {
    void (*previous)(int) = signal(SIGPIPE, SIG_IGN);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    close(fds[0]);
    json_object *message = jsonrpc_notification("gone", NULL);
    bool ok = jsonrpc_write(fds[1], message);
    json_object_put(message);
    close(fds[1]);
    signal(SIGPIPE, previous);
    ck_assert(!ok);
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

static Suite *reader_suite(void) {
    Suite *suite = suite_create("reader");
    TCase *tc = add_case(suite, "lines");
    tcase_add_test(tc, several_lines_in_one_read);
    tcase_add_test(tc, a_line_split_across_reads);
    tcase_add_test(tc, crlf_endings);
    tcase_add_test(tc, crlf_is_not_counted_against_the_cap);
    tcase_add_test(tc, last_line_without_newline);
    tcase_add_test(tc, blank_lines);
    tcase_add_test(tc, nul_bytes_stay_in_the_line);
    tcase_add_test(tc, many_small_lines_in_one_read);
    tcase_add_test(tc, reader_free_without_reading);
    tcase_add_test(tc, a_line_is_handed_out_without_allocating);
    tc = add_case(suite, "size_cap");
    tcase_add_test(tc, a_line_of_exactly_max_line_bytes_is_accepted);
    tcase_add_test(tc, an_oversized_line_is_reported_once_and_discarded);
    tcase_add_test(tc, the_rest_of_an_oversized_line_is_discarded_over_many_reads);
    tcase_add_test(tc, oversized_lines_within_one_read);
    tcase_add_test(tc, a_huge_line_is_not_held_in_memory);
    tcase_add_test(tc, a_long_line_under_the_cap_arrives_whole);
    return suite;
}

static Suite *parse_suite(void) {
    Suite *suite = suite_create("parse");
    TCase *tc = add_case(suite, "parse");
    tcase_add_test(tc, valid_messages_parse);
    tcase_add_test(tc, trailing_whitespace_is_fine);
    tcase_add_test(tc, trailing_garbage_is_rejected);
    tcase_add_test(tc, incomplete_or_empty_lines_are_rejected);
    tcase_add_test(tc, scalar_texts_parse);
    tcase_add_test(tc, invalid_utf8_is_rejected);
    tcase_add_test(tc, nul_in_the_line_is_rejected);
    tcase_add_test(tc, non_json_extensions_are_rejected);
    tcase_add_test(tc, json_c_leniencies_are_rejected);
    tcase_add_test(tc, deep_nesting_is_rejected_without_a_crash);
    tcase_add_test(tc, integer_ids_keep_the_text_they_were_sent_with);
    tcase_add_test(tc, other_ids_come_back_as_sent);
    tcase_add_test(tc, a_request_id_keeps_its_text);
    return suite;
}

static Suite *messages_suite(void) {
    Suite *suite = suite_create("messages");
    TCase *tc = add_case(suite, "messages");
    tcase_add_test(tc, response_shape);
    tcase_add_test(tc, error_shape);
    tcase_add_test(tc, notification_shape);
    tcase_add_test(tc, write_adds_exactly_one_newline);
    tcase_add_test(tc, written_json_never_holds_a_raw_newline);
    tcase_add_test(tc, write_is_whole_on_a_non_blocking_pipe);
    tcase_add_test(tc, write_to_a_closed_pipe_fails);
    return suite;
}

int main(void) {
    SRunner *runner = srunner_create(reader_suite());
    srunner_add_suite(runner, parse_suite());
    srunner_add_suite(runner, messages_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
