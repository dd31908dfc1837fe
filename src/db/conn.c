/* One pooled connection's state machine (see conn.h): a non-blocking connect, one pipelined
 * read-only transaction per call, its results read as they arrive, cancel requests, the
 * call's deadline. */
#include "db/conn.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "db/clock.h"
#include "db/params.h"
#include "util/strings.h"

/* The settings every transaction pins, as one statement so the pipeline stays short.
 * standard_conforming_strings is pinned because the guard parsed with it on. */
#define SETTINGS_SQL                                                                                                   \
    "SELECT pg_catalog.set_config('statement_timeout', $1, true),"                                                     \
    " pg_catalog.set_config('lock_timeout', $2, true),"                                                                \
    " pg_catalog.set_config('idle_in_transaction_session_timeout', $3, true),"                                         \
    " pg_catalog.set_config('search_path', $4, true),"                                                                 \
    " pg_catalog.set_config('standard_conforming_strings', 'on', true)"
static const char settings_sql[] = SETTINGS_SQL;
/* The pool's own posture and catalog loads: their recursive queries are estimated dear on a
 * database of a few hundred tables, and JIT compiling them took seconds where running them
 * takes tens of milliseconds. */
static const char load_settings_sql[] = SETTINGS_SQL ", pg_catalog.set_config('jit', 'off', true)";

const conn_ops conn_libpq_ops = {
    .connect_start = PQconnectStartParams,
    .connect_poll = PQconnectPoll,
    .status = PQstatus,
    .error_message = PQerrorMessage,
    .socket = PQsocket,
    .set_notice_processor = PQsetNoticeProcessor,
    .set_nonblocking = PQsetnonblocking,
    .enter_pipeline_mode = PQenterPipelineMode,
    .send_query_params = PQsendQueryParams,
    .pipeline_sync = PQpipelineSync,
    .flush = PQflush,
    .consume_input = PQconsumeInput,
    .is_busy = PQisBusy,
    .get_result = PQgetResult,
    .set_single_row_mode = PQsetSingleRowMode,
    .transaction_status = PQtransactionStatus,
    .notifies = PQnotifies,
    .free_memory = PQfreemem,
    .finish = PQfinish,
    .cancel_send = cancel_send,
    .cancel_release = cancel_release,
};

#define LOG(conn, level, ...) db_log_printf((conn)->shared->log, (conn)->shared->log_context, level, __VA_ARGS__)

/* The transitions the state machine makes; anything else is a bug. */
static bool transition_allowed(conn_state from, conn_state to) {
    switch (to) {
    case CONN_DOWN: return true;
    case CONN_CONNECTING: return from == CONN_DOWN;
    case CONN_IDLE: return from == CONN_CONNECTING || from == CONN_BUSY;
    case CONN_BUSY: return from == CONN_IDLE;
    }
    return false;
}

/* Moves to a new state, asserting the transition and the invariants of the state entered:
 * a PGconn exactly when not DOWN, a call exactly when BUSY. */
static void set_state(connection *conn, conn_state to) {
    assert(transition_allowed(conn->state, to));
    conn->state = to;
    assert((conn->pg == NULL) == (to == CONN_DOWN));
    assert((conn->call != NULL) == (to == CONN_BUSY));
}

void conn_init(connection *conn, const conn_shared *shared) {
    *conn = (connection){.shared = shared, .state = CONN_DOWN};
}

bool conn_is_up(const connection *conn) {
    return conn->state == CONN_IDLE || conn->state == CONN_BUSY;
}

int conn_socket(const connection *conn) {
    return conn->pg ? conn->shared->ops->socket(conn->pg) : -1;
}

/* Hands the running call back to the pool as finished; the connection lets go of it. */
static void hand_back(connection *conn) {
    db_call *call = conn->call;
    assert(call != NULL && call->running == conn);
    conn->call = NULL;
    call->running = NULL;
    conn->shared->finished(conn->shared->owner, call);
}

void conn_down(connection *conn, const char *why) {
    if (conn->call) {
        db_call *call = conn->call;
        if (call->cancelled)
            call_fail(call, DB_CANCELLED, "the call was cancelled");
        else {
            char *message = str_printf("the connection to the database was lost while the statement ran: %s; "
                                       "pgsafe reconnects, so the call can be retried",
                                       why ? why : "unknown cause");
            call_fail(call, DB_CONNECTION_LOST, message ? message : "the connection to the database was lost");
            free(message);
        }
        hand_back(conn);
    }
    if (conn->pg) {
        conn->shared->ops->cancel_release(&conn->cancel);
        conn->shared->ops->finish(conn->pg); /* why may point into it: used above, not after */
        conn->pg = NULL;
    }
    set_state(conn, CONN_DOWN);
    conn->cancel_sent = false;
    conn->want_write = false;
}

