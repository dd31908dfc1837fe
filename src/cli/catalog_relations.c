/* The snapshot's relations (catalog_relations.h): written from the catalog query's rows
 * through db_relations, the loader the server itself uses, and read back, checked entry by
 * entry, as rows of the same shape. */
#include "cli/catalog_relations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/json_file.h"
#include "db/relations.h"
#include "util/strings.h"

/* pg_class.relkind of each relation the policy resolves, and its name in the file. */
static const struct relation_kind {
    char relkind;
    const char *name;
} relation_kinds[] = {
    {'r', "table"}, {'p', "partitioned table"}, {'v', "view"}, {'m', "materialized view"}, {'f', "foreign table"}};

#define RELATION_KIND_COUNT (sizeof relation_kinds / sizeof *relation_kinds)

/* The file's name of a relkind, or NULL. */
static const char *kind_name(char relkind) {
    for (size_t i = 0; i < RELATION_KIND_COUNT; i++)
        if (relation_kinds[i].relkind == relkind)
            return relation_kinds[i].name;
    return NULL;
}

/* The relkind of a kind's name in the file, or 0. */
static char kind_code(const char *name) {
    for (size_t i = 0; name != NULL && i < RELATION_KIND_COUNT; i++)
        if (strcmp(relation_kinds[i].name, name) == 0)
            return relation_kinds[i].relkind;
    return 0;
}

bool cli_catalog_rows_set(db_result *rows, size_t row, int column, const char *text) {
    db_cell *cell = &rows->cells[row * 4 + (size_t)column];
    cell->value = strdup(text);
    cell->length = cell->full_length = strlen(text);
    return cell->value != NULL;
}

/* One relation as the file holds it; NULL when its kind is not one the file names or memory
 * ran out. */
static json_object *relation_entry(const catalog_relation *relation) {
    const char *kind = kind_name(relation->relkind);
    json_object *entry = kind != NULL ? json_object_new_object() : NULL;
    json_object *columns = entry != NULL ? json_object_new_array() : NULL;
    if (columns == NULL) {
        json_object_put(entry);
        return NULL;
    }
    json_object_object_add(entry, "schema", json_object_new_string(relation->schema));
    json_object_object_add(entry, "name", json_object_new_string(relation->name));
    json_object_object_add(entry, "kind", json_object_new_string(kind));
    json_object_object_add(entry, "visible", json_object_new_boolean(relation->visible));
    json_object_object_add(entry, "columns", columns);
    for (size_t i = 0; i < relation->column_count; i++)
        json_object_array_add(columns, json_object_new_string(relation->columns[i]));
    return entry;
}

bool cli_catalog_relations_write(json_object *document, const db_result *rows, const char **error) {
    db_relations set = {0};
    bool ok = true, any = false;
    for (size_t row = 0; ok && row < rows->row_count; row++) {
        const char *kind = db_result_cell(rows, row, 0)->value;
        if (kind == NULL || (strcmp(kind, "r") != 0 && strcmp(kind, "a") != 0))
            continue;
        any = any || kind[0] == 'r';
        ok = relations_take_row(&set, rows->row_count, kind[0], db_result_cell(rows, row, 1)->value,
                                db_result_cell(rows, row, 2)->value, db_result_cell(rows, row, 3)->value);
    }
    ok = relations_finish(&set) && ok; /* sorted by schema and name, columns in attnum order */
    json_object *relations = ok && any ? json_object_new_array() : NULL;
    ok = ok && (!any || relations != NULL);
    for (size_t i = 0; ok && relations != NULL && i < set.relation_count; i++) {
        json_object *entry = relation_entry(&set.relations[i]);
        ok = entry != NULL && json_object_array_add(relations, entry) == 0;
    }
    relations_clear(&set);
    if (!ok) {
        json_object_put(relations);
        *error = "a relation or column row of the catalog is malformed";
        return false;
    }
    if (relations != NULL)
        json_object_object_add(document, "relations", relations);
    return true;
}

size_t cli_catalog_relations_row_count(json_object *relations, const cli_relation *declared, size_t declared_count) {
    size_t count = 0;
    for (size_t i = 0; relations != NULL && i < json_object_array_length(relations); i++) {
        json_object *columns = NULL;
        count++;
        if (json_object_object_get_ex(json_object_array_get_idx(relations, i), "columns", &columns) &&
            json_object_is_type(columns, json_type_array))
            count += json_object_array_length(columns);
    }
    for (size_t i = 0; i < declared_count; i++)
        count += 1 + declared[i].column_count;
    return count;
}

/* One relation being loaded: the file's, a declaration's, or the file's with a declaration's
 * columns. */
typedef struct loaded_relation {
    const char *schema, *name;
    char relkind;
    bool visible;
    size_t entry;                 /* its position in the file, from 1; 0: declared only */
    json_object *columns;         /* the file's column names, or NULL */
    const cli_relation *declared; /* when set, its columns replace the file's */
} loaded_relation;

