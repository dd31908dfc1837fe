/* The catalog snapshot format: written from the catalog query's rows, read back through
 * catalog_load, so that a snapshot and a live connection fill one and the same lookup. */
#include "cli/catalog_file.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/catalog_relations.h"
#include "cli/json_file.h"
#include "mcp/json.h"
#include "util/strings.h"

/* The object kinds of the catalog query ('f', 'o', 't') and their arrays in the file. */
static const struct kind {
    char code;
    const char *member;
} kinds[] = {{'f', "functions"}, {'o', "operators"}, {'t', "types"}};

#define KIND_COUNT (sizeof kinds / sizeof *kinds)

/* The volatility codes of pg_proc.provolatile ('u': no function behind an operator) and
 * their names in the file, from harmless to worst. */
static const struct volatility {
    char code;
    const char *name;
} volatilities[] = {{'i', "immutable"}, {'s', "stable"}, {'v', "volatile"}, {'u', "unknown"}};

#define VOLATILITY_COUNT (sizeof volatilities / sizeof *volatilities)

/* The rank of a volatility code: anything unrecognised is as bad as unknown. */
static size_t volatility_rank(const char *code) {
    for (size_t i = 0; code != NULL && i < VOLATILITY_COUNT; i++)
        if (code[0] == volatilities[i].code && code[1] == '\0')
            return i;
    return VOLATILITY_COUNT - 1;
}

/* One object row of the catalog query. */
typedef struct object_row {
    char kind;
    const char *schema, *name; /* borrowed from the rows */
    size_t rank;
} object_row;

static int compare_rows(const void *left, const void *right) {
    const object_row *a = left, *b = right;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    int order = strcmp(a->schema, b->schema);
    return order != 0 ? order : strcmp(a->name, b->name);
}

static json_object *new_string_or_null(const char *text) {
    return text != NULL ? json_object_new_string(text) : NULL;
}

/* The major version at the start of a server_version string ("15.8 (Debian ...)"), or 0. */
static int major_of(const char *server_version) {
    if (server_version == NULL)
        return 0;
    int major = 0;
    for (const char *p = server_version; *p >= '0' && *p <= '9' && major < 1000; p++)
        major = major * 10 + (*p - '0');
    return major;
}

/* The 'rel' row of an oid, or SIZE_MAX. */
static size_t relation_row(const db_result *rows, const char *oid) {
    for (size_t row = 0; oid != NULL && row < rows->row_count; row++)
        if (strcmp(db_result_cell(rows, row, 0)->value, "rel") == 0 && db_result_cell(rows, row, 1)->value != NULL &&
            strcmp(db_result_cell(rows, row, 1)->value, oid) == 0)
            return row;
    return SIZE_MAX;
}

/* Orders entries of a JSON array by their "schema" then "name" (then "kind"). */
static int compare_entries(const void *left, const void *right) {
    json_object *a = *(json_object *const *)left, *b = *(json_object *const *)right;
    static const char *const members[] = {"kind",          "schema",          "name",         "ancestor_schema",
                                          "ancestor_name", "function_schema", "function_name"};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
        json_object *x = NULL, *y = NULL;
        json_object_object_get_ex(a, members[i], &x);
        json_object_object_get_ex(b, members[i], &y);
        int order = strcmp(x ? json_object_get_string(x) : "", y ? json_object_get_string(y) : "");
        if (order != 0)
            return order;
    }
    return 0;
}

/* "families": one {"schema", "name", "ancestor_schema", "ancestor_name"} per 'inh' row,
 * sorted. False when a row names a relation the 'rel' rows do not hold. */
