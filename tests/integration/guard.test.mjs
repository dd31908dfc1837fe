// The guard over the live catalog, through `pgsafe serve`, connected as the superuser
// postgres (the worst case the threat model assumes): user functions and operators are
// judged by their volatility in the connected database, attacks are rejected with text a
// model can act on, and psql confirms afterwards that nothing changed.
import assert from 'node:assert/strict';

import {
  PG, after, assertCleanSession, before, callTool, connect, describe, errorResult, offlineVerdict, okResult,
  psql, query, rejectionLines, test,
} from './lib/harness.mjs';

let session;
let snapshotBefore;

// What must not change, read with psql.
function snapshot() {
  return {
    orders: psql('SELECT count(*), sum(total) FROM orders'),
    customers: psql('SELECT count(*) FROM customers'),
    audit_trail: psql('SELECT count(*), max(id) FROM audit_trail'),
    sequence: psql('SELECT last_value, is_called FROM orders_id_seq'),
    relations: psql("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"),
    stolen: psql("SELECT count(*) FROM pg_class WHERE relname IN ('stolen', 'copied')"),
    roles: psql('SELECT count(*) FROM pg_roles'),
    settings: psql("SELECT current_setting('work_mem')"),
  };
}

before(async () => {
  snapshotBefore = snapshot();
  session = await connect({ user: PG.superuser });
});
after(async () => {
  if (session) {
    assertCleanSession(session);
    await session.close();
  }
});

describe('live catalog', () => {
  test('a STABLE user function is allowed (the offline guard, without the catalog, does not know it)', async () => {
    const sql = 'SELECT id, discounted(total, 10) AS d FROM orders ORDER BY id';
    assert.equal(offlineVerdict(sql).allowed, false, 'precondition: only the live catalog makes it known');
    const result = await query(session, sql);
    assert.deepEqual(result.rows, [[1, '9.45'], [2, '18.23'], [3, '89.99'], [4, '4.50']]);
    const qualified = await query(session, 'SELECT public.discounted(100, 25) AS d');
    assert.deepEqual(qualified.rows, [['75.00']]);
  });

  test('the catalog loads under a statement timeout shorter than its own query (loads take at least 30 s)', async () => {
    // 1 ms ends any query the model sends, but the catalog the guard needs must still load.
    const short = await connect({ args: ['--statement-timeout', '1'] });
    try {
      const verdict = okResult(await callTool(short, 'check_sql', { sql: 'SELECT discounted(total, 10) FROM orders' }));
      assert.equal(verdict.allowed, true, `${JSON.stringify(verdict)}\n${short.stderr()}`);
      assert.equal(verdict.catalog, 'live');
    } finally {
      await short.close();
    }
  });

  test('a VOLATILE SECURITY DEFINER function that writes is rejected, and its table is unchanged', async () => {
    const before = psql('SELECT count(*), max(id) FROM audit_trail');
    for (const sql of [
      "SELECT log_note('pwned')",
      "SELECT public.log_note('pwned')",
      "SELECT * FROM customers WHERE log_note(name) = 1",
      "SELECT (SELECT log_note('x')) AS sub",
      "SELECT * FROM log_note('from')",
    ]) {
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      assert.match(text, /^rejected \(\w+\): /, sql);
      assert.match(text, /log_note/, sql);
      const verdict = okResult(await callTool(session, 'check_sql', { sql }));
      assert.equal(verdict.allowed, false, sql);
    }
    assert.equal(psql('SELECT count(*), max(id) FROM audit_trail'), before);
  });

  test('a user operator on a volatile function is rejected', async () => {
    const before = psql('SELECT count(*), max(id) FROM audit_trail');
    for (const sql of ['SELECT 1 <~> 2', 'SELECT id FROM customers WHERE id <~> 1']) {
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      assert.match(text, /^rejected \(\w+\): /, sql);
      assert.match(text, /<~>|noisy_eq/, sql);
    }
    assert.equal(psql('SELECT count(*), max(id) FROM audit_trail'), before);
  });

  test('--deny-function and --allow-function change the policy of one server', async () => {
    const custom = await connect({ user: PG.superuser, args: ['--deny-function', 'discounted', '--allow-function', 'log_note'] });
    try {
      const denied = errorResult(await callTool(custom, 'query', { sql: 'SELECT discounted(10, 10)' }));
      assert.match(denied, /discounted/);
      // Allowed by the guard, the write still fails: the transaction is read-only.
      const before = psql('SELECT count(*), max(id) FROM audit_trail');
      const text = errorResult(await callTool(custom, 'query', { sql: "SELECT log_note('read only')" }));
      assert.match(text, /read-only/);
      assert.equal(psql('SELECT count(*), max(id) FROM audit_trail'), before);
      assertCleanSession(custom);
    } finally {
      await custom.close();
    }
  });

  test('--allow-function cannot re-allow a function on the deny list', async () => {
    const custom = await connect({ user: PG.superuser, args: ['--allow-function', 'pg_sleep'] });
    try {
      const text = errorResult(await callTool(custom, 'query', { sql: 'SELECT pg_sleep(5)' }));
      assert.match(text, /^rejected \(function_denied\): /);
    } finally {
      await custom.close();
    }
  });

  test('--allow-relation lifts a default relation denial', async () => {
    const sql = "SELECT name FROM pg_settings WHERE name = 'work_mem'";
    assert.match(errorResult(await callTool(session, 'query', { sql })), /^rejected \(relation_denied\): /);
    const custom = await connect({ user: PG.superuser, args: ['--allow-relation', 'pg_settings'] });
    try {
      assert.deepEqual(okResult(await callTool(custom, 'query', { sql })).rows, [['work_mem']]);
    } finally {
      await custom.close();
    }
  });

  test('PGSAFE_DENY_RELATIONS takes a comma-separated list', async () => {
    const custom = await connect({ user: PG.superuser, env: { PGSAFE_DENY_RELATIONS: 'customers,order_items' } });
    try {
      for (const sql of ['SELECT * FROM customers', 'SELECT * FROM order_items']) {
        assert.match(errorResult(await callTool(custom, 'query', { sql }), sql), /^rejected \(relation_denied\): /);
      }
      okResult(await callTool(custom, 'query', { sql: 'SELECT count(*) FROM orders' }));
    } finally {
      await custom.close();
    }
  });

  for (const denied of ['customers', 'public.customers']) {
    test(`--deny-relation ${denied} keeps the table out of queries, qualified or not`, async () => {
      const custom = await connect({ user: PG.superuser, args: ['--deny-relation', denied] });
      try {
        for (const sql of ['SELECT * FROM customers', 'SELECT * FROM public.customers', 'SELECT count(*) FROM orders JOIN customers c ON c.id = customer_id']) {
          const text = errorResult(await callTool(custom, 'query', { sql }), sql);
          assert.match(text, /^rejected \(\w+\): /, sql);
          assert.match(text, /customers/, sql);
        }
        okResult(await callTool(custom, 'query', { sql: 'SELECT count(*) FROM orders' }));
      } finally {
        await custom.close();
      }
    });
  }
});

