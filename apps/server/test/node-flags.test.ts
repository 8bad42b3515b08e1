/**
 * Node's start-up flags for Mamori's processes (bin/node-flags.mjs, ADR 0019): the `mamori` command's
 * `#!` line gives them, a process started through it (as `npx mamori` does) runs with them, and the
 * launchers leave an operator's own value of a flag alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { NODE_FLAGS, nodeFlags } from '../bin/node-flags.mjs';
import { BIN } from './support/process.ts';

const ROOT = path.resolve(path.dirname(BIN), '../../..');

test('the flags are given unless the command line or NODE_OPTIONS sets them already (by name, - or _)', () => {
  assert.deepEqual(nodeFlags([]), [...NODE_FLAGS]);
  assert.deepEqual(nodeFlags(['--enable-source-maps', 'node_modules/x.js']), [...NODE_FLAGS]);
  assert.deepEqual(nodeFlags(['--max-semi-space-size=128']), []);
  assert.deepEqual(nodeFlags(['--max_semi_space_size=8']), []);
});

test('the `mamori` command\'s #! line gives the same flags, and `npx mamori` runs Node with them', async () => {
  const first = (await readFile(BIN, 'utf8')).split('\n')[0];
  assert.equal(first, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  // Run as npx runs it (the bin link npm made, executed itself): a preloaded probe reports the flags and stops.
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-flags-'));
  try {
    const probe = path.join(dir, 'probe.cjs');
    await writeFile(probe, 'process.stdout.write(JSON.stringify(process.execArgv)); process.exit(0);\n');
    const { stdout } = await promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'mamori'), ['--help'], { env: { ...process.env, NODE_OPTIONS: `--require ${probe}` } });
    const execArgv = JSON.parse(stdout) as string[];
    for (const flag of NODE_FLAGS) assert.ok(execArgv.includes(flag), `${flag} in ${stdout}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
