/* The verdict every stage of the guard fills in: the first rejection wins, and its strings
 * belong to the verdict until guard_check hands them to the result. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A copy of text (the caller frees), or NULL for NULL or when memory runs out. */
static char *copy_or_null(const char *text) {
    return text != NULL ? strdup(text) : NULL;
}

bool verdict_reject(guard_verdict *verdict, guard_reason code, int location, const char *detail, const char *hint,
                    const char *message_format, ...) {
    assert(code != GUARD_OK && code < GUARD_REASON_COUNT);
    if (verdict->code != GUARD_OK)
        return false;
    assert(verdict->message == NULL && verdict->detail == NULL && verdict->hint == NULL);
    va_list arguments;
    va_start(arguments, message_format);
    char buffer[512];
    vsnprintf(buffer, sizeof buffer, message_format, arguments);
    va_end(arguments);
    verdict->code = code;
    verdict->location = location;
    verdict->message = strdup(buffer);
    verdict->detail = copy_or_null(detail);
    verdict->hint = copy_or_null(hint);
    return false;
}

void verdict_clear(guard_verdict *verdict) {
    free(verdict->message);
    free(verdict->detail);
    free(verdict->hint);
    memset(verdict, 0, sizeof *verdict);
    verdict->location = -1;
}