static bool add_families(json_object *document, const db_result *rows) {
    json_object *families = json_object_new_array();
    json_object_object_add(document, "families", families);
    for (size_t row = 0; row < rows->row_count; row++) {
        if (strcmp(db_result_cell(rows, row, 0)->value, "inh") != 0)
            continue;
        size_t descendant = relation_row(rows, db_result_cell(rows, row, 1)->value);
        size_t ancestor = relation_row(rows, db_result_cell(rows, row, 2)->value);
        if (descendant == SIZE_MAX || ancestor == SIZE_MAX || db_result_cell(rows, descendant, 2)->value == NULL ||
            db_result_cell(rows, descendant, 3)->value == NULL || db_result_cell(rows, ancestor, 2)->value == NULL ||
            db_result_cell(rows, ancestor, 3)->value == NULL)
            return false;
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "schema", json_object_new_string(db_result_cell(rows, descendant, 2)->value));
        json_object_object_add(entry, "name", json_object_new_string(db_result_cell(rows, descendant, 3)->value));
        json_object_object_add(entry, "ancestor_schema",
                               json_object_new_string(db_result_cell(rows, ancestor, 2)->value));
        json_object_object_add(entry, "ancestor_name",
                               json_object_new_string(db_result_cell(rows, ancestor, 3)->value));
        json_object_array_add(families, entry);
    }
    json_object_array_sort(families, compare_entries);
    return true;
}

/* "hazards": one {"kind", "schema", "name", "why"} per hazard row, sorted; kind is "type",
 * "relation", "function" or "global". */
static bool add_hazards(json_object *document, const db_result *rows) {
    json_object *hazards = json_object_new_array();
    json_object_object_add(document, "hazards", hazards);
    for (size_t row = 0; row < rows->row_count; row++) {
        const char *kind = db_result_cell(rows, row, 0)->value;
        if (strncmp(kind, "hazard ", 7) != 0)
            continue;
        const char *schema = db_result_cell(rows, row, 1)->value, *name = db_result_cell(rows, row, 2)->value;
        const char *why = db_result_cell(rows, row, 3)->value;
        if (schema == NULL || name == NULL || why == NULL)
            return false;
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "kind", json_object_new_string(kind + 7));
        json_object_object_add(entry, "schema", json_object_new_string(schema));
        json_object_object_add(entry, "name", json_object_new_string(name));
        json_object_object_add(entry, "why", json_object_new_string(why));
        json_object_array_add(hazards, entry);
    }
    json_object_array_sort(hazards, compare_entries);
    return true;
}

/* "calls": what --deny-function reaches through operators and casts, one {"kind":
 * "operator"|"cast", "schema", "name", "function_schema", "function_name"} per 'of'/'cf' row. */
static bool add_calls(json_object *document, const db_result *rows) {
    json_object *calls = json_object_new_array();
    json_object_object_add(document, "calls", calls);
    for (size_t row = 0; row < rows->row_count; row++) {
        const char *kind = db_result_cell(rows, row, 0)->value;
        if (strcmp(kind, "of") != 0 && strcmp(kind, "cf") != 0)
            continue;
        const char *schema = db_result_cell(rows, row, 1)->value, *name = db_result_cell(rows, row, 2)->value;
        const char *function = db_result_cell(rows, row, 3)->value;
        const char *separator = function != NULL ? strchr(function, '\x1f') : NULL;
        if (schema == NULL || name == NULL || separator == NULL)
            return false;
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "kind", json_object_new_string(kind[0] == 'o' ? "operator" : "cast"));
        json_object_object_add(entry, "schema", json_object_new_string(schema));
        json_object_object_add(entry, "name", json_object_new_string(name));
        json_object_object_add(entry, "function_schema",
                               json_object_new_string_len(function, (int)(separator - function)));
        json_object_object_add(entry, "function_name", json_object_new_string(separator + 1));
        json_object_array_add(calls, entry);
    }
    json_object_array_sort(calls, compare_entries);
    return true;
}

/* The header members of a new snapshot. */
static json_object *new_document(const char *server_version, const char *database, const char *exported_by,
                                 const char *search_path) {
    json_object *document = json_object_new_object();
    json_object_object_add(document, "format", json_object_new_string("pgsafe-catalog"));
    json_object_object_add(document, "version", json_object_new_int(CLI_CATALOG_FORMAT_VERSION));
    json_object_object_add(document, "server_version", new_string_or_null(server_version));
    json_object_object_add(document, "server_major", json_object_new_int(major_of(server_version)));
    json_object_object_add(document, "database", new_string_or_null(database));
    json_object_object_add(document, "exported_by", json_object_new_string(exported_by));
    if (search_path != NULL)
        json_object_object_add(document, "search_path", json_object_new_string(search_path));
    return document;
}

