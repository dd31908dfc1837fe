// The client side of the deployment test (tests/integration/deploy/run sets everything up and
// passes it in DEPLOY_* variables): the official MCP SDK drives pgsafe through nginx (HTTP) or
// over stdio, checks that calls reach the standby through PgBouncer, then streams calls while
// one pgsafe instance is killed and the replica restarted. Every call must succeed with the
// right answer or fail with a clear error within its bound; calls after recovery must succeed.
// Prints one line per check and `deploy: N passed, N failed`; exits non-zero on any failure.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const run = promisify(execFile);
const env = process.env;
const TRANSPORT = env.DEPLOY_TRANSPORT;
const TMP = env.DEPLOY_TMP;
const ROOT = env.DEPLOY_ROOT;
const REPLICA_PORT = Number(env.DEPLOY_REPLICA_PORT);
const PRIMARY_PORT = Number(env.DEPLOY_PRIMARY_PORT);
// A call's bound: pgsafe's statement timeout (10 s in pgsafe.env) plus its 5 s grace, plus
// a reconnect through libpq's connect_timeout (5 s): anything longer is a hang.
const CALL_TIMEOUT_MS = 25_000;
const WORKERS = 4;

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

// ---- the database side, looked at directly (psql as the superuser, PgBouncer's console)

async function psql(sql, { socket = env.DEPLOY_REPLICA_SOCKET, port = REPLICA_PORT, database = 'appdb' } = {}) {
  const { stdout } = await run('psql', ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1',
    '-h', socket, '-p', String(port), '-U', 'postgres', '-d', database, '-c', sql], { timeout: 20_000 });
  return stdout.replace(/\n$/, '');
}

/** SHOW STATS / SHOW POOLS on a PgBouncer's admin console, as rows of objects. */
async function bouncerShow(which, what) {
  const port = which === 'replica' ? env.DEPLOY_BOUNCER_REPLICA_PORT : env.DEPLOY_BOUNCER_PRIMARY_PORT;
  const { stdout } = await run('psql', ['-X', '-A', '-F', '\t', '-h', '127.0.0.1', '-p', port,
    '-U', 'pgbouncer_stats', '-d', 'pgbouncer', '-c', `SHOW ${what}`],
  { timeout: 20_000, env: { ...env, PGPASSWORD: env.DEPLOY_STATS_PASSWORD } });
  const lines = stdout.trim().split('\n').filter((line) => !/^\(\d+ rows?\)$/.test(line));
  const header = lines.shift().split('\t');
  return lines.map((line) => Object.fromEntries(line.split('\t').map((value, i) => [header[i], value])));
}

async function appdbTransactions(which) {
  const row = (await bouncerShow(which, 'STATS')).find((stats) => stats.database === 'appdb');
  return row ? Number(row.total_xact_count) : 0;
}

// ---- processes: pgsafe instances (HTTP), the replica

const extraPids = `${TMP}/pids-extra`; // run stops these on exit too

function startInstance(envFile, log) {
  const out = fs.openSync(log, 'a');
  const child = spawn('bash', ['-c', 'set -a; . "$0"; set +a; exec "$@"', envFile, env.PGSAFE_BIN, 'serve'], {
    env: { PATH: env.PATH, HOME: env.HOME || '/root', LANG: 'C.UTF-8' },
    stdio: ['ignore', out, out],
    detached: false,
  });
  fs.appendFileSync(extraPids, `${child.pid}\n`);
  return child;
}

async function readyz(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

async function pollUntil(fn, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return true;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function throwaway(command) {
  await run(`${ROOT}/scripts/pg-throwaway`, [command, `${TMP}/replica`], { timeout: 60_000 });
}

// ---- MCP clients

async function connect() {
  const client = new Client({ name: 'pgsafe-deploy-test', version: '1.0.0' });
  let transport;
  if (TRANSPORT === 'http') {
    transport = new StreamableHTTPClientTransport(new URL(env.DEPLOY_URL), {
      requestInit: { headers: { Authorization: `Bearer ${env.DEPLOY_TOKEN}` } },
    });
  } else {
    transport = new StdioClientTransport({
      command: 'bash',
      args: ['-c', 'set -a; . "$0"; set +a; exec "$@"', env.DEPLOY_PGSAFE_ENV, env.PGSAFE_BIN, 'serve'],
      env: { PATH: env.PATH, HOME: env.HOME || '/root', LANG: 'C.UTF-8' },
      stderr: fs.openSync(`${TMP}/pgsafe-stdio.log`, 'a'),
    });
  }
  await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
  return client;
}

function callTool(client, name, args, options = {}) {
  return client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS, ...options });
}

