/* Shared by the policy's files (policy.c: functions, operators and types;
 * policy_relation.c: relations; policy_lists.c: the lists both decide by). Private to the
 * guard; internal.h has the policy's entry points. */
#ifndef PGSAFE_GUARD_POLICY_H
#define PGSAFE_GUARD_POLICY_H

#include <stdbool.h>

#include "internal.h"

/* Why a denied function is dangerous, and what to do instead: the rejection's detail and hint. */
typedef struct deny_category {
    const char *detail; /* why it is dangerous */
    const char *hint;   /* what to do instead */
} deny_category;

/* The categories policy.c names itself: ts_rewrite's two-argument form, current_setting(). */
extern const deny_category policy_category_sql_from_string;
extern const deny_category policy_category_settings;

/* The category refusing name (built-in deny list first, then the policy's configured one,
 * where a qualified entry also matches an unqualified name), or NULL when it is not denied.
 * A pointer to a static category. */
const deny_category *policy_denied_category(const guard_policy *policy, const char *schema, const char *name);

/* True when an entry of list (NULL-terminated; the list may be NULL) names schema.name: an
 * entry "name" in any schema, "schema.name" in that schema. For a deny list
 * (unqualified_matches) a qualified entry also matches an unqualified reference. */
bool policy_list_contains(const char *const *list, const char *schema, const char *name, bool unqualified_matches);

/* True when the volatile built-in was reviewed as harmless. */
bool policy_harmless_volatile(const char *name);
/* True when current_setting() may read the setting (in any case). */
bool policy_harmless_setting(const char *setting);
/* True when the relation is denied unless the operator allows it by name. */
bool policy_denied_by_default(const char *name);
/* What PostgreSQL writes for a function of another SQL dialect (in any case), a static
 * string; NULL when the name is none. */
const char *policy_dialect_hint(const char *name);

#endif
