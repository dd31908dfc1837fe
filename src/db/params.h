/* The connection parameters every pgsafe connection is made with, the pool's and the
 * one-shot commands' alike, so that both reach the database the same way. */
#ifndef PGSAFE_DB_PARAMS_H
#define PGSAFE_DB_PARAMS_H

/* For PQconnect*Params with expand_dbname 1: application_name pgsafe and the connect
 * timeout first, so that the DSN's own settings (expanded from dbname) override them;
 * client_encoding UTF8 last, because results travel as JSON. connect_timeout is the
 * timeout's text; both arrays end in NULL and point into the arguments. */
#define DB_CONNECT_PARAMS 5
void db_connect_params(const char *conninfo, const char *connect_timeout, const char *keywords[DB_CONNECT_PARAMS],
                       const char *values[DB_CONNECT_PARAMS]);

#endif
