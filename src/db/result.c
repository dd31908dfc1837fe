/* db_result: the result type, and the one conversion from libpq's PGresult into it, with
 * the row limit, the byte budget (of the bytes the rows add to a response) and
 * the per-cell cap applied as each row is taken. */
#include "db/result.h"

#include <assert.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

db_result *db_result_new(void) {
    return calloc(1, sizeof(db_result));
}

void db_result_free(db_result *result) {
    if (result == NULL)
        return;
    free(result->sqlstate);
    free(result->message);
    free(result->detail);
    free(result->hint);
    for (int i = 0; i < result->column_count; i++) {
        free(result->columns[i].name);
        free(result->columns[i].type_name);
    }
    free(result->columns);
    size_t cells = result->row_count * (size_t)result->column_count;
    for (size_t i = 0; i < cells; i++)
        free(result->cells[i].value);
    free(result->cells);
    free(result);
}

const db_cell *db_result_cell(const db_result *result, size_t row, int column) {
    assert(row < result->row_count && column >= 0 && column < result->column_count);
    return &result->cells[row * (size_t)result->column_count + (size_t)column];
}

bool db_result_set_failure(db_result *result, db_status status, const char *message) {
    assert(status != DB_OK);
    result->status = status;
    free(result->message);
    result->message = str_one_line(message);
    return result->message != NULL;
}

bool db_result_set_error(db_result *result, const PGresult *pg) {
    const char *state = pg ? PQresultErrorField(pg, PG_DIAG_SQLSTATE) : NULL;
    const char *detail = pg ? PQresultErrorField(pg, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = pg ? PQresultErrorField(pg, PG_DIAG_MESSAGE_HINT) : NULL;
    const char *position = pg ? PQresultErrorField(pg, PG_DIAG_STATEMENT_POSITION) : NULL;
    bool ok = db_result_set_failure(result, DB_SQL_ERROR, pg ? PQresultErrorField(pg, PG_DIAG_MESSAGE_PRIMARY) : NULL);
    free(result->sqlstate);
    free(result->detail);
    free(result->hint);
    result->sqlstate = state ? strdup(state) : NULL;
    result->detail = detail ? str_one_line(detail) : NULL;
    result->hint = hint ? str_one_line(hint) : NULL;
    result->error_position = position ? atoi(position) : 0;
    return ok && (state == NULL || result->sqlstate != NULL) && (detail == NULL || result->detail != NULL) &&
           (hint == NULL || result->hint != NULL);
}

bool db_result_take_columns(db_result *result, const PGresult *pg, db_type_name_fn type_name, const void *context) {
    if (result->columns != NULL)
        return true;
    assert(result->column_count == 0 && result->row_count == 0);
    int count = PQnfields(pg);
    result->columns = calloc(count ? (size_t)count : 1, sizeof *result->columns);
    if (result->columns == NULL)
        return false;
    result->column_count = count; /* from here db_result_free frees each column's strings */
    for (int i = 0; i < count; i++) {
        db_column *column = &result->columns[i];
        column->name = strdup(PQfname(pg, i));
        column->type_oid = PQftype(pg, i);
        const char *known = type_name ? type_name(context, column->type_oid) : NULL;
        column->type_name = known ? strdup(known) : str_printf("oid %u", column->type_oid);
        if (column->name == NULL || column->type_name == NULL)
            return false;
    }
    return true;
}

/* PostgreSQL's bool, which format.c renders as true or false. */
#define OID_BOOL 16

/* Bytes of text[0, length) inside a JSON string as the response writes it (json-c, no slash
 * escapes): quote and backslash two, the short control escapes two, other controls six. */
static size_t json_escaped_bytes(const char *text, size_t length) {
    size_t bytes = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            bytes += 2;
        else if (c < 0x20)
            bytes += 6;
        else
            bytes++;
    }
    return bytes;
}

/* Bytes of text[0, length) in the text rendering (format.c's append_escaped), once that rendering is
 * itself a JSON string: a backslash becomes four bytes, a tab, newline or return three. */
static size_t text_escaped_bytes(const char *text, size_t length) {
    size_t bytes = 0;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == '\\')
            bytes += 4;
        else if (c == '\t' || c == '\n' || c == '\r')
            bytes += 3;
        else
            bytes += json_escaped_bytes(&c, 1);
    }
    return bytes;
}

