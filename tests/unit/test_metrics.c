/* Unit tests of /metrics' counters and their Prometheus text rendering (src/mcp/metrics.h):
 * the families and their HELP/TYPE lines, counts by label, the histogram's cumulative buckets,
 * labels that cannot carry what a client typed, the bound on label sets, the pool's gauges.
 *
 *   ./test_metrics
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_metrics */
#define _GNU_SOURCE /* strcasestr */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/metrics.h"
#include "util/strings.h"

/* The value of the sample line that starts with prefix (name and labels), or -1. */
static double sample(const char *text, const char *prefix) {
    size_t length = strlen(prefix);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, prefix, length) == 0 && line[length] == ' ')
            return strtod(line + length + 1, NULL);
    return -1;
}

/* Every line is a comment (# HELP / # TYPE) or "name{labels} value" with a number. */
static void assert_parses(const char *text) {
    ck_assert_int_gt((int)strlen(text), 0);
    ck_assert(text[strlen(text) - 1] == '\n');
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        ck_assert_ptr_nonnull(end);
        char *copy = str_copy_length(line, (size_t)(end - line));
        if (copy[0] == '#') {
            ck_assert_msg(strncmp(copy, "# HELP pgsafe_", 14) == 0 || strncmp(copy, "# TYPE pgsafe_", 14) == 0, "%s",
                          copy);
        } else {
            char *space = strrchr(copy, ' ');
            ck_assert_ptr_nonnull(space);
            char *rest;
            strtod(space + 1, &rest);
            ck_assert_msg(*rest == '\0' && rest != space + 1, "bad value: %s", copy);
            ck_assert_msg(strncmp(copy, "pgsafe_", 7) == 0, "%s", copy);
            *space = '\0';
            char *brace = strchr(copy, '{');
            if (brace)
                ck_assert_msg(copy[strlen(copy) - 1] == '}', "%s", copy);
        }
        free(copy);
        line = end + 1;
    }
}

START_TEST(empty_renders_families) {
    mcp_metrics *metrics = metrics_new();
    char *text = metrics_render(metrics, NULL);
    assert_parses(text);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE pgsafe_requests_total counter\n"));
    ck_assert_ptr_nonnull(strstr(text, "# TYPE pgsafe_tool_call_duration_seconds histogram\n"));
    ck_assert_ptr_null(strstr(text, "pgsafe_pool_size"));
    ck_assert(sample(text, "pgsafe_http_connections") == 0);
    free(text);
    metrics_free(metrics);
}
END_TEST

START_TEST(counts_requests_tools_rejections) {
    mcp_metrics *metrics = metrics_new();
    metrics_count_request(metrics, "tools/list", NULL, NULL, NULL, 1);
    metrics_count_request(metrics, "tools/call", "query", "allowed", NULL, 3);
    metrics_count_request(metrics, "tools/call", "query", "rejected", "function_not_allowed", 1);
    metrics_count_request(metrics, "tools/call", "query", "rejected", "function_not_allowed", 1);
    metrics_count_request(metrics, "tools/call", "list_tables", NULL, NULL, 20);
    metrics_count_request(metrics, "no/such/method", NULL, NULL, NULL, 0);
    metrics_count_http_response(metrics, 200);
    metrics_count_http_response(metrics, 200);
    metrics_count_http_response(metrics, 401);
    metrics_http_connection(metrics, 1);
    metrics_http_connection(metrics, 1);
    metrics_http_connection(metrics, -1);
    metrics_pool_use pool = {.size = 4, .open = 3, .busy = 1, .queued = 2};
    char *text = metrics_render(metrics, &pool);
    assert_parses(text);
    ck_assert(sample(text, "pgsafe_requests_total{method=\"tools/call\"}") == 4);
    ck_assert(sample(text, "pgsafe_requests_total{method=\"tools/list\"}") == 1);
    ck_assert(sample(text, "pgsafe_requests_total{method=\"other\"}") == 1);
    ck_assert(sample(text, "pgsafe_tool_calls_total{tool=\"query\",outcome=\"rejected\"}") == 2);
    ck_assert(sample(text, "pgsafe_tool_calls_total{tool=\"query\",outcome=\"allowed\"}") == 1);
    ck_assert(sample(text, "pgsafe_tool_calls_total{tool=\"list_tables\",outcome=\"done\"}") == 1);
    ck_assert(sample(text, "pgsafe_rejections_total{reason=\"function_not_allowed\"}") == 2);
    ck_assert(sample(text, "pgsafe_http_responses_total{code=\"200\"}") == 2);
    ck_assert(sample(text, "pgsafe_http_responses_total{code=\"401\"}") == 1);
    ck_assert(sample(text, "pgsafe_http_connections") == 1);
    ck_assert(sample(text, "pgsafe_pool_size") == 4);
    ck_assert(sample(text, "pgsafe_pool_connections_open") == 3);
    ck_assert(sample(text, "pgsafe_pool_connections_busy") == 1);
    ck_assert(sample(text, "pgsafe_pool_queue_length") == 2);
    free(text);
    metrics_free(metrics);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative) {
    mcp_metrics *metrics = metrics_new();
    metrics_count_request(metrics, "tools/call", "query", "allowed", NULL, 3);      /* 0.003 s */
    metrics_count_request(metrics, "tools/call", "query", "allowed", NULL, 200);    /* 0.2 s */
    metrics_count_request(metrics, "tools/call", "query", "allowed", NULL, 100000); /* 100 s: +Inf only */
    char *text = metrics_render(metrics, NULL);
    assert_parses(text);
    const char *h = "pgsafe_tool_call_duration_seconds";
    char key[128];
    snprintf(key, sizeof key, "%s_bucket{tool=\"query\",le=\"0.005\"}", h);
    ck_assert(sample(text, key) == 1);
    snprintf(key, sizeof key, "%s_bucket{tool=\"query\",le=\"0.1\"}", h);
    ck_assert(sample(text, key) == 1);
    snprintf(key, sizeof key, "%s_bucket{tool=\"query\",le=\"0.25\"}", h);
    ck_assert(sample(text, key) == 2);
    snprintf(key, sizeof key, "%s_bucket{tool=\"query\",le=\"60\"}", h);
    ck_assert(sample(text, key) == 2);
    snprintf(key, sizeof key, "%s_bucket{tool=\"query\",le=\"+Inf\"}", h);
    ck_assert(sample(text, key) == 3);
    snprintf(key, sizeof key, "%s_count{tool=\"query\"}", h);
    ck_assert(sample(text, key) == 3);
    snprintf(key, sizeof key, "%s_sum{tool=\"query\"}", h);
    ck_assert(sample(text, key) > 100.2 && sample(text, key) < 100.21);
    free(text);
    metrics_free(metrics);
}
END_TEST

