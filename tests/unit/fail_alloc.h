/* Allocation failures on demand, for the unit tests of out-of-memory paths. A test binary
 * linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup gets these
 * wrappers for every call from a statically linked object (pgsafe's own code, and Check's):
 *
 *   fail_allocation_after(n);   // the next n allocations succeed, every later one fails
 *   ... the code under test ...
 *   fail_allocation_after(-1);  // before any assertion: Check allocates too
 *
 * Allocations inside shared libraries (libpq, json-c, libc's own) are not affected. */
#ifndef PGSAFE_TESTS_FAIL_ALLOC_H
#define PGSAFE_TESTS_FAIL_ALLOC_H

#include <stddef.h>

/* successes < 0: never fail (the default). */
void fail_allocation_after(long successes);

/* The real allocators, for a test's own fakes that must not fail. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *pointer, size_t size);
char *__real_strdup(const char *text);

#endif
