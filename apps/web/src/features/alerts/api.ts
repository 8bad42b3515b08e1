import { api } from '../../lib/api.ts';
import type { AuditEvent } from '../../lib/types.ts';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const RULES = ['bulk_read', 'off_hours', 'repeated_denials', 'dispatch_personal', 'watched_record'] as const;
export type RuleId = (typeof RULES)[number];
export const STATUSES = ['open', 'acknowledged', 'closed'] as const;
export type AlertStatus = (typeof STATUSES)[number];

export type Alert = {
  id: string;
  rule: RuleId;
  severity: Severity;
  status: AlertStatus;
  subject: string;
  subjectUserId: string | null;
  subjectLogin: string | null;
  summary: Record<string, unknown>;
  evidence: number[];
  eventCount: number;
  firstEventAt: string;
  lastEventAt: string;
  createdAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  closedAt: string | null;
  closedBy: string | null;
  closeNote: string | null;
  notes: { at: string; by: string | null; status: AlertStatus; note: string }[];
};
export type AlertDetail = Alert & { events: { logIndex: number; event: AuditEvent }[] | null };

export type AlertFilter = { status?: AlertStatus; severity?: Severity; rule?: RuleId };

export type MonitorRules = {
  bulkRead: { enabled: boolean; severity: Severity; threshold: number };
  offHours: { enabled: boolean; severity: Severity; start: string; end: string; weekdays: number[]; holidays: boolean };
  repeatedDenials: { enabled: boolean; severity: Severity; threshold: number; windowMinutes: number };
  dispatchPersonal: { enabled: boolean; severity: Severity };
  watchedRecords: { enabled: boolean; severity: Severity; records: { recordId: string; kind: 'canary' | 'vip' }[] };
  notify: { minSeverity: Severity };
};
export type RulesView = { rules: MonitorRules; version: number; updatedAt: string; updatedBy: string | null; cursor: number; treeSize: number; holidaysThrough: string | null };

export type OutboxStatus = { kind: string; configured: boolean; pending: number; failed: number; sent: number; oldestPendingAt: string | null; lastError: string | null };

export const listAlerts = (f: AlertFilter, signal?: AbortSignal) =>
  api.get<{ alerts: Alert[]; open: { severity: Severity; status: AlertStatus; n: number }[] }>('/api/alerts', { query: { ...f, limit: 200 }, ...(signal ? { signal } : {}) });
export const getAlert = (id: string) => api.get<{ alert: AlertDetail }>(`/api/alerts/${id}`).then((r) => r.alert);
export const acknowledgeAlert = (id: string, note: string) => api.post<{ alert: Alert }>(`/api/alerts/${id}/acknowledge`, note ? { note } : {});
export const closeAlert = (id: string, note: string) => api.post<{ alert: Alert }>(`/api/alerts/${id}/close`, { note });
export const getRules = () => api.get<RulesView>('/api/monitor/rules');
export const saveRules = (rules: MonitorRules, version: number) => api.put<RulesView>('/api/monitor/rules', { rules, version });
export const getOutboxStatus = () => api.get<{ kinds: OutboxStatus[] }>('/api/outbox/status').then((r) => r.kinds);
