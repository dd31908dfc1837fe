/* The pool's own loads: the quick posture check, then the catalog (with the posture again),
 * started on an idle connection, and what the pool does with their results (ready, a kept
 * catalog, or a backoff before the next attempt). Split from pool.c; the pool's state is
 * shared through pool_internal.h. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/call.h"
#include "db/catalog.h"
#include "db/clock.h"
#include "db/conn.h"
#include "db/pool.h"
#include "db/pool_internal.h"
#include "util/strings.h"

/* Logs who we are once the first catalog load worked, and warns when the role can write. */
static void log_first_ready(db_pool *pool) {
    const db_posture *posture = &pool->posture;
    LOG(pool, 2, "connected to database \"%s\" as role \"%s\" (PostgreSQL %s)",
        posture->database ? posture->database : "?", posture->role ? posture->role : "?",
        posture->server_version ? posture->server_version : "?");
    int major = guard_server_major(posture->server_version);
    if (major > guard_builtins_version(0))
        LOG(pool, 1,
            "PostgreSQL %d is newer than the newest built-in table pgsafe has (PostgreSQL %d): functions that "
            "PostgreSQL %d added are refused as unknown",
            major, guard_builtins_version(0), major);
    if (posture->can_write)
        LOG(pool, 1,
            "the role can write (%s): pgsafe still runs only read-only queries, but connect "
            "with a read-only role (docs/read-only-role.md)",
            posture->write_reasons ? posture->write_reasons : "?");
    char *hazards = posture_hazard_warning(posture);
    if (hazards != NULL)
        LOG(pool, 1, "%s", hazards);
    free(hazards);
}

/* A catalog load is over (call still the pool's). Success makes the pool ready; a failed
 * reload keeps the catalog we have (it was right a moment ago); a failed first load makes
 * calls fail with the reason until a retry, after a backoff, works. */
void pool_catalog_loaded(db_pool *pool, const db_call *call) {
    pool->catalog_loading = false;
    const db_result *result = call->result;
    if (result->status == DB_OK && catalog_load(pool->catalog, &pool->posture, result)) {
        pool->catalog_wanted = false;
        if (!pool->ever_ready)
            log_first_ready(pool);
        pool->ever_ready = true;
        pool->failures = 0;
        return;
    }
    const char *why = result->message ? result->message : "its rows were not understood";
    if (pool->ever_ready) {
        LOG(pool, 1, "could not reload the catalog: %s", why);
        pool->catalog_wanted = false;
        return;
    }
    char *message = str_printf("could not load the catalog: %s", why);
    pool_set_last_error(pool, message ? message : "could not load the catalog");
    free(message);
    LOG(pool, 1, "%s", pool->last_error ? pool->last_error : "could not load the catalog");
    pool->failures++;
    pool->catalog_retry_at_ms = db_now_ms() + pool_backoff_ms(pool->failures);
}

/* The quick posture check is over (call still the pool's); the catalog load repeats it. */
void pool_posture_checked(db_pool *pool, const db_call *call) {
    pool->catalog_loading = false;
    if (call->result->status != DB_OK || !catalog_load_posture(&pool->posture, call->result))
        LOG(pool, 3, "the posture check failed; the catalog load repeats it");
}

/* Starts the posture check or a catalog load on an idle connection, if one is free and no
 * retry is pending. The first load checks the posture alone first, so that it is known a
 * few milliseconds earlier (initialize waits for it); the full load then repeats it with
 * the catalog. Out of memory: nothing starts, and the next dispatch tries again. */
void pool_start_catalog_load(db_pool *pool) {
    assert(pool->catalog_wanted && !pool->catalog_loading);
    connection *conn = pool_idle_connection(pool);
    if (conn == NULL || db_now_ms() < pool->catalog_retry_at_ms)
        return;
    bool posture_first = !pool->posture.known && !pool->posture_tried;
    db_call *load = call_new(posture_first ? CALL_POSTURE : CALL_CATALOG);
    if (load == NULL || (load->sql = strdup(posture_first                  ? catalog_posture_sql()
                                            : pool->options.load_relations ? catalog_load_relations_sql()
                                                                           : catalog_load_sql())) == NULL) {
        if (load)
            call_free(load);
        return;
    }
    pool->posture_tried = posture_first || pool->posture_tried;
    load->limits.max_result_bytes = SIZE_MAX;
    load->limits.max_cell_bytes = SIZE_MAX;
    pool->catalog_loading = true;
    conn_start_call(conn, load);
}
