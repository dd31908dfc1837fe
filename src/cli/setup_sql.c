/* `pgsafe setup-sql`: the SQL that creates a read-only role for pgsafe, as a psql script
 * that can be run again (CREATE ROLE only when the role is missing, then every attribute,
 * grant and setting re-stated). Identifiers are quoted as PostgreSQL's quote_ident does. */
#include "cli/setup_sql.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "cli/session.h"
#include "pgsafe/guard.h"
#include "util/strings.h"

#define DEFAULT_ROLE             "pgsafe_reader"
#define DEFAULT_CONNECTION_LIMIT 5
#define MAX_IDENTIFIER_BYTES     63 /* NAMEDATALEN - 1: PostgreSQL would cut a longer name */
#define CONNECT_TIMEOUT_SECONDS  5

void cli_setup_sql_usage(FILE *stream) {
    fputs("usage: pgsafe setup-sql [--role NAME] [--schemas a,b] [--connection-limit N] [--dsn DSN | --offline]\n"
          "\n"
          "Prints a psql script that creates a least-privilege read-only role for pgsafe: LOGIN and nothing\n"
          "else, CONNECT on the database, USAGE on the schemas, SELECT on their tables and views (listed\n"
          "from the catalog, one GRANT each), SELECT on the tables created there later (default\n"
          "privileges), default_transaction_read_only, timeouts and a connection limit. It never\n"
          "contains a password: set one afterwards with psql's \\password. Run it as a superuser:\n"
          "  pgsafe setup-sql > reader.sql && psql -f reader.sql\n"
          "\n"
          "options:\n"
          "  --role NAME             the role to create (" DEFAULT_ROLE ")\n"
          "  --schemas a,b           the schemas it may read (connected: every schema but the system ones;\n"
          "                          offline: public)\n"
          "  --connection-limit N    its CONNECTION LIMIT, 1 to 1000 (5: a pool of 2, doctor and a psql)\n"
          "  --dsn DSN               connection string or URL, as for serve (else PGSAFE_DSN, DATABASE_URL,\n"
          "                          else libpq's PG* variables; --dsn '' means libpq's defaults)\n"
          "  --offline               do not connect: psql's :\"DBNAME\" for the database and GRANT ... ON ALL\n"
          "                          TABLES IN SCHEMA instead of the list (also when no connection setting\n"
          "                          is given at all)\n"
          "  -h, --help              this text\n"
          "\n"
          "Exit status: 0 script printed, 1 cannot connect or no such schema, 2 bad option.\n"
          "See docs/read-only-role.md.\n",
          stream);
}

/* ---- quoting ---- */

/* name quoted as quote_ident does (guard_quote_identifier); marks out failed when memory
 * runs out. */
static void put_identifier(strbuf *out, const char *name) {
    char *quoted = guard_quote_identifier(name);
    if (quoted == NULL) {
        out->failed = true;
        return;
    }
    strbuf_puts(out, quoted);
    free(quoted);
}

/* A string literal that reads the same whatever standard_conforming_strings says, as
 * PQescapeLiteral writes it: E'...' with doubled backslashes when there is a backslash. */
static void put_literal(strbuf *out, const char *text) {
    strbuf_puts(out, strchr(text, '\\') ? "E'" : "'");
    for (const char *c = text; *c; c++)
        strbuf_puts(out, *c == '\'' ? "''" : *c == '\\' ? "\\\\" : (char[]){*c, '\0'});
    strbuf_puts(out, "'");
}

/* A newly allocated quoted identifier, or NULL when out of memory. */
static char *quoted_identifier(const char *name) {
    strbuf out = {0};
    put_identifier(&out, name);
    return strbuf_take(&out);
}

/* ---- options ---- */

typedef struct names {
    char **items; /* owned */
    size_t count;
} names;

