/* OAuth 2.1 JWT access tokens (see oauth.h): the JWKS file read into PEM public keys with
 * json-c and OpenSSL, the signature checked by libjwt, then the claims (iss, aud, exp, nbf,
 * sub) checked here. libjwt 1.x takes one key per decode and no JWKS, hence the PEM step. */
#include <errno.h>
#include <json-c/json.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mcp/oauth.h"
#include "util/strings.h"

typedef struct oauth_key {
    char *kid;     /* NULL: the JWKS gave none (then it matches tokens without kid) */
    jwt_alg_t alg; /* JWT_ALG_RS256 or JWT_ALG_ES256, from the key's type */
    char *pem;     /* SubjectPublicKeyInfo */
} oauth_key;

struct oauth_validator {
    char *issuer;
    char *audience;
    char *path;
    oauth_key keys[OAUTH_MAX_KEYS];
    size_t count;
    dev_t device;
    ino_t inode;
    off_t size;
    struct timespec modified;
};

/* ---- the JWKS ---- */

/* base64url text (no padding) into bytes (caller frees); NULL when it is not base64url. */
static unsigned char *base64url_decode(const char *text, size_t *length) {
    size_t n = strlen(text);
    if (n == 0 || n > 4096 || n % 4 == 1)
        return NULL;
    size_t padded = (n + 3) / 4 * 4;
    char *standard = malloc(padded + 1);
    unsigned char *bytes = malloc(padded / 4 * 3 + 1);
    if (standard == NULL || bytes == NULL) {
        free(standard);
        free(bytes);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '+' || c == '/' || c == '=')
            c = '!'; /* not base64url: EVP_DecodeBlock refuses it below */
        standard[i] = c;
    }
    for (size_t i = n; i < padded; i++)
        standard[i] = '=';
    standard[padded] = '\0';
    int decoded = EVP_DecodeBlock(bytes, (unsigned char *)standard, (int)padded);
    free(standard);
    if (decoded < 0) {
        free(bytes);
        return NULL;
    }
    *length = (size_t)decoded - (padded - n); /* EVP_DecodeBlock counts the padding's zero bytes */
    return bytes;
}

static const char *member_string(json_object *object, const char *name) {
    json_object *value = NULL;
    if (!json_object_object_get_ex(object, name, &value) || !json_object_is_type(value, json_type_string))
        return NULL;
    return json_object_get_string(value);
}

/* The key as PEM (caller frees), or NULL. */
static char *pem_of(EVP_PKEY *key) {
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    if (bio && PEM_write_bio_PUBKEY(bio, key) == 1) {
        char *data = NULL;
        long length = BIO_get_mem_data(bio, &data);
        if (length > 0)
            pem = str_copy_length(data, (size_t)length);
    }
    BIO_free(bio);
    return pem;
}

/* An RSA ({n, e}) or P-256 EC ({crv, x, y}) JWK as PEM (caller frees) with its algorithm;
 * NULL when the key is of another type or malformed. */
