// Lifecycle: initialize negotiation, server info, capabilities, instructions, the role
// posture warning and --refuse-writable-role, flags and their environment variables,
// SIGTERM and EOF.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';

import {
  BIN, PG, READER, RawSession, WRITER, activeStatements, assertCleanSession, baseEnv, callTool, connect,
  describe, okResult, pgEnv, pollUntil, psql, psqlValue, slowSql, test,
} from './lib/harness.mjs';

const EXPECTED_CAPABILITIES = {
  tools: { listChanged: false },
  resources: { subscribe: false, listChanged: false },
  prompts: { listChanged: false },
  logging: {},
};

describe('initialize', () => {
  for (const version of ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']) {
    test(`negotiates ${version} (raw)`, async () => {
      const raw = new RawSession();
      try {
        const result = await raw.initialize(version);
        assert.equal(result.protocolVersion, version);
        assert.equal(result.serverInfo?.name, 'pgsafe');
        assert.equal(typeof result.serverInfo?.version, 'string');
        assert.ok(result.serverInfo.version.length > 0);
        assert.deepEqual(result.capabilities, EXPECTED_CAPABILITIES);
        assert.equal(typeof result.instructions, 'string');
        await raw.assertPing();
        raw.assertCleanStdout();
      } finally {
        await raw.close();
      }
    });
  }

  test('answers an unsupported version with the newest one', async () => {
    const raw = new RawSession();
    try {
      const result = await raw.initialize('2099-01-01');
      assert.equal(result.protocolVersion, '2025-11-25');
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });

  test('the SDK client negotiates 2025-11-25 and 2025-06-18', async () => {
    for (const version of ['2025-11-25', '2025-06-18']) {
      const session = await connect({ protocolVersion: version });
      try {
        assert.equal(session.negotiated, version);
        assert.deepEqual(session.client.getServerVersion()?.name, 'pgsafe');
        assert.deepEqual(session.client.getServerCapabilities(), EXPECTED_CAPABILITIES);
        assert.deepEqual(await session.client.ping(), {});
        assertCleanSession(session);
      } finally {
        await session.close();
      }
    }
  });

  test('instructions describe the tools and the limits in force', async () => {
    const session = await connect({ args: ['--max-rows', '777', '--statement-timeout', '45000'] });
    try {
      const instructions = session.client.getInstructions();
      assert.equal(typeof instructions, 'string');
      assert.match(instructions, /\b777\b/, 'the max rows in force');
      assert.match(instructions, /\b45(000\s*ms|\s*s\b|\s*seconds?\b)/, 'the statement timeout in force');
      for (const tool of ['query', 'check_sql', 'describe_table']) assert.ok(instructions.includes(tool), `mentions ${tool}`);
      assertCleanSession(session);
    } finally {
      await session.close();
    }
  });

  test('instructions warn when connected as the superuser postgres, not as pgsafe_reader', async () => {
    const superuser = await connect({ user: PG.superuser });
    const reader = await connect({ user: READER });
    try {
      const su = superuser.client.getInstructions();
      const rd = reader.client.getInstructions();
      assert.match(su, /superuser/i, `superuser instructions: ${su}`);
      assert.match(su, /warn/i, `superuser instructions: ${su}`);
      assert.doesNotMatch(rd, /superuser/i, `reader instructions: ${rd}`);
      assert.doesNotMatch(rd, /warn/i, `reader instructions: ${rd}`);
    } finally {
      await superuser.close();
      await reader.close();
    }
  });

  test('instructions warn when the role can write (not a superuser)', async () => {
    const writer = await connect({ user: WRITER });
    try {
      const text = writer.client.getInstructions();
      assert.match(text, /warn/i, `writer instructions: ${text}`);
      assert.match(text, /writ/i, `writer instructions: ${text}`);
    } finally {
      await writer.close();
    }
  });

  test('a second initialize is -32600; requests before initialize are -32002, ping is fine', async () => {
    const raw = new RawSession();
    try {
      const ping = await raw.request('ping');
      assert.deepEqual(ping.result, {});
      for (const method of ['tools/list', 'resources/list', 'prompts/list']) {
        const early = await raw.request(method, {});
        assert.equal(early.error?.code, -32002, `${method} before initialize: ${JSON.stringify(early)}`);
      }
      const early = await raw.request('tools/call', { name: 'query', arguments: { sql: 'SELECT 1' } });
      assert.equal(early.error?.code, -32002);
      await raw.initialize();
      const again = await raw.request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } });
      assert.equal(again.error?.code, -32600, JSON.stringify(again));
      const list = await raw.request('tools/list', {});
      assert.ok(Array.isArray(list.result?.tools));
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });
});

