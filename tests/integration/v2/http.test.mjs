// `pgsafe serve --http`: the v2 client over Streamable HTTP with bearer tokens, and every
// refusal of the transport with its HTTP status and JSON-RPC error body: no, bad or revoked
// token, a foreign Origin or Host, the caps, a non-loopback address without tokens. Also the
// legacy era over HTTP (stateless, no session id), health checks, the audit line's identity,
// and a client that hangs up cancelling its statement.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import {
  BIN, MODERN, TMP, after, before, connectHttp, describe, errorResult, modernHeaders, modernParams, okResult,
  pollUntil, post, psql, startHttp, test,
} from './lib.mjs';

const tokens = path.join(TMP, 'http-tokens');
const audit = path.join(TMP, 'http-audit.jsonl');
const addToken = (name) => execFileSync(BIN, ['token', 'add', name, '--tokens', tokens], { encoding: 'utf8' }).trim();
const revokeToken = (name) => execFileSync(BIN, ['token', 'revoke', name, '--tokens', tokens], { stdio: 'ignore' });

let server;
let alice;
before(async () => {
  alice = addToken('alice');
  server = await startHttp({ args: ['--tokens', tokens, '--audit-log', audit] });
  assert.ok(server.url, `pgsafe did not start:\n${server.stderr()}`);
});
after(async () => {
  if (server) assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.stderr());
});

/** One POST on a connection of its own (no keep-alive), with a 15 s bound; the parsed answer. */
function postOnNewConnection(url, message, headers) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(message);
    const request = http.request(url, {
      method: 'POST',
      agent: false,
      timeout: 15_000,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close', ...headers },
    }, (response) => {
      let text = '';
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve(JSON.parse(text)));
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 15 s')));
    request.on('error', reject);
    request.end(body);
  });
}

const bearer = (token) => ({ Authorization: `Bearer ${token}` });
const toolsList = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: modernParams() };

describe('bearer tokens', () => {
  test('the v2 client with a token: discover, tools, a query; the identity is in the audit line', async () => {
    const session = await connectHttp(server.url, bearer(alice));
    try {
      assert.equal(session.client.getNegotiatedProtocolVersion(), MODERN);
      assert.match(session.client.getInstructions(), /at most 1000 rows/);
      const result = okResult(await session.client.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) AS n FROM orders' } }));
      assert.deepEqual(result.rows, [['4']].map(([n]) => [Number(n)]));
      const rejected = errorResult(await session.client.callTool({ name: 'query', arguments: { sql: 'DELETE FROM orders' } }));
      assert.match(rejected, /^rejected/);
    } finally {
      await session.close();
    }
    const lines = fs.readFileSync(audit, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(lines.length >= 2);
    for (const line of lines.slice(-2)) assert.equal(line.identity, 'alice');
  });

  test('no token: 401 with a Bearer challenge and a JSON-RPC error', async () => {
    const answer = await post(server.url, toolsList, modernHeaders(toolsList));
    assert.equal(answer.status, 401);
    assert.match(answer.headers.get('www-authenticate'), /^Bearer realm="pgsafe"/);
    assert.equal(answer.body.jsonrpc, '2.0');
    assert.equal(answer.body.error.code, -32001);
  });

  test('a wrong token: 401 invalid_token', async () => {
    const answer = await post(server.url, toolsList, { ...modernHeaders(toolsList), ...bearer('pgsafe_not-a-token') });
    assert.equal(answer.status, 401);
    assert.match(answer.headers.get('www-authenticate'), /error="invalid_token"/);
  });

  test('a revoked token is refused from the next request on, without a restart', async () => {
    const bob = addToken('bob');
    assert.equal((await post(server.url, toolsList, { ...modernHeaders(toolsList), ...bearer(bob) })).status, 200);
    revokeToken('bob');
    const answer = await post(server.url, toolsList, { ...modernHeaders(toolsList), ...bearer(bob) });
    assert.equal(answer.status, 401);
    assert.equal((await post(server.url, toolsList, { ...modernHeaders(toolsList), ...bearer(alice) })).status, 200);
  });

  test('/healthz and /readyz need no token', async () => {
    assert.deepEqual(await (await fetch(`${server.base}/healthz`)).json(), { status: 'ok' });
    assert.deepEqual(await (await fetch(`${server.base}/readyz`)).json(), { status: 'ready' });
  });
});

describe('refusals', () => {
  test('a foreign Origin: 403', async () => {
    const answer = await post(server.url, toolsList, { ...modernHeaders(toolsList), ...bearer(alice), Origin: 'http://evil.example.com' });
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error.code, -32003);
  });

  test('headers that do not match the body: 400 HeaderMismatch', async () => {
    const answer = await post(server.url, toolsList, { ...modernHeaders(toolsList), ...bearer(alice), 'Mcp-Method': 'tools/call' });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, -32020);
  });

  test('Mcp-Method: required on a request, optional on a notification, checked when present', async () => {
    const { 'Mcp-Method': _, ...noMethod } = modernHeaders(toolsList);
    const request = await post(server.url, toolsList, { ...noMethod, ...bearer(alice) });
    assert.equal(request.status, 400);
    assert.equal(request.body.error.code, -32020);
    assert.equal(request.body.error.message, "header mismatch: Mcp-Method is missing; it must be the body's method 'tools/list'");
    // The v2 client sends a notification with MCP-Protocol-Version and no Mcp-Method.
    const notification = { jsonrpc: '2.0', method: 'notifications/cancelled', params: modernParams({ requestId: 77, reason: 'gone' }) };
    const accepted = await post(server.url, notification, { 'MCP-Protocol-Version': MODERN, ...bearer(alice) });
    assert.equal(accepted.status, 202, accepted.text);
    const wrong = await post(server.url, notification, { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/list', ...bearer(alice) });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.message, "header mismatch: Mcp-Method 'tools/list' does not match the body's method 'notifications/cancelled'");
  });

  test('an unsupported version: 400 with -32022', async () => {
    const message = { jsonrpc: '2.0', id: 5, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2030-01-01', 'io.modelcontextprotocol/clientCapabilities': {} } } };
    const answer = await post(server.url, message, { ...bearer(alice), 'MCP-Protocol-Version': '2030-01-01', 'Mcp-Method': 'tools/list' });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, -32022);
    assert.ok(answer.body.error.data.supported.includes(MODERN));
  });

  test('a modern unknown method: 404 with -32601', async () => {
    const message = { jsonrpc: '2.0', id: 6, method: 'ping', params: modernParams() };
    const answer = await post(server.url, message, { ...modernHeaders(message), ...bearer(alice) });
    assert.equal(answer.status, 404);
    assert.equal(answer.body.error.code, -32601);
  });

  test('GET /mcp: 405', async () => {
    assert.equal((await fetch(server.url, { headers: bearer(alice) })).status, 405);
  });

  test('a body over --max-message-bytes: 413', async () => {
    const small = await startHttp({ args: ['--max-message-bytes', '1024'] });
    try {
      const message = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: `SELECT '${'x'.repeat(4000)}'` } }) };
      const answer = await post(small.url, message, modernHeaders(message));
      assert.equal(answer.status, 413);
      assert.equal(answer.body.error.code, -32600);
    } finally {
      await small.stop();
    }
  });

  test('a non-loopback address without tokens: refuses to start', async () => {
    const refused = await startHttp({ host: '0.0.0.0' });
    assert.equal(refused.url, null);
    assert.equal((await refused.exited).code, 2);
    assert.match(refused.stderr(), /refusing to listen on 0\.0\.0\.0 without authentication/);
  });
});

