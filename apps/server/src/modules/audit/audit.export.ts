/**
 * SIEM export, the parts people use: the exporters' status (cursor, lag, last error) and a one-off
 * export of a range of the integrated log as JSON Lines. The one-off export is a person (or the local
 * operator) taking the log's contents out, so it is authorised and audited; the status is not audited
 * (operations, not the log's contents), a denied attempt is.
 */
import type { AuditExportView } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import type { Actor } from '../identity/index.ts';
import { authorize } from '../access-policy/index.ts';
import { appendAudit } from './audit.service.ts';
import { auditRepository } from './audit.repository.ts';
import { exportRepository } from './audit.export-repository.ts';
import { exportEvent, jsonlLine } from './audit.export-format.ts';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export async function exportStatus(ctx: AppContext, actor: Actor): Promise<{ treeSize: number; destinations: AuditExportView[] }> {
  await authorize(ctx, { actor, action: 'audit.exports.read' });
  return exportLag(ctx);
}

/** Cursor and lag per destination, without authorization: for the metrics endpoint. */
export async function exportLag(ctx: AppContext): Promise<{ treeSize: number; destinations: AuditExportView[] }> {
  const treeSize = await auditRepository(ctx.db).treeSize();
  const rows = await exportRepository(ctx.db).all();
  return {
    treeSize,
    destinations: rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      target: r.target,
      nextSeq: r.next_seq,
      lag: Math.max(0, treeSize - r.next_seq),
      inflightTo: r.inflight_to,
      lastSuccessAt: iso(r.last_success_at),
      lastError: r.last_error,
      lastErrorAt: iso(r.last_error_at),
      heartbeatAt: iso(r.heartbeat_at),
    })),
  };
}

export type ExportRange = { from: number; to?: number };

/** A one-off export: [first, end) of the integrated log as JSON Lines, one `lines` page at a time. */
export type OneOffExport = { first: number; end: number; treeSize: number; lines: AsyncGenerator<string> };

const PAGE = 2000;

/**
 * Exports seqs `from`..`to` (both inclusive; `to` defaults to the last integrated event). The audit
 * event records who took which range out; it is written before the first line is handed over.
 */
export async function exportRange(ctx: AppContext, actor: Actor, range: ExportRange): Promise<OneOffExport> {
  const d = await authorize(ctx, { actor, action: 'audit.export' });
  if (!Number.isSafeInteger(range.from) || range.from < 0) throw new AppError('request.invalid', 'from must be a log index (0 or more).', { field: 'from' });
  if (range.to !== undefined && (!Number.isSafeInteger(range.to) || range.to < range.from)) throw new AppError('request.invalid', 'to must be a log index not below from.', { field: 'to' });
  const audit = auditRepository(ctx.db);
  const treeSize = await audit.treeSize();
  const first = Math.min(range.from, treeSize);
  const end = Math.min(range.to === undefined ? treeSize : range.to + 1, treeSize);
  await appendAudit(ctx.db, ctx.clock, actor, {
    action: 'audit.export', decision: 'allow', rule: d.rule, reason: d.reason.en, result: 'ok',
    details: { format: 'jsonl', from: first, to: end - 1, count: Math.max(0, end - first), treeSize },
  });
  async function* lines(): AsyncGenerator<string> {
    for (let next = first; next < end; ) {
      const rows = await audit.integratedRange(next, Math.min(PAGE, end - next));
      if (rows.length === 0 || rows[0]!.log_index !== next) throw new AppError('internal', 'The integrated log is not contiguous; run `mamori audit verify`.');
      for (const r of rows) {
        if (r.log_index !== next) throw new AppError('internal', 'The integrated log is not contiguous; run `mamori audit verify`.');
        yield jsonlLine(exportEvent(r.log_index, r.payload)) + '\n';
        next += 1;
      }
    }
  }
  return { first, end, treeSize, lines: lines() };
}
