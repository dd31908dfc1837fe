/* The live catalog: volatility of user objects for the guard, type names for results, and
 * the role's posture, all from one query so that loading is one round trip. The rows come
 * in as a db_result (from the pool, or from a one-shot command's session); this file knows
 * nothing of connections. */
#include "db/catalog.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "db/clock.h"
#include "db/nametable.h"
#include "util/strings.h"

typedef struct type_name {
    unsigned oid;
    char *name;
} type_name;

/* A relation a query may name, with its columns, for the table and column policy. */
typedef struct catalog_relation {
    unsigned oid;
    char *schema;
    char *name;
    guard_relation_kind kind;
    bool visible;   /* an unqualified name resolves to it under the pinned search_path */
    char **columns; /* in attnum order, dropped ones left out */
    size_t column_count;
    guard_relation_name *ancestors; /* partitioned or inheritance parents, transitively */
    size_t ancestor_count;
} catalog_relation;

/* A column row while loading, before it finds its relation. */
typedef struct pending_column {
    unsigned oid;
    int attnum;
    char *name;
} pending_column;

/* An ancestor row while loading: relation oid, the ancestor's schema and name. */
typedef struct pending_ancestor {
    unsigned oid;
    char *schema;
    char *name;
} pending_ancestor;

struct db_catalog {
    nametable volatilities; /* key "kind\x1fschema\x1fname" (schema "" for the unqualified entry that
                             * holds the worst over every schema), value a guard_volatility */
    type_name *types;       /* sorted by oid */
    size_t type_count;
    catalog_relation *relations; /* sorted by (schema, name); only when loaded with relations */
    size_t relation_count;
    pending_column *pending; /* column rows while loading */
    size_t pending_count;
    pending_ancestor *pending_ancestors; /* ancestor rows while loading */
    size_t pending_ancestor_count;
    int64_t loaded_at;
    guard_catalog guard; /* callbacks with context = this */
};

/* Functions, aggregates with their support functions, operators with their functions, and
 * types with their I/O functions, casts and the functions a domain's CHECK calls: the worst
 * volatility decides. Then every type's display name, then the posture rows. */
#define OBJECTS_SQL                                                                                                    \
    "SELECT 'f', n.nspname, p.proname, p.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"                             \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 'f', n.nspname, p.proname, s.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid"                                 \
    "  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"                                                       \
    "  JOIN pg_catalog.pg_proc s ON s.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,"              \
    "       a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn)"                                          \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 'o', n.nspname, o.oprname, COALESCE(p.provolatile::text, 'u')"                                             \
    "  FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"                         \
    "  LEFT JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode"                                                            \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 't', n.nspname, t.typname, f.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"                             \
    "  JOIN pg_catalog.pg_proc f ON f.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend,"                       \
    "       t.typmodin, t.typmodout, t.typanalyze, t.typsubscript)"                                                    \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 't', n.nspname, t.typname, f.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_proc f ON f.oid = c.castfunc"                                      \
    "  JOIN pg_catalog.pg_type t ON t.oid IN (c.castsource, c.casttarget)"                                             \
    "  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"                                                       \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 't', n.nspname, t.typname, f.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"                             \
    "  JOIN pg_catalog.pg_constraint con ON con.contypid = t.oid"                                                      \
    "  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass"                     \
    "       AND d.objid = con.oid"                                                                                     \
    "  LEFT JOIN pg_catalog.pg_operator o ON d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass"             \
    "       AND o.oid = d.refobjid"                                                                                    \
    "  JOIN pg_catalog.pg_proc f ON (d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass"                         \
    "       AND f.oid = d.refobjid) OR f.oid = o.oprcode"                                                              \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 'n', t.oid::text, pg_catalog.format_type(t.oid, NULL), NULL FROM pg_catalog.pg_type t"

