/* Prompts: an analyst persona and a table-exploration guide, each with arguments. With
 * several databases (--database) each also takes database, which its text then names in
 * every tool call and resource (required for explore_table when there is more than one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"
#include "mcp/dispatch.h"
#include "mcp/jsonrpc.h"

typedef struct prompt_argument {
    const char *name;
    const char *description;
    bool required;
} prompt_argument;

typedef struct prompt {
    const char *name;
    const char *title;
    const char *description;
    prompt_argument arguments[2]; /* a NULL name ends the list */
} prompt;

static const prompt prompts[] = {
    {"analyst",
     "Data analyst",
     "Answer questions from the database as a careful analyst: explore the schema, aggregate on the server, mind "
     "units, and report truncation honestly.",
     {{"topic", "what to analyse, e.g. \"revenue by month in 2024\"", false}, {NULL, NULL, false}}},
    {"explore_table",
     "Explore a table",
     "Look at one table before querying it: its columns, keys, size and a few sample rows.",
     {{"table", "the table, as name or schema.name", true}, {NULL, NULL, false}}},
};

#define PROMPT_COUNT (sizeof prompts / sizeof *prompts)

void prompts_list(mcp_request *request, json_object *params) {
    (void)params;
    json_object *list = mcp_json_array();
    for (size_t i = 0; i < PROMPT_COUNT; i++) {
        json_object *entry = mcp_json_object();
        mcp_json_add(entry, "name", mcp_json_string(prompts[i].name));
        mcp_json_add(entry, "title", mcp_json_string(prompts[i].title));
        mcp_json_add(entry, "description", mcp_json_string(prompts[i].description));
        json_object *arguments = mcp_json_array();
        for (const prompt_argument *argument = prompts[i].arguments; argument->name; argument++) {
            json_object *item = mcp_json_object();
            mcp_json_add(item, "name", mcp_json_string(argument->name));
            mcp_json_add(item, "description", mcp_json_string(argument->description));
            mcp_json_add(item, "required", mcp_json_bool(argument->required));
            mcp_json_append(arguments, item);
        }
        size_t databases = request_database_count(request);
        if (databases > 0) {
            json_object *item = mcp_json_object();
            mcp_json_add(item, "name", mcp_json_string("database"));
            mcp_json_add(item, "description", mcp_json_string("which database (list_databases shows them)"));
            mcp_json_add(item, "required",
                         mcp_json_bool(databases > 1 && strcmp(prompts[i].name, "explore_table") == 0));
            mcp_json_append(arguments, item);
        }
        mcp_json_add(entry, "arguments", arguments);
        mcp_json_append(list, entry);
    }
    json_object *answer = mcp_json_object();
    mcp_json_add(answer, "prompts", list);
    request_respond(request, answer);
}

/* How the prompts' texts name the database: database is the chosen one's name (NULL with
 * one unnamed database, or when an analyst did not choose among several). */
typedef struct target {
    const char *database;
    const char *resource; /* "postgres://schema" or "postgres://NAME/schema" */
    char *owned;
} target;

/* The analyst prompt's text, with the row limit of config and the topic if given (caller
 * frees; NULL when memory runs out). names lists several databases when none was chosen. */
static char *analyst_text(const mcp_config *config, const char *topic, const target *on, const char *names) {
    char limit[64];
    if (on->database == NULL && names != NULL) /* each database has its own: the instructions say them */
        snprintf(limit, sizeof limit, "its database's limit of");
    else
        snprintf(limit, sizeof limit, "%lld", config->policy.max_rows);
    strbuf text = {0};
    strbuf_puts(&text, "You are a careful data analyst with read-only access to a PostgreSQL database through "
                       "pgsafe's tools.\n\n");
    if (topic)
        strbuf_printf(&text, "The question: %s\n\n", topic);
    if (on->database)
        strbuf_printf(&text, "Work in the database \"%s\": pass \"database\": \"%s\" to every tool.\n\n", on->database,
                      on->database);
    else if (names)
        strbuf_printf(&text,
                      "This server has several databases (%s): list_databases shows them; pass the one you mean "
                      "as \"database\" to every tool, and read its schema at postgres://NAME/schema.\n\n",
                      names);
    strbuf_printf(&text,
                  "How to work:\n"
                  "1. Explore first: list_tables (or the %s resource), then describe_table for the "
                  "tables that matter. Read column comments and foreign keys; do not guess joins.\n"
                  "2. Aggregate on the server. Use GROUP BY, count, sum, avg, percentiles and date_trunc in SQL "
                  "instead of fetching raw rows; a query returns at most %s rows.\n"
                  "3. Mind the units: check whether amounts are cents or currency units, timestamps UTC or local, "
                  "and whether a rate is a fraction or a percentage, before you compare or add them.\n"
                  "4. Check a query with check_sql when unsure; a rejected query says why and what to change.\n"
                  "5. Be honest about the data: when a result says truncated, say that the answer covers only the "
                  "rows shown, or re-run an aggregate that covers all of them. Report NULLs and empty groups "
                  "rather than hiding them.\n"
                  "6. Show the SQL you relied on with each figure, so the numbers can be checked.\n",
                  on->resource, limit);
    return strbuf_take(&text);
}

