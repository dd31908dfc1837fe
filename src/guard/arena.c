/* The memory of one check's parse trees. protobuf-c unpacks a tree into one allocation per
 * message and frees it by walking every field of every message again; a check makes two or
 * three trees and drops each whole. So trees are unpacked into an arena: allocation is a
 * pointer bump, nothing is freed one by one, and arena_release returns every chunk at once.
 * The rewrite allocates the messages it adds from the same arena, so a tree stays one unit. */
#include <assert.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ARENA_FIRST_CHUNK   (16 * 1024)
#define ARENA_LARGEST_CHUNK (1024 * 1024)
#define ARENA_ALIGNMENT     alignof(max_align_t)

/* A block of arena memory; the bytes follow the header. */
struct arena_chunk {
    struct arena_chunk *previous; /* the chunk filled before this one */
    size_t size;                  /* bytes after the header */
};

/* The header is a multiple of the alignment, so the first byte after it is aligned. */
#define CHUNK_HEADER (((sizeof(struct arena_chunk) + ARENA_ALIGNMENT - 1) / ARENA_ALIGNMENT) * ARENA_ALIGNMENT)

static void *allocator_alloc(void *data, size_t size) {
    return arena_alloc(data, size);
}

/* Memory is returned by arena_release only. */
static void allocator_free(void *data, void *pointer) {
    (void)data;
    (void)pointer;
}

void arena_init(guard_arena *arena) {
    memset(arena, 0, sizeof *arena);
    arena->allocator.alloc = allocator_alloc;
    arena->allocator.free = allocator_free;
    arena->allocator.allocator_data = arena;
}

void *arena_alloc(guard_arena *arena, size_t size) {
    size_t rounded = (size + ARENA_ALIGNMENT - 1) & ~(size_t)(ARENA_ALIGNMENT - 1);
    if (rounded < size)
        return NULL;
    if (rounded > arena->left) {
        /* Chunks double up to a bound; a larger request gets a chunk of its own size. */
        size_t chunk_size = arena->chunks != NULL ? arena->chunks->size * 2 : ARENA_FIRST_CHUNK;
        if (chunk_size > ARENA_LARGEST_CHUNK)
            chunk_size = ARENA_LARGEST_CHUNK;
        if (chunk_size < rounded)
            chunk_size = rounded;
        if (chunk_size > SIZE_MAX - CHUNK_HEADER)
            return NULL;
        struct arena_chunk *chunk = malloc(CHUNK_HEADER + chunk_size);
        if (chunk == NULL)
            return NULL;
        chunk->previous = arena->chunks;
        chunk->size = chunk_size;
        arena->chunks = chunk;
        arena->next = (char *)chunk + CHUNK_HEADER;
        arena->left = chunk_size;
    }
    void *memory = arena->next;
    assert(((uintptr_t)memory & (ARENA_ALIGNMENT - 1)) == 0 && rounded <= arena->left);
    arena->next += rounded;
    arena->left -= rounded;
    return memory;
}

char *arena_strdup(guard_arena *arena, const char *text) {
    size_t length = strlen(text);
    char *copy = arena_alloc(arena, length + 1);
    if (copy != NULL)
        memcpy(copy, text, length + 1);
    return copy;
}

void arena_release(guard_arena *arena) {
    struct arena_chunk *chunk = arena->chunks;
    while (chunk != NULL) {
        struct arena_chunk *previous = chunk->previous;
        free(chunk);
        chunk = previous;
    }
    arena_init(arena);
}
