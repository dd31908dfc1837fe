/* `pgsafe check [options] [SQL]` and `pgsafe check --corpus FILE.jsonl`. The query comes
 * from the argument or, without one, from standard input. A corpus is JSON Lines, one entry
 * a line: {"id", "sql", "expect": "allow"|"reject", "reason"?, "limit_action"?,
 * "applied_limit"?, "rewritten"?, "since"?}; see corpus/README.md. */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/catalog_file.h"
#include "cli/check.h"
#include "cli/check_dir.h"
#include "cli/check_jsonl.h"
#include "cli/check_verdict.h"
#include "cli/options.h"
#include "cli/policy.h"
#include "pgsafe/guard.h"

#define MAX_LIST_ENTRIES 64
#define MAX_STDIN_BYTES  (64u * 1024 * 1024)

typedef struct check_options {
    bool json;                /* one JSON object instead of text */
    bool jsonl;               /* answer request lines until end of input */
    const char *corpus_path;  /* run a corpus instead of one query */
    const char *catalog_path; /* a catalog snapshot to judge user objects by */
    const char *dir_path;     /* check the .sql files under it */
    const char *sql;          /* from the command line, or NULL */
    guard_policy policy;
    const char *allowed_functions[MAX_LIST_ENTRIES + 1];
    const char *denied_functions[MAX_LIST_ENTRIES + 1];
    const char *allowed_relations[MAX_LIST_ENTRIES + 1];
    const char *denied_relations[MAX_LIST_ENTRIES + 1];
    cli_policy data_policy; /* --tables, --deny-columns, --relation */
} check_options;

/* Appends value to a NULL-terminated list of at most MAX_LIST_ENTRIES names; false
 * (reported) when value is empty or the list is full. */
static bool append(const char **list, const char *value, const char *source) {
    if (value[0] == '\0') {
        fprintf(stderr, "pgsafe check: %s needs a name\n", source);
        return false;
    }
    for (size_t i = 0; i < MAX_LIST_ENTRIES; i++) {
        if (list[i] == NULL) {
            list[i] = value;
            return true;
        }
    }
    fprintf(stderr, "pgsafe check: at most %d names for %s\n", MAX_LIST_ENTRIES, source);
    return false;
}

/* The handlers of check's rows (cli_option_handler in cli/options.h): settings is the
 * check_options; list values point into argv. */

static bool set_json(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((check_options *)settings)->json = true;
    return true;
}

static bool set_jsonl(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((check_options *)settings)->jsonl = true;
    return true;
}

static bool set_dir(void *settings, const char *value, const char *source) {
    (void)source;
    ((check_options *)settings)->dir_path = value;
    return true;
}

static bool set_catalog(void *settings, const char *value, const char *source) {
    (void)source;
    ((check_options *)settings)->catalog_path = value;
    return true;
}

static bool set_max_rows(void *settings, const char *value, const char *source) {
    check_options *options = settings;
    (void)source;
    if (!cli_parse_integer(value, 0, 1000000000LL, &options->policy.max_rows)) {
        fprintf(stderr, "pgsafe check: --max-rows needs a whole number from 0 to 1000000000\n");
        return false;
    }
    return true;
}

/* A major version with no table of its own uses the nearest one, and says so. */
static bool set_server_version(void *settings, const char *value, const char *source) {
    check_options *options = settings;
    long long major = 0;
    (void)source;
    if (!cli_parse_integer(value, 10, 99, &major)) {
        fprintf(stderr, "pgsafe check: --server-version needs a PostgreSQL major version such as 17\n");
        return false;
    }
    options->policy.server_version = (int)major;
    if (guard_builtins_version((int)major) != major)
        fprintf(stderr, "pgsafe check: no built-in table for PostgreSQL %lld; using PostgreSQL %d's\n", major,
                guard_builtins_version((int)major));
    return true;
}

static bool set_allow_xpath(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((check_options *)settings)->policy.allow_xpath = true;
    return true;
}

static bool set_max_value_bytes(void *settings, const char *value, const char *source) {
    check_options *options = settings;
    long long bytes = 0;
    (void)source;
    if (!cli_parse_integer(value, 1024, 1LL << 30, &bytes)) {
        fprintf(stderr, "pgsafe check: --max-value-bytes needs a whole number from 1024 to 1073741824\n");
        return false;
    }
    options->policy.max_value_bytes = (size_t)bytes;
    return true;
}

