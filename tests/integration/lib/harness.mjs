// Shared helpers of the integration tests: where things are, psql, an MCP session through
// the official SDK, a raw line-level session, and small assertions on tool results.
// Configuration comes from tests/integration/run through the environment:
//   PGSAFE_BIN       the pgsafe binary
//   PGSAFE_IT_ROOT   the repository root (for scripts/pg-throwaway)
//   PGSAFE_IT_TMP    a scratch directory that run removes afterwards
//   PGHOST PGPORT PGUSER PGDATABASE   the fixture cluster (PGUSER is its superuser)
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import nodeTest, { after as nodeAfter, before as nodeBefore } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite through tests/integration/run`);
  return value;
}

export const BIN = required('PGSAFE_BIN');
export const ROOT = required('PGSAFE_IT_ROOT');
export const TMP = required('PGSAFE_IT_TMP');
export const PG = {
  host: required('PGHOST'),
  port: required('PGPORT'),
  database: required('PGDATABASE'),
  superuser: process.env.PGUSER || 'postgres',
};
export const READER = 'pgsafe_reader';
export const READER_PASSWORD = 'Rd-pw-8f3k2-never-shown';
export const WRITER = 'pgsafe_writer';
export const WRITER_PASSWORD = 'Wr-pw-5j9q1-never-shown';
export const DEFAULT_MAX_ROWS = 1000;
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
export const TOOL_NAMES = ['query', 'check_sql', 'explain', 'list_schemas', 'list_tables', 'describe_table'];

// node:test with a timeout on every test and hook (60 s), so nothing hangs the run. (The
// runner's --test-timeout would also bound each whole file.)
export const TEST_TIMEOUT_MS = 60_000;
export function test(name, fn) {
  return nodeTest(name, { timeout: TEST_TIMEOUT_MS }, fn);
}
export function before(fn) {
  return nodeBefore(fn, { timeout: TEST_TIMEOUT_MS });
}
export function after(fn) {
  return nodeAfter(fn, { timeout: TEST_TIMEOUT_MS });
}
export { describe } from 'node:test';

// Every process a test starts, so none outlives the run even when a test fails.
const children = new Set();
process.on('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

// Passed through to every spawned pgsafe, for the sanitizer run (scripts/test).
const SANITIZER_VARIABLES = ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'];

/** The environment a spawned pgsafe gets: nothing from ours but PATH, HOME and the sanitizer options, plus extra. */
export function baseEnv(extra = {}) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME || '/root', LANG: 'C.UTF-8' };
  for (const name of SANITIZER_VARIABLES) if (process.env[name]) env[name] = process.env[name];
  return { ...env, ...extra };
}

/** libpq variables for a role on a cluster (the fixture's by default). */
export function pgEnv(user = READER, pg = PG) {
  return { PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: user, PGDATABASE: pg.database };
}

/** A libpq URL with a password, over the cluster's socket directory. */
export function databaseUrl(user, password, pg = PG, database = pg.database) {
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@/${database}` +
    `?host=${pg.host}&port=${pg.port}`;
}

/** Runs SQL through psql as the superuser; returns the unaligned, tuples-only output. */
export function psql(sql, { user = PG.superuser, pg = PG, database = pg.database } = {}) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-F', '\t', '-c', sql], {
    env: { ...process.env, PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: user, PGDATABASE: database },
    encoding: 'utf8',
    timeout: 30_000,
  }).replace(/\n$/, '');
}

/** One value from psql. */
export function psqlValue(sql, options) {
  return psql(sql, options).split('\n')[0];
}

/**
 * A query the guard allows that runs for about a minute unless cancelled: a count over a
 * cross join of two series (10^5 x marker rows; no temporary files, unlike one huge series).
 * The marker (a number from 10001 to 10999) finds it in pg_stat_activity. The bounds are
 * scalar subqueries, so the planner cannot size the series (it assumes 1000 rows each) and
 * the cost guard lets it run; the first reads its bound from a table, so the guard cannot
 * count it from constants either (it refuses (SELECT 100000) crossed with another series):
 * these tests need a statement that runs.
 */
export function slowSql(marker) {
  return `SELECT count(*) FROM generate_series(1, (SELECT 100000 + max(z) FROM (VALUES (0)) v(z))) a, generate_series(1, (SELECT ${marker})) b`;
}

