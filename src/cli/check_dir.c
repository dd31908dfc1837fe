/* `pgsafe check --dir DIR`: every *.sql file under DIR, in name order and subdirectories
 * included, is one query for the guard; each rejection is printed with its reason, and a
 * summary ends the run. For CI over a repository's SQL. */
#include "cli/check_dir.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/check_verdict.h"
#include "util/strings.h"

/* Directories deeper than this below DIR are not entered (a bound, and no symlink loop can
 * go on for ever: links to directories are not followed at all). */
#define MAX_DEPTH 32

typedef struct dir_run {
    const guard_policy *policy;
    bool json;
    long allowed, rejected;
    bool failed; /* a file or directory could not be read */
} dir_run;

static bool is_sql_file(const char *name) {
    size_t length = strlen(name);
    return length > 4 && strcmp(name + length - 4, ".sql") == 0;
}

/* Reads up to limit bytes of path (one more shows it is longer). NULL after reporting. */
static char *read_query(const char *path, size_t limit, size_t *length) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "pgsafe check: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(limit + 1);
    if (text == NULL) {
        fprintf(stderr, "pgsafe check: out of memory reading %s\n", path);
        fclose(file);
        return NULL;
    }
    *length = fread(text, 1, limit, file);
    if (ferror(file)) {
        fprintf(stderr, "pgsafe check: cannot read %s: %s\n", path, strerror(errno));
        free(text);
        text = NULL;
    }
    fclose(file);
    return text;
}

/* Checks one file and prints its verdict (a rejection, or in JSON every verdict). */
static void check_file(dir_run *run, const char *path) {
    size_t length = 0;
    /* One byte over the guard's bound is enough for it to say input_too_large. */
    char *sql = read_query(path, run->policy->max_sql_bytes + 1, &length);
    if (sql == NULL) {
        run->failed = true;
        return;
    }
    guard_result result = guard_check_bytes(sql, length, run->policy);
    if (result.allowed)
        run->allowed++;
    else
        run->rejected++;
    if (run->json) {
        json_object *object = json_object_new_object();
        json_object_object_add(object, "file", json_object_new_string(path));
        cli_check_verdict_add(object, &result);
        puts(json_object_to_json_string_ext(object, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(object);
    } else if (!result.allowed) {
        printf("REJECTED %s: %s: %s\n", path, guard_reason_name(result.code), result.message);
        if (result.detail != NULL)
            printf("  detail: %s\n", result.detail);
        if (result.hint != NULL)
            printf("  hint: %s\n", result.hint);
        if (result.cursor_position > 0)
            printf("  position: %d\n", result.cursor_position);
    }
    if (result.code == GUARD_INTERNAL_ERROR)
        run->failed = true;
    guard_result_free(&result);
    free(sql);
}

/* Hidden entries (".git", ".cache") are skipped. */
static int visible(const struct dirent *entry) {
    return entry->d_name[0] != '.';
}

/* Checks the .sql files of directory, then descends into its subdirectories, both in name
 * order; depth counts the levels below the starting directory. */
static void walk(dir_run *run, const char *directory, int depth) {
    struct dirent **entries = NULL;
    int count = scandir(directory, &entries, visible, alphasort);
    if (count < 0) {
        fprintf(stderr, "pgsafe check: cannot read the directory %s: %s\n", directory, strerror(errno));
        run->failed = true;
        return;
    }
    for (int i = 0; i < count; i++) {
        char *path = str_printf("%s/%s", directory, entries[i]->d_name);
        struct stat link_status, status;
        if (path == NULL) {
            fprintf(stderr, "pgsafe check: out of memory\n");
            run->failed = true;
        } else if (lstat(path, &link_status) != 0 || stat(path, &status) != 0) {
            fprintf(stderr, "pgsafe check: cannot read %s: %s\n", path, strerror(errno));
            run->failed = true;
        } else if (S_ISDIR(status.st_mode) && !S_ISLNK(link_status.st_mode)) {
            if (depth < MAX_DEPTH)
                walk(run, path, depth + 1);
            else {
                fprintf(stderr, "pgsafe check: %s is more than %d directories deep\n", path, MAX_DEPTH);
                run->failed = true;
            }
        } else if (S_ISREG(status.st_mode) && is_sql_file(entries[i]->d_name)) {
            check_file(run, path);
        }
        free(path);
        free(entries[i]);
    }
    free(entries);
}

int cli_check_dir(const char *directory, const guard_policy *policy, bool json) {
    struct stat status;
    bool found = stat(directory, &status) == 0;
    if (!found || !S_ISDIR(status.st_mode)) {
        fprintf(stderr, "pgsafe check: --dir %s: %s\n", directory, found ? "not a directory" : strerror(errno));
        return 2;
    }
    dir_run run = {.policy = policy, .json = json};
    /* Without a trailing slash, so that the paths printed read "sql/q1.sql". */
    size_t length = strlen(directory);
    while (length > 1 && directory[length - 1] == '/')
        length--;
    char *start = str_copy_length(directory, length);
    if (start == NULL) {
        fprintf(stderr, "pgsafe check: out of memory\n");
        return 2;
    }
    walk(&run, start, 0);
    free(start);
    if (!json)
        printf("%ld allowed, %ld rejected\n", run.allowed, run.rejected);
    fflush(stdout);
    if (run.failed)
        return 2;
    if (run.allowed + run.rejected == 0) {
        fprintf(stderr, "pgsafe check: no .sql file under %s\n", directory);
        return 2;
    }
    return run.rejected > 0 ? 1 : 0;
}
