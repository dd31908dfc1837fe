/* `pgsafe catalog export`: one connection made as serve's pool makes its own, the catalog
 * query the pool runs at its first connection, inside a read-only transaction under a
 * statement timeout, written as a snapshot (cli/catalog_file.h) to stdout or to a file
 * that is replaced whole. Exit status: 0 written, 2 bad option, no connection, the query
 * failed, or the file could not be written. */
#include "cli/catalog_export.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/catalog_file.h"
#include "cli/config.h"
#include "cli/options.h"
#include "cli/session.h"
#include "util/strings.h"

#ifndef PGSAFE_VERSION
#define PGSAFE_VERSION "0.0.0"
#endif

typedef struct export_options {
    const char *dsn;    /* NULL: DATABASE_URL, else libpq's PG* variables */
    const char *output; /* NULL: stdout */
    int statement_timeout_ms;
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

/* The connection and the timeout answer to serve's variables, so that the environment that
 * configures serve exports the catalog serve would load. */
static const cli_option option_rows[] = {
    {"--dsn", "PGSAFE_DSN", CLI_VALUE, "DSN",
     "connection string or URL (else DATABASE_URL, else libpq's PG* variables)", set_dsn},
    {"--statement-timeout", "PGSAFE_STATEMENT_TIMEOUT", CLI_VALUE, "N", "statement timeout in milliseconds (30000)",
     set_statement_timeout},
    {"--output", NULL, CLI_VALUE, "FILE", "write the snapshot to FILE (replaced whole) instead of standard output",
     set_output},
};

static const cli_command command = {"catalog export", option_rows, sizeof option_rows / sizeof *option_rows, NULL};

void cli_catalog_usage(FILE *stream) {
    fputs("usage: pgsafe catalog export [options]\n"
          "\n"
          "Connects as `pgsafe serve` would and writes the database's own functions, operators and\n"
          "types (outside pg_catalog) with their volatility, the families of partitioned and\n"
          "inherited tables and the hidden-function hazards as a JSON snapshot, for `pgsafe check\n"
          "--catalog FILE`: CI without a database then judges queries as the server would.\n"
          "Exit status: 0 written, 2 bad option, connection or query failure.\n"
          "\n"
          "options:\n",
          stream);
    cli_options_usage(&command, stream);
}

/* Runs the catalog query in a read-only transaction that is rolled back. Returns the rows
 * (caller frees) or NULL after reporting on stderr. */
static db_result *query_catalog(PGconn *conn, int statement_timeout_ms) {
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%d", statement_timeout_ms);
    const char *params[] = {timeout};
    db_result *begin = cli_session_query(conn, "BEGIN READ ONLY", 0, NULL);
    db_result *settings = cli_session_query(conn,
                                            "SELECT pg_catalog.set_config('statement_timeout', $1, true),"
                                            " pg_catalog.set_config('jit', 'off', true)", /* as the pool loads it */
                                            1, params);
    db_result *rows = NULL;
    const char *failure = NULL;
    if (begin == NULL || settings == NULL)
        failure = "out of memory";
    else if (begin->status != DB_OK || settings->status != DB_OK)
        failure = begin->status != DB_OK ? begin->message : settings->message;
    else if ((rows = cli_session_query(conn, catalog_load_sql(), 0, NULL)) == NULL)
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

/* Connects, queries and writes. Returns the exit status. */
static int export_catalog(const export_options *options) {
    const char *source = NULL;
    const char *dsn = options->dsn != NULL ? options->dsn : cli_config_dsn_from_environment(&source);
    char *error = NULL;
    PGconn *conn = cli_session_open(dsn != NULL ? dsn : "", 5, &error);
    if (conn == NULL) {
        fprintf(stderr, "pgsafe catalog export: cannot connect: %s\n", error ? error : "?");
        free(error);
        return 2;
    }
    db_result *rows = query_catalog(conn, options->statement_timeout_ms);
    PQfinish(conn);
    if (rows == NULL)
        return 2;
    const char *failure = NULL;
    json_object *document = cli_catalog_file_from_rows(rows, "pgsafe " PGSAFE_VERSION, &failure);
    db_result_free(rows);
    if (document == NULL) {
        fprintf(stderr, "pgsafe catalog export: %s\n", failure);
        return 2;
    }
    char *text = cli_catalog_file_text(document);
    json_object_put(document);
    bool ok;
    if (text == NULL) {
        fprintf(stderr, "pgsafe catalog export: out of memory\n");
        ok = false;
    } else if (options->output != NULL) {
        ok = write_file(options->output, text);
    } else {
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
    return status;
}