/** How many active statements other than psql's own contain the marker. */
export function activeStatements(marker, pg = PG) {
  return Number(psqlValue(
    `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() ` +
      `AND query LIKE '%${marker}%'`,
    { pg, database: 'postgres' },
  ));
}

/** Polls fn (sync or async) until it returns a truthy value; returns it, or throws after timeoutMs. */
export async function pollUntil(fn, { timeoutMs = 20_000, intervalMs = 200, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(intervalMs);
  }
}

/** Rejects after ms with a message, so an await can never hang a test. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A problem with one message read from the server's stdout, or null if it is valid JSON-RPC 2.0. */
export function jsonRpcProblem(message) {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return 'not an object';
  if (message.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  const idOk = (id) => typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
  if ('method' in message) {
    if (typeof message.method !== 'string') return 'method is not a string';
    if ('id' in message && !idOk(message.id)) return 'bad request id';
    if ('result' in message || 'error' in message) return 'a request or notification with result or error';
    return null;
  }
  if (!('id' in message) || !(message.id === null || idOk(message.id))) return 'response without a valid id';
  if (('result' in message) === ('error' in message)) return 'response needs exactly one of result and error';
  if ('result' in message) {
    if (message.result === null || typeof message.result !== 'object' || Array.isArray(message.result)) return 'result is not an object';
    if (message.id === null) return 'a result with id null';
  } else {
    const error = message.error;
    if (error === null || typeof error !== 'object') return 'error is not an object';
    if (!Number.isInteger(error.code)) return 'error.code is not an integer';
    if (typeof error.message !== 'string') return 'error.message is not a string';
  }
  return null;
}

/**
 * An MCP session through the official SDK (Client + StdioClientTransport).
 *   user            role for PG* variables (ignored when env has DATABASE_URL or args --dsn)
 *   args            extra `pgsafe serve` arguments
 *   env             extra environment
 *   pgenv           false: no PG* variables at all
 *   protocolVersion asks for this version in initialize instead of the SDK's newest
 *   listTools       list tools after connecting, so the SDK checks structuredContent
 *                   against each tool's outputSchema (default true)
 * Returns { client, transport, inbound, outbound, errors, logs, stderr(), pid, close() }.
 */
export async function connect({ user = READER, args = [], env = {}, pg = PG, pgenv = true, protocolVersion, listTools = true } = {}) {
  const transport = new StdioClientTransport({
    command: BIN,
    args: ['serve', ...args],
    env: baseEnv({ ...(pgenv ? pgEnv(user, pg) : {}), ...env }),
    stderr: 'pipe',
  });
  const session = {
    transport,
    inbound: [],
    outbound: [],
    errors: [],
    logs: [],
    stderrText: '',
    stderr() {
      return this.stderrText;
    },
  };
  transport.stderr.on('data', (chunk) => {
    session.stderrText += chunk.toString('utf8');
  });
  // Taps: Protocol.connect chains to handlers already set on the transport.
  transport.onmessage = (message) => {
    session.inbound.push(message);
    const problem = jsonRpcProblem(message);
    if (problem) session.errors.push(new Error(`invalid message (${problem}): ${JSON.stringify(message)}`));
  };
  transport.onerror = (error) => session.errors.push(error);
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    if (protocolVersion && message.method === 'initialize') {
      message = { ...message, params: { ...message.params, protocolVersion } };
    }
    session.outbound.push(message);
    return send(message, options);
  };
  const client = new Client({ name: 'pgsafe-integration', version: '1.0.0' }, { capabilities: {} });
  client.onerror = () => {}; // transport errors are recorded by the tap above
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    session.logs.push(notification.params);
  });
  session.client = client;
  try {
    await client.connect(transport, { timeout: 20_000 });
    session.pid = transport.pid;
    const child = transport._process;
    if (child) children.add(child);
    session.negotiated = session.inbound.find((m) => m.id === 0 && m.result)?.result?.protocolVersion;
    if (listTools) await client.listTools(undefined, { timeout: 20_000 });
  } catch (error) {
    await client.close().catch(() => {});
    error.message += `\n--- pgsafe stderr:\n${session.stderrText}`;
    throw error;
  }
  session.close = async () => {
    await client.close().catch(() => {});
  };
  return session;
}

/** Asserts the session saw only valid JSON-RPC on stdout and no stray responses. */
export function assertCleanSession(session) {
  assert.deepEqual(session.errors.map((e) => e.message), [], `stdout problems; stderr:\n${session.stderr()}`);
}

