/* The role's posture: who pgsafe is connected as and whether that role could write, read
 * from the rows of the posture query (catalog_posture_sql) that the pool runs at its first
 * connection and `pgsafe doctor` runs on its own. */
#ifndef PGSAFE_DB_POSTURE_H
#define PGSAFE_DB_POSTURE_H

#include <stdbool.h>
#include <stddef.h>

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
    /* Hazards of the catalog (db/catalog.h): objects through which a query can reach a
     * volatile function without naming it; the guard refuses queries that touch them. */
    size_t hazard_count;
    bool hazard_global; /* one reaches built-in types: every query is refused */
    char *hazards;      /* the first few, "type public.pair (its = operator calls ...); ..."; NULL if none */
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

/* The hazards as one warning for stderr and the model ("2 objects of the database can run a
 * volatile function ... : type public.pair (...)"), or NULL when there is none (or memory
 * ran out). Caller frees. */
char *posture_hazard_warning(const db_posture *posture);

#endif
