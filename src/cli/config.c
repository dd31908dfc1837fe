/* The options `pgsafe serve` and `pgsafe doctor` share, as rows of the option table
 * (cli/options.h), each with its PGSAFE_* variable and a handler that validates its value
 * into an mcp_config. */
#include "cli/config.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

/* Parses an integer option in [minimum, maximum] into *out; reports and returns false when
 * the text is not one. */
static bool number(const cli_config *config, const char *value, const char *source, long long minimum,
                   long long maximum, long long *out) {
    if (cli_parse_integer(value, minimum, maximum, out))
        return true;
    fprintf(stderr, "pgsafe %s: %s must be an integer from %lld to %lld, not \"%s\"\n", config->command, source,
            minimum, maximum, value);
    return false;
}

/* The handlers of the rows below (cli_option_handler in cli/options.h): settings is the
 * cli_config, whose defaults cli_config_read set before any handler runs. */

static bool set_dsn(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    config->server.db.conninfo = value;
    config->dsn_source = source;
    return true;
}

static bool set_max_rows(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long rows;
    if (!number(config, value, source, 1, 1000000, &rows))
        return false;
    config->server.policy.max_rows = rows;
    return true;
}

static bool set_statement_timeout(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long milliseconds;
    if (!number(config, value, source, 1, INT_MAX / 2, &milliseconds))
        return false;
    config->server.db.statement_timeout_ms = (int)milliseconds;
    return true;
}

static bool set_lock_timeout(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long milliseconds;
    if (!number(config, value, source, 1, INT_MAX / 2, &milliseconds))
        return false;
    config->server.db.lock_timeout_ms = (int)milliseconds;
    return true;
}

static bool set_max_result_bytes(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long bytes;
    if (!number(config, value, source, 1024, 1LL << 30, &bytes))
        return false;
    config->server.db.max_result_bytes = (size_t)bytes;
    return true;
}

static bool set_max_cell_bytes(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long bytes;
    if (!number(config, value, source, 16, 1LL << 30, &bytes))
        return false;
    config->server.db.max_cell_bytes = (size_t)bytes;
    return true;
}

static bool set_max_message_bytes(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long bytes;
    if (!number(config, value, source, 1024, 1LL << 30, &bytes))
        return false;
    config->server.max_message_bytes = (size_t)bytes;
    return true;
}

/* A cost guard limit: a non-negative number (0 turns the check off), written as an integer
 * or with an exponent (1e7). */
static bool estimate_limit(const cli_config *config, const char *value, const char *source, double *out) {
    char *end = NULL;
    double number = strtod(value, &end);
    if (end == value || *end != '\0' || !(number >= 0 && number <= 1e300)) {
        fprintf(stderr,
                "pgsafe %s: %s must be a number of 0 or more (0 turns the check off), like 10000000 or 1e7, "
                "not \"%s\"\n",
                config->command, source, value);
        return false;
    }
    *out = number;
    return true;
}

static bool set_max_cost(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    return estimate_limit(config, value, source, &config->server.db.max_cost);
}

static bool set_max_plan_rows(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    return estimate_limit(config, value, source, &config->server.db.max_plan_rows);
}

static bool set_max_in_flight(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long count;
    if (!number(config, value, source, 1, 4096, &count))
        return false;
    config->server.max_in_flight = (size_t)count;
    return true;
}

static bool set_max_sql_bytes(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long bytes;
    if (!number(config, value, source, 1024, 1 << 20, &bytes))
        return false;
    config->server.policy.max_sql_bytes = (size_t)bytes;
    return true;
}

static bool set_pool_size(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long size;
    if (!number(config, value, source, 1, 64, &size))
        return false;
    config->server.db.pool_size = (int)size;
    return true;
}

static bool set_schemas(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    assert(config->search_path == NULL && config->visible_schemas == NULL); /* a value option is handed over once */
    if (!cli_config_parse_schemas(value, &config->search_path, &config->visible_schemas)) {
        fprintf(stderr, "pgsafe %s: %s must name at least one schema, e.g. public,sales\n", config->command, source);
        return false;
    }
    config->server.db.search_path = config->search_path;
    config->server.visible_schemas = config->visible_schemas;
    return true;
}

