/* Options shared by `pgsafe serve` and `pgsafe doctor`: flags and PGSAFE_* environment
 * variables (a flag wins over its variable), validated into an mcp_config. */
#include "cli/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

typedef enum option_kind {
    OPTION_COUNT,  /* a positive integer */
    OPTION_BYTES,  /* a positive size in bytes */
    OPTION_TEXT,   /* a string */
    OPTION_SWITCH, /* no value; the variable takes 1/0, true/false, yes/no, on/off */
    OPTION_LIST    /* repeatable; the variable takes a comma-separated list */
} option_kind;

typedef enum option_id {
    OPT_DSN,
    OPT_MAX_ROWS,
    OPT_STATEMENT_TIMEOUT,
    OPT_LOCK_TIMEOUT,
    OPT_MAX_RESULT_BYTES,
    OPT_MAX_CELL_BYTES,
    OPT_MAX_MESSAGE_BYTES,
    OPT_POOL_SIZE,
    OPT_SCHEMAS,
    OPT_ALLOW_FUNCTION,
    OPT_DENY_FUNCTION,
    OPT_ALLOW_RELATION,
    OPT_DENY_RELATION,
    OPT_AUDIT_LOG,
    OPT_AUDIT_SQL,
    OPT_AUDIT_REQUIRED,
    OPT_LOG_LEVEL,
    OPT_EXPLAIN_ANALYZE,
    OPT_REFUSE_WRITABLE_ROLE,
    OPT_COUNT_ALL
} option_id;

_Static_assert(OPT_COUNT_ALL == CLI_OPTION_COUNT, "cli_config's arrays hold every option");
_Static_assert(OPT_REFUSE_WRITABLE_ROLE > OPT_DENY_RELATION &&
                   OPT_DENY_RELATION - OPT_ALLOW_FUNCTION + 1 == CLI_LIST_COUNT,
               "the four list options are consecutive");

typedef struct option {
    const char *flag;
    const char *variable;
    option_kind kind;
    const char *help;
    const char *value_name; /* the value's name in the help; NULL: its kind's (N, TEXT, NAME) */
} option;

static const option options[OPT_COUNT_ALL] = {
    [OPT_DSN] = {"--dsn", "PGSAFE_DSN", OPTION_TEXT,
                 "connection string or URL (else DATABASE_URL, else libpq's PG* variables)", "DSN"},
    [OPT_MAX_ROWS] = {"--max-rows", "PGSAFE_MAX_ROWS", OPTION_COUNT, "rows per query result (1000)"},
    [OPT_STATEMENT_TIMEOUT] = {"--statement-timeout", "PGSAFE_STATEMENT_TIMEOUT", OPTION_COUNT,
                               "statement timeout in milliseconds (30000)"},
    [OPT_LOCK_TIMEOUT] = {"--lock-timeout", "PGSAFE_LOCK_TIMEOUT", OPTION_COUNT, "lock timeout in milliseconds (1000)"},
    [OPT_MAX_RESULT_BYTES] = {"--max-result-bytes", "PGSAFE_MAX_RESULT_BYTES", OPTION_BYTES,
                              "byte budget of one result's values (262144)"},
    [OPT_MAX_CELL_BYTES] = {"--max-cell-bytes", "PGSAFE_MAX_CELL_BYTES", OPTION_BYTES,
                            "bytes kept of one value; longer ones are cut and marked (8192)"},
    [OPT_MAX_MESSAGE_BYTES] = {"--max-message-bytes", "PGSAFE_MAX_MESSAGE_BYTES", OPTION_BYTES,
                               "largest incoming JSON-RPC message (4194304)"},
    [OPT_POOL_SIZE] = {"--pool-size", "PGSAFE_POOL_SIZE", OPTION_COUNT, "database connections, 1 to 64 (2)"},
    [OPT_SCHEMAS] = {"--schemas", "PGSAFE_SCHEMAS", OPTION_TEXT,
                     "comma-separated schemas: the search_path and what the schema tools show (default: search_path "
                     "public, every usable schema shown)",
                     "LIST"},
    [OPT_ALLOW_FUNCTION] = {"--allow-function", "PGSAFE_ALLOW_FUNCTION", OPTION_LIST,
                            "also allow this function (never one on the deny list)"},
    [OPT_DENY_FUNCTION] = {"--deny-function", "PGSAFE_DENY_FUNCTION", OPTION_LIST, "also deny this function"},
    [OPT_ALLOW_RELATION] = {"--allow-relation", "PGSAFE_ALLOW_RELATION", OPTION_LIST,
                            "allow a relation denied by default (e.g. pg_settings)"},
    [OPT_DENY_RELATION] = {"--deny-relation", "PGSAFE_DENY_RELATION", OPTION_LIST,
                           "deny this table or view (name or schema.name)"},
    [OPT_AUDIT_LOG] = {"--audit-log", "PGSAFE_AUDIT_LOG", OPTION_TEXT, "append one JSON line per tool call to FILE",
                       "FILE"},
    [OPT_AUDIT_SQL] = {"--audit-sql", "PGSAFE_AUDIT_SQL", OPTION_SWITCH, "put the SQL text in audit lines"},
    [OPT_AUDIT_REQUIRED] = {"--audit-required", "PGSAFE_AUDIT_REQUIRED", OPTION_SWITCH,
                            "refuse tool calls while the audit log cannot be written"},
    [OPT_LOG_LEVEL] = {"--log-level", "PGSAFE_LOG_LEVEL", OPTION_TEXT,
                       "stderr log level: debug, info, notice, warning, error (info)", "LEVEL"},
    [OPT_EXPLAIN_ANALYZE] = {"--explain-analyze", "PGSAFE_EXPLAIN_ANALYZE", OPTION_SWITCH,
                             "let explain run EXPLAIN ANALYZE (read-only, rolled back, time-limited)"},
    [OPT_REFUSE_WRITABLE_ROLE] = {"--refuse-writable-role", "PGSAFE_REFUSE_WRITABLE_ROLE", OPTION_SWITCH,
                                  "exit with status 2 if the role can write"},
};

