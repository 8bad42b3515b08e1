// bench: no-database
// `npm run bench -- dlp [MiB]`
//
// DLP scanning speed on a CSV of contacts (default 100 MiB; the demo generator, deterministic:
// corporate number, company, address, postal code, name, kana, e-mail, two phones per row — about
// six findings per row) against one plain combined regular-expression pass over the same text in
// the same run (the usual "regex DLP": match only — no check digit, no context, no report).
//
// Measured on one core, best of BENCH_REPEAT (default 3) runs each:
//   regex     — the combined V8 regular expression, counting matches
//   core      — the detector pass (dlp.scanner.ts): tokenising, validation (check digits, numbering
//               plan, issuer ranges), context and column headers, findings into typed arrays
//   report    — scanText: core + DlpFinding objects with masked excerpts (what the API returns)
//   buffer    — scanBuffer from the bytes: format and encoding detection, UTF-8 decoding, report
// MB/s are of input bytes (UTF-8). The result line's value is `report` (validation and output
// included); its baseline is `regex`.
import { performance } from 'node:perf_hooks';
import { DEMO_CONTACT_FIELDS, generateDemoContacts } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import { scanBuffer, scanText } from '../apps/server/src/modules/dlp/index.ts';
import { FindingBuffer, scanString } from '../apps/server/src/modules/dlp/dlp.scanner.ts';
import { printResult } from './lib.ts';
import { intArg, log, round } from './support.ts';

const MIB = intArg(process.argv[2], 100, 'MiB');
const REPEAT = intArg(process.env.BENCH_REPEAT, 3, 'BENCH_REPEAT');
const TARGET = MIB * 1024 * 1024;

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function generate(): string {
  const names = DEMO_CONTACT_FIELDS.map((f) => f.name);
  const header = DEMO_CONTACT_FIELDS.map((f) => f.labelJa).join(',') + '\r\n';
  const parts: string[] = [header];
  let bytes = Buffer.byteLength(header);
  // Rows are ~270 bytes: ask for enough, stop at the target.
  const count = Math.ceil(TARGET / 200);
  for (const c of generateDemoContacts(count, 20261125)) {
    const line = names.map((n) => csvField(c[n as keyof typeof c])).join(',') + '\r\n';
    parts.push(line);
    bytes += Buffer.byteLength(line);
    if (bytes >= TARGET) break;
  }
  return parts.join('');
}

const COMBINED = /(?:\d{4}[ -]?\d{4}[ -]?\d{4}(?:[ -]?\d{1,4})?)|(?:0\d{1,4}-\d{1,4}-\d{3,4})|(?:[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)|(?:\d{3}-\d{4})|(?:\d{13})/g;

function best<T>(label: string, fn: () => T): { ms: number; result: T } {
  let ms = Infinity;
  let result!: T;
  for (let r = 0; r < REPEAT; r++) {
    const t0 = performance.now();
    result = fn();
    const t = performance.now() - t0;
    if (t < ms) ms = t;
    log(`${label}: ${t.toFixed(0)} ms`);
  }
  return { ms, result };
}

async function main(): Promise<void> {
  log(`generating ${MIB} MiB of contacts CSV…`);
  const text = generate();
  const bytes = Buffer.from(text, 'utf8');
  const mb = bytes.length / 1e6;
  log(`${bytes.length} bytes, ${text.length} UTF-16 units, ${text.split('\n').length - 1} lines`);

  const regex = best('regex', () => {
    let n = 0;
    COMBINED.lastIndex = 0;
    while (COMBINED.exec(text) !== null) n++;
    return n;
  });
  const core = best('core', () => {
    const buf = new FindingBuffer(0.5);
    scanString(text, { mode: 'csv' }, buf);
    return buf.count;
  });
  const report = best('report', () => scanText('contacts.csv', text).findings.length);
  let bufferMs = Infinity;
  let bufferFindings = 0;
  for (let r = 0; r < REPEAT; r++) {
    const t0 = performance.now();
    const rep = await scanBuffer('contacts.csv', bytes);
    const t = performance.now() - t0;
    bufferMs = Math.min(bufferMs, t);
    bufferFindings = rep.findings.length;
    log(`buffer: ${t.toFixed(0)} ms`);
  }
  const summary = scanText('contacts.csv', text).summary;
  const rate = (ms: number): number => round(mb / (ms / 1000), 1);
  printResult({
    bench: 'dlp',
    value: rate(report.ms),
    unit: 'MB/s',
    baseline: rate(regex.ms),
    ratio: round(regex.ms / report.ms, 3),
    extra: {
      mb: round(mb, 1),
      core_mb_s: rate(core.ms),
      report_mb_s: rate(report.ms),
      buffer_mb_s: rate(bufferMs),
      regex_mb_s: rate(regex.ms),
      findings: report.result,
      core_findings: core.result,
      buffer_findings: bufferFindings,
      regex_matches: regex.result,
      summary,
      target_mb_s: 200,
      load_avg_1m: round((await import('node:os')).loadavg()[0] ?? 0, 2),
    },
  });
}

await main();