static char *jwk_pem(json_object *jwk, jwt_alg_t *alg) {
    const char *kty = member_string(jwk, "kty");
    const char *use = member_string(jwk, "use");
    if (kty == NULL || (use && strcmp(use, "sig") != 0))
        return NULL;
    bool rsa = strcmp(kty, "RSA") == 0;
    bool ec = strcmp(kty, "EC") == 0;
    const char *crv = member_string(jwk, "crv");
    if (!rsa && !(ec && crv && strcmp(crv, "P-256") == 0))
        return NULL;
    const char *declared = member_string(jwk, "alg");
    if (declared && strcmp(declared, rsa ? "RS256" : "ES256") != 0)
        return NULL;
    const char *first = member_string(jwk, rsa ? "n" : "x");
    const char *second = member_string(jwk, rsa ? "e" : "y");
    if (first == NULL || second == NULL)
        return NULL;
    size_t first_length = 0, second_length = 0;
    unsigned char *a = base64url_decode(first, &first_length);
    unsigned char *b = base64url_decode(second, &second_length);
    char *pem = NULL;
    OSSL_PARAM_BLD *build = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL, *e = NULL;
    unsigned char point[65];
    bool built = false;
    if (a && b && build) {
        if (rsa) {
            n = BN_bin2bn(a, (int)first_length, NULL);
            e = BN_bin2bn(b, (int)second_length, NULL);
            built = n && e && OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, n) &&
                    OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, e);
        } else if (first_length == 32 && second_length == 32) {
            point[0] = 0x04; /* uncompressed point */
            memcpy(point + 1, a, 32);
            memcpy(point + 33, b, 32);
            built = OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) &&
                    OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
        }
    }
    if (built && (params = OSSL_PARAM_BLD_to_param(build)) != NULL) {
        EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL);
        EVP_PKEY *key = NULL;
        if (context && EVP_PKEY_fromdata_init(context) == 1 &&
            EVP_PKEY_fromdata(context, &key, EVP_PKEY_PUBLIC_KEY, params) == 1) {
            /* A point off the curve or an RSA key below 2048 bits is no key to trust. */
            EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
            bool sound = rsa ? EVP_PKEY_get_bits(key) >= 2048 : (check && EVP_PKEY_public_check(check) == 1);
            EVP_PKEY_CTX_free(check);
            if (sound)
                pem = pem_of(key);
        }
        EVP_PKEY_free(key);
        EVP_PKEY_CTX_free(context);
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(build);
    BN_free(n);
    BN_free(e);
    free(a);
    free(b);
    *alg = rsa ? JWT_ALG_RS256 : JWT_ALG_ES256;
    return pem;
}

static void keys_clear(oauth_validator *validator) {
    for (size_t i = 0; i < validator->count; i++) {
        free(validator->keys[i].kid);
        free(validator->keys[i].pem);
    }
    validator->count = 0;
}

/* Reads the JWKS file into the keys; false with *error. Keys of other types are skipped. */
static bool jwks_load(oauth_validator *validator, char **error) {
    keys_clear(validator);
    FILE *file = fopen(validator->path, "r");
    struct stat status;
    if (file == NULL || fstat(fileno(file), &status) != 0) {
        *error = str_printf("cannot read the JWKS file %s: %s", validator->path, strerror(errno));
        if (file)
            fclose(file);
        return false;
    }
    validator->device = status.st_dev;
    validator->inode = status.st_ino;
    validator->size = status.st_size;
    validator->modified = status.st_mtim;
    if (status.st_size > OAUTH_MAX_JWKS_BYTES) {
        fclose(file);
        validator->size = -1;
        *error = str_printf("the JWKS file %s is over %d bytes", validator->path, OAUTH_MAX_JWKS_BYTES);
        return false;
    }
    char *text = malloc((size_t)status.st_size + 1);
    size_t read = text ? fread(text, 1, (size_t)status.st_size, file) : 0;
    fclose(file);
    if (text == NULL) {
        validator->size = -1;
        *error = str_printf("out of memory");
        return false;
    }
    text[read] = '\0';
    json_object *jwks = json_tokener_parse(text);
    free(text);
    json_object *keys = NULL;
    if (jwks == NULL || !json_object_object_get_ex(jwks, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array)) {
        json_object_put(jwks);
        validator->size = -1; /* the next refresh tries again */
        *error =
            str_printf("the JWKS file %s is not a JSON Web Key Set (an object with a \"keys\" array)", validator->path);
        return false;
    }
    size_t total = json_object_array_length(keys);
    for (size_t i = 0; i < total && validator->count < OAUTH_MAX_KEYS; i++) {
        json_object *jwk = json_object_array_get_idx(keys, i);
        jwt_alg_t alg;
        char *pem = jwk_pem(jwk, &alg);
        if (pem == NULL)
            continue;
        const char *kid = member_string(jwk, "kid");
        oauth_key *key = &validator->keys[validator->count++];
        key->pem = pem;
        key->alg = alg;
        key->kid = kid ? strdup(kid) : NULL;
    }
    json_object_put(jwks);
    if (validator->count == 0) {
        validator->size = -1;
        *error = str_printf("the JWKS file %s holds no usable key (RSA of 2048 bits or more, or EC P-256, for "
                            "signatures)",
                            validator->path);
        return false;
    }
    return true;
}

