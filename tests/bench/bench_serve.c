/* Benchmark of `pgsafe serve` against a direct libpq loop on the same database, in one run.
 * Prints figures; asserts nothing about time (that is for people reading the figures).
 *
 *   bench_serve PGSAFE_BINARY CALLS
 *   bench_serve PGSAFE_BINARY --cold-start RUNS   (only the cold start, RUNS times: min/median/max)
 *
 * The database comes from the PG* environment and must hold bench_orders/bench_customers
 * and the 1M-row bench_events (scripts/bench-serve creates them). Measures:
 *   - cold start: spawn to the initialize answer;
 *   - per-call latency of SELECT 1 and of a join+aggregate, pgsafe vs direct libpq
 *     (PQexecParams, one round trip each), median and p99, and their ratio;
 *   - the server's peak RSS (VmHWM) after all calls;
 *   - SELECT * FROM bench_events (1M rows): time to the answer, truncated or not, and
 *     the peak RSS afterwards. */
#include <errno.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

typedef struct server {
    pid_t pid;
    int to_server;
    int from_server;
    char *buffer;
    size_t length, capacity;
} server;

static void spawn(server *s, const char *binary) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
        perror("pipe");
        exit(2);
    }
    s->pid = fork();
    if (s->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(binary, binary, "serve", "--log-level", "error", (char *)NULL);
        perror("exec");
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->to_server = in[1];
    s->from_server = out[0];
    s->capacity = 1 << 20;
    s->buffer = malloc(s->capacity);
    s->length = 0;
}

static void send_line(server *s, const char *line) {
    size_t length = strlen(line), written = 0;
    while (written < length) {
        ssize_t count = write(s->to_server, line + written, length - written);
        if (count <= 0) {
            perror("write");
            exit(2);
        }
        written += (size_t)count;
    }
}

/* Reads one line (a whole JSON-RPC message); the caller frees. */
static char *read_line(server *s) {
    for (;;) {
        char *newline = memchr(s->buffer, '\n', s->length);
        if (newline) {
            size_t length = (size_t)(newline - s->buffer);
            char *line = malloc(length + 1);
            memcpy(line, s->buffer, length);
            line[length] = '\0';
            memmove(s->buffer, newline + 1, s->length - length - 1);
            s->length -= length + 1;
            return line;
        }
        if (s->capacity - s->length < 65536) {
            s->capacity *= 2;
            s->buffer = realloc(s->buffer, s->capacity);
        }
        ssize_t count = read(s->from_server, s->buffer + s->length, s->capacity - s->length);
        if (count <= 0) {
            fprintf(stderr, "bench_serve: the server closed its output\n");
            exit(2);
        }
        s->length += (size_t)count;
    }
}

/* A "Name: value kB" field of /proc/PID/status, in KiB; -1 when missing. */
static long status_kib(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *file = fopen(path, "r");
    long value = -1;
    size_t length = strlen(field);
    while (file && fgets(line, sizeof line, file))
        if (strncmp(line, field, length) == 0 && line[length] == ':')
            value = strtol(line + length + 1, NULL, 10);
    if (file)
        fclose(file);
    return value;
}

static long peak_rss_kib(pid_t pid) {
    return status_kib(pid, "VmHWM");
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *values, int count, double p) {
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    int index = (int)(p * (count - 1) + 0.5);
    return values[index];
}

/* One tools/call of tool (query or check_sql) through pgsafe; returns its latency, checks
 * it is not an error. */
static double tool_call(server *s, const char *tool, int id, const char *sql, json_object **result_out) {
    json_object *request = json_object_new_object();
    json_object_object_add(request, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(request, "id", json_object_new_int(id));
    json_object_object_add(request, "method", json_object_new_string("tools/call"));
    json_object *params = json_object_new_object();
    json_object_object_add(params, "name", json_object_new_string(tool));
    json_object *arguments = json_object_new_object();
    json_object_object_add(arguments, "sql", json_object_new_string(sql));
    json_object_object_add(params, "arguments", arguments);
    json_object_object_add(request, "params", params);
    const char *text = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN);
    size_t length = strlen(text);
    char *line = malloc(length + 2);
    memcpy(line, text, length);
    memcpy(line + length, "\n", 2);
    json_object_put(request);
    double start = now_ms();
    send_line(s, line);
    char *answer = read_line(s);
    double elapsed = now_ms() - start;
    free(line);
    json_object *parsed = json_tokener_parse(answer);
    json_object *result = NULL, *is_error = NULL;
    if (parsed == NULL || !json_object_object_get_ex(parsed, "result", &result) ||
        (json_object_object_get_ex(result, "isError", &is_error) && json_object_get_boolean(is_error))) {
        fprintf(stderr, "bench_serve: call failed: %.300s\n", answer);
        exit(1);
    }
    free(answer);
    if (result_out)
        *result_out = parsed;
    else
        json_object_put(parsed);
    return elapsed;
}

