/* The rows of generate_series calls known from constants, for the size stage (size.c): its
 * numeric forms (integer, bigint, numeric, with any step) and its timestamp forms (start and
 * stop written as date or timestamp literals, or as now() and its kin plus a constant
 * interval; the step an interval literal, scaled by constants). PostgreSQL 15's planner
 * estimates 1000 rows for a numeric or timestamp series whatever its bounds, so the cost
 * guard cannot see generate_series(1, 1e11) coming; these counts let the guard refuse it
 * before it runs. False means "not known": the series is then left to the cost guard. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "size.h"

#define SECONDS_PER_DAY 86400.0
/* The average Gregorian month and year, for a count: PostgreSQL steps by calendar months. */
#define SECONDS_PER_MONTH (30.436875 * SECONDS_PER_DAY)
#define SECONDS_PER_YEAR  (365.2425 * SECONDS_PER_DAY)

/* floor() without libm: exact below 2^53, where doubles still hold every integer; above,
 * every double is already an integer. */
static double whole_part_below(double value) {
    if (!isfinite(value) || fabs(value) >= 9007199254740992.0)
        return value;
    double whole = (double)(long long)value;
    return whole > value ? whole - 1 : whole;
}

/* Whole steps from start to stop. The constants are decimal and the arithmetic binary: a
 * quotient within a billionth of a whole number is that number (generate_series(1, 2, 1e-9)
 * has 1e9 + 1 rows, where (2 - 1) / 1e-9 is 999999999.9999999). */
static double steps_between(double start, double stop, double step) {
    double quotient = (stop - start) / step;
    double nearest = whole_part_below(quotient + 0.5);
    if (fabs(quotient - nearest) <= 1e-9 * (fabs(quotient) > 1 ? fabs(quotient) : 1))
        return nearest;
    return whole_part_below(quotient);
}

/* A point in time: seconds since 2000-01-01, or since the transaction's start (now() and
 * its kin, which all read one clock) when relative. Two points compare only in one frame. */
typedef struct moment {
    bool relative;
    double seconds; /* may be +-infinity ('infinity'::timestamp) */
} moment;

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static double days_from_civil(long long year, long long month, long long day) {
    year -= month <= 2;
    long long era = (year >= 0 ? year : year - 399) / 400;
    long long year_of_era = year - era * 400;
    long long day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long long day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return (double)(era * 146097 + day_of_era - 719468);
}

/* Reads up to max digits as a whole number; false when there is none. */
static bool read_digits(const char **text, int max, long long *value) {
    const char *start = *text;
    *value = 0;
    while (isdigit((unsigned char)**text) && *text - start < max)
        *value = *value * 10 + (*(*text)++ - '0');
    return *text > start;
}

/* "YYYY-MM-DD[ T]HH:MM[:SS[.fraction]]", anything after (a time zone) ignored, and the
 * special values; false for any other spelling (the series is then not counted). */
static bool parse_moment_text(const char *text, moment *out) {
    static const struct {
        const char *word;
        bool relative;
        double seconds;
    } special[] = {{"now", true, 0},
                   {"today", true, 0},
                   {"tomorrow", true, SECONDS_PER_DAY},
                   {"yesterday", true, -SECONDS_PER_DAY},
                   {"infinity", false, INFINITY},
                   {"+infinity", false, INFINITY},
                   {"-infinity", false, -INFINITY},
                   {"epoch", false, -10957 * SECONDS_PER_DAY}};
    while (isspace((unsigned char)*text))
        text++;
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        if (strcasecmp(text, special[i].word) == 0) {
            *out = (moment){special[i].relative, special[i].seconds};
            return true;
        }
    long long year, month, day, hour = 0, minute = 0, second = 0;
    if (!read_digits(&text, 6, &year) || *text++ != '-' || !read_digits(&text, 2, &month) || *text++ != '-' ||
        !read_digits(&text, 2, &day) || month < 1 || month > 12 || day < 1 || day > 31)
        return false;
    if ((*text == ' ' || *text == 'T' || *text == 't') && isdigit((unsigned char)text[1])) {
        text++;
        if (!read_digits(&text, 2, &hour) || *text++ != ':' || !read_digits(&text, 2, &minute))
            return false;
        if (*text == ':' && (text++, !read_digits(&text, 2, &second)))
            return false;
    }
    double days = days_from_civil(year, month, day) - 10957; /* 1970-01-01 to 2000-01-01 */
    *out = (moment){false, days * SECONDS_PER_DAY + (double)(hour * 3600 + minute * 60 + second)};
    return true;
}

