/* `pgsafe doctor`: serve's configuration (cli/config.c), one connection made as the pool
 * makes its own, the posture and catalog queries the pool runs, a few more facts, and a
 * verdict. What is unsound (exit 1): no connection, a superuser, a role that can write
 * (pgsafe's own definition, db_posture), membership in a role that reads or writes server
 * files or runs programs, a catalog that does not load, an audit log serve could not open
 * (serve would exit 2). What is only a warning: no TLS over
 * TCP to another host, sessions that do not start read-only, a connection limit below the
 * pool size, a --schemas entry the role cannot use, a role that can read no table. */
#include "cli/doctor.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/config.h"
#include "cli/quote.h"
#include "cli/session.h"
#include "db/catalog.h"
#include "util/strings.h"

#ifndef PGSAFE_VERSION
#define PGSAFE_VERSION "0.0.0"
#endif

void cli_doctor_usage(FILE *stream) {
    fputs("usage: pgsafe doctor [serve's options]\n"
          "\n"
          "Connects as `pgsafe serve` would, with the same options, environment and DSN, and prints what\n"
          "the deployment can do: the server, the role's posture (superuser, write privileges, server\n"
          "file access, default_transaction_read_only), TLS, the limits in force and the function\n"
          "catalog; then each problem with its fix, and a verdict. Run it before wiring up a client.\n"
          "Exit status: 0 sound (warnings allowed), 1 not sound, 2 bad option.\n"
          "\n"
          "options (the same as serve's; each also from the environment variable shown; a flag wins):\n",
          stream);
    cli_options_usage(cli_config_command("doctor"), stream);
    fputs("\n"
          "The connection comes from --dsn, PGSAFE_DSN or DATABASE_URL, else from PGHOST, PGPORT, PGUSER,\n"
          "PGDATABASE, PGPASSWORD and the other libpq variables. See docs/read-only-role.md.\n",
          stream);
}

/* Problems and warnings, each "what; fix: how", printed after the report. */
typedef struct findings {
    strbuf problems;
    strbuf warnings;
    int problem_count;
    int warning_count;
} findings;

static void problem(findings *found, const char *text) {
    strbuf_printf(&found->problems, "problem: %s\n", text);
    found->problem_count++;
}

static void warning(findings *found, const char *text) {
    strbuf_printf(&found->warnings, "warning: %s\n", text);
    found->warning_count++;
}

/* Formats and records a problem (is_problem) or a warning. */
__attribute__((format(printf, 3, 4))) static void note(findings *found, bool is_problem, const char *format, ...) {
    char text[1024];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    if (is_problem)
        problem(found, text);
    else
        warning(found, text);
}

/* The server-file roles current_user holds, counted as the posture counts memberships. */
#define FILE_ROLES_SQL                                                                                                 \
    "SELECT pg_catalog.string_agg(g, ', ' ORDER BY g)"                                                                 \
    "  FROM pg_catalog.unnest(ARRAY['pg_read_server_files', 'pg_write_server_files',"                                  \
    "                               'pg_execute_server_program']) g"                                                   \
    " WHERE " CATALOG_HOLDS_ROLE_SQL("g")

/* One row of facts beyond the posture, each column text. */
static const char facts_sql[] =
    "SELECT (" FILE_ROLES_SQL "),"
    "       pg_catalog.current_setting('default_transaction_read_only'),"
    "       (SELECT r.rolconnlimit::text FROM pg_catalog.pg_roles r WHERE r.rolname = current_user),"
    "       (SELECT pg_catalog.count(*)::text FROM pg_catalog.pg_class c"
    "          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    "         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname !~ '^pg_'"
    "           AND n.nspname <> 'information_schema' AND pg_catalog.has_table_privilege(c.oid, 'SELECT')),"
    "       (SELECT pg_catalog.string_agg(s, ', ') FROM pg_catalog.unnest($1::text[]) s"
    "         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n"
    "                            WHERE n.nspname = s AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')))";

static const char *yes_no(bool value) {
    return value ? "yes" : "no";
}

static void print_list(const char *label, const char *const *items, const char *none) {
    printf("  %-22s", label);
    if (items == NULL || items[0] == NULL) {
        printf("%s\n", none);
        return;
    }
    for (size_t i = 0; items[i]; i++)
        printf("%s%s", i ? ", " : "", items[i]);
    printf("\n");
}