describe('process lifecycle', () => {
  test('EOF on stdin: exits 0', async () => {
    const raw = new RawSession();
    await raw.initialize();
    raw.child.stdin.end();
    const { code, signal } = await raw.waitExit(10_000);
    assert.equal(signal, null);
    assert.equal(code, 0, raw.stderr());
    raw.assertCleanStdout();
  });

  test('EOF before anything was sent: exits 0', async () => {
    const raw = new RawSession();
    raw.child.stdin.end();
    const { code } = await raw.waitExit(10_000);
    assert.equal(code, 0, raw.stderr());
  });

  test('SIGTERM: exits 0', async () => {
    const raw = new RawSession();
    await raw.initialize();
    await raw.assertPing();
    raw.child.kill('SIGTERM');
    const { code, signal } = await raw.waitExit(10_000);
    assert.equal(signal, null, 'exits by itself rather than dying of the signal');
    assert.equal(code, 0, raw.stderr());
    raw.assertCleanStdout();
  });

  test('SIGTERM while a query runs: exits 0 and the statement does not go on running', async () => {
    const marker = '10037';
    const raw = new RawSession({ args: ['--statement-timeout', '120000'] });
    await raw.initialize();
    raw.send({ jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'query', arguments: { sql: slowSql(marker) } } });
    await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to show in pg_stat_activity' });
    raw.child.kill('SIGTERM');
    const { code, signal } = await raw.waitExit(10_000);
    assert.equal(signal, null);
    assert.equal(code, 0, raw.stderr());
    await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the statement to be cancelled' });
    raw.assertCleanStdout();
  });
});