static double pgsafe_call(server *s, int id, const char *sql, json_object **result_out) {
    return tool_call(s, "query", id, sql, result_out);
}

static double direct_call(PGconn *connection, const char *sql) {
    double start = now_ms();
    PGresult *result = PQexecParams(connection, sql, 0, NULL, NULL, NULL, NULL, 0);
    double elapsed = now_ms() - start;
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench_serve: direct query failed: %s", PQerrorMessage(connection));
        exit(1);
    }
    PQclear(result);
    return elapsed;
}

static void compare(server *s, PGconn *connection, const char *label, const char *sql, int calls, int *id) {
    double *through = malloc(sizeof(double) * (size_t)calls), *direct = malloc(sizeof(double) * (size_t)calls);
    for (int i = 0; i < 20; i++) { /* warm both paths */
        pgsafe_call(s, (*id)++, sql, NULL);
        direct_call(connection, sql);
    }
    for (int i = 0; i < calls; i++) { /* interleaved, so both see the same machine state */
        through[i] = pgsafe_call(s, (*id)++, sql, NULL);
        direct[i] = direct_call(connection, sql);
    }
    double p50 = percentile(through, calls, 0.5), p99 = percentile(through, calls, 0.99);
    double d50 = percentile(direct, calls, 0.5), d99 = percentile(direct, calls, 0.99);
    for (int i = 0; i < calls; i++) /* the same path without the database: stdio, JSON and the guard */
        through[i] = tool_call(s, "check_sql", (*id)++, sql, NULL);
    double c50 = percentile(through, calls, 0.5);
    printf("%-16s pgsafe p50 %.3f ms p99 %.3f ms | direct libpq p50 %.3f ms p99 %.3f ms | ratio p50 %.2f p99 %.2f"
           " | check_sql alone p50 %.3f ms\n",
           label, p50, p99, d50, d99, p50 / d50, p99 / d99, c50);
    free(through);
    free(direct);
}

/* Bytes per row of our text rendering against the JSON a typical peer sends: the rows as
 * objects keyed by column name, pretty-printed (JSON.stringify(rows, null, 2)). */
