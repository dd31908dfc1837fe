/* `pgsafe check --dir DIR`: the guard over a directory of .sql files, one query a file, for
 * CI. Exit status: 0 every file allowed, 1 a file rejected, 2 a file or directory that
 * cannot be read, or no .sql file at all. */
#ifndef PGSAFE_CLI_CHECK_DIR_H
#define PGSAFE_CLI_CHECK_DIR_H

#include <stdbool.h>

#include "pgsafe/guard.h"

/* Checks every *.sql file under directory (subdirectories too, hidden entries and links to
 * directories skipped; files and directories each in name order) under policy. Text: each
 * rejection ("REJECTED path: reason: message" and its detail, hint and position), then
 * "N allowed, N rejected". json: one line per file, {"file", then the fields of --json}.
 * Returns the exit status. */
int cli_check_dir(const char *directory, const guard_policy *policy, bool json);

#endif