/* The limits and lists in force, as serve would apply them. */
static void print_limits(const cli_config *config) {
    const mcp_config *server = &config->server;
    printf("limits:\n");
    printf("  %-22s%lld\n", "max rows:", server->policy.max_rows);
    printf("  %-22s%zu\n", "max result bytes:", server->db.max_result_bytes);
    printf("  %-22s%zu\n", "max cell bytes:", server->db.max_cell_bytes);
    printf("  %-22s%d ms\n", "statement timeout:", server->db.statement_timeout_ms);
    printf("  %-22s%d ms\n", "lock timeout:", server->db.lock_timeout_ms);
    printf("  %-22s%d ms\n", "idle in transaction:", server->db.idle_in_transaction_ms);
    printf("  %-22s%d\n", "pool size:", server->db.pool_size);
    printf("  %-22s%s%s\n", "search_path:", server->db.search_path,
           server->visible_schemas ? "" : " (the schema tools show every usable schema)");
    print_list("allowed functions:", server->policy.allowed_functions, "none beyond the built-in list");
    print_list("denied functions:", server->policy.denied_functions, "none beyond the built-in deny list");
    print_list("allowed relations:", server->policy.allowed_relations, "none beyond the default");
    print_list("denied relations:", server->policy.denied_relations, "none beyond the default");
    printf("  %-22s%s\n", "audit log:", server->audit_log_path ? server->audit_log_path : "off");
    printf("  %-22s%s\n", "explain analyze:", server->explain_analyze ? "allowed" : "not allowed");
    printf("  %-22s%s\n", "refuse writable role:", yes_no(server->refuse_writable_role));
}

