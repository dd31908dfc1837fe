/* Calls and their queues (see call.h). */
#include "db/call.h"

#include <assert.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's query_canceled: what a cancel request or statement_timeout ends a query with. */
#define SQLSTATE_QUERY_CANCELED "57014"

db_call *call_new(call_kind kind) {
    db_call *call = calloc(1, sizeof *call);
    if (call == NULL)
        return NULL;
    call->kind = kind;
    call->result = db_result_new();
    if (call->result == NULL) {
        free(call);
        return NULL;
    }
    call->limits.row_limit = -1;
    return call;
}

void call_free(db_call *call) {
    assert(call->next == NULL && call->running == NULL);
    free(call->sql);
    free(call->explain_sql);
    free(call->bounded_sql);
    for (int i = 0; i < call->param_count; i++)
        free(call->params[i]);
    free(call->params);
    db_result_free(call->result);
    free(call);
}

void call_fail(db_call *call, db_status status, const char *message) {
    if (call->failed)
        return;
    call->failed = true;
    (void)db_result_set_failure(call->result, status, message); /* out of memory: the status alone */
}

void call_fail_from_pg(db_call *call, const PGresult *pg) {
    if (call->failed)
        return;
    const char *state = PQresultErrorField(pg, PG_DIAG_SQLSTATE);
    bool canceled = state && strcmp(state, SQLSTATE_QUERY_CANCELED) == 0;
    if (canceled && call->result->truncated == DB_BYTE_BUDGET)
        return; /* our own cancel after the byte budget ran out: the rows so far stand */
    if (canceled && call->cancelled) {
        call_fail(call, DB_CANCELLED, "the call was cancelled");
        return;
    }
    call->failed = true;
    (void)db_result_set_error(call->result, pg); /* out of memory: some fields missing */
}

/* The queue's ends agree: both NULL or neither, and the tail ends the list. */
static bool queue_consistent(const call_queue *queue) {
    return (queue->head == NULL) == (queue->tail == NULL) && (queue->tail == NULL || queue->tail->next == NULL);
}

void call_queue_push(call_queue *queue, db_call *call) {
    assert(queue_consistent(queue) && call->next == NULL && queue->tail != call);
    if (queue->tail)
        queue->tail->next = call;
    else
        queue->head = call;
    queue->tail = call;
}

db_call *call_queue_pop(call_queue *queue) {
    assert(queue_consistent(queue));
    db_call *call = queue->head;
    if (call) {
        queue->head = call->next;
        if (queue->head == NULL)
            queue->tail = NULL;
        call->next = NULL;
    }
    return call;
}

bool call_queue_remove(call_queue *queue, db_call *target) {
    assert(queue_consistent(queue));
    db_call *previous = NULL;
    for (db_call *call = queue->head; call; previous = call, call = call->next)
        if (call == target) {
            if (previous)
                previous->next = call->next;
            else
                queue->head = call->next;
            if (queue->tail == call)
                queue->tail = previous;
            call->next = NULL;
            return true;
        }
    return false;
}
