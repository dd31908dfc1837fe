// Bad input sent as raw lines to a spawned `pgsafe serve` (not through the SDK): every
// answer has the documented code, the session goes on (ping answers after each), and
// stdout carries nothing but valid JSON-RPC lines.
import assert from 'node:assert/strict';

import {
  RawSession, after, before, describe, rawToolResult, test,
} from './lib/harness.mjs';

describe('bad input (2025-11-25 session)', () => {
  let raw;
  before(async () => {
    raw = new RawSession({ args: ['--log-level', 'debug'] });
    await raw.initialize('2025-11-25');
  });
  after(async () => {
    if (!raw) return;
    raw.assertCleanStdout();
    const { code } = await raw.close();
    assert.equal(code, 0, raw.stderr());
  });

  async function expectError(line, code, { anyId = false, what = line } = {}) {
    const since = raw.messages.length;
    raw.send(line);
    const response = await raw.waitFor((m) => 'error' in m && (anyId || m.id === null), { since, what: `error ${code} for ${String(what).slice(0, 80)}` });
    assert.equal(response.error.code, code, `${what}: ${JSON.stringify(response)}`);
    assert.ok(response.error.message.length > 0);
    await raw.assertPing(`ping after ${String(what).slice(0, 60)}`);
    return response;
  }

  test('not JSON: -32700 with id null', async () => {
    await expectError('{"jsonrpc": "2.0", "id": 1, "method": "ping"', -32700);
    await expectError('this is not json', -32700);
    await expectError('{"jsonrpc":"2.0","id":1,"method":"ping"} trailing', -32700);
  });

  test('invalid UTF-8 is not JSON', async () => {
    const since = raw.messages.length;
    raw.write(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":"u","method":"ping","params":{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}\n')]));
    const response = await raw.waitFor((m) => 'error' in m || m.id === 'u', { since, what: 'an answer to invalid UTF-8' });
    assert.ok(response.error, `an error expected, got ${JSON.stringify(response)}`);
    assert.ok([-32700, -32600].includes(response.error.code), JSON.stringify(response));
    await raw.assertPing();
  });

  test('JSON but not a request: -32600', async () => {
    // Every case is tried; the failures are listed together.
    const wrong = [];
    for (const line of [
      '{"jsonrpc":"2.0"}',
      '"just a string"',
      '42',
      'null',
      'true',
      '{}',
      '{"id":7,"method":"ping"}',
      '{"jsonrpc":"1.0","id":8,"method":"ping"}',
      '{"jsonrpc":"2.0","id":9,"method":42}',
      '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}',
      '{"jsonrpc":"2.0","id":true,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
      '{"jsonrpc":"2.0","id":[1],"method":"ping"}',
    ]) {
      const since = raw.messages.length;
      raw.send(line);
      const response = await raw.waitFor((m) => 'error' in m || 'result' in m, { since, what: `an answer to ${line}` });
      if (response.error?.code !== -32600) wrong.push(`${line} -> ${JSON.stringify(response)}`);
      else if (![null, 7, 8, 9].includes(response.id)) wrong.push(`${line} -> id ${JSON.stringify(response.id)}`);
      await raw.assertPing(`ping after ${line}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('a NUL byte inside the SQL is refused, not cut short', async () => {
    const result = rawToolResult(await raw.request('tools/call', { name: 'query', arguments: { sql: 'SELECT 1 AS one\u0000; DROP TABLE orders' } }));
    assert.equal(result.isError, true, JSON.stringify(result));
    const check = rawToolResult(await raw.request('tools/call', { name: 'check_sql', arguments: { sql: 'SELECT 1\u0000 AS one' } }));
    assert.equal(check.structuredContent?.allowed, false, JSON.stringify(check));
  });

  test('deeply nested JSON does not bring the server down', async () => {
    const depth = 100_000;
    const since = raw.messages.length;
    raw.send('{"jsonrpc":"2.0","id":"deep","method":"ping","params":{"x":' + '['.repeat(depth) + ']'.repeat(depth) + '}}');
    const response = await raw.waitFor((m) => m.id === 'deep' || (m.id === null && 'error' in m), { since, what: 'an answer to a deep message' });
    assert.ok(response, 'answered');
    await raw.assertPing('ping after a deeply nested message');
  });

  test('a JSON array (batch): -32600, batches are not supported', async () => {
    const response = await expectError('[{"jsonrpc":"2.0","id":"batched","method":"ping"}]', -32600, { anyId: true });
    assert.match(response.error.message, /batch/i);
    assert.ok(!raw.messages.some((m) => m.id === 'batched' && 'result' in m), 'the batch element was not run');
    await expectError('[]', -32600, { anyId: true });
  });

  test('an unknown method: -32601 with its id', async () => {
    const response = await raw.request('no/such/method', {});
    assert.equal(response.error?.code, -32601, JSON.stringify(response));
    const rpcDiscover = await raw.request('rpc.discover');
    assert.equal(rpcDiscover.error?.code, -32601);
  });

  test('an unknown notification gets no answer', async () => {
    const since = raw.messages.length;
    raw.notify('notifications/no_such_thing', {});
    raw.notify('no/such/method');
    await raw.assertPing();
    assert.deepEqual(raw.messages.slice(since).filter((m) => 'error' in m), [], 'no error for a notification');
  });

  test('bad params of a method: -32602', async () => {
    for (const [method, params] of [
      ['tools/call', {}],
      ['tools/call', { name: 42 }],
      ['tools/call', { name: 'query', arguments: 'SELECT 1' }],
      ['resources/read', {}],
      ['resources/read', { uri: 7 }],
      ['prompts/get', {}],
      ['logging/setLevel', {}],
      ['logging/setLevel', { level: 'loud' }],
      ['resources/list', { cursor: 'bogus-cursor' }],
      ['resources/list', { cursor: 12 }],
    ]) {
      const response = await raw.request(method, params);
      assert.equal(response.error?.code, -32602, `${method} ${JSON.stringify(params)}: ${JSON.stringify(response)}`);
      await raw.assertPing();
    }
  });

  test('an unknown tool: -32602', async () => {
    const response = await raw.request('tools/call', { name: 'drop_database', arguments: {} });
    assert.equal(response.error?.code, -32602, JSON.stringify(response));
    await raw.assertPing();
  });

  test('arguments that fail the inputSchema: an isError tool result under 2025-11-25', async () => {
    for (const args of [{ sql: 42 }, {}, { sql: 'SELECT 1', limit: 'ten' }, { sql: 'SELECT 1', limit: 1.5 }]) {
      const result = rawToolResult(await raw.request('tools/call', { name: 'query', arguments: args }));
      assert.equal(result.isError, true, JSON.stringify(args));
      assert.equal(result.content?.[0]?.type, 'text');
      assert.equal(result.structuredContent, undefined);
    }
    const describe = rawToolResult(await raw.request('tools/call', { name: 'describe_table', arguments: { table: ['orders'] } }));
    assert.equal(describe.isError, true);
    const explain = rawToolResult(await raw.request('tools/call', { name: 'explain', arguments: { sql: 'SELECT 1', analyze: 'yes' } }));
    assert.equal(explain.isError, true);
    await raw.assertPing();
  });

  test('string and large integer ids are echoed as sent; CRLF line endings work', async () => {
    const response = await raw.request('ping', undefined, { id: 'abc-123' });
    assert.deepEqual(response, { jsonrpc: '2.0', id: 'abc-123', result: {} });
    const big = await raw.request('ping', undefined, { id: 9007199254740991 });
    assert.equal(big.id, 9007199254740991);
    const since = raw.messages.length;
    raw.write('{"jsonrpc":"2.0","id":"crlf","method":"ping"}\r\n');
    const crlf = await raw.waitFor((m) => m.id === 'crlf', { since });
    assert.deepEqual(crlf.result, {});
  });

  test('blank lines and whitespace around a message are harmless', async () => {
    raw.write('\n   \n');
    raw.write('  {"jsonrpc":"2.0","id":"ws","method":"ping"}  \n');
    const response = await raw.waitFor((m) => m.id === 'ws');
    assert.deepEqual(response.result, {});
    await raw.assertPing();
  });

  test('a notification with an id-less tools/call runs nothing visible and answers nothing', async () => {
    const since = raw.messages.length;
    raw.notify('tools/call', { name: 'query', arguments: { sql: 'SELECT 1' } });
    await raw.assertPing();
    await raw.assertPing();
    const answers = raw.messages.slice(since);
    assert.equal(answers.length, 2, `only the two pings are answered: ${JSON.stringify(answers)}`);
    for (const m of answers) assert.deepEqual(m.result, {});
  });
});

describe('bad input (2025-06-18 session)', () => {
  test('arguments that fail the inputSchema: -32602', async () => {
    const raw = new RawSession();
    try {
      await raw.initialize('2025-06-18');
      for (const args of [{ sql: 42 }, {}, { sql: 'SELECT 1', limit: 'ten' }]) {
        const response = await raw.request('tools/call', { name: 'query', arguments: args });
        assert.equal(response.error?.code, -32602, `${JSON.stringify(args)}: ${JSON.stringify(response)}`);
        await raw.assertPing();
      }
      const unknown = await raw.request('tools/call', { name: 'drop_database', arguments: {} });
      assert.equal(unknown.error?.code, -32602);
      // A guard rejection is still a tool result.
      const rejected = rawToolResult(await raw.request('tools/call', { name: 'query', arguments: { sql: 'DELETE FROM orders' } }));
      assert.equal(rejected.isError, true);
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });
});

describe('message size cap', () => {
  test('a line over --max-message-bytes: -32600 naming the cap, id null; the session continues', async () => {
    const raw = new RawSession({ args: ['--max-message-bytes', '1024'] });
    try {
      await raw.initialize();
      const padding = 'x'.repeat(5000);
      const big = JSON.stringify({ jsonrpc: '2.0', id: 'big', method: 'ping', params: { _meta: { padding } } });
      const response = await raw.sendExpectingNullIdError(big);
      assert.equal(response.error.code, -32600);
      assert.match(response.error.message, /1024/);
      await raw.assertPing('ping after an oversized line');
      assert.ok(!raw.messages.some((m) => m.id === 'big' && 'result' in m), 'the oversized request was not run');

      // Sent in pieces, with the next request in the same write as the line's end.
      const since = raw.messages.length;
      const second = JSON.stringify({ jsonrpc: '2.0', id: 'big2', method: 'tools/call', params: { name: 'query', arguments: { sql: `SELECT '${padding}'` } } });
      raw.write(second.slice(0, 700));
      raw.write(second.slice(700, 3000));
      raw.write(second.slice(3000) + '\n{"jsonrpc":"2.0","id":"after","method":"ping"}\n');
      const error = await raw.waitFor((m) => m.id === null && 'error' in m, { since });
      assert.equal(error.error.code, -32600);
      const after = await raw.waitFor((m) => m.id === 'after', { since });
      assert.deepEqual(after.result, {});
      assert.ok(!raw.messages.some((m) => m.id === 'big2'), 'the oversized tools/call was not run');

      // A message under the cap still works.
      const small = await raw.request('tools/call', { name: 'query', arguments: { sql: 'SELECT 2 AS two' } });
      assert.deepEqual(small.result?.structuredContent?.rows, [[2]]);
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });

  test('the default cap (4 MiB) lets a 1 MiB message through', async () => {
    const raw = new RawSession();
    try {
      await raw.initialize();
      const response = await raw.request('ping', { _meta: { padding: 'y'.repeat(1 << 20) } });
      assert.deepEqual(response.result, {});
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });
});
