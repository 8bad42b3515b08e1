#!/usr/bin/env node
// `npm start`: build the web console if it is missing or stale, then run `mamori serve`, which
// serves it at / beside the API. Signals are passed on to the server so it shuts down cleanly.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWebBuilt } from './web-build.mjs';
import { nodeFlags } from '../apps/server/bin/node-flags.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

try {
  ensureWebBuilt();
} catch (err) {
  // The API works without the console: say so and start anyway.
  console.error(`${err instanceof Error ? err.message : err}; starting the API without the web console`);
}

// With Node's start-up flags for Mamori (ADR 0019), as the `mamori` command's own `#!` line gives them.
const child = spawn(process.execPath, [...nodeFlags(), join(ROOT, 'apps', 'server', 'bin', 'mamori.mjs'), 'serve', ...process.argv.slice(2)], { cwd: process.cwd(), stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
}
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
