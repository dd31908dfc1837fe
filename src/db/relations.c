/* The catalog's relations (relations.h): rows taken in any order, then columns attached by
 * oid, and lookups by name. */
#include "db/relations.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Orders relations by (schema, name), for qsort and bsearch. */
static int compare_relations(const void *left, const void *right) {
    const catalog_relation *a = left, *b = right;
    int by_schema = strcmp(a->schema, b->schema);
    return by_schema != 0 ? by_schema : strcmp(a->name, b->name);
}

static void fill_relation(const catalog_relation *relation, guard_relation *out) {
    out->kind = relation->kind;
    out->schema = relation->schema;
    out->name = relation->name;
    out->columns = (const char *const *)relation->columns;
    out->column_count = relation->column_count;
    out->ancestors = NULL; /* catalog.c adds them from its family lists */
    out->ancestor_count = 0;
}

/* The guard's relation callback: a qualified name in its schema, an unqualified one as the
 * pinned search_path resolves it. */
bool relations_lookup(const db_relations *set, const char *schema, const char *name, guard_relation *out) {
    if (name == NULL)
        return false;
    if (schema != NULL) {
        catalog_relation probe = {.schema = (char *)schema, .name = (char *)name};
        const catalog_relation *found = set->relation_count > 0 ? bsearch(&probe, set->relations, set->relation_count,
                                                                          sizeof probe, compare_relations)
                                                                : NULL;
        if (found != NULL)
            fill_relation(found, out);
        return found != NULL;
    }
    for (size_t i = 0; i < set->relation_count; i++)
        if (set->relations[i].visible && strcmp(set->relations[i].name, name) == 0) {
            fill_relation(&set->relations[i], out);
            return true;
        }
    return false;
}

/* Frees the rows read but not yet attached to their relations, and forgets them. */
static void free_pending(db_relations *set) {
    for (size_t i = 0; i < set->pending_count; i++)
        free(set->pending[i].name);
    free(set->pending);
    set->pending = NULL;
    set->pending_count = 0;
}

void relations_clear(db_relations *set) {
    for (size_t i = 0; i < set->relation_count; i++) {
        catalog_relation *relation = &set->relations[i];
        free(relation->schema);
        free(relation->name);
        for (size_t c = 0; c < relation->column_count; c++)
            free(relation->columns[c]);
        free(relation->columns);
    }
    free(set->relations);
    set->relations = NULL;
    set->relation_count = 0;
    free_pending(set);
}

static guard_relation_kind relation_kind(char relkind) {
    switch (relkind) {
    case 'r':
    case 'p': return GUARD_RELATION_KIND_TABLE;
    case 'v':
    case 'm': return GUARD_RELATION_KIND_VIEW;
    case 'f': return GUARD_RELATION_KIND_FOREIGN_TABLE;
    default: return GUARD_RELATION_KIND_OTHER;
    }
}

/* A relation row: schema, name, relkind '+'/'-' oid. relations has room for every row. */
static bool note_relation(db_relations *set, size_t row_count, const char *schema, const char *name,
                          const char *flags) {
    if (schema == NULL || name == NULL || flags == NULL || strlen(flags) < 3 || (flags[1] != '+' && flags[1] != '-'))
        return false;
    if (set->relations == NULL && (set->relations = calloc(row_count, sizeof *set->relations)) == NULL)
        return false;
    assert(set->relation_count < row_count);
    catalog_relation *relation = &set->relations[set->relation_count];
    relation->oid = (unsigned)strtoul(flags + 2, NULL, 10);
    relation->kind = relation_kind(flags[0]);
    relation->relkind = flags[0];
    relation->visible = flags[1] == '+';
    relation->schema = strdup(schema);
    relation->name = strdup(name);
    set->relation_count++; /* counted now, so that clear_relations frees what was copied */
    return relation->schema != NULL && relation->name != NULL;
}

/* A column row: relation oid, attnum, name. pending has room for every row. */
static bool note_column(db_relations *set, size_t row_count, const char *oid, const char *attnum, const char *name) {
    if (oid == NULL || attnum == NULL || name == NULL)
        return false;
    if (set->pending == NULL && (set->pending = calloc(row_count, sizeof *set->pending)) == NULL)
        return false;
    assert(set->pending_count < row_count);
    pending_column *column = &set->pending[set->pending_count];
    column->oid = (unsigned)strtoul(oid, NULL, 10);
    column->attnum = atoi(attnum);
    column->name = strdup(name);
    set->pending_count++;
    return column->name != NULL;
}

static int compare_pending(const void *left, const void *right) {
    const pending_column *a = left, *b = right;
    if (a->oid != b->oid)
        return (a->oid > b->oid) - (a->oid < b->oid);
    return (a->attnum > b->attnum) - (a->attnum < b->attnum);
}

static int compare_relation_oids(const void *left, const void *right) {
    unsigned a = ((const catalog_relation *)left)->oid, b = ((const catalog_relation *)right)->oid;
    return (a > b) - (a < b);
}

/* Hands each pending column to its relation, in attnum order, and sorts the relations by
 * name for lookups. False when memory runs out. */
static bool attach_columns(db_relations *set) {
    if (set->relation_count == 0)
        return true;
    qsort(set->relations, set->relation_count, sizeof *set->relations, compare_relation_oids);
    if (set->pending_count > 0)
        qsort(set->pending, set->pending_count, sizeof *set->pending, compare_pending);
    size_t next = 0;
    for (size_t r = 0; r < set->relation_count; r++) {
        catalog_relation *relation = &set->relations[r];
        while (next < set->pending_count && set->pending[next].oid < relation->oid)
            next++; /* a column of a relation not listed (it vanished between the two scans) */
        size_t first = next;
        while (next < set->pending_count && set->pending[next].oid == relation->oid)
            next++;
        if (next == first)
            continue;
        relation->columns = calloc(next - first, sizeof *relation->columns);
        if (relation->columns == NULL)
            return false;
        for (size_t i = first; i < next; i++) {
            relation->columns[relation->column_count++] = set->pending[i].name;
            set->pending[i].name = NULL; /* the relation owns it now */
        }
    }
    qsort(set->relations, set->relation_count, sizeof *set->relations, compare_relations);
    return true;
}

bool relations_take_row(db_relations *set, size_t row_count, char kind, const char *a, const char *b, const char *c) {
    switch (kind) {
    case 'r': return note_relation(set, row_count, a, b, c);
    case 'a': return note_column(set, row_count, a, b, c);
    default: return false;
    }
}

bool relations_finish(db_relations *set) {
    bool ok = attach_columns(set);
    free_pending(set);
    return ok;
}