json_object *cli_catalog_file_from_rows(const db_result *rows, const char *exported_by, const char *search_path,
                                        const char **error) {
    if (rows->status != DB_OK || rows->column_count != 4 || rows->truncated != DB_COMPLETE) {
        *error = "the catalog query did not return its four columns";
        return NULL;
    }
    object_row *objects = calloc(rows->row_count ? rows->row_count : 1, sizeof *objects);
    if (objects == NULL) {
        *error = "out of memory";
        return NULL;
    }
    size_t count = 0;
    const char *server_version = NULL, *database = NULL;
    for (size_t row = 0; row < rows->row_count; row++) {
        const char *kind = db_result_cell(rows, row, 0)->value;
        const char *a = db_result_cell(rows, row, 1)->value, *b = db_result_cell(rows, row, 2)->value;
        if (kind == NULL) {
            free(objects);
            *error = "a catalog row has no kind";
            return NULL;
        }
        if (strcmp(kind, "role") == 0) {
            database = b;
            server_version = db_result_cell(rows, row, 3)->value;
            continue;
        }
        if (strcmp(kind, "rel") == 0 || strcmp(kind, "inh") == 0 || strncmp(kind, "hazard ", 7) == 0)
            continue; /* families and hazards: add_families, add_hazards */
        if (strcmp(kind, "f") != 0 && strcmp(kind, "o") != 0 && strcmp(kind, "t") != 0)
            continue; /* type names and the posture: not the guard's business */
        if (a == NULL || b == NULL) {
            free(objects);
            *error = "a catalog row has no schema or name";
            return NULL;
        }
        objects[count++] = (object_row){kind[0], a, b, volatility_rank(db_result_cell(rows, row, 3)->value)};
    }
    qsort(objects, count, sizeof *objects, compare_rows);

    json_object *document = new_document(server_version, database, exported_by, search_path);
    json_object *arrays[KIND_COUNT];
    for (size_t k = 0; k < KIND_COUNT; k++) {
        arrays[k] = json_object_new_array();
        json_object_object_add(document, kinds[k].member, arrays[k]);
    }
    /* One entry per (kind, schema, name): the worst volatility of its rows. */
    for (size_t i = 0; i < count;) {
        size_t worst = objects[i].rank, next = i + 1;
        for (; next < count && compare_rows(&objects[i], &objects[next]) == 0; next++)
            if (objects[next].rank > worst)
                worst = objects[next].rank;
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "schema", json_object_new_string(objects[i].schema));
        json_object_object_add(entry, "name", json_object_new_string(objects[i].name));
        json_object_object_add(entry, "volatility", json_object_new_string(volatilities[worst].name));
        size_t k = 0;
        while (kinds[k].code != objects[i].kind)
            k++;
        assert(k < KIND_COUNT);
        json_object_array_add(arrays[k], entry);
        i = next;
    }
    free(objects);
    if (!add_families(document, rows) || !add_hazards(document, rows) || !add_calls(document, rows)) {
        json_object_put(document);
        *error = "a family, hazard or call row of the catalog is malformed";
        return NULL;
    }
    if (!cli_catalog_relations_write(document, rows, error)) {
        json_object_put(document);
        return NULL;
    }
    return document;
}

char *cli_catalog_file_text(json_object *document, size_t max_bytes, size_t *length) {
    const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
    strbuf text = {0};
    strbuf_puts(&text, "{");
    bool first = true;
    json_object_object_foreach(document, name, value) {
        json_object *key = json_object_new_string(name);
        strbuf_printf(&text, "%s\n  %s: ", first ? "" : ",", json_object_to_json_string_ext(key, flags));
        json_object_put(key);
        first = false;
        if (!json_object_is_type(value, json_type_array) || json_object_array_length(value) == 0) {
            strbuf_puts(&text, json_object_to_json_string_ext(value, flags));
            continue;
        }
        strbuf_puts(&text, "[");
        for (size_t i = 0; i < json_object_array_length(value); i++)
            strbuf_printf(&text, "%s\n    %s", i ? "," : "",
                          json_object_to_json_string_ext(json_object_array_get_idx(value, i), flags));
        strbuf_puts(&text, "\n  ]");
    }
    strbuf_puts(&text, "\n}\n");
    *length = text.failed ? 0 : text.length;
    if (text.length > max_bytes) {
        strbuf_free(&text);
        return NULL;
    }
    return strbuf_take(&text);
}

