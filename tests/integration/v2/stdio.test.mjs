// The v2 client (@modelcontextprotocol/client, protocol 2026-07-28) over stdio through every
// tool, resource, prompt and error case of the 1.x suite, and the modern protocol's own rules
// checked on the wire: server/discover, -32022, removed methods, _meta log levels.
import assert from 'node:assert/strict';

import {
  META_LOG_LEVEL, MODERN, RawStdio, after, before, connectStdio, describe, errorResult, modernParams, okResult, psql,
  test,
} from './lib.mjs';

const TOOL_NAMES = ['check_sql', 'describe_table', 'explain', 'list_schemas', 'list_tables', 'query'];

let session;
before(async () => {
  session = await connectStdio();
});
after(async () => {
  await session?.close();
});

const call = (name, args = {}) => session.client.callTool({ name, arguments: args }, { timeout: 50_000 });
const query = async (sql, extra = {}) => okResult(await call('query', { sql, ...extra }), sql);

describe('the modern era over stdio', () => {
  test('the client probed with server/discover and stays on 2026-07-28; the instructions reached it', () => {
    assert.equal(session.client.getNegotiatedProtocolVersion(), MODERN);
    assert.ok(!session.sent.some((m) => m.method === 'initialize'), 'no initialize handshake');
    const discover = session.client.getDiscoverResult();
    assert.ok(discover.supportedVersions.includes(MODERN));
    assert.ok(discover.supportedVersions.includes('2025-11-25'));
    assert.equal(discover.capabilities.tools.listChanged, false);
    const instructions = session.client.getInstructions();
    assert.match(instructions, /at most 1000 rows per query/);
    assert.match(instructions, /Connected to database "pgsafe_it" as role "pgsafe_reader"/);
    assert.equal(session.client.getServerVersion()?.name, 'pgsafe');
  });

  test('every request carries the version and capabilities in _meta', async () => {
    await session.client.listTools();
    const requests = session.sent.filter((m) => m.method && m.id !== undefined);
    assert.ok(requests.length > 0);
    for (const request of requests) {
      assert.equal(request.params?._meta?.['io.modelcontextprotocol/protocolVersion'], MODERN);
      assert.deepEqual(request.params?._meta?.['io.modelcontextprotocol/clientCapabilities'], {});
    }
  });

  test('instructions warn when the role is a superuser', async () => {
    const admin = await connectStdio({ user: 'postgres' });
    try {
      assert.match(admin.client.getInstructions(), /Warning: the role is a superuser/);
    } finally {
      await admin.close();
    }
  });
});