enum {
    LIST_ALLOW_FUNCTION,
    LIST_DENY_FUNCTION,
    LIST_ALLOW_RELATION,
    LIST_DENY_RELATION,
    LIST_HTTP_ORIGIN,
    LIST_DATABASE
};

/* Appends value to the NULL-terminated list at index; false (reported) when it is empty or
 * memory runs out. The list points at value, which outlives the config (argv or parsed). */
static bool list_add(cli_config *config, int index, const char *value, const char *source) {
    assert(index >= 0 && index < CLI_LIST_COUNT);
    if (*value == '\0') {
        fprintf(stderr, "pgsafe %s: %s needs a non-empty name\n", config->command, source);
        return false;
    }
    char **grown = realloc(config->lists[index], (config->list_counts[index] + 2) * sizeof *grown);
    if (grown == NULL) {
        fprintf(stderr, "pgsafe %s: out of memory\n", config->command);
        return false;
    }
    config->lists[index] = grown;
    grown[config->list_counts[index]++] = (char *)value;
    grown[config->list_counts[index]] = NULL;
    return true;
}

static bool add_allowed_function(void *settings, const char *value, const char *source) {
    return list_add(settings, LIST_ALLOW_FUNCTION, value, source);
}

static bool add_denied_function(void *settings, const char *value, const char *source) {
    return list_add(settings, LIST_DENY_FUNCTION, value, source);
}

static bool add_allowed_relation(void *settings, const char *value, const char *source) {
    return list_add(settings, LIST_ALLOW_RELATION, value, source);
}

static bool add_denied_relation(void *settings, const char *value, const char *source) {
    return list_add(settings, LIST_DENY_RELATION, value, source);
}

static bool add_http_origin(void *settings, const char *value, const char *source) {
    return list_add(settings, LIST_HTTP_ORIGIN, value, source);
}

static bool add_database(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    return config->nested || list_add(settings, LIST_DATABASE, value, source);
}

static bool set_database_config(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    if (config->nested)
        return true;
    if (*value == '\0') {
        fprintf(stderr, "pgsafe %s: %s needs a file name\n", config->command, source);
        return false;
    }
    config->database_config_path = value;
    return true;
}

static bool set_http(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    const char *colon = strrchr(value, ':');
    long long port;
    if (colon == NULL || colon == value || !cli_parse_integer(colon + 1, 0, 65535, &port)) {
        fprintf(stderr, "pgsafe %s: %s takes HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, not \"%s\"\n",
                config->command, source, value);
        return false;
    }
    config->http_listen = value;
    return true;
}

static bool set_tokens(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    if (*value == '\0') {
        fprintf(stderr, "pgsafe %s: %s needs a file name\n", config->command, source);
        return false;
    }
    config->tokens_path = value;
    return true;
}

/* The OAuth settings: a non-empty value each; serve checks them together. */
static bool set_oauth(const char **field, void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    if (*value == '\0') {
        fprintf(stderr, "pgsafe %s: %s needs a value\n", config->command, source);
        return false;
    }
    *field = value;
    return true;
}

static bool set_oauth_issuer(void *settings, const char *value, const char *source) {
    return set_oauth(&((cli_config *)settings)->oauth_issuer, settings, value, source);
}

static bool set_oauth_jwks(void *settings, const char *value, const char *source) {
    return set_oauth(&((cli_config *)settings)->oauth_jwks, settings, value, source);
}

static bool set_oauth_audience(void *settings, const char *value, const char *source) {
    return set_oauth(&((cli_config *)settings)->oauth_audience, settings, value, source);
}

static bool set_audit_log(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    if (*value == '\0') {
        fprintf(stderr, "pgsafe %s: %s needs a file name\n", config->command, source);
        return false;
    }
    config->server.audit_log_path = value;
    return true;
}

static bool set_audit_sql(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((cli_config *)settings)->server.audit_sql = true;
    return true;
}

static bool set_audit_required(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((cli_config *)settings)->server.audit_required = true;
    return true;
}

