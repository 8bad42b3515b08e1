export { monitorOnce, monitorAll, type MonitorResult } from './monitor.engine.ts';
export { monitorRoutes } from './monitor.routes.ts';
export { acknowledgeAlert, closeAlert, getAlert, getRules, listAlerts, updateRules } from './monitor.service.ts';
export { DEFAULT_RULES, RULE_IDS, SEVERITIES, type AlertView, type MonitorRules, type RuleId, type Severity } from './monitor.types.ts';
export { jst, outsideBusinessHours } from './monitor.rules.ts';
export { registerMonitorMetrics } from './monitor.metrics.ts';
