/* Line framing and message construction for JSON-RPC over stdio: the reader hands out
 * complete lines without copying them (so no line can be lost to a failed allocation), the
 * parser accepts only RFC 8259 JSON and keeps a numeric id's text exactly as sent, and the
 * writer writes each message whole. */
#include "mcp/jsonrpc.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mcp/json.h"

#define READ_CHUNK 65536

void jsonrpc_reader_init(jsonrpc_reader *reader, int fd, size_t max_line) {
    *reader = (jsonrpc_reader){.fd = fd, .max_line = max_line};
}

void jsonrpc_reader_free(jsonrpc_reader *reader) {
    free(reader->buffer);
    reader->buffer = NULL;
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
    /* One byte more than a read can fill: room for the newline a last line without one gets
     * at end of input, so handing that line out never needs an allocation. */
    if (reader->capacity - reader->length < READ_CHUNK + 1) {
        size_t capacity = reader->length + READ_CHUNK + 1;
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
                /* A last line without its newline still counts; fill left room for it. */
                assert(reader->length < reader->capacity);
                reader->buffer[reader->length++] = '\n';
                continue;
            }
            return JSONRPC_LINE_NONE;
        }
        char *text = reader->buffer + reader->start;
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
        /* The line is handed out in place, terminated where its newline (or CR) was: those
         * bytes are consumed, and the buffer moves only in the next fill. */
        text[text_length] = '\0';
        if (reader->start == reader->length)
            reset(reader);
        *line = text;
        *length = text_length;
        return JSONRPC_LINE_TEXT;
    }
}

/* ---- a strict RFC 8259 check ----
 * json-c accepts more than JSON even with JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8
 * (0.16: single-quoted strings, NaN and Infinity, raw control characters in strings, "1.",
 * overlong, surrogate and above-U+10FFFF UTF-8 forms). A gateway must not guess what a
 * malformed line meant, so every line is checked against the grammar first and json-c only
 * builds the value of text that passed. Lone surrogate escapes are refused too (RFC 7493,
 * I-JSON): json-c would quietly turn them into U+FFFD. */

#define JSON_MAX_DEPTH 64 /* json-c's own nesting limit, so both agree */

typedef struct json_scan {
    const unsigned char *at, *end;
    int depth;
    bool in_params; /* inside the value of the top-level "params" member */
    /* The texts of the integers an id is compared by: the message's "id" and a cancellation's
     * "params"."requestId" (the last of each, as json-c keeps the last of duplicate keys). */
    const unsigned char *id_start, *id_end;
    const unsigned char *request_id_start, *request_id_end;
} json_scan;

/* The members whose value's text json_scan keeps (or, for params, whose inside it tracks). */
typedef enum scan_member { MEMBER_OTHER, MEMBER_ID, MEMBER_PARAMS, MEMBER_REQUEST_ID } scan_member;

static void skip_space(json_scan *scan) {
    while (scan->at < scan->end && (*scan->at == ' ' || *scan->at == '\t' || *scan->at == '\n' || *scan->at == '\r'))
        scan->at++;
}

/* Takes byte if it is next; true when it was. */
static bool take_byte(json_scan *scan, unsigned char byte) {
    if (scan->at < scan->end && *scan->at == byte) {
        scan->at++;
        return true;
    }
    return false;
}

/* Takes the next byte if it lies in [low, high]; true when it did. */
static bool byte_between(json_scan *scan, unsigned char low, unsigned char high) {
    if (scan->at < scan->end && *scan->at >= low && *scan->at <= high) {
        scan->at++;
        return true;
    }
    return false;
}

/* One well-formed UTF-8 sequence of two to four bytes (Unicode's table 3-7): no overlong
 * form, no surrogate, nothing above U+10FFFF. */
