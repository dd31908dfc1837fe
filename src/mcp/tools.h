/* What the tool files share (tools.c, tools_common.c, tools_query.c, tools_catalog.c). A
 * tool's start function gets a request whose arguments were checked against the tool's
 * spec (request->arguments holds them) and answers it in every case. */
#ifndef PGSAFE_MCP_TOOLS_H
#define PGSAFE_MCP_TOOLS_H

#include <json-c/json.h>

#include "mcp/request.h"

/* The tools' start functions (the tool table in tools.c names them). */
void tools_query_start(mcp_request *request, json_object *arguments);
void tools_check_sql_start(mcp_request *request, json_object *arguments);
void tools_explain_start(mcp_request *request, json_object *arguments);
void tools_list_schemas_start(mcp_request *request, json_object *arguments);
void tools_list_tables_start(mcp_request *request, json_object *arguments);
void tools_describe_table_start(mcp_request *request, json_object *arguments);
void tools_list_databases_start(mcp_request *request, json_object *arguments);

/* A string argument of the call, or NULL. */
const char *tools_string_argument(const mcp_request *request, const char *name);

/* Answers a failed database call (result borrowed) with a tool error for the model and
 * fills the audit entry's verdict and reason. */
void tools_fail_with_result(mcp_request *request, const db_result *result);

/* Runs step once the pool is ready (the catalog loaded): at once if it is, after a barrier
 * call otherwise. A pool that cannot connect answers the request with the reason. */
void tools_when_ready(mcp_request *request, mcp_resume_step step);

/* Runs a barrier call (it waits for the pool, and for a catalog reload asked for), then step. */
void tools_run_barrier(mcp_request *request, mcp_resume_step step);

/* text fenced as untrusted database content (mcp/fence.h), or as it is under --no-fence
 * (caller frees). NULL when out of memory or when no fence could be made: then the
 * content must not be sent. */
char *tools_fenced(const mcp_request *request, const char *text);

/* A compact text description of one table from describe_table's JSON (caller frees). */
char *tools_describe_text(json_object *table);

#endif
