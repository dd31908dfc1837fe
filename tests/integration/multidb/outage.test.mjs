// One database down never blocks the other: the PostgreSQL 18 cluster (`support`) is stopped
// mid-test with pg_ctl stop -m immediate, by its data directory, while calls go on. Calls to
// `sales` (PostgreSQL 15) keep answering, also while a call to `support` is pending; calls to
// `support` get a clear "unavailable" error instead of hanging, and succeed again once it is
// started. Then the same with the support cluster paused (SIGSTOP), where a call to it hangs
// until resumed: calls to sales must not wait behind it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import {
  activeStatements, after, assertCleanSession, before, callTool, connect, describe, errorResult, okResult,
  pollUntil, slowSql, test, withTimeout,
} from '../lib/harness.mjs';
import {
  SALES, SUPPORT, WHERE_SQL, assertEachAnswers, databaseArgs, eventuallyAnswers, isRunning, restart, stopImmediately,
} from './lib.mjs';

// A bound on every call, so a hang fails the test with a message instead of at the 60 s limit.
const CALL_BOUND_MS = 30_000;

const paused = new Set();
function pauseCluster(target) {
  // The postmaster and every process it started (backends, background workers).
  const postmaster = Number(execFileSync('head', ['-n', '1', `${target.dir}/data/postmaster.pid`], { encoding: 'utf8' }));
  const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).trim().split('\n').map(Number);
  for (const pid of [postmaster, ...children]) {
    paused.add(pid);
    process.kill(pid, 'SIGSTOP');
  }
}
function resumeAll() {
  for (const pid of [...paused]) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* gone */
    }
    paused.delete(pid);
  }
}

/** Every test starts with both clusters up, whatever the one before it left. */
function bothRunning() {
  if (!isRunning(SUPPORT)) restart(SUPPORT);
}

let session;
before(async () => {
  session = await connect({ pgenv: false, args: [...databaseArgs(), '--pool-size', '2', '--statement-timeout', '60000'] });
  await assertEachAnswers(session);
});
after(async () => {
  resumeAll();
  bothRunning();
  if (session) await session.close();
});

const call = (database, sql = WHERE_SQL) => withTimeout(callTool(session, 'query', { sql, database }), CALL_BOUND_MS, `a query on ${database}`);

/** Several calls to sales, one after another and three at once; each answers from PostgreSQL 15. */
async function salesAnswers(what) {
  for (let i = 0; i < 3; i++) assert.deepEqual(okResult(await call('sales'), `${what}: sales call ${i}`).rows, [[15, 'sales']]);
  const together = await Promise.all([call('sales'), call('sales'), call('sales')]);
  for (const result of together) assert.deepEqual(okResult(result, `${what}: concurrent sales call`).rows, [[15, 'sales']]);
}

/** A promise's state without waiting. */
function tracked(promise) {
  const state = { settled: false, promise };
  promise.then(() => { state.settled = true; }, () => { state.settled = true; });
  return state;
}

