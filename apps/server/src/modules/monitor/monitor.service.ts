/**
 * The security center's use cases: read and change the rules, list and read alerts, acknowledge and
 * close them. Each is authorized here (deny by default; denials are audited by `authorize`) and each
 * change is one transaction with its audit event.
 */
import { Value } from '@sinclair/typebox/value';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { authorize, evaluate } from '../access-policy/index.ts';
import { appendAudit, auditRepository } from '../audit/index.ts';
import { userDirectory, type Actor } from '../identity/index.ts';
import holidayJp from '@holiday-jp/holiday_jp';
import { monitorRepository, type AlertFilter, type AlertRow } from './monitor.repository.ts';
import { readRules, type StoredRules } from './monitor.settings.ts';
import { MonitorRulesSchema, type AlertStatus, type AlertView, type MonitorRules, type RuleId, type Severity } from './monitor.types.ts';

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function toView(r: AlertRow, logins: ReadonlyMap<string, string>): AlertView {
  return {
    id: r.id, rule: r.rule as RuleId, severity: r.severity as Severity, status: r.status as AlertStatus,
    subject: r.subject, subjectUserId: r.subject_user_id, subjectLogin: r.subject_user_id ? (logins.get(r.subject_user_id) ?? null) : null,
    summary: r.summary as Record<string, unknown>, evidence: r.evidence, eventCount: r.event_count,
    firstEventAt: iso(r.first_event_at)!, lastEventAt: iso(r.last_event_at)!, createdAt: iso(r.created_at)!, updatedAt: iso(r.updated_at)!,
    acknowledgedAt: iso(r.acknowledged_at), acknowledgedBy: r.acknowledged_by ? (logins.get(r.acknowledged_by) ?? r.acknowledged_by) : null,
    closedAt: iso(r.closed_at), closedBy: r.closed_by ? (logins.get(r.closed_by) ?? r.closed_by) : null, closeNote: r.close_note,
    notes: (r.notes as AlertView['notes']) ?? [],
  };
}

async function views(ctx: AppContext, rows: AlertRow[]): Promise<AlertView[]> {
  const ids = rows.flatMap((r) => [r.subject_user_id, r.acknowledged_by, r.closed_by]).filter((x): x is string => x !== null);
  const logins = await userDirectory(ctx.db).loginsOf(ids);
  return rows.map((r) => toView(r, logins));
}

const LAST_HOLIDAY = Object.keys(holidayJp.holidays as Record<string, unknown>).sort().at(-1) ?? null;

export type RulesView = StoredRules & { cursor: number; treeSize: number; holidaysThrough: string | null };

export async function getRules(ctx: AppContext, actor: Actor): Promise<RulesView> {
  await authorize(ctx, { actor, action: 'monitor.rules.read' });
  const stored = await readRules(ctx.db, ctx.clock.now());
  return { ...stored, cursor: await monitorRepository(ctx.db).peekCursor(), treeSize: await auditRepository(ctx.db).treeSize(), holidaysThrough: LAST_HOLIDAY };
}

function changes(before: MonitorRules, after: MonitorRules): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(after) as (keyof MonitorRules)[]) {
    if (JSON.stringify(before[k]) === JSON.stringify(after[k])) continue;
    if (k === 'watchedRecords') {
      const b = new Set(before.watchedRecords.records.map((r) => `${r.recordId}:${r.kind}`));
      const a = new Set(after.watchedRecords.records.map((r) => `${r.recordId}:${r.kind}`));
      out[k] = {
        enabled: [before.watchedRecords.enabled, after.watchedRecords.enabled], severity: [before.watchedRecords.severity, after.watchedRecords.severity],
        added: [...a].filter((x) => !b.has(x)), removed: [...b].filter((x) => !a.has(x)),
      };
    } else out[k] = { before: before[k], after: after[k] };
  }
  return out;
}

