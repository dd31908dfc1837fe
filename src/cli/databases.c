/* Several databases behind one server (cli/config.h). Each database's configuration is
 * read by the option table itself, from an argument vector made of the server's own
 * arguments (less the database options), "--dsn=DSN", and the database's own settings as
 * "--name=value" flags after them: a value setting of the database wins (the last value
 * given wins), a list setting adds to the server's. */

#include "cli/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/json_file.h"
#include "util/strings.h"

#define NAME_MAX_LENGTH 63

/* Options that hold for the whole server: a database's own settings may not name them. */
static const char *const server_wide[] = {"database",          "database-config", "http",           "tokens",
                                          "oauth-issuer",      "oauth-jwks",      "oauth-audience", "http-origin",
                                          "audit-log",         "audit-sql",       "audit-required", "log-level",
                                          "max-message-bytes", "max-in-flight",   "no-fence",       NULL};

/* One database as configured, before its configuration is read. */
typedef struct entry {
    char *name;
    char *dsn;
    json_object *settings; /* its own settings (borrowed from the file's document), or NULL */
} entry;

/* The databases found so far, and what messages name. */
typedef struct reading {
    cli_config *config;
    entry entries[MCP_MAX_DATABASES];
    size_t count;
    const char *command;
} reading;

/* Keeps text for as long as the configuration lives; NULL when memory runs out. */
static char *keep(cli_config *config, char *text) {
    if (text == NULL)
        return NULL;
    char **grown = realloc(config->database_strings, (config->database_string_count + 1) * sizeof *grown);
    if (grown == NULL) {
        free(text);
        return NULL;
    }
    config->database_strings = grown;
    grown[config->database_string_count++] = text;
    return text;
}

