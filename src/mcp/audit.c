/* Audit lines: time, request id, tool, fingerprint, verdict, reason, rows, bytes, ms. A
 * line that cannot be written is reported on stderr and counted; whether calls go on is the
 * caller's choice (--audit-required: see request.c and tools.c). */
#include "mcp/audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgsafe/guard.h"
#include "util/strings.h"
#include "mcp/json.h"

struct audit_log {
    FILE *file;
    bool include_sql;
    bool failing;           /* the last write failed */
    unsigned long failures; /* lines lost since the log was opened */
};

audit_log *audit_open(const char *path, bool include_sql, char **error) {
    FILE *file = fopen(path, "a");
    if (file == NULL) {
        *error = str_printf("cannot open the audit log \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    audit_log *log = mcp_must(calloc(1, sizeof *log), "the audit log");
    log->file = file;
    log->include_sql = include_sql;
    return log;
}

void audit_close(audit_log *log) {
    if (log == NULL)
        return;
    fclose(log->file);
    free(log);
}

void audit_entry_clear(audit_entry *entry) {
    free(entry->sql);
    *entry = (audit_entry){.rows = -1, .bytes = -1};
}

/* Adds "time": now in UTC, to the millisecond. */
static void add_time(json_object *line) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r(&now.tv_sec, &utc);
    char text[40];
    size_t length = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(text + length, sizeof text - length, ".%03ldZ", now.tv_nsec / 1000000);
    mcp_json_add(line, "time", mcp_json_string(text));
}

/* The fingerprint identifies a query's shape without its constants, so it can be logged
 * where the text may not be. */
static void add_fingerprint(json_object *line, const char *sql) {
    if (sql == NULL) {
        mcp_json_add(line, "fingerprint", NULL);
        return;
    }
    char fingerprint[GUARD_FINGERPRINT_SIZE];
    mcp_json_add(line, "fingerprint", guard_fingerprint(sql, fingerprint) ? mcp_json_string(fingerprint) : NULL);
}

bool audit_write(audit_log *log, json_object *id, const char *tool, const audit_entry *entry, double elapsed_ms) {
    if (log == NULL)
        return true;
    json_object *line = mcp_json_object();
    add_time(line);
    mcp_json_add(line, "id", id ? json_object_get(id) : NULL);
    mcp_json_add(line, "tool", tool ? mcp_json_string(tool) : NULL);
    if (entry->identity)
        mcp_json_add(line, "identity", mcp_json_string(entry->identity));
    if (entry->database)
        mcp_json_add(line, "database", mcp_json_string(entry->database));
    add_fingerprint(line, entry->sql);
    mcp_json_add(line, "verdict", entry->verdict ? mcp_json_string(entry->verdict) : NULL);
    mcp_json_add(line, "reason", entry->reason ? mcp_json_string(entry->reason) : NULL);
    mcp_json_add(line, "rows", entry->rows >= 0 ? mcp_json_int64(entry->rows) : NULL);
    mcp_json_add(line, "bytes", entry->bytes >= 0 ? mcp_json_int64(entry->bytes) : NULL);
    mcp_json_add(line, "ms", mcp_json_double(((long long)(elapsed_ms * 1000.0)) / 1000.0));
    if (log->include_sql)
        mcp_json_add(line, "sql", entry->sql ? mcp_json_string(entry->sql) : NULL);
    const char *text = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN);
    /* A failure stays on the stream until cleared: clear it first, so this line's own
     * outcome is what counts, and a log that works again is seen to. */
    clearerr(log->file);
    bool written = text != NULL && fprintf(log->file, "%s\n", text) >= 0;
    written = fflush(log->file) == 0 && written;
    int saved = errno;
    json_object_put(line);
    if (written) {
        if (log->failing)
            fprintf(stderr, "pgsafe: warning: the audit log is written again after %lu lost line%s\n", log->failures,
                    log->failures == 1 ? "" : "s");
        log->failing = false;
        return true;
    }
    log->failing = true;
    log->failures++;
    fprintf(stderr, "pgsafe: error: cannot write the audit log: %s; %lu line%s lost so far\n",
            text == NULL ? "out of memory" : strerror(saved), log->failures, log->failures == 1 ? "" : "s");
    return false;
}

bool audit_failing(const audit_log *log) {
    return log != NULL && log->failing;
}

unsigned long audit_failures(const audit_log *log) {
    return log != NULL ? log->failures : 0;
}
