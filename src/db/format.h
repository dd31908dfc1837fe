/* Results for a model: typed JSON values (structuredContent) and a compact text rendering
 * (a header line, then tab-separated rows with COPY-style escapes and \N for NULL). */
#ifndef PGSAFE_DB_FORMAT_H
#define PGSAFE_DB_FORMAT_H

#include <json-c/json.h>

#include "db/result.h"

/* The marker appended to a value cut at the per-cell cap. */
#define FORMAT_CUT_MARK DB_CUT_MARK

/* One cell as JSON, typed by its column (NULL for SQL NULL and for a json value null).
 * Caller owns the object. NULL also when memory runs out: format_rows_json tells the two
 * apart. */
json_object *format_cell_json(const db_column *column, const db_cell *cell);

/* [{"name", "type"}, ...]. Caller owns. NULL when memory runs out. */
json_object *format_columns_json(const db_result *result);

/* [[v, v, ...], ...]. Caller owns. NULL when memory runs out. */
json_object *format_rows_json(const db_result *result);

/* The rows as text: "name:type<TAB>..." then one line per row. Caller frees; NULL when
 * memory runs out. */
char *format_rows_text(const db_result *result);

#endif
