import { api } from '../../lib/api.ts';
import type { RecordView } from '../../lib/types.ts';

export type Criterion = { field: string; op: 'exact' | 'prefix'; value: string };
export type SearchPage = { records: RecordView[]; next: string | null };

const base = (dataset: string) => `/api/datasets/${encodeURIComponent(dataset)}/records`;

/** Search values are personal data: they travel in the body (POST), never in a URL. */
export const searchRecords = (dataset: string, body: { purpose: string; criteria: Criterion[]; after?: string | null; limit: number }, signal?: AbortSignal) =>
  api.post<SearchPage>(`${base(dataset)}/search`, body, signal ? { signal } : {});

export const readRecord = (dataset: string, id: string, purpose: string, signal?: AbortSignal) =>
  api.get<{ record: RecordView }>(`${base(dataset)}/${encodeURIComponent(id)}`, { query: { purpose }, ...(signal ? { signal } : {}) }).then((r) => r.record);

export const unmaskField = (dataset: string, id: string, field: string, purpose: string) =>
  api.post<{ field: string; value: string }>(`${base(dataset)}/${encodeURIComponent(id)}/unmask`, { field, purpose });
