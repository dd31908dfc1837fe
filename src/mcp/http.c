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

#include "mcp/jsonrpc.h"
#include "util/strings.h"

#define MCP_PATH         "/mcp"
#define META_VERSION     "io.modelcontextprotocol/protocolVersion"
#define MODERN_VERSION   "2026-07-28"
#define BASE64_SENTINEL  "=?base64?"
#define BASE64_END       "?="
#define RETRY_AFTER      "1"
#define EXTRA_POLL_SLOTS 1

static const char *const legacy_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

/* Messages in flight for one client key (identity, or address without tokens). */
typedef struct client_count {
    struct client_count *next;
    unsigned in_flight;
    char key[];
} client_count;

struct http_server {
    http_config config;
    http_handlers handlers;
    struct MHD_Daemon *daemon;
    int listen_fd;
    unsigned short port;
    bool loopback;
    unsigned connections;
    http_exchange *waiting; /* suspended exchanges, for hang-up watching */
    client_count *clients;
    bool run_again; /* a connection was resumed: MHD_run() must run before the next poll */
    bool stopping;  /* in http_server_stop: owed exchanges are detached */
};

/* One HTTP request to /mcp, from its first header to its answer. */
struct http_exchange {
    http_server *server;               /* NULL once the server stopped */
    struct MHD_Connection *connection; /* NULL once libmicrohttpd is done with it */
    http_exchange *next_waiting, *previous_waiting;
    bool suspended;
    bool dispatched; /* handed to the dispatcher: it owes a reply */
    bool replied;
    bool cancelled;
    bool modern;
    void *owner;
    client_count *client; /* counted while dispatched and not replied */
    int64_t started_ms;
    int socket_fd;
    strbuf body;
    bool too_large;
    size_t dropped;     /* body bytes read and dropped after a refusal */
    bool token_missing; /* 401 without a token: the challenge carries no error */
    /* The refusal or the answer, once known. */
    unsigned status;
    char *content_type;
    char *payload;
    size_t payload_length;
    json_object *notifications; /* array, or NULL */
    char *identity;
    char address[INET6_ADDRSTRLEN];
};

static int64_t now_ms(void) {
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

/* ---- answers ---- */

unsigned http_status_for(json_object *message, bool modern) {
    json_object *error = NULL, *code = NULL;
    if (message == NULL || !json_object_object_get_ex(message, "error", &error) ||
        !json_object_object_get_ex(error, "code", &code))
        return MHD_HTTP_OK;
    int value = json_object_get_int(code);
    if (value == JSONRPC_PARSE_ERROR || value == JSONRPC_INVALID_REQUEST)
        return MHD_HTTP_BAD_REQUEST;
    if (!modern)
        return MHD_HTTP_OK;
    if (value == JSONRPC_METHOD_NOT_FOUND)
        return MHD_HTTP_NOT_FOUND;
    if (value == JSONRPC_INVALID_PARAMS || value == MCP_HEADER_MISMATCH || value == MCP_MISSING_CAPABILITY ||
        value == MCP_UNSUPPORTED_VERSION)
        return MHD_HTTP_BAD_REQUEST;
    return MHD_HTTP_OK;
}

static char *json_text(json_object *message, size_t *length) {
    const char *text =
        json_object_to_json_string_length(message, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, length);
    return text ? str_copy_length(text, *length) : NULL;
}

/* Sets the exchange's answer to a JSON-RPC error with no id (takes nothing). */
static void set_refusal(http_exchange *exchange, unsigned status, int code, const char *message) {
    free(exchange->payload);
    free(exchange->content_type);
    json_object *error = jsonrpc_error(NULL, code, message);
    exchange->payload = json_text(error, &exchange->payload_length);
    json_object_put(error);
    exchange->content_type = strdup("application/json");
    exchange->status = status;
}

static void set_json(http_exchange *exchange, unsigned status, const char *text) {
    free(exchange->payload);
    free(exchange->content_type);
    exchange->payload = strdup(text);
    exchange->payload_length = exchange->payload ? strlen(text) : 0;
    exchange->content_type = strdup("application/json");
    exchange->status = status;
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
    if (exchange->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                exchange->token_missing ? "Bearer realm=\"pgsafe\""
                                                        : "Bearer realm=\"pgsafe\", error=\"invalid_token\"");
    if (exchange->status == MHD_HTTP_TOO_MANY_REQUESTS || exchange->status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER);
    if (exchange->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "POST");
    enum MHD_Result queued = MHD_queue_response(exchange->connection, exchange->status, response);
    MHD_destroy_response(response);
    return queued;
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
            exchange->payload = json_text(message, &exchange->payload_length);
            exchange->content_type = strdup("application/json");
        }
        json_object_put(message);
        if (exchange->payload == NULL)
            set_refusal(exchange, MHD_HTTP_INTERNAL_SERVER_ERROR, JSONRPC_INTERNAL_ERROR, "out of memory");
    }
    exchange_resume(exchange);
}

