/* The live catalog: volatility of user objects for the guard, type names for results, and
 * the role's posture, all from one query so that loading is one round trip. */
#include "db/catalog.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

/* One entry of a string-keyed table: key "kind\x1fschema\x1fname" (schema "" for the
 * unqualified entry that holds the worst over every schema). */
typedef struct entry {
    char *key;
    guard_volatility volatility;
} entry;

typedef struct type_name {
    unsigned oid;
    char *name;
} type_name;

struct db_catalog {
    entry *entries; /* open addressing, capacity a power of two */
    size_t entry_capacity;
    size_t entry_count;
    type_name *types; /* sorted by oid */
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
    "   AND CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000"                                 \
    "       THEN pg_catalog.pg_has_role(current_user, m.oid, 'USAGE')"                                                 \
    "            OR pg_catalog.pg_has_role(current_user, m.oid, 'SET')"                                                \
    "       ELSE pg_catalog.pg_has_role(current_user, m.oid, 'MEMBER') END"

static const char load_sql[] = OBJECTS_SQL " UNION ALL " POSTURE_SQL;
static const char posture_sql[] = POSTURE_SQL;

const char *catalog_load_sql(void) {
    return load_sql;
}

const char *catalog_posture_sql(void) {
    return posture_sql;
}

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

static uint64_t hash_key(const char *key) {
    uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        hash ^= *p;
        hash *= 1099511628211ULL;
    }
    return hash;
}

static entry *find_slot(entry *entries, size_t capacity, const char *key) {
    size_t mask = capacity - 1;
    for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask)
        if (entries[i].key == NULL || strcmp(entries[i].key, key) == 0)
            return &entries[i];
}

static bool grow(db_catalog *catalog) {
    size_t capacity = catalog->entry_capacity ? catalog->entry_capacity * 2 : 256;
    entry *entries = calloc(capacity, sizeof *entries);
    if (entries == NULL)
        return false;
    for (size_t i = 0; i < catalog->entry_capacity; i++)
        if (catalog->entries[i].key != NULL)
            *find_slot(entries, capacity, catalog->entries[i].key) = catalog->entries[i];
    free(catalog->entries);
    catalog->entries = entries;
    catalog->entry_capacity = capacity;
    return true;
}

static char *make_key(char kind, const char *schema, const char *name) {
    return str_printf("%c\x1f%s\x1f%s", kind, schema ? schema : "", name);
}

/* Records volatility under the key, keeping the worst seen. */
static bool note(db_catalog *catalog, char kind, const char *schema, const char *name, guard_volatility volatility) {
    if ((catalog->entry_count + 1) * 2 > catalog->entry_capacity && !grow(catalog))
        return false;
    char *key = make_key(kind, schema, name);
    if (key == NULL)
        return false;
    entry *slot = find_slot(catalog->entries, catalog->entry_capacity, key);
    if (slot->key == NULL) {
        slot->key = key;
        slot->volatility = volatility;
        catalog->entry_count++;
        return true;
    }
    free(key);
    if (rank(volatility) > rank(slot->volatility))
        slot->volatility = volatility;
    return true;
}

static guard_volatility lookup(const db_catalog *catalog, char kind, const char *schema, const char *name) {
    if (catalog->entry_capacity == 0 || name == NULL)
        return GUARD_VOLATILITY_UNKNOWN;
    char *key = make_key(kind, schema, name);
    if (key == NULL)
        return GUARD_VOLATILITY_UNKNOWN;
    const entry *slot = find_slot(catalog->entries, catalog->entry_capacity, key);
    free(key);
    return slot->key ? slot->volatility : GUARD_VOLATILITY_UNKNOWN;
}

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

static void clear_contents(db_catalog *catalog) {
    for (size_t i = 0; i < catalog->entry_capacity; i++)
        free(catalog->entries[i].key);
    free(catalog->entries);
    for (size_t i = 0; i < catalog->type_count; i++)
        free(catalog->types[i].name);
    free(catalog->types);
    catalog->entries = NULL;
    catalog->entry_capacity = catalog->entry_count = 0;
    catalog->types = NULL;
    catalog->type_count = 0;
}

void catalog_free(db_catalog *catalog) {
    if (catalog == NULL)
        return;
    clear_contents(catalog);
    free(catalog);
}

void posture_clear(db_posture *posture) {
    free(posture->role);
    free(posture->database);
    free(posture->server_version);
    free(posture->write_reasons);
    memset(posture, 0, sizeof *posture);
}

static int compare_types(const void *left, const void *right) {
    unsigned a = ((const type_name *)left)->oid, b = ((const type_name *)right)->oid;
    return (a > b) - (a < b);
}

/* Adds one reason, formatted, to the comma-separated list of why the role can write. The
 * role can write even when the text cannot be had. */
