// Benchmark of `pgsafe serve --http` (figures, no thresholds): tools/call query "SELECT 1"
// (2026-07-28 over Streamable HTTP). Loopback only; bounded by a count of calls.
//   node tests/bench/bench-http.mjs PGSAFE_BINARY [CALLS] [load|auth]
// load (the default): calls per second and p50/p99 latency with 1, 8 and 64 concurrent
//   clients, each with its own bearer token (so the per-client cap of 16 in flight holds),
//   then 8 clients without tokens; the server's peak memory (VmHWM) at the end.
// auth: what authentication costs per call. Three servers side by side: no authentication,
//   a bearer token from --tokens, and an OAuth JWT (RS256, checked against a JWKS file, as in
//   tests/integration/v2/oauth.test.mjs). One client, one call at a time, the servers taken
//   in turn round after round (paired, so a busy moment of the machine falls on all three);
//   per-call p50/p95 and calls/s of each, and the median difference to no authentication.
// Needs Node 22 (scripts/setup-node-tools) and the PG* variables of a running PostgreSQL.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [binary, callsArgument, mode = 'load'] = process.argv.slice(2);
if (!binary || !['load', 'auth'].includes(mode)) {
  console.error('usage: node tests/bench/bench-http.mjs PGSAFE_BINARY [CALLS] [load|auth]');
  process.exit(2);
}
const calls = Number(callsArgument || 3000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgsafe-bench-http-'));
const tokensFile = path.join(dir, 'tokens');
const addToken = (name) => execFileSync(binary, ['token', 'add', name, '--tokens', tokensFile], { encoding: 'utf8' }).trim();
const servers = [];

async function start(args) {
  const child = spawn(binary, ['serve', '--http', '127.0.0.1:0', '--pool-size', '4', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  servers.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  for (let i = 0; i < 200 && !/listening on (\S+)/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
  const match = /listening on (\S+)/.exec(stderr);
  if (!match) throw new Error(`pgsafe did not start:\n${stderr}`);
  const url = match[1];
  for (let i = 0; i < 200; i++) {
    if ((await fetch(url.replace(/mcp$/, 'readyz'))).status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url };
}

const body = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'tools/call',
  params: { name: 'query', arguments: { sql: 'SELECT 1' }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } },
});
const baseHeaders = { 'Content-Type': 'application/json', 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'query' };

/** One call; its latency in ms, or throws when it is not a successful tool result. */
async function oneCall(url, headers) {
  const t0 = performance.now();
  const response = await fetch(url, { method: 'POST', headers, body });
  const answer = await response.json();
  const elapsed = performance.now() - t0;
  if (response.status !== 200 || answer.result?.isError !== false) throw new Error(`call failed: ${response.status} ${JSON.stringify(answer).slice(0, 300)}`);
  return elapsed;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function level(url, clients, tokens) {
  const latencies = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, i) => {
    const headers = tokens ? { ...baseHeaders, Authorization: `Bearer ${tokens[i]}` } : baseHeaders;
    while (next++ < calls) {
      try {
        latencies.push(await oneCall(url, headers));
      } catch {
        failures++;
      }
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q) => quantile(latencies, q).toFixed(2);
  console.log(`${String(clients).padStart(2)} clients${tokens ? ', tokens   ' : ', no tokens'}: ${(latencies.length / seconds).toFixed(0)} calls/s, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, ${failures} failed`);
}

function peakMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return /VmHWM:\s+(\d+ kB)/.exec(status)[1];
}

async function loadMode() {
  const tokens = Array.from({ length: 64 }, (_, i) => addToken(`client${i}`));
  console.log(`bench-http: ${calls} calls per level of tools/call query "SELECT 1", pool size 4, ${os.cpus().length} cores`);
  const secured = await start(['--tokens', tokensFile]);
  for (const clients of [1, 8, 64]) await level(secured.url, clients, tokens);
  console.log(`server peak memory (VmHWM) after the token runs: ${peakMemory(secured.child.pid)}`);
  const open = await start([]);
  for (const clients of [1, 8]) await level(open.url, clients, null);
}

/** An RS256 JWT for the issuer and audience, signed with key (kid rsa1). */
function mintJwt(key, issuer, audience) {
  const encode = (object) => Buffer.from(JSON.stringify(object)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${encode({ alg: 'RS256', typ: 'JWT', kid: 'rsa1' })}.${encode({ iss: issuer, aud: audience, sub: 'bench@example.com', iat: now, exp: now + 3600 })}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

async function authMode() {
  const issuer = 'https://auth.example.com';
  const audience = 'https://db.example.com/mcp';
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwks = path.join(dir, 'jwks.json');
  fs.writeFileSync(jwks, JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa1', use: 'sig', alg: 'RS256' }] }));
  const token = addToken('bench');
  const modes = [
    { name: 'no authentication', server: await start([]), headers: baseHeaders },
    { name: 'bearer token (--tokens)', server: await start(['--tokens', tokensFile]), headers: { ...baseHeaders, Authorization: `Bearer ${token}` } },
    {
      name: 'OAuth JWT (RS256, JWKS)',
      server: await start(['--oauth-issuer', issuer, '--oauth-jwks', jwks, '--oauth-audience', audience]),
      headers: { ...baseHeaders, Authorization: `Bearer ${mintJwt(rsa.privateKey, issuer, audience)}` },
    },
  ];
  const rounds = 20;
  const perRound = Math.max(1, Math.ceil(calls / rounds));
  console.log(`bench-http auth: ${perRound * rounds} calls per mode of tools/call query "SELECT 1", one client, one call at a time, ` +
    `${rounds} rounds taking the modes in turn; pool size 4, ${os.cpus().length} cores`);
  for (const m of modes) {
    m.latencies = [];
    m.seconds = 0;
    for (let i = 0; i < 50; i++) await oneCall(m.server.url, m.headers); // warm: connections, catalog, caches
  }
  for (let round = 0; round < rounds; round++) {
    // Each round starts with another mode, so no mode always runs first.
    for (let k = 0; k < modes.length; k++) {
      const m = modes[(round + k) % modes.length];
      const started = performance.now();
      for (let i = 0; i < perRound; i++) m.latencies.push(await oneCall(m.server.url, m.headers));
      m.seconds += (performance.now() - started) / 1000;
    }
  }
  const base = modes[0];
  for (const m of modes) {
    m.latencies.sort((a, b) => a - b);
    const p50 = quantile(m.latencies, 0.5);
    const p95 = quantile(m.latencies, 0.95);
    const delta = m === base ? '' : `, p50 ${(p50 - quantile(base.latencies, 0.5) >= 0 ? '+' : '')}${((p50 - quantile(base.latencies, 0.5)) * 1000).toFixed(0)} µs against none`;
    console.log(`${m.name.padEnd(24)}: ${(m.latencies.length / m.seconds).toFixed(0)} calls/s, p50 ${p50.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms${delta}`);
  }
}

try {
  if (mode === 'auth') await authMode();
  else await loadMode();
} finally {
  for (const child of servers) child.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}
