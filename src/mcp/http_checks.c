/* The Streamable HTTP transport's checks (see http.h and http.c): the answers a refusal sets,
 * the checks made once a request's headers are in (caps, Origin and Host, the bearer token or
 * OAuth JWT, method, path and media type, /healthz, /readyz and the Protected Resource Metadata), and the MCP request
 * headers of a message against its body (MCP-Protocol-Version, Mcp-Method, Mcp-Name). */
#include <assert.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mcp/http.h"
#include "mcp/http_internal.h"
#include "mcp/jsonrpc.h"
#include "mcp/oauth.h"
#include "util/strings.h"

#define META_VERSION    "io.modelcontextprotocol/protocolVersion"
#define MODERN_VERSION  "2026-07-28"
#define BASE64_SENTINEL "=?base64?"
#define BASE64_END      "?="
#define MCP_PATH        "/mcp"
#define PRM_PATH        "/.well-known/oauth-protected-resource"

static const char *const legacy_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

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

char *http_json_text(json_object *message, size_t *length) {
    const char *text =
        json_object_to_json_string_length(message, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, length);
    return text ? str_copy_length(text, *length) : NULL;
}

/* Sets the exchange's answer to a JSON-RPC error with no id (takes nothing). */
void http_set_refusal(http_exchange *exchange, unsigned status, int code, const char *message) {
    free(exchange->payload);
    free(exchange->content_type);
    json_object *error = jsonrpc_error(NULL, code, message);
    exchange->payload = http_json_text(error, &exchange->payload_length);
    json_object_put(error);
    exchange->content_type = strdup("application/json");
    exchange->status = status;
}

