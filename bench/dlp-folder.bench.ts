// bench: no-database
// `npm run bench -- dlp-folder [MiB] [workers]`
//
// Does the worker pool make `mamori dlp scan` of a folder faster? A temp folder of about MiB
// (default 34) of files — contact CSVs of 1 MiB each and one large CSV cut into 8 MiB chunks — is
// scanned with scanFiles (the CLI's code) in this thread (the baseline) and on a pool of `workers`
// threads (default 2), both in summary mode (the table: first 100 findings per file, all counted)
// and listing every finding (--json). Results come back from the workers packed (typed arrays
// transferred). Best of BENCH_REPEAT (default 2) runs each; the pool's start-up is included, as a
// CLI run pays it; `warm_*` is the same on a pool started beforehand (its own work only). Value: pool
// MB/s listing every finding; baseline: the same in this thread.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEMO_CONTACT_FIELDS, generateDemoContacts } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import { createDlpPool, scanFiles, type DlpPool } from '../apps/server/src/modules/dlp/dlp.pool.ts';
import { printResult } from './lib.ts';
import { intArg, log, round } from './support.ts';

const MIB = intArg(process.argv[2], 34, 'MiB');
const WORKERS = intArg(process.argv[3], 2, 'workers');
const REPEAT = intArg(process.env.BENCH_REPEAT, 2, 'BENCH_REPEAT');

function contactsCsv(bytes: number, seed: number): string {
  const names = DEMO_CONTACT_FIELDS.map((f) => f.name);
  let out = DEMO_CONTACT_FIELDS.map((f) => f.labelJa).join(',') + '\r\n';
  for (const c of generateDemoContacts(Math.ceil(bytes / 200), seed)) {
    out += names.map((n) => c[n as keyof typeof c]).join(',') + '\r\n';
    if (out.length * 1.6 >= bytes) break;
  }
  return out;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-dlp-folder-'));
  try {
    const files: { file: string; size: number }[] = [];
    const large = Math.max(1, Math.floor(MIB / 3));
    for (let i = 0; i + large < MIB; i++) {
      const text = contactsCsv(1024 * 1024, 100 + i);
      const file = path.join(dir, `contacts-${String(i).padStart(3, '0')}.csv`);
      await writeFile(file, text);
      files.push({ file, size: Buffer.byteLength(text) });
    }
    const big = contactsCsv(large * 1024 * 1024, 7);
    const bigFile = path.join(dir, 'zz-large.csv');
    await writeFile(bigFile, big);
    files.push({ file: bigFile, size: Buffer.byteLength(big) });
    const total = files.reduce((a, f) => a + f.size, 0);
    const mb = total / 1e6;
    log(`${files.length} files, ${mb.toFixed(1)} MB in ${dir}`);

    const run = async (label: string, workers: number, maxFindings: number | undefined, pool?: DlpPool): Promise<{ ms: number; findings: number; counted: number }> => {
      let ms = Infinity;
      let findings = 0;
      let counted = 0;
      for (let r = 0; r < REPEAT; r++) {
        findings = 0;
        counted = 0;
        const t0 = performance.now();
        await scanFiles(files, {
          scan: maxFindings === undefined ? {} : { maxFindings },
          workers,
          ...(pool ? { pool } : {}),
          onReport: (rep) => {
            findings += rep.findings.length;
            for (const n of Object.values(rep.summary)) counted += n;
          },
        });
        const t = performance.now() - t0;
        ms = Math.min(ms, t);
        log(`${label}: ${t.toFixed(0)} ms, ${findings} listed, ${counted} counted`);
      }
      return { ms, findings, counted };
    };
    const singleAll = await run('this thread, every finding', 0, undefined);
    const poolAll = await run(`pool of ${WORKERS}, every finding`, WORKERS, undefined);
    const singleSummary = await run('this thread, summary', 0, 100);
    const poolSummary = await run(`pool of ${WORKERS}, summary`, WORKERS, 100);
    // The same with a pool started beforehand (its start-up left out): the pool's own work.
    const warm = await createDlpPool({}, WORKERS);
    const warmAll = await run(`warm pool of ${WORKERS}, every finding`, WORKERS, undefined, warm);
    await warm.close();
    const warmS = await createDlpPool({ maxFindings: 100 }, WORKERS);
    const warmSummary = await run(`warm pool of ${WORKERS}, summary`, WORKERS, 100, warmS);
    await warmS.close();
    if (poolAll.findings !== singleAll.findings || poolSummary.counted !== singleSummary.counted || warmAll.findings !== singleAll.findings) throw new Error('the pool and this thread disagree');
    const rate = (ms: number): number => round(mb / (ms / 1000), 1);
    printResult({
      bench: 'dlp-folder',
      value: rate(poolAll.ms),
      unit: 'MB/s',
      baseline: rate(singleAll.ms),
      ratio: round(singleAll.ms / poolAll.ms, 3),
      extra: {
        mb: round(mb, 1),
        files: files.length,
        workers: WORKERS,
        all: { pool_mb_s: rate(poolAll.ms), warm_pool_mb_s: rate(warmAll.ms), single_mb_s: rate(singleAll.ms), speedup: round(singleAll.ms / poolAll.ms, 3), warm_speedup: round(singleAll.ms / warmAll.ms, 3) },
        summary: { pool_mb_s: rate(poolSummary.ms), warm_pool_mb_s: rate(warmSummary.ms), single_mb_s: rate(singleSummary.ms), speedup: round(singleSummary.ms / poolSummary.ms, 3), warm_speedup: round(singleSummary.ms / warmSummary.ms, 3) },
        findings: singleAll.findings,
        load_avg_1m: { before: round(loadBefore, 2), after: round(loadavg()[0] ?? 0, 2) },
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
