/* The "relations" member of a catalog snapshot (cli/catalog_file.h): the relations through
 * which the server's table and column policy resolves the names a query uses, each with its
 * columns in order and whether an unqualified name reaches it under the search_path the
 * export pinned:
 *
 *   "relations": [{"schema": "public", "name": "users", "kind": "table", "visible": true,
 *                  "columns": ["id", "name", "email"]}]
 *
 * Written from the 'r' and 'a' rows of catalog_load_relations_sql and read back as the same
 * rows, with check's --relation declarations merged in, so that catalog_load fills one and
 * the same lookup from a file as from a connection. A relation's ancestors (a partition's
 * parent) come from the snapshot's "families", as the server takes them from its own. */
#ifndef PGSAFE_CLI_CATALOG_RELATIONS_H
#define PGSAFE_CLI_CATALOG_RELATIONS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/policy.h"
#include "db/result.h"

/* The most columns one entry may list: PostgreSQL's own limit per table. */
#define CLI_CATALOG_MAX_COLUMNS 1600

/* Adds "relations" to document from the 'r' and 'a' rows, sorted by schema and name (no
 * member when there is no 'r' row: rows of catalog_load_sql, which knows no relations).
 * False with *error set (static text) when a row is malformed or memory ran out. */
bool cli_catalog_relations_write(json_object *document, const db_result *rows, const char **error);

/* How many rows cli_catalog_relations_rows may append for relations (NULL: none) and the
 * declarations: an upper bound, whatever the entries hold. */
size_t cli_catalog_relations_row_count(json_object *relations, const cli_relation *declared, size_t declared_count);

/* Validates every entry of relations (NULL: the file has none) and appends the rows of the
 * catalog query's shape ('r': schema, name, relkind '+'/'-' oid; 'a': oid, attnum, name) to
 * rows, which has room for cli_catalog_relations_row_count more. A declaration replaces the
 * columns of the file's relation of the same schema and name, keeping its visibility, or
 * adds a table, which an unqualified name reaches when it is in public and no relation of
 * its name is visible. False with *error set (caller frees), naming the entry, when one is
 * malformed, two name the same relation, or two are visible under one name. */
bool cli_catalog_relations_rows(db_result *rows, json_object *relations, const cli_relation *declared,
                                size_t declared_count, const char *path, char **error);

/* Sets a cell of rows (four text columns) to a copy of text. False when out of memory. */
bool cli_catalog_rows_set(db_result *rows, size_t row, int column, const char *text);

#endif
