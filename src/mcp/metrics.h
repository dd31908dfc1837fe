/* Counters for `pgsafe serve --http`'s /metrics, in the Prometheus text exposition format
 * (version 0.0.4): JSON-RPC requests by method, tool calls by tool and outcome, rejections by
 * the guard's reason code, a latency histogram of tool calls, HTTP responses by status, open
 * HTTP connections, and the database pool's use (given at render time).
 *
 * The request lifecycle (request.c) counts each finished request, the HTTP transport each
 * answer and connection; serve_http.c owns the counters and renders them for GET /metrics.
 * Every call takes NULL for "no metrics" (stdio) and does nothing then.
 *
 * What a label may hold: only names from fixed tables (MCP methods, the tool table's names,
 * reason codes, HTTP statuses); a value that is not a plain lower-case identifier becomes
 * "other", and each family holds at most METRICS_MAX_SERIES label sets (later ones are
 * counted under "other"). So no SQL text, identity, token or DSN can reach the output, and
 * a client cannot grow it without bound. Single-threaded, like the loop that feeds it. */
#ifndef PGSAFE_MCP_METRICS_H
#define PGSAFE_MCP_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#define METRICS_MAX_SERIES 48

typedef struct mcp_metrics mcp_metrics;

/* The database pool's use at render time. */
typedef struct metrics_pool_use {
    int size;   /* connections configured */
    int open;   /* connected (idle or busy) */
    int busy;   /* running a call */
    int queued; /* calls waiting for a connection */
} metrics_pool_use;

/* New zeroed counters (caller frees with metrics_free), or NULL when out of memory. */
mcp_metrics *metrics_new(void);
void metrics_free(mcp_metrics *metrics);

/* One JSON-RPC request finished (answered, or dropped after a cancellation). method: the
 * request's method (a name MCP does not define counts as "other"). tool: for tools/call, the
 * tool's name from the tool table, else NULL; verdict and reason as in the audit entry (NULL
 * when none); elapsed_ms: from receipt to answer. */
void metrics_count_request(mcp_metrics *metrics, const char *method, const char *tool, const char *verdict,
                           const char *reason, double elapsed_ms);

/* One HTTP answer sent with this status. */
void metrics_count_http_response(mcp_metrics *metrics, unsigned status);

/* An HTTP connection opened (+1) or closed (-1). */
void metrics_http_connection(mcp_metrics *metrics, int change);

/* The exposition text (caller frees), or NULL when out of memory. pool: NULL leaves the
 * pool's gauges out. */
char *metrics_render(const mcp_metrics *metrics, const metrics_pool_use *pool);

/* The Content-Type of that text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
