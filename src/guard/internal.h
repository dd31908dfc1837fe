/* Shared inside the guard: the verdict the stages fill in, and the stages themselves.
 * Nothing here is public; include/pgsafe/guard.h is the guard's face. */
#ifndef PGSAFE_GUARD_INTERNAL_H
#define PGSAFE_GUARD_INTERNAL_H

#include <pg_query/pg_query.pb-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "pgsafe/guard.h"
#include "util/strings.h"

/* The default of guard_policy.max_value_bytes: no analyst query builds a larger value from
 * constants, and parsing one (a cast to json, jsonb or xml) runs for a second or more
 * without checking for interrupts (scripts/survey-timeouts). */
#define GUARD_DEFAULT_MAX_VALUE_BYTES (4 * 1024 * 1024)

/* The default of guard_policy.max_plan_rows, the cost guard's --max-plan-rows. */
#define GUARD_DEFAULT_MAX_PLAN_ROWS 1e9

/* Deeper trees are rejected as too complex; keeps every recursion bounded. */
#define GUARD_MAX_DEPTH 1000

/* A rejection being built. Strings are owned by the verdict until handed to the result. */
typedef struct guard_verdict {
    guard_reason code; /* GUARD_OK while nothing is wrong */
    char *message;
    char *detail;
    char *hint;
    int location; /* byte offset into the checked text, -1 if none */
} guard_verdict;

/* Records a rejection (only the first one counts). The format strings build the message;
 * detail and hint are copied as given (either may be NULL). Returns false so callers can
 * write `return verdict_reject(...)`. */
bool verdict_reject(guard_verdict *verdict, guard_reason code, int location, const char *detail, const char *hint,
                    const char *message_format, ...) __attribute__((format(printf, 6, 7)));
void verdict_clear(guard_verdict *verdict);

/* arena.c: the memory of one check's parse trees (see there). allocator is what protobuf-c
 * unpacks with; its free does nothing, and arena_release returns everything at once. */
struct arena_chunk;
typedef struct guard_arena {
    ProtobufCAllocator allocator; /* pass to pg_query__parse_result__unpack */
    struct arena_chunk *chunks;   /* newest first */
    char *next;                   /* the next free byte of the newest chunk */
    size_t left;                  /* bytes free from next */
} guard_arena;

void arena_init(guard_arena *arena);
/* size bytes aligned for any type, or NULL when memory runs out; valid until the release. */
void *arena_alloc(guard_arena *arena, size_t size);
char *arena_strdup(guard_arena *arena, const char *text);
/* Frees every chunk and leaves the arena empty and ready for use again. */
void arena_release(guard_arena *arena);

/* depth.c: bounds checked before recursive parsing and unpacking (see there). */
bool depth_check_text(const char *sql, size_t length, guard_verdict *verdict);
bool depth_check_protobuf(const uint8_t *data, size_t length, guard_verdict *verdict);

/* walk.c: visits every message below root; false with the verdict set at the first problem. */
bool walk_tree(const ProtobufCMessage *root, const guard_policy *policy, guard_verdict *verdict);
/* True when the allow-list is strictly sorted by name, as its bsearch needs (unit-tested). */
bool walk_allow_list_is_sorted(void);

/* policy.c (functions, operators, types) and policy_relation.c (relations): decisions on
 * names found in the tree; false with the verdict set when refused. name_nodes is the
 * parser's name list (String nodes, optionally schema-qualified). */
bool policy_check_function(const guard_policy *policy, const PgQuery__FuncCall *call, guard_verdict *verdict);
/* Attribute notation: x.name and (expr).name call name(x) when such a function exists. */
bool policy_check_attribute_function(const guard_policy *policy, const char *name, int location,
                                     guard_verdict *verdict);
bool policy_check_operator(const guard_policy *policy, PgQuery__Node *const *name_nodes, size_t name_count,
                           int location, guard_verdict *verdict);
bool policy_check_type(const guard_policy *policy, const PgQuery__TypeName *type_name, guard_verdict *verdict);
/* type_not_allowed for the type shown (as written): unknown (GUARD_VOLATILITY_UNKNOWN) or of
 * that volatility. The one wording, so that a hidden relation's row type reads as unknown. */
bool policy_reject_type(const guard_policy *policy, guard_volatility volatility, const char *shown, int location,
                        guard_verdict *verdict);
bool policy_check_relation(const guard_policy *policy, const PgQuery__RangeVar *relation, guard_verdict *verdict);
/* policy_lists.c. True when a list of the policy names this function exactly (a deny entry, the harmless
 * or the refused-as-volatile list): its review is recorded. */
bool policy_function_reviewed(const char *name);
/* True when the built-in deny list refuses the name (exactly or by prefix). */
bool policy_function_denied(const char *name);

/* The XPath family (policy_lists.c): libxml2 never checks for interrupts while it evaluates an
 * XPath expression. Sets the verdict for `what` (a function or construct name); false. */
bool policy_reject_xpath(guard_verdict *verdict, const char *what, int location);
bool policy_is_uninterruptible(const char *function_name); /* in any schema */

/* walk.c: the one enumeration of a message's children, through protobuf-c's descriptors (no
 * field can be forgotten): each(child, context) for every message-typed field that holds a
 * value (each item of a repeated one; the live member of a oneof), in field order, except
 * the fields named in skip (NULL-terminated, or NULL). Stops and returns false when each
 * does. Every pass over the tree (the walk, tree_each, the column policy) goes through it. */
