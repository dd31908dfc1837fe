/* The allow-list walk. Every message in the parse tree is visited through protobuf-c's
 * descriptors (so no field of any node can be skipped, lists of lists included) and must
 * be on the allow-list below. Some allowed types carry extra checks: function calls,
 * operators, type names and relations go to the policy; SELECT may not lock or create.
 * Here too the enumeration of a message's children that every other pass over the tree
 * (tree_each, the column policy) shares. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef enum node_rule {
    RULE_PLAIN,          /* allowed; only its children are checked */
    RULE_SELECT,         /* SelectStmt: no INTO, no locking */
    RULE_FUNC_CALL,      /* FuncCall: function policy */
    RULE_COLUMN_REF,     /* ColumnRef: a.f may call f(a) */
    RULE_INDIRECTION,    /* A_Indirection: (expr).f calls f(expr) */
    RULE_A_EXPR,         /* A_Expr: operator policy */
    RULE_SUB_LINK,       /* SubLink: operator of `x op ANY (subquery)` */
    RULE_SORT_BY,        /* SortBy: ORDER BY ... USING op */
    RULE_TYPE_NAME,      /* TypeName: type policy */
    RULE_RANGE_VAR,      /* RangeVar: relation policy */
    RULE_TABLESAMPLE,    /* RangeTableSample: built-in methods only */
    RULE_PARAM_REF,      /* $n: refused */
    RULE_INTO_CLAUSE,    /* SELECT INTO: refused */
    RULE_LOCKING_CLAUSE, /* FOR UPDATE/SHARE: refused */
    RULE_MODIFYING       /* INSERT/UPDATE/DELETE/MERGE nested in a query: refused */
} node_rule;

typedef struct node_entry {
    const char *name; /* protobuf-c short name of the message */
    node_rule rule;
} node_entry;

/* Sorted by name (strcmp) for bsearch. A type missing here is refused: fail closed. */
static const node_entry node_entries[] = {
    {"AArrayExpr", RULE_PLAIN},
    {"AConst", RULE_PLAIN},
    {"AExpr", RULE_A_EXPR},
    {"AIndices", RULE_PLAIN},
    {"AIndirection", RULE_INDIRECTION},
    {"AStar", RULE_PLAIN},
    {"Alias", RULE_PLAIN},
    {"BitString", RULE_PLAIN},
    {"BoolExpr", RULE_PLAIN},
    {"Boolean", RULE_PLAIN},
    {"BooleanTest", RULE_PLAIN},
    {"CTECycleClause", RULE_PLAIN},
    {"CTESearchClause", RULE_PLAIN},
    {"CaseExpr", RULE_PLAIN},
    {"CaseWhen", RULE_PLAIN},
    {"CoalesceExpr", RULE_PLAIN},
    {"CollateClause", RULE_PLAIN},
    {"ColumnDef", RULE_PLAIN},
    {"ColumnRef", RULE_COLUMN_REF},
    {"CommonTableExpr", RULE_PLAIN},
    {"DeleteStmt", RULE_MODIFYING},
    {"Float", RULE_PLAIN},
    {"FuncCall", RULE_FUNC_CALL},
    {"GroupingFunc", RULE_PLAIN},
    {"GroupingSet", RULE_PLAIN},
    {"InsertStmt", RULE_MODIFYING},
    {"Integer", RULE_PLAIN},
    {"IntoClause", RULE_INTO_CLAUSE},
    {"JoinExpr", RULE_PLAIN},
    {"List", RULE_PLAIN},
    {"LockingClause", RULE_LOCKING_CLAUSE},
    {"MergeStmt", RULE_MODIFYING},
    {"MinMaxExpr", RULE_PLAIN},
    {"NamedArgExpr", RULE_PLAIN},
    {"Node", RULE_PLAIN},
    {"NullTest", RULE_PLAIN},
    {"ParamRef", RULE_PARAM_REF},
    {"ParseResult", RULE_PLAIN},
    {"RangeFunction", RULE_PLAIN},
    {"RangeSubselect", RULE_PLAIN},
    {"RangeTableFunc", RULE_PLAIN},
    {"RangeTableFuncCol", RULE_PLAIN},
    {"RangeTableSample", RULE_TABLESAMPLE},
    {"RangeVar", RULE_RANGE_VAR},
    {"RawStmt", RULE_PLAIN},
    {"ResTarget", RULE_PLAIN},
    {"RowExpr", RULE_PLAIN},
    {"SQLValueFunction", RULE_PLAIN},
    {"SelectStmt", RULE_SELECT},
    {"SortBy", RULE_SORT_BY},
    {"String", RULE_PLAIN},
    {"SubLink", RULE_SUB_LINK},
    {"TypeCast", RULE_PLAIN},
    {"TypeName", RULE_TYPE_NAME},
    {"UpdateStmt", RULE_MODIFYING},
    {"WindowDef", RULE_PLAIN},
    {"WithClause", RULE_PLAIN},
    {"XmlExpr", RULE_PLAIN},
    {"XmlSerialize", RULE_PLAIN},
};

