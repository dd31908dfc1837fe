// The live adversarial suite (run by tests/integration/live/run, which sets the environment):
// every entry of corpus/adversarial.jsonl through `pgsafe serve` and the MCP SDK, once per
// deployment role (superuser, owner, read-only), each call followed by the entry's oracles and
// the canary snapshot. First a self-check proves that the oracles and the reset can fail.
//   LIVE_MARKER_DIR  the marker file's directory      LIVE_DATA_DIR  the cluster's data directory
//   LIVE_REPORT      the Markdown report to write      LIVE_ONLY      only entries whose id matches
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import pg from 'pg';

import { connect, callTool, ROOT, PG } from '../lib/harness.mjs';
import {
  CANARIES, CLASSES, FILE_MARKER, SETTLING, STATEMENT_TIMEOUT_MS,
  canaryOf, classify, leakValues, leaksIn, resultProblems, snapshotDiff,
} from './lib.mjs';

const MARKER_DIR = process.env.LIVE_MARKER_DIR;
const DATA_DIR = process.env.LIVE_DATA_DIR;
const REPORT = process.env.LIVE_REPORT;
const ONLY = process.env.LIVE_ONLY ? new RegExp(process.env.LIVE_ONLY) : null;
const TEMPLATE = 'live_template';
// The hidden_calls entries run against a copy of live_hidden (live/hidden.sql): a volatile user
// `=` there refuses every query that names `=`, which the other classes must not meet.
const HIDDEN_TEMPLATE = 'live_hidden';
const HIDDEN_CLASS = 'hidden_calls';
// Hidden-call entries whose direct run leaves no record: a read does not run a domain's CHECK,
// and the volatile-labelled I/O functions of hz_tag are text's own (the refusal is the oracle).
const NO_TRACE = new Set(['adv-hidden-041', 'adv-hidden-042', 'adv-hidden-043']);
const ROLES = [
  { name: 'superuser', role: 'live_super' },
  { name: 'owner', role: 'live_owner' },
  { name: 'read-only', role: 'live_reader' },
];
const CHANNELS = ['jobs', 'cache_invalidate', 'x'];
// Without its own within_ms, a call must come back within the statement timeout plus this.
const DEFAULT_BOUND_MS = STATEMENT_TIMEOUT_MS + 15_000;
// LIVE_SERVE_ARGS adds options, e.g. a weaker policy to see the oracles fail through pgsafe.
const SERVE_ARGS = ['--statement-timeout', String(STATEMENT_TIMEOUT_MS), '--lock-timeout', '500', '--log-level', 'error',
  ...(process.env.LIVE_SERVE_ARGS ?? '').split(' ').filter(Boolean)];

const entries = fs.readFileSync(path.join(ROOT, 'corpus/adversarial.jsonl'), 'utf8')
  .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
  .filter((e) => !ONLY || ONLY.test(e.id));
