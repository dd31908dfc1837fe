// The packages as their users meet them, driven by the official MCP SDK client over stdio:
// the .mcpb bundle unpacked and started the way its manifest's mcp_config says (as Claude
// Desktop does, user_config substituted), and the npm package installed from its tarball into
// an empty directory and started with `npx pgsafe serve`. Run by tests/packaging/run, which
// builds the packages, starts the cluster (tests/packaging/lib/pg-tls-scram) and sets:
//   PGSAFE_DIST      the directory with the packages (scripts/package-release)
//   PGSAFE_VERSION   the project's version
//   PGSAFE_PKG_TMP   a scratch directory
//   PGSAFE_ROOT      the repository root (for the SDK in tests/integration/node_modules)
//   PGPORT, PG_PASSWORD   the cluster on 127.0.0.1
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { pathToFileURL } from 'node:url';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests/packaging/run`);
  return value;
}
const DIST = required('PGSAFE_DIST');
const VERSION = required('PGSAFE_VERSION');
const TMP = required('PGSAFE_PKG_TMP');
const ROOT = required('PGSAFE_ROOT');
const PORT = required('PGPORT');
const PASSWORD = required('PG_PASSWORD');
const TIMEOUT_MS = 60_000;

const sdk = path.join(ROOT, 'tests/integration/node_modules/@modelcontextprotocol/sdk/dist/esm');
const { Client } = await import(pathToFileURL(path.join(sdk, 'client/index.js')));
const { StdioClientTransport } = await import(pathToFileURL(path.join(sdk, 'client/stdio.js')));
const MCPB = path.join(ROOT, 'packaging/tools/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js');
const TOOL_NAMES = ['check_sql', 'describe_table', 'explain', 'list_schemas', 'list_tables', 'query'];
const ENCRYPTION_SQL = 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

// Only what a client passes, plus PATH: nothing from this process's PG* or PGSAFE_* leaks in.
function cleanEnvironment(extra) {
  return { PATH: process.env.PATH, HOME: process.env.HOME || '/root', ...extra };
}

async function connect(serverParameters) {
  const client = new Client({ name: 'pgsafe-package-test', version: '1' });
  const transport = new StdioClientTransport({ ...serverParameters, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk) => (stderr += chunk));
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

async function query(client, sql) {
  const result = await client.callTool({ name: 'query', arguments: { sql } });
  assert.notEqual(result.isError, true, JSON.stringify(result.content));
  return result.structuredContent;
}

test('the .mcpb: mcpb info, unpack, and the binary run as mcp_config says', { timeout: TIMEOUT_MS }, async () => {
  const bundle = path.join(DIST, `pgsafe-${VERSION}-linux-x86_64.mcpb`);
  const info = execFileSync('node', [MCPB, 'info', bundle], { encoding: 'utf8' });
  assert.match(info, new RegExp(`File: +pgsafe-${VERSION}-linux-x86_64\\.mcpb`));
  const unpacked = path.join(TMP, 'mcpb');
  execFileSync('node', [MCPB, 'unpack', bundle, unpacked], { stdio: 'pipe' });

  const manifest = JSON.parse(fs.readFileSync(path.join(unpacked, 'manifest.json'), 'utf8'));
  assert.equal(manifest.version, VERSION);
  assert.equal(manifest.server.type, 'binary');
  assert.ok(fs.statSync(path.join(unpacked, manifest.server.entry_point)).mode & 0o100, 'entry point is executable');
  for (const [key, entry] of Object.entries(manifest.user_config)) {
    for (const field of ['type', 'title', 'description']) assert.ok(entry[field], `user_config.${key}.${field}`);
  }
  const dsn = manifest.user_config.dsn;
  assert.equal(dsn.sensitive, true);
  assert.equal(dsn.required, true);
  const config = manifest.server.mcp_config;
  assert.equal(config.env.PGSAFE_DSN, '${user_config.dsn}', 'the connection string goes through env');
  assert.ok(!JSON.stringify(config.args).includes('user_config.dsn'), 'the connection string is not an argument');
  assert.deepEqual(config.args, ['serve']);
  assert.deepEqual(manifest.tools.map((tool) => tool.name).sort(), TOOL_NAMES);

  // What Claude Desktop does: ${__dirname} is the unpacked bundle, ${user_config.KEY} the
  // user's value (or the default). max_rows 2 shows the settings reach pgsafe.
  const values = {
    dsn: `postgresql://tls_reader:${PASSWORD}@127.0.0.1:${PORT}/shop?sslmode=require`,
    max_rows: 2,
    statement_timeout: manifest.user_config.statement_timeout.default,
    schemas: 'public',
  };
  const substitute = (text) =>
    text.replaceAll('${__dirname}', unpacked).replace(/\$\{user_config\.([a-z_]+)\}/g, (_, key) => {
      assert.ok(key in values, `mcp_config refers to user_config.${key}`);
      return String(values[key]);
    });
  const env = Object.fromEntries(Object.entries(config.env).map(([name, value]) => [name, substitute(value)]));
  const { client, stderr } = await connect({
    command: substitute(config.command),
    args: config.args.map(substitute),
    env: cleanEnvironment(env),
  });
  try {
    assert.equal(client.getServerVersion().name, 'pgsafe');
    assert.equal(client.getServerVersion().version, VERSION);
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((tool) => tool.name).sort(), TOOL_NAMES);
    const rows = await query(client, 'SELECT customer FROM orders ORDER BY id');
    assert.deepEqual(rows.rows, [['ada'], ['grace']]);
    assert.equal(rows.truncated, true, 'max_rows from user_config cuts the result');
    const encryption = await query(client, ENCRYPTION_SQL);
    assert.equal(encryption.rows[0][0], true, 'sslmode=require from the connection string: TLS');
  } finally {
    await client.close();
  }
  assert.match(stderr(), /connected to database "shop" as role "tls_reader"/);
});

