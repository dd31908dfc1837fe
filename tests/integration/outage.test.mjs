// The database going away: down when pgsafe starts, and restarted mid-session. These tests
// use a cluster of their own (scripts/pg-throwaway under the run's scratch directory), so
// stopping it disturbs no other test; run destroys it at the end whatever happens.
import assert from 'node:assert/strict';

import {
  after, assertCleanSession, before, callTool, connect, describe, errorResult, okResult, pgThrowaway,
  pollUntil, scratchDir, test,
} from './lib/harness.mjs';

let dir;
let cluster; // {host, port, database, superuser}

before(() => {
  dir = scratchDir('outage');
  const { host, port } = pgThrowaway('start', dir);
  cluster = { host, port, database: 'postgres', superuser: 'postgres' };
});
after(() => {
  if (dir) pgThrowaway('destroy', dir);
});

async function eventuallySucceeds(session, sql, expectedRows) {
  const result = await pollUntil(async () => {
    const r = await callTool(session, 'query', { sql });
    return r.isError ? false : r;
  }, { timeoutMs: 30_000, intervalMs: 500, what: `${sql} to succeed after the database came back` });
  assert.deepEqual(okResult(result).rows, expectedRows);
}

describe('database outage', () => {
  test('down at start: initialize works, a query fails naming the cause, then succeeds once the database is up', async () => {
    pgThrowaway('stop', dir);
    // Over the socket directory: libpq reports "No such file or directory".
    const session = await connect({ user: 'postgres', pg: cluster });
    try {
      assert.equal(session.client.getServerVersion()?.name, 'pgsafe');
      const text = errorResult(await callTool(session, 'query', { sql: 'SELECT 1 AS one' }), 'query while down');
      assert.match(text, /no such file|refused/i);
      assert.deepEqual(await session.client.ping(), {});
      const tables = await callTool(session, 'list_tables', {});
      assert.equal(tables.isError, true, 'catalog tools fail too while the database is down');
      // The guard still answers, from the built-ins alone.
      const offline = okResult(await callTool(session, 'check_sql', { sql: 'SELECT lower(datname) FROM pg_database' }));
      assert.equal(offline.allowed, true);
      assert.equal(offline.catalog, 'built-ins only');
      const unknown = okResult(await callTool(session, 'check_sql', { sql: 'SELECT my_function(1)' }));
      assert.equal(unknown.allowed, false);
      assert.equal(unknown.reason, 'function_unknown');
      pgThrowaway('start', dir);
      await eventuallySucceeds(session, 'SELECT 1 AS one', [[1]]);
      okResult(await callTool(session, 'list_tables', {}));
      assert.equal(okResult(await callTool(session, 'check_sql', { sql: 'SELECT 1' })).catalog, 'live');
      assertCleanSession(session);
    } finally {
      await session.close();
    }
  });

  test('down at start over TCP: the error says connection refused', async () => {
    pgThrowaway('stop', dir);
    const session = await connect({ user: 'postgres', pg: { ...cluster, host: '127.0.0.1' } });
    try {
      const text = errorResult(await callTool(session, 'query', { sql: 'SELECT 2 AS two' }));
      assert.match(text, /refused/i);
      pgThrowaway('start', dir);
      await eventuallySucceeds(session, 'SELECT 2 AS two', [[2]]);
      assertCleanSession(session);
    } finally {
      await session.close();
    }
  });

  test('restart mid-session: a call fails with a clear error while down, and calls succeed after', async () => {
    const session = await connect({ user: 'postgres', pg: cluster, args: ['--pool-size', '2'] });
    try {
      await eventuallySucceeds(session, 'SELECT 3 AS three', [[3]]);
      pgThrowaway('stop', dir);
      const text = errorResult(await callTool(session, 'query', { sql: 'SELECT 4 AS four' }), 'query while down');
      assert.match(text, /connect|connection|terminat|refused|no such file|closed|unavailable|shut/i);
      assert.deepEqual(await session.client.ping(), {});
      pgThrowaway('start', dir);
      await eventuallySucceeds(session, 'SELECT 5 AS five', [[5]]);
      // Every pooled connection is usable again, not just one.
      const results = await Promise.all([1, 2, 3, 4].map((k) => callTool(session, 'query', { sql: `SELECT ${k} AS k` })));
      results.forEach((r, i) => assert.deepEqual(okResult(r).rows, [[i + 1]]));
      assertCleanSession(session);
    } finally {
      await session.close();
    }
  });
});
