/* A guard verdict as JSON members, the shape `pgsafe check --json`, `check --dir --json`
 * and `check --jsonl` all print. Its own module so that those three files depend on it,
 * not on one another. */
#ifndef PGSAFE_CLI_CHECK_VERDICT_H
#define PGSAFE_CLI_CHECK_VERDICT_H

#include <json-c/json.h>

#include "pgsafe/guard.h"

/* Adds the verdict's members, as `check --json` prints them, to object: allowed, reason,
 * then rewritten_sql, applied_limit, limit_action, or message, detail?, hint?, position?.
 * The strings are copies. */
void cli_check_verdict_add(json_object *object, const guard_result *result);

#endif
