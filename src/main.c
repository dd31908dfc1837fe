/* pgsafe's command line: one table of commands (check, version, serve, setup-sql, doctor, catalog),
 * each with its own options (src/cli/); `pgsafe help` lists them. */
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/catalog_export.h"
#include "cli/check.h"
#include "cli/doctor.h"
#include "cli/options.h"
#include "cli/serve.h"
#include "cli/setup_sql.h"
#include "cli/token.h"
#include "pgsafe/guard.h"

#ifndef PGSAFE_VERSION
#define PGSAFE_VERSION "0.0.0"
#endif

/* One fact per line, "name version", so a bug report can paste it and a script can read it:
 * pgsafe, the PostgreSQL grammar of its libpg_query (which exposes no version of its own),
 * and the libpq and json-c it runs with (their runtime versions, not the headers'). */
static int print_version(void) {
    int libpq = PQlibVersion(); /* 150018 for 15.18 since PostgreSQL 10 */
    printf("pgsafe %s\n", PGSAFE_VERSION);
    printf("PostgreSQL grammar %s (libpg_query)\n", guard_grammar_version());
    printf("libpq %d.%d\n", libpq / 10000, libpq % 10000);
    printf("json-c %s\n", json_c_version());
    return 0;
}

/* version takes no argument; one is refused as a handler refuses a value. */
static bool refuse_argument(void *settings, const char *argument) {
    (void)settings;
    fprintf(stderr, "pgsafe version: unexpected argument \"%s\" (it takes none; pgsafe version --help)\n", argument);
    return false;
}

static const cli_command version_command = {"version", NULL, 0, refuse_argument};

/* `pgsafe version [-h | --help]`: the versions, its usage, or a usage error (status 2). */
static int version_main(int argc, char **argv) {
    cli_parsed parsed;
    int status = cli_options_parse(&version_command, NULL, argc, argv, &parsed);
    cli_options_free(&parsed);
    if (status == 0)
        return print_version();
    if (status == 1) {
        fputs("usage: pgsafe version\n"
              "       pgsafe --version\n"
              "\n"
              "Prints one fact per line: pgsafe's version, the PostgreSQL grammar of its parser, and the\n"
              "versions of the libpq and json-c it runs with.\n"
              "\n"
              "options:\n",
              stdout);
        cli_options_usage(&version_command, stdout);
        return 0;
    }
    return 2;
}

/* The commands, in the order `pgsafe help` lists them (tests/cli/test-man reads that list). */
static const struct command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
    const char *summary;
} commands[] = {
    {"check", cli_check_main, "check SQL with the guard, without a database (pgsafe check --help)"},
    {"version", version_main,
     "print the versions of pgsafe, its PostgreSQL grammar, libpq and json-c (also --version)"},
    {"serve", cli_serve_main, "the MCP server over stdio (pgsafe serve --help)"},
    {"setup-sql", cli_setup_sql_main,
     "print the SQL that creates a read-only role for pgsafe (pgsafe setup-sql --help)"},
    {"doctor", cli_doctor_main, "check what serve's configuration can do: role, TLS, limits (pgsafe doctor --help)"},
    {"catalog", cli_catalog_main,
     "export the database's functions, operators and types for check --catalog (pgsafe catalog --help)"},
    {"token", cli_token_main, "add, revoke or list the bearer tokens of serve --http (pgsafe token --help)"},
};

static void usage(FILE *stream) {
    fputs("usage: pgsafe <command> [options]\n\ncommands:\n", stream);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(stream, "  %-9s  %s\n", commands[i].name, commands[i].summary);
}

static int help_main(int argc, char **argv) {
    (void)argc, (void)argv;
    usage(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    /* Spellings of two commands that people type out of habit. */
    if (strcmp(name, "--version") == 0)
        name = "version";
    int status = -1;
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        status = help_main(argc - 1, argv + 1);
    for (size_t i = 0; status < 0 && i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0)
            status = commands[i].run(argc - 1, argv + 1);
    if (status < 0) {
        fprintf(stderr, "pgsafe: unknown command \"%s\"\n", name);
        usage(stderr);
        status = 2;
    }
    /* No pg_query_exit(): after a "memory exhausted" parse error libpg_query's cleanup
     * dereferences a freed context. Its per-thread context is reachable memory, not a leak. */
    return status;
}
