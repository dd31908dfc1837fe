// Faults around a running pgsafe serve: a backend terminated or killed mid-query, the
// postmaster restarted with a call in flight, a backend or the whole postmaster paused with
// SIGSTOP (at start, while a cancel request is due, and at SIGTERM), stdin closed and SIGTERM
// with several calls in flight. Each asserts the documented behaviour: a clear isError
// result, no hang past the statement timeout plus pgsafe's grace (docs/configuration.md,
// "Limits on time"), recovery once the database is back, exit status 0 on shutdown. A cluster of its own (outage.test.mjs covers the database down at
// start and a restart between calls); every paused process is resumed in after() whatever
// happened.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  RawSession, activeStatements, after, before, describe, pgThrowaway, pollUntil, psql, psqlValue, rawToolResult,
  scratchDir, slowSql, test,
} from './lib/harness.mjs';

let dir;
let cluster; // {host, port, database, superuser}
const paused = new Set(); // pids stopped with SIGSTOP, resumed in after()

function resume(pid) {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    /* gone */
  }
  paused.delete(pid);
}

function pause(pid) {
  paused.add(pid);
  process.kill(pid, 'SIGSTOP');
}

before(() => {
  dir = scratchDir('faults');
  const { host, port } = pgThrowaway('start', dir);
  cluster = { host, port, database: 'postgres', superuser: 'postgres' };
});
after(() => {
  for (const pid of [...paused]) resume(pid);
  if (dir) pgThrowaway('destroy', dir);
});

const sql = (text) => psql(text, { pg: cluster, database: 'postgres' });
const active = (marker) => activeStatements(marker, cluster);

/** The pids of pgsafe's backends (application_name pgsafe), in order. */
function pgsafeBackends() {
  const out = sql("SELECT pid FROM pg_stat_activity WHERE application_name = 'pgsafe' ORDER BY pid");
  return out === '' ? [] : out.split('\n').map(Number);
}

/** How often the cluster's log says it is ready (once more after each crash restart). */
function readyCount() {
  const log = fs.readFileSync(path.join(dir, 'server.log'), 'utf8');
  return log.split('database system is ready to accept connections').length - 1;
}

function session(args = []) {
  return new RawSession({ user: 'postgres', pg: cluster, args });
}

let nextId = 1;
/** A query tool call over the raw session; returns the tool result. */
async function call(raw, text, { id = `q${nextId++}`, timeoutMs = 50_000 } = {}) {
  return rawToolResult(await raw.request('tools/call', { name: 'query', arguments: { sql: text } }, { id, timeoutMs }));
}

function errorText(result, what) {
  assert.equal(result.isError, true, `${what}: isError expected, got ${JSON.stringify(result).slice(0, 400)}`);
  return result.content[0].text;
}

async function eventuallyAnswers(raw, text, expected) {
  const result = await pollUntil(async () => {
    const r = await call(raw, text);
    return r.isError ? false : r;
  }, { timeoutMs: 40_000, intervalMs: 500, what: `${text} to succeed again` });
  assert.deepEqual(result.structuredContent.rows, expected);
}

/** Sends a slow query and waits until it runs; returns {response}, a promise of its response
 * (wrapped, or the async function would wait for it). */
async function startSlow(raw, marker, id) {
  const response = raw.request('tools/call', { name: 'query', arguments: { sql: slowSql(marker) } }, { id, timeoutMs: 55_000 });
  response.catch(() => {}); // awaited by the caller; a rejection before then is not unhandled
  await pollUntil(() => active(marker) > 0, { what: `statement ${marker} to run` });
  return { response };
}

async function shutDown(raw) {
  raw.child.stdin.end();
  const { code, signal } = await raw.waitExit(15_000);
  assert.equal(signal, null, raw.stderr());
  assert.equal(code, 0, raw.stderr());
  raw.assertCleanStdout();
}

