/* One pooled connection's state machine (see conn.h): a non-blocking connect, one pipelined
 * read-only transaction per call, its results read as they arrive, cancel requests. The
 * call's deadline and the poll set are conn_deadline.c's. */
#include "db/conn.h"
#include "db/conn_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "db/clock.h"
#include "db/params.h"
#include "db/redact.h"
#include "pgsafe/guard.h"
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
#define STRINGIFY(x) #x
#define TEXT_OF(x)   STRINGIFY(x)
static const char load_settings_sql[] =
    "SELECT pg_catalog.set_config('statement_timeout',"
    " GREATEST($1::pg_catalog.int4, " TEXT_OF(
        CONN_LOAD_TIMEOUT_MS) ")::pg_catalog.text, true),"
                              " pg_catalog.set_config('lock_timeout', $2, true),"
                              " pg_catalog.set_config('idle_in_transaction_session_timeout', $3, true),"
                              " pg_catalog.set_config('search_path', $4, true),"
                              " pg_catalog.set_config('standard_conforming_strings', 'on', true),"
                              " pg_catalog.set_config('jit', 'off', true)";

/* Outside the transaction, so it sees what outlived the ROLLBACK. The unnamed portal is the
 * check's own (pg_cursors lists protocol portals too). Operators are qualified:
 * the session's own search_path is in force here.
 * Settings are not scanned (pg_settings cost more than the rest of a SELECT 1's round trip):
 * every call's SQL runs inside BEGIN ... ROLLBACK, a SELECT cannot end that transaction
 * early (a function runs in an atomic context: COMMIT there is an error), and PostgreSQL
 * undoes at the rollback every setting changed in it, session-level ones included (SET,
 * set_config(..., false), a function's SET clause). tests/integration/concurrency.test.mjs
 * shows a function's session-level set_config gone by the next call on the connection. */
const char conn_clean_check_sql[] =
    "SELECT pg_catalog.concat_ws(', ',"
    " CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype OPERATOR(pg_catalog.=) 'advisory'"
    " AND pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()) THEN 'session advisory locks' END,"
    " CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_class"
    " WHERE relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()) THEN 'temporary objects' END,"
    " CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_listening_channels()) THEN 'LISTEN' END,"
    " CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_prepared_statements) THEN 'prepared statements' END,"
    " CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_cursors WHERE name OPERATOR(pg_catalog.<>) '') THEN 'cursors' END)";

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
    .send_prepare = PQsendPrepare,
    .send_describe_prepared = PQsendDescribePrepared,
    .send_flush_request = PQsendFlushRequest,
    .flush = PQflush,
    .consume_input = PQconsumeInput,
    .is_busy = PQisBusy,
    .get_result = PQgetResult,
    .set_single_row_mode = PQsetSingleRowMode,
    .transaction_status = PQtransactionStatus,
    .notifies = PQnotifies,
    .free_memory = PQfreemem,
    .finish = PQfinish,
    .backend_pid = PQbackendPID,
    .cancel_send = cancel_send,
    .cancel_release = cancel_release,
    .redact = db_redact,
};

/* The transitions the state machine makes; anything else is a bug. */
static bool transition_allowed(conn_state from, conn_state to) {
    switch (to) {
    case CONN_DOWN: return true;
    case CONN_CONNECTING: return from == CONN_DOWN;
    case CONN_IDLE: return from == CONN_CONNECTING || from == CONN_BUSY;
    case CONN_BUSY: return from == CONN_IDLE;
    case CONN_DRAINING: return from == CONN_BUSY;
    }
    return false;
}

/* Moves to a new state, asserting the transition and the invariants of the state entered:
 * a PGconn exactly when not DOWN, a call exactly when BUSY. */
