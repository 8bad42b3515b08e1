// `npx tsx bench/import-stages.ts [rows] [repeats]`   (default 100,000 rows, 5 repeats)
//
// Node CPU per row of the import pipeline's stages, without a database: the demo CSV is generated
// into memory and fed in 64 KiB chunks (as createReadStream does), then each stage is run alone and
// cumulatively. Not a benchmark of the whole import (that is `npm run bench -- import`): it shows
// where Node's share of the time goes. Each figure is the minimum over the repeats of
// process.cpuUsage() (user + system) divided by the rows; on a shared machine the minimum is the
// least disturbed run. Prints one JSON line last.
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { newId } from '../apps/server/src/platform/ids.ts';
import type { FieldProblem } from '../apps/server/src/modules/vault/vault.codec.ts';
import { writeDemoCsv } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import { ImportEncoder } from '../apps/server/src/modules/vault/vault.import-encode.ts';
import { parseDelimitedChunk, parseImportBatches, splitImportBatches, type DelimitedChunk, type ImportRow } from '../apps/server/src/modules/vault/vault.import-parse.ts';
import type { LoadedDataset } from '../apps/server/src/modules/vault/vault.datasets.ts';
import { demoDataset } from './demo-dataset.ts';
import { benchRuntime, intArg, log, round } from './support.ts';

// As Mamori runs (ADR 0016); BENCH_V8_DEFAULT=1 profiles under V8's defaults.
benchRuntime();
const ROWS = intArg(process.argv[2], 100_000, 'rows');
const REPEATS = intArg(process.argv[3], 5, 'repeats');
const CHUNK = 64 * 1024;

async function* chunks(data: Buffer): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += CHUNK) yield data.subarray(i, i + CHUNK);
}

type Stage = { name: string; run: (data: Buffer, ds: LoadedDataset) => Promise<number> };

const STAGES: Stage[] = [
  {
    name: 'split_baseline',
    // What the cheapest possible reading costs: decode, split lines, split fields (no quoting rules).
    run: async (data) => {
      let n = 0;
      let carry = '';
      const decoder = new TextDecoder('utf-8', { fatal: true });
      for await (const c of chunks(data)) {
        const text = carry + decoder.decode(c, { stream: true });
        const lines = text.split('\r\n');
        carry = lines.pop() ?? '';
        for (const l of lines) if (l.split(',').length > 1) n++;
      }
      return n - 1;
    },
  },
  {
    name: 'parse',
    run: async (data) => {
      let n = 0;
      for await (const rows of parseImportBatches(chunks(data), 'csv')) for (const row of rows) if (row.line > 0) n++;
      return n;
    },
  },
  {
    name: 'split',
    // What the import's thread does with CSV once workers take the chunks: decode and find where records end.
    run: async (data) => {
      let n = 0;
      for await (const batch of splitImportBatches(chunks(data), 'csv')) {
        if (Array.isArray(batch)) throw new Error('split: the demo CSV came out as rows');
        const chunk = batch as DelimitedChunk;
        n += chunk.records - (chunk.last ? 1 : 0); // the last chunk counts one record more than it may hold (the demo CSV ends with a line break)
      }
      return n;
    },
  },
  {
    name: 'split+parse',
    run: async (data) => {
      let n = 0;
      for await (const batch of splitImportBatches(chunks(data), 'csv')) {
        const { rows, failure } = parseDelimitedChunk(batch as DelimitedChunk);
        if (failure) throw failure;
        n += rows.length;
      }
      return n;
    },
  },
  {
    name: 'parse+check',
    // As importRecords: codec.check, keeping the normalised values for encode.
    run: async (data, ds) => {
      let n = 0;
      const problems: FieldProblem[] = [];
      const trimmed: (string | undefined)[] = new Array<string | undefined>(ds.codec.fieldCount).fill(undefined);
      for await (const rows of parseImportBatches(chunks(data), 'csv')) {
        for (const row of rows) {
          problems.length = 0;
          ds.codec.check(row.values, problems, trimmed);
          if (problems.length === 0) n++;
        }
      }
      return n;
    },
  },
  {
    name: 'parse+check+encode',
    run: async (data, ds) => {
      let n = 0;
      const problems: FieldProblem[] = [];
      const trimmed: (string | undefined)[] = new Array<string | undefined>(ds.codec.fieldCount).fill(undefined);
      for await (const rows of parseImportBatches(chunks(data), 'csv')) {
        for (const row of rows) {
          problems.length = 0;
          ds.codec.check(row.values, problems, trimmed);
          if (problems.length !== 0) continue;
          const id = newId<'RecordId'>();
          if (ds.codec.encode(id, row.values, trimmed).terms.length > 0) n++;
        }
      }
      return n;
    },
  },
  {
    name: 'parse+check+encode+copy',
    // As importRecords on its own thread, minus the database: ImportEncoder over chunks of 2,000 rows
    // (validation, seal, blind indexes, the binary COPY rows of records and terms).
    run: async (data, ds) => {
      let n = 0;
      const encoder = new ImportEncoder(ds.codec, ds.view.id, new Date());
      let rows: ImportRow[] = [];
      const flush = () => {
        const r = encoder.encode(rows, rows.map(() => newId<'RecordId'>()));
        if (r.problemCount === 0 && r.records !== null) n += rows.length;
        rows = [];
      };
      for await (const batch of parseImportBatches(chunks(data), 'csv')) {
        for (const row of batch) {
          rows.push(row);
          if (rows.length === 2000) flush();
        }
      }
      if (rows.length > 0) flush();
      return n;
    },
  },
];

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-stages-'));
  try {
    const file = path.join(dir, 'contacts.csv');
    await writeDemoCsv(file, ROWS, 42);
    const data = await readFile(file);
    await rm(dir, { recursive: true, force: true });
    const ds = demoDataset();
    const only = process.env.STAGES?.split(',');
    const result: Record<string, number> = {};
    for (const stage of STAGES) {
      if (only && !only.includes(stage.name)) continue;
      let best = Infinity;
      for (let i = 0; i < REPEATS; i++) {
        const cpu0 = process.cpuUsage();
        const n = await stage.run(data, ds);
        const cpu = process.cpuUsage(cpu0);
        if (n !== ROWS) throw new Error(`${stage.name}: ${n} rows, expected ${ROWS}`);
        best = Math.min(best, (cpu.user + cpu.system) / ROWS);
      }
      result[stage.name] = round(best);
      log(`${stage.name}: ${round(best)} µs/row`);
    }
    process.stdout.write(`${JSON.stringify({ bench: 'import-stages', unit: 'cpu µs/row (min of repeats)', rows: ROWS, repeats: REPEATS, file_mib: round(data.length / 1024 / 1024, 1), ...result, load_avg_1m: round(loadavg()[0] ?? 0, 2) })}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
