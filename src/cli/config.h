/* The configuration `pgsafe serve` and `pgsafe doctor` share: flags and PGSAFE_* environment
 * variables (a flag wins over its variable), validated into an mcp_config, and the DSN
 * resolution (--dsn, PGSAFE_DSN, DATABASE_URL, else libpq's PG* variables).
 *
 *   cli_config config;
 *   int status = cli_config_read(&config, argc, argv);   // argv[0] names the command
 *   if (status == 0) use(&config.server);
 *   cli_config_free(&config);                            // whatever status was */
#ifndef PGSAFE_CLI_CONFIG_H
#define PGSAFE_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/options.h"
#include "cli/policy.h"
#include "mcp/server.h"

#define CLI_LIST_COUNT 6 /* allow/deny function/relation, HTTP origins, databases */

typedef struct cli_config {
    mcp_config server;                 /* ready for mcp_serve; its strings live as long as this struct */
    const char *command;               /* "serve", "doctor": for messages */
    const char *dsn_source;            /* "--dsn", "PGSAFE_DSN", "DATABASE_URL", or NULL for libpq's PG* variables */
    const char *http_listen;           /* --http HOST:PORT, or NULL for stdio */
    const char *tokens_path;           /* --tokens FILE, or NULL */
    const char *oauth_issuer;          /* --oauth-issuer URL, or NULL */
    const char *oauth_jwks;            /* --oauth-jwks FILE, or NULL */
    const char *oauth_audience;        /* --oauth-audience URI, or NULL */
    const char *const *http_origins;   /* --http-origin values (NULL-terminated), or NULL */
    const char *const *database_items; /* --database NAME=DSN values (NULL-terminated), or NULL */
    const char *database_config_path;  /* --database-config FILE, or NULL */
    bool nested;                       /* one database's configuration: the database options are not its */
    /* Private: what the fields above point into. */
    char **lists[CLI_LIST_COUNT]; /* NULL-terminated; the items point into argv or parsed */
    size_t list_counts[CLI_LIST_COUNT];
    char *search_path;
    char *visible_schemas;
    cli_policy data_policy; /* --tables, --deny-columns */
    cli_parsed parsed;
    struct cli_config *database_configs; /* one per database (cli/databases.h) */
    mcp_database *databases;
    size_t database_count;
    char **database_strings; /* what their argument vectors point into */
    size_t database_string_count;
} cli_config;

/* Reads the environment, then argv[1..] (argv[0] is the command's name, used in messages
 * as "pgsafe NAME: ..."). Returns 0 when config->server is ready, 1 when --help was asked
 * (nothing printed), 2 after reporting a bad option or value on stderr. Call
 * cli_config_free afterwards in every case. */
int cli_config_read(cli_config *config, int argc, char **argv);

/* One database's configuration (cli/databases.c): as cli_config_read, with the database
 * options ignored, so the server's own do not apply again. */
int cli_config_read_database(cli_config *config, int argc, char **argv);

/* Several databases behind one server (--database NAME=DSN, PGSAFE_DATABASES,
 * --database-config FILE), in cli/databases.c. Each database gets a whole configuration of
 * its own, read the way the server's is: the server's flags and variables, then its DSN and
 * its own settings, through the same option table, so a value is checked by the same
 * handler wherever it is written. cli_databases_read reads them (config->database_items and
 * config->database_config_path, argc/argv the server's own arguments) into
 * config->server.databases; it returns 0, or 2 after reporting on stderr what is wrong.
 * cli_databases_free frees what it made. */
int cli_databases_read(cli_config *config, int argc, char **argv);
void cli_databases_free(cli_config *config);

void cli_config_free(cli_config *config);

/* The options of serve and doctor, one row each (every one with its PGSAFE_* variable).
 * name is the command ("serve" or "doctor") that messages and --help name. */
const cli_command *cli_config_command(const char *name);

/* The next name of a comma-separated list such as "public, sales": skips commas and
 * spaces and trims the name's trailing spaces. Returns false when no name is left;
 * *cursor advances past the name. */
bool cli_config_next_name(const char **cursor, const char **name, size_t *length);

/* --schemas "a, b" as the search_path text with each name quoted ("a", "b") and a text[]
 * literal ({"a","b"}), both allocated (caller frees). False, with both NULL, when text names
 * no schema or memory runs out. */
bool cli_config_parse_schemas(const char *text, char **search_path, char **array);

/* The connection setting as serve resolves it without flags: PGSAFE_DSN, then DATABASE_URL;
 * NULL when neither is set (libpq's PG* variables then apply). *source names the variable. */
const char *cli_config_dsn_from_environment(const char **source);

#endif
