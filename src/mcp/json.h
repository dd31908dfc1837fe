/* Building JSON under the out-of-memory policy (docs/architecture.md, "Out of memory").
 *
 * A failed small allocation (a JSON node, a request, a short string: each bounded by the
 * message cap) means the process can no longer keep its promises, so it stops loudly:
 * mcp_out_of_memory writes one line to stderr and exits with MCP_EXIT_OUT_OF_MEMORY. These
 * wrappers apply that to every json-c constructor the server uses, so no caller checks for
 * NULL and none can forget to. Allocations sized by the input (a line buffer, a result) are
 * checked where they happen and answered with -32603 instead. */
#ifndef PGSAFE_MCP_JSON_H
#define PGSAFE_MCP_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* The exit status after an allocation failed (EX_SOFTWARE in sysexits.h). */
#define MCP_EXIT_OUT_OF_MEMORY 70

/* Writes "pgsafe: out of memory (what)" to stderr and exits; never returns. */
_Noreturn void mcp_out_of_memory(const char *what);

/* The pointer, or mcp_out_of_memory(what) when it is NULL. */
void *mcp_must(void *pointer, const char *what);

/* json-c constructors that never return NULL. */
json_object *mcp_json_object(void);
json_object *mcp_json_array(void);
json_object *mcp_json_string(const char *text);
json_object *mcp_json_int64(int64_t value);
json_object *mcp_json_bool(bool value);
json_object *mcp_json_double(double value);

/* A JSON text compiled into the program (a schema), parsed; never NULL. */
json_object *mcp_json_literal(const char *text);

/* object[key] = value (taken; NULL adds a JSON null). */
void mcp_json_add(json_object *object, const char *key, json_object *value);

/* Appends value (taken) to array. */
void mcp_json_append(json_object *array, json_object *value);

/* How json_parse_strict went. */
typedef enum json_strict_status {
    JSON_STRICT_VALUE,    /* one value, nothing but white space after it */
    JSON_STRICT_INVALID,  /* not such a text: the error says why */
    JSON_STRICT_NO_MEMORY /* the parser could not be allocated */
} json_strict_status;

/* Parses text[0..length) as exactly one JSON value (RFC 8259: json-c's strict mode, UTF-8
 * validated, nested at most max_depth deep) followed by nothing but JSON white space; a
 * number or literal that ends the text is complete. Sets *value (the caller puts it) or,
 * when it fails, *value to NULL and *error to a static phrase: "the JSON value is
 * incomplete", "there is more after the JSON value" or json-c's own description. Never
 * exits: a caller under the out-of-memory policy applies it to JSON_STRICT_NO_MEMORY. */
json_strict_status json_parse_strict(const char *text, size_t length, int max_depth, json_object **value,
                                     const char **error);

/* A string member of an object, or NULL. */
const char *json_string_member(json_object *object, const char *name);

/* value's text when it is a string without an escaped NUL, else NULL: a C string would end at
 * the NUL, and "2026-07-28\u0000x" must not compare equal to "2026-07-28". */
const char *json_text(json_object *value);

#endif
