/* The connection pool and executor: non-blocking connects with backoff, one pipelined
 * read-only transaction per call, results read row by row under a byte budget. Everything
 * runs from db_pool_process, called by the server's poll() loop. */
#include <assert.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/catalog.h"
#include "db/db.h"
#include "util/strings.h"

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS   5000
#define CANCEL_REPEAT_MS 100 /* a cancel is repeated this often while its call runs */
#define CANCEL_REPEATS   20
/* How long a call may run past the statement timeout before pgsafe stops waiting for the
 * server. statement_timeout fires inside the backend, and a cancel request is delivered to
 * that same backend, so a backend that no longer runs (stopped, swapped out, its host gone
 * without a reset) would otherwise hold the call, and the client, forever. */
#define DEADLINE_GRACE_MS       5000
#define SHUTDOWN_CANCEL_WAIT_MS 2000 /* how long shutdown waits for its cancel requests to land */

/* The settings every transaction pins, as one statement so the pipeline stays short.
 * standard_conforming_strings is pinned because the guard parsed with it on. */
static const char settings_sql[] = "SELECT pg_catalog.set_config('statement_timeout', $1, true),"
                                   " pg_catalog.set_config('lock_timeout', $2, true),"
                                   " pg_catalog.set_config('idle_in_transaction_session_timeout', $3, true),"
                                   " pg_catalog.set_config('search_path', $4, true),"
                                   " pg_catalog.set_config('standard_conforming_strings', 'on', true)";

typedef enum call_kind {
    CALL_STATEMENT, /* a caller's statement */
    CALL_BARRIER,   /* completes once the pool is ready; runs nothing */
    CALL_POSTURE,   /* the pool's own posture check, first at the first connection */
    CALL_CATALOG    /* the pool's own catalog load */
} call_kind;

/* Where a running call is in its pipeline; results arrive in this order. */
typedef enum stage {
    STAGE_BEGIN,
    STAGE_SETTINGS,
    STAGE_STATEMENT,
    STAGE_ROLLBACK,
    STAGE_SYNC,
    STAGE_CLEANUP, /* a ROLLBACK sent after an error left the transaction open */
    STAGE_CLEANUP_SYNC
} stage;

typedef enum connection_state {
    CONNECTION_DOWN,
    CONNECTION_CONNECTING,
    CONNECTION_IDLE,
    CONNECTION_BUSY
} connection_state;

typedef struct connection {
    PGconn *pg;
    connection_state state;
    PostgresPollingStatusType polling; /* while connecting: the direction to wait for */
    int64_t connect_started_ms;
    int64_t retry_at_ms; /* while down: when to try again */
    db_call *call;       /* while busy */
    stage stage;
    bool want_write; /* output is still queued in libpq */
    bool cancel_sent;
    int64_t cancel_sent_ms;    /* when the last cancel request went out */
    int cancels;               /* cancel requests sent for the running call */
    struct cancel_job *cancel; /* the last request sent for this PGconn, shared with its thread */
} connection;

struct db_call {
    db_call *next; /* queue link */
    call_kind kind;
    char *sql;
    int param_count;
    char **params;
    long long row_limit;
    size_t max_result_bytes;
    size_t max_cell_bytes;
    bool skip_wait;
    db_done_fn done;
    void *user;
    bool cancelled;
    bool budget_exhausted; /* we cancelled the statement ourselves to stop its rows */
    bool failed;           /* result->status already says what went wrong */
    connection *running;
    db_result *result;
    int64_t started_ms;
};

struct db_pool {
    db_options options; /* strings owned below */
    char *conninfo;
    char *search_path;
    char timeout_text[3][24];
    db_log_fn log;
    void *log_context;
    connection *connections;
    int connection_count;
    db_call *queue_head, *queue_tail;
    db_call *finished_head, *finished_tail; /* done callbacks to run at the end of process */
    db_catalog *catalog;
    db_posture posture;
    bool catalog_wanted; /* load (or reload) at the next idle connection */
    bool catalog_loading;
    int64_t catalog_retry_at_ms; /* after a failed load */
    bool posture_tried;          /* the quick posture check ran once */
    bool ever_ready;
    int failures; /* consecutive failed connection attempts */
    char *last_error;
};

static void log_line(db_pool *pool, int level, const char *format, ...) __attribute__((format(printf, 3, 4)));

static void log_line(db_pool *pool, int level, const char *format, ...) {
    if (pool->log == NULL)
        return;
    va_list arguments;
    va_start(arguments, format);
    char buffer[1024];
    vsnprintf(buffer, sizeof buffer, format, arguments);
    va_end(arguments);
    pool->log(pool->log_context, level, buffer);
}

int64_t db_now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static double elapsed_since(int64_t started_ms) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double now_ms = (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
    return now_ms - (double)started_ms;
}

void db_options_init(db_options *options) {
    *options = (db_options){
        .conninfo = "",
        .pool_size = 2,
        .statement_timeout_ms = 30000,
        .lock_timeout_ms = 1000,
        .idle_in_transaction_ms = 60000,
        .search_path = "public",
        .max_result_bytes = 256 * 1024,
        .max_cell_bytes = 8 * 1024,
        .connect_timeout_seconds = 5,
    };
}

/* Cancel requests in flight, across pools: db_pool_free waits for them (briefly). */
static pthread_mutex_t cancels_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cancels_done = PTHREAD_COND_INITIALIZER;
static int cancels_running;

/* One cancel request and its thread. Two owners under cancels_lock: the thread while it
 * runs, and the connection until it lets go (connection_release_cancel); the last to
 * let go frees it. */
