/**
 * The monitor's working state for one batch, held in memory (ADR 0010): the bulk-read hour windows
 * and the recent denials of the subjects the batch touches, and the not-closed alerts of every key it
 * can hit — each loaded with one query — then the batch's observations, forgotten subjects and
 * evidence additions written back with one statement each. Evaluating the events in log order against
 * it gives what one query per event gave: the same windows (total, count, first time, the first
 * indexes by log index), the same de-duplication, the same evidence.
 */
import type { Executor } from '../../platform/db/database.ts';
import { MAX_EVIDENCE, monitorRepository } from './monitor.repository.ts';

type Observation = { subject: string; at: Date; index: number; weight: number };

/** An hour of one subject's bulk reads: what the database held before the batch, plus the batch. */
type HourWindow = { start: Date; end: Date; total: number; count: number; first: Date | null; stored: number[]; added: number[] };

/** A not-closed alert the batch may add evidence to (loaded, or raised by this batch). */
type OpenAlert = { id: string; summary: unknown; added: number[]; count: number; lastAt: Date | null };

export type WindowView = { total: number; count: number; indexes: number[]; first: Date | null };

/** The first MAX_EVIDENCE of two index lists, in log order (what `array_agg(… ORDER BY log_index)[1:N]` gives). */
function firstIndexes(a: readonly number[], b: readonly number[]): number[] {
  return [...a, ...b].sort((x, y) => x - y).slice(0, MAX_EVIDENCE);
}

const hourKey = (subject: string, start: Date) => `${subject}\n${start.getTime()}`;

export class MonitorState {
  private readonly hours = new Map<string, HourWindow>();
  private readonly denials = new Map<string, { stored: Observation[]; added: Observation[] }>();
  private readonly open = new Map<string, OpenAlert>();
  private readonly newBulk: Observation[] = [];
  private readonly forgotten = new Set<string>();

  private constructor() {}

  /**
   * Loads what the batch can need: `hours` (subject, hour) for bulk reads, the denials since `deniedFrom`
   * of `deniedSubjects`, and the not-closed alerts of `keys` (row-locked, as the per-event reads were).
   */
  static async load(db: Executor, need: {
    hours: readonly { subject: string; start: Date; end: Date }[];
    deniedSubjects: readonly string[];
    deniedFrom: Date | null;
    keys: readonly string[];
  }): Promise<MonitorState> {
    const s = new MonitorState();
    const repo = monitorRepository(db);
    const unique = new Map(need.hours.map((h) => [hourKey(h.subject, h.start), h]));
    const windows = [...unique.values()];
    const sums = await repo.windows('bulk_read', windows);
    windows.forEach((w, i) => {
      const r = sums[i]!;
      s.hours.set(hourKey(w.subject, w.start), { start: w.start, end: w.end, total: r.total, count: r.count, first: r.first, stored: r.indexes, added: [] });
    });
    for (const subject of need.deniedSubjects) s.denials.set(subject, { stored: [], added: [] });
    if (need.deniedFrom && need.deniedSubjects.length > 0) {
      for (const o of await repo.observationsSince('repeated_denials', need.deniedSubjects, need.deniedFrom)) {
        s.denials.get(o.subject)?.stored.push(o);
      }
    }
    for (const a of await repo.openAlertsByKeys(need.keys)) {
      s.open.set(a.dedup_key, { id: a.id, summary: a.summary, added: [], count: 0, lastAt: null });
    }
    return s;
  }

  /** Records a bulk read and returns its hour's window (the event's own observation included). */
  observeBulk(o: Observation, start: Date): WindowView {
    const w = this.hours.get(hourKey(o.subject, start));
    if (!w) throw new Error('monitor: an hour window was not loaded');
    w.total += o.weight;
    w.count += 1;
    if (!w.first || o.at < w.first) w.first = o.at;
    if (w.added.length < MAX_EVIDENCE) w.added.push(o.index);
    this.newBulk.push(o);
    return { total: w.total, count: w.count, first: w.first, indexes: firstIndexes(w.stored, w.added) };
  }

  /** Records a denial. */
  observeDenial(o: Observation): void {
    this.denialsOf(o.subject).added.push(o);
  }

  /** The subject's denials with `from <= at < to`. */
  denialWindow(subject: string, from: Date, to: Date): WindowView {
    const d = this.denialsOf(subject);
    let total = 0;
    let count = 0;
    let first: Date | null = null;
    const indexes: number[] = [];
    for (const o of [...d.stored, ...d.added]) {
      if (o.at < from || o.at >= to) continue;
      total += o.weight;
      count += 1;
      if (!first || o.at < first) first = o.at;
      indexes.push(o.index);
    }
    return { total, count, first, indexes: firstIndexes(indexes, []) };
  }

  /** After an alert: counting starts afresh (every stored and batch denial of the subject goes). */
  forgetDenials(subject: string): void {
    const d = this.denialsOf(subject);
    d.stored.length = 0;
    d.added.length = 0;
    this.forgotten.add(subject);
  }

  /** Adds the event to the not-closed alert with this key, if there is one (`summary` replaces its summary). */
  addToOpen(key: string, index: number, at: Date, summary?: unknown): boolean {
    const a = this.open.get(key);
    if (!a) return false;
    a.added.push(index);
    a.count += 1;
    if (summary !== undefined) a.summary = summary;
    if (!a.lastAt || at > a.lastAt) a.lastAt = at;
    return true;
  }

  /** A newly raised alert is open for the rest of the batch. */
  raised(key: string, id: string, summary: unknown): void {
    this.open.set(key, { id, summary, added: [], count: 0, lastAt: null });
  }

  /** Writes the batch back: new observations, forgotten denials, evidence added to alerts. */
  async flush(db: Executor, now: Date): Promise<void> {
    const repo = monitorRepository(db);
    if (this.forgotten.size > 0) await repo.forgetSubjects('repeated_denials', [...this.forgotten]);
    const observations = [
      ...this.newBulk.map((o) => ({ rule: 'bulk_read', ...o })),
      ...[...this.denials.values()].flatMap((d) => d.added.map((o) => ({ rule: 'repeated_denials', ...o }))),
    ];
    await repo.insertObservations(observations);
    const touched = [...this.open.values()].filter((a) => a.count > 0);
    await repo.addEvidenceMany(touched.map((a) => ({ id: a.id, indexes: a.added.slice(0, MAX_EVIDENCE), count: a.count, summary: a.summary, lastAt: a.lastAt! })), now);
  }

  private denialsOf(subject: string) {
    const d = this.denials.get(subject);
    if (!d) throw new Error('monitor: denials of a subject were not loaded');
    return d;
  }
}
