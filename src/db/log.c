/* The database layer's log lines (see log.h). */
#include "db/log.h"

#include <stdarg.h>
#include <stdio.h>

void db_log_printf(db_log_fn log, void *context, int level, const char *format, ...) {
    if (log == NULL)
        return;
    char buffer[1024]; /* a fixed buffer: a log line must not fail for want of memory */
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(buffer, sizeof buffer, format, arguments);
    va_end(arguments);
    log(context, level, buffer);
}
