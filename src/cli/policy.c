/* The data owner's policy options: splitting and checking --tables and --deny-columns, and
 * check's declared relations with the small catalog that resolves them. */
#include "cli/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

void cli_patterns_free(char **patterns) {
    for (size_t i = 0; patterns != NULL && patterns[i] != NULL; i++)
        free(patterns[i]);
    free(patterns);
}

char **cli_split_patterns(const char *text, bool *empty_item) {
    *empty_item = false;
    size_t capacity = 2; /* items are at most commas + 1, plus the NULL */
    for (const char *at = text; *at != '\0'; at++)
        capacity += *at == ',';
    char **items = calloc(capacity, sizeof *items);
    if (items == NULL)
        return NULL;
    size_t count = 0;
    const char *start = text;
    bool quoted = false;
    for (const char *at = text;; at++) {
        if (*at == '"')
            quoted = !quoted;
        if ((*at != ',' || quoted) && *at != '\0')
            continue;
        const char *end = at;
        while (start < end && isspace((unsigned char)*start))
            start++;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        if (end == start) {
            *empty_item = true;
            cli_patterns_free(items);
            return NULL;
        }
        items[count] = str_copy_length(start, (size_t)(end - start));
        if (items[count++] == NULL) {
            cli_patterns_free(items);
            return NULL;
        }
        if (*at == '\0')
            break;
        start = at + 1;
    }
    return items;
}

/* Splits value and validates it as one of the two lists; the result replaces *list. */
static bool set_list(char ***list, bool tables, const char *value, const char *command, const char *source) {
    bool empty_item = false;
    char **items = cli_split_patterns(value, &empty_item);
    if (items == NULL) {
        if (empty_item)
            fprintf(stderr, "pgsafe %s: %s has an empty pattern; separate patterns with single commas\n", command,
                    source);
        else
            fprintf(stderr, "pgsafe %s: out of memory\n", command);
        return false;
    }
    guard_policy probe;
    guard_policy_init(&probe);
    if (tables)
        probe.table_patterns = (const char *const *)items;
    else
        probe.denied_columns = (const char *const *)items;
    char *error = NULL;
    if (!guard_policy_validate(&probe, &error)) {
        fprintf(stderr, "pgsafe %s: %s: %s\n", command, source, error ? error : "out of memory");
        free(error);
        cli_patterns_free(items);
        return false;
    }
    cli_patterns_free(*list);
    *list = items;
    return true;
}

bool cli_policy_set_tables(cli_policy *policy, const char *value, const char *command, const char *source) {
    return set_list(&policy->tables, true, value, command, source);
}

bool cli_policy_set_deny_columns(cli_policy *policy, const char *value, const char *command, const char *source) {
    return set_list(&policy->deny_columns, false, value, command, source);
}

/* One identifier at *at: "Quoted ""Name""" as written, unquoted folded to lower case.
 * NULL when there is none (or memory ran out). */
static char *take_identifier(const char **at) {
    const char *p = *at;
    while (isspace((unsigned char)*p))
        p++;
    strbuf name = {0};
    if (*p == '"') {
        p++;
        for (;;) {
            if (*p == '\0') {
                strbuf_free(&name);
                return NULL;
            }
            if (p[0] == '"' && p[1] == '"') {
                strbuf_append(&name, "\"", 1);
                p += 2;
            } else if (*p == '"') {
                p++;
                break;
            } else {
                strbuf_append(&name, p++, 1);
            }
        }
    } else {
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80) {
            char c = (char)((unsigned char)*p < 0x80 ? tolower((unsigned char)*p) : *p);
            strbuf_append(&name, &c, 1);
            p++;
        }
    }
    while (isspace((unsigned char)*p))
        p++;
    *at = p;
    if (name.length == 0) {
        strbuf_free(&name);
        return NULL;
    }
    return strbuf_take(&name);
}

static void relation_clear(cli_relation *relation) {
    free(relation->schema);
    free(relation->name);
    for (size_t i = 0; i < relation->column_count; i++)
        free(relation->columns[i]);
    free(relation->columns);
    memset(relation, 0, sizeof *relation);
}

