// Two databases on two servers behind one `pgsafe serve --database sales=... --database
// support=...`: the `database` argument of every tool, its errors, each tool against each
// database, list_databases, the resources per database, the instructions and the audit line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  TOOL_NAMES, after, assertCleanSession, before, callTool, connect, describe, errorResult, okResult, pollUntil,
  resultText, scratchDir, test,
} from '../lib/harness.mjs';
import {
  DSN, NAMES, SALES, SUPPORT, WHERE_SQL, allResourceUris, assertEachAnswers, databaseArgs, mcpErrorOf, psqlOn, queryOn,
} from './lib.mjs';

const auditFile = path.join(scratchDir('audit'), 'audit.jsonl');
let session;
before(async () => {
  session = await connect({ pgenv: false, args: [...databaseArgs(), '--audit-log', auditFile] });
});
after(async () => {
  if (session) {
    assertCleanSession(session);
    await session.close();
  }
});

/** Asserts an error text names every configured database. */
function assertNamesDatabases(text, what) {
  for (const name of NAMES) assert.ok(text.includes(name), `${what}: the error names ${name}: ${text}`);
}

describe('tools/list', () => {
  test('every tool has a `database` string argument, enum the names in configuration order, required', async () => {
    const { tools } = await session.client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    for (const name of TOOL_NAMES) {
      const schema = byName[name]?.inputSchema;
      assert.ok(schema, `${name} is listed`);
      const database = schema.properties?.database;
      assert.ok(database, `${name} has a database property: ${JSON.stringify(schema)}`);
      assert.equal(database.type, 'string', name);
      assert.deepEqual(database.enum, NAMES, `${name}: the enum lists the databases in configuration order`);
      assert.ok(schema.required?.includes('database'), `${name}: database is required with two databases`);
    }
    assert.ok(byName.list_databases, 'list_databases is listed');
    assert.ok(!byName.list_databases.inputSchema.required?.length, 'list_databases takes no required argument');
  });
});

describe('the database argument', () => {
  test('missing: a tool error naming the databases, for every tool', async () => {
    const argsOf = { describe_table: { table: 'customers' }, query: { sql: 'SELECT 1' }, check_sql: { sql: 'SELECT 1' }, explain: { sql: 'SELECT 1' } };
    for (const name of TOOL_NAMES) {
      const text = errorResult(await callTool(session, name, argsOf[name] ?? {}), `${name} without database`);
      assertNamesDatabases(text, `${name} without database`);
    }
  });

  test('unknown, empty or not a string: a tool error naming the databases', async () => {
    for (const database of ['nope', 'SALES', '', 'sales ', 7, null, ['sales']]) {
      const what = `query with database ${JSON.stringify(database)}`;
      const text = errorResult(await callTool(session, 'query', { sql: 'SELECT 1', database }), what);
      assertNamesDatabases(text, what);
    }
  });

  test('before 2025-11-25 the same mistake is a JSON-RPC -32602 naming the databases', async () => {
    const old = await connect({ pgenv: false, args: databaseArgs(), protocolVersion: '2025-06-18' });
    try {
      assert.equal(old.negotiated, '2025-06-18');
      for (const args of [{ sql: 'SELECT 1' }, { sql: 'SELECT 1', database: 'nope' }]) {
        const message = await mcpErrorOf(callTool(old, 'query', args), -32602, JSON.stringify(args));
        assertNamesDatabases(message, JSON.stringify(args));
      }
      await assertEachAnswers(old);
      assertCleanSession(old);
    } finally {
      await old.close();
    }
  });
});

