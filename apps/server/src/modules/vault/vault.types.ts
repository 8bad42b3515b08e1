import type { Classification, FieldKind, SearchMode } from '@mamori/contracts';

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
export type RecordView = {
  id: string;
  version: number;
  updatedAt: string;
  values: Record<string, string>;
  masked: string[];
};

export type SearchCriterion = { field: string; op: 'exact' | 'prefix'; value: string };

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
