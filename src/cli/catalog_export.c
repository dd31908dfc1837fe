/* `pgsafe catalog export`: one connection made as serve's pool makes its own, the catalog
 * query the pool runs at its first connection under a table or column policy (relations and
 * columns included), inside a read-only transaction under a statement timeout and serve's
 * pinned search_path, written as a snapshot (cli/catalog_file.h) to stdout or to a file that
 * is replaced whole. Exit status: 0 written, 2 bad option, no connection, the query failed,
 * the snapshot is larger than check reads, or the file could not be written. */
#include "cli/catalog_export.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/catalog_file.h"
#include "cli/config.h"
#include "cli/json_file.h"
#include "cli/options.h"
#include "cli/session.h"
#include "db/catalog.h"
#include "db/pool.h"
#include "util/strings.h"

#ifndef PGSAFE_VERSION
#define PGSAFE_VERSION "0.0.0"
#endif

typedef struct export_options {
    const char *dsn;    /* NULL: DATABASE_URL, else libpq's PG* variables */
    const char *output; /* NULL: stdout */
    int statement_timeout_ms;
    char *schemas;      /* --schemas quoted for the search_path ("public", "sales"), or NULL: public */
    char *schema_array; /* the same as a text[] literal (cli_config_parse_schemas'), unused */
} export_options;

/* The handlers of export's rows (cli_option_handler in cli/options.h). */

static bool set_dsn(void *settings, const char *value, const char *source) {
    (void)source;
    ((export_options *)settings)->dsn = value;
    return true;
}

static bool set_output(void *settings, const char *value, const char *source) {
    if (value[0] == '\0') {
        fprintf(stderr, "pgsafe catalog export: %s needs a file name\n", source);
        return false;
    }
    ((export_options *)settings)->output = value;
    return true;
}

static bool set_statement_timeout(void *settings, const char *value, const char *source) {
    long long milliseconds;
    if (!cli_parse_integer(value, 1, 3600000, &milliseconds)) {
        fprintf(stderr, "pgsafe catalog export: %s needs milliseconds from 1 to 3600000\n", source);
        return false;
    }
    ((export_options *)settings)->statement_timeout_ms = (int)milliseconds;
    return true;
}

static bool set_schemas(void *settings, const char *value, const char *source) {
    export_options *options = settings;
    if (!cli_config_parse_schemas(value, &options->schemas, &options->schema_array)) {
        fprintf(stderr, "pgsafe catalog export: %s must name at least one schema, e.g. public,sales\n", source);
        return false;
    }
    return true;
}

/* The connection and the timeout answer to serve's variables, so that the environment that
 * configures serve exports the catalog serve would load. */
static const cli_option option_rows[] = {
    {"--dsn", "PGSAFE_DSN", CLI_VALUE, "DSN",
     "connection string or URL (else DATABASE_URL, else libpq's PG* variables)", set_dsn},
    {"--statement-timeout", "PGSAFE_STATEMENT_TIMEOUT", CLI_VALUE, "N", "statement timeout in milliseconds (30000)",
     set_statement_timeout},
    {"--schemas", "PGSAFE_SCHEMAS", CLI_VALUE, "LIST",
     "comma-separated schemas of serve's search_path, which decides the relation an unqualified name reaches "
     "(public)",
     set_schemas},
    {"--output", NULL, CLI_VALUE, "FILE", "write the snapshot to FILE (replaced whole) instead of standard output",
     set_output},
};

static const cli_command command = {"catalog export", option_rows, sizeof option_rows / sizeof *option_rows, NULL};

void cli_catalog_usage(FILE *stream) {
    fputs("usage: pgsafe catalog export [options]\n"
          "\n"
          "Connects as `pgsafe serve` would and writes the database's own functions, operators and\n"
          "types (outside pg_catalog) with their volatility, the families of partitioned and\n"
          "inherited tables, the hidden-function hazards and the relations with their columns as a\n"
          "JSON snapshot, for `pgsafe check --catalog FILE`: CI without a database then judges\n"
          "queries, --tables and --deny-columns included, as the server would.\n"
          "Exit status: 0 written, 2 bad option, connection or query failure, or a snapshot over\n"
          "64 MiB.\n"
          "\n"
          "options:\n",
          stream);
    cli_options_usage(&command, stream);
}

/* Runs the catalog query with its relations in a read-only transaction that is rolled back,
 * under search_path (pinned as serve pins it, so that each relation's visibility is what
 * serve's guard sees). Returns the rows (caller frees) or NULL after reporting on stderr. */
