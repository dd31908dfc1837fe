/* guard_check: the guard's stages in order. Text checks, parse (libpg_query, protobuf),
 * one statement that is a SELECT, the allow-list walk, the data owner's table and column
 * policy (columns.c), the LIMIT rewrite, rendering as SQL
 * (the statement's own text with the LIMIT appended when that suffices, else the deparsed
 * tree), and a second full check of that text, which must come back unchanged in meaning:
 * the same tree, one SELECT, passing the walk, with the constant LIMIT the rewrite set.
 * Any failure along the way is a rejection (fail closed). */
#include <assert.h>
#include <ctype.h>
#include <pg_query.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "util/strings.h"

static const char *const reason_names[GUARD_REASON_COUNT] = {
    [GUARD_OK] = "ok",
    [GUARD_SYNTAX_ERROR] = "syntax_error",
    [GUARD_EMPTY_QUERY] = "empty_query",
    [GUARD_MULTIPLE_STATEMENTS] = "multiple_statements",
    [GUARD_NOT_SELECT] = "not_select",
    [GUARD_SELECT_INTO] = "select_into",
    [GUARD_LOCKING_CLAUSE] = "locking_clause",
    [GUARD_PARAMETER] = "parameter",
    [GUARD_CONSTRUCT_NOT_ALLOWED] = "construct_not_allowed",
    [GUARD_FUNCTION_DENIED] = "function_denied",
    [GUARD_FUNCTION_VOLATILE] = "function_volatile",
    [GUARD_FUNCTION_UNKNOWN] = "function_unknown",
    [GUARD_OPERATOR_NOT_ALLOWED] = "operator_not_allowed",
    [GUARD_TYPE_NOT_ALLOWED] = "type_not_allowed",
    [GUARD_RELATION_DENIED] = "relation_denied",
    [GUARD_TOO_COMPLEX] = "too_complex",
    [GUARD_INPUT_TOO_LARGE] = "input_too_large",
    [GUARD_INVALID_INPUT] = "invalid_input",
    [GUARD_REWRITE_FAILED] = "rewrite_failed",
    [GUARD_INTERNAL_ERROR] = "internal_error",
    [GUARD_UNINTERRUPTIBLE] = "uninterruptible",
    [GUARD_VALUE_TOO_LARGE] = "value_too_large",
    [GUARD_HIDDEN_FUNCTION] = "hidden_function",
    [GUARD_RELATION_NOT_ALLOWED] = "relation_not_allowed",
    [GUARD_COLUMN_DENIED] = "column_denied",
    [GUARD_POLICY_UNVERIFIABLE] = "policy_unverifiable",
    [GUARD_TOO_COSTLY] = "too_costly",
};

const char *guard_reason_name(guard_reason code) {
    if ((int)code < 0 || code >= GUARD_REASON_COUNT || reason_names[code] == NULL)
        return "unknown";
    return reason_names[code];
}

const char *guard_limit_action_name(guard_limit_action action) {
    switch (action) {
    case GUARD_LIMIT_KEPT: return "kept";
    case GUARD_LIMIT_INJECTED: return "injected";
    case GUARD_LIMIT_CLAMPED: return "clamped";
    case GUARD_LIMIT_WRAPPED: return "wrapped";
    default: return "none";
    }
}

const char *guard_grammar_version(void) {
    return PG_VERSION;
}

int guard_server_major(const char *server_version) {
    if (server_version == NULL || !isdigit((unsigned char)server_version[0]))
        return 0;
    long major = 0;
    for (const char *c = server_version; isdigit((unsigned char)*c) && major < 1000; c++)
        major = major * 10 + (*c - '0');
    return major < 1000 ? (int)major : 0;
}

void guard_policy_init(guard_policy *policy) {
    memset(policy, 0, sizeof *policy);
    policy->max_rows = 1000;
    policy->max_sql_bytes = 1024 * 1024;
    policy->max_value_bytes = GUARD_DEFAULT_MAX_VALUE_BYTES;
    policy->max_plan_rows = GUARD_DEFAULT_MAX_PLAN_ROWS;
}

