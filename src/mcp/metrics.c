/* Counters for /metrics and their Prometheus text rendering (see metrics.h). */
#include "mcp/metrics.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

#define LABEL_BYTES 40

/* Seconds; the last bucket, +Inf, is the count. Spans a catalog read to a statement timeout. */
static const double duration_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define BUCKET_COUNT (sizeof duration_buckets / sizeof *duration_buckets)

/* The methods MCP defines (any revision this server speaks); anything else is "other". */
static const char *const known_methods[] = {"initialize",          "ping",
                                            "server/discover",     "tools/list",
                                            "tools/call",          "resources/list",
                                            "resources/read",      "resources/templates/list",
                                            "prompts/list",        "prompts/get",
                                            "logging/setLevel",    "completion/complete",
                                            "resources/subscribe", "resources/unsubscribe"};

/* One label set of a counter family and its count. */
typedef struct series {
    char labels[2][LABEL_BYTES];
    uint64_t count;
} series;

typedef struct counter_family {
    series items[METRICS_MAX_SERIES];
    int count;
} counter_family;

typedef struct histogram {
    char tool[LABEL_BYTES];
    uint64_t buckets[BUCKET_COUNT]; /* cumulative counts are made when rendering */
    uint64_t count;
    double sum_seconds;
} histogram;

struct mcp_metrics {
    counter_family requests;   /* method */
    counter_family tool_calls; /* tool, outcome */
    counter_family rejections; /* reason */
    counter_family responses;  /* HTTP status */
    histogram durations[METRICS_MAX_SERIES];
    int duration_count;
    int64_t http_connections;
};

mcp_metrics *metrics_new(void) {
    return calloc(1, sizeof(mcp_metrics));
}

void metrics_free(mcp_metrics *metrics) {
    free(metrics);
}

/* A label value as it may appear: a plain lower-case identifier (letters, digits, _ . / -)
 * shorter than LABEL_BYTES, else "other". Nothing a client typed freely gets through, and no
 * character ever needs escaping in the output. */
static const char *safe_label(const char *value) {
    if (value == NULL || value[0] == '\0' || strlen(value) >= LABEL_BYTES)
        return "other";
    for (const char *p = value; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '/' || *p == '-'))
            return "other";
    return value;
}

/* The series for these labels (second may be NULL), added when new; once the family is
 * full, new label sets go to the ("other", "other") series, which the last slot keeps. */
static series *series_for(counter_family *family, const char *first, const char *second) {
    first = safe_label(first);
    second = second ? safe_label(second) : "";
    for (int i = 0; i < family->count; i++)
        if (strcmp(family->items[i].labels[0], first) == 0 && strcmp(family->items[i].labels[1], second) == 0)
            return &family->items[i];
    bool overflow = strcmp(first, "other") == 0 && (second[0] == '\0' || strcmp(second, "other") == 0);
    if (family->count >= METRICS_MAX_SERIES - 1 && !overflow)
        return series_for(family, "other", second[0] ? "other" : NULL);
    assert(family->count < METRICS_MAX_SERIES);
    series *item = &family->items[family->count++];
    snprintf(item->labels[0], LABEL_BYTES, "%s", first);
    snprintf(item->labels[1], LABEL_BYTES, "%s", second);
    return item;
}

static histogram *histogram_for(mcp_metrics *metrics, const char *tool) {
    tool = safe_label(tool);
    for (int i = 0; i < metrics->duration_count; i++)
        if (strcmp(metrics->durations[i].tool, tool) == 0)
            return &metrics->durations[i];
    if (metrics->duration_count >= METRICS_MAX_SERIES - 1 && strcmp(tool, "other") != 0)
        return histogram_for(metrics, "other");
    assert(metrics->duration_count < METRICS_MAX_SERIES);
    histogram *item = &metrics->durations[metrics->duration_count++];
    snprintf(item->tool, LABEL_BYTES, "%s", tool);
    return item;
}

static const char *method_label(const char *method) {
    for (size_t i = 0; method && i < sizeof known_methods / sizeof *known_methods; i++)
        if (strcmp(method, known_methods[i]) == 0)
            return method;
    return "other";
}