static bool set_log_level(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    int level = mcp_log_level_parse(value);
    if (level < 0) {
        fprintf(stderr, "pgsafe %s: %s must be debug, info, notice, warning or error, not \"%s\"\n", config->command,
                source, value);
        return false;
    }
    config->server.log_level = (mcp_log_level)level;
    return true;
}

static bool set_explain_analyze(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((cli_config *)settings)->server.explain_analyze = true;
    return true;
}

static bool set_allow_xpath(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((cli_config *)settings)->server.policy.allow_xpath = true;
    return true;
}

static bool set_max_value_bytes(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    long long bytes;
    if (!number(config, value, source, 1024, 1LL << 30, &bytes))
        return false;
    config->server.policy.max_value_bytes = (size_t)bytes;
    return true;
}

static bool set_refuse_writable_role(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((cli_config *)settings)->server.refuse_writable_role = true;
    return true;
}

static bool set_tables(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    return cli_policy_set_tables(&config->data_policy, value, config->command, source);
}

static bool set_deny_columns(void *settings, const char *value, const char *source) {
    cli_config *config = settings;
    return cli_policy_set_deny_columns(&config->data_policy, value, config->command, source);
}

static bool set_no_fence(void *settings, const char *value, const char *source) {
    (void)value, (void)source;
    ((cli_config *)settings)->server.no_fence = true;
    return true;
}

/* Every option of serve and doctor. Each has a PGSAFE_* variable: a client's env block can
 * set anything a command line can (tests/unit/test_cli.c holds every row to that). */
