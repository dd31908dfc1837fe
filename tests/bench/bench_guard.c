/* Benchmark: what the guard costs over a bare parse.
 *
 *   bench_guard FILE.jsonl [ROUNDS]
 *
 * Reads the `sql` field of every line of FILE.jsonl. For each query it times, ROUNDS times
 * each and alternating so both share the same noise, (a) the raw libpg_query parse,
 * pg_query_parse_protobuf + pg_query_free_protobuf_parse_result, and (b) the full
 * guard_check + guard_result_free under the default policy. Each query contributes the
 * median of its rounds; the table reports percentiles over queries. It measures and
 * prints; it never asserts timing. Exit status: 0 done, 1 no usable query, 2 usage or
 * unreadable file. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime, getline */
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <pg_query.h>

#include "pgsafe/guard.h"

#define DEFAULT_ROUNDS 20

/* The queries of the input file; owns each string. */
typedef struct query_list {
    char **sql;      /* query texts */
    size_t count;    /* queries held */
    size_t capacity; /* slots allocated */
    size_t skipped;  /* lines without a string `sql` field */
} query_list;

/* Per-query medians, in nanoseconds per call. */
typedef struct query_timing {
    double parse_ns; /* raw parse + free */
    double check_ns; /* guard_check + guard_result_free */
} query_timing;

static void *allocate_or_die(size_t bytes) {
    void *memory = malloc(bytes);
    if (memory == NULL) {
        fprintf(stderr, "bench_guard: out of memory\n");
        exit(2);
    }
    return memory;
}

static void query_list_add(query_list *queries, const char *sql) {
    if (queries->count == queries->capacity) {
        size_t capacity = queries->capacity ? queries->capacity * 2 : 256;
        char **grown = realloc(queries->sql, capacity * sizeof *grown);
        if (grown == NULL) {
            fprintf(stderr, "bench_guard: out of memory\n");
            exit(2);
        }
        queries->sql = grown;
        queries->capacity = capacity;
    }
    size_t length = strlen(sql);
    char *copy = allocate_or_die(length + 1);
    memcpy(copy, sql, length + 1);
    queries->sql[queries->count++] = copy;
}

static void query_list_free(query_list *queries) {
    for (size_t i = 0; i < queries->count; i++)
        free(queries->sql[i]);
    free(queries->sql);
    memset(queries, 0, sizeof *queries);
}

/* Reads every line of path that is a JSON object with a string `sql` field into queries.
 * Returns 0, or -1 (errno set) when the file cannot be opened or read. */
static int read_queries(const char *path, query_list *queries) {
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return -1;

    json_tokener *tokener = json_tokener_new();
    if (tokener == NULL) {
        fclose(file);
        errno = ENOMEM;
        return -1;
    }
    char *line = NULL;
    size_t line_capacity = 0;
    ssize_t line_length;
    while ((line_length = getline(&line, &line_capacity, file)) != -1) {
        if (strspn(line, " \t\r\n") == (size_t)line_length)
            continue;
        json_tokener_reset(tokener);
        json_object *object = json_tokener_parse_ex(tokener, line, (int)line_length);
        json_object *sql = NULL;
        if (object != NULL && json_object_is_type(object, json_type_object) &&
            json_object_object_get_ex(object, "sql", &sql) && json_object_is_type(sql, json_type_string))
            query_list_add(queries, json_object_get_string(sql));
        else
            queries->skipped++;
        json_object_put(object);
    }
    int read_error = ferror(file);
    free(line);
    json_tokener_free(tokener);
    fclose(file);
    if (read_error) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static double now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e9 + (double)now.tv_nsec;
}

static int compare_doubles(const void *left, const void *right) {
    double a = *(const double *)left, b = *(const double *)right;
    return (a > b) - (a < b);
}

/* Median of values[0..count); sorts values in place. count > 0. */
static double median(double *values, size_t count) {
    qsort(values, count, sizeof *values, compare_doubles);
    if (count % 2 == 1)
        return values[count / 2];
    return (values[count / 2 - 1] + values[count / 2]) / 2;
}

