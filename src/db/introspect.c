/* Catalog queries for the schema tools and resources. PostgreSQL assembles the JSON and
 * text itself, so each answer is one statement and one round trip. */
#include "db/introspect.h"

/* The SQL is laid out by hand, a clause a line; clang-format would scatter it. */
// clang-format off

/* The schemas a model sees: those named by --schemas, else every schema the role may use
 * except the system ones. */
#define VISIBLE_SCHEMA(n)                                                                                            \
    "(CASE WHEN $1::pg_catalog.text[] IS NULL THEN " n ".nspname !~ '^pg_' AND " n ".nspname <> 'information_schema'" \
    " AND pg_catalog.has_schema_privilege(" n ".oid, 'USAGE') ELSE " n ".nspname = ANY ($1::pg_catalog.text[]) END)"

/* Relations a model can query and that are not partitions (their parent stands for them). */
#define LISTED_RELATION(c)                                                                                           \
    c ".relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT " c ".relispartition"                                          \
      " AND pg_catalog.has_any_column_privilege(" c ".oid, 'SELECT')"

#define RELATION_KIND(c)                                                                                             \
    "CASE " c ".relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'"              \
    " WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END"

/* reltuples is -1 until the first ANALYZE; a partitioned table counts its partitions. */
#define ROW_ESTIMATE(c)                                                                                              \
    "CASE WHEN " c ".relkind = 'p' THEN (SELECT pg_catalog.sum(ch.reltuples) FILTER (WHERE ch.reltuples >= 0)::bigint" \
    " FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class ch ON ch.oid = i.inhrelid WHERE i.inhparent = " c ".oid)" \
    " WHEN " c ".relkind IN ('v', 'f') OR " c ".reltuples < 0 THEN NULL ELSE " c ".reltuples::bigint END"

/* The column names of a constraint's key array, in key order. */
#define KEY_NAMES(keys, relation)                                                                                    \
    "(SELECT pg_catalog.json_agg(a.attname ORDER BY k.position) FROM pg_catalog.unnest(" keys                       \
    ") WITH ORDINALITY k(number, position) JOIN pg_catalog.pg_attribute a ON a.attrelid = " relation                \
    " AND a.attnum = k.number)"

#define KEY_TEXT(keys, relation)                                                                                     \
    "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.position)"                   \
    " FROM pg_catalog.unnest(" keys ") WITH ORDINALITY k(number, position) JOIN pg_catalog.pg_attribute a"          \
    " ON a.attrelid = " relation " AND a.attnum = k.number)"

const char introspect_list_schemas_sql[] =
    "SELECT pg_catalog.json_build_object('schemas', COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object("
    "'name', n.nspname, 'owner', pg_catalog.pg_get_userbyid(n.nspowner),"
    " 'comment', pg_catalog.obj_description(n.oid, 'pg_namespace'),"
    " 'tables', (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid AND " LISTED_RELATION("c")
    ")) ORDER BY n.nspname), '[]'::pg_catalog.json))::text"
    " FROM pg_catalog.pg_namespace n WHERE " VISIBLE_SCHEMA("n");

const char introspect_list_tables_sql[] =
    "WITH s AS (SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n WHERE " VISIBLE_SCHEMA("n")
    " AND ($2::pg_catalog.text IS NULL OR n.nspname = $2::pg_catalog.text))"
    " SELECT $2::pg_catalog.text IS NULL OR (SELECT pg_catalog.count(*) > 0 FROM s),"
    " pg_catalog.json_build_object('tables', COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object("
    "'schema', s.nspname, 'name', c.relname, 'kind', " RELATION_KIND("c") ", 'row_estimate', " ROW_ESTIMATE("c")
    ", 'comment', pg_catalog.obj_description(c.oid, 'pg_class')) ORDER BY s.nspname, c.relname) FILTER (WHERE c.oid IS NOT NULL),"
    " '[]'::pg_catalog.json))::text"
    " FROM s LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = s.oid AND " LISTED_RELATION("c");

