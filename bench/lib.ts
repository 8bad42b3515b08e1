// Helpers for benchmarks (bench/<name>.bench.ts, run with `npm run bench -- <name>`).
// A bench prints whatever it likes, then its result as the LAST line, one JSON object:
//   {"bench":…,"value":…,"unit":…,"baseline":…,"ratio":…,"machine":…, ...extra}
import { cpus, arch, platform } from 'node:os';
import { performance } from 'node:perf_hooks';

/** A short description of this machine, e.g. "node20.20.2 linux x64 2cpu AMD EPYC 7B13". */
export function machine(): string {
  const list = cpus();
  const model = (list[0]?.model ?? 'unknown cpu').replace(/\s+/g, ' ').trim();
  return `node${process.versions.node} ${platform()} ${arch()} ${list.length}cpu ${model}`;
}

export interface BenchResult {
  /** name of the benchmark */
  bench: string;
  /** the measured value */
  value: number;
  /** unit of value and baseline, e.g. "ms", "ops/s", "rows/s" */
  unit: string;
  /** the value it is compared with (a target, or the same work done another way) */
  baseline: number | null;
  /** value / baseline (or however the bench defines it); null when there is no baseline */
  ratio: number | null;
  /** further fields, appended after machine */
  extra?: Record<string, unknown>;
}

/** Print the result as one JSON line on stdout (print it last). */
export function printResult({ bench, value, unit, baseline, ratio, extra }: BenchResult): void {
  const line = { bench, value, unit, baseline, ratio, machine: machine(), ...(extra ?? {}) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/**
 * The p-th percentile (0..100) of the values, by linear interpolation between closest ranks.
 * Input need not be sorted (it is not modified). NaN for an empty array.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const clamped = Math.min(100, Math.max(0, p));
  const rank = (clamped / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

/** Run fn once and return its result with the elapsed wall time in milliseconds. */
export async function timeIt<T>(fn: () => T | Promise<T>): Promise<{ ms: number; result: T }> {
  const start = performance.now();
  const result = await fn();
  return { ms: performance.now() - start, result };
}