/* Seconds of one unit of an interval's text ("2 hours", "1 mon", "ms"), 0 when unknown. */
static double unit_seconds(const char *unit, size_t length) {
    static const struct {
        const char *name;
        double seconds;
    } units[] = {{"microseconds", 1e-6},
                 {"microsecond", 1e-6},
                 {"usecs", 1e-6},
                 {"usec", 1e-6},
                 {"us", 1e-6},
                 {"milliseconds", 1e-3},
                 {"millisecond", 1e-3},
                 {"msecs", 1e-3},
                 {"msec", 1e-3},
                 {"ms", 1e-3},
                 {"seconds", 1},
                 {"second", 1},
                 {"secs", 1},
                 {"sec", 1},
                 {"s", 1},
                 {"minutes", 60},
                 {"minute", 60},
                 {"mins", 60},
                 {"min", 60},
                 {"m", 60},
                 {"hours", 3600},
                 {"hour", 3600},
                 {"hrs", 3600},
                 {"hr", 3600},
                 {"h", 3600},
                 {"days", SECONDS_PER_DAY},
                 {"day", SECONDS_PER_DAY},
                 {"d", SECONDS_PER_DAY},
                 {"weeks", 7 * SECONDS_PER_DAY},
                 {"week", 7 * SECONDS_PER_DAY},
                 {"w", 7 * SECONDS_PER_DAY},
                 {"months", SECONDS_PER_MONTH},
                 {"month", SECONDS_PER_MONTH},
                 {"mons", SECONDS_PER_MONTH},
                 {"mon", SECONDS_PER_MONTH},
                 {"years", SECONDS_PER_YEAR},
                 {"year", SECONDS_PER_YEAR},
                 {"yrs", SECONDS_PER_YEAR},
                 {"yr", SECONDS_PER_YEAR},
                 {"y", SECONDS_PER_YEAR},
                 {"decades", 10 * SECONDS_PER_YEAR},
                 {"decade", 10 * SECONDS_PER_YEAR},
                 {"centuries", 100 * SECONDS_PER_YEAR},
                 {"century", 100 * SECONDS_PER_YEAR},
                 {"millennia", 1000 * SECONDS_PER_YEAR},
                 {"millennium", 1000 * SECONDS_PER_YEAR}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strlen(units[i].name) == length && strncasecmp(units[i].name, unit, length) == 0)
            return units[i].seconds;
    return 0;
}

/* An interval's text in PostgreSQL's postgres style: "[@] N unit [N unit ...] [HH:MM[:SS]]
 * [ago]", or a bare number of seconds. False for anything else (ISO 8601 included). */
static bool parse_interval_text(const char *text, double *seconds) {
    double total = 0;
    bool any = false;
    while (*text != '\0') {
        while (isspace((unsigned char)*text) || *text == '@')
            text++;
        if (*text == '\0')
            break;
        if (strncasecmp(text, "ago", 3) == 0 && (text[3] == '\0' || isspace((unsigned char)text[3]))) {
            total = -total;
            text += 3;
            continue;
        }
        errno = 0;
        char *end = NULL;
        double number = strtod(text, &end);
        if (end == text || errno != 0 || !isfinite(number))
            return false;
        text = end;
        if (*text == ':') { /* HH:MM[:SS]: the number read was the hours */
            double minutes = strtod(text + 1, &end), secs = 0;
            if (end == text + 1)
                return false;
            text = end;
            if (*text == ':') {
                secs = strtod(text + 1, &end);
                if (end == text + 1)
                    return false;
                text = end;
            }
            double magnitude = fabs(number) * 3600 + minutes * 60 + secs;
            total += signbit(number) ? -magnitude : magnitude;
            any = true;
            continue;
        }
        while (isspace((unsigned char)*text))
            text++;
        size_t length = 0;
        while (isalpha((unsigned char)text[length]))
            length++;
        if (length == 0) { /* a bare number: seconds */
            total += number;
            any = true;
            continue;
        }
        double unit = unit_seconds(text, length);
        if (unit == 0)
            return false;
        total += number * unit;
        text += length;
        any = true;
    }
    *seconds = total;
    return any;
}

