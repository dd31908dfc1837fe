// Benchmark of `pgsafe serve --http` (figures, no thresholds): calls per second and p50/p99
// latency of tools/call query "SELECT 1" (2026-07-28 over Streamable HTTP) with 1, 8 and 64
// concurrent clients, each with its own bearer token (so the per-client cap of 16 in flight
// holds), then 8 clients without tokens to show what authentication costs per call; the
// server's peak memory (VmHWM) at the end. Loopback only; bounded by a count of calls.
//   node tests/bench/bench-http.mjs PGSAFE_BINARY [CALLS_PER_LEVEL]
// Needs Node 22 (scripts/setup-node-tools) and the PG* variables of a running PostgreSQL.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [binary, callsArgument] = process.argv.slice(2);
const calls = Number(callsArgument || 3000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgsafe-bench-http-'));
const tokensFile = path.join(dir, 'tokens');
const tokens = Array.from({ length: 64 }, (_, i) =>
  execFileSync(binary, ['token', 'add', `client${i}`, '--tokens', tokensFile], { encoding: 'utf8' }).trim());

async function start(args) {
  const child = spawn(binary, ['serve', '--http', '127.0.0.1:0', '--pool-size', '4', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  for (let i = 0; i < 200 && !/listening on (\S+)/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
  const url = /listening on (\S+)/.exec(stderr)[1];
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

async function level(url, clients, withTokens) {
  const latencies = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, i) => {
    const headers = { 'Content-Type': 'application/json', 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'query' };
    if (withTokens) headers.Authorization = `Bearer ${tokens[i]}`;
    while (next++ < calls) {
      const t0 = performance.now();
      const response = await fetch(url, { method: 'POST', headers, body });
      const answer = await response.json();
      latencies.push(performance.now() - t0);
      if (response.status !== 200 || answer.result?.isError !== false) failures++;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2);
  console.log(`${String(clients).padStart(2)} clients${withTokens ? ', tokens   ' : ', no tokens'}: ${(latencies.length / seconds).toFixed(0)} calls/s, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, ${failures} failed`);
}

function peakMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return /VmHWM:\s+(\d+ kB)/.exec(status)[1];
}

console.log(`bench-http: ${calls} calls per level of tools/call query "SELECT 1", pool size 4, ${os.cpus().length} cores`);
const secured = await start(['--tokens', tokensFile]);
for (const clients of [1, 8, 64]) await level(secured.url, clients, true);
console.log(`server peak memory (VmHWM) after the token runs: ${peakMemory(secured.child.pid)}`);
secured.child.kill('SIGTERM');
const open = await start([]);
for (const clients of [1, 8]) await level(open.url, clients, false);
open.child.kill('SIGTERM');
fs.rmSync(dir, { recursive: true, force: true });
