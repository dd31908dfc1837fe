/* The Streamable HTTP transport (see http.h) on libmicrohttpd.
 *
 * Why this shape: libmicrohttpd runs here with no thread of its own (MHD_USE_EPOLL without
 * MHD_USE_INTERNAL_POLLING_THREAD). Its epoll descriptor sits in the server's poll() set
 * beside stdin's and the pool's sockets, and MHD_run() does its work on the loop's thread.
 * Every callback below therefore runs on that thread, so the dispatcher, the pool and
 * libpq are never touched concurrently, exactly as over stdio. A request whose answer
 * needs the database is suspended (MHD_suspend_connection) until the dispatcher replies;
 * meanwhile its socket is watched here for a hang-up, which is the client's cancellation
 * over HTTP. An internal polling thread would have forced a lock or a queue between
 * libmicrohttpd and the pool for every message, for no gain on a loop that already polls.
 *
 * Limits, each answered with its HTTP status and a JSON-RPC error body:
 *   body over max_body_bytes (declared or streamed)      413
 *   headers over max_header_bytes                        431 (libmicrohttpd closes
 *                                                        beyond 4x that, its memory limit)
 *   connections over max_connections                     503 with Retry-After (hard-refused
 *                                                        by libmicrohttpd at 2x)
 *   messages in flight over max_client_in_flight         429 with Retry-After
 *   the body not read within read_timeout_s              408 (an idle connection is closed
 *                                                        after read_timeout_s) */
#define _GNU_SOURCE /* POLLRDHUP: notice a client that closed while its request waits */

#include "mcp/http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mcp/http_internal.h"
#include "mcp/jsonrpc.h"
#include "util/strings.h"

#define MCP_PATH    "/mcp"
#define RETRY_AFTER "1"

int64_t http_now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void http_config_defaults(http_config *config) {
    memset(config, 0, sizeof *config);
    config->host = "127.0.0.1";
    config->max_body_bytes = 4u * 1024 * 1024;
    config->max_header_bytes = 16u * 1024;
    config->max_connections = 256;
    config->max_client_in_flight = 16;
    config->read_timeout_s = 30;
}

/* Queues the exchange's answer on its connection. */
static enum MHD_Result send_answer(http_exchange *exchange) {
    assert(exchange->connection != NULL && exchange->status != 0);
    struct MHD_Response *response = MHD_create_response_from_buffer(
        exchange->payload_length, exchange->payload ? exchange->payload : (char *)"", MHD_RESPMEM_MUST_COPY);
    if (response == NULL)
        return MHD_NO;
    if (exchange->content_type)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, exchange->content_type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (exchange->content_type && strcmp(exchange->content_type, "text/event-stream") == 0)
        MHD_add_response_header(response, "X-Accel-Buffering", "no");
    if (exchange->status == MHD_HTTP_UNAUTHORIZED) {
        char challenge[HTTP_CHALLENGE_BYTES];
        http_challenge(exchange, challenge, sizeof challenge);
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
    }
    if (exchange->status == MHD_HTTP_TOO_MANY_REQUESTS || exchange->status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER);
    if (exchange->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "POST");
    metrics_count_http_response(exchange->server ? exchange->server->config.metrics : NULL, exchange->status);
    enum MHD_Result queued = MHD_queue_response(exchange->connection, exchange->status, response);
    MHD_destroy_response(response);
    return queued;
}

bool http_answer_metrics(http_exchange *exchange, const char *method, bool authenticated) {
    http_server *server = exchange->server;
    if (!authenticated)
        return false;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        http_set_refusal(exchange, MHD_HTTP_METHOD_NOT_ALLOWED, JSONRPC_INVALID_REQUEST, "use GET");
        return false;
    }
    char *text = server->handlers.metrics(server->handlers.user);
    if (text == NULL) {
        http_set_refusal(exchange, MHD_HTTP_INTERNAL_SERVER_ERROR, JSONRPC_INTERNAL_ERROR, "out of memory");
        return false;
    }
    free(exchange->payload);
    free(exchange->content_type);
    exchange->payload_length = strlen(text);
    exchange->payload = text;
    exchange->content_type = strdup(METRICS_CONTENT_TYPE);
    exchange->status = MHD_HTTP_OK;
    return false;
}

