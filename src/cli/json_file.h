/* Reading a JSON file of the operator's: a catalog snapshot (cli/catalog_file.h), the
 * databases of --database-config (cli/databases.c). */
#ifndef PGSAFE_CLI_JSON_FILE_H
#define PGSAFE_CLI_JSON_FILE_H

#include <json-c/json.h>

/* The largest file read (a catalog snapshot of a large database stays well under it). */
#define CLI_JSON_FILE_MAX_BYTES (64u * 1024 * 1024)

/* One strict JSON document from the file at path (nothing but white space after it, no
 * object with two members of the same name); NULL with *error set (caller frees; NULL when
 * memory ran out) when it cannot be read, is larger than CLI_JSON_FILE_MAX_BYTES, or is not
 * one. */
json_object *cli_json_file_read(const char *path, char **error);

/* value as a name: a non-empty string holding no NUL byte, or NULL when it is not one. */
const char *cli_json_name(json_object *value);

/* cli_json_name of object's member called name; NULL when it is absent or not a name. */
const char *cli_json_name_member(json_object *object, const char *name);

#endif