const char introspect_describe_table_sql[] =
    "SELECT n.nspname, pg_catalog.json_build_object("
    "'schema', n.nspname, 'name', c.relname, 'kind', " RELATION_KIND("c")
    ", 'comment', pg_catalog.obj_description(c.oid, 'pg_class'), 'row_estimate', " ROW_ESTIMATE("c")
    ", 'columns', COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object("
    "'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'nullable', NOT a.attnotnull,"
    " 'default', pg_catalog.pg_get_expr(d.adbin, d.adrelid), 'comment', pg_catalog.col_description(a.attrelid, a.attnum))"
    " ORDER BY a.attnum) FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d"
    " ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'::pg_catalog.json)"
    ", 'primary_key', (SELECT " KEY_NAMES("p.conkey", "p.conrelid")
    " FROM pg_catalog.pg_constraint p WHERE p.conrelid = c.oid AND p.contype = 'p')"
    ", 'foreign_keys', COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object("
    "'name', f.conname, 'columns', " KEY_NAMES("f.conkey", "f.conrelid")
    ", 'references', pg_catalog.json_build_object('schema', rn.nspname, 'table', rc.relname, 'columns', "
    KEY_NAMES("f.confkey", "f.confrelid") ")) ORDER BY f.conname)"
    " FROM pg_catalog.pg_constraint f JOIN pg_catalog.pg_class rc ON rc.oid = f.confrelid"
    " JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace"
    " WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.conparentid = 0), '[]'::pg_catalog.json)"
    ", 'referenced_by', COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object("
    "'name', f.conname, 'schema', sn.nspname, 'table', sc.relname, 'columns', " KEY_NAMES("f.conkey", "f.conrelid")
    ", 'referenced_columns', " KEY_NAMES("f.confkey", "f.confrelid") ") ORDER BY sn.nspname, sc.relname, f.conname)"
    " FROM pg_catalog.pg_constraint f JOIN pg_catalog.pg_class sc ON sc.oid = f.conrelid"
    " JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace"
    " WHERE f.confrelid = c.oid AND f.contype = 'f' AND f.conparentid = 0), '[]'::pg_catalog.json)"
    ", 'indexes', COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object("
    "'name', ic.relname, 'definition', pg_catalog.pg_get_indexdef(i.indexrelid), 'unique', i.indisunique,"
    " 'primary', i.indisprimary) ORDER BY ic.relname)"
    " FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid),"
    " '[]'::pg_catalog.json))::text"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relname = $2::pg_catalog.text AND ($3::pg_catalog.text IS NULL OR n.nspname = $3::pg_catalog.text)"
    " AND " VISIBLE_SCHEMA("n") " AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    " AND pg_catalog.has_any_column_privilege(c.oid, 'SELECT')"
    " ORDER BY n.nspname LIMIT 10";

const char introspect_schema_rows_sql[] =
    "SELECT n.nspname, c.relname,"
    " pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || ' (' || " RELATION_KIND("c")
    " || COALESCE(', ~' || " ROW_ESTIMATE("c") " || ' rows', '') || ')',"
    " COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname,"
    " pg_catalog.quote_ident(a.attname) || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)"
    " || CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_constraint p WHERE p.conrelid = c.oid AND p.contype = 'p'"
    " AND a.attnum = ANY (p.conkey)) THEN ' PK' WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,"
    " r.nspname, r.relname, r.attname,"
    " ' -> ' || pg_catalog.quote_ident(r.nspname) || '.' || pg_catalog.quote_ident(r.relname)"
    " || '(' || pg_catalog.quote_ident(r.attname) || ')') ORDER BY a.attnum)"
    " FROM pg_catalog.pg_attribute a LEFT JOIN LATERAL (SELECT rn.nspname, rc.relname, ra.attname"
    " FROM pg_catalog.pg_constraint f"
    " JOIN pg_catalog.pg_class rc ON rc.oid = f.confrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace"
    " JOIN pg_catalog.pg_attribute ra ON ra.attrelid = f.confrelid AND ra.attnum = f.confkey[1]"
    " WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.conparentid = 0 AND f.conkey = ARRAY[a.attnum]"
    " ORDER BY f.conname LIMIT 1) r ON true"
    " WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'::pg_catalog.json)::text,"
    " COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object('text', '; FK (' || " KEY_TEXT("f.conkey", "f.conrelid") " || ') -> '"
    " || pg_catalog.quote_ident(rn.nspname) || '.' || pg_catalog.quote_ident(rc.relname) || '('"
    " || " KEY_TEXT("f.confkey", "f.confrelid") " || ')', 'schema', rn.nspname, 'table', rc.relname,"
    " 'columns', " KEY_NAMES("f.conkey", "f.conrelid") ", 'referenced_columns', " KEY_NAMES("f.confkey", "f.confrelid")
    ") ORDER BY f.conname)"
    " FROM pg_catalog.pg_constraint f JOIN pg_catalog.pg_class rc ON rc.oid = f.confrelid"
    " JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace"
    " WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.conparentid = 0"
    " AND pg_catalog.cardinality(f.conkey) > 1), '[]'::pg_catalog.json)::text,"
    " pg_catalog.regexp_replace(pg_catalog.obj_description(c.oid, 'pg_class'), '\\s+', ' ', 'g')"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE " VISIBLE_SCHEMA("n") " AND " LISTED_RELATION("c")
    " ORDER BY n.nspname, c.relname";

const char introspect_resource_page_sql[] =
    "SELECT n.nspname, c.relname, " RELATION_KIND("c") ", pg_catalog.obj_description(c.oid, 'pg_class'),"
    " pg_catalog.count(*) OVER ()"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE " VISIBLE_SCHEMA("n") " AND " LISTED_RELATION("c")
    " ORDER BY n.nspname, c.relname OFFSET $2::pg_catalog.int8 LIMIT $3::pg_catalog.int8";
// clang-format on