typedef struct cancel_job {
    PGcancel *cancel; /* the thread's; freed when it is done */
    bool running;
    bool released; /* the connection no longer holds it */
} cancel_job;

/* PQcancel connects to the postmaster and waits for it to close the connection: with the
 * postmaster stopped or unreachable it blocks, so it runs on a thread of its own and the
 * loop goes on (the call's deadline still ends the call). */
static void *cancel_thread(void *argument) {
    cancel_job *job = argument;
    char message[256];
    (void)PQcancel(job->cancel, message, sizeof message); /* failure: the deadline still bounds the call */
    PQfreeCancel(job->cancel);
    pthread_mutex_lock(&cancels_lock);
    job->cancel = NULL;
    job->running = false;
    if (job->released)
        free(job);
    cancels_running--;
    pthread_cond_broadcast(&cancels_done);
    pthread_mutex_unlock(&cancels_lock);
    return NULL;
}

/* The connection lets go of its last cancel request (its PGconn is closing, or a new request
 * replaces it); a request still on its way is left to its thread. Call with cancels_lock. */
static void release_cancel_locked(connection *conn) {
    cancel_job *job = conn->cancel;
    conn->cancel = NULL;
    if (job == NULL)
        return;
    if (job->running)
        job->released = true;
    else
        free(job);
}

static void connection_release_cancel(connection *conn) {
    pthread_mutex_lock(&cancels_lock);
    release_cancel_locked(conn);
    pthread_mutex_unlock(&cancels_lock);
}

/* Sends a cancel request for whatever the connection runs. PostgreSQL drops a cancel that
 * lands between two messages of the pipeline, so the loop repeats it (CANCEL_REPEAT_MS)
 * until the call ends; a repeat is skipped while the previous request has not been
 * delivered (a stopped postmaster would otherwise collect one blocked thread per repeat). */
static void send_cancel(db_pool *pool, connection *conn) {
    int error = 0;
    pthread_mutex_lock(&cancels_lock);
    bool in_flight = conn->cancel != NULL && conn->cancel->running;
    if (!in_flight) {
        release_cancel_locked(conn);
        cancel_job *job = calloc(1, sizeof *job);
        pthread_attr_t attributes;
        pthread_t thread;
        error = ENOMEM;
        if (job != NULL && (job->cancel = PQgetCancel(conn->pg)) != NULL &&
            (error = pthread_attr_init(&attributes)) == 0) {
            pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
            job->running = true;
            error = pthread_create(&thread, &attributes, cancel_thread, job);
            pthread_attr_destroy(&attributes);
        }
        if (error == 0) {
            cancels_running++;
            conn->cancel = job;
        } else if (job != NULL) {
            PQfreeCancel(job->cancel);
            free(job);
        }
    }
    pthread_mutex_unlock(&cancels_lock);
    if (error != 0)
        log_line(pool, 1, "could not send a cancel request: %s", strerror(error));
    conn->cancel_sent = true;
    conn->cancel_sent_ms = db_now_ms();
    conn->cancels++;
}

/* Waits until every cancel request sent has been delivered, or timeout_ms passed. */
static void wait_for_cancels(int timeout_ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&cancels_lock);
    while (cancels_running > 0 && pthread_cond_timedwait(&cancels_done, &cancels_lock, &until) == 0)
        ;
    pthread_mutex_unlock(&cancels_lock);
}

/* ---- results ---- */

void db_result_free(db_result *result) {
    if (result == NULL)
        return;
    free(result->sqlstate);
    free(result->message);
    free(result->detail);
    free(result->hint);
    for (int i = 0; i < result->column_count; i++) {
        free(result->columns[i].name);
        free(result->columns[i].type_name);
    }
    free(result->columns);
    size_t cells = result->row_count * (size_t)result->column_count;
    for (size_t i = 0; i < cells; i++)
        free(result->cells[i].value);
    free(result->cells);
    free(result);
}

const db_cell *db_result_cell(const db_result *result, size_t row, int column) {
    assert(row < result->row_count && column >= 0 && column < result->column_count);
    return &result->cells[row * (size_t)result->column_count + (size_t)column];
}

/* Sets the call's result to a failure with our own message (replacing an earlier one only
 * when there was none). */
static void fail_call(db_call *call, db_status status, const char *message) {
    db_result *result = call->result;
    if (call->failed)
        return;
    call->failed = true;
    result->status = status;
    free(result->message);
    result->message = str_one_line(message);
}