/* A socket or a loopback address: traffic that never leaves the machine. */
static bool is_local_host(const char *host) {
    return host == NULL || *host == '\0' || host[0] == '/' || strcmp(host, "localhost") == 0 ||
           strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/* Prints whether the connection is encrypted; unencrypted TCP to another host is a warning. */
static void report_tls(PGconn *conn, findings *found) {
    const char *host = PQhost(conn);
    if (PQsslInUse(conn)) {
        const char *protocol = PQsslAttribute(conn, "protocol"), *cipher = PQsslAttribute(conn, "cipher");
        printf("TLS:          in use (%s, %s)\n", protocol ? protocol : "?", cipher ? cipher : "?");
    } else if (host != NULL && host[0] == '/') {
        printf("TLS:          not used (Unix socket)\n");
    } else if (is_local_host(host)) {
        printf("TLS:          not used (TCP to this machine)\n");
    } else {
        printf("TLS:          not used (TCP to %s)\n", host);
        note(found, false,
             "the connection to %s is not encrypted; fix: add sslmode=verify-full (and sslrootcert) to the DSN", host);
    }
}

/* The role's memberships, session defaults, connection limit and reach (facts_sql), each
 * printed and, when it needs fixing, noted with the fix; role_sql is the role quoted for
 * those fixes. False when the query failed (noted as a problem). */
static bool report_settings(PGconn *conn, const cli_config *config, const db_posture *posture, const char *role_sql,
                            findings *found) {
    const char *role = posture->role ? posture->role : "?";
    const char *schemas = config->server.visible_schemas ? config->server.visible_schemas : "{}";
    db_result *rows = cli_session_query(conn, facts_sql, 1, &schemas);
    if (rows == NULL || rows->status != DB_OK || rows->row_count != 1) {
        note(found, true, "the role's memberships and settings could not be read: %s; fix: check the role",
             rows && rows->message ? rows->message : "unexpected rows");
        db_result_free(rows);
        return false;
    }
    const char *file_roles = db_result_cell(rows, 0, 0)->value, *read_only = db_result_cell(rows, 0, 1)->value,
               *limit = db_result_cell(rows, 0, 2)->value, *readable = db_result_cell(rows, 0, 3)->value,
               *unusable = db_result_cell(rows, 0, 4)->value;
    printf("  %-22s%s%s\n", "server files:", file_roles ? "yes: member of " : "no",
           file_roles ? file_roles : " (pg_read_server_files, pg_write_server_files, pg_execute_server_program)");
    if (file_roles && !posture->superuser)
        note(found, true,
             "role \"%s\" is a member of %s, so it can read or write server files or run programs; fix: REVOKE %s "
             "FROM %s",
             role, file_roles, file_roles, role_sql);
    printf("  %-22s%s\n", "starts read-only:", read_only && strcmp(read_only, "on") == 0 ? "yes" : "no");
    if (!(read_only && strcmp(read_only, "on") == 0) && !posture->superuser)
        note(found, false,
             "sessions of role \"%s\" do not start read-only (pgsafe's own transactions do); fix: ALTER ROLE %s SET "
             "default_transaction_read_only = on",
             role, role_sql);
    long connection_limit = limit ? strtol(limit, NULL, 10) : -1;
    if (connection_limit < 0)
        printf("  %-22s%s\n", "connection limit:", "none");
    else
        printf("  %-22s%ld\n", "connection limit:", connection_limit);
    if (connection_limit >= 0 && connection_limit < config->server.db.pool_size)
        note(found, false,
             "the role's connection limit %ld is below the pool size %d; fix: ALTER ROLE %s CONNECTION "
             "LIMIT %d, or a smaller --pool-size",
             connection_limit, config->server.db.pool_size, role_sql, config->server.db.pool_size + 2);
    printf("  %-22s%s\n", "readable relations:", readable ? readable : "?");
    if (readable && strcmp(readable, "0") == 0)
        note(found, false,
             "role \"%s\" can read no table or view; fix: grant SELECT (pgsafe setup-sql prints the grants)", role);
    if (unusable)
        note(found, false,
             "--schemas names schemas that do not exist or that role \"%s\" may not use: %s; fix: correct --schemas "
             "or GRANT USAGE ON SCHEMA",
             role, unusable);
    db_result_free(rows);
    return true;
}

/* The server, TLS and the role's posture as pgsafe serve finds it, then its settings.
 * False when a query failed (noted as a problem). */
static bool report_role(PGconn *conn, const cli_config *config, findings *found) {
    db_posture posture = {0};
    db_result *rows = cli_session_query(conn, catalog_posture_sql(), 0, NULL);
    bool loaded = rows != NULL && rows->status == DB_OK && catalog_load_posture(&posture, rows);
    if (!loaded) {
        note(found, true, "the role's posture could not be read: %s; fix: check the role's privileges on the catalog",
             rows && rows->message ? rows->message : "unexpected rows");
        db_result_free(rows);
        return false;
    }
    db_result_free(rows);
    const char *role = posture.role ? posture.role : "?";
    /* The role as SQL, for the fixes to paste into psql; its name as the catalog spells it in prose. */
    char *role_sql = cli_quote_identifier(role);
    if (role_sql == NULL) {
        problem(found, "out of memory");
        posture_clear(&posture);
        return false;
    }
    printf("server:       PostgreSQL %s\n", posture.server_version ? posture.server_version : "?");
    report_tls(conn, found);
    printf("role \"%s\" on database \"%s\":\n", role, posture.database ? posture.database : "?");
    printf("  %-22s%s\n", "superuser:", yes_no(posture.superuser));
    printf("  %-22s%s%s%s\n", "can write:", yes_no(posture.can_write), posture.can_write ? ": " : "",
           posture.can_write && posture.write_reasons ? posture.write_reasons : "");
    if (posture.superuser)
        note(found, true,
             "role \"%s\" is a superuser; fix: connect as a read-only role (pgsafe setup-sql prints the SQL that "
             "creates one)",
             role);
    else if (posture.can_write)
        note(found, true,
             "role \"%s\" can write (%s); fix: revoke those privileges, or connect as a read-only role (pgsafe "
             "setup-sql prints the SQL that creates one)",
             role, posture.write_reasons ? posture.write_reasons : "?");

    bool ok = report_settings(conn, config, &posture, role_sql, found);
    free(role_sql);
    posture_clear(&posture);
    return ok;
}

/* Loads the function catalog as the pool does at its first connection and prints its size;
 * a catalog that does not load is a problem (serve would never become ready). */
static void report_catalog(PGconn *conn, findings *found) {
    db_result *rows = cli_session_query(conn, catalog_load_sql(), 0, NULL);
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    if (catalog != NULL && rows != NULL && catalog_load(catalog, &posture, rows)) {
        printf("function catalog: loaded (%zu functions, %zu operators, %zu types outside pg_catalog)\n",
               catalog_count(catalog, 'f'), catalog_count(catalog, 'o'), catalog_count(catalog, 't'));
        printf("hidden-function hazards: %zu\n", posture.hazard_count);
        /* A global hazard refuses every query: serve would be useless until it is removed. */
        char *hazards = posture_hazard_warning(&posture);
        if (hazards != NULL)
            note(found, posture.hazard_global,
                 "%s; fix: mark the function STABLE if it is harmless, or remove the object", hazards);
        free(hazards);
    } else {
        printf("function catalog: not loaded\n");
        note(found, true,
             "the function catalog did not load (%s), so serve would not become ready; fix: check that the role may "
             "read pg_proc, pg_type and pg_operator",
             rows && rows->message ? rows->message : "unexpected rows");
    }
    posture_clear(&posture);
    catalog_free(catalog);
    db_result_free(rows);
}

/* Columns and relations outside the system schemas that the role can read, for the data
 * owner's policy: schema, relation, column (NULL for a relation the role can read at all). */
static const char readable_sql[] =
    "SELECT n.nspname, c.relname, a.attname::text FROM pg_catalog.pg_class c"
    "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    "  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
    "   AND pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT')"
    " ORDER BY 1, 2, a.attnum";

/* Under --tables or --deny-columns: what the role could read that the policy hides. pgsafe
 * holds the policy either way; a role limited to the same columns holds it by itself too. */
static void report_policy(PGconn *conn, const cli_config *config, findings *found) {
    const guard_policy *policy = &config->server.policy;
    if (policy->table_patterns == NULL && policy->denied_columns == NULL)
        return;
    db_result *rows = cli_session_query(conn, readable_sql, 0, NULL);
    if (rows == NULL || rows->status != DB_OK) {
        note(found, false, "the readable columns could not be listed (%s)",
             rows && rows->message ? rows->message : "?");
        db_result_free(rows);
        return;
    }
    size_t denied = 0, hidden = 0;
    strbuf examples = {0};
    const char *last_schema = NULL, *last_table = NULL;
    for (size_t row = 0; row < rows->row_count; row++) {
        const char *schema = db_result_cell(rows, row, 0)->value;
        const char *table = db_result_cell(rows, row, 1)->value;
        const char *column = db_result_cell(rows, row, 2)->value;
        bool same_relation = last_schema && strcmp(last_schema, schema) == 0 && strcmp(last_table, table) == 0;
        last_schema = schema, last_table = table;
        if (!guard_relation_visible(policy, schema, table)) {
            hidden += !same_relation;
            continue;
        }
        if (guard_column_denied(policy, schema, table, column)) {
            if (denied++ < 5)
                strbuf_printf(&examples, "%s%s.%s.%s", denied > 1 ? ", " : "", schema, table, column);
        }
    }
    char *listed = strbuf_take(&examples);
    printf("  %-22s%zu (%s)\n", "denied but readable:", denied, denied && listed ? listed : "none");
    printf("  %-22s%zu\n", "hidden but readable:", hidden);
    if (denied > 0 || hidden > 0)
        note(found, false,
             "the role can read %zu column%s the policy denies and %zu relation%s outside --tables; pgsafe holds the "
             "policy, but the role alone does not; fix: grant only the allowed columns (pgsafe setup-sql --tables ... "
             "--deny-columns ... prints the GRANTs)",
             denied, denied == 1 ? "" : "s", hidden, hidden == 1 ? "" : "s");
    free(listed);
    db_result_free(rows);
}

/* Whether serve could append to its audit log, found without creating or writing it: an
 * existing file must be writable, a new one needs a writable directory. */
static void report_audit_log(const char *path, findings *found) {
    if (path == NULL)
        return;
    const char *fix = "fix: give --audit-log (PGSAFE_AUDIT_LOG) a file pgsafe's user can write, in a directory "
                      "that exists";
    struct stat status;
    if (stat(path, &status) == 0) {
        if (S_ISDIR(status.st_mode))
            note(found, true, "the audit log %s is a directory (serve would exit 2); %s", path, fix);
        else if (access(path, W_OK) != 0)
            note(found, true, "the audit log %s cannot be written: %s (serve would exit 2); %s", path, strerror(errno),
                 fix);
        return;
    }
    if (errno != ENOENT) {
        note(found, true, "the audit log %s cannot be opened: %s (serve would exit 2); %s", path, strerror(errno), fix);
        return;
    }
    char *copy = strdup(path);
    if (copy == NULL) {
        problem(found, "out of memory checking the audit log");
        return;
    }
    const char *directory = dirname(copy);
    if (stat(directory, &status) != 0 || !S_ISDIR(status.st_mode))
        note(found, true, "the audit log's directory %s does not exist (serve would exit 2); %s", directory, fix);
    else if (access(directory, W_OK | X_OK) != 0)
        note(found, true, "the audit log %s cannot be created in %s: %s (serve would exit 2); %s", path, directory,
             strerror(errno), fix);
    free(copy);
}

/* Runs the checks inside one read-only transaction under serve's statement timeout. */
static void examine(PGconn *conn, const cli_config *config, findings *found) {
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%d", config->server.db.statement_timeout_ms);
    const char *params[] = {timeout};
    db_result *begin = cli_session_query(conn, "BEGIN READ ONLY", 0, NULL);
    db_result *settings =
        cli_session_query(conn, "SELECT pg_catalog.set_config('statement_timeout', $1, true)", 1, params);
    bool ok = begin && begin->status == DB_OK && settings && settings->status == DB_OK;
    if (!ok)
        note(found, true, "a read-only transaction could not start: %s; fix: check the server's log",
             begin && begin->message         ? begin->message
             : settings && settings->message ? settings->message
                                             : "?");
    db_result_free(begin);
    db_result_free(settings);
    if (ok && report_role(conn, config, found)) {
        report_policy(conn, config, found);
        report_catalog(conn, found);
    }
    db_result_free(cli_session_query(conn, "ROLLBACK", 0, NULL));
}

/* The connection, checks and limits of one database, then its problems and warnings. The
 * counts add up in *total. */
static void doctor_database(const cli_config *config, findings *total) {
    findings found = {0};
    char *error = NULL;
    PGconn *conn = cli_session_open(config->server.db.conninfo, config->server.db.connect_timeout_seconds, &error);
    const char *source = config->dsn_source ? config->dsn_source : "libpq's PG* variables";
    if (conn == NULL) {
        printf("connection:   failed (settings from %s)\n", source);
        note(&found, true,
             "cannot connect: %s; fix: check --dsn (or PGSAFE_DSN, DATABASE_URL, PGHOST, PGPORT, PGUSER, "
             "PGDATABASE, PGPASSWORD) and that the server is running",
             error ? error : "?");
        free(error);
    } else {
        char *endpoint = cli_session_endpoint(conn);
        printf("connection:   %s (settings from %s)\n", endpoint ? endpoint : "?", source);
        free(endpoint);
        examine(conn, config, &found);
        PQfinish(conn);
    }
    print_limits(config);
    char *problems = strbuf_take(&found.problems), *warnings = strbuf_take(&found.warnings);
    fputs(problems ? problems : "", stdout);
    fputs(warnings ? warnings : "", stdout);
    free(problems);
    free(warnings);
    total->problem_count += found.problem_count;
    total->warning_count += found.warning_count;
}

int cli_doctor_main(int argc, char **argv) {
    cli_config config;
    int status = cli_config_read(&config, argc, argv);
    if (status != 0) {
        if (status == 1)
            cli_doctor_usage(stdout);
        cli_config_free(&config);
        return status == 1 ? 0 : 2;
    }
    findings found = {0};
    printf("pgsafe doctor: pgsafe %s\n", PGSAFE_VERSION);
    if (config.database_count == 0)
        doctor_database(&config, &found);
    for (size_t i = 0; i < config.database_count; i++) {
        printf("%sdatabase \"%s\":\n", i ? "\n" : "", config.databases[i].name);
        doctor_database(&config.database_configs[i], &found);
    }
    report_audit_log(config.server.audit_log_path, &found);
    char *problems = strbuf_take(&found.problems), *warnings = strbuf_take(&found.warnings);
    fputs(problems ? problems : "", stdout);
    fputs(warnings ? warnings : "", stdout);
    free(problems);
    free(warnings);
    if (found.problem_count > 0)
        printf("verdict: not sound: %d problem%s, %d warning%s\n", found.problem_count,
               found.problem_count == 1 ? "" : "s", found.warning_count, found.warning_count == 1 ? "" : "s");
    else
        printf("verdict: sound%s\n", found.warning_count ? " (see the warnings)" : "");
    fflush(stdout);
    cli_config_free(&config);
    return found.problem_count > 0 ? 1 : 0;
}