/* What the walk needs to know of a message type, looked up once per type and walk. */
typedef struct type_info {
    const ProtobufCMessageDescriptor *descriptor; /* NULL: free slot */
    const node_entry *entry;                      /* NULL: not on the allow-list */
    int location_offset;                          /* offset of the int32 location field, -1 if none */
} type_info;

#define TYPE_CACHE_SLOTS 256 /* a power of two, larger than the types one query uses */

typedef struct walk_state {
    const guard_policy *policy;
    guard_verdict *verdict;
    int location; /* nearest known byte offset on the path, -1 if none */
    type_info types[TYPE_CACHE_SLOTS];
} walk_state;

/* bsearch's comparison: a message name against an allow-list entry. */
static int compare_entry(const void *key, const void *element) {
    return strcmp((const char *)key, ((const node_entry *)element)->name);
}

bool walk_allow_list_is_sorted(void) {
    for (size_t i = 1; i < sizeof node_entries / sizeof *node_entries; i++)
        if (strcmp(node_entries[i - 1].name, node_entries[i].name) >= 0)
            return false;
    return true;
}

static const node_entry *find_entry(const char *name) {
    return bsearch(name, node_entries, sizeof node_entries / sizeof *node_entries, sizeof *node_entries, compare_entry);
}

/* The byte offset of descriptor's own int32 location field in its messages, or -1 when it
 * has none (then the walk reports the nearest enclosing position). */
static int location_offset(const ProtobufCMessageDescriptor *descriptor) {
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field_by_name(descriptor, "location");
    if (field == NULL || field->type != PROTOBUF_C_TYPE_INT32 || field->label == PROTOBUF_C_LABEL_REPEATED)
        return -1;
    return (int)field->offset;
}

/* The cached facts of a message type; falls back to a fresh lookup if the table is full. */
static type_info lookup_type(walk_state *state, const ProtobufCMessageDescriptor *descriptor) {
    size_t slot = ((uintptr_t)descriptor >> 4) & (TYPE_CACHE_SLOTS - 1);
    for (size_t probe = 0; probe < TYPE_CACHE_SLOTS; probe++) {
        type_info *info = &state->types[(slot + probe) & (TYPE_CACHE_SLOTS - 1)];
        if (info->descriptor == descriptor)
            return *info;
        if (info->descriptor == NULL) {
            info->descriptor = descriptor;
            info->entry = find_entry(descriptor->short_name);
            info->location_offset = location_offset(descriptor);
            return *info;
        }
    }
    return (type_info){descriptor, find_entry(descriptor->short_name), location_offset(descriptor)};
}

/* message's location from the cached offset (location_offset), or -1. */
static int message_location(const ProtobufCMessage *message, int offset) {
    return offset >= 0 ? *(const int32_t *)((const char *)message + offset) : -1;
}

/* The SQL verb of a data-modifying statement's message name, for the message. */
static const char *modifying_verb(const char *name) {
    if (strcmp(name, "InsertStmt") == 0)
        return "INSERT";
    if (strcmp(name, "UpdateStmt") == 0)
        return "UPDATE";
    if (strcmp(name, "DeleteStmt") == 0)
        return "DELETE";
    return "MERGE";
}

/* The operator policy for one A_Expr; BETWEEN and its variants name a keyword, not an
 * operator, and run through >= and <=, which are checked instead. */
