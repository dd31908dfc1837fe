// The comparison of one query's result through pgsafe with the same query run directly.
// Pure functions (no I/O), so selfcheck.mjs can feed them results that must not match.
//
// Direct rows come from node-postgres with every type parser replaced by the identity, so
// each value is PostgreSQL's own text form (or null). normalizeDirect maps that text the way
// docs/mcp.md says pgsafe renders each type; the pgsafe side is taken as it arrived.

const OID = { bool: 16, int8: 20, int2: 21, int4: 23, oid: 26, json: 114, float4: 700, float8: 701, jsonb: 3802 };
const SAFE_INTEGER = 2n ** 53n;

/** One direct value (text or null) as pgsafe's typed JSON should carry it. */
export function normalizeValue(text, typeOid) {
  if (text === null || text === undefined) return null;
  switch (typeOid) {
    case OID.bool:
      return text === 't';
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid: {
      const value = BigInt(text);
      return value <= SAFE_INTEGER && value >= -SAFE_INTEGER ? Number(value) : text;
    }
    case OID.float4:
    case OID.float8: {
      const value = Number(text);
      return Number.isFinite(value) ? value : text;
    }
    case OID.json:
    case OID.jsonb:
      return jsonEmbeddable(text) ? JSON.parse(text) : text;
    default:
      return text; // numeric and everything else: the text form
  }
}

/**
 * Whether pgsafe embeds a json value (docs/mcp.md): not when it nests deeper than 128 levels
 * or holds an integer (no fraction, no exponent) beyond 64 bits; those come as their text.
 */
export function jsonEmbeddable(text) {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '[' || c === '{') {
      deepest = Math.max(deepest, ++depth);
    } else if (c === ']' || c === '}') {
      depth--;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const number = /^[-+0-9.eE]+/.exec(text.slice(i))[0];
      if (!/[.eE]/.test(number)) {
        const value = BigInt(number);
        if (value < -(2n ** 63n) || value > 2n ** 64n - 1n) return false;
      }
      i += number.length - 1;
    }
  }
  return deepest <= 128;
}

/** A row's canonical string, for multiset comparison (JSON keeps types apart: 1 vs "1"). */
function rowKey(row) {
  return JSON.stringify(row);
}

function keysOf(row, keyIndexes) {
  return JSON.stringify(keyIndexes.map((i) => row[i]));
}

