/* Unit tests of the catalog snapshot's relations (src/cli/catalog_relations.h) through the
 * snapshot file (src/cli/catalog_file.h), with Check: written from rows built by hand as
 * catalog_load_relations_sql returns them, read back from files with check's --relation
 * declarations merged in, and resolved through the guard's relation callback, with each
 * allocation failed in turn. No database.
 *
 *   ./test_cli_catalog
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_cli_catalog */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/catalog_file.h"
#include "cli/policy.h"
#include "db_fixtures.h"
#include "fail_alloc.h"
#include "util/strings.h"

/* Relations in any order, columns out of attnum order, one column of a relation not listed
 * (it vanished between the two scans), and rows the relations ignore. */
static const catalog_row relation_rows[] = {
    {"f", "public", "twice", "i"},    {"r", "public", "users", "r+3"}, {"a", "3", "2", "name"},
    {"r", "app", "users", "v-5"},     {"a", "7", "1", "at"},           {"a", "3", "1", "id"},
    {"r", "public", "events", "p+7"}, {"a", "99", "1", "ghost"},       {"r", "app", "sums", "m-9"},
    {"a", "9", "1", "total"},         {"r", "app", "remote", "f-11"},
};

static const char expected_relations[] =
    "[{\"schema\":\"app\",\"name\":\"remote\",\"kind\":\"foreign table\",\"visible\":false,\"columns\":[]},"
    "{\"schema\":\"app\",\"name\":\"sums\",\"kind\":\"materialized view\",\"visible\":false,\"columns\":[\"total\"]},"
    "{\"schema\":\"app\",\"name\":\"users\",\"kind\":\"view\",\"visible\":false,\"columns\":[]},"
    "{\"schema\":\"public\",\"name\":\"events\",\"kind\":\"partitioned table\",\"visible\":true,\"columns\":[\"at\"]},"
    "{\"schema\":\"public\",\"name\":\"users\",\"kind\":\"table\",\"visible\":true,\"columns\":[\"id\",\"name\"]}]";

/* The "relations" member of the snapshot of rows, serialized (caller frees), or NULL when
 * the snapshot has none; *failed when no snapshot was made. */
static char *relations_of(const catalog_row *rows, size_t count, bool *failed) {
    db_result *result = catalog_result(rows, count);
    const char *error = NULL;
    json_object *document = cli_catalog_file_from_rows(result, "pgsafe test", "pg_catalog, public", &error);
    db_result_free(result);
    *failed = document == NULL;
    if (document == NULL) {
        ck_assert_ptr_nonnull(error);
        return NULL;
    }
    json_object *relations = NULL;
    char *text = json_object_object_get_ex(document, "relations", &relations) ? serialize(relations) : NULL;
    json_object_put(document);
    return text;
}

START_TEST(export_lists_each_relation_with_its_columns_in_order) {
    bool failed;
    char *text = relations_of(relation_rows, ARRAY_LENGTH(relation_rows), &failed);
    ck_assert(!failed);
    expect_string_and_free(text, expected_relations, "relations");
    /* Rows without relations (catalog_load_sql's) make no member: nothing is known. */
    text = relations_of(relation_rows, 1, &failed);
    ck_assert(!failed);
    ck_assert_ptr_null(text);
    /* A malformed relation row, a relkind the policy never loads: no snapshot. */
    static const catalog_row malformed[] = {{"r", "public", "users", "r"}};
    ck_assert_ptr_null(relations_of(malformed, 1, &failed));
    ck_assert(failed);
    static const catalog_row index_kind[] = {{"r", "public", "users_pkey", "i+3"}};
    ck_assert_ptr_null(relations_of(index_kind, 1, &failed));
    ck_assert(failed);
}
END_TEST

/* Each allocation of our own code fails in turn: no snapshot then, never one with a
 * relation or a column missing. */
START_TEST(export_fails_whole_at_every_allocation) {
    int failures = 0;
    for (long n = 0;; n++) {
        db_result *result = catalog_result(relation_rows, ARRAY_LENGTH(relation_rows));
        const char *error = NULL;
        fail_allocation_after(n);
        json_object *document = cli_catalog_file_from_rows(result, "pgsafe test", NULL, &error);
        fail_allocation_after(-1);
        db_result_free(result);
        if (document == NULL) {
            failures++;
            continue;
        }
        json_object *relations = NULL;
        ck_assert(json_object_object_get_ex(document, "relations", &relations));
        char *text = serialize(relations);
        json_object_put(document);
        expect_string_and_free(text, expected_relations, "relations");
        break;
    }
    ck_assert_int_gt(failures, 3);
}
END_TEST