/* ---- clients' messages in flight ---- */

static client_count *client_acquire(http_server *server, const char *key) {
    client_count *client = server->clients;
    while (client && strcmp(client->key, key) != 0)
        client = client->next;
    if (client == NULL) {
        size_t length = strlen(key);
        client = calloc(1, sizeof *client + length + 1);
        if (client == NULL)
            return NULL;
        memcpy(client->key, key, length + 1);
        client->next = server->clients;
        server->clients = client;
    }
    if (client->in_flight >= server->config.max_client_in_flight)
        return NULL;
    client->in_flight++;
    return client;
}

static void client_release(http_server *server, client_count *client) {
    if (server == NULL || client == NULL)
        return;
    assert(client->in_flight > 0);
    if (--client->in_flight > 0)
        return;
    for (client_count **link = &server->clients; *link; link = &(*link)->next)
        if (*link == client) {
            *link = client->next;
            free(client);
            return;
        }
}

/* ---- exchanges ---- */

static void waiting_remove(http_exchange *exchange) {
    http_server *server = exchange->server;
    if (!exchange->suspended)
        return;
    if (exchange->previous_waiting)
        exchange->previous_waiting->next_waiting = exchange->next_waiting;
    else if (server && server->waiting == exchange)
        server->waiting = exchange->next_waiting;
    if (exchange->next_waiting)
        exchange->next_waiting->previous_waiting = exchange->previous_waiting;
    exchange->next_waiting = exchange->previous_waiting = NULL;
}

static void exchange_free(http_exchange *exchange) {
    free(exchange->body.data);
    free(exchange->payload);
    free(exchange->content_type);
    free(exchange->identity);
    json_object_put(exchange->notifications);
    free(exchange);
}

/* Resumes a suspended exchange so libmicrohttpd calls the handler again (to answer, or to
 * close a connection whose client left). */
static void exchange_resume(http_exchange *exchange) {
    if (!exchange->suspended)
        return;
    waiting_remove(exchange);
    exchange->suspended = false;
    if (exchange->connection && exchange->server) {
        MHD_resume_connection(exchange->connection);
        exchange->server->run_again = true;
    }
}

void http_exchange_set_owner(http_exchange *exchange, void *owner) {
    exchange->owner = owner;
}

void http_exchange_notify(http_exchange *exchange, json_object *notification) {
    if (exchange->cancelled || exchange->replied) {
        json_object_put(notification);
        return;
    }
    if (exchange->notifications == NULL)
        exchange->notifications = json_object_new_array();
    json_object_array_add(exchange->notifications, notification);
}

/* The answer as an SSE stream: each notification, then the response. */
static void set_event_stream(http_exchange *exchange, json_object *message) {
    strbuf text = {0};
    size_t count = json_object_array_length(exchange->notifications);
    for (size_t i = 0; i <= count; i++) {
        json_object *event = i < count ? json_object_array_get_idx(exchange->notifications, i) : message;
        size_t length;
        const char *data =
            json_object_to_json_string_length(event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &length);
        strbuf_puts(&text, "event: message\ndata: ");
        strbuf_append(&text, data, length);
        strbuf_puts(&text, "\n\n");
    }
    free(exchange->payload);
    free(exchange->content_type);
    exchange->payload_length = text.length;
    exchange->payload = strbuf_take(&text);
    exchange->content_type = strdup("text/event-stream");
}

