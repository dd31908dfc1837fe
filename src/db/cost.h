/* The cost guard's reading of a plan: what PostgreSQL's planner estimates a statement will
 * cost, from EXPLAIN (FORMAT JSON) without ANALYZE, against the pool's limits. The pool runs
 * the EXPLAIN in the call's own pipeline (conn.c) and asks cost_judge before the statement is
 * sent; a refusal never reaches the executor.
 *
 *   cost_estimate estimate;
 *   if (cost_read_plan(json_text, &estimate) && cost_exceeds(&estimate, max_cost, max_rows)) refuse;
 *
 * Two figures are read. The total cost of the top plan node: the planner's estimate of the
 * work to produce the rows pgsafe reads, the guard's LIMIT included (a Limit node charges
 * only the fraction of its input it needs). And the largest row estimate of a node that runs
 * to completion: a node under a Limit produces only what the Limit asks for, unless a node
 * between them must read all of its input first (a sort, a plain or hashed aggregate, a
 * hash table, a hashed set operation) or it is an InitPlan or SubPlan, which run whole. */
#ifndef PGSAFE_DB_COST_H
#define PGSAFE_DB_COST_H

#include <stdbool.h>

typedef struct cost_estimate {
    double total_cost;       /* the top node's Total Cost */
    double largest_rows;     /* the largest Plan Rows of a node that runs to completion */
    char largest_node[64];   /* that node's type and relation or function, e.g. "Function Scan on generate_series" */
    int largest_type_length; /* the length of its type alone ("Seq Scan") when it names a relation, else 0 */
} cost_estimate;

/* Reads EXPLAIN (FORMAT JSON)'s text into *estimate. False when it is not a plan (the
 * caller fails closed). */
bool cost_read_plan(const char *json_text, cost_estimate *estimate);

/* Whether the estimate passes a limit; a limit of 0 or less is off. */
bool cost_exceeds(const cost_estimate *estimate, double max_cost, double max_rows);

/* The cost guard's verdict on call's EXPLAIN result (the caller's): true to run the
 * statement; false after failing the call with DB_REFUSED (the estimate, the limits and a
 * hint in its result), also when the plan cannot be read. */
struct db_call;
struct pg_result;
bool cost_judge(struct db_call *call, const struct pg_result *explain, double max_cost, double max_rows,
                bool name_relations);

#endif
