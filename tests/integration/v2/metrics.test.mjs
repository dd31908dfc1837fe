// `pgsafe serve --http`'s /metrics: gated by a bearer token when tokens are configured; after
// the v2 client calls tools, the Prometheus text parses (a small parser below) and its
// counters have moved: requests by method, tool calls by outcome, rejections by reason, the
// latency histogram, HTTP answers by status, the pool's gauges. Nothing secret is in it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { BIN, PG, TMP, after, before, connectHttp, describe, errorResult, okResult, startHttp, test } from './lib.mjs';

const tokens = path.join(TMP, 'metrics-tokens');
let server;
let token;
before(async () => {
  token = execFileSync(BIN, ['token', 'add', 'metrics-reader', '--tokens', tokens], { encoding: 'utf8' }).trim();
  server = await startHttp({ args: ['--tokens', tokens] });
  assert.ok(server.url, `pgsafe did not start:\n${server.stderr()}`);
});
after(async () => {
  if (server) assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.stderr());
});

/**
 * The Prometheus text exposition format (0.0.4), strictly enough to catch a broken line:
 * returns {samples: Map("name{labels}" -> number), types: Map(family -> type)}. Throws on a
 * line that is neither a comment nor `name{label="value",...} number`, on a sample whose
 * family has no TYPE line before it, and on a family whose samples are not contiguous.
 */
function parseExposition(text) {
  assert.ok(text.endsWith('\n'), 'the text ends with a newline');
  const samples = new Map();
  const types = new Map();
  const seen = [];
  const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\+Inf|-Inf|NaN))$/;
  for (const line of text.slice(0, -1).split('\n')) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        assert.match(comment[3], /^(counter|gauge|histogram|summary|untyped)$/, line);
        assert.ok(!types.has(comment[2]), `TYPE given twice: ${line}`);
        types.set(comment[2], comment[3]);
      }
      continue;
    }
    const match = sampleLine.exec(line);
    assert.ok(match, `not a sample line: ${JSON.stringify(line)}`);
    const family = [...types.keys()].find((name) => match[1] === name || (types.get(name) === 'histogram' && /^_(bucket|sum|count)$/.test(match[1].slice(name.length)) && match[1].startsWith(name)));
    assert.ok(family, `no TYPE before ${line}`);
    if (seen.at(-1) !== family) {
      assert.ok(!seen.includes(family), `the samples of ${family} are not together`);
      seen.push(family);
    }
    const key = match[1] + (match[2] || '');
    assert.ok(!samples.has(key), `sample given twice: ${key}`);
    samples.set(key, Number(match[3].replace('+Inf', 'Infinity')));
  }
  return { samples, types };
}

async function scrape(headers = { Authorization: `Bearer ${token}` }) {
  const response = await fetch(`${server.base}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

const value = (samples, key) => samples.get(key) ?? 0;

describe('/metrics', () => {
  test('without a token: 401, like /mcp', async () => {
    const answer = await scrape({});
    assert.equal(answer.status, 401);
    assert.equal(JSON.parse(answer.text).error.code, -32001);
    assert.equal((await scrape({ Authorization: 'Bearer wrong' })).status, 401);
  });

  test('a POST: 405', async () => {
    const response = await fetch(`${server.base}/metrics`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(response.status, 405);
  });

  test('tool calls move the counters, and the text parses', async () => {
    const before = parseExposition((await scrape()).text).samples;
    const session = await connectHttp(server.url, { Authorization: `Bearer ${token}` });
    try {
      okResult(await session.client.callTool({ name: 'query', arguments: { sql: 'SELECT 42 AS secret_column_marker' } }));
      assert.match(errorResult(await session.client.callTool({ name: 'query', arguments: { sql: 'DELETE FROM orders' } })), /^rejected/);
      okResult(await session.client.callTool({ name: 'list_tables', arguments: {} }));
    } finally {
      await session.close();
    }
    const answer = await scrape();
    assert.equal(answer.status, 200);
    assert.match(answer.type, /^text\/plain; version=0\.0\.4/);
    const { samples, types } = parseExposition(answer.text);
    assert.equal(types.get('pgsafe_requests_total'), 'counter');
    assert.equal(types.get('pgsafe_tool_call_duration_seconds'), 'histogram');
    const moved = (key) => value(samples, key) - value(before, key);
    assert.equal(moved('pgsafe_requests_total{method="tools/call"}'), 3);
    assert.equal(moved('pgsafe_tool_calls_total{tool="query",outcome="allowed"}'), 1);
    assert.equal(moved('pgsafe_tool_calls_total{tool="query",outcome="rejected"}'), 1);
    const rejections = [...samples.keys()].filter((key) => key.startsWith('pgsafe_rejections_total{'));
    assert.equal(rejections.reduce((sum, key) => sum + moved(key), 0), 1, answer.text);
    assert.equal(moved('pgsafe_tool_call_duration_seconds_count{tool="query"}'), 2);
    assert.equal(moved('pgsafe_tool_call_duration_seconds_bucket{tool="query",le="+Inf"}'), 2);
    assert.ok(value(samples, 'pgsafe_tool_call_duration_seconds_sum{tool="query"}') > 0);
    assert.ok(moved('pgsafe_http_responses_total{code="200"}') >= 4, answer.text); // 3 calls and a scrape
    assert.ok(value(samples, 'pgsafe_http_responses_total{code="401"}') >= 2); // the test above
    // Histogram buckets are cumulative and end at the count.
    const buckets = [...samples.entries()].filter(([key]) => key.startsWith('pgsafe_tool_call_duration_seconds_bucket{tool="query"'));
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], 'cumulative buckets');
    // The pool: configured size, connections up, nothing running between requests.
    assert.ok(value(samples, 'pgsafe_pool_size') >= 1);
    assert.ok(samples.get('pgsafe_pool_connections_open') >= 1);
    assert.equal(samples.get('pgsafe_pool_connections_busy'), 0);
    assert.equal(samples.get('pgsafe_pool_queue_length'), 0);
    assert.ok(samples.get('pgsafe_http_connections') >= 1);
    // No SQL, identity, token or connection detail.
    for (const secret of ['secret_column_marker', 'DELETE', 'metrics-reader', token, PG.host, PG.database, 'pgsafe_reader']) {
      assert.ok(!answer.text.includes(secret), `/metrics shows ${secret}`);
    }
  });
});
