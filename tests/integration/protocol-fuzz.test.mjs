// A protocol fuzzer for pgsafe serve: random and mutated JSON-RPC lines (truncated JSON, wrong
// types, huge numbers and ids, deep nesting, invalid UTF-8, lone surrogates, NUL, CR and tabs
// inside strings, oversized lines, batches, unknown methods, notifications, duplicate ids,
// client responses, cancellations of running, unknown and finished requests beside slow
// queries), in two sessions: the handshake era (initialize, then requests) and 2026-07-28 (no
// initialize; each request carries its version and client in params._meta, which the
// mutations corrupt, remove, retype and duplicate; legacy requests and handshakes mixed in).
// The oracle: every stdout line is strict UTF-8 JSON and a valid JSON-RPC 2.0 response or
// notification; every request with a tracked id gets exactly one response (at most one once
// cancelled), of the kind its request calls for where that is fixed (answerProblem); ping
// answers after every batch and at the end; the process never exits early, exits 0 on EOF,
// and prints no sanitizer report.
//   PGSAFE_FUZZ_SEED     replay a run, both sessions (the seed is printed)
//   PGSAFE_FUZZ_FRAMES   lines per session (default 3000)
import assert from 'node:assert/strict';
import { test as nodeTest } from 'node:test';

import { RawSession, describe, jsonRpcProblem, pollUntil, slowSql, test } from './lib/harness.mjs';

const SEED = process.env.PGSAFE_FUZZ_SEED ? Number(process.env.PGSAFE_FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const FRAMES = Number(process.env.PGSAFE_FUZZ_FRAMES || 3000);
const BATCH = 40;
const MAX_MESSAGE_BYTES = 4096;
const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;

/** mulberry32: small, seedable, good enough to pick mutations. */
function prng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

/** Checks every stdout line strictly: UTF-8 without replacement, JSON, JSON-RPC shape, no lone surrogates. */
class StrictStdout {
  constructor(stream) {
    this.buffer = Buffer.alloc(0);
    this.problems = [];
    this.lines = 0;
    this.decoder = new TextDecoder('utf-8', { fatal: true });
    stream.on('data', (chunk) => this.feed(chunk));
  }

  feed(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    let index;
    while ((index = this.buffer.indexOf(0x0a)) >= 0) {
      this.check(this.buffer.subarray(0, index));
      this.buffer = this.buffer.subarray(index + 1);
    }
  }

  check(bytes) {
    this.lines++;
    const shown = () => bytes.toString('utf8').slice(0, 300);
    let text;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      this.problems.push(`not UTF-8: ${shown()}`);
      return;
    }
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      this.problems.push(`not JSON: ${shown()}`);
      return;
    }
    const problem = jsonRpcProblem(message);
    if (problem) this.problems.push(`${problem}: ${shown()}`);
    if ('method' in message && 'id' in message) this.problems.push(`a request from the server: ${shown()}`);
    const wellFormed = (value) => {
      if (typeof value === 'string') return value.isWellFormed();
      if (value && typeof value === 'object') return Object.entries(value).every(([k, v]) => k.isWellFormed() && wellFormed(v));
      return true;
    };
    if (!wellFormed(message)) this.problems.push(`a lone surrogate: ${shown()}`);
  }
}

// A string placeholder replaced by raw JSON text (numbers JSON.stringify cannot write).
const RAW = (text) => `\u0001RAW${text}\u0001`;
const withRaw = (value) => JSON.stringify(value).replace(/"\\u0001RAW(.*?)\\u0001"/g, (_, text) => JSON.parse(`"${text}"`));

