// `npx tsx bench/export-stages.ts [rows] [repeats]`   (default 200,000 rows, 5 repeats)
//
// Node CPU per row of the export's transform (extraction.transform.core.mjs), without a database:
// demo contacts are sealed with the vault's codec and packed as PostgreSQL's binary COPY would send
// them (id, public as jsonb text, sealed, key id) in batches of 10,000, then transformed
//   - on this thread: the public values alone (no decryption), then the whole transform;
//   - through the export's worker pool (extraction.transform.ts), as the export runs it, with the CPU
//     of this process split by thread (/proc/self/task): this thread, the pool's workers, and the
//     threads that existed before (V8's platform threads — parallel and concurrent GC — and libuv's).
// Not a benchmark of the whole export (that is `npm run bench -- export`): it shows where Node's share
// of the time goes. Each figure is the minimum over the repeats; prints one JSON line last.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { newId } from '../apps/server/src/platform/ids.ts';
import { generateDemoContacts } from '../apps/server/src/modules/vault/vault.demo-data.ts';
// @ts-expect-error plain JS (the workers' module)
import { createTransform } from '../apps/server/src/modules/extraction/extraction.transform.core.mjs';
import { createTransformPool, type TransformSetup } from '../apps/server/src/modules/extraction/extraction.transform.ts';
import { framePacked } from '../apps/server/src/modules/extraction/extraction.repository.ts';
import { demoDataset } from './demo-dataset.ts';
import { printResult } from './lib.ts';
import { benchRuntime, intArg, log, round, threadCpuMs } from './support.ts';

// As Mamori runs (ADR 0016); BENCH_V8_DEFAULT=1 profiles under V8's defaults.
benchRuntime();
const ROWS = intArg(process.argv[2], 200_000, 'rows');
const REPEATS = intArg(process.argv[3], 5, 'repeats');
const BATCH = 10_000;

/** jsonb's text form: keys ordered by length, then bytes; `"k": "v"` joined by `, `. */
function jsonbText(o: Record<string, string>): string {
  const keys = Object.keys(o).sort((a, b) => {
    const la = Buffer.byteLength(a);
    const lb = Buffer.byteLength(b);
    return la !== lb ? la - lb : Buffer.compare(Buffer.from(a), Buffer.from(b));
  });
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${JSON.stringify(o[k])}`).join(', ')}}`;
}

function packBatches(): { batches: Buffer[]; setup: TransformSetup } {
  const { view, keys, codec } = demoDataset();
  const datasetId = view.id;
  const fields = view.fields;
  const records: { id: string; pub: Buffer; sealed: Buffer | null; keyId: Buffer | null }[] = [];
  for (const c of generateDemoContacts(ROWS, 42)) {
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(c)) if (typeof v === 'string' && v !== '') values[k] = v;
    const id = newId<'RecordId'>();
    const r = codec.encode(id, values);
    records.push({ id, pub: Buffer.from(jsonbText(JSON.parse(r.public) as Record<string, string>)), sealed: r.sealed, keyId: r.keyId === null ? null : Buffer.from(r.keyId) });
  }
  records.sort((a, b) => (a.id < b.id ? -1 : 1));
  const batches: Buffer[] = [];
  for (let i = 0; i < records.length; i += BATCH) {
    const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
    for (const r of records.slice(i, i + BATCH)) {
      const head = Buffer.alloc(6);
      head.writeInt16BE(4, 0);
      head.writeInt32BE(16, 2);
      parts.push(head, Buffer.from(r.id.replaceAll('-', ''), 'hex'));
      for (const v of [r.pub, r.sealed, r.keyId]) {
        const len = Buffer.alloc(4);
        len.writeInt32BE(v === null ? -1 : v.length, 0);
        parts.push(len);
        if (v !== null) parts.push(v);
      }
    }
    parts.push(Buffer.from([0xff, 0xff]));
    batches.push(Buffer.concat(parts));
  }
  const setup: TransformSetup = {
    datasetId, dataKeys: keys.dataKeyEntries(), fields: fields.map((f) => ({ name: f.name, kind: f.kind })), fingerprintKey: randomBytes(32), needsPersonal: true, encoding: 'utf8',
  };
  return { batches, setup };
}