static bool names_add(names *list, const char *name, size_t length) {
    char **grown = realloc(list->items, (list->count + 1) * sizeof *grown);
    if (grown == NULL)
        return false;
    list->items = grown;
    if ((grown[list->count] = str_copy_length(name, length)) == NULL)
        return false;
    list->count++;
    return true;
}

static bool names_contains(const names *list, const char *name) {
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i], name) == 0)
            return true;
    return false;
}

static void names_free(names *list) {
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    *list = (names){0};
}

typedef struct setup_options {
    const char *role;
    names schemas; /* empty: the default */
    long connection_limit;
    const char *dsn; /* NULL: libpq's PG* variables */
    bool offline;
} setup_options;

/* A name PostgreSQL would take as it is: 1 to 63 bytes, no control characters (a line break
 * in a name would end the script's comments). Reports and returns false otherwise. */
static bool valid_name(const char *what, const char *name, size_t length) {
    if (length == 0 || length > MAX_IDENTIFIER_BYTES) {
        fprintf(stderr, "pgsafe setup-sql: a %s name must be 1 to %d bytes long, not %zu\n", what, MAX_IDENTIFIER_BYTES,
                length);
        return false;
    }
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            fprintf(stderr, "pgsafe setup-sql: the %s name \"%.*s\" holds a control character\n", what, (int)length,
                    name);
            return false;
        }
    return true;
}

static bool parse_schema_list(const char *text, names *schemas) {
    const char *name;
    size_t length;
    for (const char *cursor = text; cli_config_next_name(&cursor, &name, &length);)
        if (!valid_name("schema", name, length) || !names_add(schemas, name, length))
            return false;
    if (schemas->count == 0) {
        fprintf(stderr, "pgsafe setup-sql: --schemas must name at least one schema, e.g. public,sales\n");
        return false;
    }
    return true;
}

/* True when libpq would find some connection setting in the environment. */
static bool environment_names_a_server(void) {
    static const char *const variables[] = {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"};
    for (size_t i = 0; i < sizeof variables / sizeof *variables; i++)
        if (getenv(variables[i]) != NULL)
            return true;
    return false;
}

/* 0 to go on, 1 for --help, 2 for a usage error (reported). */
static int read_options(setup_options *options, int argc, char **argv) {
    const char *dsn_source = NULL;
    options->role = DEFAULT_ROLE;
    options->connection_limit = DEFAULT_CONNECTION_LIMIT;
    options->dsn = cli_config_dsn_from_environment(&dsn_source);
    bool dsn_given = options->dsn != NULL;
    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0)
            return 1;
        if (strcmp(argument, "--offline") == 0) {
            options->offline = true;
            continue;
        }
        const char *equals = strchr(argument, '=');
        size_t name_length = equals ? (size_t)(equals - argument) : strlen(argument);
        static const char *const valued[] = {"--role", "--schemas", "--connection-limit", "--dsn"};
        int which = -1;
        for (int j = 0; j < 4 && which < 0; j++)
            if (strlen(valued[j]) == name_length && strncmp(argument, valued[j], name_length) == 0)
                which = j;
        if (which < 0) {
            fprintf(stderr, "pgsafe setup-sql: unknown option \"%s\" (pgsafe setup-sql --help lists them)\n", argument);
            return 2;
        }
        const char *value = equals ? equals + 1 : NULL;
        if (value == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "pgsafe setup-sql: %s needs a value\n", valued[which]);
                return 2;
            }
            value = argv[++i];
        }
        if (which == 0) {
            if (!valid_name("role", value, strlen(value)))
                return 2;
            if (strncmp(value, "pg_", 3) == 0) {
                fprintf(stderr, "pgsafe setup-sql: role names starting with pg_ are reserved by PostgreSQL\n");
                return 2;
            }
            options->role = value;
        } else if (which == 1) {
            names_free(&options->schemas);
            if (!parse_schema_list(value, &options->schemas))
                return 2;
        } else if (which == 2) {
            errno = 0;
            char *end = NULL;
            long limit = strtol(value, &end, 10);
            if (errno != 0 || end == value || *end != '\0' || limit < 1 || limit > 1000) {
                fprintf(stderr, "pgsafe setup-sql: --connection-limit must be an integer from 1 to 1000, not \"%s\"\n",
                        value);
                return 2;
            }
            options->connection_limit = limit;
        } else {
            options->dsn = value;
            dsn_given = true;
        }
    }
    if (!options->offline && !dsn_given && !environment_names_a_server()) {
        fprintf(stderr, "pgsafe setup-sql: no connection settings (--dsn, PGSAFE_DSN, DATABASE_URL, PGHOST, ...): "
                        "printing the offline script\n");
        options->offline = true;
    }
    return 0;
}