/* The explore_table prompt's text for table (caller frees; NULL when memory runs out). */
static char *explore_text(const char *table, const target *on) {
    char *in = on->database ? str_printf(", \"database\": \"%s\"", on->database) : strdup("");
    char *where = on->database ? str_printf(" in the database \"%s\"", on->database) : strdup("");
    char *text = in && where
                     ? str_printf("Explore the table %s%s before querying it:\n"
                                  "1. describe_table {\"table\": \"%s\"%s}: columns, types, keys, indexes "
                                  "and comments.\n"
                                  "2. Its size: list_tables%s shows the row estimate; count(*) only if the "
                                  "estimate is not enough.\n"
                                  "3. A few sample rows: query {\"sql\": \"SELECT * FROM %s\", \"limit\": 5%s}.\n"
                                  "4. For the columns that matter, their distribution: count(DISTINCT ...), "
                                  "min, max and the share of NULLs, in one aggregate query.\n"
                                  "Then summarise what the table holds, its grain (what one row is), and how "
                                  "it joins to others.",
                                  table, where, table, in, on->database ? " (with the same database)" : "", table, in)
                     : NULL;
    free(in);
    free(where);
    return text;
}

/* Reads the prompt's database argument into *on (and points the request at it); false
 * after answering -32602 when it names no configured database or is missing where needed
 * (explore_table, with more than one). */
static bool choose_target(mcp_request *request, const char *prompt_name, json_object *arguments, target *on) {
    *on = (target){.resource = "postgres://schema"};
    json_object *value = NULL;
    if (arguments)
        json_object_object_get_ex(arguments, "database", &value);
    char *what = mcp_must(str_printf("prompt %s", prompt_name), "a message");
    char *problem = request_choose_database_argument(request, value, strcmp(prompt_name, "analyst") == 0, what);
    free(what);
    if (problem != NULL) {
        request_error(request, JSONRPC_INVALID_PARAMS, "%s", problem);
        free(problem);
        return false;
    }
    if (request_database_count(request) == 0 || (value == NULL && request_database_count(request) > 1))
        return true; /* one unnamed database, or an analyst who has not chosen among several */
    on->database = request_database_name(request);
    on->owned = str_printf("postgres://%s/schema", on->database);
    if (on->owned == NULL) {
        request_error(request, JSONRPC_INTERNAL_ERROR, "out of memory");
        return false;
    }
    on->resource = on->owned;
    return true;
}

void prompts_get(mcp_request *request, json_object *params) {
    const char *name = json_string_member(params, "name");
    if (name == NULL) {
        request_error(request, JSONRPC_INVALID_PARAMS, "prompts/get needs params.name, a string");
        return;
    }
    const prompt *found = NULL;
    for (size_t i = 0; i < PROMPT_COUNT && !found; i++)
        if (strcmp(prompts[i].name, name) == 0)
            found = &prompts[i];
    if (found == NULL) {
        request_error(request, JSONRPC_INVALID_PARAMS,
                      "unknown prompt \"%s\"; the prompts are analyst and explore_table", name);
        return;
    }
    json_object *arguments = NULL;
    if (json_object_object_get_ex(params, "arguments", &arguments) && arguments &&
        !json_object_is_type(arguments, json_type_object)) {
        request_error(request, JSONRPC_INVALID_PARAMS, "params.arguments must be an object of strings");
        return;
    }
    if (arguments) {
        json_object_object_foreach(arguments, key, value) {
            bool known = request_database_count(request) > 0 && strcmp(key, "database") == 0;
            for (const prompt_argument *argument = found->arguments; argument->name && !known; argument++)
                known = strcmp(argument->name, key) == 0;
            if (!known || !json_object_is_type(value, json_type_string)) {
                request_error(request, JSONRPC_INVALID_PARAMS, "prompt %s takes %s%s as a string, not \"%s\"", name,
                              found->arguments[0].name, found->arguments[0].required ? " (required)" : "", key);
                return;
            }
        }
    }
    for (const prompt_argument *argument = found->arguments; argument->name; argument++)
        if (argument->required && json_string_member(arguments, argument->name) == NULL) {
            request_error(request, JSONRPC_INVALID_PARAMS, "prompt %s needs the argument \"%s\"", name, argument->name);
            return;
        }
    target on;
    if (!choose_target(request, name, arguments, &on))
        return;
    char *names = on.database == NULL && request_database_count(request) > 1 ? request_database_names(request) : NULL;
    char *text = strcmp(name, "analyst") == 0
                     ? analyst_text(request_config(request), json_string_member(arguments, "topic"), &on, names)
                     : explore_text(json_string_member(arguments, "table"), &on);
    free(names);
    free(on.owned);
    if (text == NULL) {
        request_error(request, JSONRPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    json_object *content = mcp_json_object();
    mcp_json_add(content, "type", mcp_json_string("text"));
    mcp_json_add(content, "text", mcp_json_string(text));
    free(text);
    json_object *message = mcp_json_object();
    mcp_json_add(message, "role", mcp_json_string("user"));
    mcp_json_add(message, "content", content);
    json_object *messages = mcp_json_array();
    mcp_json_append(messages, message);
    json_object *answer = mcp_json_object();
    mcp_json_add(answer, "description", mcp_json_string(found->description));
    mcp_json_add(answer, "messages", messages);
    request_respond(request, answer);
}
