// The protocol cases of the 1.x suite (../protocol.test.mjs, ../resources.test.mjs,
// ../lifecycle.test.mjs) in 2026-07-28: bad input as raw stdio lines with modern requests
// around it, --max-message-bytes over stdio and over HTTP (a clear error, and the server
// keeps serving), bad bodies over HTTP, EOF, and the resource and prompt details with the v2
// client over both transports. A session stays usable after each bad line: a modern
// tools/list answers.
import assert from 'node:assert/strict';

import {
  RawStdio, TRANSPORTS, after, before, describe, modernHeaders, modernParams, openSession, post, startHttp, test,
} from './lib.mjs';

let next = 1000;
const toolsList = () => ({ jsonrpc: '2.0', id: next++, method: 'tools/list', params: modernParams() });
const queryCall = (sql, id = next++) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql } }) });

/** A modern request answers: the session survived what came before. */
async function assertAlive(raw, what) {
  const answer = await raw.request(toolsList());
  assert.equal(answer.result?.tools?.length, 6, `${what}: ${JSON.stringify(answer)}`);
}

describe('bad input over stdio, modern requests', () => {
  let raw;
  before(() => {
    raw = new RawStdio();
  });
  after(async () => {
    assert.deepEqual(await raw.close(), { code: 0, signal: null }, raw.stderr);
  });

  async function expectError(line, code, { anyId = false } = {}) {
    const since = raw.messages.length;
    raw.send(line);
    const answer = await raw.waitFor((m) => 'error' in m && (anyId || m.id === null), { since, what: `error ${code} for ${line.slice(0, 60)}` });
    assert.equal(answer.error.code, code, `${line}: ${JSON.stringify(answer)}`);
    await assertAlive(raw, line.slice(0, 60));
    return answer;
  }

  test('not JSON, invalid UTF-8, trailing garbage: -32700 with id null', async () => {
    await expectError('{"jsonrpc": "2.0", "id": 1, "method": "tools/list"', -32700);
    await expectError('this is not json', -32700);
    await expectError(`${JSON.stringify(toolsList())} trailing`, -32700);
    const since = raw.messages.length;
    raw.write(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":"u","method":"tools/list","params":{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}\n')]));
    const answer = await raw.waitFor((m) => 'error' in m || m.id === 'u', { since, what: 'an answer to invalid UTF-8' });
    assert.ok([-32700, -32600].includes(answer.error?.code), JSON.stringify(answer));
  });

  test('JSON but not a request: -32600; a batch: -32600 and nothing of it runs', async () => {
    for (const line of ['{"jsonrpc":"2.0"}', '"just a string"', '42', 'null', '{}', '{"jsonrpc":"1.0","id":8,"method":"tools/list"}',
      '{"jsonrpc":"2.0","id":9,"method":42}', '{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}', '{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}']) {
      await expectError(line, -32600, { anyId: true });
    }
    const batch = await expectError(`[${JSON.stringify(queryCall('SELECT 1', 'batched'))}]`, -32600, { anyId: true });
    assert.match(batch.error.message, /batch/i);
    assert.ok(!raw.messages.some((m) => m.id === 'batched'));
  });

  test('deeply nested JSON does not bring the server down', async () => {
    const depth = 100_000;
    const since = raw.messages.length;
    raw.send(`{"jsonrpc":"2.0","id":"deep","method":"tools/list","params":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
    await raw.waitFor((m) => m.id === 'deep' || (m.id === null && 'error' in m), { since, what: 'an answer to a deep message' });
    await assertAlive(raw, 'deep');
  });

  test('unknown methods are -32601 with their id; unknown notifications get no answer', async () => {
    for (const method of ['no/such/method', 'rpc.discover']) {
      const answer = await raw.request({ jsonrpc: '2.0', id: next++, method, params: modernParams() });
      assert.equal(answer.error?.code, -32601, method);
    }
    const since = raw.messages.length;
    raw.send({ jsonrpc: '2.0', method: 'notifications/no_such_thing', params: modernParams() });
    raw.send({ jsonrpc: '2.0', method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: 'SELECT 1' } }) });
    await assertAlive(raw, 'notifications');
    assert.equal(raw.messages.slice(since).length, 1, `only tools/list is answered: ${JSON.stringify(raw.messages.slice(since))}`);
  });

  test('bad params of a method, and an unknown tool: -32602', async () => {
    for (const [method, params] of [
      ['tools/call', {}], ['tools/call', { name: 42 }], ['tools/call', { name: 'query', arguments: 'SELECT 1' }],
      ['tools/call', { name: 'drop_database', arguments: {} }], ['resources/read', {}], ['resources/read', { uri: 7 }],
      ['prompts/get', {}], ['prompts/get', { name: 'explore_table', arguments: {} }],
      ['resources/list', { cursor: 'bogus-cursor' }], ['resources/list', { cursor: 12 }],
    ]) {
      const answer = await raw.request({ jsonrpc: '2.0', id: next++, method, params: modernParams(params) });
      assert.equal(answer.error?.code, -32602, `${method} ${JSON.stringify(params)}: ${JSON.stringify(answer)}`);
    }
  });

  test('arguments that fail the inputSchema are an isError result; a NUL in the SQL is refused, not cut short', async () => {
    for (const args of [{ sql: 42 }, {}, { sql: 'SELECT 1', limit: 'ten' }, { sql: 'SELECT 1', limit: 1.5 }]) {
      const answer = await raw.request({ jsonrpc: '2.0', id: next++, method: 'tools/call', params: modernParams({ name: 'query', arguments: args }) });
      assert.equal(answer.result?.isError, true, JSON.stringify(args));
      assert.equal(answer.result.structuredContent, undefined);
    }
    const nul = await raw.request(queryCall('SELECT 1 AS one\u0000; DROP TABLE orders'));
    assert.equal(nul.result?.isError, true, JSON.stringify(nul));
  });

  test('string and large integer ids are echoed as sent; CRLF endings and blank lines are harmless', async () => {
    assert.equal((await raw.request({ ...toolsList(), id: 'abc-123' })).id, 'abc-123');
    assert.equal((await raw.request({ ...toolsList(), id: 9007199254740991 })).id, 9007199254740991);
    const since = raw.messages.length;
    raw.write(`\n   \n  ${JSON.stringify({ ...toolsList(), id: 'crlf' })}  \r\n`);
    assert.equal((await raw.waitFor((m) => m.id === 'crlf', { since })).result.tools.length, 6);
  });
});

describe('--max-message-bytes', () => {
  test('stdio: a line over the cap is -32600 naming the cap, id null; nothing of it runs; the session goes on', async () => {
    const raw = new RawStdio({ args: ['--max-message-bytes', '1024'] });
    try {
      const padding = 'x'.repeat(5000);
      let since = raw.messages.length;
      raw.send(queryCall(`SELECT '${padding}'`, 'big'));
      const error = await raw.waitFor((m) => m.id === null && 'error' in m, { since, what: 'the error for the long line' });
      assert.equal(error.error.code, -32600);
      assert.match(error.error.message, /1024/);
      await assertAlive(raw, 'after the long line');
      // In pieces, with the next request in the same write as the long line's end.
      since = raw.messages.length;
      const line = JSON.stringify(queryCall(`SELECT '${padding}'`, 'big2'));
      raw.write(line.slice(0, 700));
      raw.write(line.slice(700, 3000));
      raw.write(`${line.slice(3000)}\n${JSON.stringify({ ...toolsList(), id: 'after' })}\n`);
      assert.equal((await raw.waitFor((m) => m.id === null && 'error' in m, { since })).error.code, -32600);
      assert.equal((await raw.waitFor((m) => m.id === 'after', { since })).result.tools.length, 6);
      assert.ok(!raw.messages.some((m) => m.id === 'big' || m.id === 'big2'), 'the long requests were not run');
      assert.deepEqual((await raw.request(queryCall('SELECT 2 AS two'))).result.structuredContent.rows, [[2]]);
    } finally {
      await raw.close();
    }
  });

  test('stdio: the default cap (4 MiB) lets a 1 MiB message through', async () => {
    const raw = new RawStdio();
    try {
      const answer = await raw.request({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams({}, { padding: 'y'.repeat(1 << 20) }) });
      assert.equal(answer.result?.tools?.length, 6);
    } finally {
      await raw.close();
    }
  });

  test('HTTP: a body over the cap is 413 with -32600 naming the cap; the server goes on, a body under it works', async () => {
    const server = await startHttp({ args: ['--max-message-bytes', '1024'] });
    try {
      const big = queryCall(`SELECT '${'x'.repeat(4000)}'`);
      const refused = await post(server.url, big, modernHeaders(big));
      assert.equal(refused.status, 413);
      assert.equal(refused.body.error.code, -32600);
      assert.equal(refused.body.id, null);
      assert.match(refused.body.error.message, /1024/);
      const small = queryCall('SELECT 3 AS three');
      const answer = await post(server.url, small, modernHeaders(small));
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.result.structuredContent.rows, [[3]]);
      assert.equal(server.child.exitCode, null, 'still running');
    } finally {
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
    }
  });
});

describe('bad bodies over HTTP', () => {
  let server;
  before(async () => {
    server = await startHttp();
  });
  after(async () => {
    assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.stderr());
  });

  test('not JSON: 400 with -32700; a batch or a non-request: 400 with -32600; another content type: 415', async () => {
    const headers = { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/list' };
    for (const [body, status, code] of [
      ['{"jsonrpc": "2.0", "id": 1', 400, -32700],
      [`[${JSON.stringify(toolsList())}]`, 400, -32600],
      ['"just a string"', 400, -32600],
    ]) {
      const answer = await post(server.url, body, headers);
      assert.equal(answer.status, status, `${body}: ${answer.text}`);
      assert.equal(answer.body.error.code, code, body);
      assert.equal(answer.body.id, null);
    }
    const text = await fetch(server.url, { method: 'POST', headers: { 'Content-Type': 'text/plain', ...headers }, body: JSON.stringify(toolsList()) });
    assert.equal(text.status, 415);
    const ok = toolsList();
    assert.equal((await post(server.url, ok, modernHeaders(ok))).body.result.tools.length, 6);
  });
});

describe('EOF', () => {
  test('EOF on stdin, with or without a request before it: exits 0', async () => {
    const quiet = new RawStdio();
    assert.deepEqual(await quiet.close(), { code: 0, signal: null });
    const busy = new RawStdio();
    await assertAlive(busy, 'one request');
    assert.deepEqual(await busy.close(), { code: 0, signal: null });
  });
});

for (const kind of TRANSPORTS) {
  describe(`resources and prompts over ${kind}`, () => {
    let session;
    before(async () => {
      session = await openSession(kind);
    });
    after(async () => {
      await session?.close();
    });

    test('resources/list: 100 per page following nextCursor, every table once, partitions and secret schemas hidden', async () => {
      // Without a cursor the v2 client walks every page itself: the pages are on the wire.
      const since = session.received.length;
      const uris = (await session.client.listResources()).resources.map((r) => r.uri);
      const pages = session.received.slice(since).filter((m) => Array.isArray(m.result?.resources)).map((m) => m.result);
      assert.ok(pages.length >= 2, `pages: ${pages.length}`);
      for (const page of pages.slice(0, -1)) {
        assert.equal(typeof page.nextCursor, 'string');
        assert.equal(page.resources.length, 100, 'a page with a nextCursor is full');
      }
      assert.equal(pages.at(-1).nextCursor, undefined);
      assert.equal(uris.length, pages.reduce((sum, page) => sum + page.resources.length, 0));
      assert.equal(new Set(uris).size, uris.length);
      for (let i = 1; i <= 120; i++) assert.ok(uris.includes(`postgres://table/wide/t${String(i).padStart(3, '0')}`));
      assert.ok(uris.includes('postgres://schema') && uris.includes('postgres://table/archive/kpis'));
      assert.ok(!uris.includes('postgres://table/public/events_2024'));
      assert.ok(!uris.some((u) => u.startsWith('postgres://table/secret/')));
      const second = await session.client.listResources({ cursor: pages[0].nextCursor });
      assert.deepEqual(second.resources.map((r) => r.uri), pages[1].resources.map((r) => r.uri), 'one page when asked with a cursor');
      await assert.rejects(session.client.listResources({ cursor: 'not-a-cursor' }), (e) => e.code === -32602);
    });

    test('postgres://schema: one line per table, keys, references with ->, the comment last', async () => {
      const { contents } = await session.client.readResource({ uri: 'postgres://schema' });
      assert.equal(contents[0].uri, 'postgres://schema');
      const lines = contents[0].text.split('\n');
      const orders = lines.find((line) => line.startsWith('public.orders '));
      assert.match(orders, /^public\.orders \(table\)[^:]*: id bigint PK, customer_id integer/);
      assert.match(orders, /customer_id integer[^,]* -> public\.customers\(id\)/);
      assert.match(orders, / -- one row per order$/);
      assert.match(lines.find((line) => line.startsWith('public.numbers ')), /^public\.numbers \(table, ~50000 rows\): n integer PK, label text/);
      assert.equal(lines.filter((line) => /^wide\.t\d{3} /.test(line)).length, 120);
      assert.ok(!contents[0].text.includes('events_2024') && !contents[0].text.includes('secret.keys'));
    });

    test('postgres://table/public/orders as text; unknown or invisible URIs are -32602', async () => {
      const { contents } = await session.client.readResource({ uri: 'postgres://table/public/orders' });
      for (const word of ['customer_id', 'numeric(12,2)', 'one row per order', 'orders_customer_id_idx']) assert.ok(contents[0].text.includes(word), word);
      for (const uri of ['postgres://table/secret/keys', 'file:///etc/passwd']) {
        await assert.rejects(session.client.readResource({ uri }), (e) => e.code === -32602, uri);
      }
    });

    test('prompts: arguments and their required flags; a missing required argument is -32602', async () => {
      const byName = Object.fromEntries((await session.client.listPrompts()).prompts.map((p) => [p.name, p]));
      assert.notEqual(byName.analyst.arguments.find((a) => a.name === 'topic').required, true);
      assert.equal(byName.explore_table.arguments.find((a) => a.name === 'table').required, true);
      const plain = await session.client.getPrompt({ name: 'analyst' });
      assert.equal(plain.messages[0].role, 'user');
      await assert.rejects(session.client.getPrompt({ name: 'explore_table', arguments: {} }), (e) => e.code === -32602);
    });
  });
}