void cli_config_options_usage(FILE *stream) {
    for (int i = 0; i < OPT_COUNT_ALL; i++) {
        const char *value = options[i].value_name != NULL      ? options[i].value_name
                            : options[i].kind == OPTION_SWITCH ? NULL
                            : options[i].kind == OPTION_TEXT   ? "TEXT"
                            : options[i].kind == OPTION_LIST   ? "NAME"
                                                               : "N";
        fprintf(stream, "  %s%s%s  [%s]\n      %s\n", options[i].flag, value != NULL ? " " : "",
                value != NULL ? value : "", options[i].variable, options[i].help);
    }
}

static int list_index(option_id id) {
    return id - OPT_ALLOW_FUNCTION;
}

static bool list_add(cli_config *found, option_id id, const char *value) {
    int index = list_index(id);
    char **grown = realloc(found->lists[index], (found->list_counts[index] + 2) * sizeof *grown);
    if (grown == NULL)
        return false;
    found->lists[index] = grown;
    grown[found->list_counts[index]++] = (char *)value;
    grown[found->list_counts[index]] = NULL;
    return true;
}

static int parse_switch_text(const char *text) {
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcmp(text, yes[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcmp(text, no[i]) == 0)
            return 0;
    return -1;
}

/* Reads the environment first, so flags (read after) win. */
static bool read_environment(cli_config *found) {
    for (int i = 0; i < OPT_COUNT_ALL; i++) {
        const char *value = getenv(options[i].variable);
        if (value == NULL && options[i].kind == OPTION_LIST) {
            /* The lists also answer to the plural, PGSAFE_DENY_RELATIONS and so on. */
            char plural[64];
            snprintf(plural, sizeof plural, "%sS", options[i].variable);
            value = getenv(plural);
        }
        if (value == NULL)
            continue;
        if (options[i].kind == OPTION_SWITCH) {
            int parsed = parse_switch_text(value);
            if (parsed < 0) {
                fprintf(stderr, "pgsafe %s: %s must be 1 or 0 (or true/false, yes/no, on/off), not \"%s\"\n",
                        found->command, options[i].variable, value);
                return false;
            }
            found->switches[i] = parsed == 1;
        } else if (options[i].kind == OPTION_LIST) {
            char *copy = strdup(value);
            if (copy == NULL)
                return false;
            found->owned_env_copies[list_index((option_id)i)] = copy;
            char *save = NULL;
            for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                while (*item == ' ')
                    item++;
                if (*item && !list_add(found, (option_id)i, item))
                    return false;
            }
        } else {
            found->values[i] = value;
            found->sources[i] = options[i].variable;
        }
    }
    if (found->values[OPT_DSN] == NULL)
        found->values[OPT_DSN] = cli_config_dsn_from_environment(&found->sources[OPT_DSN]);
    return true;
}

