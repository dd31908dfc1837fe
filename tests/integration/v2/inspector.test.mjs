// MCP Inspector's CLI (@modelcontextprotocol/inspector, pinned) against pgsafe, over stdio and
// Streamable HTTP, in the legacy era (its default) and pinned to 2026-07-28: list the tools,
// call query, read a resource, get a prompt. Each server is named in a read-only --config file.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { BIN, READER, TMP, after, before, describe, pgsafeEnv, startHttp, test } from './lib.mjs';

const tokens = path.join(TMP, 'inspector-tokens');
let server;
let config;
before(async () => {
  const token = execFileSync(BIN, ['token', 'add', 'inspector', '--tokens', tokens], { encoding: 'utf8' }).trim();
  server = await startHttp({ args: ['--tokens', tokens] });
  const env = pgsafeEnv(READER);
  const stdio = { type: 'stdio', command: BIN, args: ['serve'], env: { PGHOST: env.PGHOST, PGPORT: env.PGPORT, PGUSER: env.PGUSER, PGDATABASE: env.PGDATABASE } };
  const http = { type: 'http', url: server.url, headers: { Authorization: `Bearer ${token}` } };
  config = path.join(TMP, 'inspector.json');
  fs.writeFileSync(config, JSON.stringify({
    mcpServers: {
      'stdio-legacy': stdio,
      'stdio-modern': { ...stdio, protocolEra: 'modern' },
      'http-legacy': http,
      'http-modern': { ...http, protocolEra: 'modern' },
    },
  }));
});
after(async () => {
  await server?.stop();
});

function inspect(serverName, ...args) {
  const run = spawnSync('mcp-inspector', ['--cli', '--config', config, '--server', serverName, ...args], {
    encoding: 'utf8',
    timeout: 50_000,
    env: { ...process.env, HOME: TMP },
  });
  assert.equal(run.status, 0, `${serverName} ${args.join(' ')}:\n${run.stdout}\n${run.stderr}`);
  return JSON.parse(run.stdout);
}

for (const name of ['stdio-legacy', 'stdio-modern', 'http-legacy', 'http-modern']) {
  describe(`Inspector CLI, ${name}`, () => {
    test('tools/list', () => {
      const { tools } = inspect(name, '--method', 'tools/list');
      assert.deepEqual(tools.map((t) => t.name).sort(), ['check_sql', 'describe_table', 'explain', 'list_schemas', 'list_tables', 'query']);
    });
    test('tools/call query', () => {
      const result = inspect(name, '--method', 'tools/call', '--tool-name', 'query', '--tool-arg', 'sql=SELECT 41 + 1 AS answer');
      assert.deepEqual(result.structuredContent.rows, [[42]]);
    });
    test('resources/read postgres://schema', () => {
      const result = inspect(name, '--method', 'resources/read', '--uri', 'postgres://schema');
      assert.match(result.contents[0].text, /^public\.orders \(table/m);
    });
    test('prompts/get analyst', () => {
      const result = inspect(name, '--method', 'prompts/get', '--prompt-name', 'analyst', '--prompt-args', 'topic=revenue');
      assert.match(result.messages[0].content.text, /revenue/);
    });
  });
}
