// bench: no-database
// `npm run bench -- dlp-quality`
//
// Precision and recall of the DLP detectors on the labelled corpus (bench/dlp-corpus/corpus.ts,
// generated deterministically), each document scanned from its bytes with scanBuffer (UTF-8 text
// and CSV, Shift_JIS CSV, XLSX). A finding at or above the report threshold (0.5) is a true
// positive when a label of the same kind on the same line overlaps it (tables: same row and cell
// column); every other finding is a false positive; every label without one is a false negative.
// Scored for the whole corpus and for the part added later and not tuned on (`untuned`: hardneg-*,
// hardpos-*, hardpos2-*, hard-contacts-*, sjis-*, *.xlsx). Prints one JSON line: overall (micro-averaged)
// precision as value, recall as baseline, and per detector.
import { scanBuffer } from '../apps/server/src/modules/dlp/index.ts';
import { generateCorpus, generateEncodedCorpus, type Doc, type Label } from './dlp-corpus/corpus.ts';
import { printResult } from './lib.ts';
import { log, round } from './support.ts';

type Stat = { tp: number; fp: number; fn: number };
const UNTUNED = /^(hardneg-|hardpos-|hardpos2-|hard-contacts-|sjis-)|\.xlsx$/;

const docs: Doc[] = [...generateCorpus(), ...(await generateEncodedCorpus())];
const all = new Map<string, Stat>();
const untuned = new Map<string, Stat>();
const stat = (m: Map<string, Stat>, k: string): Stat => {
  let s = m.get(k);
  if (!s) m.set(k, (s = { tp: 0, fp: 0, fn: 0 }));
  return s;
};
const count = (d: Doc, k: string, what: keyof Stat): void => {
  stat(all, k)[what]++;
  if (UNTUNED.test(d.file)) stat(untuned, k)[what]++;
};
for (const d of docs) {
  const report = await scanBuffer(d.file, d.bytes ?? Buffer.from(d.text, 'utf8'));
  if (report.errors.length) throw new Error(`${d.file}: ${report.errors.map((e) => e.message).join('; ')}`);
  const used = new Set<Label>();
  for (const f of report.findings) {
    const l = d.labels.find((x) => !used.has(x) && x.kind === f.kind && x.line === f.line && (d.table ? x.column === f.column : x.column < f.column + f.length && f.column < x.column + x.length));
    if (l) {
      used.add(l);
      count(d, f.kind, 'tp');
    } else {
      count(d, f.kind, 'fp');
      log(`FP ${d.file}:${f.line}:${f.column} ${f.kind} ${f.confidence} ${f.excerpt}`);
    }
  }
  for (const l of d.labels) {
    if (!used.has(l)) {
      count(d, l.kind, 'fn');
      const line = d.text.split(d.table ? '\r\n' : '\n')[l.line - 1] ?? '';
      log(`FN ${d.file}:${l.line}:${l.column} ${l.kind} ${d.table ? line : line.slice(Math.max(0, l.column - 10), l.column + l.length + 5)}`);
    }
  }
}

function score(m: Map<string, Stat>): { precision: number; recall: number; tp: number; fp: number; fn: number; detectors: Record<string, Stat & { precision: number; recall: number }> } {
  const detectors: Record<string, Stat & { precision: number; recall: number }> = {};
  let tp = 0, fp = 0, fn = 0;
  for (const [k, s] of [...m.entries()].sort()) {
    detectors[k] = { precision: round(s.tp / Math.max(1, s.tp + s.fp), 3), recall: round(s.tp / Math.max(1, s.tp + s.fn), 3), ...s };
    tp += s.tp;
    fp += s.fp;
    fn += s.fn;
  }
  return { precision: round(tp / Math.max(1, tp + fp), 4), recall: round(tp / Math.max(1, tp + fn), 4), tp, fp, fn, detectors };
}
const overall = score(all);
const hard = score(untuned);
printResult({
  bench: 'dlp-quality',
  value: overall.precision,
  unit: 'precision',
  baseline: overall.recall,
  ratio: null,
  extra: {
    precision: overall.precision,
    recall: overall.recall,
    target: { precision: 0.97, recall: 0.95 },
    documents: docs.length,
    labels: docs.reduce((a, d) => a + d.labels.length, 0),
    tp: overall.tp,
    fp: overall.fp,
    fn: overall.fn,
    detectors: overall.detectors,
    untuned: { documents: docs.filter((d) => UNTUNED.test(d.file)).length, precision: hard.precision, recall: hard.recall, tp: hard.tp, fp: hard.fp, fn: hard.fn, detectors: hard.detectors },
  },
});
