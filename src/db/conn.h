/* One pooled connection's state machine: connecting without blocking, the pipeline of one
 * call (send, then read its results as they arrive), cancel requests, the call's deadline,
 * and going down when anything breaks. The pool (pool.c) decides what runs where and when
 * to reconnect; a connection reports back through the hooks in conn_shared.
 *
 *   DOWN --conn_connect--> CONNECTING --(poll OK)--> IDLE --conn_start_call--> BUSY
 *     ^                        |                      ^                          |  |
 *     +------ failure ---------+                      +------ Sync read ---------+  | deadline
 *     +---------------------- failure, conn_down (from any) ---------------------+  v
 *     +---------------- Sync read, or the socket closed ------------------------ DRAINING
 *
 * DRAINING keeps a slot whose call was given up on (its deadline passed) until its backend
 * has really ended the statement: a backend that ignores cancel and terminate (libxml2's
 * XPath never checks for interrupts; a stopped process) would otherwise keep running beside
 * the replacement connection, and pgsafe would hold more backends than its pool size.
 *
 * Every libpq call on a connection goes through a conn_ops table: conn_libpq_ops in the
 * server, a fake in the unit tests. */
#ifndef PGSAFE_DB_CONN_H
#define PGSAFE_DB_CONN_H

#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/call.h"
#include "db/cancel.h"
#include "db/log.h"
#include "db/result.h"

/* How long a call may run past the statement timeout before pgsafe stops waiting for the
 * server. statement_timeout fires inside the backend, and a cancel request is delivered to
 * that same backend, so a backend that no longer runs (stopped, swapped out, its host gone
 * without a reset) would otherwise hold the call, and the client, forever. */
#define CONN_DEADLINE_GRACE_MS 5000
/* The pool's own posture and catalog loads run under at least this statement timeout, however
 * short the one set for queries: a slow catalog must not leave the guard without one. */
#define CONN_LOAD_TIMEOUT_MS  30000
#define CONN_CANCEL_REPEAT_MS 100 /* a cancel is repeated this often while its call runs */
#define CONN_CANCEL_REPEATS   20
#define CONN_FIRST_USER_OID   16384 /* PostgreSQL's FirstNormalObjectId: below it, its own types */

/* The libpq calls a connection makes, with libpq's own signatures. */
typedef struct conn_ops {
    PGconn *(*connect_start)(const char *const *keywords, const char *const *values, int expand_dbname);
    PostgresPollingStatusType (*connect_poll)(PGconn *pg);
    ConnStatusType (*status)(const PGconn *pg);
    char *(*error_message)(const PGconn *pg);
    int (*socket)(const PGconn *pg);
    PQnoticeProcessor (*set_notice_processor)(PGconn *pg, PQnoticeProcessor processor, void *argument);
    int (*set_nonblocking)(PGconn *pg, int on);
    int (*enter_pipeline_mode)(PGconn *pg);
    int (*send_query_params)(PGconn *pg, const char *command, int count, const Oid *types, const char *const *values,
                             const int *lengths, const int *formats, int result_format);
    int (*pipeline_sync)(PGconn *pg);
    int (*send_prepare)(PGconn *pg, const char *name, const char *query, int count, const Oid *types);
    int (*send_describe_prepared)(PGconn *pg, const char *name);
    int (*send_flush_request)(PGconn *pg);
    int (*flush)(PGconn *pg);
    int (*consume_input)(PGconn *pg);
    int (*is_busy)(PGconn *pg);
    PGresult *(*get_result)(PGconn *pg);
    int (*set_single_row_mode)(PGconn *pg);
    PGTransactionStatusType (*transaction_status)(const PGconn *pg);
    PGnotify *(*notifies)(PGconn *pg);
    void (*free_memory)(void *pointer);
    void (*finish)(PGconn *pg);
    int (*backend_pid)(const PGconn *pg);
    int (*cancel_send)(cancel_job **job, PGconn *pg); /* cancel.h */
    void (*cancel_release)(cancel_job **job);
    char *(*redact)(const char *message, const char *conninfo, const PGconn *pg); /* redact.h */
} conn_ops;

/* The real thing. */
extern const conn_ops conn_libpq_ops;

typedef struct connection connection;

/* What every connection of one pool shares: how to connect and run a call, and how to
 * report back. The pool owns it; connections only read it. */
typedef struct conn_shared {
    const conn_ops *ops;
    const char *conninfo;           /* expanded from dbname (db_connect_params) */
    int connect_timeout_seconds;    /* an attempt still connecting after this fails */
    int statement_timeout_ms;       /* with CONN_DEADLINE_GRACE_MS, a call's deadline */
    const char *settings[4];        /* $1..$4 of the settings statement: three timeouts, search_path */
    db_type_name_fn type_name;      /* column type names; may be NULL */
    const void *type_name_context;  /* for type_name */
    db_log_fn log;                  /* may be NULL */
    void *log_context;              /* for log */
    void *owner;                    /* for the hooks below */
    void (*connected)(void *owner); /* a connection came up and is idle */
    int (*connect_failed)(void *owner, const char *why); /* an attempt failed: returns ms until the retry */
    void (*finished)(void *owner, db_call *call);        /* a call is over, its result set; the pool owns it */
    /* The cost guard: judges the EXPLAIN of a call with explain_sql (the PGresult, the
     * caller's). Returns true to run the statement; false after failing the call. */
    bool (*cost_check)(void *owner, db_call *call, const PGresult *explain);
} conn_shared;

