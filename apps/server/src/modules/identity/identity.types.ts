import type { EmploymentType, Role, UserStatus } from '@mamori/contracts';
import type { GrantId, UserId } from '../../platform/ids.ts';

/** Where a request came from: recorded on every audit event ("how"). */
export type Terminal = { ip: string | null; userAgent: string | null; deviceId: string | null };

/** A grant as the policy engine sees it (already filtered to the actor: own and group grants). */
export type GrantView = {
  id: GrantId;
  datasetId: string;
  fields: readonly string[];
  unmaskFields: readonly string[];
  purposes: readonly string[];
  canWrite: boolean;
  validFrom: Date;
  validUntil: Date;
  status: 'active' | 'suspended' | 'revoked';
};

/**
 * The one value that says who is asking, resolved once per request and passed as one argument.
 * `system` is the local operator running an offline command on the server's own data folder.
 */
export type Actor = {
  kind: 'user' | 'service' | 'system';
  userId: UserId | null;
  login: string;
  employmentType: EmploymentType | null;
  status: UserStatus;
  roles: readonly Role[];
  groupIds: readonly string[];
  /** Short, non-secret session reference for the audit log (first bytes of the session hash). */
  sessionRef: string | null;
  tokenId: string | null;
  mfa: boolean;
  passwordChangeRequired: boolean;
  terminal: Terminal;
  requestId: string | null;
  grants: readonly GrantView[];
  /** The credential behind the request, re-checked inside personal-data read statements. */
  credential?: { kind: 'session' | 'token'; hash: Buffer };
  /** Set only for a SCIM client's service user, resolved from a SCIM token on /scim (never on /api). */
  scimClientId?: string;
};

export type { UserView } from '@mamori/contracts';

export function systemActor(terminal: Terminal, requestId: string | null = null): Actor {
  return {
    kind: 'system',
    userId: null,
    login: 'system',
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

export function asUserId(s: string): UserId {
  return s as UserId;
}