static bool valid_name(const char *name, size_t length) {
    if (length == 0 || length > NAME_MAX_LENGTH || !isalpha((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return false;
    return true;
}

/* Adds a database named name (length bytes) with dsn; false after reporting. */
static bool add_entry(reading *state, const char *name, size_t length, const char *dsn, json_object *settings,
                      const char *source) {
    if (!valid_name(name, length)) {
        fprintf(stderr,
                "pgsafe %s: %s: \"%.*s\" is not a database name: use 1 to %d letters, digits, _ and -, starting with "
                "a letter\n",
                state->command, source, (int)length, name, NAME_MAX_LENGTH);
        return false;
    }
    for (size_t i = 0; i < state->count; i++)
        if (strlen(state->entries[i].name) == length && memcmp(state->entries[i].name, name, length) == 0) {
            fprintf(stderr, "pgsafe %s: %s: the database name \"%.*s\" is given twice\n", state->command, source,
                    (int)length, name);
            return false;
        }
    if (state->count == MCP_MAX_DATABASES) {
        fprintf(stderr, "pgsafe %s: %s: at most %d databases can be served by one server\n", state->command, source,
                MCP_MAX_DATABASES);
        return false;
    }
    if (*dsn == '\0') {
        fprintf(stderr, "pgsafe %s: %s: database \"%.*s\" needs a connection string\n", state->command, source,
                (int)length, name);
        return false;
    }
    entry *added = &state->entries[state->count];
    added->name = keep(state->config, strndup(name, length));
    added->dsn = keep(state->config, strdup(dsn));
    added->settings = settings;
    if (added->name == NULL || added->dsn == NULL) {
        fprintf(stderr, "pgsafe %s: out of memory\n", state->command);
        return false;
    }
    state->count++;
    return true;
}

/* The --database NAME=DSN items. */
static bool read_items(reading *state) {
    for (const char *const *item = state->config->database_items; item && *item; item++) {
        const char *equals = strchr(*item, '=');
        if (equals == NULL) {
            fprintf(stderr,
                    "pgsafe %s: --database takes NAME=DSN, e.g. sales=postgres://reader@db/sales, not \"%s\" (in "
                    "PGSAFE_DATABASES, a comma separates databases: give a DSN holding a comma with "
                    "--database-config)\n",
                    state->command, *item);
            return false;
        }
        if (!add_entry(state, *item, (size_t)(equals - *item), equals + 1, NULL, "--database"))
            return false;
    }
    return true;
}

/* The databases of the --database-config document (an object of name -> DSN or settings). */
static bool read_document(reading *state, json_object *document) {
    const char *path = state->config->database_config_path;
    if (!json_object_is_type(document, json_type_object) || json_object_object_length(document) == 0) {
        fprintf(stderr, "pgsafe %s: %s must be a JSON object naming at least one database\n", state->command, path);
        return false;
    }
    json_object_object_foreach(document, name, value) {
        json_object *dsn = value, *settings = NULL;
        if (json_object_is_type(value, json_type_object)) {
            settings = value;
            if (!json_object_object_get_ex(value, "dsn", &dsn))
                dsn = NULL;
        }
        if (dsn == NULL || !json_object_is_type(dsn, json_type_string)) {
            fprintf(stderr,
                    "pgsafe %s: %s: database \"%s\" needs its connection string: \"%s\": \"DSN\" or "
                    "\"%s\": {\"dsn\": \"DSN\", ...}\n",
                    state->command, path, name, name, name);
            return false;
        }
        if (!add_entry(state, name, strlen(name), json_object_get_string(dsn), settings, path))
            return false;
    }
    return true;
}

static bool is_server_wide(const char *key) {
    for (const char *const *name = server_wide; *name; name++)
        if (strcmp(*name, key) == 0)
            return true;
    return false;
}

/* Appends "--key=text" to the argument vector; false when memory runs out. */
static bool push_flag(cli_config *config, char **arguments, int *count, const char *key, const char *text) {
    char *flag = keep(config, text ? str_printf("--%s=%s", key, text) : str_printf("--%s", key));
    if (flag == NULL)
        return false;
    arguments[(*count)++] = flag;
    return true;
}

/* A database's deny-columns as given, or after the server's own: a column the server denies
 * stays denied in every database (the option itself keeps only its last value). NULL when
 * memory runs out. */
static const char *deny_columns_text(reading *state, const char *own) {
    char **server = state->config->data_policy.deny_columns;
    if (server == NULL)
        return own;
    strbuf joined = {0};
    for (size_t i = 0; server[i] != NULL; i++) {
        strbuf_puts(&joined, server[i]);
        strbuf_puts(&joined, ",");
    }
    strbuf_puts(&joined, own);
    return keep(state->config, strbuf_take(&joined));
}

/* One setting of a database as flags; false after reporting. */
static bool push_setting(reading *state, const entry *database, const char *key, json_object *value, char **arguments,
                         int *count) {
    const char *path = state->config->database_config_path;
    char flag[96];
    snprintf(flag, sizeof flag, "--%s", key);
    const cli_option *option = cli_options_find(cli_config_command(state->command), flag, strlen(flag));
    if (option == NULL || is_server_wide(key)) {
        fprintf(stderr,
                "pgsafe %s: %s: database \"%s\": \"%s\" %s; a database's own settings are serve's options "
                "without \"--\" (tables, deny-columns, max-rows, ...), and the server-wide ones (%s) are given "
                "once, as flags\n",
                state->command, path, database->name, key,
                option == NULL ? "is no setting" : "holds for the whole server",
                "http, tokens, oauth-*, http-origin, audit-*, log-level, max-message-bytes, max-in-flight, no-fence");
        return false;
    }
    bool ok = true;
    if (option->kind == CLI_SWITCH && json_object_is_type(value, json_type_boolean) && json_object_get_boolean(value))
        ok = push_flag(state->config, arguments, count, key, NULL);
    else if (option->kind == CLI_LIST && json_object_is_type(value, json_type_array))
        for (size_t i = 0; ok && i < json_object_array_length(value); i++) {
            json_object *item = json_object_array_get_idx(value, i);
            if (!json_object_is_type(item, json_type_string))
                goto wrong_type;
            ok = push_flag(state->config, arguments, count, key, json_object_get_string(item));
        }
    else if (strcmp(key, "deny-columns") == 0 && json_object_is_type(value, json_type_string)) {
        const char *text = deny_columns_text(state, json_object_get_string(value));
        ok = text != NULL && push_flag(state->config, arguments, count, key, text);
    } else if (option->kind != CLI_SWITCH &&
               (json_object_is_type(value, json_type_string) || json_object_is_type(value, json_type_int) ||
                json_object_is_type(value, json_type_double)))
        ok = push_flag(state->config, arguments, count, key, json_object_get_string(value));
    else
        goto wrong_type;
    if (!ok)
        fprintf(stderr, "pgsafe %s: out of memory\n", state->command);
    return ok;
wrong_type:
    fprintf(stderr, "pgsafe %s: %s: database \"%s\": \"%s\" must be %s\n", state->command, path, database->name, key,
            option->kind == CLI_SWITCH ? "true (a database's settings can turn a switch on, not off)"
            : option->kind == CLI_LIST ? "a string or an array of strings"
                                       : "a string or a number");
    return false;
}

/* True for the server's own database options, which one database's reading must not see
 * again; *takes_next when the value is the next argument. */
static bool database_option(const char *argument, bool *takes_next) {
    static const char *const names[] = {"--database", "--database-config"};
    for (size_t i = 0; i < 2; i++) {
        size_t length = strlen(names[i]);
        if (strncmp(argument, names[i], length) == 0 && (argument[length] == '\0' || argument[length] == '=')) {
            *takes_next = argument[length] == '\0';
            return true;
        }
    }
    return false;
}

/* Reads database index's configuration; 0, or 2 after reporting. */
static int read_one(reading *state, size_t index, int argc, char **argv) {
    const entry *database = &state->entries[index];
    size_t room = (size_t)argc + 2 + (database->settings ? 64 + json_object_object_length(database->settings) : 0);
    char **arguments = calloc(room, sizeof *arguments);
    char *dsn_flag = keep(state->config, str_printf("--dsn=%s", database->dsn));
    if (arguments == NULL || dsn_flag == NULL) {
        free(arguments);
        fprintf(stderr, "pgsafe %s: out of memory\n", state->command);
        return 2;
    }
    /* argv[0] first, then the server's arguments, then the DSN and the database's own. */
    int count = 0;
    arguments[count++] = argv[0];
    for (int i = 1; i < argc; i++) {
        bool takes_next = false;
        if (database_option(argv[i], &takes_next))
            i += takes_next ? 1 : 0;
        else
            arguments[count++] = argv[i];
    }
    arguments[count++] = dsn_flag;
    bool ok = true;
    if (database->settings) {
        json_object_object_foreach(database->settings, key, value) {
            if (strcmp(key, "dsn") == 0)
                continue;
            /* An array setting takes one slot per item: make room first. */
            size_t items = json_object_is_type(value, json_type_array) ? json_object_array_length(value) : 1;
            if ((size_t)count + items + 1 > room) {
                char **grown = realloc(arguments, ((size_t)count + items + 1 + 16) * sizeof *grown);
                if (grown == NULL) {
                    ok = false;
                    break;
                }
                arguments = grown;
                room = (size_t)count + items + 1 + 16;
            }
            if (!(ok = push_setting(state, database, key, value, arguments, &count)))
                break;
        }
    }
    cli_config *own = &state->config->database_configs[index];
    int status = ok ? cli_config_read_database(own, count, arguments) : 2;
    free(arguments);
    if (status == 0) /* what doctor reports the connection's settings came from */
        own->dsn_source = database->settings ? state->config->database_config_path : "--database";
    if (status == 1)
        status = 2; /* a database's settings cannot ask for --help */
    if (status != 0 && ok)
        fprintf(stderr, "pgsafe %s: (the setting above is database \"%s\"'s)\n", state->command, database->name);
    return status;
}

int cli_databases_read(cli_config *config, int argc, char **argv) {
    reading state = {.config = config, .command = config->command};
    if (config->dsn_source &&
        (strcmp(config->dsn_source, "--dsn") == 0 || strcmp(config->dsn_source, "PGSAFE_DSN") == 0)) {
        fprintf(stderr,
                "pgsafe %s: %s and --database/--database-config do not go together: name every database with "
                "--database NAME=DSN\n",
                config->command, config->dsn_source);
        return 2;
    }
    json_object *document = NULL;
    if (config->database_config_path) {
        char *error = NULL;
        document = cli_json_file_read(config->database_config_path, &error);
        if (document == NULL) {
            fprintf(stderr, "pgsafe %s: %s\n", config->command, error ? error : "out of memory");
            free(error);
            return 2;
        }
    }
    int status = read_items(&state) && (document == NULL || read_document(&state, document)) ? 0 : 2;
    if (status == 0) {
        config->database_configs = calloc(state.count, sizeof *config->database_configs);
        config->databases = calloc(state.count, sizeof *config->databases);
        if (config->database_configs == NULL || config->databases == NULL) {
            fprintf(stderr, "pgsafe %s: out of memory\n", config->command);
            status = 2;
        }
    }
    for (size_t i = 0; status == 0 && i < state.count; i++) {
        status = read_one(&state, i, argc, argv);
        config->database_count = i + 1; /* each read one is freed, even a failed one */
        config->databases[i] = (mcp_database){state.entries[i].name, &config->database_configs[i].server};
    }
    json_object_put(document);
    long connections = 0;
    for (size_t i = 0; status == 0 && i < config->database_count; i++)
        connections += config->database_configs[i].server.db.pool_size;
    if (status == 0 && connections > MCP_MAX_CONNECTIONS) {
        fprintf(stderr,
                "pgsafe %s: the databases' pools hold %ld connections in all; at most %d: lower pool-size (%s, or "
                "per database)\n",
                config->command, connections, MCP_MAX_CONNECTIONS, "--pool-size");
        status = 2;
    }
    if (status == 0) {
        config->server.databases = config->databases;
        config->server.database_count = config->database_count;
    }
    return status;
}

void cli_databases_free(cli_config *config) {
    for (size_t i = 0; config->database_configs && i < config->database_count; i++)
        cli_config_free(&config->database_configs[i]);
    free(config->database_configs);
    free(config->databases);
    for (size_t i = 0; i < config->database_string_count; i++)
        free(config->database_strings[i]);
    free(config->database_strings);
    config->database_configs = NULL;
    config->databases = NULL;
    config->database_strings = NULL;
    config->database_count = config->database_string_count = 0;
}
