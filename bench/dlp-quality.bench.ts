// bench: no-database
// `npm run bench -- dlp-quality`
//
// Precision and recall of the DLP detectors on the labelled corpus (bench/dlp-corpus/corpus.ts,
// generated deterministically). A finding at or above the report threshold (0.5) is a true
// positive when a label of the same kind on the same line overlaps it; every other finding is a
// false positive; every label without one is a false negative. Prints one JSON line: overall
// (micro-averaged) precision as value, recall as baseline, and per detector.
import { scanText } from '../apps/server/src/modules/dlp/index.ts';
import { generateCorpus, type Label } from './dlp-corpus/corpus.ts';
import { printResult } from './lib.ts';
import { log, round } from './support.ts';

const docs = generateCorpus();
const per = new Map<string, { tp: number; fp: number; fn: number }>();
const stat = (k: string): { tp: number; fp: number; fn: number } => {
  let s = per.get(k);
  if (!s) per.set(k, (s = { tp: 0, fp: 0, fn: 0 }));
  return s;
};
for (const d of docs) {
  const found = scanText(d.file, d.text).findings;
  const used = new Set<Label>();
  for (const f of found) {
    const l = d.labels.find((x) => !used.has(x) && x.kind === f.kind && x.line === f.line && (d.file.endsWith('.csv') ? x.column === f.column : x.column < f.column + f.length && f.column < x.column + x.length));
    if (l) {
      used.add(l);
      stat(f.kind).tp++;
    } else {
      stat(f.kind).fp++;
      log(`FP ${d.file}:${f.line}:${f.column} ${f.kind} ${f.confidence} ${f.excerpt}`);
    }
  }
  for (const l of d.labels) {
    if (!used.has(l)) {
      stat(l.kind).fn++;
      const line = d.text.split('\n')[l.line - 1] ?? '';
      log(`FN ${d.file}:${l.line}:${l.column} ${l.kind} ${line.slice(Math.max(0, l.column - 10), l.column + l.length + 5)}`);
    }
  }
}
const detectors: Record<string, { precision: number; recall: number; tp: number; fp: number; fn: number }> = {};
let tp = 0, fp = 0, fn = 0;
for (const [k, s] of [...per.entries()].sort()) {
  detectors[k] = { precision: round(s.tp / Math.max(1, s.tp + s.fp), 3), recall: round(s.tp / Math.max(1, s.tp + s.fn), 3), ...s };
  tp += s.tp;
  fp += s.fp;
  fn += s.fn;
}
const precision = round(tp / Math.max(1, tp + fp), 4);
const recall = round(tp / Math.max(1, tp + fn), 4);
printResult({
  bench: 'dlp-quality',
  value: precision,
  unit: 'precision',
  baseline: recall,
  ratio: null,
  extra: { precision, recall, target: { precision: 0.97, recall: 0.95 }, documents: docs.length, labels: docs.reduce((a, d) => a + d.labels.length, 0), tp, fp, fn, detectors },
});
