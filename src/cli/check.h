/* `pgsafe check`: the guard on the command line, for people and CI pipelines.
 * Exit status: 0 allowed (or every corpus entry as expected), 1 rejected (or a corpus
 * mismatch), 2 usage or internal error. Output goes to stdout; usage errors to stderr. */
#ifndef PGSAFE_CLI_CHECK_H
#define PGSAFE_CLI_CHECK_H

#include <stdio.h>

/* argv[0] is "check". */
int cli_check_main(int argc, char **argv);

/* The usage text of `pgsafe check`. */
void cli_check_usage(FILE *stream);

#endif
