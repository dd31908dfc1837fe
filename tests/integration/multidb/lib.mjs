// Helpers of the multi-database tests: the two clusters tests/integration/multidb/run
// started (PostgreSQL 15 with `sales`, PostgreSQL 18 with `support`), their DSNs, stopping and
// restarting a cluster by its data directory, and `pgsafe serve` runs that must refuse their
// configuration. The MCP sessions come from ../lib/harness.mjs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { McpError } from '@modelcontextprotocol/sdk/types.js';

import { BIN, ROOT, baseEnv, callTool, okResult, pollUntil, psql, scratchDir } from '../lib/harness.mjs';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through tests/integration/multidb/run`);
  return value;
}

function cluster(prefix) {
  return {
    dir: required(`MDB_${prefix}_DIR`),
    host: required(`MDB_${prefix}_HOST`),
    port: required(`MDB_${prefix}_PORT`),
    database: required(`MDB_${prefix}_DATABASE`),
    major: Number(required(`MDB_${prefix}_MAJOR`)),
    bindir: required(`MDB_${prefix}_BINDIR`),
    superuser: 'postgres',
  };
}

/** The two clusters, by the name pgsafe gives their database. */
export const SALES = { name: 'sales', ...cluster('PG15') };
export const SUPPORT = { name: 'support', ...cluster('PG18') };
export const NAMES = [SALES.name, SUPPORT.name];
// Values that a policy in these tests denies: no answer may carry one.
export const SALES_MARK = 'SALESMARK';
export const SUPPORT_EMAIL_MARK = 'SUPPORTMARK-email';
export const SUPPORT_SSN_MARK = 'SUPPORTMARK-ssn';

/**
 * The DSNs: sales as the superuser in keyword form over the socket directory, support as a
 * read-only role as a URL over TCP (so the two postures differ, and both DSN forms are used).
 */
export const DSN = {
  sales: `host=${SALES.host} port=${SALES.port} dbname=${SALES.database} user=postgres`,
  support: `postgresql://mdb_reader@127.0.0.1:${SUPPORT.port}/${SUPPORT.database}`,
};

/** `--database NAME=DSN` for each name given (both by default, in that order). */
export function databaseArgs(names = NAMES) {
  return names.flatMap((name) => ['--database', `${name}=${DSN[name]}`]);
}

/** A JSON file in the run's scratch directory; returns its path. */
export function writeConfig(value, name = 'databases.json') {
  const file = path.join(scratchDir('config'), name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

/** psql as the superuser on one of the clusters. */
export function psqlOn(target, sql) {
  return psql(sql, { pg: target, database: target.database });
}

/** pg_ctl as the postgres user, with the major's own libraries. */
function pgCtl(target, args) {
  const lib = path.join(target.bindir, '..', 'lib');
  const env = { ...process.env };
  if (fs.existsSync(path.join(lib, 'libpq.so.5'))) env.LD_LIBRARY_PATH = lib + (env.LD_LIBRARY_PATH ? `:${env.LD_LIBRARY_PATH}` : '');
  const command = process.getuid() === 0 ? 'runuser' : path.join(target.bindir, 'pg_ctl');
  const prefix = process.getuid() === 0 ? ['-u', 'postgres', '--', path.join(target.bindir, 'pg_ctl')] : [];
  return execFileSync(command, [...prefix, ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

/** Stops a cluster at once (pg_ctl stop -m immediate), by its data directory. */
export function stopImmediately(target) {
  pgCtl(target, ['-D', path.join(target.dir, 'data'), 'stop', '-m', 'immediate', '-w', '-t', '30']);
  assert.equal(isRunning(target), false, `the cluster under ${target.dir} still runs`);
}

/** Whether the cluster's postmaster runs (pg_ctl status). */
export function isRunning(target) {
  try {
    pgCtl(target, ['-D', path.join(target.dir, 'data'), 'status']);
    return true;
  } catch {
    return false;
  }
}

/** Starts a stopped cluster again on the same port and socket (scripts/pg-throwaway keeps them). */
export function restart(target) {
  const out = execFileSync(path.join(ROOT, 'scripts/pg-throwaway'), ['start', target.dir], {
    env: { ...process.env, PGSAFE_PG_VERSION: String(target.major) },
    encoding: 'utf8',
    timeout: 90_000,
  });
  assert.match(out, new RegExp(`^PGPORT=${target.port}$`, 'm'), 'the cluster came back on its port');
}

/**
 * `pgsafe serve` with a configuration it must refuse before it serves anything: exit status 2,
 * nothing on stdout, and a stderr message, which is returned.
 */
export function refusedConfiguration(args, env = {}) {
  const run = spawnSync(BIN, ['serve', ...args], {
    env: baseEnv(env),
    input: '',
    encoding: 'utf8',
    timeout: 20_000,
  });
  const what = `pgsafe serve ${args.join(' ')} ${JSON.stringify(env)}`;
  assert.equal(run.error, undefined, `${what}: ${run.error}`);
  assert.equal(run.status, 2, `${what}: exit status 2 expected, got ${run.status} (signal ${run.signal}); stderr:\n${run.stderr}`);
  assert.equal(run.stdout, '', `${what}: nothing on stdout`);
  assert.ok(run.stderr.trim().length > 0, `${what}: a message on stderr`);
  assert.ok(!/Sanitizer|runtime error/.test(run.stderr), `${what}: ${run.stderr}`);
  return run.stderr;
}

/** A query on one database; returns its structuredContent. */
export async function queryOn(session, database, sql) {
  return okResult(await callTool(session, 'query', { sql, database }), `${database}: ${sql}`);
}

/** Where a query on the database says it ran: [major, origin table's name]. */
export const WHERE_SQL = "SELECT current_setting('server_version_num')::integer / 10000 AS major, (SELECT name FROM origin) AS origin";

/** Asserts a query on each database answered from that database's own server. */
export async function assertEachAnswers(session, targets = [SALES, SUPPORT]) {
  for (const target of targets) {
    const result = await queryOn(session, target.name, WHERE_SQL);
    assert.deepEqual(result.rows, [[target.major, target.name]], `${target.name} answers from PostgreSQL ${target.major}`);
  }
}

/** Polls until a query on the database succeeds (after a restart). */
export async function eventuallyAnswers(session, target) {
  const result = await pollUntil(async () => {
    const r = await callTool(session, 'query', { sql: WHERE_SQL, database: target.name });
    return r.isError ? false : r;
  }, { timeoutMs: 40_000, intervalMs: 500, what: `${target.name} to answer again` });
  assert.deepEqual(okResult(result).rows, [[target.major, target.name]]);
}

/** Asserts a promise rejects with an McpError of the code; returns its message. */
export async function mcpErrorOf(promise, code, what) {
  let message;
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof McpError, `${what}: an McpError expected, got ${error}`);
    assert.equal(error.code, code, `${what}: ${error.message}`);
    message = error.message;
    return true;
  });
  return message;
}

/** Every resource URI of resources/list, following nextCursor. */
export async function allResourceUris(session) {
  const uris = [];
  let cursor;
  for (let page = 0; page < 50; page++) {
    const result = await session.client.listResources(cursor ? { cursor } : {});
    uris.push(...result.resources.map((r) => r.uri));
    cursor = result.nextCursor;
    if (cursor === undefined) return uris;
  }
  assert.fail('resources/list did not end within 50 pages');
}

/** Asserts no marker appears anywhere in a value. */
export function assertNoMarker(value, markers, what) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  for (const marker of markers) assert.ok(!text.includes(marker), `${what}: a denied value (${marker}) reached the answer: ${text.slice(0, 600)}`);
}
