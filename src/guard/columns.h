/* Shared by the two halves of the table and column policy: columns.c (the analysis of a
 * SELECT: column references, stars, whole rows, functions) and from.c (FROM items, joins and
 * WITH, which build the scopes). Internal to the guard. */
#ifndef PGSAFE_GUARD_COLUMNS_H
#define PGSAFE_GUARD_COLUMNS_H

#include "internal.h"

/* Bounds recursion over the tree; the walk has already bounded the depth. */
#define COLUMNS_MAX_DEPTH (GUARD_MAX_DEPTH + 16)

typedef struct range_column {
    const char *name;  /* the relation's column name (catalog-owned) */
    const char *alias; /* the name a column alias list gave it, or NULL */
    bool denied;
} range_column;

/* One FROM item visible by a reference name. */
typedef struct range_entry {
    const char *refname;   /* alias, relation or CTE name; NULL when it has none */
    const char *table;     /* the base relation's name for messages; NULL if derived */
    range_column *columns; /* known columns (base relations and join aliases over them) */
    size_t column_count;
    bool carries_denied; /* some column is denied: whole-row references read it */
} range_entry;

typedef struct scope {
    const struct scope *parent;
    range_entry **entries; /* this level's FROM items, in order */
    size_t entry_count;
    size_t entry_capacity;
    const char **ctes; /* CTE names visible at this level */
    size_t cte_count;
    size_t cte_capacity;
} scope;

typedef struct analysis {
    const guard_policy *policy;
    guard_verdict *verdict;
    policy_patterns patterns;
    void **owned; /* every allocation, released at the end */
    size_t owned_count;
    size_t owned_capacity;
} analysis;

/* columns.c: allocation owned by the analysis, scopes, and the checks from.c needs. */
bool columns_out_of_memory(analysis *state);
void *columns_own(analysis *state, void *pointer); /* frees pointer and returns NULL when it cannot */
bool columns_push_entry(analysis *state, scope *level, range_entry *entry);
bool columns_push_cte(analysis *state, scope *level, const char *name);
bool columns_cte_visible(const scope *level, const char *name);
const range_column *columns_find_column(const range_entry *entry, const char *name);
bool columns_reject_denied(analysis *state, const range_entry *entry, const range_column *column, int location);
bool columns_analyze_select(analysis *state, const PgQuery__SelectStmt *select, const scope *parent, bool in_exists,
                            int depth);
bool columns_walk_expression(analysis *state, const ProtobufCMessage *message, const scope *level, int depth);
bool columns_walk_fields(analysis *state, const ProtobufCMessage *message, const scope *level, int depth,
                         const char *const *skip);

/* catalog_names.c: under a table allow-list, what would name relations it hides. Each
 * returns false with the verdict set when refused; true when no allow-list is set. */
bool catalog_names_function(const char *name); /* a built-in that names or probes relations */
bool catalog_names_check_function(analysis *state, const char *schema, const char *name, int location);
bool catalog_names_check_type(analysis *state, const PgQuery__TypeName *type);
/* True when the relation as written is a built-in catalog's (offline: an unqualified
 * pg_ name, since pg_catalog comes first in the search_path). */
bool catalog_names_is_catalog(const char *schema, const char *name);
bool catalog_names_reject_relation(analysis *state, const PgQuery__RangeVar *relation);

/* from.c: one FROM item (its entries are appended to level), and a WITH clause's CTEs. */
bool from_add_item(analysis *state, scope *level, const PgQuery__Node *item, int depth);
bool from_add_ctes(analysis *state, scope *level, const PgQuery__WithClause *with, int depth);

#endif