/* Who we are and why we could write, if we could. Newer majors: 17's MAINTAIN privilege
 * and pg_maintain role (VACUUM, ANALYZE, REFRESH MATERIALIZED VIEW, LOCK TABLE) and 16's
 * pg_create_subscription (subscriptions write into tables) count as writing; from 16 a
 * membership counts only when it conveys something (INHERIT, or SET to become the role).
 * 16's pg_use_reserved_connections and 18's pg_signal_autovacuum_worker change no data and
 * are not counted, like pg_signal_backend. */
#define POSTURE_SQL                                                                                                    \
    "SELECT 'role', current_user, pg_catalog.current_database(), pg_catalog.current_setting('server_version')"         \
    " UNION ALL "                                                                                                      \
    "SELECT 'attribute', a.attribute, NULL, NULL FROM pg_catalog.pg_roles r,"                                          \
    "  LATERAL (VALUES ('superuser', r.rolsuper), ('createrole', r.rolcreaterole), ('createdb', r.rolcreatedb),"       \
    "                  ('replication', r.rolreplication), ('bypassrls', r.rolbypassrls)) a(attribute, held)"           \
    " WHERE r.rolname = current_user AND a.held"                                                                       \
    " UNION ALL "                                                                                                      \
    "(SELECT 'write', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),"                  \
    "        pg_catalog.count(*) OVER ()::text, NULL"                                                                  \
    "   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                           \
    "  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'"   \
    "    AND ((c.relkind IN ('r', 'p', 'v', 'm', 'f')"                                                                 \
    "          AND (pg_catalog.has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')"                         \
    "               OR pg_catalog.has_any_column_privilege(c.oid, 'INSERT, UPDATE')"                                   \
    "               OR CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 170000"                      \
    "                    AND c.relkind IN ('r', 'p', 'm')"                                                             \
    "                  THEN pg_catalog.has_table_privilege(c.oid, 'MAINTAIN') ELSE false END))"                        \
    "         OR (c.relkind = 'S' AND pg_catalog.has_sequence_privilege(c.oid, 'USAGE, UPDATE')))"                     \
    "  ORDER BY 2 LIMIT 3)"                                                                                            \
    " UNION ALL "                                                                                                      \
    "SELECT 'create', pg_catalog.quote_ident(n.nspname), NULL, NULL FROM pg_catalog.pg_namespace n"                    \
    " WHERE pg_catalog.has_schema_privilege(n.oid, 'CREATE') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'"         \
    " UNION ALL "                                                                                                      \
    "SELECT 'create', 'database ' || pg_catalog.quote_ident(pg_catalog.current_database()), NULL, NULL"                \
    " WHERE pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')"                                \
    " UNION ALL "                                                                                                      \
    "SELECT 'member', m.rolname::text, NULL, NULL FROM pg_catalog.pg_roles m"                                          \
    " WHERE m.rolname IN ('pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program',"               \
    "                     'pg_maintain', 'pg_create_subscription')"                                                    \
    "   AND " CATALOG_HOLDS_ROLE_SQL("m.oid")

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
    "   AND a.attnum > 0 AND NOT a.attisdropped"                                                                       \
    " UNION ALL "                                                                                                      \
    "(WITH RECURSIVE up(child, parent) AS (SELECT i.inhrelid, i.inhparent FROM pg_catalog.pg_inherits i"               \
    "   UNION SELECT u.child, i.inhparent FROM up u JOIN pg_catalog.pg_inherits i ON i.inhrelid = u.parent)"           \
    " SELECT 'h', u.child::text, n.nspname, c.relname FROM up u JOIN pg_catalog.pg_class c ON c.oid = u.parent"        \
    "   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace)"

static const char load_sql[] = OBJECTS_SQL " UNION ALL " POSTURE_SQL;
static const char load_relations_sql[] = OBJECTS_SQL " UNION ALL " RELATIONS_SQL " UNION ALL " POSTURE_SQL;
static const char posture_sql[] = POSTURE_SQL;

const char *catalog_load_sql(void) {
    return load_sql;
}

