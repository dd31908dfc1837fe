// How several databases are configured: --database NAME=DSN (repeated), PGSAFE_DATABASES,
// --database-config FILE and PGSAFE_DATABASE_CONFIG; one database alone; no database (the
// single-DSN form, unchanged); and the configurations pgsafe must refuse with exit status 2.
import assert from 'node:assert/strict';

import {
  TOOL_NAMES, assertCleanSession, callTool, connect, describe, errorResult, okResult, test,
} from '../lib/harness.mjs';
import {
  DSN, NAMES, SALES, SUPPORT, assertEachAnswers, databaseArgs, refusedConfiguration, writeConfig,
} from './lib.mjs';

/** Connects with args and env, checks both databases answer and the tools' enum, closes. */
async function assertServesBoth(options, names = NAMES) {
  const session = await connect({ pgenv: false, ...options });
  try {
    const { tools } = await session.client.listTools();
    const query = tools.find((t) => t.name === 'query');
    assert.deepEqual(query.inputSchema.properties.database?.enum, names);
    await assertEachAnswers(session, names.map((name) => (name === 'sales' ? SALES : SUPPORT)));
    assertCleanSession(session);
  } finally {
    await session.close();
  }
}

describe('configuring several databases', () => {
  test('--database NAME=DSN, repeated: in the order given', async () => {
    await assertServesBoth({ args: databaseArgs() });
    await assertServesBoth({ args: databaseArgs(['support', 'sales']) }, ['support', 'sales']);
  });

  test('--database NAME=DSN beside the form NAME = DSN with an = inside the DSN', async () => {
    // The first = ends the name; a keyword DSN has more of them.
    await assertServesBoth({ args: ['--database', `sales=${DSN.sales}`, '--database', `support=${DSN.support}`] });
  });

  test('PGSAFE_DATABASES: a comma-separated NAME=DSN list', async () => {
    await assertServesBoth({ env: { PGSAFE_DATABASES: `sales=${DSN.sales},support=${DSN.support}` } });
  });

  test('PGSAFE_DATABASE: the singular variable, one database', async () => {
    const session = await connect({ pgenv: false, env: { PGSAFE_DATABASE: `support=${DSN.support}` } });
    try {
      const { tools } = await session.client.listTools();
      assert.deepEqual(tools.find((t) => t.name === 'query').inputSchema.properties.database?.enum, ['support']);
      await assertEachAnswers(session, [SUPPORT]);
    } finally {
      await session.close();
    }
  });

  test('--database-config FILE: names to DSN strings or to objects with a dsn', async () => {
    const file = writeConfig({ sales: { dsn: DSN.sales }, support: DSN.support });
    await assertServesBoth({ args: ['--database-config', file] });
  });

  test('PGSAFE_DATABASE_CONFIG: the same file through the environment', async () => {
    const file = writeConfig({ sales: DSN.sales, support: { dsn: DSN.support } });
    await assertServesBoth({ env: { PGSAFE_DATABASE_CONFIG: file } });
  });

  test('DATABASE_URL is ignored when databases are configured', async () => {
    await assertServesBoth({ args: databaseArgs(), env: { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/nowhere' } });
  });

  test('one database: the database argument is optional and defaults to it', async () => {
    const session = await connect({ pgenv: false, args: databaseArgs(['support']) });
    try {
      const { tools } = await session.client.listTools();
      for (const name of TOOL_NAMES) {
        const schema = tools.find((t) => t.name === name).inputSchema;
        assert.deepEqual(schema.properties.database?.enum, ['support'], name);
        assert.ok(!schema.required?.includes('database'), `${name}: database is optional with one database`);
      }
      const where = "SELECT current_setting('server_version_num')::integer / 10000 AS major, (SELECT name FROM origin) AS origin";
      assert.deepEqual(okResult(await callTool(session, 'query', { sql: where })).rows, [[18, 'support']]);
      assert.deepEqual(okResult(await callTool(session, 'query', { sql: where, database: 'support' })).rows, [[18, 'support']]);
      assert.match(errorResult(await callTool(session, 'query', { sql: where, database: 'sales' })), /support/);
      const { resourceTemplates } = await session.client.listResourceTemplates();
      assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ['postgres://support/table/{schema}/{table}']);
      assertCleanSession(session);
    } finally {
      await session.close();
    }
  });

  test('no database configured: the single-DSN form, unchanged (no database argument, postgres://schema)', async () => {
    const session = await connect({ pgenv: false, args: ['--dsn', DSN.sales] });
    try {
      const { tools } = await session.client.listTools();
      for (const name of TOOL_NAMES) {
        assert.equal(tools.find((t) => t.name === name).inputSchema.properties?.database, undefined, name);
      }
      assert.ok(!tools.some((t) => t.name === 'list_databases'), 'list_databases only with databases configured');
      const { resourceTemplates } = await session.client.listResourceTemplates();
      assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ['postgres://table/{schema}/{table}']);
      const { contents } = await session.client.readResource({ uri: 'postgres://schema' });
      assert.ok(contents[0].text.includes('public.orders'));
      assert.deepEqual(okResult(await callTool(session, 'query', { sql: 'SELECT name FROM origin' })).rows, [['sales']]);
      assertCleanSession(session);
    } finally {
      await session.close();
    }
  });
});

describe('configurations refused with exit status 2', () => {
  test('the same name twice: on the command line, in PGSAFE_DATABASES, across --database and the file', () => {
    for (const [args, env] of [
      [['--database', `sales=${DSN.sales}`, '--database', `sales=${DSN.support}`], {}],
      [[], { PGSAFE_DATABASES: `sales=${DSN.sales},sales=${DSN.support}` }],
      [['--database', `sales=${DSN.sales}`, '--database-config', writeConfig({ sales: DSN.support })], {}],
      [['--database-config', writeConfig({ sales: DSN.support })], { PGSAFE_DATABASES: `sales=${DSN.sales}` }],
    ]) {
      const stderr = refusedConfiguration(args, env);
      assert.match(stderr, /sales/, stderr);
      assert.match(stderr, /duplicate|twice|more than once|already/i, stderr);
    }
  });

  test('the same name twice as keys of the configuration file (JSON keeps only the last)', () => {
    const file = writeConfig(`{"sales": ${JSON.stringify(DSN.sales)}, "sales": ${JSON.stringify(DSN.support)}}`);
    const stderr = refusedConfiguration(['--database-config', file]);
    assert.match(stderr, /the same name twice/, stderr);
  });

  test('a bad NAME: empty, not starting with a letter, a character outside [A-Za-z0-9_-], longer than 63', () => {
    for (const name of ['', '1sales', '_sales', '-sales', 'sa les', 'sales.eu', 'sälës', 'sales/x', 'a'.repeat(64)]) {
      const stderr = refusedConfiguration(['--database', `${name}=${DSN.sales}`]);
      assert.match(stderr, /name/i, `${JSON.stringify(name)}: ${stderr}`);
    }
  });

  test('the longest and oddest names allowed serve: 63 characters, digits, _ and -', async () => {
    const longest = `s${'x'.repeat(61)}9`;
    const session = await connect({ pgenv: false, args: ['--database', `${longest}=${DSN.sales}`, '--database', `Support_2-b=${DSN.support}`] });
    try {
      const where = "SELECT (SELECT name FROM origin) AS origin";
      assert.deepEqual(okResult(await callTool(session, 'query', { sql: where, database: longest })).rows, [['sales']]);
      assert.deepEqual(okResult(await callTool(session, 'query', { sql: where, database: 'Support_2-b' })).rows, [['support']]);
      const { contents } = await session.client.readResource({ uri: 'postgres://Support_2-b/schema' });
      assert.ok(contents[0].text.includes('public.tickets'));
      assertCleanSession(session);
    } finally {
      await session.close();
    }
  });

  test('--database without = or without a DSN', () => {
    for (const value of ['sales', 'sales=']) {
      const stderr = refusedConfiguration(['--database', value]);
      assert.match(stderr, /--database/, `${value}: ${stderr}`);
    }
  });

  test('--dsn or PGSAFE_DSN together with databases', () => {
    for (const [args, env] of [
      [['--dsn', DSN.sales, ...databaseArgs()], {}],
      [databaseArgs(), { PGSAFE_DSN: DSN.sales }],
      [['--dsn', DSN.sales], { PGSAFE_DATABASES: `support=${DSN.support}` }],
      [['--dsn', DSN.sales, '--database-config', writeConfig({ support: DSN.support })], {}],
    ]) {
      const stderr = refusedConfiguration(args, env);
      assert.match(stderr, /--dsn|PGSAFE_DSN/, stderr);
      assert.match(stderr, /--database|PGSAFE_DATABASE/, stderr);
    }
  });

  test('a server-wide-only option inside --database-config is refused, naming it and the database', () => {
    for (const [option, value] of [['http', '127.0.0.1:0'], ['tokens', '/dev/null'], ['audit-log', '/tmp/x.jsonl'],
      ['log-level', 'debug'], ['max-message-bytes', 100000], ['max-in-flight', 4], ['no-fence', true],
      ['http-origin', 'https://example.org'], ['oauth-issuer', 'https://example.org'], ['audit-sql', true]]) {
      const file = writeConfig({ sales: { dsn: DSN.sales, [option]: value }, support: DSN.support });
      const stderr = refusedConfiguration(['--database-config', file]);
      assert.ok(stderr.includes(option), `${option}: the message names the option: ${stderr}`);
      assert.match(stderr, /sales/, `${option}: the message names the database: ${stderr}`);
    }
  });

  test('a malformed, empty or missing configuration file names the file', () => {
    for (const [what, text] of [['truncated JSON', '{"sales": "host=/tmp"'], ['not an object', '["sales"]'],
      ['empty', ''], ['trailing garbage', `{"sales": "${DSN.sales}"} x`], ['a number as the DSN', '{"sales": 5}']]) {
      const file = writeConfig(text);
      const stderr = refusedConfiguration(['--database-config', file]);
      assert.ok(stderr.includes(file), `${what}: the message names ${file}: ${stderr}`);
    }
    const stderr = refusedConfiguration(['--database-config', '/nonexistent/databases.json']);
    assert.ok(stderr.includes('/nonexistent/databases.json'), stderr);
  });

  test('inside a database\'s object: no dsn, an unknown key, a bad value, a bad name', () => {
    for (const [what, config, expected] of [
      ['no dsn', { sales: { 'max-rows': 5 } }, /dsn/],
      ['an unknown key', { sales: { dsn: DSN.sales, 'max-rowz': 5 } }, /max-rowz/],
      ['a bad max-rows', { sales: { dsn: DSN.sales, 'max-rows': 'many' } }, /max-rows/],
      ['a negative max-rows', { sales: { dsn: DSN.sales, 'max-rows': -1 } }, /max-rows/],
      ['a bad name', { 'bad name': DSN.sales }, /bad name/],
    ]) {
      const stderr = refusedConfiguration(['--database-config', writeConfig(config)]);
      assert.match(stderr, expected, `${what}: ${stderr}`);
    }
  });
});
