#!/usr/bin/env node
// Writes the `oracle` field of every entry of corpus/adversarial.jsonl (corpus/README.md,
// "Oracles"): what the live suite (tests/integration/live/run) checks after sending the entry
// through pgsafe serve. Derived from the entry's threat, verdict and SQL; rerun after adding
// entries, then review the diff:   node tests/integration/live/oracles.mjs [--check]
// Only the oracle field is touched: every other byte of a line stays as it is.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CANARIES, LEAKS, STATEMENT_TIMEOUT_MS } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const file = path.join(root, 'corpus/adversarial.jsonl');

// A call that could stall must come back within the statement timeout plus a margin (to show
// it did not hang; not a performance figure).
export const WITHIN_MS = STATEMENT_TIMEOUT_MS + 10_000;

const has = (sql, re) => re.test(sql);

/** The oracle of one entry. */
export function oracleFor(entry) {
  const sql = entry.sql;
  const canaries = new Set();
  const leak = new Set();
  const writeVerb = /\b(insert|update|delete|merge|truncate|drop|alter|create|grant|revoke|comment|reindex|cluster|vacuum|analyze|refresh|select\s[\s\S]*\binto\b|security label|import|reassign)\b/i;
  switch (entry.threat) {
    case 'write':
    case 'multi_statement':
    case 'lexical':
      if (has(sql, writeVerb)) ['data', 'relations', 'log_table'].forEach((c) => canaries.add(c));
      break;
    case 'files_programs':
      canaries.add('files');
      leak.add('file_marker');
      break;
    case 'locks_stalls':
      canaries.add('locks');
      break;
    case 'other_sessions':
      canaries.add('sessions');
      canaries.add('server');
      break;
    case 'leave_read_only':
      canaries.add('role_settings');
      canaries.add('roles');
      leak.add('data_dir');
      break;
    case 'secrets':
    case 'catalog':
      leak.add('password_hash');
      leak.add('secret');
      break;
    case 'uninterruptible':
    case 'memory':
      canaries.add('gateway');
      break;
    case 'hidden_calls':
      // a hazard's function leaves a record file and a session advisory lock (live/hidden.sql)
      ['hidden_calls', 'advisory', 'gateway'].forEach((c) => canaries.add(c));
      break;
    case 'unseen_sql':
      ['data', 'relations', 'log_table'].forEach((c) => canaries.add(c));
      leak.add('password_hash');
      leak.add('secret');
      break;
    default:
      break;
  }
  // What the SQL names, whatever its class.
  if (has(sql, /\b(nextval|setval|currval|sequence)\b/i)) canaries.add('sequence');
  if (has(sql, /\baudit_log\b|\blog_note\b/i)) canaries.add('log_table');
  if (has(sql, /\blo_\w+|pg_largeobject/i)) {
    canaries.add('large_object');
    leak.add('large_object');
  }
  if (has(sql, /\bcopy\b|lo_export|lo_import|pg_file_\w+|pg_read|pg_ls_|pg_stat_file|\bprogram\b/i)) {
    canaries.add('files');
    leak.add('file_marker');
  }
  if (has(sql, /\/etc\/passwd/i)) leak.add('passwd');
  if (has(sql, /postgresql\.conf|pg_hba|pg_file_settings|pg_hba_file_rules|pg_config/i)) leak.add('server_config');
  if (has(sql, /data_directory|pg_ls_dir|pg_stat_file|config_file|hba_file/i)) leak.add('data_dir');
  if (has(sql, /\b(role|user|grant|revoke|rolpassword|pg_authid|pg_shadow)\b/i)) canaries.add('roles');
  if (has(sql, /(^|;)[\s(]*(set|reset)\b|set_config|alter\s+system|alter\s+(role|user|database)/i)) canaries.add('role_settings');
  if (has(sql, /alter\s+system|pg_reload_conf|pg_stat_reset\w*|pg_rotate_logfile\w*|pg_switch_wal|checkpoint/i)) canaries.add('server');
  if (has(sql, /pg_terminate_backend|pg_cancel_backend/i)) canaries.add('sessions');
  if (has(sql, /\bfor\s+(update|share|no\s+key|key)\b|advisory|\block\b/i)) canaries.add('locks');
  if (has(sql, /\bnotify\b|pg_notify/i)) canaries.add('notify');
  if (has(sql, /dblink/i)) {
    canaries.add('remote');
    ['data', 'relations'].forEach((c) => canaries.add(c));
  }
  if (has(sql, /replication_slot|logical_slot/i)) canaries.add('slots');
  if (has(sql, /prepare\s+transaction|commit\s+prepared/i)) canaries.add('prepared');
  if (has(sql, /pg_authid|pg_shadow|rolpassword|passwd/i)) leak.add('password_hash');
  if (has(sql, /secret/i)) leak.add('secret');

  if (has(sql, /txid_current|pg_current_xact_id/i)) canaries.add('xid');
  if (entry.threat === 'write' && !canaries.size) ['data', 'relations'].forEach((c) => canaries.add(c));

  const oracle = {};
  // A runaway passes the guard (the text is a harmless SELECT) and is refused by pgsafe serve's
  // cost guard, before it runs, as `rejected (too_costly)`; a hidden call passes the guard
  // without a catalog and is refused from the live catalog's hazards (`hidden_function`).
  if (entry.expect === 'reject' || entry.threat === 'runaway' || entry.threat === 'hidden_calls') oracle.refused = true;
  else oracle.max_rows = entry.applied_limit; // allowed: bounded by its rewrite, never refused
  const bounded = ['locks_stalls', 'unbounded', 'uninterruptible', 'memory', 'hidden_calls'].includes(entry.threat) ||
    has(sql, /sleep|advisory|\block\b|\bfor\s+(update|share)\b|recursive|generate_series/i);
  if (canaries.size) oracle.canaries = [...canaries].sort((a, b) => CANARIES.indexOf(a) - CANARIES.indexOf(b));
  if (leak.size) oracle.leak = [...leak].sort((a, b) => LEAKS.indexOf(a) - LEAKS.indexOf(b));
  if (bounded) oracle.within_ms = WITHIN_MS;
  return oracle;
}

// The oracle field is written last, on one line, in the corpus's own JSON style.
function render(oracle) {
  return JSON.stringify(oracle).replace(/":/g, '": ').replace(/,"/g, ', "');
}

const ORACLE_TAIL = /, "oracle": \{[^{}]*\}\}$/;

function main() {
  const check = process.argv.includes('--check');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  let changed = 0;
  const out = lines.map((line) => {
    if (!line.trim()) return line;
    const entry = JSON.parse(line);
    const bare = line.replace(ORACLE_TAIL, '}');
    const next = bare.replace(/\}$/, `, "oracle": ${render(oracleFor(entry))}}`);
    if (JSON.stringify(JSON.parse(next).oracle) !== JSON.stringify(oracleFor(entry))) {
      throw new Error(`${entry.id}: the oracle did not round-trip`);
    }
    if (next !== line) changed++;
    return next;
  });
  if (check) {
    console.log(`oracles: ${changed} entries differ from the generator`);
    process.exit(changed ? 1 : 0);
  }
  fs.writeFileSync(file, out.join('\n'));
  console.log(`oracles: ${changed} entries written`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
