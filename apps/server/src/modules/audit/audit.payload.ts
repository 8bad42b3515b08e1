/**
 * The canonical bytes of an audit event: UTF-8 JSON with a fixed key order. These bytes are what the
 * Merkle tree hashes; the sequencer derives the searchable columns of audit_events from them (ADR 0003).
 */
import type { Actor } from '../identity/index.ts';
import type { AuditEventInput } from './audit.types.ts';

/** Placeholders that a single SQL statement fills in with what only the database knows (ids found). */
export const RECORDS_PLACEHOLDER = '"__MAMORI_RECORDS__"';
export const RESULT_PLACEHOLDER = '"__MAMORI_RESULT__"';

export function buildAuditPayload(
  actor: Actor,
  at: Date,
  e: AuditEventInput,
  placeholders: { records?: boolean; result?: boolean } = {},
): string {
  const event = {
    v: 1,
    at: at.toISOString(),
    actor: {
      kind: actor.kind,
      user: actor.userId,
      employment: actor.employmentType,
      session: actor.sessionRef,
      token: actor.tokenId,
      mfa: actor.mfa,
    },
    action: e.action,
    dataset: e.datasetId ?? null,
    records: placeholders.records ? '__MAMORI_RECORDS__' : (e.recordIds ?? []),
    fields: e.fields ?? [],
    purpose: e.purpose ?? null,
    subject: e.subjectUserId ?? null,
    decision: e.decision,
    rule: e.rule,
    reason: e.reason,
    grants: e.grantIds ?? [],
    result: placeholders.result ? '__MAMORI_RESULT__' : e.result,
    terminal: { ip: actor.terminal.ip, ua: actor.terminal.userAgent, device: actor.terminal.deviceId },
    request: actor.requestId,
    details: e.details ?? {},
  };
  return JSON.stringify(event);
}
