/* The pool: its slots (one connection each), the queue of calls waiting for a connection,
 * and the public API of pool.h; the catalog and posture loads it runs for itself are
 * pool_load.c's. What happens on one connection is conn.c's; the pool decides what runs
 * where, when to open another connection, and when a caller's done callback runs (always
 * from db_pool_process or db_pool_free, never from inside a call into the pool). */
#include "db/pool.h"
#include "db/pool_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/call.h"
#include "db/cancel.h"
#include "db/catalog.h"
#include "db/clock.h"
#include "db/conn.h"
#include "db/cost.h"
#include "util/strings.h"

#define BACKOFF_FIRST_MS        250
#define BACKOFF_MAX_MS          5000
#define SHUTDOWN_CANCEL_WAIT_MS 2000 /* how long shutdown waits for its cancel requests to land */
#define MAX_POOL_SIZE           64

void db_pool_options_init(db_options *options) {
    *options = (db_options){
        .conninfo = "",
        .pool_size = 2,
        .statement_timeout_ms = 15000,
        .lock_timeout_ms = 1000,
        .idle_in_transaction_ms = 60000,
        .search_path = "public",
        .max_result_bytes = 256 * 1024,
        .max_cell_bytes = 8 * 1024,
        .connect_timeout_seconds = 5,
        .max_cost = 1e7,
        .max_plan_rows = 1e9,
    };
}

/* ---- the hooks a connection reports through ---- */

/* Replaces the last error with message on one line (NULL when out of memory: the error is
 * then "unknown" rather than wrong). */
void pool_set_last_error(db_pool *pool, const char *message) {
    free(pool->last_error);
    pool->last_error = message ? str_one_line(message) : NULL;
}

/* The delay before the next attempt after failures consecutive failures: doubling from
 * BACKOFF_FIRST_MS up to BACKOFF_MAX_MS. */
int pool_backoff_ms(int failures) {
    int delay = BACKOFF_FIRST_MS;
    for (int i = 1; i < failures && delay < BACKOFF_MAX_MS; i++)
        delay *= 2;
    return delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS;
}

/* conn_shared.connected: a connection is up; the first one asks for the catalog. */
static void on_connected(void *owner) {
    db_pool *pool = owner;
    if (pool->failures > 0 || !pool->ever_ready)
        LOG(pool, pool->failures > 0 ? 2 : 3, "connection to the database established");
    pool->failures = 0;
    pool_set_last_error(pool, NULL);
    if (!pool->ever_ready)
        pool->catalog_wanted = true;
}

/* conn_shared.connect_failed: records why; the first failure in a row is a warning, the
 * rest debug lines. Returns the backoff before the retry. */
static int on_connect_failed(void *owner, const char *why) {
    db_pool *pool = owner;
    pool_set_last_error(pool, why);
    pool->failures++;
    LOG(pool, pool->failures == 1 ? 1 : 3, "cannot connect to the database: %s",
        pool->last_error ? pool->last_error : "unknown error");
    return pool_backoff_ms(pool->failures);
}

/* conn_shared.finished, and every other end of a call: the call (in no queue, on no
 * connection) joins the finished queue; its done callback runs at the end of
 * db_pool_process. The pool owns it until then. */
static void finish(void *owner, db_call *call) {
    db_pool *pool = owner;
    assert(call->running == NULL && call->next == NULL && call->result != NULL);
    if (call->result->status == DB_OK && call->cancelled)
        call_fail(call, DB_CANCELLED, "the call was cancelled");
    call->result->elapsed_ms = call->started_ms ? db_elapsed_ms(call->started_ms) : 0.0;
    call_queue_push(&pool->finished, call);
}

/* conn_shared.cost_check: the cost guard's verdict on a call's EXPLAIN (cost.h). */
static bool check_cost(void *owner, db_call *call, const PGresult *explain) {
    const db_pool *pool = owner;
    return cost_judge(call, explain, pool->options.max_cost, pool->options.max_plan_rows,
                      !pool->options.load_relations);
}

/* Runs the done callbacks of finished calls, and takes in the pool's own loads; true if
 * there were any. Each result goes to its done callback, which owns it; the call is freed
 * first. */