/* 0 to go on, 1 for --help, 2 for a usage error (already reported). */
static int read_flags(cli_config *found, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0)
            return 1;
        const char *inline_value = NULL;
        size_t name_length = strlen(argument);
        const char *equals = strchr(argument, '=');
        if (equals) {
            name_length = (size_t)(equals - argument);
            inline_value = equals + 1;
        }
        int id = -1;
        for (int j = 0; j < OPT_COUNT_ALL && id < 0; j++)
            if (strlen(options[j].flag) == name_length && strncmp(options[j].flag, argument, name_length) == 0)
                id = j;
        if (id < 0) {
            fprintf(stderr, "pgsafe %s: unknown option \"%s\" (pgsafe %s --help lists them)\n", found->command,
                    argument, found->command);
            return 2;
        }
        if (options[id].kind == OPTION_SWITCH) {
            if (inline_value) {
                fprintf(stderr, "pgsafe %s: %s takes no value\n", found->command, options[id].flag);
                return 2;
            }
            found->switches[id] = true;
            continue;
        }
        const char *value = inline_value;
        if (value == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "pgsafe %s: %s needs a value\n", found->command, options[id].flag);
                return 2;
            }
            value = argv[++i];
        }
        if (options[id].kind == OPTION_LIST) {
            if (*value == '\0') {
                fprintf(stderr, "pgsafe %s: %s needs a non-empty name\n", found->command, options[id].flag);
                return 2;
            }
            if (!list_add(found, (option_id)id, value))
                return 2;
        } else {
            found->values[id] = value;
            found->sources[id] = options[id].flag;
        }
    }
    return 0;
}

/* Parses a positive integer option within [minimum, maximum]; reports and returns false
 * when it is not one. An unset option keeps *out. */
static bool number_option(const cli_config *found, option_id id, long long minimum, long long maximum, long long *out) {
    const char *text = found->values[id];
    if (text == NULL)
        return true;
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > maximum) {
        fprintf(stderr, "pgsafe %s: %s must be an integer from %lld to %lld, not \"%s\"\n", found->command,
                found->sources[id], minimum, maximum, text);
        return false;
    }
    *out = value;
    return true;
}

/* "a, b" -> search_path text with each name quoted, and a text[] literal. */
bool cli_config_next_name(const char **cursor, const char **name, size_t *length) {
    const char *p = *cursor;
    while (*p == ' ' || *p == ',')
        p++;
    const char *start = p;
    while (*p && *p != ',')
        p++;
    const char *end = p;
    while (end > start && end[-1] == ' ')
        end--;
    *cursor = p;
    *name = start;
    *length = (size_t)(end - start);
    return end > start;
}

static bool parse_schemas(const char *text, char **search_path, char **array) {
    strbuf path = {0}, literal = {0};
    strbuf_puts(&literal, "{");
    int count = 0;
    const char *name;
    size_t length;
    for (const char *cursor = text; cli_config_next_name(&cursor, &name, &length);) {
        const char *start = name, *end = name + length;
        strbuf_puts(&path, count ? ", \"" : "\"");
        strbuf_puts(&literal, count ? ",\"" : "\"");
        for (const char *c = start; c < end; c++) {
            if (*c == '"')
                strbuf_puts(&path, "\"\"");
            else
                strbuf_append(&path, c, 1);
            if (*c == '"' || *c == '\\')
                strbuf_puts(&literal, "\\");
            strbuf_append(&literal, c, 1);
        }
        strbuf_puts(&path, "\"");
        strbuf_puts(&literal, "\"");
        count++;
    }
    strbuf_puts(&literal, "}");
    *search_path = strbuf_take(&path);
    *array = strbuf_take(&literal);
    if (count == 0 || *search_path == NULL || *array == NULL) {
        free(*search_path);
        free(*array);
        *search_path = *array = NULL;
        return false;
    }
    return true;
}

const char *cli_config_dsn_from_environment(const char **source) {
    const char *value = getenv("PGSAFE_DSN");
    *source = "PGSAFE_DSN";
    if (value == NULL) {
        value = getenv("DATABASE_URL");
        *source = "DATABASE_URL";
    }
    if (value == NULL)
        *source = NULL;
    return value;
}

void cli_config_free(cli_config *config) {
    for (int i = 0; i < CLI_LIST_COUNT; i++) {
        free(config->lists[i]);
        free(config->owned_env_copies[i]);
    }
    free(config->search_path);
    free(config->visible_schemas);
    memset(config, 0, sizeof *config);
}

