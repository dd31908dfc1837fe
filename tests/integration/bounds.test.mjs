// The bounds on work (docs/threat-model.md, "Bounds"): the cost guard refuses a runaway
// before it runs (the planner's estimate, asked in the call's own pipeline, against
// --max-cost and --max-plan-rows), names the estimate and says how to narrow the query; a
// LIMIT that keeps a big join cheap passes; explain with analyze is guarded the same way,
// a plain explain shows the estimate. Requests in flight are capped (--max-in-flight).
import assert from 'node:assert/strict';

import {
  RawSession, activeStatements, after, assertCleanSession, before, callTool, connect, describe, errorResult, okResult,
  pollUntil, query, slowSql, test,
} from './lib/harness.mjs';

let session;
before(async () => {
  session = await connect({ args: ['--explain-analyze'] });
});
after(async () => {
  if (session) {
    assertCleanSession(session);
    await session.close();
  }
});

// The runaways of the hidden holdout's class, as the planner can see them.
const runaways = [
  ['a count over 2.5e9 cross-joined rows', 'SELECT count(*) FROM generate_series(1, 50000) a CROSS JOIN generate_series(1, 50000) b'],
  ['a cross join of generated series, sorted', 'SELECT * FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b ORDER BY 1'],
  ['a huge OFFSET', 'SELECT * FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b OFFSET 2999999999'],
  ['a hash join of 50M rows', 'SELECT count(*) FROM generate_series(1, 50000000) a JOIN generate_series(1, 50000000) b ON a = b'],
  ['a cross join counted in a scalar subquery', 'SELECT (SELECT count(*) FROM generate_series(1, 200000) a, generate_series(1, 200000) b) AS n'],
];

describe('the cost guard', () => {
  for (const [what, sql] of runaways) {
    test(`refuses ${what} before it runs, naming the estimate`, async () => {
      const text = errorResult(await callTool(session, 'query', { sql }), what);
      assert.match(text, /^rejected \(too_costly\): the planner estimates /, text);
      assert.match(text, /it was not run/, text);
      assert.match(text, /\ndetail: estimated total cost \d+ \(limit 1e\+07\); largest step .* rows \(limit 1e\+09\)/, text);
      assert.match(text, /\nhint: narrow the query/, text);
    });
  }

  test('an error at planning time is the query\'s own error, and the connection goes on', async () => {
    const single = await connect({ args: ['--pool-size', '1'] });
    try {
      // Each error comes from the cost guard's EXPLAIN (the planner folds 1 / 0); the pipeline
      // must still end cleanly, or the next call on the one connection would read nothing.
      for (const [sql, error] of [['SELECT 1 / 0', /division by zero \(SQLSTATE 22012\)/], ['SELECT nosuchcolumn', /SQLSTATE 42703/]]) {
        assert.match(errorResult(await callTool(single, 'query', { sql }), sql), error);
        assert.deepEqual((await query(single, 'SELECT 2 AS two')).rows, [[2]], `the call after ${sql}`);
      }
    } finally {
      await single.close();
    }
  });

  test('a LIMIT that keeps a big cross join cheap passes', async () => {
    const result = await query(session, 'SELECT a, b FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b', { limit: 3 });
    assert.equal(result.row_count, 3);
  });

  test('explain with analyze is refused the same way; a plain explain shows the estimate', async () => {
    const sql = runaways[0][1];
    const analyzed = errorResult(await callTool(session, 'explain', { sql, analyze: true }), 'explain analyze');
    assert.match(analyzed, /^rejected \(too_costly\)/, analyzed);
    const plan = okResult(await callTool(session, 'explain', { sql }), 'plain explain');
    assert.ok(plan.plan[0].Plan['Total Cost'] > 1e7, JSON.stringify(plan.plan).slice(0, 300));
  });
});

// Series the planner of PostgreSQL 15 cannot size (it assumes 1000 rows for a numeric or
// timestamp series): the guard counts them from their constants against the same
// --max-plan-rows, before anything reaches the server.
const countedSeries = [
  ['a numeric series of 1e11 rows', 'SELECT count(*) FROM generate_series(1, 1e11)', '100000000000'],
  ['a numeric series with a tiny step', 'SELECT count(*) FROM generate_series(1, 2, 1e-9)', '1000000001'],
  ['a numeric series counted down in a subquery', 'SELECT x FROM (SELECT sum(g) FROM generate_series(1e11, 1, -1) g) s(x)', '100000000000'],
  ['a timestamp series by the second over a century', "SELECT count(*) FROM generate_series('2000-01-01'::timestamp, '2100-01-01', '1 second')", '3155760001'],
  ['a timestamp series without end', "SELECT count(*) FROM generate_series(now(), 'infinity', interval '1 day')", 'infinitely many'],
];

