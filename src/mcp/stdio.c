/* The stdio transport: `pgsafe serve` speaks MCP as newline-delimited JSON-RPC on
 * stdin/stdout. One poll() loop watches stdin, a signal pipe and the database connections
 * (through the session), so several calls can be in flight, ping answers while a query
 * runs, and a cancellation reaches the running statement. Framing is jsonrpc.c's reader;
 * everything about what a message means is the session's (session.c). */
#include "mcp/server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "mcp/json.h"
#include "mcp/jsonrpc.h"
#include "mcp/session.h"
#include "mcp/signals.h"

#ifndef PGSAFE_VERSION
#define PGSAFE_VERSION "0.0.0"
#endif

/* After end of input the calls in flight get DRAIN_MS to finish and be answered, after
 * SIGTERM/SIGINT SIGNAL_DRAIN_MS (a service manager's stop, which waits longer than that
 * before SIGKILL); then what still runs is cancelled. A second signal stops at once. */
#define DRAIN_MS        500
#define SIGNAL_DRAIN_MS 2000
#define MAX_POLL_FDS    72

typedef struct stdio_transport {
    int out_fd;
    bool peer_gone; /* stdout is closed */
    int signals;    /* SIGTERM/SIGINT received */
    bool draining;  /* no more input is read; the loop ends when calls are done or at the deadline */
    int64_t drain_deadline_ms;
} stdio_transport;

/* The session's send function: one line on stdout; once the peer is gone, nothing more. */
static void stdio_send(void *context, json_object *message) {
    stdio_transport *transport = context;
    if (!transport->peer_gone && !jsonrpc_write(transport->out_fd, message))
        transport->peer_gone = true;
}

/* Counts the signals waiting in the pipe; the first starts the drain. */
static void take_signals(stdio_transport *transport, mcp_session *session) {
    transport->signals += signals_take();
    if (transport->signals > 1) {
        mcp_session_log(session, MCP_LOG_INFO, "stopping at once on a second signal");
    } else if (transport->signals == 1) {
        mcp_session_log(session, MCP_LOG_INFO, "stopping on a signal: calls in flight get %d ms to finish",
                        SIGNAL_DRAIN_MS);
        int64_t deadline = db_now_ms() + SIGNAL_DRAIN_MS;
        /* Draining after end of input already: the earlier deadline stands. */
        if (!transport->draining || deadline < transport->drain_deadline_ms)
            transport->drain_deadline_ms = deadline;
        transport->draining = true;
    }
}

/* Hands the complete lines held to the session; stops while it holds an initialize, so the
 * messages after it are handled after its answer, in order. */
static void handle_input(stdio_transport *transport, mcp_session *session, jsonrpc_reader *reader,
                         size_t max_message_bytes) {
    const char *line;
    size_t length;
    jsonrpc_line_kind kind;
    while (!mcp_session_holding(session) && (kind = jsonrpc_reader_next(reader, &line, &length)) != JSONRPC_LINE_NONE) {
        if (kind == JSONRPC_LINE_OVERSIZED) {
            char text[160];
            snprintf(text, sizeof text,
                     "message too large: a line may hold at most %zu bytes (--max-message-bytes); it was discarded",
                     max_message_bytes);
            mcp_session_log(session, MCP_LOG_WARNING, "%s", text);
            json_object *error = jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST, text);
            stdio_send(transport, error);
            json_object_put(error);
            continue;
        }
        mcp_session_handle_line(session, line, length);
    }
}

/* The poll timeout: the session's (pool timers, a held initialize) or the drain's end. */
static int poll_timeout(mcp_session *session, const stdio_transport *transport) {
    int timeout = mcp_session_timeout(session);
    if (transport->draining) {
        int64_t now = db_now_ms();
        int until = transport->drain_deadline_ms <= now ? 0 : (int)(transport->drain_deadline_ms - now);
        if (timeout < 0 || until < timeout)
            timeout = until;
    }
    return timeout;
}

