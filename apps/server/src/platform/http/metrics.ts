/** Prometheus metrics at /metrics: request counts and latencies by route and status class. */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(app: FastifyInstance) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mamori_' });
  const requests = new Counter({ name: 'mamori_http_requests_total', help: 'HTTP requests', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'mamori_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  app.addHook('onResponse', (request, reply, done) => {
    // Route templates only (never raw URLs: they could carry ids of people).
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: request.method, status: `${Math.floor(reply.statusCode / 100)}xx` });
    latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    done();
  });
  return { registry, contentType: registry.contentType, render: () => registry.metrics() };
}