void http_exchange_reply(http_exchange *exchange, json_object *message) {
    assert(exchange->dispatched && !exchange->replied);
    exchange->replied = true;
    if (exchange->server)
        client_release(exchange->server, exchange->client);
    exchange->client = NULL;
    if (exchange->connection == NULL || exchange->server == NULL || exchange->cancelled) {
        /* The client left (or the server stopped): nothing to send to. */
        json_object_put(message);
        if (exchange->connection == NULL || exchange->server == NULL)
            exchange_free(exchange);
        else
            exchange_resume(exchange); /* the handler closes the connection */
        return;
    }
    if (message == NULL) {
        free(exchange->payload);
        exchange->payload = NULL;
        exchange->payload_length = 0;
        exchange->status = MHD_HTTP_ACCEPTED;
    } else {
        exchange->status = http_status_for(message, exchange->modern);
        if (exchange->notifications && exchange->status == MHD_HTTP_OK) {
            set_event_stream(exchange, message);
        } else {
            free(exchange->payload);
            free(exchange->content_type);
            exchange->payload = http_json_text(message, &exchange->payload_length);
            exchange->content_type = strdup("application/json");
        }
        json_object_put(message);
        if (exchange->payload == NULL)
            http_set_refusal(exchange, MHD_HTTP_INTERNAL_SERVER_ERROR, JSONRPC_INTERNAL_ERROR, "out of memory");
    }
    exchange_resume(exchange);
}