/* Decides, after one turn of the loop, whether it ends: the peer is gone, a second signal
 * came, or the drain is over (no call left, or its deadline passed). Input read but not yet
 * handled at end of input (held behind an initialize) pushes the drain's start back. */
static bool loop_done(stdio_transport *transport, mcp_session *session, const jsonrpc_reader *reader) {
    if (transport->peer_gone || transport->signals > 1)
        return true;
    if (reader->eof && !transport->signals && (mcp_session_holding(session) || reader->length > 0)) {
        transport->drain_deadline_ms = db_now_ms() + DRAIN_MS;
        return false;
    }
    return transport->draining && (!mcp_session_busy(session) || db_now_ms() >= transport->drain_deadline_ms);
}

/* Runs the loop until loop_done. Returns the exit status: 0, 2 when the role is refused,
 * MCP_EXIT_OUT_OF_MEMORY when input cannot be buffered. */
static int run_loop(stdio_transport *transport, mcp_session *session, jsonrpc_reader *reader,
                    const mcp_config *config) {
    for (;;) {
        struct pollfd fds[MAX_POLL_FDS];
        int count = 0;
        fds[count++] = (struct pollfd){.fd = signals_fd(), .events = POLLIN};
        int input_index = -1;
        if (!transport->draining && !mcp_session_holding(session)) {
            input_index = count;
            fds[count++] = (struct pollfd){.fd = reader->fd, .events = POLLIN};
        }
        int db_first = count;
        count += mcp_session_pollfds(session, fds + count, MAX_POLL_FDS - count);
        int ready = poll(fds, (nfds_t)count, poll_timeout(session, transport));
        if (ready < 0 && errno != EINTR) {
            mcp_session_log(session, MCP_LOG_ERROR, "poll failed: %s", strerror(errno));
            return 0;
        }
        if (ready > 0 && (fds[0].revents & POLLIN))
            take_signals(transport, session);
        if (ready > 0 && input_index >= 0 && fds[input_index].revents && !transport->draining) {
            if (!jsonrpc_reader_fill(reader)) {
                /* The out-of-memory policy: input that cannot be held cannot be answered. */
                mcp_session_log(session, MCP_LOG_ERROR, "out of memory reading input");
                return MCP_EXIT_OUT_OF_MEMORY;
            }
            if (reader->eof) {
                transport->draining = true;
                transport->drain_deadline_ms = db_now_ms() + DRAIN_MS;
            }
        }
        if (!transport->signals)
            handle_input(transport, session, reader, config->max_message_bytes);
        bool serve = mcp_session_process(session, fds + db_first, ready > 0 ? count - db_first : 0);
        if (!transport->signals)
            handle_input(transport, session, reader, config->max_message_bytes);
        if (!serve)
            return 2;
        if (loop_done(transport, session, reader))
            return 0;
    }
}

int mcp_serve(const mcp_config *config, int in_fd, int out_fd) {
    stdio_transport transport = {.out_fd = out_fd};
    char *error = NULL;
    if (!signals_open()) {
        fprintf(stderr, "pgsafe serve: cannot create a pipe: %s\n", strerror(errno));
        return 2;
    }
    mcp_session *session = mcp_session_new(config, stdio_send, &transport, &error);
    if (session == NULL) {
        fprintf(stderr, "pgsafe serve: %s\n", error ? error : "cannot start");
        free(error);
        signals_close();
        return 2;
    }
    jsonrpc_reader reader;
    jsonrpc_reader_init(&reader, in_fd, config->max_message_bytes);
    mcp_session_log(session, MCP_LOG_DEBUG, "pgsafe %s serving MCP on stdio", PGSAFE_VERSION);
    int status = run_loop(&transport, session, &reader, config);
    mcp_session_free(session);
    jsonrpc_reader_free(&reader);
    signals_close();
    return status;
}