const char *catalog_load_relations_sql(void) {
    return load_relations_sql;
}

const char *catalog_posture_sql(void) {
    return posture_sql;
}

/* pg_proc.provolatile's code; UNKNOWN for NULL or anything else. */
static guard_volatility parse_volatility(const char *code) {
    if (code == NULL)
        return GUARD_VOLATILITY_UNKNOWN;
    switch (code[0]) {
    case 'i': return GUARD_VOLATILITY_IMMUTABLE;
    case 's': return GUARD_VOLATILITY_STABLE;
    case 'v': return GUARD_VOLATILITY_VOLATILE;
    default: return GUARD_VOLATILITY_UNKNOWN;
    }
}

/* UNKNOWN is worst of all: an object we cannot classify must not make its name look safe. */
static int rank(guard_volatility volatility) {
    switch (volatility) {
    case GUARD_VOLATILITY_IMMUTABLE: return 0;
    case GUARD_VOLATILITY_STABLE: return 1;
    case GUARD_VOLATILITY_VOLATILE: return 2;
    default: return 3;
    }
}

/* The table key of an object (caller frees), or NULL when out of memory. */
static char *make_key(char kind, const char *schema, const char *name) {
    return str_printf("%c\x1f%s\x1f%s", kind, schema ? schema : "", name);
}

/* Records volatility under the key, keeping the worst seen. Returns false when out of
 * memory (the table holds what it held). */
static bool note(db_catalog *catalog, char kind, const char *schema, const char *name, guard_volatility volatility) {
    if (!nametable_reserve(&catalog->volatilities))
        return false;
    char *key = make_key(kind, schema, name);
    if (key == NULL)
        return false;
    nametable_entry *slot = nametable_slot(&catalog->volatilities, key);
    assert(slot != NULL); /* nametable_reserve left room */
    if (slot->key == NULL) {
        slot->key = key; /* the table owns it now */
        slot->value = (int)volatility;
        catalog->volatilities.count++;
        return true;
    }
    free(key);
    if (rank(volatility) > rank((guard_volatility)slot->value))
        slot->value = (int)volatility;
    return true;
}

/* The worst volatility recorded for the object; UNKNOWN when absent or out of memory. */
static guard_volatility lookup(const db_catalog *catalog, char kind, const char *schema, const char *name) {
    if (catalog->volatilities.capacity == 0 || name == NULL)
        return GUARD_VOLATILITY_UNKNOWN;
    char *key = make_key(kind, schema, name);
    if (key == NULL)
        return GUARD_VOLATILITY_UNKNOWN;
    const nametable_entry *slot = nametable_slot(&catalog->volatilities, key);
    free(key);
    return slot && slot->key ? (guard_volatility)slot->value : GUARD_VOLATILITY_UNKNOWN;
}

/* The guard_catalog callbacks; context is the catalog. */
static guard_volatility function_volatility(void *context, const char *schema, const char *name) {
    return lookup(context, 'f', schema, name);
}

static guard_volatility operator_volatility(void *context, const char *schema, const char *name) {
    return lookup(context, 'o', schema, name);
}

static guard_volatility type_volatility(void *context, const char *schema, const char *name) {
    return lookup(context, 't', schema, name);
}

/* Orders relations by (schema, name), for qsort and bsearch. */
static int compare_relations(const void *left, const void *right) {
    const catalog_relation *a = left, *b = right;
    int by_schema = strcmp(a->schema, b->schema);
    return by_schema != 0 ? by_schema : strcmp(a->name, b->name);
}

static void fill_relation(const catalog_relation *relation, guard_relation *out) {
    out->kind = relation->kind;
    out->schema = relation->schema;
    out->name = relation->name;
    out->columns = (const char *const *)relation->columns;
    out->column_count = relation->column_count;
    out->ancestors = relation->ancestors;
    out->ancestor_count = relation->ancestor_count;
}

/* The guard's relation callback: a qualified name in its schema, an unqualified one as the
 * pinned search_path resolves it. */