describe('tools', () => {
  test('tools/list: the six tools, read-only annotations, input and output schemas', async () => {
    const { tools } = await session.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOL_NAMES);
    for (const tool of tools) {
      assert.equal(tool.annotations.readOnlyHint, true);
      assert.equal(tool.inputSchema.type, 'object');
      assert.equal(tool.outputSchema.type, 'object');
    }
  });

  test('query: typed values', async () => {
    const result = await query("SELECT NULL::text AS n, true AS b, 42 AS i, 9007199254740993::int8 AS big, 1.50::numeric AS num, '{\"a\":1}'::jsonb AS j");
    assert.deepEqual(result.rows, [[null, true, 42, '9007199254740993', '1.50', { a: 1 }]]);
    assert.equal(result.truncated, false);
    assert.equal(result.limit_action, 'injected');
  });

  test('query: more rows than the limit is truncated with reason row_limit; the limit argument lowers it', async () => {
    const result = await query('SELECT n FROM numbers ORDER BY n', { limit: 2 });
    assert.equal(result.row_count, 2);
    assert.equal(result.truncated, true);
    assert.deepEqual(result.truncation, { reason: 'row_limit', limit: 2 });
  });

  test('query: a guard rejection is an isError result with reason, detail and hint', async () => {
    const text = errorResult(await call('query', { sql: 'SELECT pg_sleep(1)' }));
    assert.match(text, /^rejected \(function_denied\): function "pg_sleep" is not allowed/);
    assert.match(text, /hint: /);
  });

  test('query: writes are refused whatever their disguise', async () => {
    for (const sql of ['DELETE FROM orders', 'WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d', 'SELECT 1; DROP TABLE orders']) {
      errorResult(await call('query', { sql }), sql);
    }
    assert.equal(psql('SELECT count(*) FROM orders'), '4');
  });

  test('query: a database error is an isError result with PostgreSQL\'s message', async () => {
    assert.match(errorResult(await call('query', { sql: 'SELECT 1/0' })), /division by zero/);
  });

  test('check_sql: the verdict and the rewrite without running', async () => {
    const allowed = okResult(await call('check_sql', { sql: 'SELECT * FROM orders' }));
    assert.equal(allowed.allowed, true);
    assert.match(allowed.rewritten_sql, /LIMIT 1001/);
    const rejected = okResult(await call('check_sql', { sql: 'SELECT pg_sleep(1)' }));
    assert.equal(rejected.allowed, false);
    assert.equal(rejected.reason, 'function_denied');
  });

  test('explain: a JSON plan; analyze without --explain-analyze is refused', async () => {
    const plan = okResult(await call('explain', { sql: 'SELECT * FROM orders WHERE id = 1' }));
    assert.ok(Array.isArray(plan.plan));
    assert.match(errorResult(await call('explain', { sql: 'SELECT 1', analyze: true })), /--explain-analyze/);
  });

  test('list_schemas, list_tables and describe_table', async () => {
    const schemas = okResult(await call('list_schemas')).schemas.map((s) => s.name);
    assert.ok(schemas.includes('public') && schemas.includes('analytics'));
    const tables = okResult(await call('list_tables', { schema: 'public' })).tables.map((t) => t.name);
    assert.ok(tables.includes('orders') && !tables.includes('events_2024'));
    const orders = okResult(await call('describe_table', { table: 'orders' }));
    assert.deepEqual(orders.primary_key, ['id']);
    assert.equal(orders.comment, 'one row per order');
    assert.match(errorResult(await call('describe_table', { table: 'no_such_table' })), /no_such_table/);
  });

  test('an unknown tool is -32602', async () => {
    await assert.rejects(call('no_such_tool'), (error) => error.code === -32602);
  });

  test('arguments that fail the inputSchema are an isError result the model can act on', async () => {
    assert.match(errorResult(await call('query', { sql: 42 })), /sql/);
  });
});

describe('resources and prompts', () => {
  test('resources/list pages through postgres://schema and one URI per table', async () => {
    const uris = [];
    let cursor;
    do {
      const page = await session.client.listResources(cursor ? { cursor } : undefined);
      uris.push(...page.resources.map((r) => r.uri));
      cursor = page.nextCursor;
    } while (cursor);
    assert.ok(uris.includes('postgres://schema'));
    assert.ok(uris.includes('postgres://table/public/orders'));
    assert.ok(uris.includes('postgres://table/wide/t120'));
  });

  test('resources/read of the schema and of one table', async () => {
    const schema = await session.client.readResource({ uri: 'postgres://schema' });
    assert.match(schema.contents[0].text, /^public\.orders \(table/m);
    const table = await session.client.readResource({ uri: 'postgres://table/public/orders' });
    assert.match(table.contents[0].text, /orders/);
  });

  test('an unknown resource is -32602', async () => {
    await assert.rejects(session.client.readResource({ uri: 'postgres://nothing' }), (error) => error.code === -32602);
    await assert.rejects(session.client.readResource({ uri: 'postgres://table/public/no_such' }), (error) => error.code === -32602);
  });

  test('resources/templates/list has postgres://table/{schema}/{table}', async () => {
    const { resourceTemplates } = await session.client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ['postgres://table/{schema}/{table}']);
  });

  test('prompts: analyst and explore_table; an unknown prompt is -32602', async () => {
    const { prompts } = await session.client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), ['analyst', 'explore_table']);
    const analyst = await session.client.getPrompt({ name: 'analyst', arguments: { topic: 'revenue' } });
    assert.match(analyst.messages[0].content.text, /revenue/);
    const explore = await session.client.getPrompt({ name: 'explore_table', arguments: { table: 'orders' } });
    assert.match(explore.messages[0].content.text, /orders/);
    await assert.rejects(session.client.getPrompt({ name: 'nope' }), (error) => error.code === -32602);
  });
});