void conn_set_state(connection *conn, conn_state to) {
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

bool conn_is_draining(const connection *conn) {
    return conn->state == CONN_DRAINING;
}

int conn_socket(const connection *conn) {
    return conn->pg ? conn->shared->ops->socket(conn->pg) : -1;
}

/* Hands the running call back to the pool as finished; the connection lets go of it. */
void conn_hand_back(connection *conn) {
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
            char *safe = why ? conn->shared->ops->redact(why, conn->shared->conninfo, conn->pg) : NULL;
            char *message = str_printf("the connection to the database was lost while the statement ran: %s; "
                                       "pgsafe reconnects, so the call can be retried",
                                       safe ? safe : "unknown cause");
            call_fail(call, DB_CONNECTION_LOST, message ? message : "the connection to the database was lost");
            free(message);
            free(safe);
        }
        conn_hand_back(conn);
    }
    if (conn->pg) {
        conn->shared->ops->cancel_release(&conn->cancel);
        conn->shared->ops->finish(conn->pg); /* why may point into it: used above, not after */
        conn->pg = NULL;
    }
    conn_set_state(conn, CONN_DOWN);
    conn->cancel_sent = false;
    conn->want_write = false;
    conn->awaiting_rest = false;
    conn->plan_passed = false;
    conn->backend_pid = 0;
}

/* An attempt failed: the pool records why (the password redacted: libpq quotes a malformed
 * DSN whole) and says when to retry; the connection closes. */
void conn_connect_failed(connection *conn, const char *why) {
    char *safe = conn->shared->ops->redact(why, conn->shared->conninfo, conn->pg);
    int retry_in_ms =
        conn->shared->connect_failed(conn->shared->owner, safe ? safe : "could not connect (out of memory)");
    free(safe);
    conn_down(conn, NULL);
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
        conn_connect_failed(conn, "out of memory");
        return;
    }
    if (shared->ops->status(conn->pg) == CONNECTION_BAD) {
        conn_connect_failed(conn, shared->ops->error_message(conn->pg));
        return;
    }
    conn->polling = PGRES_POLLING_WRITING;
    conn_set_state(conn, CONN_CONNECTING);
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
        conn_connect_failed(conn, ops->error_message(conn->pg));
        return;
    }
    conn->backend_pid = ops->backend_pid(conn->pg);
    conn_set_state(conn, CONN_IDLE);
    conn->shared->connected(conn->shared->owner);
}

/* One step of PQconnectPoll, when the socket is ready in the direction it asked for. */
static void advance_connect(connection *conn) {
    conn->polling = conn->shared->ops->connect_poll(conn->pg);
    if (conn->polling == PGRES_POLLING_OK)
        connected(conn);
    else if (conn->polling == PGRES_POLLING_FAILED)
        conn_connect_failed(conn, conn->shared->ops->error_message(conn->pg));
}

/* Queues ROLLBACK, the clean check and Sync: the end of every call's pipeline. */
bool conn_send_rollback_and_check(connection *conn) {
    const conn_ops *ops = conn->shared->ops;
    conn->verified_clean = false;
    return ops->send_query_params(conn->pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) &&
           ops->send_query_params(conn->pg, conn_clean_check_sql, 0, NULL, NULL, NULL, NULL, 0) &&
           ops->pipeline_sync(conn->pg) == 1;
}

/* Queues the pipeline's first half in libpq: BEGIN READ ONLY, the settings, then the cost
 * guard's EXPLAIN (a call with explain_sql) and, for a call whose rows are bounded on the
 * server, the statement parsed and described. Either ends the first half with a Flush (there
 * is no Sync yet): send_rest sends the rest once those results are read (end_of_statement).
 * Any other call gets the whole pipeline at once (the statement, ROLLBACK, the clean check,
 * Sync): one round trip. Returns false when libpq refused (the PGconn's error says why). */
static bool send_first_half(connection *conn, const db_call *call) {
    const conn_ops *ops = conn->shared->ops;
    PGconn *pg = conn->pg;
    if (!ops->send_query_params(pg, "BEGIN READ ONLY", 0, NULL, NULL, NULL, NULL, 0))
        return false;
    const char *settings = call->kind == CALL_CATALOG || call->kind == CALL_POSTURE ? load_settings_sql : settings_sql;
    if (!ops->send_query_params(pg, settings, 4, NULL, conn->shared->settings, NULL, NULL, 0))
        return false;
    if (call->explain_sql != NULL && !ops->send_query_params(pg, call->explain_sql, call->param_count, NULL,
                                                             (const char *const *)call->params, NULL, NULL, 0))
        return false;
    if (call->bound_rows && (ops->send_prepare(pg, "", call->sql, call->param_count, NULL) != 1 ||
                             ops->send_describe_prepared(pg, "") != 1))
        return false;
    if (call->explain_sql != NULL || call->bound_rows) {
        conn->awaiting_rest = true;
        return ops->send_flush_request(pg) == 1;
    }
    if (!ops->send_query_params(pg, call->sql, call->param_count, NULL, (const char *const *)call->params, NULL, NULL,
                                0))
        return false;
    return conn_send_rollback_and_check(conn);
}