/* ---- checks on headers ---- */

static bool loopback_name(const char *host, size_t length) {
    return (length == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (length == 9 && strncmp(host, "127.0.0.1", 9) == 0) || (length == 5 && strncmp(host, "[::1]", 5) == 0);
}

/* host[:port] with a loopback host. */
static bool loopback_authority(const char *authority) {
    size_t length = strlen(authority);
    const char *colon = authority[0] == '[' ? strchr(authority, ']') : strchr(authority, ':');
    if (authority[0] == '[' && colon) {
        colon++;
        if (*colon != '\0' && *colon != ':')
            return false;
        if (*colon == '\0')
            colon = NULL;
    }
    size_t host_length = colon ? (size_t)(colon - authority) : length;
    if (colon)
        for (const char *p = colon + 1; *p; p++)
            if (*p < '0' || *p > '9')
                return false;
    return loopback_name(authority, host_length);
}

static bool listed(const char *const *list, const char *value) {
    for (size_t i = 0; list && list[i]; i++)
        if (strcasecmp(list[i], value) == 0)
            return true;
    return false;
}

static bool origin_allowed(const http_server *server, const char *origin) {
    if (listed(server->config.origins, origin))
        return true;
    const char *authority = NULL;
    if (strncmp(origin, "http://", 7) == 0)
        authority = origin + 7;
    else if (strncmp(origin, "https://", 8) == 0)
        authority = origin + 8;
    return authority != NULL && strchr(authority, '/') == NULL && loopback_authority(authority);
}

/* The Host header matters against DNS rebinding when the server listens on loopback
 * without tokens; elsewhere a list of hosts may still be given. */
static bool host_allowed(const http_server *server, const char *host) {
    if (host == NULL)
        return !server->loopback;
    if (listed(server->config.hosts, host))
        return true;
    if (server->loopback || server->config.hosts)
        return loopback_authority(host);
    return true;
}

typedef struct header_size {
    size_t bytes;
} header_size;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    header_size *size = cls;
    size->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* The bearer token's identity; false (with a refusal set) when tokens are required and the
 * request has none or a bad one. */
static bool authenticate(http_exchange *exchange, struct MHD_Connection *connection) {
    http_server *server = exchange->server;
    if (server->config.tokens == NULL)
        return true;
    char *error = NULL;
    if (!token_store_refresh(server->config.tokens, &error)) {
        fprintf(stderr, "pgsafe: error: %s; every token is refused until it is fixed\n", error ? error : "?");
        free(error);
    }
    const char *header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0) {
        exchange->token_missing = true;
        set_refusal(exchange, MHD_HTTP_UNAUTHORIZED, HTTP_RPC_UNAUTHORIZED,
                    "authentication required: send Authorization: Bearer TOKEN (pgsafe token add NAME makes one)");
        return false;
    }
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    const char *identity = token_store_verify(server->config.tokens, token, strlen(token));
    if (identity == NULL) {
        set_refusal(exchange, MHD_HTTP_UNAUTHORIZED, HTTP_RPC_UNAUTHORIZED,
                    "invalid token: it is unknown or was revoked");
        return false;
    }
    exchange->identity = strdup(identity);
    return exchange->identity != NULL;
}

