// The six tools: tools/list and a tools/call of each, over the fixture, as pgsafe_reader.
import assert from 'node:assert/strict';

import {
  DEFAULT_MAX_ROWS, PG, TOOL_NAMES, after, assertCleanSession, before, callTool, connect, describe,
  errorResult, okResult, psql, query, resultText, test,
} from './lib/harness.mjs';

let session;
before(async () => {
  session = await connect();
});
after(async () => {
  if (session) {
    assertCleanSession(session);
    await session.close();
  }
});

describe('tools/list', () => {
  test('lists the six tools with schemas and read-only annotations', async () => {
    const { tools, nextCursor } = await session.client.listTools();
    assert.equal(nextCursor, undefined);
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
    for (const tool of tools) {
      assert.equal(typeof tool.description, 'string', `${tool.name} description`);
      assert.ok(tool.description.length > 10);
      assert.equal(tool.inputSchema?.type, 'object', `${tool.name} inputSchema`);
      assert.equal(tool.outputSchema?.type, 'object', `${tool.name} outputSchema`);
      assert.deepEqual(tool.annotations && {
        readOnlyHint: tool.annotations.readOnlyHint,
        destructiveHint: tool.annotations.destructiveHint,
        idempotentHint: tool.annotations.idempotentHint,
        openWorldHint: tool.annotations.openWorldHint,
      }, { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }, `${tool.name} annotations`);
    }
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    assert.deepEqual(byName.query.inputSchema.required, ['sql']);
    assert.equal(byName.query.inputSchema.properties.sql.type, 'string');
    assert.equal(byName.query.inputSchema.properties.limit.type, 'integer');
    assert.deepEqual(byName.check_sql.inputSchema.required, ['sql']);
    assert.deepEqual(byName.explain.inputSchema.required, ['sql']);
    assert.equal(byName.explain.inputSchema.properties.analyze.type, 'boolean');
    assert.deepEqual(byName.describe_table.inputSchema.required, ['table']);
    assert.ok(byName.list_tables.inputSchema.properties.schema, 'list_tables has an optional schema');
    assert.ok(!byName.list_tables.inputSchema.required?.includes('schema'));
  });
});

