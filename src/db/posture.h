/* The role's posture: who pgsafe is connected as and whether that role could write, read
 * from the rows of the posture query (catalog_posture_sql) that the pool runs at its first
 * connection and `pgsafe doctor` runs on its own. */
#ifndef PGSAFE_DB_POSTURE_H
#define PGSAFE_DB_POSTURE_H

#include <stdbool.h>

/* What the role may do, found at the first connection. */
typedef struct db_posture {
    bool known; /* false until a connection succeeded */
    bool superuser;
    bool can_write;       /* superuser, a write privilege on some table, CREATE somewhere, or membership in a
                           * server-file role (pg_read_server_files, pg_write_server_files, pg_execute_server_program) */
    char *role;           /* current_user */
    char *database;       /* current_database() */
    char *server_version; /* server_version */
    char *write_reasons;  /* why can_write, e.g. "INSERT on public.orders (and 3 more)"; NULL if not */
} db_posture;

/* Frees the strings and zeroes the posture. */
void posture_clear(db_posture *posture);

typedef enum posture_row {
    POSTURE_ROW_TAKEN,     /* a posture row, recorded */
    POSTURE_ROW_MALFORMED, /* a posture kind with a missing value, or out of memory */
    POSTURE_ROW_OTHER      /* not a posture row */
} posture_row;

/* Records one row (kind, a, b, c) of the posture query into posture. *write_rows counts the
 * "write" rows seen so far (start at 0): the query names at most three tables, and the count
 * of the rest follows the third. The role can write even when a reason's text cannot be
 * had (out of memory loses the text, never the verdict). */
posture_row posture_take_row(db_posture *posture, const char *kind, const char *a, const char *b, const char *c,
                             int *write_rows);

#endif