describe('the wire, raw', () => {
  let raw;
  before(() => {
    raw = new RawStdio();
  });
  after(async () => {
    await raw?.close();
  });

  test('every result has resultType and serverInfo; lists and reads carry ttlMs and cacheScope', async () => {
    const tools = await raw.request({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() });
    assert.equal(tools.result.resultType, 'complete');
    assert.equal(tools.result._meta['io.modelcontextprotocol/serverInfo'].name, 'pgsafe');
    assert.equal(tools.result.cacheScope, 'public');
    assert.ok(tools.result.ttlMs >= 0);
    const read = await raw.request({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: modernParams({ uri: 'postgres://schema' }) });
    assert.equal(read.result.cacheScope, 'private');
    const called = await raw.request({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: 'SELECT 1' } }) });
    assert.equal(called.result.resultType, 'complete');
    assert.equal(called.result.ttlMs, undefined);
  });

  test('an unsupported version is -32022 naming the versions we speak', async () => {
    const answer = await raw.request({ jsonrpc: '2.0', id: 10, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '1999-01-01', 'io.modelcontextprotocol/clientCapabilities': {} } } });
    assert.equal(answer.error.code, -32022);
    assert.equal(answer.error.data.requested, '1999-01-01');
    assert.ok(answer.error.data.supported.includes(MODERN));
  });

  test('missing clientCapabilities or a bad log level is -32602', async () => {
    const noCapabilities = await raw.request({ jsonrpc: '2.0', id: 11, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } });
    assert.equal(noCapabilities.error.code, -32602);
    const badLevel = await raw.request({ jsonrpc: '2.0', id: 12, method: 'tools/list', params: modernParams({}, { [META_LOG_LEVEL]: 'loud' }) });
    assert.equal(badLevel.error.code, -32602);
  });

  test('ping, initialize and logging/setLevel are gone in 2026-07-28: -32601', async () => {
    for (const [id, method] of [[20, 'ping'], [21, 'initialize'], [22, 'logging/setLevel']]) {
      const answer = await raw.request({ jsonrpc: '2.0', id, method, params: modernParams({ level: 'debug' }) });
      assert.equal(answer.error?.code, -32601, method);
    }
  });

  test('log notifications only for a request whose _meta asks for a level, before its answer', async () => {
    const before = raw.messages.length;
    await raw.request({ jsonrpc: '2.0', id: 30, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: 'SELECT 1' } }) });
    assert.ok(!raw.messages.slice(before).some((m) => m.method === 'notifications/message'), 'no level asked: no log');
    const start = raw.messages.length;
    await raw.request({ jsonrpc: '2.0', id: 31, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: 'SELECT 1' } }, { [META_LOG_LEVEL]: 'info' }) });
    const after = raw.messages.slice(start);
    const log = after.findIndex((m) => m.method === 'notifications/message');
    const answer = after.findIndex((m) => m.id === 31);
    assert.ok(log >= 0 && log < answer, `a log line before the answer: ${JSON.stringify(after)}`);
    assert.match(after[log].params.data, /query: allowed/);
  });

  test('a legacy client still gets its handshake on the same binary', async () => {
    const legacy = new RawStdio();
    try {
      const init = await legacy.request({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'old', version: '1' } } });
      assert.equal(init.result.protocolVersion, '2025-06-18');
      const tools = await legacy.request({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
      assert.equal(tools.result.resultType, undefined, 'legacy results are unchanged');
      assert.equal(tools.result.tools.length, 6);
    } finally {
      await legacy.close();
    }
  });
});
