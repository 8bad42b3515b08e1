/**
 * `mamori dlp scan <path...>`: scans files and folders for personal data. Human output is a table
 * of findings and a summary per kind; `--json` prints one JSON object per finding
 * ({kind, file, line, column, length, confidence, excerpt}) for other tools; the table shows the
 * first --max-findings (100) of each file and counts all of them (summary mode). `--workers N`
 * scans folders and large files on a worker pool (dlp.pool.ts; off by default: it did not help on
 * two cores); `--vault` also matches the vault of the data folder (exact data match), in this
 * process.
 *
 * Exit status: 0 when everything could be scanned, 2 when some part could not (over a limit,
 * encrypted, unsupported): what was not scanned is listed on stderr, never passed silently.
 */
import type { Command } from 'commander';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DLP_KINDS, type DlpFinding, type DlpKind, type DlpReport, type DlpScanError } from '@mamori/contracts';
import { loadConfig } from '../config/config.ts';
import { createVaultMatcher, DEFAULT_MIN_CONFIDENCE, type DlpScanOptions } from '../modules/dlp/index.ts';
import { scanFiles } from '../modules/dlp/dlp.pool.ts';
import { createProgressBar } from './progress.ts';
import { resolveTarget } from './target.ts';

/** The table shows this many findings per file by default (--json lists all). */
const TABLE_FINDINGS = 100;

type Opts = { json?: boolean; minConfidence?: string; workers?: string; vault?: boolean; maxFindings?: string };

async function collect(p: string, out: { file: string; size: number }[]): Promise<void> {
  const s = await stat(p);
  if (s.isDirectory()) {
    const entries = await readdir(p, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.isDirectory() || e.isFile()) await collect(path.join(p, e.name), out);
    }
  } else if (s.isFile()) out.push({ file: p, size: s.size });
}

export function jsonLine(f: DlpFinding): string {
  return JSON.stringify({ kind: f.kind, file: f.file, line: f.line, column: f.column, length: f.length, confidence: f.confidence, excerpt: f.excerpt });
}

function pad(s: string, n: number): string {
  const w = [...s].reduce((a, c) => a + (c.charCodeAt(0) > 0x2e80 ? 2 : 1), 0);
  return w >= n ? s : s + ' '.repeat(n - w);
}

export function registerDlpCommands(program: Command): void {
  const dlp = program.command('dlp').description('Data-loss prevention: find personal data in files');
  dlp
    .command('scan')
    .description('Scan files and folders (text, CSV/TSV, JSON, XLSX, .eml, ZIP; UTF-8, Shift_JIS, EUC-JP, ISO-2022-JP)')
    .argument('<paths...>')
    .option('--json', 'one JSON object per finding: kind, file, line, column, length, confidence, excerpt')
    .option('--min-confidence <n>', `report findings at or above this confidence, 0..1 (default ${DEFAULT_MIN_CONFIDENCE})`)
    .option('--workers <n>', 'worker threads for folders and large files (default 0: none; measured not to help on 2 cores)')
    .option('--max-findings <n>', `table: findings shown per file (default ${TABLE_FINDINGS}; all are counted in the summary; --json lists every one)`)
    .option('--vault', 'also report values that are in the vault (exact data match through the blind indexes); opens the data folder')
    .action(async (paths: string[], opts: Opts) => {
      const minConfidence = opts.minConfidence === undefined ? DEFAULT_MIN_CONFIDENCE : Number(opts.minConfidence);
      if (!(minConfidence >= 0 && minConfidence <= 1)) throw new Error('--min-confidence must be between 0 and 1');
      const files: { file: string; size: number }[] = [];
      for (const p of paths) await collect(p, files);
      const total = files.reduce((a, f) => a + f.size, 0);

      const summary = new Map<DlpKind, number>();
      const errors: DlpScanError[] = [];
      let findings = 0;
      let bytes = 0;
      const print = (r: DlpReport): void => {
        let out = '';
        for (const f of r.findings) out += opts.json ? `${jsonLine(f)}\n` : `${pad(f.kind, 17)} ${f.confidence.toFixed(2)}  ${f.file}:${f.line}:${f.column}  ${f.excerpt}\n`;
        if (r.omittedFindings) out += `  … and ${r.omittedFindings} more finding(s) not shown (--json lists all, --max-findings shows more)\n`;
        process.stdout.write(out);
        for (const [k, n] of Object.entries(r.summary)) {
          findings += n;
          summary.set(k as DlpKind, (summary.get(k as DlpKind) ?? 0) + n);
        }
        errors.push(...r.errors);
        bytes += r.bytesScanned;
      };

      const maxFindings = opts.maxFindings === undefined ? TABLE_FINDINGS : Number(opts.maxFindings);
      if (!(Number.isInteger(maxFindings) && maxFindings >= 0)) throw new Error('--max-findings must be a whole number');
      // --json lists every finding; the table shows the first ones of each file (summary mode:
      // every finding is still counted).
      const base: DlpScanOptions = opts.json ? { minConfidence } : { minConfidence, maxFindings };
      const started = Date.now();
      const bar = createProgressBar('dlp scan', 'bytes');
      if (opts.vault) {
        // Exact data match needs the database: in this process, one file at a time.
        const target = await resolveTarget(loadConfig());
        if (target.mode !== 'offline') throw new Error('--vault opens the data folder itself: stop the server first (or scan through the server’s gateway).');
        try {
          const vault = createVaultMatcher(target.ctx.db, target.ctx.keyring);
          await scanFiles(files, { scan: { ...base, vault }, onReport: print, onProgress: (done) => bar.update(done, total) });
        } finally {
          bar.stop();
          await target.close();
        }
      } else {
        const workers = opts.workers === undefined ? 0 : Number(opts.workers);
        if (!(Number.isInteger(workers) && workers >= 0)) throw new Error('--workers must be a whole number');
        try {
          await scanFiles(files, { scan: base, workers, onReport: print, onProgress: (done) => bar.update(done, total) });
        } finally {
          bar.stop();
        }
      }

      const secs = (Date.now() - started) / 1000;
      if (!opts.json) {
        process.stdout.write(`\n${files.length} file(s), ${(bytes / 1e6).toFixed(1)} MB in ${secs.toFixed(1)} s: ${findings} finding(s)\n`);
        for (const k of DLP_KINDS) if (summary.get(k)) process.stdout.write(`  ${pad(k, 17)} ${summary.get(k)}\n`);
      }
      for (const e of errors) process.stderr.write(`mamori dlp: not scanned: ${e.file}: ${e.code}: ${e.message}\n`);
      if (errors.length > 0) process.exitCode = 2;
    });
}
