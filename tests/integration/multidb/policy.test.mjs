// Each database's own policy from --database-config: tables, deny-columns and max-rows differ
// per database; the server-wide --deny-columns adds to each database's list and the
// server-wide --max-rows yields to a database's own. `sales` connects as a superuser, so only
// pgsafe stands between the model and its denied values.
import assert from 'node:assert/strict';

import {
  after, assertCleanSession, before, callTool, connect, describe, errorResult, okResult, resultText, test,
} from '../lib/harness.mjs';
import {
  DSN, SALES_MARK, SUPPORT_EMAIL_MARK, SUPPORT_SSN_MARK, allResourceUris, assertNoMarker, mcpErrorOf, queryOn,
  writeConfig,
} from './lib.mjs';

// sales: public only, customers.email denied, 2 rows. support: public and internal (not kb),
// its email allowed, the server-wide row limit (3). Both: *.ssn denied server-wide.
const CONFIG = {
  sales: { dsn: DSN.sales, tables: 'public.*', 'deny-columns': 'customers.email', 'max-rows': 2 },
  support: { dsn: DSN.support, tables: 'public.*,internal.*' },
};
const SALES_DENIED = [SALES_MARK];
const SUPPORT_DENIED = [SUPPORT_SSN_MARK];

let session;
before(async () => {
  session = await connect({
    pgenv: false,
    args: ['--database-config', writeConfig(CONFIG), '--deny-columns', '*.ssn', '--max-rows', '3'],
  });
});
after(async () => {
  if (session) {
    assertCleanSession(session);
    await session.close();
  }
});

/** A query that must be refused for a denied column; returns the text. */
async function refused(database, sql, markers) {
  const result = await callTool(session, 'query', { sql, database });
  assertNoMarker(result, markers, `${database}: ${sql}`);
  const text = errorResult(result, `${database}: ${sql}`);
  return text;
}