static bool check_a_expr(walk_state *state, const PgQuery__AExpr *expression) {
    static const char *const range_operators[] = {">=", "<="};
    switch (expression->kind) {
    case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN:
    case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN:
    case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN_SYM:
    case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN_SYM:
        /* The name is the keyword; the comparison runs through >= and <=. */
        for (size_t i = 0; i < 2; i++) {
            PgQuery__String name = PG_QUERY__STRING__INIT;
            PgQuery__Node node = PG_QUERY__NODE__INIT;
            PgQuery__Node *nodes[1] = {&node};
            name.sval = (char *)range_operators[i];
            node.node_case = PG_QUERY__NODE__NODE_STRING;
            node.string = &name;
            if (!policy_check_operator(state->policy, nodes, 1, expression->location, state->verdict))
                return false;
        }
        return true;
    default:
        return policy_check_operator(state->policy, expression->name, expression->n_name, expression->location,
                                     state->verdict);
    }
}

/* Only the built-in TABLESAMPLE methods, bare or qualified with pg_catalog. */
static bool check_tablesample(walk_state *state, const PgQuery__RangeTableSample *sample) {
    size_t count = sample->n_method;
    assert(count >= 1); /* the grammar always names a method */
    bool qualified_ok = count == 1 || (count == 2 && sample->method[0]->node_case == PG_QUERY__NODE__NODE_STRING &&
                                       strcmp(sample->method[0]->string->sval, "pg_catalog") == 0);
    if (qualified_ok && sample->method[count - 1]->node_case == PG_QUERY__NODE__NODE_STRING) {
        const char *method = sample->method[count - 1]->string->sval;
        if (strcmp(method, "system") == 0 || strcmp(method, "bernoulli") == 0)
            return true;
    }
    return verdict_reject(state->verdict, GUARD_CONSTRUCT_NOT_ALLOWED, sample->location,
                          "only the built-in methods are known to be safe",
                          "use TABLESAMPLE SYSTEM (percent) or TABLESAMPLE BERNOULLI (percent)",
                          "this TABLESAMPLE method is not allowed");
}

static bool reject_select_into(walk_state *state) {
    return verdict_reject(state->verdict, GUARD_SELECT_INTO, state->location, "SELECT ... INTO creates a new table",
                          "remove the INTO clause; the rows are returned to you", "SELECT INTO is not allowed");
}

/* LockingClause carries no position; the nearest node that does stands in. */
static bool reject_locking_clause(walk_state *state) {
    return verdict_reject(state->verdict, GUARD_LOCKING_CLAUSE, state->location,
                          "FOR UPDATE and FOR SHARE take row locks that block other sessions",
                          "remove the FOR UPDATE/FOR SHARE clause; reading needs no locks",
                          "row locking clauses are not allowed");
}