static bool scan_utf8(json_scan *scan) {
    unsigned char lead = *scan->at++;
    int continuation;
    unsigned char low = 0x80, high = 0xBF; /* the range of the first continuation byte */
    if (lead >= 0xC2 && lead <= 0xDF)
        continuation = 1;
    else if (lead >= 0xE0 && lead <= 0xEF) {
        continuation = 2;
        if (lead == 0xE0)
            low = 0xA0;
        else if (lead == 0xED)
            high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        continuation = 3;
        if (lead == 0xF0)
            low = 0x90;
        else if (lead == 0xF4)
            high = 0x8F;
    } else
        return false;
    if (!byte_between(scan, low, high))
        return false;
    for (int i = 1; i < continuation; i++)
        if (!byte_between(scan, 0x80, 0xBF))
            return false;
    return true;
}

/* Four hex digits (after \\u) into *value; false when any is missing or not hex. */
static bool scan_hex4(json_scan *scan, unsigned *value) {
    *value = 0;
    for (int i = 0; i < 4; i++) {
        if (scan->at >= scan->end)
            return false;
        unsigned char c = *scan->at++;
        unsigned digit;
        if (c >= '0' && c <= '9')
            digit = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = (unsigned)(c - 'A' + 10);
        else
            return false;
        *value = *value * 16 + digit;
    }
    return true;
}

/* A string, the opening quote already taken. */
static bool scan_string(json_scan *scan) {
    while (scan->at < scan->end) {
        unsigned char c = *scan->at;
        if (c == '"') {
            scan->at++;
            return true;
        }
        if (c < 0x20)
            return false; /* control characters must be escaped */
        if (c >= 0x80) {
            if (!scan_utf8(scan))
                return false;
            continue;
        }
        scan->at++;
        if (c != '\\')
            continue;
        if (scan->at >= scan->end)
            return false;
        c = *scan->at++;
        if (c != '\0' && strchr("\"\\/bfnrt", c) != NULL)
            continue;
        unsigned unit;
        if (c != 'u' || !scan_hex4(scan, &unit))
            return false;
        if (unit >= 0xDC00 && unit <= 0xDFFF)
            return false; /* a low surrogate without its high half */
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            unsigned low;
            if (!take_byte(scan, '\\') || !take_byte(scan, 'u') || !scan_hex4(scan, &low) || low < 0xDC00 ||
                low > 0xDFFF)
                return false;
        }
    }
    return false;
}

