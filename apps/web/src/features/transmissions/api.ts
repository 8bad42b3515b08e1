import type { ComposeInput, ReviewVerdict, TransmissionReviewItemView, TransmissionReviewView, TransmissionRules, TransmissionRulesView, TransmissionState, TransmissionView } from '@mamori/contracts';
import { api } from '../../lib/api.ts';

const enc = encodeURIComponent;

export const compose = (input: ComposeInput) => api.post<{ transmission: TransmissionView }>('/api/transmissions', input).then((r) => r.transmission);
export const myTransmissions = () => api.get<{ transmissions: TransmissionView[] }>('/api/transmissions').then((r) => r.transmissions);
export const confirmTransmission = (id: string) => api.post<{ transmission: TransmissionView }>(`/api/transmissions/${enc(id)}/confirm`);
export const cancelTransmission = (id: string) => api.post<{ transmission: TransmissionView }>(`/api/transmissions/${enc(id)}/cancel`);

export type RegisterFilter = { state?: TransmissionState | null; from?: string | null; to?: string | null };
function registerQuery(f: RegisterFilter): Record<string, string | undefined> {
  return { state: f.state ?? undefined, from: f.from ?? undefined, to: f.to ?? undefined };
}
/**
 * A list's refetch interval: every 3 s while one of its transmissions waits for approval or for
 * delivery (its state changes without the viewer doing anything), otherwise none.
 */
export const refetchWhileInFlight = (query: { state: { data: readonly TransmissionView[] | undefined } }): number | false =>
  (query.state.data ?? []).some((x) => x.state === 'pending_approval' || x.state === 'queued') ? 3000 : false;
export const register = (f: RegisterFilter) => api.get<{ transmissions: TransmissionView[] }>('/api/transmissions/register', { query: registerQuery(f) }).then((r) => r.transmissions);
/** A plain same-origin link: the session cookie goes with it; nothing personal in the URL. */
export function registerCsvUrl(f: RegisterFilter): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(registerQuery(f))) if (v) qs.set(k, v);
  const s = qs.toString();
  return `/api/transmissions/register.csv${s ? `?${s}` : ''}`;
}

export const rules = () => api.get<{ rules: TransmissionRulesView }>('/api/transmissions/rules').then((r) => r.rules);
export const saveRules = (input: TransmissionRules & { version: number }) => api.put<{ rules: TransmissionRulesView }>('/api/transmissions/rules', input).then((r) => r.rules);

export const reviews = () => api.get<{ reviews: TransmissionReviewView[] }>('/api/transmissions/reviews').then((r) => r.reviews);
export const review = (id: string) => api.get<{ review: TransmissionReviewView; items: TransmissionReviewItemView[] }>(`/api/transmissions/reviews/${enc(id)}`);
export const reviewCsvUrl = (id: string) => `/api/transmissions/reviews/${enc(id)}/csv`;
export const markItem = (reviewId: string, transmissionId: string, verdict: ReviewVerdict, note: string) =>
  api.post<{ item: TransmissionReviewItemView }>(`/api/transmissions/reviews/${enc(reviewId)}/items/${enc(transmissionId)}`, { verdict, note }).then((r) => r.item);

/** A file as the compose API takes it (base64 in JSON). */
export async function fileToAttachment(file: File): Promise<ComposeInput['attachments'][number]> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { name: file.name, contentType: file.type || 'application/octet-stream', contentBase64: btoa(binary) };
}
