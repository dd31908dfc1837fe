/* pgsafe's database side: a small pool of libpq connections driven by the caller's poll()
 * loop. Every call is one read-only transaction that is rolled back, with its timeouts and
 * search_path set locally, sent as one pipeline (one network round trip):
 *
 *   BEGIN READ ONLY; SELECT set_config(...) x5; <sql> (extended protocol); ROLLBACK; Sync
 *
 * Results are read row by row (single-row mode) under a byte budget and a per-cell cap, so
 * a huge result is cut while it arrives, never buffered first. Nothing is kept in the
 * session outside the transaction, so the pool works behind PgBouncer in transaction mode.
 *
 *   db_pool *pool = db_pool_new(&options, log, log_context);
 *   loop: n = db_pool_pollfds(pool, fds, max); poll(fds, n, db_pool_timeout(pool));
 *         db_pool_process(pool, fds, n);
 *   db_call *call = db_submit(pool, &request, done, user);   // done(user, result) later
 *   db_cancel(pool, call);                                   // done gets DB_CANCELLED
 *
 * The pool connects in the background and reconnects with backoff; calls made while no
 * connection can be had fail with DB_UNAVAILABLE and the reason. At its first connection
 * it loads the catalog (volatility of user functions, operators and types, for the guard)
 * and the role's posture. */
#ifndef PGSAFE_DB_H
#define PGSAFE_DB_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgsafe/guard.h"

typedef struct db_options {
    const char *conninfo;        /* a DSN or URL; "" means libpq's PG* environment */
    int pool_size;               /* connections, at least 1 */
    int statement_timeout_ms;    /* SET LOCAL statement_timeout */
    int lock_timeout_ms;         /* SET LOCAL lock_timeout */
    int idle_in_transaction_ms;  /* SET LOCAL idle_in_transaction_session_timeout */
    const char *search_path;     /* pinned per transaction; pg_catalog is put first */
    size_t max_result_bytes;     /* byte budget of one result's cells */
    size_t max_cell_bytes;       /* cap on one cell's kept bytes */
    int connect_timeout_seconds; /* for libpq's connect_timeout when the DSN has none */
} db_options;

/* Defaults: pool 2, statement 30 s, lock 1 s, idle 60 s, search_path "public",
 * 256 KiB per result, 8 KiB per cell, connect timeout 5 s; conninfo "". */
void db_options_init(db_options *options);

typedef enum db_status {
    DB_OK = 0,          /* the statement ran; rows may have been cut (see truncated) */
    DB_SQL_ERROR,       /* PostgreSQL reported an error for the statement */
    DB_UNAVAILABLE,     /* no connection to the database could be had */
    DB_CONNECTION_LOST, /* the connection broke while the call ran */
    DB_CANCELLED,       /* db_cancel was called */
    DB_SHUTDOWN         /* the pool was freed before the call ran */
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
    size_t bytes;      /* kept cell bytes */
    double elapsed_ms; /* from sending to the last result */
} db_result;

/* Frees a result and everything in it; NULL is fine. */
void db_result_free(db_result *result);

/* The cell at row, column. */
const db_cell *db_result_cell(const db_result *result, size_t row, int column);

typedef struct db_request {
    const char *sql;           /* one statement; the caller keeps it until done runs */
    int param_count;           /* text parameters $1..$n */
    const char *const *params; /* NULL entries are SQL NULL */
    long long row_limit;       /* keep at most this many rows; < 0 for no limit */
    size_t max_result_bytes;   /* 0: the pool's option */
    size_t max_cell_bytes;     /* 0: the pool's option */
    bool skip_wait;            /* fail at once with DB_UNAVAILABLE instead of waiting for the first connection */
} db_request;

typedef struct db_pool db_pool;
typedef struct db_call db_call;

/* Receives the result of a call; takes ownership of it (free with db_result_free). */
typedef void (*db_done_fn)(void *user, db_result *result);

/* Receives one line for the log (no newline), with a level: 0 error, 1 warning, 2 info,
 * 3 debug. Never receives a password. */
typedef void (*db_log_fn)(void *context, int level, const char *message);

/* Creates the pool and starts connecting. The options' strings are copied. Returns NULL
 * with *error set (caller frees) when the options are invalid. */
db_pool *db_pool_new(const db_options *options, db_log_fn log, void *log_context, char **error);

/* Fails every call still queued or running with DB_SHUTDOWN (their done callbacks run),
 * cancels running statements, closes every connection and frees the pool. */
void db_pool_free(db_pool *pool);

/* Fills up to max entries of fds with the sockets the pool waits on; returns how many. */
int db_pool_pollfds(db_pool *pool, struct pollfd *fds, int max);

/* Milliseconds until the pool needs db_pool_process even without socket activity
 * (a reconnect due), or -1. */
int db_pool_timeout(const db_pool *pool);

/* Handles whatever is ready on the fds that db_pool_pollfds filled (revents set by poll),
 * runs due timers, and dispatches queued calls. done callbacks run from here. */
void db_pool_process(db_pool *pool, const struct pollfd *fds, int count);

/* Queues a call. done runs exactly once, from db_pool_process or db_pool_free, never from
 * inside db_submit. The returned handle is valid until done runs. */
db_call *db_submit(db_pool *pool, const db_request *request, db_done_fn done, void *user);

/* Cancels a call: a queued one is dropped, a running one gets a cancel request. Its done
 * callback still runs once, with DB_CANCELLED. */
void db_cancel(db_pool *pool, db_call *call);

typedef enum db_pool_state {
    DB_POOL_CONNECTING, /* no connection yet, an attempt is under way */
    DB_POOL_READY,      /* at least one connection is up and the catalog is loaded */
    DB_POOL_DOWN        /* the last attempt failed; the next one is scheduled */
} db_pool_state;

db_pool_state db_pool_state_now(const db_pool *pool);

/* Why the last connection attempt failed (libpq's message, one line), or NULL. */
const char *db_pool_last_error(const db_pool *pool);

/* Runs queued calls and waits for nothing: true when no call is queued or running. */
bool db_pool_idle(const db_pool *pool);

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

const db_posture *db_pool_posture(const db_pool *pool);

/* The live catalog for the guard: user functions, operators and types outside pg_catalog
 * with their worst volatility. Valid for the pool's life; empty until loaded. */
const guard_catalog *db_pool_catalog(const db_pool *pool);

/* Asks for the catalog to be loaded again at the next opportunity (when it is older than
 * min_age_ms). The calls submitted afterwards wait for the reload. Returns true if a
 * reload was scheduled. */
bool db_pool_refresh_catalog(db_pool *pool, int64_t min_age_ms);

/* Monotonic milliseconds. */
int64_t db_now_ms(void);

/* The parameters every pgsafe connection is made with, for PQconnect*Params with
 * expand_dbname 1: application_name pgsafe and the connect timeout first, so that the DSN's
 * own settings (expanded from dbname) override them; client_encoding UTF8 last, because
 * results travel as JSON. connect_timeout is the timeout's text; both arrays end in NULL
 * and point into the arguments. */
#define DB_CONNECT_PARAMS 5
void db_connect_params(const char *conninfo, const char *connect_timeout, const char *keywords[DB_CONNECT_PARAMS],
                       const char *values[DB_CONNECT_PARAMS]);

#endif