void metrics_count_request(mcp_metrics *metrics, const char *method, const char *tool, const char *verdict,
                           const char *reason, double elapsed_ms) {
    if (metrics == NULL)
        return;
    series_for(&metrics->requests, method_label(method), NULL)->count++;
    if (tool == NULL)
        return;
    series_for(&metrics->tool_calls, tool, verdict ? verdict : "done")->count++;
    if (verdict && strcmp(verdict, "rejected") == 0)
        series_for(&metrics->rejections, reason, NULL)->count++;
    histogram *latency = histogram_for(metrics, tool);
    double seconds = elapsed_ms < 0 ? 0 : elapsed_ms / 1000.0;
    for (size_t i = 0; i < BUCKET_COUNT; i++)
        if (seconds <= duration_buckets[i]) {
            latency->buckets[i]++;
            break;
        }
    latency->count++;
    latency->sum_seconds += seconds;
}

void metrics_count_http_response(mcp_metrics *metrics, unsigned status) {
    if (metrics == NULL)
        return;
    char code[16];
    snprintf(code, sizeof code, "%u", status);
    series_for(&metrics->responses, code, NULL)->count++;
}

void metrics_http_connection(mcp_metrics *metrics, int change) {
    if (metrics == NULL)
        return;
    metrics->http_connections += change;
    if (metrics->http_connections < 0)
        metrics->http_connections = 0;
}

/* HELP and TYPE lines, then one line per series. */
static void render_family(strbuf *out, const counter_family *family, const char *name, const char *type,
                          const char *help, const char *first, const char *second) {
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (int i = 0; i < family->count; i++) {
        const series *item = &family->items[i];
        if (second)
            strbuf_printf(out, "%s{%s=\"%s\",%s=\"%s\"} %llu\n", name, first, item->labels[0], second, item->labels[1],
                          (unsigned long long)item->count);
        else
            strbuf_printf(out, "%s{%s=\"%s\"} %llu\n", name, first, item->labels[0], (unsigned long long)item->count);
    }
}

static void render_gauge(strbuf *out, const char *name, const char *help, long long value) {
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name, value);
}

char *metrics_render(const mcp_metrics *metrics, const metrics_pool_use *pool) {
    assert(metrics != NULL);
    strbuf out = {0};
    render_family(&out, &metrics->requests, "pgsafe_requests_total", "counter",
                  "JSON-RPC requests finished, by MCP method.", "method", NULL);
    render_family(&out, &metrics->tool_calls, "pgsafe_tool_calls_total", "counter",
                  "Tool calls finished, by tool and outcome (allowed, rejected, error, cancelled, done).", "tool",
                  "outcome");
    render_family(&out, &metrics->rejections, "pgsafe_rejections_total", "counter",
                  "Tool calls the guard rejected, by reason code.", "reason", NULL);
    const char *name = "pgsafe_tool_call_duration_seconds";
    strbuf_printf(&out, "# HELP %s Tool call latency from receipt to answer.\n# TYPE %s histogram\n", name, name);
    for (int i = 0; i < metrics->duration_count; i++) {
        const histogram *item = &metrics->durations[i];
        uint64_t cumulative = 0;
        for (size_t b = 0; b < BUCKET_COUNT; b++) {
            cumulative += item->buckets[b];
            strbuf_printf(&out, "%s_bucket{tool=\"%s\",le=\"%g\"} %llu\n", name, item->tool, duration_buckets[b],
                          (unsigned long long)cumulative);
        }
        strbuf_printf(&out, "%s_bucket{tool=\"%s\",le=\"+Inf\"} %llu\n", name, item->tool,
                      (unsigned long long)item->count);
        strbuf_printf(&out, "%s_sum{tool=\"%s\"} %.6f\n", name, item->tool, item->sum_seconds);
        strbuf_printf(&out, "%s_count{tool=\"%s\"} %llu\n", name, item->tool, (unsigned long long)item->count);
    }
    render_family(&out, &metrics->responses, "pgsafe_http_responses_total", "counter", "HTTP answers, by status.",
                  "code", NULL);
    render_gauge(&out, "pgsafe_http_connections", "HTTP connections open.", (long long)metrics->http_connections);
    if (pool) {
        render_gauge(&out, "pgsafe_pool_size", "Database connections configured.", pool->size);
        render_gauge(&out, "pgsafe_pool_connections_open", "Database connections up (idle or busy).", pool->open);
        render_gauge(&out, "pgsafe_pool_connections_busy", "Database connections running a call.", pool->busy);
        render_gauge(&out, "pgsafe_pool_queue_length", "Calls waiting for a database connection.", pool->queued);
    }
    return strbuf_take(&out);
}
