// A protocol fuzzer for pgsafe serve: random and mutated JSON-RPC lines (truncated JSON, wrong
// types, huge numbers and ids, deep nesting, invalid UTF-8, lone surrogates, NUL, CR and tabs
// inside strings, oversized lines, batches, unknown methods, notifications, duplicate ids,
// client responses, cancellations of running, unknown and finished requests beside slow
// queries). The oracle: every stdout line is strict UTF-8 JSON and a valid JSON-RPC 2.0
// response or notification; every request with a tracked id gets exactly one response (at
// most one once cancelled); ping answers after every batch and at the end; the process never
// exits early, exits 0 on EOF, and prints no sanitizer report.
//   PGSAFE_FUZZ_SEED     replay a run (the seed is printed)
//   PGSAFE_FUZZ_FRAMES   lines per run (default 3000)
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

function generator(random) {
  let serial = 0;
  const trackedId = () => `v-${++serial}`;
  const untrackedId = () => (random.chance(0.5) ? random.int(1_000_000) : `m-${random.int(1_000_000)}`);
  const request = (id, method, params) => ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
  const toolCall = (id, name, args) => request(id, 'tools/call', { name, arguments: args });

  /** A valid request with the given id. */
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
    const message = validRequest(untrackedId());
    const paths = [['jsonrpc'], ['id'], ['method'], ['params']];
    if (message.params) paths.push(['params', 'name'], ['params', 'arguments']);
    if (message.params?.arguments) paths.push(['params', 'arguments', 'sql'], ['params', 'arguments', 'limit']);
    const path = random.pick(paths);
    let target = message;
    for (const key of path.slice(0, -1)) target = target[key];
    target[path.at(-1)] = random.pick(WEIRD_VALUES);
    return withRaw(message);
  }

  function deepNesting() {
    const depth = random.pick([65, 100, 1000, 100_000]);
    switch (random.int(4)) {
      case 0: return '['.repeat(depth);
      case 1: return '['.repeat(depth) + ']'.repeat(depth);
      case 2: return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      default: return JSON.stringify(request(untrackedId(), 'ping')).replace('"ping"', `"ping","params":${'['.repeat(depth)}${']'.repeat(depth)}`);
    }
  }

  /**
   * The next frame: {bytes, track?: {id, count}, slow?: id}. Tracked frames are valid
   * requests whose ids the fuzzer counts; the rest may or may not be answered.
   */
  function next(state) {
    const kind = random.int(100);
    if (kind < 25) {
      const id = trackedId();
      const count = random.chance(0.1) ? 2 : 1; // a duplicate id: both are answered
      return { bytes: Array(count).fill(JSON.stringify(validRequest(id))).join('\n'), track: { id, count } };
    }
    if (kind < 27) {
      const id = trackedId();
      return { bytes: JSON.stringify(toolCall(id, 'query', { sql: slowSql(10_500 + random.int(499)) })), track: { id, count: 1 }, slow: id };
    }
    if (kind < 33) {
      // Cancellations: of a running slow query, of an unknown id, of a finished one.
      const target = random.pick([random.pick(state.slow) ?? 'none', `never-${random.int(100)}`, random.pick(state.finished) ?? 42, random.pick(WEIRD_VALUES)]);
      const params = random.chance(0.9) ? { requestId: target, reason: 'fuzz' } : random.pick(WEIRD_VALUES);
      return { bytes: withRaw({ jsonrpc: '2.0', method: 'notifications/cancelled', params }), cancels: target };
    }
    if (kind < 58) return { bytes: mutateBytes(JSON.stringify(validRequest(untrackedId()))) };
    if (kind < 70) return { bytes: wrongType() };
    if (kind < 73) return { bytes: deepNesting() };
    if (kind < 77) {
      // Over the cap: a long SQL string, or a plain long line.
      const size = MAX_MESSAGE_BYTES + 1 + random.int(3 * MAX_MESSAGE_BYTES);
      return { bytes: random.chance(0.5) ? JSON.stringify(toolCall(untrackedId(), 'query', { sql: `SELECT '${'x'.repeat(size)}'` })) : 'y'.repeat(size) };
    }
    if (kind < 81) {
      const items = Array.from({ length: random.int(4) }, () => validRequest(untrackedId()));
      return { bytes: JSON.stringify(items) };
    }
    if (kind < 85) return { bytes: JSON.stringify({ jsonrpc: '2.0', method: random.pick(['notifications/initialized', 'notifications/unknown', 'ping', 'tools/call']), params: {} }) };
    if (kind < 88) return { bytes: JSON.stringify({ jsonrpc: '2.0', id: untrackedId(), ...(random.chance(0.5) ? { result: {} } : { error: { code: 1, message: 'x' } }) }) };
    if (kind < 92) {
      // Raw oddities in an otherwise fine request: NUL, CR, tab, invalid UTF-8, lone surrogates.
      const text = JSON.stringify(toolCall(untrackedId(), 'query', { sql: 'SELECT @@ AS x' }));
      const at = text.indexOf('@@');
      return { bytes: Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(random.pick(NASTY_BYTES)), Buffer.from(text.slice(at + 2))]) };
    }
    if (kind < 96) return { bytes: random.pick(['', ' ', '\t', 'null', '1', '"s"', 'true', '[]', '{}', '\r', ' {} ', '\u00a0{}', '\ufeff{}']) };
    const bytes = Buffer.alloc(1 + random.int(200));
    for (let i = 0; i < bytes.length; i++) bytes[i] = random.int(256) === 0x0a ? 0x20 : random.int(256);
    return { bytes };
  }

  return { next };
}

