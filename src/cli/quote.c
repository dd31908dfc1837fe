/* Quoting identifiers and literals for SQL the command line prints. Whether a name is a
 * keyword is the grammar's to say: the guard's guard_quote_identifier asks it, so that only
 * the guard links libpg_query. */
#include "cli/quote.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pgsafe/guard.h"

void cli_put_identifier(strbuf *out, const char *name) {
    char *quoted = guard_quote_identifier(name);
    if (quoted == NULL) {
        out->failed = true; /* strbuf_take then returns NULL */
        return;
    }
    strbuf_puts(out, quoted);
    free(quoted);
}

void cli_put_literal(strbuf *out, const char *text) {
    strbuf_puts(out, strchr(text, '\\') ? "E'" : "'");
    for (const char *c = text; *c; c++)
        strbuf_puts(out, *c == '\'' ? "''" : *c == '\\' ? "\\\\" : (char[]){*c, '\0'});
    strbuf_puts(out, "'");
}

char *cli_quote_identifier(const char *name) {
    strbuf out = {0};
    cli_put_identifier(&out, name);
    return strbuf_take(&out);
}
