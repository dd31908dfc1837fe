/* The relations of the live catalog, for the data owner's table and column policy: every
 * relation a query can name with its columns and whether an unqualified name resolves to it
 * under the pinned search_path. Loaded from the rows of RELATIONS_SQL (inside
 * catalog_load_relations_sql) by catalog.c, which owns one db_relations, answers the guard's
 * relation callback with relations_lookup and adds the ancestors from its family lists. */
#ifndef PGSAFE_DB_RELATIONS_H
#define PGSAFE_DB_RELATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "pgsafe/guard.h"

/* Every relation a query can name (tables, views, materialized views, foreign tables, in
 * every schema but TOAST and temporary ones) with whether an unqualified name resolves to
 * it: the load runs under the pinned search_path, so pg_table_is_visible answers exactly.
 * c is relkind, '+' or '-', then the oid. Then every column, by relation oid and attnum. */
#define RELATIONS_SQL                                                                                                  \
    "SELECT 'r', n.nspname, c.relname, c.relkind::text"                                                                \
    "       || CASE WHEN pg_catalog.pg_table_is_visible(c.oid) THEN '+' ELSE '-' END || c.oid::text"                   \
    "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                            \
    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'"                   \
    " UNION ALL "                                                                                                      \
    "SELECT 'a', a.attrelid::text, a.attnum::text, a.attname::text"                                                    \
    "  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"                                \
    "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                                                       \
    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'"                   \
    "   AND a.attnum > 0 AND NOT a.attisdropped"

/* A relation a query may name, with its columns, for the table and column policy. */
typedef struct catalog_relation {
    unsigned oid;
    char *schema;
    char *name;
    guard_relation_kind kind;
    char relkind;   /* pg_class.relkind: 'r', 'p', 'v', 'm' or 'f' */
    bool visible;   /* an unqualified name resolves to it under the pinned search_path */
    char **columns; /* in attnum order, dropped ones left out */
    size_t column_count;
} catalog_relation;

/* A column row while loading, before it finds its relation. */
typedef struct pending_column {
    unsigned oid;
    int attnum;
    char *name;
} pending_column;

typedef struct db_relations {
    catalog_relation *relations; /* sorted by (schema, name) once finished */
    size_t relation_count;
    pending_column *pending; /* column rows while loading */
    size_t pending_count;
} db_relations;

/* Takes one row of kind 'r' (schema, name, relkind '+'/'-' oid) or 'a' (oid, attnum, name);
 * row_count bounds how many rows can come. False when the row is malformed or memory ran out
 * (what was taken stays owned by set). */
bool relations_take_row(db_relations *set, size_t row_count, char kind, const char *a, const char *b, const char *c);

/* Hands the columns to their relations and sorts them for lookups; the rows taken are
 * released either way. False when memory ran out. */
bool relations_finish(db_relations *set);

/* Resolves schema.name (schema NULL: as the search_path does) into *out, whose strings stay
 * owned by set, with no ancestors (catalog.c adds them). False when no such relation is known. */
bool relations_lookup(const db_relations *set, const char *schema, const char *name, guard_relation *out);

void relations_clear(db_relations *set);

#endif
