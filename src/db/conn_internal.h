/* Private to the connection's files (conn.c, conn_deadline.c): the steps of conn.c's state
 * machine that the deadline code takes too. Nothing else includes this. */
#ifndef PGSAFE_DB_CONN_INTERNAL_H
#define PGSAFE_DB_CONN_INTERNAL_H

#include <stdbool.h>

#include "db/conn.h"

/* The files' log line, through the hook conn_shared carries. */
#define LOG(conn, level, ...) db_log_printf((conn)->shared->log, (conn)->shared->log_context, level, __VA_ARGS__)

/* Moves to a new state, asserting the transition and the invariants of the state entered. */
void conn_set_state(connection *conn, conn_state to);
/* Hands the running call back to the pool as finished; the connection lets go of it. */
void conn_hand_back(connection *conn);
/* An attempt failed: the pool records why (the password redacted) and says when to retry;
 * the connection closes. */
void conn_connect_failed(connection *conn, const char *why);
/* Queues ROLLBACK, the clean check and Sync: the end of every call's pipeline. */
bool conn_send_rollback_and_check(connection *conn);
/* Writes what libpq holds; the connection goes down when the socket fails. */
void conn_flush(connection *conn);

#endif
