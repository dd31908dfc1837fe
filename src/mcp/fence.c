/* Fences database content as untrusted data (fence.h): a fresh 128-bit random boundary per
 * fence, from getrandom(2), else /dev/urandom; never a predictable one. */
#include "mcp/fence.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define FENCE_PREFIX       "untrusted-data-"
#define FENCE_RANDOM_BYTES 16
#define FENCE_TRIES        4

/* Fills buffer with length random bytes; false when neither source answers in full. */
static bool random_bytes(unsigned char *buffer, size_t length) {
    size_t got = 0;
    while (got < length) {
        ssize_t n = getrandom(buffer + got, length - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == length)
        return true;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    got = 0;
    while (got < length) {
        ssize_t n = read(fd, buffer + got, length - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return got == length;
}

bool fence_new_boundary(char *boundary) {
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[FENCE_RANDOM_BYTES];
    if (!random_bytes(bytes, sizeof bytes))
        return false;
    memcpy(boundary, FENCE_PREFIX, strlen(FENCE_PREFIX));
    char *digits = boundary + strlen(FENCE_PREFIX);
    for (size_t i = 0; i < sizeof bytes; i++) {
        digits[2 * i] = hex[bytes[i] >> 4];
        digits[2 * i + 1] = hex[bytes[i] & 0x0f];
    }
    digits[2 * sizeof bytes] = '\0';
    return true;
}

/* True when needle (NUL-terminated) occurs in text[0..length). */
static bool contains(const char *text, size_t length, const char *needle) {
    size_t needle_length = strlen(needle);
    if (needle_length == 0 || length < needle_length)
        return false;
    for (size_t i = 0; i + needle_length <= length; i++)
        if (text[i] == needle[0] && memcmp(text + i, needle, needle_length) == 0)
            return true;
    return false;
}

bool fence_append(strbuf *out, const char *content, size_t length) {
    char boundary[FENCE_BOUNDARY_LENGTH + 1];
    bool found = false;
    for (int try = 0; try < FENCE_TRIES && !found; try++) {
        if (!fence_new_boundary(boundary))
            return false;
        /* The random part alone: content holding it cannot be told apart from our fence. */
        found = !contains(content, length, boundary + strlen(FENCE_PREFIX));
    }
    if (!found)
        return false;
    strbuf_printf(out, "<%s>\n", boundary);
    strbuf_append(out, content, length);
    if (length == 0 || content[length - 1] != '\n')
        strbuf_puts(out, "\n");
    strbuf_printf(out, "</%s>\n", boundary);
    return true;
}

char *fence_text(const char *content, bool enabled) {
    strbuf out = {0};
    if (!enabled) {
        strbuf_puts(&out, content);
        return strbuf_take(&out);
    }
    if (!fence_append(&out, content, strlen(content))) {
        strbuf_free(&out);
        return NULL;
    }
    return strbuf_take(&out);
}
