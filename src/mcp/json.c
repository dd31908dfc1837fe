/* The out-of-memory policy's one exit, and json-c constructors that follow it (json.h). */
#include "mcp/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void mcp_out_of_memory(const char *what) {
    /* No allocation from here on: a fixed message, then exit. stdout carries only whole
     * messages (each written in one piece), so the client sees the stream end, not a torn line. */
    fprintf(stderr, "pgsafe: out of memory (%s); exiting\n", what);
    fflush(stderr);
    _exit(MCP_EXIT_OUT_OF_MEMORY);
}

void *mcp_must(void *pointer, const char *what) {
    if (pointer == NULL)
        mcp_out_of_memory(what);
    return pointer;
}

json_object *mcp_json_object(void) {
    return mcp_must(json_object_new_object(), "a JSON object");
}

json_object *mcp_json_array(void) {
    return mcp_must(json_object_new_array(), "a JSON array");
}

json_object *mcp_json_string(const char *text) {
    return mcp_must(json_object_new_string(text), "a JSON string");
}

json_object *mcp_json_int64(int64_t value) {
    return mcp_must(json_object_new_int64(value), "a JSON number");
}

json_object *mcp_json_bool(bool value) {
    return mcp_must(json_object_new_boolean(value), "a JSON boolean");
}

json_object *mcp_json_double(double value) {
    return mcp_must(json_object_new_double(value), "a JSON number");
}

json_object *mcp_json_literal(const char *text) {
    /* The texts are compiled in and tested (tools/list in the unit and integration tests):
     * NULL can only mean memory ran out. */
    return mcp_must(json_tokener_parse(text), "a JSON schema");
}

void mcp_json_add(json_object *object, const char *key, json_object *value) {
    if (json_object_object_add(object, key, value) != 0) {
        json_object_put(value);
        mcp_out_of_memory("a JSON member");
    }
}

void mcp_json_append(json_object *array, json_object *value) {
    if (json_object_array_add(array, value) != 0) {
        json_object_put(value);
        mcp_out_of_memory("a JSON array element");
    }
}

const char *json_string_member(json_object *object, const char *name) {
    json_object *member = NULL;
    if (object == NULL || !json_object_is_type(object, json_type_object) ||
        !json_object_object_get_ex(object, name, &member) || !json_object_is_type(member, json_type_string))
        return NULL;
    return json_object_get_string(member);
}
