import { api } from '../../lib/api.ts';
import type { AuditExportView } from '@mamori/contracts';
import type { AuditEntry } from '../../lib/types.ts';

/** Filters of GET /api/audit/events (ids and names only: nothing personal goes into the query string). */
export type AuditFilter = {
  actor?: string;
  action?: string;
  dataset?: string;
  record?: string;
  decision?: 'allow' | 'deny';
  from?: string;
  to?: string;
};

export type AuditPage = { events: AuditEntry[]; next: number | null };

export const listAuditEvents = (filter: AuditFilter, before: number | null, limit: number, signal?: AbortSignal) =>
  api.get<AuditPage>('/api/audit/events', { query: { ...filter, before: before ?? undefined, limit }, ...(signal ? { signal } : {}) });

export type VerifyProblem = { kind: 'altered' | 'missing' | 'reordered' | 'truncated' | 'bad_signature' | 'column_mismatch'; index: number; detail: string };

export type VerificationRun = {
  id: string;
  status: 'running' | 'ok' | 'failed' | 'error';
  source: 'console' | 'api' | 'cli';
  startedBy: { id: string; login: string | null } | null;
  startedAt: string;
  finishedAt: string | null;
  done: number;
  total: number;
  treeSize: number | null;
  rootHash: string | null;
  checkpoints: number | null;
  witnessCheckpoints: number | null;
  problem: VerifyProblem | null;
  error: string | null;
};

export type WitnessState = 'agrees' | 'disagrees' | 'ahead_of_log' | 'bad_signature' | 'empty' | 'unreadable' | 'write_only';

export type IntegrityStatus = {
  checkpoint: { treeSize: number; rootHash: string; createdAt: string; note: string } | null;
  log: { origin: string; keyName: string; publicKey: string; verifierKey: string };
  witnesses: { name: string; state: WitnessState; latestSize: number | null }[];
  lastRun: VerificationRun | null;
  currentRun: VerificationRun | null;
};

export const getIntegrity = (signal?: AbortSignal) => api.get<IntegrityStatus>('/api/audit/integrity', signal ? { signal } : {});
export const startVerification = () => api.post<{ run: VerificationRun }>('/api/audit/verifications');
export const getVerification = (id: string, signal?: AbortSignal) => api.get<{ run: VerificationRun }>(`/api/audit/verifications/${encodeURIComponent(id)}`, signal ? { signal } : {});
/** The proof bundle of the event at a log index (a JSON document to save and check offline). */
export const getProofBundle = (index: number) => api.get<{ leafIndex: number }>('/api/audit/proofs/bundle', { query: { index } });

/** SIEM export destinations: cursor, lag behind the log, last success and error (GET /api/audit/exports). */
export type ExportDestination = AuditExportView;
export const getExportStatus = (signal?: AbortSignal) => api.get<{ treeSize: number; destinations: ExportDestination[] }>('/api/audit/exports', signal ? { signal } : {});