/** Calls a tool with a generous timeout. */
export function callTool(session, name, args = {}, options = {}) {
  return session.client.callTool({ name, arguments: args }, undefined, { timeout: 50_000, ...options });
}

/** Checks a successful tool result's shape and returns its structuredContent. */
export function okResult(result, what = '') {
  assert.equal(typeof result, 'object');
  const text = result.content?.map((c) => c.text).join('\n');
  assert.notEqual(result.isError, true, `${what}: unexpected isError result: ${text}`);
  assert.ok(Array.isArray(result.content) && result.content.length === 1, `${what}: one content item expected, got ${JSON.stringify(result.content)}`);
  assert.equal(result.content[0].type, 'text');
  assert.equal(typeof result.content[0].text, 'string');
  assert.ok(result.structuredContent && typeof result.structuredContent === 'object', `${what}: structuredContent missing`);
  return result.structuredContent;
}

/** Checks an isError tool result's shape (one text item, no structuredContent) and returns the text. */
export function errorResult(result, what = '') {
  assert.equal(result.isError, true, `${what}: isError expected, got ${JSON.stringify(result).slice(0, 600)}`);
  assert.ok(Array.isArray(result.content) && result.content.length === 1, `${what}: one content item expected`);
  assert.equal(result.content[0].type, 'text');
  assert.ok(result.content[0].text.trim().length > 0, `${what}: empty error text`);
  assert.equal(result.structuredContent, undefined, `${what}: an isError result carries no structuredContent`);
  return result.content[0].text;
}

/** Text of a (successful) tool result. */
export function resultText(result) {
  return result.content[0].text;
}

/** Runs a query tool call and returns its structuredContent (asserting success). */
export async function query(session, sql, extra = {}) {
  return okResult(await callTool(session, 'query', { sql, ...extra }), sql);
}

/** The offline guard's verdict (pgsafe check --json). */
export function offlineVerdict(sql, args = []) {
  const run = spawnSync(BIN, ['check', '--json', ...args, sql], { encoding: 'utf8', timeout: 10_000 });
  return JSON.parse(run.stdout);
}

/** The lines a guard rejection's text must contain, built from a verdict. */
export function rejectionLines(verdict) {
  const lines = [`rejected (${verdict.reason}): ${verdict.message}`];
  if (verdict.detail) lines.push(`detail: ${verdict.detail}`);
  if (verdict.hint) lines.push(`hint: ${verdict.hint}`);
  if (verdict.position) lines.push(`position: ${verdict.position}`);
  return lines;
}

/**
 * A raw line-level session: pgsafe serve as a child process, with every stdout line parsed
 * and checked. send() writes a JSON value (or a string as is) plus a newline.
 */
export class RawSession {
  constructor({ user = READER, args = [], env = {}, pg = PG, pgenv = true } = {}) {
    this.child = spawn(BIN, ['serve', ...args], {
      env: baseEnv({ ...(pgenv ? pgEnv(user, pg) : {}), ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(this.child);
    this.messages = [];
    this.invalid = [];
    this.stderrText = '';
    this.stdoutBuffer = Buffer.alloc(0);
    this.nextId = 1;
    this.listeners = new Set();
    this.exit = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        children.delete(this.child);
        resolve({ code, signal });
      });
    });
    this.child.stdin.on('error', () => {}); // EPIPE after the server exits is a test outcome, not a crash
    this.child.stderr.on('data', (chunk) => {
      this.stderrText += chunk.toString('utf8');
    });
    this.child.stdout.on('data', (chunk) => this.onStdout(chunk));
  }