/* Fails the call for memory that ran out while its result was read. */
static void fail_out_of_memory(db_call *call) {
    call_fail(call, DB_SQL_ERROR, "out of memory while reading the result");
}

/* Takes the statement's columns from pg into the call's result (once; later results leave
 * them be). False when the call has failed already or failed here for want of memory. */
static bool take_columns(connection *conn, const PGresult *pg) {
    db_call *call = conn->call;
    if (call->failed)
        return false;
    if (!db_result_take_columns(call->result, pg, conn->shared->type_name, conn->shared->type_name_context)) {
        fail_out_of_memory(call);
        return false;
    }
    return true;
}

/* The description of a bounded call's statement: its columns become the result's (the
 * names and types the model sees), and the statement to run bounds every row on the
 * server, so that libpq, which holds a whole row in memory even in single-row mode, never
 * holds more than about the byte budget: each value of a type of unbounded text is cut to
 * one character more than the cell cap (the cap then marks it cut), and a row whose values
 * pass the budget comes back flagged instead. Columns of PostgreSQL's own fixed-size types
 * (numbers, dates, booleans...: a few dozen bytes of text) pass as they are. */
static void take_description(connection *conn, const PGresult *pg) {
    db_call *call = conn->call;
    if (!take_columns(conn, pg))
        return;
    int columns = PQnfields(pg);
    if (columns > GUARD_BOUND_MAX_COLUMNS) {
        call_fail(call, DB_SQL_ERROR, "the result has more columns than pgsafe can bound; select fewer columns");
        return;
    }
    bool *capped = calloc(columns ? (size_t)columns : 1, sizeof *capped);
    if (capped == NULL) {
        fail_out_of_memory(call);
        return;
    }
    bool any = false;
    for (int i = 0; i < columns; i++) {
        capped[i] = PQftype(pg, i) >= CONN_FIRST_USER_OID || PQfsize(pg, i) <= 0;
        any = any || capped[i];
    }
    if (any) {
        size_t cap = call->limits.max_cell_bytes < call->limits.max_result_bytes ? call->limits.max_cell_bytes
                                                                                 : call->limits.max_result_bytes;
        guard_row_bound bound = {.column_count = columns,
                                 .capped = capped,
                                 .cap_characters = cap + 1,
                                 .row_bytes = call->limits.max_result_bytes};
        call->bounded_sql = guard_bound_rows(call->sql, &bound);
        if (call->bounded_sql == NULL)
            call_fail(call, DB_SQL_ERROR, "the statement could not be bounded (out of memory)");
        else
            call->limits.flagged_rows = true;
    }
    free(capped);
}

/* The second half of a call's pipeline, once the first half's results are read: the
 * statement (bounded when its description asked for it), ROLLBACK, the clean check, Sync.
 * After an error or a refusal only the end is sent (the server skips to the Sync). */
static bool send_second_half(connection *conn) {
    const conn_ops *ops = conn->shared->ops;
    db_call *call = conn->call;
    if (call->failed) {
        conn->stage = STAGE_ROLLBACK;
        return conn_send_rollback_and_check(conn);
    }
    const char *sql = call->bounded_sql ? call->bounded_sql : call->sql;
    return ops->send_query_params(conn->pg, sql, call->param_count, NULL, (const char *const *)call->params, NULL, NULL,
                                  0) &&
           conn_send_rollback_and_check(conn);
}

