/* Cancel requests, sent off the event loop. PQcancel connects to the postmaster and waits for
 * it to close the connection: with the postmaster stopped or unreachable it blocks, so each
 * request runs on a short-lived detached thread of its own that owns its PGcancel and
 * touches nothing else. A connection has at most one request on its way at a time.
 *
 *   cancel_job *job = NULL;          // the connection's last request
 *   cancel_send(&job, pg);           // again later: skipped while the last is on its way
 *   cancel_release(&job);            // before PQfinish(pg)
 *   cancel_wait_all(2000);           // at shutdown */
#ifndef PGSAFE_DB_CANCEL_H
#define PGSAFE_DB_CANCEL_H

#include <libpq-fe.h>

typedef struct cancel_job cancel_job;

/* Sends a cancel request for whatever pg runs, unless the request in *job is still on its
 * way (a stopped postmaster would otherwise collect one blocked thread per repeat). The new
 * request replaces *job. Returns 0 (sent, or skipped), or an errno when none could be sent. */
int cancel_send(cancel_job **job, PGconn *pg);

/* The connection lets go of its last request (its PGconn is closing): *job is NULL
 * afterwards; a request still on its way is left to its thread, which frees it. */
void cancel_release(cancel_job **job);

/* Waits until every request sent, by any pool, has been delivered, or timeout_ms passed. */
void cancel_wait_all(int timeout_ms);

#endif
