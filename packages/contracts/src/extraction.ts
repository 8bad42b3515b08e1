/** Controlled extraction (two-person rule), opt-out suppression, provision records, leak tracing. */
import type { PersonRef } from './approvals.ts';

export const EXPORT_FORMATS = ['csv_utf8', 'csv_sjis', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXTRACTION_STATES = ['pending_approval', 'running', 'ready', 'downloaded', 'failed', 'rejected', 'expired', 'cancelled'] as const;
export type ExtractionState = (typeof EXTRACTION_STATES)[number];

export type Recipient =
  | { kind: 'internal' }
  | { kind: 'third_party'; name: string; address: string; representative: string };

export type ExtractionCriterion = { field: string; op: 'exact' | 'prefix'; value: string };

export type ExtractionInput = {
  dataset: string;
  purpose: string;
  fields: string[];
  criteria: ExtractionCriterion[];
  format: ExportFormat;
  recipient: Recipient;
};

export type ExtractionPreview = {
  rows: number;
  suppressed: number;
  /** A few rows, personal fields masked. */
  sample: Record<string, string>[];
};

export type ExtractionView = {
  id: string;
  dataset: string;
  requester: PersonRef;
  approvers: PersonRef[];
  approvalRequestId: string | null;
  state: ExtractionState;
  purpose: string;
  fields: string[];
  format: ExportFormat;
  /** Field, operator and the value as approvers see it (masked for personal fields). */
  filter: { field: string; op: 'exact' | 'prefix'; shown: string }[];
  recipient: Recipient;
  rowsTotal: number;
  rowsDone: number;
  suppressed: number;
  createdAt: string;
  completedAt: string | null;
  downloadUntil: string | null;
  downloadedAt: string | null;
  /** Runs of the export so far: above 1 when a worker died and another took it over. */
  attempt: number;
  /** Why a failed export failed: an error code (`extraction.interrupted`, `internal`, …). */
  error: string | null;
};

export const SUPPRESSION_KINDS = ['email', 'phone', 'name'] as const;
export type SuppressionKind = (typeof SUPPRESSION_KINDS)[number];

export type SuppressionEntryView = {
  id: string;
  dataset: string;
  kind: SuppressionKind;
  /** Masked hint of the value (the value itself is not stored). */
  hint: string;
  note: string;
  addedBy: PersonRef;
  addedAt: string;
  removedAt: string | null;
};

export type ProvisionRecordView = {
  id: string;
  /** The source: an approved extraction or an approved transmission (exactly one of the two). */
  extractionId: string | null;
  transmissionId: string | null;
  /** The dataset of an extraction; null for a transmission (a message, not a dataset). */
  dataset: string | null;
  providedAt: string;
  recipientName: string;
  recipientAddress: string;
  recipientRepresentative: string;
  dataItems: string[];
  recordCount: number;
  retainUntil: string;
};

export type TraceMatch = {
  extractionId: string;
  dataset: string;
  requester: PersonRef;
  approvers: PersonRef[];
  completedAt: string | null;
  recipient: Recipient;
  canaries: number;
  fingerprint: { matched: number; checked: number };
  confidence: 'certain' | 'high' | 'medium' | 'low';
};

export type TraceResult = { rowsRead: number; matches: TraceMatch[] };
