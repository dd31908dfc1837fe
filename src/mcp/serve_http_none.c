/* serve --http in a build without the HTTP transport (PGSAFE_HTTP=OFF, as in the portable
 * binary, whose static link cannot take Debian's libmicrohttpd and GnuTLS): the options
 * parse as everywhere, and serve says plainly that this binary cannot do it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/http.h"
#include "mcp/server.h"

void http_config_defaults(http_config *config) {
    memset(config, 0, sizeof *config);
    config->host = "127.0.0.1";
    config->max_body_bytes = 4u * 1024 * 1024;
}

int mcp_serve_http(const mcp_config *config, const http_config *http) {
    (void)config, (void)http;
    fprintf(stderr, "pgsafe serve: this pgsafe was built without the HTTP transport (the portable binary "
                    "links no libmicrohttpd); serve over stdio, or use the .deb or a source build for --http\n");
    return 2;
}

/* No OAuth without the transport (oauth.c needs libjwt, which the portable link leaves out). */
oauth_validator *oauth_validator_new(const char *issuer, const char *audience, const char *jwks_path, char **error) {
    (void)issuer, (void)audience, (void)jwks_path;
    *error = strdup("this pgsafe was built without the HTTP transport, so without OAuth");
    return NULL;
}

void oauth_validator_free(oauth_validator *validator) {
    (void)validator;
}