const WEIRD_VALUES = [
  null, true, false, 0, -1, 1.5, '', 'x', [], {}, [[[]]], { a: { b: {} } }, 'x'.repeat(300),
  RAW('1e309'), RAW('-1e309'), RAW('18446744073709551616'), RAW('9223372036854775808'), RAW('-0'), RAW('1.5e300'),
  RAW('0.0000000000000000000000001'), RAW('123456789012345678901234567890'), '\u0000', '\ud83d\ude00', '\u2028\u2029',
];
const NASTY_BYTES = [
  '\0', '\r', '\t', '\x01', '\x1f', '"', '\\', '{', '}', '[', ']', ',', ':', "'", 'NaN', 'Infinity', '-', '1.', '.5',
  Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from([0xff]),
  Buffer.from([0xe2, 0x82]), Buffer.from([0x80]), '\\ud800', '\\udc00', '\\u0000', '\\x41', '\r\n',
];
const CHECKED_SQL = [
  'SELECT 1', 'SELECT n FROM numbers WHERE n < 5', 'DELETE FROM numbers', 'SELECT pg_sleep(10)', 'SELECT * FROM pg_authid',
  'SELECT 1; SELECT 2', 'COPY numbers TO STDOUT', "SELECT 'a' || 'b'", 'WITH x AS (SELECT 1) SELECT * FROM x', 'SELEKT',
];

// 2026-07-28: each request carries its version and client in params._meta; no handshake.
const MODERN = '2026-07-28';
const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
const META_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
const NOT_INITIALIZED = -32002;
const TOO_MANY_REQUESTS = -32003; // --max-in-flight: may answer any request but ping
const UNSUPPORTED_VERSION = -32022;
const INVALID_PARAMS = -32602;
const METHOD_NOT_FOUND = -32601;
// Versions a modern request may not name: legacy ones, near misses, a NUL after the right one.
const WRONG_VERSIONS = [
  '2025-11-25', '2025-06-18', '2024-11-05', '2026-07-29', '2026-7-28', '', ' 2026-07-28', '2026-07-28 ', '2026-07-28\u0000',
  '2026-07-28\u0000x', '\u00002026-07-28', 'x'.repeat(300), null, 0, 20260728, true, [], [MODERN], {}, { version: MODERN },
  RAW('1e309'), RAW('18446744073709551616'),
];