/* Writes what libpq holds; the connection goes down when the socket fails. */
void conn_flush(connection *conn) {
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
    conn_set_state(conn, CONN_BUSY);
    if (!send_first_half(conn, call)) {
        conn_down(conn, conn->shared->ops->error_message(conn->pg));
        return;
    }
    conn_flush(conn);
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

/* The first half's results are read (the cost guard's plan judged by the cost_check hook as
 * it arrived, a bounded call's description taken, or an error): the rest of the pipeline
 * goes out, with the statement only when nothing failed. Sent here, at the NULL that ends
 * the last of them, never earlier: after an error libpq gives that NULL only while nothing
 * else is queued. Returns false when the connection is no longer busy. */
static bool send_rest(connection *conn) {
    db_call *call = conn->call;
    assert(conn->awaiting_rest);
    conn->awaiting_rest = false;
    /* A cancel request that came while the server waited for the second half found no
     * statement to cancel: the call's flag says it all. */
    if (call->cancelled)
        call_fail(call, DB_CANCELLED, "the call was cancelled");
    if (call->explain_sql != NULL && !conn->plan_passed)
        call_fail(call, DB_REFUSED, "the cost guard got no plan to judge, so the query was not run");
    conn->plan_passed = false;
    if (!send_second_half(conn)) {
        conn_down(conn, conn->shared->ops->error_message(conn->pg));
        return false;
    }
    conn_flush(conn);
    return conn->state == CONN_BUSY;
}

/* The end of one statement's results (a NULL from PQgetResult): the next stage. Entering the
 * statement's stage switches to single-row mode now, before libpq parses any of its rows
 * (PQisBusy does), or they would pile up in one result until the last arrived. */
static void end_of_statement(connection *conn) {
    if (conn->stage != STAGE_SYNC && conn->stage != STAGE_CLEANUP_SYNC)
        conn->stage++;
    if (conn->stage == STAGE_EXPLAIN && conn->call->explain_sql == NULL)
        conn->stage = STAGE_PREPARE;
    if (conn->stage == STAGE_PREPARE && !conn->call->bound_rows)
        conn->stage = STAGE_STATEMENT;
    if (conn->stage == STAGE_STATEMENT && conn->awaiting_rest && !send_rest(conn))
        return;
    if (conn->stage == STAGE_STATEMENT && !conn->call->failed && !conn->shared->ops->set_single_row_mode(conn->pg))
        LOG(conn, 3, "single-row mode was refused; the rows arrive in one result");
}

/* Takes the statement's rows from pg (one in single-row mode, all of them otherwise) into
 * the call's result. The byte budget running out cancels the statement: the server stops
 * producing rows nobody will keep. */
static void take_rows(connection *conn, const PGresult *pg) {
    db_call *call = conn->call;
    if (!take_columns(conn, pg))
        return;
    for (int row = 0; row < PQntuples(pg); row++) {
        db_take take = db_result_take_row(call->result, pg, row, &call->limits);
        if (take == DB_TAKE_NO_MEMORY) {
            fail_out_of_memory(call);
            return;
        }
        if (take == DB_TAKE_BUDGET && !conn->cancel_sent)
            conn_cancel(conn);
    }
}

/* The clean check's row (conn_clean_check_sql): "" verifies the session clean; anything
 * else names what it still holds, and the connection will be closed. */
static void take_clean_check(connection *conn, const PGresult *pg) {
    if (PQntuples(pg) != 1 || PQnfields(pg) != 1 || PQgetisnull(pg, 0, 0))
        return;
    const char *held = PQgetvalue(pg, 0, 0);
    if (*held == '\0')
        conn->verified_clean = true;
    else
        LOG(conn, 1, "a call left the session holding %s; the connection is closed and a new one opened", held);
}

/* The Sync result: the call is over, unless an error stopped the pipeline before our
 * ROLLBACK, which is then sent on its own with the clean check. A connection that was
 * sent a cancel request starts afresh: the request may still be in flight and would hit
 * the next call. So does one the clean check did not verify: a session advisory lock, say,
 * outlives ROLLBACK and would block other sessions. Returns false when the connection is
 * no longer busy with a call to read. */
static bool end_of_pipeline(connection *conn) {
    const conn_ops *ops = conn->shared->ops;
    if (conn->stage == STAGE_SYNC && ops->transaction_status(conn->pg) != PQTRANS_IDLE) {
        conn->stage = STAGE_CLEANUP;
        if (!conn_send_rollback_and_check(conn)) {
            conn_down(conn, ops->error_message(conn->pg));
            return false;
        }
        conn_flush(conn);
        return conn->state == CONN_BUSY;
    }
    conn_hand_back(conn);
    conn_set_state(conn, CONN_IDLE);
    if (conn->cancel_sent || !conn->verified_clean) {
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
         * (the settings, the clean check) are not the caller's. */
        if (conn->stage == STAGE_STATEMENT)
            take_rows(conn, pg);
        else if (conn->stage == STAGE_EXPLAIN && !conn->call->failed && !conn->call->cancelled)
            conn->plan_passed = conn->shared->cost_check(conn->shared->owner, conn->call, pg);
        else if (conn->stage == STAGE_CHECK || conn->stage == STAGE_CLEANUP_CHECK)
            take_clean_check(conn, pg);
        return true;
    case PGRES_COMMAND_OK:
        if (conn->stage == STAGE_DESCRIBE)
            take_description(conn, pg);
        return true;
    case PGRES_PIPELINE_ABORTED: return true;
    case PGRES_PIPELINE_SYNC: return end_of_pipeline(conn);
    default: /* PGRES_FATAL_ERROR and anything unexpected */
        if (conn->stage == STAGE_CLEANUP) {
            conn_down(conn, "the transaction could not be rolled back");
            return false;
        }
        if (conn->stage == STAGE_CHECK || conn->stage == STAGE_CLEANUP_CHECK) {
            /* The call's result stands; the connection, unverified, is closed at the Sync. */
            LOG(conn, 1, "the clean check after a call failed: %s", PQresultErrorMessage(pg));
            return true;
        }
        if (conn->stage == STAGE_ROLLBACK) {
            /* The statement had ended: a cancel request sent while its rows came (the byte
             * budget's) landed on our ROLLBACK instead. The call's result stands; the Sync
             * finds the transaction open and rolls it back on its own. */
            LOG(conn, 2, "the ROLLBACK after a call failed (%s); it is sent again", PQresultErrorMessage(pg));
            return true;
        }
        call_fail_from_pg(conn->call, pg);
        /* An error of the cost guard's EXPLAIN points into the statement, not the prefix. */
        if (conn->stage == STAGE_EXPLAIN && conn->call->result->error_position > (int)strlen(CALL_EXPLAIN_PREFIX))
            conn->call->result->error_position -= (int)strlen(CALL_EXPLAIN_PREFIX);
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

/* The backend of a draining connection ended the statement given up on (why says how): the
 * slot is free. The connection closes and reconnects at once; the backend, idle or gone,
 * ends when it sees the socket closed. */
static void drained(connection *conn, const char *why) {
    assert(conn->state == CONN_DRAINING);
    LOG(conn, 2, "backend PID %d ended the statement pgsafe gave up on %lld ms ago (%s); its pool slot reconnects",
        conn->backend_pid, (long long)(db_now_ms() - conn->drain_started_ms), why);
    conn_down(conn, NULL);
    conn->retry_at_ms = 0;
}

/* Reads and drops what a draining connection's backend sends, until the pipeline's Sync
 * says the statement is over. Two NULLs in a row mean libpq has nothing more queued: stop
 * (PQgetResult then returns NULL for ever, and PQisBusy says it would not block). */
static void read_drained_results(connection *conn) {
    const conn_ops *ops = conn->shared->ops;
    bool after_null = false;
    while (conn->state == CONN_DRAINING && !ops->is_busy(conn->pg)) {
        PGresult *pg = ops->get_result(conn->pg);
        if (pg == NULL) {
            if (after_null)
                return;
            after_null = true;
            continue;
        }
        after_null = false;
        bool sync = PQresultStatus(pg) == PGRES_PIPELINE_SYNC;
        PQclear(pg);
        if (sync)
            drained(conn, "it answered");
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
    if ((conn->state == CONN_BUSY || conn->state == CONN_DRAINING) && conn->want_write && (revents & POLLOUT))
        conn_flush(conn);
    if (conn->state == CONN_DOWN || !(revents & (POLLIN | POLLERR | POLLHUP)))
        return;
    if (!ops->consume_input(conn->pg) || ops->status(conn->pg) == CONNECTION_BAD) {
        if (conn->state == CONN_DRAINING)
            drained(conn, "its connection closed");
        else
            conn_down(conn, ops->error_message(conn->pg));
        return;
    }
    if (conn->state == CONN_BUSY)
        read_results(conn);
    else if (conn->state == CONN_DRAINING)
        read_drained_results(conn);
    else
        drain_idle(conn);
}