function multiset(rows) {
  const counts = new Map();
  for (const row of rows) {
    const key = rowKey(row);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  return counts;
}

/** The first row of `part` that `whole` lacks (counting duplicates), or undefined. */
function missingFrom(part, whole) {
  const counts = multiset(whole);
  for (const row of part) {
    const key = rowKey(row);
    const left = counts.get(key) || 0;
    if (left === 0) return row;
    counts.set(key, left - 1);
  }
  return undefined;
}

function short(value) {
  const text = JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Consecutive runs of rows with equal sort keys: [{key, rows}]. */
function runs(rows, keyIndexes) {
  const out = [];
  for (const row of rows) {
    const key = keysOf(row, keyIndexes);
    if (out.length && out[out.length - 1].key === key) out[out.length - 1].rows.push(row);
    else out.push({ key, rows: [row] });
  }
  return out;
}

/**
 * Compares rows in order where the ORDER BY keys (output column indexes) decide it: the key
 * sequences must agree, and rows that tie on the keys are compared as multisets. With
 * `prefix`, got is the first got.length rows of a longer expected result, so its last run
 * may be cut short (inclusion).
 */
function compareOrdered(got, expected, keyIndexes, prefix) {
  const gotRuns = runs(got, keyIndexes);
  const expectedRuns = runs(expected, keyIndexes);
  for (let i = 0; i < gotRuns.length; i++) {
    const g = gotRuns[i];
    const e = expectedRuns[i];
    if (!e || e.key !== g.key) {
      return `order differs: sort keys ${g.key} at run ${i + 1}, directly ${e ? e.key : 'no more rows'}`;
    }
    const last = i === gotRuns.length - 1;
    if (prefix && last) {
      const extra = missingFrom(g.rows, e.rows);
      if (extra !== undefined) return `row not in the direct result (keys ${g.key}): ${short(extra)}`;
    } else {
      if (g.rows.length !== e.rows.length) return `rows with sort keys ${g.key}: ${g.rows.length} through pgsafe, ${e.rows.length} directly`;
      const extra = missingFrom(g.rows, e.rows);
      if (extra !== undefined) return `row not in the direct result (keys ${g.key}): ${short(extra)}`;
    }
  }
  if (!prefix && gotRuns.length !== expectedRuns.length) return `${expectedRuns.length - gotRuns.length} more runs of sort keys directly`;
  return null;
}

/**
 * Compares pgsafe's structuredContent with a direct result.
 *   structured   {columns:[{name,type}], rows, row_count, truncated, truncation, applied_limit}
 *   direct       {columns:[{name, typeOid, typeName}], rows: [[text|null]]}
 *   orderKeys    output column indexes the query's top-level ORDER BY sorts on (all of its
 *                keys), or null when there is none or it could not be mapped (then multiset)
 *   columnsOnly  the query is volatile (random(), clock, statistics): compare columns only
 * Returns {ok: true, truncated} or {ok: false, why}.
 */
export function compareResults(structured, direct, { orderKeys = null, columnsOnly = false } = {}) {
  const fail = (why) => ({ ok: false, why });
  const names = structured.columns.map((c) => c.name);
  const directNames = direct.columns.map((c) => c.name);
  if (JSON.stringify(names) !== JSON.stringify(directNames)) {
    return fail(`columns differ: ${short(names)} through pgsafe, ${short(directNames)} directly`);
  }
  for (let i = 0; i < names.length; i++) {
    if (structured.columns[i].type !== direct.columns[i].typeName) {
      return fail(`column ${names[i]}: type ${structured.columns[i].type} through pgsafe, ${direct.columns[i].typeName} directly`);
    }
  }
  if (!Array.isArray(structured.rows) || structured.rows.length !== structured.row_count) {
    return fail(`row_count ${structured.row_count} but ${structured.rows?.length} rows`);
  }
  if (columnsOnly) return { ok: true, truncated: structured.truncated === true };
  const expected = direct.rows.map((row) => row.map((value, i) => normalizeValue(value, direct.columns[i].typeOid)));
  const got = structured.rows;
  for (const row of got) {
    if (!Array.isArray(row) || row.length !== names.length) return fail(`a row with ${row?.length} values for ${names.length} columns`);
  }
  const limit = structured.applied_limit;
  if (structured.truncated) {
    if (structured.truncation?.reason === 'row_limit') {
      if (expected.length <= limit) return fail(`truncated at ${limit} rows, but the query has ${expected.length} rows directly`);
      if (got.length !== limit) return fail(`truncated at the ${limit}-row limit with ${got.length} rows`);
    } else if (structured.truncation?.reason !== 'byte_budget') {
      return fail(`truncated without a known reason: ${short(structured.truncation)}`);
    }
    if (got.length > expected.length) return fail(`${got.length} rows through pgsafe, only ${expected.length} directly`);
    const why = orderKeys ? compareOrdered(got, expected, orderKeys, true) : null;
    if (why) return fail(why);
    const extra = missingFrom(got, expected);
    if (extra !== undefined) return fail(`row not in the direct result: ${short(extra)}`);
    return { ok: true, truncated: true };
  }
  if (limit !== undefined && expected.length > limit) {
    return fail(`${expected.length} rows directly, ${got.length} through pgsafe without truncated (limit ${limit})`);
  }
  if (got.length !== expected.length) return fail(`${got.length} rows through pgsafe, ${expected.length} directly`);
  if (orderKeys) {
    const why = compareOrdered(got, expected, orderKeys, false);
    if (why) return fail(why);
  }
  const extra = missingFrom(got, expected);
  if (extra !== undefined) return fail(`row not in the direct result: ${short(extra)}`);
  return { ok: true, truncated: false };
}

// ---- the top-level ORDER BY of a statement, mapped onto its output columns ----

/** Tokens at any depth: {t: 'word'|'ident'|'num'|'sym'|'str', v, depth}. Skips comments. */
export function tokenize(sql) {
  const tokens = [];
  let depth = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      let nest = 0;
      do {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          nest++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          nest--;
          i += 2;
        } else i++;
      } while (i < n && nest > 0);
    } else if (c === "'" || ((c === 'E' || c === 'e') && sql[i + 1] === "'")) {
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      tokens.push({ t: 'str', v: '', depth });
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < n) {
        if (sql[i] === '"' && sql[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (sql[i] === '"') break;
        else v += sql[i++];
      }
      i++;
      tokens.push({ t: 'ident', v, depth });
    } else if (c === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))[0];
      const end = sql.indexOf(tag, i + tag.length);
      i = end < 0 ? n : end + tag.length;
      tokens.push({ t: 'str', v: '', depth });
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let v = '';
      while (i < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[i])) v += sql[i++];
      tokens.push({ t: 'word', v: v.toLowerCase(), depth });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] || ''))) {
      let v = '';
      while (i < n && /[0-9.eE_]/.test(sql[i])) v += sql[i++];
      tokens.push({ t: 'num', v, depth });
    } else {
      if (c === '(' || c === '[') {
        tokens.push({ t: 'sym', v: c, depth });
        depth++;
      } else if (c === ')' || c === ']') {
        depth--;
        tokens.push({ t: 'sym', v: c, depth });
      } else tokens.push({ t: 'sym', v: c, depth });
      i++;
    }
  }
  return tokens;
}

