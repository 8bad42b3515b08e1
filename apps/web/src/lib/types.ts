/** Wire shapes of the Mamori API as the console uses them (see /openapi.json). */
import type { EmploymentType, OwnGrant, UserView } from '@mamori/contracts';
export type { DatasetField, DatasetView, GrantRecord, RecordView, UserView } from '@mamori/contracts';

/** A grant as /api/auth/me returns it: the caller's own, already filtered (own and group grants). */
export type MyGrant = OwnGrant;

export type Me = { user: UserView | null; mfa: boolean; grants: MyGrant[]; csrfToken: string | null };

export type LoginResponse = { user: UserView; csrfToken: string; mfaRequired: boolean; passwordChangeRequired: boolean };

export type Department = { id: string; name: string };
export type Group = { id: string; name: string; memberIds: string[] };

export type AuditEvent = {
  v: number;
  at: string;
  actor: { kind: string; user: string | null; employment: EmploymentType | null; session: string | null; token: string | null; mfa: boolean };
  action: string;
  dataset: string | null;
  records: string[];
  fields: string[];
  purpose: string | null;
  subject: string | null;
  decision: 'allow' | 'deny';
  rule: string;
  reason: string;
  grants: string[];
  result: string;
  terminal: { ip: string | null; ua: string | null; device: string | null };
  request: string | null;
  details: Record<string, unknown>;
};

export type AuditEntry = { id: number; logIndex: number | null; at: string; event: AuditEvent };
