// The session cases of the 1.x suite (../audit.test.mjs, ../concurrency.test.mjs,
// ../lifecycle.test.mjs, ../bounds.test.mjs) with the v2 client in 2026-07-28, over stdio and
// over Streamable HTTP: the audit log (fields, verdicts, the token's identity over HTTP,
// --audit-sql, a failing log, --audit-required, no password anywhere), cancellation (the
// client cancels a slow query; the backend is freed and the next call works), a query
// queued behind others cancelled, the byte budget cancelling its statement, timeouts,
// concurrent calls, instructions, SIGTERM, and --max-in-flight.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  META_VERSION, MODERN, PG, RawStdio, TMP, TRANSPORTS, activeStatements, addToken, after, before, callTool, describe,
  errorResult, modernParams, okResult, openSession, pollUntil, psql, readAudit, slowSql, test,
} from './lib.mjs';

const FIELDS = ['time', 'id', 'tool', 'fingerprint', 'verdict', 'reason', 'rows', 'bytes', 'ms'];
const READER_PASSWORD = 'Rd-pw-8f3k2-never-shown'; // ../fixture.sql
const tokens = path.join(TMP, 'session-tokens');
let token;
before(() => {
  token = addToken(tokens, 'erin');
});

/** Options for openSession: over HTTP the server wants a token and the client sends it. */
function withIdentity(kind, { args = [], ...rest } = {}) {
  if (kind === 'stdio') return { args, ...rest };
  return { args: [...args, '--tokens', tokens], headers: { Authorization: `Bearer ${token}` }, ...rest };
}

/** The tools/call request ids the client sent, in order (a stateless HTTP client numbers them too). */
const callIds = (session) => session.sent.filter((m) => m.method === 'tools/call').map((m) => m.id);

