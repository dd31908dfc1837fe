/* The monotonic clock the pool's timers, a call's elapsed time and the catalog's age are
 * measured with. Never the wall clock: a change of the system time must not fire timers. */
#ifndef PGSAFE_DB_CLOCK_H
#define PGSAFE_DB_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds. */
int64_t db_now_ms(void);

/* Milliseconds since started_ms (a db_now_ms value), with sub-millisecond precision. */
double db_elapsed_ms(int64_t started_ms);

#endif
