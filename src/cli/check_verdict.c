/* A guard verdict as JSON members (check_verdict.h). */
#include "cli/check_verdict.h"

#include <assert.h>

void cli_check_verdict_add(json_object *object, const guard_result *result) {
    /* The guard's contract: an allowed query has its SQL, a rejected one its message. */
    assert(result->allowed ? result->rewritten_sql != NULL : result->message != NULL);
    json_object_object_add(object, "allowed", json_object_new_boolean(result->allowed));
    json_object_object_add(object, "reason", json_object_new_string(guard_reason_name(result->code)));
    if (result->allowed) {
        json_object_object_add(object, "rewritten_sql", json_object_new_string(result->rewritten_sql));
        json_object_object_add(object, "applied_limit", json_object_new_int64(result->applied_limit));
        json_object_object_add(object, "limit_action",
                               json_object_new_string(guard_limit_action_name(result->limit_action)));
        return;
    }
    json_object_object_add(object, "message", json_object_new_string(result->message));
    if (result->detail != NULL)
        json_object_object_add(object, "detail", json_object_new_string(result->detail));
    if (result->hint != NULL)
        json_object_object_add(object, "hint", json_object_new_string(result->hint));
    if (result->cursor_position > 0)
        json_object_object_add(object, "position", json_object_new_int(result->cursor_position));
}