START_TEST(text_is_bounded) {
    db_result *result = catalog_result(relation_rows, ARRAY_LENGTH(relation_rows));
    const char *error = NULL;
    json_object *document = cli_catalog_file_from_rows(result, "pgsafe test", NULL, &error);
    db_result_free(result);
    ck_assert_ptr_nonnull(document);
    size_t length = 0;
    char *text = cli_catalog_file_text(document, SIZE_MAX, &length);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(length, strlen(text));
    /* One entry a line. */
    ck_assert_ptr_nonnull(strstr(text, "\n    {\"schema\":\"public\",\"name\":\"users\",\"kind\":\"table\","));
    size_t exact = 0;
    char *again = cli_catalog_file_text(document, length, &exact);
    ck_assert_ptr_nonnull(again);
    ck_assert_uint_eq(exact, length);
    free(again);
    size_t over = 0;
    ck_assert_ptr_null(cli_catalog_file_text(document, length - 1, &over));
    ck_assert_uint_eq(over, length);
    free(text);
    json_object_put(document);
}
END_TEST

/* ---- reading a snapshot back ---- */

static char snapshot_path[64];

static void write_snapshot(const char *relations) {
    strcpy(snapshot_path, "/tmp/pgsafe-test-catalog.XXXXXX");
    int fd = mkstemp(snapshot_path);
    ck_assert_int_ge(fd, 0);
    FILE *file = fdopen(fd, "w");
    ck_assert_ptr_nonnull(file);
    fprintf(file,
            "{\"format\": \"pgsafe-catalog\", \"version\": 1, \"functions\": [], \"operators\": [], \"types\": [],\n"
            " \"families\": [{\"schema\": \"public\", \"name\": \"events_2024\", \"ancestor_schema\": \"public\","
            " \"ancestor_name\": \"events\"}]%s%s}\n",
            relations ? ",\n \"relations\": " : "", relations ? relations : "");
    ck_assert_int_eq(fclose(file), 0);
}

static const char file_relations[] =
    "[{\"schema\": \"public\", \"name\": \"users\", \"visible\": true, \"columns\": [\"id\", \"name\", \"email\"]},"
    " {\"schema\": \"app\", \"name\": \"orders\", \"kind\": \"table\", \"visible\": true, \"columns\": [\"id\", "
    "\"secret\"]},"
    " {\"schema\": \"public\", \"name\": \"orders\", \"visible\": false, \"columns\": [\"id\", \"total\"]},"
    " {\"schema\": \"app\", \"name\": \"thing\", \"kind\": \"view\", \"visible\": true, \"columns\": [\"x\"]},"
    " {\"schema\": \"public\", \"name\": \"events\", \"kind\": \"partitioned table\", \"visible\": true, "
    "\"columns\": [\"id\", \"kind\"]},"
    " {\"schema\": \"public\", \"name\": \"events_2024\", \"visible\": true, \"columns\": [\"id\", \"kind\"]}]";

/* The declarations of the tests: two replace the file's relations, three add one. */
static cli_policy declarations(void) {
    cli_policy policy = {0};
    const char *specs[] = {"users(id, name)", "public.orders(id)", "ghost(a)", "app.extra(x)", "public.thing(y)"};
    for (size_t i = 0; i < ARRAY_LENGTH(specs); i++)
        ck_assert(cli_policy_add_relation(&policy, specs[i], "check", "--relation"));
    return policy;
}

/* The columns of the relation schema.name (schema NULL: unqualified) resolves to, as
 * "schema.name(a,b)", or "" when it resolves to none (caller frees). */
static char *resolve(const guard_catalog *catalog, const char *schema, const char *name) {
    guard_relation out;
    memset(&out, 0, sizeof out);
    if (!catalog->relation(catalog->context, schema, name, &out))
        return strdup("");
    strbuf text = {0};
    strbuf_printf(&text, "%s.%s(", out.schema, out.name);
    for (size_t i = 0; i < out.column_count; i++)
        strbuf_printf(&text, "%s%s", i ? "," : "", out.columns[i]);
    strbuf_puts(&text, ")");
    for (size_t i = 0; i < out.ancestor_count; i++)
        strbuf_printf(&text, " < %s.%s", out.ancestors[i].schema, out.ancestors[i].name);
    return strbuf_take(&text);
}