/* The hazard kinds of the file and their rows' kinds. */
static const char *const hazard_kinds[] = {"type", "relation", "function", "global"};

/* An optional array member: NULL when absent; *bad names it when present and not an array. */
static json_object *optional_array(json_object *document, const char *name, const char **bad) {
    json_object *array = NULL;
    if (!json_object_object_get_ex(document, name, &array))
        return NULL;
    if (!json_object_is_type(array, json_type_array) && *bad == NULL)
        *bad = name;
    return array;
}

/* Appends the rows of one family entry: two 'rel' rows (oids made up, unique in the file)
 * and the 'inh' row between them. */
static bool family_rows(db_result *rows, json_object *entry, size_t index) {
    const char *schema = cli_json_name_member(entry, "schema"), *name = cli_json_name_member(entry, "name");
    const char *ancestor_schema = cli_json_name_member(entry, "ancestor_schema");
    const char *ancestor_name = cli_json_name_member(entry, "ancestor_name");
    if (schema == NULL || name == NULL || ancestor_schema == NULL || ancestor_name == NULL)
        return false;
    char descendant_oid[32], ancestor_oid[32];
    snprintf(descendant_oid, sizeof descendant_oid, "%zu", 2 * index + 1);
    snprintf(ancestor_oid, sizeof ancestor_oid, "%zu", 2 * index + 2);
    size_t row = rows->row_count;
    rows->row_count += 3;
    return cli_catalog_rows_set(rows, row, 0, "rel") && cli_catalog_rows_set(rows, row, 1, descendant_oid) &&
           cli_catalog_rows_set(rows, row, 2, schema) && cli_catalog_rows_set(rows, row, 3, name) &&
           cli_catalog_rows_set(rows, row + 1, 0, "rel") && cli_catalog_rows_set(rows, row + 1, 1, ancestor_oid) &&
           cli_catalog_rows_set(rows, row + 1, 2, ancestor_schema) &&
           cli_catalog_rows_set(rows, row + 1, 3, ancestor_name) && cli_catalog_rows_set(rows, row + 2, 0, "inh") &&
           cli_catalog_rows_set(rows, row + 2, 1, descendant_oid) &&
           cli_catalog_rows_set(rows, row + 2, 2, ancestor_oid);
}

/* Appends the row of one hazard entry. */
static bool hazard_row(db_result *rows, json_object *entry) {
    const char *kind = cli_json_name_member(entry, "kind"), *schema = cli_json_name_member(entry, "schema");
    const char *name = cli_json_name_member(entry, "name"), *why = cli_json_name_member(entry, "why");
    bool known = false;
    for (size_t k = 0; kind != NULL && k < sizeof hazard_kinds / sizeof *hazard_kinds; k++)
        known = known || strcmp(kind, hazard_kinds[k]) == 0;
    if (!known || schema == NULL || name == NULL || why == NULL)
        return false;
    char row_kind[32];
    snprintf(row_kind, sizeof row_kind, "hazard %s", kind);
    size_t row = rows->row_count++;
    return cli_catalog_rows_set(rows, row, 0, row_kind) && cli_catalog_rows_set(rows, row, 1, schema) &&
           cli_catalog_rows_set(rows, row, 2, name) && cli_catalog_rows_set(rows, row, 3, why);
}

/* Appends the row of one "calls" entry ('of' or 'cf'). */
static bool call_row(db_result *rows, json_object *entry) {
    const char *kind = cli_json_name_member(entry, "kind"), *schema = cli_json_name_member(entry, "schema");
    const char *name = cli_json_name_member(entry, "name"),
               *function_schema = cli_json_name_member(entry, "function_schema");
    const char *function_name = cli_json_name_member(entry, "function_name");
    if (kind == NULL || (strcmp(kind, "operator") != 0 && strcmp(kind, "cast") != 0) || schema == NULL ||
        name == NULL || function_schema == NULL || function_name == NULL)
        return false;
    char *function = str_printf("%s\x1f%s", function_schema, function_name);
    size_t row = rows->row_count++;
    bool ok = function != NULL && cli_catalog_rows_set(rows, row, 0, kind[0] == 'o' ? "of" : "cf") &&
              cli_catalog_rows_set(rows, row, 1, schema) && cli_catalog_rows_set(rows, row, 2, name) &&
              cli_catalog_rows_set(rows, row, 3, function);
    free(function);
    return ok;
}

