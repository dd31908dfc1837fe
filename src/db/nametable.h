/* A string-keyed table of small values (open addressing, linear probing, capacity a power
 * of two, at most half full), for the catalog's volatility lookups. The table owns its keys.
 *
 *   nametable table = {0};
 *   if (nametable_reserve(&table)) { nametable_entry *slot = nametable_slot(&table, key); ... }
 *   nametable_clear(&table); */
#ifndef PGSAFE_DB_NAMETABLE_H
#define PGSAFE_DB_NAMETABLE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct nametable_entry {
    char *key; /* NULL: the slot is empty */
    int value;
} nametable_entry;

typedef struct nametable {
    nametable_entry *entries; /* capacity slots, or NULL while empty */
    size_t capacity;          /* 0 or a power of two */
    size_t count;             /* slots holding a key */
} nametable;

/* The entry holding key, or the empty slot where it would go (the caller may store a key it
 * allocated there, and count it). NULL when the key is absent and no slot is free: a table
 * the caller filled past nametable_reserve's bound, or one with no capacity. */
nametable_entry *nametable_slot(const nametable *table, const char *key);

/* Makes room for one more key, doubling the capacity (256 first) once the table would be
 * over half full. Returns false when out of memory, the table unchanged. */
bool nametable_reserve(nametable *table);

/* The key of an object: kind, schema ("" for none) and name, joined by \x1f (caller frees);
 * NULL when memory runs out. */
char *nametable_key(char kind, const char *schema, const char *name);

/* The value under the key of (kind, schema, name); when absent, stores value there and sets
 * *created. -1 when memory runs out (the table holds what it held). */
int nametable_intern(nametable *table, char kind, const char *schema, const char *name, int value, bool *created);

/* Frees every key and the slots; the table is empty afterwards. */
void nametable_clear(nametable *table);

#endif
