/* SQL quoting for what the command line prints for people to run (setup-sql's script,
 * doctor's fixes): identifiers as PostgreSQL's quote_ident writes them, string literals as
 * PQescapeLiteral does. Appending functions leave a failed allocation in the strbuf
 * (strbuf_take then returns NULL). */
#ifndef PGSAFE_CLI_QUOTE_H
#define PGSAFE_CLI_QUOTE_H

#include "util/strings.h"

/* Appends name bare when quote_ident would leave it bare, else in double quotes with each
 * double quote doubled. */
void cli_put_identifier(strbuf *out, const char *name);

/* Appends a literal that reads the same whatever standard_conforming_strings says: '...'
 * with quotes doubled, or E'...' with doubled backslashes when there is a backslash. */
void cli_put_literal(strbuf *out, const char *text);

/* A newly allocated quoted identifier (caller frees), or NULL when out of memory. */
char *cli_quote_identifier(const char *name);

#endif