/* A label never carries free text: quotes, newlines, SQL, upper case, long names all become
 * "other", so the output cannot be broken or made to leak what a client sent. */
START_TEST(labels_cannot_carry_free_text) {
    mcp_metrics *metrics = metrics_new();
    metrics_count_request(metrics, "tools/call", "q\"}\nevil 1", "rejected", "SELECT password FROM users", 1);
    metrics_count_request(metrics, "SELECT 1", NULL, NULL, NULL, 1);
    char *text = metrics_render(metrics, NULL);
    assert_parses(text);
    ck_assert_ptr_null(strstr(text, "evil"));
    ck_assert_ptr_null(strstr(text, "SELECT"));
    ck_assert_ptr_null(strstr(text, "password"));
    ck_assert(sample(text, "pgsafe_rejections_total{reason=\"other\"}") == 1);
    ck_assert(sample(text, "pgsafe_tool_calls_total{tool=\"other\",outcome=\"rejected\"}") == 1);
    ck_assert(sample(text, "pgsafe_requests_total{method=\"other\"}") == 1);
    free(text);
    metrics_free(metrics);
}
END_TEST

/* Label sets are bounded: past METRICS_MAX_SERIES, new ones share the "other" series. */
START_TEST(label_sets_are_bounded) {
    mcp_metrics *metrics = metrics_new();
    for (int i = 0; i < 3 * METRICS_MAX_SERIES; i++) {
        char reason[32], tool[32];
        snprintf(reason, sizeof reason, "reason_%d", i);
        snprintf(tool, sizeof tool, "tool_%d", i);
        metrics_count_request(metrics, "tools/call", tool, "rejected", reason, 1);
        metrics_count_http_response(metrics, 100 + (unsigned)i);
    }
    char *text = metrics_render(metrics, NULL);
    assert_parses(text);
    int rejections = 0, responses = 0, histograms = 0;
    for (const char *p = text; (p = strstr(p, "pgsafe_rejections_total{")) != NULL; p++)
        rejections++;
    for (const char *p = text; (p = strstr(p, "pgsafe_http_responses_total{")) != NULL; p++)
        responses++;
    for (const char *p = text; (p = strstr(p, "pgsafe_tool_call_duration_seconds_count{")) != NULL; p++)
        histograms++;
    ck_assert_int_eq(rejections, METRICS_MAX_SERIES);
    ck_assert_int_eq(responses, METRICS_MAX_SERIES);
    ck_assert_int_eq(histograms, METRICS_MAX_SERIES);
    ck_assert(sample(text, "pgsafe_rejections_total{reason=\"other\"}") ==
              3 * METRICS_MAX_SERIES - (METRICS_MAX_SERIES - 1));
    free(text);
    metrics_free(metrics);
}
END_TEST

START_TEST(null_metrics_count_nothing) {
    metrics_count_request(NULL, "tools/call", "query", "allowed", NULL, 1);
    metrics_count_http_response(NULL, 200);
    metrics_http_connection(NULL, 1);
    metrics_free(NULL);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("metrics");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, empty_renders_families);
    tcase_add_test(tc, counts_requests_tools_rejections);
    tcase_add_test(tc, histogram_buckets_are_cumulative);
    tcase_add_test(tc, labels_cannot_carry_free_text);
    tcase_add_test(tc, label_sets_are_bounded);
    tcase_add_test(tc, null_metrics_count_nothing);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
