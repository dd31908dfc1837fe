// The server's version decides the built-ins: `pgsafe serve` reads server_version at its
// first connection and judges built-in functions by that major's table, so what the server
// has is allowed and what a later major added is function_unknown with a detail that names
// both; a syntax error on a server newer than the PostgreSQL 15 grammar says so. Runs against
// whichever server the suite was started with (PGSAFE_PG_VERSION).
import assert from 'node:assert/strict';

import { after, before, callTool, connect, describe, offlineVerdict, okResult, psqlValue, query, test } from './lib/harness.mjs';

let session;
let major;

before(async () => {
  major = Number(psqlValue('SHOW server_version_num')) / 10000 | 0;
  session = await connect();
  // The first query waits for the connection, after which the posture is known.
  await query(session, 'SELECT 1');
});
after(async () => {
  if (session) await session.close();
});

// Each query uses functions that the major in `since` added.
const added = [
  { since: 16, sql: "SELECT any_value(v), date_add(timestamptz '2024-01-31 10:00+00', interval '1 day', 'UTC') FROM (VALUES (1)) t(v)" },
  { since: 17, sql: 'SELECT to_bin(10), to_oct(8)' },
  { since: 18, sql: 'SELECT uuid_extract_version(uuidv7()), array_reverse(ARRAY[1, 2])' },
];

describe('server version', () => {
  test('functions the server has are allowed and run; later ones are unknown, naming both versions', async () => {
    for (const { since, sql } of added) {
      const checked = okResult(await callTool(session, 'check_sql', { sql }), sql);
      if (major >= since) {
        assert.equal(checked.allowed, true, `${sql} on ${major}: ${checked.detail}`);
        const result = await query(session, sql);
        assert.equal(result.rows.length, 1, sql);
      } else {
        assert.equal(checked.allowed, false, `${sql} on ${major}`);
        assert.equal(checked.reason, 'function_unknown');
        assert.match(checked.detail, new RegExp(`PostgreSQL ${major} built-in`));
        assert.match(checked.detail, /PostgreSQL 1[6-9] added it/);
        assert.doesNotMatch(checked.hint, /YEAR|strftime/);
      }
      // The live verdict is the offline one for the same version.
      const offline = offlineVerdict(sql, ['--server-version', String(major)]);
      assert.equal(offline.allowed, checked.allowed, sql);
    }
  });

  test('a syntax error says what the PostgreSQL 15 grammar does not understand on a newer server', async () => {
    const sql = "SELECT JSON_OBJECT('a' VALUE 1 RETURNING jsonb)";
    const checked = okResult(await callTool(session, 'check_sql', { sql }), sql);
    assert.equal(checked.reason, 'syntax_error');
    if (major > 15) {
      assert.match(checked.detail, new RegExp(`pgsafe parses PostgreSQL 15 syntax; this server is ${major}`));
      assert.match(checked.hint, /jsonb_build_object/);
    } else {
      assert.equal(checked.detail ?? null, null);
    }
  });

  test('the dangerous functions newer versions added are denied', async () => {
    for (const name of ['pg_restore_relation_stats', 'pg_clear_attribute_stats', 'pg_get_loaded_modules', 'pg_sync_replication_slots']) {
      const checked = okResult(await callTool(session, 'check_sql', { sql: `SELECT ${name}()` }), name);
      assert.equal(checked.reason, 'function_denied', name);
    }
  });
});
