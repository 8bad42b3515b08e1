import { api } from '../../lib/api.ts';
import type { GrantRecord } from '../../lib/types.ts';

export type NewGrant = {
  subjectType: 'user' | 'group';
  subjectId: string;
  fields: string[];
  unmaskFields: string[];
  purposes: string[];
  canWrite: boolean;
  validUntil: string;
  reason: string;
};

export const listGrants = (dataset: string) => api.get<{ grants: GrantRecord[] }>(`/api/datasets/${encodeURIComponent(dataset)}/grants`).then((r) => r.grants);
export const createGrant = (dataset: string, input: NewGrant) => api.post<{ grant: GrantRecord }>(`/api/datasets/${encodeURIComponent(dataset)}/grants`, input);
export const revokeGrant = (id: string, reason: string) => api.post<{ ok: true }>(`/api/grants/${encodeURIComponent(id)}/revoke`, { reason });
/** Brings a grant's end forward (the server refuses a later or a past end with `grant.invalid`). */
export const expireGrant = (id: string, validUntil: string, reason: string) =>
  api.post<{ grant: GrantRecord }>(`/api/grants/${encodeURIComponent(id)}/expire`, { validUntil, reason });
