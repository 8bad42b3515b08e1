/**
 * The monitoring rules as configuration (one JSON document the security center edits), the alert
 * shapes, and the defaults written on first use.
 */
import { Type, type Static } from '@sinclair/typebox';

import { ALERT_STATUSES, RULE_IDS, SEVERITIES, type AlertStatus, type AlertView, type RuleId, type Severity } from '@mamori/contracts';

export { ALERT_STATUSES, RULE_IDS, SEVERITIES, type AlertStatus, type AlertView, type RuleId, type Severity };
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);


const SeverityT = Type.Union(SEVERITIES.map((s) => Type.Literal(s)));
const HHMM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });

export const MonitorRulesSchema = Type.Object({
  bulkRead: Type.Object({
    enabled: Type.Boolean(),
    severity: SeverityT,
    /** Records read (search results, reads, unmasks) by one user in one clock hour that raise an alert. */
    threshold: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
  }, { additionalProperties: false }),
  offHours: Type.Object({
    enabled: Type.Boolean(),
    severity: SeverityT,
    /** Business hours in Japan time (JST, UTC+9): start inclusive, end exclusive. */
    start: HHMM,
    end: HHMM,
    /** Working days, 0 = Sunday … 6 = Saturday. */
    weekdays: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { maxItems: 7, uniqueItems: true }),
    /** Japanese public holidays (祝日・振替休日・国民の休日) are outside business hours. */
    holidays: Type.Boolean(),
  }, { additionalProperties: false }),
  repeatedDenials: Type.Object({
    enabled: Type.Boolean(),
    severity: SeverityT,
    /** Denied attempts by one user (or one terminal when nobody is signed in) within the window. */
    threshold: Type.Integer({ minimum: 2, maximum: 10_000 }),
    windowMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
  }, { additionalProperties: false }),
  dispatchPersonal: Type.Object({ enabled: Type.Boolean(), severity: SeverityT }, { additionalProperties: false }),
  watchedRecords: Type.Object({
    enabled: Type.Boolean(),
    severity: SeverityT,
    /** Canary (leak-tracing) and VIP records: any access raises an alert. Ids only. */
    records: Type.Array(Type.Object({
      recordId: Type.String({ format: 'uuid' }),
      kind: Type.Union([Type.Literal('canary'), Type.Literal('vip')]),
    }, { additionalProperties: false }), { maxItems: 10_000 }),
  }, { additionalProperties: false }),
  notify: Type.Object({
    /** New alerts of this severity or higher are mailed (through the outbox) to the security center. */
    minSeverity: SeverityT,
  }, { additionalProperties: false }),
}, { additionalProperties: false });

export type MonitorRules = Static<typeof MonitorRulesSchema>;

export const DEFAULT_RULES: MonitorRules = {
  bulkRead: { enabled: true, severity: 'high', threshold: 1000 },
  offHours: { enabled: true, severity: 'medium', start: '09:00', end: '18:00', weekdays: [1, 2, 3, 4, 5], holidays: true },
  repeatedDenials: { enabled: true, severity: 'medium', threshold: 5, windowMinutes: 10 },
  dispatchPersonal: { enabled: true, severity: 'critical' },
  watchedRecords: { enabled: true, severity: 'high', records: [] },
  notify: { minSeverity: 'high' },
};

