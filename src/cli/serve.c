/* `pgsafe serve`: the options (cli/config.c), then the MCP server on stdin/stdout. */
#include "cli/serve.h"

#include <unistd.h>

#include "cli/config.h"
#include "mcp/server.h"

void cli_serve_usage(FILE *stream) {
    fputs("usage: pgsafe serve [options]\n"
          "\n"
          "Serves the Model Context Protocol on stdin/stdout (newline-delimited JSON-RPC) for one client, giving\n"
          "it read-only, guarded access to one PostgreSQL database. Logs go to stderr.\n"
          "\n"
          "options (each also from the environment variable shown; a flag wins):\n",
          stream);
    cli_options_usage(cli_config_command("serve"), stream);
    fputs("\n"
          "The connection comes from --dsn, PGSAFE_DSN or DATABASE_URL, else from PGHOST, PGPORT, PGUSER,\n"
          "PGDATABASE, PGPASSWORD and the other libpq variables. See docs/configuration.md and docs/clients.md.\n"
          "`pgsafe doctor` takes the same options and reports what this configuration can do.\n",
          stream);
}

int cli_serve_main(int argc, char **argv) {
    cli_config config;
    int status = cli_config_read(&config, argc, argv);
    if (status == 1) {
        cli_serve_usage(stdout);
        status = 0;
    } else if (status == 0) {
        status = mcp_serve(&config.server, STDIN_FILENO, STDOUT_FILENO);
    }
    cli_config_free(&config);
    return status;
}