/** CPU ms of each thread of this process (this bench runs on Linux only). */
const threads = (): Map<number, number> => threadCpuMs() ?? new Map<number, number>();

const cpuUs = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

async function main(): Promise<void> {
  log(`export-stages: ${ROWS} rows, ${REPEATS} repeats`);
  const { batches, setup } = packBatches();
  const mib = batches.reduce((n, b) => n + b.length, 0) / 1024 / 1024;
  log(`packed ${batches.length} batches, ${round(mib, 1)} MiB`);
  const best: Record<string, number> = {};
  const keep = (name: string, usPerRow: number) => {
    best[name] = Math.min(best[name] ?? Infinity, round(usPerRow, 2));
  };
  let csvBytes = 0;
  for (let r = 0; r < REPEATS; r++) {
    // This thread: framing (the main thread's per-batch walk), public values only, the whole transform.
    let t = cpuUs();
    for (const b of batches) framePacked(b);
    keep('frame', (cpuUs() - t) / ROWS);
    const publicOnly = createTransform({ ...setup, needsPersonal: false });
    t = cpuUs();
    for (const b of batches) publicOnly(b, []);
    keep('public_only', (cpuUs() - t) / ROWS);
    const whole = createTransform(setup);
    const th = threads();
    t = cpuUs();
    csvBytes = 0;
    for (const b of batches) csvBytes += whole(b, []).length;
    keep('transform', (cpuUs() - t) / ROWS);
    keep('transform_this_thread', ((threads().get(process.pid)! - th.get(process.pid)!) * 1000) / ROWS);

    // The pool, as the export runs it: batches moved in turns, results released for reuse.
    const copies = batches.map((b) => Buffer.from(new Uint8Array(b)));
    const existing = threads();
    const pool = createTransformPool(setup);
    // Started and ready (the first batch is not timed): worker start-up is paid once per export.
    pool.release(await pool.transform({ rows: 1, lastId: null, data: Buffer.from(new Uint8Array(batches[0]!)) }).catch(() => Buffer.alloc(0)));
    const before = threads();
    const main0 = before.get(process.pid)!;
    const t0 = performance.now();
    const inWork: Promise<Buffer>[] = [];
    for (const b of copies) {
      inWork.push(pool.transform({ rows: BATCH, lastId: null, data: b }));
      if (inWork.length >= pool.size) pool.release(await inWork.shift()!);
    }
    while (inWork.length > 0) pool.release(await inWork.shift()!);
    const wallMs = performance.now() - t0;
    const after = threads();
    await pool.close();
    let started = 0;
    let others = 0;
    for (const [tid, ms] of after) {
      if (tid === process.pid) continue;
      if (existing.has(tid)) others += ms - before.get(tid)!;
      else started += ms - (before.get(tid) ?? 0);
    }
    keep('pool_main', ((after.get(process.pid)! - main0) * 1000) / ROWS);
    keep('pool_workers', (started * 1000) / ROWS);
    keep('pool_other_threads', (others * 1000) / ROWS);
    keep('pool_wall', (wallMs * 1000) / ROWS);
  }
  printResult({
    bench: 'export-stages', value: best.transform!, unit: 'cpu_us_per_row', baseline: best.public_only!, ratio: round(best.transform! / best.public_only!, 3),
    extra: { rows: ROWS, repeats: REPEATS, cpu_us_per_row: best, csv_mib: round(csvBytes / 1024 / 1024, 1), packed_mib: round(mib, 1), load_avg_1m: round(loadavg()[0]!, 2) },
  });
}

await main();
