/* The database layer in one include, for callers that use most of it (the MCP server): the
 * pool (pool.h), the result type (result.h), the role's posture (posture.h), the log
 * callback (log.h), the connection parameters (params.h) and the clock (clock.h). A file
 * that needs one of them includes that header instead. */
#ifndef PGSAFE_DB_H
#define PGSAFE_DB_H

#include "db/clock.h"
#include "db/log.h"
#include "db/params.h"
#include "db/pool.h"
#include "db/posture.h"
#include "db/result.h"

#endif
