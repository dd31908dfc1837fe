/* `pgsafe catalog export`: writes the connected database's own functions, operators and
 * types as a JSON snapshot (cli/catalog_file.h) for `pgsafe check --catalog FILE`.
 * Exit status: 0 written, 2 bad option, no connection, a failed query or an unwritable file. */
#ifndef PGSAFE_CLI_CATALOG_EXPORT_H
#define PGSAFE_CLI_CATALOG_EXPORT_H

#include <stdio.h>

/* argv[0] is "catalog", argv[1] the subcommand ("export"). */
int cli_catalog_main(int argc, char **argv);

void cli_catalog_usage(FILE *stream);

#endif
