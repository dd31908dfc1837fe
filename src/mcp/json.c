/* The out-of-memory policy's one exit, and json-c constructors that follow it (json.h). */
#include "mcp/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

const char *json_text(json_object *value) {
    if (!json_object_is_type(value, json_type_string))
        return NULL;
    const char *text = json_object_get_string(value);
    return strlen(text) == (size_t)json_object_get_string_len(value) ? text : NULL;
}

/* True when text[0..length) is JSON white space only. */
static bool only_white_space(const char *text, size_t length) {
    for (size_t i = 0; i < length; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
            return false;
    return true;
}

json_strict_status json_parse_strict(const char *text, size_t length, int max_depth, json_object **value,
                                     const char **error) {
    *value = NULL;
    *error = "out of memory";
    if (length > INT32_MAX) {
        *error = "the JSON value is too large";
        return JSON_STRICT_INVALID;
    }
    json_tokener *tokener = json_tokener_new_ex(max_depth);
    if (tokener == NULL)
        return JSON_STRICT_NO_MEMORY;
    json_tokener_set_flags(tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *parsed = json_tokener_parse_ex(tokener, text, (int)length);
    size_t end = json_tokener_get_parse_end(tokener);
    bool incomplete = json_tokener_get_error(tokener) == json_tokener_continue;
    if (incomplete) {
        /* A number or literal at the very end is complete only once json-c sees the end. */
        parsed = json_tokener_parse_ex(tokener, "", 1);
        end = length;
    }
    /* json-c 0.16 has no error code for running out of memory while parsing: such a text
     * reads as invalid, which is still an answer. */
    enum json_tokener_error status = json_tokener_get_error(tokener);
    json_tokener_free(tokener);
    if (parsed == NULL || status != json_tokener_success) {
        json_object_put(parsed);
        *error = incomplete                       ? "the JSON value is incomplete"
                 : status == json_tokener_success ? "the JSON value is null"
                                                  : json_tokener_error_desc(status);
        return JSON_STRICT_INVALID;
    }
    if (end > length || !only_white_space(text + end, length - end)) {
        json_object_put(parsed);
        *error = "there is more after the JSON value";
        return JSON_STRICT_INVALID;
    }
    *value = parsed;
    *error = NULL;
    return JSON_STRICT_VALUE;
}