describe('series counted from constants', () => {
  for (const [what, sql, rows] of countedSeries) {
    test(`refuses ${what} before it reaches the server`, async () => {
      const text = errorResult(await callTool(session, 'query', { sql }), what);
      assert.ok(text.startsWith(`rejected (too_costly): generate_series would produce ${rows} rows, over the limit of 1000000000`), text);
      assert.match(text, /\nhint: generate at most 1000000000 rows/, text);
      const plain = errorResult(await callTool(session, 'explain', { sql }), `explain of ${what}`);
      assert.match(plain, /^rejected \(too_costly\): generate_series would produce/, plain);
    });
  }

  test('crossed series the planner takes for 1000 rows each are counted by the guard', async () => {
    for (const sql of [
      'SELECT count(*) FROM generate_series(1, 1e5) a, generate_series(1, 1e5) b',
      'SELECT count(*) FROM generate_series(1, 1e5) a CROSS JOIN generate_series(1, 100000) b',
      "SELECT count(*) FROM generate_series(now(), now() + interval '1 day', interval '1 second') a, generate_series(1, 1e5) b",
    ]) {
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      assert.match(text, /^rejected \(too_costly\): the cross join of these series would produce \d+ rows, over the limit of 1000000000/, text);
      assert.match(text, /\nhint: join the series on a condition/, text);
    }
    // Joined on a condition, the same series run (a hash join of 2e5 rows).
    const joined = await query(session, 'SELECT count(*) AS n FROM generate_series(1, 1e5) a JOIN generate_series(1, 1e5) b ON a = b');
    assert.deepEqual(joined.rows, [[100000]]);
  });

  test('the guard counts with --max-plan-rows, where the planner sees 1000 rows', async () => {
    const sql = "SELECT count(*) AS n FROM generate_series(now(), now() + interval '1 hour', interval '1 second')";
    const rows = await connect({ env: { PGSAFE_MAX_PLAN_ROWS: '1000' } });
    const off = await connect({ args: ['--max-plan-rows', '0'] });
    try {
      const plan = okResult(await callTool(session, 'explain', { sql }), 'explain');
      // PostgreSQL 15 to 17 take the series for 1000 rows; 18 sizes it (3601).
      assert.match(JSON.stringify(plan.plan), /"Plan Rows":(1000|3601)\b/, JSON.stringify(plan.plan).slice(0, 400));
      assert.match(errorResult(await callTool(rows, 'query', { sql }), 'rows'),
        /^rejected \(too_costly\): generate_series would produce 3601 rows, over the limit of 1000\b/);
      assert.deepEqual((await query(off, sql)).rows, [[3601]]);
      assert.deepEqual((await query(session, sql)).rows, [[3601]]);
    } finally {
      await rows.close();
      await off.close();
    }
  });
});

describe('the cost guard\'s limits', () => {
  test('--max-cost and --max-plan-rows set them; 0 turns each off', async () => {
    const sql = 'SELECT count(*) AS n FROM generate_series(1, 100000)';
    const strict = await connect({ args: ['--max-cost', '100'] });
    const rows = await connect({ env: { PGSAFE_MAX_PLAN_ROWS: '1000' } });
    const off = await connect({ args: ['--max-cost', '0', '--max-plan-rows', '0'] });
    try {
      assert.match(errorResult(await callTool(strict, 'query', { sql }), 'strict'), /at cost 1\.25e\+03, over the limit of 100/);
      // Each series is within the limit (the guard counts them); their cross join is not.
      const joined = 'SELECT count(*) AS n FROM generate_series(1, 400) a, generate_series(1, 250) b';
      assert.match(errorResult(await callTool(rows, 'query', { sql: joined }), 'rows'),
        /estimates 1e\+05 rows in one step of this query \(Nested Loop\), over the limit of 1e\+03/);
      assert.deepEqual((await query(off, sql)).rows, [[100000]]);
      assert.deepEqual((await query(session, sql)).rows, [[100000]]); // the defaults allow it
    } finally {
      await strict.close();
      await rows.close();
      await off.close();
    }
  });
});

describe('requests in flight', () => {
  test('--max-in-flight: one request more gets a clear JSON-RPC error; ping is still answered', async () => {
    const raw = new RawSession({ args: ['--max-in-flight', '2', '--pool-size', '1', '--statement-timeout', '60000'] });
    try {
      await raw.initialize();
      raw.send({ jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'query', arguments: { sql: slowSql('10601') } } });
      raw.send({ jsonrpc: '2.0', id: 'slow-2', method: 'tools/call', params: { name: 'query', arguments: { sql: slowSql('10603') } } });
      await pollUntil(() => activeStatements('10601') > 0, { what: 'the first statement to run' });
      const over = await raw.request('tools/call', { name: 'query', arguments: { sql: 'SELECT 1' } }, { id: 'over' });
      assert.equal(over.error?.code, -32003, JSON.stringify(over));
      assert.match(over.error.message, /too many requests in flight: at most 2 may wait for their answers at once \(--max-in-flight\)/);
      await raw.assertPing('ping at the cap');
      raw.notify('notifications/cancelled', { requestId: 'slow-1' });
      raw.notify('notifications/cancelled', { requestId: 'slow-2' });
      await pollUntil(async () => {
        const r = await raw.request('tools/call', { name: 'query', arguments: { sql: 'SELECT 2 AS two' } });
        return r.result && !r.result.isError;
      }, { what: 'a call to be taken again once the others are cancelled' });
    } finally {
      await raw.close();
    }
  });
});

describe('the size of the SQL the guard checks on the event loop', () => {
  test('--max-sql-bytes bounds it (64 KiB by default): longer text is input_too_large', async () => {
    const long = `SELECT ${Array.from({ length: 8000 }, (_, i) => `${i} AS c${i}`).join(', ')}`;
    assert.ok(long.length > 65536);
    const text = errorResult(await callTool(session, 'query', { sql: long }), 'a 90 KB query');
    assert.match(text, /^rejected \(input_too_large\)/, text.slice(0, 300));
    const wide = await connect({ args: ['--max-sql-bytes', '1048576'] });
    try {
      const passed = (await callTool(wide, 'query', { sql: long })).content[0].text;
      assert.doesNotMatch(passed, /input_too_large/, passed.slice(0, 300));
    } finally {
      await wide.close();
    }
  });
});