static bool set_max_plan_rows(void *settings, const char *value, const char *source) {
    check_options *options = settings;
    char *end = NULL;
    double rows = strtod(value, &end);
    (void)source;
    if (end == value || *end != '\0' || !(rows >= 0 && rows <= 1e300)) {
        fprintf(stderr, "pgsafe check: --max-plan-rows needs a number of 0 or more (0 turns the check off), like "
                        "1e9\n");
        return false;
    }
    options->policy.max_plan_rows = rows;
    return true;
}

static bool add_allowed_function(void *settings, const char *value, const char *source) {
    return append(((check_options *)settings)->allowed_functions, value, source);
}

static bool add_denied_function(void *settings, const char *value, const char *source) {
    return append(((check_options *)settings)->denied_functions, value, source);
}

static bool add_allowed_relation(void *settings, const char *value, const char *source) {
    return append(((check_options *)settings)->allowed_relations, value, source);
}

static bool add_denied_relation(void *settings, const char *value, const char *source) {
    return append(((check_options *)settings)->denied_relations, value, source);
}

static bool set_tables(void *settings, const char *value, const char *source) {
    return cli_policy_set_tables(&((check_options *)settings)->data_policy, value, "check", source);
}

static bool set_deny_columns(void *settings, const char *value, const char *source) {
    return cli_policy_set_deny_columns(&((check_options *)settings)->data_policy, value, "check", source);
}

static bool add_relation(void *settings, const char *value, const char *source) {
    return cli_policy_add_relation(&((check_options *)settings)->data_policy, value, "check", source);
}

static bool set_corpus(void *settings, const char *value, const char *source) {
    (void)source;
    ((check_options *)settings)->corpus_path = value;
    return true;
}

/* The query: one argument at most. */
static bool set_sql(void *settings, const char *argument) {
    check_options *options = settings;
    if (options->sql != NULL) {
        fprintf(stderr, "pgsafe check: give the query as one argument (quote it)\n");
        return false;
    }
    options->sql = argument;
    return true;
}

/* check's options take no environment variables: a CI job's verdict should not depend on
 * what a server's environment happens to hold. */
static const cli_option option_rows[] = {
    {"--json", NULL, CLI_SWITCH, NULL, "print the verdict as one JSON object", set_json},
    {"--max-rows", NULL, CLI_VALUE, "N", "rows a result may show (default 1000); LIMIT becomes <= N+1", set_max_rows},
    {"--server-version", NULL, CLI_VALUE, "N",
     "check for a PostgreSQL N server's built-ins and syntax (default: the newest pgsafe knows)", set_server_version},
    {"--allow-function", NULL, CLI_LIST, "NAME", "treat a volatile function as harmless (repeatable)",
     add_allowed_function},
    {"--deny-function", NULL, CLI_LIST, "NAME", "deny a function (repeatable)", add_denied_function},
    {"--allow-relation", NULL, CLI_LIST, "NAME", "lift a default relation denial, e.g. pg_settings (repeatable)",
     add_allowed_relation},
    {"--deny-relation", NULL, CLI_LIST, "NAME", "deny a relation (repeatable)", add_denied_relation},
    {"--allow-xpath", NULL, CLI_SWITCH, NULL, "allow the XPath family (xpath, XMLEXISTS, XMLTABLE)", set_allow_xpath},
    {"--max-value-bytes", NULL, CLI_VALUE, "N", "largest value a query may build from constants (default 4194304)",
     set_max_value_bytes},
    {"--max-plan-rows", NULL, CLI_VALUE, "N",
     "most rows a generate_series with constant arguments may produce (default 1e9; 0: no limit)", set_max_plan_rows},
    {"--tables", NULL, CLI_VALUE, "PATTERNS",
     "allow only these relations, e.g. public.*,sales.orders,!public.audit_log (docs/policy.md)", set_tables},
    {"--deny-columns", NULL, CLI_VALUE, "PATTERNS",
     "columns no query may read, e.g. users.email,*.ssn (needs --catalog or --relation for the tables queried)",
     set_deny_columns},
    {"--relation", NULL, CLI_LIST, "SPEC",
     "declare a relation and its columns for the policy, e.g. public.users(id,name,email) (repeatable; replaces\n"
     "the --catalog snapshot's relation of that name)",
     add_relation},
    {"--corpus", NULL, CLI_VALUE, "FILE", "run a corpus file", set_corpus},
    {"--dir", NULL, CLI_VALUE, "DIR", "check every .sql file under DIR, one query a file", set_dir},
    {"--jsonl", NULL, CLI_SWITCH, NULL,
     "answer JSON request lines from standard input until its end, one verdict line each", set_jsonl},
    {"--catalog", NULL, CLI_VALUE, "FILE",
     "judge user functions, operators and types, and resolve relations and their columns, by a\n"
     "catalog snapshot (pgsafe catalog export)",
     set_catalog},
};

