// Resources (with pagination), resource templates, prompts, ping and logging.
import assert from 'node:assert/strict';

import { EmptyResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';

import {
  LOG_LEVELS, WRITER, WRITER_PASSWORD, after, assertCleanSession, before, callTool, connect, describe, okResult,
  pollUntil, psql, test,
} from './lib/harness.mjs';

let session;
before(async () => {
  session = await connect();
});
after(async () => {
  if (session) {
    assertCleanSession(session);
    await session.close();
  }
});

async function rejectsWith(promise, code, what) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof McpError, `${what}: an McpError expected, got ${error}`);
    assert.equal(error.code, code, `${what}: ${error.message}`);
    return true;
  });
}

describe('resources', () => {
  test('resources/list: postgres://schema and one URI per table, 100 per page, following nextCursor', async () => {
    const uris = [];
    const pages = [];
    let cursor;
    for (let page = 0; page < 20; page++) {
      const result = await session.client.listResources(cursor ? { cursor } : {});
      pages.push(result.resources.length);
      for (const resource of result.resources) {
        assert.equal(typeof resource.uri, 'string');
        assert.equal(typeof resource.name, 'string');
        uris.push(resource.uri);
      }
      cursor = result.nextCursor;
      if (cursor === undefined) break;
      assert.equal(typeof cursor, 'string');
      assert.equal(result.resources.length, 100, 'a page with a nextCursor is full');
    }
    assert.equal(cursor, undefined, 'the pages end');
    assert.ok(pages.length >= 2, `more than one page (pages: ${pages})`);
    assert.ok(pages.every((n) => n <= 100));
    assert.equal(new Set(uris).size, uris.length, 'no URI twice');
    assert.ok(uris.includes('postgres://schema'));
    assert.ok(uris.includes('postgres://table/public/orders'));
    assert.ok(uris.includes('postgres://table/public/events'));
    assert.ok(uris.includes('postgres://table/analytics/kpis'));
    assert.ok(uris.includes('postgres://table/archive/kpis'));
    for (let i = 1; i <= 120; i++) {
      const uri = `postgres://table/wide/t${String(i).padStart(3, '0')}`;
      assert.ok(uris.includes(uri), `${uri} listed`);
    }
    assert.ok(!uris.includes('postgres://table/public/events_2024'), 'partitions are hidden');
    assert.ok(!uris.some((u) => u.startsWith('postgres://table/secret/')), 'schemas the role may not use are hidden');
  });

  test('an invalid cursor is -32602', async () => {
    await rejectsWith(session.client.listResources({ cursor: 'not-a-cursor' }), -32602, 'invalid cursor');
  });

  test('resources/read postgres://schema: one line per table, with keys and references', async () => {
    const { contents } = await session.client.readResource({ uri: 'postgres://schema' });
    assert.equal(contents.length, 1);
    assert.equal(contents[0].uri, 'postgres://schema');
    const text = contents[0].text;
    assert.equal(typeof text, 'string');
    const lines = text.split('\n');
    const orders = lines.find((line) => line.startsWith('public.orders '));
    assert.ok(orders, `a line for public.orders in:\n${text.slice(0, 2000)}`);
    assert.match(orders, /^public\.orders \(table\)[^:]*: id bigint PK, customer_id integer/, 'never analyzed: no row estimate');
    const numbers = lines.find((line) => line.startsWith('public.numbers '));
    assert.match(numbers, /^public\.numbers \(table, ~50000 rows\): n integer PK, label text/);
    assert.equal(lines.filter((line) => /^wide\.t\d{3} /.test(line)).length, 120);
    assert.ok(lines.some((line) => line.startsWith('public.customer_totals (view')));
    assert.ok(text.split('\n').some((line) => line.startsWith('analytics.kpis (table')));
    assert.ok(!text.includes('events_2024'));
    assert.ok(!text.includes('secret.keys'));
  });

  test('postgres://schema writes references with -> and the comment last, as documented', async () => {
    const { contents } = await session.client.readResource({ uri: 'postgres://schema' });
    const orders = contents[0].text.split('\n').find((line) => line.startsWith('public.orders '));
    assert.match(orders, /customer_id integer[^,]* -> public\.customers\(id\)/);
    assert.match(orders, / -- one row per order$/);
  });

  test('resources/read postgres://table/public/orders describes the table as text', async () => {
    const { contents } = await session.client.readResource({ uri: 'postgres://table/public/orders' });
    assert.equal(contents.length, 1);
    assert.equal(contents[0].uri, 'postgres://table/public/orders');
    const text = contents[0].text;
    for (const word of ['orders', 'customer_id', 'total', 'numeric(12,2)', 'one row per order', 'customers', 'orders_customer_id_idx']) {
      assert.ok(text.includes(word), `mentions ${word}:\n${text}`);
    }
  });

  test('resources/read of an unknown or invisible URI is -32602', async () => {
    for (const uri of ['postgres://table/public/no_such_table', 'postgres://table/secret/keys', 'postgres://nothing', 'file:///etc/passwd']) {
      await rejectsWith(session.client.readResource({ uri }), -32602, uri);
    }
  });

  test('resources/templates/list has postgres://table/{schema}/{table}', async () => {
    const { resourceTemplates } = await session.client.listResourceTemplates();
    const template = resourceTemplates.find((t) => t.uriTemplate === 'postgres://table/{schema}/{table}');
    assert.ok(template, JSON.stringify(resourceTemplates));
    assert.equal(typeof template.name, 'string');
  });
});