/* Runs the rule of one allowed message before its children are visited. */
static bool apply_rule(walk_state *state, const node_entry *entry, const ProtobufCMessage *message) {
    guard_verdict *verdict = state->verdict;
    switch (entry->rule) {
    case RULE_PLAIN: return true;
    case RULE_SELECT: {
        /* Checked here too, not only when the walk reaches the clause itself, so that a
         * SELECT reports INTO or FOR UPDATE before problems inside its other clauses. */
        const PgQuery__SelectStmt *select = (const PgQuery__SelectStmt *)message;
        if (select->into_clause != NULL)
            return reject_select_into(state);
        if (select->n_locking_clause > 0)
            return reject_locking_clause(state);
        return true;
    }
    case RULE_FUNC_CALL: return policy_check_function(state->policy, (const PgQuery__FuncCall *)message, verdict);
    case RULE_COLUMN_REF: {
        /* PostgreSQL resolves t.f and t.c.f as f(t) and f(t.c) when no column matches:
         * every name after the first may be a call. */
        const PgQuery__ColumnRef *column = (const PgQuery__ColumnRef *)message;
        for (size_t i = 1; i < column->n_fields; i++)
            if (column->fields[i]->node_case == PG_QUERY__NODE__NODE_STRING &&
                !policy_check_attribute_function(state->policy, column->fields[i]->string->sval, column->location,
                                                 verdict))
                return false;
        return true;
    }
    case RULE_INDIRECTION: {
        const PgQuery__AIndirection *indirection = (const PgQuery__AIndirection *)message;
        for (size_t i = 0; i < indirection->n_indirection; i++)
            if (indirection->indirection[i]->node_case == PG_QUERY__NODE__NODE_STRING &&
                !policy_check_attribute_function(state->policy, indirection->indirection[i]->string->sval,
                                                 state->location, verdict))
                return false;
        return true;
    }
    case RULE_A_EXPR: return check_a_expr(state, (const PgQuery__AExpr *)message);
    case RULE_SUB_LINK: {
        const PgQuery__SubLink *link = (const PgQuery__SubLink *)message;
        if (link->n_oper_name == 0)
            return true;
        return policy_check_operator(state->policy, link->oper_name, link->n_oper_name, link->location, verdict);
    }
    case RULE_SORT_BY: {
        const PgQuery__SortBy *sort = (const PgQuery__SortBy *)message;
        if (sort->n_use_op == 0)
            return true;
        return policy_check_operator(state->policy, sort->use_op, sort->n_use_op, sort->location, verdict);
    }
    case RULE_TYPE_NAME: return policy_check_type(state->policy, (const PgQuery__TypeName *)message, verdict);
    case RULE_RANGE_VAR: return policy_check_relation(state->policy, (const PgQuery__RangeVar *)message, verdict);
    case RULE_TABLESAMPLE: return check_tablesample(state, (const PgQuery__RangeTableSample *)message);
    case RULE_PARAM_REF:
        return verdict_reject(verdict, GUARD_PARAMETER, state->location,
                              "pgsafe sends no parameter values with the query",
                              "write the value into the query as a literal", "parameters such as $1 are not allowed");
    case RULE_INTO_CLAUSE: return reject_select_into(state);
    case RULE_LOCKING_CLAUSE: return reject_locking_clause(state);
    case RULE_MODIFYING:
        return verdict_reject(verdict, GUARD_CONSTRUCT_NOT_ALLOWED, state->location,
                              "a data-modifying statement inside a query (for example in WITH) changes data",
                              "only read: use SELECT in every WITH clause and subquery",
                              "%s is not allowed inside a query", modifying_verb(entry->name));
    }
    return verdict_reject(verdict, GUARD_INTERNAL_ERROR, state->location, NULL, NULL, "unhandled node rule");
}

/* ---- the children of a message: the one enumeration every pass over the tree uses ---- */

static bool field_skipped(const ProtobufCFieldDescriptor *field, const char *const *skip) {
    for (const char *const *name = skip; name != NULL && *name != NULL; name++)
        if (strcmp(field->name, *name) == 0)
            return true;
    return false;
}

/* The live member of a Node, the tree's most common message: one oneof of some 250
 * members, so the member its case names is found directly instead of by a scan. An unset
 * case, or one the descriptor does not know (the walk refuses it first), has no child. */
static bool each_node_child(const PgQuery__Node *node, const char *const *skip, tree_child_visitor each,
                            void *context) {
    if (node->node_case == PG_QUERY__NODE__NODE__NOT_SET)
        return true;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor, (unsigned)node->node_case);
    if (field == NULL || field->type != PROTOBUF_C_TYPE_MESSAGE || field_skipped(field, skip))
        return true;
    assert((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && field->label != PROTOBUF_C_LABEL_REPEATED);
    const ProtobufCMessage *child = *(const ProtobufCMessage *const *)((const char *)node + field->offset);
    return child == NULL || each(child, context);
}

bool tree_each_child(const ProtobufCMessage *message, const char *const *skip, tree_child_visitor each, void *context) {
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    if (descriptor == &pg_query__node__descriptor)
        return each_node_child((const PgQuery__Node *)message, skip, each, context);
    const char *base = (const char *)message;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE || field_skipped(field, skip))
            continue;
        /* Members of a oneof share storage: only the one named by the case is live. */
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + field->quantifier_offset) != field->id)
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)(base + field->quantifier_offset);
            const ProtobufCMessage *const *items = *(const ProtobufCMessage *const *const *)(base + field->offset);
            assert(count == 0 || items != NULL); /* protobuf-c's repeated-field layout */
            for (size_t j = 0; j < count; j++)
                if (items[j] != NULL && !each(items[j], context))
                    return false;
        } else {
            const ProtobufCMessage *child = *(const ProtobufCMessage *const *)(base + field->offset);
            if (child != NULL && !each(child, context))
                return false;
        }
    }
    return true;
}

