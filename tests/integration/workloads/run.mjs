// Runs the benign corpus and the public workloads through `pgsafe serve` (the query tool, over
// the MCP SDK) and the same SQL directly with node-postgres, as the same read-only role, and
// compares the two. Started by tests/integration/workloads/run, which loads the databases and
// sets the environment:
//   PGSAFE_BIN PGSAFE_IT_ROOT PGSAFE_IT_TMP PGHOST PGPORT   (as for lib/harness.mjs)
//   WL_ROLE         the read-only role both sides use
//   WL_DATA         ../shared/data, or empty when it is absent (then only the benign corpus runs)
//   WL_REPORT       where the Markdown report goes
//   WL_BIRD         space-separated BIRD database names that were loaded
//   WL_PG_MAJOR     the server's major version (what corpus/versions.jsonl expects depends on it)
//   WL_ANSWERS      when set, a JSON file to write pgsafe's answer to every query into
//                   (answers.mjs), for cross.mjs to compare across PostgreSQL majors
// Ends with `workloads: N passed, N failed`; exits 1 on any mismatch or unexpected rejection.
import fs from 'node:fs';
import path from 'node:path';

import pg from 'pg';

import { callTool, connect, ROOT } from '../lib/harness.mjs';
import { answerOf } from './answers.mjs';
import { compareResults, orderKeyIndexes } from './compare.mjs';
import { selfCheck } from './selfcheck.mjs';

const ROLE = process.env.WL_ROLE;
const DATA = process.env.WL_DATA || '';
const REPORT = process.env.WL_REPORT;
const BIRD = (process.env.WL_BIRD || '').split(/\s+/).filter(Boolean);
const SMOKE = process.env.WL_SMOKE === '1'; // no BIRD: the smoke subset
const HOST = process.env.PGHOST;
const PORT = Number(process.env.PGPORT);
const MAJOR = Number(process.env.WL_PG_MAJOR);
const ANSWERS = process.env.WL_ANSWERS || '';
if (!(MAJOR >= 15)) throw new Error(`WL_PG_MAJOR must be the server's major version, not ${process.env.WL_PG_MAJOR}`);

// A small row limit, so that many results are cut and truncation is checked; budgets large
// enough that no value or result is cut by bytes (a cut would hide a value from the comparison).
const MAX_ROWS = 50;
const STATEMENT_TIMEOUT_MS = 10_000;
const LOCK_TIMEOUT_MS = 1000;
const IN_FLIGHT = 4;
const SERVE_ARGS = [
  '--max-rows', String(MAX_ROWS),
  '--statement-timeout', String(STATEMENT_TIMEOUT_MS),
  '--lock-timeout', String(LOCK_TIMEOUT_MS),
  '--pool-size', String(IN_FLIGHT),
  '--max-cell-bytes', String(1 << 20),
  '--max-result-bytes', String(1 << 24),
  '--log-level', 'error',
];

// The same settings pgsafe pins in each transaction (src/db/pool.c), so both sides run alike.
const SETTINGS_SQL = "SELECT pg_catalog.set_config('statement_timeout', $1, true), pg_catalog.set_config('lock_timeout', $2, true), " +
  "pg_catalog.set_config('idle_in_transaction_session_timeout', '60000', true), pg_catalog.set_config('search_path', 'pg_catalog, public', true), " +
  "pg_catalog.set_config('standard_conforming_strings', 'on', true)";

// Every value as PostgreSQL's text form: compare.mjs maps it as pgsafe should.
const TEXT_TYPES = { getTypeParser: () => (value) => value };

function readJsonl(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
}

// ---- what runs where, and what is expected ----

const volatile = new Map(readJsonl(path.join(ROOT, 'tests/integration/workloads/volatile.jsonl')).map((e) => [e.id, e.why]));
const workloads = [];

workloads.push({
  name: 'benign corpus (corpus/benign.jsonl)',
  items: readJsonl(path.join(ROOT, 'corpus/benign.jsonl')).map((e) => ({ id: e.id, sql: e.sql, db: 'wl_benign', columnsOnly: volatile.has(e.id) })),
});

workloads.push({
  name: 'typed values and limits (workloads/types.jsonl)',
  items: readJsonl(path.join(ROOT, 'tests/integration/workloads/types.jsonl')).map((e) => ({ id: e.id, sql: e.sql, db: 'wl_benign' })),
});

