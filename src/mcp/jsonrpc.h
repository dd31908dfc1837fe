/* JSON-RPC 2.0 framing over stdio: newline-delimited messages read from a file descriptor
 * with a size cap per line, and messages written whole, one per line. */
#ifndef PGSAFE_MCP_JSONRPC_H
#define PGSAFE_MCP_JSONRPC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* Standard JSON-RPC error codes, and MCP's for a request before initialization. */
enum {
    JSONRPC_PARSE_ERROR = -32700,
    JSONRPC_INVALID_REQUEST = -32600,
    JSONRPC_METHOD_NOT_FOUND = -32601,
    JSONRPC_INVALID_PARAMS = -32602,
    JSONRPC_INTERNAL_ERROR = -32603,
    MCP_NOT_INITIALIZED = -32002,
    MCP_TOO_MANY_REQUESTS = -32003 /* --max-in-flight requests wait for answers already */
};

typedef struct jsonrpc_reader {
    int fd;
    size_t max_line; /* bytes, without the newline */
    char *buffer;
    size_t start;   /* offset of the first byte not yet handed out */
    size_t length;  /* bytes held (end offset) */
    size_t scanned; /* offset up to which the buffer was searched for a newline */
    size_t capacity;
    bool discarding; /* inside a line that went over max_line */
    bool eof;
} jsonrpc_reader;

typedef enum jsonrpc_line_kind {
    JSONRPC_LINE_NONE,     /* no complete line yet */
    JSONRPC_LINE_TEXT,     /* *line, *length: one line without its newline (or CR LF) */
    JSONRPC_LINE_OVERSIZED /* a line went over max_line; its bytes are being discarded */
} jsonrpc_line_kind;

void jsonrpc_reader_init(jsonrpc_reader *reader, int fd, size_t max_line);
void jsonrpc_reader_free(jsonrpc_reader *reader);

/* One read() from the descriptor (call when poll says it is readable). Sets eof at end of
 * input. Returns false only when memory runs out (nothing read is lost: a later call may
 * succeed, but the caller's policy is to stop: mcp/json.h). */
bool jsonrpc_reader_fill(jsonrpc_reader *reader);

/* The next complete line held, if any, NUL-terminated in the reader's buffer: it stays
 * valid until the next jsonrpc_reader_fill or jsonrpc_reader_free. Allocates nothing. */
jsonrpc_line_kind jsonrpc_reader_next(jsonrpc_reader *reader, const char **line, size_t *length);

/* Parses one line of length bytes as JSON (strict, UTF-8 validated, nothing after the
 * value). NULL when the line is not JSON (or is the bare literal null); the caller owns the
 * object. */
json_object *jsonrpc_parse(const char *line, size_t length);

/* Writes the message and a newline to fd, whole. Returns false when the peer is gone. */
bool jsonrpc_write(int fd, json_object *message);

/* {"jsonrpc": "2.0", "id": id, "result": result}; takes ownership of result, not of id. */
json_object *jsonrpc_response(json_object *id, json_object *result);

/* {"jsonrpc": "2.0", "id": id or null, "error": {"code", "message"}}; id not taken. */
json_object *jsonrpc_error(json_object *id, int code, const char *message);

/* {"jsonrpc": "2.0", "method": method, "params": params}; takes ownership of params. */
json_object *jsonrpc_notification(const char *method, json_object *params);

#endif
