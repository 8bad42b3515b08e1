// Shared set-up for benches that need a Mamori context on PostgreSQL: a fresh database on the
// server of DATABASE_URL (an admin URL; `npm run bench` provides one), a random master key, a fresh
// audit-checkpoint signing key, a temp data folder, and the AppContext opened exactly as
// `mamori serve` opens it (loadConfig → openContext). close() drops all of it.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { loadConfig, type Config } from '../apps/server/src/config/config.ts';
import { openContext } from '../apps/server/src/platform/bootstrap.ts';
import { openOrCreateSigningKey } from '../apps/server/src/platform/crypto/signing-key.ts';
import type { AppContext } from '../apps/server/src/platform/context.ts';
import type { DB } from '../apps/server/src/platform/db/schema.ts';
import { createLogger } from '../apps/server/src/platform/logger.ts';
import { tuneRuntime, V8_FLAGS } from '../apps/server/src/platform/runtime.ts';

export type BenchContext = {
  ctx: AppContext;
  config: Config;
  /** URL of the bench database (not the admin URL). */
  url: string;
  dataDir: string;
  close(): Promise<void>;
};

/** Progress and diagnostics go to stderr: stdout ends with the JSON result line. */
export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** V8's own defaults in place of Mamori's V8_FLAGS (each boolean flag inverted; ADR 0016), for a comparison. */
export function useV8Defaults(): void {
  for (const flag of V8_FLAGS) v8.setFlagsFromString(flag.startsWith('--no-') ? `--${flag.slice(5)}` : `--no-${flag.slice(2)}`);
}

/** The process's V8 settings for a bench: Mamori's (as openContext sets them), or V8's defaults with BENCH_V8_DEFAULT=1. */
export function benchRuntime(): void {
  tuneRuntime();
  if (process.env.BENCH_V8_DEFAULT !== '1') return;
  useV8Defaults();
  log("bench: V8's default settings (BENCH_V8_DEFAULT=1), not Mamori's V8_FLAGS");
}

export async function openBenchContext(opts: { poolSize?: number; logLevel?: string } = {}): Promise<BenchContext> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is not set: run benches with `npm run bench -- <name>`');
  const name = `bench_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mamori-bench-'));
  let ctx: AppContext | null = null;
  const drop = async () => {
    if (ctx) await ctx.database.close();
    await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const logLevel = opts.logLevel ?? 'warn';
    // Production mode (DATABASE_URL) needs both keys given: a random master key, and a fresh
    // checkpoint-signing key file.
    const logKeyFile = path.join(dataDir, 'keys', 'log-signing.json');
    await openOrCreateSigningKey(logKeyFile, 'mamori.bench/audit');
    const config = loadConfig(
      { DATABASE_URL: url, MAMORI_MASTER_KEY: randomBytes(32).toString('base64'), MAMORI_LOG_KEY_FILE: logKeyFile, MAMORI_DATA_DIR: dataDir, LOG_LEVEL: logLevel },
      dataDir,
    );
    ctx = await openContext(config, { logger: createLogger(logLevel, process.stderr), ...(opts.poolSize ? { poolSize: opts.poolSize } : {}) });
    benchRuntime();
    return { ctx, config, url, dataDir, close: drop };
  } catch (err) {
    await drop().catch(() => undefined);
    throw err;
  }
}

/** Parses "1000000", "1_000_000" or "1,000,000"; the fallback when absent. */
export function intArg(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

// ---------------------------------------------------------------------------------------------
// CPU accounting. The machines are shared and noisy: CPU time per operation is steadier than a rate.

/** CPU milliseconds used so far, by pid, by every process of the PostgreSQL server (same host only), or null. */
export async function postgresCpuMs(db: Kysely<DB>): Promise<Map<number, number> | null> {
  try {
    const pids = (await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity`.execute(db)).rows.map((r) => r.pid);
    const out = new Map<number, number>();
    for (const pid of pids) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
      if (!stat) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, ((Number(f[11]) + Number(f[12])) * 1000) / 100); // utime + stime, at USER_HZ = 100
    }
    return out.size > 0 ? out : null;
  } catch {
    return null;
  }
}

