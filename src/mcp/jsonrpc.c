/* Line framing and message construction for JSON-RPC over stdio. */
#include "mcp/jsonrpc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK 65536

void jsonrpc_reader_init(jsonrpc_reader *reader, int fd, size_t max_line) {
    *reader = (jsonrpc_reader){.fd = fd, .max_line = max_line};
}

void jsonrpc_reader_free(jsonrpc_reader *reader) {
    free(reader->buffer);
    free(reader->line);
    reader->buffer = reader->line = NULL;
    reader->start = reader->length = reader->capacity = reader->scanned = 0;
}

bool jsonrpc_reader_fill(jsonrpc_reader *reader) {
    /* Consumed lines are dropped here, once per read, not after every line. */
    if (reader->start > 0) {
        memmove(reader->buffer, reader->buffer + reader->start, reader->length - reader->start);
        reader->length -= reader->start;
        reader->scanned -= reader->start;
        reader->start = 0;
    }
    if (reader->capacity - reader->length < READ_CHUNK) {
        size_t capacity = reader->length + READ_CHUNK;
        char *buffer = realloc(reader->buffer, capacity);
        if (buffer == NULL)
            return false;
        reader->buffer = buffer;
        reader->capacity = capacity;
    }
    ssize_t got;
    do
        got = read(reader->fd, reader->buffer + reader->length, READ_CHUNK);
    while (got < 0 && errno == EINTR);
    if (got <= 0) {
        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            reader->eof = true;
        return true;
    }
    reader->length += (size_t)got;
    return true;
}

static void reset(jsonrpc_reader *reader) {
    reader->start = reader->length = reader->scanned = 0;
}

/* True when the bytes held (no newline among them yet) already make too long a line; one
 * byte more is allowed when it is a CR, which the coming newline's CR LF may explain. */
static bool over_cap(const jsonrpc_reader *reader) {
    size_t pending = reader->length - reader->start;
    if (pending <= reader->max_line)
        return false;
    return pending > reader->max_line + 1 || reader->buffer[reader->length - 1] != '\r';
}

jsonrpc_line_kind jsonrpc_reader_next(jsonrpc_reader *reader, const char **line, size_t *length) {
    for (;;) {
        char *newline = reader->length > reader->scanned
                            ? memchr(reader->buffer + reader->scanned, '\n', reader->length - reader->scanned)
                            : NULL;
        if (newline == NULL) {
            reader->scanned = reader->length;
            if (reader->discarding) {
                reset(reader);
                return JSONRPC_LINE_NONE;
            }
            if (over_cap(reader)) {
                reader->discarding = true;
                reset(reader);
                return JSONRPC_LINE_OVERSIZED;
            }
            if (reader->eof && reader->length > reader->start) {
                /* A last line without its newline still counts. */
                if (reader->length == reader->capacity) {
                    char *buffer = realloc(reader->buffer, reader->capacity + 1);
                    if (buffer == NULL)
                        return JSONRPC_LINE_NONE;
                    reader->buffer = buffer;
                    reader->capacity++;
                }
                reader->buffer[reader->length++] = '\n';
                continue;
            }
            return JSONRPC_LINE_NONE;
        }
        const char *text = reader->buffer + reader->start;
        size_t line_length = (size_t)(newline - text);
        reader->start += line_length + 1;
        reader->scanned = reader->start;
        if (reader->discarding) {
            reader->discarding = false;
            continue;
        }
        size_t text_length = line_length;
        if (text_length > 0 && text[text_length - 1] == '\r')
            text_length--;
        if (text_length > reader->max_line)
            return JSONRPC_LINE_OVERSIZED;
        /* The line is copied out so the buffer can move on; the copy lives until the next call. */
        free(reader->line);
        reader->line = malloc(text_length + 1);
        if (reader->line == NULL)
            return JSONRPC_LINE_NONE;
        memcpy(reader->line, text, text_length);
        reader->line[text_length] = '\0';
        if (reader->start == reader->length)
            reset(reader);
        *line = reader->line;
        *length = text_length;
        return JSONRPC_LINE_TEXT;
    }
}

json_object *jsonrpc_parse(const char *line, size_t length) {
    if (memchr(line, '\0', length) != NULL)
        return NULL; /* JSON text never holds a raw NUL */
    json_tokener *tokener = json_tokener_new_ex(64);
    if (tokener == NULL)
        return NULL;
    json_tokener_set_flags(tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *value = json_tokener_parse_ex(tokener, line, (int)length);
    size_t end = json_tokener_get_parse_end(tokener);
    if (json_tokener_get_error(tokener) == json_tokener_continue) {
        /* A number or literal at the very end is complete only once json-c sees the end. */
        value = json_tokener_parse_ex(tokener, "", 1);
        end = length;
    }
    bool ok = value != NULL && json_tokener_get_error(tokener) == json_tokener_success;
    json_tokener_free(tokener);
    /* Only whitespace may follow the value. */
    for (size_t i = end; ok && i < length; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            ok = false;
    if (!ok) {
        json_object_put(value);
        return NULL;
    }
    return value;
}

bool jsonrpc_write(int fd, json_object *message) {
    size_t length = 0;
    const char *text =
        json_object_to_json_string_length(message, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &length);
    if (text == NULL)
        return false;
    /* One buffer with the newline, so a message is never interleaved or split by us. */
    char *line = malloc(length + 1);
    if (line == NULL)
        return false;
    memcpy(line, text, length);
    line[length] = '\n';
    size_t written = 0;
    bool ok = true;
    while (written < length + 1) {
        ssize_t count = write(fd, line + written, length + 1 - written);
        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd wait = {.fd = fd, .events = POLLOUT};
            poll(&wait, 1, 1000);
            continue;
        }
        if (count <= 0) {
            ok = false;
            break;
        }
        written += (size_t)count;
    }
    free(line);
    return ok;
}

static json_object *envelope(json_object *id) {
    json_object *message = json_object_new_object();
    json_object_object_add(message, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(message, "id", id ? json_object_get(id) : NULL);
    return message;
}

json_object *jsonrpc_response(json_object *id, json_object *result) {
    json_object *message = envelope(id);
    json_object_object_add(message, "result", result);
    return message;
}

json_object *jsonrpc_error(json_object *id, int code, const char *text) {
    json_object *message = envelope(id);
    json_object *error = json_object_new_object();
    json_object_object_add(error, "code", json_object_new_int(code));
    json_object_object_add(error, "message", json_object_new_string(text));
    json_object_object_add(message, "error", error);
    return message;
}

json_object *jsonrpc_notification(const char *method, json_object *params) {
    json_object *message = json_object_new_object();
    json_object_object_add(message, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(message, "method", json_object_new_string(method));
    if (params)
        json_object_object_add(message, "params", params);
    return message;
}
