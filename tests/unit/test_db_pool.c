/* Unit tests of the pool and its connections' state machine (src/db/pool.h, src/db/conn.h),
 * with Check and a fake connection: the pool is made with db_pool_new_with_ops and a
 * conn_ops table whose "libpq" answers from a script, with real PGresults built by
 * PQmakeEmptyPGresult. No database, no socket: the tests set every polled event ready and
 * call db_pool_process, so each step of the state machine is driven by hand.
 *
 * The fake's server understands the pipeline the pool sends: BEGIN READ ONLY, the settings,
 * the statement, ROLLBACK, Sync. Statements it knows:
 *   the posture and catalog queries   a fixed role "alice" on "shop", the text type
 *   SELECT rows                       fake.rows rows of one text column, "row 0", ...
 *   SELECT error                      an error, which aborts the rest of the pipeline
 *   SELECT hold                       nothing until fake.release (or a cancel request)
 *   SELECT stuck                      nothing until fake.release, cancel or not (a backend
 *                                     in libxml2's XPath, or stopped)
 *   EXPLAIN (FORMAT JSON) SELECT ...  a plan of cost 1e12 for SELECT costly, 10 otherwise;
 *                                     nothing until fake.release for SELECT stuck
 *
 * The binary is linked with --wrap for malloc, calloc, realloc and strdup, so a test can make
 * the Nth allocation fail (fail_allocation_after), and with --wrap for db_now_ms, so a test
 * can move the pool's clock forward (fake.clock_ms) past a call's deadline.
 *
 *   ./test_db_pool
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_db_pool */
#include <check.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/conn.h"
#include "db/pool.h"
#include "db/redact.h"
#include "fail_alloc.h"

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))
#define OID_TEXT            25

/* ---------------------------------------------------------------------------------------
 * The fake connection
 * ------------------------------------------------------------------------------------- */

/* The fake's own checks: Check's assertions allocate (to report where they are), which a
 * test that makes allocations fail must not disturb. A failure aborts the forked test. */
#define require(condition)                                                                                             \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            fprintf(stderr, "%s:%d: the fake expected %s\n", __FILE__, __LINE__, #condition);                          \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

#define MAX_ITEMS   32
#define MAX_RESULTS 64

typedef struct fake_conn {
    int socket;
    char *items[MAX_ITEMS]; /* queries sent and not yet answered; NULL entries are Syncs */
    int item_count;
    PGresult *out[MAX_RESULTS]; /* the answer to items[0] being handed out; NULL entries end a query's results */
    int out_next, out_count;
    bool answering;       /* out holds the answer to items[0] */
    bool single_row_next; /* PQsetSingleRowMode was called for the next query */
    bool in_transaction;  /* BEGIN ran and no ROLLBACK yet */
    bool aborted;         /* an error aborted the pipeline until the next Sync */
    bool jit_off;         /* this transaction's settings turned JIT off (the pool's own loads only) */
    int notifies_pending; /* notifications PQnotifies will hand out */
    bool broken;          /* the socket failed: consume_input fails, status is bad */
} fake_conn;

static struct {
    int connects, finishes, cancels, syncs, single_row_calls;
    int notifies_made, notifies_freed;
    bool refuse;                /* connect_poll fails */
    const char *error;          /* the PGconn's error message; NULL for the default */
    const char *held;           /* the clean check's answer: NULL for "", else what the session holds */
    bool check_fails;           /* the clean check is an error */
    bool cancel_hits_rollback;  /* once a cancel was sent, the next ROLLBACK is cancelled */
    int checks;                 /* clean checks answered */
    bool release;               /* SELECT hold answers */
    int rows;                   /* rows of SELECT rows */
    int statements;             /* SELECT statements sent, the pool's own included */
    int explains;               /* EXPLAIN statements sent */
    fake_conn *last;            /* the last connection made */
    const char *server_version; /* what the posture query reports; NULL: "15.4" */
    int64_t clock_ms;           /* added to the real clock (db_now_ms is wrapped) */
} fake;

int64_t __real_db_now_ms(void);
int64_t __wrap_db_now_ms(void);
int64_t __wrap_db_now_ms(void) {
    return __real_db_now_ms() + fake.clock_ms;
}

static const char *const four_names[] = {"kind", "a", "b", "c"};
static const Oid four_types[] = {OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT};

/* A result with columns and rows of text (values row-major, NULL for SQL NULL). */
static PGresult *make_result(ExecStatusType status, int columns, const char *const *names, const Oid *types, int rows,
                             const char *const *values) {
    PGresult *result = PQmakeEmptyPGresult(NULL, status);
    require(result != NULL);
    PGresAttDesc attributes[8];
    require(columns <= 8);
    for (int i = 0; i < columns; i++)
        attributes[i] =
            (PGresAttDesc){.name = (char *)names[i], .typid = types[i], .typlen = -1, .atttypmod = -1, .format = 0};
    if (columns > 0)
        require(PQsetResultAttrs(result, columns, attributes));
    for (int row = 0; row < rows; row++)
        for (int i = 0; i < columns; i++) {
            const char *value = values[row * columns + i];
            require(PQsetvalue(result, row, i, (char *)value, value ? (int)strlen(value) : -1));
        }
    return result;
}

static void put(fake_conn *conn, PGresult *result) {
    require(conn->out_count < MAX_RESULTS);
    conn->out[conn->out_count++] = result;
}

/* Rows of four text columns, each row given as four values. */
static void put_rows(fake_conn *conn, bool single_row, const char *const *values, int rows) {
    if (single_row) {
        for (int row = 0; row < rows; row++)
            put(conn, make_result(PGRES_SINGLE_TUPLE, 4, four_names, four_types, 1, &values[row * 4]));
        put(conn, make_result(PGRES_TUPLES_OK, 4, four_names, four_types, 0, NULL));
    } else {
        put(conn, make_result(PGRES_TUPLES_OK, 4, four_names, four_types, rows, values));
    }
}

static void put_statement_rows(fake_conn *conn, bool single_row, int rows) {
    static const char *const name[] = {"v"};
    static const Oid type[] = {OID_TEXT};
    char texts[64][16];
    const char *values[64];
    require(rows <= 64);
    for (int row = 0; row < rows; row++) {
        snprintf(texts[row], sizeof texts[row], "row %d", row);
        values[row] = texts[row];
    }
    if (single_row) {
        for (int row = 0; row < rows; row++)
            put(conn, make_result(PGRES_SINGLE_TUPLE, 1, name, type, 1, &values[row]));
        put(conn, make_result(PGRES_TUPLES_OK, 1, name, type, 0, NULL));
    } else {
        put(conn, make_result(PGRES_TUPLES_OK, 1, name, type, rows, values));
    }
}

