/* The script `pgsafe setup-sql` prints: a psql script, one transaction, that creates a
 * least-privilege read-only role when it is missing and states again every attribute,
 * grant and setting, so that it can be run again. Built in parts, one function each, in
 * the order they appear in the script. */
#include "cli/setup_script.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/quote.h"
#include "util/strings.h"

bool setup_names_add(setup_names *list, const char *name, size_t length) {
    char *copy = str_copy_length(name, length);
    if (copy == NULL)
        return false;
    char **grown = realloc(list->items, (list->count + 1) * sizeof *grown);
    if (grown == NULL) {
        free(copy);
        return false;
    }
    list->items = grown;
    grown[list->count++] = copy;
    return true;
}

bool setup_names_contains(const setup_names *list, const char *name) {
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i], name) == 0)
            return true;
    return false;
}

void setup_names_free(setup_names *list) {
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    *list = (setup_names){0};
}

void setup_facts_free(setup_facts *facts) {
    free(facts->database);
    setup_names_free(&facts->schemas);
    for (size_t i = 0; i < facts->relation_count; i++) {
        free(facts->relations[i].schema);
        free(facts->relations[i].name);
        setup_names_free(&facts->relations[i].columns);
    }
    free(facts->relations);
    setup_names_free(&facts->owners);
    *facts = (setup_facts){0};
}

static const char *kind_comment(char kind) {
    switch (kind) {
    case 'v': return "  -- view";
    case 'm': return "  -- materialized view";
    case 'f': return "  -- foreign table";
    case 'p': return "  -- partitioned table";
    default: return "";
    }
}

/* "a, b": schemas is never empty (an empty list would print `ON SCHEMA  TO`). */
static void put_schema_list(strbuf *out, const setup_names *schemas) {
    assert(schemas->count > 0);
    for (size_t i = 0; i < schemas->count; i++) {
        if (i > 0)
            strbuf_puts(out, ", ");
        cli_put_identifier(out, schemas->items[i]);
    }
}

/* The opening comments: where the list came from, how to run it, and BEGIN. */
static void put_header(strbuf *out, const setup_facts *facts) {
    strbuf_puts(out, "-- A least-privilege read-only role for pgsafe, from `pgsafe setup-sql`.\n");
    if (facts) {
        strbuf_puts(out, "-- Tables and views listed from the catalog of database ");
        cli_put_identifier(out, facts->database);
        strbuf_puts(out, ".\n");
    } else {
        strbuf_puts(out, "-- Offline: no database was read, so the tables were not listed; psql fills in\n"
                         "-- :\"DBNAME\", the database it is connected to.\n");
    }
    strbuf_puts(out, "-- Run it with psql as a superuser (or as a role with CREATEROLE that may grant on the\n"
                     "-- tables), connected to the database pgsafe will read:  psql -f this-file.sql\n"
                     "-- It can be run again: the role is created only when missing (an existing superuser\n"
                     "-- is refused), and everything else is stated again, after new tables appear say.\n"
                     "-- All of it is one transaction.\n"
                     "\\set ON_ERROR_STOP on\n"
                     "BEGIN;\n\n");
}

/* The role: created when missing, refused when it exists with powers, then its attributes.
 * role is the quoted name. */
static void put_role(strbuf *out, const setup_request *request, const char *role) {
    strbuf_puts(out, "-- The role logs in and can do nothing else: no superuser, no creating databases or\n"
                     "-- roles, no replication, no bypassing row-level security (the defaults, stated).\n"
                     "-- NOINHERIT: everything it may do is granted to it directly below, so a membership\n"
                     "-- granted by mistake later (GRANT app_owner TO it) passes no privilege on.\n"
                     "-- No password here: set one afterwards with psql's \\password (see the end).\n");
    /* The role's name is in the block's body: the dollar-quote's tag must not be. */
    char tag[32] = "$pgsafe$";
    for (int n = 1; strstr(request->role, tag) != NULL; n++)
        snprintf(tag, sizeof tag, "$pgsafe%d$", n);
    strbuf_printf(out, "DO %s\nBEGIN\n  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ", tag);
    cli_put_literal(out, request->role);
    strbuf_printf(out, ") THEN\n    CREATE ROLE %s NOSUPERUSER NOREPLICATION NOBYPASSRLS;\n", role);
    strbuf_puts(out, "  ELSIF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ");
    cli_put_literal(out, request->role);
    strbuf_puts(out, "\n                  AND (rolsuper OR rolreplication OR rolbypassrls)) THEN\n"
                     "    RAISE EXCEPTION 'role % exists with SUPERUSER, REPLICATION or BYPASSRLS: choose another "
                     "--role', ");
    cli_put_literal(out, request->role);
    strbuf_printf(out, ";\n  END IF;\nEND\n%s;\n", tag);
    strbuf_printf(out, "ALTER ROLE %s WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT %ld;\n\n", role,
                  request->connection_limit);
}

