/* Unit tests of the cost guard's reading of a plan (src/db/cost.h): EXPLAIN (FORMAT JSON)
 * texts as PostgreSQL 15 prints them for the runaways the guard must stop and for queries a
 * LIMIT keeps small.
 *
 *   ./test_db_cost */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/cost.h"

/* SELECT count(*) FROM generate_series(1, 100000000000) LIMIT 1001 */
static const char count_series[] =
    "[{\"Plan\": {\"Node Type\": \"Limit\", \"Total Cost\": 1250000000.01, \"Plan Rows\": 1, \"Plans\": ["
    "{\"Node Type\": \"Aggregate\", \"Strategy\": \"Plain\", \"Parent Relationship\": \"Outer\", \"Total Cost\": "
    "1250000000.01, \"Plan Rows\": 1, \"Plans\": [{\"Node Type\": \"Function Scan\", \"Parent Relationship\": "
    "\"Outer\", \"Function Name\": \"generate_series\", \"Total Cost\": 1000000000.0, \"Plan Rows\": "
    "100000000000}]}]}}]";

/* SELECT * FROM generate_series(1,100000) a CROSS JOIN generate_series(1,100000) b LIMIT 1001:
 * 1e10 rows below the Limit, of which only 1001 are made. */
static const char limited_cross_join[] =
    "[{\"Plan\": {\"Node Type\": \"Limit\", \"Total Cost\": 20.03, \"Plan Rows\": 1001, \"Plans\": ["
    "{\"Node Type\": \"Nested Loop\", \"Parent Relationship\": \"Outer\", \"Total Cost\": 200000000.0, "
    "\"Plan Rows\": 10000000000, \"Plans\": [{\"Node Type\": \"Function Scan\", \"Function Name\": "
    "\"generate_series\", \"Total Cost\": 1000.0, \"Plan Rows\": 100000}, {\"Node Type\": \"Function Scan\", "
    "\"Function Name\": \"generate_series\", \"Total Cost\": 1000.0, \"Plan Rows\": 100000}]}]}}]";

/* The same ordered: the Sort reads the whole join before the Limit gets its first row. */
static const char sorted_cross_join[] =
    "[{\"Plan\": {\"Node Type\": \"Limit\", \"Total Cost\": 748362315.45, \"Plan Rows\": 1001, \"Plans\": ["
    "{\"Node Type\": \"Sort\", \"Total Cost\": 748362315.45, \"Plan Rows\": 10000000000, \"Plans\": ["
    "{\"Node Type\": \"Nested Loop\", \"Total Cost\": 200000000.0, \"Plan Rows\": 10000000000}]}]}}]";

/* A scalar subquery under the Limit: an InitPlan runs whole. */
static const char init_plan[] =
    "[{\"Plan\": {\"Node Type\": \"Limit\", \"Total Cost\": 5.0, \"Plan Rows\": 1, \"Plans\": ["
    "{\"Node Type\": \"Result\", \"Total Cost\": 5.0, \"Plan Rows\": 1, \"Plans\": [{\"Node Type\": \"Aggregate\", "
    "\"Strategy\": \"Sorted\", \"Parent Relationship\": \"InitPlan\", \"Total Cost\": 5.0, \"Plan Rows\": 1, "
    "\"Plans\": [{\"Node Type\": \"Seq Scan\", \"Relation Name\": \"big\", \"Total Cost\": 4.0, "
    "\"Plan Rows\": 5000000000}]}]}]}}]";

START_TEST(a_runaway_aggregate_is_over_both_limits) {
    cost_estimate estimate;
    ck_assert(cost_read_plan(count_series, &estimate));
    ck_assert(estimate.total_cost > 1.2e9);
    ck_assert(estimate.largest_rows == 1e11);
    ck_assert_str_eq(estimate.largest_node, "Function Scan on generate_series");
    ck_assert_int_eq(estimate.largest_type_length, 0); /* a function, not a relation: named */
    ck_assert(cost_exceeds(&estimate, 1e7, 0));
    ck_assert(cost_exceeds(&estimate, 0, 1e9));
    ck_assert(!cost_exceeds(&estimate, 0, 0)); /* both off */
    ck_assert(!cost_exceeds(&estimate, 1e10, 1e12));
}
END_TEST

START_TEST(a_limit_bounds_what_runs_below_it) {
    cost_estimate estimate;
    ck_assert(cost_read_plan(limited_cross_join, &estimate));
    ck_assert(estimate.total_cost < 21);
    ck_assert(estimate.largest_rows == 1001);
    ck_assert(!cost_exceeds(&estimate, 1e7, 1e9));
}
END_TEST

START_TEST(a_sort_under_the_limit_reads_everything) {
    cost_estimate estimate;
    ck_assert(cost_read_plan(sorted_cross_join, &estimate));
    ck_assert(estimate.largest_rows == 1e10);
    ck_assert_str_eq(estimate.largest_node, "Nested Loop");
    ck_assert(cost_exceeds(&estimate, 1e7, 1e9));
    ck_assert(cost_exceeds(&estimate, 0, 1e9));
}
END_TEST

START_TEST(an_init_plan_runs_whole) {
    cost_estimate estimate;
    ck_assert(cost_read_plan(init_plan, &estimate));
    ck_assert(estimate.largest_rows == 5e9);
    ck_assert_str_eq(estimate.largest_node, "Seq Scan on big");
    /* Under a table policy the relation is left out: "Seq Scan" alone (cost_judge). */
    ck_assert_int_eq(estimate.largest_type_length, 8);
}
END_TEST

START_TEST(what_is_not_a_plan_is_not_read) {
    cost_estimate estimate;
    ck_assert(!cost_read_plan("", &estimate));
    ck_assert(!cost_read_plan("[]", &estimate));
    ck_assert(!cost_read_plan("[{\"Plan\": 1}]", &estimate));
    ck_assert(!cost_read_plan("[{\"Plan\": {\"Node Type\": \"Limit\", \"Plans\": 3}}]", &estimate));
    ck_assert(!cost_read_plan("{\"Plan\": {}}", &estimate));
    /* Nesting past the bound is refused, not walked. */
    size_t depth = 400, at = 0;
    char *deep = malloc(depth * 40 + 64);
    ck_assert_ptr_nonnull(deep);
    at += (size_t)sprintf(deep + at, "[{\"Plan\": ");
    for (size_t i = 0; i < depth; i++)
        at += (size_t)sprintf(deep + at, "{\"Node Type\": \"Result\", \"Plans\": [");
    at += (size_t)sprintf(deep + at, "{}");
    for (size_t i = 0; i < depth; i++)
        at += (size_t)sprintf(deep + at, "]}");
    sprintf(deep + at, "}]");
    ck_assert(!cost_read_plan(deep, &estimate));
    free(deep);
}
END_TEST

static Suite *cost_suite(void) {
    Suite *suite = suite_create("cost");
    TCase *tc = tcase_create("plans");
    suite_add_tcase(suite, tc);
    tcase_add_test(tc, a_runaway_aggregate_is_over_both_limits);
    tcase_add_test(tc, a_limit_bounds_what_runs_below_it);
    tcase_add_test(tc, a_sort_under_the_limit_reads_everything);
    tcase_add_test(tc, an_init_plan_runs_whole);
    tcase_add_test(tc, what_is_not_a_plan_is_not_read);
    return suite;
}

int main(void) {
    SRunner *runner = srunner_create(cost_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