/* One or more decimal digits; false when there is none. */
static bool scan_digits(json_scan *scan) {
    if (!byte_between(scan, '0', '9'))
        return false;
    while (byte_between(scan, '0', '9'))
        ;
    return true;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool scan_number(json_scan *scan) {
    take_byte(scan, '-');
    if (!take_byte(scan, '0') && !scan_digits(scan))
        return false;
    if (take_byte(scan, '.') && !scan_digits(scan))
        return false;
    if (take_byte(scan, 'e') || take_byte(scan, 'E')) {
        if (!take_byte(scan, '+'))
            take_byte(scan, '-');
        if (!scan_digits(scan))
            return false;
    }
    return true;
}

/* Exactly word (true, false, null); false otherwise, nothing taken. */
static bool scan_literal(json_scan *scan, const char *word) {
    size_t length = strlen(word);
    if ((size_t)(scan->end - scan->at) < length || memcmp(scan->at, word, length) != 0)
        return false;
    scan->at += length;
    return true;
}

static bool scan_value(json_scan *scan);

/* True when the key text (between its quotes, escapes undone as json-c undoes them) is word. */
static bool key_is(const unsigned char *key, size_t length, const char *word) {
    if (memchr(key, '\\', length) == NULL)
        return length == strlen(word) && memcmp(key, word, length) == 0;
    /* A key spelled with escapes ("\u0069d"): json-c decodes it, so we must too. */
    json_tokener *tokener = mcp_must(json_tokener_new(), "a JSON parser");
    json_object *decoded = json_tokener_parse_ex(tokener, (const char *)key - 1, (int)length + 2);
    bool same = decoded != NULL && strcmp(json_object_get_string(decoded), word) == 0;
    json_object_put(decoded);
    json_tokener_free(tokener);
    return same;
}

/* Which member a key names, at the scan's depth (1: the message's own members). */
static scan_member member_of(const json_scan *scan, const unsigned char *key, size_t length) {
    if (scan->depth == 1 && key_is(key, length, "id"))
        return MEMBER_ID;
    if (scan->depth == 1 && key_is(key, length, "params"))
        return MEMBER_PARAMS;
    if (scan->depth == 2 && scan->in_params && key_is(key, length, "requestId"))
        return MEMBER_REQUEST_ID;
    return MEMBER_OTHER;
}

/* A member's value; for an id or a requestId its text (without the space around it) is kept. */
static bool scan_member_value(json_scan *scan, scan_member member) {
    skip_space(scan);
    const unsigned char *start = scan->at;
    if (member == MEMBER_PARAMS) {
        scan->in_params = true;
        scan->request_id_start = scan->request_id_end = NULL; /* a later params replaces an earlier one */
    }
    bool ok = scan_value(scan);
    if (member == MEMBER_PARAMS)
        scan->in_params = false;
    if (!ok)
        return false;
    const unsigned char *end = scan->at;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        end--;
    if (member == MEMBER_ID) {
        scan->id_start = start;
        scan->id_end = end;
    } else if (member == MEMBER_REQUEST_ID) {
        scan->request_id_start = start;
        scan->request_id_end = end;
    }
    return true;
}

/* The members of an object or the elements of an array, the opening bracket already taken. */
static bool scan_container(json_scan *scan, bool object) {
    if (++scan->depth > JSON_MAX_DEPTH)
        return false;
    unsigned char close = object ? '}' : ']';
    skip_space(scan);
    if (take_byte(scan, close)) {
        scan->depth--;
        return true;
    }
    for (;;) {
        scan_member member = MEMBER_OTHER;
        if (object) {
            if (!take_byte(scan, '"'))
                return false;
            const unsigned char *key = scan->at;
            if (!scan_string(scan))
                return false;
            member = member_of(scan, key, (size_t)(scan->at - 1 - key));
            skip_space(scan);
            if (!take_byte(scan, ':'))
                return false;
        }
        if (!scan_member_value(scan, member))
            return false;
        if (take_byte(scan, close)) {
            scan->depth--;
            return true;
        }
        if (!take_byte(scan, ','))
            return false;
        skip_space(scan);
    }
}

/* A value with the whitespace around it. */
static bool scan_value(json_scan *scan) {
    skip_space(scan);
    if (scan->at >= scan->end)
        return false;
    bool ok;
    switch (*scan->at) {
    case '{': scan->at++, ok = scan_container(scan, true); break;
    case '[': scan->at++, ok = scan_container(scan, false); break;
    case '"': scan->at++, ok = scan_string(scan); break;
    case 't': ok = scan_literal(scan, "true"); break;
    case 'f': ok = scan_literal(scan, "false"); break;
    case 'n': ok = scan_literal(scan, "null"); break;
    default: ok = scan_number(scan); break;
    }
    skip_space(scan);
    return ok;
}

/* True when the bytes are exactly one JSON text (RFC 8259), nested at most JSON_MAX_DEPTH
 * deep; *scan tells where the top-level "id" member's value was. */
static bool json_text_valid(const char *text, size_t length, json_scan *scan) {
    *scan = (json_scan){.at = (const unsigned char *)text, .end = (const unsigned char *)text + length};
    return scan_value(scan) && scan->at == scan->end;
}

/* Makes object[name], when it is an integer, serialize as the text [start, end). */
static void keep_integer_text(json_object *object, const char *name, const unsigned char *start,
                              const unsigned char *end) {
    json_object *value = NULL;
    if (start == NULL || !json_object_is_type(object, json_type_object) ||
        !json_object_object_get_ex(object, name, &value) || !json_object_is_type(value, json_type_int))
        return;
    size_t length = (size_t)(end - start);
    char *text = mcp_must(malloc(length + 1), "an id");
    memcpy(text, start, length);
    text[length] = '\0';
    json_object_set_serializer(value, json_object_userdata_to_json_string, text, json_object_free_userdata);
}

/* An integer id comes back exactly as it was sent: json-c reads 99999999999999999999999 as
 * 18446744073709551615 and -0 as 0, so the id keeps its own text as its serialization. A
 * cancellation's requestId does too, so that it finds the request by the same text. */
static void keep_id_text(json_object *message, const json_scan *scan) {
    keep_integer_text(message, "id", scan->id_start, scan->id_end);
    json_object *params = NULL;
    if (json_object_is_type(message, json_type_object) && json_object_object_get_ex(message, "params", &params))
        keep_integer_text(params, "requestId", scan->request_id_start, scan->request_id_end);
}

json_object *jsonrpc_parse(const char *line, size_t length) {
    json_scan scan;
    if (!json_text_valid(line, length, &scan))
        return NULL; /* a raw NUL is caught here too: it is neither whitespace nor allowed in a string */
    json_object *value = NULL;
    const char *error = NULL;
    if (json_parse_strict(line, length, JSON_MAX_DEPTH, &value, &error) == JSON_STRICT_NO_MEMORY)
        mcp_out_of_memory("a JSON parser");
    if (value == NULL)
        return NULL;
    keep_id_text(value, &scan);
    return value;
}

bool jsonrpc_write(int fd, json_object *message) {
    size_t length = 0;
    const char *text =
        json_object_to_json_string_length(message, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &length);
    if (text == NULL)
        return false;
    /* The text and its newline in one writev, without copying the text (an answer can be
     * as large as the result budget, and a copy would double the peak memory). */
    struct iovec parts[2] = {{.iov_base = (void *)text, .iov_len = length}, {.iov_base = "\n", .iov_len = 1}};
    struct iovec *next = parts;
    int remaining = 2;
    while (remaining > 0) {
        ssize_t count = writev(fd, next, remaining);
        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd wait = {.fd = fd, .events = POLLOUT};
            poll(&wait, 1, 1000);
            continue;
        }
        if (count <= 0)
            return false;
        size_t done = (size_t)count;
        while (remaining > 0 && done >= next->iov_len) {
            done -= next->iov_len;
            next++;
            remaining--;
        }
        if (remaining > 0) {
            next->iov_base = (char *)next->iov_base + done;
            next->iov_len -= done;
        }
    }
    return true;
}

/* {"jsonrpc": "2.0", "id": id or null}: the start of every answer (id not taken). */
static json_object *envelope(json_object *id) {
    json_object *message = mcp_json_object();
    mcp_json_add(message, "jsonrpc", mcp_json_string("2.0"));
    mcp_json_add(message, "id", id ? json_object_get(id) : NULL);
    return message;
}

json_object *jsonrpc_response(json_object *id, json_object *result) {
    json_object *message = envelope(id);
    mcp_json_add(message, "result", result);
    return message;
}

json_object *jsonrpc_error(json_object *id, int code, const char *text) {
    json_object *message = envelope(id);
    json_object *error = mcp_json_object();
    mcp_json_add(error, "code", mcp_json_int64(code));
    mcp_json_add(error, "message", mcp_json_string(text));
    mcp_json_add(message, "error", error);
    return message;
}

json_object *jsonrpc_notification(const char *method, json_object *params) {
    json_object *message = mcp_json_object();
    mcp_json_add(message, "jsonrpc", mcp_json_string("2.0"));
    mcp_json_add(message, "method", mcp_json_string(method));
    if (params)
        mcp_json_add(message, "params", params);
    return message;
}