static db_result *query_catalog(PGconn *conn, int statement_timeout_ms, const char *search_path) {
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%d", statement_timeout_ms);
    const char *params[] = {timeout, search_path};
    db_result *begin = cli_session_query(conn, "BEGIN READ ONLY", 0, NULL);
    db_result *settings = cli_session_query(conn,
                                            "SELECT pg_catalog.set_config('statement_timeout', $1, true),"
                                            " pg_catalog.set_config('search_path', $2, true),"
                                            " pg_catalog.set_config('jit', 'off', true)", /* as the pool loads it */
                                            2, params);
    db_result *rows = NULL;
    const char *failure = NULL;
    if (begin == NULL || settings == NULL)
        failure = "out of memory";
    else if (begin->status != DB_OK || settings->status != DB_OK)
        failure = begin->status != DB_OK ? begin->message : settings->message;
    else if ((rows = cli_session_query(conn, catalog_load_relations_sql(), 0, NULL)) == NULL)
        failure = "out of memory";
    else if (rows->status != DB_OK)
        failure = rows->message;
    if (failure != NULL)
        fprintf(stderr, "pgsafe catalog export: the catalog query failed: %s\n", failure ? failure : "?");
    db_result_free(begin);
    db_result_free(settings);
    db_result_free(cli_session_query(conn, "ROLLBACK", 0, NULL));
    if (failure != NULL) {
        db_result_free(rows);
        return NULL;
    }
    return rows;
}

/* Writes text to path through a temporary file beside it, so that a reader never sees half
 * a snapshot and a failed export leaves the old one. False after reporting on stderr. */
static bool write_file(const char *path, const char *text) {
    char *temporary = str_printf("%s.tmp.%ld", path, (long)getpid());
    if (temporary == NULL) {
        fprintf(stderr, "pgsafe catalog export: out of memory\n");
        return false;
    }
    FILE *file = fopen(temporary, "w");
    bool ok = file != NULL && fputs(text, file) >= 0;
    if (file != NULL && fclose(file) != 0)
        ok = false;
    if (ok && rename(temporary, path) != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr, "pgsafe catalog export: cannot write %s: %s\n", path, strerror(errno));
        unlink(temporary);
    }
    free(temporary);
    return ok;
}

/* Connects and reads the catalog's rows under search_path. NULL after reporting on stderr. */
static db_result *read_catalog(const export_options *options, const char *search_path) {
    const char *source = NULL;
    const char *dsn = options->dsn != NULL ? options->dsn : cli_config_dsn_from_environment(&source);
    char *error = NULL;
    PGconn *conn = cli_session_open(dsn != NULL ? dsn : "", 5, &error);
    if (conn == NULL) {
        fprintf(stderr, "pgsafe catalog export: cannot connect: %s\n", error ? error : "?");
        free(error);
        return NULL;
    }
    db_result *rows = query_catalog(conn, options->statement_timeout_ms, search_path);
    PQfinish(conn);
    return rows;
}

/* The snapshot's text from the rows, at most what check reads (caller frees). NULL after
 * reporting on stderr. */
static char *snapshot_text(const db_result *rows, const char *search_path) {
    const char *failure = NULL;
    json_object *document = cli_catalog_file_from_rows(rows, "pgsafe " PGSAFE_VERSION, search_path, &failure);
    if (document == NULL) {
        fprintf(stderr, "pgsafe catalog export: %s\n", failure);
        return NULL;
    }
    size_t length = 0;
    char *text = cli_catalog_file_text(document, CLI_JSON_FILE_MAX_BYTES, &length);
    json_object_put(document);
    if (text == NULL && length > CLI_JSON_FILE_MAX_BYTES)
        fprintf(stderr,
                "pgsafe catalog export: the snapshot would be %zu bytes, more than the %u that pgsafe check "
                "--catalog reads; nothing was written (check such a database connected, or declare the relations "
                "queried with pgsafe check --relation)\n",
                length, CLI_JSON_FILE_MAX_BYTES);
    else if (text == NULL)
        fprintf(stderr, "pgsafe catalog export: out of memory\n");
    return text;
}

/* Connects, queries and writes. Returns the exit status. */
static int export_catalog(const export_options *options) {
    char *search_path = db_pool_pinned_search_path(options->schemas);
    if (search_path == NULL) {
        fprintf(stderr, "pgsafe catalog export: out of memory\n");
        return 2;
    }
    db_result *rows = read_catalog(options, search_path);
    char *text = rows != NULL ? snapshot_text(rows, search_path) : NULL;
    db_result_free(rows);
    free(search_path);
    bool ok = text != NULL;
    if (ok && options->output != NULL) {
        ok = write_file(options->output, text);
    } else if (ok) {
        ok = fputs(text, stdout) >= 0 && fflush(stdout) == 0;
        if (!ok)
            fprintf(stderr, "pgsafe catalog export: cannot write standard output: %s\n", strerror(errno));
    }
    free(text);
    return ok ? 0 : 2;
}

int cli_catalog_main(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_catalog_usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "export") != 0) {
        fprintf(stderr, "pgsafe catalog: %s (pgsafe catalog --help)\n",
                argc < 2 ? "name a subcommand: export" : "unknown subcommand; the one there is: export");
        return 2;
    }
    export_options options = {.statement_timeout_ms = 30000};
    cli_parsed parsed;
    int status = cli_options_parse(&command, &options, argc - 1, argv + 1, &parsed);
    if (status == 0)
        status = export_catalog(&options);
    else if (status == 1) {
        cli_catalog_usage(stdout);
        status = 0;
    }
    cli_options_free(&parsed);
    free(options.schemas);
    free(options.schema_array);
    return status;
}
