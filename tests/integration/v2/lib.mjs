// Helpers of the v2 tests: the environment tests/integration/v2/run sets, the v2 client over
// stdio or HTTP pinned to 2026-07-28 (openSession: the same interface over either), a raw
// line-level stdio session, pgsafe serve --http started on a free port, and the 1.x harness's
// slow statement, pg_stat_activity probe and audit reader.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import nodeTest from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite through tests/integration/v2/run`);
  return value;
}

export const BIN = required('PGSAFE_BIN');
export const TMP = required('PGSAFE_IT_TMP');
export const PG = { host: required('PGHOST'), port: required('PGPORT'), database: required('PGDATABASE') };
export const READER = 'pgsafe_reader';
export const MODERN = '2026-07-28';
export const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';

export function test(name, fn) {
  return nodeTest(name, { timeout: 60_000 }, fn);
}
export { after, before, describe } from 'node:test';

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** The environment a pgsafe gets: PATH, HOME, the sanitizer options, the role's libpq variables. */
export function pgsafeEnv(user = READER, extra = {}) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME || '/root', LANG: 'C.UTF-8' };
  for (const name of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[name]) env[name] = process.env[name];
  return { ...env, PGHOST: PG.host, PGPORT: String(PG.port), PGUSER: user, PGDATABASE: PG.database, ...extra };
}

export function psql(sql) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { ...process.env, PGUSER: 'postgres' },
    encoding: 'utf8',
    timeout: 30_000,
  }).replace(/\n$/, '');
}