/* The whole body is in: parse, check, dispatch (or set the refusal). */
static void dispatch(http_exchange *exchange, struct MHD_Connection *connection) {
    http_server *server = exchange->server;
    json_object *message = exchange->body.failed
                               ? NULL
                               : jsonrpc_parse(exchange->body.data ? exchange->body.data : "", exchange->body.length);
    if (exchange->body.failed) {
        http_set_refusal(exchange, MHD_HTTP_INTERNAL_SERVER_ERROR, JSONRPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (message == NULL) {
        http_set_refusal(exchange, MHD_HTTP_BAD_REQUEST, JSONRPC_PARSE_ERROR,
                         "parse error: the body is not valid JSON");
        return;
    }
    if (!json_object_is_type(message, json_type_object)) {
        http_set_refusal(exchange, MHD_HTTP_BAD_REQUEST, JSONRPC_INVALID_REQUEST,
                         json_object_is_type(message, json_type_array)
                             ? "batches are not supported: send one JSON-RPC message per POST"
                             : "not a request: a JSON-RPC message is an object");
        json_object_put(message);
        return;
    }
    json_object *refusal = http_check_mcp_headers(exchange, connection, message);
    if (refusal) {
        exchange->dispatched = true; /* answered through the common path, with its status */
        http_exchange_reply(exchange, refusal);
        exchange->dispatched = false;
        json_object_put(message);
        return;
    }
    exchange->client = client_acquire(server, exchange->identity ? exchange->identity : exchange->address);
    if (exchange->client == NULL) {
        char text[160];
        snprintf(text, sizeof text, "too many requests in flight: at most %u at once per client; retry later",
                 server->config.max_client_in_flight);
        http_set_refusal(exchange, MHD_HTTP_TOO_MANY_REQUESTS, HTTP_RPC_BUSY, text);
        json_object_put(message);
        return;
    }
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    exchange->socket_fd = info ? info->connect_fd : -1;
    http_context context = {.identity = exchange->identity,
                            .client_address = exchange->address,
                            .protocol_version =
                                MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "MCP-Protocol-Version"),
                            .modern = exchange->modern};
    exchange->dispatched = true;
    /* Suspended before the handler runs: a handler that answers at once resumes it. */
    MHD_suspend_connection(connection);
    exchange->suspended = true;
    exchange->next_waiting = server->waiting;
    if (server->waiting)
        server->waiting->previous_waiting = exchange;
    server->waiting = exchange;
    server->handlers.message(server->handlers.user, exchange, message, &context);
    json_object_put(message);
}

/* ---- libmicrohttpd's callbacks ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **request_context) {
    (void)version;
    http_server *server = cls;
    http_exchange *exchange = *request_context;
    if (exchange == NULL) {
        exchange = calloc(1, sizeof *exchange);
        if (exchange == NULL)
            return MHD_NO;
        exchange->server = server;
        exchange->connection = connection;
        exchange->started_ms = http_now_ms();
        exchange->socket_fd = -1;
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (info && info->client_addr) {
            const struct sockaddr *address = info->client_addr;
            if (address->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)address)->sin_addr, exchange->address,
                          sizeof exchange->address);
            else if (address->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)address)->sin6_addr, exchange->address,
                          sizeof exchange->address);
        }
        *request_context = exchange;
        if (!http_check_headers(exchange, connection, method, url) && exchange->too_large)
            http_set_too_large(exchange);
        if (exchange->status != 0)
            return send_answer(exchange); /* refused on its headers alone */
        return MHD_YES;
    }
    if (exchange->status != 0 && !exchange->dispatched) {
        /* Refused while the body streamed in: the rest is read and dropped (libmicrohttpd
         * cannot answer mid-upload), bounded in time by the read timeout; then answered. */
        if (*upload_data_size == 0)
            return send_answer(exchange);
        exchange->dropped += *upload_data_size;
        *upload_data_size = 0;
        bool endless = exchange->dropped > server->config.max_body_bytes ||
                       http_now_ms() - exchange->started_ms > (int64_t)server->config.read_timeout_s * 2000;
        return endless ? MHD_NO : MHD_YES; /* past twice the cap: close without an answer */
    }
    if (*upload_data_size > 0) {
        if (http_now_ms() - exchange->started_ms > (int64_t)server->config.read_timeout_s * 1000) {
            *upload_data_size = 0;
            http_set_refusal(exchange, MHD_HTTP_REQUEST_TIMEOUT, HTTP_RPC_TIMEOUT,
                             "request timeout: the body was not sent in time");
            return MHD_YES;
        }
        if (exchange->body.length + *upload_data_size > server->config.max_body_bytes) {
            *upload_data_size = 0;
            http_set_too_large(exchange);
            return MHD_YES;
        }
        strbuf_append(&exchange->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!exchange->dispatched) {
        dispatch(exchange, connection);
        /* Dispatched: the answer is sent when the reply resumes the connection. */
        return exchange->dispatched ? MHD_YES : send_answer(exchange);
    }
    /* Called again after a resume. */
    if (exchange->cancelled || !exchange->replied)
        return MHD_NO; /* the client left: close */
    return send_answer(exchange);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **request_context,
                         enum MHD_RequestTerminationCode code) {
    (void)connection;
    (void)code;
    http_server *server = cls;
    http_exchange *exchange = *request_context;
    *request_context = NULL;
    if (exchange == NULL)
        return;
    waiting_remove(exchange);
    exchange->suspended = false;
    exchange->connection = NULL;
    if (exchange->dispatched && !exchange->replied) {
        /* The dispatcher still owes the reply; it frees the exchange then. */
        if (server->stopping) {
            exchange->server = NULL;
            exchange->client = NULL; /* the counts go with the server */
        }
        if (!exchange->cancelled) {
            exchange->cancelled = true;
            server->handlers.cancelled(server->handlers.user, exchange, exchange->owner);
        }
        return;
    }
    exchange_free(exchange);
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    (void)connection;
    (void)socket_context;
    http_server *server = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        server->connections++;
    else if (server->connections > 0)
        server->connections--;
    metrics_http_connection(server->config.metrics, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

static void on_log(void *cls, const char *format, va_list arguments) {
    (void)cls;
    char text[512];
    vsnprintf(text, sizeof text, format, arguments);
    size_t length = strlen(text);
    while (length > 0 && text[length - 1] == '\n')
        text[--length] = '\0';
    fprintf(stderr, "pgsafe: debug: http: %s\n", text);
}

/* ---- the server ---- */

static int listen_on(const char *host, unsigned short port, bool *loopback, char **error) {
    struct sockaddr_storage address;
    memset(&address, 0, sizeof address);
    socklen_t length;
    if (host == NULL || strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        length = sizeof *v4;
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        length = sizeof *v6;
        *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    } else {
        *error =
            str_printf("invalid HTTP address \"%s\": give an IP address (127.0.0.1, ::1, 0.0.0.0) or localhost", host);
        return -1;
    }
    int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        bind(fd, (struct sockaddr *)&address, length) != 0 || listen(fd, 128) != 0) {
        *error = str_printf("cannot listen on %s port %u: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

http_server *http_server_start(const http_config *config, const http_handlers *handlers, char **error) {
    *error = NULL;
    assert(handlers->message != NULL && handlers->cancelled != NULL);
    http_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        *error = str_printf("out of memory");
        return NULL;
    }
    server->config = *config;
    server->handlers = *handlers;
    server->listen_fd = listen_on(config->host, config->port, &server->loopback, error);
    if (server->listen_fd < 0) {
        free(server);
        return NULL;
    }
    if (!server->loopback && config->tokens == NULL && config->oauth == NULL) {
        *error = str_printf("refusing to listen on %s without authentication: give --tokens FILE (pgsafe token add "
                            "NAME makes one) or --oauth-issuer, or listen on 127.0.0.1",
                            config->host);
        close(server->listen_fd);
        free(server);
        return NULL;
    }
    struct sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    getsockname(server->listen_fd, (struct sockaddr *)&bound, &bound_length);
    server->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                     : ((struct sockaddr_in *)&bound)->sin_port);
    /* libmicrohttpd's per-connection memory holds the headers: 4x our header cap leaves room
     * for us to answer 431 ourselves before it has to cut the connection. */
    size_t memory = config->max_header_bytes * 4 < 32768 ? 32768 : config->max_header_bytes * 4;
    server->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | (config->log_errors ? MHD_USE_ERROR_LOG : 0) |
            (bound.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, on_request, server, MHD_OPTION_EXTERNAL_LOGGER, on_log, server, MHD_OPTION_LISTEN_SOCKET,
        server->listen_fd, MHD_OPTION_CONNECTION_LIMIT, config->max_connections * 2, MHD_OPTION_CONNECTION_TIMEOUT,
        config->read_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        server, MHD_OPTION_NOTIFY_CONNECTION, on_connection, server, MHD_OPTION_END);
    if (server->daemon == NULL) {
        *error = str_printf("cannot start the HTTP server on %s port %u", config->host, server->port);
        close(server->listen_fd);
        free(server);
        return NULL;
    }
    return server;
}

unsigned short http_server_port(const http_server *server) {
    return server->port;
}

int http_server_pollfds(http_server *server, struct pollfd *fds, int max) {
    int count = 0;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (info && count < max)
        fds[count++] = (struct pollfd){.fd = info->epoll_fd, .events = POLLIN};
    for (http_exchange *exchange = server->waiting; exchange && count < max; exchange = exchange->next_waiting)
        if (exchange->socket_fd >= 0)
            fds[count++] = (struct pollfd){.fd = exchange->socket_fd, .events = POLLRDHUP};
    return count;
}

int http_server_timeout(http_server *server) {
    if (server->run_again)
        return 0;
    MHD_UNSIGNED_LONG_LONG timeout;
    if (MHD_get_timeout(server->daemon, &timeout) != MHD_YES)
        return -1;
    return timeout > INT32_MAX ? INT32_MAX : (int)timeout;
}

void http_server_process(http_server *server, const struct pollfd *fds, int count) {
    /* Clients that hung up while their request waits: cancel, and let the handler close. */
    for (int i = 0; i < count; i++) {
        if (!(fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)))
            continue;
        for (http_exchange *exchange = server->waiting; exchange; exchange = exchange->next_waiting)
            if (exchange->socket_fd == fds[i].fd && !exchange->cancelled) {
                exchange->cancelled = true;
                server->handlers.cancelled(server->handlers.user, exchange, exchange->owner);
                if (exchange->replied)
                    break;
                exchange_resume(exchange);
                break;
            }
    }
    server->run_again = false;
    MHD_run(server->daemon);
    /* Answers given during that run resumed their connections: send them now. */
    for (int rounds = 0; server->run_again && rounds < 4; rounds++) {
        server->run_again = false;
        MHD_run(server->daemon);
    }
}

void http_server_stop(http_server *server) {
    if (server == NULL)
        return;
    /* From here on_completed detaches what the dispatcher still owes and frees the rest. */
    server->stopping = true;
    while (server->waiting) {
        http_exchange *exchange = server->waiting;
        if (!exchange->cancelled) {
            exchange->cancelled = true;
            server->handlers.cancelled(server->handlers.user, exchange, exchange->owner);
        }
        exchange_resume(exchange);
    }
    MHD_run(server->daemon);
    MHD_stop_daemon(server->daemon);
    close(server->listen_fd);
    while (server->clients) {
        client_count *next = server->clients->next;
        free(server->clients);
        server->clients = next;
    }
    free(server);
}
