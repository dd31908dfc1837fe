/* Bearer tokens: the token file, its hashes and the constant-time check (see tokens.h).
 * Hashing, randomness and the comparison come from OpenSSL's libcrypto, which libpq
 * already links. */
#include "mcp/tokens.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/strings.h"

#define DIGEST_BYTES     32
#define TOKEN_RANDOM     32
#define NAME_MAX_LENGTH  64
#define HASH_TAG         "sha256:"
#define MAX_FILE_BYTES   (4u * 1024 * 1024)
#define MAX_LINE_ENTRIES 100000

typedef struct token_entry {
    char name[NAME_MAX_LENGTH + 1];
    unsigned char digest[DIGEST_BYTES];
} token_entry;

struct token_store {
    char *path;
    token_entry *entries;
    size_t count;
    /* What the file looked like at the last load: a change in any reloads it. */
    dev_t device;
    ino_t inode;
    off_t size;
    struct timespec modified;
};

bool token_name_valid(const char *name) {
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > NAME_MAX_LENGTH)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static bool sha256(const void *data, size_t length, unsigned char digest[DIGEST_BYTES]) {
    unsigned int written = 0;
    return EVP_Digest(data, length, digest, &written, EVP_sha256(), NULL) == 1 && written == DIGEST_BYTES;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Reads the whole file (at most MAX_FILE_BYTES) into a NUL-terminated buffer. */
static char *read_file(const char *path, struct stat *status, char **error) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *error = str_printf("cannot open the token file %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, status) != 0 || !S_ISREG(status->st_mode)) {
        *error = str_printf("the token file %s is not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((uintmax_t)status->st_size > MAX_FILE_BYTES) {
        *error = str_printf("the token file %s is larger than %u bytes", path, MAX_FILE_BYTES);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)status->st_size;
    char *text = malloc(size + 1);
    size_t done = 0;
    while (text && done < size) {
        ssize_t got = read(fd, text + done, size - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    close(fd);
    if (text == NULL) {
        *error = str_printf("out of memory reading the token file");
        return NULL;
    }
    text[done] = '\0';
    return text;
}

/* Parses the file's text into entries (caller frees). False with *error on a bad line. */
static bool parse_entries(const char *path, char *text, token_entry **entries_out, size_t *count_out, char **error) {
    token_entry *entries = NULL;
    size_t count = 0, capacity = 0;
    int line_number = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_number++;
        size_t length = strlen(line);
        if (length > 0 && line[length - 1] == '\r')
            line[--length] = '\0';
        char *start = line;
        while (*start == ' ' || *start == '\t')
            start++;
        if (*start == '\0' || *start == '#')
            continue;
        char *space = strchr(start, ' ');
        if (space == NULL)
            goto bad;
        *space = '\0';
        const char *hash = space + 1;
        if (!token_name_valid(start) || strncmp(hash, HASH_TAG, strlen(HASH_TAG)) != 0)
            goto bad;
        hash += strlen(HASH_TAG);
        if (strlen(hash) != DIGEST_BYTES * 2)
            goto bad;
        for (size_t i = 0; i < count; i++)
            if (strcmp(entries[i].name, start) == 0) {
                *error = str_printf("the token file %s names \"%s\" twice (line %d)", path, start, line_number);
                free(entries);
                return false;
            }
        if (count == capacity) {
            if (capacity >= MAX_LINE_ENTRIES) {
                *error = str_printf("the token file %s holds more than %d identities", path, MAX_LINE_ENTRIES);
                free(entries);
                return false;
            }
            size_t grown = capacity ? capacity * 2 : 8;
            token_entry *bigger = realloc(entries, grown * sizeof *bigger);
            if (bigger == NULL) {
                *error = str_printf("out of memory reading the token file");
                free(entries);
                return false;
            }
            entries = bigger;
            capacity = grown;
        }
        token_entry *entry = &entries[count];
        snprintf(entry->name, sizeof entry->name, "%s", start);
        for (size_t i = 0; i < DIGEST_BYTES; i++) {
            int high = hex_value(hash[2 * i]), low = hex_value(hash[2 * i + 1]);
            if (high < 0 || low < 0)
                goto bad;
            entry->digest[i] = (unsigned char)(high << 4 | low);
        }
        count++;
        continue;
    bad:
        *error = str_printf("the token file %s has a malformed line %d: expected \"NAME sha256:HEX\" with NAME of "
                            "1 to 64 of [A-Za-z0-9._-] and 64 lower-case hex digits",
                            path, line_number);
        free(entries);
        return false;
    }
    *entries_out = entries;
    *count_out = count;
    return true;
}

/* Loads the file into the store, replacing its entries; on failure the store is emptied. */
static bool store_load(token_store *store, char **error) {
    struct stat status;
    char *text = read_file(store->path, &status, error);
    token_entry *entries = NULL;
    size_t count = 0;
    bool ok = text != NULL && parse_entries(store->path, text, &entries, &count, error);
    free(text);
    free(store->entries);
    store->entries = ok ? entries : NULL;
    store->count = ok ? count : 0;
    if (ok) {
        store->device = status.st_dev;
        store->inode = status.st_ino;
        store->size = status.st_size;
        store->modified = status.st_mtim;
    } else {
        store->size = -1; /* differs from any real file: the next refresh tries again */
    }
    return ok;
}

token_store *token_store_load(const char *path, char **error) {
    *error = NULL;
    token_store *store = calloc(1, sizeof *store);
    if (store == NULL || (store->path = strdup(path)) == NULL) {
        free(store);
        *error = str_printf("out of memory");
        return NULL;
    }
    if (!store_load(store, error)) {
        token_store_free(store);
        return NULL;
    }
    return store;
}

bool token_store_refresh(token_store *store, char **error) {
    *error = NULL;
    struct stat status;
    if (stat(store->path, &status) == 0 && status.st_dev == store->device && status.st_ino == store->inode &&
        status.st_size == store->size && status.st_mtim.tv_sec == store->modified.tv_sec &&
        status.st_mtim.tv_nsec == store->modified.tv_nsec)
        return true;
    return store_load(store, error);
}

const char *token_store_verify(const token_store *store, const char *token, size_t length) {
    if (store == NULL || token == NULL || length == 0 || length > TOKEN_MAX_LENGTH)
        return NULL;
    unsigned char digest[DIGEST_BYTES];
    if (!sha256(token, length, digest))
        return NULL;
    /* Every entry is compared, match or not, so the time is the same for every token. */
    const char *found = NULL;
    for (size_t i = 0; i < store->count; i++) {
        bool equal = CRYPTO_memcmp(digest, store->entries[i].digest, DIGEST_BYTES) == 0;
        if (equal && found == NULL)
            found = store->entries[i].name;
    }
    return found;
}

size_t token_store_count(const token_store *store) {
    return store ? store->count : 0;
}

const char *token_store_name(const token_store *store, size_t index) {
    assert(index < store->count);
    return store->entries[index].name;
}

void token_store_free(token_store *store) {
    if (store == NULL)
        return;
    free(store->entries);
    free(store->path);
    free(store);
}

/* ---- the file, as `pgsafe token` changes it ---- */

/* Reads the entries of path; a missing file is an empty list. */
static bool read_entries(const char *path, token_entry **entries, size_t *count, char **error) {
    *entries = NULL;
    *count = 0;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return true;
    struct stat status;
    char *text = read_file(path, &status, error);
    if (text == NULL)
        return false;
    bool ok = parse_entries(path, text, entries, count, error);
    free(text);
    return ok;
}

/* Writes the entries to a temporary file beside path and renames it over path, so a
 * reader sees the old file or the new one, never half of one. */
static bool write_entries(const char *path, const token_entry *entries, size_t count, char **error) {
    char *temporary = str_printf("%s.tmp.%ld", path, (long)getpid());
    if (temporary == NULL) {
        *error = str_printf("out of memory");
        return false;
    }
    int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        *error = str_printf("cannot create %s: %s", temporary, strerror(errno));
        free(temporary);
        return false;
    }
    strbuf text = {0};
    strbuf_puts(&text, "# pgsafe bearer tokens: NAME sha256:HEX (the SHA-256 of the token, never the token).\n"
                       "# Managed with `pgsafe token add NAME` and `pgsafe token revoke NAME`.\n");
    for (size_t i = 0; i < count; i++) {
        strbuf_printf(&text, "%s %s", entries[i].name, HASH_TAG);
        for (size_t j = 0; j < DIGEST_BYTES; j++)
            strbuf_printf(&text, "%02x", entries[i].digest[j]);
        strbuf_puts(&text, "\n");
    }
    char *contents = strbuf_take(&text);
    bool ok = contents != NULL;
    size_t length = contents ? strlen(contents) : 0, done = 0;
    while (ok && done < length) {
        ssize_t wrote = write(fd, contents + done, length - done);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0)
            ok = false;
        else
            done += (size_t)wrote;
    }
    free(contents);
    if (ok && fsync(fd) != 0)
        ok = false;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(temporary, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        *error = str_printf("cannot write the token file %s: %s", path, strerror(saved));
        unlink(temporary);
        free(temporary);
        return false;
    }
    free(temporary);
    return true;
}

