/* `pgsafe token`: manages the bearer tokens of `pgsafe serve --http` (src/mcp/tokens.h). */
#ifndef PGSAFE_CLI_TOKEN_H
#define PGSAFE_CLI_TOKEN_H

/* `pgsafe token add|revoke|list ...`; argv[0] is "token". Returns the exit status: 0, 1 when
 * the file cannot be changed as asked, 2 for a usage error. */
int cli_token_main(int argc, char **argv);

#endif