/* An attempt failed: the pool records why and says when to retry; the connection closes. */
static void connect_failed(connection *conn, const char *why) {
    int retry_in_ms = conn->shared->connect_failed(conn->shared->owner, why);
    conn_down(conn, why);
    conn->retry_at_ms = db_now_ms() + retry_in_ms;
}

void conn_connect(connection *conn) {
    assert(conn->state == CONN_DOWN && conn->pg == NULL);
    const conn_shared *shared = conn->shared;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", shared->connect_timeout_seconds);
    const char *keywords[DB_CONNECT_PARAMS], *values[DB_CONNECT_PARAMS];
    db_connect_params(shared->conninfo, timeout, keywords, values);
    conn->pg = shared->ops->connect_start(keywords, values, 1);
    conn->connect_started_ms = db_now_ms();
    if (conn->pg == NULL) {
        connect_failed(conn, "out of memory");
        return;
    }
    if (shared->ops->status(conn->pg) == CONNECTION_BAD) {
        connect_failed(conn, shared->ops->error_message(conn->pg));
        return;
    }
    conn->polling = PGRES_POLLING_WRITING;
    set_state(conn, CONN_CONNECTING);
}

/* Server notices (a shutdown warning, say) go to our log, not straight to stderr. */
static void on_notice(void *context, const char *message) {
    connection *conn = context;
    char *line = str_one_line(message);
    LOG(conn, 3, "server notice: %s", line ? line : "?");
    free(line);
}

/* The attempt succeeded: non-blocking pipeline mode, then IDLE and the pool is told. */
static void connected(connection *conn) {
    const conn_ops *ops = conn->shared->ops;
    ops->set_notice_processor(conn->pg, on_notice, conn);
    if (ops->set_nonblocking(conn->pg, 1) != 0 || ops->enter_pipeline_mode(conn->pg) != 1) {
        connect_failed(conn, ops->error_message(conn->pg));
        return;
    }
    set_state(conn, CONN_IDLE);
    conn->shared->connected(conn->shared->owner);
}

/* One step of PQconnectPoll, when the socket is ready in the direction it asked for. */
static void advance_connect(connection *conn) {
    conn->polling = conn->shared->ops->connect_poll(conn->pg);
    if (conn->polling == PGRES_POLLING_OK)
        connected(conn);
    else if (conn->polling == PGRES_POLLING_FAILED)
        connect_failed(conn, conn->shared->ops->error_message(conn->pg));
}

/* Queues the whole pipeline in libpq: BEGIN READ ONLY, the settings, the statement,
 * ROLLBACK, Sync. Returns false when libpq refused (the PGconn's error says why). */
static bool send_all(connection *conn, const db_call *call) {
    const conn_ops *ops = conn->shared->ops;
    PGconn *pg = conn->pg;
    if (!ops->send_query_params(pg, "BEGIN READ ONLY", 0, NULL, NULL, NULL, NULL, 0))
        return false;
    const char *settings = call->kind == CALL_CATALOG || call->kind == CALL_POSTURE ? load_settings_sql : settings_sql;
    if (!ops->send_query_params(pg, settings, 4, NULL, conn->shared->settings, NULL, NULL, 0))
        return false;
    if (!ops->send_query_params(pg, call->sql, call->param_count, NULL, (const char *const *)call->params, NULL, NULL,
                                0))
        return false;
    if (!ops->send_query_params(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0))
        return false;
    return ops->pipeline_sync(pg) == 1;
}

/* Writes what libpq holds; the connection goes down when the socket fails. */
static void flush(connection *conn) {
    int status = conn->shared->ops->flush(conn->pg);
    if (status < 0)
        conn_down(conn, conn->shared->ops->error_message(conn->pg));
    else
        conn->want_write = status == 1;
}

void conn_start_call(connection *conn, db_call *call) {
    assert(conn->state == CONN_IDLE && call->next == NULL && call->running == NULL && call->sql != NULL);
    conn->call = call;
    conn->stage = STAGE_BEGIN;
    conn->cancel_sent = false;
    conn->cancels = 0;
    call->running = conn;
    call->started_ms = db_now_ms();
    set_state(conn, CONN_BUSY);
    if (!send_all(conn, call)) {
        conn_down(conn, conn->shared->ops->error_message(conn->pg));
        return;
    }
    flush(conn);
}