/* Fills out with the answer to items[0], as PostgreSQL would give it now. */
static void answer(fake_conn *conn) {
    const char *version = fake.server_version != NULL ? fake.server_version : "15.4";
    const char *const posture[] = {"role", "alice", "shop", version};
    const char *const catalog[] = {"n", "25", "text", NULL, "f", "public", "f1", "i", "role", "alice", "shop", version};
    const char *sql = conn->items[0];
    bool single_row = conn->single_row_next;
    conn->single_row_next = false;
    conn->out_next = conn->out_count = 0;
    conn->answering = true;
    if (sql == NULL) {
        put(conn, make_result(PGRES_PIPELINE_SYNC, 0, NULL, NULL, 0, NULL));
        conn->aborted = false;
        fake.syncs++;
        return;
    }
    if (conn->aborted)
        put(conn, make_result(PGRES_PIPELINE_ABORTED, 0, NULL, NULL, 0, NULL));
    else if (strcmp(sql, "BEGIN READ ONLY") == 0) {
        conn->in_transaction = true;
        put(conn, make_result(PGRES_COMMAND_OK, 0, NULL, NULL, 0, NULL));
    } else if (strcmp(sql, "ROLLBACK") == 0 && fake.cancel_hits_rollback && fake.cancels > 0) {
        fake.cancel_hits_rollback = false; /* the request is spent; the transaction stays open */
        conn->aborted = true;
        put(conn, make_result(PGRES_FATAL_ERROR, 0, NULL, NULL, 0, NULL));
    } else if (strcmp(sql, "ROLLBACK") == 0) {
        conn->in_transaction = false;
        conn->jit_off = false;
        put(conn, make_result(PGRES_COMMAND_OK, 0, NULL, NULL, 0, NULL));
    } else if (strncmp(sql, "SELECT pg_catalog.set_config", 28) == 0) {
        conn->jit_off = strstr(sql, "set_config('jit', 'off', true)") != NULL;
        put(conn, make_result(PGRES_TUPLES_OK, 0, NULL, NULL, 0, NULL));
    } else if (strncmp(sql, "SELECT 'role'", 13) == 0) {
        require(conn->jit_off); /* JIT compiling the loads took seconds */
        put_rows(conn, single_row, posture, 1);
    } else if (strncmp(sql, "SELECT 'f'", 10) == 0) {
        require(conn->jit_off);
        put_rows(conn, single_row, catalog, 3);
    } else if (strcmp(sql, conn_clean_check_sql) == 0) {
        static const char *const name[] = {"concat_ws"};
        static const Oid type[] = {OID_TEXT};
        const char *held[] = {fake.held ? fake.held : ""};
        fake.checks++;
        if (fake.check_fails) {
            conn->aborted = true;
            put(conn, make_result(PGRES_FATAL_ERROR, 0, NULL, NULL, 0, NULL));
        } else {
            put(conn, make_result(PGRES_TUPLES_OK, 1, name, type, 1, held));
        }
    } else if (strcmp(sql, "SELECT error") == 0) {
        conn->aborted = true;
        put(conn, make_result(PGRES_FATAL_ERROR, 0, NULL, NULL, 0, NULL));
    } else if (strncmp(sql, "EXPLAIN (FORMAT JSON) ", 22) == 0) {
        static const char *const name[] = {"QUERY PLAN"};
        static const Oid type[] = {114};
        const char *plan[] = {strstr(sql, "SELECT costly")
                                  ? "[{\"Plan\": {\"Node Type\": \"Result\", \"Total Cost\": 1e12, \"Plan Rows\": 1}}]"
                                  : "[{\"Plan\": {\"Node Type\": \"Result\", \"Total Cost\": 10, \"Plan Rows\": 1}}]"};
        put(conn, make_result(PGRES_TUPLES_OK, 1, name, type, 1, plan));
    } else if (strcmp(sql, "SELECT stuck") == 0) {
        put_statement_rows(conn, single_row, 0); /* released: it ends with the pending cancel */
    } else if (strcmp(sql, "SELECT hold") == 0) {
        put_statement_rows(conn, single_row, fake.cancels > 0 ? 0 : 1); /* a cancel ends it without rows */
    } else {
        require(strcmp(sql, "SELECT rows") == 0);
        require(!conn->jit_off); /* a caller's statement keeps the server's JIT setting */
        put_statement_rows(conn, single_row, fake.rows);
    }
    put(conn, NULL);
}

static fake_conn *as_fake(const PGconn *pg) {
    return (fake_conn *)pg;
}

static PGconn *fake_connect_start(const char *const *keywords, const char *const *values, int expand_dbname) {
    require(strcmp(keywords[0], "application_name") == 0);
    require(strcmp(values[0], "pgsafe") == 0);
    require(expand_dbname == 1);
    fake_conn *conn = __real_calloc(1, sizeof *conn);
    if (conn == NULL)
        return NULL;
    conn->socket = 100 + fake.connects++;
    fake.last = conn;
    return (PGconn *)conn;
}

static PostgresPollingStatusType fake_connect_poll(PGconn *pg) {
    (void)pg;
    return fake.refuse ? PGRES_POLLING_FAILED : PGRES_POLLING_OK;
}

static ConnStatusType fake_status(const PGconn *pg) {
    return fake.refuse || as_fake(pg)->broken ? CONNECTION_BAD : CONNECTION_OK;
}

static char *fake_error_message(const PGconn *pg) {
    (void)pg;
    return (char *)(fake.error ? fake.error : "connection refused by the fake\n");
}

/* The real redaction, without a PGconn to ask for the password it used. */
static char *fake_redact(const char *message, const char *conninfo, const PGconn *pg) {
    (void)pg;
    return db_redact(message, conninfo, NULL);
}

static int fake_socket(const PGconn *pg) {
    return as_fake(pg)->socket;
}

static PQnoticeProcessor fake_set_notice_processor(PGconn *pg, PQnoticeProcessor processor, void *argument) {
    (void)pg, (void)processor, (void)argument;
    return NULL;
}

static int fake_set_nonblocking(PGconn *pg, int on) {
    (void)pg;
    require(on == 1);
    return 0;
}

static int fake_enter_pipeline_mode(PGconn *pg) {
    (void)pg;
    return 1;
}

