/* One pooled connection's clocks: the running call's deadline (and what happens when the
 * server misses it: the call fails, the slot drains), the repeated cancel request, the
 * connect timeout, and what the connection waits for in poll. Split from conn.c, whose
 * state machine it drives through conn_internal.h. */
#include <assert.h>
#include <stdlib.h>

#include "db/clock.h"
#include "db/conn.h"
#include "db/conn_internal.h"
#include "util/strings.h"

/* The statement timeout the running call's transaction set (see load_settings_sql in conn.c). */
static int call_timeout_ms(const connection *conn) {
    bool load = conn->call->kind == CALL_CATALOG || conn->call->kind == CALL_POSTURE;
    int timeout = conn->shared->statement_timeout_ms;
    return load && timeout < CONN_LOAD_TIMEOUT_MS ? CONN_LOAD_TIMEOUT_MS : timeout;
}

/* When pgsafe gives up on the running call. */
static int64_t deadline_ms(const connection *conn) {
    return conn->call->started_ms + call_timeout_ms(conn) + CONN_DEADLINE_GRACE_MS;
}

/* The server did not answer by the deadline: the call fails, and the connection drains. It
 * keeps its PGconn and its pool slot until the backend ends the statement (its Sync arrives)
 * or its socket closes: closing it now would leave the backend running beside a replacement
 * connection, one more backend than the pool's size for as long as it ignores the cancel. */
static void expire_call(connection *conn) {
    if (!conn->cancel_sent)
        conn_cancel(conn);
    char *message = str_printf("the database did not answer within %d ms after the statement timeout (%d ms): "
                               "backend PID %d ignored the cancel request; it keeps its pool slot until it ends, "
                               "so retry shortly",
                               CONN_DEADLINE_GRACE_MS, call_timeout_ms(conn), conn->backend_pid);
    LOG(conn, 1, "%s", message ? message : "the database did not answer after the statement timeout");
    db_call *call = conn->call;
    bool end_pipeline = conn->awaiting_rest;
    call_fail(call, call->cancelled ? DB_CANCELLED : DB_CONNECTION_LOST,
              call->cancelled ? "the call was cancelled"
              : message       ? message
                              : "the database did not answer");
    free(message);
    /* The server waits for the rest of a pipeline whose plan never came back: without its
     * Sync the backend would stay in the statement (active, and out of reach of the idle
     * timeout) after it wakes, and the slot would never drain. */
    conn->awaiting_rest = false;
    if (end_pipeline && !conn_send_rollback_and_check(conn)) {
        conn_down(conn, conn->shared->ops->error_message(conn->pg));
        return;
    }
    conn_hand_back(conn);
    conn_set_state(conn, CONN_DRAINING);
    conn->drain_started_ms = db_now_ms();
    if (end_pipeline)
        conn_flush(conn);
}

/* A cancel request is repeated (one can arrive before its statement starts, and be lost)
 * only while the statement may still run: once its results are in, a repeat could only
 * land on the ROLLBACK or the clean check that follow it. */
static bool repeat_cancel(const connection *conn) {
    return conn->cancel_sent && conn->cancels < CONN_CANCEL_REPEATS && conn->stage <= STAGE_STATEMENT;
}

void conn_tick(connection *conn, int64_t now) {
    if (conn->state == CONN_CONNECTING &&
        now - conn->connect_started_ms > (int64_t)conn->shared->connect_timeout_seconds * 1000) {
        char *message = str_printf("timeout expired after %d s", conn->shared->connect_timeout_seconds);
        conn_connect_failed(conn, message ? message : "timeout expired");
        free(message);
        return;
    }
    if (conn->state != CONN_BUSY)
        return;
    if (now >= deadline_ms(conn))
        expire_call(conn);
    else if (repeat_cancel(conn) && now - conn->cancel_sent_ms >= CONN_CANCEL_REPEAT_MS)
        conn_cancel(conn);
}

int64_t conn_due_ms(const connection *conn) {
    switch (conn->state) {
    case CONN_DOWN: return conn->retry_at_ms > 0 ? conn->retry_at_ms : -1;
    case CONN_CONNECTING: return conn->connect_started_ms + (int64_t)conn->shared->connect_timeout_seconds * 1000;
    case CONN_IDLE:
    case CONN_DRAINING: return -1;
    case CONN_BUSY: break;
    }
    int64_t due = deadline_ms(conn);
    if (repeat_cancel(conn) && conn->cancel_sent_ms + CONN_CANCEL_REPEAT_MS < due)
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