test('the npm package: installed from its tarball, started with npx pgsafe serve', { timeout: TIMEOUT_MS }, async () => {
  const tarball = path.join(DIST, `pgsafe-${VERSION}.tgz`);
  const project = path.join(TMP, 'npm-project');
  fs.mkdirSync(project);
  // An empty directory, the tarball installed offline: nothing comes from the registry.
  const npmEnv = cleanEnvironment({ npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' });
  execFileSync('npm', ['install', '--loglevel=error', tarball], { cwd: project, env: npmEnv, stdio: 'pipe' });
  assert.ok(fs.existsSync(path.join(project, 'node_modules/.bin/pgsafe')), 'npm links the pgsafe command');

  const version = spawnSync('npx', ['pgsafe', '--version'], { cwd: project, env: npmEnv, encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.split('\n')[0], `pgsafe ${VERSION}`);
  const rejected = spawnSync('npx', ['pgsafe', 'check', 'DELETE FROM orders'], { cwd: project, env: npmEnv, encoding: 'utf8' });
  assert.equal(rejected.status, 1, 'the launcher passes on pgsafe check\'s exit status');
  assert.match(rejected.stdout, /^rejected: not_select$/m);

  const { client, stderr } = await connect({
    command: 'npx',
    args: ['pgsafe', 'serve'],
    cwd: project,
    env: {
      ...npmEnv,
      PGHOST: '127.0.0.1',
      PGPORT: PORT,
      PGUSER: 'scram_reader',
      PGPASSWORD: PASSWORD,
      PGDATABASE: 'shop',
      PGSSLMODE: 'disable',
    },
  });
  try {
    assert.equal(client.getServerVersion().version, VERSION);
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((tool) => tool.name).sort(), TOOL_NAMES);
    const rows = await query(client, 'SELECT customer, total FROM orders ORDER BY id');
    assert.deepEqual(rows.rows, [['ada', '120.50'], ['grace', '80.00'], ['edsger', '42.25']]);
    const encryption = await query(client, ENCRYPTION_SQL);
    assert.equal(encryption.rows[0][0], false, 'sslmode=disable: SCRAM over plain TCP');
  } finally {
    await client.close();
  }
  assert.match(stderr(), /connected to database "shop" as role "scram_reader"/);
});

test('the npm package the way docs/clients.md configures it: npx --package=TARBALL pgsafe serve', { timeout: TIMEOUT_MS }, async () => {
  const tarball = path.join(DIST, `pgsafe-${VERSION}.tgz`);
  const elsewhere = path.join(TMP, 'npx-elsewhere');
  fs.mkdirSync(elsewhere);
  // A fresh npm cache and no registry: the package can only come from the tarball.
  const npmEnv = cleanEnvironment({
    npm_config_offline: 'true',
    npm_config_cache: path.join(TMP, 'npm-cache'),
    npm_config_update_notifier: 'false',
  });
  const { client, stderr } = await connect({
    command: 'npx',
    args: ['--yes', `--package=${tarball}`, 'pgsafe', 'serve'],
    cwd: elsewhere,
    env: { ...npmEnv, PGHOST: '127.0.0.1', PGPORT: PORT, PGUSER: 'tls_reader', PGPASSWORD: PASSWORD, PGDATABASE: 'shop', PGSSLMODE: 'require' },
  });
  try {
    assert.equal(client.getServerVersion().version, VERSION);
    const encryption = await query(client, ENCRYPTION_SQL);
    assert.equal(encryption.rows[0][0], true, 'sslmode=require: TLS');
  } finally {
    await client.close();
  }
  assert.match(stderr(), /connected to database "shop" as role "tls_reader"/);
});
