/* Quoting identifiers and literals for SQL the command line prints. Whether a name is a
 * keyword is the grammar's to say: until the guard offers identifier quoting of its own,
 * this asks libpg_query's scanner (the one place outside src/guard that calls it). */
#include "cli/quote.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <stdbool.h>
#include <string.h>

/* True when PostgreSQL's quote_ident would leave name bare: lower-case letters, digits and
 * underscores, not starting with a digit, and no keyword beyond the unreserved ones. */
static bool identifier_is_plain(const char *name) {
    if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    /* Any doubt (a scan error, no memory) means quoting, which is always correct. */
    PgQueryScanResult scanned = pg_query_scan(name);
    bool plain = false;
    if (scanned.error == NULL) {
        PgQuery__ScanResult *tokens =
            pg_query__scan_result__unpack(NULL, scanned.pbuf.len, (const uint8_t *)scanned.pbuf.data);
        if (tokens != NULL) {
            plain = tokens->n_tokens == 1 &&
                    (tokens->tokens[0]->keyword_kind == PG_QUERY__KEYWORD_KIND__NO_KEYWORD ||
                     tokens->tokens[0]->keyword_kind == PG_QUERY__KEYWORD_KIND__UNRESERVED_KEYWORD);
            pg_query__scan_result__free_unpacked(tokens, NULL);
        }
    }
    pg_query_free_scan_result(scanned);
    return plain;
}

void cli_put_identifier(strbuf *out, const char *name) {
    if (identifier_is_plain(name)) {
        strbuf_puts(out, name);
        return;
    }
    strbuf_puts(out, "\"");
    for (const char *c = name; *c; c++)
        strbuf_puts(out, *c == '"' ? "\"\"" : (char[]){*c, '\0'});
    strbuf_puts(out, "\"");
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
