/**
 * Leak tracing: from a leaked file (whole or a few dozen rows; columns reordered or dropped; UTF-8,
 * Shift_JIS re-save, or XLSX) name the export it came from. Two independent signals:
 * - canaries: every cell is marked with each dataset's canary key and looked up among the recorded
 *   marks of all exports (one hit names the export: canaries exist nowhere else);
 * - the fingerprint: per column, the cells with one space (names) are checked against each export's
 *   keyed choice of space; a column where every cell agrees gives one bit per cell (a wrong export
 *   agrees with n cells by chance with probability 2^-n).
 */
import { parse } from 'csv-parse/sync';
import { unzipSync, strFromU8 } from 'fflate';
import type { TraceMatch, TraceResult } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from '../audit/index.ts';
import { listDatasets, loadDataset } from '../vault/index.ts';
import { extractionRepository } from './extraction.repository.ts';
import { viewsOf } from './extraction.service.ts';
import { canaryKeyOf, fingerprintKeyOf } from './extraction.run.ts';
import { Fingerprinter, markOf, normalizeMark } from './extraction.watermark.ts';

const MAX_ROWS = 200_000;
const MAX_FINGERPRINT_CELLS_PER_COLUMN = 500;
const CANDIDATES = 1000;

function xmlText(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()]!;
  });
}

