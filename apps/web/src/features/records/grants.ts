/**
 * What the signed-in person may do on a dataset, read from their own grants (GET /api/auth/me):
 * purposes, visible fields, unmaskable fields. A UI hint only: the server decides every request.
 */
import { isPersonalLevel } from '@mamori/contracts';
import type { DatasetView, MyGrant, UserView } from '../../lib/types.ts';

export type Access = {
  purposes: string[];
  /** Fields shown for a purpose, in dataset order. */
  fields(purpose: string | null): string[];
  unmaskable(purpose: string | null): Set<string>;
};

export function liveGrants(grants: readonly MyGrant[], datasetId: string, now: Date = new Date()): MyGrant[] {
  const t = now.getTime();
  return grants.filter((g) => g.status === 'active' && g.datasetId === datasetId && Date.parse(g.validFrom) <= t && t < Date.parse(g.validUntil));
}

export function accessOf(user: UserView, grants: readonly MyGrant[], ds: DatasetView | undefined, now: Date = new Date()): Access {
  if (!ds) return { purposes: [], fields: () => [], unmaskable: () => new Set() };
  const live = liveGrants(grants, ds.id, now);
  const purposes = ds.purposes.filter((p) => live.some((g) => g.purposes.includes(p)));
  const dispatch = user.employmentType === 'dispatch';
  const forPurpose = (p: string | null) => live.filter((g) => p !== null && g.purposes.includes(p));
  return {
    purposes,
    fields(p) {
      const names = new Set(forPurpose(p).flatMap((g) => g.fields));
      // Dispatch workers never see personal-level fields, whatever a grant says (deny overrides).
      return ds.fields
        .slice()
        .sort((a, b) => a.position - b.position)
        .filter((f) => names.has(f.name) && !(dispatch && isPersonalLevel(f.classification)))
        .map((f) => f.name);
    },
    unmaskable(p) {
      return new Set(dispatch ? [] : forPurpose(p).flatMap((g) => g.unmaskFields));
    },
  };
}
