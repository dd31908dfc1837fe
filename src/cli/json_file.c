/* Reading a JSON file of the operator's (a catalog snapshot, a databases configuration):
 * whole, bounded, and strict (json_parse_strict, and no object naming a member twice). */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/json_file.h"
#include "mcp/json.h"
#include "util/strings.h"

/* Reads the whole file, at most CLI_JSON_FILE_MAX_BYTES. NULL with *error set when it cannot. */
static char *read_file(const char *path, size_t *length, char **error) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        *error = str_printf("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    /* One byte more than the bound, so a file that fills it is known to be too large; and
     * one more for the NUL that ends the text. */
    size_t capacity = 65536, used = 0;
    char *text = malloc(capacity + 1);
    bool too_large = false;
    while (text != NULL) {
        used += fread(text + used, 1, capacity - used, file);
        if (used < capacity)
            break;
        if (capacity == CLI_JSON_FILE_MAX_BYTES + 1) {
            too_large = true;
            break;
        }
        size_t bigger = capacity * 2 > CLI_JSON_FILE_MAX_BYTES + 1 ? CLI_JSON_FILE_MAX_BYTES + 1 : capacity * 2;
        char *grown = realloc(text, bigger + 1);
        if (grown == NULL)
            free(text);
        text = grown;
        capacity = bigger;
    }
    if (text == NULL)
        *error = strdup("out of memory");
    else if (too_large)
        *error = str_printf("%s is larger than %u bytes", path, CLI_JSON_FILE_MAX_BYTES);
    else if (ferror(file))
        *error = str_printf("cannot read %s: %s", path, strerror(errno));
    fclose(file);
    if (text == NULL || too_large || *error != NULL) {
        free(text);
        return NULL;
    }
    text[used] = '\0';
    *length = used;
    return text;
}

/* Parses text (NUL-terminated after length bytes) as one JSON document with nothing but
 * white space after it. */
static json_object *parse_document(const char *text, size_t length, const char *path, char **error) {
    assert(text[length] == '\0');
    json_object *document = NULL;
    const char *why = NULL;
    if (json_parse_strict(text, length, JSON_TOKENER_DEFAULT_DEPTH, &document, &why) == JSON_STRICT_NO_MEMORY)
        *error = strdup("out of memory");
    else if (document == NULL)
        *error = str_printf("%s is not valid JSON: %s", path, why);
    return document;
}

/* The object members text writes: in JSON a string followed by ':' is a member's name. The
 * text has been parsed strictly, so strings are the only thing to step over. */
static size_t members_written(const char *text, size_t length) {
    size_t count = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] != '"')
            continue;
        for (i++; i < length && text[i] != '"'; i++)
            i += text[i] == '\\';
        size_t next = i + 1;
        next += strspn(text + next, " \t\r\n");
        count += next < length && text[next] == ':';
    }
    return count;
}

/* The object members value holds, in every object within it. */
static size_t members_kept(json_object *value) {
    size_t count = 0;
    if (json_object_is_type(value, json_type_object)) {
        json_object_object_foreach(value, key, member) {
            (void)key;
            count += 1 + members_kept(member);
        }
    } else if (json_object_is_type(value, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(value); i++)
            count += members_kept(json_object_array_get_idx(value, i));
    }
    return count;
}

json_object *cli_json_file_read(const char *path, char **error) {
    *error = NULL;
    size_t length = 0;
    char *text = read_file(path, &length, error);
    if (text == NULL)
        return NULL;
    json_object *document = parse_document(text, length, path, error);
    /* json-c keeps the last of two members of the same name: a setting given twice must not
     * pass for one given once. */
    if (document != NULL && members_kept(document) != members_written(text, length)) {
        *error = str_printf("%s gives the same name twice in one object; give each once", path);
        json_object_put(document);
        document = NULL;
    }
    free(text);
    return document;
}

const char *cli_json_name(json_object *value) {
    if (!json_object_is_type(value, json_type_string))
        return NULL;
    const char *text = json_object_get_string(value);
    size_t length = (size_t)json_object_get_string_len(value);
    return length > 0 && strlen(text) == length ? text : NULL;
}

const char *cli_json_name_member(json_object *object, const char *name) {
    json_object *value = NULL;
    return json_object_object_get_ex(object, name, &value) ? cli_json_name(value) : NULL;
}