function text(result) {
  return (result.content || []).filter((item) => item.type === 'text').map((item) => item.text).join('\n');
}

const WHERE_SQL = 'SELECT pg_is_in_recovery() AS standby, inet_server_port() AS port';
const ITEMS_SQL = 'SELECT count(*) AS n, sum(id) AS total FROM items';

/**
 * One call of the stream, classified: ok (the right answer), error (a clear one: a tool
 * error or a JSON-RPC or HTTP error with a message), hang (no answer within the bound) or
 * garbage (an answer that is neither).
 */
async function streamCall(client) {
  const started = Date.now();
  try {
    const result = await callTool(client, 'query', { sql: ITEMS_SQL });
    const ms = Date.now() - started;
    if (result.isError) {
      const message = text(result);
      // Database text comes fenced: the first line that is not a fence line says what happened.
      const first = message.split('\n').find((line) => line.trim() && !/^<\/?untrusted-data-[0-9a-f]+>$/.test(line.trim()));
      return { kind: first ? 'error' : 'garbage', message: first ?? '', ms };
    }
    const rows = result.structuredContent?.rows;
    const right = Array.isArray(rows) && rows.length === 1 && Number(rows[0][0]) === 50 && Number(rows[0][1]) === 1275;
    return { kind: right ? 'ok' : 'garbage', message: right ? '' : JSON.stringify(result).slice(0, 200), ms };
  } catch (error) {
    const ms = Date.now() - started;
    const message = String(error?.message ?? error);
    if (/timed out|timeout/i.test(message) && ms >= CALL_TIMEOUT_MS - 100) return { kind: 'hang', message, ms };
    return { kind: message.trim() ? 'error' : 'garbage', message: message.split('\n')[0], ms };
  }
}

async function stream(client, stop) {
  const outcomes = [];
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    while (!stop.done) {
      outcomes.push(await streamCall(client));
      await sleep(20); // a steady stream, not a benchmark on a shared machine
    }
  }));
  return outcomes;
}

function summary(outcomes) {
  const counts = { ok: 0, error: 0, hang: 0, garbage: 0 };
  const messages = new Map();
  for (const outcome of outcomes) {
    counts[outcome.kind]++;
    if (outcome.kind !== 'ok') messages.set(`${outcome.kind}: ${outcome.message}`, (messages.get(`${outcome.kind}: ${outcome.message}`) || 0) + 1);
  }
  const slowest = Math.max(0, ...outcomes.map((outcome) => outcome.ms));
  return { counts, messages, slowest };
}

function report(label, outcomes) {
  const { counts, messages, slowest } = summary(outcomes);
  console.log(`  ${label}: ${outcomes.length} calls, ${counts.ok} ok, ${counts.error} clear errors, ` +
    `${counts.hang} hung, ${counts.garbage} garbage; slowest ${slowest} ms`);
  for (const [message, count] of messages) console.log(`    ${count} x ${message}`);
  return counts;
}

/** A legacy-era tools/call POSTed through nginx without the SDK, so it can hang up. */
async function rawCall(sql, signal) {
  const response = await fetch(env.DEPLOY_URL, {
    method: 'POST',
    signal,
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      Authorization: `Bearer ${env.DEPLOY_TOKEN}`,
      'MCP-Protocol-Version': '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'query', arguments: { sql } } }),
  });
  return response.text();
}

/**
 * Starts a slow query with start(sql, signal), waits until it runs on the standby, aborts the
 * signal and waits for the statement to end; ok when the standby's log says it ended by a
 * cancel request. The statement timeout (10 s) ends it otherwise, so this never waits long.
 */
async function cancelOnStandby(start) {
  const marker = 10000 + Math.floor(Math.random() * 999);
  // Sizes in scalar subqueries: the planner cannot see them, so the cost guard lets it run.
  const sql = `SELECT count(*) FROM generate_series(1, (SELECT 100000 + max(z) FROM (VALUES (0)) v(z))) a, generate_series(1, (SELECT ${marker})) b`;
  const active = () => psql(`SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%${marker}%' AND pid <> pg_backend_pid()`).then(Number);
  const controller = new AbortController();
  const call = Promise.resolve().then(() => start(sql, controller.signal)).catch((error) => error);
  try {
    await pollUntil(async () => (await active()) === 1, 'the slow query to run on the standby', 15_000);
    controller.abort();
    await call;
    await pollUntil(async () => (await active()) === 0, 'the slow query to end', 20_000);
    // The server log: "ERROR:  canceling statement due to ..." then "STATEMENT:  <the sql>".
    const log = fs.readFileSync(`${TMP}/replica/server.log`, 'utf8').split('\n');
    const at = log.findIndex((line) => line.includes('STATEMENT:') && line.includes(`generate_series(1, (SELECT ${marker}))`));
    const cause = at > 0 ? log[at - 1].replace(/^.*ERROR:\s*/, '') : 'no error logged for the statement';
    return { ok: /due to user request/.test(cause), detail: cause };
  } catch (error) {
    controller.abort();
    return { ok: false, detail: error.message };
  }
}