static void fail_from_pg(db_call *call, const PGresult *pg_result) {
    if (call->failed)
        return;
    const char *state = PQresultErrorField(pg_result, PG_DIAG_SQLSTATE);
    if (call->budget_exhausted && state && strcmp(state, "57014") == 0)
        return; /* our own cancel after the byte budget ran out: the rows so far stand */
    if (call->cancelled && state && strcmp(state, "57014") == 0) {
        fail_call(call, DB_CANCELLED, "the call was cancelled");
        return;
    }
    db_result *result = call->result;
    fail_call(call, DB_SQL_ERROR, PQresultErrorField(pg_result, PG_DIAG_MESSAGE_PRIMARY));
    result->sqlstate = state ? strdup(state) : NULL;
    const char *detail = PQresultErrorField(pg_result, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(pg_result, PG_DIAG_MESSAGE_HINT);
    const char *position = PQresultErrorField(pg_result, PG_DIAG_STATEMENT_POSITION);
    result->detail = detail ? str_one_line(detail) : NULL;
    result->hint = hint ? str_one_line(hint) : NULL;
    result->error_position = position ? atoi(position) : 0;
}

static bool take_columns(db_pool *pool, db_call *call, const PGresult *pg_result) {
    db_result *result = call->result;
    if (result->columns != NULL || result->column_count > 0)
        return true;
    int count = PQnfields(pg_result);
    result->columns = calloc(count ? (size_t)count : 1, sizeof *result->columns);
    if (result->columns == NULL)
        return false;
    result->column_count = count;
    for (int i = 0; i < count; i++) {
        db_column *column = &result->columns[i];
        column->name = strdup(PQfname(pg_result, i));
        column->type_oid = PQftype(pg_result, i);
        const char *known = catalog_type_name(pool->catalog, column->type_oid);
        column->type_name = known ? strdup(known) : str_printf("oid %u", column->type_oid);
        if (column->name == NULL || column->type_name == NULL)
            return false;
    }
    return true;
}

/* Keeps one row (or records why it was dropped). Returns false when memory ran out. */
static bool take_row(db_pool *pool, connection *conn, db_call *call, const PGresult *pg_result) {
    db_result *result = call->result;
    if (call->budget_exhausted || result->truncated == DB_ROW_LIMIT)
        return true;
    if (call->row_limit >= 0 && (long long)result->row_count >= call->row_limit) {
        result->truncated = DB_ROW_LIMIT;
        return true;
    }
    int columns = result->column_count;
    size_t row_bytes = 0;
    for (int i = 0; i < columns; i++)
        if (!PQgetisnull(pg_result, 0, i)) {
            size_t length = (size_t)PQgetlength(pg_result, 0, i);
            row_bytes += length < call->max_cell_bytes ? length : call->max_cell_bytes;
        }
    if (result->bytes + row_bytes > call->max_result_bytes) {
        result->truncated = DB_BYTE_BUDGET;
        call->budget_exhausted = true;
        if (!conn->cancel_sent)
            send_cancel(pool, conn); /* stop the server producing rows nobody will keep */
        return true;
    }
    size_t need = (result->row_count + 1) * (size_t)columns;
    db_cell *cells = realloc(result->cells, (need ? need : 1) * sizeof *cells);
    if (cells == NULL)
        return false;
    result->cells = cells;
    db_cell *row = &cells[result->row_count * (size_t)columns];
    memset(row, 0, (size_t)columns * sizeof *row);
    result->row_count++;
    for (int i = 0; i < columns; i++) {
        if (PQgetisnull(pg_result, 0, i))
            continue;
        const char *value = PQgetvalue(pg_result, 0, i);
        size_t length = (size_t)PQgetlength(pg_result, 0, i);
        size_t kept = str_utf8_prefix(value, length, call->max_cell_bytes);
        row[i].value = str_copy_length(value, kept);
        if (row[i].value == NULL)
            return false;
        row[i].length = kept;
        row[i].full_length = length;
        if (kept < length)
            result->cells_cut++;
        result->bytes += kept;
    }
    return true;
}

/* ---- the queue ---- */

static void enqueue(db_call **head, db_call **tail, db_call *call) {
    call->next = NULL;
    if (*tail)
        (*tail)->next = call;
    else
        *head = call;
    *tail = call;
}

static db_call *dequeue(db_call **head, db_call **tail) {
    db_call *call = *head;
    if (call) {
        *head = call->next;
        if (*head == NULL)
            *tail = NULL;
        call->next = NULL;
    }
    return call;
}

static bool unlink_call(db_call **head, db_call **tail, db_call *target) {
    db_call *previous = NULL;
    for (db_call *call = *head; call; previous = call, call = call->next)
        if (call == target) {
            if (previous)
                previous->next = call->next;
            else
                *head = call->next;
            if (*tail == call)
                *tail = previous;
            call->next = NULL;
            return true;
        }
    return false;
}

static void free_call(db_call *call) {
    free(call->sql);
    for (int i = 0; i < call->param_count; i++)
        free(call->params[i]);
    free(call->params);
    db_result_free(call->result);
    free(call);
}

/* The call is over: its done callback runs at the end of db_pool_process. */
static void finish(db_pool *pool, db_call *call) {
    call->running = NULL;
    if (call->result && call->result->status == DB_OK && call->cancelled)
        fail_call(call, DB_CANCELLED, "the call was cancelled");
    if (call->result)
        call->result->elapsed_ms = call->started_ms ? elapsed_since(call->started_ms) : 0.0;
    enqueue(&pool->finished_head, &pool->finished_tail, call);
}

static void set_last_error(db_pool *pool, const char *message);
static int backoff_ms(int failures);

static void catalog_loaded(db_pool *pool, db_call *call) {
    pool->catalog_loading = false;
    if (call->result->status == DB_OK && catalog_load(pool->catalog, &pool->posture, call->result)) {
        pool->catalog_wanted = false;
        if (!pool->ever_ready) {
            const db_posture *posture = &pool->posture;
            log_line(pool, 2, "connected to database \"%s\" as role \"%s\" (PostgreSQL %s)",
                     posture->database ? posture->database : "?", posture->role ? posture->role : "?",
                     posture->server_version ? posture->server_version : "?");
            int major = guard_server_major(posture->server_version);
            if (major > guard_builtins_version(0))
                log_line(pool, 1,
                         "PostgreSQL %d is newer than the newest built-in table pgsafe has (PostgreSQL %d): "
                         "functions that PostgreSQL %d added are refused as unknown",
                         major, guard_builtins_version(0), major);
            if (posture->can_write)
                log_line(pool, 1,
                         "the role can write (%s): pgsafe still runs only read-only queries, but connect "
                         "with a read-only role (docs/read-only-role.md)",
                         posture->write_reasons ? posture->write_reasons : "?");
        }
        pool->ever_ready = true;
        pool->failures = 0;
        return;
    }
    if (pool->ever_ready) {
        /* A failed reload keeps the catalog we have: it was right a moment ago. */
        log_line(pool, 1, "could not reload the catalog: %s",
                 call->result->message ? call->result->message : "its rows were not understood");
        pool->catalog_wanted = false;
        return;
    }
    /* A failed first load: calls fail with the reason until a retry works. */
    char *why = str_printf("could not load the catalog: %s",
                           call->result->message ? call->result->message : "its rows were not understood");
    set_last_error(pool, why ? why : "could not load the catalog");
    free(why);
    log_line(pool, 1, "%s", pool->last_error ? pool->last_error : "could not load the catalog");
    pool->failures++;
    pool->catalog_retry_at_ms = db_now_ms() + backoff_ms(pool->failures);
}

/* Runs the done callbacks of finished calls; true if there were any. */
static bool run_done(db_pool *pool) {
    bool ran = false;
    db_call *call;
    while ((call = dequeue(&pool->finished_head, &pool->finished_tail)) != NULL) {
        ran = true;
        if (call->kind == CALL_POSTURE) {
            pool->catalog_loading = false;
            if (call->result->status != DB_OK || !catalog_load_posture(&pool->posture, call->result))
                log_line(pool, 3, "the posture check failed; the catalog load repeats it");
            free_call(call);
            continue;
        }
        if (call->kind == CALL_CATALOG) {
            catalog_loaded(pool, call);
            free_call(call);
            continue;
        }
        db_result *result = call->result;
        call->result = NULL;
        db_done_fn done = call->done;
        void *user = call->user;
        free_call(call);
        done(user, result);
    }
    return ran;
}

/* ---- connections ---- */

static void set_last_error(db_pool *pool, const char *message) {
    free(pool->last_error);
    pool->last_error = str_one_line(message);
}

/* why may be PQerrorMessage(conn->pg), which PQfinish frees: the connection closes last. */
static void connection_down(db_pool *pool, connection *conn, const char *why) {
    if (conn->call) {
        db_call *call = conn->call;
        conn->call = NULL;
        if (call->kind == CALL_CATALOG || call->kind == CALL_POSTURE)
            pool->catalog_loading = false;
        if (call->cancelled)
            fail_call(call, DB_CANCELLED, "the call was cancelled");
        else {
            char *message = str_printf("the connection to the database was lost while the statement ran: %s; "
                                       "pgsafe reconnects, so the call can be retried",
                                       why ? why : "unknown cause");
            fail_call(call, DB_CONNECTION_LOST, message ? message : "the connection to the database was lost");
            free(message);
        }
        finish(pool, call);
    }
    if (conn->pg) {
        connection_release_cancel(conn);
        PQfinish(conn->pg);
        conn->pg = NULL;
    }
    conn->state = CONNECTION_DOWN;
    conn->cancel_sent = false;
    conn->want_write = false;
}

static int backoff_ms(int failures) {
    int delay = BACKOFF_FIRST_MS;
    for (int i = 1; i < failures && delay < BACKOFF_MAX_MS; i++)
        delay *= 2;
    return delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS;
}

static void connect_failed(db_pool *pool, connection *conn, const char *why) {
    set_last_error(pool, why);
    pool->failures++;
    log_line(pool, pool->failures == 1 ? 1 : 3, "cannot connect to the database: %s",
             pool->last_error ? pool->last_error : "unknown error");
    connection_down(pool, conn, why);
    conn->retry_at_ms = db_now_ms() + backoff_ms(pool->failures);
}

void db_connect_params(const char *conninfo, const char *connect_timeout, const char *keywords[DB_CONNECT_PARAMS],
                       const char *values[DB_CONNECT_PARAMS]) {
    static const char *const names[DB_CONNECT_PARAMS] = {"application_name", "connect_timeout", "dbname",
                                                         "client_encoding", NULL};
    const char *given[DB_CONNECT_PARAMS] = {"pgsafe", connect_timeout, conninfo ? conninfo : "", "UTF8", NULL};
    for (int i = 0; i < DB_CONNECT_PARAMS; i++) {
        keywords[i] = names[i];
        values[i] = given[i];
    }
}

static void start_connect(db_pool *pool, connection *conn) {
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", pool->options.connect_timeout_seconds);
    const char *keywords[DB_CONNECT_PARAMS], *values[DB_CONNECT_PARAMS];
    db_connect_params(pool->conninfo, timeout, keywords, values);
    conn->pg = PQconnectStartParams(keywords, values, 1);
    conn->connect_started_ms = db_now_ms();
    if (conn->pg == NULL) {
        connect_failed(pool, conn, "out of memory");
        return;
    }
    if (PQstatus(conn->pg) == CONNECTION_BAD) {
        connect_failed(pool, conn, PQerrorMessage(conn->pg));
        return;
    }
    conn->state = CONNECTION_CONNECTING;
    conn->polling = PGRES_POLLING_WRITING;
}

/* Server notices (a shutdown warning, say) go to our log, not straight to stderr. */
static void on_notice(void *context, const char *message) {
    db_pool *pool = context;
    char *line = str_one_line(message);
    log_line(pool, 3, "server notice: %s", line ? line : "?");
    free(line);
}

static void connected(db_pool *pool, connection *conn) {
    PQsetNoticeProcessor(conn->pg, on_notice, pool);
    if (PQsetnonblocking(conn->pg, 1) != 0 || PQenterPipelineMode(conn->pg) != 1) {
        connect_failed(pool, conn, PQerrorMessage(conn->pg));
        return;
    }
    if (pool->failures > 0 || !pool->ever_ready)
        log_line(pool, pool->failures > 0 ? 2 : 3, "connection to the database established");
    pool->failures = 0;
    free(pool->last_error);
    pool->last_error = NULL;
    conn->state = CONNECTION_IDLE;
    if (!pool->ever_ready)
        pool->catalog_wanted = true;
}

static void advance_connect(db_pool *pool, connection *conn) {
    conn->polling = PQconnectPoll(conn->pg);
    if (conn->polling == PGRES_POLLING_OK)
        connected(pool, conn);
    else if (conn->polling == PGRES_POLLING_FAILED)
        connect_failed(pool, conn, PQerrorMessage(conn->pg));
}

/* ---- running a call ---- */

static bool send_all(connection *conn, db_call *call, const db_pool *pool) {
    PGconn *pg = conn->pg;
    const char *settings[4] = {pool->timeout_text[0], pool->timeout_text[1], pool->timeout_text[2], pool->search_path};
    if (!PQsendQueryParams(pg, "BEGIN READ ONLY", 0, NULL, NULL, NULL, NULL, 0))
        return false;
    if (!PQsendQueryParams(pg, settings_sql, 4, NULL, settings, NULL, NULL, 0))
        return false;
    if (!PQsendQueryParams(pg, call->sql, call->param_count, NULL, (const char *const *)call->params, NULL, NULL, 0))
        return false;
    if (!PQsendQueryParams(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0))
        return false;
    return PQpipelineSync(pg) == 1;
}

static void flush(db_pool *pool, connection *conn) {
    int status = PQflush(conn->pg);
    if (status < 0)
        connection_down(pool, conn, PQerrorMessage(conn->pg));
    else
        conn->want_write = status == 1;
}

static void start_call(db_pool *pool, connection *conn, db_call *call) {
    conn->call = call;
    conn->state = CONNECTION_BUSY;
    conn->stage = STAGE_BEGIN;
    conn->cancel_sent = false;
    conn->cancels = 0;
    call->running = conn;
    call->started_ms = db_now_ms();
    if (!send_all(conn, call, pool)) {
        connection_down(pool, conn, PQerrorMessage(conn->pg));
        return;
    }
    flush(pool, conn);
}

/* Consumes every result libpq has complete, advancing the call through its stages. */
static void read_results(db_pool *pool, connection *conn) {
    while (conn->state == CONNECTION_BUSY && !PQisBusy(conn->pg)) {
        db_call *call = conn->call;
        PGresult *pg_result = PQgetResult(conn->pg);
        if (pg_result == NULL) {
            /* The end of one statement's results; the sync result has no NULL after it. */
            if (conn->stage == STAGE_BEGIN || conn->stage == STAGE_SETTINGS || conn->stage == STAGE_STATEMENT ||
                conn->stage == STAGE_ROLLBACK || conn->stage == STAGE_CLEANUP)
                conn->stage++;
            /* Now, before libpq parses any of the statement's rows (PQisBusy does), or they would
             * pile up in one result until the last arrived. */
            if (conn->stage == STAGE_STATEMENT && !call->failed && !PQsetSingleRowMode(conn->pg))
                log_line(pool, 3, "single-row mode was refused; the rows arrive in one result");
            continue;
        }
        ExecStatusType status = PQresultStatus(pg_result);
        switch (status) {
        case PGRES_SINGLE_TUPLE:
            if (!take_columns(pool, call, pg_result) || !take_row(pool, conn, call, pg_result))
                fail_call(call, DB_SQL_ERROR, "out of memory while reading the result");
            break;
        case PGRES_TUPLES_OK:
            if (conn->stage == STAGE_STATEMENT) {
                if (!take_columns(pool, call, pg_result))
                    fail_call(call, DB_SQL_ERROR, "out of memory while reading the result");
                /* Without single-row mode every row arrives here at once. */
                for (int row = 0; row < PQntuples(pg_result) && !call->failed; row++) {
                    PGresult *copy = PQcopyResult(pg_result, PG_COPYRES_ATTRS);
                    bool ok = copy != NULL;
                    for (int i = 0; ok && i < PQnfields(pg_result); i++)
                        ok = PQsetvalue(copy, 0, i,
                                        PQgetisnull(pg_result, row, i) ? NULL : PQgetvalue(pg_result, row, i),
                                        PQgetisnull(pg_result, row, i) ? -1 : PQgetlength(pg_result, row, i));
                    if (!ok || !take_row(pool, conn, call, copy))
                        fail_call(call, DB_SQL_ERROR, "out of memory while reading the result");
                    PQclear(copy);
                }
            }
            break;
        case PGRES_COMMAND_OK:
        case PGRES_PIPELINE_ABORTED: break;
        case PGRES_PIPELINE_SYNC:
            if (conn->stage == STAGE_SYNC && PQtransactionStatus(conn->pg) != PQTRANS_IDLE) {
                /* An error stopped the pipeline before our ROLLBACK: end the transaction now. */
                conn->stage = STAGE_CLEANUP;
                if (!PQsendQueryParams(conn->pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) ||
                    PQpipelineSync(conn->pg) != 1) {
                    PQclear(pg_result);
                    connection_down(pool, conn, PQerrorMessage(conn->pg));
                    return;
                }
                flush(pool, conn);
            } else {
                conn->call = NULL;
                conn->state = CONNECTION_IDLE;
                finish(pool, call);
                if (conn->cancel_sent) {
                    /* A cancel request may still be in flight and would hit the next call: start afresh. */
                    PQclear(pg_result);
                    connection_down(pool, conn, NULL);
                    conn->retry_at_ms = 0;
                    return;
                }
            }
            break;
        default: /* PGRES_FATAL_ERROR and anything unexpected */
            if (conn->stage == STAGE_CLEANUP) {
                PQclear(pg_result);
                connection_down(pool, conn, "the transaction could not be rolled back");
                return;
            }
            fail_from_pg(call, pg_result);
            break;
        }
        PQclear(pg_result);
    }
}

/* When pgsafe gives up on the call the connection runs. */
static int64_t call_deadline_ms(const db_pool *pool, const connection *conn) {
    return conn->call->started_ms + pool->options.statement_timeout_ms + DEADLINE_GRACE_MS;
}

/* The server did not answer by the deadline: the call fails, the connection is closed (its
 * backend may wake up later; it then finds the socket gone and ends) and a new one opens. */
static void expire_call(db_pool *pool, connection *conn) {
    char *message = str_printf("the database did not answer within %d ms after the statement timeout (%d ms); "
                               "the connection was closed and pgsafe reconnects, so the call can be retried",
                               DEADLINE_GRACE_MS, pool->options.statement_timeout_ms);
    log_line(pool, 1, "%s", message ? message : "the database did not answer after the statement timeout");
    fail_call(conn->call, conn->call->cancelled ? DB_CANCELLED : DB_CONNECTION_LOST,
              conn->call->cancelled ? "the call was cancelled"
              : message             ? message
                                    : "the database did not answer");
    free(message);
    connection_down(pool, conn, NULL);
    conn->retry_at_ms = 0;
}

static void service_connection(db_pool *pool, connection *conn, short revents) {
    if (conn->state == CONNECTION_CONNECTING) {
        if (revents & (POLLIN | POLLOUT | POLLERR | POLLHUP))
            advance_connect(pool, conn);
        return;
    }
    if (conn->state == CONNECTION_BUSY && conn->want_write && (revents & POLLOUT))
        flush(pool, conn);
    if (conn->state != CONNECTION_BUSY && conn->state != CONNECTION_IDLE)
        return;
    if (revents & (POLLIN | POLLERR | POLLHUP)) {
        if (!PQconsumeInput(conn->pg) || PQstatus(conn->pg) == CONNECTION_BAD) {
            connection_down(pool, conn, PQerrorMessage(conn->pg));
            return;
        }
        if (conn->state == CONNECTION_BUSY)
            read_results(pool, conn);
        else
            while (PQnotifies(conn->pg) != NULL) /* ours never LISTEN; drop anything stray */
                ;
    }
}

/* ---- the pool ---- */

static char *pinned_search_path(const char *schemas) {
    /* pg_catalog first: a user object can never shadow a built-in the guard approved. */
    return str_printf("pg_catalog, %s", schemas && *schemas ? schemas : "public");
}

db_pool *db_pool_new(const db_options *options, db_log_fn log, void *log_context, char **error) {
    *error = NULL;
    if (options->pool_size < 1 || options->pool_size > 64) {
        *error = strdup("the pool size must be between 1 and 64");
        return NULL;
    }
    db_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL) {
        *error = strdup("out of memory");
        return NULL;
    }
    pool->options = *options;
    pool->log = log;
    pool->log_context = log_context;
    pool->conninfo = strdup(options->conninfo ? options->conninfo : "");
    pool->search_path = pinned_search_path(options->search_path);
    pool->connections = calloc((size_t)options->pool_size, sizeof *pool->connections);
    pool->catalog = catalog_new();
    pool->connection_count = options->pool_size;
    snprintf(pool->timeout_text[0], sizeof pool->timeout_text[0], "%d", options->statement_timeout_ms);
    snprintf(pool->timeout_text[1], sizeof pool->timeout_text[1], "%d", options->lock_timeout_ms);
    snprintf(pool->timeout_text[2], sizeof pool->timeout_text[2], "%d", options->idle_in_transaction_ms);
    if (pool->conninfo == NULL || pool->search_path == NULL || pool->connections == NULL || pool->catalog == NULL) {
        db_pool_free(pool);
        *error = strdup("out of memory");
        return NULL;
    }
    pool->options.conninfo = pool->conninfo;
    pool->options.search_path = NULL;
    pool->catalog_wanted = true;
    /* One connection first; the others open once it works, so a dead server costs one attempt. */
    start_connect(pool, &pool->connections[0]);
    return pool;
}

