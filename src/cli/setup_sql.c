/* `pgsafe setup-sql`: its options (rows of the option table), the catalog facts it reads
 * when connected (the schemas, their tables and views, and who owns them), and the script
 * (cli/setup_script.c) on stdout. */
#include "cli/setup_sql.h"

#include <assert.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "cli/options.h"
#include "cli/session.h"
#include "cli/policy.h"
#include "cli/setup_script.h"

#define DEFAULT_ROLE             "pgsafe_reader"
#define DEFAULT_CONNECTION_LIMIT 5
#define MAX_IDENTIFIER_BYTES     63 /* NAMEDATALEN - 1: PostgreSQL would cut a longer name */
#define CONNECT_TIMEOUT_SECONDS  5

/* ---- options ---- */

typedef struct setup_options {
    setup_request request;
    cli_policy data_policy; /* --tables, --deny-columns */
    guard_policy guard;     /* what request.policy points to when either is given */
    const char *dsn;        /* NULL: libpq's PG* variables */
    bool dsn_given;
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

/* The handlers of setup-sql's rows (cli_option_handler in cli/options.h): settings is the
 * setup_options; values point into argv. */

static bool set_role(void *settings, const char *value, const char *source) {
    setup_options *options = settings;
    (void)source;
    if (!valid_name("role", value, strlen(value)))
        return false;
    if (strncmp(value, "pg_", 3) == 0) {
        fprintf(stderr, "pgsafe setup-sql: role names starting with pg_ are reserved by PostgreSQL\n");
        return false;
    }
    options->request.role = value;
    return true;
}

static bool set_schemas(void *settings, const char *value, const char *source) {
    setup_names *schemas = &((setup_options *)settings)->request.schemas;
    (void)source;
    assert(schemas->count == 0); /* a value option is handed over once */
    const char *name;
    size_t length;
    for (const char *cursor = value; cli_config_next_name(&cursor, &name, &length);) {
        if (!valid_name("schema", name, length))
            return false;
        if (!setup_names_add(schemas, name, length)) {
            fprintf(stderr, "pgsafe setup-sql: out of memory\n");
            return false;
        }
    }
    if (schemas->count == 0) {
        fprintf(stderr, "pgsafe setup-sql: --schemas must name at least one schema, e.g. public,sales\n");
        return false;
    }
    return true;
}

static bool set_connection_limit(void *settings, const char *value, const char *source) {
    setup_options *options = settings;
    long long limit;
    (void)source;
    if (!cli_parse_integer(value, 1, 1000, &limit)) {
        fprintf(stderr, "pgsafe setup-sql: --connection-limit must be an integer from 1 to 1000, not \"%s\"\n", value);
        return false;
    }
    options->request.connection_limit = (long)limit;
    return true;
}

static bool set_dsn(void *settings, const char *value, const char *source) {
    setup_options *options = settings;
    (void)source;
    options->dsn = value;
    options->dsn_given = true;
    return true;
}

static bool set_tables(void *settings, const char *value, const char *source) {
    return cli_policy_set_tables(&((setup_options *)settings)->data_policy, value, "setup-sql", source);
}

static bool set_deny_columns(void *settings, const char *value, const char *source) {
    return cli_policy_set_deny_columns(&((setup_options *)settings)->data_policy, value, "setup-sql", source);
}

static bool set_offline(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((setup_options *)settings)->offline = true;
    return true;
}

/* The connection falls back on PGSAFE_DSN and DATABASE_URL as serve's does, so --dsn has
 * no variable of its own here. */
static const cli_option option_rows[] = {
    {"--role", NULL, CLI_VALUE, "NAME", "the role to create (" DEFAULT_ROLE ")", set_role},
    {"--schemas", NULL, CLI_VALUE, "a,b",
     "the schemas it may read (connected: every schema but the system ones;\noffline: public)", set_schemas},
    {"--connection-limit", NULL, CLI_VALUE, "N", "its CONNECTION LIMIT, 1 to 1000 (5: a pool of 2, doctor and a psql)",
     set_connection_limit},
    {"--dsn", NULL, CLI_VALUE, "DSN",
     "connection string or URL, as for serve (else PGSAFE_DSN, DATABASE_URL,\nelse libpq's PG* variables; --dsn '' "
     "means libpq's defaults)",
     set_dsn},
    {"--tables", NULL, CLI_VALUE, "PATTERNS", "grant only on these relations (as serve's --tables; needs a connection)",
     set_tables},
    {"--deny-columns", NULL, CLI_VALUE, "PATTERNS",
     "grant SELECT on the other columns only (as serve's --deny-columns;\nneeds a connection)", set_deny_columns},
    {"--offline", NULL, CLI_SWITCH, NULL,
     "do not connect: psql's :\"DBNAME\" for the database and GRANT ... ON ALL\nTABLES IN SCHEMA instead of the "
     "list (also when no connection setting\nis given at all)",
     set_offline},
};

static const cli_command command = {"setup-sql", option_rows, sizeof option_rows / sizeof *option_rows, NULL};

/* True when libpq would find some connection setting in the environment. */
static bool environment_names_a_server(void) {
    static const char *const variables[] = {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"};
    for (size_t i = 0; i < sizeof variables / sizeof *variables; i++)
        if (getenv(variables[i]) != NULL)
            return true;
    return false;
}

/* 0 to go on, 1 for --help, 2 for a usage error (reported). Whatever it returns, the
 * caller frees options->request.schemas. */
static int read_options(setup_options *options, int argc, char **argv) {
    const char *dsn_source = NULL;
    options->request.role = DEFAULT_ROLE;
    options->request.connection_limit = DEFAULT_CONNECTION_LIMIT;
    options->dsn = cli_config_dsn_from_environment(&dsn_source);
    options->dsn_given = options->dsn != NULL;
    int status = cli_options_parse_argv(&command, options, argc, argv);
    if (status != 0)
        return status;
    if (options->data_policy.tables != NULL || options->data_policy.deny_columns != NULL) {
        if (options->offline) {
            fprintf(stderr, "pgsafe setup-sql: --tables and --deny-columns need the catalog's tables and columns: "
                            "connect instead of --offline\n");
            return 2;
        }
        guard_policy_init(&options->guard);
        cli_policy_apply(&options->data_policy, &options->guard);
        options->request.policy = &options->guard;
    }
    if (!options->offline && !options->dsn_given && !environment_names_a_server()) {
        fprintf(stderr, "pgsafe setup-sql: no connection settings (--dsn, PGSAFE_DSN, DATABASE_URL, PGHOST, ...): "
                        "printing the offline script\n");
        options->offline = true;
    }
    return 0;
}

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
          "options:\n",
          stream);
    cli_options_usage(&command, stream);
    fputs("\n"
          "Exit status: 0 script printed, 1 cannot connect or no such schema, 2 bad option.\n"
          "See docs/read-only-role.md.\n",
          stream);
}