for (const kind of TRANSPORTS) {
  describe(`audit log over ${kind}`, () => {
    test('one JSON line per tool call with the documented fields and the identity; no password', async () => {
      const file = path.join(TMP, `audit-${kind}.jsonl`);
      const session = await openSession(kind, withIdentity(kind, {
        args: ['--audit-log', file],
        env: { DATABASE_URL: `postgresql://pgsafe_reader:${READER_PASSWORD}@/${PG.database}?host=${encodeURIComponent(PG.host)}&port=${PG.port}` },
      }));
      const calls = [];
      try {
        const call = async (name, args) => calls.push([name, await callTool(session, name, args)]);
        await call('query', { sql: 'SELECT n FROM numbers WHERE n <= 3 ORDER BY n' });
        await call('query', { sql: 'SELECT pg_sleep(10)' });
        await call('query', { sql: 'SELECT 1 / 0' });
        await call('check_sql', { sql: 'SELECT pg_sleep(10)' });
        await call('list_tables', { schema: 'public' });
        await call('describe_table', { table: 'orders' });
        await call('query', { sql: 'SELECT n FROM numbers WHERE n <= 3 ORDER BY n' });
        await session.client.listTools(); // not a tool call: no audit line
      } finally {
        await session.close();
      }
      const lines = readAudit(file);
      assert.equal(lines.length, calls.length, lines.map((l) => JSON.stringify(l)).join('\n'));
      assert.deepEqual(lines.map((l) => l.id), callIds(session), 'the id is the tools/call request id');
      lines.forEach((line, i) => {
        for (const field of FIELDS) assert.ok(field in line, `line ${i} has ${field}: ${JSON.stringify(line)}`);
        assert.equal(line.tool, calls[i][0]);
        assert.ok(!('sql' in line), 'no sql without --audit-sql');
        assert.ok(!Number.isNaN(Date.parse(line.time)));
        if (kind === 'http') assert.equal(line.identity, 'erin', 'the token\'s identity');
        else assert.ok(!('identity' in line), 'stdio has no identity');
      });
      const [ok, rejected, failed, , , , again] = lines;
      assert.equal(ok.rows, 3);
      assert.ok(ok.bytes > 0);
      assert.equal(again.fingerprint, ok.fingerprint);
      assert.notEqual(rejected.fingerprint, ok.fingerprint);
      assert.notEqual(rejected.verdict, ok.verdict);
      assert.equal(rejected.reason, okResult(calls[3][1]).reason, 'the guard\'s reason');
      assert.notEqual(failed.verdict, ok.verdict);
      assert.notEqual(failed.verdict, rejected.verdict);
      const said = [JSON.stringify(session.received), session.stderr(), session.client.getInstructions(), JSON.stringify(lines)].join('\n');
      assert.ok(!said.includes(READER_PASSWORD), 'the password never appears');
      assert.ok(!said.includes('postgresql://'), 'the DSN never appears');
    });

    test('--audit-sql adds the SQL', async () => {
      const file = path.join(TMP, `audit-sql-${kind}.jsonl`);
      const session = await openSession(kind, withIdentity(kind, { args: ['--audit-log', file, '--audit-sql'] }));
      try {
        await callTool(session, 'query', { sql: 'SELECT 12345 AS marker_value' });
        await callTool(session, 'query', { sql: "SELECT pg_read_file('/etc/hostname')" });
      } finally {
        await session.close();
      }
      assert.deepEqual(readAudit(file).map((l) => l.sql), ['SELECT 12345 AS marker_value', "SELECT pg_read_file('/etc/hostname')"]);
    });

    test('a failed audit write is reported and counted, calls go on; --audit-required withholds results', async () => {
      const failing = await openSession(kind, withIdentity(kind, { args: ['--audit-log', '/dev/full'] }));
      try {
        okResult(await callTool(failing, 'query', { sql: 'SELECT 1 AS one' }));
        okResult(await callTool(failing, 'check_sql', { sql: 'SELECT 2' }));
        await pollUntil(() => /2 lines lost so far/.test(failing.stderr()), { what: 'the second failure on stderr' });
        assert.match(failing.stderr(), /cannot write the audit log: No space left on device; 1 line lost so far/);
      } finally {
        await failing.close();
      }
      const required = await openSession(kind, withIdentity(kind, { args: ['--audit-log', '/dev/full'], env: { PGSAFE_AUDIT_REQUIRED: '1' } }));
      try {
        await assert.rejects(callTool(required, 'query', { sql: 'SELECT 1 AS one' }), /result is withheld/);
        await assert.rejects(callTool(required, 'check_sql', { sql: 'SELECT 1' }), /audit log cannot be written/);
        assert.equal((await required.client.listTools()).tools.length, 6, 'methods without an audit line go on');
      } finally {
        await required.close();
      }
    });
  });

  describe(`cancellation and concurrency over ${kind}`, () => {
    let session;
    before(async () => {
      session = await openSession(kind, { args: ['--statement-timeout', '120000', '--pool-size', '4'] });
    });
    after(async () => {
      await session?.close();
    });

    test('the client cancels a slow query: the backend is freed, no answer comes for it, the next call works', async () => {
      const marker = kind === 'stdio' ? '20007' : '20009';
      const controller = new AbortController();
      const outcome = callTool(session, 'query', { sql: slowSql(marker) }, { signal: controller.signal }).then(() => 'resolved', (e) => e);
      await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to run' });
      controller.abort('the test cancels it');
      assert.ok((await outcome) instanceof Error, 'the client rejects the aborted call');
      const request = session.sent.filter((m) => m.method === 'tools/call').at(-1);
      if (kind === 'stdio') {
        // Over stdio the client says so; over HTTP it hangs up, which is the cancellation.
        const cancelled = session.sent.find((m) => m.method === 'notifications/cancelled');
        assert.equal(cancelled?.params.requestId, request.id, JSON.stringify(cancelled));
      }
      await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the statement to leave pg_stat_activity' });
      assert.deepEqual(okResult(await callTool(session, 'query', { sql: 'SELECT 41 + 1 AS answer' })).rows, [[42]]);
      await sleep(500); // a late answer would show up here
      assert.deepEqual(session.received.filter((m) => m.id === request.id && !m.method), [], 'no answer for the cancelled request');
    });

    test('cancelling a request queued behind another, then the running one', async () => {
      const single = await openSession(kind, { args: ['--statement-timeout', '120000', '--pool-size', '1'] });
      try {
        const marker = kind === 'stdio' ? '20019' : '20021';
        const controllers = [new AbortController(), new AbortController()];
        const running = callTool(single, 'query', { sql: slowSql(marker) }, { signal: controllers[0].signal }).catch((e) => e);
        await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to run' });
        const queued = callTool(single, 'query', { sql: 'SELECT 7 AS queued' }, { signal: controllers[1].signal }).catch((e) => e);
        await sleep(200); // the queued call reaches the server
        controllers[1].abort('drop the queued one');
        assert.ok((await queued) instanceof Error);
        controllers[0].abort('and the running one');
        assert.ok((await running) instanceof Error);
        await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the statement to be cancelled' });
        assert.deepEqual(okResult(await callTool(single, 'query', { sql: 'SELECT 8 AS after' })).rows, [[8]]);
      } finally {
        await single.close();
      }
    });

    test('a cancellation for an unknown or finished request is ignored', async () => {
      await session.client.notification({ method: 'notifications/cancelled', params: { requestId: 987654, reason: 'never sent' } });
      const done = okResult(await callTool(session, 'query', { sql: 'SELECT 1 AS one' }));
      const last = session.sent.filter((m) => m.method === 'tools/call').at(-1);
      await session.client.notification({ method: 'notifications/cancelled', params: { requestId: last.id, reason: 'too late' } });
      assert.deepEqual(done.rows, [[1]]);
      assert.deepEqual(okResult(await callTool(session, 'query', { sql: 'SELECT 2 AS two' })).rows, [[2]]);
    });

    test('when the byte budget runs out the statement is cancelled, not left running', async () => {
      const budget = await openSession(kind, { args: ['--max-result-bytes', '2000', '--statement-timeout', '120000', '--max-cost', '0'] });
      try {
        const marker = kind === 'stdio' ? '2313' : '2317';
        const sql = `SELECT repeat('x', 700) || (SELECT count(*) FROM generate_series(1, 1000) x, generate_series(1, ${marker} + g - g) y) AS v FROM generate_series(1, 1000) g`;
        const result = okResult(await callTool(budget, 'query', { sql }));
        assert.equal(result.truncation?.reason, 'byte_budget');
        assert.ok(result.row_count >= 1 && result.row_count <= 2, `row_count ${result.row_count}`);
        await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the cut statement to stop' });
      } finally {
        await budget.close();
      }
    });

    test('concurrent queries get their own results, and a quick one answers while a slow one runs', async () => {
      // Over HTTP one client may have 16 messages in flight (429 beyond): 16 there, 32 on stdio.
      const count = kind === 'http' ? 16 : 32;
      const results = await Promise.all(Array.from({ length: count }, (_, i) => callTool(session, 'query', { sql: `SELECT ${i} AS i, repeat('v', ${i}) AS s` })));
      results.forEach((raw, i) => assert.deepEqual(okResult(raw).rows, [[i, 'v'.repeat(i)]]));
      const marker = kind === 'stdio' ? '20031' : '20033';
      const controller = new AbortController();
      const slow = callTool(session, 'query', { sql: slowSql(marker) }, { signal: controller.signal }).catch((e) => e);
      await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to run' });
      assert.deepEqual(okResult(await callTool(session, 'query', { sql: 'SELECT 3 AS quick' })).rows, [[3]]);
      controller.abort('done');
      await slow;
      await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the slow statement to stop' });
    });

    test('the statement timeout and the lock timeout end a call with an isError result', async () => {
      const short = await openSession(kind, { args: ['--statement-timeout', '1000', '--lock-timeout', '200'] });
      const locker = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], { env: { ...process.env, PGUSER: 'postgres' }, stdio: ['pipe', 'ignore', 'inherit'] });
      try {
        assert.match(errorResult(await callTool(short, 'query', { sql: slowSql('20041') })), /statement timeout/i);
        locker.stdin.write('BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE;\n');
        await pollUntil(() => psql("SELECT count(*) FROM pg_locks WHERE relation = 'customers'::regclass AND mode = 'AccessExclusiveLock' AND granted") === '1', { what: 'the lock' });
        assert.match(errorResult(await callTool(short, 'query', { sql: 'SELECT count(*) FROM customers' })), /lock timeout/i);
        assert.equal(psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'pgsafe_reader' AND state LIKE 'idle in transaction%'"), '0');
      } finally {
        locker.stdin.end('ROLLBACK;\n');
        await new Promise((resolve) => locker.on('exit', resolve));
        await short.close();
      }
    });
  });

  describe(`instructions and shutdown over ${kind}`, () => {
    test('instructions describe the tools and the limits in force; the writer role is warned about', async () => {
      const limits = await openSession(kind, { args: ['--max-rows', '777', '--statement-timeout', '45000'] });
      const writer = await openSession(kind, { user: 'pgsafe_writer' });
      try {
        const text = limits.client.getInstructions();
        assert.match(text, /\b777\b/);
        assert.match(text, /\b45(000\s*ms|\s*s\b|\s*seconds?\b)/);
        for (const tool of ['query', 'check_sql', 'describe_table']) assert.ok(text.includes(tool), tool);
        assert.doesNotMatch(text, /warn/i);
        assert.match(writer.client.getInstructions(), /warn.*writ|writ.*warn/is);
      } finally {
        await limits.close();
        await writer.close();
      }
    });

    test('SIGTERM while a query runs: exits 0 and the statement does not go on running', async () => {
      const session = await openSession(kind, { args: ['--statement-timeout', '120000'] });
      const marker = kind === 'stdio' ? '20037' : '20039';
      const pending = callTool(session, 'query', { sql: slowSql(marker) }).catch((e) => e);
      await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to run' });
      if (kind === 'http') {
        assert.deepEqual(await session.server.stop(), { code: 0, signal: null }, session.stderr());
      } else {
        const exited = new Promise((resolve) => session.transport._process.on('exit', (code, signal) => resolve({ code, signal })));
        process.kill(session.pid, 'SIGTERM');
        assert.deepEqual(await exited, { code: 0, signal: null }, session.stderr());
      }
      await pending;
      await session.client.close().catch(() => {});
      await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the statement to be cancelled' });
    });
  });
}

