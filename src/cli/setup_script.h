/* The text of `pgsafe setup-sql`'s script, from what the command line asked for and (when
 * connected) what the catalog holds. Pure: no I/O, so tests can build every variant.
 *
 *   setup_request request = {"pgsafe_reader", 5, {NULL, 0}};    // no schemas: public
 *   char *text = setup_script(&request, NULL);                 // offline; NULL: out of memory
 *   free(text); */
#ifndef PGSAFE_CLI_SETUP_SCRIPT_H
#define PGSAFE_CLI_SETUP_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include "pgsafe/guard.h"

/* A list of names, each owned. */
typedef struct setup_names {
    char **items;
    size_t count;
} setup_names;

/* Appends a copy of name[0..length). False when out of memory (the list is unchanged). */
bool setup_names_add(setup_names *list, const char *name, size_t length);
bool setup_names_contains(const setup_names *list, const char *name);
void setup_names_free(setup_names *list);

typedef struct setup_relation {
    char *schema;
    char *name;
    char kind;           /* pg_class.relkind */
    setup_names columns; /* in order; read when a data owner's policy is given */
} setup_relation;

/* What the connected database holds. */
typedef struct setup_facts {
    char *database;
    setup_names schemas;       /* chosen and found, at least one */
    setup_relation *relations; /* in schema, name order */
    size_t relation_count;
    setup_names owners; /* roles that own the schemas or their relations: they create tables later */
} setup_facts;

void setup_facts_free(setup_facts *facts);

typedef struct setup_request {
    const char *role;           /* 1 to 63 bytes, no control characters */
    long connection_limit;      /* 1 to 1000 */
    setup_names schemas;        /* offline: the schemas to grant on; empty means public */
    const guard_policy *policy; /* --tables, --deny-columns (connected only), or NULL */
} setup_request;

/* The psql script for request; facts is NULL offline. With a table or column policy, a
 * relation outside --tables gets no grant, one with a denied column a column-level GRANT
 * SELECT (allowed columns) ON TABLE, and no default privileges are given (a table created
 * later could hold anything); the policy needs facts. */
/* The psql script for request; facts is NULL offline (then request->schemas, or public,
 * are granted on). Returns it (caller frees), or NULL when out of memory: never a script
 * with a part missing. */
char *setup_script(const setup_request *request, const setup_facts *facts);

#endif