/* ---- the catalog ---- */

static bool out_of_memory(void) {
    fprintf(stderr, "pgsafe setup-sql: out of memory\n");
    return false;
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
        out_of_memory();
    return rows;
}

static const char schemas_sql[] = "SELECT n.nspname FROM pg_catalog.pg_namespace n"
                                  " WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
                                  "   AND pg_catalog.has_schema_privilege(n.oid, 'USAGE') ORDER BY 1";
static const char schema_exists_sql[] = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1";
static const char relations_sql[] =
    "SELECT c.relname, c.relkind::text,"
    " pg_catalog.array_to_json(ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a"
    "   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    "   ORDER BY a.attnum))::text"
    " FROM pg_catalog.pg_class c"
    "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1";
/* pg_database_owner (the owner of public since PostgreSQL 15) never creates anything itself. */
static const char owners_sql[] =
    "SELECT DISTINCT pg_catalog.pg_get_userbyid(o.owner) FROM ("
    "  SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = $1"
    "  UNION SELECT c.relowner FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    "   WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) o(owner)"
    " WHERE pg_catalog.pg_get_userbyid(o.owner) <> 'pg_database_owner' ORDER BY 1";

/* The names of a JSON array of strings, added to columns. False when it is not one or memory
 * runs out. */
static bool add_columns(setup_names *columns, const char *json) {
    json_object *array = json ? json_tokener_parse(json) : NULL;
    bool ok = array != NULL && json_object_is_type(array, json_type_array);
    for (size_t i = 0; ok && i < json_object_array_length(array); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(array, i));
        ok = name != NULL && setup_names_add(columns, name, strlen(name));
    }
    json_object_put(array);
    return ok;
}

/* Adds schema's tables and views to facts->relations and their owners (and the schema's)
 * to facts->owners. False after reporting a failed query or exhausted memory; what was
 * added stays owned by facts. */
