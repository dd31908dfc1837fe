/* The monotonic clock (see clock.h). */
#include "db/clock.h"

#include <time.h>

int64_t db_now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

double db_elapsed_ms(int64_t started_ms) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double now_ms = (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
    return now_ms - (double)started_ms;
}