static const cli_command command = {"check", option_rows, sizeof option_rows / sizeof *option_rows, set_sql};

void cli_check_usage(FILE *stream) {
    fputs("usage: pgsafe check [options] [SQL]\n"
          "       pgsafe check --corpus FILE.jsonl [options]\n"
          "       pgsafe check --dir DIR [options]\n"
          "       pgsafe check --jsonl [options] < requests.jsonl\n"
          "\n"
          "Checks one SQL query with the guard, without a database. The query is the argument,\n"
          "or standard input when there is none. Exit status: 0 allowed, 1 rejected, 2 usage or\n"
          "internal error.\n"
          "  --corpus runs every entry of a JSON Lines corpus against its expected verdict,\n"
          "    prints each mismatch and ends with `N passed, N failed`.\n"
          "  --dir checks each .sql file under DIR as one query, prints each rejection and ends\n"
          "    with `N allowed, N rejected` (status 1 if any was rejected).\n"
          "  --jsonl reads one request a line, {\"id\", \"sql\", \"max_rows\"?, \"server_version\"?},\n"
          "    and writes one verdict a line, {\"id\", then the fields of --json}, until the end\n"
          "    of input (status 0); a bad line is answered with reason invalid_request.\n"
          "\n"
          "options:\n",
          stream);
    cli_options_usage(&command, stream);
}

/* Fills options from argv. Returns 0, 1 for --help (nothing printed) or 2 after printing a
 * usage error. The lists point into argv. */
static int parse_options(int argc, char **argv, check_options *options) {
    memset(options, 0, sizeof *options);
    guard_policy_init(&options->policy);
    int status = cli_options_parse_argv(&command, options, argc, argv);
    if (status != 0)
        return status;
    if ((options->corpus_path != NULL) + (options->dir_path != NULL) + (options->sql != NULL) + options->jsonl > 1) {
        fprintf(stderr, "pgsafe check: give one of --corpus, --dir, --jsonl or a query\n");
        return 2;
    }
    if (options->jsonl && options->json) {
        fprintf(stderr, "pgsafe check: --jsonl answers in JSON already; drop --json\n");
        return 2;
    }
    cli_policy_apply(&options->data_policy, &options->policy);
    options->policy.allowed_functions = options->allowed_functions;
    options->policy.denied_functions = options->denied_functions;
    options->policy.allowed_relations = options->allowed_relations;
    options->policy.denied_relations = options->denied_relations;
    return 0;
}

/* Reads all of a stream; NULL (with a message) when it is too large or unreadable. */
static char *read_stream(FILE *stream, size_t *text_length) {
    size_t capacity = 4096, length = 0;
    char *text = malloc(capacity);
    if (text == NULL)
        return NULL;
    size_t got;
    while ((got = fread(text + length, 1, capacity - length - 1, stream)) > 0) {
        length += got;
        if (length + 1 == capacity) {
            if (capacity >= MAX_STDIN_BYTES) {
                fprintf(stderr, "pgsafe check: standard input is larger than %u bytes\n", MAX_STDIN_BYTES);
                free(text);
                return NULL;
            }
            char *grown = realloc(text, capacity * 2);
            if (grown == NULL) {
                free(text);
                return NULL;
            }
            text = grown;
            capacity *= 2;
        }
    }
    if (ferror(stream)) {
        fprintf(stderr, "pgsafe check: cannot read standard input: %s\n", strerror(errno));
        free(text);
        return NULL;
    }
    text[length] = '\0';
    *text_length = length;
    return text;
}

