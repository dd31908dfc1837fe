/* `pgsafe doctor`: connects with exactly serve's configuration and reports what the
 * deployment can do: server, role posture, TLS, limits, the function catalog, and a verdict.
 * Exit status: 0 sound (warnings allowed), 1 not sound (each problem and its fix on stdout),
 * 2 bad option (the reason on stderr, as serve says it). */
#ifndef PGSAFE_CLI_DOCTOR_H
#define PGSAFE_CLI_DOCTOR_H

#include <stdio.h>

/* argv[0] is "doctor". */
int cli_doctor_main(int argc, char **argv);

void cli_doctor_usage(FILE *stream);

#endif
