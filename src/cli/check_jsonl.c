/* `pgsafe check --jsonl`: read a request line, check it, write its verdict line, flush;
 * until end of input. Every line gets one answer, so a gateway that pipelines requests can
 * match answers by order as well as by id. */
#include "cli/check_jsonl.h"

#include <assert.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check_verdict.h"
#include "mcp/json.h"

/* The PostgreSQL majors a request may name in "server_version". */
#define MIN_SERVER_VERSION 15
#define MAX_SERVER_VERSION 18

/* The largest integer id: 2^53 - 1, the largest every JSON reader (JavaScript's included)
 * holds exactly, so that the echo is the same number that was sent. */
#define MAX_INTEGER_ID 9007199254740991LL

typedef enum line_status {
    LINE_READ,      /* a line (possibly the last one, without its newline) */
    LINE_TOO_LONG,  /* longer than CLI_JSONL_MAX_LINE_BYTES: skipped up to its newline */
    LINE_END,       /* no more input */
    LINE_READ_ERROR /* errno says why */
} line_status;

/* Reads one line into *buffer (grown as needed, never beyond CLI_JSONL_MAX_LINE_BYTES + 1),
 * without its newline, NUL-terminated; *length excludes the NUL. A NUL byte inside the line
 * is kept and counted. */
static line_status read_line(FILE *input, char **buffer, size_t *capacity, size_t *length) {
    size_t used = 0;
    bool too_long = false, any = false;
    int c;
    while ((c = getc_unlocked(input)) != EOF) {
        any = true;
        if (c == '\n')
            break;
        if (too_long)
            continue;
        if (used == CLI_JSONL_MAX_LINE_BYTES) {
            too_long = true;
            continue;
        }
        if (used + 1 >= *capacity) {
            size_t grown = *capacity ? *capacity * 2 : 4096;
            if (grown > CLI_JSONL_MAX_LINE_BYTES + 1)
                grown = CLI_JSONL_MAX_LINE_BYTES + 1;
            char *bigger = realloc(*buffer, grown);
            if (bigger == NULL) {
                errno = ENOMEM;
                return LINE_READ_ERROR;
            }
            *buffer = bigger;
            *capacity = grown;
        }
        (*buffer)[used++] = (char)c;
    }
    if (ferror(input))
        return LINE_READ_ERROR;
    if (!any)
        return LINE_END;
    if (too_long)
        return LINE_TOO_LONG;
    if (*buffer == NULL && (*buffer = malloc(*capacity = 1)) == NULL) {
        errno = ENOMEM;
        return LINE_READ_ERROR;
    }
    (*buffer)[used] = '\0';
    *length = used;
    return LINE_READ;
}

/* The answer to a line that is not a valid request: id (borrowed, may be NULL) echoed, and
 * a one-line message with an optional detail. */
static json_object *invalid_request(json_object *id, const char *message, const char *detail) {
    json_object *answer = json_object_new_object();
    json_object_object_add(answer, "id", json_object_get(id));
    json_object_object_add(answer, "allowed", json_object_new_boolean(false));
    json_object_object_add(answer, "reason", json_object_new_string("invalid_request"));
    json_object_object_add(answer, "message", json_object_new_string(message));
    if (detail != NULL)
        json_object_object_add(answer, "detail", json_object_new_string(detail));
    return answer;
}

/* Parses line[0..length) as one JSON value with nothing but white space after it. Returns
 * the value (caller puts it), or NULL with *error set to why. */
static json_object *parse_line(const char *line, size_t length, const char **error) {
    if (memchr(line, '\0', length) != NULL) {
        *error = "the line holds a NUL byte";
        return NULL;
    }
    json_object *value = NULL;
    json_parse_strict(line, length, JSON_TOKENER_DEFAULT_DEPTH, &value, error);
    return value;
}

/* Reads an optional integer member into *value within [minimum, maximum]; false when present
 * and not such an integer. */
static bool optional_integer(json_object *request, const char *name, long long minimum, long long maximum,
                             long long *value) {
    json_object *member = NULL;
    if (!json_object_object_get_ex(request, name, &member))
        return true;
    if (!json_object_is_type(member, json_type_int))
        return false;
    errno = 0;
    int64_t number = json_object_get_int64(member);
    if (errno != 0 || number < minimum || number > maximum)
        return false;
    *value = number;
    return true;
}

/* Hands the request's server version to the policy: the guard judges built-ins by the
 * table of that major. */
