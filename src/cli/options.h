/* The command line's one option table. Each command lists its options as rows of
 * cli_option; cli_options_parse reads them from the environment and argv and hands each
 * value to its row's handler, and cli_options_usage prints them for --help (which the man
 * page check and configuration.md's check read). Adding an option is one row and its
 * handler.
 *
 *   static const cli_option rows[] = {
 *       {"--max-rows", "PGSAFE_MAX_ROWS", CLI_VALUE, "N", "rows per query result (1000)", set_max_rows},
 *   };
 *   static const cli_command command = {"serve", rows, sizeof rows / sizeof *rows, NULL};
 *   cli_parsed parsed;
 *   int status = cli_options_parse(&command, &settings, argc, argv, &parsed);  // 0, 1 (--help) or 2
 *   ...use settings...
 *   cli_options_free(&parsed);  // after the last use of a value from a list variable */
#ifndef PGSAFE_CLI_OPTIONS_H
#define PGSAFE_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum cli_option_kind {
    CLI_SWITCH, /* no value; its variable takes 1/0, true/false, yes/no, on/off ("" is off) */
    CLI_VALUE,  /* one value, as the next argument or after "="; the last one given wins */
    CLI_LIST    /* repeatable, one item each time; its variable (or its plural) takes a comma-separated list */
} cli_option_kind;

/* Takes one value into the command's settings. value is NULL for a switch that is on (an
 * off switch is never handed over); source names where the value came from ("--max-rows",
 * "PGSAFE_MAX_ROWS") for messages. A value stays valid until cli_options_free. Returns
 * false after reporting on stderr, as "pgsafe COMMAND: ...", why the value is refused. */
typedef bool cli_option_handler(void *settings, const char *value, const char *source);

typedef struct cli_option {
    const char *flag;           /* "--max-rows" */
    const char *variable;       /* "PGSAFE_MAX_ROWS", or NULL for a flag alone */
    cli_option_kind kind;       /* how many values, and how its variable is read */
    const char *value_name;     /* the value's name in the help ("N", "FILE"); NULL for a switch */
    const char *help;           /* one line, or several separated by '\n' */
    cli_option_handler *handle; /* never NULL */
} cli_option;

typedef struct cli_command {
    const char *name;          /* "serve": messages say "pgsafe serve: ..." */
    const cli_option *options; /* the rows, in the order --help lists them */
    size_t option_count;
    /* Takes an argument that is not an option (check's SQL), as a handler does. NULL: the
     * command takes none, and every argument is looked up as an option. */
    bool (*positional)(void *settings, const char *argument);
} cli_command;

/* What a parse allocated: copies of list variables, whose items handlers received. */
typedef struct cli_parsed {
    char **copies;
    size_t copy_count;
} cli_parsed;

/* Reads the variables of command's options, then argv[1..] (argv[0] is the command's
 * name), and hands every value to its handler: list items as they are read, variables'
 * first; then the winning value of each other option (a flag wins over its variable), in
 * table order. An option is "--name", "--name=value" or "-h"; with a positional handler,
 * an argument not starting with "--" and a letter is positional (a query may begin with a
 * "--" comment), and so is every argument after "--". Returns 0 when every value was
 * taken, 1 when -h or --help was asked (nothing printed, no handler called), 2 after
 * reporting a usage error on stderr. Call cli_options_free afterwards in every case. */
int cli_options_parse(const cli_command *command, void *settings, int argc, char **argv, cli_parsed *parsed);

void cli_options_free(cli_parsed *parsed);

/* cli_options_parse for a command whose options have no variables: every value points into
 * argv, so nothing is left to free. */
int cli_options_parse_argv(const cli_command *command, void *settings, int argc, char **argv);

/* The option list of --help: per option "  --flag VALUE  [VARIABLE]" and its help
 * indented below, then "  -h, --help". */
void cli_options_usage(const cli_command *command, FILE *stream);

/* The option of command with this flag, or NULL. */
const cli_option *cli_options_find(const cli_command *command, const char *flag, size_t flag_length);

/* Parses a decimal integer in [minimum, maximum]; false when text is not one. */
bool cli_parse_integer(const char *text, long long minimum, long long maximum, long long *value);

#endif