/* An absolute http(s) URL fit to quote in a header and to compare: bounded, no fragment,
 * no quote, backslash, space or control character. */
static bool url_usable(const char *url) {
    size_t length = strlen(url);
    size_t scheme = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
    if (scheme == 0 || length == scheme || length > OAUTH_MAX_AUDIENCE)
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == '#')
            return false;
    return true;
}

oauth_validator *oauth_validator_new(const char *issuer, const char *audience, const char *jwks_path, char **error) {
    *error = NULL;
    if (!url_usable(issuer) || !url_usable(audience)) {
        *error = str_printf("the OAuth %s is not an http(s) URL of at most %d bytes without a fragment or quotes",
                            url_usable(issuer) ? "audience" : "issuer", OAUTH_MAX_AUDIENCE);
        return NULL;
    }
    oauth_validator *validator = calloc(1, sizeof *validator);
    if (validator == NULL || (validator->issuer = strdup(issuer)) == NULL ||
        (validator->audience = strdup(audience)) == NULL || (validator->path = strdup(jwks_path)) == NULL) {
        oauth_validator_free(validator);
        *error = str_printf("out of memory");
        return NULL;
    }
    if (!jwks_load(validator, error)) {
        oauth_validator_free(validator);
        return NULL;
    }
    return validator;
}

bool oauth_validator_refresh(oauth_validator *validator, char **error) {
    *error = NULL;
    struct stat status;
    if (stat(validator->path, &status) == 0 && status.st_dev == validator->device &&
        status.st_ino == validator->inode && status.st_size == validator->size &&
        status.st_mtim.tv_sec == validator->modified.tv_sec && status.st_mtim.tv_nsec == validator->modified.tv_nsec)
        return true;
    return jwks_load(validator, error);
}

/* ---- tokens ---- */

static bool audience_matches(jwt_t *jwt, const char *audience) {
    const char *single = jwt_get_grant(jwt, "aud");
    if (single)
        return strcmp(single, audience) == 0;
    char *text = jwt_get_grants_json(jwt, "aud");
    if (text == NULL)
        return false;
    json_object *list = json_tokener_parse(text);
    free(text);
    bool found = false;
    if (list && json_object_is_type(list, json_type_array))
        for (size_t i = 0; i < json_object_array_length(list) && !found; i++) {
            json_object *item = json_object_array_get_idx(list, i);
            found = json_object_is_type(item, json_type_string) && strcmp(json_object_get_string(item), audience) == 0;
        }
    json_object_put(list);
    return found;
}

/* The integer claim in *value; false when absent or not an integer. */
static bool time_claim(jwt_t *jwt, const char *name, long *value) {
    errno = 0;
    *value = jwt_get_grant_int(jwt, name);
    return errno == 0;
}

/* Checks the verified token's claims; the subject (caller frees) or NULL with *reason. */
static char *claims_subject(const oauth_validator *validator, jwt_t *jwt, int64_t now_s, const char **reason) {
    const char *issuer = jwt_get_grant(jwt, "iss");
    if (issuer == NULL || strcmp(issuer, validator->issuer) != 0) {
        *reason = "invalid token: its issuer (iss) is not the configured one";
        return NULL;
    }
    if (!audience_matches(jwt, validator->audience)) {
        *reason = "invalid token: its audience (aud) does not name this server";
        return NULL;
    }
    long expires, not_before;
    if (!time_claim(jwt, "exp", &expires)) {
        *reason = "invalid token: it has no expiry (exp)";
        return NULL;
    }
    if ((int64_t)expires + OAUTH_LEEWAY_S <= now_s) {
        *reason = "invalid token: it has expired";
        return NULL;
    }
    if (time_claim(jwt, "nbf", &not_before) && (int64_t)not_before - OAUTH_LEEWAY_S > now_s) {
        *reason = "invalid token: it is not valid yet (nbf)";
        return NULL;
    }
    const char *subject = jwt_get_grant(jwt, "sub");
    if (subject == NULL || subject[0] == '\0' || strlen(subject) > OAUTH_MAX_SUBJECT) {
        *reason = "invalid token: it has no usable subject (sub)";
        return NULL;
    }
    for (const char *p = subject; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *reason = "invalid token: its subject (sub) holds control characters";
            return NULL;
        }
    char *copy = strdup(subject);
    if (copy == NULL)
        *reason = "out of memory";
    return copy;
}