describe('prompts', () => {
  test('prompts/list: analyst {topic?} and explore_table {table}', async () => {
    const { prompts } = await session.client.listPrompts();
    const byName = Object.fromEntries(prompts.map((p) => [p.name, p]));
    assert.deepEqual(Object.keys(byName).sort(), ['analyst', 'explore_table']);
    const topic = byName.analyst.arguments?.find((a) => a.name === 'topic');
    assert.ok(topic, 'analyst has a topic argument');
    assert.notEqual(topic.required, true);
    const table = byName.explore_table.arguments?.find((a) => a.name === 'table');
    assert.ok(table);
    assert.equal(table.required, true);
  });

  test('prompts/get analyst with a topic', async () => {
    const { messages } = await session.client.getPrompt({ name: 'analyst', arguments: { topic: 'customer churn in 2024' } });
    assert.ok(messages.length >= 1);
    const text = messages.map((m) => m.content?.text ?? '').join('\n');
    assert.ok(['user', 'assistant'].includes(messages[0].role));
    assert.ok(text.includes('customer churn in 2024'), text);
    assert.match(text, /aggregat/i);
    assert.match(text, /truncat/i);
    const plain = await session.client.getPrompt({ name: 'analyst' });
    assert.ok(plain.messages.length >= 1);
  });

  test('prompts/get explore_table', async () => {
    const { messages } = await session.client.getPrompt({ name: 'explore_table', arguments: { table: 'public.orders' } });
    const text = messages.map((m) => m.content?.text ?? '').join('\n');
    assert.ok(text.includes('public.orders'), text);
  });

  test('an unknown prompt or a missing required argument is -32602', async () => {
    await rejectsWith(session.client.getPrompt({ name: 'no_such_prompt' }), -32602, 'unknown prompt');
    await rejectsWith(session.client.getPrompt({ name: 'explore_table', arguments: {} }), -32602, 'missing table');
  });
});

describe('ping and logging', () => {
  test('ping', async () => {
    assert.deepEqual(await session.client.ping(), {});
  });

  test('logging/setLevel debug: log lines arrive as notifications/message; a higher level filters them', async () => {
    // Something that logs for sure: the database ends the server's connections (as
    // pgsafe_writer, which no other session of this file uses), and the pool notices.
    const terminate = () => psql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '${WRITER}'`);
    const logged = await connect({ user: WRITER });
    try {
      okResult(await callTool(logged, 'query', { sql: 'SELECT 1 AS one' }));
      await logged.client.setLoggingLevel('debug');
      assert.notEqual(terminate(), '0', 'precondition: the server had a connection');
      await pollUntil(async () => {
        const r = await callTool(logged, 'query', { sql: 'SELECT 1 AS one' });
        return !r.isError && logged.logs.length > 0;
      }, { timeoutMs: 15_000, what: 'a notifications/message after the connection was terminated' });
      for (const entry of logged.logs) {
        assert.ok(LOG_LEVELS.includes(entry.level), JSON.stringify(entry));
        assert.equal(entry.logger, 'pgsafe');
        assert.ok(entry.data !== undefined && entry.data !== null && entry.data !== '', JSON.stringify(entry));
      }
      assert.ok(!JSON.stringify(logged.logs).includes(WRITER_PASSWORD));
      // The same event under a higher level: nothing below it goes out.
      const lowest = Math.min(...logged.logs.map((e) => LOG_LEVELS.indexOf(e.level)));
      const higher = LOG_LEVELS[lowest + 1];
      await logged.client.setLoggingLevel(higher);
      const seen = logged.logs.length;
      assert.notEqual(terminate(), '0', 'precondition: the server had reconnected');
      await pollUntil(async () => !(await callTool(logged, 'query', { sql: 'SELECT 1 AS one' })).isError,
        { timeoutMs: 15_000, what: 'a query to work again' });
      await logged.client.ping();
      const below = logged.logs.slice(seen).filter((e) => LOG_LEVELS.indexOf(e.level) < LOG_LEVELS.indexOf(higher));
      assert.deepEqual(below, [], `nothing below ${higher} after setLevel ${higher}`);
      assertCleanSession(logged);
    } finally {
      await logged.close();
    }
  });

  test('no notifications/message before logging/setLevel', async () => {
    const quiet = await connect({ args: ['--log-level', 'debug'] });
    try {
      await callTool(quiet, 'query', { sql: 'SELECT 1 AS one' });
      await callTool(quiet, 'query', { sql: 'SELECT 1 / 0' });
      await quiet.client.ping();
      assert.deepEqual(quiet.logs, []);
      assert.ok(quiet.stderr().length > 0, '--log-level debug logs to stderr');
      assertCleanSession(quiet);
    } finally {
      await quiet.close();
    }
  });

  test('logging/setLevel with an unknown level is -32602', async () => {
    await rejectsWith(session.client.request({ method: 'logging/setLevel', params: { level: 'loud' } }, EmptyResultSchema), -32602, 'level loud');
  });
});
