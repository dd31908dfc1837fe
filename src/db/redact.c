/* db_redact (see redact.h): the secrets a message could show are gathered from the DSN, the
 * environment, the PGconn and the message itself, in every form libpq might quote them, and
 * each occurrence is replaced, the longest first. */
#include "db/redact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/strings.h"

typedef struct secrets {
    char **items; /* each non-empty, owned */
    size_t count;
    bool failed; /* memory ran out: the caller must not pass the message on */
} secrets;

static void add_copy(secrets *list, const char *text, size_t length) {
    if (length == 0 || list->failed)
        return;
    char **grown = realloc(list->items, (list->count + 1) * sizeof *grown);
    char *copy = str_copy_length(text, length);
    if (grown == NULL || copy == NULL) {
        free(copy);
        if (grown != NULL)
            list->items = grown;
        list->failed = true;
        return;
    }
    list->items = grown;
    list->items[list->count++] = copy;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Adds text[0, length) and, when it holds percent escapes, its decoded form (an invalid
 * escape is kept as written, as far as it goes). */
static void add_secret(secrets *list, const char *text, size_t length) {
    add_copy(list, text, length);
    if (memchr(text, '%', length) == NULL)
        return;
    char *decoded = malloc(length + 1);
    if (decoded == NULL) {
        list->failed = true;
        return;
    }
    size_t out = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '%' && i + 2 < length) {
            int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
            if (high >= 0 && low >= 0 && (high || low)) { /* libpq refuses %00 */
                decoded[out++] = (char)(high * 16 + low);
                i += 2;
                continue;
            }
        }
        decoded[out++] = text[i];
    }
    add_copy(list, decoded, out);
    free(decoded);
}

/* Ends a token of a URI as a message quotes it. */
static bool ends_uri(char c) {
    return c == '\0' || c == '"' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The passwords of every URI in text: the userinfo after its first ':' up to the first and
 * the last '@' (a malformed URI may hold either), and password/sslpassword parameters. */
static void from_uris(secrets *list, const char *text) {
    for (const char *scheme = strstr(text, "://"); scheme != NULL; scheme = strstr(scheme + 3, "://")) {
        const char *start = scheme + 3, *end = start;
        while (!ends_uri(*end))
            end++;
        const char *colon = NULL, *first_at = NULL, *last_at = NULL;
        for (const char *p = start; p < end; p++) {
            if (*p == ':' && colon == NULL && first_at == NULL)
                colon = p;
            if (*p == '@') {
                if (first_at == NULL)
                    first_at = p;
                last_at = p;
            }
        }
        if (colon != NULL && first_at != NULL) {
            add_secret(list, colon + 1, (size_t)(first_at - colon - 1));
            add_secret(list, colon + 1, (size_t)(last_at - colon - 1));
        }
        for (const char *p = start; p < end; p++) {
            if (*p != '?' && *p != '&')
                continue;
            const char *name = p + 1;
            const char *value = NULL;
            if (strncmp(name, "password=", 9) == 0)
                value = name + 9;
            else if (strncmp(name, "sslpassword=", 12) == 0)
                value = name + 12;
            if (value == NULL)
                continue;
            const char *stop = value;
            while (stop < end && *stop != '&')
                stop++;
            add_secret(list, value, (size_t)(stop - value));
        }
    }
}

/* The values of every password keyword (password, sslpassword, PGPASSWORD...) followed by
 * '=' in text: as written and unquoted, with backslash escapes undone. */
static void from_keywords(secrets *list, const char *text) {
    for (const char *found = strstr(text, "password"); found != NULL; found = strstr(found + 1, "password")) {
        const char *p = found + 8;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        bool quoted = *p == '\'';
        if (quoted)
            p++;
        const char *start = p;
        strbuf plain = {0};
        while (*p != '\0') {
            if (quoted ? *p == '\'' : (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '"'))
                break;
            if (*p == '\\' && p[1] != '\0')
                p++;
            strbuf_append(&plain, p, 1);
            p++;
        }
        add_secret(list, start, (size_t)(p - start));
        char *unescaped = strbuf_take(&plain);
        if (unescaped == NULL)
            list->failed = true;
        else
            add_secret(list, unescaped, strlen(unescaped));
        free(unescaped);
    }
}

/* Every form of the passwords conninfo, the environment and pg hold. */
static void gather(secrets *list, const char *message, const char *conninfo, const PGconn *pg) {
    if (conninfo != NULL) {
        from_uris(list, conninfo);
        from_keywords(list, conninfo);
    }
    from_uris(list, message);
    from_keywords(list, message);
    const char *environment = getenv("PGPASSWORD");
    if (environment != NULL)
        add_secret(list, environment, strlen(environment));
    if (pg == NULL)
        return;
    const char *used = PQpass(pg);
    if (used != NULL)
        add_secret(list, used, strlen(used));
    PQconninfoOption *options = PQconninfo((PGconn *)pg);
    if (options == NULL) {
        list->failed = true;
        return;
    }
    for (PQconninfoOption *option = options; option->keyword != NULL; option++)
        if (option->val != NULL && strstr(option->keyword, "password") != NULL)
            add_secret(list, option->val, strlen(option->val));
    PQconninfoFree(options);
}

char *db_redact(const char *message, const char *conninfo, const PGconn *pg) {
    if (message == NULL)
        return NULL;
    secrets list = {0};
    gather(&list, message, conninfo, pg);
    strbuf out = {0};
    for (const char *p = message; *p != '\0' && !list.failed;) {
        size_t longest = 0;
        for (size_t i = 0; i < list.count; i++) {
            size_t length = strlen(list.items[i]);
            if (length > longest && strncmp(p, list.items[i], length) == 0)
                longest = length;
        }
        if (longest > 0) {
            strbuf_puts(&out, DB_REDACTED);
            p += longest;
        } else {
            strbuf_append(&out, p, 1);
            p++;
        }
    }
    for (size_t i = 0; i < list.count; i++)
        free(list.items[i]);
    free(list.items);
    char *redacted = strbuf_take(&out);
    if (list.failed) {
        free(redacted);
        return NULL;
    }
    return redacted;
}
