/* `pgsafe serve`: reads the options and runs the MCP server on stdio.
 * Exit status: 0 after a clean stop (end of input, SIGTERM, SIGINT), 2 for a bad option
 * (the reason on stderr) or a refused writable role. */
#ifndef PGSAFE_CLI_SERVE_H
#define PGSAFE_CLI_SERVE_H

#include <stdio.h>

/* argv[0] is "serve". */
int cli_serve_main(int argc, char **argv);

void cli_serve_usage(FILE *stream);

#endif