// ---- the checks

async function main() {
  let client = await connect();

  // 1. Queries reach the standby, through PgBouncer.
  const before = await appdbTransactions('replica');
  const where = [];
  for (let i = 0; i < 6; i++) {
    const result = await callTool(client, 'query', { sql: WHERE_SQL });
    where.push(result.isError ? text(result) : JSON.stringify(result.structuredContent.rows[0]));
  }
  check('queries reach the standby (pg_is_in_recovery() through the query tool)',
    where.every((row) => row === JSON.stringify([true, REPLICA_PORT])), where.join(' '));
  const after = await appdbTransactions('replica');
  check('they went through the replica\'s PgBouncer (SHOW STATS: transactions on appdb)',
    after - before >= 6, `${after - before} transactions for 6 calls`);
  const pools = (await bouncerShow('replica', 'POOLS')).find((pool) => pool.database === 'appdb' && pool.user === 'pgsafe_reader');
  check('PgBouncer pools them in transaction mode (SHOW POOLS)', pools && pools.pool_mode === 'transaction',
    pools ? `cl_active ${pools.cl_active}, sv_active ${pools.sv_active}, sv_idle ${pools.sv_idle}` : 'no pool for pgsafe_reader');
  const direct = await psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'pgsafe_reader' AND client_addr = '127.0.0.1'");
  check('the standby\'s pgsafe_reader backends are PgBouncer\'s (pg_stat_activity)', Number(direct) >= 1, `${direct} backends`);

  if (TRANSPORT === 'http') {
    // A 2026-07-28 request that asks for log messages is answered with an SSE stream (the
    // messages, then the answer): nginx must pass it on as such.
    const response = await fetch(env.DEPLOY_URL, {
      method: 'POST',
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        Authorization: `Bearer ${env.DEPLOY_TOKEN}`,
        'MCP-Protocol-Version': '2026-07-28',
        'Mcp-Method': 'tools/call',
        'Mcp-Name': 'query',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: {
        name: 'query', arguments: { sql: ITEMS_SQL },
        _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {},
          'io.modelcontextprotocol/logLevel': 'debug' } } }),
    });
    const body = await response.text();
    const events = body.split('\n').filter((line) => line.startsWith('data:')).map((line) => JSON.parse(line.slice(5)));
    const last = events.at(-1);
    check('a 2026-07-28 call with log messages comes through nginx as an SSE stream, messages first',
      response.headers.get('content-type')?.startsWith('text/event-stream') && events.length >= 2 &&
      events.slice(0, -1).every((event) => event.method === 'notifications/message') &&
      last?.id === 9 && Number(last?.result?.structuredContent?.rows?.[0]?.[0]) === 50,
    `${response.status} ${response.headers.get('content-type')}, ${events.length} events`);
  }

  // pgsafe doctor, with an instance's environment, connects as serve does and judges the
  // deployment: through PgBouncer to the standby, with the read-only role.
  const envFile = TRANSPORT === 'http' ? env.DEPLOY_PGSAFE_ENV_1 : env.DEPLOY_PGSAFE_ENV;
  let doctor;
  try {
    const { stdout } = await run('bash', ['-c', 'set -a; . "$0"; set +a; exec "$@"', envFile, env.PGSAFE_BIN, 'doctor'], {
      timeout: CALL_TIMEOUT_MS, env: { PATH: env.PATH, HOME: env.HOME || '/root', LANG: 'C.UTF-8' } });
    doctor = { status: 0, out: stdout };
  } catch (error) {
    doctor = { status: error.code, out: `${error.stdout || ''}${error.stderr || ''}` };
  }
  check('pgsafe doctor finds the deployment sound through PgBouncer', doctor.status === 0,
    doctor.status === 0 ? doctor.out.trim().split('\n').pop() : doctor.out.trim().replace(/\s+/g, ' ').slice(0, 300));

  // 2. Every kind of call pgsafe makes works in transaction mode: the catalog and schema
  // queries, explain, resources, a guard rejection, a database error.
  const tables = await callTool(client, 'list_tables', {});
  check('list_tables through PgBouncer', !tables.isError && /items/.test(text(tables)));
  const described = await callTool(client, 'describe_table', { table: 'items' });
  check('describe_table through PgBouncer', !described.isError && /name/.test(text(described)));
  const explained = await callTool(client, 'explain', { sql: 'SELECT * FROM items WHERE id = 7' });
  check('explain through PgBouncer', !explained.isError && /Index Scan|Seq Scan/.test(text(explained)));
  const schema = await client.readResource({ uri: 'postgres://schema' }, { timeout: CALL_TIMEOUT_MS });
  check('the schema resource through PgBouncer', /items/.test(schema.contents?.[0]?.text || ''));
  const division = await callTool(client, 'query', { sql: 'SELECT 1 / (id - id) FROM items' });
  check('a database error is a clear tool error', division.isError && /division by zero/.test(text(division)), text(division).split('\n')[0]);
  const again = await callTool(client, 'query', { sql: ITEMS_SQL });
  check('the next call on the same connections succeeds (the failed transaction was rolled back)',
    !again.isError && Number(again.structuredContent.rows[0][0]) === 50);

  // 3. Cancellation reaches the standby's backend through PgBouncer's cancel key: the
  // replica's log must say the statement ended by a cancel request ("user request"), not
  // by the statement timeout.
  if (TRANSPORT === 'http') {
    // Over HTTP a client cancels by closing its connection; nginx closes its own to pgsafe.
    const cancelled = await cancelOnStandby((sql, signal) => rawCall(sql, signal));
    check('a call whose client hangs up is cancelled on the standby, through nginx and PgBouncer', cancelled.ok, cancelled.detail);
    // The 1.x SDK cancels with notifications/cancelled in a POST of its own and keeps the
    // first one open: behind a load balancer that POST may reach another instance.
    const sdk = await cancelOnStandby((sql, signal) => callTool(client, 'query', { sql }, { signal }));
    console.log(`  the 1.x SDK's notifications/cancelled over HTTP: ${sdk.detail}`);
  } else {
    const cancelled = await cancelOnStandby((sql, signal) => callTool(client, 'query', { sql }, { signal }));
    check('a call the client cancels (notifications/cancelled) is cancelled on the standby through PgBouncer', cancelled.ok, cancelled.detail);
  }

  // 4. The stream: kill one pgsafe instance, restart the replica.
  const stop = { done: false };
  const streaming = stream(client, stop);
  await sleep(1_000);
  let killed = null;
  if (TRANSPORT === 'http') {
    killed = Number(env.DEPLOY_PGSAFE_PID_1);
    process.kill(killed, 'SIGKILL');
    console.log(`  killed pgsafe instance 1 (PID ${killed}) with SIGKILL`);
  }
  await sleep(1_000);
  await throwaway('stop');
  console.log('  stopped the replica');
  // New connections meanwhile (what pgsafe's pool makes after losing one). The replica's
  // PgBouncer still accepts the TCP connection, then refuses the login (FATAL 08P01, "server
  // login has been failing") once it failed to reach the replica itself, and libpq tries no
  // further host after an authentication error: the multi-host DSN does not fall back to
  // the primary, so the connection must fail clearly and quickly (never hang or reach the
  // standby), or find the primary if PgBouncer had not failed yet. A DSN that names the
  // replica itself does fall back, since libpq skips a host that refuses the connection
  // (docs/deployment.md, "When the replica is down").
  const connectWith = async (dsn) => {
    try {
      const { stdout } = await run('psql', ['-X', '-A', '-t', '-c', WHERE_SQL, dsn], {
        timeout: CALL_TIMEOUT_MS, env: { PATH: env.PATH, PGPASSFILE: `${TMP}/pgpass` } });
      return stdout.trim();
    } catch (error) {
      return error.killed ? 'hang' : `error: ${String(error.stderr || error.message).trim().split('\n')[0]}`;
    }
  };
  const throughBouncer = await connectWith(env.DEPLOY_DSN);
  check('with the replica down, a new connection through its PgBouncer fails clearly (or finds the primary)',
    /^error: .*(server login has been failing|pgbouncer|query_wait_timeout)/.test(throughBouncer) || throughBouncer === `f|${PRIMARY_PORT}`,
    throughBouncer);
  const replicaItself = env.DEPLOY_DSN.replace(`127.0.0.1:${env.DEPLOY_BOUNCER_REPLICA_PORT}`, `127.0.0.1:${REPLICA_PORT}`);
  const throughReplica = await connectWith(replicaItself);
  check('with the replica down, a DSN naming the replica itself falls back to the primary\'s PgBouncer',
    throughReplica === `f|${PRIMARY_PORT}`, throughReplica);
  await sleep(2_000);
  await throwaway('start');
  console.log('  started the replica again');
  await pollUntil(async () => (await psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
    { socket: env.DEPLOY_PRIMARY_SOCKET, port: PRIMARY_PORT, database: 'postgres' })) === '1', 'the replica to stream again');
  if (TRANSPORT === 'http') {
    const mark = fs.statSync(`${env.DEPLOY_NGINX_DIR}/access.log`).size;
    startInstance(env.DEPLOY_PGSAFE_ENV_1, `${TMP}/pgsafe-${env.DEPLOY_PGSAFE_PORT_1}.log`);
    await pollUntil(() => readyz(env.DEPLOY_PGSAFE_PORT_1), 'the restarted instance to be ready');
    console.log('  restarted pgsafe instance 1');
    // nginx tries an instance it marked failed again after fail_timeout (3 s): wait, while
    // the stream goes on, until the restarted one answers a POST through it.
    const back = new RegExp(`"POST /mcp [^"]*" 200 upstream=127\\.0\\.0\\.1:${env.DEPLOY_PGSAFE_PORT_1}( |$)`, 'm');
    await pollUntil(async () => back.test(fs.readFileSync(`${env.DEPLOY_NGINX_DIR}/access.log`, 'utf8').slice(mark)),
      'nginx to send calls to the restarted instance');
  }
  await sleep(1_000);
  stop.done = true;
  const outcomes = await streaming;
  const counts = report('during the faults', outcomes);
  check('every call during the faults succeeded or failed clearly (no hang, no garbage)',
    counts.hang === 0 && counts.garbage === 0 && outcomes.length > 0);
  check('calls kept succeeding during the faults', counts.ok > 0);
  // A pooler refusing its server's login is a connection failure (SQLSTATE 08P01), not the
  // query's fault: the text must say so, not "the database rejected the query".
  const refused = outcomes.filter((outcome) => outcome.kind === 'error' && /login has been failing/.test(outcome.message));
  check('a refused login through PgBouncer reads as a connection failure, not a rejected query',
    refused.every((outcome) => /^the (connection to the database failed|database is unavailable)/.test(outcome.message)),
    refused.length ? refused[0].message : 'none seen');
  if (TRANSPORT === 'http') {
    // nginx sends a call that failed on the killed instance to the other one, so no error
    // may come from the HTTP side: every error is pgsafe's answer about the database.
    const transport = outcomes.filter((outcome) => outcome.kind === 'error' && (/HTTP \d{3}|fetch failed|socket/i.test(outcome.message) || /\bECONN[A-Z]+/.test(outcome.message)));
    check('killing an instance cost no call (nginx retried it on the other)', transport.length === 0,
      transport.length ? transport[0].message : '');
  }

  // 5. After recovery every call succeeds, on both instances, and reaches the standby again.
  const logMark = TRANSPORT === 'http' ? fs.statSync(`${env.DEPLOY_NGINX_DIR}/access.log`).size : 0;
  const recovery = [];
  for (let i = 0; i < 5; i++) {
    recovery.push(...await Promise.all(Array.from({ length: WORKERS }, () => streamCall(client))));
  }
  const recovered = report('after recovery', recovery);
  check('every call after recovery succeeds', recovered.ok === recovery.length);
  if (TRANSPORT === 'http') {
    const lines = fs.readFileSync(`${env.DEPLOY_NGINX_DIR}/access.log`, 'utf8').slice(logMark).split('\n');
    const upstreams = new Set(lines.map((line) => /upstream=(\S+)/.exec(line)?.[1]).filter(Boolean));
    check('nginx sends calls to both instances again', upstreams.size >= 2, [...upstreams].join(' '));
  }
  const whereAfter = [];
  for (let i = 0; i < 8; i++) {
    const result = await callTool(client, 'query', { sql: WHERE_SQL });
    whereAfter.push(result.isError ? 'error' : result.structuredContent.rows[0][1] === REPLICA_PORT ? 'standby' : 'primary');
  }
  console.log(`  after recovery, where calls ran: ${whereAfter.join(' ')}`);
  await client.close();
}

try {
  await main();
} catch (error) {
  check('the test ran to its end', false, error?.stack || String(error));
}
console.log(`deploy: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
