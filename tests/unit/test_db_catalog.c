/* Unit tests of the live catalog (src/db/catalog.h), the posture it reads
 * (src/db/posture.h) and the table behind its lookups (src/db/nametable.h), with Check.
 * Rows are built by hand as (kind, a, b, c), the shape catalog_load_sql returns; no
 * database is needed.
 *
 *   ./test_db_catalog
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_db_catalog */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/catalog.h"
#include "db/clock.h"
#include "db/nametable.h"
#include "db_fixtures.h"
#include "util/strings.h"

/* ---------------------------------------------------------------------------------------
 * Suite "catalog": rows (kind, a, b, c) as catalog_load_sql returns them.
 * ------------------------------------------------------------------------------------- */

static bool load(db_catalog *catalog, db_posture *posture, const catalog_row *rows, size_t count) {
    db_result *result = catalog_result(rows, count);
    bool loaded = catalog_load(catalog, posture, result);
    db_result_free(result);
    return loaded;
}

static guard_volatility function_of(db_catalog *catalog, const char *schema, const char *name) {
    const guard_catalog *guard = catalog_for_guard(catalog);
    return guard->function_volatility(guard->context, schema, name);
}

static guard_volatility operator_of(db_catalog *catalog, const char *schema, const char *name) {
    const guard_catalog *guard = catalog_for_guard(catalog);
    return guard->operator_volatility(guard->context, schema, name);
}

static guard_volatility type_of(db_catalog *catalog, const char *schema, const char *name) {
    const guard_catalog *guard = catalog_for_guard(catalog);
    return guard->type_volatility(guard->context, schema, name);
}

