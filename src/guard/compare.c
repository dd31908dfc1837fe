/* Structural equality of two parse trees, ignoring where things stood in the text
 * (location, stmt_location, stmt_len). The guard uses it to prove that the SQL it hands
 * out parses back to exactly the tree it checked and rewrote. Generic over protobuf-c
 * descriptors, like the walk, so no field is forgotten; a field of a type it does not know
 * makes the trees unequal (fail closed), never equal by default. */
#include <assert.h>
#include <string.h>

#include "internal.h"

/* True for the fields that say where something stood in the text. */
static bool ignored_field(const ProtobufCFieldDescriptor *field) {
    /* Positions are int32 fields; checking the type first keeps strcmp off the hot path. */
    if (field->type != PROTOBUF_C_TYPE_INT32)
        return false;
    return strcmp(field->name, "location") == 0 || strcmp(field->name, "stmt_location") == 0 ||
           strcmp(field->name, "stmt_len") == 0;
}

/* The bytes a scalar of this type occupies in a message; 0 for any type that is not a
 * fixed-size scalar (strings, bytes, messages, or a type this code does not know). */
static size_t compare_scalar_size(ProtobufCType type) {
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    default: return 0;
    }
}

static bool messages_equal(const ProtobufCMessage *a, const ProtobufCMessage *b, int depth);

/* Compares one value of a field's type stored at a and b (pointers into the messages, or
 * into the arrays of a repeated field). False for a type without a known size: a memcmp of
 * zero bytes would call any two values equal. */
static bool values_equal(const ProtobufCFieldDescriptor *field, const void *a, const void *b, int depth) {
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *x = *(const char *const *)a, *y = *(const char *const *)b;
        return strcmp(x ? x : "", y ? y : "") == 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *x = a, *y = b;
        return x->len == y->len && (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return messages_equal(*(const ProtobufCMessage *const *)a, *(const ProtobufCMessage *const *)b, depth + 1);
    default: {
        size_t size = compare_scalar_size(field->type);
        return size > 0 && memcmp(a, b, size) == 0;
    }
    }
}

/* The stride of a repeated field's array; 0 for an unknown type (values_equal then fails). */
static size_t element_size(const ProtobufCFieldDescriptor *field) {
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    default: return compare_scalar_size(field->type);
    }
}

/* Node, the tree's most common message, is one oneof of some 250 members: only the member
 * its case names is live, so that one is compared without scanning the others. A case the
 * descriptor does not know makes the nodes unequal. */
static bool nodes_equal(const PgQuery__Node *a, const PgQuery__Node *b, int depth) {
    if (a->node_case != b->node_case)
        return false;
    if (a->node_case == PG_QUERY__NODE__NODE__NOT_SET)
        return true;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor, (unsigned)a->node_case);
    if (field == NULL)
        return false;
    assert((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && field->label != PROTOBUF_C_LABEL_REPEATED);
    return values_equal(field, (const char *)a + field->offset, (const char *)b + field->offset, depth);
}

/* True when a and b (either may be NULL) are messages of the same type whose fields are
 * equal, positions aside. depth bounds the recursion; a deeper tree is unequal. */
static bool messages_equal(const ProtobufCMessage *a, const ProtobufCMessage *b, int depth) {
    if (a == NULL || b == NULL)
        return a == b;
    if (a->descriptor != b->descriptor || depth > GUARD_MAX_DEPTH + 8)
        return false;
    const ProtobufCMessageDescriptor *descriptor = a->descriptor;
    if (descriptor == &pg_query__node__descriptor)
        return nodes_equal((const PgQuery__Node *)a, (const PgQuery__Node *)b, depth);
    const char *base_a = (const char *)a, *base_b = (const char *)b;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (ignored_field(field))
            continue;
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t case_a = *(const uint32_t *)(base_a + field->quantifier_offset);
            uint32_t case_b = *(const uint32_t *)(base_b + field->quantifier_offset);
            if (case_a != case_b)
                return false;
            if (case_a != field->id)
                continue;
        }
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)(base_a + field->quantifier_offset);
            if (count != *(const size_t *)(base_b + field->quantifier_offset))
                return false;
            const char *items_a = *(const char *const *)(base_a + field->offset);
            const char *items_b = *(const char *const *)(base_b + field->offset);
            assert(count == 0 || (items_a != NULL && items_b != NULL));
            size_t size = element_size(field);
            for (size_t j = 0; j < count; j++)
                if (!values_equal(field, items_a + j * size, items_b + j * size, depth))
                    return false;
            continue;
        }
        if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->quantifier_offset != 0 &&
            !(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && field->type != PROTOBUF_C_TYPE_MESSAGE &&
            field->type != PROTOBUF_C_TYPE_STRING) {
            protobuf_c_boolean has_a = *(const protobuf_c_boolean *)(base_a + field->quantifier_offset);
            if (has_a != *(const protobuf_c_boolean *)(base_b + field->quantifier_offset))
                return false;
            if (!has_a)
                continue;
        }
        if (!values_equal(field, base_a + field->offset, base_b + field->offset, depth))
            return false;
    }
    return true;
}

bool trees_equal(const ProtobufCMessage *a, const ProtobufCMessage *b) {
    return messages_equal(a, b, 0);
}
