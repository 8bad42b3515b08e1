/** Rows → the API's TransmissionView (people resolved in one query, the provision record linked). */
import type { DeliveryError, DlpKind, TransmissionFinding, TransmissionView } from '@mamori/contracts';
import type { Executor } from '../../platform/db/database.ts';
import { transmissionsRepository, type TransmissionMeta } from './transmissions.repository.ts';

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

export async function viewsOf(db: Executor, rows: readonly TransmissionMeta[]): Promise<TransmissionView[]> {
  const repo = transmissionsRepository(db);
  const people = await repo.people(rows.flatMap((r) => [r.sender_id, r.bcc_user_id, ...r.approved_by]));
  const provisions = await repo.provisionOf(rows.filter((r) => r.state === 'delivered').map((r) => r.id));
  const unknown = (id: string) => ({ id, login: '?', displayName: '?' });
  return rows.map((r) => ({
    id: r.id,
    channel: r.channel,
    state: r.state,
    route: r.route,
    reasons: r.reasons,
    sender: people.get(r.sender_id) ?? unknown(r.sender_id),
    senderAddress: r.sender_address,
    recipients: r.recipients,
    external: r.external_recipients,
    subject: r.subject,
    attachments: r.attachments as { name: string; bytes: number }[],
    bytes: r.bytes,
    findings: r.findings as TransmissionFinding[],
    summary: r.summary as Partial<Record<DlpKind, number>>,
    scanErrors: r.scan_errors as { part: string; code: string }[],
    approvalRequestId: r.approval_request_id,
    approvedBy: r.approved_by.map((id) => people.get(id) ?? unknown(id)),
    bcc: r.bcc_user_id ? (people.get(r.bcc_user_id) ?? unknown(r.bcc_user_id)) : null,
    deliveryError: r.delivery_error as DeliveryError | null,
    attempts: r.attempts,
    nextAttemptAt: r.state === 'queued' ? iso(r.next_attempt_at) : null,
    provisionRecordId: provisions.get(r.id) ?? null,
    createdAt: iso(r.created_at)!,
    decidedAt: iso(r.decided_at),
    deliveredAt: iso(r.delivered_at),
  }));
}

export async function viewOf(db: Executor, row: TransmissionMeta): Promise<TransmissionView> {
  return (await viewsOf(db, [row]))[0]!;
}