void guard_result_free(guard_result *result) {
    if (result == NULL)
        return;
    free(result->message);
    free(result->detail);
    free(result->hint);
    free(result->rewritten_sql);
    memset(result, 0, sizeof *result);
}

/* 1-based character position of a byte offset into text (NUL-terminated), as PostgreSQL
 * reports cursor positions; 0 for a negative offset. */
static int character_position(const char *text, int byte_offset) {
    if (byte_offset < 0)
        return 0;
    int characters = 0;
    for (int i = 0; i < byte_offset && text[i] != '\0'; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            characters++;
    return characters + 1;
}

/* Byte offset of a 1-based character position (libpg_query counts characters); -1 if none. */
static int byte_offset_of_character(const char *text, int position) {
    if (position <= 0)
        return -1;
    int characters = 0;
    for (int i = 0; text[i] != '\0'; i++) {
        if (((unsigned char)text[i] & 0xC0) != 0x80 && ++characters == position)
            return i;
    }
    return (int)strlen(text);
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool valid_utf8(const unsigned char *text, size_t length, size_t *bad_offset) {
    size_t i = 0;
    while (i < length) {
        unsigned char lead = text[i];
        size_t extra;
        uint32_t code;
        if (lead < 0x80) {
            i++;
            continue;
        } else if (lead >= 0xC2 && lead <= 0xDF) {
            extra = 1, code = lead & 0x1F;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            extra = 2, code = lead & 0x0F;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            extra = 3, code = lead & 0x07;
        } else {
            *bad_offset = i;
            return false;
        }
        for (size_t k = 1; k <= extra; k++) {
            if (i + k >= length || (text[i + k] & 0xC0) != 0x80) {
                *bad_offset = i;
                return false;
            }
            code = (code << 6) | (text[i + k] & 0x3F);
        }
        if ((extra == 2 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
            (extra == 3 && (code < 0x10000 || code > 0x10FFFF))) {
            *bad_offset = i;
            return false;
        }
        i += extra + 1;
    }
    return true;
}

typedef struct statement_name {
    const char *message_name; /* protobuf-c short name */
    const char *words;        /* as the user wrote it */
} statement_name;

static const statement_name statement_names[] = {
    {"VariableSetStmt", "SET/RESET"},
    {"VariableShowStmt", "SHOW"},
    {"TransactionStmt", "transaction control (BEGIN/COMMIT/ROLLBACK/SAVEPOINT)"},
    {"IndexStmt", "CREATE INDEX"},
    {"ViewStmt", "CREATE VIEW"},
    {"RuleStmt", "CREATE RULE"},
    {"CreateStmt", "CREATE TABLE"},
    {"CreateTableAsStmt", "CREATE TABLE AS"},
    {"VacuumStmt", "VACUUM/ANALYZE"},
    {"DoStmt", "DO"},
    {"ExplainStmt", "EXPLAIN"},
    {"CreateFunctionStmt", "CREATE FUNCTION"},
    {"CopyStmt", "COPY"},
    {"LockStmt", "LOCK"},
    {"ClusterStmt", "CLUSTER"},
    {"CheckPointStmt", "CHECKPOINT"},
};

/* "CreateFunctionStmt" -> "CREATE FUNCTION" unless a better name is listed. A new string
 * the caller frees, or NULL when memory runs out. */
static char *statement_words(const char *message_name) {
    for (size_t i = 0; i < sizeof statement_names / sizeof *statement_names; i++)
        if (strcmp(statement_names[i].message_name, message_name) == 0)
            return strdup(statement_names[i].words);
    size_t length = strlen(message_name);
    if (length > 4 && strcmp(message_name + length - 4, "Stmt") == 0)
        length -= 4;
    char *words = malloc(length * 2 + 1);
    if (words == NULL)
        return NULL;
    size_t out = 0;
    for (size_t i = 0; i < length; i++) {
        if (i > 0 && isupper((unsigned char)message_name[i]))
            words[out++] = ' ';
        words[out++] = (char)toupper((unsigned char)message_name[i]);
    }
    words[out] = '\0';
    return words;
}

/* The hint for a statement that is not a SELECT, by its message name (a static string). */
static const char *statement_hint(const char *message_name) {
    if (strcmp(message_name, "ExplainStmt") == 0)
        return "send the SELECT alone; to see a plan use the explain tool";
    if (strcmp(message_name, "VariableShowStmt") == 0)
        return "use SELECT current_setting('name') for a harmless setting such as server_version";
    if (strcmp(message_name, "TransactionStmt") == 0)
        return "send only the SELECT; pgsafe runs each query in its own read-only transaction";
    return "pgsafe runs read-only SELECT queries only; write a SELECT that reads what you need";
}

/* True when raw holds a SELECT; otherwise false with not_select set, naming the statement. */
static bool check_statement_type(const PgQuery__RawStmt *raw, guard_verdict *verdict) {
    const PgQuery__Node *node = raw->stmt;
    if (node != NULL && node->node_case == PG_QUERY__NODE__NODE_SELECT_STMT)
        return true;
    const ProtobufCFieldDescriptor *field =
        node != NULL ? protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor, node->node_case) : NULL;
    const char *message_name = field != NULL && field->descriptor != NULL
                                   ? ((const ProtobufCMessageDescriptor *)field->descriptor)->short_name
                                   : "Unknown";
    char *words = statement_words(message_name);
    verdict_reject(verdict, GUARD_NOT_SELECT, raw->stmt_location, "pgsafe runs only read-only SELECT queries",
                   statement_hint(message_name), "%s statements are not allowed", words ? words : message_name);
    free(words);
    return false;
}

/* The hint of every syntax error; names the grammar's major version, not a fixed one. */
#define GRAMMAR_HINT "fix the SQL syntax; pgsafe accepts PostgreSQL " PG_MAJORVERSION " SQL, one SELECT per call"

/* Parses text to a tree with exactly one statement, unpacked into arena (which owns *tree
 * afterwards, also when this fails with *tree set). The text's token count is bounded
 * first unless count_tokens is false: for pgsafe's own wrapper around a checked query, a
 * flat list of many keywords; the tree's depth is bounded in every case. */
static bool parse_statement(const char *sql, bool count_tokens, guard_arena *arena, PgQuery__ParseResult **tree,
                            guard_verdict *verdict) {
    *tree = NULL;
    if (count_tokens && !depth_check_text(sql, strlen(sql), verdict))
        return false;
    PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(sql);
    if (parsed.error != NULL) {
        const char *message = parsed.error->message ? parsed.error->message : "syntax error";
        if (strncmp(message, "memory exhausted", 16) == 0)
            /* The grammar's own nesting bound (about 10000 open parentheses or calls). */
            verdict_reject(verdict, GUARD_TOO_COMPLEX, -1, message,
                           "simplify the query: fewer nested parentheses, calls or subqueries",
                           "the query is nested too deeply");
        else
            verdict_reject(verdict, GUARD_SYNTAX_ERROR, -1, NULL, GRAMMAR_HINT, "%s", message);
        verdict->location = byte_offset_of_character(sql, parsed.error->cursorpos);
        pg_query_free_protobuf_parse_result(parsed);
        return false;
    }
    if (!depth_check_protobuf((const uint8_t *)parsed.parse_tree.data, parsed.parse_tree.len, verdict)) {
        pg_query_free_protobuf_parse_result(parsed);
        return false;
    }
    *tree = pg_query__parse_result__unpack(&arena->allocator, parsed.parse_tree.len,
                                           (const uint8_t *)parsed.parse_tree.data);
    pg_query_free_protobuf_parse_result(parsed);
    if (*tree == NULL)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "the parse tree could not be read");
    if ((*tree)->n_stmts == 0)
        return verdict_reject(verdict, GUARD_EMPTY_QUERY, -1, NULL, "send one SELECT statement",
                              "the query contains no statement");
    if ((*tree)->n_stmts > 1) {
        /* stmt_location points just past the semicolon; show the statement itself. */
        int second = (*tree)->stmts[1]->stmt_location;
        while (second >= 0 && sql[second] != '\0' && isspace((unsigned char)sql[second]))
            second++;
        return verdict_reject(verdict, GUARD_MULTIPLE_STATEMENTS, second, "pgsafe runs exactly one statement per call",
                              "send one SELECT per call, without a second statement after the semicolon",
                              "only one statement is allowed, found %zu", (*tree)->n_stmts);
    }
    return check_statement_type((*tree)->stmts[0], verdict);
}

static bool parse_one(const char *sql, guard_arena *arena, PgQuery__ParseResult **tree, guard_verdict *verdict) {
    return parse_statement(sql, true, arena, tree, verdict);
}

/* Deparses a tree; NULL when libpg_query cannot (the caller falls back to the text). */
static char *deparse(const PgQuery__ParseResult *tree) {
    size_t length = pg_query__parse_result__get_packed_size(tree);
    uint8_t *packed = malloc(length > 0 ? length : 1);
    if (packed == NULL)
        return NULL;
    pg_query__parse_result__pack(tree, packed);
    PgQueryProtobuf protobuf = {.len = length, .data = (char *)packed};
    PgQueryDeparseResult deparsed = pg_query_deparse_protobuf(protobuf);
    free(packed);
    char *sql = deparsed.error == NULL && deparsed.query != NULL ? strdup(deparsed.query) : NULL;
    pg_query_free_deparse_result(deparsed);
    return sql;
}

/* True when sql parses to one SELECT that is exactly the expected tree apart from text
 * positions, passes the walk, and carries the constant LIMIT applied_limit. When it does
 * not and *why is non-NULL and still NULL, *why gets the guard's message, if any (the
 * caller frees it). The comparison runs before the walk: it is cheaper and usually decides. */
static bool renders_tree(const char *sql, const PgQuery__ParseResult *expected, const guard_policy *policy,
                         long long applied_limit, char **why) {
    guard_verdict inner = {.code = GUARD_OK, .location = -1};
    guard_arena arena;
    arena_init(&arena);
    PgQuery__ParseResult *tree = NULL;
    long long limit = -1;
    assert(expected->n_stmts == 1 && expected->stmts[0]->stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT);
    bool ok = parse_one(sql, &arena, &tree, &inner) && trees_equal(&tree->base, &expected->base) &&
              walk_tree(&tree->base, policy, &inner) &&
              rewrite_constant_limit(tree->stmts[0]->stmt->select_stmt, &limit) && limit == applied_limit;
    if (!ok && inner.code != GUARD_OK && why != NULL && *why == NULL && inner.message != NULL)
        *why = strdup(inner.message);
    arena_release(&arena);
    verdict_clear(&inner);
    return ok;
}

/* The statement under the FROM of select (a SELECT over one subquery), or NULL. */
static const PgQuery__Node *only_subquery(const PgQuery__Node *select) {
    if (select == NULL || select->node_case != PG_QUERY__NODE__NODE_SELECT_STMT ||
        select->select_stmt->n_from_clause != 1 ||
        select->select_stmt->from_clause[0]->node_case != PG_QUERY__NODE__NODE_RANGE_SUBSELECT)
        return NULL;
    return select->select_stmt->from_clause[0]->range_subselect->subquery;
}

/* The text of guard_bound_rows (see guard.h), unchecked; NULL when memory runs out. Three
 * subqueries, each kept from being pulled up (OFFSET 0) so that a value is computed once:
 * the query with its columns renamed c1..cN, the capped values, the flag over them. */
static char *bound_rows_text(const char *sql, const guard_row_bound *bound) {
    strbuf text = {0};
    strbuf_puts(&text, "SELECT ");
    for (int i = 1; i <= bound->column_count; i++)
        strbuf_printf(&text, "CASE WHEN pgsafe_over THEN NULL ELSE c%d END, ", i);
    strbuf_puts(&text, "pgsafe_over FROM (SELECT ");
    for (int i = 1; i <= bound->column_count; i++)
        strbuf_printf(&text, "c%d, ", i);
    strbuf_puts(&text, "pg_catalog.octet_length(pg_catalog.array_to_string(ARRAY[");
    bool first = true;
    for (int i = 1; i <= bound->column_count; i++)
        if (bound->capped[i - 1]) {
            strbuf_printf(&text, "%sc%d", first ? "" : ", ", i);
            first = false;
        }
    strbuf_printf(&text, "]::pg_catalog.text[], '')) OPERATOR(pg_catalog.>) %zu AS pgsafe_over FROM (SELECT ",
                  bound->row_bytes);
    for (int i = 1; i <= bound->column_count; i++) {
        if (bound->capped[i - 1])
            strbuf_printf(&text,
                          "CASE WHEN pg_catalog.num_nulls(c%d) OPERATOR(pg_catalog.=) 1 THEN NULL"
                          " ELSE pg_catalog.substr(pg_catalog.concat(c%d), 1, %zu) END",
                          i, i, bound->cap_characters);
        else
            strbuf_printf(&text, "c%d", i);
        strbuf_printf(&text, " AS c%d%s", i, i < bound->column_count ? ", " : "");
    }
    /* The newlines keep a trailing -- comment of the query from swallowing the parenthesis. */
    strbuf_puts(&text, " FROM (\n");
    strbuf_puts(&text, sql);
    strbuf_puts(&text, "\n) pgsafe_row(");
    for (int i = 1; i <= bound->column_count; i++)
        strbuf_printf(&text, "c%d%s", i, i < bound->column_count ? ", " : "");
    strbuf_puts(&text, ") OFFSET 0) pgsafe_capped OFFSET 0) pgsafe_flagged");
    return strbuf_take(&text);
}

char *guard_bound_rows(const char *checked_sql, const guard_row_bound *bound) {
    if (checked_sql == NULL || bound == NULL || bound->column_count < 1 ||
        bound->column_count > GUARD_BOUND_MAX_COLUMNS || bound->capped == NULL || bound->cap_characters < 1 ||
        bound->cap_characters > INT32_MAX || bound->row_bytes > INT32_MAX)
        return NULL;
    char *sql = bound_rows_text(checked_sql, bound);
    if (sql == NULL)
        return NULL;
    guard_verdict inner = {.code = GUARD_OK, .location = -1};
    guard_arena arena;
    arena_init(&arena);
    PgQuery__ParseResult *wrapped = NULL, *checked = NULL;
    bool ok = parse_statement(sql, false, &arena, &wrapped, &inner) && parse_one(checked_sql, &arena, &checked, &inner);
    if (ok) {
        const PgQuery__Node *inner_query = only_subquery(only_subquery(only_subquery(wrapped->stmts[0]->stmt)));
        ok = inner_query != NULL && trees_equal(&inner_query->base, &checked->stmts[0]->stmt->base);
    }
    arena_release(&arena);
    verdict_clear(&inner);
    if (!ok) {
        free(sql);
        return NULL;
    }
    return sql;
}

/* The text of the one statement: without the trailing semicolon and white space. */
static char *statement_text(const char *sql, const PgQuery__RawStmt *raw) {
    size_t length = strlen(sql);
    size_t start = raw->stmt_location > 0 && (size_t)raw->stmt_location <= length ? (size_t)raw->stmt_location : 0;
    size_t end = raw->stmt_len > 0 && start + (size_t)raw->stmt_len <= length ? start + (size_t)raw->stmt_len : length;
    while (end > start && isspace((unsigned char)sql[end - 1]))
        end--;
    return str_copy_length(sql + start, end - start);
}

/* The statement's own text as a candidate for the rewritten tree, or NULL when the rewrite
 * did more than keep or add the LIMIT (or memory ran out). Kept: the text as it is.
 * Injected: the text and LIMIT bound. A -- comment on the last line could swallow the
 * LIMIT, or whatever a caller puts after the SQL (EXPLAIN's caller puts nothing, others
 * might), so then the text ends with a line break before anything follows. This is only a
 * candidate: the caller proves it with renders_tree. */
static char *text_rendering(const char *sql, const PgQuery__RawStmt *raw, guard_limit_action action,
                            long long applied_limit) {
    if (action != GUARD_LIMIT_KEPT && action != GUARD_LIMIT_INJECTED)
        return NULL;
    char *text = statement_text(sql, raw);
    if (text == NULL)
        return NULL;
    const char *last_line = text + strlen(text);
    while (last_line > text && last_line[-1] != '\n' && last_line[-1] != '\r')
        last_line--;
    bool line_comment = strstr(last_line, "--") != NULL;
    char *rendered = NULL;
    if (action == GUARD_LIMIT_INJECTED)
        rendered = str_printf("%s%sLIMIT %lld", text, line_comment ? "\n" : " ", applied_limit);
    else if (line_comment)
        rendered = str_printf("%s\n", text);
    else
        return text;
    free(text);
    return rendered;
}

/* Rewrites the LIMIT of tree (parsed from sql) and returns SQL that parses back to exactly
 * the rewritten tree. Every candidate must pass renders_tree (re-parse, compare, walk);
 * the first that does is returned, in this order:
 *  1. the statement's own text, kept or with LIMIT n appended (text_rendering): most
 *     queries, and no deparse at all. When that is the input unchanged (a kept LIMIT, no
 *     trailing semicolon or space), it is its own proof and is not parsed again;
 *  2. the deparsed tree;
 *  3. libpg_query 15's deparser drops needed parentheses in a few constructs
 *     ((ARRAY[...])[i], XMLEXISTS ... PASSING), so the original statement text again: as it
 *     is when its LIMIT was kept, otherwise inside SELECT * FROM (...) pgsafe_bounded LIMIT n.
 * NULL with the verdict set when none does (rewrite_failed, with the deparse's reason). */
static char *rewrite_and_render(const char *sql, PgQuery__ParseResult *tree, guard_arena *arena,
                                const guard_policy *policy, long long bound, long long *applied_limit,
                                guard_limit_action *action, guard_verdict *verdict) {
    /* parse_one and the walk let through exactly one SELECT. */
    assert(tree->n_stmts == 1 && tree->stmts[0]->stmt != NULL &&
           tree->stmts[0]->stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT);
    if (!rewrite_limit(tree->stmts[0], arena, bound, applied_limit, action, verdict))
        return NULL;
    assert(*action != GUARD_LIMIT_NONE && *applied_limit >= 0 && *applied_limit <= bound);
    char *rendered = text_rendering(sql, tree->stmts[0], *action, *applied_limit);
    if (rendered != NULL && *action == GUARD_LIMIT_KEPT && strcmp(rendered, sql) == 0) {
        /* The input itself, and the tree it parsed to is unchanged: parsing it again is the
         * same computation, so the tree already checked is its tree. */
        long long limit = -1;
        if (rewrite_constant_limit(tree->stmts[0]->stmt->select_stmt, &limit) && limit == *applied_limit)
            return rendered;
    }
    if (rendered != NULL && renders_tree(rendered, tree, policy, *applied_limit, NULL))
        return rendered;
    free(rendered);

    char *why = NULL; /* the deparse's failure, for the report */
    rendered = deparse(tree);
    if (rendered != NULL && renders_tree(rendered, tree, policy, *applied_limit, &why))
        return rendered;
    free(rendered);
    rendered = NULL;

    char *text = statement_text(sql, tree->stmts[0]);
    PgQuery__ParseResult *expected = NULL;
    if (text == NULL)
        goto failed;
    if (*action == GUARD_LIMIT_KEPT) {
        rendered = text; /* the tree was not changed */
        text = NULL;
        expected = tree;
    } else {
        guard_verdict ignored = {.code = GUARD_OK, .location = -1};
        rendered = str_printf("SELECT * FROM (\n%s\n) pgsafe_bounded LIMIT %lld", text, bound);
        if (rendered == NULL || !parse_one(sql, arena, &expected, &ignored) ||
            !rewrite_wrap(expected->stmts[0], arena, bound, &ignored)) {
            verdict_clear(&ignored);
            goto failed;
        }
        verdict_clear(&ignored);
        *action = GUARD_LIMIT_WRAPPED;
        *applied_limit = bound;
    }
    if (renders_tree(rendered, expected, policy, *applied_limit, &why)) {
        free(text);
        free(why);
        return rendered;
    }
failed:
    free(text);
    free(rendered);
    verdict_reject(verdict, GUARD_REWRITE_FAILED, -1, why, "simplify the query; pgsafe could not rewrite it safely",
                   "the rewritten query did not pass the guard");
    free(why);
    return NULL;
}

/* A rejection made before any stage ran; message may be NULL only when memory ran out. */
static guard_result early_rejection(guard_reason code, const char *message, const char *hint, int position) {
    guard_result result;
    memset(&result, 0, sizeof result);
    result.message = message != NULL ? strdup(message) : NULL;
    result.hint = hint != NULL ? strdup(hint) : NULL;
    result.code = result.message != NULL ? code : GUARD_INTERNAL_ERROR;
    result.cursor_position = position;
    return result;
}

guard_result guard_check_bytes(const char *sql, size_t length, const guard_policy *policy) {
    const char *nul = sql != NULL ? memchr(sql, '\0', length) : NULL;
    if (nul != NULL)
        return early_rejection(GUARD_INVALID_INPUT, "the query text contains a NUL byte",
                               "send the query as text without NUL characters",
                               character_position(sql, (int)(nul - sql)));
    char *copy = sql != NULL ? malloc(length + 1) : NULL;
    if (sql != NULL && copy == NULL)
        return early_rejection(GUARD_INTERNAL_ERROR, "out of memory", NULL, 0);
    if (copy != NULL) {
        memcpy(copy, sql, length);
        copy[length] = '\0';
    }
    guard_result result = guard_check(copy, policy);
    free(copy);
    return result;
}

guard_result guard_check(const char *sql, const guard_policy *policy) {
    guard_result result;
    memset(&result, 0, sizeof result);
    guard_policy defaults;
    if (policy == NULL) {
        guard_policy_init(&defaults);
        policy = &defaults;
    }
    guard_verdict verdict = {.code = GUARD_OK, .location = -1};
    guard_arena arena;
    arena_init(&arena);
    PgQuery__ParseResult *tree = NULL;
    char *rewritten = NULL;
    long long applied_limit = 0;
    guard_limit_action action = GUARD_LIMIT_NONE;
    long long bound = policy->max_rows + 1;
    size_t length = sql != NULL ? strlen(sql) : 0;
    size_t bad_offset = 0;

    if (sql == NULL) {
        verdict_reject(&verdict, GUARD_INVALID_INPUT, -1, NULL, "send the query text", "no query text was given");
    } else if (policy->max_rows < 0 || policy->max_rows >= INT32_MAX) {
        verdict_reject(&verdict, GUARD_INTERNAL_ERROR, -1, NULL, "configure max_rows between 0 and 2147483646",
                       "max_rows is out of range");
    } else if (length > policy->max_sql_bytes) {
        char detail[128];
        snprintf(detail, sizeof detail, "the limit is %zu bytes", policy->max_sql_bytes);
        verdict_reject(&verdict, GUARD_INPUT_TOO_LARGE, -1, detail, "send a shorter query",
                       "the query text is too long (%zu bytes)", length);
    } else if (!valid_utf8((const unsigned char *)sql, length, &bad_offset)) {
        verdict_reject(&verdict, GUARD_INVALID_INPUT, (int)bad_offset, NULL, "send the query as valid UTF-8 text",
                       "the query text is not valid UTF-8");
    } else if (parse_one(sql, &arena, &tree, &verdict) && walk_tree(&tree->base, policy, &verdict) &&
               statement_check(&tree->base, policy, &verdict) && size_check(&tree->base, policy, &verdict) &&
               columns_check(tree, policy, &verdict)) {
        rewritten = rewrite_and_render(sql, tree, &arena, policy, bound, &applied_limit, &action, &verdict);
    } else {
        newer_syntax_explain(sql, policy, &verdict);
    }
    arena_release(&arena); /* every tree of this check */

    if (verdict.code == GUARD_OK) {
        result.allowed = true;
        result.rewritten_sql = rewritten;
        result.applied_limit = applied_limit;
        result.limit_action = action;
        return result;
    }
    free(rewritten);
    result.code = verdict.code;
    result.message = verdict.message;
    result.detail = verdict.detail;
    result.hint = verdict.hint;
    result.cursor_position = sql != NULL && verdict.location >= 0 && (size_t)verdict.location <= length
                                 ? character_position(sql, verdict.location)
                                 : 0;
    if (result.message == NULL) {
        /* verdict_reject could not allocate: still a rejection, never a silent pass. */
        result.code = GUARD_INTERNAL_ERROR;
    }
    return result;
}