static bool relation_lookup(void *context, const char *schema, const char *name, guard_relation *out) {
    const db_catalog *catalog = context;
    if (name == NULL)
        return false;
    if (schema != NULL) {
        catalog_relation probe = {.schema = (char *)schema, .name = (char *)name};
        const catalog_relation *found =
            catalog->relation_count > 0
                ? bsearch(&probe, catalog->relations, catalog->relation_count, sizeof probe, compare_relations)
                : NULL;
        if (found != NULL)
            fill_relation(found, out);
        return found != NULL;
    }
    for (size_t i = 0; i < catalog->relation_count; i++)
        if (catalog->relations[i].visible && strcmp(catalog->relations[i].name, name) == 0) {
            fill_relation(&catalog->relations[i], out);
            return true;
        }
    return false;
}

db_catalog *catalog_new(void) {
    db_catalog *catalog = calloc(1, sizeof *catalog);
    if (catalog == NULL)
        return NULL;
    catalog->guard.function_volatility = function_volatility;
    catalog->guard.operator_volatility = operator_volatility;
    catalog->guard.type_volatility = type_volatility;
    catalog->guard.relation = relation_lookup;
    catalog->guard.context = catalog;
    return catalog;
}

/* Frees the tables (not the catalog itself nor its guard callbacks). */
static void clear_relations(db_catalog *catalog) {
    for (size_t i = 0; i < catalog->relation_count; i++) {
        catalog_relation *relation = &catalog->relations[i];
        free(relation->schema);
        free(relation->name);
        for (size_t c = 0; c < relation->column_count; c++)
            free(relation->columns[c]);
        free(relation->columns);
        for (size_t a = 0; a < relation->ancestor_count; a++) {
            free((char *)relation->ancestors[a].schema);
            free((char *)relation->ancestors[a].name);
        }
        free(relation->ancestors);
    }
    free(catalog->relations);
    catalog->relations = NULL;
    catalog->relation_count = 0;
    for (size_t i = 0; i < catalog->pending_count; i++)
        free(catalog->pending[i].name);
    free(catalog->pending);
    catalog->pending = NULL;
    catalog->pending_count = 0;
    for (size_t i = 0; i < catalog->pending_ancestor_count; i++) {
        free(catalog->pending_ancestors[i].schema);
        free(catalog->pending_ancestors[i].name);
    }
    free(catalog->pending_ancestors);
    catalog->pending_ancestors = NULL;
    catalog->pending_ancestor_count = 0;
}

static void clear_contents(db_catalog *catalog) {
    clear_relations(catalog);
    nametable_clear(&catalog->volatilities);
    for (size_t i = 0; i < catalog->type_count; i++)
        free(catalog->types[i].name);
    free(catalog->types);
    catalog->types = NULL;
    catalog->type_count = 0;
}

void catalog_free(db_catalog *catalog) {
    if (catalog == NULL)
        return;
    clear_contents(catalog);
    free(catalog);
}

/* Orders type names by oid, for qsort and bsearch. */
static int compare_types(const void *left, const void *right) {
    unsigned a = ((const type_name *)left)->oid, b = ((const type_name *)right)->oid;
    return (a > b) - (a < b);
}

/* The types are in ascending oid order, as bsearch needs them. */
static bool types_sorted(const db_catalog *catalog) {
    for (size_t i = 1; i < catalog->type_count; i++)
        if (catalog->types[i - 1].oid > catalog->types[i].oid)
            return false;
    return true;
}

static guard_relation_kind relation_kind(char relkind) {
    switch (relkind) {
    case 'r':
    case 'p': return GUARD_RELATION_KIND_TABLE;
    case 'v':
    case 'm': return GUARD_RELATION_KIND_VIEW;
    case 'f': return GUARD_RELATION_KIND_FOREIGN_TABLE;
    default: return GUARD_RELATION_KIND_OTHER;
    }
}

