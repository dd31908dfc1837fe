/* Bearer tokens for the HTTP transport: a file of identities and the SHA-256 of each one's
 * token, never the token itself. `pgsafe token add NAME` makes a token from 32 random bytes,
 * prints it once and stores its hash; `pgsafe token revoke NAME` removes the line. The
 * server loads the file, re-reads it when it changes (so a revocation takes effect on the
 * next request, with no restart), and maps a presented token to its identity with a
 * constant-time comparison.
 *
 * The file: one identity per line, `NAME sha256:HEX`, `#` comments and blank lines
 * ignored. NAME is 1 to 64 of [A-Za-z0-9._-]. It is written whole (a temporary file
 * renamed over it) with mode 0600. */
#ifndef PGSAFE_MCP_TOKENS_H
#define PGSAFE_MCP_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

/* Every token starts with this, so a secret scanner (or a person) can recognise one. */
#define TOKEN_PREFIX "pgsafe_"
/* The longest presented token worth hashing; longer ones are refused unhashed. */
#define TOKEN_MAX_LENGTH 256

typedef struct token_store token_store;

/* Loads the token file. NULL with *error set (caller frees) when it cannot be read or a
 * line is malformed: the server then refuses to start rather than serve without the
 * tokens it was told to require. */
token_store *token_store_load(const char *path, char **error);

/* Re-reads the file when its size, modification time or inode changed since the last
 * load. When the new contents cannot be read or are malformed, the store becomes empty
 * (every token is refused: fail closed) and *error says why (caller frees); the next
 * call tries again. Returns false in that case. */
bool token_store_refresh(token_store *store, char **error);

/* The identity whose token this is, or NULL. Hashes the token and compares the digest
 * with every entry in constant time, so the time taken does not tell which entry (or how
 * many leading bytes) matched. The string belongs to the store and lives until the next
 * refresh or free. */
const char *token_store_verify(const token_store *store, const char *token, size_t length);

/* How many identities the store holds, and the name of the index-th, in file order. */
size_t token_store_count(const token_store *store);
const char *token_store_name(const token_store *store, size_t index);

void token_store_free(token_store *store);

/* True when name is 1 to 64 of [A-Za-z0-9._-]. */
bool token_name_valid(const char *name);

/* Adds an identity to the file (created when missing) and returns its new token in
 * *token (caller frees; the only time it exists outside the client). An identity that
 * already exists is an error: revoke it first. Returns false with *error (caller frees). */
bool token_add(const char *path, const char *name, char **token, char **error);

/* Removes an identity from the file. An unknown name is an error. Returns false with
 * *error (caller frees). */
bool token_revoke(const char *path, const char *name, char **error);

#endif
