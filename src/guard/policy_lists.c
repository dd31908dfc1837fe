/* The policy's lists: the built-in deny list (each entry with the category that says why
 * and what to do instead), the XPath family the statement timeout cannot stop, the volatile
 * built-ins reviewed as harmless or left refused, the settings current_setting() may read,
 * the relations denied by default, the functions of other SQL dialects with their
 * PostgreSQL forms, and how entries of the configured lists match a name. Every function a
 * major version added is reviewed here: a deny entry, the harmless list or the
 * refused-as-volatile list names it, with the version in a comment, and a unit test fails
 * on a volatile or denied name of a table that no list names. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "policy.h"

const deny_category policy_category_sql_from_string = {"it runs SQL given as a string, which the guard cannot check",
                                                       "write the query itself as a plain SELECT"};
static const deny_category category_files = {"it reads, lists or writes files on the database server",
                                             "remove it; pgsafe reads tables only, never server files"};
static const deny_category category_large_objects = {"it reads or changes large objects, which live outside the tables",
                                                     "remove it; large objects are not readable through pgsafe"};
static const deny_category category_locks = {"it takes advisory locks that can block other sessions",
                                             "remove it; reading needs no locks"};
static const deny_category category_backends = {"it acts on other sessions or on the server process",
                                                "remove it; pgsafe cannot act on other sessions or the server"};
static const deny_category category_server_state = {
    "it reads the internal state of other sessions or of the server process",
    "remove it; read the pg_stat_* views instead"};
const deny_category policy_category_settings = {
    "it reads or changes server settings",
    "remove it; current_setting() may read only: server_version, server_version_num, TimeZone, "
    "DateStyle, IntervalStyle, search_path, client_encoding, server_encoding, lc_*, "
    "transaction_isolation, transaction_read_only, statement_timeout"};
static const deny_category category_replication = {"it controls replication, WAL or backups",
                                                   "remove it; pgsafe cannot change replication or backup state"};
static const deny_category category_statistics = {"it changes or resets the server's statistics",
                                                  "remove it; read statistics from the pg_stat_* views instead"};
static const deny_category category_sleep = {"it sleeps while holding a connection",
                                             "remove it; the server enforces its own statement timeout"};
static const deny_category category_notify = {"it sends notifications to other sessions",
                                              "remove it; pgsafe cannot send notifications"};
static const deny_category category_sequences = {
    "it uses or advances sequence state, which changes the database or the session",
    "read the sequence as a relation instead: SELECT last_value FROM the_sequence"};
static const deny_category category_transaction_ids = {
    "it assigns a transaction id, which writes to the server's state",
    "use pg_current_snapshot() or pg_current_xact_id_if_assigned() instead"};
static const deny_category category_maintenance = {"it changes index, catalog or session state",
                                                   "remove it; pgsafe runs read-only queries only"};
static const deny_category category_session_texts = {
    "it returns other sessions' statements, with their literals (passwords of ALTER ROLE included)",
    "read the other columns of pg_stat_activity or pg_stat_statements by name instead"};
static const deny_category category_storage = {
    "it reveals where values are stored (TOAST), which pgsafe keeps out of reach",
    "remove it; query the values themselves"};
static const deny_category category_configured = {"it is on this server's configured deny list",
                                                  "remove it; ask the operator if you need it"};

typedef struct deny_entry {
    const char *name;
    bool prefix; /* true: every name starting with `name` */
    const deny_category *category;
} deny_entry;

