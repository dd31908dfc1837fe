/* Audit lines: time, request id, tool, fingerprint, verdict, reason, rows, bytes, ms. */
#include "mcp/audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgsafe/guard.h"
#include "util/strings.h"

struct audit_log {
    FILE *file;
    bool include_sql;
};

audit_log *audit_open(const char *path, bool include_sql, char **error) {
    FILE *file = fopen(path, "a");
    if (file == NULL) {
        *error = str_printf("cannot open the audit log \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    audit_log *log = calloc(1, sizeof *log);
    if (log == NULL) {
        fclose(file);
        *error = strdup("out of memory");
        return NULL;
    }
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

static void add_time(json_object *line) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r(&now.tv_sec, &utc);
    char text[40];
    size_t length = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(text + length, sizeof text - length, ".%03ldZ", now.tv_nsec / 1000000);
    json_object_object_add(line, "time", json_object_new_string(text));
}

/* The fingerprint identifies a query's shape without its constants, so it can be logged
 * where the text may not be. */
static void add_fingerprint(json_object *line, const char *sql) {
    if (sql == NULL) {
        json_object_object_add(line, "fingerprint", NULL);
        return;
    }
    char fingerprint[GUARD_FINGERPRINT_SIZE];
    json_object_object_add(line, "fingerprint",
                           guard_fingerprint(sql, fingerprint) ? json_object_new_string(fingerprint) : NULL);
}

void audit_write(audit_log *log, json_object *id, const char *tool, const audit_entry *entry, double elapsed_ms) {
    if (log == NULL)
        return;
    json_object *line = json_object_new_object();
    add_time(line);
    json_object_object_add(line, "id", id ? json_object_get(id) : NULL);
    json_object_object_add(line, "tool", tool ? json_object_new_string(tool) : NULL);
    add_fingerprint(line, entry->sql);
    json_object_object_add(line, "verdict", entry->verdict ? json_object_new_string(entry->verdict) : NULL);
    json_object_object_add(line, "reason", entry->reason ? json_object_new_string(entry->reason) : NULL);
    json_object_object_add(line, "rows", entry->rows >= 0 ? json_object_new_int64(entry->rows) : NULL);
    json_object_object_add(line, "bytes", entry->bytes >= 0 ? json_object_new_int64(entry->bytes) : NULL);
    json_object_object_add(line, "ms", json_object_new_double(((long long)(elapsed_ms * 1000.0)) / 1000.0));
    if (log->include_sql)
        json_object_object_add(line, "sql", entry->sql ? json_object_new_string(entry->sql) : NULL);
    fprintf(log->file, "%s\n", json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN));
    fflush(log->file);
    json_object_put(line);
}
