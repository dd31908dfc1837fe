/* guard-example: the pgsafe guard from a C program, without the MCP server.
 *
 * Reads one SQL query (the argument, or standard input when there is none), checks it with
 * libpgsafe-guard under the default policy (at most 1000 rows shown) and prints either
 *
 *   allowed (limit injected: 1001)
 *   SELECT * FROM orders LIMIT 1001
 *
 * or
 *
 *   rejected: function_denied
 *   error: function "pg_sleep" is not allowed
 *   detail: ...
 *   hint: ...
 *
 * Exit status: 0 allowed, 1 rejected, 2 usage or read error. Build it against an installed
 * libpgsafe-guard with the Makefile beside it, which asks pkg-config for the flags:
 *
 *   cc guard-example.c $(pkg-config --cflags --libs pgsafe-guard) -o guard-example */
#include <pgsafe/guard.h>

#include <stdio.h>
#include <stdlib.h>

/* Reads all of stream into a NUL-terminated buffer the caller frees; *length gets its size
 * (which guard_check_bytes takes, so a NUL byte in the input is rejected, not a cut). */
static char *read_all(FILE *stream, size_t *length) {
    size_t capacity = 4096, used = 0;
    char *text = malloc(capacity);
    while (text != NULL) {
        used += fread(text + used, 1, capacity - used - 1, stream);
        if (ferror(stream)) {
            free(text);
            return NULL;
        }
        if (feof(stream))
            break;
        char *larger = realloc(text, capacity * 2);
        if (larger == NULL)
            free(text);
        text = larger;
        capacity *= 2;
    }
    if (text != NULL) {
        text[used] = '\0';
        *length = used;
    }
    return text;
}

int main(int argc, char **argv) {
    if (argc > 2) {
        fprintf(stderr, "usage: guard-example [SQL]   (the query is read from stdin without SQL)\n");
        return 2;
    }
    guard_policy policy;
    guard_policy_init(&policy); /* then adjust fields: policy.max_rows = 50; ... */

    guard_result result;
    if (argc == 2) {
        result = guard_check(argv[1], &policy);
    } else {
        size_t length = 0;
        char *sql = read_all(stdin, &length);
        if (sql == NULL) {
            fprintf(stderr, "guard-example: cannot read standard input\n");
            return 2;
        }
        result = guard_check_bytes(sql, length, &policy);
        free(sql);
    }

    int status;
    if (result.allowed) {
        printf("allowed (limit %s: %lld)\n%s\n", guard_limit_action_name(result.limit_action), result.applied_limit,
               result.rewritten_sql);
        status = 0;
    } else {
        printf("rejected: %s\nerror: %s\n", guard_reason_name(result.code), result.message);
        if (result.detail != NULL)
            printf("detail: %s\n", result.detail);
        if (result.hint != NULL)
            printf("hint: %s\n", result.hint);
        if (result.cursor_position > 0)
            printf("position: %d\n", result.cursor_position);
        status = 1;
    }
    guard_result_free(&result);
    return status;
}