void conn_cancel(connection *conn) {
    assert(conn->state == CONN_BUSY);
    int error = conn->shared->ops->cancel_send(&conn->cancel, conn->pg);
    if (error != 0)
        LOG(conn, 1, "could not send a cancel request: %s", strerror(error));
    conn->cancel_sent = true;
    conn->cancel_sent_ms = db_now_ms();
    conn->cancels++;
}

/* The end of one statement's results (a NULL from PQgetResult): the next stage. Entering the
 * statement's stage switches to single-row mode now, before libpq parses any of its rows
 * (PQisBusy does), or they would pile up in one result until the last arrived. */
static void end_of_statement(connection *conn) {
    if (conn->stage == STAGE_BEGIN || conn->stage == STAGE_SETTINGS || conn->stage == STAGE_STATEMENT ||
        conn->stage == STAGE_ROLLBACK || conn->stage == STAGE_CLEANUP)
        conn->stage++;
    if (conn->stage == STAGE_STATEMENT && !conn->call->failed && !conn->shared->ops->set_single_row_mode(conn->pg))
        LOG(conn, 3, "single-row mode was refused; the rows arrive in one result");
}

/* Takes the statement's rows from pg (one in single-row mode, all of them otherwise) into
 * the call's result. The byte budget running out cancels the statement: the server stops
 * producing rows nobody will keep. */
static void take_rows(connection *conn, const PGresult *pg) {
    db_call *call = conn->call;
    if (call->failed)
        return;
    if (!db_result_take_columns(call->result, pg, conn->shared->type_name, conn->shared->type_name_context)) {
        call_fail(call, DB_SQL_ERROR, "out of memory while reading the result");
        return;
    }
    for (int row = 0; row < PQntuples(pg); row++) {
        db_take take = db_result_take_row(call->result, pg, row, &call->limits);
        if (take == DB_TAKE_NO_MEMORY) {
            call_fail(call, DB_SQL_ERROR, "out of memory while reading the result");
            return;
        }
        if (take == DB_TAKE_BUDGET && !conn->cancel_sent)
            conn_cancel(conn);
    }
}

/* The Sync result: the call is over, unless an error stopped the pipeline before our
 * ROLLBACK, which is then sent on its own. A connection that was sent a cancel request
 * starts afresh: the request may still be in flight and would hit the next call. Returns
 * false when the connection is no longer busy with a call to read. */
static bool end_of_pipeline(connection *conn) {
    const conn_ops *ops = conn->shared->ops;
    if (conn->stage == STAGE_SYNC && ops->transaction_status(conn->pg) != PQTRANS_IDLE) {
        conn->stage = STAGE_CLEANUP;
        if (!ops->send_query_params(conn->pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) ||
            ops->pipeline_sync(conn->pg) != 1) {
            conn_down(conn, ops->error_message(conn->pg));
            return false;
        }
        flush(conn);
        return conn->state == CONN_BUSY;
    }
    hand_back(conn);
    set_state(conn, CONN_IDLE);
    if (conn->cancel_sent) {
        conn_down(conn, NULL);
        conn->retry_at_ms = 0;
    }
    return false;
}

/* Handles one result of the pipeline. Returns false when reading must stop (the call is
 * over or the connection went down). pg stays the caller's. */
static bool handle_result(connection *conn, const PGresult *pg) {
    switch (PQresultStatus(pg)) {
    case PGRES_SINGLE_TUPLE: take_rows(conn, pg); return true;
    case PGRES_TUPLES_OK:
        /* Without single-row mode every row arrives here at once; the other stages' rows
         * (the settings) are not the caller's. */
        if (conn->stage == STAGE_STATEMENT)
            take_rows(conn, pg);
        return true;
    case PGRES_COMMAND_OK:
    case PGRES_PIPELINE_ABORTED: return true;
    case PGRES_PIPELINE_SYNC: return end_of_pipeline(conn);
    default: /* PGRES_FATAL_ERROR and anything unexpected */
        if (conn->stage == STAGE_CLEANUP) {
            conn_down(conn, "the transaction could not be rolled back");
            return false;
        }
        call_fail_from_pg(conn->call, pg);
        return true;
    }
}

/* Consumes every result libpq has complete, advancing the call through its stages. */
static void read_results(connection *conn) {
    const conn_ops *ops = conn->shared->ops;
    while (conn->state == CONN_BUSY && !ops->is_busy(conn->pg)) {
        PGresult *pg = ops->get_result(conn->pg);
        if (pg == NULL) {
            end_of_statement(conn); /* the sync result has no NULL after it */
            continue;
        }
        bool more = handle_result(conn, pg);
        PQclear(pg);
        if (!more)
            return;
    }
}

