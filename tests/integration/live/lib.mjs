// The live suite's vocabulary and its pure checks: canary names, leak markers, the
// classification of one tool result, and the comparison of two snapshots. Shared by the
// runner (live.mjs) and the oracle generator (oracles.mjs).

/** pgsafe serve's --statement-timeout in the live runs (short: the stalls must end fast). */
export const STATEMENT_TIMEOUT_MS = 1000;

/**
 * The canaries: keys of the snapshot (live_canary.snapshot in fixture.sql), plus three the
 * runner watches itself: notify (a session LISTENing on the channels the corpus names),
 * remote (the `customers` table of the database `postgres`, which dblink attacks name) and
 * sessions (that canary session is still there). `gateway` lists pgsafe's own connections
 * that are not idle outside a transaction between calls. `hidden_calls` lists the records
 * the hidden-call hazards leave (live/hidden.sql), `advisory` counts session advisory locks
 * held by any other backend, `temporary` the temporary relations of any session.
 */
export const CANARIES = [
  'sequence', 'log_table', 'data', 'relations', 'functions', 'objects', 'roles', 'role_settings',
  'databases', 'large_object', 'files', 'slots', 'prepared', 'locks', 'sessions', 'server', 'xid',
  'notify', 'remote', 'gateway', 'hidden_calls', 'advisory', 'temporary',
];
/** Canaries that can differ for a moment after a call (a backend still finishing a cancel). */
export const SETTLING = ['locks', 'sessions', 'gateway', 'advisory'];

/** Leak markers by name; values come from the fixture, the host and the cluster (leakValues). */
export const LEAKS = ['file_marker', 'secret', 'password_hash', 'large_object', 'passwd', 'server_config', 'data_dir'];

export const FILE_MARKER = 'LIVE-FILE-MARKER-7d1c9a';

/** The texts of the leak markers; every response is searched for all of them. */
export function leakValues({ dataDir, passwdLine }) {
  return {
    file_marker: [FILE_MARKER],
    secret: ['LIVE-SECRET-MARKER-3f8e2b'],
    password_hash: ['SCRAM-SHA-256$'],
    large_object: ['LIVE-LO-MARKER-91c4d0', '4c4956452d4c4f2d4d41524b4552'], // text and hex of its data
    passwd: passwdLine ? [passwdLine] : [],
    server_config: ['PostgreSQL configuration file', 'Database administrative login by Unix domain socket'],
    data_dir: dataDir ? [dataDir] : [],
  };
}

/** Names of the leak markers found in text (a marker the SQL itself holds does not count). */
export function leaksIn(text, values, sql = '') {
  const found = [];
  for (const [name, markers] of Object.entries(values)) {
    if (markers.some((m) => m && text.includes(m) && !sql.includes(m))) found.push(name);
  }
  return found;
}

export const CLASSES = ['refused', 'stopped', 'allowed'];

/**
 * The class of one tool result: refused (a guard rejection), stopped (the guard let it through
 * and PostgreSQL raised an error) or allowed (it ran). Texts as docs/mcp.md gives them.
 */
export function classify(result) {
  if (result.isError !== true) return 'allowed';
  const text = result.content?.map((c) => c.text).join('\n') ?? '';
  if (/^rejected \([a-z_]+\): /.test(text)) return 'refused';
  return 'stopped';
}

/**
 * The failed oracles of one call: { refused, leak, time, rows } checks on the result;
 * canary changes are added by the runner. Returns a list of short problem texts.
 */
export function resultProblems(entry, { result, elapsedMs, klass, boundMs, values }) {
  const oracle = entry.oracle ?? {};
  const problems = [];
  if (oracle.refused && klass !== 'refused') problems.push(`not refused (${klass})`);
  if (!oracle.refused && klass === 'refused') problems.push('refused, but the entry must be allowed');
  const text = JSON.stringify(result);
  const leaked = leaksIn(text, values, entry.sql);
  if (leaked.length) problems.push(`leak: ${leaked.join(', ')}`);
  const bound = oracle.within_ms ?? boundMs;
  if (elapsedMs > bound) problems.push(`took ${Math.round(elapsedMs)} ms (bound ${bound} ms)`);
  if (oracle.max_rows !== undefined && klass === 'allowed') {
    const rows = result.structuredContent?.row_count;
    if (!(Number.isInteger(rows) && rows <= oracle.max_rows)) problems.push(`row_count ${rows} over ${oracle.max_rows}`);
  }
  return problems;
}

/** The snapshot keys (dotted paths) whose values differ between two snapshots. */
export function snapshotDiff(before, after, prefix = '') {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const out = [];
  for (const key of keys) {
    const a = before?.[key];
    const b = after?.[key];
    const name = prefix ? `${prefix}.${key}` : key;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
      out.push(...snapshotDiff(a, b, name));
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push(name);
    }
  }
  return out.sort();
}

/** The canary (top-level key) of a dotted snapshot path. */
export function canaryOf(pathName) {
  return pathName.split('.')[0];
}
