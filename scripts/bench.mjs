#!/usr/bin/env node
// Benchmark runner: `npm run bench -- <name> [args...]` runs bench/<name>.bench.ts with tsx.
// `npm run bench` alone lists the available benches.
//
// When DATABASE_URL is unset it makes sure the PostgreSQL 15 binaries exist (running
// scripts/ensure-postgres.sh only when they are missing), starts a throwaway PostgreSQL
// (scripts/pg-temp.mjs), passes its admin URL as DATABASE_URL, and stops it afterwards.
// The bench's stdout is passed through untouched: its JSON result line stays the last line
// (this script's own messages go to stderr). Exit status is the bench's.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlags } from '../apps/server/bin/node-flags.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = join(ROOT, 'bench');
const SUFFIX = '.bench.ts';

function listBenches() {
  try {
    return readdirSync(BENCH_DIR)
      .filter((f) => f.endsWith(SUFFIX))
      .map((f) => f.slice(0, -SUFFIX.length))
      .sort();
  } catch {
    return [];
  }
}

function printList(out) {
  const names = listBenches();
  out('usage: npm run bench -- <name> [args...]');
  out(names.length ? `available benches:\n${names.map((n) => `  ${n}`).join('\n')}` : 'no benches yet (bench/*.bench.ts)');
}

async function main() {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--list' || name === '-h' || name === '--help') {
    printList((s) => console.log(s));
    return 0;
  }
  const file = join(BENCH_DIR, name.endsWith(SUFFIX) ? name : `${name}${SUFFIX}`);
  if (!existsSync(file)) {
    console.error(`bench: no such bench: ${name}`);
    printList((s) => console.error(s));
    return 2;
  }

  const env = { ...process.env };
  let pg = null;
  // A bench whose first line is `// bench: no-database` (the DLP benches) needs no PostgreSQL.
  const noDatabase = readFileSync(file, 'utf8').startsWith('// bench: no-database');
  if (!env.DATABASE_URL && !noDatabase) {
    const pgBin = env.PG_BIN || '/usr/lib/postgresql/15/bin';
    if (!existsSync(join(pgBin, 'initdb'))) {
      const r = spawnSync('bash', [join(ROOT, 'scripts', 'ensure-postgres.sh')], { stdio: ['ignore', 2, 2] });
      if (r.status !== 0) {
        console.error('bench: PostgreSQL binaries are missing and could not be installed');
        return 1;
      }
    }
    const { startTempPostgres } = await import('./pg-temp.mjs');
    pg = await startTempPostgres({ log: (s) => console.error(s) });
    env.DATABASE_URL = pg.url;
  }

  try {
    // As Mamori runs: Node's start-up flags for it (ADR 0019), unless BENCH_V8_DEFAULT=1 asks for V8's defaults.
    const flags = env.BENCH_V8_DEFAULT === '1' ? [] : nodeFlags();
    const child = spawn(process.execPath, [...flags, '--import', 'tsx', file, ...rest], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
    const forward = (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, forward);
    const code = await new Promise((res) => {
      child.on('error', (err) => {
        console.error(`bench: ${err}`);
        res(1);
      });
      child.on('close', (c, s) => res(c ?? (s ? 1 : 0)));
    });
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeListener(sig, forward);
    return code;
  } finally {
    if (pg) await pg.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`bench: ${err instanceof Error ? err.message : err}`);
    process.exitCode = 1;
  },
);