describe('SIGTERM drains', () => {
  test('a call in flight that finishes within the drain is answered, then pgsafe exits 0', async () => {
    // The call waits on a lock another session holds; SIGTERM comes while it waits, and the
    // lock is released once pgsafe says it is draining. Its own table, so no other test waits.
    psql(`DROP TABLE IF EXISTS drain_probe; CREATE TABLE drain_probe (x int); INSERT INTO drain_probe VALUES (1), (2);
          GRANT SELECT ON drain_probe TO ${READER}`);
    const holder = spawn('psql', ['-X', '-q', '-c', 'BEGIN; LOCK TABLE drain_probe IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120)'], {
      env: { ...process.env, ...pgEnv(PG.superuser), PGAPPNAME: 'pgsafe_drain_holder' },
      stdio: 'ignore',
    });
    const raw = new RawSession({ args: ['--lock-timeout', '60000', '--statement-timeout', '60000'] });
    try {
      await pollUntil(() => psqlValue("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation " +
        "WHERE c.relname = 'drain_probe' AND l.mode = 'AccessExclusiveLock' AND l.granted") === '1',
      { what: 'the lock to be held' });
      await raw.initialize();
      raw.send({ jsonrpc: '2.0', id: 'drained', method: 'tools/call', params: { name: 'query', arguments: { sql: 'SELECT count(*) AS n FROM drain_probe' } } });
      await pollUntil(() => psqlValue("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' " +
        "AND query LIKE '%drain_probe%' AND pid <> pg_backend_pid()") === '1', { what: 'the call to wait on the lock' });
      raw.child.kill('SIGTERM');
      await pollUntil(() => /stopping on a signal/.test(raw.stderr()), { what: 'pgsafe to start draining' });
      psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgsafe_drain_holder'");
      const response = await raw.waitFor((m) => m.id === 'drained', { what: 'the drained call\'s answer' });
      assert.equal(response.result?.isError, false, JSON.stringify(response));
      assert.deepEqual(response.result.structuredContent.rows, [[2]]);
      const { code, signal } = await raw.waitExit(10_000);
      assert.equal(signal, null);
      assert.equal(code, 0, raw.stderr());
      raw.assertCleanStdout();
    } finally {
      holder.kill('SIGKILL');
      await raw.close();
      psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgsafe_drain_holder'");
      psql('DROP TABLE IF EXISTS drain_probe');
    }
  });

  test('a second signal ends the drain at once', async () => {
    const marker = '10039';
    const raw = new RawSession({ args: ['--statement-timeout', '120000'] });
    try {
      await raw.initialize();
      raw.send({ jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'query', arguments: { sql: slowSql(marker) } } });
      await pollUntil(() => activeStatements(marker) > 0, { what: 'the slow statement to run' });
      raw.child.kill('SIGTERM');
      await pollUntil(() => /stopping on a signal/.test(raw.stderr()), { what: 'pgsafe to start draining' });
      raw.child.kill('SIGTERM');
      const { code, signal } = await raw.waitExit(10_000);
      assert.equal(signal, null);
      assert.equal(code, 0, raw.stderr());
      assert.match(raw.stderr(), /stopping at once on a second signal/);
      await pollUntil(() => activeStatements(marker) === 0, { timeoutMs: 15_000, what: 'the statement to be cancelled' });
      raw.assertCleanStdout();
    } finally {
      await raw.close();
    }
  });
});