__attribute__((format(printf, 2, 3))) static void add_reason(db_posture *posture, const char *format, ...) {
    posture->can_write = true;
    if (posture->superuser && posture->write_reasons)
        return; /* "superuser" says it all */
    char reason[512];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reason, sizeof reason, format, arguments);
    va_end(arguments);
    char *joined = posture->write_reasons ? str_printf("%s, %s", posture->write_reasons, reason) : strdup(reason);
    if (joined == NULL)
        return;
    free(posture->write_reasons);
    posture->write_reasons = joined;
}

static bool load_row(db_catalog *catalog, db_posture *posture, const db_result *rows, size_t row, int *write_seen) {
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
        type_name *slot = &catalog->types[catalog->type_count];
        slot->oid = (unsigned)strtoul(a, NULL, 10);
        slot->name = strdup(b);
        if (slot->name == NULL)
            return false;
        catalog->type_count++;
        return true;
    }
    if (strcmp(kind, "role") == 0) {
        posture->role = a ? strdup(a) : NULL;
        posture->database = b ? strdup(b) : NULL;
        posture->server_version = c ? strdup(c) : NULL;
        return true;
    }
    if (strcmp(kind, "attribute") == 0 && a != NULL) {
        if (strcmp(a, "superuser") == 0) {
            /* Superuser says it all, whatever was found before it. */
            posture->superuser = true;
            free(posture->write_reasons);
            posture->write_reasons = NULL;
        }
        add_reason(posture, "role attribute %s", a);
        return true;
    }
    if (strcmp(kind, "write") == 0 && a != NULL) {
        long total = b ? strtol(b, NULL, 10) : 1;
        add_reason(posture, "write privilege on %s", a);
        /* The query names at most three; the count of the rest follows the last one named. */
        *write_seen = *write_seen + 1;
        if (*write_seen == 3 && total > 3)
            add_reason(posture, "and on %ld more tables or sequences", total - 3);
        return true;
    }
    if (strcmp(kind, "member") == 0 && a != NULL) {
        /* These roles reach past the tables (files, programs on the server): not read-only. */
        add_reason(posture, "member of %s", a);
        return true;
    }
    if (strcmp(kind, "create") == 0 && a != NULL) {
        add_reason(posture, "CREATE on %s%s", strncmp(a, "database ", 9) == 0 ? "" : "schema ", a);
        return true;
    }
    return false;
}

/* Reads every row into a fresh catalog and posture. Returns false (both cleared) when the
 * result failed or a row is malformed. */
static bool read_rows(const db_result *rows, db_catalog *fresh, db_posture *found) {
    *fresh = (db_catalog){0};
    *found = (db_posture){0};
    if (rows->status != DB_OK || rows->column_count != 4 || rows->truncated != DB_COMPLETE)
        return false;
    fresh->types = calloc(rows->row_count ? rows->row_count : 1, sizeof *fresh->types);
    bool ok = fresh->types != NULL;
    int write_seen = 0;
    for (size_t row = 0; ok && row < rows->row_count; row++)
        ok = load_row(fresh, found, rows, row, &write_seen);
    if (!ok) {
        clear_contents(fresh);
        posture_clear(found);
    }
    return ok;
}

static void replace_posture(db_posture *posture, db_posture *found) {
    found->known = true;
    posture_clear(posture);
    *posture = *found;
}

bool catalog_load(db_catalog *catalog, db_posture *posture, const db_result *rows) {
    db_catalog fresh;
    db_posture found;
    if (!read_rows(rows, &fresh, &found))
        return false;
    qsort(fresh.types, fresh.type_count, sizeof *fresh.types, compare_types);
    clear_contents(catalog);
    catalog->entries = fresh.entries;
    catalog->entry_capacity = fresh.entry_capacity;
    catalog->entry_count = fresh.entry_count;
    catalog->types = fresh.types;
    catalog->type_count = fresh.type_count;
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
    bool ok = scratch.entry_count == 0 && scratch.type_count == 0 && found.role != NULL;
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
    type_name probe = {.oid = type_oid};
    const type_name *found =
        catalog->type_count ? bsearch(&probe, catalog->types, catalog->type_count, sizeof probe, compare_types) : NULL;
    return found ? found->name : NULL;
}

int64_t catalog_loaded_at(const db_catalog *catalog) {
    return catalog->loaded_at;
}

size_t catalog_count(const db_catalog *catalog, char kind) {
    size_t count = 0;
    /* Each object is noted twice: under "kind\x1fschema\x1fname" and under the bare name. */
    for (size_t i = 0; i < catalog->entry_capacity; i++) {
        const char *key = catalog->entries[i].key;
        if (key != NULL && key[0] == kind && key[2] != '\x1f')
            count++;
    }
    return count;
}
