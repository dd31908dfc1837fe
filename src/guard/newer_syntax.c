/* Syntax newer than the grammar: when the guard's parser (libpg_query, one PostgreSQL major)
 * rejects text that a newer server accepts, the syntax error says so and names the older
 * form where one exists (IS JSON, SQL/JSON constructors, 1_000 and 0x1F literals). Only the
 * verdict's detail and hint change; the rejection itself stands (fail closed). */
#include <ctype.h>
#include <pg_query.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* True when `word` (lower case) occurs in sql as a whole identifier, in any case. */
static const char *find_word(const char *sql, const char *word) {
    size_t length = strlen(word);
    for (const char *at = sql; *at != '\0'; at++) {
        if (strncasecmp(at, word, length) != 0)
            continue;
        bool starts = at == sql || !(isalnum((unsigned char)at[-1]) || at[-1] == '_');
        bool ends = !(isalnum((unsigned char)at[length]) || at[length] == '_');
        if (starts && ends)
            return at;
    }
    return NULL;
}

/* IS [NOT] JSON */
static bool has_is_json(const char *sql) {
    for (const char *at = find_word(sql, "json"); at != NULL; at = find_word(at + 4, "json")) {
        const char *before = at;
        while (before > sql && isspace((unsigned char)before[-1]))
            before--;
        if ((before - sql >= 2 && strncasecmp(before - 2, "is", 2) == 0) ||
            (before - sql >= 3 && strncasecmp(before - 3, "not", 3) == 0))
            return true;
    }
    return false;
}

/* 1_000, or 0x1F, 0o17, 0b101: number literals PostgreSQL 16 added. */
static bool has_new_number_literal(const char *sql) {
    for (const char *at = sql; *at != '\0'; at++) {
        if (!isdigit((unsigned char)*at) || (at > sql && (isalnum((unsigned char)at[-1]) || at[-1] == '_')))
            continue;
        if (at[0] == '0' && strchr("xXoObB", at[1]) != NULL && at[1] != '\0' && isxdigit((unsigned char)at[2]))
            return true;
        const char *end = at;
        while (isdigit((unsigned char)*end) || (*end == '_' && isdigit((unsigned char)end[1])))
            end++;
        for (const char *c = at; c < end; c++)
            if (*c == '_')
                return true;
        at = end - 1;
    }
    return false;
}

/* What PostgreSQL 15 writes for a newer construct, the first one found in the text. */
static const char *newer_syntax_hint(const char *sql) {
    static const struct {
        const char *word;
        const char *hint;
    } words[] = {
        {"json_table", "for JSON_TABLE use jsonb_to_recordset(doc->'items') AS t(a int, b text) or "
                       "jsonb_array_elements(doc->'items')"},
        {"json_objectagg", "for JSON_OBJECTAGG use jsonb_object_agg(key, value)"},
        {"json_arrayagg", "for JSON_ARRAYAGG use jsonb_agg(value)"},
        {"json_object", "for JSON_OBJECT('a' VALUE 1) use jsonb_build_object('a', 1)"},
        {"json_array", "for JSON_ARRAY(1, 2) use jsonb_build_array(1, 2)"},
        {"json_value", "for JSON_VALUE use doc->>'a' or jsonb_path_query_first(doc, '$.a')"},
        {"json_query", "for JSON_QUERY use doc->'a' or jsonb_path_query_first(doc, '$.a')"},
        {"json_exists", "for JSON_EXISTS use jsonb_path_exists(doc, '$.a')"},
        {"json_scalar", "for JSON_SCALAR use to_jsonb(value)"},
        {"json_serialize", "for JSON_SERIALIZE use doc::text"},
    };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (find_word(sql, words[i].word) != NULL)
            return words[i].hint;
    if (has_is_json(sql))
        return "for x IS JSON use jsonb_typeof(x::jsonb), for example jsonb_typeof(x::jsonb) = 'object' for IS JSON "
               "OBJECT";
    if (has_new_number_literal(sql))
        return "write numbers in decimal without underscores: 1000, not 1_000 or 0x3E8";
    return NULL;
}

/* A syntax error on a server newer than the grammar: say that the server may accept what
 * the guard's parser does not, and point to the older form where one exists. Without a
 * known server (policy.server_version 0) only when the text uses a newer construct. */
void newer_syntax_explain(const char *sql, const guard_policy *policy, guard_verdict *verdict) {
    int grammar = PG_VERSION_NUM / 10000;
    int server = policy->server_version;
    if (verdict->code != GUARD_SYNTAX_ERROR || (server != 0 ? server : guard_builtins_version(0)) <= grammar)
        return;
    const char *specific = newer_syntax_hint(sql);
    if (server == 0 && specific == NULL)
        return; /* no server to speak of, and nothing that looks newer: a plain syntax error */
    const char *constructs = "IS JSON, SQL/JSON constructors (JSON_OBJECT, JSON_ARRAY and their aggregates) and "
                             "1_000 or 0x1F literals";
    if (server == 0 || server >= 17)
        constructs = "JSON_TABLE, JSON_QUERY, JSON_VALUE, JSON_EXISTS, IS JSON, SQL/JSON constructors (JSON_OBJECT, "
                     "JSON_ARRAY and their aggregates) and 1_000 or 0x1F literals";
    char *detail = server != 0 ? str_printf("pgsafe parses PostgreSQL %d syntax; this server is %d: %s are not "
                                            "understood yet",
                                            grammar, server, constructs)
                               : str_printf("pgsafe parses PostgreSQL %d syntax; newer servers also accept %s, "
                                            "which are not understood yet",
                                            grammar, constructs);
    char *hint = specific != NULL ? str_printf("%s; %s", verdict->hint, specific) : NULL;
    if (detail != NULL) {
        free(verdict->detail);
        verdict->detail = detail;
    }
    if (hint != NULL) {
        free(verdict->hint);
        verdict->hint = hint;
    }
}