static void apply_server_version(guard_policy *policy, long long major) {
    policy->server_version = (int)major;
}

/* Whether every member of request is one a request may have. */
static bool known_members(json_object *request, char *detail, size_t size) {
    json_object_object_foreach(request, name, member) {
        (void)member;
        if (strcmp(name, "id") != 0 && strcmp(name, "sql") != 0 && strcmp(name, "max_rows") != 0 &&
            strcmp(name, "server_version") != 0) {
            snprintf(detail, size, "unknown member \"%.64s\"; a request has id, sql, max_rows, server_version", name);
            return false;
        }
    }
    return true;
}

/* The answer to one parsed request (caller puts it); request stays the caller's. An
 * unknown member is refused rather than ignored: a gateway that sends a setting this
 * pgsafe does not know must not believe it was applied. */
static json_object *answer_request(json_object *request, const guard_policy *base) {
    if (!json_object_is_type(request, json_type_object))
        return invalid_request(NULL, "the request is not a JSON object", NULL);
    json_object *id = NULL, *sql = NULL;
    if (!json_object_object_get_ex(request, "id", &id))
        return invalid_request(NULL, "the request has no \"id\"", "a request is {\"id\", \"sql\"}");
    long long integer_id = 0;
    if (!json_object_is_type(id, json_type_string) &&
        !(json_object_is_type(id, json_type_int) &&
          optional_integer(request, "id", -MAX_INTEGER_ID, MAX_INTEGER_ID, &integer_id)))
        return invalid_request(NULL, "\"id\" must be a string or an integer of at most 2^53 - 1 in magnitude", NULL);
    char detail[160];
    if (!known_members(request, detail, sizeof detail))
        return invalid_request(id, "the request has a member this pgsafe does not know", detail);
    if (!json_object_object_get_ex(request, "sql", &sql) || !json_object_is_type(sql, json_type_string))
        return invalid_request(id, "\"sql\" must be a string", NULL);
    guard_policy policy = *base;
    if (!optional_integer(request, "max_rows", 0, 1000000000LL, &policy.max_rows))
        return invalid_request(id, "\"max_rows\" must be a whole number from 0 to 1000000000", NULL);
    long long server_version = 0;
    if (!optional_integer(request, "server_version", MIN_SERVER_VERSION, MAX_SERVER_VERSION, &server_version))
        return invalid_request(id, "\"server_version\" must be a PostgreSQL major version from 15 to 18", NULL);
    if (server_version != 0)
        apply_server_version(&policy, server_version);
    guard_result result =
        guard_check_bytes(json_object_get_string(sql), (size_t)json_object_get_string_len(sql), &policy);
    json_object *answer = json_object_new_object();
    json_object_object_add(answer, "id", json_object_get(id));
    cli_check_verdict_add(answer, &result);
    guard_result_free(&result);
    return answer;
}

/* The answer to one line (caller puts it). */
static json_object *answer_line(const char *line, size_t length, const guard_policy *base) {
    if (strspn(line, " \t\r") == length)
        return invalid_request(NULL, "the line is empty", "each line must hold one request");
    const char *error = NULL;
    json_object *request = parse_line(line, length, &error);
    if (request == NULL)
        return invalid_request(NULL, "the line is not valid JSON", error);
    json_object *answer = answer_request(request, base);
    json_object_put(request);
    return answer;
}

int cli_check_jsonl(FILE *input, FILE *output, const guard_policy *policy) {
    char *line = NULL;
    size_t capacity = 0, length = 0;
    int status = 0;
    for (;;) {
        line_status got = read_line(input, &line, &capacity, &length);
        if (got == LINE_END)
            break;
        if (got == LINE_READ_ERROR) {
            fprintf(stderr, "pgsafe check: cannot read standard input: %s\n", strerror(errno));
            status = 2;
            break;
        }
        json_object *answer = NULL;
        if (got == LINE_TOO_LONG) {
            char detail[96];
            snprintf(detail, sizeof detail, "a request line may hold at most %u bytes", CLI_JSONL_MAX_LINE_BYTES);
            answer = invalid_request(NULL, "the line is too long", detail);
        } else {
            answer = answer_line(line, length, policy);
        }
        assert(answer != NULL);
        fputs(json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), output);
        fputc('\n', output);
        json_object_put(answer);
        if (fflush(output) != 0 || ferror(output)) {
            fprintf(stderr, "pgsafe check: cannot write the verdict: %s\n", strerror(errno));
            status = 2;
            break;
        }
    }
    free(line);
    return status;
}