// What PostgreSQL 16 to 18 added: a function runs from the major that added it on and is
// refused as unknown before; newer syntax is a syntax error (the guard parses 15's grammar);
// a denied function is refused on every major.
workloads.push({
  name: 'newer majors (corpus/versions.jsonl)',
  items: readJsonl(path.join(ROOT, 'corpus/versions.jsonl')).map((e) => {
    let reject = null;
    if (e.kind === 'syntax') reject = 'syntax_error';
    else if (e.kind === 'denied') reject = 'function_denied';
    else if (MAJOR < e.since) reject = 'function_unknown';
    return { id: e.id, sql: e.sql, db: 'wl_benign', reject, since: e.kind === 'function' ? e.since : undefined, columnsOnly: /volatile/.test(e.note || '') };
  }),
});

if (DATA) {
  workloads.push({
    name: 'TPC-H Q1–Q22',
    items: readJsonl(path.join(DATA, 'tpch/queries.jsonl')).map((e) => ({ id: e.id, sql: e.sql, db: 'wl_tpch' })),
  });
}
if (DATA && !SMOKE) {
  const gold = readJsonl(path.join(DATA, 'bird-minidev/gold.jsonl'));
  workloads.push({
    name: 'BIRD gold, DDL as shipped',
    items: gold.map((e) => ({ id: e.id, sql: e.sql, db: `bird_${e.db}` })),
  });
  workloads.push({
    name: 'BIRD gold, DDL folded',
    items: gold.map((e) => ({ id: e.id, sql: e.sql, db: `bird_${e.db}_folded` })),
  });
  const exceptions = new Map(readJsonl(path.join(ROOT, 'corpus/workload-exceptions.jsonl')).map((e) => [e.id, e.reason]));
  workloads.push({
    name: 'BIRD LLM predictions, DDL folded',
    items: readJsonl(path.join(DATA, 'bird-minidev/llm-predictions.jsonl')).map((e) => {
      let reject = null;
      if (exceptions.has(e.id)) reject = exceptions.get(e.id);
      else if (!e.parses) reject = 'syntax_error';
      else if (!e.single_select) reject = 'multiple_statements';
      return { id: e.id, sql: e.sql, db: `bird_${e.db}_folded`, reject };
    }),
  });
  for (const workload of workloads) {
    for (const item of workload.items) {
      if (item.db.startsWith('bird_') && !BIRD.some((name) => item.db === `bird_${name}` || item.db === `bird_${name}_folded`)) {
        throw new Error(`${item.id}: database ${item.db} was not loaded`);
      }
    }
  }
}

// ---- the two sides ----

async function runDirect(pool, sql) {
  const client = await pool.connect();
  let broken = null;
  try {
    await client.query('BEGIN READ ONLY');
    await client.query({ text: SETTINGS_SQL, values: [String(STATEMENT_TIMEOUT_MS), String(LOCK_TIMEOUT_MS)] });
    const result = await client.query({ text: sql, rowMode: 'array', queryMode: 'extended', types: TEXT_TYPES });
    return { ok: true, fields: result.fields, rows: result.rows };
  } catch (error) {
    if (!error.code) broken = error;
    return { ok: false, code: error.code || 'none', message: error.message };
  } finally {
    try {
      await client.query('ROLLBACK');
    } catch (error) {
      broken = broken || error;
    }
    client.release(broken || undefined);
  }
}

/** format_type(oid, NULL) per type, as pgsafe names result columns. */
async function typeNames(pool, oids, cache) {
  const missing = [...new Set(oids)].filter((oid) => !cache.has(oid));
  if (missing.length) {
    const result = await pool.query({ text: 'SELECT oid::int, format_type(oid, NULL) FROM pg_type WHERE oid = ANY ($1::oid[])', values: [missing], types: TEXT_TYPES });
    for (const [oid, name] of result.rows.map((r) => [Number(r.oid), r.format_type])) cache.set(oid, name);
  }
  return oids.map((oid) => cache.get(oid));
}

async function directResult(pool, sql, cache) {
  const direct = await runDirect(pool, sql);
  if (!direct.ok) return direct;
  const names = await typeNames(pool, direct.fields.map((f) => f.dataTypeID), cache);
  return {
    ok: true,
    columns: direct.fields.map((f, i) => ({ name: f.name, typeOid: f.dataTypeID, typeName: names[i] })),
    rows: direct.rows,
  };
}

function sameDirect(a, b) {
  if (a.ok !== b.ok) return false;
  if (!a.ok) return a.code === b.code;
  const key = (rows) => rows.map((r) => JSON.stringify(r)).sort().join('\n');
  return key(a.rows) === key(b.rows);
}

