// Proof that the comparison can fail: planted differences that compare.mjs must report, an
// identical pair it must pass, and one live pair (pgsafe runs one query, the direct side a
// different one) that must come out as a mismatch. Returns the list of checks that went wrong.
import { compareResults, orderKeyIndexes } from './compare.mjs';

const INT4 = 23;
const NUMERIC = 1700;
const TEXT = 25;
const JSONB = 3802;

function direct(rows, columns = [['id', INT4, 'integer'], ['total', NUMERIC, 'numeric'], ['tag', TEXT, 'text']]) {
  return { columns: columns.map(([name, typeOid, typeName]) => ({ name, typeOid, typeName })), rows };
}

function tool(rows, { truncated = false, limit = 1000, columns = [['id', 'integer'], ['total', 'numeric'], ['tag', 'text']] } = {}) {
  return {
    columns: columns.map(([name, type]) => ({ name, type })),
    rows,
    row_count: rows.length,
    truncated,
    truncation: truncated ? { reason: 'row_limit', limit } : null,
    applied_limit: limit,
  };
}

const base = [['1', '10.50', 'a'], ['2', '20.00', 'b'], ['3', '20.00', 'c']];
const typed = [[1, '10.50', 'a'], [2, '20.00', 'b'], [3, '20.00', 'c']];

/** [name, structured, direct, options]: each must be reported as a mismatch. */
const planted = [
  ['a changed value', tool([[1, '10.50', 'a'], [2, '20.01', 'b'], [3, '20.00', 'c']]), direct(base)],
  ['a missing row', tool(typed.slice(0, 2)), direct(base)],
  ['a duplicated row instead of another', tool([typed[0], typed[0], typed[2]]), direct(base)],
  ['numeric as a number (wrong type mapping)', tool([[1, 10.5, 'a'], [2, '20.00', 'b'], [3, '20.00', 'c']]), direct(base)],
  ['an integer as a string (wrong type mapping)', tool([['1', '10.50', 'a'], [2, '20.00', 'b'], [3, '20.00', 'c']]), direct(base)],
  ['NULL as the text "null"', tool([[1, '10.50', 'null']]), direct([['1', '10.50', null]])],
  ['a column renamed', tool(typed, { columns: [['id', 'integer'], ['sum', 'numeric'], ['tag', 'text']] }), direct(base)],
  ['a column type renamed', tool(typed, { columns: [['id', 'integer'], ['total', 'text'], ['tag', 'text']] }), direct(base)],
  ['rows cut without truncated', tool(typed.slice(0, 2), { limit: 2 }), direct(base)],
  ['truncated but the query has no more rows', tool(typed.slice(0, 2), { truncated: true, limit: 2 }), direct(base.slice(0, 2))],
  ['truncated with a row that is not in the result', tool([typed[0], [9, '1.00', 'z']], { truncated: true, limit: 2 }), direct(base)],
  ['truncated with fewer rows than the limit', tool(typed.slice(0, 1), { truncated: true, limit: 2 }), direct(base)],
  ['the order reversed under a total ORDER BY', tool([...typed].reverse()), direct(base), { orderKeys: [0] }],
  ['a truncated prefix that skips the first row', tool(typed.slice(1, 3), { truncated: true, limit: 2 }), direct(base), { orderKeys: [0] }],
  ['json that differs in one member', tool([[{ a: 1, b: [1, 2] }]], { columns: [['j', 'jsonb']] }),
    direct([['{"a": 1, "b": [1, 3]}']], [['j', JSONB, 'jsonb']])],
  ['a json integer beyond 64 bits clamped', tool([[[18446744073709551615]]], { columns: [['j', 'jsonb']] }),
    direct([['[12345678901234567890123]']], [['j', JSONB, 'jsonb']])],
];

/** Pairs that must match: ties in any order, a truncated prefix with a cut tie, json. */
const matching = [
  ['the same rows in another order without ORDER BY', tool([...typed].reverse()), direct(base)],
  ['tied sort keys in another order', tool([typed[0], typed[2], typed[1]]), direct(base), { orderKeys: [1] }],
  ['a truncated prefix ending inside a tie', tool([typed[0], typed[2]], { truncated: true, limit: 2 }), direct(base), { orderKeys: [1] }],
  ['json', tool([[{ a: 1, b: [1, 2] }]], { columns: [['j', 'jsonb']] }), direct([['{"a": 1, "b": [1, 2]}']], [['j', JSONB, 'jsonb']])],
];

export async function selfCheck({ session, direct: runDirect, maxRows }) {
  const failures = [];
  for (const [name, structured, directResult, options] of planted) {
    if (compareResults(structured, directResult, options).ok) failures.push(`not reported: ${name}`);
  }
  for (const [name, structured, directResult, options] of matching) {
    const verdict = compareResults(structured, directResult, options);
    if (!verdict.ok) failures.push(`reported wrongly: ${name}: ${verdict.why}`);
  }
  const keys = [
    ['SELECT a, b FROM t ORDER BY 2 DESC, a LIMIT 5', ['a', 'b'], [1, 0]],
    ["SELECT x FROM (SELECT x FROM t ORDER BY y) s WHERE z = 'ORDER BY x'", ['x'], null],
    ['SELECT a, b FROM t ORDER BY t.a', ['a', 'b'], null],
    ['SELECT a, rank() OVER (ORDER BY b) FROM t ORDER BY a NULLS FIRST;', ['a', 'rank'], [0]],
  ];
  for (const [sql, columns, want] of keys) {
    const got = orderKeyIndexes(sql, columns);
    if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`order keys of ${sql}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }

  // Live: through pgsafe one query, directly another; then the same query on both sides.
  const live = async (toolSql, directSql) => {
    const result = await session.client.callTool({ name: 'query', arguments: { sql: toolSql } }, undefined, { timeout: 30_000 });
    if (result.isError) return { ok: false, why: `isError: ${result.content?.[0]?.text}` };
    const d = await runDirect(directSql);
    if (!d.ok) return { ok: false, why: `direct error: ${d.message}` };
    return compareResults(result.structuredContent, d, { orderKeys: orderKeyIndexes(directSql, d.columns.map((c) => c.name)) });
  };
  const differ = [
    ['a row left out directly', 'SELECT id, total FROM orders WHERE id <= 10', 'SELECT id, total FROM orders WHERE id <= 10 AND id <> 7'],
    ['a value changed directly', 'SELECT id, total FROM orders WHERE id <= 10', 'SELECT id, total + 0.01 AS total FROM orders WHERE id <= 10'],
    ['another type directly', 'SELECT id, total FROM orders WHERE id <= 10', 'SELECT id, total::float8 AS total FROM orders WHERE id <= 10'],
    ['fewer rows than the limit directly', 'SELECT id FROM orders', `SELECT id FROM orders WHERE id <= ${maxRows}`],
    ['another order directly', 'SELECT id FROM orders WHERE id <= 10 ORDER BY id', 'SELECT id FROM orders WHERE id <= 10 ORDER BY id DESC'],
  ];
  for (const [name, toolSql, directSql] of differ) {
    const verdict = await live(toolSql, directSql);
    if (verdict.ok) failures.push(`live pair not reported: ${name}`);
  }
  const same = await live('SELECT id, total, status FROM orders ORDER BY total DESC', 'SELECT id, total, status FROM orders ORDER BY total DESC');
  if (!same.ok) failures.push(`live identical pair reported: ${same.why}`);
  return failures;
}
