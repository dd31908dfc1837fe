/* The live catalog: volatility of user objects, inheritance and partitioning, hazards, what
 * --deny-function must reach, type names and the role's posture, all from one query (text in
 * catalog_sql.c), one round trip. The rows come in as a db_result; no connections here. */
#include "db/catalog.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "db/clock.h"
#include "db/function_links.h"
#include "db/nametable.h"
#include "db/relations.h"
#include "util/strings.h"

typedef struct type_name {
    unsigned oid;
    char *name;
} type_name;

/* A relation on either side of pg_inherits. */
typedef struct relation {
    unsigned oid;
    char *schema, *name;
} relation;

/* A growable list of relations, always ended by an entry whose name is NULL (the shape
 * guard_catalog's relation_ancestors and relation_descendants return). */
typedef struct family_list {
    guard_relation_name *items; /* count + 1 entries, the last all NULL */
    size_t count, capacity;
} family_list;

struct db_catalog {
    nametable volatilities; /* key "kind\x1fschema\x1fname" (schema "": worst of all), a guard_volatility */
    type_name *types;       /* sorted by oid */
    size_t type_count;
    relation *relations; /* sorted by oid; the family lists point at their strings */
    size_t relation_count;
    nametable families; /* key "a|d\x1fschema\x1fname" (schema "": the union), index into lists */
    family_list *lists;
    size_t list_count, list_capacity;
    nametable hazards; /* key "T|R|F\x1fschema\x1fname" (schema "": the first), index into reasons */
    char **reasons;    /* owned: the why of each hazard */
    size_t reason_count, reason_capacity;
    const char *global_hazard;     /* one of reasons, or NULL */
    db_relations policy_relations; /* with their columns, for --tables/--deny-columns (db/relations.h) */
    function_links functions;      /* what operators, casts and implicit uses call, for --deny-function */
    int64_t loaded_at;
    guard_catalog guard; /* callbacks with context = this */
};

/* pg_proc.provolatile's code; UNKNOWN for NULL or anything else. */
static guard_volatility parse_volatility(const char *code) {
    if (code == NULL)
        return GUARD_VOLATILITY_UNKNOWN;
    switch (code[0]) {
    case 'i': return GUARD_VOLATILITY_IMMUTABLE;
    case 's': return GUARD_VOLATILITY_STABLE;
    case 'v': return GUARD_VOLATILITY_VOLATILE;
    default: return GUARD_VOLATILITY_UNKNOWN;
    }
}

/* UNKNOWN is worst of all: an object we cannot classify must not make its name look safe. */
static int rank(guard_volatility volatility) {
    switch (volatility) {
    case GUARD_VOLATILITY_IMMUTABLE: return 0;
    case GUARD_VOLATILITY_STABLE: return 1;
    case GUARD_VOLATILITY_VOLATILE: return 2;
    default: return 3;
    }
}

/* Records volatility under the key, keeping the worst seen. Returns false when out of
 * memory (the table holds what it held). */
static bool note(db_catalog *catalog, char kind, const char *schema, const char *name, guard_volatility volatility) {
    if (!nametable_reserve(&catalog->volatilities))
        return false;
    char *key = nametable_key(kind, schema, name);
    if (key == NULL)
        return false;
    nametable_entry *slot = nametable_slot(&catalog->volatilities, key);
    assert(slot != NULL); /* nametable_reserve left room */
    if (slot->key == NULL) {
        slot->key = key; /* the table owns it now */
        slot->value = (int)volatility;
        catalog->volatilities.count++;
        return true;
    }
    free(key);
    if (rank(volatility) > rank((guard_volatility)slot->value))
        slot->value = (int)volatility;
    return true;
}

