/* The method handlers the table in dispatch.c routes to. Each takes a request and its params
 * (an object, or NULL when the message had none) and answers the request in every case,
 * now or from a database continuation. Handlers see requests only through mcp/request.h. */
#ifndef PGSAFE_MCP_DISPATCH_H
#define PGSAFE_MCP_DISPATCH_H

#include <json-c/json.h>
#include <stdbool.h>

#include "mcp/request.h"

typedef void (*mcp_method_handler)(mcp_request *request, json_object *params);

/* True when the method table has name. */
bool dispatch_method_exists(const char *name);

/* Tools (tools.c). */
void tools_list(mcp_request *request, json_object *params);
void tools_call(mcp_request *request, json_object *params);

/* Resources (resources.c) and prompts (prompts.c). */
void resources_list(mcp_request *request, json_object *params);
void resources_read(mcp_request *request, json_object *params);
void resources_templates_list(mcp_request *request, json_object *params);
void prompts_list(mcp_request *request, json_object *params);
void prompts_get(mcp_request *request, json_object *params);

#endif