static int compare_by_name(const void *left, const void *right) {
    const loaded_relation *a = left, *b = right;
    int order = strcmp(a->schema, b->schema);
    return order != 0 ? order : strcmp(a->name, b->name);
}

static int compare_strings(const void *left, const void *right) {
    return strcmp(*(const char *const *)left, *(const char *const *)right);
}

/* Orders pointers to relations by name alone. */
static int compare_names_of(const void *left, const void *right) {
    return strcmp((*(const loaded_relation *const *)left)->name, (*(const loaded_relation *const *)right)->name);
}

/* The lesser and the greater of two entry numbers. */
static size_t lesser(size_t a, size_t b) {
    return a < b ? a : b;
}

static size_t greater(size_t a, size_t b) {
    return a < b ? b : a;
}

/* The first column named twice in columns (an array of names), or NULL; *failed when memory
 * ran out. */
static const char *repeated_column(json_object *columns, bool *failed) {
    size_t count = json_object_array_length(columns);
    if (count < 2)
        return NULL;
    const char **names = calloc(count, sizeof *names);
    if (names == NULL) {
        *failed = true;
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        names[i] = json_object_get_string(json_object_array_get_idx(columns, i));
    qsort(names, count, sizeof *names, compare_strings);
    const char *repeated = NULL;
    for (size_t i = 1; repeated == NULL && i < count; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            repeated = names[i];
    free(names);
    return repeated;
}

/* False with *problem set (caller frees; NULL when memory ran out) when a file entry's
 * columns are not an array of distinct names. */
static bool columns_well_formed(json_object *columns, char **problem) {
    if (!json_object_is_type(columns, json_type_array)) {
        *problem = strdup("has no \"columns\" array");
        return false;
    }
    if (json_object_array_length(columns) > CLI_CATALOG_MAX_COLUMNS) {
        *problem = str_printf("lists more than %d columns", CLI_CATALOG_MAX_COLUMNS);
        return false;
    }
    for (size_t i = 0; i < json_object_array_length(columns); i++)
        if (cli_json_name(json_object_array_get_idx(columns, i)) == NULL) {
            *problem = str_printf("has a column (%zu) that is not a non-empty name", i + 1);
            return false;
        }
    bool failed = false;
    const char *repeated = repeated_column(columns, &failed);
    if (repeated != NULL)
        *problem = str_printf("names column \"%s\" twice", repeated);
    return !failed && repeated == NULL;
}

/* Reads entry index of the file into *out. False with *problem set (caller frees; NULL
 * when memory ran out) when it is malformed. */
static bool read_entry(json_object *entry, size_t index, loaded_relation *out, char **problem) {
    *out = (loaded_relation){.schema = cli_json_name_member(entry, "schema"),
                             .name = cli_json_name_member(entry, "name"),
                             .relkind = 'r',
                             .entry = index + 1};
    json_object *visible = NULL, *kind = NULL;
    const char *why = NULL;
    if (!json_object_is_type(entry, json_type_object) || out->schema == NULL || out->name == NULL)
        why = "has no non-empty \"schema\" and \"name\"";
    else if (!json_object_object_get_ex(entry, "visible", &visible) || !json_object_is_type(visible, json_type_boolean))
        why = "has no \"visible\": true or false";
    else if (json_object_object_get_ex(entry, "kind", &kind) && (out->relkind = kind_code(cli_json_name(kind))) == 0)
        why = "has a \"kind\" other than \"table\", \"partitioned table\", \"view\", \"materialized view\" and "
              "\"foreign table\"";
    if (why != NULL) {
        *problem = strdup(why);
        return false;
    }
    out->visible = json_object_get_boolean(visible);
    json_object_object_get_ex(entry, "columns", &out->columns);
    return columns_well_formed(out->columns, problem);
}

/* Reads and checks every file entry into list, then sorts it by schema and name. False with
 * *error set (caller frees; NULL when memory ran out) when one is malformed or two name the
 * same relation. */
static bool read_entries(json_object *relations, loaded_relation *list, const char *path, char **error) {
    size_t count = json_object_array_length(relations);
    for (size_t i = 0; i < count; i++) {
        char *problem = NULL;
        if (read_entry(json_object_array_get_idx(relations, i), i, &list[i], &problem))
            continue;
        if (problem != NULL && list[i].schema != NULL && list[i].name != NULL)
            *error = str_printf("%s: entry %zu of \"relations\" (%s.%s) %s", path, i + 1, list[i].schema, list[i].name,
                                problem);
        else if (problem != NULL)
            *error = str_printf("%s: entry %zu of \"relations\" %s; each is {\"schema\", \"name\", \"kind\", "
                                "\"visible\": true|false, \"columns\": [names]}",
                                path, i + 1, problem);
        free(problem);
        return false;
    }
    qsort(list, count, sizeof *list, compare_by_name);
    for (size_t i = 1; i < count; i++)
        if (compare_by_name(&list[i - 1], &list[i]) == 0) {
            *error = str_printf("%s: entry %zu of \"relations\" names %s.%s again (entry %zu); give each relation once",
                                path, greater(list[i - 1].entry, list[i].entry), list[i].schema, list[i].name,
                                lesser(list[i - 1].entry, list[i].entry));
            return false;
        }
    return true;
}

/* False with *error set (caller frees; NULL when memory ran out) when two relations of list
 * are visible under one name. */
static bool visible_once(const loaded_relation *list, size_t count, const char *path, char **error) {
    const loaded_relation **visible = calloc(count ? count : 1, sizeof *visible);
    if (visible == NULL)
        return false;
    size_t shown = 0;
    for (size_t i = 0; i < count; i++)
        if (list[i].visible)
            visible[shown++] = &list[i];
    qsort(visible, shown, sizeof *visible, compare_names_of);
    bool once = true;
    for (size_t i = 1; once && i < shown; i++)
        if (strcmp(visible[i - 1]->name, visible[i]->name) == 0) {
            *error = str_printf("%s: entries %zu and %zu of \"relations\" are both \"visible\" as \"%s\"; an "
                                "unqualified name reaches one relation",
                                path, lesser(visible[i - 1]->entry, visible[i]->entry),
                                greater(visible[i - 1]->entry, visible[i]->entry), visible[i]->name);
            once = false;
        }
    free(visible);
    return once;
}

/* Merges the declarations into list (count file entries, sorted; room for declared_count
 * more): a declared relation the file holds takes the declaration's columns, another is
 * appended. Returns the new count. */
static size_t merge_declared(loaded_relation *list, size_t count, const cli_relation *declared, size_t declared_count) {
    size_t file_count = count;
    for (size_t d = 0; d < declared_count; d++) {
        loaded_relation probe = {.schema = declared[d].schema, .name = declared[d].name};
        loaded_relation *found =
            file_count > 0 ? bsearch(&probe, list, file_count, sizeof *list, compare_by_name) : NULL;
        if (found != NULL) {
            found->declared = &declared[d];
            continue;
        }
        /* Without a snapshot a declared relation's unqualified name resolves in public: so
         * here too, unless the snapshot's search_path reaches another relation of that name. */
        bool taken = strcmp(declared[d].schema, "public") != 0;
        for (size_t i = 0; !taken && i < count; i++)
            taken = list[i].visible && strcmp(list[i].name, declared[d].name) == 0;
        list[count++] = (loaded_relation){.schema = declared[d].schema,
                                          .name = declared[d].name,
                                          .relkind = 'r',
                                          .visible = !taken,
                                          .declared = &declared[d]};
    }
    return count;
}

/* Appends the 'r' row of relation, under a made-up oid, and one 'a' row per column. */
static bool append_rows(db_result *rows, const loaded_relation *relation, size_t oid) {
    char flags[32], number[24];
    snprintf(flags, sizeof flags, "%c%c%zu", relation->relkind, relation->visible ? '+' : '-', oid);
    snprintf(number, sizeof number, "%zu", oid);
    size_t row = rows->row_count++;
    bool ok = cli_catalog_rows_set(rows, row, 0, "r") && cli_catalog_rows_set(rows, row, 1, relation->schema) &&
              cli_catalog_rows_set(rows, row, 2, relation->name) && cli_catalog_rows_set(rows, row, 3, flags);
    const cli_relation *declared = relation->declared;
    size_t count = declared != NULL ? declared->column_count : json_object_array_length(relation->columns);
    for (size_t i = 0; ok && i < count; i++) {
        const char *column =
            declared != NULL ? declared->columns[i] : cli_json_name(json_object_array_get_idx(relation->columns, i));
        char attnum[24];
        snprintf(attnum, sizeof attnum, "%zu", i + 1);
        row = rows->row_count++;
        ok = cli_catalog_rows_set(rows, row, 0, "a") && cli_catalog_rows_set(rows, row, 1, number) &&
             cli_catalog_rows_set(rows, row, 2, attnum) && cli_catalog_rows_set(rows, row, 3, column);
    }
    return ok;
}

bool cli_catalog_relations_rows(db_result *rows, json_object *relations, const cli_relation *declared,
                                size_t declared_count, const char *path, char **error) {
    size_t file_count = relations != NULL ? json_object_array_length(relations) : 0;
    loaded_relation *list = calloc(file_count + declared_count + 1, sizeof *list);
    if (list == NULL) {
        *error = strdup("out of memory");
        return false;
    }
    *error = NULL;
    bool ok =
        (file_count == 0 || read_entries(relations, list, path, error)) && visible_once(list, file_count, path, error);
    size_t count = ok ? merge_declared(list, file_count, declared, declared_count) : 0;
    for (size_t i = 0; ok && i < count; i++)
        ok = append_rows(rows, &list[i], i + 1);
    if (!ok && *error == NULL)
        *error = strdup("out of memory");
    free(list);
    return ok;
}
