/* The catalog snapshot file: a database's own functions, operators and types with their
 * worst volatility, written by `pgsafe catalog export` from the rows of the catalog query
 * the server loads (catalog_load_sql), and read back by `pgsafe check --catalog` into the
 * same db_catalog the server builds, so that CI without a database judges user functions
 * as the server would. The format (version 1, docs/configuration.md):
 *
 *   {"format": "pgsafe-catalog", "version": 1, "server_version": "15.8", "server_major": 15,
 *    "database": "shop", "exported_by": "pgsafe 0.4.0",
 *    "functions": [{"schema": "public", "name": "order_total", "volatility": "immutable"}],
 *    "operators": [...], "types": [...],
 *    "families": [{"schema": "public", "name": "events_2024", "ancestor_schema": "public",
 *                  "ancestor_name": "events"}],
 *    "hazards": [{"kind": "type", "schema": "public", "name": "pair", "why": "its = operator ..."}]}
 *
 * Entries are sorted and unique by (schema, name); volatility is "immutable", "stable",
 * "volatile" or "unknown". families and hazards are optional (older exports lack them); a
 * reader ignores members it does not know (later versions of version 1 may add some); a file
 * of a newer version is refused. */
#ifndef PGSAFE_CLI_CATALOG_FILE_H
#define PGSAFE_CLI_CATALOG_FILE_H

#include <json-c/json.h>

#include "db/catalog.h"

/* The format version this pgsafe writes and the newest it reads. */
#define CLI_CATALOG_FORMAT_VERSION 1

/* The snapshot of the rows of a successful catalog_load_sql result, stamped with
 * exported_by ("pgsafe 0.4.0"). Returns the document (caller puts it), or NULL with *error
 * set (static text) when a row is malformed or memory ran out. */
json_object *cli_catalog_file_from_rows(const db_result *rows, const char *exported_by, const char **error);

/* The document as the file holds it: one member a line, one array entry a line, so that a
 * snapshot kept in a repository diffs by object. Caller frees; NULL when out of memory. */
char *cli_catalog_file_text(json_object *document);

/* A loaded snapshot. */
typedef struct cli_catalog_file {
    db_catalog *catalog;  /* the objects, for catalog_for_guard */
    char *server_version; /* as the server reported it, or NULL when the file has none */
    int server_major;     /* its major version, or 0 */
} cli_catalog_file;

/* Reads the snapshot at path. Returns true with *loaded filled (free it with
 * cli_catalog_file_free), or false with *error set to a one-line reason (caller frees). */
bool cli_catalog_file_load(const char *path, cli_catalog_file *loaded, char **error);

void cli_catalog_file_free(cli_catalog_file *loaded);

#endif
