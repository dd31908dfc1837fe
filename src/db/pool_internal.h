/* Private to the pool's files (pool.c, pool_load.c): the pool's state, and the steps each
 * file takes in the other. Nothing else includes this. */
#ifndef PGSAFE_DB_POOL_INTERNAL_H
#define PGSAFE_DB_POOL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "db/call.h"
#include "db/catalog.h"
#include "db/conn.h"
#include "db/pool.h"

/* The files' log line, through the hook the pool's conn_shared carries. */
#define LOG(pool, level, ...) db_log_printf((pool)->shared.log, (pool)->shared.log_context, level, __VA_ARGS__)

struct db_pool {
    db_options options; /* strings owned below */
    char *conninfo;
    char *search_path;
    char timeout_text[3][24];
    conn_shared shared; /* what every connection reads; points into the fields above */
    connection *connections;
    int connection_count; /* slots in connections (set once they exist) */
    call_queue queue;     /* calls waiting for a connection */
    call_queue finished;  /* calls whose done callbacks run at the end of db_pool_process */
    db_catalog *catalog;
    db_posture posture;
    bool catalog_wanted;         /* load (or reload) at the next idle connection */
    bool catalog_loading;        /* a posture or catalog call is in flight (or finished, not yet seen) */
    int64_t catalog_retry_at_ms; /* after a failed load */
    bool posture_tried;          /* the quick posture check ran once */
    bool ever_ready;             /* a catalog load succeeded once */
    int failures;                /* consecutive failed connection attempts (or first catalog loads) */
    char *last_error;
};

/* pool.c */
/* Replaces the last error with message on one line (NULL when out of memory). */
void pool_set_last_error(db_pool *pool, const char *message);
/* The delay before the next attempt after failures consecutive failures (doubling, capped). */
int pool_backoff_ms(int failures);
/* The first idle connection, or NULL. */
connection *pool_idle_connection(db_pool *pool);

/* pool_load.c */
/* A catalog load is over (call still the pool's): ready, a kept catalog, or a backoff. */
void pool_catalog_loaded(db_pool *pool, const db_call *call);
/* The quick posture check is over (call still the pool's); the catalog load repeats it. */
void pool_posture_checked(db_pool *pool, const db_call *call);
/* Starts the posture check or a catalog load on an idle connection, if one is free and no
 * retry is pending; out of memory: nothing starts. */
void pool_start_catalog_load(db_pool *pool);

#endif
