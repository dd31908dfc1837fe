/* The result of one statement as pgsafe hands it on: its status, PostgreSQL's error
 * fields, the columns, and the rows as text cells kept under a byte budget and a per-cell
 * cap. Also the one conversion from libpq's PGresult into it, used by the pool (row by row
 * as they arrive) and by the one-shot commands (a whole result at once).
 *
 *   db_result *result = db_result_new();
 *   db_result_take_columns(result, pg, names, context);  // once, from the first result
 *   db_result_take_row(result, pg, row, &limits);        // per row: KEPT, DROPPED, BUDGET
 *   db_result_free(result);
 *
 * Every string and array in a db_result is its own allocation, freed by db_result_free. */
#ifndef PGSAFE_DB_RESULT_H
#define PGSAFE_DB_RESULT_H

#include <stdbool.h>
#include <stddef.h>

struct pg_result; /* libpq's PGresult; only result.c reads it */

typedef enum db_status {
    DB_OK = 0,          /* the statement ran; rows may have been cut (see truncated) */
    DB_SQL_ERROR,       /* PostgreSQL reported an error for the statement */
    DB_UNAVAILABLE,     /* no connection to the database could be had */
    DB_CONNECTION_LOST, /* the connection broke while the call ran */
    DB_CANCELLED,       /* db_pool_cancel was called */
    DB_SHUTDOWN,        /* the pool was freed before the call ran */
    DB_BUSY,            /* every pool slot waits for a backend that ignored a cancel (conn.h) */
    DB_REFUSED          /* the planner's estimate passed the cost guard's limits (cost.h): it never ran */
} db_status;

typedef enum db_truncation {
    DB_COMPLETE = 0, /* every row arrived */
    DB_ROW_LIMIT,    /* more rows than request.row_limit arrived */
    DB_BYTE_BUDGET   /* the byte budget ran out; the statement was cancelled */
} db_truncation;

typedef struct db_column {
    char *name;        /* as PostgreSQL labels it */
    unsigned type_oid; /* pg_type oid */
    char *type_name;   /* format_type() of the oid, "oid 12345" if unknown */
} db_column;

typedef struct db_cell {
    char *value;        /* text form, NUL-terminated; NULL for SQL NULL */
    size_t length;      /* kept bytes (a cut value ends on a UTF-8 boundary) */
    size_t full_length; /* bytes PostgreSQL sent */
} db_cell;

typedef struct db_result {
    db_status status;
    char *sqlstate;     /* five characters when PostgreSQL reported an error */
    char *message;      /* one line: PostgreSQL's or ours; NULL when DB_OK */
    char *detail;       /* may be NULL */
    char *hint;         /* may be NULL */
    int error_position; /* PostgreSQL's 1-based cursor position, or 0 */
    int column_count;
    db_column *columns;
    size_t row_count;
    db_cell *cells; /* row_count * column_count, row-major */
    db_truncation truncated;
    size_t cells_cut;  /* cells shortened to max_cell_bytes */
    size_t bytes;      /* bytes the kept rows add to a response (db_cell_sent_bytes) */
    double elapsed_ms; /* from sending to the last result */
} db_result;

/* An empty DB_OK result (caller frees), or NULL when out of memory. */
db_result *db_result_new(void);

/* Frees a result and everything in it; NULL is fine. */
void db_result_free(db_result *result);

/* The cell at row, column. */
const db_cell *db_result_cell(const db_result *result, size_t row, int column);

/* Sets status and a message of our own (one line). Returns false when the message could
 * not be copied (the status is set all the same; message stays NULL). */
bool db_result_set_failure(db_result *result, db_status status, const char *message);

/* Sets DB_SQL_ERROR with PostgreSQL's fields of an error result: SQLSTATE, message, detail,
 * hint, position. Returns false when out of memory (the status is set all the same). */
bool db_result_set_error(db_result *result, const struct pg_result *pg);

/* How much of a result is kept. */
typedef struct db_result_limits {
    long long row_limit;     /* keep at most this many rows; < 0 for no limit */
    size_t max_result_bytes; /* budget of the bytes the rows add to a response, escapes and NULLs included */
    size_t max_cell_bytes;   /* a cell's kept bytes; longer values are cut */
    bool flagged_rows;       /* each row ends with one more column, true when the row passed the budget on the server */
} db_result_limits;

/* The marker a cut value ends with (…), in both renderings. */
#define DB_CUT_MARK "\xE2\x80\xA6"

/* What one row adds to a response besides its cells: "[", "]" and a comma in the rows'
 * JSON, and the line's end ("\n", two bytes once the text is a JSON string). */
#define DB_ROW_SENT_BYTES 5

/* An upper bound (exact but for json values, which json-c never lengthens) of the bytes a
 * cell adds to a response: its JSON value in the rows of structuredContent and its text in
 * the rendering, each as the response's JSON escapes it, with the separators after it.
 * NULLs, empty strings, escapes and the cut mark all count, so a budget of these bytes
 * bounds what is sent. */
size_t db_cell_sent_bytes(const db_column *column, const db_cell *cell);

/* Gives a type's display name (format_type), or NULL when unknown. */
typedef const char *(*db_type_name_fn)(const void *context, unsigned type_oid);

/* Takes the column names and types of pg, once: does nothing when the result has columns
 * already. type_name may be NULL ("oid N" for every type). Returns false when out of
 * memory. */
bool db_result_take_columns(db_result *result, const struct pg_result *pg, db_type_name_fn type_name,
                            const void *context);

typedef enum db_take {
    DB_TAKE_KEPT,      /* the row was added */
    DB_TAKE_DROPPED,   /* the result was cut already (row limit or budget): the row is not kept */
    DB_TAKE_BUDGET,    /* this row ran the byte budget out: the result is cut from here on */
    DB_TAKE_NO_MEMORY, /* out of memory: the result holds the rows before, and part of this one */
} db_take;

/* Adds row of pg (its columns taken already) under limits: cells cut at max_cell_bytes on
 * a UTF-8 boundary, the result cut (truncated set) at the row limit or when the row would
 * pass the byte budget. */
db_take db_result_take_row(db_result *result, const struct pg_result *pg, int row, const db_result_limits *limits);

/* The whole of a finished PGresult as a new db_result (caller frees): DB_OK with every
 * column and row for PGRES_TUPLES_OK or PGRES_COMMAND_OK, DB_SQL_ERROR with the error
 * fields otherwise. NULL when out of memory. pg stays the caller's. */
db_result *db_result_from_pg(const struct pg_result *pg, const db_result_limits *limits);

#endif
