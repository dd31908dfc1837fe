/* `pgsafe check --jsonl`: the guard as a long-running filter for gateways that cannot link
 * C. Each line of input is one request, {"id", "sql", "max_rows"?, "server_version"?};
 * each gets exactly one line of output, in order: {"id", then the fields of `check --json`}.
 * A line that is not such a request gets {"id" (or null), "allowed": false, "reason":
 * "invalid_request", "message", "detail"?} and the filter goes on. Output is flushed after
 * every line; end of input ends the filter with status 0.
 *
 *   int status = cli_check_jsonl(stdin, stdout, &policy);   // 0 at EOF, 2 on an I/O error */
#ifndef PGSAFE_CLI_CHECK_JSONL_H
#define PGSAFE_CLI_CHECK_JSONL_H

#include <stdio.h>

#include "pgsafe/guard.h"

/* The longest request line read, newline excluded: the guard takes 1 MiB of SQL, which JSON
 * escaping can make up to six times longer. A longer line is skipped up to its newline and
 * answered with invalid_request. */
#define CLI_JSONL_MAX_LINE_BYTES (8u * 1024 * 1024)

/* Answers every line of input on output under policy (max_rows and server_version may be
 * overridden per request). Returns 0 at end of input, 2 after reporting on stderr a read or
 * write error. */
int cli_check_jsonl(FILE *input, FILE *output, const guard_policy *policy);

#endif