/* Drops whatever arrives on an idle connection: ours never LISTEN, so a notification is
 * stray (freed all the same). */
static void drain_idle(connection *conn) {
    PGnotify *notify;
    while ((notify = conn->shared->ops->notifies(conn->pg)) != NULL)
        conn->shared->ops->free_memory(notify);
}

void conn_service(connection *conn, short revents) {
    const conn_ops *ops = conn->shared->ops;
    if (conn->state == CONN_CONNECTING) {
        if (revents & (POLLIN | POLLOUT | POLLERR | POLLHUP))
            advance_connect(conn);
        return;
    }
    if (conn->state == CONN_BUSY && conn->want_write && (revents & POLLOUT))
        flush(conn);
    if (!conn_is_up(conn) || !(revents & (POLLIN | POLLERR | POLLHUP)))
        return;
    if (!ops->consume_input(conn->pg) || ops->status(conn->pg) == CONNECTION_BAD) {
        conn_down(conn, ops->error_message(conn->pg));
        return;
    }
    if (conn->state == CONN_BUSY)
        read_results(conn);
    else
        drain_idle(conn);
}

/* When pgsafe gives up on the running call. */
static int64_t deadline_ms(const connection *conn) {
    return conn->call->started_ms + conn->shared->statement_timeout_ms + CONN_DEADLINE_GRACE_MS;
}

/* The server did not answer by the deadline: the call fails, the connection is closed (its
 * backend may wake up later; it then finds the socket gone and ends) and a new one opens. */
static void expire_call(connection *conn) {
    char *message = str_printf("the database did not answer within %d ms after the statement timeout (%d ms); "
                               "the connection was closed and pgsafe reconnects, so the call can be retried",
                               CONN_DEADLINE_GRACE_MS, conn->shared->statement_timeout_ms);
    LOG(conn, 1, "%s", message ? message : "the database did not answer after the statement timeout");
    db_call *call = conn->call;
    call_fail(call, call->cancelled ? DB_CANCELLED : DB_CONNECTION_LOST,
              call->cancelled ? "the call was cancelled"
              : message       ? message
                              : "the database did not answer");
    free(message);
    conn_down(conn, NULL);
    conn->retry_at_ms = 0;
}

void conn_tick(connection *conn, int64_t now) {
    if (conn->state == CONN_CONNECTING &&
        now - conn->connect_started_ms > (int64_t)conn->shared->connect_timeout_seconds * 1000) {
        char *message = str_printf("timeout expired after %d s", conn->shared->connect_timeout_seconds);
        connect_failed(conn, message ? message : "timeout expired");
        free(message);
        return;
    }
    if (conn->state != CONN_BUSY)
        return;
    if (now >= deadline_ms(conn))
        expire_call(conn);
    else if (conn->cancel_sent && conn->cancels < CONN_CANCEL_REPEATS &&
             now - conn->cancel_sent_ms >= CONN_CANCEL_REPEAT_MS)
        conn_cancel(conn);
}

int64_t conn_due_ms(const connection *conn) {
    switch (conn->state) {
    case CONN_DOWN: return conn->retry_at_ms > 0 ? conn->retry_at_ms : -1;
    case CONN_CONNECTING: return conn->connect_started_ms + (int64_t)conn->shared->connect_timeout_seconds * 1000;
    case CONN_IDLE: return -1;
    case CONN_BUSY: break;
    }
    int64_t due = deadline_ms(conn);
    if (conn->cancel_sent && conn->cancels < CONN_CANCEL_REPEATS && conn->cancel_sent_ms + CONN_CANCEL_REPEAT_MS < due)
        due = conn->cancel_sent_ms + CONN_CANCEL_REPEAT_MS;
    return due;
}

bool conn_pollfd(const connection *conn, struct pollfd *fd) {
    if (conn->pg == NULL || conn->state == CONN_DOWN)
        return false;
    int socket = conn->shared->ops->socket(conn->pg);
    if (socket < 0)
        return false;
    short events = POLLIN;
    if (conn->state == CONN_CONNECTING)
        events = conn->polling == PGRES_POLLING_WRITING ? POLLOUT : POLLIN;
    else if (conn->want_write)
        events |= POLLOUT;
    *fd = (struct pollfd){.fd = socket, .events = events, .revents = 0};
    return true;
}
