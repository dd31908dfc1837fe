// Several requests in flight: cancellation through notifications/cancelled (the SDK's
// AbortSignal, and raw lines with a string id), 32 concurrent queries, ping answering while
// a slow query runs, EOF with a query in flight, lock and statement timeouts, the byte
// budget cancelling its statement, and no connection left idle in a transaction.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  PG, READER, RawSession, activeStatements, after, assertCleanSession, before, callTool, connect, describe,
  errorResult, okResult, pollUntil, psql, psqlValue, slowSql, test, withTimeout,
} from './lib/harness.mjs';

let session;
before(async () => {
  session = await connect({ args: ['--statement-timeout', '120000', '--pool-size', '4'] });
});
after(async () => {
  if (session) {
    assertCleanSession(session);
    await session.close();
  }
});

describe('cancellation', () => {
  test('notifications/cancelled stops the statement, no response is sent for it, and the next call works', async () => {
    const marker = '10007';
    const controller = new AbortController();
    const call = callTool(session, 'query', { sql: slowSql(marker) }, { signal: controller.signal, timeout: 55_000 });
    const outcome = call.then(() => 'resolved', (error) => error);
    await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to run' });
    controller.abort('the test cancels it');
    const error = await outcome;
    assert.ok(error instanceof Error, 'the SDK rejects the aborted call');

    const cancelled = session.outbound.find((m) => m.method === 'notifications/cancelled');
    assert.ok(cancelled, 'the SDK sent notifications/cancelled');
    const requestId = cancelled.params.requestId;
    const request = session.outbound.find((m) => m.id === requestId && m.method === 'tools/call');
    assert.ok(request, 'the cancellation names the tools/call');

    await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the statement to leave pg_stat_activity' });

    const next = okResult(await callTool(session, 'query', { sql: 'SELECT 41 + 1 AS answer' }));
    assert.deepEqual(next.rows, [[42]]);
    assert.deepEqual(await session.client.ping(), {});
    await sleep(1000); // a late response would show up here
    assert.deepEqual(session.inbound.filter((m) => m.id === requestId), [], 'no response for the cancelled request');
  });

  test('cancelling a request that is queued behind others', async () => {
    const single = await connect({ args: ['--statement-timeout', '120000', '--pool-size', '1'] });
    try {
      const marker = '10019';
      const controllers = [new AbortController(), new AbortController()];
      const running = callTool(single, 'query', { sql: slowSql(marker) }, { signal: controllers[0].signal }).catch((e) => e);
      await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to run' });
      const queued = callTool(single, 'query', { sql: 'SELECT 7 AS queued' }, { signal: controllers[1].signal }).catch((e) => e);
      controllers[1].abort('drop the queued one');
      assert.ok((await queued) instanceof Error);
      controllers[0].abort('and the running one');
      assert.ok((await running) instanceof Error);
      await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the statement to be cancelled' });
      const after = okResult(await callTool(single, 'query', { sql: 'SELECT 8 AS after' }));
      assert.deepEqual(after.rows, [[8]]);
      await sleep(500);
      const cancelledIds = single.outbound.filter((m) => m.method === 'notifications/cancelled').map((m) => m.params.requestId);
      assert.equal(cancelledIds.length, 2);
      assert.deepEqual(single.inbound.filter((m) => cancelledIds.includes(m.id)), [], 'no responses for cancelled requests');
      assertCleanSession(single);
    } finally {
      await single.close();
    }
  });

  test('a cancellation for an unknown or finished request is ignored', async () => {
    await session.client.notification({ method: 'notifications/cancelled', params: { requestId: 987654, reason: 'never sent' } });
    const done = okResult(await callTool(session, 'query', { sql: 'SELECT 1 AS one' }));
    const lastCall = session.outbound.filter((m) => m.method === 'tools/call').at(-1);
    await session.client.notification({ method: 'notifications/cancelled', params: { requestId: lastCall.id, reason: 'too late' } });
    assert.deepEqual(done.rows, [[1]]);
    assert.deepEqual(await session.client.ping(), {});
  });
});

