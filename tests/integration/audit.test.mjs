// --audit-log: one JSON line per tool call with the documented fields; and the connection
// secret never shows: a DATABASE_URL (or --dsn) with a password, which must appear in no
// stdout message, no stderr line and no audit line. (The cluster trusts local connections,
// so the password is not checked, but it is in the DSN all the same.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import {
  BIN, PG, READER, READER_PASSWORD, WRITER, WRITER_PASSWORD, assertCleanSession, baseEnv, callTool, connect,
  databaseUrl, describe, errorResult, okResult, pgEnv, pollUntil, scratchDir, test,
} from './lib/harness.mjs';

const FIELDS = ['time', 'id', 'tool', 'fingerprint', 'verdict', 'reason', 'rows', 'bytes', 'ms'];

function readAudit(file) {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  return text.split('\n').filter((line) => line !== '').map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      assert.fail(`an audit line is not JSON: ${line}`);
    }
  });
}

function everythingSaid(session, auditFile) {
  return [
    JSON.stringify(session.inbound),
    session.stderr(),
    session.client.getInstructions() ?? '',
    auditFile && fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8') : '',
  ].join('\n');
}

describe('audit log', () => {
  test('one JSON line per tool call with the documented fields; no password, no DSN', async () => {
    const dir = scratchDir('audit');
    const file = path.join(dir, 'audit.jsonl');
    const session = await connect({
      pgenv: false,
      env: { DATABASE_URL: databaseUrl(READER, READER_PASSWORD) },
      args: ['--audit-log', file, '--log-level', 'debug'],
    });
    const calls = [];
    try {
      await session.client.setLoggingLevel('debug');
      calls.push(['query', await callTool(session, 'query', { sql: 'SELECT n FROM numbers WHERE n <= 3 ORDER BY n' })]);
      calls.push(['query', await callTool(session, 'query', { sql: 'SELECT pg_sleep(10)' })]);
      calls.push(['query', await callTool(session, 'query', { sql: 'SELECT 1 / 0' })]);
      calls.push(['check_sql', await callTool(session, 'check_sql', { sql: 'SELECT pg_sleep(10)' })]);
      calls.push(['list_tables', await callTool(session, 'list_tables', { schema: 'public' })]);
      calls.push(['describe_table', await callTool(session, 'describe_table', { table: 'orders' })]);
      calls.push(['query', await callTool(session, 'query', { sql: 'SELECT n FROM numbers WHERE n <= 3 ORDER BY n' })]);
      await session.client.ping(); // not a tool call: no audit line
    } finally {
      await session.close();
    }
    const lines = await pollUntil(() => {
      const l = readAudit(file);
      return l.length >= calls.length ? l : false;
    }, { timeoutMs: 5_000, what: 'the audit lines' }).catch(() => readAudit(file));
    assert.equal(lines.length, calls.length, `one line per tool call:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);

    const callIds = session.outbound.filter((m) => m.method === 'tools/call').map((m) => m.id);
    assert.deepEqual(lines.map((l) => l.id), callIds, 'the id is the tools/call request id');
    lines.forEach((line, i) => {
      for (const field of FIELDS) assert.ok(field in line, `audit line ${i} has ${field}: ${JSON.stringify(line)}`);
      assert.ok(!('sql' in line), 'no sql without --audit-sql');
      assert.equal(line.tool, calls[i][0]);
      assert.ok(!Number.isNaN(Date.parse(line.time)), `time parses: ${line.time}`);
      assert.equal(typeof line.ms, 'number');
      assert.ok(line.ms >= 0);
    });
    const [ok, rejected, failed, , , , again] = lines;
    assert.equal(ok.rows, 3);
    assert.equal(typeof ok.bytes, 'number');
    assert.ok(ok.bytes > 0);
    assert.equal(typeof ok.fingerprint, 'string');
    assert.equal(again.fingerprint, ok.fingerprint, 'the same SQL has the same fingerprint');
    assert.notEqual(rejected.fingerprint, ok.fingerprint);
    assert.notEqual(rejected.verdict, ok.verdict, 'a rejection has another verdict than a query that ran');
    assert.equal(rejected.reason, okResult(calls[3][1]).reason, 'the rejection reason is the guard\'s');
    assert.notEqual(failed.verdict, ok.verdict, 'a database error has another verdict than a query that ran');
    errorResult(calls[2][1]);

    const said = everythingSaid(session, file);
    assert.ok(!said.includes(READER_PASSWORD), 'the password never appears');
    assert.ok(!said.includes('postgresql://'), 'the DSN never appears');
    assertCleanSession(session);
  });

  test('--audit-sql adds the SQL', async () => {
    const dir = scratchDir('audit-sql');
    const file = path.join(dir, 'audit.jsonl');
    const session = await connect({ args: ['--audit-log', file, '--audit-sql'] });
    try {
      await callTool(session, 'query', { sql: 'SELECT 12345 AS marker_value' });
      await callTool(session, 'query', { sql: "SELECT pg_read_file('/etc/hostname')" });
    } finally {
      await session.close();
    }
    const lines = readAudit(file);
    assert.equal(lines.length, 2);
    assert.match(lines[0].sql, /12345/);
    assert.match(lines[1].sql, /pg_read_file/);
  });

  test('appends to an existing audit log', async () => {
    const dir = scratchDir('audit-append');
    const file = path.join(dir, 'audit.jsonl');
    fs.writeFileSync(file, '{"earlier":"line"}\n');
    const session = await connect({ args: ['--audit-log', file] });
    try {
      await callTool(session, 'list_schemas', {});
    } finally {
      await session.close();
    }
    const lines = readAudit(file);
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0], { earlier: 'line' });
    assert.equal(lines[1].tool, 'list_schemas');
  });

  test('an audit log that cannot be opened: exits 2 with the reason', async () => {
    const run = spawnSync(BIN, ['serve', '--audit-log', '/nonexistent-dir/audit.jsonl'], {
      env: baseEnv(pgEnv()), encoding: 'utf8', timeout: 15_000, input: '',
    });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /nonexistent-dir|audit/);
  });

  test('a failed audit write is reported on stderr and counted; calls go on', async () => {
    // /dev/full takes the open and fails every write (ENOSPC).
    const session = await connect({ args: ['--audit-log', '/dev/full'] });
    try {
      okResult(await callTool(session, 'query', { sql: 'SELECT 1 AS one' }));
      okResult(await callTool(session, 'check_sql', { sql: 'SELECT 2' }));
      await pollUntil(() => /2 lines lost so far/.test(session.stderr()), { what: 'the second failure on stderr' });
      assert.match(session.stderr(), /pgsafe: error: cannot write the audit log: No space left on device; 1 line lost so far/);
    } finally {
      await session.close();
    }
  });

  test('--audit-required: no result while the audit log cannot be written', async () => {
    const session = await connect({ args: ['--audit-log', '/dev/full'], env: { PGSAFE_AUDIT_REQUIRED: '1' } });
    try {
      // The first call's line fails: its result is withheld (a JSON-RPC error).
      await assert.rejects(callTool(session, 'query', { sql: 'SELECT 1 AS one' }), /result is withheld/);
      // While the log is failing, calls are refused; their own lines fail too.
      await assert.rejects(callTool(session, 'check_sql', { sql: 'SELECT 1' }), /audit log cannot be written/);
      // Methods without an audit line go on.
      assert.deepEqual(await session.client.ping(), {});
    } finally {
      await session.close();
    }
  });
});

describe('the connection secret', () => {
  test('a password in --dsn never appears, even when the connection fails', async () => {
    const dsn = `host=${PG.host} port=${PG.port} dbname=no_such_database user=${WRITER} password=${WRITER_PASSWORD}`;
    const session = await connect({ pgenv: false, args: ['--dsn', dsn, '--log-level', 'debug'] });
    try {
      await session.client.setLoggingLevel('debug');
      const text = errorResult(await callTool(session, 'query', { sql: 'SELECT 1' }));
      assert.match(text, /no_such_database|does not exist/);
      await callTool(session, 'list_schemas', {});
      await session.client.ping();
    } finally {
      await session.close();
    }
    const said = everythingSaid(session);
    assert.ok(!said.includes(WRITER_PASSWORD), 'the password never appears');
    assertCleanSession(session);
  });

  test('a password in DATABASE_URL never appears in errors, logs or instructions', async () => {
    const url = databaseUrl(WRITER, WRITER_PASSWORD);
    const session = await connect({ pgenv: false, env: { DATABASE_URL: url }, args: ['--log-level', 'debug'] });
    try {
      await session.client.setLoggingLevel('debug');
      okResult(await callTool(session, 'query', { sql: 'SELECT current_user AS who' }));
      errorResult(await callTool(session, 'query', { sql: "SELECT current_setting('password')" }));
      await session.client.readResource({ uri: 'postgres://schema' });
    } finally {
      await session.close();
    }
    const said = everythingSaid(session);
    assert.ok(!said.includes(WRITER_PASSWORD), 'the password never appears');
    assert.ok(!said.includes(url));
    assertCleanSession(session);
  });

  // libpq quotes a malformed DSN whole in its error; every way it can leave pgsafe
  // (instructions, tool errors, stderr, the audit log, doctor, setup-sql) must redact it.
  const SECRET = 'TopS3cretPW';
  const malformed = [
    ['an unclosed IPv6 bracket', { args: ['--dsn', `postgresql://app:${SECRET}@[db.internal/app`] }],
    ['a bad percent escape', { args: ['--dsn', `postgresql://app:Top%zz${SECRET}@db.internal/app`] }],
    ['the percent-encoded password itself', { args: ['--dsn', `postgresql://app:${encodeURIComponent(SECRET).replace('S', '%53')}%zz@db.internal/app`] }],
    ['a URI password parameter', { env: { DATABASE_URL: `postgresql://[db.internal/app?password=${SECRET}` } }],
    ['key=value', { args: ['--dsn', `host=${PG.host} port=${PG.port} password='${SECRET}' dbname='unterminated`] }],
    ['PGPASSWORD', { args: ['--dsn', `postgresql://app@[db.internal/app`], env: { PGPASSWORD: SECRET } }],
  ];
  for (const [what, { args = [], env = {} }] of malformed) {
    test(`a malformed DSN never shows the password: ${what}`, async () => {
      const dir = scratchDir('redact');
      const auditFile = path.join(dir, 'audit.jsonl');
      const session = await connect({ pgenv: false, env, args: [...args, '--audit-log', auditFile, '--log-level', 'debug'] });
      try {
        await session.client.setLoggingLevel('debug');
        errorResult(await callTool(session, 'query', { sql: 'SELECT 1' }));
        await callTool(session, 'list_schemas', {});
      } finally {
        await session.close();
      }
      const said = everythingSaid(session, auditFile);
      assert.ok(!said.includes(SECRET) && !said.includes(SECRET.replace('S', '%53')), `the password shows:\n${said}`);
      assertCleanSession(session);
      for (const command of ['doctor', 'setup-sql']) {
        const run = spawnSync(BIN, [command, ...args], { env: baseEnv(env), encoding: 'utf8', timeout: 20_000 });
        const output = `${run.stdout}\n${run.stderr}`;
        assert.ok(output.trim().length > 0, `${command} says something`);
        assert.ok(!output.includes(SECRET), `${command} shows the password:\n${output}`);
      }
    });
  }

  test('a password from a service file or a password file never shows either', async () => {
    const dir = scratchDir('service');
    const serviceFile = path.join(dir, 'pg_service.conf');
    fs.writeFileSync(serviceFile, `[broken]\nhost=[db.internal\npassword=${SECRET}\nsslmode=${SECRET}\n`);
    const passFile = path.join(dir, 'pgpass');
    fs.writeFileSync(passFile, `*:*:*:*:${SECRET}\n`, { mode: 0o600 });
    const env = { PGSERVICEFILE: serviceFile, PGPASSFILE: passFile };
    const session = await connect({ pgenv: false, env, args: ['--dsn', 'service=broken', '--log-level', 'debug'] });
    try {
      errorResult(await callTool(session, 'query', { sql: 'SELECT 1' }));
    } finally {
      await session.close();
    }
    const said = everythingSaid(session);
    assert.match(said, /sslmode/, 'the service file was read');
    assert.ok(!said.includes(SECRET), `the password shows:\n${said}`);
    const run = spawnSync(BIN, ['doctor', '--dsn', 'service=broken'], { env: baseEnv(env), encoding: 'utf8', timeout: 20_000 });
    assert.ok(!`${run.stdout}${run.stderr}`.includes(SECRET));
  });
});
