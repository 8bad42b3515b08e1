import type { Action } from '@mamori/contracts';

export type AuditResult = 'ok' | 'denied' | 'not_found' | 'error' | 'invalid' | 'revoked';

/** What a service tells the audit log about one operation. Never values of personal fields. */
export type AuditEventInput = {
  action: Action;
  decision: 'allow' | 'deny';
  rule: string;
  reason: string;
  result: AuditResult;
  datasetId?: string | null;
  recordIds?: readonly string[];
  fields?: readonly string[];
  purpose?: string | null;
  grantIds?: readonly string[];
  /** Another user the operation was about (user admin, grants). */
  subjectUserId?: string | null;
  /** Structural facts only: counts, ids, field names, error codes. */
  details?: Record<string, unknown>;
};

export type AuditEventView = {
  id: number;
  logIndex: number | null;
  at: string;
  payload: unknown;
};