static const deny_entry deny_entries[] = {
    {"query_to_xml", true, &policy_category_sql_from_string},
    {"cursor_to_xml", true, &policy_category_sql_from_string},
    {"table_to_xml", true, &policy_category_sql_from_string},
    {"schema_to_xml", true, &policy_category_sql_from_string},
    {"database_to_xml", true, &policy_category_sql_from_string},
    {"ts_stat", false, &policy_category_sql_from_string},
    {"dblink", true, &policy_category_sql_from_string},
    {"xpath_table", false, &policy_category_sql_from_string},
    {"pg_read_file", false, &category_files},
    {"pg_read_binary_file", false, &category_files},
    {"pg_read_file_old", false, &category_files}, /* 15 and 16 only: left unknown on 17 and later */
    {"pg_stat_file", false, &category_files},
    {"pg_ls_", true, &category_files},
    {"pg_file_", true, &category_files},
    {"pg_logdir_ls", false, &category_files},
    {"pg_current_logfile", false, &category_files},
    {"pg_hba_file_rules", false, &category_files},
    {"pg_ls_summariesdir", false, &category_files}, /* 18 (also under pg_ls_) */
    {"pg_ident_file_mappings", false, &category_files},
    {"pg_show_all_file_settings", false, &category_files},
    {"lo_", true, &category_large_objects},
    {"loread", false, &category_large_objects},
    {"lowrite", false, &category_large_objects},
    /* 18: tells whether a large object exists and who may read it. */
    {"has_largeobject_privilege", false, &category_large_objects},
    {"pg_advisory_", true, &category_locks},
    {"pg_try_advisory_", true, &category_locks},
    {"pg_terminate_backend", false, &category_backends},
    {"pg_cancel_backend", false, &category_backends},
    {"pg_reload_conf", false, &category_backends},
    {"pg_rotate_logfile", false, &category_backends},
    {"pg_rotate_logfile_old", false, &category_backends}, /* 15 and 16 only */
    {"pg_promote", false, &category_backends},
    {"pg_log_backend_memory_contexts", false, &category_backends},
    /* 18: other backends' I/O, asynchronous I/O, loaded libraries and shared memory. */
    {"pg_stat_get_backend_io", false, &category_server_state},
    {"pg_stat_get_backend_wal", false, &category_server_state},
    {"pg_get_aios", false, &category_server_state},
    {"pg_get_loaded_modules", false, &category_server_state},
    {"pg_get_shmem_allocations_numa", false, &category_server_state},
    {"set_config", false, &policy_category_settings},
    {"pg_show_all_settings", false, &policy_category_settings},
    {"pg_config", false, &policy_category_settings},
    {"pg_create_physical_replication_slot", false, &category_replication},
    {"pg_create_logical_replication_slot", false, &category_replication},
    {"pg_drop_replication_slot", false, &category_replication},
    {"pg_copy_", true, &category_replication},
    {"pg_logical_", true, &category_replication},
    {"pg_replication_", true, &category_replication},
    {"pg_switch_wal", false, &category_replication},
    {"pg_wal_replay_pause", false, &category_replication},
    {"pg_wal_replay_resume", false, &category_replication},
    {"pg_backup_start", false, &category_replication},
    {"pg_backup_stop", false, &category_replication},
    {"pg_start_backup", false, &category_replication},
    {"pg_stop_backup", false, &category_replication},
    {"pg_create_restore_point", false, &category_replication},
    {"pg_export_snapshot", false, &category_replication},
    {"pg_log_standby_snapshot", false, &category_replication},     /* 16: writes a WAL record */
    {"pg_sync_replication_slots", false, &category_replication},   /* 17 */
    {"pg_wal_summary_contents", false, &category_replication},     /* 17: reads WAL summary files */
    {"pg_available_wal_summaries", false, &category_replication},  /* 17 */
    {"pg_get_wal_summarizer_state", false, &category_replication}, /* 17 */
    {"pg_stat_reset", true, &category_statistics},
    {"pg_stat_reset_backend_stats", false, &category_statistics}, /* 18 (also under pg_stat_reset) */
    {"pg_restore_relation_stats", false, &category_statistics},   /* 18: overwrites planner statistics */
    {"pg_restore_attribute_stats", false, &category_statistics},  /* 18 */
    {"pg_clear_relation_stats", false, &category_statistics},     /* 18 */
    {"pg_clear_attribute_stats", false, &category_statistics},    /* 18 */
    {"pg_sleep", true, &category_sleep},
    {"pg_notify", false, &category_notify},
    {"nextval", false, &category_sequences},
    {"setval", false, &category_sequences},
    {"currval", false, &category_sequences},
    {"lastval", false, &category_sequences},
    /* 18: a sequence's state; reading the sequence as a relation shows the same. */
    {"pg_get_sequence_data", false, &category_sequences},
    {"txid_current", false, &category_transaction_ids},
    {"pg_current_xact_id", false, &category_transaction_ids},
    {"gin_clean_pending_list", false, &category_maintenance},
    {"brin_summarize_new_values", false, &category_maintenance},
    {"brin_summarize_range", false, &category_maintenance},
    {"brin_desummarize_range", false, &category_maintenance},
    {"pg_import_system_collations", false, &category_maintenance},
    {"pg_nextoid", false, &category_maintenance},
    {"binary_upgrade_", true, &category_maintenance},
    {"setseed", false, &category_maintenance},
    {"binary_upgrade_add_sub_rel_state", false, &category_maintenance},          /* 17 */
    {"binary_upgrade_logical_slot_has_caught_up", false, &category_maintenance}, /* 17 */
    {"binary_upgrade_replorigin_advance", false, &category_maintenance},         /* 17 */
    /* 17: a TOAST chunk id points into pg_toast, whose tables are denied. */
    {"pg_column_toast_chunk_id", false, &category_storage},
    {"pg_stat_get_activity", false, &category_session_texts},
    {"pg_stat_get_backend_activity", false, &category_session_texts},
    {"pg_stat_statements", false, &category_session_texts},
};