static bool add_relations(PGconn *conn, setup_facts *facts, const char *schema) {
    db_result *rows = query(conn, relations_sql, schema);
    if (rows == NULL)
        return false;
    setup_relation *grown = realloc(facts->relations, (facts->relation_count + rows->row_count + 1) * sizeof *grown);
    bool ok = grown != NULL;
    if (ok)
        facts->relations = grown;
    for (size_t row = 0; ok && row < rows->row_count; row++) {
        setup_relation *slot = &facts->relations[facts->relation_count];
        slot->schema = strdup(schema);
        slot->name = strdup(db_result_cell(rows, row, 0)->value);
        slot->kind = db_result_cell(rows, row, 1)->value[0];
        slot->columns = (setup_names){0};
        if (slot->schema == NULL || slot->name == NULL ||
            !add_columns(&slot->columns, db_result_cell(rows, row, 2)->value)) {
            free(slot->schema);
            free(slot->name);
            setup_names_free(&slot->columns);
            ok = false;
        } else {
            facts->relation_count++;
        }
    }
    db_result_free(rows);
    if (!ok)
        return out_of_memory();
    if ((rows = query(conn, owners_sql, schema)) == NULL)
        return false;
    for (size_t row = 0; ok && row < rows->row_count; row++) {
        const char *owner = db_result_cell(rows, row, 0)->value;
        if (!setup_names_contains(&facts->owners, owner))
            ok = setup_names_add(&facts->owners, owner, strlen(owner)) || out_of_memory();
    }
    db_result_free(rows);
    return ok;
}

static int compare_names(const void *left, const void *right) {
    return strcmp(*(char *const *)left, *(char *const *)right);
}

/* Fills facts->schemas: every usable schema but the system ones, or the chosen ones after
 * checking that each exists. Returns 0, or 1 after reporting why not. */
static int choose_schemas(PGconn *conn, const setup_names *chosen, setup_facts *facts) {
    db_result *rows;
    if (chosen->count == 0) {
        if ((rows = query(conn, schemas_sql, NULL)) == NULL)
            return 1;
        bool ok = true;
        for (size_t row = 0; ok && row < rows->row_count; row++) {
            const char *name = db_result_cell(rows, row, 0)->value;
            ok = setup_names_add(&facts->schemas, name, strlen(name)) || out_of_memory();
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
        return 0;
    }
    for (size_t i = 0; i < chosen->count; i++) {
        const char *name = chosen->items[i];
        if ((rows = query(conn, schema_exists_sql, name)) == NULL)
            return 1;
        bool exists = rows->row_count > 0;
        db_result_free(rows);
        if (!exists) {
            fprintf(stderr, "pgsafe setup-sql: schema \"%s\" does not exist in database \"%s\"\n", name,
                    facts->database);
            return 1;
        }
        if (!setup_names_contains(&facts->schemas, name) && !setup_names_add(&facts->schemas, name, strlen(name)))
            return !out_of_memory();
    }
    return 0;
}

/* Fills facts from the connected database. Returns 0, or 1 after reporting why not; facts
 * holds what was read either way (setup_facts_free). */
static int read_catalog(PGconn *conn, const setup_options *options, setup_facts *facts) {
    db_result *rows = query(conn, "SELECT pg_catalog.current_database()", NULL);
    if (rows == NULL)
        return 1;
    assert(rows->row_count == 1 && rows->column_count == 1);
    facts->database = strdup(db_result_cell(rows, 0, 0)->value);
    db_result_free(rows);
    if (facts->database == NULL)
        return !out_of_memory();
    if (choose_schemas(conn, &options->request.schemas, facts) != 0)
        return 1;
    assert(facts->schemas.count > 0);
    for (size_t i = 0; i < facts->schemas.count; i++)
        if (!add_relations(conn, facts, facts->schemas.items[i]))
            return 1;
    qsort(facts->owners.items, facts->owners.count, sizeof *facts->owners.items, compare_names);
    return 0;
}

int cli_setup_sql_main(int argc, char **argv) {
    setup_options options = {0};
    int status = read_options(&options, argc, argv);
    if (status != 0) {
        if (status == 1)
            cli_setup_sql_usage(stdout);
        setup_names_free(&options.request.schemas);
        cli_policy_free(&options.data_policy);
        return status == 1 ? 0 : 2;
    }
    setup_facts facts = {0};
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
            setup_names_free(&options.request.schemas);
            cli_policy_free(&options.data_policy);
            return 1;
        }
        status = read_catalog(conn, &options, &facts);
        PQfinish(conn);
    }
    char *text = status == 0 ? setup_script(&options.request, options.offline ? NULL : &facts) : NULL;
    if (status == 0 && text == NULL) {
        fprintf(stderr, "pgsafe setup-sql: out of memory\n");
        status = 1;
    }
    if (text != NULL && (fputs(text, stdout) == EOF || fflush(stdout) != 0)) {
        fprintf(stderr, "pgsafe setup-sql: cannot write the script: %s\n", strerror(errno));
        status = 1;
    }
    free(text);
    setup_facts_free(&facts);
    setup_names_free(&options.request.schemas);
    cli_policy_free(&options.data_policy);
    return status;
}