function generator(random, era) {
  let serial = 0;
  const trackedId = () => `v-${++serial}`;
  const untrackedId = () => (random.chance(0.5) ? random.int(1_000_000) : `m-${random.int(1_000_000)}`);
  const request = (id, method, params) => ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
  const toolCall = (id, name, args) => request(id, 'tools/call', { name, arguments: args });

  /** A valid legacy request with the given id. */
  function validRequest(id) {
    switch (random.int(10)) {
      case 0: return request(id, 'ping');
      case 1: return request(id, 'tools/list', {});
      case 2: return toolCall(id, 'query', { sql: `SELECT n, label FROM numbers WHERE n <= ${random.int(20)} ORDER BY n` });
      case 3: return toolCall(id, 'check_sql', { sql: random.pick(CHECKED_SQL) });
      case 4: return toolCall(id, 'query', { sql: random.pick(['SELECT 1/0', 'SELECT pg_sleep(1)', 'SELECT * FROM no_such_table', 'DROP TABLE numbers']) });
      case 5: return request(id, 'resources/list', {});
      case 6: return request(id, 'prompts/get', { name: 'analyst', arguments: { topic: 'orders' } });
      case 7: return toolCall(id, 'query', { sql: 'SELECT 1 AS one', limit: random.pick([1, 5, 0, -1, 1.5, 'x', null]) });
      case 8: return request(id, random.pick(['no/such/method', 'tools/destroy', '', 'rpc.discover']), {});
      default: return toolCall(id, random.pick(['query', 'explain', 'describe_table', 'list_tables', 'nope']), { sql: 'SELECT 1', table: 'numbers' });
    }
  }

  /** The _meta of a valid modern request: version, capabilities, sometimes client info, a log level, extras. */
  function modernMeta() {
    const meta = { [META_VERSION]: MODERN, [META_CAPABILITIES]: random.chance(0.8) ? {} : { sampling: {}, roots: { listChanged: true } } };
    if (random.chance(0.7)) meta[META_CLIENT_INFO] = { name: 'pgsafe-fuzz', version: '1.0.0' };
    if (random.chance(0.15)) meta[META_LOG_LEVEL] = random.pick(LOG_LEVELS);
    if (random.chance(0.1)) meta[random.pick(['progressToken', 'io.modelcontextprotocol/related', 'x/y'])] = random.pick([1, 'p', {}]);
    return meta;
  }
  const modern = (id, method, params = {}) => request(id, method, { ...params, _meta: modernMeta() });
  const modernCall = (id, name, args) => modern(id, 'tools/call', { name, arguments: args });

  /** A valid modern request with the given id; methods gone in 2026-07-28 are -32601. */
  function validModern(id) {
    switch (random.int(13)) {
      case 0: return modern(id, 'tools/list');
      case 1: return modernCall(id, 'query', { sql: `SELECT n, label FROM numbers WHERE n <= ${random.int(20)} ORDER BY n` });
      case 2: return modernCall(id, 'check_sql', { sql: random.pick(CHECKED_SQL) });
      case 3: return modernCall(id, 'query', { sql: random.pick(['SELECT 1/0', 'SELECT pg_sleep(1)', 'SELECT * FROM no_such_table', 'DROP TABLE numbers']) });
      case 4: return modern(id, 'resources/list', random.chance(0.8) ? {} : { cursor: random.pick(['', 'x', '100', '-1', '99999999999']) });
      case 5: return modern(id, 'resources/read', { uri: random.pick(['postgres://schema', 'postgres://table/public/numbers', 'postgres://table/public/nope', 'postgres://table/', 'file:///etc/passwd', 'postgres://']) });
      case 6: return modern(id, random.pick(['prompts/list', 'resources/templates/list']));
      case 7: return modern(id, 'prompts/get', random.pick([{ name: 'analyst', arguments: { topic: 'orders' } }, { name: 'analyst' }, { name: 'explore_table', arguments: {} }, { name: 'nope' }]));
      case 8: return modern(id, 'server/discover');
      case 9: return modern(id, random.pick(['ping', 'initialize', 'logging/setLevel', 'no/such/method']), random.chance(0.5) ? {} : { level: 'debug' });
      case 10: return modernCall(id, 'query', { sql: 'SELECT 1 AS one', limit: random.pick([1, 5, 0, -1, 1.5, 'x', null]) });
      case 11: return modernCall(id, random.pick(['explain', 'describe_table', 'list_tables', 'list_schemas', 'nope']), { sql: 'SELECT 1', table: 'numbers' });
      default: return modernCall(id, 'query', { sql: `SELECT ${random.int(1000)} AS n`, limit: 1 });
    }
  }
  const validOfEra = (id) => (era === 'modern' ? validModern(id) : validRequest(id));

  function mutateBytes(text) {
    let bytes = Buffer.from(text, 'utf8');
    const rounds = 1 + random.int(3);
    for (let i = 0; i < rounds; i++) {
      const at = random.int(bytes.length + 1);
      switch (random.int(5)) {
        case 0: bytes = bytes.subarray(0, at); break; // truncated
        case 1: if (bytes.length) bytes[Math.min(at, bytes.length - 1)] = random.int(256); break;
        case 2: {
          const insert = random.pick(NASTY_BYTES);
          bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(insert), bytes.subarray(at)]);
          break;
        }
        case 3: bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + random.int(8)))]); break;
        default: bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(random.int(bytes.length + 1))]); break;
      }
    }
    // A newline would split the frame into lines we did not mean; the server sees a line each.
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) bytes[i] = 0x20;
    return bytes;
  }

  /** A valid request with one field set to a value of the wrong type. */
  function wrongType() {
    const message = validOfEra(untrackedId());
    const paths = [['jsonrpc'], ['id'], ['method'], ['params']];
    if (message.params) paths.push(['params', 'name'], ['params', 'arguments']);
    if (message.params?.arguments) paths.push(['params', 'arguments', 'sql'], ['params', 'arguments', 'limit']);
    if (message.params?._meta) paths.push(['params', '_meta'], ...Object.keys(message.params._meta).map((key) => ['params', '_meta', key]));
    const path = random.pick(paths);
    let target = message;
    for (const key of path.slice(0, -1)) target = target[key];
    target[path.at(-1)] = random.pick(WEIRD_VALUES);
    return withRaw(message);
  }

  /**
   * A valid modern request with its _meta corrupted, under a tracked id: {bytes, track}. Where
   * the outcome is fixed (dispatch checks the version, then the capabilities, then the log
   * level), track.codes holds the error codes the answer may carry.
   */
  function metaMutation() {
    const id = trackedId();
    const message = validModern(id);
    const meta = message.params._meta;
    let codes;
    switch (random.int(9)) {
      case 0: meta[META_VERSION] = random.pick(WRONG_VERSIONS); codes = [UNSUPPORTED_VERSION]; break;
      case 1: delete meta[META_CAPABILITIES]; codes = [INVALID_PARAMS]; break;
      case 2: meta[META_CAPABILITIES] = random.pick([null, [], 'x', 1, true, [{}]]); codes = [INVALID_PARAMS]; break;
      case 3: meta[META_LOG_LEVEL] = random.pick(['verbose', '', 'trace', 'debug ', 'DEBUG', 'debug\u0000', null, 0, 7, [], {}]); codes = [INVALID_PARAMS]; break;
      case 4: delete meta[META_VERSION]; break; // a legacy request now: not initialized, or served
      case 5: message.params._meta = random.pick(WEIRD_VALUES); break; // legacy too
      case 6: meta[META_CLIENT_INFO] = random.pick(WEIRD_VALUES); codes = 'modern'; break; // pgsafe reads no client info
      case 7: {
        // The version key twice: the text carries both, and the last one is the one read.
        const twice = withRaw(message).replace(`"${META_VERSION}":"${MODERN}"`, `"${META_VERSION}":"2025-06-18","${META_VERSION}":"${MODERN}"`);
        return { bytes: twice, track: { id, count: 1, codes: 'modern' } };
      }
      default: {
        const key = random.pick([META_VERSION, META_CAPABILITIES]);
        meta[key.toUpperCase()] = meta[key]; // keys are case-sensitive
        delete meta[key];
        codes = key === META_VERSION ? undefined : [INVALID_PARAMS];
      }
    }
    return { bytes: withRaw(message), track: { id, count: 1, codes } };
  }

  function deepNesting() {
    const depth = random.pick([65, 100, 1000, 100_000]);
    switch (random.int(4)) {
      case 0: return '['.repeat(depth);
      case 1: return '['.repeat(depth) + ']'.repeat(depth);
      case 2: return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      default: {
        const line = JSON.stringify(era === 'modern' ? modern(untrackedId(), 'server/discover') : request(untrackedId(), 'ping'));
        // Legacy: deep params; modern: a deep member beside the params that carry _meta.
        const key = era === 'modern' ? 'x' : 'params';
        return line.replace(/"method":"([^"]*)"/, `"method":"$1","${key}":${'['.repeat(depth)}${']'.repeat(depth)}`);
      }
    }
  }

  /** Modern-era frames over the shared ones: corrupted _meta, legacy requests and handshakes mixed in. */
  function nextModern(kind, state) {
    if (kind < 10) return metaMutation();
    if (kind < 16) {
      const id = trackedId();
      return { bytes: JSON.stringify(validRequest(id)), track: { id, count: 1, codes: 'legacy' } };
    }
    if (kind < 17) {
      // A legacy handshake in the middle of modern requests: answered, and the modern ones stay stateless.
      const id = trackedId();
      const version = random.pick(['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '1999-01-01', MODERN]);
      const lines = [JSON.stringify(request(id, 'initialize', { protocolVersion: version, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } }))];
      if (random.chance(0.7)) lines.push(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      return { bytes: lines.join('\n'), track: { id, count: 1 } };
    }
    return nextShared(kind, state);
  }

  /** The next frame: {bytes, track?: {id, count, codes?}, slow?: id, cancels?}. */
  function nextShared(kind, state) {
    if (kind < 25) {
      const id = trackedId();
      const count = random.chance(0.1) ? 2 : 1; // a duplicate id: both are answered
      return { bytes: Array(count).fill(JSON.stringify(validOfEra(id))).join('\n'), track: { id, count, codes: era } };
    }
    if (kind < 27) {
      const id = trackedId();
      const sql = slowSql(10_500 + random.int(499));
      return { bytes: JSON.stringify(era === 'modern' ? modernCall(id, 'query', { sql }) : toolCall(id, 'query', { sql })), track: { id, count: 1, codes: era }, slow: id };
    }
    if (kind < 33) {
      // Cancellations: of a running slow query, of an unknown id, of a finished one.
      const target = random.pick([random.pick(state.slow) ?? 'none', `never-${random.int(100)}`, random.pick(state.finished) ?? 42, random.pick(WEIRD_VALUES)]);
      const params = random.chance(0.9) ? { requestId: target, reason: 'fuzz' } : random.pick(WEIRD_VALUES);
      if (era === 'modern' && params?.requestId === target && random.chance(0.5)) params._meta = random.chance(0.8) ? modernMeta() : random.pick(WEIRD_VALUES);
      return { bytes: withRaw({ jsonrpc: '2.0', method: 'notifications/cancelled', params }), cancels: target };
    }
    if (kind < 58) return { bytes: mutateBytes(JSON.stringify(validOfEra(untrackedId()))) };
    if (kind < 70) return { bytes: wrongType() };
    if (kind < 73) return { bytes: deepNesting() };
    if (kind < 77) {
      // Over the cap: a long SQL string, or a plain long line.
      const size = MAX_MESSAGE_BYTES + 1 + random.int(3 * MAX_MESSAGE_BYTES);
      const call = era === 'modern' ? modernCall : toolCall;
      return { bytes: random.chance(0.5) ? JSON.stringify(call(untrackedId(), 'query', { sql: `SELECT '${'x'.repeat(size)}'` })) : 'y'.repeat(size) };
    }
    if (kind < 81) {
      const items = Array.from({ length: random.int(4) }, () => validOfEra(untrackedId()));
      return { bytes: JSON.stringify(items) };
    }
    if (kind < 85) {
      const params = era === 'modern' && random.chance(0.5) ? { _meta: modernMeta() } : {};
      return { bytes: JSON.stringify({ jsonrpc: '2.0', method: random.pick(['notifications/initialized', 'notifications/unknown', 'ping', 'tools/call', 'server/discover']), params }) };
    }
    if (kind < 88) return { bytes: JSON.stringify({ jsonrpc: '2.0', id: untrackedId(), ...(random.chance(0.5) ? { result: {} } : { error: { code: 1, message: 'x' } }) }) };
    if (kind < 92) {
      // Raw oddities in an otherwise fine request: NUL, CR, tab, invalid UTF-8, lone surrogates.
      const text = JSON.stringify((era === 'modern' ? modernCall : toolCall)(untrackedId(), 'query', { sql: 'SELECT @@ AS x' }));
      const at = text.indexOf('@@');
      return { bytes: Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(random.pick(NASTY_BYTES)), Buffer.from(text.slice(at + 2))]) };
    }
    if (kind < 96) return { bytes: random.pick(['', ' ', '\t', 'null', '1', '"s"', 'true', '[]', '{}', '\r', ' {} ', '\u00a0{}', '\ufeff{}']) };
    const bytes = Buffer.alloc(1 + random.int(200));
    for (let i = 0; i < bytes.length; i++) bytes[i] = random.int(256) === 0x0a ? 0x20 : random.int(256);
    return { bytes };
  }

  /**
   * The next frame. Tracked frames are requests whose ids the fuzzer counts; track.codes says
   * what their answers may be (an array of error codes, or the era whose rules apply); the rest
   * may or may not be answered. In the modern era a frame in six is modern-only.
   */
  function next(state) {
    if (era === 'modern' && random.chance(1 / 6)) return nextModern(random.int(17), state);
    return nextShared(random.int(100), state);
  }

  return { next };
}

