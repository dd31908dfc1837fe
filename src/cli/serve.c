/* `pgsafe serve`: the options (cli/config.c), then the MCP server on stdin/stdout. */
#include "cli/serve.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/config.h"
#include "mcp/http.h"
#include "mcp/server.h"
#include "mcp/tokens.h"

void cli_serve_usage(FILE *stream) {
    fputs("usage: pgsafe serve [options]\n"
          "\n"
          "Serves the Model Context Protocol on stdin/stdout (newline-delimited JSON-RPC) for one client, giving\n"
          "it read-only, guarded access to one PostgreSQL database, or to several named with --database. Logs go\n"
          "to stderr. With --http it serves Streamable HTTP instead, for many clients (docs/mcp.md).\n"
          "\n"
          "options (each also from the environment variable shown; a flag wins):\n",
          stream);
    cli_options_usage(cli_config_command("serve"), stream);
    fputs("\n"
          "The connection comes from --dsn, PGSAFE_DSN or DATABASE_URL, else from PGHOST, PGPORT, PGUSER,\n"
          "PGDATABASE, PGPASSWORD and the other libpq variables. Several databases: --database NAME=DSN for\n"
          "each, or --database-config FILE with each one's own settings (docs/configuration.md#several-databases).\n"
          "See docs/configuration.md and docs/clients.md.\n"
          "`pgsafe doctor` takes the same options and reports what this configuration can do.\n",
          stream);
}

/* serve --http: HOST:PORT split (brackets around an IPv6 host dropped), the token file loaded,
 * then the HTTP server. */
static int serve_http(const cli_config *config) {
    const char *colon = strrchr(config->http_listen, ':');
    const char *host = config->http_listen;
    size_t host_length = (size_t)(colon - host);
    if (host_length >= 2 && host[0] == '[' && host[host_length - 1] == ']') {
        host++;
        host_length -= 2;
    }
    char host_text[256];
    if (host_length >= sizeof host_text) {
        fprintf(stderr, "pgsafe serve: the --http host is too long\n");
        return 2;
    }
    memcpy(host_text, host, host_length);
    host_text[host_length] = '\0';
    http_config http;
    http_config_defaults(&http);
    http.host = host_text;
    http.port = (unsigned short)atoi(colon + 1);
    http.origins = config->http_origins;
    http.max_body_bytes = config->server.max_message_bytes;
    http.log_errors = config->server.log_level >= MCP_LOG_DEBUG;
    token_store *tokens = NULL;
    if (config->tokens_path) {
        char *error = NULL;
        tokens = token_store_load(config->tokens_path, &error);
        if (tokens == NULL) {
            fprintf(stderr, "pgsafe serve: %s\n", error ? error : "cannot read the token file");
            free(error);
            return 2;
        }
        if (token_store_count(tokens) == 0)
            fprintf(stderr,
                    "pgsafe: warning: %s holds no token: every request will be refused until one is added "
                    "(pgsafe token add NAME --tokens %s)\n",
                    config->tokens_path, config->tokens_path);
        http.tokens = tokens;
    }
    oauth_validator *oauth = NULL;
    if (config->oauth_issuer || config->oauth_jwks || config->oauth_audience) {
        if (!config->oauth_issuer || !config->oauth_jwks || !config->oauth_audience) {
            fprintf(stderr, "pgsafe serve: OAuth needs --oauth-issuer, --oauth-jwks and --oauth-audience together\n");
            token_store_free(tokens);
            return 2;
        }
        char *error = NULL;
        oauth = oauth_validator_new(config->oauth_issuer, config->oauth_audience, config->oauth_jwks, &error);
        if (oauth == NULL) {
            fprintf(stderr, "pgsafe serve: %s\n", error ? error : "cannot set up OAuth");
            free(error);
            token_store_free(tokens);
            return 2;
        }
        http.oauth = oauth;
    }
    int status = mcp_serve_http(&config->server, &http);
    oauth_validator_free(oauth);
    token_store_free(tokens);
    return status;
}

int cli_serve_main(int argc, char **argv) {
    cli_config config;
    int status = cli_config_read(&config, argc, argv);
    if (status == 1) {
        cli_serve_usage(stdout);
        status = 0;
    } else if (status == 0 && config.http_listen) {
        status = serve_http(&config);
    } else if (status == 0 && (config.tokens_path || config.http_origins || config.oauth_issuer || config.oauth_jwks ||
                               config.oauth_audience)) {
        fprintf(stderr, "pgsafe serve: --tokens, --oauth-* and --http-origin need --http HOST:PORT\n");
        status = 2;
    } else if (status == 0) {
        status = mcp_serve(&config.server, STDIN_FILENO, STDOUT_FILENO);
    }
    cli_config_free(&config);
    return status;
}
