/* pgsafe's command line: `pgsafe serve`, `pgsafe check`, `pgsafe version`. */
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "cli/check.h"
#include "cli/doctor.h"
#include "cli/serve.h"
#include "cli/setup_sql.h"
#include "pgsafe/guard.h"

#ifndef PGSAFE_VERSION
#define PGSAFE_VERSION "0.0.0"
#endif

static void usage(FILE *stream) {
    fputs("usage: pgsafe <command> [options]\n"
          "\n"
          "commands:\n"
          "  check      check SQL with the guard, without a database (pgsafe check --help)\n"
          "  version    print the versions of pgsafe, its PostgreSQL grammar, libpq and json-c (also --version)\n"
          "  serve      the MCP server over stdio (pgsafe serve --help)\n"
          "  setup-sql  print the SQL that creates a read-only role for pgsafe (pgsafe setup-sql --help)\n"
          "  doctor     check what serve's configuration can do: role, TLS, limits (pgsafe doctor --help)\n",
          stream);
}

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

/* `pgsafe version [-h | --help]`: the versions, its usage, or a usage error. */
static int version_main(int argc, char **argv) {
    if (argc == 1)
        return print_version();
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs("usage: pgsafe version\n"
              "       pgsafe --version\n"
              "\n"
              "Prints one fact per line: pgsafe's version, the PostgreSQL grammar of its parser, and the\n"
              "versions of the libpq and json-c it runs with.\n"
              "\n"
              "options:\n"
              "  -h, --help  this text\n",
              stdout);
        return 0;
    }
    fprintf(stderr, "pgsafe version: unexpected argument \"%s\" (it takes none; pgsafe version --help)\n", argv[1]);
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *command = argv[1];
    int status;
    if (strcmp(command, "check") == 0)
        status = cli_check_main(argc - 1, argv + 1);
    else if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0)
        status = version_main(argc - 1, argv + 1);
    else if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
        usage(stdout);
        status = 0;
    } else if (strcmp(command, "serve") == 0) {
        status = cli_serve_main(argc - 1, argv + 1);
    } else if (strcmp(command, "setup-sql") == 0) {
        status = cli_setup_sql_main(argc - 1, argv + 1);
    } else if (strcmp(command, "doctor") == 0) {
        status = cli_doctor_main(argc - 1, argv + 1);
    } else {
        fprintf(stderr, "pgsafe: unknown command \"%s\"\n", command);
        usage(stderr);
        status = 2;
    }
    /* No pg_query_exit(): after a "memory exhausted" parse error libpg_query's cleanup
     * dereferences a freed context. Its per-thread context is reachable memory, not a leak. */
    return status;
}
