/* The connection parameters (see params.h). */
#include "db/params.h"

#include <stddef.h>

void db_connect_params(const char *conninfo, const char *connect_timeout, const char *keywords[DB_CONNECT_PARAMS],
                       const char *values[DB_CONNECT_PARAMS]) {
    static const char *const names[DB_CONNECT_PARAMS] = {"application_name", "connect_timeout", "dbname",
                                                         "client_encoding", NULL};
    const char *given[DB_CONNECT_PARAMS] = {"pgsafe", connect_timeout, conninfo ? conninfo : "", "UTF8", NULL};
    for (int i = 0; i < DB_CONNECT_PARAMS; i++) {
        keywords[i] = names[i];
        values[i] = given[i];
    }
}