/* A relation row: schema, name, relkind '+'/'-' oid. relations has room for every row. */
static bool note_relation(db_catalog *catalog, const db_result *rows, const char *schema, const char *name,
                          const char *flags) {
    if (schema == NULL || name == NULL || flags == NULL || strlen(flags) < 3 || (flags[1] != '+' && flags[1] != '-'))
        return false;
    if (catalog->relations == NULL &&
        (catalog->relations = calloc(rows->row_count, sizeof *catalog->relations)) == NULL)
        return false;
    assert(catalog->relation_count < rows->row_count);
    catalog_relation *relation = &catalog->relations[catalog->relation_count];
    relation->oid = (unsigned)strtoul(flags + 2, NULL, 10);
    relation->kind = relation_kind(flags[0]);
    relation->visible = flags[1] == '+';
    relation->schema = strdup(schema);
    relation->name = strdup(name);
    catalog->relation_count++; /* counted now, so that clear_relations frees what was copied */
    return relation->schema != NULL && relation->name != NULL;
}

/* A column row: relation oid, attnum, name. pending has room for every row. */
static bool note_column(db_catalog *catalog, const db_result *rows, const char *oid, const char *attnum,
                        const char *name) {
    if (oid == NULL || attnum == NULL || name == NULL)
        return false;
    if (catalog->pending == NULL && (catalog->pending = calloc(rows->row_count, sizeof *catalog->pending)) == NULL)
        return false;
    assert(catalog->pending_count < rows->row_count);
    pending_column *column = &catalog->pending[catalog->pending_count];
    column->oid = (unsigned)strtoul(oid, NULL, 10);
    column->attnum = atoi(attnum);
    column->name = strdup(name);
    catalog->pending_count++;
    return column->name != NULL;
}

/* An ancestor row: relation oid, the ancestor's schema and name. */
static bool note_ancestor(db_catalog *catalog, const db_result *rows, const char *oid, const char *schema,
                          const char *name) {
    if (oid == NULL || schema == NULL || name == NULL)
        return false;
    if (catalog->pending_ancestors == NULL &&
        (catalog->pending_ancestors = calloc(rows->row_count, sizeof *catalog->pending_ancestors)) == NULL)
        return false;
    assert(catalog->pending_ancestor_count < rows->row_count);
    pending_ancestor *ancestor = &catalog->pending_ancestors[catalog->pending_ancestor_count++];
    ancestor->oid = (unsigned)strtoul(oid, NULL, 10);
    ancestor->schema = strdup(schema);
    ancestor->name = strdup(name);
    return ancestor->schema != NULL && ancestor->name != NULL;
}

static int compare_pending_ancestors(const void *left, const void *right) {
    unsigned a = ((const pending_ancestor *)left)->oid, b = ((const pending_ancestor *)right)->oid;
    return (a > b) - (a < b);
}

static int compare_pending(const void *left, const void *right) {
    const pending_column *a = left, *b = right;
    if (a->oid != b->oid)
        return (a->oid > b->oid) - (a->oid < b->oid);
    return (a->attnum > b->attnum) - (a->attnum < b->attnum);
}

static int compare_relation_oids(const void *left, const void *right) {
    unsigned a = ((const catalog_relation *)left)->oid, b = ((const catalog_relation *)right)->oid;
    return (a > b) - (a < b);
}

/* Hands each pending column to its relation, in attnum order, and sorts the relations by
 * name for lookups. False when memory runs out. */
