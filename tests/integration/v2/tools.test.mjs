// The tool cases of the 1.x suite (../tools.test.mjs, ../guard.test.mjs, ../bounds.test.mjs,
// ../policy.test.mjs) with the v2 client in 2026-07-28, over stdio and over Streamable HTTP:
// typed values, what ran, the text rendering and its fence, limits, the byte budget and the
// cell cut, search_path, check_sql, explain, the listing tools, guard rejections, the cost
// guard and the data owner's policy. docs/testing.md lists each 1.x case and its counterpart.
import assert from 'node:assert/strict';

import {
  TRANSPORTS, after, before, callTool, describe, errorResult, okResult, openSession, psql, test,
} from './lib.mjs';

const MAX_ROWS = 1000;
const text = (result) => result.content[0].text;

for (const kind of TRANSPORTS) {
  describe(`tools over ${kind}`, () => {
    let session;
    before(async () => {
      session = await openSession(kind);
    });
    after(async () => {
      await session?.close();
    });
    const call = (name, args = {}) => callTool(session, name, args);
    const query = async (sql, extra = {}) => okResult(await call('query', { sql, ...extra }), sql);

    /** A second server with other flags, closed when fn ends. */
    async function withServer(options, fn) {
      const other = await openSession(kind, options);
      try {
        return await fn((name, args = {}) => callTool(other, name, args));
      } finally {
        await other.close();
      }
    }

    test('tools/list: descriptions, annotations and the arguments each tool takes', async () => {
      const { tools } = await session.client.listTools();
      for (const tool of tools) {
        assert.ok(tool.description.length > 10, tool.name);
        const { readOnlyHint, destructiveHint, idempotentHint, openWorldHint } = tool.annotations;
        assert.deepEqual({ readOnlyHint, destructiveHint, idempotentHint, openWorldHint },
          { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }, tool.name);
      }
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      assert.deepEqual(byName.query.inputSchema.required, ['sql']);
      assert.equal(byName.query.inputSchema.properties.limit.type, 'integer');
      assert.equal(byName.explain.inputSchema.properties.analyze.type, 'boolean');
      assert.deepEqual(byName.describe_table.inputSchema.required, ['table']);
      assert.ok(!byName.list_tables.inputSchema.required?.includes('schema'));
    });

    test('query: every typed value of the fixture', async () => {
      const result = await query('SELECT * FROM typed_values ORDER BY id');
      assert.deepEqual(result.columns.map((c) => c.type), ['integer', 'boolean', 'smallint', 'integer', 'bigint', 'numeric',
        'real', 'double precision', 'json', 'jsonb', 'text', 'date', 'integer[]', 'oid']);
      assert.equal(result.cells_cut, 0);
      assert.equal(result.truncation, null);
      assert.deepEqual(result.rows[0], [1, true, 32767, -2147483648, 9007199254740991, '12345678901234567890.123456789', 1.5, 0.25,
        { a: [1, 2, { b: null }], s: 'x' }, { k: true, n: 1.5 }, 'plain', '2024-02-29', '{1,2,3}', 42]);
      assert.deepEqual(result.rows[1], [2, false, -1, 0, '9007199254740993', '-0.000000000000000000001', 'Infinity', 'NaN',
        [], 'just a string', '', '1999-12-31', '{}', 0]);
      assert.deepEqual(result.rows[2], [3, null, null, null, '-9223372036854775808', null, '-Infinity', '-Infinity',
        null, null, null, null, null, null]);
      assert.deepEqual(result.rows[3], [4, true, 0, 7, -42, '0', 0, 'Infinity', null, null,
        'tab\there\nnewline \\ backslash', '2000-01-01', '{NULL,5}', 4294967295]);
      const other = await query(`SELECT '\\x00ff'::bytea AS b, interval '1 day 2 hours' AS i, 'a'::char(3) AS c, '[null]'::json -> 0 AS f, '2.5'::json AS g`);
      assert.deepEqual(other.rows, [['\\x00ff', '1 day 02:00:00', 'a  ', null, 2.5]]);
    });

    test('query: what ran, the text rendering inside a fresh fence, zero rows', async () => {
      const ran = await query('SELECT id, name FROM customers ORDER BY id');
      assert.deepEqual(ran.rows, [[1, 'alice'], [2, 'bob'], [3, 'carol']]);
      assert.equal(ran.applied_limit, MAX_ROWS);
      assert.match(ran.executed_sql, /LIMIT 1001\b/);
      assert.ok(ran.elapsed_ms >= 0);
      const raw = await call('query', { sql: 'SELECT id, t FROM typed_values WHERE id IN (2, 3, 4) ORDER BY id' });
      const lines = text(raw).split('\n');
      assert.match(lines[0], /^3 rows · limit 1000 · [0-9.]+ ms$/);
      const open = lines[1].match(/^<(untrusted-data-[0-9a-f]{32})>$/);
      assert.ok(open, lines[1]);
      assert.deepEqual(lines.slice(2, 7), ['id:integer\tt:text', '2\t', '3\t\\N', '4\ttab\\there\\nnewline \\\\ backslash', `</${open[1]}>`]);
      const again = text(await call('query', { sql: 'SELECT 1' })).split('\n')[1];
      assert.notEqual(again, lines[1], 'a fence is per call');
      const none = await call('query', { sql: 'SELECT n, label FROM numbers WHERE n < 0' });
      assert.deepEqual(okResult(none).rows, []);
      assert.match(text(none), /^0 rows · /);
      const names = await query(`SELECT 'héllo ✓ 😀' AS "ünï code", 1 AS "tab	name", 2 AS "quote""d"`);
      assert.deepEqual(names.columns.map((c) => c.name), ['ünï code', 'tab\tname', 'quote"d']);
      assert.deepEqual(names.rows, [['héllo ✓ 😀', 1, 2]]);
    });

    test('query: limits kept, clamped, lowered per call, refused at 0, capped at max rows', async () => {
      assert.equal((await query('SELECT n FROM numbers ORDER BY n LIMIT 5')).limit_action, 'kept');
      const clamped = await query('SELECT n FROM numbers ORDER BY n LIMIT 5000');
      assert.equal(clamped.limit_action, 'clamped');
      assert.equal(clamped.row_count, MAX_ROWS);
      const raw = await call('query', { sql: 'SELECT n FROM numbers ORDER BY n' });
      assert.deepEqual(okResult(raw).truncation, { reason: 'row_limit', limit: MAX_ROWS });
      assert.match(text(raw).trimEnd().split('\n').at(-1), /^truncated: .*1000/);
      const lowered = await query('SELECT n FROM numbers ORDER BY n', { limit: 10 });
      assert.deepEqual(lowered.rows.map((r) => r[0]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.match(lowered.executed_sql, /LIMIT 11\b/);
      assert.equal((await query('SELECT n FROM numbers WHERE n <= 10', { limit: 10 })).truncated, false);
      errorResult(await call('query', { sql: 'SELECT 1', limit: 0 }), 'limit 0');
      errorResult(await call('query', { sql: 'SELECT 1', limit: -5 }), 'limit -5');
      assert.equal((await query('SELECT n FROM numbers', { limit: MAX_ROWS + 500 })).applied_limit, MAX_ROWS);
    });

    test('query: database errors, and a table the role may not read, are errors, not data', async () => {
      assert.match(errorResult(await call('query', { sql: 'SELECT 1 / (n - n) FROM numbers' })), /division by zero/);
      assert.match(errorResult(await call('query', { sql: 'SELECT * FROM no_such_table' })), /no_such_table/);
      assert.doesNotMatch(errorResult(await call('query', { sql: 'SELECT * FROM secret.keys' })), /hunter2/);
    });

    test('the byte budget cuts the result and says so (--max-result-bytes)', async () => {
      await withServer({ args: ['--max-result-bytes', '2000'] }, async (other) => {
        const result = okResult(await other('query', { sql: 'SELECT label FROM numbers ORDER BY n' }));
        assert.equal(result.truncated, true);
        assert.deepEqual(result.truncation, { reason: 'byte_budget', max_result_bytes: 2000 });
        assert.ok(result.row_count > 0 && result.row_count < MAX_ROWS, `row_count ${result.row_count}`);
        result.rows.forEach((row, i) => assert.deepEqual(row, [`n${i + 1}`]));
      });
    });

    test('the byte budget bounds the bytes sent: NULLs, empty strings and escapes count', async () => {
      const budget = 64 * 1024;
      await withServer({ args: ['--max-result-bytes', String(budget)] }, async (other) => {
        const nulls = Array.from({ length: 1600 }, (_, i) => `NULL AS c${i}`).join(', ');
        const empties = Array.from({ length: 400 }, (_, i) => `'' AS e${i}`).join(', ');
        for (const [what, sql] of [
          ['1,600 NULL columns', `SELECT ${nulls} FROM generate_series(1, 1000)`],
          ['400 empty strings', `SELECT ${empties} FROM generate_series(1, 1000)`],
          ['quotes and control characters', `SELECT repeat(E'"\\x01\\t\\\\', 1000) AS v FROM generate_series(1, 1000)`],
        ]) {
          const raw = await other('query', { sql });
          const result = okResult(raw, what);
          assert.equal(result.truncation?.reason, 'byte_budget', what);
          assert.ok(result.row_count > 0, `${what}: some rows fit`);
          const sent = Buffer.byteLength(JSON.stringify(raw));
          const columns = Buffer.byteLength(JSON.stringify(result.columns));
          assert.ok(sent <= budget + 2 * columns + 4096, `${what}: ${sent} bytes sent for a ${budget}-byte budget`);
        }
      });
    });

    test('--max-cell-bytes cuts long values with … and counts them in cells_cut', async () => {
      await withServer({ args: ['--max-cell-bytes', '16'] }, async (other) => {
        const result = okResult(await other('query', { sql: `SELECT repeat('x', 100) AS long, ('{"a": "' || repeat('y', 50) || '"}')::json AS j, 'short' AS s` }));
        assert.equal(result.cells_cut, 2);
        const [long, j, s] = result.rows[0];
        assert.match(long, /^x+…$/);
        assert.ok(Buffer.byteLength(long.slice(0, -1)) <= 16, long);
        assert.equal(typeof j, 'string', 'a cut json value is a string');
        assert.ok(j.startsWith('{"a": "y') && j.endsWith('…'), j);
        assert.equal(s, 'short');
        const [e, f] = okResult(await other('query', { sql: `SELECT repeat('é', 20) AS e, repeat('😀', 10) AS f` })).rows[0];
        assert.match(e, /^é+…$/);
        assert.match(f, /^(😀)+…$/u);
      });
    });

    test('--schemas pins the search_path; a search_path change inside the SQL is refused', async () => {
      errorResult(await call('query', { sql: 'SELECT count(*) FROM kpis' }), 'kpis is not on the default search_path');
      errorResult(await call('query', { sql: "SELECT set_config('search_path', 'analytics', true)" }));
      await withServer({ args: ['--schemas', 'analytics,public'] }, async (other) => {
        assert.deepEqual(okResult(await other('query', { sql: 'SELECT count(*) AS c FROM kpis' })).rows, [[2]]);
        assert.deepEqual(okResult(await other('query', { sql: 'SELECT count(*) AS c FROM orders' })).rows, [[4]]);
        assert.equal(okResult(await other('describe_table', { table: 'kpis' })).schema, 'analytics');
        assert.deepEqual(okResult(await other('list_schemas')).schemas.map((s) => s.name).sort(), ['analytics', 'public']);
        assert.match(errorResult(await other('describe_table', { table: 'customers_of_nowhere' })), /analytics.*public|public.*analytics/);
      });
    });

    test('check_sql: allowed, rejected, the live catalog, pg_sleep\'s position, a parse error', async () => {
      const allowed = okResult(await call('check_sql', { sql: 'SELECT * FROM orders' }));
      assert.deepEqual([allowed.allowed, allowed.limit_action, allowed.applied_limit, allowed.catalog, allowed.detail, allowed.position],
        [true, 'injected', MAX_ROWS, 'live', null, null]);
      const raw = await call('check_sql', { sql: 'DELETE FROM orders' });
      const rejected = okResult(raw);
      assert.equal(rejected.allowed, false);
      assert.equal(rejected.rewritten_sql, null);
      assert.ok(text(raw).includes(rejected.reason));
      assert.equal(okResult(await call('check_sql', { sql: 'SELECT discounted(10, 50)' })).allowed, true);
      const volatile = okResult(await call('check_sql', { sql: "SELECT log_note('x')" }));
      assert.equal(volatile.allowed, false);
      assert.notEqual(volatile.reason, 'function_unknown');
      const sleep = okResult(await call('check_sql', { sql: 'SELECT pg_sleep(10)' }));
      assert.deepEqual([sleep.reason, sleep.position, typeof sleep.hint], ['function_denied', 8, 'string']);
      const parse = okResult(await call('check_sql', { sql: 'SELEC 1' }));
      assert.match(parse.message, /syntax error/);
      assert.equal(parse.position, 1);
    });

    test('explain: a plan without ANALYZE; a rejected query; analyze needs --explain-analyze and changes nothing', async () => {
      const plan = okResult(await call('explain', { sql: 'SELECT * FROM orders WHERE customer_id = 1' }));
      assert.equal(typeof plan.plan[0].Plan['Node Type'], 'string');
      assert.equal(plan.plan[0].Plan['Actual Rows'], undefined);
      assert.equal(plan.analyze, false);
      assert.match(errorResult(await call('explain', { sql: 'DELETE FROM orders' })), /^rejected \(/);
      await withServer({ args: ['--explain-analyze'] }, async (other) => {
        const analyzed = okResult(await other('explain', { sql: 'SELECT count(*) FROM numbers', analyze: true }));
        assert.equal(analyzed.analyze, true);
        assert.equal(typeof analyzed.plan[0]['Execution Time'], 'number');
        const count = psql('SELECT count(*) FROM audit_trail');
        errorResult(await other('explain', { sql: "SELECT log_note('explain analyze')", analyze: true }));
        assert.equal(psql('SELECT count(*) FROM audit_trail'), count);
        const runaway = 'SELECT count(*) FROM generate_series(1, 50000) a CROSS JOIN generate_series(1, 50000) b';
        assert.match(errorResult(await other('explain', { sql: runaway, analyze: true })), /^rejected \(too_costly\)/);
        assert.ok(okResult(await other('explain', { sql: runaway })).plan[0].Plan['Total Cost'] > 1e7);
      });
    });

    test('list_schemas and list_tables: what the role may use, kinds, comments, partitions hidden', async () => {
      const { schemas } = okResult(await call('list_schemas'));
      const names = schemas.map((s) => s.name);
      for (const name of ['public', 'analytics', 'archive', 'wide']) assert.ok(names.includes(name), name);
      for (const name of ['pg_catalog', 'information_schema', 'secret']) assert.ok(!names.includes(name), name);
      assert.deepEqual(schemas.find((s) => s.name === 'analytics'), { ...schemas.find((s) => s.name === 'analytics'), comment: 'derived figures', owner: 'postgres', tables: 1 });
      const { tables } = okResult(await call('list_tables', { schema: 'public' }));
      assert.deepEqual(Object.fromEntries(tables.map((t) => [t.name, t.kind])), {
        audit_trail: 'table', customer_totals: 'view', customers: 'table', daily_sales: 'materialized view',
        events: 'partitioned table', numbers: 'table', order_items: 'table', orders: 'table', typed_values: 'table',
      });
      assert.equal(tables.find((t) => t.name === 'numbers').row_estimate, 50000);
      const everywhere = okResult(await call('list_tables')).tables.map((t) => `${t.schema}.${t.name}`);
      assert.ok(everywhere.includes('analytics.kpis') && !everywhere.includes('public.events_2024'));
      for (const schema of ['no_such_schema', 'secret', 'pg_catalog']) assert.ok(errorResult(await call('list_tables', { schema })).includes(schema));
    });

    test('describe_table: keys both ways, indexes, views, an ambiguous name, a missing one', async () => {
      const orders = okResult(await call('describe_table', { table: 'orders' }));
      assert.deepEqual(orders.columns.map((c) => [c.name, c.type, c.nullable]), [
        ['id', 'bigint', false], ['customer_id', 'integer', false], ['total', 'numeric(12,2)', false],
        ['status', 'text', false], ['placed_on', 'date', false]]);
      assert.deepEqual(orders.foreign_keys, [{ name: 'orders_customer_id_fkey', columns: ['customer_id'], references: { schema: 'public', table: 'customers', columns: ['id'] } }]);
      assert.deepEqual(orders.referenced_by.map((r) => r.table), ['order_items']);
      assert.deepEqual(orders.indexes.map((i) => i.name).sort(), ['orders_customer_id_idx', 'orders_pkey']);
      assert.deepEqual(okResult(await call('describe_table', { table: 'order_items' })).primary_key, ['order_id', 'line']);
      assert.deepEqual(okResult(await call('describe_table', { table: 'analytics.kpis' })), okResult(await call('describe_table', { table: 'kpis', schema: 'analytics' })));
      assert.equal(okResult(await call('describe_table', { table: 'customer_totals' })).kind, 'view');
      assert.equal(okResult(await call('describe_table', { table: 'events' })).kind, 'partitioned table');
      const ambiguous = errorResult(await call('describe_table', { table: 'kpis' }));
      assert.match(ambiguous, /analytics/);
      assert.match(ambiguous, /archive/);
      assert.match(errorResult(await call('describe_table', { table: 'no_such_table' })), /every schema|any schema/);
      assert.match(errorResult(await call('describe_table', { table: 'secret.keys' })), /keys/);
    });

    test('guard: attacks are rejected with actionable text, and nothing changed', async () => {
      const before = psql('SELECT count(*) FROM orders') + psql('SELECT count(*) FROM audit_trail');
      for (const sql of [
        'SELECT 1; COMMIT; DROP TABLE orders', 'WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d',
        'SELECT * INTO stolen FROM orders', "SELECT set_config('transaction_read_only', 'off', false)",
        "SELECT pg_read_file('/etc/passwd')", "SELECT query_to_xml('DELETE FROM orders', true, true, '')",
        'SELECT * FROM orders FOR UPDATE', 'SELECT pg_advisory_lock(1)', 'SELECT pg_terminate_backend(1)',
        "SELECT log_note('pwned')", "SELECT nextval('orders_id_seq')", "SELECT lo_import('/etc/passwd')",
      ]) {
        const rejection = errorResult(await call('query', { sql }), sql);
        assert.match(rejection, /^rejected \([a-z_]+\): .+\n/, sql);
        assert.match(rejection, /\nhint: /, sql);
      }
      assert.equal(psql('SELECT count(*) FROM orders') + psql('SELECT count(*) FROM audit_trail'), before);
      assert.equal(psql("SELECT count(*) FROM pg_class WHERE relname = 'stolen'"), '0');
    });

    test('the cost guard refuses a runaway before it runs; a LIMIT that keeps it cheap passes', async () => {
      const refused = errorResult(await call('query', { sql: 'SELECT * FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b ORDER BY 1' }));
      assert.match(refused, /^rejected \(too_costly\): the planner estimates .*it was not run/s);
      assert.match(refused, /\ndetail: estimated total cost \d+ \(limit 1e\+07\)/);
      assert.equal((await query('SELECT a, b FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b', { limit: 3 })).row_count, 3);
      assert.match(errorResult(await call('query', { sql: 'SELECT nosuchcolumn' })), /SQLSTATE 42703/);
      assert.deepEqual((await query('SELECT 2 AS two')).rows, [[2]]);
      await withServer({ args: ['--max-cost', '100'] }, async (other) => {
        assert.match(errorResult(await other('query', { sql: 'SELECT count(*) AS n FROM generate_series(1, 100000)' })), /over the limit of 100/);
      });
    });

    test('--max-sql-bytes: text longer than 64 KiB is input_too_large', async () => {
      const long = `SELECT ${Array.from({ length: 8000 }, (_, i) => `${i} AS c${i}`).join(', ')}`;
      assert.match(errorResult(await call('query', { sql: long })), /^rejected \(input_too_large\)/);
    });

    test('policy: --tables and --deny-columns hold in every tool, resource and the fence', async () => {
      await withServer({ user: 'postgres', args: ['--tables', 'public.customers,public.orders', '--deny-columns', 'public.customers.email'] }, async (other) => {
        const names = okResult(await other('list_tables', { schema: 'public' })).tables.map((t) => t.name).sort();
        assert.deepEqual(names, ['customers', 'orders']);
        const customers = okResult(await other('describe_table', { table: 'customers' }));
        assert.ok(!customers.columns.some((c) => c.name === 'email'));
        assert.match(errorResult(await other('describe_table', { table: 'numbers' })), /numbers/);
        for (const sql of ['SELECT email FROM customers', 'SELECT * FROM customers', 'SELECT c FROM customers c', 'SELECT n FROM numbers']) {
          assert.doesNotMatch(errorResult(await other('query', { sql }), sql), /example\.org/);
        }
        assert.deepEqual(okResult(await other('query', { sql: 'SELECT name FROM customers ORDER BY id' })).rows, [['alice'], ['bob'], ['carol']]);
      });
    });
  });
}
