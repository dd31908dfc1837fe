/* The role's posture, from the posture query's rows (see posture.h). */
#include "db/posture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

void posture_clear(db_posture *posture) {
    free(posture->role);
    free(posture->database);
    free(posture->server_version);
    free(posture->write_reasons);
    free(posture->hazards);
    memset(posture, 0, sizeof *posture);
}

/* Adds one reason, formatted, to the comma-separated list of why the role can write. The
 * role can write even when the text cannot be had. */
__attribute__((format(printf, 2, 3))) static void add_reason(db_posture *posture, const char *format, ...) {
    posture->can_write = true;
    if (posture->superuser && posture->write_reasons)
        return; /* "superuser" says it all */
    char reason[512];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reason, sizeof reason, format, arguments);
    va_end(arguments);
    char *joined = posture->write_reasons ? str_printf("%s, %s", posture->write_reasons, reason) : strdup(reason);
    if (joined == NULL)
        return;
    free(posture->write_reasons);
    posture->write_reasons = joined;
}

/* The "role" row: who we are. Returns false when out of memory. */
static bool take_role(db_posture *posture, const char *role, const char *database, const char *server_version) {
    free(posture->role);
    free(posture->database);
    free(posture->server_version);
    posture->role = role ? strdup(role) : NULL;
    posture->database = database ? strdup(database) : NULL;
    posture->server_version = server_version ? strdup(server_version) : NULL;
    return (role == NULL || posture->role) && (database == NULL || posture->database) &&
           (server_version == NULL || posture->server_version);
}

posture_row posture_take_row(db_posture *posture, const char *kind, const char *a, const char *b, const char *c,
                             int *write_rows) {
    if (strcmp(kind, "role") == 0)
        return take_role(posture, a, b, c) ? POSTURE_ROW_TAKEN : POSTURE_ROW_MALFORMED;
    bool posture_kind = strcmp(kind, "attribute") == 0 || strcmp(kind, "write") == 0 || strcmp(kind, "member") == 0 ||
                        strcmp(kind, "create") == 0;
    if (!posture_kind)
        return POSTURE_ROW_OTHER;
    if (a == NULL)
        return POSTURE_ROW_MALFORMED;
    if (strcmp(kind, "attribute") == 0) {
        if (strcmp(a, "superuser") == 0) {
            /* Superuser says it all, whatever was found before it. */
            posture->superuser = true;
            free(posture->write_reasons);
            posture->write_reasons = NULL;
        }
        add_reason(posture, "role attribute %s", a);
    } else if (strcmp(kind, "write") == 0) {
        long total = b ? strtol(b, NULL, 10) : 1;
        add_reason(posture, "write privilege on %s", a);
        *write_rows = *write_rows + 1;
        if (*write_rows == 3 && total > 3)
            add_reason(posture, "and on %ld more tables or sequences", total - 3);
    } else if (strcmp(kind, "member") == 0) {
        /* These roles reach past the tables (files, programs on the server): not read-only. */
        add_reason(posture, "member of %s", a);
    } else {
        add_reason(posture, "CREATE on %s%s", strncmp(a, "database ", 9) == 0 ? "" : "schema ", a);
    }
    return POSTURE_ROW_TAKEN;
}

char *posture_hazard_warning(const db_posture *posture) {
    if (posture->hazard_count == 0)
        return NULL;
    const char *hazards = posture->hazards ? posture->hazards : "?";
    if (posture->hazard_global)
        return str_printf("the database can run a volatile function inside any query, through an object added to a "
                          "built-in type (%s): every query is refused (hidden_function) until the operator removes "
                          "it",
                          hazards);
    return str_printf("%zu object%s of the database can run a volatile function inside a query that does not name it: "
                      "%s. Queries that read, name or call %s are refused (hidden_function)",
                      posture->hazard_count, posture->hazard_count == 1 ? "" : "s", hazards,
                      posture->hazard_count == 1 ? "it" : "them");
}