const ORDER_END = new Set(['limit', 'offset', 'fetch', 'for']);

/**
 * The output column indexes the top-level ORDER BY sorts on, in order; null when the
 * statement has none, or when a key is not simply an output column (a position, a name or
 * alias of exactly one output column): then ties cannot be told apart and order is not checked.
 */
export function orderKeyIndexes(sql, columnNames) {
  const tokens = tokenize(sql);
  let start = -1;
  for (let i = tokens.length - 2; i >= 0; i--) {
    const a = tokens[i];
    const b = tokens[i + 1];
    if (a.depth === 0 && a.t === 'word' && a.v === 'order' && b.t === 'word' && b.v === 'by') {
      start = i + 2;
      break;
    }
  }
  if (start < 0) return null;
  const items = [[]];
  for (let i = start; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok.depth === 0 && ((tok.t === 'word' && ORDER_END.has(tok.v)) || (tok.t === 'sym' && tok.v === ';'))) break;
    if (tok.depth === 0 && tok.t === 'sym' && tok.v === ',') items.push([]);
    else items[items.length - 1].push(tok);
  }
  const keys = [];
  for (let item of items) {
    // Drop the direction and NULLS placement; anything else (COLLATE, USING) is not simple.
    while (item.length && item[item.length - 1].t === 'word' && ['asc', 'desc', 'first', 'last', 'nulls'].includes(item[item.length - 1].v)) {
      item = item.slice(0, -1);
    }
    if (item.length === 1 && item[0].t === 'num' && /^[0-9]+$/.test(item[0].v)) {
      const position = Number(item[0].v);
      if (position < 1 || position > columnNames.length) return null;
      keys.push(position - 1);
      continue;
    }
    // name, or qualifier.name: the last part names the output column.
    const parts = item.filter((tok, k) => (k % 2 === 0 ? tok.t === 'word' || tok.t === 'ident' : tok.t === 'sym' && tok.v === '.'));
    if (parts.length !== item.length || item.length % 2 === 0) return null;
    if (item.length > 1) return null; // a qualified name may be an input column the output shares a name with
    const name = item[0].v;
    const matches = columnNames.flatMap((column, index) => (column === name ? [index] : []));
    if (matches.length !== 1) return null;
    keys.push(matches[0]);
  }
  return keys.length ? keys : null;
}
