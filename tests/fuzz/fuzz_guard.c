/* libFuzzer target for the guard: feeds arbitrary text to guard_check under the default
 * policy and aborts when a result breaks the guard's contract. The contract checked:
 *
 *   allowed  -> code is GUARD_OK, message is NULL, rewritten_sql is non-NULL,
 *               applied_limit is in [0, max_rows + 1] and limit_action is not NONE;
 *               rewritten_sql parses to exactly one SelectStmt whose limit_count is an
 *               integer A_Const equal to applied_limit with limit_option COUNT;
 *               guard_check(rewritten_sql) is allowed and returns the identical text.
 *   rejected -> code is a real reason, message is non-NULL, rewritten_sql is NULL,
 *               applied_limit is 0 and limit_action is NONE.
 *
 * Build and run with scripts/run-fuzz (tests/fuzz/README.md). A violation prints which
 * invariant failed and the input to stderr, then aborts so libFuzzer saves the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "pgsafe/guard.h"

/* Inputs longer than this are skipped: the guard's own size limit is tested elsewhere. */
#define FUZZ_MAX_INPUT_BYTES (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input being checked, kept for the failure report. */
static const char *current_input;

/* Prints the failed invariant and the input (escaped, so control bytes stay visible),
 * then aborts. Never returns. */
static void invariant_failed(const char *what, int line, const char *detail) {
    fprintf(stderr, "\nfuzz_guard: invariant violated (fuzz_guard.c:%d): %s\n", line, what);
    if (detail != NULL)
        fprintf(stderr, "fuzz_guard: detail: %s\n", detail);
    fprintf(stderr, "fuzz_guard: input: \"");
    for (const unsigned char *byte = (const unsigned char *)current_input; byte && *byte; byte++) {
        if (*byte == '"' || *byte == '\\')
            fprintf(stderr, "\\%c", *byte);
        else if (*byte >= 0x20 && *byte < 0x7f)
            fputc(*byte, stderr);
        else
            fprintf(stderr, "\\x%02x", *byte);
    }
    fprintf(stderr, "\"\n");
    abort();
}

#define REQUIRE(condition, detail)                                                                                     \
    do {                                                                                                               \
        if (!(condition))                                                                                              \
            invariant_failed(#condition, __LINE__, (detail));                                                          \
    } while (0)

/* Checks that sql (the guard's rewrite) parses to exactly one SelectStmt whose LIMIT is
 * the integer constant expected_limit, at most limit_bound, with limit_option COUNT.
 * Frees all it allocates. */
static void check_rewritten_tree(const char *sql, long long expected_limit, long long limit_bound) {
    PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(sql);
    REQUIRE(parsed.error == NULL, parsed.error ? parsed.error->message : NULL);

    PgQuery__ParseResult *tree =
        pg_query__parse_result__unpack(NULL, parsed.parse_tree.len, (const uint8_t *)parsed.parse_tree.data);
    REQUIRE(tree != NULL, sql);
    REQUIRE(tree->n_stmts == 1, sql);
    REQUIRE(tree->stmts[0]->stmt != NULL, sql);

    const PgQuery__Node *statement = tree->stmts[0]->stmt;
    REQUIRE(statement->node_case == PG_QUERY__NODE__NODE_SELECT_STMT, sql);
    const PgQuery__SelectStmt *select = statement->select_stmt;
    REQUIRE(select->limit_option == PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_COUNT, sql);

    const PgQuery__Node *limit = select->limit_count;
    REQUIRE(limit != NULL, sql);
    REQUIRE(limit->node_case == PG_QUERY__NODE__NODE_A_CONST, sql);
    REQUIRE(!limit->a_const->isnull, sql);
    REQUIRE(limit->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL, sql);
    REQUIRE(limit->a_const->ival != NULL, sql);
    long long limit_value = limit->a_const->ival->ival;
    REQUIRE(limit_value >= 0, sql);
    REQUIRE(limit_value <= limit_bound, sql);
    REQUIRE(limit_value == expected_limit, sql);

    pg_query__parse_result__free_unpacked(tree, NULL);
    pg_query_free_protobuf_parse_result(parsed);
}

/* Checks one guard result for sql against the contract above. */
static void check_result(const char *sql, const guard_policy *policy) {
    guard_result result = guard_check(sql, policy);

    if (!result.allowed) {
        REQUIRE(result.code > GUARD_OK && result.code < GUARD_REASON_COUNT, guard_reason_name(result.code));
        REQUIRE(result.message != NULL, guard_reason_name(result.code));
        REQUIRE(result.rewritten_sql == NULL, result.rewritten_sql);
        REQUIRE(result.applied_limit == 0, result.message);
        REQUIRE(result.limit_action == GUARD_LIMIT_NONE, result.message);
        REQUIRE(result.cursor_position >= 0 && (size_t)result.cursor_position <= strlen(sql) + 1, result.message);
        guard_result_free(&result);
        return;
    }

    REQUIRE(result.code == GUARD_OK, guard_reason_name(result.code));
    REQUIRE(result.message == NULL, result.message);
    REQUIRE(result.rewritten_sql != NULL, NULL);
    REQUIRE(result.applied_limit >= 0 && result.applied_limit <= policy->max_rows + 1, result.rewritten_sql);
    REQUIRE(result.limit_action != GUARD_LIMIT_NONE, result.rewritten_sql);

    check_rewritten_tree(result.rewritten_sql, result.applied_limit, policy->max_rows + 1);

    /* The rewrite is a fixed point: checking it again allows it unchanged. */
    guard_result again = guard_check(result.rewritten_sql, policy);
    REQUIRE(again.allowed, again.message);
    REQUIRE(again.rewritten_sql != NULL, result.rewritten_sql);
    REQUIRE(strcmp(again.rewritten_sql, result.rewritten_sql) == 0, again.rewritten_sql);
    REQUIRE(again.applied_limit == result.applied_limit, again.rewritten_sql);

    guard_result_free(&again);
    guard_result_free(&result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static guard_policy policy;
    static int policy_ready;
    if (!policy_ready) {
        guard_policy_init(&policy);
        policy_ready = 1;
    }

    if (size > FUZZ_MAX_INPUT_BYTES || memchr(data, '\0', size) != NULL)
        return 0;
    char *sql = malloc(size + 1);
    if (sql == NULL)
        return 0;
    memcpy(sql, data, size);
    sql[size] = '\0';

    current_input = sql;
    check_result(sql, &policy);
    current_input = NULL;

    free(sql);
    return 0;
}
