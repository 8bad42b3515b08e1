/**
 * The canonical bytes of an audit event: UTF-8 JSON with a fixed key order. These bytes are what the
 * Merkle tree hashes. The searchable columns of audit_events are what these bytes say; the appender
 * supplies them beside the bytes (`auditColumns`, migration 0018) and verification checks them
 * against the bytes.
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
  const text = JSON.stringify(event);
  // Rare: a value PostgreSQL's jsonb cannot hold (see storable). Checked on the text, so the common
  // event costs one scan for a backslash-u.
  return text.includes('\\u') && UNSTORABLE_ESCAPE.test(text) ? JSON.stringify(storable(event)) : text;
}

/** JSON.stringify's escapes for U+0000 and lone surrogates (it writes paired surrogates as characters). */
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/i;
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what is looked for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The event with U+0000 and unpaired surrogates (in values and keys) replaced by U+FFFD. PostgreSQL's
 * jsonb refuses both, and the sequencer and verification read events as jsonb: one such character in
 * a purpose, a reason or a login name (any caller can send one) would otherwise stop the log.
 */
function storable(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(UNSTORABLE, '\ufffd');
  if (Array.isArray(v)) return v.map(storable);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k), storable(x)]));
  return v;
}

/**
 * The searchable columns of an event, exactly as the sequencer's `DERIVED_COLUMNS` reads them from
 * the bytes `buildAuditPayload(actor, at, e)` makes: at, actor.user, action, dataset, records (an
 * array: its elements; the records placeholder: not known here) and decision.
 */
export type AuditColumns = {
  at: Date;
  actorUserId: string | null;
  action: string;
  datasetId: string | null;
  recordIds: readonly string[];
  decision: string;
};

export function auditColumns(actor: Actor, at: Date, e: AuditEventInput): AuditColumns {
  return { at, actorUserId: actor.userId ?? null, action: e.action, datasetId: e.datasetId ?? null, recordIds: e.recordIds ?? [], decision: e.decision };
}