describe('one database stopped mid-test', () => {
  test('pg_ctl stop -m immediate on PostgreSQL 18: sales keeps answering, support fails clearly, then recovers', async (t) => {
    t.after(bothRunning);
    // A statement running on support while sales answers.
    const marker = 10_771;
    const pending = tracked(call('support', slowSql(marker)));
    await pollUntil(() => activeStatements(marker, { ...SUPPORT, database: 'postgres' }) === 1, { what: 'the slow statement to run on support' });
    await salesAnswers('while a statement runs on support');
    assert.equal(pending.settled, false, 'the statement on support still runs (it runs for a minute)');

    stopImmediately(SUPPORT);
    // The pending call ends with an error, not a hang.
    const interrupted = errorResult(await pending.promise, 'the statement running when support stopped');
    assert.match(interrupted, /^database "support": .*connection to the database was lost/s, interrupted);

    // While support is down: sales answers, support fails at once and clearly, also side by side.
    await salesAnswers('while support is down');
    for (let i = 0; i < 3; i++) {
      const text = errorResult(await call('support'), `support call ${i} while down`);
      // The cause follows (connection refused, or the connection closed by a server going
      // down, from pgsafe's own attempt to reconnect).
      // It names the database, since several are served.
      assert.match(text, /^database "support": the database is unavailable: connection to server at "127\.0\.0\.1", port \d+ failed: \S/, text);
    }
    const [salesResult, supportResult] = await Promise.all([call('sales'), call('support')]);
    assert.deepEqual(okResult(salesResult).rows, [[15, 'sales']]);
    assert.match(errorResult(supportResult), /unavailable/);
    // The catalog tools of support fail too; sales' still work.
    errorResult(await withTimeout(callTool(session, 'list_tables', { database: 'support' }), CALL_BOUND_MS, 'list_tables on support'));
    okResult(await callTool(session, 'list_tables', { database: 'sales' }));
    assert.deepEqual(await session.client.ping(), {});
    const { databases } = okResult(await withTimeout(callTool(session, 'list_databases', {}), CALL_BOUND_MS, 'list_databases'));
    const byName = Object.fromEntries(databases.map((d) => [d.name, d]));
    assert.equal(byName.sales.status, 'ready', JSON.stringify(byName.sales));
    assert.equal(byName.support.status, 'unavailable', JSON.stringify(byName.support));
    assert.match(byName.support.error, /^connection to server at "127\.0\.0\.1", port \d+ failed: \S/, JSON.stringify(byName.support));

    restart(SUPPORT);
    await eventuallyAnswers(session, SUPPORT);
    await assertEachAnswers(session);
    // Every pooled connection to support works again, not just one.
    const again = await Promise.all([1, 2, 3, 4].map(() => call('support')));
    for (const result of again) assert.deepEqual(okResult(result).rows, [[18, 'support']]);
    const states = okResult(await callTool(session, 'list_databases', {})).databases;
    assert.deepEqual(states.map((d) => d.status), ['ready', 'ready'], JSON.stringify(states));
    assertCleanSession(session);
  });

  test('PostgreSQL 18 paused (SIGSTOP): a call to support hangs, calls to sales do not wait behind it', async () => {
    bothRunning();
    await eventuallyAnswers(session, SUPPORT);
    await assertEachAnswers(session);
    pauseCluster(SUPPORT);
    let pending;
    try {
      // Without a timeout of its own: this call waits as long as the cluster is paused.
      pending = tracked(callTool(session, 'query', { sql: WHERE_SQL, database: 'support' }));
      await salesAnswers('while support is paused');
      assert.equal(pending.settled, false, 'the call to the paused support cluster is still pending');
    } finally {
      resumeAll();
    }
    // Resumed, the pending call ends (with rows, or an error if pgsafe gave up on it) and
    // support answers again.
    await withTimeout(pending.promise, CALL_BOUND_MS, 'the call to support after it resumed');
    await eventuallyAnswers(session, SUPPORT);
    await assertEachAnswers(session);
    assertCleanSession(session);
  });

  test('PostgreSQL 18 down when pgsafe starts: initialize and sales work, support fails clearly, then recovers', async () => {
    bothRunning();
    stopImmediately(SUPPORT);
    let late;
    try {
      late = await connect({ pgenv: false, args: databaseArgs() });
      const instructions = late.client.getInstructions();
      for (const name of ['sales', 'support']) assert.ok(instructions.includes(`"${name}"`), instructions);
      assert.deepEqual(okResult(await withTimeout(callTool(late, 'query', { sql: WHERE_SQL, database: 'sales' }), CALL_BOUND_MS, 'sales')).rows,
        [[15, 'sales']]);
      const text = errorResult(await withTimeout(callTool(late, 'query', { sql: WHERE_SQL, database: 'support' }), CALL_BOUND_MS, 'support'));
      assert.match(text, /unavailable/, text);
      const { databases } = okResult(await callTool(late, 'list_databases', {}));
      assert.equal(databases[0].status, 'ready', JSON.stringify(databases));
      assert.notEqual(databases[1].status, 'ready', JSON.stringify(databases));
      restart(SUPPORT);
      await eventuallyAnswers(late, SUPPORT);
      const again = okResult(await callTool(late, 'list_databases', {})).databases;
      assert.match(again[1].server_version, /^18\./, JSON.stringify(again));
      assertCleanSession(late);
    } finally {
      bothRunning();
      if (late) await late.close();
    }
  });
});
