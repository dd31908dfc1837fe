/* The database layer's log lines: the caller's db_log_fn, and a printf-style front to it.
 * Levels: 0 error, 1 warning, 2 info, 3 debug. A line never holds a password. */
#ifndef PGSAFE_DB_LOG_H
#define PGSAFE_DB_LOG_H

/* Receives one line for the log (no newline) with its level. */
typedef void (*db_log_fn)(void *context, int level, const char *message);

/* Formats one line (cut at 1 KiB) and hands it to log; nothing when log is NULL. */
void db_log_printf(db_log_fn log, void *context, int level, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

#endif