function columnIndex(ref: string): number {
  let n = 0;
  for (const ch of ref.replace(/\d+$/, '')) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/** The first worksheet of an XLSX, as rows of strings (shared and inline strings, numbers as written). */
function readXlsx(bytes: Uint8Array): string[][] {
  const files = unzipSync(bytes, { filter: (f) => f.name === 'xl/sharedStrings.xml' || /^xl\/worksheets\/sheet\d+\.xml$/.test(f.name) });
  const sheetName = Object.keys(files).filter((n) => n.startsWith('xl/worksheets/')).sort()[0];
  if (!sheetName) throw new AppError('trace.unreadable', 'The workbook has no worksheet.');
  const shared: string[] = [];
  if (files['xl/sharedStrings.xml']) {
    for (const si of strFromU8(files['xl/sharedStrings.xml']).matchAll(/<si>([\s\S]*?)<\/si>/g)) {
      shared.push(xmlText([...si[1]!.matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((m) => m[1]).join('')));
    }
  }
  const rows: string[][] = [];
  for (const row of strFromU8(files[sheetName]!).matchAll(/<row[^>]*>([\s\S]*?)<\/row>/g)) {
    const cells: string[] = [];
    for (const c of row[1]!.matchAll(/<c([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const attrs = c[1]!;
      const body = c[2] ?? '';
      const ref = /r="([A-Z]+\d+)"/.exec(attrs)?.[1];
      const type = /t="(\w+)"/.exec(attrs)?.[1];
      const raw = /<v>([\s\S]*?)<\/v>/.exec(body)?.[1] ?? '';
      const v = type === 'inlineStr'
        ? xmlText([...body.matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((m) => m[1]).join(''))
        : type === 's' ? (shared[Number(raw)] ?? '') : xmlText(raw);
      cells[ref ? columnIndex(ref) : cells.length] = v;
    }
    rows.push(Array.from(cells, (x) => x ?? ''));
    if (rows.length >= MAX_ROWS) break;
  }
  return rows;
}

/** CSV in UTF-8 (with or without BOM) or Shift_JIS/CP932, detected: UTF-8 is strict, so Shift_JIS bytes fail it. */
function readCsv(bytes: Uint8Array): string[][] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    text = new TextDecoder('shift_jis').decode(bytes);
  }
  try {
    return (parse(text, { relax_column_count: true, relax_quotes: true, skip_empty_lines: true, to: MAX_ROWS, bom: true }) as string[][]);
  } catch {
    throw new AppError('trace.unreadable', 'The file could not be read as CSV or XLSX.');
  }
}

export function readLeakedFile(bytes: Uint8Array): string[][] {
  const isZip = bytes.length > 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  try {
    return isZip ? readXlsx(bytes) : readCsv(bytes);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('trace.unreadable', 'The file could not be read as CSV or XLSX.');
  }
}

function confidenceOf(canaries: number, bits: number): TraceMatch['confidence'] | null {
  if (canaries >= 2 || (canaries === 1 && bits >= 10)) return 'certain';
  if (canaries === 1 || bits >= 20) return 'high';
  if (bits >= 10) return 'medium';
  if (bits >= 6) return 'low';
  return null;
}

const RANK = { certain: 3, high: 2, medium: 1, low: 0 } as const;

export async function traceFile(ctx: AppContext, actor: Actor, bytes: Uint8Array): Promise<TraceResult> {
  const d = await authorize(ctx, { actor, action: 'extraction.trace' });
  const rows = readLeakedFile(bytes);
  const repo = extractionRepository(ctx.db);

  // Canaries: every distinct cell value, marked with each dataset's canary key.
  const distinct = new Set<string>();
  for (const r of rows) for (const c of r) if (normalizeMark(c).length >= 6) distinct.add(c);
  const canaryHits = new Map<string, Set<number>>();
  for (const ds of await listDatasets(ctx, actor)) {
    const key = canaryKeyOf(await loadDataset(ctx, ds.name));
    const marks = [...distinct].map((v) => markOf(key, v));
    for (let i = 0; i < marks.length; i += 5000) {
      for (const h of await repo.extractionsByMarks(marks.slice(i, i + 5000))) {
        let s = canaryHits.get(h.extraction_id);
        if (!s) canaryHits.set(h.extraction_id, (s = new Set()));
        s.add(h.position);
      }
    }
  }

  // Fingerprint: per column, the cells that carry a bit.
  const width = Math.max(0, ...rows.map((r) => r.length));
  const columns: string[][] = [];
  for (let c = 0; c < width; c++) {
    // One bit per distinct value: a value repeated down a column (a title, a department) is one coin flip.
    const cells = new Set<string>();
    for (const r of rows) {
      const v = (r[c] ?? '').trim();
      if (/^[^\s]+[ \u3000][^\s]+$/u.test(v)) cells.add(v);
      if (cells.size >= MAX_FINGERPRINT_CELLS_PER_COLUMN) break;
    }
    if (cells.size > 0) columns.push([...cells]);
  }
  const candidates = await repo.recent(CANDIDATES);
  const scored: { id: string; canaries: number; matched: number; checked: number; confidence: TraceMatch['confidence'] }[] = [];
  for (const e of candidates) {
    const key = fingerprintKeyOf(ctx, e);
    let matched = 0;
    let checked = 0;
    if (key) {
      const fp = new Fingerprinter(key);
      for (const cells of columns) {
        let ok = 0;
        for (const v of cells) if (fp.check(v)) ok++;
        checked += cells.length;
        // A column counts only when it agrees throughout: other columns (titles, departments) are noise.
        if (ok === cells.length) matched += ok;
      }
    }
    const canaries = canaryHits.get(e.id)?.size ?? 0;
    const confidence = confidenceOf(canaries, matched);
    if (confidence) scored.push({ id: e.id, canaries, matched, checked, confidence });
  }
  scored.sort((a, b) => RANK[b.confidence] - RANK[a.confidence] || b.canaries - a.canaries || b.matched - a.matched);
  const top = scored.slice(0, 5);
  const byId = new Map(candidates.map((e) => [e.id, e]));
  const views = await viewsOf(ctx, top.map((s) => byId.get(s.id)!));
  const matches: TraceMatch[] = top.map((s, i) => ({
    extractionId: s.id, dataset: views[i]!.dataset, requester: views[i]!.requester, approvers: views[i]!.approvers, completedAt: views[i]!.completedAt,
    recipient: views[i]!.recipient, canaries: s.canaries, fingerprint: { matched: s.matched, checked: s.checked }, confidence: s.confidence,
  }));
  await appendAudit(ctx.db, ctx.clock, actor, {
    action: 'extraction.trace', decision: 'allow', rule: d.rule, reason: 'Leaked file traced', result: 'ok',
    details: { rowsRead: rows.length, matches: matches.map((m) => ({ extractionId: m.extractionId, confidence: m.confidence })) },
  });
  return { rowsRead: rows.length, matches };
}
