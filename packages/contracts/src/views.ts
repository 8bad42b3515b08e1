/** Response shapes of the API, shared by the server (which produces them) and the console and CLI. */
import type { Classification, EmploymentType, FieldKind, Role, SearchMode, UserStatus } from './domain.ts';

export type UserView = {
  id: string;
  login: string;
  displayName: string;
  email: string | null;
  kind: 'person' | 'service';
  employmentType: EmploymentType;
  departmentId: string | null;
  supervisorId: string | null;
  status: UserStatus;
  roles: Role[];
  groupIds: string[];
  mfaEnrolled: boolean;
  /** Live passkeys (WebAuthn) of the user: a second factor like TOTP. */
  passkeys: number;
  passwordChangeRequired: boolean;
  createdAt: string;
  updatedAt: string;
  version: number;
};

export type DatasetField = {
  name: string;
  position: number;
  labelJa: string;
  labelEn: string;
  classification: Classification;
  kind: FieldKind;
  search: SearchMode;
};

export type DatasetView = {
  id: string;
  name: string;
  labelJa: string;
  labelEn: string;
  description: string;
  ownerUserId: string;
  departmentId: string | null;
  purposes: string[];
  source: string;
  storageLocation: string;
  vdiOnly: boolean;
  fields: DatasetField[];
  createdAt: string;
  version: number;
};

/** A record as a caller may see it: every value shown is either in clear or masked (listed in `masked`). */
export type RecordView = { id: string; version: number; updatedAt: string; values: Record<string, string>; masked: string[] };

export type GrantRecord = {
  id: string;
  datasetId: string;
  subjectType: 'user' | 'group';
  subjectId: string;
  fields: string[];
  unmaskFields: string[];
  purposes: string[];
  canWrite: boolean;
  validFrom: string;
  validUntil: string;
  status: 'active' | 'suspended' | 'revoked';
  reason: string;
  grantedBy: string;
  createdAt: string;
};

/** A grant of the caller's own (direct or through a group), as GET /api/auth/me returns it. */
export type OwnGrant = Pick<GrantRecord, 'id' | 'datasetId' | 'fields' | 'unmaskFields' | 'purposes' | 'canWrite' | 'validFrom' | 'validUntil' | 'status'>;

/** One SIEM export destination as `GET /api/audit/exports` reports it (no credentials, no events). */
export type AuditExportView = {
  id: string;
  kind: 'syslog' | 'https' | 'file';
  target: string;
  /** The first log index (seq) not yet acknowledged by the destination. */
  nextSeq: number;
  /** Tree size − nextSeq: integrated events the destination has not acknowledged. */
  lag: number;
  /** A batch being sent (or retried) ends before this seq; null when none is in flight. */
  inflightTo: number | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  /** When an exporter last reported for this destination (any node). */
  heartbeatAt: string | null;
};

/** Kinds of the joiners / movers / leavers timeline. */
export const LIFECYCLE_KINDS = ['joiner', 'mover', 'dispatch', 'leaver', 'reactivated', 'roles'] as const;
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

/** One entry of the timeline, read from the audit log (no personal data: ids, counts, causes). */
export type LifecycleEvent = {
  /** The audit event's id. */
  id: number;
  at: string;
  kind: LifecycleKind;
  userId: string | null;
  actorUserId: string | null;
  /** Leavers: scim.deactivate, scim.delete, retirement_date, console.suspend, console.retire. */
  cause: string | null;
  grantsSuspended: number | null;
  /** Roles: added and removed (SSO group mapping). */
  rolesAdded: string[];
  rolesRemoved: string[];
  /** Movers: what changed. */
  departmentChanged: boolean;
  managerChanged: boolean;
};