/* Nearest-rank percentile (0 < percent <= 100) of values[0..count); sorts in place. */
static double percentile(double *values, size_t count, double percent) {
    qsort(values, count, sizeof *values, compare_doubles);
    size_t rank = (size_t)((percent / 100.0) * (double)count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return values[rank - 1];
}

static double mean(const double *values, size_t count) {
    double sum = 0;
    for (size_t i = 0; i < count; i++)
        sum += values[i];
    return sum / (double)count;
}

/* Times one raw parse + free of sql, in nanoseconds. */
static double time_parse(const char *sql) {
    double start = now_ns();
    PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(sql);
    pg_query_free_protobuf_parse_result(parsed);
    return now_ns() - start;
}

/* Times one guard_check + guard_result_free of sql, in nanoseconds; *allowed receives the
 * verdict and *code the reason. */
static double time_check(const char *sql, const guard_policy *policy, int *allowed, guard_reason *code) {
    double start = now_ns();
    guard_result result = guard_check(sql, policy);
    *allowed = result.allowed;
    *code = result.code;
    guard_result_free(&result);
    return now_ns() - start;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_guard FILE.jsonl [ROUNDS]\n");
        return 2;
    }
    long rounds = DEFAULT_ROUNDS;
    if (argc == 3) {
        char *end = NULL;
        rounds = strtol(argv[2], &end, 10);
        if (end == argv[2] || *end != '\0' || rounds < 1 || rounds > 1000000) {
            fprintf(stderr, "bench_guard: ROUNDS must be a positive integer, not \"%s\"\n", argv[2]);
            return 2;
        }
    }

    query_list queries = {0};
    if (read_queries(argv[1], &queries) != 0) {
        fprintf(stderr, "bench_guard: cannot read %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    if (queries.count == 0) {
        fprintf(stderr, "bench_guard: no line of %s has a string \"sql\" field\n", argv[1]);
        query_list_free(&queries);
        return 1;
    }

    guard_policy policy;
    guard_policy_init(&policy);

    /* Warm up: libpg_query builds its memory context on the first call. */
    for (size_t i = 0; i < queries.count && i < 16; i++) {
        int allowed;
        guard_reason code;
        time_parse(queries.sql[i]);
        time_check(queries.sql[i], &policy, &allowed, &code);
    }

    query_timing *timings = allocate_or_die(queries.count * sizeof *timings);
    double *parse_rounds = allocate_or_die((size_t)rounds * sizeof *parse_rounds);
    double *check_rounds = allocate_or_die((size_t)rounds * sizeof *check_rounds);
    size_t reason_counts[GUARD_REASON_COUNT + 1] = {0};
    size_t allowed_count = 0;

    for (size_t i = 0; i < queries.count; i++) {
        int allowed = 0;
        guard_reason code = GUARD_OK;
        for (long round = 0; round < rounds; round++) {
            parse_rounds[round] = time_parse(queries.sql[i]);
            check_rounds[round] = time_check(queries.sql[i], &policy, &allowed, &code);
        }
        timings[i].parse_ns = median(parse_rounds, (size_t)rounds);
        timings[i].check_ns = median(check_rounds, (size_t)rounds);
        allowed_count += allowed ? 1 : 0;
        reason_counts[(unsigned)code < GUARD_REASON_COUNT ? code : GUARD_REASON_COUNT]++;
    }

    size_t count = queries.count;
    double *parse_us = allocate_or_die(count * sizeof *parse_us);
    double *check_us = allocate_or_die(count * sizeof *check_us);
    double *ratios = allocate_or_die(count * sizeof *ratios);
    for (size_t i = 0; i < count; i++) {
        parse_us[i] = timings[i].parse_ns / 1000.0;
        check_us[i] = timings[i].check_ns / 1000.0;
        ratios[i] = timings[i].check_ns / timings[i].parse_ns;
    }
    double parse_mean = mean(parse_us, count), check_mean = mean(check_us, count);
    double ratio_mean = mean(ratios, count);
    double parse_p50 = percentile(parse_us, count, 50), parse_p99 = percentile(parse_us, count, 99);
    double check_p50 = percentile(check_us, count, 50), check_p99 = percentile(check_us, count, 99);
    double ratio_p50 = percentile(ratios, count, 50), ratio_p99 = percentile(ratios, count, 99);

    printf("bench_guard: %s\n", argv[1]);
    printf("queries %zu (lines skipped %zu), rounds %ld per query, guard grammar %s\n", count, queries.skipped, rounds,
           guard_grammar_version());
    printf("allowed %zu, rejected %zu\n", allowed_count, count - allowed_count);
    const char *separator = "rejected by reason: ";
    for (int code = 1; code <= GUARD_REASON_COUNT; code++) {
        if (reason_counts[code] == 0)
            continue;
        printf("%s%s %zu", separator, guard_reason_name((guard_reason)code), reason_counts[code]);
        separator = ", ";
    }
    fputs(count > allowed_count ? "\n\n" : "\n", stdout);
    printf("per query: median of %ld calls; then over queries:\n", rounds);
    printf("%-34s %10s %10s %10s\n", "", "p50", "p99", "mean");
    printf("%-34s %10.1f %10.1f %10.1f\n", "raw parse (us/call)", parse_p50, parse_p99, parse_mean);
    printf("%-34s %10.1f %10.1f %10.1f\n", "guard_check (us/call)", check_p50, check_p99, check_mean);
    printf("%-34s %10.2f %10.2f %10.2f\n", "ratio check/parse, per query", ratio_p50, ratio_p99, ratio_mean);
    printf("%-34s %10.2f %10.2f %10.2f\n", "ratio of the percentiles above", check_p50 / parse_p50,
           check_p99 / parse_p99, check_mean / parse_mean);

    free(parse_us);
    free(check_us);
    free(ratios);
    free(parse_rounds);
    free(check_rounds);
    free(timings);
    query_list_free(&queries);
    return 0;
}