  onStdout(chunk) {
    this.stdoutBuffer = Buffer.concat([this.stdoutBuffer, chunk]);
    for (;;) {
      const index = this.stdoutBuffer.indexOf(0x0a);
      if (index < 0) break;
      const line = this.stdoutBuffer.subarray(0, index).toString('utf8');
      this.stdoutBuffer = this.stdoutBuffer.subarray(index + 1);
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        this.invalid.push(`not JSON: ${line.slice(0, 300)}`);
        continue;
      }
      const problem = jsonRpcProblem(message);
      if (problem) this.invalid.push(`${problem}: ${line.slice(0, 300)}`);
      this.messages.push(message);
      for (const listener of this.listeners) listener();
    }
  }

  stderr() {
    return this.stderrText;
  }

  send(value) {
    const line = typeof value === 'string' ? value : JSON.stringify(value);
    this.child.stdin.write(line + '\n');
  }

  write(raw) {
    this.child.stdin.write(raw);
  }

  /** Waits for the first message at index >= since that satisfies predicate. */
  waitFor(predicate, { since = 0, timeoutMs = 15_000, what = 'a message' } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = since; i < this.messages.length; i++) {
          if (predicate(this.messages[i])) {
            cleanup();
            resolve(this.messages[i]);
            return true;
          }
        }
        return false;
      };
      const onExit = () => {
        if (!check()) {
          cleanup();
          reject(new Error(`pgsafe exited while waiting for ${what}; stderr:\n${this.stderrText}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr:\n${this.stderrText}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
        this.child.off('exit', onExit);
      };
      if (check()) return;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        onExit();
        return;
      }
      this.listeners.add(check);
      this.child.once('exit', onExit);
    });
  }

  /** Sends a request and waits for the response with its id. */
  request(method, params, { id, timeoutMs = 15_000 } = {}) {
    const requestId = id ?? this.nextId++;
    const message = { jsonrpc: '2.0', id: requestId, method };
    if (params !== undefined) message.params = params;
    this.send(message);
    return this.waitFor((m) => m.id === requestId && !('method' in m), { timeoutMs, what: `the response to ${method} (id ${JSON.stringify(requestId)})` });
  }

  notify(method, params) {
    const message = { jsonrpc: '2.0', method };
    if (params !== undefined) message.params = params;
    this.send(message);
  }

  /** Sends a line and waits for the next response with id null (for input that has no id). */
  async sendExpectingNullIdError(line) {
    const since = this.messages.length;
    this.send(line);
    return this.waitFor((m) => m.id === null && 'error' in m, { since, what: `an error with id null for ${String(line).slice(0, 80)}` });
  }

  async initialize(protocolVersion = '2025-11-25') {
    const response = await this.request('initialize', {
      protocolVersion,
      capabilities: {},
      clientInfo: { name: 'pgsafe-integration-raw', version: '1.0.0' },
    });
    assert.ok(response.result, `initialize failed: ${JSON.stringify(response)}; stderr:\n${this.stderrText}`);
    this.notify('notifications/initialized');
    return response.result;
  }

  /** Sends a ping and asserts the answer is an empty result. */
  async assertPing(what = 'ping') {
    // An id of its own: a numeric one can collide with an id the test itself sent (the
    // protocol fuzzer sends numeric ids), whose late answer would be taken for the ping's.
    const response = await this.request('ping', undefined, { id: `assert-ping-${this.nextId++}` });
    assert.deepEqual(response.result, {}, `${what}: ${JSON.stringify(response)}`);
  }

  /** Every stdout line so far was a valid JSON-RPC 2.0 message. */
  assertCleanStdout() {
    assert.deepEqual(this.invalid, [], `stdout carried something other than JSON-RPC; stderr:\n${this.stderrText}`);
  }

  /** Waits for the process to exit (killing it after timeoutMs) and returns {code, signal}. */
  async waitExit(timeoutMs = 10_000) {
    try {
      return await withTimeout(this.exit, timeoutMs, 'pgsafe to exit');
    } catch (error) {
      this.child.kill('SIGKILL');
      throw error;
    }
  }

  async close() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exit;
    this.child.stdin.end();
    try {
      return await withTimeout(this.exit, 5_000, 'pgsafe to exit on EOF');
    } catch {
      this.child.kill('SIGKILL');
      return this.exit;
    }
  }
}

/** The tool result of a raw tools/call response, or throws if it was a JSON-RPC error. */
export function rawToolResult(response) {
  assert.ok(response.result, `a tool result expected, got ${JSON.stringify(response)}`);
  return response.result;
}

/** A scratch directory under the run's tmp dir. */
export function scratchDir(name) {
  const dir = fs.mkdtempSync(path.join(TMP, `${name}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** scripts/pg-throwaway COMMAND DIR; for start, returns {host, port}. */
export function pgThrowaway(command, dir) {
  const out = execFileSync(path.join(ROOT, 'scripts/pg-throwaway'), [command, dir], { encoding: 'utf8', timeout: 90_000 });
  if (command !== 'start') return null;
  const host = /^PGHOST=(.*)$/m.exec(out)?.[1];
  const port = /^PGPORT=(.*)$/m.exec(out)?.[1];
  assert.ok(host && port, `pg-throwaway start printed no PGHOST/PGPORT: ${out}`);
  return { host, port };
}
