#!/usr/bin/env node
// Starts the portable pgsafe binary this package carries, with the same arguments,
// standard input, output and error, so `npx pgsafe serve` is `pgsafe serve`. It adds nothing
// to the protocol on stdout, passes SIGINT, SIGTERM and SIGHUP on, and exits as pgsafe did.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const binary = path.join(__dirname, '..', 'native', 'linux-x64', 'pgsafe');

function fail(message, hint) {
  process.stderr.write(`pgsafe: ${message}\n`);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  process.exit(1);
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  fail(`this package carries pgsafe for x86_64 Linux only, not ${process.platform}/${process.arch}`,
    'on Windows, run it inside WSL; elsewhere, build pgsafe from source');
}
try {
  fs.accessSync(binary, fs.constants.X_OK);
} catch (error) {
  fail(`cannot run ${binary}: ${error.code || error.message}`, 'reinstall the package');
}

const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('error', (error) => fail(`cannot start ${binary}: ${error.message}`));
child.on('exit', (code, signal) => {
  if (signal) {
    // Die of the same signal, so the caller sees what pgsafe saw.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else {
    process.exit(code);
  }
});