size_t db_cell_sent_bytes(const db_column *column, const db_cell *cell) {
    /* Separators: "," in the row's JSON, "\t" (two bytes escaped) in the text. */
    size_t bytes = 3;
    if (cell->value == NULL)
        return bytes + strlen("null") + strlen("\\\\N");
    size_t cut = cell->length < cell->full_length ? strlen(DB_CUT_MARK) : 0;
    /* A number, a bool or embedded json is never longer than the value as a JSON string but
     * for false (5 bytes against 3). */
    size_t as_json = 2 + json_escaped_bytes(cell->value, cell->length) + cut;
    if (column->type_oid == OID_BOOL && as_json < strlen("false"))
        as_json = strlen("false");
    return bytes + as_json + text_escaped_bytes(cell->value, cell->length) + cut;
}

/* The bytes row of pg would add to a response (db_cell_sent_bytes: each cell as it is kept,
 * cut at max_cell_bytes, escaped, NULLs and separators included). */
static size_t row_sent_bytes(const db_result *result, const PGresult *pg, int row, size_t max_cell_bytes) {
    size_t bytes = DB_ROW_SENT_BYTES;
    for (int i = 0; i < result->column_count; i++) {
        db_cell cell = {0};
        if (!PQgetisnull(pg, row, i)) {
            cell.value = PQgetvalue(pg, row, i);
            cell.full_length = (size_t)PQgetlength(pg, row, i);
            cell.length = str_utf8_prefix(cell.value, cell.full_length, max_cell_bytes);
        }
        bytes += db_cell_sent_bytes(&result->columns[i], &cell);
    }
    return bytes;
}

/* Copies row of pg into the result's next row (room for it allocated by the caller, zeroed,
 * and counted in row_count), cutting each value at max_cell_bytes. Returns false when out
 * of memory: the cells copied so far stay, for db_result_free. */
static bool copy_row(db_result *result, db_cell *cells, const PGresult *pg, int row, size_t max_cell_bytes) {
    for (int i = 0; i < result->column_count; i++) {
        if (PQgetisnull(pg, row, i))
            continue;
        const char *value = PQgetvalue(pg, row, i);
        size_t length = (size_t)PQgetlength(pg, row, i);
        size_t kept = str_utf8_prefix(value, length, max_cell_bytes);
        cells[i].value = str_copy_length(value, kept);
        if (cells[i].value == NULL)
            return false;
        cells[i].length = kept;
        cells[i].full_length = length;
        if (kept < length)
            result->cells_cut++;
    }
    return true;
}

db_take db_result_take_row(db_result *result, const PGresult *pg, int row, const db_result_limits *limits) {
    assert(result->columns != NULL && result->column_count + (limits->flagged_rows ? 1 : 0) == PQnfields(pg));
    assert(row >= 0 && row < PQntuples(pg));
    if (result->truncated != DB_COMPLETE)
        return DB_TAKE_DROPPED;
    if (limits->row_limit >= 0 && (long long)result->row_count >= limits->row_limit) {
        result->truncated = DB_ROW_LIMIT;
        return DB_TAKE_DROPPED;
    }
    int columns = result->column_count;
    if (limits->flagged_rows && !PQgetisnull(pg, row, columns) && PQgetvalue(pg, row, columns)[0] == 't') {
        /* The server found the row's values over the budget and sent them as NULLs. */
        result->truncated = DB_BYTE_BUDGET;
        return DB_TAKE_BUDGET;
    }
    assert(result->bytes <= limits->max_result_bytes);
    size_t row_bytes = row_sent_bytes(result, pg, row, limits->max_cell_bytes);
    if (row_bytes > limits->max_result_bytes - result->bytes) {
        result->truncated = DB_BYTE_BUDGET;
        return DB_TAKE_BUDGET;
    }
    size_t need = (result->row_count + 1) * (size_t)columns;
    db_cell *cells = realloc(result->cells, (need ? need : 1) * sizeof *cells);
    if (cells == NULL)
        return DB_TAKE_NO_MEMORY;
    result->cells = cells;
    db_cell *cells_of_row = &cells[result->row_count * (size_t)columns];
    memset(cells_of_row, 0, (size_t)columns * sizeof *cells_of_row);
    result->row_count++;
    result->bytes += row_bytes;
    return copy_row(result, cells_of_row, pg, row, limits->max_cell_bytes) ? DB_TAKE_KEPT : DB_TAKE_NO_MEMORY;
}

db_result *db_result_from_pg(const PGresult *pg, const db_result_limits *limits) {
    db_result *result = db_result_new();
    if (result == NULL)
        return NULL;
    ExecStatusType status = pg ? PQresultStatus(pg) : PGRES_FATAL_ERROR;
    bool ok;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        ok = db_result_take_columns(result, pg, NULL, NULL);
        for (int row = 0; ok && row < PQntuples(pg); row++)
            ok = db_result_take_row(result, pg, row, limits) != DB_TAKE_NO_MEMORY;
    } else {
        ok = db_result_set_error(result, pg);
    }
    if (!ok) {
        db_result_free(result);
        return NULL;
    }
    return result;
}