static const cli_option options[] = {
    {"--dsn", "PGSAFE_DSN", CLI_VALUE, "DSN",
     "connection string or URL (else DATABASE_URL, else libpq's PG* variables)", set_dsn},
    {"--database", "PGSAFE_DATABASE", CLI_LIST, "NAME=DSN",
     "serve several databases: this one as NAME (letters, digits, _ and -), instead of --dsn; the tools then take "
     "a database argument (none)",
     add_database},
    {"--database-config", "PGSAFE_DATABASE_CONFIG", CLI_VALUE, "FILE",
     "serve the databases of a JSON file: {\"NAME\": \"DSN\"} or {\"NAME\": {\"dsn\": ..., \"tables\": ..., ...}} "
     "with each one's own settings (none)",
     set_database_config},
    {"--max-rows", "PGSAFE_MAX_ROWS", CLI_VALUE, "N", "rows per query result (1000)", set_max_rows},
    {"--statement-timeout", "PGSAFE_STATEMENT_TIMEOUT", CLI_VALUE, "N", "statement timeout in milliseconds (15000)",
     set_statement_timeout},
    {"--max-cost", "PGSAFE_MAX_COST", CLI_VALUE, "N",
     "refuse a query whose planner-estimated total cost is over N, before it runs; 0 is off, 1e7 is fine (10000000)",
     set_max_cost},
    {"--max-plan-rows", "PGSAFE_MAX_PLAN_ROWS", CLI_VALUE, "N",
     "refuse a query whose plan has a step estimated at over N rows, before it runs; 0 is off (1000000000)",
     set_max_plan_rows},
    {"--lock-timeout", "PGSAFE_LOCK_TIMEOUT", CLI_VALUE, "N", "lock timeout in milliseconds (1000)", set_lock_timeout},
    {"--max-result-bytes", "PGSAFE_MAX_RESULT_BYTES", CLI_VALUE, "N",
     "byte budget of one answer's rows, as sent (262144)", set_max_result_bytes},
    {"--max-cell-bytes", "PGSAFE_MAX_CELL_BYTES", CLI_VALUE, "N",
     "bytes kept of one value; longer ones are cut and marked (8192)", set_max_cell_bytes},
    {"--max-message-bytes", "PGSAFE_MAX_MESSAGE_BYTES", CLI_VALUE, "N", "largest incoming JSON-RPC message (4194304)",
     set_max_message_bytes},
    {"--max-in-flight", "PGSAFE_MAX_IN_FLIGHT", CLI_VALUE, "N",
     "requests waiting for their answers at once, 1 to 4096; more get an error (64)", set_max_in_flight},
    {"--max-sql-bytes", "PGSAFE_MAX_SQL_BYTES", CLI_VALUE, "N",
     "longest SQL text the guard checks, 1024 to 1048576 (65536)", set_max_sql_bytes},
    {"--pool-size", "PGSAFE_POOL_SIZE", CLI_VALUE, "N", "database connections, 1 to 64 (2)", set_pool_size},
    {"--schemas", "PGSAFE_SCHEMAS", CLI_VALUE, "LIST",
     "comma-separated schemas: the search_path and what the schema tools show (default: search_path public, every "
     "usable schema shown)",
     set_schemas},
    {"--allow-function", "PGSAFE_ALLOW_FUNCTION", CLI_LIST, "NAME",
     "also allow this function (never one on the deny list)", add_allowed_function},
    {"--deny-function", "PGSAFE_DENY_FUNCTION", CLI_LIST, "NAME", "also deny this function", add_denied_function},
    {"--allow-relation", "PGSAFE_ALLOW_RELATION", CLI_LIST, "NAME",
     "allow a relation denied by default (e.g. pg_settings)", add_allowed_relation},
    {"--deny-relation", "PGSAFE_DENY_RELATION", CLI_LIST, "NAME", "deny this table or view (name or schema.name)",
     add_denied_relation},
    {"--allow-xpath", "PGSAFE_ALLOW_XPATH", CLI_SWITCH, NULL,
     "allow the XPath family (xpath, XMLEXISTS, XMLTABLE), which the statement timeout cannot stop", set_allow_xpath},
    {"--max-value-bytes", "PGSAFE_MAX_VALUE_BYTES", CLI_VALUE, "N",
     "largest value a query may build from constants, e.g. repeat('x', N) (4194304)", set_max_value_bytes},
    {"--tables", "PGSAFE_TABLES", CLI_VALUE, "PATTERNS",
     "the only relations a query may name, e.g. public.*,sales.orders,!public.audit_log (every relation)", set_tables},
    {"--deny-columns", "PGSAFE_DENY_COLUMNS", CLI_VALUE, "PATTERNS",
     "columns no query may read, e.g. users.email,*.ssn,hr.salaries.amount (none)", set_deny_columns},
    {"--no-fence", "PGSAFE_NO_FENCE", CLI_SWITCH, NULL,
     "do not fence database content as untrusted data in text results (trusted pipelines only)", set_no_fence},
    {"--audit-log", "PGSAFE_AUDIT_LOG", CLI_VALUE, "FILE", "append one JSON line per tool call to FILE", set_audit_log},
    {"--audit-sql", "PGSAFE_AUDIT_SQL", CLI_SWITCH, NULL, "put the SQL text in audit lines", set_audit_sql},
    {"--audit-required", "PGSAFE_AUDIT_REQUIRED", CLI_SWITCH, NULL,
     "refuse tool calls while the audit log cannot be written", set_audit_required},
    {"--log-level", "PGSAFE_LOG_LEVEL", CLI_VALUE, "LEVEL",
     "stderr log level: debug, info, notice, warning, error (info)", set_log_level},
    {"--explain-analyze", "PGSAFE_EXPLAIN_ANALYZE", CLI_SWITCH, NULL,
     "let explain run EXPLAIN ANALYZE (read-only, rolled back, time-limited)", set_explain_analyze},
    {"--refuse-writable-role", "PGSAFE_REFUSE_WRITABLE_ROLE", CLI_SWITCH, NULL,
     "exit with status 2 if the role can write", set_refuse_writable_role},
    {"--http", "PGSAFE_HTTP", CLI_VALUE, "ADDRESS",
     "serve Streamable HTTP (POST /mcp, /healthz, /readyz) on ADDRESS, HOST:PORT such as 127.0.0.1:8080, "
     "instead of stdio (none)",
     set_http},
    {"--tokens", "PGSAFE_TOKENS", CLI_VALUE, "FILE",
     "with --http, require a bearer token from FILE, made by pgsafe token add NAME; needed beyond loopback (none)",
     set_tokens},
    {"--oauth-issuer", "PGSAFE_OAUTH_ISSUER", CLI_VALUE, "URL",
     "with --http, accept OAuth JWT access tokens from this issuer (its iss); needs --oauth-jwks and "
     "--oauth-audience (none)",
     set_oauth_issuer},
    {"--oauth-jwks", "PGSAFE_OAUTH_JWKS", CLI_VALUE, "FILE",
     "the issuer's signing keys as a JWKS file, reread when it changes; pgsafe fetches nothing (none)", set_oauth_jwks},
    {"--oauth-audience", "PGSAFE_OAUTH_AUDIENCE", CLI_VALUE, "URI",
     "this server's canonical URI, e.g. https://db.example.com/mcp: a JWT's aud must name it (none)",
     set_oauth_audience},
    {"--http-origin", "PGSAFE_HTTP_ORIGIN", CLI_LIST, "ORIGIN",
     "with --http, also accept requests from this Origin (loopback origins only)", add_http_origin},
};