/* Checks made once the headers are in; false when a refusal was set. */
static bool check_headers(http_exchange *exchange, struct MHD_Connection *connection, const char *method,
                          const char *url) {
    http_server *server = exchange->server;
    header_size size = {0};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, count_header, &size);
    if (size.bytes > server->config.max_header_bytes) {
        char text[160];
        snprintf(text, sizeof text, "request headers too large: at most %zu bytes", server->config.max_header_bytes);
        set_refusal(exchange, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, JSONRPC_INVALID_REQUEST, text);
        return false;
    }
    if (server->connections > server->config.max_connections) {
        set_refusal(exchange, MHD_HTTP_SERVICE_UNAVAILABLE, HTTP_RPC_BUSY, "too many connections: retry later");
        return false;
    }
    const char *origin = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Origin");
    if (origin && !origin_allowed(server, origin)) {
        set_refusal(exchange, MHD_HTTP_FORBIDDEN, HTTP_RPC_FORBIDDEN,
                    "origin not allowed: a page from another site may not call this server (--http-origin adds one)");
        return false;
    }
    const char *host = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host_allowed(server, host)) {
        set_refusal(exchange, MHD_HTTP_FORBIDDEN, HTTP_RPC_FORBIDDEN,
                    "host not allowed: this server answers to localhost only (--http-host-name adds a name)");
        return false;
    }
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0) {
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
            set_refusal(exchange, MHD_HTTP_METHOD_NOT_ALLOWED, JSONRPC_INVALID_REQUEST, "use GET");
            return false;
        }
        if (strcmp(url, "/healthz") == 0) {
            set_json(exchange, MHD_HTTP_OK, "{\"status\":\"ok\"}");
            return false;
        }
        const char *detail = NULL;
        bool ready = server->handlers.ready == NULL || server->handlers.ready(server->handlers.user, &detail);
        json_object *body = json_object_new_object();
        json_object_object_add(body, "status", json_object_new_string(ready ? "ready" : "not ready"));
        if (!ready)
            json_object_object_add(body, "detail", json_object_new_string(detail ? detail : "not ready"));
        free(exchange->payload);
        free(exchange->content_type);
        exchange->payload = json_text(body, &exchange->payload_length);
        exchange->content_type = strdup("application/json");
        exchange->status = ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        json_object_put(body);
        return false;
    }
    if (strcmp(url, MCP_PATH) != 0) {
        set_refusal(exchange, MHD_HTTP_NOT_FOUND, JSONRPC_INVALID_REQUEST,
                    "not found: the MCP endpoint is POST /mcp (and GET /healthz, /readyz)");
        return false;
    }
    if (!authenticate(exchange, connection))
        return false;
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        /* No GET stream and no sessions to DELETE: this server never pushes. */
        set_refusal(exchange, MHD_HTTP_METHOD_NOT_ALLOWED, JSONRPC_INVALID_REQUEST,
                    "method not allowed: send each JSON-RPC message as a POST");
        return false;
    }
    const char *type = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (type == NULL || strncasecmp(type, "application/json", 16) != 0 ||
        (type[16] != '\0' && type[16] != ';' && type[16] != ' ')) {
        set_refusal(exchange, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, JSONRPC_INVALID_REQUEST,
                    "unsupported media type: the body must be application/json");
        return false;
    }
    const char *declared = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (declared && strtoull(declared, NULL, 10) > server->config.max_body_bytes) {
        exchange->too_large = true;
        return false;
    }
    return true;
}

static void set_too_large(http_exchange *exchange) {
    char text[160];
    snprintf(text, sizeof text, "message too large: a request body may hold at most %zu bytes",
             exchange->server->config.max_body_bytes);
    set_refusal(exchange, MHD_HTTP_CONTENT_TOO_LARGE, JSONRPC_INVALID_REQUEST, text);
}

/* ---- the MCP request headers against the body ---- */

static int base64_value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* A header value as the client meant it: the Base64 sentinel form decoded (caller frees),
 * NULL when malformed. */
