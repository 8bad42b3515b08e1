import { api } from '../../lib/api.ts';
import type { AuditEntry } from '../../lib/types.ts';

/** Filters of GET /api/audit/events (ids and names only: nothing personal goes into the query string). */
export type AuditFilter = {
  actor?: string;
  action?: string;
  dataset?: string;
  record?: string;
  decision?: 'allow' | 'deny';
  from?: string;
  to?: string;
};

export type AuditPage = { events: AuditEntry[]; next: number | null };

export const listAuditEvents = (filter: AuditFilter, before: number | null, limit: number, signal?: AbortSignal) =>
  api.get<AuditPage>('/api/audit/events', { query: { ...filter, before: before ?? undefined, limit }, ...(signal ? { signal } : {}) });
