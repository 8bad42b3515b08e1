import type { ApprovalKind, ApprovalPolicyInput, ApprovalPolicyView, ApprovalRequestView, ApprovalState, BreakGlassReviewView } from '@mamori/contracts';
import { api } from '../../lib/api.ts';

export type NewGeneralRequest = { kind: 'general'; summary: string; purpose: string; details?: string };
export type HistoryFilter = { kind?: ApprovalKind | null; state?: ApprovalState | null; from?: string | null; to?: string | null };

const enc = encodeURIComponent;

export const myRequests = () => api.get<{ requests: ApprovalRequestView[] }>('/api/approvals/requests').then((r) => r.requests);
export const inbox = () => api.get<{ requests: ApprovalRequestView[] }>('/api/approvals/inbox').then((r) => r.requests);
export const fileGeneral = (input: NewGeneralRequest) => api.post<{ request: ApprovalRequestView }>('/api/approvals/requests', input).then((r) => r.request);
export const approve = (id: string, reason: string) => api.post<{ request: ApprovalRequestView }>(`/api/approvals/requests/${enc(id)}/approve`, { reason });
export const reject = (id: string, reason: string) => api.post<{ request: ApprovalRequestView }>(`/api/approvals/requests/${enc(id)}/reject`, { reason });
export const cancelRequest = (id: string) => api.post<{ request: ApprovalRequestView }>(`/api/approvals/requests/${enc(id)}/cancel`, {});
export const markUsed = (id: string) => api.post<{ request: ApprovalRequestView }>(`/api/approvals/requests/${enc(id)}/use`);
export const breakGlass = (id: string, reason: string) => api.post<{ request: ApprovalRequestView }>(`/api/approvals/requests/${enc(id)}/break-glass`, { reason });

export const policies = () => api.get<{ policies: ApprovalPolicyView[] }>('/api/approvals/policies').then((r) => r.policies);
export const savePolicy = (kind: ApprovalKind, input: ApprovalPolicyInput) =>
  api.put<{ policy: ApprovalPolicyView }>(`/api/approvals/policies/${enc(kind)}`, input).then((r) => r.policy);

function historyQuery(f: HistoryFilter): Record<string, string | undefined> {
  return { kind: f.kind ?? undefined, state: f.state ?? undefined, from: f.from ?? undefined, to: f.to ?? undefined };
}
export const history = (f: HistoryFilter) => api.get<{ requests: ApprovalRequestView[] }>('/api/approvals/history', { query: historyQuery(f) }).then((r) => r.requests);
/** The CSV download is a plain same-origin link (the session cookie goes with it; nothing personal in the URL). */
export function historyCsvUrl(f: HistoryFilter): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(historyQuery(f))) if (v) qs.set(k, v);
  const s = qs.toString();
  return `/api/approvals/history.csv${s ? `?${s}` : ''}`;
}
export const reviews = (open?: boolean) => api.get<{ reviews: BreakGlassReviewView[] }>('/api/approvals/reviews', { query: { open: open === undefined ? undefined : String(open) } }).then((r) => r.reviews);
export const closeReview = (id: string, note: string) => api.post<{ ok: true }>(`/api/approvals/reviews/${enc(id)}/close`, { note });