static bool attach_columns(db_catalog *catalog) {
    if (catalog->relation_count == 0)
        return true;
    qsort(catalog->relations, catalog->relation_count, sizeof *catalog->relations, compare_relation_oids);
    if (catalog->pending_count > 0)
        qsort(catalog->pending, catalog->pending_count, sizeof *catalog->pending, compare_pending);
    size_t next = 0;
    for (size_t r = 0; r < catalog->relation_count; r++) {
        catalog_relation *relation = &catalog->relations[r];
        while (next < catalog->pending_count && catalog->pending[next].oid < relation->oid)
            next++; /* a column of a relation not listed (it vanished between the two scans) */
        size_t first = next;
        while (next < catalog->pending_count && catalog->pending[next].oid == relation->oid)
            next++;
        if (next == first)
            continue;
        relation->columns = calloc(next - first, sizeof *relation->columns);
        if (relation->columns == NULL)
            return false;
        for (size_t i = first; i < next; i++) {
            relation->columns[relation->column_count++] = catalog->pending[i].name;
            catalog->pending[i].name = NULL; /* the relation owns it now */
        }
    }
    /* Then each relation's ancestors, the same way. */
    if (catalog->pending_ancestor_count > 0)
        qsort(catalog->pending_ancestors, catalog->pending_ancestor_count, sizeof *catalog->pending_ancestors,
              compare_pending_ancestors);
    next = 0;
    for (size_t r = 0; r < catalog->relation_count; r++) {
        catalog_relation *relation = &catalog->relations[r];
        while (next < catalog->pending_ancestor_count && catalog->pending_ancestors[next].oid < relation->oid)
            next++;
        size_t first = next;
        while (next < catalog->pending_ancestor_count && catalog->pending_ancestors[next].oid == relation->oid)
            next++;
        if (next == first)
            continue;
        relation->ancestors = calloc(next - first, sizeof *relation->ancestors);
        if (relation->ancestors == NULL)
            return false;
        for (size_t i = first; i < next; i++) {
            relation->ancestors[relation->ancestor_count++] =
                (guard_relation_name){catalog->pending_ancestors[i].schema, catalog->pending_ancestors[i].name};
            catalog->pending_ancestors[i].schema = catalog->pending_ancestors[i].name = NULL; /* moved */
        }
    }
    qsort(catalog->relations, catalog->relation_count, sizeof *catalog->relations, compare_relations);
    return true;
}

/* Records one row (kind, a, b, c) into a fresh catalog and posture. types has room for
 * every row. Returns false when the row is malformed or memory ran out. */
static bool load_row(db_catalog *catalog, db_posture *posture, const db_result *rows, size_t row, int *write_rows) {
    const char *kind = db_result_cell(rows, row, 0)->value;
    const char *a = db_result_cell(rows, row, 1)->value;
    const char *b = db_result_cell(rows, row, 2)->value;
    const char *c = db_result_cell(rows, row, 3)->value;
    if (kind == NULL)
        return false;
    if (strcmp(kind, "f") == 0 || strcmp(kind, "o") == 0 || strcmp(kind, "t") == 0) {
        if (a == NULL || b == NULL)
            return false;
        guard_volatility volatility = parse_volatility(c);
        return note(catalog, kind[0], a, b, volatility) && note(catalog, kind[0], NULL, b, volatility);
    }
    if (strcmp(kind, "r") == 0)
        return note_relation(catalog, rows, a, b, c);
    if (strcmp(kind, "a") == 0)
        return note_column(catalog, rows, a, b, c);
    if (strcmp(kind, "h") == 0)
        return note_ancestor(catalog, rows, a, b, c);
    if (strcmp(kind, "n") == 0) {
        if (a == NULL || b == NULL)
            return false;
        assert(catalog->type_count < rows->row_count);
        type_name *slot = &catalog->types[catalog->type_count];
        slot->oid = (unsigned)strtoul(a, NULL, 10);
        slot->name = strdup(b);
        if (slot->name == NULL)
            return false;
        catalog->type_count++;
        return true;
    }
    return posture_take_row(posture, kind, a, b, c, write_rows) == POSTURE_ROW_TAKEN;
}

/* Reads every row into a fresh catalog and posture (the caller's, overwritten). Returns
 * false (both cleared) when the result failed or a row is malformed; on true the caller
 * owns what both hold. */
