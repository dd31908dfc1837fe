/* Types named in strings. PostgreSQL 16 added pg_input_is_valid(text, type text) and
 * pg_input_error_info(text, type text), which run the input function of the type the string
 * names, and a domain's CHECK with it: a cast the tree does not show. The string must be a
 * constant; it is read as the type of "NULL::<string>" by the parser itself, and that type
 * is checked as a written cast is (policy_check_type, then the catalog's hazards). */
#include <pg_query.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The functions and the argument that names a type. */
static bool names_type_in_string(const PgQuery__FuncCall *call) {
    if (call->n_funcname == 0 || call->funcname[call->n_funcname - 1]->node_case != PG_QUERY__NODE__NODE_STRING)
        return false;
    const char *name = call->funcname[call->n_funcname - 1]->string->sval;
    return strcmp(name, "pg_input_is_valid") == 0 || strcmp(name, "pg_input_error_info") == 0;
}

/* The TypeName of "SELECT NULL::<text>" in tree, when that is exactly what it holds. */
static const PgQuery__TypeName *cast_type(const PgQuery__ParseResult *tree) {
    if (tree == NULL || tree->n_stmts != 1 || tree->stmts[0]->stmt == NULL ||
        tree->stmts[0]->stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return NULL;
    const PgQuery__SelectStmt *select = tree->stmts[0]->stmt->select_stmt;
    if (select->n_target_list != 1 || select->n_from_clause != 0 || select->where_clause != NULL ||
        select->target_list[0]->node_case != PG_QUERY__NODE__NODE_RES_TARGET)
        return NULL;
    const PgQuery__ResTarget *target = select->target_list[0]->res_target;
    if (target->val == NULL || target->val->node_case != PG_QUERY__NODE__NODE_TYPE_CAST)
        return NULL;
    const PgQuery__TypeCast *cast = target->val->type_cast;
    if (cast->arg == NULL || cast->arg->node_case != PG_QUERY__NODE__NODE_A_CONST || !cast->arg->a_const->isnull)
        return NULL;
    return cast->type_name;
}

bool type_string_check(const PgQuery__FuncCall *call, const guard_policy *policy, guard_verdict *verdict) {
    if (!names_type_in_string(call))
        return true;
    const char *hint = "name the type in a constant string, such as pg_input_is_valid(x, 'integer')";
    if (call->n_args < 2 || call->args[1]->node_case != PG_QUERY__NODE__NODE_A_CONST ||
        call->args[1]->a_const->isnull || call->args[1]->a_const->val_case != PG_QUERY__A__CONST__VAL_SVAL)
        return verdict_reject(verdict, GUARD_TYPE_NOT_ALLOWED, call->location,
                              "it runs the input function of the type its second argument names, so the guard must "
                              "see that type",
                              hint, "the type of this call must be a constant string");
    bool first = verdict->code == GUARD_OK;
    char *sql = str_printf("SELECT NULL::%s", call->args[1]->a_const->sval->sval);
    if (sql == NULL)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "out of memory");
    PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(sql);
    free(sql);
    PgQuery__ParseResult *tree =
        parsed.error == NULL
            ? pg_query__parse_result__unpack(NULL, parsed.parse_tree.len, (const uint8_t *)parsed.parse_tree.data)
            : NULL;
    const PgQuery__TypeName *type = cast_type(tree);
    bool ok = type != NULL
                  ? policy_check_type(policy, type, verdict) && statement_check_type_hazard(policy, type, verdict)
                  : verdict_reject(verdict, GUARD_TYPE_NOT_ALLOWED, call->location, NULL, hint,
                                   "\"%s\" is not a type name", call->args[1]->a_const->sval->sval);
    if (tree != NULL)
        pg_query__parse_result__free_unpacked(tree, NULL);
    pg_query_free_protobuf_parse_result(parsed);
    /* The position is the call's: the type's own is inside the string parsed here. */
    if (!ok && first)
        verdict->location = call->location;
    return ok;
}