static void fail_queued(db_pool *pool, db_status status, const char *message) {
    db_call *call;
    while ((call = dequeue(&pool->queue_head, &pool->queue_tail)) != NULL) {
        fail_call(call, call->cancelled ? DB_CANCELLED : status, call->cancelled ? "the call was cancelled" : message);
        finish(pool, call);
    }
}

void db_pool_free(db_pool *pool) {
    if (pool == NULL)
        return;
    /* Twice, a moment apart: the first may land between the pipeline's messages. Delivered
     * before the connections close, or a statement that sends nothing would run on (within a
     * bound: a postmaster that does not answer must not hold the shutdown). */
    bool cancelled = false;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < pool->connection_count; i++) {
            connection *conn = &pool->connections[i];
            if (conn->state == CONNECTION_BUSY && conn->call && conn->call->kind == CALL_STATEMENT) {
                send_cancel(pool, conn);
                cancelled = true;
            }
        }
        if (cancelled && round == 0) {
            struct timespec pause = {.tv_sec = 0, .tv_nsec = 20 * 1000000};
            nanosleep(&pause, NULL);
        }
    }
    if (cancelled)
        wait_for_cancels(SHUTDOWN_CANCEL_WAIT_MS);
    for (int i = 0; i < pool->connection_count; i++) {
        connection *conn = &pool->connections[i];
        if (conn->call) {
            db_call *call = conn->call;
            conn->call = NULL;
            fail_call(call, DB_SHUTDOWN, "the server is shutting down");
            finish(pool, call);
        }
        connection_release_cancel(conn);
        if (conn->pg)
            PQfinish(conn->pg);
        conn->pg = NULL;
    }
    /* A done callback may queue a follow-up call; it fails too, until nothing is left. */
    while (pool->queue_head || pool->finished_head) {
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

static bool any_connection_up(const db_pool *pool) {
    for (int i = 0; i < pool->connection_count; i++)
        if (pool->connections[i].state == CONNECTION_IDLE || pool->connections[i].state == CONNECTION_BUSY)
            return true;
    return false;
}

static bool any_connecting(const db_pool *pool) {
    for (int i = 0; i < pool->connection_count; i++)
        if (pool->connections[i].state == CONNECTION_CONNECTING)
            return true;
    return false;
}

db_pool_state db_pool_state_now(const db_pool *pool) {
    if (any_connection_up(pool) && pool->ever_ready)
        return DB_POOL_READY;
    if (any_connecting(pool) || any_connection_up(pool))
        return DB_POOL_CONNECTING;
    return DB_POOL_DOWN;
}

const char *db_pool_last_error(const db_pool *pool) {
    return pool->last_error;
}

bool db_pool_idle(const db_pool *pool) {
    if (pool->queue_head)
        return false;
    for (int i = 0; i < pool->connection_count; i++)
        if (pool->connections[i].state == CONNECTION_BUSY && pool->connections[i].call->kind == CALL_STATEMENT)
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
    for (int i = 0; i < pool->connection_count && count < max; i++) {
        connection *conn = &pool->connections[i];
        if (conn->pg == NULL || conn->state == CONNECTION_DOWN)
            continue;
        int socket = PQsocket(conn->pg);
        if (socket < 0)
            continue;
        short events = POLLIN;
        if (conn->state == CONNECTION_CONNECTING)
            events = conn->polling == PGRES_POLLING_WRITING ? POLLOUT : POLLIN;
        else if (conn->want_write)
            events |= POLLOUT;
        fds[count++] = (struct pollfd){.fd = socket, .events = events, .revents = 0};
    }
    return count;
}

int db_pool_timeout(const db_pool *pool) {
    int64_t now = db_now_ms(), soonest = -1;
    for (int i = 0; i < pool->connection_count; i++) {
        const connection *conn = &pool->connections[i];
        int64_t due = -1;
        if (conn->state == CONNECTION_DOWN && conn->retry_at_ms > 0)
            due = conn->retry_at_ms;
        else if (conn->state == CONNECTION_CONNECTING)
            due = conn->connect_started_ms + (int64_t)pool->options.connect_timeout_seconds * 1000;
        else if (conn->state == CONNECTION_BUSY) {
            due = call_deadline_ms(pool, conn);
            if (conn->cancel_sent && conn->cancels < CANCEL_REPEATS && conn->cancel_sent_ms + CANCEL_REPEAT_MS < due)
                due = conn->cancel_sent_ms + CANCEL_REPEAT_MS;
        }
        if (due >= 0 && (soonest < 0 || due < soonest))
            soonest = due;
    }
    if (pool->catalog_wanted && !pool->catalog_loading && pool->catalog_retry_at_ms > 0 &&
        (soonest < 0 || pool->catalog_retry_at_ms < soonest))
        soonest = pool->catalog_retry_at_ms;
    if (pool->finished_head)
        return 0;
    if (soonest < 0)
        return -1;
    return soonest <= now ? 0 : (int)(soonest - now);
}

/* Opens connections that are due: the first always (with backoff), the rest only while
 * the pool has work waiting and at least one connection works. */
static void open_connections(db_pool *pool) {
    int64_t now = db_now_ms();
    bool up = any_connection_up(pool);
    bool busy = pool->queue_head != NULL;
    for (int i = 0; i < pool->connection_count; i++) {
        connection *conn = &pool->connections[i];
        if (conn->state == CONNECTION_CONNECTING &&
            now - conn->connect_started_ms > (int64_t)pool->options.connect_timeout_seconds * 1000) {
            char *message = str_printf("timeout expired after %d s", pool->options.connect_timeout_seconds);
            connect_failed(pool, conn, message ? message : "timeout expired");
            free(message);
            continue;
        }
        if (conn->state != CONNECTION_DOWN || now < conn->retry_at_ms)
            continue;
        if (i == 0 || (up && busy && !any_connecting(pool)))
            start_connect(pool, conn);
    }
}

static connection *idle_connection(db_pool *pool) {
    for (int i = 0; i < pool->connection_count; i++)
        if (pool->connections[i].state == CONNECTION_IDLE)
            return &pool->connections[i];
    return NULL;
}

static db_call *new_call(call_kind kind) {
    db_call *call = calloc(1, sizeof *call);
    if (call == NULL)
        return NULL;
    call->kind = kind;
    call->result = calloc(1, sizeof *call->result);
    if (call->result == NULL) {
        free(call);
        return NULL;
    }
    call->row_limit = -1;
    return call;
}

static void fail_waiting(db_pool *pool, bool all) {
    db_call *keep_head = NULL, *keep_tail = NULL, *call;
    while ((call = dequeue(&pool->queue_head, &pool->queue_tail)) != NULL) {
        if (all || call->skip_wait) {
            char *message = str_printf("the database is unavailable: %s; pgsafe keeps trying to reconnect, "
                                       "so retry in a few seconds",
                                       pool->last_error ? pool->last_error : "no connection yet");
            fail_call(call, DB_UNAVAILABLE, message ? message : "the database is unavailable");
            free(message);
            finish(pool, call);
        } else {
            enqueue(&keep_head, &keep_tail, call);
        }
    }
    pool->queue_head = keep_head;
    pool->queue_tail = keep_tail;
}

/* The first load checks the posture alone first, so that it is known a few milliseconds
 * earlier (initialize waits for it); the full load then repeats it with the catalog. */
static void start_catalog_load(db_pool *pool) {
    connection *conn = idle_connection(pool);
    if (conn == NULL || db_now_ms() < pool->catalog_retry_at_ms)
        return;
    bool posture_first = !pool->posture.known && !pool->posture_tried;
    db_call *load = new_call(posture_first ? CALL_POSTURE : CALL_CATALOG);
    if (load == NULL || (load->sql = strdup(posture_first ? catalog_posture_sql() : catalog_load_sql())) == NULL) {
        if (load)
            free_call(load);
        return;
    }
    pool->posture_tried = posture_first || pool->posture_tried;
    load->max_result_bytes = SIZE_MAX;
    load->max_cell_bytes = SIZE_MAX;
    pool->catalog_loading = true;
    start_call(pool, conn, load);
}

/* Starts what can start. Calls wait while a connection or the catalog is on its way, and
 * fail with the reason once an attempt has failed, so a caller never waits on a dead server. */
static void dispatch(db_pool *pool) {
    if (pool->catalog_wanted && !pool->catalog_loading)
        start_catalog_load(pool);
    bool ready = pool->ever_ready && any_connection_up(pool) && !pool->catalog_wanted && !pool->catalog_loading;
    if (!ready) {
        fail_waiting(pool, pool->failures > 0);
        return;
    }
    while (pool->queue_head) {
        if (pool->queue_head->kind == CALL_BARRIER) {
            finish(pool, dequeue(&pool->queue_head, &pool->queue_tail));
            continue;
        }
        connection *conn = idle_connection(pool);
        if (conn == NULL)
            break;
        start_call(pool, conn, dequeue(&pool->queue_head, &pool->queue_tail));
    }
}

void db_pool_process(db_pool *pool, const struct pollfd *fds, int count) {
    for (int i = 0; i < pool->connection_count; i++) {
        connection *conn = &pool->connections[i];
        if (conn->pg == NULL)
            continue;
        int socket = PQsocket(conn->pg);
        for (int j = 0; j < count; j++)
            if (fds[j].fd == socket && fds[j].revents) {
                service_connection(pool, conn, fds[j].revents);
                break;
            }
    }
    int64_t now = db_now_ms();
    for (int i = 0; i < pool->connection_count; i++) {
        connection *conn = &pool->connections[i];
        if (conn->state == CONNECTION_BUSY && now >= call_deadline_ms(pool, conn)) {
            expire_call(pool, conn);
            continue;
        }
        if (conn->state == CONNECTION_BUSY && conn->cancel_sent && conn->cancels < CANCEL_REPEATS &&
            now - conn->cancel_sent_ms >= CANCEL_REPEAT_MS)
            send_cancel(pool, conn);
    }
    /* Done callbacks may queue follow-up calls, and the pool's own loads make it ready:
     * dispatch again until nothing more finishes. */
    do {
        open_connections(pool);
        dispatch(pool);
    } while (run_done(pool));
}

db_call *db_submit(db_pool *pool, const db_request *request, db_done_fn done, void *user) {
    db_call *call = new_call(request->sql ? CALL_STATEMENT : CALL_BARRIER);
    if (call == NULL)
        return NULL;
    call->done = done;
    call->user = user;
    call->row_limit = request->row_limit;
    call->skip_wait = request->skip_wait;
    call->max_result_bytes = request->max_result_bytes ? request->max_result_bytes : pool->options.max_result_bytes;
    call->max_cell_bytes = request->max_cell_bytes ? request->max_cell_bytes : pool->options.max_cell_bytes;
    bool ok = true;
    if (request->sql) {
        call->sql = strdup(request->sql);
        ok = call->sql != NULL;
        if (ok && request->param_count > 0) {
            call->params = calloc((size_t)request->param_count, sizeof *call->params);
            ok = call->params != NULL;
            for (int i = 0; ok && i < request->param_count; i++) {
                call->param_count = i + 1;
                if (request->params[i] && (call->params[i] = strdup(request->params[i])) == NULL)
                    ok = false;
            }
        }
    }
    if (!ok) {
        free_call(call);
        return NULL;
    }
    enqueue(&pool->queue_head, &pool->queue_tail, call);
    return call;
}

void db_cancel(db_pool *pool, db_call *call) {
    if (call->cancelled)
        return;
    call->cancelled = true;
    if (unlink_call(&pool->queue_head, &pool->queue_tail, call)) {
        fail_call(call, DB_CANCELLED, "the call was cancelled");
        finish(pool, call);
        return;
    }
    connection *conn = call->running;
    if (conn && !conn->cancel_sent && conn->pg)
        send_cancel(pool, conn);
}
