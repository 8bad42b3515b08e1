/** Monitoring on /metrics: alerts not yet closed by severity and status, and how far the monitor lags the log. */
import { Gauge, type Registry } from 'prom-client';
import type { AppContext } from '../../platform/context.ts';
import { auditRepository } from '../audit/index.ts';
import { monitorRepository } from './monitor.repository.ts';
import { SEVERITIES } from './monitor.types.ts';

export function registerMonitorMetrics(registry: Registry, ctx: AppContext): void {
  new Gauge({
    name: 'mamori_alerts_not_closed', help: 'Monitoring alerts not yet closed, by severity and status', labelNames: ['severity', 'status'], registers: [registry],
    async collect() {
      this.reset();
      for (const s of SEVERITIES) for (const st of ['open', 'acknowledged']) this.set({ severity: s, status: st }, 0);
      for (const r of await monitorRepository(ctx.db).countOpen()) this.set({ severity: r.severity, status: r.status }, r.n);
    },
  });
  new Gauge({
    name: 'mamori_monitor_lag_events', help: 'Integrated audit events the monitor has not evaluated yet', registers: [registry],
    async collect() {
      this.set(Math.max(0, (await auditRepository(ctx.db).treeSize()) - (await monitorRepository(ctx.db).peekCursor())));
    },
  });
}