/* ---- the catalog ---- */

typedef struct relation {
    char *schema;
    char *name;
    char kind; /* pg_class.relkind */
} relation;

typedef struct catalog_facts {
    char *database;
    names schemas;       /* chosen and found */
    relation *relations; /* in schema, name order */
    size_t relation_count;
    names owners; /* roles that own the schemas or their relations: they create tables later */
} catalog_facts;

static void facts_free(catalog_facts *facts) {
    free(facts->database);
    names_free(&facts->schemas);
    for (size_t i = 0; i < facts->relation_count; i++) {
        free(facts->relations[i].schema);
        free(facts->relations[i].name);
    }
    free(facts->relations);
    names_free(&facts->owners);
}

/* Runs sql with one parameter; on failure reports it and returns NULL. */
static db_result *query(PGconn *conn, const char *sql, const char *param) {
    db_result *rows = cli_session_query(conn, sql, param ? 1 : 0, param ? &param : NULL);
    if (rows != NULL && rows->status != DB_OK) {
        fprintf(stderr, "pgsafe setup-sql: reading the catalog failed: %s\n", rows->message ? rows->message : "?");
        db_result_free(rows);
        return NULL;
    }
    if (rows == NULL)
        fprintf(stderr, "pgsafe setup-sql: out of memory\n");
    return rows;
}

static const char schemas_sql[] = "SELECT n.nspname FROM pg_catalog.pg_namespace n"
                                  " WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
                                  "   AND pg_catalog.has_schema_privilege(n.oid, 'USAGE') ORDER BY 1";
static const char schema_exists_sql[] = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1";
static const char relations_sql[] = "SELECT c.relname, c.relkind::text FROM pg_catalog.pg_class c"
                                    "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                                    " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1";
/* pg_database_owner (the owner of public since PostgreSQL 15) never creates anything itself. */
static const char owners_sql[] =
    "SELECT DISTINCT pg_catalog.pg_get_userbyid(o.owner) FROM ("
    "  SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = $1"
    "  UNION SELECT c.relowner FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    "   WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) o(owner)"
    " WHERE pg_catalog.pg_get_userbyid(o.owner) <> 'pg_database_owner' ORDER BY 1";

static bool add_relations(PGconn *conn, catalog_facts *facts, const char *schema) {
    db_result *rows = query(conn, relations_sql, schema);
    if (rows == NULL)
        return false;
    relation *grown = realloc(facts->relations, (facts->relation_count + rows->row_count + 1) * sizeof *grown);
    bool ok = grown != NULL;
    if (ok)
        facts->relations = grown;
    for (size_t row = 0; ok && row < rows->row_count; row++) {
        relation *slot = &facts->relations[facts->relation_count];
        slot->schema = strdup(schema);
        slot->name = strdup(db_result_cell(rows, row, 0)->value);
        slot->kind = db_result_cell(rows, row, 1)->value[0];
        if (slot->schema == NULL || slot->name == NULL) {
            free(slot->schema);
            free(slot->name);
            ok = false;
        } else {
            facts->relation_count++;
        }
    }
    db_result_free(rows);
    if (ok && (rows = query(conn, owners_sql, schema)) != NULL) {
        for (size_t row = 0; ok && row < rows->row_count; row++) {
            const char *owner = db_result_cell(rows, row, 0)->value;
            if (!names_contains(&facts->owners, owner))
                ok = names_add(&facts->owners, owner, strlen(owner));
        }
        db_result_free(rows);
    } else {
        ok = false;
    }
    return ok;
}