describe('a backend lost mid-query', () => {
  test('pg_terminate_backend: a clear isError, and the next call works after the reconnect', async () => {
    const raw = session(['--pool-size', '1', '--statement-timeout', '60000']);
    try {
      await raw.initialize();
      const { response } = await startSlow(raw, '10201', 'terminated');
      sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%10201%' AND pid <> pg_backend_pid()`);
      const text = errorText(rawToolResult(await response), 'the terminated call');
      assert.match(text, /terminating connection/i);
      assert.match(text, /ended the session.*SQLSTATE 57P01/s, text);
      assert.match(text, /can be retried/, text);
      await eventuallyAnswers(raw, 'SELECT 1 AS one', [[1]]);
      await raw.assertPing();
      await shutDown(raw);
    } finally {
      await raw.close();
    }
  });

  test('kill -9 of the backend (the postmaster then restarts every backend): a clear isError, then recovery', async () => {
    const raw = session(['--pool-size', '2', '--statement-timeout', '60000']);
    try {
      await raw.initialize();
      const { response } = await startSlow(raw, '10203', 'killed');
      const pid = Number(psqlValue(`SELECT pid FROM pg_stat_activity WHERE query LIKE '%10203%' AND pid <> pg_backend_pid()`,
        { pg: cluster, database: 'postgres' }));
      assert.ok(pid > 0);
      const readyBefore = readyCount();
      process.kill(pid, 'SIGKILL');
      const text = errorText(rawToolResult(await response), 'the killed call');
      assert.match(text, /connection|terminat|closed|lost/i);
      await raw.assertPing();
      // The postmaster's crash restart may come after a first call already succeeded.
      await pollUntil(() => readyCount() > readyBefore, { timeoutMs: 30_000, what: 'the crash restart to finish' });
      await eventuallyAnswers(raw, 'SELECT 2 AS two', [[2]]);
      await shutDown(raw);
    } finally {
      await raw.close();
    }
  });

  test('the postmaster restarted with a call in flight: that call and calls while down fail clearly, later calls work', async () => {
    const raw = session(['--pool-size', '2', '--statement-timeout', '60000']);
    let stopped = false;
    try {
      await raw.initialize();
      const { response } = await startSlow(raw, '10205', 'restarted');
      pgThrowaway('stop', dir);
      stopped = true;
      const inFlight = errorText(rawToolResult(await response), 'the call in flight');
      assert.match(inFlight, /terminat|shut|connection|closed|lost/i);
      const during = errorText(await call(raw, 'SELECT 3 AS three'), 'a call while down');
      assert.match(during, /unavailable|connect|no such file|refused/i);
      await raw.assertPing();
      pgThrowaway('start', dir);
      stopped = false;
      await eventuallyAnswers(raw, 'SELECT 4 AS four', [[4]]);
      await shutDown(raw);
    } finally {
      if (stopped) pgThrowaway('start', dir); // the later tests need the cluster
      await raw.close();
    }
  });
});

describe('a database that stops answering (SIGSTOP)', () => {
  test('a paused backend: the call fails after the statement timeout plus the grace; the slot is kept until the backend ends', async () => {
    const timeoutMs = 1000;
    const raw = session(['--pool-size', '1', '--statement-timeout', String(timeoutMs)]);
    let stopped;
    try {
      await raw.initialize();
      await eventuallyAnswers(raw, 'SELECT 5 AS five', [[5]]);
      const backends = pgsafeBackends();
      assert.equal(backends.length, 1, `one pgsafe backend expected: ${backends}`);
      stopped = backends[0];
      pause(stopped);
      // statement_timeout cannot fire in a stopped process, and a cancel request would go to
      // it too: only pgsafe's own deadline ends this call.
      const started = Date.now();
      const text = errorText(await call(raw, 'SELECT 6 AS six', { timeoutMs: 45_000 }), 'the call to a paused backend');
      const waited = Date.now() - started;
      assert.match(text, /did not answer within 5000 ms after the statement timeout \(1000 ms\)/);
      assert.match(text, new RegExp(`backend PID ${stopped} ignored the cancel request`), text);
      // A bound to show it did not hang (the deadline is 6 s; a generous margin for a busy machine).
      assert.ok(waited < 40_000, `answered after ${waited} ms`);
      await raw.assertPing();
      // The stopped backend keeps the only slot: the next calls fail at once and clearly, and
      // pgsafe never holds a second backend (before, each expired call left one behind).
      for (const n of [7, 8, 9]) {
        const busy = errorText(await call(raw, `SELECT ${n} AS n`), `call ${n} while the backend is stopped`);
        assert.match(busy, new RegExp(`still busy with an earlier query \\(backend PID ${stopped} ignored cancel\\); try again shortly`), busy);
        assert.deepEqual(pgsafeBackends(), [stopped], 'at most the pool size of pgsafe backends');
      }
      // explain is bounded the same way (its planning, like the cost guard's, can run
      // immutable functions through constant folding).
      const explained = rawToolResult(await raw.request('tools/call', { name: 'explain', arguments: { sql: 'SELECT 11 AS n' } }));
      assert.match(errorText(explained, 'explain while the backend is stopped'), /still busy with an earlier query/);
      assert.deepEqual(pgsafeBackends(), [stopped]);
      resume(stopped);
      // Resumed, the backend ends the statement with the pending cancel, pgsafe closes that
      // connection and opens a fresh one.
      await eventuallyAnswers(raw, 'SELECT 10 AS ten', [[10]]);
      await pollUntil(() => !pgsafeBackends().includes(stopped), { what: 'the abandoned backend to end' });
      assert.equal(pgsafeBackends().length, 1);
      await shutDown(raw);
    } finally {
      if (stopped) resume(stopped);
      await raw.close();
    }
  });

  test('the postmaster paused at start: connect_timeout gives a clear error; calls work once it resumes', async () => {
    const postmaster = Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    assert.ok(postmaster > 0);
    const dsn = `host=${cluster.host} port=${cluster.port} user=postgres dbname=postgres connect_timeout=2`;
    pause(postmaster);
    let raw;
    try {
      raw = new RawSession({ pgenv: false, args: ['--dsn', dsn] });
      await raw.initialize();
      const text = errorText(await call(raw, 'SELECT 8 AS eight', { timeoutMs: 40_000 }), 'a call while the postmaster is paused');
      assert.match(text, /unavailable/i);
      assert.match(text, /timeout expired/i);
      await raw.assertPing();
      resume(postmaster);
      await eventuallyAnswers(raw, 'SELECT 9 AS nine', [[9]]);
      await shutDown(raw);
    } finally {
      resume(postmaster);
      if (raw) await raw.close();
    }
  });
});

