// The live catalog's relation families and hidden-function hazards, and the guard options
// serve takes for the XPath family and constant-built values. A database of its own holds
// the objects (a partitioned table, an inheritance child, a composite type whose `=` is a
// VOLATILE plpgsql function that takes an advisory lock), so the other suites' fixture stays
// free of hazards; pgsafe connects as the superuser, the worst case.
import assert from 'node:assert/strict';

import {
  PG, after, assertCleanSession, before, callTool, connect, describe, errorResult, okResult, psql, query, test,
} from './lib/harness.mjs';

const DATABASE = 'pgsafe_catalog_it';
const HAZARDS = { ...PG, database: DATABASE };

const FIXTURE = `
CREATE TABLE events (id int, at date, note text) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY RANGE (at);
CREATE TABLE events_2025_h1 PARTITION OF events_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
INSERT INTO events VALUES (1, '2024-03-01', 'old'), (2, '2025-02-01', 'new');
CREATE TABLE people (id int, name text);
CREATE TABLE staff (salary int) INHERITS (people);
INSERT INTO people VALUES (1, 'ann');
INSERT INTO staff VALUES (2, 'bob', 5000);
CREATE SCHEMA other;
CREATE TABLE other.events_2024 (id int);
CREATE TYPE pair AS (a int, b int);
CREATE FUNCTION pair_eq(pair, pair) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_lock(4242);
  RETURN $1.a = $2.a AND $1.b = $2.b;
END $$;
CREATE OPERATOR = (LEFTARG = pair, RIGHTARG = pair, PROCEDURE = pair_eq);
CREATE FUNCTION pair_a(pair) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1.a';
CREATE TABLE pairs (id int, p pair);
INSERT INTO pairs VALUES (1, ROW(1, 2)), (2, ROW(3, 4));
CREATE TABLE plain (id int, label text);
INSERT INTO plain VALUES (1, 'a');
CREATE FUNCTION secret_match(text, text) RETURNS boolean LANGUAGE sql STABLE AS 'SELECT $1 = $2';
CREATE OPERATOR === (LEFTARG = text, RIGHTARG = text, FUNCTION = secret_match);
CREATE TYPE tag AS (v text);
CREATE FUNCTION tag_of(text) RETURNS tag LANGUAGE sql IMMUTABLE AS 'SELECT ROW($1)::tag';
CREATE CAST (text AS tag) WITH FUNCTION tag_of(text);
CREATE FUNCTION tag_length(tag) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT length($1.v)';
CREATE CAST (tag AS integer) WITH FUNCTION tag_length(tag);
CREATE TYPE score AS (v int);
CREATE FUNCTION score_eq(score, score) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1.v = $2.v';
CREATE FUNCTION score_lt(score, score) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1.v < $2.v';
CREATE FUNCTION score_le(score, score) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1.v <= $2.v';
CREATE FUNCTION score_gt(score, score) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1.v > $2.v';
CREATE FUNCTION score_ge(score, score) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1.v >= $2.v';
CREATE FUNCTION score_cmp(score, score) RETURNS int LANGUAGE sql IMMUTABLE
  AS 'SELECT CASE WHEN $1.v < $2.v THEN -1 WHEN $1.v > $2.v THEN 1 ELSE 0 END';
CREATE OPERATOR = (LEFTARG = score, RIGHTARG = score, FUNCTION = score_eq, COMMUTATOR = =);
CREATE OPERATOR < (LEFTARG = score, RIGHTARG = score, FUNCTION = score_lt);
CREATE OPERATOR <= (LEFTARG = score, RIGHTARG = score, FUNCTION = score_le);
CREATE OPERATOR > (LEFTARG = score, RIGHTARG = score, FUNCTION = score_gt);
CREATE OPERATOR >= (LEFTARG = score, RIGHTARG = score, FUNCTION = score_ge);
CREATE OPERATOR CLASS score_ops DEFAULT FOR TYPE score USING btree AS
  OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 score_cmp(score, score);
CREATE TABLE scores (id int, s score);
INSERT INTO scores VALUES (1, ROW(1)), (2, ROW(2)), (3, ROW(1));
CREATE FUNCTION score_label(score) RETURNS text LANGUAGE sql STABLE AS 'SELECT ''#'' || $1.v';
CREATE VIEW score_labels AS SELECT id, score_label(s) AS label FROM scores;
CREATE FUNCTION is_positive(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
CREATE DOMAIN positive AS int CHECK (is_positive(VALUE));
CREATE TYPE holder AS (n positive);
CREATE VIEW locker AS SELECT pg_try_advisory_lock(77) AS got;
CREATE VIEW over_labels AS SELECT label FROM score_labels;
CREATE FUNCTION label_default(s text DEFAULT score_label(ROW(7)::score)) RETURNS text LANGUAGE sql STABLE
  AS 'SELECT $1';
CREATE FUNCTION take_lock() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_lock(4243);
  RETURN true;
END $$;
CREATE VIEW locking_view AS SELECT id, take_lock() AS locked FROM plain;
CREATE VIEW over_locking_view AS SELECT id FROM locking_view;
CREATE VIEW counting_view AS SELECT count(*) AS n FROM over_locking_view;
CREATE FUNCTION defaulted(flag boolean DEFAULT take_lock()) RETURNS int LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN 1;
END $$;
CREATE VIEW defaulted_view AS SELECT defaulted() AS v;
CREATE FUNCTION atomic_lock() RETURNS boolean LANGUAGE sql STABLE BEGIN ATOMIC SELECT take_lock(); END;
CREATE FUNCTION pairs_of() RETURNS TABLE (id int, p pair) LANGUAGE sql STABLE AS 'SELECT id, p FROM pairs';
CREATE FUNCTION one_pair(OUT p pair, OUT n int) LANGUAGE sql STABLE AS 'SELECT ROW(1, 2)::pair, 1';
CREATE TABLE guarded (id int);
ALTER TABLE guarded ENABLE ROW LEVEL SECURITY;
CREATE POLICY guarded_read ON guarded FOR SELECT USING (take_lock());
CREATE VIEW guarded_view AS SELECT id FROM guarded;
CREATE VIEW drawing AS SELECT id, random() AS r FROM plain;
CREATE TABLE walled (id int);
ALTER TABLE walled ENABLE ROW LEVEL SECURITY;
CREATE POLICY walled_read ON walled FOR SELECT USING (pg_advisory_lock(4245) IS NOT NULL);
`;