describe('role posture', () => {
  test('--refuse-writable-role as postgres: exits 2 with the reason on stderr', async () => {
    const raw = new RawSession({ user: PG.superuser, args: ['--refuse-writable-role'] });
    raw.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    const { code } = await raw.waitExit(20_000);
    assert.equal(code, 2, raw.stderr());
    assert.match(raw.stderr(), /superuser|writ/i);
    raw.assertCleanStdout();
  });

  test('--refuse-writable-role as a role that can write: exits 2', async () => {
    const raw = new RawSession({ user: WRITER, env: { PGSAFE_REFUSE_WRITABLE_ROLE: '1' } });
    raw.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    const { code } = await raw.waitExit(20_000);
    assert.equal(code, 2, raw.stderr());
    assert.match(raw.stderr(), /writ|insert|update|delete/i);
  });

  test('a member of pg_read_server_files is not a read-only role: warned, and refused with --refuse-writable-role', async () => {
    const role = 'pgsafe_file_reader';
    psql(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN IN ROLE pg_read_server_files; ` +
      `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
    try {
      const session = await connect({ user: role });
      try {
        const text = session.client.getInstructions();
        assert.match(text, /warning: the role can write \(member of pg_read_server_files\)/i, text);
      } finally {
        await session.close();
      }
      const raw = new RawSession({ user: role, env: { PGSAFE_REFUSE_WRITABLE_ROLE: '1' } });
      raw.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
      const { code } = await raw.waitExit(20_000);
      assert.equal(code, 2, raw.stderr());
      assert.match(raw.stderr(), /member of pg_read_server_files/);
    } finally {
      psql(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });

  test('--refuse-writable-role as pgsafe_reader: serves', async () => {
    const session = await connect({ user: READER, args: ['--refuse-writable-role'] });
    try {
      const result = okResult(await callTool(session, 'query', { sql: 'SELECT 1 AS one' }));
      assert.deepEqual(result.rows, [[1]]);
      assertCleanSession(session);
    } finally {
      await session.close();
    }
  });
});

describe('command line', () => {
  const serve = (args, env = {}) =>
    spawnSync(BIN, ['serve', ...args], { env: baseEnv({ ...pgEnv(READER), ...env }), encoding: 'utf8', timeout: 15_000, input: '' });

  test('--help lists every flag and exits 0', () => {
    const run = serve(['--help']);
    assert.equal(run.status, 0, run.stderr);
    const text = run.stdout + run.stderr;
    for (const flag of ['--dsn', '--max-rows', '--statement-timeout', '--lock-timeout', '--max-result-bytes', '--max-cell-bytes',
      '--max-message-bytes', '--pool-size', '--schemas', '--allow-function', '--deny-function', '--allow-relation',
      '--deny-relation', '--audit-log', '--audit-sql', '--log-level', '--explain-analyze', '--refuse-writable-role']) {
      assert.ok(text.includes(flag), `--help mentions ${flag}`);
    }
  });

  for (const [args, env, pattern] of [
    [['--max-rows', 'abc'], {}, /max-rows|MAX_ROWS/],
    [['--max-rows', '0'], {}, /max-rows|MAX_ROWS/],
    [['--statement-timeout', '-5'], {}, /statement-timeout|STATEMENT_TIMEOUT/],
    [['--pool-size', 'many'], {}, /pool-size|POOL_SIZE/],
    [['--log-level', 'loud'], {}, /log-level|LOG_LEVEL/],
    [['--no-such-flag'], {}, /no-such-flag/],
    [[], { PGSAFE_MAX_ROWS: 'abc' }, /max-rows|MAX_ROWS/],
    [[], { PGSAFE_MAX_MESSAGE_BYTES: '-1' }, /max-message-bytes|MAX_MESSAGE_BYTES/],
    [['--max-rows', '1000001'], {}, /max-rows|MAX_ROWS/],
    [['--max-result-bytes', '1023'], {}, /max-result-bytes|MAX_RESULT_BYTES/],
    [['--max-cell-bytes', '15'], {}, /max-cell-bytes|MAX_CELL_BYTES/],
    [['--statement-timeout', '0'], {}, /statement-timeout|STATEMENT_TIMEOUT/],
    [['--max-rows'], {}, /max-rows/],
    [[], { PGSAFE_AUDIT_SQL: 'maybe' }, /AUDIT_SQL/],
    [['--audit-log', '/nonexistent-dir/audit.jsonl'], {}, /nonexistent-dir|audit/],
  ]) {
    test(`a bad value exits 2 with the reason: ${JSON.stringify(args)} ${JSON.stringify(env)}`, () => {
      const run = serve(args, env);
      assert.equal(run.status, 2, `status ${run.status}; stderr: ${run.stderr}`);
      assert.match(run.stderr, pattern);
      assert.equal(run.stdout, '', 'nothing on stdout');
    });
  }

  test('--max-rows=N works like --max-rows N, and a flag wins over its variable', async () => {
    const session = await connect({ args: ['--max-rows=6'], env: { PGSAFE_MAX_ROWS: '9' } });
    try {
      const result = okResult(await callTool(session, 'query', { sql: 'SELECT n FROM numbers ORDER BY n' }));
      assert.equal(result.applied_limit, 6);
      assert.equal(result.row_count, 6);
    } finally {
      await session.close();
    }
  });

  test('PGSAFE_MAX_ROWS sets the row limit like --max-rows', async () => {
    const session = await connect({ env: { PGSAFE_MAX_ROWS: '7' } });
    try {
      const result = okResult(await callTool(session, 'query', { sql: 'SELECT n FROM numbers ORDER BY n' }));
      assert.equal(result.applied_limit, 7);
      assert.equal(result.row_count, 7);
      assert.equal(result.truncated, true);
    } finally {
      await session.close();
    }
  });
});
