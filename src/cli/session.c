/* Blocking connections and queries for the one-shot commands. */
#include "cli/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

PGconn *cli_session_open(const char *conninfo, int connect_timeout_seconds, char **error) {
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", connect_timeout_seconds);
    const char *keywords[DB_CONNECT_PARAMS], *values[DB_CONNECT_PARAMS];
    db_connect_params(conninfo, timeout, keywords, values); /* as the pool connects */
    PGconn *conn = PQconnectdbParams(keywords, values, 1);
    if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
        return conn;
    /* libpq's messages name hosts, users and databases, never the password. */
    *error = str_one_line(conn ? PQerrorMessage(conn) : "out of memory");
    PQfinish(conn);
    return NULL;
}

/* Fills result from a PGRES_TUPLES_OK or PGRES_COMMAND_OK result; false when out of memory. */
static bool copy_rows(db_result *result, const PGresult *pg) {
    int columns = PQnfields(pg), rows = PQntuples(pg);
    result->columns = calloc(columns ? (size_t)columns : 1, sizeof *result->columns);
    result->cells = calloc(rows && columns ? (size_t)rows * (size_t)columns : 1, sizeof *result->cells);
    if (result->columns == NULL || result->cells == NULL)
        return false;
    result->column_count = columns;
    for (int column = 0; column < columns; column++) {
        result->columns[column].type_oid = PQftype(pg, column);
        if ((result->columns[column].name = strdup(PQfname(pg, column))) == NULL)
            return false;
    }
    for (int row = 0; row < rows; row++) {
        result->row_count = (size_t)row + 1; /* so db_result_free sees every cell filled so far */
        for (int column = 0; column < columns; column++) {
            if (PQgetisnull(pg, row, column))
                continue;
            db_cell *cell = &result->cells[(size_t)row * (size_t)columns + (size_t)column];
            cell->length = cell->full_length = (size_t)PQgetlength(pg, row, column);
            if ((cell->value = str_copy_length(PQgetvalue(pg, row, column), cell->length)) == NULL)
                return false;
            result->bytes += cell->length;
        }
    }
    return true;
}

db_result *cli_session_query(PGconn *conn, const char *sql, int param_count, const char *const *params) {
    db_result *result = calloc(1, sizeof *result);
    if (result == NULL)
        return NULL;
    PGresult *pg = PQexecParams(conn, sql, param_count, NULL, params, NULL, NULL, 0);
    ExecStatusType status = pg ? PQresultStatus(pg) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        result->status = DB_OK;
        if (!copy_rows(result, pg)) {
            PQclear(pg);
            db_result_free(result);
            return NULL;
        }
    } else {
        result->status = PQstatus(conn) == CONNECTION_OK ? DB_SQL_ERROR : DB_CONNECTION_LOST;
        const char *state = pg ? PQresultErrorField(pg, PG_DIAG_SQLSTATE) : NULL;
        result->sqlstate = state ? strdup(state) : NULL;
        const char *primary = pg ? PQresultErrorField(pg, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        result->message = str_one_line(primary ? primary : PQerrorMessage(conn));
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
