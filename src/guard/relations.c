/* The data owner's name patterns: the table allow-list (--tables) and the denied columns
 * (--deny-columns). A pattern is up to three dot-separated parts; each part is `*` (any
 * name), an unquoted identifier (folded to lower case, as PostgreSQL folds it) or a quoted
 * one ("Sales", with "" for a quote). A table pattern is `name` (in any schema) or
 * `schema.name`, optionally negated with a leading `!`; a relation is allowed when some
 * plain pattern matches it and no negated one does. A column pattern is `column` (in any
 * relation), `table.column` (in any schema) or `schema.table.column`. Patterns are parsed
 * once per check (policy_patterns_parse) and matched against resolved names. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PATTERN_MAX_PARTS 3

struct policy_pattern {
    bool negated;                   /* "!schema.name": excluded */
    size_t part_count;              /* 1 .. PATTERN_MAX_PARTS */
    char *parts[PATTERN_MAX_PARTS]; /* NULL: the wildcard `*` */
};

static void pattern_clear(policy_pattern *pattern) {
    for (size_t i = 0; i < PATTERN_MAX_PARTS; i++)
        free(pattern->parts[i]);
    memset(pattern, 0, sizeof *pattern);
}

static bool identifier_character(unsigned char c) {
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Reads one name part at *at: `*` (*wildcard set, *part NULL), a quoted name, or an
 * unquoted one folded to lower case. False with *why set when there is none. */
static bool parse_part(const char **at, char **part, bool *wildcard, const char **why) {
    strbuf name = {0};
    const char *p = *at;
    *part = NULL;
    *wildcard = false;
    if (*p == '*') {
        *wildcard = true;
        *at = p + 1;
        return true;
    }
    if (*p == '"') {
        for (p++;; p++) {
            if (*p == '\0') {
                strbuf_free(&name);
                *why = "a quoted name is not closed";
                return false;
            }
            if (*p == '"' && p[1] != '"')
                break;
            strbuf_append(&name, p, 1);
            p += *p == '"'; /* "" stands for one quote */
        }
        p++;
    } else {
        for (; identifier_character((unsigned char)*p); p++) {
            char lower = (char)((unsigned char)*p < 0x80 ? tolower((unsigned char)*p) : *p);
            strbuf_append(&name, &lower, 1);
        }
    }
    if (name.length == 0) {
        strbuf_free(&name);
        *why = **at == '"' ? "a quoted name is empty" : "a name is missing: write name, \"Quoted Name\" or *";
        return false;
    }
    *at = p;
    if ((*part = strbuf_take(&name)) == NULL)
        *why = "out of memory";
    return *part != NULL;
}

/* Parses one pattern into *pattern. On failure returns false and *why is a static reason. */
static bool pattern_parse(const char *text, size_t max_parts, bool allow_negation, policy_pattern *pattern,
                          const char **why) {
    memset(pattern, 0, sizeof *pattern);
    const char *at = text;
    while (isspace((unsigned char)*at))
        at++;
    if (*at == '!') {
        if (!allow_negation) {
            *why = "negation (!) is for table patterns only";
            return false;
        }
        pattern->negated = true;
        at++;
    }
    for (;;) {
        while (isspace((unsigned char)*at))
            at++;
        if (pattern->part_count == max_parts) {
            *why = max_parts == 2 ? "a table pattern has at most two parts (schema.name)"
                                  : "a column pattern has at most three parts (schema.table.column)";
            break;
        }
        char *part;
        bool wildcard;
        if (!parse_part(&at, &part, &wildcard, why))
            break;
        pattern->parts[pattern->part_count++] = part; /* NULL for the wildcard */
        while (isspace((unsigned char)*at))
            at++;
        if (*at == '\0')
            return true;
        if (*at != '.') {
            *why = "unexpected character: names are separated by dots";
            break;
        }
        at++;
    }
    pattern_clear(pattern);
    return false;
}

static bool part_matches(const char *part, const char *value) {
    return part == NULL || (value != NULL && strcmp(part, value) == 0);
}

void policy_patterns_free(policy_patterns *patterns) {
    if (patterns == NULL)
        return;
    for (size_t i = 0; i < patterns->table_count; i++)
        pattern_clear(&patterns->tables[i]);
    for (size_t i = 0; i < patterns->column_count; i++)
        pattern_clear(&patterns->columns[i]);
    free(patterns->tables);
    free(patterns->columns);
    memset(patterns, 0, sizeof *patterns);
}

static size_t list_length(const char *const *list) {
    size_t count = 0;
    while (list != NULL && list[count] != NULL)
        count++;
    return count;
}

bool policy_patterns_parse(const guard_policy *policy, policy_patterns *patterns, char **error) {
    memset(patterns, 0, sizeof *patterns);
    *error = NULL;
    patterns->tables_set = policy->table_patterns != NULL;
    patterns->columns_set = policy->denied_columns != NULL && policy->denied_columns[0] != NULL;
    size_t table_count = list_length(policy->table_patterns);
    size_t column_count = list_length(policy->denied_columns);
    patterns->tables = calloc(table_count + 1, sizeof *patterns->tables);
    patterns->columns = calloc(column_count + 1, sizeof *patterns->columns);
    if (patterns->tables == NULL || patterns->columns == NULL) {
        policy_patterns_free(patterns);
        *error = str_printf("out of memory");
        return false;
    }
    const char *why = NULL;
    for (size_t i = 0; i < table_count; i++) {
        if (!pattern_parse(policy->table_patterns[i], 2, true, &patterns->tables[i], &why)) {
            *error = str_printf("table pattern \"%s\": %s", policy->table_patterns[i], why);
            policy_patterns_free(patterns);
            return false;
        }
        patterns->table_count++;
    }
    for (size_t i = 0; i < column_count; i++) {
        if (!pattern_parse(policy->denied_columns[i], 3, false, &patterns->columns[i], &why)) {
            *error = str_printf("column pattern \"%s\": %s", policy->denied_columns[i], why);
            policy_patterns_free(patterns);
            return false;
        }
        patterns->column_count++;
    }
    return true;
}

bool policy_is_builtin_schema(const char *schema) {
    return schema != NULL && (strcmp(schema, "pg_catalog") == 0 || strcmp(schema, "information_schema") == 0);
}

bool policy_table_allowed(const policy_patterns *patterns, const char *schema, const char *name) {
    if (!patterns->tables_set)
        return true;
    if (policy_is_builtin_schema(schema))
        return false;
    bool allowed = false;
    for (size_t i = 0; i < patterns->table_count; i++) {
        const policy_pattern *pattern = &patterns->tables[i];
        bool match = pattern->part_count == 1
                         ? part_matches(pattern->parts[0], name)
                         : part_matches(pattern->parts[0], schema) && part_matches(pattern->parts[1], name);
        if (match && pattern->negated)
            return false; /* a negation wins over every inclusion, whatever the order */
        if (match)
            allowed = true;
    }
    return allowed;
}

bool policy_column_denied(const policy_patterns *patterns, const char *schema, const char *table, const char *column) {
    for (size_t i = 0; i < patterns->column_count; i++) {
        const policy_pattern *pattern = &patterns->columns[i];
        size_t n = pattern->part_count;
        if (!part_matches(pattern->parts[n - 1], column))
            continue;
        if (n >= 2 && !part_matches(pattern->parts[n - 2], table))
            continue;
        if (n == 3 && !part_matches(pattern->parts[0], schema))
            continue;
        return true;
    }
    return false;
}

/* Relations whose rows quote the values of other relations: planner statistics samples
 * and the text of running or recorded queries. Under a data owner's policy they would
 * hand out what the policy hides, so they are refused by name in any schema, even when the
 * operator allowed one with --allow-relation (pg_statistic and pg_statistic_ext_data are
 * denied by default). */
static const char *const policy_side_doors[] = {
    "pg_stats",           "pg_stats_ext", "pg_stats_ext_exprs",    "pg_stat_activity",
    "pg_stat_statements", "pg_statistic", "pg_statistic_ext_data",
};

bool policy_is_side_door(const char *name) {
    for (size_t i = 0; i < sizeof policy_side_doors / sizeof *policy_side_doors; i++)
        if (strcmp(policy_side_doors[i], name) == 0)
            return true;
    return false;
}

bool guard_policy_validate(const guard_policy *policy, char **error) {
    policy_patterns patterns;
    bool ok = policy_patterns_parse(policy, &patterns, error);
    if (ok)
        policy_patterns_free(&patterns);
    return ok;
}

/* A configured --deny-relation entry ("name" or "schema.name") naming schema.name. */
static bool denied_relation(const guard_policy *policy, const char *schema, const char *name) {
    for (const char *const *entry = policy->denied_relations; entry != NULL && *entry != NULL; entry++) {
        const char *dot = strrchr(*entry, '.');
        if (dot == NULL ? strcmp(*entry, name) == 0
                        : strcmp(dot + 1, name) == 0 && schema != NULL && strlen(schema) == (size_t)(dot - *entry) &&
                              strncmp(*entry, schema, (size_t)(dot - *entry)) == 0)
            return true;
    }
    return false;
}

bool guard_relation_visible(const guard_policy *policy, const char *schema, const char *name) {
    if (policy == NULL || name == NULL)
        return policy == NULL;
    if (denied_relation(policy, schema, name))
        return false;
    policy_patterns patterns;
    char *error = NULL;
    if (!policy_patterns_parse(policy, &patterns, &error)) {
        free(error);
        return false; /* a malformed policy shows nothing */
    }
    bool visible = policy_table_allowed(&patterns, schema, name) &&
                   !((patterns.tables_set || patterns.columns_set) && policy_is_side_door(name));
    policy_patterns_free(&patterns);
    return visible;
}

bool guard_column_denied(const guard_policy *policy, const char *schema, const char *table, const char *column) {
    if (policy == NULL || policy->denied_columns == NULL)
        return false;
    policy_patterns patterns;
    char *error = NULL;
    if (!policy_patterns_parse(policy, &patterns, &error)) {
        free(error);
        return true; /* fail closed: a malformed policy hides every column */
    }
    bool denied = policy_column_denied(&patterns, schema, table, column);
    policy_patterns_free(&patterns);
    return denied;
}
