// TLS in front of `pgsafe serve --http`: pgsafe has none of its own, so nginx terminates it
// with docs/examples/tls/nginx.conf (filled in for ports and paths only) and a self-signed
// certificate made by `openssl req` here. The v2 client, trusting that certificate through
// NODE_EXTRA_CA_CERTS, works over https through the proxy with a bearer token; plain http to
// the proxy's port is refused; a client that does not trust the certificate cannot connect;
// and pgsafe's Origin check still holds through the proxy (nginx passes Origin and Host on).
// Skipped, saying so, when nginx or openssl is absent.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BIN, TMP, after, before, describe, modernHeaders, modernParams, pollUntil, startHttp, test } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const template = path.join(here, '../../../docs/examples/tls/nginx.conf');
const findProgram = (name, fallbacks) =>
  [...(process.env.PATH || '').split(':').map((dir) => path.join(dir, name)), ...fallbacks].find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
const nginx = findProgram('nginx', ['/usr/sbin/nginx']);
const openssl = findProgram('openssl', ['/usr/bin/openssl']);
const missing = !nginx ? 'nginx' : !openssl ? 'openssl' : null;
if (missing) console.log(`tls: skipped: ${missing} is not installed (scripts/setup-deps installs it)`);

const dir = path.join(TMP, 'tls');
const certificate = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
const tokens = path.join(TMP, 'tls-tokens');
let server;
let proxy;
let port;
let token;

function freePort() {
  return new Promise((resolve, reject) => {
    const listener = net.createServer();
    listener.on('error', reject);
    listener.listen(0, '127.0.0.1', () => {
      const { port: chosen } = listener.address();
      listener.close(() => resolve(chosen));
    });
  });
}

/** One request to the proxy: {status, text} or {error}; https trusts the test certificate. */
function request(scheme, pathname, { method = 'GET', headers = {}, body, trust = true } = {}) {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', port, path: pathname, method, headers: { Host: `localhost:${port}`, ...headers }, timeout: 15_000 };
    if (scheme === 'https') Object.assign(options, { servername: 'localhost', ca: trust ? fs.readFileSync(certificate) : undefined });
    const call = (scheme === 'https' ? https : http).request(options, (response) => {
      let text = '';
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, text }));
    });
    call.on('timeout', () => call.destroy(new Error('no answer within 15 s')));
    call.on('error', (error) => resolve({ error }));
    call.end(body);
  });
}

describe('TLS through nginx (docs/examples/tls/nginx.conf)', { skip: missing ? `${missing} is not installed` : false }, () => {
  before(async () => {
    fs.mkdirSync(path.join(dir, 'temp'), { recursive: true });
    execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', certificate, '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    token = execFileSync(BIN, ['token', 'add', 'tls-client', '--tokens', tokens], { encoding: 'utf8' }).trim();
    server = await startHttp({ args: ['--tokens', tokens] });
    assert.ok(server.url, `pgsafe did not start:\n${server.stderr()}`);
    port = await freePort();
    const values = { DIR: dir, LISTEN_PORT: port, PGSAFE_PORT: new URL(server.url).port, CERTIFICATE: certificate, KEY: key };
    const config = fs.readFileSync(template, 'utf8').replace(/@([A-Z_]+)@/g, (whole, name) => {
      assert.ok(name in values, `nginx.conf has an unknown placeholder ${whole}`);
      return String(values[name]);
    });
    fs.writeFileSync(path.join(dir, 'nginx.conf'), config);
    // As root, nginx's workers would run as nobody, who cannot write the test's directory.
    const global = `daemon off;${process.getuid?.() === 0 ? ' user root;' : ''}`;
    proxy = spawn(nginx, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', global], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proxy.stderr.on('data', (chunk) => { stderr += chunk; });
    proxy.exited = new Promise((resolve) => proxy.on('exit', (code, signal) => resolve({ code, signal })));
    await pollUntil(async () => {
      assert.equal(proxy.exitCode, null, `nginx stopped: ${stderr}`);
      return (await request('https', '/readyz')).status === 200;
    }, { what: 'nginx to answer https /readyz' });
  });
  after(async () => {
    if (proxy) {
      proxy.kill('SIGTERM');
      await proxy.exited;
    }
    if (server) assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.stderr());
  });

  test('the v2 client over https through the proxy, trusting the test certificate (NODE_EXTRA_CA_CERTS)', () => {
    const output = execFileSync(process.execPath, [path.join(here, 'tls-client.mjs')], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate, TLS_URL: `https://localhost:${port}/mcp`, TLS_TOKEN: token },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const result = JSON.parse(output);
    assert.equal(result.version, '2026-07-28');
    assert.ok(result.tools.includes('query'));
    assert.deepEqual(result.rows, [[4]]);
    assert.match(result.rejected, /^rejected/);
  });

  test('the same client without the certificate trusted cannot connect', () => {
    assert.throws(() => execFileSync(process.execPath, [path.join(here, 'tls-client.mjs')], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '', TLS_URL: `https://localhost:${port}/mcp`, TLS_TOKEN: token },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    }), (error) => /certificate/i.test(String(error.stderr)));
    return request('https', '/healthz', { trust: false }).then((answer) => assert.match(String(answer.error?.code), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/));
  });

  test('plain http to the proxy port is refused before pgsafe', async () => {
    const message = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() };
    const answer = await request('http', '/mcp', {
      method: 'POST',
      headers: { ...modernHeaders(message), 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(message),
    });
    assert.equal(answer.status, 400);
    assert.match(answer.text, /plain HTTP request was sent to HTTPS port/);
    assert.doesNotMatch(answer.text, /jsonrpc/);
  });

  test('Origin checks still apply through the proxy; the proxy\'s public name is served', async () => {
    const message = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() };
    const post = (headers) => request('https', '/mcp', {
      method: 'POST',
      headers: { ...modernHeaders(message), 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify(message),
    });
    const good = await post({ Origin: `https://localhost:${port}` });
    assert.equal(good.status, 200, good.text);
    assert.ok(JSON.parse(good.text).result.tools.length > 0);
    const foreign = await post({ Origin: 'https://evil.example' });
    assert.equal(foreign.status, 403, foreign.text);
    assert.equal(JSON.parse(foreign.text).error.code, -32003);
    const unlisted = await post({ Origin: `https://localhost.evil.example:${port}` });
    assert.equal(unlisted.status, 403, unlisted.text);
    // The name clients use for the proxy reaches pgsafe as Host (nginx passes it on): with
    // tokens it is served, as it must be for a proxy with a public name.
    const named = await post({ Host: `mcp.example.com:${port}`, Origin: `https://localhost:${port}` });
    assert.equal(named.status, 200, named.text);
  });
});
