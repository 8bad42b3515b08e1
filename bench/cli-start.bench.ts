// bench: no-database
// `npm run bench -- cli-start [repeats]`
//
// How long a `mamori` process takes to start (ADR 0015): `mamori --help` (load everything, do
// nothing) and `mamori serve` on an existing embedded data folder until it prints its listen line.
// Each is run from the cached bundle (the value) and through tsx as before (the baseline: the same
// command with its bundle cache pointed at a path that cannot be written), `repeats` times each
// (default 5), alternating, median of wall time; `node -e 0` is the floor. The first serve (which
// creates the data folder and a small demo dataset) is not counted.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { percentile, printResult } from './lib.ts';
import { intArg, log, round } from './support.ts';

const REPEATS = intArg(process.argv[2], 5, 'repeats');
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../apps/server/bin/mamori.mjs');

/** Runs node with `args` until it exits, or until `until` matches its output (then SIGTERM); wall time in ms. */
function timed(args: string[], env: NodeJS.ProcessEnv, until?: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let ms = 0;
    const seen = (d: Buffer) => {
      out += d.toString();
      if (until && ms === 0 && until.test(out)) {
        ms = performance.now() - t0;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!until) ms = performance.now() - t0;
      if (ms === 0 || (!until && code !== 0)) return reject(new Error(`${args.join(' ')} exited with ${code} before it was ready:\n${out.slice(-2000)}`));
      resolve(ms);
    });
  });
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-cli-start-'));
  try {
    const base: NodeJS.ProcessEnv = { ...process.env, MAMORI_DATA_DIR: path.join(dir, 'data'), PORT: '0', LOG_LEVEL: 'warn', MAMORI_DEMO_CONTACTS: '40' };
    delete base.DATABASE_URL;
    const bundled = { ...base };
    // A cache "directory" below /dev/null cannot be made: the command falls back to tsx.
    const sources = { ...base, MAMORI_CLI_CACHE_DIR: '/dev/null/mamori-cli' };
    const LISTENING = /Mamori listening on/;

    log('first start (creates the data folder, not counted)');
    await timed([BIN, 'serve'], bundled, LISTENING);
    // Make sure the bundle is current before timing it.
    await timed([BIN, '--help'], bundled);

    const runs: Record<string, number[]> = { floor: [], help: [], help_tsx: [], serve: [], serve_tsx: [] };
    for (let r = 0; r < REPEATS; r++) {
      runs.floor!.push(await timed(['-e', '0'], base));
      runs.help!.push(await timed([BIN, '--help'], bundled));
      runs.help_tsx!.push(await timed([BIN, '--help'], sources));
      runs.serve!.push(await timed([BIN, 'serve'], bundled, LISTENING));
      runs.serve_tsx!.push(await timed([BIN, 'serve'], sources, LISTENING));
      log(`round ${r + 1}: ${Object.entries(runs).map(([k, v]) => `${k} ${Math.round(v.at(-1)!)} ms`).join(', ')}`);
    }
    const median = (k: string) => round(percentile(runs[k]!, 50), 0);
    printResult({
      bench: 'cli-start', value: median('serve'), unit: 'ms to listening (median)', baseline: median('serve_tsx'), ratio: round(median('serve') / median('serve_tsx'), 2),
      extra: {
        help_ms: median('help'), help_tsx_ms: median('help_tsx'), node_floor_ms: median('floor'), repeats: REPEATS,
        database: 'embedded (PGlite), existing data folder', load_avg_1m: { before: round(loadBefore, 2), after: round(loadavg()[0] ?? 0, 2) },
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