/* tree_each's step to one child. */
typedef struct tree_each_visit {
    tree_visitor visitor;
    void *context;
    int depth; /* the parent's */
} tree_each_visit;

static bool tree_each_step(const ProtobufCMessage *child, void *context) {
    const tree_each_visit *visit = context;
    return tree_each(child, visit->visitor, visit->context, visit->depth + 1);
}

bool tree_each(const ProtobufCMessage *message, tree_visitor visitor, void *context, int depth) {
    if (depth > GUARD_MAX_DEPTH)
        return false;
    if (!visitor(message, context))
        return false;
    tree_each_visit visit = {visitor, context, depth};
    return tree_each_child(message, NULL, tree_each_step, &visit);
}

/* ---- the allow-list walk ---- */

static bool visit(walk_state *state, const ProtobufCMessage *message, int depth);

/* The walk's step to one child. */
typedef struct walk_step {
    walk_state *state;
    int depth; /* the parent's */
} walk_step;

static bool visit_child(const ProtobufCMessage *child, void *context) {
    const walk_step *step = context;
    return visit(step->state, child, step->depth + 1);
}

/* Visits every message-typed field of message that holds a value, in field order; false at
 * the first child that is refused. depth is message's own depth. A Node whose case the
 * descriptor does not know is refused (fail closed). */
static bool visit_fields(walk_state *state, const ProtobufCMessage *message, int depth) {
    if (message->descriptor == &pg_query__node__descriptor) {
        const PgQuery__Node *node = (const PgQuery__Node *)message;
        if (node->node_case != PG_QUERY__NODE__NODE__NOT_SET &&
            protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor, (unsigned)node->node_case) == NULL)
            return verdict_reject(state->verdict, GUARD_CONSTRUCT_NOT_ALLOWED, state->location,
                                  "pgsafe accepts only constructs it knows to be read-only",
                                  "rewrite the query without it, as a plain SELECT", "construct %d is not allowed",
                                  (int)node->node_case);
    }
    walk_step step = {state, depth};
    return tree_each_child(message, NULL, visit_child, &step);
}

/* Checks message and, when it is allowed, everything below it; depth is its distance from
 * the root. On return state->location is as it was on entry when the walk goes on; after a
 * rejection the verdict holds the first problem. */
static bool visit(walk_state *state, const ProtobufCMessage *message, int depth) {
    assert(message != NULL && message->descriptor != NULL &&
           message->descriptor->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    if (depth > GUARD_MAX_DEPTH)
        return verdict_reject(state->verdict, GUARD_TOO_COMPLEX, state->location,
                              "the guard walks at most a fixed depth of nested expressions",
                              "simplify the query: fewer nested expressions or subqueries",
                              "the query is nested too deeply");
    const char *name = message->descriptor->short_name;
    type_info info = lookup_type(state, message->descriptor);
    const node_entry *entry = info.entry;
    int saved_location = state->location;
    int own_location = message_location(message, info.location_offset);
    if (own_location >= 0)
        state->location = own_location;
    if (entry == NULL)
        return verdict_reject(state->verdict, GUARD_CONSTRUCT_NOT_ALLOWED, state->location,
                              "pgsafe accepts only constructs it knows to be read-only",
                              "rewrite the query without it, as a plain SELECT", "construct %s is not allowed", name);
    if (!apply_rule(state, entry, message) || !visit_fields(state, message, depth))
        return false;
    state->location = saved_location;
    return true;
}

bool walk_tree(const ProtobufCMessage *root, const guard_policy *policy, guard_verdict *verdict) {
    walk_state *state = calloc(1, sizeof *state);
    if (state == NULL)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "out of memory");
    state->policy = policy;
    state->verdict = verdict;
    state->location = -1;
    bool ok = visit(state, root, 0);
    free(state);
    return ok;
}
