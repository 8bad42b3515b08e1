/**
 * The monitor: consumes the integrated audit stream from a persisted cursor and evaluates the rules.
 * One batch is one transaction holding the alerts, their audit events, the notification mail (outbox)
 * and the advanced cursor, so after a crash or restart each event is evaluated exactly once. One node
 * at a time evaluates (advisory lock 7285007); the others find it busy.
 */
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import { newId } from '../../platform/ids.ts';
import { isPersonalLevel } from '@mamori/contracts';
import { appendAudit, auditRepository } from '../audit/index.ts';
import { systemActor, userDirectory, type Actor } from '../identity/index.ts';
import { listDatasets } from '../vault/index.ts';
import { enqueueMail, isMailAddress } from '../outbox/index.ts';
import { monitorRepository } from './monitor.repository.ts';
import { evaluateEvent, hourWindow, parseEvent, subjectOf, type DirectHit, type Evaluation, type MonitoredEvent } from './monitor.rules.ts';
import { MonitorState } from './monitor.state.ts';
import { loadRules } from './monitor.settings.ts';
import { severityRank, type MonitorRules, type RuleId, type Severity } from './monitor.types.ts';

export const MONITOR_TERMINAL = { ip: null, userAgent: 'mamori-monitor', deviceId: null } as const;
const monitorActor = (): Actor => systemActor({ ...MONITOR_TERMINAL });

export type MonitorResult = { evaluated: number; raised: number; next: number };

async function personalFieldsByDataset(ctx: AppContext): Promise<Map<string, Set<string>>> {
  const datasets = await listDatasets(ctx, monitorActor());
  return new Map(datasets.map((d) => [d.id, new Set(d.fields.filter((f) => isPersonalLevel(f.classification)).map((f) => f.name))]));
}

const RULE_LABEL: Record<RuleId, { ja: string; en: string }> = {
  bulk_read: { ja: '大量閲覧', en: 'Bulk reads' },
  off_hours: { ja: '業務時間外・休日のアクセス', en: 'Access outside business hours' },
  repeated_denials: { ja: '拒否の繰り返し', en: 'Repeated denials' },
  dispatch_personal: { ja: '派遣社員による個人情報へのアクセス試行', en: 'Personal-data attempt by a dispatch worker' },
  watched_record: { ja: '監視対象レコード（カナリア・VIP）へのアクセス', en: 'Access to a watched (canary / VIP) record' },
};
const SEVERITY_JA: Record<Severity, string> = { low: '低', medium: '中', high: '高', critical: '緊急' };

type NewAlert = {
  rule: RuleId; severity: Severity; key: string; subject: string; subjectUserId: string | null; summary: Record<string, unknown>;
  evidence: number[]; eventCount: number; firstAt: Date; lastAt: Date;
};

/**
 * One batch: the events in log order against the in-memory state (monitor.state.ts). Counting,
 * windows and de-duplication cost no query per event; raising an alert (rare) writes the alert, its
 * audit event and its mail at once, in the batch's transaction.
 */
class Batch {
  raised = 0;
  private recipients: Promise<{ email: string }[]> | null = null;
  constructor(private readonly ctx: AppContext, private readonly tx: Executor, private readonly rules: MonitorRules, private readonly state: MonitorState) {}

  async raise(a: NewAlert): Promise<void> {
    const id = newId();
    const now = this.ctx.clock.now();
    await monitorRepository(this.tx).insertAlert({ id, ...a, at: now });
    this.state.raised(a.key, id, a.summary);
    await appendAudit(this.tx, this.ctx.clock, monitorActor(), {
      action: 'alert.raise', decision: 'allow', rule: `monitor.${a.rule}`, reason: `Monitoring rule ${a.rule} raised an alert`, result: 'ok',
      subjectUserId: a.subjectUserId, details: { alertId: id, rule: a.rule, severity: a.severity, evidence: a.evidence.slice(0, 20), eventCount: a.eventCount },
    });
    this.raised++;
    if (severityRank(a.severity) < severityRank(this.rules.notify.minSeverity)) return;
    // A malformed stored address must not stop monitoring (the batch would fail on it forever).
    this.recipients ??= userDirectory(this.tx).activeWithRole('security_center').then((rs) => rs.filter((r) => isMailAddress(r.email)));
    const recipients = await this.recipients;
    if (recipients.length === 0) return;
    const label = RULE_LABEL[a.rule];
    // Ids, counts and times only: the mail crosses a relay, the evidence stays in Mamori.
    await enqueueMail(this.tx, this.ctx.clock, {
      to: recipients.map((r) => r.email),
      subject: `[Mamori] アラート（${SEVERITY_JA[a.severity]}）${label.ja} / Alert (${a.severity}): ${label.en}`,
      text: [
        `セキュリティセンターの皆様`,
        ``,
        `監視ルール「${label.ja}」がアラートを発生させました。コンソールの「アラート」で確認し、対応してください。`,
        `A monitoring rule raised an alert. Review it in the console under Alerts.`,
        ``,
        `アラートID / Alert id: ${id}`,
        `重要度 / Severity: ${SEVERITY_JA[a.severity]} (${a.severity})`,
        `ルール / Rule: ${a.rule}`,
        `対象イベント数 / Events: ${a.eventCount}`,
        `期間 / Window: ${a.firstAt.toISOString()} – ${a.lastAt.toISOString()}`,
        `証跡（監査ログ番号）/ Evidence (audit log indexes): ${a.evidence.slice(0, 20).join(', ')}`,
      ].join('\n'),
      category: 'alert',
      relatedId: id,
    });
  }