static int fake_send_query_params(PGconn *pg, const char *command, int count, const Oid *types,
                                  const char *const *values, const int *lengths, const int *formats,
                                  int result_format) {
    (void)count, (void)types, (void)values, (void)lengths, (void)formats, (void)result_format;
    fake_conn *conn = as_fake(pg);
    require(conn->item_count < MAX_ITEMS);
    if (strncmp(command, "SELECT", 6) == 0 && strncmp(command, "SELECT pg_catalog.set_config", 28) != 0 &&
        strcmp(command, conn_clean_check_sql) != 0)
        fake.statements++;
    if (strncmp(command, "EXPLAIN", 7) == 0)
        fake.explains++;
    conn->items[conn->item_count] = __real_strdup(command);
    require(conn->items[conn->item_count] != NULL);
    conn->item_count++;
    return 1;
}

static int fake_pipeline_sync(PGconn *pg) {
    fake_conn *conn = as_fake(pg);
    require(conn->item_count < MAX_ITEMS);
    conn->items[conn->item_count++] = NULL;
    return 1;
}

static int fake_send_flush_request(PGconn *pg) {
    (void)pg;
    return 1;
}

static int fake_flush(PGconn *pg) {
    (void)pg;
    return 0;
}

static int fake_consume_input(PGconn *pg) {
    return !as_fake(pg)->broken;
}

/* Busy while nothing is queued, or while SELECT hold waits for its answer. */
static int fake_is_busy(PGconn *pg) {
    fake_conn *conn = as_fake(pg);
    if (conn->answering)
        return 0;
    if (conn->item_count == 0)
        return 1;
    const char *next = conn->items[0];
    if (next != NULL && !conn->aborted && strstr(next, "SELECT stuck") != NULL)
        return !fake.release;
    return next != NULL && !conn->aborted && strcmp(next, "SELECT hold") == 0 && !fake.release && fake.cancels == 0;
}

static PGresult *fake_get_result(PGconn *pg) {
    fake_conn *conn = as_fake(pg);
    require(!fake_is_busy(pg)); /* the pool must never wait inside PQgetResult */
    if (!conn->answering)
        answer(conn);
    PGresult *result = conn->out[conn->out_next++];
    if (conn->out_next == conn->out_count) {
        conn->answering = false;
        free(conn->items[0]);
        memmove(conn->items, conn->items + 1, (size_t)(conn->item_count - 1) * sizeof *conn->items);
        conn->item_count--;
    }
    return result;
}

static int fake_set_single_row_mode(PGconn *pg) {
    fake.single_row_calls++;
    as_fake(pg)->single_row_next = true;
    return 1;
}

static PGTransactionStatusType fake_transaction_status(const PGconn *pg) {
    const fake_conn *conn = as_fake(pg);
    return !conn->in_transaction ? PQTRANS_IDLE : conn->aborted ? PQTRANS_INERROR : PQTRANS_INTRANS;
}

static PGnotify *fake_notifies(PGconn *pg) {
    fake_conn *conn = as_fake(pg);
    if (conn->notifies_pending == 0)
        return NULL;
    conn->notifies_pending--;
    fake.notifies_made++;
    PGnotify *notify = __real_calloc(1, sizeof *notify);
    require(notify != NULL);
    return notify;
}

static void fake_free_memory(void *pointer) {
    fake.notifies_freed++;
    free(pointer);
}

static void fake_finish(PGconn *pg) {
    fake_conn *conn = as_fake(pg);
    fake.finishes++;
    for (int i = 0; i < conn->item_count; i++)
        free(conn->items[i]);
    for (int i = conn->answering ? conn->out_next : conn->out_count; i < conn->out_count; i++)
        PQclear(conn->out[i]);
    if (fake.last == conn)
        fake.last = NULL;
    free(conn);
}

static int fake_backend_pid(const PGconn *pg) {
    return 4000 + as_fake(pg)->socket;
}

static int fake_cancel_send(cancel_job **job, PGconn *pg) {
    (void)job, (void)pg;
    fake.cancels++;
    return 0;
}

static void fake_cancel_release(cancel_job **job) {
    require(*job == NULL); /* the fake never makes one */
}

static const conn_ops fake_ops = {
    .connect_start = fake_connect_start,
    .connect_poll = fake_connect_poll,
    .status = fake_status,
    .error_message = fake_error_message,
    .socket = fake_socket,
    .set_notice_processor = fake_set_notice_processor,
    .set_nonblocking = fake_set_nonblocking,
    .enter_pipeline_mode = fake_enter_pipeline_mode,
    .send_query_params = fake_send_query_params,
    .pipeline_sync = fake_pipeline_sync,
    .send_flush_request = fake_send_flush_request,
    .flush = fake_flush,
    .consume_input = fake_consume_input,
    .is_busy = fake_is_busy,
    .get_result = fake_get_result,
    .set_single_row_mode = fake_set_single_row_mode,
    .transaction_status = fake_transaction_status,
    .notifies = fake_notifies,
    .free_memory = fake_free_memory,
    .finish = fake_finish,
    .backend_pid = fake_backend_pid,
    .cancel_send = fake_cancel_send,
    .cancel_release = fake_cancel_release,
    .redact = fake_redact,
};

/* ---------------------------------------------------------------------------------------
 * Driving the pool
 * ------------------------------------------------------------------------------------- */

typedef struct outcome {
    int calls;         /* done callbacks run */
    db_result *result; /* the last one's */
} outcome;

static void on_done(void *user, db_result *result) {
    outcome *seen = user;
    seen->calls++;
    db_result_free(seen->result);
    seen->result = result;
}

static void setup(void) {
    memset(&fake, 0, sizeof fake);
    fake.rows = 3;
    fail_allocation_after(-1);
}

static db_pool *new_pool(int size) {
    db_options options;
    db_pool_options_init(&options);
    options.pool_size = size;
    char *error = NULL;
    db_pool *pool = db_pool_new_with_ops(&options, &fake_ops, NULL, NULL, &error);
    ck_assert_msg(pool != NULL, "db_pool_new: %s", error ? error : "?");
    return pool;
}

/* One turn of the caller's loop with every socket ready for what the pool waits on. */
static void turn(db_pool *pool) {
    struct pollfd fds[8];
    int count = db_pool_pollfds(pool, fds, (int)ARRAY_LENGTH(fds));
    for (int i = 0; i < count; i++)
        fds[i].revents = fds[i].events;
    db_pool_process(pool, fds, count);
}

static void turns(db_pool *pool, int count) {
    for (int i = 0; i < count; i++)
        turn(pool);
}

/* A pool of size connections, connected, with its posture and catalog loaded. */
static db_pool *ready_pool(int size) {
    db_pool *pool = new_pool(size);
    ck_assert_int_eq(db_pool_state_now(pool), DB_POOL_CONNECTING);
    turns(pool, 4);
    ck_assert_int_eq(db_pool_state_now(pool), DB_POOL_READY);
    ck_assert(db_pool_idle(pool));
    return pool;
}