static const cli_command serve_command = {"serve", options, sizeof options / sizeof *options, NULL};
static const cli_command doctor_command = {"doctor", options, sizeof options / sizeof *options, NULL};

const cli_command *cli_config_command(const char *name) {
    return strcmp(name, "doctor") == 0 ? &doctor_command : &serve_command;
}

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

bool cli_config_parse_schemas(const char *text, char **search_path, char **array) {
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
    cli_databases_free(config);
    for (int i = 0; i < CLI_LIST_COUNT; i++)
        free(config->lists[i]);
    free(config->search_path);
    free(config->visible_schemas);
    cli_policy_free(&config->data_policy);
    cli_options_free(&config->parsed);
    memset(config, 0, sizeof *config);
}

/* Reads one configuration: the server's (nested false) or one database's. */
static int read_config(cli_config *found, int argc, char **argv, bool nested) {
    memset(found, 0, sizeof *found);
    found->nested = nested;
    found->command = argc > 0 ? argv[0] : "serve";
    mcp_config *config = &found->server;
    guard_policy_init(&config->policy);
    db_pool_options_init(&config->db);
    config->max_message_bytes = 4 * 1024 * 1024;
    config->max_in_flight = 64;
    /* The guard runs on the event loop: its worst case for 64 KiB is about 0.2 s, for 1 MiB
     * several seconds (docs/configuration.md, "Limits on size"). */
    config->policy.max_sql_bytes = 64 * 1024;
    config->log_level = MCP_LOG_INFO;
    int status = cli_options_parse(cli_config_command(found->command), found, argc, argv, &found->parsed);
    if (status != 0)
        return status;
    if (found->dsn_source == NULL) { /* neither --dsn nor PGSAFE_DSN */
        const char *dsn = cli_config_dsn_from_environment(&found->dsn_source);
        config->db.conninfo = dsn != NULL ? dsn : "";
    }
    config->policy.allowed_functions = (const char *const *)found->lists[LIST_ALLOW_FUNCTION];
    config->policy.denied_functions = (const char *const *)found->lists[LIST_DENY_FUNCTION];
    config->policy.allowed_relations = (const char *const *)found->lists[LIST_ALLOW_RELATION];
    config->policy.denied_relations = (const char *const *)found->lists[LIST_DENY_RELATION];
    found->http_origins = (const char *const *)found->lists[LIST_HTTP_ORIGIN];
    found->database_items = (const char *const *)found->lists[LIST_DATABASE];
    cli_policy_apply(&found->data_policy, &config->policy);
    /* One limit for both: the guard refuses what it can count from constants, the cost guard
     * what the planner estimates. */
    config->policy.max_plan_rows = config->db.max_plan_rows;
    /* The table and column policy resolves names through the catalog's relations. */
    config->db.load_relations = found->data_policy.tables != NULL || found->data_policy.deny_columns != NULL;
    /* Idle time inside our transaction is only ever ours; keep it short but above the statement's. */
    int statement_timeout = config->db.statement_timeout_ms;
    config->db.idle_in_transaction_ms = statement_timeout < INT_MAX / 4 ? statement_timeout * 2 : INT_MAX / 2;
    if (!nested && (found->database_items || found->database_config_path))
        return cli_databases_read(found, argc, argv);
    return 0;
}

int cli_config_read(cli_config *found, int argc, char **argv) {
    return read_config(found, argc, argv, false);
}

int cli_config_read_database(cli_config *found, int argc, char **argv) {
    return read_config(found, argc, argv, true);
}
