/* Unit tests of the OAuth JWT validator (src/mcp/oauth.c), with Check. Keys are made here
 * with OpenSSL (an RSA and a P-256 key), published in a JWKS file written to a temporary
 * directory, and tokens are signed with libjwt: valid ones, and each way a token must fail.
 *
 *   ./test_oauth
 *   CK_FORK=no valgrind --leak-check=full --error-exitcode=1 ./test_oauth */
#include <check.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcp/oauth.h"

#define ISSUER   "https://auth.example.com"
#define AUDIENCE "https://db.example.com/mcp"

static EVP_PKEY *rsa_key, *ec_key;
static char *rsa_private, *rsa_public, *ec_private;
static char directory[64];
static char jwks_path[256];
static int64_t now;

static char *pem(EVP_PKEY *key, bool private_key) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (private_key)
        PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(bio, key);
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    char *text = strndup(data, (size_t)length);
    BIO_free(bio);
    return text;
}

/* bytes as base64url without padding, into out. */
static void base64url(const unsigned char *bytes, size_t length, char *out) {
    int n = EVP_EncodeBlock((unsigned char *)out, bytes, (int)length);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

static void bn_base64url(EVP_PKEY *key, const char *name, char *out) {
    BIGNUM *value = NULL;
    ck_assert(EVP_PKEY_get_bn_param(key, name, &value) == 1);
    unsigned char bytes[512];
    int length = BN_bn2bin(value, bytes);
    BN_free(value);
    base64url(bytes, (size_t)length, out);
}

static void write_jwks(const char *text) {
    FILE *file = fopen(jwks_path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(text, file);
    fclose(file);
}

static void setup_keys(void) {
    now = (int64_t)time(NULL);
    strcpy(directory, "/tmp/pgsafe-oauth-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(directory));
    snprintf(jwks_path, sizeof jwks_path, "%s/jwks.json", directory);
    /* One key pair for the whole run: an RSA key takes seconds to make under valgrind, and
     * no test changes it. */
    static EVP_PKEY *made_rsa, *made_ec;
    if (made_rsa == NULL)
        made_rsa = EVP_RSA_gen(2048);
    if (made_ec == NULL)
        made_ec = EVP_EC_gen("P-256");
    ck_assert(made_rsa && made_ec);
    rsa_key = made_rsa;
    ec_key = made_ec;
    rsa_private = pem(rsa_key, true);
    rsa_public = pem(rsa_key, false);
    ec_private = pem(ec_key, true);
    char n[512], e[16], x[64], y[64];
    bn_base64url(rsa_key, OSSL_PKEY_PARAM_RSA_N, n);
    bn_base64url(rsa_key, OSSL_PKEY_PARAM_RSA_E, e);
    unsigned char point[65];
    size_t point_length = 0;
    ck_assert(EVP_PKEY_get_octet_string_param(ec_key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &point_length) ==
              1);
    ck_assert_uint_eq(point_length, 65);
    base64url(point + 1, 32, x);
    base64url(point + 33, 32, y);
    char jwks[2048];
    snprintf(
        jwks, sizeof jwks,
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"},"
        "{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
        "{\"kty\":\"oct\",\"kid\":\"sym\",\"k\":\"c2VjcmV0\"}]}",
        n, e, x, y);
    write_jwks(jwks);
}

static void teardown_keys(void) {
    free(rsa_private);
    free(rsa_public);
    free(ec_private);
    unlink(jwks_path);
    rmdir(directory);
}

typedef struct claims {
    jwt_alg_t alg;
    const char *key; /* PEM or secret; NULL for none */
    const char *kid;
    const char *iss;
    const char *aud_json; /* the aud claim as JSON */
    int64_t exp;
    int64_t nbf; /* 0: none */
    const char *sub;
} claims;

static claims good_rsa(void) {
    return (claims){JWT_ALG_RS256, rsa_private, "rsa1", ISSUER, "\"" AUDIENCE "\"", now + 300, now - 10, "alice"};
}

static char *mint(claims c) {
    jwt_t *jwt = NULL;
    ck_assert_int_eq(jwt_new(&jwt), 0);
    if (c.kid)
        jwt_add_header(jwt, "kid", c.kid);
    if (c.iss)
        jwt_add_grant(jwt, "iss", c.iss);
    if (c.sub)
        jwt_add_grant(jwt, "sub", c.sub);
    if (c.exp)
        jwt_add_grant_int(jwt, "exp", (long)c.exp);
    if (c.nbf)
        jwt_add_grant_int(jwt, "nbf", (long)c.nbf);
    if (c.aud_json) {
        char json[512];
        snprintf(json, sizeof json, "{\"aud\":%s}", c.aud_json);
        ck_assert_int_eq(jwt_add_grants_json(jwt, json), 0);
    }
    ck_assert_int_eq(jwt_set_alg(jwt, c.alg, (const unsigned char *)c.key, c.key ? (int)strlen(c.key) : 0), 0);
    char *token = jwt_encode_str(jwt);
    jwt_free(jwt);
    ck_assert_ptr_nonnull(token);
    return token;
}

static oauth_validator *validator(void) {
    char *error = NULL;
    oauth_validator *v = oauth_validator_new(ISSUER, AUDIENCE, jwks_path, &error);
    ck_assert_msg(v != NULL, "%s", error ? error : "?");
    return v;
}

/* The validator's answer for the claims: the subject, or NULL with reason. */
static char *check(claims c, const char **reason) {
    oauth_validator *v = validator();
    char *token = mint(c);
    char *subject = oauth_validate(v, token, now, reason);
    free(token);
    oauth_validator_free(v);
    return subject;
}

static void refused(claims c, const char *expected_reason) {
    const char *reason = NULL;
    char *subject = check(c, &reason);
    ck_assert_ptr_null(subject);
    ck_assert_msg(reason && strstr(reason, expected_reason), "reason \"%s\", expected \"%s\"", reason, expected_reason);
}

START_TEST(test_jwks_keeps_rsa_and_ec_keys_only) {
    oauth_validator *v = validator();
    ck_assert_uint_eq(oauth_key_count(v), 2); /* the oct key is skipped */
    ck_assert_str_eq(oauth_issuer(v), ISSUER);
    ck_assert_str_eq(oauth_audience(v), AUDIENCE);
    oauth_validator_free(v);
}
END_TEST

START_TEST(test_valid_rs256) {
    const char *reason = NULL;
    char *subject = check(good_rsa(), &reason);
    ck_assert_msg(subject != NULL, "%s", reason);
    ck_assert_str_eq(subject, "alice");
    free(subject);
}
END_TEST

START_TEST(test_valid_es256_with_audience_list) {
    claims c = good_rsa();
    c.alg = JWT_ALG_ES256;
    c.key = ec_private;
    c.kid = "ec1";
    c.aud_json = "[\"https://other.example.com\",\"" AUDIENCE "\"]";
    const char *reason = NULL;
    char *subject = check(c, &reason);
    ck_assert_msg(subject != NULL, "%s", reason);
    ck_assert_str_eq(subject, "alice");
    free(subject);
}
END_TEST

START_TEST(test_expired) {
    claims c = good_rsa();
    c.exp = now - OAUTH_LEEWAY_S - 1;
    refused(c, "expired");
}
END_TEST

START_TEST(test_expiry_within_leeway_passes) {
    claims c = good_rsa();
    c.exp = now - OAUTH_LEEWAY_S + 5;
    const char *reason = NULL;
    char *subject = check(c, &reason);
    ck_assert_msg(subject != NULL, "%s", reason);
    free(subject);
}
END_TEST

START_TEST(test_no_expiry) {
    claims c = good_rsa();
    c.exp = 0;
    refused(c, "no expiry");
}
END_TEST

START_TEST(test_not_yet_valid) {
    claims c = good_rsa();
    c.nbf = now + OAUTH_LEEWAY_S + 60;
    refused(c, "not valid yet");
}
END_TEST

START_TEST(test_wrong_audience) {
    claims c = good_rsa();
    c.aud_json = "\"https://other.example.com/mcp\"";
    refused(c, "audience");
    c.aud_json = "[\"https://other.example.com/mcp\"]";
    refused(c, "audience");
    c.aud_json = NULL;
    refused(c, "audience");
}
END_TEST

START_TEST(test_wrong_issuer) {
    claims c = good_rsa();
    c.iss = "https://evil.example.com";
    refused(c, "issuer");
    c.iss = NULL;
    refused(c, "issuer");
}
END_TEST

START_TEST(test_no_subject) {
    claims c = good_rsa();
    c.sub = NULL;
    refused(c, "subject");
}
END_TEST

START_TEST(test_alg_none) {
    claims c = good_rsa();
    c.alg = JWT_ALG_NONE;
    c.key = NULL;
    refused(c, "algorithm");
}
END_TEST

/* Algorithm confusion: HS256 keyed with the RSA public key's PEM, which anyone has. */
START_TEST(test_hs256_with_public_key_as_secret) {
    claims c = good_rsa();
    c.alg = JWT_ALG_HS256;
    c.key = rsa_public;
    refused(c, "algorithm");
}
END_TEST

START_TEST(test_unknown_kid) {
    claims c = good_rsa();
    c.kid = "rotated-away";
    refused(c, "kid");
    c.kid = NULL;
    refused(c, "kid");
}
END_TEST

/* The RSA key's kid on an ES256 token: the key is never used with another algorithm. */
START_TEST(test_kid_of_another_key_type) {
    claims c = good_rsa();
    c.alg = JWT_ALG_ES256;
    c.key = ec_private;
    refused(c, "kid");
}
END_TEST

START_TEST(test_tampered_signature) {
    oauth_validator *v = validator();
    char *token = mint(good_rsa());
    char *last = token + strlen(token) - 5;
    *last = *last == 'A' ? 'B' : 'A';
    const char *reason = NULL;
    ck_assert_ptr_null(oauth_validate(v, token, now, &reason));
    ck_assert_ptr_nonnull(strstr(reason, "signature"));
    free(token);
    oauth_validator_free(v);
}
END_TEST

/* A payload swapped for another (sub: admin) under the original signature. */
START_TEST(test_tampered_payload) {
    oauth_validator *v = validator();
    char *token = mint(good_rsa());
    claims other = good_rsa();
    other.sub = "admin";
    char *forged_source = mint(other);
    char *dot = strchr(token, '.'), *second = strchr(dot + 1, '.');
    char *forged_dot = strchr(forged_source, '.'), *forged_second = strchr(forged_dot + 1, '.');
    char forged[8192];
    snprintf(forged, sizeof forged, "%.*s%.*s%s", (int)(dot - token + 1), token, (int)(forged_second - forged_dot - 1),
             forged_dot + 1, second);
    const char *reason = NULL;
    ck_assert_ptr_null(oauth_validate(v, forged, now, &reason));
    ck_assert_ptr_nonnull(strstr(reason, "signature"));
    free(token);
    free(forged_source);
    oauth_validator_free(v);
}
END_TEST

START_TEST(test_garbage) {
    oauth_validator *v = validator();
    const char *reason = NULL;
    /* Empty segments are refused before libjwt, which overruns a buffer on them (valgrind). */
    const char *inputs[] = {"",           "not-a-jwt", "a.b.c", "..",      "eyJhbGciOiJSUzI1NiJ9..",
                            "pgsafe_abc", ".a.b",      "a..b",  "a.b.c.d", "a.b.c.",
                            "a+b.c/d.e=", "a b.c.d",   "a.b",   "x.y.",    "eyJ9.eyJ9.x"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
        ck_assert_ptr_null(oauth_validate(v, inputs[i], now, &reason));
    oauth_validator_free(v);
}
END_TEST

START_TEST(test_token_over_the_bound) {
    oauth_validator *v = validator();
    claims c = good_rsa();
    char long_subject[OAUTH_MAX_TOKEN];
    memset(long_subject, 's', sizeof long_subject - 1);
    long_subject[sizeof long_subject - 1] = '\0';
    c.sub = long_subject;
    char *token = mint(c);
    const char *reason = NULL;
    ck_assert_ptr_null(oauth_validate(v, token, now, &reason));
    ck_assert_ptr_nonnull(strstr(reason, "not a JWT"));
    free(token);
    oauth_validator_free(v);
}
END_TEST

START_TEST(test_bad_jwks_files) {
    char *error = NULL;
    write_jwks("not json");
    ck_assert_ptr_null(oauth_validator_new(ISSUER, AUDIENCE, jwks_path, &error));
    ck_assert_ptr_nonnull(strstr(error, "not a JSON Web Key Set"));
    free(error);
    write_jwks("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}");
    ck_assert_ptr_null(oauth_validator_new(ISSUER, AUDIENCE, jwks_path, &error));
    ck_assert_ptr_nonnull(strstr(error, "no usable key"));
    free(error);
    const char *bad_urls[] = {"",
                              "ftp://auth.example.com",
                              "https://",
                              "https://a.example.com/\"x",
                              "https://a b",
                              "https://a.example.com/#frag"};
    for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
        ck_assert_ptr_null(oauth_validator_new(bad_urls[i], AUDIENCE, jwks_path, &error));
        ck_assert_ptr_nonnull(strstr(error, "issuer"));
        free(error);
        ck_assert_ptr_null(oauth_validator_new(ISSUER, bad_urls[i], jwks_path, &error));
        ck_assert_ptr_nonnull(strstr(error, "audience"));
        free(error);
    }
    ck_assert_ptr_null(oauth_validator_new(ISSUER, AUDIENCE, "/nonexistent/jwks.json", &error));
    ck_assert_ptr_nonnull(strstr(error, "cannot read"));
    free(error);
}
END_TEST

/* A JWKS rewritten without the key: refresh drops it; a broken file drops every key. */
START_TEST(test_refresh_follows_the_file) {
    oauth_validator *v = validator();
    char *token = mint(good_rsa());
    const char *reason = NULL;
    char *subject = oauth_validate(v, token, now, &reason);
    ck_assert_ptr_nonnull(subject);
    free(subject);
    write_jwks("{\"keys\":[]} ");
    char *error = NULL;
    ck_assert(!oauth_validator_refresh(v, &error));
    free(error);
    ck_assert_uint_eq(oauth_key_count(v), 0);
    ck_assert_ptr_null(oauth_validate(v, token, now, &reason));
    ck_assert_ptr_nonnull(strstr(reason, "no signing key"));
    free(token);
    oauth_validator_free(v);
}
END_TEST

static Suite *oauth_suite(void) {
    Suite *suite = suite_create("oauth");
    TCase *tc = tcase_create("validator");
    tcase_add_checked_fixture(tc, setup_keys, teardown_keys);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_jwks_keeps_rsa_and_ec_keys_only);
    tcase_add_test(tc, test_valid_rs256);
    tcase_add_test(tc, test_valid_es256_with_audience_list);
    tcase_add_test(tc, test_expired);
    tcase_add_test(tc, test_expiry_within_leeway_passes);
    tcase_add_test(tc, test_no_expiry);
    tcase_add_test(tc, test_not_yet_valid);
    tcase_add_test(tc, test_wrong_audience);
    tcase_add_test(tc, test_wrong_issuer);
    tcase_add_test(tc, test_no_subject);
    tcase_add_test(tc, test_alg_none);
    tcase_add_test(tc, test_hs256_with_public_key_as_secret);
    tcase_add_test(tc, test_unknown_kid);
    tcase_add_test(tc, test_kid_of_another_key_type);
    tcase_add_test(tc, test_tampered_signature);
    tcase_add_test(tc, test_tampered_payload);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_token_over_the_bound);
    tcase_add_test(tc, test_bad_jwks_files);
    tcase_add_test(tc, test_refresh_follows_the_file);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) {
    SRunner *runner = srunner_create(oauth_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
