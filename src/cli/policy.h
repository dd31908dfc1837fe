/* The data owner's policy as the command line spells it: --tables and --deny-columns take
 * comma-separated patterns (commas inside double quotes belong to the name), checked with
 * guard_policy_validate when given; check's --relation declares a relation and its columns
 * so that the column policy can be checked without a database.
 *
 *   cli_policy policy = {0};
 *   if (!cli_policy_set_tables(&policy, "public.*,!public.audit_log", "serve", "--tables")) ...
 *   cli_policy_apply(&policy, &guard_policy);   // points guard_policy's lists into policy
 *   ...
 *   cli_policy_free(&policy);                   // after the last guard_check */
#ifndef PGSAFE_CLI_POLICY_H
#define PGSAFE_CLI_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "pgsafe/guard.h"

typedef struct cli_relation {
    char *schema; /* "public" when the declaration has none */
    char *name;
    char **columns; /* column_count names */
    size_t column_count;
} cli_relation;

typedef struct cli_policy {
    char **tables;           /* NULL-terminated patterns, or NULL when --tables is not given */
    char **deny_columns;     /* NULL-terminated patterns, or NULL */
    cli_relation *relations; /* declared with --relation (check only) */
    size_t relation_count;
    guard_catalog catalog; /* resolves the declared relations; set by cli_policy_apply */
} cli_policy;

/* Splits text at commas outside double quotes, trimming spaces, into a NULL-terminated
 * array (caller frees with cli_patterns_free). NULL when out of memory, and when an item is
 * empty (*empty_item set). */
char **cli_split_patterns(const char *text, bool *empty_item);
void cli_patterns_free(char **patterns);

/* Set the lists from an option's value; false after reporting "pgsafe COMMAND: SOURCE ..."
 * on stderr when a pattern is malformed. A second call replaces the first value. */
bool cli_policy_set_tables(cli_policy *policy, const char *value, const char *command, const char *source);
bool cli_policy_set_deny_columns(cli_policy *policy, const char *value, const char *command, const char *source);

/* Declares "schema.name(column, ...)" (schema defaults to public; names fold to lower case
 * unless quoted). False after reporting when the declaration is malformed or declares a
 * relation declared already. */
bool cli_policy_add_relation(cli_policy *policy, const char *value, const char *command, const char *source);

/* Points guard's table_patterns and denied_columns at policy's lists; when relations were
 * declared, also gives guard a catalog that resolves exactly those (unqualified names in
 * public). policy must outlive every guard_check with guard. */
void cli_policy_apply(cli_policy *policy, guard_policy *guard);

void cli_policy_free(cli_policy *policy);

#endif
