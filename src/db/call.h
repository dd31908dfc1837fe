/* One call to the database as the pool and its connections share it: the statement and
 * its parameters, the result being built, and the FIFO queues calls wait in. Internal to
 * src/db: callers see only the opaque db_call of pool.h.
 *
 * Ownership: the pool owns a call from db_pool_submit until its done callback runs; the result
 * goes to the done callback, the call is freed just before. A call is in at most one place
 * at a time: the pool's queue, one connection (running), or the finished queue. */
#ifndef PGSAFE_DB_CALL_H
#define PGSAFE_DB_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "db/result.h"

struct pg_result;
struct connection;

/* The same declarations as pool.h's (C11 allows a typedef twice): the pool uses calls, so
 * calls do not include the pool's header. */
typedef struct db_call db_call;
typedef void (*db_done_fn)(void *user, db_result *result);

/* What the cost guard's EXPLAIN puts before the statement (cost.h). */
#define CALL_EXPLAIN_PREFIX "EXPLAIN (FORMAT JSON) "

typedef enum call_kind {
    CALL_STATEMENT, /* a caller's statement */
    CALL_BARRIER,   /* completes once the pool is ready; runs nothing */
    CALL_POSTURE,   /* the pool's own posture check, first at the first connection */
    CALL_CATALOG    /* the pool's own catalog load */
} call_kind;

struct db_call {
    db_call *next; /* queue link; NULL when in no queue */
    call_kind kind;
    char *sql;         /* NULL for a barrier */
    char *explain_sql; /* the cost guard's EXPLAIN, sent before sql; NULL: no cost guard */
    int param_count;
    char **params; /* NULL entries are SQL NULL */
    db_result_limits limits;
    bool skip_wait;
    db_done_fn done;
    void *user;
    bool cancelled;
    bool failed;                /* result->status already says what went wrong */
    bool bound_rows;            /* bound each row on the server (conn.c, guard_bound_rows) */
    char *bounded_sql;          /* the statement that bounds sql's rows, once its columns are known; or NULL */
    struct connection *running; /* the connection running it, or NULL */
    db_result *result;          /* owned by the call until handed to done */
    int64_t started_ms;         /* when it was sent; 0 if never */
};

/* A new call of a kind with an empty DB_OK result and no row limit (caller frees with
 * call_free), or NULL when out of memory. */
db_call *call_new(call_kind kind);

/* Frees the call, its copies of the SQL and parameters, and its result if it still holds
 * it. The call must be in no queue. */
void call_free(db_call *call);

/* Fails the call with a status and our own message, unless it failed already (the first
 * failure is the one reported). */
void call_fail(db_call *call, db_status status, const char *message);

/* Fails the call with PostgreSQL's error result. A query_canceled (57014) that pgsafe caused
 * is no error: after the byte budget ran out the rows so far stand, and after db_pool_cancel the
 * call is DB_CANCELLED. */
void call_fail_from_pg(db_call *call, const struct pg_result *pg);

/* A FIFO of calls linked through next. */
typedef struct call_queue {
    db_call *head; /* NULL when empty */
    db_call *tail; /* NULL when empty */
} call_queue;

/* Appends a call that is in no queue. */
void call_queue_push(call_queue *queue, db_call *call);

/* Removes and returns the first call, or NULL. */
db_call *call_queue_pop(call_queue *queue);

/* Removes call if the queue holds it; returns whether it did. */
bool call_queue_remove(call_queue *queue, db_call *call);

#endif
