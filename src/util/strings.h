/* Small string helpers with no knowledge of SQL, libpq or MCP, shared by every layer (the
 * guard included): formatted allocation and a growable byte buffer. Every function that
 * allocates returns NULL (or false) when memory runs out; the buffer then stays valid and
 * marks itself failed so callers can check once at the end. */
#ifndef PGSAFE_UTIL_STRINGS_H
#define PGSAFE_UTIL_STRINGS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* A newly allocated formatted string (caller frees), or NULL. */
char *str_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* A copy of the first length bytes of text, NUL-terminated (caller frees), or NULL. */
char *str_copy_length(const char *text, size_t length);

/* libpq's messages end with a newline and may span lines: a copy on one line, line breaks
 * and the indentation after them folded into one space; "unknown error" for NULL or "".
 * Caller frees; NULL when out of memory. */
char *str_one_line(const char *message);

/* The length of the longest prefix of text[0..length) that ends on a UTF-8 character
 * boundary and is at most limit bytes. */
size_t str_utf8_prefix(const char *text, size_t length, size_t limit);

typedef struct strbuf {
    char *data;      /* NUL-terminated when length > 0 or after strbuf_take */
    size_t length;   /* bytes used, without the NUL */
    size_t capacity; /* bytes allocated */
    bool failed;     /* an allocation failed; contents are incomplete */
} strbuf;

void strbuf_append(strbuf *buffer, const char *text, size_t length);
void strbuf_puts(strbuf *buffer, const char *text);
void strbuf_printf(strbuf *buffer, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Returns the contents (caller frees; "" for an empty buffer) and resets the buffer, or
 * NULL if an allocation failed along the way. */
char *strbuf_take(strbuf *buffer);

void strbuf_free(strbuf *buffer);

#endif