/* Every lookup of the tests, as one text, after loading with or without the declarations. */
static char *lookups(const guard_catalog *catalog) {
    static const char *const names[][2] = {
        {NULL, "users"},  {NULL, "orders"}, {"public", "orders"}, {NULL, "ghost"},   {NULL, "extra"},
        {"app", "extra"}, {NULL, "thing"},  {"public", "thing"},  {NULL, "nothing"}, {NULL, "events_2024"}};
    strbuf text = {0};
    for (size_t i = 0; i < ARRAY_LENGTH(names); i++) {
        char *one = resolve(catalog, names[i][0], names[i][1]);
        ck_assert_ptr_nonnull(one);
        strbuf_printf(&text, "%s;", one);
        free(one);
    }
    return strbuf_take(&text);
}

START_TEST(declarations_take_precedence_over_the_file) {
    write_snapshot(file_relations);
    cli_policy policy = declarations();
    cli_catalog_file loaded;
    char *error = NULL;
    bool ok = cli_catalog_file_load(snapshot_path, NULL, 0, &loaded, &error);
    ck_assert_msg(ok, "%s", error ? error : "out of memory");
    ck_assert_ptr_nonnull(loaded.guard.relation);
    expect_string_and_free(lookups(&loaded.guard),
                           "public.users(id,name,email);app.orders(id,secret);public.orders(id,total);;;;"
                           "app.thing(x);;;public.events_2024(id,kind) < public.events;",
                           "the file alone");
    cli_catalog_file_free(&loaded);
    ok = cli_catalog_file_load(snapshot_path, policy.relations, policy.relation_count, &loaded, &error);
    ck_assert_msg(ok, "%s", error ? error : "out of memory");
    /* users takes the declared columns; an unqualified orders is still app's (the search_path
     * reached it), public.orders has the declared columns; ghost is added, reached in public;
     * app.extra only qualified; an unqualified thing is still app's. */
    expect_string_and_free(lookups(&loaded.guard),
                           "public.users(id,name);app.orders(id,secret);public.orders(id);public.ghost(a);;"
                           "app.extra(x);app.thing(x);public.thing(y);;public.events_2024(id,kind) < public.events;",
                           "with declarations");
    cli_catalog_file_free(&loaded);
    unlink(snapshot_path);
    cli_policy_free(&policy);
}
END_TEST

START_TEST(a_snapshot_without_relations_resolves_no_name) {
    write_snapshot(NULL);
    cli_catalog_file loaded;
    char *error = NULL;
    ck_assert(cli_catalog_file_load(snapshot_path, NULL, 0, &loaded, &error));
    ck_assert(!loaded.has_relations);
    ck_assert_ptr_null(loaded.guard.relation); /* as without a snapshot: the policy asks for declarations */
    ck_assert_ptr_nonnull(loaded.guard.function_volatility);
    cli_catalog_file_free(&loaded);
    cli_policy policy = declarations();
    ck_assert(cli_catalog_file_load(snapshot_path, policy.relations, policy.relation_count, &loaded, &error));
    ck_assert(loaded.has_relations);
    expect_string_and_free(resolve(&loaded.guard, NULL, "users"), "public.users(id,name)", "declared");
    expect_string_and_free(resolve(&loaded.guard, NULL, "extra"), "", "declared outside public");
    cli_catalog_file_free(&loaded);
    cli_policy_free(&policy);
    /* An empty member: relations are known, and there are none. */
    unlink(snapshot_path);
    write_snapshot("[]");
    ck_assert(cli_catalog_file_load(snapshot_path, NULL, 0, &loaded, &error));
    ck_assert_ptr_nonnull(loaded.guard.relation);
    expect_string_and_free(resolve(&loaded.guard, NULL, "users"), "", "none");
    cli_catalog_file_free(&loaded);
    unlink(snapshot_path);
}
END_TEST