/* Work the statement timeout cannot stop: libxml2 evaluates XPath without ever checking for
 * interrupts, so a crafted expression keeps its backend busy for minutes after the timeout,
 * and pg_terminate_backend waits as long (docs/threat-model.md has the measurements). The
 * parsers behind xml_is_well_formed* do not check either, and are refused with them. The
 * names match in any schema: contrib's xml2 installs xpath_* where its owner chose. */
static const char *const uninterruptible_functions[] = {
    "xpath",
    "xpath_exists",
    "xmlexists", /* also what XMLEXISTS(...) calls */
    "xpath_string",
    "xpath_number",
    "xpath_bool",
    "xpath_nodeset",
    "xpath_list",
    "xslt_process",
    "xml_is_well_formed",
    "xml_is_well_formed_document",
    "xml_is_well_formed_content",
    "xml_valid",
};

bool policy_is_uninterruptible(const char *name) {
    for (size_t i = 0; i < sizeof uninterruptible_functions / sizeof *uninterruptible_functions; i++)
        if (strcmp(uninterruptible_functions[i], name) == 0)
            return true;
    return false;
}

bool policy_reject_xpath(guard_verdict *verdict, const char *what, int location) {
    return verdict_reject(verdict, GUARD_UNINTERRUPTIBLE, location,
                          "libxml2 never checks for interrupts while it evaluates XPath or parses XML: the statement "
                          "timeout cannot stop it, and the backend stays busy after pgsafe gives up",
                          "extract the values another way (string functions, or JSON instead of XML); the operator "
                          "can allow the XPath family knowingly with --allow-xpath",
                          "%s is not allowed", what);
}

/* Volatile built-ins reviewed as harmless: they change nothing and read no secrets. */
static const char *const harmless_volatile[] = {
    "random",
    "clock_timestamp",
    "timeofday",
    "gen_random_uuid",
    "pg_relation_size",
    "pg_total_relation_size",
    "pg_table_size",
    "pg_indexes_size",
    "pg_database_size",
    "pg_tablespace_size",
    /* Read-only replication status, common in monitoring queries. */
    "pg_is_in_recovery",
    "pg_last_xact_replay_timestamp",
    "pg_current_wal_lsn",
    "pg_last_wal_receive_lsn",
    "pg_last_wal_replay_lsn",
    /* 16: random values. */
    "random_normal",
    "array_sample",
    "array_shuffle",
    /* 17: the names of wait events, for reading pg_stat_activity. */
    "pg_get_wait_events",
    /* 18: random UUIDs, like gen_random_uuid. */
    "uuidv4",
    "uuidv7",
};

