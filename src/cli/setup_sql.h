/* `pgsafe setup-sql`: prints a psql script that creates a least-privilege read-only role for
 * pgsafe. Connected, it lists the chosen schemas' tables and views from the catalog and
 * grants SELECT on each by name; with --offline (or with no connection settings at all) it
 * uses psql's :"DBNAME" for the database and GRANT ... ON ALL TABLES IN SCHEMA.
 * Exit status: 0 with the script on stdout, 1 when the database cannot be reached or a
 * chosen schema does not exist, 2 for a bad option (the reason on stderr). */
#ifndef PGSAFE_CLI_SETUP_SQL_H
#define PGSAFE_CLI_SETUP_SQL_H

#include <stdio.h>

/* argv[0] is "setup-sql". */
int cli_setup_sql_main(int argc, char **argv);

void cli_setup_sql_usage(FILE *stream);

#endif
