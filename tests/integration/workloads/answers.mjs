// What pgsafe answered to one query, reduced to what must be the same on every PostgreSQL
// major for the same read-only role, and the comparison of two such answers. Pure functions
// (no I/O): run.mjs records an answer per query (PGSAFE_WL_ANSWERS), cross.mjs compares the
// files of several majors, and its self-check feeds planted differences to sameAnswer.
//
// An answer is one of
//   {kind: 'rows', columns: [[name, type]], count, truncated, reason, rows, keys}
//   {kind: 'error', state}            the server's SQLSTATE through pgsafe
//   {kind: 'rejected', reason}        the guard's reason code
//   {kind: 'failed', why}             the call itself failed (never the same as anything)
// plus volatile: true when the query's result changes from run to run (then only the kind
// and the columns are compared).
//
// Rows are kept as a sorted multiset (a plan may return ties in any order, and plans differ
// between majors); `keys` is the sequence of the ORDER BY keys of the rows, when the top-level
// ORDER BY maps onto output columns, so the order is compared too. A result cut at the row
// limit keeps which rows it holds to the plan (the rows past ties at the cut, or all of them
// without ORDER BY): its rows are not compared, only its count, reason and the ORDER BY keys
// before the last run of ties.
import { orderKeyIndexes } from './compare.mjs';

/** The answer of a tool result (the MCP SDK's callTool result) for the SQL it ran. */
export function answerOf(sql, tool) {
  if (tool.isError) {
    const text = tool.content?.[0]?.text || '';
    const rejection = /^rejected \(([a-z_]+)\)/.exec(text)?.[1];
    if (rejection) return { kind: 'rejected', reason: rejection };
    const state = /\(SQLSTATE ([0-9A-Z]{5})\)/.exec(text)?.[1];
    if (state) return { kind: 'error', state };
    return { kind: 'failed', why: text.split('\n')[0] };
  }
  const s = tool.structuredContent;
  if (!s || !Array.isArray(s.columns) || !Array.isArray(s.rows)) return { kind: 'failed', why: 'no structured result' };
  const names = s.columns.map((c) => c.name);
  const orderKeys = orderKeyIndexes(sql, names);
  let keys = orderKeys ? s.rows.map((row) => JSON.stringify(orderKeys.map((i) => row[i]))) : null;
  if (keys && s.truncated) {
    // The last run of equal keys may be cut anywhere: keep the keys before it.
    let end = keys.length;
    while (end > 0 && keys[end - 1] === keys[keys.length - 1]) end--;
    keys = keys.slice(0, end);
  }
  return {
    kind: 'rows',
    columns: s.columns.map((c) => [c.name, c.type]),
    count: s.rows.length,
    truncated: s.truncated === true,
    reason: s.truncated ? s.truncation?.reason || null : null,
    rows: s.truncated ? null : s.rows.map((row) => JSON.stringify(row)).sort(),
    keys: keys ? keys.join('\n') : null,
  };
}

function short(value) {
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** The first element of sorted list a that sorted list b lacks, or undefined. */
function firstMissing(a, b) {
  const have = new Map();
  for (const x of b) have.set(x, (have.get(x) || 0) + 1);
  for (const x of a) {
    const left = have.get(x) || 0;
    if (!left) return x;
    have.set(x, left - 1);
  }
  return undefined;
}

/**
 * Compares two answers (a from one major, b from another). Returns null when they are the
 * same, else {what, why}: what is one of kind, reason, state, columns, truncation, count,
 * rows, order (the allow-list names it).
 */
export function sameAnswer(a, b) {
  const diff = (what, why) => ({ what, why });
  if (a.kind !== b.kind) {
    const tell = (x) => (x.kind === 'rows' ? `${x.count} rows` : x.kind === 'error' ? `error ${x.state}` : x.kind === 'rejected' ? `rejected (${x.reason})` : `failed (${x.why})`);
    return diff('kind', `${tell(a)} against ${tell(b)}`);
  }
  switch (a.kind) {
    case 'rejected':
      return a.reason === b.reason ? null : diff('reason', `rejected (${a.reason}) against rejected (${b.reason})`);
    case 'error':
      return a.state === b.state ? null : diff('state', `SQLSTATE ${a.state} against ${b.state}`);
    case 'failed':
      return diff('kind', `the call failed: ${a.why}; ${b.why}`);
    default:
      break;
  }
  if (JSON.stringify(a.columns) !== JSON.stringify(b.columns)) return diff('columns', `${short(a.columns)} against ${short(b.columns)}`);
  if (a.volatile || b.volatile) return null;
  if (a.truncated !== b.truncated || a.reason !== b.reason) {
    return diff('truncation', `truncated ${a.truncated} (${a.reason}) against ${b.truncated} (${b.reason})`);
  }
  if (a.count !== b.count) return diff('count', `${a.count} rows against ${b.count}`);
  if (a.rows && b.rows) {
    const extra = firstMissing(a.rows, b.rows);
    if (extra !== undefined) return diff('rows', `row ${short(JSON.parse(extra))} not in the other`);
    const missing = firstMissing(b.rows, a.rows);
    if (missing !== undefined) return diff('rows', `row ${short(JSON.parse(missing))} only in the other`);
  }
  if ((a.keys === null) !== (b.keys === null)) return diff('order', 'ORDER BY keys on one side only');
  if (a.keys !== null && a.keys !== b.keys) {
    const ak = a.keys.split('\n');
    const bk = b.keys.split('\n');
    const i = ak.findIndex((k, n) => k !== bk[n]);
    return diff('order', `sort keys differ at row ${i + 1}: ${ak[i]} against ${bk[i]}`);
  }
  return null;
}