/* Volatile built-ins added after PostgreSQL 15, reviewed and left refused as volatile (the
 * view over each is readable). Stable and immutable additions reviewed and allowed as such
 * include any_value, date_add, date_subtract, erf, to_bin, to_oct, array_reverse, array_sort,
 * casefold, crc32, gamma, uuid_extract_timestamp, system_user, pg_input_is_valid, pg_basetype,
 * pg_get_acl (18; ACLs are readable in the catalogs anyway) and pg_stat_get_backend_subxact. */
static const char *const reviewed_volatile[] = {
    "pg_stat_get_io",                          /* 16: pg_stat_io */
    "pg_stat_get_xact_tuples_newpage_updated", /* 16: pg_stat_xact_user_tables */
};

/* Settings current_setting() may read: none reveals paths, secrets or the host. */
static const char *const harmless_settings[] = {
    "server_version",
    "server_version_num",
    "timezone",
    "datestyle",
    "intervalstyle",
    "search_path",
    "client_encoding",
    "server_encoding",
    "lc_collate",
    "lc_ctype",
    "lc_messages",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
    "transaction_read_only",
    "default_transaction_read_only",
    "transaction_isolation",
    "statement_timeout",
    "integer_datetimes",
    "standard_conforming_strings",
    "max_identifier_length",
};

static const char *const default_denied_relations[] = {
    "pg_authid",
    "pg_shadow",
    "pg_user_mapping",
    "pg_user_mappings",
    "pg_largeobject",
    "pg_largeobject_metadata",
    "pg_statistic",
    "pg_statistic_ext_data",
    "pg_hba_file_rules",
    "pg_ident_file_mappings",
    "pg_file_settings",
    "pg_settings",
    "pg_config",
    "pg_subscription",
    "pg_db_role_setting",
    /* information_schema views that show user-mapping options, passwords included. */
    "user_mapping_options",
    "_pg_user_mappings",
};

#define COUNT_OF(array) (sizeof(array) / sizeof *(array))

/* True when `entry` ("name" or "schema.name") names this object. */
/* An entry "name" matches that name in any schema; "schema.name" matches it in that schema.
 * For a deny list (unqualified_matches) a qualified entry also matches an unqualified
 * reference, which may resolve to it: the guard does not know the search_path's outcome,
 * so it fails closed. An allow list stays exact. */
static bool list_entry_matches(const char *entry, const char *schema, const char *name, bool unqualified_matches) {
    const char *dot = strrchr(entry, '.');
    if (dot == NULL)
        return strcmp(entry, name) == 0;
    if (strcmp(dot + 1, name) != 0)
        return false;
    if (schema == NULL)
        return unqualified_matches;
    size_t schema_length = (size_t)(dot - entry);
    return strlen(schema) == schema_length && strncmp(entry, schema, schema_length) == 0;
}

bool policy_list_contains(const char *const *list, const char *schema, const char *name, bool unqualified_matches) {
    for (; list != NULL && *list != NULL; list++)
        if (list_entry_matches(*list, schema, name, unqualified_matches))
            return true;
    return false;
}

static bool string_in(const char *const *list, size_t count, const char *value) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i], value) == 0)
            return true;
    return false;
}

const deny_category *policy_denied_category(const guard_policy *policy, const char *schema, const char *name) {
    for (size_t i = 0; i < COUNT_OF(deny_entries); i++) {
        const deny_entry *entry = &deny_entries[i];
        bool match =
            entry->prefix ? strncmp(name, entry->name, strlen(entry->name)) == 0 : strcmp(name, entry->name) == 0;
        if (match)
            return entry->category;
    }
    if (policy_list_contains(policy->denied_functions, schema, name, true))
        return &category_configured;
    return NULL;
}

bool policy_function_reviewed(const char *name) {
    for (size_t i = 0; i < COUNT_OF(deny_entries); i++)
        if (!deny_entries[i].prefix && strcmp(deny_entries[i].name, name) == 0)
            return true;
    return string_in(harmless_volatile, COUNT_OF(harmless_volatile), name) ||
           string_in(reviewed_volatile, COUNT_OF(reviewed_volatile), name);
}

bool policy_function_denied(const char *name) {
    guard_policy policy; /* no operator lists: the built-in deny list alone */
    memset(&policy, 0, sizeof policy);
    return policy_denied_category(&policy, NULL, name) != NULL;
}

