/**
 * Lean routes (ADR 0012): the hottest API route — the audited single-record read — answered straight
 * from the node:http server, before Fastify's router, hook chain, schema validation, per-request
 * child logger and reply object. Everything those do for this route is done here once or by hand:
 *
 * - the security headers, `cache-control: no-store` and `x-request-id` (a fresh UUID, as
 *   `genReqId`) on every answer, built once and sent with the body in one write;
 * - errors answered exactly as the application's error handler answers them (`appErrorReply`,
 *   `internalErrorReply`: same status, code, body, `retry-after`);
 * - the request metrics under the route's template;
 * - at log level `info` (or lower) the same "incoming request" / "request completed" lines with the
 *   request id as Fastify writes them; at `warn` nothing is built;
 * - the client address as Fastify computes it (`trustProxy`: @fastify/proxy-addr).
 *
 * A lean route only takes a request it recognises exactly (method, path, query); any other shape —
 * and every request once the server is closing — goes to Fastify unchanged, so validation errors,
 * 404s and 503s keep their single source. `app.inject` (light-my-request) calls Fastify directly:
 * tests that need the lean path go through a real socket.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyServerFactory } from 'fastify';
import proxyAddr from '@fastify/proxy-addr';
import { isAppError } from '../errors.ts';
import { appErrorReply, internalErrorReply } from './errors.ts';
import type { ObserveRoute } from './metrics.ts';
import { CONSOLE_CSP, securityHeaders } from './static.ts';

/** Takes the request (returns true: it answers it) or leaves it to Fastify (false). */
export type LeanRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * The lean routes of one server. `buildApp` fills `routes` once the application is set up;
 * `closing` is set by its preClose hook (Fastify then answers 503 to new requests).
 */
export type LeanRoutes = { routes: LeanRoute[]; closing: boolean };

/**
 * Fastify's `serverFactory`: the node:http server Fastify would create (same timeouts), whose
 * requests are offered to the lean routes first.
 */
export function leanServerFactory(lean: LeanRoutes): FastifyServerFactory {
  return (handler, opts) => {
    const server = http.createServer((req, res) => {
      if (!lean.closing) for (const route of lean.routes) if (route(req, res)) return;
      handler(req, res);
    });
    const o = opts as { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number };
    server.keepAliveTimeout = o.keepAliveTimeout ?? 72_000;
    server.requestTimeout = o.requestTimeout ?? 0;
    server.setTimeout(o.connectionTimeout ?? 0);
    if (o.maxRequestsPerSocket && o.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = o.maxRequestsPerSocket;
    return server;
  };
}

export type LeanRequest = {
  raw: IncomingMessage;
  id: string;
  /** The client address as Fastify's `request.ip` gives it. */
  ip: string | undefined;
};

const TRUST_ALL = () => true;

/**
 * Runs one lean request: `work` returns the JSON text of a 200 answer or throws (AppError → its
 * answer, anything else → 500 `internal`, logged as the error handler logs it).
 */
export function leanResponder(opts: { hsts: boolean; trustProxy: boolean; log: FastifyBaseLogger; observe: ObserveRoute }) {
  // Everything but the length and the request id, built once (the API's CSP: never the docs' one).
  const fixed: string[] = ['content-type', 'application/json; charset=utf-8', 'cache-control', 'no-store', 'content-security-policy', CONSOLE_CSP];
  for (const [k, v] of Object.entries(securityHeaders({ hsts: opts.hsts }))) fixed.push(k, v);
  const { log, observe } = opts;
  // pino's isLevelEnabled (the level may change at run time, so it is asked per request).
  const leveled = log as FastifyBaseLogger & { isLevelEnabled?(level: string): boolean };
  const infoEnabled = () => leveled.isLevelEnabled?.('info') ?? true;
  const ipOf = opts.trustProxy
    ? (req: IncomingMessage) => {
        const all = proxyAddr.all(req, TRUST_ALL);
        return all[all.length - 1];
      }
    : (req: IncomingMessage) => req.socket.remoteAddress;

  const send = (res: ServerResponse, status: number, requestId: string, body: string, retryAfter: string | null): void => {
    const headers = fixed.slice();
    headers.push('content-length', String(Buffer.byteLength(body)), 'x-request-id', requestId);
    if (retryAfter) headers.push('retry-after', retryAfter);
    // Headers and body leave in one write (node:http prepends the header block to a string body).
    res.writeHead(status, headers);
    res.end(body);
  };

  return async function run(req: IncomingMessage, res: ServerResponse, work: (r: LeanRequest) => Promise<string>): Promise<void> {
    const t0 = performance.now();
    const id = randomUUID();
    const ip = ipOf(req);
    let reqLog: FastifyBaseLogger | null = null;
    if (infoEnabled()) {
      reqLog = log.child({ reqId: id });
      // Shaped like a Fastify request for the logger's `req` serializer (method, url, version, host, address, port).
      reqLog.info({ req: { method: req.method, url: req.url, headers: req.headers, host: req.headers.host, ip, socket: req.socket } }, 'incoming request');
    }
    let status = 200;
    let body: string;
    let retryAfter: string | null = null;
    try {
      body = await work({ raw: req, id, ip });
    } catch (err) {
      if (isAppError(err)) {
        const r = appErrorReply(err, id);
        status = r.status;
        retryAfter = r.retryAfter;
        body = JSON.stringify(r.body);
      } else {
        const r = internalErrorReply(err as Error, id, reqLog ?? log.child({ reqId: id }));
        status = r.status;
        body = JSON.stringify(r.body);
      }
    }
    send(res, status, id, body, retryAfter);
    const ms = performance.now() - t0;
    observe(status, ms / 1000);
    reqLog?.info({ res: { statusCode: status }, responseTime: ms }, 'request completed');
  };
}
