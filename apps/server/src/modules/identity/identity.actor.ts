import type { EmploymentType, Role, UserStatus } from '@mamori/contracts';
import type { GrantId, UserId } from '../../platform/ids.ts';
import type { Actor, Terminal } from './identity.types.ts';
import type { SessionActorRow } from './identity.repository.ts';

/**
 * The grants of a row, mapped once per row object: a cached credential (identity.cache.ts) hands the
 * same row to every request until the cache drops it, so the hot read path does not rebuild them.
 */
const grantsOfRow = new WeakMap<SessionActorRow, Actor['grants']>();

function grantsOf(row: SessionActorRow): Actor['grants'] {
  let grants = grantsOfRow.get(row);
  if (!grants) {
    grants = row.grants.map((g) => ({
      id: g.id as GrantId,
      datasetId: g.dataset_id,
      fields: g.fields,
      unmaskFields: g.unmask_fields,
      purposes: g.purposes,
      canWrite: g.can_write,
      validFrom: new Date(g.valid_from),
      validUntil: new Date(g.valid_until),
      status: g.status,
    }));
    grantsOfRow.set(row, grants);
  }
  return grants;
}

export function actorFromRow(
  row: SessionActorRow,
  extra: { sessionRef: string | null; tokenId: string | null; mfa: boolean; terminal: Terminal; requestId: string | null },
): Actor {
  return {
    kind: row.kind === 'service' ? 'service' : 'user',
    userId: row.user_id as UserId,
    login: row.login,
    employmentType: row.employment_type as EmploymentType,
    status: row.status as UserStatus,
    roles: row.roles as Role[],
    groupIds: row.group_ids,
    sessionRef: extra.sessionRef,
    tokenId: extra.tokenId,
    mfa: extra.mfa,
    passwordChangeRequired: row.password_change_required,
    terminal: extra.terminal,
    requestId: extra.requestId,
    grants: grantsOf(row),
  };
}

/** The actor of a request that has no credential yet (login attempts). */
export function anonymousActor(terminal: Terminal, requestId: string | null, userId: string | null = null): Actor {
  return {
    kind: 'user',
    userId: userId as UserId | null,
    login: '',
    employmentType: null,
    status: 'active',
    roles: [],
    groupIds: [],
    sessionRef: null,
    tokenId: null,
    mfa: false,
    passwordChangeRequired: false,
    terminal,
    requestId,
    grants: [],
  };
}