bool policy_harmless_volatile(const char *name) {
    return string_in(harmless_volatile, COUNT_OF(harmless_volatile), name);
}

bool policy_harmless_setting(const char *setting) {
    for (size_t i = 0; i < COUNT_OF(harmless_settings); i++)
        if (strcasecmp(setting, harmless_settings[i]) == 0)
            return true;
    return false;
}

bool policy_denied_by_default(const char *name) {
    return string_in(default_denied_relations, COUNT_OF(default_denied_relations), name);
}

/* Functions of other SQL dialects, and SQL/JSON syntax read as calls, with what PostgreSQL
 * (15) writes instead. */
typedef struct dialect_function {
    const char *name;
    const char *hint;
} dialect_function;

static const char date_hint[] = "use PostgreSQL's date functions: EXTRACT(YEAR FROM d) rather than YEAR(d), "
                                "to_char(d, 'YYYY-MM') rather than strftime or DATE_FORMAT, d + interval '1 day' "
                                "rather than DATEADD, now() rather than GETDATE()";
static const dialect_function dialect_functions[] = {
    {"year", date_hint},
    {"month", date_hint},
    {"day", date_hint},
    {"hour", date_hint},
    {"minute", date_hint},
    {"second", date_hint},
    {"week", date_hint},
    {"quarter", date_hint},
    {"dayofweek", date_hint},
    {"dayofmonth", date_hint},
    {"dayofyear", date_hint},
    {"weekday", date_hint},
    {"dayname", date_hint},
    {"monthname", date_hint},
    {"strftime", date_hint},
    {"date_format", date_hint},
    {"datediff", date_hint},
    {"dateadd", date_hint},
    {"datepart", date_hint},
    {"datename", date_hint},
    {"getdate", date_hint},
    {"curdate", date_hint},
    {"curtime", date_hint},
    {"sysdate", date_hint},
    {"str_to_date", date_hint},
    {"unix_timestamp", date_hint},
    {"from_unixtime", date_hint},
    {"julianday", date_hint},
    {"ifnull", "use COALESCE(a, b)"},
    {"nvl", "use COALESCE(a, b)"},
    {"isnull", "use COALESCE(a, b), or a IS NULL"},
    {"iif", "use CASE WHEN condition THEN a ELSE b END"},
    {"group_concat", "use string_agg(x, ',')"},
    {"len", "use length(s)"},
    {"instr", "use strpos(s, substring)"},
    {"locate", "use strpos(s, substring)"},
    /* SQL/JSON syntax of PostgreSQL 16 and 17 that the PostgreSQL 15 grammar reads as a call. */
    {"json_object", "pgsafe parses PostgreSQL 15 syntax, without SQL/JSON: use jsonb_build_object('a', 1)"},
    {"json_array", "pgsafe parses PostgreSQL 15 syntax, without SQL/JSON: use jsonb_build_array(1, 2)"},
    {"json_scalar", "pgsafe parses PostgreSQL 15 syntax, without SQL/JSON: use to_jsonb(value)"},
    {"json_serialize", "pgsafe parses PostgreSQL 15 syntax, without SQL/JSON: use doc::text"},
    {"json_value", "pgsafe parses PostgreSQL 15 syntax, without SQL/JSON: use doc->>'a'"},
    {"json_query", "pgsafe parses PostgreSQL 15 syntax, without SQL/JSON: use jsonb_path_query_first(doc, '$.a')"},
    {"json_arrayagg", "pgsafe parses PostgreSQL 15 syntax, without SQL/JSON: use jsonb_agg(value)"},
    {"json_exists", "pgsafe parses PostgreSQL 15 syntax, without SQL/JSON: use jsonb_path_exists(doc, '$.a')"},
};

const char *policy_dialect_hint(const char *name) {
    const char *hint = NULL;
    for (size_t i = 0; i < COUNT_OF(dialect_functions); i++)
        if (strcasecmp(dialect_functions[i].name, name) == 0)
            hint = dialect_functions[i].hint;
    return hint;
}