void http_set_json(http_exchange *exchange, unsigned status, const char *text) {
    free(exchange->payload);
    free(exchange->content_type);
    exchange->payload = strdup(text);
    exchange->payload_length = exchange->payload ? strlen(text) : 0;
    exchange->content_type = strdup("application/json");
    exchange->status = status;
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
 * without tokens; elsewhere a list of hosts may still be given. With tokens a rebinding
 * page has no token to send, and a reverse proxy in front (TLS) passes its public name. */
static bool host_allowed(const http_server *server, const char *host) {
    if (host == NULL)
        return !server->loopback;
    if (listed(server->config.hosts, host))
        return true;
    if ((server->loopback && server->config.tokens == NULL) || server->config.hosts)
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

/* The path of the audience (the resource's canonical URI), "" for none or "/". */
static const char *audience_path(const char *audience) {
    const char *authority = strstr(audience, "://");
    const char *path = authority ? strchr(authority + 3, '/') : NULL;
    return path == NULL || strcmp(path, "/") == 0 ? "" : path;
}

void http_challenge(const http_exchange *exchange, char *buffer, size_t size) {
    const oauth_validator *oauth = exchange->server ? exchange->server->config.oauth : NULL;
    const char *error = exchange->token_missing ? "" : ", error=\"invalid_token\"";
    if (oauth == NULL) {
        snprintf(buffer, size, "Bearer realm=\"pgsafe\"%s", error);
        return;
    }
    /* RFC 9728 section 3.1: the well-known segment goes between the resource's authority
     * and its path. */
    const char *audience = oauth_audience(oauth);
    const char *path = audience_path(audience);
    int written = snprintf(buffer, size, "Bearer realm=\"pgsafe\", resource_metadata=\"%.*s%s%s\"%s",
                           (int)(strlen(audience) - strlen(path)), audience, PRM_PATH, path, error);
    assert(written > 0 && (size_t)written < size);
    (void)written;
}

/* The Protected Resource Metadata document (RFC 9728) as exchange's answer (to GET and HEAD;
 * 405 otherwise). Returns false: the request is answered. */
static bool answer_resource_metadata(http_exchange *exchange, const char *method) {
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        http_set_refusal(exchange, MHD_HTTP_METHOD_NOT_ALLOWED, JSONRPC_INVALID_REQUEST, "use GET");
        return false;
    }
    const oauth_validator *oauth = exchange->server->config.oauth;
    json_object *body = json_object_new_object();
    json_object *servers = json_object_new_array();
    json_object *methods = json_object_new_array();
    json_object_object_add(body, "resource", json_object_new_string(oauth_audience(oauth)));
    json_object_array_add(servers, json_object_new_string(oauth_issuer(oauth)));
    json_object_object_add(body, "authorization_servers", servers);
    json_object_array_add(methods, json_object_new_string("header"));
    json_object_object_add(body, "bearer_methods_supported", methods);
    free(exchange->payload);
    free(exchange->content_type);
    exchange->payload = http_json_text(body, &exchange->payload_length);
    exchange->content_type = strdup("application/json");
    exchange->status = MHD_HTTP_OK;
    json_object_put(body);
    return false;
}

/* The Protected Resource Metadata is served at the root well-known path and at the one
 * suffixed with the audience's path, which clients try first. */
static bool resource_metadata_url(const http_server *server, const char *url) {
    if (server->config.oauth == NULL || strncmp(url, PRM_PATH, strlen(PRM_PATH)) != 0)
        return false;
    const char *rest = url + strlen(PRM_PATH);
    return *rest == '\0' || strcmp(rest, audience_path(oauth_audience(server->config.oauth))) == 0;
}

static void refuse_unauthorized(http_exchange *exchange, const char *message) {
    http_set_refusal(exchange, MHD_HTTP_UNAUTHORIZED, HTTP_RPC_UNAUTHORIZED, message);
}

/* The request's identity: a pgsafe_ token's name from the token file, or a JWT's subject
 * when OAuth is configured (anything not pgsafe_ goes there). False (with a refusal set)
 * when authentication is required and the request has no token or a bad one. */
static bool authenticate(http_exchange *exchange, struct MHD_Connection *connection) {
    http_server *server = exchange->server;
    if (server->config.tokens == NULL && server->config.oauth == NULL)
        return true;
    char *error = NULL;
    if (server->config.tokens && !token_store_refresh(server->config.tokens, &error)) {
        fprintf(stderr, "pgsafe: error: %s; every token is refused until it is fixed\n", error ? error : "?");
        free(error);
    }
    if (server->config.oauth && !oauth_validator_refresh(server->config.oauth, &error)) {
        fprintf(stderr, "pgsafe: error: %s; every JWT is refused until it is fixed\n", error ? error : "?");
        free(error);
    }
    const char *header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0) {
        exchange->token_missing = true;
        refuse_unauthorized(exchange, server->config.tokens ? "authentication required: send Authorization: Bearer "
                                                              "TOKEN (pgsafe token add NAME makes one)"
                                                            : "authentication required: send Authorization: Bearer "
                                                              "TOKEN, an access token from the authorization server");
        return false;
    }
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    bool pgsafe_token = strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0;
    if (server->config.oauth && !pgsafe_token) {
        const char *reason = NULL;
        char *subject = oauth_validate(server->config.oauth, token, (int64_t)time(NULL), &reason);
        if (subject == NULL) {
            refuse_unauthorized(exchange, reason);
            return false;
        }
        exchange->identity = subject;
        return true;
    }
    const char *identity =
        server->config.tokens ? token_store_verify(server->config.tokens, token, strlen(token)) : NULL;
    if (identity == NULL) {
        refuse_unauthorized(exchange, "invalid token: it is unknown or was revoked");
        return false;
    }
    exchange->identity = strdup(identity);
    return exchange->identity != NULL;
}

/* False (with 431 set) when all the request's headers together are over the cap. */
static bool headers_fit(http_exchange *exchange, struct MHD_Connection *connection) {
    size_t cap = exchange->server->config.max_header_bytes;
    header_size size = {0};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, count_header, &size);
    if (size.bytes <= cap)
        return true;
    char text[160];
    snprintf(text, sizeof text, "request headers too large: at most %zu bytes", cap);
    http_set_refusal(exchange, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, JSONRPC_INVALID_REQUEST, text);
    return false;
}

