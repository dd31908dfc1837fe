/* pgsafe's connection pool: a few libpq connections driven by the caller's poll() loop.
 * Every call is one read-only transaction that is rolled back, with its timeouts and
 * search_path set locally, sent as one pipeline (one network round trip):
 *
 *   BEGIN READ ONLY; SELECT set_config(...) x5; <sql> (extended protocol); ROLLBACK; Sync
 *
 * Results are read row by row (single-row mode) under a byte budget and a per-cell cap, so
 * a huge result is cut while it arrives, never buffered first. Nothing is kept in the
 * session outside the transaction, so the pool works behind PgBouncer in transaction mode.
 *
 *   db_pool *pool = db_pool_new(&options, log, log_context, &error);
 *   loop: n = db_pool_pollfds(pool, fds, max); poll(fds, n, db_pool_timeout(pool));
 *         db_pool_process(pool, fds, n);
 *   db_call *call = db_pool_submit(pool, &request, done, user);   // done(user, result) later
 *   db_pool_cancel(pool, call);                                   // done gets DB_CANCELLED
 *
 * The pool connects in the background and reconnects with backoff; calls made while no
 * connection can be had fail with DB_UNAVAILABLE and the reason. At its first connection
 * it loads the catalog (volatility of user functions, operators and types, for the guard)
 * and the role's posture. */
#ifndef PGSAFE_DB_POOL_H
#define PGSAFE_DB_POOL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/log.h"
#include "db/posture.h"
#include "db/result.h"
#include "pgsafe/guard.h"

typedef struct db_options {
    const char *conninfo;        /* a DSN or URL; "" means libpq's PG* environment */
    int pool_size;               /* connections, 1 to 64 */
    int statement_timeout_ms;    /* SET LOCAL statement_timeout */
    int lock_timeout_ms;         /* SET LOCAL lock_timeout */
    int idle_in_transaction_ms;  /* SET LOCAL idle_in_transaction_session_timeout */
    const char *search_path;     /* pinned per transaction; pg_catalog is put first */
    size_t max_result_bytes;     /* byte budget of one result's cells */
    size_t max_cell_bytes;       /* cap on one cell's kept bytes */
    int connect_timeout_seconds; /* for libpq's connect_timeout when the DSN has none */
    double max_cost;             /* cost guard: the plan's estimated total cost; 0 is off (cost.h) */
    double max_plan_rows;        /* cost guard: a fully run node's estimated rows; 0 is off */
    bool load_relations;         /* the catalog also loads relations and columns (a table or
                                    column policy needs them) */
} db_options;

/* Defaults: pool 2, statement 15 s, lock 1 s, idle 60 s, search_path "public",
 * 256 KiB per result, 8 KiB per cell, connect timeout 5 s, cost guard 1e7 and 1e9 rows
 * (docs/configuration.md says why); conninfo "". */
void db_pool_options_init(db_options *options);

/* The search_path every transaction pins for db_options.search_path schemas (NULL or "":
 * public): "pg_catalog, <schemas>", pg_catalog first so that a user object can never shadow
 * a built-in the guard approved. Caller frees; NULL when out of memory. */
char *db_pool_pinned_search_path(const char *schemas);

typedef struct db_request {
    const char *sql;           /* one statement; NULL: a barrier that completes once the pool is ready */
    int param_count;           /* text parameters $1..$n */
    const char *const *params; /* NULL entries are SQL NULL */
    long long row_limit;       /* keep at most this many rows; < 0 for no limit */
    size_t max_result_bytes;   /* 0: the pool's option */
    size_t max_cell_bytes;     /* 0: the pool's option */
    bool skip_wait;            /* fail at once with DB_UNAVAILABLE instead of waiting for the first connection */
    bool bound_rows;           /* a model's SELECT: each value and row bounded on the server (conn.c) */
    bool check_cost;           /* ask the planner first and refuse (DB_REFUSED) past the pool's limits */
    const char *cost_sql;      /* what the cost guard explains (same parameters); NULL: sql itself */
} db_request;

typedef struct db_pool db_pool;
typedef struct db_call db_call;

/* Receives the result of a call; takes ownership of it (free with db_result_free). */
typedef void (*db_done_fn)(void *user, db_result *result);

/* Creates the pool and starts connecting. The options' strings are copied; log (may be
 * NULL) receives the pool's log lines. Returns NULL with *error set (caller frees; NULL
 * itself when even that copy failed) when the options are invalid or memory ran out. */
db_pool *db_pool_new(const db_options *options, db_log_fn log, void *log_context, char **error);

/* db_pool_new with every libpq call on a connection made through ops (conn.h): tests drive
 * the pool's state machine with a fake connection. */
struct conn_ops;
db_pool *db_pool_new_with_ops(const db_options *options, const struct conn_ops *ops, db_log_fn log, void *log_context,
                              char **error);

/* Fails every call still queued or running with DB_SHUTDOWN (their done callbacks run),
 * cancels running statements, closes every connection and frees the pool. NULL is fine. */
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
 * inside db_pool_submit. The returned handle is valid until done runs. NULL when out of memory
 * (done never runs). */
db_call *db_pool_submit(db_pool *pool, const db_request *request, db_done_fn done, void *user);

/* Cancels a call: a queued one is dropped, a running one gets a cancel request. Its done
 * callback still runs once, with DB_CANCELLED. */
void db_pool_cancel(db_pool *pool, db_call *call);

typedef enum db_pool_state {
    DB_POOL_CONNECTING, /* no connection yet, an attempt is under way */
    DB_POOL_READY,      /* at least one connection is up and the catalog is loaded */
    DB_POOL_DOWN        /* the last attempt failed; the next one is scheduled */
} db_pool_state;

db_pool_state db_pool_state_now(const db_pool *pool);

/* Why the last connection attempt failed (libpq's message, one line), or NULL. */
const char *db_pool_last_error(const db_pool *pool);

/* The pool's use for monitoring: connections configured, up (idle or busy), running a call,
 * and calls waiting for a connection. */
typedef struct db_pool_usage {
    int size, open, busy, queued;
} db_pool_usage;
db_pool_usage db_pool_usage_now(const db_pool *pool);

/* True when no call is queued or running. */
bool db_pool_idle(const db_pool *pool);

/* The role's posture; known is false until the first connection's check. */
const db_posture *db_pool_posture(const db_pool *pool);

/* The live catalog for the guard: user functions, operators and types outside pg_catalog
 * with their worst volatility. Valid for the pool's life; empty until loaded. */
const guard_catalog *db_pool_catalog(const db_pool *pool);

/* Asks for the catalog to be loaded again at the next opportunity (when it is older than
 * min_age_ms). The calls submitted afterwards wait for the reload. Returns true if a
 * reload was scheduled. */
bool db_pool_refresh_catalog(db_pool *pool, int64_t min_age_ms);

#endif