/* base64url without padding: what goes in an Authorization header as is. */
static void base64url(const unsigned char *bytes, size_t length, char *out) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < length; i += 3) {
        uint32_t chunk = (uint32_t)bytes[i] << 16;
        if (i + 1 < length)
            chunk |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < length)
            chunk |= bytes[i + 2];
        out[o++] = alphabet[chunk >> 18 & 63];
        out[o++] = alphabet[chunk >> 12 & 63];
        if (i + 1 < length)
            out[o++] = alphabet[chunk >> 6 & 63];
        if (i + 2 < length)
            out[o++] = alphabet[chunk & 63];
    }
    out[o] = '\0';
}

bool token_add(const char *path, const char *name, char **token, char **error) {
    *token = NULL;
    *error = NULL;
    if (!token_name_valid(name)) {
        *error = str_printf("invalid identity name \"%s\": use 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'",
                            name ? name : "");
        return false;
    }
    token_entry *entries;
    size_t count;
    if (!read_entries(path, &entries, &count, error))
        return false;
    for (size_t i = 0; i < count; i++)
        if (strcmp(entries[i].name, name) == 0) {
            *error = str_printf("identity \"%s\" already has a token in %s; revoke it first", name, path);
            free(entries);
            return false;
        }
    token_entry *grown = realloc(entries, (count + 1) * sizeof *grown);
    if (grown == NULL) {
        *error = str_printf("out of memory");
        free(entries);
        return false;
    }
    entries = grown;
    unsigned char random[TOKEN_RANDOM];
    char text[sizeof TOKEN_PREFIX + TOKEN_RANDOM * 2];
    if (RAND_bytes(random, sizeof random) != 1) {
        *error = str_printf("cannot get random bytes for the token");
        free(entries);
        return false;
    }
    memcpy(text, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
    base64url(random, sizeof random, text + strlen(TOKEN_PREFIX));
    OPENSSL_cleanse(random, sizeof random);
    token_entry *entry = &entries[count];
    snprintf(entry->name, sizeof entry->name, "%s", name);
    bool ok = sha256(text, strlen(text), entry->digest);
    if (!ok)
        *error = str_printf("cannot hash the token");
    ok = ok && write_entries(path, entries, count + 1, error);
    free(entries);
    if (ok && (*token = strdup(text)) == NULL) {
        *error = str_printf("out of memory");
        ok = false;
    }
    OPENSSL_cleanse(text, sizeof text);
    return ok;
}

bool token_revoke(const char *path, const char *name, char **error) {
    *error = NULL;
    token_entry *entries;
    size_t count;
    if (access(path, F_OK) != 0) {
        *error = str_printf("no token file at %s", path);
        return false;
    }
    if (!read_entries(path, &entries, &count, error))
        return false;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++)
        if (strcmp(entries[i].name, name) != 0)
            entries[kept++] = entries[i];
    if (kept == count) {
        *error = str_printf("identity \"%s\" has no token in %s", name, path);
        free(entries);
        return false;
    }
    assert(kept + 1 == count);
    bool ok = write_entries(path, entries, kept, error);
    free(entries);
    return ok;
}
