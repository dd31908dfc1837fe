/* `pgsafe token add NAME`, `pgsafe token revoke NAME`, `pgsafe token list`: the token file's
 * option row and the three actions. The new token is printed once, on stdout, and never
 * stored; the file keeps its SHA-256 (src/mcp/tokens.c). */
#include "cli/token.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "mcp/tokens.h"

typedef struct token_options {
    const char *file;
    const char *action; /* add, revoke, list */
    const char *name;
    int arguments; /* positional arguments seen */
} token_options;

static bool set_file(void *settings, const char *value, const char *source) {
    token_options *options = settings;
    if (value[0] == '\0') {
        fprintf(stderr, "pgsafe token: %s must name a file\n", source);
        return false;
    }
    options->file = value;
    return true;
}

static bool take_argument(void *settings, const char *argument) {
    token_options *options = settings;
    options->arguments++;
    if (options->arguments == 1) {
        if (strcmp(argument, "add") != 0 && strcmp(argument, "revoke") != 0 && strcmp(argument, "list") != 0) {
            fprintf(stderr, "pgsafe token: unknown action \"%s\": use add, revoke or list (pgsafe token --help)\n",
                    argument);
            return false;
        }
        options->action = argument;
        return true;
    }
    if (options->arguments == 2 && strcmp(options->action, "list") != 0) {
        options->name = argument;
        return true;
    }
    fprintf(stderr, "pgsafe token: unexpected argument \"%s\" (pgsafe token --help)\n", argument);
    return false;
}

static const cli_option rows[] = {
    {"--tokens", "PGSAFE_TOKENS", CLI_VALUE, "FILE",
     "the token file (created by the first add; mode 0600): one identity and the SHA-256 of its token per line",
     set_file},
};

static const cli_command command = {"token", rows, sizeof rows / sizeof *rows, take_argument};

static void usage(FILE *stream) {
    fputs("usage: pgsafe token add NAME --tokens FILE\n"
          "       pgsafe token revoke NAME --tokens FILE\n"
          "       pgsafe token list --tokens FILE\n"
          "\n"
          "Manages the bearer tokens that the HTTP transport of pgsafe serve accepts. add makes a token for\n"
          "the identity NAME (1 to 64 of A-Z, a-z, 0-9, '.', '_', '-') and prints it once: only its SHA-256 is\n"
          "stored. revoke removes NAME; a running server refuses its token from the next request. list prints\n"
          "the identities.\n"
          "\n"
          "options:\n",
          stream);
    cli_options_usage(&command, stream);
}

int cli_token_main(int argc, char **argv) {
    token_options options = {0};
    cli_parsed parsed;
    int status = cli_options_parse(&command, &options, argc, argv, &parsed);
    if (status == 1) {
        usage(stdout);
        cli_options_free(&parsed);
        return 0;
    }
    if (status == 0 && options.action == NULL) {
        fprintf(stderr, "pgsafe token: give an action: add NAME, revoke NAME or list (pgsafe token --help)\n");
        status = 2;
    } else if (status == 0 && options.name == NULL && strcmp(options.action, "list") != 0) {
        fprintf(stderr, "pgsafe token %s: give the identity's NAME\n", options.action);
        status = 2;
    } else if (status == 0 && options.file == NULL) {
        fprintf(stderr, "pgsafe token: give the token file with --tokens FILE (or PGSAFE_TOKENS)\n");
        status = 2;
    }
    if (status != 0) {
        cli_options_free(&parsed);
        return status;
    }
    char *error = NULL;
    if (strcmp(options.action, "add") == 0) {
        char *token = NULL;
        if (token_add(options.file, options.name, &token, &error)) {
            printf("%s\n", token);
            fprintf(stderr, "pgsafe token: added \"%s\" to %s; the token above is shown only now\n", options.name,
                    options.file);
            free(token);
        } else {
            status = 1;
        }
    } else if (strcmp(options.action, "revoke") == 0) {
        if (token_revoke(options.file, options.name, &error))
            fprintf(stderr, "pgsafe token: revoked \"%s\" in %s\n", options.name, options.file);
        else
            status = 1;
    } else {
        token_store *store = token_store_load(options.file, &error);
        if (store == NULL)
            status = 1;
        for (size_t i = 0; store && i < token_store_count(store); i++)
            printf("%s\n", token_store_name(store, i));
        token_store_free(store);
    }
    if (error) {
        fprintf(stderr, "pgsafe token: %s\n", error);
        free(error);
    }
    cli_options_free(&parsed);
    return status;
}
