/* Blocking connections and queries for the one-shot commands. */
#include "cli/session.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/params.h"
#include "db/redact.h"
#include "util/strings.h"

PGconn *cli_session_open(const char *conninfo, int connect_timeout_seconds, char **error) {
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", connect_timeout_seconds);
    const char *keywords[DB_CONNECT_PARAMS], *values[DB_CONNECT_PARAMS];
    db_connect_params(conninfo, timeout, keywords, values); /* as the pool connects */
    PGconn *conn = PQconnectdbParams(keywords, values, 1);
    if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
        return conn;
    /* libpq quotes a malformed DSN whole, password and all. */
    char *safe = conn ? db_redact(PQerrorMessage(conn), conninfo, conn) : NULL;
    *error = str_one_line(safe ? safe : "could not connect (out of memory)");
    free(safe);
    PQfinish(conn);
    return NULL;
}

db_result *cli_session_query(PGconn *conn, const char *sql, int param_count, const char *const *params) {
    PGresult *pg = PQexecParams(conn, sql, param_count, NULL, params, NULL, NULL, 0);
    /* Every row and every byte: these are pgsafe's own catalog queries, not a model's. */
    const db_result_limits everything = {.row_limit = -1, .max_result_bytes = SIZE_MAX, .max_cell_bytes = SIZE_MAX};
    db_result *result = db_result_from_pg(pg, &everything);
    if (result != NULL && result->status != DB_OK) {
        if (PQstatus(conn) != CONNECTION_OK)
            result->status = DB_CONNECTION_LOST;
        /* Without PostgreSQL's own message (no result at all, a broken connection), libpq's. */
        bool primary = pg != NULL && PQresultErrorField(pg, PG_DIAG_MESSAGE_PRIMARY) != NULL;
        char *safe = primary ? NULL : db_redact(PQerrorMessage(conn), NULL, conn);
        if (!primary && !db_result_set_failure(result, result->status, safe ? safe : "the connection failed")) {
            db_result_free(result);
            result = NULL;
        }
        free(safe);
    }
    PQclear(pg);
    return result;
}

char *cli_session_endpoint(const PGconn *conn) {
    const char *host = PQhost(conn), *port = PQport(conn);
    bool socket = host != NULL && host[0] == '/';
    return str_printf("%s %s port %s", socket ? "socket" : "host", host && *host ? host : "?",
                      port && *port ? port : "?");
}
