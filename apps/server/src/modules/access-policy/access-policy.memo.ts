/**
 * Record reads decided once per actor row, dataset, purpose and time window (the gate's hot path).
 *
 * `evaluate` is a pure function of its request. For `record.read` without named fields it reads
 * the actor's status, password-change flag, kind, SCIM client, employment type, MFA and grants, the
 * dataset's id, purposes and fields, the purpose, and the time only through which grants are in
 * force. The actor's grants array is one object per cached credential row (identity.actor.ts) and
 * the dataset's policy view one object per loaded dataset, so a decision can be remembered under
 * those two objects and the scalar inputs, for as long as no grant of the dataset starts or ends:
 * the window [latest boundary ≤ now, earliest boundary > now) over the dataset's grants' validFrom
 * and validUntil. Outside it, or for any other request, `evaluate` runs. A revoked grant or
 * credential changes the row (the actor cache is emptied), never a remembered decision's inputs.
 */
import type { GrantView } from '../identity/index.ts';
import { evaluate } from './access-policy.evaluate.ts';
import type { DatasetPolicyView, Decision, PolicyRequest } from './access-policy.types.ts';

type Entry = { decision: Decision; from: number; until: number };

/** Per (grants, dataset): at most this many remembered decisions (the purpose is the caller's text). */
const MAX_PER_PAIR = 32;

const memo = new WeakMap<readonly GrantView[], WeakMap<DatasetPolicyView, Map<string, Entry>>>();

function windowOf(grants: readonly GrantView[], datasetId: string, t: number): { from: number; until: number } {
  let from = -Infinity;
  let until = Infinity;
  for (const g of grants) {
    if (g.datasetId !== datasetId) continue;
    for (const b of [g.validFrom.getTime(), g.validUntil.getTime()]) {
      if (b <= t) {
        if (b > from) from = b;
      } else if (b < until) until = b;
    }
  }
  return { from, until };
}

/** `evaluate(req)`, remembered for `record.read` requests without fields (see above). */
export function evaluateRemembered(req: PolicyRequest): Decision {
  const { actor, dataset } = req;
  if (req.action !== 'record.read' || req.fields !== undefined || !dataset) return evaluate(req);
  const t = req.now.getTime();
  const key = `${req.purpose ?? ''}\u0000${actor.status}\u0000${actor.passwordChangeRequired}\u0000${actor.kind}\u0000${actor.scimClientId ?? ''}\u0000${actor.employmentType ?? ''}\u0000${actor.mfa}`;
  let byDataset = memo.get(actor.grants);
  if (!byDataset) memo.set(actor.grants, (byDataset = new WeakMap()));
  let entries = byDataset.get(dataset);
  if (!entries) byDataset.set(dataset, (entries = new Map()));
  const hit = entries.get(key);
  if (hit && hit.from <= t && t < hit.until) return hit.decision;
  const decision = evaluate(req);
  if (entries.size >= MAX_PER_PAIR) entries.clear();
  entries.set(key, { decision, ...windowOf(actor.grants, dataset.id, t) });
  return decision;
}
