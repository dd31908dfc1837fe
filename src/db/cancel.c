/* Cancel requests off the event loop, one thread per request, at most one request in flight
 * per connection (see cancel.h). A failed or undelivered request is not retried here: the
 * connection repeats it, and the call's deadline bounds the call whatever happens. */
#include "db/cancel.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* Requests in flight, across pools: cancel_wait_all waits for them (briefly). */
static pthread_mutex_t cancels_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cancels_done = PTHREAD_COND_INITIALIZER;
static int cancels_running;

/* One request and its thread. Two owners under cancels_lock: the thread while it runs, and
 * the connection until it lets go (cancel_release); the last to let go frees it. */
struct cancel_job {
    PGcancel *cancel; /* the thread's; freed when it is done */
    bool running;
    bool released; /* the connection no longer holds it */
};

/* The thread: sends the request, then frees the job if the connection let go of it. */
static void *cancel_thread(void *argument) {
    cancel_job *job = argument;
    char message[256];
    (void)PQcancel(job->cancel, message, sizeof message); /* failure: the deadline still bounds the call */
    PQfreeCancel(job->cancel);
    pthread_mutex_lock(&cancels_lock);
    assert(job->running && cancels_running > 0);
    job->cancel = NULL;
    job->running = false;
    if (job->released)
        free(job);
    cancels_running--;
    pthread_cond_broadcast(&cancels_done);
    pthread_mutex_unlock(&cancels_lock);
    return NULL;
}

/* Lets go of *job: frees it, or hands it to its running thread. Call with cancels_lock. */
static void release_locked(cancel_job **slot) {
    cancel_job *job = *slot;
    *slot = NULL;
    if (job == NULL)
        return;
    assert(!job->released);
    if (job->running)
        job->released = true;
    else
        free(job);
}

void cancel_release(cancel_job **job) {
    pthread_mutex_lock(&cancels_lock);
    release_locked(job);
    pthread_mutex_unlock(&cancels_lock);
}

/* Starts the thread of a new request for pg. Returns the job, owned by the caller and the
 * thread, or NULL with *error set (nothing left behind). Call with cancels_lock. */
static cancel_job *start_locked(PGconn *pg, int *error) {
    cancel_job *job = calloc(1, sizeof *job);
    *error = ENOMEM;
    pthread_attr_t attributes;
    pthread_t thread;
    if (job != NULL && (job->cancel = PQgetCancel(pg)) != NULL && (*error = pthread_attr_init(&attributes)) == 0) {
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        job->running = true;
        *error = pthread_create(&thread, &attributes, cancel_thread, job);
        pthread_attr_destroy(&attributes);
    }
    if (*error == 0) {
        cancels_running++;
        return job;
    }
    if (job != NULL)
        PQfreeCancel(job->cancel);
    free(job);
    return NULL;
}

int cancel_send(cancel_job **job, PGconn *pg) {
    int error = 0;
    pthread_mutex_lock(&cancels_lock);
    if (*job == NULL || !(*job)->running) {
        release_locked(job);
        *job = start_locked(pg, &error);
    }
    pthread_mutex_unlock(&cancels_lock);
    return error;
}

void cancel_wait_all(int timeout_ms) {
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