/* Checks made once the headers are in; false when a refusal was set. */
bool http_check_headers(http_exchange *exchange, struct MHD_Connection *connection, const char *method,
                        const char *url) {
    http_server *server = exchange->server;
    if (!headers_fit(exchange, connection))
        return false;
    if (server->connections > server->config.max_connections) {
        http_set_refusal(exchange, MHD_HTTP_SERVICE_UNAVAILABLE, HTTP_RPC_BUSY, "too many connections: retry later");
        return false;
    }
    const char *origin = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Origin");
    if (origin && !origin_allowed(server, origin)) {
        http_set_refusal(
            exchange, MHD_HTTP_FORBIDDEN, HTTP_RPC_FORBIDDEN,
            "origin not allowed: a page from another site may not call this server (--http-origin adds one)");
        return false;
    }
    const char *host = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host_allowed(server, host)) {
        http_set_refusal(exchange, MHD_HTTP_FORBIDDEN, HTTP_RPC_FORBIDDEN,
                         "host not allowed: without --tokens only localhost names are served (use --tokens)");
        return false;
    }
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0) {
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
            http_set_refusal(exchange, MHD_HTTP_METHOD_NOT_ALLOWED, JSONRPC_INVALID_REQUEST, "use GET");
            return false;
        }
        if (strcmp(url, "/healthz") == 0) {
            http_set_json(exchange, MHD_HTTP_OK, "{\"status\":\"ok\"}");
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
        exchange->payload = http_json_text(body, &exchange->payload_length);
        exchange->content_type = strdup("application/json");
        exchange->status = ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        json_object_put(body);
        return false;
    }
    if (resource_metadata_url(server, url))
        return answer_resource_metadata(exchange, method);
    if (strcmp(url, "/metrics") == 0 && server->handlers.metrics)
        return http_answer_metrics(exchange, method, authenticate(exchange, connection));
    if (strcmp(url, MCP_PATH) != 0) {
        http_set_refusal(exchange, MHD_HTTP_NOT_FOUND, JSONRPC_INVALID_REQUEST,
                         "not found: the MCP endpoint is POST /mcp (and GET /healthz, /readyz)");
        return false;
    }
    if (!authenticate(exchange, connection))
        return false;
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        /* No GET stream and no sessions to DELETE: this server never pushes. */
        http_set_refusal(exchange, MHD_HTTP_METHOD_NOT_ALLOWED, JSONRPC_INVALID_REQUEST,
                         "method not allowed: send each JSON-RPC message as a POST");
        return false;
    }
    const char *type = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (type == NULL || strncasecmp(type, "application/json", 16) != 0 ||
        (type[16] != '\0' && type[16] != ';' && type[16] != ' ')) {
        http_set_refusal(exchange, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, JSONRPC_INVALID_REQUEST,
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

void http_set_too_large(http_exchange *exchange) {
    char text[160];
    snprintf(text, sizeof text, "message too large: a request body may hold at most %zu bytes",
             exchange->server->config.max_body_bytes);
    http_set_refusal(exchange, MHD_HTTP_CONTENT_TOO_LARGE, JSONRPC_INVALID_REQUEST, text);
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
json_object *http_check_mcp_headers(http_exchange *exchange, struct MHD_Connection *connection, json_object *message) {
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
    /* Mcp-Method is required on a request; a notification may go without it (the v2 SDK's
     * client sends none on one), but one it carries must still match. */
    if (header_method == NULL && id == NULL)
        return NULL;
    if (header_method == NULL) {
        snprintf(text, sizeof text, "header mismatch: Mcp-Method is missing; it must be the body's method '%.100s'",
                 method);
        return jsonrpc_error(id, MCP_HEADER_MISMATCH, text);
    }
    if (strcmp(header_method, method) != 0) {
        snprintf(text, sizeof text, "header mismatch: Mcp-Method '%.100s' does not match the body's method '%.100s'",
                 header_method, method);
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