/* The line of sql holding the cursor, with a caret under it, as psql shows errors. */
static void print_cursor(FILE *stream, const char *sql, int position) {
    const char *line = sql;
    int column = 0, character = 1;
    for (const char *p = sql; *p != '\0' && character < position; p++) {
        if (((unsigned char)*p & 0xC0) == 0x80)
            continue;
        character++;
        column++;
        if (*p == '\n') {
            line = p + 1;
            column = 0;
        }
    }
    size_t length = strcspn(line, "\n");
    fprintf(stream, "  %.*s\n  %*s^\n", (int)length, line, column, "");
}

/* The verdict as text: "allowed" with the rewritten SQL, or the rejection's code, message,
 * detail, hint and position with a caret under the query. */
static void print_text(FILE *stream, const char *sql, const guard_result *result) {
    if (result->allowed) {
        fprintf(stream, "allowed (limit %s: %lld)\n%s\n", guard_limit_action_name(result->limit_action),
                result->applied_limit, result->rewritten_sql);
        return;
    }
    fprintf(stream, "rejected: %s\nerror: %s\n", guard_reason_name(result->code), result->message);
    if (result->detail != NULL)
        fprintf(stream, "detail: %s\n", result->detail);
    if (result->hint != NULL)
        fprintf(stream, "hint: %s\n", result->hint);
    if (result->cursor_position > 0) {
        fprintf(stream, "position: %d\n", result->cursor_position);
        print_cursor(stream, sql, result->cursor_position);
    }
}

/* Checks the query of the command line or of standard input and prints its verdict.
 * Returns the exit status: 0 allowed, 1 rejected, 2 unreadable input or internal error. */
static int check_one(const check_options *options) {
    char *owned = NULL;
    const char *sql = options->sql;
    size_t length = sql != NULL ? strlen(sql) : 0;
    if (sql == NULL) {
        owned = read_stream(stdin, &length);
        if (owned == NULL)
            return 2;
        sql = owned;
    }
    /* With the length, a NUL byte on standard input is rejected rather than ending the query. */
    guard_result result = guard_check_bytes(sql, length, &options->policy);
    int status = result.allowed ? 0 : result.code == GUARD_INTERNAL_ERROR ? 2 : 1;
    if (options->json) {
        json_object *object = json_object_new_object();
        cli_check_verdict_add(object, &result);
        puts(json_object_to_json_string_ext(object, JSON_C_TO_STRING_PLAIN));
        json_object_put(object);
    } else {
        print_text(stdout, sql, &result);
    }
    guard_result_free(&result);
    free(owned);
    return status;
}

/* entry's string member name (owned by entry), or NULL when missing or not a string. */
static const char *string_field(json_object *entry, const char *name) {
    json_object *value = NULL;
    if (!json_object_object_get_ex(entry, name, &value) || !json_object_is_type(value, json_type_string))
        return NULL;
    return json_object_get_string(value);
}

/* Compares one corpus entry with its verdict, as a PostgreSQL major server's guard gave it.
 * Returns NULL when it matches, otherwise a description of the mismatch (static or in
 * buffer). An entry "since" a newer major uses what that major added: before it, any
 * refusal matches its reason. */
static const char *compare_entry(json_object *entry, const guard_result *result, int major, char *buffer, size_t size) {
    const char *expect = string_field(entry, "expect");
    const char *reason = string_field(entry, "reason");
    json_object *since = NULL;
    if (json_object_object_get_ex(entry, "since", &since) && json_object_is_type(since, json_type_int) &&
        major < json_object_get_int(since))
        reason = NULL;
    const char *limit_action = string_field(entry, "limit_action");
    const char *rewritten = string_field(entry, "rewritten");
    json_object *applied = NULL;
    bool has_applied = json_object_object_get_ex(entry, "applied_limit", &applied);
    if (expect == NULL || (strcmp(expect, "allow") != 0 && strcmp(expect, "reject") != 0))
        return "invalid entry: \"expect\" must be \"allow\" or \"reject\"";
    bool want_allow = strcmp(expect, "allow") == 0;
    if (want_allow != result->allowed) {
        if (result->allowed)
            snprintf(buffer, size, "expected reject%s%s%s, got allow: %s", reason ? " (" : "", reason ? reason : "",
                     reason ? ")" : "", result->rewritten_sql);
        else
            snprintf(buffer, size, "expected allow, got reject (%s): %s", guard_reason_name(result->code),
                     result->message);
        return buffer;
    }
    if (!want_allow) {
        if (reason != NULL && strcmp(reason, guard_reason_name(result->code)) != 0) {
            snprintf(buffer, size, "expected reason %s, got %s: %s", reason, guard_reason_name(result->code),
                     result->message);
            return buffer;
        }
        return NULL;
    }
    if (limit_action != NULL && strcmp(limit_action, guard_limit_action_name(result->limit_action)) != 0) {
        snprintf(buffer, size, "expected limit_action %s, got %s", limit_action,
                 guard_limit_action_name(result->limit_action));
        return buffer;
    }
    if (has_applied && json_object_get_int64(applied) != result->applied_limit) {
        snprintf(buffer, size, "expected applied_limit %lld, got %lld", (long long)json_object_get_int64(applied),
                 result->applied_limit);
        return buffer;
    }
    if (rewritten != NULL && strcmp(rewritten, result->rewritten_sql) != 0) {
        snprintf(buffer, size, "expected rewritten SQL\n    %s\n  got\n    %s", rewritten, result->rewritten_sql);
        return buffer;
    }
    return NULL;
}