static db_call *submit(db_pool *pool, const char *sql, long long row_limit, outcome *seen) {
    db_request request = {.sql = sql, .row_limit = row_limit};
    db_call *call = db_pool_submit(pool, &request, on_done, seen);
    ck_assert_ptr_nonnull(call);
    return call;
}

/* ---------------------------------------------------------------------------------------
 * Suite "pool"
 * ------------------------------------------------------------------------------------- */

/* The log lines a pool wrote, joined, for tests that read them. */
static char logged[4096];

static void log_into_buffer(void *context, int level, const char *message) {
    (void)context, (void)level;
    size_t used = strlen(logged);
    snprintf(logged + used, sizeof logged - used, "%s\n", message);
}

/* A server newer than the newest built-in table: the first connection says so. */
START_TEST(a_server_newer_than_the_built_in_tables_is_reported) {
    const char *const versions[] = {"19.1", "18.4"};
    for (size_t i = 0; i < ARRAY_LENGTH(versions); i++) {
        fake.server_version = versions[i];
        logged[0] = '\0';
        db_options options;
        db_pool_options_init(&options);
        char *error = NULL;
        db_pool *pool = db_pool_new_with_ops(&options, &fake_ops, log_into_buffer, NULL, &error);
        ck_assert_ptr_nonnull(pool);
        turns(pool, 4);
        ck_assert_int_eq(db_pool_state_now(pool), DB_POOL_READY);
        bool warned = strstr(logged, "is newer than the newest built-in table") != NULL;
        ck_assert_msg(warned == (i == 0), "%s: %s", versions[i], logged);
        if (i == 0)
            ck_assert_msg(strstr(logged, "PostgreSQL 19 is newer") != NULL, "%s", logged);
        db_pool_free(pool);
    }
}
END_TEST

START_TEST(the_first_connection_loads_posture_then_catalog) {
    db_pool *pool = new_pool(2);
    ck_assert_int_eq(fake.connects, 1); /* one connection first */
    turns(pool, 4);
    ck_assert_int_eq(db_pool_state_now(pool), DB_POOL_READY);
    ck_assert_int_eq(fake.statements, 2); /* the posture check, then the catalog */
    ck_assert_int_eq(fake.syncs, 2);
    const db_posture *posture = db_pool_posture(pool);
    ck_assert(posture->known);
    ck_assert_str_eq(posture->role, "alice");
    ck_assert_str_eq(posture->database, "shop");
    ck_assert(!posture->can_write);
    const guard_catalog *catalog = db_pool_catalog(pool);
    ck_assert_int_eq(catalog->function_volatility(catalog->context, "public", "f1"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_ptr_null(db_pool_last_error(pool));
    ck_assert_int_eq(fake.connects, 1); /* the second opens only when work waits */
    db_pool_free(pool);
    ck_assert_int_eq(fake.finishes, 1);
}
END_TEST

START_TEST(a_statement_runs_in_one_pipeline_row_by_row) {
    db_pool *pool = ready_pool(1);
    outcome seen = {0};
    submit(pool, "SELECT rows", -1, &seen);
    ck_assert(!db_pool_idle(pool));
    ck_assert_int_eq(seen.calls, 0); /* never from inside db_pool_submit */
    int single_row_before = fake.single_row_calls;
    turns(pool, 2);
    ck_assert_int_eq(seen.calls, 1);
    db_result *result = seen.result;
    ck_assert_int_eq(result->status, DB_OK);
    ck_assert_int_eq(result->truncated, DB_COMPLETE);
    ck_assert_uint_eq(result->row_count, 3);
    ck_assert_int_eq(result->column_count, 1);
    ck_assert_str_eq(result->columns[0].name, "v");
    ck_assert_str_eq(result->columns[0].type_name, "text"); /* named by the loaded catalog */
    ck_assert_str_eq(db_result_cell(result, 2, 0)->value, "row 2");
    /* What the rows add to a response: 5 per row, and per "row n" 3 + 7 as JSON + 5 as text. */
    ck_assert_uint_eq(result->bytes, 60);
    ck_assert_int_eq(fake.single_row_calls, single_row_before + 1);
    ck_assert(db_pool_idle(pool));
    ck_assert_int_eq(fake.finishes, 0); /* the connection is kept */
    db_result_free(seen.result);
    db_pool_free(pool);
}
END_TEST

START_TEST(the_row_limit_cuts_the_result) {
    db_pool *pool = ready_pool(1);
    fake.rows = 5;
    outcome seen = {0};
    submit(pool, "SELECT rows", 2, &seen);
    turns(pool, 2);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_OK);
    ck_assert_int_eq(seen.result->truncated, DB_ROW_LIMIT);
    ck_assert_uint_eq(seen.result->row_count, 2);
    ck_assert_int_eq(fake.cancels, 0); /* the LIMIT the guard added ends the statement */
    db_result_free(seen.result);
    db_pool_free(pool);
}
END_TEST

START_TEST(the_byte_budget_cancels_and_the_connection_starts_afresh) {
    db_pool *pool = ready_pool(1);
    fake.rows = 5;
    outcome seen = {0};
    db_request request = {.sql = "SELECT rows", .row_limit = -1, .max_result_bytes = 45};
    ck_assert_ptr_nonnull(db_pool_submit(pool, &request, on_done, &seen));
    turns(pool, 2);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_OK);
    ck_assert_int_eq(seen.result->truncated, DB_BYTE_BUDGET);
    ck_assert_uint_eq(seen.result->row_count, 2); /* 20 bytes a row sent: the third would pass 45 */
    ck_assert_int_eq(fake.cancels, 1);
    /* The cancel request could still land on the next call: the connection was closed... */
    ck_assert_int_eq(fake.finishes, 1);
    /* ...and the next call gets a new one. */
    outcome next = {0};
    submit(pool, "SELECT rows", -1, &next);
    turns(pool, 3);
    ck_assert_int_eq(fake.connects, 2);
    ck_assert_int_eq(next.calls, 1);
    ck_assert_int_eq(next.result->status, DB_OK);
    ck_assert_uint_eq(next.result->row_count, 5);
    db_result_free(seen.result);
    db_result_free(next.result);
    db_pool_free(pool);
}
END_TEST

/* The budget's cancel request can arrive after the statement ended and land on the
 * pipeline's ROLLBACK: the rows read stand (the call once failed with the ROLLBACK's
 * "canceling statement"), and a second ROLLBACK ends the transaction. */