/* Appends the rows of the optional arrays (each may be NULL). False with *error set. */
static bool optional_rows(db_result *rows, json_object *families, json_object *hazards, json_object *calls,
                          const char *path, char **error) {
    for (size_t i = 0; families != NULL && i < json_object_array_length(families); i++)
        if (!family_rows(rows, json_object_array_get_idx(families, i), i)) {
            *error = str_printf("%s: entry %zu of \"families\" is not {\"schema\", \"name\", \"ancestor_schema\", "
                                "\"ancestor_name\"}",
                                path, i + 1);
            return false;
        }
    for (size_t i = 0; hazards != NULL && i < json_object_array_length(hazards); i++)
        if (!hazard_row(rows, json_object_array_get_idx(hazards, i))) {
            *error = str_printf("%s: entry %zu of \"hazards\" is not {\"kind\": "
                                "\"type\"|\"relation\"|\"function\"|\"global\", \"schema\", \"name\", \"why\"}",
                                path, i + 1);
            return false;
        }
    for (size_t i = 0; calls != NULL && i < json_object_array_length(calls); i++)
        if (!call_row(rows, json_object_array_get_idx(calls, i))) {
            *error = str_printf("%s: entry %zu of \"calls\" is not {\"kind\": \"operator\"|\"cast\", \"schema\", "
                                "\"name\", \"function_schema\", \"function_name\"}",
                                path, i + 1);
            return false;
        }
    return true;
}

/* The file's objects, with the declared relations, as rows of the catalog query, for
 * catalog_load. NULL with *error set. */
static db_result *rows_from_document(json_object *document, const cli_relation *declared, size_t declared_count,
                                     const char *path, char **error) {
    size_t total = 0;
    json_object *arrays[KIND_COUNT];
    for (size_t k = 0; k < KIND_COUNT; k++) {
        if (!json_object_object_get_ex(document, kinds[k].member, &arrays[k]) ||
            !json_object_is_type(arrays[k], json_type_array)) {
            *error = str_printf("%s has no \"%s\" array", path, kinds[k].member);
            return NULL;
        }
        total += json_object_array_length(arrays[k]);
    }
    const char *bad = NULL;
    json_object *families = optional_array(document, "families", &bad);
    json_object *hazards = optional_array(document, "hazards", &bad);
    json_object *calls = optional_array(document, "calls", &bad);
    json_object *relations = optional_array(document, "relations", &bad);
    if (bad != NULL) {
        *error = str_printf("%s: \"%s\" must be an array", path, bad);
        return NULL;
    }
    total += cli_catalog_relations_row_count(relations, declared, declared_count);
    if (families != NULL)
        total += 3 * json_object_array_length(families);
    if (hazards != NULL)
        total += json_object_array_length(hazards);
    if (calls != NULL)
        total += json_object_array_length(calls);
    db_result *rows = calloc(1, sizeof *rows);
    if (rows == NULL || (rows->columns = calloc(4, sizeof *rows->columns)) == NULL ||
        (rows->cells = calloc(total ? total * 4 : 1, sizeof *rows->cells)) == NULL) {
        db_result_free(rows);
        *error = strdup("out of memory");
        return NULL;
    }
    rows->status = DB_OK;
    rows->column_count = 4;
    for (size_t k = 0; k < KIND_COUNT; k++) {
        for (size_t i = 0; i < json_object_array_length(arrays[k]); i++) {
            json_object *entry = json_object_array_get_idx(arrays[k], i);
            const char *schema = NULL, *name = NULL, *volatility = NULL;
            if (json_object_is_type(entry, json_type_object)) {
                schema = cli_json_name_member(entry, "schema");
                name = cli_json_name_member(entry, "name");
                volatility = cli_json_name_member(entry, "volatility");
            }
            char code[2] = {0, 0};
            for (size_t v = 0; volatility != NULL && v < VOLATILITY_COUNT; v++)
                if (strcmp(volatility, volatilities[v].name) == 0)
                    code[0] = volatilities[v].code;
            if (schema == NULL || name == NULL || code[0] == 0) {
                *error = str_printf("%s: entry %zu of \"%s\" is not {\"schema\", \"name\", \"volatility\": "
                                    "\"immutable\"|\"stable\"|\"volatile\"|\"unknown\"}",
                                    path, i + 1, kinds[k].member);
                db_result_free(rows);
                return NULL;
            }
            size_t row = rows->row_count++;
            char kind[2] = {kinds[k].code, 0};
            if (!cli_catalog_rows_set(rows, row, 0, kind) || !cli_catalog_rows_set(rows, row, 1, schema) ||
                !cli_catalog_rows_set(rows, row, 2, name) || !cli_catalog_rows_set(rows, row, 3, code)) {
                db_result_free(rows);
                *error = strdup("out of memory");
                return NULL;
            }
        }
    }
    if (!optional_rows(rows, families, hazards, calls, path, error) ||
        !cli_catalog_relations_rows(rows, relations, declared, declared_count, path, error)) {
        db_result_free(rows);
        return NULL;
    }
    return rows;
}