/* The worst volatility recorded for the object; UNKNOWN when absent or out of memory. */
static guard_volatility lookup(const db_catalog *catalog, char kind, const char *schema, const char *name) {
    if (catalog->volatilities.capacity == 0 || name == NULL)
        return GUARD_VOLATILITY_UNKNOWN;
    char *key = nametable_key(kind, schema, name);
    if (key == NULL)
        return GUARD_VOLATILITY_UNKNOWN;
    const nametable_entry *slot = nametable_slot(&catalog->volatilities, key);
    free(key);
    return slot && slot->key ? (guard_volatility)slot->value : GUARD_VOLATILITY_UNKNOWN;
}

/* The guard_catalog callbacks; context is the catalog. */
static guard_volatility function_volatility(void *context, const char *schema, const char *name) {
    return lookup(context, 'f', schema, name);
}

static guard_volatility operator_volatility(void *context, const char *schema, const char *name) {
    return lookup(context, 'o', schema, name);
}

static guard_volatility type_volatility(void *context, const char *schema, const char *name) {
    return lookup(context, 't', schema, name);
}

/* The value stored under a key of table, or -1 when absent (or out of memory). */
static int find_index(const nametable *table, char kind, const char *schema, const char *name) {
    if (table->capacity == 0 || name == NULL)
        return -1;
    char *key = nametable_key(kind, schema, name);
    if (key == NULL)
        return -1;
    const nametable_entry *slot = nametable_slot(table, key);
    free(key);
    return slot && slot->key ? slot->value : -1;
}

static const guard_relation_name *family(const db_catalog *catalog, char kind, const char *schema, const char *name) {
    int index = find_index(&catalog->families, kind, schema, name);
    assert(index < 0 || (size_t)index < catalog->list_count);
    return index < 0 ? NULL : catalog->lists[index].items;
}

static const guard_relation_name *relation_ancestors(void *context, const char *schema, const char *name) {
    return family(context, 'a', schema, name);
}

static const guard_relation_name *relation_descendants(void *context, const char *schema, const char *name) {
    return family(context, 'd', schema, name);
}

static const char *hazard(const db_catalog *catalog, char kind, const char *schema, const char *name) {
    int index = find_index(&catalog->hazards, kind, schema, name);
    assert(index < 0 || (size_t)index < catalog->reason_count);
    return index < 0 ? NULL : catalog->reasons[index];
}

static const char *relation_hazard(void *context, const char *schema, const char *name) {
    return hazard(context, 'R', schema, name);
}

static const char *type_hazard(void *context, const char *schema, const char *name) {
    return hazard(context, 'T', schema, name);
}

static const char *function_hazard(void *context, const char *schema, const char *name) {
    return hazard(context, 'F', schema, name);
}

static const char *global_hazard(void *context) {
    return ((const db_catalog *)context)->global_hazard;
}

static const guard_function_name *operator_functions(void *context, const char *schema, const char *name) {
    return function_links_find(&((const db_catalog *)context)->functions, 'o', schema, name);
}

static const guard_function_name *cast_functions(void *context, const char *schema, const char *name) {
    return function_links_find(&((const db_catalog *)context)->functions, 'c', schema, name);
}

static const guard_function_name *implicit_functions(void *context, char kind, const char *schema, const char *name) {
    return function_links_find(&((const db_catalog *)context)->functions, kind, schema, name);
}

/* With its ancestors: the family list of its resolved name (unique in pg_class). */
static bool policy_relation(void *context, const char *schema, const char *name, guard_relation *out) {
    if (!relations_lookup(&((const db_catalog *)context)->policy_relations, schema, name, out))
        return false;
    out->ancestors = family(context, 'a', out->schema, out->name);
    while (out->ancestors != NULL && out->ancestors[out->ancestor_count].name != NULL)
        out->ancestor_count++;
    return true;
}