START_TEST(a_cancel_that_lands_on_the_rollback_leaves_the_result) {
    db_pool *pool = ready_pool(1);
    fake.rows = 5;
    fake.cancel_hits_rollback = true;
    outcome seen = {0};
    db_request request = {.sql = "SELECT rows", .row_limit = -1, .max_result_bytes = 45};
    ck_assert_ptr_nonnull(db_pool_submit(pool, &request, on_done, &seen));
    turns(pool, 3);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_OK);
    ck_assert_int_eq(seen.result->truncated, DB_BYTE_BUDGET);
    ck_assert_uint_eq(seen.result->row_count, 2);
    ck_assert(!fake.cancel_hits_rollback); /* the ROLLBACK was cancelled */
    ck_assert_int_eq(fake.finishes, 1);    /* and the connection, sent a cancel, starts afresh */
    outcome next = {0};
    submit(pool, "SELECT rows", -1, &next);
    turns(pool, 3);
    ck_assert_int_eq(next.result->status, DB_OK);
    ck_assert_uint_eq(next.result->row_count, 5);
    db_result_free(seen.result);
    db_result_free(next.result);
    db_pool_free(pool);
}
END_TEST

START_TEST(the_cell_cap_cuts_values) {
    db_pool *pool = ready_pool(1);
    outcome seen = {0};
    db_request request = {.sql = "SELECT rows", .row_limit = -1, .max_cell_bytes = 3};
    ck_assert_ptr_nonnull(db_pool_submit(pool, &request, on_done, &seen));
    turns(pool, 2);
    ck_assert_int_eq(seen.result->status, DB_OK);
    const db_cell *cell = db_result_cell(seen.result, 0, 0);
    ck_assert_str_eq(cell->value, "row");
    ck_assert_uint_eq(cell->length, 3);
    ck_assert_uint_eq(cell->full_length, 5);
    ck_assert_uint_eq(seen.result->cells_cut, 3);
    db_result_free(seen.result);
    db_pool_free(pool);
}
END_TEST

START_TEST(an_error_is_rolled_back_and_the_connection_kept) {
    db_pool *pool = ready_pool(1);
    outcome seen = {0};
    submit(pool, "SELECT error", -1, &seen);
    turns(pool, 3);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_SQL_ERROR);
    ck_assert_ptr_nonnull(seen.result->message);
    /* The error aborted the pipeline's ROLLBACK: a second one ended the transaction. */
    ck_assert_int_eq(fake.syncs, 2 + 2);
    ck_assert_int_eq(fake.finishes, 0);
    outcome next = {0};
    submit(pool, "SELECT rows", -1, &next);
    turns(pool, 2);
    ck_assert_int_eq(next.result->status, DB_OK);
    ck_assert_int_eq(fake.connects, 1);
    db_result_free(seen.result);
    db_result_free(next.result);
    db_pool_free(pool);
}
END_TEST

/* A session advisory lock (or anything else ROLLBACK leaves) found by the clean check: the
 * call's result stands, the connection is closed and the next call gets a new one. */
START_TEST(a_session_left_dirty_is_closed_not_reused) {
    db_pool *pool = ready_pool(1);
    ck_assert_int_eq(fake.checks, 2); /* after the posture check and the catalog load too */
    fake.held = "session advisory locks";
    outcome seen = {0};
    submit(pool, "SELECT rows", -1, &seen);
    turns(pool, 2);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_OK);
    ck_assert_uint_eq(seen.result->row_count, 3);
    ck_assert_int_eq(fake.checks, 3);
    ck_assert_int_eq(fake.finishes, 1);
    fake.held = NULL;
    outcome next = {0};
    submit(pool, "SELECT rows", -1, &next);
    turns(pool, 3);
    ck_assert_int_eq(next.calls, 1);
    ck_assert_int_eq(next.result->status, DB_OK);
    ck_assert_int_eq(fake.connects, 2);
    ck_assert_int_eq(fake.finishes, 1); /* verified clean: kept */
    db_result_free(seen.result);
    db_result_free(next.result);
    db_pool_free(pool);
}
END_TEST

/* A clean check that fails cannot verify the session: closed as well. After a statement's
 * error, the check runs after the ROLLBACK sent on its own. */
START_TEST(an_unverified_session_is_closed_and_errors_are_checked_too) {
    db_pool *pool = ready_pool(1);
    fake.check_fails = true;
    outcome seen = {0};
    submit(pool, "SELECT rows", -1, &seen);
    turns(pool, 2);
    ck_assert_int_eq(seen.result->status, DB_OK);
    ck_assert_int_eq(fake.finishes, 1);
    fake.check_fails = false;
    int checks = fake.checks;
    outcome failed = {0};
    submit(pool, "SELECT error", -1, &failed);
    turns(pool, 6);
    ck_assert_int_eq(failed.calls, 1);
    ck_assert_int_eq(failed.result->status, DB_SQL_ERROR);
    ck_assert_int_eq(fake.checks, checks + 1); /* the first was aborted with the statement */
    ck_assert_int_eq(fake.finishes, 1);
    db_result_free(seen.result);
    db_result_free(failed.result);
    db_pool_free(pool);
}
END_TEST

START_TEST(a_refused_connection_fails_calls_with_the_reason) {
    fake.refuse = true;
    db_pool *pool = new_pool(1);
    outcome seen = {0};
    submit(pool, "SELECT rows", -1, &seen);
    turn(pool);
    ck_assert_int_eq(db_pool_state_now(pool), DB_POOL_DOWN);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(seen.result->message, "connection refused by the fake"));
    ck_assert_str_eq(db_pool_last_error(pool), "connection refused by the fake");
    ck_assert_int_gt(db_pool_timeout(pool), 0); /* the retry waits for its backoff */
    ck_assert_int_eq(fake.finishes, 1);
    db_result_free(seen.result);
    db_pool_free(pool);
}
END_TEST

/* libpq quotes a malformed DSN whole; the password must not reach the call's error, the
 * pool's last error (the instructions, tool errors) or the log. */
START_TEST(a_connect_error_reaches_nobody_with_the_password) {
    fake.refuse = true;
    fake.error = "end of string reached when looking for matching \"]\" in IPv6 host address in URI: "
                 "\"postgresql://app:TopS3cretPW@[db.internal/app\"\n";
    db_options options;
    db_pool_options_init(&options);
    options.pool_size = 1;
    options.conninfo = "postgresql://app:TopS3cretPW@[db.internal/app";
    char *error = NULL;
    db_pool *pool = db_pool_new_with_ops(&options, &fake_ops, NULL, NULL, &error);
    ck_assert_ptr_nonnull(pool);
    outcome seen = {0};
    submit(pool, "SELECT rows", -1, &seen);
    turn(pool);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_ptr_null(strstr(seen.result->message, "TopS3cretPW"));
    ck_assert_ptr_nonnull(strstr(seen.result->message, "postgresql://app:" DB_REDACTED "@[db.internal/app"));
    ck_assert_ptr_null(strstr(db_pool_last_error(pool), "TopS3cretPW"));
    db_result_free(seen.result);
    db_pool_free(pool);
}
END_TEST

