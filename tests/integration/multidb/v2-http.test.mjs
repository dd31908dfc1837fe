// The v2 MCP client (@modelcontextprotocol/client, protocol 2026-07-28) over Streamable HTTP
// against `pgsafe serve --http` with two databases: the database enum, a call to each
// database, and the error for a missing one. (Node 22; the helpers of ../v2/lib.mjs.)
import assert from 'node:assert/strict';

import { after, before, connectHttp, describe, errorResult, okResult, startHttp, test } from '../v2/lib.mjs';
import { NAMES, SUPPORT, WHERE_SQL, databaseArgs, isRunning, restart, stopImmediately } from './lib.mjs';

let server;
before(async () => {
  server = await startHttp({ args: databaseArgs() });
  assert.ok(server.url, `pgsafe did not start:\n${server.stderr()}`);
});
after(async () => {
  if (server) assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.stderr());
});

describe('the v2 client over HTTP, two databases', () => {
  test('tools/list has the enum; each database answers from its own server; a missing database names both', async () => {
    const session = await connectHttp(server.url);
    try {
      const { tools } = await session.client.listTools();
      const query = tools.find((t) => t.name === 'query');
      assert.deepEqual(query.inputSchema.properties.database.enum, NAMES);
      assert.ok(query.inputSchema.required.includes('database'));
      for (const [database, major] of [['sales', 15], ['support', 18]]) {
        const result = okResult(await session.client.callTool({ name: 'query', arguments: { sql: WHERE_SQL, database } }), database);
        assert.deepEqual(result.rows, [[major, database]]);
      }
      const text = errorResult(await session.client.callTool({ name: 'query', arguments: { sql: WHERE_SQL } }));
      for (const name of NAMES) assert.ok(text.includes(name), text);
      const { databases } = okResult(await session.client.callTool({ name: 'list_databases', arguments: {} }));
      assert.deepEqual(databases.map((d) => d.name), NAMES);
      const { contents } = await session.client.readResource({ uri: 'postgres://support/schema' });
      assert.ok(contents[0].text.includes('public.tickets'));
    } finally {
      await session.close();
    }
  });

  test('/readyz stays 200 while one database is down, and sales answers over HTTP meanwhile', async (t) => {
    t.after(() => {
      if (!isRunning(SUPPORT)) restart(SUPPORT);
    });
    assert.equal((await fetch(`${server.base}/readyz`)).status, 200);
    stopImmediately(SUPPORT);
    const session = await connectHttp(server.url);
    try {
      const sales = okResult(await session.client.callTool({ name: 'query', arguments: { sql: WHERE_SQL, database: 'sales' } }));
      assert.deepEqual(sales.rows, [[15, 'sales']]);
      const down = errorResult(await session.client.callTool({ name: 'query', arguments: { sql: WHERE_SQL, database: 'support' } }));
      assert.match(down, /unavailable/);
      assert.equal((await fetch(`${server.base}/readyz`)).status, 200, 'ready while at least one database is');
    } finally {
      await session.close();
    }
  });
});