static bool read_rows(const db_result *rows, db_catalog *fresh, db_posture *found) {
    *fresh = (db_catalog){0};
    *found = (db_posture){0};
    if (rows->status != DB_OK || rows->column_count != 4 || rows->truncated != DB_COMPLETE)
        return false;
    fresh->types = calloc(rows->row_count ? rows->row_count : 1, sizeof *fresh->types);
    bool ok = fresh->types != NULL;
    int write_rows = 0;
    for (size_t row = 0; ok && row < rows->row_count; row++)
        ok = load_row(fresh, found, rows, row, &write_rows);
    ok = ok && attach_columns(fresh);
    for (size_t i = 0; i < fresh->pending_count; i++)
        free(fresh->pending[i].name);
    free(fresh->pending);
    fresh->pending = NULL;
    fresh->pending_count = 0;
    for (size_t i = 0; i < fresh->pending_ancestor_count; i++) {
        free(fresh->pending_ancestors[i].schema);
        free(fresh->pending_ancestors[i].name);
    }
    free(fresh->pending_ancestors);
    fresh->pending_ancestors = NULL;
    fresh->pending_ancestor_count = 0;
    if (!ok) {
        clear_contents(fresh);
        posture_clear(found);
    }
    return ok;
}

/* Moves found into posture (marked known), freeing what posture held. */
static void replace_posture(db_posture *posture, db_posture *found) {
    found->known = true;
    posture_clear(posture);
    *posture = *found;
    *found = (db_posture){0};
}

bool catalog_load(db_catalog *catalog, db_posture *posture, const db_result *rows) {
    db_catalog fresh;
    db_posture found;
    if (!read_rows(rows, &fresh, &found))
        return false;
    qsort(fresh.types, fresh.type_count, sizeof *fresh.types, compare_types);
    clear_contents(catalog);
    catalog->volatilities = fresh.volatilities;
    catalog->types = fresh.types;
    catalog->type_count = fresh.type_count;
    catalog->relations = fresh.relations;
    catalog->relation_count = fresh.relation_count;
    assert(types_sorted(catalog));
    catalog->loaded_at = db_now_ms();
    replace_posture(posture, &found);
    return true;
}

bool catalog_load_posture(db_posture *posture, const db_result *rows) {
    db_catalog scratch;
    db_posture found;
    if (!read_rows(rows, &scratch, &found))
        return false;
    /* Posture rows only: anything else means the wrong query's rows. */
    bool ok =
        scratch.volatilities.count == 0 && scratch.type_count == 0 && scratch.relation_count == 0 && found.role != NULL;
    clear_contents(&scratch);
    if (!ok) {
        posture_clear(&found);
        return false;
    }
    replace_posture(posture, &found);
    return true;
}

const guard_catalog *catalog_for_guard(db_catalog *catalog) {
    return &catalog->guard;
}

const char *catalog_type_name(const db_catalog *catalog, unsigned type_oid) {
    if (catalog == NULL || catalog->type_count == 0)
        return NULL;
    assert(catalog->types[0].oid <= catalog->types[catalog->type_count - 1].oid); /* sorted at load */
    type_name probe = {.oid = type_oid};
    const type_name *found = bsearch(&probe, catalog->types, catalog->type_count, sizeof probe, compare_types);
    return found ? found->name : NULL;
}

const char *catalog_type_name_fn(const void *catalog, unsigned type_oid) {
    return catalog_type_name(catalog, type_oid);
}

int64_t catalog_loaded_at(const db_catalog *catalog) {
    return catalog->loaded_at;
}

size_t catalog_count(const db_catalog *catalog, char kind) {
    if (kind == 'r')
        return catalog->relation_count;
    size_t count = 0;
    /* Each object is noted twice: under "kind\x1fschema\x1fname" and under the bare name. */
    for (size_t i = 0; i < catalog->volatilities.capacity; i++) {
        const char *key = catalog->volatilities.entries[i].key;
        if (key != NULL && key[0] == kind && key[2] != '\x1f')
            count++;
    }
    return count;
}
