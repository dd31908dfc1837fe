/* What http.c and http_checks.c share: the server's and an exchange's state, and the
 * checks and answers http.c calls. Not for the dispatcher: it sees mcp/http.h only. */
#ifndef PGSAFE_MCP_HTTP_INTERNAL_H
#define PGSAFE_MCP_HTTP_INTERNAL_H

#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <arpa/inet.h>

#include "mcp/http.h"
#include "util/strings.h"

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

/* Monotonic milliseconds. */
int64_t http_now_ms(void);

/* The message as compact JSON text (caller frees), its length in *length; NULL when out of memory. */
char *http_json_text(json_object *message, size_t *length);

/* Sets the exchange's answer: a JSON-RPC error with no id, or a JSON text, with status. */
void http_set_refusal(http_exchange *exchange, unsigned status, int code, const char *message);
void http_set_json(http_exchange *exchange, unsigned status, const char *text);

/* GET /metrics: the handler's exposition text, or 405 for another method; nothing when not
 * authenticated (the refusal is set already). Returns false, as http_check_headers does for
 * an answer set. */
bool http_answer_metrics(http_exchange *exchange, const char *method, bool authenticated);

/* 413 naming the body cap. */
void http_set_too_large(http_exchange *exchange);

/* The WWW-Authenticate value of a 401 answer, into buffer (HTTP_CHALLENGE_BYTES): with
 * OAuth it names the Protected Resource Metadata; error="invalid_token" when a token was
 * presented and refused. */
#define HTTP_CHALLENGE_BYTES (OAUTH_MAX_AUDIENCE * 2 + 160)
void http_challenge(const http_exchange *exchange, char *buffer, size_t size);

/* The checks made once a request's headers are in; false when an answer was set (a refusal,
 * or /healthz and /readyz), or when the declared body is over the cap (too_large set). */
bool http_check_headers(http_exchange *exchange, struct MHD_Connection *connection, const char *method,
                        const char *url);

/* Checks MCP-Protocol-Version, Mcp-Method and Mcp-Name against the message and decides its
 * era (exchange->modern). Returns an error answer (owned) or NULL when it may be dispatched. */
json_object *http_check_mcp_headers(http_exchange *exchange, struct MHD_Connection *connection, json_object *message);

#endif