/** What is wrong with the answer to a tracked request, given its frame's track.codes, or null. */
function answerProblem(message, codes) {
  if (codes === undefined) return null;
  const code = message.error?.code;
  if (Array.isArray(codes)) return codes.includes(code) || code === TOO_MANY_REQUESTS ? null : `error ${codes.join(' or ')} expected`;
  if (codes === 'modern') {
    if (code === NOT_INITIALIZED || code === UNSUPPORTED_VERSION) return 'a valid 2026-07-28 request treated as legacy or unsupported';
    if (message.result && message.result.resultType !== 'complete') return 'a 2026-07-28 result without resultType "complete"';
    return null;
  }
  if (message.result && 'resultType' in message.result) return 'a legacy result with a 2026-07-28 resultType';
  return null;
}

/**
 * One fuzzing session of FRAMES frames in an era: 'legacy' initializes first and sends
 * handshake-era requests; 'modern' never initializes, sends 2026-07-28 requests and mixes
 * legacy ones (and handshakes) into the same session.
 */
async function fuzz(era, seed) {
  const random = prng(seed);
  const frames = generator(random, era);
  const raw = new RawSession({ args: ['--max-message-bytes', String(MAX_MESSAGE_BYTES), '--statement-timeout', '1500', '--pool-size', '4'] });
  const strict = new StrictStdout(raw.child.stdout);
  const started = Date.now();
  try {
    if (era === 'legacy') await raw.initialize();
    const expected = new Map(); // tracked id -> {count, codes}
    const cancelled = new Set();
    const answered = new Map();
    const wrong = [];
    const state = { slow: [], finished: [] };
    let seen = 0;
    raw.listeners.add(() => {
      for (; seen < raw.messages.length; seen++) {
        const message = raw.messages[seen];
        if (!('id' in message) || 'method' in message) continue;
        if (typeof message.id === 'string' && message.id.startsWith('v-')) {
          answered.set(message.id, (answered.get(message.id) ?? 0) + 1);
          state.finished.push(message.id);
          state.slow = state.slow.filter((id) => id !== message.id);
          const problem = answerProblem(message, expected.get(message.id)?.codes);
          if (problem) wrong.push(`${problem}: sent ${expected.get(message.id).sent?.slice(0, 400)}; got ${JSON.stringify(message).slice(0, 300)}`);
        }
        if (message.id === 'sync') raw.synced = true;
      }
      return false;
    });
    let sent = 0;
    while (sent < FRAMES) {
      for (let i = 0; i < BATCH && sent < FRAMES; i++, sent++) {
        const frame = frames.next(state);
        if (frame.track) expected.set(frame.track.id, { ...frame.track, sent: Buffer.from(frame.bytes).toString('utf8') });
        if (frame.slow) state.slow.push(frame.slow);
        if (typeof frame.cancels === 'string' && expected.has(frame.cancels)) cancelled.add(frame.cancels);
        raw.write(Buffer.concat([Buffer.from(frame.bytes), Buffer.from('\n')]));
      }
      raw.synced = false;
      raw.send({ jsonrpc: '2.0', id: 'sync', method: 'ping' }); // legacy ping: answered before any initialize too
      await pollUntil(() => raw.synced, { timeoutMs: 30_000, intervalMs: 5, what: `ping after ${sent} frames; stderr:\n${raw.stderr().slice(-2000)}` });
      assert.equal(raw.child.exitCode, null, `pgsafe exited after ${sent} frames; stderr:\n${raw.stderr().slice(-2000)}`);
      for (const [id, count] of answered) assert.ok(count <= expected.get(id).count, `${id} answered ${count} times`);
      assert.deepEqual(strict.problems, [], `stdout after ${sent} frames`);
      assert.deepEqual(wrong, [], `answers after ${sent} frames`);
    }
    await pollUntil(() => [...expected].every(([id, track]) => cancelled.has(id) || answered.get(id) === track.count), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'every tracked request to be answered',
    });
    await raw.assertPing('ping at the end');
    if (era === 'modern') {
      const discover = await raw.request('server/discover', { _meta: { [META_VERSION]: MODERN, [META_CAPABILITIES]: {} } }, { id: 'discover-at-the-end' });
      assert.equal(discover.result?.resultType, 'complete', `server/discover at the end: ${JSON.stringify(discover).slice(0, 300)}`);
    }
    for (const [id, track] of expected) {
      const got = answered.get(id) ?? 0;
      if (cancelled.has(id)) assert.ok(got <= track.count, `cancelled ${id} answered ${got} times`);
      else assert.equal(got, track.count, `${id} answered ${got} times, expected ${track.count}`);
    }
    assert.deepEqual(wrong, []);
    const seconds = (Date.now() - started) / 1000;
    console.log(`# protocol fuzzer (${era}): ${sent} frames, ${expected.size} tracked requests (${cancelled.size} cancelled), ` +
      `${strict.lines} stdout lines in ${seconds.toFixed(1)} s`);
    raw.child.stdin.end();
    const { code, signal } = await raw.waitExit(15_000);
    assert.equal(signal, null, raw.stderr().slice(-2000));
    assert.equal(code, 0, raw.stderr().slice(-2000));
    assert.deepEqual(strict.problems, []);
    assert.doesNotMatch(raw.stderr(), SANITIZER_REPORT);
  } finally {
    await raw.close();
  }
}

