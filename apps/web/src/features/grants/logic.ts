/** Pure rules of the handler register as the console shows them (the server enforces the same). */
import { isPersonalLevel } from '@mamori/contracts';
import type { DatasetField, GrantRecord } from '../../lib/types.ts';

export type GrantState = 'active' | 'scheduled' | 'expired' | 'suspended' | 'revoked';

export function grantState(g: Pick<GrantRecord, 'status' | 'validFrom' | 'validUntil'>, now: Date = new Date()): GrantState {
  if (g.status === 'revoked') return 'revoked';
  if (g.status === 'suspended') return 'suspended';
  const t = now.getTime();
  if (t >= Date.parse(g.validUntil)) return 'expired';
  if (t < Date.parse(g.validFrom)) return 'scheduled';
  return 'active';
}

export const GRANT_STATE_COLORS: Record<GrantState, string> = { active: 'green', scheduled: 'blue', expired: 'gray', suspended: 'yellow', revoked: 'red' };

/**
 * Fields a subject may not be granted. Dispatch workers (派遣社員) never get personal-level fields:
 * security policy, enforced by the server with `grant.dispatch_worker`.
 */
export function blockedFields(fields: readonly DatasetField[], subject: { employmentType: string } | undefined): Set<string> {
  if (subject?.employmentType !== 'dispatch') return new Set();
  return new Set(fields.filter((f) => isPersonalLevel(f.classification)).map((f) => f.name));
}

/** Unmask only makes sense for granted personal-level fields. */
export function unmaskCandidates(fields: readonly DatasetField[], granted: readonly string[]): string[] {
  return fields.filter((f) => granted.includes(f.name) && isPersonalLevel(f.classification)).map((f) => f.name);
}

export const MAX_GRANT_DAYS = 366;