/* Parses "[schema.]name(column, ...)" into *relation; false when malformed. */
static bool parse_relation(const char *text, cli_relation *relation) {
    memset(relation, 0, sizeof *relation);
    const char *at = text;
    char *first = take_identifier(&at);
    if (first == NULL)
        return false;
    if (*at == '.') {
        at++;
        relation->schema = first;
        relation->name = take_identifier(&at);
    } else {
        relation->schema = strdup("public");
        relation->name = first;
    }
    if (relation->schema == NULL || relation->name == NULL || *at != '(')
        goto failed;
    at++;
    for (;;) {
        char *column = take_identifier(&at);
        if (column == NULL)
            goto failed;
        char **grown = realloc(relation->columns, (relation->column_count + 1) * sizeof *grown);
        if (grown == NULL) {
            free(column);
            goto failed;
        }
        relation->columns = grown;
        relation->columns[relation->column_count++] = column;
        if (*at == ',') {
            at++;
            continue;
        }
        if (*at == ')')
            break;
        goto failed;
    }
    at++;
    while (isspace((unsigned char)*at))
        at++;
    if (*at == '\0')
        return true;
failed:
    relation_clear(relation);
    return false;
}

bool cli_policy_add_relation(cli_policy *policy, const char *value, const char *command, const char *source) {
    cli_relation relation;
    if (!parse_relation(value, &relation)) {
        fprintf(stderr, "pgsafe %s: %s needs schema.name(column, ...), for example public.users(id, name, email)\n",
                command, source);
        return false;
    }
    for (size_t i = 0; i < policy->relation_count; i++)
        if (strcmp(policy->relations[i].schema, relation.schema) == 0 &&
            strcmp(policy->relations[i].name, relation.name) == 0) {
            fprintf(stderr, "pgsafe %s: %s declares %s.%s a second time; declare each relation once\n", command, source,
                    relation.schema, relation.name);
            relation_clear(&relation);
            return false;
        }
    cli_relation *grown = realloc(policy->relations, (policy->relation_count + 1) * sizeof *grown);
    if (grown == NULL) {
        relation_clear(&relation);
        fprintf(stderr, "pgsafe %s: out of memory\n", command);
        return false;
    }
    policy->relations = grown;
    policy->relations[policy->relation_count++] = relation;
    return true;
}

/* The catalog over the declared relations: a qualified name in its schema, an unqualified
 * one in public (pg_catalog, searched first by the server, is not declared). */
static bool declared_relation(void *context, const char *schema, const char *name, guard_relation *out) {
    const cli_policy *policy = context;
    const char *wanted = schema != NULL ? schema : "public";
    for (size_t i = 0; i < policy->relation_count; i++) {
        const cli_relation *relation = &policy->relations[i];
        if (strcmp(relation->schema, wanted) == 0 && strcmp(relation->name, name) == 0) {
            out->kind = GUARD_RELATION_KIND_TABLE;
            out->schema = relation->schema;
            out->name = relation->name;
            out->columns = (const char *const *)relation->columns;
            out->column_count = relation->column_count;
            return true;
        }
    }
    return false;
}

void cli_policy_apply(cli_policy *policy, guard_policy *guard) {
    guard->table_patterns = (const char *const *)policy->tables;
    guard->denied_columns = (const char *const *)policy->deny_columns;
    if (policy->relation_count > 0) {
        memset(&policy->catalog, 0, sizeof policy->catalog);
        policy->catalog.relation = declared_relation;
        policy->catalog.context = policy;
        guard->catalog = &policy->catalog;
    }
}

void cli_policy_free(cli_policy *policy) {
    cli_patterns_free(policy->tables);
    cli_patterns_free(policy->deny_columns);
    for (size_t i = 0; i < policy->relation_count; i++)
        relation_clear(&policy->relations[i]);
    free(policy->relations);
    memset(policy, 0, sizeof *policy);
}
