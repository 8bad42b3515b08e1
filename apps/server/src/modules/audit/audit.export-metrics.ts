/**
 * Prometheus gauges for the SIEM exporters, read from the cursor rows at scrape time, so every node
 * reports the true lag whichever node exports.
 */
import { Gauge, type Registry } from 'prom-client';
import type { AppContext } from '../../platform/context.ts';
import { exportLag } from './audit.export.ts';

export function registerExportMetrics(ctx: AppContext, registry: Registry): void {
  const read = () => exportLag(ctx);
  new Gauge({
    name: 'mamori_audit_export_lag_events',
    help: 'Integrated audit events a SIEM destination has not acknowledged yet (tree size − cursor)',
    labelNames: ['destination'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const d of (await read()).destinations) this.set({ destination: d.id }, d.lag);
    },
  });
  new Gauge({
    name: 'mamori_audit_export_last_success_seconds',
    help: 'Unix time of the last batch a SIEM destination acknowledged',
    labelNames: ['destination'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const d of (await read()).destinations) if (d.lastSuccessAt) this.set({ destination: d.id }, Date.parse(d.lastSuccessAt) / 1000);
    },
  });
}
