// `npx tsx bench/import-threads.ts [rows] [rounds]`   (default 200,000 rows, 4 rounds; no database)
//
// What handing chunks to a worker thread costs each thread (ADR 0013, amendment of 2026-11-27): the
// demo CSV read the two ways the import can take it, every chunk encoded on one worker (ImportWorkers,
// three chunks in flight, as the import keeps them), taking turns:
//   rows  parsed on this thread (parseImportBatches) and sent as row objects (JSON Lines go so);
//   text  cut at record ends on this thread (splitImportBatches) and parsed on the worker (CSV/TSV).
// Per row: wall time, this thread's CPU (`main`), the worker's and V8's and libuv's threads (`others`:
// the worker and the helpers, which existed before the round). Not a benchmark of the import (that is
// `npm run bench -- import`). Prints one JSON line last, the least of the rounds for each figure.
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { newId } from '../apps/server/src/platform/ids.ts';
import { writeDemoCsv } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import { ImportEncoder, type EncodedChunk } from '../apps/server/src/modules/vault/vault.import-encode.ts';
import { ImportWorkers } from '../apps/server/src/modules/vault/vault.import-workers.ts';
import { parseImportBatches, splitImportBatches, type DelimitedChunk, type ImportRow } from '../apps/server/src/modules/vault/vault.import-parse.ts';
import { demoDataset } from './demo-dataset.ts';
import { benchRuntime, intArg, log, round, threadCpu } from './support.ts';

benchRuntime();
const ROWS = intArg(process.argv[2], 200_000, 'rows');
const ROUNDS = intArg(process.argv[3], 4, 'rounds');
const CHUNK_ROWS = 2000;
const IN_FLIGHT = 3;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-threads-'));
  let data: Buffer;
  try {
    const file = path.join(dir, 'contacts.csv');
    await writeDemoCsv(file, ROWS, 42);
    data = await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  async function* pieces(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
  }
  const ds = demoDataset();
  const pool = new ImportWorkers(ImportEncoder.setup(ds.view, ds.keys, ds.codec, new Date()), 1);
  if (!(await pool.ready)) throw new Error('the worker did not start');
  const ids = (n: number) => Array.from({ length: n }, () => newId<'RecordId'>());

  const drive = async (mode: 'rows' | 'text'): Promise<number> => {
    const inFlight: Promise<EncodedChunk>[] = [];
    let n = 0;
    const send = async (p: Promise<EncodedChunk>) => {
      inFlight.push(p);
      if (inFlight.length >= IN_FLIGHT) n += (await inFlight.shift()!).rows;
    };
    if (mode === 'rows') {
      let rows: ImportRow[] = [];
      for await (const batch of parseImportBatches(pieces(), 'csv')) {
        for (const r of batch) {
          rows.push(r);
          if (rows.length === CHUNK_ROWS) {
            await send(pool.run(rows, ids(rows.length)));
            rows = [];
          }
        }
      }
      if (rows.length > 0) await send(pool.run(rows, ids(rows.length)));
    } else {
      for await (const batch of splitImportBatches(pieces(), 'csv')) {
        const chunk = batch as DelimitedChunk;
        await send(pool.runText(chunk, ids(chunk.records)));
      }
    }
    while (inFlight.length > 0) n += (await inFlight.shift()!).rows;
    return n;
  };

  const best: Record<string, { wall: number; main: number; others: number }> = {};
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of ['rows', 'text'] as const) {
        const cpu = threadCpu(50);
        const t0 = performance.now();
        const n = await drive(mode);
        const wall = performance.now() - t0;
        const c = cpu.stop();
        if (n !== ROWS) throw new Error(`${mode}: ${n} rows, expected ${ROWS}`);
        if (!c) throw new Error('no per-thread CPU here (Linux /proc only)');
        const us = { wall: (wall * 1000) / n, main: (c.main * 1000) / n, others: ((c.others + c.started) * 1000) / n };
        log(`round ${r + 1} ${mode}: wall ${round(us.wall)} µs/row, main ${round(us.main)}, worker and helpers ${round(us.others)}`);
        const b = (best[mode] ??= { wall: Infinity, main: Infinity, others: Infinity });
        b.wall = Math.min(b.wall, us.wall);
        b.main = Math.min(b.main, us.main);
        b.others = Math.min(b.others, us.others);
      }
    }
  } finally {
    await pool.close();
  }
  const rounded = Object.fromEntries(Object.entries(best).map(([k, v]) => [k, { wall: round(v.wall), main: round(v.main), others: round(v.others) }]));
  process.stdout.write(`${JSON.stringify({ bench: 'import-threads', unit: 'µs/row (least of the rounds)', rows: ROWS, rounds: ROUNDS, ...rounded, load_avg_1m: round(loadavg()[0] ?? 0, 2) })}\n`);
}

await main();