/* CONNECT on the database (psql's :"DBNAME" offline) and USAGE on the schemas. */
static void put_access(strbuf *out, const setup_facts *facts, const setup_names *schemas, const char *role) {
    strbuf_puts(out, "-- Connect to the database (PUBLIC has CONNECT by default; be explicit) and look up\n"
                     "-- objects in the chosen schemas. USAGE on a schema allows nothing else.\n");
    strbuf_puts(out, "GRANT CONNECT ON DATABASE ");
    if (facts)
        cli_put_identifier(out, facts->database);
    else
        strbuf_puts(out, ":\"DBNAME\"");
    strbuf_printf(out, " TO %s;\n", role);
    strbuf_puts(out, "GRANT USAGE ON SCHEMA ");
    put_schema_list(out, schemas);
    strbuf_printf(out, " TO %s;\n\n", role);
}

static bool policy_set(const guard_policy *policy) {
    return policy != NULL && (policy->table_patterns != NULL || policy->denied_columns != NULL);
}

/* One relation's grant under the data owner's policy: none outside --tables, the allowed
 * columns when some are denied, else the whole relation. */
static void put_policy_grant(strbuf *out, const setup_relation *relation, const guard_policy *policy,
                             const char *role) {
    if (!guard_relation_visible(policy, relation->schema, relation->name)) {
        strbuf_puts(out, "-- not granted (outside --tables): ");
        cli_put_identifier(out, relation->schema);
        strbuf_puts(out, ".");
        cli_put_identifier(out, relation->name);
        strbuf_puts(out, "\n");
        return;
    }
    size_t denied = 0, allowed = 0;
    for (size_t c = 0; c < relation->columns.count; c++)
        denied += guard_column_denied(policy, relation->schema, relation->name, relation->columns.items[c]);
    if (denied > 0 && denied == relation->columns.count) {
        strbuf_puts(out, "-- not granted (every column denied): ");
        cli_put_identifier(out, relation->schema);
        strbuf_puts(out, ".");
        cli_put_identifier(out, relation->name);
        strbuf_puts(out, "\n");
        return;
    }
    strbuf_puts(out, "GRANT SELECT ");
    if (denied > 0) {
        strbuf_puts(out, "(");
        for (size_t c = 0; c < relation->columns.count; c++) {
            if (guard_column_denied(policy, relation->schema, relation->name, relation->columns.items[c]))
                continue;
            if (allowed++ > 0)
                strbuf_puts(out, ", ");
            cli_put_identifier(out, relation->columns.items[c]);
        }
        strbuf_puts(out, ") ");
    }
    strbuf_puts(out, "ON TABLE ");
    cli_put_identifier(out, relation->schema);
    strbuf_puts(out, ".");
    cli_put_identifier(out, relation->name);
    strbuf_printf(out, " TO %s;%s", role, kind_comment(relation->kind));
    if (denied > 0)
        strbuf_printf(out, "  -- %zu denied column%s left out", denied, denied == 1 ? "" : "s");
    strbuf_puts(out, "\n");
    assert(denied == 0 || allowed > 0); /* a column list is never empty */
}

/* Connected: SELECT on each relation by name, and default privileges for each owner. */
static void put_listed_grants(strbuf *out, const setup_facts *facts, const setup_names *schemas, const char *role,
                              const guard_policy *policy) {
    strbuf_puts(out, "-- SELECT on each table and view there now, one line each, so that what is granted\n"
                     "-- can be read and reviewed here (GRANT ... ON ALL TABLES IN SCHEMA would not say).\n");
    for (size_t i = 0; i < facts->relation_count; i++) {
        if (policy_set(policy)) {
            put_policy_grant(out, &facts->relations[i], policy, role);
            continue;
        }
        strbuf_puts(out, "GRANT SELECT ON TABLE ");
        cli_put_identifier(out, facts->relations[i].schema);
        strbuf_puts(out, ".");
        cli_put_identifier(out, facts->relations[i].name);
        strbuf_printf(out, " TO %s;%s\n", role, kind_comment(facts->relations[i].kind));
    }
    if (facts->relation_count == 0)
        strbuf_puts(out, "-- (there are no tables or views in these schemas yet)\n");
    if (policy_set(policy)) {
        strbuf_puts(out, "\n-- No default privileges: under --tables and --deny-columns a table created later\n"
                         "-- could hold anything; run this again after the schema changes.\n");
        return;
    }
    strbuf_puts(out, "\n-- SELECT on the tables and views that the roles owning these schemas and tables\n"
                     "-- create later (default privileges belong to the creating role: add a line for any\n"
                     "-- other role that creates tables here).\n");
    for (size_t i = 0; i < facts->owners.count; i++) {
        strbuf_puts(out, "ALTER DEFAULT PRIVILEGES FOR ROLE ");
        cli_put_identifier(out, facts->owners.items[i]);
        strbuf_puts(out, " IN SCHEMA ");
        put_schema_list(out, schemas);
        strbuf_printf(out, " GRANT SELECT ON TABLES TO %s;\n", role);
    }
    if (facts->owners.count == 0)
        strbuf_puts(out, "-- (no role owns anything here yet)\n");
}

