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

struct db_catalog {
    nametable volatilities; /* key "kind\x1fschema\x1fname" (schema "" for the unqualified entry that
                             * holds the worst over every schema), value a guard_volatility */
    type_name *types;       /* sorted by oid */
    size_t type_count;
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

static const char load_sql[] = OBJECTS_SQL " UNION ALL " POSTURE_SQL;
static const char posture_sql[] = POSTURE_SQL;

const char *catalog_load_sql(void) {
    return load_sql;
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

db_catalog *catalog_new(void) {
    db_catalog *catalog = calloc(1, sizeof *catalog);
    if (catalog == NULL)
        return NULL;
    catalog->guard.function_volatility = function_volatility;
    catalog->guard.operator_volatility = operator_volatility;
    catalog->guard.type_volatility = type_volatility;
    catalog->guard.context = catalog;
    return catalog;
}

/* Frees the tables (not the catalog itself nor its guard callbacks). */
static void clear_contents(db_catalog *catalog) {
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
    bool ok = scratch.volatilities.count == 0 && scratch.type_count == 0 && found.role != NULL;
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
    size_t count = 0;
    /* Each object is noted twice: under "kind\x1fschema\x1fname" and under the bare name. */
    for (size_t i = 0; i < catalog->volatilities.capacity; i++) {
        const char *key = catalog->volatilities.entries[i].key;
        if (key != NULL && key[0] == kind && key[2] != '\x1f')
            count++;
    }
    return count;
}