static int compare_names(const void *left, const void *right) {
    return strcmp(*(char *const *)left, *(char *const *)right);
}

/* Fills facts from the connected database. Returns 0, or 1 after reporting why not. */
static int read_catalog(PGconn *conn, const setup_options *options, catalog_facts *facts) {
    db_result *rows = query(conn, "SELECT pg_catalog.current_database()", NULL);
    if (rows == NULL)
        return 1;
    facts->database = strdup(db_result_cell(rows, 0, 0)->value);
    db_result_free(rows);
    if (facts->database == NULL)
        return 1;
    if (options->schemas.count == 0) {
        if ((rows = query(conn, schemas_sql, NULL)) == NULL)
            return 1;
        bool ok = true;
        for (size_t row = 0; ok && row < rows->row_count; row++) {
            const char *name = db_result_cell(rows, row, 0)->value;
            ok = names_add(&facts->schemas, name, strlen(name));
        }
        db_result_free(rows);
        if (!ok)
            return 1;
        if (facts->schemas.count == 0) {
            fprintf(stderr,
                    "pgsafe setup-sql: database \"%s\" has no schema but the system ones; name one with "
                    "--schemas\n",
                    facts->database);
            return 1;
        }
    } else {
        for (size_t i = 0; i < options->schemas.count; i++) {
            const char *name = options->schemas.items[i];
            if ((rows = query(conn, schema_exists_sql, name)) == NULL)
                return 1;
            bool exists = rows->row_count > 0;
            db_result_free(rows);
            if (!exists) {
                fprintf(stderr, "pgsafe setup-sql: schema \"%s\" does not exist in database \"%s\"\n", name,
                        facts->database);
                return 1;
            }
            if (!names_contains(&facts->schemas, name) && !names_add(&facts->schemas, name, strlen(name)))
                return 1;
        }
    }
    for (size_t i = 0; i < facts->schemas.count; i++)
        if (!add_relations(conn, facts, facts->schemas.items[i]))
            return 1;
    qsort(facts->owners.items, facts->owners.count, sizeof *facts->owners.items, compare_names);
    return 0;
}

/* ---- the script ---- */

static const char *kind_comment(char kind) {
    switch (kind) {
    case 'v': return "  -- view";
    case 'm': return "  -- materialized view";
    case 'f': return "  -- foreign table";
    case 'p': return "  -- partitioned table";
    default: return "";
    }
}

static void put_schema_list(strbuf *out, const names *schemas) {
    for (size_t i = 0; i < schemas->count; i++) {
        if (i > 0)
            strbuf_puts(out, ", ");
        put_identifier(out, schemas->items[i]);
    }
}

