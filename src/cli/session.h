/* One blocking libpq connection for the one-shot commands (`pgsafe setup-sql`, `pgsafe
 * doctor`), opened the way the pool opens its own: the DSN expanded from dbname (so ""
 * means libpq's PG* variables), application_name pgsafe, connect_timeout, client_encoding
 * UTF8. Query results come back as db_result, the shape the catalog loader reads.
 *
 *   char *error = NULL;
 *   PGconn *conn = cli_session_open(conninfo, 5, &error);   // NULL: error says why
 *   db_result *rows = cli_session_query(conn, sql, 1, params);
 *   db_result_free(rows); PQfinish(conn); free(error); */
#ifndef PGSAFE_CLI_SESSION_H
#define PGSAFE_CLI_SESSION_H

#include <libpq-fe.h>

#include "db/result.h"

/* Connects and waits. Returns the connection, or NULL with *error set to libpq's reason on
 * one line (caller frees). Never puts a password in *error. */
PGconn *cli_session_open(const char *conninfo, int connect_timeout_seconds, char **error);

/* Runs one statement with text parameters and reads every row. Returns a result (caller
 * frees with db_result_free) whose status is DB_OK, DB_SQL_ERROR (message set), or
 * DB_CONNECTION_LOST; NULL only when out of memory. */
db_result *cli_session_query(PGconn *conn, const char *sql, int param_count, const char *const *params);

/* Where the connection goes, without the password: "socket /run/postgresql port 5432",
 * "host db.example.com port 5432". Caller frees. */
char *cli_session_endpoint(const PGconn *conn);

#endif
