// `pgsafe serve --http` with OAuth: JWT access tokens signed by a test issuer whose keys are
// in a JWKS file (tokens minted here with node:crypto), beside pgsafe_ tokens from the token
// file. The 401 challenge names the Protected Resource Metadata, the metadata document is
// served, a valid JWT works and its subject is the audit line's identity, and an expired, a
// wrong-audience, an HS256 (algorithm confusion) or an unsigned token is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import {
  BIN, TMP, after, before, connectHttp, describe, modernHeaders, modernParams, okResult, post, startHttp, test,
} from './lib.mjs';

const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'https://db.example.com/mcp';
const jwksPath = path.join(TMP, 'oauth-jwks.json');
const tokens = path.join(TMP, 'oauth-tokens');
const audit = path.join(TMP, 'oauth-audit.jsonl');

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const encode = (object) => Buffer.from(JSON.stringify(object)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** A signed JWT: RS256 with the RSA key (kid rsa1) unless told otherwise. */
function mint(claims = {}, { alg = 'RS256', kid = alg === 'ES256' ? 'ec1' : 'rsa1', typ = 'JWT', key } = {}) {
  const payload = { iss: ISSUER, aud: AUDIENCE, sub: 'carol@example.com', exp: now() + 300, iat: now(), ...claims };
  const input = `${encode({ alg, typ, kid })}.${encode(payload)}`;
  let signature = '';
  if (alg === 'RS256') signature = crypto.sign('sha256', Buffer.from(input), key ?? rsa.privateKey);
  else if (alg === 'ES256') signature = crypto.sign('sha256', Buffer.from(input), { key: key ?? ec.privateKey, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'HS256') signature = crypto.createHmac('sha256', key).update(input).digest();
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

let server;
let dave;
before(async () => {
  const jwks = { keys: [
    { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa1', use: 'sig', alg: 'RS256' },
    { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec1', use: 'sig' },
  ] };
  fs.writeFileSync(jwksPath, JSON.stringify(jwks));
  dave = execFileSync(BIN, ['token', 'add', 'dave', '--tokens', tokens], { encoding: 'utf8' }).trim();
  server = await startHttp({
    args: ['--tokens', tokens, '--audit-log', audit, '--oauth-issuer', ISSUER, '--oauth-jwks', jwksPath],
    env: { PGSAFE_OAUTH_AUDIENCE: AUDIENCE },
  });
  assert.ok(server.url, `pgsafe did not start:\n${server.stderr()}`);
});
after(async () => {
  if (server) assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.stderr());
});

const bearer = (token) => ({ Authorization: `Bearer ${token}` });
const toolsList = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() };
const listWith = (token) => post(server.url, toolsList, { ...modernHeaders(toolsList), ...bearer(token) });
const METADATA = 'https://db.example.com/.well-known/oauth-protected-resource/mcp';

describe('oauth', () => {
  test('no token: 401 whose challenge names the resource metadata, without an error', async () => {
    const answer = await post(server.url, toolsList, modernHeaders(toolsList));
    assert.equal(answer.status, 401);
    assert.equal(answer.headers.get('www-authenticate'), `Bearer realm="pgsafe", resource_metadata="${METADATA}"`);
    assert.equal(answer.body.error.code, -32001);
  });

  test('the Protected Resource Metadata, at the root and at the path-suffixed well-known URL, with no token', async () => {
    const expected = { resource: AUDIENCE, authorization_servers: [ISSUER], bearer_methods_supported: ['header'] };
    for (const where of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const response = await fetch(`${server.base}${where}`);
      assert.equal(response.status, 200, where);
      assert.match(response.headers.get('content-type'), /^application\/json/);
      assert.deepEqual(await response.json(), expected);
    }
    assert.equal((await fetch(`${server.base}/.well-known/oauth-protected-resource/other`)).status, 404);
  });

  test('a valid RS256 JWT with the v2 client: a query, and the subject is the audit identity', async () => {
    const session = await connectHttp(server.url, bearer(mint()));
    try {
      const result = okResult(await session.client.callTool({ name: 'query', arguments: { sql: 'SELECT 1 AS one' } }));
      assert.deepEqual(result.rows, [[1]]);
    } finally {
      await session.close();
    }
    const lines = fs.readFileSync(audit, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(lines.at(-1).identity, 'carol@example.com');
  });

  test('ES256 and an audience list are accepted', async () => {
    const token = mint({ aud: ['https://other.example.com', AUDIENCE] }, { alg: 'ES256' });
    const answer = await listWith(token);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });

  // Debian 12's libjwt (1.10) reads only typ JWT (or none); docs/mcp.md says so.
  test('the RFC 9068 typ at+jwt is refused with a reason that names typ', async () => {
    const answer = await listWith(mint({}, { typ: 'at+jwt' }));
    assert.equal(answer.status, 401);
    assert.match(answer.body.error.message, /typ/);
  });

  test('a pgsafe_ token from the token file still works beside OAuth', async () => {
    assert.equal((await listWith(dave)).status, 200);
  });

  const refusals = {
    'an expired JWT': [mint({ exp: now() - 3600 }), /expired/],
    'a JWT for another audience': [mint({ aud: 'https://other.example.com/mcp' }), /audience/],
    'a JWT from another issuer': [mint({ iss: 'https://evil.example.com' }), /issuer/],
    'an unsigned JWT (alg none)': [mint({}, { alg: 'none' }), /algorithm/],
    'HS256 keyed with the public key': [mint({}, { alg: 'HS256', key: rsa.publicKey.export({ type: 'spki', format: 'pem' }) }), /algorithm/],
    'a JWT signed by a key not in the JWKS': [mint({}, { key: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }), /signature/],
    'a JWT naming an unknown kid': [mint({}, { kid: 'gone' }), /kid/],
    'a pgsafe_ token that is not in the file': ['pgsafe_not-a-token', /unknown/],
  };
  for (const [what, [token, reason]] of Object.entries(refusals)) {
    test(`${what}: 401 invalid_token`, async () => {
      const answer = await listWith(token);
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('www-authenticate'),
        `Bearer realm="pgsafe", resource_metadata="${METADATA}", error="invalid_token"`);
      assert.equal(answer.body.error.code, -32001);
      assert.match(answer.body.error.message, reason);
    });
  }
});

describe('oauth configuration', () => {
  test('the three OAuth options go together', async () => {
    const lone = await startHttp({ args: ['--oauth-issuer', ISSUER], waitReady: false });
    assert.equal(lone.url, null);
    assert.deepEqual(await lone.exited, { code: 2, signal: null });
    assert.match(lone.stderr(), /--oauth-issuer, --oauth-jwks and --oauth-audience together/);
  });

  test('a JWKS file with no usable key stops the start', async () => {
    const empty = path.join(TMP, 'oauth-empty-jwks.json');
    fs.writeFileSync(empty, '{"keys":[]}');
    const bad = await startHttp({ args: ['--oauth-issuer', ISSUER, '--oauth-jwks', empty, '--oauth-audience', AUDIENCE], waitReady: false });
    assert.equal(bad.url, null);
    assert.deepEqual(await bad.exited, { code: 2, signal: null });
    assert.match(bad.stderr(), /no usable key/);
  });
});