describe('cancellation (raw lines)', () => {
  test('a string request id can be cancelled; EOF with a query in flight still exits 0 and stops it', async () => {
    const raw = new RawSession({ args: ['--statement-timeout', '120000'] });
    try {
      await raw.initialize();
      const marker = '10021';
      raw.send({ jsonrpc: '2.0', id: 'slow-one', method: 'tools/call', params: { name: 'query', arguments: { sql: slowSql(marker) } } });
      await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to run' });
      raw.notify('notifications/cancelled', { requestId: 'slow-one', reason: 'test' });
      await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the statement to be cancelled' });
      await raw.assertPing();
      await sleep(500);
      assert.deepEqual(raw.messages.filter((m) => m.id === 'slow-one'), [], 'no response for the cancelled request');

      const marker2 = '10023';
      raw.send({ jsonrpc: '2.0', id: 'slow-two', method: 'tools/call', params: { name: 'query', arguments: { sql: slowSql(marker2) } } });
      await pollUntil(() => activeStatements(marker2) > 0, { what: 'the second slow statement to run' });
      raw.child.stdin.end();
      const { code, signal } = await raw.waitExit(10_000);
      assert.equal(signal, null);
      assert.equal(code, 0, raw.stderr());
      await pollUntil(() => activeStatements(marker2) === 0, { timeoutMs: 15_000, what: 'the statement to stop after EOF' });
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });
});

describe('locks and budgets', () => {
  test('--lock-timeout: a query behind a lock fails with a lock timeout instead of waiting', async () => {
    const locker = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], {
      env: { ...process.env, PGUSER: PG.superuser }, stdio: ['pipe', 'ignore', 'inherit'],
    });
    const short = await connect({ args: ['--lock-timeout', '200', '--statement-timeout', '20000'] });
    try {
      locker.stdin.write("BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n");
      await pollUntil(() => psqlValue("SELECT count(*) FROM pg_locks WHERE relation = 'customers'::regclass AND mode = 'AccessExclusiveLock' AND granted") === '1',
        { what: 'the lock to be held' });
      const text = errorResult(await callTool(short, 'query', { sql: 'SELECT count(*) FROM customers' }));
      assert.match(text, /lock timeout/i);
      assertCleanSession(short);
    } finally {
      locker.stdin.end('ROLLBACK;\n');
      await withTimeout(new Promise((resolve) => locker.on('exit', resolve)), 10_000, 'psql to exit').catch(() => locker.kill('SIGKILL'));
      await short.close();
    }
  });

  test('when the byte budget runs out the statement is cancelled, not left running', async () => {
    // The cost guard would refuse it (the planner sees the minutes it would take): off here,
    // where the byte budget's cancel is what is tested.
    const budget = await connect({ args: ['--max-result-bytes', '2000', '--statement-timeout', '120000', '--max-cost', '0'] });
    try {
      // Each row costs a count over 2.3 million pairs; all 1001 rows would take minutes.
      const marker = '2311';
      const sql = `SELECT repeat('x', 700) || (SELECT count(*) FROM generate_series(1, 1000) x, generate_series(1, ${marker} + g - g) y) AS v FROM generate_series(1, 1000) g`;
      const result = okResult(await callTool(budget, 'query', { sql }, { timeout: 20_000 }));
      assert.equal(result.truncated, true);
      assert.equal(result.truncation?.reason, 'byte_budget');
      assert.ok(result.row_count >= 1 && result.row_count <= 2, `row_count ${result.row_count}`);
      await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the cut statement to stop' });
      assertCleanSession(budget);
    } finally {
      await budget.close();
    }
  });

  test('a session advisory lock taken by an allowed function does not outlive the call on the pooled connection', async () => {
    // A volatile function the guard lets through (--allow-function), standing for any
    // function reached without being named: its session lock outlives ROLLBACK.
    psql(`CREATE OR REPLACE FUNCTION public.pgsafe_it_take_lock() RETURNS int LANGUAGE plpgsql VOLATILE AS
      $$ BEGIN PERFORM pg_advisory_lock(424242); RETURN 1; END $$;
      GRANT EXECUTE ON FUNCTION public.pgsafe_it_take_lock() TO ${READER};`);
    const locking = await connect({ args: ['--pool-size', '1', '--allow-function', 'pgsafe_it_take_lock'] });
    const backend = async () => okResult(await callTool(locking, 'query', { sql: 'SELECT pg_backend_pid() AS pid' })).rows[0][0];
    try {
      // A clean session is kept: the same backend answers call after call.
      const first = await backend();
      assert.equal(await backend(), first, 'a clean connection is reused');
      const result = okResult(await callTool(locking, 'query', { sql: 'SELECT pgsafe_it_take_lock() AS locked' }));
      assert.deepEqual(result.rows, [[1]]);
      // Another session can take the lock: the connection that held it was closed.
      await pollUntil(() => psqlValue('SELECT pg_try_advisory_lock(424242)') === 't', { timeoutMs: 5_000, what: 'the lock to be free' });
      assert.match(locking.stderr(), /session advisory locks/);
      // The pool goes on with a new, clean connection, which it keeps.
      const next = await backend();
      assert.notEqual(next, first, 'the dirty connection was replaced');
      assert.equal(await backend(), next, 'the new connection is reused');
      assert.equal(psqlValue(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242 AND granted`), '0');
      assertCleanSession(locking);
    } finally {
      await locking.close();
      psql('DROP FUNCTION public.pgsafe_it_take_lock()');
    }
  });

  test('a session-level setting changed by an allowed function does not outlive the call', async () => {
    // set_config(..., false) changes the session, not the transaction; the clean check does
    // not scan the settings, since the ROLLBACK every call ends with undoes them: here is that
    // shown on the connection the pool keeps.
    psql(`CREATE OR REPLACE FUNCTION public.pgsafe_it_set_session() RETURNS text LANGUAGE plpgsql VOLATILE AS
      $$ BEGIN
        PERFORM set_config('work_mem', '7777kB', false);
        PERFORM set_config('pgsafe_it.marker', 'dirty', false);
        RETURN current_setting('work_mem');
      END $$;
      CREATE OR REPLACE FUNCTION public.pgsafe_it_read_session() RETURNS text LANGUAGE sql STABLE AS
      $$ SELECT current_setting('work_mem') || ' ' || coalesce(current_setting('pgsafe_it.marker', true), '') $$;
      GRANT EXECUTE ON FUNCTION public.pgsafe_it_set_session(), public.pgsafe_it_read_session() TO ${READER};`);
    const setting = await connect({
      args: ['--pool-size', '1', '--allow-function', 'pgsafe_it_set_session', '--allow-function', 'pgsafe_it_read_session'],
    });
    const read = async () => okResult(await callTool(setting, 'query', {
      sql: 'SELECT pg_backend_pid() AS pid, pgsafe_it_read_session() AS settings',
    })).rows[0];
    try {
      const [pid, before] = await read();
      assert.doesNotMatch(before, /7777kB|dirty/);
      const result = okResult(await callTool(setting, 'query', {
        sql: 'SELECT pgsafe_it_set_session() AS inside, pgsafe_it_read_session() AS settings',
      }));
      assert.deepEqual(result.rows, [['7777kB', '7777kB dirty']], 'the settings took effect inside the call');
      const [after, settings] = await read();
      assert.equal(after, pid, 'the same connection answers the next call');
      assert.equal(settings, before, 'the settings are back');
      assertCleanSession(setting);
    } finally {
      await setting.close();
      psql('DROP FUNCTION public.pgsafe_it_set_session(), public.pgsafe_it_read_session()');
    }
  });

  test('no connection is left idle in a transaction', async () => {
    const calls = Array.from({ length: 8 }, (_, i) => callTool(session, 'query', { sql: `SELECT ${i} AS i` }));
    await Promise.all(calls);
    await callTool(session, 'query', { sql: 'SELECT 1 / 0' });
    await callTool(session, 'explain', { sql: 'SELECT 1' });
    const states = () => psql(`SELECT state FROM pg_stat_activity WHERE usename = '${READER}' AND state LIKE 'idle in transaction%'`);
    await pollUntil(() => states() === '', { timeoutMs: 5_000, what: 'no idle-in-transaction connection' });
  });
});

describe('concurrency', () => {
  test('32 concurrent queries all succeed with their own results', async () => {
    const calls = Array.from({ length: 32 }, (_, i) => {
      const k = i + 1;
      return callTool(session, 'query', {
        sql: `SELECT ${k} AS k, count(*) AS c, sum(n) AS s, min(label) AS first FROM numbers WHERE n <= ${k * 1000}`,
      });
    });
    const results = await withTimeout(Promise.all(calls), 55_000, '32 concurrent queries');
    results.forEach((result, i) => {
      const k = i + 1;
      const content = okResult(result, `query ${k}`);
      const n = k * 1000;
      assert.deepEqual(content.rows, [[k, n, n * (n + 1) / 2, 'n1']], `query ${k}`);
    });
  });

  test('ping and a quick query answer while a slow query runs', async () => {
    const marker = '10013';
    const controller = new AbortController();
    let settled = false;
    const slow = callTool(session, 'query', { sql: slowSql(marker) }, { signal: controller.signal, timeout: 55_000 })
      .then(() => 'resolved', (e) => e)
      .finally(() => { settled = true; });
    await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to run' });
    assert.deepEqual(await withTimeout(session.client.ping(), 10_000, 'ping'), {});
    assert.equal(settled, false, 'ping was answered while the slow query was still running');
    const quick = okResult(await withTimeout(callTool(session, 'query', { sql: 'SELECT 5 AS five' }), 20_000, 'quick query'));
    assert.deepEqual(quick.rows, [[5]]);
    assert.equal(settled, false, 'the quick query finished while the slow one was still running');
    assert.ok(activeStatements(marker) > 0, 'the slow statement is still running');
    controller.abort('done');
    await slow;
    await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the statement to be cancelled' });
  });

  test('the statement timeout ends a slow query with an isError result', async () => {
    const short = await connect({ args: ['--statement-timeout', '300'] });
    try {
      const result = await callTool(short, 'query', { sql: slowSql('10003') });
      assert.equal(result.isError, true, JSON.stringify(result).slice(0, 400));
      assert.match(result.content[0].text, /statement timeout|canceling statement/i);
      const next = okResult(await callTool(short, 'query', { sql: 'SELECT 3 AS three' }));
      assert.deepEqual(next.rows, [[3]]);
      assertCleanSession(short);
    } finally {
      await short.close();
    }
  });
});
