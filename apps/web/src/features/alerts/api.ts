import { api } from '../../lib/api.ts';
import type { AuditEvent } from '../../lib/types.ts';

import { ALERT_STATUSES, RULE_IDS, SEVERITIES, type AlertStatus, type AlertView, type RuleId, type Severity } from '@mamori/contracts';

export { ALERT_STATUSES, RULE_IDS, SEVERITIES, type AlertStatus, type RuleId, type Severity };
export type Alert = AlertView;
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