START_TEST(empty_catalog_knows_nothing) {
    db_catalog *catalog = catalog_new();
    ck_assert_ptr_nonnull(catalog);
    ck_assert_int_eq(function_of(catalog, NULL, "f"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "public", "f"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(operator_of(catalog, NULL, "+"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(type_of(catalog, NULL, "mood"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_ptr_null(catalog_type_name(catalog, 23));
    ck_assert_int_eq(catalog_loaded_at(catalog), 0);
    catalog_free(catalog);
    catalog_free(NULL);
}
END_TEST

START_TEST(functions_by_schema_and_name) {
    static const catalog_row rows[] = {
        {"f", "public", "imm", "i"},
        {"f", "public", "stab", "s"},
        {"f", "public", "vol", "v"},
        {"f", "app", "Mixed Case", "s"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    int64_t before = db_now_ms();
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_ge(catalog_loaded_at(catalog), before);
    ck_assert_int_gt(catalog_loaded_at(catalog), 0);
    ck_assert_int_eq(function_of(catalog, "public", "imm"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, "public", "stab"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, "public", "vol"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, NULL, "imm"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "stab"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "vol"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, "app", "Mixed Case"), GUARD_VOLATILITY_STABLE);
    /* Names are exact: no case folding, no other schema, no prefix. */
    ck_assert_int_eq(function_of(catalog, "app", "mixed case"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "app", "imm"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "public", "im"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "pg_catalog", "imm"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, NULL, "missing"), GUARD_VOLATILITY_UNKNOWN);
    /* A read-only role: the posture is known and says so. */
    ck_assert(posture.known);
    ck_assert(!posture.superuser);
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(unqualified_name_gives_the_worst_over_schemas) {
    /* Both orders: the worst wins whichever comes first. */
    static const catalog_row rows[] = {
        {"f", "a", "dup", "i"},   {"f", "b", "dup", "v"},   {"f", "c", "dup", "s"},
        {"f", "b", "other", "v"}, {"f", "a", "other", "i"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_eq(function_of(catalog, NULL, "dup"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, "a", "dup"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, "b", "dup"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, "c", "dup"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "other"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, "a", "other"), GUARD_VOLATILITY_IMMUTABLE);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(overloads_keep_the_worst) {
    /* One row per overload, aggregate support function or type I/O function. */
    static const catalog_row rows[] = {
        {"f", "public", "over", "i"}, {"f", "public", "over", "s"}, {"f", "public", "over", "i"},
        {"f", "public", "agg", "v"},  {"f", "public", "agg", "i"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_eq(function_of(catalog, "public", "over"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "over"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, "public", "agg"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(function_of(catalog, NULL, "agg"), GUARD_VOLATILITY_VOLATILE);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(unknown_volatility_is_the_worst) {
    /* 'u': an operator without a function; NULL or an odd code: nothing we can classify. */
    static const catalog_row rows[] = {
        {"o", "public", "===", "u"}, {"o", "other", "===", "i"}, {"f", "x", "odd", "?"},  {"f", "y", "odd", "i"},
        {"t", "x", "nul", NULL},     {"t", "y", "nul", "v"},     {"o", "z", "##", "i"},   {"o", "z", "##", "u"},
        {"f", "z", "late", "v"},     {"f", "z", "late", "u"},    {"f", "z", "late", "i"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_eq(operator_of(catalog, NULL, "==="), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(operator_of(catalog, "public", "==="), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(operator_of(catalog, "other", "==="), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "odd"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "y", "odd"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(type_of(catalog, NULL, "nul"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(type_of(catalog, "x", "nul"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(type_of(catalog, "y", "nul"), GUARD_VOLATILITY_VOLATILE);
    /* Unknown after a known one still wins, and a later better one does not undo it. */
    ck_assert_int_eq(operator_of(catalog, "z", "##"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "z", "late"), GUARD_VOLATILITY_UNKNOWN);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(functions_operators_and_types_are_separate) {
    static const catalog_row rows[] = {
        {"f", "public", "same", "i"}, {"o", "public", "same", "s"}, {"t", "public", "same", "v"},
        {"t", "public", "mood", "i"}, {"o", "public", "<=>", "i"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_eq(function_of(catalog, NULL, "same"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(operator_of(catalog, NULL, "same"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(type_of(catalog, NULL, "same"), GUARD_VOLATILITY_VOLATILE);
    ck_assert_int_eq(type_of(catalog, "public", "mood"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(type_of(catalog, NULL, "mood"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "mood"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(operator_of(catalog, "public", "<=>"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_int_eq(function_of(catalog, "public", "<=>"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(type_of(catalog, "public", "<=>"), GUARD_VOLATILITY_UNKNOWN);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(type_names) {
    static const catalog_row rows[] = {
        {"n", "25", "text", NULL},
        {"n", "16", "boolean", NULL},
        {"n", "1043", "character varying", NULL},
        {"n", "23", "integer", NULL},
        {"n", "4294967295", "the last oid", NULL},
        {"n", "0", "-", NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_str_eq(catalog_type_name(catalog, 23), "integer");
    ck_assert_str_eq(catalog_type_name(catalog, 25), "text");
    ck_assert_str_eq(catalog_type_name(catalog, 16), "boolean");
    ck_assert_str_eq(catalog_type_name(catalog, 1043), "character varying");
    ck_assert_str_eq(catalog_type_name(catalog, 4294967295u), "the last oid");
    ck_assert_str_eq(catalog_type_name(catalog, 0), "-");
    ck_assert_ptr_null(catalog_type_name(catalog, 24));
    ck_assert_ptr_null(catalog_type_name(catalog, 99999));
    ck_assert_ptr_null(catalog_type_name(catalog, 1));
    /* Type names are not volatility entries. */
    ck_assert_int_eq(type_of(catalog, NULL, "integer"), GUARD_VOLATILITY_UNKNOWN);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* Thousands of objects and types, as a large database has: the tables grow and every one
 * is still found. */
START_TEST(many_objects_and_types) {
    enum { FUNCTIONS = 3000, TYPES = 2000 };
    catalog_row *rows = calloc(FUNCTIONS + TYPES, sizeof *rows);
    char **texts = calloc(2 * (FUNCTIONS + TYPES), sizeof *texts);
    ck_assert(rows != NULL && texts != NULL);
    static const char *const codes[] = {"i", "s", "v"};
    for (int i = 0; i < FUNCTIONS; i++) {
        texts[2 * i] = str_printf("schema_%d", i % 7);
        texts[2 * i + 1] = str_printf("function_%d", i);
        rows[i] = (catalog_row){"f", texts[2 * i], texts[2 * i + 1], codes[i % 3]};
    }
    for (int i = 0; i < TYPES; i++) {
        /* Descending oids, so that the loader must sort them. */
        int slot = FUNCTIONS + i;
        texts[2 * slot] = str_printf("%d", 100000 - 3 * i);
        texts[2 * slot + 1] = str_printf("type %d", 100000 - 3 * i);
        rows[slot] = (catalog_row){"n", texts[2 * slot], texts[2 * slot + 1], NULL};
    }
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    bool loaded = load(catalog, &posture, rows, FUNCTIONS + TYPES);
    for (int i = 0; i < 2 * (FUNCTIONS + TYPES); i++)
        free(texts[i]);
    free(texts);
    free(rows);
    ck_assert(loaded);
    static const guard_volatility expected[] = {GUARD_VOLATILITY_IMMUTABLE, GUARD_VOLATILITY_STABLE,
                                                GUARD_VOLATILITY_VOLATILE};
    for (int i = 0; i < FUNCTIONS; i++) {
        char schema[32], name[32];
        snprintf(schema, sizeof schema, "schema_%d", i % 7);
        snprintf(name, sizeof name, "function_%d", i);
        ck_assert_int_eq(function_of(catalog, schema, name), expected[i % 3]);
        ck_assert_int_eq(function_of(catalog, NULL, name), expected[i % 3]);
    }
    ck_assert_int_eq(function_of(catalog, NULL, "function_3000"), GUARD_VOLATILITY_UNKNOWN);
    for (int i = 0; i < TYPES; i++) {
        char name[32];
        snprintf(name, sizeof name, "type %d", 100000 - 3 * i);
        const char *found = catalog_type_name(catalog, (unsigned)(100000 - 3 * i));
        ck_assert_ptr_nonnull(found);
        ck_assert_str_eq(found, name);
        ck_assert_ptr_null(catalog_type_name(catalog, (unsigned)(100000 - 3 * i - 1)));
    }
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(role_row_fills_the_posture) {
    static const catalog_row rows[] = {
        {"role", "reader", "shop", "15.4 (Debian 15.4-1)"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(posture.known);
    ck_assert_str_eq(posture.role, "reader");
    ck_assert_str_eq(posture.database, "shop");
    ck_assert_str_eq(posture.server_version, "15.4 (Debian 15.4-1)");
    ck_assert(!posture.superuser);
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);
    posture_clear(&posture);
    ck_assert(!posture.known);
    ck_assert_ptr_null(posture.role);
    catalog_free(catalog);
}
END_TEST

START_TEST(superuser_can_write_and_says_it_all) {
    static const catalog_row rows[] = {
        {"role", "postgres", "shop", "15.4"},    {"attribute", "superuser", NULL, NULL},
        {"attribute", "createrole", NULL, NULL}, {"attribute", "bypassrls", NULL, NULL},
        {"write", "public.orders", "12", NULL},  {"create", "public", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.role, "postgres");
    ck_assert_str_eq(posture.write_reasons, "role attribute superuser");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(superuser_is_named_whatever_the_row_order) {
    static const catalog_row rows[] = {
        {"role", "postgres", "shop", "15.4"},
        {"attribute", "createrole", NULL, NULL},
        {"attribute", "superuser", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(posture.superuser);
    ck_assert_str_eq(posture.write_reasons, "role attribute superuser");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(other_attributes_can_write) {
    static const catalog_row rows[] = {
        {"role", "maker", "shop", "15.4"},
        {"attribute", "createdb", NULL, NULL},
        {"attribute", "createrole", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.write_reasons, "role attribute createdb, role attribute createrole");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* Server-file roles reach past the tables: a member is not a read-only role. */
START_TEST(server_file_roles_can_write) {
    static const catalog_row rows[] = {
        {"role", "reader", "shop", "15.4"},
        {"member", "pg_read_server_files", NULL, NULL},
        {"member", "pg_execute_server_program", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.write_reasons, "member of pg_read_server_files, member of pg_execute_server_program");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(write_rows_name_the_tables_and_how_many_more) {
    /* The query returns the first three tables and the total count of them. */
    static const catalog_row rows[] = {
        {"role", "writer", "shop", "15.4"},
        {"write", "public.a", "5", NULL},
        {"write", "public.b", "5", NULL},
        {"write", "public.c", "5", NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_ptr_nonnull(posture.write_reasons);
    ck_assert_ptr_nonnull(strstr(posture.write_reasons, "write privilege on public.a"));
    ck_assert_ptr_nonnull(strstr(posture.write_reasons, "write privilege on public.b"));
    ck_assert_ptr_nonnull(strstr(posture.write_reasons, "write privilege on public.c"));
    /* How many more, said once and after the last table named, not once per row. */
    const char *more = strstr(posture.write_reasons, " 2 more ");
    ck_assert_ptr_nonnull(more);
    ck_assert_ptr_null(strstr(more + strlen(" 2 more "), "more"));
    ck_assert(strstr(posture.write_reasons, "public.a") < strstr(posture.write_reasons, "public.b"));
    ck_assert(strstr(posture.write_reasons, "public.b") < strstr(posture.write_reasons, "public.c"));
    ck_assert(strstr(posture.write_reasons, "public.c") < more);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(write_rows_without_more) {
    static const catalog_row rows[] = {
        {"write", "public.a", "3", NULL},
        {"write", "public.b", "3", NULL},
        {"write", "\"Odd Schema\".\"T\"", "3", NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.write_reasons, "write privilege on public.a, write privilege on public.b, "
                                            "write privilege on \"Odd Schema\".\"T\"");
    posture_clear(&posture);
    catalog_free(catalog);

    static const catalog_row one[] = {{"write", "public.only", "1", NULL}};
    catalog = catalog_new();
    ck_assert(load(catalog, &posture, one, ARRAY_LENGTH(one)));
    ck_assert_str_eq(posture.write_reasons, "write privilege on public.only");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(create_rows) {
    static const catalog_row rows[] = {
        {"role", "owner", "shop", "15.4"},
        {"create", "public", NULL, NULL},
        {"create", "database shop", NULL, NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.write_reasons, "CREATE on schema public, CREATE on database shop");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* The catalog every malformed load must leave in place. */
static const catalog_row good_rows[] = {
    {"f", "public", "old_fn", "s"},
    {"n", "23", "integer", NULL},
    {"role", "first", "shop", "15.4"},
};

/* Each is preceded by rows that would change the catalog, so that a half-done load shows. */
static const catalog_row malformed_rows[] = {
    {NULL, "public", "fn", "i"},       {"x", "public", "fn", "i"},
    {"", "public", "fn", "i"},         {"F", "public", "fn", "i"},
    {"function", "public", "fn", "i"}, {"f", NULL, "fn", "i"},
    {"f", "public", NULL, "i"},        {"o", NULL, "+", "i"},
    {"t", "public", NULL, "i"},        {"n", "99", NULL, NULL},
    {"n", NULL, "integer", NULL},      {"attribute", NULL, NULL, NULL},
    {"write", NULL, "5", NULL},        {"create", NULL, NULL, NULL},
};

START_TEST(malformed_rows_leave_the_catalog_intact) {
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, good_rows, ARRAY_LENGTH(good_rows)));
    int64_t loaded_at = catalog_loaded_at(catalog);

    const catalog_row rows[] = {
        {"f", "public", "new_fn", "i"},         {"n", "99", "new type", NULL},    {"role", "second", "other", "16"},
        {"attribute", "superuser", NULL, NULL}, {"write", "public.t", "9", NULL}, malformed_rows[_i],
        {"f", "public", "after", "i"},
    };
    ck_assert_msg(!load(catalog, &posture, rows, ARRAY_LENGTH(rows)), "malformed row %d was accepted", _i);

    ck_assert_int_eq(function_of(catalog, "public", "old_fn"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "old_fn"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "new_fn"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, NULL, "after"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_str_eq(catalog_type_name(catalog, 23), "integer");
    ck_assert_ptr_null(catalog_type_name(catalog, 99));
    ck_assert_int_eq(catalog_loaded_at(catalog), loaded_at);
    ck_assert(posture.known);
    ck_assert_str_eq(posture.role, "first");
    ck_assert(!posture.superuser);
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(a_failed_or_odd_result_is_refused) {
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, good_rows, ARRAY_LENGTH(good_rows)));
    static const catalog_row rows[] = {{"f", "public", "new_fn", "i"}, {"role", "second", "other", "16"}};

    static const db_status failures[] = {DB_SQL_ERROR, DB_UNAVAILABLE, DB_CONNECTION_LOST, DB_CANCELLED, DB_SHUTDOWN};
    for (size_t i = 0; i < ARRAY_LENGTH(failures); i++) {
        db_result *result = catalog_result(rows, ARRAY_LENGTH(rows));
        result->status = failures[i];
        result->message = strdup("permission denied for table pg_proc");
        ck_assert(!catalog_load(catalog, &posture, result));
        db_result_free(result);
    }
    /* Rows cut by a limit or the byte budget are not the whole catalog. */
    static const db_truncation cuts[] = {DB_ROW_LIMIT, DB_BYTE_BUDGET};
    for (size_t i = 0; i < ARRAY_LENGTH(cuts); i++) {
        db_result *result = catalog_result(rows, ARRAY_LENGTH(rows));
        result->truncated = cuts[i];
        ck_assert(!catalog_load(catalog, &posture, result));
        db_result_free(result);
    }
    /* Not the four columns of catalog_load_sql. */
    db_result *result = result_new(3, 1);
    for (int column = 0; column < 3; column++) {
        result_column(result, column, "x", OID_TEXT, "text");
        result_set(result, 0, column, "f");
    }
    ck_assert(!catalog_load(catalog, &posture, result));
    db_result_free(result);

    ck_assert_int_eq(function_of(catalog, NULL, "old_fn"), GUARD_VOLATILITY_STABLE);
    ck_assert_int_eq(function_of(catalog, NULL, "new_fn"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_str_eq(posture.role, "first");
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(a_reload_replaces_everything) {
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    static const catalog_row first[] = {
        {"f", "public", "old_fn", "s"},
        {"n", "23", "integer", NULL},
        {"role", "postgres", "shop", "15.4"},
        {"attribute", "superuser", NULL, NULL},
    };
    ck_assert(load(catalog, &posture, first, ARRAY_LENGTH(first)));
    ck_assert(posture.superuser);
    static const catalog_row second[] = {
        {"f", "public", "new_fn", "i"},
        {"n", "25", "text", NULL},
        {"role", "reader", "shop", "15.5"},
    };
    ck_assert(load(catalog, &posture, second, ARRAY_LENGTH(second)));
    ck_assert_int_eq(function_of(catalog, NULL, "old_fn"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_int_eq(function_of(catalog, "public", "new_fn"), GUARD_VOLATILITY_IMMUTABLE);
    ck_assert_ptr_null(catalog_type_name(catalog, 23));
    ck_assert_str_eq(catalog_type_name(catalog, 25), "text");
    ck_assert_str_eq(posture.role, "reader");
    ck_assert_str_eq(posture.server_version, "15.5");
    ck_assert(!posture.superuser);
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);

    /* No rows at all: an empty catalog, and a posture that is known but names nobody. */
    ck_assert(load(catalog, &posture, NULL, 0));
    ck_assert_int_eq(function_of(catalog, NULL, "new_fn"), GUARD_VOLATILITY_UNKNOWN);
    ck_assert_ptr_null(catalog_type_name(catalog, 25));
    ck_assert(posture.known);
    ck_assert_ptr_null(posture.role);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* catalog_load_posture: the posture rows alone, from the quick query. */
START_TEST(posture_alone) {
    static const catalog_row rows[] = {
        {"role", "writer", "shop", "15.4"},
        {"attribute", "createdb", NULL, NULL},
        {"write", "public.a", "1", NULL},
        {"create", "database shop", NULL, NULL},
    };
    db_posture posture = {0};
    db_result *result = catalog_result(rows, ARRAY_LENGTH(rows));
    ck_assert(catalog_load_posture(&posture, result));
    db_result_free(result);
    ck_assert(posture.known);
    ck_assert(!posture.superuser);
    ck_assert(posture.can_write);
    ck_assert_str_eq(posture.role, "writer");
    ck_assert_str_eq(posture.database, "shop");
    ck_assert_str_eq(posture.server_version, "15.4");
    ck_assert_str_eq(posture.write_reasons,
                     "role attribute createdb, write privilege on public.a, CREATE on database shop");

    /* Replaced whole by the next one. */
    static const catalog_row reader[] = {{"role", "reader", "shop", "15.5"}};
    result = catalog_result(reader, ARRAY_LENGTH(reader));
    ck_assert(catalog_load_posture(&posture, result));
    db_result_free(result);
    ck_assert_str_eq(posture.role, "reader");
    ck_assert(!posture.can_write);
    ck_assert_ptr_null(posture.write_reasons);
    posture_clear(&posture);
}
END_TEST

START_TEST(posture_alone_refuses_other_rows) {
    db_posture posture = {0};
    static const catalog_row first[] = {{"role", "first", "shop", "15.4"}};
    db_result *result = catalog_result(first, ARRAY_LENGTH(first));
    ck_assert(catalog_load_posture(&posture, result));
    db_result_free(result);

    /* The rows of the whole catalog query, or posture rows without the role, or malformed. */
    static const catalog_row with_function[] = {{"role", "second", "shop", "15.4"}, {"f", "public", "fn", "i"}};
    static const catalog_row with_type[] = {{"n", "23", "integer", NULL}, {"role", "second", "shop", "15.4"}};
    static const catalog_row without_role[] = {{"attribute", "superuser", NULL, NULL}};
    static const catalog_row malformed[] = {{"role", "second", "shop", "15.4"}, {"attribute", NULL, NULL, NULL}};
    static const catalog_row unknown[] = {{"role", "second", "shop", "15.4"}, {"x", NULL, NULL, NULL}};
    static const struct {
        const catalog_row *rows;
        size_t count;
    } cases[] = {
        {with_function, ARRAY_LENGTH(with_function)},
        {with_type, ARRAY_LENGTH(with_type)},
        {without_role, ARRAY_LENGTH(without_role)},
        {malformed, ARRAY_LENGTH(malformed)},
        {unknown, ARRAY_LENGTH(unknown)},
        {NULL, 0},
    };
    for (size_t i = 0; i < ARRAY_LENGTH(cases); i++) {
        result = catalog_result(cases[i].rows, cases[i].count);
        bool loaded = catalog_load_posture(&posture, result);
        db_result_free(result);
        ck_assert_msg(!loaded, "case %zu accepted", i);
    }
    static const catalog_row second[] = {{"role", "second", "shop", "15.4"}};
    result = catalog_result(second, ARRAY_LENGTH(second));
    result->status = DB_SQL_ERROR;
    ck_assert(!catalog_load_posture(&posture, result));
    result->status = DB_OK;
    result->truncated = DB_BYTE_BUDGET;
    ck_assert(!catalog_load_posture(&posture, result));
    db_result_free(result);

    ck_assert(posture.known);
    ck_assert_str_eq(posture.role, "first");
    posture_clear(&posture);
}
END_TEST

START_TEST(load_sql_returns_the_four_columns) {
    const char *sql = catalog_load_sql();
    ck_assert_ptr_nonnull(sql);
    ck_assert_int_eq(strncmp(sql, "SELECT 'f'", 10), 0);
    static const char *const kinds[] = {"'f'",
                                        "'o'",
                                        "'t'",
                                        "'n'",
                                        "'role'",
                                        "'attribute'",
                                        "'write'",
                                        "'create'",
                                        "'rel'",
                                        "'inh'",
                                        "'hazard type'",
                                        "'hazard relation'",
                                        "'hazard function'",
                                        "'hazard global'",
                                        "'implicit type'",
                                        "'implicit relation'",
                                        "'implicit function'",
                                        "'implicit global'",
                                        "'implicit builtin'"};
    for (size_t i = 0; i < ARRAY_LENGTH(kinds); i++)
        ck_assert_msg(strstr(sql, kinds[i]) != NULL, "no %s rows", kinds[i]);
    /* One statement. */
    ck_assert_ptr_null(strchr(sql, ';'));
    /* The quick posture query is the whole query's posture part. */
    const char *posture_sql = catalog_posture_sql();
    ck_assert_int_eq(strncmp(posture_sql, "SELECT 'role'", 13), 0);
    ck_assert_ptr_nonnull(strstr(sql, posture_sql));
    ck_assert_ptr_null(strstr(posture_sql, "SELECT 'f'"));
    ck_assert_ptr_null(strstr(posture_sql, "SELECT 'n'"));
    ck_assert_ptr_null(strstr(posture_sql, "'rel'"));
    ck_assert_ptr_nonnull(strstr(posture_sql, "'hazard relation'"));
    ck_assert_ptr_null(strchr(posture_sql, ';'));
}
END_TEST

/* Runs the guard with the catalog and returns whether it allowed sql; *code is the reason. */
static bool guard_allows(db_catalog *catalog, const char *sql, guard_reason *code) {
    guard_policy policy;
    guard_policy_init(&policy);
    policy.catalog = catalog_for_guard(catalog);
    guard_result result = guard_check(sql, &policy);
    bool allowed = result.allowed;
    *code = result.code;
    guard_result_free(&result);
    return allowed;
}

static void expect_guard(db_catalog *catalog, const char *sql, guard_reason expected) {
    guard_reason code;
    bool allowed = guard_allows(catalog, sql, &code);
    ck_assert_msg(allowed == (expected == GUARD_OK) && code == expected, "%s: %s, expected %s", sql,
                  guard_reason_name(code), guard_reason_name(expected));
}

START_TEST(the_guard_consults_the_catalog) {
    static const catalog_row rows[] = {
        {"f", "public", "safe_fn", "s"}, {"f", "other", "safe_fn", "v"}, {"f", "public", "bad_fn", "v"},
        {"o", "public", "<=>", "i"},     {"o", "public", "===", "u"},    {"t", "public", "mood", "i"},
        {"t", "public", "risky", "v"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    /* Before the catalog is loaded, user objects are unknown. */
    expect_guard(catalog, "SELECT public.safe_fn(1)", GUARD_FUNCTION_UNKNOWN);
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    expect_guard(catalog, "SELECT public.safe_fn(1)", GUARD_OK);
    /* Unqualified, the name could reach other.safe_fn, which is volatile. */
    expect_guard(catalog, "SELECT safe_fn(1)", GUARD_FUNCTION_VOLATILE);
    expect_guard(catalog, "SELECT other.safe_fn(1)", GUARD_FUNCTION_VOLATILE);
    expect_guard(catalog, "SELECT public.bad_fn()", GUARD_FUNCTION_VOLATILE);
    expect_guard(catalog, "SELECT missing_fn()", GUARD_FUNCTION_UNKNOWN);
    expect_guard(catalog, "SELECT 1 <=> 2", GUARD_OK);
    expect_guard(catalog, "SELECT 1 === 2", GUARD_OPERATOR_NOT_ALLOWED);
    expect_guard(catalog, "SELECT 'happy'::mood", GUARD_OK);
    expect_guard(catalog, "SELECT 'x'::public.risky", GUARD_TYPE_NOT_ALLOWED);
    /* The catalog cannot lift the deny list. */
    expect_guard(catalog, "SELECT pg_sleep(1)", GUARD_FUNCTION_DENIED);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* Relation names of a family list, "schema.name" joined by ", " (into buffer). */
static const char *names_of(const guard_relation_name *list, char *buffer, size_t size) {
    buffer[0] = '\0';
    for (size_t used = 0; list != NULL && list->name != NULL; list++)
        used += (size_t)snprintf(buffer + used, size - used, "%s%s.%s", used ? ", " : "", list->schema, list->name);
    return buffer;
}

static const catalog_row family_rows[] = {
    {"role", "me", "shop", "15.4"},
    {"inh", "101", "100", NULL}, /* 'inh' before the 'rel' rows it names: order must not matter */
    {"inh", "102", "100", NULL},
    {"inh", "103", "102", NULL},
    {"inh", "103", "100", NULL},
    {"rel", "100", "public", "events"},
    {"rel", "101", "public", "events_2024"},
    {"rel", "102", "public", "events_2025"},
    {"rel", "103", "public", "events_2025_h1"},
    {"rel", "200", "other", "events"},
    {"rel", "201", "other", "events_x"},
    {"inh", "201", "200", NULL},
};

START_TEST(families_in_both_directions) {
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, family_rows, ARRAY_LENGTH(family_rows)));
    const guard_catalog *guard = catalog_for_guard(catalog);
    char buffer[512];
    ck_assert_str_eq(
        names_of(guard->relation_ancestors(guard->context, "public", "events_2025_h1"), buffer, sizeof buffer),
        "public.events_2025, public.events");
    ck_assert_str_eq(names_of(guard->relation_descendants(guard->context, "public", "events"), buffer, sizeof buffer),
                     "public.events_2024, public.events_2025, public.events_2025_h1");
    /* Unqualified: the union over every schema. */
    ck_assert_str_eq(names_of(guard->relation_descendants(guard->context, NULL, "events"), buffer, sizeof buffer),
                     "public.events_2024, public.events_2025, public.events_2025_h1, other.events_x");
    ck_assert_str_eq(names_of(guard->relation_descendants(guard->context, "other", "events"), buffer, sizeof buffer),
                     "other.events_x");
    ck_assert_ptr_null(guard->relation_ancestors(guard->context, "public", "events"));
    ck_assert_ptr_null(guard->relation_descendants(guard->context, "public", "events_2024"));
    ck_assert_ptr_null(guard->relation_ancestors(guard->context, "public", "nothing"));
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(families_reach_the_guard) {
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, family_rows, ARRAY_LENGTH(family_rows)));
    guard_policy policy;
    guard_policy_init(&policy);
    policy.catalog = catalog_for_guard(catalog);
    static const char *const denied_parent[] = {"public.events", NULL};
    policy.denied_relations = denied_parent;
    static const struct {
        const char *sql;
        bool allowed;
    } parent_cases[] = {
        {"SELECT * FROM events_2025_h1", false},
        {"SELECT * FROM public.events_2024", false},
        {"SELECT * FROM other.events_x", true},
        {"SELECT 1", true},
    };
    for (size_t i = 0; i < ARRAY_LENGTH(parent_cases); i++) {
        guard_result result = guard_check(parent_cases[i].sql, &policy);
        ck_assert_msg(result.allowed == parent_cases[i].allowed, "%s: %s", parent_cases[i].sql,
                      result.message ? result.message : "allowed");
        if (!result.allowed)
            ck_assert_int_eq(result.code, GUARD_RELATION_DENIED);
        guard_result_free(&result);
    }
    static const char *const denied_child[] = {"events_2025_h1", NULL};
    policy.denied_relations = denied_child;
    guard_result result = guard_check("SELECT * FROM events", &policy);
    ck_assert(!result.allowed);
    ck_assert_ptr_nonnull(strstr(result.detail, "includes the rows of \"public.events_2025_h1\""));
    guard_result_free(&result);
    result = guard_check("SELECT * FROM ONLY events", &policy);
    ck_assert(result.allowed);
    guard_result_free(&result);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(an_inheritance_row_without_its_relations_is_malformed) {
    static const catalog_row rows[] = {{"role", "me", "shop", "15.4"}, {"inh", "7", "8", NULL}};
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(!load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    static const catalog_row missing_name[] = {{"rel", "7", "public", NULL}};
    ck_assert(!load(catalog, &posture, missing_name, ARRAY_LENGTH(missing_name)));
    catalog_free(catalog);
}
END_TEST

static const catalog_row hazard_rows[] = {
    {"role", "me", "shop", "15.4"},
    {"hazard type", "public", "pair", "its = operator calls volatile function pair_eq(pair,pair)"},
    {"hazard type", "public", "_pair", "it contains pair, where its = operator calls volatile function pair_eq"},
    {"hazard relation", "public", "pairs", "column p has type pair, where ..."},
    {"hazard relation", "other", "pairs", "its definition calls volatile function lock_me()"},
    {"hazard function", "public", "pair_a", "it returns or takes type pair, where ..."},
    {"t", "public", "pair", "i"}, /* known to the volatility lookup: the hazard is what refuses it */
};

START_TEST(hazards_by_kind_schema_and_name) {
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, hazard_rows, ARRAY_LENGTH(hazard_rows)));
    const guard_catalog *guard = catalog_for_guard(catalog);
    void *context = guard->context;
    ck_assert_str_eq(guard->type_hazard(context, "public", "pair"), hazard_rows[1].c);
    ck_assert_str_eq(guard->type_hazard(context, NULL, "pair"), hazard_rows[1].c);
    ck_assert_ptr_null(guard->type_hazard(context, "other", "pair"));
    ck_assert_ptr_null(guard->type_hazard(context, NULL, "pairs"));
    ck_assert_str_eq(guard->relation_hazard(context, "other", "pairs"), hazard_rows[4].c);
    ck_assert_ptr_nonnull(guard->relation_hazard(context, NULL, "pairs")); /* either schema's reason */
    ck_assert_str_eq(guard->function_hazard(context, NULL, "pair_a"), hazard_rows[5].c);
    ck_assert_ptr_null(guard->function_hazard(context, NULL, "pair"));
    ck_assert_ptr_null(guard->global_hazard(context));
    /* The posture names the first three and counts the rest. */
    ck_assert_uint_eq(posture.hazard_count, 5);
    ck_assert(!posture.hazard_global);
    ck_assert_ptr_nonnull(strstr(posture.hazards, "type public.pair (its = operator"));
    ck_assert_ptr_nonnull(strstr(posture.hazards, "; and 2 more"));
    char *warning = posture_hazard_warning(&posture);
    ck_assert_ptr_nonnull(strstr(warning, "5 objects of the database can run a volatile function"));
    free(warning);

    guard_reason code;
    ck_assert(!guard_allows(catalog, "SELECT CASE p WHEN p THEN 1 END FROM pairs", &code));
    ck_assert_int_eq(code, GUARD_HIDDEN_FUNCTION);
    ck_assert(!guard_allows(catalog, "SELECT a.id FROM pairs a JOIN pairs b USING (p)", &code));
    ck_assert_int_eq(code, GUARD_HIDDEN_FUNCTION);
    ck_assert(!guard_allows(catalog, "SELECT NULL::pair", &code));
    ck_assert_int_eq(code, GUARD_HIDDEN_FUNCTION);
    ck_assert(guard_allows(catalog, "SELECT 1", &code));

    /* A reload without hazards forgets them. */
    static const catalog_row clean[] = {{"role", "me", "shop", "15.4"}};
    ck_assert(load(catalog, &posture, clean, ARRAY_LENGTH(clean)));
    ck_assert_ptr_null(guard->type_hazard(context, NULL, "pair"));
    ck_assert_uint_eq(posture.hazard_count, 0);
    ck_assert_ptr_null(posture.hazards);
    ck_assert_ptr_null(posture_hazard_warning(&posture));
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(a_global_hazard_refuses_every_query) {
    static const catalog_row rows[] = {
        {"role", "me", "shop", "15.4"},
        {"hazard global", "pg_catalog", "int4", "a cast integer -> text calls volatile function lock_me(integer)"},
        {"hazard global", "pg_catalog", "text", "a cast integer -> text calls volatile function lock_me(integer)"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    const guard_catalog *guard = catalog_for_guard(catalog);
    ck_assert_str_eq(guard->global_hazard(guard->context),
                     "type pg_catalog.int4: a cast integer -> text calls volatile function lock_me(integer)");
    guard_reason code;
    ck_assert(!guard_allows(catalog, "SELECT 1", &code));
    ck_assert_int_eq(code, GUARD_HIDDEN_FUNCTION);
    ck_assert(posture.hazard_global);
    char *warning = posture_hazard_warning(&posture);
    ck_assert_ptr_nonnull(strstr(warning, "every query is refused"));
    free(warning);
    /* The quick posture query carries the hazards too, for the first instructions. */
    db_posture quick = {0};
    db_result *result = catalog_result(rows, ARRAY_LENGTH(rows));
    ck_assert(catalog_load_posture(&quick, result));
    db_result_free(result);
    ck_assert_uint_eq(quick.hazard_count, 2);
    ck_assert(quick.hazard_global);
    posture_clear(&quick);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(malformed_hazard_rows_are_refused) {
    static const catalog_row no_reason[] = {{"role", "me", "shop", "15.4"}, {"hazard type", "public", "t", NULL}};
    static const catalog_row odd_kind[] = {{"role", "me", "shop", "15.4"}, {"hazard view", "public", "v", "why"}};
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(!load(catalog, &posture, no_reason, ARRAY_LENGTH(no_reason)));
    ck_assert(!load(catalog, &posture, odd_kind, ARRAY_LENGTH(odd_kind)));
    catalog_free(catalog);
}
END_TEST

/* What --deny-function must reach without a name: "implicit ..." rows as the catalog query
 * returns them, looked up by kind, schema and name, and applied by the guard. */
START_TEST(implicit_functions_by_kind_with_their_why) {
    static const catalog_row rows[] = {
        {"role", "me", "shop", "15.4"},
        {"t", "public", "score", "s"},
        {"f", "public", "best", "s"},
        {"implicit type", "public", "score", "public\x1fscore_eq\x1fits = operator calls score_eq(score,score)"},
        {"implicit relation", "public", "scores",
         "public\x1fscore_eq\x1f"
         "column s has type score"},
        {"implicit function", "public", "best", "public\x1fscore_eq\x1fit returns type score"},
        {"implicit global", "", "", "public\x1fint_text\x1ftype integer: its implicit cast"},
        {"implicit builtin", "pg_catalog", "texteq", "pg_catalog\x1ftexteq\x1fto compare values"},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    const guard_catalog *guard = catalog_for_guard(catalog);
    const guard_function_name *uses = guard->implicit_functions(guard->context, 't', NULL, "score");
    ck_assert_str_eq(uses[0].schema, "public");
    ck_assert_str_eq(uses[0].name, "score_eq");
    ck_assert_str_eq(uses[0].why, "its = operator calls score_eq(score,score)");
    ck_assert_ptr_null(uses[1].name);
    ck_assert_ptr_nonnull(guard->implicit_functions(guard->context, 'r', "public", "scores"));
    ck_assert_ptr_null(guard->implicit_functions(guard->context, 'r', "other", "scores"));
    ck_assert_ptr_null(guard->implicit_functions(guard->context, 't', NULL, "scores"));
    ck_assert_str_eq(guard->implicit_functions(guard->context, 'g', "", "")[0].name, "int_text");
    ck_assert_str_eq(guard->implicit_functions(guard->context, 'b', "pg_catalog", "texteq")[0].why,
                     "to compare values");

    guard_policy policy;
    guard_policy_init(&policy);
    policy.catalog = guard;
    static const char *const denied[] = {"score_eq", NULL};
    policy.denied_functions = denied;
    static const char *const refused[] = {"SELECT DISTINCT s FROM scores", "SELECT NULL::score", "SELECT best()"};
    for (size_t i = 0; i < ARRAY_LENGTH(refused); i++) {
        guard_result result = guard_check(refused[i], &policy);
        ck_assert_msg(result.code == GUARD_FUNCTION_DENIED, "%s", refused[i]);
        guard_result_free(&result);
    }
    static const char *const builtin[] = {"texteq", NULL};
    policy.denied_functions = builtin;
    guard_result result = guard_check("SELECT 1", &policy);
    ck_assert_int_eq(result.code, GUARD_FUNCTION_DENIED);
    guard_result_free(&result);
    policy.denied_functions = NULL;
    result = guard_check("SELECT DISTINCT s FROM scores", &policy);
    ck_assert(result.allowed);
    guard_result_free(&result);

    static const catalog_row malformed[] = {{"role", "me", "shop", "15.4"},
                                            {"implicit view", "public", "v",
                                             "public\x1f"
                                             "f\x1fwhy"}};
    ck_assert(!load(catalog, &posture, malformed, ARRAY_LENGTH(malformed)));
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

/* Relations and their columns: rows in any order, columns by attnum, unqualified names
 * only for the visible relation, and the guard's column policy on top. */
START_TEST(relations_and_columns) {
    static const catalog_row rows[] = {
        {"a", "16390", "3", "email"},
        {"r", "public", "users", "r+16390"},
        {"a", "16390", "1", "id"},
        {"r", "archive", "users", "r-16400"},
        {"a", "16390", "2", "name"},
        {"a", "16400", "1", "legacy_id"},
        {"r", "public", "user_names", "v+16410"},
        {"a", "16410", "1", "name"},
        {"a", "99999", "1", "orphan"},
        {"r", "public", "empty", "r+16420"},
        {"r", "public", "users_2024", "r+16430"},
        {"a", "16430", "1", "email"},
        {"rel", "16390", "public", "users"},
        {"rel", "16430", "public", "users_2024"},
        {"inh", "16430", "16390", NULL},
    };
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    const guard_catalog *guard = catalog_for_guard(catalog);
    guard_relation relation;
    ck_assert(!guard->relation(guard->context, NULL, "users", &relation)); /* nothing loaded yet */
    ck_assert(load(catalog, &posture, rows, ARRAY_LENGTH(rows)));
    ck_assert_int_eq(catalog_count(catalog, 'r'), 5);
    ck_assert(guard->relation(guard->context, NULL, "users", &relation));
    ck_assert_str_eq(relation.schema, "public");
    ck_assert_int_eq(relation.kind, GUARD_RELATION_KIND_TABLE);
    ck_assert_int_eq(relation.column_count, 3);
    ck_assert_str_eq(relation.columns[0], "id");
    ck_assert_str_eq(relation.columns[1], "name");
    ck_assert_str_eq(relation.columns[2], "email");
    ck_assert(guard->relation(guard->context, "archive", "users", &relation));
    ck_assert_int_eq(relation.column_count, 1);
    ck_assert(guard->relation(guard->context, NULL, "user_names", &relation));
    ck_assert_int_eq(relation.kind, GUARD_RELATION_KIND_VIEW);
    ck_assert(guard->relation(guard->context, "public", "empty", &relation));
    ck_assert_int_eq(relation.column_count, 0);
    ck_assert(!guard->relation(guard->context, NULL, "missing", &relation));
    ck_assert(guard->relation(guard->context, "public", "users_2024", &relation));
    ck_assert_int_eq(relation.ancestor_count, 1);
    ck_assert_str_eq(relation.ancestors[0].name, "users");
    ck_assert(!guard->relation(guard->context, "nowhere", "users", &relation));

    static const char *const denied[] = {"users.email", NULL};
    guard_policy policy;
    guard_policy_init(&policy);
    policy.catalog = guard;
    policy.denied_columns = denied;
    guard_result result = guard_check("SELECT * FROM users", &policy);
    ck_assert_int_eq(result.code, GUARD_COLUMN_DENIED);
    guard_result_free(&result);
    result = guard_check("SELECT * FROM archive.users", &policy);
    ck_assert(result.allowed);
    guard_result_free(&result);
    result = guard_check("SELECT email FROM users_2024", &policy); /* the parent's policy */
    ck_assert_int_eq(result.code, GUARD_COLUMN_DENIED);
    guard_result_free(&result);
    posture_clear(&posture);
    catalog_free(catalog);
}
END_TEST

START_TEST(malformed_relation_rows_are_refused) {
    static const catalog_row bad_flags[] = {{"r", "public", "users", "r?1"}};
    static const catalog_row short_flags[] = {{"r", "public", "users", "r"}};
    static const catalog_row null_name[] = {{"r", "public", NULL, "r+1"}};
    static const catalog_row null_column[] = {{"a", "1", "1", NULL}};
    db_catalog *catalog = catalog_new();
    db_posture posture = {0};
    ck_assert(!load(catalog, &posture, bad_flags, 1));
    ck_assert(!load(catalog, &posture, short_flags, 1));
    ck_assert(!load(catalog, &posture, null_name, 1));
    ck_assert(!load(catalog, &posture, null_column, 1));
    ck_assert_int_eq(catalog_count(catalog, 'r'), 0);
    catalog_free(catalog);
}
END_TEST

START_TEST(load_relations_sql_adds_relation_rows) {
    const char *sql = catalog_load_relations_sql();
    ck_assert_ptr_nonnull(strstr(sql, "SELECT 'r'"));
    ck_assert_ptr_nonnull(strstr(sql, "SELECT 'a'"));
    ck_assert_ptr_nonnull(strstr(sql, "SELECT 'inh'")); /* the ancestors, from the family lists */
    ck_assert_ptr_nonnull(strstr(sql, "pg_table_is_visible"));
    ck_assert_ptr_nonnull(strstr(sql, catalog_posture_sql()));
    ck_assert_ptr_null(strstr(catalog_load_sql(), "SELECT 'r'"));
    ck_assert_ptr_null(strchr(sql, ';'));
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Suite "catalog", case "nametable": the table behind the volatility lookups.
 * ------------------------------------------------------------------------------------- */

/* A table of capacity slots, every one holding a key: more than nametable_reserve ever
 * allows, as a caller's bug or a future change could leave it. */
static nametable full_table(size_t capacity) {
    nametable table = {.capacity = capacity, .count = capacity};
    table.entries = calloc(capacity, sizeof *table.entries);
    ck_assert_ptr_nonnull(table.entries);
    for (size_t i = 0; i < capacity; i++) {
        char key[32];
        snprintf(key, sizeof key, "key %zu", i);
        table.entries[i].key = strdup(key);
        table.entries[i].value = (int)i;
        ck_assert_ptr_nonnull(table.entries[i].key);
    }
    return table;
}

/* Used to probe forever: a key absent from a full table must come back NULL. */
START_TEST(a_full_table_answers_absent_keys) {
    nametable table = full_table(8);
    ck_assert_ptr_null(nametable_slot(&table, "not there"));
    nametable_entry *present = nametable_slot(&table, "key 5");
    ck_assert_ptr_nonnull(present);
    ck_assert_int_eq(present->value, 5);
    nametable_clear(&table);
    ck_assert_ptr_null(table.entries);
    ck_assert_uint_eq(table.capacity, 0);
}
END_TEST

START_TEST(an_empty_table_has_no_slot) {
    nametable table = {0};
    ck_assert_ptr_null(nametable_slot(&table, "x"));
    nametable_clear(&table);
}
END_TEST

START_TEST(reserve_keeps_the_table_at_most_half_full) {
    nametable table = {0};
    for (int i = 0; i < 1000; i++) {
        ck_assert(nametable_reserve(&table));
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        nametable_entry *slot = nametable_slot(&table, key);
        ck_assert_ptr_nonnull(slot);
        ck_assert_ptr_null(slot->key);
        slot->key = strdup(key);
        ck_assert_ptr_nonnull(slot->key);
        slot->value = i;
        table.count++;
        ck_assert_uint_le(table.count * 2, table.capacity);
    }
    for (int i = 0; i < 1000; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        nametable_entry *slot = nametable_slot(&table, key);
        ck_assert(slot != NULL && slot->key != NULL && slot->value == i);
    }
    nametable_clear(&table);
}
END_TEST

static TCase *add_case(Suite *suite, const char *name) {
    TCase *test_case = tcase_create(name);
    tcase_set_timeout(test_case, 120);
    suite_add_tcase(suite, test_case);
    return test_case;
}

static Suite *catalog_suite(void) {
    Suite *suite = suite_create("catalog");
    TCase *tc = add_case(suite, "volatility");
    tcase_add_test(tc, empty_catalog_knows_nothing);
    tcase_add_test(tc, functions_by_schema_and_name);
    tcase_add_test(tc, unqualified_name_gives_the_worst_over_schemas);
    tcase_add_test(tc, overloads_keep_the_worst);
    tcase_add_test(tc, unknown_volatility_is_the_worst);
    tcase_add_test(tc, functions_operators_and_types_are_separate);
    tcase_add_test(tc, type_names);
    tcase_add_test(tc, many_objects_and_types);
    tcase_add_test(tc, the_guard_consults_the_catalog);
    tcase_add_test(tc, relations_and_columns);
    tcase_add_test(tc, malformed_relation_rows_are_refused);
    tcase_add_test(tc, load_relations_sql_adds_relation_rows);
    tc = add_case(suite, "families and hazards");
    tcase_add_test(tc, families_in_both_directions);
    tcase_add_test(tc, families_reach_the_guard);
    tcase_add_test(tc, an_inheritance_row_without_its_relations_is_malformed);
    tcase_add_test(tc, hazards_by_kind_schema_and_name);
    tcase_add_test(tc, a_global_hazard_refuses_every_query);
    tcase_add_test(tc, malformed_hazard_rows_are_refused);
    tcase_add_test(tc, implicit_functions_by_kind_with_their_why);
    tc = add_case(suite, "posture");
    tcase_add_test(tc, role_row_fills_the_posture);
    tcase_add_test(tc, superuser_can_write_and_says_it_all);
    tcase_add_test(tc, superuser_is_named_whatever_the_row_order);
    tcase_add_test(tc, other_attributes_can_write);
    tcase_add_test(tc, server_file_roles_can_write);
    tcase_add_test(tc, write_rows_name_the_tables_and_how_many_more);
    tcase_add_test(tc, write_rows_without_more);
    tcase_add_test(tc, create_rows);
    tc = add_case(suite, "loading");
    tcase_add_loop_test(tc, malformed_rows_leave_the_catalog_intact, 0, (int)ARRAY_LENGTH(malformed_rows));
    tcase_add_test(tc, a_failed_or_odd_result_is_refused);
    tcase_add_test(tc, a_reload_replaces_everything);
    tcase_add_test(tc, posture_alone);
    tcase_add_test(tc, posture_alone_refuses_other_rows);
    tcase_add_test(tc, load_sql_returns_the_four_columns);
    tc = tcase_create("nametable");
    tcase_set_timeout(tc, 10); /* a probe that never ends fails here rather than hanging the run */
    suite_add_tcase(suite, tc);
    tcase_add_test(tc, a_full_table_answers_absent_keys);
    tcase_add_test(tc, an_empty_table_has_no_slot);
    tcase_add_test(tc, reserve_keeps_the_table_at_most_half_full);
    return suite;
}

int main(void) {
    SRunner *runner = srunner_create(catalog_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
