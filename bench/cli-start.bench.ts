// bench: no-database
// `npm run bench -- cli-start [repeats]`
//
// How long a `mamori` process takes to start (ADR 0015): `mamori --help` (load everything, do
// nothing) and `mamori serve` on an existing embedded data folder until it prints its listen line.
// Each is run from the cached bundle (the value) and through tsx as before (the baseline: the same
// command with its bundle cache pointed at a path that cannot be written), `repeats` times each
// (default 5), alternating, median of wall time; `node -e 0` is the floor. The first serve (which
// creates the data folder and a small demo dataset) is not counted.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { BIN, run, scratch, stop } from '../apps/server/test/support/process.ts';
import { percentile, printResult } from './lib.ts';
import { intArg, log, round } from './support.ts';

const REPEATS = intArg(process.argv[2], 5, 'repeats');

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  // A scratch data folder and `mamori serve` on it, as the CLI tests start it, on the embedded
  // database as `npm start` runs it (scratch would otherwise take a DATABASE_URL it finds).
  delete process.env.DATABASE_URL;
  const s = await scratch('cli-start', { MAMORI_DEMO_CONTACTS: '40' });
  try {
    // A cache "directory" below /dev/null cannot be made: the command falls back to tsx.
    const TSX = { MAMORI_CLI_CACHE_DIR: '/dev/null/mamori-cli' };
    const timed = async (work: () => Promise<unknown>) => {
      const t0 = performance.now();
      await work();
      return performance.now() - t0;
    };
    const help = (extra: Record<string, string> = {}) => timed(() => run(process.execPath, [BIN, '--help'], { env: s.env(extra) }));
    const serve = async (extra: Record<string, string> = {}) => {
      const t0 = performance.now();
      const server = s.serve(extra);
      await server.listening;
      const ms = performance.now() - t0;
      await stop(server);
      return ms;
    };

    log('first start (creates the data folder, not counted)');
    await serve();
    // Make sure the bundle is current before timing it.
    await help();

    const runs: Record<string, number[]> = { floor: [], help: [], help_tsx: [], serve: [], serve_tsx: [] };
    for (let r = 0; r < REPEATS; r++) {
      runs.floor!.push(await timed(() => run(process.execPath, ['-e', '0'])));
      runs.help!.push(await help());
      runs.help_tsx!.push(await help(TSX));
      runs.serve!.push(await serve());
      runs.serve_tsx!.push(await serve(TSX));
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
    await s.cleanup();
  }
}

await main();