typedef enum conn_state {
    CONN_DOWN,       /* no PGconn; retry_at_ms says when the pool may try again */
    CONN_CONNECTING, /* PQconnectPoll under way */
    CONN_IDLE,       /* up, in pipeline mode, no call */
    CONN_BUSY,       /* running call */
    CONN_DRAINING    /* no call: its deadline passed; the PGconn (and the slot) are kept until
                      * the backend answers the pipeline's Sync or its socket closes */
} conn_state;

/* Where a running call is in its pipeline; results arrive in this order. */
typedef enum conn_stage {
    STAGE_BEGIN,
    STAGE_SETTINGS,
    STAGE_EXPLAIN,  /* the cost guard's EXPLAIN (calls with explain_sql), before the rest is sent */
    STAGE_PREPARE,  /* a bounded call (bound_rows): the statement parsed... */
    STAGE_DESCRIBE, /* ...and described, so that its rows can be bounded (guard_bound_rows) */
    STAGE_STATEMENT,
    STAGE_ROLLBACK,
    STAGE_CHECK, /* conn_clean_check_sql, after the transaction */
    STAGE_SYNC,
    STAGE_CLEANUP, /* a ROLLBACK sent after an error left the transaction open */
    STAGE_CLEANUP_CHECK,
    STAGE_CLEANUP_SYNC
} conn_stage;

/* Run after every call's ROLLBACK: one row, one text column naming what the session still
 * holds that a ROLLBACK does not undo (session advisory locks, temporary objects, LISTEN,
 * prepared statements, cursors; settings a ROLLBACK undoes, see conn.c), "" when nothing. A connection not verified
 * clean is closed, never reused. */
extern const char conn_clean_check_sql[];

struct connection {
    const conn_shared *shared;
    PGconn *pg; /* NULL exactly when DOWN */
    conn_state state;
    PostgresPollingStatusType polling; /* while connecting: the direction to wait for */
    int64_t connect_started_ms;
    int64_t retry_at_ms; /* while down: when to try again (0: at once) */
    db_call *call;       /* exactly while busy */
    conn_stage stage;
    bool want_write;          /* output is still queued in libpq */
    bool awaiting_rest;       /* the first half ended with a Flush (the cost guard's EXPLAIN, a bounded call's
                               * Describe); the rest is sent at its end */
    bool plan_passed;         /* the cost guard's plan arrived and passed the cost_check hook */
    bool verified_clean;      /* the running call's clean check answered "" */
    bool cancel_sent;         /* a cancel was requested for the running call */
    int64_t cancel_sent_ms;   /* when the last cancel request went out */
    int cancels;              /* cancel requests sent for the running call */
    cancel_job *cancel;       /* the last request sent for this PGconn (cancel.h) */
    int backend_pid;          /* the server process of this PGconn, once connected (0 before) */
    int64_t drain_started_ms; /* while draining: when the call was given up on */
};

/* A down connection of a pool, due for its first attempt at once. */
void conn_init(connection *conn, const conn_shared *shared);

/* Starts a non-blocking attempt. The connection must be down. It is CONNECTING afterwards,
 * or DOWN again (connect_failed reported) when libpq refused at once. */
void conn_connect(connection *conn);

/* Sends the call's whole pipeline and makes the connection BUSY with it. The connection must
 * be idle; the call, in no queue, is the connection's until it reports it finished. */
void conn_start_call(connection *conn, db_call *call);

/* Handles socket readiness (revents from poll): advances a connect, flushes output, reads
 * results. May finish the call or take the connection down. */
void conn_service(connection *conn, short revents);

/* Runs the timers due at now: a connect that took too long fails, a call past its deadline
 * fails and the connection drains (DRAINING), a pending cancel is repeated. */
void conn_tick(connection *conn, int64_t now);

/* When conn_tick next has something to do, or -1. */
int64_t conn_due_ms(const connection *conn);

/* Sends (or repeats) a cancel request for the running call. */
void conn_cancel(connection *conn);

/* Closes the connection. A running call fails (DB_CANCELLED if it was cancelled, else
 * DB_CONNECTION_LOST with why, which may be NULL) and is reported finished. why may point
 * into the PGconn: it is read before the PGconn is freed. retry_at_ms is left as it was. */
void conn_down(connection *conn, const char *why);

/* The socket and events to poll for; false when there is nothing to wait on. */
bool conn_pollfd(const connection *conn, struct pollfd *fd);

/* The connection's socket, or -1. */
int conn_socket(const connection *conn);

/* IDLE or BUSY. */
bool conn_is_up(const connection *conn);

/* DRAINING: the slot is held by a backend that has not ended a statement given up on. */
bool conn_is_draining(const connection *conn);

#endif