/* The name of a TypeCast's type, its last part ("interval", "timestamptz"); NULL if none. */
static const char *cast_type(const PgQuery__TypeCast *cast) {
    const PgQuery__TypeName *type = cast->type_name;
    if (type == NULL || type->n_names == 0 || type->names[type->n_names - 1]->node_case != PG_QUERY__NODE__NODE_STRING)
        return NULL;
    return type->names[type->n_names - 1]->string->sval;
}

static const char *string_constant(const PgQuery__Node *node) {
    if (node == NULL || node->node_case != PG_QUERY__NODE__NODE_A_CONST || node->a_const->isnull ||
        node->a_const->val_case != PG_QUERY__A__CONST__VAL_SVAL)
        return NULL;
    return node->a_const->sval->sval;
}

/* The binary operator of an A_Expr ("+", "*"), or NULL. */
static const char *binary_operator(const PgQuery__AExpr *expression) {
    if (expression->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || expression->n_name != 1 ||
        expression->name[0]->node_case != PG_QUERY__NODE__NODE_STRING || expression->lexpr == NULL)
        return NULL;
    return expression->name[0]->string->sval;
}

/* interval '5' minute: a bare number counts in the smallest field the type modifier names
 * (PostgreSQL's INTERVAL_MASK bits); text with units is read as it is (a coarser field only
 * truncates it, to fewer rows or to a step PostgreSQL refuses). */
static bool typed_interval(const PgQuery__TypeCast *cast, double *seconds) {
    static const struct {
        int bit;
        double seconds;
    } fields[] = {{12, 1}, {11, 60}, {10, 3600}, {3, SECONDS_PER_DAY}, {1, SECONDS_PER_MONTH}, {2, SECONDS_PER_YEAR}};
    const char *text = string_constant(cast->arg);
    const PgQuery__Node *modifier = cast->type_name->typmods[0];
    if (text == NULL || modifier->node_case != PG_QUERY__NODE__NODE_A_CONST ||
        modifier->a_const->val_case != PG_QUERY__A__CONST__VAL_IVAL)
        return false;
    char *end = NULL;
    errno = 0;
    double number = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(number))
        return parse_interval_text(text, seconds);
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (modifier->a_const->ival->ival & (1 << fields[i].bit)) {
            *seconds = number * fields[i].seconds;
            return true;
        }
    return false;
}

/* An interval known from constants, in seconds: a literal ('1 day', interval '1 day',
 * '1 day'::interval, a bare number), times or divided by a constant number. */
static bool constant_interval(const PgQuery__Node *node, double *seconds, int depth) {
    if (node == NULL || depth > GUARD_MAX_DEPTH)
        return false;
    const char *text = string_constant(node);
    if (text != NULL)
        return parse_interval_text(text, seconds);
    if (node->node_case == PG_QUERY__NODE__NODE_TYPE_CAST) {
        const char *type = cast_type(node->type_cast);
        if (type == NULL || strcmp(type, "interval") != 0)
            return false;
        if (node->type_cast->type_name->n_typmods > 0)
            return typed_interval(node->type_cast, seconds);
        return constant_interval(node->type_cast->arg, seconds, depth + 1);
    }
    if (node->node_case != PG_QUERY__NODE__NODE_A_EXPR)
        return false;
    const PgQuery__AExpr *expression = node->a_expr;
    const char *op = binary_operator(expression);
    double number = 0, interval = 0;
    if (op == NULL || (strcmp(op, "*") != 0 && strcmp(op, "/") != 0))
        return false;
    if (constant_interval(expression->lexpr, &interval, depth + 1) &&
        size_constant_number(expression->rexpr, &number, depth + 1)) {
        *seconds = strcmp(op, "*") == 0 ? interval * number : number != 0 ? interval / number : NAN;
        return isfinite(*seconds);
    }
    if (strcmp(op, "*") == 0 && size_constant_number(expression->lexpr, &number, depth + 1) &&
        constant_interval(expression->rexpr, &interval, depth + 1)) {
        *seconds = interval * number;
        return isfinite(*seconds);
    }
    return false;
}

static bool is_clock_call(const PgQuery__FuncCall *call) {
    static const char *const clocks[] = {"now", "transaction_timestamp", "statement_timestamp", "clock_timestamp",
                                         NULL};
    return call->n_args == 0 && size_named(size_function_name(call), clocks);
}

/* A moment known from constants: a date or timestamp literal (cast or not), now() and its
 * kin (CURRENT_DATE, LOCALTIMESTAMP, ...), plus or minus a constant interval or, for a
 * date, a constant number of days. */
