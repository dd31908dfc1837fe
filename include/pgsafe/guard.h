/* pgsafe guard: decides whether one SQL string is a single read-only SELECT that is safe
 * to run, and rewrites it so that its result is bounded.
 *
 *   guard_policy policy;
 *   guard_policy_init(&policy);          // defaults; then adjust fields
 *   guard_result result = guard_check(sql, &policy);
 *   if (result.allowed) run(result.rewritten_sql); else report(result.code, result.message);
 *   guard_result_free(&result);
 *
 * The guard parses with libpg_query (the PostgreSQL 15 grammar), walks the whole tree
 * against an allow-list of node types, applies the function, operator, type and relation
 * policy (with the built-ins of the server's major version, policy.server_version), rewrites
 * the LIMIT, renders the tree as SQL (the query's own text with the LIMIT appended when that
 * suffices, else deparsed), and checks the output again. It does no I/O and keeps no global
 * state: it is safe to call from any thread with its own policy.
 *
 * Other layers that need the parser use guard_fingerprint and guard_quote_identifier, so
 * that only this library links libpg_query. */
#ifndef PGSAFE_GUARD_H
#define PGSAFE_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; these declarations are its exported API. */
#if defined(__GNUC__)
#define PGSAFE_GUARD_API __attribute__((visibility("default")))
#else
#define PGSAFE_GUARD_API
#endif

/* Stable reason codes. Their names (guard_reason_name) are part of the interface:
 * docs/reason-codes.md documents each one; never renumber or rename. */
typedef enum guard_reason {
    GUARD_OK = 0,                /* allowed */
    GUARD_SYNTAX_ERROR,          /* PostgreSQL's parser rejected the text */
    GUARD_EMPTY_QUERY,           /* no statement at all */
    GUARD_MULTIPLE_STATEMENTS,   /* more than one statement */
    GUARD_NOT_SELECT,            /* the statement is not a SELECT (INSERT, SET, COPY, ...) */
    GUARD_SELECT_INTO,           /* SELECT ... INTO creates a table */
    GUARD_LOCKING_CLAUSE,        /* FOR UPDATE / SHARE / ... takes row locks */
    GUARD_PARAMETER,             /* $1 parameters: nothing binds them */
    GUARD_CONSTRUCT_NOT_ALLOWED, /* a node type that is not on the allow-list */
    GUARD_FUNCTION_DENIED,       /* on the deny list (files, SQL from strings, ...) */
    GUARD_FUNCTION_VOLATILE,     /* a volatile function not on the harmless list */
    GUARD_FUNCTION_UNKNOWN,      /* not a built-in and no catalog knows it */
    GUARD_OPERATOR_NOT_ALLOWED,  /* an operator that is volatile or unknown */
    GUARD_TYPE_NOT_ALLOWED,      /* a cast to a type that is unknown or volatile */
    GUARD_RELATION_DENIED,       /* a sensitive catalog such as pg_authid */
    GUARD_TOO_COMPLEX,           /* nesting deeper than the guard will walk */
    GUARD_INPUT_TOO_LARGE,       /* text longer than policy.max_sql_bytes */
    GUARD_INVALID_INPUT,         /* not valid UTF-8, or a NUL byte */
    GUARD_REWRITE_FAILED,        /* deparse failed or its output did not pass (fail closed) */
    GUARD_INTERNAL_ERROR,        /* out of memory or a library failure */
    GUARD_UNINTERRUPTIBLE,       /* work the statement timeout cannot stop (XPath) */
    GUARD_VALUE_TOO_LARGE,       /* a value bounded from constants beyond max_value_bytes */
    GUARD_HIDDEN_FUNCTION,       /* may reach a volatile function without naming it */
    GUARD_RELATION_NOT_ALLOWED,  /* outside the data owner's table allow-list (--tables) */
    GUARD_COLUMN_DENIED,         /* could read a column the data owner denied (--deny-columns) */
    GUARD_POLICY_UNVERIFIABLE,   /* a table or column policy is set and the guard cannot prove
                                    the construct stays inside it (fail closed) */
    GUARD_TOO_COSTLY,            /* work counted from constants beyond max_plan_rows (a
                                    generate_series of more rows) */
    GUARD_REASON_COUNT
} guard_reason;

typedef enum guard_volatility {
    GUARD_VOLATILITY_UNKNOWN = 0, /* nobody knows this name */
    GUARD_VOLATILITY_IMMUTABLE,
    GUARD_VOLATILITY_STABLE,
    GUARD_VOLATILITY_VOLATILE
} guard_volatility;

/* A relation's name as the catalog stores it (neither quoted nor case-folded). */
typedef struct guard_relation_name {
    const char *schema;
    const char *name;
} guard_relation_name;