typedef bool (*tree_child_visitor)(const ProtobufCMessage *child, void *context);
bool tree_each_child(const ProtobufCMessage *message, const char *const *skip, tree_child_visitor each, void *context);

/* walk.c: a pre-order visit of every message below (and including) message; stops and
 * returns false when the visitor does, or beyond GUARD_MAX_DEPTH. */
typedef bool (*tree_visitor)(const ProtobufCMessage *message, void *context);
bool tree_each(const ProtobufCMessage *message, tree_visitor visitor, void *context, int depth);

/* statement.c: the checks over the whole statement (XMLTABLE, catalog views with secret
 * columns, keywords of newer servers, the catalog's hazards); false with the verdict set. */
bool statement_check(const ProtobufCMessage *root, const guard_policy *policy, guard_verdict *verdict);

/* implicit.c: the deny list over functions PostgreSQL runs without the query naming them
 * (guard_catalog's implicit_functions); false with the verdict set. implicit_check_global
 * once per statement: a denied built-in that PostgreSQL calls for built-in types, and the
 * database's implicit links between built-in types. implicit_check_object for each relation
 * ('r'), type ('t') and function ('f') the query names (schema NULL when unqualified). */
bool implicit_check_global(const guard_policy *policy, guard_verdict *verdict);
bool implicit_check_object(const guard_policy *policy, char kind, const char *schema, const char *name, int location,
                           guard_verdict *verdict);

/* False (verdict set) when the connected catalog says the type can run a volatile function
 * without naming it (a domain's CHECK, a type's input or cast function), or a function the
 * deny list names (implicit.c). */
bool statement_check_type_hazard(const guard_policy *policy, const PgQuery__TypeName *type, guard_verdict *verdict);

/* pg_input_is_valid(text, 'type') and pg_input_error_info run the input function (and a
 * domain's CHECK) of a type named in a string (type_strings.c): the string must be a
 * constant naming a type the guard allows. False (verdict set) otherwise; true for any
 * other call. */
bool type_string_check(const PgQuery__FuncCall *call, const guard_policy *policy, guard_verdict *verdict);

/* newer_syntax.c: on a syntax error, when the server (or, with none known, the text) may be
 * newer than the grammar, rewrites the verdict's detail and hint to say so. */
void newer_syntax_explain(const char *sql, const guard_policy *policy, guard_verdict *verdict);

/* size.c: refuses values whose size, bounded from constants, exceeds max_value_bytes. */
bool size_check(const ProtobufCMessage *root, const guard_policy *policy, guard_verdict *verdict);

/* rewrite.c: bounds the LIMIT of the statement held by raw, a tree unpacked into arena,
 * from which the messages it adds are allocated. On success sets the applied limit and
 * action; false with the verdict set when out of memory. */
bool rewrite_limit(PgQuery__RawStmt *raw, guard_arena *arena, long long bound, long long *applied_limit,
                   guard_limit_action *action, guard_verdict *verdict);

/* Replaces raw->stmt with SELECT * FROM (raw->stmt) pgsafe_bounded LIMIT bound. */
bool rewrite_wrap(PgQuery__RawStmt *raw, guard_arena *arena, long long bound, guard_verdict *verdict);

/* relations.c: the data owner's name patterns, parsed once per check. */
typedef struct policy_pattern policy_pattern;
typedef struct policy_patterns {
    bool tables_set;        /* policy->table_patterns given: an allow-list applies */
    bool columns_set;       /* at least one denied column pattern */
    policy_pattern *tables; /* table_count parsed table patterns */
    size_t table_count;
    policy_pattern *columns; /* column_count parsed column patterns */
    size_t column_count;
} policy_patterns;

/* Parses both lists of policy; false with *error (caller frees) on a malformed pattern. */
bool policy_patterns_parse(const guard_policy *policy, policy_patterns *patterns, char **error);
void policy_patterns_free(policy_patterns *patterns);
/* pg_catalog and information_schema. */
bool policy_is_builtin_schema(const char *schema);
/* True when no allow-list is set, or when schema.name matches it. Under an allow-list the
 * built-in catalogs never do: they list every relation, hidden ones included. */
bool policy_table_allowed(const policy_patterns *patterns, const char *schema, const char *name);
bool policy_column_denied(const policy_patterns *patterns, const char *schema, const char *table, const char *column);
/* Relations that quote other relations' values (statistics samples, query texts). */
bool policy_is_side_door(const char *name);

/* columns.c: the table and column policy over the whole tree, with scopes (CTEs, FROM
 * items, outer queries). True when nothing the query names or reads is outside it; does
 * nothing when neither policy->table_patterns nor policy->denied_columns is set. */
bool columns_check(const PgQuery__ParseResult *tree, const guard_policy *policy, guard_verdict *verdict);

/* compare.c: equal trees, ignoring text positions (location, stmt_location, stmt_len). */
bool trees_equal(const ProtobufCMessage *a, const ProtobufCMessage *b);

/* The constant LIMIT of a SELECT, if it is a plain integer constant with COUNT semantics. */
bool rewrite_constant_limit(const PgQuery__SelectStmt *select, long long *limit);

#endif