db_catalog *catalog_new(void) {
    db_catalog *catalog = calloc(1, sizeof *catalog);
    if (catalog == NULL)
        return NULL;
    catalog->guard.function_volatility = function_volatility;
    catalog->guard.operator_volatility = operator_volatility;
    catalog->guard.type_volatility = type_volatility;
    catalog->guard.relation_ancestors = relation_ancestors;
    catalog->guard.relation_descendants = relation_descendants;
    catalog->guard.relation_hazard = relation_hazard;
    catalog->guard.type_hazard = type_hazard;
    catalog->guard.function_hazard = function_hazard;
    catalog->guard.global_hazard = global_hazard;
    catalog->guard.relation = policy_relation;
    catalog->guard.operator_functions = operator_functions;
    catalog->guard.cast_functions = cast_functions;
    catalog->guard.implicit_functions = implicit_functions;
    catalog->guard.context = catalog;
    return catalog;
}

/* Frees the tables (not the catalog itself nor its guard callbacks). */
static void clear_contents(db_catalog *catalog) {
    relations_clear(&catalog->policy_relations);
    function_links_clear(&catalog->functions);
    nametable_clear(&catalog->volatilities);
    for (size_t i = 0; i < catalog->type_count; i++)
        free(catalog->types[i].name);
    free(catalog->types);
    catalog->types = NULL;
    catalog->type_count = 0;
    for (size_t i = 0; i < catalog->relation_count; i++) {
        free(catalog->relations[i].schema);
        free(catalog->relations[i].name);
    }
    free(catalog->relations);
    catalog->relations = NULL;
    catalog->relation_count = 0;
    nametable_clear(&catalog->families);
    for (size_t i = 0; i < catalog->list_count; i++)
        free(catalog->lists[i].items);
    free(catalog->lists);
    catalog->lists = NULL;
    catalog->list_count = catalog->list_capacity = 0;
    nametable_clear(&catalog->hazards);
    for (size_t i = 0; i < catalog->reason_count; i++)
        free(catalog->reasons[i]);
    free(catalog->reasons);
    catalog->reasons = NULL;
    catalog->reason_count = catalog->reason_capacity = 0;
    catalog->global_hazard = NULL;
}

void catalog_free(db_catalog *catalog) {
    if (catalog == NULL)
        return;
    clear_contents(catalog);
    free(catalog);
}

/* Orders type names or relations by oid (the first member of both), for qsort and bsearch. */
static int compare_oids(const void *left, const void *right) {
    _Static_assert(offsetof(type_name, oid) == 0 && offsetof(relation, oid) == 0, "oid first");
    unsigned a = *(const unsigned *)left, b = *(const unsigned *)right;
    return (a > b) - (a < b);
}

/* The relation of an oid from the 'rel' rows, or NULL. */
static const relation *find_relation(const db_catalog *catalog, const char *oid) {
    if (oid == NULL || catalog->relation_count == 0)
        return NULL;
    relation probe = {.oid = (unsigned)strtoul(oid, NULL, 10)};
    return bsearch(&probe, catalog->relations, catalog->relation_count, sizeof probe, compare_oids);
}