describe('each tool against each database', () => {
  test('query: each database answers from its own server (15 and 18)', async () => {
    await assertEachAnswers(session);
    // The servers agree, asked directly.
    assert.match(psqlOn(SALES, 'SHOW server_version_num'), /^15\d{4}$/);
    assert.match(psqlOn(SUPPORT, 'SHOW server_version_num'), /^18\d{4}$/);
    assert.deepEqual((await queryOn(session, 'sales', 'SELECT count(*) AS n FROM orders')).rows, [[5]]);
    assert.deepEqual((await queryOn(session, 'support', 'SELECT count(*) AS n FROM tickets')).rows, [[12]]);
    // A table only the other database has is an error from that server, not a fallback.
    const missing = errorResult(await callTool(session, 'query', { sql: 'SELECT count(*) FROM tickets', database: 'sales' }));
    assert.match(missing, /tickets/);
    assert.match(missing, /does not exist|42P01/);
  });

  test('check_sql: each database is guarded with its own server version\'s functions', async () => {
    const sql = "SELECT casefold('ABC') AS folded"; // casefold is new in PostgreSQL 18
    const on18 = okResult(await callTool(session, 'check_sql', { sql, database: 'support' }));
    assert.equal(on18.allowed, true, JSON.stringify(on18));
    const on15 = okResult(await callTool(session, 'check_sql', { sql, database: 'sales' }));
    assert.equal(on15.allowed, false, JSON.stringify(on15));
    assert.equal(on15.reason, 'function_unknown');
    assert.deepEqual((await queryOn(session, 'support', sql)).rows, [['abc']]);
    assert.match(errorResult(await callTool(session, 'query', { sql, database: 'sales' })), /^rejected \(function_unknown\)/);
  });

  test('explain: a plan from each database', async () => {
    const plan = okResult(await callTool(session, 'explain', { sql: 'SELECT * FROM tickets WHERE id = 3', database: 'support' }));
    assert.match(JSON.stringify(plan), /tickets/);
    okResult(await callTool(session, 'explain', { sql: 'SELECT * FROM orders WHERE id = 3', database: 'sales' }));
    errorResult(await callTool(session, 'explain', { sql: 'SELECT * FROM orders', database: 'support' }));
  });

  test('list_schemas and list_tables: each database\'s own', async () => {
    const schemas = async (database) => okResult(await callTool(session, 'list_schemas', { database })).schemas.map((s) => s.name);
    assert.ok((await schemas('support')).includes('kb'));
    assert.ok(!(await schemas('sales')).includes('kb'));
    const tables = async (database) => okResult(await callTool(session, 'list_tables', { database, schema: 'public' }))
      .tables.map((t) => t.name).sort();
    assert.deepEqual(await tables('sales'), ['customers', 'orders', 'origin']);
    assert.deepEqual(await tables('support'), ['customers', 'origin', 'tickets']);
  });

  test('describe_table: the same name in each database is that database\'s table', async () => {
    const sales = okResult(await callTool(session, 'describe_table', { table: 'customers', database: 'sales' }));
    const support = okResult(await callTool(session, 'describe_table', { table: 'customers', database: 'support' }));
    assert.equal(sales.comment, 'customers who bought');
    assert.equal(support.comment, 'customers who asked for help');
    const tickets = okResult(await callTool(session, 'describe_table', { table: 'tickets', database: 'support' }));
    assert.deepEqual(tickets.columns.map((c) => c.name), ['id', 'customer_id', 'subject']);
    const missing = errorResult(await callTool(session, 'describe_table', { table: 'tickets', database: 'sales' }));
    assert.match(missing, /not found/);
  });
});

describe('list_databases', () => {
  test('each database with its status, server version, role and whether it can write', async () => {
    await assertEachAnswers(session); // both connected
    const result = await callTool(session, 'list_databases', {});
    const { databases } = okResult(result);
    assert.deepEqual(databases.map((d) => d.name), NAMES);
    const [sales, support] = databases;
    for (const d of databases) {
      assert.equal(d.status, 'ready', JSON.stringify(d));
      assert.equal(d.error, null, JSON.stringify(d));
    }
    assert.match(sales.server_version, /^15(\.|$)/);
    assert.match(support.server_version, /^18(\.|$)/);
    assert.equal(sales.role, 'postgres');
    assert.equal(support.role, 'mdb_reader');
    assert.equal(sales.can_write, true, 'a superuser can write');
    assert.equal(support.can_write, false, 'a role with SELECT only cannot');
    const text = resultText(result);
    for (const name of NAMES) assert.ok(text.includes(name), text);
  });
});

