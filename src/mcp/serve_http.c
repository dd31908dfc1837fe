/* `pgsafe serve --http`: the session (session.c) fed by the Streamable HTTP transport
 * (http.c) instead of stdio, in one poll() loop with the database pool. The session is
 * stateless: many clients share it, each request carries what it needs.
 *
 * Routing answers: clients choose their own JSON-RPC ids, so two clients may both send id 1.
 * Each request is handed to the session under an id of ours (a counter), and the route
 * remembers the exchange and the client's id; the answer finds its exchange by our id and
 * goes out with the client's id again. A client that hangs up cancels its request as
 * notifications/cancelled does on stdio, and its exchange is answered (and freed) at once. */
#include "mcp/server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "mcp/http.h"
#include "mcp/json.h"
#include "mcp/jsonrpc.h"
#include "mcp/session.h"
#include "mcp/signals.h"

#define DRAIN_MS     500
#define MAX_POLL_FDS 600

/* One request in flight through the session. */
typedef struct route {
    struct route *next, *previous;
    int64_t id;             /* the id the session sees */
    json_object *client_id; /* owned: the id the client sent */
    http_exchange *exchange;
} route;

typedef struct http_bridge {
    mcp_session *session;
    route *routes;
    int64_t next_id;
} http_bridge;

static route *route_find(http_bridge *bridge, json_object *id) {
    if (id == NULL || !json_object_is_type(id, json_type_int))
        return NULL;
    int64_t wanted = json_object_get_int64(id);
    for (route *item = bridge->routes; item; item = item->next)
        if (item->id == wanted)
            return item;
    return NULL;
}

static void route_free(http_bridge *bridge, route *item) {
    if (item->previous)
        item->previous->next = item->next;
    else
        bridge->routes = item->next;
    if (item->next)
        item->next->previous = item->previous;
    json_object_put(item->client_id);
    free(item);
}

/* The session's writer: an answer goes to its request's exchange, under the client's id.
 * Anything else has no stream to go to over HTTP (the session's own log lines reach stderr). */
static void bridge_send(void *context, json_object *message) {
    http_bridge *bridge = context;
    json_object *id = NULL;
    if (!json_object_object_get_ex(message, "id", &id))
        return;
    route *item = route_find(bridge, id);
    if (item == NULL)
        return; /* its client left: the exchange was answered then */
    json_object *answer = json_object_get(message);
    json_object_object_add(answer, "id", json_object_get(item->client_id));
    http_exchange *exchange = item->exchange;
    route_free(bridge, item);
    http_exchange_reply(exchange, answer);
}

/* A notification about a request (a log line it asked for): on that request's answer. */
static void bridge_notify(void *context, json_object *message, json_object *request_id) {
    http_bridge *bridge = context;
    route *item = route_find(bridge, request_id);
    if (item != NULL)
        http_exchange_notify(item->exchange, json_object_get(message));
}

static bool valid_id(json_object *id) {
    return json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int);
}

/* http.c's message handler: a request goes to the session under our id; a notification or a
 * client's response is handled and accepted with 202. */
static void on_message(void *user, http_exchange *exchange, json_object *message, const http_context *http) {
    http_bridge *bridge = user;
    mcp_message_context context = {.identity = http->identity, .protocol_version = http->protocol_version};
    json_object *id = NULL;
    bool request = json_object_object_get_ex(message, "id", &id) && json_object_object_get_ex(message, "method", NULL);
    if (!request) {
        json_object *method = NULL;
        /* Over HTTP a client cancels by closing the connection; its notifications/cancelled
         * would name an id of its own that the session never saw. */
        if (!(json_object_object_get_ex(message, "method", &method) &&
              strcmp(json_object_get_string(method), "notifications/cancelled") == 0))
            mcp_session_handle_message(bridge->session, message, &context);
        http_exchange_reply(exchange, NULL);
        return;
    }
    if (id == NULL || !valid_id(id)) {
        http_exchange_reply(exchange,
                            jsonrpc_error(NULL, JSONRPC_INVALID_REQUEST, "\"id\" must be a string or an integer"));
        return;
    }
    route *item = mcp_must(calloc(1, sizeof *item), "a route");
    item->id = ++bridge->next_id;
    item->client_id = json_object_get(id);
    item->exchange = exchange;
    item->next = bridge->routes;
    if (bridge->routes)
        bridge->routes->previous = item;
    bridge->routes = item;
    http_exchange_set_owner(exchange, item);
    context.client_id = item->client_id;
    json_object_object_add(message, "id", json_object_new_int64(item->id));
    mcp_session_handle_message(bridge->session, message, &context);
}

/* The client left: cancel its request in the session and answer the exchange now (nothing
 * is sent; the session sends nothing for a cancelled request). */
static void on_cancelled(void *user, http_exchange *exchange, void *owner) {
    http_bridge *bridge = user;
    route *item = owner;
    if (item == NULL)
        return;
    json_object *params = mcp_json_object();
    mcp_json_add(params, "requestId", json_object_new_int64(item->id));
    mcp_json_add(params, "reason", mcp_json_string("the HTTP client closed the connection"));
    json_object *notification = jsonrpc_notification("notifications/cancelled", params);
    mcp_session_handle_message(bridge->session, notification, NULL);
    json_object_put(notification);
    route_free(bridge, item);
    http_exchange_set_owner(exchange, NULL);
    http_exchange_reply(exchange, NULL);
}

