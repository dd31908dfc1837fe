// Load over one session: 10,000 tools/call requests with 64 in flight (raw JSON-RPC lines),
// a mix of cheap queries, check_sql, database errors and guard rejections. Every id is
// answered exactly once, with the answer its kind calls for, and the peak resident memory
// (VmHWM) after all 10,000 calls stays within max(2 MiB, 10%) of the peak after the first
// 1,000: by then the pool, the catalog and the buffers for 64 calls in flight exist, so
// further growth would be a leak or an unbounded queue. (2 MiB absorbs malloc's arenas and
// fragmentation settling; a leak of even 200 bytes a call would be 1.7 MiB over 9,000 calls
// and show up in the sanitizer run.) Calls per second are printed, not asserted.
// Memory is not measured under ASan (PGSAFE_IT_SANITIZER set): its allocator and shadow
// memory say nothing about pgsafe's.
//   PGSAFE_LOAD_CALLS   total calls (default 10000)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test as nodeTest } from 'node:test';

import { RawSession, describe } from './lib/harness.mjs';

const CALLS = Number(process.env.PGSAFE_LOAD_CALLS || 10_000);
const IN_FLIGHT = 64;
const FIRST = Math.min(1000, CALLS);
const SANITIZER = Boolean(process.env.PGSAFE_IT_SANITIZER);

function vmHwmKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  assert.ok(match, 'VmHWM in /proc/PID/status');
  return Number(match[1]);
}

/** The i-th call and a check of its result. */
function callFor(i) {
  const k = i % 97;
  switch (i % 8) {
    case 0:
    case 1:
    case 2:
      return {
        params: { name: 'query', arguments: { sql: `SELECT n, label FROM numbers WHERE n = ${k + 1}` } },
        check: (r) => r.isError !== true && r.structuredContent?.rows?.[0]?.[0] === k + 1,
      };
    case 3:
      return {
        params: { name: 'query', arguments: { sql: `SELECT ${k} AS k, repeat('x', ${k}) AS pad` } },
        check: (r) => r.isError !== true && r.structuredContent?.rows?.[0]?.[0] === k,
      };
    case 4:
    case 5:
      return {
        params: { name: 'check_sql', arguments: { sql: `SELECT * FROM orders WHERE id = ${k}` } },
        check: (r) => r.isError !== true && r.structuredContent?.allowed === true,
      };
    case 6:
      return { // a database error
        params: { name: 'query', arguments: { sql: `SELECT ${k} / 0` } },
        check: (r) => r.isError === true && /division by zero/.test(r.content?.[0]?.text),
      };
    default:
      return { // a guard rejection
        params: { name: 'query', arguments: { sql: `DELETE FROM numbers WHERE n = ${k}` } },
        check: (r) => r.isError === true && /^rejected \(/.test(r.content?.[0]?.text),
      };
  }
}

describe('load', () => {
  nodeTest(`${CALLS} tools/call over one session, ${IN_FLIGHT} in flight`, { timeout: 240_000 }, async () => {
    const raw = new RawSession({ args: ['--pool-size', '8'] });
    try {
      await raw.initialize();
      const answers = new Array(CALLS).fill(0);
      const wrong = [];
      let sent = 0;
      let done = 0;
      let seen = raw.messages.length;
      let firstHwm = null;
      let resolveAll;
      const all = new Promise((resolve) => (resolveAll = resolve));
      const started = process.hrtime.bigint();
      let firstDone = null;
      const send = () => {
        const i = sent++;
        raw.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: callFor(i).params });
      };
      const onMessages = () => {
        for (; seen < raw.messages.length; seen++) {
          const message = raw.messages[seen];
          if (!Number.isInteger(message.id) || 'method' in message) continue;
          answers[message.id]++;
          if (!message.result || !callFor(message.id).check(message.result)) {
            if (wrong.length < 5) wrong.push(JSON.stringify(message).slice(0, 400));
          }
          done++;
          if (done === FIRST) {
            firstHwm = vmHwmKiB(raw.child.pid);
            firstDone = process.hrtime.bigint();
          }
          if (sent < CALLS) send();
          if (done === CALLS) resolveAll();
        }
        raw.messages.length = 0; // nothing else waits on this session's messages meanwhile
        seen = 0;
        return false;
      };
      raw.listeners.add(onMessages);
      while (sent < Math.min(IN_FLIGHT, CALLS)) send();
      await Promise.race([all, raw.exit.then(() => { throw new Error(`pgsafe exited; stderr:\n${raw.stderr()}`); })]);
      const finished = process.hrtime.bigint();
      raw.listeners.delete(onMessages);
      const lastHwm = vmHwmKiB(raw.child.pid);
      const seconds = Number(finished - started) / 1e9;
      const steadySeconds = Number(finished - firstDone) / 1e9;
      console.log(`# load: ${CALLS} calls in ${seconds.toFixed(2)} s = ${(CALLS / seconds).toFixed(0)} calls/s ` +
        `(${((CALLS - FIRST) / steadySeconds).toFixed(0)} calls/s after the first ${FIRST}); ` +
        `VmHWM ${firstHwm} kB after ${FIRST} calls, ${lastHwm} kB after ${CALLS}`);

      assert.deepEqual(answers.map((n, id) => [id, n]).filter(([, n]) => n !== 1), [], 'every id answered exactly once');
      assert.deepEqual(wrong, [], 'answers of the wrong kind');
      raw.assertCleanStdout();
      await raw.assertPing();
      if (SANITIZER) {
        console.log('# load: VmHWM not compared under the sanitizers');
      } else {
        const allowed = Math.max(2048, Math.ceil(firstHwm * 0.1));
        assert.ok(lastHwm - firstHwm <= allowed,
          `VmHWM grew ${lastHwm - firstHwm} kB from ${FIRST} to ${CALLS} calls (allowed ${allowed} kB)`);
      }
      raw.child.stdin.end();
      const { code } = await raw.waitExit(15_000);
      assert.equal(code, 0, raw.stderr());
    } finally {
      await raw.close();
    }
  });
});