describe('resources', () => {
  test('resources/list: each database\'s schema and tables under postgres://NAME/', async () => {
    const uris = await allResourceUris(session);
    assert.equal(new Set(uris).size, uris.length, 'no URI twice');
    for (const uri of ['postgres://sales/schema', 'postgres://support/schema', 'postgres://sales/table/public/orders',
      'postgres://sales/table/public/customers', 'postgres://support/table/public/tickets',
      'postgres://support/table/public/customers', 'postgres://support/table/kb/articles']) {
      assert.ok(uris.includes(uri), `${uri} listed in ${JSON.stringify(uris)}`);
    }
    for (const uri of ['postgres://schema', 'postgres://sales/table/public/tickets', 'postgres://support/table/public/orders',
      'postgres://sales/table/kb/articles']) {
      assert.ok(!uris.includes(uri), `${uri} not listed`);
    }
    assert.ok(uris.every((uri) => /^postgres:\/\/(sales|support)\//.test(uri)), JSON.stringify(uris));
  });

  test('resources/read postgres://NAME/schema: that database\'s tables', async () => {
    const read = async (uri) => {
      const { contents } = await session.client.readResource({ uri });
      assert.equal(contents.length, 1);
      assert.equal(contents[0].uri, uri);
      return contents[0].text;
    };
    const sales = await read('postgres://sales/schema');
    const support = await read('postgres://support/schema');
    assert.ok(sales.split('\n').some((line) => line.startsWith('public.orders ')), sales);
    assert.ok(!sales.includes('tickets') && !sales.includes('kb.articles'), sales);
    assert.ok(support.split('\n').some((line) => line.startsWith('public.tickets ')), support);
    assert.ok(support.split('\n').some((line) => line.startsWith('kb.articles ')), support);
    assert.ok(!support.includes('public.orders'), support);
  });

  test('resources/read postgres://NAME/table/{schema}/{table}: that database\'s table', async () => {
    const { contents } = await session.client.readResource({ uri: 'postgres://support/table/public/tickets' });
    assert.equal(contents[0].uri, 'postgres://support/table/public/tickets');
    for (const word of ['tickets', 'subject', 'customer_id', 'one row per request for help']) assert.ok(contents[0].text.includes(word), contents[0].text);
    const sales = await session.client.readResource({ uri: 'postgres://sales/table/public/customers' });
    assert.ok(sales.contents[0].text.includes('customers who bought'), sales.contents[0].text);
    for (const uri of ['postgres://sales/table/public/tickets', 'postgres://nope/schema', 'postgres://nope/table/public/orders',
      'postgres://schema', 'postgres://table/public/orders']) {
      await mcpErrorOf(session.client.readResource({ uri }), -32602, uri);
    }
  });

  test('resources/templates/list: one per database', async () => {
    const { resourceTemplates } = await session.client.listResourceTemplates();
    const templates = resourceTemplates.map((t) => t.uriTemplate).sort();
    assert.deepEqual(templates, ['postgres://sales/table/{schema}/{table}', 'postgres://support/table/{schema}/{table}']);
  });
});

/** Fails when a prompt's text names a resource that cannot be read or spells a tool call without an argument the tool requires. */
async function assertPromptsConsistent(own) {
  const { tools } = await own.client.listTools();
  const required = Object.fromEntries(tools.map((t) => [t.name, t.inputSchema.required ?? []]));
  const { prompts } = await own.client.listPrompts();
  let calls = 0;
  for (const prompt of prompts) {
    const args = {};
    for (const argument of prompt.arguments ?? []) {
      if (argument.name === 'database') args.database = 'support';
      else if (argument.name === 'table') args.table = 'tickets';
      else if (argument.required) args[argument.name] = 'x';
    }
    const { messages } = await own.client.getPrompt({ name: prompt.name, arguments: args });
    const text = messages.map((m) => m.content?.text ?? '').join('\n');
    for (const [uri] of text.matchAll(/postgres:\/\/[^\s),]+/g)) {
      if (uri.includes('NAME') || uri.includes('{')) continue; // a pattern, not a URI
      await own.client.readResource({ uri }).catch((error) => assert.fail(`prompt ${prompt.name} names ${uri}, which is not readable: ${error.message}`));
    }
    for (const [, tool, json] of text.matchAll(/\b(query|check_sql|explain|list_schemas|list_tables|describe_table) (\{[^\n]*?\})(?=[:.,;]?(\s|$))/g)) {
      const call = JSON.parse(json);
      calls++;
      for (const argument of required[tool]) {
        assert.ok(argument in call, `prompt ${prompt.name} spells ${tool} ${json} without its required argument "${argument}"`);
      }
    }
  }
  assert.ok(calls >= 2, 'the prompts spell out tool calls (describe_table, query)');
}

describe('prompts', () => {
  test('with one database (--dsn), the prompts\' resources and tool calls hold (the check itself)', async () => {
    const single = await connect({ pgenv: false, args: ['--dsn', DSN.support] });
    try {
      await assertPromptsConsistent(single);
    } finally {
      await single.close();
    }
  });

  test('with two, a prompt\'s text names only resources that exist and spells tool calls with their required arguments', async () => {
    await assertPromptsConsistent(session);
  });
});

describe('instructions and audit', () => {
  test('the instructions name each database with its server version and posture', () => {
    const instructions = session.client.getInstructions();
    assert.equal(typeof instructions, 'string');
    // One paragraph per database, each naming it; the first paragraph is about them all.
    const blocks = instructions.split(/\n\s*\n/);
    const blockOf = (name) => {
      const found = blocks.filter((b) => b.includes(`"${name}"`));
      assert.equal(found.length, 1, `one paragraph names "${name}":\n${instructions}`);
      return found[0];
    };
    const sales = blockOf('sales');
    const support = blockOf('support');
    assert.match(sales, /PostgreSQL 15\./, sales);
    assert.match(support, /PostgreSQL 18\./, support);
    assert.match(sales, /"postgres"/, 'sales\' role');
    assert.match(support, /"mdb_reader"/, 'support\' role');
    assert.match(sales, /superuser/, 'sales connects as a superuser, and says so');
    assert.doesNotMatch(support, /superuser/, 'support\'s role is no superuser');
  });

  test('each audit line carries the database of its call', async () => {
    const before = fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).length : 0;
    await queryOn(session, 'support', `${WHERE_SQL} -- audit support`);
    await queryOn(session, 'sales', `${WHERE_SQL} -- audit sales`);
    okResult(await callTool(session, 'list_tables', { database: 'support' }));
    // The line may follow the answer by a moment.
    const lines = await pollUntil(() => {
      const all = fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).slice(before);
      return all.length >= 3 && all.map((line) => JSON.parse(line));
    }, { what: 'three audit lines' });
    assert.deepEqual(lines.map((l) => [l.tool, l.database]), [['query', 'support'], ['query', 'sales'], ['list_tables', 'support']]);
  });
});
