/* What other layers need from the parser, so that only the guard links libpg_query: a
 * query's fingerprint (the audit log) and identifier quoting as quote_ident does it (the
 * SQL that setup-sql and doctor print). */
#include <assert.h>
#include <pg_query.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool guard_fingerprint(const char *sql, char fingerprint[GUARD_FINGERPRINT_SIZE]) {
    fingerprint[0] = '\0';
    if (sql == NULL)
        return false;
    /* The fingerprint walks the parse tree recursively: the same text bound as a check. */
    guard_verdict ignored = {.code = GUARD_OK, .location = -1};
    bool shallow = depth_check_text(sql, strlen(sql), &ignored);
    verdict_clear(&ignored);
    if (!shallow)
        return false;
    PgQueryFingerprintResult result = pg_query_fingerprint(sql);
    bool ok = result.error == NULL && result.fingerprint_str != NULL &&
              strlen(result.fingerprint_str) == GUARD_FINGERPRINT_SIZE - 1;
    if (ok)
        memcpy(fingerprint, result.fingerprint_str, GUARD_FINGERPRINT_SIZE);
    pg_query_free_fingerprint_result(result);
    return ok;
}

/* True when quote_ident would leave name bare: lower-case ASCII letters, digits and
 * underscores, not starting with a digit, and no keyword beyond the unreserved ones. The
 * scanner knows the grammar's keywords; any doubt (an error, more than one token) means
 * quoting, which is always correct. */
static bool identifier_is_plain(const char *name) {
    if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
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

char *guard_quote_identifier(const char *name) {
    if (name == NULL)
        return NULL;
    if (identifier_is_plain(name))
        return strdup(name);
    size_t quotes = 0;
    for (const char *c = name; *c; c++)
        quotes += *c == '"';
    size_t length = strlen(name);
    char *quoted = malloc(length + quotes + 3);
    if (quoted == NULL)
        return NULL;
    char *out = quoted;
    *out++ = '"';
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            *out++ = '"';
        *out++ = *c;
    }
    *out++ = '"';
    *out = '\0';
    assert((size_t)(out - quoted) == length + quotes + 2);
    return quoted;
}
