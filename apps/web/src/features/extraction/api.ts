import type { ExtractionInput, ExtractionPreview, ExtractionView, ProvisionRecordView, SuppressionEntryView, SuppressionKind, TraceResult } from '@mamori/contracts';
import { api } from '../../lib/api.ts';
import type { DatasetView } from '../../lib/types.ts';

const enc = encodeURIComponent;

export const datasets = () => api.get<{ datasets: DatasetView[] }>('/api/datasets').then((r) => r.datasets);
export const preview = (input: ExtractionInput) => api.post<ExtractionPreview>('/api/extractions/preview', input);
export const fileExtraction = (input: ExtractionInput) => api.post<{ extraction: ExtractionView }>('/api/extractions', input).then((r) => r.extraction);
export const myExtractions = () => api.get<{ extractions: ExtractionView[] }>('/api/extractions').then((r) => r.extractions);
/** A same-origin link: the session cookie goes with it; the server lets it work once, for the requester. */
export const downloadUrl = (id: string) => `/api/extractions/${enc(id)}/download`;

export const suppression = () => api.get<{ entries: SuppressionEntryView[] }>('/api/suppression').then((r) => r.entries);
export const addSuppression = (input: { dataset: string; kind: SuppressionKind; value: string; note: string }) => api.post<{ entry: SuppressionEntryView }>('/api/suppression', input);
export const removeSuppression = (id: string, reason: string) => api.post<{ ok: true }>(`/api/suppression/${enc(id)}/remove`, { reason });

export const provisionRecords = (recordId: string | null) => api.get<{ records: ProvisionRecordView[] }>('/api/provision-records', { query: { recordId } }).then((r) => r.records);
export const trace = (file: Blob) => api.post<TraceResult>('/api/trace', file);
