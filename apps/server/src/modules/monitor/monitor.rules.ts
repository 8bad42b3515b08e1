/**
 * The pure part of monitoring: what one audit event means for each rule. Time rules use the event's
 * own time in Japan (JST, UTC+9, no daylight saving) and the holiday table of @holiday-jp/holiday_jp.
 * Stateful rules (bulk reads, repeated denials) get an observation here; the engine counts them.
 */
import holidayJp from '@holiday-jp/holiday_jp';
import type { MonitorRules, RuleId, Severity } from './monitor.types.ts';

/** The fields of an audit payload (audit.payload.ts) that monitoring looks at. */
export type MonitoredEvent = {
  index: number;
  at: Date;
  actorKind: string;
  userId: string | null;
  employment: string | null;
  ip: string | null;
  action: string;
  datasetId: string | null;
  records: string[];
  fields: string[];
  decision: string;
  rule: string;
  result: string;
};

export function parseEvent(index: number, payload: string): MonitoredEvent {
  const e = JSON.parse(payload) as {
    at: string; action: string; dataset: string | null; records: unknown; fields: unknown; decision: string; rule: string; result: string;
    actor: { kind: string; user: string | null; employment: string | null }; terminal?: { ip?: string | null };
  };
  return {
    index,
    at: new Date(e.at),
    actorKind: e.actor.kind,
    userId: e.actor.user,
    employment: e.actor.employment,
    ip: e.terminal?.ip ?? null,
    action: e.action,
    datasetId: e.dataset,
    records: Array.isArray(e.records) ? (e.records as string[]) : [],
    fields: Array.isArray(e.fields) ? (e.fields as string[]) : [],
    decision: e.decision,
    rule: e.rule,
    result: e.result,
  };
}

/** Events monitoring itself writes: never evaluated, so alerts cannot feed on themselves. */
export const OWN_ACTIONS: ReadonlySet<string> = new Set(['alert.raise']);

const JST_OFFSET_MS = 9 * 3_600_000;

export type JstTime = { date: string; weekday: number; minutes: number; holiday: string | null };

export function jst(at: Date): JstTime {
  const d = new Date(at.getTime() + JST_OFFSET_MS);
  const date = d.toISOString().slice(0, 10);
  const holidays = holidayJp.holidays as Record<string, { name: string } | undefined>;
  return { date, weekday: d.getUTCDay(), minutes: d.getUTCHours() * 60 + d.getUTCMinutes(), holiday: holidays[date]?.name ?? null };
}

const toMinutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Why `at` is outside business hours (null when inside). */
export function outsideBusinessHours(at: Date, r: MonitorRules['offHours']): { reason: 'holiday' | 'weekend' | 'hours'; holiday: string | null; date: string } | null {
  const t = jst(at);
  if (r.holidays && t.holiday) return { reason: 'holiday', holiday: t.holiday, date: t.date };
  if (!r.weekdays.includes(t.weekday)) return { reason: 'weekend', holiday: null, date: t.date };
  if (t.minutes < toMinutes(r.start) || t.minutes >= toMinutes(r.end)) return { reason: 'hours', holiday: null, date: t.date };
  return null;
}

/** Who an event is about: the user, else the terminal (failed logins of unknown names), else the operator. */
export function subjectOf(e: MonitoredEvent): { subject: string; userId: string | null } {
  if (e.userId) return { subject: `user:${e.userId}`, userId: e.userId };
  if (e.actorKind === 'system') return { subject: 'system', userId: null };
  return { subject: `terminal:${e.ip ?? 'unknown'}`, userId: null };
}

const isRecordAction = (action: string) => action.startsWith('record.');
const RECORD_READS = new Set(['record.search', 'record.read', 'record.unmask']);

/** A rule hit that needs no counting: raise (or add to) the alert with this key. */
export type DirectHit = { rule: RuleId; severity: Severity; key: string; summary: Record<string, unknown> };
/** An observation for a counting rule. */
export type Observation = { rule: 'bulk_read' | 'repeated_denials'; weight: number };

export type Evaluation = { hits: DirectHit[]; observations: Observation[] };

/**
 * Evaluates one event against the rules. `personalFields` maps a dataset id to its personal-level
 * field names (for the dispatch rule).
 */
export function evaluateEvent(e: MonitoredEvent, rules: MonitorRules, personalFields: ReadonlyMap<string, ReadonlySet<string>>): Evaluation {
  const out: Evaluation = { hits: [], observations: [] };
  if (OWN_ACTIONS.has(e.action)) return out;
  const { subject } = subjectOf(e);
  const day = jst(e.at).date;

  if (rules.bulkRead.enabled && RECORD_READS.has(e.action) && e.decision === 'allow' && e.result === 'ok' && e.records.length > 0) {
    out.observations.push({ rule: 'bulk_read', weight: e.records.length });
  }

  if (rules.repeatedDenials.enabled && e.decision === 'deny') out.observations.push({ rule: 'repeated_denials', weight: 1 });

  if (rules.offHours.enabled && isRecordAction(e.action)) {
    const why = outsideBusinessHours(e.at, rules.offHours);
    if (why) {
      out.hits.push({
        rule: 'off_hours', severity: rules.offHours.severity, key: `off_hours:${subject}:${day}`,
        summary: { date: why.date, reason: why.reason, holiday: why.holiday },
      });
    }
  }

  if (rules.dispatchPersonal.enabled && e.employment === 'dispatch' && isRecordAction(e.action)) {
    const personal = e.datasetId ? personalFields.get(e.datasetId) : undefined;
    const personalAsked = e.rule.startsWith('dispatch.') || e.fields.some((f) => personal?.has(f) ?? false);
    if (personalAsked) {
      out.hits.push({
        rule: 'dispatch_personal', severity: rules.dispatchPersonal.severity, key: `dispatch_personal:${subject}:${day}`,
        summary: { date: day, datasetId: e.datasetId, fields: e.fields, decision: e.decision },
      });
    }
  }

  if (rules.watchedRecords.enabled && isRecordAction(e.action) && e.records.length > 0 && rules.watchedRecords.records.length > 0) {
    const watched = new Map(rules.watchedRecords.records.map((r) => [r.recordId, r.kind]));
    for (const id of new Set(e.records)) {
      const kind = watched.get(id);
      if (kind) {
        out.hits.push({
          rule: 'watched_record', severity: rules.watchedRecords.severity, key: `watched_record:${subject}:${id}:${day}`,
          summary: { date: day, recordId: id, kind, datasetId: e.datasetId },
        });
      }
    }
  }
  return out;
}

/** The clock hour (UTC and JST hours coincide) an event falls in: the bulk-read window. */
export function hourWindow(at: Date): { start: Date; end: Date } {
  const start = new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);
  return { start, end: new Date(start.getTime() + 3_600_000) };
}