static bool run_done(db_pool *pool) {
    bool ran = false;
    db_call *call;
    while ((call = call_queue_pop(&pool->finished)) != NULL) {
        ran = true;
        if (call->kind == CALL_POSTURE || call->kind == CALL_CATALOG) {
            if (call->kind == CALL_POSTURE)
                pool_posture_checked(pool, call);
            else
                pool_catalog_loaded(pool, call);
            call_free(call);
            continue;
        }
        db_result *result = call->result;
        call->result = NULL; /* the done callback's now */
        db_done_fn done = call->done;
        void *user = call->user;
        call_free(call);
        done(user, result);
    }
    return ran;
}

/* ---- slots ---- */

/* Whether a slot is up (idle or busy), connecting, or idle (the first such). */
static bool any_connection_up(const db_pool *pool) {
    for (int i = 0; i < pool->connection_count; i++)
        if (conn_is_up(&pool->connections[i]))
            return true;
    return false;
}

static bool any_connecting(const db_pool *pool) {
    for (int i = 0; i < pool->connection_count; i++)
        if (pool->connections[i].state == CONN_CONNECTING)
            return true;
    return false;
}

/* Whether every slot is held by a backend that ignored the cancel of a call given up on:
 * nothing can run until one of them ends. */
static bool every_slot_draining(const db_pool *pool) {
    for (int i = 0; i < pool->connection_count; i++)
        if (!conn_is_draining(&pool->connections[i]))
            return false;
    return true;
}

static bool any_draining(const db_pool *pool) {
    for (int i = 0; i < pool->connection_count; i++)
        if (conn_is_draining(&pool->connections[i]))
            return true;
    return false;
}

connection *pool_idle_connection(db_pool *pool) {
    for (int i = 0; i < pool->connection_count; i++)
        if (pool->connections[i].state == CONN_IDLE)
            return &pool->connections[i];
    return NULL;
}

/* Opens connections that are due: the first slot that is not draining always (with
 * backoff), the rest only while the pool has work waiting and at least one connection
 * works. A draining slot is never reopened here: its backend still runs (conn.h). */
static void open_connections(db_pool *pool) {
    int64_t now = db_now_ms();
    bool up = any_connection_up(pool);
    bool busy = pool->queue.head != NULL;
    bool first = true;
    for (int i = 0; i < pool->connection_count; i++) {
        connection *conn = &pool->connections[i];
        if (conn_is_draining(conn))
            continue;
        bool is_first = first;
        first = false;
        if (conn->state != CONN_DOWN || now < conn->retry_at_ms)
            continue;
        if (is_first || (up && busy && !any_connecting(pool)))
            conn_connect(conn);
    }
}

/* ---- the queue ---- */

/* Fails the calls waiting for a connection with the last error: all of them, or (all
 * false) those that asked not to wait. The others stay queued, in order. */
static void fail_waiting(db_pool *pool, bool all) {
    call_queue keep = {0};
    db_call *call;
    while ((call = call_queue_pop(&pool->queue)) != NULL) {
        if (all || call->skip_wait) {
            char *message = str_printf("the database is unavailable: %s; pgsafe keeps trying to reconnect, "
                                       "so retry in a few seconds",
                                       pool->last_error ? pool->last_error : "no connection yet");
            call_fail(call, DB_UNAVAILABLE, message ? message : "the database is unavailable");
            free(message);
            finish(pool, call);
        } else {
            call_queue_push(&keep, call);
        }
    }
    pool->queue = keep;
}

/* Fails every queued call at once while every slot drains: the database is still busy with
 * statements given up on, and waiting could last as long as a backend ignores its cancel. */
static void fail_busy(db_pool *pool) {
    strbuf pids = {0};
    for (int i = 0; i < pool->connection_count; i++)
        strbuf_printf(&pids, "%s%d", i ? ", " : "", pool->connections[i].backend_pid);
    char *text = strbuf_take(&pids);
    char *message = str_printf("the database is still busy with an earlier query (backend PID%s %s ignored cancel); "
                               "try again shortly",
                               pool->connection_count > 1 ? "s" : "", text ? text : "?");
    db_call *call;
    while ((call = call_queue_pop(&pool->queue)) != NULL) {
        call_fail(call, call->cancelled ? DB_CANCELLED : DB_BUSY,
                  call->cancelled ? "the call was cancelled"
                  : message       ? message
                                  : "the database is still busy with an earlier query; try again shortly");
        finish(pool, call);
    }
    free(message);
    free(text);
}

