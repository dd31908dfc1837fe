/* Formatted allocation and a growable byte buffer. */
#include "util/strings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *format, va_list arguments) {
    va_list copy;
    va_copy(copy, arguments);
    int length = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (length < 0)
        return NULL;
    char *text = malloc((size_t)length + 1);
    if (text != NULL)
        vsnprintf(text, (size_t)length + 1, format, arguments);
    return text;
}

char *str_printf(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    char *text = vformat(format, arguments);
    va_end(arguments);
    return text;
}

char *str_copy_length(const char *text, size_t length) {
    char *copy = malloc(length + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

size_t str_utf8_prefix(const char *text, size_t length, size_t limit) {
    if (length <= limit)
        return length;
    size_t cut = limit;
    /* Step back over continuation bytes (10xxxxxx) to the start of a character. */
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

static bool reserve(strbuf *buffer, size_t extra) {
    if (buffer->failed)
        return false;
    if (buffer->length + extra + 1 <= buffer->capacity)
        return true;
    size_t capacity = buffer->capacity ? buffer->capacity : 256;
    while (capacity < buffer->length + extra + 1)
        capacity *= 2;
    char *data = realloc(buffer->data, capacity);
    if (data == NULL) {
        buffer->failed = true;
        return false;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return true;
}

void strbuf_append(strbuf *buffer, const char *text, size_t length) {
    if (!reserve(buffer, length))
        return;
    memcpy(buffer->data + buffer->length, text, length);
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
}

void strbuf_puts(strbuf *buffer, const char *text) {
    strbuf_append(buffer, text, strlen(text));
}

void strbuf_printf(strbuf *buffer, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    char *text = vformat(format, arguments);
    va_end(arguments);
    if (text == NULL) {
        buffer->failed = true;
        return;
    }
    strbuf_puts(buffer, text);
    free(text);
}

char *strbuf_take(strbuf *buffer) {
    char *data = buffer->failed ? NULL : buffer->data;
    if (!buffer->failed && data == NULL)
        data = calloc(1, 1);
    if (buffer->failed)
        free(buffer->data);
    *buffer = (strbuf){0};
    return data;
}

void strbuf_free(strbuf *buffer) {
    free(buffer->data);
    *buffer = (strbuf){0};
}

char *str_one_line(const char *message) {
    if (message == NULL || *message == '\0')
        return strdup("unknown error");
    size_t length = strlen(message);
    while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == ' '))
        length--;
    char *line = str_copy_length(message, length);
    if (line == NULL)
        return NULL;
    /* Fold line breaks and the indentation after them into one space. */
    char *out = line;
    for (const char *p = line; *p; p++) {
        bool space = *p == '\n' || *p == '\t' || *p == ' ';
        if (space && out > line && out[-1] == ' ')
            continue;
        *out++ = space ? ' ' : *p;
    }
    *out = '\0';
    return line;
}