describe('requests in flight', () => {
  test('stdio, --max-in-flight: one request more is -32003 naming the cap; cancelled, calls go on', async () => {
    const raw = new RawStdio({ args: ['--max-in-flight', '2', '--pool-size', '1', '--statement-timeout', '60000'] });
    try {
      const slow = (id, marker) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: slowSql(marker) } }) });
      raw.send(slow('slow-1', '20601'));
      raw.send(slow('slow-2', '20603'));
      await pollUntil(() => activeStatements('20601') > 0, { what: 'the first statement to run' });
      const over = await raw.request({ jsonrpc: '2.0', id: 'over', method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: 'SELECT 1' } }) });
      assert.equal(over.error?.code, -32003, JSON.stringify(over));
      assert.match(over.error.message, /at most 2 may wait for their answers at once \(--max-in-flight\)/);
      raw.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1' } });
      raw.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-2' } });
      let next = 0;
      await pollUntil(async () => {
        const answer = await raw.request({ jsonrpc: '2.0', id: `after-${next++}`, method: 'tools/call', params: modernParams({ name: 'query', arguments: { sql: 'SELECT 2 AS two' } }) });
        return answer.result && !answer.result.isError;
      }, { what: 'a call taken again once the others are cancelled' });
      assert.equal(activeStatements('20601') + activeStatements('20603'), 0);
    } finally {
      await raw.close();
    }
  });

  test('HTTP: a client over its 16 messages in flight gets 429 with a JSON-RPC error; other calls go on', async () => {
    const session = await openSession('http', { args: ['--pool-size', '1', '--statement-timeout', '60000'] });
    const controllers = Array.from({ length: 16 }, () => new AbortController());
    try {
      const pending = controllers.map((controller, i) => callTool(session, 'query', { sql: slowSql(String(20700 + i)) }, { signal: controller.signal }).catch((e) => e));
      await pollUntil(() => activeStatements('20700') > 0, { what: 'the first statement to run' });
      const message = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { [META_VERSION]: MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } } };
      await pollUntil(async () => {
        const response = await fetch(session.server.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/list' },
          body: JSON.stringify(message),
        });
        if (response.status !== 429) return false;
        assert.ok(response.headers.get('retry-after'));
        const body = await response.json();
        assert.equal(body.error.code, -32004);
        assert.match(body.error.message, /at most 16 at once per client/);
        return true;
      }, { what: 'the 17th message to be refused' });
      for (const controller of controllers) controller.abort('done');
      await Promise.all(pending);
      await pollUntil(() => psql("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%generate_series(1, (SELECT 207%'") === '0',
        { timeoutMs: 15_000, what: 'every statement to stop' });
      assert.deepEqual(okResult(await callTool(session, 'query', { sql: 'SELECT 9 AS nine' })).rows, [[9]]);
    } finally {
      await session.close();
    }
  });
});