static char *on_metrics(void *user) {
    http_bridge *bridge = user;
    return mcp_session_render_metrics(bridge->session);
}

static bool on_ready(void *user, const char **detail) {
    http_bridge *bridge = user;
    return mcp_session_ready(bridge->session, detail);
}

/* The poll timeout: the session's, the transport's (not while draining), the drain's end. */
static int loop_timeout(http_bridge *bridge, http_server *server, bool draining, int64_t drain_deadline) {
    int timeout = mcp_session_timeout(bridge->session);
    int http_timeout = draining ? -1 : http_server_timeout(server);
    if (http_timeout >= 0 && (timeout < 0 || http_timeout < timeout))
        timeout = http_timeout;
    if (draining) {
        int64_t until = drain_deadline - db_now_ms();
        if (timeout < 0 || until < timeout)
            timeout = until < 0 ? 0 : (int)until;
    }
    return timeout;
}

/* Stops the transport (a client still waiting sees its connection close), drops the routes
 * left, frees the session and the metrics. */
static void bridge_close(http_bridge *bridge, http_server *server, mcp_metrics *metrics) {
    http_server_stop(server);
    while (bridge->routes) {
        http_exchange *exchange = bridge->routes->exchange;
        route_free(bridge, bridge->routes);
        http_exchange_reply(exchange, NULL); /* detached by the stop: freed unsent */
    }
    mcp_session_free(bridge->session);
    metrics_free(metrics);
}

int mcp_serve_http(const mcp_config *config, const http_config *http_given) {
    if (!signals_open()) {
        fprintf(stderr, "pgsafe serve: cannot create a pipe: %s\n", strerror(errno));
        return 2;
    }
    http_bridge bridge = {0};
    char *error = NULL;
    bridge.session = mcp_session_new(config, bridge_send, &bridge, &error);
    if (bridge.session == NULL) {
        fprintf(stderr, "pgsafe serve: %s\n", error ? error : "cannot start");
        free(error);
        return 2;
    }
    mcp_session_set_notify(bridge.session, bridge_notify);
    mcp_session_set_stateless(bridge.session, true);
    mcp_metrics *metrics = mcp_must(metrics_new(), "the metrics");
    mcp_session_set_metrics(bridge.session, metrics);
    http_config with_metrics = *http_given;
    with_metrics.metrics = metrics;
    const http_config *http = &with_metrics;
    http_handlers handlers = {
        .user = &bridge, .message = on_message, .cancelled = on_cancelled, .ready = on_ready, .metrics = on_metrics};
    http_server *server = http_server_start(http, &handlers, &error);
    if (server == NULL) {
        fprintf(stderr, "pgsafe serve: %s\n", error ? error : "cannot start the HTTP server");
        free(error);
        mcp_session_free(bridge.session);
        metrics_free(metrics);
        return 2;
    }
    /* The one line a supervisor or a test waits for: where to connect. */
    fprintf(stderr, "pgsafe: listening on http://%s%s%s:%u/mcp\n", strchr(http->host, ':') ? "[" : "", http->host,
            strchr(http->host, ':') ? "]" : "", http_server_port(server));
    int status = 0;
    bool draining = false;
    int64_t drain_deadline = 0;
    for (;;) {
        struct pollfd fds[MAX_POLL_FDS];
        int count = 0;
        fds[count++] = (struct pollfd){.fd = signals_fd(), .events = POLLIN};
        int http_first = count;
        if (!draining)
            count += http_server_pollfds(server, fds + count, MAX_POLL_FDS / 2);
        int http_count = count - http_first;
        int db_first = count;
        count += mcp_session_pollfds(bridge.session, fds + count, MAX_POLL_FDS - count);
        int ready = poll(fds, (nfds_t)count, loop_timeout(&bridge, server, draining, drain_deadline));
        if (ready < 0 && errno != EINTR) {
            mcp_session_log(bridge.session, MCP_LOG_ERROR, "poll failed: %s", strerror(errno));
            break;
        }
        if (ready > 0 && (fds[0].revents & POLLIN)) {
            signals_take();
            if (draining)
                break; /* a second signal: stop now */
            mcp_session_log(bridge.session, MCP_LOG_INFO, "stopping on a signal: calls in flight get %d ms to finish",
                            DRAIN_MS);
            draining = true;
            drain_deadline = db_now_ms() + DRAIN_MS;
        }
        /* New requests first, so the pool sends their calls in this turn; then the pool; then
         * the transport again, to send what the pool's results answered. While draining the
         * transport still runs (answers go out) but its descriptors are not polled. */
        http_server_process(server, fds + http_first, ready > 0 ? http_count : 0);
        bool serve = mcp_session_process(bridge.session, fds + db_first, ready > 0 ? count - db_first : 0);
        http_server_process(server, NULL, 0);
        if (!serve) {
            status = 2;
            break;
        }
        if (draining && (bridge.routes == NULL || db_now_ms() >= drain_deadline))
            break;
    }
    bridge_close(&bridge, server, metrics);
    signals_close();
    return status;
}