/* Fails every queued call with status (DB_CANCELLED for those cancelled already). */
static void fail_queued(db_pool *pool, db_status status, const char *message) {
    db_call *call;
    while ((call = call_queue_pop(&pool->queue)) != NULL) {
        call_fail(call, call->cancelled ? DB_CANCELLED : status, call->cancelled ? "the call was cancelled" : message);
        finish(pool, call);
    }
}

/* Starts what can start. Calls wait while a connection or the catalog is on its way, and
 * fail with the reason once an attempt has failed, so a caller never waits on a dead server. */
static void dispatch(db_pool *pool) {
    if (every_slot_draining(pool)) {
        fail_busy(pool);
        return;
    }
    if (pool->catalog_wanted && !pool->catalog_loading)
        pool_start_catalog_load(pool);
    bool ready = pool->ever_ready && any_connection_up(pool) && !pool->catalog_wanted && !pool->catalog_loading;
    if (!ready) {
        fail_waiting(pool, pool->failures > 0);
        return;
    }
    while (pool->queue.head) {
        if (pool->queue.head->kind == CALL_BARRIER) {
            finish(pool, call_queue_pop(&pool->queue));
            continue;
        }
        connection *conn = pool_idle_connection(pool);
        if (conn == NULL)
            break;
        conn_start_call(conn, call_queue_pop(&pool->queue));
    }
}

/* The pool's invariants, for assert: a busy connection's call knows it runs there, a
 * queued call runs nowhere and is a caller's, and at most one own load is in flight. */
static bool pool_consistent(const db_pool *pool) {
    int loads = 0;
    for (int i = 0; i < pool->connection_count; i++) {
        const connection *conn = &pool->connections[i];
        if (conn->state == CONN_BUSY && (conn->call == NULL || conn->call->running != conn))
            return false;
        if (conn->state == CONN_BUSY && (conn->call->kind == CALL_POSTURE || conn->call->kind == CALL_CATALOG))
            loads++;
    }
    for (const db_call *call = pool->queue.head; call; call = call->next)
        if (call->running != NULL || call->kind == CALL_POSTURE || call->kind == CALL_CATALOG)
            return false;
    return loads <= 1 && (loads == 0 || pool->catalog_loading);
}

/* ---- the public API ---- */

char *db_pool_pinned_search_path(const char *schemas) {
    return str_printf("pg_catalog, %s", schemas && *schemas ? schemas : "public");
}

/* Fills the settings every connection reads, once the pool's strings exist. */
static void share_settings(db_pool *pool, const conn_ops *ops, db_log_fn log, void *log_context) {
    pool->shared = (conn_shared){
        .ops = ops,
        .conninfo = pool->conninfo,
        .connect_timeout_seconds = pool->options.connect_timeout_seconds,
        .statement_timeout_ms = pool->options.statement_timeout_ms,
        .settings = {pool->timeout_text[0], pool->timeout_text[1], pool->timeout_text[2], pool->search_path},
        .type_name = catalog_type_name_fn,
        .type_name_context = pool->catalog,
        .log = log,
        .log_context = log_context,
        .owner = pool,
        .connected = on_connected,
        .connect_failed = on_connect_failed,
        .finished = finish,
        .cost_check = check_cost,
    };
}

db_pool *db_pool_new_with_ops(const db_options *options, const conn_ops *ops, db_log_fn log, void *log_context,
                              char **error) {
    *error = NULL;
    if (options->pool_size < 1 || options->pool_size > MAX_POOL_SIZE) {
        *error = strdup("the pool size must be between 1 and 64");
        return NULL;
    }
    db_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL) {
        *error = strdup("out of memory");
        return NULL;
    }
    pool->options = *options;
    pool->shared.log = log; /* for db_pool_free's log lines, should memory run out below */
    pool->shared.log_context = log_context;
    pool->conninfo = strdup(options->conninfo ? options->conninfo : "");
    pool->search_path = db_pool_pinned_search_path(options->search_path);
    pool->catalog = catalog_new();
    pool->connections = calloc((size_t)options->pool_size, sizeof *pool->connections);
    if (pool->conninfo == NULL || pool->search_path == NULL || pool->connections == NULL || pool->catalog == NULL) {
        db_pool_free(pool); /* connection_count is still 0: there are no slots to walk */
        *error = strdup("out of memory");
        return NULL;
    }
    pool->connection_count = options->pool_size;
    snprintf(pool->timeout_text[0], sizeof pool->timeout_text[0], "%d", options->statement_timeout_ms);
    snprintf(pool->timeout_text[1], sizeof pool->timeout_text[1], "%d", options->lock_timeout_ms);
    snprintf(pool->timeout_text[2], sizeof pool->timeout_text[2], "%d", options->idle_in_transaction_ms);
    pool->options.conninfo = pool->conninfo;
    pool->options.search_path = NULL;
    share_settings(pool, ops, log, log_context);
    for (int i = 0; i < pool->connection_count; i++)
        conn_init(&pool->connections[i], &pool->shared);
    pool->catalog_wanted = true;
    /* One connection first; the others open once it works, so a dead server costs one attempt. */
    conn_connect(&pool->connections[0]);
    return pool;
}