/** Session-level advisory locks held by any backend (pair_eq leaves one behind when it runs). */
function advisoryLocks() {
  return Number(psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", { database: DATABASE }));
}

function rejected(text, reason, sql) {
  assert.match(text, new RegExp(`^rejected \\(${reason}\\): `), `${sql}: ${text}`);
}

const sessions = [];
async function open(args = [], env = {}) {
  const session = await connect({ user: PG.superuser, pg: HAZARDS, args, env });
  sessions.push(session);
  return session;
}

before(() => {
  psql(`DROP DATABASE IF EXISTS ${DATABASE}`, { database: 'postgres' });
  psql(`CREATE DATABASE ${DATABASE}`, { database: 'postgres' });
  psql(FIXTURE, { database: DATABASE });
});
after(async () => {
  for (const session of sessions) {
    assertCleanSession(session);
    await session.close();
  }
  psql(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`, { database: 'postgres' });
});

describe('relation families', () => {
  test('a partition or child of a denied relation is denied, at every level and in every spelling', async () => {
    const session = await open(['--deny-relation', 'events', '--deny-relation', 'public.people']);
    for (const [sql, parent] of [
      ['SELECT * FROM events_2024', 'events'],
      ['SELECT * FROM public.events_2025', 'events'],
      ['SELECT * FROM events_2025_h1', 'events'],
      ['SELECT count(*) FROM (SELECT id FROM events_2025_h1) s', 'events'],
      ['SELECT name FROM staff', 'people'],
      ['SELECT name FROM ONLY staff', 'people'],
    ]) {
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      rejected(text, 'relation_denied', sql);
      assert.match(text, new RegExp(`inherits from "public\\.${parent}"`), sql);
    }
    // The other schema's table of the same name is no partition: allowed.
    assert.deepEqual((await query(session, 'SELECT count(*) FROM other.events_2024')).rows, [[0]]);
    assert.deepEqual((await query(session, 'SELECT count(*) FROM plain')).rows, [[1]]);
  });

  test('a parent whose scan includes a denied child is denied unless read with ONLY', async () => {
    const session = await open(['--deny-relation', 'events_2025_h1', '--deny-relation', 'staff']);
    for (const sql of ['SELECT * FROM events', 'SELECT * FROM events_2025', 'SELECT name FROM people']) {
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      rejected(text, 'relation_denied', sql);
      assert.match(text, /includes the rows of "public\.(events_2025_h1|staff)"/, sql);
    }
    assert.deepEqual((await query(session, 'SELECT name FROM ONLY people')).rows, [['ann']]);
    assert.deepEqual((await query(session, 'SELECT id FROM events_2024')).rows, [[1]]);
  });

  test('without a denial the families are readable', async () => {
    const session = await open();
    assert.deepEqual((await query(session, 'SELECT id FROM events ORDER BY id')).rows, [[1], [2]]);
    assert.deepEqual((await query(session, 'SELECT name FROM people ORDER BY id')).rows, [['ann'], ['bob']]);
  });
});

describe('hidden-function hazards', () => {
  test('CASE p WHEN p and JOIN USING (p) never reach the volatile = operator', async () => {
    const session = await open();
    for (const sql of [
      'SELECT CASE p WHEN p THEN 1 END FROM pairs',
      'SELECT a.id FROM pairs a JOIN pairs b USING (p)',
      'SELECT DISTINCT p FROM pairs',
      'SELECT id FROM pairs WHERE p IN (SELECT p FROM pairs)',
      'SELECT id FROM pairs',
      "SELECT NULL::pair IS NULL",
      'SELECT pair_a(NULL)',
    ]) {
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      rejected(text, 'hidden_function', sql);
      assert.match(text, /pair_eq/, `${sql}: the reason names the function`);
    }
    assert.equal(advisoryLocks(), 0, 'pair_eq never ran');
    // check_sql refuses the same way without running anything.
    const checked = okResult(await callTool(session, 'check_sql', { sql: 'SELECT CASE p WHEN p THEN 1 END FROM pairs' }));
    assert.equal(checked.allowed, false);
    assert.equal(checked.reason, 'hidden_function');
    // Objects without a hazard stay allowed.
    assert.deepEqual((await query(session, 'SELECT label FROM plain')).rows, [['a']]);
  });

  test('views over hazards, defaults and SQL-standard bodies that call volatile functions, OUT columns', async () => {
    const session = await open();
    for (const [sql, named] of [
      ['SELECT id FROM over_locking_view', /view locking_view.*take_lock/],
      ['SELECT n FROM counting_view', /view over_locking_view.*view locking_view.*take_lock/],
      ['SELECT v FROM defaulted_view', /function defaulted\(boolean\).*take_lock/],
      ['SELECT id FROM guarded_view', /table guarded.*policy guarded_read.*take_lock/],
      // Built-in volatile functions, which pg_depend does not record: read from the stored trees.
      ['SELECT r FROM drawing', /definition calls volatile function random\(\)/],
      ['SELECT id FROM walled', /policy walled_read calls volatile function pg_advisory_lock\(bigint\)/],
      ['SELECT defaulted()', /take_lock/],
      ['SELECT atomic_lock()', /take_lock/],
      ['SELECT DISTINCT p FROM pairs_of()', /type pair.*pair_eq/],
      ['SELECT CASE p WHEN p THEN 1 END FROM one_pair()', /type pair.*pair_eq/],
    ]) {
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      rejected(text, 'hidden_function', sql);
      assert.match(text, named, `${sql}: the reason names the way to the function`);
    }
    assert.equal(advisoryLocks(), 0, 'take_lock and pair_eq never ran');
    // A view over a table that has no hazard stays allowed.
    assert.deepEqual((await query(session, 'SELECT label FROM plain')).rows, [['a']]);
  });

  test('the posture names the hazards on stderr and in the instructions', async () => {
    const session = await open();
    const instructions = session.client.getInstructions() ?? '';
    assert.match(instructions, /Warning: \d+ objects of the database can run a volatile function inside a query/);
    assert.match(instructions, /pair_eq|take_lock/);
    assert.match(instructions, /hidden_function/);
    await query(session, 'SELECT 1 AS one');
    assert.match(session.stderr(), /objects of the database can run a volatile function .*(pair_eq|take_lock)/);
  });

  test('a database without hazards reports none', async () => {
    const session = await connect({ user: PG.superuser });
    sessions.push(session);
    assert.doesNotMatch(session.client.getInstructions() ?? '', /volatile function inside a query/);
  });
});

describe('--deny-function through operators and casts', () => {
  const OPERATOR = "SELECT 'a' === 'a' AS m";
  const TO_TAG = "SELECT ('abc'::text::tag).v AS v";
  const TO_INT = "SELECT ('abc'::text::tag)::integer AS n";

  test('a user operator and user casts run when their functions are not denied', async () => {
    const session = await open();
    assert.deepEqual((await query(session, OPERATOR)).rows, [[true]]);
    assert.deepEqual((await query(session, TO_TAG)).rows, [['abc']]);
    assert.deepEqual((await query(session, TO_INT)).rows, [[3]]);
  });

  test('denying the function refuses its operator, by bare or qualified name, naming both', async () => {
    for (const deny of ['secret_match', 'public.secret_match']) {
      const session = await open(['--deny-function', deny]);
      for (const sql of [OPERATOR, "SELECT 1 AS one WHERE 'a' OPERATOR(public.===) 'b'",
        "SELECT label FROM plain WHERE label === ANY (ARRAY['a'])"]) {
        const text = errorResult(await callTool(session, 'query', { sql }), sql);
        rejected(text, 'function_denied', sql);
        assert.match(text, /operator (public\.)?=== calls function "public\.secret_match", which is not allowed/, text);
        assert.match(text, /\nhint: write the query without operator/, text);
      }
      assert.deepEqual((await query(session, "SELECT 'a' <> 'b' AS m")).rows, [[true]]);
    }
  });

  test('denying the function refuses the casts that call it, into user and built-in types', async () => {
    const toTag = await open(['--deny-function', 'tag_of']);
    const text = errorResult(await callTool(toTag, 'query', { sql: TO_TAG }), TO_TAG);
    rejected(text, 'function_denied', TO_TAG);
    assert.match(text, /a cast to type "tag" can call function "public\.tag_of", which is not allowed/, text);
    const toInt = await open(['--deny-function', 'public.tag_length']);
    const intText = errorResult(await callTool(toInt, 'query', { sql: TO_INT }), TO_INT);
    rejected(intText, 'function_denied', TO_INT);
    assert.match(intText, /a cast to type "int4" can call function "public\.tag_length"/, intText);
    assert.deepEqual((await query(toInt, TO_TAG)).rows, [['abc']]);
  });

  test('a built-in function is denied through its operator too', async () => {
    const session = await open(['--deny-function', 'textcat']);
    const sql = "SELECT 'a' || 'b' AS s";
    const text = errorResult(await callTool(session, 'query', { sql }), sql);
    rejected(text, 'function_denied', sql);
    assert.match(text, /operator \|\| calls function "pg_catalog\.textcat"/, text);
    assert.deepEqual((await query(session, "SELECT concat('a', 'b') AS s")).rows, [['ab']]);
  });
});

describe('--deny-function over what PostgreSQL runs without a name', () => {
  // Each reaches score_eq, score_lt or score_cmp (score's operators and default btree
  // operator class) without naming them, or score_label (a view) or is_positive (a domain).
  const IMPLICIT = [
    'SELECT CASE s WHEN s THEN 1 END AS c FROM scores',
    'SELECT a.id FROM scores a JOIN scores b USING (s)',
    'SELECT a.id FROM scores a NATURAL JOIN scores b',
    'SELECT id FROM scores WHERE s IN (SELECT s FROM scores)',
    'SELECT DISTINCT s FROM scores',
    'SELECT s, count(*) AS n FROM scores GROUP BY s',
    'SELECT id FROM scores ORDER BY s',
    'SELECT s FROM scores UNION SELECT s FROM scores',
    'SELECT s FROM scores EXCEPT SELECT s FROM scores WHERE id > 2',
    // A named = would meet pair's volatile one here: row and array comparisons with <=, >=.
    'SELECT id FROM scores WHERE ROW(s, id) >= ROW(s, id)',
    'SELECT ROW(1)::score <= ANY (ARRAY[ROW(1)::score]) AS m',
  ];
  const VIEW = 'SELECT label FROM score_labels';
  const DOMAIN = `SELECT (jsonb_populate_record(NULL::holder, '{"n": 5}')).n AS n`;

  test('without the flag every such query runs', async () => {
    const session = await open();
    for (const sql of [...IMPLICIT, VIEW, DOMAIN]) {
      const result = await query(session, sql);
      assert.ok(result.rows.length > 0, `${sql}: rows`);
    }
    assert.deepEqual((await query(session, 'SELECT id FROM scores ORDER BY s, id')).rows, [[1], [3], [2]]);
  });

  test('denying the function refuses each of them, naming the function, the object and what to do', async () => {
    for (const deny of ['score_eq', 'public.score_cmp', 'score_lt']) {
      const session = await open(['--deny-function', deny]);
      const name = deny.replace('public.', '');
      for (const sql of IMPLICIT) {
        const text = errorResult(await callTool(session, 'query', { sql }), sql);
        rejected(text, 'function_denied', sql);
        assert.match(text, new RegExp(`function "public\\.${name}"`), `${sql}: ${text}`);
      }
      const text = errorResult(await callTool(session, 'query', { sql: IMPLICIT[6] }), IMPLICIT[6]);
      assert.match(text, new RegExp(`relation "scores" can run function "public\\.${name}", which is not allowed, ` +
        'without naming it'), text);
      assert.match(text, /column s has type score, where /, text);
      assert.match(text, /\nhint: leave relation "scores" out of the query/, text);
      // What does not reach the type stays allowed.
      assert.deepEqual((await query(session, 'SELECT label FROM plain')).rows, [['a']]);
    }
  });

  test('a view and a domain CHECK reach the functions they call', async () => {
    const session = await open(['--deny-function', 'score_label', '--deny-function', 'is_positive']);
    const viewText = errorResult(await callTool(session, 'query', { sql: VIEW }), VIEW);
    rejected(viewText, 'function_denied', VIEW);
    assert.match(viewText, /relation "score_labels" can run function "public\.score_label"/, viewText);
    assert.match(viewText, /its definition calls score_label\(score\)/, viewText);
    const domainText = errorResult(await callTool(session, 'query', { sql: DOMAIN }), DOMAIN);
    rejected(domainText, 'function_denied', DOMAIN);
    assert.match(domainText, /type "holder" can run function "public\.is_positive"/, domainText);
    for (const [sql, object] of [['SELECT label FROM over_labels', 'relation "over_labels"'],
      ['SELECT label_default() AS l', 'function "label_default"']]) {
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      rejected(text, 'function_denied', sql);
      assert.match(text, new RegExp(`${object} can run function "public\\.score_label"`), text);
    }
    assert.deepEqual((await query(session, 'SELECT id FROM scores ORDER BY id')).rows, [[1], [2], [3]]);
  });

  test('the built-in deny list reaches a view that calls a denied built-in', async () => {
    const session = await open();
    const sql = 'SELECT got FROM locker';
    const text = errorResult(await callTool(session, 'query', { sql }), sql);
    // pg_try_advisory_lock is volatile too: the hazard check, which reads the view's stored
    // tree, refuses it first; either refusal names the function.
    rejected(text, '(?:function_denied|hidden_function)', sql);
    assert.match(text, /relation "locker" can run .*pg_try_advisory_lock/s, text);
    assert.equal(advisoryLocks(), 0, 'the view never ran');
  });

  test('a denied built-in that PostgreSQL calls implicitly refuses every query', async () => {
    for (const deny of ['texteq', 'int4out', 'pg_catalog.bttextcmp']) {
      const session = await open(['--deny-function', deny]);
      const sql = 'SELECT 1 AS one';
      const text = errorResult(await callTool(session, 'query', { sql }), sql);
      rejected(text, 'function_denied', sql);
      assert.match(text, /which any query may run without naming it/, text);
      assert.match(text, new RegExp(`\nhint: the operator must remove ${deny} from --deny-function`), text);
    }
  });
});

describe('guard options', () => {
  const XPATH = "SELECT xpath('/a/text()', '<a>x</a>'::xml)::text AS t";

  test('the XPath family is refused by default', async () => {
    const session = await open();
    for (const sql of [XPATH, "SELECT xmlexists('/a' PASSING ('<a/>'::xml))",
      "SELECT * FROM XMLTABLE('/a' PASSING ('<a>1</a>'::xml) COLUMNS v int PATH '.')"]) {
      rejected(errorResult(await callTool(session, 'query', { sql }), sql), 'uninterruptible', sql);
    }
  });

  test('--allow-xpath and PGSAFE_ALLOW_XPATH let it through', async () => {
    const flagged = await open(['--allow-xpath']);
    assert.deepEqual((await query(flagged, XPATH)).rows, [['{x}']]);
    const variable = await open([], { PGSAFE_ALLOW_XPATH: '1' });
    assert.deepEqual((await query(variable, "SELECT xmlexists('/a' PASSING ('<a/>'::xml)) AS e")).rows, [[true]]);
  });

  test('--max-value-bytes bounds values built from constants', async () => {
    const sql = "SELECT length(repeat('x', 5000)) AS n";
    const defaults = await open();
    assert.deepEqual((await query(defaults, sql)).rows, [[5000]]);
    const tight = await open(['--max-value-bytes', '2048']);
    rejected(errorResult(await callTool(tight, 'query', { sql }), sql), 'value_too_large', sql);
    const variable = await open([], { PGSAFE_MAX_VALUE_BYTES: '2048' });
    rejected(errorResult(await callTool(variable, 'query', { sql }), sql), 'value_too_large', sql);
  });
});