/**
 * One item: pgsafe's query tool and the direct run, classified as
 * same | truncated | error | rejected | volatile | mismatch (with why).
 */
async function runItem(item, session, pool, cache) {
  const [tool, direct] = await Promise.all([
    callTool(session, 'query', { sql: item.sql }, { timeout: STATEMENT_TIMEOUT_MS * 3 }),
    item.reject ? Promise.resolve(null) : directResult(pool, item.sql, cache),
  ]);
  const result = await classify(item, tool, direct, pool, cache);
  const answer = answerOf(item.sql, tool);
  if (item.columnsOnly || result.outcome === 'volatile') answer.volatile = true;
  if (item.since !== undefined) answer.since = item.since;
  return { ...result, answer };
}

async function classify(item, tool, direct, pool, cache) {
  const text = tool.isError ? tool.content?.[0]?.text || '' : '';
  const rejection = tool.isError ? /^rejected \(([a-z_]+)\)/.exec(text)?.[1] : undefined;
  if (item.reject) {
    if (rejection === item.reject) return { outcome: 'rejected' };
    return { outcome: 'mismatch', why: `expected a rejection (${item.reject}), got ${tool.isError ? text.split('\n')[0] : 'rows'}` };
  }
  if (rejection) return { outcome: 'mismatch', why: `rejected by the guard: ${text.split('\n')[0]}` };
  if (!direct.ok) {
    const state = /\(SQLSTATE ([0-9A-Z]{5})\)/.exec(text)?.[1];
    if (!tool.isError) return { outcome: 'mismatch', why: `an error directly (${direct.code}: ${direct.message}), rows through pgsafe` };
    if (state !== direct.code) return { outcome: 'mismatch', why: `SQLSTATE ${state} through pgsafe, ${direct.code} directly (${direct.message}); pgsafe: ${text.split('\n')[0]}` };
    return { outcome: 'error', state };
  }
  if (tool.isError) return { outcome: 'mismatch', why: `an error through pgsafe, rows directly: ${text.split('\n')[0]}` };
  const structured = tool.structuredContent;
  const orderKeys = orderKeyIndexes(item.sql, direct.columns.map((c) => c.name));
  const verdict = compareResults(structured, direct, { orderKeys, columnsOnly: item.columnsOnly });
  if (verdict.ok) {
    if (item.columnsOnly) return { outcome: 'volatile' };
    return { outcome: verdict.truncated ? 'truncated' : 'same', ordered: orderKeys !== null };
  }
  // A query whose direct result changes from run to run cannot be compared row by row.
  const again = await directResult(pool, item.sql, cache);
  if (!sameDirect(direct, again)) return { outcome: 'volatile', why: `direct runs differ (${verdict.why})` };
  return { outcome: 'mismatch', why: verdict.why };
}

async function eachInFlight(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index], index);
    }
  });
  await Promise.all(workers);
}

// ---- the run ----

const OUTCOMES = ['same', 'truncated', 'error', 'rejected', 'volatile', 'mismatch'];
const HEADINGS = ['queries', 'accepted, same rows', 'truncated at the limit', 'error both sides', 'rejected as expected', 'volatile: columns only', 'mismatch'];