describe('protocol fuzzer', () => {
  // Longer than the harness's 60 s per test: a few thousand frames under the sanitizers.
  nodeTest(`random and mutated lines (seed ${SEED}, ${FRAMES} frames; replay with PGSAFE_FUZZ_SEED=${SEED})`, { timeout: 170_000 }, async () => {
    console.log(`# protocol fuzzer: seed ${SEED} (PGSAFE_FUZZ_SEED=${SEED} replays), ${FRAMES} frames`);
    const random = prng(SEED);
    const frames = generator(random);
    const raw = new RawSession({ args: ['--max-message-bytes', String(MAX_MESSAGE_BYTES), '--statement-timeout', '1500', '--pool-size', '4'] });
    const strict = new StrictStdout(raw.child.stdout);
    const started = Date.now();
    try {
      await raw.initialize();
      const expected = new Map(); // tracked id -> responses expected
      const cancelled = new Set();
      const answered = new Map();
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
          }
          if (message.id === 'sync') raw.synced = true;
        }
        return false;
      });
      let sent = 0;
      while (sent < FRAMES) {
        for (let i = 0; i < BATCH && sent < FRAMES; i++, sent++) {
          const frame = frames.next(state);
          if (frame.track) expected.set(frame.track.id, frame.track.count);
          if (frame.slow) state.slow.push(frame.slow);
          if (typeof frame.cancels === 'string' && expected.has(frame.cancels)) cancelled.add(frame.cancels);
          raw.write(Buffer.concat([Buffer.from(frame.bytes), Buffer.from('\n')]));
        }
        raw.synced = false;
        raw.send({ jsonrpc: '2.0', id: 'sync', method: 'ping' });
        await pollUntil(() => raw.synced, { timeoutMs: 30_000, intervalMs: 5, what: `ping after ${sent} frames; stderr:\n${raw.stderr().slice(-2000)}` });
        assert.equal(raw.child.exitCode, null, `pgsafe exited after ${sent} frames; stderr:\n${raw.stderr().slice(-2000)}`);
        for (const [id, count] of answered) assert.ok(count <= expected.get(id), `${id} answered ${count} times`);
        assert.deepEqual(strict.problems, [], `stdout after ${sent} frames`);
      }
      await pollUntil(() => [...expected].every(([id, count]) => cancelled.has(id) || answered.get(id) === count), {
        timeoutMs: 60_000,
        intervalMs: 50,
        what: 'every tracked request to be answered',
      });
      await raw.assertPing('ping at the end');
      for (const [id, count] of expected) {
        const got = answered.get(id) ?? 0;
        if (cancelled.has(id)) assert.ok(got <= count, `cancelled ${id} answered ${got} times`);
        else assert.equal(got, count, `${id} answered ${got} times, expected ${count}`);
      }
      const seconds = (Date.now() - started) / 1000;
      console.log(`# protocol fuzzer: ${sent} frames, ${expected.size} tracked requests (${cancelled.size} cancelled), ` +
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
