/* Allocation failures on demand (see fail_alloc.h). */
#include "fail_alloc.h"

#include <stdbool.h>

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t count, size_t size);
void *__wrap_realloc(void *pointer, size_t size);
char *__wrap_strdup(const char *text);

static long allocations_left = -1; /* < 0: never fail */

/* The next allocation succeeds while allocations_left counts down, then every one fails. */
static bool allocation_fails(void) {
    if (allocations_left < 0)
        return false;
    if (allocations_left == 0)
        return true;
    allocations_left--;
    return false;
}

void *__wrap_malloc(size_t size) {
    return allocation_fails() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t count, size_t size) {
    return allocation_fails() ? NULL : __real_calloc(count, size);
}

void *__wrap_realloc(void *pointer, size_t size) {
    return allocation_fails() ? NULL : __real_realloc(pointer, size);
}

char *__wrap_strdup(const char *text) {
    return allocation_fails() ? NULL : __real_strdup(text);
}

void fail_allocation_after(long successes) {
    allocations_left = successes;
}