/* Asserts that db_redact of message with conninfo holds none of the secrets. */
static void expect_redacted(const char *message, const char *conninfo, const char *const *secrets) {
    char *redacted = db_redact(message, conninfo, NULL);
    ck_assert_ptr_nonnull(redacted);
    for (const char *const *secret = secrets; *secret != NULL; secret++)
        ck_assert_msg(strstr(redacted, *secret) == NULL, "\"%s\" shows in \"%s\"", *secret, redacted);
    ck_assert_msg(strstr(redacted, DB_REDACTED) != NULL, "nothing redacted in \"%s\"", redacted);
    free(redacted);
}

START_TEST(redact_every_form_of_the_password) {
    static const char *const secrets[] = {"TopS3cret", "S3cret", "%53", NULL};
    /* A URI, its percent-encoded password, and the decoded form libpq may quote. */
    expect_redacted("invalid percent-encoded token: \"Top%53%zz3cret\"", "postgresql://app:Top%53%zz3cret@db/app",
                    secrets);
    expect_redacted("password is TopS3cret", "postgresql://app:Top%533cret@db/app", secrets);
    expect_redacted("in URI: \"postgres://app:TopS3cret@[db/app\"", "", secrets);
    expect_redacted("bad: \"TopS3cret\"", "postgresql://db/app?sslmode=x&password=TopS3cret", secrets);
    /* key=value: plain, quoted with escapes, and the unescaped form. */
    expect_redacted("x TopS3cret y", "host=db password=TopS3cret dbname=app", secrets);
    expect_redacted("x Top'S3cret y", "host=db password = 'Top\\'S3cret' dbname=app", secrets);
    expect_redacted("unterminated: password='TopS3cret", "host=db dbname='x", secrets);
    /* PGPASSWORD. */
    setenv("PGPASSWORD", "EnvS3cret", 1);
    static const char *const environment[] = {"EnvS3cret", NULL};
    expect_redacted("value \"EnvS3cret\" is wrong", "", environment);
    unsetenv("PGPASSWORD");
    /* A message without any secret comes back as it was. */
    char *same = db_redact("could not connect to server", "host=db password=pw", NULL);
    ck_assert_str_eq(same, "could not connect to server");
    free(same);
}
END_TEST

START_TEST(a_call_waits_for_the_first_connection_unless_told_not_to) {
    db_pool *pool = new_pool(1);
    outcome waits = {0}, hurries = {0};
    submit(pool, "SELECT rows", -1, &waits);
    db_request request = {.sql = "SELECT rows", .row_limit = -1, .skip_wait = true};
    ck_assert_ptr_nonnull(db_pool_submit(pool, &request, on_done, &hurries));
    db_pool_process(pool, NULL, 0); /* nothing ready yet */
    ck_assert_int_eq(waits.calls, 0);
    ck_assert_int_eq(hurries.calls, 1);
    ck_assert_int_eq(hurries.result->status, DB_UNAVAILABLE);
    turns(pool, 5);
    ck_assert_int_eq(waits.calls, 1);
    ck_assert_int_eq(waits.result->status, DB_OK);
    db_result_free(waits.result);
    db_result_free(hurries.result);
    db_pool_free(pool);
}
END_TEST

START_TEST(a_broken_connection_fails_its_call) {
    db_pool *pool = ready_pool(1);
    outcome seen = {0};
    submit(pool, "SELECT hold", -1, &seen);
    turns(pool, 2);
    ck_assert_int_eq(seen.calls, 0);
    fake.last->broken = true;
    turn(pool);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_CONNECTION_LOST);
    ck_assert_ptr_nonnull(strstr(seen.result->message, "the connection to the database was lost"));
    ck_assert_int_eq(fake.finishes, 1);
    db_result_free(seen.result);
    db_pool_free(pool);
}
END_TEST

START_TEST(a_queued_call_is_cancelled_without_running) {
    db_pool *pool = ready_pool(1);
    outcome seen = {0};
    int statements = fake.statements;
    db_call *call = submit(pool, "SELECT rows", -1, &seen);
    db_pool_cancel(pool, call);
    ck_assert_int_eq(seen.calls, 0); /* never from inside db_pool_cancel */
    turn(pool);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_CANCELLED);
    ck_assert_int_eq(fake.statements, statements);
    ck_assert_int_eq(fake.cancels, 0);
    db_result_free(seen.result);
    db_pool_free(pool);
}
END_TEST

START_TEST(a_running_call_is_cancelled_with_a_cancel_request) {
    db_pool *pool = ready_pool(1);
    outcome seen = {0};
    db_call *call = submit(pool, "SELECT hold", -1, &seen);
    turns(pool, 2);
    ck_assert_int_eq(seen.calls, 0);
    db_pool_cancel(pool, call);
    db_pool_cancel(pool, call); /* twice is once */
    ck_assert_int_eq(fake.cancels, 1);
    turns(pool, 2);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_CANCELLED);
    ck_assert_int_eq(fake.finishes, 1); /* a cancel request may still be on its way: start afresh */
    db_result_free(seen.result);
    db_pool_free(pool);
}
END_TEST

START_TEST(notifications_on_an_idle_connection_are_freed) {
    db_pool *pool = ready_pool(1);
    ck_assert_ptr_nonnull(fake.last);
    fake.last->notifies_pending = 3;
    turn(pool);
    ck_assert_int_eq(fake.notifies_made, 3);
    ck_assert_int_eq(fake.notifies_freed, 3);
    db_pool_free(pool);
}
END_TEST

START_TEST(shutdown_fails_running_and_queued_calls) {
    db_pool *pool = ready_pool(1);
    outcome running = {0}, queued = {0};
    submit(pool, "SELECT hold", -1, &running);
    turns(pool, 2);
    submit(pool, "SELECT rows", -1, &queued);
    db_pool_free(pool);
    ck_assert_int_eq(running.calls, 1);
    ck_assert_int_eq(running.result->status, DB_SHUTDOWN);
    ck_assert_int_eq(queued.calls, 1);
    ck_assert_int_eq(queued.result->status, DB_SHUTDOWN);
    ck_assert_int_ge(fake.cancels, 1); /* the running statement was told to stop */
    db_result_free(running.result);
    db_result_free(queued.result);
}
END_TEST

