/* Depth bounds that must hold before the recursive code runs. libpg_query converts its tree
 * to protobuf recursively and protobuf-c unpacks recursively; a long chain such as
 * 1+1+1+... or x::a::a::a... would overflow the C stack there (measured: about 20,000
 * levels crash with an 8 MiB stack, 12,000 pass). So:
 *  - before parsing, text longer than SHORT_TEXT_BYTES has its tokens counted, and more than
 *    MAX_DEEPENING_TOKENS tokens that can add a level (operators, keywords, casts) is too
 *    complex; shorter text cannot reach that depth, since a level costs at least two bytes;
 *  - before unpacking, the protobuf bytes are scanned iteratively and a tree deeper than
 *    GUARD_MAX_DEPTH messages is too complex, the same bound the walk applies. */
#include <assert.h>
#include <pg_query.h>
#include <stdint.h>

#include "internal.h"

#define SHORT_TEXT_BYTES     16384
#define MAX_DEEPENING_TOKENS 10000

/* True for tokens that cannot add a level to the tree (names, constants, punctuation). */
static bool token_cannot_deepen(PgQuery__Token token) {
    switch (token) {
    case PG_QUERY__TOKEN__IDENT:
    case PG_QUERY__TOKEN__UIDENT:
    case PG_QUERY__TOKEN__FCONST:
    case PG_QUERY__TOKEN__SCONST:
    case PG_QUERY__TOKEN__USCONST:
    case PG_QUERY__TOKEN__BCONST:
    case PG_QUERY__TOKEN__XCONST:
    case PG_QUERY__TOKEN__ICONST:
    case PG_QUERY__TOKEN__ASCII_40: /* ( : nesting by parentheses is bounded by the grammar */
    case PG_QUERY__TOKEN__ASCII_41: /* ) */
    case PG_QUERY__TOKEN__ASCII_44: /* , */
    case PG_QUERY__TOKEN__ASCII_46: /* . */
    case PG_QUERY__TOKEN__ASCII_59: /* ; */
    case PG_QUERY__TOKEN__ASCII_91: /* [ */
    case PG_QUERY__TOKEN__ASCII_93: /* ] */
    case PG_QUERY__TOKEN__SQL_COMMENT:
    case PG_QUERY__TOKEN__C_COMMENT: return true;
    default: return false;
    }
}

bool depth_check_text(const char *sql, size_t length, guard_verdict *verdict) {
    if (length <= SHORT_TEXT_BYTES)
        return true;
    PgQueryScanResult scanned = pg_query_scan(sql);
    if (scanned.error != NULL) {
        /* The parser will report the same problem with its own message and position. */
        pg_query_free_scan_result(scanned);
        return true;
    }
    PgQuery__ScanResult *tokens =
        pg_query__scan_result__unpack(NULL, scanned.pbuf.len, (const uint8_t *)scanned.pbuf.data);
    pg_query_free_scan_result(scanned);
    if (tokens == NULL)
        return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "the query's tokens could not be read");
    size_t deepening = 0;
    int location = -1;
    for (size_t i = 0; i < tokens->n_tokens; i++) {
        if (!token_cannot_deepen(tokens->tokens[i]->token) && ++deepening > MAX_DEEPENING_TOKENS) {
            location = tokens->tokens[i]->start;
            break;
        }
    }
    pg_query__scan_result__free_unpacked(tokens, NULL);
    if (deepening <= MAX_DEEPENING_TOKENS)
        return true;
    return verdict_reject(verdict, GUARD_TOO_COMPLEX, location,
                          "a query longer than 16 KiB may hold at most 10000 operators and keywords",
                          "simplify the query: fewer operators, or split it into several queries",
                          "the query is too complex");
}

/* Reads a protobuf varint from data[*position..length) into *value and advances *position
 * past it; false when it runs past length or over 64 bits (malformed). */
static bool read_varint(const uint8_t *data, size_t length, size_t *position, uint64_t *value) {
    *value = 0;
    for (unsigned shift = 0; shift < 64 && *position < length; shift += 7) {
        uint8_t byte = data[(*position)++];
        *value |= (uint64_t)(byte & 0x7F) << shift;
        if ((byte & 0x80) == 0)
            return true;
    }
    return false;
}

bool depth_check_protobuf(const uint8_t *data, size_t length, guard_verdict *verdict) {
    typedef struct frame {
        const ProtobufCMessageDescriptor *descriptor;
        size_t end;
    } frame;
    frame stack[GUARD_MAX_DEPTH + 1];
    int depth = 0;
    size_t position = 0;
    stack[0] = (frame){&pg_query__parse_result__descriptor, length};
    while (true) {
        /* A nested message lies within its parent, so every frame ends by its parent's end. */
        assert(depth == 0 || stack[depth].end <= stack[depth - 1].end);
        while (depth > 0 && position == stack[depth].end)
            depth--;
        if (position == stack[depth].end)
            return true; /* depth 0 reached its end: the whole message was read */
        uint64_t key, value;
        if (!read_varint(data, stack[depth].end, &position, &key))
            break;
        switch (key & 7) {
        case 0:
            if (!read_varint(data, stack[depth].end, &position, &value))
                goto malformed;
            break;
        case 1:
            if (stack[depth].end - position < 8)
                goto malformed;
            position += 8;
            break;
        case 5:
            if (stack[depth].end - position < 4)
                goto malformed;
            position += 4;
            break;
        case 2: {
            if (!read_varint(data, stack[depth].end, &position, &value) || value > stack[depth].end - position)
                goto malformed;
            const ProtobufCFieldDescriptor *field =
                key >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(stack[depth].descriptor, (unsigned)(key >> 3))
                    : NULL;
            if (field != NULL && field->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth == GUARD_MAX_DEPTH)
                    return verdict_reject(
                        verdict, GUARD_TOO_COMPLEX, -1, "the guard walks at most a fixed depth of nested expressions",
                        "simplify the query: fewer nested expressions or subqueries", "the query is nested too deeply");
                depth++;
                stack[depth] = (frame){field->descriptor, position + (size_t)value};
            } else {
                position += (size_t)value;
            }
            break;
        }
        default: goto malformed;
        }
    }
malformed:
    return verdict_reject(verdict, GUARD_INTERNAL_ERROR, -1, NULL, NULL, "the parse tree could not be read");
}