/* Loads relations (a "relations" member's text) and expects a refusal containing needle. */
static void expect_refused(const char *relations, const char *needle) {
    write_snapshot(relations);
    cli_catalog_file loaded;
    char *error = NULL;
    bool ok = cli_catalog_file_load(snapshot_path, NULL, 0, &loaded, &error);
    unlink(snapshot_path);
    ck_assert_msg(!ok, "%s was loaded", relations);
    ck_assert_ptr_nonnull(error);
    bool found = strstr(error, needle) != NULL;
    char message[512];
    snprintf(message, sizeof message, "%s", error);
    free(error);
    ck_assert_msg(found, "\"%s\" lacks \"%s\"", message, needle);
    ck_assert_ptr_null(loaded.catalog);
}

START_TEST(malformed_relations_are_refused_naming_the_entry) {
    expect_refused("{}", "\"relations\" must be an array");
    expect_refused("[null]", "entry 1 of \"relations\" has no non-empty \"schema\" and \"name\"");
    expect_refused("[{\"schema\": \"s\", \"name\": \"t\", \"visible\": true, \"columns\": []}, "
                   "{\"schema\": \"s\", \"name\": \"u\", \"visible\": \"yes\", \"columns\": []}]",
                   "entry 2 of \"relations\" (s.u) has no \"visible\"");
    expect_refused("[{\"schema\": \"s\", \"name\": \"t\", \"visible\": true, \"columns\": [\"a\", \"a\\u0000b\"]}]",
                   "entry 1 of \"relations\" (s.t) has a column (2) that is not a non-empty name");
    expect_refused("[{\"schema\": \"s\", \"name\": \"t\", \"visible\": true, \"columns\": [\"b\", \"a\", \"b\"]}]",
                   "(s.t) names column \"b\" twice");
    expect_refused("[{\"schema\": \"s\", \"name\": \"t\", \"kind\": \"TABLE\", \"visible\": true, \"columns\": []}]",
                   "(s.t) has a \"kind\" other than");
    expect_refused("[{\"schema\": \"b\", \"name\": \"t\", \"visible\": false, \"columns\": []}, "
                   "{\"schema\": \"a\", \"name\": \"t\", \"visible\": false, \"columns\": []}, "
                   "{\"schema\": \"b\", \"name\": \"t\", \"visible\": false, \"columns\": []}]",
                   "entry 3 of \"relations\" names b.t again (entry 1)");
    expect_refused("[{\"schema\": \"b\", \"name\": \"t\", \"visible\": true, \"columns\": []}, "
                   "{\"schema\": \"a\", \"name\": \"u\", \"visible\": true, \"columns\": []}, "
                   "{\"schema\": \"a\", \"name\": \"t\", \"visible\": true, \"columns\": []}]",
                   "entries 1 and 3 of \"relations\" are both \"visible\" as \"t\"");
}
END_TEST

/* Each allocation of our own code fails in turn while loading with declarations: the load
 * then fails whole (no catalog), and once none fails the lookups are complete. */
START_TEST(load_fails_whole_at_every_allocation) {
    write_snapshot(file_relations);
    cli_policy policy = declarations();
    int failures = 0;
    for (long n = 0;; n++) {
        cli_catalog_file loaded;
        char *error = NULL;
        fail_allocation_after(n);
        bool ok = cli_catalog_file_load(snapshot_path, policy.relations, policy.relation_count, &loaded, &error);
        fail_allocation_after(-1);
        if (!ok) {
            ck_assert_ptr_null(loaded.catalog);
            free(error);
            failures++;
            continue;
        }
        expect_string_and_free(
            lookups(&loaded.guard),
            "public.users(id,name);app.orders(id,secret);public.orders(id);public.ghost(a);;"
            "app.extra(x);app.thing(x);public.thing(y);;public.events_2024(id,kind) < public.events;",
            "after the failures");
        cli_catalog_file_free(&loaded);
        break;
    }
    unlink(snapshot_path);
    cli_policy_free(&policy);
    ck_assert_int_gt(failures, 10);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("catalog snapshot");
    TCase *tc = tcase_create("relations");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, export_lists_each_relation_with_its_columns_in_order);
    tcase_add_test(tc, export_fails_whole_at_every_allocation);
    tcase_add_test(tc, text_is_bounded);
    tcase_add_test(tc, declarations_take_precedence_over_the_file);
    tcase_add_test(tc, a_snapshot_without_relations_resolves_no_name);
    tcase_add_test(tc, malformed_relations_are_refused_naming_the_entry);
    tcase_add_test(tc, load_fails_whole_at_every_allocation);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
