/* The live catalog of the connected database, as the guard and the result formatter need it:
 * the worst volatility of every user function, operator and type (outside pg_catalog),
 * the display name of every type oid, the families of inheritance and partitioning, the
 * hazards (objects through which a query reaches a volatile function without naming it:
 * scripts/hazard-catalog.sql's logic, over user objects) and the role's posture. Loaded by
 * one read-only query (catalog_load_sql) whose rows catalog_load turns into lookup tables,
 * behind every guard_catalog callback. */
#ifndef PGSAFE_DB_CATALOG_H
#define PGSAFE_DB_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "db/posture.h"
#include "db/result.h"
#include "pgsafe/guard.h"

typedef struct db_catalog db_catalog;

/* Whether current_user holds the role named by the SQL expression ROLE (a name or an oid),
 * as the posture counts it: up to 15 any membership; from 16 only one that conveys
 * something, INHERIT (its privileges) or SET (SET ROLE to it), since 16's membership options
 * let a grant convey neither. The posture query and doctor's "server files:" line both use
 * this one test, so they cannot disagree. */
#define CATALOG_HOLDS_ROLE_SQL(ROLE)                                                                                   \
    "CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000"                                        \
    " THEN pg_catalog.pg_has_role(current_user, " ROLE ", 'USAGE')"                                                    \
    "   OR pg_catalog.pg_has_role(current_user, " ROLE ", 'SET')"                                                      \
    " ELSE pg_catalog.pg_has_role(current_user, " ROLE ", 'MEMBER') END"

/* An empty catalog: every lookup answers UNKNOWN. */
db_catalog *catalog_new(void);
void catalog_free(db_catalog *catalog);

/* The query that loads everything: four text columns (kind, a, b, c). */
const char *catalog_load_sql(void);

/* The same with every relation, its columns and ancestors, for the table and column policy
 * (the guard_catalog's relation callback answers only after a load with these). */
const char *catalog_load_relations_sql(void);

/* The posture and hazard rows alone (a quick query, so the role and the hazards can be
 * reported before the rest). */
const char *catalog_posture_sql(void);

/* Replaces the posture (with its hazard summary) from the rows of a successful
 * catalog_posture_sql result. Returns false (posture unchanged) when they are malformed or
 * hold anything but posture and hazard rows. */
bool catalog_load_posture(db_posture *posture, const db_result *rows);

/* Replaces the catalog's contents and posture with the rows of a successful
 * catalog_load_sql result. Returns false (catalog unchanged) when the rows are malformed. */
bool catalog_load(db_catalog *catalog, db_posture *posture, const db_result *rows);

/* The guard's view of it; valid for the catalog's life. */
const guard_catalog *catalog_for_guard(db_catalog *catalog);

/* format_type() of a type oid, or NULL if the catalog does not know it (or is NULL). */
const char *catalog_type_name(const db_catalog *catalog, unsigned type_oid);

/* catalog_type_name as a db_type_name_fn, the context being the catalog. */
const char *catalog_type_name_fn(const void *catalog, unsigned type_oid);

/* How many distinct schema-qualified objects of a kind it holds: 'f' functions (and
 * aggregates), 'o' operators, 't' types, 'r' relations (when loaded with relations). */
size_t catalog_count(const db_catalog *catalog, char kind);

/* When the catalog was last loaded (db_now_ms), 0 if never. */
int64_t catalog_loaded_at(const db_catalog *catalog);

#endif
