/* The cost guard's reading of a plan (see cost.h). */
#include "db/cost.h"

#include <libpq-fe.h>
#include <stdlib.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "db/call.h"
#include "util/strings.h"

/* Plans nest at most this deep here: deeper is no plan of a query the guard allowed. */
#define MAX_PLAN_DEPTH 200

/* Whether a node reads all of its input before it returns a row: below it, a Limit above no
 * longer bounds what runs. */
static bool reads_all_input(json_object *node) {
    json_object *value;
    const char *type = json_object_object_get_ex(node, "Node Type", &value) ? json_object_get_string(value) : "";
    const char *strategy = json_object_object_get_ex(node, "Strategy", &value) ? json_object_get_string(value) : "";
    if (strcmp(type, "Sort") == 0 || strcmp(type, "Hash") == 0)
        return true;
    if (strcmp(type, "Aggregate") == 0 || strcmp(type, "SetOp") == 0)
        return strcmp(strategy, "Sorted") != 0;
    return false;
}

static double number_member(json_object *node, const char *name) {
    json_object *value;
    return json_object_object_get_ex(node, name, &value) ? json_object_get_double(value) : 0.0;
}

/* Walks node and its children; partial says whether a Limit above bounds what it produces. */
static bool walk(json_object *node, bool partial, int depth, cost_estimate *estimate) {
    if (!json_object_is_type(node, json_type_object) || depth > MAX_PLAN_DEPTH)
        return false;
    json_object *value;
    const char *type = json_object_object_get_ex(node, "Node Type", &value) ? json_object_get_string(value) : "?";
    double rows = number_member(node, "Plan Rows");
    if (!partial && rows > estimate->largest_rows) {
        estimate->largest_rows = rows;
        bool relation = json_object_object_get_ex(node, "Relation Name", &value);
        const char *on = relation                                                   ? json_object_get_string(value)
                         : json_object_object_get_ex(node, "Function Name", &value) ? json_object_get_string(value)
                                                                                    : NULL;
        snprintf(estimate->largest_node, sizeof estimate->largest_node, "%s%s%s", type, on ? " on " : "", on ? on : "");
        estimate->largest_type_length = relation ? (int)strlen(type) : 0;
    }
    bool children_partial = (partial || strcmp(type, "Limit") == 0) && !reads_all_input(node);
    json_object *children;
    if (!json_object_object_get_ex(node, "Plans", &children))
        return true;
    if (!json_object_is_type(children, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(children); i++) {
        json_object *child = json_object_array_get_idx(children, i);
        const char *relationship =
            json_object_object_get_ex(child, "Parent Relationship", &value) ? json_object_get_string(value) : "";
        /* An InitPlan or SubPlan is a query of its own: it runs whole, whatever bounds its parent. */
        bool whole = strcmp(relationship, "InitPlan") == 0 || strcmp(relationship, "SubPlan") == 0;
        if (!walk(child, children_partial && !whole, depth + 1, estimate))
            return false;
    }
    return true;
}

bool cost_read_plan(const char *json_text, cost_estimate *estimate) {
    *estimate = (cost_estimate){0};
    json_tokener *tokener = json_tokener_new_ex(MAX_PLAN_DEPTH * 3 + 8);
    if (tokener == NULL)
        return false;
    json_object *plans = json_tokener_parse_ex(tokener, json_text, (int)strlen(json_text) + 1);
    json_tokener_free(tokener);
    json_object *top = json_object_is_type(plans, json_type_array) ? json_object_array_get_idx(plans, 0) : NULL;
    json_object *root = NULL;
    bool ok = top && json_object_object_get_ex(top, "Plan", &root) && walk(root, false, 0, estimate);
    if (ok)
        estimate->total_cost = number_member(root, "Total Cost");
    json_object_put(plans);
    return ok;
}

bool cost_exceeds(const cost_estimate *estimate, double max_cost, double max_rows) {
    return (max_cost > 0 && estimate->total_cost > max_cost) || (max_rows > 0 && estimate->largest_rows > max_rows);
}

/* The verdict on a call's EXPLAIN (see cost.h): a plan past a limit, or one that cannot be
 * read, fails the call with DB_REFUSED: the estimate, and how to narrow the query. */
bool cost_judge(db_call *call, const PGresult *explain, double max_cost, double max_rows, bool name_relations) {
    cost_estimate estimate;
    bool read = PQntuples(explain) == 1 && PQnfields(explain) == 1 && !PQgetisnull(explain, 0, 0) &&
                cost_read_plan(PQgetvalue(explain, 0, 0), &estimate);
    if (!read) {
        call_fail(call, DB_REFUSED, "the cost guard could not read the planner's estimate, so the query was not run");
        return false;
    }
    if (!cost_exceeds(&estimate, max_cost, max_rows))
        return true;
    /* Under a table policy the step may scan a relation the model must not learn of (through
     * an allowed view): its type alone is named. */
    if (!name_relations && estimate.largest_type_length > 0 &&
        estimate.largest_type_length < (int)sizeof estimate.largest_node)
        estimate.largest_node[estimate.largest_type_length] = '\0';
    bool costly = max_cost > 0 && estimate.total_cost > max_cost;
    char *message = costly ? str_printf("the planner estimates this query at cost %.3g, over the limit of %.3g: it "
                                        "was not run",
                                        estimate.total_cost, max_cost)
                           : str_printf("the planner estimates %.3g rows in one step of this query (%s), over the "
                                        "limit of %.3g: it was not run",
                                        estimate.largest_rows, estimate.largest_node, max_rows);
    call_fail(call, DB_REFUSED, message ? message : "the planner's estimate is over the cost guard's limits");
    free(message);
    db_result *result = call->result;
    free(result->detail);
    free(result->hint);
    result->detail = str_printf("estimated total cost %.0f (limit %.3g); largest step %s at %.3g rows (limit %.3g)",
                                estimate.total_cost, max_cost, estimate.largest_node[0] ? estimate.largest_node : "?",
                                estimate.largest_rows, max_rows);
    result->hint = strdup("narrow the query so that it does less work: filter with WHERE (on indexed columns), join "
                          "on keys instead of cross joining, aggregate over a bounded range, avoid huge "
                          "generate_series ranges and large OFFSETs; the explain tool shows the plan and its "
                          "estimates");
    return false;
}