START_TEST(a_second_connection_opens_when_work_waits) {
    db_pool *pool = ready_pool(2);
    outcome first = {0}, second = {0};
    submit(pool, "SELECT hold", -1, &first);
    submit(pool, "SELECT rows", -1, &second);
    turns(pool, 4);
    ck_assert_int_eq(fake.connects, 2);
    ck_assert_int_eq(first.calls, 0);
    ck_assert_int_eq(second.calls, 1);
    ck_assert_int_eq(second.result->status, DB_OK);
    fake.release = true;
    turns(pool, 2);
    ck_assert_int_eq(first.calls, 1);
    ck_assert_int_eq(first.result->status, DB_OK);
    ck_assert_uint_eq(first.result->row_count, 1);
    db_result_free(first.result);
    db_result_free(second.result);
    db_pool_free(pool);
}
END_TEST

/* A backend that ignores its cancel keeps its slot: the call fails at its deadline, the
 * connection drains instead of being replaced (the pool never holds more backends than its
 * size), calls meanwhile fail at once with the backend's PID, and the slot reconnects once
 * the backend answers. Without DRAINING the slot reconnected at once: two connections. */
START_TEST(a_backend_that_ignores_cancel_keeps_its_slot) {
    db_pool *pool = ready_pool(1);
    outcome stuck = {0};
    submit(pool, "SELECT stuck", -1, &stuck);
    turns(pool, 2);
    ck_assert_int_eq(stuck.calls, 0);
    ck_assert_int_gt(db_pool_timeout(pool), 0); /* the deadline */
    fake.clock_ms += 15000 + CONN_DEADLINE_GRACE_MS;
    ck_assert_int_eq(db_pool_timeout(pool), 0);
    turn(pool);
    ck_assert_int_eq(stuck.calls, 1);
    ck_assert_int_eq(stuck.result->status, DB_CONNECTION_LOST);
    ck_assert_ptr_nonnull(strstr(stuck.result->message, "backend PID 4100 ignored the cancel request"));
    ck_assert_int_ge(fake.cancels, 1);
    ck_assert_int_eq(fake.finishes, 0); /* kept: its backend still runs */
    ck_assert_int_eq(db_pool_state_now(pool), DB_POOL_READY);
    ck_assert_int_eq(db_pool_timeout(pool), -1); /* nothing to time: the socket says when it ends */
    for (int i = 0; i < 3; i++) {
        outcome refused = {0};
        submit(pool, "SELECT rows", -1, &refused);
        turns(pool, 3);
        ck_assert_int_eq(refused.calls, 1);
        ck_assert_int_eq(refused.result->status, DB_BUSY);
        ck_assert_ptr_nonnull(strstr(refused.result->message, "still busy with an earlier query (backend PID 4100"));
        db_result_free(refused.result);
    }
    ck_assert_int_eq(fake.connects, 1); /* never a second backend */
    fake.release = true;                /* the backend finally answers */
    turn(pool);
    ck_assert_int_eq(fake.finishes, 1);
    outcome next = {0};
    submit(pool, "SELECT rows", -1, &next);
    turns(pool, 4);
    ck_assert_int_eq(fake.connects, 2);
    ck_assert_int_eq(next.calls, 1);
    ck_assert_int_eq(next.result->status, DB_OK);
    db_result_free(stuck.result);
    db_result_free(next.result);
    db_pool_free(pool);
}
END_TEST

/* With two slots, one draining: calls run on the other; the drained slot's socket closing
 * (the backend was terminated) frees it. */
START_TEST(a_draining_slot_leaves_the_others_working) {
    db_pool *pool = ready_pool(2);
    outcome stuck = {0};
    submit(pool, "SELECT stuck", -1, &stuck);
    turns(pool, 2);
    fake_conn *stuck_conn = fake.last;
    fake.clock_ms += 15000 + CONN_DEADLINE_GRACE_MS;
    turn(pool);
    ck_assert_int_eq(stuck.calls, 1);
    outcome other = {0};
    submit(pool, "SELECT rows", -1, &other);
    turns(pool, 5);
    ck_assert_int_eq(other.calls, 1);
    ck_assert_int_eq(other.result->status, DB_OK);
    ck_assert_int_eq(fake.connects, 2);
    ck_assert_int_eq(fake.finishes, 0);
    stuck_conn->broken = true; /* terminated: its socket closed */
    turn(pool);
    ck_assert_int_eq(fake.finishes, 1);
    ck_assert_int_eq(db_pool_state_now(pool), DB_POOL_READY);
    db_result_free(stuck.result);
    db_result_free(other.result);
    db_pool_free(pool);
}
END_TEST

static db_call *submit_guarded(db_pool *pool, const char *sql, outcome *seen) {
    db_request request = {.sql = sql, .row_limit = -1, .check_cost = true};
    db_call *call = db_pool_submit(pool, &request, on_done, seen);
    ck_assert_ptr_nonnull(call);
    return call;
}

/* The cost guard: the plan comes first; a costly one is refused and the statement is never
 * sent, a cheap one runs in the same transaction. */
START_TEST(the_cost_guard_sends_the_statement_only_after_its_plan_passed) {
    db_pool *pool = ready_pool(1);
    int statements = fake.statements;
    outcome refused = {0};
    submit_guarded(pool, "SELECT costly", &refused);
    turns(pool, 3);
    ck_assert_int_eq(refused.calls, 1);
    ck_assert_int_eq(refused.result->status, DB_REFUSED);
    ck_assert_ptr_nonnull(strstr(refused.result->message, "the planner estimates this query at cost 1e+12"));
    ck_assert_ptr_nonnull(refused.result->hint);
    ck_assert_int_eq(fake.explains, 1);
    ck_assert_int_eq(fake.statements, statements); /* never sent */
    ck_assert_int_eq(fake.finishes, 0);            /* the connection is kept */
    outcome passed = {0};
    submit_guarded(pool, "SELECT rows", &passed);
    turns(pool, 3);
    ck_assert_int_eq(passed.calls, 1);
    ck_assert_int_eq(passed.result->status, DB_OK);
    ck_assert_uint_eq(passed.result->row_count, 3);
    ck_assert_int_eq(fake.explains, 2);
    ck_assert_int_eq(fake.statements, statements + 1);
    db_result_free(refused.result);
    db_result_free(passed.result);
    db_pool_free(pool);
}
END_TEST

/* A backend stuck before its plan came back (the server waits for the pipeline's second
 * half): at the deadline pgsafe sends ROLLBACK and Sync, so that the backend ends its
 * pipeline when it wakes and the slot drains. Without them it stayed in the statement for
 * ever, and the pool spun on an empty pipeline. */