/* The compact form's shape: three dot-separated base64url segments, header and payload not
 * empty, at most OAUTH_MAX_TOKEN bytes. Checked before libjwt sees the token: libjwt 1.10
 * writes past a zero-byte allocation when it decodes an empty segment. Sets *unsigned_token
 * when only the signature is missing (the shape of alg none). */
static bool compact_shape(const char *token, bool *unsigned_token) {
    size_t lengths[3] = {0, 0, 0}, segment = 0, total = 0;
    *unsigned_token = false;
    for (const char *p = token; *p; p++, total++) {
        char c = *p;
        if (c == '.') {
            if (++segment == 3)
                return false;
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            lengths[segment]++;
        } else {
            return false;
        }
    }
    if (segment != 2 || total > OAUTH_MAX_TOKEN || lengths[0] == 0 || lengths[1] == 0)
        return false;
    *unsigned_token = lengths[2] == 0;
    return !*unsigned_token;
}

char *oauth_validate(const oauth_validator *validator, const char *token, int64_t now_s, const char **reason) {
    *reason = "invalid token: it is not a JWT (or its typ header is not JWT)";
    bool unsigned_token = false;
    if (validator == NULL || token == NULL || !compact_shape(token, &unsigned_token)) {
        if (unsigned_token)
            *reason = "invalid token: its algorithm is not RS256 or ES256 (it is unsigned)";
        return NULL;
    }
    /* First the header alone, unverified: which algorithm and which key. */
    jwt_t *header = NULL;
    if (jwt_decode(&header, token, NULL, 0) != 0 || header == NULL) {
        jwt_free(header);
        return NULL;
    }
    const char *alg_name = jwt_get_header(header, "alg");
    jwt_alg_t alg = JWT_ALG_INVAL;
    if (alg_name && strcmp(alg_name, "RS256") == 0)
        alg = JWT_ALG_RS256;
    else if (alg_name && strcmp(alg_name, "ES256") == 0)
        alg = JWT_ALG_ES256;
    const char *kid = jwt_get_header(header, "kid");
    const oauth_key *key = NULL;
    for (size_t i = 0; i < validator->count && key == NULL; i++) {
        const oauth_key *candidate = &validator->keys[i];
        bool same_kid = kid ? candidate->kid && strcmp(candidate->kid, kid) == 0 : candidate->kid == NULL;
        if (same_kid && candidate->alg == alg)
            key = candidate;
    }
    jwt_free(header);
    if (alg == JWT_ALG_INVAL) {
        *reason = "invalid token: its algorithm is not RS256 or ES256";
        return NULL;
    }
    if (key == NULL) {
        *reason = validator->count == 0 ? "invalid token: no signing key is loaded (see the JWKS file)"
                                        : "invalid token: no key of the JWKS matches its kid and algorithm";
        return NULL;
    }
    /* Then verified with that key only: libjwt checks the signature with the header's
     * algorithm, which must still be the key's own. */
    jwt_t *jwt = NULL;
    int failed = jwt_decode(&jwt, token, (const unsigned char *)key->pem, (int)strlen(key->pem));
    if (failed != 0 || jwt == NULL || jwt_get_alg(jwt) != key->alg) {
        jwt_free(jwt);
        *reason = "invalid token: its signature does not verify";
        return NULL;
    }
    char *subject = claims_subject(validator, jwt, now_s, reason);
    jwt_free(jwt);
    return subject;
}

const char *oauth_issuer(const oauth_validator *validator) {
    return validator->issuer;
}

const char *oauth_audience(const oauth_validator *validator) {
    return validator->audience;
}

size_t oauth_key_count(const oauth_validator *validator) {
    return validator ? validator->count : 0;
}

void oauth_validator_free(oauth_validator *validator) {
    if (validator == NULL)
        return;
    keys_clear(validator);
    free(validator->issuer);
    free(validator->audience);
    free(validator->path);
    free(validator);
}