describe('protocol fuzzer', () => {
  // Longer than the harness's 60 s per test: a few thousand frames under the sanitizers.
  nodeTest(`random and mutated lines, handshake era (seed ${SEED}, ${FRAMES} frames; replay with PGSAFE_FUZZ_SEED=${SEED})`, { timeout: 170_000 }, async () => {
    console.log(`# protocol fuzzer: seed ${SEED} (PGSAFE_FUZZ_SEED=${SEED} replays), ${FRAMES} frames`);
    await fuzz('legacy', SEED);
  });

  nodeTest(`random and mutated lines, 2026-07-28 with legacy mixed in (seed ${SEED}, ${FRAMES} frames; replay with PGSAFE_FUZZ_SEED=${SEED})`, { timeout: 170_000 }, async () => {
    console.log(`# protocol fuzzer (2026-07-28): seed ${SEED} (PGSAFE_FUZZ_SEED=${SEED} replays), ${FRAMES} frames`);
    await fuzz('modern', (SEED ^ 0x20260728) >>> 0);
  });

  test(`what json-c would take but is not JSON gets -32700 with id null (seed ${SEED})`, async () => {
    const random = prng(SEED ^ 0x5eed);
    const raw = new RawSession();
    const strict = new StrictStdout(raw.child.stdout);
    try {
      await raw.initialize();
      const leniencies = [
        (m) => m.replace('"jsonrpc"', "'jsonrpc'"),
        (m) => m.replace('"2.0"', "'2.0'"),
        (m) => m.replace(/}$/, `,"x":${random.pick(['NaN', 'Infinity', '-Infinity', 'nan', '1.', '-', '1e', '.5', '+1', '01'])}}`),
        (m) => m.replace('"ping"', `"pi${random.pick(['\t', '\r', '\x01', '\x1f', '\b'])}ng"`),
        (m) => Buffer.concat([Buffer.from(m.slice(0, -1)), Buffer.from(',"x":"'),
          Buffer.from(random.pick([[0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xf0, 0x80, 0x80, 0xaf], [0xed, 0xa0, 0x80],
            [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80]])), Buffer.from('"}')]),
        (m) => m.replace(/}$/, `,"x":"${random.pick(['\\ud800', '\\udfff', '\\ud800x', '\\ude00\\ud83d', '\\ud800\\u0041'])}"}`),
      ];
      for (let i = 0; i < 150; i++) {
        const id = `s-${i}`;
        const line = random.pick(leniencies)(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }));
        const since = raw.messages.length;
        raw.write(Buffer.concat([Buffer.from(line), Buffer.from('\n')]));
        const sync = await raw.request('ping');
        const between = raw.messages.slice(since).filter((m) => m !== sync);
        assert.deepEqual(between.map((m) => [m.id, m.error?.code]), [[null, -32700]], `for ${Buffer.from(line).toString('utf8')}`);
      }
      await raw.assertPing();
      assert.deepEqual(strict.problems, []);
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });
});
