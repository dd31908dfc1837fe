/* The catalog snapshot file: a database's own functions, operators and types with their
 * worst volatility, and the relations its table and column policy resolves names through,
 * written by `pgsafe catalog export` from the rows of the catalog query the server loads
 * (catalog_load_relations_sql), and read back by `pgsafe check --catalog` into the
 * same db_catalog the server builds, so that CI without a database judges user functions
 * as the server would. The format (version 1, docs/configuration.md):
 *
 *   {"format": "pgsafe-catalog", "version": 1, "server_version": "15.8", "server_major": 15,
 *    "database": "shop", "exported_by": "pgsafe 0.4.0", "search_path": "pg_catalog, public",
 *    "functions": [{"schema": "public", "name": "order_total", "volatility": "immutable"}],
 *    "operators": [...], "types": [...],
 *    "families": [{"schema": "public", "name": "events_2024", "ancestor_schema": "public",
 *                  "ancestor_name": "events"}],
 *    "hazards": [{"kind": "type", "schema": "public", "name": "pair", "why": "its = operator ..."}],
 *    "calls": [...], "relations": [...]}   (relations: cli/catalog_relations.h)
 *
 * Entries are sorted and unique by (schema, name); volatility is "immutable", "stable",
 * "volatile" or "unknown". families, hazards, calls and relations are optional (older
 * exports lack them); a
 * reader ignores members it does not know (later versions of version 1 may add some); a file
 * of a newer version is refused. */
#ifndef PGSAFE_CLI_CATALOG_FILE_H
#define PGSAFE_CLI_CATALOG_FILE_H

#include <json-c/json.h>

#include "cli/policy.h"
#include "db/catalog.h"

/* The format version this pgsafe writes and the newest it reads. */
#define CLI_CATALOG_FORMAT_VERSION 1

/* The snapshot of the rows of a successful catalog_load_relations_sql result (or
 * catalog_load_sql's, which know no relations), stamped with exported_by ("pgsafe 0.4.0")
 * and the search_path pinned while they were read (NULL: not said). Returns the document
 * (caller puts it), or NULL with *error set (static text) when a row is malformed or memory
 * ran out. */
json_object *cli_catalog_file_from_rows(const db_result *rows, const char *exported_by, const char *search_path,
                                        const char **error);

/* The document as the file holds it: one member a line, one array entry a line, so that a
 * snapshot kept in a repository diffs by object. Caller frees. *length is its size in bytes;
 * NULL when it is longer than max_bytes (*length says by how much) or memory ran out
 * (*length 0). */
char *cli_catalog_file_text(json_object *document, size_t max_bytes, size_t *length);

/* A loaded snapshot. */
typedef struct cli_catalog_file {
    db_catalog *catalog;  /* the objects */
    guard_catalog guard;  /* catalog_for_guard's, without the relation callback when the file
                           * lists no relations and none were declared */
    bool has_relations;   /* the file has "relations", or relations were declared */
    char *server_version; /* as the server reported it, or NULL when the file has none */
    int server_major;     /* its major version, or 0 */
} cli_catalog_file;

/* Reads the snapshot at path, with check's --relation declarations (declared_count of them)
 * merged into its relations (cli/catalog_relations.h). Returns true with *loaded filled (free
 * it with cli_catalog_file_free), or false with *error set to a one-line reason (caller
 * frees; NULL when memory ran out). */
bool cli_catalog_file_load(const char *path, const cli_relation *declared, size_t declared_count,
                           cli_catalog_file *loaded, char **error);

void cli_catalog_file_free(cli_catalog_file *loaded);

#endif