/* Checks every entry of the JSON Lines corpus against its expectation, prints each mismatch
 * and the summary line. Returns 0 when all matched, 1 otherwise, 2 when unreadable. */
static int check_corpus(const check_options *options) {
    FILE *file = fopen(options->corpus_path, "r");
    if (file == NULL) {
        fprintf(stderr, "pgsafe check: cannot open %s: %s\n", options->corpus_path, strerror(errno));
        return 2;
    }
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    long passed = 0, failed = 0, line_number = 0;
    char buffer[4096];
    while ((length = getline(&line, &capacity, file)) != -1) {
        line_number++;
        if (strspn(line, " \t\r\n") == (size_t)length)
            continue;
        json_object *entry = json_tokener_parse(line);
        const char *sql = entry != NULL ? string_field(entry, "sql") : NULL;
        json_object *sql_object = NULL;
        size_t sql_length = 0;
        if (sql != NULL && json_object_object_get_ex(entry, "sql", &sql_object))
            sql_length = (size_t)json_object_get_string_len(sql_object);
        const char *id = entry != NULL ? string_field(entry, "id") : NULL;
        if (sql == NULL) {
            printf("FAIL line %ld: invalid entry: not a JSON object with a string \"sql\"\n", line_number);
            failed++;
            json_object_put(entry);
            continue;
        }
        guard_result result = guard_check_bytes(sql, sql_length, &options->policy);
        int major = guard_builtins_version(options->policy.server_version);
        const char *mismatch = compare_entry(entry, &result, major, buffer, sizeof buffer);
        if (mismatch == NULL) {
            passed++;
        } else {
            failed++;
            printf("FAIL %s (line %ld): %s\n  sql: %s\n", id ? id : "?", line_number, mismatch, sql);
        }
        guard_result_free(&result);
        json_object_put(entry);
    }
    free(line);
    fclose(file);
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed > 0 ? 1 : 0;
}

int cli_check_main(int argc, char **argv) {
    check_options options;
    int status = parse_options(argc, argv, &options);
    if (status == 1) {
        cli_policy_free(&options.data_policy);
        cli_check_usage(stdout);
        return 0;
    }
    if (status != 0) {
        cli_policy_free(&options.data_policy);
        return status;
    }
    cli_catalog_file snapshot = {0};
    if (options.catalog_path != NULL) {
        char *error = NULL;
        /* The declarations go into the snapshot's relations, where they take precedence. */
        if (!cli_catalog_file_load(options.catalog_path, options.data_policy.relations,
                                   options.data_policy.relation_count, &snapshot, &error)) {
            fprintf(stderr, "pgsafe check: --catalog: %s\n", error ? error : "out of memory");
            free(error);
            cli_policy_free(&options.data_policy);
            return 2;
        }
        options.policy.catalog = &snapshot.guard;
    }
    if (options.jsonl)
        status = cli_check_jsonl(stdin, stdout, &options.policy);
    else if (options.dir_path != NULL)
        status = cli_check_dir(options.dir_path, &options.policy, options.json);
    else
        status = options.corpus_path != NULL ? check_corpus(&options) : check_one(&options);
    cli_catalog_file_free(&snapshot);
    cli_policy_free(&options.data_policy);
    return status;
}
