// The official MCP conformance suite (@modelcontextprotocol/conformance, pinned) against
// `pgsafe serve --http`. Its server scenarios drive the 2025-era protocol; the ones that call
// the suite's own fixtures (test_* tools, test:// resources, test_* prompts, completions,
// subscriptions, sampling, elicitation, progress) do not apply to pgsafe, which has its own
// tools, and are listed in conformance-not-applicable.yaml with why. Every other scenario must
// pass.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { TMP, after, before, startHttp, test } from './lib.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const expected = path.join(here, 'conformance-not-applicable.yaml');

let server;
before(async () => {
  server = await startHttp();
  assert.ok(server.url, server.stderr());
});
after(async () => {
  await server?.stop();
});

test('every applicable server scenario passes', { timeout: 300_000 }, () => {
  const out = path.join(TMP, 'conformance');
  const run = spawnSync('conformance', ['server', '--url', server.url, '--expected-failures', expected, '-o', out], {
    encoding: 'utf8',
    timeout: 280_000,
  });
  const text = `${run.stdout}\n${run.stderr}`;
  const summary = [...text.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed/gm)].map((m) => ({ ok: m[1] === '✓', scenario: m[2], passed: Number(m[3]) }));
  const notApplicable = fs.readFileSync(expected, 'utf8').match(/^ {2}- (\S+)/gm).map((line) => line.trim().slice(2));
  const applicable = summary.filter((s) => !notApplicable.includes(s.scenario));
  assert.ok(applicable.length >= 7, `too few scenarios ran:\n${text}`);
  for (const scenario of applicable) assert.ok(scenario.ok, `${scenario.scenario} failed:\n${text}`);
  assert.equal(run.status, 0, text);
});
