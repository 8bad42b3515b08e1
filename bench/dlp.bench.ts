// bench: no-database
// `npm run bench -- dlp [MiB]`
//
// DLP scanning speed on a CSV of contacts (default 100 MiB; the demo generator, deterministic:
// corporate number, company, address, postal code, name, kana, e-mail, two phones per row — about
// six findings per row, ~22,000 per MB) against one plain combined regular-expression pass over
// the same text in the same run (the usual "regex DLP": match only — no check digit, no context,
// no report, and the text already decoded to a JS string, which the scanner does not need).
//
// Measured on one core, best of BENCH_REPEAT (default 3) runs each, in this order:
//   regex     — the combined V8 regular expression over the decoded string, counting matches
//   core      — the detector pass alone (dlp.scanner.ts scanBytes over the UTF-8 bytes):
//               tokenising, validation (check digits, numbering plan, issuer ranges), context and
//               column headers, findings counted in typed arrays
//   summary   — scanBuffer(bytes, { maxFindings: 100 }): what the gateway and large scans call —
//               format and encoding detection (UTF-8 validated), the detector pass, the summary
//               per kind and the first 100 findings with masked excerpts. THE RESULT VALUE.
//   report    — scanBuffer(bytes): every finding as a DlpFinding with its masked excerpt (what
//               `mamori dlp scan --json` prints)
//   decode    — Buffer#toString of the bytes (what the regex baseline gets for free; for reference)
// MB/s are of input bytes (UTF-8, 10^6) per second of wall time. On a shared machine the CPU time
// of the process is a steadier measure: `cpu_mb_s` gives the same rates per CPU second. The load
// average (1 min) before and after the runs is in the result.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEMO_CONTACT_FIELDS, generateDemoContacts } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import { scanBuffer } from '../apps/server/src/modules/dlp/index.ts';
import { FindingBuffer, scanBytes } from '../apps/server/src/modules/dlp/dlp.scanner.ts';
import { printResult } from './lib.ts';
import { intArg, log, round } from './support.ts';

const MIB = intArg(process.argv[2], 100, 'MiB');
const REPEAT = intArg(process.env.BENCH_REPEAT, 3, 'BENCH_REPEAT');
const TARGET = MIB * 1024 * 1024;
const SUMMARY_FINDINGS = 100;

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function generate(): Buffer {
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
  return Buffer.from(parts.join(''), 'utf8');
}

const COMBINED = /(?:\d{4}[ -]?\d{4}[ -]?\d{4}(?:[ -]?\d{1,4})?)|(?:0\d{1,4}-\d{1,4}-\d{3,4})|(?:[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)|(?:\d{3}-\d{4})|(?:\d{13})/g;

type Timed<T> = { ms: number; cpuMs: number; result: T };

async function best<T>(label: string, fn: () => T | Promise<T>): Promise<Timed<T>> {
  let ms = Infinity;
  let cpuMs = Infinity;
  let result!: T;
  for (let r = 0; r < REPEAT; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = await fn();
    const t = performance.now() - t0;
    const c = process.cpuUsage(c0);
    ms = Math.min(ms, t);
    cpuMs = Math.min(cpuMs, (c.user + c.system) / 1000);
    log(`${label}: ${t.toFixed(0)} ms (cpu ${((c.user + c.system) / 1000).toFixed(0)} ms)`);
  }
  return { ms, cpuMs, result };
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  log(`generating ${MIB} MiB of contacts CSV…`);
  const bytes = generate();
  const mb = bytes.length / 1e6;
  const decode = await best('decode', () => bytes.toString('utf8'));
  const text = decode.result;
  log(`${bytes.length} bytes, ${text.length} UTF-16 units, ${text.split('\n').length - 1} lines`);

  const regex = await best('regex', () => {
    let n = 0;
    COMBINED.lastIndex = 0;
    while (COMBINED.exec(text) !== null) n++;
    return n;
  });
  const core = await best('core', () => {
    const buf = new FindingBuffer(0.5, 1024, 0);
    scanBytes(bytes, { mode: 'csv' }, buf);
    return buf.total;
  });
  const summary = await best('summary', () => scanBuffer('contacts.csv', bytes, { maxFindings: SUMMARY_FINDINGS }));
  const report = await best('report', async () => (await scanBuffer('contacts.csv', bytes)).findings.length);
  const loadAfter = loadavg()[0] ?? 0;

  const rate = (ms: number): number => round(mb / (ms / 1000), 1);
  const s = summary.result;
  printResult({
    bench: 'dlp',
    value: rate(summary.ms),
    unit: 'MB/s',
    baseline: rate(regex.ms),
    ratio: round(regex.ms / summary.ms, 3),
    extra: {
      mb: round(mb, 1),
      summary_mb_s: rate(summary.ms),
      core_mb_s: rate(core.ms),
      report_mb_s: rate(report.ms),
      regex_mb_s: rate(regex.ms),
      decode_mb_s: rate(decode.ms),
      cpu_mb_s: { summary: rate(summary.cpuMs), core: rate(core.cpuMs), report: rate(report.cpuMs), regex: rate(regex.cpuMs) },
      findings: report.result,
      core_findings: core.result,
      summary_listed: s.findings.length,
      summary_omitted: s.omittedFindings ?? 0,
      regex_matches: regex.result,
      summary: s.summary,
      target_mb_s: 200,
      load_avg_1m: { before: round(loadBefore, 2), after: round(loadAfter, 2) },
    },
  });
}

await main();
