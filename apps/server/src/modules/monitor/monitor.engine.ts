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
import { evaluateEvent, hourWindow, parseEvent, subjectOf, type DirectHit, type MonitoredEvent } from './monitor.rules.ts';
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

class Batch {
  raised = 0;
  constructor(private readonly ctx: AppContext, private readonly tx: Executor, private readonly rules: MonitorRules) {}

  private repo() {
    return monitorRepository(this.tx);
  }

  /** Adds the event to the not-closed alert with this key, if there is one. */
  async addToOpen(key: string, e: MonitoredEvent, summary?: Record<string, unknown>): Promise<boolean> {
    const open = await this.repo().openAlertByKey(key);
    if (!open) return false;
    await this.repo().addEvidence(open.id, [e.index], 1, summary ?? open.summary, e.at, this.ctx.clock.now());
    return true;
  }

  async raise(a: NewAlert): Promise<void> {
    const id = newId();
    const now = this.ctx.clock.now();
    await this.repo().insertAlert({ id, ...a, at: now });
    await appendAudit(this.tx, this.ctx.clock, monitorActor(), {
      action: 'alert.raise', decision: 'allow', rule: `monitor.${a.rule}`, reason: `Monitoring rule ${a.rule} raised an alert`, result: 'ok',
      subjectUserId: a.subjectUserId, details: { alertId: id, rule: a.rule, severity: a.severity, evidence: a.evidence.slice(0, 20), eventCount: a.eventCount },
    });
    this.raised++;
    if (severityRank(a.severity) < severityRank(this.rules.notify.minSeverity)) return;
    // A malformed stored address must not stop monitoring (the batch would fail on it forever).
    const recipients = (await userDirectory(this.tx).activeWithRole('security_center')).filter((r) => isMailAddress(r.email));
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
    if (await this.addToOpen(hit.key, e)) return;
    const s = subjectOf(e);
    await this.raise({ rule: hit.rule, severity: hit.severity, key: hit.key, subject: s.subject, subjectUserId: s.userId, summary: hit.summary, evidence: [e.index], eventCount: 1, firstAt: e.at, lastAt: e.at });
  }

  async bulkRead(e: MonitoredEvent, weight: number): Promise<void> {
    const s = subjectOf(e);
    const r = this.rules.bulkRead;
    const repo = this.repo();
    await repo.observe('bulk_read', s.subject, e.at, e.index, weight);
    const hour = hourWindow(e.at);
    const w = await repo.window('bulk_read', s.subject, hour.start, hour.end);
    if (w.total < r.threshold) return;
    const key = `bulk_read:${s.subject}:${hour.start.toISOString()}`;
    const summary = { windowStart: hour.start.toISOString(), windowEnd: hour.end.toISOString(), records: w.total, threshold: r.threshold };
    if (await this.addToOpen(key, e, summary)) return;
    await this.raise({ rule: 'bulk_read', severity: r.severity, key, subject: s.subject, subjectUserId: s.userId, summary, evidence: w.indexes, eventCount: w.count, firstAt: w.first ?? e.at, lastAt: e.at });
  }

  async denial(e: MonitoredEvent): Promise<void> {
    const s = subjectOf(e);
    const r = this.rules.repeatedDenials;
    const repo = this.repo();
    const key = `repeated_denials:${s.subject}`;
    // While an alert is open, further denials are its evidence; once it is closed, counting starts afresh.
    if (await this.addToOpen(key, e)) return;
    await repo.observe('repeated_denials', s.subject, e.at, e.index, 1);
    const from = new Date(e.at.getTime() - r.windowMinutes * 60_000);
    const w = await repo.window('repeated_denials', s.subject, from, new Date(e.at.getTime() + 1));
    if (w.total < r.threshold) return;
    await this.raise({
      rule: 'repeated_denials', severity: r.severity, key, subject: s.subject, subjectUserId: s.userId,
      summary: { denials: w.total, threshold: r.threshold, windowMinutes: r.windowMinutes }, evidence: w.indexes, eventCount: w.count, firstAt: w.first ?? e.at, lastAt: e.at,
    });
    await repo.forget('repeated_denials', s.subject);
  }
}

/**
 * Evaluates up to `batch` integrated events after the cursor. Returns null when another node holds
 * the monitor lock.
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
    const rows = await auditRepository(tx).integratedRange(from, opts.batch ?? 500);
    const batch = new Batch(ctx, tx, rules);
    let last: Date | null = null;
    for (const row of rows) {
      const e = parseEvent(Number(row.log_index), row.payload);
      last = e.at;
      const ev = evaluateEvent(e, rules, personal);
      for (const o of ev.observations) {
        if (o.rule === 'bulk_read') await batch.bulkRead(e, o.weight);
        else await batch.denial(e);
      }
      for (const hit of ev.hits) await batch.direct(hit, e);
    }
    const next = rows.length > 0 ? Number(rows.at(-1)!.log_index) + 1 : from;
    if (rows.length > 0) await repo.saveCursor(next, ctx.clock.now());
    if (last) {
      await repo.prune('bulk_read', new Date(last.getTime() - 2 * 3_600_000));
      await repo.prune('repeated_denials', new Date(last.getTime() - (rules.repeatedDenials.windowMinutes + 60) * 60_000));
    }
    return { evaluated: rows.length, raised: batch.raised, next };
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
