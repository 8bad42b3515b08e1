/** The outbox on /metrics: queued, failed and sent rows per kind, the oldest queued, and whether mail can go out. */
import { Gauge, type Registry } from 'prom-client';
import type { AppContext } from '../../platform/context.ts';
import { readOutboxStatus } from './outbox.service.ts';

export function registerOutboxMetrics(registry: Registry, ctx: AppContext): void {
  let cache: { at: number; value: Promise<Awaited<ReturnType<typeof readOutboxStatus>>> } | null = null;
  // One query per scrape, shared by the gauges below.
  const read = () => {
    if (!cache || Date.now() - cache.at > 1000) cache = { at: Date.now(), value: readOutboxStatus(ctx) };
    return cache.value;
  };
  new Gauge({
    name: 'mamori_outbox_rows', help: 'Outbox rows by kind and status', labelNames: ['kind', 'status'], registers: [registry],
    async collect() {
      for (const s of await read()) {
        this.set({ kind: s.kind, status: 'pending' }, s.pending);
        this.set({ kind: s.kind, status: 'failed' }, s.failed);
        this.set({ kind: s.kind, status: 'sent' }, s.sent);
      }
    },
  });
  new Gauge({
    name: 'mamori_outbox_oldest_pending_seconds', help: 'Age of the oldest queued outbox row by kind', labelNames: ['kind'], registers: [registry],
    async collect() {
      for (const s of await read()) this.set({ kind: s.kind }, s.oldestPendingAt ? Math.max(0, (ctx.clock.now().getTime() - Date.parse(s.oldestPendingAt)) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'mamori_outbox_delivery_configured', help: '1 when this node can deliver the kind (mail: an SMTP relay is configured)', labelNames: ['kind'], registers: [registry],
    async collect() {
      for (const s of await read()) this.set({ kind: s.kind }, s.configured ? 1 : 0);
    },
  });
}