  async direct(hit: DirectHit, e: MonitoredEvent): Promise<void> {
    if (this.state.addToOpen(hit.key, e.index, e.at)) return;
    const s = subjectOf(e);
    await this.raise({ rule: hit.rule, severity: hit.severity, key: hit.key, subject: s.subject, subjectUserId: s.userId, summary: hit.summary, evidence: [e.index], eventCount: 1, firstAt: e.at, lastAt: e.at });
  }

  async bulkRead(e: MonitoredEvent, weight: number): Promise<void> {
    const s = subjectOf(e);
    const r = this.rules.bulkRead;
    const hour = hourWindow(e.at);
    const w = this.state.observeBulk({ subject: s.subject, at: e.at, index: e.index, weight }, hour.start);
    if (w.total < r.threshold) return;
    const key = bulkKey(s.subject, hour.start);
    const summary = { windowStart: hour.start.toISOString(), windowEnd: hour.end.toISOString(), records: w.total, threshold: r.threshold };
    if (this.state.addToOpen(key, e.index, e.at, summary)) return;
    await this.raise({ rule: 'bulk_read', severity: r.severity, key, subject: s.subject, subjectUserId: s.userId, summary, evidence: w.indexes, eventCount: w.count, firstAt: w.first ?? e.at, lastAt: e.at });
  }

  async denial(e: MonitoredEvent): Promise<void> {
    const s = subjectOf(e);
    const r = this.rules.repeatedDenials;
    // While an alert is open, further denials are its evidence; once it is closed, counting starts afresh.
    if (this.state.addToOpen(denialKey(s.subject), e.index, e.at)) return;
    this.state.observeDenial({ subject: s.subject, at: e.at, index: e.index, weight: 1 });
    const w = this.state.denialWindow(s.subject, windowStart('repeated_denials', e.at, this.rules), new Date(e.at.getTime() + 1));
    if (w.total < r.threshold) return;
    await this.raise({
      rule: 'repeated_denials', severity: r.severity, key: denialKey(s.subject), subject: s.subject, subjectUserId: s.userId,
      summary: { denials: w.total, threshold: r.threshold, windowMinutes: r.windowMinutes }, evidence: w.indexes, eventCount: w.count, firstAt: w.first ?? e.at, lastAt: e.at,
    });
    this.state.forgetDenials(s.subject);
  }
}

const bulkKey = (subject: string, hourStart: Date) => `bulk_read:${subject}:${hourStart.toISOString()}`;
const denialKey = (subject: string) => `repeated_denials:${subject}`;

/** What the batch can touch: the hour windows, the denied subjects and every alert key its events may hit. */
function needs(batch: readonly { e: MonitoredEvent; ev: Evaluation }[], rules: MonitorRules) {
  const hours: { subject: string; start: Date; end: Date }[] = [];
  const denied = new Set<string>();
  const keys: string[] = [];
  let deniedFrom: Date | null = null;
  for (const { e, ev } of batch) {
    const { subject } = subjectOf(e);
    for (const o of ev.observations) {
      if (o.rule === 'bulk_read') {
        const h = hourWindow(e.at);
        hours.push({ subject, ...h });
        keys.push(bulkKey(subject, h.start));
      } else {
        denied.add(subject);
        keys.push(denialKey(subject));
        const from = windowStart('repeated_denials', e.at, rules);
        if (!deniedFrom || from < deniedFrom) deniedFrom = from;
      }
    }
    for (const h of ev.hits) keys.push(h.key);
  }
  return { hours, deniedSubjects: [...denied], deniedFrom, keys };
}

