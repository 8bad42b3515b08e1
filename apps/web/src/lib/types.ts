/** Wire shapes of the Mamori API as the console uses them (see /openapi.json). */
import type { Classification, EmploymentType, FieldKind, Role, SearchMode, UserStatus } from '@mamori/contracts';

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
  passwordChangeRequired: boolean;
  createdAt: string;
  updatedAt: string;
  version: number;
};

/** A grant as /api/auth/me returns it: the caller's own, already filtered (own and group grants). */
export type MyGrant = {
  id: string;
  datasetId: string;
  fields: string[];
  unmaskFields: string[];
  purposes: string[];
  canWrite: boolean;
  validFrom: string;
  validUntil: string;
  status: 'active' | 'suspended' | 'revoked';
};

export type Me = { user: UserView | null; mfa: boolean; grants: MyGrant[]; csrfToken: string | null };

export type LoginResponse = { user: UserView; csrfToken: string; mfaRequired: boolean; passwordChangeRequired: boolean };

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

export type Department = { id: string; name: string };
export type Group = { id: string; name: string; memberIds: string[] };

export type AuditEvent = {
  v: number;
  at: string;
  actor: { kind: string; user: string | null; employment: EmploymentType | null; session: string | null; token: string | null; mfa: boolean };
  action: string;
  dataset: string | null;
  records: string[];
  fields: string[];
  purpose: string | null;
  subject: string | null;
  decision: 'allow' | 'deny';
  rule: string;
  reason: string;
  grants: string[];
  result: string;
  terminal: { ip: string | null; ua: string | null; device: string | null };
  request: string | null;
  details: Record<string, unknown>;
};

export type AuditEntry = { id: number; logIndex: number | null; at: string; event: AuditEvent };
