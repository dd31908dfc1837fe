/* The string-keyed table behind the catalog's lookups (see nametable.h). */
#include "db/nametable.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

#define FIRST_CAPACITY 256

/* FNV-1a of the key's bytes. */
static uint64_t hash_key(const char *key) {
    uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        hash ^= *p;
        hash *= 1099511628211ULL;
    }
    return hash;
}

/* Probes at most capacity slots, so a full table ends the search instead of looping. */
static nametable_entry *probe(nametable_entry *entries, size_t capacity, const char *key) {
    assert(capacity == 0 || (capacity & (capacity - 1)) == 0);
    size_t mask = capacity - 1;
    size_t i = capacity ? hash_key(key) & mask : 0;
    for (size_t probes = 0; probes < capacity; probes++, i = (i + 1) & mask)
        if (entries[i].key == NULL || strcmp(entries[i].key, key) == 0)
            return &entries[i];
    return NULL;
}

nametable_entry *nametable_slot(const nametable *table, const char *key) {
    return probe(table->entries, table->capacity, key);
}

bool nametable_reserve(nametable *table) {
    if ((table->count + 1) * 2 <= table->capacity)
        return true;
    size_t capacity = table->capacity ? table->capacity * 2 : FIRST_CAPACITY;
    nametable_entry *entries = calloc(capacity, sizeof *entries);
    if (entries == NULL)
        return false;
    for (size_t i = 0; i < table->capacity; i++)
        if (table->entries[i].key != NULL) {
            nametable_entry *slot = probe(entries, capacity, table->entries[i].key);
            assert(slot != NULL && slot->key == NULL); /* twice the room, and keys are distinct */
            *slot = table->entries[i];
        }
    free(table->entries);
    table->entries = entries;
    table->capacity = capacity;
    return true;
}

void nametable_clear(nametable *table) {
    for (size_t i = 0; i < table->capacity; i++)
        free(table->entries[i].key);
    free(table->entries);
    *table = (nametable){0};
}

char *nametable_key(char kind, const char *schema, const char *name) {
    return str_printf("%c\x1f%s\x1f%s", kind, schema ? schema : "", name);
}

int nametable_intern(nametable *table, char kind, const char *schema, const char *name, int value, bool *created) {
    *created = false;
    if (!nametable_reserve(table))
        return -1;
    char *key = nametable_key(kind, schema, name);
    if (key == NULL)
        return -1;
    nametable_entry *slot = nametable_slot(table, key);
    assert(slot != NULL); /* nametable_reserve left room */
    if (slot->key != NULL) {
        free(key);
        return slot->value;
    }
    slot->key = key;
    slot->value = value;
    table->count++;
    *created = true;
    return value;
}