export async function pollUntil(fn, { timeoutMs = 20_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A v2 client connected to a transport, pinned to 2026-07-28; records what it sent. */
async function connectClient(transport, clientOptions = {}) {
  const sent = [];
  const received = [];
  // A tap: Protocol.connect chains to a handler already set on the transport.
  transport.onmessage = (message) => { received.push(message); };
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    sent.push(message);
    return send(message, options);
  };
  const client = new Client({ name: 'pgsafe-v2-test', version: '1.0.0' },
    { capabilities: {}, versionNegotiation: { mode: { pin: MODERN } }, ...clientOptions });
  await client.connect(transport, { timeout: 20_000 });
  return { client, transport, sent, received, close: () => client.close().catch(() => {}) };
}

/** The v2 client over stdio against `pgsafe serve args...`. */
export async function connectStdio({ user = READER, args = [], env = {} } = {}) {
  const transport = new StdioClientTransport({ command: BIN, args: ['serve', ...args], env: pgsafeEnv(user, env), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk) => { stderr += chunk; });
  const session = await connectClient(transport);
  session.stderr = () => stderr;
  return session;
}

/** The v2 client over Streamable HTTP; headers go on every request (e.g. Authorization). */
export async function connectHttp(url, headers = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  return connectClient(transport);
}

/** `pgsafe serve --http 127.0.0.1:0 args...`: resolves once it listens, with its URL. */
export async function startHttp({ user = READER, args = [], env = {}, host = '127.0.0.1', waitReady = true } = {}) {
  const child = spawn(BIN, ['serve', '--http', `${host}:0`, ...args], { env: pgsafeEnv(user, env), stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const listening = await Promise.race([
    pollUntil(() => /listening on (http:\/\/\S+)/.exec(stderr), { what: 'pgsafe to listen' }),
    exited.then(() => null),
  ]);
  const server = {
    child,
    exited,
    stderr: () => stderr,
    url: listening ? listening[1] : null,
    async stop() {
      child.kill('SIGTERM');
      const result = await exited;
      children.delete(child);
      return result;
    },
  };
  if (listening) server.base = server.url.replace(/\/mcp$/, '');
  if (listening && waitReady) {
    server.base = server.url.replace(/\/mcp$/, '');
    await pollUntil(async () => (await fetch(`${server.base}/readyz`)).status === 200, { what: '/readyz' });
  }
  return server;
}

/** One POST to /mcp with raw headers; returns {status, headers, body (parsed JSON or text)}. */
export async function post(url, message, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body: typeof message === 'string' ? message : JSON.stringify(message),
  });
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* SSE or empty */
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** Modern request params: _meta with the version and capabilities, plus extra _meta. */
export function modernParams(params = {}, meta = {}) {
  return { ...params, _meta: { [META_VERSION]: MODERN, [META_CAPABILITIES]: {}, ...meta } };
}

/** The headers a 2026-07-28 POST carries for a message. */
export function modernHeaders(message) {
  const headers = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': message.method };
  const name = message.params?.name ?? message.params?.uri;
  if (name !== undefined) headers['Mcp-Name'] = name;
  return headers;
}

/** A raw stdio session: lines in, parsed messages out. */
export class RawStdio {
  constructor({ user = READER, args = [], env = {} } = {}) {
    this.child = spawn(BIN, ['serve', ...args], { env: pgsafeEnv(user, env), stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(this.child);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.child.stdin.on('error', () => {}); // EPIPE after an exit is the test's outcome, not a crash
    this.messages = [];
    this.stderr = '';
    let buffer = '';
    this.child.stdout.setEncoding('utf8'); // a character split between chunks stays whole
    this.child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        this.messages.push(JSON.parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
      }
    });
    this.child.stderr.on('data', (chunk) => { this.stderr += chunk; });
  }
  send(message) {
    this.child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  }
  write(bytes) {
    this.child.stdin.write(bytes);
  }
  /** The first message from index since on that satisfies predicate. */
  waitFor(predicate, { since = 0, what = 'a message' } = {}) {
    return pollUntil(() => this.messages.slice(since).find(predicate), { what });
  }
  async request(message) {
    this.send(message);
    return pollUntil(() => this.messages.find((m) => m.id === message.id && !('method' in m)), { what: `answer to ${message.id}` });
  }
  async close() {
    this.child.stdin.end();
    const exit = await this.exited;
    children.delete(this.child);
    return exit;
  }
}

export function okResult(result, what = '') {
  const text = result.content?.map((c) => c.text).join('\n');
  assert.notEqual(result.isError, true, `${what}: unexpected isError result: ${text}`);
  assert.equal(result.content.length, 1);
  assert.equal(result.content[0].type, 'text');
  assert.ok(result.structuredContent && typeof result.structuredContent === 'object', `${what}: structuredContent missing`);
  return result.structuredContent;
}

export function errorResult(result, what = '') {
  assert.equal(result.isError, true, `${what}: isError expected, got ${JSON.stringify(result).slice(0, 400)}`);
  assert.equal(result.content.length, 1);
  assert.equal(result.structuredContent, undefined);
  return result.content[0].text;
}

/** A statement that runs for minutes with its sizes hidden from the cost guard (scalar subqueries). */
export function slowSql(marker) {
  return `SELECT count(*) FROM generate_series(1, (SELECT 100000)) a, generate_series(1, (SELECT ${marker})) b`;
}

/** How many active statements other than psql's own contain the marker. */
export function activeStatements(marker) {
  return Number(psql(`SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%${marker}%'`));
}

/** The audit log's lines, parsed ([] while the file does not exist). */
export function readAudit(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
}

/** A token for NAME in the token file FILE (created when missing). */
export function addToken(file, name) {
  return execFileSync(BIN, ['token', 'add', name, '--tokens', file], { encoding: 'utf8' }).trim();
}

/**
 * The v2 client against `pgsafe serve args...` over one transport, the same interface either
 * way: `stdio` spawns it; `http` starts it with --http on a free port and connects with the
 * headers given (e.g. Authorization). close() ends the client and, over HTTP, stops the server
 * and checks it exits 0.
 */
export async function openSession(kind, { user = READER, args = [], env = {}, headers = {} } = {}) {
  if (kind === 'stdio') {
    const session = await connectStdio({ user, args, env });
    return { ...session, kind, pid: session.transport.pid };
  }
  const server = await startHttp({ user, args, env });
  assert.ok(server.url, `pgsafe serve --http did not start:\n${server.stderr()}`);
  const session = await connectHttp(server.url, headers);
  return {
    ...session,
    kind,
    server,
    pid: server.child.pid,
    stderr: server.stderr,
    async close() {
      await session.close();
      assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.stderr());
    },
  };
}

export const TRANSPORTS = ['stdio', 'http'];

/** A tools/call through a session, with a generous timeout. */
export function callTool(session, name, args = {}, options = {}) {
  return session.client.callTool({ name, arguments: args }, { timeout: 50_000, ...options });
}