/* The script; facts is NULL offline. Returns it (caller frees) or NULL when out of memory. */
static char *script(const setup_options *options, const catalog_facts *facts) {
    strbuf out = {0};
    char *role = quoted_identifier(options->role);
    if (role == NULL)
        return NULL;
    names offline_schemas = {0};
    const names *schemas = facts ? &facts->schemas : &options->schemas;
    if (schemas->count == 0) {
        names_add(&offline_schemas, "public", 6);
        schemas = &offline_schemas;
    }

    strbuf_puts(&out, "-- A least-privilege read-only role for pgsafe, from `pgsafe setup-sql`.\n");
    if (facts) {
        strbuf_puts(&out, "-- Tables and views listed from the catalog of database ");
        put_identifier(&out, facts->database);
        strbuf_puts(&out, ".\n");
    } else {
        strbuf_puts(&out, "-- Offline: no database was read, so the tables were not listed; psql fills in\n"
                          "-- :\"DBNAME\", the database it is connected to.\n");
    }
    strbuf_puts(&out, "-- Run it with psql as a superuser (or as a role with CREATEROLE that may grant on the\n"
                      "-- tables), connected to the database pgsafe will read:  psql -f this-file.sql\n"
                      "-- It can be run again: the role is created only when missing (an existing superuser\n"
                      "-- is refused), and everything else is stated again, after new tables appear say.\n"
                      "-- All of it is one transaction.\n"
                      "\\set ON_ERROR_STOP on\n"
                      "BEGIN;\n\n");

    strbuf_puts(&out, "-- The role logs in and can do nothing else: no superuser, no creating databases or\n"
                      "-- roles, no replication, no bypassing row-level security (the defaults, stated).\n"
                      "-- NOINHERIT: everything it may do is granted to it directly below, so a membership\n"
                      "-- granted by mistake later (GRANT app_owner TO it) passes no privilege on.\n"
                      "-- No password here: set one afterwards with psql's \\password (see the end).\n");
    /* The role's name is in the block's body: the dollar-quote's tag must not be. */
    char tag[32] = "$pgsafe$";
    for (int n = 1; strstr(options->role, tag) != NULL; n++)
        snprintf(tag, sizeof tag, "$pgsafe%d$", n);
    strbuf_printf(&out, "DO %s\nBEGIN\n  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ", tag);
    put_literal(&out, options->role);
    strbuf_printf(&out, ") THEN\n    CREATE ROLE %s NOSUPERUSER NOREPLICATION NOBYPASSRLS;\n", role);
    strbuf_puts(&out, "  ELSIF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ");
    put_literal(&out, options->role);
    strbuf_puts(&out, "\n                  AND (rolsuper OR rolreplication OR rolbypassrls)) THEN\n"
                      "    RAISE EXCEPTION 'role % exists with SUPERUSER, REPLICATION or BYPASSRLS: choose another "
                      "--role', ");
    put_literal(&out, options->role);
    strbuf_printf(&out, ";\n  END IF;\nEND\n%s;\n", tag);
    strbuf_printf(&out, "ALTER ROLE %s WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT %ld;\n\n", role,
                  options->connection_limit);

    strbuf_puts(&out, "-- Connect to the database (PUBLIC has CONNECT by default; be explicit) and look up\n"
                      "-- objects in the chosen schemas. USAGE on a schema allows nothing else.\n");
    strbuf_puts(&out, "GRANT CONNECT ON DATABASE ");
    if (facts)
        put_identifier(&out, facts->database);
    else
        strbuf_puts(&out, ":\"DBNAME\"");
    strbuf_printf(&out, " TO %s;\n", role);
    strbuf_puts(&out, "GRANT USAGE ON SCHEMA ");
    put_schema_list(&out, schemas);
    strbuf_printf(&out, " TO %s;\n\n", role);

    if (facts) {
        strbuf_puts(&out, "-- SELECT on each table and view there now, one line each, so that what is granted\n"
                          "-- can be read and reviewed here (GRANT ... ON ALL TABLES IN SCHEMA would not say).\n");
        for (size_t i = 0; i < facts->relation_count; i++) {
            strbuf_puts(&out, "GRANT SELECT ON TABLE ");
            put_identifier(&out, facts->relations[i].schema);
            strbuf_puts(&out, ".");
            put_identifier(&out, facts->relations[i].name);
            strbuf_printf(&out, " TO %s;%s\n", role, kind_comment(facts->relations[i].kind));
        }
        if (facts->relation_count == 0)
            strbuf_puts(&out, "-- (there are no tables or views in these schemas yet)\n");
        strbuf_puts(&out, "\n-- SELECT on the tables and views that the roles owning these schemas and tables\n"
                          "-- create later (default privileges belong to the creating role: add a line for any\n"
                          "-- other role that creates tables here).\n");
        for (size_t i = 0; i < facts->owners.count; i++) {
            strbuf_puts(&out, "ALTER DEFAULT PRIVILEGES FOR ROLE ");
            put_identifier(&out, facts->owners.items[i]);
            strbuf_puts(&out, " IN SCHEMA ");
            put_schema_list(&out, schemas);
            strbuf_printf(&out, " GRANT SELECT ON TABLES TO %s;\n", role);
        }
        if (facts->owners.count == 0)
            strbuf_puts(&out, "-- (no role owns anything here yet)\n");
    } else {
        strbuf_puts(&out, "-- SELECT on every table and view there now (offline, they could not be listed).\n");
        strbuf_puts(&out, "GRANT SELECT ON ALL TABLES IN SCHEMA ");
        put_schema_list(&out, schemas);
        strbuf_printf(&out, " TO %s;\n", role);
        strbuf_puts(&out, "-- ... and on those created there later by the role running this script. Default\n"
                          "-- privileges belong to the creating role: add FOR ROLE app_owner after DEFAULT\n"
                          "-- PRIVILEGES for each role that creates your tables.\n");
        strbuf_puts(&out, "ALTER DEFAULT PRIVILEGES IN SCHEMA ");
        put_schema_list(&out, schemas);
        strbuf_printf(&out, " GRANT SELECT ON TABLES TO %s;\n", role);
    }

    strbuf_puts(&out, "\n-- Its sessions start read-only and end runaway statements and idle transactions.\n"
                      "-- A session can still change these defaults; the privileges above are what forbid\n"
                      "-- writing. pgsafe sets its own limits in every transaction as well.\n");
    strbuf_printf(&out,
                  "ALTER ROLE %s SET default_transaction_read_only = on;\n"
                  "ALTER ROLE %s SET statement_timeout = '30s';\n"
                  "ALTER ROLE %s SET idle_in_transaction_session_timeout = '60s';\n"
                  "COMMIT;\n\n",
                  role, role, role);

    strbuf_puts(&out, "-- Check: login and read_only true, connection_limit as set, every other column\n"
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
    put_literal(&out, options->role);
    strbuf_puts(&out, ";\n\n");
    strbuf_printf(&out,
                  "-- Then give it a password (psql asks for it and sends only a hash):\n"
                  "--   \\password %s\n"
                  "-- and check what pgsafe will see, connecting as it:  pgsafe doctor\n",
                  role);
    free(role);
    names_free(&offline_schemas);
    return strbuf_take(&out);
}

int cli_setup_sql_main(int argc, char **argv) {
    setup_options options = {0};
    int status = read_options(&options, argc, argv);
    if (status != 0) {
        if (status == 1)
            cli_setup_sql_usage(stdout);
        names_free(&options.schemas);
        return status == 1 ? 0 : 2;
    }
    catalog_facts facts = {0};
    if (!options.offline) {
        char *error = NULL;
        PGconn *conn = cli_session_open(options.dsn ? options.dsn : "", CONNECT_TIMEOUT_SECONDS, &error);
        if (conn == NULL) {
            fprintf(stderr,
                    "pgsafe setup-sql: cannot connect: %s\n"
                    "fix: check --dsn (or PGSAFE_DSN, DATABASE_URL, PGHOST, PGPORT, PGUSER, PGDATABASE), or give "
                    "--offline for a script that does not list the tables\n",
                    error ? error : "?");
            free(error);
            names_free(&options.schemas);
            return 1;
        }
        status = read_catalog(conn, &options, &facts);
        PQfinish(conn);
    }
    char *text = status == 0 ? script(&options, options.offline ? NULL : &facts) : NULL;
    if (status == 0 && text == NULL) {
        fprintf(stderr, "pgsafe setup-sql: out of memory\n");
        status = 1;
    }
    if (text != NULL && (fputs(text, stdout) == EOF || fflush(stdout) != 0)) {
        fprintf(stderr, "pgsafe setup-sql: cannot write the script: %s\n", strerror(errno));
        status = 1;
    }
    free(text);
    facts_free(&facts);
    names_free(&options.schemas);
    return status;
}