/** Replaces the rules (optimistic on `version`); the audit event records what changed. */
export async function updateRules(ctx: AppContext, actor: Actor, rules: MonitorRules, version: number): Promise<StoredRules> {
  const d = await authorize(ctx, { actor, action: 'monitor.rules.update' });
  if (!Value.Check(MonitorRulesSchema, rules)) {
    const first = [...Value.Errors(MonitorRulesSchema, rules)][0];
    throw new AppError('request.invalid', 'The rules are not valid.', { path: first?.path ?? '' });
  }
  if (rules.offHours.start >= rules.offHours.end) throw new AppError('request.invalid', 'Business hours must start before they end.', { path: '/offHours/end' });
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    const current = await readRules(tx, now);
    if (!(await monitorRepository(tx).updateSettings(rules, version, now, actor.userId))) {
      throw new AppError('conflict', 'The rules were changed by someone else; reload and try again.', { version: current.version });
    }
    await appendAudit(tx, ctx.clock, actor, {
      action: 'monitor.rules.update', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok',
      details: { version: version + 1, changes: changes(current.rules, rules) },
    });
  });
  return readRules(ctx.db, now);
}

async function audited(ctx: AppContext, actor: Actor, details: Record<string, unknown>): Promise<void> {
  const d = await authorize(ctx, { actor, action: 'alert.read' });
  await appendAudit(ctx.db, ctx.clock, actor, { action: 'alert.read', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok', details });
}

export async function listAlerts(ctx: AppContext, actor: Actor, filter: AlertFilter): Promise<{ alerts: AlertView[]; open: { severity: string; status: string; n: number }[] }> {
  await audited(ctx, actor, { what: 'alerts', filter: { ...filter, before: filter.before?.toISOString() ?? null } });
  const repo = monitorRepository(ctx.db);
  return { alerts: await views(ctx, await repo.listAlerts(filter)), open: await repo.countOpen() };
}

const EVIDENCE_SHOWN = 50;

/**
 * One alert with its evidence events. The events themselves are shown only to those who may read
 * the audit log; everyone else allowed to see alerts gets the log indexes.
 */
export async function getAlert(ctx: AppContext, actor: Actor, id: string): Promise<AlertView & { events: { logIndex: number; event: unknown }[] | null }> {
  await audited(ctx, actor, { what: 'alert', alertId: id });
  const row = await monitorRepository(ctx.db).getAlert(id);
  if (!row) throw new AppError('not_found', 'No such alert.');
  const [view] = await views(ctx, [row]);
  const mayReadLog = evaluate({ actor, action: 'audit.read', now: ctx.clock.now() }).effect === 'allow';
  let events: { logIndex: number; event: unknown }[] | null = null;
  if (mayReadLog) {
    const audit = auditRepository(ctx.db);
    events = [];
    for (const idx of row.evidence.slice(0, EVIDENCE_SHOWN)) {
      const [e] = await audit.integratedRange(idx, 1);
      if (e && Number(e.log_index) === idx) events.push({ logIndex: idx, event: JSON.parse(e.payload) as unknown });
    }
  }
  return { ...view!, events };
}

async function transition(ctx: AppContext, actor: Actor, id: string, to: 'acknowledged' | 'closed', note: string): Promise<AlertView> {
  const d = await authorize(ctx, { actor, action: 'alert.update' });
  if (to === 'closed' && note.length === 0) throw new AppError('request.invalid', 'Closing an alert needs a note.', { field: 'note' });
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    const repo = monitorRepository(tx);
    const row = await repo.getAlert(id, true);
    if (!row) throw new AppError('not_found', 'No such alert.');
    const allowed = to === 'acknowledged' ? row.status === 'open' : row.status !== 'closed';
    if (!allowed) throw new AppError('conflict', `The alert is ${row.status}; it cannot become ${to}.`, { status: row.status });
    const notes = [...((row.notes as AlertView['notes']) ?? []), ...(note ? [{ at: now.toISOString(), by: actor.userId, status: to, note }] : [])];
    if (to === 'acknowledged') await repo.acknowledge(id, actor.userId, now, notes);
    else await repo.close(id, actor.userId, now, note, notes);
    // The note is kept with the alert; the log records the transition and the note's length.
    await appendAudit(tx, ctx.clock, actor, {
      action: 'alert.update', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok', subjectUserId: row.subject_user_id,
      details: { alertId: id, rule: row.rule, from: row.status, to, noteLength: note.length },
    });
  });
  const row = await monitorRepository(ctx.db).getAlert(id);
  return (await views(ctx, [row!]))[0]!;
}

export async function acknowledgeAlert(ctx: AppContext, actor: Actor, id: string, note = ''): Promise<AlertView> {
  return transition(ctx, actor, id, 'acknowledged', note.trim());
}

export async function closeAlert(ctx: AppContext, actor: Actor, id: string, note: string): Promise<AlertView> {
  return transition(ctx, actor, id, 'closed', note.trim());
}