// Paths the corpus names for writing: watched by the `files` canary (absent, or unchanged).
const WATCHED_PATHS = [...new Set(entries.flatMap((e) => [...e.sql.matchAll(/'(\/tmp\/[^']+)'/g)].map((m) => m[1])))].sort();
const passwdLine = (() => {
  try {
    return fs.readFileSync('/etc/passwd', 'utf8').split('\n')[0] || null;
  } catch {
    return null;
  }
})();
const LEAK_VALUES = leakValues({ dataDir: DATA_DIR, passwdLine });
// The fixture roles' password verifiers, read before the first attack (restoreGlobals).
const FIXTURE_PASSWORDS = new Map();
// What a reset itself moves: the next transaction ID (it writes) and the configuration's load
// time (when it had to reload); the pristine snapshot takes their new values.
const RESET_MOVES = ['xid', 'server.config_loaded'];

function log(line) {
  process.stdout.write(`${line}\n`);
}

async function pgClient(database, user = PG.superuser, application_name = undefined) {
  const client = new pg.Client({ host: PG.host, port: Number(PG.port), user, database, application_name });
  client.on('error', () => {}); // a dropped connection shows up as a failed query
  await client.connect();
  return client;
}

/** The superuser side of one database copy: snapshot connection and the canary session. */
class Target {
  constructor(database, template = TEMPLATE) {
    this.database = database;
    this.template = template;
    this.notifications = [];
  }

  async create(admin) {
    await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${this.database} TEMPLATE ${this.template}`);
    await admin.query(`ALTER DATABASE ${this.database} SET live.canary = 'database-setting'`);
    this.su = await pgClient(this.database);
    this.canary = await pgClient(this.database, 'live_canary');
    this.canaryPid = (await this.canary.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    this.canary.on('notification', (n) => this.notifications.push(`${n.channel}: ${n.payload}`));
    for (const channel of CHANNELS) await this.canary.query(`LISTEN ${channel}`);
  }

  async close() {
    await this.su?.end().catch(() => {});
    await this.canary?.end().catch(() => {});
    this.su = this.canary = null;
  }

  async snapshot() {
    const { rows } = await this.su.query('SELECT live_canary.snapshot($1, $2, $3) AS s', [MARKER_DIR, WATCHED_PATHS, this.canaryPid]);
    // A round trip on the listening session first: its backend sends pending notifications
    // before it answers, so one sent before this snapshot has been counted (no sleep to tune).
    // A terminated canary session fails here; the sessions canary reports that.
    await this.canary.query('SELECT 1').catch(() => {});
    const snap = rows[0].s;
    snap.notify = this.notifications.length;
    return snap;
  }
}

/** The `remote` canary: what dblink attacks (naming the database postgres) would change. */
async function remoteDigest(admin) {
  const { rows } = await admin.query(
    "SELECT md5(coalesce(string_agg(c::text, ',' ORDER BY c.id), '')) || ' ' || " +
      "(SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS d FROM customers c");
  return rows[0].d;
}

/**
 * Puts back what a database copy cannot: roles, role settings, the server's configuration,
 * files, slots and prepared transactions, as the fixture left them.
 */
async function restoreGlobals(admin, pristine) {
  const { rows: roles } = await admin.query('SELECT rolname FROM pg_roles');
  for (const { rolname } of roles) {
    if (!pristine.roles.names.includes(rolname)) await admin.query(`DROP ROLE "${rolname.replaceAll('"', '""')}"`);
  }
  // The stored SCRAM verifiers as they were (a password set again would get a new salt).
  const password = (role) => (FIXTURE_PASSWORDS.get(role) ? `PASSWORD '${FIXTURE_PASSWORDS.get(role)}'` : 'PASSWORD NULL');
  const plain = 'NOCREATEDB NOCREATEROLE INHERIT LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT -1';
  await admin.query(`
    ALTER ROLE live_super SUPERUSER ${plain} ${password('live_super')};
    ALTER ROLE live_owner NOSUPERUSER ${plain} ${password('live_owner')};
    ALTER ROLE live_reader NOSUPERUSER ${plain} ${password('live_reader')};
    ALTER ROLE live_canary NOSUPERUSER ${plain} ${password('live_canary')};
    ALTER ROLE postgres SUPERUSER CREATEDB CREATEROLE INHERIT LOGIN REPLICATION BYPASSRLS CONNECTION LIMIT -1;
    ALTER ROLE ALL RESET ALL;
    ALTER ROLE postgres RESET ALL;
    ALTER ROLE live_super RESET ALL;
    ALTER ROLE live_owner RESET ALL;
    ALTER ROLE live_reader RESET ALL;
    ALTER ROLE live_canary RESET ALL;
    ALTER ROLE live_reader SET work_mem = '4MB';
    ALTER ROLE live_owner SET live.canary = 'owner-setting';
    ALTER ROLE live_canary SET app.jwt_secret = 'LIVE-SECRET-MARKER-3f8e2b-rolconfig';
    SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots;`);
  for (const { gid } of (await admin.query('SELECT gid FROM pg_prepared_xacts')).rows) {
    await admin.query(`ROLLBACK PREPARED '${gid.replaceAll("'", "''")}'`);
  }
  const conf = (await admin.query("SELECT md5(pg_read_file('postgresql.auto.conf')) AS m")).rows[0].m;
  if (conf !== pristine.files.auto_conf) {
    await admin.query('ALTER SYSTEM RESET ALL');
    await admin.query('ALTER SYSTEM SET autovacuum = off');
    await admin.query('SELECT pg_reload_conf()');
  }
  for (const name of fs.readdirSync(MARKER_DIR)) {
    if (name !== 'marker.txt') fs.rmSync(path.join(MARKER_DIR, name), { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(MARKER_DIR, 'marker.txt'), `${FILE_MARKER}\n`);
  for (const file of WATCHED_PATHS) {
    if (pristine.files.paths[file] === 'absent') fs.rmSync(file, { force: true });
  }
}

/** Recreates the database from the template and the globals; the snapshot must be pristine again. */
async function reset(admin, target, pristine) {
  await target.close();
  target.notifications = [];
  await restoreGlobals(admin, pristine);
  await target.create(admin);
  const again = await target.snapshot();
  const diff = snapshotDiff(pristine, again).filter((p) => !RESET_MOVES.includes(p));
  if (diff.length) throw new Error(`the reset did not restore the pristine snapshot: ${diff.join(', ')}`);
  return again;
}

// ---- the self-check: harm done directly as the superuser must be seen, and reset ----

async function selfCheck(admin) {
  const target = new Target('live_selfcheck');
  await target.create(admin);
  let pristine = await target.snapshot();
  const checks = [];
  const harms = [
    { what: 'advance the sequence', sql: "SELECT nextval('orders_id_seq')", canary: 'sequence' },
    { what: 'advance the unused sequence', sql: "SELECT nextval('canary_seq')", canary: 'sequence' },
    { what: 'insert into the log table', sql: "INSERT INTO audit_log (msg) VALUES ('x')", canary: 'log_table' },
    { what: 'call the SECURITY DEFINER function', sql: "SELECT log_note('x')", canary: 'log_table' },
    { what: 'alter the log table', sql: 'ALTER TABLE audit_log ADD COLUMN extra text', canary: 'log_table' },
    { what: 'delete order rows', sql: 'DELETE FROM order_items', canary: 'data' },
    { what: 'create a table', sql: 'CREATE TABLE loot (x integer)', canary: 'relations' },
    { what: 'create a role', sql: 'CREATE ROLE intruder', canary: 'roles' },
    { what: 'make the reader a superuser', sql: 'ALTER ROLE live_reader SUPERUSER', canary: 'roles' },
    { what: 'change a role setting', sql: "ALTER ROLE live_reader SET work_mem = '64MB'", canary: 'role_settings' },
    { what: 'change a database setting', sql: 'ALTER DATABASE live_selfcheck RESET ALL', canary: 'role_settings' },
    { what: 'write a file beside the marker', sql: `COPY (SELECT 'x') TO '${MARKER_DIR}/new.txt'`, canary: 'files' },
    { what: 'overwrite the marker file', sql: `COPY (SELECT 'changed') TO '${MARKER_DIR}/marker.txt'`, canary: 'files' },
    { what: 'write the large object', sql: "SELECT lo_put(16385, 0, 'X')", canary: 'large_object' },
    { what: 'change the server configuration', sql: "ALTER SYSTEM SET work_mem = '8MB'", canary: 'files' },
    { what: 'reload the configuration', sql: 'SELECT pg_reload_conf(), pg_sleep(0.2)', canary: 'server' },
    { what: 'reset statistics', sql: 'SELECT pg_stat_reset()', canary: 'server' },
    { what: 'consume a transaction ID', sql: 'SELECT txid_current()', canary: 'xid' },
    { what: 'notify a channel', sql: "SELECT pg_notify('jobs', 'x')", canary: 'notify' },
    { what: 'terminate the canary session', sql: () => `SELECT pg_terminate_backend(${target.canaryPid}), pg_sleep(0.2)`, canary: 'sessions' },
    { what: 'hold an advisory lock in another session', sql: 'SELECT pg_advisory_lock(1)', canary: 'locks', session: true },
    { what: 'leave a transaction open on a connection named pgsafe', sql: 'BEGIN; SELECT 1', canary: 'gateway', session: 'pgsafe' },
  ];
  for (const harm of harms) {
    const sql = typeof harm.sql === 'function' ? harm.sql() : harm.sql;
    let holder = null;
    if (harm.session) {
      holder = await pgClient(target.database, PG.superuser, harm.session === true ? undefined : harm.session);
      await holder.query(sql);
    } else {
      await target.su.query(sql);
    }
    const diff = snapshotDiff(pristine, await target.snapshot()).map(canaryOf);
    const seen = diff.includes(harm.canary);
    checks.push({ what: `canary ${harm.canary} sees: ${harm.what}`, ok: seen, detail: diff.join(', ') || 'no change' });
    await holder?.end().catch(() => {});
    try {
      const again = await reset(admin, target, pristine);
      pristine = again;
      checks.push({ what: `reset after: ${harm.what}`, ok: true });
    } catch (error) {
      checks.push({ what: `reset after: ${harm.what}`, ok: false, detail: error.message });
      if (!target.su) await target.create(admin);
      pristine = await target.snapshot();
    }
  }
  checks.push(...(await hiddenSelfCheck(admin)));
  // Leak and result oracles on results built here, not by pgsafe.
  const secret = (await target.su.query('SELECT value FROM vault.secrets LIMIT 1')).rows[0].value;
  const hash = (await admin.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'live_reader'")).rows[0].rolpassword;
  const marker = (await target.su.query(`SELECT pg_read_file('${MARKER_DIR}/marker.txt') AS f`)).rows[0].f;
  const fake = (text) => ({ content: [{ type: 'text', text }], structuredContent: { rows: [[text]], row_count: 1 } });
  const entry = { id: 'self', sql: 'SELECT 1', oracle: { refused: true, within_ms: 5000 } };
  const problems = (result, extra = {}) => resultProblems(entry, { result, elapsedMs: 10, klass: classify(result), boundMs: 5000, values: LEAK_VALUES, ...extra });
  const expectProblem = (what, list, pattern) => checks.push({ what, ok: list.some((p) => pattern.test(p)), detail: list.join('; ') || 'no problem found' });
  expectProblem('leak oracle sees a secret row', problems(fake(secret)), /leak: secret/);
  expectProblem('leak oracle sees a password hash', problems(fake(hash)), /leak: password_hash/);
  expectProblem('leak oracle sees the marker file', problems(fake(marker)), /leak: file_marker/);
  expectProblem('leak oracle sees the data directory', problems(fake(`could not open ${DATA_DIR}/x`)), /leak: data_dir/);
  if (passwdLine) expectProblem('leak oracle sees /etc/passwd', problems(fake(passwdLine)), /leak: passwd/);
  expectProblem('refusal oracle sees an answered attack', problems(fake('1')), /not refused \(allowed\)/);
  expectProblem('refusal oracle sees a database error', problems({ isError: true, content: [{ type: 'text', text: 'the database rejected the query: x' }] }), /not refused \(stopped\)/);
  expectProblem('time oracle sees a call past its bound', problems({ isError: true, content: [{ type: 'text', text: 'rejected (not_select): x' }] }, { elapsedMs: 6000 }), /took 6000 ms/);
  const rowsEntry = { id: 'self-rows', sql: 'SELECT 1', oracle: { max_rows: 1000 } };
  const many = { content: [{ type: 'text', text: '' }], structuredContent: { rows: [], row_count: 1001 } };
  const rowProblems = resultProblems(rowsEntry, { result: many, elapsedMs: 1, klass: 'allowed', boundMs: 5000, values: LEAK_VALUES });
  checks.push({ what: 'row oracle sees a result over its bound', ok: rowProblems.some((p) => /row_count 1001/.test(p)), detail: rowProblems.join('; ') });
  const clean = problems({ isError: true, content: [{ type: 'text', text: 'rejected (not_select): only SELECT' }] });
  checks.push({ what: 'a clean refusal passes every oracle', ok: clean.length === 0, detail: clean.join('; ') });
  await target.close();
  await admin.query(`DROP DATABASE ${target.database} WITH (FORCE)`);
  return checks;
}

/**
 * The hidden-call canaries: in a copy of live_hidden, a hazard's recorder called directly, a
 * session advisory lock and a temporary table left on a session are each seen; then every
 * hidden_calls entry, run directly as the owner in a read-only transaction as pgsafe would run
 * it, must leave a record (except the NO_TRACE ones, which must not), so each is a real call.
 * An entry with "since": N uses what PostgreSQL N added, one with "until": N what a newer
 * server reads otherwise: on another server it fails directly too, and must leave no record.
 */
function runsOn(entry, major) {
  return (entry.since ?? 0) <= major && major <= (entry.until ?? Infinity);
}

async function hiddenSelfCheck(admin) {
  const { rows } = await admin.query('SHOW server_version_num');
  const major = Math.floor(Number(rows[0].server_version_num) / 10000);
  const target = new Target('live_selfcheck_hidden', HIDDEN_TEMPLATE);
  await target.create(admin);
  let pristine = await target.snapshot();
  const checks = [];
  const harms = [
    { what: "call a hazard's recorder", sql: "SELECT hz_record('selfcheck')", canary: 'hidden_calls' },
    { what: 'keep a session advisory lock past ROLLBACK', sql: 'BEGIN; SELECT pg_advisory_lock(7); ROLLBACK', canary: 'advisory' },
    { what: 'leave a temporary table', sql: 'CREATE TEMPORARY TABLE left_behind (x integer)', canary: 'temporary' },
  ];
  const direct = entries.filter((e) => e.threat === HIDDEN_CLASS).map((e) => ({
    what: `run ${e.id} directly`, sql: `BEGIN READ ONLY; ${e.sql}; ROLLBACK`, canary: 'hidden_calls', user: 'live_owner',
    entry: e, traceless: NO_TRACE.has(e.id) || !runsOn(e, major), older: !runsOn(e, major),
  }));
  for (const harm of [...harms, ...direct]) {
    const holder = await pgClient(target.database, harm.user ?? PG.superuser);
    let error = null;
    await holder.query(harm.sql).catch((e) => {
      error = e;
    });
    const diff = snapshotDiff(pristine, await target.snapshot()).map(canaryOf);
    const seen = diff.includes(harm.canary);
    if (harm.traceless) {
      checks.push({
        what: `${harm.what} leaves no record, as listed${harm.older ? ` (PostgreSQL ${major} has no such call)` : ''}`,
        ok: !seen && (!error || harm.older), detail: error?.message ?? diff.join(', '),
      });
    } else {
      checks.push({ what: `canary ${harm.canary} sees: ${harm.what}`, ok: seen, detail: error?.message ?? (diff.join(', ') || 'no change') });
    }
    await holder.end().catch(() => {});
    // The session is gone (its locks and temporary table with it): removing the records
    // must bring back the pristine snapshot, without a whole reset per entry.
    for (const name of fs.readdirSync(MARKER_DIR)) {
      if (name.startsWith('hidden-')) fs.rmSync(path.join(MARKER_DIR, name), { force: true });
    }
    let rest = [];
    for (let i = 0; i < 20; i++) {
      rest = snapshotDiff(pristine, await target.snapshot()).filter((p) => !RESET_MOVES.includes(p));
      if (!rest.length || !rest.every((p) => SETTLING.includes(canaryOf(p)) || canaryOf(p) === 'temporary')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (rest.length) {
      // a temporary schema outlives its session: the whole reset puts it back
      try {
        pristine = await reset(admin, target, pristine);
      } catch (error) {
        checks.push({ what: `reset after: ${harm.what}`, ok: false, detail: error.message });
        if (!target.su) await target.create(admin);
        pristine = await target.snapshot();
      }
    }
  }
  await target.close();
  await admin.query(`DROP DATABASE ${target.database} WITH (FORCE)`);
  return checks;
}

// ---- one deployment: the whole corpus through pgsafe serve ----

function serve(target, role) {
  return connect({
    pgenv: false,
    env: { PGHOST: PG.host, PGPORT: String(PG.port), PGUSER: role, PGDATABASE: target.database },
    args: SERVE_ARGS,
    listTools: false,
  });
}

function alive(session) {
  const child = session.transport._process;
  return child && child.exitCode === null && child.signalCode === null;
}

/** One deployment: the hidden_calls entries against their own copy, the others against theirs. */
async function runRole(admin, deployment) {
  const groups = [
    { database: `live_${deployment.role}`, template: TEMPLATE, entries: entries.filter((e) => e.threat !== HIDDEN_CLASS) },
    { database: `live_hidden_${deployment.role}`, template: HIDDEN_TEMPLATE, entries: entries.filter((e) => e.threat === HIDDEN_CLASS) },
  ];
  const total = { name: deployment.name, stats: new Map(), failures: [], resets: 0, restarts: 0, infra: 0, seconds: 0 };
  for (const group of groups.filter((g) => g.entries.length)) {
    const r = await runGroup(admin, deployment, group);
    for (const [threat, row] of r.stats) total.stats.set(threat, row);
    total.failures.push(...r.failures);
    for (const k of ['resets', 'restarts', 'infra', 'seconds']) total[k] += r[k];
  }
  return total;
}

async function runGroup(admin, { name, role }, group) {
  const target = new Target(group.database, group.template);
  await target.create(admin);
  let pristine = await target.snapshot();
  const remotePristine = await remoteDigest(admin);
  let session = await serve(target, role);
  const stats = new Map(); // threat -> counts
  const failures = [];
  let resets = 0;
  let restarts = 0;
  let infra = 0;
  const started = Date.now();
  for (const entry of group.entries) {
    const row = stats.get(entry.threat) ?? { attacks: 0, refused: 0, stopped: 0, allowed: 0, effect: 0 };
    stats.set(entry.threat, row);
    row.attacks++;
    const boundMs = entry.oracle?.within_ms ?? DEFAULT_BOUND_MS;
    const t0 = performance.now();
    let result;
    let klass;
    const problems = [];
    try {
      // Most entries go through the query tool; those with "tool": "explain" through the
      // explain tool, whose planning runs immutable calls on constants too.
      result = await callTool(session, entry.tool ?? 'query', { sql: entry.sql }, { timeout: boundMs + 20_000 });
      klass = classify(result);
    } catch (error) {
      // A JSON-RPC error is a refusal by the server (not the guard's text); a timeout is not.
      result = { error: error.message };
      klass = /timed out|Request timed out|Connection closed/i.test(error.message) ? 'stopped' : 'refused';
      if (klass === 'stopped') problems.push(`no answer: ${error.message}`);
    }
    const elapsedMs = performance.now() - t0;
    row[klass]++;
    problems.push(...resultProblems(entry, { result, elapsedMs, klass, boundMs, values: LEAK_VALUES }));
    if (!alive(session)) {
      problems.push(`pgsafe serve died: ${session.stderr().slice(-500)}`);
      restarts++;
    }
    let snap = await target.snapshot();
    let diff = snapshotDiff(pristine, snap);
    // A cancelled backend may hold its locks a moment longer: give settling canaries a second.
    for (let i = 0; i < 10 && diff.length && diff.every((p) => SETTLING.includes(canaryOf(p))); i++) {
      await new Promise((r) => setTimeout(r, 100));
      snap = await target.snapshot();
      diff = snapshotDiff(pristine, snap);
    }
    if (diff.length) problems.push(`canary changed: ${diff.join(', ')}`);
    if (entry.oracle?.canaries?.includes('remote') && (await remoteDigest(admin)) !== remotePristine) {
      problems.push('canary changed: remote (the customers table of database postgres)');
    }
    if (problems.length) {
      row.effect++;
      failures.push({ id: entry.id, sql: entry.sql, klass, problems, text: JSON.stringify(result).slice(0, 400) });
      log(`EFFECT ${name} ${entry.id}: ${problems.join('; ')}\n  sql: ${entry.sql.slice(0, 200)}\n  answer: ${JSON.stringify(result).slice(0, 300)}`);
    }
    if (diff.length || !alive(session)) {
      await session.close();
      try {
        pristine = await reset(admin, target, pristine);
        resets++;
      } catch (error) {
        infra++;
        log(`INFRA ${name}: ${error.message}`);
        if (!target.su) await target.create(admin);
        pristine = await target.snapshot();
      }
      session = await serve(target, role);
    }
  }
  await session.close();
  await target.close();
  await admin.query(`DROP DATABASE ${target.database} WITH (FORCE)`);
  return { name, stats, failures, resets, restarts, infra, seconds: (Date.now() - started) / 1000 };
}

// ---- the report ----

function table(results) {
  const lines = [
    '| role | class | attacks | refused by the guard | stopped by the database | allowed | with effect |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    const total = { attacks: 0, refused: 0, stopped: 0, allowed: 0, effect: 0 };
    for (const [threat, s] of [...r.stats.entries()].sort()) {
      lines.push(`| ${r.name} | ${threat} | ${s.attacks} | ${s.refused} | ${s.stopped} | ${s.allowed} | ${s.effect} |`);
      for (const k of Object.keys(total)) total[k] += s[k];
    }
    lines.push(`| **${r.name}** | **all** | **${total.attacks}** | **${total.refused}** | **${total.stopped}** | **${total.allowed}** | **${total.effect}** |`);
  }
  return lines;
}

async function main() {
  assert.ok(MARKER_DIR && DATA_DIR && REPORT, 'LIVE_MARKER_DIR, LIVE_DATA_DIR and LIVE_REPORT are set by tests/integration/live/run');
  const admin = await pgClient('postgres');
  for (const { rolname, rolpassword } of (await admin.query("SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE 'live\\_%'")).rows) {
    FIXTURE_PASSWORDS.set(rolname, rolpassword);
  }
  await admin.query('CREATE TABLE IF NOT EXISTS customers (id integer PRIMARY KEY, name text)');
  await admin.query("INSERT INTO customers VALUES (1, 'remote') ON CONFLICT DO NOTHING");
  let failed = 0;
  let passed = 0;

  const started = Date.now();
  const checks = await selfCheck(admin);
  for (const c of checks) {
    if (c.ok) passed++;
    else failed++;
    if (!c.ok) log(`SELF-CHECK FAIL ${c.what}: ${c.detail}`);
  }
  log(`live: self-check ${checks.filter((c) => c.ok).length}/${checks.length} oracle and reset checks hold (${((Date.now() - started) / 1000).toFixed(1)} s)`);

  const results = [];
  for (const deployment of ROLES) {
    const r = await runRole(admin, deployment);
    results.push(r);
    const effect = r.failures.length;
    log(`live: ${r.name}: ${entries.length} attacks, ${effect} with effect, ${r.resets} resets, ${r.restarts} server restarts (${r.seconds.toFixed(1)} s)`);
    passed += entries.length - effect;
    failed += effect + r.infra;
  }
  await admin.end();

  const lines = table(results);
  log('');
  for (const l of lines) log(l);
  const md = [
    '# Live adversarial corpus',
    '',
    `corpus/adversarial.jsonl (${entries.length} entries) through pgsafe serve (--statement-timeout ${STATEMENT_TIMEOUT_MS}) ` +
      'with the MCP SDK, once per role; canary snapshot after every call.',
    '',
    ...lines,
    '',
    `Self-check: ${checks.filter((c) => c.ok).length}/${checks.length} oracle and reset checks hold.`,
    ...results.map((r) => `${r.name}: ${r.resets} resets, ${r.restarts} server restarts, ${r.seconds.toFixed(1)} s.`),
    '',
    ...results.flatMap((r) => r.failures.map((f) => `- ${r.name} ${f.id} (${f.klass}): ${f.problems.join('; ')}`)),
  ];
  fs.mkdirSync(path.dirname(REPORT), { recursive: true });
  fs.writeFileSync(REPORT, `${md.join('\n')}\n`);
  log('');
  log(`live: report written to ${REPORT}`);
  log(`live: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  log(`live: ${error.stack}`);
  log('live: 0 passed, 1 failed');
  process.exit(1);
});
