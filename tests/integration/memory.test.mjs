// pgsafe's own memory stays bounded whatever a row holds: libpq buffers a whole data row even
// in single-row mode, so each value and each row is bounded on the server (conn.c,
// guard_bound_rows), and the peak resident size (VmHWM) of the pgsafe process stays under the
// documented bound (docs/threat-model.md) after rows of hundreds of megabytes. The wrapper
// must not change what the model sees: types, NULLs, order, cut marks.
import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
  READER, after, assertCleanSession, before, callTool, connect, describe, okResult, psql, query, test,
} from './lib/harness.mjs';

// 64 MiB: the documented bound for the default budgets (256 KiB a result, 8 KiB a value).
// Not compared under the sanitizers, whose shadow memory and quarantine are resident too.
const BOUND_KIB = 64 * 1024;
const SANITIZER = Boolean(process.env.PGSAFE_IT_SANITIZER);

function peakKib(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  assert.ok(match, 'VmHWM in /proc/PID/status');
  return Number(match[1]);
}

// Stored values: the guard refuses values it can bound from constants (repeat('x', 1e8)),
// not those the data holds, so the test reads them from a table.
let session;
before(async () => {
  psql(`CREATE TABLE public.pgsafe_it_big AS
      SELECT repeat('x', 100000000) AS a, repeat('y', 100000000) AS b, repeat('😀', 8000) AS e;
    GRANT SELECT ON public.pgsafe_it_big TO ${READER};`);
  session = await connect({ args: ['--pool-size', '2', '--statement-timeout', '60000'] });
});
after(async () => {
  if (session) {
    assertCleanSession(session);
    await session.close();
  }
  psql('DROP TABLE IF EXISTS public.pgsafe_it_big');
});

describe('memory', () => {
  test('rows of hundreds of megabytes: pgsafe peaks under 64 MiB, values cut and marked, the budget flagged', async (t) => {
    if (!SANITIZER) assert.ok(peakKib(session.pid) < BOUND_KIB, 'the bound holds at start');
    const huge = 'SELECT a, b, 42 AS n FROM pgsafe_it_big';
    // Two at once, one per pooled connection.
    const [first, second] = await Promise.all([
      callTool(session, 'query', { sql: huge }, { timeout: 55_000 }),
      callTool(session, 'query', { sql: huge }, { timeout: 55_000 }),
    ]);
    for (const raw of [first, second]) {
      const result = okResult(raw, 'huge values');
      assert.deepEqual(result.columns, [{ name: 'a', type: 'text' }, { name: 'b', type: 'text' }, { name: 'n', type: 'integer' }]);
      assert.equal(result.row_count, 1);
      assert.equal(result.cells_cut, 2);
      const [a, b, n] = result.rows[0];
      assert.equal(a, `${'x'.repeat(8192)}…`);
      assert.equal(b, `${'y'.repeat(8192)}…`);
      assert.equal(n, 42);
    }
    // A row of many values, each under the cell cap, together far over the budget: flagged
    // on the server and cut there, four-byte characters included.
    const wide = Array.from({ length: 1000 }, (_, i) => `e AS c${i}`).join(', ');
    const flagged = await query(session, `SELECT ${wide} FROM pgsafe_it_big, generate_series(1, 3)`);
    assert.equal(flagged.truncated, true);
    assert.equal(flagged.truncation?.reason, 'byte_budget');
    assert.equal(flagged.row_count, 0);
    assert.equal(flagged.columns.length, 1000);
    const peak = peakKib(session.pid);
    t.diagnostic(`pgsafe's peak resident size: ${peak} KiB`);
    if (!SANITIZER) assert.ok(peak < BOUND_KIB, `pgsafe peaked at ${peak} KiB, over the ${BOUND_KIB} KiB bound`);
  });

  test('the server-side bound keeps values, NULLs, types and order as they were', async () => {
    const result = await query(session, `SELECT g, NULL::text AS nothing, '' AS empty, ROW(NULL, NULL) AS all_null_row,
      true AS yes, 1.50::numeric AS n, '{"a": [1, 2]}'::jsonb AS j, ARRAY[1, NULL] AS arr, 'a'::char(3) AS c,
      '192.168.0.1'::inet AS ip, E'tab\\there' AS t FROM generate_series(3, 1, -1) g`);
    assert.deepEqual(result.columns.map((c) => c.type), [
      'integer', 'text', 'text', 'record', 'boolean', 'numeric', 'jsonb', 'integer[]', 'character', 'inet', 'text',
    ]);
    assert.deepEqual(result.rows.map((r) => r[0]), [3, 2, 1]);
    assert.deepEqual(result.rows[0].slice(1), [null, '', '(,)', true, '1.50', { a: [1, 2] }, '{1,NULL}', 'a  ', '192.168.0.1', 'tab\there']);
    assert.equal(result.cells_cut, 0);
  });
});