static bool constant_moment(const PgQuery__Node *node, moment *out, int depth) {
    if (node == NULL || depth > GUARD_MAX_DEPTH)
        return false;
    const char *text = string_constant(node);
    if (text != NULL)
        return parse_moment_text(text, out);
    switch (node->node_case) {
    case PG_QUERY__NODE__NODE_TYPE_CAST: {
        const char *type = cast_type(node->type_cast);
        return type != NULL && strcmp(type, "interval") != 0 && constant_moment(node->type_cast->arg, out, depth + 1);
    }
    case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION: *out = (moment){true, 0}; return true;
    case PG_QUERY__NODE__NODE_FUNC_CALL:
        if (!is_clock_call(node->func_call))
            return false;
        *out = (moment){true, 0};
        return true;
    case PG_QUERY__NODE__NODE_A_EXPR: {
        const PgQuery__AExpr *expression = node->a_expr;
        const char *op = binary_operator(expression);
        if (op == NULL || (strcmp(op, "+") != 0 && strcmp(op, "-") != 0))
            return false;
        double sign = strcmp(op, "+") == 0 ? 1 : -1, shift = 0;
        moment base;
        if (constant_moment(expression->lexpr, &base, depth + 1)) {
            if (!constant_interval(expression->rexpr, &shift, depth + 1)) {
                if (!size_constant_number(expression->rexpr, &shift, depth + 1))
                    return false;
                shift *= SECONDS_PER_DAY; /* date + integer: days */
            }
        } else if (sign > 0 && constant_moment(expression->rexpr, &base, depth + 1)) {
            if (!constant_interval(expression->lexpr, &shift, depth + 1))
                return false;
        } else {
            return false;
        }
        *out = (moment){base.relative, base.seconds + sign * shift};
        return true;
    }
    default: return false;
    }
}

/* generate_series(start, stop, step) over moments: rows, infinite for an infinite stop. */
static bool moment_series_rows(const PgQuery__FuncCall *call, double *rows) {
    moment start, stop;
    double step = 0;
    if (call->n_args != 3 || !constant_moment(call->args[0], &start, 0) || !constant_moment(call->args[1], &stop, 0) ||
        !constant_interval(call->args[2], &step, 0) || step == 0 || !isfinite(start.seconds) ||
        (start.relative != stop.relative && isfinite(stop.seconds)))
        return false;
    double count = isfinite(stop.seconds) ? steps_between(start.seconds, stop.seconds, step) + 1
                                          : ((stop.seconds > 0) == (step > 0) ? INFINITY : 0);
    *rows = count > 0 ? count : 0;
    return true;
}

bool size_series_rows(const PgQuery__FuncCall *call, double *rows) {
    const char *name = size_function_name(call);
    double start = 0, stop = 0, step = 1;
    if (name == NULL || strcmp(name, "generate_series") != 0 || call->n_args < 2 || call->n_args > 3)
        return false;
    if (!size_constant_number(call->args[0], &start, 0) || !size_constant_number(call->args[1], &stop, 0) ||
        (call->n_args == 3 && !size_constant_number(call->args[2], &step, 0)))
        return moment_series_rows(call, rows);
    if (step == 0)
        return false;
    double count = steps_between(start, stop, step) + 1;
    *rows = count > 0 ? count : 0;
    return true;
}

bool size_check_series(size_state *state, const PgQuery__FuncCall *call) {
    double rows = 0, limit = state->policy->max_plan_rows;
    if (limit <= 0 || !size_series_rows(call, &rows) || rows <= limit)
        return true;
    char *message_rows = isfinite(rows) ? str_printf("%.0f", rows) : str_printf("infinitely many");
    char *detail = str_printf("pgsafe refuses work it can count from constants beyond %.0f rows (--max-plan-rows): "
                              "the planner estimates 1000 rows for a numeric or timestamp series whatever its "
                              "bounds, so the query would run until the statement timeout",
                              limit);
    char *hint = str_printf("generate at most %.0f rows: narrow start and stop or take a larger step; to aggregate "
                            "over a whole range, compute the result arithmetically (the sum of 1..n is n*(n+1)/2)",
                            limit);
    verdict_reject(state->verdict, GUARD_TOO_COSTLY, call->location, detail, hint,
                   "generate_series would produce %s rows, over the limit of %.0f",
                   message_rows != NULL ? message_rows : "too many", limit);
    free(message_rows);
    free(detail);
    free(hint);
    return false;
}