async function main() {
  const started = Date.now();
  const tally = new Map(workloads.map((w) => [w.name, { counts: Object.fromEntries(OUTCOMES.map((o) => [o, 0])), ordered: 0, states: new Map(), mismatches: [], volatile: [] }]));
  const byDb = new Map();
  for (const workload of workloads) {
    for (const item of workload.items) {
      if (!byDb.has(item.db)) byDb.set(item.db, []);
      byDb.get(item.db).push({ ...item, workload: workload.name });
    }
  }

  let selfFailures = [];
  const answers = {};
  for (const [db, items] of byDb) {
    const pgConfig = { host: HOST, port: PORT, database: db };
    const session = await connect({ user: ROLE, pg: pgConfig, args: SERVE_ARGS });
    const pool = new pg.Pool({ host: HOST, port: PORT, user: ROLE, database: db, max: IN_FLIGHT, application_name: 'pgsafe-workloads' });
    pool.on('error', () => {}); // an idle client's error surfaces on its next query
    const cache = new Map();
    try {
      if (db === 'wl_benign') selfFailures = await selfCheck({ session, direct: (sql) => directResult(pool, sql, cache), maxRows: MAX_ROWS });
      await eachInFlight(items, IN_FLIGHT, async (item) => {
        let result;
        try {
          result = await runItem(item, session, pool, cache);
        } catch (error) {
          result = { outcome: 'mismatch', why: `the call failed: ${error.message.split('\n')[0]}` };
        }
        if (result.answer) answers[`${item.db}/${item.id}`] = { workload: item.workload, ...result.answer };
        const t = tally.get(item.workload);
        t.counts[result.outcome]++;
        if (result.ordered) t.ordered++;
        if (result.outcome === 'error') t.states.set(result.state, (t.states.get(result.state) || 0) + 1);
        if (result.outcome === 'mismatch') t.mismatches.push({ id: item.id, db, why: result.why, sql: item.sql });
        if (result.outcome === 'volatile' && result.why) t.volatile.push({ id: item.id, why: result.why });
      });
    } finally {
      await session.close();
      await pool.end();
    }
    const stderr = session.stderr();
    if (/AddressSanitizer|runtime error|Segmentation|Assertion/.test(stderr)) {
      tally.get(items[0].workload).mismatches.push({ id: '(server)', db, why: `pgsafe serve's stderr: ${stderr.slice(0, 500)}` });
      tally.get(items[0].workload).counts.mismatch++;
    }
  }
  const seconds = (Date.now() - started) / 1000;

  // ---- report ----
  const lines = [];
  lines.push(`| workload | ${HEADINGS.join(' | ')} |`);
  lines.push(`| --- | ${HEADINGS.map(() => '---:').join(' | ')} |`);
  let total = 0;
  let failed = 0;
  for (const workload of workloads) {
    const t = tally.get(workload.name);
    const n = workload.items.length;
    total += n;
    failed += t.counts.mismatch;
    lines.push(`| ${workload.name} | ${n} | ${OUTCOMES.map((o) => (o === 'mismatch' && t.counts[o] ? `**${t.counts[o]}**` : t.counts[o])).join(' | ')} |`);
  }
  const notes = [];
  notes.push(`Row limit ${MAX_ROWS}, statement timeout ${STATEMENT_TIMEOUT_MS} ms, ${IN_FLIGHT} queries in flight; ${total} queries in ${seconds.toFixed(1)} s.`);
  for (const workload of workloads) {
    const t = tally.get(workload.name);
    const states = [...t.states].sort((a, b) => b[1] - a[1]).map(([s, c]) => `${s} ×${c}`).join(', ');
    notes.push(`${workload.name}: order checked on ${t.ordered} results` + (states ? `; errors on both sides by SQLSTATE: ${states}` : '') + '.');
    for (const v of t.volatile) notes.push(`  volatile: ${v.id}: ${v.why}`);
  }
  const mismatchLines = [];
  for (const workload of workloads) {
    for (const m of tally.get(workload.name).mismatches) {
      mismatchLines.push(`- ${m.id} (${m.db}): ${m.why}\n  SQL: ${m.sql ? m.sql.replace(/\s+/g, ' ').slice(0, 400) : ''}`);
    }
  }
  const selfLine = selfFailures.length
    ? `Self-check: FAILED: ${selfFailures.join('; ')}`
    : 'Self-check: the comparator reported every planted difference and passed the identical pair.';
  const report = [
    '# pgsafe workloads: through the query tool and directly',
    '',
    ...lines,
    '',
    ...notes.map((n) => (n.startsWith('  ') ? n.trim() : n)).map((n) => `- ${n}`),
    `- ${selfLine}`,
    '',
    ...(mismatchLines.length ? ['## Mismatches', '', ...mismatchLines, ''] : []),
  ].join('\n');
  if (REPORT) {
    fs.mkdirSync(path.dirname(REPORT), { recursive: true });
    fs.writeFileSync(REPORT, report);
  }
  console.log(lines.join('\n'));
  for (const note of notes) console.log(note);
  console.log(selfLine);
  for (const line of mismatchLines) console.log(`MISMATCH ${line}`);
  if (REPORT) console.log(`workloads: report written to ${path.relative(ROOT, REPORT)}`);
  if (ANSWERS) {
    fs.mkdirSync(path.dirname(ANSWERS), { recursive: true });
    fs.writeFileSync(ANSWERS, JSON.stringify({ major: MAJOR, smoke: SMOKE, answers }));
    console.log(`workloads: PostgreSQL ${MAJOR}'s answers written to ${path.relative(ROOT, ANSWERS) || ANSWERS}`);
  }
  // The self-check counts as one more test.
  const passed = total - failed + (selfFailures.length ? 0 : 1);
  if (selfFailures.length) failed++;
  console.log(`workloads: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(`workloads: ${error.stack || error.message}`);
  console.log('workloads: 0 passed, 1 failed');
  process.exitCode = 1;
});
