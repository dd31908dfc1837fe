/* The audit log: one JSON line per tool call, appended to a file, for the people who run
 * pgsafe. It holds the query's fingerprint, never a password or the DSN; the SQL text only
 * when asked for. */
#ifndef PGSAFE_MCP_AUDIT_H
#define PGSAFE_MCP_AUDIT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct audit_log audit_log;

/* What one call did; strings are borrowed until audit_write returns. */
typedef struct audit_entry {
    const char *verdict;  /* "allowed", "rejected", "error", "cancelled" or NULL (not a SQL tool) */
    const char *reason;   /* guard reason code or database status, or NULL */
    char *sql;            /* owned: the SQL as sent by the model, or NULL */
    long long rows;       /* -1 if none */
    long long bytes;      /* -1 if none */
    const char *identity; /* who asked: the HTTP bearer token's identity, or NULL (stdio) */
    const char *database; /* the database's name (--database), or NULL for the one of --dsn */
} audit_entry;

/* Opens (appends to) path. NULL with *error set (caller frees) on failure. */
audit_log *audit_open(const char *path, bool include_sql, char **error);
void audit_close(audit_log *log);

/* Writes one line for a finished call (log NULL: no audit log, true). Returns false when the
 * line could not be written whole (disk full, I/O error): the failure is reported on stderr
 * with the count of lines lost, and the log is failing until a later line is written. */
bool audit_write(audit_log *log, json_object *id, const char *tool, const audit_entry *entry, double elapsed_ms);

/* True while the last line written failed. */
bool audit_failing(const audit_log *log);

/* Lines lost since the log was opened. */
unsigned long audit_failures(const audit_log *log);

void audit_entry_clear(audit_entry *entry);

#endif