static void text_size(server *s, int *id) {
    json_object *answer = NULL;
    tool_call(s, "query", (*id)++,
              "SELECT o.id, o.customer_id, c.region, o.amount FROM bench_orders o JOIN bench_customers c ON c.id = "
              "o.customer_id ORDER BY o.id LIMIT 500",
              &answer);
    json_object *result = json_object_object_get(answer, "result");
    json_object *structured = json_object_object_get(result, "structuredContent");
    json_object *content = json_object_array_get_idx(json_object_object_get(result, "content"), 0);
    size_t text_bytes = strlen(json_object_get_string(json_object_object_get(content, "text")));
    json_object *columns = json_object_object_get(structured, "columns");
    json_object *rows = json_object_object_get(structured, "rows");
    size_t row_count = json_object_array_length(rows);
    json_object *objects = json_object_new_array();
    for (size_t r = 0; r < row_count; r++) {
        json_object *row = json_object_array_get_idx(rows, r), *object = json_object_new_object();
        for (size_t c = 0; c < json_object_array_length(columns); c++)
            json_object_object_add(
                object, json_object_get_string(json_object_object_get(json_object_array_get_idx(columns, c), "name")),
                json_object_get(json_object_array_get_idx(row, c)));
        json_object_array_add(objects, object);
    }
    size_t pretty = strlen(json_object_to_json_string_ext(objects, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
    size_t plain = strlen(json_object_to_json_string_ext(objects, JSON_C_TO_STRING_PLAIN));
    printf("text size, %zu rows of 4 columns: ours %.1f bytes/row; rows as objects, pretty JSON %.1f bytes/row "
           "(%.1fx ours), plain JSON %.1f bytes/row (%.1fx ours)\n",
           row_count, (double)text_bytes / (double)row_count, (double)pretty / (double)row_count,
           (double)pretty / (double)text_bytes, (double)plain / (double)row_count, (double)plain / (double)text_bytes);
    json_object_put(objects);
    json_object_put(answer);
}

/* Spawns the server, sends initialize, and returns the time to its answer; the answer's
 * instructions must report the role's posture (the cold start is measured with it). */
static double cold_start(const char *binary) {
    server s;
    double start = now_ms();
    spawn(&s, binary);
    send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                  "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}\n");
    char *answer = read_line(&s);
    double elapsed = now_ms() - start;
    if (strstr(answer, "Connected to database") == NULL) {
        fprintf(stderr, "bench_serve: the initialize answer does not report the posture: %.400s\n", answer);
        exit(1);
    }
    free(answer);
    close(s.to_server);
    int status = 0;
    waitpid(s.pid, &status, 0);
    close(s.from_server);
    free(s.buffer);
    return elapsed;
}

/* The floor a cold start cannot beat: a new libpq connection and one SELECT 1, in this
 * process (no spawn), on the same database. */
static double direct_connect(void) {
    double start = now_ms();
    PGconn *connection = PQconnectdb("");
    if (PQstatus(connection) != CONNECTION_OK) {
        fprintf(stderr, "bench_serve: %s", PQerrorMessage(connection));
        exit(2);
    }
    PGresult *result = PQexec(connection, "SELECT 1");
    double elapsed = now_ms() - start;
    PQclear(result);
    PQfinish(connection);
    return elapsed;
}

static int cold_starts(const char *binary, int runs) {
    double *times = malloc(sizeof(double) * (size_t)runs), *floors = malloc(sizeof(double) * (size_t)runs);
    for (int i = 0; i < runs; i++) { /* interleaved, so both see the same machine state */
        times[i] = cold_start(binary);
        floors[i] = direct_connect();
    }
    double median = percentile(times, runs, 0.5), floor_median = percentile(floors, runs, 0.5);
    printf("cold start to the initialize answer (with the posture), %d runs: min %.2f ms, median %.2f ms, max %.2f "
           "ms | direct libpq connect + SELECT 1: min %.2f ms, median %.2f ms, max %.2f ms\n",
           runs, times[0], median, times[runs - 1], floors[0], floor_median, floors[runs - 1]);
    free(times);
    free(floors);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[2], "--cold-start") == 0 && atoi(argv[3]) > 0) {
        signal(SIGPIPE, SIG_IGN);
        return cold_starts(argv[1], atoi(argv[3]));
    }
    if (argc != 3) {
        fprintf(stderr, "usage: bench_serve PGSAFE_BINARY CALLS | bench_serve PGSAFE_BINARY --cold-start RUNS\n");
        return 2;
    }
    int calls = atoi(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    server s;
    double start = now_ms();
    spawn(&s, argv[1]);
    send_line(&s, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                  "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}\n");
    free(read_line(&s));
    printf("cold start to the initialize answer: %.2f ms (includes connecting and loading the catalog)\n",
           now_ms() - start);
    send_line(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");

    PGconn *connection = PQconnectdb("");
    if (PQstatus(connection) != CONNECTION_OK) {
        fprintf(stderr, "bench_serve: %s", PQerrorMessage(connection));
        return 2;
    }
    int id = 1;
    compare(&s, connection, "SELECT 1", "SELECT 1", calls, &id);
    compare(&s, connection, "join+aggregate",
            "SELECT c.region, count(*) AS orders, sum(o.amount) AS revenue FROM bench_orders o "
            "JOIN bench_customers c ON c.id = o.customer_id GROUP BY c.region ORDER BY revenue DESC",
            calls / 10 > 0 ? calls / 10 : 1, &id);
    printf("server peak RSS after %d calls: %.1f MiB (now: anonymous %.1f MiB, file-backed %.1f MiB)\n", id - 1,
           (double)peak_rss_kib(s.pid) / 1024.0, (double)status_kib(s.pid, "RssAnon") / 1024.0,
           (double)status_kib(s.pid, "RssFile") / 1024.0);
    text_size(&s, &id);

    json_object *answer = NULL;
    double elapsed = pgsafe_call(&s, id++, "SELECT * FROM bench_events", &answer);
    json_object *result = json_object_object_get(answer, "result");
    json_object *structured = json_object_object_get(result, "structuredContent");
    printf("SELECT * FROM bench_events (1M rows): answered in %.1f ms, %s rows, truncated %s, server peak RSS %.1f "
           "MiB\n",
           elapsed, json_object_get_string(json_object_object_get(structured, "row_count")),
           json_object_get_string(json_object_object_get(structured, "truncated")),
           (double)peak_rss_kib(s.pid) / 1024.0);
    json_object_put(answer);

    PQfinish(connection);
    close(s.to_server);
    int status = 0;
    waitpid(s.pid, &status, 0);
    free(s.buffer);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