db_pool *db_pool_new(const db_options *options, db_log_fn log, void *log_context, char **error) {
    return db_pool_new_with_ops(options, &conn_libpq_ops, log, log_context, error);
}

/* Sends a cancel request for every caller's statement that runs; true if any was sent. */
static bool cancel_running_statements(db_pool *pool) {
    bool cancelled = false;
    for (int i = 0; i < pool->connection_count; i++) {
        connection *conn = &pool->connections[i];
        if (conn->state == CONN_BUSY && conn->call->kind == CALL_STATEMENT) {
            conn_cancel(conn);
            cancelled = true;
        }
    }
    return cancelled;
}

void db_pool_free(db_pool *pool) {
    if (pool == NULL)
        return;
    /* Twice, a moment apart: the first may land between the pipeline's messages. Delivered
     * before the connections close, or a statement that sends nothing would run on (within a
     * bound: a postmaster that does not answer must not hold the shutdown). */
    if (cancel_running_statements(pool)) {
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 20 * 1000000};
        nanosleep(&pause, NULL);
        cancel_running_statements(pool);
        cancel_wait_all(SHUTDOWN_CANCEL_WAIT_MS);
    }
    for (int i = 0; i < pool->connection_count; i++) {
        connection *conn = &pool->connections[i];
        if (conn->call)
            call_fail(conn->call, DB_SHUTDOWN, "the server is shutting down");
        conn_down(conn, NULL); /* finishes the call, closes the PGconn */
    }
    /* A done callback may queue a follow-up call; it fails too, until nothing is left. */
    while (pool->queue.head || pool->finished.head) {
        fail_queued(pool, DB_SHUTDOWN, "the server is shutting down");
        run_done(pool);
    }
    catalog_free(pool->catalog);
    posture_clear(&pool->posture);
    free(pool->connections);
    free(pool->conninfo);
    free(pool->search_path);
    free(pool->last_error);
    free(pool);
}

db_pool_state db_pool_state_now(const db_pool *pool) {
    /* A draining slot is up as far as callers know: their calls get its own error. */
    if ((any_connection_up(pool) || any_draining(pool)) && pool->ever_ready)
        return DB_POOL_READY;
    if (any_connecting(pool) || any_connection_up(pool))
        return DB_POOL_CONNECTING;
    return DB_POOL_DOWN;
}

const char *db_pool_last_error(const db_pool *pool) {
    return pool->last_error;
}

db_pool_usage db_pool_usage_now(const db_pool *pool) {
    db_pool_usage usage = {.size = pool->options.pool_size};
    for (int i = 0; i < pool->connection_count; i++) {
        conn_state state = pool->connections[i].state;
        usage.open += state == CONN_IDLE || state == CONN_BUSY;
        usage.busy += state == CONN_BUSY;
    }
    for (const db_call *call = pool->queue.head; call; call = call->next)
        usage.queued++;
    return usage;
}

bool db_pool_idle(const db_pool *pool) {
    if (pool->queue.head)
        return false;
    for (int i = 0; i < pool->connection_count; i++)
        if (pool->connections[i].state == CONN_BUSY && pool->connections[i].call->kind == CALL_STATEMENT)
            return false;
    return true;
}

const db_posture *db_pool_posture(const db_pool *pool) {
    return &pool->posture;
}

const guard_catalog *db_pool_catalog(const db_pool *pool) {
    return catalog_for_guard(pool->catalog);
}