describe('query', () => {
  test('typed values: null, booleans, integers, big int8 as strings, numeric as strings, json embedded, float specials', async () => {
    const result = await query(session, 'SELECT * FROM typed_values ORDER BY id');
    assert.deepEqual(result.columns, [
      { name: 'id', type: 'integer' }, { name: 'b', type: 'boolean' }, { name: 'i2', type: 'smallint' },
      { name: 'i4', type: 'integer' }, { name: 'i8', type: 'bigint' }, { name: 'n', type: 'numeric' },
      { name: 'f4', type: 'real' }, { name: 'f8', type: 'double precision' }, { name: 'j', type: 'json' },
      { name: 'jb', type: 'jsonb' }, { name: 't', type: 'text' }, { name: 'd', type: 'date' },
      { name: 'arr', type: 'integer[]' }, { name: 'o', type: 'oid' },
    ]);
    assert.equal(result.row_count, 4);
    assert.equal(result.truncated, false);
    assert.equal(result.truncation, null);
    assert.equal(result.cells_cut, 0);
    assert.deepEqual(result.rows[0], [1, true, 32767, -2147483648, 9007199254740991, '12345678901234567890.123456789', 1.5, 0.25,
      { a: [1, 2, { b: null }], s: 'x' }, { k: true, n: 1.5 }, 'plain', '2024-02-29', '{1,2,3}', 42]);
    assert.deepEqual(result.rows[1], [2, false, -1, 0, '9007199254740993', '-0.000000000000000000001', 'Infinity', 'NaN',
      [], 'just a string', '', '1999-12-31', '{}', 0]);
    assert.deepEqual(result.rows[2], [3, null, null, null, '-9223372036854775808', null, '-Infinity', '-Infinity',
      null, null, null, null, null, null]);
    assert.deepEqual(result.rows[3], [4, true, 0, 7, -42, '0', 0, 'Infinity', null, null,
      'tab\there\nnewline \\ backslash', '2000-01-01', '{NULL,5}', 4294967295]);
  });

  test('the result describes what ran: applied limit, limit action, executed SQL, elapsed time', async () => {
    const result = await query(session, 'SELECT id, name FROM customers ORDER BY id');
    assert.deepEqual(result.rows, [[1, 'alice'], [2, 'bob'], [3, 'carol']]);
    assert.equal(result.applied_limit, DEFAULT_MAX_ROWS);
    assert.equal(result.limit_action, 'injected');
    assert.match(result.executed_sql, new RegExp(`LIMIT ${DEFAULT_MAX_ROWS + 1}\\b`));
    assert.match(result.executed_sql, /customers/);
    assert.equal(typeof result.elapsed_ms, 'number');
    assert.ok(result.elapsed_ms >= 0);
  });

  test('text rendering: summary line, typed header, tab-separated rows, \\N for NULL, COPY escapes', async () => {
    const result = await callTool(session, 'query', { sql: 'SELECT id, t FROM typed_values WHERE id IN (2, 3, 4) ORDER BY id' });
    okResult(result);
    const lines = resultText(result).split('\n');
    assert.match(lines[0], new RegExp(`^3 rows · limit ${DEFAULT_MAX_ROWS} · [0-9.]+ ms$`));
    // The rows sit inside a fence with a random boundary (mcp/fence.h).
    const open = lines[1].match(/^<(untrusted-data-[0-9a-f]{32})>$/);
    assert.ok(open, lines[1]);
    assert.equal(lines[2], 'id:integer\tt:text');
    assert.equal(lines[3], '2\t');
    assert.equal(lines[4], '3\t\\N');
    assert.equal(lines[5], '4\ttab\\there\\nnewline \\\\ backslash');
    assert.equal(lines[6], `</${open[1]}>`);
  });

  test('a constant LIMIT within bounds is kept', async () => {
    const result = await query(session, 'SELECT n FROM numbers ORDER BY n LIMIT 5');
    assert.deepEqual(result.rows, [[1], [2], [3], [4], [5]]);
    assert.equal(result.limit_action, 'kept');
    assert.equal(result.truncated, false);
    assert.equal(result.truncation, null);
  });

  test('more rows than max rows: truncated with reason row_limit and a hint line in the text', async () => {
    const raw = await callTool(session, 'query', { sql: 'SELECT n FROM numbers ORDER BY n' });
    const result = okResult(raw);
    assert.equal(result.row_count, DEFAULT_MAX_ROWS);
    assert.equal(result.rows.length, DEFAULT_MAX_ROWS);
    assert.deepEqual(result.rows[DEFAULT_MAX_ROWS - 1], [DEFAULT_MAX_ROWS]);
    assert.equal(result.truncated, true);
    assert.deepEqual(result.truncation, { reason: 'row_limit', limit: DEFAULT_MAX_ROWS });
    const lines = resultText(raw).trimEnd().split('\n');
    assert.match(lines.at(-1), /^truncated: /);
    assert.ok(lines.at(-1).includes(String(DEFAULT_MAX_ROWS)));
  });

  test('a larger constant LIMIT is clamped', async () => {
    const result = await query(session, 'SELECT n FROM numbers ORDER BY n LIMIT 5000');
    assert.equal(result.limit_action, 'clamped');
    assert.equal(result.row_count, DEFAULT_MAX_ROWS);
    assert.equal(result.truncated, true);
  });

  test('the limit argument lowers the row limit for one call', async () => {
    const result = await query(session, 'SELECT n FROM numbers ORDER BY n', { limit: 10 });
    assert.equal(result.row_count, 10);
    assert.deepEqual(result.rows.map((r) => r[0]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(result.applied_limit, 10);
    assert.equal(result.truncated, true);
    assert.deepEqual(result.truncation, { reason: 'row_limit', limit: 10 });
    assert.match(result.executed_sql, /LIMIT 11\b/);
    const exact = await query(session, 'SELECT n FROM numbers WHERE n <= 10 ORDER BY n', { limit: 10 });
    assert.equal(exact.row_count, 10);
    assert.equal(exact.truncated, false, 'exactly limit rows is not a truncation');
  });

  test('limit 0 is refused; a limit above max rows is capped at it', async () => {
    errorResult(await callTool(session, 'query', { sql: 'SELECT 1', limit: 0 }), 'limit 0');
    errorResult(await callTool(session, 'query', { sql: 'SELECT 1', limit: -5 }), 'limit -5');
    const above = await query(session, 'SELECT n FROM numbers ORDER BY n', { limit: DEFAULT_MAX_ROWS + 500 });
    assert.equal(above.applied_limit, DEFAULT_MAX_ROWS);
    assert.equal(above.row_count, DEFAULT_MAX_ROWS);
    assert.deepEqual(above.truncation, { reason: 'row_limit', limit: DEFAULT_MAX_ROWS });
  });

  test('a database error is an isError result with PostgreSQL\'s message', async () => {
    const text = errorResult(await callTool(session, 'query', { sql: 'SELECT 1 / (n - n) FROM numbers' }));
    assert.match(text, /division by zero/);
    const missing = errorResult(await callTool(session, 'query', { sql: 'SELECT * FROM no_such_table' }));
    assert.match(missing, /no_such_table/);
  });

  test('a table the role may not read is an error, not data', async () => {
    const text = errorResult(await callTool(session, 'query', { sql: 'SELECT * FROM secret.keys' }));
    assert.doesNotMatch(text, /hunter2/);
  });

  test('unicode values and awkward column names survive exactly', async () => {
    const result = await query(session, `SELECT 'héllo ✓ 😀' AS "ünï code", 1 AS "tab	name", 2 AS "quote""d", 3 AS a, 4 AS a`);
    assert.deepEqual(result.columns.map((c) => c.name), ['ünï code', 'tab\tname', 'quote"d', 'a', 'a']);
    assert.deepEqual(result.rows, [['héllo ✓ 😀', 1, 2, 3, 4]]);
  });

  test('zero rows', async () => {
    const raw = await callTool(session, 'query', { sql: 'SELECT n, label FROM numbers WHERE n < 0' });
    const result = okResult(raw);
    assert.deepEqual(result.rows, []);
    assert.equal(result.row_count, 0);
    assert.equal(result.truncated, false);
    assert.deepEqual(result.columns, [{ name: 'n', type: 'integer' }, { name: 'label', type: 'text' }]);
    const lines = resultText(raw).trimEnd().split('\n');
    assert.match(lines[0], /^0 rows · /);
    assert.match(lines[1], /^<untrusted-data-[0-9a-f]{32}>$/);
    assert.equal(lines[2], 'n:integer\tlabel:text');
  });

  test('other types come back in their PostgreSQL text form', async () => {
    const result = await query(session, `SELECT '\\x00ff'::bytea AS b, interval '1 day 2 hours' AS i, '2024-01-02 03:04:05+00'::timestamptz AT TIME ZONE 'UTC' AS ts, 'a'::char(3) AS c`);
    assert.deepEqual(result.rows, [['\\x00ff', '1 day 02:00:00', '2024-01-02 03:04:05', 'a  ']]);
  });

  test('json and jsonb scalars are embedded as JSON too', async () => {
    const result = await query(session, `SELECT '1'::json AS a, 'true'::jsonb AS b, '2.5'::json AS c, '"s"'::jsonb AS d, '{"x": -7}'::jsonb -> 'x' AS e, '[null]'::json -> 0 AS f`);
    assert.deepEqual(result.rows, [[1, true, 2.5, 's', -7, null]]);
  });

  test('the byte budget cuts the result and says so', async () => {
    const budget = await connect({ args: ['--max-result-bytes', '2000'], listTools: true });
    try {
      const result = await query(budget, 'SELECT label FROM numbers ORDER BY n');
      assert.equal(result.truncated, true);
      assert.equal(result.truncation?.reason, 'byte_budget');
      assert.equal(result.truncation?.max_result_bytes, 2000);
      assert.ok(result.row_count > 0 && result.row_count < DEFAULT_MAX_ROWS, `row_count ${result.row_count}`);
      assert.equal(result.rows.length, result.row_count);
      result.rows.forEach((row, i) => assert.deepEqual(row, [`n${i + 1}`]));
      assertCleanSession(budget);
    } finally {
      await budget.close();
    }
  });

  test('the byte budget bounds the bytes sent: NULLs, empty strings and escapes count, text and structuredContent together', async () => {
    const budget = 64 * 1024;
    const session64 = await connect({ args: ['--max-result-bytes', String(budget)] });
    try {
      const nulls = Array.from({ length: 1600 }, (_, i) => `NULL AS c${i}`).join(', ');
      const empties = Array.from({ length: 400 }, (_, i) => `'' AS e${i}`).join(', ');
      const cases = [
        ['1,600 NULL columns', `SELECT ${nulls} FROM generate_series(1, 1000)`],
        ['400 empty strings', `SELECT ${empties} FROM generate_series(1, 1000)`],
        ['quotes and control characters', `SELECT repeat(E'"\\x01\\t\\\\', 1000) AS v FROM generate_series(1, 1000)`],
      ];
      for (const [what, sql] of cases) {
        const raw = await callTool(session64, 'query', { sql });
        const result = okResult(raw, what);
        assert.equal(result.truncated, true, what);
        assert.equal(result.truncation?.reason, 'byte_budget', what);
        assert.ok(result.row_count > 0, `${what}: some rows fit`);
        // What the rows add, in structuredContent and the text: everything but the columns
        // (twice: their JSON and the text's header line) and a fixed envelope.
        const sent = Buffer.byteLength(JSON.stringify(raw));
        const columns = Buffer.byteLength(JSON.stringify(result.columns));
        assert.ok(sent <= budget + 2 * columns + 4096, `${what}: ${sent} bytes sent for a ${budget}-byte budget`);
      }
      assertCleanSession(session64);
    } finally {
      await session64.close();
    }
  });

  test('--max-cell-bytes cuts long values with … and counts them; cut json comes back as a string', async () => {
    const cells = await connect({ args: ['--max-cell-bytes', '16'] });
    try {
      const result = await query(cells,
        `SELECT repeat('x', 100) AS long, ('{"a": "' || repeat('y', 50) || '"}')::json AS j, 'short' AS s`);
      assert.equal(result.cells_cut, 2);
      const [long, j, s] = result.rows[0];
      assert.equal(typeof long, 'string');
      assert.ok(long.endsWith('…'), long);
      assert.match(long, /^x+…$/);
      assert.ok(Buffer.byteLength(long.slice(0, -1)) <= 16, long);
      assert.equal(typeof j, 'string', 'a cut json value is a string');
      assert.ok(j.endsWith('…'));
      assert.ok(j.startsWith('{"a": "y'));
      assert.equal(s, 'short');
      // A cut never splits a UTF-8 sequence.
      const multi = await query(cells, `SELECT repeat('é', 20) AS e, repeat('😀', 10) AS f`);
      const [e, f] = multi.rows[0];
      assert.match(e, /^é+…$/);
      assert.match(f, /^(😀)+…$/u);
      assert.ok(Buffer.byteLength(e.slice(0, -1)) <= 16 && Buffer.byteLength(f.slice(0, -1)) <= 16);
      assertCleanSession(cells);
    } finally {
      await cells.close();
    }
  });
});

describe('search_path', () => {
  test('--schemas pins the search_path: unqualified names resolve in those schemas, in order', async () => {
    errorResult(await callTool(session, 'query', { sql: 'SELECT count(*) FROM kpis' }), 'kpis is not on the default search_path');
    const pinned = await connect({ args: ['--schemas', 'analytics,public'] });
    try {
      assert.deepEqual(okResult(await callTool(pinned, 'query', { sql: 'SELECT count(*) AS c FROM kpis' })).rows, [[2]]);
      assert.deepEqual(okResult(await callTool(pinned, 'query', { sql: 'SELECT count(*) AS c FROM orders' })).rows, [[4]]);
      const described = okResult(await callTool(pinned, 'describe_table', { table: 'kpis' }));
      assert.equal(described.schema, 'analytics');
      assertCleanSession(pinned);
    } finally {
      await pinned.close();
    }
  });

  test('a search_path change inside the SQL is refused', async () => {
    errorResult(await callTool(session, 'query', { sql: "SELECT set_config('search_path', 'analytics', true)" }));
  });
});

describe('check_sql', () => {
  test('an allowed query: the verdict and the rewrite, nothing executed', async () => {
    const result = okResult(await callTool(session, 'check_sql', { sql: 'SELECT * FROM orders' }));
    assert.equal(result.allowed, true);
    assert.match(result.rewritten_sql, new RegExp(`LIMIT ${DEFAULT_MAX_ROWS + 1}\\b`));
    assert.equal(result.limit_action, 'injected');
    assert.equal(result.applied_limit, DEFAULT_MAX_ROWS, 'applied_limit as query reports it');
    assert.equal(result.catalog, 'live');
    for (const key of ['reason', 'message', 'detail', 'hint', 'position']) assert.ok(key in result, `${key} is present (null when absent)`);
    assert.equal(result.detail, null);
    assert.equal(result.position, null);
  });

  test('a rejection is a normal result carrying the verdict', async () => {
    const raw = await callTool(session, 'check_sql', { sql: 'DELETE FROM orders' });
    assert.notEqual(raw.isError, true);
    const result = okResult(raw);
    assert.equal(result.allowed, false);
    assert.equal(typeof result.reason, 'string');
    assert.ok(result.reason.length > 0);
    assert.equal(typeof result.message, 'string');
    assert.equal(result.rewritten_sql, null);
    assert.ok(resultText(raw).includes(result.reason));
  });

  test('a user function is judged by the live catalog', async () => {
    const stable = okResult(await callTool(session, 'check_sql', { sql: 'SELECT discounted(10, 50)' }));
    assert.equal(stable.allowed, true);
    assert.equal(stable.catalog, 'live');
    const volatile = okResult(await callTool(session, 'check_sql', { sql: "SELECT log_note('x')" }));
    assert.equal(volatile.allowed, false);
    assert.notEqual(volatile.reason, 'function_unknown');
  });

  test('pg_sleep: reason, message, detail, hint and position', async () => {
    const result = okResult(await callTool(session, 'check_sql', { sql: 'SELECT pg_sleep(10)' }));
    assert.equal(result.allowed, false);
    assert.match(result.message, /pg_sleep/);
    assert.equal(typeof result.hint, 'string');
    assert.equal(result.position, 8);
  });

  test('a parse error carries PostgreSQL\'s message and position', async () => {
    const result = okResult(await callTool(session, 'check_sql', { sql: 'SELEC 1' }));
    assert.equal(result.allowed, false);
    assert.match(result.message, /syntax error/);
    assert.equal(result.position, 1);
  });
});

describe('explain', () => {
  test('EXPLAIN (FORMAT JSON) of a guarded query', async () => {
    const result = okResult(await callTool(session, 'explain', { sql: 'SELECT * FROM orders WHERE customer_id = 1' }));
    assert.ok(Array.isArray(result.plan), 'plan is PostgreSQL\'s JSON array');
    assert.equal(typeof result.plan[0]?.Plan?.['Node Type'], 'string');
    assert.equal(result.plan[0].Plan['Actual Rows'], undefined, 'no ANALYZE');
    assert.equal(result.analyze, false);
    assert.match(result.executed_sql, /orders/);
    assert.match(result.executed_sql, /LIMIT/);
  });

  test('explain of a rejected query is an isError result', async () => {
    const text = errorResult(await callTool(session, 'explain', { sql: 'DELETE FROM orders' }));
    assert.match(text, /^rejected \(/);
  });

  test('analyze: true without --explain-analyze is refused and says so', async () => {
    const text = errorResult(await callTool(session, 'explain', { sql: 'SELECT count(*) FROM numbers', analyze: true }));
    assert.match(text, /--explain-analyze/);
  });

  test('analyze: true with --explain-analyze runs it', async () => {
    const analyzing = await connect({ args: ['--explain-analyze'] });
    try {
      const result = okResult(await callTool(analyzing, 'explain', { sql: 'SELECT count(*) FROM numbers', analyze: true }));
      assert.equal(result.analyze, true);
      assert.equal(typeof result.plan[0]?.['Execution Time'], 'number');
      assert.equal(typeof result.plan[0]?.Plan?.['Actual Rows'], 'number');
      const before = psql('SELECT count(*) FROM audit_trail');
      errorResult(await callTool(analyzing, 'explain', { sql: "SELECT log_note('explain analyze')", analyze: true }));
      assert.equal(psql('SELECT count(*) FROM audit_trail'), before);
      assertCleanSession(analyzing);
    } finally {
      await analyzing.close();
    }
  });
});

describe('list_schemas', () => {
  test('the visible schemas with owner, comment and table count', async () => {
    const { schemas } = okResult(await callTool(session, 'list_schemas', {}));
    const names = schemas.map((s) => s.name);
    for (const name of ['public', 'analytics', 'archive', 'wide']) assert.ok(names.includes(name), `${name} listed`);
    for (const name of ['pg_catalog', 'information_schema', 'pg_toast', 'secret']) assert.ok(!names.includes(name), `${name} hidden`);
    assert.ok(!names.some((n) => n.startsWith('pg_temp') || n.startsWith('pg_toast_temp')));
    const analytics = schemas.find((s) => s.name === 'analytics');
    assert.equal(analytics.comment, 'derived figures');
    assert.equal(analytics.owner, PG.superuser);
    assert.equal(analytics.tables, 1);
    assert.equal(schemas.find((s) => s.name === 'wide').tables, 120);
    assert.equal(schemas.find((s) => s.name === 'public').comment, 'the shop');
  });

  test('the superuser sees the schema the reader may not use; --schemas narrows the list', async () => {
    const su = await connect({ user: PG.superuser });
    const narrow = await connect({ args: ['--schemas', 'analytics,public'] });
    try {
      const all = okResult(await callTool(su, 'list_schemas', {})).schemas.map((s) => s.name);
      assert.ok(all.includes('secret'));
      const some = okResult(await callTool(narrow, 'list_schemas', {})).schemas.map((s) => s.name).sort();
      assert.deepEqual(some, ['analytics', 'public']);
    } finally {
      await su.close();
      await narrow.close();
    }
  });
});

describe('list_tables', () => {
  const PUBLIC_RELATIONS = {
    audit_trail: 'table', customer_totals: 'view', customers: 'table', daily_sales: 'materialized view',
    events: 'partitioned table', numbers: 'table', order_items: 'table', orders: 'table', typed_values: 'table',
  };

  test('public: tables, views, the partitioned parent (not its partitions), comments and row estimates', async () => {
    const { tables } = okResult(await callTool(session, 'list_tables', { schema: 'public' }));
    const got = Object.fromEntries(tables.map((t) => [t.name, t.kind]));
    assert.deepEqual(got, PUBLIC_RELATIONS);
    for (const t of tables) assert.equal(t.schema, 'public');
    const byName = Object.fromEntries(tables.map((t) => [t.name, t]));
    assert.equal(byName.orders.comment, 'one row per order');
    assert.equal(byName.customer_totals.comment, 'spend per customer');
    assert.equal(byName.numbers.comment, null);
    // Row estimates are pg_class.reltuples, null when never analyzed.
    const estimates = Object.fromEntries(psql(
      "SELECT relname, reltuples FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'm')",
    ).split('\n').map((line) => line.split('\t')));
    for (const [name, reltuples] of Object.entries(estimates)) {
      if (!(name in byName)) continue;
      const expected = Number(reltuples) < 0 ? null : Number(reltuples);
      assert.equal(byName[name].row_estimate, expected, `row_estimate of ${name}`);
    }
    assert.equal(byName.numbers.row_estimate, 50000);
  });

  test('without a schema: the visible relations, partitions still hidden', async () => {
    const { tables } = okResult(await callTool(session, 'list_tables', {}));
    const names = tables.map((t) => `${t.schema}.${t.name}`);
    assert.ok(names.includes('public.orders'));
    assert.ok(!names.includes('public.events_2024'));
    assert.ok(!names.includes('public.events_2025'));
    assert.ok(!names.some((n) => n.startsWith('secret.') || n.startsWith('pg_catalog.')));
  });

  test('another schema', async () => {
    const { tables } = okResult(await callTool(session, 'list_tables', { schema: 'analytics' }));
    assert.deepEqual(tables.map(({ schema, name, kind, comment }) => ({ schema, name, kind, comment })),
      [{ schema: 'analytics', name: 'kpis', kind: 'table', comment: 'key performance indicators' }]);
  });

  test('an unknown or invisible schema is an error', async () => {
    for (const schema of ['no_such_schema', 'secret', 'pg_catalog']) {
      const text = errorResult(await callTool(session, 'list_tables', { schema }), schema);
      assert.ok(text.includes(schema), `names ${schema}: ${text}`);
    }
  });
});

describe('describe_table', () => {
  test('orders: columns, primary key, foreign keys both ways, indexes, comments', async () => {
    const t = okResult(await callTool(session, 'describe_table', { table: 'orders' }));
    assert.equal(t.schema, 'public');
    assert.equal(t.name, 'orders');
    assert.equal(t.kind, 'table');
    assert.equal(t.comment, 'one row per order');
    assert.deepEqual(t.columns.map((c) => [c.name, c.type, c.nullable]), [
      ['id', 'bigint', false], ['customer_id', 'integer', false], ['total', 'numeric(12,2)', false],
      ['status', 'text', false], ['placed_on', 'date', false],
    ]);
    const columns = Object.fromEntries(t.columns.map((c) => [c.name, c]));
    assert.match(columns.id.default, /nextval\('orders_id_seq'/);
    assert.match(columns.status.default, /'open'/);
    assert.equal(columns.placed_on.default, null);
    assert.equal(columns.total.comment, 'in euros, VAT included');
    assert.equal(columns.status.comment, null);
    assert.deepEqual(t.primary_key, ['id']);
    assert.deepEqual(t.foreign_keys, [{
      name: 'orders_customer_id_fkey', columns: ['customer_id'],
      references: { schema: 'public', table: 'customers', columns: ['id'] },
    }]);
    assert.deepEqual(t.referenced_by, [{
      name: 'order_items_order_id_fkey', schema: 'public', table: 'order_items', columns: ['order_id'], referenced_columns: ['id'],
    }]);
    const indexes = Object.fromEntries(t.indexes.map((i) => [i.name, i]));
    assert.deepEqual(Object.keys(indexes).sort(), ['orders_customer_id_idx', 'orders_pkey']);
    assert.equal(indexes.orders_pkey.primary, true);
    assert.equal(indexes.orders_pkey.unique, true);
    assert.equal(indexes.orders_customer_id_idx.primary, false);
    assert.equal(indexes.orders_customer_id_idx.unique, false);
    assert.match(indexes.orders_customer_id_idx.definition, /\(customer_id\)/);
  });

  test('a composite primary key; a column comment', async () => {
    const items = okResult(await callTool(session, 'describe_table', { table: 'order_items' }));
    assert.deepEqual(items.primary_key, ['order_id', 'line']);
    assert.deepEqual(items.referenced_by, []);
    const customers = okResult(await callTool(session, 'describe_table', { table: 'customers' }));
    assert.equal(customers.columns.find((c) => c.name === 'email').comment, 'contact address, may be missing');
    assert.equal(customers.columns.find((c) => c.name === 'email').nullable, true);
    assert.deepEqual(customers.foreign_keys, []);
    assert.deepEqual(customers.referenced_by.map((r) => r.table), ['orders']);
  });

  test('schema.table, the schema argument, views and partitioned tables', async () => {
    const dotted = okResult(await callTool(session, 'describe_table', { table: 'analytics.kpis' }));
    const separate = okResult(await callTool(session, 'describe_table', { table: 'kpis', schema: 'analytics' }));
    assert.deepEqual(dotted, separate);
    assert.equal(dotted.schema, 'analytics');
    assert.deepEqual(dotted.primary_key, ['name']);
    const view = okResult(await callTool(session, 'describe_table', { table: 'customer_totals' }));
    assert.equal(view.kind, 'view');
    assert.equal(view.primary_key, null);
    assert.deepEqual(view.columns.map((c) => c.name), ['id', 'name', 'total']);
    const events = okResult(await callTool(session, 'describe_table', { table: 'events' }));
    assert.equal(events.kind, 'partitioned table');
  });

  test('a name found in several schemas asks for the schema', async () => {
    const text = errorResult(await callTool(session, 'describe_table', { table: 'kpis' }));
    assert.match(text, /analytics/);
    assert.match(text, /archive/);
    assert.match(text, /schema/);
    const archive = okResult(await callTool(session, 'describe_table', { table: 'kpis', schema: 'archive' }));
    assert.deepEqual(archive.columns.map((c) => c.name), ['name', 'value', 'year']);
  });

  test('a missing table is an isError result saying where it looked', async () => {
    const text = errorResult(await callTool(session, 'describe_table', { table: 'no_such_table' }));
    assert.match(text, /no_such_table/);
    assert.match(text, /every schema|any schema/, 'default: every schema the role can use');
    const pinned = await connect({ args: ['--schemas', 'analytics,wide'] });
    try {
      const narrow = errorResult(await callTool(pinned, 'describe_table', { table: 'orders' }));
      assert.match(narrow, /analytics/);
      assert.match(narrow, /wide/);
    } finally {
      await pinned.close();
    }
    const hidden = errorResult(await callTool(session, 'describe_table', { table: 'secret.keys' }));
    assert.match(hidden, /keys/);
  });
});
