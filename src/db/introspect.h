/* The catalog queries behind list_schemas, list_tables, describe_table and the schema
 * resource. Each is one read-only statement run through the pool like any other call;
 * PostgreSQL builds the JSON or text, so one round trip answers. Parameters:
 *   $1  the visible schemas as a text[] literal ("{public,sales}"), or NULL for every
 *       schema the role may use except the system ones. */
#ifndef PGSAFE_DB_INTROSPECT_H
#define PGSAFE_DB_INTROSPECT_H

/* Rows: one text column holding {"schemas": [...]}. */
extern const char introspect_list_schemas_sql[];

/* $2 a schema or NULL. Rows: (schema_found boolean, tables json): tables is {"tables": [...]}
 * and schema_found false when $2 names no visible schema. */
extern const char introspect_list_tables_sql[];

/* $2 the table name, $3 a schema or NULL. Rows: one per matching visible table (schema,
 * description json); none when it does not exist. */
extern const char introspect_describe_table_sql[];

/* Rows: one per visible table, by schema and name: schema, name, the line's head
 * ("schema.name (kind, ~N rows)"), its columns as JSON [[name, text, fk schema, fk table,
 * fk column, fk text], ...] in order, its multi-column foreign keys as JSON [{text, schema,
 * table, columns, referenced_columns}], and its comment on one line (or NULL). The schema
 * resource assembles a line per table from them (mcp/resources.c), leaving out what the
 * data owner's policy hides. */
extern const char introspect_schema_rows_sql[];

/* $2 offset, $3 page size. Rows: (schema, table, kind, comment, more boolean). */
extern const char introspect_resource_page_sql[];

#endif