describe('attacks', () => {
  // Built-in-only SQL: the server's rejection must match the offline guard's verdict.
  const ATTACKS = [
    'SELECT pg_sleep(10)',
    'DELETE FROM orders',
    'SELECT 1; DROP TABLE orders',
    'WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d',
    'SELECT * INTO stolen FROM orders',
    "SELECT nextval('orders_id_seq')",
    "SELECT setval('orders_id_seq', 1000)",
    "SELECT set_config('transaction_read_only', 'off', false)",
    "SELECT set_config('work_mem', '1GB', false)",
    'SELECT * FROM orders FOR UPDATE',
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT query_to_xml('DELETE FROM orders', true, true, '')",
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity',
    "SELECT lo_from_bytea(0, 'x')",
    "SELECT pg_notify('c', 'x')",
    'COPY orders TO STDOUT',
    "COPY (SELECT 1) TO PROGRAM 'touch /tmp/pgsafe-pwned'",
    'UPDATE orders SET total = 0',
    'BEGIN; DELETE FROM orders; COMMIT',
    'SET ROLE pgsafe_reader',
    "DO $$ BEGIN DELETE FROM orders; END $$",
    'CREATE TABLE copied AS SELECT * FROM orders',
    'TRUNCATE orders',
    'SELECT * FROM pg_authid',
    "SELECT pg_advisory_lock(1)",
  ];

  for (const sql of ATTACKS) {
    test(`rejected with actionable text: ${sql}`, async () => {
      const verdict = offlineVerdict(sql);
      assert.equal(verdict.allowed, false, 'precondition: the offline guard rejects it');
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      const lines = text.split('\n');
      for (const line of rejectionLines(verdict)) assert.ok(lines.includes(line), `line ${JSON.stringify(line)} in:\n${text}`);
      assert.equal(lines[0], rejectionLines(verdict)[0]);
      // explain refuses it too
      errorResult(await callTool(session, 'explain', { sql }), `explain ${sql}`);
    });
  }

  test('the rejection text of pg_sleep has detail, hint and position', async () => {
    const text = errorResult(await callTool(session, 'query', { sql: 'SELECT pg_sleep(10)' }));
    assert.match(text, /^rejected \(\w+\): function "pg_sleep" is not allowed\n/);
    assert.match(text, /\ndetail: .+/);
    assert.match(text, /\nhint: .+/);
    assert.match(text, /\nposition: 8(\n|$)/);
  });

  test('nothing changed in the database (psql)', () => {
    assert.deepEqual(snapshot(), snapshotBefore);
    assert.equal(psql("SELECT count(*) FROM pg_class WHERE relname = 'orders' AND relnamespace = 'public'::regnamespace"), '1');
  });
});
