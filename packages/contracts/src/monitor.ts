/** Monitoring: rule ids, severities, alert states and the alert as the API shows it (server and console). */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RULE_IDS = ['bulk_read', 'off_hours', 'repeated_denials', 'dispatch_personal', 'watched_record'] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const ALERT_STATUSES = ['open', 'acknowledged', 'closed'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export type AlertView = {
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
  updatedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  closedAt: string | null;
  closedBy: string | null;
  closeNote: string | null;
  notes: { at: string; by: string | null; status: AlertStatus; note: string }[];
};