typedef enum guard_relation_kind {
    GUARD_RELATION_KIND_UNKNOWN = 0,
    GUARD_RELATION_KIND_TABLE,         /* ordinary or partitioned table */
    GUARD_RELATION_KIND_VIEW,          /* view or materialized view: counts as what it is named */
    GUARD_RELATION_KIND_FOREIGN_TABLE, /* foreign table */
    GUARD_RELATION_KIND_OTHER          /* sequence, composite type, ... */
} guard_relation_kind;

/* One relation as the catalog resolved it. The strings belong to the catalog and must
 * stay valid until guard_check returns. */
typedef struct guard_relation {
    guard_relation_kind kind;
    const char *schema;         /* the schema it resolved to (search_path applied) */
    const char *name;           /* its name */
    const char *const *columns; /* its column names in order, dropped columns left out */
    size_t column_count;
    /* The tables it is a partition or inheritance child of, transitively (their columns' data
     * is its own). guard_catalog.relation_ancestors answers by name before any resolution
     * (schema NULL: every schema's, for the deny lists), this for exactly the resolved relation
     * (for the allow-list and column policy); a catalog may serve both from one closure. */
    const guard_relation_name *ancestors;
    size_t ancestor_count;
} guard_relation;

/* A function as the catalog stores it, for the deny list: what an operator, a cast or an
 * object reached without its name calls. */
typedef struct guard_function_name {
    const char *schema;
    const char *name;
    const char *why; /* how the object reaches it ("its = operator calls pair_eq(pair,pair)"), or NULL */
} guard_function_name;

/* A live catalog the guard may consult (the server supplies one from pg_proc). Each
 * volatility callback returns the worst volatility over every object visible under the
 * name, or UNKNOWN; schema is NULL for an unqualified name. Callbacks must not call the
 * guard. */
typedef struct guard_catalog {
    guard_volatility (*function_volatility)(void *context, const char *schema, const char *name);
    guard_volatility (*operator_volatility)(void *context, const char *schema, const char *name);
    guard_volatility (*type_volatility)(void *context, const char *schema, const char *name);
    /* Inheritance and partitioning, transitively, of every relation visible under the name
     * (schema NULL: in any schema): lists ended by an entry whose name is NULL, owned by the
     * catalog and valid while it is loaded; NULL when there is none. A denied relation is
     * denied through its children (ancestors) and through a parent whose scan includes it
     * (descendants). */
    const guard_relation_name *(*relation_ancestors)(void *context, const char *schema, const char *name);
    const guard_relation_name *(*relation_descendants)(void *context, const char *schema, const char *name);
    /* Hazards: a volatile function a query can reach without naming it. Each returns NULL
     * when the object is safe, or a short phrase saying why it is not ("its type's = operator
     * calls volatile function lock_me"), owned by the catalog. A relation is hazardous when
     * reading it can call one (a column of a hazardous type, a view or row security policy
     * that calls one); a type when comparing, hashing, sorting, casting to, printing or
     * checking a value of it can (domains and composites through their parts); a function
     * when it returns or takes a hazardous type. global_hazard reports one that reaches
     * built-in types (an implicit cast or default operator class added to them): then no
     * query is safe and every query is refused. Any callback may be NULL. */
    const char *(*relation_hazard)(void *context, const char *schema, const char *name);
    const char *(*type_hazard)(void *context, const char *schema, const char *name);
    const char *(*function_hazard)(void *context, const char *schema, const char *name);
    const char *(*global_hazard)(void *context);
    void *context; /* passed back to every callback */
    /* Resolves a relation name as the pinned search_path would (schema NULL: unqualified)
     * and fills *relation; false when no such relation is visible. May be NULL: then the
     * table policy resolves unqualified names against guard_policy.search_path and a
     * column policy rejects every relation (it cannot know the columns). */
    bool (*relation)(void *context, const char *schema, const char *name, guard_relation *relation);
    /* The functions that --deny-function must reach through operators and casts: those of
     * every operator visible under the name (schema NULL: in any schema), and those a cast
     * to the type can call (the functions of the casts into it and its input function).
     * Lists ended by an entry whose name is NULL, owned by the catalog and valid while it is
     * loaded; NULL when there is none. Either may be NULL. Built-in operators and casts come
     * from the guard's own tables. */
    const guard_function_name *(*operator_functions)(void *context, const char *schema, const char *name);
    const guard_function_name *(*cast_functions)(void *context, const char *schema, const char *name);
    /* The functions PostgreSQL may call for an object without the query naming them, which
     * the deny list must reach too (volatile or not), each with its why. kind 'r': reading
     * relation schema.name (columns of types below, a view's definition, row security
     * policies); 't': using a value of type schema.name (its comparison operators, default
     * operator classes, implicit casts, I/O functions, domain CHECKs, ranges, what it
     * contains); 'f': calling function schema.name (the types it takes or returns); 'g'
     * (schema and name ignored): what any query may reach, users' implicit casts and
     * comparisons between built-in types; 'b': built-in function name, listed when PostgreSQL
     * calls it implicitly for built-in types (I/O, implicit casts, comparison, sorting,
     * hashing), its why saying for what. Schema NULL: in any schema. Lists as above; may be
     * NULL. */
    const guard_function_name *(*implicit_functions)(void *context, char kind, const char *schema, const char *name);
} guard_catalog;