START_TEST(a_call_expired_before_its_plan_ends_the_pipeline_and_drains) {
    db_pool *pool = ready_pool(1);
    outcome stuck = {0};
    submit_guarded(pool, "SELECT stuck", &stuck);
    turns(pool, 2);
    int syncs = fake.syncs;
    fake.clock_ms += 15000 + CONN_DEADLINE_GRACE_MS;
    turn(pool);
    ck_assert_int_eq(stuck.calls, 1);
    ck_assert_int_eq(stuck.result->status, DB_CONNECTION_LOST);
    ck_assert_ptr_nonnull(fake.last);
    ck_assert_int_eq(fake.last->item_count, 4); /* the EXPLAIN, ROLLBACK, the clean check, Sync */
    ck_assert_ptr_null(fake.last->items[3]);
    fake.release = true;
    turns(pool, 2);
    ck_assert_int_eq(fake.syncs, syncs + 1);
    ck_assert_int_eq(fake.finishes, 1);
    outcome next = {0};
    submit(pool, "SELECT rows", -1, &next);
    turns(pool, 4);
    ck_assert_int_eq(next.result->status, DB_OK);
    db_result_free(stuck.result);
    db_result_free(next.result);
    db_pool_free(pool);
}
END_TEST

/* db_pool_new used to count its connections before checking their allocation: out of
 * memory there made db_pool_free walk a NULL array. Every allocation in turn fails here. */
START_TEST(pool_new_survives_every_allocation_failing) {
    db_options options;
    db_pool_options_init(&options);
    options.pool_size = 4;
    bool completed = false;
    for (long successes = 0; successes < 64 && !completed; successes++) {
        char *error = NULL;
        fail_allocation_after(successes);
        db_pool *pool = db_pool_new_with_ops(&options, &fake_ops, NULL, NULL, &error);
        fail_allocation_after(-1);
        if (pool == NULL) {
            ck_assert(error == NULL || strcmp(error, "out of memory") == 0);
        } else {
            completed = true;
            ck_assert_ptr_null(error);
        }
        free(error);
        db_pool_free(pool);
    }
    ck_assert(completed);
}
END_TEST

START_TEST(submit_survives_every_allocation_failing) {
    db_pool *pool = ready_pool(1);
    const char *params[] = {"one", NULL, "three"};
    db_request request = {.sql = "SELECT rows", .param_count = 3, .params = params, .row_limit = -1};
    outcome seen = {0};
    db_call *call = NULL;
    for (long successes = 0; successes < 64 && call == NULL; successes++) {
        fail_allocation_after(successes);
        call = db_pool_submit(pool, &request, on_done, &seen);
        fail_allocation_after(-1);
    }
    ck_assert_ptr_nonnull(call);
    turns(pool, 2);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.result->status, DB_OK);
    db_result_free(seen.result);
    db_pool_free(pool);
}
END_TEST

/* Out of memory while the rows arrive fails the call with a clear message, never a crash. */
START_TEST(reading_survives_every_allocation_failing) {
    db_pool *pool = ready_pool(1);
    bool completed = false;
    for (long successes = 0; successes < 64 && !completed; successes++) {
        outcome seen = {0};
        submit(pool, "SELECT rows", -1, &seen);
        turn(pool); /* sends */
        fail_allocation_after(successes);
        turn(pool); /* reads */
        fail_allocation_after(-1);
        turns(pool, 3);
        ck_assert_int_eq(seen.calls, 1);
        if (seen.result->status == DB_OK) {
            completed = true;
            ck_assert_uint_eq(seen.result->row_count, 3);
        } else {
            ck_assert_int_eq(seen.result->status, DB_SQL_ERROR);
        }
        db_result_free(seen.result);
    }
    ck_assert(completed);
    db_pool_free(pool);
}
END_TEST

static Suite *pool_suite(void) {
    Suite *suite = suite_create("pool");
    TCase *tc = tcase_create("state machine");
    tcase_add_checked_fixture(tc, setup, NULL);
    suite_add_tcase(suite, tc);
    tcase_add_test(tc, the_first_connection_loads_posture_then_catalog);
    tcase_add_test(tc, a_server_newer_than_the_built_in_tables_is_reported);
    tcase_add_test(tc, a_statement_runs_in_one_pipeline_row_by_row);
    tcase_add_test(tc, the_row_limit_cuts_the_result);
    tcase_add_test(tc, the_byte_budget_cancels_and_the_connection_starts_afresh);
    tcase_add_test(tc, a_cancel_that_lands_on_the_rollback_leaves_the_result);
    tcase_add_test(tc, the_cell_cap_cuts_values);
    tcase_add_test(tc, an_error_is_rolled_back_and_the_connection_kept);
    tcase_add_test(tc, a_refused_connection_fails_calls_with_the_reason);
    tcase_add_test(tc, a_session_left_dirty_is_closed_not_reused);
    tcase_add_test(tc, an_unverified_session_is_closed_and_errors_are_checked_too);
    tcase_add_test(tc, a_connect_error_reaches_nobody_with_the_password);
    tcase_add_test(tc, redact_every_form_of_the_password);
    tcase_add_test(tc, a_call_waits_for_the_first_connection_unless_told_not_to);
    tcase_add_test(tc, a_broken_connection_fails_its_call);
    tcase_add_test(tc, a_queued_call_is_cancelled_without_running);
    tcase_add_test(tc, a_running_call_is_cancelled_with_a_cancel_request);
    tcase_add_test(tc, notifications_on_an_idle_connection_are_freed);
    tcase_add_test(tc, shutdown_fails_running_and_queued_calls);
    tcase_add_test(tc, a_second_connection_opens_when_work_waits);
    tcase_add_test(tc, a_backend_that_ignores_cancel_keeps_its_slot);
    tcase_add_test(tc, a_draining_slot_leaves_the_others_working);
    tcase_add_test(tc, the_cost_guard_sends_the_statement_only_after_its_plan_passed);
    tcase_add_test(tc, a_call_expired_before_its_plan_ends_the_pipeline_and_drains);
    tc = tcase_create("out of memory");
    tcase_add_checked_fixture(tc, setup, NULL);
    suite_add_tcase(suite, tc);
    tcase_add_test(tc, pool_new_survives_every_allocation_failing);
    tcase_add_test(tc, submit_survives_every_allocation_failing);
    tcase_add_test(tc, reading_survives_every_allocation_failing);
    return suite;
}

int main(void) {
    SRunner *runner = srunner_create(pool_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