/* Appends member to the family list kind ('a' ancestors, 'd' descendants) of (schema, name). */
static bool list_append(db_catalog *catalog, char kind, const char *schema, const char *name, const relation *member) {
    if (catalog->list_count == catalog->list_capacity) {
        size_t capacity = catalog->list_capacity ? catalog->list_capacity * 2 : 16;
        family_list *grown = realloc(catalog->lists, capacity * sizeof *grown);
        if (grown == NULL)
            return false;
        catalog->lists = grown;
        catalog->list_capacity = capacity;
    }
    bool created;
    int index = nametable_intern(&catalog->families, kind, schema, name, (int)catalog->list_count, &created);
    if (index < 0)
        return false;
    if (created)
        catalog->lists[catalog->list_count++] = (family_list){0};
    family_list *list = &catalog->lists[index];
    if (list->count + 1 >= list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 4;
        guard_relation_name *grown = realloc(list->items, capacity * sizeof *grown);
        if (grown == NULL)
            return false;
        list->items = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = (guard_relation_name){member->schema, member->name};
    list->items[list->count] = (guard_relation_name){NULL, NULL};
    return true;
}

/* One 'inh' row: descendant inherits from ancestor (oids of 'rel' rows). Each is listed
 * under the other's schema-qualified name and under its bare name, which stands for the
 * relations of that name in every schema. */
static bool load_inheritance(db_catalog *catalog, const char *descendant_oid, const char *ancestor_oid) {
    const relation *descendant = find_relation(catalog, descendant_oid);
    const relation *ancestor = find_relation(catalog, ancestor_oid);
    if (descendant == NULL || ancestor == NULL)
        return false;
    return list_append(catalog, 'a', descendant->schema, descendant->name, ancestor) &&
           list_append(catalog, 'a', NULL, descendant->name, ancestor) &&
           list_append(catalog, 'd', ancestor->schema, ancestor->name, descendant) &&
           list_append(catalog, 'd', NULL, ancestor->name, descendant);
}

/* Keeps a copy of why; its index, or -1 when memory runs out. */
static int keep_reason(db_catalog *catalog, const char *why) {
    if (catalog->reason_count == catalog->reason_capacity) {
        size_t capacity = catalog->reason_capacity ? catalog->reason_capacity * 2 : 16;
        char **grown = realloc(catalog->reasons, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        catalog->reasons = grown;
        catalog->reason_capacity = capacity;
    }
    char *copy = strdup(why);
    if (copy == NULL)
        return -1;
    catalog->reasons[catalog->reason_count] = copy;
    return (int)catalog->reason_count++;
}

/* One hazard row: kind 'T', 'R' or 'F', under its schema-qualified name and its bare name
 * (the first reason of any schema: an unqualified name may resolve to any of them). */
static bool load_hazard(db_catalog *catalog, char kind, const char *schema, const char *name, const char *why) {
    int reason = keep_reason(catalog, why);
    if (reason < 0)
        return false;
    bool created;
    return nametable_intern(&catalog->hazards, kind, schema, name, reason, &created) >= 0 &&
           nametable_intern(&catalog->hazards, kind, NULL, name, reason, &created) >= 0;
}

/* What is being loaded: the fresh catalog and posture, and the posture's hazard summary. */
typedef struct load_state {
    db_catalog *catalog;
    db_posture *posture;
    int write_rows;  /* posture_take_row's count of "write" rows */
    strbuf hazards;  /* the first few hazards, for the posture */
    size_t shown;    /* how many hazards hazards names */
    size_t inh_rows; /* 'inh' rows, read once the relations are sorted */
} load_state;

/* How many hazards the posture names; the rest are counted. */
#define HAZARDS_SHOWN 3

/* Notes a hazard for the posture's summary. */
static void summarize_hazard(load_state *state, const char *kind, const char *schema, const char *name,
                             const char *why) {
    state->posture->hazard_count++;
    if (state->shown == HAZARDS_SHOWN)
        return;
    strbuf_printf(&state->hazards, "%s%s %s.%s (%s)", state->shown ? "; " : "", kind, schema, name, why);
    state->shown++;
}

/* Records a hazard row ("hazard type", "hazard relation", "hazard function", "hazard
 * global"). Returns false when it is malformed or memory ran out. */
static bool load_hazard_row(load_state *state, const char *kind, const char *schema, const char *name,
                            const char *why) {
    if (schema == NULL || name == NULL || why == NULL)
        return false;
    const char *what = kind + strlen("hazard ");
    db_catalog *catalog = state->catalog;
    summarize_hazard(state, what, schema, name, why);
    if (strcmp(what, "global") == 0) {
        state->posture->hazard_global = true;
        if (catalog->global_hazard != NULL)
            return true;
        char *text = str_printf("type %s.%s: %s", schema, name, why);
        int reason = text != NULL ? keep_reason(catalog, text) : -1;
        free(text);
        if (reason < 0)
            return false;
        catalog->global_hazard = catalog->reasons[reason];
        return true;
    }
    char code = strcmp(what, "type") == 0       ? 'T'
                : strcmp(what, "relation") == 0 ? 'R'
                : strcmp(what, "function") == 0 ? 'F'
                                                : 0;
    return code != 0 && load_hazard(catalog, code, schema, name, why);
}

/* Records one row (kind, a, b, c) into a fresh catalog and posture; 'inh' rows are only
 * counted (they need every 'rel' row first). types and relations have room for every row.
 * Returns false when the row is malformed or memory ran out. */
static bool load_row(load_state *state, const db_result *rows, size_t row) {
    db_catalog *catalog = state->catalog;
    const char *kind = db_result_cell(rows, row, 0)->value;
    const char *a = db_result_cell(rows, row, 1)->value;
    const char *b = db_result_cell(rows, row, 2)->value;
    const char *c = db_result_cell(rows, row, 3)->value;
    if (kind == NULL)
        return false;
    if (strcmp(kind, "f") == 0 || strcmp(kind, "o") == 0 || strcmp(kind, "t") == 0) {
        if (a == NULL || b == NULL)
            return false;
        guard_volatility volatility = parse_volatility(c);
        return note(catalog, kind[0], a, b, volatility) && note(catalog, kind[0], NULL, b, volatility);
    }
    if (strcmp(kind, "n") == 0) {
        if (a == NULL || b == NULL)
            return false;
        assert(catalog->type_count < rows->row_count);
        type_name *slot = &catalog->types[catalog->type_count];
        slot->oid = (unsigned)strtoul(a, NULL, 10);
        slot->name = strdup(b);
        if (slot->name == NULL)
            return false;
        catalog->type_count++;
        return true;
    }
    if (strcmp(kind, "of") == 0 || strcmp(kind, "cf") == 0)
        return function_links_take_row(&catalog->functions, kind[0] == 'o' ? 'o' : 'c', a, b, c);
    if (strcmp(kind, "r") == 0 || strcmp(kind, "a") == 0)
        return relations_take_row(&catalog->policy_relations, rows->row_count, kind[0], a, b, c);
    if (strcmp(kind, "rel") == 0) {
        if (a == NULL || b == NULL || c == NULL)
            return false;
        assert(catalog->relation_count < rows->row_count);
        relation *slot = &catalog->relations[catalog->relation_count];
        slot->oid = (unsigned)strtoul(a, NULL, 10);
        slot->schema = strdup(b);
        slot->name = strdup(c);
        catalog->relation_count++; /* counted either way, so clear_contents frees what was had */
        return slot->schema != NULL && slot->name != NULL;
    }
    if (strcmp(kind, "inh") == 0) {
        state->inh_rows++;
        return a != NULL && b != NULL;
    }
    if (strncmp(kind, "hazard ", strlen("hazard ")) == 0)
        return load_hazard_row(state, kind, a, b, c);
    if (strncmp(kind, "implicit ", strlen("implicit ")) == 0)
        return function_links_take_implicit(&catalog->functions, kind + strlen("implicit "), a, b, c);
    return posture_take_row(state->posture, kind, a, b, c, &state->write_rows) == POSTURE_ROW_TAKEN;
}

/* The 'inh' rows, once every 'rel' row is in and sorted. */
static bool load_families(db_catalog *catalog, const db_result *rows) {
    qsort(catalog->relations, catalog->relation_count, sizeof *catalog->relations, compare_oids);
    for (size_t row = 0; row < rows->row_count; row++) {
        const char *kind = db_result_cell(rows, row, 0)->value;
        if (strcmp(kind, "inh") == 0 &&
            !load_inheritance(catalog, db_result_cell(rows, row, 1)->value, db_result_cell(rows, row, 2)->value))
            return false;
    }
    return true;
}

/* The posture's hazard text: the first few, and how many more. */
static bool finish_hazards(load_state *state) {
    db_posture *posture = state->posture;
    if (posture->hazard_count > state->shown)
        strbuf_printf(&state->hazards, "; and %zu more", posture->hazard_count - state->shown);
    if (posture->hazard_count == 0) {
        strbuf_free(&state->hazards);
        return true;
    }
    posture->hazards = strbuf_take(&state->hazards);
    return posture->hazards != NULL;
}

/* Reads every row into a fresh catalog and posture (the caller's, overwritten). Returns
 * false (both cleared) when the result failed or a row is malformed; on true the caller
 * owns what both hold. */
static bool read_rows(const db_result *rows, db_catalog *fresh, db_posture *found) {
    *fresh = (db_catalog){0};
    *found = (db_posture){0};
    if (rows->status != DB_OK || rows->column_count != 4 || rows->truncated != DB_COMPLETE)
        return false;
    load_state state = {.catalog = fresh, .posture = found};
    size_t room = rows->row_count ? rows->row_count : 1;
    fresh->types = calloc(room, sizeof *fresh->types);
    fresh->relations = calloc(room, sizeof *fresh->relations);
    bool ok = fresh->types != NULL && fresh->relations != NULL;
    for (size_t row = 0; ok && row < rows->row_count; row++)
        ok = load_row(&state, rows, row);
    ok = ok && (state.inh_rows == 0 || load_families(fresh, rows)) && finish_hazards(&state);
    ok = relations_finish(&fresh->policy_relations) && ok;
    if (!ok) {
        strbuf_free(&state.hazards);
        clear_contents(fresh);
        posture_clear(found);
    }
    return ok;
}

/* Moves found into posture (marked known), freeing what posture held. */
static void replace_posture(db_posture *posture, db_posture *found) {
    found->known = true;
    posture_clear(posture);
    *posture = *found;
    *found = (db_posture){0};
}

bool catalog_load(db_catalog *catalog, db_posture *posture, const db_result *rows) {
    db_catalog fresh;
    db_posture found;
    if (!read_rows(rows, &fresh, &found))
        return false;
    qsort(fresh.types, fresh.type_count, sizeof *fresh.types, compare_oids);
    clear_contents(catalog);
    /* Everything but the guard callbacks and their context, which stay the catalog's own. */
    guard_catalog guard = catalog->guard;
    *catalog = fresh;
    catalog->guard = guard;
    catalog->loaded_at = db_now_ms();
    replace_posture(posture, &found);
    return true;
}

bool catalog_load_posture(db_posture *posture, const db_result *rows) {
    db_catalog scratch;
    db_posture found;
    if (!read_rows(rows, &scratch, &found))
        return false;
    /* Posture and hazard rows only: anything else means the wrong query's rows. */
    bool ok = scratch.volatilities.count == 0 && scratch.type_count == 0 && scratch.relation_count == 0 &&
              found.role != NULL && scratch.policy_relations.relation_count == 0 && scratch.functions.list_count == 0;
    clear_contents(&scratch);
    if (!ok) {
        posture_clear(&found);
        return false;
    }
    replace_posture(posture, &found);
    return true;
}

const guard_catalog *catalog_for_guard(db_catalog *catalog) {
    return &catalog->guard;
}

const char *catalog_type_name(const db_catalog *catalog, unsigned type_oid) {
    if (catalog == NULL || catalog->type_count == 0)
        return NULL;
    assert(catalog->types[0].oid <= catalog->types[catalog->type_count - 1].oid); /* sorted at load */
    type_name probe = {.oid = type_oid};
    const type_name *found = bsearch(&probe, catalog->types, catalog->type_count, sizeof probe, compare_oids);
    return found ? found->name : NULL;
}

const char *catalog_type_name_fn(const void *catalog, unsigned type_oid) {
    return catalog_type_name(catalog, type_oid);
}

int64_t catalog_loaded_at(const db_catalog *catalog) {
    return catalog->loaded_at;
}

size_t catalog_count(const db_catalog *catalog, char kind) {
    if (kind == 'r')
        return catalog->policy_relations.relation_count;
    size_t count = 0;
    /* Each object is noted twice: under "kind\x1fschema\x1fname" and under the bare name. */
    for (size_t i = 0; i < catalog->volatilities.capacity; i++) {
        const char *key = catalog->volatilities.entries[i].key;
        if (key != NULL && key[0] == kind && key[2] != '\x1f')
            count++;
    }
    return count;
}
