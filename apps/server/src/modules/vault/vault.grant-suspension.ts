/**
 * Suspension of a user's grants by the identity lifecycle (mover, dispatch, leaver), in the caller's
 * transaction. A suspended grant gives nothing (evaluation and the actor query read active grants
 * only) until the data owner grants again. Returns what was suspended and each dataset's owner, so
 * the caller can tell the owners in the same transaction.
 */
import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.ts';

export type GrantSelector =
  /** Every live grant of the user (leavers). */
  | { kind: 'all' }
  /** Grants naming a personal-level field (dispatch workers keep the rest). */
  | { kind: 'personal' }
  /** Movers: grants on datasets of the old department, or granted by someone of the old chain. */
  | { kind: 'post'; departmentId: string | null; grantedBy: readonly string[] };

export type SuspendedGrant = { id: string; datasetId: string; ownerUserId: string };

export async function suspendUserGrants(tx: Executor, userId: string, selector: GrantSelector, reason: string, at: Date): Promise<SuspendedGrant[]> {
  let where;
  switch (selector.kind) {
    case 'all':
      where = sql`true`;
      break;
    case 'personal':
      where = sql`EXISTS (SELECT 1 FROM dataset_fields f WHERE f.dataset_id = g.dataset_id AND f.name = ANY (g.fields)
                           AND f.classification IN ('personal', 'confidential', 'special_care'))`;
      break;
    case 'post': {
      const byDept = selector.departmentId ? sql`d.department_id = ${selector.departmentId}::uuid` : sql`false`;
      const byChain = selector.grantedBy.length > 0 ? sql`g.granted_by = ANY (${[...selector.grantedBy]}::uuid[])` : sql`false`;
      where = sql`(${byDept} OR ${byChain})`;
      break;
    }
  }
  const r = await sql<{ id: string; dataset_id: string; owner_user_id: string }>`
    UPDATE grants g SET status = 'suspended', suspended_at = ${at}, suspended_reason = ${reason}
    FROM datasets d
    WHERE d.id = g.dataset_id AND g.subject_type = 'user' AND g.subject_id = ${userId}::uuid AND g.status = 'active' AND ${where}
    RETURNING g.id, g.dataset_id, d.owner_user_id`.execute(tx);
  return r.rows.map((x) => ({ id: x.id, datasetId: x.dataset_id, ownerUserId: x.owner_user_id }));
}
