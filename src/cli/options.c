/* The option table's reader: environment variables, then argv, then every value to its
 * row's handler; and the --help list of the rows. The rows themselves live with their
 * commands (cli/config.c for serve and doctor, cli/check.c, cli/setup_sql.c). */
#include "cli/options.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One option's value as the command line resolves it, before its handler sees it. */
typedef struct chosen {
    const char *value;  /* a CLI_VALUE's winning value, or NULL */
    const char *source; /* its flag or variable */
    bool on;            /* a CLI_SWITCH that is on */
} chosen;

/* One item of a CLI_LIST, in the order given (variables' items first). */
typedef struct list_item {
    size_t option;
    const char *value;
    const char *source;
} list_item;

/* The state of one parse; freed by cli_options_parse itself. */
typedef struct parse_state {
    const cli_command *command;
    cli_parsed *parsed;
    chosen *chosen;   /* one per option */
    list_item *items; /* owned */
    size_t item_count;
} parse_state;

bool cli_parse_integer(const char *text, long long minimum, long long maximum, long long *value) {
    errno = 0;
    char *end = NULL;
    long long parsed = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || parsed < minimum || parsed > maximum)
        return false;
    *value = parsed;
    return true;
}

const cli_option *cli_options_find(const cli_command *command, const char *flag, size_t flag_length) {
    for (size_t i = 0; i < command->option_count; i++)
        if (strlen(command->options[i].flag) == flag_length &&
            strncmp(command->options[i].flag, flag, flag_length) == 0)
            return &command->options[i];
    return NULL;
}

void cli_options_usage(const cli_command *command, FILE *stream) {
    for (size_t i = 0; i < command->option_count; i++) {
        const cli_option *option = &command->options[i];
        assert((option->kind == CLI_SWITCH) == (option->value_name == NULL));
        fprintf(stream, "  %s", option->flag);
        if (option->value_name != NULL)
            fprintf(stream, " %s", option->value_name);
        if (option->variable != NULL)
            fprintf(stream, "  [%s]", option->variable);
        fputs("\n", stream);
        for (const char *line = option->help; *line != '\0';) {
            size_t length = strcspn(line, "\n");
            fprintf(stream, "      %.*s\n", (int)length, line);
            line += length + (line[length] == '\n');
        }
    }
    fputs("  -h, --help\n      this text\n", stream);
}

static void out_of_memory(const parse_state *state) {
    fprintf(stderr, "pgsafe %s: out of memory\n", state->command->name);
}

/* Appends an item of the list option at index option. False (reported) when out of memory. */
static bool add_item(parse_state *state, size_t option, const char *value, const char *source) {
    assert(state->command->options[option].kind == CLI_LIST);
    list_item *grown = realloc(state->items, (state->item_count + 1) * sizeof *grown);
    if (grown == NULL) {
        out_of_memory(state);
        return false;
    }
    state->items = grown;
    state->items[state->item_count++] = (list_item){option, value, source};
    return true;
}

/* 1 for the texts of on, 0 for those of off (the empty one included), -1 for anything else. */
static int parse_switch_text(const char *text) {
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcmp(text, yes[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcmp(text, no[i]) == 0)
            return 0;
    return -1;
}

/* A copy of text that lives until cli_options_free, or NULL (reported) when out of memory. */
static char *keep_copy(parse_state *state, const char *text) {
    char **grown = realloc(state->parsed->copies, (state->parsed->copy_count + 1) * sizeof *grown);
    if (grown == NULL) {
        out_of_memory(state);
        return NULL;
    }
    state->parsed->copies = grown;
    char *copy = strdup(text);
    if (copy == NULL) {
        out_of_memory(state);
        return NULL;
    }
    grown[state->parsed->copy_count++] = copy;
    return copy;
}

/* Splits a list variable's value at commas into items (leading spaces dropped, empty items
 * skipped). The copy they point into is kept in state->parsed. False (reported) on failure. */
static bool read_list_variable(parse_state *state, size_t option, const char *value, const char *source) {
    char *copy = keep_copy(state, value);
    if (copy == NULL)
        return false;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        if (*item != '\0' && !add_item(state, option, item, source))
            return false;
    }
    return true;
}

/* Reads every option's variable (a list's also under its plural name, PGSAFE_DENY_RELATIONS).
 * False after reporting a switch variable that is neither on nor off. */
