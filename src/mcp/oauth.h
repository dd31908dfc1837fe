/* OAuth 2.1 access tokens for the HTTP transport, as the MCP authorization specification
 * describes: JWTs signed by a configured issuer, checked against the issuer's keys in a JWKS
 * file that the operator keeps current (pgsafe fetches nothing over the network), with the
 * resource's canonical URI as the required audience (RFC 8707). Use:
 *
 *     oauth_validator *oauth = oauth_validator_new(issuer, audience, jwks_path, &error);
 *     oauth_validator_refresh(oauth, &error);           // rereads the JWKS file if it changed
 *     char *subject = oauth_validate(oauth, token, time(NULL), &reason);
 *     oauth_validator_free(oauth);
 *
 * Only RS256 and ES256 are accepted; "none" and HS* are refused before any key is used, and a
 * key is only ever used with the algorithm of its own type (no algorithm confusion). */
#ifndef PGSAFE_MCP_OAUTH_H
#define PGSAFE_MCP_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OAUTH_MAX_JWKS_BYTES (1024 * 1024) /* a larger JWKS file is refused */
#define OAUTH_MAX_KEYS       64            /* keys kept from one JWKS file */
#define OAUTH_MAX_SUBJECT    256           /* bytes of sub: longer is refused */
#define OAUTH_LEEWAY_S       60            /* clock skew allowed on exp and nbf */
#define OAUTH_MAX_TOKEN      8192          /* bytes of a JWT: longer is refused */
#define OAUTH_MAX_AUDIENCE   512           /* bytes of the audience URI (and of the issuer) */

typedef struct oauth_validator oauth_validator;

/* Reads the JWKS file; NULL with *error (caller frees) when it cannot be read, is not a JWKS,
 * or holds no usable RS256/ES256 key, or when issuer or audience is not an https:// (or
 * http:// for loopback testing) URL of at most OAUTH_MAX_AUDIENCE bytes without a fragment or
 * quotes. issuer and audience are copied. */
oauth_validator *oauth_validator_new(const char *issuer, const char *audience, const char *jwks_path, char **error);

/* Rereads the JWKS file when its identity, size or time changed. On failure (false, *error
 * set, caller frees) the keys are dropped, so every JWT is refused until the file is fixed. */
bool oauth_validator_refresh(oauth_validator *validator, char **error);

/* The token's subject (caller frees) when it is a JWT signed with RS256 or ES256 by a key of
 * the JWKS whose kid it names, with iss equal to the issuer, aud equal to or containing the
 * audience, exp in the future and nbf in the past (OAUTH_LEEWAY_S either way), and a sub of
 * at most OAUTH_MAX_SUBJECT bytes; the token itself at most OAUTH_MAX_TOKEN bytes. Else NULL and *reason, a static
 * one-line lower-case text. */
char *oauth_validate(const oauth_validator *validator, const char *token, int64_t now_s, const char **reason);

const char *oauth_issuer(const oauth_validator *validator);
const char *oauth_audience(const oauth_validator *validator);
size_t oauth_key_count(const oauth_validator *validator);

void oauth_validator_free(oauth_validator *validator);

#endif