/* The header: format and version this pgsafe reads; the server's version if given. */
static bool read_header(json_object *document, const char *path, cli_catalog_file *loaded, char **error) {
    json_object *format = NULL, *version = NULL, *server_version = NULL;
    if (!json_object_is_type(document, json_type_object) || !json_object_object_get_ex(document, "format", &format) ||
        !json_object_is_type(format, json_type_string) ||
        strcmp(json_object_get_string(format), "pgsafe-catalog") != 0) {
        *error = str_printf("%s is not a pgsafe catalog (no \"format\": \"pgsafe-catalog\")", path);
        return false;
    }
    if (!json_object_object_get_ex(document, "version", &version) || !json_object_is_type(version, json_type_int) ||
        json_object_get_int64(version) < 1) {
        *error = str_printf("%s has no format \"version\"", path);
        return false;
    }
    if (json_object_get_int64(version) > CLI_CATALOG_FORMAT_VERSION) {
        *error = str_printf("%s is format version %lld; this pgsafe reads version %d (export it again with this "
                            "pgsafe, or upgrade)",
                            path, (long long)json_object_get_int64(version), CLI_CATALOG_FORMAT_VERSION);
        return false;
    }
    if (json_object_object_get_ex(document, "server_version", &server_version) &&
        json_object_is_type(server_version, json_type_string)) {
        loaded->server_version = strdup(json_object_get_string(server_version));
        if (loaded->server_version == NULL) {
            *error = strdup("out of memory");
            return false;
        }
        loaded->server_major = major_of(loaded->server_version);
    }
    return true;
}

bool cli_catalog_file_load(const char *path, const cli_relation *declared, size_t declared_count,
                           cli_catalog_file *loaded, char **error) {
    memset(loaded, 0, sizeof *loaded);
    *error = NULL;
    json_object *document = cli_json_file_read(path, error);
    if (document == NULL)
        return false;
    db_result *rows = NULL;
    bool ok = read_header(document, path, loaded, error) &&
              (rows = rows_from_document(document, declared, declared_count, path, error)) != NULL;
    loaded->has_relations = json_object_object_get_ex(document, "relations", NULL) || declared_count > 0;
    json_object_put(document);
    if (ok) {
        db_posture posture = {0};
        loaded->catalog = catalog_new();
        ok = loaded->catalog != NULL && catalog_load(loaded->catalog, &posture, rows);
        posture_clear(&posture);
        if (!ok)
            *error = str_printf("%s could not be loaded (out of memory)", path);
    }
    if (ok) {
        /* A snapshot that lists no relation leaves names unresolved, as no snapshot does,
         * rather than taking every relation for one that does not exist. */
        loaded->guard = *catalog_for_guard(loaded->catalog);
        if (!loaded->has_relations)
            loaded->guard.relation = NULL;
    }
    db_result_free(rows);
    if (!ok)
        cli_catalog_file_free(loaded);
    return ok;
}

void cli_catalog_file_free(cli_catalog_file *loaded) {
    catalog_free(loaded->catalog);
    free(loaded->server_version);
    memset(loaded, 0, sizeof *loaded);
}
