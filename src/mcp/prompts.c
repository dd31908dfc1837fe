/* Prompts: an analyst persona and a table-exploration guide, each with arguments. */
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
        mcp_json_add(entry, "arguments", arguments);
        mcp_json_append(list, entry);
    }
    json_object *answer = mcp_json_object();
    mcp_json_add(answer, "prompts", list);
    request_respond(request, answer);
}

/* The analyst prompt's text, with the limits of config and the topic if given (caller
 * frees; NULL when memory runs out). */
static char *analyst_text(const mcp_config *config, const char *topic) {
    strbuf text = {0};
    strbuf_puts(&text, "You are a careful data analyst with read-only access to a PostgreSQL database through "
                       "pgsafe's tools.\n\n");
    if (topic)
        strbuf_printf(&text, "The question: %s\n\n", topic);
    strbuf_printf(&text,
                  "How to work:\n"
                  "1. Explore first: list_tables (or the postgres://schema resource), then describe_table for the "
                  "tables that matter. Read column comments and foreign keys; do not guess joins.\n"
                  "2. Aggregate on the server. Use GROUP BY, count, sum, avg, percentiles and date_trunc in SQL "
                  "instead of fetching raw rows; a query returns at most %lld rows.\n"
                  "3. Mind the units: check whether amounts are cents or currency units, timestamps UTC or local, "
                  "and whether a rate is a fraction or a percentage, before you compare or add them.\n"
                  "4. Check a query with check_sql when unsure; a rejected query says why and what to change.\n"
                  "5. Be honest about the data: when a result says truncated, say that the answer covers only the "
                  "rows shown, or re-run an aggregate that covers all of them. Report NULLs and empty groups "
                  "rather than hiding them.\n"
                  "6. Show the SQL you relied on with each figure, so the numbers can be checked.\n",
                  config->policy.max_rows);
    return strbuf_take(&text);
}

/* The explore_table prompt's text for table (caller frees; NULL when memory runs out). */
static char *explore_text(const char *table) {
    return str_printf("Explore the table %s before querying it:\n"
                      "1. describe_table {\"table\": \"%s\"}: columns, types, keys, indexes and comments.\n"
                      "2. Its size: list_tables shows the row estimate; count(*) only if the estimate is not "
                      "enough.\n"
                      "3. A few sample rows: query {\"sql\": \"SELECT * FROM %s\", \"limit\": 5}.\n"
                      "4. For the columns that matter, their distribution: count(DISTINCT ...), min, max and the "
                      "share of NULLs, in one aggregate query.\n"
                      "Then summarise what the table holds, its grain (what one row is), and how it joins to "
                      "others.",
                      table, table, table);
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
            bool known = false;
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
    char *text = strcmp(name, "analyst") == 0
                     ? analyst_text(request_config(request), json_string_member(arguments, "topic"))
                     : explore_text(json_string_member(arguments, "table"));
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