/** The start of the window an event at `at` counts observations of `rule` in: its clock hour, or the denial window before it. */
function windowStart(rule: 'bulk_read' | 'repeated_denials', at: Date, rules: MonitorRules): Date {
  return rule === 'bulk_read' ? hourWindow(at).start : new Date(at.getTime() - rules.repeatedDenials.windowMinutes * 60_000);
}

/** How long an observation of `rule` is kept after the latest event evaluated (what its windows can reach back to). */
function retentionMs(rule: 'bulk_read' | 'repeated_denials', rules: MonitorRules): number {
  return rule === 'bulk_read' ? 2 * 3_600_000 : (rules.repeatedDenials.windowMinutes + 60) * 60_000;
}

/**
 * How many of the batch's events to evaluate. One event at a time, each event's horizon (its time less
 * the retention) prunes observations before the next event is evaluated; a batch prunes once, at its
 * end. An event whose window reaches below the horizon of an earlier event in the same batch — one
 * logged more than an hour after a later-timed event, e.g. by a long transaction — would count
 * observations that one event at a time has already pruned. The batch ends before such an event,
 * which starts the next batch against the pruned observations: whatever the batch size, the alerts
 * and the observations are those of one event at a time.
 */
function withinHorizon(events: readonly { e: MonitoredEvent; ev: Evaluation }[], rules: MonitorRules): number {
  let latest = Number.NEGATIVE_INFINITY;
  for (const [k, { e, ev }] of events.entries()) {
    for (const o of ev.observations) {
      if (windowStart(o.rule, e.at, rules).getTime() < latest - retentionMs(o.rule, rules)) return k;
    }
    latest = Math.max(latest, e.at.getTime());
  }
  return events.length;
}

/**
 * Evaluates up to `batch` integrated events after the cursor (fewer when one reaches below the batch's
 * retention horizon: withinHorizon). Returns null when another node holds the monitor lock. A batch
 * costs a fixed number of statements (three reads of state, three writes back, the cursor and
 * pruning) plus three or four per alert raised, however many events it holds.
 */
export async function monitorOnce(ctx: AppContext, opts: { batch?: number } = {}): Promise<MonitorResult | null> {
  // Outside the transaction: the embedded database has one connection, which the transaction holds.
  const rules = await loadRules(ctx);
  const peek = await monitorRepository(ctx.db).peekCursor();
  if (peek >= (await auditRepository(ctx.db).treeSize())) return { evaluated: 0, raised: 0, next: peek };
  const personal = rules.dispatchPersonal.enabled ? await personalFieldsByDataset(ctx) : new Map<string, Set<string>>();

  return ctx.db.transaction().execute(async (tx) => {
    const repo = monitorRepository(tx);
    if (!(await repo.tryLockMonitor())) return null;
    const from = await repo.cursor(ctx.clock.now());
    const rows = await auditRepository(tx).integratedRange(from, opts.batch ?? 5_000);
    const parsed = rows.map((row) => {
      const e = parseEvent(Number(row.log_index), row.payload);
      return { e, ev: evaluateEvent(e, rules, personal) };
    });
    const events = parsed.slice(0, withinHorizon(parsed, rules));
    const state = await MonitorState.load(tx, needs(events, rules));
    const batch = new Batch(ctx, tx, rules, state);
    for (const { e, ev } of events) {
      for (const o of ev.observations) {
        if (o.rule === 'bulk_read') await batch.bulkRead(e, o.weight);
        else await batch.denial(e);
      }
      for (const hit of ev.hits) await batch.direct(hit, e);
    }
    await state.flush(tx, ctx.clock.now());
    const next = events.length > 0 ? events.at(-1)!.e.index + 1 : from;
    if (events.length > 0) {
      await repo.saveCursor(next, ctx.clock.now());
      // The horizon of the batch's latest event, as one event at a time leaves it (each prunes by its own time).
      const latest = events.reduce((max, { e }) => Math.max(max, e.at.getTime()), Number.NEGATIVE_INFINITY);
      for (const rule of ['bulk_read', 'repeated_denials'] as const) await repo.prune(rule, new Date(latest - retentionMs(rule, rules)));
    }
    return { evaluated: events.length, raised: batch.raised, next };
  });
}

/** Evaluates until the cursor reaches the end of the integrated log (tests, CLI). */
export async function monitorAll(ctx: AppContext): Promise<MonitorResult> {
  const total: MonitorResult = { evaluated: 0, raised: 0, next: 0 };
  for (;;) {
    const r = await monitorOnce(ctx);
    if (r === null) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    total.evaluated += r.evaluated;
    total.raised += r.raised;
    total.next = r.next;
    if (r.evaluated === 0) return total;
  }
}