static bool read_environment(parse_state *state) {
    const cli_command *command = state->command;
    for (size_t i = 0; i < command->option_count; i++) {
        const cli_option *option = &command->options[i];
        if (option->variable == NULL)
            continue;
        const char *source = option->variable, *value = getenv(source);
        char plural[128];
        if (value == NULL && option->kind == CLI_LIST) {
            snprintf(plural, sizeof plural, "%sS", option->variable);
            if ((value = getenv(plural)) != NULL && (source = keep_copy(state, plural)) == NULL)
                return false;
        }
        if (value == NULL)
            continue;
        if (option->kind == CLI_SWITCH) {
            int on = parse_switch_text(value);
            if (on < 0) {
                fprintf(stderr, "pgsafe %s: %s must be 1 or 0 (or true/false, yes/no, on/off), not \"%s\"\n",
                        command->name, option->variable, value);
                return false;
            }
            state->chosen[i].on = on == 1;
            state->chosen[i].source = source;
        } else if (option->kind == CLI_LIST) {
            if (!read_list_variable(state, i, value, source))
                return false;
        } else {
            state->chosen[i] = (chosen){value, source, false};
        }
    }
    return true;
}

/* Whether argument is to be looked up as an option rather than handed to the positional
 * handler. */
static bool is_option(const cli_command *command, const char *argument) {
    if (command->positional == NULL)
        return true;
    return strcmp(argument, "-h") == 0 ||
           (argument[0] == '-' && argument[1] == '-' && isalpha((unsigned char)argument[2]));
}

/* Reads argv[1..]. Returns 0, 1 for --help, or 2 after reporting a usage error. */
static int read_arguments(parse_state *state, void *settings, int argc, char **argv) {
    const cli_command *command = state->command;
    bool options_ended = false;
    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        if (!options_ended && command->positional != NULL && strcmp(argument, "--") == 0) {
            options_ended = true;
            continue;
        }
        if (options_ended || !is_option(command, argument)) {
            if (!command->positional(settings, argument))
                return 2;
            continue;
        }
        if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0)
            return 1;
        const char *equals = strchr(argument, '=');
        const cli_option *option =
            cli_options_find(command, argument, equals != NULL ? (size_t)(equals - argument) : strlen(argument));
        if (option == NULL) {
            fprintf(stderr, "pgsafe %s: unknown option \"%s\" (pgsafe %s --help lists them)\n", command->name, argument,
                    command->name);
            return 2;
        }
        size_t index = (size_t)(option - command->options);
        if (option->kind == CLI_SWITCH) {
            if (equals != NULL) {
                fprintf(stderr, "pgsafe %s: %s takes no value\n", command->name, option->flag);
                return 2;
            }
            state->chosen[index] = (chosen){NULL, option->flag, true};
            continue;
        }
        const char *value = equals != NULL ? equals + 1 : NULL;
        if (value == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "pgsafe %s: %s needs a value\n", command->name, option->flag);
                return 2;
            }
            value = argv[++i];
        }
        if (option->kind == CLI_LIST) {
            if (!add_item(state, index, value, option->flag))
                return 2;
        } else {
            state->chosen[index] = (chosen){value, option->flag, false};
        }
    }
    return 0;
}

/* Hands every value to its handler, option by option in table order. False as soon as one
 * refuses its value (it reported why). */
static bool hand_over(const parse_state *state, void *settings) {
    const cli_command *command = state->command;
    for (size_t i = 0; i < command->option_count; i++) {
        const cli_option *option = &command->options[i];
        const chosen *value = &state->chosen[i];
        bool ok = true;
        if (option->kind == CLI_SWITCH && value->on)
            ok = option->handle(settings, NULL, value->source);
        else if (option->kind == CLI_VALUE && value->value != NULL)
            ok = option->handle(settings, value->value, value->source);
        for (size_t j = 0; ok && j < state->item_count; j++)
            if (state->items[j].option == i)
                ok = option->handle(settings, state->items[j].value, state->items[j].source);
        if (!ok)
            return false;
    }
    return true;
}

int cli_options_parse(const cli_command *command, void *settings, int argc, char **argv, cli_parsed *parsed) {
    memset(parsed, 0, sizeof *parsed);
    parse_state state = {command, parsed, calloc(command->option_count + 1, sizeof *state.chosen), NULL, 0};
    int status = 2;
    if (state.chosen == NULL)
        out_of_memory(&state);
    else if (read_environment(&state))
        status = read_arguments(&state, settings, argc, argv);
    if (status == 0 && !hand_over(&state, settings))
        status = 2;
    free(state.chosen);
    free(state.items);
    return status;
}

void cli_options_free(cli_parsed *parsed) {
    for (size_t i = 0; i < parsed->copy_count; i++)
        free(parsed->copies[i]);
    free(parsed->copies);
    *parsed = (cli_parsed){0};
}

int cli_options_parse_argv(const cli_command *command, void *settings, int argc, char **argv) {
    cli_parsed parsed;
    int status = cli_options_parse(command, settings, argc, argv, &parsed);
    assert(parsed.copy_count == 0); /* no variables: every value points into argv */
    cli_options_free(&parsed);
    return status;
}