export function cpuDelta(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (!before || !after) return null;
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}


/** CPU milliseconds of each thread of this process, by thread id (Linux /proc/self/task); null off Linux. */
export function threadCpuMs(): Map<number, number> | null {
  try {
    const out = new Map<number, number>();
    for (const t of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * CPU time of this process by thread (Linux /proc/self/task), sampled every `everyMs` so that threads
 * that end before the last sample (worker threads) are still counted, to within one interval.
 * `main`: the main thread; `started`: threads that did not exist at the start (worker threads);
 * `others`: the threads that did (V8's platform threads — GC helpers — and libuv's pool).
 * Milliseconds; null off Linux.
 */
export function threadCpu(everyMs = 100) {
  const read = threadCpuMs;
  const start = read();
  const last = new Map(start);
  const sample = () => {
    for (const [t, ms] of read() ?? []) last.set(t, ms);
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop(): { main: number; started: number; others: number } | null {
      clearInterval(timer);
      sample();
      if (!start) return null;
      const r = { main: 0, started: 0, others: 0 };
      for (const [t, ms] of last) {
        const d = ms - (start.get(t) ?? 0);
        if (t === process.pid) r.main += d;
        else if (start.has(t)) r.others += d;
        else r.started += d;
      }
      return r;
    },
  };
}

/**
 * CPU time of every process of a local PostgreSQL server by kind (its process title: "client
 * backend" for connections, "parallel worker", "walwriter", …), sampled every `everyMs` from /proc
 * as children of the postmaster, so that short-lived processes (the parallel workers of CREATE INDEX)
 * are counted too, to within one interval. Milliseconds; null when the server is not on this host.
 */
export async function postgresCpuSampler(db: Kysely<DB>, everyMs = 100) {
  const backend = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid;
  const statOf = (pid: number | string): string[] | null => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return null;
    }
  };
  const postmaster = Number(statOf(backend)?.[1] ?? NaN);
  if (!Number.isFinite(postmaster)) return null;
  const kindOf = (pid: string): string => {
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '');
      if (/parallel worker/.test(title)) return 'parallel worker';
      if (/(walwriter|checkpointer|background writer|autovacuum|logical replication|stats)/.test(title)) return title.replace(/^postgres: /, '').replace(/\s+$/, '');
      return 'client backend';
    } catch {
      return 'other';
    }
  };
  const start = new Map<number, number>();
  const last = new Map<number, { ms: number; kind: string }>();
  // The postmaster's children from /proc/<pid>/task/<pid>/children (one small read per sample; scanning
  // all of /proc every 100 ms would itself cost the bench's main thread several µs per row).
  const kinds = new Map<number, string>();
  const read = (into: (pid: number, ms: number, kind: string) => void) => {
    let children: string[];
    try {
      children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(' ').filter(Boolean);
    } catch {
      return;
    }
    for (const p of children) {
      const f = statOf(p);
      if (!f) continue;
      const pid = Number(p);
      let kind = kinds.get(pid);
      if (kind === undefined) kinds.set(pid, (kind = kindOf(p)));
      into(pid, ((Number(f[11]) + Number(f[12])) * 1000) / 100, kind);
    }
  };
  read((pid, ms) => start.set(pid, ms));
  const sample = () => read((pid, ms, kind) => last.set(pid, { ms, kind }));
  const timer = setInterval(sample, everyMs);
  return {
    stop(): { total: number; byKind: Record<string, number> } {
      clearInterval(timer);
      sample();
      const byKind: Record<string, number> = {};
      let total = 0;
      for (const [pid, { ms, kind }] of last) {
        const d = ms - (start.get(pid) ?? 0);
        if (d <= 0) continue;
        total += d;
        byKind[kind] = (byKind[kind] ?? 0) + d;
      }
      return { total, byKind };
    },
  };
}