describe('eras and cancellation', () => {
  test('a legacy client over HTTP: initialize, then stateless requests; no session id is minted', async () => {
    const init = await post(server.url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'old', version: '1' } } }, bearer(alice));
    assert.equal(init.status, 200);
    assert.equal(init.body.result.protocolVersion, '2025-11-25');
    assert.equal(init.headers.get('mcp-session-id'), null);
    const tools = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...bearer(alice), 'MCP-Protocol-Version': '2025-11-25' });
    assert.equal(tools.body.result.tools.length, 6);
    assert.equal(tools.body.result.resultType, undefined);
  });

  test('two clients using the same request id get their own answers', async () => {
    const call = (sql) => {
      const message = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql } }) };
      return post(server.url, message, { ...modernHeaders(message), ...bearer(alice) });
    };
    const [one, two] = await Promise.all([call('SELECT 1 AS v'), call('SELECT 2 AS v')]);
    assert.deepEqual([one.body.id, two.body.id], [1, 1]);
    assert.deepEqual([one.body.result.structuredContent.rows, two.body.result.structuredContent.rows], [[[1]], [[2]]]);
  });

  test('queries on new connections are answered, each in turn, from the first one on', async () => {
    // A new connection is accepted in one turn of the transport and its request read in the
    // next, which may come after the pool's turn: the loop must still run the pool before it
    // sleeps, or the call waits for some other event.
    const fresh = await startHttp({ waitReady: false });
    try {
      for (let i = 0; i < 8; i++) {
        const message = { jsonrpc: '2.0', id: i, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: `SELECT ${i} AS v` } }) };
        const answer = await postOnNewConnection(fresh.url, message, modernHeaders(message));
        assert.deepEqual(answer.result.structuredContent.rows, [[i]], JSON.stringify(answer));
      }
    } finally {
      await fresh.stop();
    }
  });

  test('a client that hangs up cancels its running statement', async () => {
    // Sizes in scalar subqueries: the planner cannot see them, so the cost guard lets it run.
    const marker = 10777;
    const message = { jsonrpc: '2.0', id: 9, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: `SELECT count(*) FROM generate_series(1, (SELECT 100000)) a, generate_series(1, (SELECT ${marker})) b` } }) };
    const controller = new AbortController();
    const pending = fetch(server.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...modernHeaders(message), ...bearer(alice) },
      body: JSON.stringify(message),
      signal: controller.signal,
    }).catch(() => null);
    const running = `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%generate_series(1, (SELECT ${marker}))%' AND state = 'active' AND pid <> pg_backend_pid()`;
    await pollUntil(() => psql(running) === '1', { what: 'the statement to run' });
    controller.abort();
    await pending;
    await pollUntil(() => psql(running) === '0', { what: 'the statement to be cancelled' });
  });
});
