/* What the schema tools and resources show under the data owner's policy (--tables,
 * --deny-columns; docs/policy.md): a relation outside the allow-list does not exist for
 * them, and a denied column is left out, with a count of how many were, so the model knows
 * not to ask. Keys, references and indexes that name a hidden relation or a denied column
 * are left out too. Without a policy everything passes unchanged. */
#ifndef PGSAFE_MCP_VISIBILITY_H
#define PGSAFE_MCP_VISIBILITY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "pgsafe/guard.h"
#include "util/strings.h"

/* True when a table or column policy is set. */
bool visibility_active(const guard_policy *policy);

/* True when the model may see relation schema.name (the allow-list and --deny-relation). */
bool visibility_relation(const guard_policy *policy, const char *schema, const char *name);

/* Removes, in place, the entries of a JSON array of {schema, name, ...} that are hidden. */
void visibility_filter_tables(const guard_policy *policy, json_object *tables);

/* Removes from describe_table's JSON (in place) the denied columns and every key,
 * reference and index that names a denied column or a hidden relation, and sets
 * "hidden_columns" to how many columns were left out. Returns that count. */
size_t visibility_filter_description(const guard_policy *policy, json_object *table);

/* Appends to out the schema resource's line for one table, from the cells of
 * introspect_schema_rows_sql (columns and foreign_keys are its JSON texts; comment may be
 * NULL), leaving out what the policy hides. False when a JSON text is unreadable. */
bool visibility_schema_line(const guard_policy *policy, strbuf *out, const char *schema, const char *name,
                            const char *head, const char *columns, const char *foreign_keys, const char *comment);

#endif