describe('per-database policy', () => {
  test('a column denied on sales is refused there; the same-named column on support is allowed', async () => {
    for (const sql of ['SELECT email FROM customers', 'SELECT * FROM customers', 'SELECT to_jsonb(c) FROM customers c',
      "SELECT id FROM customers WHERE email LIKE '%SALESMARK%'"]) {
      const text = await refused('sales', sql, SALES_DENIED);
      assert.match(text, /^rejected \(column_denied\)/, `${sql}: ${text}`);
      assert.match(text, /email/, `${sql}: the rejection names the column: ${text}`);
    }
    const support = await queryOn(session, 'support', 'SELECT email FROM customers ORDER BY id');
    assert.deepEqual(support.rows, [['grace.SUPPORTMARK-email@example.org']]);
    assert.ok(JSON.stringify(support).includes(SUPPORT_EMAIL_MARK));
    // What sales does allow still runs.
    assert.deepEqual((await queryOn(session, 'sales', 'SELECT name FROM customers ORDER BY id')).rows, [['Ada'], ['Linus']]);
  });

  test('the server-wide --deny-columns adds to each database\'s own list', async () => {
    assert.match(await refused('sales', 'SELECT ssn FROM customers', SALES_DENIED), /^rejected \(column_denied\)/);
    assert.match(await refused('support', 'SELECT ssn FROM customers', SUPPORT_DENIED), /^rejected \(column_denied\)/);
    assert.match(await refused('support', 'SELECT * FROM customers', SUPPORT_DENIED), /^rejected \(column_denied\)/);
  });

  test('tables: internal.* is outside sales\' list and inside support\'s', async () => {
    const text = await refused('sales', 'SELECT note FROM internal.ledger', SALES_DENIED);
    assert.match(text, /^rejected \(/);
    assert.match(text, /ledger/);
    assert.deepEqual((await queryOn(session, 'support', 'SELECT note FROM internal.notes')).rows, [['support internal note']]);
    const kb = await callTool(session, 'query', { sql: 'SELECT title FROM kb.articles', database: 'support' });
    assert.match(errorResult(kb), /^rejected \(/, 'kb is outside support\'s list');
  });

  test('max-rows: the database\'s own value wins over the server-wide one, which applies to the other', async () => {
    const sales = await queryOn(session, 'sales', 'SELECT id FROM orders ORDER BY id');
    assert.deepEqual(sales.rows, [[1], [2]]);
    assert.equal(sales.truncated, true);
    const support = await queryOn(session, 'support', 'SELECT id FROM tickets ORDER BY id');
    assert.deepEqual(support.rows, [[1], [2], [3]]);
    assert.equal(support.truncated, true);
  });

  test('the schema tools show what each database\'s policy allows', async () => {
    const tables = async (database) => okResult(await callTool(session, 'list_tables', { database }))
      .tables.map((t) => `${t.schema}.${t.name}`).sort();
    assert.deepEqual(await tables('sales'), ['public.customers', 'public.orders', 'public.origin']);
    assert.deepEqual(await tables('support'), ['internal.notes', 'public.customers', 'public.origin', 'public.tickets']);
    const describeOn = (database, table, schema) => callTool(session, 'describe_table', { database, table, ...(schema ? { schema } : {}) });
    const sales = okResult(await describeOn('sales', 'customers'));
    assert.deepEqual(sales.columns.map((c) => c.name), ['id', 'name']);
    const support = okResult(await describeOn('support', 'customers'));
    assert.deepEqual(support.columns.map((c) => c.name), ['id', 'name', 'email']);
    assert.match(errorResult(await describeOn('sales', 'ledger', 'internal')), /not found/);
    okResult(await describeOn('support', 'notes', 'internal'));
  });

  test('resources follow each database\'s policy', async () => {
    const uris = await allResourceUris(session);
    assert.ok(uris.includes('postgres://support/table/internal/notes'));
    assert.ok(!uris.includes('postgres://sales/table/internal/ledger'));
    assert.ok(!uris.includes('postgres://support/table/kb/articles'));
    const read = async (uri) => (await session.client.readResource({ uri })).contents[0].text;
    const salesSchema = await read('postgres://sales/schema');
    const salesCustomers = salesSchema.split('\n').find((line) => line.startsWith('public.customers '));
    assert.ok(salesCustomers && !salesCustomers.includes('email') && !salesCustomers.includes('ssn'), salesCustomers);
    assert.ok(!salesSchema.includes('ledger'));
    const supportSchema = await read('postgres://support/schema');
    const supportCustomers = supportSchema.split('\n').find((line) => line.startsWith('public.customers '));
    assert.ok(supportCustomers && supportCustomers.includes('email') && !supportCustomers.includes('ssn'), supportCustomers);
    assert.ok(!(await read('postgres://sales/table/public/customers')).includes('email'));
    assert.ok((await read('postgres://support/table/public/customers')).includes('email'));
    await mcpErrorOf(session.client.readResource({ uri: 'postgres://sales/table/internal/ledger' }), -32602, 'a denied table');
  });

  test('no tool, resource or prompt answer carries a value sales denies', async () => {
    const answers = [];
    for (const [tool, args] of [['list_tables', {}], ['list_schemas', {}], ['describe_table', { table: 'customers' }],
      ['check_sql', { sql: 'SELECT email FROM customers' }], ['explain', { sql: 'SELECT email FROM customers' }],
      ['query', { sql: 'SELECT c FROM customers c' }], ['query', { sql: 'SELECT * FROM internal.ledger' }]]) {
      answers.push(await callTool(session, tool, { ...args, database: 'sales' }));
    }
    answers.push(await session.client.readResource({ uri: 'postgres://sales/schema' }));
    answers.push(await session.client.listResources({}));
    answers.push(okResult(await callTool(session, 'list_databases', {})));
    answers.push(session.client.getInstructions());
    assertNoMarker(answers, [SALES_MARK, SUPPORT_SSN_MARK], 'sales\' answers');
    // The text rendering too (row data is fenced, not dropped).
    assert.ok(resultText(await callTool(session, 'query', { sql: 'SELECT name FROM customers', database: 'sales' })).includes('Ada'));
  });
});