/* Offline: SELECT on all tables of the schemas, and default privileges of the runner. */
static void put_schema_grants(strbuf *out, const setup_names *schemas, const char *role) {
    strbuf_puts(out, "-- SELECT on every table and view there now (offline, they could not be listed).\n");
    strbuf_puts(out, "GRANT SELECT ON ALL TABLES IN SCHEMA ");
    put_schema_list(out, schemas);
    strbuf_printf(out, " TO %s;\n", role);
    strbuf_puts(out, "-- ... and on those created there later by the role running this script. Default\n"
                     "-- privileges belong to the creating role: add FOR ROLE app_owner after DEFAULT\n"
                     "-- PRIVILEGES for each role that creates your tables.\n");
    strbuf_puts(out, "ALTER DEFAULT PRIVILEGES IN SCHEMA ");
    put_schema_list(out, schemas);
    strbuf_printf(out, " GRANT SELECT ON TABLES TO %s;\n", role);
}

/* The role's session defaults, and COMMIT. */
static void put_settings(strbuf *out, const char *role) {
    strbuf_puts(out, "\n-- Its sessions start read-only and end runaway statements and idle transactions.\n"
                     "-- A session can still change these defaults; the privileges above are what forbid\n"
                     "-- writing. pgsafe sets its own limits in every transaction as well.\n");
    strbuf_printf(out,
                  "ALTER ROLE %s SET default_transaction_read_only = on;\n"
                  "ALTER ROLE %s SET statement_timeout = '30s';\n"
                  "ALTER ROLE %s SET idle_in_transaction_session_timeout = '60s';\n",
                  role, role, role);
    strbuf_puts(out, "-- Memory: each sort or hash of a statement may take work_mem (a hash that times\n"
                     "-- hash_mem_multiplier) before it spills to temporary files; pinned here whatever the\n"
                     "-- server's defaults. Only a superuser can bound those files: as one, also run\n"
                     "--   ALTER ROLE ");
    strbuf_printf(out,
                  "%s SET temp_file_limit = '1GB';\n"
                  "ALTER ROLE %s SET work_mem = '4MB';\n"
                  "ALTER ROLE %s SET hash_mem_multiplier = 1;\n"
                  "COMMIT;\n\n",
                  role, role, role);
}

/* The query that shows what the role can do, and what to do next. */
static void put_check(strbuf *out, const setup_request *request, const char *role) {
    strbuf_puts(out, "-- Check: login and read_only true, connection_limit as set, every other column\n"
                     "-- false or 0.\n"
                     "SELECT r.rolname AS role, r.rolcanlogin AS login, r.rolsuper AS superuser,\n"
                     "       r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls AS other_powers,\n"
                     "       r.rolconnlimit AS connection_limit,\n"
                     "       'default_transaction_read_only=on' = ANY (r.rolconfig) AS read_only,\n"
                     "       (SELECT count(*) FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid) AS "
                     "memberships,\n"
                     "       (SELECT count(*) FROM pg_catalog.pg_class c\n"
                     "          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
                     "         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
                     "           AND n.nspname !~ '^pg_toast'\n"
                     "           AND c.relkind IN ('r', 'p', 'v', 'm', 'f')\n"
                     "           AND pg_catalog.has_table_privilege(r.oid, c.oid, 'INSERT, UPDATE, DELETE, "
                     "TRUNCATE')) AS writable_tables,\n"
                     "       (SELECT count(*) FROM pg_catalog.pg_namespace n\n"
                     "         WHERE pg_catalog.has_schema_privilege(r.oid, n.oid, 'CREATE')) AS creatable_schemas\n"
                     "  FROM pg_catalog.pg_roles r WHERE r.rolname = ");
    cli_put_literal(out, request->role);
    strbuf_puts(out, ";\n\n");
    strbuf_printf(out,
                  "-- Then give it a password (psql asks for it and sends only a hash):\n"
                  "--   \\password %s\n"
                  "-- and check what pgsafe will see, connecting as it:  pgsafe doctor\n",
                  role);
}

char *setup_script(const setup_request *request, const setup_facts *facts) {
    /* The default needs no allocation, so it cannot fail into an empty schema list. */
    static char public_name[] = "public";
    static char *public_items[] = {public_name};
    const setup_names public_only = {public_items, 1};
    const setup_names *schemas = facts ? &facts->schemas : &request->schemas;
    if (schemas->count == 0)
        schemas = &public_only;
    assert(facts == NULL || facts->database != NULL);
    char *role = cli_quote_identifier(request->role);
    if (role == NULL)
        return NULL;
    strbuf out = {0};
    put_header(&out, facts);
    put_role(&out, request, role);
    put_access(&out, facts, schemas, role);
    if (facts)
        put_listed_grants(&out, facts, schemas, role, request->policy);
    else
        put_schema_grants(&out, schemas, role);
    put_settings(&out, role);
    put_check(&out, request, role);
    free(role);
    return strbuf_take(&out);
}