int cli_config_read(cli_config *found, int argc, char **argv) {
    memset(found, 0, sizeof *found);
    found->command = argc > 0 ? argv[0] : "serve";
    if (!read_environment(found))
        return 2;
    int flags = read_flags(found, argc, argv);
    if (flags != 0)
        return flags;
    mcp_config *config = &found->server;
    guard_policy_init(&config->policy);
    db_options_init(&config->db);
    config->max_message_bytes = 4 * 1024 * 1024;
    config->log_level = MCP_LOG_INFO;
    long long max_rows = config->policy.max_rows, statement_timeout = config->db.statement_timeout_ms,
              lock_timeout = config->db.lock_timeout_ms, result_bytes = (long long)config->db.max_result_bytes,
              cell_bytes = (long long)config->db.max_cell_bytes, message_bytes = (long long)config->max_message_bytes,
              pool_size = config->db.pool_size;
    bool ok = number_option(found, OPT_MAX_ROWS, 1, 1000000, &max_rows) &&
              number_option(found, OPT_STATEMENT_TIMEOUT, 1, INT_MAX / 2, &statement_timeout) &&
              number_option(found, OPT_LOCK_TIMEOUT, 1, INT_MAX / 2, &lock_timeout) &&
              number_option(found, OPT_MAX_RESULT_BYTES, 1024, 1LL << 30, &result_bytes) &&
              number_option(found, OPT_MAX_CELL_BYTES, 16, 1LL << 30, &cell_bytes) &&
              number_option(found, OPT_MAX_MESSAGE_BYTES, 1024, 1LL << 30, &message_bytes) &&
              number_option(found, OPT_POOL_SIZE, 1, 64, &pool_size);
    if (ok && found->values[OPT_SCHEMAS] &&
        !parse_schemas(found->values[OPT_SCHEMAS], &found->search_path, &found->visible_schemas)) {
        fprintf(stderr, "pgsafe %s: %s must name at least one schema, e.g. public,sales\n", found->command,
                found->sources[OPT_SCHEMAS]);
        ok = false;
    }
    if (ok && found->values[OPT_LOG_LEVEL]) {
        int level = mcp_log_level_parse(found->values[OPT_LOG_LEVEL]);
        if (level < 0) {
            fprintf(stderr, "pgsafe %s: %s must be debug, info, notice, warning or error, not \"%s\"\n", found->command,
                    found->sources[OPT_LOG_LEVEL], found->values[OPT_LOG_LEVEL]);
            ok = false;
        } else {
            config->log_level = (mcp_log_level)level;
        }
    }
    if (ok && found->values[OPT_AUDIT_LOG] && *found->values[OPT_AUDIT_LOG] == '\0') {
        fprintf(stderr, "pgsafe %s: %s needs a file name\n", found->command, found->sources[OPT_AUDIT_LOG]);
        ok = false;
    }
    if (!ok)
        return 2;
    config->policy.max_rows = max_rows;
    config->policy.allowed_functions = (const char *const *)found->lists[list_index(OPT_ALLOW_FUNCTION)];
    config->policy.denied_functions = (const char *const *)found->lists[list_index(OPT_DENY_FUNCTION)];
    config->policy.allowed_relations = (const char *const *)found->lists[list_index(OPT_ALLOW_RELATION)];
    config->policy.denied_relations = (const char *const *)found->lists[list_index(OPT_DENY_RELATION)];
    config->db.conninfo = found->values[OPT_DSN] ? found->values[OPT_DSN] : "";
    found->dsn_source = found->values[OPT_DSN] ? found->sources[OPT_DSN] : NULL;
    config->db.statement_timeout_ms = (int)statement_timeout;
    config->db.lock_timeout_ms = (int)lock_timeout;
    /* Idle time inside our transaction is only ever ours; keep it short but above the statement's. */
    config->db.idle_in_transaction_ms = (int)(statement_timeout < INT_MAX / 4 ? statement_timeout * 2 : INT_MAX / 2);
    config->db.max_result_bytes = (size_t)result_bytes;
    config->db.max_cell_bytes = (size_t)cell_bytes;
    config->db.pool_size = (int)pool_size;
    if (found->search_path)
        config->db.search_path = found->search_path;
    config->visible_schemas = found->visible_schemas;
    config->max_message_bytes = (size_t)message_bytes;
    config->audit_log_path = found->values[OPT_AUDIT_LOG];
    config->audit_sql = found->switches[OPT_AUDIT_SQL];
    config->audit_required = found->switches[OPT_AUDIT_REQUIRED];
    config->explain_analyze = found->switches[OPT_EXPLAIN_ANALYZE];
    config->refuse_writable_role = found->switches[OPT_REFUSE_WRITABLE_ROLE];
    return 0;
}
