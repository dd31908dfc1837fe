/* `pgsafe check`: the guard on the command line, for people and CI pipelines.
 * Exit status: 0 allowed (or every corpus entry as expected), 1 rejected (or a corpus
 * mismatch), 2 usage or internal error. Output goes to stdout; usage errors to stderr. */
#ifndef PGSAFE_CLI_CHECK_H
#define PGSAFE_CLI_CHECK_H

#include <json-c/json.h>
#include <stdio.h>

#include "pgsafe/guard.h"

/* argv[0] is "check". */
int cli_check_main(int argc, char **argv);

/* The usage text of `pgsafe check`. */
void cli_check_usage(FILE *stream);

/* Adds the verdict's members, as `check --json` prints them, to object: allowed, reason,
 * then rewritten_sql, applied_limit, limit_action, or message, detail?, hint?, position?.
 * The strings are copies. */
void cli_check_verdict_add(json_object *object, const guard_result *result);

#endif