describe('a paused postmaster and cancellation', () => {
  test('a cancel while the postmaster is paused: the server keeps answering, and recovers once it resumes', async () => {
    const postmaster = Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    // A statement timeout well past the steps below, so that the cancel, not the timeout, is
    // what ends the statement even on a loaded machine (a response sent before the cancel
    // arrived would be legitimate, and fail the last assertion).
    const raw = session(['--pool-size', '1', '--statement-timeout', '15000']);
    try {
      await raw.initialize();
      await startSlow(raw, '10231', 'cancel-paused');
      const threads = () => fs.readdirSync(`/proc/${raw.child.pid}/task`).length;
      const threadsBefore = threads();
      pause(postmaster);
      // The cancel request goes to the postmaster, which does not answer: sending it must not
      // stop the loop (PQcancel blocks until the postmaster closes the connection).
      raw.notify('notifications/cancelled', { requestId: 'cancel-paused', reason: 'test' });
      await raw.assertPing('ping while the cancel request cannot be delivered');
      // pgsafe repeats a cancel every 100 ms, 20 times, but not while the last one is still
      // on its way: one blocked thread, not one per repeat.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const threadsAfter = threads();
      assert.ok(threadsAfter <= threadsBefore + 1, `${threadsAfter} threads, ${threadsBefore} before the cancel`);
      const check = rawToolResult(await raw.request('tools/call', { name: 'check_sql', arguments: { sql: 'SELECT 1' } }));
      assert.equal(check.structuredContent?.allowed, true);
      resume(postmaster);
      await eventuallyAnswers(raw, 'SELECT 10 AS ten', [[10]]);
      assert.deepEqual(raw.messages.filter((m) => m.id === 'cancel-paused'), [], 'no response for the cancelled request');
      await shutDown(raw);
    } finally {
      resume(postmaster);
      await raw.close();
    }
  });
});

describe('a paused postmaster and shutdown', () => {
  test('SIGTERM with calls running while the postmaster is paused: exit 0 all the same', async () => {
    const postmaster = Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const raw = session(['--pool-size', '2', '--statement-timeout', '8000']);
    try {
      await raw.initialize();
      await startSlow(raw, '10241', 'term-paused-1');
      await startSlow(raw, '10243', 'term-paused-2');
      // The cancel requests cannot be delivered: shutdown must not wait for them for ever.
      pause(postmaster);
      raw.child.kill('SIGTERM');
      const { code, signal } = await raw.waitExit(15_000);
      assert.equal(signal, null, raw.stderr());
      assert.equal(code, 0, raw.stderr());
      raw.assertCleanStdout();
      resume(postmaster);
      // Delivered once the postmaster reads them, or ended by the statement timeout.
      await pollUntil(() => active('10241') === 0 && active('10243') === 0, { timeoutMs: 20_000, what: 'both statements to end' });
    } finally {
      resume(postmaster);
      await raw.close();
    }
  });
});

describe('the client going away with calls in flight', () => {
  test('stdin closed with calls running and queued: exit 0, nothing left running', async () => {
    const raw = session(['--pool-size', '3', '--statement-timeout', '60000']);
    try {
      await raw.initialize();
      const markers = ['10211', '10213', '10215', '10217', '10219'];
      for (const marker of markers) {
        raw.send({ jsonrpc: '2.0', id: `eof-${marker}`, method: 'tools/call', params: { name: 'query', arguments: { sql: slowSql(marker) } } });
      }
      await pollUntil(() => markers.filter((m) => active(m) > 0).length === 3, { what: 'three statements to run (two queued)' });
      raw.child.stdin.end();
      const { code, signal } = await raw.waitExit(20_000);
      assert.equal(signal, null, raw.stderr());
      assert.equal(code, 0, raw.stderr());
      await pollUntil(() => markers.every((m) => active(m) === 0), { timeoutMs: 15_000, what: 'every statement to stop' });
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });

  test('SIGTERM with calls running: exit 0, every statement cancelled in the database', async () => {
    const raw = session(['--pool-size', '3', '--statement-timeout', '60000']);
    try {
      await raw.initialize();
      const markers = ['10221', '10223', '10225'];
      for (const marker of markers) {
        raw.send({ jsonrpc: '2.0', id: `term-${marker}`, method: 'tools/call', params: { name: 'query', arguments: { sql: slowSql(marker) } } });
      }
      await pollUntil(() => markers.every((m) => active(m) > 0), { what: 'the three statements to run' });
      raw.child.kill('SIGTERM');
      const { code, signal } = await raw.waitExit(15_000);
      assert.equal(signal, null, raw.stderr());
      assert.equal(code, 0, raw.stderr());
      await pollUntil(() => markers.every((m) => active(m) === 0), { timeoutMs: 15_000, what: 'every statement to be cancelled' });
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });
});
