/** Prometheus metrics at /metrics: request counts and latencies by route and status class. */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Counts one answered request (route template, never a raw URL) and its latency in seconds. */
export type ObserveRequest = (route: string, method: string, statusCode: number, seconds: number) => void;
/** The same for one route and method, with its label sets looked up once (the lean read route). */
export type ObserveRoute = (statusCode: number, seconds: number) => void;

export function createMetrics(app: FastifyInstance) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mamori_' });
  const requests = new Counter({ name: 'mamori_http_requests_total', help: 'HTTP requests', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'mamori_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const observe: ObserveRequest = (route, method, statusCode, seconds) => {
    requests.inc({ route, method, status: `${Math.floor(statusCode / 100)}xx` });
    latency.observe({ route, method }, seconds);
  };
  const forRoute = (route: string, method: string): ObserveRoute => {
    const hist = latency.labels({ route, method });
    const counts = new Map<number, { inc(): void }>();
    return (statusCode, seconds) => {
      const cls = Math.floor(statusCode / 100);
      let c = counts.get(cls);
      if (!c) counts.set(cls, (c = requests.labels({ route, method, status: `${cls}xx` })));
      c.inc();
      hist.observe(seconds);
    };
  };
  app.addHook('onResponse', (request, reply, done) => {
    // Route templates only (never raw URLs: they could carry ids of people).
    observe(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  return { registry, contentType: registry.contentType, render: () => registry.metrics(), observe, forRoute };
}