/* How the LIMIT was rewritten. */
typedef enum guard_limit_action {
    GUARD_LIMIT_NONE = 0, /* not allowed: no rewrite */
    GUARD_LIMIT_KEPT,     /* a constant LIMIT within bounds was kept */
    GUARD_LIMIT_INJECTED, /* there was no LIMIT; max_rows + 1 was added */
    GUARD_LIMIT_CLAMPED,  /* a larger constant, ALL or NULL became max_rows + 1 */
    GUARD_LIMIT_WRAPPED   /* non-constant or WITH TIES: the query became a subquery
                             under an outer constant LIMIT */
} guard_limit_action;

typedef struct guard_policy {
    long long max_rows;                   /* rows shown; LIMIT becomes <= max_rows + 1 */
    size_t max_sql_bytes;                 /* longer text is rejected */
    const char *const *allowed_functions; /* NULL-terminated: extra harmless functions;
                                             the deny list still wins */
    const char *const *denied_functions;  /* NULL-terminated: added to the deny list */
    const char *const *denied_relations;  /* NULL-terminated: added to the defaults */
    const char *const *allowed_relations; /* NULL-terminated: removed from the defaults */
    const guard_catalog *catalog;         /* NULL offline: built-ins only */
    int server_version;                   /* the server's major version (15, 16, ...), whose
                                             built-ins apply; 0: unknown, the newest table */
    bool allow_xpath;                     /* true: the XPath family (xpath(), XMLEXISTS,
                                             XMLTABLE, ...) is allowed although the statement
                                             timeout cannot stop it */
    size_t max_value_bytes;               /* largest value the guard can bound from constants
                                             (repeat, lpad, string_agg over generate_series,
                                             ...) that it lets through */
    double max_plan_rows;                 /* most rows a generate_series with constant
                                             arguments may produce (the planner sees 1000 for
                                             a numeric or timestamp one); 0: no limit */
    /* The data owner's policy (guard_policy_validate checks the syntax; docs/policy.md).
     * Either set makes every relation go through the catalog's relation callback, and
     * refuses user-defined functions not in allowed_functions (they could read anything). */
    const char *const *table_patterns; /* NULL-terminated allow-list: "public.*",
                                          "sales.orders", "!public.audit_log"; NULL: all */
    const char *const *denied_columns; /* NULL-terminated: "users.email", "*.ssn",
                                          "hr.salaries.amount"; NULL: none */
    const char *const *search_path;    /* NULL-terminated schemas searched after pg_catalog
                                          when no relation callback resolves names;
                                          NULL: "public" */
} guard_policy;

typedef struct guard_result {
    bool allowed;            /* true: rewritten_sql may be executed */
    guard_reason code;       /* GUARD_OK when allowed */
    char *message;           /* one line, lower case; NULL when allowed */
    char *detail;            /* why; may be NULL */
    char *hint;              /* what to change; may be NULL */
    int cursor_position;     /* 1-based character position in the input, 0 if none */
    char *rewritten_sql;     /* the SQL to execute; NULL when rejected. Often the query's
                                own text (comments kept) with LIMIT appended; it never
                                ends inside a -- comment */
    long long applied_limit; /* the constant LIMIT of rewritten_sql; 0 when rejected */
    guard_limit_action limit_action;
} guard_result;

/* Defaults: max_rows 1000, max_sql_bytes 1 MiB, max_value_bytes 4 MiB, max_plan_rows 1e9,
 * no extra lists, no catalog, server_version 0, XPath refused. */
PGSAFE_GUARD_API void guard_policy_init(guard_policy *policy);

/* Checks the syntax of policy->table_patterns and policy->denied_columns. Returns true
 * when both are well formed; otherwise false and *error (caller frees) says which pattern
 * is wrong and why. */
PGSAFE_GUARD_API bool guard_policy_validate(const guard_policy *policy, char **error);

/* True when the table allow-list and the column policy of policy (both may be unset)
 * let the model see relation schema.name at all; for the schema tools. */