bool db_pool_refresh_catalog(db_pool *pool, int64_t min_age_ms) {
    if (pool->catalog_wanted || pool->catalog_loading)
        return true;
    if (!pool->ever_ready || db_now_ms() - catalog_loaded_at(pool->catalog) < min_age_ms)
        return false;
    pool->catalog_wanted = true;
    return true;
}

int db_pool_pollfds(db_pool *pool, struct pollfd *fds, int max) {
    int count = 0;
    for (int i = 0; i < pool->connection_count && count < max; i++)
        if (conn_pollfd(&pool->connections[i], &fds[count]))
            count++;
    return count;
}

int db_pool_timeout(const db_pool *pool) {
    if (pool->finished.head)
        return 0;
    int64_t now = db_now_ms(), soonest = -1;
    for (int i = 0; i < pool->connection_count; i++) {
        int64_t due = conn_due_ms(&pool->connections[i]);
        if (due >= 0 && (soonest < 0 || due < soonest))
            soonest = due;
    }
    if (pool->catalog_wanted && !pool->catalog_loading && pool->catalog_retry_at_ms > 0 &&
        (soonest < 0 || pool->catalog_retry_at_ms < soonest))
        soonest = pool->catalog_retry_at_ms;
    if (soonest < 0)
        return -1;
    return soonest <= now ? 0 : (int)(soonest - now);
}

void db_pool_process(db_pool *pool, const struct pollfd *fds, int count) {
    for (int i = 0; i < pool->connection_count; i++) {
        connection *conn = &pool->connections[i];
        int socket = conn_socket(conn);
        for (int j = 0; socket >= 0 && j < count; j++)
            if (fds[j].fd == socket && fds[j].revents) {
                conn_service(conn, fds[j].revents);
                break;
            }
    }
    int64_t now = db_now_ms();
    for (int i = 0; i < pool->connection_count; i++)
        conn_tick(&pool->connections[i], now);
    /* Done callbacks may queue follow-up calls, and the pool's own loads make it ready:
     * dispatch again until nothing more finishes. */
    do {
        open_connections(pool);
        dispatch(pool);
        assert(pool_consistent(pool));
    } while (run_done(pool));
}

/* Copies the request's SQL and parameters into the call. Returns false when out of memory
 * (what was copied stays, for call_free). */
static bool copy_request(db_call *call, const db_request *request) {
    if (request->sql == NULL)
        return true;
    if ((call->sql = strdup(request->sql)) == NULL)
        return false;
    if (request->param_count <= 0)
        return true;
    if ((call->params = calloc((size_t)request->param_count, sizeof *call->params)) == NULL)
        return false;
    for (int i = 0; i < request->param_count; i++) {
        call->param_count = i + 1;
        if (request->params[i] && (call->params[i] = strdup(request->params[i])) == NULL)
            return false;
    }
    return true;
}

db_call *db_pool_submit(db_pool *pool, const db_request *request, db_done_fn done, void *user) {
    db_call *call = call_new(request->sql ? CALL_STATEMENT : CALL_BARRIER);
    if (call == NULL)
        return NULL;
    call->done = done;
    call->user = user;
    call->skip_wait = request->skip_wait;
    call->bound_rows = request->bound_rows;
    call->limits = (db_result_limits){
        .row_limit = request->row_limit,
        .max_result_bytes = request->max_result_bytes ? request->max_result_bytes : pool->options.max_result_bytes,
        .max_cell_bytes = request->max_cell_bytes ? request->max_cell_bytes : pool->options.max_cell_bytes,
    };
    bool cost_guard =
        request->check_cost && request->sql != NULL && (pool->options.max_cost > 0 || pool->options.max_plan_rows > 0);
    if (cost_guard && (call->explain_sql = str_printf(CALL_EXPLAIN_PREFIX "%s",
                                                      request->cost_sql ? request->cost_sql : request->sql)) == NULL) {
        call_free(call);
        return NULL;
    }
    if (!copy_request(call, request)) {
        call_free(call);
        return NULL;
    }
    call_queue_push(&pool->queue, call);
    return call;
}

void db_pool_cancel(db_pool *pool, db_call *call) {
    if (call->cancelled)
        return;
    call->cancelled = true;
    if (call_queue_remove(&pool->queue, call)) {
        call_fail(call, DB_CANCELLED, "the call was cancelled");
        finish(pool, call);
        return;
    }
    connection *conn = call->running;
    if (conn && !conn->cancel_sent)
        conn_cancel(conn);
}