static char *header_value(const char *value) {
    size_t length = strlen(value), start = strlen(BASE64_SENTINEL), end = strlen(BASE64_END);
    if (length < start + end || strncmp(value, BASE64_SENTINEL, start) != 0 ||
        strcmp(value + length - end, BASE64_END) != 0)
        return strdup(value);
    const char *data = value + start;
    size_t data_length = length - start - end;
    char *out = malloc(data_length + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    uint32_t bits = 0;
    int count = 0;
    for (size_t i = 0; i < data_length; i++) {
        if (data[i] == '=')
            break;
        int v = base64_value(data[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        bits = bits << 6 | (uint32_t)v;
        if (++count == 4) {
            out[o++] = (char)(bits >> 16);
            out[o++] = (char)(bits >> 8);
            out[o++] = (char)bits;
            bits = 0;
            count = 0;
        }
    }
    if (count == 2)
        out[o++] = (char)(bits >> 4);
    else if (count == 3) {
        out[o++] = (char)(bits >> 10);
        out[o++] = (char)(bits >> 2);
    } else if (count == 1) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    if (strlen(out) != o) { /* an embedded NUL can match nothing in the body */
        free(out);
        return NULL;
    }
    return out;
}

static const char *string_member(json_object *object, const char *name) {
    json_object *member = NULL;
    if (object == NULL || !json_object_is_type(object, json_type_object) ||
        !json_object_object_get_ex(object, name, &member) || !json_object_is_type(member, json_type_string))
        return NULL;
    return json_object_get_string(member);
}

static bool legacy_version(const char *version) {
    for (size_t i = 0; i < sizeof legacy_versions / sizeof *legacy_versions; i++)
        if (strcmp(version, legacy_versions[i]) == 0)
            return true;
    return false;
}

/* Checks MCP-Protocol-Version, Mcp-Method and Mcp-Name against the message and decides
 * its era. Returns an error answer (owned) or NULL when the message may be dispatched. */
static json_object *check_mcp_headers(http_exchange *exchange, struct MHD_Connection *connection,
                                      json_object *message) {
    json_object *id = NULL;
    json_object_object_get_ex(message, "id", &id);
    json_object *params = NULL, *meta = NULL;
    json_object_object_get_ex(message, "params", &params);
    if (params && json_object_is_type(params, json_type_object))
        json_object_object_get_ex(params, "_meta", &meta);
    const char *body_version = string_member(meta, META_VERSION);
    const char *header_version = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "MCP-Protocol-Version");
    const char *method = string_member(message, "method");
    exchange->modern = body_version != NULL;
    char text[512];
    if (!exchange->modern) {
        /* Legacy: no header means 2025-03-26 (the spec lets a server assume it). */
        if (header_version == NULL || legacy_version(header_version))
            return NULL;
        exchange->modern = true; /* the answer is a modern error, with its status */
        if (strcmp(header_version, MODERN_VERSION) == 0) {
            snprintf(text, sizeof text,
                     "header mismatch: MCP-Protocol-Version is %s but params._meta has no \"" META_VERSION "\"",
                     MODERN_VERSION);
            return jsonrpc_error(id, MCP_HEADER_MISMATCH, text);
        }
        json_object *error = jsonrpc_error(id, MCP_UNSUPPORTED_VERSION, "Unsupported protocol version");
        json_object *data = json_object_new_object(), *supported = json_object_new_array();
        json_object_array_add(supported, json_object_new_string(MODERN_VERSION));
        for (size_t i = 0; i < sizeof legacy_versions / sizeof *legacy_versions; i++)
            json_object_array_add(supported, json_object_new_string(legacy_versions[i]));
        json_object_object_add(data, "supported", supported);
        json_object_object_add(data, "requested", json_object_new_string(header_version));
        json_object *body = NULL;
        json_object_object_get_ex(error, "error", &body);
        json_object_object_add(body, "data", data);
        return error;
    }
    if (header_version == NULL || strcmp(header_version, body_version) != 0) {
        snprintf(text, sizeof text, "header mismatch: MCP-Protocol-Version %s%s%s does not match params._meta's %s",
                 header_version ? "'" : "(missing)", header_version ? header_version : "", header_version ? "'" : "",
                 body_version);
        return jsonrpc_error(id, MCP_HEADER_MISMATCH, text);
    }
    if (method == NULL)
        return NULL; /* not a request: the dispatcher says so */
    const char *header_method = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Mcp-Method");
    if (header_method == NULL || strcmp(header_method, method) != 0) {
        snprintf(text, sizeof text, "header mismatch: Mcp-Method %s does not match the body's method '%.100s'",
                 header_method ? "differs" : "is missing", method);
        return jsonrpc_error(id, MCP_HEADER_MISMATCH, text);
    }
    const char *name_field = strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0 ? "name"
                             : strcmp(method, "resources/read") == 0                                 ? "uri"
                                                                                                     : NULL;
    if (name_field == NULL)
        return NULL;
    const char *body_name = string_member(params, name_field);
    const char *header_name = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Mcp-Name");
    char *decoded = header_name ? header_value(header_name) : NULL;
    bool match = decoded != NULL && body_name != NULL && strcmp(decoded, body_name) == 0;
    free(decoded);
    if (!match && body_name != NULL) {
        snprintf(text, sizeof text, "header mismatch: Mcp-Name %s does not match params.%s",
                 header_name ? "differs, or is malformed," : "is missing and", name_field);
        return jsonrpc_error(id, MCP_HEADER_MISMATCH, text);
    }
    return NULL; /* a missing name is the dispatcher's invalid params */
}

/* The whole body is in: parse, check, dispatch (or set the refusal). */
static void dispatch(http_exchange *exchange, struct MHD_Connection *connection) {
    http_server *server = exchange->server;
    json_object *message = exchange->body.failed
                               ? NULL
                               : jsonrpc_parse(exchange->body.data ? exchange->body.data : "", exchange->body.length);
    if (exchange->body.failed) {
        set_refusal(exchange, MHD_HTTP_INTERNAL_SERVER_ERROR, JSONRPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (message == NULL) {
        set_refusal(exchange, MHD_HTTP_BAD_REQUEST, JSONRPC_PARSE_ERROR, "parse error: the body is not valid JSON");
        return;
    }
    if (!json_object_is_type(message, json_type_object)) {
        set_refusal(exchange, MHD_HTTP_BAD_REQUEST, JSONRPC_INVALID_REQUEST,
                    json_object_is_type(message, json_type_array)
                        ? "batches are not supported: send one JSON-RPC message per POST"
                        : "not a request: a JSON-RPC message is an object");
        json_object_put(message);
        return;
    }
    json_object *refusal = check_mcp_headers(exchange, connection, message);
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
        set_refusal(exchange, MHD_HTTP_TOO_MANY_REQUESTS, HTTP_RPC_BUSY, text);
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
        exchange->started_ms = now_ms();
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
        if (!check_headers(exchange, connection, method, url) && exchange->too_large)
            set_too_large(exchange);
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
                       now_ms() - exchange->started_ms > (int64_t)server->config.read_timeout_s * 2000;
        return endless ? MHD_NO : MHD_YES; /* past twice the cap: close without an answer */
    }
    if (*upload_data_size > 0) {
        if (now_ms() - exchange->started_ms > (int64_t)server->config.read_timeout_s * 1000) {
            *upload_data_size = 0;
            set_refusal(exchange, MHD_HTTP_REQUEST_TIMEOUT, HTTP_RPC_TIMEOUT,
                        "request timeout: the body was not sent in time");
            return MHD_YES;
        }
        if (exchange->body.length + *upload_data_size > server->config.max_body_bytes) {
            *upload_data_size = 0;
            set_too_large(exchange);
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
    if (!server->loopback && config->tokens == NULL) {
        *error = str_printf("refusing to listen on %s without authentication: give --tokens FILE (pgsafe token add "
                            "NAME makes one), or listen on 127.0.0.1",
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