PGSAFE_GUARD_API bool guard_relation_visible(const guard_policy *policy, const char *schema, const char *name);

/* True when column schema.table.column is denied by policy->denied_columns. */
PGSAFE_GUARD_API bool guard_column_denied(const guard_policy *policy, const char *schema, const char *table,
                                          const char *column);

/* Checks sql (a NUL-terminated string; the caller keeps it) under policy. Never returns a
 * half-filled result: either allowed with rewritten_sql, or rejected with a message. The
 * caller owns the strings in the result and releases them with guard_result_free. */
PGSAFE_GUARD_API guard_result guard_check(const char *sql, const guard_policy *policy);

/* The same for text of a known length, which need not be NUL-terminated: a NUL byte inside
 * it is rejected as invalid_input instead of silently ending the query early. Use this for
 * text that came from JSON or the network. */
PGSAFE_GUARD_API guard_result guard_check_bytes(const char *sql, size_t length, const guard_policy *policy);

/* Frees the strings of a result and clears it; safe on a cleared result. */
PGSAFE_GUARD_API void guard_result_free(guard_result *result);

/* The stable name of a reason code ("function_volatile"); "unknown" out of range. */
PGSAFE_GUARD_API const char *guard_reason_name(guard_reason code);

/* "kept", "injected", "clamped", "wrapped" or "none". */
PGSAFE_GUARD_API const char *guard_limit_action_name(guard_limit_action action);

/* The PostgreSQL grammar version the guard parses with ("15.1"). */
PGSAFE_GUARD_API const char *guard_grammar_version(void);

/* The major version whose built-in table the guard uses for a server of `major`: the same
 * major when a table exists, the newest table for 0 or a newer major, the oldest for an
 * older one. guard_builtins_version(0) is the newest table's major. */
PGSAFE_GUARD_API int guard_builtins_version(int major);

/* The major version in a server_version string ("17.10", "15.4 (Debian 15.4-1)"), or 0 when
 * the string is NULL or does not start with one. */
PGSAFE_GUARD_API int guard_server_major(const char *server_version);

/* Bytes of a fingerprint: 16 lower-case hexadecimal digits and a NUL. */
#define GUARD_FINGERPRINT_SIZE 17

/* The fingerprint of sql (a NUL-terminated string): libpg_query's hash of the statement's
 * shape, the same for queries that differ only in constants, white space or comments, so
 * it can be logged where the text may not be. Writes it into fingerprint and returns true;
 * returns false with fingerprint set to "" when sql is NULL, does not parse, or is nested
 * deeper than guard_check would parse. It checks nothing else: any statement has one. */
PGSAFE_GUARD_API bool guard_fingerprint(const char *sql, char fingerprint[GUARD_FINGERPRINT_SIZE]);

/* name (a NUL-terminated string) as an SQL identifier, quoted as PostgreSQL's quote_ident
 * quotes it: bare when it is lower-case letters, digits and underscores, does not start
 * with a digit and is no keyword beyond the unreserved ones (of the guard's grammar);
 * otherwise in double quotes, inner double quotes doubled. A newly allocated string the
 * caller frees with free(); NULL when name is NULL or memory runs out. */
PGSAFE_GUARD_API char *guard_quote_identifier(const char *name);

/* How guard_bound_rows bounds each row of a checked query on the server. */
typedef struct guard_row_bound {
    int column_count;      /* columns of the checked query's result, 1 to GUARD_BOUND_MAX_COLUMNS */
    const bool *capped;    /* per column: cut its text form on the server (else passed as it is) */
    size_t cap_characters; /* characters kept of a capped value */
    size_t row_bytes;      /* a row whose capped values pass this many bytes comes back flagged, values NULL */
} guard_row_bound;

/* PostgreSQL's 1664 target entries, less the flag column. */
#define GUARD_BOUND_MAX_COLUMNS 1663

/* checked_sql (the SQL of an allowed verdict) wrapped so that no row the server sends
 * passes a bound that does not depend on the data: each capped column becomes the first
 * cap_characters characters of its text form (its output function, as the protocol would
 * send it; NULL stays NULL), and one more, last, boolean column says the row's capped
 * values passed row_bytes, in which case they are all NULL. Columns are unnamed, rows keep
 * their order. The text is re-parsed and its innermost subquery proven to be checked_sql's
 * tree, so nothing but the fixed wrapper was added. A newly allocated string the caller
 * frees; NULL when memory runs out, the bound is out of range, or the proof fails. */
PGSAFE_GUARD_API char *guard_bound_rows(const char *checked_sql, const guard_row_bound *bound);

#ifdef __cplusplus
}
#endif

#endif
