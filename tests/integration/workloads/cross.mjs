// Compares pgsafe's answers to the same queries on several PostgreSQL majors: the files that
// tests/integration/workloads/run writes with PGSAFE_WL_ANSWERS (one per major, the same
// read-only role and data). Every query answered on two or more majors must get the same
// answer on each (answers.mjs says what "the same" is), except where cross-version-allow.jsonl
// records a difference that is the server's own, with its reason; a query that corpus/
// versions.jsonl says a major added is compared only among the majors that have it.
//   node cross.mjs ANSWERS.json...
// Ends with `cross-version: N passed, N failed`; exits 1 on a difference not allowed, on an
// allowance no run used (it would hide the next real difference), or when the files do not
// share the smoke subset (the benign corpus, the typed values, the versions corpus, TPC-H).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { sameAnswer } from './answers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ALLOW = path.join(HERE, 'cross-version-allow.jsonl');

function readJsonl(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
}

// The comparator must report what differs: planted differences that sameAnswer must catch,
// and identical answers it must pass (no test that cannot fail).
function selfCheck() {
  const base = { kind: 'rows', columns: [['a', 'integer']], count: 2, truncated: false, reason: null, rows: ['[1]', '[2]'], keys: '[1]\n[2]' };
  const planted = [
    ['a row', { ...base, rows: ['[1]', '[3]'] }],
    ['a column type', { ...base, columns: [['a', 'bigint']] }],
    ['a column name', { ...base, columns: [['b', 'integer']] }],
    ['the order', { ...base, keys: '[2]\n[1]' }],
    ['the count', { ...base, count: 3, rows: ['[1]', '[2]', '[2]'] }],
    ['truncation', { ...base, truncated: true, reason: 'row_limit', rows: null }],
    ['the kind', { kind: 'error', state: '42883' }],
  ];
  const failures = [];
  for (const [what, other] of planted) if (sameAnswer(base, other) === null) failures.push(`missed ${what}`);
  if (sameAnswer({ kind: 'error', state: '22012' }, { kind: 'error', state: '42883' }) === null) failures.push('missed a SQLSTATE');
  if (sameAnswer({ kind: 'rejected', reason: 'syntax_error' }, { kind: 'rejected', reason: 'function_unknown' }) === null) failures.push('missed a rejection reason');
  if (sameAnswer(base, { ...base, rows: ['[1]', '[2]'] }) !== null) failures.push('an identical answer differed');
  if (sameAnswer({ ...base, volatile: true }, { ...base, volatile: true, rows: ['[7]', '[8]'] }) !== null) failures.push('a volatile answer was compared by rows');
  return failures;
}

function main() {
  const files = process.argv.slice(2);
  if (files.length < 2) throw new Error('usage: node cross.mjs ANSWERS.json ANSWERS.json...');
  const runs = files.map((file) => ({ file, ...JSON.parse(fs.readFileSync(file, 'utf8')) })).sort((a, b) => a.major - b.major);
  const majors = runs.map((r) => r.major);
  if (new Set(majors).size !== majors.length) throw new Error(`two files of the same major: ${majors.join(', ')}`);

  const allow = readJsonl(ALLOW);
  for (const entry of allow) {
    if (!entry.key || !entry.what || !entry.reason) throw new Error(`${ALLOW}: every entry needs key, what and reason: ${JSON.stringify(entry)}`);
  }
  const used = new Set();
  const failures = [];
  const allowed = new Map(); // key and what -> {majors, reason}
  let compared = 0;
  const byMajors = new Map();

  // The smoke subset runs everywhere: every file must hold every answer the smallest holds.
  const smallest = runs.reduce((a, b) => (Object.keys(a.answers).length <= Object.keys(b.answers).length ? a : b));
  for (const run of runs) {
    const missing = Object.keys(smallest.answers).filter((key) => !(key in run.answers));
    if (missing.length) failures.push(`PostgreSQL ${run.major} has no answer to ${missing.length} queries PostgreSQL ${smallest.major} answered (first: ${missing[0]})`);
  }

  const keys = new Set(runs.flatMap((r) => Object.keys(r.answers)));
  for (const key of [...keys].sort()) {
    const holders = runs.filter((r) => key in r.answers && (r.answers[key].since === undefined || r.major >= r.answers[key].since));
    if (holders.length < 2) continue;
    compared++;
    const label = holders.map((r) => r.major).join(', ');
    byMajors.set(label, (byMajors.get(label) || 0) + 1);
    const reference = holders[0];
    for (const other of holders.slice(1)) {
      const difference = sameAnswer(reference.answers[key], other.answers[key]);
      if (!difference) continue;
      const id = key.slice(key.indexOf('/') + 1);
      const whats = (e) => (Array.isArray(e.what) ? e.what : [e.what]);
      const entry = allow.find((e) => (e.key === key || e.key === id) && whats(e).includes(difference.what) && (!e.majors || e.majors.includes(other.major)));
      if (entry) {
        used.add(entry);
        const seen = allowed.get(`${key} (${difference.what})`) || { reference: reference.major, majors: [], reason: entry.reason };
        seen.majors.push(other.major);
        allowed.set(`${key} (${difference.what})`, seen);
      } else {
        failures.push(`${key}: PostgreSQL ${reference.major} and ${other.major}: ${difference.what}: ${difference.why}`);
      }
    }
  }
  for (const entry of allow) {
    // An allowance for a query none of these runs answered on two majors cannot be judged here.
    const relevant = [...keys].some((key) => key === entry.key || key.endsWith(`/${entry.key}`));
    if (relevant && !used.has(entry) && !(entry.majors && !entry.majors.some((m) => majors.includes(m)))) {
      failures.push(`cross-version-allow.jsonl: ${entry.key} (${entry.what}) allows a difference these runs did not show: remove it`);
    }
  }
  const selfFailures = selfCheck();
  for (const f of selfFailures) failures.push(`self-check: ${f}`);

  console.log(`cross-version: PostgreSQL ${majors.join(', ')} (${runs.map((r) => path.basename(r.file)).join(', ')})`);
  for (const [label, n] of [...byMajors].sort((a, b) => b[1] - a[1])) console.log(`  ${n} queries compared on ${label}`);
  for (const [what, seen] of allowed) console.log(`ALLOWED ${what}: ${seen.reference} against ${seen.majors.join(', ')}: ${seen.reason}`);
  for (const line of failures) console.log(`DIFFERENT ${line}`);
  if (!selfFailures.length) console.log('cross-version: self-check: every planted difference reported, identical answers passed');
  const failed = failures.length;
  console.log(`cross-version: ${compared - Math.min(compared, failed) + (selfFailures.length ? 0 : 1)} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

try {
  main();
} catch (error) {
  console.error(`cross-version: ${error.message}`);
  console.log('cross-version: 0 passed, 1 failed');
  process.exitCode = 1;
}
